// Changing rows in place (layer query/): Update and MergeInsert.
//
// Both read the rows they change from the newest version, write the new rows
// as staged data files (indexed as they are written, like any append) and
// commit with Table::CommitReplace: the old rows' deletion and the new rows'
// files are one version, so a reader sees the table before or after, never
// half of it. When another writer changed one of those rows first, the commit
// is refused as a conflict (IsCommitConflict) and the whole operation runs
// again on the newest version after a random wait that grows with each try,
// at most `max_attempts` times; a conflict on the last try is returned.
//
// Thread safety: both may run from many threads and processes at once on one
// table; each call is one atomic version or an error that committed nothing
// (staged files it wrote are left for Table::Cleanup).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include "ailake/table.h"

namespace ailake {

struct UpdateOptions {
  // The rows to change; none = every live row.
  std::optional<arrow::compute::Expression> where;
  // column = SQL expression over the row's values before the update
  // ("price * 1.1", "upper(name)", "coalesce(note, 'none')"), the language
  // of ParseFilter; the result is cast to the column's type.
  std::vector<std::pair<std::string, std::string>> set_sql;
  // column = a value: each column of this one-row batch names a table column
  // and holds the value every changed row gets (cast to the column's type;
  // a vector column takes a fixed-size list of its dimension).
  std::shared_ptr<arrow::RecordBatch> set_values;
  int max_attempts = 32;  // at least 1
};

struct UpdateResult {
  int64_t rows_updated = 0;
  uint64_t version = 0;  // the version committed (the table's, unchanged, when no row matched)
  std::shared_ptr<Table> table;  // the table at `version`
};

// Sets columns of the live rows matching `where`. A column named twice, one
// the table lacks, or a value whose type does not fit is an error naming it.
arrow::Result<UpdateResult> Update(const std::shared_ptr<const Table>& table,
                                   const UpdateOptions& options);

struct MergeInsertOptions {
  std::vector<std::string> on;  // key columns: rows match when every one is equal (nulls never)
  bool when_matched_update_all = false;      // a matched source row replaces the table's row(s)
  bool when_not_matched_insert_all = false;  // an unmatched source row is added
  bool when_not_matched_by_source_delete = false;  // a table row no source row matches is deleted
  std::optional<arrow::compute::Expression> delete_where;  // ... when it also matches this
  int max_attempts = 32;                                   // at least 1
};

struct MergeInsertResult {
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_deleted = 0;
  uint64_t version = 0;  // the version committed (the table's, unchanged, when nothing changed)
  std::shared_ptr<Table> table;  // the table at `version`
};

// An upsert in one version, as SQL's MERGE: `source` rows are matched to the
// table's live rows on the `on` columns. The source takes the table's schema
// (columns cast to the table's types; a nullable column it lacks is null). A
// key repeated in the source is an error naming it; so is asking for nothing.
arrow::Result<MergeInsertResult> MergeInsert(const std::shared_ptr<const Table>& table,
                                             const std::shared_ptr<arrow::Table>& source,
                                             const MergeInsertOptions& options);

}  // namespace ailake
