// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c; used only when
// the CPU has them). Tails shorter than a vector fall back to scalar code.
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ailake/vec/kernels.h"
#include "ailake/vec/pq4_avx2.h"
#include "ailake/vec/u4_avx2.h"

namespace ailake::vec {
namespace {

inline float HSum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

inline __m256 LoadHalf8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

float DotF32(const float* a, const float* b, size_t d) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= d; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = HSum(_mm256_add_ps(s0, s1));
  for (; i < d; ++i) s += Ld(a + i) * Ld(b + i);
  return s;
}

float L2F32(const float* a, const float* b, size_t d) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_fmadd_ps(t0, t0, s0);
    s1 = _mm256_fmadd_ps(t1, t1, s1);
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 t = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(t, t, s0);
  }
  float s = HSum(_mm256_add_ps(s0, s1));
  for (; i < d; ++i) {
    const float t = Ld(a + i) - Ld(b + i);
    s += t * t;
  }
  return s;
}

// Both sums accumulate as DotF32 does (two chains, 16 floats a step), so qv
// is DotF32(q, v) and vv DotF32(v, v) to the bit.
void DotNormF32(const float* q, const float* v, size_t d, float* qv, float* vv) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 n0 = _mm256_setzero_ps(), n1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + 8);
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x0, s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), x1, s1);
    n0 = _mm256_fmadd_ps(x0, x0, n0);
    n1 = _mm256_fmadd_ps(x1, x1, n1);
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 x = _mm256_loadu_ps(v + i);
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x, s0);
    n0 = _mm256_fmadd_ps(x, x, n0);
  }
  float ss = HSum(_mm256_add_ps(s0, s1)), nn = HSum(_mm256_add_ps(n0, n1));
  for (; i < d; ++i) {
    ss += Ld(q + i) * Ld(v + i);
    nn += Ld(v + i) * Ld(v + i);
  }
  *qv = ss;
  *vv = nn;
}

float DotF16(const float* q, const uint16_t* v, size_t d) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadHalf8(v + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), LoadHalf8(v + i + 8), s1);
  }
  for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadHalf8(v + i), s0);
  float s = HSum(_mm256_add_ps(s0, s1));
  for (; i < d; ++i) s += Ld(q + i) * HalfToFloat(Ld(v + i));
  return s;
}

float L2F16(const float* q, const uint16_t* v, size_t d) {
  __m256 s0 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 t = _mm256_sub_ps(_mm256_loadu_ps(q + i), LoadHalf8(v + i));
    s0 = _mm256_fmadd_ps(t, t, s0);
  }
  float s = HSum(s0);
  for (; i < d; ++i) {
    const float t = Ld(q + i) - HalfToFloat(Ld(v + i));
    s += t * t;
  }
  return s;
}

void DotNormF16(const float* q, const uint16_t* v, size_t d, float* qv, float* vv) {
  __m256 s = _mm256_setzero_ps(), n = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 x = LoadHalf8(v + i);
    s = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x, s);
    n = _mm256_fmadd_ps(x, x, n);
  }
  float ss = HSum(s), nn = HSum(n);
  for (; i < d; ++i) {
    const float x = HalfToFloat(Ld(v + i));
    ss += Ld(q + i) * x;
    nn += x * x;
  }
  *qv = ss;
  *vv = nn;
}

void StatsI8(const float* q, const int8_t* c, size_t d, float* qc, float* cc, float* sc) {
  __m256 s = _mm256_setzero_ps();
  __m256i n = _mm256_setzero_si256(), t = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256i ci =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + i)));
    s = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtepi32_ps(ci), s);
    n = _mm256_add_epi32(n, _mm256_mullo_epi32(ci, ci));
    t = _mm256_add_epi32(t, ci);
  }
  alignas(32) int32_t nn[8], tt[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(nn), n);
  _mm256_store_si256(reinterpret_cast<__m256i*>(tt), t);
  int64_t n_sum = 0, t_sum = 0;
  for (int j = 0; j < 8; ++j) {
    n_sum += nn[j];
    t_sum += tt[j];
  }
  float ss = HSum(s);
  for (; i < d; ++i) {
    ss += Ld(q + i) * static_cast<float>(c[i]);
    n_sum += static_cast<int32_t>(c[i]) * c[i];
    t_sum += c[i];
  }
  *qc = ss;
  *cc = static_cast<float>(n_sum);
  *sc = static_cast<float>(t_sum);
}

void F16ToF32(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, LoadHalf8(in + i));
  for (; i < n; ++i) out[i] = HalfToFloat(Ld(in + i));
}

void F32ToF16(const float* in, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = FloatToHalf(Ld(in + i));
}

// Four queries against one 16-row panel: 8 accumulators, 2 panel registers.
template <int NQ>
void Tile4(const float* q, size_t ldq, const float* panel, size_t d, float* out) {
  __m256 lo[NQ], hi[NQ];
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) lo[i] = hi[i] = _mm256_setzero_ps();
  for (size_t k = 0; k < d; ++k) {
    const __m256 p0 = _mm256_loadu_ps(panel + k * kPanelRows);
    const __m256 p1 = _mm256_loadu_ps(panel + k * kPanelRows + 8);
#pragma GCC unroll 8
    for (int i = 0; i < NQ; ++i) {
      const __m256 x = _mm256_broadcast_ss(q + i * ldq + k);
      lo[i] = _mm256_fmadd_ps(x, p0, lo[i]);
      hi[i] = _mm256_fmadd_ps(x, p1, hi[i]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < NQ; ++i) {
    _mm256_storeu_ps(out + i * kPanelRows, lo[i]);
    _mm256_storeu_ps(out + i * kPanelRows + 8, hi[i]);
  }
}

void IpTile(const float* q, size_t ldq, size_t nq, const float* panel, size_t d, float* out) {
  while (nq > 0) {
    const size_t n = nq < 4 ? nq : 4;
    switch (n) {
      case 1: Tile4<1>(q, ldq, panel, d, out); break;
      case 2: Tile4<2>(q, ldq, panel, d, out); break;
      case 3: Tile4<3>(q, ldq, panel, d, out); break;
      default: Tile4<4>(q, ldq, panel, d, out); break;
    }
    q += n * ldq;
    out += n * kPanelRows;
    nq -= n;
  }
}

// One query against NP panels at once: each panel's two accumulators take
// the same FMAs in the same order as Tile4<1>'s, so the products are the
// same bits, but 2 * NP chains are in flight instead of 2.
template <int NP>
void Panels1(const float* q, const float* panels, size_t d, float* out) {
  const size_t stride = d * kPanelRows;
  __m256 lo[NP], hi[NP];
#pragma GCC unroll 4
  for (int t = 0; t < NP; ++t) lo[t] = hi[t] = _mm256_setzero_ps();
  for (size_t k = 0; k < d; ++k) {
    const __m256 x = _mm256_broadcast_ss(q + k);
#pragma GCC unroll 4
    for (int t = 0; t < NP; ++t) {
      const float* p = panels + t * stride + k * kPanelRows;
      lo[t] = _mm256_fmadd_ps(x, _mm256_loadu_ps(p), lo[t]);
      hi[t] = _mm256_fmadd_ps(x, _mm256_loadu_ps(p + 8), hi[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NP; ++t) {
    _mm256_storeu_ps(out + t * kPanelRows, lo[t]);
    _mm256_storeu_ps(out + t * kPanelRows + 8, hi[t]);
  }
}

void IpPanels(const float* q, const float* panels, size_t npanels, size_t d, float* out) {
  const size_t stride = d * kPanelRows;
  size_t p = 0;
  for (; p + 4 <= npanels; p += 4) Panels1<4>(q, panels + p * stride, d, out + p * kPanelRows);
  switch (npanels - p) {
    case 3: Panels1<3>(q, panels + p * stride, d, out + p * kPanelRows); break;
    case 2: Panels1<2>(q, panels + p * stride, d, out + p * kPanelRows); break;
    case 1: Panels1<1>(q, panels + p * stride, d, out + p * kPanelRows); break;
    default: break;
  }
}

void ArgminTile(const float* tile, size_t nq, const float* norms2, size_t valid, uint32_t base,
                float* best, uint32_t* arg) {
  if (valid < kPanelRows) {  // the last, partial panel: scalar
    ScalarKernels().argmin_tile(tile, nq, norms2, valid, base, best, arg);
    return;
  }
  const __m256 two = _mm256_set1_ps(2.0f);
  const __m256 n0 = _mm256_loadu_ps(norms2), n1 = _mm256_loadu_ps(norms2 + 8);
  for (size_t i = 0; i < nq; ++i) {
    const __m256 v0 = _mm256_fnmadd_ps(two, _mm256_loadu_ps(tile + i * kPanelRows), n0);
    const __m256 v1 = _mm256_fnmadd_ps(two, _mm256_loadu_ps(tile + i * kPanelRows + 8), n1);
    __m256 mn = _mm256_min_ps(v0, v1);
    mn = _mm256_min_ps(mn, _mm256_permute2f128_ps(mn, mn, 1));
    mn = _mm256_min_ps(mn, _mm256_shuffle_ps(mn, mn, 0x4e));
    mn = _mm256_min_ps(mn, _mm256_shuffle_ps(mn, mn, 0xb1));
    const float m = _mm256_cvtss_f32(mn);
    if (m < best[i]) {
      const int lo = _mm256_movemask_ps(_mm256_cmp_ps(v0, mn, _CMP_EQ_OQ));
      const int hi = _mm256_movemask_ps(_mm256_cmp_ps(v1, mn, _CMP_EQ_OQ));
      best[i] = m;
      arg[i] = base + static_cast<uint32_t>(__builtin_ctz(static_cast<unsigned>(lo | (hi << 8))));
    }
  }
}

void PqLut(const float* y, const float* panels, size_t npanels, const float* bias, float scale,
           size_t dsub, float* out) {
  const __m256 sc = _mm256_set1_ps(scale);
  for (size_t p = 0; p < npanels; ++p) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    const float* pp = panels + p * dsub * 16;
    for (size_t t = 0; t < dsub; ++t) {
      const __m256 yt = _mm256_set1_ps(Ld(y + t));
      lo = _mm256_fmadd_ps(yt, _mm256_loadu_ps(pp + t * 16), lo);
      hi = _mm256_fmadd_ps(yt, _mm256_loadu_ps(pp + t * 16 + 8), hi);
    }
    const __m256 b0 = bias != nullptr ? _mm256_loadu_ps(bias + p * 16) : _mm256_setzero_ps();
    const __m256 b1 = bias != nullptr ? _mm256_loadu_ps(bias + p * 16 + 8) : _mm256_setzero_ps();
    _mm256_storeu_ps(out + p * 16, _mm256_fmadd_ps(sc, lo, b0));
    _mm256_storeu_ps(out + p * 16 + 8, _mm256_fmadd_ps(sc, hi, b1));
  }
}

void NearestPanels(const float* q, size_t ldq, size_t nq, const float* panels, size_t n, size_t d,
                   const float* norms2, float* best, uint32_t* arg) {
  NearestPanelsVia(IpTile, ArgminTile, q, ldq, nq, panels, n, d, norms2, best, arg);
}

void IpScreen(const float* q, size_t ldq, size_t nq, const float* panel, size_t valid, size_t d,
              const float* bias, const float* scale, const float* thr, float* out,
              uint32_t* masks) {
  IpScreenVia(IpTile, q, ldq, nq, panel, valid, d, bias, scale, thr, out, masks);
}

// Eight sub-spaces per gather; the rest of m one lookup at a time.
void PqScan(const uint8_t* codes, size_t n, size_t m, const float* lut, float base, float* out) {
  const __m256i lane =
      _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(256));
  const size_t m8 = m & ~size_t{7};
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* code = codes + i * m;
    __m256 acc = _mm256_setzero_ps();
    for (size_t j = 0; j < m8; j += 8) {
      const __m256i idx = _mm256_add_epi32(
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + j))), lane);
      acc = _mm256_add_ps(acc, _mm256_i32gather_ps(lut + j * 256, idx, 4));
    }
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float s = base + _mm_cvtss_f32(h);
    for (size_t j = m8; j < m; ++j) s += lut[j * 256 + code[j]];
    out[i] = s;
  }
}

// 4-bit fast-scan: two sub-spaces per shuffle (pq4_avx2.h).
void Pq4Scan(const uint8_t* blocks, size_t nblocks, size_t m, const uint8_t* lut,
             const uint32_t* limits, size_t limit_step, uint16_t* out, uint32_t* masks) {
  const size_t m2 = (m + 1) & ~size_t{1};
  const __m256i nib = _mm256_set1_epi8(0x0f);
  for (size_t b = 0; b < nblocks; ++b) {
    const uint8_t* blk = blocks + b * 16 * m2;
    // Each looked-up 16-bit lane holds an even row's byte plus 256 times the
    // odd row's: whole lanes are summed (a0, a2: modulo 2^16) beside the odd
    // rows' bytes (a1, a3), and the even rows' sums are recovered after the
    // loop as a0 - 256 a1, exact because every row's sum fits in 16 bits
    // (Pq4Levels). Named accumulators stay in registers.
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < m2; j += 2) {
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + j * 16));
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + j * 16));
      const __m256i rl = _mm256_shuffle_epi8(t, _mm256_and_si256(c, nib));
      const __m256i rh = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), nib));
      a0 = _mm256_add_epi16(a0, rl);
      a1 = _mm256_add_epi16(a1, _mm256_srli_epi16(rl, 8));
      a2 = _mm256_add_epi16(a2, rh);
      a3 = _mm256_add_epi16(a3, _mm256_srli_epi16(rh, 8));
    }
    const __m256i acc[4] = {_mm256_sub_epi16(a0, _mm256_slli_epi16(a1, 8)), a1,
                            _mm256_sub_epi16(a2, _mm256_slli_epi16(a3, 8)), a3};
    pq4::Sums(acc, out + b * 32);
    masks[b] = pq4::Below(out + b * 32, limits[b * limit_step]);
  }
}

inline float HMin8(__m256 v) {
  __m128 x = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_min_ps(x, _mm_movehl_ps(x, x));
  x = _mm_min_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}
inline float HMax8(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}
// One 16-entry table, lut + add (add may be null), as two registers.
inline void Table16(const float* lut, const float* add, __m256* a, __m256* b) {
  *a = _mm256_loadu_ps(lut);
  *b = _mm256_loadu_ps(lut + 8);
  if (add != nullptr) {
    *a = _mm256_add_ps(*a, _mm256_loadu_ps(add));
    *b = _mm256_add_ps(*b, _mm256_loadu_ps(add + 8));
  }
}
inline void Range16(__m256 a, __m256 b, float* lo, float* hi) {
  float l = HMin8(_mm256_min_ps(a, b)), h = HMax8(_mm256_max_ps(a, b));
  if (!std::isfinite(l) || !std::isfinite(h)) l = h = 0;
  *lo = l;
  *hi = h;
}

float Pq4Quantize(const float* lut, const float* add, size_t m, uint8_t* out, float* step) {
  float sum_min = 0, span = 0, lo, hi;
  __m256 ta, tb;
  for (size_t j = 0; j < m; ++j) {
    Table16(lut + j * 16, add != nullptr ? add + j * 16 : nullptr, &ta, &tb);
    Range16(ta, tb, &lo, &hi);
    sum_min += lo;
    span = std::max(span, hi - lo);
  }
  *step = Pq4Step(span, m);
  const __m256 inv = _mm256_set1_ps(1.0f / *step), levels = _mm256_set1_ps(Pq4Levels(m));
  const __m256 zero = _mm256_setzero_ps();
  for (size_t j = 0; j < m; ++j) {
    Table16(lut + j * 16, add != nullptr ? add + j * 16 : nullptr, &ta, &tb);
    Range16(ta, tb, &lo, &hi);
    const __m256 l = _mm256_set1_ps(lo);
    __m256i w[2];
    for (int h = 0; h < 2; ++h) {
      __m256 v = _mm256_mul_ps(_mm256_sub_ps(h == 0 ? ta : tb, l), inv);
      v = _mm256_min_ps(_mm256_max_ps(v, zero), levels);  // max(NaN, 0) = 0
      w[h] = _mm256_cvtps_epi32(v);                       // round to nearest even
    }
    // 16 x i32 -> 16 x u16 (lane order fixed by the permute) -> 16 bytes.
    const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(w[0], w[1]), 0xd8);
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(out + j * 16),
        _mm_packus_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1)));
  }
  if (m % 2 == 1) std::memset(out + m * 16, 0, 16);
  return sum_min;
}

int32_t DotI16I8(const int16_t* q, const int8_t* c, size_t d) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256i cv =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i)));
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(qv, cv));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  int32_t r = _mm_cvtsi128_si32(s);
  for (; i < d; ++i) {
    int16_t qi;
    std::memcpy(&qi, q + i, 2);
    r += static_cast<int32_t>(qi) * c[i];
  }
  return r;
}

// Horizontal sum of eight int32 lanes.
int32_t SumI32(__m256i acc) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

void DotI16I8Rows(const int16_t* q, const int8_t* codes, size_t stride, const uint32_t* rows,
                  size_t n, size_t d, int32_t* out) {
  const size_t body = d / 16 * 16;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const int8_t* r0 = codes + size_t{rows[j]} * stride;
    const int8_t* r1 = codes + size_t{rows[j + 1]} * stride;
    const int8_t* r2 = codes + size_t{rows[j + 2]} * stride;
    const int8_t* r3 = codes + size_t{rows[j + 3]} * stride;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < body; i += 16) {
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
      auto row = [&](const int8_t* c) {
        return _mm256_madd_epi16(
            qv, _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i))));
      };
      a0 = _mm256_add_epi32(a0, row(r0));
      a1 = _mm256_add_epi32(a1, row(r1));
      a2 = _mm256_add_epi32(a2, row(r2));
      a3 = _mm256_add_epi32(a3, row(r3));
    }
    int32_t s0 = SumI32(a0), s1 = SumI32(a1), s2 = SumI32(a2), s3 = SumI32(a3);
    for (size_t i = body; i < d; ++i) {
      int16_t qi;
      std::memcpy(&qi, q + i, 2);
      s0 += static_cast<int32_t>(qi) * r0[i];
      s1 += static_cast<int32_t>(qi) * r1[i];
      s2 += static_cast<int32_t>(qi) * r2[i];
      s3 += static_cast<int32_t>(qi) * r3[i];
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  for (; j + 2 <= n; j += 2) {
    const int8_t* a = codes + size_t{rows[j]} * stride;
    const int8_t* b = codes + size_t{rows[j + 1]} * stride;
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    for (size_t i = 0; i < body; i += 16) {
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
      const __m256i av =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
      const __m256i bv =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
      acc_a = _mm256_add_epi32(acc_a, _mm256_madd_epi16(qv, av));
      acc_b = _mm256_add_epi32(acc_b, _mm256_madd_epi16(qv, bv));
    }
    int32_t ra = SumI32(acc_a), rb = SumI32(acc_b);
    for (size_t i = body; i < d; ++i) {
      int16_t qi;
      std::memcpy(&qi, q + i, 2);
      ra += static_cast<int32_t>(qi) * a[i];
      rb += static_cast<int32_t>(qi) * b[i];
    }
    out[j] = ra;
    out[j + 1] = rb;
  }
  if (j < n) out[j] = DotI16I8(q, codes + size_t{rows[j]} * stride, d);
}

}  // namespace

const KernelTable& Avx2Kernels() {
  static const KernelTable t{
      SimdLevel::kAvx2, DotF32,   L2F32,    DotNormF32,  DotF16,     L2F16,        DotNormF16,
      StatsI8,          F16ToF32, F32ToF16, IpTile,      ArgminTile, PqLut,        NearestPanels,
      IpScreen,         PqScan,   Pq4Scan,  Pq4Quantize, DotI16I8,   DotI16I8Rows, IpPanels,
      u4::DotI8U4Rows};
  return t;
}

}  // namespace ailake::vec
