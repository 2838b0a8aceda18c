// HNSW search from a blob (the walk itself is hnsw_search.h, shared with the
// reference implementation's graph), and the loader that validates it.
#include "ailake/index/hnsw_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ailake/index/flat_index.h"
#include "ailake/index/hnsw_codes.h"
#include "ailake/index/hnsw_graph.h"
#include "ailake/index/hnsw_search.h"
#include "ailake/vec/prefetch.h"

namespace ailake::index {
namespace {

// Our blob as an HnswLayout (hnsw_search.h): a node is its row, or with
// renumbered nodes node_rows maps it to one; the loader has checked every
// count, link and row, so nothing is re-checked here.
struct BlobHnswLayout {
  // A [count, links...] list of u32 words; level-0 counts capped at m0.
  struct LinkList {
    const uint8_t* words;
    uint32_t count;
    uint32_t size() const { return count; }
    uint32_t operator[](size_t i) const { return LoadU32(words + 4 * i); }
  };
  static constexpr bool kTiesByRow = false;  // the beam's order, as it always was

  HnswGraphRef graph;
  const uint8_t* node_rows = nullptr;  // u32 per node; null: node = row
  uint32_t rows = 0;
  uint32_t entry_node = kNoNode;
  uint32_t top_level = 0;

  uint32_t num_nodes() const { return rows; }
  uint32_t entry() const { return entry_node; }
  uint32_t max_level() const { return top_level; }
  uint32_t m0() const { return graph.m0; }
  uint32_t max_links0() const { return graph.m0; }
  LinkList Links(uint32_t node, uint32_t level) const {
    const uint8_t* list = graph.Links(node, level);
    const uint32_t count = LoadU32(list);
    return {list + 4, level == 0 ? std::min(count, graph.m0) : count};
  }
  void PrefetchLinks(uint32_t node) const { vec::PrefetchLine(graph.Links(node, 0)); }
  static bool OnLevel(uint32_t /*node*/, uint32_t /*level*/) { return true; }
  uint32_t RowOf(uint32_t node) const {
    return node_rows == nullptr ? node : LoadU32(node_rows + 4ull * node);
  }
};

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(std::shared_ptr<arrow::Buffer> blob, const CommonHeader& h, const VectorView& view)
      : blob_(std::move(blob)), h_(h), view_(view) {
    const uint8_t* p = blob_->data();
    HnswGraphRef& g = layout_.graph;
    g.m = LoadU32(p + kHnswM);
    g.m0 = LoadU32(p + kHnswM0);
    g.level0 = p + LoadU64(p + kHnswLevel0Off);
    g.upper_index = p + LoadU64(p + kHnswUpperIndexOff);
    g.upper = p + LoadU64(p + kHnswUpperOff);
    layout_.rows = h.num_rows;
    layout_.entry_node = LoadU32(p + kHnswEntry);
    layout_.top_level = LoadU32(p + kHnswMaxLevel);
    ef_search_ = LoadU32(p + kHnswEfSearch);
    const uint64_t norms = LoadU64(p + kHnswNormsOff);
    inv_norms_ = norms == 0 ? nullptr : p + norms;
    if ((h.flags & kFlagTraversalCodes) != 0) {
      code_kind_ = LoadU32(p + kHnswCodeKind);
      codes_ = reinterpret_cast<const int8_t*>(p + LoadU64(p + kHnswCodesOff));
      code_params_ = p + LoadU64(p + kHnswCodeParamsOff);
      const uint64_t terms = LoadU64(p + kHnswCodeTermsOff);
      code_terms_ = terms == 0 ? nullptr : p + terms;
      code_stride_ = LoadU32(p + kHnswCodeStride);
      if ((h.flags & kFlagRenumberedNodes) != 0) {
        layout_.node_rows = p + LoadU64(p + kHnswNodeRowsOff);
      }
    }
  }

  IndexType type() const override { return IndexType::kHnsw; }
  DistanceMetric metric() const override { return h_.metric; }
  uint32_t dim() const override { return h_.dim; }
  uint32_t size() const override { return h_.num_rows; }

  arrow::Result<std::vector<Neighbor>> Search(std::span<const float> query, uint32_t k,
                                              const SearchParams& params,
                                              const RowFilter* filter) const override;

  arrow::Result<std::shared_ptr<arrow::Buffer>> Serialize() const override { return blob_; }

 private:
  std::shared_ptr<arrow::Buffer> blob_;
  CommonHeader h_;
  VectorView view_;
  BlobHnswLayout layout_;
  const uint8_t* inv_norms_ = nullptr;
  uint32_t ef_search_ = 64;
  // Traversal codes (null: the graph is walked on the stored vectors).
  const int8_t* codes_ = nullptr;
  uint32_t code_kind_ = 0;
  const uint8_t* code_params_ = nullptr;
  const uint8_t* code_terms_ = nullptr;
  uint32_t code_stride_ = 0;
};

arrow::Result<std::vector<Neighbor>> HnswIndex::Search(std::span<const float> query, uint32_t k,
                                                       const SearchParams& params,
                                                       const RowFilter* filter) const {
  if (query.size() != h_.dim) {
    return arrow::Status::Invalid("HnswIndex::Search: query has ", query.size(),
                                  " floats, index dim is ", h_.dim);
  }
  const uint32_t n = h_.num_rows;
  if (n == 0 || k == 0) return std::vector<Neighbor>{};
  const uint32_t ef = std::max(params.ef != 0 ? params.ef : ef_search_, k);
  HnswDistance dist(h_.metric, view_, inv_norms_);
  dist.SetQuery(query.data());
  auto scan = [&] { return ExactSearch(view_, h_.metric, query.data(), k, filter, inv_norms_); };
  if (codes_ == nullptr) return SearchHnsw(layout_, dist, ef, k, filter, scan);
  // Walk on the codes and re-rank on the stored vectors the beam's nearest
  // rows by code distance.
  const uint32_t pool = HnswReRankedRows(k, ef, params.refine_factor);
  std::vector<Neighbor> found;
  if (code_kind_ == kCodeKindSq4) {
    Sq4Distance approx(h_.metric, h_.dim, reinterpret_cast<const uint8_t*>(codes_), code_params_);
    approx.SetQuery(query.data());
    found = SearchHnsw(layout_, approx, ef, k, filter, scan, pool);
  } else {
    // (Renumbered, the walk's inverse norms are by node, in the terms section.)
    Sq8Distance approx(h_.metric, h_.dim, code_stride_, codes_, code_params_, code_terms_,
                       layout_.node_rows != nullptr ? code_terms_ : inv_norms_);
    approx.SetQuery(query.data());
    found = SearchHnsw(layout_, approx, ef, k, filter, scan, pool);
  }
  std::vector<uint32_t> rows(found.size());
  for (size_t i = 0; i < found.size(); ++i) rows[i] = found[i].row;
  ARROW_RETURN_NOT_OK(view_.Fetch(rows));  // on-demand views: only these rows are read
  // The beam's rows are scattered over the vector column: each is prefetched
  // ahead, so their cache misses overlap.
  vec::VisitRowsPrefetched(
      found.size(), std::min<size_t>(view_.row_bytes(), HnswDistance::kPrefetchBytes),
      [&](size_t i) { return view_.Row(found[i].row); },
      [&](size_t i) { found[i].distance = dist(found[i].row); });
  // NaN (a NaN query through a bare index) sorts last: a strict weak order.
  auto key = [](float d) { return std::isnan(d) ? std::numeric_limits<float>::infinity() : d; };
  std::sort(found.begin(), found.end(), [&](const Neighbor& a, const Neighbor& b) {
    const float ka = key(a.distance), kb = key(b.distance);
    return ka < kb || (ka == kb && a.row < b.row);
  });
  if (found.size() > k) found.resize(k);
  return found;
}

// Every count, offset and link checked against the blob before any search.
arrow::Status Validate(const arrow::Buffer& blob, const CommonHeader& h) {
  const uint8_t* p = blob.data();
  const uint64_t size = static_cast<uint64_t>(blob.size());
  if (size < kHnswHeaderBytes) {
    return arrow::Status::Invalid("HNSW blob: ", size, " bytes is shorter than its ",
                                  kHnswHeaderBytes, "-byte header");
  }
  const uint32_t m = LoadU32(p + kHnswM), m0 = LoadU32(p + kHnswM0);
  const uint32_t max_level = LoadU32(p + kHnswMaxLevel), entry = LoadU32(p + kHnswEntry);
  const uint32_t n = h.num_rows;
  if (m < 2 || m > 256 || m0 < m || m0 > 512) {
    return arrow::Status::Invalid("HNSW blob: link counts m=", m, " m0=", m0,
                                  " at offset 64 are out of range");
  }
  if (LoadU32(p + kHnswEfSearch) == 0) {
    return arrow::Status::Invalid("HNSW blob: ef_search 0 at offset 80");
  }
  if (max_level > kMaxHnswLevel) {
    return arrow::Status::Invalid("HNSW blob: max level ", max_level, " at offset 72 exceeds ",
                                  kMaxHnswLevel);
  }
  const uint64_t norms = LoadU64(p + kHnswNormsOff), level0 = LoadU64(p + kHnswLevel0Off);
  const uint64_t upper_index = LoadU64(p + kHnswUpperIndexOff);
  const uint64_t upper = LoadU64(p + kHnswUpperOff), words = LoadU64(p + kHnswUpperWords);
  const bool cosine = h.metric == DistanceMetric::kCosine;
  if (cosine != (norms != 0) || cosine != ((h.flags & kFlagInverseNorms) != 0)) {
    return arrow::Status::Invalid("HNSW blob: inverse norms section present=", norms != 0,
                                  " but metric is ", MetricName(h.metric));
  }
  if (norms != 0) ARROW_RETURN_NOT_OK(CheckSection(size, norms, n, 4, "hnsw.inv_norms"));
  if ((h.flags & ~(kFlagInverseNorms | kFlagTraversalCodes | kFlagRenumberedNodes)) != 0) {
    return arrow::Status::Invalid("HNSW blob: unknown flags ", h.flags, " at offset 10");
  }
  const bool renumbered = (h.flags & kFlagRenumberedNodes) != 0;
  // What a graph position is called in messages.
  const char* unit = renumbered ? "node " : "row ";
  if (renumbered && (h.flags & kFlagTraversalCodes) == 0) {
    return arrow::Status::Invalid("HNSW blob: renumbered nodes (flag 8) without traversal codes ",
                                  "(flag 4)");
  }
  if ((h.flags & kFlagTraversalCodes) != 0) {
    if (size < kHnswHeaderBytes + kHnswExtBytes) {
      return arrow::Status::Invalid("HNSW blob: ", size, " bytes is shorter than its header ",
                                    "and traversal-code extension");
    }
    const uint32_t kind = LoadU32(p + kHnswCodeKind), stride = LoadU32(p + kHnswCodeStride);
    if (kind != kCodeKindSq8 && kind != kCodeKindSq4) {
      return arrow::Status::Invalid("HNSW blob: traversal code kind ", kind,
                                    " at offset 152 is not one this build reads (1: sq8, 2: sq4)");
    }
    const bool sq4 = kind == kCodeKindSq4;
    const uint64_t codes = LoadU64(p + kHnswCodesOff), params = LoadU64(p + kHnswCodeParamsOff);
    const uint64_t terms = LoadU64(p + kHnswCodeTermsOff);
    const uint32_t want_stride = sq4 ? Sq4Stride(h.dim) : Sq8Stride(h.dim);
    if (stride != want_stride) {
      return arrow::Status::Invalid("HNSW blob: traversal code stride ", stride,
                                    " at offset 156, dim ", h.dim, " needs ", want_stride);
    }
    // sq8 keeps euclidean row terms in their own section, sq4 in its records;
    // renumbered sq8 cosine keeps its inverse norms by node there.
    const bool want_terms = !sq4 && (h.metric == DistanceMetric::kEuclidean ||
                                     (renumbered && h.metric == DistanceMetric::kCosine));
    if (want_terms != (terms != 0)) {
      return arrow::Status::Invalid("HNSW blob: traversal code terms present=", terms != 0,
                                    " but metric is ", MetricName(h.metric), " and code kind ",
                                    kind);
    }
    ARROW_RETURN_NOT_OK(CheckSection(size, codes, n, stride, "hnsw.codes"));
    if (sq4) {
      // Every record's scale and offset finite (a NaN would poison the walk's
      // heaps), the scale not negative.
      const uint32_t nbytes = Sq4CodeBytes(h.dim);
      for (uint32_t r = 0; r < n; ++r) {
        const uint8_t* s = p + codes + static_cast<uint64_t>(r) * stride + nbytes;
        const float lo = LoadF32(s), delta = LoadF32(s + 4), term = LoadF32(s + 8);
        if (!std::isfinite(lo) || !std::isfinite(delta) || !(delta >= 0.0f) ||
            !std::isfinite(term)) {
          return arrow::Status::Invalid("HNSW blob: 4-bit traversal record of ", unit, r, " (lo ",
                                        lo, ", delta ", delta, ", term ", term,
                                        ") is not finite with delta >= 0");
        }
      }
    }
    if (renumbered) {
      // Every row exactly once.
      const uint64_t node_rows = LoadU64(p + kHnswNodeRowsOff);
      ARROW_RETURN_NOT_OK(CheckSection(size, node_rows, n, 4, "hnsw.node_rows"));
      std::vector<uint64_t> seen((static_cast<size_t>(n) + 63) / 64, 0);
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t r = LoadU32(p + node_rows + 4ull * i);
        if (r >= n || ((seen[r / 64] >> (r % 64)) & 1) != 0) {
          return arrow::Status::Invalid("HNSW blob: node ", i, " maps to row ", r,
                                        r >= n ? ", past the last row" : ", already mapped");
        }
        seen[r / 64] |= uint64_t{1} << (r % 64);
      }
    }
    ARROW_RETURN_NOT_OK(CheckSection(size, params, 2ull * h.dim, 4, "hnsw.code_params"));
    if (terms != 0) ARROW_RETURN_NOT_OK(CheckSection(size, terms, n, 4, "hnsw.code_terms"));
    for (uint32_t i = 0; i < h.dim; ++i) {
      const float mean = LoadF32(p + params + 4ull * i);
      const float scale = LoadF32(p + params + 4ull * (h.dim + i));
      if (!std::isfinite(mean) || !std::isfinite(scale) || !(scale > 0.0f)) {
        return arrow::Status::Invalid("HNSW blob: traversal code mean/scale of dimension ", i, " (",
                                      mean, ", ", scale, ") is not finite and positive");
      }
    }
  }
  ARROW_RETURN_NOT_OK(CheckSection(size, level0, n, 4ull * (1 + m0), "hnsw.level0"));
  ARROW_RETURN_NOT_OK(CheckSection(size, upper_index, n, 4, "hnsw.upper_index"));
  ARROW_RETURN_NOT_OK(CheckSection(size, upper, words, 4, "hnsw.upper"));
  if (n == 0) {
    if (entry != kNoNode) return arrow::Status::Invalid("HNSW blob: empty graph with an entry");
    return arrow::Status::OK();
  }
  if (entry >= n) {
    return arrow::Status::Invalid("HNSW blob: entry point ", entry, " >= num_rows ", n);
  }
  HnswGraphRef g{p + level0, p + upper_index, p + upper, m, m0};
  // Upper blocks: in bounds and with a sane level, before any Links() call.
  for (uint32_t r = 0; r < n; ++r) {
    const uint32_t off = LoadU32(g.upper_index + 4ull * r);
    if (off == kNoUpper) continue;
    if (off >= words) {
      return arrow::Status::Invalid("HNSW blob: ", unit, r, " upper offset ", off,
                                    " >= upper words ", words);
    }
    const uint32_t level = LoadU32(g.upper + 4ull * off);
    if (level == 0 || level > max_level) {
      return arrow::Status::Invalid("HNSW blob: ", unit, r, " has level ", level,
                                    " outside [1, max level ", max_level, "]");
    }
    if (static_cast<uint64_t>(off) + 1 + static_cast<uint64_t>(level) * (1 + m) > words) {
      return arrow::Status::Invalid("HNSW blob: ", unit, r, " upper block overruns the section");
    }
  }
  if (g.Level(entry) != max_level) {
    return arrow::Status::Invalid("HNSW blob: entry point ", entry, " has level ", g.Level(entry),
                                  ", max level is ", max_level);
  }
  for (uint32_t r = 0; r < n; ++r) {
    const uint32_t top = g.Level(r);
    for (uint32_t level = 0; level <= top; ++level) {
      const uint8_t* links = g.Links(r, level);
      const uint32_t count = LoadU32(links);
      if (count > (level == 0 ? m0 : m)) {
        return arrow::Status::Invalid("HNSW blob: ", unit, r, " level ", level, " has ", count,
                                      " links, more than ", level == 0 ? m0 : m);
      }
      for (uint32_t i = 0; i < count; ++i) {
        const uint32_t nb = LoadU32(links + 4 + 4 * i);
        if (nb >= n || nb == r || (level > 0 && g.Level(nb) < level)) {
          return arrow::Status::Invalid("HNSW blob: ", unit, r, " level ", level, " links to ", nb,
                                        nb >= n   ? ", past the last row"
                                        : nb == r ? ", itself"
                                                  : ", not on that level");
        }
      }
    }
  }
  return arrow::Status::OK();
}

// Cosine graphs store each row's inverse norm: they must be those of the
// vectors the index is loaded over (wrong norms give wrong distances, not an
// error). Every row up to 65,536 rows, then an even sample of 65,536.
arrow::Status CheckInverseNorms(const arrow::Buffer& blob, const CommonHeader& h,
                                const VectorView& vectors) {
  const uint64_t norms = LoadU64(blob.data() + kHnswNormsOff);
  if (norms == 0 || h.num_rows == 0) return arrow::Status::OK();
  const uint8_t* stored = blob.data() + norms;
  constexpr uint32_t kMaxChecked = 65536;
  const uint32_t step = std::max<uint32_t>(1, h.num_rows / kMaxChecked);
  for (uint32_t r = 0; r < h.num_rows; r += step) {
    float want;
    std::memcpy(&want, stored + 4ull * r, 4);
    const float got =
        vec::InverseNorm(vectors.precision(), vectors.dim(), vectors.int8(), vectors.Row(r));
    if (!(std::fabs(want - got) <= 1e-4f * std::max(std::fabs(got), 1e-30f))) {
      return arrow::Status::Invalid("HNSW blob: inverse norm of row ", r, " is ", want,
                                    ", its vector's is ", got,
                                    " (the index does not belong to these vectors)");
    }
  }
  return arrow::Status::OK();
}

// The row of a node of a validated blob.
uint32_t RowOfNode(const uint8_t* p, const CommonHeader& h, uint32_t node) {
  if ((h.flags & kFlagRenumberedNodes) == 0) return node;
  return LoadU32(p + LoadU64(p + kHnswNodeRowsOff) + 4ull * node);
}

// "row R", or in a renumbered blob "node N (row R)".
std::string NodeName(const uint8_t* p, const CommonHeader& h, uint32_t node) {
  const uint32_t r = RowOfNode(p, h, node);
  if ((h.flags & kFlagRenumberedNodes) == 0) return "row " + std::to_string(r);
  return "node " + std::to_string(node) + " (row " + std::to_string(r) + ")";
}

// Traversal codes must be those of the vectors the index is loaded over
// (codes of other vectors would walk the graph astray; the re-rank keeps
// distances exact, not results complete). An even sample of 1,024 nodes; a
// renumbered sq8 cosine walk's inverse norms by node, all of them (they
// must be the row's, to the bit).
arrow::Status CheckTraversalCodes(const arrow::Buffer& blob, const CommonHeader& h,
                                  const VectorView& vectors) {
  if ((h.flags & kFlagTraversalCodes) == 0 || h.num_rows == 0) return arrow::Status::OK();
  const uint8_t* p = blob.data();
  const uint64_t norms = LoadU64(p + kHnswNormsOff), terms = LoadU64(p + kHnswCodeTermsOff);
  if ((h.flags & kFlagRenumberedNodes) != 0 && h.metric == DistanceMetric::kCosine && terms != 0) {
    for (uint32_t node = 0; node < h.num_rows; ++node) {
      const uint32_t r = RowOfNode(p, h, node);
      if (LoadU32(p + terms + 4ull * node) != LoadU32(p + norms + 4ull * r)) {
        return arrow::Status::Invalid("HNSW blob: the walk's inverse norm of node ", node,
                                      " is not that of its row ", r);
      }
    }
  }
  const auto* codes = reinterpret_cast<const int8_t*>(p + LoadU64(p + kHnswCodesOff));
  const uint8_t* params = p + LoadU64(p + kHnswCodeParamsOff);
  const uint32_t stride = LoadU32(p + kHnswCodeStride);
  std::vector<float> v(h.dim);
  const uint32_t step = std::max<uint32_t>(1, h.num_rows / 1024);
  if (LoadU32(p + kHnswCodeKind) == kCodeKindSq4) {
    // The record re-encoded here must match the stored one up to rounding: a
    // code one level off, lo and delta within 1e-3 of the row's range (a
    // writer built with other floating-point contraction may round a tie the
    // other way; another row's record differs by far more).
    std::vector<float> mean(h.dim), scale(h.dim);
    for (uint32_t i = 0; i < h.dim; ++i) {
      mean[i] = LoadF32(params + 4ull * i);
      scale[i] = LoadF32(params + 4ull * (h.dim + i));
    }
    const uint32_t nbytes = Sq4CodeBytes(h.dim);
    std::vector<uint8_t> want(nbytes), want_s(kSq4RowScalars);
    for (uint32_t node = 0; node < h.num_rows; node += step) {
      const uint32_t r = RowOfNode(p, h, node);
      vectors.Decode(r, v.data());
      EncodeSq4Row(v.data(), h.dim, h.metric, mean.data(), scale.data(), want.data(),
                   want_s.data());
      const uint8_t* got = p + LoadU64(p + kHnswCodesOff) + static_cast<uint64_t>(node) * stride;
      const uint8_t* got_s = got + nbytes;
      const float lo = LoadF32(want_s.data()), delta = LoadF32(want_s.data() + 4);
      const float tol = 1e-3f * (15.0f * delta + std::fabs(lo)) + 1e-6f;
      bool same =
          std::fabs(LoadF32(got_s) - lo) <= tol && std::fabs(LoadF32(got_s + 4) - delta) <= tol;
      for (uint32_t b = 0; same && b < nbytes; ++b) {
        same = std::abs((got[b] & 0x0f) - (want[b] & 0x0f)) <= 1 &&
               std::abs((got[b] >> 4) - (want[b] >> 4)) <= 1;
      }
      if (!same) {
        return arrow::Status::Invalid("HNSW blob: 4-bit traversal record of ", NodeName(p, h, node),
                                      " is not its vector's (the index does not belong to these "
                                      "vectors)");
      }
    }
    return arrow::Status::OK();
  }
  for (uint32_t node = 0; node < h.num_rows; node += step) {
    const uint32_t r = RowOfNode(p, h, node);
    vectors.Decode(r, v.data());
    for (uint32_t i = 0; i < h.dim; ++i) {
      const int8_t want =
          QuantizeSq8(v[i], LoadF32(params + 4ull * i), LoadF32(params + 4ull * (h.dim + i)));
      if (codes[static_cast<size_t>(node) * stride + i] != want) {
        return arrow::Status::Invalid("HNSW blob: traversal code of ", NodeName(p, h, node),
                                      " dimension ", i,
                                      " is not its vector's (the index does not belong to these "
                                      "vectors)");
      }
    }
  }
  return arrow::Status::OK();
}

}  // namespace

uint32_t HnswReRankedRows(uint32_t k, uint32_t ef, uint32_t refine_factor) {
  // The default is the whole beam. A bounded default (max(4k, ef / 4))
  // kept the whole beam's recall on three benchmark sets, but on tight,
  // far-apart clusters, where the codes barely tell a cluster's rows apart,
  // it fell from >= 0.85 to 0.68 (query/search_test.cc): returned distances
  // are exact, so which rows are re-ranked is the user's trade to make.
  const uint64_t want = refine_factor != 0 ? uint64_t{k} * refine_factor : uint64_t{ef};
  return static_cast<uint32_t>(std::clamp<uint64_t>(want, k, std::max(k, ef)));
}

arrow::Result<std::unique_ptr<VectorIndex>> LoadHnswIndex(std::shared_ptr<arrow::Buffer> blob,
                                                          const CommonHeader& header,
                                                          const VectorView& vectors) {
  ARROW_RETURN_NOT_OK(CheckVectorsMatch(header, vectors));
  ARROW_RETURN_NOT_OK(Validate(*blob, header));
  ARROW_RETURN_NOT_OK(CheckInverseNorms(*blob, header, vectors));
  ARROW_RETURN_NOT_OK(CheckTraversalCodes(*blob, header, vectors));
  return std::make_unique<HnswIndex>(std::move(blob), header, vectors);
}

arrow::Result<uint32_t> HnswReachableRows(const arrow::Buffer& blob) {
  ARROW_ASSIGN_OR_RAISE(const CommonHeader h, ReadCommonHeader(blob));
  if (h.type != IndexType::kHnsw) return arrow::Status::Invalid("not an HNSW blob");
  ARROW_RETURN_NOT_OK(Validate(blob, h));
  const uint8_t* p = blob.data();
  const uint32_t n = h.num_rows;
  if (n == 0) return 0;
  const HnswGraphRef g{p + LoadU64(p + kHnswLevel0Off), p + LoadU64(p + kHnswUpperIndexOff),
                       p + LoadU64(p + kHnswUpperOff), LoadU32(p + kHnswM), LoadU32(p + kHnswM0)};
  std::vector<uint8_t> seen(n, 0);
  std::vector<uint32_t> queue{LoadU32(p + kHnswEntry)};
  seen[queue[0]] = 1;
  for (size_t head = 0; head < queue.size(); ++head) {
    const uint8_t* links = g.Links(queue[head], 0);
    for (uint32_t i = 0; i < LoadU32(links); ++i) {
      const uint32_t nb = LoadU32(links + 4 + 4 * i);
      if (seen[nb] == 0) {
        seen[nb] = 1;
        queue.push_back(nb);
      }
    }
  }
  return static_cast<uint32_t>(queue.size());
}

}  // namespace ailake::index
