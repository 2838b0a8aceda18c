// The fixed vector sets the index-blob fuzz target loads blobs against, shared
// with the seed generator so seeds are valid blobs for them.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "ailake/index.h"

namespace ailake::fuzz {

struct FuzzView {
  std::vector<uint8_t> bytes;
  VectorView view;
  std::vector<float> query;
  std::vector<uint64_t> words;
  RowFilter filter;
};

struct FuzzViews {
  // 0: 300 x 8 f32, 1: 300 x 16 f16, 2: 300 x 8 int8 per-vector.
  FuzzView views[3];
  std::shared_ptr<const IvfPqCodebook> codebook;  // trained on views[0], euclidean
  const FuzzView& Pick(uint8_t b) const { return views[b % 3]; }
};

inline void MakeView(FuzzView* v, Precision p, uint32_t dim, uint32_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  const size_t rb = p == Precision::kF32 ? dim * 4 : p == Precision::kF16 ? dim * 2 : dim + 8;
  v->bytes.resize(rb * n);
  for (size_t i = 0; i < v->bytes.size(); ++i) v->bytes[i] = static_cast<uint8_t>(rng());
  if (p == Precision::kF32) {
    for (size_t i = 0; i < size_t{n} * dim; ++i) {
      const float f = nd(rng);
      std::memcpy(&v->bytes[i * 4], &f, 4);
    }
  }
  if (p == Precision::kF16) {
    for (size_t i = 0; i < size_t{n} * dim; ++i) v->bytes[i * 2 + 1] &= 0x3f;  // finite halves
  }
  Int8Params int8;
  if (p == Precision::kInt8) {
    int8.scaling = Int8Scaling::kPerVector;
    for (uint32_t r = 0; r < n; ++r) {
      const float s = 0.01f, o = 0.0f;
      std::memcpy(&v->bytes[r * rb + dim], &s, 4);
      std::memcpy(&v->bytes[r * rb + dim + 4], &o, 4);
    }
  }
  v->view = VectorView::Contiguous(p, dim, int8, v->bytes.data(), n).ValueOrDie();
  v->query.resize(dim);
  for (float& x : v->query) x = nd(rng);
  v->words.assign((n + 63) / 64, 0x5555555555555555ull);
  v->filter.words = v->words;
  v->filter.num_rows = n;
}

inline const FuzzViews& Views() {
  static const FuzzViews* views = [] {
    auto* v = new FuzzViews;
    MakeView(&v->views[0], Precision::kF32, 8, 300);
    MakeView(&v->views[1], Precision::kF16, 16, 300);
    MakeView(&v->views[2], Precision::kInt8, 8, 300);
    VectorStoragePolicy p;
    p.dim = 8;
    p.metric = DistanceMetric::kEuclidean;
    p.index_type = IndexType::kIvfPq;
    p.ivf_pq.nlist = 4;
    p.ivf_pq.m = 4;
    auto cb = TrainIvfPqCodebook(p, v->views[0].view);
    if (cb.ok()) v->codebook = *cb;
    return v;
  }();
  return *views;
}

}  // namespace ailake::fuzz
