// Text analysis for full-text search (layer text/): a UTF-8 string becomes the
// terms an inverted index stores and a query looks up, through well-kept
// libraries: ICU for Unicode character properties, word boundaries (UAX #29)
// and case mapping, libstemmer (Snowball) for stemming.
//
// The pipeline, in order:
//   1. tokenizer   "simple": maximal runs of Unicode alphanumerics (Alphabetic
//                  or a Numeric general category, Nd/Nl/No), everything else
//                  separates; the same rule as Tantivy's "simple"/"default"
//                  tokenizer, so an analyzer configured the same way gives
//                  the same terms.
//                  "icu": ICU word boundaries (UAX #29 with ICU's dictionaries
//                  for Thai, CJK, ...), keeping only the segments that hold a
//                  letter, digit or ideograph (punctuation and spaces dropped).
//                  "whitespace": runs of non-white-space characters.
//   2. cjk_ngram   (icu only) 0: keep ICU's dictionary words; 1 or 2: a segment
//                  made of Han, Hiragana, Katakana or Hangul characters is
//                  replaced by its character n-grams (unigrams, or bigrams; a
//                  one-character segment stays one token).
//   3. remove long tokens of max_token_bytes UTF-8 bytes or more (0 = keep all).
//   4. lowercase   Unicode lowercase (ICU full case mapping, root locale).
//   5. stop words  tokens equal to one of stop_words (compared after step 4)
//                  are dropped.
//   6. stemmer     libstemmer's algorithm for stemmer_language ("english",
//                  "french", "german", ... any name sb_stemmer_list() gives;
//                  "" = no stemming).
// Positions are assigned by the tokenizer (0, 1, 2, ... per token it emits,
// n-grams included), so dropped tokens leave gaps and phrase queries do not
// match across a removed stop word.
//
// Invalid UTF-8 never fails: each maximal ill-formed subsequence is read as one
// U+FFFD (the Unicode-recommended practice), which is not alphanumeric, so it
// separates tokens (the whitespace tokenizer keeps it inside a token).
//
// Thread safety: an Analyzer is immutable after Make and safe to share between
// threads (stemmers, which libstemmer does not make thread-safe, are taken
// from an internal pool under a lock, one per concurrent call).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/text_search.h"

namespace ailake::text {

// The analyzer's settings, public as ailake::TextAnalyzerConfig
// (ailake/text_search.h); Validate, Serialize and Parse are defined here.
using AnalyzerConfig = ::ailake::TextAnalyzerConfig;

struct Token {
  std::string text;   // the term, UTF-8
  uint32_t position;  // assigned by the tokenizer, see above
};

class Analyzer {
 public:
  // Validates the config and opens what it needs (ICU break iterator
  // template, the stemmer); an error names what was wrong.
  static arrow::Result<std::shared_ptr<const Analyzer>> Make(AnalyzerConfig config);
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  const AnalyzerConfig& config() const;

  // Appends the terms of `text` to *out. Positions continue from *next_position
  // (which is advanced past this text's last tokenizer position), so the values
  // of a list column or several columns form one position sequence; callers
  // that want a gap between values add it to *next_position themselves.
  arrow::Status Analyze(std::string_view text, std::vector<Token>* out,
                        uint32_t* next_position) const;
  // Convenience: the terms of one text, positions from 0.
  arrow::Result<std::vector<Token>> Analyze(std::string_view text) const;

 private:
  struct Impl;
  explicit Analyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ailake::text
