// Verbs on Apache Iceberg: import a plain Iceberg table, and the table's
// Iceberg view (iceberg rebuild | status | on | off).
#include <arrow/api.h>

#include <sstream>

#include "ailake/cli/common.h"

namespace ailake::cli {

json ViewJson(const IcebergViewStatus& v) {
  return {{"enabled", v.enabled},
          {"metadata_path", v.metadata_path},
          {"published_version", v.published_version},
          {"current_snapshot_id", v.current_snapshot_id},
          {"lag", v.lag},
          {"last_error", v.last_error}};
}

// One line (more when it lags or failed) on the Iceberg view.
std::string ViewText(const IcebergViewStatus& v) {
  std::ostringstream os;
  if (!v.enabled) {
    os << "  iceberg view: off\n";
    return os.str();
  }
  if (v.metadata_path.empty()) {
    os << "  iceberg view: not published yet\n";
  } else {
    os << "  iceberg view: " << v.metadata_path << ", reflects version " << v.published_version
       << ", current snapshot " << v.current_snapshot_id << "\n";
  }
  if (!v.lag.empty()) os << "  iceberg view lags: " << v.lag << "\n";
  if (!v.last_error.empty()) os << "  iceberg view error: " << v.last_error << "\n";
  return os.str();
}

namespace {

arrow::Status CmdImport(const std::string& source, const std::string& dest,
                        const std::vector<std::string>& vector_columns, const std::string& metric,
                        const std::string& index) {
  IcebergImportOptions o;
  if (metric.empty() && !vector_columns.empty()) NoteDefaultMetric("import --vector-column");
  auto m = ParseMetric(metric.empty() ? "cosine" : metric);
  if (!m.ok()) return UsageError("--metric", m.status().message());
  auto it = ParseIndexType(index);
  if (!it.ok()) return UsageError("--index", it.status().message());
  o.index_type = *it;
  for (const auto& c : vector_columns) {
    VectorStoragePolicy p;
    p.vector_column = c;
    p.metric = *m;
    p.dim = 0;
    o.source.vector_columns.push_back(p);
  }
  if (o.source.vector_columns.empty()) o.source.vector_columns = g.iceberg.vector_columns;
  o.source_storage = g.storage;
  const auto t0 = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto t, Table::ImportIceberg(source, dest, o, g.storage));
  json cols = json::array();
  for (const auto& p : t->vector_columns()) cols.push_back(p.vector_column);
  json j = {{"source", source},
            {"table", dest},
            {"version", t->version()},
            {"rows", t->num_rows()},
            {"fragments", t->fragments().size()},
            {"vector_columns", cols},
            {"seconds", Seconds(t0)}};
  std::ostringstream os;
  os << "imported " << t->num_rows() << " rows of Iceberg table " << source << " into " << dest
     << " (" << t->fragments().size() << " data files, version " << t->version() << ")\n";
  Emit(j, os.str());
  return arrow::Status::OK();
}

arrow::Status CmdIcebergStatus(const std::string& target) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(target, std::nullopt, g.storage));
  ARROW_ASSIGN_OR_RAISE(auto view, table->IcebergView());
  json j = ViewJson(view);
  j["table"] = target;
  j["version"] = table->version();
  Emit(j, ViewText(view));
  return arrow::Status::OK();
}

arrow::Status CmdIcebergSwitch(const std::string& target, bool on) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(target, std::nullopt, g.storage));
  ARROW_ASSIGN_OR_RAISE(auto switched, table->SetIcebergView(on));
  const uint64_t v = switched->version();
  ARROW_ASSIGN_OR_RAISE(auto view, table->IcebergView());
  json j = ViewJson(view);
  j["table"] = target;
  j["version"] = v;
  Emit(j, ViewText(view));
  return arrow::Status::OK();
}

arrow::Status CmdIcebergRebuild(const std::string& target) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(target, std::nullopt, g.storage));
  ARROW_ASSIGN_OR_RAISE(auto r, table->RebuildIcebergView());
  json j = {{"table", target},
            {"metadata_path", r.metadata_path},
            {"snapshots", r.snapshots},
            {"lagging", r.lagging}};
  std::ostringstream os;
  os << "wrote " << r.metadata_path << ": " << r.snapshots << " snapshots";
  if (!r.lagging.empty()) os << ", " << r.lagging.size() << " versions not expressible";
  os << "\n";
  for (const auto& l : r.lagging) os << "  " << l << "\n";
  Emit(j, os.str());
  return arrow::Status::OK();
}

}  // namespace

void AddIcebergCommands(CLI::App& app, Command* run) {
  {
    struct Args {
      std::string source, dest, metric, index = "hnsw";
      std::vector<std::string> vectors;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand(
        "import",
        "make an ailake table of a plain Iceberg table's current snapshot (its vector columns "
        "indexed)");
    c->add_option("source", a->source, "the Iceberg table (directory or metadata file)")
        ->required();
    c->add_option("table", a->dest, "the new ailake table")->required();
    c->add_option("--vector-column", a->vectors, "a fixed[4*dim] column of f32 vectors, repeatable")
        ->type_size(1)
        ->allow_extra_args(false);
    c->add_option("--metric", a->metric,
                  "cosine (the default) | euclidean | dot | normalized_cosine");
    c->add_option("--index", a->index, "hnsw, ivf_pq, flat or none")->capture_default_str();
    c->callback([a, run] {
      *run = [a] { return CmdImport(a->source, a->dest, a->vectors, a->metric, a->index); };
    });
  }
  auto target = std::make_shared<std::string>();
  auto* iceberg = app.add_subcommand("iceberg", "the table's Apache Iceberg view");
  iceberg->require_subcommand(1);
  auto* rebuild =
      iceberg->add_subcommand("rebuild",
                              "write the Iceberg v2 view afresh from every kept version (a new "
                              "metadata/vN.metadata.json), one snapshot per version");
  rebuild->add_option("table", *target)->required();
  rebuild->callback([target, run] { *run = [target] { return CmdIcebergRebuild(*target); }; });
  auto* status = iceberg->add_subcommand(
      "status", "what the view reflects: its metadata file, version, current snapshot, lag");
  status->add_option("table", *target)->required();
  status->callback([target, run] { *run = [target] { return CmdIcebergStatus(*target); }; });
  auto* on = iceberg->add_subcommand(
      "on", "publish the view on every commit (the default); catches up every kept version");
  on->add_option("table", *target)->required();
  on->callback([target, run] { *run = [target] { return CmdIcebergSwitch(*target, true); }; });
  auto* off = iceberg->add_subcommand(
      "off", "stop publishing the view and remove its metadata (cleanup removes the rest)");
  off->add_option("table", *target)->required();
  off->callback([target, run] { *run = [target] { return CmdIcebergSwitch(*target, false); }; });
}

}  // namespace ailake::cli
