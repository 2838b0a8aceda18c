// Scalar reference kernels: the definition every SIMD kernel is tested against.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ailake/vec/kernels.h"

namespace ailake::vec {

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half: normalize into a binary32 normal
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // Inf or NaN (payload kept)
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // Inf or NaN
    if (absx == 0x7f800000u) return sign | 0x7c00u;
    return static_cast<uint16_t>(sign | 0x7e00u | ((absx >> 13) & 0x3ffu));  // quiet NaN
  }
  if (absx >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to Inf
  if (absx < 0x38800000u) {                        // below the smallest normal half (2^-14)
    if (absx < 0x33000000u) return sign;           // < 2^-25: rounds to zero
    // Subnormal: value = mant_full * 2^(e-150); half subnormal unit is 2^-24.
    const uint32_t e = absx >> 23;
    const uint32_t mant_full = (absx & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24 (bits to drop to reach 2^-24 units)
    uint32_t q = mant_full >> shift;
    const uint32_t rem = mant_full & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  // Normal: rebias exponent, round 23-bit mantissa to 10 bits (nearest even).
  uint32_t h = ((absx >> 23) - 112) << 10 | ((absx >> 13) & 0x3ffu);
  const uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // carry may bump the exponent
  return static_cast<uint16_t>(sign | h);
}

namespace {

float DotF32(const float* a, const float* b, size_t d) {
  float s = 0.0f;
  for (size_t i = 0; i < d; ++i) s += Ld(a + i) * Ld(b + i);
  return s;
}

float L2F32(const float* a, const float* b, size_t d) {
  float s = 0.0f;
  for (size_t i = 0; i < d; ++i) {
    const float t = Ld(a + i) - Ld(b + i);
    s += t * t;
  }
  return s;
}

void DotNormF32(const float* q, const float* v, size_t d, float* qv, float* vv) {
  float s = 0.0f, n = 0.0f;
  for (size_t i = 0; i < d; ++i) {
    s += Ld(q + i) * Ld(v + i);
    n += Ld(v + i) * Ld(v + i);
  }
  *qv = s;
  *vv = n;
}

float DotF16(const float* q, const uint16_t* v, size_t d) {
  float s = 0.0f;
  for (size_t i = 0; i < d; ++i) s += Ld(q + i) * HalfToFloat(Ld(v + i));
  return s;
}

float L2F16(const float* q, const uint16_t* v, size_t d) {
  float s = 0.0f;
  for (size_t i = 0; i < d; ++i) {
    const float t = Ld(q + i) - HalfToFloat(Ld(v + i));
    s += t * t;
  }
  return s;
}

void DotNormF16(const float* q, const uint16_t* v, size_t d, float* qv, float* vv) {
  float s = 0.0f, n = 0.0f;
  for (size_t i = 0; i < d; ++i) {
    const float x = HalfToFloat(Ld(v + i));
    s += Ld(q + i) * x;
    n += x * x;
  }
  *qv = s;
  *vv = n;
}

void StatsI8(const float* q, const int8_t* c, size_t d, float* qc, float* cc, float* sc) {
  float s = 0.0f;
  int64_t n = 0, t = 0;
  for (size_t i = 0; i < d; ++i) {
    s += Ld(q + i) * static_cast<float>(c[i]);
    n += static_cast<int32_t>(c[i]) * c[i];
    t += c[i];
  }
  *qc = s;
  *cc = static_cast<float>(n);
  *sc = static_cast<float>(t);
}

void F16ToF32(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(Ld(in + i));
}

void F32ToF16(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = FloatToHalf(Ld(in + i));
}

void IpTile(const float* q, size_t ldq, size_t nq, const float* panel, size_t d, float* out) {
  for (size_t i = 0; i < nq; ++i) {
    float acc[kPanelRows] = {};
    const float* qi = q + i * ldq;
    for (size_t k = 0; k < d; ++k) {
      const float x = Ld(qi + k);
      const float* p = panel + k * kPanelRows;
      for (size_t j = 0; j < kPanelRows; ++j) acc[j] += x * Ld(p + j);
    }
    for (size_t j = 0; j < kPanelRows; ++j) out[i * kPanelRows + j] = acc[j];
  }
}

void IpPanels(const float* q, const float* panels, size_t npanels, size_t d, float* out) {
  IpPanelsVia(IpTile, q, panels, npanels, d, out);
}

void ArgminTile(const float* tile, size_t nq, const float* norms2, size_t valid, uint32_t base,
                float* best, uint32_t* arg) {
  for (size_t i = 0; i < nq; ++i) {
    for (size_t j = 0; j < valid; ++j) {
      const float v = norms2[j] - 2.0f * tile[i * kPanelRows + j];
      if (v < best[i]) {
        best[i] = v;
        arg[i] = base + static_cast<uint32_t>(j);
      }
    }
  }
}

void PqLut(const float* y, const float* panels, size_t npanels, const float* bias, float scale,
           size_t dsub, float* out) {
  for (size_t p = 0; p < npanels; ++p) {
    float acc[16] = {};
    for (size_t t = 0; t < dsub; ++t) {
      const float yt = Ld(y + t);
      for (size_t j = 0; j < 16; ++j) acc[j] += yt * Ld(panels + (p * dsub + t) * 16 + j);
    }
    for (size_t j = 0; j < 16; ++j) {
      out[p * 16 + j] = (bias != nullptr ? Ld(bias + p * 16 + j) : 0.0f) + scale * acc[j];
    }
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

void PqScan(const uint8_t* codes, size_t n, size_t m, const float* lut, float base, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* code = codes + i * m;
    float s0 = base, s1 = 0, s2 = 0, s3 = 0;
    const float* t = lut;
    size_t j = 0;
    for (; j + 4 <= m; j += 4, t += 1024) {
      s0 += t[code[j]];
      s1 += t[256 + code[j + 1]];
      s2 += t[512 + code[j + 2]];
      s3 += t[768 + code[j + 3]];
    }
    for (; j < m; ++j, t += 256) s0 += t[code[j]];
    out[i] = (s0 + s1) + (s2 + s3);
  }
}

void Pq4Scan(const uint8_t* blocks, size_t nblocks, size_t m, const uint8_t* lut,
             const uint32_t* limits, size_t limit_step, uint16_t* out, uint32_t* masks) {
  const size_t m2 = (m + 1) & ~size_t{1};
  for (size_t b = 0; b < nblocks; ++b) {
    const uint8_t* blk = blocks + b * 16 * m2;
    const uint32_t limit = limits[b * limit_step];
    uint32_t acc[32] = {};
    for (size_t j = 0; j < m2; ++j) {
      const uint8_t* t = lut + j * 16;
      for (size_t i = 0; i < 16; ++i) {
        const uint8_t c = blk[j * 16 + i];
        acc[i] += t[c & 15];
        acc[i + 16] += t[c >> 4];
      }
    }
    uint32_t mask = 0;
    for (size_t i = 0; i < 32; ++i) {
      out[b * 32 + i] = static_cast<uint16_t>(acc[i]);
      if (out[b * 32 + i] < limit) mask |= uint32_t{1} << i;
    }
    masks[b] = mask;
  }
}

// One 16-entry table, t = lut + add (add may be null).
void Table16(const float* lut, const float* add, float* t) {
  for (size_t c = 0; c < 16; ++c) t[c] = add != nullptr ? lut[c] + add[c] : lut[c];
}

// Minimum and maximum of one 16-entry table; both 0 when either is not finite.
void Range16(const float* t, float* lo, float* hi) {
  float a = t[0], b = t[0];
  for (size_t c = 1; c < 16; ++c) {
    a = std::min(a, t[c]);
    b = std::max(b, t[c]);
  }
  if (!std::isfinite(a) || !std::isfinite(b)) a = b = 0;
  *lo = a;
  *hi = b;
}

float Pq4Quantize(const float* lut, const float* add, size_t m, uint8_t* out, float* step) {
  float sum_min = 0, span = 0, lo, hi, t[16];
  for (size_t j = 0; j < m; ++j) {
    Table16(lut + j * 16, add != nullptr ? add + j * 16 : nullptr, t);
    Range16(t, &lo, &hi);
    sum_min += lo;
    span = std::max(span, hi - lo);
  }
  *step = Pq4Step(span, m);
  const float inv = 1.0f / *step, levels = Pq4Levels(m);
  for (size_t j = 0; j < m; ++j) {
    Table16(lut + j * 16, add != nullptr ? add + j * 16 : nullptr, t);
    Range16(t, &lo, &hi);
    for (size_t c = 0; c < 16; ++c) {
      float v = (t[c] - lo) * inv;
      if (!(v >= 0)) v = 0;  // NaN too
      v = std::min(v, levels);
      out[j * 16 + c] = static_cast<uint8_t>(std::nearbyint(v));
    }
  }
  if (m % 2 == 1) std::memset(out + m * 16, 0, 16);
  return sum_min;
}

int32_t DotI16I8(const int16_t* q, const int8_t* c, size_t d) {
  int32_t s = 0;
  for (size_t i = 0; i < d; ++i) s += static_cast<int32_t>(Ld(q + i)) * c[i];
  return s;
}

void DotI16I8Rows(const int16_t* q, const int8_t* codes, size_t stride, const uint32_t* rows,
                  size_t n, size_t d, int32_t* out) {
  for (size_t j = 0; j < n; ++j) out[j] = DotI16I8(q, codes + size_t{rows[j]} * stride, d);
}

void DotI8U4Rows(const int8_t* q, const uint8_t* codes, size_t stride, const uint32_t* rows,
                 size_t n, size_t nbytes, int32_t* out) {
  for (size_t j = 0; j < n; ++j) {
    const uint8_t* c = codes + size_t{rows[j]} * stride;
    int32_t s = 0;
    for (size_t at = 0; at < nbytes;) {
      const size_t g = nbytes - at >= 32 ? 32 : 16;  // bytes in this group
      const int8_t* qg = q + 2 * at;                 // its first position
      for (size_t i = 0; i < g; ++i) {
        s += static_cast<int32_t>(qg[i]) * (c[at + i] & 0x0f) +
             static_cast<int32_t>(qg[g + i]) * (c[at + i] >> 4);
      }
      at += g;
    }
    out[j] = s;
  }
}

}  // namespace

const KernelTable& ScalarKernels() {
  static const KernelTable t{SimdLevel::kScalar,
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
                             DotI8U4Rows};
  return t;
}

}  // namespace ailake::vec
