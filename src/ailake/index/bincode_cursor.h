// BincodeCursor: bounds-checked reads of a bincode-1 record (fixed-width
// little-endian integers, u64 lengths before every Vec), the encoding of the
// reference implementation's index blobs (docs/REFERENCE_FORMAT.md 5, 6).
// Nothing is aligned: every read is a memcpy. A length is checked against the
// bytes left before it is multiplied by an element size, so no count read
// from the blob can overflow or point past its end.
#pragma once

#include <cstdint>
#include <cstring>

#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake::index {

class BincodeCursor {
 public:
  // `what` names the record in error messages ("reference HNSW blob").
  BincodeCursor(const uint8_t* data, uint64_t size, const char* what)
      : data_(data), size_(size), what_(what) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }

  template <typename... Parts>
  arrow::Status Error(const char* field, const Parts&... parts) const {
    return arrow::Status::Invalid(what_, ": ", field, " at byte ", pos_, ": ", parts...);
  }

  arrow::Result<uint64_t> U64(const char* field) { return Fixed<uint64_t>(field); }
  arrow::Result<uint32_t> U32(const char* field) { return Fixed<uint32_t>(field); }
  arrow::Result<uint8_t> U8(const char* field) { return Fixed<uint8_t>(field); }

  // The u64 length of a Vec whose elements take `elem_bytes` (> 0) each,
  // checked to fit in the bytes left after it.
  arrow::Result<uint64_t> VecLen(const char* field, uint64_t elem_bytes) {
    ARROW_ASSIGN_OR_RAISE(const uint64_t n, U64(field));
    if (n > left() / elem_bytes) {
      return Error(field, "length ", n, " of ", elem_bytes, "-byte elements runs past the ", left(),
                   " bytes left");
    }
    return n;
  }

  // Advances over `bytes` (already checked by VecLen or checked here).
  arrow::Status Skip(const char* field, uint64_t bytes) {
    if (bytes > left()) return Error(field, bytes, " bytes run past the end");
    pos_ += bytes;
    return arrow::Status::OK();
  }

 private:
  template <typename T>
  arrow::Result<T> Fixed(const char* field) {
    if (left() < sizeof(T)) return Error(field, "truncated");
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const char* what_;
};

}  // namespace ailake::index
