// QueryScorer: the exact distance (include/ailake/policy.h convention) between
// one f32 query and stored rows of any precision, through the dispatched
// kernels. Prepared once per query; Distance() is the hot call of every index.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ailake/policy.h"
#include "ailake/vec/kernels.h"

namespace ailake::vec {

// Cosine distance from a dot product and squared norms; 0 when both vectors are
// zero, 1 when exactly one is.
inline float CosineFromDot(float qv, float qq, float vv) {
  if (qq <= 0.0f || vv <= 0.0f) return (qq <= 0.0f && vv <= 0.0f) ? 0.0f : 1.0f;
  return 1.0f - qv / std::sqrt(qq * vv);
}

class QueryScorer {
 public:
  QueryScorer(DistanceMetric metric, Precision precision, uint32_t dim, const Int8Params& int8);

  // Copies the query (dim floats) and precomputes what each metric needs.
  void SetQuery(const float* q);
  const float* query() const { return q_.data(); }

  // Exact distance of the query to one stored row.
  float Distance(const uint8_t* row) const;

  // Cosine only: the distance given the row's 1/|v| (0 for a zero row), so a
  // cosine search costs one dot product per row.
  float CosineWithInvNorm(const uint8_t* row, float inv_norm) const {
    if (q_zero_) return inv_norm == 0.0f ? 0.0f : 1.0f;
    return 1.0f - Dot(row) * q_inv_norm_ * inv_norm;
  }

  // kCosine over f32 rows: Distance(row) given vv = dot_f32(row, row), the
  // same float (dot_norm_f32 sums as dot_f32 does), for a caller that scores
  // one row against several queries.
  float CosineF32GivenNorm2(const float* row, float vv) const {
    return CosineFromDot(k_->dot_f32(q_.data(), row, dim_), q_norm2_, vv);
  }

  // One query against n rows stored back to back (row_bytes apart).
  void DistanceMany(const uint8_t* rows, size_t n, size_t row_bytes, float* out) const;

  // sum q_i v_i for a stored row.
  float Dot(const uint8_t* row) const;

  DistanceMetric metric() const { return metric_; }
  uint32_t dim() const { return dim_; }

 private:
  float Int8Distance(const uint8_t* row) const;

  DistanceMetric metric_;
  Precision precision_;
  uint32_t dim_;
  Int8Params int8_;
  const KernelTable* k_;
  std::vector<float> q_;
  float q_norm2_ = 0.0f;
  float q_inv_norm_ = 0.0f;
  float q_sum_ = 0.0f;
  bool q_zero_ = false;
};

// 1 / |v| for a stored row (0 for a zero row); norms of cosine indexes.
float InverseNorm(Precision precision, uint32_t dim, const Int8Params& int8, const uint8_t* row);

}  // namespace ailake::vec
