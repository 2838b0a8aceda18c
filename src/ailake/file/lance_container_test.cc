// AI-Lake files in the Lance container (docs/FORMAT.md 5.5). Oracles: the
// same batch written as an AI-Lake Parquet file and read through Parquet
// C++ (values), exact brute force (search). pylance reading these files is
// tests/python/test_lance_file.py.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>

#include <cstring>

#include "ailake/file.h"
#include "ailake/file/test_util.h"
#include "ailake/lance.h"

namespace ailake {
namespace {

VectorStoragePolicy Policy(uint32_t dim, IndexType type) {
  VectorStoragePolicy p;
  p.vector_column = "embedding";
  p.dim = dim;
  p.metric = DistanceMetric::kEuclidean;
  p.index_type = type;
  return p;
}

FileWriteOptions LanceOptions(int64_t page_bytes = 4096, const std::string& version = "2.0") {
  FileWriteOptions o;
  o.format = FileFormat::kLance;
  o.lance_page_bytes = page_bytes;
  o.lance_version = version;
  return o;
}

// id, text, score, tags (list<utf8>), meta (struct).
std::shared_ptr<arrow::RecordBatch> Batch(int64_t rows) { return file_test::MakeBatch(rows); }

std::shared_ptr<arrow::Table> Combined(const std::shared_ptr<arrow::Table>& t) {
  return *t->CombineChunks();
}

// `t` with the types of `like` (Parquet names a list's child "element", the
// Lance file keeps the writer's "item").
std::shared_ptr<arrow::Table> As(const std::shared_ptr<arrow::Table>& t,
                                 const std::shared_ptr<arrow::Table>& like) {
  arrow::ChunkedArrayVector cols;
  for (int i = 0; i < t->num_columns(); ++i) {
    auto c = arrow::compute::Cast(t->column(i), like->schema()->field(i)->type());
    cols.push_back(c.ok() ? c->chunked_array() : t->column(i));
  }
  return Combined(arrow::Table::Make(like->schema(), cols, t->num_rows()));
}

class LanceVersions : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(LanceContainer, LanceVersions, ::testing::Values("2.0", "2.1", "2.2"));

TEST_P(LanceVersions, SameRowsSearchAndSectionsAsTheParquetFile) {
  const int64_t rows = 3000;
  const uint32_t dim = 16;
  const bool v20 = GetParam() == "2.0";
  auto batch = Batch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  // A flat index: its section is deterministic, so both files carry the same bytes.
  AilakeFileWriter pq(Policy(dim, IndexType::kFlat));
  AilakeFileWriter ln(Policy(dim, IndexType::kFlat), LanceOptions(4096, GetParam()));
  ASSERT_OK_AND_ASSIGN(auto pq_bytes, pq.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto ln_bytes, ln.Write(*batch, v));
  EXPECT_EQ(std::memcmp(ln_bytes->data() + ln_bytes->size() - 4, "LANC", 4), 0);
  ASSERT_OK_AND_ASSIGN(auto a, AilakeFileReader::Open(pq_bytes));
  ASSERT_OK_AND_ASSIGN(auto b, AilakeFileReader::Open(ln_bytes));
  EXPECT_EQ(b->format(), FileFormat::kLance);
  EXPECT_EQ(a->format(), FileFormat::kParquet);
  EXPECT_TRUE(b->IsAilakeFile());
  EXPECT_EQ(b->num_rows(), rows);
  EXPECT_EQ(b->num_row_groups(), 0);
  ASSERT_OK(b->Verify());
  // 2.0: a list spans its offsets column and its items'; a struct its own
  // column and its children's. 2.1/2.2: only leaves have columns, a list or
  // struct has none of its own (-1).
  EXPECT_EQ(b->field_columns(), v20 ? (std::vector<int32_t>{0, 1, 2, 3, 5, 8})
                                    : (std::vector<int32_t>{0, 1, 2, -1, -1, 6}));
  EXPECT_EQ(a->field_columns(), (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(b->container_version(), (std::pair<uint32_t, uint32_t>{2, v20                   ? 0u
                                                                      : GetParam() == "2.1" ? 1u
                                                                                            : 2u}));
  ASSERT_OK_AND_ASSIGN(auto name, b->FieldNameOfColumn(v20 ? 8 : 6));
  EXPECT_EQ(name, "embedding");
  EXPECT_FALSE(b->FieldNameOfColumn(4).ok());
  // The Lance file keeps the batch's schema (its list child's name too).
  for (int i = 0; i < batch->num_columns(); ++i) {
    EXPECT_TRUE(b->schema()->field(i)->Equals(*batch->schema()->field(i)))
        << b->schema()->field(i)->ToString();
  }
  EXPECT_TRUE(b->schema()->field(5)->Equals(*a->schema()->field(5), /*check_metadata=*/true));

  // Sections: the same bytes in both containers, one a Lance global buffer.
  const auto& sa = a->vector_columns()[0].section;
  const auto& sb = b->vector_columns()[0].section;
  ASSERT_EQ(sa.length, sb.length);
  EXPECT_EQ(sb.offset % 64, 0u);
  EXPECT_EQ(std::memcmp(pq_bytes->data() + sa.offset, ln_bytes->data() + sb.offset, sa.length), 0);
  EXPECT_EQ(sb.kv_key, "ailake.footer_offset");

  // Rows, ranges and takes equal the Parquet file's.
  ASSERT_OK_AND_ASSIGN(auto ta, a->Read());
  ASSERT_OK_AND_ASSIGN(auto tb, b->Read());
  EXPECT_TRUE(Combined(ta)->Equals(*As(tb, ta)));
  ReadRequest range{{"text", "tags", "embedding"}, 1234, 2345};
  ASSERT_OK_AND_ASSIGN(auto ra, a->Read(range));
  ASSERT_OK_AND_ASSIGN(auto rb, b->Read(range));
  EXPECT_TRUE(Combined(ra)->Equals(*As(rb, ra)));
  const std::vector<int64_t> take = {2999, 0, 17, 17, 1500, 3, 2048};
  ASSERT_OK_AND_ASSIGN(auto ka, a->Take(take));
  ASSERT_OK_AND_ASSIGN(auto kb, b->Take(take));
  EXPECT_TRUE(Combined(ka)->Equals(*As(kb, ka)));
  EXPECT_TRUE(b->Take(std::vector<int64_t>{3000}).status().IsIndexError());

  // Vectors in place (one segment per page), search equal to the Parquet file's.
  ASSERT_OK_AND_ASSIGN(auto view, b->Vectors());
  std::vector<float> row(dim);
  for (uint32_t r = 0; r < rows; r += 101) {
    view.Decode(r, row.data());
    for (uint32_t j = 0; j < dim; ++j) ASSERT_EQ(row[j], v[r * dim + j]);
  }
  for (int q = 0; q < 5; ++q) {
    std::span<const float> query(v.data() + static_cast<size_t>(q) * 577 * dim, dim);
    ASSERT_OK_AND_ASSIGN(auto na, a->Search(query, 10));
    ASSERT_OK_AND_ASSIGN(auto nb, b->Search(query, 10));
    ASSERT_EQ(na.size(), nb.size());
    for (size_t i = 0; i < na.size(); ++i) {
      EXPECT_EQ(na[i].row, nb[i].row);
      EXPECT_EQ(na[i].distance, nb[i].distance);
    }
  }
  ASSERT_OK_AND_ASSIGN(auto path, b->SearchPathOf());
  EXPECT_EQ(path, SearchPath::kIndex);
}

TEST_P(LanceVersions, TakeReadsOnlyTheRowsOfAVectorColumn) {
  const int64_t rows = 4000;
  const uint32_t dim = 64;
  auto batch = Batch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim, IndexType::kFlat), LanceOptions(int64_t{1} << 20, GetParam()));
  ASSERT_OK_AND_ASSIGN(auto bytes, w.Write(*batch, v));
  auto counting = std::make_shared<file_test::CountingFile>(bytes);
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(counting));
  counting->Reset();
  const std::vector<int64_t> take = {5, 3999, 1700};
  ASSERT_OK_AND_ASSIGN(auto t, r->Take(take, {"embedding"}));
  // Three rows of 256 bytes, not the 1 MiB pages that hold them: a column of
  // rows this wide has a checksum per row, so each is read and checked alone.
  EXPECT_EQ(counting->bytes_read(), 3 * 256);
  const auto& col = static_cast<const arrow::FixedSizeBinaryArray&>(*t->column(0)->chunk(0));
  for (size_t i = 0; i < take.size(); ++i) {
    const auto* want = reinterpret_cast<const uint8_t*>(v.data() + take[i] * dim);
    EXPECT_EQ(std::memcmp(col.GetValue(static_cast<int64_t>(i)), want, 256), 0);
  }
  if (GetParam() != "2.0") return;  // the ids are bit-packed in mini-block chunks
  // A narrow column (int64 ids, one page of 32,000 bytes) has 4 KiB
  // checksum blocks: three rows far apart cost their three blocks, row
  // 3999's the last, shorter one.
  counting->Reset();
  ASSERT_OK_AND_ASSIGN(auto ids, r->Take(take, {"id"}));
  EXPECT_EQ(counting->bytes_read(), 2 * 4096 + (4000 * 8 - 7 * 4096));
  const auto& id = static_cast<const arrow::Int64Array&>(*ids->column(0)->chunk(0));
  EXPECT_EQ(id.Value(0), 5);
  EXPECT_EQ(id.Value(1), 3999);
  EXPECT_EQ(id.Value(2), 1700);
}

TEST_P(LanceVersions, IndexLaterCopiesThePagesAndAddsGlobalBuffers) {
  const int64_t rows = 1500;
  const uint32_t dim = 8;
  auto batch = Batch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim, IndexType::kFlat), LanceOptions(4096, GetParam()));
  ASSERT_OK_AND_ASSIGN(auto plain, w.WriteParquetOnly(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto plain_reader, AilakeFileReader::Open(plain));
  EXPECT_EQ(plain_reader->format(), FileFormat::kLance);
  EXPECT_FALSE(plain_reader->IsAilakeFile());
  ASSERT_OK_AND_ASSIGN(auto out, arrow::io::BufferOutputStream::Create());
  ASSERT_OK(w.WriteIndexFor(std::make_shared<arrow::io::BufferReader>(plain), out.get()));
  ASSERT_OK_AND_ASSIGN(auto indexed, out->Finish());
  ASSERT_OK_AND_ASSIGN(auto lance,
                       LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(plain)));
  const auto data_end = static_cast<int64_t>(lance->data_end());
  EXPECT_EQ(std::memcmp(indexed->data(), plain->data(), data_end), 0);
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(indexed));
  EXPECT_TRUE(reader->IsAilakeFile());
  ASSERT_OK(reader->Verify());
  ASSERT_OK_AND_ASSIGN(auto direct, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto direct_reader, AilakeFileReader::Open(direct));
  const auto& a = reader->vector_columns()[0].section;
  const auto& b = direct_reader->vector_columns()[0].section;
  ASSERT_EQ(a.length, b.length);
  EXPECT_EQ(std::memcmp(indexed->data() + a.offset, direct->data() + b.offset, a.length), 0);
  ASSERT_OK_AND_ASSIGN(auto t1, reader->Read());
  ASSERT_OK_AND_ASSIGN(auto t2, plain_reader->Read());
  EXPECT_TRUE(Combined(t1)->Equals(*Combined(t2)));
  ASSERT_OK_AND_ASSIGN(auto out2, arrow::io::BufferOutputStream::Create());
  EXPECT_TRUE(
      w.WriteIndexFor(std::make_shared<arrow::io::BufferReader>(indexed), out2.get()).IsInvalid());
}

TEST(LanceContainer, CorruptSectionsAndUnwritableSettingsAreClearErrors) {
  const int64_t rows = 500;
  const uint32_t dim = 8;
  auto batch = Batch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  AilakeFileWriter w(Policy(dim, IndexType::kHnsw), LanceOptions());
  ASSERT_OK_AND_ASSIGN(auto bytes, w.Write(*batch, v));
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(bytes));
  const auto off = reader->vector_columns()[0].section.offset;
  // A flipped bit in the section header: its checksum names it.
  {
    std::string copy(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    copy[off + 40] ^= 0x10;
    auto r = AilakeFileReader::Open(std::make_shared<arrow::Buffer>(copy));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("AILK"), std::string::npos) << r.status().ToString();
  }
  // A flipped bit in the index blob: found when the index is loaded.
  {
    const auto& s = reader->vector_columns()[0].section;
    std::string copy(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    copy[s.index_offset + s.index_bytes / 2] ^= 0x01;
    ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(std::make_shared<arrow::Buffer>(copy)));
    EXPECT_FALSE(r->LoadIndex().ok());
    EXPECT_FALSE(r->Verify().ok());
  }
  // A flipped bit in a data page: Lance 2.0 has no checksums, ailake's
  // page checksum buffer finds it on every path that reads the page.
  {
    ASSERT_OK_AND_ASSIGN(auto lance,
                         LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(bytes)));
    EXPECT_TRUE(lance->has_page_checksums());
    int32_t row_bytes = 0;
    ASSERT_OK_AND_ASSIGN(auto pages, lance->FixedWidthPages("embedding", &row_bytes));
    ASSERT_OK_AND_ASSIGN(auto ids, lance->FixedWidthPages("id", &row_bytes));
    for (uint64_t at : {pages[0].offset + 7 * 32 + 3, ids[0].offset + 8 * 100 + 1}) {
      std::string copy(reinterpret_cast<const char*>(bytes->data()), bytes->size());
      copy[at] ^= 0x04;
      ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(std::make_shared<arrow::Buffer>(copy)));
      auto all = r->Read();
      ASSERT_FALSE(all.ok());
      EXPECT_NE(all.status().message().find("page checksum mismatch"), std::string::npos)
          << all.status().ToString();
      const std::vector<int64_t> row = {at == ids[0].offset + 801 ? 100 : 7};
      EXPECT_FALSE(r->Take(row).ok());
      EXPECT_FALSE(r->Verify().ok());
      if (at != ids[0].offset + 801) {
        EXPECT_FALSE(r->Vectors().ok());
      }
    }
  }
  // Versions 2.1/2.2: a flipped bit in a zipped vector page or in a
  // bit-packed chunk of ids is found the same way.
  for (const char* version : {"2.1", "2.2"}) {
    SCOPED_TRACE(version);
    AilakeFileWriter w2(Policy(dim, IndexType::kFlat), LanceOptions(4096, version));
    ASSERT_OK_AND_ASSIGN(auto b2, w2.Write(*batch, v));
    ASSERT_OK_AND_ASSIGN(auto lance,
                         LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(b2)));
    EXPECT_TRUE(lance->has_page_checksums());
    int32_t row_bytes = 0;
    ASSERT_OK_AND_ASSIGN(auto pages, lance->FixedWidthPages("embedding", &row_bytes));
    EXPECT_EQ(row_bytes, 32);
    ASSERT_OK_AND_ASSIGN(auto reader2, AilakeFileReader::Open(b2));
    ASSERT_OK(reader2->Verify());
    const uint64_t in_ids = 64 + 8 + 40;  // the ids' first page: a chunk past its header
    for (uint64_t at : {pages[0].offset + 7 * 32 + 3, in_ids}) {
      std::string copy(reinterpret_cast<const char*>(b2->data()), b2->size());
      copy[at] ^= 0x04;
      ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(std::make_shared<arrow::Buffer>(copy)));
      auto all = r->Read();
      ASSERT_FALSE(all.ok());
      EXPECT_NE(all.status().message().find("page checksum mismatch"), std::string::npos)
          << all.status().ToString();
      EXPECT_FALSE(r->Verify().ok());
    }
  }
  // Compression is a Parquet setting: refused, not ignored.
  FileWriteOptions zstd = LanceOptions();
  zstd.compression = "zstd";
  auto refused = AilakeFileWriter(Policy(dim, IndexType::kFlat), zstd).Write(*batch, v);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("zstd"), std::string::npos);
  EXPECT_TRUE(ParseFileFormat("orc").status().IsInvalid());
}

}  // namespace
}  // namespace ailake

namespace ailake {
namespace {

// Re-indexing (create_index on an indexed table): the column given gets a
// new section, the other keeps its bytes, and the data is copied unchanged;
// in both containers.
TEST(IndexLater, ReplacingSectionsKeepsTheDataAndTheOtherColumns) {
  const int64_t rows = 800;
  auto batch = file_test::MakeBatch(rows);
  auto a = file_test::MakeVectors(rows, 8, 1), b = file_test::MakeVectors(rows, 4, 2);
  for (const FileFormat format : {FileFormat::kParquet, FileFormat::kLance}) {
    FileWriteOptions o;
    o.format = format;
    VectorStoragePolicy pa = Policy(8, IndexType::kFlat), pb = Policy(4, IndexType::kFlat);
    pa.vector_column = "a";
    pb.vector_column = "b";
    const std::vector<VectorColumnBatch> cols = {{pa, a, nullptr}, {pb, b, nullptr}};
    ASSERT_OK_AND_ASSIGN(auto bytes, AilakeFileWriter(pa, o).WriteMulti(*batch, cols));
    ASSERT_OK_AND_ASSIGN(auto before, AilakeFileReader::Open(bytes));
    const auto old_a = before->vector_columns()[0].section;
    const auto old_b = before->vector_columns()[1].section;

    VectorStoragePolicy hnsw = pa;
    hnsw.index_type = IndexType::kHnsw;
    ASSERT_OK_AND_ASSIGN(auto out, arrow::io::BufferOutputStream::Create());
    auto in = std::make_shared<arrow::io::BufferReader>(bytes);
    EXPECT_TRUE(AppendIndexSections(in, {&hnsw, 1}, out.get()).IsInvalid());  // not asked to
    ASSERT_OK_AND_ASSIGN(out, arrow::io::BufferOutputStream::Create());
    ASSERT_OK(AppendIndexSections(in, {&hnsw, 1}, out.get(), {}, /*replace_existing=*/true));
    ASSERT_OK_AND_ASSIGN(auto again, out->Finish());
    ASSERT_OK_AND_ASSIGN(auto after, AilakeFileReader::Open(again));
    ASSERT_OK(after->Verify());
    ASSERT_OK_AND_ASSIGN(const VectorColumnInfo* na, after->vector_column("a"));
    ASSERT_OK_AND_ASSIGN(const VectorColumnInfo* nb, after->vector_column("b"));
    EXPECT_EQ(na->section.index_type, IndexType::kHnsw);
    EXPECT_EQ(na->section.kv_key, "ailake.footer_offset");  // still the primary column
    EXPECT_EQ(nb->section.index_type, IndexType::kFlat);
    ASSERT_EQ(nb->section.length, old_b.length);
    EXPECT_EQ(
        std::memcmp(again->data() + nb->section.offset, bytes->data() + old_b.offset, old_b.length),
        0);
    const uint64_t data_end = std::min(old_a.offset, old_b.offset);
    EXPECT_EQ(std::memcmp(again->data(), bytes->data(), data_end), 0);
    ASSERT_OK_AND_ASSIGN(auto t1, before->Read());
    ASSERT_OK_AND_ASSIGN(auto t2, after->Read());
    EXPECT_TRUE(Combined(t1)->Equals(*Combined(t2)));
  }
}

}  // namespace
}  // namespace ailake
