#include "ailake/io/read_cache.h"

#include <algorithm>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <arrow/util/future.h>

namespace ailake {

IoStats& IoStats::operator-=(const IoStats& o) {
  requests -= o.requests;
  get_requests -= o.get_requests;
  head_requests -= o.head_requests;
  put_requests -= o.put_requests;
  list_requests -= o.list_requests;
  delete_requests -= o.delete_requests;
  bytes_read -= o.bytes_read;
  bytes_written -= o.bytes_written;
  cache_hits -= o.cache_hits;
  cache_misses -= o.cache_misses;
  return *this;
}

IoStats operator-(IoStats a, const IoStats& b) { return a -= b; }

namespace io {
namespace {

// Least recently used blocks leave first once the bytes held pass capacity.
class BlockCache {
 public:
  static BlockCache& Instance() {
    static BlockCache* cache = new BlockCache();  // never destroyed: used at exit
    return *cache;
  }

  std::shared_ptr<arrow::Buffer> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return it->second.block;
  }

  void Insert(const std::string& key, std::shared_ptr<arrow::Buffer> block) {
    std::lock_guard<std::mutex> lock(mu_);
    if (capacity_ <= 0 || map_.count(key) != 0) return;
    lru_.push_front(key);
    used_ += block->size();
    map_.emplace(key, Entry{std::move(block), lru_.begin()});
    EvictLocked();
  }

  void SetCapacity(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = std::max<int64_t>(0, bytes);
    EvictLocked();
  }
  int64_t capacity() {
    std::lock_guard<std::mutex> lock(mu_);
    return capacity_;
  }
  int64_t used() {
    std::lock_guard<std::mutex> lock(mu_);
    return used_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    lru_.clear();
    used_ = 0;
  }

 private:
  struct Entry {
    std::shared_ptr<arrow::Buffer> block;
    std::list<std::string>::iterator pos;
  };
  void EvictLocked() {
    while (used_ > capacity_ && !lru_.empty()) {
      auto it = map_.find(lru_.back());
      used_ -= it->second.block->size();
      map_.erase(it);
      lru_.pop_back();
    }
  }

  std::mutex mu_;
  int64_t capacity_ = int64_t{256} << 20;
  int64_t used_ = 0;
  std::list<std::string> lru_;
  std::unordered_map<std::string, Entry> map_;
};

class CachedFile : public arrow::io::RandomAccessFile, public ExactRangeReader {
 public:
  CachedFile(std::shared_ptr<arrow::io::RandomAccessFile> remote, std::string key, int64_t size,
             std::shared_ptr<IoCounters> counters)
      : remote_(std::move(remote)),
        key_(std::move(key)),
        size_(size),
        counters_(std::move(counters)) {}

  arrow::Status Close() override {
    closed_ = true;
    return remote_->Close();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return pos_.load(); }
  arrow::Status Seek(int64_t position) override {
    if (position < 0 || position > size_) {
      return arrow::Status::IOError("seek to ", position, " outside object of ", size_, " bytes");
    }
    pos_ = position;
    return arrow::Status::OK();
  }
  arrow::Result<int64_t> GetSize() override { return size_; }

  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t n, ReadAt(pos_.load(), nbytes, out));
    pos_ += n;
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto buf, ReadAt(pos_.load(), nbytes));
    pos_ += buf->size();
    return buf;
  }

  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(auto buf, ReadAt(position, nbytes));
    if (buf->size() > 0) std::memcpy(out, buf->data(), static_cast<size_t>(buf->size()));
    return buf->size();
  }

  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    if (closed_) return arrow::Status::Invalid("read from a closed file");
    if (position < 0 || nbytes < 0) {
      return arrow::Status::Invalid("read of ", nbytes, " bytes at offset ", position);
    }
    if (position >= size_ || nbytes == 0) return std::make_shared<arrow::Buffer>(nullptr, 0);
    nbytes = std::min(nbytes, size_ - position);
    const int64_t first = position / kBlockBytes;
    const int64_t last = (position + nbytes - 1) / kBlockBytes;
    std::vector<std::shared_ptr<arrow::Buffer>> blocks(static_cast<size_t>(last - first + 1));
    BlockCache& cache = BlockCache::Instance();
    for (int64_t b = first; b <= last; ++b) {
      blocks[static_cast<size_t>(b - first)] = cache.Find(BlockKey(b));
    }
    ARROW_RETURN_NOT_OK(FetchMissing(first, &blocks));
    if (first == last) {
      return arrow::SliceBuffer(blocks[0], position - first * kBlockBytes, nbytes);
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> out, arrow::AllocateBuffer(nbytes));
    uint8_t* dst = out->mutable_data();
    int64_t at = position;
    for (int64_t b = first; b <= last; ++b) {
      const auto& blk = blocks[static_cast<size_t>(b - first)];
      const int64_t off = at - b * kBlockBytes;
      const int64_t take = std::min(blk->size() - off, position + nbytes - at);
      std::memcpy(dst + (at - position), blk->data() + off, static_cast<size_t>(take));
      at += take;
    }
    return out;
  }

  arrow::Future<std::shared_ptr<arrow::Buffer>> ReadExactAsync(int64_t offset,
                                                               int64_t length) override {
    using Fut = arrow::Future<std::shared_ptr<arrow::Buffer>>;
    if (offset < 0 || length < 0 || offset > size_ || length > size_ - offset) {
      return Fut::MakeFinished(arrow::Status::Invalid("read of ", length, " bytes at offset ",
                                                      offset, " of a ", size_, "-byte object"));
    }
    if (length == 0) return Fut::MakeFinished(std::make_shared<arrow::Buffer>(nullptr, 0));
    // Served from the cache when every block it covers is there.
    const int64_t first = offset / kBlockBytes, last = (offset + length - 1) / kBlockBytes;
    BlockCache& cache = BlockCache::Instance();
    std::vector<std::shared_ptr<arrow::Buffer>> blocks;
    for (int64_t b = first; b <= last; ++b) {
      auto blk = cache.Find(BlockKey(b));
      if (!blk) break;
      blocks.push_back(std::move(blk));
    }
    if (static_cast<int64_t>(blocks.size()) == last - first + 1) {
      counters_->hits += last - first + 1;
      return Fut::MakeFinished(ReadAt(offset, length));
    }
    counters_->get++;
    counters_->bytes_read += length;
    return remote_->ReadAsync(arrow::io::default_io_context(), offset, length);
  }

 private:
  std::string BlockKey(int64_t block) const { return key_ + "#" + std::to_string(block); }

  // Fetches the null entries of `blocks` (block `first` onwards): one request
  // per part of a run of missing blocks, all in flight at once.
  arrow::Status FetchMissing(int64_t first, std::vector<std::shared_ptr<arrow::Buffer>>* blocks) {
    struct Part {
      int64_t block = 0;  // first block of the part
      int64_t offset = 0;
      int64_t length = 0;
    };
    std::vector<Part> parts;
    const int64_t n = static_cast<int64_t>(blocks->size());
    const int64_t per_part = kMaxRequestBytes / kBlockBytes;
    for (int64_t i = 0; i < n;) {
      if ((*blocks)[static_cast<size_t>(i)]) {
        counters_->hits++;
        ++i;
        continue;
      }
      int64_t j = i;
      while (j < n && !(*blocks)[static_cast<size_t>(j)] && j - i < per_part) ++j;
      const int64_t off = (first + i) * kBlockBytes;
      parts.push_back({first + i, off, std::min(size_, (first + j) * kBlockBytes) - off});
      counters_->misses += j - i;
      i = j;
    }
    if (parts.empty()) return arrow::Status::OK();
    std::vector<arrow::Future<std::shared_ptr<arrow::Buffer>>> futures;
    futures.reserve(parts.size());
    for (const auto& p : parts) {
      counters_->get++;
      futures.push_back(
          parts.size() == 1
              ? arrow::Future<std::shared_ptr<arrow::Buffer>>::MakeFinished(
                    remote_->ReadAt(p.offset, p.length))
              : remote_->ReadAsync(arrow::io::default_io_context(), p.offset, p.length));
    }
    BlockCache& cache = BlockCache::Instance();
    arrow::Status first_error;
    for (size_t k = 0; k < parts.size(); ++k) {
      auto got = futures[k].result();
      if (!got.ok()) {
        if (first_error.ok()) first_error = got.status();
        continue;
      }
      std::shared_ptr<arrow::Buffer> data = std::move(*got);
      const Part& p = parts[k];
      if (data->size() != p.length) {
        if (first_error.ok()) {
          first_error =
              arrow::Status::IOError("ranged read of ", p.length, " bytes at offset ", p.offset,
                                     " of '", key_, "' returned ", data->size(), " bytes");
        }
        continue;
      }
      counters_->bytes_read += data->size();
      for (int64_t at = 0; at < p.length; at += kBlockBytes) {
        const int64_t b = p.block + at / kBlockBytes;
        auto blk = arrow::SliceBuffer(data, at, std::min(kBlockBytes, p.length - at));
        cache.Insert(BlockKey(b), blk);
        (*blocks)[static_cast<size_t>(b - first)] = std::move(blk);
      }
    }
    return first_error;
  }

  std::shared_ptr<arrow::io::RandomAccessFile> remote_;
  std::string key_;
  int64_t size_;
  std::shared_ptr<IoCounters> counters_;
  std::atomic<int64_t> pos_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace

IoStats IoCounters::Snapshot() const {
  IoStats s;
  s.get_requests = get.load();
  s.head_requests = head.load();
  s.put_requests = put.load();
  s.list_requests = list.load();
  s.delete_requests = del.load();
  s.requests =
      s.get_requests + s.head_requests + s.put_requests + s.list_requests + s.delete_requests;
  s.bytes_read = bytes_read.load();
  s.bytes_written = bytes_written.load();
  s.cache_hits = hits.load();
  s.cache_misses = misses.load();
  return s;
}

std::shared_ptr<arrow::io::RandomAccessFile> MakeCachedFile(
    std::shared_ptr<arrow::io::RandomAccessFile> remote, std::string key, int64_t size,
    std::shared_ptr<IoCounters> counters) {
  return std::make_shared<CachedFile>(std::move(remote), std::move(key), size, std::move(counters));
}

}  // namespace io

int64_t ReadCacheCapacity() { return io::BlockCache::Instance().capacity(); }
void SetReadCacheCapacity(int64_t bytes) { io::BlockCache::Instance().SetCapacity(bytes); }
int64_t ReadCacheUsedBytes() { return io::BlockCache::Instance().used(); }
void ClearReadCache() { io::BlockCache::Instance().Clear(); }

}  // namespace ailake
