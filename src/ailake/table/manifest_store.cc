#include "ailake/table/manifest_store.h"

#include "ailake/table/iceberg_source.h"

#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "ailake/core/checksum.h"
#include "ailake/table.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"
#include "ailake/version.h"

namespace ailake::table {
namespace {

arrow::Status CheckRelativePath(const std::string& what, const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
    return arrow::Status::Invalid("manifest: ", what, " path '", path, "' is not a table path");
  }
  return arrow::Status::OK();
}

uint64_t NowMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

constexpr char kManifestMagic[4] = {'A', 'I', 'M', 'F'};
constexpr uint32_t kManifestEnvelopeVersion = 1;
constexpr size_t kManifestEnvelopeBytes = 24;
// A bare Manifest (no envelope) starts with field 1 (version, varint): tag 0x08.
// It differs from 'A' (0x41) in three bits, so no single flipped bit in the
// magic turns an enveloped manifest into a bare one.
constexpr uint8_t kBareManifestFirstByte = 0x08;

}  // namespace

std::string EncodeManifestFile(const Manifest& m) {
  const std::string payload = m.SerializeAsString();
  std::string out(kManifestEnvelopeBytes, '\0');
  const uint32_t version = kManifestEnvelopeVersion;
  const uint64_t sum = core::Checksum64(payload.data(), payload.size());
  const uint64_t len = payload.size();
  std::memcpy(out.data(), kManifestMagic, 4);
  std::memcpy(out.data() + 4, &version, 4);  // little-endian hosts only
  std::memcpy(out.data() + 8, &sum, 8);
  std::memcpy(out.data() + 16, &len, 8);
  out += payload;
  return out;
}

arrow::Result<Manifest> DecodeManifestFile(std::span<const uint8_t> bytes,
                                           const std::string& path) {
  std::span<const uint8_t> payload = bytes;
  if (bytes.empty()) return arrow::Status::Invalid("manifest ", path, ": empty file");
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), kManifestMagic, 4) == 0) {
    if (bytes.size() < kManifestEnvelopeBytes) {
      return arrow::Status::Invalid("manifest ", path, ": ", bytes.size(),
                                    " bytes is shorter than its envelope");
    }
    uint32_t version = 0;
    uint64_t sum = 0, len = 0;
    std::memcpy(&version, bytes.data() + 4, 4);
    std::memcpy(&sum, bytes.data() + 8, 8);
    std::memcpy(&len, bytes.data() + 16, 8);
    if (version != kManifestEnvelopeVersion) {
      return arrow::Status::NotImplemented("manifest ", path, ": envelope version ", version,
                                           " is not supported (this build reads ",
                                           kManifestEnvelopeVersion, ")");
    }
    if (len != bytes.size() - kManifestEnvelopeBytes) {
      return arrow::Status::Invalid(
          "manifest ", path, ": envelope says ", len, " payload bytes, the file holds ",
          bytes.size() - kManifestEnvelopeBytes, " (truncated or corrupt)");
    }
    payload = bytes.subspan(kManifestEnvelopeBytes);
    if (core::kChecksumsEnforced && core::Checksum64(payload) != sum) {
      return arrow::Status::Invalid("manifest ", path, ": checksum mismatch (payload bytes ",
                                    kManifestEnvelopeBytes, "..", bytes.size(),
                                    "): the file is corrupt");
    }
  } else if (bytes[0] != kBareManifestFirstByte) {
    return arrow::Status::Invalid("manifest ", path,
                                  ": neither an enveloped manifest (magic 'AIMF') nor a bare "
                                  "Manifest message (first byte 0x",
                                  std::hex, int{bytes[0]}, "): the file is corrupt");
  }
  if (payload.size() > static_cast<size_t>(INT32_MAX)) {
    return arrow::Status::Invalid("manifest ", path, ": ", payload.size(), " bytes is too large");
  }
  Manifest m;
  if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return arrow::Status::Invalid("manifest ", path, ": not a valid Manifest message");
  }
  return m;
}

arrow::Status ConflictError(const std::string& what) {
  return arrow::Status::Invalid(std::string(kConflictPrefix), what);
}

bool IsConflict(const arrow::Status& st) {
  return st.IsInvalid() && st.message().starts_with(kConflictPrefix);
}

arrow::Status ValidateManifest(const Manifest& m) {
  if ((m.reader_feature_flags() & ~kKnownReaderFeatures) != 0) {
    return arrow::Status::NotImplemented("manifest v", m.version(), ": needs reader features 0x",
                                         std::hex, m.reader_feature_flags(),
                                         " this build does not know");
  }
  std::set<int32_t> ids;
  for (const auto& f : m.fields()) {
    if (f.id() < 0 || f.id() > m.max_field_id() || !ids.insert(f.id()).second) {
      return arrow::Status::Invalid("manifest v", m.version(), ": bad or duplicate field id ",
                                    f.id());
    }
  }
  for (const auto& f : m.fields()) {
    if (f.parent_id() != -1 && !ids.count(f.parent_id())) {
      return arrow::Status::Invalid("manifest v", m.version(), ": field ", f.id(),
                                    " has unknown parent ", f.parent_id());
    }
  }
  ARROW_RETURN_NOT_OK(ManifestSchema(m).status());
  std::set<uint64_t> frag_ids;
  for (const auto& frag : m.fragments()) {
    // Row ids are (fragment id << 32 | row): a larger id would alias fragment 0's rows.
    if (frag.id() > UINT32_MAX) {
      return arrow::Status::Invalid("manifest v", m.version(), ": fragment id ", frag.id(),
                                    " is outside the row-id space (max 2^32-1)");
    }
    if (frag.id() >= m.next_fragment_id() || !frag_ids.insert(frag.id()).second) {
      return arrow::Status::Invalid("manifest v", m.version(), ": bad or duplicate fragment id ",
                                    frag.id());
    }
    if (frag.physical_rows() > UINT32_MAX) {
      return arrow::Status::Invalid("manifest v", m.version(), ": fragment ", frag.id(), " has ",
                                    frag.physical_rows(), " rows (max 2^32-1)");
    }
    if (frag.files_size() == 0) {
      return arrow::Status::Invalid("manifest v", m.version(), ": fragment ", frag.id(),
                                    " has no data file");
    }
    for (const auto& df : frag.files()) {
      ARROW_RETURN_NOT_OK(CheckRelativePath("data file", df.path()));
      if (df.fields_size() != df.column_indices_size()) {
        return arrow::Status::Invalid("manifest v", m.version(), ": data file ", df.path(), " has ",
                                      df.fields_size(), " fields but ", df.column_indices_size(),
                                      " column indices");
      }
      if (df.pending_index_type() > 4) {  // IndexType codes: none .. auto
        return arrow::Status::Invalid("manifest v", m.version(), ": data file ", df.path(),
                                      " owes unknown index type ", df.pending_index_type());
      }
      std::set<int32_t> cols;
      for (int i = 0; i < df.fields_size(); ++i) {
        const int32_t fid = df.fields(i);
        if (fid == -1) {
          return arrow::Status::Invalid("manifest v", m.version(), ": data file ", df.path(),
                                        " has an unassigned field id (-1)");
        }
        if (fid != -2 && !ids.count(fid)) {
          return arrow::Status::Invalid("manifest v", m.version(), ": data file ", df.path(),
                                        " names unknown field ", fid);
        }
        const int32_t col = df.column_indices(i);
        if (col < -1 || (col >= 0 && !cols.insert(col).second)) {
          return arrow::Status::Invalid("manifest v", m.version(), ": data file ", df.path(),
                                        " has bad or duplicate column index ", col);
        }
      }
    }
    if (frag.has_deletion_file()) {
      ARROW_RETURN_NOT_OK(CheckRelativePath("deletion file", frag.deletion_file().path()));
      if (frag.deletion_file().num_deleted_rows() > frag.physical_rows()) {
        return arrow::Status::Invalid("manifest v", m.version(), ": fragment ", frag.id(),
                                      " deletes more rows than it has");
      }
    }
  }
  for (const auto& vc : m.vector_columns()) {
    if (!ids.count(vc.field_id())) {
      return arrow::Status::Invalid("manifest v", m.version(),
                                    ": vector column names unknown field ", vc.field_id());
    }
    if (!vc.ivf_codebook_path().empty()) {
      ARROW_RETURN_NOT_OK(CheckRelativePath("codebook", vc.ivf_codebook_path()));
    }
  }
  return arrow::Status::OK();
}

arrow::Status ManifestStore::CheckWritable() const {
  if (source_) {
    return arrow::Status::Invalid("table '", store_->root(),
                                  "' is a plain Iceberg table, open read-only; `ailake import` "
                                  "makes an ailake table of it");
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<uint64_t>> ManifestStore::ListVersions() const {
  if (source_) return source_->Versions();
  ARROW_ASSIGN_OR_RAISE(auto objects, store_->List(kVersionsDir));
  std::vector<uint64_t> versions;
  for (const auto& o : objects) {
    if (auto v = ParseVersionPath(o.path)) versions.push_back(*v);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

arrow::Result<uint64_t> ManifestStore::LatestVersion() const {
  if (source_) return source_->LatestVersion();
  ARROW_ASSIGN_OR_RAISE(auto versions, ListVersions());
  if (versions.empty()) {
    return arrow::Status::IOError("no ailake table at '", store_->root(),
                                  "' (no committed version)");
  }
  return versions.back();
}

arrow::Result<Manifest> ManifestStore::Read(uint64_t version, int64_t size) const {
  if (source_) return source_->Read(version);
  const std::string path = VersionPath(version);
  auto bytes = store_->Read(path, size);
  if (!bytes.ok()) {
    return arrow::Status::IOError("table '", store_->root(), "' has no version ", version, " (",
                                  bytes.status().message(), ")");
  }
  ARROW_ASSIGN_OR_RAISE(
      Manifest m,
      DecodeManifestFile({(*bytes)->data(), static_cast<size_t>((*bytes)->size())}, path));
  if (m.version() != version) {
    return arrow::Status::Invalid("manifest ", path, ": records version ", m.version());
  }
  ARROW_RETURN_NOT_OK(ValidateManifest(m));
  return m;
}

arrow::Result<Manifest> ManifestStore::ReadLatest() const {
  if (source_) return source_->Read(source_->LatestVersion());
  // The listing gives the newest manifest's size: one request fewer remotely.
  ARROW_ASSIGN_OR_RAISE(auto objects, store_->List(kVersionsDir));
  std::optional<uint64_t> latest;
  int64_t size = -1;
  for (const auto& o : objects) {
    auto v = ParseVersionPath(o.path);
    if (v && (!latest || *v > *latest)) {
      latest = v;
      size = o.size;
    }
  }
  if (!latest) {
    return arrow::Status::IOError("no ailake table at '", store_->root(),
                                  "' (no committed version)");
  }
  return Read(*latest, size);
}

arrow::Result<CommitResult> ManifestStore::Commit(const std::string& operation,
                                                  const std::string& detail, const Operation& op,
                                                  int max_attempts) const {
  ARROW_RETURN_NOT_OK(CheckWritable());
  std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto versions, ListVersions());
    std::optional<Manifest> latest;
    uint64_t latest_version = 0;
    if (!versions.empty()) {
      latest_version = versions.back();
      ARROW_ASSIGN_OR_RAISE(latest, Read(latest_version));
      if ((latest->writer_feature_flags() & ~kKnownWriterFeatures) != 0) {
        return arrow::Status::NotImplemented("table '", store_->root(),
                                             "' needs writer features this build does not know");
      }
    }
    ARROW_ASSIGN_OR_RAISE(Manifest next, op(latest ? &*latest : nullptr));
    next.set_version(latest_version + 1);
    next.set_timestamp_micros(NowMicros());
    next.set_writer_version(std::string(Version()));
    ARROW_RETURN_NOT_OK(ValidateManifest(next));

    Transaction txn;
    txn.set_read_version(latest_version);
    txn.set_uuid(NewUuid());
    txn.set_operation(operation);
    txn.set_detail(detail);
    const std::string txn_path = TransactionPath(next.version(), txn.uuid());
    next.set_transaction_file(txn_path);
    if (next.tag().empty()) next.set_tag(operation);
    ARROW_RETURN_NOT_OK(
        store_->PutIfAbsent(txn_path, *arrow::Buffer::FromString(txn.SerializeAsString())));

    const std::string bytes = EncodeManifestFile(next);
    arrow::Status st =
        store_->PutIfAbsent(VersionPath(next.version()), *arrow::Buffer::FromString(bytes));
    if (st.ok()) {
      if (after_commit_) after_commit_(next);
      return CommitResult{std::move(next), attempt};
    }
    (void)store_->Delete(txn_path);
    if (!st.IsAlreadyExists()) return st;
    // Lost the race for this version: back off briefly, then rebase.
    std::uniform_int_distribution<int> jitter(0, std::min(attempt, 20) * 200);
    std::this_thread::sleep_for(std::chrono::microseconds(jitter(rng)));
  }
  return arrow::Status::IOError("commit of '", operation, "' to '", store_->root(), "' lost ",
                                max_attempts, " races in a row");
}

}  // namespace ailake::table

namespace ailake {
bool IsCommitConflict(const arrow::Status& st) { return table::IsConflict(st); }
}  // namespace ailake
