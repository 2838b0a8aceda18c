// Verbs that keep a table in shape: optimize, compact, cleanup, index,
// create-index, restore, tag, storage-format, verify.
#include <arrow/api.h>

#include <array>
#include <filesystem>
#include <sstream>

#include "ailake/cli/common.h"
#include "ailake/file.h"

namespace ailake::cli {
namespace {

std::string VersionText(uint64_t v) { return " (version " + std::to_string(v) + ")\n"; }

arrow::Status CmdCleanup(const std::string& uri, uint32_t retain_versions, int64_t grace_seconds,
                         int64_t older_than_seconds) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  CleanupOptions opt;
  opt.retain_versions = retain_versions;
  opt.grace_seconds = grace_seconds;
  opt.older_than_seconds = older_than_seconds;
  ARROW_ASSIGN_OR_RAISE(auto r, t->Cleanup(opt));
  Emit({{"versions_removed", r.versions_removed},
        {"files_removed", r.files_removed},
        {"bytes_removed", r.bytes_removed}},
       "removed " + std::to_string(r.versions_removed) + " versions and " +
           std::to_string(r.files_removed) + " files (" + std::to_string(r.bytes_removed) +
           " bytes)\n");
  return arrow::Status::OK();
}

arrow::Status CmdCompact(const std::string& uri, int64_t target_rows) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  CompactionOptions opt;
  opt.target_rows_per_fragment = target_rows;
  opt.progress = [](int64_t done, int64_t total) { Progress("compacting", done, total); };
  ARROW_ASSIGN_OR_RAISE(auto r, t->Compact(opt));
  Emit({{"fragments_removed", r.fragments_removed},
        {"fragments_added", r.fragments_added},
        {"rows_dropped", r.rows_dropped},
        {"version", r.version}},
       "compacted " + std::to_string(r.fragments_removed) + " fragments into " +
           std::to_string(r.fragments_added) + ", dropped " + std::to_string(r.rows_dropped) +
           " deleted rows" + VersionText(r.version));
  return arrow::Status::OK();
}

arrow::Status CmdOptimize(const std::string& uri, int merge_factor) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  OptimizeOptions opt;
  opt.merge_factor = merge_factor;
  opt.progress = [](int64_t done, int64_t total) { Progress("optimizing", done, total); };
  ARROW_ASSIGN_OR_RAISE(auto r, t->Optimize(opt));
  Emit({{"merges", r.merges},
        {"fragments_removed", r.fragments_removed},
        {"fragments_added", r.fragments_added},
        {"rows_rewritten", r.rows_rewritten},
        {"rows_dropped", r.rows_dropped},
        {"codebooks_trained", r.codebooks_trained},
        {"indexes_built", r.indexes_built},
        {"version", r.version}},
       std::to_string(r.merges) + " merges: " + std::to_string(r.fragments_removed) +
           " fragments into " + std::to_string(r.fragments_added) + ", " +
           std::to_string(r.rows_rewritten) + " rows rewritten, " + std::to_string(r.rows_dropped) +
           " deleted rows dropped, " + std::to_string(r.indexes_built) + " pending indexes built" +
           VersionText(r.version));
  return arrow::Status::OK();
}

struct CreateIndexArgs {
  std::string uri, index, column, traversal;
  uint32_t m = 0, ef = 0, nlist = 0, pq_m = 0, pq_bits = 0;
  // A full-text index instead (--fts COLUMN).
  std::string fts, tokenizer = "simple", stemmer, stop_words;
  bool no_positions = false;
};

// Trains the shared IVF-PQ codebooks pending files owe (when enough rows are
// at hand), then builds every pending index; reports what is left pending.
arrow::Status BuildPending(const std::shared_ptr<Table>& t, json* j, std::string* text) {
  auto t0 = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto latest, t->Latest());
  ARROW_ASSIGN_OR_RAISE(int trained, latest->TrainPendingCodebooks());
  ARROW_ASSIGN_OR_RAISE(latest, latest->Latest());
  ARROW_ASSIGN_OR_RAISE(auto n, latest->BuildPendingIndexes({}, [](int64_t done, int64_t total) {
    Progress("indexing", done, total);
  }));
  ARROW_ASSIGN_OR_RAISE(latest, latest->Latest());
  ARROW_ASSIGN_OR_RAISE(auto left, latest->PendingFiles());
  (*j)["codebooks_trained"] = trained;
  (*j)["files_indexed"] = n;
  (*j)["files_pending"] = left.size();
  (*j)["seconds"] = Seconds(t0);
  *text = std::to_string(n) + " files indexed in " + std::to_string(Seconds(t0)) + " s";
  if (!left.empty()) {
    *text += "; " + std::to_string(left.size()) +
             " files still pending (searched exactly): an IVF-PQ column trains its shared "
             "codebook once it has enough rows (min_training_rows)";
  }
  *text += '\n';
  return arrow::Status::OK();
}

arrow::Status CmdCreateTextIndex(const CreateIndexArgs& a) {
  TextIndexConfig c;
  c.column = a.fts;
  c.analyzer.tokenizer = a.tokenizer;
  c.analyzer.stemmer_language = a.stemmer;
  for (size_t at = 0; !a.stop_words.empty() && at <= a.stop_words.size();) {
    const size_t comma = std::min(a.stop_words.find(',', at), a.stop_words.size());
    if (comma > at) c.analyzer.stop_words.push_back(a.stop_words.substr(at, comma - at));
    at = comma + 1;
  }
  c.with_positions = !a.no_positions;
  if (auto st = c.analyzer.Validate(); !st.ok()) return UsageError("--fts", st.message());
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri));
  ARROW_RETURN_NOT_OK(t->CreateTextIndex(c, /*build=*/false).status());
  json j = {{"text_column", c.column}, {"index", "fts"}, {"analyzer", c.analyzer.Serialize()}};
  std::string text;
  ARROW_RETURN_NOT_OK(BuildPending(t, &j, &text));
  Emit(j, c.column + ": full-text index, " + text);
  return arrow::Status::OK();
}

arrow::Status CmdCreateIndex(const CreateIndexArgs& a) {
  if (!a.fts.empty()) {
    if (!a.index.empty()) return UsageError("--fts", "give --index or --fts, not both");
    return CmdCreateTextIndex(a);
  }
  if (a.index.empty()) {
    return UsageError("--index", "required: a vector index (or --fts COLUMN for a full-text one)");
  }
  auto type = ParseIndexType(a.index);
  if (!type.ok()) return UsageError("--index", type.status().message());
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(a.uri));
  ARROW_ASSIGN_OR_RAISE(auto p, t->vector_column(a.column));
  p.index_type = *type;
  if (a.m) p.hnsw.m = a.m;
  if (a.ef) p.hnsw.ef_construction = a.ef;
  if (a.nlist) p.ivf_pq.nlist = a.nlist;
  if (a.pq_m) p.ivf_pq.m = a.pq_m;
  if (a.pq_bits) p.ivf_pq.nbits = a.pq_bits;
  if (!a.traversal.empty()) {
    auto traversal = ParseHnswTraversal(a.traversal);
    if (!traversal.ok()) return UsageError("--traversal", traversal.status().message());
    p.hnsw.traversal = *traversal;
  }
  ARROW_RETURN_NOT_OK(t->CreateIndex(p).status());
  json j = {{"vector_column", p.vector_column}, {"index", IndexTypeName(p.index_type)}};
  std::string text;
  ARROW_RETURN_NOT_OK(BuildPending(t, &j, &text));
  Emit(j, p.vector_column + ": " + std::string(IndexTypeName(p.index_type)) + " index, " + text);
  return arrow::Status::OK();
}

arrow::Status CmdDropIndex(const std::string& uri, const std::string& column,
                           const std::string& fts) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  if (!fts.empty()) {
    if (!column.empty()) return UsageError("--fts", "give --vector-column or --fts, not both");
    ARROW_ASSIGN_OR_RAISE(auto dropped, t->DropTextIndex(fts));
    const uint64_t v = dropped->version();
    Emit({{"text_column", fts}, {"version", v}},
         fts + ": full-text index dropped (version " + std::to_string(v) + ")\n");
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto p, t->vector_column(column));
  ARROW_ASSIGN_OR_RAISE(auto dropped, t->DropIndex(p.vector_column));
  const uint64_t v = dropped->version();
  Emit({{"vector_column", p.vector_column}, {"version", v}},
       p.vector_column + ": index dropped, files searched by exact scan (version " +
           std::to_string(v) + ")\n");
  return arrow::Status::OK();
}

arrow::Status CmdIndex(const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  json j = json::object();
  std::string text;
  ARROW_RETURN_NOT_OK(BuildPending(t, &j, &text));
  Emit(j, text);
  return arrow::Status::OK();
}

arrow::Status CmdRestore(const std::string& uri, const std::string& at) {
  ARROW_ASSIGN_OR_RAISE(auto old, OpenTable(uri, at));
  ARROW_ASSIGN_OR_RAISE(auto restored, old->Restore(old->version()));
  const uint64_t v = restored->version();
  Emit({{"table", uri}, {"restored", old->version()}, {"version", v}},
       "restored version " + std::to_string(old->version()) + " of " + uri + " as version " +
           std::to_string(v) + "\n");
  return arrow::Status::OK();
}

arrow::Status CmdTagList(const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_ASSIGN_OR_RAISE(auto tags, t->Tags());
  json j = json::object();
  std::string text;
  for (const auto& x : tags) {
    j[x.name] = x.version;
    text += x.name + "\t" + std::to_string(x.version) + "\n";
  }
  Emit({{"table", uri}, {"tags", j}}, text);
  return arrow::Status::OK();
}

arrow::Status CmdTagCreate(const std::string& uri, const std::string& name, uint64_t version) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_RETURN_NOT_OK(t->CreateTag(name, version));
  Emit({{"table", uri}, {"tag", name}, {"version", version}},
       "tag " + name + " -> version " + std::to_string(version) + "\n");
  return arrow::Status::OK();
}

arrow::Status CmdTagDelete(const std::string& uri, const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto t, OpenTable(uri));
  ARROW_RETURN_NOT_OK(t->DeleteTag(name));
  Emit({{"table", uri}, {"deleted", name}}, "deleted tag " + name + "\n");
  return arrow::Status::OK();
}

arrow::Status CmdStorageFormat(const std::string& uri, const std::string& new_format) {
  ARROW_ASSIGN_OR_RAISE(auto t, Table::Open(uri, std::nullopt, g.storage));
  uint64_t version = t->version();
  FileFormat f = t->storage_format();
  if (!new_format.empty()) {
    auto parsed = ParseFileFormat(new_format);
    if (!parsed.ok()) return UsageError("format", parsed.status().message());
    ARROW_ASSIGN_OR_RAISE(auto changed, t->SetStorageFormat(*parsed));
    version = changed->version();
    f = *parsed;
  }
  Emit({{"table", uri}, {"storage_format", FileFormatName(f)}, {"version", version}},
       uri + ": " + std::string(FileFormatName(f)) + VersionText(version));
  return arrow::Status::OK();
}

// The table a data file belongs to: the nearest parent directory holding
// _versions/, and the file's path inside it.
std::optional<std::pair<std::string, std::string>> TableOfFile(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path abs = fs::absolute(file, ec);
  if (ec) return std::nullopt;
  for (fs::path dir = abs.parent_path(); !dir.empty() && dir != dir.parent_path();
       dir = dir.parent_path()) {
    if (fs::is_directory(dir / "_versions", ec)) {
      return std::make_pair(dir.string(), abs.lexically_relative(dir).generic_string());
    }
  }
  return std::nullopt;
}

arrow::Status CmdVerify(const std::string& target) {
  json problems = json::array();
  json j = {{"target", target}};
  auto table = Table::Open(target, std::nullopt, g.storage);
  if (!table.ok()) {
    // One file. A data file of a table is opened through the table, so that
    // a section built with the table's shared IVF-PQ codebook finds it.
    std::shared_ptr<AilakeFileReader> reader;
    if (auto owner = TableOfFile(target)) {
      auto t = Table::Open(owner->first, std::nullopt, g.storage);
      if (t.ok()) {
        auto r = (*t)->OpenDataFile(owner->second);
        if (r.ok()) reader = *r;
      }
    }
    if (!reader) {
      ARROW_ASSIGN_OR_RAISE(reader, AilakeFileReader::Open(target));
    }
    for (auto& p : reader->VerifyAll()) problems.push_back(p);
    j["files_checked"] = 1;
  } else {
    ARROW_ASSIGN_OR_RAISE(auto report, (*table)->Verify([](int64_t done, int64_t total) {
      Progress("verifying", done, total);
    }));
    for (auto& p : report.problems) problems.push_back(p);
    j["manifests_checked"] = report.manifests_checked;
    j["files_checked"] = report.files_checked;
    j["deletion_files_checked"] = report.deletion_files_checked;
  }
  j["ok"] = problems.empty();
  j["problems"] = problems;
  std::ostringstream os;
  os << (problems.empty() ? "OK: " : "FAILED: ");
  if (j.contains("manifests_checked")) {
    os << j["manifests_checked"].get<int>() << " manifests, " << j["files_checked"].get<int>()
       << " data files, " << j["deletion_files_checked"].get<int>() << " deletion files checked";
  } else {
    os << "1 file checked";
  }
  os << (problems.empty() ? "" : ", " + std::to_string(problems.size()) + " problems") << "\n";
  for (const auto& p : problems) os << "  " << p.get<std::string>() << "\n";
  Emit(j, os.str());
  return problems.empty() ? arrow::Status::OK() : ReportedFailure();
}

}  // namespace

void AddMaintainCommands(CLI::App& app, Command* run) {
  {
    struct Args {
      std::string uri;
      uint32_t retain_versions = 1;
      int64_t grace_seconds = 3600, older_than_seconds = -1;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand("cleanup",
                                 "remove old versions and the files no remaining version uses");
    c->add_option("table", a->uri)->required();
    c->add_option("--retain-versions", a->retain_versions, "newest versions kept (at least 1)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    c->add_option("--older-than-seconds", a->older_than_seconds,
                  "remove only versions at least this old (tagged versions are always kept)")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--grace-seconds", a->grace_seconds,
                  "keep unreferenced files younger than this (a commit may be in progress)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    c->callback([a, run] {
      *run = [a] {
        return CmdCleanup(a->uri, a->retain_versions, a->grace_seconds, a->older_than_seconds);
      };
    });
  }
  {
    auto a = std::make_shared<std::pair<std::string, int64_t>>("", 1 << 20);
    auto* c = app.add_subcommand("compact", "merge small fragments and drop deleted rows");
    c->add_option("table", a->first)->required();
    c->add_option("--target-rows", a->second, "rows per fragment after compaction")
        ->capture_default_str();
    c->callback([a, run] { *run = [a] { return CmdCompact(a->first, a->second); }; });
  }
  {
    auto a = std::make_shared<std::pair<std::string, int>>("", 10);
    auto* c = app.add_subcommand(
        "optimize",
        "merge small fragments (log-structured: a row is rewritten once per size tier), "
        "drop deleted rows and build pending indexes");
    c->add_option("table", a->first)->required();
    c->add_option("--merge-factor", a->second, "fragments of one size tier merged at once")
        ->capture_default_str();
    c->callback([a, run] { *run = [a] { return CmdOptimize(a->first, a->second); }; });
  }
  {
    auto a = std::make_shared<CreateIndexArgs>();
    auto* c = app.add_subcommand(
        "create-index",
        "give a vector column a new index (table indexed or not), or a text column a "
        "full-text index (--fts), then build every file's");
    c->add_option("table", a->uri)->required();
    c->add_option("--index", a->index, "hnsw | ivf_pq | flat | auto (a vector index)");
    c->add_option("--fts", a->fts, "text column to give a full-text (BM25) index instead");
    c->add_option("--tokenizer", a->tokenizer, "--fts: simple | icu | whitespace")
        ->capture_default_str();
    c->add_option("--stemmer", a->stemmer, "--fts: Snowball language (english, french, ...)");
    c->add_option("--stop-words", a->stop_words, "--fts: comma-separated words dropped");
    c->add_flag("--no-positions", a->no_positions, "--fts: no term positions (no phrase queries)");
    c->add_option("--vector-column", a->column, "vector column (default: the first)");
    c->add_option("--hnsw-m", a->m, "HNSW M (default: the column's)");
    c->add_option("--ef-construction", a->ef, "HNSW ef_construction");
    c->add_option("--nlist", a->nlist, "IVF lists");
    c->add_option("--pq-m", a->pq_m, "PQ sub-spaces");
    c->add_option("--pq-bits", a->pq_bits, "bits per PQ code: 8, or 4 (fast-scan)");
    c->add_option("--traversal", a->traversal,
                  "HNSW: exact | sq8 | sq4 | auto (default: the column's)");
    c->callback([a, run] { *run = [a] { return CmdCreateIndex(*a); }; });
  }
  {
    auto a = std::make_shared<std::array<std::string, 3>>();
    auto* c = app.add_subcommand("drop-index",
                                 "remove a vector column's index (searched by exact scan from "
                                 "then on), or a text column's full-text index (--fts)");
    c->add_option("table", (*a)[0])->required();
    c->add_option("--vector-column", (*a)[1], "vector column (default: the first)");
    c->add_option("--fts", (*a)[2], "text column whose full-text index to drop");
    c->callback([a, run] { *run = [a] { return CmdDropIndex((*a)[0], (*a)[1], (*a)[2]); }; });
  }
  {
    auto a = std::make_shared<std::string>();
    auto* c = app.add_subcommand("index", "build the indexes that deferred writes left pending");
    c->add_option("table", *a)->required();
    c->callback([a, run] { *run = [a] { return CmdIndex(*a); }; });
  }
  {
    auto a = std::make_shared<std::pair<std::string, std::string>>();
    auto* c = app.add_subcommand(
        "restore", "make an old version (a number or a tag) the newest, as a new version");
    c->add_option("table", a->first)->required();
    c->add_option("version", a->second, "the version (or tag) to restore")->required();
    c->callback([a, run] { *run = [a] { return CmdRestore(a->first, a->second); }; });
  }
  {
    struct Args {
      std::string uri, name;
      uint64_t version = 0;
    };
    auto a = std::make_shared<Args>();
    auto* c = app.add_subcommand(
        "tag", "names for versions: list, create NAME VERSION, delete NAME (cleanup keeps them)");
    c->require_subcommand(1);
    auto* list = c->add_subcommand("list", "every tag and the version it names");
    list->add_option("table", a->uri)->required();
    list->callback([a, run] { *run = [a] { return CmdTagList(a->uri); }; });
    auto* create = c->add_subcommand("create", "name VERSION of the table NAME");
    create->add_option("table", a->uri)->required();
    create->add_option("name", a->name)->required();
    create->add_option("version", a->version)->required();
    create->callback(
        [a, run] { *run = [a] { return CmdTagCreate(a->uri, a->name, a->version); }; });
    auto* del = c->add_subcommand("delete", "remove the tag NAME");
    del->add_option("table", a->uri)->required();
    del->add_option("name", a->name)->required();
    del->callback([a, run] { *run = [a] { return CmdTagDelete(a->uri, a->name); }; });
  }
  {
    auto a = std::make_shared<std::pair<std::string, std::string>>();
    auto* c = app.add_subcommand(
        "storage-format",
        "show or set the container of the table's new data files (parquet | lance); optimize "
        "rewrites the files stored in the other one");
    c->add_option("table", a->first)->required();
    c->add_option("format", a->second, "parquet | lance (omit to show)");
    c->callback([a, run] { *run = [a] { return CmdStorageFormat(a->first, a->second); }; });
  }
  {
    auto a = std::make_shared<std::string>();
    auto* c = app.add_subcommand("verify", "check a table's files (or one file) for consistency");
    c->add_option("target", *a)->required();
    c->callback([a, run] { *run = [a] { return CmdVerify(*a); }; });
  }
}

}  // namespace ailake::cli
