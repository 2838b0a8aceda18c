// A process-wide pool of worker threads for searches, so that a query over
// a few files does not pay for starting threads (tens of microseconds each,
// as much as an index search of a small file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace ailake::query {

// Runs fn(i) for every i in [0, n), on the calling thread and up to
// threads - 1 pool workers (threads 0 = all logical cores), and returns when
// every call has returned. The caller takes items too, so a call made while
// every worker is busy (or from a worker) still completes: it never waits
// for a worker that has not started an item. Safe to call from many threads.
void RunParallel(size_t n, uint32_t threads, const std::function<void(size_t)>& fn);

}  // namespace ailake::query
