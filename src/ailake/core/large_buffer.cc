#include "ailake/core/large_buffer.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/mman.h>

#include <arrow/memory_pool.h>

namespace ailake::core {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// The setting of AILAKE_HUGE_PAGES: 1 on, 0 off, -1 a value it does not take.
int HugePagesSetting() {
  static const int setting = [] {
    const char* v = std::getenv("AILAKE_HUGE_PAGES");
    if (v == nullptr || std::strcmp(v, "1") == 0) return 1;
    if (std::strcmp(v, "0") == 0) return 0;
    return -1;
  }();
  return setting;
}

// A private anonymous mapping, 2 MiB aligned, unmapped with the buffer.
class MappedBuffer final : public arrow::MutableBuffer {
 public:
  MappedBuffer(uint8_t* data, int64_t size, size_t map_bytes)
      : arrow::MutableBuffer(data, size), map_bytes_(map_bytes) {}
  ~MappedBuffer() override { munmap(mutable_data(), map_bytes_); }
  MappedBuffer(const MappedBuffer&) = delete;
  MappedBuffer& operator=(const MappedBuffer&) = delete;

 private:
  size_t map_bytes_;
};

std::string BadSettingMessage() {
  return std::string("AILAKE_HUGE_PAGES is '") + std::getenv("AILAKE_HUGE_PAGES") +
         "'; it takes 0 (no huge-page advice) or 1";
}

// Bytes mapped for a large request: whole huge pages.
size_t MappedBytes(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// A private anonymous mapping of `bytes` (a multiple of 2 MiB) at a 2 MiB
// boundary, advised to use huge pages; null when mmap fails. One huge page
// more than needed is mapped and the unaligned ends are given back, so that
// every 2 MiB of the region can be one huge page.
void* MapAligned(size_t bytes) {
  const size_t span = bytes + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto* const first = static_cast<uint8_t*>(raw);
  const size_t head = (kHugePage - reinterpret_cast<uintptr_t>(raw) % kHugePage) % kHugePage;
  uint8_t* const start = first + head;
  const size_t tail = span - head - bytes;
  if (head > 0) munmap(first, head);
  if (tail > 0) munmap(start + bytes, tail);
  // Advice only: where the kernel has no transparent huge pages the call
  // fails and the mapping stays as it is, ordinary pages.
  if (HugePagesSetting() == 1) (void)madvise(start, bytes, MADV_HUGEPAGE);
  return start;
}

}  // namespace

bool HugePagesAdvised() { return HugePagesSetting() == 1; }

arrow::Result<std::shared_ptr<arrow::Buffer>> AllocateLargeBuffer(int64_t size) {
  if (size < 0) return arrow::Status::Invalid("AllocateLargeBuffer: negative size ", size);
  if (HugePagesSetting() < 0) {
    return arrow::Status::Invalid(BadSettingMessage());
  }
  if (size < kLargeBufferMin) {
    ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> small, arrow::AllocateBuffer(size));
    if (size > 0) std::memset(small->mutable_data(), 0, static_cast<size_t>(size));
    return std::shared_ptr<arrow::Buffer>(std::move(small));
  }
  const size_t want = MappedBytes(static_cast<size_t>(size));
  auto* data = static_cast<uint8_t*>(MapAligned(want));
  if (data == nullptr) {
    return arrow::Status::OutOfMemory("AllocateLargeBuffer: mmap of ", want,
                                      " bytes failed: ", std::strerror(errno));
  }
  return std::make_shared<MappedBuffer>(data, size, want);
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadLarge(arrow::io::RandomAccessFile* file,
                                                        int64_t offset, int64_t length) {
  if (offset < 0 || length < 0) {
    return arrow::Status::Invalid("ReadLarge: offset ", offset, ", length ", length);
  }
  std::shared_ptr<arrow::Buffer> out;
  if (length < kLargeBufferMin || file->supports_zero_copy()) {
    ARROW_ASSIGN_OR_RAISE(out, file->ReadAt(offset, length));
  } else {
    ARROW_ASSIGN_OR_RAISE(out, AllocateLargeBuffer(length));
    int64_t got = 0;
    while (got < length) {
      ARROW_ASSIGN_OR_RAISE(const int64_t n,
                            file->ReadAt(offset + got, length - got, out->mutable_data() + got));
      if (n <= 0) break;
      got += n;
    }
    if (got != length) {
      return arrow::Status::IOError("short read at file offset ", offset, ": ", got, " of ", length,
                                    " bytes");
    }
  }
  if (out->size() != length) {
    return arrow::Status::IOError("short read at file offset ", offset, ": ", out->size(), " of ",
                                  length, " bytes");
  }
  return out;
}

}  // namespace ailake::core
