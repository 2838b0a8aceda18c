// Fuzz target of the AI-Lake file reader: arbitrary bytes opened as a file,
// then every read path (sections, centroid, vectors in place, index load and
// search, read, take, verify). Any outcome but a crash, a sanitizer report or
// a hang is fine: bad bytes must come back as errors.
//
// Built with libFuzzer by the fuzz preset. Otherwise (AILAKE_FUZZ_REPLAY) a
// main() replays the files given as arguments (directories are walked: the
// checked-in corpus) and then N mutations of valid files
// written here (bit flips, overwritten fields, truncations, concentrated on
// the AILK sections, the footer and the vector pages).
#include <arrow/api.h>
#include <arrow/io/memory.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ailake/file.h"

namespace {

void Exercise(const uint8_t* data, size_t size) {
  auto buf = arrow::Buffer::Wrap(data, static_cast<int64_t>(size));
  auto opened = ailake::AilakeFileReader::Open(buf);
  if (!opened.ok()) return;
  auto& r = *opened;
  (void)r->IsAilakeFile();
  (void)r->Verify();
  for (const auto& v : r->vector_columns()) {
    (void)r->ReadCentroid(v.name);
    auto view = r->Vectors(v.name);
    if (view.ok() && view->num_rows() > 0) {
      std::vector<float> row(view->dim());
      view->Decode(view->num_rows() - 1, row.data());
    }
    (void)r->LoadIndex(v.name);
    std::vector<float> q(v.dim, 0.5f);
    (void)r->Search(q, 5, {}, nullptr, v.name);
  }
  const int64_t n = r->num_rows();
  if (n > 0) {
    std::vector<int64_t> rows = {0, n / 2, n - 1};
    (void)r->Take(rows);
    ailake::ReadRequest req;
    req.row_start = n / 3;
    req.row_end = n / 2;
    (void)r->Read(req);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Exercise(data, size);
  return 0;
}

#ifdef AILAKE_FUZZ_REPLAY
namespace {

std::vector<std::string> Seeds() {
  std::vector<std::string> out;
  const int64_t rows = 300;
  arrow::Int64Builder ids;
  arrow::StringBuilder text;
  for (int64_t r = 0; r < rows; ++r) {
    (void)ids.Append(r);
    (void)text.Append(r % 4 ? "text " + std::to_string(r) : "");
  }
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("text", arrow::utf8())}),
      rows, {ids.Finish().ValueOrDie(), text.Finish().ValueOrDie()});
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> v(rows * 16);
  for (float& x : v) x = g(rng);
  ailake::FileWriteOptions o;
  o.max_row_group_rows = 128;
  o.data_page_bytes = 1024;
  o.write_batch_rows = 8;
  for (auto [type, prec] : {std::pair{ailake::IndexType::kFlat, ailake::Precision::kF32},
                            std::pair{ailake::IndexType::kHnsw, ailake::Precision::kF16},
                            std::pair{ailake::IndexType::kNone, ailake::Precision::kInt8}}) {
    ailake::VectorStoragePolicy p;
    p.vector_column = "emb";
    p.dim = 16;
    p.metric = ailake::DistanceMetric::kEuclidean;
    p.precision = prec;
    p.int8.scaling = ailake::Int8Scaling::kPerVector;
    p.index_type = type;
    ailake::AilakeFileWriter w(p, o);
    auto f = w.Write(*batch, v);
    if (f.ok()) out.push_back((*f)->ToString());
    auto po = w.WriteParquetOnly(*batch, v);
    if (po.ok()) out.push_back((*po)->ToString());
  }
  return out;
}

std::string Mutate(const std::string& seed, std::mt19937_64& rng) {
  std::string s = seed;
  // Most mutations land in the last quarter (sections, page index, footer).
  auto pos = [&]() -> size_t {
    const size_t size = s.size();
    if (rng() % 4 == 0) return rng() % size;
    const size_t tail = size / 4 + 1;
    return size - 1 - rng() % std::min(tail, size);
  };
  const int kind = static_cast<int>(rng() % 5);
  const int count = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < count && s.size() > 16; ++i) {
    switch (kind) {
      case 0: s[pos()] ^= static_cast<char>(1u << (rng() % 8)); break;
      case 1: {
        const size_t p = pos();
        const uint64_t vals[] = {0, 1, 0xffffffffffffffffull, 0x7fffffff, s.size(), s.size() / 2,
                                 64};
        const uint64_t val = vals[rng() % 7];
        std::memcpy(s.data() + p, &val, std::min<size_t>(8, s.size() - p));
        break;
      }
      case 2: s.resize(rng() % s.size()); return s;
      case 3: s[pos()] = static_cast<char>(rng()); break;
      default: {
        const size_t p = pos();
        s.erase(p, std::min<size_t>(rng() % 16 + 1, s.size() - p));
        break;
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 200;
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--iterations=", 0) == 0) {
      iterations = std::stoi(a.substr(13));
      continue;
    }
    // A file, or a directory of them (the checked-in corpus, fuzz/corpus/ailake_file).
    std::vector<std::filesystem::path> files = {a};
    if (std::filesystem::is_directory(a)) {
      files.clear();
      for (const auto& e : std::filesystem::recursive_directory_iterator(a)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // A heap copy of exactly the input's size, so ASan sees any overread.
      std::vector<uint8_t> copy(bytes.begin(), bytes.end());
      Exercise(copy.data(), copy.size());
      ++replayed;
    }
  }
  const auto seeds = Seeds();
  if (seeds.empty()) {
    std::cerr << "could not write seed files\n";
    return 1;
  }
  std::mt19937_64 rng(12345);
  for (const auto& s : seeds) Exercise(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  for (int i = 0; i < iterations; ++i) {
    const auto m = Mutate(seeds[i % seeds.size()], rng);
    Exercise(reinterpret_cast<const uint8_t*>(m.data()), m.size());
  }
  std::cout << "replayed " << replayed << " inputs, " << seeds.size() << " seeds and " << iterations
            << " mutations\n";
  return 0;
}
#endif
