// The AI-Lake file (layer file/): a standard Parquet file with one AILK index
// section per vector column between the Parquet data and the Parquet footer
// (or, with FileFormat::kLance, a Lance-format file whose global buffers are
// the sections; docs/FORMAT.md 5.5).
//
//   [PAR1][row groups][page index][AILK section]...[footer][footer_len][PAR1]
//
// Every Parquet engine reads it as plain Parquet (the footer never points at
// the sections); ailake finds each section through the footer's key-value
// metadata: "ailake.footer_offset" for the primary (first) vector column,
// "ailake.<column>.footer_offset" for the others. A file may also carry one
// full-text index section (AITX, docs/FORMAT.md 3.6) per indexed text column,
// in the same place, found through "ailake.<column>.text_offset". Byte
// layouts: docs/FORMAT.md section 2.
//
//   AilakeFileWriter  writes a RecordBatch plus embeddings as such a file
//                     (WriteParquetOnly: no sections; Write; WriteMulti), to
//                     bytes or to an arrow::io::OutputStream.
//   AppendIndexSections  turns a WriteParquetOnly file into an AI-Lake file by
//                     copying its data bytes unchanged and adding the sections
//                     and a new footer (no row group is decoded or re-encoded).
//   AilakeFileReader  opens a path (memory-mapped), a buffer or any
//                     RandomAccessFile; lists vector columns and sections, reads
//                     centroids, loads indexes in place, searches, reads and
//                     takes rows, verifies.
//
// Thread safety: an AilakeFileReader is safe to share between threads (each
// read makes its own Parquet reader over the parsed footer; loaded indexes,
// vector views and the page index are cached under a lock). An
// AilakeFileWriter is not: one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include "ailake/index.h"
#include "ailake/policy.h"

namespace ailake {

// Key-value metadata keys (Parquet footer) and field-metadata keys (the vector
// column's Arrow field, stored in the ARROW:schema entry).
inline constexpr std::string_view kFooterOffsetKey = "ailake.footer_offset";
std::string ColumnFooterOffsetKey(std::string_view column);  // "ailake.<column>.footer_offset"
std::string TextSectionKey(std::string_view column);         // "ailake.<column>.text_offset"
inline constexpr std::string_view kFieldDimKey = "ailake.dim";
inline constexpr std::string_view kFieldMetricKey = "ailake.metric";
inline constexpr std::string_view kFieldPrecisionKey = "ailake.precision";
inline constexpr std::string_view kFieldInt8ScalingKey = "ailake.int8_scaling";
inline constexpr std::string_view kFieldInt8ScaleKey = "ailake.int8_scale";
inline constexpr std::string_view kFieldInt8OffsetKey = "ailake.int8_offset";
inline constexpr std::string_view kFieldPreNormalizeKey = "ailake.pre_normalize";

// The container of an AI-Lake file (docs/FORMAT.md 2 and 5.5): Parquet
// (every Parquet engine reads it) or the Lance file format (version 2.0:
// pylance reads it), the AILK sections the same bytes in either.
enum class FileFormat { kParquet, kLance };
std::string_view FileFormatName(FileFormat f);  // "parquet", "lance"
arrow::Result<FileFormat> ParseFileFormat(std::string_view name);

// How the Parquet data section is laid out (docs/FORMAT.md 2.1 explains the
// defaults: small pages for random access, one vector row never split).
struct FileWriteOptions {
  // Upper bound on rows per row group; rounded down to a multiple of the
  // vector column's rows per page so every page but the last is full.
  int64_t max_row_group_rows = 65536;
  // Target bytes of one data page (all columns) and the row granularity the
  // Parquet writer checks it at. Small, because Take reads one page per
  // column per row; the vector column's pages still hold write_batch_rows
  // rows at least (64 for 384-d f32).
  int64_t data_page_bytes = 4 * 1024;
  int64_t write_batch_rows = 64;
  // Largest dictionary page of a non-vector column; past it the column
  // chunk falls back to plain pages. Kept small because a random read of any
  // row of a chunk must read its dictionary too.
  int64_t dictionary_page_bytes = 64 * 1024;
  // Codec of the non-vector columns ("uncompressed", "snappy", "lz4_raw",
  // "zstd"). Uncompressed by default: a random row then costs a copy of its
  // pages, not their decompression (docs/FORMAT.md 2.2 has the trade-off).
  // The vector column is always PLAIN and UNCOMPRESSED.
  std::string compression = "uncompressed";
  IndexBuildOptions index_build;
  // The container. With kLance the Parquet settings above do not apply
  // (compression must stay "uncompressed": Lance pages choose their own
  // compression per page, docs/FORMAT.md 5.6): the data is Lance pages of
  // at most lance_page_bytes per column, and each AILK section is a global
  // buffer.
  FileFormat format = FileFormat::kParquet;
  int64_t lance_page_bytes = int64_t{8} << 20;
  // The Lance file version written: "2.2" (what pylance writes by default),
  // "2.1" or "2.0" (no compression, no null structs).
  std::string lance_version = "2.2";
};

// One vector column of WriteMulti: its policy (column name, dim, metric,
// precision, index) and its embeddings, row-major num_rows x dim. Empty
// embeddings = take them from a FixedSizeList<float32> column of the batch
// named policy.vector_column.
// ivf_pq_codebook: for an IVF-PQ column, the shared codebook to encode with
// (its section then names it by fingerprint, docs/FORMAT.md 3.4); null = the
// writer's (WithIvfPqCodebook), and without either the index trains its own.
struct VectorColumnBatch {
  VectorStoragePolicy policy;
  std::span<const float> embeddings;
  std::shared_ptr<const IvfPqCodebook> ivf_pq_codebook;
};

class AilakeFileWriter {
 public:
  explicit AilakeFileWriter(VectorStoragePolicy policy, FileWriteOptions options = {});

  // Builder-style configuration (the seed's with_* methods).
  AilakeFileWriter& WithHnswConfig(const HnswConfig& config);
  AilakeFileWriter& WithIvfPq(const IvfPqConfig& config);
  AilakeFileWriter& WithIndexType(IndexType type);
  AilakeFileWriter& WithAutoIndex();  // = WithIndexType(IndexType::kAuto)
  AilakeFileWriter& WithOptions(const FileWriteOptions& options);
  // IVF-PQ encoded with a codebook trained once (TrainIvfPqCodebook, for
  // example one per table) instead of one trained per file: sets the index
  // type to IVF-PQ and nlist/m to the codebook's. The sections written name
  // the codebook by fingerprint and do not embed it, so a reader needs it
  // (AilakeFileReader::SetIvfPqCodebooks). Null = train per file again.
  AilakeFileWriter& WithIvfPqCodebook(std::shared_ptr<const IvfPqCodebook> codebook);

  const VectorStoragePolicy& policy() const { return policy_; }
  const FileWriteOptions& options() const { return options_; }

  // Plain Parquet with the vector column, no AILK section. `embeddings` is
  // row-major num_rows x dim, or empty to use the batch's FixedSizeList<float32>
  // column named policy().vector_column.
  arrow::Result<std::shared_ptr<arrow::Buffer>> WriteParquetOnly(
      const arrow::RecordBatch& batch, std::span<const float> embeddings) const;
  arrow::Status WriteParquetOnly(const arrow::RecordBatch& batch, std::span<const float> embeddings,
                                 arrow::io::OutputStream* sink) const;

  // One AI-Lake file: Parquet plus the column's AILK section.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Write(const arrow::RecordBatch& batch,
                                                      std::span<const float> embeddings) const;
  arrow::Status Write(const arrow::RecordBatch& batch, std::span<const float> embeddings,
                      arrow::io::OutputStream* sink) const;

  // Several vector columns, one AILK section each, in the order given; the
  // first is the primary column (key ailake.footer_offset). The writer's own
  // policy is not used: each column brings its own.
  arrow::Result<std::shared_ptr<arrow::Buffer>> WriteMulti(
      const arrow::RecordBatch& batch, std::span<const VectorColumnBatch> columns) const;
  arrow::Status WriteMulti(const arrow::RecordBatch& batch,
                           std::span<const VectorColumnBatch> columns,
                           arrow::io::OutputStream* sink) const;

  // Index later: from a WriteParquetOnly file, the AI-Lake file with this
  // writer's index for its vector column (see AppendIndexSections).
  arrow::Status WriteIndexFor(const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
                              arrow::io::OutputStream* sink) const;

 private:
  arrow::Status WriteImpl(const arrow::RecordBatch& batch,
                          std::span<const VectorColumnBatch> columns, bool with_sections,
                          arrow::io::OutputStream* sink) const;

  VectorStoragePolicy policy_;
  FileWriteOptions options_;
};

// A full-text index section to add to a file: the AITX blob
// (index/text_index.h) of the file's text column `column`.
struct TextSectionBytes {
  std::string column;
  std::shared_ptr<arrow::Buffer> bytes;
};

// Copies `file` (an AI-Lake file, or a Parquet or Lance file of any writer)
// to `sink` with `sections` added, each replacing the column's old text
// section if it had one. Every other byte that matters is kept as it is:
// the data (no page decoded), the AILK sections, the other text sections;
// only the footer (Lance: the schema metadata) gets the new keys.
arrow::Status AppendTextSections(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                 std::span<const TextSectionBytes> sections,
                                 arrow::io::OutputStream* sink);

// Index later. Copies every byte of `parquet_only` before its footer
// unchanged, appends one AILK section per policy (built from the vectors the
// file already holds, read in place), and writes the file's footer again with
// the ailake.* keys added. Each policy names an existing vector column whose
// stored dim/metric/precision it must match; its index settings are used.
// A Parquet file another engine wrote works too: a policy's column without
// ailake metadata must be fixed_size_binary[4·dim] (f32, declared as by
// AilakeFileReader::DeclareVectorColumn), and the new footer's ARROW:schema
// then carries the vector metadata, so the result reads as any AI-Lake file.
// With `replace_existing`, a file that already has sections is indexed
// again: the given columns get new sections, the others keep theirs (their
// bytes copied), and the data before the first old section is copied
// unchanged (re-indexing; without it such a file is refused).
// With `text`, the file also gets those text sections (as AppendTextSections
// adds them), in the same pass. The file's text sections not replaced are
// kept either way.
arrow::Status AppendIndexSections(const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
                                  std::span<const VectorStoragePolicy> columns,
                                  arrow::io::OutputStream* sink,
                                  const IndexBuildOptions& build = {},
                                  bool replace_existing = false);
arrow::Status AppendIndexSections(const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
                                  std::span<const VectorStoragePolicy> columns,
                                  std::span<const TextSectionBytes> text,
                                  arrow::io::OutputStream* sink, const IndexBuildOptions& build,
                                  bool replace_existing);

// One full-text index section as the reader sees it.
struct TextSectionInfo {
  std::string column;   // the file's column it indexes
  uint64_t offset = 0;  // file offset of the blob's first byte
  uint64_t length = 0;  // the blob's bytes (its header's)
};

// One AILK section as the reader sees it.
struct AilkSectionInfo {
  std::string column;
  std::string kv_key;           // the footer key that points at it
  uint16_t format_version = 0;  // ours: 2; 1 = the reference implementation's layout
  uint64_t offset = 0;          // file offset of the section's first byte
  uint64_t length = 0;          // section bytes, header through trailer
  uint64_t num_rows = 0;
  uint32_t dim = 0;
  DistanceMetric metric = DistanceMetric::kCosine;
  Precision precision = Precision::kF32;
  Int8Params int8;
  bool pre_normalize = false;
  IndexType index_type = IndexType::kNone;
  uint64_t centroid_offset = 0;  // file offset of the centroid (dim f32, then radius f32)
  uint64_t index_offset = 0;     // file offset of the index blob
  uint64_t index_bytes = 0;
  // XXH3-64 checksums (docs/FORMAT.md 2.3): the header and body are checked
  // on open, the index blob when it is loaded. Sections written before
  // checksums (and the reference's) have none.
  bool has_checksums = false;
  uint64_t index_checksum = 0;
};

// A vector column of the file (from its field metadata), with its section if
// it has one.
struct VectorColumnInfo {
  std::string name;
  int field_index = -1;  // in schema()
  int leaf_index = -1;   // Parquet leaf column
  uint32_t dim = 0;
  DistanceMetric metric = DistanceMetric::kCosine;
  Precision precision = Precision::kF32;
  Int8Params int8;
  bool pre_normalize = false;
  // False for int8 codes stored without their scale (the reference
  // implementation's i8 columns): such vectors cannot be decoded.
  bool decodable = true;
  // False for a column the reference implementation keeps only inside its
  // AILK section (secondary columns of write_multi, pq_only files): no Parquet
  // column (field_index and leaf_index are -1, Vectors() fails), searchable
  // through the section's index only.
  bool in_parquet = true;
  bool has_section = false;
  AilkSectionInfo section;
};

struct Centroid {
  std::vector<float> centroid;  // dim floats
  float radius = 0.0f;          // max distance of a row to the centroid, in the column's metric
};

// How Search answers for a column (AilakeFileReader::SearchPathOf).
enum class SearchPath {
  kIndex,             // through the column's embedded index; exact distances
  kIndexApproximate,  // through a reference IVF-PQ index with no decodable vectors
                      // to re-rank with: ADC distances (docs/REFERENCE_FORMAT.md 4)
  kExactScan,         // no usable index: an exact scan of the stored vectors
};

struct FileReadOptions {
  // Memory-map local files (zero-copy column bytes and index blobs).
  bool memory_map = true;
};

// Columns and rows of a Read; empty columns = all, row_end < 0 = to the end.
struct ReadRequest {
  std::vector<std::string> columns;
  int64_t row_start = 0;
  int64_t row_end = -1;
};

// Finds the shared IVF-PQ codebook with the given fingerprint (for sections
// written with one, docs/FORMAT.md 3.4), or returns an error saying why not.
using IvfPqCodebookResolver =
    std::function<arrow::Result<std::shared_ptr<const IvfPqCodebook>>(uint64_t fingerprint)>;

class AilakeFileReader {
 public:
  ~AilakeFileReader();
  static arrow::Result<std::unique_ptr<AilakeFileReader>> Open(const std::string& path,
                                                               const FileReadOptions& options = {});
  static arrow::Result<std::unique_ptr<AilakeFileReader>> Open(
      std::shared_ptr<arrow::Buffer> bytes);
  static arrow::Result<std::unique_ptr<AilakeFileReader>> Open(
      std::shared_ptr<arrow::io::RandomAccessFile> file);

  // True when the footer points at at least one AILK section.
  bool IsAilakeFile() const;
  FileFormat format() const;
  // The container's version: (1, 0) for Parquet; the Lance file version
  // (2, 0), (2, 1) or (2, 2) for Lance (DataFile.file_major/minor_version).
  std::pair<uint32_t, uint32_t> container_version() const;
  int64_t num_rows() const;
  int num_row_groups() const;  // Parquet row groups (0 for a Lance file)
  // For each top-level field of schema(), its column in the container: the
  // field's index for Parquet, its first Lance column for Lance (a struct
  // spans its own column and its children's). DataFile.column_indices.
  std::vector<int32_t> field_columns() const;
  // The top-level field whose column is `column` (field_columns), or an error.
  arrow::Result<std::string> FieldNameOfColumn(int32_t column) const;
  int64_t file_size() const;
  std::shared_ptr<arrow::Schema> schema() const;
  const std::vector<VectorColumnInfo>& vector_columns() const;
  // The named vector column (empty name = the primary one).
  arrow::Result<const VectorColumnInfo*> vector_column(std::string_view name = {}) const;
  // The full-text index sections the file carries, one per indexed text
  // column: found on open through their keys, each checked to start a blob
  // (magic) that fits the room the container gives it and overlaps no other
  // section. Their content is checked when loaded (index::TextIndex::Load).
  const std::vector<TextSectionInfo>& text_sections() const;
  // The bytes of column `column`'s text section (in place when the file is
  // mapped); KeyError when the file has none for it.
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadTextSection(std::string_view column) const;

  // Centroid and radius from the section, without touching data pages.
  arrow::Result<Centroid> ReadCentroid(std::string_view column = {}) const;

  // The column's stored vectors. In place (borrowing the file's mapped or
  // buffered bytes, one segment per data page) when every data page is PLAIN,
  // uncompressed and all pages but the last hold the same number of rows;
  // otherwise a contiguous copy. The reader must outlive the view.
  arrow::Result<VectorView> Vectors(std::string_view column = {}) const;

  // The column's index, loaded in place from the section (cached; the reader
  // must outlive it). A section built with a shared IVF-PQ codebook needs
  // that codebook from the resolver (below); without it, or when the
  // resolver fails, the error names the codebook's fingerprint.
  arrow::Result<std::shared_ptr<const VectorIndex>> LoadIndex(std::string_view column = {}) const;

  // Which path Search takes for the column (loads its index to find out).
  // Both our sections and the reference implementation's (format_version 1,
  // HNSW and IVF-PQ blobs) are searched through their embedded index.
  arrow::Result<SearchPath> SearchPathOf(std::string_view column = {}) const;
  // Where LoadIndex (and Search, Verify) find shared IVF-PQ codebooks.
  // Set it before the first LoadIndex of such a section; indexes already
  // loaded keep theirs.
  void SetIvfPqCodebookResolver(IvfPqCodebookResolver resolver);
  // The same with a fixed set of codebooks, matched by fingerprint.
  void SetIvfPqCodebooks(std::vector<std::shared_ptr<const IvfPqCodebook>> codebooks);
  // For a file read by ranged requests (object storage): an IVF-PQ index of
  // a vector column of at least `min_column_bytes` then reads the rows it
  // re-ranks when it needs them (a few ranged reads per query) instead of
  // the whole column first (one read per 8 MiB, then none). Below that size
  // the whole column costs less. Set it before the first LoadIndex.
  static constexpr int64_t kOnDemandMinColumnBytes = int64_t{16} << 20;
  void SetVectorsOnDemand(bool on_demand, int64_t min_column_bytes = kOnDemandMinColumnBytes);

  // For a plain Parquet file written by another engine, whose columns carry
  // no ailake metadata: reads the fixed_size_binary[4·dim] column
  // `policy.vector_column` as little-endian f32 vectors of the policy's dim
  // and metric (exact search, Vectors()). A column the file already declares
  // is left as it is. Call right after Open, before sharing the reader.
  arrow::Status DeclareVectorColumn(const VectorStoragePolicy& policy);

  // The k nearest rows of this file, ascending by distance, as Arrow: the
  // columns of options.columns (empty = all but vector columns), then
  // "_rowid" (uint64: the row's position in the file, what Take takes) and
  // "_distance" (float32), the names a table search uses. options.filter
  // (evaluated on this file's columns) and options.allowed restrict the rows
  // inside the search; options.exact scans the stored vectors instead of the
  // index. prune and fragment_ids are for tables and refused.
  arrow::Result<std::shared_ptr<arrow::Table>> Search(std::span<const float> query,
                                                      const SearchOptions& options) const;
  // The same as (row = position in the file, distance) pairs, without
  // reading any column: the thin form the table layer searches files with.
  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                              const SearchParams& params = {},
                                              const RowFilter* filter = nullptr,
                                              std::string_view column = {}) const;

  // Columns (projection) and a row range, as Arrow.
  arrow::Result<std::shared_ptr<arrow::Table>> Read(const ReadRequest& request = {}) const;
  // Rows by position, in the order given (repeats allowed), reading only the
  // data pages that hold them (page index); fields are read in parallel.
  arrow::Result<std::shared_ptr<arrow::Table>> Take(
      std::span<const int64_t> rows, const std::vector<std::string>& columns = {}) const;

  // Re-reads every checksummed byte and checks the file's parts agree:
  // every data page decoded (its CRC checked where written), every section's
  // header, body and index blob checksums, each index loaded (its own
  // structural checks) over the column's vectors, row counts of footer,
  // sections and indexes equal, sections between the data and the footer,
  // stored vector widths equal to dim, and each recorded centroid and radius
  // equal to those recomputed from the vectors. Reports every problem found
  // (empty: none), each naming the column, row group or offset.
  std::vector<std::string> VerifyAll() const;
  // VerifyAll as a status: OK, or Invalid listing every problem.
  arrow::Status Verify() const;

  class Impl;

 private:
  explicit AilakeFileReader(std::unique_ptr<Impl> impl);
  arrow::Result<std::vector<Neighbor>> SearchColumn(std::span<const float> query, uint32_t k,
                                                    const SearchParams& params,
                                                    const RowFilter* filter,
                                                    std::string_view column, bool exact) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ailake
