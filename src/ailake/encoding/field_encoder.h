// The FieldEncoder seed (../shared/seeds/lance_field_encoder.txt): buffers
// the Arrow arrays of one field and, once a page's worth is there, returns
// encode tasks; a field may map to several columns (a struct: its own column
// and its children's), and fields fill pages at different speeds. Tasks run
// in parallel (LanceFileWriter runs them on the shared encode pool,
// encode_pool.h); the pages of
// one column are written in the order their tasks were returned.
//
// The encoders here write the Lance file format 2.0 page encodings
// (docs/FORMAT.md 5.3): Flat fixed-width values under Nullable (validity
// bitmap + values), FixedSizeList, Binary (u64 end offsets with a null
// adjustment), SimpleStruct.
// Not thread-safe: one encoder is driven by one thread; its tasks are
// independent of it and of each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <arrow/api.h>

namespace ailake::encoding {

// One encoded page of one column.
struct EncodedPage {
  uint32_t column = 0;  // index among the encoder's columns (0..NumColumns()-1)
  std::vector<std::shared_ptr<arrow::Buffer>> buffers;
  uint64_t num_rows = 0;
  uint64_t row_number = 0;  // first top-level row of the page
  std::string encoding;     // the page's encoding (a serialized Any)
};

using EncodeTask = std::function<arrow::Result<EncodedPage>()>;

// Buffers written outside any page (column- or file-level). The 2.0
// encoders here need none; the type is part of the seed's interface.
class OutOfLineBuffers {
 public:
  uint32_t Add(std::shared_ptr<arrow::Buffer> buffer) {
    buffers_.push_back(std::move(buffer));
    return static_cast<uint32_t>(buffers_.size() - 1);
  }
  const std::vector<std::shared_ptr<arrow::Buffer>>& buffers() const { return buffers_; }

 private:
  std::vector<std::shared_ptr<arrow::Buffer>> buffers_;
};

// Validity of the enclosing levels of a nested field, gathered while
// descending (the seed's RepDefBuilder). File version 2.0 stores no struct
// validity, so its encoders only check that the enclosing levels have no
// nulls; 2.1's structural encodings will turn it into definition levels.
class RepDefBuilder {
 public:
  void AddValidity(std::shared_ptr<arrow::Array> level) { levels_.push_back(std::move(level)); }
  bool AnyNull() const {
    for (const auto& l : levels_) {
      if (l->null_count() > 0) return true;
    }
    return false;
  }

 private:
  std::vector<std::shared_ptr<arrow::Array>> levels_;
};

// A finished column: its column-level encoding and buffers.
struct EncodedColumn {
  std::string encoding;  // a serialized Any
  std::vector<std::shared_ptr<arrow::Buffer>> buffers;
};

class FieldEncoder {
 public:
  virtual ~FieldEncoder() = default;
  // Buffers `array` (rows row_number .. row_number + num_rows of the file's
  // top level) and returns a task per page now full (possibly none).
  virtual arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                             OutOfLineBuffers* external,
                                                             RepDefBuilder repdef,
                                                             uint64_t row_number,
                                                             uint64_t num_rows) = 0;
  // Tasks for whatever is buffered.
  virtual arrow::Result<std::vector<EncodeTask>> Flush(OutOfLineBuffers* external) = 0;
  // After every task ran: one EncodedColumn per column.
  virtual arrow::Result<std::vector<EncodedColumn>> Finish(OutOfLineBuffers* external) = 0;
  virtual uint32_t NumColumns() const = 0;
};

struct EncoderOptions {
  int64_t max_page_bytes = int64_t{8} << 20;  // a page is cut once this much is buffered
};

// The encoder of a field (file version 2.0), or an error naming a type it
// cannot encode.
arrow::Result<std::unique_ptr<FieldEncoder>> MakeFieldEncoder(const arrow::Field& field,
                                                              const EncoderOptions& options);

// The encoder of a field for file version 2.<minor> (1 or 2): one column
// per leaf (lance21_write.cc), or an error naming what it cannot encode.
arrow::Result<std::unique_ptr<FieldEncoder>> MakeFieldEncoder21(const arrow::Field& field,
                                                                const EncoderOptions& options,
                                                                int minor);

// The Lance logical type string of an Arrow type ("int64", "float",
// "fixed_size_list:float:8", "timestamp:us:UTC", ...), or an error.
arrow::Result<std::string> LanceLogicalType(const arrow::DataType& type);

}  // namespace ailake::encoding
