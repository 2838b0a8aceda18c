// AilakeFileReader over a file in the Lance format (docs/FORMAT.md 5.5): the
// Lance reader decodes the columns, AILK sections are global buffers found
// through the schema metadata, and a vector column stored flat is read in
// place, one segment per page.
#include <arrow/api.h>

#include "ailake/encoding/page_checksums.h"
#include "ailake/file/reader_impl.h"
#include "ailake/file/section_splice.h"

namespace ailake {

namespace {

// Keys naming byte offsets of this file: section offsets, page checksums.
bool IsOffsetKey(const std::string& key) {
  return key == encoding::kPageChecksumsKey || file_internal::IsSectionKey(key);
}

}  // namespace

arrow::Status AilakeFileReader::Impl::OpenLance() {
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<LanceFileReader> r, LanceFileReader::Open(file));
  lance = std::move(r);
  // The schema readers see has no section offsets: they describe this file's
  // bytes only (a batch read here and written elsewhere must not carry them).
  const auto& full = lance->schema();
  std::shared_ptr<const arrow::KeyValueMetadata> md;
  if (full->metadata()) {
    std::vector<std::string> keys, values;
    for (int64_t i = 0; i < full->metadata()->size(); ++i) {
      if (IsOffsetKey(full->metadata()->key(i))) continue;
      keys.push_back(full->metadata()->key(i));
      values.push_back(full->metadata()->value(i));
    }
    if (!keys.empty()) md = arrow::key_value_metadata(std::move(keys), std::move(values));
  }
  schema = arrow::schema(full->fields(), md);
  const auto columns = lance->field_columns();
  for (int i = 0; i < schema->num_fields(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto v, file_internal::VectorColumnFromField(*schema->field(i), i));
    if (!v) continue;
    v->leaf_index = columns[static_cast<size_t>(i)];
    vectors.push_back(std::move(*v));
  }
  section_bytes.resize(vectors.size());
  return LoadSections(full->metadata().get(), lance->num_rows());
}

arrow::Result<std::shared_ptr<const AilakeFileReader::Impl::Held>>
AilakeFileReader::Impl::LanceVectors(size_t v) const {
  const auto& info = vectors[v];
  auto held = std::make_shared<Held>();
  int32_t row_bytes = 0;
  auto pages = lance->FixedWidthPages(info.name, &row_bytes);
  bool even = pages.ok();
  for (size_t p = 0; even && p + 1 < pages->size(); ++p) {
    even = (*pages)[p].num_rows == (*pages)[0].num_rows;
  }
  if (even) {
    // In place: each page's values are one contiguous range of the file
    // (mapped, or read once into memory).
    std::vector<VectorSegment> segments;
    for (const auto& p : *pages) {
      if (p.num_rows == 0) continue;
      // Checked against the page checksums: searches read these bytes in
      // place, so a flipped bit would otherwise change distances.
      ARROW_ASSIGN_OR_RAISE(auto bytes, lance->ReadFixedWidthPage(info.name, p, row_bytes));
      if (bytes->size() != p.num_rows * row_bytes) {
        return arrow::Status::IOError("short read of vector column '", info.name, "' at ",
                                      p.offset);
      }
      segments.push_back({bytes->data(), static_cast<uint32_t>(p.num_rows)});
      held->keep.push_back(std::move(bytes));
    }
    ARROW_ASSIGN_OR_RAISE(held->view, ViewOfSegments(info, std::move(segments)));
    held->in_place = true;
    return std::shared_ptr<const Held>(std::move(held));
  }
  // Any other layout (pages of uneven rows, another writer's encoding): a copy.
  ARROW_ASSIGN_OR_RAISE(auto t, lance->Read({info.name}));
  return HeldCopyOf(info, *t->column(0));
}

namespace {

std::vector<std::string> NamesOf(const arrow::Schema& schema, const std::vector<int>& fields) {
  std::vector<std::string> names;
  names.reserve(fields.size());
  for (int f : fields) names.push_back(schema.field(f)->name());
  return names;
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> AilakeFileReader::Impl::LanceRead(
    const std::vector<int>& fields, int64_t start, int64_t end) const {
  ARROW_ASSIGN_OR_RAISE(auto t, lance->Read(NamesOf(*schema, fields), start, end - start));
  return t->ReplaceSchemaMetadata(schema->metadata());
}

arrow::Result<std::shared_ptr<arrow::Table>> AilakeFileReader::Impl::LanceTake(
    const std::vector<int>& fields, std::span<const int64_t> rows) const {
  ARROW_ASSIGN_OR_RAISE(auto t, lance->Take(rows, NamesOf(*schema, fields)));
  return t->ReplaceSchemaMetadata(schema->metadata());
}

}  // namespace ailake
