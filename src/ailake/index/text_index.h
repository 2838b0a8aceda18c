// The full-text (inverted) index of one data file (layer index/): for every
// term the analyzer produces, the rows that hold it, how often, and where;
// one byte per row for its length. Built in memory by TextIndexBuilder,
// searched in place from the blob's bytes by TextIndex (docs/FORMAT.md 3.6).
//
// Row numbers are the file's row positions (0 .. num_docs-1), like the vector
// indexes'. A row's text is the values of the indexed column (a string column,
// or a list of strings: the values in order, positions continuing across them).
// Null and empty values hold no terms; such a row has length 0.
//
// Row lengths are stored as one byte each, on the log scale Lucene and Tantivy
// use (FieldNormCode / FieldNormValue), which is what BM25 reads; the exact
// total of the lengths is kept in the header, so the average length is exact.
//
// Thread safety: a TextIndex is immutable once loaded and safe to share between
// threads; a TextIndexBuilder is not (one per thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/text/analyzer.h"

namespace ailake::index {

inline constexpr uint32_t kTextIndexMagic = 0x58544941;  // "AITX" little-endian
// Version 2 added the score bound points of each posting block; version 1
// blobs (one point: the block's max tf and smallest length code) still load.
inline constexpr uint16_t kTextIndexVersion = 2;
inline constexpr size_t kTextIndexHeaderBytes = 128;
inline constexpr uint32_t kTextDictBlockTerms = 16;
inline constexpr uint32_t kTextPostingBlockDocs = 128;
// At most this many score bound points per posting block (docs/FORMAT.md 3.6).
inline constexpr uint32_t kTextBlockBoundPoints = 4;

// A row length on the one-byte log scale (exact below 24, then 4 significant
// bits), and the length a code stands for (the largest value with that code is
// not needed: BM25 reads the smallest, as Lucene and Tantivy do).
uint8_t FieldNormCode(uint32_t length);
uint32_t FieldNormValue(uint8_t code);

class TextIndexBuilder {
 public:
  // with_positions: store term positions (phrase queries need them).
  explicit TextIndexBuilder(std::shared_ptr<const text::Analyzer> analyzer,
                            bool with_positions = true);
  ~TextIndexBuilder();

  // Adds the next row: the analyzed terms of its values, in order. An empty
  // span is a row with no text (null). Fails past 2^32 - 1 rows.
  arrow::Status AddRow(std::span<const std::string_view> values);
  uint32_t num_rows() const { return num_rows_; }

  // The blob (docs/FORMAT.md 3.6). The builder is empty afterwards.
  arrow::Result<std::shared_ptr<arrow::Buffer>> Finish();

 private:
  struct TermData {
    std::vector<uint32_t> docs;
    std::vector<uint32_t> tfs;
    std::vector<uint32_t> positions;  // per doc, tf positions ascending
  };
  std::shared_ptr<const text::Analyzer> analyzer_;
  bool with_positions_;
  uint32_t num_rows_ = 0;
  uint64_t total_tokens_ = 0;
  std::vector<uint8_t> norms_;
  std::unordered_map<std::string, TermData> terms_;
  std::vector<text::Token> scratch_;
};

// A term found in the dictionary: its document frequency (rows in the file
// that hold it, deleted ones included) and where its data lies.
struct TextTermInfo {
  uint32_t df = 0;
  uint64_t postings_offset = 0;  // within the postings region
  uint64_t postings_bytes = 0;
  uint64_t positions_offset = 0;  // within the positions region
  uint64_t positions_bytes = 0;
};

// One term's postings decoded: rows ascending, their term frequencies, and
// (when asked and stored) the positions of row i at
// positions[pos_begin[i] .. pos_begin[i+1]). When the index stores positions,
// block_pos holds where each 128-row block's positions start (relative to the
// term's, one entry more than blocks), so RowPositions can read one row's.
struct DecodedPostings {
  std::vector<uint32_t> rows;
  std::vector<uint32_t> tfs;
  std::vector<uint32_t> pos_begin;
  std::vector<uint32_t> positions;
  std::vector<uint64_t> block_pos;
};

// One 128-row block of a term's postings, as its header says (the rows and
// frequencies themselves are unpacked by TextIndex::DecodeBlock).
//
// Its score bound points: (tf, length code) pairs such that every row of the
// block has a tf at most some point's and, at that point, a length code at
// least the point's. BM25 grows with tf and falls with length, so no row
// scores more than the best point, whatever the table-wide statistics. The
// first point's tf is max_tf, the last point's code min_norm; tf and code
// both strictly decrease (the block's Pareto front, or a coarser one).
struct PostingBlock {
  int64_t prev_last = -1;  // the previous block's last row (-1 before the first)
  uint32_t last_row = 0;
  uint32_t n = 0;  // rows in the block
  uint32_t max_tf = 0;
  uint8_t min_norm = 0;  // smallest length code of its rows
  uint8_t gap_bits = 0, tf_bits = 0;
  uint8_t bounds = 1;  // score bound points (1 .. kTextBlockBoundPoints)
  uint32_t bound_tf[kTextBlockBoundPoints] = {};
  uint8_t bound_norm[kTextBlockBoundPoints] = {};
  const uint8_t* data = nullptr;        // packed gaps, then packed tf - 1
  uint64_t pos_begin = 0, pos_end = 0;  // within the term's positions
};

// Value i of the values of `bits` bits (1..32) packed little-endian into the
// nbytes at p (i * bits < nbytes * 8): one load of at most 8 bytes, never
// past nbytes. Inline for the per-row reads of a search.
inline uint32_t ReadPacked(const uint8_t* p, size_t nbytes, uint32_t bits, size_t i) {
  const uint64_t bit = uint64_t{i} * bits;
  const size_t byte = bit >> 3;
  uint64_t w = 0;
  if (byte + 8 <= nbytes) {
    std::memcpy(&w, p + byte, 8);
  } else {
    for (size_t k = 0; byte + k < nbytes; ++k) w |= uint64_t{p[byte + k]} << (8 * k);
  }
  return static_cast<uint32_t>((w >> (bit & 7)) & ((uint64_t{1} << bits) - 1));
}

class TextIndex {
 public:
  // Validates the header (magic, version, regions inside the blob, aligned,
  // not overlapping, checksums) and the analyzer record; the dictionary and
  // postings are checked as they are read, every offset and count against
  // the region it points into, with errors naming the blob offset.
  static arrow::Result<std::shared_ptr<const TextIndex>> Load(std::shared_ptr<arrow::Buffer> blob);

  uint32_t num_rows() const { return num_docs_; }
  uint32_t num_terms() const { return num_terms_; }
  uint64_t total_tokens() const { return total_tokens_; }
  bool has_positions() const { return has_positions_; }
  const text::Analyzer& analyzer() const { return *analyzer_; }
  const std::shared_ptr<const text::Analyzer>& analyzer_ptr() const { return analyzer_; }
  uint8_t norm_code(uint32_t row) const { return norms_[row]; }
  std::span<const uint8_t> norm_codes() const { return {norms_, num_docs_}; }
  int64_t blob_bytes() const { return blob_->size(); }
  const std::shared_ptr<arrow::Buffer>& blob() const { return blob_; }

  // The term's entry, or nullopt when the file does not hold it.
  arrow::Result<std::optional<TextTermInfo>> Find(std::string_view term) const;
  // Every term starting with `prefix`, in byte order, at most `limit` of them;
  // *truncated says whether more exist.
  arrow::Result<std::vector<std::pair<std::string, TextTermInfo>>> TermsWithPrefix(
      std::string_view prefix, size_t limit, bool* truncated) const;
  // Decodes a term's postings (positions too when with_positions and stored).
  arrow::Status Decode(const TextTermInfo& term, bool with_positions, DecodedPostings* out) const;
  // Reads only the block headers of a term's postings (sizes checked), so a
  // search can unpack just the blocks it needs.
  arrow::Status ReadBlocks(const TextTermInfo& term, std::vector<PostingBlock>* out) const;
  // Unpacks one block: n rows ascending (checked against the header's last
  // row and the row count) and their frequencies (checked against max_tf).
  // tfs may be null: the rows alone.
  arrow::Status DecodeBlock(const PostingBlock& block, uint32_t* rows, uint32_t* tfs) const;
  // The block's frequencies alone (DecodeBlock's, checked the same way).
  arrow::Status DecodeBlockTfs(const PostingBlock& block, uint32_t* tfs) const;
  // The frequency of the block's i-th row (i < block.n) alone, checked the
  // same way: a row or two of a block cost one read each, not the block's.
  arrow::Result<uint32_t> BlockTf(const PostingBlock& block, uint32_t i) const;
  // BlockTf without building the error: false where BlockTf fails. Inline,
  // for the per-row loops of a search (BlockTf then says what was wrong).
  static bool TryBlockTf(const PostingBlock& block, uint32_t i, uint32_t* tf) {
    if (i >= block.n) return false;
    uint32_t v = 0;
    if (block.tf_bits != 0) {
      const size_t gap_bytes = (size_t{block.n} * block.gap_bits + 7) / 8;
      const size_t tf_bytes = (size_t{block.n} * block.tf_bits + 7) / 8;
      v = ReadPacked(block.data + gap_bytes, tf_bytes, block.tf_bits, i);
    }
    if (v >= block.max_tf) return false;
    *tf = v + 1;
    return true;
  }

  // Where RowPositions left off in one term's positions, so rows read in
  // increasing order cost one pass over the blocks they are in.
  struct PositionCursor {
    size_t block = SIZE_MAX;
    size_t next_row = 0;  // index (into decoded.rows) the byte offset is at
    uint64_t offset = 0;  // within the term's positions
  };
  // The positions of the i-th row of `decoded` (Decode's output for `term`),
  // read from the blob alone: the lazy path phrase queries take. `cursor`
  // (one per term, fresh at first) makes increasing i cheap.
  arrow::Status RowPositions(const TextTermInfo& term, const DecodedPostings& decoded, size_t i,
                             PositionCursor* cursor, std::vector<uint32_t>* out) const;

  // The positions of row i of `block` (one of ReadBlocks' blocks of `term`;
  // tfs: its frequencies as DecodeBlock unpacked them), read from the blob.
  // `from_row` and *offset: where the previous read in this block ended (0
  // and block.pos_begin at first; *offset is advanced), so rows read in
  // increasing order cost one pass over the block's positions.
  arrow::Status BlockRowPositions(const TextTermInfo& term, const PostingBlock& block,
                                  const uint32_t* tfs, uint32_t from_row, uint32_t i,
                                  uint64_t* offset, std::vector<uint32_t>* out) const;

  // Reads every term and posting, checking order and bounds (Verify), and that
  // every row lies within its posting block's bounds (smallest length, bound
  // points), which searches trust to skip blocks unread.
  arrow::Status Validate() const;

 private:
  TextIndex() = default;
  struct DictEntry;
  arrow::Status ReadBlockFirstTerm(uint32_t block, std::string* term) const;
  // The last dictionary block whose first term is <= key (0 if none is).
  arrow::Result<uint32_t> LastBlockAtOrBefore(std::string_view key) const;
  template <typename Fn>
  arrow::Status ScanBlock(uint32_t block, Fn&& fn) const;
  // Reads the positions between base + *offset and base + end: skips those
  // of `skip` entries, then reads `count` into out; *offset is advanced.
  arrow::Status ReadPositions(const uint8_t* base, uint64_t end, uint64_t skip, uint32_t count,
                              uint64_t* offset, std::vector<uint32_t>* out) const;

  std::shared_ptr<arrow::Buffer> blob_;
  std::shared_ptr<const text::Analyzer> analyzer_;
  uint32_t num_docs_ = 0;
  uint32_t num_terms_ = 0;
  uint64_t total_tokens_ = 0;
  bool has_positions_ = false;
  uint16_t version_ = kTextIndexVersion;
  const uint8_t* norms_ = nullptr;
  const uint8_t* dict_index_ = nullptr;  // per block: u64 dict, postings, positions offsets
  const uint8_t* dict_ = nullptr;
  uint64_t dict_len_ = 0;
  const uint8_t* postings_ = nullptr;
  uint64_t postings_len_ = 0;
  const uint8_t* positions_ = nullptr;
  uint64_t positions_len_ = 0;
  uint64_t dict_base_ = 0, postings_base_ = 0, positions_base_ = 0;  // blob offsets, for errors
};

// Whether a column of this type can be indexed: a string or large string
// column, or a list (or large list) of them.
bool IsTextType(const arrow::DataType& type);
// Adds each row of `values` (of an IsTextType type) to the builder: a
// string row as one value, a list row as its values in order; nulls (a null
// row or a null value) hold no terms.
arrow::Status AddTextRows(const arrow::Array& values, TextIndexBuilder* builder);

}  // namespace ailake::index
