#include "ailake/vec/distance.h"

#include <cstring>

#include "ailake/vec/codec.h"
#include "ailake/vec/prefetch.h"

namespace ailake::vec {

QueryScorer::QueryScorer(DistanceMetric metric, Precision precision, uint32_t dim,
                         const Int8Params& int8)
    : metric_(metric), precision_(precision), dim_(dim), int8_(int8), k_(&Kernels()), q_(dim) {}

void QueryScorer::SetQuery(const float* q) {
  std::memcpy(q_.data(), q, static_cast<size_t>(dim_) * 4);
  q_norm2_ = k_->dot_f32(q_.data(), q_.data(), dim_);
  q_zero_ = !(q_norm2_ > 0.0f);
  q_inv_norm_ = q_zero_ ? 0.0f : 1.0f / std::sqrt(q_norm2_);
  q_sum_ = 0.0f;
  for (uint32_t i = 0; i < dim_; ++i) q_sum_ += q_[i];
}

float QueryScorer::Dot(const uint8_t* row) const {
  switch (precision_) {
    case Precision::kF32: return k_->dot_f32(q_.data(), reinterpret_cast<const float*>(row), dim_);
    case Precision::kF16:
      return k_->dot_f16(q_.data(), reinterpret_cast<const uint16_t*>(row), dim_);
    case Precision::kInt8: {
      float qc, cc, sc, scale = int8_.scale, offset = int8_.offset;
      k_->stats_i8(q_.data(), reinterpret_cast<const int8_t*>(row), dim_, &qc, &cc, &sc);
      if (int8_.scaling == Int8Scaling::kPerVector) ReadInt8RowParams(row, dim_, &scale, &offset);
      return scale * qc + offset * q_sum_;
    }
  }
  return 0.0f;
}

float QueryScorer::Int8Distance(const uint8_t* row) const {
  float qc, cc, sc, scale = int8_.scale, offset = int8_.offset;
  k_->stats_i8(q_.data(), reinterpret_cast<const int8_t*>(row), dim_, &qc, &cc, &sc);
  if (int8_.scaling == Int8Scaling::kPerVector) ReadInt8RowParams(row, dim_, &scale, &offset);
  // Decoded v_i = scale * c_i + offset.
  const float qv = scale * qc + offset * q_sum_;
  const float vv =
      scale * scale * cc + 2.0f * scale * offset * sc + static_cast<float>(dim_) * offset * offset;
  switch (metric_) {
    case DistanceMetric::kEuclidean: return std::max(0.0f, q_norm2_ - 2.0f * qv + vv);
    case DistanceMetric::kDotProduct: return -qv;
    case DistanceMetric::kNormalizedCosine: return 1.0f - qv;
    case DistanceMetric::kCosine: return CosineFromDot(qv, q_norm2_, vv);
  }
  return 0.0f;
}

float QueryScorer::Distance(const uint8_t* row) const {
  if (precision_ == Precision::kInt8) return Int8Distance(row);
  const bool f32 = precision_ == Precision::kF32;
  const auto* vf = reinterpret_cast<const float*>(row);
  const auto* vh = reinterpret_cast<const uint16_t*>(row);
  switch (metric_) {
    case DistanceMetric::kEuclidean:
      return f32 ? k_->l2_f32(q_.data(), vf, dim_) : k_->l2_f16(q_.data(), vh, dim_);
    case DistanceMetric::kDotProduct:
      return f32 ? -k_->dot_f32(q_.data(), vf, dim_) : -k_->dot_f16(q_.data(), vh, dim_);
    case DistanceMetric::kNormalizedCosine:
      return 1.0f - (f32 ? k_->dot_f32(q_.data(), vf, dim_) : k_->dot_f16(q_.data(), vh, dim_));
    case DistanceMetric::kCosine: {
      float qv, vv;
      if (f32) {
        k_->dot_norm_f32(q_.data(), vf, dim_, &qv, &vv);
      } else {
        k_->dot_norm_f16(q_.data(), vh, dim_, &qv, &vv);
      }
      return CosineFromDot(qv, q_norm2_, vv);
    }
  }
  return 0.0f;
}

void QueryScorer::DistanceMany(const uint8_t* rows, size_t n, size_t row_bytes, float* out) const {
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 < n) PrefetchLine(rows + (i + 2) * row_bytes);
    out[i] = Distance(rows + i * row_bytes);
  }
}

float InverseNorm(Precision precision, uint32_t dim, const Int8Params& int8, const uint8_t* row) {
  std::vector<float> v(dim);
  DecodeRow(precision, dim, int8, row, v.data());
  const float nn = Kernels().dot_f32(v.data(), v.data(), dim);
  return nn > 0.0f ? 1.0f / std::sqrt(nn) : 0.0f;
}

}  // namespace ailake::vec
