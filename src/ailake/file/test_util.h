// Helpers for the file layer's tests: small batches with every kind of
// column, and embeddings from a seeded generator.
#pragma once

#include <arrow/api.h>
#include <arrow/io/memory.h>

#include <atomic>

#include <random>
#include <string>
#include <vector>

#define AILAKE_TEST_CAT2(a, b) a##b
#define AILAKE_TEST_CAT(a, b) AILAKE_TEST_CAT2(a, b)
#ifndef ASSERT_OK
#define ASSERT_OK(expr)                      \
  do {                                       \
    const ::arrow::Status _st = (expr);      \
    ASSERT_TRUE(_st.ok()) << _st.ToString(); \
  } while (0)
#endif
#ifndef ASSERT_OK_AND_ASSIGN
// `tmp` is a name being declared and `lhs` may be a declaration (`auto x`):
// neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define AILAKE_ASSIGN_IMPL(tmp, lhs, rexpr)         \
  auto tmp = (rexpr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).ValueUnsafe();
// NOLINTEND(bugprone-macro-parentheses)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  AILAKE_ASSIGN_IMPL(AILAKE_TEST_CAT(_result_, __LINE__), lhs, rexpr)
#endif

namespace ailake::file_test {

// id int64, text utf8 (some empty, some null), score double (nullable),
// tags list<utf8>, meta struct<a:int32, b:utf8>.
inline std::shared_ptr<arrow::RecordBatch> MakeBatch(int64_t rows, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  arrow::Int64Builder ids;
  arrow::StringBuilder text;
  arrow::DoubleBuilder score;
  auto tag_values = std::make_shared<arrow::StringBuilder>();
  arrow::ListBuilder tags(arrow::default_memory_pool(), tag_values);
  auto a = std::make_shared<arrow::Int32Builder>();
  auto b = std::make_shared<arrow::StringBuilder>();
  auto meta_type =
      arrow::struct_({arrow::field("a", arrow::int32()), arrow::field("b", arrow::utf8())});
  arrow::StructBuilder meta(meta_type, arrow::default_memory_pool(), {a, b});
  for (int64_t r = 0; r < rows; ++r) {
    (void)ids.Append(r);
    if (r % 7 == 3) {
      (void)text.AppendNull();
    } else if (r % 5 == 0) {
      (void)text.Append("");
    } else {
      (void)text.Append("row " + std::to_string(r) + std::string(rng() % 40, 'x'));
    }
    if (r % 3 == 0) {
      (void)score.AppendNull();
    } else {
      (void)score.Append(static_cast<double>(rng() % 1000) / 7.0);
    }
    (void)tags.Append();
    for (int64_t t = 0; t < r % 3; ++t) (void)tag_values->Append("t" + std::to_string(t));
    (void)meta.Append();
    (void)a->Append(static_cast<int32_t>(r * 3));
    (void)b->Append("m" + std::to_string(r % 11));
  }
  std::shared_ptr<arrow::Array> c0, c1, c2, c3, c4;
  (void)ids.Finish(&c0);
  (void)text.Finish(&c1);
  (void)score.Finish(&c2);
  (void)tags.Finish(&c3);
  (void)meta.Finish(&c4);
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64(), false), arrow::field("text", arrow::utf8()),
       arrow::field("score", arrow::float64()), arrow::field("tags", arrow::list(arrow::utf8())),
       arrow::field("meta", meta_type)});
  return arrow::RecordBatch::Make(schema, rows, {c0, c1, c2, c3, c4});
}

// rows x dim floats around 8 cluster centres.
inline std::vector<float> MakeVectors(int64_t rows, uint32_t dim, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<float> centres(8 * dim);
  for (float& c : centres) c = uni(rng);
  std::vector<float> v(static_cast<size_t>(rows) * dim);
  for (int64_t r = 0; r < rows; ++r) {
    for (uint32_t j = 0; j < dim; ++j) v[r * dim + j] = centres[(r % 8) * dim + j] + noise(rng);
  }
  return v;
}

}  // namespace ailake::file_test

namespace ailake::file_test {

// A RandomAccessFile over a buffer that counts the bytes read through it.
class CountingFile : public arrow::io::RandomAccessFile {
 public:
  explicit CountingFile(std::shared_ptr<arrow::Buffer> b)
      : inner_(std::make_shared<arrow::io::BufferReader>(std::move(b))) {}
  int64_t bytes_read() const { return bytes_; }
  void Reset() { bytes_ = 0; }
  arrow::Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
  arrow::Status Seek(int64_t p) override { return inner_->Seek(p); }
  arrow::Result<int64_t> GetSize() override { return inner_->GetSize(); }
  arrow::Result<int64_t> Read(int64_t n, void* out) override {
    auto r = inner_->Read(n, out);
    if (r.ok()) bytes_ += *r;
    return r;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t n) override {
    auto r = inner_->Read(n);
    if (r.ok()) bytes_ += (*r)->size();
    return r;
  }
  arrow::Result<int64_t> ReadAt(int64_t p, int64_t n, void* out) override {
    auto r = inner_->ReadAt(p, n, out);
    if (r.ok()) bytes_ += *r;
    return r;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t p, int64_t n) override {
    auto r = inner_->ReadAt(p, n);
    if (r.ok()) bytes_ += (*r)->size();
    return r;
  }

 private:
  std::shared_ptr<arrow::io::BufferReader> inner_;
  std::atomic<int64_t> bytes_{0};
};

}  // namespace ailake::file_test
