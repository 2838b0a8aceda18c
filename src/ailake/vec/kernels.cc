// Runtime selection of the kernel table: CPUID once, capped by AILAKE_SIMD.
#include <cstdlib>
#include <cstring>

#include "ailake/vec/kernels.h"

namespace ailake::vec {
namespace {

SimdLevel CpuLevel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    return SimdLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
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
