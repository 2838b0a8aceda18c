// AilakeFileReader: open, footer and AILK sections, centroid, index, search,
// verify. Every offset read from the file is checked against the file size
// before use; errors name the file position or column at fault.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/schema.h>
#include <parquet/exception.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <queue>

#include "ailake/core/large_buffer.h"
#include "ailake/file.h"
#include "ailake/file/ailk_section.h"
#include "ailake/file/filter_eval.h"
#include "ailake/file/reader_impl.h"
#include "ailake/file/reference_section.h"
#include "ailake/index/text_index.h"
#include "ailake/io/object_store.h"
#include "ailake/storage.h"
#include "ailake/vec/centroid.h"
#include "ailake/vec/codec.h"

namespace ailake {
namespace {

using file_internal::AilkSectionHeader;

arrow::Result<uint64_t> ParseOffset(const std::string& key, const std::string& value) {
  uint64_t v = 0;
  const auto* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, v);
  if (value.empty() || ec != std::errc() || p != end) {
    return arrow::Status::Invalid("footer key '", key, "': value '", value,
                                  "' is not a decimal file offset");
  }
  return v;
}

std::string_view MetaValue(const arrow::KeyValueMetadata* m, std::string_view key) {
  if (m == nullptr) return {};
  const int i = m->FindKey(std::string(key));
  return i < 0 ? std::string_view{} : std::string_view(m->value(i));
}

}  // namespace

namespace file_internal {

arrow::Result<std::optional<VectorColumnInfo>> VectorColumnFromField(const arrow::Field& f,
                                                                     int index) {
  const auto* m = f.metadata().get();
  const auto dim_s = MetaValue(m, kFieldDimKey);
  if (dim_s.empty()) return std::nullopt;
  VectorColumnInfo info;
  info.name = f.name();
  info.field_index = index;
  uint32_t dim = 0;
  auto [p, ec] = std::from_chars(dim_s.data(), dim_s.data() + dim_s.size(), dim);
  if (ec != std::errc() || p != dim_s.data() + dim_s.size() || dim == 0 ||
      dim > VectorStoragePolicy::kMaxDim) {
    return arrow::Status::Invalid("vector column '", f.name(), "': field metadata ", kFieldDimKey,
                                  " = '", dim_s, "' is not a valid dimension");
  }
  info.dim = dim;
  const auto metric = MetaValue(m, kFieldMetricKey);
  // "dotproduct" is the reference implementation's spelling.
  ARROW_ASSIGN_OR_RAISE(info.metric, ParseMetric(metric == "dotproduct" ? "dot" : metric));
  ARROW_ASSIGN_OR_RAISE(info.precision, ParsePrecision(MetaValue(m, kFieldPrecisionKey)));
  // Without the key (other writers), normalized_cosine implies unit vectors.
  const auto pre = MetaValue(m, kFieldPreNormalizeKey);
  info.pre_normalize =
      pre == "true" || (pre.empty() && info.metric == DistanceMetric::kNormalizedCosine);
  if (info.precision == Precision::kInt8) {
    const auto sc = MetaValue(m, kFieldInt8ScalingKey);
    if (sc == "per_vector") {
      info.int8.scaling = Int8Scaling::kPerVector;
    } else if (sc == "fixed") {
      info.int8.scaling = Int8Scaling::kFixed;
      info.int8.scale = std::strtof(std::string(MetaValue(m, kFieldInt8ScaleKey)).c_str(), nullptr);
      info.int8.offset =
          std::strtof(std::string(MetaValue(m, kFieldInt8OffsetKey)).c_str(), nullptr);
    } else if (sc.empty()) {
      info.decodable = false;  // codes without a stored scale (reference layout)
    } else {
      return arrow::Status::Invalid("vector column '", f.name(), "': int8 precision with ",
                                    kFieldInt8ScalingKey, " = '", sc,
                                    "' (expected per_vector or fixed)");
    }
  }
  VectorStoragePolicy pol;
  pol.vector_column = info.name;
  pol.dim = info.dim;
  pol.precision = info.precision;
  pol.int8 = info.int8;
  pol.metric = info.metric;
  pol.pre_normalize = info.pre_normalize || info.metric != DistanceMetric::kNormalizedCosine;
  pol.index_type = IndexType::kNone;
  if (!info.decodable) pol.int8.scaling = Int8Scaling::kPerVector;  // validate the rest
  const arrow::Status valid = pol.Validate();
  const int32_t width = info.decodable ? pol.StoredVectorBytes() : static_cast<int32_t>(dim);
  if (!valid.ok()) {
    return arrow::Status::Invalid("vector column '", f.name(),
                                  "': field metadata is invalid: ", valid.message());
  }
  if (f.type()->id() != arrow::Type::FIXED_SIZE_BINARY ||
      static_cast<const arrow::FixedSizeBinaryType&>(*f.type()).byte_width() != width) {
    return arrow::Status::Invalid(
        "vector column '", f.name(), "' is ", f.type()->ToString(), " but its metadata (dim ", dim,
        ", ", PrecisionName(info.precision), ") needs fixed_size_binary[", width, "]");
  }
  return info;
}

}  // namespace file_internal

using file_internal::VectorColumnFromField;

AilakeFileReader::AilakeFileReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AilakeFileReader::~AilakeFileReader() = default;

arrow::Result<std::unique_ptr<AilakeFileReader>> AilakeFileReader::Open(const std::string& path,
                                                                        const FileReadOptions& o) {
  if (path.find("://") != std::string::npos && !path.starts_with("file://")) {
    // A remote object (s3://bucket/key): through the object store, with the
    // settings of the environment (include/ailake/storage.h).
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash + 1 == path.size() || path.find("://") + 2 >= slash) {
      return arrow::Status::Invalid("'", path, "' names no object");
    }
    ARROW_ASSIGN_OR_RAISE(auto store, io::OpenObjectStore(path.substr(0, slash)));
    ARROW_ASSIGN_OR_RAISE(auto file, store->OpenRead(path.substr(slash + 1)));
    auto r = Open(std::move(file));
    if (!r.ok()) return r.status().WithMessage(path, ": ", r.status().message());
    (*r)->SetVectorsOnDemand(true, std::max(kOnDemandMinColumnBytes, ReadCacheCapacity() / 4));
    return r;
  }
  std::string_view local = path;
  if (local.starts_with("file://")) local.remove_prefix(7);
  std::shared_ptr<arrow::io::RandomAccessFile> f;
  if (o.memory_map) {
    ARROW_ASSIGN_OR_RAISE(f, io::MapReadOnly(std::string(local)));
  } else {
    ARROW_ASSIGN_OR_RAISE(f, arrow::io::ReadableFile::Open(std::string(local)));
  }
  auto r = Open(std::move(f));
  if (!r.ok()) return r.status().WithMessage(path, ": ", r.status().message());
  if (o.memory_map) {
    ARROW_ASSIGN_OR_RAISE((*r)->impl_->page_file,
                          arrow::io::ReadableFile::Open(std::string(local)));
  }
  return r;
}

arrow::Result<std::unique_ptr<AilakeFileReader>> AilakeFileReader::Open(
    std::shared_ptr<arrow::Buffer> bytes) {
  if (!bytes) return arrow::Status::Invalid("null buffer");
  return Open(std::make_shared<arrow::io::BufferReader>(std::move(bytes)));
}

arrow::Result<std::unique_ptr<AilakeFileReader>> AilakeFileReader::Open(
    std::shared_ptr<arrow::io::RandomAccessFile> file) {
  auto impl = std::make_unique<Impl>();
  impl->file = std::move(file);
  impl->page_file = impl->file;
  ARROW_ASSIGN_OR_RAISE(impl->size, impl->file->GetSize());
  const int64_t size = impl->size;
  if (size >= 40) {
    ARROW_ASSIGN_OR_RAISE(auto magic, impl->file->ReadAt(size - 4, 4));
    if (magic->size() == 4 && std::memcmp(magic->data(), "LANC", 4) == 0) {
      ARROW_RETURN_NOT_OK(impl->OpenLance());
      return std::unique_ptr<AilakeFileReader>(new AilakeFileReader(std::move(impl)));
    }
  }
  if (size < 12) {
    return arrow::Status::Invalid("file of ", size,
                                  " bytes is too short to be Parquet (needs at least 12)");
  }
  ARROW_ASSIGN_OR_RAISE(auto head, impl->file->ReadAt(0, 4));
  ARROW_ASSIGN_OR_RAISE(auto tail, impl->file->ReadAt(size - 8, 8));
  if (head->size() != 4 || std::memcmp(head->data(), "PAR1", 4) != 0) {
    return arrow::Status::Invalid("wrong magic at offset 0 (expected PAR1): not a Parquet file");
  }
  if (tail->size() != 8 || std::memcmp(tail->data() + 4, "PAR1", 4) != 0) {
    return arrow::Status::Invalid("wrong magic at offset ", size - 4,
                                  " (expected PAR1): truncated or not a Parquet file");
  }
  uint32_t flen;
  std::memcpy(&flen, tail->data(), 4);
  if (static_cast<int64_t>(flen) > size - 12) {
    return arrow::Status::Invalid("footer length ", flen, " at offset ", size - 8,
                                  " points before the start of the file (size ", size, ")");
  }
  impl->footer_start = size - 8 - flen;

  std::unique_ptr<parquet::ParquetFileReader> pq;
  ARROW_RETURN_NOT_OK(ParquetCall("reading the Parquet footer", [&]() {
    pq = parquet::ParquetFileReader::Open(impl->file, VerifyingReaderProperties());
    return arrow::Status::OK();
  }));
  impl->metadata = pq->metadata();
  ARROW_RETURN_NOT_OK(ParquetCall("reading the Arrow schema", [&]() {
    return parquet::arrow::FileReader::Make(arrow::default_memory_pool(), std::move(pq),
                                            &impl->arrow_reader);
  }));
  ARROW_RETURN_NOT_OK(impl->arrow_reader->GetSchema(&impl->schema));
  const auto& md = *impl->metadata;

  // End of the Parquet data: column chunks and page index structures.
  int64_t data_end = 4;
  int64_t rows = 0;
  for (int rg = 0; rg < md.num_row_groups(); ++rg) {
    ARROW_RETURN_NOT_OK(ParquetCall("reading row group metadata", [&]() {
      auto g = md.RowGroup(rg);
      if (g->num_rows() < 0) return arrow::Status::Invalid("row group ", rg, " has negative rows");
      rows += g->num_rows();
      for (int c = 0; c < g->num_columns(); ++c) {
        auto cc = g->ColumnChunk(c);
        int64_t start = cc->data_page_offset();
        if (cc->has_dictionary_page() && cc->dictionary_page_offset() > 0) {
          start = std::min(start, cc->dictionary_page_offset());
        }
        const int64_t len = cc->total_compressed_size();
        if (start < 4 || len < 0 || start > impl->footer_start ||
            len > impl->footer_start - start) {
          return arrow::Status::Invalid("row group ", rg, " column ", c, ": chunk at offset ",
                                        start, " of ", len, " bytes runs past the footer at ",
                                        impl->footer_start);
        }
        data_end = std::max(data_end, start + len);
        for (const auto& loc : {cc->GetColumnIndexLocation(), cc->GetOffsetIndexLocation()}) {
          if (!loc) continue;
          if (loc->offset < 4 || loc->length < 0 || loc->offset > impl->footer_start ||
              loc->length > impl->footer_start - loc->offset) {
            return arrow::Status::Invalid("row group ", rg, " column ", c,
                                          ": page index at offset ", loc->offset,
                                          " runs past the footer");
          }
          data_end = std::max(data_end, loc->offset + loc->length);
        }
      }
      return arrow::Status::OK();
    }));
  }
  if (rows != md.num_rows()) {
    return arrow::Status::Invalid("footer says ", md.num_rows(), " rows but its row groups hold ",
                                  rows);
  }
  impl->data_end = data_end;

  // Vector columns from field metadata.
  const auto& manifest = impl->arrow_reader->manifest();
  for (int i = 0; i < impl->schema->num_fields(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto v, VectorColumnFromField(*impl->schema->field(i), i));
    if (!v) continue;
    v->leaf_index = manifest.schema_fields[i].column_index;
    if (v->leaf_index < 0)
      return arrow::Status::Invalid("vector column '", v->name, "' is not a leaf");
    impl->vectors.push_back(std::move(*v));
  }
  impl->section_bytes.resize(impl->vectors.size());

  ARROW_RETURN_NOT_OK(impl->LoadSections(md.key_value_metadata().get(), md.num_rows()));
  return std::unique_ptr<AilakeFileReader>(new AilakeFileReader(std::move(impl)));
}

arrow::Result<int64_t> AilakeFileReader::Impl::SectionRoom(const std::string& key,
                                                           uint64_t off) const {
  if (lance) {
    // A global buffer of the Lance file (not 0, the schema).
    const auto& g = lance->global_buffers();
    for (size_t i = 1; i < g.size(); ++i) {
      if (g[i].first == off) return static_cast<int64_t>(g[i].second);
    }
    return arrow::Status::Invalid("schema metadata key '", key, "' = ", off,
                                  ": no global buffer of the Lance file starts there");
  }
  if (off < static_cast<uint64_t>(data_end) || off >= static_cast<uint64_t>(footer_start)) {
    return arrow::Status::Invalid(
        "footer key '", key, "' = ", off,
        ": an AILK section must start between the end of the Parquet data (", data_end,
        ") and the footer (", footer_start, ")");
  }
  return footer_start - static_cast<int64_t>(off);
}

arrow::Status AilakeFileReader::Impl::LoadTextSection(
    const std::string& key, const std::string& value, const std::string& column,
    std::vector<std::pair<uint64_t, uint64_t>>* extents) {
  if (schema->GetFieldIndex(column) < 0) {
    return arrow::Status::Invalid("footer key '", key, "' names column '", column,
                                  "', which the file does not have");
  }
  for (const auto& t : text_sections) {
    if (t.column == column) {
      return arrow::Status::Invalid("column '", column, "' has two text index sections");
    }
  }
  ARROW_ASSIGN_OR_RAISE(const uint64_t off, ParseOffset(key, value));
  ARROW_ASSIGN_OR_RAISE(const int64_t avail, SectionRoom(key, off));
  // The blob's magic and its length (docs/FORMAT.md 3.6); the rest is
  // checked when it is loaded.
  constexpr int64_t kPeek = 16;
  ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(static_cast<int64_t>(off), std::min(avail, kPeek)));
  uint32_t magic = 0;
  uint64_t len = 0;
  if (head->size() == kPeek) {
    std::memcpy(&magic, head->data(), 4);
    std::memcpy(&len, head->data() + 8, 8);
  }
  if (magic != index::kTextIndexMagic) {
    return arrow::Status::Invalid("text index section of column '", column, "' at file offset ",
                                  off, ": no AITX header there");
  }
  if (len < index::kTextIndexHeaderBytes || len > static_cast<uint64_t>(avail)) {
    return arrow::Status::Invalid("text index section of column '", column, "' at file offset ",
                                  off, ": length ", len, " does not fit the ", avail,
                                  " bytes before the next structure");
  }
  for (const auto& [o, l] : *extents) {
    if (off < o + l && o < off + len) {
      return arrow::Status::Invalid("sections at file offsets ", o, " (", l, " bytes) and ", off,
                                    " (", len, " bytes) overlap");
    }
  }
  extents->emplace_back(off, len);
  text_sections.push_back({column, off, len});
  return arrow::Status::OK();
}

arrow::Status AilakeFileReader::Impl::LoadSections(const arrow::KeyValueMetadata* kv,
                                                   int64_t num_rows) {
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  // Version-1 (reference) sections do not name their column: the primary one
  // is named by the footer key ailake.vector_column, else the first.
  std::string primary_name = vectors.empty() ? "" : vectors[0].name;
  if (kv && kv->FindKey("ailake.vector_column") >= 0) {
    primary_name = kv->value(kv->FindKey("ailake.vector_column"));
  }
  for (int64_t i = 0; kv && i < kv->size(); ++i) {
    const std::string& key = kv->key(i);
    std::string column;
    if (key == kFooterOffsetKey) {
      column.clear();
    } else if (key.starts_with("ailake.") && key.ends_with(".footer_offset") &&
               key.size() > std::string_view("ailake..footer_offset").size()) {
      column = key.substr(7, key.size() - 7 - std::string_view(".footer_offset").size());
    } else if (key.starts_with("ailake.") && key.ends_with(".text_offset") &&
               key.size() > std::string_view("ailake..text_offset").size()) {
      column = key.substr(7, key.size() - 7 - std::string_view(".text_offset").size());
      ARROW_RETURN_NOT_OK(LoadTextSection(key, kv->value(i), column, &extents));
      continue;
    } else {
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(const uint64_t off, ParseOffset(key, kv->value(i)));
    ARROW_ASSIGN_OR_RAISE(const int64_t avail, SectionRoom(key, off));
    ARROW_ASSIGN_OR_RAISE(auto hdr,
                          file->ReadAt(static_cast<int64_t>(off),
                                       std::min<int64_t>(avail, file_internal::kAilkHeaderBytes)));
    const std::span<const uint8_t> head(hdr->data(), static_cast<size_t>(hdr->size()));
    ARROW_ASSIGN_OR_RAISE(const uint16_t version, file_internal::PeekAilkVersion(head, off));
    const bool reference = version == file_internal::kReferenceFormatVersion;
    ARROW_ASSIGN_OR_RAISE(const uint64_t len,
                          reference ? file_internal::PeekReferenceSectionBytes(head, off)
                                    : file_internal::PeekAilkSectionBytes(head, off));
    if (len > static_cast<uint64_t>(avail)) {
      if (lance) {
        return arrow::Status::Invalid("AILK section at file offset ", off, ": length ", len,
                                      " runs past its Lance global buffer of ", avail, " bytes");
      }
      return arrow::Status::Invalid("AILK section at file offset ", off, ": length ", len,
                                    " runs past the Parquet footer at ", footer_start);
    }
    // The index blob is searched in place, at random: huge-page memory
    // when large (core/large_buffer.h).
    ARROW_ASSIGN_OR_RAISE(auto sec, core::ReadLarge(file.get(), static_cast<int64_t>(off),
                                                    static_cast<int64_t>(len)));
    if (static_cast<uint64_t>(sec->size()) != len) {
      return arrow::Status::IOError("short read of the AILK section at file offset ", off);
    }
    for (const auto& [o, l] : extents) {
      if (off < o + l && o < off + len) {
        return arrow::Status::Invalid("AILK sections at file offsets ", o, " (", l, " bytes) and ",
                                      off, " (", len, " bytes) overlap");
      }
    }
    extents.emplace_back(off, len);
    const std::span<const uint8_t> body(sec->data(), static_cast<size_t>(len));
    ARROW_ASSIGN_OR_RAISE(AilkSectionHeader h,
                          reference ? file_internal::DecodeReferenceSection(body, off)
                                    : file_internal::DecodeAilkHeader(body, off));
    if (reference) h.column = column.empty() ? primary_name : column;
    if (!column.empty() && column != h.column) {
      return arrow::Status::Invalid("footer key '", key, "' points at the section of column '",
                                    h.column, "'");
    }
    auto it = std::find_if(vectors.begin(), vectors.end(),
                           [&](const VectorColumnInfo& v) { return v.name == h.column; });
    if (it == vectors.end() && reference && schema->GetFieldIndex(h.column) < 0) {
      // The reference keeps secondary (and PQ-only) columns' vectors only in
      // their index blob, with no Parquet column: a column known by its section.
      VectorColumnInfo only;
      only.name = h.column;
      only.dim = h.dim;
      only.metric = h.metric;
      only.precision = h.precision;
      only.pre_normalize = h.metric == DistanceMetric::kNormalizedCosine;
      only.decodable = false;
      only.in_parquet = false;
      vectors.push_back(std::move(only));
      section_bytes.emplace_back();
      it = vectors.end() - 1;
    }
    if (it == vectors.end()) {
      return arrow::Status::Invalid("AILK section at file offset ", off, " is for column '",
                                    h.column, "', which is not a vector column of the file");
    }
    if (it->has_section) {
      return arrow::Status::Invalid("column '", h.column, "' has two AILK sections");
    }
    if (h.dim != it->dim || h.precision != it->precision || h.metric != it->metric) {
      return arrow::Status::Invalid(
          "AILK section of column '", h.column, "' (dim ", h.dim, ", ", MetricName(h.metric), ", ",
          PrecisionName(h.precision), ") disagrees with the column's field metadata (dim ", it->dim,
          ", ", MetricName(it->metric), ", ", PrecisionName(it->precision), ")");
    }
    if (h.num_rows != static_cast<uint64_t>(num_rows)) {
      return arrow::Status::Invalid("AILK section of column '", h.column, "' covers ", h.num_rows,
                                    " rows but the file has ", num_rows);
    }
    it->has_section = true;
    auto& s = it->section;
    s.column = h.column;
    s.kv_key = key;
    s.format_version = h.format_version;
    s.offset = off;
    s.length = len;
    s.num_rows = h.num_rows;
    s.dim = h.dim;
    s.metric = h.metric;
    s.precision = h.precision;
    s.int8 = h.int8;
    s.pre_normalize = h.pre_normalize;
    s.index_type = h.index_type;
    s.centroid_offset = off + h.centroid_offset;
    s.index_offset = off + h.index_offset;
    s.index_bytes = h.index_bytes;
    s.has_checksums = h.has_checksums;
    s.index_checksum = h.index_checksum;
    section_bytes[it - vectors.begin()] = std::move(sec);
  }
  return arrow::Status::OK();
}

bool AilakeFileReader::IsAilakeFile() const {
  return std::any_of(impl_->vectors.begin(), impl_->vectors.end(),
                     [](const VectorColumnInfo& v) { return v.has_section; });
}
int64_t AilakeFileReader::num_rows() const {
  return impl_->lance ? impl_->lance->num_rows() : impl_->metadata->num_rows();
}
int AilakeFileReader::num_row_groups() const {
  return impl_->lance ? 0 : impl_->metadata->num_row_groups();
}
FileFormat AilakeFileReader::format() const {
  return impl_->lance ? FileFormat::kLance : FileFormat::kParquet;
}
std::pair<uint32_t, uint32_t> AilakeFileReader::container_version() const {
  if (!impl_->lance) return {1, 0};
  const auto [major, minor] = impl_->lance->version();
  if (major == 0) return {2, 0};  // 2.0 is written as 0.3
  return {major, minor};
}
std::vector<int32_t> AilakeFileReader::field_columns() const {
  if (impl_->lance) return impl_->lance->field_columns();
  std::vector<int32_t> out(static_cast<size_t>(impl_->schema->num_fields()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(i);
  return out;
}
arrow::Result<std::string> AilakeFileReader::FieldNameOfColumn(int32_t column) const {
  const auto columns = field_columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == column) return impl_->schema->field(static_cast<int>(i))->name();
  }
  return arrow::Status::Invalid("the file has no top-level column ", column, " (its ",
                                columns.size(), " fields start at columns ",
                                columns.empty() ? -1 : columns.front(), "..",
                                columns.empty() ? -1 : columns.back(), ")");
}
int64_t AilakeFileReader::file_size() const { return impl_->size; }
std::shared_ptr<arrow::Schema> AilakeFileReader::schema() const { return impl_->schema; }
const std::vector<VectorColumnInfo>& AilakeFileReader::vector_columns() const {
  return impl_->vectors;
}
const std::vector<TextSectionInfo>& AilakeFileReader::text_sections() const {
  return impl_->text_sections;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> AilakeFileReader::ReadTextSection(
    std::string_view column) const {
  for (const auto& t : impl_->text_sections) {
    if (t.column != column) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes, impl_->file->ReadAt(static_cast<int64_t>(t.offset),
                                                          static_cast<int64_t>(t.length)));
    if (static_cast<uint64_t>(bytes->size()) != t.length) {
      return arrow::Status::IOError("short read of the text index section of column '", column,
                                    "' at file offset ", t.offset);
    }
    return bytes;
  }
  return arrow::Status::KeyError("the file has no text index section for column '", column, "'");
}

arrow::Result<size_t> AilakeFileReader::Impl::VectorIndexOf(std::string_view name) const {
  if (vectors.empty()) return arrow::Status::KeyError("the file has no vector column");
  if (name.empty()) {
    // The primary column: the one the ailake.footer_offset key points at, else the first.
    for (size_t i = 0; i < vectors.size(); ++i) {
      if (vectors[i].has_section && vectors[i].section.kv_key == kFooterOffsetKey) return i;
    }
    return 0;
  }
  for (size_t i = 0; i < vectors.size(); ++i) {
    if (vectors[i].name == name) return i;
  }
  return arrow::Status::KeyError("no vector column named '", name, "'");
}

arrow::Result<const VectorColumnInfo*> AilakeFileReader::vector_column(
    std::string_view name) const {
  ARROW_ASSIGN_OR_RAISE(size_t i, impl_->VectorIndexOf(name));
  return &impl_->vectors[i];
}

arrow::Result<Centroid> AilakeFileReader::ReadCentroid(std::string_view column) const {
  ARROW_ASSIGN_OR_RAISE(size_t i, impl_->VectorIndexOf(column));
  const auto& v = impl_->vectors[i];
  if (!v.has_section) {
    return arrow::Status::KeyError("column '", v.name, "' has no AILK section (file not indexed)");
  }
  // Open() validated the section: the centroid and radius lie inside it.
  const auto& sec = impl_->section_bytes[i];
  const uint64_t at = v.section.centroid_offset - v.section.offset;
  Centroid c;
  c.centroid.resize(v.dim);
  std::memcpy(c.centroid.data(), sec->data() + at, 4ull * v.dim);
  std::memcpy(&c.radius, sec->data() + at + 4ull * v.dim, 4);
  return c;
}

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::GetVectors(size_t v) const {
  if (!vectors[v].in_parquet) {
    return arrow::Status::NotImplemented("column '", vectors[v].name,
                                         "' has no Parquet column: its vectors exist only "
                                         "inside its AILK section's index");
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = views.find(vectors[v].name);
    if (it != views.end()) return it->second;
  }
  auto held = lance ? LanceVectors(v) : VectorsInPlace(v);
  if (!held.ok()) {
    if (!held.status().IsNotImplemented()) return held.status();
    held = VectorsByCopy(v);  // not laid out for in-place reads: copy
  }
  ARROW_RETURN_NOT_OK(held.status());
  std::lock_guard<std::mutex> lock(mu);
  views[vectors[v].name] = *held;
  return *held;
}

arrow::Result<VectorView> AilakeFileReader::Vectors(std::string_view column) const {
  ARROW_ASSIGN_OR_RAISE(size_t i, impl_->VectorIndexOf(column));
  ARROW_ASSIGN_OR_RAISE(auto held, impl_->GetVectors(i));
  return held->view;
}

arrow::Result<std::shared_ptr<const VectorIndex>> AilakeFileReader::LoadIndex(
    std::string_view column) const {
  ARROW_ASSIGN_OR_RAISE(size_t i, impl_->VectorIndexOf(column));
  const auto& v = impl_->vectors[i];
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->indexes.find(v.name);
    if (it != impl_->indexes.end()) return it->second;
  }
  if (!v.has_section) {
    return arrow::Status::KeyError("column '", v.name, "' has no AILK section (file not indexed)");
  }
  if (v.section.index_type == IndexType::kNone || v.section.index_bytes == 0) {
    return arrow::Status::KeyError("the AILK section of column '", v.name, "' holds no index");
  }
  const auto& sec = impl_->section_bytes[i];
  if (v.section.format_version == file_internal::kReferenceFormatVersion) {
    std::shared_ptr<const Impl::Held> exact;  // IVF-PQ re-ranks with the column's vectors
    if (v.section.index_type == IndexType::kIvfPq && v.in_parquet && v.decodable) {
      ARROW_ASSIGN_OR_RAISE(exact, impl_->GetVectors(i));
    }
    ARROW_ASSIGN_OR_RAISE(
        std::shared_ptr<const VectorIndex> index,
        file_internal::LoadReferenceIndex(sec, v.section, exact ? &exact->view : nullptr));
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->indexes[v.name] = index;
    return index;
  }
  // IVF-PQ re-ranks a few rows per query: a remote file's rows are then read
  // when needed rather than the whole column first.
  std::shared_ptr<const Impl::Held> held;
  bool on_demand = false;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const auto row_bytes = static_cast<int64_t>(vec::StoredRowBytes(v.precision, v.dim, v.int8));
    on_demand = impl_->vectors_on_demand && row_bytes * num_rows() >= impl_->on_demand_min_bytes;
  }
  if (on_demand && v.section.index_type == IndexType::kIvfPq && v.in_parquet) {
    auto lazy = impl_->VectorsOnDemand(i);
    if (lazy.ok()) {
      held = std::move(*lazy);
    } else if (!lazy.status().IsNotImplemented()) {
      return lazy.status();
    }
  }
  if (!held) {
    ARROW_ASSIGN_OR_RAISE(held, impl_->GetVectors(i));
  }
  auto blob =
      arrow::SliceBuffer(sec, static_cast<int64_t>(v.section.index_offset - v.section.offset),
                         static_cast<int64_t>(v.section.index_bytes));
  ARROW_RETURN_NOT_OK(file_internal::CheckIndexChecksum(
      v.section, {blob->data(), static_cast<size_t>(blob->size())}));
  ARROW_ASSIGN_OR_RAISE(auto codebook, impl_->SharedCodebookOf(v, *blob));
  auto loaded = ailake::LoadIndex(std::move(blob), held->view, std::move(codebook));
  if (!loaded.ok()) {
    return loaded.status().WithMessage("index of column '", v.name, "' at file offset ",
                                       v.section.index_offset, ": ", loaded.status().message());
  }
  std::shared_ptr<const VectorIndex> index = std::move(*loaded);
  if (index->size() != held->view.num_rows() || index->dim() != v.dim ||
      index->metric() != v.metric) {
    return arrow::Status::Invalid("index of column '", v.name, "' (", index->size(), " rows, dim ",
                                  index->dim(), ", ", MetricName(index->metric()),
                                  ") disagrees with the column (", held->view.num_rows(),
                                  " rows, dim ", v.dim, ", ", MetricName(v.metric), ")");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->indexes[v.name] = index;
  return index;
}

arrow::Result<SearchPath> AilakeFileReader::SearchPathOf(std::string_view column) const {
  ARROW_ASSIGN_OR_RAISE(size_t i, impl_->VectorIndexOf(column));
  const auto& v = impl_->vectors[i];
  const bool exact_ok = v.in_parquet && v.decodable;
  if (v.has_section && v.section.index_type != IndexType::kNone && v.section.index_bytes > 0) {
    auto index = LoadIndex(v.name);
    if (index.ok()) {
      const bool adc_only = v.section.format_version == file_internal::kReferenceFormatVersion &&
                            v.section.index_type == IndexType::kIvfPq && !exact_ok;
      return adc_only ? SearchPath::kIndexApproximate : SearchPath::kIndex;
    }
    // A reference blob variant this build does not search: scan when possible.
    const bool reference = v.section.format_version == file_internal::kReferenceFormatVersion;
    if (!reference || !index.status().IsNotImplemented() || !exact_ok) return index.status();
  }
  if (!v.in_parquet) return impl_->GetVectors(i).status();  // says why there is nothing to scan
  return SearchPath::kExactScan;
}

void AilakeFileReader::SetVectorsOnDemand(bool on_demand, int64_t min_column_bytes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->vectors_on_demand = on_demand;
  impl_->on_demand_min_bytes = min_column_bytes;
}

arrow::Status AilakeFileReader::DeclareVectorColumn(const VectorStoragePolicy& policy) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& v : impl_->vectors) {
    if (v.name == policy.vector_column) return arrow::Status::OK();
  }
  if (policy.precision != Precision::kF32) {
    return arrow::Status::NotImplemented("declared vector column '", policy.vector_column,
                                         "': only f32 columns can be declared");
  }
  const int i = impl_->schema->GetFieldIndex(policy.vector_column);
  if (i < 0) {
    return arrow::Status::Invalid("the file has no column '", policy.vector_column,
                                  "' (or more than one)");
  }
  const auto& type = *impl_->schema->field(i)->type();
  const int32_t width = static_cast<int32_t>(4 * policy.dim);
  if (type.id() != arrow::Type::FIXED_SIZE_BINARY ||
      static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width() != width) {
    return arrow::Status::TypeError("column '", policy.vector_column, "' is ", type.ToString(),
                                    "; vectors of dim ", policy.dim, " need fixed_size_binary[",
                                    width, "]");
  }
  VectorColumnInfo info;
  info.name = policy.vector_column;
  info.field_index = i;
  info.leaf_index =
      impl_->lance
          ? impl_->lance->field_columns()[static_cast<size_t>(i)]
          : impl_->arrow_reader->manifest().schema_fields[static_cast<size_t>(i)].column_index;
  if (info.leaf_index < 0) {
    return arrow::Status::Invalid("vector column '", info.name, "' is not a leaf");
  }
  info.dim = policy.dim;
  info.metric = policy.metric;
  info.precision = Precision::kF32;
  info.pre_normalize = policy.metric == DistanceMetric::kNormalizedCosine;
  impl_->vectors.push_back(std::move(info));
  impl_->section_bytes.resize(impl_->vectors.size());
  return arrow::Status::OK();
}

void AilakeFileReader::SetIvfPqCodebookResolver(IvfPqCodebookResolver resolver) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->codebook_resolver = std::move(resolver);
}

void AilakeFileReader::SetIvfPqCodebooks(
    std::vector<std::shared_ptr<const IvfPqCodebook>> codebooks) {
  SetIvfPqCodebookResolver([codebooks = std::move(codebooks)](uint64_t fingerprint)
                               -> arrow::Result<std::shared_ptr<const IvfPqCodebook>> {
    std::string given;
    for (const auto& cb : codebooks) {
      if (cb && cb->fingerprint() == fingerprint) return cb;
      if (cb) given += (given.empty() ? "" : ", ") + FormatFingerprint(cb->fingerprint());
    }
    return arrow::Status::KeyError("none of the codebooks given (", given.empty() ? "none" : given,
                                   ") has that fingerprint");
  });
}

arrow::Result<std::shared_ptr<const IvfPqCodebook>> AilakeFileReader::Impl::SharedCodebookOf(
    const VectorColumnInfo& v, const arrow::Buffer& blob) const {
  auto fingerprint = SharedCodebookFingerprint(blob);
  // A malformed header is reported by LoadIndex itself, with its offsets.
  if (!fingerprint.ok() || !fingerprint->has_value()) {
    return std::shared_ptr<const IvfPqCodebook>{};
  }
  const uint64_t fp = **fingerprint;
  IvfPqCodebookResolver resolver;
  {
    std::lock_guard<std::mutex> lock(mu);
    resolver = codebook_resolver;
  }
  const auto where = [&] {
    return "index of column '" + v.name + "' at file offset " +
           std::to_string(v.section.index_offset) + " was built with the shared IVF-PQ codebook " +
           FormatFingerprint(fp);
  };
  if (!resolver) {
    return arrow::Status::Invalid(where(), "; no codebook was given to the reader ",
                                  "(AilakeFileReader::SetIvfPqCodebooks)");
  }
  auto found = resolver(fp);
  if (!found.ok()) {
    return found.status().WithMessage(where(), ": ", found.status().message());
  }
  if (*found == nullptr || (*found)->fingerprint() != fp) {
    return arrow::Status::Invalid(where(), "; the codebook resolved for it has fingerprint ",
                                  *found ? FormatFingerprint((*found)->fingerprint()) : "(none)");
  }
  return *found;
}

arrow::Result<std::vector<Neighbor>> AilakeFileReader::Search(std::span<const float> query,
                                                              uint32_t k,
                                                              const SearchParams& params,
                                                              const RowFilter* filter,
                                                              std::string_view column) const {
  return SearchColumn(query, k, params, filter, column, /*exact=*/false);
}

arrow::Result<std::vector<Neighbor>> AilakeFileReader::SearchColumn(
    std::span<const float> query, uint32_t k, const SearchParams& params, const RowFilter* filter,
    std::string_view column, bool exact) const {
  ARROW_ASSIGN_OR_RAISE(size_t i, impl_->VectorIndexOf(column));
  const auto& v = impl_->vectors[i];
  if (query.size() != v.dim) {
    return arrow::Status::Invalid("query has ", query.size(), " dimensions, column '", v.name,
                                  "' has ", v.dim);
  }
  ARROW_ASSIGN_OR_RAISE(const SearchPath path, SearchPathOf(v.name));
  if (path != SearchPath::kExactScan && !exact) {
    ARROW_ASSIGN_OR_RAISE(auto index, LoadIndex(v.name));
    return index->Search(query, k, params, filter);
  }
  // No index: exact search over the stored vectors (a FlatIndex borrowing them).
  std::shared_ptr<const VectorIndex> flat;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->indexes.find(std::string(1, '\0') + "flat:" + v.name);
    if (it != impl_->indexes.end()) flat = it->second;
  }
  if (!flat) {
    if (!v.decodable) {
      return arrow::Status::NotImplemented(
          "column '", v.name,
          "' stores int8 codes without their scale (reference layout): its "
          "vectors cannot be decoded for an exact scan");
    }
    ARROW_ASSIGN_OR_RAISE(auto held, impl_->GetVectors(i));
    VectorStoragePolicy p;
    p.vector_column = v.name;
    p.dim = v.dim;
    p.metric = v.metric;
    p.precision = v.precision;
    p.int8 = v.int8;
    p.pre_normalize = v.pre_normalize;
    p.index_type = IndexType::kFlat;
    ARROW_ASSIGN_OR_RAISE(auto built, BuildIndex(p, held->view));
    flat = std::move(built);
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->indexes[std::string(1, '\0') + "flat:" + v.name] = flat;
  }
  return flat->Search(query, k, params, filter);
}

arrow::Result<std::shared_ptr<arrow::Table>> AilakeFileReader::Search(
    std::span<const float> query, const SearchOptions& options) const {
  if (!options.prune || !options.fragment_ids.empty()) {
    return arrow::Status::Invalid(
        "SearchOptions: prune and fragment_ids are for tables; a file search takes k, params, "
        "filter, allowed, vector_column, columns and exact");
  }
  if (options.k == 0) return arrow::Status::Invalid("k must be at least 1");
  ARROW_ASSIGN_OR_RAISE(size_t vi, impl_->VectorIndexOf(options.vector_column));
  const std::string column = impl_->vectors[vi].name;
  // The rows that may be returned: the filter's matches, within `allowed`.
  std::optional<RowBitmap> matched;
  if (options.filter) {
    ARROW_ASSIGN_OR_RAISE(auto used, file_internal::FilterColumns(*options.filter));
    ReadRequest request;
    request.columns = used.empty() ? std::vector<std::string>{schema()->field(0)->name()} : used;
    for (const auto& c : request.columns) {
      if (schema()->GetFieldIndex(c) < 0) {
        return arrow::Status::KeyError("filter: the file has no column '", c, "'");
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto data, Read(request));
    ARROW_ASSIGN_OR_RAISE(auto batch, data->CombineChunksToBatch());
    ARROW_ASSIGN_OR_RAISE(matched, file_internal::MatchingRowBitmap(*options.filter, *batch));
    if (options.allowed != nullptr) matched->And(*options.allowed);
  }
  RowFilter rows;
  if (matched) rows = matched->filter();
  if (!matched && options.allowed != nullptr) rows = *options.allowed;
  const bool filtered = matched.has_value() || options.allowed != nullptr;
  ARROW_ASSIGN_OR_RAISE(auto hits, SearchColumn(query, options.k, options.params,
                                                filtered ? &rows : nullptr, column, options.exact));
  // The returned columns, then "_rowid" and "_distance".
  std::vector<std::string> columns = options.columns;
  if (columns.empty()) {
    for (const auto& f : schema()->fields()) {
      bool is_vector = false;
      for (const auto& v : vector_columns()) is_vector |= v.name == f->name();
      if (!is_vector) columns.push_back(f->name());
    }
  }
  for (const auto& c : columns) {
    if (schema()->GetFieldIndex(c) < 0) {
      return arrow::Status::KeyError("the file has no column '", c, "'");
    }
  }
  std::vector<int64_t> positions;
  arrow::UInt64Builder ids;
  arrow::FloatBuilder distances;
  positions.reserve(hits.size());
  for (const auto& h : hits) {
    positions.push_back(h.row);
    ARROW_RETURN_NOT_OK(ids.Append(h.row));
    ARROW_RETURN_NOT_OK(distances.Append(h.distance));
  }
  std::shared_ptr<arrow::Table> out;
  if (columns.empty()) {
    out = arrow::Table::Make(arrow::schema(arrow::FieldVector{}), arrow::ChunkedArrayVector{},
                             static_cast<int64_t>(hits.size()));
  } else {
    ARROW_ASSIGN_OR_RAISE(out, Take(positions, columns));
  }
  ARROW_ASSIGN_OR_RAISE(auto id_array, ids.Finish());
  ARROW_ASSIGN_OR_RAISE(auto distance_array, distances.Finish());
  ARROW_ASSIGN_OR_RAISE(
      out, out->AddColumn(out->num_columns(), arrow::field("_rowid", arrow::uint64(), false),
                          std::make_shared<arrow::ChunkedArray>(id_array)));
  return out->AddColumn(out->num_columns(), arrow::field("_distance", arrow::float32(), false),
                        std::make_shared<arrow::ChunkedArray>(distance_array));
}

arrow::Status AilakeFileReader::Verify() const {
  const auto problems = VerifyAll();
  if (problems.empty()) return arrow::Status::OK();
  std::string all = problems[0];
  for (size_t i = 1; i < problems.size(); ++i) all += "; " + problems[i];
  return arrow::Status::Invalid(all);
}

std::vector<std::string> AilakeFileReader::VerifyAll() const {
  std::vector<std::string> problems;
  auto note = [&](const arrow::Status& st) {
    if (!st.ok()) problems.push_back(st.message());
    return st.ok();
  };
  const int64_t file_rows = num_rows();
  if (impl_->lance) {
    // Every page of every column, decoded.
    auto t = impl_->lance->Read();
    if (!t.ok()) {
      problems.push_back(t.status().message());
    } else {
      note((*t)->ValidateFull());
    }
  } else {
    // Every data page of every column, decoded, its CRC checked where written.
    const auto& md = *impl_->metadata;
    auto reader = impl_->NewReader(/*use_threads=*/false);
    if (note(reader.status())) {
      for (int g = 0; g < md.num_row_groups(); ++g) {
        std::shared_ptr<arrow::Table> t;
        const auto st =
            ParquetCall("reading a row group", [&]() { return (*reader)->ReadRowGroup(g, &t); });
        if (!st.ok()) problems.push_back("row group " + std::to_string(g) + ": " + st.message());
      }
    }
  }
  for (const auto& t : impl_->text_sections) {
    const std::string where =
        "text index of column '" + t.column + "' at file offset " + std::to_string(t.offset) + ": ";
    auto bytes = ReadTextSection(t.column);
    if (!bytes.ok()) {
      problems.push_back(where + bytes.status().message());
      continue;
    }
    auto loaded = index::TextIndex::Load(std::move(*bytes));
    if (!loaded.ok()) {
      problems.push_back(where + loaded.status().message());
      continue;
    }
    if (static_cast<int64_t>((*loaded)->num_rows()) != file_rows) {
      problems.push_back(where + "covers " + std::to_string((*loaded)->num_rows()) +
                         " rows but the file has " + std::to_string(file_rows));
    }
    const auto st = (*loaded)->Validate();
    if (!st.ok()) problems.push_back(where + st.message());
  }
  for (size_t i = 0; i < impl_->vectors.size(); ++i) {
    const auto& v = impl_->vectors[i];
    const std::string col = "vector column '" + v.name + "': ";
    if (v.has_section && v.section.format_version == file_internal::kReferenceFormatVersion &&
        v.section.index_type != IndexType::kNone && v.section.index_bytes > 0) {
      auto index = LoadIndex(v.name);  // validates the whole blob
      if (!index.ok() && !index.status().IsNotImplemented()) {
        problems.push_back(col + index.status().message());
      }
    }
    if (!v.in_parquet) continue;
    VectorStoragePolicy p;
    p.dim = v.dim;
    p.precision = v.precision;
    p.int8 = v.int8;
    const auto* pcol = impl_->lance ? nullptr : impl_->metadata->schema()->Column(v.leaf_index);
    if (pcol != nullptr && (pcol->physical_type() != parquet::Type::FIXED_LEN_BYTE_ARRAY ||
                            pcol->type_length() != p.StoredVectorBytes())) {
      problems.push_back(col + "stored as " + pcol->ToString() +
                         ", expected FIXED_LEN_BYTE_ARRAY(" +
                         std::to_string(p.StoredVectorBytes()) + ")");
      continue;
    }
    if (!v.decodable) continue;
    auto held = impl_->GetVectors(i);
    if (!note(held.status())) continue;
    const VectorView& view = (*held)->view;
    if (view.num_rows() != static_cast<uint64_t>(file_rows)) {
      problems.push_back(col + "holds " + std::to_string(view.num_rows()) +
                         " vectors but the footer says " + std::to_string(file_rows) + " rows");
      continue;
    }
    if (!v.has_section || v.section.format_version == file_internal::kReferenceFormatVersion) {
      continue;  // version 1: its section was checked on open, its index above
    }
    const auto& sec = impl_->section_bytes[i];
    auto h = file_internal::DecodeAilkHeader({sec->data(), static_cast<size_t>(sec->size())},
                                             v.section.offset);
    if (!note(h.status())) continue;
    if (!impl_->lance &&
        (v.section.offset < static_cast<uint64_t>(impl_->data_end) ||
         v.section.offset + v.section.length > static_cast<uint64_t>(impl_->footer_start))) {
      problems.push_back(col + "AILK section is not between data and footer");
    }
    // Centroid and radius recomputed from the vectors: every row must lie
    // within the recorded radius of the recorded centroid, or pruned search
    // would skip rows.
    auto recorded = ReadCentroid(v.name);
    auto actual = vec::ComputeCentroidRadius(view, v.metric);
    if (note(recorded.status()) && note(actual.status())) {
      const float tol = 1e-4f * std::max(1.0f, actual->radius);
      float worst = 0.0f;
      for (uint32_t d = 0; d < v.dim; ++d) {
        worst = std::max(worst, std::fabs(recorded->centroid[d] - actual->centroid[d]));
      }
      if (worst > tol || std::fabs(recorded->radius - actual->radius) > tol) {
        problems.push_back(col + "recorded centroid/radius (radius " +
                           std::to_string(recorded->radius) +
                           ") differ from the vectors' (radius " + std::to_string(actual->radius) +
                           ", largest centroid difference " + std::to_string(worst) + ")");
      }
    }
    if (h->index_type != IndexType::kNone && h->index_bytes > 0) {
      const uint64_t at = v.section.index_offset - v.section.offset;
      if (!note(file_internal::CheckIndexChecksum(
              v.section, {sec->data() + at, static_cast<size_t>(v.section.index_bytes)}))) {
        continue;
      }
      auto index = LoadIndex(v.name);
      if (!index.ok()) {
        problems.push_back(col + index.status().message());
      } else if ((*index)->size() != h->num_rows) {
        problems.push_back(col + "index holds " + std::to_string((*index)->size()) +
                           " rows, its section header " + std::to_string(h->num_rows));
      }
    }
  }
  return problems;
}

}  // namespace ailake
