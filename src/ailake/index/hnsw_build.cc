// Multi-threaded, deterministic HNSW construction. Rows are inserted in
// batches, in row order: every row of a batch searches the graph as it stood
// before the batch (in parallel: the graph is read-only meanwhile) and picks
// its neighbours; then the batch's links are written, each row's own lists
// in parallel and the back-links grouped by the row they land on, applied
// in row order (in parallel across those rows). Nothing depends on thread
// scheduling, so the graph is a function of the vectors and the seed alone,
// whatever the thread count. Batches grow with the graph (a batch is at most
// 1/kBatchDivisor of the rows already in it); the earlier rows of its own
// batch, not in the graph yet, are candidates of a row as well (as they
// would be to a row inserted after them: without that, near-duplicate rows
// of one batch, common in real text embeddings, ended up unlinked and recall
// fell from 0.966 to 0.927 at ef 64 on Debian MiniLM embeddings). A row that
// raises the top level is inserted alone. The lists are built directly
// in the blob layout (hnsw_graph.h), so serializing is a copy.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <tuple>

#include "ailake/core/large_buffer.h"
#include "ailake/index/hnsw_codes.h"
#include "ailake/index/hnsw_graph.h"
#include "ailake/index/hnsw_index.h"
#include "ailake/index/hnsw_order.h"
#include "ailake/vec/parallel.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Level of a row: floor(-ln(u) / ln(m)), u uniform in (0, 1], from (seed, row)
// so the graph does not depend on thread scheduling of the level draw.
uint32_t DrawLevel(uint64_t seed, uint32_t row, double ml) {
  const uint64_t bits = SplitMix64(seed ^ (0x51ed2701ull * (row + 1ull)));
  const double u = (static_cast<double>(bits >> 11) + 1.0) / 9007199254740992.0;
  const double level = std::floor(-std::log(u) * ml);
  return static_cast<uint32_t>(std::min<double>(level, kMaxHnswLevel));
}

// A batch holds at most 1/kBatchDivisor of the rows already inserted, and
// at most kMaxBatch rows.
constexpr uint32_t kBatchDivisor = 32;
constexpr uint32_t kMaxBatch = 1024;

class Builder {
 public:
  Builder(const VectorStoragePolicy& policy, const VectorView& view)
      : view_(view),
        metric_(policy.metric),
        m_(policy.hnsw.m),
        m0_(2 * policy.hnsw.m),
        efc_(std::max(policy.hnsw.ef_construction, policy.hnsw.m)),
        n_(view.num_rows()) {
    level0_.assign(static_cast<size_t>(n_) * (1 + m0_), 0);
    upper_index_.assign(n_, kNoUpper);
    const double ml = 1.0 / std::log(static_cast<double>(m_));
    uint64_t words = 0;
    for (uint32_t r = 0; r < n_; ++r) {
      const uint32_t level = DrawLevel(policy.hnsw.seed, r, ml);
      if (level > 0) {
        upper_index_[r] = static_cast<uint32_t>(words);
        words += 1 + static_cast<uint64_t>(level) * (1 + m_);
      }
    }
    upper_.assign(words, 0);
    for (uint32_t r = 0; r < n_; ++r) {
      if (upper_index_[r] != kNoUpper) {
        upper_[upper_index_[r]] = DrawLevel(policy.hnsw.seed, r, ml);
      }
    }
  }

  void ComputeInverseNorms(uint32_t threads) {
    if (metric_ != DistanceMetric::kCosine) return;
    inv_norms_.resize(n_);
    vec::ParallelFor(n_, threads, 4096, [&](size_t b, size_t e, uint32_t) {
      for (size_t r = b; r < e; ++r) {
        inv_norms_[r] = vec::InverseNorm(view_.precision(), view_.dim(), view_.int8(),
                                         view_.Row(static_cast<uint32_t>(r)));
      }
    });
  }

  // 1/|v| per row (cosine), as the blob's bytes; null without.
  const uint8_t* NormsBytes() const {
    return inv_norms_.empty() ? nullptr : reinterpret_cast<const uint8_t*>(inv_norms_.data());
  }

  // Construction searches walk the graph on these codes (the ones the index
  // will carry), and their candidates are re-ranked exactly before the
  // neighbours are chosen, as a search's beam is. Null: exact walks.
  void UseCodes(const Sq8Codes* codes) {
    codes_ = codes;
    if (codes == nullptr) return;
    sq8_params_ = CodeParams(codes->mean, codes->scale);
  }

  void Build(uint32_t threads) {
    if (n_ == 0) return;
    threads = vec::ResolveThreads(threads, n_);
    std::vector<Worker> workers;
    workers.reserve(threads);
    for (uint32_t t = 0; t < threads; ++t) workers.emplace_back(*this);
    entry_ = 0;
    max_level_ = Level(0);
    std::vector<Plan> plans(std::min(kMaxBatch, n_));
    for (uint32_t next = 1; next < n_;) {
      uint32_t end = next + std::clamp(next / kBatchDivisor, 1u, kMaxBatch);
      end = std::min(end, n_);
      for (uint32_t r = next; r < end; ++r) {
        if (Level(r) > max_level_) {
          end = r == next ? r + 1 : r;  // alone, so its upper levels find rows
          break;
        }
      }
      // Plans against the graph as it stands (read-only meanwhile).
      vec::ParallelFor(end - next, threads, 4, [&](size_t b, size_t e, uint32_t w) {
        for (size_t i = b; i < e; ++i) {
          PlanInsert(next + static_cast<uint32_t>(i), next, &plans[i], &workers[w]);
        }
      });
      ApplyBatch(next, end, plans, threads, &workers);
      for (uint32_t r = next; r < end; ++r) {
        if (Level(r) > max_level_) {
          entry_ = r;
          max_level_ = Level(r);
        }
      }
      next = end;
    }
  }

  // Makes every row reachable on level 0 from the entry point. The pruning
  // heuristic can leave a tight, far-away cluster with no link into it; for
  // each such component one row gets an in-link from its nearest reachable
  // row (replacing that row's farthest link whose target keeps another
  // in-link when its list is full). Returns the links added.
  uint32_t RepairConnectivity();

  // Renumbers the nodes: node i becomes row order[i]'s (a permutation), its
  // lists move with it and every link is rewritten (docs/FORMAT.md 3.3.3).
  // The inverse norms stay by row. Called once, after the build.
  void Renumber(const std::vector<uint32_t>& order);

  // With the 8-bit or the 4-bit traversal codes (at most one non-null), in
  // node order; with `node_rows` (Renumber's order) the blob maps nodes to
  // rows.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize(const VectorStoragePolicy& policy,
                                                          const Sq8Codes* codes8,
                                                          const Sq4Codes* codes4,
                                                          const std::vector<uint32_t>* node_rows);

 private:
  // The neighbours a row of a batch links to, per level (0 .. its level,
  // at most the graph's top level), ascending by distance.
  struct Plan {
    std::vector<std::vector<Candidate>> levels;
  };
  // Per-thread scratch: query buffers, visited marks, heaps.
  struct Worker {
    explicit Worker(const Builder& b)
        : dist(b.metric_, b.view_, b.NormsBytes()),
          query(b.view_.dim()),
          a(b.view_.dim()),
          c(b.view_.dim()) {
      if (b.codes_ != nullptr) {
        sq8.emplace(b.metric_, b.view_.dim(), b.codes_->stride, b.codes_->codes.data(),
                    reinterpret_cast<const uint8_t*>(b.sq8_params_.data()),
                    b.codes_->terms.empty()
                        ? nullptr
                        : reinterpret_cast<const uint8_t*>(b.codes_->terms.data()),
                    b.NormsBytes());
      }
    }
    HnswDistance dist;
    std::optional<Sq8Distance> sq8;  // the walk's distance when building on codes
    std::vector<float> query, a, c;
    VisitedTable visited;
    std::vector<Candidate> cand, top, links, selected, peers;
    std::vector<uint32_t> copy;
    std::vector<float> copy_d;
  };

  uint32_t Level(uint32_t r) const {
    return upper_index_[r] == kNoUpper ? 0 : upper_[upper_index_[r]];
  }
  uint32_t* Links(uint32_t r, uint32_t level) {
    if (level == 0) return &level0_[static_cast<size_t>(r) * (1 + m0_)];
    return &upper_[upper_index_[r] + 1 + static_cast<size_t>(level - 1) * (1 + m_)];
  }
  void PrefetchLinks(uint32_t r, uint32_t level) {
    vec::PrefetchBytes(Links(r, level), 4 * (1 + size_t{level == 0 ? m0_ : m_}));
  }
  // Copies r's links at `level`.
  void ReadLinks(uint32_t r, uint32_t level, std::vector<uint32_t>* out) {
    const uint32_t* l = Links(r, level);
    out->assign(l + 1, l + 1 + l[0]);
  }

  // Distance between two stored rows.
  float PairDistance(uint32_t x, uint32_t y, Worker* w) const;
  // The ef_construction nearest rows to the query of `walk` found from ep on
  // `level`, into w->top, ascending by walk distance.
  template <class Walk>
  void SearchLayer(uint32_t ep, float ep_d, uint32_t level, const Walk& walk, Worker* w);
  // Keeps up to `max` of `cands` (ascending by distance to the base row): a
  // candidate is dropped when it is closer to an already kept one than to the
  // base (the heuristic of the HNSW paper, Malkov & Yashunin, alg. 4).
  void SelectNeighbors(std::vector<Candidate>* cands, uint32_t max, Worker* w) const;
  // Searches the graph for row x and picks its neighbours on each level.
  // Rows [batch_begin, x) of its batch are not in the graph yet but are
  // candidates too, as they would be to a row inserted after them.
  void PlanInsert(uint32_t x, uint32_t batch_begin, Plan* plan, Worker* w);
  // PlanInsert walking on `walk` (the stored vectors, or the codes with the
  // candidates of each level re-ranked exactly).
  template <class Walk>
  void PlanWith(uint32_t x, uint32_t batch_begin, Plan* plan, const Walk& walk, bool exact_walk,
                Worker* w);
  // Writes the links of rows [begin, end) planned in plans[0 ..): their own
  // lists, then the back-links, each target's in row order.
  void ApplyBatch(uint32_t begin, uint32_t end, std::vector<Plan>& plans, uint32_t threads,
                  std::vector<Worker>* workers);
  // Adds x (at distance d) to s's list at `level`, pruning a full list by the
  // heuristic.
  void AddBackLink(uint32_t s, uint32_t level, uint32_t x, float d, Worker* w);

  const VectorView& view_;
  const DistanceMetric metric_;
  const uint32_t m_, m0_, efc_, n_;
  std::vector<uint32_t> level0_, upper_index_, upper_;
  std::vector<float> inv_norms_;
  uint32_t entry_ = kNoNode;
  uint32_t max_level_ = 0;
  const Sq8Codes* codes_ = nullptr;
  std::vector<float> sq8_params_;  // means then scales, as the blob holds them
};

float Builder::PairDistance(uint32_t x, uint32_t y, Worker* w) const {
  const uint32_t d = view_.dim();
  const vec::KernelTable& k = vec::Kernels();
  const float *a, *b;
  if (view_.precision() == Precision::kF32) {
    a = reinterpret_cast<const float*>(view_.Row(x));
    b = reinterpret_cast<const float*>(view_.Row(y));
  } else {
    view_.Decode(x, w->a.data());
    view_.Decode(y, w->c.data());
    a = w->a.data();
    b = w->c.data();
  }
  switch (metric_) {
    case DistanceMetric::kEuclidean: return k.l2_f32(a, b, d);
    case DistanceMetric::kDotProduct: return -k.dot_f32(a, b, d);
    case DistanceMetric::kNormalizedCosine: return 1.0f - k.dot_f32(a, b, d);
    case DistanceMetric::kCosine: {
      const float ia = inv_norms_[x], ib = inv_norms_[y];
      if (ia == 0.0f || ib == 0.0f) return (ia == 0.0f && ib == 0.0f) ? 0.0f : 1.0f;
      return 1.0f - k.dot_f32(a, b, d) * ia * ib;
    }
  }
  return 0.0f;
}

template <class Walk>
void Builder::SearchLayer(uint32_t ep, float ep_d, uint32_t level, const Walk& walk, Worker* w) {
  w->visited.Reset(n_);
  w->cand.clear();
  w->top.clear();
  w->visited.Mark(ep);
  w->cand.push_back({ep_d, ep});
  w->top.push_back({ep_d, ep});
  while (!w->cand.empty()) {
    const Candidate c = w->cand.front();
    if (c.d > w->top.front().d && w->top.size() >= efc_) break;
    std::pop_heap(w->cand.begin(), w->cand.end(), CloserFirst{});
    w->cand.pop_back();
    // The next row to expand is most likely the new nearest candidate: its
    // list (up to three cache lines) loads while this row's neighbours are
    // scored. Without it the walk waited on that list a third of its time.
    if (!w->cand.empty()) PrefetchLinks(w->cand.front().id, level);
    ReadLinks(c.id, level, &w->copy);
    // Unvisited neighbours first, all their rows prefetched, then distances.
    size_t nf = 0;
    for (const uint32_t nb : w->copy) {
      w->copy[nf] = nb;
      nf += w->visited.Mark(nb) ? 1 : 0;
    }
    for (size_t i = 0; i < nf; ++i) walk.Prefetch(w->copy[i]);
    w->copy_d.resize(nf);
    walk.Many(w->copy.data(), nf, w->copy_d.data());
    for (size_t i = 0; i < nf; ++i) {
      const uint32_t nb = w->copy[i];
      const float d = w->copy_d[i];
      if (w->top.size() < efc_ || d < w->top.front().d) {
        w->cand.push_back({d, nb});
        std::push_heap(w->cand.begin(), w->cand.end(), CloserFirst{});
        w->top.push_back({d, nb});
        std::push_heap(w->top.begin(), w->top.end(), FartherFirst{});
        if (w->top.size() > efc_) {
          std::pop_heap(w->top.begin(), w->top.end(), FartherFirst{});
          w->top.pop_back();
        }
      }
    }
  }
  std::sort_heap(w->top.begin(), w->top.end(), FartherFirst{});  // ascending
}

void Builder::SelectNeighbors(std::vector<Candidate>* cands, uint32_t max, Worker* w) const {
  if (cands->size() <= max) return;
  w->selected.clear();
  for (const Candidate& c : *cands) {
    if (w->selected.size() >= max) break;
    bool keep = true;
    for (const Candidate& s : w->selected) {
      if (PairDistance(c.id, s.id, w) < c.d) {
        keep = false;
        break;
      }
    }
    if (keep) w->selected.push_back(c);
  }
  cands->swap(w->selected);
}

void Builder::PlanInsert(uint32_t x, uint32_t batch_begin, Plan* plan, Worker* w) {
  view_.Decode(x, w->query.data());
  w->dist.SetQuery(w->query.data());
  if (w->sq8) {
    w->sq8->SetQuery(w->query.data());
    PlanWith(x, batch_begin, plan, *w->sq8, false, w);
  } else {
    PlanWith(x, batch_begin, plan, w->dist, true, w);
  }
}

template <class Walk>
void Builder::PlanWith(uint32_t x, uint32_t batch_begin, Plan* plan, const Walk& walk,
                       bool exact_walk, Worker* w) {
  const uint32_t level = Level(x);
  // The batch's earlier rows, scored in one call (consecutive rows).
  w->peers.clear();
  w->copy.resize(x - batch_begin);
  w->copy_d.resize(x - batch_begin);
  for (uint32_t y = batch_begin; y < x; ++y) w->copy[y - batch_begin] = y;
  walk.Many(w->copy.data(), w->copy.size(), w->copy_d.data());
  for (uint32_t y = batch_begin; y < x; ++y) w->peers.push_back({w->copy_d[y - batch_begin], y});
  const uint32_t top_level = max_level_;
  uint32_t cur = entry_;
  float cur_d = walk(cur);
  for (uint32_t l = top_level; l > level; --l) {
    bool changed = true;
    while (changed) {
      changed = false;
      ReadLinks(cur, l, &w->copy);
      for (uint32_t nb : w->copy) {
        const float d = walk(nb);
        if (d < cur_d) {
          cur_d = d;
          cur = nb;
          changed = true;
        }
      }
    }
  }
  const uint32_t levels = std::min(level, top_level) + 1;
  plan->levels.resize(levels);
  for (uint32_t l = levels; l-- > 0;) {
    SearchLayer(cur, cur_d, l, walk, w);
    cur = w->top.front().id;
    cur_d = w->top.front().d;
    if (!w->peers.empty()) {
      // Earlier rows of the batch that would have made the candidate list.
      const float worst =
          w->top.size() >= efc_ ? w->top.back().d : std::numeric_limits<float>::infinity();
      bool added = false;
      for (const Candidate& p : w->peers) {
        if (p.d < worst && Level(p.id) >= l) {
          w->top.push_back(p);
          added = true;
        }
      }
      if (added) {
        std::sort(w->top.begin(), w->top.end(), [](const Candidate& a, const Candidate& b) {
          return a.d < b.d || (a.d == b.d && a.id < b.id);
        });
        if (w->top.size() > efc_) w->top.resize(efc_);
      }
    }
    if (!exact_walk) {
      // The candidates by their exact distances: the neighbour heuristic and
      // the back-links compare exact distances only.
      // Rows prefetched ahead: they are scattered over the column.
      vec::VisitRowsPrefetched(
          w->top.size(), std::min<size_t>(view_.row_bytes(), HnswDistance::kPrefetchBytes),
          [&](size_t i) { return view_.Row(w->top[i].id); },
          [&](size_t i) { w->top[i].d = w->dist(w->top[i].id); });
      std::sort(w->top.begin(), w->top.end(), [](const Candidate& a, const Candidate& b) {
        return a.d < b.d || (a.d == b.d && a.id < b.id);
      });
    }
    SelectNeighbors(&w->top, m_, w);
    plan->levels[l].assign(w->top.begin(), w->top.end());
  }
}

void Builder::AddBackLink(uint32_t s, uint32_t level, uint32_t x, float d, Worker* w) {
  const uint32_t max_links = level == 0 ? m0_ : m_;
  uint32_t* theirs = Links(s, level);
  const uint32_t count = theirs[0];
  if (std::find(theirs + 1, theirs + 1 + count, x) != theirs + 1 + count) return;
  if (count < max_links) {
    theirs[1 + count] = x;
    theirs[0] = count + 1;
    return;
  }
  // Full: keep the best max_links of the old links plus x, by the heuristic.
  w->links.clear();
  w->links.push_back({d, x});
  for (uint32_t i = 0; i < count; ++i) {
    w->links.push_back({PairDistance(s, theirs[1 + i], w), theirs[1 + i]});
  }
  std::stable_sort(w->links.begin(), w->links.end(),
                   [](const Candidate& a, const Candidate& b) { return a.d < b.d; });
  SelectNeighbors(&w->links, max_links, w);
  theirs[0] = static_cast<uint32_t>(w->links.size());
  for (size_t i = 0; i < w->links.size(); ++i) theirs[1 + i] = w->links[i].id;
}

void Builder::ApplyBatch(uint32_t begin, uint32_t end, std::vector<Plan>& plans, uint32_t threads,
                         std::vector<Worker>* workers) {
  struct BackLink {
    uint32_t level, target, from;
    float d;
  };
  std::vector<BackLink> back;
  for (uint32_t x = begin; x < end; ++x) {
    const Plan& plan = plans[x - begin];
    for (uint32_t l = 0; l < plan.levels.size(); ++l) {
      uint32_t* mine = Links(x, l);
      mine[0] = static_cast<uint32_t>(plan.levels[l].size());
      for (size_t i = 0; i < plan.levels[l].size(); ++i) {
        mine[1 + i] = plan.levels[l][i].id;
        back.push_back({l, plan.levels[l][i].id, x, plan.levels[l][i].d});
      }
    }
  }
  // One group per (level, target), its back-links in row order: a target's
  // list changes as if the rows had been inserted one after another.
  std::sort(back.begin(), back.end(), [](const BackLink& a, const BackLink& b) {
    return std::tie(a.level, a.target, a.from) < std::tie(b.level, b.target, b.from);
  });
  std::vector<size_t> starts;
  for (size_t i = 0; i < back.size(); ++i) {
    if (i == 0 || back[i].level != back[i - 1].level || back[i].target != back[i - 1].target) {
      starts.push_back(i);
    }
  }
  starts.push_back(back.size());
  vec::ParallelFor(starts.size() - 1, threads, 16, [&](size_t b, size_t e, uint32_t w) {
    for (size_t g = b; g < e; ++g) {
      for (size_t i = starts[g]; i < starts[g + 1]; ++i) {
        AddBackLink(back[i].target, back[i].level, back[i].from, back[i].d, &(*workers)[w]);
      }
    }
  });
}

uint32_t Builder::RepairConnectivity() {
  if (n_ <= 1) return 0;
  Worker w(*this);
  std::vector<uint8_t> reached(n_);
  std::vector<uint32_t> queue, in_degree(n_);
  queue.reserve(n_);
  // Marks everything reachable from `start` on level 0.
  auto flood = [&](uint32_t start) {
    if (reached[start] != 0) return;
    size_t head = queue.size();
    reached[start] = 1;
    queue.push_back(start);
    while (head < queue.size()) {
      const uint32_t* l = Links(queue[head++], 0);
      for (uint32_t i = 0; i < l[0]; ++i) {
        if (reached[l[1 + i]] == 0) {
          reached[l[1 + i]] = 1;
          queue.push_back(l[1 + i]);
        }
      }
    }
  };
  uint32_t added = 0;
  // A replaced link can cut off its target's own followers, so each round
  // starts again from the entry; a few rounds settle every graph seen so far.
  for (int round = 0; round < 4; ++round) {
    std::fill(reached.begin(), reached.end(), 0);
    queue.clear();
    flood(entry_);
    if (queue.size() == n_) break;
    std::fill(in_degree.begin(), in_degree.end(), 0);
    for (uint32_t r = 0; r < n_; ++r) {
      const uint32_t* l = Links(r, 0);
      for (uint32_t i = 0; i < l[0]; ++i) ++in_degree[l[1 + i]];
    }
    for (uint32_t u = 0; u < n_ && queue.size() < n_; ++u) {
      if (reached[u] != 0) continue;
      // The rows nearest to u among the reachable ones (a walk from the entry
      // meets only those).
      view_.Decode(u, w.query.data());
      w.dist.SetQuery(w.query.data());
      SearchLayer(entry_, w.dist(entry_), 0, w.dist, &w);
      bool linked = false;
      for (const Candidate& c : w.top) {
        uint32_t* l = Links(c.id, 0);
        if (l[0] < m0_) {
          l[1 + l[0]++] = u;
          linked = true;
          break;
        }
        int victim = -1;
        float far = -1.0f;
        for (uint32_t i = 0; i < l[0]; ++i) {
          if (in_degree[l[1 + i]] < 2) continue;
          const float d = PairDistance(c.id, l[1 + i], &w);
          if (d > far) {
            far = d;
            victim = static_cast<int>(i);
          }
        }
        if (victim < 0) continue;
        --in_degree[l[1 + victim]];
        l[1 + victim] = u;
        linked = true;
        break;
      }
      if (!linked) continue;
      ++in_degree[u];
      ++added;
      flood(u);
    }
  }
  return added;
}

void Builder::Renumber(const std::vector<uint32_t>& order) {
  std::vector<uint32_t> node_of(n_);
  for (uint32_t i = 0; i < n_; ++i) node_of[order[i]] = i;
  const size_t rec = 1 + size_t{m0_};
  std::vector<uint32_t> level0(level0_.size(), 0), upper_index(n_, kNoUpper), upper;
  upper.reserve(upper_.size());
  for (uint32_t i = 0; i < n_; ++i) {
    const uint32_t r = order[i];
    const uint32_t* from = &level0_[r * rec];
    uint32_t* to = &level0[i * rec];
    to[0] = from[0];
    for (uint32_t j = 1; j <= from[0]; ++j) to[j] = node_of[from[j]];
    if (upper_index_[r] == kNoUpper) continue;
    const uint32_t* block = &upper_[upper_index_[r]];
    upper_index[i] = static_cast<uint32_t>(upper.size());
    upper.push_back(block[0]);
    for (uint32_t level = 1; level <= block[0]; ++level) {
      const uint32_t* list = block + 1 + static_cast<size_t>(level - 1) * (1 + m_);
      const size_t at = upper.size();
      upper.resize(at + 1 + m_, 0);
      upper[at] = list[0];
      for (uint32_t j = 1; j <= list[0]; ++j) upper[at + j] = node_of[list[j]];
    }
  }
  level0_ = std::move(level0);
  upper_index_ = std::move(upper_index);
  upper_ = std::move(upper);
  if (entry_ != kNoNode) entry_ = node_of[entry_];
}

arrow::Result<std::shared_ptr<arrow::Buffer>> Builder::Serialize(
    const VectorStoragePolicy& policy, const Sq8Codes* codes8, const Sq4Codes* codes4,
    const std::vector<uint32_t>* node_rows) {
  auto align = [](uint64_t v) { return (v + kSectionAlign - 1) / kSectionAlign * kSectionAlign; };
  // The traversal section written: the 4-bit records when given, else the
  // 8-bit codes when given, else none.
  struct Section {
    uint32_t kind, stride;
    const std::vector<float>*mean, *scale;
    const uint8_t* bytes;
    // The per-row section at the terms offset, when there is one (sq8's
    // euclidean terms).
    const uint8_t* row_bytes;
    uint64_t row_size;
  };
  std::optional<Section> codes;
  if (codes4 != nullptr) {
    codes = Section{kCodeKindSq4,
                    codes4->stride,
                    &codes4->mean,
                    &codes4->scale,
                    codes4->records.data(),
                    nullptr,
                    0};
  } else if (codes8 != nullptr) {
    codes = Section{kCodeKindSq8,
                    codes8->stride,
                    &codes8->mean,
                    &codes8->scale,
                    reinterpret_cast<const uint8_t*>(codes8->codes.data()),
                    reinterpret_cast<const uint8_t*>(codes8->terms.data()),
                    metric_ == DistanceMetric::kEuclidean ? 4u : 0u};
  }
  // Renumbered sq8 cosine: the walk's inverse norms by node in the terms
  // section (the inv_norms section stays by row, for exact distances).
  std::vector<float> node_norms;
  if (node_rows != nullptr && codes && codes->kind == kCodeKindSq8 &&
      metric_ == DistanceMetric::kCosine) {
    node_norms.resize(n_);
    for (uint32_t i = 0; i < n_; ++i) node_norms[i] = inv_norms_[(*node_rows)[i]];
    codes->row_bytes = reinterpret_cast<const uint8_t*>(node_norms.data());
    codes->row_size = 4;
  }
  uint64_t at = codes ? kHnswHeaderBytes + kHnswExtBytes : kHnswHeaderBytes;
  const uint64_t norms_off = inv_norms_.empty() ? 0 : at;
  if (!inv_norms_.empty()) at = align(at + 4ull * n_);
  const uint64_t level0_off = at;
  at = align(at + 4ull * level0_.size());
  const uint64_t upper_index_off = at;
  at = align(at + 4ull * n_);
  const uint64_t upper_off = at;
  at = align(at + 4ull * upper_.size());
  uint64_t codes_off = 0, params_off = 0, terms_off = 0;
  if (codes) {
    params_off = at;
    at = align(at + 8ull * view_.dim());
    if (codes->row_size != 0) {  // present even with no row
      terms_off = at;
      at = align(at + codes->row_size * n_);
    }
    codes_off = at;
    at = align(at + static_cast<uint64_t>(codes->stride) * n_);
  }
  const bool renumbered = codes && node_rows != nullptr;
  const uint64_t node_rows_off = renumbered ? at : 0;
  if (renumbered) at = align(at + 4ull * n_);
  // Searches read the blob at random: huge-page memory when large.
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf,
                        core::AllocateLargeBuffer(static_cast<int64_t>(at)));
  uint8_t* p = buf->mutable_data();  // zeroed
  BlobWriter header(kHnswHeaderBytes);
  CommonHeader h;
  h.type = IndexType::kHnsw;
  h.metric = metric_;
  h.precision = view_.precision();
  h.int8 = view_.int8();
  h.flags = static_cast<uint16_t>((inv_norms_.empty() ? 0 : kFlagInverseNorms) |
                                  (codes ? kFlagTraversalCodes : 0) |
                                  (renumbered ? kFlagRenumberedNodes : 0));
  h.dim = view_.dim();
  h.num_rows = n_;
  WriteCommonHeader(&header, h);
  header.PutU64(24, at);
  header.PutU32(kHnswM, m_);
  header.PutU32(kHnswM0, m0_);
  header.PutU32(kHnswMaxLevel, max_level_);
  header.PutU32(kHnswEntry, entry_);
  header.PutU32(kHnswEfSearch, policy.hnsw.ef_search);
  header.PutU32(kHnswEfConstruction, policy.hnsw.ef_construction);
  header.PutU64(kHnswNormsOff, norms_off);
  header.PutU64(kHnswLevel0Off, level0_off);
  header.PutU64(kHnswUpperIndexOff, upper_index_off);
  header.PutU64(kHnswUpperOff, upper_off);
  header.PutU64(kHnswUpperWords, upper_.size());
  std::memcpy(p, header.bytes().data(), kHnswHeaderBytes);
  if (codes) {
    BlobWriter ext(kHnswHeaderBytes + kHnswExtBytes);
    ext.PutU64(kHnswCodesOff, codes_off);
    ext.PutU64(kHnswCodeParamsOff, params_off);
    ext.PutU64(kHnswCodeTermsOff, terms_off);
    ext.PutU32(kHnswCodeKind, codes->kind);
    ext.PutU32(kHnswCodeStride, codes->stride);
    ext.PutU64(kHnswNodeRowsOff, node_rows_off);
    std::memcpy(p + kHnswHeaderBytes, ext.bytes().data() + kHnswHeaderBytes, kHnswExtBytes);
    std::memcpy(p + params_off, codes->mean->data(), 4ull * view_.dim());
    std::memcpy(p + params_off + 4ull * view_.dim(), codes->scale->data(), 4ull * view_.dim());
    if (terms_off != 0 && n_ > 0)
      std::memcpy(p + terms_off, codes->row_bytes, codes->row_size * n_);
    if (n_ > 0) std::memcpy(p + codes_off, codes->bytes, static_cast<size_t>(codes->stride) * n_);
    if (renumbered && n_ > 0) std::memcpy(p + node_rows_off, node_rows->data(), 4ull * n_);
  }
  // (Empty vectors may have null data: copy only what exists.)
  if (norms_off != 0) std::memcpy(p + norms_off, inv_norms_.data(), 4ull * n_);
  if (!level0_.empty()) std::memcpy(p + level0_off, level0_.data(), 4ull * level0_.size());
  if (n_ > 0) std::memcpy(p + upper_index_off, upper_index_.data(), 4ull * n_);
  if (!upper_.empty()) std::memcpy(p + upper_off, upper_.data(), 4ull * upper_.size());
  return buf;
}

// How well a traversal code ranks neighbours: over up to 64 sample rows as
// queries against up to 4,096 others (evenly spaced), the share of each
// one's exact 10 nearest found among its 40 nearest by code distance.
template <class Approx>
double SampleCodeRecall(const VectorView& v, DistanceMetric metric, const uint8_t* norms,
                        Approx& approx) {
  constexpr uint32_t kQueries = 64, kPool = 4096, kTop = 10, kShort = 40;
  const uint32_t n = v.num_rows();
  if (n <= kShort) return 1.0;
  const uint32_t np = std::min(n, kPool), nq = std::min(np, kQueries);
  std::vector<uint32_t> pool(np);
  for (uint32_t i = 0; i < np; ++i) pool[i] = static_cast<uint32_t>(uint64_t{i} * n / np);
  HnswDistance exact(metric, v, norms);
  std::vector<float> q(v.dim()), de(np), dc(np);
  std::vector<uint32_t> by_exact(np), by_code(np);
  uint64_t found = 0, wanted = 0;
  for (uint32_t j = 0; j < nq; ++j) {
    const uint32_t self = pool[static_cast<size_t>(uint64_t{j} * np / nq)];
    v.Decode(self, q.data());
    exact.SetQuery(q.data());
    approx.SetQuery(q.data());
    exact.Many(pool.data(), np, de.data());
    approx.Many(pool.data(), np, dc.data());
    // The query's own row is left out of both lists.
    for (uint32_t i = 0; i < np; ++i) {
      if (pool[i] == self) de[i] = dc[i] = std::numeric_limits<float>::infinity();
      by_exact[i] = by_code[i] = i;
    }
    auto nearest = [&](std::vector<uint32_t>& ids, const std::vector<float>& d, uint32_t top) {
      std::nth_element(ids.begin(), ids.begin() + top, ids.end(), [&](uint32_t a, uint32_t b) {
        return d[a] < d[b] || (d[a] == d[b] && a < b);
      });
    };
    nearest(by_exact, de, kTop);
    nearest(by_code, dc, kShort);
    std::vector<uint32_t> shortlist(by_code.begin(), by_code.begin() + kShort);
    std::sort(shortlist.begin(), shortlist.end());
    for (uint32_t t = 0; t < kTop; ++t) {
      found += std::binary_search(shortlist.begin(), shortlist.end(), by_exact[t]) ? 1 : 0;
    }
    wanted += kTop;
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

// Records of `stride` items, record i of the result being record order[i].
template <class T>
std::vector<T> PermuteRecords(const std::vector<T>& from, size_t stride,
                              const std::vector<uint32_t>& order) {
  std::vector<T> to(from.size());
  for (size_t i = 0; i < order.size(); ++i) {
    std::copy_n(from.begin() + static_cast<ptrdiff_t>(order[i] * stride), stride,
                to.begin() + static_cast<ptrdiff_t>(i * stride));
  }
  return to;
}

}  // namespace

HnswTraversal ChooseTraversal(double sq8_recall, const double* sq4_recall) {
  if (sq8_recall < kAutoMinCodeRecall) return HnswTraversal::kExact;
  if (sq4_recall != nullptr && *sq4_recall >= sq8_recall - kAutoSq4RecallSlack) {
    return HnswTraversal::kSq4;
  }
  return HnswTraversal::kSq8;
}

arrow::Result<std::unique_ptr<VectorIndex>> BuildHnswIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors,
                                                           const IndexBuildOptions& options) {
  std::shared_ptr<arrow::Buffer> blob;
  {
    Builder b(policy, vectors);
    b.ComputeInverseNorms(options.num_threads);
    std::optional<Sq8Codes> codes;
    std::optional<Sq4Codes> codes4;
    // An int8 column is already 8-bit codes: its graph is walked on them.
    // The graph is built on 8-bit codes for either traversal (building on
    // 4-bit ones would cost the graph's quality for little time).
    HnswTraversal traversal = policy.hnsw.traversal;
    if (traversal != HnswTraversal::kExact && vectors.precision() != Precision::kInt8) {
      codes = EncodeSq8(vectors, policy.metric, options.num_threads);
      const bool automatic = traversal == HnswTraversal::kAuto;
      if (automatic || traversal == HnswTraversal::kSq4) {
        if (!automatic || vectors.dim() >= kHnswSq4MinDim) {
          codes4 = EncodeSq4(vectors, policy.metric, options.num_threads);
        }
      }
      if (automatic) {
        // Measured on a sample: 4-bit records when they rank neighbours as
        // well as 8-bit codes, 8-bit codes unless they rank them poorly.
        const std::vector<float> params8 = CodeParams(codes->mean, codes->scale);
        Sq8Distance d8(
            policy.metric, vectors.dim(), codes->stride, codes->codes.data(),
            reinterpret_cast<const uint8_t*>(params8.data()),
            codes->terms.empty() ? nullptr : reinterpret_cast<const uint8_t*>(codes->terms.data()),
            b.NormsBytes());
        const double r8 = SampleCodeRecall(vectors, policy.metric, b.NormsBytes(), d8);
        double r4 = 0.0;
        if (codes4) {
          const std::vector<float> params4 = CodeParams(codes4->mean, codes4->scale);
          Sq4Distance d4(policy.metric, vectors.dim(), codes4->records.data(),
                         reinterpret_cast<const uint8_t*>(params4.data()));
          r4 = SampleCodeRecall(vectors, policy.metric, b.NormsBytes(), d4);
        }
        traversal = ChooseTraversal(r8, codes4 ? &r4 : nullptr);
        if (traversal != HnswTraversal::kSq4) codes4.reset();
        if (traversal == HnswTraversal::kExact) codes.reset();
      }
      if (codes) b.UseCodes(&*codes);
    }
    b.Build(options.num_threads);
    b.RepairConnectivity();
    // Nodes renumbered by locality, the codes moved with them.
    std::vector<uint32_t> order;
    if (options.hnsw_renumber_nodes && (codes || codes4) && vectors.num_rows() > 1) {
      order = HnswLocalityOrder(vectors, policy.metric, options.num_threads, policy.hnsw.seed);
      b.Renumber(order);
      if (codes4) {
        codes4->records = PermuteRecords(codes4->records, codes4->stride, order);
      } else {
        codes->codes = PermuteRecords(codes->codes, codes->stride, order);
        if (!codes->terms.empty()) codes->terms = PermuteRecords(codes->terms, 1, order);
      }
    }
    ARROW_ASSIGN_OR_RAISE(
        blob, b.Serialize(policy, codes4 ? nullptr : (codes ? &*codes : nullptr),
                          codes4 ? &*codes4 : nullptr, order.empty() ? nullptr : &order));
  }
  ARROW_ASSIGN_OR_RAISE(CommonHeader h, ReadCommonHeader(*blob));
  return LoadHnswIndex(std::move(blob), h, vectors);
}

}  // namespace ailake::index
