// IVF-PQ: build (encode every row against a trained or shared codebook),
// in-place search with ADC lookup tables and exact re-ranking, and the loader.
#include "ailake/index/ivf_pq_index.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <span>
#include <utility>

#include "ailake/index/flat_index.h"
#include "ailake/index/ivf_pq_codebook.h"
#include "ailake/index/topk.h"
#include "ailake/vec/codec.h"
#include "ailake/vec/distance.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/kmeans.h"
#include "ailake/vec/matrix.h"
#include "ailake/vec/parallel.h"
#include "ailake/vec/pq.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {
namespace {

// Type header after the common header (docs/FORMAT.md 3.4).
constexpr size_t kNlistAt = 64, kMAt = 68, kNbitsAt = 72, kNprobeAt = 76, kRefineAt = 80,
                 kFingerprintAt = 88, kCodebookOffAt = 96, kCodebookBytesAt = 104, kListsAt = 112,
                 kIdsAt = 120, kCodesAt = 128, kRowTermsAt = 136;
// Entries past num_rows: rows held by a second list (flag kFlagSpilledRows).
constexpr size_t kSpilledAt = 84;
constexpr size_t kIvfHeaderBytes = 192;
constexpr uint32_t kMaxRefine = 4096;  // a larger default re-ranking factor is corrupt
constexpr uint32_t kBlockRows = 32;    // rows per fast-scan block (4-bit codes)

// Sub-spaces of a 4-bit block, rounded up to even (docs/FORMAT.md 3.4.1).
uint32_t PaddedM(uint32_t m) { return (m + 1) & ~1u; }

// A list's lookup table as the scan reads it. 8-bit codes: f32 tables
// (m x 256) and the list's base score. 4-bit codes: u8 tables (PaddedM(m) x
// 16), the score of a row being bias + scale * (sum of its u8 entries).
// 4-bit codes under squared L2 with row terms (docs/FORMAT.md 3.4.2): one
// u8 table per query, rq, the score of a row being rbias + its term +
// rscale * (sum of its u8 entries); q is then null unless a part without
// row terms is scanned too (SearchSharedIvfPq).
struct ListLut {
  const float* f = nullptr;
  float base = 0;
  const uint8_t* q = nullptr;
  float bias = 0, scale = 1;
  const uint8_t* rq = nullptr;
  float rbias = 0, rscale = 1;
};

// The buffers of one list scan, kept by the caller across its lists (a
// thread_local looked up per list cost 2.5% of a batch: the extension
// reaches its thread-local storage through __tls_get_addr).
struct ScanScratch {
  std::vector<float> scores;
  std::vector<uint16_t> sums;
  std::vector<uint32_t> masks, limits;
};

// Calls score(row, bytes) for each of `rows`, prefetching the rows ahead:
// the candidates are scattered over the vector column, and their cache
// misses overlap instead of following one another.
template <class Score>
void RerankRows(const VectorView& view, std::span<const uint32_t> rows, Score&& score) {
  vec::VisitRowsPrefetched(
      rows.size(), view.row_bytes(), [&](size_t i) { return view.Row(rows[i]); },
      [&](size_t i) { score(rows[i], view.Row(rows[i])); });
}

// Sorts keys by their high 32 bits, all below `bound` (a stable radix sort
// over the bits bound needs, 11 at a time; the low words keep their order).
void SortByHighWord(std::vector<uint64_t>* keys, uint64_t bound) {
  constexpr uint32_t kBits = 11, kBins = 1u << kBits;
  const auto width = static_cast<uint32_t>(std::bit_width(bound > 0 ? bound - 1 : 0));
  std::vector<uint64_t> tmp(keys->size());
  std::vector<uint32_t> count(kBins);
  for (uint32_t shift = 32; shift < 32 + width; shift += kBits) {
    std::fill(count.begin(), count.end(), 0u);
    for (const uint64_t x : *keys) ++count[(x >> shift) & (kBins - 1)];
    uint32_t at = 0;
    for (uint32_t& c : count) at += std::exchange(c, at);
    for (const uint64_t x : *keys) tmp[count[(x >> shift) & (kBins - 1)]++] = x;
    keys->swap(tmp);
  }
}

// The u8 tables of 4-bit codes (vec::KernelTable::pq4_quantize): returns
// the sum of the tables' minima and sets the step.
float QuantizeLut4(const float* lut, const float* add, uint32_t m, std::vector<uint8_t>* q,
                   float* step) {
  q->resize(size_t{PaddedM(m)} * 16);
  return vec::Kernels().pq4_quantize(lut, add, m, q->data(), step);
}

// A query's table over every sub-space, factor * q_j . r_jc (m x ksub
// floats into f): -1 for inner product and unit vectors, -2 for the 4-bit
// codes of squared L2 (the lists' terms are added to it or stored per row).
void QueryTable(const PqCodebook& cb, const float* q, float factor, std::vector<float>* f) {
  const uint32_t m = cb.m(), dsub = cb.dsub(), ksub = cb.ksub();
  f->resize(size_t{m} * ksub);
  for (uint32_t j = 0; j < m; ++j) {
    vec::Kernels().pq_lut(q + size_t{j} * dsub, cb.panels(j), ksub / 16, nullptr, factor, dsub,
                          f->data() + size_t{j} * ksub);
  }
}

// Calls f(i) for each row i of a list's 4-bit blocks whose bit is set in
// masks (the pq4_scan kernel's), leaving out the padding of the last block.
template <class F>
void ForEachMarked(const uint32_t* masks, size_t nblocks, uint32_t count, F&& f) {
  for (size_t blk = 0; blk < nblocks; ++blk) {
    uint32_t bits = masks[blk];
    const uint32_t first = static_cast<uint32_t>(blk) * kBlockRows;
    if (count - first < kBlockRows) bits &= (uint32_t{1} << (count - first)) - 1;
    while (bits != 0) {
      const uint32_t i = first + static_cast<uint32_t>(__builtin_ctz(bits));
      bits &= bits - 1;
      f(i);
    }
  }
}

// 4-bit codes under squared L2: the query-independent part of list l's
// lookup table, |r_jc|^2 + 2 c_lj . r_jc for sub-space j, codeword c (m x
// 16), computed as PqCodebook::ListTerms computes it. A row's term is the
// sum over j of its codewords' entries (docs/FORMAT.md 3.4.2).
void ListTermTable(const PqCodebook& cb, uint32_t list, std::vector<float>* table) {
  const uint32_t d = cb.dim(), m = cb.m(), ds = cb.dsub();
  std::vector<float> cl(d);
  const float* c = cb.centroid(list);
  for (uint32_t t = 0; t < d; ++t) cl[t] = vec::Ld(c + t);
  table->resize(size_t{m} * 16);
  for (uint32_t j = 0; j < m; ++j) {
    vec::Kernels().pq_lut(cl.data() + size_t{j} * ds, cb.panels(j), 1, cb.code_norms(j), 2.0f, ds,
                          table->data() + size_t{j} * 16);
  }
}

// The code of row i (0 .. 31) of a 4-bit block in sub-space j.
uint8_t BlockCode(const uint8_t* block, uint32_t j, uint32_t i) {
  const uint8_t byte = block[j * 16 + i % 16];
  return i < 16 ? byte & 15 : byte >> 4;
}

}  // namespace

void NearestLists(const float* coarse, uint32_t nlist, uint32_t nprobe, bool rest,
                  std::vector<uint32_t>* order) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  auto key = [&](uint32_t c) {
    const float v = coarse[c];
    return v == v ? v : kInf;
  };
  auto closer = [&](uint32_t a, uint32_t b) {
    const float x = key(a), y = key(b);
    return x < y || (x == y && a < b);
  };
  nprobe = std::min(nprobe, nlist);
  order->resize(rest ? nlist : nprobe);
  uint32_t* o = order->data();
  if (nprobe == 0) {
    std::iota(order->begin(), order->end(), 0u);
    return;
  }
  if (nprobe > 64) {
    std::vector<uint32_t> all(nlist);
    std::iota(all.begin(), all.end(), 0u);
    std::partial_sort(all.begin(), all.begin() + nprobe, all.end(), closer);
    std::copy_n(all.begin(), order->size(), o);
    return;
  }
  // In blocks of 16 lists: each block's minimum (NaN left out; four running
  // minima side by side, which the compiler vectorizes), and `bound`, the
  // nprobe-th smallest of those minima. nprobe blocks each hold a list at
  // most `bound`, so the nprobe nearest lists are all at most it; the lists
  // of the blocks under it that are too are sorted. One pass over the
  // distances, with no insertion per list: on 1,024 lists at nprobe 8 this
  // function went from 6% of a batch to 2.6%, against inserting each list
  // nearer than the farthest held into a sorted array as it came.
  constexpr uint32_t kBlock = 16;
  const uint32_t nblocks = nlist / kBlock;  // whole blocks; the tail is tested with them
  float held[64];                           // the nprobe smallest minima, ascending
  uint32_t n = 0;
  thread_local std::vector<float> mins;
  thread_local std::vector<uint32_t> near;
  mins.resize(nblocks);
  for (uint32_t b = 0; b < nblocks; ++b) {
    float lane[4] = {kInf, kInf, kInf, kInf};
    for (uint32_t t = 0; t < kBlock; t += 4) {
      for (uint32_t j = 0; j < 4; ++j) {
        const float v = coarse[b * kBlock + t + j];
        lane[j] = v < lane[j] ? v : lane[j];
      }
    }
    const float low0 = lane[0] < lane[1] ? lane[0] : lane[1];
    const float low1 = lane[2] < lane[3] ? lane[2] : lane[3];
    const float low = low0 < low1 ? low0 : low1;
    mins[b] = low;
    if (n == nprobe && !(low < held[n - 1])) continue;
    uint32_t at = n < nprobe ? n++ : n - 1;
    for (; at > 0 && low < held[at - 1]; --at) held[at] = held[at - 1];
    held[at] = low;
  }
  // Fewer whole blocks than nprobe, or the bound not finite (NaN or
  // infinite distances): every list is a candidate.
  const bool all = n < nprobe || !(held[nprobe - 1] < kInf);
  const float bound = all ? kInf : held[nprobe - 1];
  near.clear();
  for (uint32_t b = 0; b <= nblocks; ++b) {
    if (!all && b < nblocks && !(mins[b] <= bound)) continue;
    const uint32_t e = std::min(nlist, (b + 1) * kBlock);
    for (uint32_t c = b * kBlock; c < e; ++c) {
      if (all || coarse[c] <= bound) near.push_back(c);
    }
  }
  std::partial_sort(near.begin(), near.begin() + nprobe, near.end(), closer);
  std::copy_n(near.begin(), nprobe, o);
  if (!rest) return;
  std::vector<bool> taken(nlist, false);
  for (uint32_t j = 0; j < nprobe; ++j) taken[o[j]] = true;
  uint32_t at = nprobe;
  for (uint32_t c = 0; c < nlist; ++c) {
    if (!taken[c]) o[at++] = c;
  }
}

namespace {

// The coarse distance of the prepared query q to each centroid c from
// dots[c] = q . c: -q.c under inner product, else |q|^2 + |c|^2 - 2 q.c
// (at least 0; NaN as 0).
void CoarseDistances(bool ip, const float* q, uint32_t d, const vec::PackedRows& packed,
                     const float* __restrict dots, float* __restrict out) {
  const auto n = static_cast<uint32_t>(packed.n);
  if (ip) {
    for (uint32_t c = 0; c < n; ++c) out[c] = -dots[c];
    return;
  }
  const float qq = vec::Kernels().dot_f32(q, q, d);
  const float* __restrict norms2 = packed.norms2.data();
  auto one = [&](uint32_t c) { out[c] = std::max(0.0f, qq + norms2[c] - 2.0f * dots[c]); };
  uint32_t c = 0;
  for (; c + 16 <= n; c += 16) {  // fixed-length steps, which -O2 vectorizes
    for (uint32_t j = c; j < c + 16; ++j) one(j);
  }
  for (; c < n; ++c) one(c);
}

// The list probing of a search, shared by one index and by several built
// with one codebook (SearchSharedIvfPq): the coarse distances of the prepared
// query q from dots[c] = q . centroid_c, the probe order, the lookup table of
// each probed list, and scan(list, ListLut) for the nprobe nearest lists,
// then further ones while enough() is false (a filtered search returns
// min(k, allowed rows) results). 4-bit codes under squared L2: `row_terms`
// when some scanned index has row terms (the per-query table, rq), and
// `list_tables` when some has not (the per-list tables, q).
template <class Scan, class Enough>
void ProbeLists(const PqCodebook& cb, const float* q, const float* dots, uint32_t nprobe,
                bool row_terms, bool list_tables, Scan&& scan, Enough&& enough) {
  const uint32_t d = cb.dim(), nlist = cb.nlist(), m = cb.m(), dsub = cb.dsub(), ksub = cb.ksub();
  const vec::KernelTable& kt = vec::Kernels();
  const vec::PackedRows& packed = cb.PackedCentroids();

  thread_local std::vector<float> lut, coarse;
  thread_local std::vector<uint32_t> order;
  thread_local std::vector<uint8_t> lut4;
  const PqSpace space = cb.space();

  // Coarse distances from the dot products, and the probe order.
  coarse.resize(nlist);
  CoarseDistances(space == PqSpace::kInnerProduct, q, d, packed, dots, coarse.data());
  NearestLists(coarse.data(), nlist, nprobe, true, &order);
  auto closer = [&](uint32_t a, uint32_t b) {
    return coarse[a] < coarse[b] || (coarse[a] == coarse[b] && a < b);
  };
  bool rest_sorted = nprobe == nlist;

  // Lookup tables: lut[j][c] for sub-space j, codeword c. Inner product and
  // unit vectors score a row x ~ c + r by -q.(c + r), so one table serves
  // every list: -q_j . r_jc, plus -q.c per list. (For unit q and x,
  // |q - x|^2 = 2 - 2 q.x ranks the same; the approximation only drops the
  // quantization error in |c + r|^2, and the candidates are re-ranked
  // exactly.) L2 needs a table per list, of y = q - c.
  // 4-bit codes: the tables quantized to u8 (once per query when shared).
  lut.resize(size_t{m} * ksub);
  const size_t npanels = ksub / 16;
  const bool shared_lut = space == PqSpace::kInnerProduct || space == PqSpace::kUnit;
  const bool four = ksub == 16;
  float sum_min = 0, scale = 1;
  // 4-bit L2: -2 q_j . r_jc once; with row terms that is the whole table
  // (quantized once), else each list's precomputed terms are added to it.
  const bool four_l2 = four && !shared_lut;
  const float* terms = four_l2 && list_tables ? cb.ListTerms() : nullptr;
  thread_local std::vector<float> qtab;
  thread_local std::vector<uint8_t> rowq;
  float row_min = 0, row_scale = 1;
  if (four_l2 && (row_terms || terms != nullptr)) {
    QueryTable(cb, q, -2.0f, &qtab);
    if (row_terms) row_min = QuantizeLut4(qtab.data(), nullptr, m, &rowq, &row_scale);
  }
  if (shared_lut) {
    QueryTable(cb, q, -1.0f, &lut);
    if (four) sum_min = QuantizeLut4(lut.data(), nullptr, m, &lut4, &scale);
  }
  std::vector<float> y(shared_lut ? 0 : d);
  for (uint32_t i = 0; i < nlist; ++i) {
    if (i >= nprobe && enough()) break;
    if (i == nprobe && !rest_sorted) {
      std::sort(order.begin() + nprobe, order.end(), closer);
      rest_sorted = true;
    }
    const uint32_t list = order[i];
    if (terms != nullptr && i + 1 < nlist && (i + 1 < nprobe || rest_sorted)) {
      // The next list's terms (m x 16 floats, most of them not cached) load
      // while this list is scanned.
      const float* next = terms + size_t{order[i + 1]} * m * 16;
      vec::PrefetchBytes(next, size_t{m} * 16 * sizeof(float));
    }
    ListLut t;
    if (four_l2 && row_terms) {  // |q - c - r|^2 = |q - c|^2 - 2 q.r + (the row's term)
      t.rq = rowq.data();
      t.rbias = coarse[list] + row_min;
      t.rscale = row_scale;
    }
    if (shared_lut) {
      t.base = -dots[list];
    } else if (four_l2 && !list_tables) {
      t.base = coarse[list];
    } else if (terms != nullptr) {  // |q - c - r|^2 = |q - c|^2 - 2 q.r + (2 c.r + |r|^2)
      t.base = coarse[list];
      sum_min = QuantizeLut4(qtab.data(), terms + size_t{list} * m * 16, m, &lut4, &scale);
    } else {  // |y - r|^2 = |y|^2 - 2 y.r + |r|^2 with y = q - c, per sub-space
      const float* c = cb.centroid(list);
      for (uint32_t u = 0; u < d; ++u) y[u] = q[u] - vec::Ld(c + u);
      t.base = coarse[list];
      for (uint32_t j = 0; j < m; ++j) {
        kt.pq_lut(y.data() + size_t{j} * dsub, cb.panels(j), npanels, cb.code_norms(j), -2.0f, dsub,
                  &lut[j * ksub]);
      }
      if (four) sum_min = QuantizeLut4(lut.data(), nullptr, m, &lut4, &scale);
    }
    t.f = lut.data();
    if (four && !(four_l2 && !list_tables)) {
      t.q = lut4.data();
      t.bias = t.base + sum_min;
      t.scale = scale;
    }
    scan(list, t);
  }
}

// The bytes of lists (codes, terms, ids) up to which SearchGroupByList scans
// query by query. 1,000 queries on one thread, nprobe 8 to 16
// (docs/BENCHMARKS.md, session 28): query order is 1.04x as fast with 3.7 MB
// of lists (100k x 96, 48 sub-spaces), as fast with 28 MB (the real 384-d
// set), and 0.93x with 41 MB (1M x 128).
constexpr uint64_t kQueryOrderBytes = uint64_t{8} << 20;
std::atomic<uint64_t> query_order_bytes{kQueryOrderBytes};  // unless a test sets another

class IvfPqIndex final : public VectorIndex {
 public:
  IvfPqIndex(std::shared_ptr<arrow::Buffer> blob, const CommonHeader& h, const VectorView& view,
             std::shared_ptr<const PqCodebook> codebook)
      : blob_(std::move(blob)), h_(h), view_(view), cb_(std::move(codebook)) {
    const uint8_t* p = blob_->data();
    nprobe_ = LoadU32(p + kNprobeAt);
    refine_ = LoadU32(p + kRefineAt);
    entries_ = h_.num_rows + LoadU32(p + kSpilledAt);
    lists_ = p + LoadU64(p + kListsAt);
    ids_ = p + LoadU64(p + kIdsAt);
    codes_ = p + LoadU64(p + kCodesAt);
    if (LoadU64(p + kRowTermsAt) != 0) {
      row_terms_ = p + LoadU64(p + kRowTermsAt);
    }
    if (cb_->ksub() == 16) {  // where each list's fast-scan blocks start
      block_start_.resize(size_t{cb_->nlist()} + 1, 0);
      for (uint32_t l = 0; l < cb_->nlist(); ++l) {
        const uint32_t cnt = LoadU32(lists_ + 4ull * l + 4) - LoadU32(lists_ + 4ull * l);
        block_start_[l + 1] = block_start_[l] + (cnt + kBlockRows - 1) / kBlockRows;
      }
      scanned_bytes_ =
          block_start_.back() * kBlockRows * (PaddedM(cb_->m()) / 2 + (row_terms_ ? 4 : 0)) +
          uint64_t{entries_} * 4;
    }
    if (row_terms_ != nullptr) {  // each block's smallest term, for the scan's integer bound
      block_min_term_.assign(block_start_.back(), 0.0f);
      for (uint32_t l = 0; l < cb_->nlist(); ++l) {
        const uint32_t cnt = LoadU32(lists_ + 4ull * l + 4) - LoadU32(lists_ + 4ull * l);
        const uint8_t* t = row_terms_ + block_start_[l] * kBlockRows * 4;
        for (uint32_t i = 0; i < cnt; i += kBlockRows) {
          float low = LoadF32(t + 4ull * i);
          for (uint32_t j = i + 1; j < std::min(cnt, i + kBlockRows); ++j)
            low = std::min(low, LoadF32(t + 4ull * j));
          block_min_term_[block_start_[l] + i / kBlockRows] = low;
        }
      }
    }
  }

  IndexType type() const override { return IndexType::kIvfPq; }
  DistanceMetric metric() const override { return h_.metric; }
  uint32_t dim() const override { return h_.dim; }
  uint32_t size() const override { return h_.num_rows; }
  // With second lists (docs/FORMAT.md 3.4.3) a row may enter a candidate
  // pool twice, so a pool holds at least 2 k entries (k distinct rows), and
  // the re-ranks score each row once.
  bool spilled() const { return entries_ != h_.num_rows; }
  uint64_t PoolCap(uint32_t k, uint32_t refine) const {
    const uint64_t want = uint64_t{k} * refine;
    return std::min<uint64_t>(spilled() ? std::max<uint64_t>(want, 2ull * k) : want, entries_);
  }
  // Entries a pool needs before it holds k distinct rows (or every row).
  uint64_t Enough(uint32_t k) const {
    return std::min<uint64_t>(spilled() ? 2ull * k : k, entries_);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override { return blob_; }

  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                              const SearchParams& params,
                                              const RowFilter* filter) const override;

  // Queries in blocks: the coarse step of a block is one matrix product of
  // its queries and the packed centroids.
  arrow::Result<std::vector<std::vector<Neighbor>>> SearchBatch(
      std::span<const float> queries, uint32_t nq, uint32_t k, const SearchParams& params,
      const RowFilter* filter, uint32_t num_threads) const override;

 private:
  // Queries per coarse matrix product in SearchBatch.
  static constexpr uint32_t kCoarseBlock = 32;

  // The query as the codebook's space sees it (unit length for kUnit).
  void PrepareQuery(const float* query, float* out) const;
  // Search given dots[c] = q . centroid_c for the prepared query q.
  arrow::Result<std::vector<Neighbor>> SearchWithDots(const float* query, const float* q,
                                                      const float* dots, uint32_t k,
                                                      const SearchParams& params,
                                                      const RowFilter* filter) const;

  // SearchBatch without a filter, for 4-bit codes whose tables are one per
  // query (inner product, unit vectors, squared L2 with row terms): the
  // probes and tables of a group of queries (ListGroupSize) are made first;
  // each query's nearest list is scanned, and then the other probes grouped
  // by list, each list scanned for every query of the group that probes it
  // while its codes are in cache; then RerankGroup. Queries [q0, q0 + nq)
  // into out. When all the lists fit in kQueryOrderBytes they are scanned
  // query by query instead, which keeps each query's table and pool in
  // cache.
  arrow::Status SearchGroupByList(std::span<const float> queries, uint32_t q0, uint32_t nq,
                                  uint32_t k, const SearchParams& params,
                                  std::vector<std::vector<Neighbor>>* out) const;
  // The lists a search probes and its re-ranking factor (params', else the
  // index's).
  uint32_t NprobeOf(const SearchParams& params) const {
    return std::min(cb_->nlist(), std::max(1u, params.nprobe ? params.nprobe : nprobe_));
  }
  uint32_t RefineOf(const SearchParams& params) const {
    return std::max(1u, params.refine_factor ? params.refine_factor : refine_);
  }
  bool CanGroupByList() const {
    return cb_->ksub() == 16 && (cb_->space() != PqSpace::kL2 || row_terms_ != nullptr);
  }
  // The memory of one group of SearchGroupByList: each query's u8 table (m
  // x 16 bytes), probes, candidate pool and re-ranking state. The more
  // queries a group holds, the more of them probe each list while its codes
  // are in cache (1,000 queries of a 384-d set at nprobe 32: 1.26x the
  // per-query path's QPS; docs/BENCHMARKS.md, session 24), and the more
  // candidates share a row in the re-ranking.
  static constexpr uint64_t kListGroupBytes = uint64_t{16} << 20;
  // Queries per group for these parameters: within kListGroupBytes, and an
  // even share of nq over `threads`.
  uint32_t ListGroupSize(uint32_t nq, uint32_t threads, uint32_t k,
                         const SearchParams& params) const;
  // The exact re-ranking of a group: pairs (row << 32 | query in the group)
  // sorted by row, each query's k nearest into (*out)[q0 + query]. Drops
  // repeated pairs from `pairs`.
  arrow::Status RerankGroup(std::span<const float> queries, uint32_t q0, uint32_t nq, uint32_t k,
                            std::span<uint64_t> pairs,
                            std::vector<std::vector<Neighbor>>* out) const;

  // Adds the ADC scores of the rows of `list` to `cand` (anything with
  // threshold() and Push(row, score)): base + sum_j lut[j][code_j].
  template <class Pool>
  void ScanList(uint32_t list, const ListLut& lut, const RowFilter* filter, Pool* cand,
                ScanScratch* scratch) const;
  // The same for 4-bit codes, 32 rows per kernel step.
  template <class Pool>
  void ScanList4(uint32_t list, const ListLut& lut, const RowFilter* filter, Pool* cand,
                 ScanScratch* scratch) const;
  // 4-bit codes with row terms: the per-query table plus each row's term.
  template <class Pool>
  void ScanList4Terms(uint32_t list, const ListLut& lut, const RowFilter* filter, Pool* cand,
                      ScanScratch* scratch) const;

  friend arrow::Result<std::vector<PartNeighbor>> ailake::SearchSharedIvfPq(
      std::span<const IndexPart> parts, std::span<const float> query, uint32_t k,
      const SearchParams& params);
  friend uint64_t ailake::SharedIvfPqCodebookOf(const VectorIndex& index);

  std::shared_ptr<arrow::Buffer> blob_;
  CommonHeader h_;
  VectorView view_;
  std::shared_ptr<const PqCodebook> cb_;
  uint32_t nprobe_ = 16, refine_ = 4;
  uint32_t entries_ = 0;  // num_rows, and the second entries (kFlagSpilledRows)
  const uint8_t* lists_ = nullptr;
  const uint8_t* ids_ = nullptr;
  const uint8_t* codes_ = nullptr;
  // 4-bit codes under squared L2 (docs/FORMAT.md 3.4.2): a f32 per row in
  // the order of the blocks; null when absent. Read with LoadF32: the blob
  // itself may lie at any address.
  const uint8_t* row_terms_ = nullptr;
  std::vector<float> block_min_term_;  // with row terms: the smallest of each block
  std::vector<uint64_t> block_start_;  // 4-bit codes: first block of each list
  // 4-bit codes: the bytes a scan reads, codes, terms and ids of all lists.
  uint64_t scanned_bytes_ = 0;
};

template <class Pool>
void IvfPqIndex::ScanList(uint32_t list, const ListLut& lut, const RowFilter* filter, Pool* cand,
                          ScanScratch* scratch) const {
  if (row_terms_ != nullptr && lut.rq != nullptr) {
    return ScanList4Terms(list, lut, filter, cand, scratch);
  }
  if (lut.q != nullptr) return ScanList4(list, lut, filter, cand, scratch);
  const uint32_t b = LoadU32(lists_ + 4ull * list), e = LoadU32(lists_ + 4ull * list + 4);
  const uint32_t m = cb_->m();
  std::vector<float>& scores = scratch->scores;
  scores.resize(e - b);
  vec::Kernels().pq_scan(codes_ + static_cast<size_t>(b) * m, e - b, m, lut.f, lut.base,
                         scores.data());
  for (uint32_t i = b; i < e; ++i) {
    const float s = scores[i - b];
    if (s >= cand->threshold()) continue;
    const uint32_t id = LoadU32(ids_ + 4ull * i);
    if (filter != nullptr && !Allowed(filter, id)) continue;
    cand->Push(id, s);
  }
}

template <class Pool>
void IvfPqIndex::ScanList4(uint32_t list, const ListLut& lut, const RowFilter* filter, Pool* cand,
                           ScanScratch* scratch) const {
  const uint32_t b = LoadU32(lists_ + 4ull * list), e = LoadU32(lists_ + 4ull * list + 4);
  if (b == e) return;
  const uint32_t m = cb_->m();
  const size_t nblocks = (e - b + kBlockRows - 1) / kBlockRows;
  std::vector<uint16_t>& sums = scratch->sums;
  std::vector<uint32_t>& masks = scratch->masks;
  sums.resize(nblocks * kBlockRows);
  masks.resize(nblocks);
  // A row may enter the pool when bias + scale * sum < threshold, that is
  // when sum < (threshold - bias) / scale: the comparison stays in integers
  // until a row passes it (sum <= that bound, a step of slack for rounding;
  // the pool checks the score itself). The kernel marks the rows under the
  // limit as the list starts; the limit only falls as rows enter.
  auto limit = [&]() -> uint32_t {
    const float f = (cand->threshold() - lut.bias) / lut.scale;
    if (!(f < 65535.0f)) return 65536;  // an open pool, or a NaN threshold
    return f < 0 ? 0 : static_cast<uint32_t>(f) + 1;
  };
  uint32_t lim = limit();
  vec::Kernels().pq4_scan(codes_ + block_start_[list] * 16 * PaddedM(m), nblocks, m, lut.q, &lim, 0,
                          sums.data(), masks.data());
  ForEachMarked(masks.data(), nblocks, e - b, [&](uint32_t i) {
    if (sums[i] >= lim) return;
    const uint32_t id = LoadU32(ids_ + 4ull * (b + i));
    if (filter != nullptr && !Allowed(filter, id)) return;
    cand->Push(id, lut.bias + lut.scale * static_cast<float>(sums[i]));
    lim = limit();
  });
}

template <class Pool>
void IvfPqIndex::ScanList4Terms(uint32_t list, const ListLut& lut, const RowFilter* filter,
                                Pool* cand, ScanScratch* scratch) const {
  const uint32_t b = LoadU32(lists_ + 4ull * list), e = LoadU32(lists_ + 4ull * list + 4);
  if (b == e) return;
  const uint32_t m = cb_->m(), count = e - b;
  const size_t nblocks = (count + kBlockRows - 1) / kBlockRows;
  std::vector<uint16_t>& sums = scratch->sums;
  std::vector<uint32_t>& masks = scratch->masks;
  std::vector<uint32_t>& limits = scratch->limits;
  sums.resize(nblocks * kBlockRows);
  masks.resize(nblocks);
  limits.resize(nblocks);
  // A row may enter the pool when rbias + term + rscale * sum < threshold.
  // With the smallest term of the row's block that gives one integer bound
  // per block (a step of slack for rounding), which the kernel tests as it
  // sums; a row under it is then scored with its own term. Lists are
  // written sorted by term, so a block's terms are close together and its
  // bound nearly the rows' own.
  const float thr = cand->threshold();
  const float* block_min = block_min_term_.data() + block_start_[list];
  for (size_t k = 0; k < nblocks; ++k) {
    const float f = (thr - lut.rbias - block_min[k]) / lut.rscale;
    // An open pool (or a NaN threshold) passes every row.
    limits[k] = !(f < 65535.0f) ? 65536u : f < 0 ? 0u : static_cast<uint32_t>(f) + 1;
  }
  // The list's terms and ids load while the kernel sums its codes.
  const uint8_t* terms = row_terms_ + block_start_[list] * kBlockRows * 4;
  for (uint32_t i = 0; i < count; i += 16) {
    vec::PrefetchLine(terms + 4ull * i);
    vec::PrefetchLine(ids_ + 4ull * (b + i));
  }
  vec::Kernels().pq4_scan(codes_ + block_start_[list] * 16 * PaddedM(m), nblocks, m, lut.rq,
                          limits.data(), 1, sums.data(), masks.data());
  // A marked block's 32 scores at once (the compiler's SIMD), tested against
  // the pool's threshold as the block starts; the rows under it are pushed,
  // each tested again as the threshold falls.
  for (size_t blk = 0; blk < nblocks; ++blk) {
    uint32_t bits = masks[blk];
    const uint32_t first = static_cast<uint32_t>(blk) * kBlockRows;
    if (count - first < kBlockRows) bits &= (uint32_t{1} << (count - first)) - 1;
    if (bits == 0) continue;
    const uint8_t* block_terms = terms + 4ull * first;
    const uint16_t* block_sums = sums.data() + first;
    float s[kBlockRows];
    for (uint32_t j = 0; j < kBlockRows; ++j) {
      s[j] = lut.rbias + LoadF32(block_terms + 4ull * j) +
             lut.rscale * static_cast<float>(block_sums[j]);
    }
    const float thr = cand->threshold();
    uint32_t under = 0;
    for (uint32_t j = 0; j < kBlockRows; ++j) under |= (s[j] < thr ? uint32_t{1} : 0u) << j;
    bits &= under;
    while (bits != 0) {
      const auto j = static_cast<uint32_t>(__builtin_ctz(bits));
      bits &= bits - 1;
      if (!(s[j] < cand->threshold())) continue;
      const uint32_t id = LoadU32(ids_ + 4ull * (b + first + j));
      if (filter != nullptr && !Allowed(filter, id)) continue;
      cand->Push(id, s[j]);
    }
  }
}

void IvfPqIndex::PrepareQuery(const float* query, float* out) const {
  std::memcpy(out, query, size_t{h_.dim} * 4);
  if (cb_->space() == PqSpace::kUnit) vec::NormalizeRows(out, 1, h_.dim);
}

arrow::Result<std::vector<Neighbor>> IvfPqIndex::Search(std::span<const float> query, uint32_t k,
                                                        const SearchParams& params,
                                                        const RowFilter* filter) const {
  const uint32_t d = h_.dim;
  if (query.size() != d) {
    return arrow::Status::Invalid("IvfPqIndex::Search: query has ", query.size(),
                                  " floats, index dim is ", d);
  }
  if (h_.num_rows == 0 || k == 0) return std::vector<Neighbor>{};
  thread_local std::vector<float> q, dots;
  q.resize(d);
  dots.resize(cb_->nlist());
  PrepareQuery(query.data(), q.data());
  vec::InnerProducts(q.data(), 1, cb_->PackedCentroids(), dots.data(), cb_->nlist());
  return SearchWithDots(query.data(), q.data(), dots.data(), k, params, filter);
}

arrow::Result<std::vector<std::vector<Neighbor>>> IvfPqIndex::SearchBatch(
    std::span<const float> queries, uint32_t nq, uint32_t k, const SearchParams& params,
    const RowFilter* filter, uint32_t num_threads) const {
  const uint32_t d = h_.dim, nlist = cb_->nlist();
  if (queries.size() != static_cast<size_t>(nq) * d) {
    return arrow::Status::Invalid("IvfPqIndex::SearchBatch: ", queries.size(), " floats is not ",
                                  nq, " queries of dim ", d);
  }
  std::vector<std::vector<Neighbor>> out(nq);
  if (h_.num_rows == 0 || k == 0 || nq == 0) return out;
  const vec::PackedRows& packed = cb_->PackedCentroids();
  std::mutex err_mu;
  arrow::Status first_error;
  if (filter == nullptr && CanGroupByList()) {
    const uint32_t group = ListGroupSize(nq, vec::ResolveThreads(num_threads, nq), k, params);
    const uint32_t groups = (nq + group - 1) / group;
    vec::ParallelFor(
        groups, vec::ResolveThreads(num_threads, groups), 1, [&](size_t b, size_t e, uint32_t) {
          for (size_t g = b; g < e; ++g) {
            const uint32_t q0 = static_cast<uint32_t>(g) * group;
            auto st = SearchGroupByList(queries, q0, std::min(group, nq - q0), k, params, &out);
            if (!st.ok()) {
              std::lock_guard<std::mutex> lock(err_mu);
              if (first_error.ok()) first_error = st;
            }
          }
        });
    ARROW_RETURN_NOT_OK(first_error);
    return out;
  }
  const uint32_t blocks = (nq + kCoarseBlock - 1) / kCoarseBlock;
  vec::ParallelFor(blocks, vec::ResolveThreads(num_threads, blocks), 1,
                   [&](size_t b, size_t e, uint32_t) {
                     std::vector<float> q(size_t{kCoarseBlock} * d);
                     std::vector<float> dots(size_t{kCoarseBlock} * nlist);
                     for (size_t blk = b; blk < e; ++blk) {
                       const uint32_t q0 = static_cast<uint32_t>(blk) * kCoarseBlock;
                       const uint32_t bq = std::min(kCoarseBlock, nq - q0);
                       for (uint32_t i = 0; i < bq; ++i) {
                         PrepareQuery(&queries[size_t{q0 + i} * d], &q[size_t{i} * d]);
                       }
                       vec::InnerProducts(q.data(), bq, packed, dots.data(), nlist);
                       for (uint32_t i = 0; i < bq; ++i) {
                         auto r = SearchWithDots(&queries[size_t{q0 + i} * d], &q[size_t{i} * d],
                                                 &dots[size_t{i} * nlist], k, params, filter);
                         if (r.ok()) {
                           out[q0 + i] = std::move(*r);
                         } else {
                           std::lock_guard<std::mutex> lock(err_mu);
                           if (first_error.ok()) first_error = r.status();
                         }
                       }
                     }
                   });
  ARROW_RETURN_NOT_OK(first_error);
  return out;
}

uint32_t IvfPqIndex::ListGroupSize(uint32_t nq, uint32_t threads, uint32_t k,
                                   const SearchParams& params) const {
  const uint64_t nprobe = NprobeOf(params);
  const uint64_t cap = PoolCap(k, RefineOf(params));
  // Its table, probes, candidate pool, re-ranking pairs (twice, for the
  // sort), query scorer and top k.
  const uint64_t per_query = uint64_t{PaddedM(cb_->m())} * 16 + nprobe * 12 +
                             std::min<uint64_t>(2 * cap, 8192) * 8 + cap * 16 +
                             uint64_t{h_.dim} * 4 + uint64_t{k} * 8 + 128;
  const uint64_t fit = std::max<uint64_t>(1, kListGroupBytes / per_query);
  return static_cast<uint32_t>(std::min<uint64_t>(fit, (nq + threads - 1) / threads));
}

arrow::Status IvfPqIndex::SearchGroupByList(std::span<const float> queries, uint32_t q0,
                                            uint32_t nq, uint32_t k, const SearchParams& params,
                                            std::vector<std::vector<Neighbor>>* out) const {
  const uint32_t d = h_.dim, nlist = cb_->nlist(), m = cb_->m(), m2 = PaddedM(m);
  const uint32_t nprobe = NprobeOf(params), refine = RefineOf(params);
  const bool ip = cb_->space() == PqSpace::kInnerProduct;
  const bool shared = cb_->space() != PqSpace::kL2;  // else row terms
  const vec::PackedRows& packed = cb_->PackedCentroids();

  // Per query: its u8 table, the table's offset and step, and its probes
  // (list, coarse distance or -q.c), nprobe per query.
  std::vector<uint8_t> tables(size_t{nq} * m2 * 16);
  std::vector<float> offset(nq), step(nq);
  struct Probe {
    uint32_t list, query;
    float base;
  };
  std::vector<Probe> probes(size_t{nq} * nprobe);
  {
    std::vector<float> q(size_t{kCoarseBlock} * d), dots(size_t{kCoarseBlock} * nlist),
        coarse(nlist);
    std::vector<float> f;
    std::vector<uint8_t> u8;
    std::vector<uint32_t> order(nlist);
    for (uint32_t b = 0; b < nq; b += kCoarseBlock) {
      const uint32_t bq = std::min(kCoarseBlock, nq - b);
      for (uint32_t i = 0; i < bq; ++i) {
        PrepareQuery(&queries[size_t{q0 + b + i} * d], &q[size_t{i} * d]);
      }
      vec::InnerProducts(q.data(), bq, packed, dots.data(), nlist);
      for (uint32_t i = 0; i < bq; ++i) {
        const uint32_t qi = b + i;
        const float* qv = &q[size_t{i} * d];
        const float* dq = &dots[size_t{i} * nlist];
        // As ProbeLists computes them, so a batch probes what Search does.
        CoarseDistances(ip, qv, d, packed, dq, coarse.data());
        NearestLists(coarse.data(), nlist, nprobe, false, &order);
        for (uint32_t j = 0; j < nprobe; ++j) {
          const uint32_t list = order[j];
          probes[size_t{qi} * nprobe + j] = {list, qi, shared ? -dq[list] : coarse[list]};
        }
        QueryTable(*cb_, qv, shared ? -1.0f : -2.0f, &f);
        offset[qi] = QuantizeLut4(f.data(), nullptr, m, &u8, &step[qi]);
        std::copy(u8.begin(), u8.end(), tables.begin() + static_cast<ptrdiff_t>(qi) * m2 * 16);
      }
    }
  }
  const uint64_t cap = PoolCap(k, refine);
  std::vector<CandidatePool<uint32_t>> cand;
  cand.reserve(nq);
  for (uint32_t i = 0; i < nq; ++i) cand.emplace_back(cap);
  ScanScratch scratch;
  auto scan = [&](const Probe& p) {
    ListLut t;
    const uint8_t* table = &tables[size_t{p.query} * m2 * 16];
    if (shared) {
      t.base = p.base;
      t.q = table;
      t.bias = p.base + offset[p.query];
      t.scale = step[p.query];
    } else {
      t.rq = table;
      t.rbias = p.base + offset[p.query];
      t.rscale = step[p.query];
    }
    ScanList(p.list, t, nullptr, &cand[p.query], &scratch);
  };
  if (scanned_bytes_ <= query_order_bytes.load(std::memory_order_relaxed)) {
    // Lists that stay in cache: query by query, nearest list first, so that
    // each query's table and pool stay in cache too.
    for (const Probe& p : probes) scan(p);
    probes.clear();
  }
  // Each query's nearest list first, query by query, so that its pool's
  // threshold is already tight when the rest arrive in list order (fewer
  // rows pass the scan kernel's integer bound and enter the pool).
  for (size_t i = 0; i < probes.size(); i += nprobe) scan(probes[i]);
  // The rest grouped by list (a stable sort: within a list, queries in order).
  size_t at = 0;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (i % nprobe != 0) probes[at++] = probes[i];
  }
  probes.resize(at);
  std::stable_sort(probes.begin(), probes.end(),
                   [](const Probe& a, const Probe& b) { return a.list < b.list; });
  for (const Probe& p : probes) scan(p);
  // Exact re-ranking of the whole group in row order. A query whose probed
  // lists hold fewer than k rows probes on by itself.
  std::vector<uint64_t> pairs;  // (row << 32) | query
  for (uint32_t i = 0; i < nq; ++i) {
    if (cand[i].size() < Enough(k)) {
      ARROW_ASSIGN_OR_RAISE((*out)[q0 + i],
                            Search({&queries[size_t{q0 + i} * d], d}, k, params, nullptr));
      continue;
    }
    for (const auto& c : cand[i].TakeUnordered()) pairs.push_back(uint64_t{c.key} << 32 | i);
  }
  cand.clear();
  SortByHighWord(&pairs, h_.num_rows);
  return RerankGroup(queries, q0, nq, k, pairs, out);
}

arrow::Status IvfPqIndex::RerankGroup(std::span<const float> queries, uint32_t q0, uint32_t nq,
                                      uint32_t k, std::span<uint64_t> pairs,
                                      std::vector<std::vector<Neighbor>>* out) const {
  // The group's candidates, sorted by row: each row is read once, however
  // many queries re-rank it (1,000 queries of the real 384-d set re-rank
  // 2.2 candidates per distinct row at refine 16), and the rows come in
  // file order. A query that holds a row twice (its two lists, 3.4.3) has
  // its pairs side by side (the sort is stable and pairs were added query
  // by query): one is dropped.
  std::vector<uint32_t> rows;
  std::vector<uint32_t> starts;  // rows[j]'s pairs are [starts[j], starts[j + 1])
  size_t kept = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (kept != 0 && pairs[i] == pairs[kept - 1]) continue;
    pairs[kept++] = pairs[i];
    const auto r = static_cast<uint32_t>(pairs[i] >> 32);
    if (rows.empty() || rows.back() != r) {
      rows.push_back(r);
      starts.push_back(static_cast<uint32_t>(kept - 1));
    }
  }
  pairs = pairs.first(kept);
  starts.push_back(static_cast<uint32_t>(pairs.size()));
  if (view_.on_demand()) ARROW_RETURN_NOT_OK(view_.Fetch(rows));
  const uint32_t d = h_.dim;
  std::vector<vec::QueryScorer> scorers;
  std::vector<TopK> tops;
  scorers.reserve(nq);
  tops.reserve(nq);
  for (uint32_t i = 0; i < nq; ++i) {
    scorers.emplace_back(h_.metric, view_.precision(), d, view_.int8());
    scorers.back().SetQuery(&queries[size_t{q0 + i} * d]);
    tops.emplace_back(k);
  }
  const vec::KernelTable& kt = vec::Kernels();
  const bool norm_once =
      h_.metric == DistanceMetric::kCosine && view_.precision() == Precision::kF32;
  vec::VisitRowsPrefetched(
      rows.size(), view_.row_bytes(), [&](size_t j) { return view_.Row(rows[j]); },
      [&](size_t j) {
        const uint8_t* v = view_.Row(rows[j]);
        if (norm_once && starts[j + 1] - starts[j] > 1) {
          // Cosine over f32 rows: the row's norm once, a dot product per query.
          const auto* vf = reinterpret_cast<const float*>(v);
          const float vv = kt.dot_f32(vf, vf, d);
          for (uint32_t p = starts[j]; p < starts[j + 1]; ++p) {
            const auto i = static_cast<uint32_t>(pairs[p]);
            tops[i].Push(rows[j], scorers[i].CosineF32GivenNorm2(vf, vv));
          }
          return;
        }
        for (uint32_t p = starts[j]; p < starts[j + 1]; ++p) {
          const auto i = static_cast<uint32_t>(pairs[p]);
          tops[i].Push(rows[j], scorers[i].Distance(v));
        }
      });
  for (uint32_t i = 0; i < nq; ++i) {
    if (tops[i].size() != 0) (*out)[q0 + i] = tops[i].Take();
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<Neighbor>> IvfPqIndex::SearchWithDots(const float* query, const float* q,
                                                                const float* dots, uint32_t k,
                                                                const SearchParams& params,
                                                                const RowFilter* filter) const {
  const uint32_t d = h_.dim;
  const uint32_t nprobe = NprobeOf(params), refine = RefineOf(params);
  if (filter != nullptr) {
    // So few allowed rows that the re-ranking pool could hold them all: scan
    // them exactly instead of hoping the probed lists contain them.
    const uint64_t allowed = CountAllowed(filter, h_.num_rows);
    if (allowed == 0) return std::vector<Neighbor>{};
    if (allowed <= 4ull * k * refine) {
      if (view_.on_demand()) {
        std::vector<uint32_t> rows;
        rows.reserve(allowed);
        for (uint32_t r = 0; r < h_.num_rows; ++r) {
          if (Allowed(filter, r)) rows.push_back(r);
        }
        ARROW_RETURN_NOT_OK(view_.Fetch(rows));
      }
      return ExactSearch(view_, h_.metric, query, k, filter);
    }
  }
  CandidatePool<uint32_t> cand(PoolCap(k, refine));
  const bool four = cb_->ksub() == 16;
  thread_local ScanScratch scratch_of_thread;
  ScanScratch* scratch = &scratch_of_thread;
  ProbeLists(
      *cb_, q, dots, nprobe, four && row_terms_ != nullptr, four && row_terms_ == nullptr,
      [&](uint32_t list, const ListLut& lut) { ScanList(list, lut, filter, &cand, scratch); },
      [&] { return cand.size() >= Enough(k); });

  // Exact re-ranking: every returned distance is the metric's true distance.
  thread_local std::vector<uint32_t> rows;
  rows.clear();
  for (const auto& c : cand.TakeUnordered()) rows.push_back(c.key);  // TopK ranks them
  if (spilled()) {  // a row found in both its lists is scored once
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  }
  if (view_.on_demand()) ARROW_RETURN_NOT_OK(view_.Fetch(rows));
  vec::QueryScorer scorer(h_.metric, view_.precision(), d, view_.int8());
  scorer.SetQuery(query);
  TopK top(k);
  RerankRows(view_, rows, [&](uint32_t r, const uint8_t* v) { top.Push(r, scorer.Distance(v)); });
  return top.Take();
}

// The k smallest (score, part, row) of several indexes: TopK with the part
// in the high half of a 64-bit key (ties break by part, then row).
class PartTopK {
 public:
  explicit PartTopK(uint64_t k) : k_(k) {}
  bool full() const { return heap_.size() >= k_; }
  size_t size() const { return heap_.size(); }
  float threshold() const {
    return full() && k_ > 0 ? heap_.front().first : std::numeric_limits<float>::infinity();
  }
  void Push(uint32_t part, uint32_t row, float score) {
    if (k_ == 0) return;
    if (score != score) score = std::numeric_limits<float>::infinity();
    const Entry e{score, (uint64_t{part} << 32) | row};
    if (!full()) {
      heap_.push_back(e);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (e < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = e;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  std::vector<PartNeighbor> Take() {
    std::sort_heap(heap_.begin(), heap_.end());
    std::vector<PartNeighbor> out;
    out.reserve(heap_.size());
    for (const auto& [score, key] : heap_) {
      out.push_back({static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key), score});
    }
    heap_.clear();
    return out;
  }

 private:
  using Entry = std::pair<float, uint64_t>;
  uint64_t k_;
  std::vector<Entry> heap_;
};

// One part's view of the candidates of several parts (key: part in the high
// half, row in the low), as ScanList pushes into it.
struct PartSink {
  CandidatePool<uint64_t>* pool;
  uint32_t part;
  float threshold() const { return pool->threshold(); }
  void Push(uint32_t row, float score) { pool->Push((uint64_t{part} << 32) | row, score); }
};

// Row terms (docs/FORMAT.md 3.4.2): only with 4-bit codes under squared
// L2, in range and 4-aligned, every value finite, and those of an even
// sample of up to 1,024 rows equal (to a relative 1e-4) to the sums their
// codes give.
arrow::Status CheckRowTerms(const uint8_t* p, uint64_t size, const PqCodebook& cb, uint64_t blocks,
                            uint64_t off) {
  if (cb.ksub() != 16 || cb.space() != PqSpace::kL2) {
    return arrow::Status::Invalid(
        "IVF-PQ blob: row terms (offset 136) are only for 4-bit codes under squared L2");
  }
  if (off % 4 != 0) {
    return arrow::Status::Invalid("IVF-PQ blob: row terms at ", off, " are not 4-byte aligned");
  }
  ARROW_RETURN_NOT_OK(CheckSection(size, off, blocks * kBlockRows, 4, "ivf_pq.row_terms"));
  const uint64_t count = blocks * kBlockRows;
  for (uint64_t i = 0; i < count; ++i) {
    if (!std::isfinite(LoadF32(p + off + 4 * i))) {
      return arrow::Status::Invalid("IVF-PQ blob: row term ", i, " is not finite");
    }
  }
  const uint32_t nlist = cb.nlist(), m = cb.m(), m2 = PaddedM(m);
  const uint8_t* lists = p + LoadU64(p + kListsAt);
  const uint8_t* codes = p + LoadU64(p + kCodesAt);
  const uint32_t n = LoadU32(lists + 4ull * nlist);
  const uint32_t step = std::max(1u, n / 1024);
  std::vector<float> table;
  uint64_t first_block = 0;
  uint32_t next = 0;  // the next sampled entry
  for (uint32_t l = 0; l < nlist && next < n; ++l) {
    const uint32_t b = LoadU32(lists + 4ull * l), e = LoadU32(lists + 4ull * l + 4);
    if (next < e) ListTermTable(cb, l, &table);
    for (; next < e; next += step) {
      const uint32_t i = next - b;
      const uint64_t block = first_block + i / kBlockRows;
      const uint8_t* blk = codes + block * 16 * m2;
      float want = 0;
      for (uint32_t j = 0; j < m; ++j)
        want += table[size_t{j} * 16 + BlockCode(blk, j, i % kBlockRows)];
      const float got = LoadF32(p + off + 4 * (block * kBlockRows + i % kBlockRows));
      if (!(std::fabs(got - want) <= 1e-4f * (std::fabs(want) + 1.0f))) {
        return arrow::Status::Invalid("IVF-PQ blob: row term of entry ", next, " is ", got,
                                      ", its codes give ", want);
      }
    }
    first_block += (e - b + kBlockRows - 1) / kBlockRows;
  }
  return arrow::Status::OK();
}

arrow::Status Validate(const std::shared_ptr<arrow::Buffer>& blob_ptr, const CommonHeader& h,
                       std::shared_ptr<const IvfPqCodebook> external,
                       std::shared_ptr<const PqCodebook>* codebook) {
  const uint8_t* p = blob_ptr->data();
  const uint64_t size = static_cast<uint64_t>(blob_ptr->size());
  if (size < kIvfHeaderBytes) {
    return arrow::Status::Invalid("IVF-PQ blob: ", size, " bytes is shorter than its header");
  }
  const uint32_t nlist = LoadU32(p + kNlistAt), m = LoadU32(p + kMAt),
                 nbits = LoadU32(p + kNbitsAt);
  if ((nbits != 4 && nbits != 8) || m == 0 || h.dim % m != 0 || nlist == 0 || nlist > (1u << 20) ||
      LoadU32(p + kNprobeAt) == 0 || LoadU32(p + kRefineAt) == 0 ||
      LoadU32(p + kRefineAt) > kMaxRefine) {
    return arrow::Status::Invalid("IVF-PQ blob: parameters at offset 64 are invalid (nlist ", nlist,
                                  ", m ", m, ", nbits ", nbits, ", dim ", h.dim, ")");
  }
  if ((h.flags & ~(kFlagExternalCodebook | kFlagSpilledRows)) != 0) {
    return arrow::Status::Invalid("IVF-PQ blob: unknown flags ", h.flags);
  }
  const uint64_t fingerprint = LoadU64(p + kFingerprintAt);
  if ((h.flags & kFlagExternalCodebook) != 0) {
    if (external == nullptr) {
      return arrow::Status::Invalid("IVF-PQ blob: built with a shared codebook (fingerprint ",
                                    fingerprint, "); pass it to LoadIndex");
    }
    if (external->fingerprint() != fingerprint) {
      return arrow::Status::Invalid("IVF-PQ blob: needs codebook ", fingerprint,
                                    ", the one given is ", external->fingerprint());
    }
    *codebook = std::dynamic_pointer_cast<const PqCodebook>(std::move(external));
    if (*codebook == nullptr) return arrow::Status::Invalid("IVF-PQ blob: foreign codebook type");
  } else {
    const uint64_t off = LoadU64(p + kCodebookOffAt), bytes = LoadU64(p + kCodebookBytesAt);
    ARROW_RETURN_NOT_OK(CheckSection(size, off, bytes, 1, "ivf_pq.codebook"));
    // The slice keeps the index blob alive for as long as the codebook lives.
    auto slice =
        arrow::SliceBuffer(blob_ptr, static_cast<int64_t>(off), static_cast<int64_t>(bytes));
    ARROW_ASSIGN_OR_RAISE(*codebook, PqCodebook::Open(std::move(slice)));
    if ((*codebook)->fingerprint() != fingerprint) {
      return arrow::Status::Invalid("IVF-PQ blob: embedded codebook fingerprint mismatch");
    }
  }
  const PqCodebook& cb = **codebook;
  if (cb.dim() != h.dim || cb.nlist() != nlist || cb.m() != m || cb.nbits() != nbits ||
      cb.space() != SpaceOf(h.metric)) {
    return arrow::Status::Invalid("IVF-PQ blob: codebook (dim ", cb.dim(), ", nlist ", cb.nlist(),
                                  ", m ", cb.m(), ", nbits ", cb.nbits(),
                                  ") does not match the index (nbits ", nbits, ")");
  }
  const uint32_t rows = h.num_rows;
  // Entries: the rows, and with flag kFlagSpilledRows those that sit in a
  // second list too (docs/FORMAT.md 3.4.3).
  const uint32_t spilled = LoadU32(p + kSpilledAt);
  if ((h.flags & kFlagSpilledRows) == 0 ? spilled != 0 : spilled == 0 || spilled > rows) {
    return arrow::Status::Invalid(
        "IVF-PQ blob: ", spilled, " rows in a second list (offset 84)",
        (h.flags & kFlagSpilledRows) == 0 ? " without flag bit 4" : " is not in 1 .. num_rows");
  }
  if (uint64_t{rows} + spilled > std::numeric_limits<uint32_t>::max()) {
    return arrow::Status::Invalid("IVF-PQ blob: ", rows, " rows and ", spilled,
                                  " second entries pass the u32 list offsets");
  }
  const uint32_t n = rows + spilled;  // entries
  const uint64_t lists = LoadU64(p + kListsAt), ids = LoadU64(p + kIdsAt),
                 codes = LoadU64(p + kCodesAt);
  ARROW_RETURN_NOT_OK(CheckSection(size, lists, uint64_t{nlist} + 1, 4, "ivf_pq.lists"));
  ARROW_RETURN_NOT_OK(CheckSection(size, ids, n, 4, "ivf_pq.ids"));
  if (nbits == 8) ARROW_RETURN_NOT_OK(CheckSection(size, codes, n, m, "ivf_pq.codes"));
  uint32_t prev = 0;
  uint64_t blocks = 0;  // 4-bit: 32-row blocks of every list
  if (LoadU32(p + lists) != 0) return arrow::Status::Invalid("IVF-PQ blob: list 0 starts past 0");
  for (uint32_t l = 1; l <= nlist; ++l) {
    const uint32_t v = LoadU32(p + lists + 4ull * l);
    if (v < prev || v > n) {
      return arrow::Status::Invalid("IVF-PQ blob: list ", l - 1, " ends at ", v, " (previous ",
                                    prev, ", entries ", n, ")");
    }
    blocks += (uint64_t{v} - prev + kBlockRows - 1) / kBlockRows;
    prev = v;
  }
  if (prev != n)
    return arrow::Status::Invalid("IVF-PQ blob: lists hold ", prev, " of ", n, " entries");
  if (nbits == 4) {
    ARROW_RETURN_NOT_OK(
        CheckSection(size, codes, blocks, uint64_t{16} * PaddedM(m), "ivf_pq.codes (4-bit)"));
  }
  if (const uint64_t terms = LoadU64(p + kRowTermsAt); terms != 0) {
    ARROW_RETURN_NOT_OK(CheckRowTerms(p, size, cb, blocks, terms));
  }
  // Every row in the lists once, and with second lists `spilled` of them
  // twice (the entries count them: every row seen and none a third time).
  std::vector<uint64_t> seen((rows + 63) / 64, 0), twice(spilled == 0 ? 0 : seen.size(), 0);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t id = LoadU32(p + ids + 4ull * i);
    if (id >= rows) {
      return arrow::Status::Invalid("IVF-PQ blob: entry ", i, " names row ", id, " >= ", rows);
    }
    const uint64_t bit = uint64_t{1} << (id & 63);
    if ((seen[id >> 6] & bit) == 0) {
      seen[id >> 6] |= bit;
    } else if (spilled == 0) {
      return arrow::Status::Invalid("IVF-PQ blob: entry ", i, " names row ", id,
                                    " a second time (lists must hold each row once)");
    } else if ((twice[id >> 6] & bit) != 0) {
      return arrow::Status::Invalid("IVF-PQ blob: entry ", i, " names row ", id,
                                    " a third time (a row sits in at most two lists)");
    } else {
      twice[id >> 6] |= bit;
    }
  }
  // n entries, none a third time: a row missing means another is held twice
  // more than `spilled` allows, so counting the rows seen suffices.
  uint64_t held = 0;
  for (uint64_t w : seen) held += static_cast<uint64_t>(std::popcount(w));
  if (held != rows) {
    return arrow::Status::Invalid("IVF-PQ blob: the lists hold ", held, " of ", rows, " rows");
  }
  return arrow::Status::OK();
}

// Assigns rows to lists (nearest centroid; max inner product in IP space) and
// PQ-encodes their residuals.
void EncodeAll(const VectorView& vectors, const PqCodebook& cb, uint32_t threads,
               std::vector<uint32_t>* list_of, std::vector<uint8_t>* codes) {
  const uint32_t n = vectors.num_rows(), d = vectors.dim(), m = cb.m();
  const std::vector<float> centroids = cb.Centroids();
  const std::vector<float> words = cb.Codewords();
  const vec::PackedRows packed = vec::PackRows(centroids.data(), cb.nlist(), d);
  list_of->resize(n);
  codes->resize(size_t{n} * m);
  constexpr size_t kChunk = 1024;
  vec::ParallelFor(n, threads, kChunk, [&](size_t b, size_t e, uint32_t) {
    const size_t cnt = e - b;
    std::vector<float> x(cnt * d), dist(cnt);
    DecodeRowsForSpace(vectors, cb.space(), b, e, x.data());
    uint32_t* assign = list_of->data() + b;
    if (cb.space() == PqSpace::kInnerProduct) {
      std::vector<float> ip(cnt * cb.nlist());
      vec::InnerProducts(x.data(), cnt, packed, ip.data(), cb.nlist());
      for (size_t i = 0; i < cnt; ++i) {
        const float* r = &ip[i * cb.nlist()];
        assign[i] = static_cast<uint32_t>(std::max_element(r, r + cb.nlist()) - r);
      }
    } else {
      vec::NearestL2(x.data(), cnt, packed, assign, dist.data());
    }
    for (size_t i = 0; i < cnt; ++i) {
      const float* c = &centroids[size_t{assign[i]} * d];
      for (uint32_t t = 0; t < d; ++t) x[i * d + t] -= c[t];
    }
    vec::EncodeProductQuantizer(words.data(), d, m, cb.ksub(), x.data(), cnt, codes->data() + b * m,
                                1);
  });
}

constexpr uint32_t kNoList = ~0u;
// A row's second list is the best, by the loss below, of the lists nearest
// to it after its own.
constexpr uint32_t kSpillCandidates = 8;
// The weight of the loss's parallel part: |x - c'|^2 + kSpillParallel *
// <r, x - c'>^2 / |r|^2, r = x - c the row's residual in its own list.
// A second list whose residual is parallel to r errs the same way for the
// queries that its first list misses; 1 measured best of 0, 1, 2 and 4
// (bench/vector/ivf_spill_rows.py).
constexpr float kSpillParallel = 1.0f;

// Each row's second list (kSpillCandidates nearest after its own, by the
// loss above) and the PQ code of its residual there (n x m).
void SecondLists(const VectorView& vectors, const PqCodebook& cb, uint32_t threads,
                 const std::vector<uint32_t>& list_of, std::vector<uint32_t>* second,
                 std::vector<uint8_t>* codes) {
  const uint32_t n = vectors.num_rows(), d = vectors.dim(), m = cb.m(), nlist = cb.nlist();
  const std::vector<float> centroids = cb.Centroids();
  const std::vector<float> words = cb.Codewords();
  const vec::PackedRows& packed = cb.PackedCentroids();
  second->assign(n, kNoList);
  codes->resize(size_t{n} * m);
  constexpr size_t kChunk = 256;
  vec::ParallelFor(n, threads, kChunk, [&](size_t b, size_t e, uint32_t) {
    const size_t cnt = e - b;
    std::vector<float> x(cnt * d), ip(cnt * nlist), res(cnt * d);
    DecodeRowsForSpace(vectors, cb.space(), b, e, x.data());
    vec::InnerProducts(x.data(), cnt, packed, ip.data(), nlist);
    std::pair<float, uint32_t> near[kSpillCandidates];
    for (size_t i = 0; i < cnt; ++i) {
      const float* xi = &x[i * d];
      const uint32_t own = list_of[b + i];
      // The nearest lists after its own, by |x - c|^2 - |x|^2.
      uint32_t held = 0;
      for (uint32_t c = 0; c < nlist; ++c) {
        const float dist = packed.norms2[c] - 2.0f * ip[i * nlist + c];
        if (c == own || (held == kSpillCandidates && !(dist < near[held - 1].first))) continue;
        uint32_t at = held < kSpillCandidates ? held++ : held - 1;
        for (; at > 0 && dist < near[at - 1].first; --at) near[at] = near[at - 1];
        near[at] = {dist, c};
      }
      const float* c1 = &centroids[size_t{own} * d];
      float rr = 0;
      for (uint32_t t = 0; t < d; ++t) rr += (xi[t] - c1[t]) * (xi[t] - c1[t]);
      if (!(rr > 0)) continue;  // on its centroid: a second list adds nothing
      float best = std::numeric_limits<float>::infinity();
      for (uint32_t j = 0; j < held; ++j) {
        const float* c2 = &centroids[size_t{near[j].second} * d];
        float dd = 0, par = 0;
        for (uint32_t t = 0; t < d; ++t) {
          const float r2 = xi[t] - c2[t];
          dd += r2 * r2;
          par += (xi[t] - c1[t]) * r2;
        }
        const float loss = dd + kSpillParallel * par * par / rr;
        if (loss < best) {
          best = loss;
          (*second)[b + i] = near[j].second;
        }
      }
      const uint32_t to = (*second)[b + i];
      if (to == kNoList) continue;
      const float* c2 = &centroids[size_t{to} * d];
      for (uint32_t t = 0; t < d; ++t) res[i * d + t] = xi[t] - c2[t];
    }
    vec::EncodeProductQuantizer(words.data(), d, m, cb.ksub(), res.data(), cnt,
                                codes->data() + b * m, 1);
  });
}

// Whether second lists let a search reach the same coarse recall scanning
// fewer rows, measured with up to 256 sample rows as queries: their exact
// 10 nearest other rows, and how many rows the nearest p lists hold when
// they first hold each of them (p up to 64), with and without the second
// lists. Spills when, at coarse recall 0.95 (or the highest both reach),
// the second lists need at most 0.85 as many rows, and at 0.90 no more.
// Counted with the benchmark's own queries (bench/vector/ivf_spill_rows.py),
// second lists need 0.49x / 0.62x the rows at 0.95 / 0.90 on the real
// 132,876 x 384 set, which spills, and 1.5x / 1.4x on the hard 100k x 96
// set (a few large clusters, whose lists the second copies double), which
// does not.
bool SpillPays(const VectorView& vectors, const PqCodebook& cb,
               const std::vector<uint32_t>& list_of, const std::vector<uint32_t>& second,
               uint64_t seed) {
  const uint32_t n = vectors.num_rows(), d = vectors.dim(), nlist = cb.nlist();
  const uint32_t nq = std::min<uint32_t>(256, n / 8), k = 10, kMaxProbe = std::min(64u, nlist);
  if (nq < 32 || nlist < 4) return false;
  const auto sample = vec::SampleRows(n, nq, seed + 13);
  std::vector<float> q(size_t{nq} * d);
  for (uint32_t i = 0; i < nq; ++i) {
    DecodeRowsForSpace(vectors, cb.space(), sample[i], sample[i] + 1, &q[size_t{i} * d]);
  }
  // Exact neighbours (squared L2 in the codebook's space), the query's own
  // row left out.
  std::vector<TopK> near;
  near.reserve(nq);
  for (uint32_t i = 0; i < nq; ++i) near.emplace_back(k);
  std::vector<float> qq(nq);
  for (uint32_t i = 0; i < nq; ++i) {
    qq[i] = vec::Kernels().dot_f32(&q[size_t{i} * d], &q[size_t{i} * d], d);
  }
  constexpr size_t kChunk = 2048;
  std::vector<float> x(kChunk * d), ip(size_t{nq} * kChunk);
  for (size_t b = 0; b < n; b += kChunk) {
    const size_t cnt = std::min<size_t>(kChunk, n - b);
    DecodeRowsForSpace(vectors, cb.space(), b, b + cnt, x.data());
    const vec::PackedRows rows = vec::PackRows(x.data(), cnt, d);
    vec::InnerProducts(q.data(), nq, rows, ip.data(), cnt);
    for (uint32_t i = 0; i < nq; ++i) {
      for (size_t j = 0; j < cnt; ++j) {
        if (b + j == sample[i]) continue;
        near[i].Push(static_cast<uint32_t>(b + j),
                     qq[i] + rows.norms2[j] - 2.0f * ip[size_t{i} * cnt + j]);
      }
    }
  }
  // Each query's lists in order of distance, and the rows each probe adds.
  std::vector<uint32_t> size1(nlist, 0), size2(nlist, 0);
  for (uint32_t r = 0; r < n; ++r) {
    ++size1[list_of[r]];
    if (second[r] != kNoList) ++size2[second[r]];
  }
  std::vector<float> cip(size_t{nq} * nlist);
  const vec::PackedRows& packed = cb.PackedCentroids();
  vec::InnerProducts(q.data(), nq, packed, cip.data(), nlist);
  // found[s][p]: neighbours held by the nearest p + 1 lists; rows[s][p]:
  // rows those lists hold (s 0: one list per row, 1: with second lists).
  std::vector<double> found[2], rows[2];
  for (int s = 0; s < 2; ++s) {
    found[s].assign(kMaxProbe, 0);
    rows[s].assign(kMaxProbe, 0);
  }
  std::vector<uint32_t> order(nlist), rank(nlist);
  for (uint32_t i = 0; i < nq; ++i) {
    const float* c = &cip[size_t{i} * nlist];
    std::iota(order.begin(), order.end(), 0u);
    std::partial_sort(order.begin(), order.begin() + kMaxProbe, order.end(),
                      [&](uint32_t a, uint32_t b) {
                        const float da = packed.norms2[a] - 2.0f * c[a];
                        const float db = packed.norms2[b] - 2.0f * c[b];
                        return da < db || (da == db && a < b);
                      });
    std::fill(rank.begin(), rank.end(), kMaxProbe);
    double held[2] = {0, 0};
    for (uint32_t p = 0; p < kMaxProbe; ++p) {
      rank[order[p]] = p;
      held[0] += size1[order[p]];
      held[1] += size1[order[p]] + size2[order[p]];
      rows[0][p] += held[0];
      rows[1][p] += held[1];
    }
    for (const Neighbor& nb : near[i].Take()) {
      const uint32_t r1 = rank[list_of[nb.row]];
      const uint32_t r2 = second[nb.row] == kNoList ? kMaxProbe : rank[second[nb.row]];
      for (uint32_t p = r1; p < kMaxProbe; ++p) found[0][p] += 1;
      for (uint32_t p = std::min(r1, r2); p < kMaxProbe; ++p) found[1][p] += 1;
    }
  }
  // Rows at coarse recall t, interpolated between probes; -1 when not reached.
  auto rows_at = [&](int s, double t) {
    double prev_rec = 0, prev_rows = 0;
    for (uint32_t p = 0; p < kMaxProbe; ++p) {
      const double rec = found[s][p] / (static_cast<double>(nq) * k), rw = rows[s][p] / nq;
      if (rec >= t) {
        if (p == 0 || rec <= prev_rec) return rw;
        return prev_rows + (t - prev_rec) / (rec - prev_rec) * (rw - prev_rows);
      }
      prev_rec = rec;
      prev_rows = rw;
    }
    return -1.0;
  };
  const double top =
      std::min(found[0][kMaxProbe - 1], found[1][kMaxProbe - 1]) / (static_cast<double>(nq) * k);
  const double high = std::min(0.95, top), low = std::min(0.90, top);
  const double plain_high = rows_at(0, high), spill_high = rows_at(1, high);
  const double plain_low = rows_at(0, low), spill_low = rows_at(1, low);
  if (plain_high < 0 || spill_high < 0 || plain_low < 0 || spill_low < 0) return false;
  return spill_high <= 0.85 * plain_high && spill_low <= plain_low;
}

}  // namespace

arrow::Result<std::unique_ptr<VectorIndex>> BuildIvfPqIndex(const VectorStoragePolicy& policy,
                                                            const VectorView& vectors,
                                                            const IndexBuildOptions& options) {
  std::shared_ptr<const PqCodebook> cb;
  const bool shared = options.ivf_pq_codebook != nullptr;
  if (shared) {
    cb = std::dynamic_pointer_cast<const PqCodebook>(options.ivf_pq_codebook);
    if (cb == nullptr) return arrow::Status::Invalid("BuildIndex: foreign IVF-PQ codebook type");
    if (cb->dim() != vectors.dim() || cb->space() != SpaceOf(policy.metric)) {
      return arrow::Status::Invalid("BuildIndex: shared codebook is dim ", cb->dim(), " for ",
                                    MetricName(cb->metric()), ", the index is dim ", vectors.dim(),
                                    " ", MetricName(policy.metric));
    }
  } else {
    if (vectors.num_rows() == 0) {
      return arrow::Status::Invalid(
          "BuildIndex: IVF-PQ needs rows to train on (or a shared "
          "codebook)");
    }
    ARROW_ASSIGN_OR_RAISE(cb, TrainPqCodebook(policy, vectors, options.num_threads));
  }
  std::vector<uint32_t> list_of;
  std::vector<uint8_t> codes;
  EncodeAll(vectors, *cb, options.num_threads, &list_of, &codes);
  const uint32_t n = vectors.num_rows(), nlist = cb->nlist(), m = cb->m();
  // Second lists (docs/FORMAT.md 3.4.3): entries past n, each a row's
  // residual in its second list. Entries must fit the u32 list offsets.
  std::vector<uint32_t> second;
  std::vector<uint8_t> codes2;
  using Spill = IndexBuildOptions::IvfSpill;
  if (options.ivf_pq_spill != Spill::kOff && cb->space() != PqSpace::kInnerProduct && nlist > 1 &&
      uint64_t{n} * 2 <= std::numeric_limits<uint32_t>::max()) {
    SecondLists(vectors, *cb, options.num_threads, list_of, &second, &codes2);
    if (options.ivf_pq_spill == Spill::kAuto &&
        !SpillPays(vectors, *cb, list_of, second, policy.ivf_pq.seed)) {
      second.clear();
      codes2.clear();
    }
  }
  const bool spilled = !second.empty();
  std::vector<uint32_t> lists(nlist + 1, 0);
  for (uint32_t l : list_of) ++lists[l + 1];
  for (uint32_t l : second) lists[l + 1] += l != kNoList ? 1 : 0;
  for (uint32_t l = 0; l < nlist; ++l) lists[l + 1] += lists[l];
  const uint32_t entries = lists[nlist];
  std::vector<uint32_t> ids(entries), fill(lists.begin(), lists.end() - 1);
  std::vector<uint8_t> sorted(size_t{entries} * m);
  for (uint32_t r = 0; r < n; ++r) {
    const uint32_t at = fill[list_of[r]]++;
    ids[at] = r;
    std::memcpy(&sorted[size_t{at} * m], &codes[size_t{r} * m], m);
  }
  for (uint32_t r = 0; spilled && r < n; ++r) {
    if (second[r] == kNoList) continue;
    const uint32_t at = fill[second[r]]++;
    ids[at] = r;
    std::memcpy(&sorted[size_t{at} * m], &codes2[size_t{r} * m], m);
  }
  std::vector<uint8_t>().swap(codes);
  std::vector<uint8_t>().swap(codes2);
  std::vector<float> row_terms;  // 4-bit codes under squared L2 (docs/FORMAT.md 3.4.2)
  if (cb->ksub() == 16 && cb->space() == PqSpace::kL2) {
    uint64_t blocks = 0;
    for (uint32_t l = 0; l < nlist; ++l)
      blocks += (lists[l + 1] - lists[l] + kBlockRows - 1) / kBlockRows;
    row_terms.assign(blocks * kBlockRows, 0.0f);
    std::vector<float> table, terms;
    std::vector<uint32_t> order, list_ids;
    std::vector<uint8_t> list_codes;
    uint64_t block = 0;
    for (uint32_t l = 0; l < nlist; ++l) {
      const uint32_t cnt = lists[l + 1] - lists[l];
      if (cnt == 0) continue;
      ListTermTable(*cb, l, &table);
      terms.resize(cnt);
      for (uint32_t i = 0; i < cnt; ++i) {
        const uint8_t* code = &sorted[size_t{lists[l] + i} * m];
        float t = 0;
        for (uint32_t j = 0; j < m; ++j) t += table[size_t{j} * 16 + code[j]];
        terms[i] = t;
      }
      // The list sorted by term (rows in order among equal terms), so that
      // each 32-row block's smallest term bounds its rows closely (the
      // scan's integer bound, ScanList4Terms).
      order.resize(cnt);
      for (uint32_t i = 0; i < cnt; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](uint32_t a, uint32_t b) { return terms[a] < terms[b]; });
      list_ids.assign(ids.begin() + lists[l], ids.begin() + lists[l + 1]);
      list_codes.assign(sorted.begin() + static_cast<ptrdiff_t>(size_t{lists[l]} * m),
                        sorted.begin() + static_cast<ptrdiff_t>(size_t{lists[l + 1]} * m));
      for (uint32_t i = 0; i < cnt; ++i) {
        ids[lists[l] + i] = list_ids[order[i]];
        std::memcpy(&sorted[size_t{lists[l] + i} * m], &list_codes[size_t{order[i]} * m], m);
        row_terms[block * kBlockRows + i] = terms[order[i]];
      }
      block += (cnt + kBlockRows - 1) / kBlockRows;
    }
  }
  if (cb->ksub() == 16) {
    // 4-bit codes in blocks of 32 rows per list (docs/FORMAT.md 3.4.1):
    // sub-space j of a block is 16 bytes, row i in the low nibble of byte i,
    // row i + 16 in the high one; a list's last block is padded with code 0.
    const uint32_t m2 = PaddedM(m);
    std::vector<uint8_t> blocks;
    for (uint32_t l = 0; l < nlist; ++l) {
      const size_t first = blocks.size();
      const uint32_t cnt = lists[l + 1] - lists[l];
      blocks.resize(first + size_t{(cnt + kBlockRows - 1) / kBlockRows} * 16 * m2, 0);
      for (uint32_t i = 0; i < cnt; ++i) {
        uint8_t* blk = &blocks[first + size_t{i / kBlockRows} * 16 * m2];
        const uint8_t* code = &sorted[size_t{lists[l] + i} * m];
        const uint32_t r = i % kBlockRows;
        for (uint32_t j = 0; j < m; ++j) {
          blk[j * 16 + r % 16] |= static_cast<uint8_t>(r < 16 ? code[j] : code[j] << 4);
        }
      }
    }
    sorted.swap(blocks);
  }

  BlobWriter w(kIvfHeaderBytes);
  CommonHeader h;
  h.type = IndexType::kIvfPq;
  h.metric = policy.metric;
  h.precision = vectors.precision();
  h.int8 = vectors.int8();
  h.flags = static_cast<uint16_t>((shared ? kFlagExternalCodebook : 0) |
                                  (spilled ? kFlagSpilledRows : 0));
  h.dim = vectors.dim();
  h.num_rows = n;
  WriteCommonHeader(&w, h);
  w.PutU32(kSpilledAt, entries - n);
  w.PutU32(kNlistAt, nlist);
  w.PutU32(kMAt, m);
  w.PutU32(kNbitsAt, cb->nbits());
  w.PutU32(kNprobeAt, std::max(1u, policy.ivf_pq.nprobe));
  w.PutU32(kRefineAt, std::max(1u, policy.ivf_pq.refine_factor));
  w.PutU64(kFingerprintAt, cb->fingerprint());
  if (!shared) {
    ARROW_ASSIGN_OR_RAISE(auto cb_blob, cb->Serialize());
    w.PutU64(kCodebookOffAt, w.Append(cb_blob->data(), static_cast<size_t>(cb_blob->size())));
    w.PutU64(kCodebookBytesAt, static_cast<uint64_t>(cb_blob->size()));
  }
  w.PutU64(kListsAt, w.Append(lists.data(), lists.size() * 4));
  w.PutU64(kIdsAt, w.Append(ids.data(), ids.size() * 4));
  w.PutU64(kCodesAt, w.Append(sorted.data(), sorted.size()));
  if (!row_terms.empty()) w.PutU64(kRowTermsAt, w.Append(row_terms.data(), row_terms.size() * 4));
  ARROW_ASSIGN_OR_RAISE(auto blob, w.Finish());
  ARROW_ASSIGN_OR_RAISE(CommonHeader parsed, ReadCommonHeader(*blob));
  return LoadIvfPqIndex(std::move(blob), parsed, vectors, options.ivf_pq_codebook);
}

}  // namespace ailake::index

namespace ailake {

uint64_t SharedIvfPqCodebookOf(const VectorIndex& index) {
  const auto* ivf = dynamic_cast<const index::IvfPqIndex*>(&index);
  if (ivf == nullptr || (ivf->h_.flags & index::kFlagExternalCodebook) == 0) return 0;
  return ivf->cb_->fingerprint();
}

arrow::Result<std::vector<PartNeighbor>> SearchSharedIvfPq(std::span<const IndexPart> parts,
                                                           std::span<const float> query, uint32_t k,
                                                           const SearchParams& params) {
  using index::IvfPqIndex;
  std::vector<const IvfPqIndex*> idx;
  uint64_t total_rows = 0, total_entries = 0;
  bool spilled = false;
  for (const auto& part : parts) {
    const auto* ivf = dynamic_cast<const IvfPqIndex*>(part.index);
    if (ivf == nullptr) return arrow::Status::Invalid("SearchSharedIvfPq: a part is not IVF-PQ");
    if (!idx.empty() && ivf->cb_->fingerprint() != idx[0]->cb_->fingerprint()) {
      return arrow::Status::Invalid("SearchSharedIvfPq: parts use different codebooks");
    }
    if (query.size() != ivf->h_.dim) {
      return arrow::Status::Invalid("SearchSharedIvfPq: query has ", query.size(),
                                    " floats, index dim is ", ivf->h_.dim);
    }
    idx.push_back(ivf);
    total_rows += ivf->h_.num_rows;
    total_entries += ivf->entries_;
    spilled = spilled || ivf->spilled();
  }
  if (idx.empty() || k == 0 || total_rows == 0) return std::vector<PartNeighbor>{};
  const IvfPqIndex& first = *idx[0];
  const index::PqCodebook& cb = *first.cb_;
  const uint32_t d = first.h_.dim, nlist = cb.nlist();
  const uint32_t nprobe =
      std::min(nlist, std::max(1u, params.nprobe ? params.nprobe : first.nprobe_));
  const uint32_t refine = std::max(1u, params.refine_factor ? params.refine_factor : first.refine_);

  // The re-ranking step: candidates (part, row) scored exactly, best k kept.
  vec::QueryScorer scorer(first.h_.metric, first.view_.precision(), d, first.view_.int8());
  scorer.SetQuery(query.data());
  auto rerank = [&](std::vector<PartNeighbor>& pool) -> arrow::Result<std::vector<PartNeighbor>> {
    // A row of a part with second lists (docs/FORMAT.md 3.4.3) may be
    // pooled twice: scored once.
    if (spilled) {
      auto key = [](const PartNeighbor& c) { return uint64_t{c.part} << 32 | c.row; };
      std::sort(pool.begin(), pool.end(),
                [&](const PartNeighbor& a, const PartNeighbor& b) { return key(a) < key(b); });
      pool.erase(std::unique(pool.begin(), pool.end(),
                             [&](const PartNeighbor& a, const PartNeighbor& b) {
                               return key(a) == key(b);
                             }),
                 pool.end());
    }
    std::vector<std::vector<uint32_t>> rows(idx.size());
    for (const auto& c : pool) {
      if (idx[c.part]->view_.on_demand()) rows[c.part].push_back(c.row);
    }
    for (size_t p = 0; p < idx.size(); ++p) {
      if (!rows[p].empty()) ARROW_RETURN_NOT_OK(idx[p]->view_.Fetch(rows[p]));
    }
    index::PartTopK top(k);
    for (const auto& c : pool) {
      top.Push(c.part, c.row, scorer.Distance(idx[c.part]->view_.Row(c.row)));
    }
    return top.Take();
  };
  // Filters so tight that the re-ranking pool could hold every allowed row:
  // those rows are scored exactly, as one index does.
  uint64_t allowed = 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    allowed += index::CountAllowed(parts[p].filter, idx[p]->h_.num_rows);
  }
  if (allowed == 0) return std::vector<PartNeighbor>{};
  if (allowed <= 4ull * k * refine) {
    std::vector<PartNeighbor> pool;
    for (size_t p = 0; p < parts.size(); ++p) {
      for (uint32_t r = 0; r < idx[p]->h_.num_rows; ++r) {
        if (index::Allowed(parts[p].filter, r)) pool.push_back({static_cast<uint32_t>(p), r, 0});
      }
    }
    return rerank(pool);
  }

  // One coarse step and one set of lookup tables for every part (the same
  // codebook), each probed list scanned in every part.
  std::vector<float> q(d), dots(nlist);
  first.PrepareQuery(query.data(), q.data());
  vec::InnerProducts(q.data(), 1, cb.PackedCentroids(), dots.data(), nlist);
  // As IvfPqIndex::PoolCap and Enough: with second lists, 2 k entries hold
  // k distinct rows.
  const uint64_t want = uint64_t{k} * refine,
                 enough = std::min<uint64_t>(spilled ? 2ull * k : k, total_entries);
  index::CandidatePool<uint64_t> cand(
      std::min<uint64_t>(spilled ? std::max<uint64_t>(want, 2ull * k) : want, total_entries));
  bool with_terms = false, without_terms = false;
  for (const IvfPqIndex* ix : idx) (ix->row_terms_ != nullptr ? with_terms : without_terms) = true;
  const bool four = cb.ksub() == 16;
  index::ScanScratch scratch;
  index::ProbeLists(
      cb, q.data(), dots.data(), nprobe, four && with_terms, four && without_terms,
      [&](uint32_t list, const index::ListLut& lut) {
        for (size_t p = 0; p < idx.size(); ++p) {
          index::PartSink sink{&cand, static_cast<uint32_t>(p)};
          idx[p]->ScanList(list, lut, parts[p].filter, &sink, &scratch);
        }
      },
      [&] { return cand.size() >= enough; });
  std::vector<PartNeighbor> pool;
  for (const auto& c : cand.TakeUnordered()) {  // PartTopK ranks them
    pool.push_back({static_cast<uint32_t>(c.key >> 32), static_cast<uint32_t>(c.key), c.score});
  }
  return rerank(pool);
}

}  // namespace ailake

namespace ailake::index {

uint64_t SetIvfPqQueryOrderBytesForTesting(uint64_t bytes) {
  return query_order_bytes.exchange(bytes);
}

arrow::Result<uint64_t> IvfPqFingerprintOf(const arrow::Buffer& blob) {
  if (static_cast<uint64_t>(blob.size()) < kIvfHeaderBytes) {
    return arrow::Status::Invalid("IVF-PQ blob: ", blob.size(),
                                  " bytes is shorter than its header");
  }
  return LoadU64(blob.data() + kFingerprintAt);
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadIvfPqIndex(
    std::shared_ptr<arrow::Buffer> blob, const CommonHeader& header, const VectorView& vectors,
    std::shared_ptr<const IvfPqCodebook> codebook) {
  ARROW_RETURN_NOT_OK(CheckVectorsMatch(header, vectors));
  std::shared_ptr<const PqCodebook> cb;
  ARROW_RETURN_NOT_OK(Validate(blob, header, std::move(codebook), &cb));
  return std::make_unique<IvfPqIndex>(std::move(blob), header, vectors, std::move(cb));
}

}  // namespace ailake::index
