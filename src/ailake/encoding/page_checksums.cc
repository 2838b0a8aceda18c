#include "ailake/encoding/page_checksums.h"

#include <cstring>

#include "ailake/core/checksum.h"

namespace ailake::encoding {

namespace {

void Put(std::string* out, const void* v, size_t n) {
  out->append(static_cast<const char*>(v), n);  // little-endian hosts only (as the rest)
}

constexpr uint32_t kMaxColumns = 1 << 20;

}  // namespace

uint32_t ChecksumBlockBytes(int64_t row_bytes) {
  return row_bytes >= 256 && row_bytes <= 65536 ? static_cast<uint32_t>(row_bytes)
                                                : kChecksumBlockBytes;
}

PageChecksumBuilder::PageChecksumBuilder(std::vector<uint32_t> block_bytes)
    : block_(std::move(block_bytes)), columns_(block_.size()) {}

void PageChecksumBuilder::Add(uint32_t column, std::span<const uint8_t> buffer) {
  if (column >= columns_.size()) return;  // the writer names only its columns
  const size_t block = block_[column];
  for (size_t at = 0; at < buffer.size(); at += block) {
    const size_t n = std::min(block, buffer.size() - at);
    columns_[column].push_back(core::Checksum64(buffer.data() + at, n));
  }
}

std::shared_ptr<arrow::Buffer> PageChecksumBuilder::Finish() const {
  std::string out = "AICK";
  const uint16_t version = 1, zero = 0;
  const auto num_columns = static_cast<uint32_t>(block_.size());
  uint64_t count = 0;
  for (const auto& c : columns_) count += c.size();
  Put(&out, &version, 2);
  Put(&out, &zero, 2);
  Put(&out, &num_columns, 4);
  for (uint32_t b : block_) Put(&out, &b, 4);
  Put(&out, &count, 8);
  for (const auto& c : columns_) {
    for (uint64_t s : c) Put(&out, &s, 8);
  }
  const uint64_t self = core::Checksum64(out.data(), out.size());
  Put(&out, &self, 8);
  return arrow::Buffer::FromString(std::move(out));
}

arrow::Result<PageChecksums> PageChecksums::Parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < 12 + 8 + 8 || std::memcmp(bytes.data(), "AICK", 4) != 0) {
    return arrow::Status::Invalid("page checksum buffer: no AICK header");
  }
  uint16_t version;
  uint32_t columns;
  std::memcpy(&version, bytes.data() + 4, 2);
  std::memcpy(&columns, bytes.data() + 8, 4);
  if (version != 1) {
    return arrow::Status::NotImplemented("page checksum buffer version ", version);
  }
  if (columns > kMaxColumns || 12 + 4 * uint64_t{columns} + 16 > bytes.size()) {
    return arrow::Status::Invalid("page checksum buffer of ", bytes.size(), " bytes names ",
                                  columns, " columns");
  }
  PageChecksums out;
  out.block_.resize(columns);
  if (columns > 0) std::memcpy(out.block_.data(), bytes.data() + 12, 4 * size_t{columns});
  for (uint32_t b : out.block_) {
    if (b == 0 || b > (uint32_t{1} << 30)) {
      return arrow::Status::Invalid("page checksum buffer: block size ", b);
    }
  }
  const size_t header = 12 + 4 * size_t{columns} + 8;
  uint64_t count;
  std::memcpy(&count, bytes.data() + header - 8, 8);
  if (count > (bytes.size() - header - 8) / 8 || header + 8 * count + 8 != bytes.size()) {
    return arrow::Status::Invalid("page checksum buffer of ", bytes.size(), " bytes holds no ",
                                  count, " checksums");
  }
  uint64_t self;
  std::memcpy(&self, bytes.data() + bytes.size() - 8, 8);
  if (core::kChecksumsEnforced && core::Checksum64(bytes.data(), bytes.size() - 8) != self) {
    return arrow::Status::Invalid("page checksum buffer: checksum mismatch (the file is corrupt)");
  }
  out.sums_.resize(count);
  if (count > 0) std::memcpy(out.sums_.data(), bytes.data() + header, 8 * count);
  return out;
}

arrow::Status PageChecksums::Verify(uint64_t first_block, uint32_t block_bytes,
                                    std::span<const uint8_t> bytes,
                                    const std::string& where) const {
  for (size_t at = 0, k = 0; at < bytes.size(); at += block_bytes, ++k) {
    const size_t n = std::min<size_t>(block_bytes, bytes.size() - at);
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
