#include "ailake/cli/common.h"

#include <unistd.h>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>

#include <iostream>
#include <sstream>

#include "ailake/cli/table_io.h"

namespace ailake::cli {

Globals g;

namespace {

// Marks a Status as a usage error or an already reported failure.
class CliDetail : public arrow::StatusDetail {
 public:
  enum Kind { kUsage, kReported };
  explicit CliDetail(Kind kind) : kind_(kind) {}
  const char* type_id() const override { return "ailake::cli"; }
  std::string ToString() const override { return kind_ == kUsage ? "usage" : "reported"; }
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

const CliDetail* DetailOf(const arrow::Status& st) {
  const auto& d = st.detail();
  if (!d || std::string(d->type_id()) != "ailake::cli") return nullptr;
  return static_cast<const CliDetail*>(d.get());
}

std::string Extension(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return "";
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// The vectors of a FixedSizeList<float32> column as a matrix.
FloatMatrix MatrixOf(const arrow::FixedSizeListArray& col) {
  FloatMatrix m;
  m.rows = col.length();
  m.cols = col.list_type()->list_size();
  const auto& values = static_cast<const arrow::FloatArray&>(*col.values());
  const float* base = values.raw_values() + col.offset() * m.cols;
  m.values.assign(base, base + m.rows * m.cols);
  return m;
}

arrow::Result<FloatMatrix> ReadCsvVectors(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  auto read = arrow::csv::ReadOptions::Defaults();
  read.autogenerate_column_names = true;
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        arrow::csv::TableReader::Make(arrow::io::default_io_context(), file, read,
                                                      arrow::csv::ParseOptions::Defaults(),
                                                      arrow::csv::ConvertOptions::Defaults()));
  ARROW_ASSIGN_OR_RAISE(auto t, reader->Read());
  FloatMatrix m;
  m.rows = t->num_rows();
  m.cols = t->num_columns();
  m.values.resize(static_cast<size_t>(m.rows * m.cols));
  for (int c = 0; c < t->num_columns(); ++c) {
    const auto& type = *t->column(c)->type();
    if (!arrow::is_integer(type.id()) && !arrow::is_floating(type.id())) {
      return arrow::Status::Invalid(path, ": column ", c + 1, " holds ", type.ToString(),
                                    ", not numbers (a vectors CSV has one vector per line, "
                                    "numbers only, no header)");
    }
    ARROW_ASSIGN_OR_RAISE(auto cast, arrow::compute::Cast(t->column(c), arrow::float32()));
    int64_t row = 0;
    for (const auto& chunk : cast.chunked_array()->chunks()) {
      const auto& a = static_cast<const arrow::FloatArray&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i, ++row) {
        if (a.IsNull(i)) {
          return arrow::Status::Invalid(path, ": line ", row + 1, " column ", c + 1, " is empty");
        }
        m.values[static_cast<size_t>(row * m.cols + c)] = a.Value(i);
      }
    }
  }
  return m;
}

}  // namespace

arrow::Status UsageError(const std::string& option, const std::string& message) {
  return arrow::Status(arrow::StatusCode::Invalid, option + ": " + message,
                       std::make_shared<CliDetail>(CliDetail::kUsage));
}

arrow::Status ReportedFailure() {
  return arrow::Status(arrow::StatusCode::Invalid, "failed",
                       std::make_shared<CliDetail>(CliDetail::kReported));
}

int ExitCode(const arrow::Status& st) {
  if (st.ok()) return 0;
  const CliDetail* d = DetailOf(st);
  if (d && d->kind() == CliDetail::kReported) return 1;
  if (d && d->kind() == CliDetail::kUsage) {
    std::cerr << "ailake: usage error: " << st.message() << "\n";
    return 2;
  }
  const std::string what = st.ToString();
  if (g.json) std::cout << Dump(json({{"error", what}})) << "\n";
  std::cerr << "ailake: error: " << what << "\n";
  return 1;
}

void NoteDefaultMetric(const std::string& what) {
  if (g.json || g.quiet) return;
  std::cerr << "ailake: note: " << what
            << ": no metric given, so cosine, ailake's one default (before this release Iceberg "
               "vector columns defaulted to euclidean); name one to choose\n";
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Progress(const std::string& what, int64_t done, int64_t total) {
  if (g.json || g.quiet || !::isatty(STDERR_FILENO) || total <= 0) return;
  const int width = 30;
  const int fill = static_cast<int>(width * done / total);
  std::cerr << "\r" << what << " [" << std::string(fill, '#') << std::string(width - fill, ' ')
            << "] " << done << "/" << total << (done == total ? "\n" : "") << std::flush;
}

std::string Dump(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

void Emit(const json& j, const std::string& human) {
  if (g.json) {
    std::cout << Dump(j) << "\n";
  } else if (!human.empty()) {
    std::cout << human;
  }
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void PolicyArgs::Add(CLI::App* app) {
  app->add_option("--vector-column", vector_column, "vector column name")->capture_default_str();
  app->add_option("--metric", metric, "cosine | euclidean | dot | normalized_cosine")
      ->capture_default_str();
  app->add_option("--precision", precision, "f32 | f16 | int8")->capture_default_str();
  app->add_option("--index", index, "hnsw | ivf_pq | flat | auto | none")->capture_default_str();
  app->add_option("--hnsw-m", m, "HNSW M")->capture_default_str();
  app->add_option("--ef-construction", ef_construction, "HNSW ef_construction")
      ->capture_default_str();
  app->add_option("--traversal", traversal,
                  "HNSW: walk the graph on the stored vectors (exact) or on codes kept beside "
                  "it, re-ranked exactly: 8-bit (sq8), 4-bit with a scale per row (sq4), or "
                  "auto: chosen per index by how well each code ranks a sample's neighbours")
      ->capture_default_str();
  app->add_option("--nlist", nlist, "IVF lists")->capture_default_str();
  app->add_option("--pq-m", pq_m, "PQ sub-spaces")->capture_default_str();
  app->add_option("--pq-bits", pq_bits,
                  "bits per PQ code: 8, or 4 (fast-scan: 16 codewords, 32 rows per SIMD scan)")
      ->capture_default_str();
  app->add_flag("--normalize", normalize, "store unit-length vectors");
  app->add_option("--storage-format", storage_format,
                  "parquet | lance: the container of a new table's data files (default: "
                  "$AILAKE_STORAGE_FORMAT, else parquet)");
}

arrow::Result<std::optional<FileFormat>> PolicyArgs::StorageFormat() const {
  if (storage_format.empty()) return std::nullopt;
  auto f = ParseFileFormat(storage_format);
  if (!f.ok()) return UsageError("--storage-format", f.status().message());
  return *f;
}

arrow::Result<VectorStoragePolicy> PolicyArgs::Make(uint32_t dim) const {
  VectorStoragePolicy p;
  p.vector_column = vector_column;
  p.dim = dim;
  ARROW_ASSIGN_OR_RAISE(p.metric, ParseMetric(metric));
  ARROW_ASSIGN_OR_RAISE(p.precision, ParsePrecision(precision));
  ARROW_ASSIGN_OR_RAISE(p.index_type, ParseIndexType(index));
  if (p.precision == Precision::kInt8) p.int8.scaling = Int8Scaling::kPerVector;
  p.pre_normalize = normalize || p.metric == DistanceMetric::kNormalizedCosine;
  p.hnsw.m = m;
  p.hnsw.ef_construction = ef_construction;
  ARROW_ASSIGN_OR_RAISE(p.hnsw.traversal, ParseHnswTraversal(traversal));
  p.ivf_pq.nlist = nlist;
  p.ivf_pq.m = pq_m;
  p.ivf_pq.nbits = pq_bits;
  ARROW_RETURN_NOT_OK(p.Validate());
  return p;
}

arrow::Result<FloatMatrix> ReadVectors(const std::string& path, const std::string& column) {
  const std::string ext = Extension(path);
  if (ext == "npy") return vec::ReadNpyFile(path);
  if (ext == "csv" || ext == "tsv") return ReadCsvVectors(path);
  ARROW_ASSIGN_OR_RAISE(auto t, ReadInput(path));
  std::string name = column;
  if (name.empty() || t->schema()->GetFieldIndex(name) < 0) {
    std::vector<std::string> lists;
    for (const auto& f : t->schema()->fields()) {
      const auto id = f->type()->id();
      if (id == arrow::Type::LIST || id == arrow::Type::LARGE_LIST ||
          id == arrow::Type::FIXED_SIZE_LIST) {
        lists.push_back(f->name());
      }
    }
    if (lists.size() != 1) {
      return arrow::Status::Invalid(path, ": cannot tell which column holds the vectors (",
                                    lists.size(), " list columns",
                                    column.empty() ? "" : ", none named '" + column + "'", ")");
    }
    name = lists[0];
  }
  int32_t dim = 0;
  ARROW_ASSIGN_OR_RAISE(t, NormaliseVectorColumn(t, name, &dim));
  ARROW_ASSIGN_OR_RAISE(auto col, arrow::Concatenate(t->GetColumnByName(name)->chunks()));
  return MatrixOf(static_cast<const arrow::FixedSizeListArray&>(*col));
}

arrow::Result<std::shared_ptr<arrow::Table>> LoadRows(const std::string& input,
                                                      const std::string& format,
                                                      const std::string& vectors,
                                                      const std::string& column, int32_t* dim) {
  ARROW_ASSIGN_OR_RAISE(auto t, ReadInput(input, format));
  *dim = 0;
  if (!vectors.empty()) {
    ARROW_ASSIGN_OR_RAISE(FloatMatrix m, ReadVectors(vectors));
    if (m.rows != t->num_rows()) {
      return arrow::Status::Invalid(vectors, " has ", m.rows, " vectors, ", input, " has ",
                                    t->num_rows(), " rows");
    }
    auto type = arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                       static_cast<int32_t>(m.cols));
    // The count first: the buffer takes the vector (argument order is unspecified).
    const auto count = static_cast<int64_t>(m.values.size());
    auto values =
        std::make_shared<arrow::FloatArray>(count, arrow::Buffer::FromVector(std::move(m.values)));
    auto arr = std::make_shared<arrow::FixedSizeListArray>(type, m.rows, values);
    if (t->schema()->GetFieldIndex(column) >= 0) {
      return arrow::Status::Invalid(input, " already has a column '", column, "'");
    }
    ARROW_ASSIGN_OR_RAISE(t, t->AddColumn(t->num_columns(), arrow::field(column, type, false),
                                          std::make_shared<arrow::ChunkedArray>(arr)));
  }
  if (t->schema()->GetFieldIndex(column) < 0) return t;  // rows without vectors
  return NormaliseVectorColumn(t, column, dim);
}

arrow::Result<std::shared_ptr<Table>> OpenTable(const std::string& uri, const std::string& at) {
  std::optional<uint64_t> v;
  std::string tag;
  if (!at.empty()) {
    if (at.find_first_not_of("0123456789") == std::string::npos && at.size() <= 19) {
      v = std::stoull(at);
    } else {
      tag = at;
    }
  }
  auto t = Table::Open(uri, tag.empty() ? v : std::nullopt, g.storage);
  if (t.ok()) {
    if (!tag.empty()) return (*t)->CheckoutTag(tag);
    return t;
  }
  if (t.status().message().find("no ailake table") == std::string::npos) return t;
  if (!tag.empty()) return t;
  auto ice = Table::OpenIceberg(uri, g.iceberg, v, g.storage);
  if (ice.ok() || ice.status().message().find("no Iceberg table") == std::string::npos) {
    return ice;
  }
  return t;
}

arrow::Result<std::vector<float>> ReadQuery(const std::string& file, const std::string& text) {
  if (file.empty() == text.empty()) {
    return UsageError("search", "needs exactly one of --query and --query-json");
  }
  if (!file.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto m, ReadVectors(file));
    if (m.rows != 1) {
      return arrow::Status::Invalid(file, ": a query file must hold one vector, it holds ", m.rows);
    }
    return m.values;
  }
  try {
    auto j = json::parse(text);
    if (j.is_array()) {
      std::vector<float> q;
      for (const auto& v : j) q.push_back(v.get<float>());
      return q;
    }
  } catch (const std::exception&) {
  }
  return arrow::Status::Invalid("--query-json must be a JSON array of numbers, got: ", text);
}

arrow::Status PrintResult(const std::shared_ptr<arrow::Table>& t, json extra,
                          const std::string& footer) {
  if (g.json) {
    ARROW_ASSIGN_OR_RAISE(extra["rows"], TableToJson(*t));
    std::cout << Dump(extra) << "\n";
  } else {
    PrintTable(*t, std::cout);
    if (!footer.empty()) std::cout << footer;
  }
  return arrow::Status::OK();
}

}  // namespace ailake::cli
