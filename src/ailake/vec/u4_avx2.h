// Dot products of an int8 query with rows of 4-bit codes (the kernel table's
// dot_i8_u4_rows; the layout is described there) on 256-bit registers, shared
// by the AVX2 and AVX-512 tables. Included only by kernels compiled with
// -mavx2; the functions are static so each instruction set's copy stays its
// own (no ODR merging across them).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ailake::vec::u4 {

// The codes of one group as 32 unsigned bytes in position order, and the 16
// signed products of adjacent pairs with the query (each at most 2 * 15 * 127
// in magnitude, so no saturation).
static inline __m256i Group32Lo(__m256i x) { return _mm256_and_si256(x, _mm256_set1_epi8(0x0f)); }
static inline __m256i Group32Hi(__m256i x) {
  return _mm256_and_si256(_mm256_srli_epi16(x, 4), _mm256_set1_epi8(0x0f));
}
// A 16-byte group's 32 codes in position order: low nibbles, then high.
static inline __m256i Group16(const uint8_t* c) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c));
  const __m128i nib = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), nib), _mm_and_si128(x, nib));
}
static inline __m256i Load(const int8_t* q) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
}

static inline int32_t SumLanes(__m256i acc) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// The int32 products of `rows` rows at once (their loads in flight together).
template <int kRows>
static inline void DotRows(const int8_t* q, const uint8_t* const* r, size_t nbytes, int32_t* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[kRows];
  for (int j = 0; j < kRows; ++j) acc[j] = _mm256_setzero_si256();
  size_t at = 0;
  for (; at + 32 <= nbytes; at += 32) {
    const __m256i q0 = Load(q + 2 * at), q1 = Load(q + 2 * at + 32);
    for (int j = 0; j < kRows; ++j) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r[j] + at));
      const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(Group32Lo(x), q0),
                                         _mm256_maddubs_epi16(Group32Hi(x), q1));
      acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(p, ones));
    }
  }
  if (at < nbytes) {  // one group of 16
    const __m256i q0 = Load(q + 2 * at);
    for (int j = 0; j < kRows; ++j) {
      acc[j] = _mm256_add_epi32(
          acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(Group16(r[j] + at), q0), ones));
    }
  }
  for (int j = 0; j < kRows; ++j) out[j] = SumLanes(acc[j]);
}

static inline void DotI8U4Rows(const int8_t* q, const uint8_t* codes, size_t stride,
                               const uint32_t* rows, size_t n, size_t nbytes, int32_t* out) {
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const uint8_t* r[4] = {codes + size_t{rows[j]} * stride, codes + size_t{rows[j + 1]} * stride,
                           codes + size_t{rows[j + 2]} * stride,
                           codes + size_t{rows[j + 3]} * stride};
    DotRows<4>(q, r, nbytes, out + j);
  }
  for (; j < n; ++j) {
    const uint8_t* r[1] = {codes + size_t{rows[j]} * stride};
    DotRows<1>(q, r, nbytes, out + j);
  }
}

}  // namespace ailake::vec::u4
