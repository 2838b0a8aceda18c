// Micro-benchmarks of the distance kernels per SIMD level and of the exact
// (flat) scans: single-query scan throughput in bytes/s (compare with the
// machine's memory bandwidth, printed by BM_MemoryBandwidth) and the batched
// matrix kernel.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "ailake/index.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/matrix.h"

namespace {

using ailake::SimdLevel;
using ailake::vec::KernelTable;

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

void BM_L2F32(benchmark::State& state) {
  const KernelTable* k = ailake::vec::KernelsFor(static_cast<SimdLevel>(state.range(0)));
  if (k == nullptr) return state.SkipWithError("level not supported");
  const size_t d = static_cast<size_t>(state.range(1));
  auto a = Random(d, 1), b = Random(d, 2);
  for (auto _ : state) benchmark::DoNotOptimize(k->l2_f32(a.data(), b.data(), d));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d * 8));
}
BENCHMARK(BM_L2F32)->ArgsProduct({{0, 1, 2}, {128, 384, 768, 1536}});

void BM_DotF16(benchmark::State& state) {
  const KernelTable* k = ailake::vec::KernelsFor(static_cast<SimdLevel>(state.range(0)));
  if (k == nullptr) return state.SkipWithError("level not supported");
  const size_t d = static_cast<size_t>(state.range(1));
  auto a = Random(d, 1), b = Random(d, 2);
  std::vector<uint16_t> h(d);
  k->f32_to_f16(b.data(), h.data(), d);
  for (auto _ : state) benchmark::DoNotOptimize(k->dot_f16(a.data(), h.data(), d));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d * 6));
}
BENCHMARK(BM_DotF16)->ArgsProduct({{0, 1, 2}, {128, 768}});

// ADC scan of one inverted list (130 codes, as nlist 1024 over 133k rows) at
// m sub-spaces, per SIMD level: codes scored per second.
void BM_PqScan(benchmark::State& state) {
  const KernelTable* k = ailake::vec::KernelsFor(static_cast<SimdLevel>(state.range(0)));
  if (k == nullptr) return state.SkipWithError("level not supported");
  const size_t m = static_cast<size_t>(state.range(1)), n = 130;
  auto lut = Random(m * 256, 5);
  std::vector<uint8_t> codes(n * m);
  std::mt19937 rng(6);
  for (uint8_t& c : codes) c = static_cast<uint8_t>(rng());
  std::vector<float> out(n);
  for (auto _ : state) {
    k->pq_scan(codes.data(), n, m, lut.data(), 0.0f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_PqScan)->ArgsProduct({{0, 1, 2}, {16, 48, 64}});

// 4-bit fast-scan of one inverted list (5 blocks of 32 rows: 130 codes as
// nlist 1024 over 133k rows) at m sub-spaces, per SIMD level. range(2) = 0:
// the same list every time (codes in L1); 1: a different list each time,
// walking a 64 MiB array of codes (the probed lists of a large index, which
// come from the last-level cache or memory). Rows scored per second.
void BM_Pq4Scan(benchmark::State& state) {
  const KernelTable* k = ailake::vec::KernelsFor(static_cast<SimdLevel>(state.range(0)));
  if (k == nullptr) return state.SkipWithError("level not supported");
  const size_t m = static_cast<size_t>(state.range(1)), m2 = (m + 1) & ~size_t{1};
  const size_t nblocks = 5, list_bytes = nblocks * 16 * m2;
  const size_t lists = state.range(2) == 0 ? 1 : (size_t{64} << 20) / list_bytes;
  std::vector<uint8_t> codes(lists * list_bytes), lut(m2 * 16);
  std::mt19937 rng(6);
  for (uint8_t& c : codes) c = static_cast<uint8_t>(rng());
  for (uint8_t& c : lut) c = static_cast<uint8_t>(rng() % 256);
  std::vector<uint16_t> sums(nblocks * 32);
  std::vector<uint32_t> masks(nblocks);
  size_t l = 0;
  const uint32_t open = 65536;
  for (auto _ : state) {
    k->pq4_scan(codes.data() + l * list_bytes, nblocks, m, lut.data(), &open, 0, sums.data(),
                masks.data());
    benchmark::DoNotOptimize(sums.data());
    l = (l + 7919) % lists;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * nblocks * 32));
}
BENCHMARK(BM_Pq4Scan)->ArgsProduct({{0, 1, 2}, {48, 192}, {0, 1}});

// Plain streaming read of 512 MiB: the bandwidth the single-query scan is
// compared with. Reads go through the widest SIMD loads the machine has (the
// dispatched dot kernel of each 16 KiB chunk with itself, one load per
// element), since narrow loads leave fewer cache lines in flight and measure
// the core rather than the memory.
void BM_MemoryBandwidth(benchmark::State& state) {
  const size_t n = size_t{1} << 27, chunk = 4096;  // 512 MiB of floats
  auto x = Random(n, 3);
  const KernelTable& k = ailake::vec::Kernels();
  for (auto _ : state) {
    float s = 0;
    for (size_t i = 0; i < n; i += chunk) s += k.dot_f32(x.data() + i, x.data() + i, chunk);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * 4));
}
BENCHMARK(BM_MemoryBandwidth)->Unit(benchmark::kMillisecond);

struct FlatFixture {
  FlatFixture(uint32_t n, uint32_t d)
      : data(Random(size_t{n} * d, 4)), queries(Random(1000 * size_t{d}, 5)) {
    ailake::VectorStoragePolicy p;
    p.dim = d;
    p.metric = ailake::DistanceMetric::kEuclidean;
    p.index_type = ailake::IndexType::kFlat;
    view = ailake::VectorView::Contiguous(ailake::Precision::kF32, d, {},
                                          reinterpret_cast<const uint8_t*>(data.data()), n)
               .ValueOrDie();
    index = ailake::BuildIndex(p, view).ValueOrDie();
  }
  std::vector<float> data, queries;
  ailake::VectorView view;
  std::unique_ptr<ailake::VectorIndex> index;
};

// The coarse step of a batched IVF search: 32 queries against 1,024
// packed centroids (InnerProducts, the level Kernels() picks), at 128 and
// 384 dimensions. Products per second.
void BM_CoarseProducts(benchmark::State& state) {
  const size_t nq = 32, n = 1024, d = static_cast<size_t>(state.range(0));
  const auto c = Random(n * d, 8), q = Random(nq * d, 9);
  const ailake::vec::PackedRows packed = ailake::vec::PackRows(c.data(), n, d);
  std::vector<float> out(nq * n);
  for (auto _ : state) {
    ailake::vec::InnerProducts(q.data(), nq, packed, out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * nq * n));
}
BENCHMARK(BM_CoarseProducts)->Arg(128)->Arg(384);

void BM_FlatSingleQuery(benchmark::State& state) {
  const uint32_t n = 1 << 20, d = 128;
  static FlatFixture f(n, d);
  size_t i = 0;
  for (auto _ : state) {
    auto r = f.index->Search({&f.queries[(i++ % 1000) * d], d}, 10);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size_t{n} * d * 4));
}
BENCHMARK(BM_FlatSingleQuery)->Unit(benchmark::kMillisecond);

void BM_FlatBatch(benchmark::State& state) {
  const uint32_t n = 100000, d = 128;
  static FlatFixture f(n, d);
  const auto nq = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    auto r = f.index->SearchBatch({f.queries.data(), size_t{nq} * d}, nq, 10, {}, nullptr, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * nq));
}
BENCHMARK(BM_FlatBatch)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
