// AVX-512 (F, BW, DQ, VL) kernels, compiled with the matching -m flags and used
// only when the CPU has them. Tails use masked loads, so no scalar remainder.
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ailake/vec/kernels.h"
#include "ailake/vec/pq4_avx2.h"
#include "ailake/vec/u4_avx2.h"

namespace ailake::vec {
namespace {

inline __mmask16 TailMask(size_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

inline __m512 LoadHalf16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 LoadHalf16Masked(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

float DotF32(const float* a, const float* b, size_t d) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= d; i += 16) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  }
  if (i < d) {
    const __mmask16 m = TailMask(d - i);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

float L2F32(const float* a, const float* b, size_t d) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    s0 = _mm512_fmadd_ps(t0, t0, s0);
    s1 = _mm512_fmadd_ps(t1, t1, s1);
  }
  for (; i + 16 <= d; i += 16) {
    const __m512 t = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s0 = _mm512_fmadd_ps(t, t, s0);
  }
  if (i < d) {
    const __mmask16 m = TailMask(d - i);
    const __m512 t =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    s1 = _mm512_fmadd_ps(t, t, s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// Both sums accumulate as DotF32 does (two chains, 32 floats a step, the
// tail in the second), so qv is DotF32(q, v) and vv DotF32(v, v) to the bit.
void DotNormF32(const float* q, const float* v, size_t d, float* qv, float* vv) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  __m512 n0 = _mm512_setzero_ps(), n1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(v + i), x1 = _mm512_loadu_ps(v + i + 16);
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x0, s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), x1, s1);
    n0 = _mm512_fmadd_ps(x0, x0, n0);
    n1 = _mm512_fmadd_ps(x1, x1, n1);
  }
  for (; i + 16 <= d; i += 16) {
    const __m512 x = _mm512_loadu_ps(v + i);
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x, s0);
    n0 = _mm512_fmadd_ps(x, x, n0);
  }
  if (i < d) {
    const __mmask16 m = TailMask(d - i);
    const __m512 x = _mm512_maskz_loadu_ps(m, v + i);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), x, s1);
    n1 = _mm512_fmadd_ps(x, x, n1);
  }
  *qv = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  *vv = _mm512_reduce_add_ps(_mm512_add_ps(n0, n1));
}

float DotF16(const float* q, const uint16_t* v, size_t d) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), LoadHalf16(v + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), LoadHalf16(v + i + 16), s1);
  }
  for (; i + 16 <= d; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), LoadHalf16(v + i), s0);
  if (i < d) {
    const __mmask16 m = TailMask(d - i);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), LoadHalf16Masked(v + i, m), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

float L2F16(const float* q, const uint16_t* v, size_t d) {
  __m512 s0 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m512 t = _mm512_sub_ps(_mm512_loadu_ps(q + i), LoadHalf16(v + i));
    s0 = _mm512_fmadd_ps(t, t, s0);
  }
  if (i < d) {
    const __mmask16 m = TailMask(d - i);
    const __m512 t = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i), LoadHalf16Masked(v + i, m));
    s0 = _mm512_fmadd_ps(t, t, s0);
  }
  return _mm512_reduce_add_ps(s0);
}

void DotNormF16(const float* q, const uint16_t* v, size_t d, float* qv, float* vv) {
  __m512 s = _mm512_setzero_ps(), n = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m512 x = LoadHalf16(v + i);
    s = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x, s);
    n = _mm512_fmadd_ps(x, x, n);
  }
  if (i < d) {
    const __mmask16 m = TailMask(d - i);
    const __m512 x = LoadHalf16Masked(v + i, m);
    s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), x, s);
    n = _mm512_fmadd_ps(x, x, n);
  }
  *qv = _mm512_reduce_add_ps(s);
  *vv = _mm512_reduce_add_ps(n);
}

void StatsI8(const float* q, const int8_t* c, size_t d, float* qc, float* cc, float* sc) {
  __m512 s = _mm512_setzero_ps();
  __m512i n = _mm512_setzero_si512(), t = _mm512_setzero_si512();
  size_t i = 0;
  for (; i < d; i += 16) {
    const size_t left = d - i;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : TailMask(left);
    const __m512i ci = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, c + i));
    s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), _mm512_cvtepi32_ps(ci), s);
    n = _mm512_add_epi32(n, _mm512_mullo_epi32(ci, ci));
    t = _mm512_add_epi32(t, ci);
  }
  *qc = _mm512_reduce_add_ps(s);
  *cc = static_cast<float>(_mm512_reduce_add_epi32(n));
  *sc = static_cast<float>(_mm512_reduce_add_epi32(t));
}

void F16ToF32(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, LoadHalf16(in + i));
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(out + i, m, LoadHalf16Masked(in + i, m));
  }
}

void F32ToF16(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  }
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm256_mask_storeu_epi16(
        out + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, in + i), _MM_FROUND_TO_NEAREST_INT));
  }
}

// NQ queries against one 16-row panel: NQ accumulators, one panel load per k.
template <int NQ>
void Tile(const float* q, size_t ldq, const float* panel, size_t d, float* out) {
  __m512 acc[NQ];
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) acc[i] = _mm512_setzero_ps();
  for (size_t k = 0; k < d; ++k) {
    const __m512 p = _mm512_loadu_ps(panel + k * kPanelRows);
#pragma GCC unroll 8
    for (int i = 0; i < NQ; ++i) {
      acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(q[i * ldq + k]), p, acc[i]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) _mm512_storeu_ps(out + i * kPanelRows, acc[i]);
}

void IpTile(const float* q, size_t ldq, size_t nq, const float* panel, size_t d, float* out) {
  switch (nq) {
    case 0: return;
    case 1: return Tile<1>(q, ldq, panel, d, out);
    case 2: return Tile<2>(q, ldq, panel, d, out);
    case 3: return Tile<3>(q, ldq, panel, d, out);
    case 4: return Tile<4>(q, ldq, panel, d, out);
    case 5: return Tile<5>(q, ldq, panel, d, out);
    case 6: return Tile<6>(q, ldq, panel, d, out);
    case 7: return Tile<7>(q, ldq, panel, d, out);
    default: return Tile<8>(q, ldq, panel, d, out);
  }
}

void IpPanels(const float* q, const float* panels, size_t npanels, size_t d, float* out) {
  IpPanelsVia(IpTile, q, panels, npanels, d, out);
}

void ArgminTile(const float* tile, size_t nq, const float* norms2, size_t valid, uint32_t base,
                float* best, uint32_t* arg) {
  const __mmask16 m = valid >= 16 ? static_cast<__mmask16>(0xffff) : TailMask(valid);
  const __m512 inf = _mm512_set1_ps(__builtin_inff());
  const __m512 nv = _mm512_mask_loadu_ps(inf, m, norms2);
  const __m512 two = _mm512_set1_ps(2.0f);
  for (size_t i = 0; i < nq; ++i) {
    const __m512 v = _mm512_mask_blend_ps(
        m, inf, _mm512_fnmadd_ps(two, _mm512_loadu_ps(tile + i * kPanelRows), nv));
    const float mn = _mm512_reduce_min_ps(v);
    if (mn < best[i]) {
      const __mmask16 at = _mm512_cmp_ps_mask(v, _mm512_set1_ps(mn), _CMP_EQ_OQ);
      best[i] = mn;
      arg[i] = base + static_cast<uint32_t>(__builtin_ctz(at));
    }
  }
}

void PqLut(const float* y, const float* panels, size_t npanels, const float* bias, float scale,
           size_t dsub, float* out) {
  const __m512 sc = _mm512_set1_ps(scale);
  for (size_t p = 0; p < npanels; ++p) {
    __m512 acc = _mm512_setzero_ps();
    const float* pp = panels + p * dsub * 16;
    for (size_t t = 0; t < dsub; ++t) {
      acc = _mm512_fmadd_ps(_mm512_set1_ps(y[t]), _mm512_loadu_ps(pp + t * 16), acc);
    }
    const __m512 b = bias != nullptr ? _mm512_loadu_ps(bias + p * 16) : _mm512_setzero_ps();
    _mm512_storeu_ps(out + p * 16, _mm512_fmadd_ps(sc, acc, b));
  }
}

// NQ queries against two adjacent 16-row panels: 2 NQ accumulators, two panel
// loads and NQ broadcasts per k (half the loads per FMA of Tile).
template <int NQ>
inline void Tile2(const float* q, size_t ldq, const float* p0, size_t d, __m512* a0, __m512* a1) {
  const float* p1 = p0 + d * kPanelRows;
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
  for (size_t k = 0; k < d; ++k) {
    const __m512 l0 = _mm512_loadu_ps(p0 + k * kPanelRows);
    const __m512 l1 = _mm512_loadu_ps(p1 + k * kPanelRows);
#pragma GCC unroll 8
    for (int i = 0; i < NQ; ++i) {
      const __m512 b = _mm512_set1_ps(q[i * ldq + k]);
      a0[i] = _mm512_fmadd_ps(b, l0, a0[i]);
      a1[i] = _mm512_fmadd_ps(b, l1, a1[i]);
    }
  }
}

template <int NQ>
inline void Tile1(const float* q, size_t ldq, const float* p0, size_t d, __m512* a0) {
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) a0[i] = _mm512_setzero_ps();
  for (size_t k = 0; k < d; ++k) {
    const __m512 l0 = _mm512_loadu_ps(p0 + k * kPanelRows);
#pragma GCC unroll 8
    for (int i = 0; i < NQ; ++i) a0[i] = _mm512_fmadd_ps(_mm512_set1_ps(q[i * ldq + k]), l0, a0[i]);
  }
}

inline __mmask16 RowsMask(size_t rows) {
  return rows >= 16 ? static_cast<__mmask16>(0xffff) : TailMask(rows);
}

// Lane-wise running minimum of norms2 - 2 acc for the 16 rows at r0 (rows past
// n have +inf norms: zero-padded panels give inf there, never a minimum).
template <int NQ>
inline void UpdateMin(const __m512* acc, const float* norms2, size_t r0, size_t n, __m512* bv,
                      __m512i* bi) {
  const __mmask16 m = RowsMask(n - r0);
  const __m512 nv = _mm512_mask_loadu_ps(_mm512_set1_ps(__builtin_inff()), m, norms2 + r0);
  const __m512i idx =
      _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                       _mm512_set1_epi32(static_cast<int>(r0)));
  const __m512 two = _mm512_set1_ps(2.0f);
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) {
    const __m512 v = _mm512_fnmadd_ps(two, acc[i], nv);
    const __mmask16 lt = _mm512_cmp_ps_mask(v, bv[i], _CMP_LT_OQ);
    bv[i] = _mm512_mask_mov_ps(bv[i], lt, v);
    bi[i] = _mm512_mask_mov_epi32(bi[i], lt, idx);
  }
}

template <int NQ>
void NearestT(const float* q, size_t ldq, const float* panels, size_t n, size_t d,
              const float* norms2, float* best, uint32_t* arg) {
  __m512 bv[NQ];
  __m512i bi[NQ];
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) {
    bv[i] = _mm512_set1_ps(__builtin_inff());
    bi[i] = _mm512_setzero_si512();
  }
  const size_t np = (n + kPanelRows - 1) / kPanelRows;
  size_t p = 0;
  for (; p + 2 <= np; p += 2) {
    __m512 a0[NQ], a1[NQ];
    Tile2<NQ>(q, ldq, panels + p * d * kPanelRows, d, a0, a1);
    UpdateMin<NQ>(a0, norms2, p * kPanelRows, n, bv, bi);
    UpdateMin<NQ>(a1, norms2, (p + 1) * kPanelRows, n, bv, bi);
  }
  if (p < np) {
    __m512 a0[NQ];
    Tile1<NQ>(q, ldq, panels + p * d * kPanelRows, d, a0);
    UpdateMin<NQ>(a0, norms2, p * kPanelRows, n, bv, bi);
  }
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) {
    const float mn = _mm512_reduce_min_ps(bv[i]);
    if (mn < best[i]) {
      // The smallest row index among the lanes holding the minimum (each lane
      // kept its first row reaching its own minimum).
      const __mmask16 at = _mm512_cmp_ps_mask(bv[i], _mm512_set1_ps(mn), _CMP_EQ_OQ);
      best[i] = mn;
      arg[i] = _mm512_reduce_min_epu32(_mm512_mask_mov_epi32(_mm512_set1_epi32(-1), at, bi[i]));
    }
  }
}

void NearestPanels(const float* q, size_t ldq, size_t nq, const float* panels, size_t n, size_t d,
                   const float* norms2, float* best, uint32_t* arg) {
  switch (nq) {
    case 0: return;
    case 1: return NearestT<1>(q, ldq, panels, n, d, norms2, best, arg);
    case 2: return NearestT<2>(q, ldq, panels, n, d, norms2, best, arg);
    case 3: return NearestT<3>(q, ldq, panels, n, d, norms2, best, arg);
    case 4: return NearestT<4>(q, ldq, panels, n, d, norms2, best, arg);
    case 5: return NearestT<5>(q, ldq, panels, n, d, norms2, best, arg);
    case 6: return NearestT<6>(q, ldq, panels, n, d, norms2, best, arg);
    case 7: return NearestT<7>(q, ldq, panels, n, d, norms2, best, arg);
    default: return NearestT<8>(q, ldq, panels, n, d, norms2, best, arg);
  }
}

template <int NQ>
void ScreenT(const float* q, size_t ldq, const float* panel, size_t valid, size_t d,
             const float* bias, const float* scale, const float* thr, float* out, uint32_t* masks) {
  __m512 a0[NQ], a1[NQ];
  const __mmask16 m0 = RowsMask(valid);
  const __mmask16 m1 = valid > kPanelRows ? RowsMask(valid - kPanelRows) : 0;
  if (m1 != 0) {
    Tile2<NQ>(q, ldq, panel, d, a0, a1);
  } else {
    Tile1<NQ>(q, ldq, panel, d, a0);
#pragma GCC unroll 8
    for (int i = 0; i < NQ; ++i) a1[i] = _mm512_setzero_ps();
  }
  const __m512 b0 = _mm512_maskz_loadu_ps(m0, bias), s0 = _mm512_maskz_loadu_ps(m0, scale);
  const __m512 b1 = _mm512_maskz_loadu_ps(m1, bias + kPanelRows);
  const __m512 s1 = _mm512_maskz_loadu_ps(m1, scale + kPanelRows);
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) {
    const __m512 t = _mm512_set1_ps(thr[i]);
    const __m512 v0 = _mm512_fmadd_ps(s0, a0[i], b0), v1 = _mm512_fmadd_ps(s1, a1[i], b1);
    _mm512_storeu_ps(out + i * kScreenRows, v0);
    _mm512_storeu_ps(out + i * kScreenRows + kPanelRows, v1);
    const uint32_t k0 = _mm512_mask_cmp_ps_mask(m0, v0, t, _CMP_LT_OQ);
    const uint32_t k1 = _mm512_mask_cmp_ps_mask(m1, v1, t, _CMP_LT_OQ);
    masks[i] = k0 | (k1 << 16);
  }
}

void IpScreen(const float* q, size_t ldq, size_t nq, const float* panel, size_t valid, size_t d,
              const float* bias, const float* scale, const float* thr, float* out,
              uint32_t* masks) {
  switch (nq) {
    case 0: return;
    case 1: return ScreenT<1>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    case 2: return ScreenT<2>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    case 3: return ScreenT<3>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    case 4: return ScreenT<4>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    case 5: return ScreenT<5>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    case 6: return ScreenT<6>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    case 7: return ScreenT<7>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
    default: return ScreenT<8>(q, ldq, panel, valid, d, bias, scale, thr, out, masks);
  }
}

// Sixteen sub-spaces per gather, a masked gather for the last m % 16.
void PqScan(const uint8_t* codes, size_t n, size_t m, const float* lut, float base, float* out) {
  const __m512i lane =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(256));
  const size_t m16 = m & ~size_t{15};
  const __mmask16 tail = TailMask(m - m16);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* code = codes + i * m;
    __m512 acc = _mm512_setzero_ps();
    for (size_t j = 0; j < m16; j += 16) {
      const __m512i idx = _mm512_add_epi32(
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + j))), lane);
      acc = _mm512_add_ps(acc, _mm512_i32gather_ps(idx, lut + j * 256, 4));
    }
    if (tail != 0) {
      const __m512i idx =
          _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(tail, code + m16)), lane);
      acc = _mm512_add_ps(
          acc, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), tail, idx, lut + m16 * 256, 4));
    }
    out[i] = base + _mm512_reduce_add_ps(acc);
  }
}

// Four sub-spaces per shuffle (one per 128-bit lane), the layout of the AVX2
// kernel widened; a last pair of sub-spaces takes one 256-bit step.
void Pq4Scan(const uint8_t* blocks, size_t nblocks, size_t m, const uint8_t* lut,
             const uint32_t* limits, size_t limit_step, uint16_t* out, uint32_t* masks) {
  const size_t m2 = (m + 1) & ~size_t{1};
  const size_t m4 = m2 & ~size_t{3};
  const __m512i nib = _mm512_set1_epi8(0x0f), low = _mm512_set1_epi16(0x00ff);
  for (size_t b = 0; b < nblocks; ++b) {
    const uint8_t* blk = blocks + b * 16 * m2;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < m4; j += 4) {
      const __m512i c = _mm512_loadu_si512(blk + j * 16);
      const __m512i t = _mm512_loadu_si512(lut + j * 16);
      const __m512i rl = _mm512_shuffle_epi8(t, _mm512_and_si512(c, nib));
      const __m512i rh = _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(c, 4), nib));
      a0 = _mm512_add_epi16(a0, _mm512_and_si512(rl, low));
      a1 = _mm512_add_epi16(a1, _mm512_srli_epi16(rl, 8));
      a2 = _mm512_add_epi16(a2, _mm512_and_si512(rh, low));
      a3 = _mm512_add_epi16(a3, _mm512_srli_epi16(rh, 8));
    }
    // Fold the four lanes to two, as the AVX2 accumulators hold them.
    __m256i acc[4] = {
        _mm256_add_epi16(_mm512_castsi512_si256(a0), _mm512_extracti64x4_epi64(a0, 1)),
        _mm256_add_epi16(_mm512_castsi512_si256(a1), _mm512_extracti64x4_epi64(a1, 1)),
        _mm256_add_epi16(_mm512_castsi512_si256(a2), _mm512_extracti64x4_epi64(a2, 1)),
        _mm256_add_epi16(_mm512_castsi512_si256(a3), _mm512_extracti64x4_epi64(a3, 1))};
    if (m4 < m2) {
      pq4::Accumulate(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + m4 * 16)),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + m4 * 16)), acc);
    }
    pq4::Sums(acc, out + b * 32);
    const uint32_t limit = limits[b * limit_step];
    masks[b] = limit > 65535 ? ~0u
               : limit == 0  ? 0u
                             : static_cast<uint32_t>(_mm512_cmplt_epu16_mask(
                                   _mm512_loadu_si512(out + b * 32),
                                   _mm512_set1_epi16(static_cast<int16_t>(limit))));
  }
}

// One 16-entry table, lut + add (add may be null).
inline __m512 Table16(const float* lut, const float* add) {
  const __m512 t = _mm512_loadu_ps(lut);
  return add != nullptr ? _mm512_add_ps(t, _mm512_loadu_ps(add)) : t;
}
inline void Range16(__m512 v, float* lo, float* hi) {
  float l = _mm512_reduce_min_ps(v), h = _mm512_reduce_max_ps(v);
  if (!std::isfinite(l) || !std::isfinite(h)) l = h = 0;
  *lo = l;
  *hi = h;
}

// Elementwise op over the four 128-bit chunks of each of four tables, then
// within each chunk: lanes 0, 4, 8 and 12 hold the op-reduction of a, b, c
// and d (4 tables for the shuffles one reduction would take).
template <class Op>
inline __m512 Reduce4(__m512 a, __m512 b, __m512 c, __m512 d, Op op) {
  const __m512 ab = op(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
  const __m512 cd = op(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xee));
  __m512 x = op(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
  x = op(x, _mm512_permute_ps(x, 0x4e));
  return op(x, _mm512_permute_ps(x, 0xb1));
}

// One table per register: subtract its minimum, scale, clamp, round, narrow.
// The minima and maxima come four tables at a time (Reduce4) into `lo`, so
// the second pass reads them back instead of reducing again.
float Pq4Quantize(const float* lut, const float* add, size_t m, uint8_t* out, float* step) {
  constexpr size_t kChunk = 256;  // tables per pass over a stack buffer of minima
  float lo[kChunk + 4], hi[kChunk + 4], mins[16], maxs[16];
  const auto mn = [](__m512 x, __m512 y) { return _mm512_min_ps(x, y); };
  const auto mx = [](__m512 x, __m512 y) { return _mm512_max_ps(x, y); };
  auto table = [&](size_t j) {
    return Table16(lut + j * 16, add != nullptr ? add + j * 16 : nullptr);
  };
  auto ranges = [&](size_t j0, size_t j1) {  // lo / hi of tables [j0, j1)
    size_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const __m512 a = table(j), b = table(j + 1), c = table(j + 2), d = table(j + 3);
      _mm512_storeu_ps(mins, Reduce4(a, b, c, d, mn));
      _mm512_storeu_ps(maxs, Reduce4(a, b, c, d, mx));
      for (size_t i = 0; i < 4; ++i) {
        lo[j - j0 + i] = mins[4 * i];
        hi[j - j0 + i] = maxs[4 * i];
      }
    }
    for (; j < j1; ++j) Range16(table(j), &lo[j - j0], &hi[j - j0]);
    for (size_t i = 0; i < j1 - j0; ++i) {
      if (!std::isfinite(lo[i]) || !std::isfinite(hi[i])) lo[i] = hi[i] = 0;
    }
  };
  float sum_min = 0, span = 0;
  for (size_t j0 = 0; j0 < m; j0 += kChunk) {
    const size_t j1 = std::min(m, j0 + kChunk);
    ranges(j0, j1);
    for (size_t i = 0; i < j1 - j0; ++i) {
      sum_min += lo[i];
      span = std::max(span, hi[i] - lo[i]);
    }
  }
  *step = Pq4Step(span, m);
  const __m512 inv = _mm512_set1_ps(1.0f / *step), levels = _mm512_set1_ps(Pq4Levels(m));
  const __m512 zero = _mm512_setzero_ps();
  for (size_t j0 = 0; j0 < m; j0 += kChunk) {
    const size_t j1 = std::min(m, j0 + kChunk);
    if (j0 > 0 || j1 < m) ranges(j0, j1);  // one chunk: its minima are still there
    for (size_t j = j0; j < j1; ++j) {
      __m512 v = _mm512_mul_ps(_mm512_sub_ps(table(j), _mm512_set1_ps(lo[j - j0])), inv);
      v = _mm512_min_ps(_mm512_max_ps(v, zero), levels);  // max(NaN, 0) = 0
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j * 16),
                       _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));  // nearest even
    }
  }
  if (m % 2 == 1) std::memset(out + m * 16, 0, 16);
  return sum_min;
}

int32_t DotI16I8(const int16_t* q, const int8_t* c, size_t d) {
  __m512i acc = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m512i cv =
        _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + i)));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_loadu_si512(q + i), cv));
  }
  if (i < d) {
    const __mmask32 m = static_cast<__mmask32>((uint64_t{1} << (d - i)) - 1);
    const __m512i cv = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, c + i));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maskz_loadu_epi16(m, q + i), cv));
  }
  return _mm512_reduce_add_epi32(acc);
}

void DotI16I8Rows(const int16_t* q, const int8_t* codes, size_t stride, const uint32_t* rows,
                  size_t n, size_t d, int32_t* out) {
  const size_t body = d / 32 * 32;
  const __mmask32 tail = static_cast<__mmask32>((uint64_t{1} << (d - body)) - 1);
  size_t j = 0;
  for (; j + 2 <= n; j += 2) {
    const int8_t* a = codes + size_t{rows[j]} * stride;
    const int8_t* b = codes + size_t{rows[j + 1]} * stride;
    __m512i acc_a = _mm512_setzero_si512(), acc_b = _mm512_setzero_si512();
    for (size_t i = 0; i < body; i += 32) {
      const __m512i qv = _mm512_loadu_si512(q + i);
      const __m512i av =
          _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)));
      const __m512i bv =
          _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
      acc_a = _mm512_add_epi32(acc_a, _mm512_madd_epi16(qv, av));
      acc_b = _mm512_add_epi32(acc_b, _mm512_madd_epi16(qv, bv));
    }
    if (body < d) {
      const __m512i qv = _mm512_maskz_loadu_epi16(tail, q + body);
      const __m512i av = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(tail, a + body));
      const __m512i bv = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(tail, b + body));
      acc_a = _mm512_add_epi32(acc_a, _mm512_madd_epi16(qv, av));
      acc_b = _mm512_add_epi32(acc_b, _mm512_madd_epi16(qv, bv));
    }
    out[j] = _mm512_reduce_add_epi32(acc_a);
    out[j + 1] = _mm512_reduce_add_epi32(acc_b);
  }
  if (j < n) out[j] = DotI16I8(q, codes + size_t{rows[j]} * stride, d);
}

}  // namespace

const KernelTable& Avx512Kernels() {
  static const KernelTable t{SimdLevel::kAvx512,
                             DotF32,
                             L2F32,
                             DotNormF32,
                             DotF16,
                             L2F16,
                             DotNormF16,
                             StatsI8,
                             F16ToF32,
                             F32ToF16,
                             IpTile,
                             ArgminTile,
                             PqLut,
                             NearestPanels,
                             IpScreen,
                             PqScan,
                             Pq4Scan,
                             Pq4Quantize,
                             DotI16I8,
                             DotI16I8Rows,
                             IpPanels,
                             u4::DotI8U4Rows};
  return t;
}

}  // namespace ailake::vec
