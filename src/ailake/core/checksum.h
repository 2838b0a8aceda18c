// Checksums of stored objects: manifests, AILK sections (header, body, index
// blob). XXH3-64 from the xxHash library (Debian libxxhash-dev, used
// header-only): it detects every single-bit flip and any burst of up to 64
// bits, runs at memory speed (tens of GB/s with SSE2/AVX2, so checking an
// index blob on load costs far less than reading it), and has independent
// implementations (Python `xxhash`) that tests use as an oracle.
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ailake::core {

// A fuzzing build (-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the libFuzzer
// convention) computes checksums but ignores mismatches, so that mutated
// inputs reach the parsers behind them. Never set it for a build that stores
// data.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr bool kChecksumsEnforced = false;
#else
inline constexpr bool kChecksumsEnforced = true;
#endif

// XXH3-64 with seed 0 of `bytes`.
uint64_t Checksum64(std::span<const uint8_t> bytes);
inline uint64_t Checksum64(const void* data, size_t size) {
  return Checksum64({static_cast<const uint8_t*>(data), size});
}

}  // namespace ailake::core
