// VectorView: locating stored rows in one or several borrowed segments.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <utility>

#include "ailake/vec/codec.h"
#include "ailake/vectors.h"

namespace ailake {
namespace {

arrow::Status CheckLayout(Precision precision, uint32_t dim, const Int8Params& int8) {
  if (dim == 0 || dim > VectorStoragePolicy::kMaxDim) {
    return arrow::Status::Invalid("VectorView: dim ", dim, " is out of range [1, ",
                                  VectorStoragePolicy::kMaxDim, "]");
  }
  ARROW_RETURN_NOT_OK(PrecisionFromCode(static_cast<uint32_t>(precision)).status());
  if (precision == Precision::kInt8 && int8.scaling != Int8Scaling::kPerVector &&
      int8.scaling != Int8Scaling::kFixed) {
    return arrow::Status::Invalid("VectorView: int8 rows need per_vector or fixed scaling");
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<VectorView> VectorView::Contiguous(Precision precision, uint32_t dim,
                                                 const Int8Params& int8, const uint8_t* data,
                                                 uint32_t num_rows) {
  return Segmented(precision, dim, int8, {VectorSegment{data, num_rows}});
}

arrow::Result<VectorView> VectorView::Segmented(Precision precision, uint32_t dim,
                                                const Int8Params& int8,
                                                std::vector<VectorSegment> segments) {
  ARROW_RETURN_NOT_OK(CheckLayout(precision, dim, int8));
  VectorView v;
  v.precision_ = precision;
  v.dim_ = dim;
  v.int8_ = int8;
  v.row_bytes_ = static_cast<uint32_t>(vec::StoredRowBytes(precision, dim, int8));
  uint64_t total = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const VectorSegment& s = segments[i];
    if (s.num_rows > 0 && s.data == nullptr) {
      return arrow::Status::Invalid("VectorView: segment ", i, " has ", s.num_rows,
                                    " rows but no data");
    }
    if (i + 1 < segments.size() && s.num_rows != segments[0].num_rows) {
      return arrow::Status::Invalid("VectorView: segment ", i, " has ", s.num_rows,
                                    " rows; every segment but the last must have ",
                                    segments[0].num_rows);
    }
    if (i + 1 < segments.size() && s.num_rows == 0) {
      return arrow::Status::Invalid("VectorView: segment ", i, " is empty and not the last");
    }
    total += s.num_rows;
  }
  if (total > std::numeric_limits<uint32_t>::max()) {
    return arrow::Status::Invalid("VectorView: ", total, " rows exceed the 2^32 - 1 limit");
  }
  v.num_rows_ = static_cast<uint32_t>(total);
  v.rows_per_segment_ = segments.empty() ? 1 : std::max<uint32_t>(1, segments[0].num_rows);
  v.segments_ = std::move(segments);
  return v;
}

void VectorView::Decode(uint32_t r, float* out) const {
  vec::DecodeRow(precision_, dim_, int8_, Row(r), out);
}

RowBitmap::RowBitmap(uint32_t num_rows, bool all)
    : words_((static_cast<size_t>(num_rows) + 63) / 64, all ? ~uint64_t{0} : 0),
      num_rows_(num_rows) {
  // Bits past the last row stay clear, so Count and And need no mask.
  if (all && (num_rows & 63) != 0) words_.back() = (uint64_t{1} << (num_rows & 63)) - 1;
}

RowBitmap RowBitmap::FromMask(std::span<const uint8_t> mask) {
  RowBitmap out(static_cast<uint32_t>(mask.size()));
  for (size_t r = 0; r < mask.size(); ++r) {
    if (mask[r] != 0) out.Set(static_cast<uint32_t>(r));
  }
  return out;
}

RowBitmap& RowBitmap::And(const RowFilter& other) {
  const size_t n = std::min(words_.size(), other.words.size());
  for (size_t i = 0; i < n; ++i) words_[i] &= other.words[i];
  for (size_t i = n; i < words_.size(); ++i) words_[i] = 0;
  // Rows of a last partial word of `other` past its num_rows.
  const uint32_t limit = std::min(num_rows_, other.num_rows);
  for (uint32_t r = limit; r < std::min<uint64_t>(num_rows_, (uint64_t{limit} + 63) / 64 * 64);
       ++r) {
    Reset(r);
  }
  return *this;
}

uint64_t RowBitmap::Count() const {
  uint64_t n = 0;
  for (uint64_t w : words_) n += static_cast<uint64_t>(std::popcount(w));
  return n;
}

}  // namespace ailake
