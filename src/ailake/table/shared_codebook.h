// One IVF-PQ codebook per table vector column (docs/FORMAT.md 4.1, 4.2).
//
// The first write that builds an IVF-PQ section for a column trains the
// codebook on that batch, stores it at _indexes/<column>-<uuid>.codebook
// before its commit, and the commit records it in
// VectorColumn.ivf_codebook_path. Every later IVF-PQ section of the column
// (inline and deferred writes, compaction, AddColumns, later writers) is
// encoded with it, so its blob names the codebook by fingerprint instead of
// embedding one, and ADC distances of different files are comparable.
//
// Concurrent first writers: the commit that records a codebook rebases like
// any other; if the newest manifest already names another codebook for the
// column, the commit fails with a conflict and reports `raced`, and the
// table writer redoes its write with the committed codebook.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "ailake/file.h"
#include "ailake/index.h"
#include "ailake/io/object_store.h"
#include "ailake/table/manifest.pb.h"

namespace ailake {
class Table;
}

namespace ailake::table {

// Training sample: at most this many rows per inverted list of the first
// batch go into the coarse k-means (the PQ is trained on at most 65,536 of
// those, index/ivf_pq_codebook.cc), so training cost does not grow with the
// batch.
inline constexpr uint32_t kCodebookSampleRowsPerList = 256;

// The codebook files of a table, loaded once each (they are immutable), and
// the resolver its data file readers use to find the codebook an IVF-PQ
// section names.
class CodebookCache {
 public:
  explicit CodebookCache(std::shared_ptr<io::ObjectStore> store) : store_(std::move(store)) {}

  // The codebook stored at `path` (relative to the table root). A missing or
  // corrupt file is an error naming the path.
  arrow::Result<std::shared_ptr<const IvfPqCodebook>> Load(const std::string& path);
  // A codebook this process has just written to `path`.
  void Put(const std::string& path, std::shared_ptr<const IvfPqCodebook> codebook);
  // Makes the codebooks `m` names candidates for Find.
  void Register(const Manifest& m);
  // The registered codebook with this fingerprint; otherwise an error naming
  // the fingerprint and what was looked at.
  arrow::Result<std::shared_ptr<const IvfPqCodebook>> Find(uint64_t fingerprint);

 private:
  std::shared_ptr<io::ObjectStore> store_;
  std::mutex mu_;
  std::set<std::string> known_;
  std::unordered_map<std::string, std::shared_ptr<const IvfPqCodebook>> loaded_;
};

// A codebook a write used for one column.
struct ColumnCodebook {
  int32_t field_id = -1;
  std::string column;  // table column name, for messages
  std::string path;    // relative to the table root
  std::shared_ptr<const IvfPqCodebook> codebook;
  bool trained = false;  // written by this operation, not yet committed
};

// Rows a column's codebook is trained on at least (IvfPqConfig::
// min_training_rows, or its default for the policy).
uint64_t MinCodebookTrainingRows(const VectorStoragePolicy& policy);

// Sets ivf_pq_codebook on each of `columns` whose index is IVF-PQ (the
// policy's type, kAuto resolved for the batch's rows): a codebook already
// in `session` (earlier files of the same operation), else the table's
// (VectorColumn.ivf_codebook_path), else one trained on the column's
// vectors in `batch` (or its embeddings) and written to the store. Adds
// every codebook it uses to `session`. A column without a codebook whose
// batch is smaller than MinCodebookTrainingRows gets none: its index is
// owed until the table has enough rows (*too_few_rows is set).
arrow::Status AttachCodebooks(const Table& table, const arrow::RecordBatch& batch,
                              std::span<VectorColumnBatch> columns, const IndexBuildOptions& build,
                              std::vector<ColumnCodebook>* session, bool* too_few_rows);

// The column's codebook for an index built later from stored vectors
// (deferred indexing): from `session`, the table, or trained on `vectors`;
// null when the column has none and `vectors` are fewer than
// MinCodebookTrainingRows.
arrow::Result<std::shared_ptr<const IvfPqCodebook>> CodebookForStoredVectors(
    const Table& table, const VectorStoragePolicy& policy, const VectorView& vectors,
    const IndexBuildOptions& build, std::vector<ColumnCodebook>* session);

// For each IVF-PQ column without a codebook whose pending files (owed an
// IVF-PQ index) hold MinCodebookTrainingRows rows together: trains the
// codebook on a sample drawn from all of them and commits it (operation
// "codebook"), so that BuildPendingIndexes can index them. Returns the
// number of codebooks committed.
arrow::Result<int> TrainCodebooksFromPendingFiles(const Table& table,
                                                  const IndexBuildOptions& build);
// True when TrainCodebooksFromPendingFiles would train a codebook for `t`.
bool CodebookIsOwed(const Table& t);

// Rebase step of every commit whose files use `used`: a column without a
// codebook in `m` gets the one used; the same one is kept; another one is a
// conflict (the returned status) and sets *raced. Columns no longer in `m`
// are skipped.
arrow::Status RecordCodebooks(Manifest* m, const std::vector<ColumnCodebook>& used, bool* raced);

// Deletes the codebook files trained for an operation that did not commit.
void DiscardTrained(io::ObjectStore& store, const std::vector<ColumnCodebook>& used);

}  // namespace ailake::table
