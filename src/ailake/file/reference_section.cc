#include "ailake/file/reference_section.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "ailake/index/reference_index.h"

namespace ailake::file_internal {
namespace {
template <typename T>
T Get(std::span<const uint8_t> b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}
}  // namespace

arrow::Result<uint16_t> PeekAilkVersion(std::span<const uint8_t> head, uint64_t where) {
  if (head.size() < 6) {
    return arrow::Status::Invalid("AILK section at file offset ", where, ": only ", head.size(),
                                  " bytes before the footer");
  }
  if (std::memcmp(head.data(), kAilkMagic, 4) != 0) {
    return arrow::Status::Invalid("AILK section at file offset ", where,
                                  ": wrong magic (expected 'AILK')");
  }
  return Get<uint16_t>(head, 4);
}

arrow::Result<uint64_t> PeekReferenceSectionBytes(std::span<const uint8_t> h, uint64_t where) {
  if (h.size() < kReferenceHeaderBytes) {
    return arrow::Status::Invalid("AILK section (format_version 1) at file offset ", where,
                                  ": header truncated to ", h.size(), " bytes");
  }
  const uint64_t centroid_len = Get<uint64_t>(h, 32);
  const uint64_t index_len = Get<uint64_t>(h, 48);
  constexpr uint64_t kMax = uint64_t{1} << 48;
  if (centroid_len > kMax || index_len > kMax) {
    return arrow::Status::Invalid("AILK section (format_version 1) at file offset ", where,
                                  ": centroid or index length out of range");
  }
  return kReferenceHeaderBytes + centroid_len + index_len + kReferenceTrailerBytes;
}

arrow::Result<AilkSectionHeader> DecodeReferenceSection(std::span<const uint8_t> b,
                                                        uint64_t where) {
  auto bad = [where](auto&&... parts) {
    return arrow::Status::Invalid("AILK section (format_version 1) at file offset ", where, ": ",
                                  parts...);
  };
  ARROW_ASSIGN_OR_RAISE(const uint64_t len, PeekReferenceSectionBytes(b, where));
  if (len != b.size()) return bad("length ", len, " does not match the ", b.size(), " bytes given");
  AilkSectionHeader h;
  h.format_version = Get<uint16_t>(b, 4);
  if (h.format_version != kReferenceFormatVersion) return bad("version ", h.format_version);
  const uint16_t type = Get<uint16_t>(b, 6);
  if (type > 1) return bad("unknown index type ", type);
  h.index_type = type == 0 ? IndexType::kHnsw : IndexType::kIvfPq;
  h.dim = Get<uint32_t>(b, 8);
  if (h.dim == 0 || h.dim > VectorStoragePolicy::kMaxDim)
    return bad("dim ", h.dim, " out of range");
  if (b[12] == 3) return bad("binary precision is not supported");
  ARROW_ASSIGN_OR_RAISE(h.precision, PrecisionFromCode(b[12]));
  ARROW_ASSIGN_OR_RAISE(h.metric, MetricFromCode(b[13]));
  h.num_rows = Get<uint64_t>(b, 16);
  h.centroid_offset = Get<uint64_t>(b, 24);
  const uint64_t centroid_len = Get<uint64_t>(b, 32);
  h.index_offset = Get<uint64_t>(b, 40);
  h.index_bytes = Get<uint64_t>(b, 48);
  if (h.centroid_offset != kReferenceHeaderBytes || centroid_len != 4ull * h.dim + 4) {
    return bad("centroid at ", h.centroid_offset, " of ", centroid_len, " bytes, expected 64 and ",
               4ull * h.dim + 4, " for dim ", h.dim);
  }
  if (h.index_offset != h.centroid_offset + centroid_len) {
    return bad("index offset ", h.index_offset, " does not follow the centroid");
  }
  h.section_bytes = len;
  const auto t = b.subspan(len - kReferenceTrailerBytes);
  if (std::memcmp(t.data() + 20, kAilkMagic, 4) != 0) return bad("trailer magic is not 'AILK'");
  if (Get<uint64_t>(t, 0) != where || Get<uint64_t>(t, 8) != len ||
      Get<uint16_t>(t, 16) != kReferenceFormatVersion) {
    return bad("trailer (offset ", Get<uint64_t>(t, 0), ", length ", Get<uint64_t>(t, 8),
               ") disagrees with the section (", where, ", ", len, ")");
  }
  for (uint32_t i = 0; i <= h.dim; ++i) {
    if (!std::isfinite(Get<float>(b, h.centroid_offset + 4ull * i))) {
      return bad(i < h.dim ? "centroid" : "radius", " is not finite");
    }
  }
  return h;
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceIndex(
    const std::shared_ptr<arrow::Buffer>& section, const AilkSectionInfo& info,
    const VectorView* exact) {
  if (info.num_rows > std::numeric_limits<uint32_t>::max()) {
    return arrow::Status::NotImplemented("column '", info.column, "': ", info.num_rows,
                                         " rows in one file (at most 2^32 - 1 are indexed)");
  }
  auto blob = arrow::SliceBuffer(section, static_cast<int64_t>(info.index_offset - info.offset),
                                 static_cast<int64_t>(info.index_bytes));
  const index::ReferenceBlobShape shape{info.metric, info.dim,
                                        static_cast<uint32_t>(info.num_rows)};
  auto loaded = info.index_type == IndexType::kHnsw
                    ? index::LoadReferenceHnsw(std::move(blob), shape)
                    : index::LoadReferenceIvfPq(std::move(blob), shape, exact);
  if (!loaded.ok()) {
    return loaded.status().WithMessage("index of column '", info.column, "' at file offset ",
                                       info.index_offset, ": ", loaded.status().message());
  }
  return loaded;
}

}  // namespace ailake::file_internal
