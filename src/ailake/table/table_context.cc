#include "ailake/table/table_context.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/util/bitmap_ops.h>

#include <arrow/compute/initialize.h>

#include <algorithm>
#include <mutex>

#include "ailake/index.h"
#include "ailake/storage.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/iceberg_source.h"

namespace ailake::table {

arrow::Result<std::shared_ptr<AilakeFileReader>> TableContext::OpenDataFile(const std::string& path,
                                                                            int64_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = readers_.find(path);
    if (it != readers_.end()) return it->second;
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenDataFileUncached(path, size));
  std::lock_guard<std::mutex> lock(mu_);
  if (readers_.size() >= kMaxOpenFiles) readers_.clear();
  auto [it, inserted] = readers_.emplace(path, reader);
  return it->second;
}

arrow::Result<TableContext::TextIndexPtr> TableContext::TextIndexFor(
    const std::string& key, const std::function<arrow::Result<TextIndexPtr>()>& build) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = text_indexes_.find(key);
    if (it != text_indexes_.end()) return it->second;
  }
  ARROW_ASSIGN_OR_RAISE(TextIndexPtr built, build());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = text_indexes_.find(key);
  if (it != text_indexes_.end()) return it->second;
  while (!text_indexes_.empty() && text_index_bytes_ + built->blob_bytes() > kMaxTextIndexBytes) {
    text_index_bytes_ -= text_indexes_.begin()->second->blob_bytes();
    text_indexes_.erase(text_indexes_.begin());
  }
  text_index_bytes_ += built->blob_bytes();
  text_indexes_.emplace(key, built);
  return built;
}

arrow::Result<std::shared_ptr<AilakeFileReader>> TableContext::OpenDataFileUncached(
    const std::string& path, int64_t size) const {
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  // Local files are memory-mapped by path; remote ones are read through the
  // store (ranged requests through the read cache).
  auto opened = [&]() -> arrow::Result<std::unique_ptr<AilakeFileReader>> {
    if (store->is_local()) return AilakeFileReader::Open(io::JoinPath(store->root(), path));
    ARROW_ASSIGN_OR_RAISE(auto file, store->OpenRead(path, size));
    return AilakeFileReader::Open(std::move(file));
  }();
  if (!opened.ok()) {
    return opened.status().WithMessage("data file '", path, "' of table '", uri,
                                       "': ", opened.status().message());
  }
  std::shared_ptr<AilakeFileReader> reader = std::move(*opened);
  if (manifests.iceberg_source()) {
    // Another engine's files: their vector columns carry no ailake metadata.
    for (const auto& p : manifests.iceberg_source()->vectors()) {
      arrow::Status st = reader->DeclareVectorColumn(p);
      if (!st.ok()) return st.WithMessage("data file '", path, "': ", st.message());
    }
  }
  // Remote vector columns that fit a quarter of the read cache are read whole
  // (then searched with no request); larger ones row by row, as re-ranked.
  reader->SetVectorsOnDemand(!store->is_local(), std::max(AilakeFileReader::kOnDemandMinColumnBytes,
                                                          ReadCacheCapacity() / 4));
  reader->SetIvfPqCodebookResolver(
      [cache = codebooks](uint64_t fingerprint) { return cache->Find(fingerprint); });
  return reader;
}

arrow::Result<std::shared_ptr<const std::vector<uint32_t>>> TableContext::ReadDeletions(
    const Fragment& fragment) {
  static const auto kEmpty = std::make_shared<const std::vector<uint32_t>>();
  if (!fragment.has_deletion_file() || fragment.deletion_file().path().empty()) return kEmpty;
  const std::string& path = fragment.deletion_file().path();
  if (manifests.iceberg_source() && path.starts_with(kIcebergDeletesPrefix)) {
    return manifests.iceberg_source()->Deletions(path);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deletions_.find(path);
    if (it != deletions_.end()) return it->second;
  }
  ARROW_ASSIGN_OR_RAISE(auto bytes, store->Read(path));
  auto parsed = ParseDeletionFile(*bytes, fragment.physical_rows());
  if (!parsed.ok()) {
    return parsed.status().WithMessage("deletion file '", path, "': ", parsed.status().message());
  }
  if (parsed->size() != fragment.deletion_file().num_deleted_rows()) {
    return arrow::Status::Invalid("deletion file '", path, "' holds ", parsed->size(),
                                  " rows, the manifest says ",
                                  fragment.deletion_file().num_deleted_rows());
  }
  auto shared = std::make_shared<const std::vector<uint32_t>>(std::move(*parsed));
  std::lock_guard<std::mutex> lock(mu_);
  if (deletions_.size() >= kMaxOpenFiles) deletions_.clear();
  deletions_.emplace(path, shared);
  return shared;
}

VectorColumn PolicyToProto(const VectorStoragePolicy& p, int32_t field_id) {
  VectorColumn vc;
  vc.set_field_id(field_id);
  vc.set_dim(p.dim);
  vc.set_metric(static_cast<uint32_t>(p.metric));
  vc.set_precision(static_cast<uint32_t>(p.precision));
  vc.set_pre_normalize(p.pre_normalize);
  vc.set_int8_scaling(static_cast<uint32_t>(p.int8.scaling));
  vc.set_int8_scale(p.int8.scale);
  vc.set_int8_offset(p.int8.offset);
  vc.set_index_type(static_cast<uint32_t>(p.index_type));
  vc.set_hnsw_m(p.hnsw.m);
  vc.set_hnsw_ef_construction(p.hnsw.ef_construction);
  vc.set_hnsw_ef_search(p.hnsw.ef_search);
  vc.set_hnsw_traversal(static_cast<uint32_t>(p.hnsw.traversal));
  vc.set_ivf_nlist(p.ivf_pq.nlist);
  vc.set_ivf_nprobe(p.ivf_pq.nprobe);
  vc.set_ivf_m(p.ivf_pq.m);
  vc.set_ivf_nbits(p.ivf_pq.nbits);
  vc.set_ivf_refine_factor(p.ivf_pq.refine_factor);
  vc.set_ivf_min_training_rows(p.ivf_pq.min_training_rows);
  return vc;
}

arrow::Result<VectorStoragePolicy> PolicyFromProto(const VectorColumn& vc,
                                                   const std::string& name) {
  VectorStoragePolicy p;
  p.vector_column = name;
  p.dim = vc.dim();
  ARROW_ASSIGN_OR_RAISE(p.metric, MetricFromCode(vc.metric()));
  ARROW_ASSIGN_OR_RAISE(p.precision, PrecisionFromCode(vc.precision()));
  p.pre_normalize = vc.pre_normalize();
  if (vc.int8_scaling() > static_cast<uint32_t>(Int8Scaling::kFixed)) {
    return arrow::Status::Invalid("manifest: vector column '", name, "' has int8 scaling code ",
                                  vc.int8_scaling());
  }
  p.int8.scaling = static_cast<Int8Scaling>(vc.int8_scaling());
  p.int8.scale = vc.int8_scale();
  p.int8.offset = vc.int8_offset();
  if (vc.index_type() > static_cast<uint32_t>(IndexType::kAuto)) {
    return arrow::Status::Invalid("manifest: vector column '", name, "' has index type code ",
                                  vc.index_type());
  }
  p.index_type = static_cast<IndexType>(vc.index_type());
  p.hnsw.m = vc.hnsw_m();
  p.hnsw.ef_construction = vc.hnsw_ef_construction();
  p.hnsw.ef_search = vc.hnsw_ef_search();
  if (vc.hnsw_traversal() > static_cast<uint32_t>(HnswTraversal::kAuto)) {
    return arrow::Status::Invalid("manifest: vector column '", name, "' has HNSW traversal ",
                                  vc.hnsw_traversal(), ", unknown to this build");
  }
  p.hnsw.traversal = static_cast<HnswTraversal>(vc.hnsw_traversal());
  p.ivf_pq.nlist = vc.ivf_nlist();
  p.ivf_pq.nprobe = vc.ivf_nprobe();
  p.ivf_pq.m = vc.ivf_m();
  p.ivf_pq.nbits = vc.ivf_nbits();
  p.ivf_pq.refine_factor = vc.ivf_refine_factor();
  p.ivf_pq.min_training_rows = vc.ivf_min_training_rows();
  arrow::Status st = p.Validate();
  if (!st.ok()) return st.WithMessage("manifest: vector column '", name, "': ", st.message());
  return p;
}

std::shared_ptr<arrow::DataType> VectorListType(uint32_t dim) {
  return arrow::fixed_size_list(arrow::field("item", arrow::float32(), false),
                                static_cast<int32_t>(dim));
}

arrow::Result<std::shared_ptr<arrow::Array>> StoredToVectorList(
    const std::shared_ptr<arrow::Array>& stored, const VectorStoragePolicy& policy) {
  auto list_type = VectorListType(policy.dim);
  if (stored->type()->Equals(*list_type)) return stored;
  if (stored->type_id() == arrow::Type::FIXED_SIZE_LIST) {
    // Same shape with another child field name or nullability.
    auto fsl = std::static_pointer_cast<arrow::FixedSizeListArray>(stored);
    if (fsl->value_type()->id() == arrow::Type::FLOAT &&
        fsl->list_type()->list_size() == static_cast<int32_t>(policy.dim)) {
      std::shared_ptr<arrow::Buffer> bitmap;
      if (fsl->null_count() > 0) {
        ARROW_ASSIGN_OR_RAISE(bitmap, arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                                                  fsl->null_bitmap_data(),
                                                                  fsl->offset(), fsl->length()));
      }
      return std::make_shared<arrow::FixedSizeListArray>(
          list_type, fsl->length(),
          fsl->values()->Slice(fsl->offset() * policy.dim, fsl->length() * policy.dim), bitmap,
          fsl->null_count());
    }
  }
  if (stored->type_id() != arrow::Type::FIXED_SIZE_BINARY) {
    return arrow::Status::TypeError("vector column '", policy.vector_column, "' is stored as ",
                                    stored->type()->ToString(), ", expected fixed_size_binary");
  }
  auto fsb = std::static_pointer_cast<arrow::FixedSizeBinaryArray>(stored);
  if (fsb->byte_width() != policy.StoredVectorBytes()) {
    return arrow::Status::Invalid("vector column '", policy.vector_column, "' has width ",
                                  fsb->byte_width(), " bytes, the policy needs ",
                                  policy.StoredVectorBytes());
  }
  const int64_t n = fsb->length();
  std::shared_ptr<arrow::Buffer> null_bitmap;
  if (fsb->null_count() > 0) {
    ARROW_ASSIGN_OR_RAISE(null_bitmap,
                          arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                                      fsb->null_bitmap_data(), fsb->offset(), n));
  }
  std::shared_ptr<arrow::Array> values;
  if (policy.precision == Precision::kF32) {
    // The value bytes are the floats: wrap them without a copy.
    auto buf = arrow::SliceBuffer(fsb->data()->buffers[1],
                                  fsb->offset() * static_cast<int64_t>(fsb->byte_width()),
                                  n * fsb->byte_width());
    values = std::make_shared<arrow::FloatArray>(n * policy.dim, buf);
  } else {
    ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateBuffer(n * policy.dim * sizeof(float)));
    float* dst = reinterpret_cast<float*>(out->mutable_data());
    if (n > 0) {
      ARROW_ASSIGN_OR_RAISE(auto view,
                            VectorView::Contiguous(policy.precision, policy.dim, policy.int8,
                                                   fsb->GetValue(0), static_cast<uint32_t>(n)));
      for (int64_t r = 0; r < n; ++r) {
        if (fsb->IsNull(r)) {
          std::fill(dst + r * policy.dim, dst + (r + 1) * policy.dim, 0.0f);
        } else {
          view.Decode(static_cast<uint32_t>(r), dst + r * policy.dim);
        }
      }
    }
    values = std::make_shared<arrow::FloatArray>(n * policy.dim, std::move(out));
  }
  return std::make_shared<arrow::FixedSizeListArray>(list_type, n, values, null_bitmap,
                                                     fsb->null_count());
}

arrow::Result<std::shared_ptr<arrow::ChunkedArray>> StoredToVectorList(
    const std::shared_ptr<arrow::ChunkedArray>& stored, const VectorStoragePolicy& policy) {
  arrow::ArrayVector chunks;
  for (const auto& c : stored->chunks()) {
    ARROW_ASSIGN_OR_RAISE(auto conv, StoredToVectorList(c, policy));
    chunks.push_back(std::move(conv));
  }
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), VectorListType(policy.dim));
}

}  // namespace ailake::table
