#include "ailake/table/text_columns.h"

#include <algorithm>

#include "ailake/index/text_index.h"
#include "ailake/table.h"
#include "ailake/table/data_file_writer.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_schema.h"
#include "ailake/text/analyzer.h"

namespace ailake {

namespace table {

namespace {

std::string TopLevelName(const Manifest& m, int32_t field_id) {
  for (const auto& f : m.fields()) {
    if (f.id() == field_id && f.parent_id() == -1) return f.name();
  }
  return "";
}

// The analyzer and positions setting of a text index, checked.
arrow::Result<TextIndexConfig> ConfigOf(const Manifest& m, const TextColumn& tc) {
  TextIndexConfig c;
  c.column = TopLevelName(m, tc.field_id());
  if (c.column.empty()) {
    return arrow::Status::Invalid("manifest of version ", m.version(), ": text index of field ",
                                  tc.field_id(), ", which is not a top-level field");
  }
  auto parsed = TextAnalyzerConfig::Parse(tc.analyzer());
  if (!parsed.ok()) {
    return arrow::Status::Invalid("manifest of version ", m.version(), ": the analyzer of the ",
                                  "text index of column '", c.column,
                                  "': ", parsed.status().message());
  }
  c.analyzer = std::move(*parsed);
  c.with_positions = tc.positions();
  return c;
}

// The section of `values` (the rows of one column) for text index `tc`.
arrow::Result<std::shared_ptr<arrow::Buffer>> BuildSection(const Manifest& m, const TextColumn& tc,
                                                           const arrow::ChunkedArray& values,
                                                           int64_t expected_rows) {
  ARROW_ASSIGN_OR_RAISE(TextIndexConfig config, ConfigOf(m, tc));
  ARROW_ASSIGN_OR_RAISE(auto analyzer, text::Analyzer::Make(config.analyzer));
  index::TextIndexBuilder builder(std::move(analyzer), config.with_positions);
  for (const auto& chunk : values.chunks()) {
    ARROW_RETURN_NOT_OK(index::AddTextRows(*chunk, &builder));
  }
  if (builder.num_rows() != expected_rows) {
    return arrow::Status::Invalid("text column '", config.column, "' has ", builder.num_rows(),
                                  " rows where ", expected_rows, " were expected");
  }
  return builder.Finish();
}

}  // namespace

void ForgetTextField(Manifest* m, int32_t field_id) {
  for (auto& f : *m->mutable_fragments()) {
    for (auto& df : *f.mutable_files()) {
      auto* carried = df.mutable_text_fields();
      carried->erase(std::remove(carried->begin(), carried->end(), field_id), carried->end());
    }
  }
}

arrow::Result<std::vector<TextIndexConfig>> TextIndexesOf(const Manifest& m) {
  std::vector<TextIndexConfig> out;
  for (const auto& tc : m.text_columns()) {
    ARROW_ASSIGN_OR_RAISE(auto c, ConfigOf(m, tc));
    out.push_back(std::move(c));
  }
  return out;
}

const TextColumn* TextColumnOf(const Manifest& m, int32_t field_id) {
  for (const auto& tc : m.text_columns()) {
    if (tc.field_id() == field_id) return &tc;
  }
  return nullptr;
}

std::vector<int32_t> OwedTextFields(const Manifest& m, const DataFile& df) {
  std::vector<int32_t> out;
  for (const auto& tc : m.text_columns()) {
    bool holds = false;
    for (int k = 0; k < df.fields_size(); ++k) {
      holds |= df.fields(k) == tc.field_id() && df.column_indices(k) >= 0;
    }
    const auto& carried = df.text_fields();
    if (holds && std::find(carried.begin(), carried.end(), tc.field_id()) == carried.end()) {
      out.push_back(tc.field_id());
    }
  }
  return out;
}

void KeepCurrentTextFields(const Manifest& written_with, const Manifest& latest, DataFile* df) {
  auto* fields = df->mutable_text_fields();
  fields->erase(std::remove_if(fields->begin(), fields->end(),
                               [&](int32_t id) {
                                 const TextColumn* then = TextColumnOf(written_with, id);
                                 const TextColumn* now = TextColumnOf(latest, id);
                                 return then == nullptr || now == nullptr ||
                                        then->analyzer() != now->analyzer() ||
                                        then->positions() != now->positions();
                               }),
                fields->end());
}

arrow::Result<std::vector<TextSectionBytes>> TextSectionsOfBatch(const Manifest& m,
                                                                 const arrow::RecordBatch& batch,
                                                                 std::vector<int32_t>* fields) {
  std::vector<TextSectionBytes> out;
  for (const auto& tc : m.text_columns()) {
    const std::string name = TopLevelName(m, tc.field_id());
    auto column = batch.GetColumnByName(name);
    if (name.empty() || column == nullptr) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes,
                          BuildSection(m, tc, arrow::ChunkedArray(column), batch.num_rows()));
    out.push_back({name, std::move(bytes)});
    fields->push_back(tc.field_id());
  }
  return out;
}

arrow::Result<std::vector<TextSectionBytes>> TextSectionsOfFile(
    const Manifest& m, const DataFile& df, const AilakeFileReader& file,
    const std::vector<int32_t>& fields) {
  std::vector<TextSectionBytes> out;
  for (int32_t id : fields) {
    const TextColumn* tc = TextColumnOf(m, id);
    if (tc == nullptr) continue;
    // The file keeps the name the column had when it was written.
    std::string name;
    for (int k = 0; k < df.fields_size(); ++k) {
      if (df.fields(k) != id || df.column_indices(k) < 0) continue;
      ARROW_ASSIGN_OR_RAISE(name, file.FieldNameOfColumn(df.column_indices(k)));
    }
    if (name.empty()) continue;
    ReadRequest request;
    request.columns = {name};
    ARROW_ASSIGN_OR_RAISE(auto rows, file.Read(request));
    ARROW_ASSIGN_OR_RAISE(auto bytes, BuildSection(m, *tc, *rows->column(0), file.num_rows()));
    out.push_back({name, std::move(bytes)});
  }
  return out;
}

}  // namespace table

using table::Manifest;

arrow::Result<std::vector<TextIndexConfig>> Table::text_indexes() const {
  return table::TextIndexesOf(*manifest_);
}

arrow::Result<std::shared_ptr<Table>> Table::CreateTextIndex(const TextIndexConfig& config,
                                                             bool build) const {
  ARROW_RETURN_NOT_OK(config.analyzer.Validate());
  auto field = schema_->GetFieldByName(config.column);
  if (field == nullptr) {
    return arrow::Status::KeyError("create_fts_index: table '", uri(), "' has no column '",
                                   config.column, "'");
  }
  if (!index::IsTextType(*field->type())) {
    return arrow::Status::TypeError("create_fts_index: column '", config.column, "' is ",
                                    field->type()->ToString(),
                                    ", not text (a string column or a list of strings)");
  }
  const std::string analyzer = config.analyzer.Serialize();
  auto r = ctx_->manifests.Commit(
      "index", "create_fts_index " + config.column,
      [&](const Manifest* latest) -> arrow::Result<Manifest> {
        Manifest m = *latest;
        m.clear_tag();
        const int32_t id = table::TopLevelFieldId(m, config.column);
        if (id < 0) {
          return arrow::Status::KeyError("table '", uri(), "' has no column '", config.column, "'");
        }
        table::TextColumn* tc = nullptr;
        for (auto& c : *m.mutable_text_columns()) {
          if (c.field_id() == id) tc = &c;
        }
        if (tc == nullptr) {
          tc = m.add_text_columns();
          tc->set_field_id(id);
        }
        tc->set_analyzer(analyzer);
        tc->set_positions(config.with_positions);
        // Every file of the column owes the (new) index.
        table::ForgetTextField(&m, id);
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  ARROW_ASSIGN_OR_RAISE(auto created, FromManifest(ctx_, std::move(r->manifest)));
  if (!build) return created;
  // The files owing this index (one that also owes its vector index gets
  // both in the same rewrite).
  const Manifest& m = *created->manifest_;
  const int32_t id = table::TopLevelFieldId(m, config.column);
  std::vector<std::string> owing;
  for (const auto& f : m.fragments()) {
    for (const auto& df : f.files()) {
      const auto owed = table::OwedTextFields(m, df);
      if (std::find(owed.begin(), owed.end(), id) != owed.end()) owing.push_back(df.path());
    }
  }
  ARROW_RETURN_NOT_OK(created->BuildPendingIndexesOf(owing).status());
  return created->Latest();
}

arrow::Result<std::shared_ptr<Table>> Table::DropTextIndex(std::string_view column) const {
  const std::string name(column);
  auto r = ctx_->manifests.Commit(
      "index", "drop_fts_index " + name, [&](const Manifest* latest) -> arrow::Result<Manifest> {
        Manifest m = *latest;
        m.clear_tag();
        const int32_t id = table::TopLevelFieldId(m, name);
        auto* tcs = m.mutable_text_columns();
        const auto it = std::find_if(tcs->begin(), tcs->end(), [&](const table::TextColumn& c) {
          return c.field_id() == id;
        });
        if (id < 0 || it == tcs->end()) {
          return arrow::Status::KeyError("table '", uri(), "' has no full-text index on column '",
                                         name, "'");
        }
        tcs->erase(it);
        table::ForgetTextField(&m, id);
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  return FromManifest(ctx_, std::move(r->manifest));
}

}  // namespace ailake
