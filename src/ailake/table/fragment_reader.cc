#include "ailake/table/fragment_reader.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <unordered_map>

#include "ailake/table/deletion_file.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"

namespace ailake::table {

arrow::Result<const Fragment*> FindFragment(const Manifest& m, uint64_t id) {
  for (const auto& f : m.fragments()) {
    if (f.id() == id) return &f;
  }
  return arrow::Status::KeyError("version ", m.version(), " has no fragment ", id);
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadFragmentColumns(
    const Table& table, const Fragment& fragment, const std::vector<std::string>& columns,
    const std::vector<int64_t>* physical_rows) {
  const Manifest& m = table::TableAccess::manifest(table);
  auto schema = table.schema();
  std::vector<std::string> names = columns;
  if (names.empty()) {
    for (const auto& f : schema->fields()) names.push_back(f->name());
  }
  const int64_t out_rows = physical_rows ? static_cast<int64_t>(physical_rows->size())
                                         : static_cast<int64_t>(fragment.physical_rows());

  // Which file column holds each requested field.
  struct Source {
    int file = -1;  // index into fragment.files()
    std::string file_column;
  };
  std::vector<Source> sources(names.size());
  std::vector<std::shared_ptr<arrow::Field>> out_fields(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    auto field = schema->GetFieldByName(names[i]);
    if (!field) {
      return arrow::Status::KeyError("table '", table.uri(), "' has no column '", names[i], "'");
    }
    out_fields[i] = field;
    const int32_t id = TopLevelFieldId(m, names[i]);
    for (int fi = 0; fi < fragment.files_size() && sources[i].file < 0; ++fi) {
      const DataFile& df = fragment.files(fi);
      for (int k = 0; k < df.fields_size(); ++k) {
        if (df.fields(k) != id || df.column_indices(k) < -1) continue;
        ARROW_ASSIGN_OR_RAISE(auto reader, table.OpenDataFile(df.path(), KnownSize(df)));
        auto name = StoredColumnName(df, k, *reader);
        if (!name.ok()) {
          return arrow::Status::Invalid("data file '", df.path(), "' (manifest field ", id,
                                        "): ", name.status().message());
        }
        if (!name->has_value()) continue;
        sources[i].file = fi;
        sources[i].file_column = **name;
        break;
      }
    }
  }

  // One read per data file, with all the columns it contributes.
  std::unordered_map<int, std::vector<std::string>> per_file;
  for (const auto& s : sources) {
    if (s.file >= 0) per_file[s.file].push_back(s.file_column);
  }
  std::unordered_map<int, std::shared_ptr<arrow::Table>> read;
  for (auto& [fi, cols] : per_file) {
    const DataFile& df = fragment.files(fi);
    ARROW_ASSIGN_OR_RAISE(auto reader, table.OpenDataFile(df.path(), KnownSize(df)));
    if (reader->num_rows() != static_cast<int64_t>(fragment.physical_rows())) {
      return arrow::Status::Invalid("data file '", df.path(), "' has ", reader->num_rows(),
                                    " rows, fragment ", fragment.id(), " says ",
                                    fragment.physical_rows());
    }
    std::shared_ptr<arrow::Table> t;
    if (physical_rows) {
      ARROW_ASSIGN_OR_RAISE(t, reader->Take(*physical_rows, cols));
    } else {
      ReadRequest req;
      req.columns = cols;
      ARROW_ASSIGN_OR_RAISE(t, reader->Read(req));
    }
    read[fi] = t;
  }

  arrow::ChunkedArrayVector arrays;
  for (size_t i = 0; i < names.size(); ++i) {
    std::shared_ptr<arrow::ChunkedArray> col;
    if (sources[i].file < 0) {
      // Not stored in this fragment (e.g. a column added later as nullable).
      if (!out_fields[i]->nullable()) {
        return arrow::Status::Invalid("fragment ", fragment.id(), " has no data for column '",
                                      names[i], "'");
      }
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(out_fields[i]->type(), out_rows));
      col = std::make_shared<arrow::ChunkedArray>(nulls);
    } else {
      col = read[sources[i].file]->GetColumnByName(sources[i].file_column);
      if (!col) {
        return arrow::Status::Invalid("data file read did not return column '",
                                      sources[i].file_column, "'");
      }
      bool is_vector = false;
      for (const auto& p : table.vector_columns()) {
        if (p.vector_column == names[i]) {
          ARROW_ASSIGN_OR_RAISE(col, StoredToVectorList(col, p));
          is_vector = true;
        }
      }
      // A column index pointing at another column of the file must be an
      // error, never its bits read as this column's type.
      if (!is_vector && !col->type()->Equals(*out_fields[i]->type())) {
        return arrow::Status::Invalid("data file '", fragment.files(sources[i].file).path(),
                                      "': column '", sources[i].file_column, "' is ",
                                      col->type()->ToString(), ", but the table's column '",
                                      names[i], "' is ", out_fields[i]->type()->ToString(),
                                      " (the manifest's column index names the wrong column)");
      }
    }
    arrays.push_back(std::move(col));
  }
  return arrow::Table::Make(arrow::schema(out_fields), std::move(arrays), out_rows);
}

arrow::Result<std::vector<uint32_t>> MatchingRows(const Table& t, const Fragment& frag,
                                                  const arrow::compute::Expression& predicate) {
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  ARROW_ASSIGN_OR_RAISE(auto cols, FilterColumns(predicate));
  std::shared_ptr<arrow::Table> data;
  if (cols.empty()) {
    ARROW_ASSIGN_OR_RAISE(
        data, table::ReadFragmentColumns(t, frag, {t.schema()->field(0)->name()}, nullptr));
  } else {
    ARROW_ASSIGN_OR_RAISE(data, table::ReadFragmentColumns(t, frag, cols, nullptr));
  }
  ARROW_ASSIGN_OR_RAISE(auto batch, data->CombineChunksToBatch());
  ARROW_ASSIGN_OR_RAISE(auto result, EvaluateFilter(predicate, *batch));
  std::vector<uint32_t> rows;
  if (result.is_scalar()) {
    auto s = std::static_pointer_cast<arrow::BooleanScalar>(result.scalar());
    if (s->is_valid && s->value) {
      for (uint32_t r = 0; r < frag.physical_rows(); ++r) rows.push_back(r);
    }
  } else {
    auto arr = std::static_pointer_cast<arrow::BooleanArray>(result.make_array());
    for (int64_t r = 0; r < arr->length(); ++r) {
      if (arr->IsValid(r) && arr->Value(r)) rows.push_back(static_cast<uint32_t>(r));
    }
  }
  return rows;
}

}  // namespace ailake::table

namespace ailake {

arrow::Result<std::shared_ptr<arrow::Table>> Table::ReadFragment(
    uint64_t fragment_id, const std::vector<std::string>& columns, bool with_row_id) const {
  ARROW_ASSIGN_OR_RAISE(const table::Fragment* frag,
                        table::FindFragment((*manifest_), fragment_id));
  ARROW_ASSIGN_OR_RAISE(auto deleted, ctx_->ReadDeletions(*frag));
  std::vector<int64_t> live;
  const bool filter = !deleted->empty();
  if (filter) {
    live.reserve(frag->physical_rows() - deleted->size());
    size_t d = 0;
    for (uint32_t r = 0; r < frag->physical_rows(); ++r) {
      if (d < deleted->size() && (*deleted)[d] == r) {
        ++d;
        continue;
      }
      live.push_back(r);
    }
  }
  ARROW_ASSIGN_OR_RAISE(
      auto t, table::ReadFragmentColumns(*this, *frag, columns, filter ? &live : nullptr));
  if (with_row_id) {
    arrow::UInt64Builder ids;
    ARROW_RETURN_NOT_OK(ids.Reserve(t->num_rows()));
    for (int64_t i = 0; i < t->num_rows(); ++i) {
      const uint32_t off = filter ? static_cast<uint32_t>(live[i]) : static_cast<uint32_t>(i);
      ids.UnsafeAppend(MakeRowId(static_cast<uint32_t>(fragment_id), off));
    }
    std::shared_ptr<arrow::Array> arr;
    ARROW_RETURN_NOT_OK(ids.Finish(&arr));
    ARROW_ASSIGN_OR_RAISE(
        t, t->AddColumn(t->num_columns(), arrow::field("_rowid", arrow::uint64(), false),
                        std::make_shared<arrow::ChunkedArray>(arr)));
  }
  return t;
}

arrow::Result<std::shared_ptr<arrow::Table>> Table::Take(std::span<const RowId> row_ids,
                                                         const std::vector<std::string>& columns,
                                                         bool with_row_id) const {
  // Group by fragment, remembering each id's position in the output.
  std::map<uint32_t, std::vector<std::pair<int64_t, int64_t>>> groups;  // frag -> (offset, out pos)
  for (size_t i = 0; i < row_ids.size(); ++i) {
    groups[RowIdFragment(row_ids[i])].emplace_back(RowIdOffset(row_ids[i]),
                                                   static_cast<int64_t>(i));
  }
  std::vector<std::shared_ptr<arrow::Table>> parts;
  std::vector<int64_t> positions;  // output position of each row of the concatenation
  for (auto& [frag_id, rows] : groups) {
    ARROW_ASSIGN_OR_RAISE(const table::Fragment* frag, table::FindFragment((*manifest_), frag_id));
    ARROW_ASSIGN_OR_RAISE(auto deleted, ctx_->ReadDeletions(*frag));
    std::vector<int64_t> offsets;
    for (const auto& [off, pos] : rows) {
      if (off >= static_cast<int64_t>(frag->physical_rows())) {
        return arrow::Status::IndexError("row id ", MakeRowId(frag_id, static_cast<uint32_t>(off)),
                                         ": fragment ", frag_id, " has ", frag->physical_rows(),
                                         " rows");
      }
      if (std::binary_search(deleted->begin(), deleted->end(), static_cast<uint32_t>(off))) {
        return arrow::Status::KeyError("row id ", MakeRowId(frag_id, static_cast<uint32_t>(off)),
                                       " is deleted at version ", version());
      }
      offsets.push_back(off);
      positions.push_back(pos);
    }
    ARROW_ASSIGN_OR_RAISE(auto part, table::ReadFragmentColumns(*this, *frag, columns, &offsets));
    if (with_row_id) {
      arrow::UInt64Builder ids;
      for (int64_t off : offsets) {
        ARROW_RETURN_NOT_OK(ids.Append(MakeRowId(frag_id, static_cast<uint32_t>(off))));
      }
      std::shared_ptr<arrow::Array> arr;
      ARROW_RETURN_NOT_OK(ids.Finish(&arr));
      ARROW_ASSIGN_OR_RAISE(
          part, part->AddColumn(part->num_columns(), arrow::field("_rowid", arrow::uint64(), false),
                                std::make_shared<arrow::ChunkedArray>(arr)));
    }
    parts.push_back(std::move(part));
  }
  if (parts.empty()) {
    // Schema of an empty take.
    std::vector<int64_t> none;
    if (manifest_->fragments_size() == 0) {
      auto schema = schema_;
      if (!columns.empty()) {
        arrow::FieldVector fs;
        for (const auto& c : columns) {
          auto f = schema_->GetFieldByName(c);
          if (!f) return arrow::Status::KeyError("no column '", c, "'");
          fs.push_back(f);
        }
        schema = arrow::schema(fs);
      }
      if (with_row_id) {
        ARROW_ASSIGN_OR_RAISE(
            schema,
            schema->AddField(schema->num_fields(), arrow::field("_rowid", arrow::uint64(), false)));
      }
      return arrow::Table::MakeEmpty(schema);
    }
    ARROW_ASSIGN_OR_RAISE(
        auto empty, table::ReadFragmentColumns(*this, manifest_->fragments(0), columns, &none));
    if (with_row_id) {
      ARROW_ASSIGN_OR_RAISE(auto ids, arrow::MakeArrayOfNull(arrow::uint64(), 0));
      ARROW_ASSIGN_OR_RAISE(empty, empty->AddColumn(empty->num_columns(),
                                                    arrow::field("_rowid", arrow::uint64(), false),
                                                    std::make_shared<arrow::ChunkedArray>(ids)));
    }
    return empty;
  }
  ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(parts));
  // Permutation back to the order asked for.
  std::vector<int64_t> inverse(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) inverse[positions[i]] = static_cast<int64_t>(i);
  arrow::Int64Builder idx;
  ARROW_RETURN_NOT_OK(idx.AppendValues(inverse));
  std::shared_ptr<arrow::Array> idx_arr;
  ARROW_RETURN_NOT_OK(idx.Finish(&idx_arr));
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(all, idx_arr));
  return taken.table();
}

}  // namespace ailake
