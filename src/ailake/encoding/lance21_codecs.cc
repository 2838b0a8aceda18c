#include "ailake/encoding/lance21_codecs.h"

#include <cstring>

namespace ailake::encoding::l21 {
namespace {

// Logical index of the value in row r (0..T-1) of lane l (0..1024/T - 1).
constexpr int kOrder[8] = {0, 4, 2, 6, 1, 5, 3, 7};
inline int Position(int r, int l) { return kOrder[r / 8] * 16 + (r % 8) * 128 + l; }

// Rows outer, lanes inner: for one row every lane reads the same word
// index of its own lane and writes consecutive outputs, so the inner loop
// vectorizes.
template <typename U>
void Unpack(const uint8_t* packed, int w, U* out) {
  constexpr int kT = static_cast<int>(sizeof(U) * 8);
  constexpr int kLanes = 1024 / kT;
  if (w == 0) {
    std::memset(out, 0, 1024 * sizeof(U));
    return;
  }
  const U mask = w == kT ? static_cast<U>(~U{0}) : static_cast<U>((U{1} << w) - 1);
  U words[kLanes];
  U next[kLanes];
  for (int r = 0; r < kT; ++r) {
    const int bit = r * w, k = bit / kT, s = bit % kT;
    U* dst = out + Position(r, 0);
    std::memcpy(words, packed + static_cast<size_t>(kLanes * k) * sizeof(U), sizeof(words));
    if (s + w > kT) {
      std::memcpy(next, packed + static_cast<size_t>(kLanes * (k + 1)) * sizeof(U), sizeof(next));
      for (int l = 0; l < kLanes; ++l) {
        dst[l] = static_cast<U>(
            (static_cast<U>(words[l] >> s) | static_cast<U>(next[l] << (kT - s))) & mask);
      }
    } else {
      for (int l = 0; l < kLanes; ++l)
        dst[l] = static_cast<U>(static_cast<U>(words[l] >> s) & mask);
    }
  }
}

template <typename U>
void Pack(const U* values, int w, uint8_t* packed) {
  constexpr int kT = static_cast<int>(sizeof(U) * 8);
  constexpr int kLanes = 1024 / kT;
  std::memset(packed, 0, static_cast<size_t>(128 * w));
  if (w == 0) return;
  const U mask = w == kT ? static_cast<U>(~U{0}) : static_cast<U>((U{1} << w) - 1);
  U words[kLanes];
  for (int r = 0; r < kT; ++r) {
    const int bit = r * w, k = bit / kT, s = bit % kT;
    const U* src = values + Position(r, 0);
    uint8_t* at = packed + static_cast<size_t>(kLanes * k) * sizeof(U);
    std::memcpy(words, at, sizeof(words));
    for (int l = 0; l < kLanes; ++l)
      words[l] = static_cast<U>(words[l] | static_cast<U>((src[l] & mask) << s));
    std::memcpy(at, words, sizeof(words));
    if (s + w > kT) {
      std::memcpy(words, at + sizeof(words), sizeof(words));
      for (int l = 0; l < kLanes; ++l) {
        words[l] = static_cast<U>(words[l] | static_cast<U>((src[l] & mask) >> (kT - s)));
      }
      std::memcpy(at + sizeof(words), words, sizeof(words));
    }
  }
}

}  // namespace

void FastLanesUnpack(const uint8_t* packed, int t_bits, int w_bits, uint8_t* out) {
  switch (t_bits) {
    case 8: Unpack<uint8_t>(packed, w_bits, out); break;
    case 16: Unpack<uint16_t>(packed, w_bits, reinterpret_cast<uint16_t*>(out)); break;
    case 32: Unpack<uint32_t>(packed, w_bits, reinterpret_cast<uint32_t*>(out)); break;
    default: Unpack<uint64_t>(packed, w_bits, reinterpret_cast<uint64_t*>(out)); break;
  }
}

void FastLanesPack(const uint8_t* values, int t_bits, int w_bits, uint8_t* packed) {
  switch (t_bits) {
    case 8: Pack<uint8_t>(values, w_bits, packed); break;
    case 16: Pack<uint16_t>(reinterpret_cast<const uint16_t*>(values), w_bits, packed); break;
    case 32: Pack<uint32_t>(reinterpret_cast<const uint32_t*>(values), w_bits, packed); break;
    default: Pack<uint64_t>(reinterpret_cast<const uint64_t*>(values), w_bits, packed); break;
  }
}

arrow::Result<FsstTable> FsstTable::Parse(std::span<const uint8_t> bytes) {
  constexpr size_t kBytes = 8 + 256 * 8 + 256;
  if (bytes.size() != kBytes) {
    return arrow::Status::Invalid("FSST symbol table of ", bytes.size(), " bytes, not ", kBytes);
  }
  uint64_t header;
  std::memcpy(&header, bytes.data(), 8);
  if ((header >> 32) != 0x46535354) return arrow::Status::Invalid("FSST symbol table magic");
  FsstTable t;
  t.enabled_ = ((header >> 24) & 1) != 0;
  t.n_ = static_cast<int>(header & 0xff);
  if (t.n_ > 255) return arrow::Status::Invalid("FSST symbol table of 256 symbols");
  for (int i = 0; i < t.n_; ++i) {
    std::memcpy(&t.sym_[i], bytes.data() + 8 + 8 * i, 8);
    t.len_[i] = bytes[8 + 8 * static_cast<size_t>(t.n_) + static_cast<size_t>(i)];
    if (t.len_[i] == 0 || t.len_[i] > 8) {
      return arrow::Status::Invalid("FSST symbol ", i, " of length ", int{t.len_[i]});
    }
  }
  return t;
}

arrow::Status FsstTable::Decode(std::span<const uint8_t> in, std::string* out) const {
  if (!enabled_) {
    out->append(reinterpret_cast<const char*>(in.data()), in.size());
    return arrow::Status::OK();
  }
  for (size_t i = 0; i < in.size(); ++i) {
    const uint8_t c = in[i];
    if (c == 255) {
      if (++i == in.size()) return arrow::Status::Invalid("FSST string ends in an escape");
      out->push_back(static_cast<char>(in[i]));
    } else if (c < n_) {
      out->append(reinterpret_cast<const char*>(&sym_[c]), len_[c]);
    } else {
      return arrow::Status::Invalid("FSST code ", int{c}, " beyond the table's ", n_, " symbols");
    }
  }
  return arrow::Status::OK();
}

}  // namespace ailake::encoding::l21
