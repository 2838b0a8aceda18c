// The Lance file written by LanceFileWriter, parsed back with the format's
// own structure (footer, offset tables, column metadata, schema): layout
// rules the pylance oracle (tests/python/test_lance_file.py) does not show.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>

#include <cstring>

#include "ailake/encoding/field_encoder.h"
#include "ailake/encoding/lance_format.pb.h"
#include "ailake/file/test_util.h"  // ASSERT_OK, ASSERT_OK_AND_ASSIGN
#include "ailake/lance.h"

namespace ailake {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::shared_ptr<arrow::Table> MakeTable(int64_t n) {
  arrow::Int64Builder ids;
  arrow::StringBuilder names;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    if (i % 3 == 0) {
      EXPECT_TRUE(names.AppendNull().ok());
    } else {
      EXPECT_TRUE(names.Append("n" + std::to_string(i)).ok());
    }
  }
  std::shared_ptr<arrow::Array> a, b;
  EXPECT_TRUE(ids.Finish(&a).ok());
  EXPECT_TRUE(names.Finish(&b).ok());
  return arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64(), false),
                                           arrow::field("name", arrow::utf8())}),
                            {a, b});
}

TEST(LanceWriter, ParallelEncodedPagesFollowTheFormat) {
  auto table = MakeTable(10'000);
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  LanceWriteOptions o;
  o.max_page_bytes = 4096;  // many pages per column, encoded in parallel
  ASSERT_OK_AND_ASSIGN(auto w, LanceFileWriter::Open(sink, table->schema(), o));
  // Three batches of different sizes.
  ASSERT_OK(w->Write(*table->Slice(0, 1)));
  ASSERT_OK(w->Write(*table->Slice(1, 4999)));
  ASSERT_OK(w->Write(*table->Slice(5000)));
  ASSERT_OK(w->Finish());
  EXPECT_EQ(w->rows_written(), 10'000);
  EXPECT_FALSE(w->Write(*table).ok());  // after Finish
  ASSERT_OK_AND_ASSIGN(auto file, sink->Finish());
  const uint8_t* d = file->data();
  const int64_t size = file->size();
  ASSERT_EQ(std::memcmp(d + size - 4, "LANC", 4), 0);
  const uint8_t* f = d + size - 40;
  const auto cm0 = Load<uint64_t>(f), cmo = Load<uint64_t>(f + 8), gbo = Load<uint64_t>(f + 16);
  EXPECT_EQ(Load<uint32_t>(f + 24), 1u);  // global buffers
  ASSERT_EQ(Load<uint32_t>(f + 28), 2u);  // columns
  EXPECT_EQ(Load<uint16_t>(f + 32), 0);   // version 2.0 is written as 0.3
  EXPECT_EQ(Load<uint16_t>(f + 34), 3);
  EXPECT_EQ(gbo, cmo + 2 * 16);
  EXPECT_EQ(gbo + 16, static_cast<uint64_t>(size - 40));
  // The schema, in global buffer 0, before the column metadata.
  const auto g0 = Load<uint64_t>(d + gbo), g0_size = Load<uint64_t>(d + gbo + 8);
  EXPECT_EQ(g0 % 64, 0u);
  EXPECT_LE(g0 + g0_size, cm0);
  encoding::lance::FileDescriptor fd;
  ASSERT_TRUE(fd.ParseFromArray(d + g0, static_cast<int>(g0_size)));
  EXPECT_EQ(fd.length(), 10'000u);
  ASSERT_EQ(fd.schema().fields_size(), 2);
  EXPECT_EQ(fd.schema().fields(0).logical_type(), "int64");
  EXPECT_EQ(fd.schema().fields(0).parent_id(), -1);
  EXPECT_FALSE(fd.schema().fields(0).nullable());
  EXPECT_EQ(fd.schema().fields(1).logical_type(), "string");
  EXPECT_EQ(fd.schema().fields(1).id(), 1);
  // Each column: pages in row order, covering every row once, buffers
  // 64-aligned and inside the data section.
  for (int c = 0; c < 2; ++c) {
    const auto pos = Load<uint64_t>(d + cmo + 16 * c), len = Load<uint64_t>(d + cmo + 16 * c + 8);
    encoding::lance::ColumnMetadata cm;
    ASSERT_TRUE(cm.ParseFromArray(d + pos, static_cast<int>(len)));
    ASSERT_GT(cm.pages_size(), 10) << "column " << c;
    uint64_t next_row = 0;
    for (const auto& p : cm.pages()) {
      EXPECT_EQ(p.priority(), next_row);
      next_row += p.length();
      for (int b = 0; b < p.buffer_offsets_size(); ++b) {
        EXPECT_EQ(p.buffer_offsets(b) % 64, 0u);
        EXPECT_LE(p.buffer_offsets(b) + p.buffer_sizes(b), g0);
      }
      encoding::lance::AnyValue any;
      ASSERT_TRUE(any.ParseFromString(p.encoding().direct().encoding()));
      EXPECT_EQ(any.type_url(), "/lance.encodings.ArrayEncoding");
    }
    EXPECT_EQ(next_row, 10'000u);
    encoding::lance::AnyValue col;
    ASSERT_TRUE(col.ParseFromString(cm.encoding().direct().encoding()));
    EXPECT_EQ(col.type_url(), "/lance.encodings.ColumnEncoding");
  }
  // The first id page holds ids 0.. as little-endian int64.
  {
    encoding::lance::ColumnMetadata cm;
    ASSERT_TRUE(cm.ParseFromArray(d + Load<uint64_t>(d + cmo),
                                  static_cast<int>(Load<uint64_t>(d + cmo + 8))));
    const auto& p = cm.pages(0);
    ASSERT_EQ(p.buffer_offsets_size(), 1);  // no nulls: values only
    for (uint64_t r = 0; r < p.length(); ++r) {
      EXPECT_EQ(Load<int64_t>(d + p.buffer_offsets(0) + 8 * r), static_cast<int64_t>(r));
    }
  }
}

TEST(LanceReader, ReadsBackByRangeTakeAndScanInAnyBatchSize) {
  auto table = MakeTable(5'000);
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  LanceWriteOptions o;
  o.max_page_bytes = 2048;
  ASSERT_OK(WriteLanceFile(*table, sink, o));
  ASSERT_OK_AND_ASSIGN(auto bytes, sink->Finish());
  ASSERT_OK_AND_ASSIGN(auto r,
                       LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(bytes)));
  EXPECT_EQ(r->num_rows(), 5'000);
  EXPECT_EQ(r->version(), std::make_pair(uint16_t{0}, uint16_t{3}));
  EXPECT_TRUE(r->schema()->Equals(*table->schema()));
  ASSERT_OK_AND_ASSIGN(auto all, r->Read());
  EXPECT_TRUE(all->Equals(*table));
  ASSERT_OK_AND_ASSIGN(auto names, r->Read({"name"}, 1234, 1000));
  EXPECT_TRUE(names->column(0)->Equals(*table->column(1)->Slice(1234, 1000)));
  const std::vector<int64_t> rows = {4999, 3, 3, 0, 2500};
  ASSERT_OK_AND_ASSIGN(auto took, r->Take(rows));
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto want, table->column(0)->GetScalar(rows[i]));
    ASSERT_OK_AND_ASSIGN(auto got, took->column(0)->GetScalar(static_cast<int64_t>(i)));
    EXPECT_TRUE(got->Equals(*want));
  }
  EXPECT_TRUE(r->Take(std::vector<int64_t>{5'000}).status().IsIndexError());
  for (int64_t batch : {1, 333, 4096, 10'000}) {
    ASSERT_OK_AND_ASSIGN(auto scan, r->Scan(batch, {"id"}));
    ASSERT_OK_AND_ASSIGN(auto scanned, scan->ToTable());
    EXPECT_TRUE(scanned->column(0)->Equals(*table->column(0))) << batch;
  }
  EXPECT_TRUE(r->Read({"nope"}).status().IsKeyError());
}

TEST(LanceWriter, RefusesWhatItCannotWriteByName) {
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  auto schema = arrow::schema({arrow::field("m", arrow::map(arrow::utf8(), arrow::int32()))});
  auto r = LanceFileWriter::Open(sink, schema);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("field 'm'"), std::string::npos) << r.status();
  LanceWriteOptions v21;
  v21.version = "2.1";
  EXPECT_TRUE(LanceFileWriter::Open(sink, MakeTable(1)->schema(), v21).status().IsNotImplemented());
  auto w = LanceFileWriter::Open(sink, MakeTable(1)->schema()).ValueOrDie();
  auto other = arrow::schema({arrow::field("x", arrow::int32())});
  arrow::Int32Builder b;
  ASSERT_OK(b.Append(1));
  auto batch = arrow::RecordBatch::Make(other, 1, {b.Finish().ValueOrDie()});
  EXPECT_TRUE(w->Write(*batch).IsTypeError());
}

}  // namespace
}  // namespace ailake
