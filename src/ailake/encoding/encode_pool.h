// The process-wide pool that runs encode tasks (the FieldEncoder seed's
// "encode tasks run in parallel"). A task submitted here runs on a pool
// worker or, if no worker has started it by the time its result is wanted,
// on the thread that wants it: a writer never waits for a queued task, so
// writers running inside other pools (a table writer's background pool, a
// Ray worker) cannot deadlock on it, and a busy pool only slows writes.
// Thread-safe: any thread may submit and wait.
#pragma once

#include <memory>

#include <arrow/result.h>

#include "ailake/encoding/field_encoder.h"

namespace ailake::encoding {

// One submitted task; Get() returns its page, running it first when no
// worker has claimed it yet. Get() is called at most once.
class EncodeJob {
 public:
  virtual ~EncodeJob() = default;
  virtual arrow::Result<EncodedPage> Get() = 0;
  // Drops the task if no thread has started it, else waits until it ends.
  virtual void Cancel() = 0;
};

// Queues `task` on the shared encode pool (one worker per logical core).
std::shared_ptr<EncodeJob> SubmitEncodeTask(EncodeTask task);

}  // namespace ailake::encoding
