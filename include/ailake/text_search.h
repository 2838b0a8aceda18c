// Full-text and hybrid search over a table: the options and what they mean.
// Table::SearchText and Table::SearchHybrid (table.h) take these.
//
// Full-text search scores rows by BM25 (k1, b below) with statistics over the
// whole table version searched: its live rows, their tokens, and each query
// term's live document frequency, summed over every fragment. Per-fragment
// results therefore merge by score exactly as if the table were one index;
// deleted rows neither match nor count. The query language, analysis and
// scoring are index/text_search.h's: terms, "phrases", +must, -must_not,
// prefix*.
//
// A text column may have a full-text index (Table::CreateTextIndex): every
// data file holding the column then carries its inverted index as a section
// (docs/FORMAT.md 3.6), written inline by appends and merges, owed by
// deferred writes until BuildPendingIndexes or Optimize; the analyzer is
// recorded with it and queries use it unless they name another. Searches
// read a file's section in place. A fragment without one (no index on the
// column, a file still owing it, or a query with another analyzer) has its
// index built from the column in memory the first time a query meets it, and
// kept by the open table (data files are immutable, so it never goes
// stale).
//
// Hybrid search runs a vector search and a text search with the same filter,
// each for `candidates` rows, and fuses the two ranked lists into one:
//   kReciprocalRank  sum over the lists holding the row of 1 / (rrf_k + rank),
//                    rank from 1 (Cormack, Clarke and Buettcher, 2009);
//   kLinear          text_weight * t + (1 - text_weight) * v, with t the BM25
//                    score and v the vector similarity each min-max normalised
//                    to [0, 1] over its list (v = 1 for the smallest
//                    distance); a row missing from a list gets 0 there.
// Ties break by row id ascending.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/search_options.h"

namespace ailake {

// How text becomes terms (text/analyzer.h describes each step). The defaults
// equal Tantivy's "default" tokenizer: Unicode alphanumeric runs, tokens of 40
// bytes or more dropped, lowercase, no stop words, no stemming.
struct TextAnalyzerConfig {
  std::string tokenizer = "simple";  // "simple", "icu", "whitespace"
  uint32_t cjk_ngram = 0;            // icu only: 0, 1 or 2
  uint32_t max_token_bytes = 40;     // tokens this long or longer are dropped; 0 = none
  bool lowercase = true;
  std::vector<std::string> stop_words;  // after lowercasing; each at most 255 bytes
  std::string stemmer_language;         // "" = none; any Snowball algorithm name

  // Every setting checked, naming the bad one (unknown tokenizer or stemmer
  // language, cjk_ngram with a tokenizer other than icu or above 2, more than
  // 65536 stop words, a stop word empty or over 255 bytes).
  arrow::Status Validate() const;

  // A compact, versioned text form recorded with an index so queries use the
  // same analysis: one "key=value" per line, stop words percent-encoded. Parse
  // is bounded (at most 4 MiB of input) and names the line it refuses;
  // Parse(Serialize()) equals the config.
  std::string Serialize() const;
  static arrow::Result<TextAnalyzerConfig> Parse(std::string_view text);

  bool operator==(const TextAnalyzerConfig&) const = default;
};

struct TextSearchOptions {
  uint32_t k = 10;
  // The text column: a string or large string column, or a list of strings
  // (values in order). Empty = the table's only such column (an error names
  // them when there are several).
  std::string text_column;
  // Unset: the analyzer of the column's full-text index if it has one
  // (Table::CreateTextIndex), else TextAnalyzerConfig's defaults.
  std::optional<TextAnalyzerConfig> analyzer;
  // Rows that may be returned (ParseFilter in query.h), applied inside the
  // search: k rows come back whenever k live rows match the filter and the
  // query. The statistics stay the table's, whatever the filter.
  std::optional<arrow::compute::Expression> filter;
  // Returned columns; empty = all but vector columns. Results also carry
  // "_score" (float32, BM25, descending) and "_rowid" (uint64).
  std::vector<std::string> columns;
  // Non-empty: search only these fragments (statistics included).
  std::vector<uint64_t> fragment_ids;
  uint32_t num_threads = 0;  // fragments searched in parallel (0 = all cores)
  float k1 = 1.2f;
  float b = 0.75f;
};

// A text column's full-text index (Table::CreateTextIndex, text_indexes).
struct TextIndexConfig {
  std::string column;  // a text column (TextSearchOptions::text_column)
  TextAnalyzerConfig analyzer;
  bool with_positions = true;  // term positions stored: phrase queries need them

  bool operator==(const TextIndexConfig&) const = default;
};

enum class FusionMethod : uint8_t { kReciprocalRank, kLinear };

struct HybridSearchOptions {
  uint32_t k = 10;
  // Rows each side contributes before fusion; 0 = 2 * k.
  uint32_t candidates = 0;
  FusionMethod fusion = FusionMethod::kReciprocalRank;
  float rrf_k = 60.0f;       // kReciprocalRank
  float text_weight = 0.5f;  // kLinear, in [0, 1]
  // Applied to both sides (their own filter, k and columns must be unset).
  std::optional<arrow::compute::Expression> filter;
  // Returned columns; empty = all but vector columns. Results also carry
  // "_relevance_score" (float32, fused, descending), "_distance" and "_score"
  // (float32, null where that side did not find the row) and "_rowid".
  std::vector<std::string> columns;
  SearchOptions vector;    // vector_column, params, exact, prune
  TextSearchOptions text;  // text_column, analyzer, k1, b
};

}  // namespace ailake
