#include "ailake/table/manifest_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "ailake/table/deletion_file.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"

namespace ailake::table {
namespace {

class ManifestStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ailake_ms_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::make_unique<ManifestStore>(io::OpenObjectStore(dir_.string()).ValueOrDie());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void CreateTable() {
    auto schema = arrow::schema({arrow::field("id", arrow::int64())});
    auto r = store_->Commit("create", "", [&](const Manifest* latest) -> arrow::Result<Manifest> {
      if (latest) return arrow::Status::AlreadyExists("table exists");
      Manifest m;
      AssignFieldIds(*schema, &m);
      ARROW_ASSIGN_OR_RAISE(*m.mutable_arrow_schema(), SerializeSchema(*schema));
      return m;
    });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  static ManifestStore::Operation AppendOne(const std::string& path) {
    return [path](const Manifest* latest) -> arrow::Result<Manifest> {
      Manifest m = *latest;
      Fragment* f = m.add_fragments();
      f->set_id(m.next_fragment_id());
      m.set_next_fragment_id(m.next_fragment_id() + 1);
      f->set_physical_rows(10);
      DataFile* df = f->add_files();
      df->set_path(path);
      df->add_fields(TopLevelFieldId(m, "id"));
      df->add_column_indices(0);
      return m;
    };
  }

  std::filesystem::path dir_;
  std::unique_ptr<ManifestStore> store_;
};

TEST_F(ManifestStoreTest, NoTableIsAClearError) {
  auto r = store_->LatestVersion();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no ailake table"), std::string::npos);
}

TEST_F(ManifestStoreTest, CommitsAreSequentialVersions) {
  CreateTable();
  for (int i = 0; i < 3; ++i) {
    auto r = store_->Commit("append", "", AppendOne("data/" + std::to_string(i) + ".parquet"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->manifest.version(), static_cast<uint64_t>(i + 2));
  }
  EXPECT_EQ(store_->ListVersions().ValueOrDie(), (std::vector<uint64_t>{1, 2, 3, 4}));
  auto m2 = store_->Read(2).ValueOrDie();
  EXPECT_EQ(m2.fragments_size(), 1);
  auto m4 = store_->ReadLatest().ValueOrDie();
  EXPECT_EQ(m4.fragments_size(), 3);
  EXPECT_EQ(m4.fragments(2).id(), 2u);
  EXPECT_FALSE(m4.transaction_file().empty());
  EXPECT_TRUE(store_->store()->Exists(m4.transaction_file()).ValueOrDie());
}

TEST_F(ManifestStoreTest, CreateTwiceFails) {
  CreateTable();
  auto r = store_->Commit("create", "", [](const Manifest* latest) -> arrow::Result<Manifest> {
    if (latest) return arrow::Status::AlreadyExists("table exists");
    return Manifest{};
  });
  EXPECT_TRUE(r.status().IsAlreadyExists());
}

TEST_F(ManifestStoreTest, FourProcessesFiftyAppendsEachLoseNothing) {
  CreateTable();
  std::vector<pid_t> kids;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ManifestStore store(io::OpenObjectStore(dir_.string()).ValueOrDie());
      for (int i = 0; i < 50; ++i) {
        auto path = "data/p" + std::to_string(p) + "_" + std::to_string(i) + ".parquet";
        auto r = store.Commit("append", "", AppendOne(path));
        if (!r.ok()) {
          std::fprintf(stderr, "child %d: %s\n", p, r.status().ToString().c_str());
          ::_exit(1);
        }
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto m = store_->ReadLatest().ValueOrDie();
  EXPECT_EQ(m.version(), 201u);
  ASSERT_EQ(m.fragments_size(), 200);
  std::set<std::string> paths;
  std::set<uint64_t> ids;
  for (const auto& f : m.fragments()) {
    paths.insert(f.files(0).path());
    ids.insert(f.id());
  }
  EXPECT_EQ(paths.size(), 200u);
  EXPECT_EQ(ids.size(), 200u);
}

TEST_F(ManifestStoreTest, CorruptManifestIsRejected) {
  CreateTable();
  ASSERT_TRUE(store_->store()
                  ->PutIfAbsent(VersionPath(2), *arrow::Buffer::FromString("\xff\xff garbage"))
                  .ok());
  auto r = store_->Read(2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("_versions/00000000000000000002.manifest"),
            std::string::npos);
}

TEST_F(ManifestStoreTest, ValidationCatchesBadReferences) {
  CreateTable();
  Manifest m = store_->ReadLatest().ValueOrDie();
  Manifest bad = m;
  Fragment* f = bad.add_fragments();
  f->set_id(5);  // >= next_fragment_id (0)
  f->set_physical_rows(1);
  f->add_files()->set_path("data/x.parquet");
  EXPECT_NE(ValidateManifest(bad).message().find("fragment id 5"), std::string::npos);
  bad = m;
  bad.set_next_fragment_id(1);
  f = bad.add_fragments();
  f->set_physical_rows(1);
  auto* df = f->add_files();
  df->set_path("../escape.parquet");
  EXPECT_NE(ValidateManifest(bad).message().find("not a table path"), std::string::npos);
  df->set_path("data/ok.parquet");
  df->add_fields(99);
  df->add_column_indices(0);
  EXPECT_NE(ValidateManifest(bad).message().find("unknown field 99"), std::string::npos);
  df->set_fields(0, -1);
  EXPECT_NE(ValidateManifest(bad).message().find("unassigned"), std::string::npos);
  df->set_fields(0, -2);  // tombstoned is fine
  EXPECT_TRUE(ValidateManifest(bad).ok()) << ValidateManifest(bad).ToString();
  bad.set_reader_feature_flags(1ull << 40);
  EXPECT_TRUE(ValidateManifest(bad).IsNotImplemented());
}

TEST(TablePathsTest, VersionPathsRoundTripAndSortNumerically) {
  EXPECT_EQ(VersionPath(12), "_versions/00000000000000000012.manifest");
  EXPECT_EQ(ParseVersionPath(VersionPath(18446744073709551615ull)).value(),
            18446744073709551615ull);
  EXPECT_FALSE(ParseVersionPath("_versions/12.manifest").has_value());
  EXPECT_FALSE(ParseVersionPath("_versions/0000000000000000001x.manifest").has_value());
  EXPECT_LT(VersionPath(9), VersionPath(10));
  EXPECT_NE(NewUuid(), NewUuid());
  EXPECT_EQ(NewUuid().size(), 32u);
}

TEST(DeletionFileTest, RoundTripAndValidation) {
  std::vector<uint32_t> del{0, 5, 63, 64, 999};
  auto buf = SerializeDeletionFile(del, 1000).ValueOrDie();
  EXPECT_EQ(ParseDeletionFile(*buf, 1000).ValueOrDie(), del);
  EXPECT_FALSE(ParseDeletionFile(*buf, 999).ok());  // fragment size mismatch
  EXPECT_FALSE(SerializeDeletionFile({3, 3}, 10).ok());
  EXPECT_FALSE(SerializeDeletionFile({10}, 10).ok());
  // Any single flipped byte is detected; any truncation too.
  std::string bytes = buf->ToString();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] ^= 0x5a;
    EXPECT_FALSE(ParseDeletionFile(*arrow::Buffer::FromString(b), 1000).ok()) << i;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(ParseDeletionFile(*arrow::Buffer::FromString(bytes.substr(0, n)), 1000).ok());
  }
}

TEST(DeletionFileTest, BitmapAndMerge) {
  EXPECT_EQ(MergeDeleted({1, 4, 9}, {2, 4, 10}), (std::vector<uint32_t>{1, 2, 4, 9, 10}));
  auto bm = LiveRowBitmap({0, 65}, 70);
  ASSERT_EQ(bm.words().size(), 2u);
  EXPECT_EQ(bm.words()[0], ~1ull);
  EXPECT_EQ(bm.words()[1], (0x3full) & ~2ull);
  EXPECT_EQ(bm.Count(), 68u);
  EXPECT_FALSE(bm.Contains(65));
  EXPECT_TRUE(bm.Contains(69));
  EXPECT_FALSE(bm.Contains(70));
}

}  // namespace
}  // namespace ailake::table
