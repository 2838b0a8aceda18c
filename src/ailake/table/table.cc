#include "ailake/table.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>

#include "ailake/table/deletion_file.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"

namespace ailake {

using table::DataFile;
using table::Fragment;
using table::Manifest;
using table::TableContext;

namespace {

arrow::Status CheckVectorColumns(const arrow::Schema& schema,
                                 const std::vector<VectorStoragePolicy>& policies) {
  for (size_t i = 0; i < policies.size(); ++i) {
    const auto& p = policies[i];
    ARROW_RETURN_NOT_OK(p.Validate());
    for (size_t j = 0; j < i; ++j) {
      if (policies[j].vector_column == p.vector_column) {
        return arrow::Status::Invalid("vector column '", p.vector_column, "' is given twice");
      }
    }
    auto field = schema.GetFieldByName(p.vector_column);
    if (!field) {
      return arrow::Status::Invalid("vector column '", p.vector_column, "' is not in the schema");
    }
    if (!field->type()->Equals(*table::VectorListType(p.dim), /*check_metadata=*/false)) {
      const auto* fsl = dynamic_cast<const arrow::FixedSizeListType*>(field->type().get());
      if (!fsl || fsl->list_size() != static_cast<int32_t>(p.dim) ||
          fsl->value_type()->id() != arrow::Type::FLOAT) {
        return arrow::Status::TypeError("vector column '", p.vector_column, "' has type ",
                                        field->type()->ToString(),
                                        "; expected fixed_size_list<float32>[", p.dim, "]");
      }
    }
  }
  return arrow::Status::OK();
}

// The user-facing schema with vector columns normalised to VectorListType.
std::shared_ptr<arrow::Schema> NormaliseSchema(const arrow::Schema& schema,
                                               const std::vector<VectorStoragePolicy>& policies) {
  arrow::FieldVector fields;
  for (const auto& f : schema.fields()) {
    auto out = f;
    for (const auto& p : policies) {
      if (p.vector_column == f->name()) out = f->WithType(table::VectorListType(p.dim));
    }
    fields.push_back(out);
  }
  return arrow::schema(fields, schema.metadata());
}

IndexState PublicIndexState(table::IndexState s) {
  switch (s) {
    case table::INDEX_STATE_PENDING: return IndexState::kPending;
    case table::INDEX_STATE_INDEXED: return IndexState::kIndexed;
    default: return IndexState::kNone;
  }
}

constexpr std::pair<TableOperation, std::string_view> kOperationNames[] = {
    {TableOperation::kCreate, "create"},
    {TableOperation::kAppend, "append"},
    {TableOperation::kDelete, "delete"},
    {TableOperation::kUpdate, "update"},
    {TableOperation::kMerge, "merge"},
    {TableOperation::kIndex, "index"},
    {TableOperation::kCodebook, "codebook"},
    {TableOperation::kCompact, "compact"},
    {TableOperation::kAddColumns, "add_columns"},
    {TableOperation::kDropColumns, "drop_columns"},
    {TableOperation::kRename, "rename"},
    {TableOperation::kAlterColumns, "alter_columns"},
    {TableOperation::kRestore, "restore"},
    {TableOperation::kSetProperties, "set_properties"},
};

int64_t LiveRowsOf(const Fragment& f) {
  return static_cast<int64_t>(f.physical_rows()) -
         (f.has_deletion_file() ? static_cast<int64_t>(f.deletion_file().num_deleted_rows()) : 0);
}

}  // namespace

std::string_view IndexStateName(IndexState s) {
  switch (s) {
    case IndexState::kPending: return "pending";
    case IndexState::kIndexed: return "indexed";
    case IndexState::kNone: break;
  }
  return "none";
}

std::string_view TableOperationName(TableOperation op) {
  for (const auto& [o, name] : kOperationNames) {
    if (o == op) return name;
  }
  return "other";
}

TableOperation ParseTableOperation(std::string_view name) {
  for (const auto& [o, n] : kOperationNames) {
    if (n == name) return o;
  }
  return TableOperation::kOther;
}

Table::Table(std::shared_ptr<TableContext> ctx, std::unique_ptr<Manifest> manifest)
    : ctx_(std::move(ctx)), manifest_(std::move(manifest)) {}

Table::~Table() = default;

arrow::Result<std::shared_ptr<Table>> Table::Create(const std::string& uri,
                                                    const std::shared_ptr<arrow::Schema>& schema,
                                                    std::vector<VectorStoragePolicy> vector_columns,
                                                    const StorageOptions& storage,
                                                    std::optional<FileFormat> format) {
  FileFormat storage_format = FileFormat::kParquet;
  if (format) {
    storage_format = *format;
  } else if (const char* env = std::getenv("AILAKE_STORAGE_FORMAT"); env && *env) {
    auto parsed = ParseFileFormat(env);
    if (!parsed.ok())
      return parsed.status().WithMessage("AILAKE_STORAGE_FORMAT: ", parsed.status().message());
    storage_format = *parsed;
  }
  if (!schema || schema->num_fields() == 0) {
    return arrow::Status::Invalid("table schema must have at least one field");
  }
  for (const auto& f : schema->fields()) {
    if (f->name().empty() || f->name() == "_rowid" || f->name() == "_distance") {
      return arrow::Status::Invalid("column name '", f->name(), "' is reserved or empty");
    }
    if (schema->GetFieldIndex(f->name()) == -1) {
      return arrow::Status::Invalid("column name '", f->name(), "' appears more than once");
    }
  }
  ARROW_RETURN_NOT_OK(CheckVectorColumns(*schema, vector_columns));
  auto normalised = NormaliseSchema(*schema, vector_columns);
  ARROW_ASSIGN_OR_RAISE(auto store, io::OpenObjectStore(uri, storage));
  auto ctx = std::make_shared<TableContext>(uri, store);
  auto committed = ctx->manifests.Commit(
      "create", "schema " + normalised->ToString(),
      [&](const Manifest* latest) -> arrow::Result<Manifest> {
        if (latest) return arrow::Status::AlreadyExists("table '", uri, "' already exists");
        Manifest m;
        table::AssignFieldIds(*normalised, &m);
        ARROW_ASSIGN_OR_RAISE(*m.mutable_arrow_schema(), table::SerializeSchema(*normalised));
        for (const auto& p : vector_columns) {
          *m.add_vector_columns() =
              table::PolicyToProto(p, table::TopLevelFieldId(m, p.vector_column));
        }
        if (storage_format == FileFormat::kLance) {
          // Iceberg names Parquet data files only: no view to publish.
          (*m.mutable_properties())[std::string(table::kStorageFormatProperty)] = "lance";
          (*m.mutable_properties())[std::string(table::kIcebergViewProperty)] = "off";
        }
        return m;
      });
  ARROW_RETURN_NOT_OK(committed.status());
  auto t = std::shared_ptr<Table>(
      new Table(ctx, std::make_unique<Manifest>(std::move(committed->manifest))));
  ARROW_ASSIGN_OR_RAISE(t->schema_, table::ManifestSchema(*t->manifest_));
  t->policies_ = vector_columns;
  return t;
}

arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& uri,
                                                  std::optional<uint64_t> version,
                                                  const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto store, io::OpenObjectStore(uri, storage));
  return OpenIn(std::make_shared<TableContext>(uri, store), version);
}

arrow::Result<std::shared_ptr<Table>> Table::OpenIn(const std::shared_ptr<TableContext>& ctx,
                                                    std::optional<uint64_t> version) {
  ARROW_ASSIGN_OR_RAISE(Manifest m,
                        version ? ctx->manifests.Read(*version) : ctx->manifests.ReadLatest());
  return FromManifest(ctx, std::move(m));
}

arrow::Result<std::shared_ptr<Table>> Table::FromManifest(const std::shared_ptr<TableContext>& ctx,
                                                          Manifest manifest) {
  auto t = std::shared_ptr<Table>(new Table(ctx, std::make_unique<Manifest>(std::move(manifest))));
  ARROW_ASSIGN_OR_RAISE(t->schema_, table::ManifestSchema(*t->manifest_));
  for (const auto& vc : t->manifest_->vector_columns()) {
    std::string name;
    for (const auto& f : t->manifest_->fields()) {
      if (f.id() == vc.field_id()) name = f.name();
    }
    ARROW_ASSIGN_OR_RAISE(auto p, table::PolicyFromProto(vc, name));
    t->policies_.push_back(std::move(p));
  }
  return t;
}

const std::string& Table::uri() const { return ctx_->uri; }
uint64_t Table::version() const { return manifest_->version(); }
IoStats Table::io_stats() const { return ctx_->store->stats(); }
std::shared_ptr<arrow::Schema> Table::schema() const { return schema_; }
const std::vector<VectorStoragePolicy>& Table::vector_columns() const { return policies_; }

arrow::Result<VectorStoragePolicy> Table::vector_column(std::string_view name) const {
  if (policies_.empty()) {
    return arrow::Status::Invalid("table '", ctx_->uri, "' has no vector column");
  }
  if (name.empty()) return policies_.front();
  for (const auto& p : policies_) {
    if (p.vector_column == name) return p;
  }
  return arrow::Status::Invalid("table '", ctx_->uri, "' has no vector column '", name, "'");
}

int64_t Table::num_rows() const {
  int64_t n = 0;
  for (const auto& f : manifest_->fragments()) n += LiveRowsOf(f);
  return n;
}

FileFormat Table::storage_format() const { return table::StorageFormatOf(*manifest_); }

arrow::Result<std::shared_ptr<Table>> Table::SetStorageFormat(FileFormat format) const {
  ARROW_RETURN_NOT_OK(ctx_->manifests.CheckWritable());
  ARROW_ASSIGN_OR_RAISE(auto latest, ctx_->manifests.ReadLatest());
  if (table::StorageFormatOf(latest) == format) return FromManifest(ctx_, std::move(latest));
  ARROW_ASSIGN_OR_RAISE(
      auto r,
      ctx_->manifests.Commit("set_properties",
                             std::string("storage.format = ") + std::string(FileFormatName(format)),
                             [&](const table::Manifest* m) -> arrow::Result<table::Manifest> {
                               table::Manifest next = *m;
                               next.clear_tag();
                               auto* props = next.mutable_properties();
                               if (format == FileFormat::kParquet) {
                                 props->erase(std::string(table::kStorageFormatProperty));
                               } else {
                                 (*props)[std::string(table::kStorageFormatProperty)] =
                                     std::string(FileFormatName(format));
                               }
                               return next;
                             }));
  return FromManifest(ctx_, std::move(r.manifest));
}

std::vector<FragmentInfo> Table::fragments() const {
  std::vector<FragmentInfo> out;
  for (const auto& f : manifest_->fragments()) {
    FragmentInfo fi;
    fi.id = f.id();
    fi.physical_rows = static_cast<int64_t>(f.physical_rows());
    fi.deleted_rows = fi.physical_rows - LiveRowsOf(f);
    for (const auto& df : f.files()) {
      DataFileInfo d;
      d.path = df.path();
      d.size_bytes = df.file_size_bytes();
      d.index_state = PublicIndexState(df.index_state());
      d.format = table::DataFileFormat(df);
      for (int32_t id : df.fields()) {
        for (const auto& field : manifest_->fields()) {
          if (field.id() == id && field.parent_id() == -1) d.columns.push_back(field.name());
        }
      }
      fi.files.push_back(std::move(d));
    }
    out.push_back(std::move(fi));
  }
  return out;
}

arrow::Result<std::vector<TableVersion>> Table::Versions() const {
  ARROW_ASSIGN_OR_RAISE(auto versions, ctx_->manifests.ListVersions());
  std::vector<TableVersion> out;
  for (uint64_t v : versions) {
    ARROW_ASSIGN_OR_RAISE(Manifest m, ctx_->manifests.Read(v));
    TableVersion tv;
    tv.version = v;
    tv.timestamp_micros = m.timestamp_micros();
    tv.operation_name = m.tag();
    for (const auto& f : m.fragments()) tv.num_rows += LiveRowsOf(f);
    tv.num_fragments = m.fragments_size();
    if (!m.transaction_file().empty()) {
      auto bytes = ctx_->store->Read(m.transaction_file());
      table::Transaction txn;
      if (bytes.ok() && txn.ParseFromArray((*bytes)->data(), static_cast<int>((*bytes)->size()))) {
        tv.operation_name = txn.operation();
        tv.detail = txn.detail();
      }
    }
    tv.operation = ParseTableOperation(tv.operation_name);
    out.push_back(std::move(tv));
  }
  return out;
}

arrow::Result<std::shared_ptr<Table>> Table::Checkout(uint64_t version) const {
  return OpenIn(ctx_, version);  // shares the store and the caches
}

arrow::Result<std::shared_ptr<Table>> Table::Latest() const {
  ARROW_ASSIGN_OR_RAISE(uint64_t v, ctx_->manifests.LatestVersion());
  return Checkout(v);
}

arrow::Result<std::shared_ptr<Table>> Table::Restore(uint64_t version) const {
  ARROW_ASSIGN_OR_RAISE(Manifest old, ctx_->manifests.Read(version));
  ARROW_ASSIGN_OR_RAISE(
      auto r,
      ctx_->manifests.Commit(
          "restore", "content of version " + std::to_string(version),
          [&](const Manifest* latest) -> arrow::Result<Manifest> {
            Manifest m = old;
            // Ids handed out since must never be reused.
            m.set_next_fragment_id(std::max(m.next_fragment_id(), latest->next_fragment_id()));
            m.set_max_field_id(std::max(m.max_field_id(), latest->max_field_id()));
            m.clear_tag();
            *m.mutable_properties() = latest->properties();  // settings are not restored
            return m;
          }));
  return FromManifest(ctx_, std::move(r.manifest));
}

arrow::Result<CleanupResult> Table::Cleanup(const CleanupOptions& options) const {
  if (options.grace_seconds < 0) {
    return arrow::Status::Invalid("Cleanup: grace_seconds must be >= 0, got ",
                                  options.grace_seconds);
  }
  if (options.older_than_seconds < -1) {
    return arrow::Status::Invalid("Cleanup: older_than_seconds must be >= 0 (or -1: unset), got ",
                                  options.older_than_seconds);
  }
  ARROW_RETURN_NOT_OK(ctx_->manifests.CheckWritable());
  const auto& store = ctx_->store;
  ARROW_ASSIGN_OR_RAISE(std::vector<uint64_t> versions, ctx_->manifests.ListVersions());
  if (versions.empty()) {
    return arrow::Status::Invalid("Cleanup: table '", ctx_->uri, "' has no committed version");
  }
  std::sort(versions.begin(), versions.end());
  size_t keep = std::min<size_t>(versions.size(), std::max<uint32_t>(1, options.retain_versions));
  if (options.older_than_seconds >= 0) {
    // Versions are committed in time order: walk back from the newest while
    // they are younger than the cutoff.
    const int64_t now_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    const int64_t cutoff_micros = now_micros - options.older_than_seconds * 1'000'000;
    size_t young = 0;
    for (auto it = versions.rbegin(); it != versions.rend(); ++it, ++young) {
      ARROW_ASSIGN_OR_RAISE(Manifest m, ctx_->manifests.Read(*it));
      if (static_cast<int64_t>(m.timestamp_micros()) < cutoff_micros) break;
    }
    keep = std::max(keep, young);
  }
  std::vector<uint64_t> kept(versions.end() - static_cast<std::ptrdiff_t>(keep), versions.end());
  // The version the Iceberg view shows (older than the kept ones when the
  // view lags) stays, with its files, while the view shows it.
  ARROW_ASSIGN_OR_RAISE(auto latest, ctx_->manifests.Read(versions.back()));
  ARROW_ASSIGN_OR_RAISE(auto view, table::IcebergViewStatusOf(*ctx_, latest));
  if (view.current_snapshot_id > 0 &&
      static_cast<uint64_t>(view.current_snapshot_id) < kept.front() &&
      std::binary_search(versions.begin(), versions.end(),
                         static_cast<uint64_t>(view.current_snapshot_id))) {
    kept.insert(kept.begin(), static_cast<uint64_t>(view.current_snapshot_id));
  }
  // Tagged versions stay, with their files.
  ARROW_ASSIGN_OR_RAISE(auto tags, Tags());
  for (const auto& t : tags) {
    if (std::binary_search(versions.begin(), versions.end(), t.version) &&
        std::find(kept.begin(), kept.end(), t.version) == kept.end()) {
      kept.push_back(t.version);
    }
  }
  std::sort(kept.begin(), kept.end());
  const uint64_t oldest_kept = versions[versions.size() - keep];
  // Everything a kept version names.
  std::set<std::string> referenced;
  for (uint64_t v : kept) {
    ARROW_ASSIGN_OR_RAISE(Manifest m, ctx_->manifests.Read(v));
    if (!m.transaction_file().empty()) referenced.insert(m.transaction_file());
    for (const auto& f : m.fragments()) {
      for (const auto& df : f.files()) referenced.insert(df.path());
      if (f.has_deletion_file() && !f.deletion_file().path().empty()) {
        referenced.insert(f.deletion_file().path());
      }
    }
    for (const auto& vc : m.vector_columns()) {
      if (!vc.ivf_codebook_path().empty()) referenced.insert(vc.ivf_codebook_path());
    }
  }
  CleanupResult out;
  // Old manifests first, oldest first: no remaining version can then name a
  // file deleted below, whatever point this stops at.
  for (uint64_t v : versions) {
    if (v >= oldest_kept) break;
    if (std::binary_search(kept.begin(), kept.end(), v)) continue;  // the view's, or tagged
    ARROW_RETURN_NOT_OK(store->Delete(table::VersionPath(v)));
    ++out.versions_removed;
  }
  const int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - options.grace_seconds;
  for (std::string_view dir :
       {table::kDataDir, table::kDeletionsDir, table::kIndexesDir, table::kTransactionsDir}) {
    ARROW_ASSIGN_OR_RAISE(auto objects, store->List(dir));
    for (const auto& o : objects) {
      if (referenced.count(o.path) != 0 || o.modified_unix_s > cutoff) continue;
      ARROW_RETURN_NOT_OK(store->Delete(o.path));
      ++out.files_removed;
      out.bytes_removed += o.size;
    }
  }
  // Temporaries of writers killed mid-write (up to a whole data file), once
  // older than the grace period (a younger one may be a write in progress).
  for (std::string_view dir : {table::kDataDir, table::kDeletionsDir, table::kIndexesDir,
                               table::kTransactionsDir, table::kVersionsDir}) {
    ARROW_ASSIGN_OR_RAISE(auto temps, store->ListTemporaries(dir));
    for (const auto& o : temps) {
      if (o.modified_unix_s > cutoff) continue;
      ARROW_RETURN_NOT_OK(store->Delete(o.path));
      ++out.files_removed;
      out.bytes_removed += o.size;
    }
  }
  // The Iceberg view's snapshots of removed versions, and its files no
  // remaining snapshot names (all of them when the view is off).
  ARROW_RETURN_NOT_OK(table::ExpireIcebergView(*ctx_, oldest_kept, cutoff, &out));
  return out;
}

arrow::Result<std::shared_ptr<AilakeFileReader>> Table::OpenDataFile(const std::string& path,
                                                                     int64_t size) const {
  // The codebooks this version names become findable by the file's sections.
  ctx_->codebooks->Register(*manifest_);
  return ctx_->OpenDataFile(path, size);
}

}  // namespace ailake
