// Writes the seed corpora of the fuzz targets (checked in under fuzz/corpus/)
// from real objects the library writes:
//   ailake_file/    small AI-Lake files: flat f32, HNSW f16, HNSW int8, IVF-PQ
//                   f32 (own and shared codebook), two vector columns,
//                   Parquet-only; plus one of tests/data/reference/
//   manifest/       every _versions/*.manifest of two small tables (appends,
//                   a shared IVF-PQ codebook, a delete, a rename, a drop, a
//                   compaction; one table with two vector columns)
//   deletion_file/  those tables' deletion files and a few serialized ones
//   filter/         filters from the parser's tests
//   npy/            .npy matrices (1-d, 2-d, f8, i8, i4, format v2) and a reference one
//
//   fuzz_corpus_seeds DIR   (then copy what is wanted into fuzz/corpus/)
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ailake/file.h"
#include "ailake/index/text_index.h"
#include "ailake/query.h"
#include "ailake/table.h"
#include "ailake/table/deletion_file.h"
#include "ailake/text/analyzer.h"
#include "ailake/vec/npy.h"

namespace fs = std::filesystem;

namespace {

[[noreturn]] void Die(const std::string& what, const arrow::Status& st) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}
template <typename T>
T Check(arrow::Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.status());
  return std::move(*r);
}
void Check(const arrow::Status& st, const std::string& what) {
  if (!st.ok()) Die(what, st);
}

void WriteBytes(const fs::path& p, const void* data, size_t n) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}
void WriteBytes(const fs::path& p, const std::string& s) { WriteBytes(p, s.data(), s.size()); }

std::vector<float> Vectors(int64_t rows, uint32_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(static_cast<size_t>(rows) * dim);
  for (float& x : v) x = g(rng);
  return v;
}

std::shared_ptr<arrow::Array> VectorArray(const std::vector<float>& v, uint32_t dim) {
  arrow::FixedSizeListBuilder b(arrow::default_memory_pool(),
                                std::make_shared<arrow::FloatBuilder>(), static_cast<int32_t>(dim));
  auto* values = static_cast<arrow::FloatBuilder*>(b.value_builder());
  for (size_t r = 0; r < v.size() / dim; ++r) {
    Check(b.Append(), "append");
    Check(values->AppendValues(v.data() + r * dim, dim), "append");
  }
  return Check(b.Finish(), "finish");
}

// id int64, text utf8 (every fourth null), then the vector columns given.
std::shared_ptr<arrow::RecordBatch> Batch(
    int64_t first, int64_t rows, const std::vector<std::pair<std::string, uint32_t>>& vcols,
    uint32_t seed) {
  arrow::Int64Builder ids;
  arrow::StringBuilder text;
  for (int64_t r = first; r < first + rows; ++r) {
    Check(ids.Append(r), "id");
    Check(r % 4 == 0 ? text.AppendNull() : text.Append("row " + std::to_string(r)), "text");
  }
  arrow::FieldVector fields = {arrow::field("id", arrow::int64()),
                               arrow::field("text", arrow::utf8())};
  arrow::ArrayVector cols = {Check(ids.Finish(), "ids"), Check(text.Finish(), "text")};
  for (const auto& [name, dim] : vcols) {
    fields.push_back(arrow::field(name, arrow::fixed_size_list(arrow::float32(), dim)));
    cols.push_back(VectorArray(Vectors(rows, dim, seed++), dim));
  }
  return arrow::RecordBatch::Make(arrow::schema(fields), rows, cols);
}

ailake::VectorStoragePolicy Policy(const std::string& column, uint32_t dim, ailake::IndexType type,
                                   ailake::Precision precision = ailake::Precision::kF32) {
  ailake::VectorStoragePolicy p;
  p.vector_column = column;
  p.dim = dim;
  p.metric = ailake::DistanceMetric::kEuclidean;
  p.precision = precision;
  if (precision == ailake::Precision::kInt8) p.int8.scaling = ailake::Int8Scaling::kPerVector;
  p.index_type = type;
  p.hnsw.m = 4;
  p.hnsw.ef_construction = 16;
  p.ivf_pq.nlist = 4;
  p.ivf_pq.m = 2;
  p.ivf_pq.min_training_rows = 64;
  return p;
}

void Files(const fs::path& out) {
  constexpr uint32_t kDim = 8;
  ailake::FileWriteOptions o;
  o.max_row_group_rows = 64;
  o.data_page_bytes = 512;
  o.write_batch_rows = 16;
  o.index_build.num_threads = 1;
  const int64_t rows = 96;
  auto batch = Batch(0, rows, {}, 1);
  const auto v = Vectors(rows, kDim, 2);
  struct Kind {
    const char* name;
    ailake::IndexType type;
    ailake::Precision precision;
    ailake::DistanceMetric metric;
  };
  for (const Kind& k : {Kind{"flat_f32_cosine", ailake::IndexType::kFlat, ailake::Precision::kF32,
                             ailake::DistanceMetric::kCosine},
                        Kind{"hnsw_f16_euclidean", ailake::IndexType::kHnsw,
                             ailake::Precision::kF16, ailake::DistanceMetric::kEuclidean},
                        Kind{"hnsw_int8_dot", ailake::IndexType::kHnsw, ailake::Precision::kInt8,
                             ailake::DistanceMetric::kDotProduct},
                        Kind{"ivfpq_f32_euclidean", ailake::IndexType::kIvfPq,
                             ailake::Precision::kF32, ailake::DistanceMetric::kEuclidean},
                        Kind{"none_int8", ailake::IndexType::kNone, ailake::Precision::kInt8,
                             ailake::DistanceMetric::kEuclidean}}) {
    auto p = Policy("emb", kDim, k.type, k.precision);
    p.metric = k.metric;
    ailake::AilakeFileWriter w(p, o);
    auto f = Check(w.Write(*batch, v), k.name);
    WriteBytes(out / (std::string("seed-") + k.name), f->data(), f->size());
  }
  // IVF-PQ naming a shared codebook (not embedded), and Parquet only.
  auto p = Policy("emb", kDim, ailake::IndexType::kIvfPq);
  auto view =
      Check(ailake::VectorView::Contiguous(ailake::Precision::kF32, kDim, {},
                                           reinterpret_cast<const uint8_t*>(v.data()), rows),
            "view");
  auto codebook = Check(ailake::TrainIvfPqCodebook(p, view), "codebook");
  ailake::AilakeFileWriter shared(p, o);
  shared.WithIvfPqCodebook(codebook);
  auto f = Check(shared.Write(*batch, v), "shared");
  WriteBytes(out / "seed-ivfpq_shared_codebook", f->data(), f->size());
  f = Check(shared.WriteParquetOnly(*batch, v), "parquet only");
  WriteBytes(out / "seed-parquet_only", f->data(), f->size());
  // Two vector columns: HNSW f32 and flat f16 of another dim.
  const auto v2 = Vectors(rows, 4, 3);
  std::vector<ailake::VectorColumnBatch> cols = {
      {Policy("emb", kDim, ailake::IndexType::kHnsw), v, nullptr},
      {Policy("img", 4, ailake::IndexType::kFlat, ailake::Precision::kF16), v2, nullptr}};
  f = Check(ailake::AilakeFileWriter(p, o).WriteMulti(*batch, cols), "multi");
  WriteBytes(out / "seed-two_vector_columns", f->data(), f->size());
  // A full-text index section on the text column, beside the vector one.
  {
    auto plain = Check(
        ailake::AilakeFileWriter(Policy("emb", kDim, ailake::IndexType::kFlat), o).Write(*batch, v),
        "text base");
    ailake::index::TextIndexBuilder builder(
        Check(ailake::text::Analyzer::Make(ailake::text::AnalyzerConfig{}), "analyzer"));
    Check(ailake::index::AddTextRows(*batch->GetColumnByName("text"), &builder), "text rows");
    const std::vector<ailake::TextSectionBytes> text = {
        {"text", Check(builder.Finish(), "text index")}};
    auto sink = Check(arrow::io::BufferOutputStream::Create(), "sink");
    Check(ailake::AppendTextSections(std::make_shared<arrow::io::BufferReader>(plain), text,
                                     sink.get()),
          "text section");
    auto with_text = Check(sink->Finish(), "text file");
    WriteBytes(out / "seed-text_section", with_text->data(), with_text->size());
  }
  // The reference implementation's layout (AILK format_version 1).
  fs::copy_file(fs::path(AILAKE_SOURCE_DIR) / "tests/data/reference/hnsw_cosine_i8.parquet",
                out / "seed-reference_hnsw_cosine_i8", fs::copy_options::overwrite_existing);
}

// Copies a table's manifests and deletion files into `out`.
void CopyTableObjects(const fs::path& table, const std::string& prefix, const fs::path& out) {
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(table)) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());  // stable names for the deletion files
  int dels = 0;
  for (const auto& p : paths) {
    const auto ext = p.extension();
    if (ext == ".manifest") {
      fs::create_directories(out / "manifest");
      fs::copy_file(p, out / "manifest" / ("seed-" + prefix + "-" + p.filename().string()),
                    fs::copy_options::overwrite_existing);
    } else if (ext == ".del") {
      fs::create_directories(out / "deletion_file");
      fs::copy_file(
          p, out / "deletion_file" / ("seed-" + prefix + "-" + std::to_string(dels++) + ".del"),
          fs::copy_options::overwrite_existing);
    }
  }
}

void Tables(const fs::path& out) {
  const fs::path tmp =
      fs::temp_directory_path() / ("ailake_fuzz_seeds_" + std::to_string(getpid()));
  fs::remove_all(tmp);
  ailake::TableWriterOptions wo;
  wo.background_threads = 0;
  wo.auto_optimize = false;
  wo.index_build.num_threads = 1;
  wo.file.index_build.num_threads = 1;
  {
    // One vector column: HNSW appends, IVF-PQ with the table's codebook, a
    // delete, schema changes, a compaction.
    const std::string uri = (tmp / "one").string();
    auto b0 = Batch(0, 80, {{"embedding", 8}}, 10);
    auto w = Check(ailake::TableWriter::Create(
                       uri, b0->schema(), {Policy("embedding", 8, ailake::IndexType::kHnsw)}, wo),
                   "create");
    Check(w->WriteBatch(*b0), "write");
    Check(w->WriteBatchIvfPq(*Batch(80, 80, {{"embedding", 8}}, 11)), "write ivfpq");
    Check(w->WriteBatch(*Batch(160, 40, {{"embedding", 8}}, 12)), "write");
    w.reset();
    auto t = Check(ailake::Table::Open(uri), "open");
    Check(t->Delete(Check(ailake::ParseFilter("id < 5 OR id = 90 OR id >= 195"), "filter")),
          "delete");
    t = Check(t->Latest(), "latest");
    Check(t->RenameColumn("text", "body"), "rename");
    t = Check(t->Latest(), "latest");
    Check(t->Compact(), "compact");
    t = Check(t->Latest(), "latest");
    Check(t->Delete(Check(ailake::ParseFilter("id IN (20, 21, 22)"), "filter")), "delete");
    t = Check(t->Latest(), "latest");
    Check(t->DropColumns({"body"}), "drop");
    CopyTableObjects(uri, "one", out);
  }
  {
    // Two vector columns.
    const std::string uri = (tmp / "two").string();
    auto b0 = Batch(0, 50, {{"embedding", 8}, {"image", 4}}, 20);
    auto w = Check(ailake::TableWriter::Create(
                       uri, b0->schema(),
                       {Policy("embedding", 8, ailake::IndexType::kHnsw),
                        Policy("image", 4, ailake::IndexType::kFlat, ailake::Precision::kF16)},
                       wo),
                   "create two");
    std::vector<ailake::VectorColumnBatch> none;
    Check(w->WriteBatchMulti(*b0, none), "write multi");
    Check(w->WriteBatchMulti(*Batch(50, 30, {{"embedding", 8}, {"image", 4}}, 22), none),
          "write multi");
    w.reset();
    auto t = Check(ailake::Table::Open(uri), "open two");
    Check(t->Delete(Check(ailake::ParseFilter("text IS NULL"), "filter")), "delete two");
    CopyTableObjects(uri, "two", out);
  }
  fs::remove_all(tmp);
  // Serialized deletion files of other shapes.
  struct Del {
    const char* name;
    std::vector<uint32_t> rows;
    uint64_t physical;
  };
  for (const Del& d : {Del{"empty", {}, 10}, Del{"one", {0}, 1}, Del{"last", {4095}, 4096},
                       Del{"run", {1, 2, 3, 4, 5, 6, 7, 8, 100, 999}, 1000}}) {
    auto buf = Check(ailake::table::SerializeDeletionFile(d.rows, d.physical), d.name);
    WriteBytes(out / "deletion_file" / (std::string("seed-") + d.name), buf->data(), buf->size());
  }
}

void Filters(const fs::path& out) {
  const char* kFilters[] = {
      "cat = 1",
      "cat != 1 AND price < 6",
      "price > 12.0 or cat <> 0",
      "1 = cat",
      "price <= -0.5",
      "NOT (cat = 0 OR cat = 1)",
      "cat = 0 AND (price < 1 OR price > 10)",
      "\"my name\" is not null AND cat = 1",
      "cat NOT IN (0, 2)",
      "\"my name\" IN ('beta0', 'alpha3')",
      "\"my name\" NOT LIKE 'alpha%'",
      "price IN (1.5, 3)",
      "name = 'it''s' AND x >= -1e-3",
      "((a = 1) AND NOT b = 2) OR c IS NULL",
      "x = 99999999999999999999",
      "category = 3 AND (price < 10.5 OR name LIKE 'a%') AND tag IN ('x','y')",
      "note IS NOT NULL AND NOT (x NOT IN (1, 2, 3) OR y <= 2.5e10)",
  };
  int i = 0;
  for (const char* f : kFilters) {
    WriteBytes(out / "filter" / ("seed-" + std::to_string(i++)), std::string(f));
  }
}

void Npy(const fs::path& out) {
  fs::create_directories(out / "npy");
  ailake::vec::FloatMatrix m{3, 4, Vectors(3, 4, 5)};
  Check(ailake::vec::WriteNpyFile((out / "npy" / "seed-2d_f4").string(), m), "npy");
  ailake::vec::FloatMatrix one{1, 8, Vectors(1, 8, 6)};
  Check(ailake::vec::WriteNpyFile((out / "npy" / "seed-1x8_f4").string(), one), "npy");
  // Hand-built headers: 1-d f8 (v1) and 2-d f4 (v2, u32 header length).
  auto npy = [](int major, const std::string& dict, size_t data_bytes) {
    std::string header = dict;
    const size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string s = "\x93NUMPY";
    s += static_cast<char>(major);
    s += '\0';
    const uint32_t len = static_cast<uint32_t>(header.size());
    s.append(reinterpret_cast<const char*>(&len), major == 1 ? 2 : 4);
    s += header;
    for (size_t i = 0; i < data_bytes; ++i) s += static_cast<char>(i * 37);
    return s;
  };
  WriteBytes(out / "npy" / "seed-1d_f8",
             npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 40));
  WriteBytes(out / "npy" / "seed-2d_f4_v2",
             npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24));
  // Integer matrices (ground-truth ids): int64 and int32.
  WriteBytes(out / "npy" / "seed-2d_i8",
             npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", 48));
  WriteBytes(out / "npy" / "seed-2d_i4",
             npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }", 24));
  fs::copy_file(fs::path(AILAKE_SOURCE_DIR) / "tests/data/reference/hnsw_cosine_i8.vectors.npy",
                out / "npy" / "seed-reference_vectors", fs::copy_options::overwrite_existing);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_corpus_seeds DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out / "ailake_file");
  Files(out / "ailake_file");
  Tables(out);
  Filters(out);
  Npy(out);
  std::printf("wrote seed corpora under %s\n", argv[1]);
  return 0;
}
