// PageRangesStream: an InputStream made of chosen byte ranges of a file,
// read lazily. Handed to parquet::PageReader it looks like a column chunk that
// holds only the pages the ranges cover (the chunk's dictionary page first,
// when kept), so the other pages are neither read nor decoded. Reads inside
// one range are zero-copy on memory-mapped files and buffers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>

namespace ailake::file_internal {

// (file offset, length) of each range, in stream order.
using PageRanges_t = std::vector<std::pair<int64_t, int64_t>>;

class PageRangesStream : public arrow::io::InputStream {
 public:
  PageRangesStream(std::shared_ptr<arrow::io::RandomAccessFile> file, PageRanges_t ranges)
      : file_(std::move(file)), ranges_(std::move(ranges)) {}
  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return pos_; }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    int64_t done = 0;
    while (done < nbytes && r_ < ranges_.size()) {
      const int64_t left = ranges_[r_].second - in_;
      const int64_t n = std::min(left, nbytes - done);
      ARROW_ASSIGN_OR_RAISE(int64_t got, file_->ReadAt(ranges_[r_].first + in_, n,
                                                       static_cast<uint8_t*>(out) + done));
      if (got != n) return arrow::Status::IOError("short read of a data page");
      Advance(n);
      done += n;
    }
    return done;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    if (r_ < ranges_.size() && nbytes <= ranges_[r_].second - in_) {
      const int64_t at = ranges_[r_].first + in_;
      if (peeked_ && at >= peeked_at_ && at + nbytes <= peeked_at_ + peeked_->size()) {
        auto b = arrow::SliceBuffer(peeked_, at - peeked_at_, nbytes);  // bytes Peek already read
        Advance(nbytes);
        return b;
      }
      ARROW_ASSIGN_OR_RAISE(auto b, file_->ReadAt(at, nbytes));
      Advance(b->size());
      return b;
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::ResizableBuffer> b,
                          arrow::AllocateResizableBuffer(nbytes));
    ARROW_ASSIGN_OR_RAISE(int64_t got, Read(nbytes, b->mutable_data()));
    ARROW_RETURN_NOT_OK(b->Resize(got));
    return b;
  }
  arrow::Result<std::string_view> Peek(int64_t nbytes) override {
    if (r_ >= ranges_.size()) return std::string_view();
    const int64_t n = std::min(nbytes, ranges_[r_].second - in_);
    const int64_t at = ranges_[r_].first + in_;
    if (!(peeked_ && at >= peeked_at_ && at + n <= peeked_at_ + peeked_->size())) {
      ARROW_ASSIGN_OR_RAISE(peeked_, file_->ReadAt(at, n));
      peeked_at_ = at;
    }
    auto view = arrow::SliceBuffer(peeked_, at - peeked_at_, n);
    return std::string_view(reinterpret_cast<const char*>(view->data()), view->size());
  }

 private:
  void Advance(int64_t n) {
    pos_ += n;
    in_ += n;
    if (r_ < ranges_.size() && in_ >= ranges_[r_].second) {
      ++r_;
      in_ = 0;
    }
  }

  std::shared_ptr<arrow::io::RandomAccessFile> file_;
  PageRanges_t ranges_;
  size_t r_ = 0;
  int64_t in_ = 0;
  int64_t pos_ = 0;
  bool closed_ = false;
  std::shared_ptr<arrow::Buffer> peeked_;  // the last Peek's bytes, from file offset peeked_at_
  int64_t peeked_at_ = 0;
};

}  // namespace ailake::file_internal
