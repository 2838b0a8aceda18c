// BuildIndex / LoadIndex: dispatch on the policy's (or the blob's) index type,
// the kAuto rule, and the default batched search.
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "ailake/hardware.h"
#include "ailake/index.h"
#include "ailake/index/blob.h"
#include "ailake/index/flat_index.h"
#include "ailake/index/hnsw_index.h"
#include "ailake/index/ivf_pq_index.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/parallel.h"

namespace ailake {

IndexType ChooseIndexType(const HardwareProfile& hw, uint64_t num_rows,
                          const VectorStoragePolicy& policy) {
  if (num_rows < kAutoIvfPqMinRows) return IndexType::kHnsw;
  if (policy.ivf_pq.m == 0 || policy.dim % policy.ivf_pq.m != 0) return IndexType::kHnsw;
  if (hw.gpu_present && num_rows >= kAutoGpuIvfPqRows) return IndexType::kIvfPq;
  const uint64_t cores = hw.logical_cores == 0 ? 1 : hw.logical_cores;
  if (num_rows >= kAutoIvfPqRowsPerCore * cores) return IndexType::kIvfPq;
  return IndexType::kHnsw;
}

IndexType ResolveIndexType(const VectorStoragePolicy& policy, uint64_t num_rows) {
  if (policy.index_type != IndexType::kAuto) return policy.index_type;
  return ChooseIndexType(ProbeHardware(), num_rows, policy);
}

arrow::Result<std::vector<std::vector<Neighbor>>> VectorIndex::SearchBatch(
    std::span<const float> queries, uint32_t num_queries, uint32_t k, const SearchParams& params,
    const RowFilter* filter, uint32_t num_threads) const {
  const size_t d = dim();
  if (queries.size() != static_cast<size_t>(num_queries) * d) {
    return arrow::Status::Invalid("SearchBatch: ", queries.size(), " floats is not ", num_queries,
                                  " queries of dim ", d);
  }
  std::vector<std::vector<Neighbor>> out(num_queries);
  std::mutex mu;
  arrow::Status first_error;
  vec::ParallelFor(num_queries, num_threads, 16, [&](size_t b, size_t e, uint32_t) {
    for (size_t i = b; i < e; ++i) {
      auto r = Search(queries.subspan(i * d, d), k, params, filter);
      if (!r.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = r.status();
        return;
      }
      out[i] = std::move(*r);
    }
  });
  ARROW_RETURN_NOT_OK(first_error);
  return out;
}

namespace {

// An index answers k, params, allowed and num_threads; everything else in
// SearchOptions is about columns, which an index does not have.
arrow::Status CheckIndexSearchOptions(const SearchOptions& o) {
  std::vector<std::string> refused;
  if (o.filter) refused.emplace_back("filter");
  if (!o.vector_column.empty()) refused.emplace_back("vector_column");
  if (!o.columns.empty()) refused.emplace_back("columns");
  if (o.exact) refused.emplace_back("exact");
  if (!o.prune) refused.emplace_back("prune");
  if (!o.fragment_ids.empty()) refused.emplace_back("fragment_ids");
  if (refused.empty()) return arrow::Status::OK();
  std::string names;
  for (const auto& r : refused) names += (names.empty() ? "" : ", ") + r;
  return arrow::Status::Invalid(
      "a VectorIndex search takes k, params, allowed and num_threads; these options are for "
      "files and tables (which have columns): ",
      names);
}

}  // namespace

arrow::Result<std::vector<Neighbor>> VectorIndex::Search(std::span<const float> query,
                                                         const SearchOptions& options) const {
  ARROW_RETURN_NOT_OK(CheckIndexSearchOptions(options));
  return Search(query, options.k, options.params, options.allowed);
}

arrow::Result<std::vector<std::vector<Neighbor>>> VectorIndex::SearchBatch(
    std::span<const float> queries, uint32_t num_queries, const SearchOptions& options) const {
  ARROW_RETURN_NOT_OK(CheckIndexSearchOptions(options));
  return SearchBatch(queries, num_queries, options.k, options.params, options.allowed,
                     options.num_threads);
}

arrow::Result<std::unique_ptr<VectorIndex>> BuildIndex(const VectorStoragePolicy& policy,
                                                       const VectorView& vectors,
                                                       const IndexBuildOptions& options) {
  ARROW_RETURN_NOT_OK(vec::CheckSimdSetting());
  ARROW_RETURN_NOT_OK(policy.Validate());
  if (vectors.dim() != policy.dim || vectors.precision() != policy.precision) {
    return arrow::Status::Invalid("BuildIndex: vectors are dim ", vectors.dim(), " ",
                                  PrecisionName(vectors.precision()), " but the policy says dim ",
                                  policy.dim, " ", PrecisionName(policy.precision));
  }
  // A NaN or infinite component makes every distance to the row meaningless
  // (and graph construction order-dependent): refused, with the row named.
  ARROW_RETURN_NOT_OK(vectors.FetchAll());
  if (vectors.precision() != Precision::kInt8) {
    std::vector<float> row(vectors.dim());
    for (uint32_t r = 0; r < vectors.num_rows(); ++r) {
      vectors.Decode(r, row.data());
      for (uint32_t j = 0; j < vectors.dim(); ++j) {
        if (!std::isfinite(row[j])) {
          return arrow::Status::Invalid("BuildIndex: row ", r, " has a non-finite value (", row[j],
                                        ") in component ", j);
        }
      }
    }
  }
  switch (ResolveIndexType(policy, vectors.num_rows())) {
    case IndexType::kFlat: return index::BuildFlatIndex(policy, vectors);
    case IndexType::kHnsw: return index::BuildHnswIndex(policy, vectors, options);
    case IndexType::kIvfPq: return index::BuildIvfPqIndex(policy, vectors, options);
    case IndexType::kNone:
      return arrow::Status::Invalid("BuildIndex: the policy's index type is none");
    case IndexType::kAuto: break;
  }
  return arrow::Status::Invalid("BuildIndex: unresolved index type");
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadIndex(
    std::shared_ptr<arrow::Buffer> blob, const VectorView& vectors,
    std::shared_ptr<const IvfPqCodebook> codebook) {
  ARROW_RETURN_NOT_OK(vec::CheckSimdSetting());
  if (blob == nullptr) return arrow::Status::Invalid("LoadIndex: null blob");
  ARROW_ASSIGN_OR_RAISE(index::CommonHeader h, index::ReadCommonHeader(*blob));
  ARROW_RETURN_NOT_OK(index::CheckVectorsMatch(h, vectors));
  // Graph and flat search read any row: an on-demand view is fetched whole.
  if (h.type != IndexType::kIvfPq) ARROW_RETURN_NOT_OK(vectors.FetchAll());
  switch (h.type) {
    case IndexType::kFlat: return index::LoadFlatIndex(std::move(blob), h, vectors);
    case IndexType::kHnsw: return index::LoadHnswIndex(std::move(blob), h, vectors);
    case IndexType::kIvfPq:
      return index::LoadIvfPqIndex(std::move(blob), h, vectors, std::move(codebook));
    default: break;
  }
  return arrow::Status::Invalid("LoadIndex: unknown index type code ", static_cast<int>(h.type));
}

arrow::Result<std::optional<uint64_t>> SharedCodebookFingerprint(const arrow::Buffer& blob) {
  ARROW_ASSIGN_OR_RAISE(index::CommonHeader h, index::ReadCommonHeader(blob));
  if (h.type != IndexType::kIvfPq || (h.flags & index::kFlagExternalCodebook) == 0) {
    return std::nullopt;
  }
  return index::IvfPqFingerprintOf(blob);
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadIndex(std::shared_ptr<arrow::Buffer> blob,
                                                      const VectorView& vectors) {
  return LoadIndex(std::move(blob), vectors, nullptr);
}

}  // namespace ailake
