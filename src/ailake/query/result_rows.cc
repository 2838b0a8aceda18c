#include "ailake/query/result_rows.h"

#include <algorithm>

#include "ailake/table/deletion_file.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"

namespace ailake::query {

arrow::Result<std::vector<const table::Fragment*>> SearchedFragments(
    const Table& table, const std::vector<uint64_t>& ids) {
  const table::Manifest& m = table::TableAccess::manifest(table);
  for (const auto& id : ids) {
    bool found = false;
    for (const auto& frag : m.fragments()) found |= frag.id() == id;
    if (!found) {
      return arrow::Status::KeyError("fragment ", id, " is not in version ", m.version(),
                                     " of table '", table.uri(), "'");
    }
  }
  std::vector<const table::Fragment*> out;
  for (const auto& frag : m.fragments()) {
    if (ids.empty() || std::find(ids.begin(), ids.end(), frag.id()) != ids.end()) {
      out.push_back(&frag);
    }
  }
  return out;
}

arrow::Result<std::optional<RowBitmap>> AllowedRows(
    const Table& table, const table::Fragment& fragment,
    const std::optional<arrow::compute::Expression>& filter) {
  const auto rows = static_cast<uint32_t>(fragment.physical_rows());
  std::optional<RowBitmap> allowed;
  ARROW_ASSIGN_OR_RAISE(auto deleted, table::TableAccess::context(table)->ReadDeletions(fragment));
  if (!deleted->empty()) allowed = table::LiveRowBitmap(*deleted, rows);
  if (filter) {
    ARROW_ASSIGN_OR_RAISE(auto match, table::MatchingRows(table, fragment, *filter));
    RowBitmap matched(rows);
    for (uint32_t r : match) matched.Set(r);
    if (allowed) matched.And(allowed->filter());
    allowed = std::move(matched);
  }
  return allowed;
}

arrow::Result<std::shared_ptr<arrow::Table>> TakeResultRows(const Table& table,
                                                            const std::vector<std::string>& columns,
                                                            const std::vector<RowId>& ids) {
  std::vector<std::string> chosen = columns;
  if (chosen.empty()) {
    for (const auto& f : table.schema()->fields()) {
      bool is_vector = false;
      for (const auto& p : table.vector_columns()) is_vector |= p.vector_column == f->name();
      if (!is_vector) chosen.push_back(f->name());
    }
  }
  if (!chosen.empty()) return table.Take(ids, chosen);
  ARROW_ASSIGN_OR_RAISE(auto out, table.Take(ids, {table.schema()->field(0)->name()}));
  return out->RemoveColumn(0);
}

arrow::Result<std::shared_ptr<arrow::Table>> AppendResultColumn(
    const std::shared_ptr<arrow::Table>& t, const std::string& name,
    std::shared_ptr<arrow::Array> values, int position) {
  const bool nullable = values->null_count() > 0;
  auto field = arrow::field(name, values->type(), nullable);
  return t->AddColumn(position < 0 ? t->num_columns() : position, std::move(field),
                      std::make_shared<arrow::ChunkedArray>(std::move(values)));
}

}  // namespace ailake::query
