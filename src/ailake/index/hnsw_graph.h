// The HNSW graph as it sits in a blob (docs/FORMAT.md 3.3), readable at any
// alignment, and the distance functor the builder and the searcher share.
//
// level0       num_rows x (1 + m0) u32: [count, link_0 .. link_{m0-1}] per row
// upper_index  num_rows u32: word offset of the row's upper block, or kNoUpper
// upper        u32 words; a row's block is [L, then L x (1 + m) for levels 1..L]
#pragma once

#include <cstdint>
#include <vector>

#include "ailake/index.h"
#include "ailake/index/blob.h"
#include "ailake/vec/codec.h"
#include "ailake/vec/distance.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {

inline constexpr uint32_t kNoUpper = 0xffffffffu;
inline constexpr uint32_t kNoNode = 0xffffffffu;
inline constexpr uint32_t kMaxHnswLevel = 32;

struct HnswGraphRef {
  const uint8_t* level0 = nullptr;
  const uint8_t* upper_index = nullptr;
  const uint8_t* upper = nullptr;
  uint32_t m = 0;
  uint32_t m0 = 0;

  // Pointer to the [count, links...] list of `node` at `level` (the level must
  // exist for the node; loaders check every link against that).
  const uint8_t* Links(uint32_t node, uint32_t level) const {
    if (level == 0) return level0 + static_cast<size_t>(node) * (1 + m0) * 4;
    const uint32_t off = LoadU32(upper_index + static_cast<size_t>(node) * 4);
    return upper + (static_cast<size_t>(off) + 1 + static_cast<size_t>(level - 1) * (1 + m)) * 4;
  }
  uint32_t Level(uint32_t node) const {
    const uint32_t off = LoadU32(upper_index + static_cast<size_t>(node) * 4);
    return off == kNoUpper ? 0 : LoadU32(upper + static_cast<size_t>(off) * 4);
  }
};

// Distance from the current query to a row, under the index's metric. Cosine
// uses the stored 1/|v| so each evaluation is one dot product.
class HnswDistance {
 public:
  HnswDistance(DistanceMetric metric, const VectorView& view, const uint8_t* inv_norms)
      : view_(&view),
        inv_norms_(inv_norms),
        scorer_(metric, view.precision(), view.dim(), view.int8()) {}
  void SetQuery(const float* q) { scorer_.SetQuery(q); }
  float operator()(uint32_t r) const {
    const uint8_t* row = view_->Row(r);
    if (inv_norms_ != nullptr) {
      return scorer_.CosineWithInvNorm(row, LoadF32(inv_norms_ + static_cast<size_t>(r) * 4));
    }
    return scorer_.Distance(row);
  }
  void Many(const uint32_t* rows, size_t n, float* out) const {
    for (size_t j = 0; j < n; ++j) out[j] = (*this)(rows[j]);
  }
  const VectorView& view() const { return *view_; }
  // Starts loading row r (every cache line of it, up to kPrefetchBytes) so a
  // batch of neighbours is fetched in parallel before their distances.
  void Prefetch(uint32_t r) const {
    vec::PrefetchBytes(view_->Row(r), std::min<size_t>(view_->row_bytes(), kPrefetchBytes));
  }
  static constexpr size_t kPrefetchBytes = 1024;

 private:
  const VectorView* view_;
  const uint8_t* inv_norms_;
  vec::QueryScorer scorer_;
};

// Visited marks: one bit per node (an eighth of a u16 tag table, so a walk's
// marks stay in the first cache levels), and each word a search set, listed
// once, so a reset clears only those (a walk touches a few thousand of n
// nodes).
class VisitedTable {
 public:
  void Reset(uint32_t n) {
    const size_t words = (static_cast<size_t>(n) + 63) / 64;
    if (bits_.size() < words) {
      bits_.assign(words, 0);
      touched_.assign(words + 1, 0);  // + 1: Mark writes one slot past the count
      count_ = 0;
      return;
    }
    if (count_ > words / 8) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      for (size_t i = 0; i < count_; ++i) bits_[touched_[i]] = 0;
    }
    count_ = 0;
  }
  // True when newly marked. No branch: the word's index is always written
  // to the next slot, and kept (the count moves) only when the word was
  // empty before.
  bool Mark(uint32_t r) {
    uint64_t& word = bits_[r >> 6];
    const uint64_t old = word, bit = uint64_t{1} << (r & 63);
    word = old | bit;
    touched_[count_] = r >> 6;
    count_ += old == 0 ? 1 : 0;
    return (old & bit) == 0;
  }

 private:
  std::vector<uint64_t> bits_;
  std::vector<uint32_t> touched_;  // words set since the last reset, count_ of them
  size_t count_ = 0;
};

struct Candidate {
  float d;
  uint32_t id;
};
struct CloserFirst {  // min-heap on distance for std::*_heap
  bool operator()(const Candidate& a, const Candidate& b) const { return a.d > b.d; }
};
struct FartherFirst {  // max-heap on distance
  bool operator()(const Candidate& a, const Candidate& b) const { return a.d < b.d; }
};

}  // namespace ailake::index
