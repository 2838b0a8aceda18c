// The rows a table search may return and the rows it does return (layer
// query/): per fragment the allow-list of live rows matching the filter; the
// hits' chosen columns, read with one Take, then the search's own columns
// ("_distance", "_score", "_rowid", ...) appended. Shared by vector, text and
// hybrid search.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/array.h>
#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include "ailake/row_id.h"
#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/vectors.h"

namespace ailake::query {

// The fragments of the table's version a search covers: all, or those of
// `ids` (an id the version lacks is a KeyError naming it).
arrow::Result<std::vector<const table::Fragment*>> SearchedFragments(
    const Table& table, const std::vector<uint64_t>& ids);

// Live rows of the fragment that match `filter`; none when every row is
// allowed (no deletion, no filter).
arrow::Result<std::optional<RowBitmap>> AllowedRows(
    const Table& table, const table::Fragment& fragment,
    const std::optional<arrow::compute::Expression>& filter);

// Rows `ids` (in order) of `columns`, or of every column but the vector
// columns when `columns` is empty; a table with no column (and ids.size()
// rows) when the table has nothing else.
arrow::Result<std::shared_ptr<arrow::Table>> TakeResultRows(const Table& table,
                                                            const std::vector<std::string>& columns,
                                                            const std::vector<RowId>& ids);

// A row a search found and its distance (vector search) or score (text).
struct RankedRow {
  RowId row_id = 0;
  float value = 0;
};

// The rows of Search (ascending by distance) and SearchText (descending by
// score), without reading their columns: hybrid search fuses them.
arrow::Result<std::vector<RankedRow>> VectorSearchRows(const Table& table,
                                                       std::span<const float> query,
                                                       const SearchOptions& options,
                                                       SearchStats* stats);
arrow::Result<std::vector<RankedRow>> TextSearchRows(const Table& table, std::string_view query,
                                                     const TextSearchOptions& options,
                                                     SearchStats* stats);

// `t` with `values` added as its last column (or at `position`).
arrow::Result<std::shared_ptr<arrow::Table>> AppendResultColumn(
    const std::shared_ptr<arrow::Table>& t, const std::string& name,
    std::shared_ptr<arrow::Array> values, int position = -1);

}  // namespace ailake::query
