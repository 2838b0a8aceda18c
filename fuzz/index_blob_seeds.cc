// Writes real index blobs of every type, metric and precision (prefixed with
// the fuzz_views.h view selector byte) into the directory given: the seed
// corpus of index_blob_fuzz. Also the reference implementation's blobs of the
// small fixtures in tests/data/reference/ (with the 5-byte prefix that
// index_blob_fuzz.cc describes).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <arrow/io/file.h>

#include "ailake/file.h"
#include "fuzz_views.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: index_blob_seeds DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  const auto& views = ailake::fuzz::Views();
  int written = 0;
  for (uint8_t sel = 0; sel < 3; ++sel) {
    const auto& v = views.Pick(sel);
    for (auto type :
         {ailake::IndexType::kFlat, ailake::IndexType::kHnsw, ailake::IndexType::kIvfPq}) {
      for (auto metric : {ailake::DistanceMetric::kEuclidean, ailake::DistanceMetric::kCosine})
        for (auto traversal : {ailake::HnswTraversal::kExact, ailake::HnswTraversal::kSq8,
                               ailake::HnswTraversal::kSq4})
          for (uint32_t nbits : {8u, 4u})
            for (bool renumber : {true, false}) {
              // Row-order nodes (docs/FORMAT.md 3.3.3 off): graphs on codes
              // only. For IVF-PQ the same switch gives rows second lists
              // (3.4.3; euclidean and cosine, the spaces that have them).
              const bool ivf = type == ailake::IndexType::kIvfPq;
              if (!renumber && !ivf &&
                  (type != ailake::IndexType::kHnsw ||
                   traversal == ailake::HnswTraversal::kExact)) {
                continue;
              }
              // 4-bit (fast-scan) codes: IVF-PQ with its own codebook only.
              if (nbits == 4 && (type != ailake::IndexType::kIvfPq ||
                                 traversal != ailake::HnswTraversal::kExact)) {
                continue;
              }
              // Traversal codes: HNSW over f32 / f16 rows only.
              if (traversal != ailake::HnswTraversal::kExact &&
                  (type != ailake::IndexType::kHnsw ||
                   v.view.precision() == ailake::Precision::kInt8)) {
                continue;
              }
              ailake::VectorStoragePolicy p;
              p.hnsw.traversal = traversal;
              p.dim = v.view.dim();
              p.precision = v.view.precision();
              p.int8 = v.view.int8();
              p.metric = metric;
              p.index_type = type;
              p.hnsw.m = 4;
              p.hnsw.ef_construction = 20;
              p.ivf_pq.nlist = 4;
              p.ivf_pq.m = 4;
              p.ivf_pq.nbits = nbits;
              ailake::IndexBuildOptions opt;
              opt.num_threads = 1;
              opt.hnsw_renumber_nodes = renumber;
              opt.ivf_pq_spill = !ivf || renumber ? ailake::IndexBuildOptions::IvfSpill::kOff
                                                  : ailake::IndexBuildOptions::IvfSpill::kOn;
              if (type == ailake::IndexType::kIvfPq && sel == 0 && nbits == 8 &&
                  metric == ailake::DistanceMetric::kEuclidean && views.codebook) {
                opt.ivf_pq_codebook = views.codebook;  // a blob naming a shared codebook
              }
              auto index = ailake::BuildIndex(p, v.view, opt);
              if (!index.ok()) {
                std::fprintf(stderr, "seed %d/%d/%d: %s\n", sel, static_cast<int>(type),
                             static_cast<int>(metric), index.status().ToString().c_str());
                return 1;
              }
              auto blob = (*index)->Serialize().ValueOrDie();
              const std::string name =
                  std::string(argv[1]) + "/" + std::to_string(sel) + "_" +
                  std::string(ailake::IndexTypeName(type)) + "_" +
                  std::string(ailake::MetricName(metric)) +
                  (traversal != ailake::HnswTraversal::kExact
                       ? "_" + std::string(ailake::HnswTraversalName(traversal))
                       : std::string()) +
                  (nbits == 4 ? "_4bit" : "") +
                  (renumber ? ""
                   : ivf    ? "_spilled"
                            : "_rows");
              std::ofstream out(name, std::ios::binary);
              out.put(static_cast<char>(sel));
              out.write(reinterpret_cast<const char*>(blob->data()), blob->size());
              ++written;
            }
    }
  }
  if (views.codebook) {
    auto cb = views.codebook->Serialize().ValueOrDie();
    std::ofstream out(std::string(argv[1]) + "/codebook", std::ios::binary);
    out.put(0);
    out.write(reinterpret_cast<const char*>(cb->data()), cb->size());
    ++written;
  }
  for (const char* name :
       {"hnsw_dot_f32", "hnsw_normalized_cosine_f32", "hnsw_cosine_i8", "ivfpq_euclidean_f32",
        "ivfpq_residual_euclidean_f32", "ivfpq_pq_only_euclidean"}) {
    const std::string path =
        std::string(AILAKE_SOURCE_DIR) + "/tests/data/reference/" + name + ".parquet";
    auto reader = ailake::AilakeFileReader::Open(path);
    if (!reader.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), reader.status().ToString().c_str());
      return 1;
    }
    const auto& s = (*(*reader)->vector_column())->section;
    auto file = arrow::io::ReadableFile::Open(path).ValueOrDie();
    auto blob =
        file->ReadAt(static_cast<int64_t>(s.index_offset), static_cast<int64_t>(s.index_bytes))
            .ValueOrDie();
    const auto dim = static_cast<uint16_t>(s.dim), rows = static_cast<uint16_t>(s.num_rows);
    const uint8_t selector =
        static_cast<uint8_t>(0x80 | (s.index_type == ailake::IndexType::kIvfPq ? 1 : 0) |
                             (static_cast<uint8_t>(s.metric) << 1) |
                             (std::string(name) == "ivfpq_euclidean_f32" ? 8 : 0));
    std::ofstream out(std::string(argv[1]) + "/reference_" + name, std::ios::binary);
    out.put(static_cast<char>(selector));
    out.write(reinterpret_cast<const char*>(&dim), 2);
    out.write(reinterpret_cast<const char*>(&rows), 2);
    out.write(reinterpret_cast<const char*>(blob->data()), blob->size());
    ++written;
  }
  std::printf("wrote %d seed blobs to %s\n", written, argv[1]);
  return 0;
}
