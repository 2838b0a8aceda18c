#include "ailake/index/ivf_pq_codebook.h"

#include <cstdio>
#include <cstring>

#include "ailake/vec/codec.h"
#include "ailake/vec/kernels.h"
#include "ailake/vec/kmeans.h"
#include "ailake/vec/parallel.h"
#include "ailake/vec/pq.h"

namespace ailake::index {
namespace {

constexpr size_t kSpaceAt = 6, kMetricAt = 7, kDimAt = 8, kNlistAt = 12, kMAt = 16, kKsubAt = 20,
                 kBytesAt = 24, kCentroidsAt = 32, kPanelsAt = 40, kNormsAt = 48;
// Training sample sizes (rows): coarse k-means and PQ.
constexpr uint32_t kPointsPerCentroid = 256;
constexpr size_t kPqTrainRows = 65536;
constexpr uint32_t kCoarseIterations = 20;
constexpr uint32_t kPqIterations = 20;

}  // namespace

PqSpace SpaceOf(DistanceMetric metric) {
  switch (metric) {
    case DistanceMetric::kEuclidean: return PqSpace::kL2;
    case DistanceMetric::kDotProduct: return PqSpace::kInnerProduct;
    default: return PqSpace::kUnit;
  }
}

void DecodeRowsForSpace(const VectorView& vectors, PqSpace space, size_t b, size_t e, float* out) {
  const uint32_t d = vectors.dim();
  for (size_t r = b; r < e; ++r) vectors.Decode(static_cast<uint32_t>(r), out + (r - b) * d);
  if (space == PqSpace::kUnit) vec::NormalizeRows(out, e - b, d);
}

std::vector<float> PqCodebook::Codewords() const {
  const size_t dsub = this->dsub();
  std::vector<float> out(size_t{m_} * ksub_ * dsub);
  for (uint32_t j = 0; j < m_; ++j) {
    const float* p = panels(j);
    for (size_t c = 0; c < ksub_; ++c) {
      for (size_t t = 0; t < dsub; ++t) {
        out[(j * ksub_ + c) * dsub + t] = vec::Ld(p + (c / 16) * dsub * 16 + t * 16 + c % 16);
      }
    }
  }
  return out;
}

const vec::PackedRows& PqCodebook::PackedCentroids() const {
  std::call_once(packed_once_, [this] {
    const std::vector<float> c = Centroids();
    packed_centroids_ = vec::PackRows(c.data(), nlist_, dim_);
  });
  return packed_centroids_;
}

const float* PqCodebook::ListTerms() const {
  if (ksub_ != 16 || space_ != PqSpace::kL2 || uint64_t{nlist_} * m_ * 16 * 4 > kMaxListTermBytes) {
    return nullptr;
  }
  std::call_once(terms_once_, [this] {
    const vec::KernelTable& kt = vec::Kernels();
    const uint32_t ds = dsub();
    list_terms_.resize(size_t{nlist_} * m_ * 16);
    for (uint32_t l = 0; l < nlist_; ++l) {
      const float* c = centroid(l);
      std::vector<float> cl(dim_);
      for (uint32_t t = 0; t < dim_; ++t) cl[t] = vec::Ld(c + t);
      for (uint32_t j = 0; j < m_; ++j) {
        kt.pq_lut(cl.data() + size_t{j} * ds, panels(j), 1, code_norms(j), 2.0f, ds,
                  &list_terms_[(size_t{l} * m_ + j) * 16]);
      }
    }
  });
  return list_terms_.data();
}

std::vector<float> PqCodebook::Centroids() const {
  std::vector<float> out(size_t{nlist_} * dim_);
  std::memcpy(out.data(), centroids_, out.size() * 4);
  return out;
}

arrow::Result<std::shared_ptr<const PqCodebook>> PqCodebook::Open(
    std::shared_ptr<arrow::Buffer> blob) {
  if (blob == nullptr) return arrow::Status::Invalid("IVF-PQ codebook: null buffer");
  const uint8_t* p = blob->data();
  const uint64_t size = static_cast<uint64_t>(blob->size());
  if (size < kCodebookHeaderBytes) {
    return arrow::Status::Invalid("IVF-PQ codebook: ", size, " bytes is shorter than its header");
  }
  if (LoadU32(p) != kCodebookMagic) {
    return arrow::Status::Invalid("IVF-PQ codebook: bad magic at offset 0 (expected \"AIPQ\")");
  }
  uint16_t version;
  std::memcpy(&version, p + 4, 2);
  if (version != kBlobVersion) {
    return arrow::Status::NotImplemented("IVF-PQ codebook: version ", version, " is not supported");
  }
  auto cb = std::make_shared<PqCodebook>();
  if (p[kSpaceAt] > 2) {
    return arrow::Status::Invalid("IVF-PQ codebook: unknown space ", int{p[kSpaceAt]});
  }
  cb->space_ = static_cast<PqSpace>(p[kSpaceAt]);
  ARROW_ASSIGN_OR_RAISE(cb->metric_, MetricFromCode(p[kMetricAt]));
  if (SpaceOf(cb->metric_) != cb->space_) {
    return arrow::Status::Invalid("IVF-PQ codebook: space does not match metric");
  }
  cb->dim_ = LoadU32(p + kDimAt);
  cb->nlist_ = LoadU32(p + kNlistAt);
  cb->m_ = LoadU32(p + kMAt);
  if (cb->dim_ == 0 || cb->dim_ > VectorStoragePolicy::kMaxDim || cb->m_ == 0 ||
      cb->dim_ % cb->m_ != 0 || cb->nlist_ == 0 || cb->nlist_ > (1u << 20)) {
    return arrow::Status::Invalid("IVF-PQ codebook: dim ", cb->dim_, ", m ", cb->m_, ", nlist ",
                                  cb->nlist_, " at offset 8 are inconsistent");
  }
  cb->ksub_ = LoadU32(p + kKsubAt);
  if (cb->ksub_ != 16 && cb->ksub_ != 256) {
    return arrow::Status::Invalid("IVF-PQ codebook: ", cb->ksub_,
                                  " codewords per sub-space at offset 20 (16 or 256)");
  }
  if (LoadU64(p + kBytesAt) != size) {
    return arrow::Status::Invalid("IVF-PQ codebook: header says ", LoadU64(p + kBytesAt),
                                  " bytes, buffer holds ", size);
  }
  const uint64_t c = LoadU64(p + kCentroidsAt), pn = LoadU64(p + kPanelsAt),
                 nr = LoadU64(p + kNormsAt);
  ARROW_RETURN_NOT_OK(
      CheckSection(size, c, uint64_t{cb->nlist_} * cb->dim_, 4, "codebook.centroids"));
  ARROW_RETURN_NOT_OK(
      CheckSection(size, pn, uint64_t{cb->dim_} * cb->ksub_, 4, "codebook.codewords"));
  ARROW_RETURN_NOT_OK(CheckSection(size, nr, uint64_t{cb->m_} * cb->ksub_, 4, "codebook.norms"));
  cb->centroids_ = p + c;
  cb->panels_ = p + pn;
  cb->norms_ = p + nr;
  cb->fingerprint_ = Fnv1a64(p, size);
  cb->blob_ = std::move(blob);
  return std::shared_ptr<const PqCodebook>(std::move(cb));
}

arrow::Result<std::shared_ptr<const PqCodebook>> TrainPqCodebook(const VectorStoragePolicy& policy,
                                                                 const VectorView& vectors,
                                                                 uint32_t threads) {
  const uint32_t d = vectors.dim(), nlist = policy.ivf_pq.nlist, m = policy.ivf_pq.m;
  if (m == 0 || d % m != 0) {
    return arrow::Status::Invalid("IVF-PQ: m = ", m, " must divide dim ", d);
  }
  if (nlist == 0 || nlist > (1u << 20)) {
    return arrow::Status::Invalid("IVF-PQ: nlist ", nlist, " is out of range [1, 1048576]");
  }
  if (policy.ivf_pq.nbits != 4 && policy.ivf_pq.nbits != 8) {
    return arrow::Status::Invalid("IVF-PQ: nbits ", policy.ivf_pq.nbits, " (4 or 8)");
  }
  const uint32_t ksub = 1u << policy.ivf_pq.nbits;
  if (vectors.num_rows() == 0) return arrow::Status::Invalid("IVF-PQ: no rows to train on");
  const PqSpace space = SpaceOf(policy.metric);
  const size_t dsub = d / m;
  // Coarse training sample, decoded into the codebook's space.
  const auto rows =
      vec::SampleRows(vectors.num_rows(), size_t{nlist} * kPointsPerCentroid, policy.ivf_pq.seed);
  std::vector<float> x(rows.size() * d);
  vec::ParallelFor(rows.size(), threads, 1024, [&](size_t b, size_t e, uint32_t) {
    for (size_t i = b; i < e; ++i)
      DecodeRowsForSpace(vectors, space, rows[i], rows[i] + 1, &x[i * d]);
  });
  vec::KMeansOptions ko;
  ko.k = nlist;
  ko.iterations = kCoarseIterations;
  ko.seed = policy.ivf_pq.seed;
  ko.threads = threads;
  // Unit rows (cosine): unit centroids, so the coarse step's |q - c|
  // ranks lists by q . c.
  ko.spherical = space == PqSpace::kUnit;
  const std::vector<float> centroids = vec::KMeans(x.data(), rows.size(), d, ko);
  // Residuals of a PQ training sample against their nearest centroid.
  const auto pq_rows = vec::SampleRows(rows.size(), kPqTrainRows, policy.ivf_pq.seed + 7);
  std::vector<float> res(pq_rows.size() * d);
  for (size_t i = 0; i < pq_rows.size(); ++i) {
    std::memcpy(&res[i * d], &x[pq_rows[i] * d], size_t{d} * 4);
  }
  std::vector<uint32_t> assign(pq_rows.size());
  vec::AssignL2(res.data(), pq_rows.size(), d, centroids.data(), nlist, threads, assign.data());
  for (size_t i = 0; i < pq_rows.size(); ++i) {
    for (uint32_t t = 0; t < d; ++t) res[i * d + t] -= centroids[size_t{assign[i]} * d + t];
  }
  const std::vector<float> books = vec::TrainProductQuantizer(
      res.data(), pq_rows.size(), d, m, ksub, kPqIterations, policy.ivf_pq.seed + 11, threads);

  // Serialize: header, centroids, packed codeword panels, codeword norms.
  std::vector<float> panels(size_t{d} * ksub), norms(size_t{m} * ksub);
  for (uint32_t j = 0; j < m; ++j) {
    for (size_t c = 0; c < ksub; ++c) {
      const float* w = &books[(j * ksub + c) * dsub];
      float nn = 0;
      for (size_t t = 0; t < dsub; ++t) {
        panels[j * ksub * dsub + (c / 16) * dsub * 16 + t * 16 + c % 16] = w[t];
        nn += w[t] * w[t];
      }
      norms[j * ksub + c] = nn;
    }
  }
  BlobWriter w(kCodebookHeaderBytes);
  w.PutU32(0, kCodebookMagic);
  w.PutU16(4, kBlobVersion);
  w.PutU8(kSpaceAt, static_cast<uint8_t>(space));
  w.PutU8(kMetricAt, static_cast<uint8_t>(policy.metric));
  w.PutU32(kDimAt, d);
  w.PutU32(kNlistAt, nlist);
  w.PutU32(kMAt, m);
  w.PutU32(kKsubAt, ksub);
  w.PutU64(kCentroidsAt, w.Append(centroids.data(), centroids.size() * 4));
  w.PutU64(kPanelsAt, w.Append(panels.data(), panels.size() * 4));
  w.PutU64(kNormsAt, w.Append(norms.data(), norms.size() * 4));
  ARROW_ASSIGN_OR_RAISE(auto blob, w.Finish());
  return PqCodebook::Open(std::move(blob));
}

}  // namespace ailake::index

namespace ailake {

arrow::Result<std::shared_ptr<const IvfPqCodebook>> IvfPqCodebook::Load(
    std::shared_ptr<arrow::Buffer> blob) {
  ARROW_ASSIGN_OR_RAISE(auto cb, index::PqCodebook::Open(std::move(blob)));
  return std::shared_ptr<const IvfPqCodebook>(std::move(cb));
}

arrow::Result<std::shared_ptr<const IvfPqCodebook>> TrainIvfPqCodebook(
    const VectorStoragePolicy& policy, const VectorView& vectors,
    const IndexBuildOptions& options) {
  ARROW_RETURN_NOT_OK(policy.Validate());
  if (vectors.dim() != policy.dim) {
    return arrow::Status::Invalid("TrainIvfPqCodebook: vectors are dim ", vectors.dim(),
                                  ", policy dim is ", policy.dim);
  }
  ARROW_ASSIGN_OR_RAISE(auto cb, index::TrainPqCodebook(policy, vectors, options.num_threads));
  return std::shared_ptr<const IvfPqCodebook>(std::move(cb));
}

std::string FormatFingerprint(uint64_t fingerprint) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(fingerprint));
  return buf;
}

}  // namespace ailake
