#include "ailake/index/topk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace ailake::index {
namespace {

// The pool's contract against a plain oracle: the cap smallest pushed pairs
// by (score, key), NaN as +inf and -0 as +0. Pushes in an order where no
// pair ties the threshold after a pruning, so the oracle needs no history.
template <class Key>
void CheckAgainstSort(uint64_t cap, const std::vector<std::pair<float, Key>>& pushed) {
  CandidatePool<Key> pool(cap);
  std::vector<typename CandidatePool<Key>::Entry> want;
  for (const auto& [score, key] : pushed) {
    pool.Push(key, score);
    const float s = std::isnan(score) ? std::numeric_limits<float>::infinity() : score + 0.0f;
    want.push_back({s, key});
  }
  std::sort(want.begin(), want.end());
  if (want.size() > cap) want.resize(cap);
  const auto got = pool.Take();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].key, want[i].key) << "rank " << i;
    EXPECT_EQ(got[i].score, want[i].score) << "rank " << i;
  }
}

template <class Key>
std::vector<std::pair<float, Key>> Distinct(size_t n, uint32_t seed, Key key_base) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1000.0f, 1000.0f);
  std::vector<std::pair<float, Key>> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.emplace_back(u(rng), static_cast<Key>(key_base + i * 7919));
  return out;
}

TEST(CandidatePoolTest, KeepsTheCapSmallestByScoreThenKey) {
  for (uint64_t cap : {1, 5, 160, 1000}) {
    CheckAgainstSort<uint32_t>(cap, Distinct<uint32_t>(3000, 1, 3));
    CheckAgainstSort<uint64_t>(cap, Distinct<uint64_t>(3000, 2, uint64_t{7} << 32));
  }
}

// Scores a few ulps apart (the bits of the pruning's histogram span less
// than its 256 bins), and scores spread over many binades.
TEST(CandidatePoolTest, NarrowAndWideScoreRanges) {
  std::mt19937 rng(5);
  std::vector<std::pair<float, uint32_t>> narrow, wide;
  float s = 0.5f;
  for (uint32_t i = 0; i < 3000; ++i) {
    narrow.emplace_back(s, i * 13);
    s = std::nextafter(s, 1.0f);
    wide.emplace_back(
        std::ldexp(static_cast<float>(rng() % 1000 + 1), static_cast<int>(i % 60) - 30), i);
  }
  std::shuffle(narrow.begin(), narrow.end(), rng);
  for (uint64_t cap : {1, 7, 160, 999}) {
    CheckAgainstSort<uint32_t>(cap, narrow);
  }
  // A far score first: the first pruning's bins are wide, and the narrow
  // scores crowd one of them (more than its 128 pairs aside hold).
  std::vector<std::pair<float, uint32_t>> crowded = {{1e30f, 99999}};
  crowded.insert(crowded.end(), narrow.begin(), narrow.end());
  for (uint64_t cap : {7, 160}) {
    CheckAgainstSort<uint32_t>(cap, crowded);
  }
  // Distinct scores only: the wide set's duplicates could tie the threshold.
  std::sort(wide.begin(), wide.end());
  wide.erase(std::unique(wide.begin(), wide.end(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }),
             wide.end());
  std::shuffle(wide.begin(), wide.end(), rng);
  for (uint64_t cap : {1, 7, 160, 999}) {
    CheckAgainstSort<uint32_t>(cap, wide);
  }
}

TEST(CandidatePoolTest, SignsZerosInfinitiesNansAndTies) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Fewer pairs than 2 cap: nothing is pruned, so ties and NaN all count.
  std::vector<std::pair<float, uint32_t>> pushed = {
      {3.5f, 9},   {-0.0f, 4},  {0.0f, 2},    {-inf, 8},    {inf, 1},
      {nan, 0},    {-2.25f, 7}, {3.5f, 6},    {-1e-38f, 5}, {1e-38f, 3},
      {-0.0f, 11}, {4e9f, 13},  {-3e38f, 10}, {-2.25f, 12}, {0.5f, 0xffffffffu}};
  CheckAgainstSort<uint32_t>(16, pushed);
  CheckAgainstSort<uint32_t>(8, pushed);
  std::vector<std::pair<float, uint64_t>> wide;
  wide.reserve(pushed.size());
  for (const auto& [s, k] : pushed) wide.emplace_back(s, (uint64_t{k} << 20) | 1);
  CheckAgainstSort<uint64_t>(16, wide);
}

TEST(CandidatePoolTest, TheThresholdIsTheLargestKeptScore) {
  CandidatePool<uint32_t> pool(2);
  EXPECT_EQ(pool.threshold(), std::numeric_limits<float>::infinity());
  pool.Push(1, -5.0f);
  pool.Push(2, 7.0f);
  pool.Push(3, -1.5f);
  pool.Push(4, 9.0f);  // 2 cap pairs: pruned to {-5, -1.5}
  EXPECT_EQ(pool.threshold(), -1.5f);
  pool.Push(5, -1.5f);  // ties the threshold: stays out
  pool.Push(6, -3.0f);  // enters; the final pruning keeps {-5, -3}
  const auto got = pool.TakeUnordered();
  std::vector<uint32_t> keys;
  keys.reserve(got.size());
  for (const auto& e : got) keys.push_back(e.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<uint32_t>{1, 6}));
  EXPECT_EQ(pool.size(), 0u);
}

}  // namespace
}  // namespace ailake::index
