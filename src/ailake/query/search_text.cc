// Table-wide full-text and hybrid search (include/ailake/text_search.h).
//
// Text search, per call: resolve the text column and the analyzer (the
// query's, else the column's full-text index's); per fragment, the inverted
// index of the column (the section its data file carries, read in place, or
// else built from the column on first use with this analyzer; either kept
// by the table context) and the live rows; parse the
// query with the index's analyzer; prepare every fragment (terms looked up,
// postings decoded) and sum their statistics; search every fragment with the
// summed statistics and the filter's allow-list; merge by score.
//
// Hybrid: the vector rows and the text rows (candidates of each, the same
// filter), fused by reciprocal rank or a weighted sum of normalised scores,
// then the chosen columns read with one Take.
#include <arrow/builder.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "ailake/index/text_search.h"
#include "ailake/query.h"
#include "ailake/query/result_rows.h"
#include "ailake/query/search_pool.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_schema.h"
#include "ailake/table/text_columns.h"
#include "ailake/text/analyzer.h"

namespace ailake {
namespace {

arrow::Result<std::string> ResolveTextColumn(const Table& table, const std::string& name) {
  const auto& schema = table.schema();
  std::vector<std::string> text_columns;
  for (const auto& f : schema->fields()) {
    if (index::IsTextType(*f->type())) text_columns.push_back(f->name());
  }
  std::string listed;
  for (const auto& c : text_columns) listed += (listed.empty() ? "'" : ", '") + c + "'";
  if (listed.empty()) listed = "none";
  if (!name.empty()) {
    auto field = schema->GetFieldByName(name);
    if (field == nullptr) {
      return arrow::Status::KeyError("no column '", name, "' in table '", table.uri(),
                                     "' (its text columns: ", listed, ")");
    }
    if (!index::IsTextType(*field->type())) {
      return arrow::Status::TypeError("column '", name, "' is ", field->type()->ToString(),
                                      ", not text (a string column or a list of strings)");
    }
    return name;
  }
  if (text_columns.size() == 1) return text_columns[0];
  if (text_columns.empty()) {
    return arrow::Status::Invalid("table '", table.uri(),
                                  "' has no text column (a string column or a list of strings)");
  }
  return arrow::Status::Invalid("table '", table.uri(), "' has several text columns (", listed,
                                "): name one as the text column");
}

// The fragment's index of `column`, built from its rows (deleted ones too:
// the index is the file's, and deletes are applied at query time).
arrow::Result<std::shared_ptr<const index::TextIndex>> BuildFragmentIndex(
    const Table& table, const table::Fragment& frag, const std::string& column,
    std::shared_ptr<const text::Analyzer> analyzer) {
  ARROW_ASSIGN_OR_RAISE(auto rows, table::ReadFragmentColumns(table, frag, {column}, nullptr));
  index::TextIndexBuilder builder(std::move(analyzer), /*with_positions=*/true);
  for (const auto& chunk : rows->column(0)->chunks()) {
    ARROW_RETURN_NOT_OK(index::AddTextRows(*chunk, &builder));
  }
  if (builder.num_rows() != frag.physical_rows()) {
    return arrow::Status::Invalid("fragment ", frag.id(), " of table '", table.uri(), "' read ",
                                  builder.num_rows(), " rows of column '", column,
                                  "', its manifest says ", frag.physical_rows());
  }
  ARROW_ASSIGN_OR_RAISE(auto blob, builder.Finish());
  return index::TextIndex::Load(std::move(blob));
}

// Where the fragment's values of the column live: the data file and its
// column (immutable, so an index built from them stays right), or "" when no
// file holds the column (a column added later: every row null).
std::string IndexKey(const table::Manifest& m, const table::Fragment& frag,
                     const std::string& column, const std::string& analyzer) {
  const int32_t field_id = table::TopLevelFieldId(m, column);
  for (const auto& df : frag.files()) {
    for (int i = 0; i < df.fields_size(); ++i) {
      if (df.fields(i) == field_id && df.column_indices(i) >= 0) {
        return df.path() + '\n' + std::to_string(df.column_indices(i)) + '\n' + analyzer;
      }
    }
  }
  return "";
}

arrow::Status CheckOptions(const TextSearchOptions& o) {
  if (o.k == 0) return arrow::Status::Invalid("k must be at least 1");
  if (!std::isfinite(o.k1) || o.k1 < 0) {
    return arrow::Status::Invalid("BM25 k1 must be finite and >= 0, got ", o.k1);
  }
  if (!(o.b >= 0 && o.b <= 1)) return arrow::Status::Invalid("BM25 b must be in [0, 1], got ", o.b);
  return o.analyzer ? o.analyzer->Validate() : arrow::Status::OK();
}

// The text index data file `df` carries for its column `column_index`, read
// in place (the file's name for the column may be an older one); null when
// it was built with an analyzer other than `analyzer`.
arrow::Result<std::shared_ptr<const index::TextIndex>> LoadFragmentIndex(
    const Table& table, const table::DataFile& df, int32_t column_index,
    const TextAnalyzerConfig& analyzer) {
  const auto& ctx = table::TableAccess::context(table);
  ARROW_ASSIGN_OR_RAISE(auto file,
                        ctx->OpenDataFile(df.path(), static_cast<int64_t>(df.file_size_bytes())));
  ARROW_ASSIGN_OR_RAISE(const std::string name, file->FieldNameOfColumn(column_index));
  ARROW_ASSIGN_OR_RAISE(auto bytes, file->ReadTextSection(name));
  auto loaded = index::TextIndex::Load(std::move(bytes));
  if (!loaded.ok()) {
    return loaded.status().WithMessage("data file '", df.path(), "', text index of column '", name,
                                       "': ", loaded.status().message());
  }
  if ((*loaded)->num_rows() != static_cast<uint32_t>(file->num_rows())) {
    return arrow::Status::Invalid("data file '", df.path(), "': the text index of column '", name,
                                  "' covers ", (*loaded)->num_rows(), " rows, the file has ",
                                  file->num_rows());
  }
  // Built with another analyzer (its commit raced a change of the column's
  // index; verify reports it): not this search's index.
  if (!((*loaded)->analyzer().config() == analyzer)) return nullptr;
  return loaded;
}

struct FragmentPart {
  const table::Fragment* fragment = nullptr;
  std::shared_ptr<const index::TextIndex> index;
  std::optional<RowBitmap> live;
  std::optional<index::TextFileQuery> query;
  std::vector<index::TextHit> hits;
};

// Runs fn on every part in parallel; the first error wins.
arrow::Status ForEachPart(std::vector<FragmentPart>& parts, uint32_t threads,
                          const std::function<arrow::Status(FragmentPart&)>& fn) {
  std::mutex mu;
  arrow::Status first;
  query::RunParallel(parts.size(), threads, [&](size_t i) {
    arrow::Status st = fn(parts[i]);
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      if (first.ok()) first = std::move(st);
    }
  });
  return first;
}

}  // namespace

arrow::Result<std::vector<query::RankedRow>> query::TextSearchRows(const Table& table,
                                                                   std::string_view text_query,
                                                                   const TextSearchOptions& o,
                                                                   SearchStats* stats) {
  const IoStats io_before = table.io_stats();
  ARROW_RETURN_NOT_OK(CheckOptions(o));
  ARROW_ASSIGN_OR_RAISE(const std::string column, ResolveTextColumn(table, o.text_column));
  const table::Manifest& m = table::TableAccess::manifest(table);
  const auto& ctx = table::TableAccess::context(table);
  ARROW_ASSIGN_OR_RAISE(const auto fragments, query::SearchedFragments(table, o.fragment_ids));
  std::vector<FragmentPart> parts(fragments.size());
  for (size_t i = 0; i < fragments.size(); ++i) parts[i].fragment = fragments[i];
  // The analyzer: the query's, else the column's full-text index's. Files
  // carrying that index's section are read in place when the two agree.
  const int32_t field_id = table::TopLevelFieldId(m, column);
  std::optional<TextIndexConfig> indexed;
  if (table::TextColumnOf(m, field_id) != nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto all, table::TextIndexesOf(m));
    for (auto& c : all) {
      if (c.column == column) indexed = std::move(c);
    }
  }
  const TextAnalyzerConfig chosen =
      o.analyzer ? *o.analyzer : (indexed ? indexed->analyzer : TextAnalyzerConfig{});
  const bool use_sections = indexed && indexed->analyzer == chosen;
  // One analyzer for the indexes this call builds, made on the first miss.
  const std::string analyzer_text = chosen.Serialize();
  std::mutex analyzer_mu;
  std::shared_ptr<const text::Analyzer> analyzer;
  auto get_analyzer = [&]() -> arrow::Result<std::shared_ptr<const text::Analyzer>> {
    std::lock_guard<std::mutex> lock(analyzer_mu);
    if (!analyzer) {
      ARROW_ASSIGN_OR_RAISE(analyzer, text::Analyzer::Make(chosen));
    }
    return analyzer;
  };
  ARROW_RETURN_NOT_OK(ForEachPart(parts, o.num_threads, [&](FragmentPart& p) -> arrow::Status {
    auto build = [&]() -> arrow::Result<table::TableContext::TextIndexPtr> {
      ARROW_ASSIGN_OR_RAISE(auto a, get_analyzer());
      return BuildFragmentIndex(table, *p.fragment, column, std::move(a));
    };
    const std::string key = IndexKey(m, *p.fragment, column, analyzer_text);
    // A data file carrying the column's index section: read in place.
    for (const auto& df : p.fragment->files()) {
      const auto& carried = df.text_fields();
      if (!use_sections || std::find(carried.begin(), carried.end(), field_id) == carried.end()) {
        continue;
      }
      for (int i = 0; i < df.fields_size(); ++i) {
        if (df.fields(i) != field_id || df.column_indices(i) < 0) continue;
        const int32_t column_index = df.column_indices(i);
        auto load = [&]() -> arrow::Result<table::TableContext::TextIndexPtr> {
          ARROW_ASSIGN_OR_RAISE(auto loaded, LoadFragmentIndex(table, df, column_index, chosen));
          if (loaded != nullptr) return loaded;
          return build();
        };
        ARROW_ASSIGN_OR_RAISE(p.index, ctx->TextIndexFor(key + "\nsection", load));
      }
    }
    if (p.index == nullptr) {
      ARROW_ASSIGN_OR_RAISE(p.index, key.empty() ? build() : ctx->TextIndexFor(key, build));
    }
    ARROW_ASSIGN_OR_RAISE(p.live, query::AllowedRows(table, *p.fragment, std::nullopt));
    return arrow::Status::OK();
  }));
  std::shared_ptr<const text::Analyzer> query_analyzer =
      parts.empty() ? nullptr : parts[0].index->analyzer_ptr();
  if (!query_analyzer) {
    ARROW_ASSIGN_OR_RAISE(query_analyzer, get_analyzer());
  }
  ARROW_ASSIGN_OR_RAISE(const index::TextQuery parsed,
                        index::ParseTextQuery(text_query, *query_analyzer));
  ARROW_RETURN_NOT_OK(ForEachPart(parts, o.num_threads, [&](FragmentPart& p) -> arrow::Status {
    const RowFilter live = p.live ? p.live->filter() : RowFilter{};
    ARROW_ASSIGN_OR_RAISE(
        p.query, index::TextFileQuery::Prepare(*p.index, parsed, p.live ? &live : nullptr));
    return arrow::Status::OK();
  }));
  index::TextStats text_stats;
  for (const auto& p : parts) p.query->AddStats(&text_stats);
  int searched = 0;
  std::mutex searched_mu;
  ARROW_RETURN_NOT_OK(ForEachPart(parts, o.num_threads, [&](FragmentPart& p) -> arrow::Status {
    std::optional<RowBitmap> allow;
    if (o.filter) {
      ARROW_ASSIGN_OR_RAISE(allow, query::AllowedRows(table, *p.fragment, o.filter));
      if (allow && allow->Count() == 0) return arrow::Status::OK();
    }
    const RowFilter allow_filter = allow ? allow->filter() : RowFilter{};
    ARROW_ASSIGN_OR_RAISE(p.hits, p.query->Search(text_stats, o.k, allow ? &allow_filter : nullptr,
                                                  index::Bm25Params{o.k1, o.b}));
    std::lock_guard<std::mutex> lock(searched_mu);
    ++searched;
    return arrow::Status::OK();
  }));
  std::vector<RankedRow> rows;
  for (const auto& p : parts) {
    for (const auto& h : p.hits) {
      rows.push_back({MakeRowId(static_cast<uint32_t>(p.fragment->id()), h.row), h.score});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const RankedRow& a, const RankedRow& b) {
    return a.value > b.value || (a.value == b.value && a.row_id < b.row_id);
  });
  if (rows.size() > o.k) rows.resize(o.k);
  if (stats) {
    stats->io = table.io_stats() - io_before;
    stats->files = static_cast<int>(parts.size());
    stats->files_pruned = 0;
    stats->files_index_searched = searched;
    stats->files_exact_scanned = 0;
  }
  return rows;
}

arrow::Result<std::shared_ptr<arrow::Table>> Table::SearchText(std::string_view text_query,
                                                               const TextSearchOptions& options,
                                                               SearchStats* stats) const {
  const IoStats io_before = io_stats();
  ARROW_ASSIGN_OR_RAISE(auto rows, query::TextSearchRows(*this, text_query, options, stats));
  std::vector<RowId> ids;
  arrow::FloatBuilder score;
  arrow::UInt64Builder rid;
  for (const auto& r : rows) {
    ids.push_back(r.row_id);
    ARROW_RETURN_NOT_OK(score.Append(r.value));
    ARROW_RETURN_NOT_OK(rid.Append(r.row_id));
  }
  ARROW_ASSIGN_OR_RAISE(auto out, query::TakeResultRows(*this, options.columns, ids));
  std::shared_ptr<arrow::Array> score_arr, rid_arr;
  ARROW_RETURN_NOT_OK(score.Finish(&score_arr));
  ARROW_RETURN_NOT_OK(rid.Finish(&rid_arr));
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_score", score_arr));
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_rowid", rid_arr));
  if (stats) stats->io = io_stats() - io_before;
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> Table::SearchHybrid(
    std::span<const float> vector_query, std::string_view text_query, const HybridSearchOptions& o,
    SearchStats* stats) const {
  const IoStats io_before = io_stats();
  if (o.k == 0) return arrow::Status::Invalid("k must be at least 1");
  if (o.fusion == FusionMethod::kReciprocalRank && !(std::isfinite(o.rrf_k) && o.rrf_k >= 0)) {
    return arrow::Status::Invalid("rrf_k must be finite and >= 0, got ", o.rrf_k);
  }
  if (o.fusion == FusionMethod::kLinear && !(o.text_weight >= 0 && o.text_weight <= 1)) {
    return arrow::Status::Invalid("text_weight must be in [0, 1], got ", o.text_weight);
  }
  if (o.vector.filter || o.text.filter || !o.vector.columns.empty() || !o.text.columns.empty()) {
    return arrow::Status::Invalid(
        "hybrid search: set filter and columns on HybridSearchOptions, not on its vector or text "
        "options");
  }
  const uint64_t candidates = o.candidates != 0 ? o.candidates : uint64_t{2} * o.k;
  if (candidates < o.k || candidates > UINT32_MAX) {
    return arrow::Status::Invalid("hybrid search: candidates (", candidates,
                                  ") must be at least k (", o.k, ") and below 2^32");
  }
  SearchOptions vo = o.vector;
  vo.k = static_cast<uint32_t>(candidates);
  vo.filter = o.filter;
  TextSearchOptions to = o.text;
  to.k = static_cast<uint32_t>(candidates);
  to.filter = o.filter;
  SearchStats vs, ts;
  ARROW_ASSIGN_OR_RAISE(auto vrows, query::VectorSearchRows(*this, vector_query, vo, &vs));
  ARROW_ASSIGN_OR_RAISE(auto trows, query::TextSearchRows(*this, text_query, to, &ts));

  struct Fused {
    float relevance = 0;
    float distance = NAN;
    float score = NAN;
  };
  std::unordered_map<RowId, Fused> fused;
  auto add = [&](const std::vector<query::RankedRow>& rows, bool is_text) {
    float lo = INFINITY, hi = -INFINITY;
    for (const auto& r : rows) {
      lo = std::min(lo, r.value);
      hi = std::max(hi, r.value);
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      Fused& f = fused[rows[i].row_id];
      (is_text ? f.score : f.distance) = rows[i].value;
      if (o.fusion == FusionMethod::kReciprocalRank) {
        f.relevance += 1.0f / (o.rrf_k + static_cast<float>(i + 1));
      } else {
        // Normalised to [0, 1], 1 the best of the list (a list whose values
        // are all equal scores 1 throughout).
        float norm = hi > lo ? (rows[i].value - lo) / (hi - lo) : 1.0f;
        if (!is_text && hi > lo) norm = 1.0f - norm;  // distances: smaller is better
        f.relevance += (is_text ? o.text_weight : 1.0f - o.text_weight) * norm;
      }
    }
  };
  add(vrows, false);
  add(trows, true);
  std::vector<std::pair<RowId, Fused>> ranked(fused.begin(), fused.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second.relevance > b.second.relevance ||
           (a.second.relevance == b.second.relevance && a.first < b.first);
  });
  if (ranked.size() > o.k) ranked.resize(o.k);

  std::vector<RowId> ids;
  arrow::FloatBuilder relevance, distance, score;
  arrow::UInt64Builder rid;
  for (const auto& [id, f] : ranked) {
    ids.push_back(id);
    ARROW_RETURN_NOT_OK(relevance.Append(f.relevance));
    ARROW_RETURN_NOT_OK(std::isnan(f.distance) ? distance.AppendNull()
                                               : distance.Append(f.distance));
    ARROW_RETURN_NOT_OK(std::isnan(f.score) ? score.AppendNull() : score.Append(f.score));
    ARROW_RETURN_NOT_OK(rid.Append(id));
  }
  ARROW_ASSIGN_OR_RAISE(auto out, query::TakeResultRows(*this, o.columns, ids));
  std::shared_ptr<arrow::Array> relevance_arr, distance_arr, score_arr, rid_arr;
  ARROW_RETURN_NOT_OK(relevance.Finish(&relevance_arr));
  ARROW_RETURN_NOT_OK(distance.Finish(&distance_arr));
  ARROW_RETURN_NOT_OK(score.Finish(&score_arr));
  ARROW_RETURN_NOT_OK(rid.Finish(&rid_arr));
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_relevance_score", relevance_arr));
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_distance", distance_arr));
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_score", score_arr));
  ARROW_ASSIGN_OR_RAISE(out, query::AppendResultColumn(out, "_rowid", rid_arr));
  if (stats) {
    stats->files = vs.files + ts.files;
    stats->files_pruned = vs.files_pruned;
    stats->files_index_searched = vs.files_index_searched + ts.files_index_searched;
    stats->files_exact_scanned = vs.files_exact_scanned;
    stats->io = io_stats() - io_before;
  }
  return out;
}

}  // namespace ailake
