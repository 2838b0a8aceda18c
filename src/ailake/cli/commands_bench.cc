// The bench verb: ingest synthetic vectors, then measure recall and QPS.
#include <arrow/api.h>

#include <random>
#include <set>
#include <sstream>

#include "ailake/cli/common.h"
#include "ailake/query.h"

namespace ailake::cli {
namespace {

arrow::Status CmdBench(const std::string& uri, int64_t rows, uint32_t dim, int queries, uint32_t k,
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
  ARROW_ASSIGN_OR_RAISE(auto w, TableWriter::Create(uri, schema, {p}, options));
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
    ARROW_RETURN_NOT_OK(
        w->WriteBatchDeferred(*arrow::RecordBatch::Make(schema, n, {id_arr, emb})).status());
    Progress("ingest", first + n, rows);
  }
  const double queryable = Seconds(t0);
  ARROW_RETURN_NOT_OK(w->WaitForIndexing());
  const double indexed = Seconds(t0);
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(uri, std::nullopt, g.storage));
  std::vector<std::vector<float>> qs;
  qs.reserve(std::max(queries, 0));
  for (int i = 0; i < queries; ++i) qs.push_back(make(1, i * 7 + 3));
  SearchOptions exact;
  exact.k = k;
  exact.exact = true;
  exact.columns = {"id"};
  SearchOptions approx = exact;
  approx.exact = false;
  approx.params.ef = ef;
  approx.num_threads = 1;
  double hits = 0, t_exact = 0, t_approx = 0;
  for (const auto& q : qs) {
    auto a0 = std::chrono::steady_clock::now();
    ARROW_ASSIGN_OR_RAISE(auto truth, Search(*table, q, exact));
    t_exact += Seconds(a0);
    auto b0 = std::chrono::steady_clock::now();
    ARROW_ASSIGN_OR_RAISE(auto got, Search(*table, q, approx));
    t_approx += Seconds(b0);
    auto ti =
        std::static_pointer_cast<arrow::UInt64Array>(truth->GetColumnByName("_rowid")->chunk(0));
    auto gi =
        std::static_pointer_cast<arrow::UInt64Array>(got->GetColumnByName("_rowid")->chunk(0));
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
  return arrow::Status::OK();
}

}  // namespace

void AddBenchCommand(CLI::App& app, Command* run) {
  struct Args {
    std::string uri;
    int64_t rows = 100000, fragment_rows = 10000;
    uint32_t dim = 64, k = 10, ef = 64;
    int queries = 100;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("bench", "ingest synthetic vectors, then measure recall and QPS");
  c->add_option("table", a->uri, "directory for the benchmark table (must not exist)")->required();
  c->add_option("--rows", a->rows)->capture_default_str();
  c->add_option("--dim", a->dim)->capture_default_str();
  c->add_option("--queries", a->queries)->capture_default_str();
  c->add_option("--fragment-rows", a->fragment_rows)->capture_default_str();
  c->add_option("-k", a->k)->capture_default_str();
  c->add_option("--ef", a->ef)->capture_default_str();
  c->callback([a, run] {
    *run = [a] {
      return CmdBench(a->uri, a->rows, a->dim, a->queries, a->k, a->ef ? a->ef : 64,
                      a->fragment_rows);
    };
  });
}

}  // namespace ailake::cli
