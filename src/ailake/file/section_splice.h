// Putting AILK sections between the Parquet data and the Parquet footer.
//
// The Parquet C++ writer computes every offset it records (row groups, page
// index) from the sink position, and writes the footer last. FooterHoldingStream
// passes bytes straight to the real sink until Hold() is called just before
// FileWriter::Close(); what Close() writes (the last row group's buffered
// pages, the page index, the footer) is kept in memory. FinishFile then writes
// that data, the sections, and the footer again with the ailake.* keys added:
// nothing the footer points at moves, so it stays valid.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake::file_internal {

class FooterHoldingStream : public arrow::io::OutputStream {
 public:
  explicit FooterHoldingStream(arrow::io::OutputStream* sink) : sink_(sink) {}
  void Hold() { holding_ = true; }
  const std::string& held() const { return held_; }
  int64_t forwarded() const { return forwarded_; }

  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override {
    return forwarded_ + static_cast<int64_t>(held_.size());
  }
  arrow::Status Write(const void* data, int64_t nbytes) override;
  arrow::Status Flush() override { return holding_ ? arrow::Status::OK() : sink_->Flush(); }

 private:
  arrow::io::OutputStream* sink_;
  bool holding_ = false;
  bool closed_ = false;
  int64_t forwarded_ = 0;
  std::string held_;
};

struct SectionToWrite {
  std::string column;
  bool primary = false;  // key ailake.footer_offset, else ailake.<column>.footer_offset
  std::string bytes;     // EncodeAilkSection output, or an AITX blob when `text`
  bool text = false;     // a full-text index section: key ailake.<column>.text_offset
};

// The footer (Lance: schema metadata) key that points at the section.
std::string SectionKey(const SectionToWrite& section);
// Whether a footer key points at a section (AILK or text): such keys name
// offsets of one file's bytes and are never carried into another file.
bool IsSectionKey(std::string_view key);

// The footer of a complete Parquet file held in `tail`, whose first byte is at
// file offset `tail_offset`: returns the footer's offset in the file and its bytes.
arrow::Result<std::pair<int64_t, std::span<const uint8_t>>> SplitFooter(
    std::span<const uint8_t> tail, int64_t tail_offset);

// Writes, at sink position `pos` (the first byte of the old footer), the
// sections (each at a 64-byte aligned offset) and `footer` rewritten with the
// sections' keys (every old section key dropped), its length and PAR1.
// `replace`: further footer keys, each set (replacing a key of that name).
arrow::Status WriteSectionsAndFooter(
    arrow::io::OutputStream* sink, int64_t pos, std::span<const uint8_t> footer,
    const std::vector<SectionToWrite>& sections,
    const std::vector<std::pair<std::string, std::string>>& replace = {});

}  // namespace ailake::file_internal
