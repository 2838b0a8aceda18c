#include "ailake/index/text_index.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include <arrow/array.h>

#include "ailake/core/checksum.h"
#include "ailake/index/blob.h"

namespace ailake::index {
namespace {

using core::Checksum64;
using core::kChecksumsEnforced;

// Header field offsets (docs/FORMAT.md 3.6).
constexpr size_t kOffBlobBytes = 8, kOffNumDocs = 16, kOffNumTerms = 20, kOffTotalTokens = 24,
                 kOffFlags = 32, kOffAnalyzerLen = 36, kOffAnalyzer = 40, kOffNorms = 48,
                 kOffDictIndex = 56, kOffDict = 64, kOffDictLen = 72, kOffPostings = 80,
                 kOffPostingsLen = 88, kOffPositions = 96, kOffPositionsLen = 104,
                 kOffBodyChecksum = 112, kOffHeaderChecksum = 120;
constexpr uint32_t kFlagPositions = 1;
constexpr size_t kDictIndexEntry = 24;

// Lucene's and Tantivy's one-byte length scale: values below 24 exact, then a
// float with 3 explicit mantissa bits (rounding down).
constexpr uint32_t kNormFreeValues = 24;
uint32_t LongToInt4(uint32_t i) {
  const int bits = 32 - std::countl_zero(i);
  if (bits < 4) return i;
  const int shift = bits - 4;
  return ((i >> shift) & 7u) | (static_cast<uint32_t>(shift + 1) << 3);
}
uint32_t Int4ToLong(uint32_t i) {
  const uint32_t bits = i & 7u;
  const int shift = static_cast<int>(i >> 3) - 1;
  return shift < 0 ? bits : (bits | 8u) << shift;
}

void PutVarint(std::vector<uint8_t>* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

// Reads the LEB128 varint at p (before end) and advances p; false when it
// runs past end or does not fit 64 bits. The one-byte case is inlined.
inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  if (p < end && *p < 0x80) [[likely]] {
    *v = *p++;
    return true;
  }
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    const uint8_t b = *p++;
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (shift == 63 && b > 1) return false;
      *v = r;
      return true;
    }
  }
  return false;
}

// A bounded cursor over one region; `base` is the region's blob offset, for
// errors.
struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  uint64_t base;
  const uint8_t* start;
  uint64_t at() const { return base + static_cast<uint64_t>(p - start); }
  arrow::Status Varint(uint64_t* v, const char* what) {
    const uint8_t* at_start = p;
    if (ReadVarint(p, end, v)) [[likely]] {
      return arrow::Status::OK();
    }
    p = at_start;
    return arrow::Status::Invalid("text index: ", what,
                                  " is not a valid varint inside its region at blob offset ", at());
  }
  arrow::Status Varint32(uint32_t* v, const char* what) {
    uint64_t w;
    ARROW_RETURN_NOT_OK(Varint(&w, what));
    if (w > UINT32_MAX) {
      return arrow::Status::Invalid("text index: ", what, " ", w,
                                    " is out of range at blob offset ", at());
    }
    *v = static_cast<uint32_t>(w);
    return arrow::Status::OK();
  }
  arrow::Status Bytes(size_t n, const uint8_t** out, const char* what) {
    if (static_cast<size_t>(end - p) < n) {
      return arrow::Status::Invalid("text index: ", what, " of ", n,
                                    " bytes runs past its region at blob offset ", at());
    }
    *out = p;
    p += n;
    return arrow::Status::OK();
  }
};

uint32_t BitWidth(uint32_t v) { return 32 - static_cast<uint32_t>(std::countl_zero(v)); }

size_t PackedBytes(size_t n, uint32_t bits) { return (n * bits + 7) / 8; }

// Appends n values of `bits` bits each, little-endian bit order.
void Pack(const uint32_t* v, size_t n, uint32_t bits, std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + PackedBytes(n, bits), 0);
  if (bits == 0) return;
  uint8_t* p = out->data() + at;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t bit = uint64_t{i} * bits;
    uint64_t x = uint64_t{v[i]} << (bit & 7);
    for (size_t b = bit >> 3; x != 0; ++b, x >>= 8) p[b] |= static_cast<uint8_t>(x);
  }
}

// Reads n values of `bits` bits from the nbytes = PackedBytes(n, bits) at p.
// Values [from, to) of width B, each read with one 8-byte load (the caller
// keeps every load inside the buffer). B is a constant, so the shifts and
// offsets of an unrolled loop are too.
template <uint32_t B>
void UnpackWide(const uint8_t* p, size_t from, size_t to, uint32_t* out) {
  constexpr uint64_t kMask = (uint64_t{1} << B) - 1;
  for (size_t i = from; i < to; ++i) {
    const uint64_t bit = uint64_t{i} * B;
    uint64_t w;
    std::memcpy(&w, p + (bit >> 3), 8);
    out[i] = static_cast<uint32_t>((w >> (bit & 7)) & kMask);
  }
}

using UnpackFn = void (*)(const uint8_t*, size_t, size_t, uint32_t*);

template <size_t... B>
constexpr std::array<UnpackFn, sizeof...(B)> UnpackTable(std::index_sequence<B...>) {
  return {&UnpackWide<static_cast<uint32_t>(B + 1)>...};
}

// Reads n values of `bits` bits from the nbytes = PackedBytes(n, bits) at p.
void Unpack(const uint8_t* p, size_t nbytes, uint32_t bits, size_t n, uint32_t* out) {
  if (bits == 0) {
    std::fill(out, out + n, 0u);
    return;
  }
  static constexpr auto kTable = UnpackTable(std::make_index_sequence<32>());
  // Values whose 8-byte load stays inside: i * bits / 8 + 8 <= nbytes.
  const size_t safe = nbytes < 8 ? 0 : std::min(n, (nbytes - 8) * 8 / bits + 1);
  kTable[bits - 1](p, 0, safe, out);
  if (safe == n) return;
  // The rest start in the last 8 bytes: copied once into a zeroed buffer, so
  // their loads are fixed 8-byte loads too.
  const size_t first = safe * bits >> 3;
  uint8_t tail[16] = {};
  std::memcpy(tail, p + first, nbytes - first);
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (size_t i = safe; i < n; ++i) {
    const uint64_t bit = uint64_t{i} * bits - first * 8;
    uint64_t w;
    std::memcpy(&w, tail + (bit >> 3), 8);
    out[i] = static_cast<uint32_t>((w >> (bit & 7)) & mask);
  }
}

}  // namespace

uint8_t FieldNormCode(uint32_t length) {
  length = std::min<uint32_t>(length, INT32_MAX);  // the scale's top: code 255
  if (length < kNormFreeValues) return static_cast<uint8_t>(length);
  return static_cast<uint8_t>(kNormFreeValues + LongToInt4(length - kNormFreeValues));
}

uint32_t FieldNormValue(uint8_t code) {
  if (code < kNormFreeValues) return code;
  return kNormFreeValues + Int4ToLong(code - kNormFreeValues);
}

// The score bound points of one posting block (rows' frequencies and length
// codes): the Pareto front of (tf high, code low), tf and code strictly
// decreasing; while it has more than kTextBlockBoundPoints points, two
// neighbours (t1, c1), (t2, c2) (t1 > t2, c1 > c2) become (t1, c2), which
// bounds both, choosing the pair whose merged point scores lowest under BM25
// with the file's average length (a choice of tightness only: any merge keeps
// every row bounded).
struct BoundPoint {
  uint32_t tf;
  uint8_t norm;
};
std::vector<BoundPoint> BlockBoundPoints(const uint32_t* tfs, const uint8_t* codes, size_t n,
                                         float avg_len) {
  std::vector<BoundPoint> rows(n);
  for (size_t i = 0; i < n; ++i) rows[i] = {tfs[i], codes[i]};
  std::sort(rows.begin(), rows.end(), [](const BoundPoint& a, const BoundPoint& b) {
    return a.tf != b.tf ? a.tf > b.tf : a.norm < b.norm;
  });
  std::vector<BoundPoint> front;
  for (const BoundPoint& r : rows) {
    if (front.empty() || r.norm < front.back().norm) {
      if (!front.empty() && front.back().tf == r.tf) continue;  // (sorted: never)
      front.push_back(r);
    }
  }
  auto score = [&](const BoundPoint& p) {
    const float k1 = 1.2f, b = 0.75f;
    const auto tf = static_cast<float>(p.tf);
    const auto len = static_cast<float>(FieldNormValue(p.norm));
    return tf / (tf + k1 * (1.0f - b + (avg_len > 0 ? b * len / avg_len : 0.0f)));
  };
  while (front.size() > kTextBlockBoundPoints) {
    size_t best = 0;
    float best_score = std::numeric_limits<float>::infinity();
    for (size_t i = 0; i + 1 < front.size(); ++i) {
      const float sc = score({front[i].tf, front[i + 1].norm});
      if (sc < best_score) {
        best_score = sc;
        best = i;
      }
    }
    front[best].norm = front[best + 1].norm;
    front.erase(front.begin() + static_cast<ptrdiff_t>(best) + 1);
  }
  return front;
}

// ---------------------------------------------------------------- builder

TextIndexBuilder::TextIndexBuilder(std::shared_ptr<const text::Analyzer> analyzer,
                                   bool with_positions)
    : analyzer_(std::move(analyzer)), with_positions_(with_positions) {}

TextIndexBuilder::~TextIndexBuilder() = default;

arrow::Status TextIndexBuilder::AddRow(std::span<const std::string_view> values) {
  if (num_rows_ == UINT32_MAX) {
    return arrow::Status::Invalid("text index: more than 4294967295 rows in one file");
  }
  scratch_.clear();
  uint32_t next = 0;
  for (std::string_view v : values) {
    ARROW_RETURN_NOT_OK(analyzer_->Analyze(v, &scratch_, &next));
  }
  const uint32_t row = num_rows_++;
  const auto length = static_cast<uint32_t>(scratch_.size());
  norms_.push_back(FieldNormCode(length));
  total_tokens_ += length;
  for (const auto& t : scratch_) {
    TermData& d = terms_[t.text];
    if (d.docs.empty() || d.docs.back() != row) {
      d.docs.push_back(row);
      d.tfs.push_back(0);
    }
    ++d.tfs.back();
    if (with_positions_) d.positions.push_back(t.position);
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> TextIndexBuilder::Finish() {
  std::vector<std::string_view> sorted;
  sorted.reserve(terms_.size());
  for (const auto& [term, data] : terms_) sorted.push_back(term);
  std::sort(sorted.begin(), sorted.end());
  if (sorted.size() > UINT32_MAX) return arrow::Status::Invalid("text index: too many terms");

  std::vector<uint8_t> dict, postings, positions, dict_index;
  std::vector<uint8_t> block_pos;
  uint32_t gaps[kTextPostingBlockDocs], tfm1[kTextPostingBlockDocs];
  uint8_t codes[kTextPostingBlockDocs];
  const float avg_len = num_rows_ > 0 ? static_cast<float>(total_tokens_) / num_rows_ : 0.0f;
  std::string_view prev;
  for (size_t t = 0; t < sorted.size(); ++t) {
    const TermData& d = terms_.find(std::string(sorted[t]))->second;
    if (t % kTextDictBlockTerms == 0) {
      for (uint64_t off :
           {uint64_t{dict.size()}, uint64_t{postings.size()}, uint64_t{positions.size()}}) {
        uint8_t b[8];
        std::memcpy(b, &off, 8);
        dict_index.insert(dict_index.end(), b, b + 8);
      }
      prev = {};
    }
    const size_t post_start = postings.size(), pos_start = positions.size();
    int64_t prev_last = -1;
    size_t pos_i = 0;
    for (size_t b0 = 0; b0 < d.docs.size(); b0 += kTextPostingBlockDocs) {
      const size_t b1 = std::min(d.docs.size(), b0 + kTextPostingBlockDocs);
      const size_t n = b1 - b0;
      block_pos.clear();
      uint32_t max_tf = 0, max_gap = 0, max_tfm1 = 0;
      uint8_t min_norm = 255;
      int64_t p = prev_last;
      for (size_t i = b0; i < b1; ++i) {
        gaps[i - b0] = static_cast<uint32_t>(d.docs[i] - p - 1);
        tfm1[i - b0] = d.tfs[i] - 1;
        p = d.docs[i];
        max_gap = std::max(max_gap, gaps[i - b0]);
        max_tfm1 = std::max(max_tfm1, tfm1[i - b0]);
        max_tf = std::max(max_tf, d.tfs[i]);
        min_norm = std::min(min_norm, norms_[d.docs[i]]);
        codes[i - b0] = norms_[d.docs[i]];
      }
      const std::vector<BoundPoint> bounds = BlockBoundPoints(&d.tfs[b0], codes, n, avg_len);
      if (with_positions_) {
        for (size_t i = b0; i < b1; ++i) {
          int64_t pp = -1;
          for (uint32_t j = 0; j < d.tfs[i]; ++j) {
            const uint32_t pos = d.positions[pos_i++];
            PutVarint(&block_pos, static_cast<uint64_t>(pos - pp - 1));
            pp = pos;
          }
        }
      }
      const uint32_t gap_bits = BitWidth(max_gap), tf_bits = BitWidth(max_tfm1);
      PutVarint(&postings, static_cast<uint64_t>(d.docs[b1 - 1] - prev_last - 1));
      PutVarint(&postings, max_tf);
      postings.push_back(min_norm);
      postings.push_back(static_cast<uint8_t>(gap_bits));
      postings.push_back(static_cast<uint8_t>(tf_bits | (bounds.size() - 1) << 6));
      for (size_t i = 0; i + 1 < bounds.size(); ++i) {
        postings.push_back(bounds[i].norm);
        PutVarint(&postings, bounds[i + 1].tf);
      }
      PutVarint(&postings, block_pos.size());
      Pack(gaps, n, gap_bits, &postings);
      Pack(tfm1, n, tf_bits, &postings);
      positions.insert(positions.end(), block_pos.begin(), block_pos.end());
      prev_last = d.docs[b1 - 1];
    }
    const std::string_view term = sorted[t];
    size_t shared = 0;
    while (shared < prev.size() && shared < term.size() && prev[shared] == term[shared]) ++shared;
    PutVarint(&dict, shared);
    PutVarint(&dict, term.size() - shared);
    dict.insert(dict.end(), term.begin() + static_cast<ptrdiff_t>(shared), term.end());
    PutVarint(&dict, d.docs.size());
    PutVarint(&dict, postings.size() - post_start);
    PutVarint(&dict, positions.size() - pos_start);
    prev = term;
  }

  const std::string analyzer = analyzer_->config().Serialize();
  BlobWriter w(kTextIndexHeaderBytes);
  w.PutU32(0, kTextIndexMagic);
  w.PutU16(4, kTextIndexVersion);
  w.PutU16(6, kTextIndexHeaderBytes);
  w.PutU32(kOffNumDocs, num_rows_);
  w.PutU32(kOffNumTerms, static_cast<uint32_t>(sorted.size()));
  w.PutU64(kOffTotalTokens, total_tokens_);
  w.PutU32(kOffFlags, with_positions_ ? kFlagPositions : 0);
  w.PutU32(kOffAnalyzerLen, static_cast<uint32_t>(analyzer.size()));
  w.PutU64(kOffAnalyzer, w.Append(analyzer.data(), analyzer.size()));
  w.PutU64(kOffNorms, w.Append(norms_.data(), norms_.size()));
  w.PutU64(kOffDictIndex, w.Append(dict_index.data(), dict_index.size()));
  w.PutU64(kOffDict, w.Append(dict.data(), dict.size()));
  w.PutU64(kOffDictLen, dict.size());
  w.PutU64(kOffPostings, w.Append(postings.data(), postings.size()));
  w.PutU64(kOffPostingsLen, postings.size());
  w.PutU64(kOffPositions, w.Append(positions.data(), positions.size()));
  w.PutU64(kOffPositionsLen, positions.size());
  // Pad to the alignment before the blob's size and checksums are final.
  auto& bytes = w.bytes();
  bytes.resize((bytes.size() + kSectionAlign - 1) / kSectionAlign * kSectionAlign);
  w.PutU64(kOffBlobBytes, bytes.size());
  w.PutU64(kOffBodyChecksum,
           Checksum64(bytes.data() + kTextIndexHeaderBytes, bytes.size() - kTextIndexHeaderBytes));
  w.PutU64(kOffHeaderChecksum, Checksum64(bytes.data(), kOffHeaderChecksum));
  terms_.clear();
  norms_.clear();
  num_rows_ = 0;
  total_tokens_ = 0;
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::ResizableBuffer> buf,
                        arrow::AllocateResizableBuffer(static_cast<int64_t>(bytes.size())));
  std::memcpy(buf->mutable_data(), bytes.data(), bytes.size());
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

// ---------------------------------------------------------------- reader

arrow::Result<std::shared_ptr<const TextIndex>> TextIndex::Load(
    std::shared_ptr<arrow::Buffer> blob) {
  if (blob == nullptr || blob->size() < static_cast<int64_t>(kTextIndexHeaderBytes)) {
    return arrow::Status::Invalid("text index: blob of ", blob ? blob->size() : 0,
                                  " bytes is shorter than its 128-byte header");
  }
  const uint8_t* b = blob->data();
  const auto size = static_cast<uint64_t>(blob->size());
  if (LoadU32(b) != kTextIndexMagic) {
    return arrow::Status::Invalid("text index: bad magic at blob offset 0 (expected AITX)");
  }
  uint16_t version, header_bytes;
  std::memcpy(&version, b + 4, 2);
  std::memcpy(&header_bytes, b + 6, 2);
  if (version != 1 && version != kTextIndexVersion) {
    return arrow::Status::Invalid("text index: version ", version, " is not supported (1, 2)");
  }
  if (header_bytes != kTextIndexHeaderBytes) {
    return arrow::Status::Invalid("text index: header_bytes ", header_bytes, " (expected 128)");
  }
  if (LoadU64(b + kOffBlobBytes) != size) {
    return arrow::Status::Invalid("text index: header says ", LoadU64(b + kOffBlobBytes),
                                  " bytes, the blob has ", size);
  }
  if (Checksum64(b, kOffHeaderChecksum) != LoadU64(b + kOffHeaderChecksum) && kChecksumsEnforced) {
    return arrow::Status::Invalid("text index: header checksum mismatch (blob bytes [0, 120))");
  }
  if (Checksum64(b + kTextIndexHeaderBytes, size - kTextIndexHeaderBytes) !=
          LoadU64(b + kOffBodyChecksum) &&
      kChecksumsEnforced) {
    return arrow::Status::Invalid("text index: body checksum mismatch (blob bytes [128, ", size,
                                  "))");
  }
  const uint32_t flags = LoadU32(b + kOffFlags);
  if ((flags & ~kFlagPositions) != 0) {
    return arrow::Status::Invalid("text index: unknown flags 0x", std::to_string(flags));
  }
  std::shared_ptr<TextIndex> idx(new TextIndex());
  idx->num_docs_ = LoadU32(b + kOffNumDocs);
  idx->num_terms_ = LoadU32(b + kOffNumTerms);
  idx->total_tokens_ = LoadU64(b + kOffTotalTokens);
  idx->has_positions_ = (flags & kFlagPositions) != 0;
  idx->version_ = version;
  const uint64_t num_blocks =
      (uint64_t{idx->num_terms_} + kTextDictBlockTerms - 1) / kTextDictBlockTerms;
  struct Region {
    const char* name;
    uint64_t off, len;
  };
  const Region regions[] = {
      {"analyzer", LoadU64(b + kOffAnalyzer), LoadU32(b + kOffAnalyzerLen)},
      {"row lengths", LoadU64(b + kOffNorms), idx->num_docs_},
      {"dictionary index", LoadU64(b + kOffDictIndex), num_blocks * kDictIndexEntry},
      {"dictionary", LoadU64(b + kOffDict), LoadU64(b + kOffDictLen)},
      {"postings", LoadU64(b + kOffPostings), LoadU64(b + kOffPostingsLen)},
      {"positions", LoadU64(b + kOffPositions), LoadU64(b + kOffPositionsLen)},
  };
  uint64_t end = kTextIndexHeaderBytes;
  for (const auto& r : regions) {
    if (r.off < end || r.off % kSectionAlign != 0 || r.off > size || r.len > size - r.off) {
      return arrow::Status::Invalid("text index: ", r.name, " region [", r.off, ", +", r.len,
                                    ") is not inside the blob after the previous one (blob of ",
                                    size, " bytes)");
    }
    end = r.off + r.len;
  }
  if (!idx->has_positions_ && regions[5].len != 0) {
    return arrow::Status::Invalid("text index: positions stored but the flag says none");
  }
  if (idx->num_docs_ > 0 && idx->total_tokens_ > uint64_t{idx->num_docs_} * UINT32_MAX) {
    return arrow::Status::Invalid("text index: total_tokens ", idx->total_tokens_, " exceeds what ",
                                  idx->num_docs_, " rows can hold");
  }
  auto cfg = text::AnalyzerConfig::Parse(
      {reinterpret_cast<const char*>(b + regions[0].off), regions[0].len});
  if (!cfg.ok()) {
    return arrow::Status::Invalid("text index: analyzer record: ", cfg.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(idx->analyzer_, text::Analyzer::Make(*std::move(cfg)));
  idx->norms_ = b + regions[1].off;
  idx->dict_index_ = b + regions[2].off;
  idx->dict_ = b + regions[3].off;
  idx->dict_len_ = regions[3].len;
  idx->dict_base_ = regions[3].off;
  idx->postings_ = b + regions[4].off;
  idx->postings_len_ = regions[4].len;
  idx->postings_base_ = regions[4].off;
  idx->positions_ = b + regions[5].off;
  idx->positions_len_ = regions[5].len;
  idx->positions_base_ = regions[5].off;
  idx->blob_ = std::move(blob);
  return std::shared_ptr<const TextIndex>(std::move(idx));
}

// Calls fn(term, info) for each term of dictionary block `block` in order;
// fn returns false to stop.
template <typename Fn>
arrow::Status TextIndex::ScanBlock(uint32_t block, Fn&& fn) const {
  const uint8_t* e = dict_index_ + size_t{block} * kDictIndexEntry;
  const uint64_t dict_off = LoadU64(e), post_off = LoadU64(e + 8), pos_off = LoadU64(e + 16);
  if (dict_off > dict_len_) {
    return arrow::Status::Invalid("text index: dictionary block ", block, " offset ", dict_off,
                                  " is past the dictionary (", dict_len_, " bytes)");
  }
  Cursor c{dict_ + dict_off, dict_ + dict_len_, dict_base_ + dict_off, dict_ + dict_off};
  const uint32_t first = block * kTextDictBlockTerms;
  const uint32_t n = std::min(kTextDictBlockTerms, num_terms_ - first);
  auto bad_varint = [&] {
    return arrow::Status::Invalid(
        "text index: dictionary entry runs past its region at blob offset ", c.at());
  };
  std::string term;
  TextTermInfo info;
  info.postings_offset = post_off;
  info.positions_offset = pos_off;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t shared, suffix, df;
    if (!ReadVarint(c.p, c.end, &shared) || !ReadVarint(c.p, c.end, &suffix)) [[unlikely]] {
      return bad_varint();
    }
    if (shared > term.size() || (i == 0 && shared != 0)) {
      return arrow::Status::Invalid("text index: shared prefix ", shared,
                                    " longer than the previous term at blob offset ", c.at());
    }
    const uint8_t* s = nullptr;
    ARROW_RETURN_NOT_OK(c.Bytes(suffix, &s, "term"));
    // With the shared prefix equal, the term follows the previous one when
    // its suffix follows the previous one's tail.
    const std::string_view tail(reinterpret_cast<const char*>(s), suffix);
    const bool ordered = i == 0 || std::string_view(term).substr(shared) < tail;
    term.resize(shared);
    term.append(tail);
    if (!ordered) {
      return arrow::Status::Invalid("text index: terms out of order at blob offset ", c.at());
    }
    if (i > 0) {
      info.postings_offset += info.postings_bytes;
      info.positions_offset += info.positions_bytes;
    }
    if (!ReadVarint(c.p, c.end, &df) || !ReadVarint(c.p, c.end, &info.postings_bytes) ||
        !ReadVarint(c.p, c.end, &info.positions_bytes)) [[unlikely]] {
      return bad_varint();
    }
    info.df = static_cast<uint32_t>(std::min<uint64_t>(df, UINT32_MAX));
    if (df == 0 || df > num_docs_ || info.postings_offset > postings_len_ ||
        info.postings_bytes > postings_len_ - info.postings_offset ||
        info.positions_offset > positions_len_ ||
        info.positions_bytes > positions_len_ - info.positions_offset) {
      return arrow::Status::Invalid(
          "text index: term entry (df ", df, ", postings +", info.postings_offset, " len ",
          info.postings_bytes, ", positions +", info.positions_offset, " len ",
          info.positions_bytes, ") out of bounds at blob offset ", c.at());
    }
    if (!fn(std::string_view(term), info)) break;
  }
  return arrow::Status::OK();
}

arrow::Status TextIndex::ReadBlockFirstTerm(uint32_t block, std::string* term) const {
  bool got = false;
  ARROW_RETURN_NOT_OK(ScanBlock(block, [&](std::string_view t, const TextTermInfo&) {
    term->assign(t);
    got = true;
    return false;
  }));
  if (!got) return arrow::Status::Invalid("text index: empty dictionary block ", block);
  return arrow::Status::OK();
}

arrow::Result<uint32_t> TextIndex::LastBlockAtOrBefore(std::string_view key) const {
  const uint32_t blocks = (num_terms_ + kTextDictBlockTerms - 1) / kTextDictBlockTerms;
  uint32_t lo = 0, hi = blocks;
  std::string first;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    ARROW_RETURN_NOT_OK(ReadBlockFirstTerm(mid, &first));
    if (first <= key) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

arrow::Result<std::optional<TextTermInfo>> TextIndex::Find(std::string_view term) const {
  if (num_terms_ == 0) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(const uint32_t lo, LastBlockAtOrBefore(term));
  std::optional<TextTermInfo> found;
  ARROW_RETURN_NOT_OK(ScanBlock(lo, [&](std::string_view t, const TextTermInfo& info) {
    if (t == term) found = info;
    return t < term;
  }));
  return found;
}

arrow::Result<std::vector<std::pair<std::string, TextTermInfo>>> TextIndex::TermsWithPrefix(
    std::string_view prefix, size_t limit, bool* truncated) const {
  std::vector<std::pair<std::string, TextTermInfo>> out;
  *truncated = false;
  if (num_terms_ == 0) return out;
  const uint32_t blocks = (num_terms_ + kTextDictBlockTerms - 1) / kTextDictBlockTerms;
  ARROW_ASSIGN_OR_RAISE(const uint32_t lo, LastBlockAtOrBefore(prefix));
  bool done = false;
  for (uint32_t blk = lo; blk < blocks && !done; ++blk) {
    ARROW_RETURN_NOT_OK(ScanBlock(blk, [&](std::string_view t, const TextTermInfo& info) {
      if (t < prefix) return true;
      if (!t.starts_with(prefix)) {
        done = true;
        return false;
      }
      if (out.size() == limit) {
        *truncated = true;
        done = true;
        return false;
      }
      out.emplace_back(std::string(t), info);
      return true;
    }));
  }
  return out;
}

arrow::Status TextIndex::ReadBlocks(const TextTermInfo& term,
                                    std::vector<PostingBlock>* out) const {
  out->clear();
  if (term.df == 0 || term.df > num_docs_ || term.postings_offset > postings_len_ ||
      term.postings_bytes > postings_len_ - term.postings_offset ||
      term.positions_offset > positions_len_ ||
      term.positions_bytes > positions_len_ - term.positions_offset) {
    return arrow::Status::Invalid("text index: term entry out of bounds");
  }
  const uint8_t* ps = postings_ + term.postings_offset;
  Cursor c{ps, ps + term.postings_bytes, postings_base_ + term.postings_offset, ps};
  out->reserve((term.df + kTextPostingBlockDocs - 1) / kTextPostingBlockDocs);
  int64_t prev_last = -1;
  uint64_t seen = 0, pos_total = 0;
  while (seen < term.df) {
    PostingBlock blk;
    blk.prev_last = prev_last;
    blk.n = static_cast<uint32_t>(std::min<uint64_t>(kTextPostingBlockDocs, term.df - seen));
    uint64_t last_delta = 0, max_tf = 0, pos_bytes = 0;
    // The header's fields, read without a status each (a search reads every
    // header of its terms); the first that does not fit names itself.
    const char* bad = nullptr;
    auto varint = [&](uint64_t* v, const char* what) {
      if (!ReadVarint(c.p, c.end, v)) [[unlikely]] {
        bad = what;
        return false;
      }
      return true;
    };
    auto byte = [&](uint8_t* v, const char* what) {
      if (c.p == c.end) [[unlikely]] {
        bad = what;
        return false;
      }
      *v = *c.p++;
      return true;
    };
    uint8_t f_byte = 0;
    if (varint(&last_delta, "block last row") && varint(&max_tf, "block max tf") &&
        byte(&blk.min_norm, "block length code") && byte(&blk.gap_bits, "block gap bit width") &&
        byte(&f_byte, "block frequency bit width")) {
      blk.tf_bits = f_byte & 63;
      blk.bounds = version_ >= 2 ? static_cast<uint8_t>((f_byte >> 6) + 1) : 1;
      if (version_ < 2) blk.tf_bits = f_byte;  // over 32: refused below
      blk.bound_tf[0] = static_cast<uint32_t>(std::min<uint64_t>(max_tf, UINT32_MAX));
      for (uint32_t i = 0; i + 1 < blk.bounds && bad == nullptr; ++i) {
        uint64_t tf = 0;
        if (!byte(&blk.bound_norm[i], "block bound length code") ||
            !varint(&tf, "block bound tf")) {
          break;
        }
        const uint8_t code = blk.bound_norm[i];
        if (code <= blk.min_norm || tf == 0 || tf >= blk.bound_tf[i] ||
            (i > 0 && code >= blk.bound_norm[i - 1])) {
          return arrow::Status::Invalid(
              "text index: posting block bound point ", i + 1, " (tf ", tf, ", length code ",
              int{code}, ") does not fall below the one before at blob offset ", c.at());
        }
        blk.bound_tf[i + 1] = static_cast<uint32_t>(tf);
      }
      blk.bound_norm[blk.bounds - 1] = blk.min_norm;
      if (bad == nullptr) varint(&pos_bytes, "block position bytes");
    }
    if (bad != nullptr) {
      return arrow::Status::Invalid(
          "text index: ", bad, " runs past its region or is not a valid varint at blob offset ",
          c.at());
    }
    const uint64_t last = static_cast<uint64_t>(prev_last + 1) + last_delta;
    if (last_delta >= num_docs_ || last >= num_docs_ ||
        last - static_cast<uint64_t>(prev_last + 1) + 1 < blk.n || max_tf == 0 ||
        max_tf > UINT32_MAX || blk.gap_bits > 32 || blk.tf_bits > 32) {
      return arrow::Status::Invalid("text index: posting block header (last row ", last,
                                    ", max tf ", max_tf, ", bit widths ", int{blk.gap_bits}, "/",
                                    int{blk.tf_bits}, ") invalid at blob offset ", c.at());
    }
    blk.last_row = static_cast<uint32_t>(last);
    blk.max_tf = static_cast<uint32_t>(max_tf);
    ARROW_RETURN_NOT_OK(c.Bytes(PackedBytes(blk.n, blk.gap_bits) + PackedBytes(blk.n, blk.tf_bits),
                                &blk.data, "packed block"));
    if (has_positions_) {
      if (pos_bytes > term.positions_bytes - pos_total) {
        return arrow::Status::Invalid("text index: positions blocks run past the term's ",
                                      term.positions_bytes, " bytes at blob offset ", c.at());
      }
    } else if (pos_bytes != 0) {
      return arrow::Status::Invalid("text index: a block has positions in an index without them");
    }
    blk.pos_begin = pos_total;
    pos_total += pos_bytes;
    blk.pos_end = pos_total;
    out->push_back(blk);
    seen += blk.n;
    prev_last = static_cast<int64_t>(last);
  }
  if (c.p != c.end) {
    return arrow::Status::Invalid("text index: postings have ", c.end - c.p,
                                  " bytes past the term's last block at blob offset ", c.at());
  }
  if (pos_total != term.positions_bytes) {
    return arrow::Status::Invalid("text index: the term's positions blocks hold ", pos_total,
                                  " bytes, its entry says ", term.positions_bytes);
  }
  return arrow::Status::OK();
}

arrow::Status TextIndex::DecodeBlock(const PostingBlock& blk, uint32_t* rows, uint32_t* tfs) const {
  const size_t gap_bytes = PackedBytes(blk.n, blk.gap_bits);
  Unpack(blk.data, gap_bytes, blk.gap_bits, blk.n, rows);
  // Rows in 32 bits (one add per row on the dependency chain); the gaps'
  // exact total says whether they end at the header's last row, and so that
  // no sum wrapped.
  auto r = static_cast<uint32_t>(blk.prev_last);  // -1: the first row counts from 0
  uint64_t total = 0;
  for (uint32_t i = 0; i < blk.n; ++i) {
    const uint32_t g = rows[i];
    total += g;
    r += g + 1;
    rows[i] = r;
  }
  const uint64_t end = static_cast<uint64_t>(blk.prev_last + 1) + total + blk.n - 1;
  if (end != blk.last_row) {
    return arrow::Status::Invalid("text index: a posting block's rows end at ", end,
                                  " (its header says ", blk.last_row, ")");
  }
  return tfs != nullptr ? DecodeBlockTfs(blk, tfs) : arrow::Status::OK();
}

arrow::Status TextIndex::DecodeBlockTfs(const PostingBlock& blk, uint32_t* tfs) const {
  const size_t gap_bytes = PackedBytes(blk.n, blk.gap_bits);
  Unpack(blk.data + gap_bytes, PackedBytes(blk.n, blk.tf_bits), blk.tf_bits, blk.n, tfs);
  uint32_t over = 0;
  for (uint32_t i = 0; i < blk.n; ++i) {
    over |= tfs[i] >= blk.max_tf ? 1u : 0u;
    tfs[i] += 1;
  }
  if (over != 0) {
    return arrow::Status::Invalid("text index: a frequency in a posting block exceeds its max ",
                                  blk.max_tf);
  }
  return arrow::Status::OK();
}

arrow::Result<uint32_t> TextIndex::BlockTf(const PostingBlock& blk, uint32_t i) const {
  uint32_t tf = 0;
  if (TryBlockTf(blk, i, &tf)) return tf;
  if (i >= blk.n) {
    return arrow::Status::IndexError("text index: row ", i, " of a posting block of ", blk.n);
  }
  return arrow::Status::Invalid("text index: a frequency in a posting block exceeds its max ",
                                blk.max_tf);
}

arrow::Status TextIndex::Decode(const TextTermInfo& term, bool with_positions,
                                DecodedPostings* out) const {
  out->rows.clear();
  out->tfs.clear();
  out->pos_begin.clear();
  out->positions.clear();
  out->block_pos.clear();
  with_positions = with_positions && has_positions_;
  thread_local std::vector<PostingBlock> blocks;
  ARROW_RETURN_NOT_OK(ReadBlocks(term, &blocks));
  out->rows.resize(term.df);
  out->tfs.resize(term.df);
  size_t at = 0;
  if (has_positions_) out->block_pos.push_back(0);
  for (const auto& blk : blocks) {
    ARROW_RETURN_NOT_OK(DecodeBlock(blk, out->rows.data() + at, out->tfs.data() + at));
    if (has_positions_) out->block_pos.push_back(blk.pos_end);
    if (with_positions) {
      const uint8_t* q = positions_ + term.positions_offset + blk.pos_begin;
      const uint8_t* end = positions_ + term.positions_offset + blk.pos_end;
      for (uint32_t i = 0; i < blk.n; ++i) {
        out->pos_begin.push_back(static_cast<uint32_t>(out->positions.size()));
        int64_t prev = -1;
        for (uint32_t j = 0; j < out->tfs[at + i]; ++j) {
          uint64_t d;
          if (!ReadVarint(q, end, &d) || d > UINT32_MAX ||
              static_cast<uint64_t>(prev + 1) + d > UINT32_MAX) {
            return arrow::Status::Invalid(
                "text index: position past its block or out of range at blob offset ",
                positions_base_ + static_cast<uint64_t>(q - positions_));
          }
          prev += static_cast<int64_t>(d) + 1;
          out->positions.push_back(static_cast<uint32_t>(prev));
        }
      }
      if (q != end) {
        return arrow::Status::Invalid(
            "text index: positions block has bytes left over at blob "
            "offset ",
            positions_base_ + static_cast<uint64_t>(q - positions_));
      }
    }
    at += blk.n;
  }
  if (with_positions) out->pos_begin.push_back(static_cast<uint32_t>(out->positions.size()));
  return arrow::Status::OK();
}

arrow::Status TextIndex::RowPositions(const TextTermInfo& term, const DecodedPostings& decoded,
                                      size_t i, PositionCursor* cursor,
                                      std::vector<uint32_t>* out) const {
  out->clear();
  const size_t b = i / kTextPostingBlockDocs;
  if (!has_positions_ || i >= decoded.rows.size() || b + 1 >= decoded.block_pos.size() ||
      term.positions_offset > positions_len_ ||
      term.positions_bytes > positions_len_ - term.positions_offset ||
      decoded.block_pos[b + 1] > term.positions_bytes) {
    return arrow::Status::Invalid("text index: no positions for row ", i, " of the term");
  }
  if (cursor->block != b || cursor->next_row > i) {
    cursor->block = b;
    cursor->next_row = b * kTextPostingBlockDocs;
    cursor->offset = decoded.block_pos[b];
  }
  uint64_t skip = 0;
  for (size_t j = cursor->next_row; j < i; ++j) skip += decoded.tfs[j];
  ARROW_RETURN_NOT_OK(ReadPositions(positions_ + term.positions_offset, decoded.block_pos[b + 1],
                                    skip, decoded.tfs[i], &cursor->offset, out));
  cursor->next_row = i + 1;
  return arrow::Status::OK();
}

arrow::Status TextIndex::BlockRowPositions(const TextTermInfo& term, const PostingBlock& block,
                                           const uint32_t* tfs, uint32_t from_row, uint32_t i,
                                           uint64_t* offset, std::vector<uint32_t>* out) const {
  out->clear();
  if (!has_positions_ || i >= block.n || from_row > i || block.pos_end < block.pos_begin ||
      term.positions_offset > positions_len_ ||
      term.positions_bytes > positions_len_ - term.positions_offset ||
      block.pos_end > term.positions_bytes || *offset < block.pos_begin) {
    return arrow::Status::Invalid("text index: no positions for row ", i, " of a posting block");
  }
  uint64_t skip = 0;
  for (uint32_t j = from_row; j < i; ++j) skip += tfs[j];
  return ReadPositions(positions_ + term.positions_offset, block.pos_end, skip, tfs[i], offset,
                       out);
}

arrow::Status TextIndex::ReadPositions(const uint8_t* base, uint64_t end_offset, uint64_t skip,
                                       uint32_t count, uint64_t* offset,
                                       std::vector<uint32_t>* out) const {
  const uint8_t* q = base + *offset;
  const uint8_t* end = base + end_offset;
  auto bad = [&] {
    return arrow::Status::Invalid(
        "text index: positions past their block or out of range at "
        "blob offset ",
        positions_base_ + static_cast<uint64_t>(q - positions_));
  };
  if (q > end) return bad();
  // Skip the positions of the rows before: a varint ends at a byte below 0x80.
  // Eight bytes at a time while they end fewer varints than are left to skip.
  while (skip > 8 && end - q >= 8) {
    uint64_t w;
    std::memcpy(&w, q, 8);
    const auto ends = static_cast<uint64_t>(std::popcount(~w & 0x8080808080808080ull));
    if (ends >= skip) break;
    skip -= ends;
    q += 8;
  }
  while (skip > 0) {
    if (q >= end) return bad();
    skip -= *q++ < 0x80 ? 1 : 0;
  }
  int64_t prev = -1;
  for (uint32_t j = 0; j < count; ++j) {
    uint64_t d;
    if (!ReadVarint(q, end, &d) || d > UINT32_MAX ||
        static_cast<uint64_t>(prev + 1) + d > UINT32_MAX) {
      return bad();
    }
    prev += static_cast<int64_t>(d) + 1;
    out->push_back(static_cast<uint32_t>(prev));
  }
  *offset = static_cast<uint64_t>(q - base);
  return arrow::Status::OK();
}

arrow::Status TextIndex::Validate() const {
  const uint32_t blocks = (num_terms_ + kTextDictBlockTerms - 1) / kTextDictBlockTerms;
  std::string last;
  bool have_last = false;
  DecodedPostings scratch;
  std::vector<PostingBlock> term_blocks;
  uint64_t tokens = 0;
  for (uint32_t blk = 0; blk < blocks; ++blk) {
    arrow::Status st;
    ARROW_RETURN_NOT_OK(ScanBlock(blk, [&](std::string_view t, const TextTermInfo& info) {
      if (have_last && !(last < t)) {
        st = arrow::Status::Invalid("text index: dictionary blocks out of order at block ", blk);
        return false;
      }
      last.assign(t);
      have_last = true;
      st = Decode(info, true, &scratch);
      if (!st.ok()) return false;
      if (scratch.rows.size() != info.df) {
        st = arrow::Status::Invalid("text index: term '", t, "' has ", scratch.rows.size(),
                                    " rows, its entry says ", info.df);
        return false;
      }
      for (uint32_t tf : scratch.tfs) tokens += tf;
      // Every row within its block's bounds: no shorter than its smallest
      // length, and covered by a bound point (searches skip blocks by them).
      st = ReadBlocks(info, &term_blocks);
      if (!st.ok()) return false;
      size_t at = 0;
      for (const PostingBlock& pb : term_blocks) {
        for (uint32_t i = 0; i < pb.n; ++i, ++at) {
          const uint32_t row = scratch.rows[at], tf = scratch.tfs[at];
          const uint8_t code = norms_[row];
          bool covered = false;
          for (uint32_t j = 0; j < pb.bounds && !covered; ++j) {
            covered = tf <= pb.bound_tf[j] && code >= pb.bound_norm[j];
          }
          if (code < pb.min_norm || !covered) {
            st = arrow::Status::Invalid("text index: term '", t, "' row ", row, " (tf ", tf,
                                        ", length code ", int{code},
                                        ") lies outside its posting block's bounds");
            return false;
          }
        }
      }
      return true;
    }));
    ARROW_RETURN_NOT_OK(st);
  }
  if (tokens != total_tokens_) {
    return arrow::Status::Invalid("text index: postings hold ", tokens,
                                  " term occurrences, the header says ", total_tokens_);
  }
  return arrow::Status::OK();
}

namespace {

bool IsStringType(const arrow::DataType& t) {
  return t.id() == arrow::Type::STRING || t.id() == arrow::Type::LARGE_STRING;
}

}  // namespace

bool IsTextType(const arrow::DataType& t) {
  if (IsStringType(t)) return true;
  if (t.id() == arrow::Type::LIST || t.id() == arrow::Type::LARGE_LIST) {
    return IsStringType(*t.field(0)->type());
  }
  return false;
}

arrow::Status AddTextRows(const arrow::Array& values, TextIndexBuilder* builder) {
  std::vector<std::string_view> row;
  auto add_strings = [&](const arrow::Array& strings, int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      if (strings.IsNull(j)) continue;
      if (strings.type_id() == arrow::Type::STRING) {
        row.push_back(static_cast<const arrow::StringArray&>(strings).GetView(j));
      } else {
        row.push_back(static_cast<const arrow::LargeStringArray&>(strings).GetView(j));
      }
    }
  };
  for (int64_t i = 0; i < values.length(); ++i) {
    row.clear();
    if (!values.IsNull(i)) {
      if (IsStringType(*values.type())) {
        add_strings(values, i, i + 1);
      } else if (values.type_id() == arrow::Type::LIST) {
        const auto& list = static_cast<const arrow::ListArray&>(values);
        add_strings(*list.values(), list.value_offset(i), list.value_offset(i + 1));
      } else {
        const auto& list = static_cast<const arrow::LargeListArray&>(values);
        add_strings(*list.values(), list.value_offset(i), list.value_offset(i + 1));
      }
    }
    ARROW_RETURN_NOT_OK(builder->AddRow(row));
  }
  return arrow::Status::OK();
}

}  // namespace ailake::index
