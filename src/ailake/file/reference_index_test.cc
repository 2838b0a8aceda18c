// Search through the index blobs of files written by the reference
// implementation (tests/data/reference/, docs/REFERENCE_FORMAT.md). Oracle:
// exact brute force in double over each fixture's *.vectors.npy (the raw
// inputs, exact in f16), not our code.
#include <arrow/io/file.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ailake/file.h"
#include "ailake/file/test_util.h"
#include "ailake/index/reference_index.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/npy.h"

namespace ailake {
namespace {

const std::string kDir = std::string(AILAKE_SOURCE_DIR) + "/tests/data/reference/";

struct Npy {
  std::vector<float> data;
  uint32_t rows = 0, dim = 0;
};

// A 2-d float16 .npy (what the fixtures hold), through the one .npy reader.
Npy LoadNpyF16(const std::string& path) {
  auto m = vec::ReadNpyFile(path);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  Npy out;
  if (!m.ok()) return out;
  out.rows = static_cast<uint32_t>(m->rows);
  out.dim = static_cast<uint32_t>(m->cols);
  out.data = std::move(m->values);
  return out;
}

// Our convention (include/ailake/policy.h), in double.
double OracleDistance(DistanceMetric m, const float* q, const float* v, uint32_t d) {
  double qv = 0, qq = 0, vv = 0, l2 = 0;
  for (uint32_t i = 0; i < d; ++i) {
    qv += double{q[i]} * v[i];
    qq += double{q[i]} * q[i];
    vv += double{v[i]} * v[i];
    l2 += (double{q[i]} - v[i]) * (double{q[i]} - v[i]);
  }
  switch (m) {
    case DistanceMetric::kEuclidean: return l2;
    case DistanceMetric::kDotProduct: return -qv;
    case DistanceMetric::kNormalizedCosine: return 1 - qv;
    case DistanceMetric::kCosine: return 1 - qv / std::sqrt(qq * vv);
  }
  return 0;
}

std::vector<uint32_t> OracleTopK(const Npy& v, DistanceMetric m, const float* q, uint32_t k,
                                 const RowFilter* filter = nullptr) {
  std::vector<std::pair<double, uint32_t>> all;
  for (uint32_t r = 0; r < v.rows; ++r) {
    if (filter != nullptr && !filter->Contains(r)) continue;
    all.emplace_back(OracleDistance(m, q, &v.data[size_t{r} * v.dim], v.dim), r);
  }
  const size_t kk = std::min<size_t>(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(kk), all.end());
  std::vector<uint32_t> out;
  out.reserve(kk);
  for (size_t i = 0; i < kk; ++i) out.push_back(all[i].second);
  return out;
}

struct Fixture {
  const char* name;
  const char* column;  // "" = primary
  const char* npy;
  IndexType type;
  SearchPath path;
  double min_recall;  // recall@10 at the default ef / nprobe
};

const Fixture kFixtures[] = {
    {"hnsw_cosine_f16", "", "hnsw_cosine_f16", IndexType::kHnsw, SearchPath::kIndex, 0.9},
    {"hnsw_euclidean_f32", "", "hnsw_euclidean_f32", IndexType::kHnsw, SearchPath::kIndex, 0.9},
    {"hnsw_dot_f32", "", "hnsw_dot_f32", IndexType::kHnsw, SearchPath::kIndex, 0.9},
    {"hnsw_normalized_cosine_f32", "", "hnsw_normalized_cosine_f32", IndexType::kHnsw,
     SearchPath::kIndex, 0.9},
    {"hnsw_cosine_i8", "", "hnsw_cosine_i8", IndexType::kHnsw, SearchPath::kIndex, 0.9},
    {"ivfpq_cosine_f16", "", "ivfpq_cosine_f16", IndexType::kIvfPq, SearchPath::kIndex, 0.8},
    {"ivfpq_euclidean_f32", "", "ivfpq_euclidean_f32", IndexType::kIvfPq, SearchPath::kIndex, 0.8},
    {"ivfpq_residual_euclidean_f32", "", "ivfpq_residual_euclidean_f32", IndexType::kIvfPq,
     SearchPath::kIndex, 0.8},
    {"ivfpq_pq_only_euclidean", "", "ivfpq_pq_only_euclidean", IndexType::kIvfPq,
     SearchPath::kIndexApproximate, 0.5},
    {"multi_column", "embedding", "multi_column", IndexType::kHnsw, SearchPath::kIndex, 0.9},
    {"multi_column", "image_embedding", "multi_column.image_embedding", IndexType::kHnsw,
     SearchPath::kIndex, 0.9},
};

// Queries near rows of the data (noise 0.3 per coordinate), normalised for
// normalized_cosine (whose distance assumes a unit query, as query/ does).
std::vector<float> Queries(const Npy& v, DistanceMetric m, uint32_t nq) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::vector<float> q(size_t{nq} * v.dim);
  for (uint32_t i = 0; i < nq; ++i) {
    const uint32_t r = (i * 7919u) % v.rows;
    double n2 = 0;
    for (uint32_t t = 0; t < v.dim; ++t) {
      q[size_t{i} * v.dim + t] = v.data[size_t{r} * v.dim + t] + noise(rng);
      n2 += double{q[size_t{i} * v.dim + t]} * q[size_t{i} * v.dim + t];
    }
    if (m == DistanceMetric::kNormalizedCosine) {
      for (uint32_t t = 0; t < v.dim; ++t) {
        q[size_t{i} * v.dim + t] = static_cast<float>(q[size_t{i} * v.dim + t] / std::sqrt(n2));
      }
    }
  }
  return q;
}

class ReferenceIndexTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(ReferenceIndexTest, SearchesThroughTheEmbeddedIndex) {
  const Fixture& f = GetParam();
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(kDir + f.name + ".parquet"));
  ASSERT_OK(r->Verify());
  const Npy v = LoadNpyF16(kDir + f.npy + ".vectors.npy");
  ASSERT_GT(v.rows, 0u);
  ASSERT_EQ(v.rows, r->num_rows());
  ASSERT_OK_AND_ASSIGN(const VectorColumnInfo* col, r->vector_column(f.column));
  ASSERT_EQ(col->dim, v.dim);
  ASSERT_EQ(col->section.format_version, 1);
  ASSERT_OK_AND_ASSIGN(SearchPath path, r->SearchPathOf(f.column));
  EXPECT_EQ(path, f.path);
  ASSERT_OK_AND_ASSIGN(auto index, r->LoadIndex(f.column));
  EXPECT_EQ(index->type(), f.type);
  EXPECT_EQ(index->size(), v.rows);

  const DistanceMetric m = col->metric;
  constexpr uint32_t kQ = 40, kK = 10;
  const std::vector<float> queries = Queries(v, m, kQ);
  auto recall_at = [&](const SearchParams& params, bool check_distances) {
    size_t hits = 0;
    for (uint32_t i = 0; i < kQ; ++i) {
      const float* q = &queries[size_t{i} * v.dim];
      auto got = r->Search({q, v.dim}, kK, params, nullptr, f.column);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok()) return 0.0;
      EXPECT_EQ(got->size(), kK);
      const auto want = OracleTopK(v, m, q, kK);
      for (size_t j = 0; j < got->size(); ++j) {
        const Neighbor& nb = (*got)[j];
        hits += std::count(want.begin(), want.end(), nb.row);
        if (j > 0) {
          EXPECT_LE((*got)[j - 1].distance, nb.distance);
        }
        if (!check_distances) continue;
        const double exact = OracleDistance(m, q, &v.data[size_t{nb.row} * v.dim], v.dim);
        EXPECT_NEAR(nb.distance, exact, 1e-4 * std::max(1.0, std::abs(exact)))
            << f.name << " row " << nb.row;
      }
    }
    return static_cast<double>(hits) / (kQ * kK);
  };
  const bool exact_distances = f.path == SearchPath::kIndex;
  const double recall = recall_at({}, exact_distances);
  SearchParams narrow;  // the smallest beam / one list: the index, not a scan
  narrow.ef = kK;
  narrow.nprobe = 1;
  narrow.refine_factor = 1;
  const double recall_narrow = recall_at(narrow, exact_distances);
  SearchParams wide;
  wide.ef = 200;
  wide.nprobe = 1u << 20;
  wide.refine_factor = 20;
  const double recall_wide = recall_at(wide, exact_distances);
  std::printf(
      "[ recall@10 ] %-30s %-16s %s: default %.3f, narrow (ef 10 / nprobe 1) %.3f, "
      "wide (ef 200 / all lists, refine 20) %.3f\n",
      f.name, col->name.c_str(), IndexTypeName(f.type).data(), recall, recall_narrow, recall_wide);
  EXPECT_GE(recall, f.min_recall);
  EXPECT_GE(recall_wide, recall_narrow);
  if (f.path == SearchPath::kIndex) {
    EXPECT_GE(recall_wide, 0.95);
  }
}

TEST_P(ReferenceIndexTest, AllowListReturnsKAllowedRows) {
  const Fixture& f = GetParam();
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(kDir + f.name + ".parquet"));
  const Npy v = LoadNpyF16(kDir + f.npy + ".vectors.npy");
  ASSERT_OK_AND_ASSIGN(const VectorColumnInfo* col, r->vector_column(f.column));
  const std::vector<float> queries = Queries(v, col->metric, 5);
  // A third of the rows (a filtered walk), a dozen (an exact scan where
  // vectors exist), and none.
  for (const uint32_t every : {3u, v.rows / 12, v.rows + 1}) {
    std::vector<uint64_t> words((v.rows + 63) / 64, 0);
    uint32_t allowed = 0;
    for (uint32_t row = 1; row < v.rows; row += every) {
      words[row >> 6] |= 1ull << (row & 63);
      ++allowed;
    }
    RowFilter filter{words, v.rows};
    for (uint32_t i = 0; i < 5; ++i) {
      const float* q = &queries[size_t{i} * v.dim];
      ASSERT_OK_AND_ASSIGN(auto got, r->Search({q, v.dim}, 10, {}, &filter, f.column));
      ASSERT_EQ(got.size(), std::min(10u, allowed)) << f.name << " every " << every;
      for (const Neighbor& nb : got) EXPECT_TRUE(filter.Contains(nb.row)) << nb.row;
      if (allowed <= 20 && f.path == SearchPath::kIndex) {
        const auto want = OracleTopK(v, col->metric, q, 10, &filter);
        for (size_t j = 0; j < got.size(); ++j) EXPECT_EQ(got[j].row, want[j]) << f.name;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceIndexTest, ::testing::ValuesIn(kFixtures),
                         [](const ::testing::TestParamInfo<Fixture>& info) {
                           std::string s = std::string(info.param.name) + "_" + info.param.column;
                           std::replace(s.begin(), s.end(), '.', '_');
                           if (s.back() == '_') s.pop_back();
                           return s;
                         });

// The blob of a fixture's section, as the loaders see it.
struct Blob {
  std::shared_ptr<arrow::Buffer> bytes;
  index::ReferenceBlobShape shape;
};
Blob BlobOf(const std::string& name) {
  auto r = AilakeFileReader::Open(kDir + name + ".parquet").ValueOrDie();
  const VectorColumnInfo& c = *r->vector_column().ValueOrDie();
  auto file = arrow::io::ReadableFile::Open(kDir + name + ".parquet").ValueOrDie();
  auto whole = file->Read(file->GetSize().ValueOrDie()).ValueOrDie();
  auto copy = arrow::AllocateBuffer(static_cast<int64_t>(c.section.index_bytes)).ValueOrDie();
  std::memcpy(copy->mutable_data(), whole->data() + c.section.index_offset, c.section.index_bytes);
  return {std::shared_ptr<arrow::Buffer>(std::move(copy)),
          {c.metric, c.dim, static_cast<uint32_t>(c.section.num_rows)}};
}

std::shared_ptr<arrow::Buffer> Patched(const Blob& b, size_t at, uint64_t value, size_t width) {
  auto copy = arrow::AllocateBuffer(b.bytes->size()).ValueOrDie();
  std::memcpy(copy->mutable_data(), b.bytes->data(), static_cast<size_t>(b.bytes->size()));
  std::memcpy(copy->mutable_data() + at, &value, width);
  return copy;
}

arrow::Status LoadAny(const Blob& b, std::shared_ptr<arrow::Buffer> bytes, IndexType type) {
  if (type == IndexType::kHnsw) return index::LoadReferenceHnsw(std::move(bytes), b.shape).status();
  return index::LoadReferenceIvfPq(std::move(bytes), b.shape, nullptr).status();
}

TEST(ReferenceBlobTest, TruncatedOrExtendedBlobsAreRejected) {
  for (const auto& [name, type] : {std::pair{"hnsw_dot_f32", IndexType::kHnsw},
                                   std::pair{"ivfpq_residual_euclidean_f32", IndexType::kIvfPq}}) {
    const Blob b = BlobOf(name);
    ASSERT_OK(LoadAny(b, b.bytes, type));
    const int64_t size = b.bytes->size();
    for (int64_t len = 0; len < size; len += (len + 16 < size ? 61 : 1)) {
      EXPECT_FALSE(LoadAny(b, arrow::SliceBuffer(b.bytes, 0, len), type).ok()) << name << len;
    }
    auto longer = arrow::AllocateBuffer(size + 1).ValueOrDie();
    std::memcpy(longer->mutable_data(), b.bytes->data(), static_cast<size_t>(size));
    longer->mutable_data()[size] = 0;
    EXPECT_FALSE(LoadAny(b, std::move(longer), type).ok()) << name;
  }
}

TEST(ReferenceBlobTest, HnswIdsAndCountsAreChecked) {
  const Blob b = BlobOf("hnsw_dot_f32");
  const uint64_t n = b.shape.num_rows, d = b.shape.dim;
  const size_t row_ids = 37, vecs = 45 + 8 * n, neighbors = vecs + 4 * n * d;
  const size_t end = static_cast<size_t>(b.bytes->size());
  const std::pair<size_t, uint64_t> bad[] = {
      {0, 0},                      // m (kept: any m is accepted)
      {row_ids, n},                // row id past the last row
      {row_ids + 8, 0},            // row id 0 twice
      {vecs - 8 + 0, n * d + 1},   // flat_vecs length
      {vecs - 8 + 0, ~0ull / 2},   // overflowing length
      {neighbors, n + 1},          // node count
      {neighbors + 8, 0},          // node 0 with no level
      {neighbors + 8 + 8 + 8, n},  // node 0's first link past the last node
      {neighbors + 8 + 8, ~0ull},  // node 0's level-0 degree
      {end - 16, n},               // entry point past the last node
      {end - 8, 7},                // max_layer disagrees with the entry's level
  };
  for (size_t i = 0; i < std::size(bad); ++i) {
    const auto st = LoadAny(b, Patched(b, bad[i].first, bad[i].second, 8), IndexType::kHnsw);
    if (i == 0) {
      EXPECT_TRUE(st.ok()) << st.ToString();
    } else {
      EXPECT_TRUE(st.IsInvalid()) << i << ": " << st.ToString();
    }
  }
  EXPECT_FALSE(LoadAny(b, Patched(b, end - 17, 2, 1), IndexType::kHnsw).ok());  // option tag
  EXPECT_FALSE(LoadAny(b, Patched(b, 24, 0, 1), IndexType::kHnsw).ok());        // metric byte
}

TEST(ReferenceBlobTest, IvfPqIdsCodesAndFlagsAreChecked) {
  const Blob b = BlobOf("ivfpq_residual_euclidean_f32");
  const size_t end = static_cast<size_t>(b.bytes->size());
  EXPECT_FALSE(LoadAny(b, Patched(b, 0, 0, 8), IndexType::kIvfPq).ok());        // nlist 0
  EXPECT_FALSE(LoadAny(b, Patched(b, 16, 5, 8), IndexType::kIvfPq).ok());       // pq_m 5 of 32
  EXPECT_FALSE(LoadAny(b, Patched(b, 24, 257, 8), IndexType::kIvfPq).ok());     // pq_k 257
  EXPECT_FALSE(LoadAny(b, Patched(b, 40, 31, 8), IndexType::kIvfPq).ok());      // dim
  EXPECT_FALSE(LoadAny(b, Patched(b, end - 1, 2, 1), IndexType::kIvfPq).ok());  // residual flag
  // nlist, pq_m, pq_k, dim set to a huge value: never accepted.
  for (const size_t at : {0, 16, 24, 40}) {
    EXPECT_FALSE(LoadAny(b, Patched(b, at, ~0ull, 8), IndexType::kIvfPq).ok()) << at;
  }
}

TEST(ReferenceBlobTest, ACorruptBlobInAFileIsAnErrorOfSearchAndVerify) {
  const std::string path = kDir + "hnsw_dot_f32.parquet";
  auto file = arrow::io::ReadableFile::Open(path).ValueOrDie();
  auto whole = file->Read(file->GetSize().ValueOrDie()).ValueOrDie();
  const Blob b = BlobOf("hnsw_dot_f32");
  ASSERT_OK_AND_ASSIGN(auto clean, AilakeFileReader::Open(whole));
  const uint64_t blob_at = (*clean->vector_column())->section.index_offset;
  const uint64_t n = b.shape.num_rows, d = b.shape.dim;
  auto bytes = arrow::AllocateBuffer(whole->size()).ValueOrDie();
  std::memcpy(bytes->mutable_data(), whole->data(), static_cast<size_t>(whole->size()));
  const uint64_t past = n + 5;  // node 0's first link, past the last node
  std::memcpy(bytes->mutable_data() + blob_at + 45 + 8 * n + 4 * n * d + 24, &past, 8);
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(std::shared_ptr<arrow::Buffer>(
                                   std::move(bytes))));  // the blob is read on first search
  const std::vector<float> q(d, 0.5f);
  const auto st = r->Search(q, 5).status();
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_NE(st.message().find("links to"), std::string::npos) << st.ToString();
  EXPECT_FALSE(r->Verify().ok());
}

}  // namespace
}  // namespace ailake
