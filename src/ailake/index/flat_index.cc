#include "ailake/index/flat_index.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "ailake/index/topk.h"
#include "ailake/vec/distance.h"
#include "ailake/vec/matrix.h"
#include "ailake/vec/parallel.h"

namespace ailake::index {
namespace {

// Rows packed per block of the batched scan (fits L2 for d <= 256).
constexpr uint32_t kBlockRows = 1024;

class FlatIndex final : public VectorIndex {
 public:
  FlatIndex(DistanceMetric metric, const VectorView& vectors)
      : metric_(metric), vectors_(vectors) {}

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
    return ExactSearch(vectors_, metric_, query.data(), k, filter);
  }

  arrow::Result<std::vector<std::vector<Neighbor>>> SearchBatch(
      std::span<const float> queries, uint32_t nq, uint32_t k, const SearchParams& params,
      const RowFilter* filter, uint32_t num_threads) const override;

  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override {
    BlobWriter w(kCommonHeaderBytes);
    CommonHeader h;
    h.type = IndexType::kFlat;
    h.metric = metric_;
    h.precision = vectors_.precision();
    h.int8 = vectors_.int8();
    h.dim = vectors_.dim();
    h.num_rows = vectors_.num_rows();
    WriteCommonHeader(&w, h);
    return w.Finish();
  }

 private:
  void BlockedScan(const float* q, uint32_t nq, uint32_t k, const RowFilter* filter,
                   std::vector<Neighbor>* out) const;

  DistanceMetric metric_;
  VectorView vectors_;
};

// Queries [q, q + nq) against every row through the packed inner-product kernel
// (f32 rows only), then exact re-scoring of the k winners.
void FlatIndex::BlockedScan(const float* q, uint32_t nq, uint32_t k, const RowFilter* filter,
                            std::vector<Neighbor>* out) const {
  const uint32_t d = vectors_.dim();
  const uint32_t n = vectors_.num_rows();
  std::vector<float> qn(nq);
  for (uint32_t i = 0; i < nq; ++i) {
    qn[i] =
        vec::Kernels().dot_f32(q + static_cast<size_t>(i) * d, q + static_cast<size_t>(i) * d, d);
  }
  std::vector<TopK> tops(nq, TopK(k));
  std::vector<float> block(static_cast<size_t>(kBlockRows) * d);
  std::vector<float> ip(static_cast<size_t>(nq) * kBlockRows);
  for (uint32_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const uint32_t br = std::min(kBlockRows, n - r0);
    for (uint32_t j = 0; j < br; ++j) {
      std::memcpy(&block[static_cast<size_t>(j) * d], vectors_.Row(r0 + j),
                  static_cast<size_t>(d) * 4);
    }
    const vec::PackedRows packed = vec::PackRows(block.data(), br, d);
    vec::InnerProducts(q, nq, packed, ip.data(), kBlockRows);
    for (uint32_t i = 0; i < nq; ++i) {
      const float* row_ip = &ip[static_cast<size_t>(i) * kBlockRows];
      TopK& top = tops[i];
      for (uint32_t j = 0; j < br; ++j) {
        float dist;
        switch (metric_) {
          case DistanceMetric::kEuclidean:
            dist = qn[i] + packed.norms2[j] - 2.0f * row_ip[j];
            break;
          case DistanceMetric::kDotProduct: dist = -row_ip[j]; break;
          case DistanceMetric::kNormalizedCosine: dist = 1.0f - row_ip[j]; break;
          default: dist = vec::CosineFromDot(row_ip[j], qn[i], packed.norms2[j]); break;
        }
        if (dist < top.threshold() && Allowed(filter, r0 + j)) top.Push(r0 + j, dist);
      }
    }
  }
  vec::QueryScorer scorer(metric_, vectors_.precision(), d, vectors_.int8());
  for (uint32_t i = 0; i < nq; ++i) {
    std::vector<Neighbor> res = tops[i].Take();
    scorer.SetQuery(q + static_cast<size_t>(i) * d);
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
  // Each worker scans all rows for its own group of queries.
  constexpr uint32_t kGroup = 64;
  vec::ParallelFor(nq, num_threads, kGroup, [&](size_t b, size_t e, uint32_t) {
    BlockedScan(queries.data() + b * d, static_cast<uint32_t>(e - b), k, filter, &out[b]);
  });
  return out;
}

}  // namespace

std::vector<Neighbor> ExactSearch(const VectorView& vectors, DistanceMetric metric,
                                  const float* query, uint32_t k, const RowFilter* filter) {
  vec::QueryScorer scorer(metric, vectors.precision(), vectors.dim(), vectors.int8());
  scorer.SetQuery(query);
  TopK top(k);
  const uint32_t n = vectors.num_rows();
  for (uint32_t r = 0; r < n; ++r) {
    if (filter != nullptr && !Allowed(filter, r)) continue;
    if (r + 4 < n) __builtin_prefetch(vectors.Row(r + 4));
    const float dist = scorer.Distance(vectors.Row(r));
    if (dist < top.threshold() || !top.full()) top.Push(r, dist);
  }
  return top.Take();
}

arrow::Result<std::unique_ptr<VectorIndex>> BuildFlatIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors) {
  return std::make_unique<FlatIndex>(policy.metric, vectors);
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadFlatIndex(const CommonHeader& header,
                                                          const VectorView& vectors) {
  ARROW_RETURN_NOT_OK(CheckVectorsMatch(header, vectors));
  return std::make_unique<FlatIndex>(header.metric, vectors);
}

}  // namespace ailake::index
