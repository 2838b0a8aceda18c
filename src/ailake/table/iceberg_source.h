// A plain Apache Iceberg table (format v1 or v2, Parquet data files) read as
// a read-only ailake table (Table::OpenIceberg): each Iceberg snapshot
// becomes a version (1, 2, ... in sequence order), each data file a fragment,
// position deletes its deleted rows; vector columns are searched by exact
// scan. The manifests are synthesized from the Iceberg metadata, manifest
// lists and manifests (Avro, read by Avro C) and never written.
// Thread-safe: immutable after Open but for its caches, which lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "ailake/index.h"
#include "ailake/io/object_store.h"
#include "ailake/table/manifest.pb.h"

namespace ailake::table {

// Deletion-file paths of synthesized fragments start with this (they name
// position deletes held in memory, not objects).
inline constexpr std::string_view kIcebergDeletesPrefix = "iceberg-deletes/";

class IcebergSource {
 public:
  // `store` is rooted at the table's directory; `metadata_rel` names its
  // metadata file (relative), or is empty for the newest one (the version
  // hint, else the highest-numbered metadata/*.metadata.json). `vectors`
  // declares vector columns (fixed[4·dim] columns read as f32 vectors);
  // columns whose doc is an ailake view's ("ailake vector: dim D, metric M")
  // are found without.
  static arrow::Result<std::shared_ptr<IcebergSource>> Open(
      std::shared_ptr<io::ObjectStore> store, std::string metadata_rel,
      std::vector<VectorStoragePolicy> vectors);

  const std::string& metadata_path() const { return metadata_rel_; }
  // Versions 1..N (N >= 1: a table without snapshots has one empty version).
  std::vector<uint64_t> Versions() const;
  // The version of the current snapshot.
  uint64_t LatestVersion() const { return latest_; }
  arrow::Result<Manifest> Read(uint64_t version);
  // The positions a synthesized deletion file names.
  arrow::Result<std::shared_ptr<const std::vector<uint32_t>>> Deletions(const std::string& path);
  // The vector columns of the current schema (declared or found).
  const std::vector<VectorStoragePolicy>& vectors() const { return vectors_; }

 private:
  struct Snapshot {
    int64_t id = 0;
    int64_t sequence = 0;
    int64_t timestamp_ms = 0;
    int32_t schema_id = -1;
    std::string manifest_list;           // v2 (and most v1)
    std::vector<std::string> manifests;  // v1 without a list
    std::string operation;
  };
  IcebergSource() = default;
  arrow::Result<Manifest> Synthesize(const Snapshot& s);
  // A table path (absolute, as the metadata names it) relative to the store.
  arrow::Result<std::string> Relative(const std::string& path) const;

  std::shared_ptr<io::ObjectStore> store_;
  std::string metadata_rel_;
  std::string location_;  // normalized (no file: scheme)
  int format_version_ = 2;
  std::vector<Snapshot> snapshots_;  // in sequence order
  uint64_t latest_ = 1;
  std::map<int32_t, std::string> schemas_;  // schema id -> its JSON
  int32_t current_schema_id_ = 0;
  std::string name_mapping_;  // schema.name-mapping.default, or empty
  std::vector<VectorStoragePolicy> declared_;
  std::vector<VectorStoragePolicy> vectors_;

  std::mutex mu_;
  std::map<uint64_t, Manifest> manifests_;
  std::map<std::string, std::shared_ptr<const std::vector<uint32_t>>> deletions_;
};

}  // namespace ailake::table
