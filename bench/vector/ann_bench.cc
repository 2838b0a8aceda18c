// ann_bench: builds one ailake index over a base set and sweeps a search
// parameter, reporting build time, index bytes and single-thread QPS / recall@k
// against a ground-truth file; it prints one JSON object on stdout. The C++
// side of an ANN comparison, without Python in the loop: bench/vector/run.py
// leaves its data sets as .npy files under .cache/bench/ (base, queries and
// int64 ground truth); .fvecs / .ivecs files (SIFT, GIST) are read too.
//
//   ailake_ann_bench --base B.npy --queries Q.npy --gt GT.npy --metric l2|cosine|dot
//                    --index hnsw|ivf_pq|flat [--m 16 --ef-construction 200 --traversal
//                    exact|sq8|sq4]
//                    [--nlist 1024 --pq-m 16 --pq-bits 8|4 --refine 4] [--threads 2]
//                    [--sweep 10,20,40] [--k 10] [--repeat 1] [--search-refine 0]
//                    [--save-index F | --load-index F]  (a blob over the same base)
//                    [--serve 1]  (queries on request, for bench/vector/pair_ab.py)
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/io/file.h>

#include "ailake/core/large_buffer.h"
#include "ailake/index.h"
#include "ailake/vec/npy.h"
#include "vecs_file.h"

namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds of the whole process (all threads) and of the calling thread:
// on a shared machine they are steadier than wall time.
double ProcessCpu() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
double ThreadCpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::shared_ptr<arrow::Buffer> ReadWholeFile(const std::string& path) {
  // Read as AilakeFileReader reads an index section (core::ReadLarge).
  auto f = arrow::io::ReadableFile::Open(path);
  if (!f.ok()) throw std::runtime_error("cannot open " + path + ": " + f.status().ToString());
  auto bytes = ailake::core::ReadLarge(f->get(), 0, (*f)->GetSize().ValueOrDie());
  if (!bytes.ok()) throw std::runtime_error(bytes.status().ToString());
  return *bytes;
}

void WriteWholeFile(const std::string& path, const arrow::Buffer& blob) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  const size_t wrote = std::fwrite(blob.data(), 1, static_cast<size_t>(blob.size()), f);
  std::fclose(f);
  if (wrote != static_cast<size_t>(blob.size())) throw std::runtime_error("short write " + path);
}

std::vector<uint32_t> ParseList(const std::string& s) {
  std::vector<uint32_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(static_cast<uint32_t>(std::stoul(item)));
  return out;
}

template <class T>
T OrThrow(arrow::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(r).ValueUnsafe();
}

bool IsNpy(std::string_view path) { return path.ends_with(".npy"); }

// Base and query vectors: float .npy or .fvecs.
ailake::vec::FloatMatrix ReadVectors(const std::string& path) {
  if (IsNpy(path)) return OrThrow(ailake::vec::ReadNpyFile(path));
  return ailake::bench::ReadVecs<ailake::vec::FloatMatrix>(path);
}

// Ground-truth row ids, nearest first: integer .npy or .ivecs.
ailake::vec::Int64Matrix ReadIds(const std::string& path) {
  if (IsNpy(path)) return OrThrow(ailake::vec::ReadNpyInt64File(path));
  return ailake::bench::ReadVecs<ailake::vec::Int64Matrix>(path);
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "ailake_ann_bench: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  auto get = [&](const std::string& k, const std::string& def) {
    auto it = a.find(k);
    return it == a.end() ? def : it->second;
  };
  try {
    const auto base = ReadVectors(get("--base", ""));
    const auto queries = ReadVectors(get("--queries", ""));
    const auto gt = ReadIds(get("--gt", ""));
    const uint32_t k = static_cast<uint32_t>(std::stoul(get("--k", "10")));
    if (queries.cols != base.cols) return Fail("query dim differs from base dim");
    if (gt.rows != queries.rows || gt.cols < int64_t{k}) return Fail("ground truth shape mismatch");
    const auto dim = static_cast<uint32_t>(base.cols);
    const auto n = static_cast<uint32_t>(base.rows);

    ailake::VectorStoragePolicy policy;
    policy.dim = dim;
    policy.metric = ailake::ParseMetric(get("--metric", "l2")).ValueOrDie();
    policy.index_type = ailake::ParseIndexType(get("--index", "hnsw")).ValueOrDie();
    policy.hnsw.m = static_cast<uint32_t>(std::stoul(get("--m", "16")));
    policy.hnsw.ef_construction =
        static_cast<uint32_t>(std::stoul(get("--ef-construction", "200")));
    const std::string traversal = get("--traversal", "exact");
    auto parsed = ailake::ParseHnswTraversal(traversal);
    if (!parsed.ok()) return Fail("--traversal is exact, sq8 or sq4");
    policy.hnsw.traversal = *parsed;
    policy.ivf_pq.nlist = static_cast<uint32_t>(std::stoul(get("--nlist", "1024")));
    policy.ivf_pq.m = static_cast<uint32_t>(std::stoul(get("--pq-m", "16")));
    policy.ivf_pq.nbits = static_cast<uint32_t>(std::stoul(get("--pq-bits", "8")));
    policy.ivf_pq.refine_factor = static_cast<uint32_t>(std::stoul(get("--refine", "4")));
    ailake::IndexBuildOptions options;
    options.num_threads = static_cast<uint32_t>(std::stoul(get("--threads", "2")));
    // --renumber 0: an HNSW graph walked on codes keeps node = row.
    options.hnsw_renumber_nodes = get("--renumber", "1") != "0";

    // The base rows in the memory the library gives its own copies
    // (core/large_buffer.h), as the Python binding holds them.
    const auto base_buf =
        ailake::core::AllocateLargeBuffer(static_cast<int64_t>(base.values.size() * 4))
            .ValueOrDie();
    std::memcpy(base_buf->mutable_data(), base.values.data(), base.values.size() * 4);
    const uint8_t* basep = base_buf->data();
    auto view =
        ailake::VectorView::Contiguous(ailake::Precision::kF32, dim, {}, basep, n).ValueOrDie();
    const double c0 = ProcessCpu();
    const auto t0 = Clock::now();
    // --load-index: a blob an earlier run saved (--save-index) over the same
    // base, so that builds of two search paths compare on one graph.
    const std::string load_path = get("--load-index", "");
    arrow::Result<std::unique_ptr<ailake::VectorIndex>> built =
        load_path.empty() ? ailake::BuildIndex(policy, view, options)
                          : ailake::LoadIndex(ReadWholeFile(load_path), view);
    const auto t1 = Clock::now();
    const double build_cpu = ProcessCpu() - c0;
    if (!built.ok()) return Fail(built.status().ToString());
    auto& index = *built;
    const auto blob = index->Serialize().ValueOrDie();
    const std::string save_path = get("--save-index", "");
    if (!save_path.empty()) WriteWholeFile(save_path, *blob);
    // --repeat: timed passes per sweep point, the fastest kept (a noisy host).
    const uint32_t repeat = static_cast<uint32_t>(std::stoul(get("--repeat", "1")));
    // --search-refine: SearchParams::refine_factor of every search (HNSW on
    // traversal codes: k * it rows of the beam re-ranked; 0 = the whole beam;
    // IVF-PQ: overrides --refine).
    const uint32_t search_refine = static_cast<uint32_t>(std::stoul(get("--search-refine", "0")));

    std::string sweep_name = policy.index_type == ailake::IndexType::kIvfPq ? "nprobe" : "ef";
    std::vector<uint32_t> sweep = ParseList(get("--sweep", "10,20,40,80,160"));
    std::printf(
        "{\"library\": \"ailake\", \"index\": \"%s\", \"build_s\": %.4f, \"build_cpu_s\": %.4f, "
        "\"index_bytes\": %lld, "
        "\"threads\": %u, \"sweep_param\": \"%s\", \"points\": [",
        std::string(ailake::IndexTypeName(index->type())).c_str(), Seconds(t0, t1), build_cpu,
        static_cast<long long>(blob->size()), options.num_threads, sweep_name.c_str());
    const uint32_t nq = static_cast<uint32_t>(queries.rows);
    // Queries timed one at a time (all by default; fewer for slow exact scans).
    const uint32_t nq_single = std::min<uint32_t>(
        nq, static_cast<uint32_t>(std::stoul(get("--single-queries", std::to_string(nq)))));
    if (!get("--serve", "").empty()) {
      // Paired timing of two builds of this tool (bench/vector/pair_ab.py):
      // each line "PARAM FIRST COUNT" on stdin runs queries [FIRST, FIRST +
      // COUNT) one at a time and answers with their thread CPU seconds and
      // hits@k, so a driver can alternate two processes every few
      // milliseconds and both see the same machine.
      ailake::SearchParams sp;
      sp.refine_factor = search_refine;
      std::vector<std::vector<ailake::Neighbor>> results;
      uint32_t p = 0, first = 0, count = 0;
      std::printf("}\n");
      std::fflush(stdout);
      while (std::scanf("%u %u %u", &p, &first, &count) == 3) {
        sp.ef = sp.nprobe = p;
        results.resize(count);
        const double u0 = ThreadCpu();
        for (uint32_t j = 0; j < count; ++j) {
          const size_t i = (first + j) % nq;
          results[j] = index->Search({&queries.values[i * dim], dim}, k, sp).ValueOrDie();
        }
        const double cpu = ThreadCpu() - u0;
        size_t hits = 0;
        for (uint32_t j = 0; j < count; ++j) {
          const size_t i = (first + j) % nq;
          std::set<int64_t> want(gt.values.begin() + static_cast<long>(i * gt.cols),
                                 gt.values.begin() + static_cast<long>(i * gt.cols + k));
          for (const auto& nb : results[j]) hits += want.count(nb.row);
        }
        std::printf("%.9f %zu\n", cpu, hits);
        std::fflush(stdout);
      }
      return 0;
    }
    bool first = true;
    for (uint32_t p : sweep) {
      ailake::SearchParams sp;
      sp.ef = p;
      sp.nprobe = p;
      sp.refine_factor = search_refine;
      std::vector<std::vector<ailake::Neighbor>> results(nq_single);
      // Warm-up pass, then the timed pass (single thread, one query at a time).
      for (uint32_t i = 0; i < std::min<uint32_t>(nq, 50); ++i) {
        (void)index->Search({&queries.values[static_cast<size_t>(i) * dim], dim}, k, sp);
      }
      double wall = 0.0, cpu = 0.0;
      for (uint32_t rep = 0; rep < std::max<uint32_t>(repeat, 1); ++rep) {
        const double u0 = ThreadCpu();
        const auto s0 = Clock::now();
        for (uint32_t i = 0; i < nq_single; ++i) {
          results[i] = index->Search({&queries.values[static_cast<size_t>(i) * dim], dim}, k, sp)
                           .ValueOrDie();
        }
        const double w = Seconds(s0, Clock::now()), c = ThreadCpu() - u0;
        wall = rep == 0 ? w : std::min(wall, w);
        cpu = rep == 0 ? c : std::min(cpu, c);
      }
      size_t hits = 0;
      for (uint32_t i = 0; i < nq_single; ++i) {
        std::set<int64_t> want(gt.values.begin() + static_cast<long>(i * gt.cols),
                               gt.values.begin() + static_cast<long>(i * gt.cols + k));
        for (const auto& nb : results[i]) hits += want.count(nb.row);
      }
      std::printf("%s{\"param\": %u, \"recall\": %.4f, \"qps\": %.1f, \"qps_cpu\": %.1f}",
                  first ? "" : ", ", p,
                  static_cast<double>(hits) / (static_cast<double>(nq_single) * k),
                  nq_single / wall, nq_single / cpu);
      first = false;
      std::fflush(stdout);
    }
    std::printf("]");
    if (policy.index_type == ailake::IndexType::kFlat) {
      // Batched exact search (the matrix kernel), one thread.
      const double u0 = ThreadCpu();
      const auto s0 = Clock::now();
      auto batch = index->SearchBatch(queries.values, nq, k, {}, nullptr, 1).ValueOrDie();
      const auto s1 = Clock::now();
      const double cpu = ThreadCpu() - u0;
      size_t hits = 0;
      for (uint32_t i = 0; i < nq; ++i) {
        std::set<int64_t> want(gt.values.begin() + static_cast<long>(i * gt.cols),
                               gt.values.begin() + static_cast<long>(i * gt.cols + k));
        for (const auto& nb : batch[i]) hits += want.count(nb.row);
      }
      std::printf(", \"batch\": {\"recall\": %.4f, \"qps\": %.1f, \"qps_cpu\": %.1f}",
                  static_cast<double>(hits) / (static_cast<double>(nq) * k), nq / Seconds(s0, s1),
                  nq / cpu);
    }
    std::printf("}\n");
  } catch (const std::exception& e) {
    return Fail(e.what());
  }
  return 0;
}
