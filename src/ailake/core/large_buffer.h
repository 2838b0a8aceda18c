// Buffers for the large regions a search reads at random: vector columns,
// index blobs. A search touches one row here, one node there, each on a
// different 4 KiB page, so on a large region most reads also miss the TLB;
// under virtualization each such miss walks two sets of page tables. A
// region of kLargeBufferMin bytes or more is therefore mapped on its own,
// 2 MiB aligned, and advised to use transparent huge pages before its first
// write (Linux madvise MADV_HUGEPAGE). The kernel may decline: the memory is
// then ordinary pages, and nothing else changes. Smaller regions come from
// Arrow's default memory pool.
//
// Costs: each large buffer's resident size is rounded up to the next 2 MiB
// (under 2 MiB more than asked, only for buffers of kLargeBufferMin or more),
// and its bytes are not counted by Arrow's memory pool.
//
// AILAKE_HUGE_PAGES=0 in the environment turns the advice off (the buffers
// are then plain mappings); any other value, or none, leaves it on.
//
// Thread-safety: the functions are safe to call from any thread; a returned
// buffer is as safe to share as any arrow::Buffer.
#pragma once

#include <cstdint>
#include <memory>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>

namespace ailake::core {

inline constexpr int64_t kLargeBufferMin = int64_t{4} << 20;

// A zeroed, 64-byte aligned mutable buffer of `size` bytes (huge-page advised
// when size >= kLargeBufferMin).
arrow::Result<std::shared_ptr<arrow::Buffer>> AllocateLargeBuffer(int64_t size);

// Bytes [offset, offset + length) of `file`. A file that can hand out its
// bytes without copying (memory-mapped, in memory) does so; otherwise the
// bytes are read into AllocateLargeBuffer's memory. Fewer bytes than asked
// (the file ends) is an IOError naming the offset.
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadLarge(arrow::io::RandomAccessFile* file,
                                                        int64_t offset, int64_t length);

// Whether large buffers are advised to use huge pages in this process
// (AILAKE_HUGE_PAGES, read once).
bool HugePagesAdvised();

}  // namespace ailake::core
