#include "ailake/table.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "ailake/file.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;
using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 16;

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempTableDir("t"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TableWriter> MakeWriter(IndexType index = IndexType::kHnsw,
                                          TableWriterOptions opts = {}) {
    auto w =
        TableWriter::Create(dir_, TestSchema(kDim),
                            {TestPolicy(kDim, DistanceMetric::kEuclidean, index)}, std::move(opts));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return std::move(*w);
  }
  uint64_t Append(TableWriter* w, int64_t first, int64_t rows, bool deferred = false) {
    auto vecs = ClusteredVectors(rows, kDim, first);
    auto batch = TestBatch(first, rows, kDim, vecs);
    auto r = deferred ? w->WriteBatchDeferred(*batch) : w->WriteBatch(*batch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }
  std::vector<int64_t> Ids(const std::shared_ptr<arrow::Table>& t) {
    std::vector<int64_t> out;
    auto col = t->GetColumnByName("id");
    for (const auto& chunk : col->chunks()) {
      auto a = std::static_pointer_cast<arrow::Int64Array>(chunk);
      for (int64_t i = 0; i < a->length(); ++i) out.push_back(a->Value(i));
    }
    return out;
  }
  std::vector<int64_t> AllIds(const Table& t) {
    std::vector<int64_t> out;
    for (const auto& f : t.fragments()) {
      auto rows = t.ReadFragment(f.id, {"id"}).ValueOrDie();
      auto ids = Ids(rows);
      out.insert(out.end(), ids.begin(), ids.end());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string dir_;
};

TEST_F(TableTest, CreateWriteReadBack) {
  auto w = MakeWriter();
  EXPECT_EQ(Append(w.get(), 0, 300), 2u);
  EXPECT_EQ(Append(w.get(), 300, 200), 3u);
  auto t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->version(), 3u);
  EXPECT_EQ(t->num_rows(), 500);
  ASSERT_EQ(t->fragments().size(), 2u);
  EXPECT_EQ(t->fragments()[0].files[0].index_state, IndexState::kIndexed);
  // Values round-trip, vectors as FixedSizeList<float32>.
  auto frag = t->ReadFragment(t->fragments()[1].id, {}, true).ValueOrDie();
  auto vecs = ClusteredVectors(200, kDim, 300);
  auto expected = TestBatch(300, 200, kDim, vecs);
  ASSERT_EQ(frag->num_rows(), 200);
  auto got = frag->CombineChunksToBatch().ValueOrDie();
  for (int c = 0; c < 4; ++c) {
    EXPECT_TRUE(got->column(c)->Equals(*expected->column(c)))
        << "column " << c << ": " << got->column(c)->ToString().substr(0, 200);
  }
  auto rowid = std::static_pointer_cast<arrow::UInt64Array>(got->GetColumnByName("_rowid"));
  EXPECT_EQ(rowid->Value(5), MakeRowId(static_cast<uint32_t>(t->fragments()[1].id), 5));
}

TEST_F(TableTest, TimeTravelAndRestore) {
  auto w = MakeWriter();
  Append(w.get(), 0, 100);
  Append(w.get(), 100, 100);
  auto v2 = Table::Open(dir_, 2).ValueOrDie();
  EXPECT_EQ(v2->num_rows(), 100);
  auto versions = v2->Versions().ValueOrDie();
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(versions[0].operation, TableOperation::kCreate);
  EXPECT_EQ(versions[2].operation, TableOperation::kAppend);
  EXPECT_EQ(versions[2].num_rows, 200);
  const uint64_t restored = v2->Restore(2).ValueOrDie()->version();
  EXPECT_EQ(restored, 4u);
  auto latest = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(latest->num_rows(), 100);
  // Fragment ids handed out before the restore are not reused.
  Append(w.get(), 500, 10);
  auto after = Table::Open(dir_).ValueOrDie();
  std::set<uint64_t> ids;
  for (const auto& f : after->fragments()) ids.insert(f.id);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_TRUE(ids.count(2));  // 0 and 1 were used before; the new one is 2
  EXPECT_FALSE(Table::Open(dir_, 99).ok());
}

TEST_F(TableTest, DeleteByPredicateAndTake) {
  auto w = MakeWriter();
  Append(w.get(), 0, 200);
  Append(w.get(), 200, 200);
  auto t = Table::Open(dir_).ValueOrDie();
  auto n = t->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{50})));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->rows_deleted, 50);
  EXPECT_EQ(n->table->num_rows(), 350);  // the version the delete committed
  t = t->Latest().ValueOrDie();
  EXPECT_EQ(t->num_rows(), 350);
  auto ids = AllIds(*t);
  EXPECT_EQ(ids.front(), 50);
  // Deleting again deletes nothing new.
  EXPECT_EQ(
      t->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{50}))).ValueOrDie().rows_deleted,
      0);
  // Combined predicate across both fragments.
  EXPECT_EQ(t->Delete(cp::equal(cp::field_ref("category"), cp::literal(int32_t{3})))
                .ValueOrDie()
                .rows_deleted,
            70);
  t = t->Latest().ValueOrDie();
  EXPECT_EQ(t->num_rows(), 280);
  // Take in the given order; deleted rows are refused.
  const uint32_t f1 = static_cast<uint32_t>(t->fragments()[1].id);
  std::vector<RowId> want{MakeRowId(f1, 10), MakeRowId(0, 60), MakeRowId(f1, 0)};
  auto took = t->Take(want, {"id", "text"}).ValueOrDie();
  EXPECT_EQ(Ids(took), (std::vector<int64_t>{210, 60, 200}));
  std::vector<RowId> gone{MakeRowId(0, 3)};
  EXPECT_TRUE(t->Take(gone).status().IsKeyError());
  std::vector<RowId> bad{MakeRowId(0, 100000)};
  EXPECT_TRUE(t->Take(bad).status().IsIndexError());
  // The old version still sees every row.
  EXPECT_EQ(Table::Open(dir_, 3).ValueOrDie()->num_rows(), 400);
}

TEST_F(TableTest, CompactionMergesAndNeverResurrects) {
  auto w = MakeWriter();
  for (int i = 0; i < 5; ++i) Append(w.get(), i * 40, 40);
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_TRUE(t->Delete(cp::equal(cp::field_ref("category"), cp::literal(int32_t{0}))).ok());
  t = t->Latest().ValueOrDie();
  const auto before = AllIds(*t);
  auto r = t->Compact({/*target_rows_per_fragment=*/1000, 0.1});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fragments_removed, 5);
  EXPECT_EQ(r->fragments_added, 1);
  EXPECT_EQ(r->rows_dropped, 40);
  t = t->Latest().ValueOrDie();
  ASSERT_EQ(t->fragments().size(), 1u);
  EXPECT_EQ(t->fragments()[0].deleted_rows, 0);
  EXPECT_EQ(AllIds(*t), before);
  EXPECT_EQ(t->fragments()[0].files[0].index_state, IndexState::kIndexed);
}

TEST_F(TableTest, CompactionConflictsWithConcurrentDelete) {
  auto w = MakeWriter();
  Append(w.get(), 0, 50);
  Append(w.get(), 50, 50);
  auto snapshot = Table::Open(dir_).ValueOrDie();
  // Another writer deletes rows after our snapshot was taken.
  ASSERT_TRUE(Table::Open(dir_)
                  .ValueOrDie()
                  ->Delete(cp::equal(cp::field_ref("id"), cp::literal(int64_t{7})))
                  .ok());
  auto r = snapshot->Compact({1000, 0.1});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("commit conflict"), std::string::npos)
      << r.status().ToString();
  auto ids = AllIds(*Table::Open(dir_).ValueOrDie());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 7), 0);
}

TEST_F(TableTest, ConcurrentDeletesOfDifferentRowsBothApply) {
  auto w = MakeWriter();
  Append(w.get(), 0, 100);
  auto a = Table::Open(dir_).ValueOrDie();
  auto b = Table::Open(dir_).ValueOrDie();
  ASSERT_TRUE(a->Delete(cp::equal(cp::field_ref("id"), cp::literal(int64_t{1}))).ok());
  ASSERT_TRUE(b->Delete(cp::equal(cp::field_ref("id"), cp::literal(int64_t{2}))).ok());
  auto ids = AllIds(*Table::Open(dir_).ValueOrDie());
  EXPECT_EQ(ids.size(), 98u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1) + std::count(ids.begin(), ids.end(), 2), 0);
}

TEST_F(TableTest, SchemaEvolution) {
  auto w = MakeWriter();
  Append(w.get(), 0, 60);
  Append(w.get(), 60, 40);
  auto t = Table::Open(dir_).ValueOrDie();
  const auto files_before = t->fragments()[0].files;
  // A scalar column computed from id, and a second vector column with its own index.
  auto new_fields = arrow::schema(
      {arrow::field("id_times_two", arrow::int64(), false),
       arrow::field("emb2",
                    arrow::fixed_size_list(arrow::field("item", arrow::float32(), false), 4),
                    false)});
  VectorStoragePolicy p2 = TestPolicy(4, DistanceMetric::kCosine);
  p2.vector_column = "emb2";
  auto filler = [](const std::shared_ptr<arrow::Table>& rows)
      -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
    auto ids = std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("id")->chunk(0));
    arrow::Int64Builder twice;
    std::vector<float> v;
    for (int64_t i = 0; i < ids->length(); ++i) {
      ARROW_RETURN_NOT_OK(twice.Append(ids->Value(i) * 2));
      for (int j = 0; j < 4; ++j) v.push_back(static_cast<float>((ids->Value(i) + j) % 7) + 1.0f);
    }
    std::shared_ptr<arrow::Array> a;
    ARROW_RETURN_NOT_OK(twice.Finish(&a));
    auto values =
        std::make_shared<arrow::FloatArray>(ids->length() * 4, arrow::Buffer::FromVector(v));
    auto emb = std::make_shared<arrow::FixedSizeListArray>(
        arrow::fixed_size_list(arrow::field("item", arrow::float32(), false), 4), ids->length(),
        values);
    return arrow::RecordBatch::Make(
        arrow::schema({arrow::field("id_times_two", arrow::int64(), false),
                       arrow::field("emb2", emb->type(), false)}),
        ids->length(), {a, emb});
  };
  auto v = t->AddColumns(new_fields, filler, {p2}, {"id"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  t = t->Latest().ValueOrDie();
  EXPECT_EQ(t->schema()->num_fields(), 6);
  ASSERT_EQ(t->fragments()[0].files.size(), 2u);
  EXPECT_EQ(t->fragments()[0].files[0].path, files_before[0].path);  // not rewritten
  auto rows = t->ReadFragment(t->fragments()[1].id, {"id", "id_times_two"}).ValueOrDie();
  auto ids = std::static_pointer_cast<arrow::Int64Array>(rows->column(0)->chunk(0));
  auto twice = std::static_pointer_cast<arrow::Int64Array>(rows->column(1)->chunk(0));
  for (int64_t i = 0; i < ids->length(); ++i) ASSERT_EQ(twice->Value(i), 2 * ids->Value(i));
  EXPECT_EQ(t->vector_columns().size(), 2u);

  // Rename and drop are metadata only; old versions keep their schema.
  ASSERT_TRUE(t->RenameColumn("text", "body").ok());
  t = t->Latest().ValueOrDie();
  auto renamed = t->ReadFragment(t->fragments()[0].id, {"body"}).ValueOrDie();
  EXPECT_EQ(renamed->schema()->field(0)->name(), "body");
  EXPECT_EQ(
      std::static_pointer_cast<arrow::StringArray>(renamed->column(0)->chunk(0))->GetString(1),
      "doc 1");
  ASSERT_TRUE(t->DropColumns({"category"}).ok());
  t = t->Latest().ValueOrDie();
  EXPECT_EQ(t->schema()->GetFieldIndex("category"), -1);
  EXPECT_FALSE(t->ReadFragment(t->fragments()[0].id, {"category"}).ok());
  EXPECT_EQ(Table::Open(dir_, 3).ValueOrDie()->schema()->GetFieldIndex("category"), 2);
  // A dropped id is not reused by a later add.
  EXPECT_TRUE(t->RenameColumn("body", "id").status().IsInvalid());
}

TEST_F(TableTest, DeferredIndexingSwapsIn) {
  auto w = MakeWriter();
  Append(w.get(), 0, 300, /*deferred=*/true);
  ASSERT_TRUE(w->WaitForIndexing().ok());
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(t->fragments().size(), 1u);
  EXPECT_EQ(t->fragments()[0].files[0].index_state, IndexState::kIndexed);
  auto versions = t->Versions().ValueOrDie();
  EXPECT_EQ(versions.back().operation, TableOperation::kIndex);
  EXPECT_EQ(AllIds(*t).size(), 300u);
}

// One WriteBatch(batch, WriteOptions): the seed's named forms are it with one
// option set, and options that cannot go together are refused by name.
TEST_F(TableTest, WriteOptionsIsTheOneWriteCall) {
  TableWriterOptions wo;
  wo.background_threads = 0;  // deferred files stay pending until WaitForIndexing
  auto w = TableWriter::Create(dir_, TestSchema(kDim), {TestPolicy(kDim)}, wo).ValueOrDie();
  auto vecs = ClusteredVectors(100, kDim, 0);
  ASSERT_TRUE(w->WriteBatch(*TestBatch(0, 100, kDim, vecs), WriteOptions{.deferred = true}).ok());
  auto t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->fragments().back().files[0].index_state, IndexState::kPending);
  // Vectors given apart from the batch, through the options.
  auto batch = TestBatch(100, 100, kDim, ClusteredVectors(100, kDim, 100));
  auto without = batch->RemoveColumn(batch->schema()->GetFieldIndex("embedding")).ValueOrDie();
  auto more = ClusteredVectors(100, kDim, 100);
  ASSERT_TRUE(w->WriteBatch(*without, WriteOptions{.embeddings = more}).ok());
  t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->fragments().back().files[0].index_state, IndexState::kIndexed);
  EXPECT_EQ(t->num_rows(), 200);
  auto err = w->WriteBatch(*batch, WriteOptions{.index = IndexType::kFlat}).status();
  EXPECT_NE(err.message().find("ivf_pq or auto"), std::string::npos) << err.ToString();
  VectorColumnBatch col{TestPolicy(kDim), {}};
  err = w->WriteBatch(*batch, WriteOptions{.index = IndexType::kIvfPq, .columns = {&col, 1}})
            .status();
  EXPECT_NE(err.message().find("must not be set"), std::string::npos) << err.ToString();
  err = w->WriteBatch(*batch, WriteOptions{.deferred = true, .index = IndexType::kAuto}).status();
  EXPECT_NE(err.message().find("auto"), std::string::npos) << err.ToString();
  ASSERT_TRUE(w->WaitForIndexing().ok());
  t = Table::Open(dir_).ValueOrDie();
  for (const auto& f : t->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kIndexed);
}

TEST_F(TableTest, DeadIndexerLeavesPendingWorkThatIsRedone) {
  {
    auto w = MakeWriter();
    Append(w.get(), 0, 10);
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    // Commit deferred data, then die before the background index lands.
    auto w = TableWriter::Open(dir_).ValueOrDie();
    auto vecs = ClusteredVectors(200, kDim, 10);
    auto batch = TestBatch(10, 200, kDim, vecs);
    if (!w->WriteBatchDeferred(*batch).ok()) ::_exit(1);
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(t->num_rows(), 210);
  int pending = 0;
  for (const auto& f : t->fragments()) pending += f.files[0].index_state == IndexState::kPending;
  // The child may or may not have finished indexing before it died.
  auto w = TableWriter::Open(dir_).ValueOrDie();
  ASSERT_TRUE(w->WaitForIndexing().ok());
  t = Table::Open(dir_).ValueOrDie();
  for (const auto& f : t->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kIndexed);
  EXPECT_EQ(AllIds(*t).size(), 210u);
  (void)pending;
}

TEST_F(TableTest, NoBackgroundThreadsLeavesDeferredFilesPendingUntilWaitOrDetach) {
  MakeWriter(IndexType::kHnsw);
  TableWriterOptions opt;
  opt.background_threads = 0;
  {
    auto w = TableWriter::Open(dir_, opt).ValueOrDie();
    Append(w.get(), 0, 100, /*deferred=*/true);
    Append(w.get(), 100, 100, /*deferred=*/true);
    EXPECT_EQ(w->Detach(), 2);  // nothing was built
  }
  auto t = Table::Open(dir_).ValueOrDie();
  for (const auto& f : t->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kPending);
  {
    // A new writer without threads finds the pending files; Wait builds them here.
    auto w = TableWriter::Open(dir_, opt).ValueOrDie();
    ASSERT_TRUE(w->WaitForIndexing().ok());
  }
  t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(t->fragments().size(), 2u);
  for (const auto& f : t->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kIndexed);
  EXPECT_EQ(AllIds(*t).size(), 200u);
}

TEST_F(TableTest, PendingFilesAreIndexedAfterTheirVectorColumnIsRenamed) {
  MakeWriter(IndexType::kHnsw);
  TableWriterOptions opt;
  opt.background_threads = 0;
  {
    auto w = TableWriter::Open(dir_, opt).ValueOrDie();
    Append(w.get(), 0, 100, /*deferred=*/true);
    Append(w.get(), 100, 60, /*deferred=*/true);
    EXPECT_EQ(w->Detach(), 2);
  }
  // The files still call the column "embedding"; the table now says "vec".
  ASSERT_TRUE(Table::Open(dir_).ValueOrDie()->RenameColumn("embedding", "vec").ok());
  {
    auto w = TableWriter::Open(dir_, opt).ValueOrDie();
    auto waited = w->WaitForIndexing();
    ASSERT_TRUE(waited.ok()) << waited.ToString();
  }
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(t->fragments().size(), 2u);
  for (const FragmentInfo& frag : t->fragments()) {
    const DataFileInfo f = frag.files[0];
    EXPECT_EQ(f.index_state, IndexState::kIndexed);
    auto reader = AilakeFileReader::Open(dir_ + "/" + f.path).ValueOrDie();
    ASSERT_TRUE(reader->IsAilakeFile());
    ASSERT_EQ(reader->vector_columns().size(), 1u);
    EXPECT_EQ(reader->vector_columns()[0].name, "embedding");
    EXPECT_EQ(reader->vector_columns()[0].section.index_type, IndexType::kHnsw);
  }
  // Compaction of the renamed column's files: one indexed file, every row.
  auto compacted = t->Compact();
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(t->fragments().size(), 1u);
  EXPECT_EQ(t->fragments()[0].files[0].index_state, IndexState::kIndexed);
  EXPECT_EQ(AllIds(*t).size(), 160u);
}

TEST_F(TableTest, CleanupRemovesOldVersionsAndUnreferencedFilesOnly) {
  namespace cp = arrow::compute;
  MakeWriter(IndexType::kHnsw);
  {
    auto w = TableWriter::Open(dir_).ValueOrDie();
    Append(w.get(), 0, 120, /*deferred=*/true);  // unindexed copy, replaced when indexed
    Append(w.get(), 120, 80, /*deferred=*/true);
    ASSERT_TRUE(w->WaitForIndexing().ok());
  }
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(
      t->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{30}))).ValueOrDie().rows_deleted,
      30);
  t = t->Latest().ValueOrDie();
  ASSERT_TRUE(t->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{40}))).ok());
  t = t->Latest().ValueOrDie();
  ASSERT_TRUE(t->Compact().ok());
  t = t->Latest().ValueOrDie();
  const uint64_t latest = t->version();
  const std::vector<int64_t> live = AllIds(*t);
  ASSERT_EQ(live.size(), 160u);
  auto count = [&](const char* dir) {
    size_t n = 0;
    if (!std::filesystem::exists(dir_ + "/" + dir)) return n;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/" + dir))
      n += e.is_regular_file();
    return n;
  };
  const size_t data_before = count("data");
  ASSERT_GT(data_before, 1u);

  EXPECT_TRUE(t->Cleanup({1, -1}).status().IsInvalid());
  // Within the grace period: old versions go, every file stays.
  CleanupResult r = t->Cleanup({2, 3600}).ValueOrDie();
  EXPECT_EQ(r.versions_removed, static_cast<int>(latest) - 2);
  EXPECT_EQ(r.files_removed, 0);
  EXPECT_EQ(count("data"), data_before);
  EXPECT_FALSE(Table::Open(dir_, latest - 2).ok());  // time travel to a removed version ends
  EXPECT_TRUE(Table::Open(dir_, latest - 1).ok());
  // Without grace, keeping only the newest: files of no kept version go.
  r = t->Cleanup({1, 0}).ValueOrDie();
  EXPECT_EQ(r.versions_removed, 1);
  EXPECT_GT(r.files_removed, 0);
  EXPECT_GT(r.bytes_removed, 0);
  t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->version(), latest);
  EXPECT_EQ(AllIds(*t), live);
  // What is left is exactly what the newest version names.
  std::set<std::string> named;
  for (const auto& f : t->fragments()) {
    for (const auto& df : f.files) named.insert(df.path);
  }
  EXPECT_EQ(count("data"), named.size());
  for (const auto& p : named) EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + p)) << p;
  for (const auto& f : t->fragments()) {
    auto rows = t->ReadFragment(f.id, {}, true).ValueOrDie();  // vectors and all
    EXPECT_EQ(rows->num_rows(), f.physical_rows - f.deleted_rows);
  }
  // A second run finds nothing more, and the table stays writable.
  r = t->Cleanup({1, 0}).ValueOrDie();
  EXPECT_EQ(r.versions_removed + r.files_removed, 0);
  auto w = TableWriter::Open(dir_).ValueOrDie();
  Append(w.get(), 1000, 10);
  EXPECT_EQ(AllIds(*Table::Open(dir_).ValueOrDie()).size(), 170u);
}

TEST_F(TableTest, FourProcessesAppendThroughTableWriter) {
  MakeWriter(IndexType::kFlat);
  std::vector<pid_t> kids;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto w = TableWriter::Open(dir_);
      if (!w.ok()) ::_exit(2);
      for (int i = 0; i < 50; ++i) {
        const int64_t first = (p * 50 + i) * 3;
        auto vecs = ClusteredVectors(3, kDim, first);
        auto batch = TestBatch(first, 3, kDim, vecs);
        if (!(*w)->WriteBatch(*batch).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto t = Table::Open(dir_).ValueOrDie();
  // 200 appends, some merged by the writers' background optimize.
  EXPECT_LE(t->fragments().size(), 200u);
  auto ids = AllIds(*t);
  ASSERT_EQ(ids.size(), 600u);
  for (int64_t i = 0; i < 600; ++i) ASSERT_EQ(ids[i], i);
}

TEST_F(TableTest, KilledWriterLeavesLastCommittedVersion) {
  MakeWriter(IndexType::kFlat);
  std::mt19937 rng(3);
  for (int round = 0; round < 6; ++round) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto w = TableWriter::Open(dir_).ValueOrDie();
      for (int i = 0;; ++i) {
        const int64_t first = 1000000 * (round + 1) + i * 20;
        auto vecs = ClusteredVectors(20, kDim, first);
        (void)w->WriteBatch(*TestBatch(first, 20, kDim, vecs));
      }
    }
    ::usleep(20000 + rng() % 80000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    // Whatever was committed is whole: every fragment (appended, or merged
    // by the writer's background optimize) reads all its rows, each id once.
    auto t = Table::Open(dir_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    std::set<int64_t> seen;
    for (const auto& f : (*t)->fragments()) {
      ASSERT_EQ(f.physical_rows % 20, 0);
      auto rows = (*t)->ReadFragment(f.id, {"id"}).ValueOrDie();
      ASSERT_EQ(rows->num_rows(), f.physical_rows);
      for (int64_t id : Ids(rows)) ASSERT_TRUE(seen.insert(id).second) << id;
    }
  }
}

TEST_F(TableTest, BadInputIsRefused) {
  auto w = MakeWriter();
  // Missing column: a non-nullable one is refused; a nullable one is
  // written as nulls (issue #15: appends shaped before add_column).
  auto vecs = ClusteredVectors(5, kDim, 0);
  auto batch = TestBatch(0, 5, kDim, vecs);
  auto no_category = batch->RemoveColumn(2).ValueOrDie();
  auto r = w->WriteBatch(*no_category);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'category'"), std::string::npos) << r.status().ToString();
  auto no_text = batch->RemoveColumn(1).ValueOrDie();
  ASSERT_TRUE(w->WriteBatch(*no_text).ok());
  auto text = w->table()->Latest().ValueOrDie()->ReadFragment(
      w->table()->Latest().ValueOrDie()->fragments().back().id, {"text"});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ((*text)->column(0)->null_count(), 5);
  // Empty batch.
  EXPECT_FALSE(w->WriteBatch(*batch->Slice(0, 0)).ok());
  // Unknown vector column in a policy.
  auto bad = TestPolicy(kDim);
  bad.vector_column = "nope";
  EXPECT_FALSE(Table::Create(TempTableDir("x"), TestSchema(kDim), {bad}).ok());
  // Wrong dim.
  EXPECT_FALSE(Table::Create(TempTableDir("y"), TestSchema(kDim), {TestPolicy(kDim + 1)}).ok());
  // Create on an existing table.
  EXPECT_TRUE(Table::Create(dir_, TestSchema(kDim), {TestPolicy(kDim)}).status().IsAlreadyExists());
  EXPECT_FALSE(Table::Open(TempTableDir("missing")).ok());
}

// Issue #10 finding 6: a writer killed mid-write leaves a private temporary
// (up to a whole data file); cleanup removes it once past the grace period.
TEST_F(TableTest, CleanupRemovesStaleTemporariesOfKilledWriters) {
  auto w = MakeWriter();
  Append(w.get(), 0, 50);
  w.reset();
  const std::string old_tmp = dir_ + "/data/abc.parquet.tmp.123.0.42";
  const std::string young_tmp = dir_ + "/_versions/00000000000000000009.manifest.tmp.123.1.7";
  for (const auto& p : {old_tmp, young_tmp}) {
    std::ofstream(p) << std::string(1000, 'x');
  }
  const auto old_time = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(old_tmp, old_time);
  auto t = Table::Open(dir_).ValueOrDie();
  CleanupOptions o;
  o.grace_seconds = 3600;
  auto r = t->Cleanup(o).ValueOrDie();
  EXPECT_FALSE(std::filesystem::exists(old_tmp));
  EXPECT_TRUE(std::filesystem::exists(young_tmp));  // may be a write in progress
  EXPECT_GE(r.files_removed, 1);
  EXPECT_EQ(AllIds(*t).size(), 50u);
}

}  // namespace
}  // namespace ailake
