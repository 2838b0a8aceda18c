// Object storage used by the file and table layers.
//
// Paths are '/'-separated and relative to the store's root. The one operation
// the table layer's atomic commits rest on is PutIfAbsent: the object either
// appears complete under its name, or the call fails with AlreadyExists and
// nothing is visible. On a local filesystem that is a write to a private
// temporary file, fsync, then link(2) to the final name (which fails if the
// name exists), so a reader can never observe a partial object, even if the
// writer is killed at any point. On S3 it is a PUT with "If-None-Match: *"
// (S3 conditional writes), signed and sent through libcurl, because Arrow's
// S3 filesystem, which carries every other request, cannot send that header.
//
// Thread safety: a store is safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/storage.h"

namespace ailake::io {

struct ObjectInfo {
  std::string path;             // relative to the store root
  int64_t size = 0;             // bytes
  int64_t modified_unix_s = 0;  // last modification, seconds since the epoch
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Root as given when opened (a local directory path or an s3:// URI).
  virtual const std::string& root() const = 0;
  // Whether objects live on this machine's disk (memory-mapped reads).
  virtual bool is_local() const = 0;

  // Creates `path` with `data` only if no object of that name exists.
  // Returns AlreadyExists (and writes nothing visible) otherwise.
  virtual arrow::Status PutIfAbsent(std::string_view path, const arrow::Buffer& data) = 0;
  // Creates or replaces `path` atomically (readers see the old or the new object).
  virtual arrow::Status Put(std::string_view path, const arrow::Buffer& data) = 0;
  // Whole object. `size` >= 0 (known from a listing) spares a remote store
  // the request that learns it.
  virtual arrow::Result<std::shared_ptr<arrow::Buffer>> Read(std::string_view path,
                                                             int64_t size = -1) = 0;
  // Random access; memory-mapped where the store is local. Remote objects
  // are read by ranged requests through the process-wide read cache, which
  // assumes the object is never replaced (data files, index files). With
  // `size` >= 0 (the object's known size) no request is made to learn it.
  virtual arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenRead(
      std::string_view path, int64_t size = -1) = 0;
  // A stream for writing a large object; the object becomes visible under
  // `path` only when the stream is closed (write-to-temporary then rename).
  virtual arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenWrite(
      std::string_view path) = 0;
  // Objects directly under `dir` (not recursive), sorted by path. A missing
  // directory lists as empty.
  virtual arrow::Result<std::vector<ObjectInfo>> List(std::string_view dir) = 0;
  // Temporaries under `dir` that a killed writer left (a local store's
  // private "*.tmp.*" files; a remote store has none: its writes appear whole
  // or not at all). For Cleanup.
  virtual arrow::Result<std::vector<ObjectInfo>> ListTemporaries(std::string_view dir) = 0;
  virtual arrow::Result<bool> Exists(std::string_view path) = 0;
  // Deletes an object; deleting a missing object is OK.
  virtual arrow::Status Delete(std::string_view path) = 0;
  // Requests issued since the store was opened (all zero for a local store).
  virtual IoStats stats() const = 0;
};

// Opens a store rooted at a local directory ("path" or "file://path"; folders
// are created by writes) or an S3 prefix ("s3://bucket/prefix"), with the
// settings of include/ailake/storage.h. Other schemes are refused.
arrow::Result<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view uri,
                                                            const StorageOptions& options = {});

// Checks a relative object path: not empty, not absolute, no "." or "..".
arrow::Status CheckRelative(std::string_view path);

// Joins path pieces with '/'.
std::string JoinPath(std::string_view a, std::string_view b);

// A local file mapped read-only once, read through a BufferReader: every
// read is a slice of the mapping, without a system call (Arrow's
// MemoryMappedFile advises the kernel on each read, ~0.5 us, which
// dominates takes of single rows). The mapping lives while any slice does.
// Thread-safe for concurrent reads. An empty file is an empty buffer.
arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> MapReadOnly(const std::string& path);

}  // namespace ailake::io
