#include "ailake/core/large_buffer.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace ailake::core {
namespace {

using ::testing::HasSubstr;

bool AllZero(const arrow::Buffer& b) {
  for (int64_t i = 0; i < b.size(); ++i) {
    if (b.data()[i] != 0) return false;
  }
  return true;
}

// The VmFlags line of /proc/self/smaps for the mapping holding `p`.
std::string VmFlagsOf(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find('-') < 17) {
      inside = addr >= lo && addr < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

// Whether this kernel offers transparent huge pages on advice.
bool KernelAdvisesHugePages() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s;
  std::getline(f, s);
  return !s.empty() && s.find("[never]") == std::string::npos;
}

TEST(LargeBuffer, SmallBuffersComeZeroedAndAligned) {
  auto b_r = AllocateLargeBuffer(1000);
  ASSERT_TRUE(b_r.ok()) << b_r.status();
  const auto& b = *b_r;
  EXPECT_EQ(b->size(), 1000);
  EXPECT_TRUE(b->is_mutable());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % 64, 0u);
  EXPECT_TRUE(AllZero(*b));
  auto empty_r = AllocateLargeBuffer(0);
  ASSERT_TRUE(empty_r.ok()) << empty_r.status();
  const auto& empty = *empty_r;
  EXPECT_EQ(empty->size(), 0);
  EXPECT_THAT(AllocateLargeBuffer(-1).status().ToString(), HasSubstr("negative size -1"));
}

TEST(LargeBuffer, LargeBuffersAreHugePageAlignedZeroedWritableAndAdvised) {
  const int64_t size = kLargeBufferMin + (int64_t{1} << 20) + 123;
  auto b_r = AllocateLargeBuffer(size);
  ASSERT_TRUE(b_r.ok()) << b_r.status();
  const auto& b = *b_r;
  EXPECT_EQ(b->size(), size);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % (uintptr_t{2} << 20), 0u);
  EXPECT_TRUE(AllZero(*b));
  for (int64_t i = 0; i < size; i += 4093) b->mutable_data()[i] = static_cast<uint8_t>(i);
  b->mutable_data()[size - 1] = 7;
  EXPECT_EQ(b->data()[4093], static_cast<uint8_t>(4093));
  EXPECT_EQ(b->data()[size - 1], 7);
  EXPECT_THAT(VmFlagsOf(b->data()), HasSubstr("VmFlags:"));  // the mapping is found
  if (HugePagesAdvised() && KernelAdvisesHugePages()) {
    // "hg": the kernel recorded MADV_HUGEPAGE for the mapping.
    EXPECT_THAT(VmFlagsOf(b->data()), HasSubstr(" hg"));
  }
}

TEST(LargeBuffer, ReadLargeReadsFilesAndKeepsZeroCopySources) {
  const int64_t size = kLargeBufferMin + (int64_t{2} << 20);
  std::string bytes(static_cast<size_t>(size), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) >> 7);
  const std::string path =
      ::testing::TempDir() + "large_buffer_test_" + std::to_string(getpid()) + ".bin";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto file_r = arrow::io::ReadableFile::Open(path);
  ASSERT_TRUE(file_r.ok()) << file_r.status();
  const auto& file = *file_r;
  const int64_t off = (int64_t{1} << 20) + 3, len = kLargeBufferMin + 5;
  auto big_r = ReadLarge(file.get(), off, len);
  ASSERT_TRUE(big_r.ok()) << big_r.status();
  const auto& big = *big_r;
  ASSERT_EQ(big->size(), len);
  EXPECT_EQ(big->ToString(), bytes.substr(static_cast<size_t>(off), static_cast<size_t>(len)));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big->data()) % (uintptr_t{2} << 20), 0u);
  auto small_r = ReadLarge(file.get(), 10, 100);
  ASSERT_TRUE(small_r.ok()) << small_r.status();
  const auto& small = *small_r;
  EXPECT_EQ(small->ToString(), bytes.substr(10, 100));
  // Past the end: an error naming the offset, never a short buffer.
  for (const int64_t want : {int64_t{100}, kLargeBufferMin}) {
    auto past = ReadLarge(file.get(), size - 50, want);
    ASSERT_FALSE(past.ok());
    EXPECT_TRUE(past.status().IsIOError()) << past.status();
    EXPECT_THAT(past.status().ToString(),
                HasSubstr("short read at file offset " + std::to_string(size - 50)));
  }
  EXPECT_THAT(ReadLarge(file.get(), -1, 10).status().ToString(), HasSubstr("offset -1"));
  ASSERT_TRUE(file->Close().ok());
  std::remove(path.c_str());

  // An in-memory source hands out a slice of itself.
  auto source =
      std::make_shared<arrow::Buffer>(reinterpret_cast<const uint8_t*>(bytes.data()), size);
  arrow::io::BufferReader reader(source);
  auto slice_r = ReadLarge(&reader, off, len);
  ASSERT_TRUE(slice_r.ok()) << slice_r.status();
  const auto& slice = *slice_r;
  EXPECT_EQ(slice->data(), source->data() + off);
}

TEST(LargeBuffer, AnUnknownSettingIsAnErrorNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("AILAKE_HUGE_PAGES", "yes", 1);
        auto r = AllocateLargeBuffer(10);
        const bool named = !r.ok() && r.status().ToString().find("AILAKE_HUGE_PAGES is 'yes'") !=
                                          std::string::npos;
        std::exit(named ? 3 : 4);
      },
      ::testing::ExitedWithCode(3), "");
  EXPECT_EXIT(
      {
        setenv("AILAKE_HUGE_PAGES", "0", 1);
        auto r = AllocateLargeBuffer(kLargeBufferMin);
        const bool plain = r.ok() && !HugePagesAdvised() &&
                           VmFlagsOf((*r)->data()).find(" hg") == std::string::npos;
        std::exit(plain ? 3 : 4);
      },
      ::testing::ExitedWithCode(3), "");
}

}  // namespace
}  // namespace ailake::core
