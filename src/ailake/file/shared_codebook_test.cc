// Files written with a shared IVF-PQ codebook (AilakeFileWriter::
// WithIvfPqCodebook, VectorColumnBatch::ivf_pq_codebook): the sections name
// the codebook by fingerprint, and a reader needs it to load their indexes.
#include <gtest/gtest.h>

#include <string>

#include "ailake/file.h"
#include "ailake/file/test_util.h"

namespace ailake {
namespace {

constexpr uint32_t kDim = 16;
constexpr int64_t kRows = 1200;

VectorStoragePolicy IvfPolicy(const std::string& column = "embedding") {
  VectorStoragePolicy p;
  p.vector_column = column;
  p.dim = kDim;
  p.metric = DistanceMetric::kEuclidean;
  p.index_type = IndexType::kIvfPq;
  p.ivf_pq.nlist = 8;
  p.ivf_pq.m = 4;
  return p;
}

std::shared_ptr<const IvfPqCodebook> Train(const std::vector<float>& v, uint64_t seed = 42) {
  VectorStoragePolicy p = IvfPolicy();
  p.ivf_pq.seed = seed;
  auto view =
      VectorView::Contiguous(Precision::kF32, kDim, {}, reinterpret_cast<const uint8_t*>(v.data()),
                             static_cast<uint32_t>(v.size() / kDim))
          .ValueOrDie();
  return TrainIvfPqCodebook(p, view).ValueOrDie();
}

// The index blob of a column, as stored in the file.
std::shared_ptr<arrow::Buffer> BlobOf(const std::shared_ptr<arrow::Buffer>& file,
                                      const AilakeFileReader& r, const std::string& column) {
  const auto* info = r.vector_column(column).ValueOrDie();
  return arrow::SliceBuffer(file, static_cast<int64_t>(info->section.index_offset),
                            static_cast<int64_t>(info->section.index_bytes));
}

bool Contains(const arrow::Status& st, const std::string& what) {
  return st.message().find(what) != std::string::npos;
}

TEST(SharedCodebookFile, SectionsNameTheCodebookAndReadersNeedIt) {
  const auto v1 = file_test::MakeVectors(kRows, kDim, 1);
  const auto v2 = file_test::MakeVectors(kRows, kDim, 2);
  const auto cb = Train(v1);
  AilakeFileWriter w(IvfPolicy());
  w.WithIndexType(IndexType::kHnsw).WithIvfPqCodebook(cb);
  EXPECT_EQ(w.policy().index_type, IndexType::kIvfPq);
  const auto f1 = w.Write(*file_test::MakeBatch(kRows, 1), v1).ValueOrDie();
  const auto f2 = w.Write(*file_test::MakeBatch(kRows, 2), v2).ValueOrDie();
  // Without the shared codebook the blob embeds its own.
  const auto own = AilakeFileWriter(IvfPolicy()).Write(*file_test::MakeBatch(kRows, 1), v1);
  ASSERT_TRUE(own.ok()) << own.status().ToString();

  for (const auto& f : {f1, f2}) {
    auto r = AilakeFileReader::Open(f).ValueOrDie();
    auto fp = SharedCodebookFingerprint(*BlobOf(f, *r, "embedding"));
    ASSERT_TRUE(fp.ok()) << fp.status().ToString();
    ASSERT_TRUE(fp->has_value());
    EXPECT_EQ(**fp, cb->fingerprint());
    EXPECT_LT(f->size(), (*own)->size());  // the codebook is not embedded

    // No codebook: a clear error naming the fingerprint, for every entry point.
    const std::string hex = FormatFingerprint(cb->fingerprint());
    auto loaded = r->LoadIndex();
    ASSERT_FALSE(loaded.ok());
    EXPECT_TRUE(Contains(loaded.status(), hex)) << loaded.status().ToString();
    EXPECT_TRUE(Contains(loaded.status(), "SetIvfPqCodebooks")) << loaded.status().ToString();
    EXPECT_FALSE(r->Search(std::span<const float>(v1.data(), kDim), 5).ok());
    EXPECT_FALSE(r->Verify().ok());

    // Another codebook: the error names both fingerprints.
    const auto other = Train(v2, 7);
    r->SetIvfPqCodebooks({other});
    loaded = r->LoadIndex();
    ASSERT_FALSE(loaded.ok());
    EXPECT_TRUE(Contains(loaded.status(), hex)) << loaded.status().ToString();
    EXPECT_TRUE(Contains(loaded.status(), FormatFingerprint(other->fingerprint())))
        << loaded.status().ToString();

    // A resolver that lies about what it returns is caught too.
    r->SetIvfPqCodebookResolver(
        [other](uint64_t) { return std::shared_ptr<const IvfPqCodebook>(other); });
    EXPECT_FALSE(r->LoadIndex().ok());

    r->SetIvfPqCodebooks({other, cb});
    ASSERT_TRUE(r->Verify().ok());
    auto hits = r->Search(std::span<const float>(v1.data() + 3 * kDim, kDim), 5);
    ASSERT_TRUE(hits.ok()) << hits.status().ToString();
    ASSERT_FALSE(hits->empty());
  }
  // The embedded-codebook file names none.
  auto r = AilakeFileReader::Open(*own).ValueOrDie();
  auto fp = SharedCodebookFingerprint(*BlobOf(*own, *r, "embedding"));
  ASSERT_TRUE(fp.ok());
  EXPECT_FALSE(fp->has_value());
  EXPECT_TRUE(r->LoadIndex().ok());
}

TEST(SharedCodebookFile, WriteMultiTakesOneCodebookPerColumn) {
  const auto va = file_test::MakeVectors(kRows, kDim, 3);
  const auto vb = file_test::MakeVectors(kRows, kDim, 4);
  const auto cb_a = Train(va);
  const auto cb_b = Train(vb);
  std::vector<VectorColumnBatch> cols = {{IvfPolicy("a"), va, cb_a}, {IvfPolicy("b"), vb, nullptr}};
  // Column b has no codebook of its own: it takes the writer's.
  AilakeFileWriter w(IvfPolicy("unused"));
  w.WithIvfPqCodebook(cb_b);
  const auto f = w.WriteMulti(*file_test::MakeBatch(kRows, 3), cols).ValueOrDie();
  auto r = AilakeFileReader::Open(f).ValueOrDie();
  EXPECT_EQ(**SharedCodebookFingerprint(*BlobOf(f, *r, "a")), cb_a->fingerprint());
  EXPECT_EQ(**SharedCodebookFingerprint(*BlobOf(f, *r, "b")), cb_b->fingerprint());
  r->SetIvfPqCodebooks({cb_a, cb_b});
  ASSERT_TRUE(r->Verify().ok());

  // A codebook of another dimension is refused at write time.
  VectorStoragePolicy wide = IvfPolicy("a");
  wide.dim = kDim * 2;
  const auto vw = file_test::MakeVectors(kRows, kDim * 2, 5);
  std::vector<VectorColumnBatch> bad = {{wide, vw, cb_a}};
  EXPECT_FALSE(AilakeFileWriter(wide).WriteMulti(*file_test::MakeBatch(kRows, 5), bad).ok());
}

}  // namespace
}  // namespace ailake
