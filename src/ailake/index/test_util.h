// Helpers shared by the index tests: synthetic clustered data, encoding into a
// VectorView, and a double-precision brute-force oracle independent of the
// SIMD kernels.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ailake/index.h"
#include "ailake/vec/codec.h"

namespace ailake::index::testing {

// n points around `clusters` Gaussian centres in dim dimensions.
inline std::vector<float> ClusteredData(uint32_t n, uint32_t dim, uint32_t clusters,
                                        uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> centres(static_cast<size_t>(clusters) * dim);
  for (float& c : centres) c = nd(rng) * 3.0f;
  std::vector<float> out(static_cast<size_t>(n) * dim);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t c = rng() % clusters;
    for (uint32_t j = 0; j < dim; ++j)
      out[static_cast<size_t>(i) * dim + j] = centres[c * dim + j] + nd(rng);
  }
  return out;
}

struct EncodedVectors {
  std::vector<uint8_t> bytes;
  VectorView view;
  std::vector<float> decoded;  // what the stored bytes decode to
};

inline EncodedVectors Encode(const std::vector<float>& rows, uint32_t dim, Precision precision,
                             Int8Params int8 = {}) {
  EncodedVectors e;
  const uint32_t n = static_cast<uint32_t>(rows.size() / dim);
  if (precision == Precision::kInt8 && int8.scaling == Int8Scaling::kUnset) {
    int8.scaling = Int8Scaling::kPerVector;
  }
  const size_t rb = vec::StoredRowBytes(precision, dim, int8);
  e.bytes.resize(rb * n + 1);
  // Rows start one byte past an allocation boundary: indexes must not assume
  // alignment of the borrowed vectors.
  uint8_t* base = e.bytes.data() + 1;
  if (!vec::EncodeRows(precision, dim, int8, rows.data(), n, base).ok()) std::abort();
  e.view = VectorView::Contiguous(precision, dim, int8, base, n).ValueOrDie();
  e.decoded.resize(rows.size());
  for (uint32_t r = 0; r < n; ++r) e.view.Decode(r, &e.decoded[static_cast<size_t>(r) * dim]);
  return e;
}

inline double OracleDistance(DistanceMetric m, const float* q, const float* v, uint32_t dim) {
  double dot = 0, qq = 0, vv = 0, l2 = 0;
  for (uint32_t i = 0; i < dim; ++i) {
    dot += double{q[i]} * v[i];
    qq += double{q[i]} * q[i];
    vv += double{v[i]} * v[i];
    l2 += (double{q[i]} - v[i]) * (double{q[i]} - v[i]);
  }
  switch (m) {
    case DistanceMetric::kEuclidean: return l2;
    case DistanceMetric::kDotProduct: return -dot;
    case DistanceMetric::kNormalizedCosine: return 1.0 - dot;
    case DistanceMetric::kCosine:
      if (qq == 0 || vv == 0) return (qq == 0 && vv == 0) ? 0.0 : 1.0;
      return 1.0 - dot / std::sqrt(qq * vv);
  }
  return 0;
}

// Exact top-k rows (ascending) among allowed rows, from decoded values.
inline std::vector<uint32_t> OracleTopK(DistanceMetric m, const std::vector<float>& decoded,
                                        uint32_t dim, const float* q, uint32_t k,
                                        const RowFilter* filter = nullptr) {
  const uint32_t n = static_cast<uint32_t>(decoded.size() / dim);
  std::vector<std::pair<double, uint32_t>> all;
  for (uint32_t r = 0; r < n; ++r) {
    if (filter != nullptr && !filter->Contains(r)) continue;
    all.emplace_back(OracleDistance(m, q, &decoded[static_cast<size_t>(r) * dim], dim), r);
  }
  const size_t kk = std::min<size_t>(k, all.size());
  std::partial_sort(all.begin(), all.begin() + kk, all.end());
  std::vector<uint32_t> ids;
  ids.reserve(kk);
  for (size_t i = 0; i < kk; ++i) ids.push_back(all[i].second);
  return ids;
}

inline double Recall(const std::vector<Neighbor>& got, const std::vector<uint32_t>& want) {
  if (want.empty()) return 1.0;
  size_t hit = 0;
  for (const Neighbor& n : got) hit += std::count(want.begin(), want.end(), n.row);
  return static_cast<double>(hit) / static_cast<double>(want.size());
}

inline VectorStoragePolicy Policy(uint32_t dim, DistanceMetric metric, Precision precision,
                                  IndexType type) {
  VectorStoragePolicy p;
  p.dim = dim;
  p.metric = metric;
  p.precision = precision;
  p.index_type = type;
  p.pre_normalize = metric == DistanceMetric::kNormalizedCosine;
  if (precision == Precision::kInt8) p.int8.scaling = Int8Scaling::kPerVector;
  return p;
}

// A filter allowing rows where pred(r) holds.
struct FilterBits {
  RowBitmap bits;
  RowFilter filter;
  template <typename Pred>
  FilterBits(uint32_t n, Pred pred) : bits(n) {
    for (uint32_t r = 0; r < n; ++r) {
      if (pred(r)) bits.Set(r);
    }
    filter = bits.filter();
  }
};

}  // namespace ailake::index::testing
