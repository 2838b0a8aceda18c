// Verbs that read: search, scan, take, info.
#include <arrow/api.h>

#include <sstream>

#include "ailake/cli/common.h"
#include "ailake/cli/table_io.h"
#include "ailake/file.h"
#include "ailake/query.h"

namespace ailake::cli {

namespace {

struct SearchArgs {
  std::string uri, query_file, query_json, filter, columns, at, vector_column;
  std::string text, text_column, stemmer, fusion = "rrf";
  uint32_t k = 10, ef = 0, nprobe = 0, refine_factor = 0;
  bool exact = false;
};

// --text alone: full-text search; with a query vector: hybrid search.
arrow::Status CmdSearchText(const SearchArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri, a.at));
  TextSearchOptions text;
  text.text_column = a.text_column;
  if (!a.stemmer.empty()) {
    text.analyzer = TextAnalyzerConfig{};
    text.analyzer->stemmer_language = a.stemmer;
  }
  std::optional<arrow::compute::Expression> filter;
  if (!a.filter.empty()) {
    ARROW_ASSIGN_OR_RAISE(filter, ParseFilter(a.filter));
  }
  const bool hybrid = !a.query_file.empty() || !a.query_json.empty();
  if (a.fusion != "rrf" && a.fusion != "linear") {
    return UsageError("--fusion", "'" + a.fusion + "' is neither rrf nor linear");
  }
  SearchStats stats;
  auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<arrow::Table> r;
  if (hybrid) {
    ARROW_ASSIGN_OR_RAISE(auto q, ReadQuery(a.query_file, a.query_json));
    HybridSearchOptions o;
    o.k = a.k;
    o.filter = filter;
    o.columns = SplitList(a.columns);
    o.fusion = a.fusion == "rrf" ? FusionMethod::kReciprocalRank : FusionMethod::kLinear;
    o.vector.vector_column = a.vector_column;
    o.vector.params.ef = a.ef;
    o.vector.params.nprobe = a.nprobe;
    o.vector.params.refine_factor = a.refine_factor;
    o.vector.exact = a.exact;
    o.text = text;
    ARROW_ASSIGN_OR_RAISE(r, t->SearchHybrid(q, a.text, o, &stats));
  } else {
    text.k = a.k;
    text.filter = filter;
    text.columns = SplitList(a.columns);
    ARROW_ASSIGN_OR_RAISE(r, t->SearchText(a.text, text, &stats));
  }
  const double ms = Seconds(t0) * 1000;
  json extra = {{"version", t->version()},
                {"milliseconds", ms},
                {"search", hybrid ? "hybrid" : "text"},
                {"files", stats.files}};
  std::ostringstream os;
  os << ms << " ms; " << (hybrid ? "hybrid" : "full-text") << " search of " << stats.files
     << " files\n";
  return PrintResult(r, extra, os.str());
}

arrow::Status CmdSearch(const SearchArgs& a) {
  if (!a.text.empty()) return CmdSearchText(a);
  ARROW_ASSIGN_OR_RAISE(auto q, ReadQuery(a.query_file, a.query_json));
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri, a.at));
  SearchOptions opt;
  opt.k = a.k;
  opt.vector_column = a.vector_column;
  opt.params.ef = a.ef;
  opt.params.nprobe = a.nprobe;
  opt.params.refine_factor = a.refine_factor;
  opt.exact = a.exact;
  opt.columns = SplitList(a.columns);
  if (!a.filter.empty()) {
    ARROW_ASSIGN_OR_RAISE(opt.filter, ParseFilter(a.filter));
  }
  SearchStats stats;
  auto t0 = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto r, Search(*t, q, opt, &stats));
  const double ms = Seconds(t0) * 1000;
  json extra = {{"version", t->version()},
                {"milliseconds", ms},
                {"files", stats.files},
                {"files_pruned", stats.files_pruned},
                {"files_index_searched", stats.files_index_searched},
                {"files_exact_scanned", stats.files_exact_scanned}};
  std::ostringstream os;
  os << ms << " ms; " << stats.files << " files: " << stats.files_index_searched << " by index, "
     << stats.files_exact_scanned << " scanned, " << stats.files_pruned << " pruned\n";
  return PrintResult(r, extra, os.str());
}

struct ScanArgs {
  std::string uri, columns, filter, at;
  int64_t limit = -1;
};

arrow::Status CmdScan(const ScanArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri, a.at));
  ScanOptions opt;
  opt.columns = SplitList(a.columns);
  opt.limit = a.limit;
  opt.with_row_id = true;
  if (!a.filter.empty()) {
    ARROW_ASSIGN_OR_RAISE(opt.filter, ParseFilter(a.filter));
  }
  ARROW_ASSIGN_OR_RAISE(auto r, Scan(t, opt));
  return PrintResult(r, {{"version", t->version()}}, "");
}

struct TakeArgs {
  std::string uri, rowids, columns, at;
};

arrow::Status CmdTake(const TakeArgs& a) {
  std::vector<RowId> ids;
  for (const auto& s : SplitList(a.rowids)) {
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
      return UsageError("--rowids", "'" + s + "' is not a row id");
    }
    try {
      ids.push_back(std::stoull(s));
    } catch (const std::exception&) {
      return UsageError("--rowids", "'" + s + "' is not a row id");
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri, a.at));
  ARROW_ASSIGN_OR_RAISE(auto r, t->Take(ids, SplitList(a.columns), true));
  return PrintResult(r, {{"version", t->version()}}, "");
}

// "2.2" for a Lance 2.2 file, "1.0" for Parquet (DataFile.file_major/minor_version).
std::string ContainerVersion(const AilakeFileReader& r) {
  const auto [major, minor] = r.container_version();
  return std::to_string(major) + "." + std::to_string(minor);
}

json FileInfo(const AilakeFileReader& r) {
  json cols = json::array();
  for (const auto& c : r.vector_columns()) {
    json s = {{"name", c.name},
              {"dim", c.dim},
              {"metric", MetricName(c.metric)},
              {"precision", PrecisionName(c.precision)},
              {"has_section", c.has_section}};
    if (c.has_section) {
      s["section"] = {{"format_version", c.section.format_version},
                      {"offset", c.section.offset},
                      {"length", c.section.length},
                      {"index_type", IndexTypeName(c.section.index_type)},
                      {"index_bytes", c.section.index_bytes},
                      {"rows", c.section.num_rows}};
    }
    cols.push_back(s);
  }
  return {{"rows", r.num_rows()},
          {"format", FileFormatName(r.format())},
          {"container_version", ContainerVersion(r)},
          {"row_groups", r.num_row_groups()},
          {"bytes", r.file_size()},
          {"is_ailake_file", r.IsAilakeFile()},
          {"schema", r.schema()->ToString()},
          {"vector_columns", cols}};
}

arrow::Status FileInfoCommand(const std::string& target, const AilakeFileReader& reader) {
  json j = FileInfo(reader);
  j["path"] = target;
  std::ostringstream os;
  os << target << ": " << reader.num_rows() << " rows, " << reader.file_size() << " bytes, "
     << (reader.IsAilakeFile() ? "AI-Lake file" : "plain file") << " ("
     << (reader.format() == FileFormat::kLance ? "Lance " + ContainerVersion(reader)
                                               : std::string("Parquet"))
     << ")\n";
  for (const auto& c : j["vector_columns"]) {
    os << "  vector column " << c["name"].get<std::string>() << ": dim " << c["dim"] << ", "
       << c["metric"].get<std::string>() << ", " << c["precision"].get<std::string>();
    if (c["has_section"]) {
      os << ", AILK v" << c["section"]["format_version"] << " at " << c["section"]["offset"] << " ("
         << c["section"]["length"] << " bytes, index "
         << c["section"]["index_type"].get<std::string>() << ")";
    } else {
      os << ", no AILK section";
    }
    os << "\n";
  }
  Emit(j, os.str());
  return arrow::Status::OK();
}

arrow::Status CmdInfo(const std::string& target, const std::string& at) {
  auto table = OpenTable(target, at);
  if (!table.ok()) {
    auto reader = AilakeFileReader::Open(target);
    if (!reader.ok()) {
      return arrow::Status::Invalid("'", target, "' is neither an ailake table (",
                                    table.status().message(), ") nor a readable file (",
                                    reader.status().message(), ")");
    }
    return FileInfoCommand(target, **reader);
  }
  const auto& t = *table;
  ARROW_ASSIGN_OR_RAISE(auto versions, t->Versions());
  json vj = json::array();
  for (const auto& v : versions) {
    vj.push_back({{"version", v.version},
                  {"timestamp_micros", v.timestamp_micros},
                  {"operation", v.operation_name},
                  {"detail", v.detail},
                  {"rows", v.num_rows},
                  {"fragments", v.num_fragments}});
  }
  json frags = json::array();
  uint64_t bytes = 0;
  int pending = 0;
  for (const auto& f : t->fragments()) {
    json files = json::array();
    for (const auto& d : f.files) {
      files.push_back({{"path", d.path},
                       {"format", FileFormatName(d.format)},
                       {"bytes", d.size_bytes},
                       {"index_state", IndexStateName(d.index_state)},
                       {"columns", d.columns}});
      bytes += d.size_bytes;
      pending += d.index_state == IndexState::kPending;
    }
    frags.push_back(
        {{"id", f.id}, {"rows", f.physical_rows}, {"deleted", f.deleted_rows}, {"files", files}});
  }
  json vcs = json::array();
  for (const auto& p : t->vector_columns()) {
    json vc = {{"name", p.vector_column},
               {"dim", p.dim},
               {"metric", MetricName(p.metric)},
               {"precision", PrecisionName(p.precision)},
               {"index", IndexTypeName(p.index_type)}};
    // The settings of the column's index (the keys Python's vector_columns uses).
    if (p.index_type == IndexType::kHnsw) {
      vc["m"] = p.hnsw.m;
      vc["ef_construction"] = p.hnsw.ef_construction;
      vc["traversal"] = HnswTraversalName(p.hnsw.traversal);
    } else if (p.index_type == IndexType::kIvfPq) {
      vc["nlist"] = p.ivf_pq.nlist;
      vc["pq_m"] = p.ivf_pq.m;
      vc["pq_bits"] = p.ivf_pq.nbits;
      vc["nprobe"] = p.ivf_pq.nprobe;
      vc["refine_factor"] = p.ivf_pq.refine_factor;
    }
    vcs.push_back(std::move(vc));
  }
  json tis = json::array();
  ARROW_ASSIGN_OR_RAISE(const auto text_indexes, t->text_indexes());
  for (const auto& c : text_indexes) {
    tis.push_back({{"column", c.column},
                   {"analyzer", c.analyzer.Serialize()},
                   {"with_position", c.with_positions}});
  }
  ARROW_ASSIGN_OR_RAISE(auto view, t->IcebergView());
  json j = {{"table", target},
            {"version", t->version()},
            {"iceberg_view", ViewJson(view)},
            {"storage_format", FileFormatName(t->storage_format())},
            {"rows", t->num_rows()},
            {"schema", t->schema()->ToString()},
            {"vector_columns", vcs},
            {"text_indexes", tis},
            {"bytes", bytes},
            {"pending_index_files", pending},
            {"fragments", frags},
            {"versions", vj}};
  std::ostringstream os;
  os << "table " << target << " at version " << t->version() << ": " << t->num_rows() << " rows in "
     << t->fragments().size() << " fragments, " << bytes << " bytes, " << pending
     << " data files waiting for an index\n"
     << "  storage format: " << FileFormatName(t->storage_format()) << "\n";
  for (const auto& p : t->vector_columns()) {
    os << "  vector column " << p.vector_column << ": dim " << p.dim << ", " << MetricName(p.metric)
       << ", " << PrecisionName(p.precision) << ", index " << IndexTypeName(p.index_type) << "\n";
  }
  for (const auto& c : text_indexes) {
    os << "  text column " << c.column << ": full-text index"
       << (c.analyzer.stemmer_language.empty() ? "" : ", stemmer " + c.analyzer.stemmer_language)
       << (c.with_positions ? "" : ", no positions") << "\n";
  }
  os << ViewText(view);
  os << "schema:\n" << t->schema()->ToString() << "\nversions:\n";
  for (const auto& v : versions) {
    os << "  " << v.version << "  " << v.operation_name << "  rows=" << v.num_rows
       << "  fragments=" << v.num_fragments
       << (v.detail.empty() ? "" : "  " + v.detail.substr(0, 60)) << "\n";
  }
  Emit(j, os.str());
  return arrow::Status::OK();
}

}  // namespace

void AddReadCommands(CLI::App& app, Command* run) {
  {
    auto a = std::make_shared<SearchArgs>();
    auto* c = app.add_subcommand(
        "search",
        "nearest rows to a query vector; with --text, full-text search (BM25), or hybrid search "
        "when a query vector is given too");
    c->add_option("table", a->uri)->required();
    c->add_option("--query", a->query_file,
                  "query vector file (.npy, Parquet / Arrow IPC list column, CSV): one vector");
    c->add_option("--query-json", a->query_json, "query vector as a JSON array");
    c->add_option("-k", a->k, "results")->capture_default_str();
    c->add_option("--filter", a->filter, "SQL-like filter, e.g. \"category = 3 AND price < 10\"");
    c->add_option("--columns", a->columns, "comma-separated columns to return");
    c->add_option("--version", a->at, kVersionHelp);
    c->add_option("--vector-column", a->vector_column, "vector column (default: the first)");
    c->add_option("--ef", a->ef, "HNSW ef per query");
    c->add_option("--nprobe", a->nprobe, "IVF lists probed");
    c->add_option("--refine-factor", a->refine_factor,
                  "rows re-ranked exactly, as a multiple of k (IVF-PQ; HNSW on traversal codes: "
                  "of the beam, default all of it)");
    c->add_flag("--exact", a->exact, "exact scan (ground truth)");
    c->add_option("--text", a->text,
                  "full-text query: word, +must, -must_not, \"a phrase\", prefix*");
    c->add_option("--text-column", a->text_column, "text column (default: the only one)");
    c->add_option("--stemmer", a->stemmer, "Snowball stemmer for --text, e.g. english");
    c->add_option("--fusion", a->fusion, "hybrid fusion: rrf or linear")->capture_default_str();
    c->callback([a, run] { *run = [a] { return CmdSearch(*a); }; });
  }
  {
    auto a = std::make_shared<ScanArgs>();
    auto* c = app.add_subcommand("scan", "read rows, with projection, filter and limit");
    c->add_option("table", a->uri)->required();
    c->add_option("--columns", a->columns, "comma-separated columns");
    c->add_option("--filter", a->filter, "SQL-like filter");
    c->add_option("--limit", a->limit, "at most this many rows");
    c->add_option("--version", a->at, kVersionHelp);
    c->callback([a, run] { *run = [a] { return CmdScan(*a); }; });
  }
  {
    auto a = std::make_shared<TakeArgs>();
    auto* c = app.add_subcommand("take", "rows by row id");
    c->add_option("table", a->uri)->required();
    c->add_option("--rowids", a->rowids, "comma-separated row ids")->required();
    c->add_option("--columns", a->columns, "comma-separated columns");
    c->add_option("--version", a->at, kVersionHelp);
    c->callback([a, run] { *run = [a] { return CmdTake(*a); }; });
  }
  {
    auto a = std::make_shared<std::pair<std::string, std::string>>();
    auto* c =
        app.add_subcommand("info", "describe a table (versions, fragments, files) or one file");
    c->add_option("target", a->first, "table directory or data file")->required();
    c->add_option("--version", a->second, kVersionHelp);
    c->callback([a, run] { *run = [a] { return CmdInfo(a->first, a->second); }; });
  }
}

}  // namespace ailake::cli
