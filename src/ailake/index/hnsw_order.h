// The order an HNSW graph's nodes are stored in (docs/FORMAT.md 3.3.3): rows
// near each other in space get nearby node numbers, so the links and
// traversal codes a walk reads sit in fewer pages and cache lines than in the
// rows' own order.
#pragma once

#include <cstdint>
#include <vector>

#include "ailake/index.h"

namespace ailake::index {

// Two levels of k-means: up to kOrderTopClusters clusters, each split into up
// to kOrderSubClusters of about kOrderLeafRows rows; the rows sorted by
// (cluster, sub-cluster), in row order within one. Cosine clusters the rows
// at unit length. Centroids are trained on samples one cluster per thread,
// each single-threaded, so the order depends on the vectors and the seed
// alone, whatever the thread count. Returns the row of each node (a
// permutation of [0, num_rows)).
inline constexpr uint32_t kOrderTopClusters = 64, kOrderSubClusters = 64, kOrderLeafRows = 64;
std::vector<uint32_t> HnswLocalityOrder(const VectorView& vectors, DistanceMetric metric,
                                        uint32_t threads, uint64_t seed);

}  // namespace ailake::index
