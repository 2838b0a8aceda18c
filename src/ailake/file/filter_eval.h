// Filters (layer file/): expressions of the filter language bound to a
// schema and evaluated on rows, with errors that name the column and both
// types. Used by the file's own search (AilakeFileReader::Search with
// SearchOptions::filter) and, through table/fragment_reader.h, by table
// scans, searches and deletes.
#pragma once

#include <string>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "ailake/vectors.h"  // RowBitmap

namespace ailake::file_internal {

// Arrow's compute functions registered (Arrow 21 needs it once before
// expressions are bound or acero plans run); safe from any thread.
arrow::Status EnsureComputeInitialized();

// The top-level columns a filter reads (`a.b`, a field of struct column
// `a`, reads `a`), each once.
arrow::Result<std::vector<std::string>> FilterColumns(const arrow::compute::Expression& filter);

// `expr` (any expression of the filter language, "price * 1.1") bound to
// `schema` with the time-zone rule below; types that do not fit are a
// TypeError naming the column and both types.
arrow::Result<arrow::compute::Expression> BindExpression(const arrow::compute::Expression& expr,
                                                         const arrow::Schema& schema);

// `filter` bound to `schema` (after the time-zone rule below), or the error
// EvaluateFilter would give.
arrow::Result<arrow::compute::Expression> BindFilter(const arrow::compute::Expression& filter,
                                                     const arrow::Schema& schema);

// `filter` evaluated on `batch`: one boolean per row (null: no match), or a
// boolean scalar. A naive TIMESTAMP literal compared with a column of
// timestamps with a time zone is read in UTC. Types that do not fit
// (`price = 'abc'`) are a TypeError naming the column and both types.
arrow::Result<arrow::Datum> EvaluateFilter(const arrow::compute::Expression& filter,
                                           const arrow::RecordBatch& batch);

// The rows of `batch` the filter matches (null: no match).
arrow::Result<RowBitmap> MatchingRowBitmap(const arrow::compute::Expression& filter,
                                           const arrow::RecordBatch& batch);

}  // namespace ailake::file_internal
