// Reading the rows of one fragment: resolves each requested table column to
// the data file and file column that hold it (by field id, so renames and
// dropped columns are honoured), reads them, converts stored vectors to
// FixedSizeList<float32>, and drops deleted rows.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"

namespace ailake::table {

// Rows `physical_rows` (positions in the fragment, any order, repeats allowed;
// empty = every row, in order) of `columns` (empty = all table columns), as a
// table with the table's column names; deleted rows are NOT filtered here.
arrow::Result<std::shared_ptr<arrow::Table>> ReadFragmentColumns(
    const Table& table, const Fragment& fragment, const std::vector<std::string>& columns,
    const std::vector<int64_t>* physical_rows);

// Physical rows (ascending) of a fragment matching `predicate`, deleted rows
// included (callers intersect with the live rows).
arrow::Result<std::vector<uint32_t>> MatchingRows(const Table& table, const Fragment& fragment,
                                                  const arrow::compute::Expression& predicate);

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

// The fragment of `table` with id `id`.
arrow::Result<const Fragment*> FindFragment(const Manifest& m, uint64_t id);

}  // namespace ailake::table
