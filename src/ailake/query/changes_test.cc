#include "ailake/changes.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

#include "ailake/query.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 8;

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempTableDir("chg");
    auto w = TableWriter::Create(dir_, TestSchema(kDim), {TestPolicy(kDim)}).ValueOrDie();
    for (int f = 0; f < 3; ++f) {
      auto batch = TestBatch(f * 50, 50, kDim, ClusteredVectors(50, kDim, f * 50));
      ASSERT_TRUE(w->WriteBatch(*batch).ok());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<Table> Latest() { return Table::Open(dir_).ValueOrDie(); }

  // id -> category of every live row.
  std::map<int64_t, int32_t> Categories() {
    ScanOptions o;
    o.columns = {"id", "category"};
    auto t = Scan(Latest(), o).ValueOrDie()->CombineChunksToBatch().ValueOrDie();
    auto ids = std::static_pointer_cast<arrow::Int64Array>(t->column(0));
    auto cats = std::static_pointer_cast<arrow::Int32Array>(t->column(1));
    std::map<int64_t, int32_t> out;
    for (int64_t i = 0; i < t->num_rows(); ++i) {
      EXPECT_TRUE(out.emplace(ids->Value(i), cats->Value(i)).second)
          << "id twice: " << ids->Value(i);
    }
    return out;
  }

  std::string dir_;
};

TEST_F(ChangesTest, UpdateSetsValuesAndExpressionsInOneVersion) {
  auto before = Categories();
  auto t = Latest();
  UpdateOptions o;
  o.where = ParseFilter("id < 10 OR id >= 140").ValueOrDie();
  o.set_sql = {{"category", "category * 10 + 1"}};
  o.set_values =
      arrow::RecordBatch::Make(arrow::schema({arrow::field("text", arrow::utf8())}), 1, {[] {
                                 arrow::StringBuilder b;
                                 EXPECT_TRUE(b.Append("changed").ok());
                                 return b.Finish().ValueOrDie();
                               }()});
  auto r = Update(t, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_updated, 20);
  EXPECT_EQ(r->version, t->version() + 1);
  auto after = Categories();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [id, cat] : after) {
    const bool changed = id < 10 || id >= 140;
    EXPECT_EQ(cat, changed ? before[id] * 10 + 1 : before[id]) << id;
  }
  ScanOptions s;
  s.columns = {"id"};
  s.filter = ParseFilter("text = 'changed'").ValueOrDie();
  EXPECT_EQ(Scan(Latest(), s).ValueOrDie()->num_rows(), 20);
  // The changed rows are still found by vector search (their files are indexed).
  auto q = ClusteredVectors(1, kDim, 145);
  SearchOptions vs;
  vs.k = 5;
  vs.columns = {"id", "text"};
  auto hits = Search(*Latest(), q, vs).ValueOrDie();
  EXPECT_EQ(hits->num_rows(), 5);
  // Nothing matches: nothing is committed.
  UpdateOptions none = o;
  none.where = ParseFilter("id > 100000").ValueOrDie();
  auto v = Latest()->version();
  auto r2 = Update(Latest(), none);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->rows_updated, 0);
  EXPECT_EQ(Latest()->version(), v);
}

TEST_F(ChangesTest, UpdateNamesWhatIsWrong) {
  auto t = Latest();
  UpdateOptions o;
  auto err = Update(t, o).status();
  EXPECT_NE(err.message().find("at least one column"), std::string::npos) << err.ToString();
  o.set_sql = {{"nope", "1"}};
  err = Update(t, o).status();
  EXPECT_TRUE(err.IsKeyError()) << err.ToString();
  EXPECT_NE(err.message().find("'nope'"), std::string::npos) << err.ToString();
  o.set_sql = {{"category", "1"}, {"category", "2"}};
  err = Update(t, o).status();
  EXPECT_NE(err.message().find("twice"), std::string::npos) << err.ToString();
  o.set_sql = {{"category", "text"}};
  err = Update(t, o).status();
  EXPECT_TRUE(err.IsTypeError()) << err.ToString();
  EXPECT_NE(err.message().find("'category'"), std::string::npos) << err.ToString();
  o.set_sql = {{"category", "1"}};
  o.max_attempts = 0;
  err = Update(t, o).status();
  EXPECT_NE(err.message().find("max_attempts"), std::string::npos) << err.ToString();
}

std::shared_ptr<arrow::Table> Source(const std::vector<int64_t>& ids, int32_t category) {
  auto vecs = ClusteredVectors(static_cast<int64_t>(ids.size()), kDim, 0);
  auto batch = TestBatch(0, static_cast<int64_t>(ids.size()), kDim, vecs);
  arrow::Int64Builder b;
  EXPECT_TRUE(b.AppendValues(ids).ok());
  arrow::Int32Builder c;
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_TRUE(c.Append(category).ok());
  auto rb = batch->SetColumn(0, batch->schema()->field(0), b.Finish().ValueOrDie()).ValueOrDie();
  rb = rb->SetColumn(2, rb->schema()->field(2), c.Finish().ValueOrDie()).ValueOrDie();
  return arrow::Table::FromRecordBatches({rb}).ValueOrDie();
}

TEST_F(ChangesTest, MergeInsertUpsertsAndDeletesInOneVersion) {
  const auto before = Categories();
  MergeInsertOptions o;
  o.on = {"id"};
  o.when_matched_update_all = true;
  o.when_not_matched_insert_all = true;
  auto t = Latest();
  auto r = MergeInsert(t, Source({5, 6, 1000, 1001, 1002}, 77), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_updated, 2);
  EXPECT_EQ(r->rows_inserted, 3);
  EXPECT_EQ(r->rows_deleted, 0);
  EXPECT_EQ(r->version, t->version() + 1);
  auto after = Categories();
  EXPECT_EQ(after.size(), before.size() + 3);
  for (int64_t id : {5, 6, 1000, 1001, 1002}) EXPECT_EQ(after[id], 77) << id;
  EXPECT_EQ(after[7], before.at(7));

  // Only the keys: delete the table rows with category 77 the source lacks.
  MergeInsertOptions d;
  d.on = {"id"};
  d.when_not_matched_by_source_delete = true;
  d.delete_where = ParseFilter("category = 77").ValueOrDie();
  r = MergeInsert(Latest(), Source({5, 1000}, 77), d);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_deleted, 3);
  after = Categories();
  EXPECT_EQ(after.count(6), 0u);
  EXPECT_EQ(after.count(1001), 0u);
  EXPECT_EQ(after.count(5), 1u);
  EXPECT_EQ(after.size(), before.size());
}

TEST_F(ChangesTest, MergeInsertNamesWhatIsWrong) {
  MergeInsertOptions o;
  o.on = {"id"};
  auto err = MergeInsert(Latest(), Source({1}, 1), o).status();
  EXPECT_NE(err.message().find("does nothing"), std::string::npos) << err.ToString();
  o.when_not_matched_insert_all = true;
  err = MergeInsert(Latest(), Source({1, 2, 1}, 1), o).status();
  EXPECT_NE(err.message().find("id=1"), std::string::npos) << err.ToString();
  EXPECT_NE(err.message().find("2 times"), std::string::npos) << err.ToString();
  o.on = {"nope"};
  err = MergeInsert(Latest(), Source({1}, 1), o).status();
  EXPECT_TRUE(err.IsKeyError()) << err.ToString();
  auto extra = Source({1}, 1);
  extra = extra
              ->AddColumn(extra->num_columns(), arrow::field("bogus", arrow::int32()),
                          std::make_shared<arrow::ChunkedArray>(
                              arrow::MakeArrayFromScalar(arrow::Int32Scalar(1), 1).ValueOrDie()))
              .ValueOrDie();
  o.on = {"id"};
  err = MergeInsert(Latest(), extra, o).status();
  EXPECT_NE(err.message().find("'bogus'"), std::string::npos) << err.ToString();
}

// DropIndex: one version, every file scanned exactly from then on (the same
// answers as an exact search), verify finds nothing wrong with the old index
// bytes left in the files, and CreateIndex brings an index back.
TEST_F(ChangesTest, DropIndexScansExactlyAndCreateIndexRestoresIt) {
  auto t = Latest();
  const auto q = ClusteredVectors(1, kDim, 77, /*seed=*/9);
  SearchOptions exact;
  exact.k = 10;
  exact.exact = true;
  exact.columns = {"id"};
  auto truth = Search(*t, q, exact).ValueOrDie();
  auto v = t->DropIndex();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto dropped = Latest();
  EXPECT_EQ(dropped->version(), (*v)->version());
  EXPECT_EQ(dropped->vector_column().ValueOrDie().index_type, IndexType::kNone);
  for (const auto& f : dropped->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kNone);
  SearchOptions approx = exact;
  approx.exact = false;
  SearchStats stats;
  auto got = Search(*dropped, q, approx, &stats).ValueOrDie();
  EXPECT_EQ(stats.files_index_searched, 0);
  EXPECT_TRUE(got->GetColumnByName("_rowid")->Equals(truth->GetColumnByName("_rowid")));
  auto report = dropped->Verify().ValueOrDie();
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0]);
  auto again = dropped->DropIndex().status();
  EXPECT_NE(again.message().find("no index to drop"), std::string::npos) << again.ToString();
  EXPECT_NE(dropped->DropIndex("nope").status().message().find("nope"), std::string::npos);
  // An index again.
  auto p = dropped->vector_column().ValueOrDie();
  p.index_type = IndexType::kHnsw;
  ASSERT_TRUE(dropped->CreateIndex(p).ok());
  ASSERT_EQ(Latest()->BuildPendingIndexes().ValueOrDie(), 3);
  stats = {};
  got = Search(*Latest(), q, approx, &stats).ValueOrDie();
  EXPECT_GT(stats.files_index_searched, 0);
  EXPECT_EQ(got->num_rows(), 10);
}

// Writers on many threads increment the same rows: every increment lands
// (a conflict runs the update again on the newest version), none is lost.
TEST_F(ChangesTest, ConcurrentUpdatesLoseNothing) {
  const auto before = Categories();
  constexpr int kThreads = 3, kEach = 3;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::vector<arrow::Status> errors(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; ++j) {
        UpdateOptions o;
        o.where = ParseFilter("id < 4").ValueOrDie();
        o.set_sql = {{"category", "category + 1"}};
        auto r = Update(Table::Open(dir_).ValueOrDie(), o);
        if (!r.ok()) errors[i] = r.status();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_TRUE(e.ok()) << e.ToString();
  auto after = Categories();
  for (int64_t id = 0; id < 4; ++id) EXPECT_EQ(after[id], before.at(id) + kThreads * kEach) << id;
  EXPECT_EQ(after.size(), before.size());
}

}  // namespace
}  // namespace ailake
