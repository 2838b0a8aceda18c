#include "ailake/vec/kmeans.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "ailake/vec/codec.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/matrix.h"
#include "ailake/vec/parallel.h"

namespace ailake::vec {

std::vector<size_t> SampleRows(size_t n, size_t max_rows, uint64_t seed) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  if (n <= max_rows) return idx;
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < max_rows; ++i) {
    std::uniform_int_distribution<size_t> pick(i, n - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(max_rows);
  std::sort(idx.begin(), idx.end());
  return idx;
}

void AssignL2(const float* x, size_t n, size_t d, const float* centroids, size_t k,
              uint32_t threads, uint32_t* assign, float* dist) {
  const PackedRows packed = PackRows(centroids, k, d);
  std::vector<float> scratch(dist == nullptr ? n : 0);
  float* out = dist == nullptr ? scratch.data() : dist;
  ParallelFor(n, threads, 256, [&](size_t b, size_t e, uint32_t) {
    NearestL2(x + b * d, e - b, packed, assign + b, out + b);
  });
}

namespace {

// k-means++ seeding on m rows.
std::vector<float> PlusPlus(const float* x, size_t m, size_t d, size_t k, uint64_t seed,
                            uint32_t threads) {
  std::mt19937_64 rng(seed);
  std::vector<float> c(k * d);
  std::vector<float> best(m, std::numeric_limits<float>::infinity());
  size_t pick = std::uniform_int_distribution<size_t>(0, m - 1)(rng);
  for (size_t j = 0; j < k; ++j) {
    std::memcpy(&c[j * d], x + pick * d, d * 4);
    const float* cj = &c[j * d];
    ParallelFor(m, threads, 2048, [&](size_t b, size_t e, uint32_t) {
      for (size_t i = b; i < e; ++i)
        best[i] = std::min(best[i], Kernels().l2_f32(x + i * d, cj, d));
    });
    if (j + 1 == k) break;
    double total = 0;
    for (float v : best) total += v;
    if (!(total > 0)) {  // all rows coincide with chosen centres
      pick = std::uniform_int_distribution<size_t>(0, m - 1)(rng);
      continue;
    }
    double r = std::uniform_real_distribution<double>(0, total)(rng);
    pick = m - 1;
    for (size_t i = 0; i < m; ++i) {
      r -= best[i];
      if (r <= 0) {
        pick = i;
        break;
      }
    }
  }
  return c;
}

}  // namespace

std::vector<float> KMeans(const float* x, size_t n, size_t d, const KMeansOptions& o) {
  const size_t k = o.k;
  std::vector<float> c(k * d, 0.0f);
  if (n == 0 || k == 0) return c;
  std::mt19937_64 rng(o.seed);
  if (n <= k) {
    for (size_t j = 0; j < k; ++j) std::memcpy(&c[j * d], x + (j % n) * d, d * 4);
    return c;
  }
  // Training sample.
  const auto rows = SampleRows(n, size_t{o.max_points_per_centroid} * k, o.seed);
  const size_t ns = rows.size();
  std::vector<float> sample;
  const float* s = x;
  if (ns < n) {
    sample.resize(ns * d);
    for (size_t i = 0; i < ns; ++i) std::memcpy(&sample[i * d], x + rows[i] * d, d * 4);
    s = sample.data();
  }
  // Seeding sample.
  const auto seed_rows = SampleRows(ns, 16 * k, o.seed + 1);
  std::vector<float> seeds(seed_rows.size() * d);
  for (size_t i = 0; i < seed_rows.size(); ++i) {
    std::memcpy(&seeds[i * d], s + seed_rows[i] * d, d * 4);
  }
  c = PlusPlus(seeds.data(), seed_rows.size(), d, k, o.seed + 2, o.threads);

  const uint32_t threads = ResolveThreads(o.threads, ns / 1024 + 1);
  std::vector<uint32_t> assign(ns);
  std::vector<double> sums(size_t{threads} * k * d);
  std::vector<uint64_t> counts(size_t{threads} * k);
  for (uint32_t it = 0; it < o.iterations; ++it) {
    AssignL2(s, ns, d, c.data(), k, threads, assign.data());
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    ParallelFor(ns, threads, (ns + threads - 1) / threads, [&](size_t b, size_t e, uint32_t w) {
      double* sw = &sums[size_t{w} * k * d];
      uint64_t* cw = &counts[size_t{w} * k];
      for (size_t i = b; i < e; ++i) {
        const uint32_t a = assign[i];
        ++cw[a];
        const float* xi = s + i * d;
        double* dst = sw + size_t{a} * d;
        for (size_t t = 0; t < d; ++t) dst[t] += xi[t];
      }
    });
    std::vector<uint64_t> count(k, 0);
    for (uint32_t w = 0; w < threads; ++w) {
      for (size_t j = 0; j < k; ++j) count[j] += counts[size_t{w} * k + j];
    }
    for (size_t j = 0; j < k; ++j) {
      if (count[j] == 0) continue;
      for (size_t t = 0; t < d; ++t) {
        double v = 0;
        for (uint32_t w = 0; w < threads; ++w) v += sums[(size_t{w} * k + j) * d + t];
        c[j * d + t] = static_cast<float>(v / static_cast<double>(count[j]));
      }
    }
    // Empty clusters: split the largest cluster in two.
    for (size_t j = 0; j < k; ++j) {
      if (count[j] != 0) continue;
      const size_t big =
          static_cast<size_t>(std::max_element(count.begin(), count.end()) - count.begin());
      if (count[big] < 2) break;
      constexpr float kEps = 1.0f / 1024;
      for (size_t t = 0; t < d; ++t) {
        const float v = c[big * d + t];
        const float sign = (t % 2 == 0) ? 1.0f : -1.0f;
        c[j * d + t] = v * (1 + sign * kEps) + sign * kEps;
        c[big * d + t] = v * (1 - sign * kEps) - sign * kEps;
      }
      count[j] = count[big] / 2;
      count[big] -= count[j];
    }
    if (o.spherical) NormalizeRows(c.data(), k, static_cast<uint32_t>(d));
  }
  return c;
}

}  // namespace ailake::vec
