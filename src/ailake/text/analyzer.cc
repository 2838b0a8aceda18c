// Text analysis (analyzer.h): the three tokenizers, the token filters, and the
// config's text form.
//
// Cost: linear in the input bytes. The tokenizers read each byte once (the icu
// one in windows of kIcuWindowBytes, because ICU's break iterators index with
// int32); the filters cost at most a constant per token byte (lowercasing runs
// ICU in pieces of at most kCasePieceBytes, stemming skips terms longer than
// kMaxStemBytes, so a pathological token cannot make Snowball's backtracking
// dominate).
//
// Terms are always valid UTF-8: an ill-formed byte sequence is decoded as one
// U+FFFD per maximal ill-formed subsequence (ICU's U8_NEXT_OR_FFFD, the
// Unicode-recommended practice Rust's from_utf8_lossy follows too) and
// re-encoded if it ends up inside a term (only the whitespace tokenizer keeps
// U+FFFD in terms).
//
// Thread safety: Impl is read-only after Make except for the two pools, which
// hand each Analyze call its own break iterator and stemmer under a mutex.
#include "ailake/text/analyzer.h"

#include <libstemmer.h>
#include <unicode/brkiter.h>
#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/locid.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_set>
#include <utility>

namespace ailake::text {
namespace {

using arrow::Status;

constexpr std::string_view kVersionPrefix = "ailake-analyzer ";
constexpr std::string_view kVersionLine = "ailake-analyzer 1";
constexpr size_t kMaxConfigBytes = size_t{4} << 20;
constexpr size_t kMaxStopWords = 65536;
constexpr size_t kMaxStopWordBytes = 255;
// The last position a token may take; next_position may then be UINT32_MAX.
constexpr uint64_t kMaxPosition = std::numeric_limits<uint32_t>::max() - 1;
// Terms longer than this are indexed unstemmed: no word is this long, and it
// bounds libstemmer's per-term work (its int sizes too).
constexpr size_t kMaxStemBytes = 255;
// ICU's case mapping and break iterators take int32 lengths: long tokens are
// lowercased in pieces and the icu tokenizer reads the text in windows, both
// cut so that the result does not change (see Lowercase, IcuWindowEnd).
constexpr size_t kCasePieceBytes = size_t{1} << 20;
constexpr size_t kCaseContextChars = 4096;
constexpr size_t kIcuWindowBytes = size_t{1} << 20;
constexpr size_t kIcuSeekBytes = size_t{64} << 10;
constexpr UChar32 kReplacement = 0xFFFD;

enum class TokenizerKind { kSimple, kIcu, kWhitespace };

bool ParseTokenizer(std::string_view name, TokenizerKind* kind) {
  if (name == "simple") {
    *kind = TokenizerKind::kSimple;
  } else if (name == "icu") {
    *kind = TokenizerKind::kIcu;
  } else if (name == "whitespace") {
    *kind = TokenizerKind::kWhitespace;
  } else {
    return false;
  }
  return true;
}

bool IsStemmerLanguage(std::string_view name) {
  for (const char** l = sb_stemmer_list(); *l != nullptr; ++l) {
    if (name == *l) return true;
  }
  return false;
}

std::string StemmerLanguages() {
  std::string all;
  for (const char** l = sb_stemmer_list(); *l != nullptr; ++l) {
    if (!all.empty()) all += ", ";
    all += *l;
  }
  return all;
}

// Decodes the code point starting at text[*i] and advances *i past it.
UChar32 NextCodePoint(std::string_view text, size_t* i) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t length = text.size();
  size_t j = *i;
  UChar32 c = 0;
  U8_NEXT_OR_FFFD(s, j, length, c);
  *i = j;
  return c;
}

// True when text[from, to) decoded as U+FFFD without being its encoding.
bool IsIllFormed(std::string_view text, size_t from, size_t to, UChar32 c) {
  return c == kReplacement && text.substr(from, to - from) != "\xEF\xBF\xBD";
}

// `bytes` with each ill-formed subsequence replaced by U+FFFD's encoding.
std::string Repaired(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 8);
  for (size_t i = 0; i < bytes.size();) {
    const size_t at = i;
    const UChar32 c = NextCodePoint(bytes, &i);
    if (IsIllFormed(bytes, at, i, c)) {
      out += "\xEF\xBF\xBD";
    } else {
      out.append(bytes.substr(at, i - at));
    }
  }
  return out;
}

bool HasIllFormed(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t at = i;
    if (static_cast<uint8_t>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const UChar32 c = NextCodePoint(bytes, &i);
    if (IsIllFormed(bytes, at, i, c)) return true;
  }
  return false;
}

// Rust's char::is_alphanumeric, hence Tantivy's SimpleTokenizer: the
// Alphabetic property, or a Numeric general category (Nd, Nl, No).
bool IsAlphanumeric(UChar32 c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
  const int8_t type = u_charType(c);
  return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

// The Unicode White_Space property (Rust's char::is_whitespace).
bool IsNotWhiteSpace(UChar32 c) {
  if (c < 0x80) return !(c == ' ' || (c >= '\t' && c <= '\r'));
  return !u_hasBinaryProperty(c, UCHAR_WHITE_SPACE);
}

// The scripts whose segments cjk_ngram splits (Script_Extensions, so that the
// prolonged sound mark U+30FC, script Common, counts as kana).
bool IsCjk(UChar32 c) {
  return uscript_hasScript(c, USCRIPT_HAN) || uscript_hasScript(c, USCRIPT_HIRAGANA) ||
         uscript_hasScript(c, USCRIPT_KATAKANA) || uscript_hasScript(c, USCRIPT_HANGUL);
}

bool AllCjk(std::string_view segment) {
  for (size_t i = 0; i < segment.size();) {
    if (!IsCjk(NextCodePoint(segment, &i))) return false;
  }
  return !segment.empty();
}

// Appends the ICU full lowercase mapping (root locale) of `s`.
Status AppendIcuLower(std::string_view s, std::string* out) {
  icu::StringByteSink<std::string> sink(out);
  UErrorCode status = U_ZERO_ERROR;
  icu::CaseMap::utf8ToLower("", 0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink,
                            nullptr, status);
  if (U_FAILURE(status)) {
    return Status::Invalid("lowercasing ", s.size(), " bytes: ICU error ", u_errorName(status));
  }
  return Status::OK();
}

bool IsCaseIgnorable(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_CASE_IGNORABLE); }

// Around a piece [from, to) of a long token: back from `from`, and on from
// `to`, across case-ignorable characters to the nearest other one, included
// (at most kCaseContextChars characters each way).
size_t CaseContextStart(std::string_view token, size_t from) {
  const auto* s = reinterpret_cast<const uint8_t*>(token.data());
  size_t lo = from;
  for (size_t n = 0; n < kCaseContextChars && lo > 0; ++n) {
    do {
      --lo;
    } while (lo > 0 && U8_IS_TRAIL(s[lo]));
    size_t i = lo;
    if (!IsCaseIgnorable(NextCodePoint(token, &i))) break;
  }
  return lo;
}

size_t CaseContextEnd(std::string_view token, size_t to) {
  size_t hi = to;
  for (size_t n = 0; n < kCaseContextChars && hi < token.size(); ++n) {
    if (!IsCaseIgnorable(NextCodePoint(token, &hi))) break;
  }
  return hi;
}

// ICU full lowercase mapping, root locale; ASCII without ICU.
//
// ICU takes int32 lengths, so a token over kCasePieceBytes is lowercased in
// pieces. The one context-dependent mapping of the root locale, Final_Sigma,
// looks from a capital sigma across case-ignorable characters to the nearest
// other one; each piece is therefore mapped together with that much context
// on either side (CaseContextStart, CaseContextEnd), whose output is cut off
// again. That output's length does not depend on the context (Final_Sigma
// picks between two 2-byte letters), so it is the context lowercased alone.
Status Lowercase(std::string_view token, std::string* out) {
  out->clear();
  if (std::all_of(token.begin(), token.end(),
                  [](char b) { return static_cast<uint8_t>(b) < 0x80; })) {
    out->assign(token);
    for (char& b : *out) {
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    }
    return Status::OK();
  }
  if (token.size() <= kCasePieceBytes) return AppendIcuLower(token, out);
  const auto* s = reinterpret_cast<const uint8_t*>(token.data());
  std::string piece;
  std::string context;
  for (size_t from = 0; from < token.size();) {
    size_t to = std::min(token.size(), from + kCasePieceBytes);
    while (to < token.size() && U8_IS_TRAIL(s[to])) --to;
    const size_t lo = CaseContextStart(token, from);
    const size_t hi = CaseContextEnd(token, to);
    piece.clear();
    ARROW_RETURN_NOT_OK(AppendIcuLower(token.substr(lo, hi - lo), &piece));
    context.clear();
    ARROW_RETURN_NOT_OK(AppendIcuLower(token.substr(lo, from - lo), &context));
    const size_t drop_front = context.size();
    context.clear();
    ARROW_RETURN_NOT_OK(AppendIcuLower(token.substr(to, hi - to), &context));
    const size_t drop_back = context.size();
    out->append(piece, drop_front, piece.size() - drop_front - drop_back);
    from = to;
  }
  return Status::OK();
}

// Where the icu tokenizer's window starting at `from` ends: at the end of the
// text, or at a cut that is a word boundary whatever surrounds it, so that
// segmenting the windows one by one gives the segments of the whole. Sought in
// the window's last kIcuSeekBytes: after a line feed (UAX #29 WB3a), else
// between a space and an ASCII letter or digit, else after an ideographic
// full stop or comma (U+3002, U+3001, which end a dictionary run); failing
// all, at a character boundary, which may split one word.
size_t IcuWindowEnd(std::string_view text, size_t from) {
  if (text.size() - from <= kIcuWindowBytes) return text.size();
  const size_t limit = from + kIcuWindowBytes;
  const size_t low = limit - kIcuSeekBytes;
  for (size_t i = limit; i > low; --i) {
    if (text[i - 1] == '\n') return i;
  }
  auto ascii_alnum = [](char b) {
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9');
  };
  for (size_t i = limit; i > low; --i) {
    if (text[i - 1] == ' ' && ascii_alnum(text[i])) return i;
  }
  for (size_t i = limit; i >= low + 3; --i) {
    const std::string_view tail = text.substr(i - 3, 3);
    if (tail == "\xE3\x80\x82" || tail == "\xE3\x80\x81") return i;
  }
  size_t cut = limit;
  while (cut > low && U8_IS_TRAIL(static_cast<uint8_t>(text[cut]))) --cut;
  return cut;
}

struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};
using StemmerPtr = std::unique_ptr<sb_stemmer, StemmerDeleter>;
using BreakIteratorPtr = std::unique_ptr<icu::BreakIterator>;

// Objects one thread at a time may use, kept for reuse: Take one (null when
// none is free, the caller then makes one), Give it back after.
template <typename Ptr>
class Pool {
 public:
  Ptr Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return nullptr;
    Ptr p = std::move(free_.back());
    free_.pop_back();
    return p;
  }
  void Give(Ptr p) {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(p));
  }

 private:
  std::mutex mu_;
  std::vector<Ptr> free_;
};

// Gives a pooled object back when the Analyze call that took it ends.
template <typename Ptr>
class Lease {
 public:
  Lease(Pool<Ptr>* pool, Ptr p) : pool_(pool), p_(std::move(p)) {}
  ~Lease() { pool_->Give(std::move(p_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  auto* get() const { return p_.get(); }

 private:
  Pool<Ptr>* pool_;
  Ptr p_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StopWordSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

}  // namespace

struct Analyzer::Impl {
  AnalyzerConfig config;
  TokenizerKind tokenizer = TokenizerKind::kSimple;
  StopWordSet stop_words;
  BreakIteratorPtr word_template;  // icu only; cloned into iterators
  mutable Pool<BreakIteratorPtr> iterators;
  mutable Pool<StemmerPtr> stemmers;

  arrow::Result<StemmerPtr> NewStemmer() const {
    StemmerPtr s(sb_stemmer_new(config.stemmer_language.c_str(), "UTF_8"));
    if (s == nullptr) {
      return Status::OutOfMemory("libstemmer: cannot open the '", config.stemmer_language,
                                 "' stemmer (UTF_8)");
    }
    return s;
  }
};

namespace {

// One Analyze call: positions handed out by the tokenizer, then the filters of
// steps 3-6, appending to *out.
class TokenSink {
 public:
  TokenSink(const AnalyzerConfig& config, const StopWordSet& stop_words, sb_stemmer* stemmer,
            uint64_t position, std::vector<Token>* out)
      : config_(config),
        stop_words_(stop_words),
        stemmer_(stemmer),
        position_(position),
        out_(out) {}

  uint64_t position() const { return position_; }

  // A token of the tokenizer, valid UTF-8.
  Status Add(std::string_view token) {
    if (position_ > kMaxPosition) {
      return Status::Invalid("text analysis: token position ", position_, " is past the limit of ",
                             kMaxPosition, " (positions are uint32; UINT32_MAX - 1 is the last)");
    }
    const auto position = static_cast<uint32_t>(position_++);
    if (config_.max_token_bytes != 0 && token.size() >= config_.max_token_bytes) {
      return Status::OK();
    }
    if (config_.lowercase) {
      ARROW_RETURN_NOT_OK(Lowercase(token, &term_));
    } else {
      term_.assign(token);
    }
    if (!stop_words_.empty() && stop_words_.find(term_) != stop_words_.end()) {
      return Status::OK();
    }
    if (stemmer_ != nullptr && term_.size() <= kMaxStemBytes) {
      const sb_symbol* stem =
          sb_stemmer_stem(stemmer_, reinterpret_cast<const sb_symbol*>(term_.data()),
                          static_cast<int>(term_.size()));
      if (stem == nullptr) {
        return Status::OutOfMemory("libstemmer: out of memory stemming a ", term_.size(),
                                   "-byte term");
      }
      out_->push_back(Token{std::string(reinterpret_cast<const char*>(stem),
                                        static_cast<size_t>(sb_stemmer_length(stemmer_))),
                            position});
    } else {
      out_->push_back(Token{term_, position});
    }
    return Status::OK();
  }

  // A token that may hold ill-formed UTF-8.
  Status AddBytes(std::string_view token) {
    return HasIllFormed(token) ? Add(Repaired(token)) : Add(token);
  }

 private:
  const AnalyzerConfig& config_;
  const StopWordSet& stop_words_;
  sb_stemmer* stemmer_;
  uint64_t position_;
  std::vector<Token>* out_;
  std::string term_;  // scratch, reused across tokens
};

// The simple and whitespace tokenizers: maximal runs of token characters.
template <typename IsTokenChar>
Status TokenizeRuns(std::string_view text, IsTokenChar is_token_char, TokenSink* sink) {
  constexpr size_t kNone = std::string_view::npos;
  size_t start = kNone;
  bool ill_formed = false;
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    UChar32 c;
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      c = static_cast<uint8_t>(text[i++]);
    } else {
      c = NextCodePoint(text, &i);
    }
    if (is_token_char(c)) {
      if (start == kNone) {
        start = at;
        ill_formed = false;
      }
      ill_formed = ill_formed || IsIllFormed(text, at, i, c);
    } else if (start != kNone) {
      const std::string_view token = text.substr(start, at - start);
      ARROW_RETURN_NOT_OK(ill_formed ? sink->Add(Repaired(token)) : sink->Add(token));
      start = kNone;
    }
  }
  if (start != kNone) {
    const std::string_view token = text.substr(start);
    ARROW_RETURN_NOT_OK(ill_formed ? sink->Add(Repaired(token)) : sink->Add(token));
  }
  return Status::OK();
}

// Adjacent word segments made only of CJK characters, gathered so that
// cjk_ngram's n-grams run across ICU's dictionary words: the terms then do not
// depend on the dictionary, and a query's n-grams match a document's.
class CjkRun {
 public:
  explicit CjkRun(uint32_t n) : n_(n) {}
  void Extend(size_t from, size_t to) {
    if (empty()) from_ = from;
    to_ = to;
  }
  bool empty() const { return from_ == to_; }

  Status Flush(std::string_view text, TokenSink* sink) {
    if (empty()) return Status::OK();
    const std::string_view run = text.substr(from_, to_ - from_);
    from_ = to_ = 0;
    size_t prev = 0;  // start of the previous character (bigrams)
    size_t count = 0;
    for (size_t i = 0; i < run.size(); ++count) {
      const size_t at = i;
      NextCodePoint(run, &i);
      if (n_ == 1) {
        ARROW_RETURN_NOT_OK(sink->Add(run.substr(at, i - at)));
      } else if (count >= 1) {
        ARROW_RETURN_NOT_OK(sink->Add(run.substr(prev, i - prev)));
      }
      prev = at;
    }
    if (n_ == 2 && count == 1) return sink->Add(run);
    return Status::OK();
  }

 private:
  uint32_t n_;
  size_t from_ = 0;
  size_t to_ = 0;
};

// The icu tokenizer: UAX #29 word segments holding a letter, number, kana or
// ideograph (rule status at or above UBRK_WORD_NONE_LIMIT).
Status TokenizeIcu(std::string_view text, icu::BreakIterator* words, uint32_t cjk_ngram,
                   TokenSink* sink) {
  CjkRun run(cjk_ngram);
  for (size_t base = 0; base < text.size();) {
    const size_t end = IcuWindowEnd(text, base);
    const std::string_view window = text.substr(base, end - base);
    UErrorCode status = U_ZERO_ERROR;
    UText* ut =
        utext_openUTF8(nullptr, window.data(), static_cast<int64_t>(window.size()), &status);
    const std::unique_ptr<UText, UText* (*)(UText*)> closer(ut, utext_close);
    if (U_SUCCESS(status)) words->setText(ut, status);
    if (U_FAILURE(status)) {
      return Status::Invalid("icu tokenizer: cannot segment a ", window.size(),
                             "-byte window at byte ", base, ": ", u_errorName(status));
    }
    int32_t from = words->first();
    for (int32_t to = words->next(); to != icu::BreakIterator::DONE;
         from = to, to = words->next()) {
      if (words->getRuleStatus() < UBRK_WORD_NONE_LIMIT) {
        ARROW_RETURN_NOT_OK(run.Flush(text, sink));
        continue;
      }
      const size_t seg_from = base + static_cast<size_t>(from);
      const size_t seg_to = base + static_cast<size_t>(to);
      const std::string_view segment = text.substr(seg_from, seg_to - seg_from);
      if (cjk_ngram != 0 && AllCjk(segment)) {
        run.Extend(seg_from, seg_to);
        continue;
      }
      ARROW_RETURN_NOT_OK(run.Flush(text, sink));
      ARROW_RETURN_NOT_OK(sink->AddBytes(segment));
    }
    base = end;
  }
  return run.Flush(text, sink);
}

// Percent-encoding of one stop word: every byte but printable ASCII other
// than '%' and ',' becomes %XX, so the list is one line of ASCII.
void AppendPercentEncoded(std::string_view word, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : word) {
    const auto b = static_cast<uint8_t>(ch);
    if (b > 0x20 && b < 0x7F && b != '%' && b != ',') {
      *out += ch;
    } else {
      *out += '%';
      *out += kHex[b >> 4];
      *out += kHex[b & 0xF];
    }
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A short, printable excerpt of refused input for an error message.
std::string Excerpt(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (const char ch : s.substr(0, kMax)) {
    const auto b = static_cast<uint8_t>(ch);
    if (b >= 0x20 && b < 0x7F && b != '\\' && b != '\'') {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    }
  }
  out += s.size() > kMax ? "'..." : "'";
  return out;
}

Status LineError(size_t line, const std::string& what) {
  return Status::Invalid("analyzer config line ", line, ": ", what);
}

Status ParseUint32(std::string_view value, std::string_view key, size_t line, uint32_t* out) {
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, *out);
  if (value.empty() || ec != std::errc() || ptr != end) {
    return LineError(
        line, std::string(key) + ": bad number " + Excerpt(value) + " (expected a decimal uint32)");
  }
  return Status::OK();
}

Status ParseStopWords(std::string_view value, size_t line, std::vector<std::string>* out) {
  out->clear();
  if (value.empty()) return Status::OK();
  std::string word;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || value[i] == ',') {
      out->push_back(std::move(word));
      word.clear();
      continue;
    }
    if (value[i] != '%') {
      word += value[i];
      continue;
    }
    const int hi = i + 2 < value.size() ? HexValue(value[i + 1]) : -1;
    const int lo = hi >= 0 ? HexValue(value[i + 2]) : -1;
    if (lo < 0) {
      return LineError(line, "stop_words: bad percent escape " + Excerpt(value.substr(i, 3)) +
                                 " at byte " + std::to_string(i) + " of the value");
    }
    word += static_cast<char>((hi << 4) | lo);
    i += 2;
  }
  return Status::OK();
}

}  // namespace

}  // namespace ailake::text

// The config is public (ailake/text_search.h, namespace ailake); its checks
// and text form use this file's helpers.
namespace ailake {
using arrow::Status;
using text::AnalyzerConfig;
using text::AppendPercentEncoded;
using text::Excerpt;
using text::IsStemmerLanguage;
using text::kMaxConfigBytes;
using text::kMaxStopWordBytes;
using text::kMaxStopWords;
using text::kVersionLine;
using text::kVersionPrefix;
using text::LineError;
using text::ParseStopWords;
using text::ParseTokenizer;
using text::ParseUint32;
using text::StemmerLanguages;
using text::TokenizerKind;

Status AnalyzerConfig::Validate() const {
  TokenizerKind kind;
  if (!ParseTokenizer(tokenizer, &kind)) {
    return Status::Invalid("tokenizer: unknown tokenizer ", Excerpt(tokenizer),
                           " (expected simple, icu or whitespace)");
  }
  if (cjk_ngram > 2) {
    return Status::Invalid("cjk_ngram: ", cjk_ngram, " (expected 0, 1 or 2)");
  }
  if (cjk_ngram != 0 && kind != TokenizerKind::kIcu) {
    return Status::Invalid("cjk_ngram: ", cjk_ngram, " needs the icu tokenizer (tokenizer is '",
                           tokenizer, "')");
  }
  if (stop_words.size() > kMaxStopWords) {
    return Status::Invalid("stop_words: ", stop_words.size(), " words, over the limit of ",
                           kMaxStopWords);
  }
  for (size_t i = 0; i < stop_words.size(); ++i) {
    if (stop_words[i].empty()) return Status::Invalid("stop_words[", i, "]: empty");
    if (stop_words[i].size() > kMaxStopWordBytes) {
      return Status::Invalid("stop_words[", i, "]: ", stop_words[i].size(),
                             " bytes, over the limit of ", kMaxStopWordBytes);
    }
  }
  if (!stemmer_language.empty() && !IsStemmerLanguage(stemmer_language)) {
    return Status::Invalid("stemmer_language: unknown language ", Excerpt(stemmer_language),
                           " (libstemmer has: ", StemmerLanguages(), ")");
  }
  return Status::OK();
}

std::string AnalyzerConfig::Serialize() const {
  std::string out(kVersionLine);
  out += "\ntokenizer=" + tokenizer;
  out += "\ncjk_ngram=" + std::to_string(cjk_ngram);
  out += "\nmax_token_bytes=" + std::to_string(max_token_bytes);
  out += lowercase ? "\nlowercase=true" : "\nlowercase=false";
  out += "\nstemmer=" + stemmer_language;
  out += "\nstop_words=";
  for (size_t i = 0; i < stop_words.size(); ++i) {
    if (i != 0) out += ',';
    AppendPercentEncoded(stop_words[i], &out);
  }
  out += '\n';
  return out;
}

arrow::Result<AnalyzerConfig> AnalyzerConfig::Parse(std::string_view text) {
  if (text.size() > kMaxConfigBytes) {
    return Status::Invalid("analyzer config: ", text.size(), " bytes, over the limit of ",
                           kMaxConfigBytes, " (4 MiB)");
  }
  static constexpr std::string_view kKeys[] = {"tokenizer", "cjk_ngram", "max_token_bytes",
                                               "lowercase", "stemmer",   "stop_words"};
  constexpr size_t kNumKeys = std::size(kKeys);
  size_t seen_on[kNumKeys] = {};  // line of each key, 0 = not yet
  AnalyzerConfig c;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size() || line_no == 0;) {
    const size_t nl = text.find('\n', pos);
    const std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line_no == 1) {
      if (line == kVersionLine) continue;
      if (line.substr(0, kVersionPrefix.size()) == kVersionPrefix) {
        return LineError(1, "unsupported version " + Excerpt(line.substr(kVersionPrefix.size())) +
                                " (this build reads 1)");
      }
      return LineError(1, "expected '" + std::string(kVersionLine) + "', found " + Excerpt(line) +
                              ": not an analyzer config");
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return LineError(line_no, "expected key=value, found " + Excerpt(line));
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    const auto* it = std::find(std::begin(kKeys), std::end(kKeys), key);
    if (it == std::end(kKeys)) return LineError(line_no, "unknown key " + Excerpt(key));
    const size_t k = static_cast<size_t>(it - std::begin(kKeys));
    if (seen_on[k] != 0) {
      return LineError(line_no, "duplicate key '" + std::string(key) + "' (first on line " +
                                    std::to_string(seen_on[k]) + ")");
    }
    seen_on[k] = line_no;
    switch (k) {
      case 0: c.tokenizer = std::string(value); break;
      case 1: ARROW_RETURN_NOT_OK(ParseUint32(value, key, line_no, &c.cjk_ngram)); break;
      case 2: ARROW_RETURN_NOT_OK(ParseUint32(value, key, line_no, &c.max_token_bytes)); break;
      case 3:
        if (value != "true" && value != "false") {
          return LineError(line_no, "lowercase: " + Excerpt(value) + " (expected true or false)");
        }
        c.lowercase = value == "true";
        break;
      case 4: c.stemmer_language = std::string(value); break;
      default: ARROW_RETURN_NOT_OK(ParseStopWords(value, line_no, &c.stop_words)); break;
    }
  }
  for (size_t k = 0; k < kNumKeys; ++k) {
    if (seen_on[k] == 0) {
      return Status::Invalid("analyzer config: missing key '", kKeys[k], "'");
    }
  }
  const Status st = c.Validate();
  if (!st.ok()) return Status::Invalid("analyzer config: ", st.message());
  return c;
}

}  // namespace ailake

namespace ailake::text {

arrow::Result<std::shared_ptr<const Analyzer>> Analyzer::Make(AnalyzerConfig config) {
  ARROW_RETURN_NOT_OK(config.Validate());
  auto impl = std::make_unique<Impl>();
  ParseTokenizer(config.tokenizer, &impl->tokenizer);
  impl->stop_words.insert(config.stop_words.begin(), config.stop_words.end());
  impl->config = std::move(config);
  if (impl->tokenizer == TokenizerKind::kIcu) {
    UErrorCode status = U_ZERO_ERROR;
    impl->word_template.reset(
        icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status) || impl->word_template == nullptr) {
      return Status::Invalid("icu tokenizer: cannot open ICU's word break iterator: ",
                             u_errorName(status));
    }
  }
  if (!impl->config.stemmer_language.empty()) {
    ARROW_ASSIGN_OR_RAISE(StemmerPtr stemmer, impl->NewStemmer());
    impl->stemmers.Give(std::move(stemmer));
  }
  return std::shared_ptr<const Analyzer>(new Analyzer(std::move(impl)));
}

Analyzer::Analyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Analyzer::~Analyzer() = default;

const AnalyzerConfig& Analyzer::config() const { return impl_->config; }

Status Analyzer::Analyze(std::string_view text, std::vector<Token>* out,
                         uint32_t* next_position) const {
  if (out == nullptr || next_position == nullptr) {
    return Status::Invalid("Analyze: out and next_position must not be null");
  }
  const Impl& impl = *impl_;
  StemmerPtr stemmer;
  if (!impl.config.stemmer_language.empty()) {
    stemmer = impl.stemmers.Take();
    if (stemmer == nullptr) {
      ARROW_ASSIGN_OR_RAISE(stemmer, impl.NewStemmer());
    }
  }
  const Lease<StemmerPtr> stemmer_lease(&impl.stemmers, std::move(stemmer));

  const size_t old_size = out->size();
  TokenSink sink(impl.config, impl.stop_words, stemmer_lease.get(), *next_position, out);
  Status st;
  switch (impl.tokenizer) {
    case TokenizerKind::kSimple:
      st = TokenizeRuns(
          text, [](UChar32 c) { return IsAlphanumeric(c); }, &sink);
      break;
    case TokenizerKind::kWhitespace:
      st = TokenizeRuns(
          text, [](UChar32 c) { return IsNotWhiteSpace(c); }, &sink);
      break;
    case TokenizerKind::kIcu: {
      BreakIteratorPtr words = impl.iterators.Take();
      if (words == nullptr) words.reset(impl.word_template->clone());
      if (words == nullptr)
        return Status::OutOfMemory("icu tokenizer: cannot clone ICU's iterator");
      const Lease<BreakIteratorPtr> words_lease(&impl.iterators, std::move(words));
      st = TokenizeIcu(text, words_lease.get(), impl.config.cjk_ngram, &sink);
      break;
    }
  }
  if (!st.ok()) {
    out->resize(old_size);  // all or nothing
    return st;
  }
  *next_position = static_cast<uint32_t>(sink.position());
  return Status::OK();
}

arrow::Result<std::vector<Token>> Analyzer::Analyze(std::string_view text) const {
  std::vector<Token> out;
  uint32_t next_position = 0;
  ARROW_RETURN_NOT_OK(Analyze(text, &out, &next_position));
  return out;
}

}  // namespace ailake::text
