// Row ids address one row of a table across versions:
//   bits 63..32  fragment id
//   bits 31..0   row offset inside the fragment (physical, before deletions)
// Within a single file (no table), the fragment id is 0.
#pragma once

#include <cstdint>

namespace ailake {

using RowId = uint64_t;

constexpr RowId MakeRowId(uint32_t fragment_id, uint32_t offset) {
  return (static_cast<uint64_t>(fragment_id) << 32) | offset;
}
constexpr uint32_t RowIdFragment(RowId id) { return static_cast<uint32_t>(id >> 32); }
constexpr uint32_t RowIdOffset(RowId id) { return static_cast<uint32_t>(id & 0xffffffffu); }

}  // namespace ailake
