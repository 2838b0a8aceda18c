// The search paths of one text index side by side: the document-at-a-time
// paths (MaxScore, the block-max intersection) against the general term-at-
// a-time path, on the same queries, alternating query by query on one
// thread, with no deleted row and with deleted rows; each pair's results
// must be equal (rows and scores), or the run fails.
//
//   .venv-bench/bin/python bench/text/run.py --nq 300 --export /tmp/fts
//   build/ci/bin/text_paths /tmp/fts [deleted percent, default 5]
//   build/ci/bin/text_paths /tmp/fts 0 and 20   # one class, fast path only,
//                                               # 20 passes (for a profiler)
//
// Prints, per query class and deletes setting, µs per query of each path
// (Prepare, statistics and Search; the analyzer is the bench's: simple
// tokens, lowercase, English stemmer) and the general / fast ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ailake/index/text_index.h"
#include "ailake/index/text_search.h"
#include "ailake/text/analyzer.h"
#include "ailake/vectors.h"

namespace {

using ailake::index::TextFileQuery;
using ailake::index::TextHit;

std::vector<TextHit> Run(const ailake::index::TextIndex& index,
                         const ailake::index::TextQuery& query, const ailake::RowFilter* live,
                         bool fast, double* seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  auto fq = TextFileQuery::Prepare(index, query, live, fast).ValueOrDie();
  ailake::index::TextStats stats;
  fq.AddStats(&stats);
  auto hits = fq.Search(stats, 10, nullptr).ValueOrDie();
  *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return hits;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: text_paths DIR [deleted percent]\n"
                 "DIR holds docs.txt and queries.tsv (bench/text/run.py --export DIR)\n";
    return 2;
  }
  const std::string dir = argv[1];
  const double deleted_pct = argc > 2 ? std::stod(argv[2]) : 5.0;
  std::ifstream docs_in(dir + "/docs.txt");
  std::ifstream queries_in(dir + "/queries.tsv");
  if (!docs_in || !queries_in) {
    std::cerr << "text_paths: cannot read " << dir << "/docs.txt or queries.tsv\n";
    return 2;
  }
  ailake::text::AnalyzerConfig config;
  config.stemmer_language = "english";
  auto analyzer = ailake::text::Analyzer::Make(config).ValueOrDie();
  ailake::index::TextIndexBuilder builder(analyzer);
  std::string line;
  while (std::getline(docs_in, line)) {
    std::string_view v = line;
    if (!builder.AddRow({&v, v.empty() ? size_t{0} : size_t{1}}).ok()) return 1;
  }
  auto index = ailake::index::TextIndex::Load(builder.Finish().ValueOrDie()).ValueOrDie();
  std::map<std::string, std::vector<ailake::index::TextQuery>> classes;
  while (std::getline(queries_in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    auto q = ailake::index::ParseTextQuery(line.substr(tab + 1), *analyzer);
    if (q.ok()) classes[line.substr(0, tab)].push_back(std::move(*q));
  }
  const uint32_t n = index->num_rows();
  // Deleted rows scattered at random, or one run of as many (as a delete of
  // the oldest rows makes).
  ailake::RowBitmap scattered(n, /*all=*/true), run(n, /*all=*/true);
  std::mt19937 rng(11);
  for (uint32_t r = 0; r < n; ++r) {
    if (std::uniform_real_distribution<double>(0, 100)(rng) < deleted_pct) scattered.Reset(r);
    if (r < static_cast<uint32_t>(n * deleted_pct / 100)) run.Reset(r);
  }
  const ailake::RowFilter scattered_rows = scattered.filter(), run_rows = run.filter();
  if (argc > 3) {
    // One class on the document-at-a-time path alone, no deletes, for a profiler.
    const auto it = classes.find(argv[3]);
    if (it == classes.end()) {
      std::cerr << "text_paths: no query of class " << argv[3] << "\n";
      return 2;
    }
    const int passes = argc > 4 ? std::stoi(argv[4]) : 20;
    double best = 1e30;
    size_t hits = 0;
    for (int pass = 0; pass < passes; ++pass) {
      double seconds = 0;
      for (const auto& q : it->second) hits += Run(*index, q, nullptr, true, &seconds).size();
      best = std::min(best, seconds);
    }
    std::printf("%s: %.1f µs per query (best of %d passes; %zu hits)\n", argv[3],
                best / static_cast<double>(it->second.size()) * 1e6, passes, hits);
    return 0;
  }
  const std::string pct = std::to_string(static_cast<int>(deleted_pct)) + "%";
  std::printf("%u documents; µs per query (best of 3 passes), general / fast\n\n", n);
  std::printf(
      "| class | deletes | fast µs | general µs | general / fast |\n|---|---|---|---|---|\n");
  for (const auto& [name, queries] : classes) {
    for (const ailake::RowFilter* deletes :
         {static_cast<const ailake::RowFilter*>(nullptr), &scattered_rows, &run_rows}) {
      double best_fast = 1e30, best_general = 1e30;
      for (int pass = 0; pass < 3; ++pass) {
        double fast = 0, general = 0;
        for (const auto& q : queries) {
          auto a = Run(*index, q, deletes, true, &fast);
          auto b = Run(*index, q, deletes, false, &general);
          bool same = a.size() == b.size();
          for (size_t i = 0; same && i < a.size(); ++i) {
            same = a[i].row == b[i].row && a[i].score == b[i].score;
          }
          if (!same) {
            std::cerr << "text_paths: the paths disagree on a " << name << " query\n";
            return 1;
          }
        }
        best_fast = std::min(best_fast, fast);
        best_general = std::min(best_general, general);
      }
      const double q = static_cast<double>(queries.size());
      std::printf("| %s | %s | %.1f | %.1f | %.2fx |\n", name.c_str(),
                  (deletes == nullptr           ? std::string("none")
                   : deletes == &scattered_rows ? pct + " scattered"
                                                : pct + " in one run")
                      .c_str(),
                  best_fast / q * 1e6, best_general / q * 1e6, best_general / best_fast);
    }
  }
  return 0;
}
