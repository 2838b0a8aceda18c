#include "ailake/query/search_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ailake/core/per_process.h"

namespace ailake::query {
namespace {

// One RunParallel call. Items are claimed through `next`; `finished` counts
// the calls of fn that returned. A worker may still hold the Job (through
// its shared_ptr) after the caller returned, but never calls fn then: every
// item was claimed before the caller stopped waiting.
struct Job {
  size_t n = 0;
  const std::function<void(size_t)>* fn = nullptr;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  size_t finished = 0;

  // Claims and runs items until none is left; true if it ran any.
  void Work() {
    size_t ran = 0;
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      (*fn)(i);
      ++ran;
    }
    if (ran) {
      std::lock_guard<std::mutex> lock(mu);
      finished += ran;
      if (finished == n) cv.notify_all();
    }
  }
};

class Pool {
 public:
  Pool() : pid_(getpid()) {
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 1; i < hw; ++i) workers_.emplace_back([this] { Loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  size_t size() const { return workers_.size(); }
  pid_t pid() const { return pid_; }
  void Post(const std::shared_ptr<Job>& job, size_t helpers) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < helpers; ++i) queue_.push_back(job);
    }
    if (helpers == 1) {
      cv_.notify_one();
    } else {
      cv_.notify_all();
    }
  }

 private:
  void Loop() {
    while (true) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job->Work();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stop_ = false;
  const pid_t pid_;
  std::vector<std::thread> workers_;
};

// The calling process's pool, never destroyed (workers may outlive static
// destructors). A process forked after the pool ran gets a pool of its own:
// the parent's workers are not in the child and its mutex and condition
// variable may be left in any state (signalling them could hang).
Pool& SharedPool() {
  static std::atomic<Pool*> slot{nullptr};
  return core::PerProcess(slot);
}

}  // namespace

void RunParallel(size_t n, uint32_t threads, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  Pool& pool = SharedPool();
  size_t helpers = threads == 0 ? pool.size() : threads - 1;
  helpers = std::min({helpers, pool.size(), n - 1});
  if (helpers == 0) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->n = n;
  job->fn = &fn;
  pool.Post(job, helpers);
  job->Work();
  std::unique_lock<std::mutex> lock(job->mu);
  job->cv.wait(lock, [&] { return job->finished == n; });
}

}  // namespace ailake::query
