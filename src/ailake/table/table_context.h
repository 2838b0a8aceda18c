// Shared state of an open table, kept across versions and queries: the
// object store, the manifest store, and caches of open data files and parsed
// deletion files (both immutable once written, so caching by path is safe).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ailake/file.h"
#include "ailake/file/filter_eval.h"
#include "ailake/index/text_index.h"
#include "ailake/io/object_store.h"
#include "ailake/table/iceberg_view.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/manifest_store.h"
#include "ailake/table/shared_codebook.h"

namespace ailake::table {

struct TableContext {
  TableContext(std::string uri_in, std::shared_ptr<io::ObjectStore> store_in)
      : uri(std::move(uri_in)),
        store(store_in),
        manifests(store_in),
        codebooks(std::make_shared<CodebookCache>(std::move(store_in))),
        iceberg_view(std::make_shared<IcebergViewState>()) {
    // Every commit publishes the table's Iceberg view. A publication that
    // fails leaves the commit standing (the next one catches up) and is
    // reported by Table::IcebergView().last_error.
    manifests.SetAfterCommit([this](const Manifest& m) { (void)PublishIcebergView(*this, m); });
  }
  TableContext(const TableContext&) = delete;
  TableContext& operator=(const TableContext&) = delete;

  // An open reader of a data file; its shared IVF-PQ codebooks are found
  // through `codebooks` (register a manifest there before searching).
  arrow::Result<std::shared_ptr<AilakeFileReader>> OpenDataFile(const std::string& path,
                                                                int64_t size = -1);
  // The same, opened afresh and not cached (Table::Verify re-reads the bytes).
  arrow::Result<std::shared_ptr<AilakeFileReader>> OpenDataFileUncached(const std::string& path,
                                                                        int64_t size = -1) const;
  arrow::Result<std::shared_ptr<const std::vector<uint32_t>>> ReadDeletions(
      const Fragment& fragment);

  std::string uri;
  std::shared_ptr<io::ObjectStore> store;
  ManifestStore manifests;
  // Shared IVF-PQ codebooks, loaded once per table (not owned by readers'
  // resolvers in a cycle: the cache holds only the store).
  std::shared_ptr<CodebookCache> codebooks;
  std::shared_ptr<IcebergViewState> iceberg_view;

  // Full-text indexes built from data files at query time (query/
  // search_text.cc), by a key naming the file, the column and the analyzer:
  // the cached one, or `build`'s result, kept. Two threads missing the same
  // key may both build; one result is kept and both are correct.
  using TextIndexPtr = std::shared_ptr<const index::TextIndex>;
  arrow::Result<TextIndexPtr> TextIndexFor(
      const std::string& key, const std::function<arrow::Result<TextIndexPtr>()>& build);

  // Bounds on the caches; past them entries are dropped (every open file;
  // text indexes until the new one fits).
  static constexpr size_t kMaxOpenFiles = 4096;
  static constexpr int64_t kMaxTextIndexBytes = int64_t{1} << 31;

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<AilakeFileReader>> readers_;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<uint32_t>>> deletions_;
  std::unordered_map<std::string, TextIndexPtr> text_indexes_;
  int64_t text_index_bytes_ = 0;
};

// Registers Arrow's compute kernels once per process (file/filter_eval.h).
using file_internal::EnsureComputeInitialized;

// Conversions between VectorStoragePolicy and its manifest form.
VectorColumn PolicyToProto(const VectorStoragePolicy& policy, int32_t field_id);
arrow::Result<VectorStoragePolicy> PolicyFromProto(const VectorColumn& vc, const std::string& name);

// A data file's size as its manifest entry records it, or -1 if unknown.
inline int64_t KnownSize(const DataFile& df) {
  return df.file_size_bytes() > 0 ? static_cast<int64_t>(df.file_size_bytes()) : -1;
}

// The user-facing type of a vector column: FixedSizeList<float32, dim>.
std::shared_ptr<arrow::DataType> VectorListType(uint32_t dim);

// Converts a stored vector column (FixedSizeBinary in the policy's precision)
// to FixedSizeList<float32, dim>. f32 is converted without copying the values.
arrow::Result<std::shared_ptr<arrow::Array>> StoredToVectorList(
    const std::shared_ptr<arrow::Array>& stored, const VectorStoragePolicy& policy);
arrow::Result<std::shared_ptr<arrow::ChunkedArray>> StoredToVectorList(
    const std::shared_ptr<arrow::ChunkedArray>& stored, const VectorStoragePolicy& policy);

}  // namespace ailake::table
