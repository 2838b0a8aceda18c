// Issue #10 findings 3 and 5: manifest entries that point at the wrong place
// are errors naming what is wrong, never a crash or another column's bits.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ailake/query.h"
#include "ailake/table/manifest.pb.h"
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

class CorruptManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempTableDir("corrupt");
    auto w = TableWriter::Create(dir_, TestSchema(kDim), {TestPolicy(kDim)}).ValueOrDie();
    auto vecs = ClusteredVectors(100, kDim, 0);
    ASSERT_TRUE(w->WriteBatch(*TestBatch(0, 100, kDim, vecs)).ok());
    w.reset();
    version_ = Table::Open(dir_).ValueOrDie()->version();
    query_.assign(vecs.begin(), vecs.begin() + kDim);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Rewrites the newest manifest in place with `edit` applied.
  template <typename F>
  void Edit(F edit) {
    const std::string path = dir_ + "/" + table::VersionPath(version_);
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    auto decoded = table::DecodeManifestFile(
        {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, path);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    table::Manifest m = std::move(*decoded);
    edit(&m);
    // Resealed with a valid checksum: what a buggy or hostile writer leaves.
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << table::EncodeManifestFile(m);
  }
  // Index in the data file's `fields` of the table field `name`.
  static int FieldSlot(const table::Manifest& m, const std::string& name) {
    int32_t id = -1;
    for (const auto& f : m.fields()) {
      if (f.name() == name) id = f.id();
    }
    const auto& df = m.fragments(0).files(0);
    for (int i = 0; i < df.fields_size(); ++i) {
      if (df.fields(i) == id) return i;
    }
    return -1;
  }

  std::string dir_;
  uint64_t version_ = 0;
  std::vector<float> query_;
};

TEST_F(CorruptManifestTest, VectorColumnIndexPastTheFileIsAnError) {
  Edit([](table::Manifest* m) {
    const int slot = FieldSlot(*m, "embedding");
    m->mutable_fragments(0)->mutable_files(0)->set_column_indices(slot, 99);
  });
  auto t = Table::Open(dir_).ValueOrDie();
  auto r = Search(*t, query_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has no top-level column 99"), std::string::npos)
      << r.status().ToString();
}

TEST_F(CorruptManifestTest, SwappedColumnIndicesAreAnErrorNotReinterpretedBits) {
  Edit([](table::Manifest* m) {
    auto* df = m->mutable_fragments(0)->mutable_files(0);
    const int a = FieldSlot(*m, "id"), b = FieldSlot(*m, "category");
    const int32_t ca = df->column_indices(a);
    df->set_column_indices(a, df->column_indices(b));
    df->set_column_indices(b, ca);
  });
  std::shared_ptr<const Table> t = Table::Open(dir_).ValueOrDie();
  auto read = t->ReadFragment(t->fragments()[0].id, {"id"});
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("names the wrong column"), std::string::npos)
      << read.status().ToString();
  ScanOptions so;
  so.columns = {"id", "category"};
  EXPECT_FALSE(Scan(t, so).ok());
  SearchOptions vo;
  vo.columns = {"id"};
  EXPECT_FALSE(Search(*t, query_, vo).ok());
}

TEST_F(CorruptManifestTest, FragmentIdOutsideTheRowIdSpaceIsRefused) {
  Edit([](table::Manifest* m) {
    m->mutable_fragments(0)->set_id(uint64_t{1} << 32);
    m->set_next_fragment_id((uint64_t{1} << 32) + 1);
  });
  auto t = Table::Open(dir_);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("row-id space"), std::string::npos) << t.status().ToString();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Issue #10 finding 5: one flipped bit turned a fragment's deletion-file
// reference into an unknown field, and deleted rows came back. The manifest's
// checksum makes every single-bit flip an error naming the manifest.
TEST_F(CorruptManifestTest, EveryFlippedBitOfAManifestIsAnError) {
  {
    auto t = Table::Open(dir_).ValueOrDie();
    ASSERT_EQ(t->Delete(arrow::compute::less(arrow::compute::field_ref("id"),
                                             arrow::compute::literal(int64_t{10})))
                  .ValueOrDie()
                  .rows_deleted,
              10);
  }
  const uint64_t version = Table::Open(dir_).ValueOrDie()->version();
  const std::string path = dir_ + "/" + table::VersionPath(version);
  const std::string good = ReadAll(path);
  ASSERT_GT(good.size(), 24u);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
    auto t = Table::Open(dir_);
    ASSERT_FALSE(t.ok()) << "flipped bit " << i % 8 << " of byte " << i << " was accepted";
    EXPECT_NE(t.status().message().find("manifest"), std::string::npos) << t.status().ToString();
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << good;
  auto t = Table::Open(dir_).ValueOrDie();
  EXPECT_EQ(t->num_rows(), 90u);
}

// Manifests written before the checksum envelope (a bare Manifest message)
// are still read.
TEST_F(CorruptManifestTest, ManifestsWithoutTheEnvelopeStillRead) {
  const std::string path = dir_ + "/" + table::VersionPath(version_);
  const std::string enveloped = ReadAll(path);
  auto m = table::DecodeManifestFile(
      {reinterpret_cast<const uint8_t*>(enveloped.data()), enveloped.size()}, path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(enveloped.substr(0, 4), "AIMF");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << m->SerializeAsString();
  auto t = Table::Open(dir_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->num_rows(), 100u);
  EXPECT_EQ(Search(**t, query_).ValueOrDie()->num_rows(), 10);
  // A truncated bare manifest is still an error, not an empty table.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << m->SerializeAsString().substr(0, 7);
  EXPECT_FALSE(Table::Open(dir_).ok());
}

}  // namespace
}  // namespace ailake
