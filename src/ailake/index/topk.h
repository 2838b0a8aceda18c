// TopK: the k smallest (distance, row) pairs seen, as a bounded max-heap.
// Ties break by row so results are deterministic across index types.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ailake/index.h"

namespace ailake::index {

inline bool NeighborLess(const Neighbor& a, const Neighbor& b) {
  return a.distance < b.distance || (a.distance == b.distance && a.row < b.row);
}

// NeighborLess as a function object: the heap algorithms inline it, where a
// function pointer is often called per comparison.
struct NeighborOrder {
  bool operator()(const Neighbor& a, const Neighbor& b) const { return NeighborLess(a, b); }
};

class TopK {
 public:
  explicit TopK(uint32_t k) : k_(k) { heap_.reserve(std::min<uint32_t>(k, 4096) + 1); }
  bool full() const { return heap_.size() >= k_; }
  size_t size() const { return heap_.size(); }
  // The distance a new row must beat to enter (+inf until full).
  float threshold() const {
    return full() && k_ > 0 ? heap_.front().distance : std::numeric_limits<float>::infinity();
  }
  void Push(uint32_t row, float distance) {
    if (k_ == 0) return;
    if (distance != distance) distance = std::numeric_limits<float>::infinity();  // NaN last
    const Neighbor n{row, distance};
    // Most pushes of a re-rank lose to the heap's top: that test stays inline.
    if (full() && !NeighborLess(n, heap_.front())) return;
    Insert(n);
  }
  // Ascending by distance; leaves the heap empty.
  std::vector<Neighbor> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), NeighborOrder{});
    return std::move(heap_);
  }

 private:
  // n enters: pushed while the heap is short, else in place of its top.
  [[gnu::noinline]] void Insert(const Neighbor& n) {
    if (!full()) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end(), NeighborOrder{});
    } else {
      std::pop_heap(heap_.begin(), heap_.end(), NeighborOrder{});
      heap_.back() = n;
      std::push_heap(heap_.begin(), heap_.end(), NeighborOrder{});
    }
  }

  uint32_t k_;
  std::vector<Neighbor> heap_;
};

// The cap smallest (score, key) pairs pushed, collected without a heap: a
// pair enters while its score is below the threshold, and when the buffer
// holds 2 cap pairs the cap smallest are kept (nth_element; for 32-bit keys a
// histogram of the scores first, KeepSmallestPacked) and the threshold
// becomes the largest of them. What is kept is the cap smallest pairs by
// (score, key) of everything pushed, except that a pair tying the threshold
// after a pruning no longer enters (as with TopK, the first of equal scores
// stays), at O(1) per push where a heap pays log cap. NaN scores count as
// +inf. 32-bit keys are kept packed with their score in one 64-bit integer
// whose order is (score, key), so the selection compares integers.
template <class Key>
class CandidatePool {
 public:
  struct Entry {
    float score;
    Key key;
    bool operator<(const Entry& o) const {
      return score < o.score || (score == o.score && key < o.key);
    }
  };
  explicit CandidatePool(uint64_t cap) : cap_(cap) {
    buf_.reserve(static_cast<size_t>(std::min<uint64_t>(2 * cap, 8192)));
  }
  size_t size() const { return buf_.size(); }
  // A pair must score below this to enter (+inf until the first pruning).
  float threshold() const { return thr_; }
  // Inline at the scans that call it per row (a call cost 3.5% of an IVF-PQ
  // batch); the pruning is not.
  [[gnu::always_inline]] void Push(Key key, float score) {
    if (cap_ == 0) return;
    if (score != score) score = std::numeric_limits<float>::infinity();
    if (!(score < thr_) && thr_ != std::numeric_limits<float>::infinity()) return;
    buf_.push_back(Pack(score, key));
    if (buf_.size() >= 2 * cap_) Prune();
  }
  // The kept pairs, ascending; leaves the pool empty.
  std::vector<Entry> Take() {
    Prune();
    std::sort(buf_.begin(), buf_.end());
    return Unpacked();
  }
  // The same pairs in no particular order, for a caller that ranks them
  // again (an exact re-ranking); leaves the pool empty.
  std::vector<Entry> TakeUnordered() {
    Prune();
    return Unpacked();
  }

 private:
  static constexpr bool kPacked = sizeof(Key) == 4;
  static constexpr uint32_t kTieMax = 128;  // KeepSmallestPacked's largest bin
  using Stored = std::conditional_t<kPacked, uint64_t, Entry>;

  // (score, key) as one integer in the same order: the score's bits made
  // monotonic (a negative score's bits inverted, a positive one's sign bit
  // set; -0 counts as +0, as the float comparison has it) above the key.
  static Stored Pack(float score, Key key) {
    if constexpr (kPacked) {
      const uint32_t bits = std::bit_cast<uint32_t>(score + 0.0f);
      const uint32_t ordered = (bits & 0x80000000u) != 0 ? ~bits : (bits | 0x80000000u);
      return (uint64_t{ordered} << 32) | key;
    } else {
      return Entry{score, key};
    }
  }
  static Entry Unpack(const Stored& s) {
    if constexpr (kPacked) {
      const auto ordered = static_cast<uint32_t>(s >> 32);
      const uint32_t bits = (ordered & 0x80000000u) != 0 ? (ordered & 0x7fffffffu) : ~ordered;
      return Entry{std::bit_cast<float>(bits), static_cast<Key>(s)};
    } else {
      return s;
    }
  }
  std::vector<Entry> Unpacked() {
    std::vector<Entry> out;
    if constexpr (kPacked) {
      out.reserve(buf_.size());
      for (const Stored& s : buf_) out.push_back(Unpack(s));
      buf_.clear();
    } else {
      out = std::move(buf_);
    }
    return out;
  }
  [[gnu::noinline]] void Prune() {
    if (buf_.size() <= cap_) return;
    if constexpr (kPacked) {
      KeepSmallestPacked();
    } else {
      std::nth_element(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(cap_ - 1), buf_.end());
    }
    thr_ = Unpack(buf_[cap_ - 1]).score;
    buf_.resize(static_cast<size_t>(cap_));
  }

  // Moves the cap_ smallest packed pairs to the front, the largest of them
  // at cap_ - 1. A histogram of the scores' bits (256 bins over their range)
  // finds the bin that holds the cap_-th; the bins below it are kept whole
  // and only that bin is selected among. Pools filled in turn and out of
  // cache, as an IVF-PQ batch fills them, prune 1.07x as fast as with one
  // selection over the whole buffer; one warm pool 0.85x (docs/BENCHMARKS.md,
  // session 25).
  void KeepSmallestPacked() {
    uint32_t lo = ~0u, hi = 0;
    for (const Stored& x : buf_) {
      const auto s = static_cast<uint32_t>(x >> 32);
      lo = std::min(lo, s);
      hi = std::max(hi, s);
    }
    const int shift = std::max(0, static_cast<int>(std::bit_width(hi - lo)) - 8);
    uint32_t count[256] = {};
    for (const Stored& x : buf_) ++count[(static_cast<uint32_t>(x >> 32) - lo) >> shift];
    uint64_t below = 0;
    uint32_t bin = 0;
    while (below + count[bin] < cap_) below += count[bin++];
    // A crowded bin (many equal scores): a selection over all of them.
    if (count[bin] > kTieMax) {
      std::nth_element(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(cap_ - 1), buf_.end());
      return;
    }
    // Bins under `bin` to the front, `bin`'s pairs aside (on the stack: the
    // pools of a batch are many, and a buffer each would double their
    // memory), the rest dropped; without branches, as about half the pairs go
    // each way.
    Stored tie[kTieMax + 1];
    size_t kept = 0, ties = 0;
    for (const Stored& x : buf_) {
      const uint32_t b = (static_cast<uint32_t>(x >> 32) - lo) >> shift;
      buf_[kept] = x;
      kept += b < bin ? 1 : 0;
      tie[ties] = x;
      ties += b == bin ? 1 : 0;
    }
    const size_t need = static_cast<size_t>(cap_) - kept;
    std::nth_element(tie, tie + need - 1, tie + ties);
    // The bin's need-th smallest, the largest kept pair, lands at cap_ - 1.
    std::copy_n(tie, need, buf_.begin() + static_cast<ptrdiff_t>(kept));
  }

  uint64_t cap_;
  float thr_ = std::numeric_limits<float>::infinity();
  std::vector<Stored> buf_;
};

// Rows allowed by `filter` (all rows when null), at most `limit` counted.
inline uint64_t CountAllowed(const RowFilter* filter, uint32_t num_rows) {
  if (filter == nullptr) return num_rows;
  uint64_t n = 0;
  const uint32_t rows = std::min(num_rows, filter->num_rows);
  const size_t words = std::min<size_t>(filter->words.size(), (rows + 63) / 64);
  for (size_t w = 0; w < words; ++w) {
    uint64_t bits = filter->words[w];
    const uint64_t base = static_cast<uint64_t>(w) * 64;
    if (base + 64 > rows) bits &= (rows - base >= 64) ? ~0ull : ((1ull << (rows - base)) - 1);
    n += static_cast<uint64_t>(__builtin_popcountll(bits));
  }
  return n;
}

// Whether row r may be returned (a filter shorter than the index allows nothing
// past its end).
inline bool Allowed(const RowFilter* filter, uint32_t r) {
  if (filter == nullptr) return true;
  return r < filter->num_rows && (r >> 6) < filter->words.size() &&
         ((filter->words[r >> 6] >> (r & 63)) & 1u) != 0;
}

}  // namespace ailake::index
