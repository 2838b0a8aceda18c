// Writes real index blobs of every type, metric and precision (prefixed with
// the fuzz_views.h view selector byte) into the directory given: the seed
// corpus of index_blob_fuzz.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

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
      for (auto metric : {ailake::DistanceMetric::kEuclidean, ailake::DistanceMetric::kCosine}) {
        ailake::VectorStoragePolicy p;
        p.dim = v.view.dim();
        p.precision = v.view.precision();
        p.int8 = v.view.int8();
        p.metric = metric;
        p.index_type = type;
        p.hnsw.m = 4;
        p.hnsw.ef_construction = 20;
        p.ivf_pq.nlist = 4;
        p.ivf_pq.m = 4;
        ailake::IndexBuildOptions opt;
        opt.num_threads = 1;
        if (type == ailake::IndexType::kIvfPq && sel == 0 &&
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
        const std::string name = std::string(argv[1]) + "/" + std::to_string(sel) + "_" +
                                 std::string(ailake::IndexTypeName(type)) + "_" +
                                 std::string(ailake::MetricName(metric));
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
  std::printf("wrote %d seed blobs to %s\n", written, argv[1]);
  return 0;
}
