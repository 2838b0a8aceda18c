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
// Table::Search, SearchBatch, Scan and ScanBatches (table.h) are these
// functions; SearchOptions and ScanOptions are in search_options.h.
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
#include "ailake/search_options.h"
#include "ailake/table.h"

namespace ailake {

// Streams the table's live rows fragment by fragment.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanBatches(
    std::shared_ptr<const Table> table, ScanOptions options = {});
arrow::Result<std::shared_ptr<arrow::Table>> Scan(std::shared_ptr<const Table> table,
                                                  const ScanOptions& options = {});

// The k nearest live rows, ascending by distance, with the chosen columns plus
// "_distance" (float32) and "_rowid" (uint64).
arrow::Result<std::shared_ptr<arrow::Table>> Search(const Table& table,
                                                    std::span<const float> query,
                                                    const SearchOptions& options = {},
                                                    SearchStats* stats = nullptr);

// Many queries in one call: `queries` is num_queries x dim, row-major. Per
// query the same rows as Search, in one table whose first column "_query"
// (uint32) is the query's row in `queries`, each query's rows ascending by
// distance. Files are opened and their allow-lists computed once per call,
// and each file is searched for the queries it can still contribute to.
arrow::Result<std::shared_ptr<arrow::Table>> SearchBatch(const Table& table,
                                                         std::span<const float> queries,
                                                         uint32_t num_queries,
                                                         const SearchOptions& options = {},
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
