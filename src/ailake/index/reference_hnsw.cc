// The reference implementation's HNSW blob (docs/REFERENCE_FORMAT.md 5):
// validated on load, searched in place by the walk our own HNSW uses
// (hnsw_search.h), through a layout of u64 links. The blob's f32 vectors are
// used where they lie (unaligned); the only tables built are the byte offset
// of every node's neighbour lists (the record has no per-node offsets) and
// nothing else.
#include <algorithm>
#include <vector>

#include "ailake/index/bincode_cursor.h"
#include "ailake/index/blob.h"
#include "ailake/index/hnsw_graph.h"
#include "ailake/index/hnsw_search.h"
#include "ailake/index/reference_index.h"
#include "ailake/index/topk.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {
namespace {

constexpr const char* kWhat = "reference HNSW blob";
// Levels are floor(-ln U / ln M): 64 would need U < M^-64.
constexpr uint64_t kMaxLevel = 64;

// The reference blob as an HnswLayout (hnsw_search.h): a node's lists are
// found through the offset tables Open builds, links are u64, and nodes map to
// file rows. Open checks every link against n but not its level, so the
// descent skips a link to a node below the level it walks.
struct ReferenceHnswLayout {
  // A [u64 count, count x u64 node] list.
  struct LinkList {
    const uint8_t* words;
    uint64_t count;
    uint64_t size() const { return count; }
    uint32_t operator[](size_t i) const { return static_cast<uint32_t>(LoadU64(words + 8 * i)); }
  };
  static constexpr bool kTiesByRow = true;  // as TopK orders every other search

  const uint8_t* blob = nullptr;
  // n + 1: node i's lists are [first_list[i], first_list[i+1]).
  const uint64_t* first_list = nullptr;
  const uint64_t* list_at = nullptr;  // blob offset of each list's u64 count
  const uint8_t* row_ids = nullptr;   // n u64: file row of node i
  bool identity_rows = true;
  uint32_t rows = 0;
  uint32_t entry_node = 0;
  uint32_t top_level = 0;
  uint32_t degree0 = 0;   // nominal level-0 degree (2 M)
  uint64_t longest0 = 0;  // links in the longest level-0 list

  uint32_t num_nodes() const { return rows; }
  uint32_t entry() const { return entry_node; }
  uint32_t max_level() const { return top_level; }
  uint32_t m0() const { return degree0; }
  uint64_t max_links0() const { return longest0; }
  LinkList Links(uint32_t node, uint32_t level) const {
    const uint8_t* list = blob + list_at[first_list[node] + level];
    return {list + 8, LoadU64(list)};
  }
  void PrefetchLinks(uint32_t node) const { vec::PrefetchLine(blob + list_at[first_list[node]]); }
  bool OnLevel(uint32_t node, uint32_t level) const {
    return first_list[node + 1] - first_list[node] - 1 >= level;
  }
  uint32_t RowOf(uint32_t node) const {
    return identity_rows ? node : static_cast<uint32_t>(LoadU64(row_ids + 8ull * node));
  }
};

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
  uint32_t Level(uint32_t node) const {
    return static_cast<uint32_t>(first_list_[node + 1] - first_list_[node] - 1);
  }
  // The graph as the shared search reads it (pointers into this index).
  ReferenceHnswLayout Layout() const {
    return {.blob = blob_->data(),
            .first_list = first_list_.data(),
            .list_at = list_at_.data(),
            .row_ids = row_ids_,
            .identity_rows = identity_rows_,
            .rows = shape_.num_rows,
            .entry_node = entry_,
            .top_level = max_level_,
            .degree0 = m0_,
            .longest0 = longest0_};
  }
  std::vector<Neighbor> ScanAllowed(const HnswDistance& dist, uint32_t k,
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
  uint32_t m0_ = 32;       // level-0 degree cap, for the filter cost rule
  uint64_t longest0_ = 0;  // longest level-0 list (links), for the search's buffer
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
      if (l == 0) idx->longest0_ = std::max(idx->longest0_, deg);
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

std::vector<Neighbor> ReferenceHnswIndex::ScanAllowed(const HnswDistance& dist, uint32_t k,
                                                      const RowFilter* filter) const {
  const ReferenceHnswLayout graph = Layout();
  TopK top(k);
  for (uint32_t node = 0; node < shape_.num_rows; ++node) {
    const uint32_t row = graph.RowOf(node);
    if (!Allowed(filter, row)) continue;
    const float d = dist(node);
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
  // Exact distances from the blob's f32 vectors (node i is row i of vectors_).
  HnswDistance dist(shape_.metric, vectors_, nullptr);
  dist.SetQuery(query.data());
  return SearchHnsw(Layout(), dist, ef, k, filter, [&] { return ScanAllowed(dist, k, filter); });
}

}  // namespace

arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceHnsw(std::shared_ptr<arrow::Buffer> blob,
                                                              const ReferenceBlobShape& shape) {
  if (blob == nullptr) return arrow::Status::Invalid(kWhat, ": null");
  ARROW_ASSIGN_OR_RAISE(auto idx, ReferenceHnswIndex::Open(std::move(blob), shape));
  return std::unique_ptr<VectorIndex>(std::move(idx));
}

}  // namespace ailake::index
