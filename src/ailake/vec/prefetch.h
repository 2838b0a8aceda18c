// Prefetch hints that the compiler keeps.
//
// GCC gives __builtin_prefetch no side effect. A function whose only work is
// prefetching (a Prefetch(row) helper, or a lambda looping over a row's cache
// lines) is then classed "pure" when it is not inlined early, and a call to
// it, having no result to use, is deleted with its prefetches: before these
// helpers most of the library's prefetches never reached the binary. The
// empty volatile asm that names the address is a side effect the compiler must
// keep; it costs no instruction.
#pragma once

#include <cstddef>

namespace ailake::vec {

// Starts loading the cache line holding p.
inline void PrefetchLine(const void* p) {
  __builtin_prefetch(p);
  asm volatile("" : : "r"(p));
}

// Starts loading every cache line of [p, p + bytes).
inline void PrefetchBytes(const void* p, size_t bytes) {
  if (bytes == 0) return;
  const auto* c = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off);
  __builtin_prefetch(c + bytes - 1);  // the last line, when p is not line-aligned
  asm volatile("" : : "r"(c));
}

}  // namespace ailake::vec
