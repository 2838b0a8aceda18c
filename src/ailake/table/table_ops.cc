// The operations that change a table: delete, compact, schema changes and
// pending index builds. Each computes its change from the version it read and
// commits through ManifestStore::Commit, whose operation callback re-checks
// the change against whatever was committed in between (the rebase rule of
// each operation is stated where it is decided).
#include <arrow/array.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <map>
#include <set>

#include "ailake/table.h"
#include "ailake/table/data_file_writer.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/optimize.h"
#include "ailake/table/shared_codebook.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"
#include "ailake/table/text_columns.h"

namespace ailake {

using table::DataFile;
using table::Fragment;
using table::Manifest;

namespace {

// One attempt of Table::Delete, evaluated on `t`'s version.
arrow::Result<DeleteResult> DeleteOnce(const Table& t,
                                       const arrow::compute::Expression& predicate) {
  const auto& ctx = table::TableAccess::context(t);
  const Manifest& read = table::TableAccess::manifest(t);
  // Rows to delete per fragment, evaluated on this version.
  std::map<uint64_t, std::vector<uint32_t>> doomed;
  for (const auto& frag : read.fragments()) {
    ARROW_ASSIGN_OR_RAISE(auto rows, table::MatchingRows(t, frag, predicate));
    ARROW_ASSIGN_OR_RAISE(auto already, ctx->ReadDeletions(frag));
    std::vector<uint32_t> fresh;
    std::set_difference(rows.begin(), rows.end(), already->begin(), already->end(),
                        std::back_inserter(fresh));
    if (!fresh.empty()) doomed[frag.id()] = std::move(fresh);
  }
  int64_t deleted = 0;
  for (const auto& [id, rows] : doomed) deleted += static_cast<int64_t>(rows.size());
  if (doomed.empty()) return DeleteResult{0, std::const_pointer_cast<Table>(t.shared_from_this())};
  auto r = ctx->manifests.Commit(
      "delete", predicate.ToString(), [&](const Manifest* latest) -> arrow::Result<Manifest> {
        // Rebase: deletes of the same or other rows merge (union of deletion
        // sets); a fragment rewritten since (compaction) is a conflict.
        Manifest m = *latest;
        for (auto& frag : *m.mutable_fragments()) {
          auto it = doomed.find(frag.id());
          if (it == doomed.end()) continue;
          const Fragment* mine = table::FragmentById(read, frag.id());
          if (!mine || !table::SameFiles(*mine, frag)) {
            return table::ConflictError("fragment " + std::to_string(frag.id()) +
                                        " was rewritten at version " +
                                        std::to_string(latest->version()));
          }
          ARROW_ASSIGN_OR_RAISE(auto current, ctx->ReadDeletions(frag));
          std::vector<uint32_t> merged = table::MergeDeleted(*current, it->second);
          ARROW_ASSIGN_OR_RAISE(auto bytes,
                                table::SerializeDeletionFile(merged, frag.physical_rows()));
          const std::string path = table::DeletionFilePath(frag.id(), table::NewUuid());
          ARROW_RETURN_NOT_OK(ctx->store->PutIfAbsent(path, *bytes));
          frag.mutable_deletion_file()->set_path(path);
          frag.mutable_deletion_file()->set_num_deleted_rows(merged.size());
        }
        for (const auto& [id, rows] : doomed) {
          if (!table::FragmentById(m, id)) {
            return table::ConflictError("fragment " + std::to_string(id) +
                                        " was removed at version " +
                                        std::to_string(latest->version()));
          }
        }
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  ARROW_ASSIGN_OR_RAISE(auto committed, table::TableAccess::Committed(ctx, std::move(r->manifest)));
  return DeleteResult{deleted, std::move(committed)};
}

}  // namespace

arrow::Result<DeleteResult> Table::Delete(const arrow::compute::Expression& predicate) const {
  // A fragment rewritten meanwhile (a merge by Optimize, perhaps in a
  // writer's background) holds the same rows under new ids: the predicate is
  // evaluated again on the newer version.
  constexpr int kAttempts = 8;
  auto r = DeleteOnce(*this, predicate);
  for (int attempt = 1; attempt < kAttempts && !r.ok() && table::IsConflict(r.status());
       ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto latest, Latest());
    r = DeleteOnce(*latest, predicate);
  }
  return r;
}

arrow::Result<std::shared_ptr<Table>> Table::DropColumns(
    const std::vector<std::string>& names) const {
  auto r = ctx_->manifests.Commit(
      "drop_columns", "", [&](const Manifest* latest) -> arrow::Result<Manifest> {
        Manifest m = *latest;
        ARROW_ASSIGN_OR_RAISE(auto schema, table::DeserializeSchema(m.arrow_schema()));
        std::set<int32_t> dropped;
        for (const auto& name : names) {
          const int32_t id = table::TopLevelFieldId(m, name);
          if (id < 0)
            return arrow::Status::KeyError("table '", uri(), "' has no column '", name, "'");
          // Schema field position of `id` (schema order = top-level id order).
          auto ids = table::TopLevelFieldIds(m);
          const int pos = static_cast<int>(std::find(ids.begin(), ids.end(), id) - ids.begin());
          ARROW_ASSIGN_OR_RAISE(schema, schema->RemoveField(pos));
          for (int32_t sub : table::FieldSubtree(m, id)) dropped.insert(sub);
          Manifest tmp = m;
          tmp.clear_fields();
          for (const auto& f : m.fields()) {
            if (!dropped.count(f.id())) *tmp.add_fields() = f;
          }
          m = std::move(tmp);
        }
        if (schema->num_fields() == 0) {
          return arrow::Status::Invalid("cannot drop every column of a table");
        }
        ARROW_ASSIGN_OR_RAISE(*m.mutable_arrow_schema(), table::SerializeSchema(*schema));
        // Data files keep their bytes; their entries for dropped fields are tombstoned.
        for (auto& frag : *m.mutable_fragments()) {
          for (auto& df : *frag.mutable_files()) {
            for (int i = 0; i < df.fields_size(); ++i) {
              if (dropped.count(df.fields(i))) df.set_fields(i, -2);
            }
            auto* vf = df.mutable_vector_fields();
            vf->erase(std::remove_if(vf->begin(), vf->end(),
                                     [&](int32_t id) { return dropped.count(id) > 0; }),
                      vf->end());
            auto* tf = df.mutable_text_fields();
            tf->erase(std::remove_if(tf->begin(), tf->end(),
                                     [&](int32_t id) { return dropped.count(id) > 0; }),
                      tf->end());
          }
        }
        auto* vcs = m.mutable_vector_columns();
        vcs->erase(std::remove_if(vcs->begin(), vcs->end(),
                                  [&](const table::VectorColumn& vc) {
                                    return dropped.count(vc.field_id()) > 0;
                                  }),
                   vcs->end());
        auto* tcs = m.mutable_text_columns();
        tcs->erase(std::remove_if(tcs->begin(), tcs->end(),
                                  [&](const table::TextColumn& tc) {
                                    return dropped.count(tc.field_id()) > 0;
                                  }),
                   tcs->end());
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  return FromManifest(ctx_, std::move(r->manifest));
}

arrow::Result<std::shared_ptr<Table>> Table::CreateIndex(const VectorStoragePolicy& policy) const {
  ARROW_RETURN_NOT_OK(policy.Validate());
  if (policy.index_type == IndexType::kNone) {
    return arrow::Status::NotImplemented(
        "create_index with index type none (dropping an index) is not supported yet");
  }
  auto r = ctx_->manifests.Commit(
      "index",
      "create_index " + policy.vector_column + " " + std::string(IndexTypeName(policy.index_type)),
      [&](const Manifest* latest) -> arrow::Result<Manifest> {
        Manifest m = *latest;
        m.clear_tag();
        const int32_t id = table::TopLevelFieldId(m, policy.vector_column);
        table::VectorColumn* vc = nullptr;
        for (auto& c : *m.mutable_vector_columns()) {
          if (c.field_id() == id) vc = &c;
        }
        if (id < 0 || vc == nullptr) {
          return arrow::Status::KeyError("table '", uri(), "' has no vector column '",
                                         policy.vector_column, "'");
        }
        ARROW_ASSIGN_OR_RAISE(VectorStoragePolicy have,
                              table::PolicyFromProto(*vc, policy.vector_column));
        // The stored vectors stay as they are: only the index may change.
        if (have.dim != policy.dim || have.metric != policy.metric ||
            have.precision != policy.precision || have.pre_normalize != policy.pre_normalize) {
          return arrow::Status::Invalid(
              "create_index on '", policy.vector_column, "': the column stores dim ", have.dim,
              ", ", MetricName(have.metric), ", ", PrecisionName(have.precision),
              have.pre_normalize ? " (normalized)" : "", "; an index cannot change dim ",
              policy.dim, ", ", MetricName(policy.metric), ", ", PrecisionName(policy.precision),
              policy.pre_normalize ? " (normalized)" : "");
        }
        VectorStoragePolicy next = have;
        next.index_type = policy.index_type;
        next.hnsw = policy.hnsw;
        next.ivf_pq = policy.ivf_pq;
        // A new IVF-PQ index trains its own shared codebook.
        *vc = table::PolicyToProto(next, id);
        // Every file of the column owes the new index; each is rebuilt and
        // swapped in on its own commit (BuildPendingIndexes), searched by
        // exact scan until then.
        for (auto& f : *m.mutable_fragments()) {
          for (auto& df : *f.mutable_files()) {
            if (std::find(df.vector_fields().begin(), df.vector_fields().end(), id) ==
                df.vector_fields().end()) {
              continue;
            }
            df.set_index_state(table::INDEX_STATE_PENDING);
            df.set_pending_index_type(0);
          }
        }
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  return FromManifest(ctx_, std::move(r->manifest));
}

arrow::Result<std::shared_ptr<Table>> Table::DropIndex(std::string_view vector_column) const {
  ARROW_ASSIGN_OR_RAISE(VectorStoragePolicy policy, this->vector_column(vector_column));
  auto r = ctx_->manifests.Commit(
      "index", "drop_index " + policy.vector_column,
      [&](const Manifest* latest) -> arrow::Result<Manifest> {
        Manifest m = *latest;
        m.clear_tag();
        const int32_t id = table::TopLevelFieldId(m, policy.vector_column);
        table::VectorColumn* vc = nullptr;
        for (auto& c : *m.mutable_vector_columns()) {
          if (c.field_id() == id) vc = &c;
        }
        if (id < 0 || vc == nullptr) {
          return arrow::Status::KeyError("table '", uri(), "' has no vector column '",
                                         policy.vector_column, "'");
        }
        ARROW_ASSIGN_OR_RAISE(VectorStoragePolicy next,
                              table::PolicyFromProto(*vc, policy.vector_column));
        if (next.index_type == IndexType::kNone) {
          return arrow::Status::Invalid("vector column '", policy.vector_column,
                                        "' has no index to drop");
        }
        next.index_type = IndexType::kNone;
        *vc = table::PolicyToProto(next, id);
        // The column's other vector columns that still have an index.
        std::vector<int32_t> indexed;
        for (const auto& c : m.vector_columns()) {
          if (c.field_id() != id && c.index_type() != static_cast<uint32_t>(IndexType::kNone)) {
            indexed.push_back(c.field_id());
          }
        }
        // A file of only this column owes no index any more; a file that also
        // holds an indexed column keeps its state (searches of this column
        // skip the index: its policy says none).
        for (auto& f : *m.mutable_fragments()) {
          for (auto& df : *f.mutable_files()) {
            const auto& fields = df.vector_fields();
            if (std::find(fields.begin(), fields.end(), id) == fields.end()) continue;
            const bool other = std::any_of(fields.begin(), fields.end(), [&](int32_t v) {
              return std::find(indexed.begin(), indexed.end(), v) != indexed.end();
            });
            if (!other) {
              df.set_index_state(table::INDEX_STATE_NONE);
              df.set_pending_index_type(0);
            }
          }
        }
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  return FromManifest(ctx_, std::move(r->manifest));
}

arrow::Result<std::shared_ptr<Table>> Table::RenameColumn(const std::string& from,
                                                          const std::string& to) const {
  ColumnAlteration rename;
  rename.path = from;
  rename.rename = to;
  return AlterColumns({&rename, 1});
}

namespace {

// Live rows of `t` holding a null in column `name`.
arrow::Result<int64_t> LiveNulls(const Table& t, const std::string& name) {
  int64_t nulls = 0;
  for (const auto& frag : t.fragments()) {
    ARROW_ASSIGN_OR_RAISE(auto rows, t.ReadFragment(frag.id, {name}));
    nulls += rows->column(0)->null_count();
  }
  return nulls;
}

// One attempt of Table::AlterColumns on `t`'s version.
arrow::Result<std::shared_ptr<Table>> AlterOnce(const Table& t,
                                                std::span<const ColumnAlteration> alterations) {
  // Checked on this version; a commit that finds rows added or rewritten
  // since is a conflict, and the caller checks again on the newer version.
  bool tightens = false;
  bool renames_only = true;
  std::string detail;
  for (const auto& a : alterations) {
    if (!a.rename && !a.nullable) {
      return arrow::Status::Invalid("alter_columns: the change of column '", a.path,
                                    "' changes nothing (give a new name or nullable)");
    }
    if (a.rename && (a.rename->empty() || *a.rename == "_rowid" || *a.rename == "_distance")) {
      return arrow::Status::Invalid("column name '", *a.rename, "' is reserved or empty");
    }
    renames_only &= !a.nullable.has_value();
    detail += (detail.empty() ? "" : ", ") + a.path;
    if (a.rename) detail += " -> " + *a.rename;
    if (a.nullable) detail += *a.nullable ? " nullable" : " not null";
  }
  const Manifest& read = table::TableAccess::manifest(t);
  // Nulls are looked for under the names the columns have before the change.
  {
    std::map<std::string, std::string> current;  // name during the change -> name now
    for (const auto& f : t.schema()->fields()) current[f->name()] = f->name();
    for (const auto& a : alterations) {
      auto it = current.find(a.path);
      if (it == current.end()) continue;  // reported by the commit below
      const std::string original = it->second;
      if (a.nullable && !*a.nullable) {
        for (const auto& p : t.vector_columns()) {
          if (p.vector_column == original) {
            return arrow::Status::Invalid("alter_columns: '", a.path,
                                          "' is a vector column; its nullability is fixed");
          }
        }
        tightens = true;
        ARROW_ASSIGN_OR_RAISE(int64_t nulls, LiveNulls(t, original));
        if (nulls > 0) {
          return arrow::Status::Invalid("alter_columns: column '", a.path, "' holds ", nulls,
                                        " nulls in version ", t.version(),
                                        "; it cannot be made not nullable");
        }
      }
      if (a.rename) {
        current.erase(it);
        current[*a.rename] = original;
      }
    }
  }
  const auto& ctx = table::TableAccess::context(t);
  auto r = ctx->manifests.Commit(
      std::string(TableOperationName(renames_only ? TableOperation::kRename
                                                  : TableOperation::kAlterColumns)),
      detail, [&](const Manifest* latest) -> arrow::Result<Manifest> {
        Manifest m = *latest;
        if (tightens) {
          // Rows written since the check may hold nulls.
          bool same = latest->fragments_size() == read.fragments_size();
          for (const auto& f : latest->fragments()) {
            const Fragment* mine = table::FragmentById(read, f.id());
            same &= mine != nullptr && table::SameFiles(*mine, f);
          }
          if (!same) {
            return table::ConflictError("rows were written at version " +
                                        std::to_string(latest->version()) +
                                        " while columns were checked for nulls");
          }
        }
        ARROW_ASSIGN_OR_RAISE(auto schema, table::DeserializeSchema(m.arrow_schema()));
        const auto ids = table::TopLevelFieldIds(m);
        for (const auto& a : alterations) {
          const int32_t id = table::TopLevelFieldId(m, a.path);
          if (id < 0) {
            return arrow::Status::KeyError("table '", t.uri(), "' has no column '", a.path, "'");
          }
          if (a.rename) {
            if (table::TopLevelFieldId(m, *a.rename) >= 0) {
              return arrow::Status::Invalid("table '", t.uri(), "' already has a column '",
                                            *a.rename, "'");
            }
            for (auto& f : *m.mutable_fields()) {
              if (f.id() == id) f.set_name(*a.rename);
            }
          }
          if (a.nullable) {
            // Schema order is top-level id order.
            const int pos = static_cast<int>(std::find(ids.begin(), ids.end(), id) - ids.begin());
            ARROW_ASSIGN_OR_RAISE(
                schema, schema->SetField(pos, schema->field(pos)->WithNullable(*a.nullable)));
          }
        }
        ARROW_ASSIGN_OR_RAISE(*m.mutable_arrow_schema(), table::SerializeSchema(*schema));
        return m;
      });
  ARROW_RETURN_NOT_OK(r.status());
  return table::TableAccess::Committed(ctx, std::move(r->manifest));
}

}  // namespace

arrow::Result<std::shared_ptr<Table>> Table::AlterColumns(
    std::span<const ColumnAlteration> alterations) const {
  if (alterations.empty()) return arrow::Status::Invalid("alter_columns: no change given");
  constexpr int kAttempts = 8;
  auto r = AlterOnce(*this, alterations);
  for (int attempt = 1; attempt < kAttempts && !r.ok() && table::IsConflict(r.status());
       ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto latest, Latest());
    r = AlterOnce(*latest, alterations);
  }
  return r;
}

arrow::Result<std::shared_ptr<Table>> Table::AddColumns(
    const std::shared_ptr<arrow::Schema>& new_fields, const ColumnFiller& values,
    const std::vector<VectorStoragePolicy>& new_vector_columns,
    const std::vector<std::string>& input_columns) const {
  if (!new_fields || new_fields->num_fields() == 0) {
    return arrow::Status::Invalid("AddColumns needs at least one new field");
  }
  for (const auto& f : new_fields->fields()) {
    if (schema_->GetFieldByName(f->name())) {
      return arrow::Status::Invalid("table '", uri(), "' already has a column '", f->name(), "'");
    }
  }
  // The snapshot the new files are computed from, with the new fields added,
  // so that the data file writer can describe them.
  Manifest next = *manifest_;
  auto ids = table::AssignFieldIds(*new_fields, &next);
  arrow::FieldVector all = schema_->fields();
  for (const auto& f : new_fields->fields()) {
    std::shared_ptr<arrow::Field> g = f;
    for (const auto& p : new_vector_columns) {
      if (p.vector_column == f->name()) g = f->WithType(table::VectorListType(p.dim));
    }
    all.push_back(g);
  }
  ARROW_ASSIGN_OR_RAISE(*next.mutable_arrow_schema(), table::SerializeSchema(*arrow::schema(all)));
  for (const auto& p : new_vector_columns) {
    ARROW_RETURN_NOT_OK(p.Validate());
    const int32_t id = table::TopLevelFieldId(next, p.vector_column);
    if (id < 0) {
      return arrow::Status::Invalid("vector column '", p.vector_column,
                                    "' is not among the new fields");
    }
    *next.add_vector_columns() = table::PolicyToProto(p, id);
  }
  ARROW_ASSIGN_OR_RAISE(auto shadow, Checkout(version()));
  *shadow->manifest_ = next;
  ARROW_ASSIGN_OR_RAISE(shadow->schema_, table::ManifestSchema(next));
  shadow->policies_ = policies_;
  for (const auto& p : new_vector_columns) shadow->policies_.push_back(p);

  std::map<uint64_t, table::WrittenFile> files;
  // A new IVF-PQ column gets one codebook, trained on the first fragment.
  std::vector<table::ColumnCodebook> codebooks;
  for (const auto& frag : manifest_->fragments()) {
    ARROW_ASSIGN_OR_RAISE(auto input,
                          table::ReadFragmentColumns(*this, frag, input_columns, nullptr));
    ARROW_ASSIGN_OR_RAISE(auto batch, values(input));
    if (!batch || batch->num_rows() != static_cast<int64_t>(frag.physical_rows())) {
      return arrow::Status::Invalid("AddColumns: values for fragment ", frag.id(), " have ",
                                    batch ? batch->num_rows() : 0, " rows, expected ",
                                    frag.physical_rows());
    }
    std::vector<VectorColumnBatch> cols;
    cols.reserve(new_vector_columns.size());
    for (const auto& p : new_vector_columns) cols.push_back({p, {}});
    // The file holds only the new columns.
    arrow::FieldVector want;
    for (const auto& f : new_fields->fields()) want.push_back(f);
    if (!batch->schema()->Equals(*arrow::schema(want), false)) {
      // Allow the filler to return the new columns in any order with exact names.
      std::vector<std::shared_ptr<arrow::Array>> arrays;
      for (const auto& f : want) {
        auto col = batch->GetColumnByName(f->name());
        if (!col) return arrow::Status::Invalid("AddColumns: values lack column '", f->name(), "'");
        arrays.push_back(col);
      }
      batch = arrow::RecordBatch::Make(arrow::schema(want), batch->num_rows(), arrays);
    }
    ARROW_ASSIGN_OR_RAISE(auto written,
                          table::WriteDataFile(*shadow, *batch, cols, table::IndexMode::kInline, {},
                                               &codebooks, /*require_all_columns=*/false));
    files[frag.id()] = std::move(written);
  }
  auto r = ctx_->manifests.Commit(
      "add_columns", new_fields->ToString(),
      [&](const Manifest* latest) -> arrow::Result<Manifest> {
        // Rebase only onto the version we read: any fragment added or
        // rewritten since would lack the new columns.
        if (latest->version() != version()) {
          return table::ConflictError("the table changed (version " +
                                      std::to_string(latest->version()) +
                                      ") while columns were being added; retry");
        }
        Manifest m = next;
        for (auto& frag : *m.mutable_fragments()) *frag.add_files() = files[frag.id()].data_file;
        ARROW_RETURN_NOT_OK(table::RecordCodebooks(&m, codebooks, nullptr));
        return m;
      });
  if (!r.ok()) {
    for (auto& [id, w] : files) (void)ctx_->store->Delete(w.data_file.path());
    table::DiscardTrained(*ctx_->store, codebooks);
    return r.status();
  }
  (void)ids;
  return FromManifest(ctx_, std::move(r->manifest));
}

arrow::Result<int> Table::BuildPendingIndexes(const IndexBuildOptions& build,
                                              const ProgressFn& progress) const {
  // Files waiting for their column's shared codebook get one first, if
  // together they hold enough rows to train it.
  ARROW_RETURN_NOT_OK(table::TrainCodebooksFromPendingFiles(*this, build).status());
  std::vector<std::string> pending;
  for (const auto& frag : manifest_->fragments()) {
    for (const auto& df : frag.files()) {
      if (df.index_state() == table::INDEX_STATE_PENDING ||
          !table::OwedTextFields(*manifest_, df).empty()) {
        pending.push_back(df.path());
      }
    }
  }
  const auto total = static_cast<int64_t>(pending.size());
  if (progress) progress(0, total);
  int n = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(bool done, table::IndexPendingFile(*this, pending[i], build));
    n += done ? 1 : 0;
    if (progress) progress(static_cast<int64_t>(i) + 1, total);
  }
  return n;
}

}  // namespace ailake
