// AILK sections of format_version 1, the layout the reference implementation
// (PyPI `ailake` 0.1.x) writes: a 64-byte header, centroid + radius, the index
// blob, a 24-byte trailer, nothing aligned (docs/FORMAT.md 2.5). ailake reads
// their header, centroid and radius; their index blobs are not loaded (search
// falls back to an exact scan of the Parquet column).
#pragma once

#include <cstdint>
#include <span>

#include <arrow/result.h>

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

}  // namespace ailake::file_internal
