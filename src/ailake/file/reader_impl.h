// AilakeFileReader's state, shared by its parts:
//   file_reader.cc     open, footer and sections, centroid, index, search, verify
//   vector_pages.cc    the vector column's bytes in place (page index + page headers)
//   row_selection.cc   Read through the page index; Take's general path
//   row_take.cc        Take: vector bytes in place, flat columns page by page
//   lance_container.cc the same for a file in the Lance format (docs/FORMAT.md 5.5)
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <arrow/io/interfaces.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/page_index.h>

#include "ailake/file.h"
#include "ailake/lance.h"

namespace ailake {

namespace file_internal {
// A vector column from its field metadata, or nullopt if the field has none.
arrow::Result<std::optional<VectorColumnInfo>> VectorColumnFromField(const arrow::Field& f,
                                                                     int index);
}  // namespace file_internal

// Reader properties of every Parquet read: page CRCs (written by ailake since
// session 5) are verified, so a flipped bit in a data page is an error, not
// another value. Pages without a CRC (older files, other writers) still read.
inline parquet::ReaderProperties VerifyingReaderProperties() {
  parquet::ReaderProperties p = parquet::default_reader_properties();
  p.set_page_checksum_verification(true);
  return p;
}

// Runs Parquet C++ code that may throw, turning exceptions into a Status.
template <typename F>
arrow::Status ParquetCall(const char* what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return arrow::Status::Invalid(what, ": ", e.what());
  }
}

class AilakeFileReader::Impl {
 public:
  std::shared_ptr<arrow::io::RandomAccessFile> file;
  // Set for a file in the Lance format (AILK sections as global buffers);
  // the Parquet members below are then unset.
  std::shared_ptr<LanceFileReader> lance;
  // Where Take reads its pages: `file`, except for a memory-mapped path,
  // where it is the same file opened for pread. A take touches a few bytes
  // on each of many scattered pages; copying them costs less than mapping
  // them (a fault on first touch, unmapping on close).
  std::shared_ptr<arrow::io::RandomAccessFile> page_file;
  int64_t size = 0;
  int64_t footer_start = 0;  // first byte of the Parquet FileMetaData
  int64_t data_end = 0;      // end of the last row group / page index structure
  std::shared_ptr<parquet::FileMetaData> metadata;
  // Schema and manifest only: Parquet C++'s readers keep per-read state (the
  // pre-buffer cache, use_threads), so each read makes its own (NewReader).
  std::unique_ptr<parquet::arrow::FileReader> arrow_reader;  // owns a ParquetFileReader
  std::shared_ptr<arrow::Schema> schema;
  std::vector<VectorColumnInfo> vectors;
  std::vector<std::shared_ptr<arrow::Buffer>> section_bytes;  // parallel to vectors (null if none)
  std::vector<TextSectionInfo> text_sections;

  mutable std::mutex mu;
  mutable std::map<std::string, std::shared_ptr<const VectorIndex>> indexes;
  IvfPqCodebookResolver codebook_resolver;  // guarded by mu
  struct Held {
    VectorView view;
    std::vector<std::shared_ptr<arrow::Buffer>> keep;  // bytes the view points into
    bool in_place = false;
  };
  mutable std::map<std::string, std::shared_ptr<const Held>> views;
  bool vectors_on_demand = false;   // guarded by mu
  int64_t on_demand_min_bytes = 0;  // guarded by mu
  // Page index, read once per row group on first use.
  mutable std::shared_ptr<parquet::PageIndexReader> page_index;
  mutable bool page_index_opened = false;
  mutable std::map<int, std::shared_ptr<parquet::RowGroupPageIndexReader>> rg_page_index;
  mutable std::map<std::pair<int, int>, std::shared_ptr<parquet::OffsetIndex>> offset_indexes;

  // A Parquet reader for one read, over the parsed footer (no request made):
  // readers are not safe to share between threads, this object is.
  arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> NewReader(bool use_threads) const;

  // The offset index of (row group, leaf), or null when the file has none.
  arrow::Result<std::shared_ptr<parquet::OffsetIndex>> OffsetIndexOf(int rg, int leaf) const;

  arrow::Result<size_t> VectorIndexOf(std::string_view name) const;
  // The AILK sections the keys of `kv` point at (footer keys of a Parquet
  // file, schema metadata of a Lance file), checked against the columns.
  arrow::Status LoadSections(const arrow::KeyValueMetadata* kv, int64_t num_rows);
  // The text section footer key `key` points at (checked, not yet loaded),
  // its extent added to `extents` (sections may not overlap).
  arrow::Status LoadTextSection(const std::string& key, const std::string& value,
                                const std::string& column,
                                std::vector<std::pair<uint64_t, uint64_t>>* extents);
  // Bytes a section found through `key` at `off` may occupy, or why none.
  arrow::Result<int64_t> SectionRoom(const std::string& key, uint64_t off) const;

  // The shared IVF-PQ codebook an index blob of column `v` names (through
  // the resolver), or null when the blob needs none.
  arrow::Result<std::shared_ptr<const IvfPqCodebook>> SharedCodebookOf(
      const VectorColumnInfo& v, const arrow::Buffer& blob) const;
  arrow::Result<std::shared_ptr<const Held>> GetVectors(size_t v) const;
  arrow::Result<std::shared_ptr<const Held>> VectorsInPlace(size_t v) const;
  arrow::Result<std::shared_ptr<const Held>> VectorsByCopy(size_t v) const;
  // The vector column as an on-demand view (VectorRowSource): page headers
  // and rows are read when first needed. NotImplemented where VectorsInPlace
  // would be (the caller then reads the column with GetVectors).
  arrow::Result<std::shared_ptr<const Held>> VectorsOnDemand(size_t v) const;
  // One view over `segments` (contiguous when there is one).
  static arrow::Result<VectorView> ViewOfSegments(const VectorColumnInfo& info,
                                                  std::vector<VectorSegment> segments);
  // The vectors of a decoded fixed_size_binary column, copied contiguous.
  static arrow::Result<std::shared_ptr<const Held>> HeldCopyOf(const VectorColumnInfo& info,
                                                               const arrow::ChunkedArray& col);

  // The Lance container (lance_container.cc).
  arrow::Status OpenLance();
  arrow::Result<std::shared_ptr<const Held>> LanceVectors(size_t v) const;
  arrow::Result<std::shared_ptr<arrow::Table>> LanceRead(const std::vector<int>& fields,
                                                         int64_t start, int64_t end) const;
  arrow::Result<std::shared_ptr<arrow::Table>> LanceTake(const std::vector<int>& fields,
                                                         std::span<const int64_t> rows) const;

  // File byte ranges of pages `kept` (indexes into the offset index, ascending)
  // of (rg, leaf), after the chunk's dictionary page if it has one.
  arrow::Result<std::vector<std::pair<int64_t, int64_t>>> PageByteRanges(
      int rg, int leaf, const parquet::OffsetIndex& oi, std::span<const size_t> kept) const;
  // Fields of schema named by `columns` (empty = all), in that order.
  arrow::Result<std::vector<int>> ResolveFields(const std::vector<std::string>& columns) const;
  // Leaf columns of top-level field `field`.
  std::vector<int> LeavesOf(int field) const;
  // Rows [row intervals, sorted, disjoint, global] of the named fields as a table.
  arrow::Result<std::shared_ptr<arrow::Table>> ReadIntervals(
      const std::vector<int>& fields, const std::vector<std::pair<int64_t, int64_t>>& intervals,
      std::span<const int64_t> gather) const;

  // Take's fast paths (row_take.cc). `rg_first_row` holds each row group's
  // first row, then the file's row count. NotImplemented = this field or
  // file is not laid out for the path; the caller takes the general one.
  //
  // A REQUIRED FIXED_LEN_BYTE_ARRAY leaf stored PLAIN and UNCOMPRESSED: each
  // row's bytes copied from its data page, in the order of `rows`.
  arrow::Result<std::shared_ptr<arrow::Array>> TakeFixedWidthInPlace(
      int field, std::span<const int64_t> rows, const std::vector<int64_t>& rg_first_row) const;
  // A flat leaf (no repetition) of a plain Arrow type: the rows of `sorted`
  // (ascending, distinct), decoded from the pages that hold them.
  arrow::Result<std::shared_ptr<arrow::Array>> TakeFlat(
      int field, std::span<const int64_t> sorted, const std::vector<int64_t>& rg_first_row) const;
};

}  // namespace ailake
