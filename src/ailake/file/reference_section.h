// AILK sections of format_version 1, the layout the reference implementation
// (PyPI `ailake` 0.1.x) writes: a 64-byte header, centroid + radius, the index
// blob, a 24-byte trailer, nothing aligned (docs/FORMAT.md 2.5). ailake reads
// their header, centroid and radius, and searches their HNSW and IVF-PQ blobs
// in place (index/reference_index.h parses the blobs; this file only frames
// them, as ailk_section.cc does for ours).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include <arrow/buffer.h>
#include <arrow/result.h>

#include "ailake/file.h"
#include "ailake/file/ailk_section.h"

namespace ailake::file_internal {

inline constexpr uint16_t kReferenceFormatVersion = 1;
inline constexpr uint32_t kReferenceHeaderBytes = 64;
inline constexpr uint32_t kReferenceTrailerBytes = 24;

// The u16 format_version of the section whose first bytes are `head` (at
// least 6 bytes, magic checked).
arrow::Result<uint16_t> PeekAilkVersion(std::span<const uint8_t> head, uint64_t where);

// Length of a version-1 section from its 64-byte header.
arrow::Result<uint64_t> PeekReferenceSectionBytes(std::span<const uint8_t> header, uint64_t where);

// Decodes and validates a whole version-1 section at file offset `where`.
// The column name is not in the section; the caller supplies it.
arrow::Result<AilkSectionHeader> DecodeReferenceSection(std::span<const uint8_t> bytes,
                                                        uint64_t where);

// The searcher of a version-1 section's index blob. `section` holds the whole
// section described by `info` (decoded and validated by DecodeReferenceSection);
// `exact` is the column's decodable vectors (IVF-PQ re-ranks with them) or
// null. Errors name the column and the blob's file offset.
arrow::Result<std::unique_ptr<VectorIndex>> LoadReferenceIndex(
    const std::shared_ptr<arrow::Buffer>& section, const AilkSectionInfo& info,
    const VectorView* exact);

}  // namespace ailake::file_internal
