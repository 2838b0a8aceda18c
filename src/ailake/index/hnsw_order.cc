#include "ailake/index/hnsw_order.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "ailake/vec/kmeans.h"
#include "ailake/vec/parallel.h"

namespace ailake::index {
namespace {

// Centroids are trained on at most this many rows per centroid, in this many
// rounds: an order needs rough clusters, not an index's.
constexpr uint32_t kTrainRowsPerCentroid = 32, kTrainRounds = 8;
// Rows decoded and assigned at a time.
constexpr size_t kChunkRows = 4096;

// rows[i] decoded to out + i * dim, at unit length when `unit` (a zero row
// stays zero).
void DecodeRows(const VectorView& v, bool unit, std::span<const uint32_t> rows, float* out) {
  const uint32_t dim = v.dim();
  for (size_t i = 0; i < rows.size(); ++i) {
    float* x = out + i * dim;
    v.Decode(rows[i], x);
    if (!unit) continue;
    double sq = 0.0;
    for (uint32_t j = 0; j < dim; ++j) sq += static_cast<double>(x[j]) * x[j];
    if (!(sq > 0.0) || !std::isfinite(sq)) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(sq));
    for (uint32_t j = 0; j < dim; ++j) x[j] *= inv;
  }
}

// Each of `rows` assigned to one of k clusters (written to `cluster`, one per
// row): centroids trained on one thread from an even sample, then rows
// assigned chunk by chunk on `threads` (each row's nearest centroid is the
// same whatever the split).
void Cluster(const VectorView& v, bool unit, std::span<const uint32_t> rows, uint32_t k,
             uint32_t threads, uint64_t seed, uint32_t* cluster) {
  if (k <= 1 || rows.size() <= 1) {
    std::fill(cluster, cluster + rows.size(), 0u);
    return;
  }
  const uint32_t dim = v.dim();
  const std::vector<size_t> picks =
      vec::SampleRows(rows.size(), size_t{kTrainRowsPerCentroid} * k, seed);
  std::vector<uint32_t> sample_rows(picks.size());
  for (size_t i = 0; i < picks.size(); ++i) sample_rows[i] = rows[picks[i]];
  std::vector<float> sample(sample_rows.size() * dim);
  DecodeRows(v, unit, sample_rows, sample.data());
  vec::KMeansOptions o;
  o.k = k;
  o.iterations = kTrainRounds;
  o.max_points_per_centroid = kTrainRowsPerCentroid;
  o.seed = seed;
  o.threads = 1;
  const std::vector<float> centroids = vec::KMeans(sample.data(), sample_rows.size(), dim, o);
  vec::ParallelFor(rows.size(), threads, kChunkRows, [&](size_t b, size_t e, uint32_t) {
    std::vector<float> x((e - b) * dim);
    DecodeRows(v, unit, rows.subspan(b, e - b), x.data());
    vec::AssignL2(x.data(), e - b, dim, centroids.data(), k, 1, cluster + b);
    // (A NaN row's distances compare false: keep its cluster in range.)
    for (size_t i = b; i < e; ++i) cluster[i] = std::min(cluster[i], k - 1);
  });
}

uint32_t ClustersFor(size_t rows, size_t rows_per_cluster, uint32_t most) {
  const size_t want = (rows + rows_per_cluster - 1) / rows_per_cluster;
  return static_cast<uint32_t>(std::clamp<size_t>(want, 1, most));
}

}  // namespace

std::vector<uint32_t> HnswLocalityOrder(const VectorView& vectors, DistanceMetric metric,
                                        uint32_t threads, uint64_t seed) {
  const uint32_t n = vectors.num_rows();
  const bool unit =
      metric == DistanceMetric::kCosine || metric == DistanceMetric::kNormalizedCosine;
  std::vector<uint32_t> all(n);
  for (uint32_t r = 0; r < n; ++r) all[r] = r;
  // Top clusters of up to kOrderSubClusters leaves each.
  const uint32_t k1 = ClustersFor(n, size_t{kOrderLeafRows} * kOrderSubClusters, kOrderTopClusters);
  std::vector<uint32_t> top(n);
  Cluster(vectors, unit, all, k1, threads, seed, top.data());
  // Each top cluster's rows, in row order (a counting sort).
  std::vector<uint32_t> start(k1 + 1, 0);
  for (uint32_t r = 0; r < n; ++r) ++start[top[r] + 1];
  for (uint32_t c = 0; c < k1; ++c) start[c + 1] += start[c];
  std::vector<uint32_t> grouped(n);
  {
    std::vector<uint32_t> at(start.begin(), start.end() - 1);
    for (uint32_t r = 0; r < n; ++r) grouped[at[top[r]]++] = r;
  }
  // Each top cluster split into leaves, one cluster per thread; its rows
  // then sorted by leaf, in row order within one.
  std::vector<uint32_t> order(n);
  vec::ParallelFor(k1, threads, 1, [&](size_t b, size_t e, uint32_t) {
    for (size_t c = b; c < e; ++c) {
      const std::span<const uint32_t> rows(grouped.data() + start[c], start[c + 1] - start[c]);
      const uint32_t k2 = ClustersFor(rows.size(), kOrderLeafRows, kOrderSubClusters);
      std::vector<uint32_t> leaf(rows.size());
      Cluster(vectors, unit, rows, k2, 1, seed + 1 + c, leaf.data());
      std::vector<uint32_t> at(k2 + 1, 0);
      for (uint32_t l : leaf) ++at[l + 1];
      for (uint32_t l = 0; l < k2; ++l) at[l + 1] += at[l];
      uint32_t* out = order.data() + start[c];
      for (size_t i = 0; i < rows.size(); ++i) out[at[leaf[i]]++] = rows[i];
    }
  });
  return order;
}

}  // namespace ailake::index
