// The Avro container framed by AvroContainerWriter, read back by Avro C's own
// file reader (an implementation we did not write); the header keeps the
// schema text verbatim (Iceberg's field-id attributes included).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ailake/table/avro_container.h"
#include "ailake/table/table_test_util.h"

namespace ailake::table {
namespace {

const char* kSchema = R"({"type":"record","name":"r","fields":[
{"name":"path","type":"string","field-id":100},
{"name":"rows","type":"long","field-id":103},
{"name":"snapshot","type":["null","long"],"field-id":1},
{"name":"kind","type":"int","field-id":134}]})";

TEST(AvroContainerTest, AvroCReadsWhatWeFrameAndTheSchemaKeepsFieldIds) {
  auto w = AvroContainerWriter::Make(kSchema, {{"format-version", "2"}}).ValueOrDie();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(w->Append([&](avro_value_t* rec) {
                   ARROW_RETURN_NOT_OK(SetString(rec, "path", "data/f" + std::to_string(i)));
                   ARROW_RETURN_NOT_OK(SetLong(rec, "rows", int64_t{1} << (i % 40)));
                   ARROW_RETURN_NOT_OK(SetOptionalLong(rec, "snapshot", -i));
                   return SetInt(rec, "kind", i % 3);
                 }).ok());
  }
  const std::string bytes = w->Finish();
  EXPECT_NE(bytes.find(R"("field-id":103)"), std::string::npos);
  EXPECT_NE(bytes.find("format-version"), std::string::npos);
  const std::string path = testing_util::TempTableDir("avro") + ".avro";
  std::ofstream(path, std::ios::binary) << bytes;

  avro_file_reader_t reader;
  ASSERT_EQ(avro_file_reader(path.c_str(), &reader), 0) << avro_strerror();
  avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t rec;
  ASSERT_EQ(avro_generic_value_new(iface, &rec), 0);
  int n = 0;
  while (avro_file_reader_read_value(reader, &rec) == 0) {
    avro_value_t f, branch;
    const char* s = nullptr;
    size_t len = 0;
    int64_t v = 0;
    int32_t k = 0;
    int disc = 0;
    ASSERT_EQ(avro_value_get_by_name(&rec, "path", &f, nullptr), 0);
    ASSERT_EQ(avro_value_get_string(&f, &s, &len), 0);
    EXPECT_EQ(std::string(s), "data/f" + std::to_string(n));
    ASSERT_EQ(avro_value_get_by_name(&rec, "rows", &f, nullptr), 0);
    ASSERT_EQ(avro_value_get_long(&f, &v), 0);
    EXPECT_EQ(v, int64_t{1} << (n % 40));
    ASSERT_EQ(avro_value_get_by_name(&rec, "snapshot", &f, nullptr), 0);
    ASSERT_EQ(avro_value_get_discriminant(&f, &disc), 0);
    EXPECT_EQ(disc, 1);
    ASSERT_EQ(avro_value_get_current_branch(&f, &branch), 0);
    ASSERT_EQ(avro_value_get_long(&branch, &v), 0);
    EXPECT_EQ(v, -n);
    ASSERT_EQ(avro_value_get_by_name(&rec, "kind", &f, nullptr), 0);
    ASSERT_EQ(avro_value_get_int(&f, &k), 0);
    EXPECT_EQ(k, n % 3);
    avro_value_reset(&rec);
    ++n;
  }
  EXPECT_EQ(n, 300);
  avro_value_decref(&rec);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  avro_file_reader_close(reader);
  std::remove(path.c_str());
}

TEST(AvroContainerTest, ABadSchemaOrFieldIsAClearError) {
  EXPECT_FALSE(AvroContainerWriter::Make("{not json").ok());
  auto w = AvroContainerWriter::Make(kSchema).ValueOrDie();
  auto st = w->Append([](avro_value_t* rec) { return SetLong(rec, "no_such_field", 1); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no_such_field"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace ailake::table

namespace ailake::table {
namespace {

// Schemas whose values can take no bytes let a corrupted count loop without
// reading input: the reader refuses them before decoding.
TEST(AvroContainerTest, ReaderRefusesSchemasOfZeroByteRepetition) {
  for (
      const char* schema :
      {R"({"type":"record","name":"z","fields":[{"name":"n","type":"null"}]})",
       R"({"type":"record","name":"a","fields":[{"name":"xs","type":{"type":"array","items":"null"}}]})",
       R"({"type":"record","name":"b","fields":[{"name":"k","type":"long"},
            {"name":"xs","type":{"type":"array","items":{"type":"record","name":"e","fields":[]}}}]})"}) {
    auto w = AvroContainerWriter::Make(schema).ValueOrDie();
    auto r = AvroContainerReader::Open(arrow::Buffer::FromString(w->Finish()), "zero.avro");
    ASSERT_FALSE(r.ok()) << schema;
    EXPECT_NE(r.status().message().find("take no bytes"), std::string::npos) << r.status();
  }
  // A record of real fields reads back through the reader and its getters.
  const char* ok = R"({"type":"record","name":"r","fields":[{"name":"p","type":"string"},
      {"name":"n","type":["null","long"]}]})";
  auto w = AvroContainerWriter::Make(ok).ValueOrDie();
  ASSERT_TRUE(w->Append([](avro_value_t* rec) {
                 ARROW_RETURN_NOT_OK(SetString(rec, "p", "x"));
                 return SetOptionalLong(rec, "n", 7);
               }).ok());
  ASSERT_TRUE(w->Append([](avro_value_t* rec) {
                 ARROW_RETURN_NOT_OK(SetString(rec, "p", "y"));
                 return SetNull(rec, "n");
               }).ok());
  auto r =
      AvroContainerReader::Open(arrow::Buffer::FromString(w->Finish()), "ok.avro").ValueOrDie();
  auto first = r->Next().ValueOrDie();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(GetString(first, "p").ValueOrDie(), "x");
  EXPECT_EQ(GetLong(first, "n").ValueOrDie(), 7);
  auto second = r->Next().ValueOrDie();
  ASSERT_NE(second, nullptr);
  EXPECT_FALSE(GetOptionalLong(second, "n").ValueOrDie().has_value());
  EXPECT_FALSE(GetLong(second, "n").ok());
  EXPECT_FALSE(GetInt(second, "p").ok());
  EXPECT_EQ(r->Next().ValueOrDie(), nullptr);
}

}  // namespace
}  // namespace ailake::table
