// Reading tables (layer query/): the scanner and table-wide vector search.
//
// Search runs over every fragment of one table version: files are ordered and
// pruned by a lower bound on the distance from the query to any of their rows
// (from the centroid and radius in their AILK section; the bound never drops a
// true top-k row), searched in parallel (through the file's index, or an exact
// scan for files whose index is still pending), and the per-file results —
// exact distances under the column's metric — are merged into the top k.
// Filters are evaluated per fragment into an allow-list that goes INTO each
// index search, and deleted rows are never allowed, so k rows come back
// whenever k live rows match.
//
// Thread safety: Search, SearchBatch, Scan and ScanBatches may run from many
// threads at once on one Table (a RecordBatchReader from ScanBatches is
// consumed by one thread at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include "ailake/index.h"
#include "ailake/table.h"

namespace ailake {

struct ScanOptions {
  std::vector<std::string> columns;  // empty = all
  std::optional<arrow::compute::Expression> filter;
  int64_t limit = -1;  // < 0 = no limit
  bool with_row_id = false;
};

// Streams the table's live rows fragment by fragment.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanBatches(
    std::shared_ptr<const Table> table, ScanOptions options = {});
arrow::Result<std::shared_ptr<arrow::Table>> Scan(std::shared_ptr<const Table> table,
                                                  const ScanOptions& options = {});

struct VectorSearchOptions {
  uint32_t k = 10;
  std::string vector_column;  // empty = the table's first vector column
  SearchParams params;        // per-call index parameters (ef, nprobe, refine_factor)
  std::optional<arrow::compute::Expression> filter;
  std::vector<std::string> columns;  // returned columns; empty = all but vector columns
  bool exact = false;                // exact distances from every file's stored vectors, no index
  bool prune = true;                 // centroid/radius file pruning (never drops a true top-k row);
                                     // exact with prune off scans every row (the ground truth)
  uint32_t num_threads = 0;          // 0 = all cores
  // Non-empty: search only these fragments (a share of a distributed search;
  // merging the shares' top-k gives the whole table's). An id the version
  // does not have is an error.
  std::vector<uint64_t> fragment_ids;
};

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

// The k nearest live rows, ascending by distance, with the chosen columns plus
// "_distance" (float32) and "_rowid" (uint64).
arrow::Result<std::shared_ptr<arrow::Table>> Search(const Table& table,
                                                    std::span<const float> query,
                                                    const VectorSearchOptions& options = {},
                                                    SearchStats* stats = nullptr);

// Many queries in one call: `queries` is num_queries x dim, row-major. Per
// query the same rows as Search, in one table whose first column "_query"
// (uint32) is the query's row in `queries`, each query's rows ascending by
// distance. Files are opened and their allow-lists computed once per call,
// and each file is searched for the queries it can still contribute to.
arrow::Result<std::shared_ptr<arrow::Table>> SearchBatch(const Table& table,
                                                         std::span<const float> queries,
                                                         uint32_t num_queries,
                                                         const VectorSearchOptions& options = {},
                                                         SearchStats* stats = nullptr);

// Compiles a SQL-like filter ("category = 3 AND (price < 10.5 OR name LIKE 'a%')",
// "tag IN ('x', 'y')", "note IS NOT NULL", "qty * 2 BETWEEN 3 AND 9",
// "lower(name) ILIKE 'ab%'", "day >= DATE '2024-01-31'", "meta.a > 1"; the
// grammar is in filter_parser.cc, docs/PYTHON.md "Filters") to an Arrow
// compute expression; errors name the position and what was expected. Types
// are checked when the filter meets a table (a TypeError naming the column).
// Bounded input: at most kMaxFilterBytes, parentheses, NOTs, unary minus and
// function calls nested at most kMaxFilterDepth deep, sums and products of
// at most kMaxFilterDepth terms (an error says so); AND / OR chains of any
// length are built as balanced trees.
inline constexpr size_t kMaxFilterBytes = size_t{1} << 20;
inline constexpr int kMaxFilterDepth = 256;
arrow::Result<arrow::compute::Expression> ParseFilter(std::string_view text);

// An expression of the same language ("price * 1.1", "upper(name)",
// "coalesce(note, 'none')") evaluated on every row of `batch`: one value per
// row. Types that do not fit are a TypeError naming the column.
arrow::Result<std::shared_ptr<arrow::Array>> EvaluateSql(std::string_view sql,
                                                         const arrow::RecordBatch& batch);

}  // namespace ailake
