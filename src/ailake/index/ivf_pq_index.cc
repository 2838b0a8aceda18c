#include "ailake/index/ivf_pq_index.h"

namespace ailake::index {

arrow::Result<std::unique_ptr<VectorIndex>> BuildIvfPqIndex(const VectorStoragePolicy&,
                                                            const VectorView&,
                                                            const IndexBuildOptions&) {
  return arrow::Status::NotImplemented("IVF-PQ index: not built yet");
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadIvfPqIndex(std::shared_ptr<arrow::Buffer>,
                                                           const CommonHeader&, const VectorView&,
                                                           std::shared_ptr<const IvfPqCodebook>) {
  return arrow::Status::NotImplemented("IVF-PQ index: not built yet");
}

}  // namespace ailake::index

namespace ailake {

arrow::Result<std::shared_ptr<const IvfPqCodebook>> IvfPqCodebook::Load(
    std::shared_ptr<arrow::Buffer>) {
  return arrow::Status::NotImplemented("IVF-PQ codebook: not built yet");
}

arrow::Result<std::shared_ptr<const IvfPqCodebook>> TrainIvfPqCodebook(const VectorStoragePolicy&,
                                                                       const VectorView&,
                                                                       const IndexBuildOptions&) {
  return arrow::Status::NotImplemented("IVF-PQ codebook: not built yet");
}

}  // namespace ailake
