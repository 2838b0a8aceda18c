// k-means (squared L2) for IVF coarse centroids and PQ codebooks.
//
// - Sampling: at most max_points_per_centroid * k rows are used (uniform,
//   seeded), like FAISS' default of 256.
// - Initialization: k-means++ (Arthur & Vassilvitskii) on a further sample of
//   at most 16 * k rows, so seeding costs O(16 k^2 d) whatever n is.
// - Lloyd iterations: assignment through the packed inner-product kernel,
//   split across threads; an empty cluster takes half of the largest one
//   (its centre is perturbed symmetrically), so k centroids always come back.
// - Fewer rows than k: every row is a centroid, the rest repeat rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ailake::vec {

struct KMeansOptions {
  uint32_t k = 256;
  // Spherical k-means: every centroid is scaled to unit length after each
  // update (a zero one is left as it is), for unit rows ranked by inner
  // product. On the real 384-d embeddings (nlist 1024) lists probed this
  // way hold more of the true neighbours per row scanned than plain means
  // (docs/BENCHMARKS.md, session 24).
  bool spherical = false;
  uint32_t iterations = 20;
  uint32_t max_points_per_centroid = 256;
  uint64_t seed = 42;
  uint32_t threads = 0;  // 0 = all cores
};

// x: n rows of d floats. Returns k x d centroids.
std::vector<float> KMeans(const float* x, size_t n, size_t d, const KMeansOptions& options);

// Nearest of `k` centroids (squared L2) for each of n rows, split across threads.
void AssignL2(const float* x, size_t n, size_t d, const float* centroids, size_t k,
              uint32_t threads, uint32_t* assign, float* dist = nullptr);

// Uniform sample of min(n, max_rows) row indices (sorted), seeded.
std::vector<size_t> SampleRows(size_t n, size_t max_rows, uint64_t seed);

}  // namespace ailake::vec
