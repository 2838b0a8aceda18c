#include "ailake/index/flat_index.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "ailake/index/topk.h"
#include "ailake/vec/distance.h"
#include "ailake/vec/matrix.h"
#include "ailake/vec/parallel.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {
namespace {

// Rows packed per block of the batched scan (a block of d <= 256 fits L2).
constexpr uint32_t kBlockRows = 1024;

class FlatIndex final : public VectorIndex {
 public:
  // `blob`: the serialized index (header, and inverse norms for cosine).
  FlatIndex(DistanceMetric metric, const VectorView& vectors, std::shared_ptr<arrow::Buffer> blob)
      : metric_(metric), vectors_(vectors), blob_(std::move(blob)) {
    if (blob_->size() > static_cast<int64_t>(kCommonHeaderBytes)) {
      inv_norms_ = blob_->data() + kCommonHeaderBytes;
    }
  }

  IndexType type() const override { return IndexType::kFlat; }
  DistanceMetric metric() const override { return metric_; }
  uint32_t dim() const override { return vectors_.dim(); }
  uint32_t size() const override { return vectors_.num_rows(); }

  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                              const SearchParams&,
                                              const RowFilter* filter) const override {
    if (query.size() != vectors_.dim()) {
      return arrow::Status::Invalid("FlatIndex::Search: query has ", query.size(),
                                    " floats, index dim is ", vectors_.dim());
    }
    return ExactSearch(vectors_, metric_, query.data(), k, filter, inv_norms_);
  }

  arrow::Result<std::vector<std::vector<Neighbor>>> SearchBatch(
      std::span<const float> queries, uint32_t nq, uint32_t k, const SearchParams& params,
      const RowFilter* filter, uint32_t num_threads) const override;

  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override { return blob_; }

 private:
  void BlockedScan(const float* q, uint32_t nq, uint32_t k, const RowFilter* filter,
                   uint32_t num_threads, std::vector<Neighbor>* out) const;

  DistanceMetric metric_;
  VectorView vectors_;
  std::shared_ptr<arrow::Buffer> blob_;
  const uint8_t* inv_norms_ = nullptr;  // cosine: num_rows f32 in blob_
};

// Batched exact search over f32 rows. Each worker takes blocks of kBlockRows
// rows, packs a block once and streams every query through it (the block stays
// in cache); the inner-product tile is screened against each query's current
// k-th distance in SIMD, so only rows that can enter a top-k reach the heap.
// Per-worker top-k lists are merged, then the winners are re-scored exactly.
//
// Screening value v = bias_j + scale_j * dot(q, x_j), and the distance is
// qa + qb * v per query:
//   euclidean           v = |x|^2 - 2 q.x      dist = |q|^2 + v
//   dot                 v = -q.x               dist = v
//   normalized cosine   v = -q.x               dist = 1 + v
//   cosine              v = -q.x / |x|         dist = 1 + v / |q|   (q != 0)
void FlatIndex::BlockedScan(const float* q, uint32_t nq, uint32_t k, const RowFilter* filter,
                            uint32_t num_threads, std::vector<Neighbor>* out) const {
  const vec::KernelTable& kt = vec::Kernels();
  const uint32_t d = vectors_.dim();
  const uint32_t n = vectors_.num_rows();
  std::vector<float> qa(nq, 0.0f), qb(nq, 1.0f);
  for (uint32_t i = 0; i < nq; ++i) {
    const float* qi = q + size_t{i} * d;
    const float qn = kt.dot_f32(qi, qi, d);
    switch (metric_) {
      case DistanceMetric::kEuclidean: qa[i] = qn; break;
      case DistanceMetric::kDotProduct: break;
      case DistanceMetric::kNormalizedCosine: qa[i] = 1.0f; break;
      default:
        qa[i] = 1.0f;
        qb[i] = 1.0f / std::sqrt(qn);  // callers route zero queries elsewhere
        break;
    }
  }
  const uint32_t blocks = (n + kBlockRows - 1) / kBlockRows;
  const uint32_t workers = vec::ResolveThreads(num_threads, blocks);
  std::vector<std::vector<TopK>> tops(workers, std::vector<TopK>(nq, TopK(k)));
  vec::ParallelFor(blocks, workers, 1, [&](size_t b, size_t e, uint32_t w) {
    std::vector<TopK>& top = tops[w];
    std::vector<float> rows(size_t{kBlockRows} * d), bias(kBlockRows), scale(kBlockRows);
    float vals[vec::kTileQueries * vec::kScreenRows], thr[vec::kTileQueries];
    uint32_t masks[vec::kTileQueries];
    for (size_t blk = b; blk < e; ++blk) {
      const uint32_t r0 = static_cast<uint32_t>(blk) * kBlockRows;
      const uint32_t br = std::min(kBlockRows, n - r0);
      for (uint32_t j = 0; j < br; ++j) {
        std::memcpy(&rows[size_t{j} * d], vectors_.Row(r0 + j), size_t{d} * 4);
      }
      const vec::PackedRows packed = vec::PackRows(rows.data(), br, d);
      for (uint32_t j = 0; j < br; ++j) {
        switch (metric_) {
          case DistanceMetric::kEuclidean:
            bias[j] = packed.norms2[j];
            scale[j] = -2.0f;
            break;
          case DistanceMetric::kDotProduct:
          case DistanceMetric::kNormalizedCosine:
            bias[j] = 0.0f;
            scale[j] = -1.0f;
            break;
          default:
            bias[j] = 0.0f;
            scale[j] = packed.norms2[j] > 0.0f ? -1.0f / std::sqrt(packed.norms2[j]) : 0.0f;
            break;
        }
      }
      for (uint32_t q0 = 0; q0 < nq; q0 += vec::kTileQueries) {
        const uint32_t tq = std::min<uint32_t>(vec::kTileQueries, nq - q0);
        for (uint32_t i = 0; i < tq; ++i)
          thr[i] = (top[q0 + i].threshold() - qa[q0 + i]) / qb[q0 + i];
        for (uint32_t c0 = 0; c0 < br; c0 += vec::kScreenRows) {
          const uint32_t valid = std::min<uint32_t>(vec::kScreenRows, br - c0);
          kt.ip_screen(q + size_t{q0} * d, d, tq, packed.panels.data() + size_t{c0} * d, valid, d,
                       bias.data() + c0, scale.data() + c0, thr, vals, masks);
          for (uint32_t i = 0; i < tq; ++i) {
            uint32_t m = masks[i];
            if (m == 0) continue;
            TopK& t = top[q0 + i];
            while (m != 0) {
              const uint32_t j = static_cast<uint32_t>(__builtin_ctz(m));
              m &= m - 1;
              const uint32_t row = r0 + c0 + j;
              if (Allowed(filter, row)) {
                t.Push(row, qa[q0 + i] + qb[q0 + i] * vals[i * vec::kScreenRows + j]);
              }
            }
            thr[i] = (t.threshold() - qa[q0 + i]) / qb[q0 + i];
          }
        }
      }
    }
  });
  vec::QueryScorer scorer(metric_, vectors_.precision(), d, vectors_.int8());
  for (uint32_t i = 0; i < nq; ++i) {
    TopK merged(k);
    for (uint32_t w = 0; w < workers; ++w) {
      for (const Neighbor& nb : tops[w][i].Take()) merged.Push(nb.row, nb.distance);
    }
    std::vector<Neighbor> res = merged.Take();
    scorer.SetQuery(q + size_t{i} * d);
    for (Neighbor& nb : res) nb.distance = scorer.Distance(vectors_.Row(nb.row));
    std::sort(res.begin(), res.end(), NeighborLess);
    out[i] = std::move(res);
  }
}

arrow::Result<std::vector<std::vector<Neighbor>>> FlatIndex::SearchBatch(
    std::span<const float> queries, uint32_t nq, uint32_t k, const SearchParams& params,
    const RowFilter* filter, uint32_t num_threads) const {
  const uint32_t d = vectors_.dim();
  if (queries.size() != static_cast<size_t>(nq) * d) {
    return arrow::Status::Invalid("FlatIndex::SearchBatch: ", queries.size(), " floats is not ", nq,
                                  " queries of dim ", d);
  }
  if (vectors_.precision() != Precision::kF32 || nq < 8) {
    return VectorIndex::SearchBatch(queries, nq, k, params, filter, num_threads);
  }
  std::vector<std::vector<Neighbor>> out(nq);
  // Cosine queries of norm 0 (every row at distance 1, or 0 for zero rows)
  // take the one-query path; the rest are scanned together.
  std::vector<float> batch;
  std::vector<uint32_t> ids;
  batch.reserve(queries.size());
  for (uint32_t i = 0; i < nq; ++i) {
    const float* qi = queries.data() + size_t{i} * d;
    if (metric_ == DistanceMetric::kCosine && vec::Kernels().dot_f32(qi, qi, d) == 0.0f) {
      out[i] = ExactSearch(vectors_, metric_, qi, k, filter, inv_norms_);
      continue;
    }
    ids.push_back(i);
    batch.insert(batch.end(), qi, qi + d);
  }
  std::vector<std::vector<Neighbor>> res(ids.size());
  BlockedScan(batch.data(), static_cast<uint32_t>(ids.size()), k, filter, num_threads, res.data());
  for (size_t j = 0; j < ids.size(); ++j) out[ids[j]] = std::move(res[j]);
  return out;
}

}  // namespace

std::vector<Neighbor> ExactSearch(const VectorView& vectors, DistanceMetric metric,
                                  const float* query, uint32_t k, const RowFilter* filter,
                                  const uint8_t* inv_norms) {
  vec::QueryScorer scorer(metric, vectors.precision(), vectors.dim(), vectors.int8());
  scorer.SetQuery(query);
  TopK top(k);
  const uint32_t n = vectors.num_rows();
  const bool with_norms = inv_norms != nullptr && metric == DistanceMetric::kCosine;
  for (uint32_t r = 0; r < n; ++r) {
    if (filter != nullptr && !Allowed(filter, r)) continue;
    if (r + 4 < n) vec::PrefetchLine(vectors.Row(r + 4));
    const float dist =
        with_norms ? scorer.CosineWithInvNorm(vectors.Row(r), LoadF32(inv_norms + size_t{r} * 4))
                   : scorer.Distance(vectors.Row(r));
    if (dist < top.threshold() || !top.full()) top.Push(r, dist);
  }
  return top.Take();
}

namespace {

CommonHeader FlatHeader(DistanceMetric metric, const VectorView& vectors) {
  CommonHeader h;
  h.type = IndexType::kFlat;
  h.metric = metric;
  h.precision = vectors.precision();
  h.int8 = vectors.int8();
  h.dim = vectors.dim();
  h.num_rows = vectors.num_rows();
  return h;
}

}  // namespace

arrow::Result<std::unique_ptr<VectorIndex>> BuildFlatIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors) {
  BlobWriter w(kCommonHeaderBytes);
  CommonHeader h = FlatHeader(policy.metric, vectors);
  if (policy.metric == DistanceMetric::kCosine && vectors.num_rows() > 0) {
    const uint32_t n = vectors.num_rows();
    std::vector<float> inv(n);
    vec::ParallelFor(n, vec::ResolveThreads(0, n / 4096 + 1), 4096,
                     [&](size_t b, size_t e, uint32_t) {
                       for (size_t r = b; r < e; ++r) {
                         inv[r] = vec::InverseNorm(vectors.precision(), vectors.dim(),
                                                   vectors.int8(), vectors.Row(r));
                       }
                     });
    const uint64_t at = w.Append(inv.data(), inv.size() * 4);
    if (at != kCommonHeaderBytes) return arrow::Status::Invalid("flat blob: norms misplaced");
    h.flags = kFlagInverseNorms;
  }
  WriteCommonHeader(&w, h);
  ARROW_ASSIGN_OR_RAISE(auto blob, w.Finish());
  return std::make_unique<FlatIndex>(policy.metric, vectors, std::move(blob));
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadFlatIndex(std::shared_ptr<arrow::Buffer> blob,
                                                          const CommonHeader& header,
                                                          const VectorView& vectors) {
  ARROW_RETURN_NOT_OK(CheckVectorsMatch(header, vectors));
  const bool norms = (header.flags & kFlagInverseNorms) != 0;
  if ((header.flags & ~kFlagInverseNorms) != 0) {
    return arrow::Status::Invalid("flat blob: unknown flags ", header.flags);
  }
  if (norms && header.metric != DistanceMetric::kCosine) {
    return arrow::Status::Invalid("flat blob: inverse norms flagged for metric ",
                                  MetricName(header.metric), " (cosine only)");
  }
  const uint64_t size = static_cast<uint64_t>(blob->size());
  if (norms) {
    ARROW_RETURN_NOT_OK(
        CheckSection(size, kCommonHeaderBytes, header.num_rows, 4, "flat.inv_norms"));
  } else if (size != kCommonHeaderBytes) {
    return arrow::Status::Invalid("flat blob: ", size, " bytes, expected the ", kCommonHeaderBytes,
                                  "-byte header alone");
  }
  return std::make_unique<FlatIndex>(header.metric, vectors, std::move(blob));
}

}  // namespace ailake::index
