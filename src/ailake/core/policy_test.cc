#include "ailake/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ailake/row_id.h"
#include "ailake/version.h"

namespace ailake {
namespace {

using ::testing::HasSubstr;

VectorStoragePolicy Valid() {
  VectorStoragePolicy p;
  p.vector_column = "embedding";
  p.dim = 128;
  return p;
}

void ExpectInvalid(const VectorStoragePolicy& p, const std::string& needle) {
  arrow::Status st = p.Validate();
  ASSERT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr(needle));
}

TEST(PolicyTest, DefaultWithDimIsValid) { EXPECT_TRUE(Valid().Validate().ok()); }

TEST(PolicyTest, RejectsZeroAndHugeDim) {
  auto p = Valid();
  p.dim = 0;
  ExpectInvalid(p, "dim: 0");
  p.dim = VectorStoragePolicy::kMaxDim + 1;
  ExpectInvalid(p, "dim: 65537");
  p.dim = VectorStoragePolicy::kMaxDim;
  EXPECT_TRUE(p.Validate().ok());
}

TEST(PolicyTest, RejectsUnknownMetricCode) {
  auto p = Valid();
  p.metric = static_cast<DistanceMetric>(9);
  ExpectInvalid(p, "metric: unknown metric code 9");
}

TEST(PolicyTest, NormalizedCosineNeedsPreNormalize) {
  auto p = Valid();
  p.metric = DistanceMetric::kNormalizedCosine;
  ExpectInvalid(p, "pre_normalize");
  p.pre_normalize = true;
  EXPECT_TRUE(p.Validate().ok());
}

TEST(PolicyTest, Int8NeedsDecodeRule) {
  auto p = Valid();
  p.precision = Precision::kInt8;
  ExpectInvalid(p, "int8.scaling");
  p.int8.scaling = Int8Scaling::kFixed;
  ExpectInvalid(p, "scale > 0");
  p.int8.scale = 0.01f;
  EXPECT_TRUE(p.Validate().ok());
  p.int8.scaling = Int8Scaling::kPerVector;
  EXPECT_TRUE(p.Validate().ok());
  EXPECT_EQ(p.StoredVectorBytes(), 128 + 8);
}

TEST(PolicyTest, IndexParameters) {
  auto p = Valid();
  p.hnsw.m = 1;
  ExpectInvalid(p, "hnsw.m: 1");
  p = Valid();
  p.index_type = IndexType::kIvfPq;
  p.ivf_pq.m = 7;
  ExpectInvalid(p, "ivf_pq.m: 7 must be >= 1 and divide dim 128");
  p.ivf_pq.m = 16;
  p.ivf_pq.nbits = 4;  // fast-scan codes
  EXPECT_TRUE(p.Validate().ok());
  p.ivf_pq.nbits = 6;
  ExpectInvalid(p, "nbits: 6");
}

TEST(PolicyTest, EmptyColumnName) {
  auto p = Valid();
  p.vector_column.clear();
  ExpectInvalid(p, "vector_column");
}

TEST(PolicyTest, StoredBytesPerPrecision) {
  auto p = Valid();
  EXPECT_EQ(p.StoredVectorBytes(), 512);
  p.precision = Precision::kF16;
  EXPECT_EQ(p.StoredVectorBytes(), 256);
}

TEST(PolicyTest, ParseNamesRoundTrip) {
  for (auto m : {DistanceMetric::kCosine, DistanceMetric::kEuclidean, DistanceMetric::kDotProduct,
                 DistanceMetric::kNormalizedCosine}) {
    ASSERT_EQ(ParseMetric(MetricName(m)).ValueOrDie(), m);
  }
  for (auto p : {Precision::kF32, Precision::kF16, Precision::kInt8}) {
    ASSERT_EQ(ParsePrecision(PrecisionName(p)).ValueOrDie(), p);
  }
  for (auto t : {IndexType::kNone, IndexType::kFlat, IndexType::kHnsw, IndexType::kIvfPq,
                 IndexType::kAuto}) {
    ASSERT_EQ(ParseIndexType(IndexTypeName(t)).ValueOrDie(), t);
  }
  EXPECT_EQ(ParseMetric("L2").ValueOrDie(), DistanceMetric::kEuclidean);
  auto bad = ParseMetric("manhattan");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("manhattan"));
  EXPECT_FALSE(MetricFromCode(4).ok());
  EXPECT_FALSE(PrecisionFromCode(3).ok());
}

TEST(RowIdTest, PacksFragmentAndOffset) {
  constexpr RowId id = MakeRowId(7, 0xfffffffeu);
  static_assert(RowIdFragment(id) == 7);
  static_assert(RowIdOffset(id) == 0xfffffffeu);
  EXPECT_EQ(MakeRowId(0, 5), 5u);
}

TEST(VersionTest, MatchesProject) { EXPECT_EQ(Version(), "0.1.0"); }

}  // namespace
}  // namespace ailake
