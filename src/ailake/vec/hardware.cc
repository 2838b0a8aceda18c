// HardwareProfile probing: logical cores, SIMD level, and a CUDA driver found
// at run time through dlopen (no compile-time CUDA).
#include "ailake/hardware.h"

#include <dlfcn.h>

#include <thread>

#include "ailake/vec/kernels.h"

namespace ailake {

std::string_view SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar: return "scalar";
    case SimdLevel::kAvx2: return "avx2";
    case SimdLevel::kAvx512: return "avx512";
  }
  return "unknown";
}

namespace {

// CUDA driver API entry points, by their documented C signatures.
using CuInitFn = int (*)(unsigned int);
using CuDeviceGetCountFn = int (*)(int*);

void ProbeGpu(HardwareProfile* hw) {
  for (const char* lib : {"libcuda.so.1", "libcuda.so"}) {
    void* handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) continue;
    auto cu_init = reinterpret_cast<CuInitFn>(dlsym(handle, "cuInit"));
    auto cu_count = reinterpret_cast<CuDeviceGetCountFn>(dlsym(handle, "cuDeviceGetCount"));
    int count = 0;
    // CUDA_SUCCESS is 0. The handle stays open: unloading a driver that has
    // been initialized is unsafe.
    if (cu_init != nullptr && cu_count != nullptr && cu_init(0) == 0 && cu_count(&count) == 0 &&
        count > 0) {
      hw->gpu_present = true;
      hw->gpu_count = static_cast<uint32_t>(count);
      hw->gpu_driver = lib;
      return;
    }
    hw->gpu_driver.clear();
    return;
  }
}

HardwareProfile Probe() {
  HardwareProfile hw;
  const unsigned n = std::thread::hardware_concurrency();
  hw.logical_cores = n == 0 ? 1 : n;
  hw.simd = vec::ActiveSimdLevel();
  ProbeGpu(&hw);
  return hw;
}

}  // namespace

const HardwareProfile& ProbeHardware() {
  static const HardwareProfile hw = Probe();
  return hw;
}

}  // namespace ailake
