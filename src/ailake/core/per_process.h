// One object per process: worker pools whose threads a forked child does
// not have, and whose mutexes and condition variables the child inherits in
// whatever state the parent's threads left them (signalling such a
// condition variable can hang). PerProcess<T>(slot) returns the object of
// the calling process, making a new one the first time a process asks;
// objects are never destroyed (their threads may outlive static
// destructors). T has a default constructor and `pid_t pid() const`, the
// process it was made in. Thread-safe.
#pragma once

#include <atomic>

#include <unistd.h>

namespace ailake::core {

template <typename T>
T& PerProcess(std::atomic<T*>& slot) {
  T* p = slot.load(std::memory_order_acquire);
  const pid_t me = getpid();
  while (p == nullptr || p->pid() != me) {
    auto* fresh = new T();
    if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
    delete fresh;  // another thread installed one first: p
    if (p != nullptr && p->pid() == me) break;
  }
  return *p;
}

}  // namespace ailake::core
