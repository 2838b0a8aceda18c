// The process-wide block cache of remote objects, and a RandomAccessFile that
// reads a remote object through it.
//
// Blocks are kBlockBytes long, aligned on multiples of it from the start of
// the object. A read takes the blocks it covers from the cache; the missing
// ones are fetched by ranged requests, one per run of adjacent missing blocks
// (split in parts of at most kMaxRequestBytes, issued concurrently), and kept.
// Keys hold the object's path and size: only objects that are never replaced
// under their name may be read this way (data files and index files are not).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/future.h>

#include "ailake/storage.h"

namespace ailake::io {

// Counters shared by a store and the files it opened.
struct IoCounters {
  std::atomic<int64_t> get{0}, head{0}, put{0}, list{0}, del{0};
  std::atomic<int64_t> bytes_read{0}, bytes_written{0}, hits{0}, misses{0};
  IoStats Snapshot() const;
};

inline constexpr int64_t kBlockBytes = int64_t{256} << 10;
inline constexpr int64_t kMaxRequestBytes = int64_t{8} << 20;

// A file that can also read one range exactly, outside the block cache: for
// scattered small reads (a few rows of a large column) whose blocks would be
// mostly wasted. Blocks already cached still serve such a read.
class ExactRangeReader {
 public:
  virtual ~ExactRangeReader() = default;
  virtual arrow::Future<std::shared_ptr<arrow::Buffer>> ReadExactAsync(int64_t offset,
                                                                       int64_t length) = 0;
};

// `remote` must answer ReadAt / ReadAsync with one request each (as Arrow's
// S3 files do); `key` names the object uniquely within the process.
std::shared_ptr<arrow::io::RandomAccessFile> MakeCachedFile(
    std::shared_ptr<arrow::io::RandomAccessFile> remote, std::string key, int64_t size,
    std::shared_ptr<IoCounters> counters);

}  // namespace ailake::io
