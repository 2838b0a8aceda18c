#include "ailake/table/table_paths.h"

#include "ailake/table/manifest.pb.h"

#include <cstdio>
#include <random>

namespace ailake::table {

std::string VersionPath(uint64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s/%020llu.manifest", kVersionsDir.data(),
                static_cast<unsigned long long>(version));
  return buf;
}

std::optional<uint64_t> ParseVersionPath(std::string_view path) {
  const std::string_view prefix = "_versions/";
  const std::string_view suffix = ".manifest";
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
  std::string_view digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (digits.size() != 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string TransactionPath(uint64_t version, std::string_view uuid) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(version));
  return std::string(kTransactionsDir) + "/" + buf + "-" + std::string(uuid) + ".txn";
}

std::string DataFilePath(std::string_view uuid, FileFormat format) {
  return std::string(kDataDir) + "/" + std::string(uuid) +
         (format == FileFormat::kLance ? ".lance" : ".parquet");
}

FileFormat StorageFormatOf(const Manifest& m) {
  auto it = m.properties().find(std::string(kStorageFormatProperty));
  return it != m.properties().end() && it->second == "lance" ? FileFormat::kLance
                                                             : FileFormat::kParquet;
}

FileFormat DataFileFormat(const DataFile& df) {
  return df.file_major_version() == kLanceDataFileMajorVersion ? FileFormat::kLance
                                                               : FileFormat::kParquet;
}

void SetDataFileVersion(FileFormat format, DataFile* df, uint32_t lance_minor) {
  const bool lance = format == FileFormat::kLance;
  df->set_file_major_version(lance ? kLanceDataFileMajorVersion : kDataFileMajorVersion);
  df->set_file_minor_version(lance ? lance_minor : kDataFileMinorVersion);
}

arrow::Result<std::optional<std::string>> StoredColumnName(const DataFile& df, int k,
                                                           const AilakeFileReader& file) {
  const int32_t col = df.column_indices(k);
  if (col >= 0) {
    ARROW_ASSIGN_OR_RAISE(auto name, file.FieldNameOfColumn(col));
    return std::optional<std::string>(std::move(name));
  }
  // Lance 2.1+: a struct has no column of its own (-1); DescribeColumns
  // lists the file's top-level fields in order.
  if (col == -1 && DataFileFormat(df) == FileFormat::kLance && df.file_minor_version() >= 1 &&
      file.format() == FileFormat::kLance) {
    if (k >= file.schema()->num_fields()) {
      return arrow::Status::Invalid("data file '", df.path(), "' lists field ", k, " of a file of ",
                                    file.schema()->num_fields(), " fields");
    }
    return std::optional<std::string>(file.schema()->field(k)->name());
  }
  return std::optional<std::string>();
}

std::string DeletionFilePath(uint64_t fragment_id, std::string_view uuid) {
  return std::string(kDeletionsDir) + "/" + std::to_string(fragment_id) + "-" + std::string(uuid) +
         ".del";
}

std::string CodebookPath(std::string_view column, std::string_view uuid) {
  std::string safe;
  for (char c : column) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    safe.push_back(ok ? c : '_');
  }
  return std::string(kIndexesDir) + "/" + safe + "-" + std::string(uuid) + ".codebook";
}

std::string NewUuid() {
  // Fresh entropy on every call: a process forked from another must never
  // repeat its parent's identifiers (a seeded generator's state would be copied).
  std::random_device rd;
  const uint64_t hi = (static_cast<uint64_t>(rd()) << 32) | rd();
  const uint64_t lo = (static_cast<uint64_t>(rd()) << 32) | rd();
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

}  // namespace ailake::table
