// The IVF-PQ codebook as a blob (docs/FORMAT.md 3.5): coarse centroids,
// PQ codewords stored as packed panels (so lookup tables come from the
// matrix kernel), and |codeword|^2 per codeword. Opened in place, validated.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "ailake/index.h"
#include "ailake/index/blob.h"
#include "ailake/vec/matrix.h"

namespace ailake::index {

inline constexpr uint32_t kCodebookMagic = 0x51504941;  // "AIPQ"
inline constexpr size_t kCodebookHeaderBytes = 64;

// The space the codebook quantizes: raw vectors under squared L2, raw vectors
// under inner product, or unit-normalized vectors under squared L2.
enum class PqSpace : uint8_t { kL2 = 0, kInnerProduct = 1, kUnit = 2 };
PqSpace SpaceOf(DistanceMetric metric);

class PqCodebook final : public IvfPqCodebook {
 public:
  // Validates `blob` (sizes, offsets, counts) and reads it in place.
  static arrow::Result<std::shared_ptr<const PqCodebook>> Open(std::shared_ptr<arrow::Buffer> blob);

  uint32_t dim() const override { return dim_; }
  uint32_t nlist() const override { return nlist_; }
  uint32_t m() const override { return m_; }
  uint32_t nbits() const override { return ksub_ == 16 ? 4 : 8; }
  DistanceMetric metric() const override { return metric_; }
  uint64_t fingerprint() const override { return fingerprint_; }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override { return blob_; }

  PqSpace space() const { return space_; }
  uint32_t dsub() const { return dim_ / m_; }
  // Codewords per sub-space: 16 (4-bit codes) or 256 (8-bit).
  uint32_t ksub() const { return ksub_; }
  // nlist x dim f32 (any alignment).
  const float* centroid(uint32_t list) const {
    return reinterpret_cast<const float*>(centroids_ + static_cast<size_t>(list) * dim_ * 4);
  }
  // Sub-space j: ksub / 16 panels of dsub x 16 floats (codeword c at panel
  // c / 16, column c % 16).
  const float* panels(uint32_t j) const {
    return reinterpret_cast<const float*>(panels_ + static_cast<size_t>(j) * ksub_ * dsub() * 4);
  }
  // |codeword|^2, m x ksub.
  const float* code_norms(uint32_t j) const {
    return reinterpret_cast<const float*>(norms_ + static_cast<size_t>(j) * ksub_ * 4);
  }
  // Codewords unpacked to m x ksub x dsub (for encoding).
  std::vector<float> Codewords() const;
  std::vector<float> Centroids() const;
  // The centroids packed for the matrix kernel (with |c|^2), made on first
  // use and shared by every index using this codebook.
  const vec::PackedRows& PackedCentroids() const;
  // 4-bit codes under squared L2: per list l, sub-space j, codeword c, the
  // query-independent part of the list's lookup table, |r_jc|^2 + 2 c_lj . r_jc
  // (nlist x m x 16 f32), so a search adds -2 q_j . r_jc, one table per query,
  // instead of computing a table per list. Made on first use and shared;
  // null when it would pass kMaxListTermBytes (the per-list tables are then
  // computed as for 8-bit codes).
  const float* ListTerms() const;
  static constexpr uint64_t kMaxListTermBytes = uint64_t{64} << 20;

 private:
  mutable std::once_flag packed_once_, terms_once_;
  mutable std::vector<float> list_terms_;
  mutable vec::PackedRows packed_centroids_;
  std::shared_ptr<arrow::Buffer> blob_;
  uint32_t dim_ = 0, nlist_ = 0, m_ = 0, ksub_ = 256;
  DistanceMetric metric_ = DistanceMetric::kEuclidean;
  PqSpace space_ = PqSpace::kL2;
  uint64_t fingerprint_ = 0;
  const uint8_t* centroids_ = nullptr;
  const uint8_t* panels_ = nullptr;
  const uint8_t* norms_ = nullptr;
};

// Trains a codebook (see TrainIvfPqCodebook in ailake/index.h).
arrow::Result<std::shared_ptr<const PqCodebook>> TrainPqCodebook(const VectorStoragePolicy& policy,
                                                                 const VectorView& vectors,
                                                                 uint32_t threads);

// Rows [b, e) of `vectors` decoded to f32 in the codebook's space.
void DecodeRowsForSpace(const VectorView& vectors, PqSpace space, size_t b, size_t e, float* out);

}  // namespace ailake::index
