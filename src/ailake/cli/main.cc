// The ailake command. Every verb prints a human-readable result by default
// and JSON with --json. Exit codes: 0 success, 1 the operation failed (the
// message says why), 2 the command line was wrong.
#include <unistd.h>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "ailake/ailake.h"
#include "ailake/cli/npy.h"
#include "ailake/cli/table_io.h"
#include "ailake/file.h"
#include "ailake/query.h"
#include "ailake/table.h"

namespace ailake::cli {
namespace {

using nlohmann::json;

struct Globals {
  bool json = false;
  bool quiet = false;
  StorageOptions storage;  // --storage-option KEY=VALUE (include/ailake/storage.h)
  // --iceberg-vector COLUMN[:METRIC]: vector columns of a plain Iceberg table.
  IcebergOpenOptions iceberg;
};
Globals g;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Progress(const std::string& what, int64_t done, int64_t total) {
  if (g.json || g.quiet || !::isatty(STDERR_FILENO) || total <= 0) return;
  const int width = 30;
  const int fill = static_cast<int>(width * done / total);
  std::cerr << "\r" << what << " [" << std::string(fill, '#') << std::string(width - fill, ' ')
            << "] " << done << "/" << total << (done == total ? "\n" : "") << std::flush;
}

// JSON text of j; bytes that are not UTF-8 (a path or a value read from a
// file) become U+FFFD instead of failing the dump.
std::string Dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

void Emit(const json& j, const std::string& human) {
  if (g.json) {
    std::cout << Dump(j) << "\n";
  } else if (!human.empty()) {
    std::cout << human;
  }
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// --- create / write --------------------------------------------------------

struct PolicyArgs {
  std::string vector_column = "embedding";
  std::string metric = "cosine";
  std::string precision = "f32";
  std::string index = "hnsw";
  uint32_t m = 16, ef_construction = 200, nlist = 256, pq_m = 16;
  bool normalize = false;
  std::string storage_format;  // empty: $AILAKE_STORAGE_FORMAT, else parquet

  void Add(CLI::App* app) {
    app->add_option("--vector-column", vector_column, "vector column name")->capture_default_str();
    app->add_option("--metric", metric, "cosine | euclidean | dot | normalized_cosine")
        ->capture_default_str();
    app->add_option("--precision", precision, "f32 | f16 | int8")->capture_default_str();
    app->add_option("--index", index, "hnsw | ivf_pq | flat | auto | none")->capture_default_str();
    app->add_option("--hnsw-m", m, "HNSW M")->capture_default_str();
    app->add_option("--ef-construction", ef_construction, "HNSW ef_construction")
        ->capture_default_str();
    app->add_option("--nlist", nlist, "IVF lists")->capture_default_str();
    app->add_option("--pq-m", pq_m, "PQ sub-spaces")->capture_default_str();
    app->add_flag("--normalize", normalize, "store unit-length vectors");
    app->add_option("--storage-format", storage_format,
                    "parquet | lance: the container of a new table's data files (default: "
                    "$AILAKE_STORAGE_FORMAT, else parquet)");
  }
  std::optional<FileFormat> StorageFormat() const {
    if (storage_format.empty()) return std::nullopt;
    auto f = ParseFileFormat(storage_format);
    if (!f.ok()) throw CLI::ValidationError("--storage-format", f.status().message());
    return *f;
  }
  arrow::Result<VectorStoragePolicy> Make(uint32_t dim) const {
    VectorStoragePolicy p;
    p.vector_column = vector_column;
    p.dim = dim;
    ARROW_ASSIGN_OR_RAISE(p.metric, ParseMetric(metric));
    ARROW_ASSIGN_OR_RAISE(p.precision, ParsePrecision(precision));
    ARROW_ASSIGN_OR_RAISE(p.index_type, ParseIndexType(index));
    if (p.precision == Precision::kInt8) p.int8.scaling = Int8Scaling::kPerVector;
    p.pre_normalize = normalize || p.metric == DistanceMetric::kNormalizedCosine;
    p.hnsw.m = m;
    p.hnsw.ef_construction = ef_construction;
    p.ivf_pq.nlist = nlist;
    p.ivf_pq.m = pq_m;
    ARROW_RETURN_NOT_OK(p.Validate());
    return p;
  }
};

// Input rows with the vector column as FixedSizeList<float32> (from the file
// itself, or from a separate .npy).
arrow::Result<std::shared_ptr<arrow::Table>> LoadRows(const std::string& input,
                                                      const std::string& format,
                                                      const std::string& vectors,
                                                      const std::string& column, int32_t* dim) {
  ARROW_ASSIGN_OR_RAISE(auto t, ReadInput(input, format));
  if (!vectors.empty()) {
    ARROW_ASSIGN_OR_RAISE(FloatMatrix m, ReadNpyFile(vectors));
    if (m.rows != t->num_rows()) {
      return arrow::Status::Invalid(vectors, " has ", m.rows, " vectors, ", input, " has ",
                                    t->num_rows(), " rows");
    }
    auto type = arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                       static_cast<int32_t>(m.cols));
    // The count first: the buffer takes the vector (argument order is unspecified).
    const auto count = static_cast<int64_t>(m.values.size());
    auto values =
        std::make_shared<arrow::FloatArray>(count, arrow::Buffer::FromVector(std::move(m.values)));
    auto arr = std::make_shared<arrow::FixedSizeListArray>(type, m.rows, values);
    if (t->schema()->GetFieldIndex(column) >= 0) {
      return arrow::Status::Invalid(input, " already has a column '", column, "'");
    }
    ARROW_ASSIGN_OR_RAISE(t, t->AddColumn(t->num_columns(), arrow::field(column, type, false),
                                          std::make_shared<arrow::ChunkedArray>(arr)));
  }
  return NormaliseVectorColumn(t, column, dim);
}

int CmdWrite(const std::string& uri, const std::string& input, const std::string& format,
             const std::string& vectors, const PolicyArgs& pa, bool deferred, int64_t batch_rows,
             bool wait) {
  auto t0 = std::chrono::steady_clock::now();
  int32_t dim = 0;
  auto rows = LoadRows(input, format, vectors, pa.vector_column, &dim);
  if (!rows.ok()) throw std::runtime_error(rows.status().ToString());
  std::unique_ptr<TableWriter> writer;
  // Deferred without --wait: no background pool, the files stay pending for
  // `ailake index` (the process is about to exit anyway).
  TableWriterOptions options;
  options.storage = g.storage;
  options.background_threads = deferred && !wait ? 0 : 1;
  options.storage_format = pa.StorageFormat();
  auto existing = Table::Open(uri, std::nullopt, g.storage);
  if (existing.ok()) {
    auto w = TableWriter::Open(uri, options);
    if (!w.ok()) throw std::runtime_error(w.status().ToString());
    writer = std::move(*w);
  } else {
    auto policy = pa.Make(static_cast<uint32_t>(dim));
    if (!policy.ok()) throw std::runtime_error(policy.status().ToString());
    auto w = TableWriter::Create(uri, (*rows)->schema(), {*policy}, options);
    if (!w.ok()) throw std::runtime_error(w.status().ToString());
    writer = std::move(*w);
  }
  arrow::TableBatchReader reader(**rows);
  reader.set_chunksize(batch_rows);
  std::shared_ptr<arrow::RecordBatch> batch;
  int64_t written = 0;
  uint64_t version = 0;
  while (true) {
    auto st = reader.ReadNext(&batch);
    if (!st.ok()) throw std::runtime_error(st.ToString());
    if (!batch) break;
    auto r = deferred ? writer->WriteBatchDeferred(*batch) : writer->WriteBatch(*batch);
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    version = *r;
    written += batch->num_rows();
    Progress("writing", written, (*rows)->num_rows());
  }
  const double data_s = Seconds(t0);
  if (wait || !deferred) {
    auto st = writer->WaitForIndexing();
    if (!st.ok()) throw std::runtime_error(st.ToString());
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
  return 0;
}

// --- search / scan / take --------------------------------------------------

// An ailake table, else a plain Iceberg table (read-only) at `uri`.
arrow::Result<std::shared_ptr<Table>> OpenAny(const std::string& uri, int64_t version) {
  const std::optional<uint64_t> v =
      version >= 0 ? std::optional<uint64_t>(static_cast<uint64_t>(version)) : std::nullopt;
  auto t = Table::Open(uri, v, g.storage);
  if (t.ok() || t.status().message().find("no ailake table") == std::string::npos) return t;
  auto ice = Table::OpenIceberg(uri, g.iceberg, v, g.storage);
  if (ice.ok() || ice.status().message().find("no Iceberg table") == std::string::npos) {
    return ice;
  }
  return t;
}

std::shared_ptr<Table> OpenTable(const std::string& uri, int64_t version) {
  auto t = OpenAny(uri, version);
  if (!t.ok()) throw std::runtime_error(t.status().ToString());
  return *t;
}

std::vector<float> ReadQuery(const std::string& npy, const std::string& text) {
  if (!npy.empty()) {
    auto m = ReadNpyFile(npy);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    if (m->rows != 1) {
      throw std::runtime_error(npy + ": a query .npy must hold one vector, it holds " +
                               std::to_string(m->rows));
    }
    return m->values;
  }
  try {
    auto j = json::parse(text);
    if (!j.is_array()) throw std::runtime_error("");
    std::vector<float> q;
    for (const auto& v : j) q.push_back(v.get<float>());
    return q;
  } catch (const std::exception&) {
    throw std::runtime_error("--query-json must be a JSON array of numbers, got: " + text);
  }
}

void PrintResult(const std::shared_ptr<arrow::Table>& t, json extra, const std::string& footer) {
  if (g.json) {
    auto rows = TableToJson(*t);
    if (!rows.ok()) throw std::runtime_error(rows.status().ToString());
    extra["rows"] = *rows;
    std::cout << Dump(extra) << "\n";
  } else {
    PrintTable(*t, std::cout);
    if (!footer.empty()) std::cout << footer;
  }
}

// --- info / verify ---------------------------------------------------------

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

int CmdInfo(const std::string& target, int64_t version) {
  auto table = OpenAny(target, version);
  if (!table.ok()) {
    auto reader = AilakeFileReader::Open(target);
    if (!reader.ok()) {
      throw std::runtime_error("'" + target + "' is neither an ailake table (" +
                               table.status().message() + ") nor a readable file (" +
                               reader.status().message() + ")");
    }
    json j = FileInfo(**reader);
    j["path"] = target;
    std::ostringstream os;
    os << target << ": " << (*reader)->num_rows() << " rows, " << (*reader)->file_size()
       << " bytes, " << ((*reader)->IsAilakeFile() ? "AI-Lake file" : "plain file") << " ("
       << ((*reader)->format() == FileFormat::kLance ? "Lance " + ContainerVersion(**reader)
                                                     : std::string("Parquet"))
       << ")\n";
    for (const auto& c : j["vector_columns"]) {
      os << "  vector column " << c["name"].get<std::string>() << ": dim " << c["dim"] << ", "
         << c["metric"].get<std::string>() << ", " << c["precision"].get<std::string>();
      if (c["has_section"]) {
        os << ", AILK v" << c["section"]["format_version"] << " at " << c["section"]["offset"]
           << " (" << c["section"]["length"] << " bytes, index "
           << c["section"]["index_type"].get<std::string>() << ")";
      } else {
        os << ", no AILK section";
      }
      os << "\n";
    }
    Emit(j, os.str());
    return 0;
  }
  const auto& t = *table;
  auto versions = t->Versions();
  if (!versions.ok()) throw std::runtime_error(versions.status().ToString());
  json vj = json::array();
  for (const auto& v : *versions) {
    vj.push_back({{"version", v.version},
                  {"timestamp_micros", v.timestamp_micros},
                  {"operation", v.operation},
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
                       {"index_state", d.index_state},
                       {"columns", d.columns}});
      bytes += d.size_bytes;
      pending += d.index_state == "pending";
    }
    frags.push_back(
        {{"id", f.id}, {"rows", f.physical_rows}, {"deleted", f.deleted_rows}, {"files", files}});
  }
  json vcs = json::array();
  for (const auto& p : t->vector_columns()) {
    vcs.push_back({{"name", p.vector_column},
                   {"dim", p.dim},
                   {"metric", MetricName(p.metric)},
                   {"precision", PrecisionName(p.precision)},
                   {"index", IndexTypeName(p.index_type)}});
  }
  auto view = t->IcebergView();
  if (!view.ok()) throw std::runtime_error(view.status().ToString());
  json j = {{"table", target},
            {"version", t->version()},
            {"iceberg_view", ViewJson(*view)},
            {"storage_format", FileFormatName(t->storage_format())},
            {"rows", t->num_rows()},
            {"schema", t->schema()->ToString()},
            {"vector_columns", vcs},
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
  os << ViewText(*view);
  os << "schema:\n" << t->schema()->ToString() << "\nversions:\n";
  for (const auto& v : *versions) {
    os << "  " << v.version << "  " << v.operation << "  rows=" << v.num_rows
       << "  fragments=" << v.num_fragments
       << (v.detail.empty() ? "" : "  " + v.detail.substr(0, 60)) << "\n";
  }
  Emit(j, os.str());
  return 0;
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

int CmdVerify(const std::string& target) {
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
      auto r = AilakeFileReader::Open(target);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      reader = std::move(*r);
    }
    for (auto& p : reader->VerifyAll()) problems.push_back(p);
    j["files_checked"] = 1;
  } else {
    auto report =
        (*table)->Verify([](int64_t done, int64_t total) { Progress("verifying", done, total); });
    if (!report.ok()) throw std::runtime_error(report.status().ToString());
    for (auto& p : report->problems) problems.push_back(p);
    j["manifests_checked"] = report->manifests_checked;
    j["files_checked"] = report->files_checked;
    j["deletion_files_checked"] = report->deletion_files_checked;
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
  return problems.empty() ? 0 : 1;
}

int CmdImport(const std::string& source, const std::string& dest,
              const std::vector<std::string>& vector_columns, const std::string& metric,
              const std::string& index) {
  IcebergImportOptions o;
  auto m = ParseMetric(metric);
  if (!m.ok()) throw CLI::ValidationError("--metric", m.status().message());
  auto it = ParseIndexType(index);
  if (!it.ok()) throw CLI::ValidationError("--index", it.status().message());
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
  auto t = Table::ImportIceberg(source, dest, o, g.storage);
  if (!t.ok()) throw std::runtime_error(t.status().ToString());
  json cols = json::array();
  for (const auto& p : (*t)->vector_columns()) cols.push_back(p.vector_column);
  json j = {{"source", source},
            {"table", dest},
            {"version", (*t)->version()},
            {"rows", (*t)->num_rows()},
            {"fragments", (*t)->fragments().size()},
            {"vector_columns", cols},
            {"seconds", Seconds(t0)}};
  std::ostringstream os;
  os << "imported " << (*t)->num_rows() << " rows of Iceberg table " << source << " into " << dest
     << " (" << (*t)->fragments().size() << " data files, version " << (*t)->version() << ")\n";
  Emit(j, os.str());
  return 0;
}

int CmdIcebergStatus(const std::string& target) {
  auto table = Table::Open(target, std::nullopt, g.storage);
  if (!table.ok()) throw std::runtime_error(table.status().ToString());
  auto view = (*table)->IcebergView();
  if (!view.ok()) throw std::runtime_error(view.status().ToString());
  json j = ViewJson(*view);
  j["table"] = target;
  j["version"] = (*table)->version();
  Emit(j, ViewText(*view));
  return 0;
}

int CmdIcebergSwitch(const std::string& target, bool on) {
  auto table = Table::Open(target, std::nullopt, g.storage);
  if (!table.ok()) throw std::runtime_error(table.status().ToString());
  auto v = (*table)->SetIcebergView(on);
  if (!v.ok()) throw std::runtime_error(v.status().ToString());
  auto view = (*table)->IcebergView();
  if (!view.ok()) throw std::runtime_error(view.status().ToString());
  json j = ViewJson(*view);
  j["table"] = target;
  j["version"] = *v;
  Emit(j, ViewText(*view));
  return 0;
}

int CmdIcebergRebuild(const std::string& target) {
  auto table = Table::Open(target, std::nullopt, g.storage);
  if (!table.ok()) throw std::runtime_error(table.status().ToString());
  auto r = (*table)->RebuildIcebergView();
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  json j = {{"table", target},
            {"metadata_path", r->metadata_path},
            {"snapshots", r->snapshots},
            {"lagging", r->lagging}};
  std::ostringstream os;
  os << "wrote " << r->metadata_path << ": " << r->snapshots << " snapshots";
  if (!r->lagging.empty()) os << ", " << r->lagging.size() << " versions not expressible";
  os << "\n";
  for (const auto& l : r->lagging) os << "  " << l << "\n";
  Emit(j, os.str());
  return 0;
}

// --- bench -----------------------------------------------------------------

int CmdBench(const std::string& uri, int64_t rows, uint32_t dim, int queries, uint32_t k,
             uint32_t ef, int64_t fragment_rows) {
  std::mt19937_64 rng(42);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  const int clusters = 64;
  std::vector<float> centres(static_cast<size_t>(clusters) * dim);
  for (float& c : centres) c = noise(rng) * 3.0f;
  auto make = [&](int64_t n, int64_t first) {
    std::vector<float> v(static_cast<size_t>(n) * dim);
    for (int64_t r = 0; r < n; ++r) {
      const float* c = &centres[static_cast<size_t>((first + r) % clusters) * dim];
      for (uint32_t j = 0; j < dim; ++j) v[r * dim + j] = c[j] + noise(rng) * 0.5f;
    }
    return v;
  };
  VectorStoragePolicy p;
  p.dim = dim;
  p.metric = DistanceMetric::kEuclidean;
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64(), false),
       arrow::field("embedding",
                    arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                           static_cast<int32_t>(dim)),
                    false)});
  TableWriterOptions options;
  options.storage = g.storage;
  auto w = TableWriter::Create(uri, schema, {p}, options);
  if (!w.ok()) throw std::runtime_error(w.status().ToString());
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < rows; first += fragment_rows) {
    const int64_t n = std::min(fragment_rows, rows - first);
    auto v = make(n, first);
    arrow::Int64Builder ids;
    for (int64_t i = 0; i < n; ++i) (void)ids.Append(first + i);
    std::shared_ptr<arrow::Array> id_arr;
    (void)ids.Finish(&id_arr);
    auto values =
        std::make_shared<arrow::FloatArray>(n * dim, arrow::Buffer::FromVector(std::move(v)));
    auto emb = std::make_shared<arrow::FixedSizeListArray>(schema->field(1)->type(), n, values);
    auto r = (*w)->WriteBatchDeferred(*arrow::RecordBatch::Make(schema, n, {id_arr, emb}));
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    Progress("ingest", first + n, rows);
  }
  const double queryable = Seconds(t0);
  auto st = (*w)->WaitForIndexing();
  if (!st.ok()) throw std::runtime_error(st.ToString());
  const double indexed = Seconds(t0);
  auto table = Table::Open(uri, std::nullopt, g.storage);
  if (!table.ok()) throw std::runtime_error(table.status().ToString());
  std::vector<std::vector<float>> qs;
  qs.reserve(std::max(queries, 0));
  for (int i = 0; i < queries; ++i) qs.push_back(make(1, i * 7 + 3));
  VectorSearchOptions exact;
  exact.k = k;
  exact.exact = true;
  exact.columns = {"id"};
  VectorSearchOptions approx = exact;
  approx.exact = false;
  approx.params.ef = ef;
  approx.num_threads = 1;
  double hits = 0, t_exact = 0, t_approx = 0;
  for (const auto& q : qs) {
    auto a0 = std::chrono::steady_clock::now();
    auto truth = Search(**table, q, exact);
    t_exact += Seconds(a0);
    auto b0 = std::chrono::steady_clock::now();
    auto got = Search(**table, q, approx);
    t_approx += Seconds(b0);
    if (!truth.ok() || !got.ok()) throw std::runtime_error("search failed");
    auto ti =
        std::static_pointer_cast<arrow::UInt64Array>((*truth)->GetColumnByName("_rowid")->chunk(0));
    auto gi =
        std::static_pointer_cast<arrow::UInt64Array>((*got)->GetColumnByName("_rowid")->chunk(0));
    std::set<uint64_t> s;
    for (int64_t i = 0; i < ti->length(); ++i) s.insert(ti->Value(i));
    for (int64_t i = 0; i < gi->length(); ++i) hits += s.count(gi->Value(i));
  }
  json j = {{"rows", rows},
            {"dim", dim},
            {"fragments", (rows + fragment_rows - 1) / fragment_rows},
            {"seconds_until_queryable", queryable},
            {"seconds_until_indexed", indexed},
            {"queries", queries},
            {"k", k},
            {"ef", ef},
            {"recall_at_k", hits / (double(queries) * k)},
            {"qps_index_1_thread", queries / t_approx},
            {"qps_exact", queries / t_exact}};
  std::ostringstream os;
  os << "ingest " << rows << " x " << dim << ": queryable after " << queryable
     << " s, indexed after " << indexed << " s\n"
     << "search k=" << k << " ef=" << ef << ": recall@" << k << " " << j["recall_at_k"] << ", "
     << j["qps_index_1_thread"] << " QPS (1 thread) vs exact scan " << j["qps_exact"] << " QPS\n";
  Emit(j, os.str());
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"ailake: tables of Parquet files with the vector index inside"};
  app.require_subcommand(1);
  app.add_flag("--json", g.json, "print JSON for scripts");
  app.add_flag("-q,--quiet", g.quiet, "no progress output");
  std::vector<std::string> storage_kv;
  app.add_option("--storage-option", storage_kv,
                 "KEY=VALUE setting of an s3:// table, repeatable (aws_endpoint, aws_region, "
                 "aws_access_key_id, aws_secret_access_key, aws_session_token, allow_http, "
                 "connect_timeout, request_timeout, max_retries, cache_bytes)")
      ->type_size(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::vector<std::string> iceberg_vectors;
  app.add_option("--iceberg-vector", iceberg_vectors,
                 "COLUMN[:METRIC]: a fixed[4*dim] column of a plain Iceberg table to read as "
                 "f32 vectors (searched by exact scan), repeatable")
      ->type_size(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  // Global options may also follow the command ("ailake search T --json").
  app.fallthrough();
  app.set_version_flag("--version", std::string(Version()));

  std::string uri, input, format, vectors, filter, columns, query_npy, query_json, rowids, name,
      from, key, target;
  int64_t version = -1, limit = -1, batch_rows = 100000, target_rows = 1 << 20, rows = 100000,
          fragment_rows = 10000;
  uint32_t k = 10, ef = 0, nprobe = 0, dim = 64;
  int queries = 100;
  bool deferred = false, wait = false, exact = false;
  PolicyArgs pa;
  std::function<int()> run;

  auto* create = app.add_subcommand("create", "create an empty table from an input file's schema");
  create->add_option("table", uri, "table directory")->required();
  create->add_option("input", input, "file whose schema (and vector column) the table takes")
      ->required();
  create->add_option("--format", format, "parquet | ipc | csv | npy");
  create->add_option("--vectors", vectors, ".npy of vectors, one per input row");
  pa.Add(create);
  create->callback([&] {
    run = [&] {
      int32_t d = 0;
      auto t = LoadRows(input, format, vectors, pa.vector_column, &d);
      if (!t.ok()) throw std::runtime_error(t.status().ToString());
      auto p = pa.Make(static_cast<uint32_t>(d));
      if (!p.ok()) throw std::runtime_error(p.status().ToString());
      auto created = Table::Create(uri, (*t)->schema(), {*p}, g.storage, pa.StorageFormat());
      if (!created.ok()) throw std::runtime_error(created.status().ToString());
      Emit({{"table", uri}, {"version", (*created)->version()}},
           "created " + uri + " (dim " + std::to_string(d) + ")\n");
      return 0;
    };
  });

  auto* write = app.add_subcommand("write", "append rows from Parquet, Arrow IPC, CSV or .npy");
  write->add_option("table", uri, "table directory (created if missing)")->required();
  write->add_option("input", input, "input file")->required();
  write->add_option("--format", format, "parquet | ipc | csv | npy (default: from extension)");
  write->add_option("--vectors", vectors, ".npy of vectors, one per input row");
  write->add_option("--batch-rows", batch_rows, "rows per data file")->capture_default_str();
  write->add_flag("--deferred", deferred, "commit data now, build indexes in the background");
  write->add_flag("--wait", wait, "with --deferred: wait until indexes are built");
  pa.Add(write);
  write->callback([&] {
    run = [&] { return CmdWrite(uri, input, format, vectors, pa, deferred, batch_rows, wait); };
  });

  auto* search = app.add_subcommand("search", "nearest rows to a query vector");
  search->add_option("table", uri)->required();
  search->add_option("--query", query_npy, "query vector (.npy, one vector)");
  search->add_option("--query-json", query_json, "query vector as a JSON array");
  search->add_option("-k", k, "results")->capture_default_str();
  search->add_option("--filter", filter, "SQL-like filter, e.g. \"category = 3 AND price < 10\"");
  search->add_option("--columns", columns, "comma-separated columns to return");
  search->add_option("--version", version, "table version (time travel)");
  search->add_option("--vector-column", name, "vector column (default: the first)");
  search->add_option("--ef", ef, "HNSW ef per query");
  search->add_option("--nprobe", nprobe, "IVF lists probed");
  search->add_flag("--exact", exact, "exact scan (ground truth)");
  search->callback([&] {
    run = [&] {
      if (query_npy.empty() == query_json.empty()) {
        throw CLI::ValidationError("search needs exactly one of --query and --query-json");
      }
      auto t = OpenTable(uri, version);
      VectorSearchOptions opt;
      opt.k = k;
      opt.vector_column = name;
      opt.params.ef = ef;
      opt.params.nprobe = nprobe;
      opt.exact = exact;
      opt.columns = SplitList(columns);
      if (!filter.empty()) {
        auto f = ParseFilter(filter);
        if (!f.ok()) throw std::runtime_error(f.status().ToString());
        opt.filter = *f;
      }
      auto q = ReadQuery(query_npy, query_json);
      SearchStats stats;
      auto t0 = std::chrono::steady_clock::now();
      auto r = Search(*t, q, opt, &stats);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      const double ms = Seconds(t0) * 1000;
      json extra = {{"version", t->version()},
                    {"milliseconds", ms},
                    {"files", stats.files},
                    {"files_pruned", stats.files_pruned},
                    {"files_index_searched", stats.files_index_searched},
                    {"files_exact_scanned", stats.files_exact_scanned}};
      std::ostringstream os;
      os << ms << " ms; " << stats.files << " files: " << stats.files_index_searched
         << " by index, " << stats.files_exact_scanned << " scanned, " << stats.files_pruned
         << " pruned\n";
      PrintResult(*r, extra, os.str());
      return 0;
    };
  });

  auto* scan = app.add_subcommand("scan", "read rows, with projection, filter and limit");
  scan->add_option("table", uri)->required();
  scan->add_option("--columns", columns, "comma-separated columns");
  scan->add_option("--filter", filter, "SQL-like filter");
  scan->add_option("--limit", limit, "at most this many rows");
  scan->add_option("--version", version, "table version");
  scan->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, version);
      ScanOptions opt;
      opt.columns = SplitList(columns);
      opt.limit = limit;
      opt.with_row_id = true;
      if (!filter.empty()) {
        auto f = ParseFilter(filter);
        if (!f.ok()) throw std::runtime_error(f.status().ToString());
        opt.filter = *f;
      }
      auto r = Scan(t, opt);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      PrintResult(*r, {{"version", t->version()}}, "");
      return 0;
    };
  });

  auto* take = app.add_subcommand("take", "rows by row id");
  take->add_option("table", uri)->required();
  take->add_option("--rowids", rowids, "comma-separated row ids")->required();
  take->add_option("--columns", columns, "comma-separated columns");
  take->add_option("--version", version, "table version");
  take->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, version);
      std::vector<RowId> ids;
      for (const auto& s : SplitList(rowids)) {
        try {
          ids.push_back(std::stoull(s));
        } catch (const std::exception&) {
          throw CLI::ValidationError("--rowids: '" + s + "' is not a row id");
        }
      }
      auto r = t->Take(ids, SplitList(columns), true);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      PrintResult(*r, {{"version", t->version()}}, "");
      return 0;
    };
  });

  auto* info =
      app.add_subcommand("info", "describe a table (versions, fragments, files) or one file");
  info->add_option("target", target, "table directory or data file")->required();
  info->add_option("--version", version, "table version");
  info->callback([&] { run = [&] { return CmdInfo(target, version); }; });

  auto* del = app.add_subcommand("delete", "delete the rows matching a filter");
  del->add_option("table", uri)->required();
  del->add_option("--filter", filter, "SQL-like filter")->required();
  del->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      auto f = ParseFilter(filter);
      if (!f.ok()) throw std::runtime_error(f.status().ToString());
      auto n = t->Delete(*f);
      if (!n.ok()) throw std::runtime_error(n.status().ToString());
      auto latest = OpenTable(uri, -1);
      Emit({{"deleted", *n}, {"version", latest->version()}},
           "deleted " + std::to_string(*n) + " rows (version " + std::to_string(latest->version()) +
               ")\n");
      return 0;
    };
  });

  uint32_t retain_versions = 1;
  int64_t grace_seconds = 3600;
  auto* cleanup =
      app.add_subcommand("cleanup", "remove old versions and the files no remaining version uses");
  cleanup->add_option("table", uri)->required();
  cleanup->add_option("--retain-versions", retain_versions, "newest versions kept (at least 1)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cleanup
      ->add_option("--grace-seconds", grace_seconds,
                   "keep unreferenced files younger than this (a commit may be in progress)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cleanup->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      CleanupOptions opt;
      opt.retain_versions = retain_versions;
      opt.grace_seconds = grace_seconds;
      auto r = t->Cleanup(opt);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      Emit({{"versions_removed", r->versions_removed},
            {"files_removed", r->files_removed},
            {"bytes_removed", r->bytes_removed}},
           "removed " + std::to_string(r->versions_removed) + " versions and " +
               std::to_string(r->files_removed) + " files (" + std::to_string(r->bytes_removed) +
               " bytes)\n");
      return 0;
    };
  });

  auto* compact = app.add_subcommand("compact", "merge small fragments and drop deleted rows");
  compact->add_option("table", uri)->required();
  compact->add_option("--target-rows", target_rows, "rows per fragment after compaction")
      ->capture_default_str();
  compact->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      CompactionOptions opt;
      opt.target_rows_per_fragment = target_rows;
      opt.progress = [](int64_t done, int64_t total) { Progress("compacting", done, total); };
      auto r = t->Compact(opt);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      Emit({{"fragments_removed", r->fragments_removed},
            {"fragments_added", r->fragments_added},
            {"rows_dropped", r->rows_dropped},
            {"version", r->version}},
           "compacted " + std::to_string(r->fragments_removed) + " fragments into " +
               std::to_string(r->fragments_added) + ", dropped " + std::to_string(r->rows_dropped) +
               " deleted rows (version " + std::to_string(r->version) + ")\n");
      return 0;
    };
  });

  int merge_factor = 10;
  auto* optimize = app.add_subcommand(
      "optimize",
      "merge small fragments (log-structured: a row is rewritten once per size tier), "
      "drop deleted rows and build pending indexes");
  optimize->add_option("table", uri)->required();
  optimize->add_option("--merge-factor", merge_factor, "fragments of one size tier merged at once")
      ->capture_default_str();
  optimize->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      OptimizeOptions opt;
      opt.merge_factor = merge_factor;
      opt.progress = [](int64_t done, int64_t total) { Progress("optimizing", done, total); };
      auto r = t->Optimize(opt);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      Emit({{"merges", r->merges},
            {"fragments_removed", r->fragments_removed},
            {"fragments_added", r->fragments_added},
            {"rows_rewritten", r->rows_rewritten},
            {"rows_dropped", r->rows_dropped},
            {"codebooks_trained", r->codebooks_trained},
            {"indexes_built", r->indexes_built},
            {"version", r->version}},
           std::to_string(r->merges) + " merges: " + std::to_string(r->fragments_removed) +
               " fragments into " + std::to_string(r->fragments_added) + ", " +
               std::to_string(r->rows_rewritten) + " rows rewritten, " +
               std::to_string(r->rows_dropped) + " deleted rows dropped, " +
               std::to_string(r->indexes_built) + " pending indexes built (version " +
               std::to_string(r->version) + ")\n");
      return 0;
    };
  });

  std::string ci_index, ci_column;
  uint32_t ci_m = 0, ci_ef = 0, ci_nlist = 0, ci_pq_m = 0;
  auto* create_index = app.add_subcommand(
      "create-index",
      "give a vector column a new index (table indexed or not), then rebuild every file's");
  create_index->add_option("table", uri)->required();
  create_index->add_option("--index", ci_index, "hnsw | ivf_pq | flat | auto")->required();
  create_index->add_option("--vector-column", ci_column, "vector column (default: the first)");
  create_index->add_option("--hnsw-m", ci_m, "HNSW M (default: the column's)");
  create_index->add_option("--ef-construction", ci_ef, "HNSW ef_construction");
  create_index->add_option("--nlist", ci_nlist, "IVF lists");
  create_index->add_option("--pq-m", ci_pq_m, "PQ sub-spaces");
  create_index->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      auto p = t->vector_column(ci_column);
      if (!p.ok()) throw std::runtime_error(p.status().ToString());
      auto type = ParseIndexType(ci_index);
      if (!type.ok()) throw CLI::ValidationError("--index", type.status().message());
      p->index_type = *type;
      if (ci_m) p->hnsw.m = ci_m;
      if (ci_ef) p->hnsw.ef_construction = ci_ef;
      if (ci_nlist) p->ivf_pq.nlist = ci_nlist;
      if (ci_pq_m) p->ivf_pq.m = ci_pq_m;
      auto t0 = std::chrono::steady_clock::now();
      auto v = t->CreateIndex(*p);
      if (!v.ok()) throw std::runtime_error(v.status().ToString());
      auto latest = t->Latest();
      if (!latest.ok()) throw std::runtime_error(latest.status().ToString());
      auto n = (*latest)->BuildPendingIndexes(
          {}, [](int64_t done, int64_t total) { Progress("indexing", done, total); });
      if (!n.ok()) throw std::runtime_error(n.status().ToString());
      Emit({{"vector_column", p->vector_column},
            {"index", IndexTypeName(p->index_type)},
            {"files_indexed", *n},
            {"seconds", Seconds(t0)}},
           p->vector_column + ": " + std::string(IndexTypeName(p->index_type)) + " index, " +
               std::to_string(*n) + " files indexed in " + std::to_string(Seconds(t0)) + " s\n");
      return 0;
    };
  });

  auto* index = app.add_subcommand("index", "build the indexes that deferred writes left pending");
  index->add_option("table", uri)->required();
  index->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      auto t0 = std::chrono::steady_clock::now();
      auto n = t->BuildPendingIndexes(
          {}, [](int64_t done, int64_t total) { Progress("indexing", done, total); });
      if (!n.ok()) throw std::runtime_error(n.status().ToString());
      Emit({{"files_indexed", *n}, {"seconds", Seconds(t0)}},
           "indexed " + std::to_string(*n) + " files in " + std::to_string(Seconds(t0)) + " s\n");
      return 0;
    };
  });

  auto* add = app.add_subcommand(
      "add-column", "add columns from a file, matched to the table's rows by a key column");
  add->add_option("table", uri)->required();
  add->add_option("--from", from, "Parquet / IPC / CSV file with the key and the new columns")
      ->required();
  add->add_option("--key", key, "key column present in both")->required();
  add->add_option("--format", format, "input format");
  add->callback([&] {
    run = [&] {
      auto t = OpenTable(uri, -1);
      auto src = ReadInput(from, format);
      if (!src.ok()) throw std::runtime_error(src.status().ToString());
      auto src_key = (*src)->GetColumnByName(key);
      if (!src_key) throw std::runtime_error(from + " has no column '" + key + "'");
      arrow::FieldVector new_fields;
      std::vector<int> new_idx;
      for (int i = 0; i < (*src)->num_columns(); ++i) {
        if ((*src)->schema()->field(i)->name() == key) continue;
        new_fields.push_back((*src)->schema()->field(i)->WithNullable(true));
        new_idx.push_back(i);
      }
      if (new_fields.empty()) throw std::runtime_error(from + " has no column besides the key");
      auto filler = [&](const std::shared_ptr<arrow::Table>& rows)
          -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
        // For each table row, the position of its key in the source (or null).
        ARROW_ASSIGN_OR_RAISE(auto keys, arrow::Concatenate(rows->GetColumnByName(key)->chunks()));
        ARROW_ASSIGN_OR_RAISE(auto src_keys, arrow::Concatenate(src_key->chunks()));
        ARROW_ASSIGN_OR_RAISE(auto pos, arrow::compute::IndexIn(keys, src_keys));
        ARROW_ASSIGN_OR_RAISE(auto batch, (*src)->CombineChunksToBatch());
        std::vector<std::shared_ptr<arrow::Array>> cols;
        for (int i : new_idx) {
          ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(batch->column(i), pos));
          cols.push_back(taken.make_array());
        }
        return arrow::RecordBatch::Make(arrow::schema(new_fields), rows->num_rows(), cols);
      };
      auto v = t->AddColumns(arrow::schema(new_fields), filler, {}, {key});
      if (!v.ok()) throw std::runtime_error(v.status().ToString());
      Emit({{"version", *v}, {"columns_added", static_cast<int>(new_fields.size())}},
           "added " + std::to_string(new_fields.size()) + " columns (version " +
               std::to_string(*v) + ")\n");
      return 0;
    };
  });

  std::vector<std::string> import_vectors;
  std::string import_metric = "euclidean", import_index = "hnsw";
  auto* import_cmd = app.add_subcommand(
      "import",
      "make an ailake table of a plain Iceberg table's current snapshot (its vector columns "
      "indexed)");
  import_cmd->add_option("source", from, "the Iceberg table (directory or metadata file)")
      ->required();
  import_cmd->add_option("table", target, "the new ailake table")->required();
  import_cmd
      ->add_option("--vector-column", import_vectors,
                   "a fixed[4*dim] column of f32 vectors, repeatable")
      ->type_size(1)
      ->allow_extra_args(false);
  import_cmd->add_option("--metric", import_metric)->capture_default_str();
  import_cmd->add_option("--index", import_index, "hnsw, ivf_pq, flat or none")
      ->capture_default_str();
  import_cmd->callback([&] {
    run = [&] { return CmdImport(from, target, import_vectors, import_metric, import_index); };
  });

  auto* verify =
      app.add_subcommand("verify", "check a table's files (or one file) for consistency");
  verify->add_option("target", target)->required();
  verify->callback([&] { run = [&] { return CmdVerify(target); }; });

  auto* iceberg = app.add_subcommand("iceberg", "the table's Apache Iceberg view");
  iceberg->require_subcommand(1);
  auto* rebuild =
      iceberg->add_subcommand("rebuild",
                              "write the Iceberg v2 view afresh from every kept version (a new "
                              "metadata/vN.metadata.json), one snapshot per version");
  rebuild->add_option("table", target)->required();
  rebuild->callback([&] { run = [&] { return CmdIcebergRebuild(target); }; });
  auto* view_status = iceberg->add_subcommand(
      "status", "what the view reflects: its metadata file, version, current snapshot, lag");
  view_status->add_option("table", target)->required();
  view_status->callback([&] { run = [&] { return CmdIcebergStatus(target); }; });
  auto* view_on = iceberg->add_subcommand(
      "on", "publish the view on every commit (the default); catches up every kept version");
  view_on->add_option("table", target)->required();
  view_on->callback([&] { run = [&] { return CmdIcebergSwitch(target, true); }; });
  auto* view_off = iceberg->add_subcommand(
      "off", "stop publishing the view and remove its metadata (cleanup removes the rest)");
  view_off->add_option("table", target)->required();
  view_off->callback([&] { run = [&] { return CmdIcebergSwitch(target, false); }; });

  std::string tag_name;
  uint64_t tag_version = 0;
  auto* tag = app.add_subcommand(
      "tag", "names for versions: list, create NAME VERSION, delete NAME (cleanup keeps them)");
  tag->require_subcommand(1);
  auto* tag_list = tag->add_subcommand("list", "every tag and the version it names");
  tag_list->add_option("table", target)->required();
  tag_list->callback([&] {
    run = [&] {
      auto t = OpenTable(target, -1);
      auto tags = t->Tags();
      if (!tags.ok()) throw std::runtime_error(tags.status().ToString());
      json j = json::object();
      std::string text;
      for (const auto& x : *tags) {
        j[x.name] = x.version;
        text += x.name + "\t" + std::to_string(x.version) + "\n";
      }
      Emit({{"table", target}, {"tags", j}}, text);
      return 0;
    };
  });
  auto* tag_create = tag->add_subcommand("create", "name VERSION of the table NAME");
  tag_create->add_option("table", target)->required();
  tag_create->add_option("name", tag_name)->required();
  tag_create->add_option("version", tag_version)->required();
  tag_create->callback([&] {
    run = [&] {
      auto t = OpenTable(target, -1);
      auto st = t->CreateTag(tag_name, tag_version);
      if (!st.ok()) throw std::runtime_error(st.ToString());
      Emit({{"table", target}, {"tag", tag_name}, {"version", tag_version}},
           "tag " + tag_name + " -> version " + std::to_string(tag_version) + "\n");
      return 0;
    };
  });
  auto* tag_delete = tag->add_subcommand("delete", "remove the tag NAME");
  tag_delete->add_option("table", target)->required();
  tag_delete->add_option("name", tag_name)->required();
  tag_delete->callback([&] {
    run = [&] {
      auto t = OpenTable(target, -1);
      auto st = t->DeleteTag(tag_name);
      if (!st.ok()) throw std::runtime_error(st.ToString());
      Emit({{"table", target}, {"deleted", tag_name}}, "deleted tag " + tag_name + "\n");
      return 0;
    };
  });

  std::string new_format;
  auto* storage_format = app.add_subcommand(
      "storage-format",
      "show or set the container of the table's new data files (parquet | lance); optimize "
      "rewrites the files stored in the other one");
  storage_format->add_option("table", target)->required();
  storage_format->add_option("format", new_format, "parquet | lance (omit to show)");
  storage_format->callback([&] {
    run = [&] {
      auto t = Table::Open(target, std::nullopt, g.storage);
      if (!t.ok()) throw std::runtime_error(t.status().ToString());
      uint64_t version = (*t)->version();
      FileFormat f = (*t)->storage_format();
      if (!new_format.empty()) {
        auto parsed = ParseFileFormat(new_format);
        if (!parsed.ok()) throw CLI::ValidationError("format", parsed.status().message());
        auto v = (*t)->SetStorageFormat(*parsed);
        if (!v.ok()) throw std::runtime_error(v.status().ToString());
        version = *v;
        f = *parsed;
      }
      Emit({{"table", target}, {"storage_format", FileFormatName(f)}, {"version", version}},
           target + ": " + std::string(FileFormatName(f)) + " (version " + std::to_string(version) +
               ")\n");
      return 0;
    };
  });

  auto* bench =
      app.add_subcommand("bench", "ingest synthetic vectors, then measure recall and QPS");
  bench->add_option("table", uri, "directory for the benchmark table (must not exist)")->required();
  bench->add_option("--rows", rows)->capture_default_str();
  bench->add_option("--dim", dim)->capture_default_str();
  bench->add_option("--queries", queries)->capture_default_str();
  bench->add_option("--fragment-rows", fragment_rows)->capture_default_str();
  bench->add_option("-k", k)->capture_default_str();
  bench->add_option("--ef", ef)->capture_default_str();
  bench->callback([&] {
    run = [&] { return CmdBench(uri, rows, dim, queries, k, ef ? ef : 64, fragment_rows); };
  });

  // Every verb's --help names the global options it also accepts.
  const std::function<void(CLI::App*)> add_footer = [&](CLI::App* cmd) {
    cmd->footer(
        "Global options, before or after the command: --json (print JSON for scripts), "
        "-q/--quiet, --storage-option KEY=VALUE, --iceberg-vector COLUMN[:METRIC]");
    for (auto* sub : cmd->get_subcommands({})) add_footer(sub);
  };
  for (auto* sub : app.get_subcommands({})) add_footer(sub);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    for (const auto& kv : storage_kv) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw CLI::ValidationError("--storage-option",
                                   "'" + kv + "' is not KEY=VALUE (e.g. aws_region=eu-west-1)");
      }
      g.storage[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& cm : iceberg_vectors) {
      const size_t colon = cm.find(':');
      VectorStoragePolicy p;
      p.vector_column = cm.substr(0, colon);
      p.dim = 0;
      if (colon != std::string::npos) {
        auto m = ParseMetric(cm.substr(colon + 1));
        if (!m.ok()) throw CLI::ValidationError("--iceberg-vector", m.status().message());
        p.metric = *m;
      } else {
        p.metric = DistanceMetric::kEuclidean;
      }
      if (p.vector_column.empty()) {
        throw CLI::ValidationError("--iceberg-vector", "'" + cm + "' names no column");
      }
      g.iceberg.vector_columns.push_back(p);
    }
    return run ? run() : 2;
  } catch (const CLI::ValidationError& e) {
    std::cerr << "ailake: usage error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    if (g.json) {
      std::cout << Dump(json({{"error", e.what()}})) << "\n";
    }
    std::cerr << "ailake: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ailake::cli

int main(int argc, char** argv) {
  // Main reports the errors of a command; this catches the rest (building the
  // option table, or printing an error as JSON), so the exit status stays 1
  // rather than an abort.
  try {
    return ailake::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ailake: error: %s\n", e.what());
    return 1;
  }
}
