// The AILK section: one per indexed vector column, between the Parquet data
// (row groups and page index) and the Parquet footer. Byte layout in
// docs/FORMAT.md section 2.2. Encoding is pure; decoding validates every field
// and every offset against the section's own length.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>

#include "ailake/file.h"
#include "ailake/policy.h"

namespace ailake::file_internal {

inline constexpr char kAilkMagic[4] = {'A', 'I', 'L', 'K'};
// format_version of the sections this library writes. Version 1 is the
// reference implementation's layout (a different header), not this one.
inline constexpr uint16_t kAilkFormatVersion = 2;
inline constexpr uint32_t kAilkHeaderBytes = 128;
inline constexpr uint32_t kAilkTrailerBytes = 24;
// Sections start at file offsets that are multiples of this, and the index
// blob inside a section starts at a multiple of it too (mapped in place).
inline constexpr uint64_t kAilkAlignment = 64;

struct AilkSectionHeader {
  uint16_t format_version = kAilkFormatVersion;
  uint64_t section_bytes = 0;  // header through trailer
  uint64_t num_rows = 0;
  uint32_t dim = 0;
  DistanceMetric metric = DistanceMetric::kCosine;
  Precision precision = Precision::kF32;
  IndexType index_type = IndexType::kFlat;
  bool pre_normalize = false;
  Int8Params int8;
  std::string column;
  // Offsets are relative to the first byte of the section.
  uint64_t centroid_offset = 0;  // dim f32 centroid, then f32 radius
  uint64_t index_offset = 0;
  uint64_t index_bytes = 0;
  // Checksum kind 1 (XXH3-64): the header and body checksums were checked by
  // DecodeAilkHeader; the index blob's is checked when it is loaded.
  bool has_checksums = false;
  uint64_t index_checksum = 0;
};

// Checks the index blob against the section's checksum (no-op without one).
arrow::Status CheckIndexChecksum(const AilkSectionInfo& section, std::span<const uint8_t> blob);

// The section bytes, `pad_before` zero bytes first so that the section itself
// starts at an aligned file offset (pass (64 - pos % 64) % 64).
arrow::Result<std::string> EncodeAilkSection(const VectorStoragePolicy& policy,
                                             IndexType resolved_index_type, uint64_t num_rows,
                                             std::span<const float> centroid, float radius,
                                             std::span<const uint8_t> index_blob);

// Decodes and validates the section occupying exactly `bytes` (its length is
// taken from the header and must fit). `where` names the file position for
// error messages.
arrow::Result<AilkSectionHeader> DecodeAilkHeader(std::span<const uint8_t> bytes, uint64_t where);

// Reads only the fixed header fields needed to learn the section length and
// version (first kAilkHeaderBytes bytes).
arrow::Result<uint64_t> PeekAilkSectionBytes(std::span<const uint8_t> header, uint64_t where);

}  // namespace ailake::file_internal
