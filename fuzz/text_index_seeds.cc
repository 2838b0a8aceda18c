// Writes the seed corpus of text_index_fuzz into the directory given: real
// text index blobs (with and without positions, several analyzers, empty),
// analyzer records and queries, each prefixed with the mode byte
// text_index_fuzz.cc describes; and the version-1 blob of tests/data/text.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ailake/index/text_index.h"

namespace {

void Write(const std::filesystem::path& dir, const std::string& name, char mode,
           std::string_view bytes) {
  std::ofstream out(dir / name, std::ios::binary);
  out.put(mode);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: text_index_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  std::vector<ailake::text::AnalyzerConfig> configs(3);
  configs[1].stemmer_language = "english";
  configs[1].stop_words = {"the", "a"};
  configs[2].tokenizer = "icu";
  configs[2].cjk_ngram = 2;
  const std::vector<std::string> docs = {"the quick brown fox",
                                         "jumps over the lazy dog",
                                         "",
                                         "東京都に住んでいます",
                                         "quick quick running dogs and more dogs",
                                         "brown bread, butter & jam"};
  int n = 0;
  for (size_t c = 0; c < configs.size(); ++c) {
    auto a = ailake::text::Analyzer::Make(configs[c]).ValueOrDie();
    Write(dir, "analyzer-" + std::to_string(c), 1, configs[c].Serialize());
    for (bool positions : {true, false}) {
      ailake::index::TextIndexBuilder b(a, positions);
      for (int rep = 0; rep < (c == 0 ? 30 : 1); ++rep) {  // c 0: several posting blocks
        for (const auto& d : docs) {
          std::string_view v = d;
          if (!b.AddRow({&v, d.empty() ? size_t{0} : size_t{1}}).ok()) return 1;
        }
      }
      auto blob = b.Finish().ValueOrDie();
      Write(dir, "blob-" + std::to_string(n++), 0, blob->ToString());
    }
  }
  auto a = ailake::text::Analyzer::Make(configs[0]).ValueOrDie();
  ailake::index::TextIndexBuilder empty(a);
  Write(dir, "blob-empty", 0, empty.Finish().ValueOrDie()->ToString());
  {
    std::ifstream v1(std::string(AILAKE_SOURCE_DIR) + "/tests/data/text/index_v1.aitx",
                     std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(v1)), std::istreambuf_iterator<char>());
    if (bytes.empty()) {
      std::fprintf(stderr, "text_index_seeds: tests/data/text/index_v1.aitx is missing\n");
      return 1;
    }
    Write(dir, "blob-v1", 0, bytes);
  }
  for (std::string_view q : {"quick fox", "+\"lazy dog\" -cat", "bro* +dog", "\"unclosed", "-x"}) {
    Write(dir, "query-" + std::to_string(n++), 2, q);
  }
  return 0;
}
