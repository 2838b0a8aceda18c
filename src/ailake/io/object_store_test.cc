#include "ailake/io/object_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace ailake::io {
namespace {

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ailake_os_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = OpenObjectStore(dir_.string()).ValueOrDie();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::shared_ptr<arrow::Buffer> Buf(const std::string& s) {
    return arrow::Buffer::FromString(s);
  }
  std::filesystem::path dir_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, PutIfAbsentRefusesSecondWriter) {
  ASSERT_TRUE(store_->PutIfAbsent("v/1", *Buf("first")).ok());
  auto st = store_->PutIfAbsent("v/1", *Buf("second"));
  ASSERT_TRUE(st.IsAlreadyExists()) << st.ToString();
  EXPECT_EQ(store_->Read("v/1").ValueOrDie()->ToString(), "first");
  // No temporary files are left behind.
  EXPECT_EQ(store_->List("v").ValueOrDie().size(), 1u);
}

TEST_F(ObjectStoreTest, ConcurrentPutIfAbsentHasOneWinner) {
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      if (store_->PutIfAbsent("race", *Buf("writer " + std::to_string(t))).ok()) ++winners;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_F(ObjectStoreTest, PutReplacesAndListSorts) {
  ASSERT_TRUE(store_->Put("d/b", *Buf("1")).ok());
  ASSERT_TRUE(store_->Put("d/a", *Buf("22")).ok());
  ASSERT_TRUE(store_->Put("d/b", *Buf("333")).ok());
  auto list = store_->List("d").ValueOrDie();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].path, "d/a");
  EXPECT_EQ(list[1].size, 3);
  EXPECT_TRUE(store_->List("missing").ValueOrDie().empty());
}

TEST_F(ObjectStoreTest, StreamVisibleOnlyAfterClose) {
  auto out = store_->OpenWrite("big/obj").ValueOrDie();
  ASSERT_TRUE(out->Write("hello ", 6).ok());
  EXPECT_FALSE(store_->Exists("big/obj").ValueOrDie());
  EXPECT_TRUE(store_->List("big").ValueOrDie().empty());
  ASSERT_TRUE(out->Write("world", 5).ok());
  ASSERT_TRUE(out->Close().ok());
  EXPECT_EQ(store_->Read("big/obj").ValueOrDie()->ToString(), "hello world");
  auto f = store_->OpenRead("big/obj").ValueOrDie();
  EXPECT_EQ(f->ReadAt(6, 5).ValueOrDie()->ToString(), "world");
}

TEST_F(ObjectStoreTest, AbandonedStreamLeavesNothing) {
  {
    auto out = store_->OpenWrite("x/y").ValueOrDie();
    ASSERT_TRUE(out->Write("partial", 7).ok());
  }
  EXPECT_FALSE(store_->Exists("x/y").ValueOrDie());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "x"));
}

TEST_F(ObjectStoreTest, RejectsEscapingPaths) {
  EXPECT_TRUE(store_->Read("../etc/passwd").status().IsInvalid());
  EXPECT_TRUE(store_->PutIfAbsent("/abs", *Buf("x")).IsInvalid());
  EXPECT_TRUE(store_->Delete("a/./b").IsInvalid());
  EXPECT_TRUE(store_->Read("").status().IsInvalid());
}

TEST_F(ObjectStoreTest, MissingObjectIsIOErrorNamingPath) {
  auto r = store_->Read("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
  EXPECT_TRUE(store_->Delete("nope").ok());
}

TEST_F(ObjectStoreTest, EmptyObjectReads) {
  ASSERT_TRUE(store_->Put("empty", arrow::Buffer(nullptr, 0)).ok());
  EXPECT_EQ(store_->Read("empty").ValueOrDie()->size(), 0);
}

TEST(ObjectStoreUriTest, UnknownSchemesAreNotImplemented) {
  auto r = OpenObjectStore("gs://bucket/table");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotImplemented());
  EXPECT_NE(r.status().message().find("gs"), std::string::npos);
  // s3:// opens (no request is made until the store is used).
  EXPECT_TRUE(OpenObjectStore("s3://bucket/table").ok());
}

TEST_F(ObjectStoreTest, WriterKilledMidPutLeavesNothingVisible) {
  // A child process starts a large put-if-absent and is SIGKILLed; the name
  // must be absent or complete, never partial.
  const std::string big(32 << 20, 'z');
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string name = "k/" + std::to_string(attempt);
    pid_t pid = ::fork();
    if (pid == 0) {
      (void)store_->PutIfAbsent(name, *Buf(big));
      ::_exit(0);
    }
    ::usleep(1000 * (attempt * 5));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    auto exists = store_->Exists(name).ValueOrDie();
    if (exists) {
      EXPECT_EQ(store_->Read(name).ValueOrDie()->size(), static_cast<int64_t>(big.size()));
    }
    // Listing never shows the temporary file.
    for (const auto& o : store_->List("k").ValueOrDie())
      EXPECT_EQ(o.path.find(".tmp."), std::string::npos);
  }
}

}  // namespace
}  // namespace ailake::io
