#include "ailake/vec/matrix.h"

#include <algorithm>
#include <limits>

#include "ailake/vec/kernels.h"

namespace ailake::vec {

PackedRows PackRows(const float* x, size_t n, size_t d) {
  PackedRows p;
  p.n = n;
  p.d = d;
  const size_t panels = (n + kPanelRows - 1) / kPanelRows;
  p.panels.assign(panels * d * kPanelRows, 0.0f);
  p.norms2.resize(n);
  for (size_t r = 0; r < n; ++r) {
    float* panel = p.panels.data() + (r / kPanelRows) * d * kPanelRows;
    const size_t j = r % kPanelRows;
    const float* row = x + r * d;
    for (size_t k = 0; k < d; ++k) panel[k * kPanelRows + j] = row[k];
    p.norms2[r] = Kernels().dot_f32(row, row, d);
  }
  return p;
}

void InnerProducts(const float* q, size_t nq, const PackedRows& packed, float* out, size_t ldo) {
  const KernelTable& k = Kernels();
  const size_t d = packed.d;
  const size_t panels = (packed.n + kPanelRows - 1) / kPanelRows;
  float tile[kTileQueries * kPanelRows];
  for (size_t q0 = 0; q0 < nq; q0 += kTileQueries) {
    const size_t tq = std::min(kTileQueries, nq - q0);
    if (tq == 1) {
      // A lone query: the full panels straight into its row (the same bits
      // as ip_tile gives), the last, partial one through the tile.
      const size_t full = packed.n / kPanelRows;
      k.ip_panels(q + q0 * d, packed.panels.data(), full, d, out + q0 * ldo);
      if (full < panels) {
        k.ip_tile(q + q0 * d, d, 1, packed.panels.data() + full * d * kPanelRows, d, tile);
        std::copy(tile, tile + (packed.n - full * kPanelRows), out + q0 * ldo + full * kPanelRows);
      }
      continue;
    }
    for (size_t p = 0; p < panels; ++p) {
      k.ip_tile(q + q0 * d, d, tq, packed.panels.data() + p * d * kPanelRows, d, tile);
      const size_t r0 = p * kPanelRows;
      const size_t tr = std::min(kPanelRows, packed.n - r0);
      for (size_t i = 0; i < tq; ++i) {
        std::copy(tile + i * kPanelRows, tile + i * kPanelRows + tr, out + (q0 + i) * ldo + r0);
      }
    }
  }
}

void NearestL2(const float* q, size_t nq, const PackedRows& packed, uint32_t* idx, float* dist) {
  const KernelTable& k = Kernels();
  const size_t d = packed.d;
  for (size_t q0 = 0; q0 < nq; q0 += kTileQueries) {
    const size_t tq = std::min(kTileQueries, nq - q0);
    // argmin_j |x_j|^2 - 2 q.x_j  (|q|^2 added back at the end)
    float best[kTileQueries];
    uint32_t arg[kTileQueries] = {};
    std::fill(best, best + kTileQueries, std::numeric_limits<float>::infinity());
    k.nearest_panels(q + q0 * d, d, tq, packed.panels.data(), packed.n, d, packed.norms2.data(),
                     best, arg);
    for (size_t i = 0; i < tq; ++i) {
      const float* qi = q + (q0 + i) * d;
      idx[q0 + i] = arg[i];
      dist[q0 + i] = std::max(0.0f, best[i] + k.dot_f32(qi, qi, d));
    }
  }
}

}  // namespace ailake::vec
