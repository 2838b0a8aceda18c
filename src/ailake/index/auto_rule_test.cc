#include <gtest/gtest.h>

#include "ailake/hardware.h"
#include "ailake/index.h"

namespace ailake {
namespace {

VectorStoragePolicy Dim(uint32_t d, uint32_t m) {
  VectorStoragePolicy p;
  p.dim = d;
  p.index_type = IndexType::kAuto;
  p.ivf_pq.m = m;
  return p;
}

HardwareProfile Cpu(uint32_t cores, bool gpu = false) {
  HardwareProfile hw;
  hw.logical_cores = cores;
  hw.gpu_present = gpu;
  hw.gpu_count = gpu ? 1 : 0;
  return hw;
}

TEST(AutoRuleTest, SmallSetsAlwaysGetHnsw) {
  EXPECT_EQ(ChooseIndexType(Cpu(1, true), 0, Dim(128, 16)), IndexType::kHnsw);
  EXPECT_EQ(ChooseIndexType(Cpu(1, true), kAutoIvfPqMinRows - 1, Dim(128, 16)), IndexType::kHnsw);
}

TEST(AutoRuleTest, RowsPerCoreThresholdPicksIvfPq) {
  const uint64_t limit = kAutoIvfPqRowsPerCore * 8;
  EXPECT_EQ(ChooseIndexType(Cpu(8), limit - 1, Dim(128, 16)), IndexType::kHnsw);
  EXPECT_EQ(ChooseIndexType(Cpu(8), limit, Dim(128, 16)), IndexType::kIvfPq);
  EXPECT_EQ(ChooseIndexType(Cpu(2), 5'000'000, Dim(128, 16)), IndexType::kIvfPq);
  EXPECT_EQ(ChooseIndexType(Cpu(64), 5'000'000, Dim(128, 16)), IndexType::kHnsw);
  EXPECT_EQ(ChooseIndexType(Cpu(0), kAutoIvfPqRowsPerCore, Dim(128, 16)), IndexType::kIvfPq);
}

TEST(AutoRuleTest, GpuFavoursIvfPqAtScale) {
  EXPECT_EQ(ChooseIndexType(Cpu(64, true), kAutoGpuIvfPqRows, Dim(128, 16)), IndexType::kIvfPq);
  EXPECT_EQ(ChooseIndexType(Cpu(64, true), kAutoGpuIvfPqRows - 1, Dim(128, 16)), IndexType::kHnsw);
  EXPECT_EQ(ChooseIndexType(Cpu(64, false), kAutoGpuIvfPqRows, Dim(128, 16)), IndexType::kHnsw);
}

TEST(AutoRuleTest, UnbuildableIvfPqFallsBackToHnsw) {
  EXPECT_EQ(ChooseIndexType(Cpu(1, true), 50'000'000, Dim(100, 16)), IndexType::kHnsw);
}

TEST(AutoRuleTest, ResolveKeepsExplicitTypes) {
  auto p = Dim(128, 16);
  p.index_type = IndexType::kFlat;
  EXPECT_EQ(ResolveIndexType(p, 1'000'000'000), IndexType::kFlat);
  p.index_type = IndexType::kAuto;
  EXPECT_EQ(ResolveIndexType(p, 10), IndexType::kHnsw);
}

}  // namespace
}  // namespace ailake
