// The reference implementation's IVF-PQ blob (docs/REFERENCE_FORMAT.md 6):
// validated on load, searched in place with ADC lookup tables, then re-ranked
// with exact distances when the file's vectors are decodable. Offset tables:
// one (ids, codes, length) triple per inverted list.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <vector>

#include "ailake/index/bincode_cursor.h"
#include "ailake/index/blob.h"
#include "ailake/index/flat_index.h"
#include "ailake/index/reference_index.h"
#include "ailake/index/topk.h"
#include "ailake/vec/codec.h"
#include "ailake/vec/distance.h"
#include "ailake/vec/kernels.h"

namespace ailake::index {
namespace {

constexpr const char* kWhat = "reference IVF-PQ blob";
constexpr uint64_t kMaxNlist = uint64_t{1} << 24;

struct InvertedList {
  uint64_t ids_at = 0;    // blob offset of the first u64 row id
  uint64_t codes_at = 0;  // blob offset of the first code byte
  uint32_t size = 0;      // entries
};

class ReferenceIvfPqIndex final : public VectorIndex {
 public:
  IndexType type() const override { return IndexType::kIvfPq; }
  DistanceMetric metric() const override { return shape_.metric; }
  uint32_t dim() const override { return shape_.dim; }
  uint32_t size() const override { return shape_.num_rows; }

  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                              const SearchParams& params,
                                              const RowFilter* filter) const override;

  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override {
    return arrow::Status::NotImplemented(
        "a reference (format_version 1) IVF-PQ index is read in place; it has no ailake blob");
  }

  static arrow::Result<std::unique_ptr<ReferenceIvfPqIndex>> Open(
      std::shared_ptr<arrow::Buffer> blob, const ReferenceBlobShape& shape,
      const VectorView* exact);

 private:
  // Codebooks and centroids are in the space of unit vectors for cosine and
  // normalized_cosine, of the raw vectors otherwise.
  bool unit_space() const {
    return shape_.metric == DistanceMetric::kCosine ||
           shape_.metric == DistanceMetric::kNormalizedCosine;
  }
  const float* Coarse(uint32_t list) const {
    return reinterpret_cast<const float*>(blob_->data() + coarse_at_ + 4ull * dim_ * list);
  }
  // Codeword `c` of sub-quantiser `s` (each carries its own u64 length first).
  const float* Codeword(uint32_t s, uint32_t c) const {
    return reinterpret_cast<const float*>(blob_->data() + codebook_at_ + s * sub_stride_ + 8 +
                                          c * word_stride_ + 8);
  }
  // ADC over one list, `t` the target (query or its residual to the list).
  void ScanList(const InvertedList& list, const float* t, const RowFilter* filter, float* lut,
                TopK* cand) const;

  std::shared_ptr<arrow::Buffer> blob_;
  ReferenceBlobShape shape_;
  std::optional<VectorView> exact_;
  uint32_t dim_ = 0, nlist_ = 0, nprobe_ = 1, m_ = 0, ksub_ = 0, dsub_ = 0;
  bool residual_ = false;
  uint64_t coarse_at_ = 0, codebook_at_ = 0, sub_stride_ = 0, word_stride_ = 0;
  std::vector<InvertedList> lists_;
};

arrow::Result<std::unique_ptr<ReferenceIvfPqIndex>> ReferenceIvfPqIndex::Open(
    std::shared_ptr<arrow::Buffer> blob, const ReferenceBlobShape& shape, const VectorView* exact) {
  auto idx = std::make_unique<ReferenceIvfPqIndex>();
  const uint8_t* p = blob->data();
  BincodeCursor c(p, static_cast<uint64_t>(blob->size()), kWhat);
  const uint64_t n = shape.num_rows, d = shape.dim;
  if (d == 0 || d > VectorStoragePolicy::kMaxDim) return c.Error("dim", d, " out of range");

  ARROW_ASSIGN_OR_RAISE(const uint64_t nlist, c.U64("nlist"));
  ARROW_ASSIGN_OR_RAISE(const uint64_t nprobe, c.U64("nprobe"));
  ARROW_ASSIGN_OR_RAISE(const uint64_t pq_m, c.U64("pq_m"));
  ARROW_ASSIGN_OR_RAISE(const uint64_t pq_k, c.U64("pq_k"));
  ARROW_RETURN_NOT_OK(c.U64("max_iter").status());
  ARROW_ASSIGN_OR_RAISE(const uint64_t dim, c.U64("dim"));
  ARROW_ASSIGN_OR_RAISE(const uint8_t metric, c.U8("metric"));
  if (dim != d) return c.Error("dim", dim, ", the section header says ", d);
  if (metric != static_cast<uint8_t>(shape.metric)) {
    return c.Error("metric", "code ", int{metric}, ", the section header says ",
                   MetricName(shape.metric));
  }
  if (nlist == 0 || nlist > kMaxNlist) return c.Error("nlist", nlist, " out of range");
  if (pq_m == 0 || pq_m > d || d % pq_m != 0) {
    return c.Error("pq_m", pq_m, " does not divide dim ", d);
  }
  if (pq_k == 0 || pq_k > 256) return c.Error("pq_k", pq_k, " outside [1, 256]");

  ARROW_ASSIGN_OR_RAISE(const uint64_t coarse, c.VecLen("coarse_flat", 4));
  if (coarse != nlist * d) return c.Error("coarse_flat", coarse, " floats for ", nlist, " x ", d);
  idx->coarse_at_ = c.pos();
  ARROW_RETURN_NOT_OK(c.Skip("coarse_flat", 4 * coarse));

  ARROW_ASSIGN_OR_RAISE(const uint64_t subvectors, c.U64("pq.num_subvectors"));
  ARROW_ASSIGN_OR_RAISE(const uint64_t centroids, c.U64("pq.num_centroids"));
  ARROW_ASSIGN_OR_RAISE(const uint64_t sub_dim, c.U64("pq.sub_dim"));
  if (subvectors != pq_m || centroids != pq_k || sub_dim != d / pq_m) {
    return c.Error("pq", "M ", subvectors, ", K ", centroids, ", sub_dim ", sub_dim,
                   " disagree with pq_m ", pq_m, ", pq_k ", pq_k, ", dim ", d);
  }
  // [M][K][sub_dim], every level with its u64 length: fixed strides once checked.
  const uint64_t word_stride = 8 + 4 * sub_dim;
  const uint64_t sub_stride = 8 + pq_k * word_stride;
  ARROW_ASSIGN_OR_RAISE(const uint64_t outer, c.VecLen("pq.centroids", sub_stride));
  if (outer != pq_m) return c.Error("pq.centroids", outer, " sub-quantisers, expected ", pq_m);
  idx->codebook_at_ = c.pos();
  for (uint64_t s = 0; s < pq_m; ++s) {
    ARROW_ASSIGN_OR_RAISE(const uint64_t words, c.VecLen("pq.centroids[m]", word_stride));
    if (words != pq_k) return c.Error("pq.centroids[m]", words, " codewords, expected ", pq_k);
    for (uint64_t w = 0; w < pq_k; ++w) {
      ARROW_ASSIGN_OR_RAISE(const uint64_t len, c.VecLen("pq.centroids[m][k]", 4));
      if (len != sub_dim) return c.Error("pq.centroids[m][k]", len, " floats, expected ", sub_dim);
      ARROW_RETURN_NOT_OK(c.Skip("pq.centroids[m][k]", 4 * len));
    }
  }

  // inv_row_ids: every row in exactly one list.
  ARROW_ASSIGN_OR_RAISE(const uint64_t id_lists, c.VecLen("inv_row_ids", 8));
  if (id_lists != nlist) return c.Error("inv_row_ids", id_lists, " lists, expected ", nlist);
  idx->lists_.resize(nlist);
  std::vector<bool> seen(n, false);
  uint64_t total = 0;
  for (auto& list : idx->lists_) {
    ARROW_ASSIGN_OR_RAISE(const uint64_t len, c.VecLen("inv_row_ids[j]", 8));
    if (len > n - total) return c.Error("inv_row_ids[j]", "more entries than the ", n, " rows");
    total += len;
    list.ids_at = c.pos();
    list.size = static_cast<uint32_t>(len);
    for (uint64_t e = 0; e < len; ++e) {
      const uint64_t r = LoadU64(c.here() + 8 * e);
      if (r >= n || seen[r]) {
        return c.Error("inv_row_ids[j]", "row id ", r,
                       r >= n ? " past the last row" : " in two lists");
      }
      seen[r] = true;
    }
    ARROW_RETURN_NOT_OK(c.Skip("inv_row_ids[j]", 8 * len));
  }
  if (total != n) return c.Error("inv_row_ids", "lists hold ", total, " of ", n, " rows");

  ARROW_ASSIGN_OR_RAISE(const uint64_t code_lists, c.VecLen("inv_codes", 8));
  if (code_lists != nlist) return c.Error("inv_codes", code_lists, " lists, expected ", nlist);
  for (auto& list : idx->lists_) {
    ARROW_ASSIGN_OR_RAISE(const uint64_t len, c.VecLen("inv_codes[j]", 1));
    if (len != list.size * pq_m) {
      return c.Error("inv_codes[j]", len, " bytes for ", list.size, " entries of ", pq_m, " codes");
    }
    list.codes_at = c.pos();
    if (pq_k < 256) {
      for (uint64_t b = 0; b < len; ++b) {
        if (c.here()[b] >= pq_k) return c.Error("inv_codes[j]", "code ", int{c.here()[b]});
      }
    }
    ARROW_RETURN_NOT_OK(c.Skip("inv_codes[j]", len));
  }
  ARROW_ASSIGN_OR_RAISE(const uint8_t residual, c.U8("residual"));
  if (residual > 1) return c.Error("residual", "flag ", int{residual});
  if (c.left() != 0) return c.Error("end", c.left(), " bytes after the record");

  if (exact != nullptr) {
    if (exact->num_rows() != n || exact->dim() != d) {
      return arrow::Status::Invalid(kWhat, ": exact vectors hold ", exact->num_rows(), " x ",
                                    exact->dim(), ", the index ", n, " x ", d);
    }
    idx->exact_ = *exact;
  } else if (shape.metric == DistanceMetric::kDotProduct) {
    return arrow::Status::NotImplemented(
        kWhat, ": dot_product without exact vectors (ADC squared L2 does not convert to -dot)");
  }
  idx->shape_ = shape;
  idx->dim_ = static_cast<uint32_t>(d);
  idx->nlist_ = static_cast<uint32_t>(nlist);
  idx->nprobe_ = static_cast<uint32_t>(std::clamp<uint64_t>(nprobe, 1, nlist));
  idx->m_ = static_cast<uint32_t>(pq_m);
  idx->ksub_ = static_cast<uint32_t>(pq_k);
  idx->dsub_ = static_cast<uint32_t>(sub_dim);
  idx->residual_ = residual == 1;
  idx->word_stride_ = word_stride;
  idx->sub_stride_ = sub_stride;
  idx->blob_ = std::move(blob);
  return idx;
}

void ReferenceIvfPqIndex::ScanList(const InvertedList& list, const float* t,
                                   const RowFilter* filter, float* lut, TopK* cand) const {
  if (list.size == 0) return;
  const vec::KernelTable& kt = vec::Kernels();
  // T[s][c] = |t_s - C[s][c]|^2 (the blob's codewords are read unaligned).
  for (uint32_t s = 0; s < m_; ++s) {
    for (uint32_t w = 0; w < ksub_; ++w) {
      lut[s * ksub_ + w] = kt.l2_f32(t + size_t{s} * dsub_, Codeword(s, w), dsub_);
    }
  }
  const uint8_t* ids = blob_->data() + list.ids_at;
  const uint8_t* code = blob_->data() + list.codes_at;
  for (uint32_t e = 0; e < list.size; ++e, code += m_) {
    const auto row = static_cast<uint32_t>(LoadU64(ids + 8ull * e));
    if (filter != nullptr && !Allowed(filter, row)) continue;
    float s = 0.0f;
    for (uint32_t j = 0; j < m_; ++j) s += lut[j * ksub_ + code[j]];
    if (s < cand->threshold() || !cand->full()) cand->Push(row, s);
  }
}

arrow::Result<std::vector<Neighbor>> ReferenceIvfPqIndex::Search(std::span<const float> query,
                                                                 uint32_t k,
                                                                 const SearchParams& params,
                                                                 const RowFilter* filter) const {
  const uint32_t d = dim_, n = shape_.num_rows;
  if (query.size() != d) {
    return arrow::Status::Invalid("reference IVF-PQ search: query has ", query.size(),
                                  " floats, index dim is ", d);
  }
  if (n == 0 || k == 0) return std::vector<Neighbor>{};
  const uint32_t nprobe = std::min(nlist_, params.nprobe != 0 ? params.nprobe : nprobe_);
  const uint32_t refine =
      std::max(1u, params.refine_factor != 0 ? params.refine_factor : kReferenceIvfPqDefaultRefine);
  if (filter != nullptr) {
    const uint64_t allowed = CountAllowed(filter, n);
    if (allowed == 0) return std::vector<Neighbor>{};
    // As our IVF-PQ: few allowed rows are scanned exactly (when they can be).
    if (exact_ && allowed <= 4ull * k * refine) {
      return ExactSearch(*exact_, shape_.metric, query.data(), k, filter);
    }
  }
  const vec::KernelTable& kt = vec::Kernels();
  thread_local std::vector<float> q, t, lut, coarse;
  thread_local std::vector<uint32_t> order;
  q.assign(query.begin(), query.end());
  if (unit_space()) vec::NormalizeRows(q.data(), 1, d);
  coarse.resize(nlist_);
  for (uint32_t j = 0; j < nlist_; ++j) coarse[j] = kt.l2_f32(q.data(), Coarse(j), d);
  order.resize(nlist_);
  std::iota(order.begin(), order.end(), 0u);
  auto closer = [&](uint32_t a, uint32_t b) {
    return coarse[a] < coarse[b] || (coarse[a] == coarse[b] && a < b);
  };
  // Probe order: all lists sorted, since a filter may need more than nprobe.
  std::sort(order.begin(), order.end(), closer);

  lut.resize(size_t{m_} * ksub_);
  t.resize(d);
  const uint64_t pool = exact_ ? uint64_t{k} * refine : k;
  TopK cand(static_cast<uint32_t>(std::min<uint64_t>(pool, n)));
  for (uint32_t i = 0; i < nlist_; ++i) {
    // Past nprobe lists only while fewer than k (allowed) rows were seen.
    if (i >= nprobe && cand.size() >= k) break;
    const uint32_t j = order[i];
    const float* target = q.data();
    if (residual_) {
      const float* cj = Coarse(j);
      for (uint32_t x = 0; x < d; ++x) t[x] = q[x] - vec::Ld(cj + x);
      target = t.data();
    }
    ScanList(lists_[j], target, filter, lut.data(), &cand);
  }
  std::vector<Neighbor> found = cand.Take();
  if (!exact_) {
    // ADC squared L2 to our convention (approximate; see reference_index.h).
    if (unit_space()) {
      for (Neighbor& nb : found) nb.distance *= 0.5f;
    }
    if (found.size() > k) found.resize(k);
    return found;
  }
  vec::QueryScorer scorer(shape_.metric, exact_->precision(), d, exact_->int8());
  scorer.SetQuery(query.data());
  TopK top(k);
  for (const Neighbor& nb : found) top.Push(nb.row, scorer.Distance(exact_->Row(nb.row)));
  return top.Take();
}

}  // namespace

arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceIvfPq(std::shared_ptr<arrow::Buffer> blob,
                                                               const ReferenceBlobShape& shape,
                                                               const VectorView* exact) {
  if (blob == nullptr) return arrow::Status::Invalid(kWhat, ": null");
  ARROW_ASSIGN_OR_RAISE(auto idx, ReferenceIvfPqIndex::Open(std::move(blob), shape, exact));
  return std::unique_ptr<VectorIndex>(std::move(idx));
}

}  // namespace ailake::index
