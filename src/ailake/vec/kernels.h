// Distance kernels: one f32 query against one stored row (f32, f16 or int8),
// f16 conversion, and the register-blocked inner-product tile behind the
// many-queries x many-rows matrix kernel. One table per instruction set
// (scalar, AVX2, AVX-512); Kernels() returns the table chosen once per process
// from the CPU (see ailake/hardware.h). All functions accept unaligned pointers
// and any dimension d >= 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <arrow/status.h>

#include "ailake/hardware.h"

namespace ailake::vec {

// Rows per packed panel of the matrix kernel: a panel holds kPanelRows rows
// transposed (d x kPanelRows floats, element k of row j at [k * kPanelRows + j]).
inline constexpr size_t kPanelRows = 16;
// Queries handled by one call of ip_tile.
inline constexpr size_t kTileQueries = 8;

struct KernelTable {
  SimdLevel level;
  // sum_i a_i * b_i
  float (*dot_f32)(const float* a, const float* b, size_t d);
  // sum_i (a_i - b_i)^2
  float (*l2_f32)(const float* a, const float* b, size_t d);
  // *qv = sum q_i v_i, *vv = sum v_i^2 in one pass (cosine without stored norms)
  void (*dot_norm_f32)(const float* q, const float* v, size_t d, float* qv, float* vv);
  // The same with v in IEEE binary16.
  float (*dot_f16)(const float* q, const uint16_t* v, size_t d);
  float (*l2_f16)(const float* q, const uint16_t* v, size_t d);
  void (*dot_norm_f16)(const float* q, const uint16_t* v, size_t d, float* qv, float* vv);
  // int8 codes c: *qc = sum q_i c_i, *cc = sum c_i^2, *sc = sum c_i. Any affine
  // decode (value = c * scale + offset) gives every metric from these three.
  void (*stats_i8)(const float* q, const int8_t* c, size_t d, float* qc, float* cc, float* sc);
  // Conversions, round to nearest even, NaN/Inf/subnormals preserved.
  void (*f16_to_f32)(const uint16_t* in, float* out, size_t n);
  void (*f32_to_f16)(const float* in, uint16_t* out, size_t n);
  // out[i * kPanelRows + j] = dot(q + i * ldq, row j of panel) for i < nq
  // (nq <= kTileQueries), j < kPanelRows.
  void (*ip_tile)(const float* q, size_t ldq, size_t nq, const float* panel, size_t d, float* out);
  // Nearest-row update from one ip_tile result: for each query i < nq, with
  // v_j = norms2[j] - 2 * tile[i * kPanelRows + j] over the first `valid`
  // rows, if min_j v_j < best[i] then best[i] = that minimum and arg[i] = base
  // + the first j reaching it.
  void (*argmin_tile)(const float* tile, size_t nq, const float* norms2, size_t valid,
                      uint32_t base, float* best, uint32_t* arg);
  // PQ lookup table of one sub-space: out[c] = bias[c] + scale * dot(y, codeword c)
  // for the 16 * npanels codewords stored as npanels panels of dsub x 16
  // (bias may be null = 0).
  void (*pq_lut)(const float* y, const float* panels, size_t npanels, const float* bias,
                 float scale, size_t dsub, float* out);
  // Nearest row over all panels of a packed matrix (n rows, panel p at
  // panels + p * d * kPanelRows): for each query i < nq (nq <= kTileQueries),
  // v_j = norms2[j] - 2 * dot(q_i, row j); if min_j v_j < best[i] then
  // best[i] = that minimum and arg[i] = the first j reaching it. The running
  // minimum stays in registers across panels (no reduction per panel).
  void (*nearest_panels)(const float* q, size_t ldq, size_t nq, const float* panels, size_t n,
                         size_t d, const float* norms2, float* best, uint32_t* arg);
  // Top-k screening of one or two panels (rows j < valid <= kScreenRows, panel
  // 1 right after panel 0): out[i * kScreenRows + j] = bias[j] + scale[j] *
  // dot(q_i, row j) and bit j of masks[i] set when that value < thr[i].
  void (*ip_screen)(const float* q, size_t ldq, size_t nq, const float* panel, size_t valid,
                    size_t d, const float* bias, const float* scale, const float* thr, float* out,
                    uint32_t* masks);
  // ADC scores of n PQ codes of m bytes each, stored back to back:
  // out[i] = base + sum_j lut[j * 256 + codes[i * m + j]].
  void (*pq_scan)(const uint8_t* codes, size_t n, size_t m, const float* lut, float base,
                  float* out);
  // 4-bit PQ scores of nblocks blocks of 32 rows (fast-scan layout, docs/FORMAT.md
  // 3.4.1): a block is m2 = m rounded up to even sub-spaces of 16 bytes, byte i
  // of sub-space j holding the code of row i in its low nibble and of row
  // i + 16 in its high nibble. lut is m2 x 16 u8 (rows past m zero).
  // out[32 b + i] = sum_j lut[16 j + code(b, j, i)] mod 2^16: callers bound
  // the table so that no sum passes 65535. Bit i of masks[b] is set when
  // out[32 b + i] < limits[b * limit_step] (a limit of 0: none; above 65535:
  // all); limit_step 0 gives every block limits[0].
  void (*pq4_scan)(const uint8_t* blocks, size_t nblocks, size_t m, const uint8_t* lut,
                   const uint32_t* limits, size_t limit_step, uint16_t* out, uint32_t* masks);
  // The u8 tables pq4_scan reads, from m f32 tables of 16 entries, t = lut +
  // add (add may be null = 0): entry c of table j becomes round((t[16 j + c] -
  // min_j) / step) clamped to
  // [0, Pq4Levels(m)] (NaN -> 0), with one step for all tables (Pq4Step of
  // the widest table's span). Writes PaddedM(m) x 16 bytes (a padding table
  // of zeros for odd m), sets *step, returns sum_j min_j (summed in order of
  // j). A row's score is then that sum + step * its pq4_scan sum. Identical
  // at every level for finite tables.
  float (*pq4_quantize)(const float* lut, const float* add, size_t m, uint8_t* out, float* step);
  // sum_i q_i c_i exactly, for an int16 query and int8 codes (the quantized
  // traversal of HNSW). Exact while |sum| < 2^31: callers bound |q_i| so that
  // 127 * d * max|q_i| < 2^31.
  int32_t (*dot_i16_i8)(const int16_t* q, const int8_t* c, size_t d);
  // The same for n rows of a code matrix at once: out[j] = dot_i16_i8(q,
  // codes + rows[j] * stride, d). Two rows share each query load, and both
  // rows' loads are in flight together (the rows of a graph walk are
  // scattered: each load is a cache miss).
  void (*dot_i16_i8_rows)(const int16_t* q, const int8_t* codes, size_t stride,
                          const uint32_t* rows, size_t n, size_t d, int32_t* out);
  // One query against npanels consecutive panels (panel p at panels + p * d *
  // kPanelRows): out[p * kPanelRows + j] = dot(q, row j of panel p), bit for
  // bit what ip_tile gives that query alone, panel by panel. A lone query's
  // tile is one chain of dependent FMAs per register, bound by their
  // latency; this runs several panels' chains side by side.
  void (*ip_panels)(const float* q, const float* panels, size_t npanels, size_t d, float* out);
  // sum_p q[p] * code(p) for n rows of 4-bit codes (the 4-bit traversal of
  // HNSW, docs/FORMAT.md 3.3.2): row j is the nbytes (a multiple of 16) at
  // codes + rows[j] * stride, read as groups of 32 bytes and, when nbytes is
  // an odd multiple of 16, a last group of 16; byte i of a group of g bytes
  // that starts at position b holds position b + i in its low nibble and
  // b + g + i in its high nibble. q has 2 * nbytes entries. Always exact.
  void (*dot_i8_u4_rows)(const int8_t* q, const uint8_t* codes, size_t stride, const uint32_t* rows,
                         size_t n, size_t nbytes, int32_t* out);
};

// The largest u8 value of a 4-bit PQ table over m sub-spaces: a sum of m
// entries stays within 16 bits.
inline float Pq4Levels(size_t m) { return static_cast<float>(m <= 257 ? 255 : 65535 / m); }
// The u8 step for tables whose widest spans `span` (1 when span is 0, NaN
// or infinite).
inline float Pq4Step(float span, size_t m) {
  return span > 0 && span <= 3.4e38f ? span / Pq4Levels(m) : 1.0f;
}

// Rows screened by one ip_screen call (two panels).
inline constexpr size_t kScreenRows = 2 * kPanelRows;

using IpTileFn = void (*)(const float*, size_t, size_t, const float*, size_t, float*);
using ArgminTileFn = void (*)(const float*, size_t, const float*, size_t, uint32_t, float*,
                              uint32_t*);
// nearest_panels and ip_screen composed from a table's ip_tile and
// argmin_tile (the scalar and AVX2 tables use these).
void NearestPanelsVia(IpTileFn ip_tile, ArgminTileFn argmin_tile, const float* q, size_t ldq,
                      size_t nq, const float* panels, size_t n, size_t d, const float* norms2,
                      float* best, uint32_t* arg);
void IpScreenVia(IpTileFn ip_tile, const float* q, size_t ldq, size_t nq, const float* panel,
                 size_t valid, size_t d, const float* bias, const float* scale, const float* thr,
                 float* out, uint32_t* masks);

// ip_panels as ip_tile with one query, panel by panel (the scalar and
// AVX-512 tables use it).
void IpPanelsVia(IpTileFn ip_tile, const float* q, const float* panels, size_t npanels, size_t d,
                 float* out);

// The table for the detected (or AILAKE_SIMD-capped) level, chosen once.
const KernelTable& Kernels();
// A specific table; nullptr when the CPU lacks the instructions. For tests and
// benchmarks that compare levels.
const KernelTable* KernelsFor(SimdLevel level);
// The level Kernels() uses.
SimdLevel ActiveSimdLevel();
// An error naming AILAKE_SIMD's value when it is not one the cap takes
// (scalar, avx2, avx512); such a value caps nothing. Checked where vector work
// enters the library (BuildIndex, LoadIndex, a table's search plan), so a
// mistyped setting is reported instead of silently ignored.
arrow::Status CheckSimdSetting();

const KernelTable& ScalarKernels();
const KernelTable& Avx2Kernels();    // only call when the CPU has AVX2+FMA+F16C
const KernelTable& Avx512Kernels();  // only call when the CPU has AVX-512 F/BW/DQ/VL

// Loads that are defined for any alignment (rows inside Parquet pages or
// memory-mapped blobs need not be aligned to their element size).
inline float Ld(const float* p) {
  float x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline uint16_t Ld(const uint16_t* p) {
  uint16_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline int16_t Ld(const int16_t* p) {
  int16_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// Scalar IEEE binary16 <-> binary32 (the reference for the SIMD paths).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);

}  // namespace ailake::vec
