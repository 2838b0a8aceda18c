// Centroid and radius of a vector set under a metric: what a file records so
// that a table-wide search can skip files that cannot hold a close row.
//
// The bound lives in the metric's space:
//   kEuclidean, kDotProduct   raw vectors
//   kCosine, kNormalizedCosine vectors scaled to unit length (zero rows skipped)
// centroid = mean of the rows in that space; radius = max over rows of the
// (non-squared) Euclidean distance |v - centroid| in that space.
// LowerBoundDistance() turns them into a lower bound on the metric distance
// from a query to any row of the set (triangle / Cauchy-Schwarz inequalities).
#pragma once

#include <cstdint>
#include <vector>

#include <arrow/result.h>

#include "ailake/policy.h"
#include "ailake/vectors.h"

namespace ailake::vec {

struct CentroidRadius {
  std::vector<float> centroid;  // dim floats
  float radius = 0.0f;          // Euclidean, in the metric's space (see above)
  uint32_t rows = 0;            // rows that contributed (zero rows skipped for cosine)
};

// Two passes over `vectors` (mean, then max distance), decoding any precision.
arrow::Result<CentroidRadius> ComputeCentroidRadius(const VectorView& vectors,
                                                    DistanceMetric metric);

// A value <= metric distance(query, v) for every v of the set described by
// `bounds` (query: dim floats). An empty set gives +infinity.
float LowerBoundDistance(DistanceMetric metric, const float* query, const CentroidRadius& bounds);

}  // namespace ailake::vec
