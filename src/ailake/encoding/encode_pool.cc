#include "ailake/encoding/encode_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>

#include <vector>

#include "ailake/core/per_process.h"

namespace ailake::encoding {
namespace {

class Job : public EncodeJob {
 public:
  explicit Job(EncodeTask task) : task_(std::move(task)), future_(promise_.get_future()) {}

  // Runs the task unless another thread claimed it.
  void RunIfUnclaimed() {
    if (claimed_.exchange(true)) return;
    EncodeTask task = std::move(task_);
    try {
      promise_.set_value(task());
    } catch (const std::exception& e) {
      promise_.set_value(arrow::Status::UnknownError("encode task failed: ", e.what()));
    }
  }
  arrow::Result<EncodedPage> Get() override {
    RunIfUnclaimed();
    return future_.get();
  }
  void Cancel() override {
    if (!claimed_.exchange(true)) {
      task_ = nullptr;
      promise_.set_value(arrow::Status::Cancelled("encode task dropped"));
    }
    future_.wait();
  }

 private:
  std::atomic<bool> claimed_{false};
  EncodeTask task_;
  std::promise<arrow::Result<EncodedPage>> promise_;
  std::future<arrow::Result<EncodedPage>> future_;
};

// One process's pool. Workers start with the first task. A process forked
// from one whose pool was running gets its own pool (the parent's mutex and
// condition variable may be in any state in the child, and its workers are
// not there): see SharedPool.
class Pool {
 public:
  Pool() : pid_(getpid()) {}
  pid_t pid() const { return pid_; }
  void Post(std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (workers_.empty()) {
        const unsigned n = std::max(1u, std::thread::hardware_concurrency());
        workers_.reserve(n);
        for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { Loop(); });
      }
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    while (true) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job->RunIfUnclaimed();
    }
  }

  const pid_t pid_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> workers_;
};

// The calling process's pool. Pools are never destroyed (workers may
// outlive static destructors; they idle on the condition variable).
Pool& SharedPool() {
  static std::atomic<Pool*> slot{nullptr};
  return core::PerProcess(slot);
}

}  // namespace

std::shared_ptr<EncodeJob> SubmitEncodeTask(EncodeTask task) {
  auto job = std::make_shared<Job>(std::move(task));
  SharedPool().Post(job);
  return job;
}

}  // namespace ailake::encoding
