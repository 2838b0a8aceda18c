// The index layer on its own (layer index/): build from a float32 matrix,
// search batches of queries, save to and load from one file.
//
// Saved index file (little-endian), docs/PYTHON.md "Saved indexes":
//   0   8  magic "AILKIDX1"
//   8   4  u32 dim
//   12  4  u32 num_rows
//   16  1  metric code     17  1  index type code   18  1  pre_normalize   19 1 zero
//   20  4  u32 zero
//   24  8  u64 index blob bytes
//   32     num_rows * dim float32 vectors, then the index blob (docs/FORMAT.md)
// The file size must equal 32 + vectors + blob; the blob is validated by LoadIndex.
#include <cmath>
#include <cstring>
#include <limits>

#include <arrow/buffer.h>
#include <arrow/io/file.h>
#include <arrow/memory_pool.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include "ailake/core/large_buffer.h"
#include "ailake/index.h"
#include "bindings.h"
#include "convert.h"

namespace ailake::py {

namespace {

using FloatMatrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Mask = nb::ndarray<const bool, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

constexpr char kMagic[8] = {'A', 'I', 'L', 'K', 'I', 'D', 'X', '1'};
constexpr size_t kHeaderBytes = 32;

template <typename T>
T ReadLe(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

class PyIndex {
 public:
  static PyIndex Build(const FloatMatrix& vectors, const nb::dict& policy_dict,
                       uint32_t num_threads) {
    PyIndex ix;
    ix.policy_ = PolicyFromDict(policy_dict);
    ix.policy_.precision = Precision::kF32;
    const size_t n = vectors.shape(0), dim = vectors.shape(1);
    if (ix.policy_.dim == 0) ix.policy_.dim = static_cast<uint32_t>(dim);
    if (dim != ix.policy_.dim) {
      Throw(arrow::Status::Invalid("vectors have ", dim, " columns, dim is ", ix.policy_.dim));
    }
    if (n == 0 || n > std::numeric_limits<uint32_t>::max()) {
      Throw(arrow::Status::Invalid("an index needs 1 to 2^32-1 vectors, got ", n));
    }
    Check(ix.policy_.Validate());
    const float* src = vectors.data();
    IndexBuildOptions build;
    build.num_threads = num_threads;
    auto st = NoGil([&]() -> arrow::Status {
      // Huge-page advised when large (core/large_buffer.h): searches read its
      // rows at random.
      ARROW_ASSIGN_OR_RAISE(
          std::shared_ptr<arrow::Buffer> buf,
          core::AllocateLargeBuffer(static_cast<int64_t>(n * dim * sizeof(float))));
      auto* dst = reinterpret_cast<float*>(buf->mutable_data());
      std::memcpy(dst, src, n * dim * sizeof(float));
      if (ix.policy_.pre_normalize) {
        for (size_t r = 0; r < n; ++r) {
          double s = 0;
          for (size_t j = 0; j < dim; ++j) s += double(dst[r * dim + j]) * dst[r * dim + j];
          if (s > 0) {
            const float inv = static_cast<float>(1.0 / std::sqrt(s));
            for (size_t j = 0; j < dim; ++j) dst[r * dim + j] *= inv;
          }
        }
      }
      ix.vectors_ = std::move(buf);
      ARROW_ASSIGN_OR_RAISE(
          ix.view_, VectorView::Contiguous(Precision::kF32, ix.policy_.dim, {}, ix.vectors_->data(),
                                           static_cast<uint32_t>(n)));
      ARROW_ASSIGN_OR_RAISE(ix.index_, BuildIndex(ix.policy_, ix.view_, build));
      return arrow::Status::OK();
    });
    Check(st);
    return ix;
  }

  static PyIndex Load(const std::string& path, bool memory_map) {
    PyIndex ix;
    auto st = NoGil([&]() -> arrow::Status {
      std::shared_ptr<arrow::Buffer> bytes;
      if (memory_map) {
        ARROW_ASSIGN_OR_RAISE(auto f,
                              arrow::io::MemoryMappedFile::Open(path, arrow::io::FileMode::READ));
        ARROW_ASSIGN_OR_RAISE(auto size, f->GetSize());
        ARROW_ASSIGN_OR_RAISE(bytes, f->ReadAt(0, size));
      } else {
        ARROW_ASSIGN_OR_RAISE(auto f, arrow::io::ReadableFile::Open(path));
        ARROW_ASSIGN_OR_RAISE(auto size, f->GetSize());
        ARROW_ASSIGN_OR_RAISE(bytes, core::ReadLarge(f.get(), 0, size));
      }
      const uint64_t size = static_cast<uint64_t>(bytes->size());
      if (size < kHeaderBytes || std::memcmp(bytes->data(), kMagic, 8) != 0) {
        return arrow::Status::Invalid("'", path, "' is not a saved ailake index (bad magic)");
      }
      const uint8_t* p = bytes->data();
      const uint32_t dim = ReadLe<uint32_t>(p + 8);
      const uint32_t num_rows = ReadLe<uint32_t>(p + 12);
      const uint64_t blob_bytes = ReadLe<uint64_t>(p + 24);
      ARROW_ASSIGN_OR_RAISE(ix.policy_.metric, MetricFromCode(p[16]));
      if (p[17] != static_cast<uint8_t>(IndexType::kFlat) &&
          p[17] != static_cast<uint8_t>(IndexType::kHnsw) &&
          p[17] != static_cast<uint8_t>(IndexType::kIvfPq)) {
        return arrow::Status::Invalid("'", path, "': unknown index type code ", int(p[17]));
      }
      if (dim == 0 || dim > VectorStoragePolicy::kMaxDim) {
        return arrow::Status::Invalid("'", path, "': dim ", dim, " out of range");
      }
      const uint64_t vec_bytes = uint64_t{num_rows} * dim * sizeof(float);
      if (vec_bytes > size || blob_bytes > size || kHeaderBytes + vec_bytes + blob_bytes != size) {
        return arrow::Status::Invalid("'", path, "': size ", size, " does not match the header (",
                                      num_rows, " rows of dim ", dim, ", blob of ", blob_bytes,
                                      " bytes)");
      }
      ix.policy_.dim = dim;
      ix.policy_.index_type = static_cast<IndexType>(p[17]);
      ix.policy_.pre_normalize = p[18] != 0;
      ix.vectors_ = arrow::SliceBuffer(bytes, kHeaderBytes, static_cast<int64_t>(vec_bytes));
      auto blob = arrow::SliceBuffer(bytes, static_cast<int64_t>(kHeaderBytes + vec_bytes),
                                     static_cast<int64_t>(blob_bytes));
      ARROW_ASSIGN_OR_RAISE(ix.view_, VectorView::Contiguous(Precision::kF32, dim, {},
                                                             ix.vectors_->data(), num_rows));
      ARROW_ASSIGN_OR_RAISE(ix.index_, LoadIndex(blob, ix.view_));
      if (ix.index_->dim() != dim || ix.index_->size() != num_rows ||
          ix.index_->metric() != ix.policy_.metric || ix.index_->type() != ix.policy_.index_type) {
        return arrow::Status::Invalid("'", path, "': the index blob does not match the header");
      }
      return arrow::Status::OK();
    });
    Check(st);
    return ix;
  }

  void Save(const std::string& path) const {
    Check(NoGil([&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto blob, index_->Serialize());
      uint8_t header[kHeaderBytes] = {};
      std::memcpy(header, kMagic, 8);
      const uint32_t dim = index_->dim(), n = index_->size();
      const uint64_t blob_bytes = static_cast<uint64_t>(blob->size());
      std::memcpy(header + 8, &dim, 4);
      std::memcpy(header + 12, &n, 4);
      header[16] = static_cast<uint8_t>(index_->metric());
      header[17] = static_cast<uint8_t>(index_->type());
      header[18] = policy_.pre_normalize ? 1 : 0;
      std::memcpy(header + 24, &blob_bytes, 8);
      ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(path));
      ARROW_RETURN_NOT_OK(out->Write(header, kHeaderBytes));
      ARROW_RETURN_NOT_OK(out->Write(vectors_->data(), vectors_->size()));
      ARROW_RETURN_NOT_OK(out->Write(blob));
      return out->Close();
    }));
  }

  // (distances, ids), each num_queries x min(k, rows); missing results are
  // (inf, -1). k past the row count cannot return more rows, so it allocates
  // nothing more (k = 10**9 is not 10**9 slots per query).
  nb::tuple Search(const FloatMatrix& queries, uint32_t k, uint32_t ef, uint32_t nprobe,
                   uint32_t refine_factor, std::optional<Mask> allowed,
                   uint32_t num_threads) const {
    const size_t nq = queries.shape(0);
    if (queries.shape(1) != index_->dim()) {
      Throw(arrow::Status::Invalid("queries have ", queries.shape(1),
                                   " columns, the index has dim ", index_->dim()));
    }
    if (k == 0) Throw(arrow::Status::Invalid("k must be at least 1"));
    k = std::max<uint32_t>(1, std::min(k, index_->size()));
    RowBitmap bits;
    RowFilter filter;
    if (allowed) {
      if (allowed->shape(0) != index_->size()) {
        Throw(arrow::Status::Invalid("allowed mask has ", allowed->shape(0),
                                     " entries, the index has ", index_->size(), " rows"));
      }
      bits = RowBitmap::FromMask(
          {reinterpret_cast<const uint8_t*>(allowed->data()), allowed->shape(0)});
      filter = bits.filter();
    }
    SearchParams params{ef, nprobe, refine_factor};
    std::span<const float> q(queries.data(), nq * queries.shape(1));
    auto* dist = new float[nq * k];
    auto* ids = new int64_t[nq * k];
    nb::capsule dist_owner(dist, [](void* p) noexcept { delete[] static_cast<float*>(p); });
    nb::capsule ids_owner(ids, [](void* p) noexcept { delete[] static_cast<int64_t*>(p); });
    Check(NoGil([&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto results,
                            index_->SearchBatch(q, static_cast<uint32_t>(nq), k, params,
                                                allowed ? &filter : nullptr, num_threads));
      for (size_t i = 0; i < nq; ++i) {
        for (size_t j = 0; j < k; ++j) {
          const bool have = j < results[i].size();
          dist[i * k + j] = have ? results[i][j].distance : std::numeric_limits<float>::infinity();
          ids[i * k + j] = have ? int64_t{results[i][j].row} : -1;
        }
      }
      return arrow::Status::OK();
    }));
    return nb::make_tuple(nb::ndarray<nb::numpy, float, nb::ndim<2>>(dist, {nq, k}, dist_owner),
                          nb::ndarray<nb::numpy, int64_t, nb::ndim<2>>(ids, {nq, k}, ids_owner));
  }

  uint32_t dim() const { return index_->dim(); }
  uint32_t size() const { return index_->size(); }
  std::string metric() const { return std::string(MetricName(index_->metric())); }
  std::string type() const { return std::string(IndexTypeName(index_->type())); }

 private:
  VectorStoragePolicy policy_;
  std::shared_ptr<arrow::Buffer> vectors_;
  VectorView view_;
  std::unique_ptr<VectorIndex> index_;
};

}  // namespace

void BindIndexes(nb::module_& m) {
  nb::class_<PyIndex>(m, "Index")
      .def_static("build", &PyIndex::Build, nb::arg("vectors"), nb::arg("policy"),
                  nb::arg("num_threads"))
      .def_static("load", &PyIndex::Load, nb::arg("path"), nb::arg("memory_map"))
      .def("save", &PyIndex::Save, nb::arg("path"))
      .def("search", &PyIndex::Search, nb::arg("queries"), nb::arg("k"), nb::arg("ef"),
           nb::arg("nprobe"), nb::arg("refine_factor"), nb::arg("allowed").none(),
           nb::arg("num_threads"))
      .def_prop_ro("dim", &PyIndex::dim)
      .def_prop_ro("size", &PyIndex::size)
      .def_prop_ro("metric", &PyIndex::metric)
      .def_prop_ro("type", &PyIndex::type);
}

}  // namespace ailake::py
