// Verbs that change rows and columns: create, write, delete, update, merge,
// add-column, alter, drop-columns.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <sstream>

#include "ailake/changes.h"
#include "ailake/cli/common.h"
#include "ailake/cli/table_io.h"
#include "ailake/query.h"

namespace ailake::cli {
namespace {

std::string VersionText(uint64_t v) { return " (version " + std::to_string(v) + ")\n"; }

arrow::Status CmdCreate(const std::string& uri, const std::string& input, const std::string& format,
                        const std::string& vectors, const PolicyArgs& pa) {
  int32_t d = 0;
  ARROW_ASSIGN_OR_RAISE(auto t, LoadRows(input, format, vectors, pa.vector_column, &d));
  std::vector<VectorStoragePolicy> policies;
  if (d > 0) {
    ARROW_ASSIGN_OR_RAISE(auto p, pa.Make(static_cast<uint32_t>(d)));
    policies.push_back(p);
  }
  ARROW_ASSIGN_OR_RAISE(auto storage_format, pa.StorageFormat());
  ARROW_ASSIGN_OR_RAISE(auto created,
                        Table::Create(uri, t->schema(), policies, g.storage, storage_format));
  Emit({{"table", uri}, {"version", created->version()}},
       "created " + uri + (d > 0 ? " (dim " + std::to_string(d) + ")" : " (no vector column)") +
           "\n");
  return arrow::Status::OK();
}

arrow::Status CmdWrite(const std::string& uri, const std::string& input, const std::string& format,
                       const std::string& vectors, const PolicyArgs& pa, bool deferred,
                       int64_t batch_rows, bool wait) {
  auto t0 = std::chrono::steady_clock::now();
  int32_t dim = 0;
  ARROW_ASSIGN_OR_RAISE(auto rows, LoadRows(input, format, vectors, pa.vector_column, &dim));
  std::unique_ptr<TableWriter> writer;
  // Deferred without --wait: no background pool, the files stay pending for
  // `ailake index` (the process is about to exit anyway).
  TableWriterOptions options;
  options.storage = g.storage;
  options.background_threads = deferred && !wait ? 0 : 1;
  ARROW_ASSIGN_OR_RAISE(options.storage_format, pa.StorageFormat());
  if (Table::Open(uri, std::nullopt, g.storage).ok()) {
    ARROW_ASSIGN_OR_RAISE(writer, TableWriter::Open(uri, options));
  } else {
    std::vector<VectorStoragePolicy> policies;
    if (dim > 0) {
      ARROW_ASSIGN_OR_RAISE(auto p, pa.Make(static_cast<uint32_t>(dim)));
      policies.push_back(p);
    }
    ARROW_ASSIGN_OR_RAISE(writer, TableWriter::Create(uri, rows->schema(), policies, options));
  }
  arrow::TableBatchReader reader(*rows);
  reader.set_chunksize(batch_rows);
  std::shared_ptr<arrow::RecordBatch> batch;
  int64_t written = 0;
  uint64_t version = 0;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(
        version, deferred ? writer->WriteBatchDeferred(*batch) : writer->WriteBatch(*batch));
    written += batch->num_rows();
    Progress("writing", written, rows->num_rows());
  }
  const double data_s = Seconds(t0);
  if (wait || !deferred) {
    ARROW_RETURN_NOT_OK(writer->WaitForIndexing());
  } else {
    writer->Detach();  // the rest is left for `ailake index`
  }
  auto latest = writer->table()->Latest();
  json j = {{"table", uri},
            {"rows_written", written},
            {"version", latest.ok() ? (*latest)->version() : version},
            {"seconds_until_queryable", data_s},
            {"seconds_total", Seconds(t0)},
            {"deferred", deferred}};
  std::ostringstream os;
  os << "wrote " << written << " rows to " << uri << " (version " << j["version"] << ") in "
     << data_s << " s" << (deferred && !wait ? "; indexes pending (run `ailake index`)" : "")
     << "\n";
  Emit(j, os.str());
  return arrow::Status::OK();
}

arrow::Status CmdDelete(const std::string& uri, const std::string& filter) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_ASSIGN_OR_RAISE(auto f, ParseFilter(filter));
  ARROW_ASSIGN_OR_RAISE(auto r, t->Delete(f));
  Emit({{"deleted", r.rows_deleted}, {"version", r.table->version()}},
       "deleted " + std::to_string(r.rows_deleted) + " rows" + VersionText(r.table->version()));
  return arrow::Status::OK();
}

arrow::Status CmdUpdate(const std::string& uri, const std::vector<std::string>& sets,
                        const std::string& where) {
  UpdateOptions o;
  for (const auto& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError("--set", "'" + s + "' is not COLUMN=SQL (e.g. price='price * 1.1')");
    }
    o.set_sql.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  if (!where.empty()) {
    ARROW_ASSIGN_OR_RAISE(o.where, ParseFilter(where));
  }
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_ASSIGN_OR_RAISE(auto r, Update(t, o));
  Emit({{"rows_updated", r.rows_updated}, {"version", r.version}},
       "updated " + std::to_string(r.rows_updated) + " rows" + VersionText(r.version));
  return arrow::Status::OK();
}

struct MergeArgs {
  std::string input, format, vectors, on, delete_where;
  bool update = false, insert = false, del = false;
};

arrow::Status CmdMerge(const std::string& uri, const MergeArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  MergeInsertOptions o;
  o.on = SplitList(a.on);
  // Neither --update nor --insert nor --delete-not-in-source: an upsert.
  const bool upsert = !a.update && !a.insert && !a.del;
  o.when_matched_update_all = a.update || upsert;
  o.when_not_matched_insert_all = a.insert || upsert;
  o.when_not_matched_by_source_delete = a.del;
  if (!a.delete_where.empty()) {
    if (!a.del) return UsageError("--delete-where", "needs --delete-not-in-source");
    ARROW_ASSIGN_OR_RAISE(o.delete_where, ParseFilter(a.delete_where));
  }
  const std::string column =
      t->vector_columns().empty() ? "" : t->vector_columns()[0].vector_column;
  int32_t dim = 0;
  ARROW_ASSIGN_OR_RAISE(auto rows, LoadRows(a.input, a.format, a.vectors, column, &dim));
  ARROW_ASSIGN_OR_RAISE(auto r, MergeInsert(t, rows, o));
  Emit({{"rows_inserted", r.rows_inserted},
        {"rows_updated", r.rows_updated},
        {"rows_deleted", r.rows_deleted},
        {"version", r.version}},
       "inserted " + std::to_string(r.rows_inserted) + ", updated " +
           std::to_string(r.rows_updated) + ", deleted " + std::to_string(r.rows_deleted) +
           " rows" + VersionText(r.version));
  return arrow::Status::OK();
}

arrow::Status CmdAddColumn(const std::string& uri, const std::string& from, const std::string& key,
                           const std::string& format) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_ASSIGN_OR_RAISE(auto src, ReadInput(from, format));
  auto src_key = src->GetColumnByName(key);
  if (!src_key) return arrow::Status::Invalid(from, " has no column '", key, "'");
  arrow::FieldVector new_fields;
  std::vector<int> new_idx;
  for (int i = 0; i < src->num_columns(); ++i) {
    if (src->schema()->field(i)->name() == key) continue;
    new_fields.push_back(src->schema()->field(i)->WithNullable(true));
    new_idx.push_back(i);
  }
  if (new_fields.empty()) return arrow::Status::Invalid(from, " has no column besides the key");
  auto filler = [&](const std::shared_ptr<arrow::Table>& rows)
      -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
    // For each table row, the position of its key in the source (or null).
    ARROW_ASSIGN_OR_RAISE(auto keys, arrow::Concatenate(rows->GetColumnByName(key)->chunks()));
    ARROW_ASSIGN_OR_RAISE(auto src_keys, arrow::Concatenate(src_key->chunks()));
    ARROW_ASSIGN_OR_RAISE(auto pos, arrow::compute::IndexIn(keys, src_keys));
    ARROW_ASSIGN_OR_RAISE(auto batch, src->CombineChunksToBatch());
    std::vector<std::shared_ptr<arrow::Array>> cols;
    for (int i : new_idx) {
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(batch->column(i), pos));
      cols.push_back(taken.make_array());
    }
    return arrow::RecordBatch::Make(arrow::schema(new_fields), rows->num_rows(), cols);
  };
  ARROW_ASSIGN_OR_RAISE(auto added, t->AddColumns(arrow::schema(new_fields), filler, {}, {key}));
  const uint64_t v = added->version();
  Emit({{"version", v}, {"columns_added", static_cast<int>(new_fields.size())}},
       "added " + std::to_string(new_fields.size()) + " columns" + VersionText(v));
  return arrow::Status::OK();
}

struct AlterArgs {
  std::string uri;
  std::vector<std::string> renames;   // OLD=NEW
  std::vector<std::string> nullable;  // columns made nullable
  std::vector<std::string> not_null;  // columns made not nullable
};

arrow::Status CmdAlter(const AlterArgs& a) {
  std::vector<ColumnAlteration> changes;
  json done = json::array();
  for (const auto& r : a.renames) {
    const size_t eq = r.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) {
      return UsageError("--rename", "'" + r + "' is not OLD=NEW");
    }
    ColumnAlteration c;
    c.path = r.substr(0, eq);
    c.rename = r.substr(eq + 1);
    done.push_back({{"column", c.path}, {"rename", *c.rename}});
    changes.push_back(std::move(c));
  }
  for (const auto* list : {&a.nullable, &a.not_null}) {
    for (const auto& name : *list) {
      ColumnAlteration c;
      c.path = name;
      c.nullable = list == &a.nullable;
      done.push_back({{"column", c.path}, {"nullable", *c.nullable}});
      changes.push_back(std::move(c));
    }
  }
  if (changes.empty()) {
    return UsageError("alter",
                      "nothing to change: give --rename OLD=NEW, --nullable or --not-null");
  }
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri));
  ARROW_ASSIGN_OR_RAISE(t, t->AlterColumns(changes));
  const uint64_t v = t->version();
  Emit({{"altered", done}, {"version", v}},
       "altered " + std::to_string(changes.size()) + " columns" + VersionText(v));
  return arrow::Status::OK();
}

arrow::Status CmdDropColumns(const std::string& uri, const std::vector<std::string>& names) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_ASSIGN_OR_RAISE(auto dropped, t->DropColumns(names));
  const uint64_t v = dropped->version();
  Emit({{"dropped", names}, {"version", v}},
       "dropped " + std::to_string(names.size()) + " columns" + VersionText(v));
  return arrow::Status::OK();
}

}  // namespace

void AddWriteCommands(CLI::App& app, Command* run) {
  {
    struct Args {
      std::string uri, input, format, vectors;
      PolicyArgs pa;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand("create", "create an empty table from an input file's schema");
    c->add_option("table", a->uri, "table directory")->required();
    c->add_option("input", a->input, "file whose schema (and vector column) the table takes")
        ->required();
    c->add_option("--format", a->format, "parquet | ipc | csv | npy");
    c->add_option("--vectors", a->vectors,
                  "vectors, one per input row: .npy, Parquet / Arrow IPC (a list column) or CSV "
                  "(numbers only)");
    a->pa.Add(c);
    c->callback([a, run] {
      *run = [a] { return CmdCreate(a->uri, a->input, a->format, a->vectors, a->pa); };
    });
  }
  {
    struct Args {
      std::string uri, input, format, vectors;
      PolicyArgs pa;
      bool deferred = false, wait = false;
      int64_t batch_rows = 100000;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand("write", "append rows from Parquet, Arrow IPC, CSV or .npy");
    c->add_option("table", a->uri, "table directory (created if missing)")->required();
    c->add_option("input", a->input, "input file")->required();
    c->add_option("--format", a->format, "parquet | ipc | csv | npy (default: from extension)");
    c->add_option("--vectors", a->vectors,
                  "vectors, one per input row: .npy, Parquet / Arrow IPC (a list column) or CSV "
                  "(numbers only)");
    c->add_option("--batch-rows", a->batch_rows, "rows per data file")->capture_default_str();
    c->add_flag("--deferred", a->deferred, "commit data now, build indexes in the background");
    c->add_flag("--wait", a->wait, "with --deferred: wait until indexes are built");
    a->pa.Add(c);
    c->callback([a, run] {
      *run = [a] {
        return CmdWrite(a->uri, a->input, a->format, a->vectors, a->pa, a->deferred, a->batch_rows,
                        a->wait);
      };
    });
  }
  {
    auto a = std::make_shared<std::pair<std::string, std::string>>();
    auto* c = app.add_subcommand("delete", "delete the rows matching a filter");
    c->add_option("table", a->first)->required();
    c->add_option("--filter", a->second, "SQL-like filter")->required();
    c->callback([a, run] { *run = [a] { return CmdDelete(a->first, a->second); }; });
  }
  {
    struct Args {
      std::string uri, where;
      std::vector<std::string> sets;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand(
        "update", "set columns of the rows matching a filter to SQL expressions (one version)");
    c->add_option("table", a->uri)->required();
    c->add_option("--set", a->sets,
                  "COLUMN=SQL, repeatable: the new value, computed from the row before the "
                  "update (category=7, price='price * 1.1', name='upper(name)')")
        ->required()
        ->type_size(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    c->add_option("--where", a->where, "SQL-like filter (default: every row)");
    c->callback([a, run] { *run = [a] { return CmdUpdate(a->uri, a->sets, a->where); }; });
  }
  {
    auto a = std::make_shared<std::pair<std::string, MergeArgs>>();
    auto* c = app.add_subcommand(
        "merge",
        "upsert rows from a file, matched on key columns (one version): by default matched rows "
        "are replaced and the rest inserted");
    c->add_option("table", a->first)->required();
    c->add_option("input", a->second.input, "Parquet / Arrow IPC / CSV / .npy rows")->required();
    c->add_option("--on", a->second.on, "key column(s), comma-separated")->required();
    c->add_option("--format", a->second.format, "parquet | ipc | csv | npy");
    c->add_option("--vectors", a->second.vectors,
                  "vectors, one per input row (.npy, Parquet / Arrow IPC list column, CSV)");
    c->add_flag("--update", a->second.update, "replace the table rows a source row matches");
    c->add_flag("--insert", a->second.insert, "insert the source rows that match nothing");
    c->add_flag("--delete-not-in-source", a->second.del,
                "delete the table rows no source row matches");
    c->add_option("--delete-where", a->second.delete_where,
                  "with --delete-not-in-source: only rows matching this filter");
    c->callback([a, run] { *run = [a] { return CmdMerge(a->first, a->second); }; });
  }
  {
    struct Args {
      std::string uri, from, key, format;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand(
        "add-column", "add columns from a file, matched to the table's rows by a key column");
    c->add_option("table", a->uri)->required();
    c->add_option("--from", a->from, "Parquet / IPC / CSV file with the key and the new columns")
        ->required();
    c->add_option("--key", a->key, "key column present in both")->required();
    c->add_option("--format", a->format, "input format");
    c->callback(
        [a, run] { *run = [a] { return CmdAddColumn(a->uri, a->from, a->key, a->format); }; });
  }
  {
    auto a = std::make_shared<AlterArgs>();
    auto* c = app.add_subcommand(
        "alter",
        "rename columns and change their nullability, all in one version (data files are not "
        "rewritten)");
    c->add_option("table", a->uri)->required();
    c->add_option("--rename", a->renames, "OLD=NEW, repeatable")
        ->type_size(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    c->add_option("--nullable", a->nullable, "COL: nulls allowed from now on, repeatable")
        ->type_size(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    c->add_option("--not-null", a->not_null,
                  "COL: nulls refused from now on (an error while a row holds one), repeatable")
        ->type_size(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    c->callback([a, run] { *run = [a] { return CmdAlter(*a); }; });
  }
  {
    auto a = std::make_shared<std::pair<std::string, std::vector<std::string>>>();
    auto* c = app.add_subcommand(
        "drop-columns", "remove columns from the table (a new version; older versions keep them)");
    c->add_option("table", a->first)->required();
    c->add_option("columns", a->second, "the columns to drop")->required();
    c->callback([a, run] { *run = [a] { return CmdDropColumns(a->first, a->second); }; });
  }
}

}  // namespace ailake::cli
