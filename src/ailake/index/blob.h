// Index blob plumbing shared by every index type: the 64-byte common header
// (docs/FORMAT.md section 3.1), a writer that appends 64-byte-aligned
// sections, and bounds-checked little-endian reads for the loaders. Nothing
// here trusts the bytes it reads: every read names the blob offset it failed at.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/index.h"
#include "ailake/policy.h"

namespace ailake::index {

inline constexpr uint32_t kBlobMagic = 0x42584941;  // "AIXB" little-endian
inline constexpr uint16_t kBlobVersion = 1;
inline constexpr size_t kCommonHeaderBytes = 64;
inline constexpr size_t kSectionAlign = 64;

enum BlobFlags : uint16_t {
  kFlagInverseNorms = 1,      // flat and HNSW, cosine: 1/|v| per row
  kFlagExternalCodebook = 2,  // IVF-PQ: codebook referenced by fingerprint, not embedded
  kFlagTraversalCodes = 4,    // HNSW: a compact copy of the vectors to walk the graph on
  kFlagRenumberedNodes = 8,   // HNSW, with traversal codes: nodes in locality order, mapped to rows
  kFlagSpilledRows = 16,      // IVF-PQ: some rows also sit in a second list (entries > rows)
};

struct CommonHeader {
  IndexType type = IndexType::kFlat;
  DistanceMetric metric = DistanceMetric::kEuclidean;
  Precision precision = Precision::kF32;
  Int8Params int8;
  uint16_t flags = 0;
  uint32_t dim = 0;
  uint32_t num_rows = 0;
  uint64_t blob_bytes = 0;
};

inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline float LoadF32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

// Builds a blob in memory: the caller writes headers with Put*, and appends
// sections that start on kSectionAlign boundaries.
class BlobWriter {
 public:
  explicit BlobWriter(size_t header_bytes) : bytes_(header_bytes, 0) {}
  void PutU16(size_t at, uint16_t v) { std::memcpy(&bytes_[at], &v, 2); }
  void PutU32(size_t at, uint32_t v) { std::memcpy(&bytes_[at], &v, 4); }
  void PutU64(size_t at, uint64_t v) { std::memcpy(&bytes_[at], &v, 8); }
  void PutF32(size_t at, float v) { std::memcpy(&bytes_[at], &v, 4); }
  void PutU8(size_t at, uint8_t v) { bytes_[at] = v; }
  // Appends n bytes at the next aligned offset and returns that offset.
  uint64_t Append(const void* data, size_t n) {
    const size_t at = (bytes_.size() + kSectionAlign - 1) / kSectionAlign * kSectionAlign;
    bytes_.resize(at + n);
    if (n > 0) std::memcpy(&bytes_[at], data, n);
    return at;
  }
  size_t size() const { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }
  // Pads to the alignment and hands the bytes over as an arrow::Buffer.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Finish();

 private:
  std::vector<uint8_t> bytes_;
};

void WriteCommonHeader(BlobWriter* w, const CommonHeader& h);

// Validates the common header against the blob size; `what` names the index type
// for messages.
arrow::Result<CommonHeader> ReadCommonHeader(const arrow::Buffer& blob);

// Checks that [offset, offset + count * elem_bytes) lies inside a blob of
// `blob_bytes` bytes, without overflow; names the section on failure.
arrow::Status CheckSection(uint64_t blob_bytes, uint64_t offset, uint64_t count,
                           uint64_t elem_bytes, const char* section);

// Checks that `vectors` are the rows the header describes.
arrow::Status CheckVectorsMatch(const CommonHeader& h, const VectorView& vectors);

// FNV-1a 64 over bytes.
uint64_t Fnv1a64(const uint8_t* data, size_t n);

}  // namespace ailake::index
