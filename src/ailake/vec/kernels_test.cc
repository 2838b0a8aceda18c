#include "ailake/vec/kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "ailake/vec/matrix.h"

namespace ailake::vec {
namespace {

constexpr size_t kDims[] = {1, 3, 17, 100, 768, 1536};

// Buffers deliberately offset by one element (4 bytes for f32, 2 for f16, 1 for
// int8) from a 64-byte boundary, so every kernel sees unaligned inputs.
template <typename T>
struct Unaligned {
  explicit Unaligned(size_t n) : storage((n + 64) * sizeof(T) + 64) {}
  T* get() {
    // Past the next 64-byte boundary by sizeof(T) + 1: an odd byte offset.
    uint8_t* base = storage.data();
    const size_t to_boundary = (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64;
    return reinterpret_cast<T*>(base + to_boundary + sizeof(T) + 1);
  }
  std::vector<uint8_t> storage;
};

void Fill(float* x, size_t n, std::mt19937* rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (size_t i = 0; i < n; ++i) {
    const float v = nd(*rng);
    std::memcpy(x + i, &v, 4);
  }
}

// Relative agreement with the scalar reference; the tolerance covers a
// different summation order over d terms.
void ExpectClose(float got, float want, size_t d, const char* what) {
  const float tol = 1e-5f * static_cast<float>(d) * (1.0f + std::fabs(want));
  EXPECT_NEAR(got, want, tol) << what << " d=" << d;
}

std::vector<const KernelTable*> SimdTables() {
  std::vector<const KernelTable*> t;
  for (SimdLevel l : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (const KernelTable* k = KernelsFor(l)) t.push_back(k);
  }
  return t;
}

TEST(KernelsTest, ActiveTableIsTheDetectedOne) {
  const KernelTable* active = KernelsFor(ActiveSimdLevel());
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(&Kernels(), active);
  EXPECT_EQ(ScalarKernels().level, SimdLevel::kScalar);
}

// A search that computes a row's norm once and then one dot product per
// query (the re-ranking of an IVF-PQ batch) must give the distances of one
// that calls dot_norm_f32 per query, to the bit.
TEST(KernelsTest, DotNormIsDotAndNormToTheBit) {
  std::vector<const KernelTable*> tables = SimdTables();
  tables.push_back(&ScalarKernels());
  std::mt19937 rng(11);
  for (size_t d : {1, 3, 17, 24, 48, 100, 384, 768}) {
    Unaligned<float> qa(d), va(d);
    Fill(qa.get(), d, &rng);
    Fill(va.get(), d, &rng);
    for (const KernelTable* k : tables) {
      SCOPED_TRACE(SimdLevelName(k->level));
      float qv, vv;
      k->dot_norm_f32(qa.get(), va.get(), d, &qv, &vv);
      EXPECT_EQ(std::bit_cast<uint32_t>(qv),
                std::bit_cast<uint32_t>(k->dot_f32(qa.get(), va.get(), d)))
          << "d=" << d;
      EXPECT_EQ(std::bit_cast<uint32_t>(vv),
                std::bit_cast<uint32_t>(k->dot_f32(va.get(), va.get(), d)))
          << "d=" << d;
    }
  }
}

TEST(KernelsTest, SimdMatchesScalarOnOddDimsAndUnalignedInputs) {
  const KernelTable& ref = ScalarKernels();
  if (SimdTables().empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  std::mt19937 rng(7);
  for (size_t d : kDims) {
    Unaligned<float> qa(d), va(d);
    Unaligned<uint16_t> ha(d);
    Unaligned<int8_t> ca(d);
    float* q = qa.get();
    float* v = va.get();
    uint16_t* h = ha.get();
    int8_t* c = ca.get();
    Fill(q, d, &rng);
    Fill(v, d, &rng);
    for (size_t i = 0; i < d; ++i) {
      const uint16_t hv = FloatToHalf(Ld(v + i));
      std::memcpy(h + i, &hv, 2);
      c[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    }
    for (const KernelTable* k : SimdTables()) {
      SCOPED_TRACE(SimdLevelName(k->level));
      ExpectClose(k->dot_f32(q, v, d), ref.dot_f32(q, v, d), d, "dot_f32");
      ExpectClose(k->l2_f32(q, v, d), ref.l2_f32(q, v, d), d, "l2_f32");
      ExpectClose(k->dot_f16(q, h, d), ref.dot_f16(q, h, d), d, "dot_f16");
      ExpectClose(k->l2_f16(q, h, d), ref.l2_f16(q, h, d), d, "l2_f16");
      float a1, b1, a2, b2;
      k->dot_norm_f32(q, v, d, &a1, &b1);
      ref.dot_norm_f32(q, v, d, &a2, &b2);
      ExpectClose(a1, a2, d, "dot_norm_f32 dot");
      ExpectClose(b1, b2, d, "dot_norm_f32 norm");
      k->dot_norm_f16(q, h, d, &a1, &b1);
      ref.dot_norm_f16(q, h, d, &a2, &b2);
      ExpectClose(a1, a2, d, "dot_norm_f16 dot");
      ExpectClose(b1, b2, d, "dot_norm_f16 norm");
      float s1, s2, t1, t2, u1, u2;
      k->stats_i8(q, c, d, &s1, &t1, &u1);
      ref.stats_i8(q, c, d, &s2, &t2, &u2);
      ExpectClose(s1, s2, d, "stats_i8 qc");
      EXPECT_EQ(t1, t2) << "stats_i8 cc d=" << d;  // integer sums are exact
      EXPECT_EQ(u1, u2) << "stats_i8 sc d=" << d;
      std::vector<float> f1(d), f2(d);
      k->f16_to_f32(h, f1.data(), d);
      ref.f16_to_f32(h, f2.data(), d);
      EXPECT_EQ(0, std::memcmp(f1.data(), f2.data(), d * 4)) << "f16_to_f32 d=" << d;
      std::vector<uint16_t> g1(d), g2(d);
      k->f32_to_f16(q, g1.data(), d);
      ref.f32_to_f16(q, g2.data(), d);
      EXPECT_EQ(g1, g2) << "f32_to_f16 d=" << d;
    }
  }
}

TEST(KernelsTest, IpTileMatchesScalarForEveryQueryCount) {
  if (SimdTables().empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  std::mt19937 rng(3);
  for (size_t d : kDims) {
    std::vector<float> q(kTileQueries * d), panel(d * kPanelRows);
    Fill(q.data(), q.size(), &rng);
    Fill(panel.data(), panel.size(), &rng);
    for (size_t nq = 1; nq <= kTileQueries; ++nq) {
      std::vector<float> want(kTileQueries * kPanelRows), got(kTileQueries * kPanelRows);
      ScalarKernels().ip_tile(q.data(), d, nq, panel.data(), d, want.data());
      for (const KernelTable* k : SimdTables()) {
        k->ip_tile(q.data(), d, nq, panel.data(), d, got.data());
        for (size_t i = 0; i < nq * kPanelRows; ++i) {
          ExpectClose(got[i], want[i], d, "ip_tile");
        }
      }
    }
  }
}

TEST(KernelsTest, IpPanelsIsIpTileOfOneQueryBitForBit) {
  std::mt19937 rng(4);
  std::vector<const KernelTable*> tables = SimdTables();
  tables.push_back(&ScalarKernels());
  for (size_t d : kDims) {
    for (size_t np : {0u, 1u, 2u, 3u, 4u, 5u, 8u, 9u}) {
      std::vector<float> q(d), panels(np * d * kPanelRows + 1);
      Fill(q.data(), q.size(), &rng);
      Fill(panels.data(), panels.size(), &rng);
      for (const KernelTable* k : tables) {
        std::vector<float> want(np * kPanelRows + 1, -7.0f), got(np * kPanelRows + 1, -7.0f);
        for (size_t p = 0; p < np; ++p) {
          k->ip_tile(q.data(), d, 1, panels.data() + p * d * kPanelRows, d,
                     want.data() + p * kPanelRows);
        }
        k->ip_panels(q.data(), panels.data(), np, d, got.data());
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
            << SimdLevelName(k->level) << " d=" << d << " panels=" << np;
      }
    }
  }
}

TEST(KernelsTest, ArgminTileMatchesScalarIncludingTiesAndPartialPanels) {
  std::mt19937 rng(13);
  std::vector<float> tile(kTileQueries * kPanelRows), norms(kPanelRows);
  for (int round = 0; round < 200; ++round) {
    for (float& v : tile) v = static_cast<float>(rng() % 7);  // many ties
    for (float& v : norms) v = static_cast<float>(rng() % 9);
    const size_t valid = 1 + rng() % kPanelRows, nq = 1 + rng() % kTileQueries;
    float best_ref[kTileQueries], best[kTileQueries];
    uint32_t arg_ref[kTileQueries], arg[kTileQueries];
    for (size_t i = 0; i < kTileQueries; ++i) {
      best_ref[i] = best[i] = (round % 3 == 0) ? -5.0f : 1e30f;
      arg_ref[i] = arg[i] = 7;
    }
    ScalarKernels().argmin_tile(tile.data(), nq, norms.data(), valid, 32, best_ref, arg_ref);
    for (const KernelTable* k : SimdTables()) {
      float b2[kTileQueries];
      uint32_t a2[kTileQueries];
      std::copy(best, best + kTileQueries, b2);
      std::copy(arg, arg + kTileQueries, a2);
      k->argmin_tile(tile.data(), nq, norms.data(), valid, 32, b2, a2);
      for (size_t i = 0; i < nq; ++i) {
        EXPECT_EQ(b2[i], best_ref[i]) << SimdLevelName(k->level);
        EXPECT_EQ(a2[i], arg_ref[i]) << SimdLevelName(k->level);
      }
    }
  }
}

TEST(KernelsTest, PqLutMatchesScalar) {
  if (SimdTables().empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  std::mt19937 rng(17);
  for (size_t npanels : {1u, 16u}) {  // 16 codewords (4-bit PQ) or 256
    const size_t ksub = 16 * npanels;
    for (size_t dsub : {1u, 3u, 8u, 24u}) {
      std::vector<float> y(dsub), panels(ksub * dsub), bias(ksub);
      Fill(y.data(), dsub, &rng);
      Fill(panels.data(), panels.size(), &rng);
      Fill(bias.data(), ksub, &rng);
      for (const float* b :
           {static_cast<const float*>(bias.data()), static_cast<const float*>(nullptr)}) {
        std::vector<float> want(ksub + 1, -1.0f), got(ksub + 1, -1.0f);
        ScalarKernels().pq_lut(y.data(), panels.data(), npanels, b, -2.0f, dsub, want.data());
        EXPECT_EQ(want[ksub], -1.0f);  // nothing written past the codewords
        for (size_t c = 0; c < ksub; ++c) {
          float direct = 0;
          for (size_t t = 0; t < dsub; ++t) {
            direct += y[t] * panels[(c / 16) * dsub * 16 + t * 16 + c % 16];
          }
          ExpectClose(want[c], (b != nullptr ? b[c] : 0.0f) - 2.0f * direct, dsub, "pq_lut");
        }
        for (const KernelTable* k : SimdTables()) {
          k->pq_lut(y.data(), panels.data(), npanels, b, -2.0f, dsub, got.data());
          for (size_t c = 0; c <= ksub; ++c) ExpectClose(got[c], want[c], dsub, "pq_lut");
        }
      }
    }
  }
}

TEST(KernelsTest, PqScanMatchesScalarForEverySubspaceCount) {
  // Integer-valued tables and base: every sum is exact in any order, so SIMD
  // and scalar must agree bit for bit.
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> value(-1000, 1000);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t m : {1u, 3u, 7u, 8u, 15u, 16u, 17u, 48u, 64u, 100u}) {
    for (size_t n : {0u, 1u, 5u, 33u}) {
      std::vector<float> lut(m * 256);
      for (float& x : lut) x = static_cast<float>(value(rng));
      Unaligned<uint8_t> codes(n * m + 1);
      for (size_t i = 0; i < n * m; ++i) codes.get()[i] = static_cast<uint8_t>(byte(rng));
      std::vector<float> want(n + 1, -1.0f), got(n + 1, -1.0f);
      ScalarKernels().pq_scan(codes.get(), n, m, lut.data(), 7.0f, want.data());
      for (size_t i = 0; i < n; ++i) {
        double direct = 7.0;
        for (size_t j = 0; j < m; ++j) direct += lut[j * 256 + codes.get()[i * m + j]];
        ASSERT_EQ(want[i], static_cast<float>(direct)) << "m=" << m << " i=" << i;
      }
      EXPECT_EQ(want[n], -1.0f);  // nothing written past n
      for (const KernelTable* k : SimdTables()) {
        k->pq_scan(codes.get(), n, m, lut.data(), 7.0f, got.data());
        for (size_t i = 0; i <= n; ++i) {
          EXPECT_EQ(got[i], want[i]) << SimdLevelName(k->level) << " m=" << m << " i=" << i;
        }
      }
    }
  }
}

TEST(KernelsTest, Pq4ScanMatchesTheLayoutForEverySubspaceCount) {
  // Integer sums: every level must give the sums of the documented layout
  // exactly, for odd and even m (odd m pads one sub-space of zeros), and for
  // tables at 255 so the 16-bit lanes are filled.
  std::mt19937 rng(29);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t m : {1u, 2u, 3u, 4u, 5u, 6u, 8u, 15u, 16u, 33u, 48u, 64u, 200u, 257u}) {
    const size_t m2 = (m + 1) & ~size_t{1};
    for (size_t nblocks : {0u, 1u, 3u}) {
      for (bool full : {false, true}) {
        std::vector<uint8_t> lut(m2 * 16, 0);
        for (size_t i = 0; i < m * 16; ++i) lut[i] = full ? 255 : static_cast<uint8_t>(byte(rng));
        Unaligned<uint8_t> blocks(nblocks * 16 * m2 + 1);
        for (size_t i = 0; i < nblocks * 16 * m2; ++i) {
          blocks.get()[i] = static_cast<uint8_t>(byte(rng));
        }
        // The padding sub-space of odd m holds zero codes, as the writer lays it out.
        for (size_t b = 0; b < nblocks && m2 != m; ++b) {
          std::memset(blocks.get() + b * 16 * m2 + 16 * m, 0, 16);
        }
        std::vector<uint16_t> want(nblocks * 32 + 1, 7), got(nblocks * 32 + 1, 7);
        for (size_t b = 0; b < nblocks; ++b) {
          for (size_t i = 0; i < 32; ++i) {
            uint32_t s = 0;
            for (size_t j = 0; j < m; ++j) {
              const uint8_t c = blocks.get()[b * 16 * m2 + j * 16 + i % 16];
              s += lut[j * 16 + (i < 16 ? c & 15 : c >> 4)];
            }
            want[b * 32 + i] = static_cast<uint16_t>(s);
          }
        }
        std::vector<const KernelTable*> all = SimdTables();
        all.push_back(&ScalarKernels());
        for (const KernelTable* k : all) {
          for (uint32_t limit :
               {0u, 1u, 200u, 3000u, static_cast<uint32_t>(want[0]), 65535u, 65536u}) {
            std::fill(got.begin(), got.end(), uint16_t{7});
            std::vector<uint32_t> masks(nblocks + 1, 0xabcdu);
            k->pq4_scan(blocks.get(), nblocks, m, lut.data(), &limit, 0, got.data(), masks.data());
            for (size_t i = 0; i <= nblocks * 32; ++i) {
              ASSERT_EQ(got[i], want[i]) << SimdLevelName(k->level) << " m=" << m << " i=" << i;
            }
            for (size_t b = 0; b < nblocks; ++b) {
              uint32_t mask = 0;
              for (size_t i = 0; i < 32; ++i) {
                if (want[b * 32 + i] < limit) mask |= uint32_t{1} << i;
              }
              ASSERT_EQ(masks[b], mask) << SimdLevelName(k->level) << " limit " << limit;
            }
            EXPECT_EQ(masks[nblocks], 0xabcdu);  // nothing written past the blocks
          }
          // A limit per block (every other entry of the array: limit_step 2),
          // each block's the median of its sums, or 0, or open.
          std::vector<uint32_t> limits(2 * nblocks, 0xdeadu);
          for (size_t b = 0; b < nblocks; ++b) {
            std::vector<uint16_t> s(want.begin() + static_cast<ptrdiff_t>(b * 32),
                                    want.begin() + static_cast<ptrdiff_t>(b * 32 + 32));
            std::nth_element(s.begin(), s.begin() + 16, s.end());
            limits[2 * b] = b % 3 == 1 ? 0u : b % 3 == 2 ? 65536u : uint32_t{s[16]};
          }
          std::vector<uint32_t> masks(nblocks + 1, 0xabcdu);
          k->pq4_scan(blocks.get(), nblocks, m, lut.data(), limits.data(), 2, got.data(),
                      masks.data());
          for (size_t b = 0; b < nblocks; ++b) {
            uint32_t mask = 0;
            for (size_t i = 0; i < 32; ++i) {
              if (want[b * 32 + i] < limits[2 * b]) mask |= uint32_t{1} << i;
            }
            ASSERT_EQ(masks[b], mask) << SimdLevelName(k->level) << " block " << b;
          }
          EXPECT_EQ(masks[nblocks], 0xabcdu);
        }
      }
    }
  }
}

TEST(KernelsTest, Pq4QuantizeIsTheDocumentedRoundingAtEveryLevel) {
  std::mt19937 rng(37);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<const KernelTable*> all = SimdTables();
  all.push_back(&ScalarKernels());
  for (size_t m : {1u, 2u, 3u, 16u, 48u, 257u, 300u}) {
    const size_t m2 = (m + 1) & ~size_t{1};
    std::vector<float> lut(m * 16);
    for (float& x : lut) x = nd(rng);
    lut[5] = lut[3];  // ties
    std::vector<uint8_t> want(m2 * 16 + 1, 0xee);
    float want_step = 0;
    const float want_sum =
        ScalarKernels().pq4_quantize(lut.data(), nullptr, m, want.data(), &want_step);
    EXPECT_EQ(want[m2 * 16], 0xee);  // nothing written past the padded tables
    // The definition: entries round((x - min_j) / step), the widest table
    // spanning Pq4Levels(m); the minima summed.
    double sum = 0, span = 0;
    std::vector<float> lo(m);
    for (size_t j = 0; j < m; ++j) {
      lo[j] = *std::min_element(&lut[j * 16], &lut[j * 16 + 16]);
      const float hi = *std::max_element(&lut[j * 16], &lut[j * 16 + 16]);
      sum += lo[j];
      span = std::max<double>(span, hi - lo[j]);
    }
    EXPECT_NEAR(want_sum, sum, 1e-3 * (1 + std::fabs(sum)));
    EXPECT_NEAR(want_step, span / Pq4Levels(m), 1e-6 * span);
    for (size_t j = 0; j < m2; ++j) {
      for (size_t c = 0; c < 16; ++c) {
        if (j >= m) {
          EXPECT_EQ(want[j * 16 + c], 0) << "padding table";
          continue;
        }
        const double exact = (lut[j * 16 + c] - lo[j]) / want_step;
        EXPECT_LE(std::fabs(want[j * 16 + c] - exact), 0.5 + 1e-3) << j << " " << c;
        EXPECT_LE(want[j * 16 + c], Pq4Levels(m));
      }
    }
    for (const KernelTable* k : all) {
      std::vector<uint8_t> got(m2 * 16 + 1, 0xee);
      float step = 0;
      const float s = k->pq4_quantize(lut.data(), nullptr, m, got.data(), &step);
      EXPECT_EQ(s, want_sum) << SimdLevelName(k->level) << " m=" << m;
      EXPECT_EQ(step, want_step) << SimdLevelName(k->level) << " m=" << m;
      EXPECT_EQ(got, want) << SimdLevelName(k->level) << " m=" << m;
      // lut + add quantizes as the summed table does.
      std::vector<float> half(lut.size()), rest(lut.size());
      for (size_t i = 0; i < lut.size(); ++i) {
        half[i] = std::ldexp(std::round(std::ldexp(lut[i], 8)), -9);  // exact halves
        rest[i] = lut[i] - half[i];
      }
      std::vector<float> summed(lut.size());
      for (size_t i = 0; i < lut.size(); ++i) summed[i] = half[i] + rest[i];
      std::vector<uint8_t> a(m2 * 16), b(m2 * 16);
      float sa = 0, sb = 0;
      const float ra = k->pq4_quantize(half.data(), rest.data(), m, a.data(), &sa);
      const float rb = k->pq4_quantize(summed.data(), nullptr, m, b.data(), &sb);
      EXPECT_EQ(a, b) << SimdLevelName(k->level) << " m=" << m;
      EXPECT_EQ(ra, rb);
      EXPECT_EQ(sa, sb);
    }
    // NaN and infinite entries (a NaN query): bytes stay within the levels.
    lut[0] = std::nanf("");
    lut[17 % lut.size()] = std::numeric_limits<float>::infinity();
    for (const KernelTable* k : all) {
      std::vector<uint8_t> got(m2 * 16, 0);
      float step = 0;
      (void)k->pq4_quantize(lut.data(), nullptr, m, got.data(), &step);
      EXPECT_TRUE(std::isfinite(step) && step > 0);
      for (uint8_t b : got) EXPECT_LE(b, Pq4Levels(m));
    }
  }
}

TEST(KernelsTest, DotI16I8RowsEqualsOneRowAtATime) {
  // Scattered rows of a code matrix, repeated rows and both parities of n:
  // every level gives each row's exact single-row dot product.
  std::mt19937 rng(37);
  std::uniform_int_distribution<int> q16(-2000, 2000);
  std::uniform_int_distribution<int> c8(-128, 127);
  for (size_t d : {0u, 1u, 15u, 16u, 31u, 32u, 33u, 96u, 100u, 384u}) {
    const size_t stride = d + 5, num_rows = 37;
    Unaligned<int16_t> q(d + 1);
    Unaligned<int8_t> codes(stride * num_rows);
    for (size_t i = 0; i < d; ++i) {
      const int16_t v = static_cast<int16_t>(q16(rng));
      std::memcpy(q.get() + i, &v, 2);
    }
    for (size_t i = 0; i < stride * num_rows; ++i) codes.get()[i] = static_cast<int8_t>(c8(rng));
    for (size_t n : {0u, 1u, 2u, 7u, 32u}) {
      std::vector<uint32_t> rows(n);
      for (size_t j = 0; j < n; ++j) rows[j] = static_cast<uint32_t>((j * 11 + n) % num_rows);
      if (n > 3) rows[3] = rows[1];
      std::vector<int32_t> want(n);
      for (size_t j = 0; j < n; ++j) {
        want[j] = ScalarKernels().dot_i16_i8(q.get(), codes.get() + rows[j] * stride, d);
      }
      std::vector<const KernelTable*> tables = SimdTables();
      tables.push_back(&ScalarKernels());
      for (const KernelTable* k : tables) {
        std::vector<int32_t> got(n + 1, 12345);
        k->dot_i16_i8_rows(q.get(), codes.get(), stride, rows.data(), n, d, got.data());
        EXPECT_EQ(std::vector<int32_t>(got.begin(), got.begin() + static_cast<long>(n)), want)
            << SimdLevelName(k->level) << " d=" << d << " n=" << n;
        EXPECT_EQ(got[n], 12345) << "wrote past n";
      }
    }
  }
}

TEST(KernelsTest, DotI8U4RowsIsTheSumOverPositions) {
  // Each position's nibble is located from the layout's rule (groups of 32
  // bytes = 64 positions, a last group of 16 = 32 positions), the sum taken
  // in int64, and every level must give it exactly, the extremes (q = -128,
  // codes 15) included, for scattered and repeated rows.
  std::mt19937 rng(41);
  std::uniform_int_distribution<int> q8(-128, 127);
  std::uniform_int_distribution<int> byte(0, 255);
  auto code = [](const uint8_t* row, size_t nbytes, size_t p) {
    const size_t full = nbytes / 32 * 32;  // bytes in groups of 32
    size_t at, g;
    if (p < 2 * full) {
      at = p / 64 * 32, g = 32;
    } else {
      at = full, g = 16;
    }
    const size_t off = p - 2 * at;
    const uint8_t b = row[at + off % g];
    return off < g ? b & 0x0f : b >> 4;
  };
  for (size_t nbytes : {0u, 16u, 32u, 48u, 64u, 80u, 128u, 192u, 208u, 512u}) {
    for (int trial = 0; trial < 2; ++trial) {
      const size_t stride = nbytes + 16, num_rows = 29;
      Unaligned<int8_t> q(2 * nbytes + 1);
      Unaligned<uint8_t> codes(stride * num_rows);
      for (size_t i = 0; i < 2 * nbytes; ++i) {
        q.get()[i] = static_cast<int8_t>(trial == 1 ? -128 : q8(rng));
      }
      for (size_t i = 0; i < stride * num_rows; ++i) {
        codes.get()[i] = static_cast<uint8_t>(trial == 1 ? 0xff : byte(rng));
      }
      for (size_t n : {0u, 1u, 3u, 4u, 5u, 9u, 32u}) {
        std::vector<uint32_t> rows(n);
        for (size_t j = 0; j < n; ++j) rows[j] = static_cast<uint32_t>((j * 7 + n) % num_rows);
        if (n > 3) rows[3] = rows[1];
        std::vector<int32_t> want(n);
        for (size_t j = 0; j < n; ++j) {
          int64_t sum = 0;
          for (size_t p = 0; p < 2 * nbytes; ++p) {
            sum += int64_t{q.get()[p]} * code(codes.get() + rows[j] * stride, nbytes, p);
          }
          want[j] = static_cast<int32_t>(sum);
        }
        std::vector<const KernelTable*> tables = SimdTables();
        tables.push_back(&ScalarKernels());
        for (const KernelTable* k : tables) {
          std::vector<int32_t> got(n + 1, 12345);
          k->dot_i8_u4_rows(q.get(), codes.get(), stride, rows.data(), n, nbytes, got.data());
          EXPECT_EQ(std::vector<int32_t>(got.begin(), got.begin() + static_cast<long>(n)), want)
              << SimdLevelName(k->level) << " nbytes=" << nbytes << " n=" << n;
          EXPECT_EQ(got[n], 12345) << "wrote past n";
        }
      }
    }
  }
}

TEST(KernelsTest, DotI16I8IsExactAtEveryLevelAndDimension) {
  // Integer arithmetic: every level must give the exact sum, bit for bit,
  // including at the extremes (|q| = 32767, c = -128) and odd tails.
  std::mt19937 rng(31);
  std::uniform_int_distribution<int> q16(-32768, 32767);
  std::uniform_int_distribution<int> c8(-128, 127);
  for (size_t d : {0u, 1u, 7u, 15u, 16u, 17u, 31u, 32u, 33u, 96u, 100u, 384u, 1000u}) {
    for (int trial = 0; trial < 3; ++trial) {
      // Keep 128 * d * max|q| below 2^31, as the contract asks.
      const int limit =
          static_cast<int>(std::min<int64_t>(32767, (int64_t{1} << 31) / (129 * (d + 1))));
      Unaligned<int16_t> q(d + 1);
      Unaligned<int8_t> c(d + 1);
      int64_t want = 0;
      for (size_t i = 0; i < d; ++i) {
        const int qi = trial == 2 ? (i % 2 ? limit : -limit) : q16(rng) % (limit + 1);
        const int ci = trial == 2 ? -128 : c8(rng);
        const int16_t qv = static_cast<int16_t>(qi);
        std::memcpy(q.get() + i, &qv, 2);
        c.get()[i] = static_cast<int8_t>(ci);
        want += int64_t{qi} * ci;
      }
      ASSERT_EQ(ScalarKernels().dot_i16_i8(q.get(), c.get(), d), want) << d;
      for (const KernelTable* k : SimdTables()) {
        EXPECT_EQ(k->dot_i16_i8(q.get(), c.get(), d), want)
            << SimdLevelName(k->level) << " d=" << d;
      }
    }
  }
}

TEST(KernelsTest, HalfConversionIsExactOnEveryHalf) {
  // Every binary16 value decodes and re-encodes to itself (NaNs stay NaN).
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    const uint16_t back = FloatToHalf(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(HalfToFloat(back)));
    } else {
      ASSERT_EQ(back, h) << "half " << h;
    }
  }
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);                      // rounds to infinity
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie to even
}

TEST(KernelsTest, HardwareF16ConversionAgreesWithScalarRounding) {
  // The SIMD conversions use the CPU's F16C rounding; the scalar reference must
  // round identically, including ties, subnormals and overflow.
  std::mt19937 rng(11);
  std::vector<float> in(4096);
  for (size_t i = 0; i < in.size(); ++i) {
    uint32_t bits = rng();
    if (i % 4 == 0) bits = (bits & 0x807fffffu) | ((100u + bits % 50) << 23);  // near subnormal
    std::memcpy(&in[i], &bits, 4);
  }
  std::vector<uint16_t> want(in.size()), got(in.size());
  ScalarKernels().f32_to_f16(in.data(), want.data(), in.size());
  for (const KernelTable* k : SimdTables()) {
    k->f32_to_f16(in.data(), got.data(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      if (std::isnan(in[i])) continue;  // NaN payload bits may differ
      ASSERT_EQ(got[i], want[i]) << SimdLevelName(k->level) << " input " << in[i];
    }
  }
}

// Small integers: every sum is exact in f32, so SIMD and scalar must agree
// bit for bit, ties included.
void FillInts(float* x, size_t n, std::mt19937* rng, int range) {
  for (size_t i = 0; i < n; ++i) {
    const int v = static_cast<int>((*rng)() % range) - range / 2;
    x[i] = static_cast<float>(v);
  }
}

TEST(KernelsTest, NearestPanelsMatchesScalarIncludingTiesAndPartialPanels) {
  if (SimdTables().empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  std::mt19937 rng(21);
  for (size_t d : {1u, 3u, 17u, 128u}) {
    for (size_t n : {1u, 15u, 16u, 17u, 31u, 32u, 33u, 100u}) {
      std::vector<float> x(n * d), q(kTileQueries * d);
      FillInts(x.data(), x.size(), &rng, 3);
      FillInts(q.data(), q.size(), &rng, 3);
      const PackedRows packed = PackRows(x.data(), n, d);
      for (size_t nq = 1; nq <= kTileQueries; ++nq) {
        float best_ref[kTileQueries];
        uint32_t arg_ref[kTileQueries];
        for (size_t i = 0; i < kTileQueries; ++i) {
          best_ref[i] = (i % 3 == 0) ? -1e30f : 1e30f;  // some queries keep their old best
          arg_ref[i] = 7;
        }
        float best[kTileQueries];
        uint32_t arg[kTileQueries];
        std::copy(best_ref, best_ref + kTileQueries, best);
        std::copy(arg_ref, arg_ref + kTileQueries, arg);
        ScalarKernels().nearest_panels(q.data(), d, nq, packed.panels.data(), n, d,
                                       packed.norms2.data(), best_ref, arg_ref);
        for (const KernelTable* k : SimdTables()) {
          float b2[kTileQueries];
          uint32_t a2[kTileQueries];
          std::copy(best, best + kTileQueries, b2);
          std::copy(arg, arg + kTileQueries, a2);
          k->nearest_panels(q.data(), d, nq, packed.panels.data(), n, d, packed.norms2.data(), b2,
                            a2);
          for (size_t i = 0; i < nq; ++i) {
            EXPECT_EQ(b2[i], best_ref[i]) << SimdLevelName(k->level) << " d=" << d << " n=" << n;
            EXPECT_EQ(a2[i], arg_ref[i]) << SimdLevelName(k->level) << " d=" << d << " n=" << n;
          }
        }
      }
    }
  }
}

TEST(KernelsTest, IpScreenMatchesScalarOnOneAndTwoPanels) {
  if (SimdTables().empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  std::mt19937 rng(22);
  for (size_t d : {1u, 3u, 17u, 128u}) {
    std::vector<float> x(kScreenRows * d), q(kTileQueries * d), bias(kScreenRows),
        scale(kScreenRows), thr(kTileQueries);
    FillInts(x.data(), x.size(), &rng, 5);
    FillInts(q.data(), q.size(), &rng, 5);
    FillInts(bias.data(), bias.size(), &rng, 9);
    FillInts(scale.data(), scale.size(), &rng, 5);
    const PackedRows packed = PackRows(x.data(), kScreenRows, d);
    for (size_t valid : {1u, 5u, 16u, 17u, 31u, 32u}) {
      for (size_t nq = 1; nq <= kTileQueries; ++nq) {
        FillInts(thr.data(), thr.size(), &rng, static_cast<int>(4 * d + 8));
        std::vector<float> want(kTileQueries * kScreenRows), got(kTileQueries * kScreenRows);
        uint32_t mref[kTileQueries], m[kTileQueries];
        ScalarKernels().ip_screen(q.data(), d, nq, packed.panels.data(), valid, d, bias.data(),
                                  scale.data(), thr.data(), want.data(), mref);
        for (const KernelTable* k : SimdTables()) {
          k->ip_screen(q.data(), d, nq, packed.panels.data(), valid, d, bias.data(), scale.data(),
                       thr.data(), got.data(), m);
          for (size_t i = 0; i < nq; ++i) {
            EXPECT_EQ(m[i], mref[i]) << SimdLevelName(k->level) << " valid=" << valid;
            if (valid < 32) {
              EXPECT_EQ(m[i] >> valid, 0u);
            }
            for (size_t j = 0; j < valid; ++j) {
              EXPECT_EQ(got[i * kScreenRows + j], want[i * kScreenRows + j]);
            }
          }
        }
      }
    }
  }
}

TEST(MatrixTest, AQueryAloneGetsTheBitsItGetsInABatch) {
  // IVF-PQ probes the lists these products rank: a query must probe the
  // same lists whether it is searched alone or in any place of a batch.
  std::mt19937 rng(6);
  for (size_t d : {3u, 17u, 96u}) {
    for (size_t n : {5u, 37u, 64u, 1024u}) {
      const size_t nq = 13;
      std::vector<float> q(nq * d), x(n * d);
      Fill(q.data(), q.size(), &rng);
      Fill(x.data(), x.size(), &rng);
      const PackedRows packed = PackRows(x.data(), n, d);
      std::vector<float> batch(nq * n);
      InnerProducts(q.data(), nq, packed, batch.data(), n);
      for (size_t i = 0; i < nq; ++i) {
        std::vector<float> alone(n);
        InnerProducts(q.data() + i * d, 1, packed, alone.data(), n);
        EXPECT_EQ(0, std::memcmp(alone.data(), batch.data() + i * n, n * sizeof(float)))
            << "d=" << d << " n=" << n << " query " << i;
      }
    }
  }
}

TEST(MatrixTest, InnerProductsAndNearestMatchDirectKernels) {
  std::mt19937 rng(5);
  for (size_t d : {3u, 17u, 128u}) {
    const size_t nq = 13, n = 37;
    std::vector<float> q(nq * d), x(n * d);
    Fill(q.data(), q.size(), &rng);
    Fill(x.data(), x.size(), &rng);
    const PackedRows packed = PackRows(x.data(), n, d);
    std::vector<float> ip(nq * n);
    InnerProducts(q.data(), nq, packed, ip.data(), n);
    std::vector<uint32_t> idx(nq);
    std::vector<float> dist(nq);
    NearestL2(q.data(), nq, packed, idx.data(), dist.data());
    for (size_t i = 0; i < nq; ++i) {
      size_t best = 0;
      double best_d = 1e30;
      for (size_t j = 0; j < n; ++j) {
        double dot = 0, l2 = 0;
        for (size_t t = 0; t < d; ++t) {
          dot += double{q[i * d + t]} * x[j * d + t];
          l2 += (double{q[i * d + t]} - x[j * d + t]) * (double{q[i * d + t]} - x[j * d + t]);
        }
        EXPECT_NEAR(ip[i * n + j], dot, 1e-4 * d);
        if (l2 < best_d) {
          best_d = l2;
          best = j;
        }
      }
      EXPECT_EQ(idx[i], best);
      EXPECT_NEAR(dist[i], best_d, 1e-3 * d);
    }
  }
}

}  // namespace
}  // namespace ailake::vec
