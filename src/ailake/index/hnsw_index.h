// HnswIndex: a hierarchical navigable small-world graph over borrowed rows
// (docs/FORMAT.md section 3.3). Built on all cores, searched in place from its
// blob: 32-bit links, no copy of the vectors (cosine keeps 1/|v| per row).
#pragma once

#include <memory>

#include "ailake/index.h"
#include "ailake/index/blob.h"

namespace ailake::index {

arrow::Result<std::unique_ptr<VectorIndex>> BuildHnswIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors,
                                                           const IndexBuildOptions& options);
arrow::Result<std::unique_ptr<VectorIndex>> LoadHnswIndex(std::shared_ptr<arrow::Buffer> blob,
                                                          const CommonHeader& header,
                                                          const VectorView& vectors);

}  // namespace ailake::index
