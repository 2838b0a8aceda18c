// Reading, validating and committing manifests.
//
// A commit is optimistic: an operation computes the next manifest from the
// latest committed one, and the result is written with PutIfAbsent under
// _versions/<latest+1>. If another writer took that version first, the
// operation is re-run on the new latest manifest (a rebase). Operations
// decide compatibility themselves: an append always rebases; an operation
// that finds its rows rewritten returns a Conflict error, which ends the
// commit with that message. A version is either fully visible or absent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "ailake/io/object_store.h"
#include "ailake/table/manifest.pb.h"

namespace ailake::table {

class IcebergSource;

// Reader and writer feature flags this build understands (none defined yet).
inline constexpr uint64_t kKnownReaderFeatures = 0;
inline constexpr uint64_t kKnownWriterFeatures = 0;

// Conflict errors carry this prefix, so callers can tell them from I/O errors.
inline constexpr std::string_view kConflictPrefix = "commit conflict: ";
arrow::Status ConflictError(const std::string& what);
bool IsConflict(const arrow::Status& st);

// Checks a manifest read from untrusted bytes: ids, paths, counts, schema.
arrow::Status ValidateManifest(const Manifest& m);

// The bytes of a manifest file (docs/FORMAT.md 4.2): a 24-byte envelope
// (magic "AIMF", envelope version, XXH3-64 checksum and length of the
// payload) then the serialized Manifest.
std::string EncodeManifestFile(const Manifest& m);
// Parses manifest file bytes: the envelope is checked (magic, version,
// length, checksum) before the payload is parsed. A file written before the
// envelope (a bare Manifest message, which always starts with the tag of
// field 1, byte 0x08) is still read. Does not call ValidateManifest.
// `path` names the object in errors.
arrow::Result<Manifest> DecodeManifestFile(std::span<const uint8_t> bytes, const std::string& path);

struct CommitResult {
  Manifest manifest;  // as committed, version set
  int attempts = 1;   // 1 + rebases
};

class ManifestStore {
 public:
  explicit ManifestStore(std::shared_ptr<io::ObjectStore> store) : store_(std::move(store)) {}

  const std::shared_ptr<io::ObjectStore>& store() const { return store_; }

  // Committed versions, ascending. Empty if there is no table.
  arrow::Result<std::vector<uint64_t>> ListVersions() const;
  // The newest version; an error naming the location if there is no table.
  arrow::Result<uint64_t> LatestVersion() const;
  // `size`: the manifest object's size if known (from a listing), or -1.
  arrow::Result<Manifest> Read(uint64_t version, int64_t size = -1) const;
  arrow::Result<Manifest> ReadLatest() const;

  // `op` receives the latest manifest (nullptr when the table has no version
  // yet) and returns the next one (version, timestamp and writer fields are
  // filled in here). Retried up to `max_attempts` times on lost races.
  using Operation = std::function<arrow::Result<Manifest>(const Manifest* latest)>;
  arrow::Result<CommitResult> Commit(const std::string& operation, const std::string& detail,
                                     const Operation& op, int max_attempts = 1000) const;

  // Called with each manifest this store commits, after the commit (the
  // table's Iceberg view is published from here). Set once, before use.
  void SetAfterCommit(std::function<void(const Manifest&)> fn) { after_commit_ = std::move(fn); }

  // Serves the versions of a plain Iceberg table instead of _versions/
  // (Table::OpenIceberg): reads only, every commit refused. Set once, before use.
  void SetIcebergSource(std::shared_ptr<IcebergSource> source) { source_ = std::move(source); }
  const std::shared_ptr<IcebergSource>& iceberg_source() const { return source_; }
  // An error naming why this table cannot be changed, or OK.
  arrow::Status CheckWritable() const;

 private:
  std::shared_ptr<io::ObjectStore> store_;
  std::function<void(const Manifest&)> after_commit_;
  std::shared_ptr<IcebergSource> source_;
};

}  // namespace ailake::table
