// ParallelFor: splits [0, n) into chunks handed to `threads` workers (the
// calling thread is one of them). No pool: index builds and training are long
// enough that thread start-up is noise.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace ailake::vec {

// Threads to use for a request: 0 = all logical cores; never more than `work`.
inline uint32_t ResolveThreads(uint32_t requested, size_t work) {
  uint32_t t = requested;
  if (t == 0) {
    t = std::thread::hardware_concurrency();
    if (t == 0) t = 1;
  }
  if (work < t) t = work == 0 ? 1 : static_cast<uint32_t>(work);
  return t;
}

// fn(begin, end, worker) over chunks of `grain` items; workers in [0, threads).
inline void ParallelFor(size_t n, uint32_t threads, size_t grain,
                        const std::function<void(size_t, size_t, uint32_t)>& fn) {
  if (grain == 0) grain = 1;
  threads = ResolveThreads(threads, (n + grain - 1) / grain);
  if (threads <= 1) {
    if (n > 0) fn(0, n, 0);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&](uint32_t w) {
    for (;;) {
      const size_t b = next.fetch_add(grain, std::memory_order_relaxed);
      if (b >= n) return;
      fn(b, b + grain < n ? b + grain : n, w);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (uint32_t w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
}

}  // namespace ailake::vec
