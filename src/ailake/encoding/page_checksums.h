// Page checksums for Lance-format files (docs/FORMAT.md 5.5). Lance file
// version 2.0 stores no checksum, so ailake adds one global buffer of them
// (named by the schema metadata key kPageChecksumsKey) and checks it on
// every page read: a flipped bit in a page is an error, not another value.
// Readers that do not know the buffer (pylance) skip it.
//
// Layout, little-endian: "AICK", u16 version (1), u16 0, u32 column count
// C, C x u32 block bytes (of each column), u64 block count N, N x u64
// XXH3-64 (seed 0) of each block, then u64 XXH3-64 of every byte before it.
// Blocks: each page buffer of each column (columns in order, then pages,
// then buffers) cut into pieces of its column's block bytes, the last piece
// of a buffer possibly shorter. A column of wide fixed-width rows (a vector
// of 256 bytes or more) has one block per row, so a take reads and checks
// just its rows; other columns have 4 KiB blocks.
// Thread safety: PageChecksumBuilder is not thread-safe; PageChecksums is
// immutable and safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>

namespace ailake::encoding {

inline constexpr std::string_view kPageChecksumsKey = "ailake.page_checksums_offset";
inline constexpr uint32_t kChecksumBlockBytes = 4096;

// The block bytes of a column whose rows are `row_bytes` wide (0: not
// fixed-width): one row for rows of 256 bytes to 64 KiB, else 4 KiB.
uint32_t ChecksumBlockBytes(int64_t row_bytes);

class PageChecksumBuilder {
 public:
  // `block_bytes`: of each column of the file.
  explicit PageChecksumBuilder(std::vector<uint32_t> block_bytes);
  // The blocks of one page buffer, appended to column `column`'s list.
  void Add(uint32_t column, std::span<const uint8_t> buffer);
  // The global buffer.
  std::shared_ptr<arrow::Buffer> Finish() const;

 private:
  std::vector<uint32_t> block_;
  std::vector<std::vector<uint64_t>> columns_;
};

class PageChecksums {
 public:
  // Parses and checks the buffer (its own checksum, its block size), or an
  // error naming what is wrong.
  static arrow::Result<PageChecksums> Parse(std::span<const uint8_t> bytes);
  uint32_t num_columns() const { return static_cast<uint32_t>(block_.size()); }
  uint32_t block_bytes(uint32_t column) const { return block_[column]; }
  uint64_t num_blocks() const { return sums_.size(); }
  // Checks blocks first_block.. against `bytes`, which start at a block
  // boundary and hold whole blocks (the last one may end the buffer).
  // `where` names the bytes in the error.
  arrow::Status Verify(uint64_t first_block, uint32_t block_bytes, std::span<const uint8_t> bytes,
                       const std::string& where) const;

 private:
  std::vector<uint32_t> block_;
  std::vector<uint64_t> sums_;
};

}  // namespace ailake::encoding
