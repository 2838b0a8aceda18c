// Take: rows by position, in the order asked (repeats allowed), reading as
// little of the file as the layout allows. Per top-level field:
//  - a REQUIRED FIXED_LEN_BYTE_ARRAY leaf stored PLAIN and UNCOMPRESSED (the
//    vector column, docs/FORMAT.md 2.2): the offset index gives a row's page,
//    the page header where its values start, and the row's bytes are copied
//    from there; no page is decoded;
//  - a flat leaf (no repetition) whose Arrow value is the Parquet value as is
//    (integers, floats, booleans, strings, binary): one Parquet column reader
//    per column chunk over a stream of only the pages holding wanted rows
//    (after the chunk's dictionary page), skipping to each wanted row, so each
//    kept page is read and decoded once;
//  - any other field (lists, structs, dictionary, temporal or decimal types)
//    and files without a page index: ReadIntervals (row_selection.cc).
#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <parquet/arrow/schema.h>
#include <parquet/column_reader.h>
#include <parquet/page_index.h>
#include <parquet/properties.h>

#include <algorithm>
#include <numeric>
#include <optional>

#include "ailake/file/page_stream.h"
#include "ailake/file/reader_impl.h"
#include "ailake/file/thrift_compact.h"
#include "ailake/vec/parallel.h"

namespace ailake {
namespace {

using file_internal::PageRangesStream;
using Intervals = std::vector<std::pair<int64_t, int64_t>>;  // [begin, end) rows

// Bytes read to parse a data page header before reading the whole page: a
// vector page's header (no statistics) is a few dozen bytes.
constexpr int64_t kHeaderPeekBytes = 256;

int RowGroupOf(const std::vector<int64_t>& rg_first_row, int64_t row) {
  const auto it = std::upper_bound(rg_first_row.begin(), rg_first_row.end(), row);
  return static_cast<int>(it - rg_first_row.begin()) - 1;
}

// The page of rg-relative row `r` and the page's rows [first, end), checked
// against the offset index (hostile files: entries out of order or short).
struct PageOfRow {
  size_t page = 0;
  int64_t first = 0;
  int64_t end = 0;
};
arrow::Result<PageOfRow> FindPage(const std::vector<parquet::PageLocation>& pages, int64_t rg_rows,
                                  int64_t r, int rg, int leaf) {
  const auto it = std::upper_bound(pages.begin(), pages.end(), r, [](int64_t row, const auto& loc) {
    return row < loc.first_row_index;
  });
  PageOfRow out;
  if (it != pages.begin()) {
    out.page = static_cast<size_t>(it - pages.begin()) - 1;
    out.first = pages[out.page].first_row_index;
    out.end = out.page + 1 < pages.size() ? pages[out.page + 1].first_row_index : rg_rows;
    if (out.first <= r && r < out.end) return out;
  }
  return arrow::Status::Invalid("row group ", rg, " column ", leaf, ": the offset index places no",
                                " page at row ", r, " of ", rg_rows);
}

// What the flat path builds from a leaf: Parquet physical type -> Arrow type
// with the value copied unchanged (integers narrowed as the Arrow reader does).
bool FlatPathHandles(const arrow::DataType& type, const parquet::ColumnDescriptor& d) {
  if (d.max_repetition_level() != 0 || d.max_definition_level() > 1) return false;
  const auto& logical = *d.logical_type();
  const bool none = logical.is_none();
  switch (type.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
      return d.physical_type() == parquet::Type::INT32 && (none || logical.is_int());
    case arrow::Type::INT64:
    case arrow::Type::UINT64:
      return d.physical_type() == parquet::Type::INT64 && (none || logical.is_int());
    case arrow::Type::FLOAT: return d.physical_type() == parquet::Type::FLOAT && none;
    case arrow::Type::DOUBLE: return d.physical_type() == parquet::Type::DOUBLE && none;
    case arrow::Type::BOOL: return d.physical_type() == parquet::Type::BOOLEAN && none;
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return d.physical_type() == parquet::Type::BYTE_ARRAY && (none || logical.is_string());
    case arrow::Type::FIXED_SIZE_BINARY:
      return d.physical_type() == parquet::Type::FIXED_LEN_BYTE_ARRAY && none &&
             static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width() == d.type_length();
    default: return false;
  }
}

// One column chunk's share of a take: a column reader over the kept pages and
// the positions of the wanted rows in the rows those pages hold.
struct ChunkTake {
  std::shared_ptr<parquet::ColumnReader> reader;
  std::vector<int64_t> positions;  // ascending
};

// Reads the rows of every chunk take into `out` with `append(builder, value)`
// (ascending row order), nulls where the definition level says so.
template <typename DType, typename Builder, typename Append>
arrow::Status DecodeRows(std::vector<ChunkTake>& chunks, int16_t max_def, Builder* out,
                         Append append) {
  using T = typename DType::c_type;
  for (auto& chunk : chunks) {
    auto* reader = static_cast<parquet::TypedColumnReader<DType>*>(chunk.reader.get());
    int64_t at = 0;
    for (const int64_t pos : chunk.positions) {
      if (pos > at && reader->Skip(pos - at) != pos - at) {
        return arrow::Status::Invalid("column '", reader->descr()->name(),
                                      "': its kept pages end before row position ", pos,
                                      " that the offset index promised");
      }
      int16_t def = 0;
      T value{};
      int64_t values = 0;
      if (reader->ReadBatch(1, &def, nullptr, &value, &values) != 1) {
        return arrow::Status::Invalid("column '", reader->descr()->name(),
                                      "': its kept pages end before row position ", pos,
                                      " that the offset index promised");
      }
      if (max_def > 0 && def < max_def) {
        ARROW_RETURN_NOT_OK(out->AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(append(out, value));
      }
      at = pos + 1;
    }
  }
  return arrow::Status::OK();
}

template <typename DType, typename ArrowType>
arrow::Result<std::shared_ptr<arrow::Array>> DecodeNumeric(
    std::vector<ChunkTake>& chunks, int16_t max_def, const std::shared_ptr<arrow::DataType>& t,
    int64_t n) {
  arrow::NumericBuilder<ArrowType> b(t, arrow::default_memory_pool());
  ARROW_RETURN_NOT_OK(b.Reserve(n));
  ARROW_RETURN_NOT_OK(DecodeRows<DType>(chunks, max_def, &b, [](auto* out, const auto& v) {
    return out->Append(static_cast<typename ArrowType::c_type>(v));
  }));
  return b.Finish();
}

template <typename Builder>
arrow::Result<std::shared_ptr<arrow::Array>> DecodeBinary(std::vector<ChunkTake>& chunks,
                                                          int16_t max_def,
                                                          const std::shared_ptr<arrow::DataType>& t,
                                                          int64_t n) {
  Builder b(t, arrow::default_memory_pool());
  ARROW_RETURN_NOT_OK(b.Reserve(n));
  ARROW_RETURN_NOT_OK(DecodeRows<parquet::ByteArrayType>(
      chunks, max_def, &b,
      [](auto* out, const auto& v) { return out->Append(v.ptr, static_cast<int64_t>(v.len)); }));
  return b.Finish();
}

arrow::Result<std::shared_ptr<arrow::Array>> DecodeChunks(std::vector<ChunkTake>& chunks,
                                                          int16_t max_def,
                                                          const std::shared_ptr<arrow::DataType>& t,
                                                          int64_t n) {
  switch (t->id()) {
    case arrow::Type::INT8:
      return DecodeNumeric<parquet::Int32Type, arrow::Int8Type>(chunks, max_def, t, n);
    case arrow::Type::INT16:
      return DecodeNumeric<parquet::Int32Type, arrow::Int16Type>(chunks, max_def, t, n);
    case arrow::Type::INT32:
      return DecodeNumeric<parquet::Int32Type, arrow::Int32Type>(chunks, max_def, t, n);
    case arrow::Type::UINT8:
      return DecodeNumeric<parquet::Int32Type, arrow::UInt8Type>(chunks, max_def, t, n);
    case arrow::Type::UINT16:
      return DecodeNumeric<parquet::Int32Type, arrow::UInt16Type>(chunks, max_def, t, n);
    case arrow::Type::UINT32:
      return DecodeNumeric<parquet::Int32Type, arrow::UInt32Type>(chunks, max_def, t, n);
    case arrow::Type::INT64:
      return DecodeNumeric<parquet::Int64Type, arrow::Int64Type>(chunks, max_def, t, n);
    case arrow::Type::UINT64:
      return DecodeNumeric<parquet::Int64Type, arrow::UInt64Type>(chunks, max_def, t, n);
    case arrow::Type::FLOAT:
      return DecodeNumeric<parquet::FloatType, arrow::FloatType>(chunks, max_def, t, n);
    case arrow::Type::DOUBLE:
      return DecodeNumeric<parquet::DoubleType, arrow::DoubleType>(chunks, max_def, t, n);
    case arrow::Type::BOOL: {
      arrow::BooleanBuilder b(t, arrow::default_memory_pool());
      ARROW_RETURN_NOT_OK(b.Reserve(n));
      ARROW_RETURN_NOT_OK(DecodeRows<parquet::BooleanType>(
          chunks, max_def, &b, [](auto* out, bool v) { return out->Append(v); }));
      return b.Finish();
    }
    case arrow::Type::STRING: return DecodeBinary<arrow::StringBuilder>(chunks, max_def, t, n);
    case arrow::Type::BINARY: return DecodeBinary<arrow::BinaryBuilder>(chunks, max_def, t, n);
    case arrow::Type::LARGE_STRING:
      return DecodeBinary<arrow::LargeStringBuilder>(chunks, max_def, t, n);
    case arrow::Type::LARGE_BINARY:
      return DecodeBinary<arrow::LargeBinaryBuilder>(chunks, max_def, t, n);
    case arrow::Type::FIXED_SIZE_BINARY: {
      arrow::FixedSizeBinaryBuilder b(t, arrow::default_memory_pool());
      ARROW_RETURN_NOT_OK(b.Reserve(n));
      ARROW_RETURN_NOT_OK(DecodeRows<parquet::FLBAType>(
          chunks, max_def, &b, [](auto* out, const auto& v) { return out->Append(v.ptr); }));
      return b.Finish();
    }
    default: return arrow::Status::NotImplemented("no flat take for ", t->ToString());
  }
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Array>> AilakeFileReader::Impl::TakeFixedWidthInPlace(
    int field, std::span<const int64_t> rows, const std::vector<int64_t>& rg_first_row) const {
  const auto& sf = arrow_reader->manifest().schema_fields[field];
  const int leaf = sf.column_index;
  if (leaf < 0 || !sf.children.empty()) return arrow::Status::NotImplemented("not a leaf");
  const auto* descr = metadata->schema()->Column(leaf);
  const auto& type = schema->field(field)->type();
  if (descr->physical_type() != parquet::Type::FIXED_LEN_BYTE_ARRAY ||
      descr->max_definition_level() != 0 || descr->max_repetition_level() != 0 ||
      type->id() != arrow::Type::FIXED_SIZE_BINARY ||
      static_cast<const arrow::FixedSizeBinaryType&>(*type).byte_width() != descr->type_length() ||
      descr->type_length() <= 0) {
    return arrow::Status::NotImplemented("not a required fixed_size_binary leaf");
  }
  const int64_t width = descr->type_length();

  // Per row group, on first use: the chunk's extent and offset index, after
  // checking it is plain and uncompressed.
  struct Chunk {
    bool ready = false;
    int64_t start = 0, end = 0;
    std::shared_ptr<parquet::OffsetIndex> offsets;
  };
  std::vector<Chunk> chunks(rg_first_row.size() - 1);
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> out,
                        arrow::AllocateBuffer(static_cast<int64_t>(rows.size()) * width));
  uint8_t* dst = out->mutable_data();
  for (const int64_t row : rows) {
    const int rg = RowGroupOf(rg_first_row, row);
    auto& c = chunks[rg];
    if (!c.ready) {
      std::unique_ptr<parquet::ColumnChunkMetaData> cc;
      ARROW_RETURN_NOT_OK(ParquetCall("reading column chunk metadata", [&]() {
        cc = metadata->RowGroup(rg)->ColumnChunk(leaf);
        return arrow::Status::OK();
      }));
      if (cc->compression() != arrow::Compression::UNCOMPRESSED || cc->has_dictionary_page()) {
        return arrow::Status::NotImplemented("column chunk compressed or dictionary-encoded");
      }
      ARROW_ASSIGN_OR_RAISE(c.offsets, OffsetIndexOf(rg, leaf));
      if (!c.offsets) return arrow::Status::NotImplemented("no offset index");
      c.start = cc->data_page_offset();  // Open() checked the chunk lies before the footer
      c.end = c.start + cc->total_compressed_size();
      c.ready = true;
    }
    const int64_t rg_rows = rg_first_row[rg + 1] - rg_first_row[rg];
    const int64_t r = row - rg_first_row[rg];
    const auto& pages = c.offsets->page_locations();
    ARROW_ASSIGN_OR_RAISE(const PageOfRow at, FindPage(pages, rg_rows, r, rg, leaf));
    const auto& loc = pages[at.page];
    if (loc.offset < c.start || loc.compressed_page_size < 0 ||
        loc.compressed_page_size > c.end - loc.offset) {
      return arrow::Status::Invalid(
          "row group ", rg, " column ", leaf, " page ", at.page, ": offset index entry (offset ",
          loc.offset, ", ", loc.compressed_page_size, " bytes) lies outside its column chunk");
    }
    ARROW_ASSIGN_OR_RAISE(
        auto head, page_file->ReadAt(
                       loc.offset, std::min<int64_t>(loc.compressed_page_size, kHeaderPeekBytes)));
    auto parsed = file_internal::ParsePageHeader({head->data(), static_cast<size_t>(head->size())});
    if (!parsed.ok() && head->size() < loc.compressed_page_size) {
      // A long header (statistics): parse it from the whole page.
      ARROW_ASSIGN_OR_RAISE(head, page_file->ReadAt(loc.offset, loc.compressed_page_size));
      parsed = file_internal::ParsePageHeader({head->data(), static_cast<size_t>(head->size())});
    }
    if (!parsed.ok()) {
      return parsed.status().WithMessage("data page header at file offset ", loc.offset, ": ",
                                         parsed.status().message());
    }
    const auto& h = *parsed;
    const int64_t n = at.end - at.first;
    const bool v1 = h.type == 0, v2 = h.type == 3;
    if (!(v1 || v2) || h.encoding != 0 || h.num_values != n ||
        h.compressed_page_size != h.uncompressed_page_size || h.compressed_page_size != n * width ||
        static_cast<int64_t>(h.header_bytes) + h.compressed_page_size != loc.compressed_page_size ||
        (v2 &&
         (h.def_levels_byte_length != 0 || h.rep_levels_byte_length != 0 || h.num_nulls != 0))) {
      return arrow::Status::NotImplemented("page ", at.page, " of row group ", rg,
                                           " is not a plain uncompressed page of ", n, " rows");
    }
    const int64_t value_at = loc.offset + h.header_bytes + (r - at.first) * width;
    ARROW_ASSIGN_OR_RAISE(const int64_t got, page_file->ReadAt(value_at, width, dst));
    if (got != width) return arrow::Status::IOError("short read at file offset ", value_at);
    dst += width;
  }
  return std::make_shared<arrow::FixedSizeBinaryArray>(type, static_cast<int64_t>(rows.size()),
                                                       std::move(out));
}

arrow::Result<std::shared_ptr<arrow::Array>> AilakeFileReader::Impl::TakeFlat(
    int field, std::span<const int64_t> sorted, const std::vector<int64_t>& rg_first_row) const {
  const auto& sf = arrow_reader->manifest().schema_fields[field];
  const int leaf = sf.column_index;
  if (leaf < 0 || !sf.children.empty()) return arrow::Status::NotImplemented("not a leaf");
  const auto* descr = metadata->schema()->Column(leaf);
  const auto& type = schema->field(field)->type();
  if (!FlatPathHandles(*type, *descr)) {
    return arrow::Status::NotImplemented("no flat take for ", type->ToString());
  }
  std::vector<ChunkTake> chunks;
  for (size_t i = 0; i < sorted.size();) {
    const int rg = RowGroupOf(rg_first_row, sorted[i]);
    size_t j = i;
    while (j < sorted.size() && sorted[j] < rg_first_row[rg + 1]) ++j;
    ARROW_ASSIGN_OR_RAISE(auto offsets, OffsetIndexOf(rg, leaf));
    if (!offsets) return arrow::Status::NotImplemented("no offset index");
    const int64_t rg_rows = rg_first_row[rg + 1] - rg_first_row[rg];
    const auto& pages = offsets->page_locations();
    // The kept pages, and each wanted row's position in the rows they hold.
    std::vector<size_t> kept;
    int64_t kept_end = 0;   // rg-relative end row of the last kept page
    int64_t kept_rows = 0;  // rows the kept pages hold
    ChunkTake take;
    for (size_t k = i; k < j; ++k) {
      const int64_t r = sorted[k] - rg_first_row[rg];
      if (kept.empty() || r >= kept_end) {
        ARROW_ASSIGN_OR_RAISE(const PageOfRow at, FindPage(pages, rg_rows, r, rg, leaf));
        if (!kept.empty() && (at.page <= kept.back() || at.first < kept_end)) {
          return arrow::Status::Invalid("row group ", rg, " column ", leaf,
                                        ": offset index pages out of row order");
        }
        kept.push_back(at.page);
        kept_end = at.end;
        kept_rows += at.end - at.first;
      }
      take.positions.push_back(kept_rows - (kept_end - r));
    }
    ARROW_ASSIGN_OR_RAISE(auto ranges, PageByteRanges(rg, leaf, *offsets, kept));
    ARROW_RETURN_NOT_OK(ParquetCall("opening the kept pages", [&]() {
      auto cc = metadata->RowGroup(rg)->ColumnChunk(leaf);
      auto stream = std::make_shared<PageRangesStream>(page_file, std::move(ranges));
      auto pager = parquet::PageReader::Open(std::move(stream), cc->num_values(), cc->compression(),
                                             VerifyingReaderProperties());
      take.reader = parquet::ColumnReader::Make(descr, std::move(pager));
      return arrow::Status::OK();
    }));
    chunks.push_back(std::move(take));
    i = j;
  }
  std::shared_ptr<arrow::Array> out;
  ARROW_RETURN_NOT_OK(ParquetCall("decoding the kept pages", [&]() {
    return DecodeChunks(chunks, descr->max_definition_level(), type,
                        static_cast<int64_t>(sorted.size()))
        .Value(&out);
  }));
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> AilakeFileReader::Take(
    std::span<const int64_t> rows, const std::vector<std::string>& columns) const {
  ARROW_ASSIGN_OR_RAISE(auto fields, impl_->ResolveFields(columns));
  const int64_t n = num_rows();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= n) {
      return arrow::Status::IndexError("row ", rows[i], " (position ", i,
                                       ") is outside the file's ", n, " rows");
    }
  }
  std::vector<std::shared_ptr<arrow::Field>> out_fields;
  out_fields.reserve(fields.size());
  for (int f : fields) out_fields.push_back(impl_->schema->field(f));
  auto out_schema = arrow::schema(out_fields, impl_->schema->metadata());
  std::vector<std::shared_ptr<arrow::ChunkedArray>> out(fields.size());
  if (rows.empty()) {
    for (size_t i = 0; i < fields.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeEmptyArray(out_fields[i]->type()));
      out[i] = std::make_shared<arrow::ChunkedArray>(a);
    }
    return arrow::Table::Make(out_schema, out, 0);
  }
  if (impl_->lance) return impl_->LanceTake(fields, rows);

  const auto& md = *impl_->metadata;
  std::vector<int64_t> rg_first_row(1, 0);
  ARROW_RETURN_NOT_OK(ParquetCall("reading row group metadata", [&]() {
    for (int rg = 0; rg < md.num_row_groups(); ++rg) {
      rg_first_row.push_back(rg_first_row.back() + md.RowGroup(rg)->num_rows());
    }
    return arrow::Status::OK();
  }));
  // The distinct rows ascending, and where each asked row sits among them.
  std::vector<int64_t> sorted(rows.begin(), rows.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const bool in_order =
      sorted.size() == rows.size() && std::equal(sorted.begin(), sorted.end(), rows.begin());
  std::shared_ptr<arrow::Array> gather;
  if (!in_order) {
    arrow::Int64Builder b;
    ARROW_RETURN_NOT_OK(b.Reserve(static_cast<int64_t>(rows.size())));
    for (const int64_t r : rows) {
      b.UnsafeAppend(std::lower_bound(sorted.begin(), sorted.end(), r) - sorted.begin());
    }
    ARROW_ASSIGN_OR_RAISE(gather, b.Finish());
  }

  // The fast paths, one field per task on up to all cores (a field's pages
  // are independent of the others'); NotImplemented leaves the field to the
  // general path.
  std::vector<arrow::Status> status(fields.size());
  vec::ParallelFor(fields.size(), 0, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t i = b; i < e; ++i) {
      status[i] = [&]() -> arrow::Status {
        auto direct = impl_->TakeFixedWidthInPlace(fields[i], rows, rg_first_row);
        if (direct.ok()) {
          out[i] = std::make_shared<arrow::ChunkedArray>(std::move(*direct));
          return arrow::Status::OK();
        }
        if (!direct.status().IsNotImplemented()) return direct.status();
        ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> a,
                              impl_->TakeFlat(fields[i], sorted, rg_first_row));
        if (gather) {
          ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(a, gather));
          a = taken.make_array();
        }
        out[i] = std::make_shared<arrow::ChunkedArray>(std::move(a));
        return arrow::Status::OK();
      }();
    }
  });
  std::vector<int> general;  // fields for ReadIntervals
  std::vector<size_t> general_at;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (status[i].ok()) continue;
    if (!status[i].IsNotImplemented()) return status[i];
    general.push_back(fields[i]);
    general_at.push_back(i);
  }
  if (!general.empty()) {
    Intervals want;
    for (const int64_t r : sorted) {
      if (!want.empty() && want.back().second == r) {
        ++want.back().second;
      } else {
        want.emplace_back(r, r + 1);
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto t, impl_->ReadIntervals(general, want, rows));
    for (size_t k = 0; k < general.size(); ++k) out[general_at[k]] = t->column(static_cast<int>(k));
  }
  return arrow::Table::Make(out_schema, out, static_cast<int64_t>(rows.size()));
}

}  // namespace ailake
