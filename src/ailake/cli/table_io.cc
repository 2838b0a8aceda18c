#include "ailake/cli/table_io.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/api.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <sstream>

#include "ailake/vec/npy.h"

namespace ailake::cli {
namespace {

std::string Extension(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext;
}

std::string Cell(const arrow::Array& a, int64_t i, size_t width) {
  if (a.IsNull(i)) return "null";
  auto s = a.GetScalar(i);
  if (!s.ok()) return "?";
  std::string text;
  if (a.type_id() == arrow::Type::FIXED_SIZE_LIST || a.type_id() == arrow::Type::LIST) {
    auto list = std::static_pointer_cast<arrow::BaseListScalar>(*s);
    const auto& v = list->value;
    std::ostringstream os;
    os << "[";
    const int64_t show = std::min<int64_t>(3, v->length());
    for (int64_t j = 0; j < show; ++j) {
      auto e = v->GetScalar(j);
      if (j) os << ", ";
      if (e.ok() && (*e)->type->id() == arrow::Type::FLOAT) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.4g",
                      std::static_pointer_cast<arrow::FloatScalar>(*e)->value);
        os << buf;
      } else if (e.ok()) {
        os << (*e)->ToString();
      }
    }
    if (v->length() > show) os << ", …";
    os << "] (" << v->length() << ")";
    text = os.str();
  } else if (a.type_id() == arrow::Type::FLOAT) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g",
                  std::static_pointer_cast<arrow::FloatScalar>(*s)->value);
    text = buf;
  } else {
    text = (*s)->ToString();
  }
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (text.size() > width) text = text.substr(0, width - 1) + "…";
  return text;
}

arrow::Result<nlohmann::json> ScalarToJson(const arrow::Scalar& s) {
  if (!s.is_valid) return nlohmann::json(nullptr);
  switch (s.type->id()) {
    case arrow::Type::BOOL:
      return nlohmann::json(static_cast<const arrow::BooleanScalar&>(s).value);
    case arrow::Type::INT8: return nlohmann::json(static_cast<const arrow::Int8Scalar&>(s).value);
    case arrow::Type::INT16: return nlohmann::json(static_cast<const arrow::Int16Scalar&>(s).value);
    case arrow::Type::INT32: return nlohmann::json(static_cast<const arrow::Int32Scalar&>(s).value);
    case arrow::Type::INT64: return nlohmann::json(static_cast<const arrow::Int64Scalar&>(s).value);
    case arrow::Type::UINT8: return nlohmann::json(static_cast<const arrow::UInt8Scalar&>(s).value);
    case arrow::Type::UINT16:
      return nlohmann::json(static_cast<const arrow::UInt16Scalar&>(s).value);
    case arrow::Type::UINT32:
      return nlohmann::json(static_cast<const arrow::UInt32Scalar&>(s).value);
    case arrow::Type::UINT64:
      return nlohmann::json(static_cast<const arrow::UInt64Scalar&>(s).value);
    case arrow::Type::FLOAT: return nlohmann::json(static_cast<const arrow::FloatScalar&>(s).value);
    case arrow::Type::DOUBLE:
      return nlohmann::json(static_cast<const arrow::DoubleScalar&>(s).value);
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      return nlohmann::json(static_cast<const arrow::BaseBinaryScalar&>(s).view());
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& v = static_cast<const arrow::BaseListScalar&>(s).value;
      nlohmann::json arr = nlohmann::json::array();
      for (int64_t i = 0; i < v->length(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto e, v->GetScalar(i));
        ARROW_ASSIGN_OR_RAISE(auto j, ScalarToJson(*e));
        arr.push_back(std::move(j));
      }
      return arr;
    }
    case arrow::Type::STRUCT: {
      const auto& st = static_cast<const arrow::StructScalar&>(s);
      nlohmann::json obj = nlohmann::json::object();
      for (size_t i = 0; i < st.value.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(obj[s.type->field(static_cast<int>(i))->name()],
                              ScalarToJson(*st.value[i]));
      }
      return obj;
    }
    default: return nlohmann::json(s.ToString());
  }
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> ReadInput(const std::string& path,
                                                       std::string format) {
  if (format.empty()) {
    const std::string ext = Extension(path);
    if (ext == "parquet" || ext == "pq")
      format = "parquet";
    else if (ext == "arrow" || ext == "ipc" || ext == "feather" || ext == "arrows")
      format = "ipc";
    else if (ext == "csv" || ext == "tsv")
      format = "csv";
    else if (ext == "npy")
      format = "npy";
    else
      return arrow::Status::Invalid("cannot tell the format of '", path,
                                    "' from its extension; pass --format parquet|ipc|csv|npy");
  }
  if (format == "npy") {
    ARROW_ASSIGN_OR_RAISE(vec::FloatMatrix m, vec::ReadNpyFile(path));
    arrow::Int64Builder ids;
    for (int64_t i = 0; i < m.rows; ++i) ARROW_RETURN_NOT_OK(ids.Append(i));
    std::shared_ptr<arrow::Array> id_arr;
    ARROW_RETURN_NOT_OK(ids.Finish(&id_arr));
    auto type = arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                       static_cast<int32_t>(m.cols));
    // The count first: the buffer takes the vector (argument order is unspecified).
    const auto count = static_cast<int64_t>(m.values.size());
    auto values =
        std::make_shared<arrow::FloatArray>(count, arrow::Buffer::FromVector(std::move(m.values)));
    auto emb = std::make_shared<arrow::FixedSizeListArray>(type, m.rows, values);
    return arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64(), false),
                                             arrow::field("embedding", type, false)}),
                              {id_arr, emb});
  }
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  if (format == "parquet") {
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(file, arrow::default_memory_pool()));
    std::shared_ptr<arrow::Table> t;
    ARROW_RETURN_NOT_OK(reader->ReadTable(&t));
    return t;
  }
  if (format == "ipc") {
    auto as_file = arrow::ipc::RecordBatchFileReader::Open(file);
    if (as_file.ok()) {
      ARROW_ASSIGN_OR_RAISE(auto t, (*as_file)->ToTable());
      return t;
    }
    ARROW_ASSIGN_OR_RAISE(auto file2, arrow::io::ReadableFile::Open(path));
    ARROW_ASSIGN_OR_RAISE(auto stream, arrow::ipc::RecordBatchStreamReader::Open(file2));
    return stream->ToTable();
  }
  if (format == "csv") {
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          arrow::csv::TableReader::Make(arrow::io::default_io_context(), file,
                                                        arrow::csv::ReadOptions::Defaults(),
                                                        arrow::csv::ParseOptions::Defaults(),
                                                        arrow::csv::ConvertOptions::Defaults()));
    return reader->Read();
  }
  return arrow::Status::Invalid("unknown input format '", format, "' (parquet, ipc, csv, npy)");
}

arrow::Result<std::shared_ptr<arrow::Table>> NormaliseVectorColumn(
    const std::shared_ptr<arrow::Table>& table, const std::string& name, int32_t* dim) {
  const int idx = table->schema()->GetFieldIndex(name);
  if (idx < 0) return arrow::Status::Invalid("input has no column '", name, "'");
  ARROW_ASSIGN_OR_RAISE(auto col, arrow::Concatenate(table->column(idx)->chunks()));
  std::shared_ptr<arrow::Array> values;
  int32_t d = -1;
  const int64_t n = col->length();
  switch (col->type_id()) {
    case arrow::Type::FIXED_SIZE_LIST: {
      auto l = std::static_pointer_cast<arrow::FixedSizeListArray>(col);
      d = l->list_type()->list_size();
      values = l->values()->Slice(l->offset() * d, n * d);
      break;
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST: {
      ARROW_ASSIGN_OR_RAISE(auto flat,
                            col->type_id() == arrow::Type::LIST
                                ? std::static_pointer_cast<arrow::ListArray>(col)->Flatten()
                                : std::static_pointer_cast<arrow::LargeListArray>(col)->Flatten());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t len =
            col->type_id() == arrow::Type::LIST
                ? std::static_pointer_cast<arrow::ListArray>(col)->value_length(i)
                : std::static_pointer_cast<arrow::LargeListArray>(col)->value_length(i);
        if (col->IsNull(i))
          return arrow::Status::Invalid("vector column '", name, "' row ", i, " is null");
        if (d < 0) d = static_cast<int32_t>(len);
        if (len != d) {
          return arrow::Status::Invalid("vector column '", name, "': row ", i, " has ", len,
                                        " values, row 0 has ", d);
        }
      }
      values = flat;
      break;
    }
    default:
      return arrow::Status::TypeError("column '", name, "' has type ", col->type()->ToString(),
                                      "; a vector column must be a list of floats");
  }
  if (col->null_count() > 0) return arrow::Status::Invalid("vector column '", name, "' has nulls");
  if (values->type_id() != arrow::Type::FLOAT) {
    ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(values, arrow::float32()));
    values = cast.make_array();
  }
  if (d <= 0) return arrow::Status::Invalid("vector column '", name, "' is empty");
  auto type = arrow::fixed_size_list(arrow::field("item", arrow::float32(), false), d);
  auto fsl = std::make_shared<arrow::FixedSizeListArray>(type, n, values);
  *dim = d;
  return table->SetColumn(idx, arrow::field(name, type, false),
                          std::make_shared<arrow::ChunkedArray>(fsl));
}

void PrintTable(const arrow::Table& table, std::ostream& out, int64_t max_rows) {
  auto combined = table.CombineChunksToBatch();
  if (!combined.ok()) {
    out << combined.status().ToString() << "\n";
    return;
  }
  const auto& batch = *combined;
  const int ncol = batch->num_columns();
  const int64_t rows = std::min(batch->num_rows(), max_rows);
  std::vector<std::vector<std::string>> cells(static_cast<size_t>(rows));
  std::vector<size_t> width(ncol);
  for (int c = 0; c < ncol; ++c) width[c] = batch->schema()->field(c)->name().size();
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < ncol; ++c) {
      cells[r].push_back(Cell(*batch->column(c), r, 48));
      width[c] = std::max(width[c], cells[r].back().size());
    }
  }
  auto line = [&](const std::vector<std::string>& v) {
    for (int c = 0; c < ncol; ++c) {
      out << (c ? "  " : "") << v[c]
          << std::string(width[c] - std::min(width[c], v[c].size()), ' ');
    }
    out << "\n";
  };
  std::vector<std::string> head;
  head.reserve(ncol);
  for (int c = 0; c < ncol; ++c) head.push_back(batch->schema()->field(c)->name());
  line(head);
  std::vector<std::string> rule;
  rule.reserve(ncol);
  for (int c = 0; c < ncol; ++c) rule.emplace_back(width[c], '-');
  line(rule);
  for (const auto& r : cells) line(r);
  if (batch->num_rows() > rows) out << "… " << batch->num_rows() - rows << " more rows\n";
  out << "(" << batch->num_rows() << " rows)\n";
}

arrow::Result<nlohmann::json> TableToJson(const arrow::Table& table) {
  ARROW_ASSIGN_OR_RAISE(auto batch, table.CombineChunksToBatch());
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t r = 0; r < batch->num_rows(); ++r) {
    nlohmann::json row = nlohmann::json::object();
    for (int c = 0; c < batch->num_columns(); ++c) {
      ARROW_ASSIGN_OR_RAISE(auto s, batch->column(c)->GetScalar(r));
      ARROW_ASSIGN_OR_RAISE(row[batch->schema()->field(c)->name()], ScalarToJson(*s));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ailake::cli
