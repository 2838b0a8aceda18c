#include "ailake/index/flat_index.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "ailake/index/test_util.h"
#include "ailake/vec/kernels.h"

namespace ailake::index {
namespace {

using testing::ClusteredData;
using testing::Encode;

constexpr DistanceMetric kMetrics[] = {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                                       DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine};

TEST(FlatIndexTest, MatchesDoubleOracleForEveryMetricAndPrecision) {
  const uint32_t dim = 17, n = 500, k = 10;
  auto data = ClusteredData(n, dim, 8, 1);
  const auto queries = ClusteredData(5, dim, 8, 2);
  for (Precision prec : {Precision::kF32, Precision::kF16, Precision::kInt8}) {
    for (DistanceMetric m : kMetrics) {
      auto rows = data;
      if (m == DistanceMetric::kNormalizedCosine) vec::NormalizeRows(rows.data(), n, dim);
      auto enc = Encode(rows, dim, prec);
      auto idx = BuildIndex(testing::Policy(dim, m, prec, IndexType::kFlat), enc.view).ValueOrDie();
      EXPECT_EQ(idx->type(), IndexType::kFlat);
      for (uint32_t qi = 0; qi < 5; ++qi) {
        const float* q = &queries[qi * dim];
        auto got = idx->Search({q, dim}, k).ValueOrDie();
        const auto want = testing::OracleTopK(m, enc.decoded, dim, q, k);
        ASSERT_EQ(got.size(), k);
        for (uint32_t i = 0; i < k; ++i) {
          const double wd = testing::OracleDistance(m, q, &enc.decoded[size_t{want[i]} * dim], dim);
          EXPECT_NEAR(got[i].distance, wd, 1e-3 * (1 + std::fabs(wd)))
              << MetricName(m) << " " << PrecisionName(prec) << " rank " << i;
          const double gd =
              testing::OracleDistance(m, q, &enc.decoded[size_t{got[i].row} * dim], dim);
          EXPECT_NEAR(got[i].distance, gd, 1e-3 * (1 + std::fabs(gd)));
        }
      }
    }
  }
}

TEST(FlatIndexTest, FilterReturnsOnlyAllowedRowsAndAllOfTheWantedCount) {
  const uint32_t dim = 8, n = 300;
  auto enc = Encode(ClusteredData(n, dim, 4, 3), dim, Precision::kF32);
  auto idx = BuildIndex(testing::Policy(dim, DistanceMetric::kEuclidean, Precision::kF32,
                                        IndexType::kFlat),
                        enc.view)
                 .ValueOrDie();
  testing::FilterBits few(n, [](uint32_t r) { return r % 97 == 5; });  // rows 5, 102, 199, 296
  auto got = idx->Search({enc.decoded.data(), dim}, 10, {}, &few.filter).ValueOrDie();
  ASSERT_EQ(got.size(), 4u);
  for (const Neighbor& nb : got) EXPECT_EQ(nb.row % 97, 5u);
}

TEST(FlatIndexTest, BatchedSearchEqualsSingleSearch) {
  const uint32_t dim = 33, n = 2100, nq = 40, k = 7;
  auto enc = Encode(ClusteredData(n, dim, 16, 4), dim, Precision::kF32);
  const auto q = ClusteredData(nq, dim, 16, 5);
  for (DistanceMetric m :
       {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct, DistanceMetric::kCosine}) {
    auto idx = BuildIndex(testing::Policy(dim, m, Precision::kF32, IndexType::kFlat), enc.view)
                   .ValueOrDie();
    // Every third row allowed; a zero query (cosine: every distance 1) at 3.
    std::vector<uint64_t> words((n + 63) / 64, 0);
    for (uint32_t r = 0; r < n; r += 3) words[r / 64] |= 1ull << (r % 64);
    RowFilter filter;
    filter.num_rows = n;
    filter.words = words;
    std::vector<float> qs = q;
    std::fill(qs.begin() + 3 * dim, qs.begin() + 4 * dim, 0.0f);
    const std::vector<const RowFilter*> filters = {nullptr, &filter};
    for (const RowFilter* f : filters) {
      for (uint32_t threads : {1u, 2u}) {
        auto batch = idx->SearchBatch(qs, nq, k, {}, f, threads).ValueOrDie();
        ASSERT_EQ(batch.size(), nq);
        for (uint32_t i = 0; i < nq; ++i) {
          auto one = idx->Search({&qs[i * dim], dim}, k, {}, f).ValueOrDie();
          ASSERT_EQ(batch[i].size(), one.size());
          for (uint32_t j = 0; j < k; ++j) {
            EXPECT_EQ(batch[i][j].row, one[j].row) << MetricName(m) << " q" << i << " rank " << j;
            EXPECT_FLOAT_EQ(batch[i][j].distance, one[j].distance);
          }
        }
      }
    }
  }
}

TEST(FlatIndexTest, SerializeLoadRoundTripAndMismatchIsRejected) {
  const uint32_t dim = 4, n = 50;
  auto enc = Encode(ClusteredData(n, dim, 2, 6), dim, Precision::kF16);
  auto idx =
      BuildIndex(testing::Policy(dim, DistanceMetric::kCosine, Precision::kF16, IndexType::kFlat),
                 enc.view)
          .ValueOrDie();
  auto blob = idx->Serialize().ValueOrDie();
  // Cosine: the header, then 1/|v| per row (50 x 4 bytes, padded to 64).
  EXPECT_EQ(blob->size(), 64 + 256);
  auto loaded = LoadIndex(blob, enc.view).ValueOrDie();
  for (uint32_t r = 0; r < n; r += 7) {
    auto hits = loaded->Search({&enc.decoded[size_t{r} * dim], dim}, n).ValueOrDie();
    for (const Neighbor& nb : hits) {
      const double t =
          testing::OracleDistance(DistanceMetric::kCosine, &enc.decoded[size_t{r} * dim],
                                  &enc.decoded[size_t{nb.row} * dim], dim);
      EXPECT_NEAR(nb.distance, t, 1e-5);
    }
  }
  // Other metrics: the header alone; a norms flag there, or norms cut short,
  // is refused.
  auto l2 = BuildIndex(
                testing::Policy(dim, DistanceMetric::kEuclidean, Precision::kF16, IndexType::kFlat),
                enc.view)
                .ValueOrDie()
                ->Serialize()
                .ValueOrDie();
  EXPECT_EQ(l2->size(), 64);
  std::vector<uint8_t> flagged(l2->data(), l2->data() + l2->size());
  flagged[10] = 1;
  EXPECT_TRUE(LoadIndex(std::make_shared<arrow::Buffer>(flagged.data(), 64), enc.view)
                  .status()
                  .IsInvalid());
  std::vector<uint8_t> cut(blob->data(), blob->data() + 128);
  const uint64_t cut_size = cut.size();
  std::memcpy(&cut[24], &cut_size, 8);
  auto short_norms = LoadIndex(std::make_shared<arrow::Buffer>(cut.data(), 128), enc.view);
  ASSERT_FALSE(short_norms.ok());
  EXPECT_NE(short_norms.status().message().find("inv_norms"), std::string::npos)
      << short_norms.status().message();
  EXPECT_EQ(loaded->metric(), DistanceMetric::kCosine);
  EXPECT_EQ(loaded->size(), n);
  auto a = idx->Search({enc.decoded.data(), dim}, 5).ValueOrDie();
  auto b = loaded->Search({enc.decoded.data(), dim}, 5).ValueOrDie();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].row, b[i].row);
  auto other = Encode(ClusteredData(n - 1, dim, 2, 6), dim, Precision::kF16);
  auto bad = LoadIndex(blob, other.view);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("49 rows"), std::string::npos) << bad.status().message();
}

TEST(FlatIndexTest, WrongQueryDimIsAnError) {
  auto enc = Encode(ClusteredData(10, 4, 2, 7), 4, Precision::kF32);
  auto idx =
      BuildIndex(testing::Policy(4, DistanceMetric::kEuclidean, Precision::kF32, IndexType::kFlat),
                 enc.view)
          .ValueOrDie();
  std::vector<float> q(3);
  EXPECT_TRUE(idx->Search(q, 1).status().IsInvalid());
}

// AILAKE_SIMD is read once per process, at the first kernel use, so each
// setting is made first thing in a fresh process.
TEST(FlatIndexTest, AnUnknownSimdCapIsAnErrorNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto policy =
      testing::Policy(4, DistanceMetric::kEuclidean, Precision::kF32, IndexType::kFlat);
  EXPECT_EXIT(
      {
        setenv("AILAKE_SIMD", "avx3", 1);
        auto enc = Encode(ClusteredData(10, 4, 2, 7), 4, Precision::kF32);
        auto blob = BuildFlatIndex(policy, enc.view).ValueOrDie()->Serialize().ValueOrDie();
        auto built = BuildIndex(policy, enc.view);
        auto loaded = LoadIndex(blob, enc.view);
        auto named = [](const arrow::Status& s) {
          return s.IsInvalid() && s.message().find("AILAKE_SIMD is 'avx3'") != std::string::npos;
        };
        std::exit(
            !built.ok() && named(built.status()) && !loaded.ok() && named(loaded.status()) ? 3 : 4);
      },
      ::testing::ExitedWithCode(3), "");
  EXPECT_EXIT(
      {
        setenv("AILAKE_SIMD", "scalar", 1);
        auto enc = Encode(ClusteredData(10, 4, 2, 7), 4, Precision::kF32);
        auto built = BuildIndex(policy, enc.view);
        std::exit(built.ok() && vec::ActiveSimdLevel() == ailake::SimdLevel::kScalar ? 3 : 4);
      },
      ::testing::ExitedWithCode(3), "");
}

TEST(VectorViewTest, SegmentedLocatesRowsAcrossSegments) {
  const uint32_t dim = 3;
  std::vector<float> a(4 * dim), b(2 * dim);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = 100.0f + static_cast<float>(i);
  auto v = VectorView::Segmented(Precision::kF32, dim, {},
                                 {{reinterpret_cast<const uint8_t*>(a.data()), 4},
                                  {reinterpret_cast<const uint8_t*>(b.data()), 2}})
               .ValueOrDie();
  EXPECT_EQ(v.num_rows(), 6u);
  float out[3];
  v.Decode(5, out);
  EXPECT_EQ(out[0], 103.0f);
  v.Decode(3, out);
  EXPECT_EQ(out[2], 11.0f);
  auto bad = VectorView::Segmented(Precision::kF32, dim, {},
                                   {{reinterpret_cast<const uint8_t*>(a.data()), 2},
                                    {reinterpret_cast<const uint8_t*>(b.data()), 1},
                                    {reinterpret_cast<const uint8_t*>(b.data()), 1}});
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(VectorView::Contiguous(Precision::kInt8, dim, {}, nullptr, 0).ok());
  EXPECT_FALSE(VectorView::Contiguous(Precision::kF32, 0, {}, nullptr, 0).ok());
}

TEST(IndexFactoryTest, NoneIsRejected) {
  auto enc = Encode(ClusteredData(10, 4, 2, 8), 4, Precision::kF32);
  auto p = testing::Policy(4, DistanceMetric::kEuclidean, Precision::kF32, IndexType::kNone);
  EXPECT_FALSE(BuildIndex(p, enc.view).ok());
}

}  // namespace
}  // namespace ailake::index
