#include "ailake/vec/pq.h"

#include <cstring>

#include "ailake/vec/kmeans.h"
#include "ailake/vec/matrix.h"
#include "ailake/vec/parallel.h"

namespace ailake::vec {
namespace {

// Sub-vectors j of rows [0, n) as an n x dsub matrix.
void Gather(const float* x, size_t n, size_t d, size_t j, size_t dsub, float* out) {
  for (size_t i = 0; i < n; ++i) std::memcpy(out + i * dsub, x + i * d + j * dsub, dsub * 4);
}

}  // namespace

std::vector<float> TrainProductQuantizer(const float* x, size_t n, size_t d, uint32_t m,
                                         uint32_t ksub, uint32_t iterations, uint64_t seed,
                                         uint32_t threads) {
  const size_t dsub = d / m;
  std::vector<float> books(size_t{m} * ksub * dsub);
  // Sub-spaces train in parallel, each k-means single-threaded.
  ParallelFor(m, threads, 1, [&](size_t b, size_t e, uint32_t) {
    std::vector<float> sub(n * dsub);
    for (size_t j = b; j < e; ++j) {
      Gather(x, n, d, j, dsub, sub.data());
      KMeansOptions o;
      o.k = ksub;
      o.iterations = iterations;
      o.seed = seed + j;
      o.threads = 1;
      const auto c = KMeans(sub.data(), n, dsub, o);
      std::memcpy(&books[j * ksub * dsub], c.data(), c.size() * 4);
    }
  });
  return books;
}

void EncodeProductQuantizer(const float* codebooks, size_t d, uint32_t m, uint32_t ksub,
                            const float* x, size_t n, uint8_t* codes, uint32_t threads) {
  const size_t dsub = d / m;
  std::vector<PackedRows> packed(m);
  for (uint32_t j = 0; j < m; ++j) {
    packed[j] = PackRows(codebooks + size_t{j} * ksub * dsub, ksub, dsub);
  }
  constexpr size_t kChunk = 1024;
  ParallelFor(n, threads, kChunk, [&](size_t b, size_t e, uint32_t) {
    std::vector<float> sub((e - b) * dsub), dist(e - b);
    std::vector<uint32_t> idx(e - b);
    for (uint32_t j = 0; j < m; ++j) {
      Gather(x + b * d, e - b, d, j, dsub, sub.data());
      NearestL2(sub.data(), e - b, packed[j], idx.data(), dist.data());
      for (size_t i = 0; i < e - b; ++i) codes[(b + i) * m + j] = static_cast<uint8_t>(idx[i]);
    }
  });
}

void DecodeProductQuantizer(const float* codebooks, size_t d, uint32_t m, uint32_t ksub,
                            const uint8_t* code, float* out) {
  const size_t dsub = d / m;
  for (uint32_t j = 0; j < m; ++j) {
    std::memcpy(out + j * dsub, codebooks + (size_t{j} * ksub + code[j]) * dsub, dsub * 4);
  }
}

}  // namespace ailake::vec
