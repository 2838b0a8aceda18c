#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/optimize.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;
using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 8;

table::Manifest ManifestOf(const std::vector<std::pair<uint64_t, uint64_t>>& rows_deleted) {
  table::Manifest m;
  uint64_t id = 0;
  for (const auto& [rows, deleted] : rows_deleted) {
    auto* f = m.add_fragments();
    f->set_id(id++);
    f->set_physical_rows(rows);
    if (deleted) {
      f->mutable_deletion_file()->set_path("d");
      f->mutable_deletion_file()->set_num_deleted_rows(deleted);
    }
  }
  return m;
}

TEST(MergePolicy, TiersArePowersOfTheMergeFactor) {
  EXPECT_EQ(table::MergeTier(0, 10), 0);
  EXPECT_EQ(table::MergeTier(9, 10), 0);
  EXPECT_EQ(table::MergeTier(10, 10), 1);
  EXPECT_EQ(table::MergeTier(99, 10), 1);
  EXPECT_EQ(table::MergeTier(100, 10), 2);
  EXPECT_EQ(table::MergeTier(int64_t{1} << 40, 2), 40);
  EXPECT_EQ(table::MergeTier(INT64_MAX, 2), 62);
}

TEST(MergePolicy, FullTiersMergeAndDeletedHeavyFragmentsAreRewritten) {
  OptimizeOptions o;
  o.merge_factor = 3;
  o.max_rows_per_fragment = 1000;
  // Tier 1 ([3, 9)): ids 0, 1, 2, 4 -> one group of 3, id 4 left.
  // Tier 2 ([9, 27)): ids 3, 5 -> not full. id 6: at the size cap, never merged.
  // id 7: half deleted -> rewritten alone. id 8: every row deleted -> dropped.
  auto m =
      ManifestOf({{5, 0}, {4, 0}, {8, 0}, {20, 0}, {3, 0}, {10, 0}, {1000, 0}, {10, 5}, {6, 6}});
  auto groups = table::PlanMerges(m, o);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0], (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(groups[1], (std::vector<uint64_t>{7}));
  EXPECT_EQ(groups[2], (std::vector<uint64_t>{8}));
  // Nothing is planned for a table in its merged state.
  EXPECT_TRUE(table::PlanMerges(ManifestOf({{9, 0}, {3, 0}, {1, 0}}), o).empty());
}

class OptimizeTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempTableDir("opt"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TableWriter> MakeWriter(TableWriterOptions opts = {},
                                          IndexType index = IndexType::kHnsw) {
    auto w =
        TableWriter::Create(dir_, TestSchema(kDim),
                            {TestPolicy(kDim, DistanceMetric::kEuclidean, index)}, std::move(opts));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return std::move(*w);
  }
  static TableWriterOptions NoAutoOptimize() {
    TableWriterOptions o;
    o.auto_optimize = false;
    return o;
  }
  void Append(TableWriter* w, int64_t first, int64_t rows, bool deferred = false) {
    auto vecs = ClusteredVectors(rows, kDim, first);
    auto batch = TestBatch(first, rows, kDim, vecs);
    auto r = deferred ? w->WriteBatchDeferred(*batch) : w->WriteBatch(*batch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // id -> fragment holding it, over the latest version's live rows.
  std::map<int64_t, uint64_t> Placement() {
    std::map<int64_t, uint64_t> out;
    auto t = Table::Open(dir_).ValueOrDie();
    for (const auto& f : t->fragments()) {
      auto rows = t->ReadFragment(f.id, {"id"}).ValueOrDie();
      auto col = rows->GetColumnByName("id");
      for (const auto& chunk : col->chunks()) {
        auto a = std::static_pointer_cast<arrow::Int64Array>(chunk);
        for (int64_t i = 0; i < a->length(); ++i) {
          EXPECT_TRUE(out.emplace(a->Value(i), f.id).second) << "id " << a->Value(i) << " twice";
        }
      }
    }
    return out;
  }
  std::string dir_;
};

// The write-amplification bound, measured: append after append with an
// optimize after each, every row is rewritten at most once per tier, and the
// fragment count stays within (merge_factor - 1) per tier.
TEST_F(OptimizeTest, EachRowIsRewrittenAtMostOncePerTier) {
  auto w = MakeWriter(NoAutoOptimize(), IndexType::kFlat);
  OptimizeOptions o;
  o.merge_factor = 4;
  constexpr int kAppends = 64;
  constexpr int kRows = 4;  // tier 1; 256 rows in all reach tier 4
  std::map<int64_t, int> rewrites;
  std::map<int64_t, uint64_t> before;
  int64_t rows_rewritten = 0;
  for (int i = 0; i < kAppends; ++i) {
    Append(w.get(), int64_t{i} * kRows, kRows);
    auto r = Table::Open(dir_).ValueOrDie()->Optimize(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    rows_rewritten += r->rows_rewritten;
    auto now = Placement();
    ASSERT_EQ(now.size(), static_cast<size_t>((i + 1) * kRows));
    for (const auto& [id, frag] : now) {
      auto it = before.find(id);
      if (it != before.end() && it->second != frag) ++rewrites[id];
    }
    before = std::move(now);
    const auto t = Table::Open(dir_).ValueOrDie();
    EXPECT_LE(t->fragments().size(), 3u * 4u) << "after append " << i;
  }
  int max_rewrites = 0;
  for (const auto& [id, n] : rewrites) max_rewrites = std::max(max_rewrites, n);
  // Tiers 1 -> 2 -> 3 -> 4: three rewrites at most; 256 rows = 4^4 end as one fragment.
  EXPECT_LE(max_rewrites, 3);
  EXPECT_EQ(max_rewrites, 3);
  EXPECT_EQ(rows_rewritten, 3 * kAppends * kRows);
  EXPECT_EQ(Table::Open(dir_).ValueOrDie()->fragments().size(), 1u);
}

TEST_F(OptimizeTest, MergesIndexesPendingFilesAndDropsDeletedRows) {
  TableWriterOptions opts = NoAutoOptimize();
  opts.background_threads = 0;  // deferred files stay pending
  auto w = MakeWriter(opts);
  for (int i = 0; i < 12; ++i) Append(w.get(), i * 30, 30, /*deferred=*/i % 2 == 1);
  ASSERT_EQ(w->Detach(), 6);
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(
      t->Delete(cp::less(cp::field_ref("id"), cp::literal(int64_t{15}))).ValueOrDie().rows_deleted,
      15);
  OptimizeOptions o;
  o.merge_factor = 5;
  auto r = t->Optimize(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Tier 2 ([25, 125)) holds fragments 1-11: merged as 1-5 and 6-10 (150
  // rows each, tier 3); fragment 0 (15 live rows of 30) is rewritten alone;
  // fragment 11, deferred, is indexed.
  EXPECT_EQ(r->merges, 3);
  EXPECT_EQ(r->fragments_removed, 11);
  EXPECT_EQ(r->fragments_added, 3);
  EXPECT_EQ(r->rows_rewritten, 315);
  EXPECT_EQ(r->rows_dropped, 15);
  EXPECT_EQ(r->indexes_built, 1);
  t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->version(), r->version);
  EXPECT_EQ(t->fragments().size(), 4u);
  for (const auto& f : t->fragments()) {
    EXPECT_EQ(f.files[0].index_state, IndexState::kIndexed);
    EXPECT_EQ(f.deleted_rows, 0);
  }
  auto placed = Placement();
  ASSERT_EQ(placed.size(), 360u - 15u);
  EXPECT_EQ(placed.begin()->first, 15);
  // A second optimize has nothing to do.
  auto again = t->Optimize(o).ValueOrDie();
  EXPECT_EQ(again.merges, 0);
  EXPECT_EQ(again.indexes_built, 0);
  EXPECT_EQ(again.version, t->version());
}

TEST_F(OptimizeTest, BadOptionsAreRefused) {
  MakeWriter();
  auto t = Table::Open(dir_).ValueOrDie();
  OptimizeOptions o;
  o.merge_factor = 1;
  EXPECT_NE(t->Optimize(o).status().message().find("merge_factor"), std::string::npos);
  o = {};
  o.max_rows_per_fragment = 0;
  EXPECT_NE(t->Optimize(o).status().message().find("max_rows_per_fragment"), std::string::npos);
  o = {};
  o.max_deleted_fraction = 1.5;
  EXPECT_NE(t->Optimize(o).status().message().find("max_deleted_fraction"), std::string::npos);
}

// A writer converges by itself: its background pool merges full tiers.
TEST_F(OptimizeTest, WriterOptimizesInTheBackground) {
  TableWriterOptions opts;
  opts.optimize.merge_factor = 4;
  auto w = MakeWriter(opts);
  for (int i = 0; i < 40; ++i) Append(w.get(), i * 5, 5);
  ASSERT_TRUE(w->WaitForIndexing().ok());
  auto t = Table::Open(dir_).ValueOrDie();
  // 200 rows: tiers 1 ([4, 16)) and up hold at most 3 fragments each, and
  // after the last queued optimize no tier is full.
  EXPECT_TRUE(table::PlanMerges(table::TableAccess::manifest(*t), opts.optimize).empty());
  EXPECT_LE(t->fragments().size(), 9u);
  EXPECT_EQ(Placement().size(), 200u);
}

// Deletes evaluated on a version whose fragments a background merge
// rewrote are evaluated again on the newer version: none is lost.
TEST_F(OptimizeTest, DeletesSurviveConcurrentBackgroundMerges) {
  TableWriterOptions opts;
  opts.optimize.merge_factor = 2;
  auto w = MakeWriter(opts, IndexType::kFlat);
  for (int i = 0; i < 8; ++i) Append(w.get(), i * 10, 10);
  std::thread deleter([&] {
    for (int64_t id = 0; id < 80; id += 3) {
      auto t = Table::Open(dir_).ValueOrDie();
      auto r = t->Delete(cp::equal(cp::field_ref("id"), cp::literal(id)));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->rows_deleted, 1);
    }
  });
  for (int i = 8; i < 40; ++i) Append(w.get(), i * 10, 10);
  deleter.join();
  ASSERT_TRUE(w->WaitForIndexing().ok());
  auto placed = Placement();
  for (int64_t id = 0; id < 400; ++id) {
    EXPECT_EQ(placed.count(id), (id < 80 && id % 3 == 0) ? 0u : 1u) << id;
  }
}

// Deferred IVF-PQ writes too small to train the table's codebook (on an
// HNSW table: the owed index type is the file's, not the policy's) wait,
// then one codebook is trained on all of them and every file indexed with it.
TEST_F(OptimizeTest, SmallDeferredIvfPqFilesWaitForOneCodebookTrainedOnAllOfThem) {
  VectorStoragePolicy policy = TestPolicy(kDim, DistanceMetric::kEuclidean, IndexType::kHnsw);
  policy.ivf_pq.min_training_rows = 500;
  TableWriterOptions opts = NoAutoOptimize();
  opts.background_threads = 0;
  auto w = TableWriter::Create(dir_, TestSchema(kDim), {policy}, opts).ValueOrDie();
  for (int i = 0; i < 4; ++i) {
    auto vecs = ClusteredVectors(150, kDim, i * 150);
    ASSERT_TRUE(w->WriteBatchIvfPqDeferred(*TestBatch(i * 150, 150, kDim, vecs)).ok());
  }
  ASSERT_TRUE(w->WaitForIndexing().ok());  // 150 rows each: nothing to train on yet
  auto t = Table::Open(dir_).ValueOrDie();
  EXPECT_TRUE(table::TableAccess::manifest(*t).vector_columns(0).ivf_codebook_path().empty());
  for (const auto& f : t->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kPending);
  auto r = t->Optimize({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->codebooks_trained, 1);
  EXPECT_EQ(r->indexes_built, 4);
  t = Table::Open(dir_).ValueOrDie();
  EXPECT_FALSE(table::TableAccess::manifest(*t).vector_columns(0).ivf_codebook_path().empty());
  for (const auto& f : t->fragments()) EXPECT_EQ(f.files[0].index_state, IndexState::kIndexed);
  EXPECT_EQ(Placement().size(), 600u);
}

// kill -9 at random points of an optimize: every committed version holds
// every row once; a later optimize finishes the work.
TEST_F(OptimizeTest, KilledOptimizeLosesNothing) {
  auto w = MakeWriter(NoAutoOptimize());
  for (int i = 0; i < 60; ++i) Append(w.get(), i * 20, 20);
  w.reset();
  OptimizeOptions o;
  o.merge_factor = 3;
  std::mt19937 rng(11);
  int interrupted = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto t = Table::Open(dir_);
      if (!t.ok()) ::_exit(2);
      (void)(*t)->Optimize(o);
      ::_exit(0);
    }
    ::usleep(2000 + rng() % 10000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto placed = Placement();
    ASSERT_EQ(placed.size(), 1200u) << "round " << round;
    if (!table::PlanMerges(table::TableAccess::manifest(*Table::Open(dir_).ValueOrDie()), o)
             .empty())
      ++interrupted;
  }
  // The kills landed inside the work, not after it.
  EXPECT_GE(interrupted, 3);
  auto r = Table::Open(dir_).ValueOrDie()->Optimize(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Placement().size(), 1200u);
  EXPECT_TRUE(
      table::PlanMerges(table::TableAccess::manifest(*Table::Open(dir_).ValueOrDie()), o).empty());
}

// Optimize in pieces: the planned groups, merged concurrently by several
// threads (as distributed workers would), reach the state Optimize reaches.
TEST_F(OptimizeTest, PlannedMergesRunConcurrentlyAndLoseNothing) {
  auto w = MakeWriter(NoAutoOptimize());
  for (int i = 0; i < 12; ++i) Append(w.get(), i * 20, 20);
  w.reset();
  OptimizeOptions o;
  o.merge_factor = 3;
  auto t = Table::Open(dir_).ValueOrDie();
  auto groups = t->PlanOptimize(o).ValueOrDie();
  ASSERT_EQ(groups.size(), 4u);
  std::vector<std::thread> threads;
  std::atomic<int> merged{0};
  threads.reserve(groups.size());
  for (const auto& g : groups) {
    threads.emplace_back([&, g] {
      auto r = t->MergeFragments(g, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->fragments_removed, 3);
      merged++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(merged.load(), 4);
  EXPECT_EQ(Placement().size(), 240u);
  // The next round merges the four 60-row fragments' first three.
  auto next = t->PlanOptimize(o).ValueOrDie();
  ASSERT_EQ(next.size(), 1u);
  // A group naming a fragment twice or one that is gone is refused.
  std::vector<uint64_t> twice = {next[0][0], next[0][0]};
  EXPECT_TRUE(t->MergeFragments(twice, o).status().IsInvalid());
  std::vector<uint64_t> gone = {groups[0][0]};
  EXPECT_TRUE(t->MergeFragments(gone, o).status().IsKeyError());
  o.merge_factor = 1;
  EXPECT_TRUE(t->PlanOptimize(o).status().IsInvalid());
}

// A distributed write: files staged by several writers (threads here,
// processes or Ray tasks in use) and committed as one version.
TEST_F(OptimizeTest, StagedWritesCommitAsOneVersion) {
  auto w = MakeWriter(NoAutoOptimize());
  Append(w.get(), 0, 20);
  w.reset();
  auto t = Table::Open(dir_).ValueOrDie();
  const uint64_t before = t->version();
  std::vector<std::string> staged(4);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const int64_t first = 100 + i * 30;
      auto batch = TestBatch(first, 30, kDim, ClusteredVectors(30, kDim, first));
      auto s = t->StageWrite(*batch, /*deferred=*/i % 2 == 1);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      staged[static_cast<size_t>(i)] = *s;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(Table::Open(dir_).ValueOrDie()->version(), before);  // nothing committed yet
  auto v = t->CommitStaged(staged);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)->version(), before + 1);
  EXPECT_EQ(Placement().size(), 140u);
  auto latest = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(latest->PendingFiles().ValueOrDie().size(), 2u);
  EXPECT_EQ(latest->BuildPendingIndexesOf(latest->PendingFiles().ValueOrDie()).ValueOrDie(), 2);
  EXPECT_TRUE(Table::Open(dir_).ValueOrDie()->PendingFiles().ValueOrDie().empty());
  // Garbage, or a path outside data/, is refused and commits nothing.
  std::vector<std::string> bad = {"not a description"};
  EXPECT_TRUE(t->CommitStaged(bad).status().IsInvalid());
  table::StagedWrite forged;
  forged.ParseFromString(staged[0]);
  forged.mutable_files(0)->mutable_data_file()->set_path("../elsewhere.parquet");
  bad = {forged.SerializeAsString()};
  EXPECT_TRUE(t->CommitStaged(bad).status().IsInvalid());
  EXPECT_EQ(Table::Open(dir_).ValueOrDie()->version(), before + 3);
}

}  // namespace
}  // namespace ailake
