// Index later: a WriteParquetOnly file becomes an AI-Lake file without
// decoding or re-encoding any row group. The bytes before the old footer are
// copied as they are (row groups and page index keep their offsets), the
// sections are built from the vectors read in place, and the footer is
// written again with only its key_value_metadata changed (thrift_compact.h).
#include <arrow/api.h>
#include <arrow/ipc/writer.h>
#include <arrow/util/base64.h>

#include <algorithm>
#include <cstring>

#include "ailake/file.h"
#include "ailake/file/ailk_section.h"
#include "ailake/file/section_splice.h"
#include "ailake/file/thrift_compact.h"
#include "ailake/file/writer_internal.h"
#include "ailake/lance.h"

namespace ailake {

arrow::Status AppendIndexSections(const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
                                  std::span<const VectorStoragePolicy> columns,
                                  arrow::io::OutputStream* sink, const IndexBuildOptions& build,
                                  bool replace_existing) {
  if (columns.empty()) return arrow::Status::Invalid("no vector column to index");
  ARROW_ASSIGN_OR_RAISE(auto reader, AilakeFileReader::Open(parquet_only));
  if (reader->IsAilakeFile() && !replace_existing) {
    return arrow::Status::Invalid(
        "the file already has AILK sections; index later needs a "
        "WriteParquetOnly file (replace_existing re-indexes)");
  }
  // Re-indexing: the sections of the columns not given are kept as they are
  // (a section's offsets are relative to its first byte), and the new ones
  // replace the others; the data before the first old section is copied.
  std::vector<file_internal::SectionToWrite> kept;
  uint64_t first_section = UINT64_MAX;
  for (const auto& v : reader->vector_columns()) {
    if (!v.has_section) continue;
    if (v.section.format_version != file_internal::kAilkFormatVersion) {
      return arrow::Status::NotImplemented(
          "re-indexing a file whose sections the reference implementation wrote");
    }
    first_section = std::min(first_section, v.section.offset);
    const bool rebuilt = std::any_of(columns.begin(), columns.end(),
                                     [&](const auto& p) { return p.vector_column == v.name; });
    if (rebuilt) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes, parquet_only->ReadAt(static_cast<int64_t>(v.section.offset),
                                                           static_cast<int64_t>(v.section.length)));
    kept.push_back({v.name, v.section.kv_key == kFooterOffsetKey, bytes->ToString()});
  }
  std::vector<file_internal::SectionToWrite> sections;
  // Columns of another engine's file: declared, and described in the new
  // footer's ARROW:schema.
  std::shared_ptr<arrow::Schema> described = reader->schema();
  bool declared = false;
  for (const auto& p : columns) {
    if (reader->vector_column(p.vector_column).ok()) continue;
    ARROW_RETURN_NOT_OK(reader->DeclareVectorColumn(p));
    declared = true;
    const int i = described->GetFieldIndex(p.vector_column);
    VectorStoragePolicy stored = p;
    stored.pre_normalize = p.metric == DistanceMetric::kNormalizedCosine;
    auto field = described->field(i);
    auto md = field->metadata()
                  ? field->metadata()->Merge(*file_internal::VectorFieldMetadata(stored))
                  : file_internal::VectorFieldMetadata(stored);
    ARROW_ASSIGN_OR_RAISE(described, described->SetField(i, field->WithMetadata(md)));
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    const auto& p = columns[i];
    ARROW_RETURN_NOT_OK(p.Validate());
    ARROW_ASSIGN_OR_RAISE(const VectorColumnInfo* v, reader->vector_column(p.vector_column));
    if (v->dim != p.dim || v->metric != p.metric || v->precision != p.precision ||
        (p.precision == Precision::kInt8 && v->int8.scaling != p.int8.scaling)) {
      return arrow::Status::Invalid("policy for column '", p.vector_column, "' (dim ", p.dim, ", ",
                                    MetricName(p.metric), ", ", PrecisionName(p.precision),
                                    ") does not match the file's column (dim ", v->dim, ", ",
                                    MetricName(v->metric), ", ", PrecisionName(v->precision), ")");
    }
    VectorStoragePolicy stored = p;
    stored.int8 = v->int8;  // the column's own decode rule
    stored.pre_normalize = v->pre_normalize;
    ARROW_ASSIGN_OR_RAISE(VectorView view, reader->Vectors(p.vector_column));
    ARROW_ASSIGN_OR_RAISE(auto bytes, file_internal::BuildSectionFromView(stored, view, build));
    const bool primary = kept.empty() ? i == 0 : false;
    sections.push_back({p.vector_column, primary, std::move(bytes)});
  }
  if (!kept.empty()) {
    // The primary column stays the one the file had, whichever is rebuilt.
    bool has_primary = false;
    for (const auto& k : kept) has_primary |= k.primary;
    if (!has_primary && !sections.empty()) sections[0].primary = true;
    for (auto& k : kept) sections.push_back(std::move(k));
  }

  if (reader->format() == FileFormat::kLance) {
    if (declared) {
      return arrow::Status::NotImplemented(
          "declaring vector columns of a Lance-format file another engine wrote");
    }
    // The pages keep their offsets; the sections become global buffers.
    ARROW_ASSIGN_OR_RAISE(auto lance, LanceFileReader::Open(parquet_only));
    return lance->CopyWithGlobalBuffers(file_internal::LanceSections(sections), {}, sink);
  }
  ARROW_ASSIGN_OR_RAISE(const int64_t size, parquet_only->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto tail, parquet_only->ReadAt(size - 8, 8));
  uint32_t flen;
  std::memcpy(&flen, tail->data(), 4);
  const int64_t footer_start = size - 8 - flen;  // checked by Open()
  // Everything before the footer, or before the first old section.
  const int64_t copy_end = first_section == UINT64_MAX
                               ? footer_start
                               : std::min(footer_start, static_cast<int64_t>(first_section));
  constexpr int64_t kChunk = 8 << 20;
  for (int64_t pos = 0; pos < copy_end; pos += kChunk) {
    ARROW_ASSIGN_OR_RAISE(auto piece, parquet_only->ReadAt(pos, std::min(kChunk, copy_end - pos)));
    ARROW_RETURN_NOT_OK(sink->Write(piece));
  }
  ARROW_ASSIGN_OR_RAISE(auto footer, parquet_only->ReadAt(footer_start, flen));
  file_internal::KeyValues extra;
  if (declared) {
    ARROW_ASSIGN_OR_RAISE(auto ipc, arrow::ipc::SerializeSchema(*described));
    extra.emplace_back("ARROW:schema", arrow::util::base64_encode(ipc->ToString()));
  }
  return file_internal::WriteSectionsAndFooter(
      sink, copy_end, {footer->data(), static_cast<size_t>(footer->size())}, sections, extra);
}

}  // namespace ailake
