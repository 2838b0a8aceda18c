#include "ailake/file/ailk_section.h"

#include <cmath>
#include <cstring>

#include "ailake/core/checksum.h"

namespace ailake::file_internal {
namespace {

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

template <typename T>
void Put(std::string* s, size_t at, T v) {
  std::memcpy(s->data() + at, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
}
template <typename T>
T Get(std::span<const uint8_t> b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

// Header field offsets (docs/FORMAT.md 2.2).
enum : size_t {
  kOffMagic = 0,
  kOffVersion = 4,
  kOffHeaderBytes = 6,
  kOffSectionBytes = 8,
  kOffNumRows = 16,
  kOffDim = 24,
  kOffMetric = 28,
  kOffPrecision = 29,
  kOffIndexType = 30,
  kOffFlags = 31,
  kOffInt8Scaling = 32,
  kOffInt8Scale = 36,
  kOffInt8Offset = 40,
  kOffNameBytes = 44,
  kOffNameOffset = 48,
  kOffCentroidOffset = 56,
  kOffCentroidBytes = 64,
  kOffIndexOffset = 72,
  kOffIndexBytes = 80,
  kOffChecksumKind = 88,
  kOffBodyChecksum = 96,
  kOffIndexChecksum = 104,
  kOffHeaderChecksum = 112,
  kOffReservedTail = 120,
};
constexpr uint8_t kChecksumNone = 0;
constexpr uint8_t kChecksumXxh3 = 1;

}  // namespace

arrow::Result<std::string> EncodeAilkSection(const VectorStoragePolicy& policy,
                                             IndexType resolved_index_type, uint64_t num_rows,
                                             std::span<const float> centroid, float radius,
                                             std::span<const uint8_t> index_blob) {
  if (centroid.size() != policy.dim) {
    return arrow::Status::Invalid("AILK section for column '", policy.vector_column,
                                  "': centroid has ", centroid.size(), " values, dim is ",
                                  policy.dim);
  }
  if (resolved_index_type == IndexType::kAuto) {
    return arrow::Status::Invalid("AILK section: index type must be resolved, not auto");
  }
  const uint64_t name_offset = kAilkHeaderBytes;
  const uint64_t centroid_offset = AlignUp(name_offset + policy.vector_column.size(), 8);
  const uint64_t centroid_bytes = 4ull * policy.dim + 4;
  const uint64_t index_offset = AlignUp(centroid_offset + centroid_bytes, kAilkAlignment);
  const uint64_t trailer_offset = AlignUp(index_offset + index_blob.size(), 8);
  const uint64_t section_bytes = trailer_offset + kAilkTrailerBytes;

  std::string s(section_bytes, '\0');
  std::memcpy(s.data() + kOffMagic, kAilkMagic, 4);
  Put<uint16_t>(&s, kOffVersion, kAilkFormatVersion);
  Put<uint16_t>(&s, kOffHeaderBytes, kAilkHeaderBytes);
  Put<uint64_t>(&s, kOffSectionBytes, section_bytes);
  Put<uint64_t>(&s, kOffNumRows, num_rows);
  Put<uint32_t>(&s, kOffDim, policy.dim);
  Put<uint8_t>(&s, kOffMetric, static_cast<uint8_t>(policy.metric));
  Put<uint8_t>(&s, kOffPrecision, static_cast<uint8_t>(policy.precision));
  Put<uint8_t>(&s, kOffIndexType, static_cast<uint8_t>(resolved_index_type));
  Put<uint8_t>(&s, kOffFlags, policy.pre_normalize ? 1 : 0);
  Put<uint8_t>(&s, kOffInt8Scaling,
               static_cast<uint8_t>(policy.precision == Precision::kInt8 ? policy.int8.scaling
                                                                         : Int8Scaling::kUnset));
  Put<float>(&s, kOffInt8Scale, policy.int8.scale);
  Put<float>(&s, kOffInt8Offset, policy.int8.offset);
  Put<uint32_t>(&s, kOffNameBytes, static_cast<uint32_t>(policy.vector_column.size()));
  Put<uint64_t>(&s, kOffNameOffset, name_offset);
  Put<uint64_t>(&s, kOffCentroidOffset, centroid_offset);
  Put<uint64_t>(&s, kOffCentroidBytes, centroid_bytes);
  Put<uint64_t>(&s, kOffIndexOffset, index_offset);
  Put<uint64_t>(&s, kOffIndexBytes, index_blob.size());
  std::memcpy(s.data() + name_offset, policy.vector_column.data(), policy.vector_column.size());
  std::memcpy(s.data() + centroid_offset, centroid.data(), 4ull * policy.dim);
  Put<float>(&s, centroid_offset + 4ull * policy.dim, radius);
  if (!index_blob.empty())
    std::memcpy(s.data() + index_offset, index_blob.data(), index_blob.size());
  // Trailer: section_bytes, num_rows, format_version (u32), magic.
  Put<uint64_t>(&s, trailer_offset, section_bytes);
  Put<uint64_t>(&s, trailer_offset + 8, num_rows);
  Put<uint32_t>(&s, trailer_offset + 16, kAilkFormatVersion);
  std::memcpy(s.data() + trailer_offset + 20, kAilkMagic, 4);
  // Checksums last: body (name, centroid, radius and their padding), index
  // blob, then the header bytes before the header checksum.
  const auto* b = reinterpret_cast<const uint8_t*>(s.data());
  Put<uint8_t>(&s, kOffChecksumKind, kChecksumXxh3);
  Put<uint64_t>(&s, kOffBodyChecksum,
                core::Checksum64(b + kAilkHeaderBytes, index_offset - kAilkHeaderBytes));
  Put<uint64_t>(&s, kOffIndexChecksum, core::Checksum64(b + index_offset, index_blob.size()));
  Put<uint64_t>(&s, kOffHeaderChecksum, core::Checksum64(b, kOffHeaderChecksum));
  return s;
}

arrow::Result<uint64_t> PeekAilkSectionBytes(std::span<const uint8_t> h, uint64_t where) {
  if (h.size() < 8) {
    return arrow::Status::Invalid("AILK section at file offset ", where, ": only ", h.size(),
                                  " bytes, a header needs ", kAilkHeaderBytes);
  }
  if (std::memcmp(h.data(), kAilkMagic, 4) != 0) {
    return arrow::Status::Invalid("AILK section at file offset ", where,
                                  ": wrong magic (expected 'AILK')");
  }
  const uint16_t version = Get<uint16_t>(h, kOffVersion);
  if (version != kAilkFormatVersion) {
    return arrow::Status::NotImplemented(
        "AILK section at file offset ", where, ": format_version ", version,
        " is not supported by this reader (it reads version ", kAilkFormatVersion,
        version == 1 ? "; version 1 is the reference implementation's layout)" : ")");
  }
  if (h.size() < kAilkHeaderBytes) {
    return arrow::Status::Invalid("AILK section at file offset ", where, ": header truncated to ",
                                  h.size(), " bytes (needs ", kAilkHeaderBytes, ")");
  }
  return Get<uint64_t>(h, kOffSectionBytes);
}

arrow::Result<AilkSectionHeader> DecodeAilkHeader(std::span<const uint8_t> b, uint64_t where) {
  ARROW_ASSIGN_OR_RAISE(const uint64_t section_bytes, PeekAilkSectionBytes(b, where));
  auto bad = [where](auto&&... parts) {
    return arrow::Status::Invalid("AILK section at file offset ", where, ": ", parts...);
  };
  if (Get<uint16_t>(b, kOffHeaderBytes) != kAilkHeaderBytes) {
    return bad("header_bytes is ", Get<uint16_t>(b, kOffHeaderBytes), ", expected ",
               kAilkHeaderBytes);
  }
  if (section_bytes != b.size()) {
    return bad("section_bytes ", section_bytes, " does not match the ", b.size(),
               " bytes available to it");
  }
  if (section_bytes < kAilkHeaderBytes + kAilkTrailerBytes) {
    return bad("section_bytes ", section_bytes, " is smaller than header + trailer");
  }
  // Checksums (FORMAT.md 2.3). Kind 0 is a section written before them: its
  // checksum fields must then be zero, so that one flipped bit in the kind
  // cannot switch checking off.
  const uint8_t kind = b[kOffChecksumKind];
  const bool checksummed = kind == kChecksumXxh3;
  if (kind != kChecksumNone && !checksummed) return bad("unknown checksum kind ", int{kind});
  for (size_t i = kOffChecksumKind + 1; i < kAilkHeaderBytes; ++i) {
    const bool field = i >= kOffBodyChecksum && i < kOffReservedTail;
    if (b[i] != 0 && (!field || !checksummed)) {
      return bad("reserved header byte ", i, " is not zero",
                 checksummed ? "" : " (checksum fields set without a checksum kind)");
    }
  }
  if (checksummed && core::kChecksumsEnforced &&
      core::Checksum64(b.data(), kOffHeaderChecksum) != Get<uint64_t>(b, kOffHeaderChecksum)) {
    return bad("header checksum mismatch (bytes 0..", size_t{kOffHeaderChecksum},
               " of the section): the file is corrupt");
  }
  AilkSectionHeader h;
  h.format_version = Get<uint16_t>(b, kOffVersion);
  h.section_bytes = section_bytes;
  h.num_rows = Get<uint64_t>(b, kOffNumRows);
  h.dim = Get<uint32_t>(b, kOffDim);
  if (h.dim == 0 || h.dim > VectorStoragePolicy::kMaxDim)
    return bad("dim ", h.dim, " out of range");
  ARROW_ASSIGN_OR_RAISE(h.metric, MetricFromCode(b[kOffMetric]));
  ARROW_ASSIGN_OR_RAISE(h.precision, PrecisionFromCode(b[kOffPrecision]));
  const uint8_t it = b[kOffIndexType];
  if (it > static_cast<uint8_t>(IndexType::kIvfPq)) return bad("unknown index type code ", int{it});
  h.index_type = static_cast<IndexType>(it);
  h.pre_normalize = (b[kOffFlags] & 1) != 0;
  const uint8_t sc = b[kOffInt8Scaling];
  if (sc > static_cast<uint8_t>(Int8Scaling::kFixed))
    return bad("unknown int8 scaling code ", int{sc});
  h.int8.scaling = static_cast<Int8Scaling>(sc);
  h.int8.scale = Get<float>(b, kOffInt8Scale);
  h.int8.offset = Get<float>(b, kOffInt8Offset);
  if (h.precision == Precision::kInt8 && h.int8.scaling == Int8Scaling::kUnset) {
    return bad("int8 precision without a scaling rule");
  }
  const uint32_t name_bytes = Get<uint32_t>(b, kOffNameBytes);
  const uint64_t name_offset = Get<uint64_t>(b, kOffNameOffset);
  h.centroid_offset = Get<uint64_t>(b, kOffCentroidOffset);
  const uint64_t centroid_bytes = Get<uint64_t>(b, kOffCentroidBytes);
  h.index_offset = Get<uint64_t>(b, kOffIndexOffset);
  h.index_bytes = Get<uint64_t>(b, kOffIndexBytes);
  const uint64_t body_end = section_bytes - kAilkTrailerBytes;
  auto in_body = [&](uint64_t off, uint64_t len) {
    return off >= kAilkHeaderBytes && off <= body_end && len <= body_end - off;
  };
  if (!in_body(name_offset, name_bytes)) {
    return bad("column name (offset ", name_offset, ", ", name_bytes,
               " bytes) lies outside the section");
  }
  if (centroid_bytes != 4ull * h.dim + 4) {
    return bad("centroid_bytes ", centroid_bytes, " does not match dim ", h.dim, " (expected ",
               4ull * h.dim + 4, ")");
  }
  if (!in_body(h.centroid_offset, centroid_bytes) || h.centroid_offset % 4 != 0) {
    return bad("centroid (offset ", h.centroid_offset, ", ", centroid_bytes,
               " bytes) lies outside the section or is misaligned");
  }
  if (!in_body(h.index_offset, h.index_bytes) || h.index_offset % 8 != 0) {
    return bad("index blob (offset ", h.index_offset, ", ", h.index_bytes,
               " bytes) lies outside the section or is misaligned");
  }
  auto overlaps = [](uint64_t a, uint64_t al, uint64_t c, uint64_t cl) {
    return al != 0 && cl != 0 && a < c + cl && c < a + al;
  };
  if (overlaps(name_offset, name_bytes, h.centroid_offset, centroid_bytes) ||
      overlaps(name_offset, name_bytes, h.index_offset, h.index_bytes) ||
      overlaps(h.centroid_offset, centroid_bytes, h.index_offset, h.index_bytes)) {
    return bad("column name, centroid and index blob overlap");
  }
  if (checksummed) {
    // The body runs from the header to the index blob's offset.
    const uint64_t body_end_off = h.index_offset;
    if (body_end_off < h.centroid_offset + centroid_bytes) {
      return bad("index blob (offset ", h.index_offset, ") starts before the centroid ends");
    }
    if (core::kChecksumsEnforced &&
        core::Checksum64(b.data() + kAilkHeaderBytes, body_end_off - kAilkHeaderBytes) !=
            Get<uint64_t>(b, kOffBodyChecksum)) {
      return bad("body checksum mismatch (column name and centroid, section bytes ",
                 size_t{kAilkHeaderBytes}, "..", body_end_off, "): the file is corrupt");
    }
    h.has_checksums = true;
    h.index_checksum = Get<uint64_t>(b, kOffIndexChecksum);
  }
  h.column.assign(reinterpret_cast<const char*>(b.data() + name_offset), name_bytes);
  // Trailer agrees with the header.
  const auto t = b.subspan(body_end);
  if (std::memcmp(t.data() + 20, kAilkMagic, 4) != 0) return bad("trailer magic is not 'AILK'");
  if (Get<uint64_t>(t, 0) != section_bytes || Get<uint64_t>(t, 8) != h.num_rows ||
      Get<uint32_t>(t, 16) != h.format_version) {
    return bad("trailer (section_bytes ", Get<uint64_t>(t, 0), ", num_rows ", Get<uint64_t>(t, 8),
               ", version ", Get<uint32_t>(t, 16), ") disagrees with the header (", section_bytes,
               ", ", h.num_rows, ", ", h.format_version, ")");
  }
  for (uint32_t i = 0; i <= h.dim; ++i) {
    const float v = Get<float>(b, h.centroid_offset + 4ull * i);
    if (!std::isfinite(v)) return bad(i < h.dim ? "centroid" : "radius", " is not finite");
  }
  return h;
}

arrow::Status CheckIndexChecksum(const AilkSectionInfo& s, std::span<const uint8_t> blob) {
  if (!s.has_checksums) return arrow::Status::OK();
  if (core::kChecksumsEnforced && core::Checksum64(blob) != s.index_checksum) {
    return arrow::Status::Invalid(
        "AILK section of column '", s.column, "': index blob checksum mismatch (", blob.size(),
        " bytes at file offset ", s.index_offset, "): the file is corrupt");
  }
  return arrow::Status::OK();
}

}  // namespace ailake::file_internal
