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
