// Deletion files: which physical rows of a fragment are deleted.
//
// Layout (little-endian), docs/FORMAT.md section 4.3:
//   0   4  magic "AIDL"
//   4   4  u32 format version (1)
//   8   8  u64 physical rows of the fragment
//   16  8  u64 count of deleted rows
//   24  4·count  u32 row offsets, strictly increasing, each < physical rows
//   ..  8  u64 FNV-1a 64 checksum of all preceding bytes
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>

#include "ailake/vectors.h"  // RowBitmap

namespace ailake::table {

inline constexpr uint32_t kDeletionFileVersion = 1;

// `deleted` must be strictly increasing and < physical_rows.
arrow::Result<std::shared_ptr<arrow::Buffer>> SerializeDeletionFile(
    const std::vector<uint32_t>& deleted, uint64_t physical_rows);

// Parses and validates untrusted bytes; `physical_rows` is what the manifest
// says the fragment holds (the file must agree).
arrow::Result<std::vector<uint32_t>> ParseDeletionFile(const arrow::Buffer& bytes,
                                                       uint64_t physical_rows);

// Sorted union of two sorted offset lists.
std::vector<uint32_t> MergeDeleted(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

// The live rows (row r set = not deleted).
RowBitmap LiveRowBitmap(const std::vector<uint32_t>& deleted, uint32_t physical_rows);

uint64_t Fnv1a64(const uint8_t* data, size_t n);

}  // namespace ailake::table
