// The compressive encodings of Lance file versions 2.1/2.2 (docs/FORMAT.md
// 5.6): FastLanes transposed bit packing, FSST symbol tables, byte stream
// split, run lengths. Internal to the encoding/ layer; pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake::encoding::l21 {

// FastLanes' transposed layout of 1024 values of T bits (T = 8, 16, 32,
// 64) packed to W bits each (0 <= W <= T): 128 * W bytes. Unpack writes
// 1024 values of T bits (as uint8/16/32/64) to `out`; pack reads them.
void FastLanesUnpack(const uint8_t* packed, int t_bits, int w_bits, uint8_t* out);
void FastLanesPack(const uint8_t* values, int t_bits, int w_bits, uint8_t* packed);

// An FSST symbol table as Lance stores it (2312 bytes: a u64 header with
// "FSST", an enabled bit and the symbol count, the symbols of 8 bytes, then
// their lengths).
class FsstTable {
 public:
  static arrow::Result<FsstTable> Parse(std::span<const uint8_t> bytes);
  // Appends the decoding of `in` to `out`; error on a truncated escape.
  arrow::Status Decode(std::span<const uint8_t> in, std::string* out) const;
  bool enabled() const { return enabled_; }

 private:
  bool enabled_ = true;
  int n_ = 0;
  uint64_t sym_[255] = {};
  uint8_t len_[255] = {};
};

}  // namespace ailake::encoding::l21
