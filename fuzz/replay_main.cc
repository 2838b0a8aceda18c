// main() for fuzz targets built without libFuzzer (gcc): replays every file
// given (directories are walked), then feeds random mutations of those inputs
// (byte flips, truncations, splices, random bytes) for --seconds seconds.
//
//   <target> [--seconds N] [--seed S] PATH...
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Run(const std::vector<uint8_t>& input) {
  // A heap copy of exactly the input size, so ASan sees any overread.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size() + (input.empty() ? 1 : 0)]);
  if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
  LLVMFuzzerTestOneInput(copy.get(), input.size());
}

std::vector<uint8_t> Mutate(std::vector<uint8_t> v, const std::vector<std::vector<uint8_t>>& all,
                            std::mt19937_64* rng) {
  const int ops = 1 + static_cast<int>((*rng)() % 8);
  for (int i = 0; i < ops; ++i) {
    switch ((*rng)() % 6) {
      case 0:
      case 1:  // flip a bit
        if (!v.empty()) v[(*rng)() % v.size()] ^= static_cast<uint8_t>(1u << ((*rng)() % 8));
        break;
      case 2:  // overwrite a byte with an interesting value
        if (!v.empty()) {
          static const uint8_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0x40, 0x10};
          v[(*rng)() % v.size()] = kInteresting[(*rng)() % sizeof kInteresting];
        }
        break;
      case 3:  // truncate
        if (!v.empty()) v.resize((*rng)() % v.size());
        break;
      case 4: {  // overwrite a 4-byte word with a random or boundary value
        if (v.size() >= 4) {
          const size_t at = (*rng)() % (v.size() - 3);
          uint32_t w = static_cast<uint32_t>((*rng)());
          if ((*rng)() % 2) w = ((*rng)() % 2) ? 0xffffffffu : static_cast<uint32_t>(v.size());
          std::memcpy(&v[at], &w, 4);
        }
        break;
      }
      default: {  // splice a piece of another input
        const auto& o = all[(*rng)() % all.size()];
        if (!o.empty() && !v.empty()) {
          const size_t from = (*rng)() % o.size(), to = (*rng)() % v.size();
          const size_t n = std::min<size_t>({o.size() - from, v.size() - to, size_t{64}});
          std::memcpy(&v[to], &o[from], n);
        }
      }
    }
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  uint64_t seed = 1;
  std::vector<std::vector<uint8_t>> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(a)) {
        if (e.is_regular_file()) inputs.push_back(ReadFile(e.path()));
      }
    } else if (std::filesystem::exists(a)) {
      inputs.push_back(ReadFile(a));
    }
  }
  for (const auto& in : inputs) Run(in);
  std::printf("replayed %zu inputs\n", inputs.size());
  if (inputs.empty()) inputs.emplace_back();
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (rng() % 16 == 0) {
      std::vector<uint8_t> r(rng() % 512);
      for (auto& b : r) b = static_cast<uint8_t>(rng());
      Run(r);
    } else {
      Run(Mutate(inputs[rng() % inputs.size()], inputs, &rng));
    }
    ++runs;
  }
  std::printf("ran %llu mutated inputs in %.1f s\n", static_cast<unsigned long long>(runs),
              seconds);
  return 0;
}
