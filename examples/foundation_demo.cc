// A small end-to-end program over the foundation: validates a storage policy,
// writes clustered vectors to a Parquet file whose vector column is a
// FIXED_LEN_BYTE_ARRAY of f32 (the layout the AI-Lake file uses), reads the
// file back, and answers queries by exact search. Prints what it did.
//
//   foundation_demo OUT.parquet [ROWS] [DIM]
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ailake/ailake.h"

namespace {

arrow::Status Run(const std::string& path, int64_t rows, uint32_t dim) {
  ailake::VectorStoragePolicy policy;
  policy.dim = dim;
  policy.metric = ailake::DistanceMetric::kEuclidean;
  ARROW_RETURN_NOT_OK(policy.Validate());
  std::cout << "policy: column=" << policy.vector_column << " dim=" << policy.dim
            << " metric=" << ailake::MetricName(policy.metric)
            << " precision=" << ailake::PrecisionName(policy.precision)
            << " bytes/vector=" << policy.StoredVectorBytes() << "\n";

  // Clustered data: 16 centres, gaussian noise around each.
  std::mt19937_64 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<float> centres(16 * dim);
  for (float& c : centres) c = uni(rng);
  std::vector<float> data(static_cast<size_t>(rows) * dim);
  for (int64_t r = 0; r < rows; ++r) {
    const float* c = &centres[(r % 16) * dim];
    for (uint32_t j = 0; j < dim; ++j) data[r * dim + j] = c[j] + noise(rng);
  }

  arrow::Int64Builder ids;
  arrow::StringBuilder texts;
  arrow::FixedSizeBinaryBuilder vecs(arrow::fixed_size_binary(policy.StoredVectorBytes()));
  for (int64_t r = 0; r < rows; ++r) {
    ARROW_RETURN_NOT_OK(ids.Append(r));
    ARROW_RETURN_NOT_OK(
        texts.Append("row " + std::to_string(r) + " of cluster " + std::to_string(r % 16)));
    ARROW_RETURN_NOT_OK(vecs.Append(reinterpret_cast<const uint8_t*>(&data[r * dim])));
  }
  std::shared_ptr<arrow::Array> a_id, a_text, a_vec;
  ARROW_RETURN_NOT_OK(ids.Finish(&a_id));
  ARROW_RETURN_NOT_OK(texts.Finish(&a_text));
  ARROW_RETURN_NOT_OK(vecs.Finish(&a_vec));
  auto schema = arrow::schema({arrow::field("id", arrow::int64(), false),
                               arrow::field("text", arrow::utf8(), false),
                               arrow::field(policy.vector_column, a_vec->type(), false)});
  auto table = arrow::Table::Make(schema, {a_id, a_text, a_vec});

  auto t0 = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(path));
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 65536));
  ARROW_RETURN_NOT_OK(out->Close());
  auto t1 = std::chrono::steady_clock::now();
  std::cout << "wrote " << rows << " rows to " << path << " in "
            << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms\n";

  ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(in, arrow::default_memory_pool()));
  std::shared_ptr<arrow::Table> back;
  ARROW_RETURN_NOT_OK(reader->ReadTable(&back));
  if (!back->Equals(*table)) return arrow::Status::Invalid("read-back table differs");
  std::cout << "read back " << back->num_rows() << " rows, equal to what was written\n";

  auto col = std::static_pointer_cast<arrow::FixedSizeBinaryArray>(
      back->GetColumnByName(policy.vector_column)->chunk(0));
  for (int q = 0; q < 3; ++q) {
    const float* query = &centres[q * dim];
    std::vector<std::pair<float, int64_t>> dist(rows);
    for (int64_t r = 0; r < col->length(); ++r) {
      float v[4096];
      std::memcpy(v, col->GetValue(r), dim * sizeof(float));
      float s = 0;
      for (uint32_t j = 0; j < dim; ++j) s += (query[j] - v[j]) * (query[j] - v[j]);
      dist[r] = {s, r};
    }
    std::partial_sort(dist.begin(), dist.begin() + 5, dist.end());
    std::cout << "query near centre " << q << ": top-5 rows";
    for (int i = 0; i < 5; ++i) std::cout << " " << dist[i].second << " (" << dist[i].first << ")";
    std::cout << "\n";
  }
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: foundation_demo OUT.parquet [ROWS] [DIM]\n";
    return 2;
  }
  const int64_t rows = argc > 2 ? std::stoll(argv[2]) : 20000;
  const uint32_t dim = argc > 3 ? static_cast<uint32_t>(std::stoul(argv[3])) : 64;
  if (dim > 4096) {
    std::cerr << "DIM must be <= 4096\n";
    return 2;
  }
  arrow::Status st = Run(argv[1], rows, dim);
  if (!st.ok()) {
    std::cerr << "error: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}
