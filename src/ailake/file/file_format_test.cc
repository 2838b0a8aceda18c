// The bytes of a written file against docs/FORMAT.md section 2: every offset
// and size is recomputed here from the raw file, and Parquet C++'s own reader
// (not ours) says what the Parquet structures are.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/page_index.h>

#include <cstring>

#include "ailake/file.h"
#include "ailake/file/test_util.h"

namespace ailake {
namespace {

template <typename T>
T At(const arrow::Buffer& b, int64_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

TEST(FileFormat, SectionsSitBetweenPageIndexAndFooterAtTheSpecOffsets) {
  const int64_t rows = 1000;
  const uint32_t dim = 16;
  auto batch = file_test::MakeBatch(rows);
  auto v1 = file_test::MakeVectors(rows, dim, 1);
  auto v2 = file_test::MakeVectors(rows, 8, 2);
  VectorStoragePolicy p1;
  p1.vector_column = "emb";
  p1.dim = dim;
  p1.metric = DistanceMetric::kEuclidean;
  p1.index_type = IndexType::kFlat;
  VectorStoragePolicy p2 = p1;
  p2.vector_column = "emb2";
  p2.dim = 8;
  p2.precision = Precision::kF16;
  p2.metric = DistanceMetric::kCosine;
  const VectorColumnBatch cols[] = {{p1, v1}, {p2, v2}};
  FileWriteOptions o;
  o.max_row_group_rows = 300;
  AilakeFileWriter w(p1, o);
  ASSERT_OK_AND_ASSIGN(auto file, w.WriteMulti(*batch, cols));
  const int64_t size = file->size();

  // Parquet framing.
  ASSERT_EQ(std::memcmp(file->data(), "PAR1", 4), 0);
  ASSERT_EQ(std::memcmp(file->data() + size - 4, "PAR1", 4), 0);
  const int64_t footer_start = size - 8 - At<uint32_t>(*file, size - 8);

  auto pq = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(file));
  auto md = pq->metadata();
  ASSERT_EQ(md->num_rows(), rows);
  // The page index and the chunks end before the first section.
  int64_t data_end = 0;
  for (int rg = 0; rg < md->num_row_groups(); ++rg) {
    for (int c = 0; c < md->num_columns(); ++c) {
      auto cc = md->RowGroup(rg)->ColumnChunk(c);
      data_end = std::max(data_end, cc->data_page_offset() + cc->total_compressed_size());
      auto oi = cc->GetOffsetIndexLocation();
      ASSERT_TRUE(oi.has_value()) << "page index missing for column " << c;
      data_end = std::max(data_end, oi->offset + oi->length);
    }
  }
  auto kv = md->key_value_metadata();
  ASSERT_NE(kv, nullptr);
  ASSERT_OK_AND_ASSIGN(auto s1_str, kv->Get("ailake.footer_offset"));
  ASSERT_OK_AND_ASSIGN(auto s2_str, kv->Get("ailake.emb2.footer_offset"));
  const int64_t s1 = std::stoll(s1_str), s2 = std::stoll(s2_str);
  EXPECT_GE(s1, data_end);
  EXPECT_LT(s1 - data_end, 64) << "first section starts at the next 64-byte boundary";
  EXPECT_EQ(s1 % 64, 0);
  EXPECT_EQ(s2 % 64, 0);

  for (const auto& [start, name, d, prec, row_bytes] :
       {std::tuple{s1, std::string("emb"), dim, 0, dim * 4},
        std::tuple{s2, std::string("emb2"), 8u, 1, 8u * 2}}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(std::memcmp(file->data() + start, "AILK", 4), 0);
    EXPECT_EQ(At<uint16_t>(*file, start + 4), 2);    // format_version
    EXPECT_EQ(At<uint16_t>(*file, start + 6), 128);  // header_bytes
    const uint64_t len = At<uint64_t>(*file, start + 8);
    EXPECT_EQ(At<uint64_t>(*file, start + 16), static_cast<uint64_t>(rows));
    EXPECT_EQ(At<uint32_t>(*file, start + 24), d);
    EXPECT_EQ(At<uint8_t>(*file, start + 29), prec);
    EXPECT_EQ(At<uint8_t>(*file, start + 30), static_cast<uint8_t>(IndexType::kFlat));
    EXPECT_EQ(At<uint32_t>(*file, start + 44), name.size());
    EXPECT_EQ(At<uint64_t>(*file, start + 48), 128u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(file->data() + start + 128), name.size()),
              name);
    const uint64_t centroid = At<uint64_t>(*file, start + 56);
    EXPECT_EQ(centroid, (128 + name.size() + 7) / 8 * 8);
    EXPECT_EQ(At<uint64_t>(*file, start + 64), 4ull * d + 4);
    const uint64_t index_off = At<uint64_t>(*file, start + 72);
    const uint64_t index_bytes = At<uint64_t>(*file, start + 80);
    EXPECT_EQ(index_off, (centroid + 4ull * d + 4 + 63) / 64 * 64);
    EXPECT_GT(index_bytes, 0u);
    const uint64_t trailer = len - 24;
    EXPECT_EQ(trailer, (index_off + index_bytes + 7) / 8 * 8);
    EXPECT_EQ(At<uint64_t>(*file, start + trailer), len);
    EXPECT_EQ(At<uint64_t>(*file, start + trailer + 8), static_cast<uint64_t>(rows));
    EXPECT_EQ(At<uint32_t>(*file, start + trailer + 16), 2u);
    EXPECT_EQ(std::memcmp(file->data() + start + trailer + 20, "AILK", 4), 0);
    EXPECT_LE(static_cast<int64_t>(start + len), footer_start);
    (void)row_bytes;
  }
  // Sections follow each other; the footer follows the last one.
  const uint64_t len1 = At<uint64_t>(*file, s1 + 8);
  EXPECT_EQ(s2, static_cast<int64_t>((s1 + len1 + 63) / 64 * 64));
  EXPECT_EQ(footer_start, static_cast<int64_t>(s2 + At<uint64_t>(*file, s2 + 8)));

  // The vector columns: FIXED_LEN_BYTE_ARRAY, PLAIN, uncompressed, no
  // dictionary, no statistics; every page but the last holds the same rows.
  for (auto [leaf, width] : {std::pair{6, dim * 4}, std::pair{7, 8u * 2}}) {
    const auto* col = md->schema()->Column(leaf);
    EXPECT_EQ(col->physical_type(), parquet::Type::FIXED_LEN_BYTE_ARRAY);
    EXPECT_EQ(col->type_length(), static_cast<int>(width));
    EXPECT_EQ(col->max_definition_level(), 0);
    std::vector<int64_t> page_rows;
    for (int rg = 0; rg < md->num_row_groups(); ++rg) {
      auto cc = md->RowGroup(rg)->ColumnChunk(leaf);
      EXPECT_EQ(cc->compression(), arrow::Compression::UNCOMPRESSED);
      EXPECT_FALSE(cc->has_dictionary_page());
      EXPECT_FALSE(cc->is_stats_set());
      for (auto e : cc->encodings()) {
        EXPECT_TRUE(e == parquet::Encoding::PLAIN || e == parquet::Encoding::RLE) << e;
      }
      auto oi = pq->GetPageIndexReader()->RowGroup(rg)->GetOffsetIndex(leaf);
      const auto& pages = oi->page_locations();
      for (size_t p = 0; p < pages.size(); ++p) {
        const int64_t end =
            p + 1 < pages.size() ? pages[p + 1].first_row_index : md->RowGroup(rg)->num_rows();
        page_rows.push_back(end - pages[p].first_row_index);
      }
    }
    for (size_t p = 0; p + 1 < page_rows.size(); ++p) EXPECT_EQ(page_rows[p], page_rows[0]) << p;
  }
  // Field metadata names dim, metric and precision.
  ASSERT_OK_AND_ASSIGN(auto reader, AilakeFileReader::Open(file));
  auto f = reader->schema()->GetFieldByName("emb2");
  ASSERT_NE(f->metadata(), nullptr);
  EXPECT_EQ(f->metadata()->Get("ailake.dim").ValueOrDie(), "8");
  EXPECT_EQ(f->metadata()->Get("ailake.metric").ValueOrDie(), "cosine");
  EXPECT_EQ(f->metadata()->Get("ailake.precision").ValueOrDie(), "f16");
}

}  // namespace
}  // namespace ailake
