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

namespace {

using file_internal::SectionToWrite;

// The sections of `reader`'s file that a rewrite keeps, byte for byte (a
// section's offsets are relative to its first byte): the AILK sections of
// the vector columns not in `rebuilt`, the text sections of the columns not
// in `rebuilt_text`. *first: the file offset of its first section (of any
// kind; UINT64_MAX if none).
arrow::Status KeptSections(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                           const AilakeFileReader& reader,
                           std::span<const VectorStoragePolicy> rebuilt,
                           std::span<const TextSectionBytes> rebuilt_text,
                           std::vector<SectionToWrite>* kept, uint64_t* first) {
  *first = UINT64_MAX;
  for (const auto& v : reader.vector_columns()) {
    if (!v.has_section) continue;
    if (v.section.format_version != file_internal::kAilkFormatVersion) {
      return arrow::Status::NotImplemented(
          "re-indexing a file whose sections the reference implementation wrote");
    }
    *first = std::min(*first, v.section.offset);
    const bool replaced = std::any_of(rebuilt.begin(), rebuilt.end(),
                                      [&](const auto& p) { return p.vector_column == v.name; });
    if (replaced) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes, file->ReadAt(static_cast<int64_t>(v.section.offset),
                                                   static_cast<int64_t>(v.section.length)));
    kept->push_back({v.name, v.section.kv_key == kFooterOffsetKey, bytes->ToString()});
  }
  for (const auto& t : reader.text_sections()) {
    *first = std::min(*first, t.offset);
    const bool replaced = std::any_of(rebuilt_text.begin(), rebuilt_text.end(),
                                      [&](const auto& n) { return n.column == t.column; });
    if (replaced) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes, reader.ReadTextSection(t.column));
    kept->push_back({t.column, false, bytes->ToString(), /*text=*/true});
  }
  return arrow::Status::OK();
}

// Writes `file` to `sink` with `sections` (every section the new file has):
// the bytes before `first_section` (or before the footer) copied unchanged,
// then the sections and the footer with their keys (`extra`: further keys).
arrow::Status WriteWithSections(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                const AilakeFileReader& reader,
                                const std::vector<SectionToWrite>& sections, uint64_t first_section,
                                const file_internal::KeyValues& extra,
                                arrow::io::OutputStream* sink) {
  if (reader.format() == FileFormat::kLance) {
    // The pages keep their offsets; the sections become global buffers.
    ARROW_ASSIGN_OR_RAISE(auto lance, LanceFileReader::Open(file));
    // Every old section key goes; the sections written bring theirs.
    std::vector<std::string> stale;
    const auto& md = lance->schema()->metadata();
    for (int64_t i = 0; md && i < md->size(); ++i) {
      if (file_internal::IsSectionKey(md->key(i))) stale.push_back(md->key(i));
    }
    return lance->CopyWithGlobalBuffers(file_internal::LanceSections(sections), stale, sink);
  }
  ARROW_ASSIGN_OR_RAISE(const int64_t size, file->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto tail, file->ReadAt(size - 8, 8));
  uint32_t flen;
  std::memcpy(&flen, tail->data(), 4);
  const int64_t footer_start = size - 8 - flen;  // checked by Open()
  // Everything before the footer, or before the first old section.
  const int64_t copy_end = first_section == UINT64_MAX
                               ? footer_start
                               : std::min(footer_start, static_cast<int64_t>(first_section));
  constexpr int64_t kChunk = 8 << 20;
  for (int64_t pos = 0; pos < copy_end; pos += kChunk) {
    ARROW_ASSIGN_OR_RAISE(auto piece, file->ReadAt(pos, std::min(kChunk, copy_end - pos)));
    ARROW_RETURN_NOT_OK(sink->Write(piece));
  }
  ARROW_ASSIGN_OR_RAISE(auto footer, file->ReadAt(footer_start, flen));
  return file_internal::WriteSectionsAndFooter(
      sink, copy_end, {footer->data(), static_cast<size_t>(footer->size())}, sections, extra);
}

std::vector<SectionToWrite> TextSections(std::span<const TextSectionBytes> text) {
  std::vector<SectionToWrite> out;
  for (const auto& t : text) out.push_back({t.column, false, t.bytes->ToString(), /*text=*/true});
  return out;
}

arrow::Status CheckTextSections(const AilakeFileReader& reader,
                                std::span<const TextSectionBytes> text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (reader.schema()->GetFieldIndex(text[i].column) < 0) {
      return arrow::Status::KeyError("text index for column '", text[i].column,
                                     "', which the file does not have");
    }
    for (size_t j = 0; j < i; ++j) {
      if (text[j].column == text[i].column) {
        return arrow::Status::Invalid("two text indexes given for column '", text[i].column, "'");
      }
    }
    if (text[i].bytes == nullptr) {
      return arrow::Status::Invalid("text index for column '", text[i].column, "' has no bytes");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Status AppendTextSections(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                 std::span<const TextSectionBytes> sections,
                                 arrow::io::OutputStream* sink) {
  if (sections.empty()) return arrow::Status::Invalid("no text index section to add");
  ARROW_ASSIGN_OR_RAISE(auto reader, AilakeFileReader::Open(file));
  ARROW_RETURN_NOT_OK(CheckTextSections(*reader, sections));
  std::vector<SectionToWrite> kept;
  uint64_t first = UINT64_MAX;
  ARROW_RETURN_NOT_OK(KeptSections(file, *reader, {}, sections, &kept, &first));
  std::vector<SectionToWrite> all = std::move(kept);
  for (auto& t : TextSections(sections)) all.push_back(std::move(t));
  return WriteWithSections(file, *reader, all, first, {}, sink);
}

arrow::Status AppendIndexSections(const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
                                  std::span<const VectorStoragePolicy> columns,
                                  arrow::io::OutputStream* sink, const IndexBuildOptions& build,
                                  bool replace_existing) {
  return AppendIndexSections(parquet_only, columns, {}, sink, build, replace_existing);
}

arrow::Status AppendIndexSections(const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
                                  std::span<const VectorStoragePolicy> columns,
                                  std::span<const TextSectionBytes> text,
                                  arrow::io::OutputStream* sink, const IndexBuildOptions& build,
                                  bool replace_existing) {
  if (columns.empty()) return arrow::Status::Invalid("no vector column to index");
  ARROW_ASSIGN_OR_RAISE(auto reader, AilakeFileReader::Open(parquet_only));
  if (reader->IsAilakeFile() && !replace_existing) {
    return arrow::Status::Invalid(
        "the file already has AILK sections; index later needs a "
        "WriteParquetOnly file (replace_existing re-indexes)");
  }
  ARROW_RETURN_NOT_OK(CheckTextSections(*reader, text));
  // Re-indexing: the sections of the columns not given are kept as they are,
  // and the new ones replace the others; the data before the first old
  // section is copied.
  std::vector<SectionToWrite> kept;
  uint64_t first_section = UINT64_MAX;
  ARROW_RETURN_NOT_OK(KeptSections(parquet_only, *reader, columns, text, &kept, &first_section));
  const bool any_kept_ailk =
      std::any_of(kept.begin(), kept.end(), [](const auto& k) { return !k.text; });
  std::vector<SectionToWrite> sections;
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
    sections.push_back({p.vector_column, !any_kept_ailk && i == 0, std::move(bytes)});
  }
  // The primary column stays the one the file had, whichever is rebuilt.
  bool has_primary = false;
  for (const auto& k : kept) has_primary |= k.primary;
  if (any_kept_ailk && !has_primary && !sections.empty()) sections[0].primary = true;
  for (auto& k : kept) sections.push_back(std::move(k));
  for (auto& t : TextSections(text)) sections.push_back(std::move(t));

  if (reader->format() == FileFormat::kLance && declared) {
    return arrow::Status::NotImplemented(
        "declaring vector columns of a Lance-format file another engine wrote");
  }
  file_internal::KeyValues extra;
  if (declared) {
    ARROW_ASSIGN_OR_RAISE(auto ipc, arrow::ipc::SerializeSchema(*described));
    extra.emplace_back("ARROW:schema", arrow::util::base64_encode(ipc->ToString()));
  }
  return WriteWithSections(parquet_only, *reader, sections, first_section, extra, sink);
}

}  // namespace ailake
