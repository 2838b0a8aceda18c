// The compressive encodings of Lance file versions 2.1/2.2 (docs/FORMAT.md
// 5.6): FastLanes transposed bit packing, FSST symbol tables, byte stream
// split, run lengths. Internal to the encoding/ layer; pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
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
  // A table for strings like `sample`: symbols of 1 to 8 bytes chosen over
  // five rounds by how many bytes they would replace (each round encodes
  // the sample with the last table and scores its symbols and pairs of
  // adjacent symbols), at most 255 of them.
  static FsstTable Train(const std::vector<std::string_view>& sample);
  // The 2312 bytes Lance stores.
  std::string Serialize() const;
  // Appends the decoding of `in` to `out`; error on a truncated escape.
  arrow::Status Decode(std::span<const uint8_t> in, std::string* out) const;
  // Appends the encoding of `in` to `out`: the longest symbol at each
  // position, a byte no symbol starts with escaped (255, the byte).
  void Encode(std::string_view in, std::string* out) const;
  bool enabled() const { return enabled_; }
  int size() const { return n_; }

 private:
  void Index();  // by_first_ from the symbols
  bool enabled_ = true;
  int n_ = 0;
  std::array<uint64_t, 255> sym_{};
  std::array<uint8_t, 255> len_{};
  std::array<std::vector<uint8_t>, 256> by_first_;  // codes by first byte, longest first
};

}  // namespace ailake::encoding::l21
