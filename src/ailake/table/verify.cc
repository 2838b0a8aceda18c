// Table::Verify: every manifest, data file and deletion file of a table
// checked, every problem reported.
#include <arrow/api.h>

#include <string>

#include "ailake/index/text_index.h"
#include "ailake/table.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"
#include "ailake/table/text_columns.h"

namespace ailake {
namespace {

using table::DataFile;
using table::Manifest;

// The manifest's top-level fields of a data file against the file's columns:
// each stored field's column exists and has the manifest schema's type
// (vector columns: the file's vector column of the policy's dim).
void CheckFileColumns(const Manifest& m, const arrow::Schema& table_schema,
                      const std::vector<VectorStoragePolicy>& policies, const DataFile& df,
                      const AilakeFileReader& r, std::vector<std::string>* problems) {
  const auto& file_schema = *r.schema();
  if (table::DataFileFormat(df) != r.format()) {
    problems->push_back(df.path() + ": the manifest records a " +
                        std::string(FileFormatName(table::DataFileFormat(df))) + " file (version " +
                        std::to_string(df.file_major_version()) + "." +
                        std::to_string(df.file_minor_version()) + "), the file is " +
                        std::string(FileFormatName(r.format())));
  }
  for (int k = 0; k < df.fields_size(); ++k) {
    const int32_t id = df.fields(k);
    const int32_t col = df.column_indices(k);
    if (id < 0 || col < -1) continue;
    std::string name;
    for (const auto& f : m.fields()) {
      if (f.id() == id && f.parent_id() == -1) name = f.name();
    }
    if (name.empty()) continue;  // a nested child: checked with its parent
    auto found = table::StoredColumnName(df, k, r);
    if (found.ok() && !found->has_value()) continue;  // not stored in this file
    auto stored_name = found.ok() ? arrow::Result<std::string>(**found)
                                  : arrow::Result<std::string>(found.status());
    if (!stored_name.ok()) {
      problems->push_back(df.path() + ": manifest field '" + name + "' names column " +
                          std::to_string(col) + ": " + stored_name.status().message());
      continue;
    }
    const auto& stored = file_schema.GetFieldByName(*stored_name);
    const auto want = table_schema.GetFieldByName(name);
    if (!want) continue;
    const VectorStoragePolicy* policy = nullptr;
    for (const auto& p : policies) {
      if (p.vector_column == name) policy = &p;
    }
    if (policy) {
      bool found = false;
      for (const auto& v : r.vector_columns()) {
        if (v.name == stored->name()) {
          found = true;
          if (v.dim != policy->dim || v.metric != policy->metric) {
            problems->push_back(df.path() + ": vector column '" + stored->name() + "' is dim " +
                                std::to_string(v.dim) + " " + std::string(MetricName(v.metric)) +
                                ", the table's '" + name + "' is dim " +
                                std::to_string(policy->dim) + " " +
                                std::string(MetricName(policy->metric)));
          }
        }
      }
      if (!found) {
        problems->push_back(df.path() + ": column " + std::to_string(col) + " ('" + stored->name() +
                            "') is not a vector column, the manifest stores '" + name + "' there");
      }
    } else if (!stored->type()->Equals(*want->type())) {
      problems->push_back(df.path() + ": column " + std::to_string(col) + " ('" + stored->name() +
                          "') is " + stored->type()->ToString() + ", the manifest's '" + name +
                          "' is " + want->type()->ToString());
    }
  }
}

// The manifest's index state against the file's sections.
void CheckIndexState(const Manifest& m, const DataFile& df, const AilakeFileReader& r,
                     std::vector<std::string>* problems) {
  // The file's name for a field (it may be older than the manifest's), or "".
  auto name_of = [&](int32_t field) {
    std::string name;
    for (int k = 0; k < df.fields_size(); ++k) {
      if (df.fields(k) != field || df.column_indices(k) < 0) continue;
      auto found = r.FieldNameOfColumn(df.column_indices(k));
      if (found.ok()) name = *found;
    }
    return name;
  };
  for (const int32_t vf : df.vector_fields()) {
    const std::string name = name_of(vf);
    if (name.empty()) continue;  // reported by CheckFileColumns
    const VectorColumnInfo* info = nullptr;
    for (const auto& v : r.vector_columns()) {
      if (v.name == name) info = &v;
    }
    if (!info) continue;
    switch (df.index_state()) {
      case table::INDEX_STATE_INDEXED:
        if (!info->has_section) {
          problems->push_back(df.path() + ": the manifest says indexed, column '" + name +
                              "' has no AILK section");
        }
        break;
      case table::INDEX_STATE_PENDING:
      case table::INDEX_STATE_NONE:
        // Owed an index, or none: a file may still carry the index that
        // Table::CreateIndex is replacing or Table::DropIndex dropped; searches
        // scan it exactly, and Optimize rewrites it without one.
        break;
      default:
        problems->push_back(df.path() + ": unknown index state " +
                            std::to_string(df.index_state()));
    }
  }
  // Each text index the manifest says the file carries: a section of the
  // column, built with the analyzer the manifest records (its bytes were
  // checked by VerifyAll).
  for (const int32_t tf : df.text_fields()) {
    const std::string name = name_of(tf);
    const table::TextColumn* tc = table::TextColumnOf(m, tf);
    if (name.empty() || tc == nullptr) {
      problems->push_back(df.path() + ": the manifest says it carries the text index of field " +
                          std::to_string(tf) + ", which " +
                          (name.empty() ? "the file does not hold" : "has no text index"));
      continue;
    }
    auto bytes = r.ReadTextSection(name);
    if (!bytes.ok()) {
      problems->push_back(df.path() + ": the manifest says it carries the text index of column '" +
                          name + "': " + bytes.status().message());
      continue;
    }
    auto loaded = index::TextIndex::Load(std::move(*bytes));
    if (loaded.ok()) {
      auto want = TextAnalyzerConfig::Parse(tc->analyzer());
      if (want.ok() && !((*loaded)->analyzer().config() == *want)) {
        problems->push_back(df.path() + ": the text index of column '" + name +
                            "' was built with another analyzer than the manifest records");
      }
      if ((*loaded)->has_positions() != tc->positions()) {
        problems->push_back(df.path() + ": the text index of column '" + name +
                            "' disagrees with the manifest on storing positions");
      }
    }
  }
}

}  // namespace

arrow::Result<VerifyReport> Table::Verify(
    const std::function<void(int64_t done, int64_t total)>& progress) const {
  VerifyReport report;
  // Every manifest kept: checksum, ids, schema.
  ARROW_ASSIGN_OR_RAISE(auto versions, ctx_->manifests.ListVersions());
  for (uint64_t v : versions) {
    ++report.manifests_checked;
    auto m = ctx_->manifests.Read(v);
    if (!m.ok()) report.problems.push_back(m.status().message());
  }
  const Manifest& m = *manifest_;
  ctx_->codebooks->Register(m);
  int64_t total = 0;
  for (const auto& frag : m.fragments()) total += frag.files_size();
  for (const auto& frag : m.fragments()) {
    for (const auto& df : frag.files()) {
      ++report.files_checked;
      auto r = ctx_->OpenDataFileUncached(df.path(), -1);
      if (!r.ok()) {
        report.problems.push_back(r.status().message());
        if (progress) progress(report.files_checked, total);
        continue;
      }
      const auto& reader = **r;
      for (auto& p : reader.VerifyAll()) report.problems.push_back(df.path() + ": " + p);
      if (df.file_size_bytes() > 0 &&
          static_cast<uint64_t>(reader.file_size()) != df.file_size_bytes()) {
        report.problems.push_back(df.path() + ": " + std::to_string(reader.file_size()) +
                                  " bytes, the manifest says " +
                                  std::to_string(df.file_size_bytes()));
      }
      if (static_cast<uint64_t>(reader.num_rows()) != frag.physical_rows()) {
        report.problems.push_back(df.path() + ": " + std::to_string(reader.num_rows()) +
                                  " rows, fragment " + std::to_string(frag.id()) + " says " +
                                  std::to_string(frag.physical_rows()));
      }
      CheckFileColumns(m, *schema_, policies_, df, reader, &report.problems);
      CheckIndexState(m, df, reader, &report.problems);
      if (progress) progress(report.files_checked, total);
    }
    if (frag.has_deletion_file() && !frag.deletion_file().path().empty()) {
      ++report.deletion_files_checked;
      const std::string& path = frag.deletion_file().path();
      auto bytes = ctx_->store->Read(path);
      if (!bytes.ok()) {
        report.problems.push_back("deletion file '" + path + "': " + bytes.status().message());
        continue;
      }
      auto parsed = table::ParseDeletionFile(**bytes, frag.physical_rows());
      if (!parsed.ok()) {
        report.problems.push_back("deletion file '" + path + "': " + parsed.status().message());
      } else if (parsed->size() != frag.deletion_file().num_deleted_rows()) {
        report.problems.push_back("deletion file '" + path + "' holds " +
                                  std::to_string(parsed->size()) + " rows, the manifest says " +
                                  std::to_string(frag.deletion_file().num_deleted_rows()));
      }
    }
  }
  return report;
}

}  // namespace ailake
