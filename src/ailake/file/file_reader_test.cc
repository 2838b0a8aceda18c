// Writer + reader round trips. Oracles: Parquet C++'s own Arrow reader for
// column values (not our code), exact brute force for search.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>

#include "ailake/file.h"
#include "ailake/file/test_util.h"

namespace ailake {
namespace {

std::shared_ptr<arrow::Table> OracleRead(const std::shared_ptr<arrow::Buffer>& file) {
  std::unique_ptr<parquet::arrow::FileReader> r;
  EXPECT_TRUE(parquet::arrow::OpenFile(std::make_shared<arrow::io::BufferReader>(file),
                                       arrow::default_memory_pool())
                  .Value(&r)
                  .ok());
  std::shared_ptr<arrow::Table> t;
  EXPECT_TRUE(r->ReadTable(&t).ok());
  return t;
}

VectorStoragePolicy Policy(uint32_t dim, IndexType type = IndexType::kFlat,
                           DistanceMetric metric = DistanceMetric::kEuclidean,
                           Precision precision = Precision::kF32) {
  VectorStoragePolicy p;
  p.vector_column = "embedding";
  p.dim = dim;
  p.metric = metric;
  p.precision = precision;
  p.index_type = type;
  if (precision == Precision::kInt8) p.int8.scaling = Int8Scaling::kPerVector;
  return p;
}

FileWriteOptions SmallPages() {
  FileWriteOptions o;
  o.max_row_group_rows = 512;
  o.data_page_bytes = 2048;
  o.write_batch_rows = 16;
  return o;
}

std::vector<Neighbor> BruteForce(const std::vector<float>& v, uint32_t dim, const float* q,
                                 uint32_t k) {
  std::vector<Neighbor> all;
  for (uint32_t r = 0; r < v.size() / dim; ++r) {
    float d = 0;
    for (uint32_t j = 0; j < dim; ++j) d += (v[r * dim + j] - q[j]) * (v[r * dim + j] - q[j]);
    all.push_back({r, d});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.distance < b.distance; });
  all.resize(k);
  return all;
}

TEST(FileReader, RoundTripValuesSectionsAndCentroid) {
  const int64_t rows = 2000;
  const uint32_t dim = 12;
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim), SmallPages());
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  EXPECT_TRUE(reader->IsAilakeFile());
  EXPECT_EQ(reader->num_rows(), rows);
  EXPECT_GT(reader->num_row_groups(), 1);
  ASSERT_EQ(reader->vector_columns().size(), 1u);
  const auto& vc = reader->vector_columns()[0];
  EXPECT_EQ(vc.name, "embedding");
  EXPECT_EQ(vc.dim, dim);
  EXPECT_TRUE(vc.has_section);
  EXPECT_EQ(vc.section.kv_key, "ailake.footer_offset");
  EXPECT_EQ(vc.section.num_rows, static_cast<uint64_t>(rows));
  ASSERT_OK(reader->Verify());

  // Values equal what Parquet C++'s own reader returns, and the input.
  ASSERT_OK_AND_ASSIGN(auto all, reader->Read());
  auto oracle = OracleRead(file);
  EXPECT_TRUE(all->Equals(*oracle));
  for (int c = 0; c < batch->num_columns(); ++c) {
    ASSERT_OK_AND_ASSIGN(auto col, arrow::Concatenate(all->column(c)->chunks()));
    EXPECT_TRUE(col->Equals(*batch->column(c))) << batch->schema()->field(c)->name();
  }
  ASSERT_OK_AND_ASSIGN(auto vecs, reader->Vectors());
  ASSERT_EQ(vecs.num_rows(), rows);
  std::vector<float> row(dim);
  for (uint32_t r = 0; r < rows; r += 37) {
    vecs.Decode(r, row.data());
    for (uint32_t j = 0; j < dim; ++j) ASSERT_EQ(row[j], v[r * dim + j]);
  }

  // Centroid: the mean; radius: the farthest row (squared L2).
  ASSERT_OK_AND_ASSIGN(auto c, reader->ReadCentroid());
  ASSERT_EQ(c.centroid.size(), dim);
  std::vector<double> mean(dim, 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (uint32_t j = 0; j < dim; ++j) mean[j] += v[r * dim + j] / static_cast<double>(rows);
  }
  double radius = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double d = 0;
    for (uint32_t j = 0; j < dim; ++j) d += (v[r * dim + j] - mean[j]) * (v[r * dim + j] - mean[j]);
    radius = std::max(radius, std::sqrt(d));  // Euclidean, not squared (vec/centroid.h)
  }
  for (uint32_t j = 0; j < dim; ++j) EXPECT_NEAR(c.centroid[j], mean[j], 1e-4);
  EXPECT_NEAR(c.radius, radius, 1e-3 * radius);
}

TEST(FileReader, TakeAndRangesMatchTheFullRead) {
  const int64_t rows = 3000;
  const uint32_t dim = 8;
  auto batch = file_test::MakeBatch(rows, 3);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim), SmallPages());
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  auto oracle = OracleRead(file);
  ASSERT_OK_AND_ASSIGN(auto flat, oracle->CombineChunksToBatch());

  std::mt19937_64 rng(5);
  std::vector<int64_t> ids;
  ids.reserve(203);
  for (int i = 0; i < 200; ++i) ids.push_back(static_cast<int64_t>(rng() % rows));
  ids.push_back(0);
  ids.push_back(rows - 1);
  ids.push_back(17);
  ids.push_back(17);  // repeats allowed
  ids.push_back(18);
  ASSERT_OK_AND_ASSIGN(auto got, reader->Take(ids));
  ASSERT_EQ(got->num_rows(), static_cast<int64_t>(ids.size()));
  ASSERT_EQ(got->num_columns(), flat->num_columns());
  for (int c = 0; c < flat->num_columns(); ++c) {
    ASSERT_OK_AND_ASSIGN(auto col, arrow::Concatenate(got->column(c)->chunks()));
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_OK_AND_ASSIGN(auto want, flat->column(c)->GetScalar(ids[i]));
      ASSERT_OK_AND_ASSIGN(auto have, col->GetScalar(static_cast<int64_t>(i)));
      ASSERT_TRUE(want->Equals(*have)) << "column " << c << " row " << ids[i];
    }
  }
  // Projection + range across row groups.
  ReadRequest req;
  req.columns = {"meta", "embedding", "text"};
  req.row_start = 500;
  req.row_end = 1700;
  ASSERT_OK_AND_ASSIGN(auto part, reader->Read(req));
  ASSERT_EQ(part->num_rows(), 1200);
  ASSERT_EQ(part->schema()->field(0)->name(), "meta");
  for (const auto& name : req.columns) {
    ASSERT_OK_AND_ASSIGN(auto col, arrow::Concatenate(part->GetColumnByName(name)->chunks()));
    auto want = flat->GetColumnByName(name)->Slice(500, 1200);
    EXPECT_TRUE(col->Equals(*want)) << name;
  }
  // Empty take, bad rows and columns.
  ASSERT_OK_AND_ASSIGN(auto none, reader->Take({}));
  EXPECT_EQ(none->num_rows(), 0);
  std::vector<int64_t> bad = {rows};
  EXPECT_TRUE(reader->Take(bad).status().IsIndexError());
  EXPECT_TRUE(reader->Take(ids, {"nope"}).status().IsKeyError());
  req.row_end = rows + 1;
  EXPECT_TRUE(reader->Read(req).status().IsIndexError());
}

TEST(FileReader, TakeReadsOnlyThePagesHoldingTheRows) {
  const int64_t rows = 20000;
  const uint32_t dim = 32;
  auto batch = file_test::MakeBatch(rows, 4);
  auto v = file_test::MakeVectors(rows, dim);
  FileWriteOptions o;
  o.max_row_group_rows = 8192;
  o.data_page_bytes = 4096;
  o.write_batch_rows = 16;
  o.dictionary_page_bytes = 4096;
  AilakeFileWriter w(Policy(dim, IndexType::kNone), o);
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  auto counting = std::make_shared<file_test::CountingFile>(file);
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(counting));
  const std::vector<int64_t> ids = {5, 9000, 19999};
  counting->Reset();
  ASSERT_OK_AND_ASSIGN(auto got, reader->Take(ids));
  const int64_t take_bytes = counting->bytes_read();
  auto oracle = OracleRead(file);
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto want, oracle->GetColumnByName("embedding")->GetScalar(ids[i]));
    ASSERT_OK_AND_ASSIGN(auto have, got->GetColumnByName("embedding")->GetScalar(i));
    EXPECT_TRUE(want->Equals(*have));
  }
  // Three rows touch a few pages per column (plus the offset indexes), a
  // small part of a file whose data is mostly vectors.
  EXPECT_LT(take_bytes, file->size() / 20) << take_bytes << " of " << file->size();
  counting->Reset();
  ASSERT_OK_AND_ASSIGN(auto all, reader->Read());
  EXPECT_GT(counting->bytes_read(), file->size() / 2);
}

TEST(FileReader, SearchMatchesBruteForceWithFilter) {
  const int64_t rows = 1500;
  const uint32_t dim = 16;
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, dim, 11);
  for (IndexType type : {IndexType::kNone, IndexType::kFlat}) {
    SCOPED_TRACE(IndexTypeName(type));
    AilakeFileWriter w(Policy(dim, type), SmallPages());
    ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
    ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
    auto q = file_test::MakeVectors(5, dim, 99);
    for (int i = 0; i < 5; ++i) {
      std::span<const float> query(q.data() + i * dim, dim);
      ASSERT_OK_AND_ASSIGN(auto got, reader->Search(query, 10));
      auto want = BruteForce(v, dim, query.data(), 10);
      ASSERT_EQ(got.size(), 10u);
      for (size_t j = 0; j < 10; ++j) {
        EXPECT_EQ(got[j].row, want[j].row);
        EXPECT_NEAR(got[j].distance, want[j].distance, 1e-3);
      }
      // Only even rows allowed.
      std::vector<uint64_t> words((rows + 63) / 64, 0x5555555555555555ull);
      RowFilter f{words, static_cast<uint32_t>(rows)};
      ASSERT_OK_AND_ASSIGN(auto filtered, reader->Search(query, 10, {}, &f));
      ASSERT_EQ(filtered.size(), 10u);
      for (const auto& n : filtered) EXPECT_EQ(n.row % 2, 0u);
    }
  }
}

TEST(FileReader, HnswLoadsInPlaceAndFindsTheExactNeighbours) {
  const int64_t rows = 3000;
  const uint32_t dim = 32;
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, dim, 21);
  AilakeFileWriter w(Policy(dim, IndexType::kHnsw), SmallPages());
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  ASSERT_OK(reader->Verify());
  EXPECT_EQ(reader->vector_columns()[0].section.index_type, IndexType::kHnsw);
  // The vectors the index uses are the file's own bytes (no copy).
  ASSERT_OK_AND_ASSIGN(auto view, reader->Vectors());
  for (uint32_t r : {0u, 1234u, 2999u}) {
    const uint8_t* p = view.Row(r);
    EXPECT_TRUE(p >= file->data() && p + view.row_bytes() <= file->data() + file->size()) << r;
    // Byte-for-byte: the stored row is the input's float32 bytes.
    const auto* want = reinterpret_cast<const uint8_t*>(v.data() + r * dim);
    EXPECT_EQ(std::memcmp(p, want, 4 * dim), 0);
  }
  auto q = file_test::MakeVectors(50, dim, 77);
  int found = 0;
  for (int i = 0; i < 50; ++i) {
    std::span<const float> query(q.data() + i * dim, dim);
    SearchParams params;
    // The queries come from other cluster centres than the rows, so each
    // query's neighbours are near-ties inside one far cluster: a hard case
    // for any graph index (hnswlib scores 0.90-0.92 here at ef=64).
    params.ef = 200;
    ASSERT_OK_AND_ASSIGN(auto got, reader->Search(query, 10, params));
    auto want = BruteForce(v, dim, query.data(), 10);
    for (const auto& g : got) {
      for (const auto& x : want) found += g.row == x.row;
    }
  }
  EXPECT_GE(found / 500.0, 0.97) << "recall@10";
}

TEST(FileReader, ParquetOnlyThenIndexLaterKeepsTheDataBytes) {
  const int64_t rows = 1200;
  const uint32_t dim = 8;
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim), SmallPages());
  ASSERT_OK_AND_ASSIGN(auto plain, w.WriteParquetOnly(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto plain_reader, AilakeFileReader::Open(plain));
  EXPECT_FALSE(plain_reader->IsAilakeFile());
  EXPECT_EQ(plain_reader->vector_columns().size(), 1u);
  EXPECT_TRUE(plain_reader->ReadCentroid().status().IsKeyError());

  ASSERT_OK_AND_ASSIGN(auto out, arrow::io::BufferOutputStream::Create());
  ASSERT_OK(w.WriteIndexFor(std::make_shared<arrow::io::BufferReader>(plain), out.get()));
  ASSERT_OK_AND_ASSIGN(auto indexed, out->Finish());
  // Every byte before the old footer is unchanged.
  uint32_t flen;
  std::memcpy(&flen, plain->data() + plain->size() - 8, 4);
  const int64_t footer_start = plain->size() - 8 - flen;
  ASSERT_GT(indexed->size(), plain->size());
  EXPECT_EQ(std::memcmp(indexed->data(), plain->data(), footer_start), 0);

  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(indexed));
  EXPECT_TRUE(reader->IsAilakeFile());
  ASSERT_OK(reader->Verify());
  EXPECT_TRUE(OracleRead(indexed)->Equals(*OracleRead(plain)));
  // Same section as a direct Write (Flat index and centroid are deterministic).
  ASSERT_OK_AND_ASSIGN(auto direct, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto direct_reader, AilakeFileReader::Open(direct));
  EXPECT_EQ(direct->size(), indexed->size());
  const auto& a = reader->vector_columns()[0].section;
  const auto& b = direct_reader->vector_columns()[0].section;
  EXPECT_EQ(a.offset, b.offset);
  ASSERT_EQ(a.length, b.length);
  EXPECT_EQ(std::memcmp(indexed->data() + a.offset, direct->data() + b.offset, a.length), 0);
  // Indexing twice is refused.
  ASSERT_OK_AND_ASSIGN(auto out2, arrow::io::BufferOutputStream::Create());
  EXPECT_TRUE(
      w.WriteIndexFor(std::make_shared<arrow::io::BufferReader>(indexed), out2.get()).IsInvalid());
}

// A Parquet file written by Parquet C++ alone (no ailake metadata, zstd
// pages, a fixed_size_binary[4*dim] column): declared, then indexed later.
TEST(FileReader, ForeignParquetFileIsDeclaredAndIndexedWithoutRewritingItsPages) {
  const int64_t rows = 900;
  const uint32_t dim = 8;
  auto v = file_test::MakeVectors(rows, dim);
  arrow::FixedSizeBinaryBuilder vb(arrow::fixed_size_binary(4 * dim));
  arrow::Int64Builder ib;
  for (int64_t r = 0; r < rows; ++r) {
    ASSERT_OK(vb.Append(reinterpret_cast<const uint8_t*>(v.data() + r * dim)));
    ASSERT_OK(ib.Append(r));
  }
  std::shared_ptr<arrow::Array> va, ia;
  ASSERT_OK(vb.Finish(&va));
  ASSERT_OK(ib.Finish(&ia));
  auto table =
      arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64()),
                                        arrow::field("emb", arrow::fixed_size_binary(4 * dim))}),
                         {ia, va});
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  auto props =
      parquet::WriterProperties::Builder().compression(parquet::Compression::ZSTD)->build();
  ASSERT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, 250, props));
  ASSERT_OK_AND_ASSIGN(auto foreign, sink->Finish());

  VectorStoragePolicy p = Policy(dim);
  p.vector_column = "emb";
  ASSERT_OK_AND_ASSIGN(auto plain, AilakeFileReader::Open(foreign));
  EXPECT_TRUE(plain->vector_columns().empty());
  VectorStoragePolicy wrong = p;
  wrong.dim = 4;
  EXPECT_TRUE(plain->DeclareVectorColumn(wrong).IsTypeError());
  ASSERT_OK(plain->DeclareVectorColumn(p));
  ASSERT_OK_AND_ASSIGN(auto view, plain->Vectors("emb"));
  ASSERT_EQ(view.num_rows(), static_cast<uint32_t>(rows));

  ASSERT_OK_AND_ASSIGN(auto out, arrow::io::BufferOutputStream::Create());
  ASSERT_OK(
      AppendIndexSections(std::make_shared<arrow::io::BufferReader>(foreign), {&p, 1}, out.get()));
  ASSERT_OK_AND_ASSIGN(auto indexed, out->Finish());
  uint32_t flen;
  std::memcpy(&flen, foreign->data() + foreign->size() - 8, 4);
  EXPECT_EQ(std::memcmp(indexed->data(), foreign->data(), foreign->size() - 8 - flen), 0);
  // The result is an AI-Lake file on its own: metadata, section, search.
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(indexed));
  EXPECT_TRUE(reader->IsAilakeFile());
  ASSERT_OK(reader->Verify());
  ASSERT_OK_AND_ASSIGN(const VectorColumnInfo* info, reader->vector_column("emb"));
  EXPECT_EQ(info->dim, dim);
  EXPECT_TRUE(info->has_section);
  ASSERT_OK_AND_ASSIGN(auto hits, reader->Search({v.data() + 77 * dim, dim}, 1));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].row, 77u);
  EXPECT_TRUE(OracleRead(indexed)->Equals(*OracleRead(foreign)));
}

TEST(FileReader, StreamedFileEqualsBytesAndOpensMemoryMapped) {
  const int64_t rows = 700;
  const uint32_t dim = 4;
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim), SmallPages());
  ASSERT_OK_AND_ASSIGN(auto bytes, w.Write(*batch, v));
  const auto path = (std::filesystem::temp_directory_path() /
                     ("ailake_file_test_" + std::to_string(::getpid()) + ".parquet"))
                        .string();
  {
    ASSERT_OK_AND_ASSIGN(auto out, arrow::io::FileOutputStream::Open(path));
    ASSERT_OK(w.Write(*batch, v, out.get()));
    ASSERT_OK(out->Close());
  }
  ASSERT_OK_AND_ASSIGN(auto in, arrow::io::ReadableFile::Open(path));
  ASSERT_OK_AND_ASSIGN(auto disk, in->Read(1 << 30));
  EXPECT_TRUE(disk->Equals(*bytes));
  for (bool mmap : {true, false}) {
    FileReadOptions o;
    o.memory_map = mmap;
    ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(path, o));
    ASSERT_OK(reader->Verify());
    std::span<const float> q(v.data() + 3 * dim, dim);
    ASSERT_OK_AND_ASSIGN(auto hits, reader->Search(q, 1));
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].row, 3u);
  }
  std::filesystem::remove(path);
}

TEST(FileReader, EveryPrecisionAndListInput) {
  const int64_t rows = 600;
  const uint32_t dim = 10;
  auto v = file_test::MakeVectors(rows, dim);
  for (Precision prec : {Precision::kF32, Precision::kF16, Precision::kInt8}) {
    SCOPED_TRACE(PrecisionName(prec));
    auto p = Policy(dim, IndexType::kFlat, DistanceMetric::kCosine, prec);
    // Embeddings as a FixedSizeList<float32> column inside the batch.
    auto values =
        std::make_shared<arrow::FloatArray>(rows * dim, arrow::Buffer::Wrap(v.data(), v.size()));
    auto list = std::make_shared<arrow::FixedSizeListArray>(
        arrow::fixed_size_list(arrow::float32(), dim), rows, values);
    auto base = file_test::MakeBatch(rows);
    ASSERT_OK_AND_ASSIGN(auto batch, base->AddColumn(1, "embedding", list));
    AilakeFileWriter w(p, SmallPages());
    ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, {}));
    ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
    ASSERT_OK(reader->Verify());
    EXPECT_EQ(reader->schema()->field(1)->name(), "embedding");
    ASSERT_OK_AND_ASSIGN(auto view, reader->Vectors());
    std::vector<float> row(dim);
    const float tol = prec == Precision::kF32 ? 0.0f : prec == Precision::kF16 ? 2e-3f : 2e-2f;
    for (uint32_t r = 0; r < rows; r += 13) {
      view.Decode(r, row.data());
      for (uint32_t j = 0; j < dim; ++j) ASSERT_NEAR(row[j], v[r * dim + j], tol) << r << "," << j;
    }
    std::span<const float> q(v.data() + 5 * dim, dim);
    ASSERT_OK_AND_ASSIGN(auto hits, reader->Search(q, 1));
    EXPECT_EQ(hits.at(0).row, 5u);
  }
}

}  // namespace
}  // namespace ailake

namespace ailake {
namespace {

// Row groups of 8,192 rows and 16 KiB data pages: a vector column of many
// pages, fetched in ranges.
FileWriteOptions ManyPages() {
  FileWriteOptions o;
  o.max_row_group_rows = 8192;
  o.data_page_bytes = 16384;
  return o;
}

// A reader of `file` whose vectors are fetched on demand, through a
// CountingFile that counts the bytes read.
struct OnDemandReader {
  std::shared_ptr<file_test::CountingFile> counting;
  std::unique_ptr<AilakeFileReader> reader;
};
arrow::Result<OnDemandReader> OpenOnDemand(const std::shared_ptr<arrow::Buffer>& file) {
  OnDemandReader r;
  r.counting = std::make_shared<file_test::CountingFile>(file);
  ARROW_ASSIGN_OR_RAISE(r.reader, AilakeFileReader::Open(r.counting));
  r.reader->SetVectorsOnDemand(true, 0);
  return r;
}

// A file on object storage: IVF-PQ reads only the rows it re-ranks, and
// finds exactly what the reader holding the whole column finds; HNSW on such
// a view reads the whole column once, at load.
TEST(FileReader, OnDemandVectorsReadOnlyTheRerankedRows) {
  const int64_t rows = 20000;
  const uint32_t dim = 32;
  auto batch = file_test::MakeBatch(rows, 4);
  auto v = file_test::MakeVectors(rows, dim, 5);
  const FileWriteOptions o = ManyPages();
  auto p = Policy(dim, IndexType::kIvfPq);
  p.ivf_pq.nlist = 32;
  p.ivf_pq.m = 8;
  for (IndexType type : {IndexType::kIvfPq, IndexType::kHnsw}) {
    SCOPED_TRACE(IndexTypeName(type));
    p.index_type = type;
    AilakeFileWriter w(p, o);
    ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
    ASSERT_OK_AND_ASSIGN(auto eager, AilakeFileReader::Open(file));
    ASSERT_OK_AND_ASSIGN(auto od, OpenOnDemand(file));
    auto& counting = od.counting;
    auto& lazy = od.reader;
    const int64_t column_bytes = rows * dim * 4;
    counting->Reset();
    auto q = file_test::MakeVectors(8, dim, 77);
    // Even rows only, and a filter so tight that the allowed rows are scored exactly.
    std::vector<uint64_t> even((rows + 63) / 64, 0x5555555555555555ull);
    std::vector<uint64_t> few((rows + 63) / 64, 0);
    for (int64_t r = 0; r < rows; r += 997) few[r / 64] |= uint64_t{1} << (r % 64);
    RowFilter f_even{even, static_cast<uint32_t>(rows)};
    RowFilter f_few{few, static_cast<uint32_t>(rows)};
    for (int i = 0; i < 8; ++i) {
      std::span<const float> query(q.data() + i * dim, dim);
      const std::vector<const RowFilter*> filters = {nullptr, &f_even, &f_few};
      for (const RowFilter* f : filters) {
        ASSERT_OK_AND_ASSIGN(auto want, eager->Search(query, 10, {}, f));
        const int64_t before = counting->bytes_read();
        ASSERT_OK_AND_ASSIGN(auto got, lazy->Search(query, 10, {}, f));
        if (type == IndexType::kIvfPq && f == nullptr) {
          // One search re-ranks 40 rows: a few ranged reads (rows closer
          // than 32 KiB read as one), far less than the column.
          EXPECT_LT(counting->bytes_read() - before, column_bytes / 4) << "query " << i;
        }
        ASSERT_EQ(got.size(), want.size());
        for (size_t j = 0; j < want.size(); ++j) {
          EXPECT_EQ(got[j].row, want[j].row);
          EXPECT_FLOAT_EQ(got[j].distance, want[j].distance);
        }
      }
    }
    if (type == IndexType::kHnsw) {
      EXPECT_GE(counting->bytes_read(), column_bytes);
    }
  }
}

// A batch over 4-bit codes re-ranks its queries' candidates together, in
// row order: on a view whose rows are fetched on demand it fetches them once
// for the batch and finds what the reader holding the whole column finds.
TEST(FileReader, OnDemandVectorsServeA4BitBatch) {
  const int64_t rows = 20000;
  const uint32_t dim = 32, nq = 40;
  auto batch = file_test::MakeBatch(rows, 4);
  auto v = file_test::MakeVectors(rows, dim, 5);
  const FileWriteOptions o = ManyPages();
  auto p = Policy(dim, IndexType::kIvfPq);
  p.metric = DistanceMetric::kCosine;
  p.ivf_pq.nlist = 32;
  p.ivf_pq.m = 16;
  p.ivf_pq.nbits = 4;
  AilakeFileWriter w(p, o);
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto eager, AilakeFileReader::Open(file));
  ASSERT_OK_AND_ASSIGN(auto lazy, OpenOnDemand(file));
  ASSERT_OK_AND_ASSIGN(auto want_index, eager->LoadIndex());
  ASSERT_OK_AND_ASSIGN(auto got_index, lazy.reader->LoadIndex());
  // Queries in pairs of near twins, which share most of their candidates.
  auto q = file_test::MakeVectors(nq / 2, dim, 77);
  std::vector<float> queries;
  for (uint32_t i = 0; i < nq / 2; ++i) {
    for (int twin = 0; twin < 2; ++twin) {
      for (uint32_t t = 0; t < dim; ++t) queries.push_back(q[i * dim + t] + 0.01f * twin);
    }
  }
  SearchParams sp;
  sp.nprobe = 4;
  ASSERT_OK_AND_ASSIGN(auto want, want_index->SearchBatch(queries, nq, 10, sp, nullptr, 1));
  lazy.counting->Reset();
  ASSERT_OK_AND_ASSIGN(auto got, got_index->SearchBatch(queries, nq, 10, sp, nullptr, 1));
  const int64_t batch_bytes = lazy.counting->bytes_read();
  // The same queries one by one on a second reader fetch more: each search
  // its own rows.
  ASSERT_OK_AND_ASSIGN(auto lazy_one, OpenOnDemand(file));
  ASSERT_OK_AND_ASSIGN(auto one_index, lazy_one.reader->LoadIndex());
  lazy_one.counting->Reset();
  for (uint32_t i = 0; i < nq; ++i) {
    ASSERT_OK(one_index->Search({&queries[size_t{i} * dim], dim}, 10, sp, nullptr).status());
  }
  EXPECT_LT(batch_bytes, lazy_one.counting->bytes_read());
  // Two threads: two groups, each fetching its own rows.
  ASSERT_OK_AND_ASSIGN(auto got2, lazy_one.reader->LoadIndex());
  ASSERT_OK_AND_ASSIGN(auto two, got2->SearchBatch(queries, nq, 10, sp, nullptr, 2));
  ASSERT_EQ(two.size(), want.size());
  for (uint32_t i = 0; i < nq; ++i) {
    ASSERT_EQ(two[i].size(), want[i].size()) << i;
    for (size_t j = 0; j < want[i].size(); ++j) EXPECT_EQ(two[i][j].row, want[i][j].row) << i;
  }
  ASSERT_EQ(got.size(), want.size());
  for (uint32_t i = 0; i < nq; ++i) {
    ASSERT_EQ(got[i].size(), 10u) << i;
    ASSERT_EQ(got[i].size(), want[i].size()) << i;
    for (size_t j = 0; j < want[i].size(); ++j) {
      EXPECT_EQ(got[i][j].row, want[i][j].row) << i << " " << j;
      EXPECT_EQ(got[i][j].distance, want[i][j].distance) << i << " " << j;
    }
  }
}

}  // namespace
}  // namespace ailake
