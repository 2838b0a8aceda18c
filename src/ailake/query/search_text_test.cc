// Table-wide full-text and hybrid search. The oracle for the merge across
// fragments is one inverted index over the table's live rows searched alone:
// with table-wide statistics the per-fragment results must merge to exactly
// its ranking and scores (rows here hold fewer than 24 tokens, where the
// one-byte length scale is exact, so deletes change nothing but the rows).
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <random>
#include <thread>

#include "ailake/index/text_search.h"
#include "ailake/query.h"
#include "ailake/table/table_test_util.h"
#include "ailake/text/analyzer.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;
using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestPolicy;

constexpr uint32_t kDim = 8;
constexpr int kFragments = 5;
constexpr int kRowsPerFragment = 300;

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64(), false), arrow::field("body", arrow::utf8()),
       arrow::field("tags", arrow::list(arrow::utf8())),
       arrow::field("category", arrow::int32(), false),
       arrow::field("embedding",
                    arrow::fixed_size_list(arrow::field("item", arrow::float32(), false), kDim),
                    false)});
}

class SearchTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempTableDir("fts");
    const std::vector<std::string> vocab = {
        "lake",   "vector", "index",  "table",  "file",   "search", "query", "merge",  "parquet",
        "arrow",  "column", "row",    "delete", "commit", "graph",  "scan",  "filter", "score",
        "stream", "batch",  "engine", "data",   "fast",   "exact",  "lance", "spark",  "ray"};
    std::mt19937 rng(7);
    // Zipf-like: word i with weight 1 / (i + 1).
    std::vector<double> w;
    w.reserve(vocab.size());
    for (size_t i = 0; i < vocab.size(); ++i) w.push_back(1.0 / static_cast<double>(i + 1));
    std::discrete_distribution<size_t> word(w.begin(), w.end());
    std::uniform_int_distribution<int> len(1, 20);
    auto writer = TableWriter::Create(dir_, Schema(), {TestPolicy(kDim)}).ValueOrDie();
    for (int f = 0; f < kFragments; ++f) {
      arrow::Int64Builder ids;
      arrow::StringBuilder body;
      arrow::ListBuilder tags(arrow::default_memory_pool(),
                              std::make_shared<arrow::StringBuilder>());
      auto* tag_values = static_cast<arrow::StringBuilder*>(tags.value_builder());
      arrow::Int32Builder cats;
      for (int r = 0; r < kRowsPerFragment; ++r) {
        const int64_t id = int64_t{f} * kRowsPerFragment + r;
        ASSERT_TRUE(ids.Append(id).ok());
        if (id % 17 == 0) {
          ASSERT_TRUE(body.AppendNull().ok());
          texts_.emplace_back();
        } else {
          std::string s;
          const int n = len(rng);
          for (int i = 0; i < n; ++i) s += (i ? (i % 4 == 0 ? ", " : " ") : "") + vocab[word(rng)];
          if (id % 5 == 0) s[0] = static_cast<char>(std::toupper(s[0]));
          ASSERT_TRUE(body.Append(s).ok());
          texts_.push_back(s);
        }
        ASSERT_TRUE(tags.Append().ok());
        ASSERT_TRUE(tag_values->Append(vocab[id % vocab.size()]).ok());
        ASSERT_TRUE(tag_values->Append("t" + std::to_string(id % 3)).ok());
        ASSERT_TRUE(cats.Append(static_cast<int32_t>(id % 4)).ok());
      }
      auto vecs = ClusteredVectors(kRowsPerFragment, kDim, int64_t{f} * kRowsPerFragment);
      vectors_.insert(vectors_.end(), vecs.begin(), vecs.end());
      auto values = std::make_shared<arrow::FloatArray>(
          kRowsPerFragment * kDim, arrow::Buffer::FromVector(std::vector<float>(vecs)));
      auto emb = std::make_shared<arrow::FixedSizeListArray>(Schema()->field(4)->type(),
                                                             kRowsPerFragment, values);
      std::shared_ptr<arrow::Array> a, b, c, d;
      ASSERT_TRUE(ids.Finish(&a).ok());
      ASSERT_TRUE(body.Finish(&b).ok());
      ASSERT_TRUE(tags.Finish(&c).ok());
      ASSERT_TRUE(cats.Finish(&d).ok());
      auto batch = arrow::RecordBatch::Make(Schema(), kRowsPerFragment, {a, b, c, d, emb});
      ASSERT_TRUE(writer->WriteBatch(*batch).ok());
    }
    table_ = Table::Open(dir_).ValueOrDie();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // (id, score) of the oracle: one index over the rows `live` keeps, searched
  // alone, restricted to rows `allow` keeps.
  std::vector<std::pair<int64_t, float>> Oracle(const std::string& query, uint32_t k,
                                                const std::function<bool(int64_t)>& live,
                                                const std::function<bool(int64_t)>& allow) {
    auto analyzer = text::Analyzer::Make(text::AnalyzerConfig{}).ValueOrDie();
    index::TextIndexBuilder builder(analyzer);
    std::vector<int64_t> ids;
    for (int64_t id = 0; id < static_cast<int64_t>(texts_.size()); ++id) {
      if (!live(id)) continue;
      ids.push_back(id);
      std::vector<std::string_view> v;
      if (!texts_[id].empty()) v.push_back(texts_[id]);
      EXPECT_TRUE(builder.AddRow(v).ok());
    }
    auto one = index::TextIndex::Load(builder.Finish().ValueOrDie()).ValueOrDie();
    auto parsed = index::ParseTextQuery(query, one->analyzer()).ValueOrDie();
    auto q = index::TextFileQuery::Prepare(*one, parsed, nullptr).ValueOrDie();
    index::TextStats stats;
    q.AddStats(&stats);
    RowBitmap allowed(static_cast<uint32_t>(ids.size()));
    for (size_t r = 0; r < ids.size(); ++r) {
      if (allow(ids[r])) allowed.Set(static_cast<uint32_t>(r));
    }
    const RowFilter filter = allowed.filter();
    auto hits = q.Search(stats, k, &filter).ValueOrDie();
    std::vector<std::pair<int64_t, float>> out;
    out.reserve(hits.size());
    for (const auto& h : hits) out.emplace_back(ids[h.row], h.score);
    return out;
  }

  static std::vector<std::pair<int64_t, float>> IdsAndScores(const arrow::Table& t) {
    auto id = std::static_pointer_cast<arrow::Int64Array>(
        arrow::Concatenate(t.GetColumnByName("id")->chunks()).ValueOrDie());
    auto score = std::static_pointer_cast<arrow::FloatArray>(
        arrow::Concatenate(t.GetColumnByName("_score")->chunks()).ValueOrDie());
    std::vector<std::pair<int64_t, float>> out;
    out.reserve(static_cast<size_t>(t.num_rows()));
    for (int64_t i = 0; i < t.num_rows(); ++i) out.emplace_back(id->Value(i), score->Value(i));
    return out;
  }

  // Equal up to the order of rows with equal scores (ids break ties in the
  // table, file rows in the oracle: the same order here, ids ascend with rows).
  static void ExpectSame(const std::vector<std::pair<int64_t, float>>& got,
                         const std::vector<std::pair<int64_t, float>>& want, const std::string& q) {
    ASSERT_EQ(got.size(), want.size()) << q;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, want[i].first) << q << " rank " << i;
      EXPECT_NEAR(got[i].second, want[i].second, 1e-5f * std::max(1.0f, want[i].second))
          << q << " rank " << i;
    }
  }

  std::string dir_;
  std::vector<std::string> texts_;
  std::vector<float> vectors_;
  std::shared_ptr<Table> table_;
};

const std::vector<std::string> kQueries = {
    "lake",  "spark ray",     "+vector +index",   "\"vector index\"",
    "sea*",  "+lake -vector", "fast exact lance", "\"data engine\" arrow",
    "Merge", "nothing"};

auto All = [](int64_t) { return true; };

TEST_F(SearchTextTest, FragmentsMergeExactlyAsOneIndex) {
  for (const auto& q : kQueries) {
    TextSearchOptions o;
    o.k = 25;
    o.text_column = "body";
    auto got = table_->SearchText(q, o);
    ASSERT_TRUE(got.ok()) << q << ": " << got.status().ToString();
    ExpectSame(IdsAndScores(**got), Oracle(q, o.k, All, All), q);
  }
  // A query matching nothing returns an empty table with the same columns.
  TextSearchOptions o;
  o.text_column = "body";
  auto none = table_->SearchText("nothing", o).ValueOrDie();
  EXPECT_EQ(none->num_rows(), 0);
  EXPECT_EQ(none->schema()->field(none->num_columns() - 2)->name(), "_score");
  EXPECT_EQ(none->schema()->field(none->num_columns() - 1)->name(), "_rowid");
}

TEST_F(SearchTextTest, FiltersAndDeletesGoInsideTheSearch) {
  auto deleted = table_->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{400})));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  auto t = table_->Latest().ValueOrDie();
  auto live = [](int64_t id) { return id >= 400; };
  auto cat1 = [](int64_t id) { return id % 4 == 1; };
  for (const auto& q : kQueries) {
    TextSearchOptions o;
    o.k = 30;
    o.text_column = "body";
    o.filter = cp::equal(cp::field_ref("category"), cp::literal(int32_t{1}));
    auto got = t->SearchText(q, o);
    ASSERT_TRUE(got.ok()) << q << ": " << got.status().ToString();
    ExpectSame(IdsAndScores(**got), Oracle(q, o.k, live, cat1), q);
  }
  // k rows come back whenever k live rows match: "lake" is in most rows.
  TextSearchOptions o;
  o.k = 40;
  o.text_column = "body";
  o.filter = cp::equal(cp::field_ref("category"), cp::literal(int32_t{3}));
  auto r = t->SearchText("lake", o).ValueOrDie();
  EXPECT_EQ(r->num_rows(), 40);
  // The version before the delete still searches its own rows.
  o.filter.reset();
  ExpectSame(IdsAndScores(*table_->SearchText("spark", o).ValueOrDie()),
             Oracle("spark", o.k, All, All), "old version");
}

TEST_F(SearchTextTest, ListColumnsAndFragmentShares) {
  TextSearchOptions o;
  o.text_column = "tags";
  o.k = 1000;
  o.columns = {"id"};
  auto r = table_->SearchText("+t1 +lake", o).ValueOrDie();
  auto id = std::static_pointer_cast<arrow::Int64Array>(
      arrow::Concatenate(r->GetColumnByName("id")->chunks()).ValueOrDie());
  int64_t want = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(texts_.size()); ++i)
    want += i % 3 == 1 && i % 27 == 0;
  EXPECT_EQ(r->num_rows(), want);
  for (int64_t i = 0; i < id->length(); ++i) EXPECT_EQ(id->Value(i) % 3, 1);
  EXPECT_EQ(r->num_columns(), 3);
  // A share: only fragment 2's rows.
  o.text_column = "body";
  o.k = 10;
  o.fragment_ids = {2};
  auto share = table_->SearchText("lake", o).ValueOrDie();
  auto sid = std::static_pointer_cast<arrow::Int64Array>(
      arrow::Concatenate(share->GetColumnByName("id")->chunks()).ValueOrDie());
  for (int64_t i = 0; i < sid->length(); ++i) {
    EXPECT_EQ(sid->Value(i) / kRowsPerFragment, 2) << "fragment ids count the writes from 0";
  }
  EXPECT_EQ(sid->length(), 10);
  o.fragment_ids = {99};
  EXPECT_TRUE(table_->SearchText("lake", o).status().IsKeyError());
}

TEST_F(SearchTextTest, BadInputGivesClearErrors) {
  TextSearchOptions o;
  auto several = table_->SearchText("lake", o);
  ASSERT_FALSE(several.ok());
  EXPECT_NE(several.status().message().find("several text columns ('body', 'tags')"),
            std::string::npos)
      << several.status().ToString();
  o.text_column = "category";
  EXPECT_TRUE(table_->SearchText("lake", o).status().IsTypeError());
  o.text_column = "nope";
  EXPECT_TRUE(table_->SearchText("lake", o).status().IsKeyError());
  o.text_column = "body";
  o.k = 0;
  EXPECT_TRUE(table_->SearchText("lake", o).status().IsInvalid());
  o.k = 10;
  o.b = 2;
  EXPECT_NE(table_->SearchText("lake", o).status().message().find("b must be"), std::string::npos);
  o.b = 0.75f;
  o.analyzer = TextAnalyzerConfig{};
  o.analyzer->tokenizer = "nonsense";
  EXPECT_NE(table_->SearchText("lake", o).status().message().find("nonsense"), std::string::npos);
  o.analyzer.reset();
  EXPECT_NE(table_->SearchText("\"open quote", o).status().message().find("quote"),
            std::string::npos);
  HybridSearchOptions h;
  h.text.text_column = "body";
  h.text.filter = cp::literal(true);
  std::vector<float> q(kDim, 0.0f);
  EXPECT_TRUE(table_->SearchHybrid(q, "lake", h).status().IsInvalid());
  h.text.filter.reset();
  h.fusion = FusionMethod::kLinear;
  h.text_weight = 1.5f;
  EXPECT_TRUE(table_->SearchHybrid(q, "lake", h).status().IsInvalid());
}

TEST_F(SearchTextTest, AnalyzersAreKeptApart) {
  // The same column under another analyzer (stemming) is another index.
  TextSearchOptions o;
  o.text_column = "body";
  o.k = 5;
  auto plain = table_->SearchText("merging", o).ValueOrDie();
  EXPECT_EQ(plain->num_rows(), 0);
  o.analyzer = TextAnalyzerConfig{};
  o.analyzer->stemmer_language = "english";
  auto stemmed = table_->SearchText("merging", o).ValueOrDie();
  EXPECT_EQ(stemmed->num_rows(), 5);
  EXPECT_EQ(table_->SearchText("merging", o).ValueOrDie()->num_rows(), 5);
}

TEST_F(SearchTextTest, HybridFusesBothRankings) {
  std::vector<float> q(vectors_.begin() + 310 * kDim, vectors_.begin() + 311 * kDim);
  for (FusionMethod fusion : {FusionMethod::kReciprocalRank, FusionMethod::kLinear}) {
    HybridSearchOptions h;
    h.k = 15;
    h.fusion = fusion;
    h.text.text_column = "body";
    h.filter = cp::not_equal(cp::field_ref("category"), cp::literal(int32_t{2}));
    h.columns = {"id"};
    auto got = table_->SearchHybrid(q, "lance spark", h);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    // The expected fusion from the two searches' own results.
    SearchOptions vo;
    vo.k = 30;
    vo.filter = h.filter;
    vo.columns = {"id"};
    auto vr = table_->Search(q, vo).ValueOrDie();
    TextSearchOptions to;
    to.k = 30;
    to.text_column = "body";
    to.filter = h.filter;
    to.columns = {"id"};
    auto tr = table_->SearchText("lance spark", to).ValueOrDie();
    auto column = [](const arrow::Table& t, const char* name) {
      return arrow::Concatenate(t.GetColumnByName(name)->chunks()).ValueOrDie();
    };
    auto vid = std::static_pointer_cast<arrow::Int64Array>(column(*vr, "id"));
    auto vd = std::static_pointer_cast<arrow::FloatArray>(column(*vr, "_distance"));
    auto tid = std::static_pointer_cast<arrow::Int64Array>(column(*tr, "id"));
    auto ts = std::static_pointer_cast<arrow::FloatArray>(column(*tr, "_score"));
    std::map<int64_t, double> want;
    auto minmax = [](const arrow::FloatArray& a) {
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < a.length(); ++i) {
        lo = std::min(lo, a.Value(i));
        hi = std::max(hi, a.Value(i));
      }
      return std::pair{lo, hi};
    };
    auto [dlo, dhi] = minmax(*vd);
    auto [slo, shi] = minmax(*ts);
    for (int64_t i = 0; i < vid->length(); ++i) {
      want[vid->Value(i)] += fusion == FusionMethod::kReciprocalRank
                                 ? 1.0 / (60.0 + static_cast<double>(i + 1))
                                 : 0.5 * (1.0 - (vd->Value(i) - dlo) / (dhi - dlo));
    }
    for (int64_t i = 0; i < tid->length(); ++i) {
      want[tid->Value(i)] += fusion == FusionMethod::kReciprocalRank
                                 ? 1.0 / (60.0 + static_cast<double>(i + 1))
                                 : 0.5 * (ts->Value(i) - slo) / (shi - slo);
    }
    std::vector<std::pair<double, int64_t>> ranked;
    ranked.reserve(want.size());
    for (const auto& [id, rel] : want) ranked.emplace_back(-rel, id);
    std::sort(ranked.begin(), ranked.end());
    auto gid = std::static_pointer_cast<arrow::Int64Array>(column(**got, "id"));
    auto grel = std::static_pointer_cast<arrow::FloatArray>(column(**got, "_relevance_score"));
    ASSERT_EQ(gid->length(), 15);
    for (int64_t i = 0; i < gid->length(); ++i) {
      EXPECT_NEAR(grel->Value(i), -ranked[i].first, 1e-5) << i;
      EXPECT_EQ(gid->Value(i) % 4 == 2, false);
    }
    // The top row is the best of both lists' agreement (ties aside).
    EXPECT_EQ(gid->Value(0), ranked[0].second);
    const auto& fields = (*got)->schema()->fields();
    EXPECT_EQ(fields[1]->name(), "_relevance_score");
    EXPECT_EQ(fields[2]->name(), "_distance");
    EXPECT_EQ(fields[3]->name(), "_score");
    EXPECT_EQ(fields[4]->name(), "_rowid");
  }
}

TEST_F(SearchTextTest, ConcurrentTextSearchesShareOneTable) {
  TextSearchOptions o;
  o.text_column = "body";
  o.k = 20;
  const auto want = IdsAndScores(*table_->SearchText("lake vector", o).ValueOrDie());
  // A fresh table: the threads race to build each fragment's index.
  auto fresh = Table::Open(dir_).ValueOrDie();
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  threads.reserve(6);
  // All threads start together, so their first searches overlap.
  std::latch start(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int j = 0; j < 5; ++j) {
        auto r = fresh->SearchText("lake vector", o);
        if (!r.ok() || IdsAndScores(**r) != want) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// The data files of `t` and, for each, whether it carries a text section
// for column `column`.
std::vector<std::pair<std::string, bool>> FilesWithSections(const Table& t, const std::string& dir,
                                                            const std::string& column) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& f : t.fragments()) {
    for (const auto& df : f.files) {
      auto r = AilakeFileReader::Open(dir + "/" + df.path).ValueOrDie();
      bool has = false;
      for (const auto& s : r->text_sections()) has |= s.column == column;
      out.emplace_back(df.path, has);
    }
  }
  return out;
}

TEST_F(SearchTextTest, PersistedIndexesAreSearchedInPlace) {
  TextIndexConfig config;
  config.column = "body";
  auto created = table_->CreateTextIndex(config);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const auto& t = *created;
  ASSERT_EQ(t->text_indexes().ValueOrDie(), std::vector<TextIndexConfig>{config});
  EXPECT_TRUE(t->PendingFiles().ValueOrDie().empty());
  for (const auto& [path, has] : FilesWithSections(*t, dir_, "body")) EXPECT_TRUE(has) << path;
  // A reopened table reads the sections: the same results as one index.
  auto fresh = Table::Open(dir_).ValueOrDie();
  for (const auto& q : kQueries) {
    TextSearchOptions o;
    o.k = 25;
    o.text_column = "body";
    auto got = fresh->SearchText(q, o);
    ASSERT_TRUE(got.ok()) << q << ": " << got.status().ToString();
    ExpectSame(IdsAndScores(**got), Oracle(q, o.k, All, All), q);
  }
  auto report = fresh->Verify().ValueOrDie();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  // Every other byte is the file's as before: the rows read the same.
  EXPECT_TRUE(fresh->Scan().ValueOrDie()->Equals(*table_->Scan().ValueOrDie()));

  // Appends carry the section inline; deferred ones owe it until built.
  TableWriterOptions wo;
  wo.background_threads = 0;
  wo.auto_optimize = false;
  auto writer = TableWriter::Open(dir_, wo).ValueOrDie();
  auto rows = fresh->ReadFragment(fresh->fragments()[0].id).ValueOrDie();
  auto batch = rows->CombineChunksToBatch().ValueOrDie();
  ASSERT_TRUE(writer->WriteBatch(*batch).ok());
  ASSERT_TRUE(writer->WriteBatchDeferred(*batch).ok());
  auto latest = fresh->Latest().ValueOrDie();
  auto files = FilesWithSections(*latest, dir_, "body");
  ASSERT_EQ(files.size(), kFragments + 2u);
  EXPECT_TRUE(files[kFragments].second);
  EXPECT_FALSE(files[kFragments + 1].second);
  EXPECT_EQ(latest->PendingFiles().ValueOrDie(),
            std::vector<std::string>{files[kFragments + 1].first});
  // A file owing its section is searched all the same (built in memory).
  TextSearchOptions o;
  o.text_column = "body";
  o.k = 50;
  auto before_build = IdsAndScores(*latest->SearchText("lake spark", o).ValueOrDie());
  ASSERT_TRUE(writer->WaitForIndexing().ok());
  latest = latest->Latest().ValueOrDie();
  EXPECT_TRUE(latest->PendingFiles().ValueOrDie().empty());
  for (const auto& [path, has] : FilesWithSections(*latest, dir_, "body")) EXPECT_TRUE(has) << path;
  EXPECT_EQ(IdsAndScores(*Table::Open(dir_).ValueOrDie()->SearchText("lake spark", o).ValueOrDie()),
            before_build);

  // Deletes apply to the sections too, and a merge writes its file with one.
  latest =
      latest->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{400}))).ValueOrDie().table;
  OptimizeOptions oo;
  oo.merge_factor = 2;
  oo.max_deleted_fraction = 0.01;
  auto optimized = latest->Optimize(oo);
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  ASSERT_GT(optimized->merges, 0);
  for (const auto& [path, has] : FilesWithSections(*optimized->table, dir_, "body")) {
    EXPECT_TRUE(has) << path;
  }
  auto merged = Table::Open(dir_).ValueOrDie();
  EXPECT_TRUE(merged->Verify().ValueOrDie().ok());
  // The merged table against the same table searched without the index.
  auto plain = merged->DropTextIndex("body").ValueOrDie();
  EXPECT_TRUE(plain->text_indexes().ValueOrDie().empty());
  for (const auto& q : kQueries) {
    TextSearchOptions oq;
    oq.k = 30;
    oq.text_column = "body";
    ExpectSame(IdsAndScores(*merged->SearchText(q, oq).ValueOrDie()),
               IdsAndScores(*plain->SearchText(q, oq).ValueOrDie()), q);
  }
}

TEST_F(SearchTextTest, TheIndexAnalyzerIsTheSearchDefault) {
  TextIndexConfig config;
  config.column = "body";
  config.analyzer.stemmer_language = "english";
  config.with_positions = false;
  auto t = table_->CreateTextIndex(config).ValueOrDie();
  TextSearchOptions o;
  o.text_column = "body";
  o.k = 5;
  // "merging" stems to "merg", as the rows' "merge" does.
  EXPECT_EQ(t->SearchText("merging", o).ValueOrDie()->num_rows(), 5);
  // Without positions, a phrase is refused, saying why.
  auto phrase = t->SearchText("\"vector index\"", o);
  ASSERT_FALSE(phrase.ok());
  EXPECT_NE(phrase.status().message().find("positions"), std::string::npos);
  // Another analyzer named by the query: built in memory, not the section.
  o.analyzer = TextAnalyzerConfig{};
  EXPECT_EQ(t->SearchText("merging", o).ValueOrDie()->num_rows(), 0);
  EXPECT_EQ(t->SearchText("\"vector index\"", o).ValueOrDie()->num_rows(), 5);
  // A column that is not text is refused.
  config.column = "category";
  EXPECT_TRUE(t->CreateTextIndex(config).status().IsTypeError());
  config.column = "nope";
  EXPECT_TRUE(t->CreateTextIndex(config).status().IsKeyError());
  EXPECT_TRUE(t->DropTextIndex("tags").status().IsKeyError());
}

TEST_F(SearchTextTest, CorruptSectionsGiveClearErrors) {
  TextIndexConfig config;
  config.column = "body";
  auto t = table_->CreateTextIndex(config).ValueOrDie();
  const std::string path = t->fragments()[1].files[0].path;
  const std::string file = dir_ + "/" + path;
  uint64_t off = 0;
  {
    auto r = AilakeFileReader::Open(file).ValueOrDie();
    ASSERT_EQ(r->text_sections().size(), 1u);
    off = r->text_sections()[0].offset + r->text_sections()[0].length / 2;
  }
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(off));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(off));
    f.write(&c, 1);
  }
  auto fresh = Table::Open(dir_).ValueOrDie();
  TextSearchOptions o;
  o.text_column = "body";
  auto r = fresh->SearchText("lake", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
  auto report = fresh->Verify().ValueOrDie();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems.front().find("text index of column 'body'"), std::string::npos)
      << report.problems.front();
}

}  // namespace
}  // namespace ailake
