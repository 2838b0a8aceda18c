// Tables: the writer and a version of a table (layers table/ and query/).
#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/compute/cast.h>
#include <arrow/io/file.h>
#include <nanobind/ndarray.h>
#include <limits>

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "ailake/changes.h"
#include "ailake/lance.h"
#include "ailake/query.h"
#include "ailake/table.h"
#include "bindings.h"
#include "convert.h"

namespace ailake::py {

namespace {

using FloatVector = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using FloatMatrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using RowIds = nb::ndarray<const uint64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

TableWriterOptions WriterOptions(const nb::dict& d) {
  TableWriterOptions o;
  // A value of the wrong type or out of range (background_threads=-1) is a
  // ValueError naming the option, not a bad_cast.
  auto get = [&](const char* key, auto* out) {
    if (!d.contains(key) || d[key].is_none()) return;
    using T = std::remove_pointer_t<decltype(out)>;
    bool ok = false;
    nb::object value = d[key];
    try {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        // Through int64 first: a negative value for an unsigned option is a
        // range error, not a failed conversion.
        const auto v = nb::cast<int64_t>(value);
        ok = v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
        if (ok) *out = static_cast<T>(v);
      } else {
        *out = nb::cast<T>(value);
        ok = true;
      }
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok) {
      Throw(arrow::Status::Invalid(
          "writer option ", key, " = ", std::string(nb::str(value).c_str()),
          " is not a valid value (expected ",
          std::is_unsigned_v<T> ? "a non-negative integer" : "its type", ")"));
    }
  };
  get("storage_options", &o.storage);
  get("background_threads", &o.background_threads);
  get("min_rows_per_file", &o.min_rows_per_file);
  get("auto_optimize", &o.auto_optimize);
  get("merge_factor", &o.optimize.merge_factor);
  get("max_rows_per_fragment", &o.optimize.max_rows_per_fragment);
  get("max_row_group_rows", &o.file.max_row_group_rows);
  get("compression", &o.file.compression);
  std::string format;
  get("storage_format", &format);
  if (!format.empty()) o.storage_format = Value(ParseFileFormat(format));
  uint32_t threads = 0;
  get("num_threads", &threads);
  o.index_build.num_threads = threads;
  o.file.index_build.num_threads = threads;
  return o;
}

// The type a column gets in a table: view types (polars' strings) become
// their plain forms, which every Parquet engine reads.
std::shared_ptr<arrow::DataType> StorageType(const std::shared_ptr<arrow::DataType>& t) {
  if (t->id() == arrow::Type::STRING_VIEW) return arrow::utf8();
  if (t->id() == arrow::Type::BINARY_VIEW) return arrow::binary();
  return t;
}

// `batch` with its columns in the order and types of `target` (the table's
// schema), cast where the type differs (string_view to string, another
// child field name of a FixedSizeList, ...). Without a target (first write),
// only view types change. Batches whose column names differ from the
// table's are left for the writer to reject with its own message.
std::shared_ptr<arrow::RecordBatch> Conform(std::shared_ptr<arrow::RecordBatch> batch,
                                            const std::shared_ptr<arrow::Schema>& target) {
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  const auto& schema = *batch->schema();
  if (target) {
    if (target->num_fields() != schema.num_fields()) return batch;
    for (const auto& f : target->fields()) {
      int i = schema.GetFieldIndex(f->name());
      if (i < 0) return batch;
      fields.push_back(f);
      columns.push_back(batch->column(i));
    }
  } else {
    for (int i = 0; i < schema.num_fields(); ++i) {
      fields.push_back(schema.field(i)->WithType(StorageType(schema.field(i)->type())));
      columns.push_back(batch->column(i));
    }
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!columns[i]->type()->Equals(*fields[i]->type())) {
      columns[i] = Value(arrow::compute::Cast(*columns[i], fields[i]->type()));
    }
  }
  return arrow::RecordBatch::Make(arrow::schema(fields, schema.metadata()), batch->num_rows(),
                                  columns);
}

class PyTableWriter {
 public:
  PyTableWriter(std::string path, const std::vector<nb::dict>& policies, const nb::dict& options)
      : path_(std::move(path)), options_(WriterOptions(options)) {
    for (const auto& d : policies) policies_.push_back(PolicyFromDict(d));
  }

  // Mode: "inline" or "deferred"; the index type of the primary column picks
  // the C++ entry point (IVF-PQ with the table's shared codebook, auto rule).
  uint64_t Write(nb::handle data, bool deferred) {
    auto batch = Prepare(data);
    const IndexType type = primary_type();
    WriteOptions o;
    o.deferred = deferred;
    if (type == IndexType::kIvfPq || (type == IndexType::kAuto && !deferred)) o.index = type;
    return Value(NoGil([&] { return writer_->WriteBatch(*batch, o); }));
  }

  uint64_t WriteMulti(nb::handle data, const std::vector<nb::dict>& columns) {
    auto batch = Prepare(data);
    std::vector<VectorColumnBatch> cols;
    cols.reserve(columns.size());
    for (const auto& d : columns) cols.push_back({PolicyFromDict(d), {}});
    if (cols.empty()) {
      for (const auto& p : writer_->table()->vector_columns()) cols.push_back({p, {}});
    }
    return Value(NoGil([&] { return writer_->WriteBatchMulti(*batch, cols); }));
  }

  // Creates the table (if missing) with `data`'s schema; writes nothing.
  void EnsureTable(nb::handle data) { (void)Prepare(data); }

  uint64_t Commit() {
    if (!writer_) Open();
    return Value(NoGil([&] { return writer_->Commit(); }));
  }

  void WaitForIndexing() {
    if (!writer_) return;
    Check(NoGil([&] { return writer_->WaitForIndexing(); }));
  }

  std::shared_ptr<Table> table() {
    if (!writer_) Open();
    return writer_->table();
  }

  void Close() {
    if (writer_) {
      NoGil([&] {
        writer_.reset();
        return 0;
      });
    }
  }

 private:
  std::shared_ptr<arrow::RecordBatch> Prepare(nb::handle data) {
    auto batch = ImportBatch(data);
    if (!writer_) Ensure(Conform(batch, nullptr)->schema());
    return Conform(std::move(batch), writer_->table()->schema());
  }

  IndexType primary_type() const {
    if (writer_ && !writer_->table()->vector_columns().empty()) {
      return writer_->table()->vector_columns()[0].index_type;
    }
    return policies_.empty() ? IndexType::kHnsw : policies_[0].index_type;
  }
  void Open() {
    writer_ = Value(NoGil([&] { return TableWriter::Open(path_, options_); }));
  }
  void Ensure(const std::shared_ptr<arrow::Schema>& schema) {
    if (writer_) return;
    if (policies_.empty()) {
      // Appends to the table there; where there is none, creates one
      // without vector columns (a plain table: scans, takes, filters).
      auto opened = NoGil([&] { return TableWriter::Open(path_, options_); });
      if (opened.ok()) {
        writer_ = std::move(*opened);
        return;
      }
      auto created = NoGil([&] { return TableWriter::Create(path_, schema, {}, options_); });
      if (!created.ok()) Check(opened.status());
      writer_ = std::move(*created);
      return;
    }
    writer_ = Value(NoGil([&] { return TableWriter::Create(path_, schema, policies_, options_); }));
  }

  std::string path_;
  TableWriterOptions options_;
  std::vector<VectorStoragePolicy> policies_;
  std::unique_ptr<TableWriter> writer_;
};

// One version of a table. Operations that commit move it to the new latest version.
class PyTable {
 public:
  explicit PyTable(std::shared_ptr<Table> t) : t_(std::move(t)) {}

  static PyTable Open(const std::string& path, std::optional<uint64_t> version,
                      const StorageOptions& storage) {
    return PyTable(Value(NoGil([&] { return Table::Open(path, version, storage); })));
  }

  // vectors: (column, metric) pairs; dims come from the columns' widths.
  static IcebergOpenOptions IcebergOptions(
      const std::vector<std::pair<std::string, std::string>>& vectors,
      const std::string& metadata_file) {
    IcebergOpenOptions o;
    for (const auto& [column, metric] : vectors) {
      VectorStoragePolicy p;
      p.vector_column = column;
      p.metric = Value(ParseMetric(metric));
      p.dim = 0;
      o.vector_columns.push_back(p);
    }
    o.metadata_file = metadata_file;
    return o;
  }

  static PyTable OpenIceberg(const std::string& path,
                             const std::vector<std::pair<std::string, std::string>>& vectors,
                             const std::string& metadata_file, std::optional<uint64_t> version,
                             const StorageOptions& storage) {
    const IcebergOpenOptions o = IcebergOptions(vectors, metadata_file);
    return PyTable(Value(NoGil([&] { return Table::OpenIceberg(path, o, version, storage); })));
  }

  static PyTable ImportIceberg(const std::string& source, const std::string& dest,
                               const std::vector<std::pair<std::string, std::string>>& vectors,
                               const std::string& index, const StorageOptions& source_storage,
                               const StorageOptions& storage) {
    IcebergImportOptions o;
    o.source = IcebergOptions(vectors, "");
    o.source_storage = source_storage;
    o.index_type = Value(ParseIndexType(index));
    return PyTable(Value(NoGil([&] { return Table::ImportIceberg(source, dest, o, storage); })));
  }

  uint64_t version() const { return t_->version(); }
  int64_t num_rows() const { return t_->num_rows(); }
  std::string uri() const { return t_->uri(); }
  nb::object schema() const {
    auto reader = arrow::RecordBatchReader::Make({}, t_->schema()).ValueOrDie();
    return ExportReader(reader);
  }
  std::vector<nb::dict> vector_columns() const {
    std::vector<nb::dict> out;
    for (const auto& p : t_->vector_columns()) out.push_back(PolicyToDict(p));
    return out;
  }
  std::vector<nb::dict> fragments() const {
    std::vector<nb::dict> out;
    for (const auto& f : t_->fragments()) {
      nb::dict d;
      d["id"] = f.id;
      d["physical_rows"] = f.physical_rows;
      d["deleted_rows"] = f.deleted_rows;
      std::vector<nb::dict> files;
      for (const auto& file : f.files) {
        nb::dict fd;
        fd["path"] = file.path;
        fd["size_bytes"] = file.size_bytes;
        fd["index_state"] = std::string(IndexStateName(file.index_state));
        fd["format"] = std::string(FileFormatName(file.format));
        fd["columns"] = file.columns;
        files.push_back(fd);
      }
      d["files"] = files;
      out.push_back(d);
    }
    return out;
  }

  nb::object Search(const FloatVector& query, uint32_t k, std::optional<std::string> filter,
                    std::optional<std::vector<std::string>> columns, std::string vector_column,
                    uint32_t ef, uint32_t nprobe, uint32_t refine_factor, bool exact, bool prune,
                    uint32_t num_threads, std::vector<uint64_t> fragment_ids) const {
    SearchOptions o =
        MakeSearchOptions(k, std::move(filter), std::move(columns), std::move(vector_column), ef,
                          nprobe, refine_factor, exact, prune, num_threads);
    o.fragment_ids = std::move(fragment_ids);
    std::span<const float> q(query.data(), query.shape(0));
    SearchStats stats;
    auto result = Value(NoGil([&] { return t_->Search(q, o, &stats); }));
    last_stats_ = stats;
    return ExportTable(std::move(result));
  }

  nb::object SearchBatch(const FloatMatrix& queries, uint32_t k, std::optional<std::string> filter,
                         std::optional<std::vector<std::string>> columns, std::string vector_column,
                         uint32_t ef, uint32_t nprobe, uint32_t refine_factor, bool exact,
                         bool prune, uint32_t num_threads,
                         std::vector<uint64_t> fragment_ids) const {
    SearchOptions o =
        MakeSearchOptions(k, std::move(filter), std::move(columns), std::move(vector_column), ef,
                          nprobe, refine_factor, exact, prune, num_threads);
    o.fragment_ids = std::move(fragment_ids);
    const auto nq = static_cast<uint32_t>(queries.shape(0));
    std::span<const float> q(queries.data(), queries.shape(0) * queries.shape(1));
    SearchStats stats;
    auto result = Value(NoGil([&] { return t_->SearchBatch(q, nq, o, &stats); }));
    last_stats_ = stats;
    return ExportTable(std::move(result));
  }

  nb::object SearchText(const std::string& query, uint32_t k, std::optional<std::string> filter,
                        std::optional<std::vector<std::string>> columns, std::string text_column,
                        const std::optional<nb::dict>& analyzer, float k1, float b,
                        uint32_t num_threads, std::vector<uint64_t> fragment_ids) const {
    TextSearchOptions o;
    o.k = k;
    if (filter) o.filter = Value(ParseFilter(*filter));
    if (columns) o.columns = *columns;
    o.text_column = std::move(text_column);
    if (analyzer) o.analyzer = AnalyzerFromDict(*analyzer);
    o.k1 = k1;
    o.b = b;
    o.num_threads = num_threads;
    o.fragment_ids = std::move(fragment_ids);
    SearchStats stats;
    auto result = Value(NoGil([&] { return t_->SearchText(query, o, &stats); }));
    last_stats_ = stats;
    return ExportTable(std::move(result));
  }

  nb::object SearchHybrid(const FloatVector& vector, const std::string& text, uint32_t k,
                          std::optional<std::string> filter,
                          std::optional<std::vector<std::string>> columns,
                          const std::string& fusion, float rrf_k, float text_weight,
                          uint32_t candidates, std::string vector_column, uint32_t ef,
                          uint32_t nprobe, uint32_t refine_factor, bool exact,
                          std::string text_column, const std::optional<nb::dict>& analyzer,
                          float k1, float b, uint32_t num_threads) const {
    HybridSearchOptions o;
    o.k = k;
    if (filter) o.filter = Value(ParseFilter(*filter));
    if (columns) o.columns = *columns;
    if (fusion == "rrf") {
      o.fusion = FusionMethod::kReciprocalRank;
    } else if (fusion == "linear") {
      o.fusion = FusionMethod::kLinear;
    } else {
      Throw(arrow::Status::Invalid("fusion must be 'rrf' or 'linear', got '", fusion, "'"));
    }
    o.rrf_k = rrf_k;
    o.text_weight = text_weight;
    o.candidates = candidates;
    o.vector = MakeSearchOptions(k, std::nullopt, std::nullopt, std::move(vector_column), ef,
                                 nprobe, refine_factor, exact, true, num_threads);
    o.text.text_column = std::move(text_column);
    if (analyzer) o.text.analyzer = AnalyzerFromDict(*analyzer);
    o.text.k1 = k1;
    o.text.b = b;
    o.text.num_threads = num_threads;
    std::span<const float> q(vector.data(), vector.shape(0));
    SearchStats stats;
    auto result = Value(NoGil([&] { return t_->SearchHybrid(q, text, o, &stats); }));
    last_stats_ = stats;
    return ExportTable(std::move(result));
  }

  static SearchOptions MakeSearchOptions(uint32_t k, std::optional<std::string> filter,
                                         std::optional<std::vector<std::string>> columns,
                                         std::string vector_column, uint32_t ef, uint32_t nprobe,
                                         uint32_t refine_factor, bool exact, bool prune,
                                         uint32_t num_threads) {
    SearchOptions o;
    o.k = k;
    o.vector_column = std::move(vector_column);
    o.params.ef = ef;
    o.params.nprobe = nprobe;
    o.params.refine_factor = refine_factor;
    if (filter) o.filter = Value(ParseFilter(*filter));
    if (columns) o.columns = *columns;
    o.exact = exact;
    o.prune = prune;
    o.num_threads = num_threads;
    return o;
  }

  nb::dict LastSearchStats() const {
    nb::dict d;
    d["files"] = last_stats_.files;
    d["files_pruned"] = last_stats_.files_pruned;
    d["files_index_searched"] = last_stats_.files_index_searched;
    d["files_exact_scanned"] = last_stats_.files_exact_scanned;
    d["requests"] = last_stats_.io.requests;
    d["bytes_read"] = last_stats_.io.bytes_read;
    d["cache_hits"] = last_stats_.io.cache_hits;
    d["cache_misses"] = last_stats_.io.cache_misses;
    return d;
  }

  nb::dict IoStatsDict() const {
    const IoStats s = t_->io_stats();
    nb::dict d;
    d["requests"] = s.requests;
    d["get_requests"] = s.get_requests;
    d["head_requests"] = s.head_requests;
    d["put_requests"] = s.put_requests;
    d["list_requests"] = s.list_requests;
    d["delete_requests"] = s.delete_requests;
    d["bytes_read"] = s.bytes_read;
    d["bytes_written"] = s.bytes_written;
    d["cache_hits"] = s.cache_hits;
    d["cache_misses"] = s.cache_misses;
    return d;
  }

  nb::object Scan(std::optional<std::vector<std::string>> columns,
                  std::optional<std::string> filter, int64_t limit, bool with_row_id) const {
    ScanOptions o;
    if (columns) o.columns = *columns;
    if (filter) o.filter = Value(ParseFilter(*filter));
    o.limit = limit;
    o.with_row_id = with_row_id;
    auto t = t_;
    auto reader = Value(NoGil([&] { return ScanBatches(t, o); }));
    return ExportReader(std::move(reader));
  }

  nb::object Take(const RowIds& ids, const std::optional<std::vector<std::string>>& columns,
                  bool with_row_id) const {
    std::span<const RowId> span(ids.data(), ids.shape(0));
    std::vector<std::string> cols = columns.value_or(std::vector<std::string>{});
    auto result = Value(NoGil([&] { return t_->Take(span, cols, with_row_id); }));
    return ExportTable(std::move(result));
  }

  std::vector<nb::dict> Versions() const {
    auto versions = Value(NoGil([&] { return t_->Versions(); }));
    std::vector<nb::dict> out;
    for (const auto& v : versions) {
      nb::dict d;
      d["version"] = v.version;
      d["timestamp_micros"] = v.timestamp_micros;
      d["operation"] = v.operation_name;
      d["detail"] = v.detail;
      d["num_rows"] = v.num_rows;
      d["num_fragments"] = v.num_fragments;
      out.push_back(d);
    }
    return out;
  }

  PyTable Checkout(uint64_t version) const {
    return PyTable(Value(NoGil([&] { return t_->Checkout(version); })));
  }
  PyTable CheckoutTag(const std::string& name) const {
    return PyTable(Value(NoGil([&] { return t_->CheckoutTag(name); })));
  }
  nb::dict Tags() const {
    auto tags = Value(NoGil([&] { return t_->Tags(); }));
    nb::dict d;
    for (const auto& t : tags) d[nb::str(t.name.c_str())] = t.version;
    return d;
  }
  void CreateTag(const std::string& name, uint64_t version) const {
    Check(NoGil([&] { return t_->CreateTag(name, version); }));
  }
  void DeleteTag(const std::string& name) const {
    Check(NoGil([&] { return t_->DeleteTag(name); }));
  }
  void Refresh() {
    t_ = Value(NoGil([&] { return t_->Latest(); }));
  }
  // Moves to the version a change committed; returns its number.
  uint64_t Adopt(arrow::Result<std::shared_ptr<Table>> committed) {
    t_ = Value(std::move(committed));
    return t_->version();
  }

  int64_t Delete(const std::string& filter) {
    auto expr = Value(ParseFilter(filter));
    DeleteResult r = Value(NoGil([&] { return t_->Delete(expr); }));
    t_ = std::move(r.table);
    return r.rows_deleted;
  }

  static OptimizeOptions MakeOptimizeOptions(int merge_factor, int64_t max_rows_per_fragment,
                                             double max_deleted_fraction,
                                             bool build_pending_indexes, uint32_t num_threads) {
    OptimizeOptions o;
    o.merge_factor = merge_factor;
    o.max_rows_per_fragment = max_rows_per_fragment;
    o.max_deleted_fraction = max_deleted_fraction;
    o.build_pending_indexes = build_pending_indexes;
    o.index_build.num_threads = num_threads;
    return o;
  }

  std::vector<std::vector<uint64_t>> PlanOptimize(int merge_factor, int64_t max_rows_per_fragment,
                                                  double max_deleted_fraction) const {
    OptimizeOptions o =
        MakeOptimizeOptions(merge_factor, max_rows_per_fragment, max_deleted_fraction, false, 0);
    return Value(NoGil([&] { return t_->PlanOptimize(o); }));
  }

  nb::dict MergeFragments(const std::vector<uint64_t>& ids, int merge_factor,
                          int64_t max_rows_per_fragment, double max_deleted_fraction,
                          uint32_t num_threads) {
    OptimizeOptions o = MakeOptimizeOptions(merge_factor, max_rows_per_fragment,
                                            max_deleted_fraction, false, num_threads);
    auto r = Value(NoGil([&] { return t_->MergeFragments(ids, o); }));
    Refresh();
    return OptimizeDict(r);
  }

  nb::dict Optimize(int merge_factor, int64_t max_rows_per_fragment, double max_deleted_fraction,
                    bool build_pending_indexes, uint32_t num_threads) {
    OptimizeOptions o =
        MakeOptimizeOptions(merge_factor, max_rows_per_fragment, max_deleted_fraction,
                            build_pending_indexes, num_threads);
    auto r = Value(NoGil([&] { return t_->Optimize(o); }));
    Refresh();
    return OptimizeDict(r);
  }

  static nb::dict OptimizeDict(const OptimizeResult& r) {
    nb::dict d;
    d["merges"] = r.merges;
    d["fragments_removed"] = r.fragments_removed;
    d["fragments_added"] = r.fragments_added;
    d["rows_rewritten"] = r.rows_rewritten;
    d["rows_dropped"] = r.rows_dropped;
    d["codebooks_trained"] = r.codebooks_trained;
    d["indexes_built"] = r.indexes_built;
    d["version"] = r.version;
    return d;
  }

  nb::dict Compact(int64_t target_rows_per_fragment, double max_deleted_fraction) {
    CompactionOptions o;
    o.target_rows_per_fragment = target_rows_per_fragment;
    o.max_deleted_fraction = max_deleted_fraction;
    auto r = Value(NoGil([&] { return t_->Compact(o); }));
    Refresh();
    nb::dict d;
    d["fragments_removed"] = r.fragments_removed;
    d["fragments_added"] = r.fragments_added;
    d["rows_dropped"] = r.rows_dropped;
    d["version"] = r.version;
    return d;
  }

  // `fill(capsule of the fragment's rows)` returns an object implementing
  // __arrow_c_array__ / __arrow_c_stream__ with the new columns (one value
  // per physical row). It is called with the GIL held.
  uint64_t AddColumns(nb::handle new_fields, nb::object fill,
                      const std::optional<std::vector<std::string>>& input_columns,
                      const std::vector<nb::dict>& vector_policies) {
    auto schema = ImportSchema(new_fields);
    std::vector<VectorStoragePolicy> policies;
    policies.reserve(vector_policies.size());
    for (const auto& d : vector_policies) policies.push_back(PolicyFromDict(d));
    Table::ColumnFiller filler = [fill = std::move(fill)](const std::shared_ptr<arrow::Table>& rows)
        -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
      nb::gil_scoped_acquire gil;
      try {
        nb::object out = fill(ExportTable(rows));
        return ImportBatch(out);
      } catch (nb::python_error& e) {
        return arrow::Status::Invalid("add_column: the values function raised: ", e.what());
      } catch (std::exception& e) {
        return arrow::Status::Invalid("add_column: ", e.what());
      }
    };
    std::vector<std::string> inputs = input_columns.value_or(std::vector<std::string>{});
    return Adopt(NoGil([&] { return t_->AddColumns(schema, filler, policies, inputs); }));
  }

  uint64_t DropColumns(const std::vector<std::string>& names) {
    return Adopt(NoGil([&] { return t_->DropColumns(names); }));
  }

  nb::bytes StageWrite(nb::handle data, bool deferred) const {
    auto batch = Conform(ImportBatch(data), t_->schema());
    std::string s = Value(NoGil([&] { return t_->StageWrite(*batch, deferred); }));
    return nb::bytes(s.data(), s.size());
  }

  uint64_t CommitStaged(const std::vector<nb::bytes>& staged) {
    std::vector<std::string> s;
    s.reserve(staged.size());
    for (const auto& b : staged) s.emplace_back(b.c_str(), b.size());
    return Adopt(NoGil([&] { return t_->CommitStaged(s); }));
  }

  uint64_t CommitReplace(const RowIds& ids, const std::vector<nb::bytes>& staged,
                         const std::string& operation) {
    std::vector<std::string> s;
    s.reserve(staged.size());
    for (const auto& b : staged) s.emplace_back(b.c_str(), b.size());
    std::span<const RowId> span(ids.data(), ids.shape(0));
    const TableOperation op = ParseTableOperation(operation);
    return Adopt(NoGil([&] { return t_->CommitReplace(span, s, op); }));
  }

  // Table.update through include/ailake/changes.h: where (SQL or None),
  // column = SQL pairs, and a one-row batch of values (or None).
  int64_t Update(const std::optional<std::string>& where,
                 const std::vector<std::pair<std::string, std::string>>& set_sql,
                 nb::handle set_values, int max_attempts) {
    UpdateOptions o;
    if (where) o.where = Value(ParseFilter(*where));
    o.set_sql = set_sql;
    if (!set_values.is_none()) o.set_values = ImportBatch(set_values);
    o.max_attempts = max_attempts;
    auto r = Value(NoGil([&] { return ailake::Update(t_, o); }));
    t_ = std::move(r.table);
    return r.rows_updated;
  }

  nb::dict MergeInsert(nb::handle source, const std::vector<std::string>& on, bool update,
                       bool insert, bool del, const std::optional<std::string>& delete_where,
                       int max_attempts) {
    MergeInsertOptions o;
    o.on = on;
    o.when_matched_update_all = update;
    o.when_not_matched_insert_all = insert;
    o.when_not_matched_by_source_delete = del;
    if (delete_where) o.delete_where = Value(ParseFilter(*delete_where));
    o.max_attempts = max_attempts;
    std::shared_ptr<arrow::Table> src;
    if (!source.is_none()) {
      src = Value(arrow::Table::FromRecordBatches({ImportBatch(source)}));
    }
    auto r = Value(NoGil([&] { return ailake::MergeInsert(t_, src, o); }));
    t_ = r.table;
    nb::dict d;
    d["num_inserted_rows"] = r.rows_inserted;
    d["num_updated_rows"] = r.rows_updated;
    d["num_deleted_rows"] = r.rows_deleted;
    d["version"] = r.version;
    return d;
  }

  std::vector<std::string> PendingFiles() const {
    return Value(NoGil([&] { return t_->PendingFiles(); }));
  }

  int TrainPendingCodebooks(uint32_t num_threads) {
    IndexBuildOptions b;
    b.num_threads = num_threads;
    int n = Value(NoGil([&] { return t_->TrainPendingCodebooks(b); }));
    Refresh();
    return n;
  }

  int BuildPendingIndexesOf(const std::vector<std::string>& paths, uint32_t num_threads) {
    IndexBuildOptions b;
    b.num_threads = num_threads;
    int n = Value(NoGil([&] { return t_->BuildPendingIndexesOf(paths, b); }));
    Refresh();
    return n;
  }

  uint64_t RenameColumn(const std::string& from, const std::string& to) {
    return Adopt(NoGil([&] { return t_->RenameColumn(from, to); }));
  }

  // (path, new name or None, nullable or None) per change; one version.
  uint64_t AlterColumns(
      const std::vector<std::tuple<std::string, std::optional<std::string>, std::optional<bool>>>&
          changes) {
    std::vector<ColumnAlteration> all;
    for (const auto& [path, rename, nullable] : changes) {
      ColumnAlteration a;
      a.path = path;
      a.rename = rename;
      a.nullable = nullable;
      all.push_back(std::move(a));
    }
    return Adopt(NoGil([&] { return t_->AlterColumns(all); }));
  }

  uint64_t Restore(uint64_t version) {
    return Adopt(NoGil([&] { return t_->Restore(version); }));
  }

  nb::dict Cleanup(uint32_t retain_versions, int64_t grace_seconds, int64_t older_than_seconds) {
    CleanupOptions o;
    o.retain_versions = retain_versions;
    o.grace_seconds = grace_seconds;
    o.older_than_seconds = older_than_seconds;
    const CleanupResult r = Value(NoGil([&] { return t_->Cleanup(o); }));
    nb::dict d;
    d["versions_removed"] = r.versions_removed;
    d["files_removed"] = r.files_removed;
    d["bytes_removed"] = r.bytes_removed;
    return d;
  }

  nb::dict RebuildIcebergView() const {
    const IcebergViewResult r = Value(NoGil([&] { return t_->RebuildIcebergView(); }));
    nb::dict d;
    d["metadata_path"] = r.metadata_path;
    d["snapshots"] = r.snapshots;
    d["lagging"] = r.lagging;
    return d;
  }

  nb::dict IcebergView() const {
    const IcebergViewStatus v = Value(NoGil([&] { return t_->IcebergView(); }));
    nb::dict d;
    d["enabled"] = v.enabled;
    d["metadata_path"] = v.metadata_path;
    d["published_version"] = v.published_version;
    d["current_snapshot_id"] = v.current_snapshot_id;
    d["lag"] = v.lag;
    d["last_error"] = v.last_error;
    return d;
  }

  uint64_t SetIcebergView(bool enabled) {
    return Adopt(NoGil([&] { return t_->SetIcebergView(enabled); }));
  }
  std::string StorageFormat() const { return std::string(FileFormatName(t_->storage_format())); }
  uint64_t SetStorageFormat(const std::string& format) {
    const FileFormat f = Value(ParseFileFormat(format));
    return Adopt(NoGil([&] { return t_->SetStorageFormat(f); }));
  }

  nb::dict Verify() const {
    const VerifyReport r = Value(NoGil([&] { return t_->Verify(); }));
    nb::dict d;
    d["ok"] = r.ok();
    d["problems"] = r.problems;
    d["manifests_checked"] = r.manifests_checked;
    d["files_checked"] = r.files_checked;
    d["deletion_files_checked"] = r.deletion_files_checked;
    return d;
  }

  uint64_t DropIndex(const std::string& vector_column) {
    return Adopt(NoGil([&] { return t_->DropIndex(vector_column); }));
  }

  uint64_t CreateTextIndex(const std::string& column, const nb::dict& analyzer, bool with_positions,
                           bool build) {
    TextIndexConfig c;
    c.column = column;
    c.analyzer = AnalyzerFromDict(analyzer);
    c.with_positions = with_positions;
    return Adopt(NoGil([&] { return t_->CreateTextIndex(c, build); }));
  }

  uint64_t DropTextIndex(const std::string& column) {
    return Adopt(NoGil([&] { return t_->DropTextIndex(column); }));
  }

  nb::list TextIndexes() const {
    nb::list out;
    for (const auto& c : Value(t_->text_indexes())) {
      nb::dict d;
      d["column"] = c.column;
      d["analyzer"] = c.analyzer.Serialize();
      d["with_position"] = c.with_positions;
      out.append(d);
    }
    return out;
  }

  uint64_t CreateIndex(const nb::dict& settings) {
    // The column's stored settings, overridden by those given.
    nb::dict d;
    const std::string column =
        settings.contains("vector_column") ? nb::cast<std::string>(settings["vector_column"]) : "";
    const VectorStoragePolicy have = Value(t_->vector_column(column));
    for (auto [k, v] : PolicyToDict(have)) d[k] = v;
    for (auto [k, v] : settings) d[k] = v;
    const VectorStoragePolicy p = PolicyFromDict(d);
    return Adopt(NoGil([&] { return t_->CreateIndex(p); }));
  }

  int BuildPendingIndexes(uint32_t num_threads) {
    IndexBuildOptions o;
    o.num_threads = num_threads;
    int n = Value(NoGil([&] { return t_->BuildPendingIndexes(o); }));
    Refresh();
    return n;
  }

 private:
  std::shared_ptr<Table> t_;
  mutable SearchStats last_stats_;
};

}  // namespace

void BindTables(nb::module_& m) {
  nb::class_<PyTableWriter>(m, "TableWriter")
      .def(nb::init<std::string, std::vector<nb::dict>, nb::dict>(), nb::arg("path"),
           nb::arg("vector_columns"), nb::arg("options"))
      .def("write", &PyTableWriter::Write, nb::arg("data"), nb::arg("deferred"))
      .def("write_multi", &PyTableWriter::WriteMulti, nb::arg("data"), nb::arg("columns"))
      .def("commit", &PyTableWriter::Commit)
      .def("ensure_table", &PyTableWriter::EnsureTable, nb::arg("data"))
      .def("wait_for_indexing", &PyTableWriter::WaitForIndexing)
      .def("table", [](PyTableWriter& w) { return PyTable(w.table()); })
      .def("close", &PyTableWriter::Close);

  m.def("read_cache_capacity", [] { return ReadCacheCapacity(); });
  m.def(
      "set_read_cache_capacity", [](int64_t bytes) { SetReadCacheCapacity(bytes); },
      nb::arg("bytes"));
  m.def("read_cache_used_bytes", [] { return ReadCacheUsedBytes(); });
  m.def(
      "evaluate_sql",
      [](const std::string& sql, nb::handle data) {
        auto batch = ImportBatch(data);
        auto array = Value(NoGil([&] { return EvaluateSql(sql, *batch); }));
        auto t = arrow::Table::Make(arrow::schema({arrow::field("value", array->type())}), {array},
                                    batch->num_rows());
        return ExportTable(std::move(t));
      },
      nb::arg("sql"), nb::arg("data"));
  m.def(
      "write_lance_file",
      [](const std::string& path, nb::handle data, const std::string& version,
         int64_t max_page_bytes) {
        auto batch = ImportBatch(data);
        LanceWriteOptions o;
        o.version = version;
        o.max_page_bytes = max_page_bytes;
        Check(NoGil([&]() -> arrow::Status {
          ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::FileOutputStream::Open(path));
          ARROW_ASSIGN_OR_RAISE(auto w, LanceFileWriter::Open(sink, batch->schema(), o));
          ARROW_RETURN_NOT_OK(w->Write(*batch));
          return w->Finish();
        }));
      },
      nb::arg("path"), nb::arg("data"), nb::arg("version"), nb::arg("max_page_bytes"));
  m.def(
      "read_lance_file",
      [](const std::string& path, std::optional<std::vector<std::string>> columns,
         std::optional<std::vector<int64_t>> rows, int64_t offset, int64_t length) {
        auto table = Value(NoGil([&]() -> arrow::Result<std::shared_ptr<arrow::Table>> {
          // Memory-mapped: flat pages are read in place.
          ARROW_ASSIGN_OR_RAISE(auto file,
                                arrow::io::MemoryMappedFile::Open(path, arrow::io::FileMode::READ));
          ARROW_ASSIGN_OR_RAISE(auto r, LanceFileReader::Open(file));
          const std::vector<std::string> cols = columns.value_or(std::vector<std::string>{});
          if (rows) return r->Take(*rows, cols);
          return r->Read(cols, offset, length);
        }));
        return ExportReader(std::make_shared<arrow::TableBatchReader>(table));
      },
      nb::arg("path"), nb::arg("columns").none(), nb::arg("rows").none(), nb::arg("offset"),
      nb::arg("length"));
  m.def("clear_read_cache", [] { ClearReadCache(); });

  nb::class_<PyTable>(m, "Table")
      .def_static("open", &PyTable::Open, nb::arg("path"), nb::arg("version").none(),
                  nb::arg("storage_options"))
      .def_static("open_iceberg", &PyTable::OpenIceberg, nb::arg("path"), nb::arg("vectors"),
                  nb::arg("metadata_file"), nb::arg("version").none(), nb::arg("storage_options"))
      .def_static("import_iceberg", &PyTable::ImportIceberg, nb::arg("source"), nb::arg("dest"),
                  nb::arg("vectors"), nb::arg("index"), nb::arg("source_storage_options"),
                  nb::arg("storage_options"))
      .def("io_stats", &PyTable::IoStatsDict)
      .def_prop_ro("version", &PyTable::version)
      .def_prop_ro("num_rows", &PyTable::num_rows)
      .def_prop_ro("uri", &PyTable::uri)
      .def("schema_stream", &PyTable::schema)
      .def("vector_columns", &PyTable::vector_columns)
      .def("fragments", &PyTable::fragments)
      .def("search", &PyTable::Search, nb::arg("query"), nb::arg("k"), nb::arg("filter").none(),
           nb::arg("columns").none(), nb::arg("vector_column"), nb::arg("ef"), nb::arg("nprobe"),
           nb::arg("refine_factor"), nb::arg("exact"), nb::arg("prune"), nb::arg("num_threads"),
           nb::arg("fragment_ids"))
      .def("search_text", &PyTable::SearchText, nb::arg("query"), nb::arg("k"),
           nb::arg("filter").none(), nb::arg("columns").none(), nb::arg("text_column"),
           nb::arg("analyzer").none(), nb::arg("k1"), nb::arg("b"), nb::arg("num_threads"),
           nb::arg("fragment_ids"))
      .def("search_hybrid", &PyTable::SearchHybrid, nb::arg("vector"), nb::arg("text"),
           nb::arg("k"), nb::arg("filter").none(), nb::arg("columns").none(), nb::arg("fusion"),
           nb::arg("rrf_k"), nb::arg("text_weight"), nb::arg("candidates"),
           nb::arg("vector_column"), nb::arg("ef"), nb::arg("nprobe"), nb::arg("refine_factor"),
           nb::arg("exact"), nb::arg("text_column"), nb::arg("analyzer").none(), nb::arg("k1"),
           nb::arg("b"), nb::arg("num_threads"))
      .def("search_batch", &PyTable::SearchBatch, nb::arg("queries"), nb::arg("k"),
           nb::arg("filter").none(), nb::arg("columns").none(), nb::arg("vector_column"),
           nb::arg("ef"), nb::arg("nprobe"), nb::arg("refine_factor"), nb::arg("exact"),
           nb::arg("prune"), nb::arg("num_threads"), nb::arg("fragment_ids"))
      .def("last_search_stats", &PyTable::LastSearchStats)
      .def("scan", &PyTable::Scan, nb::arg("columns").none(), nb::arg("filter").none(),
           nb::arg("limit"), nb::arg("with_row_id"))
      .def("take", &PyTable::Take, nb::arg("row_ids"), nb::arg("columns").none(),
           nb::arg("with_row_id"))
      .def("versions", &PyTable::Versions)
      .def("checkout", &PyTable::Checkout, nb::arg("version"))
      .def("checkout_tag", &PyTable::CheckoutTag, nb::arg("name"))
      .def("tags", &PyTable::Tags)
      .def("create_tag", &PyTable::CreateTag, nb::arg("name"), nb::arg("version"))
      .def("delete_tag", &PyTable::DeleteTag, nb::arg("name"))
      .def("refresh", &PyTable::Refresh)
      .def("delete", &PyTable::Delete, nb::arg("filter"))
      .def("optimize", &PyTable::Optimize, nb::arg("merge_factor"),
           nb::arg("max_rows_per_fragment"), nb::arg("max_deleted_fraction"),
           nb::arg("build_pending_indexes"), nb::arg("num_threads"))
      .def("plan_optimize", &PyTable::PlanOptimize, nb::arg("merge_factor"),
           nb::arg("max_rows_per_fragment"), nb::arg("max_deleted_fraction"))
      .def("merge_fragments", &PyTable::MergeFragments, nb::arg("fragment_ids"),
           nb::arg("merge_factor"), nb::arg("max_rows_per_fragment"),
           nb::arg("max_deleted_fraction"), nb::arg("num_threads"))
      .def("compact", &PyTable::Compact, nb::arg("target_rows_per_fragment"),
           nb::arg("max_deleted_fraction"))
      .def("add_columns", &PyTable::AddColumns, nb::arg("new_fields"), nb::arg("fill"),
           nb::arg("input_columns").none(), nb::arg("vector_policies"))
      .def("drop_columns", &PyTable::DropColumns, nb::arg("names"))
      .def("rename_column", &PyTable::RenameColumn, nb::arg("old"), nb::arg("new"))
      .def("alter_columns", &PyTable::AlterColumns, nb::arg("changes"))
      .def("stage_write", &PyTable::StageWrite, nb::arg("data"), nb::arg("deferred"))
      .def("commit_staged", &PyTable::CommitStaged, nb::arg("staged"))
      .def("commit_replace", &PyTable::CommitReplace, nb::arg("row_ids"), nb::arg("staged"),
           nb::arg("operation"))
      .def("update", &PyTable::Update, nb::arg("where").none(), nb::arg("set_sql"),
           nb::arg("set_values").none(), nb::arg("max_attempts"))
      .def("merge_insert", &PyTable::MergeInsert, nb::arg("source").none(), nb::arg("on"),
           nb::arg("update"), nb::arg("insert"), nb::arg("delete"), nb::arg("delete_where").none(),
           nb::arg("max_attempts"))
      .def("pending_files", &PyTable::PendingFiles)
      .def("train_pending_codebooks", &PyTable::TrainPendingCodebooks, nb::arg("num_threads"))
      .def("build_pending_indexes_of", &PyTable::BuildPendingIndexesOf, nb::arg("paths"),
           nb::arg("num_threads"))
      .def("restore", &PyTable::Restore, nb::arg("version"))
      .def("cleanup", &PyTable::Cleanup, nb::arg("retain_versions"), nb::arg("grace_seconds"),
           nb::arg("older_than_seconds") = -1)
      .def("verify", &PyTable::Verify)
      .def("rebuild_iceberg_view", &PyTable::RebuildIcebergView)
      .def("iceberg_view", &PyTable::IcebergView)
      .def("set_iceberg_view", &PyTable::SetIcebergView, nb::arg("enabled"))
      .def("storage_format", &PyTable::StorageFormat)
      .def("set_storage_format", &PyTable::SetStorageFormat, nb::arg("format"))
      .def("build_pending_indexes", &PyTable::BuildPendingIndexes, nb::arg("num_threads"))
      .def("create_index", &PyTable::CreateIndex, nb::arg("settings"))
      .def("drop_index", &PyTable::DropIndex, nb::arg("vector_column"))
      .def("create_text_index", &PyTable::CreateTextIndex, nb::arg("column"), nb::arg("analyzer"),
           nb::arg("with_positions"), nb::arg("build"))
      .def("drop_text_index", &PyTable::DropTextIndex, nb::arg("column"))
      .def("text_indexes", &PyTable::TextIndexes);
}

}  // namespace ailake::py
