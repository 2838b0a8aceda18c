#include "ailake/encoding/page_checksums.h"

#include <cstring>

#include "ailake/core/checksum.h"

namespace ailake::encoding {

namespace {

void Put(std::string* out, const void* v, size_t n) {
  out->append(static_cast<const char*>(v), n);  // little-endian hosts only (as the rest)
}

}  // namespace

void PageChecksumBuilder::Add(uint32_t column, std::span<const uint8_t> buffer) {
  if (columns_.size() <= column) columns_.resize(column + 1);
  for (size_t at = 0; at < buffer.size(); at += kChecksumBlockBytes) {
    const size_t n = std::min<size_t>(kChecksumBlockBytes, buffer.size() - at);
    columns_[column].push_back(core::Checksum64(buffer.data() + at, n));
  }
}

std::shared_ptr<arrow::Buffer> PageChecksumBuilder::Finish(uint32_t num_columns) const {
  std::string out = "AICK";
  const uint16_t version = 1, zero = 0;
  const uint32_t block = kChecksumBlockBytes;
  uint64_t count = 0;
  for (uint32_t c = 0; c < num_columns && c < columns_.size(); ++c) count += columns_[c].size();
  Put(&out, &version, 2);
  Put(&out, &zero, 2);
  Put(&out, &block, 4);
  Put(&out, &count, 8);
  for (uint32_t c = 0; c < num_columns && c < columns_.size(); ++c) {
    for (uint64_t s : columns_[c]) Put(&out, &s, 8);
  }
  const uint64_t self = core::Checksum64(out.data(), out.size());
  Put(&out, &self, 8);
  return arrow::Buffer::FromString(std::move(out));
}

arrow::Result<PageChecksums> PageChecksums::Parse(std::span<const uint8_t> bytes) {
  constexpr size_t kHeader = 20;
  if (bytes.size() < kHeader + 8 || std::memcmp(bytes.data(), "AICK", 4) != 0) {
    return arrow::Status::Invalid("page checksum buffer: no AICK header");
  }
  uint16_t version;
  uint32_t block;
  uint64_t count;
  std::memcpy(&version, bytes.data() + 4, 2);
  std::memcpy(&block, bytes.data() + 8, 4);
  std::memcpy(&count, bytes.data() + 12, 8);
  if (version != 1) {
    return arrow::Status::NotImplemented("page checksum buffer version ", version);
  }
  if (block == 0 || block > (uint32_t{1} << 30)) {
    return arrow::Status::Invalid("page checksum buffer: block size ", block);
  }
  if (count > (bytes.size() - kHeader - 8) / 8 || kHeader + 8 * count + 8 != bytes.size()) {
    return arrow::Status::Invalid("page checksum buffer of ", bytes.size(), " bytes holds no ",
                                  count, " checksums");
  }
  uint64_t self;
  std::memcpy(&self, bytes.data() + bytes.size() - 8, 8);
  if (core::kChecksumsEnforced && core::Checksum64(bytes.data(), bytes.size() - 8) != self) {
    return arrow::Status::Invalid("page checksum buffer: checksum mismatch (the file is corrupt)");
  }
  PageChecksums out;
  out.block_ = block;
  out.sums_.resize(count);
  if (count > 0) std::memcpy(out.sums_.data(), bytes.data() + kHeader, 8 * count);
  return out;
}

arrow::Status PageChecksums::Verify(uint64_t first_block, std::span<const uint8_t> bytes,
                                    const std::string& where) const {
  for (size_t at = 0, k = 0; at < bytes.size(); at += block_, ++k) {
    const size_t n = std::min<size_t>(block_, bytes.size() - at);
    if (first_block + k >= sums_.size()) {
      return arrow::Status::Invalid(where, ": no checksum for block ", first_block + k);
    }
    if (core::kChecksumsEnforced &&
        core::Checksum64(bytes.data() + at, n) != sums_[first_block + k]) {
      return arrow::Status::Invalid(where, ": page checksum mismatch in bytes ", at, "..", at + n,
                                    " (the file is corrupt)");
    }
  }
  return arrow::Status::OK();
}

}  // namespace ailake::encoding
