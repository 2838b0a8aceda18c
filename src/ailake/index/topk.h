// TopK: the k smallest (distance, row) pairs seen, as a bounded max-heap.
// Ties break by row so results are deterministic across index types.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
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
    if (!full()) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end(), NeighborOrder{});
    } else if (NeighborLess(n, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), NeighborOrder{});
      heap_.back() = n;
      std::push_heap(heap_.begin(), heap_.end(), NeighborOrder{});
    }
  }
  // Ascending by distance; leaves the heap empty.
  std::vector<Neighbor> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), NeighborOrder{});
    return std::move(heap_);
  }

 private:
  uint32_t k_;
  std::vector<Neighbor> heap_;
};

// The cap smallest (score, key) pairs pushed, collected without a heap: a
// pair enters while its score is below the threshold, and when the buffer
// holds 2 cap pairs the cap smallest are kept (nth_element) and the threshold
// becomes the largest of them. What is kept is the cap smallest pairs by
// (score, key) of everything pushed, except that a pair tying the threshold
// after a pruning no longer enters (as with TopK, the first of equal scores
// stays), at O(1) per push where a heap pays log cap. NaN scores count as
// +inf.
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
  void Push(Key key, float score) {
    if (cap_ == 0) return;
    if (score != score) score = std::numeric_limits<float>::infinity();
    if (!(score < thr_) && thr_ != std::numeric_limits<float>::infinity()) return;
    buf_.push_back({score, key});
    if (buf_.size() >= 2 * cap_) Prune();
  }
  // The kept pairs, ascending; leaves the pool empty.
  std::vector<Entry> Take() {
    Prune();
    std::sort(buf_.begin(), buf_.end());
    return std::move(buf_);
  }
  // The same pairs in no particular order, for a caller that ranks them
  // again (an exact re-ranking); leaves the pool empty.
  std::vector<Entry> TakeUnordered() {
    Prune();
    return std::move(buf_);
  }

 private:
  void Prune() {
    if (buf_.size() <= cap_) return;
    std::nth_element(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(cap_ - 1), buf_.end());
    thr_ = buf_[cap_ - 1].score;
    buf_.resize(static_cast<size_t>(cap_));
  }

  uint64_t cap_;
  float thr_ = std::numeric_limits<float>::infinity();
  std::vector<Entry> buf_;
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
