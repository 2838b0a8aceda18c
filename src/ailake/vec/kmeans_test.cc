#include "ailake/vec/kmeans.h"

#include <random>
#include <set>

#include <gtest/gtest.h>

#include "ailake/vec/kernels.h"
#include "ailake/vec/pq.h"

namespace ailake::vec {
namespace {

TEST(KMeansTest, RecoversWellSeparatedClusters) {
  const size_t d = 5, k = 8, per = 200;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  std::vector<float> centres(k * d), x;
  for (size_t j = 0; j < k; ++j) {
    for (size_t t = 0; t < d; ++t)
      centres[j * d + t] = static_cast<float>((j * 7 + t * 3) % 11) * 10.0f;
  }
  for (size_t j = 0; j < k; ++j) {
    for (size_t i = 0; i < per; ++i) {
      for (size_t t = 0; t < d; ++t) x.push_back(centres[j * d + t] + nd(rng));
    }
  }
  KMeansOptions o;
  o.k = k;
  o.threads = 2;
  const auto c = KMeans(x.data(), k * per, d, o);
  // Every true centre has a learned centroid within 0.1.
  for (size_t j = 0; j < k; ++j) {
    float best = 1e30f;
    for (size_t i = 0; i < k; ++i)
      best = std::min(best, Kernels().l2_f32(&centres[j * d], &c[i * d], d));
    EXPECT_LT(best, 0.01f) << "centre " << j;
  }
  std::vector<uint32_t> a(k * per);
  AssignL2(x.data(), k * per, d, c.data(), k, 2, a.data());
  EXPECT_EQ(std::set<uint32_t>(a.begin(), a.end()).size(), k);  // no empty cluster
}

TEST(KMeansTest, DuplicatePointsStillGiveKCentroidsAndFewerRowsThanK) {
  std::vector<float> x(100 * 2, 1.0f);
  x[0] = 5.0f;
  KMeansOptions o;
  o.k = 10;
  const auto c = KMeans(x.data(), 100, 2, o);
  EXPECT_EQ(c.size(), 20u);
  for (float v : c) EXPECT_TRUE(std::isfinite(v));
  const auto few = KMeans(x.data(), 3, 2, o);
  EXPECT_EQ(few.size(), 20u);
}

TEST(ProductQuantizerTest, ReconstructionErrorFarBelowDataVariance) {
  const size_t n = 4000, d = 16;
  const uint32_t m = 4;
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> x(n * d);
  for (float& v : x) v = nd(rng);
  const auto books = TrainProductQuantizer(x.data(), n, d, m, 256, 10, 1, 2);
  std::vector<uint8_t> codes(n * m);
  EncodeProductQuantizer(books.data(), d, m, 256, x.data(), n, codes.data(), 2);
  double err = 0, var = 0;
  std::vector<float> rec(d);
  for (size_t i = 0; i < n; ++i) {
    DecodeProductQuantizer(books.data(), d, m, 256, &codes[i * m], rec.data());
    err += Kernels().l2_f32(&x[i * d], rec.data(), d);
    var += Kernels().dot_f32(&x[i * d], &x[i * d], d);
  }
  // 256 codewords per 4-d sub-space: distortion well under a third of the energy.
  EXPECT_LT(err, var * 0.33);
}

}  // namespace
}  // namespace ailake::vec
