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

#include "ailake/file.h"

namespace ailake::table {

// DataFile.file_major_version / file_minor_version of the files we write:
// 1.0 = AI-Lake Parquet file (docs/FORMAT.md section 2); 2.x = AI-Lake file
// in the Lance container, Lance file version 2.x (sections 5.5, 5.6). 0.0
// is never written.
inline constexpr uint32_t kDataFileMajorVersion = 1;
inline constexpr uint32_t kDataFileMinorVersion = 0;
inline constexpr uint32_t kLanceDataFileMajorVersion = 2;
inline constexpr uint32_t kLanceDataFileMinorVersion = 0;

// Manifest property naming the container of the table's new data files
// ("parquet" when absent, or "lance").
inline constexpr std::string_view kStorageFormatProperty = "storage.format";

inline constexpr std::string_view kVersionsDir = "_versions";
inline constexpr std::string_view kTransactionsDir = "_transactions";
inline constexpr std::string_view kDataDir = "data";
inline constexpr std::string_view kDeletionsDir = "_deletions";
inline constexpr std::string_view kIndexesDir = "_indexes";

std::string VersionPath(uint64_t version);
// The version a manifest path names, or nullopt if `path` is not one.
std::optional<uint64_t> ParseVersionPath(std::string_view path);
std::string TransactionPath(uint64_t version, std::string_view uuid);
// data/<uuid>.parquet, or data/<uuid>.lance.
std::string DataFilePath(std::string_view uuid, FileFormat format = FileFormat::kParquet);

class Manifest;
class DataFile;
// The container of a table's new data files (kStorageFormatProperty).
FileFormat StorageFormatOf(const Manifest& m);
// The container a data file records (file_major_version: 2 = Lance).
FileFormat DataFileFormat(const DataFile& df);
// file_major_version / file_minor_version for a file in `format`.
void SetDataFileVersion(FileFormat format, DataFile* df, uint32_t lance_minor = 0);

// The name, in `file`, of the column that entry k of df.fields is stored
// in: through column_indices, or (Lance 2.1+, where a struct has no column
// of its own and records -1) by position; none when the file lacks it.
arrow::Result<std::optional<std::string>> StoredColumnName(const DataFile& df, int k,
                                                           const AilakeFileReader& file);
std::string DeletionFilePath(uint64_t fragment_id, std::string_view uuid);
std::string CodebookPath(std::string_view column, std::string_view uuid);

// A random 128-bit identifier as 32 lowercase hex digits.
std::string NewUuid();

}  // namespace ailake::table
