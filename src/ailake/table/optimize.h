// Tiered merging of fragments (Table::Optimize, Table::Compact): the merge
// policy, and the rewrite of a set of fragments as one commit.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"

namespace ailake::table {

// The tier of a fragment with `live_rows` live rows: floor(log_f(rows)),
// 0 for fewer than f rows. Merging f fragments of tier t gives at least f^(t+1)
// rows, so a merge always lands in a higher tier.
// Rebase checks shared by the table's operations: the fragment with id `id`
// (null if none), and whether two versions of a fragment hold the same rows
// in the same files (an index swap of a pending file counts as the same).
const Fragment* FragmentById(const Manifest& m, uint64_t id);
bool SameFiles(const Fragment& a, const Fragment& b);

int MergeTier(int64_t live_rows, int merge_factor);

// One round of merges for `m`, lowest tier first: in each tier below
// max_rows_per_fragment, the fragments (ascending id) in groups of
// merge_factor; then, alone, each fragment not in a group whose deleted share
// reaches max_deleted_fraction or that has no live row. Ids per group ascend.
std::vector<std::vector<uint64_t>> PlanMerges(const Manifest& m, const OptimizeOptions& options);

struct RewriteOutcome {
  int fragments_added = 0;
  int64_t rows_written = 0;
  int64_t rows_dropped = 0;  // deleted rows not written again
  uint64_t version = 0;
  std::shared_ptr<Table> table;  // at `version`
};

// Reads the live rows of `picked` (fragments of t's version), writes them as
// fragments of at most `target_rows` rows with their indexes rebuilt, and
// commits the swap. Rebases over appends only: a picked fragment changed
// meanwhile (a delete, a rewrite) or a schema change is a commit conflict.
// `step` is called after each fragment read and each file written.
arrow::Result<RewriteOutcome> RewriteFragments(const Table& t,
                                               const std::vector<const Fragment*>& picked,
                                               int64_t target_rows, const IndexBuildOptions& build,
                                               const std::function<void()>& step);

}  // namespace ailake::table
