// Searchers over the index blobs of the reference implementation (PyPI
// `ailake` 0.1.x, AILK format_version 1), opened in place from the read-only
// blob: the HNSW record of docs/REFERENCE_FORMAT.md 5 and the IVF-PQ record of
// section 6. Both are validated completely on load (every length, offset and
// id against the blob) and keep only light offset tables beside it.
//
// Distances follow include/ailake/policy.h (lower = closer; euclidean =
// squared L2, cosine = 1 - cos, dot = -dot, normalized_cosine = 1 - q.v):
//  - HNSW: exact, from the f32 vectors the blob embeds (whatever the Parquet
//    column's precision, so int8 columns without a scale are searchable too).
//  - IVF-PQ: exact when `exact` vectors (the file's decodable f32/f16 column)
//    are given: the ADC candidates (k * refine_factor) are re-ranked with them.
//    Without them (pq_only files, int8 columns without a scale) the distances
//    are the ADC approximation converted to our convention: euclidean = ADC,
//    cosine and normalized_cosine = ADC / 2 (squared L2 of unit vectors is
//    2 - 2 cos); dot_product cannot be converted and is refused.
// Row ids in results are file rows (the blob's row ids), and RowFilter bits
// are file rows too.
#pragma once

#include <cstdint>
#include <memory>

#include <arrow/buffer.h>
#include <arrow/result.h>

#include "ailake/index.h"

namespace ailake::index {

// What the section header says about the blob; the blob must agree.
struct ReferenceBlobShape {
  DistanceMetric metric = DistanceMetric::kCosine;
  uint32_t dim = 0;
  uint32_t num_rows = 0;
};

// Default beam width of a reference HNSW search (the reference's ef_search).
inline constexpr uint32_t kReferenceHnswDefaultEf = 50;
// Default re-ranking factor of a reference IVF-PQ search with exact vectors.
inline constexpr uint32_t kReferenceIvfPqDefaultRefine = 4;

// Index type 0.
arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceHnsw(std::shared_ptr<arrow::Buffer> blob,
                                                              const ReferenceBlobShape& shape);

// Index type 1. `exact`: the vectors the codes encode (num_rows rows, any
// decodable precision) for re-ranking, or null; borrowed, must outlive the
// index.
arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceIvfPq(std::shared_ptr<arrow::Buffer> blob,
                                                               const ReferenceBlobShape& shape,
                                                               const VectorView* exact);

}  // namespace ailake::index
