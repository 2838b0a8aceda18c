// Scalar 8-bit traversal codes of an HNSW graph: encoding and the distance
// the walk uses (hnsw_codes.h explains the arithmetic).
#include "ailake/index/hnsw_codes.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ailake/vec/parallel.h"

namespace ailake::index {

int8_t QuantizeSq8(float v, float mean, float scale) {
  const float c = std::nearbyint((v - mean) / scale);
  return static_cast<int8_t>(std::clamp(c, -127.0f, 127.0f));
}

Sq8Codes EncodeSq8(const VectorView& vectors, DistanceMetric metric, uint32_t num_threads) {
  const uint32_t d = vectors.dim(), n = vectors.num_rows();
  Sq8Codes out;
  out.stride = Sq8Stride(d);
  out.mean.assign(d, 0.0f);
  out.scale.assign(d, 1.0f);
  out.codes.assign(static_cast<size_t>(n) * out.stride, 0);
  if (metric == DistanceMetric::kEuclidean) out.terms.assign(n, 0.0f);
  if (n == 0) return out;
  // Mean and largest deviation per dimension (in double, in row order: the
  // same bytes whatever the thread count).
  std::vector<double> sum(d, 0.0);
  std::vector<float> row(d);
  for (uint32_t r = 0; r < n; ++r) {
    vectors.Decode(r, row.data());
    for (uint32_t i = 0; i < d; ++i) sum[i] += row[i];
  }
  for (uint32_t i = 0; i < d; ++i) out.mean[i] = static_cast<float>(sum[i] / n);
  std::vector<float> max_dev(d, 0.0f);
  for (uint32_t r = 0; r < n; ++r) {
    vectors.Decode(r, row.data());
    for (uint32_t i = 0; i < d; ++i) {
      const double dev = static_cast<double>(row[i]) - out.mean[i];
      max_dev[i] = std::max(max_dev[i], static_cast<float>(std::fabs(dev)));
    }
  }
  // The full range, no clipping: clipping at 5 sigma lost walk recall where
  // it mattered (a heavy-tailed cosine set: 0.992 instead of 1.0 at ef 512;
  // the hard L2 set: 0.9715 instead of 0.975 at ef 64), because a clipped
  // row is misplaced by far more than a coarser step costs every row.
  for (uint32_t i = 0; i < d; ++i) {
    const float range = max_dev[i];
    // A constant dimension codes as 0 whatever the scale.
    out.scale[i] = range > 0.0f && std::isfinite(range) ? range / 127.0f : 1.0f;
  }
  vec::ParallelFor(n, num_threads, 1024, [&](size_t b, size_t e, uint32_t) {
    std::vector<float> v(d);
    for (size_t r = b; r < e; ++r) {
      vectors.Decode(static_cast<uint32_t>(r), v.data());
      int8_t* c = out.codes.data() + r * out.stride;
      double term = 0.0;
      for (uint32_t i = 0; i < d; ++i) {
        c[i] = QuantizeSq8(v[i], out.mean[i], out.scale[i]);
        const double x = static_cast<double>(out.scale[i]) * c[i];
        term += x * x;
      }
      if (!out.terms.empty()) out.terms[r] = static_cast<float>(term);
    }
  });
  return out;
}

Sq8Distance::Sq8Distance(DistanceMetric metric, uint32_t dim, uint32_t stride, const int8_t* codes,
                         const uint8_t* params, const uint8_t* terms, const uint8_t* inv_norms)
    : metric_(metric),
      dim_(dim),
      stride_(stride),
      codes_(codes),
      params_(params),
      terms_(terms),
      inv_norms_(inv_norms),
      k_(&vec::Kernels()),
      wq_(stride, 0) {}

void Sq8Distance::SetQuery(const float* q) {
  const bool euclidean = metric_ == DistanceMetric::kEuclidean;
  std::vector<float> w(dim_);
  double base = 0.0, qq = 0.0;
  float max_w = 0.0f;
  for (uint32_t i = 0; i < dim_; ++i) {
    const float mean = LoadF32(params_ + 4ull * i);
    const float scale = LoadF32(params_ + 4ull * (dim_ + i));
    const float x = euclidean ? q[i] - mean : q[i];
    w[i] = x * scale;
    base += euclidean ? static_cast<double>(x) * x : static_cast<double>(q[i]) * mean;
    qq += static_cast<double>(q[i]) * q[i];
    max_w = std::isnan(w[i]) ? std::numeric_limits<float>::infinity()
                             : std::max(max_w, std::fabs(w[i]));
  }
  base_ = static_cast<float>(base);
  q_zero_ = qq == 0.0;
  q_inv_norm_ = q_zero_ ? 0.0f : static_cast<float>(1.0 / std::sqrt(qq));
  // |wq_i| <= limit keeps every partial sum of 127 * stride products exact
  // in int32 (the kernel's contract).
  const double limit =
      std::min(32767.0, std::floor(static_cast<double>(std::numeric_limits<int32_t>::max()) /
                                   (128.0 * std::max<uint32_t>(stride_, 1))));
  // A query holding NaN or infinity (refused by tables, possible through a
  // bare index) walks with zero weights; the exact re-rank scores it as the
  // stored vectors would.
  t_ = max_w > 0.0f && std::isfinite(max_w) ? static_cast<float>(max_w / limit) : 0.0f;
  for (uint32_t i = 0; i < dim_; ++i) {
    wq_[i] = t_ > 0.0f ? static_cast<int16_t>(std::nearbyint(w[i] / t_)) : int16_t{0};
  }
}

void Sq8Distance::Many(const uint32_t* rows, size_t n, float* out) const {
  // Batches are one node's neighbours: at most m0 (<= 512) rows.
  constexpr size_t kChunk = 64;
  int32_t dots[kChunk];
  for (size_t first = 0; first < n; first += kChunk) {
    const size_t count = std::min(kChunk, n - first);
    const uint32_t* r = rows + first;
    float* o = out + first;
    k_->dot_i16_i8_rows(wq_.data(), codes_, stride_, r, count, stride_, dots);
    switch (metric_) {
      case DistanceMetric::kEuclidean:
        for (size_t j = 0; j < count; ++j) {
          o[j] = base_ - 2.0f * t_ * static_cast<float>(dots[j]) + LoadF32(terms_ + 4ull * r[j]);
        }
        break;
      case DistanceMetric::kDotProduct:
        for (size_t j = 0; j < count; ++j) o[j] = -(base_ + t_ * static_cast<float>(dots[j]));
        break;
      case DistanceMetric::kNormalizedCosine:
        for (size_t j = 0; j < count; ++j) o[j] = 1.0f - (base_ + t_ * static_cast<float>(dots[j]));
        break;
      case DistanceMetric::kCosine:
        if (q_zero_) {
          for (size_t j = 0; j < count; ++j) o[j] = (*this)(r[j]);
          break;
        }
        for (size_t j = 0; j < count; ++j) {
          o[j] = 1.0f - (base_ + t_ * static_cast<float>(dots[j])) * q_inv_norm_ *
                            LoadF32(inv_norms_ + 4ull * r[j]);
        }
        break;
    }
  }
}

}  // namespace ailake::index
