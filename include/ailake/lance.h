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
#include <string>

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

// The whole table as one Lance file at `sink`.
arrow::Status WriteLanceFile(const arrow::Table& table,
                             std::shared_ptr<arrow::io::OutputStream> sink,
                             const LanceWriteOptions& options = {});

}  // namespace ailake
