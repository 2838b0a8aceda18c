#include "ailake/text/analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ailake::text {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<const Analyzer> MakeAnalyzer(AnalyzerConfig config) {
  auto analyzer = Analyzer::Make(std::move(config));
  EXPECT_TRUE(analyzer.ok()) << analyzer.status().ToString();
  return analyzer.ok() ? *analyzer : nullptr;
}

std::vector<Token> Analyze(const AnalyzerConfig& config, std::string_view text) {
  auto analyzer = MakeAnalyzer(config);
  if (analyzer == nullptr) return {};
  auto tokens = analyzer->Analyze(text);
  EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
  return tokens.ok() ? *tokens : std::vector<Token>{};
}

std::vector<std::string> Terms(const std::vector<Token>& tokens) {
  std::vector<std::string> terms;
  terms.reserve(tokens.size());
  for (const Token& t : tokens) terms.push_back(t.text);
  return terms;
}

std::vector<uint32_t> Positions(const std::vector<Token>& tokens) {
  std::vector<uint32_t> positions;
  positions.reserve(tokens.size());
  for (const Token& t : tokens) positions.push_back(t.position);
  return positions;
}

std::vector<std::string> Terms(const AnalyzerConfig& config, std::string_view text) {
  return Terms(Analyze(config, text));
}

AnalyzerConfig Icu(uint32_t cjk_ngram) {
  AnalyzerConfig c;
  c.tokenizer = "icu";
  c.cjk_ngram = cjk_ngram;
  return c;
}

AnalyzerConfig Stemmed(std::string language) {
  AnalyzerConfig c;
  c.stemmer_language = std::move(language);
  return c;
}

void ExpectInvalid(const AnalyzerConfig& c, const std::string& needle) {
  const arrow::Status st = c.Validate();
  ASSERT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr(needle));
  auto made = Analyzer::Make(c);
  ASSERT_FALSE(made.ok());
  EXPECT_THAT(made.status().message(), HasSubstr(needle));
}

void ExpectParseError(std::string_view text, const std::string& needle) {
  auto parsed = AnalyzerConfig::Parse(text);
  ASSERT_FALSE(parsed.ok()) << "parsed: " << parsed->Serialize();
  EXPECT_TRUE(parsed.status().IsInvalid()) << parsed.status().ToString();
  EXPECT_THAT(parsed.status().message(), HasSubstr(needle));
}

// Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool IsWellFormedUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto t = static_cast<uint8_t>(s[i + k]);
      if ((t & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (t & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// --- the simple tokenizer (Tantivy's rule) and lowercasing ---

TEST(AnalyzerTest, SimpleSplitsOnNonAlphanumerics) {
  const auto tokens = Analyze({}, "Hello, World! café-au-lait 3.14 don't");
  EXPECT_THAT(Terms(tokens),
              ElementsAre("hello", "world", "café", "au", "lait", "3", "14", "don", "t"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
}

TEST(AnalyzerTest, SimpleKeepsLettersAndNumbersOfEveryScript) {
  // Greek, Cyrillic, Han (one run: no separator between ideographs), an
  // Arabic-Indic digit (Nd), a Roman numeral (Nl, lowercased too), a vulgar
  // fraction (No); the punctuation and symbols separate.
  EXPECT_THAT(Terms({}, "Αθήνα Москва東京 ٣+Ⅻ=½ a…b €5"),
              ElementsAre("αθήνα", "москва東京", "٣", "ⅻ", "½", "a", "b", "5"));
}

TEST(AnalyzerTest, LowercasesWithIcuFullMapping) {
  EXPECT_THAT(Terms({}, "ÉCOLE ΣΟΦΙΑ ПРИВЕТ STRASSE"),
              ElementsAre("école", "σοφια", "привет", "strasse"));
  // Full (not simple) mapping: İ becomes i + COMBINING DOT ABOVE, as in Rust.
  EXPECT_THAT(Terms({}, "İstanbul"), ElementsAre("i\xCC\x87stanbul"));
  // Final_Sigma: ICU maps a word-final capital sigma to ς (Tantivy's
  // LowerCaser maps every Σ to σ).
  EXPECT_THAT(Terms({}, "ΟΔΟΣ ΣΑΣ"), ElementsAre("οδος", "σας"));
}

TEST(AnalyzerTest, LowercaseOffKeepsCase) {
  AnalyzerConfig c;
  c.lowercase = false;
  EXPECT_THAT(Terms(c, "Hello ÉCOLE"), ElementsAre("Hello", "ÉCOLE"));
}

// The huge token's lowercase must equal the one ICU gives in one call, where
// Final_Sigma sees the whole token.
void ExpectHugeLowercase(const char* tokenizer, std::string_view unit, std::string_view lower_unit,
                         std::string_view lower_last) {
  AnalyzerConfig c;
  c.tokenizer = tokenizer;
  c.max_token_bytes = 0;
  std::string upper;
  std::string lower;
  while (upper.size() < (size_t{5} << 19)) {  // 2.5 MiB: three pieces of 1 MiB
    upper += unit;
    lower += lower_unit;
  }
  lower.replace(lower.size() - lower_unit.size(), lower_unit.size(), lower_last);
  const auto terms = Terms(c, upper);
  ASSERT_EQ(terms.size(), 1u);
  ASSERT_EQ(terms[0].size(), lower.size());
  const size_t diff = static_cast<size_t>(
      std::mismatch(terms[0].begin(), terms[0].end(), lower.begin()).first - terms[0].begin());
  EXPECT_EQ(diff, lower.size()) << "first difference at byte " << diff;
}

TEST(AnalyzerTest, LowercasesAHugeTokenInPiecesLikeAWhole) {
  // Every Σ but the last is followed by a letter, so only the last is final.
  ExpectHugeLowercase("simple", "ΑΣ", "ασ", "ας");
  // Case-ignorable apostrophes between: Final_Sigma looks across them.
  ExpectHugeLowercase("whitespace", "Α'Σ'", "α'σ'", "α'ς'");
  ExpectHugeLowercase("whitespace", "Σ''A", "σ''a", "σ''a");
  // 14-byte units: a piece ends right after a sigma, ten apostrophes before
  // the letter that makes it not final.
  ExpectHugeLowercase("whitespace", "ΑΣ''''''''''", "ασ''''''''''", "ας''''''''''");
}

// --- stemming, stop words, long tokens ---

TEST(AnalyzerTest, StemsEnglish) {
  EXPECT_THAT(Terms(Stemmed("english"), "running connections generously studies"),
              ElementsAre("run", "connect", "generous", "studi"));
}

TEST(AnalyzerTest, StemsFrenchAndGerman) {
  EXPECT_THAT(Terms(Stemmed("french"), "Chevaux continuation mangeait"),
              ElementsAre("cheval", "continu", "mang"));
  EXPECT_THAT(Terms(Stemmed("german"), "Häuser Katzen"), ElementsAre("haus", "katz"));
}

TEST(AnalyzerTest, LeavesVeryLongTermsUnstemmed) {
  AnalyzerConfig c = Stemmed("english");
  c.max_token_bytes = 0;
  const std::string short_word = std::string(200, 'b') + "connections";
  const std::string long_word = std::string(300, 'b') + "connections";
  EXPECT_THAT(Terms(c, short_word + " " + long_word),
              ElementsAre(std::string(200, 'b') + "connect", long_word));
}

TEST(AnalyzerTest, StopWordsLeavePositionGaps) {
  AnalyzerConfig c = Stemmed("english");
  c.stop_words = {"the", "of", "run"};
  // "The" is dropped after lowercasing; "running" is compared before stemming.
  const auto tokens = Analyze(c, "The Lord of the Rings running");
  EXPECT_THAT(Terms(tokens), ElementsAre("lord", "ring", "run"));
  EXPECT_THAT(Positions(tokens), ElementsAre(1, 4, 5));
}

TEST(AnalyzerTest, RemovesTokensOfMaxTokenBytesOrMore) {
  const std::string b39(39, 'x');
  const std::string b40(40, 'y');
  const auto tokens = Analyze({}, "a " + b39 + " " + b40 + " z");
  EXPECT_THAT(Terms(tokens), ElementsAre("a", b39, "z"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 3));
  // Bytes counted before lowercasing: 19 x İ (2 bytes) + "A" is 39 bytes,
  // and 58 once lowercased.
  std::string dotted;
  for (int i = 0; i < 19; ++i) dotted += "İ";
  EXPECT_EQ(Terms({}, dotted + "A").size(), 1u);
  EXPECT_EQ(Terms({}, dotted + "AB").size(), 0u);
  AnalyzerConfig keep_all;
  keep_all.max_token_bytes = 0;
  EXPECT_THAT(Terms(keep_all, b40), ElementsAre(b40));
}

// --- the icu and whitespace tokenizers ---

TEST(AnalyzerTest, IcuDictionaryWords) {
  const auto tokens = Analyze(Icu(0), "Hello, world. 東京都に住んでいます");
  EXPECT_THAT(Terms(tokens),
              ElementsAre("hello", "world", "東京", "都", "に", "住", "んで", "い", "ます"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8));
  // Word-internal punctuation stays, as UAX #29 says.
  EXPECT_THAT(Terms(Icu(0), "don't 3.14 e-mail"), ElementsAre("don't", "3.14", "e", "mail"));
}

TEST(AnalyzerTest, IcuCjkUnigrams) {
  const auto tokens = Analyze(Icu(1), "Hello, world. 東京都に住んでいます");
  EXPECT_THAT(Terms(tokens), ElementsAre("hello", "world", "東", "京", "都", "に", "住", "ん", "で",
                                         "い", "ま", "す"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
}

TEST(AnalyzerTest, IcuCjkBigramsRunAcrossDictionaryWords) {
  const auto tokens = Analyze(Icu(2), "Hello, world. 東京都に住んでいます");
  EXPECT_THAT(Terms(tokens), ElementsAre("hello", "world", "東京", "京都", "都に", "に住", "住ん",
                                         "んで", "でい", "いま", "ます"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
  // A one-character run stays one token; kana with the prolonged sound mark
  // (script Common) and Hangul count as CJK; punctuation ends a run.
  EXPECT_THAT(Terms(Icu(2), "猫。コーヒー 서울에"),
              ElementsAre("猫", "コー", "ーヒ", "ヒー", "서울", "울에"));
}

TEST(AnalyzerTest, WhitespaceSplitsOnUnicodeWhiteSpace) {
  AnalyzerConfig c;
  c.tokenizer = "whitespace";
  // NO-BREAK SPACE and IDEOGRAPHIC SPACE are White_Space too.
  const auto tokens = Analyze(c, "  Foo-Bar\tbaz,qux\n\xC2\xA0x\xE3\x80\x80y ");
  EXPECT_THAT(Terms(tokens), ElementsAre("foo-bar", "baz,qux", "x", "y"));
  EXPECT_THAT(Positions(tokens), ElementsAre(0, 1, 2, 3));
}

// --- bad input, positions, limits ---

TEST(AnalyzerTest, InvalidUtf8ReadsAsReplacementCharacter) {
  for (const char* tokenizer : {"simple", "icu"}) {
    AnalyzerConfig c;
    c.tokenizer = tokenizer;
    const auto tokens = Analyze(c,
                                "ab\xff"
                                "cd");
    EXPECT_THAT(Terms(tokens), ElementsAre("ab", "cd")) << tokenizer;
    EXPECT_THAT(Positions(tokens), ElementsAre(0, 1)) << tokenizer;
    // Truncated, overlong, surrogate, lone continuation bytes.
    EXPECT_THAT(Terms(c, "caf\xC3 x\xC0\xAFy \xED\xA0\x80z \x80\x80w"),
                ElementsAre("caf", "x", "y", "z", "w"))
        << tokenizer;
  }
  AnalyzerConfig ws;
  ws.tokenizer = "whitespace";
  EXPECT_THAT(Terms(ws,
                    "ab\xff"
                    "cd caf\xC3"),
              ElementsAre("ab\xEF\xBF\xBD"
                          "cd",
                          "caf\xEF\xBF\xBD"));
}

TEST(AnalyzerTest, RandomBytesGiveWellFormedTerms) {
  std::mt19937 rng(7);
  std::vector<std::shared_ptr<const Analyzer>> analyzers;
  for (const char* tokenizer : {"simple", "icu", "whitespace"}) {
    AnalyzerConfig c;
    c.tokenizer = tokenizer;
    c.max_token_bytes = 0;
    analyzers.push_back(MakeAnalyzer(c));
  }
  AnalyzerConfig bigrams = Icu(2);
  bigrams.stemmer_language = "english";
  analyzers.push_back(MakeAnalyzer(bigrams));
  // Bytes drawn mostly from the interesting ranges: ASCII, lead and
  // continuation bytes, and pieces of real characters.
  const std::string pieces[] = {"a", " ",  "\x80", "\xC3", "\xE3\x81", "\xF0\x9F", "\xFF",
                                "é", "東", "に",   "Σ",    "\xCC\x81", "-",        "1"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      text += rng() % 4 == 0 ? std::string(1, static_cast<char>(rng() % 256))
                             : pieces[rng() % std::size(pieces)];
    }
    for (const auto& analyzer : analyzers) {
      auto tokens = analyzer->Analyze(text);
      ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
      for (size_t i = 0; i < tokens->size(); ++i) {
        ASSERT_TRUE(IsWellFormedUtf8((*tokens)[i].text)) << analyzer->config().tokenizer;
        ASSERT_FALSE((*tokens)[i].text.empty());
        if (i > 0) {
          ASSERT_LT((*tokens)[i - 1].position, (*tokens)[i].position);
        }
      }
    }
  }
}

TEST(AnalyzerTest, EmptyTextGivesNoTokens) {
  for (const char* tokenizer : {"simple", "icu", "whitespace"}) {
    AnalyzerConfig c;
    c.tokenizer = tokenizer;
    auto analyzer = MakeAnalyzer(c);
    std::vector<Token> out;
    uint32_t next = 5;
    ASSERT_TRUE(analyzer->Analyze("", &out, &next).ok());
    ASSERT_TRUE(analyzer->Analyze(" \t\n ", &out, &next).ok());
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(next, 5u);
  }
}

TEST(AnalyzerTest, NextPositionContinuesAcrossTexts) {
  AnalyzerConfig c;
  c.stop_words = {"the"};
  auto analyzer = MakeAnalyzer(c);
  std::vector<Token> out;
  uint32_t next = 0;
  ASSERT_TRUE(analyzer->Analyze("red fox", &out, &next).ok());
  EXPECT_EQ(next, 2u);
  next += 10;  // a caller's gap between values
  ASSERT_TRUE(analyzer->Analyze("jumps the", &out, &next).ok());
  EXPECT_EQ(next, 14u);  // the dropped stop word still took a position
  EXPECT_THAT(Terms(out), ElementsAre("red", "fox", "jumps"));
  EXPECT_THAT(Positions(out), ElementsAre(0, 1, 12));
}

TEST(AnalyzerTest, PositionsStopAtUint32MaxMinusOne) {
  auto analyzer = MakeAnalyzer({});
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  std::vector<Token> out;
  uint32_t next = kMax - 2;
  ASSERT_TRUE(analyzer->Analyze("a b", &out, &next).ok());
  EXPECT_THAT(Positions(out), ElementsAre(kMax - 2, kMax - 1));
  EXPECT_EQ(next, kMax);

  out = {Token{"kept", 1}};
  next = kMax - 2;
  const arrow::Status st = analyzer->Analyze("a b c", &out, &next);
  ASSERT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("4294967294"));
  EXPECT_THAT(Terms(out), ElementsAre("kept"));  // nothing appended
  EXPECT_EQ(next, kMax - 2);
}

TEST(AnalyzerTest, IcuReadsLongTextsInWindows) {
  // Over 1 MiB windows: cut after spaces, the terms as if read whole.
  std::string text;
  constexpr size_t kWords = 500000;  // 3 MB
  for (size_t i = 0; i < kWords; ++i) text += i % 2 == 0 ? "Alpha " : "beta ";
  const auto tokens = Analyze(Icu(0), text);
  ASSERT_EQ(tokens.size(), kWords);
  for (size_t i = 0; i < kWords; ++i) {
    ASSERT_EQ(tokens[i].text, i % 2 == 0 ? "alpha" : "beta");
    ASSERT_EQ(tokens[i].position, i);
  }
  // A run of ideographs with no separator at all is cut between characters;
  // the bigrams still run across the cut.
  std::string han;
  constexpr size_t kChars = 400000;  // 1.2 MB
  for (size_t i = 0; i < kChars; ++i) han += i % 2 == 0 ? "東" : "京";
  const auto bigrams = Analyze(Icu(2), han);
  ASSERT_EQ(bigrams.size(), kChars - 1);
  for (size_t i = 0; i < bigrams.size(); ++i) {
    ASSERT_EQ(bigrams[i].text, i % 2 == 0 ? "東京" : "京東") << i;
  }
}

TEST(AnalyzerTest, LargeInputsAreLinear) {
  // 16 MB through each tokenizer: quadratic work would not finish.
  std::string text;
  while (text.size() < (size_t{16} << 20)) text += "Quick brown foxes, 東京 42! ";
  for (const char* tokenizer : {"simple", "whitespace"}) {
    AnalyzerConfig c = Stemmed("english");
    c.tokenizer = tokenizer;
    auto analyzer = MakeAnalyzer(c);
    auto tokens = analyzer->Analyze(text);
    ASSERT_TRUE(tokens.ok());
    EXPECT_GT(tokens->size(), size_t{2} << 20) << tokenizer;
  }
  const std::string one_token(size_t{16} << 20, 'a');  // one run, dropped as too long
  EXPECT_TRUE(Terms({}, one_token).empty());
}

// --- Validate ---

TEST(AnalyzerTest, ValidateNamesTheBadField) {
  AnalyzerConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.stemmer_language = "klingon";
  ExpectInvalid(c, "stemmer_language: unknown language 'klingon'");
  c = {};
  c.tokenizer = "standard";
  ExpectInvalid(c, "tokenizer: unknown tokenizer 'standard'");
  c = {};
  c.cjk_ngram = 2;
  ExpectInvalid(c, "cjk_ngram: 2 needs the icu tokenizer");
  c = Icu(3);
  ExpectInvalid(c, "cjk_ngram: 3");
  c = {};
  c.stop_words = {"a", ""};
  ExpectInvalid(c, "stop_words[1]: empty");
  c.stop_words = {std::string(256, 'x')};
  ExpectInvalid(c, "stop_words[0]: 256 bytes");
  c.stop_words = {std::string(255, 'x')};
  EXPECT_TRUE(c.Validate().ok());
  c.stop_words.assign(65537, "w");
  ExpectInvalid(c, "stop_words: 65537 words");
  for (const char* language : {"english", "french", "german", "russian", "porter"}) {
    EXPECT_TRUE(Stemmed(language).Validate().ok()) << language;
  }
}

// --- Serialize and Parse ---

TEST(AnalyzerTest, SerializesOneKeyPerLine) {
  AnalyzerConfig c = Icu(2);
  c.stemmer_language = "english";
  c.stop_words = {"a", "b,c", "50%"};
  EXPECT_EQ(c.Serialize(),
            "ailake-analyzer 1\n"
            "tokenizer=icu\n"
            "cjk_ngram=2\n"
            "max_token_bytes=40\n"
            "lowercase=true\n"
            "stemmer=english\n"
            "stop_words=a,b%2Cc,50%25\n");
}

TEST(AnalyzerTest, ParseOfSerializeIsTheConfig) {
  std::vector<AnalyzerConfig> configs(5);
  configs[1] = Icu(1);
  configs[1].lowercase = false;
  configs[1].max_token_bytes = 0;
  configs[2] = Stemmed("german");
  configs[2].tokenizer = "whitespace";
  configs[2].max_token_bytes = std::numeric_limits<uint32_t>::max();
  configs[2].stop_words = {",",    "%",        "%2C", "line\nbreak", "cr\r",
                           "k=v",  " spaced ", "ünï", "tab\there",   std::string("nul\0x", 5),
                           "\xff", "the"};
  configs[3].stop_words = {"dup", "dup"};
  configs[4] = Icu(2);
  configs[4].stop_words.assign(1000, "w");
  for (const AnalyzerConfig& c : configs) {
    ASSERT_TRUE(c.Validate().ok());
    const std::string text = c.Serialize();
    auto parsed = AnalyzerConfig::Parse(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << text;
    EXPECT_TRUE(*parsed == c) << text;
  }
}

TEST(AnalyzerTest, ParseRefusesBadInputNamingTheLine) {
  const std::string good = AnalyzerConfig{}.Serialize();
  ExpectParseError("", "line 1: expected 'ailake-analyzer 1'");
  ExpectParseError("\x89PNG\r\n\x1a\n", "line 1: expected 'ailake-analyzer 1', found '\\x89PNG");
  ExpectParseError("ailake-analyzer 2\n", "line 1: unsupported version '2'");
  ExpectParseError("tokenizer=simple\n", "line 1");
  ExpectParseError(good + "colour=blue\n", "line 8: unknown key 'colour'");
  ExpectParseError(good + "tokenizer=icu\n", "line 8: duplicate key 'tokenizer' (first on line 2)");
  ExpectParseError(good + "\n", "line 8: expected key=value");
  ExpectParseError("ailake-analyzer 1\ntokenizer=simple\n", "missing key 'cjk_ngram'");
  const std::string head = "ailake-analyzer 1\ntokenizer=simple\n";
  const std::string tail = "lowercase=true\nstemmer=\nstop_words=\n";
  for (const char* bad : {"-1", "4294967296", "1x", "", " 1", "0x10"}) {
    std::string text = head;
    text.append("cjk_ngram=0\nmax_token_bytes=").append(bad).append("\n").append(tail);
    ExpectParseError(text, "line 4: max_token_bytes: bad number");
  }
  ExpectParseError(head + "cjk_ngram=0\nmax_token_bytes=40\nlowercase=yes\nstemmer=\nstop_words=\n",
                   "line 5: lowercase: 'yes'");
  ExpectParseError(head + "cjk_ngram=0\nmax_token_bytes=40\n" + "lowercase=true\nstemmer=\n" +
                       "stop_words=a,%2\n",
                   "line 7: stop_words: bad percent escape '%2'");
  ExpectParseError(head + "cjk_ngram=0\nmax_token_bytes=40\n" + "lowercase=true\nstemmer=\n" +
                       "stop_words=a,%zz\n",
                   "line 7: stop_words: bad percent escape");
  // Parsed, then refused by Validate.
  ExpectParseError(
      head + "cjk_ngram=0\nmax_token_bytes=40\nlowercase=true\nstemmer=klingon\n" + "stop_words=\n",
      "stemmer_language: unknown language 'klingon'");
  ExpectParseError(
      head + "cjk_ngram=0\nmax_token_bytes=40\nlowercase=true\nstemmer=\n" + "stop_words=a,,b\n",
      "stop_words[1]: empty");
  // Bounded: 4 MiB at most.
  std::string big = good;
  big.resize((size_t{4} << 20) + 1, 'x');
  ExpectParseError(big, "over the limit of 4194304");
}

// --- threads ---

TEST(AnalyzerTest, ConcurrentAnalyzeMatchesSingleThreaded) {
  for (const char* tokenizer : {"simple", "icu"}) {
    AnalyzerConfig c = Stemmed("english");
    c.tokenizer = tokenizer;
    c.stop_words = {"the", "and"};
    auto analyzer = MakeAnalyzer(c);
    std::vector<std::string> texts;
    texts.reserve(64);
    for (int i = 0; i < 64; ++i) {
      texts.push_back("The runners " + std::to_string(i) +
                      " were running and jumping over connections, généreusement; "
                      "東京都に住んでいます ΟΔΟΣ " +
                      std::string(static_cast<size_t>(i % 7), 'x') + "ing");
    }
    std::vector<std::vector<Token>> expected;
    expected.reserve(texts.size());
    for (const std::string& t : texts) expected.push_back(*analyzer->Analyze(t));

    constexpr int kThreads = 8;
    std::vector<int> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < 50; ++round) {
          for (size_t i = 0; i < texts.size(); ++i) {
            const size_t k = (i + static_cast<size_t>(t) * 7) % texts.size();
            auto tokens = analyzer->Analyze(texts[k]);
            if (!tokens.ok() || Terms(*tokens) != Terms(expected[k]) ||
                Positions(*tokens) != Positions(expected[k])) {
              ++mismatches[static_cast<size_t>(t)];
            }
          }
        }
      });
    }
    for (std::thread& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << t;
  }
}

}  // namespace
}  // namespace ailake::text
