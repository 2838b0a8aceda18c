#include "ailake/vec/centroid.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "ailake/hardware.h"
#include "ailake/vec/distance.h"

namespace ailake::vec {
namespace {

double Exact(DistanceMetric m, const std::vector<float>& q, const float* v) {
  double dot = 0, qq = 0, vv = 0, l2 = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    dot += double{q[i]} * v[i];
    qq += double{q[i]} * q[i];
    vv += double{v[i]} * v[i];
    l2 += (double{q[i]} - v[i]) * (double{q[i]} - v[i]);
  }
  switch (m) {
    case DistanceMetric::kEuclidean: return l2;
    case DistanceMetric::kDotProduct: return -dot;
    case DistanceMetric::kNormalizedCosine: return 1 - dot;
    case DistanceMetric::kCosine: return 1 - dot / std::sqrt(qq * vv);
  }
  return 0;
}

TEST(CentroidTest, LowerBoundNeverExceedsAnyRowDistance) {
  const uint32_t dim = 24, n = 200;
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> rows(n * dim);
  for (float& x : rows) x = nd(rng) + 2.0f;
  for (DistanceMetric m : {DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                           DistanceMetric::kCosine, DistanceMetric::kNormalizedCosine}) {
    std::vector<float> data = rows;
    if (m == DistanceMetric::kNormalizedCosine) {
      for (uint32_t r = 0; r < n; ++r) {
        double s = 0;
        for (uint32_t i = 0; i < dim; ++i) s += double{data[r * dim + i]} * data[r * dim + i];
        for (uint32_t i = 0; i < dim; ++i) data[r * dim + i] /= static_cast<float>(std::sqrt(s));
      }
    }
    auto view = VectorView::Contiguous(Precision::kF32, dim, {},
                                       reinterpret_cast<const uint8_t*>(data.data()), n)
                    .ValueOrDie();
    auto b = ComputeCentroidRadius(view, m).ValueOrDie();
    EXPECT_EQ(b.rows, n);
    EXPECT_GT(b.radius, 0.0f);
    for (int t = 0; t < 50; ++t) {
      std::vector<float> q(dim);
      const float shift = static_cast<float>(t % 5) * 3.0f - 6.0f;
      for (float& x : q) x = nd(rng) + shift;
      const float lb = LowerBoundDistance(m, q.data(), b);
      double best = 1e30;
      for (uint32_t r = 0; r < n; ++r) best = std::min(best, Exact(m, q, &data[r * dim]));
      EXPECT_LE(lb, best + 1e-4) << MetricName(m) << " query " << t;
    }
    // A query far from the set gets a bound that prunes (Euclidean only is sure to).
    if (m == DistanceMetric::kEuclidean) {
      std::vector<float> far(dim, 100.0f);
      EXPECT_GT(LowerBoundDistance(m, far.data(), b), 1000.0f);
    }
  }
}

TEST(CentroidTest, EmptySetBoundIsInfinite) {
  auto view = VectorView::Contiguous(Precision::kF32, 3, {}, nullptr, 0).ValueOrDie();
  auto b = ComputeCentroidRadius(view, DistanceMetric::kCosine).ValueOrDie();
  EXPECT_EQ(b.rows, 0u);
  float q[3] = {1, 2, 3};
  EXPECT_TRUE(std::isinf(LowerBoundDistance(DistanceMetric::kCosine, q, b)));
}

TEST(QueryScorerTest, Int8AndCosineEdgeCases) {
  // Zero vectors under cosine: both zero -> 0, one zero -> 1.
  QueryScorer s(DistanceMetric::kCosine, Precision::kF32, 2, {});
  const float zero[2] = {0, 0}, one[2] = {1, 0};
  s.SetQuery(zero);
  EXPECT_EQ(s.Distance(reinterpret_cast<const uint8_t*>(zero)), 0.0f);
  EXPECT_EQ(s.Distance(reinterpret_cast<const uint8_t*>(one)), 1.0f);
  s.SetQuery(one);
  EXPECT_EQ(s.Distance(reinterpret_cast<const uint8_t*>(zero)), 1.0f);
  EXPECT_NEAR(s.Distance(reinterpret_cast<const uint8_t*>(one)), 0.0f, 1e-6f);
}

TEST(HardwareTest, ProbeReportsCoresAndTheKernelLevel) {
  const HardwareProfile& hw = ProbeHardware();
  EXPECT_GE(hw.logical_cores, 1u);
  EXPECT_EQ(hw.simd, Kernels().level);
  EXPECT_EQ(hw.gpu_present, hw.gpu_count > 0);
  EXPECT_EQ(&hw, &ProbeHardware());
}

}  // namespace
}  // namespace ailake::vec
