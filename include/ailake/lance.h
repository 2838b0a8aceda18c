// Files in the Lance columnar file format (docs/FORMAT.md 5), written by the
// encoding/ layer's FieldEncoders: pylance's LanceFileReader reads them.
//
//   LanceFileWriter  streams RecordBatches of one schema into a Lance file
//                    (version 2.0: footer 0.3, as pylance writes it); page
//                    encode tasks run in parallel (at most max_pending_pages
//                    at once), and each column's pages keep their order.
//
// Types: bool, (u)int8..64, float16/32/64, date32/64, time32/64, timestamp,
// duration, decimal128/256, fixed_size_binary, (large_)string,
// (large_)binary, fixed_size_list of fixed-width values (vectors: one
// column, row r at a fixed offset), struct (no struct-level nulls in 2.0),
// nulls at every level but struct rows. Anything else is refused by name.
// Not thread-safe: one writer per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/io/interfaces.h>

namespace ailake {

struct LanceWriteOptions {
  // "2.0" (footer version 0.3); later versions are refused until written.
  std::string version = "2.0";
  int64_t max_page_bytes = int64_t{8} << 20;  // a column's page is cut at this size
  // Encode tasks in flight at most (0: twice the hardware threads).
  int max_pending_pages = 0;
};

class LanceFileWriter {
 public:
  static arrow::Result<std::unique_ptr<LanceFileWriter>> Open(
      std::shared_ptr<arrow::io::OutputStream> sink, std::shared_ptr<arrow::Schema> schema,
      const LanceWriteOptions& options = {});
  ~LanceFileWriter();
  LanceFileWriter(const LanceFileWriter&) = delete;
  LanceFileWriter& operator=(const LanceFileWriter&) = delete;

  arrow::Status Write(const arrow::RecordBatch& batch);
  arrow::Status Write(const arrow::Table& table);
  // Flushes every column, writes the schema, column metadata, offset tables
  // and footer, and closes the sink.
  arrow::Status Finish();
  int64_t rows_written() const;

 private:
  struct Impl;
  explicit LanceFileWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a Lance file of version 2.0 (written by ailake or by Lance itself):
// the schema from its descriptor, any projection of top-level columns
// (reading only their columns' pages), a row range, a take of row numbers
// (reading only the pages that hold them), or a streamed scan in batches of
// any size. Page encodings read: flat (fixed width), nullable, fixed-size
// list, binary, dictionary, struct; any other is an error naming it, as is
// a later file version. Every offset and size in the file is checked
// against the file before it is read. Thread-safe for reads (immutable
// after Open).
class LanceFileReader {
 public:
  static arrow::Result<std::unique_ptr<LanceFileReader>> Open(
      std::shared_ptr<arrow::io::RandomAccessFile> file);
  ~LanceFileReader();
  LanceFileReader(const LanceFileReader&) = delete;
  LanceFileReader& operator=(const LanceFileReader&) = delete;

  const std::shared_ptr<arrow::Schema>& schema() const;
  int64_t num_rows() const;
  // The footer's (major, minor): (0, 3) or (2, 0) for file version 2.0.
  std::pair<uint16_t, uint16_t> version() const;

  // Rows [offset, offset + length) (length < 0: to the end) of `columns`
  // (empty: all), in file order.
  arrow::Result<std::shared_ptr<arrow::Table>> Read(const std::vector<std::string>& columns = {},
                                                    int64_t offset = 0, int64_t length = -1) const;
  // The rows numbered `rows` (any order, repeats allowed), in that order.
  arrow::Result<std::shared_ptr<arrow::Table>> Take(
      std::span<const int64_t> rows, const std::vector<std::string>& columns = {}) const;
  // All rows in batches of `batch_rows` (independent of page sizes).
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Scan(
      int64_t batch_rows, const std::vector<std::string>& columns = {}) const;

 private:
  struct Impl;
  explicit LanceFileReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The whole table as one Lance file at `sink`.
arrow::Status WriteLanceFile(const arrow::Table& table,
                             std::shared_ptr<arrow::io::OutputStream> sink,
                             const LanceWriteOptions& options = {});

}  // namespace ailake
