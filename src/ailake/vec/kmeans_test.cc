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

// Spherical k-means on unit rows: every centroid has unit length, and each
// lies along its cluster's direction (inner product with the true direction
// near 1); plain k-means gives the same directions but shorter means.
TEST(KMeansTest, SphericalCentroidsAreUnitAlongTheirClusters) {
  const size_t d = 8, k = 6, per = 300;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  std::vector<float> dirs(k * d, 0.0f), x;
  for (size_t j = 0; j < k; ++j) dirs[j * d + j] = 1.0f;
  for (size_t j = 0; j < k; ++j) {
    for (size_t i = 0; i < per; ++i) {
      std::vector<float> v(d);
      double nn = 0;
      for (size_t t = 0; t < d; ++t) {
        v[t] = dirs[j * d + t] + nd(rng);
        nn += double{v[t]} * v[t];
      }
      for (size_t t = 0; t < d; ++t) x.push_back(static_cast<float>(v[t] / std::sqrt(nn)));
    }
  }
  KMeansOptions o;
  o.k = k;
  o.spherical = true;
  const auto c = KMeans(x.data(), k * per, d, o);
  o.spherical = false;
  const auto plain = KMeans(x.data(), k * per, d, o);
  for (size_t i = 0; i < k; ++i) {
    EXPECT_NEAR(Kernels().dot_f32(&c[i * d], &c[i * d], d), 1.0f, 1e-5f) << i;
    EXPECT_LT(Kernels().dot_f32(&plain[i * d], &plain[i * d], d), 0.95f) << i;
  }
  for (size_t j = 0; j < k; ++j) {
    float best = -1.0f;
    for (size_t i = 0; i < k; ++i)
      best = std::max(best, Kernels().dot_f32(&dirs[j * d], &c[i * d], d));
    EXPECT_GT(best, 0.95f) << "direction " << j;
  }
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
