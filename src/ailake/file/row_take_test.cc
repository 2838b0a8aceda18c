// Take against an oracle: the whole file read by Parquet C++'s own Arrow
// reader, then arrow::compute::Take of the same rows. Covers each path of
// row_take.cc (vector bytes in place, flat columns page by page, the general
// path for nested and converted types and for files without a page index)
// over multi-page, multi-row-group files.
#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <random>

#include "ailake/file.h"
#include "ailake/file/test_util.h"

namespace ailake {
namespace {

std::shared_ptr<arrow::Table> OracleTake(const std::shared_ptr<arrow::Buffer>& file,
                                         const std::vector<int64_t>& ids) {
  std::unique_ptr<parquet::arrow::FileReader> r;
  EXPECT_TRUE(parquet::arrow::OpenFile(std::make_shared<arrow::io::BufferReader>(file),
                                       arrow::default_memory_pool())
                  .Value(&r)
                  .ok());
  std::shared_ptr<arrow::Table> t;
  EXPECT_TRUE(r->ReadTable(&t).ok());
  arrow::Int64Builder b;
  EXPECT_TRUE(b.AppendValues(ids).ok());
  auto taken = arrow::compute::Take(t, b.Finish().ValueOrDie());
  EXPECT_TRUE(taken.ok()) << taken.status().ToString();
  return taken->table();
}

// The columns of file_test::MakeBatch plus one of each other flat type and a
// timestamp (converted by the Arrow reader: general path).
std::shared_ptr<arrow::RecordBatch> MakeWideBatch(int64_t rows, uint64_t seed) {
  auto base = file_test::MakeBatch(rows, seed);
  std::mt19937_64 rng(seed);
  arrow::Int8Builder i8;
  arrow::UInt32Builder u32;
  arrow::UInt64Builder u64;
  arrow::FloatBuilder f32;
  arrow::BooleanBuilder flag;
  arrow::BinaryBuilder bin;
  arrow::LargeStringBuilder large;
  arrow::FixedSizeBinaryBuilder fsb(arrow::fixed_size_binary(5));
  arrow::FixedSizeBinaryBuilder code(arrow::fixed_size_binary(3));
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MILLI),
                             arrow::default_memory_pool());
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t x = rng();
    (void)(r % 4 == 1 ? i8.AppendNull() : i8.Append(static_cast<int8_t>(x)));
    (void)u32.Append(static_cast<uint32_t>(x >> 7));
    (void)u64.Append(x);
    (void)(r % 6 == 2 ? f32.AppendNull() : f32.Append(static_cast<float>(x % 1000) / 3.0f));
    (void)(r % 5 == 4 ? flag.AppendNull() : flag.Append(x % 2 == 0));
    (void)bin.Append(std::string(x % 9, static_cast<char>(x % 251)));
    (void)(r % 9 == 0 ? large.AppendNull() : large.Append("large " + std::to_string(x % 977)));
    const std::string five = std::to_string(10000 + r % 90000).substr(0, 5);
    (void)(r % 8 == 5 ? fsb.AppendNull() : fsb.Append(five));
    (void)code.Append(std::to_string(100 + x % 900));
    (void)ts.Append(static_cast<int64_t>(x % 1000000000000));
  }
  auto out = base;
  auto add = [&](const char* name, arrow::ArrayBuilder& b, bool nullable = true) {
    std::shared_ptr<arrow::Array> a;
    EXPECT_TRUE(b.Finish(&a).ok());
    out =
        out->AddColumn(out->num_columns(), arrow::field(name, a->type(), nullable), a).ValueOrDie();
  };
  add("i8", i8);
  add("u32", u32, false);
  add("u64", u64);
  add("f32", f32);
  add("flag", flag);
  add("bin", bin, false);
  add("large", large);
  add("fsb", fsb);
  add("code", code, false);  // required fixed width, compressed or dictionary: not in place
  add("ts", ts);
  return out;
}

VectorStoragePolicy Policy(uint32_t dim, Precision precision) {
  VectorStoragePolicy p;
  p.vector_column = "embedding";
  p.dim = dim;
  p.metric = DistanceMetric::kEuclidean;
  p.precision = precision;
  p.index_type = IndexType::kNone;
  if (precision == Precision::kInt8) p.int8.scaling = Int8Scaling::kPerVector;
  return p;
}

FileWriteOptions SmallPages(const std::string& compression) {
  FileWriteOptions o;
  o.max_row_group_rows = 512;
  o.data_page_bytes = 1024;
  o.write_batch_rows = 16;
  o.dictionary_page_bytes = 1024;
  o.compression = compression;
  return o;
}

// Random rows (repeats, both ends of the file, the edges of a row group),
// then the same sorted and distinct, then a single row.
std::vector<std::vector<int64_t>> IdSets(int64_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> ids;
  ids.reserve(256);
  for (int i = 0; i < 250; ++i) ids.push_back(static_cast<int64_t>(rng() % rows));
  for (int64_t r : {int64_t{0}, rows - 1, int64_t{511}, int64_t{512}, int64_t{511}, int64_t{40}}) {
    ids.push_back(r);
  }
  std::vector<int64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return {ids, sorted, {rows / 2}};
}

void ExpectTakeMatchesOracle(const std::shared_ptr<arrow::Buffer>& file, int64_t rows,
                             uint64_t seed) {
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  for (const auto& ids : IdSets(rows, seed)) {
    SCOPED_TRACE(ids.size());
    ASSERT_OK_AND_ASSIGN(auto got, reader->Take(ids));
    auto want = OracleTake(file, ids);
    ASSERT_EQ(got->num_rows(), static_cast<int64_t>(ids.size()));
    ASSERT_TRUE(got->schema()->Equals(*want->schema())) << got->schema()->ToString();
    for (int c = 0; c < want->num_columns(); ++c) {
      ASSERT_OK_AND_ASSIGN(auto g, arrow::Concatenate(got->column(c)->chunks()));
      ASSERT_OK_AND_ASSIGN(auto w, arrow::Concatenate(want->column(c)->chunks()));
      ASSERT_OK(g->ValidateFull());
      EXPECT_TRUE(g->Equals(*w)) << want->schema()->field(c)->name() << "\n" << g->Diff(*w);
    }
  }
}

TEST(RowTake, EveryPrecisionAndColumnTypeMatchesTheOracle) {
  const int64_t rows = 2600;  // 6 row groups, the last one short
  const uint32_t dim = 12;
  auto batch = MakeWideBatch(rows, 11);
  auto v = file_test::MakeVectors(rows, dim);
  for (Precision prec : {Precision::kF32, Precision::kF16, Precision::kInt8}) {
    for (const char* codec : {"snappy", "uncompressed"}) {
      SCOPED_TRACE(std::string(PrecisionName(prec)) + " " + codec);
      AilakeFileWriter w(Policy(dim, prec), SmallPages(codec));
      ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
      ExpectTakeMatchesOracle(file, rows, 3);
    }
  }
}

TEST(RowTake, ColumnSubsetInTheOrderAsked) {
  const int64_t rows = 1500;
  auto batch = MakeWideBatch(rows, 5);
  auto v = file_test::MakeVectors(rows, 8);
  AilakeFileWriter w(Policy(8, Precision::kF32), SmallPages("snappy"));
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  const std::vector<int64_t> ids = {1499, 3, 3, 700, 0};
  ASSERT_OK_AND_ASSIGN(auto got, reader->Take(ids, {"tags", "embedding", "text", "ts"}));
  auto want = OracleTake(file, ids);
  ASSERT_EQ(got->num_columns(), 4);
  for (const char* name : {"tags", "embedding", "text", "ts"}) {
    ASSERT_OK_AND_ASSIGN(auto g, arrow::Concatenate(got->GetColumnByName(name)->chunks()));
    ASSERT_OK_AND_ASSIGN(auto w, arrow::Concatenate(want->GetColumnByName(name)->chunks()));
    EXPECT_TRUE(g->Equals(*w)) << name;
  }
  EXPECT_EQ(got->schema()->field(0)->name(), "tags");
}

TEST(RowTake, OutOfRangeRowIsNamed) {
  const int64_t rows = 300;
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, 4);
  AilakeFileWriter w(Policy(4, Precision::kF32), SmallPages("snappy"));
  ASSERT_OK_AND_ASSIGN(auto file, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  for (int64_t bad : {rows, int64_t{-1}, int64_t{1} << 40}) {
    const std::vector<int64_t> ids = {2, bad};
    auto st = reader->Take(ids).status();
    EXPECT_TRUE(st.IsIndexError()) << st.ToString();
    EXPECT_NE(st.message().find("row " + std::to_string(bad)), std::string::npos) << st.message();
  }
}

// Files of other writers: a compressed, dictionary-encoded, nullable
// fixed-width column (flat path, not in place) and, without a page index,
// every column through the general path.
TEST(RowTake, PlainParquetWithAndWithoutPageIndex) {
  const int64_t rows = 2100;
  auto batch = MakeWideBatch(rows, 9);
  ASSERT_OK_AND_ASSIGN(auto table, arrow::Table::FromRecordBatches({batch}));
  for (bool page_index : {true, false}) {
    SCOPED_TRACE(page_index);
    parquet::WriterProperties::Builder b;
    b.max_row_group_length(700)->data_pagesize(512)->write_batch_size(32)->compression(
        arrow::Compression::ZSTD);
    if (page_index) {
      b.enable_write_page_index();
    } else {
      b.disable_write_page_index();
    }
    auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
    ASSERT_OK(parquet::arrow::WriteTable(
        *table, arrow::default_memory_pool(), sink, 700, b.build(),
        parquet::ArrowWriterProperties::Builder().store_schema()->build()));
    ASSERT_OK_AND_ASSIGN(auto file, sink->Finish());
    ExpectTakeMatchesOracle(file, rows, 4);
  }
}

}  // namespace
}  // namespace ailake
