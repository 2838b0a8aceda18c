// The vector index interface (layer index/). Every index — FlatIndex,
// HnswIndex, IvfPqIndex — implements VectorIndex; indexes are built from a
// VectorView, serialized to one blob, and loaded back from a read-only blob
// (for example bytes of a memory-mapped AI-Lake file) without rebuilding.
//
// Distances follow include/ailake/policy.h: lower is more similar, and every
// index returns the metric's exact distance for the rows it returns, so results
// of different indexes and files merge by distance.
//
// Thread safety: a built or loaded VectorIndex is immutable; Search and
// SearchBatch may run on it from many threads at once. A VectorView is a
// read-only view (an on-demand one fetches rows under its own lock).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>

#include "ailake/policy.h"
#include "ailake/search_options.h"  // SearchOptions, SearchParams
#include "ailake/vectors.h"         // VectorView, RowFilter

namespace ailake {

struct Neighbor {
  uint32_t row = 0;       // position of the row in the indexed VectorView (0 .. size-1)
  float distance = 0.0f;  // exact distance under the index's metric
};

class IvfPqCodebook;

struct IndexBuildOptions {
  uint32_t num_threads = 0;  // 0 = all logical cores
  // IVF-PQ only: a codebook trained once (TrainIvfPqCodebook) and shared by
  // several indexes (for example every file of a table). When set, the index
  // encodes with it instead of training, and its blob references the codebook
  // by fingerprint instead of embedding it; LoadIndex then needs the codebook.
  std::shared_ptr<const IvfPqCodebook> ivf_pq_codebook;
  // HNSW walked on traversal codes: the graph's nodes are numbered so that
  // rows near each other in space are near each other in the blob (two
  // levels of k-means, docs/FORMAT.md 3.3.3), and the blob maps nodes to
  // rows. Results are the same; walks read fewer pages. false keeps node =
  // row (to measure the difference). Ignored by graphs walked on the vectors.
  bool hnsw_renumber_nodes = true;
  // IVF-PQ: whether rows also sit in a second list (docs/FORMAT.md 3.4.3),
  // chosen so that the two lists' residuals are not parallel. kAuto, the
  // default, measures on a sample of the rows, when the index is built,
  // whether that makes a search scan fewer rows for the same coarse recall,
  // and spills only then; kOff and kOn decide without measuring (to measure
  // the difference). Not for inner-product indexes, which never spill.
  enum class IvfSpill : uint8_t { kAuto = 0, kOff = 1, kOn = 2 };
  IvfSpill ivf_pq_spill = IvfSpill::kAuto;
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual IndexType type() const = 0;
  virtual DistanceMetric metric() const = 0;
  virtual uint32_t dim() const = 0;
  virtual uint32_t size() const = 0;  // rows indexed

  // Up to k nearest rows to `query` (dim floats), ascending by distance.
  virtual arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                                      const SearchParams& params = {},
                                                      const RowFilter* filter = nullptr) const = 0;

  // Many queries (num_queries x dim floats, row-major) at once, split across
  // `num_threads` threads (0 = all logical cores). result[i] answers query i
  // exactly as Search would.
  virtual arrow::Result<std::vector<std::vector<Neighbor>>> SearchBatch(
      std::span<const float> queries, uint32_t num_queries, uint32_t k,
      const SearchParams& params = {}, const RowFilter* filter = nullptr,
      uint32_t num_threads = 0) const;

  // The same with the SearchOptions every layer takes: k, params, allowed
  // and num_threads (batches). An index has no columns: filter,
  // vector_column, columns, exact, prune and fragment_ids are refused.
  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query,
                                              const SearchOptions& options) const;
  arrow::Result<std::vector<std::vector<Neighbor>>> SearchBatch(std::span<const float> queries,
                                                                uint32_t num_queries,
                                                                const SearchOptions& options) const;

  // The index as one versioned, little-endian blob (docs/FORMAT.md, "Index blobs").
  virtual arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const = 0;
};

// The trained part of IVF-PQ: coarse centroids (nlist x dim) and the product
// quantizer of the residuals (m sub-spaces x 256 codewords x dim/m), for one
// distance space (squared L2 for euclidean, inner product for dot, unit vectors
// for cosine and normalized_cosine). Immutable; share it with shared_ptr.
class IvfPqCodebook {
 public:
  virtual ~IvfPqCodebook() = default;
  virtual uint32_t dim() const = 0;
  virtual uint32_t nlist() const = 0;
  virtual uint32_t m() const = 0;
  virtual uint32_t nbits() const = 0;         // bits per PQ code: 4 (fast-scan) or 8
  virtual DistanceMetric metric() const = 0;  // the metric it was trained for
  // FNV-1a 64 of the serialized bytes; index blobs name their codebook by it.
  virtual uint64_t fingerprint() const = 0;
  // Its own versioned blob (docs/FORMAT.md, "IVF-PQ codebook").
  virtual arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const = 0;
  // Validates and opens a serialized codebook in place (the buffer is kept).
  static arrow::Result<std::shared_ptr<const IvfPqCodebook>> Load(
      std::shared_ptr<arrow::Buffer> blob);
};

// A fingerprint as error messages and tools print it: "0x" + 16 hex digits.
std::string FormatFingerprint(uint64_t fingerprint);

// Trains a codebook on `vectors` (k-means for the coarse centroids, then PQ on
// the residuals; both sample at most 256 rows per centroid). Uses
// policy.metric, policy.ivf_pq (nlist, m, nbits 4 or 8, seed).
arrow::Result<std::shared_ptr<const IvfPqCodebook>> TrainIvfPqCodebook(
    const VectorStoragePolicy& policy, const VectorView& vectors,
    const IndexBuildOptions& options = {});

// Builds the index the policy names (kFlat, kHnsw, kIvfPq; kAuto resolves
// through the hardware profile) over `vectors`, which must match policy.dim
// and policy.precision. The index borrows `vectors`.
arrow::Result<std::unique_ptr<VectorIndex>> BuildIndex(const VectorStoragePolicy& policy,
                                                       const VectorView& vectors,
                                                       const IndexBuildOptions& options = {});

// Opens a serialized blob in place: `blob` is validated (every count, offset
// and id checked against its size) and kept alive by the index; nothing is
// rebuilt. `vectors` are the rows the blob was built over.
arrow::Result<std::unique_ptr<VectorIndex>> LoadIndex(std::shared_ptr<arrow::Buffer> blob,
                                                      const VectorView& vectors);
// The same for IVF-PQ blobs built with a shared codebook (IndexBuildOptions::
// ivf_pq_codebook): `codebook` must have the fingerprint the blob names. Other
// blobs ignore it.
arrow::Result<std::unique_ptr<VectorIndex>> LoadIndex(
    std::shared_ptr<arrow::Buffer> blob, const VectorView& vectors,
    std::shared_ptr<const IvfPqCodebook> codebook);

// The fingerprint of the shared IVF-PQ codebook a serialized blob names
// (built with IndexBuildOptions::ivf_pq_codebook), or nullopt when the blob
// needs none (another index type, or a codebook embedded in the blob). Reads
// only the headers; LoadIndex still validates the whole blob.
arrow::Result<std::optional<uint64_t>> SharedCodebookFingerprint(const arrow::Buffer& blob);

// The index type BuildIndex uses for `policy` over `num_rows` rows: the policy's
// type, or for kAuto the rule of ChooseIndexType (ailake/hardware.h) on
// ProbeHardware().
IndexType ResolveIndexType(const VectorStoragePolicy& policy, uint64_t num_rows);

// Several IVF-PQ indexes built with one shared codebook (IndexBuildOptions::
// ivf_pq_codebook: the files of a table's column) searched as if they were
// one index: the coarse step and the lookup tables once per query, one pool
// of k * refine_factor candidates across the parts, re-ranked exactly. So
// the cost follows the rows in the probed lists, not the number of parts.
struct IndexPart {
  const VectorIndex* index = nullptr;
  const RowFilter* filter = nullptr;  // null: every row allowed
};
struct PartNeighbor {
  uint32_t part = 0;  // position in the parts given
  uint32_t row = 0;
  float distance = 0.0f;
};
// Up to k neighbours, ascending by the metric's exact distance. An error if a
// part is not IVF-PQ or was built with another codebook.
arrow::Result<std::vector<PartNeighbor>> SearchSharedIvfPq(std::span<const IndexPart> parts,
                                                           std::span<const float> query, uint32_t k,
                                                           const SearchParams& params = {});
// The fingerprint of the shared codebook an IVF-PQ index was built with; 0
// for any other index (another type, or a codebook embedded in its blob).
uint64_t SharedIvfPqCodebookOf(const VectorIndex& index);

}  // namespace ailake
