// Full-text index sections in AI-Lake files (docs/FORMAT.md 2.1, 3.6): added
// to Parquet and Lance files without touching the rest, kept when the vector
// sections are rebuilt, replaced by column, and found, bounded and verified
// by the reader; a bad key or blob is an error naming it.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "ailake/file.h"
#include "ailake/file/test_util.h"
#include "ailake/file/thrift_compact.h"
#include "ailake/index/text_index.h"
#include "ailake/text/analyzer.h"

namespace ailake {
namespace {

using ::testing::HasSubstr;

VectorStoragePolicy Policy(uint32_t dim) {
  VectorStoragePolicy p;
  p.vector_column = "emb";
  p.dim = dim;
  p.metric = DistanceMetric::kEuclidean;
  p.index_type = IndexType::kHnsw;
  return p;
}

// The text index of `column` over `file`'s rows, built from the file itself.
std::shared_ptr<arrow::Buffer> TextBlob(const AilakeFileReader& file, const std::string& column,
                                        const std::string& stemmer = "") {
  text::AnalyzerConfig config;
  config.stemmer_language = stemmer;
  index::TextIndexBuilder builder(text::Analyzer::Make(config).ValueOrDie());
  ReadRequest request;
  request.columns = {column};
  auto rows = file.Read(request).ValueOrDie();
  for (const auto& chunk : rows->column(0)->chunks()) {
    EXPECT_TRUE(index::AddTextRows(*chunk, &builder).ok());
  }
  return builder.Finish().ValueOrDie();
}

std::shared_ptr<arrow::Buffer> WithText(const std::shared_ptr<arrow::Buffer>& file,
                                        std::vector<TextSectionBytes> sections) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto st =
      AppendTextSections(std::make_shared<arrow::io::BufferReader>(file), sections, sink.get());
  EXPECT_TRUE(st.ok()) << st.ToString();
  return sink->Finish().ValueOrDie();
}

class TextSectionTest : public ::testing::TestWithParam<FileFormat> {
 protected:
  std::shared_ptr<arrow::Buffer> File(int64_t rows = 400) {
    FileWriteOptions o;
    o.format = GetParam();
    if (o.format == FileFormat::kLance) o.compression = "uncompressed";
    return AilakeFileWriter(Policy(8), o)
        .Write(*file_test::MakeBatch(rows), file_test::MakeVectors(rows, 8))
        .ValueOrDie();
  }
};

TEST_P(TextSectionTest, AddedKeptAndReplaced) {
  auto plain = File();
  auto plain_reader = AilakeFileReader::Open(plain).ValueOrDie();
  EXPECT_TRUE(plain_reader->text_sections().empty());
  const auto text = TextBlob(*plain_reader, "text");
  const auto tags = TextBlob(*plain_reader, "tags");
  auto both = WithText(plain, {{"text", text}, {"tags", tags}});
  auto r = AilakeFileReader::Open(both).ValueOrDie();
  ASSERT_EQ(r->text_sections().size(), 2u);
  EXPECT_TRUE(r->Verify().ok()) << r->Verify().ToString();
  // In place, byte for byte; rows, vector section and search as before.
  EXPECT_TRUE(r->ReadTextSection("text").ValueOrDie()->Equals(*text));
  EXPECT_TRUE(r->ReadTextSection("tags").ValueOrDie()->Equals(*tags));
  EXPECT_TRUE(r->ReadTextSection("score").status().IsKeyError());
  EXPECT_TRUE(r->Read().ValueOrDie()->Equals(*plain_reader->Read().ValueOrDie()));
  const auto q = file_test::MakeVectors(1, 8, 99);
  const auto got = r->Search(q, 10).ValueOrDie();
  const auto want = plain_reader->Search(q, 10).ValueOrDie();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].row, want[i].row);
  EXPECT_TRUE(r->vector_column("emb").ValueOrDie()->has_section);

  // Replacing one column's section keeps the other.
  const auto stemmed = TextBlob(*plain_reader, "text", "english");
  auto replaced = WithText(both, {{"text", stemmed}});
  auto r2 = AilakeFileReader::Open(replaced).ValueOrDie();
  ASSERT_EQ(r2->text_sections().size(), 2u);
  EXPECT_TRUE(r2->ReadTextSection("text").ValueOrDie()->Equals(*stemmed));
  EXPECT_TRUE(r2->ReadTextSection("tags").ValueOrDie()->Equals(*tags));
  EXPECT_TRUE(r2->Verify().ok()) << r2->Verify().ToString();

  // Re-indexing the vector column keeps the text sections.
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto p = Policy(8);
  p.index_type = IndexType::kFlat;
  ASSERT_TRUE(AppendIndexSections(std::make_shared<arrow::io::BufferReader>(replaced),
                                  std::vector<VectorStoragePolicy>{p}, sink.get(), {}, true)
                  .ok());
  auto r3 = AilakeFileReader::Open(sink->Finish().ValueOrDie()).ValueOrDie();
  EXPECT_EQ(r3->vector_column("emb").ValueOrDie()->section.index_type, IndexType::kFlat);
  ASSERT_EQ(r3->text_sections().size(), 2u);
  EXPECT_TRUE(r3->ReadTextSection("tags").ValueOrDie()->Equals(*tags));
  EXPECT_TRUE(r3->Verify().ok()) << r3->Verify().ToString();

  // Bad requests name what is wrong.
  auto bad = arrow::io::BufferOutputStream::Create().ValueOrDie();
  const std::vector<TextSectionBytes> nope = {{"nope", text}};
  EXPECT_THAT(AppendTextSections(std::make_shared<arrow::io::BufferReader>(plain), nope, bad.get())
                  .ToString(),
              HasSubstr("'nope'"));
  const std::vector<TextSectionBytes> twice = {{"text", text}, {"text", text}};
  EXPECT_THAT(AppendTextSections(std::make_shared<arrow::io::BufferReader>(plain), twice, bad.get())
                  .ToString(),
              HasSubstr("two text indexes"));
}

TEST_P(TextSectionTest, CorruptBlobsAreFoundByVerify) {
  auto plain = File();
  auto reader = AilakeFileReader::Open(plain).ValueOrDie();
  auto file = WithText(plain, {{"text", TextBlob(*reader, "text")}});
  auto r = AilakeFileReader::Open(file).ValueOrDie();
  const auto s = r->text_sections().at(0);
  std::string bytes = file->ToString();
  bytes[s.offset + s.length - 3] ^= 0x40;  // in the body: its checksum fails
  auto corrupt = AilakeFileReader::Open(arrow::Buffer::FromString(bytes));
  ASSERT_TRUE(corrupt.ok()) << corrupt.status().ToString();  // found, bounded; loaded later
  const auto problems = (*corrupt)->VerifyAll();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("text index of column 'text'"));
  EXPECT_FALSE(index::TextIndex::Load((*corrupt)->ReadTextSection("text").ValueOrDie()).ok());
}

INSTANTIATE_TEST_SUITE_P(Containers, TextSectionTest,
                         ::testing::Values(FileFormat::kParquet, FileFormat::kLance),
                         [](const auto& info) { return std::string(FileFormatName(info.param)); });

// Footer keys that point at no text index are refused on open, naming the key.
TEST(TextSectionKeys, BadKeysAreRefused) {
  const int64_t rows = 200;
  auto plain = AilakeFileWriter(Policy(8))
                   .Write(*file_test::MakeBatch(rows), file_test::MakeVectors(rows, 8))
                   .ValueOrDie();
  auto reader = AilakeFileReader::Open(plain).ValueOrDie();
  auto file = WithText(plain, {{"text", TextBlob(*reader, "text")}});
  auto open_error = [](const std::shared_ptr<arrow::Buffer>& f) {
    auto r = AilakeFileReader::Open(f);
    return r.ok() ? std::string() : r.status().ToString();
  };
  uint32_t flen;
  std::memcpy(&flen, file->data() + file->size() - 8, 4);
  const int64_t start = file->size() - 8 - flen;
  const auto kvs = file_internal::ReadFooterKeyValues({file->data() + start, flen}).ValueOrDie();
  auto with = [&](const std::string& key, const std::string& value) {
    file_internal::KeyValues changed = kvs;
    for (auto& kv : changed) {
      if (kv.first == TextSectionKey("text")) kv.first = key, kv.second = value;
    }
    auto footer =
        file_internal::RewriteFooterKeyValues({file->data() + start, flen}, changed).ValueOrDie();
    std::string out(reinterpret_cast<const char*>(file->data()), start);
    out += footer;
    const auto len = static_cast<uint32_t>(footer.size());
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += "PAR1";
    return arrow::Buffer::FromString(std::move(out));
  };
  const std::string at = [&] {
    for (const auto& kv : kvs) {
      if (kv.first == TextSectionKey("text")) return kv.second;
    }
    return std::string();
  }();
  ASSERT_FALSE(at.empty());
  EXPECT_EQ(open_error(with(TextSectionKey("text"), at)), "");
  EXPECT_THAT(open_error(with(TextSectionKey("nope"), at)), HasSubstr("'nope'"));
  EXPECT_THAT(open_error(with(TextSectionKey("text"), "12x")), HasSubstr("text_offset"));
  EXPECT_THAT(open_error(with(TextSectionKey("text"), std::to_string(std::stoull(at) + 64))),
              HasSubstr("no AITX header"));
  EXPECT_THAT(open_error(with(TextSectionKey("text"), "4")), HasSubstr("between the end"));
  // Pointing at the vector section: no AITX magic there.
  const std::string ailk = [&] {
    for (const auto& kv : kvs) {
      if (kv.first == kFooterOffsetKey) return kv.second;
    }
    return std::string();
  }();
  EXPECT_THAT(open_error(with(TextSectionKey("text"), ailk)), HasSubstr("no AITX header"));
}

}  // namespace
}  // namespace ailake
