// HnswIndex: a hierarchical navigable small-world graph over borrowed rows
// (docs/FORMAT.md section 3.3). Built on all cores, searched in place from its
// blob: 32-bit links, no copy of the vectors (cosine keeps 1/|v| per row).
#pragma once

#include <memory>

#include "ailake/index.h"
#include "ailake/index/blob.h"

namespace ailake::index {

// Offsets inside the HNSW type header (after the 64-byte common header).
inline constexpr size_t kHnswHeaderBytes = 128;
inline constexpr size_t kHnswM = 64, kHnswM0 = 68, kHnswMaxLevel = 72, kHnswEntry = 76,
                        kHnswEfSearch = 80, kHnswEfConstruction = 84, kHnswNormsOff = 88,
                        kHnswLevel0Off = 96, kHnswUpperIndexOff = 104, kHnswUpperOff = 112,
                        kHnswUpperWords = 120;
// With kFlagTraversalCodes a 64-byte extension follows (docs/FORMAT.md 3.3.1).
inline constexpr size_t kHnswExtBytes = 64;
inline constexpr size_t kHnswCodesOff = 128, kHnswCodeParamsOff = 136, kHnswCodeTermsOff = 144,
                        kHnswCodeKind = 152, kHnswCodeStride = 156;

arrow::Result<std::unique_ptr<VectorIndex>> BuildHnswIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors,
                                                           const IndexBuildOptions& options);
// Validates every count, offset and link of the blob, then searches it in place.
arrow::Result<std::unique_ptr<VectorIndex>> LoadHnswIndex(std::shared_ptr<arrow::Buffer> blob,
                                                          const CommonHeader& header,
                                                          const VectorView& vectors);

// Rows reachable on level 0 from the entry point of an HNSW blob (validated
// first): num_rows for a connected graph.
arrow::Result<uint32_t> HnswReachableRows(const arrow::Buffer& blob);

}  // namespace ailake::index
