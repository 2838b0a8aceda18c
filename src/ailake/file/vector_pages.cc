// The vector column's bytes without decoding: a REQUIRED FIXED_LEN_BYTE_ARRAY
// column written PLAIN and UNCOMPRESSED stores each data page as its Thrift
// header followed directly by the rows' bytes. The offset index gives every
// page's position and first row; the page header is parsed to check the page
// really is such a page and to find where its values start. When a check
// fails (dictionary, compression, nulls, uneven pages), VectorsInPlace says
// NotImplemented and the reader falls back to a decoded copy.
#include <arrow/api.h>
#include <parquet/page_index.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <arrow/util/crc32.h>
#include <arrow/util/future.h>

#include "ailake/core/checksum.h"
#include "ailake/core/large_buffer.h"
#include "ailake/file/reader_impl.h"
#include "ailake/file/thrift_compact.h"
#include "ailake/io/read_cache.h"

namespace ailake {
namespace {

// Anonymous memory the size of a column chunk: pages of it never written
// cost nothing, so a chunk of which a few rows are read stays small.
class SparseBuffer : public arrow::MutableBuffer {
 public:
  static arrow::Result<std::shared_ptr<SparseBuffer>> Make(int64_t size) {
    void* p = ::mmap(nullptr, static_cast<size_t>(std::max<int64_t>(size, 1)),
                     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return arrow::Status::OutOfMemory("mmap of ", size, " bytes failed");
    return std::shared_ptr<SparseBuffer>(new SparseBuffer(static_cast<uint8_t*>(p), size));
  }
  ~SparseBuffer() override { ::munmap(mapped_, static_cast<size_t>(std::max<int64_t>(size_, 1))); }

 private:
  SparseBuffer(uint8_t* p, int64_t size) : MutableBuffer(p, size), mapped_(p) {}
  uint8_t* mapped_;
};

// One data page of the vector column, read on demand.
struct LazyPage {
  int64_t file_offset = 0;   // the page header's offset in the file
  int64_t page_bytes = 0;    // header and values
  int64_t header_bytes = 0;  // page_bytes - rows x row bytes
  uint8_t* dest = nullptr;   // where the page (header included) lands
  uint32_t first_row = 0;    // in the column
  uint32_t rows = 0;
  int chunk = 0;         // row group: pages of one share a sparse buffer
  bool checked = false;  // header parsed and found a plain uncompressed page
};

// Reads of scattered rows closer than this are merged (the gap read too).
constexpr int64_t kMergeGapBytes = 32 << 10;

class PageRowSource : public VectorRowSource {
 public:
  PageRowSource(std::shared_ptr<arrow::io::RandomAccessFile> file, std::string column,
                std::vector<LazyPage> pages, uint32_t row_bytes, uint32_t num_rows,
                std::vector<std::shared_ptr<arrow::Buffer>> keep)
      : file_(std::move(file)),
        column_(std::move(column)),
        pages_(std::move(pages)),
        row_bytes_(row_bytes),
        rows_per_page_(pages_.empty() ? 1 : std::max<uint32_t>(1, pages_[0].rows)),
        loaded_((static_cast<size_t>(num_rows) + 63) / 64, 0),
        keep_(std::move(keep)) {}

  arrow::Status Fetch(std::span<const uint32_t> rows) const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<uint32_t> want;
    want.reserve(rows.size());
    for (uint32_t r : rows) {
      if (static_cast<size_t>(r / 64) >= loaded_.size()) {
        return arrow::Status::IndexError("row ", r, " of vector column '", column_,
                                         "' is out of range");
      }
      if ((loaded_[r / 64] >> (r % 64) & 1) == 0) want.push_back(r);
    }
    if (want.empty()) return arrow::Status::OK();
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    // One read per run of rows: a row on a page whose header is not checked
    // yet is read from the page's start (header included); within one row
    // group the sparse buffer mirrors the file, so reads closer than
    // kMergeGapBytes become one (the gap is read too).
    std::vector<size_t> unchecked;
    std::vector<Range> ranges;
    int last_chunk = -1;
    for (uint32_t r : want) {
      const size_t p = r / rows_per_page_;
      const LazyPage& pg = pages_[p];
      const int64_t at = pg.header_bytes + static_cast<int64_t>(r - pg.first_row) * row_bytes_;
      int64_t start = pg.file_offset + at;
      if (!pg.checked && (unchecked.empty() || unchecked.back() != p)) {
        unchecked.push_back(p);
        start = pg.file_offset;
      }
      const int64_t end = pg.file_offset + at + row_bytes_;
      if (!ranges.empty() && pg.chunk == last_chunk &&
          start - (ranges.back().offset + ranges.back().length) <= kMergeGapBytes) {
        ranges.back().length = end - ranges.back().offset;
      } else {
        ranges.push_back({start, end - start, pg.dest + (start - pg.file_offset)});
      }
      last_chunk = pg.chunk;
    }
    ARROW_RETURN_NOT_OK(ReadAll(ranges, /*exact=*/true));
    for (size_t p : unchecked) ARROW_RETURN_NOT_OK(Check(p));
    for (uint32_t r : want) loaded_[r / 64] |= uint64_t{1} << (r % 64);
    return arrow::Status::OK();
  }

  arrow::Status FetchAll() const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (all_) return arrow::Status::OK();
    std::vector<Range> ranges;
    ranges.reserve(pages_.size());
    for (const auto& pg : pages_) ranges.push_back({pg.file_offset, pg.page_bytes, pg.dest});
    ARROW_RETURN_NOT_OK(ReadAll(ranges, /*exact=*/false));
    for (size_t p = 0; p < pages_.size(); ++p) ARROW_RETURN_NOT_OK(Check(p));
    std::fill(loaded_.begin(), loaded_.end(), ~uint64_t{0});
    all_ = true;
    return arrow::Status::OK();
  }

 private:
  struct Range {
    int64_t offset = 0;
    int64_t length = 0;
    uint8_t* dest = nullptr;
  };

  // Every range read at once (ranged requests in flight together); `exact`:
  // scattered small reads, outside a remote file's block cache.
  arrow::Status ReadAll(const std::vector<Range>& ranges, bool exact) const {
    std::vector<arrow::Future<std::shared_ptr<arrow::Buffer>>> futures;
    futures.reserve(ranges.size());
    auto* direct = exact ? dynamic_cast<io::ExactRangeReader*>(file_.get()) : nullptr;
    for (const auto& r : ranges) {
      futures.push_back(direct != nullptr ? direct->ReadExactAsync(r.offset, r.length)
                                          : file_->ReadAsync(arrow::io::default_io_context(),
                                                             r.offset, r.length));
    }
    arrow::Status first;
    for (size_t i = 0; i < ranges.size(); ++i) {
      auto got = futures[i].result();
      if (!got.ok()) {
        if (first.ok()) first = got.status();
        continue;
      }
      if ((*got)->size() != ranges[i].length) {
        if (first.ok()) {
          first = arrow::Status::IOError("vector column '", column_, "': short read of ",
                                         ranges[i].length, " bytes at offset ", ranges[i].offset);
        }
        continue;
      }
      std::memcpy(ranges[i].dest, (*got)->data(), static_cast<size_t>(ranges[i].length));
    }
    return first;
  }

  // The page's header (now in memory) must describe a plain, uncompressed
  // page of exactly its rows, as the offset index promised.
  arrow::Status Check(size_t p) const {
    LazyPage& pg = pages_[p];
    if (pg.checked) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(
        auto h, file_internal::ParsePageHeader({pg.dest, static_cast<size_t>(pg.header_bytes)}));
    const int64_t values = static_cast<int64_t>(pg.rows) * row_bytes_;
    const bool v1 = h.type == 0, v2 = h.type == 3;
    if (!(v1 || v2) || h.encoding != 0 || h.num_values != static_cast<int32_t>(pg.rows) ||
        h.compressed_page_size != h.uncompressed_page_size || h.compressed_page_size != values ||
        static_cast<int64_t>(h.header_bytes) != pg.header_bytes ||
        (v2 &&
         (h.def_levels_byte_length != 0 || h.rep_levels_byte_length != 0 || h.num_nulls != 0))) {
      return arrow::Status::Invalid("vector column '", column_, "': the page at offset ",
                                    pg.file_offset, " is not a plain uncompressed page of ",
                                    pg.rows, " rows as its offset index entry says");
    }
    pg.checked = true;
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::io::RandomAccessFile> file_;
  std::string column_;
  mutable std::vector<LazyPage> pages_;  // `checked` set under mu_
  uint32_t row_bytes_;
  uint32_t rows_per_page_;
  mutable std::mutex mu_;
  mutable std::vector<uint64_t> loaded_;
  mutable bool all_ = false;
  std::vector<std::shared_ptr<arrow::Buffer>> keep_;  // the sparse chunks pages_ point into
};

}  // namespace

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::VectorsInPlace(size_t v) const {
  const auto& info = vectors[v];
  const auto& md = *metadata;
  const int leaf = info.leaf_index;
  const auto* descr = md.schema()->Column(leaf);
  const int64_t row_bytes = descr->type_length();
  if (descr->max_definition_level() != 0 || descr->max_repetition_level() != 0) {
    return arrow::Status::NotImplemented("vector column '", info.name, "' is nullable or nested");
  }
  auto held = std::make_shared<Held>();
  std::vector<VectorSegment> segments;
  for (int rg = 0; rg < md.num_row_groups(); ++rg) {
    std::shared_ptr<parquet::OffsetIndex> offsets;
    std::unique_ptr<parquet::ColumnChunkMetaData> cc;
    int64_t rg_rows = 0;
    ARROW_RETURN_NOT_OK(ParquetCall("reading the offset index", [&]() {
      auto g = md.RowGroup(rg);
      rg_rows = g->num_rows();
      cc = g->ColumnChunk(leaf);
      return arrow::Status::OK();
    }));
    ARROW_ASSIGN_OR_RAISE(offsets, OffsetIndexOf(rg, leaf));
    if (!offsets) return arrow::Status::NotImplemented("no offset index for row group ", rg);
    if (cc->compression() != arrow::Compression::UNCOMPRESSED || cc->has_dictionary_page()) {
      return arrow::Status::NotImplemented(
          "vector column chunk is compressed or dictionary-encoded");
    }
    const int64_t start = cc->data_page_offset();
    const int64_t len = cc->total_compressed_size();
    // Open() checked the chunk lies before the footer.
    // Rows are read at random by searches: huge-page memory when large.
    ARROW_ASSIGN_OR_RAISE(auto chunk, core::ReadLarge(file.get(), start, len));
    if (chunk->size() != len) return arrow::Status::IOError("short read of row group ", rg);
    held->keep.push_back(chunk);
    const auto& pages = offsets->page_locations();
    for (size_t p = 0; p < pages.size(); ++p) {
      const auto& loc = pages[p];
      const int64_t next_row = p + 1 < pages.size() ? pages[p + 1].first_row_index : rg_rows;
      const int64_t n = next_row - loc.first_row_index;
      if (loc.offset < start || loc.compressed_page_size < 0 || loc.offset - start > len ||
          loc.compressed_page_size > len - (loc.offset - start) || n <= 0 ||
          loc.first_row_index < 0 || n > std::numeric_limits<uint32_t>::max()) {
        return arrow::Status::Invalid("vector column '", info.name, "' row group ", rg, " page ", p,
                                      ": offset index entry (offset ", loc.offset, ", ",
                                      loc.compressed_page_size, " bytes, first row ",
                                      loc.first_row_index, ") lies outside its column chunk");
      }
      const uint8_t* page = chunk->data() + (loc.offset - start);
      ARROW_ASSIGN_OR_RAISE(auto h, file_internal::ParsePageHeader(
                                        {page, static_cast<size_t>(loc.compressed_page_size)}));
      const bool v1 = h.type == 0, v2 = h.type == 3;
      const int64_t values_bytes = n * row_bytes;
      if (!(v1 || v2) || h.encoding != 0 || h.num_values != n ||
          h.compressed_page_size != h.uncompressed_page_size ||
          h.compressed_page_size != values_bytes ||
          static_cast<int64_t>(h.header_bytes) + h.compressed_page_size !=
              loc.compressed_page_size ||
          (v2 &&
           (h.def_levels_byte_length != 0 || h.rep_levels_byte_length != 0 || h.num_nulls != 0))) {
        return arrow::Status::NotImplemented("page ", p, " of row group ", rg,
                                             " is not a plain uncompressed page of ", n, " rows");
      }
      // The page CRC, as every decoding read checks it: searches read these
      // bytes in place, so a flipped bit would otherwise change distances.
      if (h.has_crc && core::kChecksumsEnforced &&
          arrow::internal::crc32(0, page + h.header_bytes, static_cast<size_t>(values_bytes)) !=
              h.crc) {
        return arrow::Status::Invalid("vector column '", info.name, "' row group ", rg, " page ", p,
                                      " at file offset ", loc.offset,
                                      ": page CRC mismatch (the file is corrupt)");
      }
      segments.push_back({page + h.header_bytes, static_cast<uint32_t>(n)});
    }
  }
  uint64_t total = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    total += segments[s].num_rows;
    if (s + 1 < segments.size() && segments[s].num_rows != segments[0].num_rows) {
      return arrow::Status::NotImplemented("pages of uneven row counts");
    }
  }
  if (total != static_cast<uint64_t>(md.num_rows())) {
    return arrow::Status::Invalid("vector column '", info.name, "': its pages hold ", total,
                                  " rows, the footer says ", md.num_rows());
  }
  ARROW_ASSIGN_OR_RAISE(held->view, ViewOfSegments(info, std::move(segments)));
  held->in_place = true;
  return std::shared_ptr<const Held>(std::move(held));
}

arrow::Result<VectorView> AilakeFileReader::Impl::ViewOfSegments(
    const VectorColumnInfo& info, std::vector<VectorSegment> segments) {
  if (segments.size() <= 1) {
    return VectorView::Contiguous(info.precision, info.dim, info.int8,
                                  segments.empty() ? nullptr : segments[0].data,
                                  segments.empty() ? 0 : segments[0].num_rows);
  }
  return VectorView::Segmented(info.precision, info.dim, info.int8, std::move(segments));
}

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::HeldCopyOf(const VectorColumnInfo& info, const arrow::ChunkedArray& col) {
  if (col.null_count() != 0) {
    return arrow::Status::Invalid("vector column '", info.name, "' has ", col.null_count(),
                                  " null vectors");
  }
  const auto& type = static_cast<const arrow::FixedSizeBinaryType&>(*col.type());
  const int64_t rb = type.byte_width();
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf,
                        core::AllocateLargeBuffer(col.length() * rb));
  uint8_t* dst = buf->mutable_data();
  for (const auto& chunk : col.chunks()) {
    const auto& a = static_cast<const arrow::FixedSizeBinaryArray&>(*chunk);
    if (a.length() > 0) std::memcpy(dst, a.GetValue(0), a.length() * rb);
    dst += a.length() * rb;
  }
  auto held = std::make_shared<Held>();
  held->keep.push_back(buf);
  ARROW_ASSIGN_OR_RAISE(held->view,
                        VectorView::Contiguous(info.precision, info.dim, info.int8, buf->data(),
                                               static_cast<uint32_t>(col.length())));
  return std::shared_ptr<const Held>(std::move(held));
}

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::VectorsByCopy(size_t v) const {
  const auto& info = vectors[v];
  std::shared_ptr<arrow::ChunkedArray> col;
  ARROW_ASSIGN_OR_RAISE(auto reader, NewReader(/*use_threads=*/false));
  ARROW_RETURN_NOT_OK(ParquetCall("reading the vector column",
                                  [&]() { return reader->ReadColumn(info.leaf_index, &col); }));
  return HeldCopyOf(info, *col);
}

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::VectorsOnDemand(size_t v) const {
  if (lance) return arrow::Status::NotImplemented("vectors on demand from a Lance file");
  const auto& info = vectors[v];
  const auto& md = *metadata;
  const int leaf = info.leaf_index;
  const auto* descr = md.schema()->Column(leaf);
  const int64_t row_bytes = descr->type_length();
  if (descr->max_definition_level() != 0 || descr->max_repetition_level() != 0 || row_bytes <= 0) {
    return arrow::Status::NotImplemented("vector column '", info.name, "' is nullable or nested");
  }
  std::vector<LazyPage> pages;
  std::vector<std::shared_ptr<arrow::Buffer>> keep;
  std::vector<VectorSegment> segments;
  uint64_t row = 0;
  for (int rg = 0; rg < md.num_row_groups(); ++rg) {
    std::shared_ptr<parquet::OffsetIndex> offsets;
    std::unique_ptr<parquet::ColumnChunkMetaData> cc;
    int64_t rg_rows = 0;
    ARROW_RETURN_NOT_OK(ParquetCall("reading the offset index", [&]() {
      auto g = md.RowGroup(rg);
      rg_rows = g->num_rows();
      cc = g->ColumnChunk(leaf);
      return arrow::Status::OK();
    }));
    ARROW_ASSIGN_OR_RAISE(offsets, OffsetIndexOf(rg, leaf));
    if (!offsets) return arrow::Status::NotImplemented("no offset index for row group ", rg);
    if (cc->compression() != arrow::Compression::UNCOMPRESSED || cc->has_dictionary_page()) {
      return arrow::Status::NotImplemented(
          "vector column chunk is compressed or dictionary-encoded");
    }
    const int64_t start = cc->data_page_offset();
    const int64_t len = cc->total_compressed_size();
    ARROW_ASSIGN_OR_RAISE(auto chunk, SparseBuffer::Make(len));
    keep.push_back(chunk);
    const auto& locs = offsets->page_locations();
    for (size_t p = 0; p < locs.size(); ++p) {
      const auto& loc = locs[p];
      const int64_t next_row = p + 1 < locs.size() ? locs[p + 1].first_row_index : rg_rows;
      const int64_t n = next_row - loc.first_row_index;
      if (loc.offset < start || loc.compressed_page_size < 0 || loc.offset - start > len ||
          loc.compressed_page_size > len - (loc.offset - start) || n <= 0 ||
          loc.first_row_index < 0 || n > std::numeric_limits<uint32_t>::max()) {
        return arrow::Status::Invalid("vector column '", info.name, "' row group ", rg, " page ", p,
                                      ": offset index entry (offset ", loc.offset, ", ",
                                      loc.compressed_page_size, " bytes, first row ",
                                      loc.first_row_index, ") lies outside its column chunk");
      }
      const int64_t header = loc.compressed_page_size - n * row_bytes;
      if (header <= 0 || header > 4096) {
        return arrow::Status::NotImplemented("page ", p, " of row group ", rg,
                                             " is not a plain uncompressed page of ", n, " rows");
      }
      LazyPage pg;
      pg.file_offset = loc.offset;
      pg.page_bytes = loc.compressed_page_size;
      pg.header_bytes = header;
      pg.dest = chunk->mutable_data() + (loc.offset - start);
      pg.first_row = static_cast<uint32_t>(row);
      pg.rows = static_cast<uint32_t>(n);
      pg.chunk = rg;
      pages.push_back(pg);
      segments.push_back({pg.dest + header, static_cast<uint32_t>(n)});
      row += static_cast<uint64_t>(n);
    }
  }
  for (size_t s = 0; s + 1 < segments.size(); ++s) {
    if (segments[s].num_rows != segments[0].num_rows) {
      return arrow::Status::NotImplemented("pages of uneven row counts");
    }
  }
  if (row != static_cast<uint64_t>(md.num_rows())) {
    return arrow::Status::Invalid("vector column '", info.name, "': its pages hold ", row,
                                  " rows, the footer says ", md.num_rows());
  }
  auto held = std::make_shared<Held>();
  ARROW_ASSIGN_OR_RAISE(VectorView view, VectorView::Segmented(info.precision, info.dim, info.int8,
                                                               std::move(segments)));
  auto source = std::make_shared<PageRowSource>(file, info.name, std::move(pages),
                                                static_cast<uint32_t>(row_bytes),
                                                static_cast<uint32_t>(row), std::move(keep));
  held->view = view.OnDemand(std::move(source));
  held->in_place = true;
  return std::shared_ptr<const Held>(std::move(held));
}

}  // namespace ailake
