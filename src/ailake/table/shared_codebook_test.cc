// One IVF-PQ codebook per table vector column (shared_codebook.h): trained
// once, stored under _indexes/, recorded in the manifest, reused by every
// IVF-PQ file of the column (inline, deferred, compaction, AddColumns,
// reopened writers), and never two per column under concurrent writers.
#include "ailake/table/shared_codebook.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "ailake/table.h"
#include "ailake/table/data_file_writer.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 16;
namespace fs = std::filesystem;

class SharedCodebookTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempTableDir("cb"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<TableWriter> MakeWriter(IndexType index = IndexType::kHnsw,
                                          TableWriterOptions opts = {}) {
    auto w =
        TableWriter::Create(dir_, TestSchema(kDim),
                            {TestPolicy(kDim, DistanceMetric::kEuclidean, index)}, std::move(opts));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return std::move(*w);
  }
  static std::shared_ptr<arrow::RecordBatch> Batch(int64_t first, int64_t rows) {
    return TestBatch(first, rows, kDim, ClusteredVectors(rows, kDim, first));
  }
  std::vector<std::string> CodebookFiles() const {
    std::vector<std::string> out;
    const fs::path d = fs::path(dir_) / "_indexes";
    if (!fs::exists(d)) return out;
    for (const auto& e : fs::directory_iterator(d)) {
      if (e.path().extension() == ".codebook")
        out.push_back("_indexes/" + e.path().filename().string());
    }
    return out;
  }
  // The shared-codebook fingerprint of the primary section of each indexed
  // data file of the newest version (0 for a file whose blob embeds its own).
  std::vector<uint64_t> Fingerprints() const {
    std::vector<uint64_t> out;
    auto t = Table::Open(dir_).ValueOrDie();
    for (const auto& f : t->fragments()) {
      for (const auto& d : f.files) {
        if (d.index_state != IndexState::kIndexed) continue;
        auto in = arrow::io::ReadableFile::Open((fs::path(dir_) / d.path).string()).ValueOrDie();
        auto bytes = in->Read(in->GetSize().ValueOrDie()).ValueOrDie();
        auto r = AilakeFileReader::Open(bytes).ValueOrDie();
        const auto* info = r->vector_column().ValueOrDie();
        EXPECT_EQ(info->section.index_type, IndexType::kIvfPq) << d.path;
        auto blob = arrow::SliceBuffer(bytes, static_cast<int64_t>(info->section.index_offset),
                                       static_cast<int64_t>(info->section.index_bytes));
        auto fp = SharedCodebookFingerprint(*blob).ValueOrDie();
        out.push_back(fp.value_or(0));
      }
    }
    return out;
  }
  std::string ManifestCodebook() const {
    auto t = Table::Open(dir_).ValueOrDie();
    return table::TableAccess::manifest(*t).vector_columns(0).ivf_codebook_path();
  }
  uint64_t CodebookFingerprint(const std::string& path) const {
    std::ifstream in((fs::path(dir_) / path).string(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return IvfPqCodebook::Load(arrow::Buffer::FromString(bytes)).ValueOrDie()->fingerprint();
  }
  // Every indexed file of the newest version loads its index through the table.
  void ExpectIndexesLoad() const {
    auto t = Table::Open(dir_).ValueOrDie();
    for (const auto& f : t->fragments()) {
      for (const auto& d : f.files) {
        auto r = t->OpenDataFile(d.path).ValueOrDie();
        auto st = r->Verify();
        EXPECT_TRUE(st.ok()) << d.path << ": " << st.ToString();
      }
    }
  }
  std::string dir_;
};

TEST_F(SharedCodebookTest, TrainedOnceReusedByLaterFilesDeferredAndReopenedWriters) {
  {
    auto w = MakeWriter();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->WriteBatchIvfPq(*Batch(i * 400, 400)).ok());
  }
  const auto files = CodebookFiles();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(ManifestCodebook(), files[0]);
  const uint64_t fp = CodebookFingerprint(files[0]);
  EXPECT_EQ(Fingerprints(), std::vector<uint64_t>(3, fp));

  // A writer opened later reads the codebook back: no second training,
  // also for deferred files built by the background pool.
  {
    auto w = TableWriter::Open(dir_).ValueOrDie();
    ASSERT_TRUE(w->WriteBatchIvfPq(*Batch(1200, 300)).ok());
    ASSERT_TRUE(w->WriteBatchIvfPqDeferred(*Batch(1500, 300)).ok());
    ASSERT_TRUE(w->WaitForIndexing().ok());
  }
  EXPECT_EQ(CodebookFiles(), files);
  EXPECT_EQ(ManifestCodebook(), files[0]);
  EXPECT_EQ(Fingerprints(), std::vector<uint64_t>(5, fp));
  ExpectIndexesLoad();
}

TEST_F(SharedCodebookTest, FirstDeferredWriteTrainsAndBackgroundIndexingUsesIt) {
  TableWriterOptions opts;
  opts.background_threads = 2;
  auto w = MakeWriter(IndexType::kHnsw, opts);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(w->WriteBatchIvfPqDeferred(*Batch(i * 300, 300)).ok());
  ASSERT_TRUE(w->WaitForIndexing().ok());
  ASSERT_EQ(CodebookFiles().size(), 1u);
  const uint64_t fp = CodebookFingerprint(CodebookFiles()[0]);
  // The owed index is IVF-PQ although the column's policy says HNSW.
  EXPECT_EQ(Fingerprints(), std::vector<uint64_t>(4, fp));
  auto t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(t->BuildPendingIndexes().ValueOrDie(), 0);
  for (const auto& f : table::TableAccess::manifest(*t).fragments())
    EXPECT_EQ(f.files(0).pending_index_type(), 0u);
}

TEST_F(SharedCodebookTest, IvfPqPolicyCompactionAndAddColumnsUseTheColumnsCodebook) {
  auto w = MakeWriter(IndexType::kIvfPq);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->WriteBatch(*Batch(i * 200, 200)).ok());
  ASSERT_EQ(CodebookFiles().size(), 1u);
  const std::string path = CodebookFiles()[0];
  const uint64_t fp = CodebookFingerprint(path);
  auto t = Table::Open(dir_).ValueOrDie();
  auto compacted = t->Compact();
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  ASSERT_EQ(compacted->fragments_added, 1);
  EXPECT_EQ(Fingerprints(), std::vector<uint64_t>(1, fp));
  EXPECT_EQ(CodebookFiles(), std::vector<std::string>{path});

  // A new IVF-PQ vector column: one codebook for all its files.
  ASSERT_TRUE(w->WriteBatch(*Batch(600, 200)).ok());
  t = Table::Open(dir_).ValueOrDie();
  VectorStoragePolicy p2 = TestPolicy(kDim, DistanceMetric::kEuclidean, IndexType::kIvfPq);
  p2.vector_column = "emb2";
  auto fields = arrow::schema({arrow::field("emb2", table::VectorListType(kDim), false)});
  auto filler = [&](const std::shared_ptr<arrow::Table>& rows)
      -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
    auto vecs = ClusteredVectors(rows->num_rows(), kDim, 5000);
    auto b = TestBatch(0, rows->num_rows(), kDim, vecs);
    return arrow::RecordBatch::Make(fields, b->num_rows(), {b->column(3)});
  };
  ASSERT_TRUE(t->AddColumns(fields, filler, {p2}).ok());
  t = Table::Open(dir_).ValueOrDie();
  ASSERT_EQ(table::TableAccess::manifest(*t).vector_columns_size(), 2);
  const std::string path2 = table::TableAccess::manifest(*t).vector_columns(1).ivf_codebook_path();
  EXPECT_FALSE(path2.empty());
  EXPECT_NE(path2, path);
  EXPECT_EQ(CodebookFiles().size(), 2u);
  ExpectIndexesLoad();
}

TEST_F(SharedCodebookTest, RebaseDetectsACodebookCommittedByAnotherWriter) {
  MakeWriter();
  // Writer A computes a file (training codebook X) from a version without one.
  auto stale = Table::Open(dir_).ValueOrDie();
  std::vector<VectorColumnBatch> cols = {{stale->vector_columns()[0], {}}};
  cols[0].policy.index_type = IndexType::kIvfPq;
  std::vector<table::ColumnCodebook> mine;
  auto written =
      table::WriteDataFile(*stale, *Batch(0, 300), cols, table::IndexMode::kInline, {}, &mine);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_TRUE(mine[0].trained);
  // Writer B commits its own first codebook Y meanwhile.
  {
    auto b = TableWriter::Open(dir_).ValueOrDie();
    ASSERT_TRUE(b->WriteBatchIvfPq(*Batch(300, 300)).ok());
  }
  const std::string committed = ManifestCodebook();
  ASSERT_NE(committed, mine[0].path);
  bool raced = false;
  auto r = table::CommitAppend(*stale, {*written}, "test", mine, &raced);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(raced);
  EXPECT_TRUE(table::IsConflict(r.status())) << r.status().ToString();
  EXPECT_NE(r.status().message().find(committed), std::string::npos) << r.status().ToString();
  EXPECT_EQ(ManifestCodebook(), committed);
}

TEST_F(SharedCodebookTest, ConcurrentFirstWritersEndWithOneCodebook) {
  MakeWriter();
  constexpr int kProcs = 4;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      auto w = TableWriter::Open(dir_);
      char c;
      if (!w.ok() || ::read(go[0], &c, 1) != 0) ::_exit(2);  // wait for the start (EOF)
      for (int i = 0; i < 2; ++i) {
        if (!(*w)->WriteBatchIvfPq(*Batch((p * 2 + i) * 300, 300)).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // all children start together
  for (pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->num_rows(), kProcs * 2 * 300);
  // Losers adopted the committed codebook and deleted their own.
  ASSERT_EQ(CodebookFiles().size(), 1u);
  EXPECT_EQ(ManifestCodebook(), CodebookFiles()[0]);
  const uint64_t fp = CodebookFingerprint(CodebookFiles()[0]);
  EXPECT_EQ(Fingerprints(), std::vector<uint64_t>(kProcs * 2, fp));
}

TEST_F(SharedCodebookTest, MissingOrCorruptCodebookIsAnErrorNamingThePath) {
  {
    auto w = MakeWriter();
    ASSERT_TRUE(w->WriteBatchIvfPq(*Batch(0, 300)).ok());
  }
  const std::string path = ManifestCodebook();
  const std::string full = (fs::path(dir_) / path).string();
  auto expect_error = [&](const std::string& what) {
    auto t = Table::Open(dir_).ValueOrDie();
    auto r = t->OpenDataFile(t->fragments()[0].files[0].path).ValueOrDie();
    auto st = r->LoadIndex().status();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(path), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find(what), std::string::npos) << st.ToString();
    auto w = TableWriter::Open(dir_).ValueOrDie();
    auto wr = w->WriteBatchIvfPq(*Batch(300, 100));
    ASSERT_FALSE(wr.ok());
    EXPECT_NE(wr.status().message().find(path), std::string::npos) << wr.status().ToString();
  };
  const std::string saved = full + ".saved";
  fs::rename(full, saved);
  expect_error("cannot be read");
  {
    std::ofstream out(full, std::ios::binary);
    out << "AIPQ but not a codebook";
  }
  expect_error("corrupt");
  fs::remove(full);
  fs::rename(saved, full);
  ExpectIndexesLoad();
}

}  // namespace
}  // namespace ailake
