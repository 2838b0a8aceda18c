#include "ailake/index/ivf_pq_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "ailake/index/ivf_pq_codebook.h"
#include "ailake/index/test_util.h"

namespace ailake::index {
namespace {

using testing::ClusteredData;
using testing::Encode;

// nbits 4 (fast-scan codes) takes two dimensions per sub-space, as 4-bit
// indexes are used: twice the sub-spaces of the coarser codes.
VectorStoragePolicy IvfPolicy(uint32_t dim, DistanceMetric m, Precision p, uint32_t nbits = 8) {
  auto policy = testing::Policy(dim, m, p, IndexType::kIvfPq);
  policy.ivf_pq.nlist = 32;
  policy.ivf_pq.m = nbits == 4 ? dim / 2 : 8;
  policy.ivf_pq.nbits = nbits;
  policy.ivf_pq.nprobe = 8;
  policy.ivf_pq.refine_factor = 8;
  return policy;
}

constexpr uint32_t kBits[] = {8, 4};

// Loading `bytes` over `view` fails with a message containing `why`.
void ExpectRefused(const std::vector<uint8_t>& bytes, const VectorView& view,
                   const std::string& why) {
  auto r = LoadIndex(std::make_shared<arrow::Buffer>(bytes.data(), bytes.size()), view);
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
}

// Writes v's bytes at offset `at` of *b.
template <class T>
void Put(std::vector<uint8_t>* b, uint64_t at, T v) {
  std::memcpy(b->data() + at, &v, sizeof v);
}

double MeanRecall(const VectorIndex& idx, DistanceMetric m, const testing::EncodedVectors& enc,
                  uint32_t dim, const std::vector<float>& queries, SearchParams params,
                  const RowFilter* filter = nullptr) {
  const uint32_t nq = static_cast<uint32_t>(queries.size() / dim), k = 10;
  double sum = 0;
  for (uint32_t i = 0; i < nq; ++i) {
    const float* q = &queries[size_t{i} * dim];
    auto got = idx.Search({q, dim}, k, params, filter).ValueOrDie();
    const auto want = testing::OracleTopK(m, enc.decoded, dim, q, k, filter);
    EXPECT_EQ(got.size(), want.size());
    for (const Neighbor& nb : got) {
      const double t = testing::OracleDistance(m, q, &enc.decoded[size_t{nb.row} * dim], dim);
      EXPECT_NEAR(nb.distance, t, 2e-3 * (1 + std::fabs(t)));  // exact after re-ranking
      if (filter != nullptr) {
        EXPECT_TRUE(filter->Contains(nb.row));
      }
    }
    sum += testing::Recall(got, want);
  }
  return sum / nq;
}

TEST(IvfPqIndexTest, RecallWithRefinementForEveryMetric) {
  const uint32_t dim = 32, n = 4000;
  const auto queries = ClusteredData(40, dim, 16, 50);
  for (uint32_t nbits : kBits) {
    for (Precision prec : {Precision::kF32, Precision::kF16}) {
      for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                               DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
        auto rows = ClusteredData(n, dim, 16, 5);
        if (m == DistanceMetric::kNormalizedCosine) vec::NormalizeRows(rows.data(), n, dim);
        auto enc = Encode(rows, dim, prec);
        auto idx = BuildIndex(IvfPolicy(dim, m, prec, nbits), enc.view).ValueOrDie();
        EXPECT_EQ(idx->type(), IndexType::kIvfPq);
        SearchParams all;
        all.nprobe = 32;
        EXPECT_GE(MeanRecall(*idx, m, enc, dim, queries, all), 0.9)
            << MetricName(m) << " " << PrecisionName(prec) << " nbits " << nbits;
        SearchParams few;
        few.nprobe = 1;
        EXPECT_LE(MeanRecall(*idx, m, enc, dim, queries, few),
                  MeanRecall(*idx, m, enc, dim, queries, all) + 1e-9);
        // A pool as large as the table: every row re-ranked, the exact answer.
        SearchParams every;
        every.nprobe = 32;
        every.refine_factor = n;
        EXPECT_EQ(MeanRecall(*idx, m, enc, dim, queries, every), 1.0);
      }
    }
  }
}

// The 4-bit codes rank rows as the f32 tables of 16 codewords would: the
// candidates the fast-scan pool keeps hold the true neighbours about as
// often as the 8-bit codes' pool with the same refine factor, and far more
// than chance; with refine 1 (no slack) recall still exceeds what coarse
// probing alone would give.
TEST(IvfPqIndexTest, FourBitCodesRankLikeTheirCodebook) {
  const uint32_t dim = 64, n = 6000;
  const auto rows = ClusteredData(n, dim, 24, 31);
  const auto queries = ClusteredData(60, dim, 24, 32);
  auto enc = Encode(rows, dim, Precision::kF32);
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct}) {
    auto p4 = IvfPolicy(dim, m, Precision::kF32, 4);
    auto idx4 = BuildIndex(p4, enc.view).ValueOrDie();
    const auto cb = TrainIvfPqCodebook(p4, enc.view).ValueOrDie();
    EXPECT_EQ(cb->nbits(), 4u);
    SearchParams sp;
    sp.nprobe = 8;
    sp.refine_factor = 1;
    const double r1 = MeanRecall(*idx4, m, enc, dim, queries, sp);
    sp.refine_factor = 10;
    const double r10 = MeanRecall(*idx4, m, enc, dim, queries, sp);
    EXPECT_GT(r1, 0.5) << MetricName(m);
    EXPECT_GT(r10, 0.95) << MetricName(m);
    EXPECT_GE(r10, r1) << MetricName(m);
  }
}

TEST(IvfPqIndexTest, NearestListsAreTheSmallestDistancesInOrder) {
  std::mt19937 rng(5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (uint32_t nlist : {1u, 7u, 16u, 17u, 100u, 1024u, 1031u}) {
    for (int kind = 0; kind < 5; ++kind) {
      // Distinct values, few distinct values (ties), some NaN, some infinite,
      // all equal.
      std::vector<float> coarse(nlist);
      std::uniform_real_distribution<float> u(0.0f, 10.0f);
      for (uint32_t c = 0; c < nlist; ++c) {
        float v = u(rng);
        if (kind == 1) v = std::floor(v);
        if (kind == 2 && c % 3 == 0) v = nan;
        if (kind == 3 && c % 2 == 0) v = inf;
        if (kind == 4) v = 1.0f;
        coarse[c] = v;
      }
      // The reference: all lists sorted by (distance with NaN as +inf, list).
      auto key = [&](uint32_t c) { return std::isnan(coarse[c]) ? inf : coarse[c]; };
      std::vector<uint32_t> want(nlist);
      std::iota(want.begin(), want.end(), 0u);
      std::sort(want.begin(), want.end(), [&](uint32_t a, uint32_t b) {
        return key(a) < key(b) || (key(a) == key(b) && a < b);
      });
      for (uint32_t nprobe : {1u, 3u, 8u, 16u, 65u, 128u, 2000u}) {
        const uint32_t np = std::min(nprobe, nlist);
        SCOPED_TRACE("nlist " + std::to_string(nlist) + " kind " + std::to_string(kind) +
                     " nprobe " + std::to_string(np));
        for (bool rest : {false, true}) {
          std::vector<uint32_t> order;
          NearestLists(coarse.data(), nlist, np, rest, &order);
          ASSERT_EQ(order.size(), rest ? nlist : np);
          EXPECT_TRUE(std::equal(order.begin(), order.begin() + np, want.begin()));
          if (rest) {  // the others follow, each once
            std::vector<uint32_t> all = order;
            std::sort(all.begin(), all.end());
            for (uint32_t c = 0; c < nlist; ++c) ASSERT_EQ(all[c], c);
          }
        }
      }
    }
  }
}

TEST(IvfPqIndexTest, BatchSearchEqualsSingleSearch) {
  // 45 queries: one full block of the batched coarse step and a partial one.
  const uint32_t dim = 24, n = 2500, nq = 45, k = 7;
  const auto queries = ClusteredData(nq, dim, 8, 70);
  testing::FilterBits odd(n, [](uint32_t r) { return r % 2 == 1; });
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                           DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
    auto rows = ClusteredData(n, dim, 8, 8);
    if (m == DistanceMetric::kNormalizedCosine) vec::NormalizeRows(rows.data(), n, dim);
    auto enc = Encode(rows, dim, Precision::kF32);
    for (uint32_t nbits : kBits) {
      auto idx = BuildIndex(IvfPolicy(dim, m, Precision::kF32, nbits), enc.view).ValueOrDie();
      const RowFilter* none = nullptr;
      const RowFilter* odd_rows = &odd.filter;
      for (const RowFilter* filter : {none, odd_rows}) {
        // Threads, and (4-bit codes) lists scanned query by query or grouped.
        for (uint32_t variant = 0; variant < 4; ++variant) {
          const uint32_t threads = 1 + variant % 2;
          const bool grouped = variant >= 2;
          SCOPED_TRACE(std::string(MetricName(m)) + (filter ? " filtered" : "") + " threads " +
                       std::to_string(threads) + " nbits " + std::to_string(nbits) +
                       (grouped ? " grouped by list" : ""));
          SearchParams p;
          p.nprobe = 3;
          const uint64_t before = SetIvfPqQueryOrderBytesForTesting(grouped ? 0 : 1ull << 40);
          auto batch = idx->SearchBatch(queries, nq, k, p, filter, threads).ValueOrDie();
          SetIvfPqQueryOrderBytesForTesting(before);
          ASSERT_EQ(batch.size(), nq);
          for (uint32_t i = 0; i < nq; ++i) {
            auto one = idx->Search({&queries[size_t{i} * dim], dim}, k, p, filter).ValueOrDie();
            ASSERT_EQ(batch[i].size(), one.size()) << i;
            for (size_t j = 0; j < one.size(); ++j) {
              EXPECT_EQ(batch[i][j].row, one[j].row) << i << " " << j;
              EXPECT_EQ(batch[i][j].distance, one[j].distance) << i << " " << j;
            }
          }
        }
      }
    }
  }
  // One probed list holds fewer than k = 120 rows: a batch probes on for
  // those queries as Search does.
  {
    auto enc = Encode(ClusteredData(n, dim, 8, 8), dim, Precision::kF32);
    for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kCosine}) {
      auto idx = BuildIndex(IvfPolicy(dim, m, Precision::kF32, 4), enc.view).ValueOrDie();
      SearchParams p;
      p.nprobe = 1;
      auto batch = idx->SearchBatch(queries, nq, 120, p, nullptr, 1).ValueOrDie();
      for (uint32_t i = 0; i < nq; ++i) {
        auto one = idx->Search({&queries[size_t{i} * dim], dim}, 120, p, nullptr).ValueOrDie();
        ASSERT_EQ(one.size(), 120u);
        ASSERT_EQ(batch[i].size(), one.size()) << i;
        for (size_t j = 0; j < one.size(); ++j) EXPECT_EQ(batch[i][j].row, one[j].row) << i;
      }
    }
  }
  auto enc = Encode(ClusteredData(100, dim, 2, 9), dim, Precision::kF32);
  auto idx = BuildIndex(IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32), enc.view)
                 .ValueOrDie();
  EXPECT_TRUE(idx->SearchBatch(std::span<const float>(queries).first(dim + 1), 1, k, {}, nullptr, 1)
                  .status()
                  .IsInvalid());
}

TEST(IvfPqIndexTest, FilterProbesFurtherUntilKAllowedRows) {
  const uint32_t dim = 16, n = 3000;
  auto enc = Encode(ClusteredData(n, dim, 16, 6), dim, Precision::kF32);
  for (uint32_t nbits : kBits) {
    SCOPED_TRACE(nbits);
    auto idx =
        BuildIndex(IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, nbits), enc.view)
            .ValueOrDie();
    const auto queries = ClusteredData(20, dim, 16, 60);
    testing::FilterBits sparse(n, [](uint32_t r) { return r % 250 == 3; });  // 12 rows
    SearchParams one;
    one.nprobe = 1;
    EXPECT_EQ(MeanRecall(*idx, DistanceMetric::kEuclidean, enc, dim, queries, one, &sparse.filter),
              1.0);
    // Moderate filter (1 row in 5): one probed list rarely holds 10 allowed rows,
    // so the search probes on until it has k (MeanRecall checks the count).
    testing::FilterBits fifth(n, [](uint32_t r) { return r % 5 == 0; });
    EXPECT_GT(MeanRecall(*idx, DistanceMetric::kEuclidean, enc, dim, queries, one, &fifth.filter),
              0.3);
  }
}

TEST(IvfPqIndexTest, SharedCodebookIsTrainedOnceAndReused) {
  const uint32_t dim = 16;
  auto policy = IvfPolicy(dim, DistanceMetric::kCosine, Precision::kF32);
  // Two files of one table: same distribution, different rows.
  const auto all_rows = ClusteredData(3500, dim, 8, 7);
  auto a = Encode({all_rows.begin(), all_rows.begin() + 2000 * dim}, dim, Precision::kF32);
  auto b = Encode({all_rows.begin() + 2000 * dim, all_rows.end()}, dim, Precision::kF32);
  auto cb = TrainIvfPqCodebook(policy, a.view).ValueOrDie();
  EXPECT_EQ(cb->nlist(), 32u);
  // The codebook round-trips through its own blob.
  auto cb_blob = cb->Serialize().ValueOrDie();
  auto cb2 = IvfPqCodebook::Load(cb_blob).ValueOrDie();
  EXPECT_EQ(cb2->fingerprint(), cb->fingerprint());
  IndexBuildOptions opt;
  opt.ivf_pq_codebook = cb2;
  auto ia = BuildIndex(policy, a.view, opt).ValueOrDie();
  auto ib = BuildIndex(policy, b.view, opt).ValueOrDie();
  auto blob_a = ia->Serialize().ValueOrDie();
  auto blob_b = ib->Serialize().ValueOrDie();
  // Shared: the blobs do not embed the codebook.
  EXPECT_LT(blob_b->size(), 64 + 192 + 4 * 33 + 1500 * (4 + 8) + 4 * 64);
  auto missing = LoadIndex(blob_b, b.view);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("shared codebook"), std::string::npos);
  auto lb = LoadIndex(blob_b, b.view, cb).ValueOrDie();
  const auto queries =
      std::vector<float>(all_rows.begin() + 100 * dim, all_rows.begin() + 120 * dim);
  SearchParams all;
  all.nprobe = 32;
  EXPECT_GE(MeanRecall(*lb, DistanceMetric::kCosine, b, dim, queries, all), 0.9);
  // A different codebook is refused.
  policy.ivf_pq.seed = 99;
  auto other = TrainIvfPqCodebook(policy, b.view).ValueOrDie();
  EXPECT_FALSE(LoadIndex(blob_a, a.view, other).ok());
}

// Files of one table searched as one index: the same rows and distances as
// one index over all their rows built with the same codebook (the same codes
// in the same lists, so the same candidate pool), for every metric, with and
// without a filter.
TEST(IvfPqIndexTest, SharedCodebookPartsSearchLikeOneIndexOverTheirUnion) {
  const uint32_t dim = 16;
  for (uint32_t nbits : kBits) {
    for (DistanceMetric metric :
         {DistanceMetric::kEuclidean, DistanceMetric::kCosine, DistanceMetric::kDotProduct}) {
      SCOPED_TRACE(nbits);
      auto policy = IvfPolicy(dim, metric, Precision::kF32, nbits);
      const auto rows = ClusteredData(3000, dim, 8, 21);
      auto all = Encode(rows, dim, Precision::kF32);
      IndexBuildOptions opt;
      opt.ivf_pq_codebook = TrainIvfPqCodebook(policy, all.view).ValueOrDie();
      auto whole = BuildIndex(policy, all.view, opt).ValueOrDie();
      // Parts of 1,000, 1,500 and 500 rows.
      const uint32_t cuts[] = {0, 1000, 2500, 3000};
      std::vector<testing::EncodedVectors> enc;
      std::vector<std::unique_ptr<VectorIndex>> parts;
      enc.reserve(3);
      parts.reserve(3);
      for (int p = 0; p < 3; ++p) {
        enc.push_back(Encode({rows.begin() + cuts[p] * dim, rows.begin() + cuts[p + 1] * dim}, dim,
                             Precision::kF32));
      }
      for (int p = 0; p < 3; ++p)
        parts.push_back(BuildIndex(policy, enc[p].view, opt).ValueOrDie());
      ASSERT_NE(SharedIvfPqCodebookOf(*parts[0]), 0u);
      EXPECT_EQ(SharedIvfPqCodebookOf(*parts[0]), SharedIvfPqCodebookOf(*parts[2]));
      // Every third row allowed, as one filter over the union and per part.
      testing::FilterBits whole_filter(3000, [](uint32_t r) { return r % 3 == 0; });
      std::vector<std::unique_ptr<testing::FilterBits>> part_filters;
      part_filters.reserve(3);
      for (int p = 0; p < 3; ++p) {
        const uint32_t base = cuts[p];
        part_filters.push_back(std::make_unique<testing::FilterBits>(
            cuts[p + 1] - base, [base](uint32_t r) { return (base + r) % 3 == 0; }));
      }
      for (int filtered = 0; filtered < 2; ++filtered) {
        std::vector<IndexPart> in;
        in.reserve(3);
        for (int p = 0; p < 3; ++p) {
          in.push_back({parts[p].get(), filtered ? &part_filters[p]->filter : nullptr});
        }
        for (uint32_t qi = 0; qi < 20; ++qi) {
          const float* q = &rows[size_t{qi * 97} * dim];
          SearchParams sp;
          sp.nprobe = 4;
          sp.refine_factor = 3;
          auto want = whole->Search({q, dim}, 10, sp, filtered ? &whole_filter.filter : nullptr)
                          .ValueOrDie();
          auto got = SearchSharedIvfPq(in, {q, dim}, 10, sp).ValueOrDie();
          ASSERT_EQ(got.size(), want.size());
          for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(cuts[got[i].part] + got[i].row, want[i].row)
                << MetricName(metric) << " query " << qi << " rank " << i;
            EXPECT_FLOAT_EQ(got[i].distance, want[i].distance);
          }
        }
      }
      // Parts of another codebook, or of another index type, are refused.
      auto flat =
          BuildIndex(testing::Policy(dim, metric, Precision::kF32, IndexType::kFlat), enc[0].view)
              .ValueOrDie();
      std::vector<IndexPart> mixed = {{parts[0].get(), nullptr}, {flat.get(), nullptr}};
      EXPECT_FALSE(SearchSharedIvfPq(mixed, {rows.data(), dim}, 10).ok());
      EXPECT_EQ(SharedIvfPqCodebookOf(*flat), 0u);
    }
  }
}

TEST(IvfPqIndexTest, EmbeddedBlobRoundTripAndCorruption) {
  const uint32_t dim = 8;
  auto enc = Encode(ClusteredData(800, dim, 4, 9), dim, Precision::kF32);
  for (uint32_t nbits : kBits) {
    SCOPED_TRACE(nbits);
    auto policy = IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, nbits);
    policy.ivf_pq.m = 4;
    auto idx = BuildIndex(policy, enc.view).ValueOrDie();
    auto blob = idx->Serialize().ValueOrDie();
    auto loaded = LoadIndex(blob, enc.view).ValueOrDie();
    const float* q = enc.decoded.data();
    auto x = idx->Search({q, dim}, 5).ValueOrDie();
    auto y = loaded->Search({q, dim}, 5).ValueOrDie();
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i].row, y[i].row);
    EXPECT_EQ(y[0].row, 0u);  // the query is row 0
    const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
    std::mt19937 rng(3);
    int rejected = 0;
    for (int t = 0; t < 300; ++t) {
      std::vector<uint8_t> m = good;
      for (int j = 0; j < 3; ++j) m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      auto r = LoadIndex(std::make_shared<arrow::Buffer>(m.data(), m.size()), enc.view);
      if (!r.ok()) {
        ++rejected;
        continue;
      }
      (void)(*r)->Search({q, dim}, 5);
    }
    EXPECT_GT(rejected, 0);
    // A codes section cut short is refused by name.
    std::vector<uint8_t> cut = good;
    const uint64_t codes_at = LoadU64(cut.data() + 128);
    cut.resize(codes_at + 1);
    const uint64_t cut_bytes = cut.size();
    std::memcpy(cut.data() + 24, &cut_bytes, 8);  // the common header's blob size (3.1)
    auto r = LoadIndex(std::make_shared<arrow::Buffer>(cut.data(), cut.size()), enc.view);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("ivf_pq.codes"), std::string::npos) << r.status().message();
  }
}

// A shared codebook of the other code width is refused, naming both widths.
TEST(IvfPqIndexTest, CodebookOfAnotherCodeWidthIsRefused) {
  const uint32_t dim = 16;
  auto enc = Encode(ClusteredData(1500, dim, 8, 12), dim, Precision::kF32);
  auto p4 = IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, 4);
  auto p8 = p4;
  p8.ivf_pq.nbits = 8;
  IndexBuildOptions opt;
  opt.ivf_pq_codebook = TrainIvfPqCodebook(p4, enc.view).ValueOrDie();
  auto blob = BuildIndex(p4, enc.view, opt).ValueOrDie()->Serialize().ValueOrDie();
  auto cb8 = TrainIvfPqCodebook(p8, enc.view).ValueOrDie();
  EXPECT_EQ(cb8->nbits(), 8u);
  // Same fingerprint check first: force it by patching the blob's reference.
  std::vector<uint8_t> b(blob->data(), blob->data() + blob->size());
  const uint64_t fp = cb8->fingerprint();
  std::memcpy(b.data() + 88, &fp, 8);
  auto r = LoadIndex(std::make_shared<arrow::Buffer>(b.data(), b.size()), enc.view, cb8);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nbits 8"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("nbits 4"), std::string::npos) << r.status().message();
  // nbits other than 4 and 8 are refused by the policy.
  p4.ivf_pq.nbits = 6;
  EXPECT_TRUE(BuildIndex(p4, enc.view).status().IsInvalid());
}

// The lists must be a permutation of the rows: a row named twice (and so
// another never) is refused, not searched twice.
TEST(IvfPqIndexTest, ListsThatAreNotAPermutationAreRefused) {
  const uint32_t dim = 8;
  auto enc = Encode(ClusteredData(200, dim, 4, 5), dim, Precision::kF32);
  auto policy = IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32);
  policy.ivf_pq.m = 4;
  auto blob = BuildIndex(policy, enc.view).ValueOrDie()->Serialize().ValueOrDie();
  std::vector<uint8_t> bad(blob->data(), blob->data() + blob->size());
  const uint64_t ids = LoadU64(bad.data() + 120);          // ids offset (docs/FORMAT.md 3.4)
  std::memcpy(bad.data() + ids + 4, bad.data() + ids, 4);  // entry 1 repeats entry 0
  auto r = LoadIndex(std::make_shared<arrow::Buffer>(bad.data(), bad.size()), enc.view);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("a second time"), std::string::npos) << r.status().message();
}

// 4-bit codes under squared L2 carry a term per row (docs/FORMAT.md 3.4.2),
// so a search quantizes one table per query instead of one per list. A
// section without them (the layout before them: offset 136 zero) still
// loads and searches, alone and beside parts that have them; terms that are
// not the sums their codes give, or not finite, or misplaced, are refused.
TEST(IvfPqIndexTest, RowTermsOfFourBitL2Codes) {
  const uint32_t dim = 32, n = 3000;
  const auto rows = ClusteredData(n, dim, 16, 41);
  const auto queries = ClusteredData(40, dim, 16, 42);
  auto enc = Encode(rows, dim, Precision::kF32);
  const auto l2 = DistanceMetric::kEuclidean;
  auto blob = BuildIndex(IvfPolicy(dim, l2, Precision::kF32, 4), enc.view)
                  .ValueOrDie()
                  ->Serialize()
                  .ValueOrDie();
  const uint64_t terms_at = LoadU64(blob->data() + 136);
  EXPECT_NE(terms_at, 0u);
  // Other widths and spaces have none.
  for (auto [m, nbits] : {std::pair{l2, 8u}, std::pair{DistanceMetric::kDotProduct, 4u},
                          std::pair{DistanceMetric::kCosine, 4u}}) {
    auto other = BuildIndex(IvfPolicy(dim, m, Precision::kF32, nbits), enc.view).ValueOrDie();
    EXPECT_EQ(LoadU64(other->Serialize().ValueOrDie()->data() + 136), 0u) << MetricName(m);
  }
  const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
  std::vector<uint8_t> old = good;
  std::memset(old.data() + 136, 0, 8);
  auto with = LoadIndex(blob, enc.view).ValueOrDie();
  auto without =
      LoadIndex(std::make_shared<arrow::Buffer>(old.data(), old.size()), enc.view).ValueOrDie();
  SearchParams sp;
  sp.nprobe = 8;
  const double r_with = MeanRecall(*with, l2, enc, dim, queries, sp);
  const double r_without = MeanRecall(*without, l2, enc, dim, queries, sp);
  EXPECT_GT(r_with, 0.9);
  EXPECT_GT(r_without, 0.9);
  EXPECT_NEAR(r_with, r_without, 0.05);
  sp.refine_factor = n;  // every probed row re-ranked: both find the same rows
  sp.nprobe = 32;
  EXPECT_EQ(MeanRecall(*with, l2, enc, dim, queries, sp), 1.0);
  EXPECT_EQ(MeanRecall(*without, l2, enc, dim, queries, sp), 1.0);

  // Parts of one codebook, one with terms and one without, in one search.
  auto policy = IvfPolicy(dim, l2, Precision::kF32, 4);
  IndexBuildOptions opt;
  opt.ivf_pq_codebook = TrainIvfPqCodebook(policy, enc.view).ValueOrDie();
  auto first = Encode({rows.begin(), rows.begin() + 1800 * dim}, dim, Precision::kF32);
  auto second = Encode({rows.begin() + 1800 * dim, rows.end()}, dim, Precision::kF32);
  auto p0 = BuildIndex(policy, first.view, opt).ValueOrDie();
  auto b1 = BuildIndex(policy, second.view, opt).ValueOrDie()->Serialize().ValueOrDie();
  std::vector<uint8_t> b1_old(b1->data(), b1->data() + b1->size());
  std::memset(b1_old.data() + 136, 0, 8);
  auto p1 = LoadIndex(std::make_shared<arrow::Buffer>(b1_old.data(), b1_old.size()), second.view,
                      opt.ivf_pq_codebook)
                .ValueOrDie();
  const std::vector<IndexPart> parts = {{p0.get(), nullptr}, {p1.get(), nullptr}};
  double hits = 0;
  const uint32_t nq = static_cast<uint32_t>(queries.size() / dim);
  for (uint32_t i = 0; i < nq; ++i) {
    const float* q = &queries[size_t{i} * dim];
    SearchParams sp8;
    sp8.nprobe = 8;
    auto got = SearchSharedIvfPq(parts, {q, dim}, 10, sp8).ValueOrDie();
    const auto want = testing::OracleTopK(l2, enc.decoded, dim, q, 10);
    ASSERT_EQ(got.size(), 10u);
    for (const PartNeighbor& nb : got) {
      const uint32_t row = nb.row + (nb.part == 1 ? 1800 : 0);
      const double t = testing::OracleDistance(l2, q, &enc.decoded[size_t{row} * dim], dim);
      EXPECT_NEAR(nb.distance, t, 2e-3 * (1 + std::fabs(t)));
      hits += std::count(want.begin(), want.end(), row);
    }
  }
  EXPECT_GT(hits / (10.0 * nq), 0.9);

  // Refused: a term that is not finite, one its codes do not give, terms
  // that are misaligned or run past the blob, and terms of 8-bit codes.
  auto refused = [&](const std::vector<uint8_t>& bad, const std::string& why) {
    ExpectRefused(bad, enc.view, why);
  };
  std::vector<uint8_t> bad = good;
  Put(&bad, terms_at + 4, std::numeric_limits<float>::quiet_NaN());
  refused(bad, "row term 1 is not finite");
  bad = good;
  Put(&bad, terms_at, LoadF32(good.data() + terms_at) + 1000.0f);  // entry 0 is sampled
  refused(bad, "its codes give");
  bad = good;
  const uint64_t shifted = terms_at + 2;
  std::memcpy(bad.data() + 136, &shifted, 8);
  refused(bad, "not 4-byte aligned");
  bad = good;
  const uint64_t past = good.size() - 64;
  std::memcpy(bad.data() + 136, &past, 8);
  refused(bad, "ivf_pq.row_terms");
  auto b8 = BuildIndex(IvfPolicy(dim, l2, Precision::kF32, 8), enc.view)
                .ValueOrDie()
                ->Serialize()
                .ValueOrDie();
  bad.assign(b8->data(), b8->data() + b8->size());
  const uint64_t some = LoadU64(bad.data() + 128);  // the codes' offset: in range
  std::memcpy(bad.data() + 136, &some, 8);
  refused(bad, "only for 4-bit codes under squared L2");
}

// A list's entries are written sorted by row term, so that each 32-row
// block's smallest term bounds its rows closely in the scan. The order is a
// speed matter only: the same index with every list reversed (terms
// descending, the loosest bounds) finds the same rows at the same
// distances, for single queries and batches, at pool sizes where the bound
// decides which rows enter.
TEST(IvfPqIndexTest, ListsAreSortedByRowTermAndTheOrderChangesNoResult) {
  const uint32_t dim = 32, n = 4000, k = 10;
  const auto rows = ClusteredData(n, dim, 16, 43);
  const auto queries = ClusteredData(50, dim, 16, 44);
  auto enc = Encode(rows, dim, Precision::kF32);
  auto policy = IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, 4);
  policy.ivf_pq.nlist = 16;  // about 250 rows per list: several blocks each
  auto blob = BuildIndex(policy, enc.view).ValueOrDie()->Serialize().ValueOrDie();
  const uint8_t* p = blob->data();
  const uint64_t lists = LoadU64(p + 112), ids = LoadU64(p + 120), codes = LoadU64(p + 128),
                 terms = LoadU64(p + 136);
  ASSERT_NE(terms, 0u);
  const uint32_t m2 = dim / 2;  // sub-spaces (even here: no padding table)
  std::vector<uint8_t> rev(p, p + blob->size());
  uint64_t first_block = 0;
  size_t multi_block = 0;
  for (uint32_t l = 0; l < 16; ++l) {
    const uint32_t b = LoadU32(p + lists + 4ull * l), e = LoadU32(p + lists + 4ull * l + 4);
    const uint32_t cnt = e - b;
    multi_block += cnt > 32 ? 1 : 0;
    auto term_at = [&](uint32_t i) { return terms + 4 * ((first_block + i / 32) * 32 + i % 32); };
    auto code_at = [&](uint32_t i, uint32_t j) {  // byte and shift of row i's code j
      return std::pair{codes + (first_block + i / 32) * 16 * m2 + j * 16 + i % 16,
                       (i % 32) < 16 ? 0 : 4};
    };
    for (uint32_t i = 0; i + 1 < cnt; ++i) {
      EXPECT_LE(LoadF32(p + term_at(i)), LoadF32(p + term_at(i + 1))) << "list " << l;
    }
    // Entry i of the reversed list is entry cnt - 1 - i of the written one.
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint32_t from = cnt - 1 - i;
      std::memcpy(&rev[ids + 4ull * (b + i)], p + ids + 4ull * (b + from), 4);
      std::memcpy(&rev[term_at(i)], p + term_at(from), 4);
      for (uint32_t j = 0; j < m2; ++j) {
        const auto [src, ss] = code_at(from, j);
        const auto [dst, ds] = code_at(i, j);
        const uint8_t c = (p[src] >> ss) & 15;
        rev[dst] = static_cast<uint8_t>((rev[dst] & ~(15 << ds)) | (c << ds));
      }
    }
    first_block += (cnt + 31) / 32;
  }
  ASSERT_GT(multi_block, 8u);
  auto sorted = LoadIndex(blob, enc.view).ValueOrDie();
  auto reversed =
      LoadIndex(std::make_shared<arrow::Buffer>(rev.data(), rev.size()), enc.view).ValueOrDie();
  const uint32_t nq = static_cast<uint32_t>(queries.size() / dim);
  for (uint32_t refine : {1u, 2u, 4u}) {
    SearchParams sp;
    sp.nprobe = 4;
    sp.refine_factor = refine;
    auto a = sorted->SearchBatch(queries, nq, k, sp, nullptr, 1).ValueOrDie();
    auto b = reversed->SearchBatch(queries, nq, k, sp, nullptr, 1).ValueOrDie();
    for (uint32_t i = 0; i < nq; ++i) {
      auto one = reversed->Search({&queries[size_t{i} * dim], dim}, k, sp).ValueOrDie();
      ASSERT_EQ(a[i].size(), k);
      ASSERT_EQ(b[i].size(), k);
      ASSERT_EQ(one.size(), k);
      for (uint32_t j = 0; j < k; ++j) {
        EXPECT_EQ(a[i][j].row, b[i][j].row) << "refine " << refine << " query " << i;
        EXPECT_EQ(a[i][j].distance, b[i][j].distance);
        EXPECT_EQ(one[j].row, b[i][j].row);
      }
    }
  }
}

// Second lists (docs/FORMAT.md 3.4.3): with IvfSpill::kOn every row sits
// in its nearest list and in a second one, so a few probes hold more of a
// query's neighbours; the pool may hold a row twice, and every search path
// returns it once, at its exact distance, as the same search does one query
// at a time. Inner-product indexes never spill.
TEST(IvfPqIndexTest, SecondListsFindMoreAndReturnEachRowOnce) {
  const uint32_t dim = 24, n = 3000, nq = 40, k = 10;
  const auto queries = ClusteredData(nq, dim, 8, 71);
  testing::FilterBits odd(n, [](uint32_t r) { return r % 2 == 1; });
  using Spill = IndexBuildOptions::IvfSpill;
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kCosine}) {
    auto enc = Encode(ClusteredData(n, dim, 8, 12), dim, Precision::kF32);
    for (uint32_t nbits : kBits) {
      SCOPED_TRACE(std::string(MetricName(m)) + " nbits " + std::to_string(nbits));
      auto policy = IvfPolicy(dim, m, Precision::kF32, nbits);
      IndexBuildOptions on, off;
      on.ivf_pq_spill = Spill::kOn;
      off.ivf_pq_spill = Spill::kOff;
      auto spilled = BuildIndex(policy, enc.view, on).ValueOrDie();
      auto plain = BuildIndex(policy, enc.view, off).ValueOrDie();
      auto blob = spilled->Serialize().ValueOrDie();
      uint16_t flags = 0;
      std::memcpy(&flags, blob->data() + 10, 2);
      EXPECT_EQ(flags & 16, 16);
      EXPECT_GT(LoadU32(blob->data() + 84), n / 2);  // rows in a second list
      EXPECT_EQ(LoadU32(plain->Serialize().ValueOrDie()->data() + 84), 0u);
      // Loaded from its bytes, as a reader does.
      auto loaded = LoadIndex(blob, enc.view).ValueOrDie();
      SearchParams sp;
      sp.nprobe = 1;
      sp.refine_factor = 4;
      const double r_spilled = MeanRecall(*loaded, m, enc, dim, queries, sp);
      const double r_plain = MeanRecall(*plain, m, enc, dim, queries, sp);
      EXPECT_GT(r_spilled, r_plain + 0.05) << r_spilled << " vs " << r_plain;
      const RowFilter* none = nullptr;
      for (const RowFilter* filter : {none, static_cast<const RowFilter*>(&odd.filter)}) {
        for (uint32_t variant = 0; variant < 4; ++variant) {
          const uint32_t refine = variant % 2 == 0 ? 1 : 4;
          const bool grouped = variant >= 2;  // lists grouped (4-bit), or query by query
          sp.nprobe = 2;
          sp.refine_factor = refine;
          const uint64_t before = SetIvfPqQueryOrderBytesForTesting(grouped ? 0 : 1ull << 40);
          auto batch = loaded->SearchBatch(queries, nq, k, sp, filter, 1).ValueOrDie();
          SetIvfPqQueryOrderBytesForTesting(before);
          for (uint32_t i = 0; i < nq; ++i) {
            auto one = loaded->Search({&queries[size_t{i} * dim], dim}, k, sp, filter).ValueOrDie();
            ASSERT_EQ(one.size(), k) << "refine " << refine << " query " << i;
            ASSERT_EQ(batch[i].size(), k);
            std::set<uint32_t> rows;
            for (size_t j = 0; j < k; ++j) {
              rows.insert(one[j].row);
              EXPECT_EQ(batch[i][j].row, one[j].row) << i << " " << j;
              EXPECT_EQ(batch[i][j].distance, one[j].distance) << i << " " << j;
            }
            EXPECT_EQ(rows.size(), k) << "a row returned twice, query " << i;
          }
        }
      }
    }
  }
  // Parts of one codebook, one with second lists: each (part, row) once.
  auto enc = Encode(ClusteredData(n, dim, 8, 12), dim, Precision::kF32);
  IndexBuildOptions on;
  on.ivf_pq_spill = Spill::kOn;
  {
    auto policy = IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, 4);
    IndexBuildOptions shared_on = on, shared_off;
    shared_off.ivf_pq_spill = Spill::kOff;
    shared_on.ivf_pq_codebook = shared_off.ivf_pq_codebook =
        TrainIvfPqCodebook(policy, enc.view).ValueOrDie();
    auto first =
        Encode({enc.decoded.begin(), enc.decoded.begin() + 1800 * dim}, dim, Precision::kF32);
    auto rest = Encode({enc.decoded.begin() + 1800 * dim, enc.decoded.end()}, dim, Precision::kF32);
    auto p0 = BuildIndex(policy, first.view, shared_on).ValueOrDie();
    auto p1 = BuildIndex(policy, rest.view, shared_off).ValueOrDie();
    const std::vector<IndexPart> parts = {{p0.get(), nullptr}, {p1.get(), nullptr}};
    for (uint32_t refine : {1u, 4u}) {
      SearchParams sp;
      sp.nprobe = 2;
      sp.refine_factor = refine;
      for (uint32_t i = 0; i < nq; ++i) {
        auto got = SearchSharedIvfPq(parts, {&queries[size_t{i} * dim], dim}, k, sp).ValueOrDie();
        ASSERT_EQ(got.size(), k);
        std::set<std::pair<uint32_t, uint32_t>> seen;
        for (const PartNeighbor& nb : got) seen.insert({nb.part, nb.row});
        EXPECT_EQ(seen.size(), k) << "a row returned twice, query " << i;
      }
    }
  }
  // Inner product: no second lists, even when asked.
  auto ip =
      BuildIndex(IvfPolicy(dim, DistanceMetric::kDotProduct, Precision::kF32, 4), enc.view, on)
          .ValueOrDie()
          ->Serialize()
          .ValueOrDie();
  EXPECT_EQ(LoadU32(ip->data() + 84), 0u);
}

// kAuto measures on a sample of the rows whether second lists let a search
// reach the same coarse recall scanning fewer rows. Tight clusters, one per
// list, far apart: a row's neighbours are all in its own list, a second
// copy only adds rows, and nothing spills. Gaussian rows in 16 dimensions,
// 32 lists: the second lists need 1.08x the rows at coarse recall 0.95,
// and nothing spills either. The decision is the same on 1 and 2 threads.
// (Where second lists pay, on the real 132,876 x 384 embeddings, is
// measured in docs/BENCHMARKS.md, session 27: no synthetic set of this
// size that we tried made them pay.)
TEST(IvfPqIndexTest, SecondListsOnlyWhenTheSampleSaysTheyPay) {
  const uint32_t dim = 16, n = 4000;
  auto policy = IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, 4);
  auto spilled_of = [&](const std::vector<float>& rows, uint32_t threads,
                        IndexBuildOptions::IvfSpill spill) {
    auto enc = Encode(rows, dim, Precision::kF32);
    IndexBuildOptions opt;
    opt.num_threads = threads;
    opt.ivf_pq_spill = spill;
    return LoadU32(
        BuildIndex(policy, enc.view, opt).ValueOrDie()->Serialize().ValueOrDie()->data() + 84);
  };
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> tight(size_t{n} * dim), even(size_t{n} * dim);
  for (uint32_t r = 0; r < n; ++r) {
    for (uint32_t t = 0; t < dim; ++t) {
      tight[size_t{r} * dim + t] =
          (t == r % 32 % dim ? 1000.0f * (r % 32 < 16 ? 1 : -1) : 0.0f) + 0.01f * g(rng);
      even[size_t{r} * dim + t] = g(rng);
    }
  }
  using Spill = IndexBuildOptions::IvfSpill;
  for (uint32_t threads : {1u, 2u}) {
    EXPECT_EQ(spilled_of(tight, threads, Spill::kAuto), 0u);
    EXPECT_EQ(spilled_of(even, threads, Spill::kAuto), 0u);
    // Asked for, they are built all the same.
    EXPECT_GT(spilled_of(even, threads, Spill::kOn), n / 2);
  }
}

// Second lists are checked on load: the count at offset 84 and flag bit 4
// agree, the count is at most num_rows, and every row sits in one or two
// lists.
TEST(IvfPqIndexTest, SecondListsAreCheckedOnLoad) {
  const uint32_t dim = 16, n = 2000;
  auto enc = Encode(ClusteredData(n, dim, 8, 14), dim, Precision::kF32);
  IndexBuildOptions on;
  on.ivf_pq_spill = IndexBuildOptions::IvfSpill::kOn;
  auto blob =
      BuildIndex(IvfPolicy(dim, DistanceMetric::kEuclidean, Precision::kF32, 8), enc.view, on)
          .ValueOrDie()
          ->Serialize()
          .ValueOrDie();
  const std::vector<uint8_t> good(blob->data(), blob->data() + blob->size());
  ASSERT_TRUE(LoadIndex(std::make_shared<arrow::Buffer>(good.data(), good.size()), enc.view).ok());
  auto refused = [&](const std::vector<uint8_t>& bad, const std::string& why) {
    ExpectRefused(bad, enc.view, why);
  };
  std::vector<uint8_t> bad = good;
  bad[10] = static_cast<uint8_t>(bad[10] & ~16);  // the count without the flag
  refused(bad, "without flag bit 4");
  bad = good;
  Put(&bad, 84, 0u);  // the flag without a count
  refused(bad, "is not in 1 .. num_rows");
  bad = good;
  Put(&bad, 84, n + 1);
  refused(bad, "is not in 1 .. num_rows");
  bad = good;
  bad[10] = static_cast<uint8_t>(bad[10] | 64);
  refused(bad, "unknown flags");
  // Entry 0's row named by the first three entries: a row in three lists.
  const uint64_t ids = LoadU64(good.data() + 120);
  bad = good;
  for (uint64_t i = 0; i < 3; ++i) Put(&bad, ids + 4 * i, LoadU32(good.data() + ids));
  uint32_t copies = 0;
  for (uint32_t i = 0; i < n + LoadU32(good.data() + 84); ++i) {
    copies += LoadU32(bad.data() + ids + 4ull * i) == LoadU32(good.data() + ids) ? 1 : 0;
  }
  ASSERT_GE(copies, 3u);
  refused(bad, "a third time");
  // A row in no list. Every row is here in two lists (2 n entries), so the
  // count is lowered by two and the last list loses its last two entries
  // (their rows are then held once), and both entries of entry 0's row are
  // given those two rows instead.
  const uint32_t entries = 2 * n, nlist = 32;
  ASSERT_EQ(LoadU32(good.data() + 84), n);
  const uint64_t lists = LoadU64(good.data() + 112);
  const uint32_t a = LoadU32(good.data() + ids + 4ull * (entries - 1)),
                 b = LoadU32(good.data() + ids + 4ull * (entries - 2)),
                 r0 = LoadU32(good.data() + ids);
  ASSERT_TRUE(a != b && a != r0 && b != r0);
  ASSERT_LE(LoadU32(good.data() + lists + 4ull * (nlist - 1)), entries - 2);
  bad = good;
  Put(&bad, 84, n - 2);
  Put(&bad, lists + 4ull * nlist, entries - 2);
  std::vector<uint32_t> with_r0;
  for (uint32_t i = 0; i < entries - 2; ++i) {
    if (LoadU32(good.data() + ids + 4ull * i) == r0) with_r0.push_back(i);
  }
  ASSERT_EQ(with_r0.size(), 2u);
  Put(&bad, ids + 4ull * with_r0[0], a);
  Put(&bad, ids + 4ull * with_r0[1], b);
  refused(bad, "the lists hold 1999 of 2000 rows");
}

TEST(IvfPqIndexTest, InvalidParametersAreRejected) {
  auto enc = Encode(ClusteredData(100, 10, 2, 10), 10, Precision::kF32);
  auto policy = IvfPolicy(10, DistanceMetric::kEuclidean, Precision::kF32);
  policy.ivf_pq.m = 3;  // does not divide 10
  EXPECT_TRUE(BuildIndex(policy, enc.view).status().IsInvalid());
}

}  // namespace
}  // namespace ailake::index
