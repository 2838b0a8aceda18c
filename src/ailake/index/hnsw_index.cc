#include "ailake/index/hnsw_index.h"

namespace ailake::index {

arrow::Result<std::unique_ptr<VectorIndex>> BuildHnswIndex(const VectorStoragePolicy&,
                                                           const VectorView&,
                                                           const IndexBuildOptions&) {
  return arrow::Status::NotImplemented("HNSW index: not built yet");
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadHnswIndex(std::shared_ptr<arrow::Buffer>,
                                                          const CommonHeader&, const VectorView&) {
  return arrow::Status::NotImplemented("HNSW index: not built yet");
}

}  // namespace ailake::index
