// Runtime selection of the kernel table: CPUID once, capped by AILAKE_SIMD.
#include <cpuid.h>

#include <cstdlib>
#include <cstring>

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

SimdLevel ChooseLevel() {
  SimdLevel level = CpuLevel();
  if (const char* cap = std::getenv("AILAKE_SIMD")) {
    SimdLevel want = level;
    if (std::strcmp(cap, "scalar") == 0) want = SimdLevel::kScalar;
    if (std::strcmp(cap, "avx2") == 0) want = SimdLevel::kAvx2;
    if (std::strcmp(cap, "avx512") == 0) want = SimdLevel::kAvx512;
    if (want < level) level = want;
  }
  return level;
}

}  // namespace

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

}  // namespace ailake::vec
