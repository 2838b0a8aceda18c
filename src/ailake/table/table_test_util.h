// Helpers shared by the table and query tests: temporary table directories
// and batches with an id, a text, a category and a vector column.
#pragma once

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ailake/policy.h"

namespace ailake::testing_util {

// One folder under the temporary directory, named after the test. A
// parameterized test's name holds a '/' ("Name/0"), which becomes '_' so the
// folder is one level deep and the test's remove_all leaves nothing behind.
inline std::string TempTableDir(const std::string& tag) {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(name.begin(), name.end(), '/', '_');
  auto dir = std::filesystem::temp_directory_path() /
             ("ailake_tbl_" + std::to_string(::getpid()) + "_" + tag + "_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

inline std::shared_ptr<arrow::Schema> TestSchema(uint32_t dim) {
  return arrow::schema(
      {arrow::field("id", arrow::int64(), false), arrow::field("text", arrow::utf8()),
       arrow::field("category", arrow::int32(), false),
       arrow::field("embedding",
                    arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                           static_cast<int32_t>(dim)),
                    false)});
}

inline VectorStoragePolicy TestPolicy(uint32_t dim,
                                      DistanceMetric metric = DistanceMetric::kEuclidean,
                                      IndexType index = IndexType::kHnsw) {
  VectorStoragePolicy p;
  p.vector_column = "embedding";
  p.dim = dim;
  p.metric = metric;
  p.index_type = index;
  p.hnsw.m = 8;
  p.hnsw.ef_construction = 64;
  p.ivf_pq.nlist = 8;
  p.ivf_pq.m = dim % 4 == 0 ? 4 : 1;
  p.ivf_pq.min_training_rows = 64;  // tests train shared codebooks on small batches
  return p;
}

// Clustered vectors: row i belongs to cluster (i / rows_per_cluster) of `clusters`
// well-separated centres, so fragments written in order have distinct centroids.
inline std::vector<float> ClusteredVectors(int64_t rows, uint32_t dim, int64_t first_id,
                                           uint64_t seed = 1) {
  std::mt19937_64 rng(seed + static_cast<uint64_t>(first_id));
  std::normal_distribution<float> noise(0.0f, 0.05f);
  std::vector<float> v(static_cast<size_t>(rows) * dim);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t id = first_id + r;
    const int64_t cluster = id / 100;
    for (uint32_t j = 0; j < dim; ++j) {
      const float centre = static_cast<float>(((cluster * 7 + j * 3) % 11)) - 5.0f;
      v[r * dim + j] = centre + noise(rng);
    }
  }
  return v;
}

inline std::shared_ptr<arrow::RecordBatch> TestBatch(int64_t first_id, int64_t rows, uint32_t dim,
                                                     const std::vector<float>& vecs) {
  arrow::Int64Builder ids;
  arrow::StringBuilder texts;
  arrow::Int32Builder cats;
  auto list_type = arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                          static_cast<int32_t>(dim));
  for (int64_t r = 0; r < rows; ++r) {
    (void)ids.Append(first_id + r);
    if ((first_id + r) % 13 == 0) {
      (void)texts.AppendNull();
    } else {
      (void)texts.Append("doc " + std::to_string(first_id + r));
    }
    (void)cats.Append(static_cast<int32_t>((first_id + r) % 5));
  }
  auto values = std::make_shared<arrow::FloatArray>(
      rows * dim, arrow::Buffer::FromVector(std::vector<float>(vecs)));
  auto emb = std::make_shared<arrow::FixedSizeListArray>(list_type, rows, values);
  std::shared_ptr<arrow::Array> a, b, c;
  (void)ids.Finish(&a);
  (void)texts.Finish(&b);
  (void)cats.Finish(&c);
  return arrow::RecordBatch::Make(TestSchema(dim), rows, {a, b, c, emb});
}

}  // namespace ailake::testing_util
