// Fuzz target: arbitrary bytes as an index blob (every index type) and as an
// IVF-PQ codebook (and the shared-codebook reference read from its headers).
// Loading must fail cleanly or give an index that searches without crashing
// or hanging.
//
// Input: byte 0 picks the vector view the blob is loaded against (the seeds
// use the same fixed views, index_blob_seeds.cc); the rest is the blob.
//
// Byte 0 with its high bit set: the rest is a reference implementation's blob
// (AILK format_version 1, index/reference_index.h). Bit 0 picks HNSW (0) or
// IVF-PQ (1), bits 1-2 the metric, bit 3 whether IVF-PQ gets exact vectors
// (zeros) to re-rank with; bytes 1-2 are the dim and 3-4 the rows (u16 each)
// the section header would give; the blob follows.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <arrow/buffer.h>

#include "ailake/index/reference_index.h"
#include "fuzz_views.h"

namespace {

void FuzzReferenceBlob(const uint8_t* data, size_t size) {
  if (size < 5) return;
  uint16_t dim, rows;
  std::memcpy(&dim, data + 1, 2);
  std::memcpy(&rows, data + 3, 2);
  const ailake::index::ReferenceBlobShape shape{
      static_cast<ailake::DistanceMetric>((data[0] >> 1) & 3), dim, rows};
  auto blob = std::make_shared<arrow::Buffer>(data + 5, static_cast<int64_t>(size - 5));
  std::vector<float> zeros;
  ailake::VectorView exact;
  const bool with_exact = (data[0] & 8) != 0 && dim > 0 && size_t{dim} * rows <= (1u << 20);
  if (with_exact) {
    zeros.assign(size_t{dim} * rows, 0.0f);
    exact = ailake::VectorView::Contiguous(ailake::Precision::kF32, dim, {},
                                           reinterpret_cast<const uint8_t*>(zeros.data()), rows)
                .ValueOrDie();
  }
  auto index = (data[0] & 1) == 0
                   ? ailake::index::LoadReferenceHnsw(blob, shape)
                   : ailake::index::LoadReferenceIvfPq(blob, shape, with_exact ? &exact : nullptr);
  if (!index.ok()) return;
  std::vector<float> query(dim, 0.5f);
  std::vector<uint64_t> words((rows + 63) / 64, 0x9249249249249249ull);
  ailake::RowFilter filter{words, rows};
  ailake::SearchParams params;
  params.ef = 16;
  params.nprobe = 2;
  (void)(*index)->Search(query, 5, params);
  (void)(*index)->Search(query, 5, params, &filter);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 0x80) != 0) {
    FuzzReferenceBlob(data, size);
    return 0;
  }
  const ailake::fuzz::FuzzViews& views = ailake::fuzz::Views();
  const ailake::fuzz::FuzzView& v = views.Pick(data[0]);
  auto blob = std::make_shared<arrow::Buffer>(data + 1, static_cast<int64_t>(size - 1));
  (void)ailake::SharedCodebookFingerprint(*blob);
  auto index = ailake::LoadIndex(blob, v.view, views.codebook);
  if (index.ok()) {
    ailake::SearchParams params;
    params.ef = 16;
    params.nprobe = 4;
    (void)(*index)->Search(v.query, 5, params);
    (void)(*index)->Search(v.query, 5, params, &v.filter);
  }
  auto codebook = ailake::IvfPqCodebook::Load(blob);
  if (codebook.ok()) (void)(*codebook)->Serialize();
  return 0;
}
