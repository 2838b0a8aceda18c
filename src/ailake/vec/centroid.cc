#include "ailake/vec/centroid.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ailake/vec/codec.h"
#include "ailake/vec/kernels.h"

namespace ailake::vec {
namespace {

bool UnitSpace(DistanceMetric m) {
  return m == DistanceMetric::kCosine || m == DistanceMetric::kNormalizedCosine;
}

// Row r decoded into `v` in the metric's space; false for a zero row in unit space.
bool RowInSpace(const VectorView& view, uint32_t r, bool unit, float* v) {
  DecodeRow(view.precision(), view.dim(), view.int8(), view.Row(r), v);
  if (!unit) return true;
  const float nn = Kernels().dot_f32(v, v, view.dim());
  if (!(nn > 0.0f)) return false;
  const float inv = 1.0f / std::sqrt(nn);
  for (uint32_t i = 0; i < view.dim(); ++i) v[i] *= inv;
  return true;
}

}  // namespace

arrow::Result<CentroidRadius> ComputeCentroidRadius(const VectorView& vectors,
                                                    DistanceMetric metric) {
  const uint32_t d = vectors.dim();
  if (d == 0) return arrow::Status::Invalid("centroid/radius: vector view has dim 0");
  const bool unit = UnitSpace(metric);
  CentroidRadius out;
  std::vector<double> sum(d, 0.0);
  std::vector<float> v(d);
  for (uint32_t r = 0; r < vectors.num_rows(); ++r) {
    if (!RowInSpace(vectors, r, unit, v.data())) continue;
    for (uint32_t i = 0; i < d; ++i) sum[i] += v[i];
    ++out.rows;
  }
  out.centroid.assign(d, 0.0f);
  if (out.rows == 0) return out;
  for (uint32_t i = 0; i < d; ++i) out.centroid[i] = static_cast<float>(sum[i] / out.rows);
  float max2 = 0.0f;
  for (uint32_t r = 0; r < vectors.num_rows(); ++r) {
    if (!RowInSpace(vectors, r, unit, v.data())) continue;
    max2 = std::max(max2, Kernels().l2_f32(v.data(), out.centroid.data(), d));
  }
  // Widen by a few ulps so f32 rounding never makes the bound unsafe.
  out.radius = std::sqrt(max2) * (1.0f + 1e-5f) + 1e-6f;
  return out;
}

float LowerBoundDistance(DistanceMetric metric, const float* query, const CentroidRadius& b) {
  if (b.rows == 0) return std::numeric_limits<float>::infinity();
  const uint32_t d = static_cast<uint32_t>(b.centroid.size());
  const KernelTable& k = Kernels();
  switch (metric) {
    case DistanceMetric::kEuclidean: {
      const float gap = std::sqrt(k.l2_f32(query, b.centroid.data(), d)) - b.radius;
      return gap > 0.0f ? gap * gap * (1.0f - 1e-5f) : 0.0f;
    }
    case DistanceMetric::kDotProduct:
    case DistanceMetric::kNormalizedCosine: {
      // -q.v = -q.c - q.(v - c) >= -q.c - |q| r (normalized cosine adds 1; its rows are
      // unit, the query is taken as given).
      const float qn = std::sqrt(k.dot_f32(query, query, d));
      const float base = metric == DistanceMetric::kNormalizedCosine ? 1.0f : 0.0f;
      return base - k.dot_f32(query, b.centroid.data(), d) - qn * b.radius - 1e-5f * (1.0f + qn);
    }
    case DistanceMetric::kCosine: {
      // Unit vectors: 1 - cos = |q^ - v|^2 / 2, and |q^ - v| >= |q^ - c| - r.
      const float qn = std::sqrt(k.dot_f32(query, query, d));
      if (!(qn > 0.0f)) return 0.0f;
      std::vector<float> u(query, query + d);
      for (float& x : u) x /= qn;
      const float gap = std::sqrt(k.l2_f32(u.data(), b.centroid.data(), d)) - b.radius;
      return gap > 0.0f ? 0.5f * gap * gap * (1.0f - 1e-5f) : 0.0f;
    }
  }
  return 0.0f;
}

}  // namespace ailake::vec
