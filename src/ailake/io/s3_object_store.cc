// The S3 store: Arrow's S3 filesystem for reads, streamed writes, listings
// and deletes; libcurl (s3_put.h) for put-if-absent, the request commits rest on.
#include <arrow/util/config.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "ailake/io/read_cache.h"
#include "ailake/io/stores.h"

#ifdef ARROW_S3
#include <arrow/filesystem/s3fs.h>

#include "ailake/io/s3_put.h"
#endif

namespace ailake::io {

#ifndef ARROW_S3

arrow::Result<std::shared_ptr<ObjectStore>> OpenS3ObjectStore(const S3Settings& settings) {
  return arrow::Status::NotImplemented("'", settings.uri,
                                       "': this build's Arrow C++ has no S3 support");
}

#else

namespace {

arrow::Status InitS3() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] { status = arrow::fs::EnsureS3Initialized(); });
  return status;
}

// The AWS SDK must be shut down before libarrow's statics that the first
// S3FileSystem created are destroyed: an exit handler registered after that
// runs before their destructors.
void FinalizeAtExit() {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit([] { (void)arrow::fs::EnsureS3Finalized(); }); });
}

// Streams to S3 (a multipart upload past the first part); the object appears
// on Close. Destroyed unclosed, the upload is aborted: nothing appears.
class AbortingOutputStream : public arrow::io::OutputStream {
 public:
  AbortingOutputStream(std::shared_ptr<arrow::io::OutputStream> out,
                       std::shared_ptr<IoCounters> counters)
      : out_(std::move(out)), counters_(std::move(counters)) {}
  ~AbortingOutputStream() override {
    if (!out_->closed()) (void)out_->Abort();
  }
  arrow::Status Close() override {
    ARROW_RETURN_NOT_OK(out_->Close());
    counters_->put++;
    return arrow::Status::OK();
  }
  arrow::Status Abort() override { return out_->Abort(); }
  bool closed() const override { return out_->closed(); }
  arrow::Result<int64_t> Tell() const override { return out_->Tell(); }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    counters_->bytes_written += nbytes;
    return out_->Write(data, nbytes);
  }
  arrow::Status Write(const std::shared_ptr<arrow::Buffer>& data) override {
    counters_->bytes_written += data->size();
    return out_->Write(data);
  }
  arrow::Status Flush() override { return out_->Flush(); }

 private:
  std::shared_ptr<arrow::io::OutputStream> out_;
  std::shared_ptr<IoCounters> counters_;
};

class S3ObjectStore : public ObjectStore {
 public:
  S3ObjectStore(S3Settings s, std::shared_ptr<arrow::fs::S3FileSystem> fs)
      : s_(std::move(s)), fs_(std::move(fs)), counters_(std::make_shared<IoCounters>()) {
    root_ = "s3://" + s_.bucket + (s_.prefix.empty() ? "" : "/" + s_.prefix);
    base_ = s_.bucket + (s_.prefix.empty() ? "" : "/" + s_.prefix);
  }

  const std::string& root() const override { return root_; }
  bool is_local() const override { return false; }
  IoStats stats() const override { return counters_->Snapshot(); }

  arrow::Status PutIfAbsent(std::string_view path, const arrow::Buffer& data) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    const std::string key = Key(path);
    const S3Credentials c = Credentials();
    int attempts = 0;
    auto same_as_ours = [&]() -> arrow::Result<bool> {
      auto got = Read(path, -1);
      if (!got.ok()) return got.status();
      return (*got)->Equals(data);
    };
    arrow::Status st = S3PutIfAbsent(s_, fs_->region(), c, key, data, same_as_ours, &attempts);
    counters_->put += attempts;
    if (st.ok()) counters_->bytes_written += data.size();
    return st;
  }

  arrow::Status Put(std::string_view path, const arrow::Buffer& data) override {
    ARROW_ASSIGN_OR_RAISE(auto out, OpenWrite(path));
    ARROW_RETURN_NOT_OK(out->Write(data.data(), data.size()));
    return Wrap(out->Close(), "put", path);
  }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(std::string_view path,
                                                     int64_t size_hint = -1) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    arrow::fs::FileInfo info(Full(path), arrow::fs::FileType::File);
    if (size_hint >= 0) {
      info.set_size(size_hint);
    } else {
      counters_->head++;
    }
    auto file = size_hint >= 0 ? fs_->OpenInputFile(info) : fs_->OpenInputFile(Full(path));
    if (!file.ok()) return Wrap(file.status(), "open", path);
    auto size = (*file)->GetSize();
    if (!size.ok()) return Wrap(size.status(), "size of", path);
    counters_->get++;
    auto bytes = (*file)->ReadAt(0, *size);
    if (!bytes.ok()) return Wrap(bytes.status(), "read", path);
    counters_->bytes_read += (*bytes)->size();
    return bytes;
  }

  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenRead(std::string_view path,
                                                                       int64_t size) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    arrow::fs::FileInfo info(Full(path), arrow::fs::FileType::File);
    if (size < 0) {
      counters_->head++;
      auto got = fs_->GetFileInfo(Full(path));
      if (!got.ok()) return Wrap(got.status(), "open", path);
      if (got->type() != arrow::fs::FileType::File) {
        return arrow::Status::IOError("open '", JoinPath(root_, path), "': no such object");
      }
      info = *got;
    } else {
      info.set_size(size);
    }
    auto file = fs_->OpenInputFile(info);
    if (!file.ok()) return Wrap(file.status(), "open", path);
    return MakeCachedFile(std::move(*file),
                          "s3://" + Full(path) + "@" + std::to_string(info.size()), info.size(),
                          counters_);
  }

  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenWrite(
      std::string_view path) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    auto out = fs_->OpenOutputStream(Full(path));
    if (!out.ok()) return Wrap(out.status(), "write", path);
    return std::make_shared<AbortingOutputStream>(std::move(*out), counters_);
  }

  arrow::Result<std::vector<ObjectInfo>> List(std::string_view dir) override {
    if (!dir.empty()) ARROW_RETURN_NOT_OK(CheckRelative(dir));
    arrow::fs::FileSelector sel;
    sel.base_dir = dir.empty() ? base_ : Full(dir);
    sel.allow_not_found = true;
    sel.recursive = false;
    counters_->list++;
    auto got = fs_->GetFileInfo(sel);
    if (!got.ok()) return Wrap(got.status(), "list", dir);
    std::vector<ObjectInfo> out;
    out.reserve(got->size());
    const std::string strip = base_ + "/";
    for (const auto& fi : *got) {
      if (fi.type() != arrow::fs::FileType::File) continue;
      std::string rel = fi.path().starts_with(strip) ? fi.path().substr(strip.size()) : fi.path();
      const auto secs =
          std::chrono::duration_cast<std::chrono::seconds>(fi.mtime().time_since_epoch());
      out.push_back({std::move(rel), fi.size(), static_cast<int64_t>(secs.count())});
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.path < b.path; });
    return out;
  }

  arrow::Result<std::vector<ObjectInfo>> ListTemporaries(std::string_view /*dir*/) override {
    return std::vector<ObjectInfo>{};
  }

  arrow::Result<bool> Exists(std::string_view path) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    counters_->head++;
    auto got = fs_->GetFileInfo(Full(path));
    if (!got.ok()) return Wrap(got.status(), "look up", path);
    return got->type() == arrow::fs::FileType::File;
  }

  arrow::Status Delete(std::string_view path) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    int attempts = 0;
    arrow::Status st = S3Delete(s_, fs_->region(), Credentials(), Key(path), &attempts);
    counters_->del += attempts;
    return st;
  }

 private:
  // As the provider chain resolves them now (temporary ones are refreshed).
  S3Credentials Credentials() const {
    S3Credentials c;
    c.access_key = fs_->options().GetAccessKey();
    c.secret_key = fs_->options().GetSecretKey();
    c.session_token = fs_->options().GetSessionToken();
    return c;
  }

  std::string Key(std::string_view path) const {
    return s_.prefix.empty() ? std::string(path) : s_.prefix + "/" + std::string(path);
  }
  std::string Full(std::string_view path) const { return s_.bucket + "/" + Key(path); }

  arrow::Status Wrap(const arrow::Status& st, const char* what, std::string_view path) const {
    if (st.ok()) return st;
    const std::string where =
        s_.endpoint.empty() ? std::string() : " on " + s_.scheme + "://" + s_.endpoint;
    return st.WithMessage(what, " '", JoinPath(root_, path), "'", where, ": ", st.message());
  }

  S3Settings s_;
  std::string root_;
  std::string base_;
  std::shared_ptr<arrow::fs::S3FileSystem> fs_;
  std::shared_ptr<IoCounters> counters_;
};

}  // namespace

arrow::Result<std::shared_ptr<ObjectStore>> OpenS3ObjectStore(const S3Settings& s) {
  ARROW_RETURN_NOT_OK(InitS3());
  arrow::fs::S3Options o = s.access_key.empty() ? arrow::fs::S3Options::Defaults()
                                                : arrow::fs::S3Options::FromAccessKey(
                                                      s.access_key, s.secret_key, s.session_token);
  o.region = s.region;
  o.endpoint_override = s.endpoint;
  o.scheme = s.scheme;
  o.connect_timeout = s.connect_timeout_s;
  o.request_timeout = s.request_timeout_s;
  o.retry_strategy = arrow::fs::S3RetryStrategy::GetAwsStandardRetryStrategy(s.max_retries + 1);
  o.allow_bucket_creation = false;
  o.allow_bucket_deletion = false;
  auto fs = arrow::fs::S3FileSystem::Make(o);
  if (!fs.ok()) return fs.status().WithMessage("'", s.uri, "': ", fs.status().message());
  FinalizeAtExit();
  return std::make_shared<S3ObjectStore>(s, std::move(*fs));
}

#endif

}  // namespace ailake::io
