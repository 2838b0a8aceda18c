// The vector column's bytes without decoding: a REQUIRED FIXED_LEN_BYTE_ARRAY
// column written PLAIN and UNCOMPRESSED stores each data page as its Thrift
// header followed directly by the rows' bytes. The offset index gives every
// page's position and first row; the page header is parsed to check the page
// really is such a page and to find where its values start. When a check
// fails (dictionary, compression, nulls, uneven pages), VectorsInPlace says
// NotImplemented and the reader falls back to a decoded copy.
#include <arrow/api.h>
#include <parquet/page_index.h>

#include <cstring>

#include "ailake/file/reader_impl.h"
#include "ailake/file/thrift_compact.h"

namespace ailake {

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
    ARROW_ASSIGN_OR_RAISE(auto chunk, file->ReadAt(start, len));
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
  if (segments.size() == 1) {
    ARROW_ASSIGN_OR_RAISE(
        held->view, VectorView::Contiguous(info.precision, info.dim, info.int8, segments[0].data,
                                           segments[0].num_rows));
  } else {
    ARROW_ASSIGN_OR_RAISE(held->view, VectorView::Segmented(info.precision, info.dim, info.int8,
                                                            std::move(segments)));
  }
  held->in_place = true;
  return std::shared_ptr<const Held>(std::move(held));
}

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::VectorsByCopy(size_t v) const {
  const auto& info = vectors[v];
  std::shared_ptr<arrow::ChunkedArray> col;
  ARROW_RETURN_NOT_OK(ParquetCall("reading the vector column", [&]() {
    return arrow_reader->ReadColumn(info.leaf_index, &col);
  }));
  if (col->null_count() != 0) {
    return arrow::Status::Invalid("vector column '", info.name, "' has ", col->null_count(),
                                  " null vectors");
  }
  const auto& type = static_cast<const arrow::FixedSizeBinaryType&>(*col->type());
  const int64_t rb = type.byte_width();
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf,
                        arrow::AllocateBuffer(col->length() * rb));
  uint8_t* dst = buf->mutable_data();
  for (const auto& chunk : col->chunks()) {
    const auto& a = static_cast<const arrow::FixedSizeBinaryArray&>(*chunk);
    if (a.length() > 0) std::memcpy(dst, a.GetValue(0), a.length() * rb);
    dst += a.length() * rb;
  }
  auto held = std::make_shared<Held>();
  held->keep.push_back(buf);
  ARROW_ASSIGN_OR_RAISE(held->view,
                        VectorView::Contiguous(info.precision, info.dim, info.int8, buf->data(),
                                               static_cast<uint32_t>(col->length())));
  return std::shared_ptr<const Held>(std::move(held));
}

}  // namespace ailake
