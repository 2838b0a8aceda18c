#include "ailake/index/blob.h"

#include <cmath>

#include <arrow/memory_pool.h>

#include "ailake/core/large_buffer.h"

namespace ailake::index {

arrow::Result<std::shared_ptr<arrow::Buffer>> BlobWriter::Finish() {
  const size_t n = (bytes_.size() + kSectionAlign - 1) / kSectionAlign * kSectionAlign;
  bytes_.resize(n, 0);
  PutU64(24, n);
  // Searches read the blob at random: huge-page memory when large.
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf,
                        core::AllocateLargeBuffer(static_cast<int64_t>(n)));
  std::memcpy(buf->mutable_data(), bytes_.data(), n);
  std::vector<uint8_t>().swap(bytes_);
  return buf;
}

// Layout (docs/FORMAT.md 3.1):
//  0 u32 magic | 4 u16 version | 6 u8 type | 7 u8 metric | 8 u8 precision |
//  9 u8 int8 scaling | 10 u16 flags | 12 u32 dim | 16 u32 num_rows | 20 u32 reserved |
// 24 u64 blob bytes | 32 f32 int8 scale | 36 f32 int8 offset | 40..63 reserved (0)
void WriteCommonHeader(BlobWriter* w, const CommonHeader& h) {
  w->PutU32(0, kBlobMagic);
  w->PutU16(4, kBlobVersion);
  w->PutU8(6, static_cast<uint8_t>(h.type));
  w->PutU8(7, static_cast<uint8_t>(h.metric));
  w->PutU8(8, static_cast<uint8_t>(h.precision));
  w->PutU8(9, static_cast<uint8_t>(h.int8.scaling));
  w->PutU16(10, h.flags);
  w->PutU32(12, h.dim);
  w->PutU32(16, h.num_rows);
  w->PutF32(32, h.int8.scale);
  w->PutF32(36, h.int8.offset);
}

arrow::Result<CommonHeader> ReadCommonHeader(const arrow::Buffer& blob) {
  const uint8_t* p = blob.data();
  const uint64_t size = static_cast<uint64_t>(blob.size());
  if (size < kCommonHeaderBytes) {
    return arrow::Status::Invalid("index blob: ", size, " bytes is shorter than the ",
                                  kCommonHeaderBytes, "-byte header");
  }
  if (LoadU32(p) != kBlobMagic) {
    return arrow::Status::Invalid("index blob: bad magic at offset 0 (expected \"AIXB\")");
  }
  uint16_t version;
  std::memcpy(&version, p + 4, 2);
  if (version != kBlobVersion) {
    return arrow::Status::NotImplemented("index blob: format version ", version,
                                         " is not supported (this build reads ", kBlobVersion, ")");
  }
  CommonHeader h;
  if (p[6] < static_cast<uint8_t>(IndexType::kFlat) ||
      p[6] > static_cast<uint8_t>(IndexType::kIvfPq)) {
    return arrow::Status::Invalid("index blob: unknown index type code ", int{p[6]},
                                  " at offset 6");
  }
  h.type = static_cast<IndexType>(p[6]);
  ARROW_ASSIGN_OR_RAISE(h.metric, MetricFromCode(p[7]));
  ARROW_ASSIGN_OR_RAISE(h.precision, PrecisionFromCode(p[8]));
  if (p[9] > static_cast<uint8_t>(Int8Scaling::kFixed)) {
    return arrow::Status::Invalid("index blob: unknown int8 scaling code ", int{p[9]},
                                  " at offset 9");
  }
  h.int8.scaling = static_cast<Int8Scaling>(p[9]);
  std::memcpy(&h.flags, p + 10, 2);
  h.dim = LoadU32(p + 12);
  h.num_rows = LoadU32(p + 16);
  h.blob_bytes = LoadU64(p + 24);
  h.int8.scale = LoadF32(p + 32);
  h.int8.offset = LoadF32(p + 36);
  if (h.dim == 0 || h.dim > VectorStoragePolicy::kMaxDim) {
    return arrow::Status::Invalid("index blob: dim ", h.dim, " at offset 12 is out of range");
  }
  if (h.blob_bytes != size) {
    return arrow::Status::Invalid("index blob: header says ", h.blob_bytes,
                                  " bytes at offset 24 but the buffer holds ", size);
  }
  return h;
}

arrow::Status CheckSection(uint64_t blob_bytes, uint64_t offset, uint64_t count,
                           uint64_t elem_bytes, const char* section) {
  // count * elem_bytes must not overflow and the end must stay inside the blob.
  if (elem_bytes != 0 && count > (UINT64_MAX / elem_bytes)) {
    return arrow::Status::Invalid("index blob: section ", section, " size overflows (", count,
                                  " x ", elem_bytes, " bytes)");
  }
  const uint64_t n = count * elem_bytes;
  if (offset < kCommonHeaderBytes || offset > blob_bytes || n > blob_bytes - offset) {
    return arrow::Status::Invalid("index blob: section ", section, " [", offset, ", +", n,
                                  ") lies outside the ", blob_bytes, "-byte blob");
  }
  return arrow::Status::OK();
}

arrow::Status CheckVectorsMatch(const CommonHeader& h, const VectorView& vectors) {
  if (vectors.dim() != h.dim || vectors.num_rows() != h.num_rows ||
      vectors.precision() != h.precision) {
    return arrow::Status::Invalid("index blob: built over ", h.num_rows, " rows of dim ", h.dim,
                                  " ", PrecisionName(h.precision), ", but the vectors given have ",
                                  vectors.num_rows(), " rows of dim ", vectors.dim(), " ",
                                  PrecisionName(vectors.precision()));
  }
  if (h.precision == Precision::kInt8 &&
      (vectors.int8().scaling != h.int8.scaling ||
       (h.int8.scaling == Int8Scaling::kFixed &&
        (vectors.int8().scale != h.int8.scale || vectors.int8().offset != h.int8.offset)))) {
    return arrow::Status::Invalid("index blob: int8 decode rule differs from the vectors'");
  }
  return arrow::Status::OK();
}

uint64_t Fnv1a64(const uint8_t* data, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace ailake::index
