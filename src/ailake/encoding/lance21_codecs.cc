#include "ailake/encoding/lance21_codecs.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

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
  std::memset(packed, 0, size_t{128} * static_cast<size_t>(w));
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
  t.Index();
  return t;
}

arrow::Status FsstTable::Decode(std::span<const uint8_t> in, std::string* out) const {
  if (!enabled_) {
    out->append(reinterpret_cast<const char*>(in.data()), in.size());
    return arrow::Status::OK();
  }
  // The decoded length first (checking every code), then 8-byte stores of
  // whole symbols into room for them.
  size_t len = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const uint8_t c = in[i];
    if (c == 255) {
      if (++i == in.size()) return arrow::Status::Invalid("FSST string ends in an escape");
      ++len;
    } else if (c < n_) {
      len += len_[c];
    } else {
      return arrow::Status::Invalid("FSST code ", int{c}, " beyond the table's ", n_, " symbols");
    }
  }
  const size_t at = out->size();
  out->resize(at + len + 8);
  char* dst = out->data() + at;
  for (size_t i = 0; i < in.size(); ++i) {
    const uint8_t c = in[i];
    if (c == 255) {
      *dst++ = static_cast<char>(in[++i]);
    } else {
      std::memcpy(dst, &sym_[c], 8);
      dst += len_[c];
    }
  }
  out->resize(at + len);
  return arrow::Status::OK();
}

}  // namespace ailake::encoding::l21

namespace ailake::encoding::l21 {

void FsstTable::Index() {
  for (auto& v : by_first_) v.clear();
  for (int c = 0; c < n_; ++c) by_first_[sym_[c] & 0xff].push_back(static_cast<uint8_t>(c));
  for (auto& v : by_first_) {
    std::stable_sort(v.begin(), v.end(), [&](uint8_t a, uint8_t b) { return len_[a] > len_[b]; });
  }
}

void FsstTable::Encode(std::string_view in, std::string* out) const {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  for (size_t i = 0; i < n;) {
    const size_t left = n - i;
    uint64_t here = 0;
    std::memcpy(&here, p + i, std::min<size_t>(8, left));
    int best = -1;
    for (uint8_t c : by_first_[p[i]]) {
      const int len = len_[c];
      if (static_cast<size_t>(len) > left) continue;
      const uint64_t mask = len == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1;
      if ((here & mask) == sym_[c]) {
        best = c;
        break;  // longest first
      }
    }
    if (best < 0) {
      out->push_back(static_cast<char>(255));
      out->push_back(static_cast<char>(p[i]));
      ++i;
    } else {
      out->push_back(static_cast<char>(best));
      i += len_[best];
    }
  }
}

FsstTable FsstTable::Train(const std::vector<std::string_view>& sample) {
  FsstTable t;
  t.Index();
  // Candidates keyed by their bytes (at most 8, packed little-endian) and length.
  struct Key {
    uint64_t bytes;
    uint8_t len;
    bool operator==(const Key& o) const { return bytes == o.bytes && len == o.len; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.bytes * 31 + k.len); }
  };
  for (int round = 0; round < 5; ++round) {
    std::unordered_map<Key, uint64_t, KeyHash> gain;
    for (std::string_view s : sample) {
      const auto* p = reinterpret_cast<const uint8_t*>(s.data());
      Key prev{0, 0};
      for (size_t i = 0; i < s.size();) {
        // The symbol the current table would use here (or the byte).
        Key cur{p[i], 1};
        const size_t left = s.size() - i;
        uint64_t here = 0;
        std::memcpy(&here, p + i, std::min<size_t>(8, left));
        for (uint8_t c : t.by_first_[p[i]]) {
          const int len = t.len_[c];
          if (static_cast<size_t>(len) > left) continue;
          const uint64_t mask = len == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1;
          if ((here & mask) == t.sym_[c]) {
            cur = {t.sym_[c], static_cast<uint8_t>(len)};
            break;
          }
        }
        gain[cur] += cur.len;
        if (prev.len > 0 && prev.len + cur.len <= 8) {
          const Key pair{prev.bytes | (cur.bytes << (8 * prev.len)),
                         static_cast<uint8_t>(prev.len + cur.len)};
          gain[pair] += pair.len;
        }
        prev = cur;
        i += cur.len;
      }
    }
    // Keep the 255 candidates that replace the most bytes; a single byte
    // gains only what its escape would have cost (one byte per use).
    std::vector<std::pair<uint64_t, Key>> ranked;
    ranked.reserve(gain.size());
    for (const auto& [k, g] : gain) {
      ranked.emplace_back(k.len == 1 ? g / 2 : g, k);
    }
    const size_t keep = std::min<size_t>(255, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                      ranked.end(), [](const auto& a, const auto& b) {
                        if (a.first != b.first) return a.first > b.first;
                        if (a.second.len != b.second.len) return a.second.len > b.second.len;
                        return a.second.bytes < b.second.bytes;
                      });
    t.n_ = static_cast<int>(keep);
    for (size_t c = 0; c < keep; ++c) {
      t.sym_[c] = ranked[c].second.bytes;
      t.len_[c] = ranked[c].second.len;
    }
    t.Index();
  }
  return t;
}

std::string FsstTable::Serialize() const {
  std::string out(8 + 256 * 8 + 256, '\0');
  const uint64_t header = (uint64_t{0x46535354} << 32) | (uint64_t{enabled_ ? 1u : 0u} << 24) |
                          static_cast<uint64_t>(n_);
  std::memcpy(out.data(), &header, 8);
  for (int c = 0; c < n_; ++c) {
    std::memcpy(out.data() + 8 + 8 * c, &sym_[c], 8);
    out[8 + 8 * static_cast<size_t>(n_) + static_cast<size_t>(c)] = static_cast<char>(len_[c]);
  }
  return out;
}

}  // namespace ailake::encoding::l21
