// Update and MergeInsert (include/ailake/changes.h): read the rows that
// change, stage their new values as data files, commit the replacement as one
// version, and run again on the newest version after a conflict.
#include "ailake/changes.h"

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "ailake/query.h"
#include "ailake/table/table_context.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;

// Rows per staged data file: the new rows of one change are written as files
// of at most this many rows.
constexpr int64_t kRowsPerStagedFile = int64_t{1} << 20;

// Runs `attempt` on the newest version until it commits; after a conflict
// waits a random time growing with each try (up to 0.2 s) so racing writers
// spread out.
template <typename R, typename Fn>
arrow::Result<R> Retry(const std::shared_ptr<const Table>& table, int max_attempts,
                       const char* what, Fn&& attempt) {
  if (max_attempts < 1) {
    return arrow::Status::Invalid(what, ": max_attempts must be at least 1, got ", max_attempts);
  }
  std::mt19937_64 rng(std::random_device{}());
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<const Table> t, table->Latest());
  for (int i = 0;; ++i) {
    arrow::Result<R> r = attempt(t);
    if (r.ok() || !IsCommitConflict(r.status()) || i + 1 >= max_attempts) return r;
    const double cap_ms =
        std::min(200.0, 1.0 * static_cast<double>(uint64_t{1} << std::min(i, 20)));
    std::uniform_real_distribution<double> wait(0, cap_ms);
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(wait(rng)));
    ARROW_ASSIGN_OR_RAISE(t, t->Latest());
  }
}

arrow::Result<std::shared_ptr<arrow::Array>> CastTo(const std::shared_ptr<arrow::Array>& values,
                                                    const arrow::Field& field,
                                                    const std::string& what) {
  if (values->type()->Equals(*field.type())) return values;
  auto cast = cp::Cast(values, field.type());
  if (!cast.ok()) {
    return arrow::Status::TypeError(what, ": ", values->type()->ToString(),
                                    " does not fit column '", field.name(), "' (",
                                    field.type()->ToString(), "): ", cast.status().message());
  }
  return cast->make_array();
}

// `rows` (without _rowid) written as staged files of this table version.
arrow::Result<std::vector<std::string>> StageRows(const Table& t,
                                                  const std::shared_ptr<arrow::Table>& rows) {
  std::vector<std::string> staged;
  for (int64_t first = 0; first < rows->num_rows(); first += kRowsPerStagedFile) {
    auto part = rows->Slice(first, std::min(kRowsPerStagedFile, rows->num_rows() - first));
    ARROW_ASSIGN_OR_RAISE(auto batch, part->CombineChunksToBatch());
    ARROW_ASSIGN_OR_RAISE(auto s, t.StageWrite(*batch));
    staged.push_back(std::move(s));
  }
  return staged;
}

arrow::Result<std::vector<RowId>> RowIdsOf(const arrow::Table& rows) {
  auto col = rows.GetColumnByName("_rowid");
  if (!col) return arrow::Status::Invalid("scan returned no _rowid");
  std::vector<RowId> ids;
  ids.reserve(static_cast<size_t>(rows.num_rows()));
  for (const auto& chunk : col->chunks()) {
    const auto& a = static_cast<const arrow::UInt64Array&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) ids.push_back(a.Value(i));
  }
  return ids;
}

arrow::Result<UpdateResult> UpdateOnce(const std::shared_ptr<const Table>& t,
                                       const UpdateOptions& options) {
  ScanOptions scan;
  scan.filter = options.where;
  scan.with_row_id = true;
  ARROW_ASSIGN_OR_RAISE(auto rows, Scan(t, scan));
  if (rows->num_rows() == 0)
    return UpdateResult{0, t->version(), std::const_pointer_cast<Table>(t)};
  ARROW_ASSIGN_OR_RAISE(auto ids, RowIdsOf(*rows));
  ARROW_ASSIGN_OR_RAISE(rows, rows->RemoveColumn(rows->schema()->GetFieldIndex("_rowid")));
  ARROW_ASSIGN_OR_RAISE(auto before, rows->CombineChunksToBatch());
  const int64_t n = before->num_rows();
  // Every new value is computed from the rows before the update, then set.
  std::vector<std::pair<int, std::shared_ptr<arrow::Array>>> set;
  const auto& schema = *before->schema();
  if (options.set_values) {
    for (int i = 0; i < options.set_values->num_columns(); ++i) {
      const std::string& name = options.set_values->schema()->field(i)->name();
      const int idx = schema.GetFieldIndex(name);
      ARROW_ASSIGN_OR_RAISE(auto one, CastTo(options.set_values->column(i)->Slice(0, 1),
                                             *schema.field(idx), "update of '" + name + "'"));
      ARROW_ASSIGN_OR_RAISE(auto scalar, one->GetScalar(0));
      ARROW_ASSIGN_OR_RAISE(auto column, arrow::MakeArrayFromScalar(*scalar, n));
      set.emplace_back(idx, std::move(column));
    }
  }
  for (const auto& [name, sql] : options.set_sql) {
    const int idx = schema.GetFieldIndex(name);
    auto values = EvaluateSql(sql, *before);
    if (!values.ok()) {
      return values.status().WithMessage("update of '", name, "' = ", sql, ": ",
                                         values.status().message());
    }
    std::string what = "update of '";
    what += name;
    what += "' = ";
    what += sql;
    ARROW_ASSIGN_OR_RAISE(auto column, CastTo(*values, *schema.field(idx), what));
    set.emplace_back(idx, std::move(column));
  }
  std::vector<std::shared_ptr<arrow::Array>> columns = before->columns();
  for (auto& [idx, column] : set) columns[static_cast<size_t>(idx)] = std::move(column);
  auto after = arrow::Table::Make(before->schema(), columns, n);
  ARROW_ASSIGN_OR_RAISE(auto staged, StageRows(*t, after));
  ARROW_ASSIGN_OR_RAISE(auto committed, t->CommitReplace(ids, staged, TableOperation::kUpdate));
  return UpdateResult{n, committed->version(), committed};
}

// `source` shaped as the table's rows: the table's columns in its order, each
// cast to its type; a nullable column the source lacks is null, a column the
// table lacks is an error.
arrow::Result<std::shared_ptr<arrow::Table>> Conform(const arrow::Schema& schema,
                                                     const std::shared_ptr<arrow::Table>& source) {
  for (const auto& f : source->schema()->fields()) {
    if (schema.GetFieldIndex(f->name()) < 0) {
      return arrow::Status::Invalid(
          "merge_insert: the source has column '", f->name(),
          "', which the table lacks; the table's columns: ", schema.ToString());
    }
  }
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns;
  for (const auto& f : schema.fields()) {
    auto have = source->GetColumnByName(f->name());
    if (!have) {
      if (!f->nullable()) {
        return arrow::Status::Invalid("merge_insert: the source lacks column '", f->name(),
                                      "', which is not nullable");
      }
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(f->type(), source->num_rows()));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(nulls));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto one, arrow::Concatenate(have->chunks()));
    ARROW_ASSIGN_OR_RAISE(auto cast,
                          CastTo(one, *f, "merge_insert source column '" + f->name() + "'"));
    columns.push_back(std::make_shared<arrow::ChunkedArray>(cast));
  }
  return arrow::Table::Make(arrow::schema(schema.fields()), columns, source->num_rows());
}

// The rows of `left` joined to `right` on `keys` (a hash join; nulls never match).
arrow::Result<std::shared_ptr<arrow::Table>> Join(const std::shared_ptr<arrow::Table>& left,
                                                  const std::shared_ptr<arrow::Table>& right,
                                                  const std::vector<std::string>& keys,
                                                  arrow::acero::JoinType type) {
  std::vector<arrow::FieldRef> refs(keys.begin(), keys.end());
  arrow::acero::HashJoinNodeOptions join(type, refs, refs, cp::literal(true), "", "_right");
  arrow::acero::Declaration plan{
      "hashjoin",
      {arrow::acero::Declaration{"table_source", arrow::acero::TableSourceNodeOptions(left)},
       arrow::acero::Declaration{"table_source", arrow::acero::TableSourceNodeOptions(right)}},
      std::move(join)};
  return arrow::acero::DeclarationToTable(std::move(plan), /*use_threads=*/false);
}

arrow::Result<std::vector<int64_t>> Int64Values(const arrow::ChunkedArray& col) {
  std::vector<int64_t> out;
  for (const auto& chunk : col.chunks()) {
    const auto& a = static_cast<const arrow::Int64Array&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) {
      if (a.IsValid(i)) out.push_back(a.Value(i));
    }
  }
  return out;
}

arrow::Result<std::vector<RowId>> ValidRowIds(const arrow::ChunkedArray& col) {
  std::vector<RowId> out;
  for (const auto& chunk : col.chunks()) {
    const auto& a = static_cast<const arrow::UInt64Array&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) {
      if (a.IsValid(i)) out.push_back(a.Value(i));
    }
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> TakeRows(const std::shared_ptr<arrow::Table>& t,
                                                      const std::vector<int64_t>& rows) {
  arrow::Int64Builder b;
  ARROW_RETURN_NOT_OK(b.AppendValues(rows));
  ARROW_ASSIGN_OR_RAISE(auto idx, b.Finish());
  ARROW_ASSIGN_OR_RAISE(auto taken, cp::Take(t, idx));
  return taken.table();
}

arrow::Result<MergeInsertResult> MergeOnce(const std::shared_ptr<const Table>& t,
                                           const std::shared_ptr<arrow::Table>& source,
                                           const MergeInsertOptions& o) {
  ScanOptions scan;
  scan.columns = o.on;
  scan.with_row_id = true;
  ARROW_ASSIGN_OR_RAISE(auto existing, Scan(t, scan));
  std::vector<RowId> doomed;
  std::vector<std::shared_ptr<arrow::Table>> written;
  MergeInsertResult out;
  if (source && source->num_rows() > 0) {
    // Each source row's position, joined to the table rows with its key.
    arrow::Int64Builder pos;
    for (int64_t i = 0; i < source->num_rows(); ++i) ARROW_RETURN_NOT_OK(pos.Append(i));
    ARROW_ASSIGN_OR_RAISE(auto pos_arr, pos.Finish());
    std::vector<std::shared_ptr<arrow::ChunkedArray>> key_cols;
    arrow::FieldVector key_fields;
    for (const auto& k : o.on) {
      key_cols.push_back(source->GetColumnByName(k));
      key_fields.push_back(source->schema()->GetFieldByName(k));
    }
    key_cols.push_back(std::make_shared<arrow::ChunkedArray>(pos_arr));
    key_fields.push_back(arrow::field("__source_row", arrow::int64()));
    auto keys = arrow::Table::Make(arrow::schema(key_fields), key_cols, source->num_rows());
    ARROW_ASSIGN_OR_RAISE(auto matched, Join(keys, existing, o.on, arrow::acero::JoinType::INNER));
    ARROW_ASSIGN_OR_RAISE(auto matched_src, Int64Values(*matched->GetColumnByName("__source_row")));
    std::sort(matched_src.begin(), matched_src.end());
    matched_src.erase(std::unique(matched_src.begin(), matched_src.end()), matched_src.end());
    if (o.when_matched_update_all && !matched_src.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto ids, ValidRowIds(*matched->GetColumnByName("_rowid")));
      doomed.insert(doomed.end(), ids.begin(), ids.end());
      ARROW_ASSIGN_OR_RAISE(auto rows, TakeRows(source, matched_src));
      written.push_back(rows);
      out.rows_updated = static_cast<int64_t>(matched_src.size());
    }
    if (o.when_not_matched_insert_all) {
      std::vector<int64_t> unmatched;
      size_t j = 0;
      for (int64_t i = 0; i < source->num_rows(); ++i) {
        while (j < matched_src.size() && matched_src[j] < i) ++j;
        if (j < matched_src.size() && matched_src[j] == i) continue;
        unmatched.push_back(i);
      }
      if (!unmatched.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto rows, TakeRows(source, unmatched));
        written.push_back(rows);
        out.rows_inserted = static_cast<int64_t>(unmatched.size());
      }
    }
  }
  if (o.when_not_matched_by_source_delete) {
    std::shared_ptr<arrow::Table> candidates = existing;
    if (o.delete_where) {
      ScanOptions s = scan;
      s.filter = o.delete_where;
      ARROW_ASSIGN_OR_RAISE(candidates, Scan(t, s));
    }
    std::shared_ptr<arrow::Table> gone = candidates;
    if (source && source->num_rows() > 0 && candidates->num_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(auto keys, source->SelectColumns([&] {
        std::vector<int> idx;
        idx.reserve(o.on.size());
        for (const auto& k : o.on) idx.push_back(source->schema()->GetFieldIndex(k));
        return idx;
      }()));
      ARROW_ASSIGN_OR_RAISE(gone, Join(candidates, keys, o.on, arrow::acero::JoinType::LEFT_ANTI));
    }
    ARROW_ASSIGN_OR_RAISE(auto ids, ValidRowIds(*gone->GetColumnByName("_rowid")));
    doomed.insert(doomed.end(), ids.begin(), ids.end());
    out.rows_deleted = static_cast<int64_t>(ids.size());
  }
  std::sort(doomed.begin(), doomed.end());
  doomed.erase(std::unique(doomed.begin(), doomed.end()), doomed.end());
  std::vector<std::string> staged;
  for (const auto& rows : written) {
    ARROW_ASSIGN_OR_RAISE(auto s, StageRows(*t, rows));
    staged.insert(staged.end(), s.begin(), s.end());
  }
  out.table = std::const_pointer_cast<Table>(t);
  if (!doomed.empty() || !staged.empty()) {
    ARROW_ASSIGN_OR_RAISE(out.table, t->CommitReplace(doomed, staged, TableOperation::kMerge));
  }
  out.version = out.table->version();
  return out;
}

}  // namespace

arrow::Result<UpdateResult> Update(const std::shared_ptr<const Table>& table,
                                   const UpdateOptions& options) {
  if (!table) return arrow::Status::Invalid("update: no table");
  ARROW_RETURN_NOT_OK(table::EnsureComputeInitialized());
  const bool has_values = options.set_values && options.set_values->num_columns() > 0;
  if (!has_values && options.set_sql.empty()) {
    return arrow::Status::Invalid(
        "update needs a value (set_values) or a SQL expression (set_sql) for at least one column");
  }
  if (has_values && options.set_values->num_rows() != 1) {
    return arrow::Status::Invalid("update: set_values must hold one row, got ",
                                  options.set_values->num_rows());
  }
  // Each column set once, and every one a column of the table.
  std::set<std::string> named;
  std::vector<std::string> names;
  if (has_values) {
    for (const auto& f : options.set_values->schema()->fields()) names.push_back(f->name());
  }
  for (const auto& [name, sql] : options.set_sql) names.push_back(name);
  const auto schema = table->schema();
  for (const auto& name : names) {
    if (!named.insert(name).second) {
      return arrow::Status::Invalid("update sets column '", name, "' twice");
    }
    if (schema->GetFieldIndex(name) < 0) {
      std::string cols;
      for (const auto& f : schema->fields()) cols += (cols.empty() ? "" : ", ") + f->name();
      return arrow::Status::KeyError("update: the table has no column '", name,
                                     "'; its columns: ", cols);
    }
  }
  return Retry<UpdateResult>(
      table, options.max_attempts, "update",
      [&](const std::shared_ptr<const Table>& t) { return UpdateOnce(t, options); });
}

arrow::Result<MergeInsertResult> MergeInsert(const std::shared_ptr<const Table>& table,
                                             const std::shared_ptr<arrow::Table>& source,
                                             const MergeInsertOptions& options) {
  if (!table) return arrow::Status::Invalid("merge_insert: no table");
  ARROW_RETURN_NOT_OK(table::EnsureComputeInitialized());
  if (!(options.when_matched_update_all || options.when_not_matched_insert_all ||
        options.when_not_matched_by_source_delete)) {
    return arrow::Status::Invalid(
        "merge_insert does nothing: ask for when_matched_update_all, "
        "when_not_matched_insert_all or when_not_matched_by_source_delete");
  }
  if (options.on.empty())
    return arrow::Status::Invalid("merge_insert needs at least one key column");
  const auto schema = table->schema();
  for (const auto& k : options.on) {
    if (schema->GetFieldIndex(k) < 0) {
      return arrow::Status::KeyError("merge_insert: the table has no key column '", k, "'");
    }
    if (source && source->schema()->GetFieldIndex(k) < 0) {
      return arrow::Status::KeyError("merge_insert: the source has no key column '", k, "'");
    }
  }
  if (options.delete_where && !options.when_not_matched_by_source_delete) {
    return arrow::Status::Invalid(
        "merge_insert: delete_where is set but when_not_matched_by_source_delete is not");
  }
  std::shared_ptr<arrow::Table> shaped;
  if (source && source->num_rows() > 0) {
    if (options.when_matched_update_all || options.when_not_matched_insert_all) {
      ARROW_ASSIGN_OR_RAISE(shaped, Conform(*schema, source));
    } else {  // only deleting: the source's keys are all it needs
      arrow::FieldVector keys;
      std::vector<int> idx;
      for (const auto& k : options.on) {
        keys.push_back(schema->GetFieldByName(k));
        idx.push_back(source->schema()->GetFieldIndex(k));
      }
      ARROW_ASSIGN_OR_RAISE(auto only_keys, source->SelectColumns(idx));
      ARROW_ASSIGN_OR_RAISE(shaped, Conform(arrow::Schema(keys), only_keys));
    }
    // Each key once in the source: count the keys, name the first repeated.
    std::vector<int> idx;
    idx.reserve(options.on.size());
    for (const auto& k : options.on) idx.push_back(shaped->schema()->GetFieldIndex(k));
    ARROW_ASSIGN_OR_RAISE(auto keys, shaped->SelectColumns(idx));
    std::vector<cp::Aggregate> aggs = {
        {"hash_count_all", nullptr, std::vector<arrow::FieldRef>{}, "count"}};
    std::vector<arrow::FieldRef> refs(options.on.begin(), options.on.end());
    arrow::acero::Declaration plan = arrow::acero::Declaration::Sequence(
        {{"table_source", arrow::acero::TableSourceNodeOptions(keys)},
         {"aggregate", arrow::acero::AggregateNodeOptions(aggs, refs)},
         {"filter", arrow::acero::FilterNodeOptions(
                        cp::greater(cp::field_ref("count"), cp::literal(int64_t{1})))}});
    ARROW_ASSIGN_OR_RAISE(auto dup, arrow::acero::DeclarationToTable(std::move(plan), false));
    if (dup->num_rows() > 0) {
      std::string key;
      for (const auto& k : options.on) {
        ARROW_ASSIGN_OR_RAISE(auto v, dup->GetColumnByName(k)->GetScalar(0));
        key += (key.empty() ? "" : ", ") + k + "=" + v->ToString();
      }
      ARROW_ASSIGN_OR_RAISE(auto count, dup->GetColumnByName("count")->GetScalar(0));
      return arrow::Status::Invalid("merge_insert: key {", key, "} appears ", count->ToString(),
                                    " times in the source; each key may appear once");
    }
  }
  return Retry<MergeInsertResult>(
      table, options.max_attempts, "merge_insert",
      [&](const std::shared_ptr<const Table>& t) { return MergeOnce(t, shaped, options); });
}

}  // namespace ailake
