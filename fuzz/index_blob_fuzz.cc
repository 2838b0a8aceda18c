// Fuzz target: arbitrary bytes as an index blob (every index type) and as an
// IVF-PQ codebook (and the shared-codebook reference read from its headers).
// Loading must fail cleanly or give an index that searches without crashing
// or hanging.
//
// Input: byte 0 picks the vector view the blob is loaded against (the seeds
// use the same fixed views, index_blob_seeds.cc); the rest is the blob.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <arrow/buffer.h>

#include "fuzz_views.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
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
