#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "ailake/query.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_schema.h"
#include "ailake/vec/centroid.h"

namespace ailake {
namespace {

double Dot(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

struct Hit {
  float distance;
  RowId row_id;
  bool operator<(const Hit& o) const {
    return distance < o.distance || (distance == o.distance && row_id < o.row_id);
  }
};

// The running top k across files, with the current k-th distance as the
// pruning bound.
class TopK {
 public:
  explicit TopK(uint32_t k) : k_(k) {}
  void Add(const std::vector<Hit>& hits) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& h : hits) {
      heap_.push_back(h);
      std::push_heap(heap_.begin(), heap_.end());
      if (heap_.size() > k_) {
        std::pop_heap(heap_.begin(), heap_.end());
        heap_.pop_back();
      }
    }
  }
  // +inf until k results are held.
  float Bound() {
    std::lock_guard<std::mutex> lock(mu_);
    return heap_.size() < k_ ? INFINITY : heap_.front().distance;
  }
  std::vector<Hit> Sorted() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Hit> out = heap_;
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  uint32_t k_;
  std::mutex mu_;
  std::vector<Hit> heap_;  // max-heap by distance
};

struct FileTask {
  const table::Fragment* fragment = nullptr;
  const table::DataFile* file = nullptr;
  std::string file_column;  // vector column's name inside the file
  float lower_bound = 0.0f;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> Search(const Table& table,
                                                    std::span<const float> query_in,
                                                    const VectorSearchOptions& options,
                                                    SearchStats* stats) {
  ARROW_ASSIGN_OR_RAISE(VectorStoragePolicy policy, table.vector_column(options.vector_column));
  if (query_in.size() != policy.dim) {
    return arrow::Status::Invalid("query has ", query_in.size(), " dimensions, column '",
                                  policy.vector_column, "' has ", policy.dim);
  }
  for (float v : query_in) {
    if (!std::isfinite(v)) return arrow::Status::Invalid("query holds a NaN or infinite value");
  }
  if (options.k == 0) return arrow::Status::Invalid("k must be at least 1");
  std::vector<float> query(query_in.begin(), query_in.end());
  if (policy.pre_normalize || policy.metric == DistanceMetric::kNormalizedCosine) {
    const double n = std::sqrt(Dot(query, query));
    if (n > 0) {
      for (float& v : query) v = static_cast<float>(v / n);
    }
  }
  const table::Manifest& m = table.manifest();
  const int32_t field_id = table::TopLevelFieldId(m, policy.vector_column);

  // Files holding the vector column, with their pruning bound.
  std::vector<FileTask> tasks;
  for (const auto& frag : m.fragments()) {
    for (const auto& df : frag.files()) {
      for (int i = 0; i < df.fields_size(); ++i) {
        if (df.fields(i) != field_id || df.column_indices(i) < 0) continue;
        FileTask t;
        t.fragment = &frag;
        t.file = &df;
        ARROW_ASSIGN_OR_RAISE(auto reader, table.OpenDataFile(df.path()));
        t.file_column = reader->schema()->field(df.column_indices(i))->name();
        t.lower_bound = -INFINITY;
        if (options.prune && !options.exact) {
          // Our sections (format_version >= 2) record centroid and radius as
          // vec/centroid.h defines them, which LowerBoundDistance turns into a
          // bound that never exceeds the distance to any row of the file.
          auto info = reader->vector_column(t.file_column);
          auto c = reader->ReadCentroid(t.file_column);
          if (info.ok() && (*info)->has_section && (*info)->section.format_version >= 2 && c.ok() &&
              c->centroid.size() == policy.dim) {
            vec::CentroidRadius bounds;
            bounds.centroid = c->centroid;
            bounds.radius = c->radius;
            bounds.rows = static_cast<uint32_t>(reader->num_rows());
            t.lower_bound = vec::LowerBoundDistance(policy.metric, query.data(), bounds);
          }
        }
        tasks.push_back(t);
      }
    }
  }
  std::sort(tasks.begin(), tasks.end(),
            [](const FileTask& a, const FileTask& b) { return a.lower_bound < b.lower_bound; });

  TopK top(options.k);
  std::atomic<size_t> next{0};
  std::atomic<int> pruned{0}, indexed{0}, exact{0};
  std::mutex err_mu;
  arrow::Status first_error;

  auto search_one = [&](const FileTask& task) -> arrow::Status {
    if (task.lower_bound > top.Bound()) {
      ++pruned;
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(auto reader, table.OpenDataFile(task.file->path()));
    const table::Fragment& frag = *task.fragment;
    const uint32_t rows = static_cast<uint32_t>(frag.physical_rows());
    // Allowed rows: live and matching the filter.
    std::vector<uint64_t> words;
    bool use_filter = false;
    ARROW_ASSIGN_OR_RAISE(auto deleted, table.context()->ReadDeletions(frag));
    if (!deleted->empty()) {
      words = table::LiveRowBitmap(*deleted, rows);
      use_filter = true;
    }
    if (options.filter) {
      ARROW_ASSIGN_OR_RAISE(auto match, table::MatchingRows(table, frag, *options.filter));
      std::vector<uint64_t> fw((rows + 63) / 64, 0);
      for (uint32_t r : match) fw[r >> 6] |= 1ull << (r & 63);
      if (use_filter) {
        for (size_t i = 0; i < fw.size(); ++i) fw[i] &= words[i];
      }
      words = std::move(fw);
      use_filter = true;
    }
    RowFilter filter{words, rows};
    if (use_filter) {
      bool any = false;
      for (uint64_t w : words) any |= w != 0;
      if (!any) return arrow::Status::OK();
    }
    const bool has_index = !options.exact &&
                           task.file->index_state() == table::INDEX_STATE_INDEXED &&
                           reader->vector_column(task.file_column).ok() &&
                           (*reader->vector_column(task.file_column))->has_section;
    std::vector<Neighbor> found;
    if (has_index) {
      ARROW_ASSIGN_OR_RAISE(
          found, reader->Search(query, options.k, options.params, use_filter ? &filter : nullptr,
                                task.file_column));
      ++indexed;
    } else {
      ARROW_ASSIGN_OR_RAISE(VectorView view, reader->Vectors(task.file_column));
      VectorStoragePolicy flat = policy;
      flat.index_type = IndexType::kFlat;
      ARROW_ASSIGN_OR_RAISE(auto index, BuildIndex(flat, view, {1}));
      ARROW_ASSIGN_OR_RAISE(
          found, index->Search(query, options.k, options.params, use_filter ? &filter : nullptr));
      ++exact;
    }
    std::vector<Hit> hits;
    hits.reserve(found.size());
    for (const auto& n : found) {
      hits.push_back({n.distance, MakeRowId(static_cast<uint32_t>(frag.id()), n.row)});
    }
    top.Add(hits);
    return arrow::Status::OK();
  };

  const uint32_t hw = std::max(1u, std::thread::hardware_concurrency());
  const uint32_t threads = std::min<uint32_t>(options.num_threads ? options.num_threads : hw,
                                              std::max<size_t>(1, tasks.size()));
  auto worker = [&] {
    for (size_t i = next++; i < tasks.size(); i = next++) {
      arrow::Status st = search_one(tasks[i]);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (first_error.ok()) first_error = st;
      }
    }
  };
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (uint32_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  ARROW_RETURN_NOT_OK(first_error);
  if (stats) {
    stats->files = static_cast<int>(tasks.size());
    stats->files_pruned = pruned;
    stats->files_index_searched = indexed;
    stats->files_exact_scanned = exact;
  }

  // Columns of the hits, in distance order.
  std::vector<Hit> hits = top.Sorted();
  std::vector<std::string> columns = options.columns;
  if (columns.empty()) {
    for (const auto& f : table.schema()->fields()) {
      bool is_vector = false;
      for (const auto& p : table.vector_columns()) is_vector |= p.vector_column == f->name();
      if (!is_vector) columns.push_back(f->name());
    }
  }
  std::vector<RowId> ids;
  ids.reserve(hits.size());
  for (const auto& h : hits) ids.push_back(h.row_id);
  std::shared_ptr<arrow::Table> out;
  if (columns.empty()) {
    ARROW_ASSIGN_OR_RAISE(out, table.Take(ids, {table.schema()->field(0)->name()}));
    ARROW_ASSIGN_OR_RAISE(out, out->RemoveColumn(0));
  } else {
    ARROW_ASSIGN_OR_RAISE(out, table.Take(ids, columns));
  }
  arrow::FloatBuilder dist;
  arrow::UInt64Builder rid;
  for (const auto& h : hits) {
    ARROW_RETURN_NOT_OK(dist.Append(h.distance));
    ARROW_RETURN_NOT_OK(rid.Append(h.row_id));
  }
  std::shared_ptr<arrow::Array> dist_arr, rid_arr;
  ARROW_RETURN_NOT_OK(dist.Finish(&dist_arr));
  ARROW_RETURN_NOT_OK(rid.Finish(&rid_arr));
  ARROW_ASSIGN_OR_RAISE(
      out, out->AddColumn(out->num_columns(), arrow::field("_distance", arrow::float32(), false),
                          std::make_shared<arrow::ChunkedArray>(dist_arr)));
  ARROW_ASSIGN_OR_RAISE(
      out, out->AddColumn(out->num_columns(), arrow::field("_rowid", arrow::uint64(), false),
                          std::make_shared<arrow::ChunkedArray>(rid_arr)));
  return out;
}

}  // namespace ailake
