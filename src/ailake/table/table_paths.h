// Where each object of a table lives, relative to the table root
// (docs/FORMAT.md section 4):
//   _versions/<version:020>.manifest       one Manifest per committed version
//   _transactions/<version:020>-<uuid>.txn  the Transaction behind a version
//   data/<uuid>.parquet                     AI-Lake data files
//   _deletions/<fragment>-<uuid>.del        deletion files
//   _indexes/<column>-<uuid>.codebook       shared IVF-PQ codebooks
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ailake::table {

// DataFile.file_major_version / file_minor_version of the files we write:
// 1.0 = AI-Lake Parquet file (docs/FORMAT.md section 2).
inline constexpr uint32_t kDataFileMajorVersion = 1;
inline constexpr uint32_t kDataFileMinorVersion = 0;

inline constexpr std::string_view kVersionsDir = "_versions";
inline constexpr std::string_view kTransactionsDir = "_transactions";
inline constexpr std::string_view kDataDir = "data";
inline constexpr std::string_view kDeletionsDir = "_deletions";
inline constexpr std::string_view kIndexesDir = "_indexes";

std::string VersionPath(uint64_t version);
// The version a manifest path names, or nullopt if `path` is not one.
std::optional<uint64_t> ParseVersionPath(std::string_view path);
std::string TransactionPath(uint64_t version, std::string_view uuid);
std::string DataFilePath(std::string_view uuid);
std::string DeletionFilePath(uint64_t fragment_id, std::string_view uuid);
std::string CodebookPath(std::string_view column, std::string_view uuid);

// A random 128-bit identifier as 32 lowercase hex digits.
std::string NewUuid();

}  // namespace ailake::table
