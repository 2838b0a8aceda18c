// Table search over IVF-PQ files that share the table's codebook: the
// codebook is loaded once through the table context and every file's index
// searches with it; the merged top-k matches exact brute force.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "ailake/query.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 16;

std::vector<float> GaussianVectors(int64_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows) * kDim);
  for (float& x : v) x = g(rng);
  return v;
}

TEST(SharedCodebookSearch, SeveralFilesMatchBruteForce) {
  const std::string dir = TempTableDir("cbs");
  constexpr int kFiles = 4;
  constexpr int64_t kRows = 500;
  std::vector<float> all;
  {
    auto w = TableWriter::Create(dir, TestSchema(kDim), {TestPolicy(kDim)}).ValueOrDie();
    for (int f = 0; f < kFiles; ++f) {
      auto v = GaussianVectors(kRows, 100 + f);
      all.insert(all.end(), v.begin(), v.end());
      auto r = w->WriteBatchIvfPq(*TestBatch(f * kRows, kRows, kDim, v));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  auto t = Table::Open(dir).ValueOrDie();
  ASSERT_FALSE(table::TableAccess::manifest(*t).vector_columns(0).ivf_codebook_path().empty());

  const auto queries = GaussianVectors(20, 999);
  double recall = 0;
  for (int q = 0; q < 20; ++q) {
    std::span<const float> query(&queries[q * kDim], kDim);
    std::vector<std::pair<float, int64_t>> exact;
    for (int64_t id = 0; id < kFiles * kRows; ++id) {
      float d = 0;
      for (uint32_t j = 0; j < kDim; ++j) {
        const float x = query[j] - all[id * kDim + j];
        d += x * x;
      }
      exact.emplace_back(d, id);
    }
    std::sort(exact.begin(), exact.end());
    std::set<int64_t> truth;
    for (int i = 0; i < 10; ++i) truth.insert(exact[i].second);

    SearchOptions o;
    o.k = 10;
    o.params.nprobe = 8;          // every list of nlist = 8
    o.params.refine_factor = 20;  // 200 exact re-ranks per file
    o.prune = false;
    SearchStats stats;
    auto hits = Search(*t, query, o, &stats);
    ASSERT_TRUE(hits.ok()) << hits.status().ToString();
    EXPECT_EQ(stats.files_index_searched, kFiles);
    auto ids = std::static_pointer_cast<arrow::Int64Array>(
        arrow::Concatenate((*hits)->GetColumnByName("id")->chunks()).ValueOrDie());
    auto dist = std::static_pointer_cast<arrow::FloatArray>(
        arrow::Concatenate((*hits)->GetColumnByName("_distance")->chunks()).ValueOrDie());
    ASSERT_EQ(ids->length(), 10);
    int found = 0;
    for (int64_t i = 0; i < ids->length(); ++i) {
      found += truth.count(ids->Value(i)) ? 1 : 0;
      if (i > 0) {
        EXPECT_LE(dist->Value(i - 1), dist->Value(i));
      }
    }
    recall += found / 10.0;
  }
  EXPECT_GE(recall / 20, 0.9);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ailake
