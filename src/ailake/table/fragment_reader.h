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

#include "ailake/file/filter_eval.h"
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

// The filter language's binding and evaluation (file/filter_eval.h).
using file_internal::BindExpression;
using file_internal::BindFilter;
using file_internal::EvaluateFilter;
using file_internal::FilterColumns;

// The fragment of `table` with id `id`.
arrow::Result<const Fragment*> FindFragment(const Manifest& m, uint64_t id);

}  // namespace ailake::table
