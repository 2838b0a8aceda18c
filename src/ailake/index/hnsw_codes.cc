// Scalar 8-bit traversal codes of an HNSW graph: encoding and the distance
// the walk uses (hnsw_codes.h explains the arithmetic).
#include "ailake/index/hnsw_codes.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

namespace {

// A query's per-dimension weights against codes with these means and scales
// (`params`: dim means then dim scales): w_i = (q_i - mean_i) scale_i for
// euclidean, q_i scale_i otherwise; base = |q - mean|^2 or q . mean.
struct QueryWeights {
  std::vector<float> w;
  double base = 0.0, w_sum = 0.0, qq = 0.0;
  float max_w = 0.0f;  // infinite when a weight is NaN
};

QueryWeights Weigh(const float* q, uint32_t dim, const uint8_t* params, bool euclidean) {
  QueryWeights out;
  out.w.resize(dim);
  for (uint32_t i = 0; i < dim; ++i) {
    const float mean = LoadF32(params + 4ull * i);
    const float scale = LoadF32(params + 4ull * (dim + i));
    const float x = euclidean ? q[i] - mean : q[i];
    const float w = x * scale;
    out.w[i] = w;
    out.w_sum += w;
    out.base += euclidean ? static_cast<double>(x) * x : static_cast<double>(q[i]) * mean;
    out.qq += static_cast<double>(q[i]) * q[i];
    out.max_w =
        std::isnan(w) ? std::numeric_limits<float>::infinity() : std::max(out.max_w, std::fabs(w));
  }
  return out;
}

}  // namespace

void Sq8Distance::SetQuery(const float* q) {
  const QueryWeights qw = Weigh(q, dim_, params_, metric_ == DistanceMetric::kEuclidean);
  const std::vector<float>& w = qw.w;
  const double base = qw.base, qq = qw.qq;
  const float max_w = qw.max_w;
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

// ---------------------------------------------------------------------------
// 4-bit codes.

namespace {

// Byte and nibble of position p in a row of nbytes (the kernel's layout).
inline void Sq4Put(uint8_t* row, uint32_t nbytes, uint32_t p, uint8_t c) {
  const uint32_t full = nbytes / 32 * 32;
  const uint32_t at = p < 2 * full ? p / 64 * 32 : full;
  const uint32_t g = p < 2 * full ? 32 : 16;
  const uint32_t off = p - 2 * at;
  row[at + off % g] |= static_cast<uint8_t>(off < g ? c : c << 4);
}

inline uint8_t Sq4Level(double r, double lo, double delta) {
  return static_cast<uint8_t>(std::clamp(std::nearbyint((r - lo) / delta), 0.0, 15.0));
}

// The row as the codes see it: the row itself, or for cosine the row over
// its norm (a zero row stays zero).
void Sq4Unit(const float* v, uint32_t dim, DistanceMetric metric, float* u) {
  double nn = 0.0;
  for (uint32_t i = 0; i < dim; ++i) nn += static_cast<double>(v[i]) * v[i];
  const double inv = metric == DistanceMetric::kCosine && nn > 0.0 ? 1.0 / std::sqrt(nn) : 1.0;
  for (uint32_t i = 0; i < dim; ++i) u[i] = static_cast<float>(v[i] * inv);
}

}  // namespace

void EncodeSq4Row(const float* v, uint32_t dim, DistanceMetric metric, const float* mean,
                  const float* scale, uint8_t* out, uint8_t* scalars_out) {
  const uint32_t nbytes = Sq4CodeBytes(dim);
  std::memset(out, 0, nbytes);
  std::vector<double> r(dim);
  std::vector<float> u(dim);
  Sq4Unit(v, dim, metric, u.data());
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (uint32_t i = 0; i < dim; ++i) {
    r[i] = (static_cast<double>(u[i]) - mean[i]) / scale[i];
    lo = std::min(lo, r[i]);
    hi = std::max(hi, r[i]);
  }
  std::vector<uint8_t> c(dim, 0);
  double delta = 0.0;
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0.0;  // no dimension, or a NaN or infinite value: a zero record
  } else if (hi > lo) {
    delta = (hi - lo) / 15.0;
    for (uint32_t i = 0; i < dim; ++i) c[i] = Sq4Level(r[i], lo, delta);
    auto sse = [&](const std::vector<uint8_t>& cc, double l, double d) {
      double e = 0.0;
      for (uint32_t i = 0; i < dim; ++i) e += (r[i] - l - d * cc[i]) * (r[i] - l - d * cc[i]);
      return e;
    };
    // The end points are rarely the best grid: refit lo and delta to the
    // codes by least squares, re-code, keep it while the error falls.
    double err = sse(c, lo, delta);
    std::vector<uint8_t> c2(dim);
    for (int round = 0; round < 3; ++round) {
      double sc = 0, scc = 0, sr = 0, scr = 0;
      for (uint32_t i = 0; i < dim; ++i) {
        sc += c[i];
        scc += static_cast<double>(c[i]) * c[i];
        sr += r[i];
        scr += c[i] * r[i];
      }
      const double det = dim * scc - sc * sc;
      if (!(det > 0.0)) break;
      const double d2 = (dim * scr - sc * sr) / det;
      const double l2 = (sr - d2 * sc) / dim;
      if (!(d2 > 0.0) || !std::isfinite(l2)) break;
      for (uint32_t i = 0; i < dim; ++i) c2[i] = Sq4Level(r[i], l2, d2);
      const double e2 = sse(c2, l2, d2);
      if (!(e2 < err)) break;
      err = e2, lo = l2, delta = d2;
      c.swap(c2);
    }
  }
  const float lo_f = static_cast<float>(lo), delta_f = static_cast<float>(delta);
  double term = 0.0;
  for (uint32_t i = 0; i < dim; ++i) {
    Sq4Put(out, nbytes, i, c[i]);
    const double x = static_cast<double>(scale[i]) * (lo_f + static_cast<double>(delta_f) * c[i]);
    term += x * x;
  }
  const float scalars[4] = {
      lo_f, delta_f, metric == DistanceMetric::kEuclidean ? static_cast<float>(term) : 0.0f, 0.0f};
  std::memcpy(scalars_out, scalars, sizeof(scalars));
}

Sq4Codes EncodeSq4(const VectorView& vectors, DistanceMetric metric, uint32_t num_threads) {
  const uint32_t d = vectors.dim(), n = vectors.num_rows();
  Sq4Codes out;
  out.stride = Sq4Stride(d);
  out.mean.assign(d, 0.0f);
  out.scale.assign(d, 1.0f);
  out.records.assign(static_cast<size_t>(n) * out.stride, 0);
  if (n == 0) return out;
  // Mean and standard deviation per dimension, in double and row order (the
  // same bytes whatever the thread count).
  std::vector<double> sum(d, 0.0), sq(d, 0.0);
  std::vector<float> row(d), u(d);
  for (uint32_t r = 0; r < n; ++r) {
    vectors.Decode(r, row.data());
    Sq4Unit(row.data(), d, metric, u.data());
    for (uint32_t i = 0; i < d; ++i) sum[i] += u[i];
  }
  for (uint32_t i = 0; i < d; ++i) out.mean[i] = static_cast<float>(sum[i] / n);
  for (uint32_t r = 0; r < n; ++r) {
    vectors.Decode(r, row.data());
    Sq4Unit(row.data(), d, metric, u.data());
    for (uint32_t i = 0; i < d; ++i) {
      const double dev = static_cast<double>(u[i]) - out.mean[i];
      sq[i] += dev * dev;
    }
  }
  for (uint32_t i = 0; i < d; ++i) {
    const double sd = std::sqrt(sq[i] / n);
    // A constant dimension codes alike in every row whatever the scale.
    out.scale[i] = sd > 0.0 && std::isfinite(sd) && static_cast<float>(sd) > 0.0f
                       ? static_cast<float>(sd)
                       : 1.0f;
    if (!std::isfinite(out.mean[i])) out.mean[i] = 0.0f;
  }
  vec::ParallelFor(n, num_threads, 1024, [&](size_t b, size_t e, uint32_t) {
    std::vector<float> v(d);
    for (size_t r = b; r < e; ++r) {
      vectors.Decode(static_cast<uint32_t>(r), v.data());
      uint8_t* rec = out.records.data() + r * out.stride;
      EncodeSq4Row(v.data(), d, metric, out.mean.data(), out.scale.data(), rec,
                   rec + Sq4CodeBytes(d));
    }
  });
  return out;
}

Sq4Distance::Sq4Distance(DistanceMetric metric, uint32_t dim, const uint8_t* records,
                         const uint8_t* params)
    : metric_(metric),
      dim_(dim),
      nbytes_(Sq4CodeBytes(dim)),
      stride_(Sq4Stride(dim)),
      records_(records),
      params_(params),
      k_(&vec::Kernels()),
      wq_(2ull * Sq4CodeBytes(dim), 0) {}

void Sq4Distance::SetQuery(const float* q) {
  std::vector<float> x(dim_);
  if (metric_ == DistanceMetric::kCosine) {
    Sq4Unit(q, dim_, metric_, x.data());
  } else {
    std::copy(q, q + dim_, x.begin());
  }
  const QueryWeights qw = Weigh(x.data(), dim_, params_, metric_ == DistanceMetric::kEuclidean);
  const std::vector<float>& w = qw.w;
  const double base = qw.base, w_sum = qw.w_sum;
  const float max_w = qw.max_w;
  // A query holding NaN or infinity (refused by tables, possible through a
  // bare index) walks on zero weights; the exact re-rank scores it as the
  // stored vectors would.
  const bool finite = std::isfinite(max_w) && std::isfinite(base) && std::isfinite(w_sum);
  base_ = finite ? static_cast<float>(base) : 0.0f;
  w_sum_ = finite ? static_cast<float>(w_sum) : 0.0f;
  t_ = finite && max_w > 0.0f ? max_w / 127.0f : 0.0f;
  for (uint32_t i = 0; i < dim_; ++i) {
    wq_[i] = t_ > 0.0f ? static_cast<int8_t>(std::clamp(std::nearbyint(w[i] / t_), -127.0f, 127.0f))
                       : int8_t{0};
  }
}

void Sq4Distance::Many(const uint32_t* rows, size_t n, float* out) const {
  constexpr size_t kChunk = 64;
  int32_t dots[kChunk];
  for (size_t first = 0; first < n; first += kChunk) {
    const size_t count = std::min(kChunk, n - first);
    const uint32_t* r = rows + first;
    float* o = out + first;
    k_->dot_i8_u4_rows(wq_.data(), records_, stride_, r, count, nbytes_, dots);
    for (size_t j = 0; j < count; ++j) {
      const uint8_t* s = records_ + static_cast<size_t>(r[j]) * stride_ + nbytes_;
      const float ip = LoadF32(s) * w_sum_ + LoadF32(s + 4) * t_ * static_cast<float>(dots[j]);
      switch (metric_) {
        case DistanceMetric::kEuclidean: o[j] = base_ - 2.0f * ip + LoadF32(s + 8); break;
        case DistanceMetric::kDotProduct: o[j] = -(base_ + ip); break;
        case DistanceMetric::kNormalizedCosine:
        case DistanceMetric::kCosine: o[j] = 1.0f - (base_ + ip); break;
      }
    }
  }
}

}  // namespace ailake::index
