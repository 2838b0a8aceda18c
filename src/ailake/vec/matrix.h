// Many queries x many rows: the blocked inner-product matrix behind batched
// exact search, k-means assignment and PQ training. Rows are packed once into
// panels of kPanelRows transposed rows; each ip_tile call then computes
// kTileQueries x kPanelRows dot products from registers (no horizontal sums).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ailake::vec {

// Packed rows: ceil(n / kPanelRows) panels of d x kPanelRows floats, zero-padded.
struct PackedRows {
  size_t n = 0;
  size_t d = 0;
  std::vector<float> panels;
  std::vector<float> norms2;  // |row|^2, n entries
};

// Packs n row-major rows (n x d).
PackedRows PackRows(const float* x, size_t n, size_t d);

// out[i * ldo + j] = dot(q_i, x_j) for i < nq, j < packed.n (q is nq x d row-major).
void InnerProducts(const float* q, size_t nq, const PackedRows& packed, float* out, size_t ldo);

// For each query i, the index and squared L2 distance of its nearest packed row.
// Single-threaded; callers split queries across threads.
void NearestL2(const float* q, size_t nq, const PackedRows& packed, uint32_t* idx, float* dist);

}  // namespace ailake::vec
