#include "ailake/index/hnsw_index.h"

#include <limits>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "ailake/index/hnsw_codes.h"
#include "ailake/index/hnsw_order.h"
#include "ailake/index/test_util.h"
#include "ailake/vec/distance.h"

namespace ailake::index {
namespace {

using testing::ClusteredData;
using testing::Encode;
using testing::EncodedVectors;

struct Fixture {
  Fixture(uint32_t n, uint32_t dim, DistanceMetric m, Precision prec, uint32_t seed = 1)
      : dim(dim), metric(m) {
    auto rows = ClusteredData(n, dim, 20, seed);
    if (m == DistanceMetric::kNormalizedCosine) vec::NormalizeRows(rows.data(), n, dim);
    enc = Encode(rows, dim, prec);
    policy = testing::Policy(dim, m, prec, IndexType::kHnsw);
    policy.hnsw.m = 12;
    policy.hnsw.ef_construction = 100;
    queries = ClusteredData(50, dim, 20, seed + 100);
  }
  uint32_t dim;
  DistanceMetric metric;
  testing::EncodedVectors enc;
  VectorStoragePolicy policy;
  std::vector<float> queries;
};

double MeanRecall(const VectorIndex& idx, const Fixture& f, uint32_t k, uint32_t ef,
                  const RowFilter* filter = nullptr, uint32_t refine_factor = 0) {
  double sum = 0;
  const uint32_t nq = static_cast<uint32_t>(f.queries.size() / f.dim);
  for (uint32_t i = 0; i < nq; ++i) {
    const float* q = &f.queries[size_t{i} * f.dim];
    SearchParams p;
    p.ef = ef;
    p.refine_factor = refine_factor;
    auto got = idx.Search({q, f.dim}, k, p, filter).ValueOrDie();
    const auto want = testing::OracleTopK(f.metric, f.enc.decoded, f.dim, q, k, filter);
    EXPECT_EQ(got.size(), want.size());
    for (size_t j = 1; j < got.size(); ++j) EXPECT_LE(got[j - 1].distance, got[j].distance);
    for (const Neighbor& nb : got) {
      // Every returned distance is the metric's true distance.
      const double t =
          testing::OracleDistance(f.metric, q, &f.enc.decoded[size_t{nb.row} * f.dim], f.dim);
      EXPECT_NEAR(nb.distance, t, 2e-3 * (1 + std::fabs(t)));
      if (filter != nullptr) {
        EXPECT_TRUE(filter->Contains(nb.row));
      }
    }
    sum += testing::Recall(got, want);
  }
  return sum / nq;
}

TEST(HnswIndexTest, HighRecallForEveryMetricAndPrecision) {
  for (Precision prec : {Precision::kF32, Precision::kF16, Precision::kInt8}) {
    for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                             DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
      Fixture f(3000, 24, m, prec);
      IndexBuildOptions opt;
      opt.num_threads = 2;
      auto idx = BuildIndex(f.policy, f.enc.view, opt).ValueOrDie();
      EXPECT_EQ(idx->type(), IndexType::kHnsw);
      const double r = MeanRecall(*idx, f, 10, 128);
      // Dot product is not a metric (a row need not be its own nearest
      // neighbour), so graph search is weaker there; the build is
      // multi-threaded, so recall varies a little between runs.
      EXPECT_GE(r, m == DistanceMetric::kDotProduct ? 0.7 : 0.93)
          << MetricName(m) << " " << PrecisionName(prec);
    }
  }
}

TEST(HnswIndexTest, LargerEfDoesNotLowerRecall) {
  Fixture f(4000, 32, DistanceMetric::kEuclidean, Precision::kF32);
  auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
  const double low = MeanRecall(*idx, f, 10, 10);
  const double high = MeanRecall(*idx, f, 10, 200);
  EXPECT_GE(high, low);
  EXPECT_GE(high, 0.98);
}

TEST(HnswIndexTest, FilteredSearchReturnsKAllowedRows) {
  Fixture f(3000, 16, DistanceMetric::kEuclidean, Precision::kF32);
  auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
  // Moderate (every 3rd row): graph walk with the filter inside.
  testing::FilterBits third(3000, [](uint32_t r) { return r % 3 == 0; });
  EXPECT_GE(MeanRecall(*idx, f, 10, 64, &third.filter), 0.9);
  // Very selective (7 rows): all 7 come back although k = 10.
  testing::FilterBits seven(3000, [](uint32_t r) { return r % 400 == 9; });
  auto got = idx->Search({f.queries.data(), f.dim}, 10, {}, &seven.filter).ValueOrDie();
  EXPECT_EQ(got.size(), 8u);
  EXPECT_EQ(MeanRecall(*idx, f, 10, 64, &seven.filter), 1.0);
  // Nothing allowed.
  testing::FilterBits none(3000, [](uint32_t) { return false; });
  EXPECT_TRUE(idx->Search({f.queries.data(), f.dim}, 10, {}, &none.filter).ValueOrDie().empty());
}

TEST(HnswIndexTest, BlobRoundTripSearchesIdentically) {
  Fixture f(2000, 20, DistanceMetric::kCosine, Precision::kF32);
  auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
  auto blob = idx->Serialize().ValueOrDie();
  // Copy into a fresh buffer at an odd offset: the loader must not need alignment.
  std::vector<uint8_t> storage(static_cast<size_t>(blob->size()) + 3);
  std::memcpy(storage.data() + 3, blob->data(), static_cast<size_t>(blob->size()));
  auto view = std::make_shared<arrow::Buffer>(storage.data() + 3, blob->size());
  auto loaded = LoadIndex(view, f.enc.view).ValueOrDie();
  EXPECT_EQ(loaded->type(), IndexType::kHnsw);
  for (uint32_t i = 0; i < 10; ++i) {
    const float* q = &f.queries[size_t{i} * f.dim];
    auto a = idx->Search({q, f.dim}, 5).ValueOrDie();
    auto b = loaded->Search({q, f.dim}, 5).ValueOrDie();
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); ++j) {
      EXPECT_EQ(a[j].row, b[j].row);
      EXPECT_EQ(a[j].distance, b[j].distance);
    }
  }
}

// The build is a function of the vectors and the seed: the same blob from
// one thread or several, run after run; another seed gives another graph.
TEST(HnswIndexTest, BuildIsDeterministicWhateverTheThreadCount) {
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kCosine}) {
    Fixture f(3000, 24, m, Precision::kF32, 5);
    auto blob_of = [&](uint32_t threads, uint64_t seed) {
      VectorStoragePolicy p = f.policy;
      p.hnsw.seed = seed;
      IndexBuildOptions o;
      o.num_threads = threads;
      auto idx = BuildIndex(p, f.enc.view, o).ValueOrDie();
      return idx->Serialize().ValueOrDie();
    };
    auto one = blob_of(1, 7);
    for (uint32_t threads : {2u, 3u, 2u}) {
      auto again = blob_of(threads, 7);
      ASSERT_EQ(again->size(), one->size()) << threads;
      EXPECT_TRUE(again->Equals(*one)) << threads << " threads";
    }
    EXPECT_FALSE(blob_of(2, 8)->Equals(*one));
    // Queries from other clusters than the rows: a hard case (0.91-0.93 at
    // ef 64 whether rows are inserted one by one or in batches).
    auto idx = BuildIndex(f.policy, f.enc.view, {2}).ValueOrDie();
    EXPECT_GE(MeanRecall(*idx, f, 10, 64), 0.88);
  }
}

TEST(HnswIndexTest, BlobCostsAtMostTwoMPlusEightWordsPerRow) {
  Fixture f(5000, 8, DistanceMetric::kCosine, Precision::kF32);
  f.policy.hnsw.m = 16;
  f.policy.hnsw.traversal = HnswTraversal::kExact;
  auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
  auto blob = idx->Serialize().ValueOrDie();
  EXPECT_LE(static_cast<double>(blob->size()) / 5000.0, (2.0 * 16 + 8) * 4);
  // Traversal codes add one byte per dimension, padded to 32 per row.
  f.policy.hnsw.traversal = HnswTraversal::kSq8;
  auto sq8 = BuildIndex(f.policy, f.enc.view).ValueOrDie()->Serialize().ValueOrDie();
  EXPECT_LE(static_cast<double>(sq8->size()) / 5000.0, (2.0 * 16 + 8) * 4 + 32);
}

// Rows around `clusters` centres drawn in [-100, 100]^dim, `noise` apart.
std::vector<float> TightClusters(uint32_t n, uint32_t dim, uint32_t clusters, float noise,
                                 uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  std::normal_distribution<float> g(0.0f, noise);
  std::vector<float> centres(size_t{clusters} * dim), rows(size_t{n} * dim);
  for (float& x : centres) x = u(rng);
  for (uint32_t r = 0; r < n; ++r) {
    const uint32_t c = rng() % clusters;
    for (uint32_t i = 0; i < dim; ++i)
      rows[size_t{r} * dim + i] = centres[size_t{c} * dim + i] + g(rng);
  }
  return rows;
}

// How the loader names a graph position of a blob: "node N (row R)" when its
// nodes are renumbered, else "row N".
std::string NodeText(const std::vector<uint8_t>& blob, uint32_t node) {
  const CommonHeader h =
      ReadCommonHeader(arrow::Buffer(blob.data(), static_cast<int64_t>(blob.size()))).ValueOrDie();
  if ((h.flags & kFlagRenumberedNodes) == 0) return "row " + std::to_string(node);
  const uint32_t row = LoadU32(blob.data() + LoadU64(blob.data() + kHnswNodeRowsOff) + 4ull * node);
  return "node " + std::to_string(node) + " (row " + std::to_string(row) + ")";
}

// The code kind an HNSW blob was built with (0: walked on the stored vectors).
uint32_t CodeKind(const VectorIndex& idx) {
  auto blob = idx.Serialize().ValueOrDie();
  const CommonHeader h = ReadCommonHeader(*blob).ValueOrDie();
  return (h.flags & kFlagTraversalCodes) != 0 ? LoadU32(blob->data() + kHnswCodeKind) : 0;
}

// The default traversal, kAuto, is decided when the index is built, from how
// well each code ranks a sample's neighbours: 4-bit records from
// kHnswSq4MinDim dimensions where they rank them as well as 8-bit codes;
// 8-bit codes where 4-bit ones cannot tell tight clusters' rows apart; the
// stored vectors where 8-bit codes cannot either.
TEST(HnswIndexTest, AutoTraversalIsMeasuredOnASample) {
  EXPECT_EQ(HnswConfig{}.traversal, HnswTraversal::kAuto);
  EXPECT_EQ(ParseHnswTraversal("auto").ValueOrDie(), HnswTraversal::kAuto);
  EXPECT_EQ(HnswTraversalName(HnswTraversal::kAuto), "auto");
  const double r4 = 0.97, r4_low = 0.5;
  EXPECT_EQ(ChooseTraversal(1.0, &r4), HnswTraversal::kSq8);  // more than the slack below
  const double r4_close = 1.0 - kAutoSq4RecallSlack;
  EXPECT_EQ(ChooseTraversal(1.0, &r4_close), HnswTraversal::kSq4);
  EXPECT_EQ(ChooseTraversal(0.95, &r4_low), HnswTraversal::kSq8);
  EXPECT_EQ(ChooseTraversal(0.95, nullptr), HnswTraversal::kSq8);
  EXPECT_EQ(ChooseTraversal(kAutoMinCodeRecall - 0.01, &r4_close), HnswTraversal::kExact);
  // Spread clusters: 8-bit codes below kHnswSq4MinDim, 4-bit from it.
  for (uint32_t dim : {kHnswSq4MinDim - 1, kHnswSq4MinDim}) {
    Fixture f(600, dim, DistanceMetric::kCosine, Precision::kF32, 4);
    ASSERT_EQ(f.policy.hnsw.traversal, HnswTraversal::kAuto);
    auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
    EXPECT_EQ(CodeKind(*idx), dim >= kHnswSq4MinDim ? kCodeKindSq4 : kCodeKindSq8) << dim;
    EXPECT_GE(MeanRecall(*idx, f, 10, 64), 0.9) << dim;
  }
  // Tight clusters far apart: 8-bit codes at 256 dimensions, the stored
  // vectors at 16 (every index still answers with exact distances).
  struct Case {
    uint32_t dim;
    float noise;
    uint32_t want;
  };
  for (const Case& c : {Case{256, 0.5f, kCodeKindSq8}, Case{16, 0.05f, 0u}}) {
    const uint32_t n = 4000;
    auto rows = TightClusters(n, c.dim, 20, c.noise, 9);
    EncodedVectors enc = Encode(rows, c.dim, Precision::kF32);
    VectorStoragePolicy p =
        testing::Policy(c.dim, DistanceMetric::kEuclidean, Precision::kF32, IndexType::kHnsw);
    auto idx = BuildIndex(p, enc.view).ValueOrDie();
    EXPECT_EQ(CodeKind(*idx), c.want) << c.dim;
    p.hnsw.traversal = HnswTraversal::kSq4;
    EXPECT_EQ(CodeKind(*BuildIndex(p, enc.view).ValueOrDie()), kCodeKindSq4);  // as asked
  }
}

TEST(HnswIndexTest, TinyAndEmptySets) {
  for (uint32_t n : {0u, 1u, 2u, 5u}) {
    Fixture f(n, 4, DistanceMetric::kEuclidean, Precision::kF32);
    auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
    auto got = idx->Search({f.queries.data(), 4}, 3).ValueOrDie();
    EXPECT_EQ(got.size(), std::min(n, 3u));
    auto loaded = LoadIndex(idx->Serialize().ValueOrDie(), f.enc.view).ValueOrDie();
    EXPECT_EQ(loaded->Search({f.queries.data(), 4}, 3).ValueOrDie().size(), std::min(n, 3u));
  }
}

// Tight clusters far apart: the pruning heuristic alone leaves some of them
// without any level-0 link into them; the build repairs that.
TEST(HnswIndexTest, TightSeparatedClustersStayReachable) {
  const uint32_t dim = 8, clusters = 300, per = 20, n = clusters * per;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> far(-1000.0f, 1000.0f);
  std::normal_distribution<float> tight(0.0f, 0.001f);
  std::vector<float> rows(size_t{n} * dim);
  std::vector<float> centre(dim);
  for (uint32_t c = 0; c < clusters; ++c) {
    for (float& x : centre) x = far(rng);
    for (uint32_t i = 0; i < per; ++i) {
      for (uint32_t j = 0; j < dim; ++j)
        rows[(size_t{c} * per + i) * dim + j] = centre[j] + tight(rng);
    }
  }
  auto enc = Encode(rows, dim, Precision::kF32);
  auto policy = testing::Policy(dim, DistanceMetric::kEuclidean, Precision::kF32, IndexType::kHnsw);
  policy.hnsw.m = 4;
  policy.hnsw.ef_construction = 16;
  auto idx = BuildIndex(policy, enc.view).ValueOrDie();
  auto blob = idx->Serialize().ValueOrDie();
  // (Without the repair, 5 of the 300 clusters had no way in.)
  EXPECT_EQ(HnswReachableRows(*blob).ValueOrDie(), n);
}

TEST(HnswIndexTest, CorruptBlobsAreRejectedNotCrashed) {
  Fixture f(500, 8, DistanceMetric::kCosine, Precision::kF32);
  auto idx = BuildIndex(f.policy, f.enc.view).ValueOrDie();
  auto blob = idx->Serialize().ValueOrDie();
  const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
  // Truncations.
  for (size_t len : {size_t{0}, size_t{10}, size_t{64}, size_t{127}, good.size() - 64}) {
    auto b = std::make_shared<arrow::Buffer>(good.data(), static_cast<int64_t>(len));
    EXPECT_FALSE(LoadIndex(b, f.enc.view).ok()) << "length " << len;
  }
  // A link past the last row.
  std::vector<uint8_t> bad = good;
  const uint64_t level0 = LoadU64(bad.data() + kHnswLevel0Off);
  const uint32_t huge = 1u << 30;
  uint32_t one = 1;
  std::memcpy(bad.data() + level0, &one, 4);
  std::memcpy(bad.data() + level0 + 4, &huge, 4);
  auto st = LoadIndex(std::make_shared<arrow::Buffer>(bad.data(), bad.size()), f.enc.view);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("past the last row"), std::string::npos)
      << st.status().message();
  // Issue #10 finding 5: a self-loop, and inverse norms that are not the
  // vectors' (wrong distances, recall 0.48), are refused.
  bad = good;
  const uint32_t self = 0;
  std::memcpy(bad.data() + level0, &one, 4);
  std::memcpy(bad.data() + level0 + 4, &self, 4);
  st = LoadIndex(std::make_shared<arrow::Buffer>(bad.data(), bad.size()), f.enc.view);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("itself"), std::string::npos) << st.status().message();
  bad = good;
  const uint64_t norms = LoadU64(bad.data() + kHnswNormsOff);
  ASSERT_NE(norms, 0u);
  std::memmove(bad.data() + norms + 4, bad.data() + norms, 4ull * (500 - 1));  // shifted by a row
  st = LoadIndex(std::make_shared<arrow::Buffer>(bad.data(), bad.size()), f.enc.view);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("inverse norm of row"), std::string::npos)
      << st.status().message();
  // Random byte flips: load fails or the index searches without crashing.
  std::mt19937 rng(1);
  for (int t = 0; t < 300; ++t) {
    std::vector<uint8_t> m = good;
    for (int j = 0; j < 4; ++j) m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    auto r = LoadIndex(std::make_shared<arrow::Buffer>(m.data(), m.size()), f.enc.view);
    if (r.ok()) (void)(*r)->Search({f.queries.data(), 8}, 5);
  }
}

// A graph walked on 8-bit or 4-bit traversal codes: about the recall of a
// walk on the stored vectors (the beam is re-ranked exactly), exact
// distances, every metric and f32/f16; filters still go inside; the blob
// round-trips; sq4's blob is smaller than sq8's; int8 columns refuse both.
TEST(HnswIndexTest, CodedTraversalsKeepRecallAndExactDistances) {
  for (Precision prec : {Precision::kF32, Precision::kF16}) {
    for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                             DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
      Fixture f(3000, 40, m, prec, 3);
      VectorStoragePolicy pe = f.policy;
      pe.hnsw.traversal = HnswTraversal::kExact;
      auto exact = BuildIndex(pe, f.enc.view, {2}).ValueOrDie();
      const size_t exact_bytes = exact->Serialize().ValueOrDie()->size();
      const double r_exact = MeanRecall(*exact, f, 10, 64);
      testing::FilterBits third(3000, [](uint32_t r) { return r % 3 == 0; });
      const double r_exact_third = MeanRecall(*exact, f, 10, 64, &third.filter);
      size_t sq8_bytes = 0;
      for (HnswTraversal t : {HnswTraversal::kSq8, HnswTraversal::kSq4}) {
        const bool sq4 = t == HnswTraversal::kSq4;
        VectorStoragePolicy p = f.policy;
        p.hnsw.traversal = t;
        auto coded = BuildIndex(p, f.enc.view, {2}).ValueOrDie();
        auto blob = coded->Serialize().ValueOrDie();
        // 40 dimensions: sq8 64 code bytes per row (+ 4 of terms for
        // euclidean), sq4 32 code bytes and 16 of scalars.
        EXPECT_GT(blob->size(), exact_bytes + 3000 * (sq4 ? 48 : 40));
        if (sq4) {
          EXPECT_LT(blob->size(), sq8_bytes);
        }
        sq8_bytes = blob->size();
        // MeanRecall also checks every distance against the oracle's.
        const std::string what = std::string(HnswTraversalName(t)) + " " +
                                 std::string(MetricName(m)) + " " +
                                 std::string(PrecisionName(prec));
        EXPECT_GE(MeanRecall(*coded, f, 10, 64), r_exact - (sq4 ? 0.03 : 0.02)) << what;
        EXPECT_GE(MeanRecall(*coded, f, 10, 64, &third.filter), r_exact_third - (sq4 ? 0.04 : 0.03))
            << what;
        auto loaded = LoadIndex(blob, f.enc.view).ValueOrDie();
        const float* q = f.queries.data();
        auto a = coded->Search({q, f.dim}, 7).ValueOrDie();
        auto b = loaded->Search({q, f.dim}, 7).ValueOrDie();
        ASSERT_EQ(a.size(), b.size());
        for (size_t j = 0; j < a.size(); ++j) EXPECT_EQ(a[j].row, b[j].row);
      }
    }
  }
  for (HnswTraversal t : {HnswTraversal::kSq8, HnswTraversal::kSq4}) {
    // A NaN or infinite query through a bare index (tables refuse it)
    // neither crashes nor trips the sanitizers.
    Fixture f(500, 16, DistanceMetric::kEuclidean, Precision::kF32);
    VectorStoragePolicy p = f.policy;
    p.hnsw.traversal = t;
    auto idx = BuildIndex(p, f.enc.view).ValueOrDie();
    std::vector<float> q(16, 0.5f);
    q[3] = std::numeric_limits<float>::quiet_NaN();
    (void)idx->Search(q, 5);
    q[3] = std::numeric_limits<float>::infinity();
    (void)idx->Search(q, 5);
    // An int8 column is walked on its own codes: no copy is added.
    Fixture i8(100, 8, DistanceMetric::kEuclidean, Precision::kInt8);
    VectorStoragePolicy pi = i8.policy;
    pi.hnsw.traversal = t;
    auto with = BuildIndex(pi, i8.enc.view).ValueOrDie()->Serialize().ValueOrDie();
    pi.hnsw.traversal = HnswTraversal::kExact;
    auto without = BuildIndex(pi, i8.enc.view).ValueOrDie()->Serialize().ValueOrDie();
    EXPECT_TRUE(with->Equals(*without));
  }
}

// The batched distance the walk uses gives each row what the one-row call
// gives, for every metric, a zero query and batches past the kernel's chunk.
TEST(HnswIndexTest, Sq8ManyEqualsOneRowAtATime) {
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                           DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
    const uint32_t n = 300, dim = 37;
    std::vector<float> rows = ClusteredData(n, dim, 5, 11);
    for (uint32_t i = 0; i < dim; ++i) rows[7 * dim + i] = 0.0f;  // a zero row
    EncodedVectors enc = Encode(rows, dim, Precision::kF32);
    const Sq8Codes codes = EncodeSq8(enc.view, m, 2);
    std::vector<float> params(codes.mean);
    params.insert(params.end(), codes.scale.begin(), codes.scale.end());
    std::vector<float> inv_norms(n);
    for (uint32_t r = 0; r < n; ++r) {
      inv_norms[r] = vec::InverseNorm(Precision::kF32, dim, {}, enc.view.Row(r));
    }
    Sq8Distance dist(
        m, dim, codes.stride, codes.codes.data(), reinterpret_cast<const uint8_t*>(params.data()),
        codes.terms.empty() ? nullptr : reinterpret_cast<const uint8_t*>(codes.terms.data()),
        m == DistanceMetric::kCosine ? reinterpret_cast<const uint8_t*>(inv_norms.data())
                                     : nullptr);
    std::vector<uint32_t> ids(150);
    for (size_t j = 0; j < ids.size(); ++j) ids[j] = static_cast<uint32_t>((j * 37 + 7) % n);
    for (const std::vector<float>& q :
         {std::vector<float>(rows.begin() + 3 * dim, rows.begin() + 4 * dim),
          std::vector<float>(dim, 0.0f)}) {
      dist.SetQuery(q.data());
      for (size_t count : {size_t{0}, size_t{1}, size_t{5}, ids.size()}) {
        std::vector<float> got(count + 1, -7.0f);
        dist.Many(ids.data(), count, got.data());
        for (size_t j = 0; j < count; ++j) {
          EXPECT_FLOAT_EQ(got[j], dist(ids[j])) << MetricName(m) << " row " << ids[j];
        }
        EXPECT_EQ(got[count], -7.0f);
      }
    }
  }
}

// Codes that are not the vectors' are refused on load, as wrong inverse
// norms are; an unknown code kind or a stride that does not fit is named.
TEST(HnswIndexTest, Sq8CodesOfOtherVectorsAreRefused) {
  Fixture f(800, 24, DistanceMetric::kEuclidean, Precision::kF32);
  VectorStoragePolicy p = f.policy;
  p.hnsw.traversal = HnswTraversal::kSq8;
  auto blob = BuildIndex(p, f.enc.view).ValueOrDie()->Serialize().ValueOrDie();
  const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
  auto load = [&](const std::vector<uint8_t>& bytes) {
    return LoadIndex(std::make_shared<arrow::Buffer>(bytes.data(), bytes.size()), f.enc.view)
        .status();
  };
  ASSERT_TRUE(load(good).ok());
  std::vector<uint8_t> bad = good;
  const uint64_t codes = LoadU64(bad.data() + kHnswCodesOff);
  bad[codes + 3] = static_cast<uint8_t>(bad[codes + 3] ^ 0x40);  // node 0, dimension 3
  auto st = load(bad);
  EXPECT_NE(st.message().find("traversal code of " + NodeText(good, 0) + " dimension 3"),
            std::string::npos)
      << st.ToString();
  bad = good;
  bad[kHnswCodeKind] = 9;
  EXPECT_NE(load(bad).message().find("code kind 9"), std::string::npos);
  bad = good;
  bad[kHnswCodeStride] = 8;
  EXPECT_NE(load(bad).message().find("stride"), std::string::npos);
  bad = good;
  const uint64_t params = LoadU64(bad.data() + kHnswCodeParamsOff);
  const float zero = 0.0f;
  std::memcpy(bad.data() + params + 4ull * 24, &zero, 4);  // scale of dimension 0
  EXPECT_NE(load(bad).message().find("mean/scale of dimension 0"), std::string::npos);
  // Random flips in the extension and the code sections: refused or searched.
  std::mt19937 rng(2);
  for (int t = 0; t < 200; ++t) {
    std::vector<uint8_t> m = good;
    const size_t lo = kHnswHeaderBytes, span = m.size() - lo;
    for (int j = 0; j < 3; ++j) m[lo + rng() % span] ^= static_cast<uint8_t>(1u << (rng() % 8));
    auto r = LoadIndex(std::make_shared<arrow::Buffer>(m.data(), m.size()), f.enc.view);
    if (r.ok()) (void)(*r)->Search({f.queries.data(), f.dim}, 5);
  }
}

// A refine factor re-ranks only the k * refine_factor nearest rows of the
// beam by code distance: distances stay exact, recall cannot pass the whole
// beam's, a factor of ef / k or more is the whole beam, and the walk (so the
// beam) is the same whatever the factor.
TEST(HnswIndexTest, RefineFactorBoundsTheReRankedRows) {
  EXPECT_EQ(HnswReRankedRows(10, 64, 0), 64u);  // the whole beam
  EXPECT_EQ(HnswReRankedRows(10, 10, 0), 10u);
  EXPECT_EQ(HnswReRankedRows(10, 64, 1), 10u);
  EXPECT_EQ(HnswReRankedRows(10, 64, 4), 40u);
  EXPECT_EQ(HnswReRankedRows(10, 64, 7), 64u);  // at most ef
  EXPECT_EQ(HnswReRankedRows(10, 1024, 3), 30u);
  EXPECT_EQ(HnswReRankedRows(4000000000u, 4000000000u, 4000000000u), 4000000000u);  // no overflow
  EXPECT_EQ(HnswReRankedRows(20, 10, 0), 20u);  // k above ef: every row the walk keeps
  for (HnswTraversal t : {HnswTraversal::kSq8, HnswTraversal::kSq4}) {
    Fixture f(3000, 40, DistanceMetric::kEuclidean, Precision::kF32, 3);
    VectorStoragePolicy p = f.policy;
    p.hnsw.traversal = t;
    auto idx = BuildIndex(p, f.enc.view, {2}).ValueOrDie();
    const double whole = MeanRecall(*idx, f, 10, 64);
    EXPECT_EQ(MeanRecall(*idx, f, 10, 64, nullptr, 7), whole);  // 70 >= ef
    const double one = MeanRecall(*idx, f, 10, 64, nullptr, 1);
    const double four = MeanRecall(*idx, f, 10, 64, nullptr, 4);
    EXPECT_LE(one, four + 1e-9);
    EXPECT_LE(four, whole + 1e-9);
    EXPECT_GE(four, whole - 0.02) << HnswTraversalName(t);
    // The 10 rows of factor 1 are the beam's 10 nearest by code distance:
    // all of them among the 40 of factor 4.
    const float* q = f.queries.data();
    SearchParams p1;
    p1.ef = 64;
    p1.refine_factor = 1;
    auto a = idx->Search({q, f.dim}, 10, p1).ValueOrDie();
    auto b = idx->Search({q, f.dim}, 40, p1).ValueOrDie();  // k 40, factor 1: 40 rows
    std::set<uint32_t> rows_b;
    for (const Neighbor& nb : b) rows_b.insert(nb.row);
    for (const Neighbor& nb : a) EXPECT_TRUE(rows_b.count(nb.row)) << nb.row;
    // A filter still goes inside, with exact distances.
    testing::FilterBits third(3000, [](uint32_t r) { return r % 3 == 0; });
    EXPECT_GE(MeanRecall(*idx, f, 10, 64, &third.filter, 4),
              MeanRecall(*idx, f, 10, 64, &third.filter) - 0.03);
  }
}

// The walk's distance against the distance to the row the record decodes to
// (decoded here from the format's rules, in double): equal up to the int8
// rounding of the query, for every metric, zero rows and a zero query,
// batches past the kernel's chunk.
TEST(HnswIndexTest, Sq4DistanceIsTheDistanceToTheDecodedRow) {
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                           DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
    for (uint32_t dim : {5u, 37u, 64u, 96u, 128u, 256u}) {
      const uint32_t n = 300;
      std::vector<float> rows = ClusteredData(n, dim, 5, 11);
      for (uint32_t i = 0; i < dim; ++i) rows[7 * dim + i] = 0.0f;  // a zero row
      EncodedVectors enc = Encode(rows, dim, Precision::kF32);
      const Sq4Codes codes = EncodeSq4(enc.view, m, 2);
      const uint32_t nbytes = (dim + 31) / 32 * 16;
      ASSERT_EQ(codes.stride, nbytes + 16);
      std::vector<float> params(codes.mean);
      params.insert(params.end(), codes.scale.begin(), codes.scale.end());
      Sq4Distance dist(m, dim, codes.records.data(),
                       reinterpret_cast<const uint8_t*>(params.data()));
      auto decoded = [&](uint32_t r) {
        const uint8_t* rec = codes.records.data() + size_t{r} * codes.stride;
        const double lo = LoadF32(rec + nbytes), delta = LoadF32(rec + nbytes + 4);
        std::vector<double> u(dim);
        for (uint32_t i = 0; i < dim; ++i) {
          // Groups of 32 bytes hold 64 positions, a last one of 16 holds 32.
          const uint32_t full = nbytes / 32 * 32;
          const uint32_t at = i < 2 * full ? i / 64 * 32 : full, g = i < 2 * full ? 32 : 16;
          const uint32_t off = i - 2 * at;
          const uint8_t b = rec[at + off % g];
          const int c = off < g ? b & 0x0f : b >> 4;
          u[i] = codes.mean[i] + static_cast<double>(codes.scale[i]) * (lo + delta * c);
        }
        return u;
      };
      std::vector<uint32_t> ids(150);
      for (size_t j = 0; j < ids.size(); ++j) ids[j] = static_cast<uint32_t>((j * 37 + 7) % n);
      for (const std::vector<float>& q :
           {std::vector<float>(rows.begin() + 3 * dim, rows.begin() + 4 * dim),
            std::vector<float>(dim, 0.0f)}) {
        dist.SetQuery(q.data());
        double qq = 0;
        for (float x : q) qq += static_cast<double>(x) * x;
        std::vector<float> got(ids.size() + 1, -7.0f);
        dist.Many(ids.data(), ids.size(), got.data());
        EXPECT_EQ(got[ids.size()], -7.0f);
        for (size_t j = 0; j < ids.size(); ++j) {
          const std::vector<double> u = decoded(ids[j]);
          // The walk rounds the centred query's weights to int8: the error
          // scales with |x| |u - mean| (x = q - mean for euclidean, q, or
          // q / |q| for cosine).
          double dot = 0, l2 = 0, xx = 0, uc = 0;
          const double qn = m == DistanceMetric::kCosine && qq > 0 ? 1 / std::sqrt(qq) : 1;
          for (uint32_t i = 0; i < dim; ++i) {
            dot += q[i] * u[i];
            l2 += (q[i] - u[i]) * (q[i] - u[i]);
            const double x = m == DistanceMetric::kEuclidean ? q[i] - codes.mean[i] : q[i] * qn;
            xx += x * x;
            uc += (u[i] - codes.mean[i]) * (u[i] - codes.mean[i]);
          }
          const double tol = 0.02 * (xx + uc) + 1e-4;
          double want = 0;
          switch (m) {
            case DistanceMetric::kEuclidean: want = l2; break;
            case DistanceMetric::kDotProduct: want = -dot; break;
            case DistanceMetric::kNormalizedCosine: want = 1 - dot; break;
            case DistanceMetric::kCosine: want = qq > 0 ? 1 - dot / std::sqrt(qq) : 1.0; break;
          }
          EXPECT_NEAR(got[j], want, tol) << MetricName(m) << " dim " << dim << " row " << ids[j];
          EXPECT_FLOAT_EQ(got[j], dist(ids[j]));
        }
      }
    }
  }
}

// 4-bit records that are not the vectors' are refused on load; a record with
// a NaN scale is named; random flips are refused or searched.
TEST(HnswIndexTest, Sq4RecordsOfOtherVectorsAreRefused) {
  for (uint32_t dim : {24u, 128u}) {
    Fixture f(800, dim, DistanceMetric::kEuclidean, Precision::kF32);
    VectorStoragePolicy p = f.policy;
    p.hnsw.traversal = HnswTraversal::kSq4;
    auto blob = BuildIndex(p, f.enc.view).ValueOrDie()->Serialize().ValueOrDie();
    const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
    auto load = [&](const std::vector<uint8_t>& bytes) {
      return LoadIndex(std::make_shared<arrow::Buffer>(bytes.data(), bytes.size()), f.enc.view)
          .status();
    };
    ASSERT_TRUE(load(good).ok());
    ASSERT_EQ(LoadU32(good.data() + kHnswCodeKind), kCodeKindSq4);
    const uint64_t codes = LoadU64(good.data() + kHnswCodesOff);
    ASSERT_EQ(LoadU64(good.data() + kHnswCodeTermsOff), 0u);
    const uint32_t stride = Sq4Stride(dim);
    ASSERT_EQ(LoadU32(good.data() + kHnswCodeStride), stride);
    std::vector<uint8_t> bad = good;
    // Row 0's codes replaced by row 1's.
    std::memcpy(bad.data() + codes, good.data() + codes + stride, Sq4CodeBytes(dim));
    auto st = load(bad);
    EXPECT_NE(st.message().find("record of " + NodeText(good, 0) + " is not its vector's"),
              std::string::npos)
        << st.ToString();
    bad = good;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const uint64_t delta5 = codes + 5ull * stride + Sq4CodeBytes(dim) + 4;
    std::memcpy(bad.data() + delta5, &nan, 4);
    st = load(bad);
    EXPECT_NE(st.message().find("record of node 5 "), std::string::npos) << st.ToString();
    bad = good;
    bad[kHnswCodeStride] = 8;
    EXPECT_NE(load(bad).message().find("stride"), std::string::npos);
    std::mt19937 rng(3);
    for (int t = 0; t < 200; ++t) {
      std::vector<uint8_t> m = good;
      const size_t lo = kHnswHeaderBytes, span = m.size() - lo;
      for (int j = 0; j < 3; ++j) m[lo + rng() % span] ^= static_cast<uint8_t>(1u << (rng() % 8));
      auto r = LoadIndex(std::make_shared<arrow::Buffer>(m.data(), m.size()), f.enc.view);
      if (r.ok()) (void)(*r)->Search({f.queries.data(), f.dim}, 5);
    }
  }
}

// The row of each node of a renumbered blob (empty when it is not renumbered).
std::vector<uint32_t> NodeRows(const arrow::Buffer& blob) {
  const CommonHeader h = ReadCommonHeader(blob).ValueOrDie();
  if ((h.flags & kFlagRenumberedNodes) == 0) return {};
  std::vector<uint32_t> rows(h.num_rows);
  const uint64_t at = LoadU64(blob.data() + kHnswNodeRowsOff);
  for (uint32_t i = 0; i < h.num_rows; ++i) rows[i] = LoadU32(blob.data() + at + 4ull * i);
  return rows;
}

// Item 2 of issue #16: a graph walked on traversal codes is stored with its
// nodes renumbered by locality (docs/FORMAT.md 3.3.3). It is the same graph
// relabelled, so every search, filtered or not, returns what the row-order
// blob returns, row for row and distance for distance, for both code kinds
// and every metric, built or loaded; the blob maps nodes to rows with a
// permutation that is not the identity.
TEST(HnswIndexTest, RenumberedNodesFindWhatRowOrderFinds) {
  for (HnswTraversal t : {HnswTraversal::kSq8, HnswTraversal::kSq4}) {
    for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                             DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
      SCOPED_TRACE(::testing::Message()
                   << "traversal " << static_cast<int>(t) << " metric " << MetricName(m));
      Fixture f(3000, 40, m, Precision::kF32, 3);
      VectorStoragePolicy p = f.policy;
      p.hnsw.traversal = t;
      IndexBuildOptions row_order;
      row_order.hnsw_renumber_nodes = false;
      auto a = BuildIndex(p, f.enc.view, row_order).ValueOrDie();
      auto b = BuildIndex(p, f.enc.view).ValueOrDie();
      auto blob_a = a->Serialize().ValueOrDie(), blob_b = b->Serialize().ValueOrDie();
      EXPECT_TRUE(NodeRows(*blob_a).empty());
      const std::vector<uint32_t> node_rows = NodeRows(*blob_b);
      ASSERT_EQ(node_rows.size(), 3000u);
      EXPECT_EQ(std::set<uint32_t>(node_rows.begin(), node_rows.end()).size(), 3000u);
      uint32_t in_place = 0;
      for (uint32_t i = 0; i < 3000; ++i) in_place += node_rows[i] == i ? 1 : 0;
      EXPECT_LT(in_place, 300u);
      auto loaded = LoadIndex(blob_b, f.enc.view).ValueOrDie();
      testing::FilterBits most(3000, [](uint32_t r) { return r % 5 != 0; });
      for (uint32_t i = 0; i < 50; ++i) {
        const float* q = &f.queries[size_t{i} * f.dim];
        for (uint32_t ef : {16u, 64u}) {
          for (const RowFilter* filter : {static_cast<const RowFilter*>(nullptr),
                                          static_cast<const RowFilter*>(&most.filter)}) {
            SearchParams sp;
            sp.ef = ef;
            const auto want = a->Search({q, f.dim}, 10, sp, filter).ValueOrDie();
            for (const VectorIndex* idx : {b.get(), loaded.get()}) {
              const auto got = idx->Search({q, f.dim}, 10, sp, filter).ValueOrDie();
              ASSERT_EQ(got.size(), want.size());
              for (size_t j = 0; j < got.size(); ++j) {
                EXPECT_EQ(got[j].row, want[j].row) << "query " << i << " ef " << ef;
                EXPECT_EQ(got[j].distance, want[j].distance);
              }
            }
          }
        }
      }
    }
  }
}

// The links of a renumbered graph join nearby nodes: the median distance
// between a node's number and its neighbours' falls well below the row
// order's, on rows of 20 clusters in random order.
TEST(HnswIndexTest, RenumberedLinksJoinNearbyNodes) {
  Fixture f(6000, 32, DistanceMetric::kEuclidean, Precision::kF32, 4);
  f.policy.hnsw.traversal = HnswTraversal::kSq8;
  auto median_span = [&](bool renumber) {
    IndexBuildOptions o;
    o.hnsw_renumber_nodes = renumber;
    auto blob = BuildIndex(f.policy, f.enc.view, o).ValueOrDie()->Serialize().ValueOrDie();
    const uint8_t* level0 = blob->data() + LoadU64(blob->data() + kHnswLevel0Off);
    const uint32_t m0 = LoadU32(blob->data() + kHnswM0);
    std::vector<uint32_t> spans;
    for (uint32_t node = 0; node < 6000; ++node) {
      const uint8_t* list = level0 + 4ull * (1 + m0) * node;
      for (uint32_t j = 0; j < LoadU32(list); ++j) {
        const uint32_t nb = LoadU32(list + 4 + 4 * j);
        spans.push_back(nb > node ? nb - node : node - nb);
      }
    }
    std::nth_element(spans.begin(), spans.begin() + spans.size() / 2, spans.end());
    return spans[spans.size() / 2];
  };
  const uint32_t row_order = median_span(false), renumbered = median_span(true);
  EXPECT_GT(row_order, 1000u);
  EXPECT_LT(renumbered * 4, row_order) << renumbered << " against " << row_order;
}

// The order: a permutation, the same whatever the thread count, and on
// tight, far-apart clusters in random row order each leaf of the two-level
// k-means holds one cluster, so consecutive nodes change cluster only at a
// leaf's end (at most kOrderTopClusters x kOrderSubClusters leaves), where
// the rows' own order changes cluster at almost every step.
TEST(HnswIndexTest, LocalityOrderGroupsClusters) {
  for (uint32_t n : {2000u, 10000u}) {
    const uint32_t dim = 16, clusters = 8;
    std::mt19937 rng(n);
    std::uniform_real_distribution<float> u(-100.0f, 100.0f);
    std::normal_distribution<float> g(0.0f, 0.5f);
    std::vector<float> centres(size_t{clusters} * dim), rows(size_t{n} * dim);
    std::vector<uint32_t> cluster(n);
    for (float& x : centres) x = u(rng);
    for (uint32_t r = 0; r < n; ++r) {
      cluster[r] = rng() % clusters;
      for (uint32_t i = 0; i < dim; ++i)
        rows[size_t{r} * dim + i] = centres[size_t{cluster[r]} * dim + i] + g(rng);
    }
    const auto enc = testing::Encode(rows, dim, Precision::kF32);
    const auto order = HnswLocalityOrder(enc.view, DistanceMetric::kEuclidean, 1, 42);
    ASSERT_EQ(order.size(), n);
    EXPECT_EQ(std::set<uint32_t>(order.begin(), order.end()).size(), n);
    for (uint32_t threads : {2u, 3u}) {
      EXPECT_EQ(HnswLocalityOrder(enc.view, DistanceMetric::kEuclidean, threads, 42), order)
          << threads << " threads";
    }
    uint32_t changes = 0, row_changes = 0;
    for (uint32_t i = 1; i < n; ++i) {
      changes += cluster[order[i]] != cluster[order[i - 1]] ? 1 : 0;
      row_changes += cluster[i] != cluster[i - 1] ? 1 : 0;
    }
    const uint32_t leaves = std::min<uint32_t>((n + kOrderLeafRows - 1) / kOrderLeafRows,
                                               kOrderTopClusters * kOrderSubClusters);
    EXPECT_LE(changes, leaves) << n << " rows";
    EXPECT_GT(row_changes, n / 2);
  }
}

// A renumbered blob's node map and the walk's inverse norms by node are
// checked on load: a row mapped twice or past the end, the flag without
// traversal codes, a norm that is not its row's, or two nodes' rows swapped
// (a permutation, but not the codes') are refused with what was wrong.
TEST(HnswIndexTest, RenumberedBlobsAreCheckedOnLoad) {
  Fixture f(500, 16, DistanceMetric::kCosine, Precision::kF32);
  f.policy.hnsw.traversal = HnswTraversal::kSq8;
  auto blob = BuildIndex(f.policy, f.enc.view).ValueOrDie()->Serialize().ValueOrDie();
  const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
  auto load = [&](const std::vector<uint8_t>& bytes) {
    return LoadIndex(std::make_shared<arrow::Buffer>(bytes.data(), bytes.size()), f.enc.view)
        .status();
  };
  ASSERT_TRUE(load(good).ok());
  const uint64_t node_rows = LoadU64(good.data() + kHnswNodeRowsOff);
  const uint64_t terms = LoadU64(good.data() + kHnswCodeTermsOff);
  ASSERT_NE(node_rows, 0u);
  ASSERT_NE(terms, 0u);  // sq8 cosine: the walk's inverse norms by node
  auto put = [](std::vector<uint8_t>* b, uint64_t at, uint32_t v) {
    std::memcpy(b->data() + at, &v, 4);
  };
  std::vector<uint8_t> bad = good;
  put(&bad, node_rows + 4, LoadU32(good.data() + node_rows));
  EXPECT_NE(load(bad).message().find("node 1 maps to row " +
                                     std::to_string(LoadU32(good.data() + node_rows)) +
                                     ", already mapped"),
            std::string::npos)
      << load(bad).ToString();
  bad = good;
  put(&bad, node_rows, 500);
  EXPECT_NE(load(bad).message().find("node 0 maps to row 500, past the last row"),
            std::string::npos);
  bad = good;
  put(&bad, kHnswNodeRowsOff, static_cast<uint32_t>(good.size()));
  EXPECT_NE(load(bad).message().find("hnsw.node_rows"), std::string::npos) << load(bad).ToString();
  bad = good;
  bad[10] = static_cast<uint8_t>(bad[10] & ~kFlagTraversalCodes);
  EXPECT_NE(load(bad).message().find("without traversal codes"), std::string::npos);
  bad = good;
  put(&bad, terms + 4 * 3, LoadU32(good.data() + terms + 4 * 3) ^ 1u);
  EXPECT_NE(load(bad).message().find("inverse norm of node 3 is not that of its row"),
            std::string::npos)
      << load(bad).ToString();
  bad = good;
  put(&bad, node_rows, LoadU32(good.data() + node_rows + 4));
  put(&bad, node_rows + 4, LoadU32(good.data() + node_rows));
  EXPECT_FALSE(load(bad).ok());
}

}  // namespace
}  // namespace ailake::index
