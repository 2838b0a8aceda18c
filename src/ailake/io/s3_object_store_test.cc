// Settings of s3:// locations (no server needed), and the S3 store against a
// live S3-compatible server: the S3* tests run when AILAKE_TEST_S3_ENDPOINT
// names one (tests/python/test_object_store.py starts moto_server and runs
// them; bucket "ailake" must exist).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "ailake/io/object_store.h"
#include "ailake/io/stores.h"

namespace ailake::io {
namespace {

TEST(StorageSettingsTest, UriAndOptionsAsTheEcosystemSpellsThem) {
  auto s =
      ResolveS3Settings("s3://my-bucket/some/prefix/", {{"aws_access_key_id", "AK"},
                                                        {"aws_secret_access_key", "SK"},
                                                        {"aws_endpoint", "http://127.0.0.1:9000"},
                                                        {"allow_http", "true"},
                                                        {"max_retries", "2"},
                                                        {"connect_timeout", "1.5"}})
          .ValueOrDie();
  EXPECT_EQ(s.bucket, "my-bucket");
  EXPECT_EQ(s.prefix, "some/prefix");
  EXPECT_EQ(s.access_key, "AK");
  EXPECT_EQ(s.scheme, "http");
  EXPECT_EQ(s.endpoint, "127.0.0.1:9000");
  EXPECT_EQ(s.region, "us-east-1");  // the default with a custom endpoint
  EXPECT_EQ(s.max_retries, 2);
  EXPECT_DOUBLE_EQ(s.connect_timeout_s, 1.5);
}

TEST(StorageSettingsTest, BadSettingsAreRefusedWithTheirName) {
  auto msg = [](const std::string& uri, const StorageOptions& o) {
    auto r = OpenObjectStore(uri, o);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(msg("s3://b/p", {{"aws_endpont", "x"}}).find("unknown storage option 'aws_endpont'"),
            std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"aws_endpoint", "http://h:1"}}).find("allow_http"),
            std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"aws_endpoint", "h:1"}}).find("needs a scheme"), std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"allow_http", "maybe"}}).find("not true or false"),
            std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"max_retries", "-1"}}).find("max_retries"), std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"request_timeout", "0"}}).find("request_timeout"), std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"aws_access_key_id", "AK"}}).find("given together"),
            std::string::npos);
  EXPECT_NE(msg("s3:///p", {}).find("names no bucket"), std::string::npos);
  EXPECT_NE(msg("s3://Bad_Bucket/p", {}).find("bucket name"), std::string::npos);
  EXPECT_NE(msg("s3://b/a/../p", {}).find(".."), std::string::npos);
  EXPECT_NE(msg("/tmp/x", {{"aws_region", "eu-west-1"}}).find("applies to s3://"),
            std::string::npos);
  EXPECT_NE(msg("gs://b/p", {}).find("not supported"), std::string::npos);
  EXPECT_NE(msg("s3://b/p", {{"cache_bytes", "lots"}}).find("cache_bytes"), std::string::npos);
}

TEST(StorageSettingsTest, EnvironmentFillsWhatOptionsLeaveOut) {
  ::setenv("AWS_ENDPOINT_URL", "https://minio.local:9000", 1);
  ::setenv("AWS_REGION", "eu-north-1", 1);
  auto s = ResolveS3Settings("s3://b", {}).ValueOrDie();
  EXPECT_EQ(s.endpoint, "minio.local:9000");
  EXPECT_EQ(s.scheme, "https");
  EXPECT_EQ(s.region, "eu-north-1");
  EXPECT_EQ(s.prefix, "");
  // An option wins over the environment.
  s = ResolveS3Settings("s3://b", {{"aws_region", "us-west-2"}}).ValueOrDie();
  EXPECT_EQ(s.region, "us-west-2");
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AWS_REGION");
}

// --- against a live server ---------------------------------------------------

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* ep = std::getenv("AILAKE_TEST_S3_ENDPOINT");
    if (ep == nullptr || *ep == '\0') GTEST_SKIP() << "AILAKE_TEST_S3_ENDPOINT is not set";
    endpoint_ = ep;
    std::random_device rd;
    uri_ = "s3://ailake/io-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    store_ = Open();
  }
  std::shared_ptr<ObjectStore> Open() const {
    return OpenObjectStore(uri_, Options()).ValueOrDie();
  }
  StorageOptions Options() const {
    return {{"aws_endpoint", endpoint_},
            {"allow_http", "true"},
            {"aws_access_key_id", "testing"},
            {"aws_secret_access_key", "testing"}};
  }
  static std::shared_ptr<arrow::Buffer> Buf(const std::string& s) {
    return arrow::Buffer::FromString(s);
  }
  std::string endpoint_;
  std::string uri_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(S3StoreTest, PutIfAbsentRaceHasExactlyOneWinner) {
  for (int round = 0; round < 5; ++round) {
    const std::string key = "race/" + std::to_string(round);
    std::atomic<int> winners{0}, losers{0}, go{0};
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        auto store = Open();  // own client, own connections
        while (go.load() == 0) std::this_thread::yield();
        auto st = store->PutIfAbsent(key, *Buf("writer " + std::to_string(i)));
        if (st.ok()) {
          winners++;
        } else if (st.IsAlreadyExists()) {
          losers++;
        } else {
          ADD_FAILURE() << st.ToString();
        }
      });
    }
    go = 1;
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(losers.load(), 7) << "round " << round;
    EXPECT_EQ(store_->Read(key).ValueOrDie()->ToString().rfind("writer ", 0), 0u);
  }
}

TEST_F(S3StoreTest, PutReadListDelete) {
  ASSERT_TRUE(store_->PutIfAbsent("d/a", *Buf("alpha")).ok());
  ASSERT_TRUE(store_->Put("d/b", *Buf("beta")).ok());
  ASSERT_TRUE(store_->Put("d/b", *Buf("beta2")).ok());  // Put replaces
  ASSERT_TRUE(store_->Put("d/sub/c", *Buf("c")).ok());
  EXPECT_EQ(store_->Read("d/b").ValueOrDie()->ToString(), "beta2");
  auto listed = store_->List("d").ValueOrDie();
  ASSERT_EQ(listed.size(), 2u);  // not recursive
  EXPECT_EQ(listed[0].path, "d/a");
  EXPECT_EQ(listed[0].size, 5);
  EXPECT_GT(listed[0].modified_unix_s, 1600000000);
  EXPECT_EQ(listed[1].path, "d/b");
  EXPECT_TRUE(store_->List("missing").ValueOrDie().empty());
  EXPECT_TRUE(store_->Exists("d/a").ValueOrDie());
  EXPECT_FALSE(store_->Exists("d/zzz").ValueOrDie());
  ASSERT_TRUE(store_->Delete("d/a").ok());
  ASSERT_TRUE(store_->Delete("d/a").ok());  // deleting a missing object is OK
  EXPECT_FALSE(store_->Exists("d/a").ValueOrDie());
  auto missing = store_->Read("d/a");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("d/a"), std::string::npos);
  EXPECT_FALSE(store_->PutIfAbsent("../x", *Buf("x")).ok());
}

TEST_F(S3StoreTest, RangedReadsGoThroughTheCacheAndAreCounted) {
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(store_->PutIfAbsent("data/big", *Buf(big)).ok());
  const IoStats before = store_->stats();
  auto f = store_->OpenRead("data/big", static_cast<int64_t>(big.size())).ValueOrDie();
  EXPECT_EQ((store_->stats() - before).requests, 0);  // size known: no HEAD
  auto tail = f->ReadAt(static_cast<int64_t>(big.size()) - 8, 8).ValueOrDie();
  EXPECT_EQ(tail->ToString(), big.substr(big.size() - 8));
  IoStats d = store_->stats() - before;
  EXPECT_EQ(d.get_requests, 1);
  EXPECT_LT(d.bytes_read, 1 << 20);  // a block, not the object
  auto again = f->ReadAt(static_cast<int64_t>(big.size()) - 100, 100).ValueOrDie();
  EXPECT_EQ(again->ToString(), big.substr(big.size() - 100));
  EXPECT_EQ((store_->stats() - before).get_requests, 1);
  // Size unknown: one HEAD to learn it.
  auto g = store_->OpenRead("data/big").ValueOrDie();
  EXPECT_EQ(g->GetSize().ValueOrDie(), static_cast<int64_t>(big.size()));
  EXPECT_EQ((store_->stats() - before).head_requests, 1);
  EXPECT_EQ(g->ReadAt(1000, 5).ValueOrDie()->ToString(), big.substr(1000, 5));
  EXPECT_FALSE(store_->OpenRead("data/none").ok());
}

TEST_F(S3StoreTest, UnclosedStreamLeavesNothingClosedStreamPublishes) {
  {
    auto out = store_->OpenWrite("w/abandoned").ValueOrDie();
    ASSERT_TRUE(out->Write("partial", 7).ok());
  }  // destroyed without Close: aborted
  EXPECT_FALSE(store_->Exists("w/abandoned").ValueOrDie());
  auto out = store_->OpenWrite("w/done").ValueOrDie();
  ASSERT_TRUE(out->Write("whole", 5).ok());
  EXPECT_FALSE(store_->Exists("w/done").ValueOrDie());
  ASSERT_TRUE(out->Close().ok());
  EXPECT_EQ(store_->Read("w/done").ValueOrDie()->ToString(), "whole");
}

TEST_F(S3StoreTest, MissingBucketIsNamed) {
  auto store = OpenObjectStore("s3://no-such-bucket-here/t", Options()).ValueOrDie();
  auto st = store->PutIfAbsent("x", *Buf("x"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no-such-bucket-here"), std::string::npos) << st.ToString();
  auto r = store->Read("x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no-such-bucket-here"), std::string::npos);
}

}  // namespace
}  // namespace ailake::io
