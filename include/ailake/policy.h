// VectorStoragePolicy: how one vector column is stored and indexed.
//
// Distance convention, for every metric: LOWER distance = MORE similar, so
// results from any index, file or metric sort the same way and merge.
//   kEuclidean         squared L2:        sum_i (q_i - v_i)^2
//   kDotProduct        negated dot:       -sum_i q_i v_i
//   kCosine            cosine distance:   1 - q.v / (|q| |v|)   (0 for a zero vector pair)
//   kNormalizedCosine  1 - q.v, for vectors normalized to unit length at write
//                      time (requires pre_normalize = true)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake {

enum class DistanceMetric : uint8_t {
  kCosine = 0,
  kEuclidean = 1,
  kDotProduct = 2,
  kNormalizedCosine = 3,
};

// Element type of the stored vector column.
enum class Precision : uint8_t {
  kF32 = 0,   // 4 bytes per dimension
  kF16 = 1,   // 2 bytes per dimension (IEEE 754 half)
  kInt8 = 2,  // 1 byte per dimension + a decode rule (Int8Scaling)
};

// How int8 codes decode to floats: value = code * scale + offset.
enum class Int8Scaling : uint8_t {
  kUnset = 0,      // invalid for kInt8: no way to decode
  kPerVector = 1,  // scale and offset computed per vector from its min/max and stored with it
  kFixed = 2,      // one scale/offset for the whole column (Int8Params)
};

enum class IndexType : uint8_t {
  kNone = 0,  // plain Parquet, exact scan only
  kFlat = 1,  // exact search over the stored vectors
  kHnsw = 2,
  kIvfPq = 3,
  kAuto = 4,  // chosen at write time from the hardware profile and row count
};

// What an HNSW graph is walked on: the stored vectors (kExact), or 8-bit
// scalar codes kept beside the graph (kSq8: one byte per dimension more per
// row; the beam's nearest rows are re-ranked on the stored vectors, so
// returned distances stay exact). Measured 1.4-1.7x the queries per second
// at the same recall (docs/BENCHMARKS.md). An int8 column is walked on its
// own 8-bit codes whichever is set: no copy is added. kSq4 walks on 4-bit
// codes with a scale and offset per row (half sq8's bytes per row: for wide
// vectors, where the walk waits on its loads). kAuto, the default, picks
// when each file's index is built, by measuring how well each code ranks a
// sample's neighbours: sq4 (tried from kHnswSq4MinDim dimensions) when it
// ranks them as well as sq8, sq8 unless it ranks them poorly, else exact
// (docs/ARCHITECTURE.md). docs/FORMAT.md 3.3.1-3.3.2.
enum class HnswTraversal : uint8_t { kExact = 0, kSq8 = 1, kSq4 = 2, kAuto = 3 };
inline constexpr uint32_t kHnswSq4MinDim = 256;

struct HnswConfig {
  uint32_t m = 16;                 // links per node on upper layers; 2*m on layer 0
  uint32_t ef_construction = 200;  // candidate list size while building
  uint32_t ef_search = 64;         // default candidate list size per query (overridable per call)
  uint64_t seed = 42;              // level assignment
  HnswTraversal traversal = HnswTraversal::kAuto;
};

struct IvfPqConfig {
  uint32_t nlist = 256;  // coarse clusters
  uint32_t nprobe = 16;  // default clusters probed per query (overridable per call)
  uint32_t m = 16;       // PQ sub-spaces; must divide dim
  // Bits per PQ code: 8 (256 codewords per sub-space, scored by table
  // gathers) or 4 (16 codewords, scanned 32 rows at a time with in-register
  // lookup tables; coarser codes, so raise refine_factor).
  uint32_t nbits = 8;
  uint32_t refine_factor = 4;  // candidates re-ranked exactly = k * refine_factor
  uint64_t seed = 42;
  // Tables: the column's shared codebook is trained once this many of its
  // rows are at hand (0 = 39 x max(nlist, 2^nbits), the sample k-means needs
  // for stable centroids). Until then the column's files stay pending,
  // searched exactly, rather than encoded with a codebook of too few rows.
  uint32_t min_training_rows = 0;
};

struct Int8Params {
  Int8Scaling scaling = Int8Scaling::kUnset;
  float scale = 0.0f;   // kFixed only
  float offset = 0.0f;  // kFixed only
};

struct VectorStoragePolicy {
  std::string vector_column = "embedding";
  uint32_t dim = 0;
  DistanceMetric metric = DistanceMetric::kCosine;
  Precision precision = Precision::kF32;
  bool pre_normalize = false;  // normalize vectors to unit length before storing
  Int8Params int8;
  IndexType index_type = IndexType::kHnsw;
  HnswConfig hnsw;
  IvfPqConfig ivf_pq;

  // Largest accepted dimension. Larger vectors are rejected as a likely error.
  static constexpr uint32_t kMaxDim = 65536;

  // OK, or Invalid naming the offending field and its value.
  arrow::Status Validate() const;
  // Bytes of one stored vector (the FIXED_LEN_BYTE_ARRAY width).
  int32_t StoredVectorBytes() const;
};

std::string_view MetricName(DistanceMetric m);
std::string_view PrecisionName(Precision p);
std::string_view IndexTypeName(IndexType t);
// Accepts the names above ("cosine", "euclidean"/"l2", "dot", "normalized_cosine").
arrow::Result<DistanceMetric> ParseMetric(std::string_view name);
arrow::Result<Precision> ParsePrecision(std::string_view name);
arrow::Result<IndexType> ParseIndexType(std::string_view name);
std::string_view HnswTraversalName(HnswTraversal t);  // "exact", "sq8", "sq4", "auto"
arrow::Result<HnswTraversal> ParseHnswTraversal(std::string_view name);
// Rejects values outside the enumeration (for bytes read from files).
arrow::Result<DistanceMetric> MetricFromCode(uint32_t code);
arrow::Result<Precision> PrecisionFromCode(uint32_t code);

}  // namespace ailake
