// The 4-bit PQ fast-scan step on 256-bit registers, shared by the AVX2 and
// AVX-512 kernels (the latter finishes an odd pair of sub-spaces with it).
// Included only by kernels compiled with -mavx2; the functions are static so
// each instruction set's copy stays its own (no ODR merging across them).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ailake::vec::pq4 {

// Two sub-spaces per shuffle: the 32 code bytes of sub-spaces j and j + 1 sit
// in the two 128-bit lanes, as do their two tables, so one _mm256_shuffle_epi8
// looks up 16 rows in both. The byte results are summed as 16-bit lanes: the
// even rows from (v & 0xff), the odd rows from (v >> 8), no widening.
// acc: rows 0-15 even / odd, rows 16-31 even / odd.
static inline void Accumulate(__m256i c, __m256i t, __m256i* acc) {
  const __m256i nib = _mm256_set1_epi8(0x0f), low = _mm256_set1_epi16(0x00ff);
  const __m256i rl = _mm256_shuffle_epi8(t, _mm256_and_si256(c, nib));
  const __m256i rh = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), nib));
  acc[0] = _mm256_add_epi16(acc[0], _mm256_and_si256(rl, low));
  acc[1] = _mm256_add_epi16(acc[1], _mm256_srli_epi16(rl, 8));
  acc[2] = _mm256_add_epi16(acc[2], _mm256_and_si256(rh, low));
  acc[3] = _mm256_add_epi16(acc[3], _mm256_srli_epi16(rh, 8));
}

// The 32 row sums of a block from its accumulators (lane 0 holds the even
// sub-spaces' sums, lane 1 the odd ones'), in row order.
static inline void Sums(const __m256i* acc, uint16_t* out) {
  for (int h = 0; h < 2; ++h) {
    const __m128i even =
        _mm_add_epi16(_mm256_castsi256_si128(acc[2 * h]), _mm256_extracti128_si256(acc[2 * h], 1));
    const __m128i odd = _mm_add_epi16(_mm256_castsi256_si128(acc[2 * h + 1]),
                                      _mm256_extracti128_si256(acc[2 * h + 1], 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * h), _mm_unpacklo_epi16(even, odd));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * h + 8), _mm_unpackhi_epi16(even, odd));
  }
}

// Bit i set when sums[i] < limit, for the 32 sums of a block (limit 0: none;
// above 65535: all). Unsigned 16-bit x < limit is min(x, limit - 1) == x.
static inline uint32_t Below(const uint16_t* sums, uint32_t limit) {
  if (limit == 0) return 0;
  if (limit > 65535) return ~0u;
  const __m256i top = _mm256_set1_epi16(static_cast<int16_t>(limit - 1));
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums + 16));
  const __m256i ya = _mm256_cmpeq_epi16(_mm256_min_epu16(a, top), a);
  const __m256i yb = _mm256_cmpeq_epi16(_mm256_min_epu16(b, top), b);
  // Saturating packs interleave the lanes: [a0-7, b0-7 | a8-15, b8-15].
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(ya, yb), 0xd8);
  return static_cast<uint32_t>(_mm256_movemask_epi8(packed));
}

}  // namespace ailake::vec::pq4
