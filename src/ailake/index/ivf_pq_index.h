// IvfPqIndex: inverted lists over coarse k-means centroids, residuals coded by
// a product quantizer (8-bit codes), searched by asymmetric distance with
// lookup tables and re-ranked with exact distances (docs/FORMAT.md 3.4).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ailake/index.h"
#include "ailake/index/blob.h"

namespace ailake::index {

arrow::Result<std::unique_ptr<VectorIndex>> BuildIvfPqIndex(const VectorStoragePolicy& policy,
                                                            const VectorView& vectors,
                                                            const IndexBuildOptions& options);
arrow::Result<std::unique_ptr<VectorIndex>> LoadIvfPqIndex(
    std::shared_ptr<arrow::Buffer> blob, const CommonHeader& header, const VectorView& vectors,
    std::shared_ptr<const IvfPqCodebook> codebook);
// The codebook fingerprint an IVF-PQ blob records (offset 88), checked to lie
// inside the blob.
arrow::Result<uint64_t> IvfPqFingerprintOf(const arrow::Buffer& blob);
// The probe order of a search: order[0 .. nprobe) the nprobe lists of
// smallest coarse distance, ascending (ties by list, NaN last), then, when
// `rest`, the other lists in no set order (order holds nlist entries, else
// nprobe). nprobe is at most nlist.
void NearestLists(const float* coarse, uint32_t nlist, uint32_t nprobe, bool rest,
                  std::vector<uint32_t>* order);
// Tests only: the bytes of lists up to which a batch of 4-bit searches scans
// query by query rather than grouped by list (8 MiB unless set), so that the
// small indexes of tests take both paths. Returns the previous value; safe
// to call from any thread.
uint64_t SetIvfPqQueryOrderBytesForTesting(uint64_t bytes);

}  // namespace ailake::index
