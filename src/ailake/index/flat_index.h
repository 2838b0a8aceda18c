// FlatIndex: exact search by scanning every stored row. The ground truth for
// the approximate indexes; its blob is the 64-byte common header alone.
#pragma once

#include <memory>

#include "ailake/index.h"
#include "ailake/index/blob.h"

namespace ailake::index {

arrow::Result<std::unique_ptr<VectorIndex>> BuildFlatIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors);
arrow::Result<std::unique_ptr<VectorIndex>> LoadFlatIndex(const CommonHeader& header,
                                                          const VectorView& vectors);

// Exact k nearest rows among those `filter` allows (all when null): the scan
// every index falls back to when a filter leaves few rows.
std::vector<Neighbor> ExactSearch(const VectorView& vectors, DistanceMetric metric,
                                  const float* query, uint32_t k, const RowFilter* filter);

}  // namespace ailake::index
