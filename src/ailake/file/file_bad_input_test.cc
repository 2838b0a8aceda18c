// Bad input to the writer and the reader: each gives an error that names the
// problem, never a crash.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "ailake/core/checksum.h"
#include "ailake/file.h"
#include "ailake/file/test_util.h"
#include "ailake/file/thrift_compact.h"

namespace ailake {
namespace {

using ::testing::HasSubstr;

VectorStoragePolicy Policy(uint32_t dim, std::string name = "emb") {
  VectorStoragePolicy p;
  p.vector_column = std::move(name);
  p.dim = dim;
  p.metric = DistanceMetric::kEuclidean;
  p.index_type = IndexType::kFlat;
  return p;
}

std::shared_ptr<arrow::Buffer> GoodFile(int64_t rows = 300, uint32_t dim = 8) {
  auto batch = file_test::MakeBatch(rows);
  auto v = file_test::MakeVectors(rows, dim);
  auto p2 = Policy(4, "emb2");
  auto v2 = file_test::MakeVectors(rows, 4, 3);
  const VectorColumnBatch cols[] = {{Policy(dim), v}, {p2, v2}};
  return AilakeFileWriter(Policy(dim)).WriteMulti(*batch, cols).ValueOrDie();
}

std::string OpenError(std::shared_ptr<arrow::Buffer> b) {
  auto r = AilakeFileReader::Open(std::move(b));
  if (r.ok()) {
    auto v = (*r)->Verify();
    return v.ok() ? "" : v.ToString();
  }
  return r.status().ToString();
}

// The file with its footer's key/value metadata replaced.
std::shared_ptr<arrow::Buffer> WithKeys(const std::shared_ptr<arrow::Buffer>& f,
                                        const file_internal::KeyValues& kvs) {
  uint32_t flen;
  std::memcpy(&flen, f->data() + f->size() - 8, 4);
  const int64_t start = f->size() - 8 - flen;
  auto footer = file_internal::RewriteFooterKeyValues({f->data() + start, flen}, kvs).ValueOrDie();
  std::string out(reinterpret_cast<const char*>(f->data()), start);
  out += footer;
  const uint32_t len = static_cast<uint32_t>(footer.size());
  out.append(reinterpret_cast<const char*>(&len), 4);
  out += "PAR1";
  return arrow::Buffer::FromString(std::move(out));
}

file_internal::KeyValues Keys(const std::shared_ptr<arrow::Buffer>& f) {
  uint32_t flen;
  std::memcpy(&flen, f->data() + f->size() - 8, 4);
  return file_internal::ReadFooterKeyValues({f->data() + f->size() - 8 - flen, flen}).ValueOrDie();
}

std::string& Value(file_internal::KeyValues& kvs, const std::string& key) {
  for (auto& kv : kvs) {
    if (kv.first == key) return kv.second;
  }
  static std::string none;
  ADD_FAILURE() << "no key " << key;
  return none;
}

TEST(FileBadInput, WriterRejectsBadBatches) {
  auto batch = file_test::MakeBatch(10);
  auto v = file_test::MakeVectors(10, 8);
  AilakeFileWriter w(Policy(8));
  auto empty = file_test::MakeBatch(0);
  EXPECT_THAT(w.Write(*empty, {}).status().ToString(), HasSubstr("empty batch"));
  EXPECT_THAT(w.Write(*batch, std::span<const float>(v).first(72)).status().ToString(),
              HasSubstr("9 embeddings for 10 rows"));
  EXPECT_THAT(w.Write(*batch, std::span<const float>(v).first(75)).status().ToString(),
              HasSubstr("is not rows (10) x dim (8)"));
  auto nan = v;
  nan[3 * 8 + 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(w.Write(*batch, nan).status().ToString(), HasSubstr("row 3 has NaN at dimension 2"));
  auto inf = v;
  inf[9 * 8 + 7] = std::numeric_limits<float>::infinity();
  EXPECT_THAT(w.WriteParquetOnly(*batch, inf).status().ToString(), HasSubstr("row 9 has Inf"));
  EXPECT_THAT(w.Write(*batch, {}).status().ToString(), HasSubstr("no column 'emb'"));
  // A list column of the wrong size.
  auto values = std::make_shared<arrow::FloatArray>(10 * 4, arrow::Buffer::Wrap(v.data(), 40));
  auto list = std::make_shared<arrow::FixedSizeListArray>(
      arrow::fixed_size_list(arrow::float32(), 4), 10, values);
  auto with_list = batch->AddColumn(0, "emb", list).ValueOrDie();
  EXPECT_THAT(w.Write(*with_list, {}).status().ToString(),
              HasSubstr("list size 4 does not match the policy's dim 8"));
  EXPECT_THAT(w.Write(*with_list, v).status().ToString(), HasSubstr("already has a column"));
  auto bad_policy = Policy(0);
  EXPECT_THAT(AilakeFileWriter(bad_policy).Write(*batch, v).status().ToString(), HasSubstr("dim"));
}

TEST(FileBadInput, TruncatedFilesAndWrongMagic) {
  auto f = GoodFile();
  for (int64_t cut :
       {int64_t{0}, int64_t{3}, int64_t{11}, f->size() / 2, f->size() - 1, f->size() - 9}) {
    SCOPED_TRACE(cut);
    const auto err = OpenError(arrow::SliceBuffer(f, 0, cut));
    EXPECT_FALSE(err.empty());
  }
  EXPECT_THAT(OpenError(arrow::SliceBuffer(f, 0, 11)), HasSubstr("too short"));
  EXPECT_THAT(OpenError(arrow::SliceBuffer(f, 0, f->size() - 1)), HasSubstr("wrong magic"));
  std::string s = f->ToString();
  s[1] = 'X';
  EXPECT_THAT(OpenError(arrow::Buffer::FromString(s)), HasSubstr("wrong magic at offset 0"));
  // A footer length pointing before the file.
  s = f->ToString();
  const uint32_t huge = static_cast<uint32_t>(s.size());
  std::memcpy(s.data() + s.size() - 8, &huge, 4);
  EXPECT_THAT(OpenError(arrow::Buffer::FromString(s)), HasSubstr("footer length"));
}

TEST(FileBadInput, SectionOffsetsPastTheEndOverlappingOrMisplaced) {
  auto f = GoodFile();
  ASSERT_EQ(OpenError(f), "");
  auto kvs = Keys(f);
  Value(kvs, "ailake.footer_offset") = std::to_string(f->size() + 100);
  EXPECT_THAT(OpenError(WithKeys(f, kvs)),
              HasSubstr("must start between the end of the Parquet data"));
  kvs = Keys(f);
  Value(kvs, "ailake.footer_offset") = "12abc";
  EXPECT_THAT(OpenError(WithKeys(f, kvs)), HasSubstr("is not a decimal file offset"));
  kvs = Keys(f);
  Value(kvs, "ailake.footer_offset") = "4";  // inside the row groups
  EXPECT_THAT(OpenError(WithKeys(f, kvs)), HasSubstr("must start between"));
  kvs = Keys(f);
  Value(kvs, "ailake.emb2.footer_offset") = Value(kvs, "ailake.footer_offset");
  EXPECT_THAT(OpenError(WithKeys(f, kvs)), HasSubstr("overlap"));
  kvs = Keys(f);
  Value(kvs, "ailake.emb2.footer_offset") =
      std::to_string(std::stoll(Value(kvs, "ailake.emb2.footer_offset")) + 8);
  EXPECT_THAT(OpenError(WithKeys(f, kvs)), HasSubstr("wrong magic"));
}

// Section bytes [s, s + len) with the header and body checksums recomputed
// (docs/FORMAT.md 2.3): what a buggy or hostile writer leaves, so that the
// checks behind the checksums are exercised too.
void Reseal(std::string* b, int64_t s) {
  uint64_t index_offset;
  std::memcpy(&index_offset, b->data() + s + 72, 8);
  const auto* p = reinterpret_cast<const uint8_t*>(b->data() + s);
  if (index_offset >= 128 && index_offset < (uint64_t{1} << 32)) {
    const uint64_t body = core::Checksum64(p + 128, index_offset - 128);
    std::memcpy(b->data() + s + 96, &body, 8);
  }
  const uint64_t header = core::Checksum64(p, 112);
  std::memcpy(b->data() + s + 112, &header, 8);
}

TEST(FileBadInput, CorruptSectionHeaders) {
  auto f = GoodFile();
  auto kvs = Keys(f);
  const int64_t s = std::stoll(Value(kvs, "ailake.footer_offset"));
  auto patch = [&](int64_t at, const void* bytes, size_t n) {
    std::string b = f->ToString();
    std::memcpy(b.data() + s + at, bytes, n);
    Reseal(&b, s);
    return OpenError(arrow::Buffer::FromString(std::move(b)));
  };
  const uint16_t v9 = 9;
  EXPECT_THAT(patch(4, &v9, 2), HasSubstr("format_version 9 is not supported"));
  const uint16_t v1 = 1;
  EXPECT_THAT(patch(4, &v1, 2), HasSubstr("(format_version 1) at file offset"));
  const uint32_t dim7 = 7;
  EXPECT_THAT(patch(24, &dim7, 4), HasSubstr("does not match dim 7"));
  const uint64_t rows = 299;
  EXPECT_THAT(patch(16, &rows, 8), HasSubstr("disagrees with the header"));
  const uint64_t huge = uint64_t{1} << 40;
  EXPECT_THAT(patch(8, &huge, 8), HasSubstr("runs past the Parquet footer"));
  EXPECT_THAT(patch(80, &huge, 8), HasSubstr("index blob"));
  const uint8_t metric = 9;
  EXPECT_THAT(patch(28, &metric, 1), HasSubstr("unknown distance metric code 9"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  uint64_t centroid;
  std::memcpy(&centroid, f->data() + s + 56, 8);
  EXPECT_THAT(patch(static_cast<int64_t>(centroid), &nan, 4), HasSubstr("centroid is not finite"));
  const uint8_t kind = 7;
  EXPECT_THAT(patch(88, &kind, 1), HasSubstr("unknown checksum kind 7"));
}

// Issue #10 finding 5: one flipped bit in a centroid made pruned search skip
// the file. Every flipped bit of a section's header and body is an error on
// open naming the section, every flipped bit of its index blob an error when
// the index is loaded.
TEST(FileBadInput, EveryFlippedBitOfASectionIsAnError) {
  auto f = GoodFile();
  auto kvs = Keys(f);
  const int64_t s = std::stoll(Value(kvs, "ailake.footer_offset"));
  uint64_t index_offset, index_bytes;
  std::memcpy(&index_offset, f->data() + s + 72, 8);
  std::memcpy(&index_bytes, f->data() + s + 80, 8);
  ASSERT_GT(index_bytes, 0u);
  const auto end = static_cast<int64_t>(index_offset + index_bytes);
  for (int64_t at = 0; at < end; ++at) {
    std::string b = f->ToString();
    b[s + at] = static_cast<char>(b[s + at] ^ (1 << (at % 8)));
    auto r = AilakeFileReader::Open(arrow::Buffer::FromString(std::move(b)));
    if (static_cast<uint64_t>(at) < index_offset) {
      ASSERT_FALSE(r.ok()) << "section byte " << at << " flipped was accepted on open";
      EXPECT_THAT(r.status().ToString(), HasSubstr("AILK section"));
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto index = (*r)->LoadIndex("emb");
    ASSERT_FALSE(index.ok()) << "index blob byte " << at - index_offset << " flipped was accepted";
    EXPECT_THAT(index.status().ToString(), HasSubstr("index blob checksum mismatch"));
    std::vector<float> q(8, 0.5f);
    EXPECT_FALSE((*r)->Search(q, 3, {}, nullptr, "emb").ok());
  }
}

// A centroid that is not the vectors' (resealed, so no checksum catches it):
// pruned search would skip rows; VerifyAll recomputes it and says so, along
// with every other problem of the file.
TEST(FileBadInput, VerifyRecomputesCentroidsAndReportsEveryProblem) {
  auto f = GoodFile();
  auto kvs = Keys(f);
  const int64_t s = std::stoll(Value(kvs, "ailake.footer_offset"));
  const int64_t s2 = std::stoll(Value(kvs, "ailake.emb2.footer_offset"));
  std::string b = f->ToString();
  for (int64_t sec : {s, s2}) {
    uint64_t centroid;
    std::memcpy(&centroid, b.data() + sec + 56, 8);
    float c0;
    std::memcpy(&c0, b.data() + sec + centroid, 4);
    c0 += 1.0f;
    std::memcpy(b.data() + sec + centroid, &c0, 4);
    Reseal(&b, sec);
  }
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(arrow::Buffer::FromString(std::move(b))));
  const auto problems = r->VerifyAll();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0], HasSubstr("vector column 'emb': recorded centroid/radius"));
  EXPECT_THAT(problems[1], HasSubstr("vector column 'emb2': recorded centroid/radius"));
  EXPECT_FALSE(r->Verify().ok());
  ASSERT_OK_AND_ASSIGN(auto good, AilakeFileReader::Open(f));
  EXPECT_TRUE(good->VerifyAll().empty());
}

// Sections written before checksums (kind 0, checksum fields zero) still
// read; clearing only the kind of a checksummed section is an error.
TEST(FileBadInput, SectionsWithoutChecksumsStillRead) {
  auto f = GoodFile();
  auto kvs = Keys(f);
  const int64_t s = std::stoll(Value(kvs, "ailake.footer_offset"));
  std::string legacy = f->ToString();
  std::memset(legacy.data() + s + 88, 0, 40);
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(arrow::Buffer::FromString(legacy)));
  EXPECT_FALSE(r->vector_columns()[0].section.has_checksums);
  ASSERT_OK(r->Verify());
  std::vector<float> q(8, 0.5f);
  ASSERT_OK_AND_ASSIGN(auto hits, r->Search(q, 3, {}, nullptr, "emb"));
  EXPECT_EQ(hits.size(), 3u);
  std::string cleared = f->ToString();
  cleared[s + 88] = 0;
  EXPECT_THAT(OpenError(arrow::Buffer::FromString(cleared)), HasSubstr("reserved header byte"));
}

TEST(FileBadInput, FieldMetadataDisagreeingWithTheColumn) {
  // A plain Parquet file whose FLBA column claims a dim its width cannot hold.
  arrow::FixedSizeBinaryBuilder b(arrow::fixed_size_binary(32));
  std::string row(32, '\0');
  ASSERT_OK(b.Append(row));
  std::shared_ptr<arrow::Array> a;
  ASSERT_OK(b.Finish(&a));
  auto md = arrow::key_value_metadata({"ailake.dim", "ailake.metric", "ailake.precision"},
                                      {"7", "euclidean", "f32"});
  auto schema = arrow::schema({arrow::field("emb", a->type(), false, md)});
  auto table = arrow::Table::Make(schema, {a});
  ASSERT_OK_AND_ASSIGN(auto out, arrow::io::BufferOutputStream::Create());
  ASSERT_OK(parquet::arrow::WriteTable(
      *table, arrow::default_memory_pool(), out, 10, parquet::default_writer_properties(),
      parquet::ArrowWriterProperties::Builder().store_schema()->build()));
  ASSERT_OK_AND_ASSIGN(auto file, out->Finish());
  EXPECT_THAT(OpenError(file), HasSubstr("needs fixed_size_binary[28]"));
}

TEST(FileBadInput, SearchArguments) {
  auto f = GoodFile();
  ASSERT_OK_AND_ASSIGN(auto r, AilakeFileReader::Open(f));
  std::vector<float> q(5, 0.0f);
  EXPECT_THAT(r->Search(q, 3).status().ToString(), HasSubstr("query has 5 dimensions"));
  EXPECT_THAT(r->ReadCentroid("nope").status().ToString(), HasSubstr("no vector column named"));
}

}  // namespace
}  // namespace ailake
