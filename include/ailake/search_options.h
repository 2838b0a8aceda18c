// One set of search options for every layer: a VectorIndex, an
// AilakeFileReader and a Table all take a SearchOptions, and each honours the
// fields that mean something at its level and refuses the others with an
// error naming them (an option is never silently ignored):
//
//                         index   file   table
//   k, params               x      x       x
//   allowed (RowFilter)     x      x
//   filter (expression)            x       x
//   vector_column                  x       x
//   columns                        x       x
//   exact                          x       x
//   num_threads (batches)   x      x       x
//   prune, fragment_ids                    x
//
// Row ids: an index and a file return positions (a file's "_rowid" is the
// row's position in the file); a table returns RowIds (row_id.h), the ids
// Table::Take accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <arrow/compute/expression.h>

#include "ailake/storage.h"  // IoStats
#include "ailake/vectors.h"  // RowFilter

namespace ailake {

// Per-call index parameters; 0 means "the index's default".
struct SearchParams {
  uint32_t ef = 0;      // HNSW: candidate list size (>= k is enforced)
  uint32_t nprobe = 0;  // IVF-PQ: inverted lists probed
  // IVF-PQ: k * refine_factor candidates re-ranked exactly (0: the index's
  // default). HNSW walked on traversal codes: the k * refine_factor nearest
  // rows of the beam by code distance re-ranked exactly (0: the whole beam,
  // ef rows; at most ef). Returned distances are exact either way.
  uint32_t refine_factor = 0;
};

struct SearchOptions {
  uint32_t k = 10;
  SearchParams params;  // per-call index parameters (ef, nprobe, refine_factor)
  // Rows that may be returned, as a predicate over the rows' columns
  // (ParseFilter in query.h), applied inside the search: k rows come back
  // whenever k rows match.
  std::optional<arrow::compute::Expression> filter;
  // Rows that may be returned, by position (bit r = row r): an index's rows
  // or a file's. Borrowed; it must outlive the call. With `filter` on a
  // file, a row must pass both.
  const RowFilter* allowed = nullptr;
  std::string vector_column;  // empty = the first vector column
  // Returned columns; empty = all but vector columns. Results also carry
  // "_rowid" (uint64) and "_distance" (float32).
  std::vector<std::string> columns;
  bool exact = false;        // exact distances from the stored vectors, no index
  uint32_t num_threads = 0;  // batches of queries: threads (0 = all cores)
  // Tables only: centroid/radius file pruning (never drops a true top-k
  // row); exact with prune off scans every row (the ground truth).
  bool prune = true;
  // Tables only. Non-empty: search only these fragments (a share of a
  // distributed search; merging the shares' top-k gives the whole table's).
  // An id the version does not have is an error.
  std::vector<uint64_t> fragment_ids;
};

// The name of SearchOptions before the layers shared it.
using VectorSearchOptions = SearchOptions;

// What one table search did.
struct SearchStats {
  int files = 0;
  int files_pruned = 0;
  int files_index_searched = 0;
  int files_exact_scanned = 0;
  // Requests to the table's store during the call (remote stores only), and
  // the read cache's hits and misses. Counted per store: calls running at
  // the same time on one table see each other's requests.
  IoStats io;
};

struct ScanOptions {
  std::vector<std::string> columns;  // empty = all
  std::optional<arrow::compute::Expression> filter;
  int64_t limit = -1;  // < 0 = no limit
  bool with_row_id = false;
};

}  // namespace ailake
