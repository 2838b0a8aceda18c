#include "ailake/io/read_cache.h"

#include <gtest/gtest.h>

#include <arrow/io/memory.h>

#include <cstring>
#include <mutex>
#include <numeric>

namespace ailake::io {
namespace {

// A remote object that counts the ranged reads made of it.
class CountingFile : public arrow::io::RandomAccessFile {
 public:
  explicit CountingFile(std::shared_ptr<arrow::Buffer> b) : bytes_(std::move(b)) {}
  std::atomic<int> reads{0};
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::mutex mu;

  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    reads++;
    std::lock_guard<std::mutex> lock(mu);
    ranges.emplace_back(position, nbytes);
    if (position >= bytes_->size()) return std::make_shared<arrow::Buffer>(nullptr, 0);
    return arrow::SliceBuffer(bytes_, position, std::min(nbytes, bytes_->size() - position));
  }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(auto b, ReadAt(position, nbytes));
    std::memcpy(out, b->data(), static_cast<size_t>(b->size()));
    return b->size();
  }
  arrow::Status Close() override { return arrow::Status::OK(); }
  bool closed() const override { return false; }
  arrow::Result<int64_t> Tell() const override { return 0; }
  arrow::Status Seek(int64_t) override { return arrow::Status::NotImplemented("seek"); }
  arrow::Result<int64_t> Read(int64_t, void*) override {
    return arrow::Status::NotImplemented("read");
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t) override {
    return arrow::Status::NotImplemented("read");
  }
  arrow::Result<int64_t> GetSize() override { return bytes_->size(); }

 private:
  std::shared_ptr<arrow::Buffer> bytes_;
};

std::shared_ptr<arrow::Buffer> Bytes(int64_t n) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<uint8_t>(i * 7 + i / 251);
  return arrow::Buffer::FromVector(std::move(v));
}

class ReadCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClearReadCache();
    SetReadCacheCapacity(int64_t{64} << 20);
  }
  void TearDown() override {
    ClearReadCache();
    SetReadCacheCapacity(int64_t{256} << 20);
  }
  std::string Key() const {
    return std::string("test://") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
};

TEST_F(ReadCacheTest, ReadsAreExactAndRepeatsAreHits) {
  const int64_t size = 3 * kBlockBytes + 1234;
  auto bytes = Bytes(size);
  auto remote = std::make_shared<CountingFile>(bytes);
  auto counters = std::make_shared<IoCounters>();
  auto f = MakeCachedFile(remote, Key(), size, counters);
  // A read inside one block: one request for that block.
  auto a = f->ReadAt(10, 100).ValueOrDie();
  ASSERT_EQ(a->size(), 100);
  EXPECT_EQ(std::memcmp(a->data(), bytes->data() + 10, 100), 0);
  EXPECT_EQ(remote->reads.load(), 1);
  EXPECT_EQ(counters->Snapshot().cache_misses, 1);
  // The same block again: no request.
  auto b = f->ReadAt(kBlockBytes - 50, 50).ValueOrDie();
  EXPECT_EQ(std::memcmp(b->data(), bytes->data() + kBlockBytes - 50, 50), 0);
  EXPECT_EQ(remote->reads.load(), 1);
  EXPECT_EQ(counters->Snapshot().cache_hits, 1);
  // Across blocks 0..3 (0 cached, 1-3 missing): one request for the run.
  auto c = f->ReadAt(100, size - 100).ValueOrDie();
  ASSERT_EQ(c->size(), size - 100);
  EXPECT_EQ(std::memcmp(c->data(), bytes->data() + 100, static_cast<size_t>(size - 100)), 0);
  EXPECT_EQ(remote->reads.load(), 2);
  EXPECT_EQ(remote->ranges.back(), std::make_pair(kBlockBytes, size - kBlockBytes));
  // Past the end: short and empty reads, no request.
  EXPECT_EQ(f->ReadAt(size - 10, 100).ValueOrDie()->size(), 10);
  EXPECT_EQ(f->ReadAt(size + 5, 10).ValueOrDie()->size(), 0);
  EXPECT_EQ(remote->reads.load(), 2);
  EXPECT_FALSE(f->ReadAt(-1, 10).ok());
  // Another file object for the same key shares the blocks.
  auto g = MakeCachedFile(remote, Key(), size, counters);
  EXPECT_EQ(g->ReadAt(0, size).ValueOrDie()->ToString(), bytes->ToString());
  EXPECT_EQ(remote->reads.load(), 2);
  // Sequential reads through Read() follow the position.
  ASSERT_TRUE(g->Seek(5).ok());
  EXPECT_EQ(g->Read(3).ValueOrDie()->ToString(), bytes->ToString().substr(5, 3));
  EXPECT_EQ(g->Tell().ValueOrDie(), 8);
}

TEST_F(ReadCacheTest, LargeRunsAreSplitIntoConcurrentRequests) {
  const int64_t size = 2 * kMaxRequestBytes + 5 * kBlockBytes;
  auto bytes = Bytes(size);
  auto remote = std::make_shared<CountingFile>(bytes);
  auto counters = std::make_shared<IoCounters>();
  auto f = MakeCachedFile(remote, Key(), size, counters);
  auto all = f->ReadAt(0, size).ValueOrDie();
  EXPECT_TRUE(all->Equals(*bytes));
  EXPECT_EQ(remote->reads.load(), 3);
  for (const auto& [off, len] : remote->ranges) EXPECT_LE(len, kMaxRequestBytes);
  EXPECT_EQ(counters->Snapshot().get_requests, 3);
  EXPECT_EQ(counters->Snapshot().bytes_read, size);
}

TEST_F(ReadCacheTest, CapacityBoundsTheBytesHeld) {
  SetReadCacheCapacity(2 * kBlockBytes);
  const int64_t size = 8 * kBlockBytes;
  auto remote = std::make_shared<CountingFile>(Bytes(size));
  auto counters = std::make_shared<IoCounters>();
  auto f = MakeCachedFile(remote, Key(), size, counters);
  for (int64_t b = 0; b < 8; ++b) ASSERT_TRUE(f->ReadAt(b * kBlockBytes, 10).ok());
  EXPECT_LE(ReadCacheUsedBytes(), 2 * kBlockBytes);
  EXPECT_EQ(remote->reads.load(), 8);
  // The two most recent blocks are held, the first was evicted.
  ASSERT_TRUE(f->ReadAt(7 * kBlockBytes, 10).ok());
  EXPECT_EQ(remote->reads.load(), 8);
  ASSERT_TRUE(f->ReadAt(0, 10).ok());
  EXPECT_EQ(remote->reads.load(), 9);
  // Capacity 0: nothing is kept.
  SetReadCacheCapacity(0);
  EXPECT_EQ(ReadCacheUsedBytes(), 0);
  ASSERT_TRUE(f->ReadAt(0, 10).ok());
  ASSERT_TRUE(f->ReadAt(0, 10).ok());
  EXPECT_EQ(remote->reads.load(), 11);
}

TEST_F(ReadCacheTest, ShortRemoteReadIsAnError) {
  const int64_t size = 1000;
  // The object is shorter than its recorded size (a wrong manifest entry).
  auto remote = std::make_shared<CountingFile>(Bytes(500));
  auto f = MakeCachedFile(remote, Key(), size, std::make_shared<IoCounters>());
  auto r = f->ReadAt(0, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("returned 500 bytes"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace ailake::io
