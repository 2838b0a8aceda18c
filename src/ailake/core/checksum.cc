#include "ailake/core/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ailake::core {

uint64_t Checksum64(std::span<const uint8_t> bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace ailake::core
