// Full-text queries over TextIndex blobs, scored by BM25 with statistics that
// span every file searched, so results from different files merge by score
// exactly as if the table were one index (layer index/).
//
// A search over files runs in two passes:
//   1. TextFileQuery::Prepare per file (the query's terms looked up, prefixes
//      expanded; postings decoded once, or for the document-at-a-time paths
//      only their block headers read), then AddStats sums each file's live
//      rows, their tokens and each term's live document frequency;
//   2. TextFileQuery::Search per file with those totals; the callers merge
//      the per-file top k by (score descending, then file and row ascending).
//      Term and phrase queries go document at a time (MaxScore for should and
//      must-not terms, a block-max intersection when a clause must match),
//      prefixes term at a time; every path gives the same scores.
//
// BM25 (k1 = 1.2, b = 0.75 unless given), as Lucene and Tantivy compute it:
//   idf(t)  = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
//   score   = sum over matching clauses of idf · (k1 + 1) · tf / (tf + k1 · (1 - b + b · len /
//   avglen))
// with N the live rows, avglen their tokens over N, len the row's length on the
// one-byte scale (text_index.h). A phrase scores as one term whose tf is the
// number of places the phrase occurs and whose idf is the sum of its terms';
// a prefix clause scores a row by its best-scoring expansion.
//
// Thread safety: a TextFileQuery is immutable after Prepare; Search may run on
// several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <arrow/result.h>

#include "ailake/index/text_index.h"
#include "ailake/vectors.h"

namespace ailake::index {

enum class TextOccur : uint8_t { kShould, kMust, kMustNot };
enum class TextClauseKind : uint8_t { kTerm, kPhrase, kPrefix };

struct TextClause {
  TextOccur occur = TextOccur::kShould;
  TextClauseKind kind = TextClauseKind::kTerm;
  // Analyzed terms: one for kTerm and kPrefix; a phrase's in order, with
  // offsets[i] the position of terms[i] relative to terms[0] (a word the
  // analyzer dropped leaves a gap).
  std::vector<std::string> terms;
  std::vector<uint32_t> offsets;
};

struct TextQuery {
  std::vector<TextClause> clauses;
};

inline constexpr size_t kMaxTextQueryBytes = 64 * 1024;
inline constexpr size_t kMaxTextClauses = 1024;
inline constexpr size_t kMaxPrefixExpansions = 1024;

// The query syntax, analyzed with the index's analyzer:
//   word          should match (a row needs at least one should clause when
//                 there is no must clause; each one that matches adds score)
//   +word  -word  must match / must not match
//   "a phrase"    the words at consecutive positions (+ and - apply too)
//   pre*          any term starting with the analyzed prefix
// A word the analyzer splits into several terms is a phrase of them; a word it
// drops entirely (a stop word) adds no clause. Errors name the character
// offset (an unterminated quote, a prefix that analyzes to several terms,
// nothing but must-not clauses, over kMaxTextQueryBytes or kMaxTextClauses).
arrow::Result<TextQuery> ParseTextQuery(std::string_view query, const text::Analyzer& analyzer);

struct Bm25Params {
  float k1 = 1.2f;
  float b = 0.75f;
};

// Statistics over every live row of every file searched.
struct TextStats {
  uint64_t num_rows = 0;
  uint64_t total_tokens = 0;
  std::unordered_map<std::string, uint64_t> df;  // the query's terms (prefixes expanded)
};

struct TextHit {
  uint32_t row = 0;
  float score = 0;
};

class TextFileQuery {
 public:
  // `live`: the file's live rows (null = all). The query's terms are looked
  // up and their postings decoded (deleted rows dropped), or, for the
  // document-at-a-time paths, only their block headers read (the blocks
  // holding deleted rows unpacked to count the live ones; a file whose
  // deleted rows are spread over more than one run per 1024 rows stays on
  // the general path, which decodes every block once anyway).
  // `document_at_a_time` = false keeps every query on the general (term at a
  // time) path, the one the others are tested against.
  static arrow::Result<TextFileQuery> Prepare(const TextIndex& index, const TextQuery& query,
                                              const RowFilter* live,
                                              bool document_at_a_time = true);

  // Adds this file's live rows, their tokens and each term's live document
  // frequency. The tokens of deleted rows are taken off by their stored
  // length (the one-byte scale), so with deletes the average is that close.
  void AddStats(TextStats* stats) const;

  // The k best rows by BM25 under `stats` among the live rows in `allow`
  // (null = every live row), by score descending then row ascending. Rows that
  // match no scoring clause are not returned.
  arrow::Result<std::vector<TextHit>> Search(const TextStats& stats, size_t k,
                                             const RowFilter* allow,
                                             const Bm25Params& params = {}) const;

 private:
  struct Term {
    std::string text;
    TextTermInfo info;
    DecodedPostings postings;  // every row, deleted ones too (skipped when scoring)
    uint64_t live_df = 0;
    bool lazy = false;  // not decoded: blocks unpacked as the driver (or MaxScore) needs
    std::vector<PostingBlock> blocks;  // lazy only
  };
  struct Clause {
    TextOccur occur;
    TextClauseKind kind;
    std::vector<uint32_t> terms;  // into terms_
    std::vector<uint32_t> offsets;
  };
  // Queries of term clauses only, should and must-not: scored document at a
  // time with MaxScore and per-block bounds (no posting decoded in Prepare;
  // blocks whose rows cannot reach the k-th score are never unpacked). Same
  // scores and order as the general path.
  arrow::Result<std::vector<TextHit>> SearchMaxScore(const float* norm, const TextStats& stats,
                                                     size_t k, const RowFilter* allow,
                                                     const Bm25Params& params) const;

  // Queries of term and phrase clauses with a clause every result holds:
  // the required terms intersected document at a time, rarest
  // first, skipping to the next row every must term holds; ranges of rows
  // whose blocks' bounds keep them below the k-th score are skipped unread
  // (block-max). Same scores and order as the general path.
  arrow::Result<std::vector<TextHit>> SearchConjunctive(const float* norm, const TextStats& stats,
                                                        size_t k, const RowFilter* allow,
                                                        const Bm25Params& params) const;

  const TextIndex* index_ = nullptr;
  bool max_score_ = false;    // SearchMaxScore applies (all terms lazy)
  bool conjunctive_ = false;  // SearchConjunctive applies (all terms lazy)
  RowBitmap live_;
  bool has_live_ = false;
  int64_t driver_ = -1;  // the rarest must term: the rows a result can be
  uint32_t live_rows_ = 0;
  uint64_t live_tokens_ = 0;
  std::vector<Term> terms_;
  std::vector<Clause> clauses_;
};

}  // namespace ailake::index
