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
// The code_params section of either code: dim means, then dim scales.
inline std::vector<float> CodeParams(const std::vector<float>& mean,
                                     const std::vector<float>& scale) {
  std::vector<float> p(mean);
  p.insert(p.end(), scale.begin(), scale.end());
  return p;
}
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

// ---------------------------------------------------------------------------
// 4-bit traversal codes (code kind 2, docs/FORMAT.md 3.3.2): half the bytes of
// sq8 per row, with a scale and offset per row so 16 levels cover each row's
// own range. A row u (for cosine, the row divided by its norm, so the walk
// needs no norm) is centred and scaled per dimension, r_i = (u_i - mean_i) /
// scale_i (scale_i: the dimension's standard deviation), and coded as
// c_i in [0, 15] with r_i ~ lo + delta * c_i; lo and delta are fitted to the
// row by least squares. Each row is one record: its codes (Sq4CodeBytes(dim)
// bytes, nibble layout of vec::KernelTable::dot_i8_u4_rows), then 16 bytes of
// scalars: f32 lo, f32 delta, f32 term (sum_i (scale_i (lo + delta c_i))^2,
// euclidean; else 0) and f32 0. (Scalars in a section of their own, so that
// 256 dimensions' codes are two whole cache lines instead of a record over
// three, measured 0.92x: the walk is bound by its loads in flight, and a
// second stream costs more than a third adjacent line.)
//
// A query becomes weights w_i = x_i * scale_i (x = q - mean for euclidean, q
// for dot, q / |q| for cosine), quantized to int8 with one scale t, W =
// sum_i w_i, and x . (u - mean) ~ lo * W + delta * t * (wq . c).

inline constexpr uint32_t kCodeKindSq4 = 2;
inline constexpr uint32_t kSq4RowScalars = 16;  // lo, delta, term, 0

inline uint32_t Sq4CodeBytes(uint32_t dim) { return (dim + 31) / 32 * 16; }
inline uint32_t Sq4Stride(uint32_t dim) { return Sq4CodeBytes(dim) + kSq4RowScalars; }

struct Sq4Codes {
  uint32_t stride = 0;
  std::vector<float> mean, scale;
  std::vector<uint8_t> records;  // num_rows x stride
};
Sq4Codes EncodeSq4(const VectorView& vectors, DistanceMetric metric, uint32_t num_threads);

// One row's codes (Sq4CodeBytes(dim) bytes at `codes`) and scalars (16 bytes
// at `scalars`) from its vector v (dim floats; for cosine the raw row: it is
// normalized here), given the means and scales.
void EncodeSq4Row(const float* v, uint32_t dim, DistanceMetric metric, const float* mean,
                  const float* scale, uint8_t* codes, uint8_t* scalars);

// Distance from the current query to a row's 4-bit record (an
// HnswNodeDistance of hnsw_search.h), read in place.
class Sq4Distance {
 public:
  // `params`: dim f32 means then dim f32 scales; `records`: num_rows records.
  Sq4Distance(DistanceMetric metric, uint32_t dim, const uint8_t* records, const uint8_t* params);
  void SetQuery(const float* q);
  float operator()(uint32_t r) const {
    float d;
    Many(&r, 1, &d);
    return d;
  }
  void Many(const uint32_t* rows, size_t n, float* out) const;
  void Prefetch(uint32_t r) const {
    vec::PrefetchBytes(records_ + static_cast<size_t>(r) * stride_, stride_);
  }

 private:
  DistanceMetric metric_;
  uint32_t dim_, nbytes_, stride_;
  const uint8_t* records_;
  const uint8_t* params_;
  const vec::KernelTable* k_;
  std::vector<int8_t> wq_;
  float base_ = 0.0f, t_ = 0.0f, w_sum_ = 0.0f;
};

}  // namespace ailake::index
