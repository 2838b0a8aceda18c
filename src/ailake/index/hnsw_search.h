// The one HNSW search, written once over a graph layout: our blob
// (hnsw_index.cc: u32 links, node = row) and the reference implementation's
// (reference_hnsw.cc: u64 links, nodes mapped to rows) each supply a layout and
// share the walk, its stop rule, its tie order and the filter fallback.
//
// The walk: greedy descent (beam 1) through the upper levels, then a beam of
// width ef on level 0 with the classic stop rule (the nearest unexpanded
// candidate is farther than the ef-th best). A filter admits results only: a
// refused row is still expanded, so the walk crosses regions the filter empties.
//
// A layout is a small value type, copied into the search so that its fields
// stay in registers across the heap writes of the hot loop.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <vector>

#include "ailake/index/hnsw_graph.h"
#include "ailake/index/topk.h"

namespace ailake::index {

template <class G>
concept HnswLayout = std::copyable<G> && requires(const G g, uint32_t node, uint32_t level) {
  { g.num_nodes() } -> std::same_as<uint32_t>;
  { g.entry() } -> std::same_as<uint32_t>;      // where every search starts
  { g.max_level() } -> std::same_as<uint32_t>;  // the entry's level
  // Nominal level-0 degree, for the filter cost rule.
  { g.m0() } -> std::same_as<uint32_t>;
  // Upper bound on the length of any level-0 list (sizes the search's buffer).
  { g.max_links0() } -> std::convertible_to<size_t>;
  // The node's list at `level` (<= the node's level): size(), operator[](i).
  { g.Links(node, level).size() } -> std::convertible_to<size_t>;
  { g.Links(node, level)[size_t{0}] } -> std::same_as<uint32_t>;
  // Starts loading the node's level-0 list.
  g.PrefetchLinks(node);
  // Whether a node reached by an upper-level link has that level (layouts
  // whose loader checked every link say true).
  { g.OnLevel(node, level) } -> std::same_as<bool>;
  // The file row of a node: results and RowFilter bits are rows.
  { g.RowOf(node) } -> std::same_as<uint32_t>;
  // Equal distances ordered by row (TopK) or left in the beam's order.
  { G::kTiesByRow } -> std::convertible_to<bool>;
};

// `dist(node)`: distance from the query to the node's vector (lower = closer);
// `dist.Many(nodes, n, out)`: the same for n nodes at once; `dist.Prefetch(node)`
// starts loading that vector.
template <class D>
concept HnswNodeDistance = requires(const D d, uint32_t node, const uint32_t* nodes, float* out) {
  { d(node) } -> std::same_as<float>;
  d.Many(nodes, size_t{1}, out);
  d.Prefetch(node);
};

// Greedy descent then the level-0 beam; the k nearest allowed rows the walk
// reaches (fewer when the filter refuses most of them), ascending. (k up to
// ef: a walk on approximate distances keeps its whole beam for re-ranking.)
template <HnswLayout Graph, HnswNodeDistance Distance>
std::vector<Neighbor> SearchHnswGraph(const Graph graph, const Distance& dist, uint32_t ef,
                                      uint32_t k, const RowFilter* filter) {
  // One set of buffers per thread and layout, reused across searches.
  thread_local VisitedTable visited;
  thread_local std::vector<Candidate> cand, top;
  thread_local std::vector<uint32_t> fresh;
  thread_local std::vector<float> fresh_d;
  auto reserve = [](size_t n) {
    if (fresh.size() < n) {
      fresh.resize(n);
      fresh_d.resize(n);
    }
  };
  reserve(graph.max_links0());

  uint32_t cur = graph.entry();
  float cur_d = dist(cur);
  for (uint32_t level = graph.max_level(); level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const auto links = graph.Links(cur, level);
      const size_t count = links.size();
      reserve(count);
      size_t nu = 0;
      for (size_t i = 0; i < count; ++i) {
        const uint32_t nb = links[i];
        fresh[nu] = nb;
        nu += graph.OnLevel(nb, level) ? 1 : 0;
      }
      for (size_t i = 0; i < nu; ++i) dist.Prefetch(fresh[i]);
      dist.Many(fresh.data(), nu, fresh_d.data());
      for (size_t i = 0; i < nu; ++i) {
        if (fresh_d[i] < cur_d) {
          cur_d = fresh_d[i];
          cur = fresh[i];
          changed = true;
        }
      }
    }
  }

  visited.Reset(graph.num_nodes());
  cand.clear();
  top.clear();
  visited.Mark(cur);
  cand.push_back({cur_d, cur});
  if (Allowed(filter, graph.RowOf(cur))) top.push_back({cur_d, cur});
  while (!cand.empty()) {
    const Candidate c = cand.front();
    if (top.size() >= ef && c.d > top.front().d) break;
    std::pop_heap(cand.begin(), cand.end(), CloserFirst{});
    cand.pop_back();
    // The next node to expand is most likely the new nearest candidate: its
    // list loads while this node's neighbours are scored.
    if (!cand.empty()) graph.PrefetchLinks(cand.front().id);
    const auto links = graph.Links(c.id, 0);
    const size_t count = links.size();
    // Unvisited neighbours first (the table also drops self and repeated
    // links), all their vectors prefetched, then their distances.
    size_t nf = 0;
    // (Branch-free: whether a neighbour is new is a coin toss to the
    // predictor.)
    for (size_t i = 0; i < count; ++i) {
      const uint32_t nb = links[i];
      fresh[nf] = nb;
      nf += visited.Mark(nb) ? 1 : 0;
    }
    for (size_t i = 0; i < nf; ++i) dist.Prefetch(fresh[i]);
    dist.Many(fresh.data(), nf, fresh_d.data());
    for (size_t i = 0; i < nf; ++i) {
      const uint32_t nb = fresh[i];
      const float d = fresh_d[i];
      if (top.size() < ef || d < top.front().d) {
        cand.push_back({d, nb});
        std::push_heap(cand.begin(), cand.end(), CloserFirst{});
        if (filter != nullptr && !Allowed(filter, graph.RowOf(nb))) continue;
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
  if constexpr (Graph::kTiesByRow) {
    TopK out(k);
    for (const Candidate& t : top) out.Push(graph.RowOf(t.id), t.d);
    return out.Take();
  } else {
    std::vector<Neighbor> out;
    out.reserve(std::min<size_t>(k, top.size()));
    for (size_t i = 0; i < top.size() && i < k; ++i) {
      out.push_back({graph.RowOf(top[i].id), top[i].d});
    }
    return out;
  }
}

// The k nearest rows `filter` allows (all when null), by the walk or, when
// the filter is selective, by `scan_allowed()`: the index's exact scan of the
// allowed rows, returning std::vector<Neighbor>. ef >= k. The walk returns
// up to `pool` rows (k <= pool <= ef; 0 = k): the candidates a caller
// re-ranks; the scan returns k.
template <HnswLayout Graph, HnswNodeDistance Distance, class Scan>
std::vector<Neighbor> SearchHnsw(const Graph& graph, const Distance& dist, uint32_t ef, uint32_t k,
                                 const RowFilter* filter, const Scan& scan_allowed,
                                 uint32_t pool = 0) {
  pool = std::max(pool, k);
  if (filter == nullptr) return SearchHnswGraph(graph, dist, ef, pool, nullptr);
  const uint32_t n = graph.num_nodes();
  const uint64_t allowed = CountAllowed(filter, n);
  if (allowed == 0) return {};
  // A walk under a filter of selectivity s = allowed / n visits about
  // ef * m0 / s rows; a scan of the allowed rows costs `allowed`. Scan when
  // allowed^2 <= ef * m0 * n.
  if (static_cast<double>(allowed) * static_cast<double>(allowed) <=
      static_cast<double>(ef) * graph.m0() * n) {
    return scan_allowed();
  }
  std::vector<Neighbor> out = SearchHnswGraph(graph, dist, ef, pool, filter);
  // The walk could not reach k allowed rows: the contract is min(k, allowed).
  if (out.size() < std::min<uint64_t>(k, allowed)) return scan_allowed();
  return out;
}

}  // namespace ailake::index
