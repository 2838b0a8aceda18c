// The Lance file written by LanceFileWriter, parsed back with the format's
// own structure (footer, offset tables, column metadata, schema): layout
// rules the pylance oracle (tests/python/test_lance_file.py) does not show.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

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
  LanceWriteOptions v23;
  v23.version = "2.3";
  EXPECT_TRUE(LanceFileWriter::Open(sink, MakeTable(1)->schema(), v23).status().IsNotImplemented());
  auto w = LanceFileWriter::Open(sink, MakeTable(1)->schema()).ValueOrDie();
  auto other = arrow::schema({arrow::field("x", arrow::int32())});
  arrow::Int32Builder b;
  ASSERT_OK(b.Append(1));
  auto batch = arrow::RecordBatch::Make(other, 1, {b.Finish().ValueOrDie()});
  EXPECT_TRUE(w->Write(*batch).IsTypeError());
}

// Versions 2.1 and 2.2 written and read back through every page kind: plain
// and nullable columns, runs, small integers, strings few and many, long
// strings (zipped, FSST), vectors with null rows, lists with null and empty
// rows and null items, null structs holding lists; whole, ranges, takes.
// (pylance reads the same files in tests/python/test_lance_file.py.)
TEST(LanceWriter, Versions21And22RoundTripEveryPageKind) {
  const int64_t n = 5000;
  arrow::Int64Builder ids, runs;
  arrow::UInt16Builder small;
  arrow::StringBuilder cat, text;
  arrow::BooleanBuilder flags;
  auto item = std::make_shared<arrow::Int32Builder>();
  arrow::ListBuilder lists(arrow::default_memory_pool(), item);
  auto vi = std::make_shared<arrow::FloatBuilder>();
  arrow::FixedSizeListBuilder vecs(arrow::default_memory_pool(), vi, 80);
  auto sa = std::make_shared<arrow::Int64Builder>();
  auto sli = std::make_shared<arrow::StringBuilder>();
  auto sl = std::make_shared<arrow::ListBuilder>(arrow::default_memory_pool(), sli);
  arrow::StructBuilder st(arrow::struct_({arrow::field("a", arrow::int64()),
                                          arrow::field("b", arrow::list(arrow::utf8()))}),
                          arrow::default_memory_pool(), {sa, sl});
  const char* words[] = {"red", "green", "blue"};
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_OK(i % 7 == 0 ? ids.AppendNull() : ids.Append(i * 3));
    ASSERT_OK(runs.Append(i / 100));
    ASSERT_OK(small.Append(static_cast<uint16_t>(i % 300)));
    ASSERT_OK(i % 10 == 0 ? cat.AppendNull() : cat.Append(words[i % 3]));
    std::string t;
    for (int64_t k = 0; k < i % 40; ++k) t += "lorem ipsum " + std::to_string(k) + " ";
    ASSERT_OK(text.Append(t));
    ASSERT_OK(flags.Append(i % 3 == 0));
    if (i % 5 == 0) {
      ASSERT_OK(lists.AppendNull());
    } else {
      ASSERT_OK(lists.Append());
      for (int64_t k = 0; k < i % 4; ++k) {
        ASSERT_OK(k == 1 ? item->AppendNull() : item->Append(static_cast<int32_t>(i + k)));
      }
    }
    if (i % 11 == 0) {
      ASSERT_OK(vecs.AppendNull());
    } else {
      ASSERT_OK(vecs.Append());
      for (int k = 0; k < 80; ++k) ASSERT_OK(vi->Append(static_cast<float>(i + k)));
    }
    if (i % 6 == 0) {
      ASSERT_OK(st.AppendNull());
    } else {
      ASSERT_OK(st.Append());
      ASSERT_OK(i % 4 == 0 ? sa->AppendNull() : sa->Append(i));
      if (i % 9 == 0) {
        ASSERT_OK(sl->AppendNull());
      } else {
        ASSERT_OK(sl->Append());
        for (int64_t k = 0; k < i % 3; ++k) ASSERT_OK(sli->Append(std::to_string(i)));
      }
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> cols(10);
  ASSERT_OK(ids.Finish(&cols[0]));
  ASSERT_OK(runs.Finish(&cols[1]));
  ASSERT_OK(small.Finish(&cols[2]));
  ASSERT_OK(cat.Finish(&cols[3]));
  ASSERT_OK(text.Finish(&cols[4]));
  ASSERT_OK(flags.Finish(&cols[5]));
  ASSERT_OK(lists.Finish(&cols[6]));
  ASSERT_OK(vecs.Finish(&cols[7]));
  ASSERT_OK(st.Finish(&cols[8]));
  ASSERT_OK_AND_ASSIGN(cols[9], arrow::MakeArrayOfNull(arrow::float64(), n));
  arrow::FieldVector fields;
  const char* names[] = {"ids",   "runs",  "small", "cat", "text",
                         "flags", "lists", "vecs",  "st",  "nulls"};
  for (int c = 0; c < 10; ++c)
    fields.push_back(arrow::field(names[c], cols[static_cast<size_t>(c)]->type()));
  auto table = arrow::Table::Make(arrow::schema(fields), cols);
  for (const char* version : {"2.1", "2.2"}) {
    SCOPED_TRACE(version);
    LanceWriteOptions o;
    o.version = version;
    o.max_page_bytes = 64 << 10;  // several pages per column
    ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
    ASSERT_OK_AND_ASSIGN(auto w, LanceFileWriter::Open(sink, table->schema(), o));
    ASSERT_OK(w->Write(*table->Slice(0, 1234)));
    ASSERT_OK(w->Write(*table->Slice(1234)));
    ASSERT_OK(w->Finish());
    ASSERT_OK_AND_ASSIGN(auto file, sink->Finish());
    ASSERT_OK_AND_ASSIGN(auto r,
                         LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(file)));
    EXPECT_EQ(r->version(),
              (std::pair<uint16_t, uint16_t>{2, std::string(version) == "2.1" ? 1 : 2}));
    ASSERT_OK_AND_ASSIGN(auto all, r->Read());
    ASSERT_OK(all->ValidateFull());
    for (int c = 0; c < 10; ++c) {
      EXPECT_TRUE(all->column(c)->Equals(*table->column(c))) << names[c];
    }
    ASSERT_OK_AND_ASSIGN(auto part, r->Read({"lists", "st", "text"}, 1000, 2500));
    EXPECT_TRUE(part->column(0)->Equals(*table->column(6)->Slice(1000, 2500)));
    EXPECT_TRUE(part->column(1)->Equals(*table->column(8)->Slice(1000, 2500)));
    EXPECT_TRUE(part->column(2)->Equals(*table->column(4)->Slice(1000, 2500)));
    const std::vector<int64_t> rows = {4999, 0, 17, 1233, 1234, 2500, 2500, 77};
    ASSERT_OK_AND_ASSIGN(auto took, r->Take(rows));
    arrow::Int64Builder ib;
    ASSERT_OK(ib.AppendValues(rows));
    std::shared_ptr<arrow::Array> idx;
    ASSERT_OK(ib.Finish(&idx));
    for (int c = 0; c < 10; ++c) {
      ASSERT_OK_AND_ASSIGN(auto want, arrow::compute::Take(table->column(c), idx));
      EXPECT_TRUE(took->column(c)->Equals(*want.chunked_array())) << names[c];
    }
    // Every top-level field's first column: -1 for a struct (no column of its own).
    EXPECT_EQ(r->field_columns()[8], -1);
    int32_t row_bytes = 0;
    EXPECT_FALSE(r->FixedWidthPages("vecs", &row_bytes).ok());  // null rows: not flat
  }
}

}  // namespace
}  // namespace ailake

namespace ailake {
namespace {

// Writers on several threads share the encode pool (encode_pool.h): each
// file reads back equal to its table, and a writer dropped before Finish
// leaves nothing running behind it.
TEST(LanceWriter, WritersOnManyThreadsShareTheEncodePool) {
  auto table = MakeTable(20'000);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(6);
  threads.reserve(errors.size());
  for (size_t t = 0; t < errors.size(); ++t) {
    threads.emplace_back([&, t] {
      LanceWriteOptions o;
      o.version = t % 3 == 0 ? "2.0" : t % 3 == 1 ? "2.1" : "2.2";
      o.max_page_bytes = 2048;  // many small tasks
      o.max_pending_pages = 3;
      auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
      auto w = LanceFileWriter::Open(sink, table->schema(), o).ValueOrDie();
      auto s = w->Write(*table);
      if (t == 5) return;  // dropped unfinished
      if (s.ok()) s = w->Finish();
      if (!s.ok()) {
        errors[t] = s.ToString();
        return;
      }
      auto r = LanceFileReader::Open(
                   std::make_shared<arrow::io::BufferReader>(sink->Finish().ValueOrDie()))
                   .ValueOrDie();
      auto back = r->Read().ValueOrDie();
      if (!back->Equals(*table)) errors[t] = "file " + std::to_string(t) + " differs";
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
}

// A packed struct (field metadata packed=true) is one column of whole rows
// in every version, null rows included from 2.1 on.
TEST(LanceWriter, PackedStructIsOneColumn) {
  auto x = std::make_shared<arrow::Int32Builder>();
  auto y = std::make_shared<arrow::DoubleBuilder>();
  auto type =
      arrow::struct_({arrow::field("x", arrow::int32()), arrow::field("y", arrow::float64())});
  arrow::StructBuilder sb(type, arrow::default_memory_pool(), {x, y});
  arrow::Int64Builder ids;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_OK(ids.Append(i));
    ASSERT_OK(sb.Append());
    ASSERT_OK(x->Append(i));
    ASSERT_OK(y->Append(i * 0.25));
  }
  auto packed = arrow::field("p", type, true, arrow::key_value_metadata({"packed"}, {"true"}));
  auto schema = arrow::schema({arrow::field("id", arrow::int64()), packed});
  auto table = arrow::Table::Make(schema, {ids.Finish().ValueOrDie(), sb.Finish().ValueOrDie()});
  for (const char* version : {"2.0", "2.1", "2.2"}) {
    SCOPED_TRACE(version);
    LanceWriteOptions o;
    o.version = version;
    o.max_page_bytes = 8192;
    ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
    ASSERT_OK(WriteLanceFile(*table, sink, o));
    ASSERT_OK_AND_ASSIGN(auto bytes, sink->Finish());
    ASSERT_OK_AND_ASSIGN(auto r,
                         LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(bytes)));
    EXPECT_EQ(r->field_columns(), (std::vector<int32_t>{0, 1}));  // one column for the struct
    ASSERT_OK_AND_ASSIGN(auto all, r->Read());
    EXPECT_TRUE(all->Equals(*table));
    ASSERT_OK_AND_ASSIGN(auto took, r->Take(std::vector<int64_t>{2999, 7, 1500}));
    ASSERT_OK_AND_ASSIGN(auto want, table->column(1)->GetScalar(1500));
    ASSERT_OK_AND_ASSIGN(auto got, took->column(1)->GetScalar(2));
    EXPECT_TRUE(got->Equals(*want));
  }
}

}  // namespace
}  // namespace ailake

namespace ailake {
namespace {

// A process forked after the encode pool ran (the table tests' disk-full
// child does this) writes Lance files through a pool of its own; it used to
// hang signalling the parent's condition variable.
TEST(LanceWriter, AForkedChildWritesLanceFiles) {
  auto table = MakeTable(5'000);
  auto write = [&]() -> bool {
    LanceWriteOptions o;
    o.version = "2.2";
    o.max_page_bytes = 1024;  // many tasks
    auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
    return WriteLanceFile(*table, sink, o).ok();
  };
  // The parent's workers have run and wait on the pool's condition
  // variable when each child is forked.
  for (int round = 0; round < 8; ++round) {
    ASSERT_TRUE(write());
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      alarm(20);  // a hang fails the test instead of stalling it
      _exit(write() && write() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "child died with signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

}  // namespace
}  // namespace ailake
