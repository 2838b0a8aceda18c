// Table-wide vector search, one query or many: plan the files holding the
// vector column (each with the lower bound of its centroid/radius), search
// them in parallel (each file for the queries whose running k-th distance
// its bound does not exceed), merge per query, then read the hits' columns
// with one Take.
//
// Cost per query: one index (or exact) search per file that is not pruned,
// so it follows the fragment count, which Table::Optimize keeps logarithmic
// in the row count. Per-file work shared by the queries of a call: opening
// the reader (cached by the table), the allow-list of live and matching rows.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <numeric>

#include "ailake/query.h"
#include "ailake/query/result_rows.h"
#include "ailake/query/search_pool.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_schema.h"
#include "ailake/vec/centroid.h"
#include "ailake/vec/kernels.h"

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

// The running top k of one query across files, with the current k-th
// distance as the pruning bound.
class TopK {
 public:
  explicit TopK(uint32_t k) : k_(k) {}
  void Add(std::span<const Hit> hits) {
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
  std::shared_ptr<AilakeFileReader> reader;
  std::string file_column;                   // vector column's name inside the file
  bool has_index = false;                    // searched through its AILK section
  std::shared_ptr<const VectorIndex> index;  // loaded when has_index
  uint64_t shared_codebook = 0;     // IVF-PQ with the column's shared codebook: its fingerprint
  std::vector<float> lower_bounds;  // per query; -inf when the file has no bound
};

struct Plan {
  VectorStoragePolicy policy;
  std::vector<float> queries;  // num_queries x dim, normalised where the metric wants it
  uint32_t num_queries = 0;
  std::vector<FileTask> tasks;
};

arrow::Result<Plan> MakePlan(const Table& table, std::span<const float> queries_in,
                             uint32_t num_queries, const SearchOptions& options) {
  Plan plan;
  ARROW_RETURN_NOT_OK(vec::CheckSimdSetting());
  ARROW_ASSIGN_OR_RAISE(plan.policy, table.vector_column(options.vector_column));
  const VectorStoragePolicy& policy = plan.policy;
  const uint32_t dim = policy.dim;
  if (num_queries == 0) return arrow::Status::Invalid("no query given");
  if (queries_in.size() != static_cast<size_t>(num_queries) * dim) {
    return arrow::Status::Invalid("query has ", queries_in.size() / num_queries,
                                  " dimensions, column '", policy.vector_column, "' has ", dim);
  }
  for (float v : queries_in) {
    if (!std::isfinite(v)) return arrow::Status::Invalid("query holds a NaN or infinite value");
  }
  if (options.k == 0) return arrow::Status::Invalid("k must be at least 1");
  if (options.allowed != nullptr) {
    return arrow::Status::Invalid(
        "SearchOptions::allowed holds row positions of one index or file; a table search "
        "takes a filter (or fragment_ids) instead");
  }
  plan.num_queries = num_queries;
  plan.queries.assign(queries_in.begin(), queries_in.end());
  if (policy.pre_normalize || policy.metric == DistanceMetric::kNormalizedCosine) {
    for (uint32_t q = 0; q < num_queries; ++q) {
      std::span<float> v(plan.queries.data() + static_cast<size_t>(q) * dim, dim);
      const double n = std::sqrt(Dot(v, v));
      if (n > 0) {
        for (float& x : v) x = static_cast<float>(x / n);
      }
    }
  }
  const table::Manifest& m = table::TableAccess::manifest(table);
  const int32_t field_id = table::TopLevelFieldId(m, policy.vector_column);
  ARROW_ASSIGN_OR_RAISE(const auto fragments,
                        query::SearchedFragments(table, options.fragment_ids));
  for (const table::Fragment* fp : fragments) {
    const table::Fragment& frag = *fp;
    for (const auto& df : frag.files()) {
      for (int i = 0; i < df.fields_size(); ++i) {
        if (df.fields(i) != field_id || df.column_indices(i) < 0) continue;
        FileTask t;
        t.fragment = &frag;
        t.file = &df;
        ARROW_ASSIGN_OR_RAISE(t.reader, table.OpenDataFile(df.path(), table::KnownSize(df)));
        auto name = t.reader->FieldNameOfColumn(df.column_indices(i));
        if (!name.ok()) {
          return arrow::Status::Invalid("data file '", df.path(),
                                        "' (the manifest's column of field ", field_id,
                                        "): ", name.status().message());
        }
        t.file_column = *name;
        auto info = t.reader->vector_column(t.file_column);
        // A column whose index was dropped (policy none) is scanned exactly
        // even where a file still holds the old index's bytes.
        t.has_index = !options.exact && df.index_state() == table::INDEX_STATE_INDEXED &&
                      policy.index_type != IndexType::kNone && info.ok() && (*info)->has_section;
        if (t.has_index) {
          ARROW_ASSIGN_OR_RAISE(t.index, t.reader->LoadIndex(t.file_column));
          t.shared_codebook = SharedIvfPqCodebookOf(*t.index);
        }
        t.lower_bounds.assign(num_queries, -INFINITY);
        if (options.prune) {
          // Our sections (format_version >= 2) record centroid and radius as
          // vec/centroid.h defines them, which LowerBoundDistance turns into
          // a bound that never exceeds the distance to any row of the file:
          // skipping the file when it exceeds a query's k-th distance so far
          // never drops a true top-k row, for exact scans as for indexes.
          auto c = t.reader->ReadCentroid(t.file_column);
          if (info.ok() && (*info)->has_section && (*info)->section.format_version >= 2 && c.ok() &&
              c->centroid.size() == dim) {
            vec::CentroidRadius bounds;
            bounds.centroid = std::move(c->centroid);
            bounds.radius = c->radius;
            bounds.rows = static_cast<uint32_t>(t.reader->num_rows());
            for (uint32_t q = 0; q < num_queries; ++q) {
              t.lower_bounds[q] = vec::LowerBoundDistance(
                  policy.metric, plan.queries.data() + static_cast<size_t>(q) * dim, bounds);
            }
          }
        }
        plan.tasks.push_back(std::move(t));
      }
    }
  }
  // Most promising files first, so the bounds tighten early (by the first
  // query's bound: the order matters for pruning only, never for results).
  std::stable_sort(plan.tasks.begin(), plan.tasks.end(), [](const FileTask& a, const FileTask& b) {
    return a.lower_bounds[0] < b.lower_bounds[0];
  });
  return plan;
}

// Searches one file for the queries in `which`; returns per entry of `which`
// its neighbours (rows of the file).
arrow::Result<std::vector<std::vector<Neighbor>>> SearchFile(const Plan& plan, const FileTask& task,
                                                             std::span<const uint32_t> which,
                                                             const SearchOptions& options,
                                                             const RowFilter* filter) {
  const uint32_t dim = plan.policy.dim;
  std::shared_ptr<const VectorIndex> index = task.index;
  if (!task.has_index) {
    ARROW_ASSIGN_OR_RAISE(VectorView view, task.reader->Vectors(task.file_column));
    VectorStoragePolicy flat = plan.policy;
    flat.index_type = IndexType::kFlat;
    ARROW_ASSIGN_OR_RAISE(index, BuildIndex(flat, view, {1}));
  }
  if (which.size() == 1) {
    std::span<const float> q(plan.queries.data() + static_cast<size_t>(which[0]) * dim, dim);
    ARROW_ASSIGN_OR_RAISE(auto found, index->Search(q, options.k, options.params, filter));
    return std::vector<std::vector<Neighbor>>{std::move(found)};
  }
  std::vector<float> qs;
  qs.reserve(which.size() * dim);
  for (uint32_t q : which) {
    const float* p = plan.queries.data() + static_cast<size_t>(q) * dim;
    qs.insert(qs.end(), p, p + dim);
  }
  return index->SearchBatch(qs, static_cast<uint32_t>(which.size()), options.k, options.params,
                            filter, /*num_threads=*/1);
}

// The hits of every query as one table: the chosen columns, then
// "_distance" and "_rowid" (and first "_query" when `with_query`).
arrow::Result<std::shared_ptr<arrow::Table>> HitsTable(const Table& table,
                                                       const SearchOptions& options,
                                                       const std::vector<std::vector<Hit>>& hits,
                                                       bool with_query) {
  std::vector<RowId> ids;
  arrow::UInt32Builder query;
  arrow::FloatBuilder dist;
  arrow::UInt64Builder rid;
  for (size_t q = 0; q < hits.size(); ++q) {
    for (const auto& h : hits[q]) {
      ids.push_back(h.row_id);
      ARROW_RETURN_NOT_OK(query.Append(static_cast<uint32_t>(q)));
      ARROW_RETURN_NOT_OK(dist.Append(h.distance));
      ARROW_RETURN_NOT_OK(rid.Append(h.row_id));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto out, query::TakeResultRows(table, options.columns, ids));
  std::shared_ptr<arrow::Array> query_arr, dist_arr, rid_arr;
  ARROW_RETURN_NOT_OK(query.Finish(&query_arr));
  ARROW_RETURN_NOT_OK(dist.Finish(&dist_arr));
  ARROW_RETURN_NOT_OK(rid.Finish(&rid_arr));
  if (with_query) {
    ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_query", query_arr, 0));
  }
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_distance", dist_arr));
  return query::AppendResultColumn(out, "_rowid", rid_arr);
}

arrow::Result<std::vector<std::vector<Hit>>> SearchQueries(const Table& table,
                                                           std::span<const float> queries,
                                                           uint32_t num_queries,
                                                           const SearchOptions& options,
                                                           SearchStats* stats) {
  const IoStats io_before = table.io_stats();
  ARROW_ASSIGN_OR_RAISE(Plan plan, MakePlan(table, queries, num_queries, options));
  std::deque<TopK> tops;  // TopK holds a mutex: not movable
  for (uint32_t q = 0; q < num_queries; ++q) tops.emplace_back(options.k);
  std::atomic<int> pruned{0}, indexed{0}, exact{0};
  std::mutex err_mu;
  arrow::Status first_error;

  // IVF-PQ files of one shared codebook are searched together, as one index
  // (SearchSharedIvfPq): one coarse step, one candidate pool, one re-rank per
  // query, whatever the number of files. Their allow-lists are computed
  // here, once per call.
  std::map<uint64_t, std::vector<size_t>> groups;  // codebook -> tasks
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    if (plan.tasks[i].shared_codebook != 0) groups[plan.tasks[i].shared_codebook].push_back(i);
  }
  for (auto it = groups.begin(); it != groups.end();) {
    it = it->second.size() < 2 ? groups.erase(it) : std::next(it);
  }
  std::vector<std::optional<RowBitmap>> allowed(plan.tasks.size());
  std::vector<bool> grouped(plan.tasks.size(), false);
  for (const auto& [fp, members] : groups) {
    for (size_t i : members) {
      grouped[i] = true;
      ARROW_ASSIGN_OR_RAISE(allowed[i],
                            query::AllowedRows(table, *plan.tasks[i].fragment, options.filter));
    }
    indexed += static_cast<int>(members.size());
  }
  auto search_group = [&](const std::vector<size_t>& members, uint32_t q) -> arrow::Status {
    std::vector<IndexPart> parts;
    std::vector<RowFilter> filters(members.size());
    std::vector<size_t> part_task;
    for (size_t j = 0; j < members.size(); ++j) {
      const FileTask& task = plan.tasks[members[j]];
      if (task.lower_bounds[q] > tops[q].Bound()) continue;
      const auto& rows = allowed[members[j]];
      if (rows) filters[j] = rows->filter();
      parts.push_back({task.index.get(), rows ? &filters[j] : nullptr});
      part_task.push_back(members[j]);
    }
    const uint32_t dim = plan.policy.dim;
    std::span<const float> query(plan.queries.data() + static_cast<size_t>(q) * dim, dim);
    ARROW_ASSIGN_OR_RAISE(auto found, SearchSharedIvfPq(parts, query, options.k, options.params));
    std::vector<Hit> hits;
    hits.reserve(found.size());
    for (const auto& n : found) {
      const auto frag_id = static_cast<uint32_t>(plan.tasks[part_task[n.part]].fragment->id());
      hits.push_back({n.distance, MakeRowId(frag_id, n.row)});
    }
    tops[q].Add(hits);
    return arrow::Status::OK();
  };

  auto search_one = [&](const FileTask& task) -> arrow::Status {
    // The queries this file can still contribute to.
    std::vector<uint32_t> which;
    for (uint32_t q = 0; q < num_queries; ++q) {
      if (!(task.lower_bounds[q] > tops[q].Bound())) which.push_back(q);
    }
    if (which.empty()) {
      ++pruned;
      return arrow::Status::OK();
    }
    const table::Fragment& frag = *task.fragment;
    ARROW_ASSIGN_OR_RAISE(auto rows, query::AllowedRows(table, frag, options.filter));
    if (rows && rows->Count() == 0) return arrow::Status::OK();
    const RowFilter filter = rows ? rows->filter() : RowFilter{};
    ARROW_ASSIGN_OR_RAISE(auto found,
                          SearchFile(plan, task, which, options, rows ? &filter : nullptr));
    ++(task.has_index ? indexed : exact);
    std::vector<Hit> hits;
    for (size_t i = 0; i < which.size(); ++i) {
      hits.clear();
      for (const auto& n : found[i]) {
        hits.push_back({n.distance, MakeRowId(static_cast<uint32_t>(frag.id()), n.row)});
      }
      tops[which[i]].Add(hits);
    }
    return arrow::Status::OK();
  };
  // Work units: each (group, query), then each file not in a group.
  struct Unit {
    size_t task = 0;
    const std::vector<size_t>* group = nullptr;
    uint32_t query = 0;
  };
  std::vector<Unit> units;
  for (const auto& [fp, members] : groups) {
    for (uint32_t q = 0; q < num_queries; ++q) units.push_back({0, &members, q});
  }
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    if (!grouped[i]) units.push_back({i, nullptr, 0});
  }
  query::RunParallel(units.size(), options.num_threads, [&](size_t u) {
    const Unit& unit = units[u];
    arrow::Status st = unit.group != nullptr ? search_group(*unit.group, unit.query)
                                             : search_one(plan.tasks[unit.task]);
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(err_mu);
      if (first_error.ok()) first_error = st;
    }
  });
  ARROW_RETURN_NOT_OK(first_error);
  std::vector<std::vector<Hit>> hits;
  hits.reserve(num_queries);
  for (auto& top : tops) hits.push_back(top.Sorted());
  if (stats) {
    stats->io = table.io_stats() - io_before;
    stats->files = static_cast<int>(plan.tasks.size());
    stats->files_pruned = pruned;
    stats->files_index_searched = indexed;
    stats->files_exact_scanned = exact;
  }
  return hits;
}

arrow::Result<std::shared_ptr<arrow::Table>> SearchTable(const Table& table,
                                                         std::span<const float> queries,
                                                         uint32_t num_queries,
                                                         const SearchOptions& options,
                                                         SearchStats* stats, bool with_query) {
  const IoStats io_before = table.io_stats();
  ARROW_ASSIGN_OR_RAISE(auto hits, SearchQueries(table, queries, num_queries, options, stats));
  auto result = HitsTable(table, options, hits, with_query);
  // After the returned rows are read too: the whole call's requests.
  if (stats) stats->io = table.io_stats() - io_before;
  return result;
}

}  // namespace

arrow::Result<std::vector<query::RankedRow>> query::VectorSearchRows(const Table& table,
                                                                     std::span<const float> query,
                                                                     const SearchOptions& options,
                                                                     SearchStats* stats) {
  ARROW_ASSIGN_OR_RAISE(auto hits, SearchQueries(table, query, 1, options, stats));
  std::vector<RankedRow> out;
  out.reserve(hits[0].size());
  for (const Hit& h : hits[0]) out.push_back({h.row_id, h.distance});
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> Search(const Table& table,
                                                    std::span<const float> query,
                                                    const SearchOptions& options,
                                                    SearchStats* stats) {
  return SearchTable(table, query, 1, options, stats, /*with_query=*/false);
}

arrow::Result<std::shared_ptr<arrow::Table>> SearchBatch(const Table& table,
                                                         std::span<const float> queries,
                                                         uint32_t num_queries,
                                                         const SearchOptions& options,
                                                         SearchStats* stats) {
  return SearchTable(table, queries, num_queries, options, stats, /*with_query=*/true);
}

arrow::Result<std::shared_ptr<arrow::Table>> Table::Search(std::span<const float> query,
                                                           const SearchOptions& options,
                                                           SearchStats* stats) const {
  return ailake::Search(*this, query, options, stats);
}

arrow::Result<std::shared_ptr<arrow::Table>> Table::SearchBatch(std::span<const float> queries,
                                                                uint32_t num_queries,
                                                                const SearchOptions& options,
                                                                SearchStats* stats) const {
  return ailake::SearchBatch(*this, queries, num_queries, options, stats);
}

}  // namespace ailake
