// The compact copy of the vectors an HNSW graph is walked on (docs/FORMAT.md
// 3.3.1): 8-bit scalar codes, one byte per dimension, with a mean and a scale
// per dimension, c_i = round((v_i - mean_i) / scale_i) clamped to +-127 and
// scale_i = max |v_i - mean_i| / 127 (no clipping: clipping outliers cost
// walk recall on heavy-tailed data). The walk scores rows on the codes
// (a quarter of the f32 bytes, one integer dot product per row) and the
// candidates it ends with are re-ranked exactly on the stored vectors, so
// every distance returned is still exact.
//
// A query becomes per-dimension weights w (w_i = (q_i - mean_i) * scale_i
// for euclidean, q_i * scale_i otherwise) quantized to int16 with one scale
// t, and then for a row with codes c:
//   euclidean  |q - v|^2 ~ |q - mean|^2 - 2 t (wq . c) + sum_i scale_i^2 c_i^2
//   dot        q . v    ~ q . mean + t (wq . c)
// (the last euclidean term is stored per row; cosine divides the dot product
// by the stored norms).
#pragma once

#include <cstdint>
#include <vector>

#include "ailake/index/blob.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {

inline constexpr uint32_t kCodeKindSq8 = 1;
// Code rows are padded to a multiple of this many bytes (zeros), so the dot
// product kernels run without a tail.
inline constexpr uint32_t kCodeRowAlign = 32;

inline uint32_t Sq8Stride(uint32_t dim) {
  return (dim + kCodeRowAlign - 1) / kCodeRowAlign * kCodeRowAlign;
}

// The codes of `vectors` (num_rows x stride), with the per-dimension mean and
// scale, and for euclidean the per-row term sum_i scale_i^2 c_i^2.
struct Sq8Codes {
  uint32_t stride = 0;
  std::vector<float> mean, scale;
  std::vector<int8_t> codes;
  std::vector<float> terms;  // euclidean only
};
Sq8Codes EncodeSq8(const VectorView& vectors, DistanceMetric metric, uint32_t num_threads);

// The code of one value.
int8_t QuantizeSq8(float v, float mean, float scale);

// Distance from the current query to a row's codes (an HnswNodeDistance of
// hnsw_search.h). Reads the blob's sections in place.
class Sq8Distance {
 public:
  // `params`: dim f32 means then dim f32 scales; `terms`: num_rows f32 or
  // null (non-euclidean); `inv_norms`: num_rows f32 for cosine, else null.
  Sq8Distance(DistanceMetric metric, uint32_t dim, uint32_t stride, const int8_t* codes,
              const uint8_t* params, const uint8_t* terms, const uint8_t* inv_norms);
  void SetQuery(const float* q);
  float operator()(uint32_t r) const {
    const float dot = static_cast<float>(
        k_->dot_i16_i8(wq_.data(), codes_ + static_cast<size_t>(r) * stride_, stride_));
    switch (metric_) {
      case DistanceMetric::kEuclidean: return base_ - 2.0f * t_ * dot + LoadF32(terms_ + 4ull * r);
      case DistanceMetric::kDotProduct: return -(base_ + t_ * dot);
      case DistanceMetric::kNormalizedCosine: return 1.0f - (base_ + t_ * dot);
      case DistanceMetric::kCosine: {
        const float inv = LoadF32(inv_norms_ + 4ull * r);
        if (q_zero_) return inv == 0.0f ? 0.0f : 1.0f;
        return 1.0f - (base_ + t_ * dot) * q_inv_norm_ * inv;
      }
    }
    return 0.0f;
  }
  // out[j] = (*this)(rows[j]) for j < n, the kernel dispatched once and the
  // metric's case chosen once.
  void Many(const uint32_t* rows, size_t n, float* out) const;
  void Prefetch(uint32_t r) const {
    vec::PrefetchBytes(codes_ + static_cast<size_t>(r) * stride_, std::min<size_t>(stride_, 256));
  }

 private:
  DistanceMetric metric_;
  uint32_t dim_, stride_;
  const int8_t* codes_;
  const uint8_t* params_;
  const uint8_t* terms_;
  const uint8_t* inv_norms_;
  const vec::KernelTable* k_;
  std::vector<int16_t> wq_;
  float base_ = 0.0f, t_ = 0.0f, q_inv_norm_ = 0.0f;
  bool q_zero_ = false;
};

}  // namespace ailake::index
