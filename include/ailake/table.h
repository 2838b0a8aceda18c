// Tables (layer table/): versioned manifests of fragments, each fragment one
// or more AI-Lake data files (one per group of columns), with atomic commits.
//
//   <uri>/_versions/<version>.manifest    one protobuf Manifest per version
//   <uri>/_transactions/...               what each version did
//   <uri>/data/<uuid>.parquet             AI-Lake files (plain Parquet + AILK)
//   <uri>/_deletions/...                  deleted rows of a fragment
//   <uri>/_indexes/...                    shared IVF-PQ codebooks
//
// Every change — append, delete, index swap, compaction, schema change,
// restore — commits a new version with put-if-absent; concurrent writers
// rebase (appends on appends, deletes on deletes of other rows) or fail with
// a "commit conflict:" error. Older versions stay readable (time travel).
//
// Row ids: MakeRowId(fragment id, physical row in the fragment), see row_id.h.
// User-facing schema: vector columns are FixedSizeList<float32, dim>; in the
// files they are FIXED_LEN_BYTE_ARRAY in the column's precision.
//
// Thread safety: a Table is one immutable version and is safe to share
// between threads for every call, reads (search, scan, take, ReadFragment)
// and operations that commit alike (each commits a new version and leaves
// this object as it was; concurrent commits rebase or fail with a conflict).
// Checkout/Latest share its caches, which are locked. A TableWriter is not
// safe to share: use one per thread (several writers on one table are fine).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include "ailake/file.h"
#include "ailake/policy.h"
#include "ailake/row_id.h"
#include "ailake/search_options.h"
#include "ailake/storage.h"
#include "ailake/text_search.h"

namespace ailake {

namespace table {
class Manifest;
struct TableContext;
class TableAccess;
}  // namespace table

class Table;

// What a version did. kOther: an operation this release does not name (a
// newer writer's, or an Iceberg snapshot's "overwrite" / "replace"); its
// recorded name is in TableVersion::operation_name.
enum class TableOperation {
  kCreate,
  kAppend,
  kDelete,
  kUpdate,
  kMerge,
  kIndex,     // an index built, created or dropped (CreateIndex, DropIndex)
  kCodebook,  // a shared IVF-PQ codebook trained
  kCompact,   // fragments merged (Optimize, Compact)
  kAddColumns,
  kDropColumns,
  kRename,
  kAlterColumns,  // several column changes, or a change of nullability
  kRestore,
  kSetProperties,  // a table setting (storage format, Iceberg view)
  kOther,
};
// "create", "append", "delete", "update", "merge", "index", "codebook",
// "compact", "add_columns", "drop_columns", "rename", "alter_columns", "restore",
// "set_properties"; "other" for kOther.
std::string_view TableOperationName(TableOperation op);
// The operation a recorded name stands for; kOther when it names none.
TableOperation ParseTableOperation(std::string_view name);

struct TableVersion {
  uint64_t version = 0;
  uint64_t timestamp_micros = 0;
  TableOperation operation = TableOperation::kOther;
  std::string operation_name;  // as recorded (TableOperationName, or another writer's name)
  std::string detail;
  int64_t num_rows = 0;  // live rows
  int num_fragments = 0;
};

// Whether a data file carries the index its vector columns owe.
enum class IndexState {
  kNone,     // no vector column, or the column has no index
  kPending,  // owes an index (a deferred write, CreateIndex): searched by exact scan
  kIndexed,  // carries it
};
std::string_view IndexStateName(IndexState s);  // "none", "pending", "indexed"

struct DataFileInfo {
  std::string path;  // relative to the table root
  uint64_t size_bytes = 0;
  IndexState index_state = IndexState::kNone;
  FileFormat format = FileFormat::kParquet;  // the file's container
  std::vector<std::string> columns;
};

struct FragmentInfo {
  uint64_t id = 0;
  int64_t physical_rows = 0;
  int64_t deleted_rows = 0;
  std::vector<DataFileInfo> files;
};

// Progress of long table operations: `done` of `total` units (fragments read
// and files written for compaction, files for indexing). Called on the
// calling thread; must not call back into the table.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

struct CompactionOptions {
  // Fragments with fewer live rows than this are merged together.
  int64_t target_rows_per_fragment = 1 << 20;
  // Fragments whose share of deleted rows reaches this are rewritten.
  double max_deleted_fraction = 0.1;
  ProgressFn progress;  // optional
};

struct CompactionResult {
  int fragments_removed = 0;
  int fragments_added = 0;
  int64_t rows_dropped = 0;  // deleted rows physically removed
  uint64_t version = 0;
  std::shared_ptr<Table> table;  // the table at `version`
};

// Optimize: the table's layout and indexes brought to their efficient state.
//
// Merging is size-tiered (log-structured): a fragment of L live rows sits in
// tier floor(log_merge_factor(L)). Whenever a tier holds merge_factor
// fragments they are rewritten as one fragment (with its index rebuilt),
// which lands in a higher tier. So a row is rewritten at most once per tier,
// log_merge_factor(max_rows_per_fragment) times over its life (6 for the
// defaults), never once per optimize, and the table holds at most
// (merge_factor - 1) fragments per tier below max_rows_per_fragment.
// Fragments whose share of deleted rows reaches max_deleted_fraction, and
// fragments whose columns AddColumns split over several files, are
// rewritten too (each into one whole-row file), and indexes owed by deferred writes are built
// (first training a column's shared IVF-PQ codebook on its pending files once they hold enough
// rows, IvfPqConfig::min_training_rows).
struct OptimizeOptions {
  int merge_factor = 10;                    // at least 2
  int64_t max_rows_per_fragment = 1 << 20;  // merges write no larger fragment
  double max_deleted_fraction = 0.1;        // in (0, 1]
  bool build_pending_indexes = true;
  IndexBuildOptions index_build;
  ProgressFn progress;  // optional: merge groups and pending files done / total
};

struct OptimizeResult {
  int merges = 0;  // merge commits
  int fragments_removed = 0;
  int fragments_added = 0;
  int64_t rows_rewritten = 0;    // live rows written again by merges
  int64_t rows_dropped = 0;      // deleted rows physically removed
  int codebooks_trained = 0;     // shared IVF-PQ codebooks trained on pending files
  int indexes_built = 0;         // pending files indexed
  uint64_t version = 0;          // the table's version afterwards
  std::shared_ptr<Table> table;  // the table at `version`
};

// What Table::Delete did.
struct DeleteResult {
  int64_t rows_deleted = 0;
  std::shared_ptr<Table> table;  // the version committed (this table's if none matched)
};

struct CleanupOptions {
  // The newest `retain_versions` versions are kept (at least 1). Older
  // version manifests are removed, so time travel to them ends.
  uint32_t retain_versions = 1;
  // A file no kept version references is deleted only once it was last
  // modified at least this long ago: a writer may have written it for a
  // commit that is still to come.
  int64_t grace_seconds = 3600;
  // >= 0: every version committed less than this many seconds ago is kept
  // too (a policy by age, LanceDB's cleanup_old_versions(older_than=)).
  int64_t older_than_seconds = -1;
};

// One change to a column (Table::AlterColumns).
struct ColumnAlteration {
  std::string path;                   // the column, by its (top-level) name
  std::optional<std::string> rename;  // its new name
  // true: nulls allowed from now on; false: refused from now on, once no
  // live row holds one.
  std::optional<bool> nullable;
};

// A name for a version (Table::CreateTag).
struct TableTag {
  std::string name;
  uint64_t version = 0;
};

struct CleanupResult {
  int versions_removed = 0;
  int files_removed = 0;  // data, deletion, codebook and transaction files
  int64_t bytes_removed = 0;
};

// What Table::Verify found.
struct VerifyReport {
  int manifests_checked = 0;
  int files_checked = 0;  // data files of the version checked
  int deletion_files_checked = 0;
  std::vector<std::string> problems;  // each names the object (and offset); empty: none
  bool ok() const { return problems.empty(); }
};

// What Table::RebuildIcebergView wrote.
struct IcebergViewResult {
  std::string metadata_path;         // the metadata/vN.metadata.json written
  int snapshots = 0;                 // versions published as Iceberg snapshots
  std::vector<std::string> lagging;  // versions Iceberg cannot express, with why
};

// The state of a table's Iceberg view (Table::IcebergView).
struct IcebergViewStatus {
  bool enabled = true;               // the table's "iceberg.view" setting
  std::string metadata_path;         // the newest metadata file, or empty if none
  uint64_t published_version = 0;    // the newest ailake version it reflects (0: none)
  int64_t current_snapshot_id = -1;  // the version its current snapshot shows (-1: none)
  // Why the current snapshot is older than the version it reflects (a
  // version Iceberg cannot express), or empty.
  std::string lag;
  std::string last_error;  // of this process's last publication that failed, or empty
};

// Table::OpenIceberg: which plain Iceberg table, and its vector columns.
struct IcebergOpenOptions {
  // Vector columns: Iceberg fixed[4·dim] columns read as little-endian f32
  // vectors; give vector_column and metric (dim 0 = from the column's width).
  // Empty: the columns an ailake view documents as vectors, if any.
  std::vector<VectorStoragePolicy> vector_columns;
  // The metadata file, relative to the table (metadata/<name>.metadata.json);
  // empty = the newest (version-hint.text, else the highest number).
  std::string metadata_file;
};

// Table::ImportIceberg: the source, and how the new table indexes.
struct IcebergImportOptions {
  IcebergOpenOptions source;
  StorageOptions source_storage;
  IndexType index_type = IndexType::kHnsw;  // of every vector column
  IndexBuildOptions index_build;
};

// Every call that changes the table commits a new version and returns it as
// a new Table (or in a result that holds it); the Table it was called on
// stays the version it was.
class Table : public std::enable_shared_from_this<Table> {
 public:
  ~Table();

  // Creates an empty table (version 1). Each policy names a column of
  // `schema` of type FixedSizeList<float32, policy.dim>.
  // `uri` and `storage`: see include/ailake/storage.h.
  // `storage_format`: the container of the table's data files, kParquet
  // (every Parquet engine reads them; the Iceberg view is published) or
  // kLance (the Lance file format: pylance reads each file, vector rows
  // and takes read only the rows' bytes; no Iceberg view, which needs
  // Parquet, so it starts switched off). Unset: the environment variable
  // AILAKE_STORAGE_FORMAT ("parquet" or "lance"), else kParquet.
  static arrow::Result<std::shared_ptr<Table>> Create(
      const std::string& uri, const std::shared_ptr<arrow::Schema>& schema,
      std::vector<VectorStoragePolicy> vector_columns, const StorageOptions& storage = {},
      std::optional<FileFormat> storage_format = std::nullopt);
  // A plain Apache Iceberg table (format 1 or 2, unpartitioned, Parquet
  // data files, position deletes) written by another engine, read-only: its
  // snapshots are versions 1..N in order (Versions() names each snapshot
  // id), the current snapshot is the latest, vector columns are searched by
  // exact scan; every change is refused with an error naming ImportIceberg.
  // `uri`: the table directory, or one of its metadata/*.metadata.json files.
  static arrow::Result<std::shared_ptr<Table>> OpenIceberg(const std::string& uri,
                                                           const IcebergOpenOptions& options = {},
                                                           std::optional<uint64_t> version = {},
                                                           const StorageOptions& storage = {});
  // Makes an ailake table at `dest` of the current snapshot of the Iceberg
  // table at `source` (as OpenIceberg reads it), committed as one version,
  // one AI-Lake file per Iceberg data file with an index for each vector
  // column: a file with no deleted row is copied byte for byte (its pages
  // neither decoded nor re-encoded) with the index appended; a file with
  // deleted rows has its live rows written again. The source is untouched.
  static arrow::Result<std::shared_ptr<Table>> ImportIceberg(
      const std::string& source, const std::string& dest, const IcebergImportOptions& options = {},
      const StorageOptions& storage = {});
  // The newest version, or `version`.
  static arrow::Result<std::shared_ptr<Table>> Open(const std::string& uri,
                                                    std::optional<uint64_t> version = {},
                                                    const StorageOptions& storage = {});

  const std::string& uri() const;
  uint64_t version() const;
  // Requests made to the table's store since it was opened (shared by every
  // version of it that Checkout, Latest or a writer made), and the read
  // cache's hits and misses among them.
  IoStats io_stats() const;
  std::shared_ptr<arrow::Schema> schema() const;
  const std::vector<VectorStoragePolicy>& vector_columns() const;
  // The policy of the named vector column (empty = the first).
  arrow::Result<VectorStoragePolicy> vector_column(std::string_view name = {}) const;
  int64_t num_rows() const;  // live rows
  std::vector<FragmentInfo> fragments() const;
  // The container new data files are written in (each file records its
  // own, so a table may hold both after SetStorageFormat).
  FileFormat storage_format() const;
  // Changes the container of the data files written from now on (commits a
  // version when it changes; returns the latest table). Existing files
  // stay as they are until Optimize rewrites them: it rewrites every
  // fragment stored in another format (and every merge writes this one).
  arrow::Result<std::shared_ptr<Table>> SetStorageFormat(FileFormat format) const;

  arrow::Result<std::vector<TableVersion>> Versions() const;
  arrow::Result<std::shared_ptr<Table>> Checkout(uint64_t version) const;
  arrow::Result<std::shared_ptr<Table>> Latest() const;
  // Commits a new version whose content is that of `version`; returns it.
  arrow::Result<std::shared_ptr<Table>> Restore(uint64_t version) const;
  // Tags name versions: CreateTag names `version` (which must exist; a name
  // taken is AlreadyExists), DeleteTag removes a name, Tags lists them by
  // name, CheckoutTag opens the version a tag names. Cleanup keeps tagged
  // versions and their files. Tags are not versions: creating one commits
  // nothing.
  arrow::Result<std::vector<TableTag>> Tags() const;
  arrow::Status CreateTag(const std::string& name, uint64_t version) const;
  arrow::Status DeleteTag(const std::string& name) const;
  arrow::Result<std::shared_ptr<Table>> CheckoutTag(const std::string& name) const;
  // Removes versions older than the newest options.retain_versions, then the
  // files that no remaining version references (files replaced by indexing or
  // compaction, deletion files superseded, files of failed commits) and the
  // temporaries of writers killed mid-write, all once older than
  // options.grace_seconds. Commits nothing. A reader or writer still working
  // on a removed version gets an error naming the missing object.
  arrow::Result<CleanupResult> Cleanup(const CleanupOptions& options = {}) const;
  // Checks the whole table, reading every byte that has a checksum, and
  // reports every problem (an error only when the table cannot be listed):
  // every manifest kept in _versions (checksum, ids, schema); for this
  // version, every data file read afresh (AilakeFileReader::VerifyAll) and
  // checked against its manifest entry (size, row count, the types of the
  // columns it stores for each field, the index state: indexed files carry a
  // section with an index for each vector column, pending and plain files
  // none), and every deletion file (checksum, count). `progress`, if set, is
  // called after each data file with (files done, files in the version).
  // The Apache Iceberg (format v2) view (docs/FORMAT.md 4.5). Unless
  // switched off, every commit also publishes it, in the layout path-based
  // catalogs read: metadata/vN.metadata.json, metadata/version-hint.text,
  // Avro manifest lists and manifests, Parquet position-delete files. One
  // snapshot per version, its id the version number, so Iceberg readers time
  // travel by version. Columns resolve through a name mapping by stable
  // field id (renames included). A version Iceberg cannot express (a
  // fragment split over several files by an added column, until Optimize
  // rewrites it whole; a nested or unsupported type) gets no snapshot: the
  // previous one stays current and IcebergView().lag says why. Publishing
  // follows the commit: a failed or interrupted publication never undoes a
  // commit, and the next commit (or RebuildIcebergView) catches up.
  //
  // RebuildIcebergView writes a new metadata file computed afresh from every
  // kept version; `lagging` lists the versions with no snapshot, and why.
  arrow::Result<IcebergViewResult> RebuildIcebergView() const;
  arrow::Result<IcebergViewStatus> IcebergView() const;
  // Switches publishing on (catching up every kept version at once) or off
  // (the view's metadata is removed, so no engine reads a view that stopped
  // following the table; Cleanup removes its other files). Commits a version
  // when the setting changes; returns the latest table.
  arrow::Result<std::shared_ptr<Table>> SetIcebergView(bool enabled) const;
  arrow::Result<VerifyReport> Verify(
      const std::function<void(int64_t done, int64_t total)>& progress = {}) const;

  // Rows of one fragment (live rows only), with `columns` (empty = all) and,
  // if `with_row_id`, a "_rowid" uint64 column.
  arrow::Result<std::shared_ptr<arrow::Table>> ReadFragment(
      uint64_t fragment_id, const std::vector<std::string>& columns = {},
      bool with_row_id = false) const;
  // Rows by id (the "_rowid" values Search and Scan return), in the order
  // given. Deleted or unknown ids are an error.
  arrow::Result<std::shared_ptr<arrow::Table>> Take(std::span<const RowId> row_ids,
                                                    const std::vector<std::string>& columns = {},
                                                    bool with_row_id = false) const;

  // Reading (the query layer, query.h): the k nearest live rows to `query`,
  // ascending by "_distance" (float32), with options.columns and "_rowid"
  // (uint64, for Take); the filter applies inside the index search, so k
  // rows come back whenever k live rows match. `allowed` (row positions) is
  // for indexes and files and is refused here.
  arrow::Result<std::shared_ptr<arrow::Table>> Search(std::span<const float> query,
                                                      const SearchOptions& options = {},
                                                      SearchStats* stats = nullptr) const;
  // Many queries (num_queries x dim, row-major) in one call: the same rows as
  // Search per query, after a first column "_query" (uint32, the query's row).
  arrow::Result<std::shared_ptr<arrow::Table>> SearchBatch(std::span<const float> queries,
                                                           uint32_t num_queries,
                                                           const SearchOptions& options = {},
                                                           SearchStats* stats = nullptr) const;
  // Full-text search (text_search.h): the k live rows best matching `query`
  // by BM25 with the whole version's statistics, descending by "_score"
  // (float32), with options.columns and "_rowid". The filter applies inside
  // the search, so k rows come back whenever k live rows match.
  arrow::Result<std::shared_ptr<arrow::Table>> SearchText(std::string_view query,
                                                          const TextSearchOptions& options = {},
                                                          SearchStats* stats = nullptr) const;
  // Hybrid search (text_search.h): a vector search and a text search fused
  // into one ranking, descending by "_relevance_score".
  arrow::Result<std::shared_ptr<arrow::Table>> SearchHybrid(std::span<const float> vector_query,
                                                            std::string_view text_query,
                                                            const HybridSearchOptions& options = {},
                                                            SearchStats* stats = nullptr) const;
  // Live rows (with "_rowid" if options.with_row_id), all at once or streamed
  // fragment by fragment (the reader keeps this table alive).
  arrow::Result<std::shared_ptr<arrow::Table>> Scan(const ScanOptions& options = {}) const;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanBatches(
      ScanOptions options = {}) const;

  // Deletes the rows matching `predicate`. Commits (nothing when no live
  // row matches).
  arrow::Result<DeleteResult> Delete(const arrow::compute::Expression& predicate) const;
  arrow::Result<CompactionResult> Compact(const CompactionOptions& options = {}) const;
  // Adds columns computed for every existing row: `values(fragment rows)`
  // returns the new columns for a fragment's physical rows (deleted ones
  // included, in order). Each fragment gets one new data file; existing files
  // are not rewritten. Vector columns among them need a policy (and get an index).
  using ColumnFiller = std::function<arrow::Result<std::shared_ptr<arrow::RecordBatch>>(
      const std::shared_ptr<arrow::Table>& fragment_rows)>;
  arrow::Result<std::shared_ptr<Table>> AddColumns(
      const std::shared_ptr<arrow::Schema>& new_fields, const ColumnFiller& values,
      const std::vector<VectorStoragePolicy>& new_vector_columns = {},
      const std::vector<std::string>& input_columns = {}) const;
  arrow::Result<std::shared_ptr<Table>> DropColumns(const std::vector<std::string>& names) const;
  arrow::Result<std::shared_ptr<Table>> RenameColumn(const std::string& from,
                                                     const std::string& to) const;
  // Several column changes in one version, applied in order (a rename
  // names the column by its name at that point). Refused whole, committing
  // nothing, if any is: an unknown or duplicate name, a change of nothing,
  // nullable = false on a vector column or on a column a live row holds a
  // null in (the error names the column and how many). Writes checked
  // against the new schema from then on refuse nulls in it.
  arrow::Result<std::shared_ptr<Table>> AlterColumns(
      std::span<const ColumnAlteration> alterations) const;

  // Merges and indexes as OptimizeOptions describes, committing each merge
  // on its own (an interrupted optimize loses nothing: each commit is
  // atomic, and the files of a merge that did not commit are left to
  // Cleanup). Works on the latest version, whatever version this is.
  arrow::Result<OptimizeResult> Optimize(const OptimizeOptions& options = {}) const;
  // Optimize in pieces, for dividing its merges among workers: the merges it
  // would run next on the latest version (one round, lowest tier first), as
  // groups of fragment ids; and one such merge, run and committed on its own
  // (merges of disjoint groups commit concurrently; a group changed meanwhile
  // is a commit conflict). Owed indexes: BuildPendingIndexesOf.
  arrow::Result<std::vector<std::vector<uint64_t>>> PlanOptimize(
      const OptimizeOptions& options = {}) const;
  arrow::Result<OptimizeResult> MergeFragments(std::span<const uint64_t> fragment_ids,
                                               const OptimizeOptions& options = {}) const;

  // Gives vector column `policy.vector_column` the index `policy` describes
  // (type and HNSW / IVF-PQ settings; dim, metric, precision and
  // pre_normalize must be the column's: the stored vectors do not change),
  // on a table with any index or none. Commits the new setting with every
  // file of the column owing the index (searched by exact scan until then);
  // BuildPendingIndexes (or a writer's background pool, or Optimize) then
  // rebuilds each file's section, one commit per file, copying its data
  // bytes unchanged. Writers opened before keep the old setting for the
  // files they write. Returns the version committed.
  arrow::Result<std::shared_ptr<Table>> CreateIndex(const VectorStoragePolicy& policy) const;
  // Removes vector column `vector_column`'s index (empty: the first vector
  // column): commits the column with no index, its files searched by exact
  // scan from then on. The files are not rewritten; their index bytes stay
  // until Optimize rewrites them (and Cleanup removes the old files).
  // CreateIndex gives the column an index again. Returns the version committed.
  arrow::Result<std::shared_ptr<Table>> DropIndex(std::string_view vector_column = {}) const;

  // Gives text column config.column (a string column or a list of strings)
  // a full-text index (text_search.h): commits the setting, replacing the
  // column's index if it had one, with every data file holding the column
  // owing it; then, if `build`, writes each such file again with its index
  // section added (its other bytes copied unchanged; one commit per file, as
  // BuildPendingIndexesOf does; BuildPendingIndexes or Optimize builds them
  // otherwise). Writes from then
  // on carry the section inline (deferred writes owe it), merges keep it.
  // Returns the latest version.
  arrow::Result<std::shared_ptr<Table>> CreateTextIndex(const TextIndexConfig& config,
                                                        bool build = true) const;
  // Removes column `column`'s full-text index (commits; the files keep their
  // section bytes until Optimize rewrites them). Returns the version committed.
  arrow::Result<std::shared_ptr<Table>> DropTextIndex(std::string_view column) const;
  // The text columns with a full-text index, in the order they were created.
  arrow::Result<std::vector<TextIndexConfig>> text_indexes() const;

  // Builds the indexes owed by deferred writes (also what a restarted process
  // runs to finish work a dead one left). Returns the number of files indexed.
  arrow::Result<int> BuildPendingIndexes(const IndexBuildOptions& build = {},
                                         const ProgressFn& progress = {}) const;

  // Distributed work on one table (python/ailake/ray.py divides it among a
  // Ray cluster's workers):
  //
  // Writes `batch` as a data file of this table (with its index, or owing it
  // if `deferred`) and commits nothing; returns an opaque description of the
  // file for CommitStaged, in this process or another. An IVF-PQ column whose
  // table has no codebook yet is written owing its index: one codebook is
  // trained later from all the files (TrainPendingCodebooks), not one per
  // worker. Files never committed are left to Cleanup.
  arrow::Result<std::string> StageWrite(const arrow::RecordBatch& batch, bool deferred = false,
                                        const FileWriteOptions& file = {}) const;
  // Commits staged files as one append: one version, atomic. Fails (and
  // commits nothing) if the schema changed since they were staged.
  arrow::Result<std::shared_ptr<Table>> CommitStaged(std::span<const std::string> staged) const;
  // Replaces rows in one version (Python's update and merge_insert): deletes
  // `row_ids` (live rows of this version) and adds the staged files, so
  // readers see the old rows or the new ones, never both or neither.
  // `operation` (kUpdate or kMerge) names the version. A replaced row
  // deleted meanwhile, its fragment rewritten (a merge by Optimize), or the
  // schema changed, is a commit conflict: nothing is committed and the
  // caller reads the latest version and tries again.
  arrow::Result<std::shared_ptr<Table>> CommitReplace(std::span<const RowId> row_ids,
                                                      std::span<const std::string> staged,
                                                      TableOperation operation) const;
  // The data files of the latest version that owe an index (a vector
  // index, or a text column's full-text index).
  arrow::Result<std::vector<std::string>> PendingFiles() const;
  // Trains and commits the shared IVF-PQ codebooks owed by pending files;
  // returns how many (see BuildPendingIndexes, which does this first).
  arrow::Result<int> TrainPendingCodebooks(const IndexBuildOptions& build = {}) const;
  // Indexes the pending files among `paths` (each committed on its own;
  // files already indexed or gone are skipped); returns how many. Trains no
  // codebook: files waiting for one stay pending.
  arrow::Result<int> BuildPendingIndexesOf(std::span<const std::string> paths,
                                           const IndexBuildOptions& build = {}) const;

  // An open reader of one of the table's data files (a path as
  // FragmentInfo lists it), cached across queries and versions, with the
  // table's shared IVF-PQ codebooks; `size` (bytes, if known) spares a
  // remote store the request to learn it.
  arrow::Result<std::shared_ptr<AilakeFileReader>> OpenDataFile(const std::string& path,
                                                                int64_t size = -1) const;

 private:
  // The table layer and the query layer reach the manifest and the shared
  // context only through this (src/ailake/table/table_access.h).
  friend class table::TableAccess;
  Table(std::shared_ptr<table::TableContext> ctx, std::unique_ptr<table::Manifest> manifest);
  static arrow::Result<std::shared_ptr<Table>> OpenIn(
      const std::shared_ptr<table::TableContext>& ctx, std::optional<uint64_t> version);
  static arrow::Result<std::shared_ptr<Table>> FromManifest(
      const std::shared_ptr<table::TableContext>& ctx, table::Manifest manifest);
  std::shared_ptr<table::TableContext> ctx_;
  std::unique_ptr<table::Manifest> manifest_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<VectorStoragePolicy> policies_;
};

// True when `st` is a commit refused because another writer changed what the
// commit depended on first (its message starts "commit conflict: "): running
// the operation again on the newest version (Table::Latest) may succeed.
bool IsCommitConflict(const arrow::Status& st);

struct TableWriterOptions {
  StorageOptions storage;  // where the table lives: include/ailake/storage.h
  // The container of a table that Create makes; an existing table keeps its
  // own, and a different format given here is an error. (file.format is
  // the table's, whatever it says.)
  std::optional<FileFormat> storage_format;
  FileWriteOptions file;
  IndexBuildOptions index_build;
  // Threads of the background indexing pool (write_batch_deferred). 0: no
  // pool; deferred files stay pending until WaitForIndexing builds them on
  // the calling thread (or Detach leaves them to a later writer).
  uint32_t background_threads = 1;
  // After each commit, the background pool runs Optimize (merges and owed
  // indexes) whenever the table has a full tier, so a table written only
  // through writers converges without an explicit optimize. Needs
  // background_threads > 0.
  bool auto_optimize = true;
  OptimizeOptions optimize;
  // Batches are buffered until this many rows are pending (0 = every write
  // commits its own file). Commit() flushes the buffer.
  int64_t min_rows_per_file = 0;
};

// How TableWriter::WriteBatch writes one batch. The default: the table's
// index for every vector column, built before the commit.
struct WriteOptions {
  // Commit the data at once (searchable by exact scan) and build the index in
  // the background, swapped in by a later commit.
  bool deferred = false;
  // Another index type for the primary vector column for this batch: kIvfPq
  // (encoded with the table's shared codebook) or kAuto (chosen by size).
  std::optional<IndexType> index;
  // Row-major rows x dim vectors of the primary vector column, when the batch
  // does not carry it as FixedSizeList<float32>.
  std::span<const float> embeddings;
  // Several vector columns, each with its index and optional vectors (the
  // table's other vector columns get their policies); excludes `index` and
  // `embeddings`.
  std::span<const VectorColumnBatch> columns;
};

class TableWriter {
 public:
  ~TableWriter();  // waits for background indexing

  static arrow::Result<std::unique_ptr<TableWriter>> Open(const std::string& uri,
                                                          TableWriterOptions options = {});
  // Creates the table if it does not exist (else checks the schema matches).
  static arrow::Result<std::unique_ptr<TableWriter>> Create(
      const std::string& uri, const std::shared_ptr<arrow::Schema>& schema,
      const std::vector<VectorStoragePolicy>& vector_columns, TableWriterOptions options = {});

  // Writes `batch` as a data file (indexed as `options` says) and commits
  // it; returns the committed version (0 if the rows were only buffered, see
  // TableWriterOptions::min_rows_per_file). A nullable table column the
  // batch lacks (one added by AddColumns, say) is written as nulls; a
  // missing non-nullable or vector column is an error. The forms below,
  // named as in the AilakeFileWriter seed, are this call with one option set.
  arrow::Result<uint64_t> WriteBatch(const arrow::RecordBatch& batch, const WriteOptions& options);
  // `embeddings`: row-major rows x dim for the primary vector column, or
  // empty when the batch carries it as FixedSizeList<float32>.
  arrow::Result<uint64_t> WriteBatch(const arrow::RecordBatch& batch,
                                     std::span<const float> embeddings = {});
  // Data committed at once (searchable by exact scan); the index is built in
  // the background and swapped in by a later commit. (WriteOptions::deferred)
  arrow::Result<uint64_t> WriteBatchDeferred(const arrow::RecordBatch& batch,
                                             std::span<const float> embeddings = {});
  // IVF-PQ with the table's shared codebook (trained on the first batch).
  // (WriteOptions::index = kIvfPq)
  arrow::Result<uint64_t> WriteBatchIvfPq(const arrow::RecordBatch& batch,
                                          std::span<const float> embeddings = {});
  arrow::Result<uint64_t> WriteBatchIvfPqDeferred(const arrow::RecordBatch& batch,
                                                  std::span<const float> embeddings = {});
  // Several vector columns, each with its own index (WriteOptions::columns).
  arrow::Result<uint64_t> WriteBatchMulti(const arrow::RecordBatch& batch,
                                          std::span<const VectorColumnBatch> columns);
  // The index chosen by size (WriteOptions::index = kAuto).
  arrow::Result<uint64_t> WriteBatchAuto(const arrow::RecordBatch& batch,
                                         std::span<const float> embeddings = {});
  // Flushes buffered rows (one file, one commit); returns the version.
  arrow::Result<uint64_t> Commit();
  // Blocks until every background index build has committed (or failed).
  arrow::Status WaitForIndexing();
  // Stops background indexing without building what is still queued: those
  // files stay pending in the table, for BuildPendingIndexes or the next
  // TableWriter::Open. A build already running finishes first. Returns the
  // number of files left pending.
  int Detach();

  std::shared_ptr<Table> table() const;

  class Impl;

 private:
  explicit TableWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ailake
