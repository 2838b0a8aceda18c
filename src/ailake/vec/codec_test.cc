#include "ailake/vec/codec.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "ailake/vec/kernels.h"

namespace ailake::vec {
namespace {

std::vector<float> Random(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

TEST(CodecTest, F16RoundTripWithinHalfUlp) {
  const uint32_t dim = 100;
  const auto v = Random(3 * dim, 10.0f, 1);
  std::vector<uint8_t> bytes(3 * dim * 2);
  ASSERT_TRUE(EncodeRows(Precision::kF16, dim, {}, v.data(), 3, bytes.data()).ok());
  std::vector<float> back(dim);
  for (uint32_t r = 0; r < 3; ++r) {
    DecodeRow(Precision::kF16, dim, {}, bytes.data() + r * dim * 2, back.data());
    for (uint32_t i = 0; i < dim; ++i) {
      const float x = v[r * dim + i];
      EXPECT_LE(std::fabs(back[i] - x), std::ldexp(std::fabs(x), -11) + std::ldexp(1.0f, -25));
    }
  }
}

TEST(CodecTest, Int8PerVectorStoresScaleAndOffsetAndDecodesWithinHalfStep) {
  const uint32_t dim = 17;
  auto v = Random(4 * dim, 3.0f, 2);
  for (uint32_t i = 0; i < dim; ++i) v[3 * dim + i] = 2.5f;  // a constant row
  Int8Params p;
  p.scaling = Int8Scaling::kPerVector;
  const size_t rb = StoredRowBytes(Precision::kInt8, dim, p);
  ASSERT_EQ(rb, dim + 8);
  std::vector<uint8_t> bytes(4 * rb);
  ASSERT_TRUE(EncodeRows(Precision::kInt8, dim, p, v.data(), 4, bytes.data()).ok());
  std::vector<float> back(dim);
  for (uint32_t r = 0; r < 4; ++r) {
    float scale, offset;
    ReadInt8RowParams(bytes.data() + r * rb, dim, &scale, &offset);
    EXPECT_GT(scale, 0.0f);
    DecodeRow(Precision::kInt8, dim, p, bytes.data() + r * rb, back.data());
    for (uint32_t i = 0; i < dim; ++i) {
      EXPECT_LE(std::fabs(back[i] - v[r * dim + i]), scale * 0.5f + 1e-5f) << r << "," << i;
    }
  }
}

TEST(CodecTest, Int8FixedFitsTheColumnRange) {
  const uint32_t dim = 768;
  const auto v = Random(5 * dim, 1.0f, 3);
  const Int8Params p = FitFixedInt8(v.data(), 5, dim);
  ASSERT_EQ(p.scaling, Int8Scaling::kFixed);
  std::vector<uint8_t> bytes(5 * dim);
  ASSERT_TRUE(EncodeRows(Precision::kInt8, dim, p, v.data(), 5, bytes.data()).ok());
  std::vector<float> back(dim);
  for (uint32_t r = 0; r < 5; ++r) {
    DecodeRow(Precision::kInt8, dim, p, bytes.data() + r * dim, back.data());
    for (uint32_t i = 0; i < dim; ++i) {
      EXPECT_LE(std::fabs(back[i] - v[r * dim + i]), p.scale * 0.5f + 1e-5f);
    }
  }
}

TEST(CodecTest, Int8RejectsNonFiniteAndMissingRule) {
  std::vector<float> v = {1.0f, NAN, 2.0f};
  std::vector<uint8_t> out(16);
  Int8Params p;
  p.scaling = Int8Scaling::kPerVector;
  auto st = EncodeRows(Precision::kInt8, 3, p, v.data(), 1, out.data());
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("element 1"), std::string::npos) << st.message();
  v[1] = 0.0f;
  EXPECT_TRUE(EncodeRows(Precision::kInt8, 3, Int8Params{}, v.data(), 1, out.data()).IsInvalid());
}

TEST(CodecTest, NormalizeRowsGivesUnitLength) {
  auto v = Random(2 * 33, 4.0f, 4);
  for (int i = 0; i < 33; ++i) v[33 + i] = 0.0f;
  NormalizeRows(v.data(), 2, 33);
  EXPECT_NEAR(Kernels().dot_f32(v.data(), v.data(), 33), 1.0f, 1e-5f);
  EXPECT_EQ(Kernels().dot_f32(v.data() + 33, v.data() + 33, 33), 0.0f);
}

}  // namespace
}  // namespace ailake::vec
