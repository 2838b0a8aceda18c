// Runtime selection of the kernel table: CPUID once, capped by AILAKE_SIMD.
#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "ailake/vec/kernels.h"

namespace ailake::vec {
namespace {

// F16C from CPUID leaf 1, ECX bit 29: clang before 15 has no "f16c" for
// __builtin_cpu_supports. Asked only after AVX2 or AVX-512 passed, which
// already means the OS saves the YMM state.
bool HasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
}

SimdLevel CpuLevel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma") && HasF16c()) {
    return SimdLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && HasF16c()) {
    return SimdLevel::kAvx2;
  }
  return SimdLevel::kScalar;
}

// The cap AILAKE_SIMD asks for: unset is no cap (the widest level), and a
// value it does not take is reported by CheckSimdSetting.
struct SimdCap {
  SimdLevel level = SimdLevel::kAvx512;
  bool valid = true;
};

SimdCap ReadSimdCap() {
  SimdCap cap;
  const char* v = std::getenv("AILAKE_SIMD");
  if (v == nullptr) return cap;
  if (std::strcmp(v, "scalar") == 0) {
    cap.level = SimdLevel::kScalar;
  } else if (std::strcmp(v, "avx2") == 0) {
    cap.level = SimdLevel::kAvx2;
  } else if (std::strcmp(v, "avx512") != 0) {
    cap.valid = false;
  }
  return cap;
}

const SimdCap& Cap() {
  static const SimdCap cap = ReadSimdCap();
  return cap;
}

SimdLevel ChooseLevel() {
  const SimdLevel level = CpuLevel();
  return Cap().level < level ? Cap().level : level;
}

}  // namespace

arrow::Status CheckSimdSetting() {
  if (Cap().valid) return arrow::Status::OK();
  return arrow::Status::Invalid("AILAKE_SIMD is '", std::string(std::getenv("AILAKE_SIMD")),
                                "'; it takes scalar, avx2 or avx512");
}

SimdLevel ActiveSimdLevel() {
  static const SimdLevel level = ChooseLevel();
  return level;
}

const KernelTable* KernelsFor(SimdLevel level) {
  static const SimdLevel cpu = CpuLevel();
  if (level > cpu) return nullptr;
  switch (level) {
    case SimdLevel::kScalar: return &ScalarKernels();
    case SimdLevel::kAvx2: return &Avx2Kernels();
    case SimdLevel::kAvx512: return &Avx512Kernels();
  }
  return nullptr;
}

const KernelTable& Kernels() {
  static const KernelTable* table = KernelsFor(ActiveSimdLevel());
  return *table;
}

void NearestPanelsVia(IpTileFn ip_tile, ArgminTileFn argmin_tile, const float* q, size_t ldq,
                      size_t nq, const float* panels, size_t n, size_t d, const float* norms2,
                      float* best, uint32_t* arg) {
  float tile[kTileQueries * kPanelRows];
  for (size_t r0 = 0; r0 < n; r0 += kPanelRows) {
    ip_tile(q, ldq, nq, panels + r0 * d, d, tile);
    const size_t valid = n - r0 < kPanelRows ? n - r0 : kPanelRows;
    argmin_tile(tile, nq, norms2 + r0, valid, static_cast<uint32_t>(r0), best, arg);
  }
}

void IpPanelsVia(IpTileFn ip_tile, const float* q, const float* panels, size_t npanels, size_t d,
                 float* out) {
  for (size_t p = 0; p < npanels; ++p) {
    ip_tile(q, d, 1, panels + p * d * kPanelRows, d, out + p * kPanelRows);
  }
}

void IpScreenVia(IpTileFn ip_tile, const float* q, size_t ldq, size_t nq, const float* panel,
                 size_t valid, size_t d, const float* bias, const float* scale, const float* thr,
                 float* out, uint32_t* masks) {
  float tile[kTileQueries * kPanelRows];
  for (size_t i = 0; i < nq; ++i) masks[i] = 0;
  for (size_t h = 0; h * kPanelRows < valid; ++h) {
    ip_tile(q, ldq, nq, panel + h * d * kPanelRows, d, tile);
    const size_t rows = valid - h * kPanelRows < kPanelRows ? valid - h * kPanelRows : kPanelRows;
    for (size_t i = 0; i < nq; ++i) {
      for (size_t j = 0; j < rows; ++j) {
        const size_t c = h * kPanelRows + j;
        const float v = bias[c] + scale[c] * tile[i * kPanelRows + j];
        out[i * kScreenRows + c] = v;
        if (v < thr[i]) masks[i] |= 1u << c;
      }
    }
  }
}

}  // namespace ailake::vec
