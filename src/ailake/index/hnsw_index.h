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
// With kFlagRenumberedNodes (docs/FORMAT.md 3.3.3): the offset of node_rows.
inline constexpr size_t kHnswNodeRowsOff = 160;

// HnswTraversal::kAuto, decided when each index is built from how well the
// codes rank neighbours on a sample (up to 64 rows as queries against up to
// 4,096 others: the share of each one's exact 10 nearest among its 40
// nearest by code distance). 8-bit codes below kAutoMinCodeRecall are not
// used (the graph is then built and walked on the stored vectors); 4-bit
// records (tried from kHnswSq4MinDim dimensions) are used when within
// kAutoSq4RecallSlack of the 8-bit codes. sq4_recall null: not tried.
inline constexpr double kAutoMinCodeRecall = 0.9, kAutoSq4RecallSlack = 0.02;
HnswTraversal ChooseTraversal(double sq8_recall, const double* sq4_recall);

arrow::Result<std::unique_ptr<VectorIndex>> BuildHnswIndex(const VectorStoragePolicy& policy,
                                                           const VectorView& vectors,
                                                           const IndexBuildOptions& options);
// Validates every count, offset and link of the blob, then searches it in place.
arrow::Result<std::unique_ptr<VectorIndex>> LoadHnswIndex(std::shared_ptr<arrow::Buffer> blob,
                                                          const CommonHeader& header,
                                                          const VectorView& vectors);

// Rows of the beam (ef of them) re-ranked on the stored vectors after a walk
// on traversal codes, the nearest by code distance: k * refine_factor, or
// with 0 the whole beam; at least k, at most ef.
uint32_t HnswReRankedRows(uint32_t k, uint32_t ef, uint32_t refine_factor);

// Rows reachable on level 0 from the entry point of an HNSW blob (validated
// first): num_rows for a connected graph.
arrow::Result<uint32_t> HnswReachableRows(const arrow::Buffer& blob);

}  // namespace ailake::index
