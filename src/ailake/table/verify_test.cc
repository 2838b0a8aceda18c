// Table::Verify (issue #10): every checksummed byte re-read, the manifest
// checked against every file, every problem reported.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/file.h>
#include <gtest/gtest.h>

#include "ailake/lance.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ailake/table.h"
#include "ailake/table/manifest_store.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 8;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void FlipByte(const std::string& path, size_t at) {
  std::string b = ReadAll(path);
  ASSERT_LT(at, b.size()) << path;
  b[at] = static_cast<char>(b[at] ^ 0x10);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << b;
}

bool Mentions(const VerifyReport& r, const std::string& what) {
  for (const auto& p : r.problems) {
    if (p.find(what) != std::string::npos) return true;
  }
  return false;
}

std::string Dump(const VerifyReport& r) {
  std::string s;
  for (const auto& p : r.problems) s += "\n  " + p;
  return s;
}

class TableVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempTableDir("verify");
    auto w = TableWriter::Create(dir_, TestSchema(kDim), {TestPolicy(kDim)}).ValueOrDie();
    for (int i = 0; i < 3; ++i) {
      auto vecs = ClusteredVectors(200, kDim, i * 200);
      ASSERT_TRUE(w->WriteBatch(*TestBatch(i * 200, 200, kDim, vecs)).ok());
    }
    w.reset();
    auto t = Table::Open(dir_).ValueOrDie();
    ASSERT_EQ(t->Delete(arrow::compute::less(arrow::compute::field_ref("id"),
                                             arrow::compute::literal(int64_t{30})))
                  .ValueOrDie()
                  .rows_deleted,
              30);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TableVerifyTest, AHealthyTableHasNoProblems) {
  auto t = Table::Open(dir_).ValueOrDie();
  int64_t calls = 0;
  auto r = t->Verify([&](int64_t done, int64_t total) {
              ++calls;
              EXPECT_LE(done, total);
            }).ValueOrDie();
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.files_checked, static_cast<int>(t->fragments().size()));
  EXPECT_EQ(calls, r.files_checked);
  EXPECT_GE(r.manifests_checked, 3);
  EXPECT_EQ(r.deletion_files_checked, 1);
}

// CreateIndex marks every file pending while each still carries its old
// index until BuildPendingIndexes swaps the new one in: a table in the middle
// of a re-index is healthy, not "pending but has an index".
TEST_F(TableVerifyTest, ATableBeingReindexedHasNoProblems) {
  auto t = Table::Open(dir_).ValueOrDie();
  auto p = t->vector_column().ValueOrDie();
  p.index_type = IndexType::kFlat;
  ASSERT_TRUE(t->CreateIndex(p).ok());
  auto latest = t->Latest().ValueOrDie();
  ASSERT_EQ(latest->PendingFiles().ValueOrDie().size(), latest->fragments().size());
  auto r = latest->Verify().ValueOrDie();
  EXPECT_TRUE(r.ok()) << Dump(r);
  ASSERT_GT(latest->BuildPendingIndexes().ValueOrDie(), 0);
  r = latest->Latest().ValueOrDie()->Verify().ValueOrDie();
  EXPECT_TRUE(r.ok()) << Dump(r);
}

// One corruption of each kind at once: verify names every one, not only the
// first, and each names its object.
TEST_F(TableVerifyTest, EveryProblemIsReportedWithItsObject) {
  auto t = Table::Open(dir_).ValueOrDie();
  const auto frags = t->fragments();
  ASSERT_GE(frags.size(), 2u);
  // A data page of the first fragment's file: Parquet, just past "PAR1" and
  // the page header (the first column's values); Lance, a byte of the
  // vector column's first page (the first column's page may be a few bytes
  // followed by padding that no reader reads).
  const std::string page_file = frags[0].files[0].path;
  uint64_t page_byte = 40;
  {
    auto r = AilakeFileReader::Open(dir_ + "/" + page_file).ValueOrDie();
    if (r->format() == FileFormat::kLance) {
      auto lance =
          LanceFileReader::Open(arrow::io::ReadableFile::Open(dir_ + "/" + page_file).ValueOrDie())
              .ValueOrDie();
      int32_t row_bytes = 0;
      page_byte =
          lance->FixedWidthPages(r->vector_columns()[0].name, &row_bytes).ValueOrDie()[0].offset +
          3;
    }
  }
  FlipByte(dir_ + "/" + page_file, page_byte);
  // The centroid of the second fragment's section.
  const std::string section_file = frags[1].files[0].path;
  {
    auto r = AilakeFileReader::Open(dir_ + "/" + section_file).ValueOrDie();
    const uint64_t centroid = r->vector_columns()[0].section.centroid_offset;
    r.reset();
    FlipByte(dir_ + "/" + section_file, centroid + 2);
  }
  // The deletion file.
  std::string deletion;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
    if (entry.path().parent_path().filename() == "_deletions") deletion = entry.path().string();
  }
  ASSERT_FALSE(deletion.empty());
  FlipByte(deletion, 30);
  // The first manifest.
  FlipByte(dir_ + "/" + table::VersionPath(1), 30);

  auto r = Table::Open(dir_).ValueOrDie()->Verify().ValueOrDie();
  EXPECT_FALSE(r.ok());
  EXPECT_GE(r.problems.size(), 4u) << Dump(r);
  EXPECT_TRUE(Mentions(r, page_file)) << Dump(r);
  EXPECT_TRUE(Mentions(r, "body checksum mismatch")) << Dump(r);
  EXPECT_TRUE(Mentions(r, "deletion file")) << Dump(r);
  EXPECT_TRUE(Mentions(r, table::VersionPath(1))) << Dump(r);
}

// A manifest resealed with a valid checksum but columns swapped (what a
// buggy writer could leave): the types disagree, and verify says so.
TEST_F(TableVerifyTest, ManifestColumnsDisagreeingWithTheFileAreReported) {
  const uint64_t v = Table::Open(dir_).ValueOrDie()->version();
  const std::string path = dir_ + "/" + table::VersionPath(v);
  const std::string bytes = ReadAll(path);
  auto m = table::DecodeManifestFile({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                                     path)
               .ValueOrDie();
  auto* df = m.mutable_fragments(0)->mutable_files(0);
  ASSERT_GE(df->column_indices_size(), 3);
  const int32_t a = df->column_indices(0),
                c = df->column_indices(2);  // id (int64), category (int32)
  df->set_column_indices(0, c);
  df->set_column_indices(2, a);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << table::EncodeManifestFile(m);
  auto r = Table::Open(dir_).ValueOrDie()->Verify().ValueOrDie();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(Mentions(r, "is int32, the manifest's 'id' is int64")) << Dump(r);
}

}  // namespace
}  // namespace ailake
