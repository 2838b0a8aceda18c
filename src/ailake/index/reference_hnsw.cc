// The reference implementation's HNSW blob (docs/REFERENCE_FORMAT.md 5):
// validated on load, searched in place. The blob's f32 vectors are used where
// they lie (unaligned); the only tables built are the byte offset of every
// node's neighbour lists (the record has no per-node offsets) and nothing else.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ailake/index/bincode_cursor.h"
#include "ailake/index/blob.h"
#include "ailake/index/hnsw_graph.h"
#include "ailake/index/reference_index.h"
#include "ailake/index/topk.h"
#include "ailake/vec/distance.h"

namespace ailake::index {
namespace {

constexpr const char* kWhat = "reference HNSW blob";
// Levels are floor(-ln U / ln M): 64 would need U < M^-64.
constexpr uint64_t kMaxLevel = 64;

class ReferenceHnswIndex final : public VectorIndex {
 public:
  IndexType type() const override { return IndexType::kHnsw; }
  DistanceMetric metric() const override { return shape_.metric; }
  uint32_t dim() const override { return shape_.dim; }
  uint32_t size() const override { return shape_.num_rows; }

  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                              const SearchParams& params,
                                              const RowFilter* filter) const override;

  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override {
    return arrow::Status::NotImplemented(
        "a reference (format_version 1) HNSW index is read in place; it has no ailake blob");
  }

  static arrow::Result<std::unique_ptr<ReferenceHnswIndex>> Open(
      std::shared_ptr<arrow::Buffer> blob, const ReferenceBlobShape& shape);

 private:
  uint32_t RowOf(uint32_t node) const {
    return identity_rows_ ? node : static_cast<uint32_t>(LoadU64(row_ids_ + 8ull * node));
  }
  uint32_t Level(uint32_t node) const {
    return static_cast<uint32_t>(first_list_[node + 1] - first_list_[node] - 1);
  }
  // The [u64 count, count x u64 node] list of `node` at `level` (<= Level(node)).
  const uint8_t* Links(uint32_t node, uint32_t level) const {
    return blob_->data() + list_at_[first_list_[node] + level];
  }
  std::vector<Neighbor> SearchGraph(const vec::QueryScorer& scorer, uint32_t ef, uint32_t k,
                                    const RowFilter* filter) const;
  std::vector<Neighbor> ScanAllowed(const vec::QueryScorer& scorer, uint32_t k,
                                    const RowFilter* filter) const;

  std::shared_ptr<arrow::Buffer> blob_;
  ReferenceBlobShape shape_;
  VectorView vectors_;                // node i's vector is row i
  const uint8_t* row_ids_ = nullptr;  // n u64: file row of node i
  bool identity_rows_ = true;
  std::vector<uint64_t>
      first_list_;                 // n + 1: node i's lists are [first_list_[i], first_list_[i+1])
  std::vector<uint64_t> list_at_;  // blob offset of each list's u64 count
  uint32_t entry_ = 0;
  uint32_t max_level_ = 0;
  uint32_t m0_ = 32;  // level-0 degree cap, for the filter cost rule
};

arrow::Result<std::unique_ptr<ReferenceHnswIndex>> ReferenceHnswIndex::Open(
    std::shared_ptr<arrow::Buffer> blob, const ReferenceBlobShape& shape) {
  auto idx = std::make_unique<ReferenceHnswIndex>();
  const uint8_t* p = blob->data();
  BincodeCursor c(p, static_cast<uint64_t>(blob->size()), kWhat);
  const uint64_t n = shape.num_rows;
  const uint32_t d = shape.dim;
  if (d == 0) return c.Error("dim", "0");

  ARROW_ASSIGN_OR_RAISE(const uint64_t m, c.U64("m"));
  ARROW_RETURN_NOT_OK(c.U64("ef_construction").status());
  ARROW_RETURN_NOT_OK(c.U64("max_elements").status());
  ARROW_ASSIGN_OR_RAISE(const uint8_t metric, c.U8("metric"));
  if (metric != static_cast<uint8_t>(shape.metric)) {
    return c.Error("metric", "code ", int{metric}, ", the section header says ",
                   MetricName(shape.metric));
  }
  ARROW_ASSIGN_OR_RAISE(const uint32_t dim, c.U32("dim"));
  if (dim != d) return c.Error("dim", dim, ", the section header says ", d);
  idx->m0_ = static_cast<uint32_t>(std::clamp<uint64_t>(2 * std::min<uint64_t>(m, 1024), 2, 2048));

  // row_ids: a permutation of 0..n-1 (0..n-1 in order in every file seen).
  ARROW_ASSIGN_OR_RAISE(const uint64_t ids, c.VecLen("row_ids", 8));
  if (ids != n) return c.Error("row_ids", ids, " ids for ", n, " rows");
  idx->row_ids_ = c.here();
  {
    std::vector<bool> seen(n, false);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t r = LoadU64(idx->row_ids_ + 8 * i);
      if (r >= n || seen[r]) {
        return c.Error("row_ids", "node ", i, " has row id ", r,
                       r >= n ? " past the last row" : ", already used");
      }
      seen[r] = true;
      idx->identity_rows_ = idx->identity_rows_ && r == i;
    }
  }
  ARROW_RETURN_NOT_OK(c.Skip("row_ids", 8 * n));

  // flat_vecs: n x d f32, used in place.
  ARROW_ASSIGN_OR_RAISE(const uint64_t floats, c.VecLen("flat_vecs", 4));
  if (floats != n * d) return c.Error("flat_vecs", floats, " floats, expected ", n, " x ", d);
  ARROW_ASSIGN_OR_RAISE(idx->vectors_, VectorView::Contiguous(Precision::kF32, d, Int8Params{},
                                                              c.here(), static_cast<uint32_t>(n)));
  ARROW_RETURN_NOT_OK(c.Skip("flat_vecs", 4 * floats));

  // neighbors: per node, its levels' lists; every link < n.
  ARROW_ASSIGN_OR_RAISE(const uint64_t nodes, c.VecLen("neighbors", 8));
  if (nodes != n) return c.Error("neighbors", nodes, " nodes for ", n, " rows");
  idx->first_list_.reserve(n + 1);
  idx->first_list_.push_back(0);
  for (uint64_t i = 0; i < n; ++i) {
    ARROW_ASSIGN_OR_RAISE(const uint64_t levels, c.VecLen("neighbors[i]", 8));
    if (levels == 0 || levels > kMaxLevel + 1) {
      return c.Error("neighbors[i]", "node ", i, " has ", levels, " levels");
    }
    for (uint64_t l = 0; l < levels; ++l) {
      idx->list_at_.push_back(c.pos());
      ARROW_ASSIGN_OR_RAISE(const uint64_t deg, c.VecLen("neighbors[i][l]", 8));
      for (uint64_t j = 0; j < deg; ++j) {
        const uint64_t nb = LoadU64(c.here() + 8 * j);
        if (nb >= n) {
          return c.Error("neighbors[i][l]", "node ", i, " level ", l, " links to ", nb,
                         ", past the last node");
        }
      }
      ARROW_RETURN_NOT_OK(c.Skip("neighbors[i][l]", 8 * deg));
    }
    idx->first_list_.push_back(idx->list_at_.size());
  }

  // node_levels must repeat the list counts.
  ARROW_ASSIGN_OR_RAISE(const uint64_t nl, c.VecLen("node_levels", 8));
  if (nl != n) return c.Error("node_levels", nl, " levels for ", n, " nodes");
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t level = LoadU64(c.here() + 8 * i);
    if (level != idx->Level(static_cast<uint32_t>(i))) {
      return c.Error("node_levels", "node ", i, " has level ", level, " but ",
                     idx->Level(static_cast<uint32_t>(i)) + 1, " neighbour lists");
    }
  }
  ARROW_RETURN_NOT_OK(c.Skip("node_levels", 8 * n));

  ARROW_ASSIGN_OR_RAISE(const uint8_t has_entry, c.U8("entry_point"));
  uint64_t entry = 0;
  if (has_entry > 1) return c.Error("entry_point", "option tag ", int{has_entry});
  if (has_entry == 1) {
    ARROW_ASSIGN_OR_RAISE(entry, c.U64("entry_point"));
  }
  ARROW_ASSIGN_OR_RAISE(const uint64_t max_layer, c.U64("max_layer"));
  if (c.left() != 0) return c.Error("end", c.left(), " bytes after the record");
  if (n > 0) {
    if (has_entry == 0 || entry >= n) {
      return c.Error("entry_point", has_entry ? "node " : "none", has_entry ? entry : 0, " for ", n,
                     " nodes");
    }
    if (idx->Level(static_cast<uint32_t>(entry)) != max_layer) {
      return c.Error("max_layer", max_layer, " but the entry point's level is ",
                     idx->Level(static_cast<uint32_t>(entry)));
    }
  }
  idx->entry_ = static_cast<uint32_t>(entry);
  idx->max_level_ = static_cast<uint32_t>(max_layer);
  idx->shape_ = shape;
  idx->blob_ = std::move(blob);
  return idx;
}

// Greedy descent (beam 1) through the upper levels, then a beam of width ef
// at level 0 with the classic stop rule; the filter admits results only.
std::vector<Neighbor> ReferenceHnswIndex::SearchGraph(const vec::QueryScorer& scorer, uint32_t ef,
                                                      uint32_t k, const RowFilter* filter) const {
  auto dist = [&](uint32_t node) { return scorer.Distance(vectors_.Row(node)); };
  uint32_t cur = entry_;
  float cur_d = dist(cur);
  for (uint32_t level = max_level_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint8_t* links = Links(cur, level);
      const uint64_t count = LoadU64(links);
      for (uint64_t i = 0; i < count; ++i) {
        const auto nb = static_cast<uint32_t>(LoadU64(links + 8 + 8 * i));
        if (Level(nb) < level) continue;  // not on this level (never seen; tolerated)
        const float d = dist(nb);
        if (d < cur_d) {
          cur_d = d;
          cur = nb;
          changed = true;
        }
      }
    }
  }

  thread_local VisitedTable visited;
  thread_local std::vector<Candidate> cand, top;
  visited.Reset(shape_.num_rows);
  cand.clear();
  top.clear();
  visited.Mark(cur);
  cand.push_back({cur_d, cur});
  if (Allowed(filter, RowOf(cur))) top.push_back({cur_d, cur});
  while (!cand.empty()) {
    const Candidate c = cand.front();
    if (top.size() >= ef && c.d > top.front().d) break;
    std::pop_heap(cand.begin(), cand.end(), CloserFirst{});
    cand.pop_back();
    const uint8_t* links = Links(c.id, 0);
    const uint64_t count = LoadU64(links);
    for (uint64_t i = 0; i < count; ++i) {
      const auto nb = static_cast<uint32_t>(LoadU64(links + 8 + 8 * i));
      if (!visited.Mark(nb)) continue;  // also drops self-links and repeated links
      const float d = dist(nb);
      if (top.size() < ef || d < top.front().d) {
        cand.push_back({d, nb});
        std::push_heap(cand.begin(), cand.end(), CloserFirst{});
        if (filter != nullptr && !Allowed(filter, RowOf(nb))) continue;
        top.push_back({d, nb});
        std::push_heap(top.begin(), top.end(), FartherFirst{});
        if (top.size() > ef) {
          std::pop_heap(top.begin(), top.end(), FartherFirst{});
          top.pop_back();
        }
      }
    }
  }
  std::sort_heap(top.begin(), top.end(), FartherFirst{});
  TopK out(k);  // ties by row, like every other index
  for (const Candidate& t : top) out.Push(RowOf(t.id), t.d);
  return out.Take();
}

std::vector<Neighbor> ReferenceHnswIndex::ScanAllowed(const vec::QueryScorer& scorer, uint32_t k,
                                                      const RowFilter* filter) const {
  TopK top(k);
  for (uint32_t node = 0; node < shape_.num_rows; ++node) {
    const uint32_t row = RowOf(node);
    if (!Allowed(filter, row)) continue;
    const float d = scorer.Distance(vectors_.Row(node));
    if (d < top.threshold() || !top.full()) top.Push(row, d);
  }
  return top.Take();
}

arrow::Result<std::vector<Neighbor>> ReferenceHnswIndex::Search(std::span<const float> query,
                                                                uint32_t k,
                                                                const SearchParams& params,
                                                                const RowFilter* filter) const {
  if (query.size() != shape_.dim) {
    return arrow::Status::Invalid("reference HNSW search: query has ", query.size(),
                                  " floats, index dim is ", shape_.dim);
  }
  const uint32_t n = shape_.num_rows;
  if (n == 0 || k == 0) return std::vector<Neighbor>{};
  const uint32_t ef = std::max(params.ef != 0 ? params.ef : kReferenceHnswDefaultEf, k);
  vec::QueryScorer scorer(shape_.metric, Precision::kF32, shape_.dim, Int8Params{});
  scorer.SetQuery(query.data());
  if (filter != nullptr) {
    const uint64_t allowed = CountAllowed(filter, n);
    if (allowed == 0) return std::vector<Neighbor>{};
    // The rule of our own HNSW: a walk under selectivity allowed / n visits
    // about ef * m0 * n / allowed rows; scanning the allowed ones is cheaper
    // when allowed^2 <= ef * m0 * n.
    if (static_cast<double>(allowed) * static_cast<double>(allowed) <=
        static_cast<double>(ef) * m0_ * n) {
      return ScanAllowed(scorer, k, filter);
    }
    std::vector<Neighbor> out = SearchGraph(scorer, ef, k, filter);
    if (out.size() < std::min<uint64_t>(k, allowed)) return ScanAllowed(scorer, k, filter);
    return out;
  }
  return SearchGraph(scorer, ef, k, nullptr);
}

}  // namespace

arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceHnsw(std::shared_ptr<arrow::Buffer> blob,
                                                              const ReferenceBlobShape& shape) {
  if (blob == nullptr) return arrow::Status::Invalid(kWhat, ": null");
  ARROW_ASSIGN_OR_RAISE(auto idx, ReferenceHnswIndex::Open(std::move(blob), shape));
  return std::unique_ptr<VectorIndex>(std::move(idx));
}

}  // namespace ailake::index
