// HardwareProfile: what the machine offers an index (cores, SIMD level, GPU),
// probed at run time, and the rule IndexType::kAuto uses to pick an index.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ailake/policy.h"

namespace ailake {

// The widest instruction set the distance kernels use on this CPU. Chosen once
// per process (CPUID), never at compile time; AILAKE_SIMD=scalar|avx2|avx512
// in the environment caps it (for tests and comparisons); any other value is
// an error from BuildIndex, LoadIndex and table searches.
enum class SimdLevel : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

std::string_view SimdLevelName(SimdLevel level);

struct HardwareProfile {
  uint32_t logical_cores = 1;
  SimdLevel simd = SimdLevel::kScalar;
  bool gpu_present = false;  // a CUDA driver loaded at run time and reported >= 1 device
  uint32_t gpu_count = 0;
  std::string gpu_driver;  // the library that answered, empty when none
};

// Probes the running machine. The GPU probe dlopen()s the CUDA driver
// (libcuda.so.1) and asks it for a device count; there is no compile-time CUDA
// dependency, and a missing or failing driver means "no GPU". Cached after the
// first call.
const HardwareProfile& ProbeHardware();

// The rule behind IndexType::kAuto (docs/ARCHITECTURE.md, "Choosing an index"):
//   1. IVF-PQ needs enough rows to train: below kAutoIvfPqMinRows rows -> HNSW.
//   2. policy.ivf_pq.m must divide dim (IVF-PQ is otherwise unbuildable) -> else HNSW.
//   3. A GPU present and >= kAutoGpuIvfPqRows rows -> IVF-PQ (the layout a GPU
//      scans well; HNSW graphs do not batch).
//   4. Rows >= kAutoIvfPqRowsPerCore * logical_cores -> IVF-PQ: an HNSW build
//      costs ~ rows * ef_construction distance evaluations per core, IVF-PQ
//      training a few k-means passes, so few cores and many rows favour IVF-PQ.
//   5. Otherwise HNSW (best recall per query at moderate sizes).
// Never returns kAuto or kNone.
inline constexpr uint64_t kAutoIvfPqMinRows = 100000;
inline constexpr uint64_t kAutoGpuIvfPqRows = 1000000;
inline constexpr uint64_t kAutoIvfPqRowsPerCore = 2000000;
IndexType ChooseIndexType(const HardwareProfile& hw, uint64_t num_rows,
                          const VectorStoragePolicy& policy);

}  // namespace ailake
