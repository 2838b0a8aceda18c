#include "ailake/index/text_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace ailake::index {
namespace {

// BM25's idf of a term under the statistics: ln(1 + (N - df + 0.5) / (df + 0.5)).
float Idf(const TextStats& stats, const std::string& term) {
  auto it = stats.df.find(term);
  const uint64_t df = it == stats.df.end() ? 0 : std::min(it->second, stats.num_rows);
  const float x =
      (static_cast<float>(stats.num_rows - df) + 0.5f) / (static_cast<float>(df) + 0.5f);
  return std::log(1.0f + x);
}

// The most a row of `blk` can score from a term of weight w (its idf times
// k1 + 1), norm[c] being BM25's length term for length code c: the best of
// the block's bound points. A row dominated by a point scores at most the
// point's score in floats too (every step is monotone), so skipping a block
// whose bound is below the k-th score loses no row.
float BlockBound(const PostingBlock& blk, float w, const float* norm) {
  float best = 0;
  for (uint32_t i = 0; i < blk.bounds; ++i) {
    const auto tf = static_cast<float>(blk.bound_tf[i]);
    best = std::max(best, tf / (tf + norm[blk.bound_norm[i]]));
  }
  return w * best;
}

// The error for a row that scores above its block's bound: the block's bound
// points do not cover it.
arrow::Status AboveBound(uint32_t row) {
  return arrow::Status::Invalid("text index: row ", row,
                                " scores above its posting block's bound points");
}

// The k best hits (score descending, then row ascending) as a heap whose top
// is the worst kept: most rows fail the one comparison with it.
class TopHits {
 public:
  explicit TopHits(size_t k) : k_(k) {}
  static bool Better(const TextHit& x, const TextHit& y) {
    return x.score != y.score ? x.score > y.score : x.row < y.row;
  }
  bool full() const { return hits_.size() == k_; }
  float kth() const { return hits_.front().score; }  // only when full()
  void Offer(const TextHit& h) {
    if (hits_.size() < k_) {
      hits_.push_back(h);
      std::push_heap(hits_.begin(), hits_.end(), Better);
    } else if (Better(h, hits_.front())) {
      std::pop_heap(hits_.begin(), hits_.end(), Better);
      hits_.back() = h;
      std::push_heap(hits_.begin(), hits_.end(), Better);
    }
  }
  std::vector<TextHit> Sorted() && {
    std::sort(hits_.begin(), hits_.end(), Better);
    return std::move(hits_);
  }

 private:
  size_t k_;
  std::vector<TextHit> hits_;
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Turns analyzed tokens into a clause: none = no clause, one = a term, more = a
// phrase with the tokens' relative positions.
bool ClauseFromTokens(const std::vector<text::Token>& tokens, TextClause* c) {
  if (tokens.empty()) return false;
  if (tokens.size() == 1 && c->kind != TextClauseKind::kPhrase) {
    c->terms = {tokens[0].text};
    return true;
  }
  if (tokens.size() == 1) {
    c->kind = TextClauseKind::kTerm;
    c->terms = {tokens[0].text};
    return true;
  }
  c->kind = TextClauseKind::kPhrase;
  for (const auto& t : tokens) {
    c->terms.push_back(t.text);
    c->offsets.push_back(t.position - tokens[0].position);
  }
  return true;
}

}  // namespace

arrow::Result<TextQuery> ParseTextQuery(std::string_view q, const text::Analyzer& analyzer) {
  if (q.size() > kMaxTextQueryBytes) {
    return arrow::Status::Invalid("text query of ", q.size(), " bytes is over the limit of ",
                                  kMaxTextQueryBytes);
  }
  TextQuery out;
  bool any_clause_text = false;
  size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && IsSpace(q[i])) ++i;
    if (i == q.size()) break;
    const size_t start = i;
    TextClause c;
    if (q[i] == '+' || q[i] == '-') {
      c.occur = q[i] == '+' ? TextOccur::kMust : TextOccur::kMustNot;
      ++i;
    }
    std::string_view body;
    if (i < q.size() && q[i] == '"') {
      const size_t close = q.find('"', i + 1);
      if (close == std::string_view::npos) {
        return arrow::Status::Invalid("text query: the quote at offset ", i, " is not closed");
      }
      body = q.substr(i + 1, close - i - 1);
      i = close + 1;
      c.kind = TextClauseKind::kPhrase;
    } else {
      const size_t b = i;
      while (i < q.size() && !IsSpace(q[i])) ++i;
      body = q.substr(b, i - b);
      if (body.size() > 1 && body.back() == '*') {
        c.kind = TextClauseKind::kPrefix;
        body.remove_suffix(1);
      }
    }
    if (body.empty()) {
      if (c.kind == TextClauseKind::kPhrase) continue;  // "" matches no clause
      return arrow::Status::Invalid("text query: an operator with no word at offset ", start);
    }
    any_clause_text = true;
    ARROW_ASSIGN_OR_RAISE(auto tokens, analyzer.Analyze(body));
    if (c.kind == TextClauseKind::kPrefix) {
      if (tokens.empty()) continue;
      if (tokens.size() > 1) {
        return arrow::Status::Invalid("text query: the prefix '", body, "' at offset ", start,
                                      " analyzes to ", tokens.size(),
                                      " terms; a prefix must be one word");
      }
      c.terms = {tokens[0].text};
    } else if (!ClauseFromTokens(tokens, &c)) {
      continue;  // only words the analyzer drops
    }
    // A clause repeated word for word counts once (as Tantivy's parser does).
    const bool repeated = std::any_of(out.clauses.begin(), out.clauses.end(), [&](const auto& o) {
      return o.occur == c.occur && o.kind == c.kind && o.terms == c.terms && o.offsets == c.offsets;
    });
    if (repeated) continue;
    if (out.clauses.size() == kMaxTextClauses) {
      return arrow::Status::Invalid("text query: more than ", kMaxTextClauses, " clauses");
    }
    out.clauses.push_back(std::move(c));
  }
  if (!any_clause_text) return arrow::Status::Invalid("text query is empty");
  const bool only_excluding =
      !out.clauses.empty() &&
      std::all_of(out.clauses.begin(), out.clauses.end(),
                  [](const auto& c) { return c.occur == TextOccur::kMustNot; });
  if (only_excluding) {
    return arrow::Status::Invalid(
        "text query has only excluded (-) clauses; add a word or phrase to match");
  }
  return out;
}

arrow::Result<TextFileQuery> TextFileQuery::Prepare(const TextIndex& index, const TextQuery& query,
                                                    const RowFilter* live,
                                                    bool document_at_a_time) {
  if (live != nullptr && live->num_rows != index.num_rows()) {
    return arrow::Status::Invalid("text search: live rows cover ", live->num_rows,
                                  " rows, the index ", index.num_rows());
  }
  TextFileQuery fq;
  fq.index_ = &index;
  fq.live_rows_ = index.num_rows();
  fq.live_tokens_ = index.total_tokens();
  std::vector<uint32_t> dead_rows;  // ascending
  uint64_t dead_runs = 0;           // maximal runs of consecutive deleted rows
  if (live != nullptr) {
    uint64_t dead_tokens = 0;
    uint32_t dead = 0;
    for (uint32_t r = 0; r < index.num_rows(); ++r) {
      if (!live->Contains(r)) {
        ++dead;
        dead_tokens += FieldNormValue(index.norm_code(r));
        dead_runs += dead_rows.empty() || dead_rows.back() + 1 != r ? 1 : 0;
        dead_rows.push_back(r);
      }
    }
    fq.live_rows_ -= dead;
    fq.live_tokens_ -= std::min(dead_tokens, fq.live_tokens_);
  }
  if (live != nullptr) {
    fq.live_ = RowBitmap(index.num_rows(), /*all=*/true);
    fq.live_.And(*live);
    fq.has_live_ = true;
  }
  // Every term's rows and frequencies, deleted rows kept (so a row's place
  // in its posting block stays known for RowPositions); deleted rows are
  // skipped when scoring and not counted in the live document frequency.
  // Conjunctive queries: the rarest must term (the driver) bounds the result.
  // A term used only as a term clause, 16 times as frequent or more, is then
  // not decoded whole: Search unpacks just the blocks holding driver rows.
  std::unordered_map<std::string, std::optional<TextTermInfo>> infos;
  std::unordered_map<std::string, bool> only_term;  // used by term clauses alone
  std::optional<uint64_t> driver_df;
  std::string driver_text;
  for (const auto& c : query.clauses) {
    if (c.kind == TextClauseKind::kPrefix) continue;
    for (const auto& text : c.terms) {
      if (!infos.contains(text)) {
        ARROW_ASSIGN_OR_RAISE(infos[text], index.Find(text));
      }
      auto [it, fresh] = only_term.emplace(text, c.kind == TextClauseKind::kTerm);
      if (!fresh) it->second = it->second && c.kind == TextClauseKind::kTerm;
    }
    if (c.occur == TextOccur::kMust && c.kind == TextClauseKind::kTerm) {
      const auto& info = infos[c.terms[0]];
      const uint64_t df = info.has_value() ? info->df : 0;
      if (!driver_df.has_value() || df < *driver_df) {
        driver_df = df;
        driver_text = c.terms[0];
      }
    }
  }
  // The document-at-a-time paths read block headers and unpack a block only
  // when a row in it is needed; counting a term's live rows unpacks every
  // block holding a deleted row, so with deleted rows spread over the file
  // (more than one run of them per 1024 rows) they would unpack everything
  // twice: such files stay on the general path, which decodes once.
  document_at_a_time =
      document_at_a_time && dead_runs * 1024 <= static_cast<uint64_t>(index.num_rows());
  // Term clauses only, none of them must: document at a time.
  fq.max_score_ = document_at_a_time && !query.clauses.empty();
  bool any_should = false;
  for (const auto& c : query.clauses) {
    fq.max_score_ = fq.max_score_ && c.kind == TextClauseKind::kTerm && c.occur != TextOccur::kMust;
    any_should = any_should || c.occur == TextOccur::kShould;
  }
  fq.max_score_ = fq.max_score_ && any_should;
  // Term and phrase clauses, and a clause every result holds (a must clause,
  // or the only should one): intersected document at a time.
  fq.conjunctive_ = document_at_a_time && !query.clauses.empty() && !fq.max_score_;
  size_t musts = 0, shoulds = 0;
  for (const auto& c : query.clauses) {
    fq.conjunctive_ = fq.conjunctive_ && c.kind != TextClauseKind::kPrefix;
    musts += c.occur == TextOccur::kMust ? 1 : 0;
    shoulds += c.occur == TextOccur::kShould ? 1 : 0;
  }
  fq.conjunctive_ = fq.conjunctive_ && (musts > 0 || shoulds == 1);
  std::unordered_map<std::string, uint32_t> by_text;
  auto add_term = [&](const std::string& text,
                      const TextTermInfo* info) -> arrow::Result<uint32_t> {
    auto it = by_text.find(text);
    if (it != by_text.end()) return it->second;
    Term t{text, info != nullptr ? *info : TextTermInfo{}, {}, 0};
    const auto ot = only_term.find(text);
    t.lazy =
        info != nullptr && (fq.max_score_ || fq.conjunctive_ ||
                            (live == nullptr && driver_df.has_value() && text != driver_text &&
                             ot != only_term.end() && ot->second && info->df > 16 * *driver_df));
    if (t.lazy) {
      ARROW_RETURN_NOT_OK(index.ReadBlocks(*info, &t.blocks));
    } else if (info != nullptr) {
      ARROW_RETURN_NOT_OK(index.Decode(*info, false, &t.postings));
    }
    t.live_df = t.lazy ? info->df : t.postings.rows.size();
    if (live != nullptr && t.lazy) {
      // Only the blocks whose row range holds a deleted row are unpacked.
      thread_local std::vector<uint32_t> rows(kTextPostingBlockDocs), tfs(kTextPostingBlockDocs);
      for (const PostingBlock& blk : t.blocks) {
        const auto first = static_cast<uint32_t>(blk.prev_last + 1);
        const auto it = std::lower_bound(dead_rows.begin(), dead_rows.end(), first);
        if (it == dead_rows.end() || *it > blk.last_row) continue;
        ARROW_RETURN_NOT_OK(index.DecodeBlock(blk, rows.data(), tfs.data()));
        for (uint32_t j = 0; j < blk.n; ++j) t.live_df -= live->Contains(rows[j]) ? 0 : 1;
      }
    } else if (live != nullptr) {
      t.live_df = 0;
      for (uint32_t r : t.postings.rows) t.live_df += live->Contains(r) ? 1 : 0;
    }
    const auto id = static_cast<uint32_t>(fq.terms_.size());
    fq.terms_.push_back(std::move(t));
    by_text.emplace(text, id);
    return id;
  };
  for (const auto& c : query.clauses) {
    Clause fc{c.occur, c.kind, {}, c.offsets};
    if (c.terms.empty() ||
        (c.kind == TextClauseKind::kPhrase && c.offsets.size() != c.terms.size())) {
      return arrow::Status::Invalid("text search: a clause without terms or offsets");
    }
    if (c.kind == TextClauseKind::kPhrase && !index.has_positions()) {
      return arrow::Status::Invalid(
          "text search: phrase query on a text index built without positions");
    }
    if (c.kind == TextClauseKind::kPrefix) {
      bool truncated = false;
      ARROW_ASSIGN_OR_RAISE(auto expanded,
                            index.TermsWithPrefix(c.terms[0], kMaxPrefixExpansions, &truncated));
      if (truncated) {
        return arrow::Status::Invalid("text search: the prefix '", c.terms[0],
                                      "' matches more than ", kMaxPrefixExpansions,
                                      " terms; make it longer");
      }
      for (const auto& [text, info] : expanded) {
        ARROW_ASSIGN_OR_RAISE(uint32_t id, add_term(text, &info));
        fc.terms.push_back(id);
      }
    } else {
      for (const auto& text : c.terms) {
        const auto& info = infos[text];
        ARROW_ASSIGN_OR_RAISE(uint32_t id, add_term(text, info.has_value() ? &*info : nullptr));
        fc.terms.push_back(id);
      }
    }
    fq.clauses_.push_back(std::move(fc));
  }
  if (driver_df.has_value()) fq.driver_ = static_cast<int64_t>(by_text.at(driver_text));
  return fq;
}

void TextFileQuery::AddStats(TextStats* stats) const {
  stats->num_rows += live_rows_;
  stats->total_tokens += live_tokens_;
  for (const auto& t : terms_) stats->df[t.text] += t.live_df;
}

arrow::Result<std::vector<TextHit>> TextFileQuery::Search(const TextStats& stats, size_t k,
                                                          const RowFilter* allow,
                                                          const Bm25Params& params) const {
  std::vector<TextHit> hits;
  const uint32_t n = index_->num_rows();
  if (k == 0 || n == 0 || stats.num_rows == 0 || clauses_.empty()) return hits;
  if (allow != nullptr && allow->num_rows != n) {
    return arrow::Status::Invalid("text search: allowed rows cover ", allow->num_rows,
                                  " rows, the index ", n);
  }
  const float k1 = params.k1, b = params.b;
  const float avg = static_cast<float>(stats.total_tokens) / static_cast<float>(stats.num_rows);
  float norm[256];
  for (int c = 0; c < 256; ++c) {
    const auto len = static_cast<float>(FieldNormValue(static_cast<uint8_t>(c)));
    norm[c] = k1 * (1.0f - b + (avg > 0 ? b * len / avg : 0.0f));
  }
  auto idf = [&](const std::string& term) { return Idf(stats, term); };
  // The rows that may score: live and allowed.
  RowBitmap both;
  if (has_live_ && allow != nullptr) {
    both = live_;
    both.And(*allow);
  }
  const RowFilter live_filter = live_.filter(), both_filter = both.filter();
  if (has_live_) allow = allow != nullptr ? &both_filter : &live_filter;
  if (max_score_) return SearchMaxScore(norm, stats, k, allow, params);
  if (conjunctive_) return SearchConjunctive(norm, stats, k, allow, params);
  const std::span<const uint8_t> norms = index_->norm_codes();

  // Dense accumulators for this file (reused per thread).
  thread_local std::vector<float> score;
  thread_local std::vector<uint16_t> must_hits;
  thread_local std::vector<uint8_t> state;  // bit 0 touched, 1 excluded, 2 should matched
  thread_local std::vector<uint32_t> touched;
  thread_local std::vector<float> clause_score;
  thread_local std::vector<uint32_t> clause_rows;
  thread_local std::vector<std::vector<uint32_t>> pos;
  if (score.size() < n) {
    score.assign(n, 0.0f);
    must_hits.assign(n, 0);
    state.assign(n, 0);
  }
  touched.clear();
  auto touch = [&](uint32_t r) {
    if (state[r] == 0) {
      touched.push_back(r);
      state[r] = 1;
    }
  };
  uint32_t num_must = 0;
  for (const auto& c : clauses_) num_must += c.occur == TextOccur::kMust ? 1 : 0;
  if (num_must > UINT16_MAX) return arrow::Status::Invalid("text search: too many must clauses");

  // Conjunctive queries: the rows of the rarest must term bound the result, so
  // a much longer term list looks those rows up instead of being walked whole.
  const Term* driver = driver_ >= 0 ? &terms_[static_cast<size_t>(driver_)] : nullptr;
  thread_local std::vector<uint32_t> block_rows(kTextPostingBlockDocs),
      block_tfs(kTextPostingBlockDocs);

  for (const auto& c : clauses_) {
    // Rows this clause matches, with its score for each.
    clause_rows.clear();
    clause_score.clear();
    if (c.kind == TextClauseKind::kTerm) {
      // Scored straight into the accumulators (the common case).
      const Term& t = terms_[c.terms[0]];
      const float w = idf(t.text) * (k1 + 1.0f);
      const uint32_t* rows = t.postings.rows.data();
      const uint32_t* tfs = t.postings.tfs.data();
      const size_t m = t.postings.rows.size();
      const uint8_t bit = c.occur == TextOccur::kMustNot  ? 2
                          : c.occur == TextOccur::kShould ? 4
                                                          : 0;
      const uint16_t must = c.occur == TextOccur::kMust ? 1 : 0;
      const bool scores = c.occur != TextOccur::kMustNot;
      auto apply = [&](uint32_t r, uint32_t tf_count) {
        if (allow != nullptr && !allow->Contains(r)) return;
        if (state[r] == 0) touched.push_back(r);
        state[r] |= static_cast<uint8_t>(1 | bit);
        must_hits[r] = static_cast<uint16_t>(must_hits[r] + must);
        if (scores) {
          const auto tf = static_cast<float>(tf_count);
          score[r] += w * (tf / (tf + norm[norms[r]]));
        }
      };
      const auto& drows = driver != nullptr ? driver->postings.rows : t.postings.rows;
      if (t.lazy) {
        // Unpack only the blocks that hold driver rows.
        size_t bi = 0, decoded = SIZE_MAX;
        for (const uint32_t r : drows) {
          while (bi < t.blocks.size() && t.blocks[bi].last_row < r) ++bi;
          if (bi == t.blocks.size()) break;
          const PostingBlock& blk = t.blocks[bi];
          if (decoded != bi) {
            ARROW_RETURN_NOT_OK(index_->DecodeBlock(blk, block_rows.data(), block_tfs.data()));
            decoded = bi;
          }
          const uint32_t* b0 = block_rows.data();
          const uint32_t* hit = std::lower_bound(b0, b0 + blk.n, r);
          if (hit != b0 + blk.n && *hit == r) apply(r, block_tfs[hit - b0]);
        }
      } else if (driver != nullptr && driver != &t && drows.size() * 16 < m) {
        // Look the driver's rows up, each search starting where the last ended.
        const uint32_t* at = rows;
        const uint32_t* end = rows + m;
        for (const uint32_t r : drows) {
          at = std::lower_bound(at, end, r);
          if (at == end) break;
          if (*at == r) apply(r, tfs[at - rows]);
        }
      } else {
        for (size_t i = 0; i < m; ++i) apply(rows[i], tfs[i]);
      }
      continue;
    } else if (c.kind == TextClauseKind::kPrefix) {
      // Best expansion per row: scores land in a scratch map keyed by row.
      std::vector<std::pair<uint32_t, float>> best;
      for (uint32_t id : c.terms) {
        const Term& t = terms_[id];
        const float w = idf(t.text) * (k1 + 1.0f);
        for (size_t i = 0; i < t.postings.rows.size(); ++i) {
          const uint32_t r = t.postings.rows[i];
          const auto tf = static_cast<float>(t.postings.tfs[i]);
          best.emplace_back(r, w * (tf / (tf + norm[norms[r]])));
        }
      }
      std::sort(best.begin(), best.end(), [](const auto& x, const auto& y) {
        return x.first != y.first ? x.first < y.first : x.second > y.second;
      });
      for (size_t i = 0; i < best.size(); ++i) {
        if (i > 0 && best[i].first == best[i - 1].first) continue;
        clause_rows.push_back(best[i].first);
        clause_score.push_back(best[i].second);
      }
    } else {
      // Phrase: walk the rarest term's rows, find each row in the others,
      // count the start positions where every term sits at its offset.
      size_t rare = 0;
      float w = 0;
      for (size_t j = 0; j < c.terms.size(); ++j) {
        const Term& t = terms_[c.terms[j]];
        w += idf(t.text);
        if (t.postings.rows.size() < terms_[c.terms[rare]].postings.rows.size()) rare = j;
      }
      w *= k1 + 1.0f;
      const Term& base = terms_[c.terms[rare]];
      std::vector<size_t> cursor(c.terms.size(), 0), at(c.terms.size());
      std::vector<TextIndex::PositionCursor> cursors(c.terms.size());
      for (size_t i = 0; i < base.postings.rows.size(); ++i) {
        const uint32_t r = base.postings.rows[i];
        bool all = true;
        for (size_t j = 0; j < c.terms.size() && all; ++j) {
          const auto& rows = terms_[c.terms[j]].postings.rows;
          auto it =
              std::lower_bound(rows.begin() + static_cast<ptrdiff_t>(cursor[j]), rows.end(), r);
          cursor[j] = static_cast<size_t>(it - rows.begin());
          all = it != rows.end() && *it == r;
          at[j] = cursor[j];
        }
        if (!all) continue;
        if (allow != nullptr && !allow->Contains(r)) continue;
        // Positions of this row only, read from the blob.
        if (pos.size() < c.terms.size()) pos.resize(c.terms.size());
        for (size_t j = 0; j < c.terms.size(); ++j) {
          const Term& t = terms_[c.terms[j]];
          ARROW_RETURN_NOT_OK(
              index_->RowPositions(t.info, t.postings, at[j], &cursors[j], &pos[j]));
        }
        uint32_t freq = 0;
        for (const uint32_t start : pos[0]) {
          bool ok = true;
          for (size_t j = 1; j < c.terms.size() && ok; ++j) {
            const uint64_t want = uint64_t{start} + c.offsets[j];
            ok = std::binary_search(pos[j].begin(), pos[j].end(), want);
          }
          freq += ok ? 1 : 0;
        }
        if (freq == 0) continue;
        const auto tf = static_cast<float>(freq);
        clause_rows.push_back(r);
        clause_score.push_back(w * (tf / (tf + norm[norms[r]])));
      }
    }
    for (size_t i = 0; i < clause_rows.size(); ++i) {
      const uint32_t r = clause_rows[i];
      if (allow != nullptr && !allow->Contains(r)) continue;
      touch(r);
      switch (c.occur) {
        case TextOccur::kMustNot: state[r] |= 2; break;
        case TextOccur::kMust:
          ++must_hits[r];
          score[r] += clause_score[i];
          break;
        case TextOccur::kShould:
          state[r] |= 4;
          score[r] += clause_score[i];
          break;
      }
    }
  }
  TopHits top(k);
  for (uint32_t r : touched) {
    const bool keep =
        (state[r] & 2) == 0 && must_hits[r] == num_must && (num_must > 0 || (state[r] & 4) != 0);
    const TextHit h{r, score[r]};
    score[r] = 0;
    must_hits[r] = 0;
    state[r] = 0;
    if (keep) top.Offer(h);
  }
  return std::move(top).Sorted();
}

namespace {

// One term's postings walked block by block: block headers are known from
// the start, a block is unpacked only when a row in it is needed.
class BlockCursor {
 public:
  BlockCursor(const TextIndex* index, const std::vector<PostingBlock>* blocks)
      : index_(index), blocks_(blocks) {}
  bool done() const { return block_ >= blocks_->size(); }
  const PostingBlock& block() const { return (*blocks_)[block_]; }
  size_t block_index() const { return block_; }
  // Unpacks the current block's rows if they are not.
  arrow::Status Unpack() { return unpacked_ ? arrow::Status::OK() : UnpackBlock(); }
  // The current row (the block unpacked if it was not); UINT32_MAX when done.
  arrow::Result<uint32_t> Row() {
    if (!ready()) ARROW_RETURN_NOT_OK(Unpack());
    return row();
  }
  // Done, or the current block unpacked: row() and Advance() may be called.
  bool ready() const { return unpacked_ || done(); }
  // Row() of a ready cursor, with no status to check in a per-row loop.
  uint32_t row() const { return done() ? UINT32_MAX : rows_[i_]; }
  // Next() of a ready cursor that is not done.
  void Advance() {
    if (++i_ == block().n) NextBlock();
  }
  // The current row's frequency: read alone unless the block's frequencies
  // are unpacked for positions (seeking through a block needs its rows alone,
  // and an intersection scores a few rows of each block it reads).
  arrow::Result<uint32_t> tf() {
    ARROW_RETURN_NOT_OK(Unpack());
    uint32_t f = 0;
    if (TryTf(&f)) return f;
    return index_->BlockTf(block(), i_);  // says what is wrong
  }
  // tf() of an unpacked block without building an error: false where tf()
  // fails.
  bool TryTf(uint32_t* f) const {
    if (tfs_unpacked_) {
      *f = tfs_[i_];
      return true;
    }
    return TextIndex::TryBlockTf(block(), i_, f);
  }
  // The unpacked block's rows and the current one's index in them.
  const uint32_t* rows() const { return rows_; }
  uint32_t index() const { return i_; }
  // Moves to the block's i-th row (i >= index(), i < the block's rows).
  void set_index(uint32_t i) { i_ = i; }
  // In an unpacked block whose last row is >= d: moves to the first row >= d
  // and says whether it is d.
  bool AdvanceTo(uint32_t d) {
    while (rows_[i_] < d) ++i_;
    return rows_[i_] == d;
  }
  // Skips whole blocks ending before `target` (nothing unpacked).
  void SkipBlocksBefore(uint32_t target) {
    while (!done() && block().last_row < target) NextBlock();
  }
  // Moves to the first row >= target.
  arrow::Status Seek(uint32_t target) {
    SkipBlocksBefore(target);
    if (done()) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(Unpack());
    while (rows_[i_] < target) ++i_;  // the block's last row is >= target
    return arrow::Status::OK();
  }
  arrow::Status Next() {
    ARROW_RETURN_NOT_OK(Unpack());
    Advance();
    return arrow::Status::OK();
  }
  void NextBlock() {
    ++block_;
    i_ = 0;
    unpacked_ = false;
  }
  // The current row's positions (`term`: the entry these blocks are of).
  arrow::Status Positions(const TextTermInfo& term, std::vector<uint32_t>* out) {
    ARROW_RETURN_NOT_OK(UnpackTfs());
    ARROW_RETURN_NOT_OK(
        index_->BlockRowPositions(term, block(), tfs_, pos_row_, i_, &pos_offset_, out));
    pos_row_ = i_ + 1;
    return arrow::Status::OK();
  }

 private:
  arrow::Status UnpackBlock() {
    ARROW_RETURN_NOT_OK(index_->DecodeBlock(block(), rows_, nullptr));
    unpacked_ = true;
    tfs_unpacked_ = false;
    pos_row_ = 0;
    pos_offset_ = block().pos_begin;
    return arrow::Status::OK();
  }
  arrow::Status UnpackTfs() {
    ARROW_RETURN_NOT_OK(Unpack());
    if (tfs_unpacked_) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(index_->DecodeBlockTfs(block(), tfs_));
    tfs_unpacked_ = true;
    return arrow::Status::OK();
  }
  const TextIndex* index_;
  const std::vector<PostingBlock>* blocks_;
  size_t block_ = 0;
  uint32_t i_ = 0;
  bool unpacked_ = false;
  bool tfs_unpacked_ = false;
  uint32_t pos_row_ = 0;     // the block's first row whose positions are unread
  uint64_t pos_offset_ = 0;  // where they start, within the term's positions
  uint32_t rows_[kTextPostingBlockDocs];
  uint32_t tfs_[kTextPostingBlockDocs];
};

}  // namespace

// MaxScore (Turtle and Flood, 1995) with per-block bounds: should terms are
// ordered by their largest possible contribution; once the k-th score so far
// exceeds what the smallest ones could add together, rows found only in those
// are never looked at, and blocks whose bound keeps every row below the k-th
// score are skipped unread. A row's score is summed in clause order, as the
// general path sums it, so both give the same floats. The bounds hold with
// float rounding (a row's tf is at most the block's max and its length code at
// least the block's min, and both maps are monotone); a margin of 1e-5
// relative absorbs the different order the bounds are summed in.
arrow::Result<std::vector<TextHit>> TextFileQuery::SearchMaxScore(const float* norm,
                                                                  const TextStats& stats, size_t k,
                                                                  const RowFilter* allow,
                                                                  const Bm25Params& params) const {
  constexpr float kMargin = 1.0f + 1e-5f;
  const float k1 = params.k1;
  const std::span<const uint8_t> norms = index_->norm_codes();
  auto idf = [&](const std::string& term) { return Idf(stats, term); };
  struct Should {
    size_t clause;  // into clauses_
    float w;        // idf * (k1 + 1)
    float ub;       // the most any row can get from it
    std::vector<float> block_ub;
  };
  std::vector<Should> should;
  std::vector<BlockCursor> cursors, not_cursors;
  std::vector<size_t> order;
  for (size_t ci = 0; ci < clauses_.size(); ++ci) {
    const Term& t = terms_[clauses_[ci].terms[0]];
    if (clauses_[ci].occur == TextOccur::kMustNot) {
      not_cursors.emplace_back(index_, &t.blocks);
      continue;
    }
    Should sh{ci, idf(t.text) * (k1 + 1.0f), 0.0f, {}};
    sh.block_ub.reserve(t.blocks.size());
    for (const PostingBlock& blk : t.blocks) {
      const float u = BlockBound(blk, sh.w, norm);
      sh.block_ub.push_back(u);
      sh.ub = std::max(sh.ub, u);
    }
    should.push_back(std::move(sh));
  }
  TopHits top(k);
  if (should.size() == 1 && not_cursors.empty()) {
    // One term: its blocks in turn, each skipped unread when its bound is
    // below the k-th score, else scored row by row.
    const Should& sh = should[0];
    const auto& blocks = terms_[clauses_[sh.clause].terms[0]].blocks;
    thread_local std::vector<uint32_t> rows(kTextPostingBlockDocs), tfs(kTextPostingBlockDocs);
    for (size_t bi = 0; bi < blocks.size(); ++bi) {
      if (top.full() && sh.block_ub[bi] * kMargin < top.kth()) continue;
      ARROW_RETURN_NOT_OK(index_->DecodeBlock(blocks[bi], rows.data(), tfs.data()));
      for (uint32_t j = 0; j < blocks[bi].n; ++j) {
        const uint32_t r = rows[j];
        if (allow != nullptr && !allow->Contains(r)) continue;
        if (norms[r] < blocks[bi].min_norm) {
          return arrow::Status::Invalid("text index: row ", r,
                                        " is shorter than its posting block's smallest length");
        }
        const auto tf = static_cast<float>(tfs[j]);
        const float score = sh.w * (tf / (tf + norm[norms[r]]));
        if (score > sh.block_ub[bi]) return AboveBound(r);
        top.Offer({r, score});
      }
    }
    return std::move(top).Sorted();
  }
  // Ascending by bound: the first `ne` are non-essential.
  order.resize(should.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return should[a].ub < should[b].ub; });
  std::vector<float> prefix(order.size());  // prefix[i] = sum of ub of order[0..i]
  cursors.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const Should& sh = should[order[i]];
    prefix[i] = (i ? prefix[i - 1] : 0.0f) + sh.ub;
    cursors.emplace_back(index_, &terms_[clauses_[sh.clause].terms[0]].blocks);
  }
  const size_t m = order.size();
  std::vector<float> contrib(clauses_.size(), 0.0f);
  float theta = -INFINITY;  // the k-th score once k rows are held
  size_t ne = 0;
  auto nonessential_ub = [&]() { return ne > 0 ? prefix[ne - 1] : 0.0f; };
  while (true) {
    // Blocks of essential terms that cannot lift a row over the k-th score.
    if (top.full()) {
      float ess = 0;
      for (size_t i = ne; i < m; ++i) ess += cursors[i].done() ? 0.0f : should[order[i]].ub;
      const float rest = nonessential_ub();
      for (size_t i = ne; i < m; ++i) {
        const Should& sh = should[order[i]];
        while (!cursors[i].done() &&
               (sh.block_ub[cursors[i].block_index()] + (ess - sh.ub) + rest) * kMargin < theta) {
          cursors[i].NextBlock();
        }
      }
    }
    uint32_t d = UINT32_MAX;
    for (size_t i = ne; i < m; ++i) {
      if (!cursors[i].ready()) ARROW_RETURN_NOT_OK(cursors[i].Unpack());
      d = std::min(d, cursors[i].row());
    }
    if (d == UINT32_MAX) break;
    if (d >= norms.size()) {
      return arrow::Status::Invalid("text index: a posting row ", d, " past the ", norms.size(),
                                    " rows");
    }
    const float nd = norm[norms[d]];
    bool keep = allow == nullptr || allow->Contains(d);
    float partial = 0;
    if (keep) {
      for (size_t i = ne; i < m; ++i) {
        if (cursors[i].row() != d) continue;
        const Should& sh = should[order[i]];
        if (norms[d] < cursors[i].block().min_norm) {
          return arrow::Status::Invalid("text index: row ", d,
                                        " is shorter than its posting block's smallest length");
        }
        uint32_t tf_count = 0;
        if (!cursors[i].TryTf(&tf_count)) {
          ARROW_ASSIGN_OR_RAISE(tf_count, cursors[i].tf());  // the error
        }
        const auto tf = static_cast<float>(tf_count);
        contrib[sh.clause] = sh.w * (tf / (tf + nd));
        if (contrib[sh.clause] > sh.block_ub[cursors[i].block_index()]) return AboveBound(d);
        partial += contrib[sh.clause];
      }
      // The non-essential terms, largest bound first, while the row can still
      // reach the k-th score.
      float rest = nonessential_ub();
      for (size_t j = ne; j-- > 0 && keep;) {
        if (top.full() && (partial + rest) * kMargin < theta) {
          keep = false;
          break;
        }
        const Should& sh = should[order[j]];
        rest -= sh.ub;
        BlockCursor& c = cursors[j];
        c.SkipBlocksBefore(d);
        if (c.done()) continue;
        if (top.full() && (partial + rest + sh.block_ub[c.block_index()]) * kMargin < theta) {
          keep = false;
          break;
        }
        ARROW_RETURN_NOT_OK(c.Seek(d));
        ARROW_ASSIGN_OR_RAISE(uint32_t r, c.Row());
        if (r != d) continue;
        if (norms[d] < c.block().min_norm) {
          return arrow::Status::Invalid("text index: row ", d,
                                        " is shorter than its posting block's smallest length");
        }
        ARROW_ASSIGN_OR_RAISE(const uint32_t tf_count, c.tf());
        const auto tf = static_cast<float>(tf_count);
        contrib[sh.clause] = sh.w * (tf / (tf + nd));
        if (contrib[sh.clause] > sh.block_ub[c.block_index()]) return AboveBound(d);
        partial += contrib[sh.clause];
      }
      if (keep && top.full() && partial * kMargin < theta) keep = false;
      for (size_t j = 0; j < not_cursors.size() && keep; ++j) {
        ARROW_RETURN_NOT_OK(not_cursors[j].Seek(d));
        ARROW_ASSIGN_OR_RAISE(uint32_t r, not_cursors[j].Row());
        keep = r != d;
      }
    }
    if (keep) {
      float score = 0;  // in clause order, as the general path adds
      for (size_t ci = 0; ci < clauses_.size(); ++ci) score += contrib[ci];
      top.Offer({d, score});
      if (top.full()) {
        theta = top.kth();
        while (ne < m && prefix[ne] * kMargin < theta) ++ne;
      }
    }
    std::fill(contrib.begin(), contrib.end(), 0.0f);
    for (size_t i = ne; i < m; ++i) {
      if (cursors[i].row() == d) cursors[i].Advance();  // ready: read above
    }
  }
  return std::move(top).Sorted();
}

// Conjunctions (leapfrog intersection with block-max bounds, after Ding and
// Suel): the required clauses are the must ones, or the only should one. The
// rarest term of a required clause leads; every other such term seeks the
// lead's row, and a term past it becomes the next target. Before a target is
// looked at, the blocks holding it in every required term bound all rows up
// to the first of those blocks' ends (a phrase by its terms' smallest block
// max tf and largest smallest length code); with k rows held and that bound,
// plus every optional clause's largest contribution, below the k-th score,
// the range is skipped without unpacking a block. A row holding every
// required term has its phrases checked on the positions of that row alone,
// adds its should clauses and is dropped if a must-not clause holds it. Its
// score is summed in clause order, as the general path sums it.
arrow::Result<std::vector<TextHit>> TextFileQuery::SearchConjunctive(
    const float* norm, const TextStats& stats, size_t k, const RowFilter* allow,
    const Bm25Params& params) const {
  constexpr float kMargin = 1.0f + 1e-5f;
  const float k1 = params.k1;
  const std::span<const uint8_t> norms = index_->norm_codes();
  struct Part {  // one term of a clause, walked block by block
    const Term* term;
    BlockCursor c;
  };
  struct Cl {
    size_t clause;  // into clauses_
    bool phrase;
    float w;                    // (sum of the terms' idf) * (k1 + 1)
    float ub;                   // the most any row can get from it
    float block_ub;             // the most a row of the current range can
    std::vector<size_t> parts;  // into parts, in the clause's term order
  };
  size_t num_parts = 0, musts = 0;
  for (const auto& c : clauses_) {
    num_parts += c.terms.size();
    musts += c.occur == TextOccur::kMust ? 1 : 0;
  }
  std::vector<Part> parts;
  parts.reserve(num_parts);
  std::vector<Cl> required, optional, excluded;
  for (size_t ci = 0; ci < clauses_.size(); ++ci) {
    const Clause& c = clauses_[ci];
    Cl cl{ci, c.kind == TextClauseKind::kPhrase, 0.0f, 0.0f, 0.0f, {}};
    uint32_t max_tf = UINT32_MAX;
    for (uint32_t id : c.terms) {
      const Term& t = terms_[id];
      cl.w += Idf(stats, t.text);
      uint32_t term_max = 0;
      for (const PostingBlock& blk : t.blocks) term_max = std::max(term_max, blk.max_tf);
      max_tf = std::min(max_tf, term_max);
      cl.parts.push_back(parts.size());
      parts.push_back({&t, BlockCursor(index_, &t.blocks)});
    }
    cl.w *= k1 + 1.0f;
    const auto tf = static_cast<float>(max_tf);
    cl.ub = cl.w * (tf / (tf + norm[0]));
    const bool needed =
        c.occur == TextOccur::kMust || (musts == 0 && c.occur == TextOccur::kShould);
    (needed                           ? required
     : c.occur == TextOccur::kMustNot ? excluded
                                      : optional)
        .push_back(std::move(cl));
  }
  // Every term of a required clause, rarest first (one absent: no match).
  std::vector<size_t> lead;
  for (const Cl& cl : required) lead.insert(lead.end(), cl.parts.begin(), cl.parts.end());
  std::stable_sort(lead.begin(), lead.end(), [&](size_t a, size_t b) {
    return parts[a].term->blocks.size() < parts[b].term->blocks.size();
  });
  float optional_ub = 0;
  for (const Cl& cl : optional) optional_ub += cl.ub;
  // What a clause can give a row in its parts' current blocks.
  // A phrase occurs in a row at most as often as each of its terms, in a row
  // no shorter than each term's block allows: the smallest of the parts'
  // bounds, and of the bound from the smallest max tf at the largest
  // smallest length.
  auto block_bound = [&](const Cl& cl) {
    uint32_t max_tf = UINT32_MAX;
    uint8_t min_norm = 0;
    float b = std::numeric_limits<float>::infinity();
    for (size_t p : cl.parts) {
      const PostingBlock& blk = parts[p].c.block();
      max_tf = std::min(max_tf, blk.max_tf);
      min_norm = std::max(min_norm, blk.min_norm);
      b = std::min(b, BlockBound(blk, cl.w, norm));
    }
    const auto tf = static_cast<float>(max_tf);
    return std::min(b, cl.w * (tf / (tf + norm[min_norm])));
  };
  auto check_norm = [&](const Part& p, uint32_t d) -> arrow::Status {
    if (norms[d] < p.c.block().min_norm) {
      return arrow::Status::Invalid("text index: row ", d,
                                    " is shorter than its posting block's smallest length");
    }
    return arrow::Status::OK();
  };
  thread_local std::vector<std::vector<uint32_t>> pos;
  // The clause's tf at row d, where every one of its parts sits: the term's
  // frequency, or the number of places the phrase occurs.
  auto tf_at = [&](const Cl& cl, uint32_t d) -> arrow::Result<uint32_t> {
    for (size_t p : cl.parts) ARROW_RETURN_NOT_OK(check_norm(parts[p], d));
    if (!cl.phrase) return parts[cl.parts[0]].c.tf();
    if (pos.size() < cl.parts.size()) pos.resize(cl.parts.size());
    for (size_t j = 0; j < cl.parts.size(); ++j) {
      Part& p = parts[cl.parts[j]];
      ARROW_RETURN_NOT_OK(p.c.Positions(p.term->info, &pos[j]));
    }
    const auto& offsets = clauses_[cl.clause].offsets;
    uint32_t freq = 0;
    for (const uint32_t start : pos[0]) {
      bool ok = true;
      for (size_t j = 1; j < cl.parts.size() && ok; ++j) {
        ok = std::binary_search(pos[j].begin(), pos[j].end(), uint64_t{start} + offsets[j]);
      }
      freq += ok ? 1 : 0;
    }
    return freq;
  };
  // Whether every part of the clause holds row d (each moved to d or past).
  auto holds = [&](const Cl& cl, uint32_t d) -> arrow::Result<bool> {
    for (size_t p : cl.parts) {
      ARROW_RETURN_NOT_OK(parts[p].c.Seek(d));
      ARROW_ASSIGN_OR_RAISE(const uint32_t r, parts[p].c.Row());
      if (r != d) return false;
    }
    return true;
  };
  std::vector<float> contrib(clauses_.size(), 0.0f);
  // Term clauses only, every one required: a range is matched, then scored.
  const bool batch =
      optional.empty() && excluded.empty() &&
      std::none_of(required.begin(), required.end(), [](const Cl& cl) { return cl.phrase; });
  std::vector<uint32_t> match_idx(batch ? parts.size() * kTextPostingBlockDocs : 0);
  uint32_t match_row[kTextPostingBlockDocs];
  float match_nd[kTextPostingBlockDocs], match_score[kTextPostingBlockDocs];
  TopHits top(k);
  uint32_t target = 0;
  // The rows [.., range_end] lie in the current block of every required
  // term, and no row there gets more than `bound`; recomputed once `target`
  // passes range_end (until then no term changes block).
  uint32_t range_end = 0;
  float bound = 0;
  bool have_range = false;
  while (!lead.empty()) {
    if (!have_range || target > range_end) {
      bound = optional_ub;
      range_end = UINT32_MAX;
      bool exhausted = false;
      for (size_t p : lead) {
        parts[p].c.SkipBlocksBefore(target);
        if (parts[p].c.done()) {
          exhausted = true;
          break;
        }
        range_end = std::min(range_end, parts[p].c.block().last_row);
      }
      if (exhausted) break;
      for (Cl& cl : required) {
        cl.block_ub = block_bound(cl);
        bound += cl.block_ub;
      }
      have_range = true;
    }
    if (top.full() && bound * kMargin < top.kth()) {
      if (range_end == UINT32_MAX) break;
      target = range_end + 1;
      continue;
    }
    // The lead's first row from target on; past the range: bound the next
    // range first.
    BlockCursor& first = parts[lead[0]].c;
    ARROW_RETURN_NOT_OK(first.Seek(target));
    ARROW_ASSIGN_OR_RAISE(const uint32_t d0, first.Row());
    if (d0 == UINT32_MAX) break;
    if (d0 > range_end) {
      target = d0;
      continue;
    }
    if (range_end >= norms.size()) {
      return arrow::Status::Invalid("text index: a posting row ", range_end, " past the ",
                                    norms.size(), " rows");
    }
    // Every required term's block holds the rows up to range_end: each is
    // unpacked once and the lead's rows in the range are looked up in them by
    // a merge over the unpacked rows.
    for (size_t i = 1; i < lead.size(); ++i) ARROW_RETURN_NOT_OK(parts[lead[i]].c.Seek(d0));
    const uint32_t* lead_rows = first.rows();
    const uint32_t lead_n = first.block().n;
    if (batch) {
      // Term clauses only, all required: the range's matching rows first
      // (with each term's index in its block), then scored in clause order
      // in loops with no data-dependent branch but the offer.
      uint32_t nm = 0, li = first.index();
      for (; li < lead_n && lead_rows[li] <= range_end; ++li) {
        const uint32_t d = lead_rows[li];
        bool all = true;
        for (size_t i = 1; i < lead.size() && all; ++i) all = parts[lead[i]].c.AdvanceTo(d);
        if (!all || (allow != nullptr && !allow->Contains(d))) continue;
        match_row[nm] = d;
        for (size_t i = 0; i < lead.size(); ++i) {
          match_idx[lead[i] * kTextPostingBlockDocs + nm] = i == 0 ? li : parts[lead[i]].c.index();
        }
        ++nm;
      }
      first.set_index(std::min(li, lead_n - 1));  // rows past the range stay for the next
      uint32_t bad = 0;
      for (uint32_t j = 0; j < nm; ++j) {
        match_nd[j] = norm[norms[match_row[j]]];
        match_score[j] = 0;
      }
      for (const Cl& cl : required) {  // clause order: the general path's sum
        const size_t p = cl.parts[0];
        const PostingBlock& blk = parts[p].c.block();
        const uint32_t* idx = match_idx.data() + p * kTextPostingBlockDocs;
        for (uint32_t j = 0; j < nm; ++j) {
          uint32_t f = 0;
          bad |= TextIndex::TryBlockTf(blk, idx[j], &f) ? 0u : 1u;
          bad |= norms[match_row[j]] < blk.min_norm ? 1u : 0u;
          const auto tf = static_cast<float>(f);
          const float share = cl.w * (tf / (tf + match_nd[j]));
          bad |= share > cl.block_ub ? 1u : 0u;
          match_score[j] += share;
        }
      }
      if (bad != 0) {
        // Name the first row at fault, as the row-by-row path would.
        for (uint32_t j = 0; j < nm; ++j) {
          for (const Cl& cl : required) {
            Part& part = parts[cl.parts[0]];
            part.c.set_index(match_idx[cl.parts[0] * kTextPostingBlockDocs + j]);
            ARROW_RETURN_NOT_OK(check_norm(part, match_row[j]));
            ARROW_ASSIGN_OR_RAISE(const uint32_t f, part.c.tf());
            const auto tf = static_cast<float>(f);
            if (cl.w * (tf / (tf + match_nd[j])) > cl.block_ub) return AboveBound(match_row[j]);
          }
        }
      }
      for (uint32_t j = 0; j < nm; ++j) {
        if (!top.full() || match_score[j] >= top.kth()) top.Offer({match_row[j], match_score[j]});
      }
      if (range_end == UINT32_MAX) break;
      target = range_end + 1;
      continue;
    }
    for (uint32_t li = first.index(); li < lead_n && lead_rows[li] <= range_end; ++li) {
      if (top.full() && bound * kMargin < top.kth()) break;  // the k-th score rose past it
      const uint32_t d = lead_rows[li];
      bool all = true;
      for (size_t i = 1; i < lead.size() && all; ++i) all = parts[lead[i]].c.AdvanceTo(d);
      if (!all) continue;
      first.set_index(li);
      if (allow != nullptr && !allow->Contains(d)) continue;
      const float nd = norm[norms[d]];
      // A term clause's share of the score; a phrase's bound: it occurs in
      // the row at most as often as its least frequent word there, so its
      // positions are read only if the row can still reach the k-th score.
      float partial = 0, phrase_ub = 0;
      for (const Cl& cl : required) {
        uint32_t f = UINT32_MAX;
        for (size_t p : cl.parts) {
          Part& part = parts[p];
          uint32_t fp = 0;
          if (norms[d] < part.c.block().min_norm || !part.c.TryTf(&fp)) {
            ARROW_RETURN_NOT_OK(check_norm(part, d));
            ARROW_ASSIGN_OR_RAISE(fp, part.c.tf());  // says what is wrong
          }
          f = std::min(f, fp);
        }
        const auto tf = static_cast<float>(f);
        const float share = cl.w * (tf / (tf + nd));
        if (share > cl.block_ub) return AboveBound(d);
        if (cl.phrase) {
          phrase_ub += share;
        } else {
          contrib[cl.clause] = share;
          partial += share;
        }
      }
      bool keep = !top.full() || (partial + phrase_ub + optional_ub) * kMargin >= top.kth();
      for (size_t i = 0; i < required.size() && keep; ++i) {
        const Cl& cl = required[i];
        if (!cl.phrase) continue;
        ARROW_ASSIGN_OR_RAISE(const uint32_t f, tf_at(cl, d));
        const auto tf = static_cast<float>(f);
        contrib[cl.clause] = cl.w * (tf / (tf + nd));
        partial += contrib[cl.clause];
        keep = f > 0;
      }
      keep = keep && (!top.full() || (partial + optional_ub) * kMargin >= top.kth());
      for (size_t i = 0; i < optional.size() && keep; ++i) {
        ARROW_ASSIGN_OR_RAISE(const bool there, holds(optional[i], d));
        if (!there) continue;
        ARROW_ASSIGN_OR_RAISE(const uint32_t f, tf_at(optional[i], d));
        const auto tf = static_cast<float>(f);
        if (f > 0) contrib[optional[i].clause] = optional[i].w * (tf / (tf + nd));
      }
      for (size_t i = 0; i < excluded.size() && keep; ++i) {
        ARROW_ASSIGN_OR_RAISE(const bool there, holds(excluded[i], d));
        if (!there) continue;
        ARROW_ASSIGN_OR_RAISE(const uint32_t f, tf_at(excluded[i], d));
        keep = f == 0;
      }
      if (keep) {
        float score = 0;  // in clause order, as the general path adds
        for (size_t ci = 0; ci < clauses_.size(); ++ci) score += contrib[ci];
        top.Offer({d, score});
      }
      std::fill(contrib.begin(), contrib.end(), 0.0f);
    }
    if (range_end == UINT32_MAX) break;
    target = range_end + 1;
  }
  return std::move(top).Sorted();
}

}  // namespace ailake::index
