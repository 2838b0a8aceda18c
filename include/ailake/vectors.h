// Stored vectors and row sets (layer vec/): the VectorView every index is
// built from and every exact scan reads, and the RowFilter a filtered search
// takes. Below the indexes (include/ailake/index.h), which build on them.
//
// Thread safety: a VectorView is a read-only view, safe to share between
// threads (an on-demand one fetches rows under its own source's lock); a
// RowFilter borrows its words read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/policy.h"

namespace ailake {

// The rows a filtered search may return: bit r of `words` set = row r allowed.
// A search with a filter returns min(k, allowed rows) results: the filter is
// applied inside the search, never after it.
struct RowFilter {
  std::span<const uint64_t> words;
  uint32_t num_rows = 0;
  bool Contains(uint32_t r) const {
    return r < num_rows && ((words[r >> 6] >> (r & 63)) & 1u) != 0;
  }
};

// The one owning row set: rows 0 .. num_rows-1 as bits (bit r of word r/64 =
// row r), the words a RowFilter views. Live rows of a fragment, rows a
// filter matches, a caller's allow-list all take this form.
class RowBitmap {
 public:
  RowBitmap() = default;
  // num_rows rows, none set (or all, with `all`).
  explicit RowBitmap(uint32_t num_rows, bool all = false);
  // From a mask of one byte per row (non-zero = set).
  static RowBitmap FromMask(std::span<const uint8_t> mask);

  void Set(uint32_t r) { words_[r >> 6] |= uint64_t{1} << (r & 63); }
  void Reset(uint32_t r) { words_[r >> 6] &= ~(uint64_t{1} << (r & 63)); }
  bool Contains(uint32_t r) const { return filter().Contains(r); }
  // Keeps the rows also in `other` (rows past other.num_rows are dropped).
  RowBitmap& And(const RowFilter& other);
  uint64_t Count() const;
  uint32_t num_rows() const { return num_rows_; }
  std::span<const uint64_t> words() const { return words_; }
  // A view for searches; valid while this bitmap lives unchanged.
  RowFilter filter() const { return RowFilter{words_, num_rows_}; }

 private:
  std::vector<uint64_t> words_;
  uint32_t num_rows_ = 0;
};

// Stored vectors, in the column's precision, possibly in several contiguous
// segments (for example one per Parquet data page of a memory-mapped file).
// Every segment but the last holds exactly rows_per_segment rows, so a row is
// found without a search. The bytes are borrowed: they must outlive the view
// and every index that uses it.
struct VectorSegment {
  const uint8_t* data = nullptr;
  uint32_t num_rows = 0;
};

// The rows of a view whose bytes are brought into memory on demand (the
// vector column of a file on object storage): Fetch must have succeeded for a
// row before the view's Row() of it is read. Safe to call from any thread.
class VectorRowSource {
 public:
  virtual ~VectorRowSource() = default;
  virtual arrow::Status Fetch(std::span<const uint32_t> rows) const = 0;
  virtual arrow::Status FetchAll() const = 0;
};

class VectorView {
 public:
  VectorView() = default;
  // One contiguous block of num_rows rows of row_bytes each.
  static arrow::Result<VectorView> Contiguous(Precision precision, uint32_t dim,
                                              const Int8Params& int8, const uint8_t* data,
                                              uint32_t num_rows);
  // Several blocks; all but the last must hold the same number of rows.
  static arrow::Result<VectorView> Segmented(Precision precision, uint32_t dim,
                                             const Int8Params& int8,
                                             std::vector<VectorSegment> segments);

  Precision precision() const { return precision_; }
  uint32_t dim() const { return dim_; }
  uint32_t num_rows() const { return num_rows_; }
  uint32_t row_bytes() const { return row_bytes_; }
  const Int8Params& int8() const { return int8_; }
  const uint8_t* Row(uint32_t r) const {
    if (segments_.size() == 1) return segments_[0].data + static_cast<size_t>(r) * row_bytes_;
    const uint32_t s = r / rows_per_segment_;
    return segments_[s].data + static_cast<size_t>(r - s * rows_per_segment_) * row_bytes_;
  }
  // Row r decoded to f32 (dim floats).
  void Decode(uint32_t r, float* out) const;

  // A view whose rows are fetched by `source` before use (see
  // VectorRowSource). Indexes that read every row (HNSW, flat) fetch all of
  // them when loaded; IVF-PQ fetches the rows it re-ranks.
  VectorView OnDemand(std::shared_ptr<const VectorRowSource> source) const {
    VectorView v = *this;
    v.source_ = std::move(source);
    return v;
  }
  bool on_demand() const { return source_ != nullptr; }
  // Makes rows readable: a no-op for views over bytes already in memory.
  arrow::Status Fetch(std::span<const uint32_t> rows) const {
    return source_ ? source_->Fetch(rows) : arrow::Status::OK();
  }
  arrow::Status FetchAll() const { return source_ ? source_->FetchAll() : arrow::Status::OK(); }

 private:
  Precision precision_ = Precision::kF32;
  uint32_t dim_ = 0;
  uint32_t row_bytes_ = 0;
  uint32_t num_rows_ = 0;
  uint32_t rows_per_segment_ = 0;
  Int8Params int8_;
  std::vector<VectorSegment> segments_;
  std::shared_ptr<const VectorRowSource> source_;
};

}  // namespace ailake
