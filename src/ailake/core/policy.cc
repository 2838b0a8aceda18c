#include "ailake/policy.h"

#include <cmath>
#include <string>

namespace ailake {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string_view MetricName(DistanceMetric m) {
  switch (m) {
    case DistanceMetric::kCosine: return "cosine";
    case DistanceMetric::kEuclidean: return "euclidean";
    case DistanceMetric::kDotProduct: return "dot";
    case DistanceMetric::kNormalizedCosine: return "normalized_cosine";
  }
  return "unknown";
}

std::string_view PrecisionName(Precision p) {
  switch (p) {
    case Precision::kF32: return "f32";
    case Precision::kF16: return "f16";
    case Precision::kInt8: return "int8";
  }
  return "unknown";
}

std::string_view IndexTypeName(IndexType t) {
  switch (t) {
    case IndexType::kNone: return "none";
    case IndexType::kFlat: return "flat";
    case IndexType::kHnsw: return "hnsw";
    case IndexType::kIvfPq: return "ivf_pq";
    case IndexType::kAuto: return "auto";
  }
  return "unknown";
}

arrow::Result<DistanceMetric> ParseMetric(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "cosine") return DistanceMetric::kCosine;
  if (n == "euclidean" || n == "l2") return DistanceMetric::kEuclidean;
  if (n == "dot" || n == "dot_product" || n == "ip") return DistanceMetric::kDotProduct;
  if (n == "normalized_cosine") return DistanceMetric::kNormalizedCosine;
  return arrow::Status::Invalid("unknown distance metric '", name,
                                "' (expected cosine, euclidean, dot or normalized_cosine)");
}

arrow::Result<Precision> ParsePrecision(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "f32" || n == "float32") return Precision::kF32;
  if (n == "f16" || n == "float16") return Precision::kF16;
  if (n == "int8" || n == "i8") return Precision::kInt8;
  return arrow::Status::Invalid("unknown precision '", name, "' (expected f32, f16 or int8)");
}

arrow::Result<IndexType> ParseIndexType(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "none" || n.empty()) return IndexType::kNone;
  if (n == "flat") return IndexType::kFlat;
  if (n == "hnsw") return IndexType::kHnsw;
  if (n == "ivf_pq" || n == "ivfpq") return IndexType::kIvfPq;
  if (n == "auto") return IndexType::kAuto;
  return arrow::Status::Invalid("unknown index type '", name,
                                "' (expected none, flat, hnsw, ivf_pq or auto)");
}

std::string_view HnswTraversalName(HnswTraversal t) {
  switch (t) {
    case HnswTraversal::kExact: return "exact";
    case HnswTraversal::kSq8: return "sq8";
    case HnswTraversal::kSq4: return "sq4";
    case HnswTraversal::kAuto: return "auto";
  }
  return "unknown";
}

arrow::Result<HnswTraversal> ParseHnswTraversal(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "exact") return HnswTraversal::kExact;
  if (n == "sq8") return HnswTraversal::kSq8;
  if (n == "sq4") return HnswTraversal::kSq4;
  if (n == "auto") return HnswTraversal::kAuto;
  return arrow::Status::Invalid("unknown HNSW traversal '", name,
                                "' (expected exact, sq8, sq4 or auto)");
}

arrow::Result<DistanceMetric> MetricFromCode(uint32_t code) {
  if (code > static_cast<uint32_t>(DistanceMetric::kNormalizedCosine)) {
    return arrow::Status::Invalid("unknown distance metric code ", code);
  }
  return static_cast<DistanceMetric>(code);
}

arrow::Result<Precision> PrecisionFromCode(uint32_t code) {
  if (code > static_cast<uint32_t>(Precision::kInt8)) {
    return arrow::Status::Invalid("unknown precision code ", code);
  }
  return static_cast<Precision>(code);
}

arrow::Status VectorStoragePolicy::Validate() const {
  if (vector_column.empty()) {
    return arrow::Status::Invalid("VectorStoragePolicy.vector_column: must not be empty");
  }
  if (dim == 0 || dim > kMaxDim) {
    return arrow::Status::Invalid("VectorStoragePolicy.dim: ", dim, " is out of range [1, ",
                                  kMaxDim, "]");
  }
  if (static_cast<uint32_t>(metric) > static_cast<uint32_t>(DistanceMetric::kNormalizedCosine)) {
    return arrow::Status::Invalid("VectorStoragePolicy.metric: unknown metric code ",
                                  static_cast<uint32_t>(metric));
  }
  if (static_cast<uint32_t>(precision) > static_cast<uint32_t>(Precision::kInt8)) {
    return arrow::Status::Invalid("VectorStoragePolicy.precision: unknown precision code ",
                                  static_cast<uint32_t>(precision));
  }
  if (static_cast<uint32_t>(index_type) > static_cast<uint32_t>(IndexType::kAuto)) {
    return arrow::Status::Invalid("VectorStoragePolicy.index_type: unknown index type code ",
                                  static_cast<uint32_t>(index_type));
  }
  if (metric == DistanceMetric::kNormalizedCosine && !pre_normalize) {
    return arrow::Status::Invalid(
        "VectorStoragePolicy.metric: normalized_cosine requires pre_normalize = true "
        "(vectors must be unit length for 1 - dot to be a cosine distance)");
  }
  if (precision == Precision::kInt8) {
    switch (int8.scaling) {
      case Int8Scaling::kPerVector: break;
      case Int8Scaling::kFixed:
        if (!std::isfinite(int8.scale) || int8.scale <= 0.0f || !std::isfinite(int8.offset)) {
          return arrow::Status::Invalid(
              "VectorStoragePolicy.int8: fixed scaling needs a finite "
              "scale > 0 and a finite offset (got scale ",
              int8.scale, ", offset ", int8.offset, ")");
        }
        break;
      default:
        return arrow::Status::Invalid(
            "VectorStoragePolicy.int8.scaling: int8 precision needs a decode rule "
            "(per_vector or fixed scale/offset), got ",
            static_cast<uint32_t>(int8.scaling));
    }
  }
  if (hnsw.m < 2 || hnsw.m > 256) {
    return arrow::Status::Invalid("VectorStoragePolicy.hnsw.m: ", hnsw.m,
                                  " is out of range [2, 256]");
  }
  if (hnsw.ef_construction < 1 || hnsw.ef_construction > 100000) {
    return arrow::Status::Invalid("VectorStoragePolicy.hnsw.ef_construction: ",
                                  hnsw.ef_construction, " is out of range [1, 100000]");
  }
  if (hnsw.ef_search < 1 || hnsw.ef_search > 100000) {
    return arrow::Status::Invalid("VectorStoragePolicy.hnsw.ef_search: ", hnsw.ef_search,
                                  " is out of range [1, 100000]");
  }
  if (hnsw.traversal != HnswTraversal::kExact && hnsw.traversal != HnswTraversal::kSq8 &&
      hnsw.traversal != HnswTraversal::kSq4 && hnsw.traversal != HnswTraversal::kAuto) {
    return arrow::Status::Invalid(
        "VectorStoragePolicy.hnsw.traversal: ", static_cast<int>(hnsw.traversal),
        " is not exact, sq8, sq4 or auto");
  }
  if (index_type != IndexType::kIvfPq) return arrow::Status::OK();
  if (ivf_pq.nlist < 1 || ivf_pq.nlist > (1u << 20)) {
    return arrow::Status::Invalid("VectorStoragePolicy.ivf_pq.nlist: ", ivf_pq.nlist,
                                  " is out of range [1, 1048576]");
  }
  if (ivf_pq.nprobe < 1) {
    return arrow::Status::Invalid("VectorStoragePolicy.ivf_pq.nprobe: must be >= 1");
  }
  if (ivf_pq.m < 1 || dim % ivf_pq.m != 0) {
    return arrow::Status::Invalid("VectorStoragePolicy.ivf_pq.m: ", ivf_pq.m,
                                  " must be >= 1 and divide dim ", dim);
  }
  if (ivf_pq.nbits != 4 && ivf_pq.nbits != 8) {
    return arrow::Status::Invalid("VectorStoragePolicy.ivf_pq.nbits: ", ivf_pq.nbits,
                                  " is not supported (4: fast-scan codes, or 8)");
  }
  return arrow::Status::OK();
}

int32_t VectorStoragePolicy::StoredVectorBytes() const {
  switch (precision) {
    case Precision::kF32: return static_cast<int32_t>(dim) * 4;
    case Precision::kF16: return static_cast<int32_t>(dim) * 2;
    case Precision::kInt8:
      // Per-vector scaling stores scale and offset (two f32) after the codes.
      return static_cast<int32_t>(dim) + (int8.scaling == Int8Scaling::kPerVector ? 8 : 0);
  }
  return 0;
}

}  // namespace ailake
