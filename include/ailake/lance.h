// Files in the Lance columnar file format (docs/FORMAT.md 5), written by the
// encoding/ layer's FieldEncoders: pylance's LanceFileReader reads them.
//
//   LanceFileWriter  streams RecordBatches of one schema into a Lance file
//                    of version 2.0 (footer 0.3, as pylance writes it), 2.1
//                    or 2.2 (docs/FORMAT.md 5.3, 5.4); page encode tasks run
//                    in parallel on the shared encode pool (at most
//                    max_pending_pages in flight), and each column's pages
//                    keep their order.
//   LanceFileReader  reads files of those versions (ours or pylance's):
//                    projection, ranges, takes of only the pages or chunks
//                    holding the rows, scans in batches of any size.
//
// Types: bool, (u)int8..64, float16/32/64, date32/64, time32/64, timestamp,
// duration, decimal128/256, fixed_size_binary, (large_)string,
// (large_)binary, fixed_size_list of fixed-width values (vectors: one
// column, row r at a fixed offset), (large_)list of any of these, struct,
// and packed structs (field metadata packed=true: one column of whole rows,
// FORMAT.md 5.3); nulls at every level (2.0: not struct rows). Anything else
// is refused by name.
// LanceFileWriter is not thread-safe (one writer per thread; many writers
// may run at once). LanceFileReader is safe to share between threads: its
// reads are const and keep no state between calls.
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
  // "2.0" (footer version 0.3), "2.1" or "2.2" (pylance's default); any
  // other is refused by name.
  std::string version = "2.0";
  int64_t max_page_bytes = int64_t{8} << 20;  // a column's page is cut at this size
  // Encode tasks in flight at most (0: twice the hardware threads).
  int max_pending_pages = 0;
  // Finish closes the sink (false: the caller does, after Finish).
  bool close_sink = true;
  // Adds ailake's page checksums (docs/FORMAT.md 5.5) as a global buffer;
  // readers then check every page they read. Lance itself ignores it.
  bool page_checksums = false;
};

// A file-level buffer beyond the schema (global buffers 1, 2, ...), written
// 64-byte aligned after the data pages. With an offset_key, the schema's
// metadata gets that key with the buffer's file offset in decimal, which is
// how AI-Lake files in this format find their AILK sections (docs/FORMAT.md
// 5.5); Lance readers skip buffers they do not know.
struct LanceGlobalBuffer {
  std::shared_ptr<arrow::Buffer> bytes;
  std::string offset_key;
};

// Where a column's values lie when every page stores them flat, fixed-width
// and without nulls: row r of page p is `row_bytes` bytes at
// offset + (r - first_row) * row_bytes.
struct LanceFixedWidthPage {
  int64_t first_row = 0;
  int64_t num_rows = 0;
  uint64_t offset = 0;
  uint32_t page_index = 0;    // among the column's pages
  uint32_t buffer_index = 0;  // the page buffer holding the values
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
  // A global buffer written by Finish (before the schema, which lists its
  // offset under buffer.offset_key when that is set).
  arrow::Status AddGlobalBuffer(LanceGlobalBuffer buffer);
  // Flushes every column, writes the schema, column metadata, offset tables
  // and footer, and closes the sink.
  arrow::Status Finish();
  int64_t rows_written() const;

 private:
  struct Impl;
  explicit LanceFileWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a Lance file of version 2.0, 2.1 or 2.2 (written by ailake or by
// Lance itself): the schema from its descriptor, any projection of
// top-level columns (reading only their columns' pages), a row range, a take
// of row numbers (reading only the pages that hold them; in 2.1/2.2 only the
// mini-block chunks or full-zip rows that hold them), or a streamed scan in
// batches of any size. Version 2.0 encodings read: flat (fixed width),
// nullable, fixed-size list, list, binary, dictionary, struct. Versions
// 2.1/2.2: mini-block, full-zip and constant (all-null) pages with their
// repetition and definition levels; flat, variable, bit packing (inline and
// out of line), FSST, dictionary, run lengths, byte stream split, fixed-size
// lists and LZ4/Zstandard general compression. Any other encoding is an
// error naming it, as is a later file version. Every offset and size in the file is checked
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
  // The footer's (major, minor): (0, 3) or (2, 0) for file version 2.0,
  // (2, 1) and (2, 2) for the later ones.
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

  // The file's global buffers (offset, size); 0 is the schema.
  const std::vector<std::pair<uint64_t, uint64_t>>& global_buffers() const;
  // The column index of each top-level field (its first column: a struct's
  // own column), in schema order: DataFile.column_indices of this file.
  std::vector<int32_t> field_columns() const;
  // End of the last page or column buffer: everything the column metadata
  // points at lies before it.
  uint64_t data_end() const;
  // The pages of top-level column `column` when all of them store flat
  // fixed-width values without nulls (row_bytes per row), else NotImplemented
  // naming why. No page is read.
  arrow::Result<std::vector<LanceFixedWidthPage>> FixedWidthPages(const std::string& column,
                                                                  int32_t* row_bytes) const;
  // The values of one of those pages (num_rows * row_bytes bytes; a slice
  // of the file's bytes when it is memory-mapped), checked against the page
  // checksums when the file has them.
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadFixedWidthPage(const std::string& column,
                                                                   const LanceFixedWidthPage& page,
                                                                   int32_t row_bytes) const;
  // Whether the file carries ailake's page checksums (every page read is
  // then checked against them).
  bool has_page_checksums() const;
  // A copy of this file at `sink` with `buffers` added as global buffers and
  // their offsets in the schema metadata: every byte before data_end() is
  // copied unchanged (no page is decoded), then the buffers, the schema and
  // the column metadata are written again. Global buffers beyond the schema
  // that the file had are dropped, as are schema metadata keys listed in
  // `drop_keys`.
  arrow::Status CopyWithGlobalBuffers(const std::vector<LanceGlobalBuffer>& buffers,
                                      const std::vector<std::string>& drop_keys,
                                      arrow::io::OutputStream* sink) const;

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
