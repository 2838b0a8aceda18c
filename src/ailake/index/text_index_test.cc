#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>

#include "ailake/core/checksum.h"
#include "ailake/index/text_index.h"
#include "ailake/index/text_search.h"

namespace ailake::index {
namespace {

std::shared_ptr<const text::Analyzer> English() {
  text::AnalyzerConfig cfg;
  cfg.stemmer_language = "english";
  return text::Analyzer::Make(cfg).ValueOrDie();
}

std::shared_ptr<const text::Analyzer> Plain() {
  return text::Analyzer::Make(text::AnalyzerConfig{}).ValueOrDie();
}

// Random documents over a small vocabulary: many terms, some in most rows
// (several posting blocks), lengths from 0 to ~60.
std::vector<std::string> RandomDocs(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> vocab;
  vocab.reserve(300);
  for (int i = 0; i < 300; ++i) vocab.push_back("w" + std::to_string(i * 7919 % 1000));
  std::vector<std::string> docs;
  for (size_t d = 0; d < n; ++d) {
    const int len = static_cast<int>(rng() % 60);
    std::string s;
    for (int i = 0; i < len; ++i) {
      // Zipf-ish: low indexes far more often.
      const double u = std::uniform_real_distribution<double>(0, 1)(rng);
      const auto w = static_cast<size_t>(std::pow(u, 3.0) * vocab.size());
      s += vocab[w] + (i % 5 == 4 ? ". " : " ");
    }
    docs.push_back(s);
  }
  return docs;
}

std::shared_ptr<const TextIndex> Build(const std::shared_ptr<const text::Analyzer>& a,
                                       const std::vector<std::string>& docs,
                                       bool positions = true) {
  TextIndexBuilder b(a, positions);
  for (const auto& d : docs) {
    std::string_view v = d;
    EXPECT_TRUE(b.AddRow(std::span<const std::string_view>(&v, d.empty() ? 0 : 1)).ok());
  }
  auto blob = b.Finish().ValueOrDie();
  return TextIndex::Load(blob).ValueOrDie();
}

// The brute-force oracle: every row's analyzed tokens.
std::vector<std::vector<text::Token>> Tokens(const text::Analyzer& a,
                                             const std::vector<std::string>& docs) {
  std::vector<std::vector<text::Token>> out;
  out.reserve(docs.size());
  for (const auto& d : docs) out.push_back(a.Analyze(d).ValueOrDie());
  return out;
}

TEST(FieldNorm, ExactBelowFortyThenFourSignificantBits) {
  for (uint32_t v = 0; v < 40; ++v) EXPECT_EQ(FieldNormValue(FieldNormCode(v)), v);
  EXPECT_EQ(FieldNormValue(FieldNormCode(40)), 40u);
  EXPECT_EQ(FieldNormValue(FieldNormCode(41)), 40u);
  EXPECT_EQ(FieldNormValue(FieldNormCode(42)), 42u);
  uint32_t prev = 0;
  for (uint32_t v = 0; v < 5000000; v = v < 1000 ? v + 1 : v * 11 / 10) {
    const uint32_t back = FieldNormValue(FieldNormCode(v));
    EXPECT_LE(back, v);
    EXPECT_GE(back, v - v / 8);  // within one mantissa step
    EXPECT_GE(back, prev);
    prev = back;
  }
  EXPECT_EQ(FieldNormCode(UINT32_MAX), 255);
}

TEST(TextIndex, PostingsEqualTheTokens) {
  auto a = English();
  auto docs = RandomDocs(700, 1);
  docs[5] = "";
  docs[6] = "Running runners run, quickly! The quick brown fox.";
  auto idx = Build(a, docs);
  auto toks = Tokens(*a, docs);
  std::map<std::string, std::map<uint32_t, std::vector<uint32_t>>> want;
  uint64_t total = 0;
  for (uint32_t r = 0; r < toks.size(); ++r) {
    total += toks[r].size();
    for (const auto& t : toks[r]) want[t.text][r].push_back(t.position);
    EXPECT_EQ(FieldNormValue(idx->norm_code(r)), FieldNormValue(FieldNormCode(toks[r].size())));
  }
  EXPECT_EQ(idx->num_rows(), docs.size());
  EXPECT_EQ(idx->num_terms(), want.size());
  EXPECT_EQ(idx->total_tokens(), total);
  ASSERT_TRUE(idx->Validate().ok());
  bool multi_block = false;
  for (const auto& [term, rows] : want) {
    auto info = idx->Find(term).ValueOrDie();
    ASSERT_TRUE(info.has_value()) << term;
    EXPECT_EQ(info->df, rows.size());
    multi_block |= rows.size() > kTextPostingBlockDocs;
    DecodedPostings p;
    ASSERT_TRUE(idx->Decode(*info, true, &p).ok());
    size_t i = 0;
    for (const auto& [row, pos] : rows) {
      ASSERT_EQ(p.rows[i], row);
      ASSERT_EQ(p.tfs[i], pos.size());
      ASSERT_EQ(std::vector<uint32_t>(p.positions.begin() + p.pos_begin[i],
                                      p.positions.begin() + p.pos_begin[i + 1]),
                pos);
      ++i;
    }
    // Each row's frequency read alone from its block equals the decoded one.
    std::vector<PostingBlock> blocks;
    ASSERT_TRUE(idx->ReadBlocks(*info, &blocks).ok());
    size_t at = 0;
    for (const PostingBlock& blk : blocks) {
      for (uint32_t j = 0; j < blk.n; ++j, ++at) {
        ASSERT_EQ(idx->BlockTf(blk, j).ValueOrDie(), p.tfs[at]) << term << " row " << at;
      }
      EXPECT_FALSE(idx->BlockTf(blk, blk.n).ok());
    }
    EXPECT_EQ(at, p.tfs.size());
    // A term just before and after is absent unless it exists.
    for (const std::string& other : {term + "0", term.substr(0, term.size() - 1)}) {
      EXPECT_EQ(idx->Find(other).ValueOrDie().has_value(), want.contains(other)) << other;
    }
  }
  EXPECT_TRUE(multi_block);
  EXPECT_FALSE(idx->Find("").ValueOrDie().has_value());
  EXPECT_FALSE(idx->Find("zzzz").ValueOrDie().has_value());
  EXPECT_TRUE(idx->Find("run").ValueOrDie().has_value());  // stemmed
  // Prefixes: every term starting with it, in order.
  for (std::string prefix : {"w", "w1", "w12", "qu", "x", ""}) {
    bool truncated = true;
    auto got = idx->TermsWithPrefix(prefix, 100000, &truncated).ValueOrDie();
    std::vector<std::string> expect;
    for (const auto& [t, r] : want) {
      if (t.starts_with(prefix)) expect.push_back(t);
    }
    ASSERT_EQ(got.size(), expect.size()) << prefix;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].first, expect[i]);
    EXPECT_FALSE(truncated);
    if (expect.size() > 3) {
      auto few = idx->TermsWithPrefix(prefix, 3, &truncated).ValueOrDie();
      EXPECT_EQ(few.size(), 3u);
      EXPECT_TRUE(truncated);
    }
  }
}

TEST(TextIndex, EmptyIndexAndNoPositions) {
  auto idx = Build(Plain(), {"", "", ""});
  EXPECT_EQ(idx->num_terms(), 0u);
  EXPECT_EQ(idx->num_rows(), 3u);
  EXPECT_FALSE(idx->Find("a").ValueOrDie().has_value());
  auto np = Build(Plain(), {"a b", "b c"}, false);
  EXPECT_FALSE(np->has_positions());
  auto q = ParseTextQuery("\"a b\"", np->analyzer()).ValueOrDie();
  auto st = TextFileQuery::Prepare(*np, q, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("without positions"), std::string::npos);
}

TEST(TextIndex, EveryFlippedByteAndEveryCutIsRefused) {
  auto a = English();
  TextIndexBuilder b(a);
  for (const char* d : {"alpha beta", "beta gamma delta", "", "alpha alpha"}) {
    std::string_view v = d;
    ASSERT_TRUE(b.AddRow({&v, 1}).ok());
  }
  auto blob = b.Finish().ValueOrDie();
  ASSERT_TRUE(TextIndex::Load(blob).ok());
  for (int64_t i = 0; i < blob->size(); ++i) {
    auto copy = arrow::AllocateBuffer(blob->size()).ValueOrDie();
    std::memcpy(copy->mutable_data(), blob->data(), blob->size());
    copy->mutable_data()[i] ^= 0x10;
    auto r = TextIndex::Load(std::shared_ptr<arrow::Buffer>(std::move(copy)));
    EXPECT_FALSE(r.ok()) << "flip at " << i;
  }
  for (int64_t n : {int64_t{0}, int64_t{50}, int64_t{128}, blob->size() - 64}) {
    EXPECT_FALSE(TextIndex::Load(arrow::SliceBuffer(blob, 0, n)).ok()) << n;
  }
}

// The Pareto front of a block's (tf, length code) pairs, tf descending: the
// points no other row beats in both.
std::vector<std::pair<uint32_t, uint8_t>> ParetoFront(std::vector<std::pair<uint32_t, uint8_t>> v) {
  std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<std::pair<uint32_t, uint8_t>> front;
  for (const auto& p : v) {
    if (front.empty() || p.second < front.back().second) front.push_back(p);
  }
  return front;
}

TEST(TextIndex, BlockBoundPointsCoverEveryRow) {
  auto a = English();
  auto docs = RandomDocs(3000, 4);
  auto idx = Build(a, docs);
  ASSERT_TRUE(idx->Validate().ok());
  size_t blocks_seen = 0, multi_point = 0, exact_front = 0;
  for (int w = 0; w < 1000; ++w) {
    auto info = idx->Find("w" + std::to_string(w)).ValueOrDie();
    if (!info.has_value()) continue;
    DecodedPostings p;
    ASSERT_TRUE(idx->Decode(*info, false, &p).ok());
    std::vector<PostingBlock> blocks;
    ASSERT_TRUE(idx->ReadBlocks(*info, &blocks).ok());
    size_t at = 0;
    for (const PostingBlock& blk : blocks) {
      ++blocks_seen;
      ASSERT_GE(blk.bounds, 1u);
      ASSERT_LE(blk.bounds, kTextBlockBoundPoints);
      EXPECT_EQ(blk.bound_tf[0], blk.max_tf);
      EXPECT_EQ(blk.bound_norm[blk.bounds - 1], blk.min_norm);
      for (uint32_t j = 1; j < blk.bounds; ++j) {
        EXPECT_LT(blk.bound_tf[j], blk.bound_tf[j - 1]);
        EXPECT_LT(blk.bound_norm[j], blk.bound_norm[j - 1]);
      }
      std::vector<std::pair<uint32_t, uint8_t>> rows;
      for (uint32_t i = 0; i < blk.n; ++i, ++at) {
        const uint8_t code = idx->norm_code(p.rows[at]);
        rows.emplace_back(p.tfs[at], code);
        bool covered = false;
        for (uint32_t j = 0; j < blk.bounds; ++j) {
          covered |= p.tfs[at] <= blk.bound_tf[j] && code >= blk.bound_norm[j];
        }
        EXPECT_TRUE(covered) << "row " << p.rows[at];
      }
      // A front of at most four points is stored as it is.
      const auto front = ParetoFront(rows);
      if (front.size() <= kTextBlockBoundPoints) {
        ASSERT_EQ(blk.bounds, front.size());
        for (uint32_t j = 0; j < blk.bounds; ++j) {
          EXPECT_EQ(blk.bound_tf[j], front[j].first);
          EXPECT_EQ(blk.bound_norm[j], front[j].second);
        }
        ++exact_front;
      }
      multi_point += blk.bounds > 1 ? 1 : 0;
    }
  }
  EXPECT_GT(multi_point, 50u) << "of " << blocks_seen;
  EXPECT_GT(exact_front, blocks_seen / 2);
}

// A blob whose bound points understate a row (checksums recomputed, so it
// loads): Validate names the row, and a search that reads the block refuses
// it instead of trusting the bound.
TEST(TextIndex, BoundPointsThatUnderstateARowAreReported) {
  auto a = Plain();
  TextIndexBuilder b(a);
  for (const char* d : {"a a a c", "a", "b c"}) {
    std::string_view v = d;
    ASSERT_TRUE(b.AddRow({&v, 1}).ok());
  }
  auto blob = b.Finish().ValueOrDie();
  auto good = TextIndex::Load(blob).ValueOrDie();
  ASSERT_TRUE(good->Validate().ok());
  std::vector<PostingBlock> blocks;
  ASSERT_TRUE(good->ReadBlocks(*good->Find("a").ValueOrDie(), &blocks).ok());
  ASSERT_EQ(blocks.size(), 1u);
  // Rows (tf 3, length 4) and (tf 1, length 1): two points.
  ASSERT_EQ(blocks[0].bounds, 2u);
  EXPECT_EQ(blocks[0].bound_tf[0], 3u);
  EXPECT_EQ(blocks[0].bound_norm[0], 4u);
  EXPECT_EQ(blocks[0].bound_tf[1], 1u);
  EXPECT_EQ(blocks[0].bound_norm[1], 1u);
  // "a" is the first term: its block header is varint last row (1), varint
  // max tf (3), min length code (1), gap bits, tf bits | points - 1 << 6,
  // then the first point's length code (4), raised here to 5.
  auto copy = arrow::AllocateBuffer(blob->size()).ValueOrDie();
  uint8_t* m = copy->mutable_data();
  std::memcpy(m, blob->data(), blob->size());
  uint64_t postings = 0;
  std::memcpy(&postings, m + 80, 8);
  ASSERT_EQ(m[postings + 1], 3);
  ASSERT_EQ(m[postings + 5], 4);
  m[postings + 5] = 5;
  const uint64_t body = core::Checksum64(m + 128, blob->size() - 128);
  std::memcpy(m + 112, &body, 8);
  const uint64_t head = core::Checksum64(m, 120);
  std::memcpy(m + 120, &head, 8);
  auto bad = TextIndex::Load(std::shared_ptr<arrow::Buffer>(std::move(copy))).ValueOrDie();
  const auto st = bad->Validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(
      st.message().find("row 0 (tf 3, length code 4) lies outside its posting block's bounds"),
      std::string::npos)
      << st.message();
  // One term (a block loop), two (an intersection), a term or another
  // (MaxScore): each reads row 0 and refuses it.
  for (const char* qs : {"a", "+a +c", "a b"}) {
    auto q = ParseTextQuery(qs, bad->analyzer()).ValueOrDie();
    auto fq = TextFileQuery::Prepare(*bad, q, nullptr).ValueOrDie();
    TextStats stats;
    fq.AddStats(&stats);
    auto hits = fq.Search(stats, 10, nullptr);
    ASSERT_FALSE(hits.ok()) << qs;
    EXPECT_NE(hits.status().message().find("row 0 scores above its posting block's bound"),
              std::string::npos)
        << qs << ": " << hits.status().message();
  }
}

// Version 1 blobs (one bound point per block) still load and answer every
// query as the current version does: tests/data/text/index_v1.aitx is
// TextIndex.build(docs_v1.txt lines, stemmer="english").to_bytes() written by
// version 1 of the format.
TEST(TextIndex, VersionOneBlobsStillLoadAndSearchTheSame) {
  const std::string dir = std::string(AILAKE_SOURCE_DIR) + "/tests/data/text/";
  std::ifstream in(dir + "index_v1.aitx", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 128u);
  ASSERT_EQ(bytes[4], 1);
  auto v1 = TextIndex::Load(arrow::Buffer::FromString(bytes)).ValueOrDie();
  ASSERT_TRUE(v1->Validate().ok());
  std::ifstream docs_in(dir + "docs_v1.txt");
  std::vector<std::string> docs;
  for (std::string line; std::getline(docs_in, line);) docs.push_back(line);
  ASSERT_EQ(docs.size(), v1->num_rows());
  TextIndexBuilder b(text::Analyzer::Make(v1->analyzer().config()).ValueOrDie());
  for (const auto& d : docs) {
    std::string_view v = d;
    ASSERT_TRUE(b.AddRow(std::span<const std::string_view>(&v, d.empty() ? 0 : 1)).ok());
  }
  auto blob = b.Finish().ValueOrDie();
  ASSERT_EQ(blob->data()[4], kTextIndexVersion);
  auto v2 = TextIndex::Load(blob).ValueOrDie();
  EXPECT_EQ(v2->num_terms(), v1->num_terms());
  EXPECT_EQ(v2->total_tokens(), v1->total_tokens());
  size_t multi = 0;
  for (const std::string word : {"data", "the", "run", "index"}) {
    auto info = v2->Find(word).ValueOrDie();
    ASSERT_TRUE(info.has_value()) << word;
    std::vector<PostingBlock> blocks;
    ASSERT_TRUE(v2->ReadBlocks(*info, &blocks).ok());
    for (const auto& blk : blocks) multi += blk.bounds > 1 ? 1 : 0;
    ASSERT_TRUE(v1->ReadBlocks(*v1->Find(word).ValueOrDie(), &blocks).ok());
    for (const auto& blk : blocks) EXPECT_EQ(blk.bounds, 1u);
  }
  EXPECT_GT(multi, 0u);
  for (const char* qs :
       {"data", "the", "run runs", "table index search", "+data +the", "+run +table -the",
        "\"the data\"", "\"index the\" +row", "quer*", "fast -slow", "+word term* -the"}) {
    auto q = ParseTextQuery(qs, v1->analyzer()).ValueOrDie();
    for (size_t k : {size_t{1}, size_t{10}, size_t{2000}}) {
      std::vector<std::vector<TextHit>> got;
      for (const TextIndex* idx : {v1.get(), v2.get()}) {
        auto fq = TextFileQuery::Prepare(*idx, q, nullptr).ValueOrDie();
        TextStats stats;
        fq.AddStats(&stats);
        got.push_back(fq.Search(stats, k, nullptr).ValueOrDie());
      }
      ASSERT_EQ(got[0].size(), got[1].size()) << qs << " k " << k;
      EXPECT_FALSE(got[0].empty()) << qs;
      for (size_t i = 0; i < got[0].size(); ++i) {
        EXPECT_EQ(got[0][i].row, got[1][i].row) << qs << " k " << k << " at " << i;
        EXPECT_EQ(got[0][i].score, got[1][i].score) << qs << " k " << k << " at " << i;
      }
    }
  }
}

// BM25 computed from the tokens, independently of the index: the oracle for
// term, boolean, phrase and prefix queries.
struct Oracle {
  std::vector<std::vector<text::Token>> toks;
  std::vector<bool> live;

  static float Norm(size_t len) { return static_cast<float>(FieldNormValue(FieldNormCode(len))); }

  std::vector<std::pair<float, uint32_t>> Run(const TextQuery& q, const std::vector<bool>& allow,
                                              size_t k) const {
    uint64_t n = 0, tokens = 0;
    // Documented: the exact total, less the deleted rows' stored lengths.
    for (size_t r = 0; r < toks.size(); ++r) {
      tokens += toks[r].size();
      if (!live[r]) {
        tokens -= static_cast<uint64_t>(Norm(toks[r].size()));
        continue;
      }
      ++n;
    }
    const double avg = static_cast<double>(tokens) / static_cast<double>(n);
    auto df = [&](const std::string& t) {
      uint64_t c = 0;
      for (size_t r = 0; r < toks.size(); ++r) {
        if (!live[r]) continue;
        c +=
            std::any_of(toks[r].begin(), toks[r].end(), [&](const auto& x) { return x.text == t; });
      }
      return c;
    };
    auto idf = [&](const std::string& t) {
      const double d = static_cast<double>(df(t));
      return std::log(1.0 + (static_cast<double>(n) - d + 0.5) / (d + 0.5));
    };
    auto bm = [&](double w, double tf, size_t r) {
      return w * 2.2 * tf / (tf + 1.2 * (0.25 + 0.75 * Norm(toks[r].size()) / avg));
    };
    std::vector<std::pair<float, uint32_t>> out;
    for (uint32_t r = 0; r < toks.size(); ++r) {
      if (!live[r] || !allow[r]) continue;
      double s = 0;
      bool excluded = false, any_should = false, musts_ok = true, has_must = false;
      for (const auto& c : q.clauses) {
        double cs = 0;
        bool match = false;
        if (c.kind == TextClauseKind::kTerm) {
          double tf = 0;
          for (const auto& t : toks[r]) tf += t.text == c.terms[0] ? 1 : 0;
          match = tf > 0;
          if (match) cs = bm(idf(c.terms[0]), tf, r);
        } else if (c.kind == TextClauseKind::kPrefix) {
          std::map<std::string, double> tfs;
          for (const auto& t : toks[r]) {
            if (t.text.starts_with(c.terms[0])) tfs[t.text] += 1;
          }
          for (const auto& [t, tf] : tfs) cs = std::max(cs, bm(idf(t), tf, r));
          match = !tfs.empty();
        } else {
          double tf = 0, w = 0;
          for (const auto& t : c.terms) w += idf(t);
          for (const auto& t0 : toks[r]) {
            if (t0.text != c.terms[0]) continue;
            bool ok = true;
            for (size_t j = 1; j < c.terms.size() && ok; ++j) {
              ok = std::any_of(toks[r].begin(), toks[r].end(), [&](const auto& x) {
                return x.text == c.terms[j] && x.position == t0.position + c.offsets[j];
              });
            }
            tf += ok ? 1 : 0;
          }
          match = tf > 0;
          if (match) cs = bm(w, tf, r);
        }
        if (c.occur == TextOccur::kMustNot) {
          excluded |= match;
        } else if (c.occur == TextOccur::kMust) {
          has_must = true;
          musts_ok &= match;
          s += cs;
        } else {
          any_should |= match;
          s += cs;
        }
      }
      if (excluded || !musts_ok || (!has_must && !any_should)) continue;
      out.emplace_back(static_cast<float>(s), r);
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    if (out.size() > k) out.resize(k);
    return out;
  }
};

void ExpectSameHits(const std::vector<TextHit>& got,
                    const std::vector<std::pair<float, uint32_t>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].score, want[i].first, 1e-4f * std::max(1.0f, want[i].first)) << what;
    // Rows may swap only where scores tie to float precision.
    if (got[i].row != want[i].second) {
      EXPECT_NEAR(got[i].score, want[i].first, 1e-5f) << what << " at " << i;
    }
  }
}

TEST(TextSearch, Bm25EqualsTheBruteForceOracleAcrossFiles) {
  auto a = English();
  auto docs = RandomDocs(900, 7);
  docs[3] = "the quick brown fox jumps over the lazy dog";
  docs[400] = "a quick brown dog and a brown quick fox";
  Oracle oracle{Tokens(*a, docs), std::vector<bool>(docs.size(), true)};
  // Deletes: every 13th row.
  for (size_t r = 0; r < docs.size(); r += 13) oracle.live[r] = false;
  // Two files: rows [0, 500) and [500, 900).
  const size_t split = 500;
  std::vector<std::string> d1(docs.begin(), docs.begin() + split),
      d2(docs.begin() + split, docs.end());
  auto i1 = Build(a, d1), i2 = Build(a, d2);
  RowBitmap live1(static_cast<uint32_t>(d1.size())), live2(static_cast<uint32_t>(d2.size()));
  RowBitmap allow1(static_cast<uint32_t>(d1.size())), allow2(static_cast<uint32_t>(d2.size()));
  std::vector<bool> allow(docs.size());
  for (uint32_t r = 0; r < docs.size(); ++r) {
    allow[r] = r % 3 != 1;
    auto& l = r < split ? live1 : live2;
    auto& al = r < split ? allow1 : allow2;
    const auto local = static_cast<uint32_t>(r < split ? r : r - split);
    if (oracle.live[r]) l.Set(local);
    if (oracle.live[r] && allow[r]) al.Set(local);
  }
  const std::vector<bool> all(docs.size(), true);
  const char* queries[] = {"w0",
                           "w0 w7 w14",
                           "+w0 +w7",
                           "w0 -w7",
                           "\"quick brown\"",
                           "\"brown fox\"",
                           "w1*",
                           "+w0 w8* -\"w7 w14\"",
                           "quick fox dog",
                           "+\"w0 w0\" w21",
                           "w999999",
                           "\"w0 w7 w14\"",
                           "runs running",
                           "+w0 +w781 w7",
                           "w0 +w781 -w7 +w14"};
  for (const char* qs : queries) {
    auto q = ParseTextQuery(qs, *a).ValueOrDie();
    for (bool filtered : {false, true}) {
      const RowFilter l1 = live1.filter(), l2 = live2.filter();
      const RowFilter a1 = allow1.filter(), a2 = allow2.filter();
      auto f1 = TextFileQuery::Prepare(*i1, q, &l1).ValueOrDie();
      auto f2 = TextFileQuery::Prepare(*i2, q, &l2).ValueOrDie();
      TextStats stats;
      f1.AddStats(&stats);
      f2.AddStats(&stats);
      const size_t k = 10;
      auto h1 = f1.Search(stats, k, filtered ? &a1 : nullptr).ValueOrDie();
      auto h2 = f2.Search(stats, k, filtered ? &a2 : nullptr).ValueOrDie();
      std::vector<TextHit> merged = h1;
      for (auto h : h2) merged.push_back({static_cast<uint32_t>(h.row + split), h.score});
      std::sort(merged.begin(), merged.end(), [](const auto& x, const auto& y) {
        return x.score != y.score ? x.score > y.score : x.row < y.row;
      });
      if (merged.size() > k) merged.resize(k);
      ExpectSameHits(merged, oracle.Run(q, filtered ? allow : all, k),
                     std::string(qs) + (filtered ? " filtered" : ""));
    }
  }
}

// Term and phrase queries take the document-at-a-time paths (MaxScore for
// should and must-not terms; the block-max intersection for queries with a
// clause every result holds), blocks skipped unread; Prepare can keep the
// same query on the general path. Both must give the same statistics, rows
// and the very same scores, for every k, with deletes (live rows) or not and
// with a filter or not.
TEST(TextSearch, MaxScorePathEqualsTheGeneralPath) {
  auto a = English();
  auto docs = RandomDocs(4000, 11);
  auto idx = Build(a, docs);
  RowBitmap some(static_cast<uint32_t>(docs.size())), live(static_cast<uint32_t>(docs.size()));
  for (uint32_t r = 0; r < docs.size(); ++r) {
    if (r % 4 != 2) some.Set(r);
    // Deleted: a run and two single rows (few enough runs for the
    // document-at-a-time paths, which leave files with deletes spread all
    // over to the general path).
    if ((r < 1000 || r > 1300) && r != 2500 && r != 3101) live.Set(r);
  }
  const RowFilter some_f = some.filter(), live_f = live.filter();
  std::mt19937 rng(5);
  std::vector<std::string> qs = {
      "w0",           "w0 w7",       "w0 w7 w14 w21 w28", "w0 -w7",      "w781 w0",
      "w999999 w0",   "w0 w0",       "-w7 w14 w0",        "+w0 +w7",     "+w0 w7 w14",
      "+w14 +w0 -w7", "+w999999 w0", "+w0 +w0 w1",        "+w3 +w5 +w8", "w2 +w1 -w0"};
  for (int i = 0; i < 90; ++i) {
    std::string q;
    const int n = 1 + static_cast<int>(rng() % 5);
    for (int j = 0; j < n; ++j) {
      const auto kind = rng() % 4;  // 0: must not (not first), 1: must, else should
      q += (j > 0 && kind == 0 ? " -w"
            : kind == 1        ? " +w"
                               : " w") +
           std::to_string((rng() % 120) * 7919 % 1000);
    }
    qs.push_back(q);
  }
  // Phrases taken from the documents, alone or with other clauses.
  for (int i = 0; i < 40; ++i) {
    const std::string& doc = docs[rng() % docs.size()];
    std::vector<std::string> words;
    for (size_t at = 0; at < doc.size();) {
      const size_t end = std::min(doc.find_first_of(" .", at), doc.size());
      if (end > at) words.push_back(doc.substr(at, end - at));
      at = end + 1;
    }
    if (words.size() < 4) continue;
    const size_t at = rng() % (words.size() - 3);
    const std::string phrase =
        "\"" + words[at] + " " + words[at + 1] + (i % 3 == 0 ? " " + words[at + 2] : "") + "\"";
    const std::string other = "w" + std::to_string((rng() % 40) * 7919 % 1000);
    // A phrase alone, +phrase w, +w phrase, +w -phrase, phrase -w.
    const std::array<std::array<std::string_view, 4>, 5> forms = {{{"", phrase, "", ""},
                                                                   {"+", phrase, " ", other},
                                                                   {"+", other, " ", phrase},
                                                                   {"+", other, " -", phrase},
                                                                   {"", phrase, " -", other}}};
    std::string q;
    for (std::string_view piece : forms[i % 5]) q.append(piece);
    qs.push_back(std::move(q));
  }
  int checked = 0, full_conjunctions = 0;
  for (const auto& qs_one : qs) {
    for (const RowFilter* deletes : {static_cast<const RowFilter*>(nullptr), &live_f}) {
      auto q = ParseTextQuery(qs_one, *a).ValueOrDie();
      auto fast = TextFileQuery::Prepare(*idx, q, deletes).ValueOrDie();
      auto general =
          TextFileQuery::Prepare(*idx, q, deletes, /*document_at_a_time=*/false).ValueOrDie();
      TextStats s1, s2;
      fast.AddStats(&s1);
      general.AddStats(&s2);
      ASSERT_EQ(s1.num_rows, s2.num_rows);
      ASSERT_EQ(s1.total_tokens, s2.total_tokens);
      ASSERT_EQ(s1.df, s2.df) << qs_one;
      for (size_t k : {1, 3, 10, 100, 5000}) {
        for (const RowFilter* allow : {static_cast<const RowFilter*>(nullptr), &some_f}) {
          auto h1 = fast.Search(s1, k, allow).ValueOrDie();
          auto h2 = general.Search(s2, k, allow).ValueOrDie();
          ASSERT_EQ(h1.size(), h2.size()) << qs_one << " k " << k;
          for (size_t i = 0; i < h1.size(); ++i) {
            EXPECT_EQ(h1[i].row, h2[i].row) << qs_one << " k " << k << " at " << i;
            EXPECT_EQ(h1[i].score, h2[i].score) << qs_one << " k " << k << " at " << i;
          }
          ++checked;
          // Conjunctions and phrases that fill k (the block-max skips exercised).
          full_conjunctions +=
              qs_one.find_first_of("+\"") != std::string::npos && k == 10 && h1.size() == k;
        }
      }
    }
  }
  EXPECT_EQ(checked, static_cast<int>(qs.size()) * 20);
  EXPECT_GE(full_conjunctions, 60);
}

TEST(TextSearch, ParseBuildsClausesAndNamesErrors) {
  auto a = English();
  auto q = ParseTextQuery("+Running -\"lazy dogs\" conn* don't", *a).ValueOrDie();
  ASSERT_EQ(q.clauses.size(), 4u);
  EXPECT_EQ(q.clauses[0].occur, TextOccur::kMust);
  EXPECT_EQ(q.clauses[0].terms, std::vector<std::string>{"run"});
  EXPECT_EQ(q.clauses[1].occur, TextOccur::kMustNot);
  EXPECT_EQ(q.clauses[1].kind, TextClauseKind::kPhrase);
  EXPECT_EQ(q.clauses[1].terms, (std::vector<std::string>{"lazi", "dog"}));
  EXPECT_EQ(q.clauses[2].kind, TextClauseKind::kPrefix);
  EXPECT_EQ(q.clauses[2].terms, std::vector<std::string>{"conn"});
  EXPECT_EQ(q.clauses[3].kind, TextClauseKind::kPhrase);  // don't -> don, t
  EXPECT_EQ(q.clauses[3].offsets, (std::vector<uint32_t>{0, 1}));

  auto err = [&](std::string_view s) { return ParseTextQuery(s, *a).status().message(); };
  EXPECT_NE(err("\"open quote").find("offset 0"), std::string::npos);
  EXPECT_NE(err("-only -excluded").find("only excluded"), std::string::npos);
  EXPECT_NE(err("   ").find("empty"), std::string::npos);
  EXPECT_NE(err("a + b").find("offset 2"), std::string::npos);
  EXPECT_NE(err("foo-bar*").find("prefix"), std::string::npos);
  EXPECT_NE(err(std::string(kMaxTextQueryBytes + 1, 'a')).find("limit"), std::string::npos);
  std::string many;
  for (size_t i = 0; i <= kMaxTextClauses; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_NE(err(many).find("clauses"), std::string::npos);
  // Punctuation only: a query with no clause, which matches nothing.
  EXPECT_TRUE(ParseTextQuery("!!! ...", *a).ValueOrDie().clauses.empty());
}

TEST(TextSearch, PrefixWithTooManyExpansionsIsRefused) {
  std::vector<std::string> docs;
  std::string big;
  for (size_t i = 0; i <= kMaxPrefixExpansions; ++i) big += "p" + std::to_string(i) + " ";
  docs.push_back(big);
  auto idx = Build(Plain(), docs);
  auto q = ParseTextQuery("p*", idx->analyzer()).ValueOrDie();
  auto st = TextFileQuery::Prepare(*idx, q, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("make it longer"), std::string::npos);
  q = ParseTextQuery("p10*", idx->analyzer()).ValueOrDie();
  EXPECT_TRUE(TextFileQuery::Prepare(*idx, q, nullptr).ok());
}

}  // namespace
}  // namespace ailake::index

namespace ailake::index {
namespace {

// One index, and one prepared query, shared by threads: every search equals
// the single-threaded one (the tsan preset runs this).
TEST(TextSearch, ConcurrentSearchesShareOneIndex) {
  auto a = English();
  auto docs = RandomDocs(600, 3);
  auto idx = Build(a, docs);
  const char* queries[] = {"w0 w7", "+w0 +w781", "\"w0 w7\"", "w1*", "w14 -w0"};
  std::vector<std::vector<TextHit>> want;
  for (const char* qs : queries) {
    auto q = ParseTextQuery(qs, idx->analyzer()).ValueOrDie();
    auto fq = TextFileQuery::Prepare(*idx, q, nullptr).ValueOrDie();
    TextStats stats;
    fq.AddStats(&stats);
    want.push_back(fq.Search(stats, 10, nullptr).ValueOrDie());
  }
  auto shared_q = ParseTextQuery("w0 w7 w14", idx->analyzer()).ValueOrDie();
  auto shared = TextFileQuery::Prepare(*idx, shared_q, nullptr).ValueOrDie();
  TextStats shared_stats;
  shared.AddStats(&shared_stats);
  const auto shared_want = shared.Search(shared_stats, 10, nullptr).ValueOrDie();
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        const size_t i = static_cast<size_t>(t + rep) % std::size(queries);
        auto q = ParseTextQuery(queries[i], idx->analyzer()).ValueOrDie();
        auto fq = TextFileQuery::Prepare(*idx, q, nullptr).ValueOrDie();
        TextStats stats;
        fq.AddStats(&stats);
        auto got = fq.Search(stats, 10, nullptr).ValueOrDie();
        auto again = shared.Search(shared_stats, 10, nullptr).ValueOrDie();
        bool same = got.size() == want[i].size() && again.size() == shared_want.size();
        for (size_t j = 0; same && j < got.size(); ++j) {
          same = got[j].row == want[i][j].row && got[j].score == want[i][j].score;
        }
        for (size_t j = 0; same && j < again.size(); ++j) same = again[j].row == shared_want[j].row;
        if (!same) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace ailake::index
