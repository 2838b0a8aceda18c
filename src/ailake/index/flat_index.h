// FlatIndex: exact search by scanning every stored row. The ground truth for
// the approximate indexes. Its blob is the 64-byte common header, followed
// for cosine by 1/|v| per row so a scan costs one dot product per row
// (docs/FORMAT.md 3.2).
#pragma once

#include <memory>

#include "ailake/index.h"
#include "ailake/index/blob.h"

namespace ailake::index {

arrow::Result<std::unique_ptr<VectorIndex>> BuildFlatIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors);
arrow::Result<std::unique_ptr<VectorIndex>> LoadFlatIndex(std::shared_ptr<arrow::Buffer> blob,
                                                          const CommonHeader& header,
                                                          const VectorView& vectors);

// Exact k nearest rows among those `filter` allows (all when null): the scan
// every index falls back to when a filter leaves few rows. `inv_norms`
// (cosine only, optional): 1/|v| per row as 4-byte little-endian floats.
std::vector<Neighbor> ExactSearch(const VectorView& vectors, DistanceMetric metric,
                                  const float* query, uint32_t k, const RowFilter* filter,
                                  const uint8_t* inv_norms = nullptr);

}  // namespace ailake::index
