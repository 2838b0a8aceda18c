// Full-text indexes on their own (layers text/ and index/): build an inverted
// index over a list of strings, search it by BM25, and search several at once
// with statistics over all of them (the way a table's files are searched).
// The bytes are the text index blob (docs/FORMAT.md 3.6), validated on load.
#include <algorithm>
#include <cstring>
#include <limits>

#include <arrow/buffer.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ailake/index/text_index.h"
#include "ailake/index/text_search.h"
#include "ailake/vectors.h"
#include "bindings.h"
#include "convert.h"

namespace ailake::py {

text::AnalyzerConfig AnalyzerFromDict(const nb::dict& d) {
  text::AnalyzerConfig c;
  for (auto [key, value] : d) {
    const std::string k = nb::cast<std::string>(key);
    if (k == "tokenizer") {
      c.tokenizer = nb::cast<std::string>(value);
    } else if (k == "stemmer") {
      c.stemmer_language = value.is_none() ? "" : nb::cast<std::string>(value);
    } else if (k == "stop_words") {
      for (auto w : nb::iter(value)) c.stop_words.push_back(nb::cast<std::string>(w));
    } else if (k == "lowercase") {
      c.lowercase = nb::cast<bool>(value);
    } else if (k == "max_token_bytes") {
      c.max_token_bytes = nb::cast<uint32_t>(value);
    } else if (k == "cjk_ngram") {
      c.cjk_ngram = nb::cast<uint32_t>(value);
    } else {
      Throw(arrow::Status::Invalid(
          "unknown analyzer setting '", k,
          "' (tokenizer, stemmer, stop_words, lowercase, max_token_bytes, cjk_ngram)"));
    }
  }
  return c;
}

namespace {

using Mask = nb::ndarray<const bool, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

class PyTextIndex {
 public:
  // texts: a sequence whose items are str, None (no text) or a sequence of str
  // (the values of one row, positions continuing across them).
  static PyTextIndex Build(const nb::handle& texts, const nb::dict& analyzer, bool positions) {
    const text::AnalyzerConfig cfg = AnalyzerFromDict(analyzer);
    std::vector<std::vector<std::string>> rows;
    for (auto item : nb::iter(texts)) {
      std::vector<std::string> values;
      if (item.is_none()) {
      } else if (nb::isinstance<nb::str>(item)) {
        values.push_back(nb::cast<std::string>(item));
      } else {
        for (auto v : nb::iter(item)) {
          if (!v.is_none()) values.push_back(nb::cast<std::string>(v));
        }
      }
      rows.push_back(std::move(values));
    }
    PyTextIndex ix;
    Check(NoGil([&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto a, text::Analyzer::Make(cfg));
      index::TextIndexBuilder b(a, positions);
      std::vector<std::string_view> views;
      for (const auto& r : rows) {
        views.assign(r.begin(), r.end());
        ARROW_RETURN_NOT_OK(b.AddRow(views));
      }
      ARROW_ASSIGN_OR_RAISE(auto blob, b.Finish());
      ARROW_ASSIGN_OR_RAISE(ix.index_, index::TextIndex::Load(std::move(blob)));
      return arrow::Status::OK();
    }));
    return ix;
  }

  static PyTextIndex FromBytes(const nb::bytes& bytes) {
    PyTextIndex ix;
    auto buf = arrow::AllocateBuffer(static_cast<int64_t>(bytes.size()));
    Check(buf.status());
    std::memcpy((*buf)->mutable_data(), bytes.c_str(), bytes.size());
    std::shared_ptr<arrow::Buffer> blob(std::move(*buf));
    Check(NoGil([&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(ix.index_, index::TextIndex::Load(std::move(blob)));
      return arrow::Status::OK();
    }));
    return ix;
  }

  // (rows int64, scores float32), best first, at most k.
  nb::tuple Search(const std::string& query, uint32_t k, std::optional<Mask> allowed) const {
    RowBitmap bits;
    if (allowed) {
      if (allowed->shape(0) != index_->num_rows()) {
        Throw(arrow::Status::Invalid("allowed mask has ", allowed->shape(0),
                                     " entries, the index has ", index_->num_rows(), " rows"));
      }
      bits = RowBitmap::FromMask(
          {reinterpret_cast<const uint8_t*>(allowed->data()), allowed->shape(0)});
    }
    std::vector<index::TextHit> hits;
    Check(NoGil([&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto q, index::ParseTextQuery(query, index_->analyzer()));
      ARROW_ASSIGN_OR_RAISE(auto fq, index::TextFileQuery::Prepare(*index_, q, nullptr));
      index::TextStats stats;
      fq.AddStats(&stats);
      const RowFilter f = bits.filter();
      ARROW_ASSIGN_OR_RAISE(hits, fq.Search(stats, k, allowed ? &f : nullptr));
      return arrow::Status::OK();
    }));
    std::vector<int64_t> parts(hits.size(), 0);
    return Hits(parts, hits).second;
  }

  // Several indexes searched as one: statistics summed over all of them,
  // results merged by score. (parts, rows, scores).
  static nb::tuple SearchMany(const std::vector<const PyTextIndex*>& indexes,
                              const std::string& query, uint32_t k) {
    if (indexes.empty()) Throw(arrow::Status::Invalid("search_many needs at least one index"));
    std::vector<int64_t> parts;
    std::vector<index::TextHit> hits;
    Check(NoGil([&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto q, index::ParseTextQuery(query, indexes[0]->index_->analyzer()));
      std::vector<index::TextFileQuery> fqs;
      index::TextStats stats;
      for (const auto* ix : indexes) {
        if (!(ix->index_->analyzer().config() == indexes[0]->index_->analyzer().config())) {
          return arrow::Status::Invalid(
              "search_many: the indexes were built with different analyzers");
        }
        ARROW_ASSIGN_OR_RAISE(auto fq, index::TextFileQuery::Prepare(*ix->index_, q, nullptr));
        fq.AddStats(&stats);
        fqs.push_back(std::move(fq));
      }
      std::vector<std::pair<int64_t, index::TextHit>> all;
      for (size_t i = 0; i < fqs.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto h, fqs[i].Search(stats, k, nullptr));
        for (const auto& x : h) all.emplace_back(static_cast<int64_t>(i), x);
      }
      std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
        if (x.second.score != y.second.score) return x.second.score > y.second.score;
        return x.first != y.first ? x.first < y.first : x.second.row < y.second.row;
      });
      if (all.size() > k) all.resize(k);
      for (const auto& [p, h] : all) {
        parts.push_back(p);
        hits.push_back(h);
      }
      return arrow::Status::OK();
    }));
    return Hits(parts, hits).first;
  }

  uint32_t num_rows() const { return index_->num_rows(); }
  uint32_t num_terms() const { return index_->num_terms(); }
  uint64_t total_tokens() const { return index_->total_tokens(); }
  bool has_positions() const { return index_->has_positions(); }
  int64_t nbytes() const { return index_->blob_bytes(); }
  std::string analyzer() const { return index_->analyzer().config().Serialize(); }
  nb::bytes Blob() const {
    const auto& b = index_->blob();
    return nb::bytes(reinterpret_cast<const char*>(b->data()), static_cast<size_t>(b->size()));
  }

 private:
  // (parts, rows, scores) and (rows, scores) as numpy arrays.
  static std::pair<nb::tuple, nb::tuple> Hits(const std::vector<int64_t>& parts,
                                              const std::vector<index::TextHit>& hits) {
    const size_t n = hits.size();
    auto* p = new int64_t[n];
    auto* r = new int64_t[n];
    auto* s = new float[n];
    for (size_t i = 0; i < n; ++i) {
      p[i] = parts[i];
      r[i] = hits[i].row;
      s[i] = hits[i].score;
    }
    nb::capsule po(p, [](void* x) noexcept { delete[] static_cast<int64_t*>(x); });
    nb::capsule ro(r, [](void* x) noexcept { delete[] static_cast<int64_t*>(x); });
    nb::capsule so(s, [](void* x) noexcept { delete[] static_cast<float*>(x); });
    auto pa = nb::ndarray<nb::numpy, int64_t, nb::ndim<1>>(p, {n}, po);
    auto ra = nb::ndarray<nb::numpy, int64_t, nb::ndim<1>>(r, {n}, ro);
    auto sa = nb::ndarray<nb::numpy, float, nb::ndim<1>>(s, {n}, so);
    return {nb::make_tuple(pa, ra, sa), nb::make_tuple(ra, sa)};
  }

  std::shared_ptr<const index::TextIndex> index_;
};

}  // namespace

void BindText(nb::module_& m) {
  nb::class_<PyTextIndex>(m, "TextIndex")
      .def_static("build", &PyTextIndex::Build, nb::arg("texts"), nb::arg("analyzer"),
                  nb::arg("positions"))
      .def_static("from_bytes", &PyTextIndex::FromBytes, nb::arg("data"))
      .def("to_bytes", &PyTextIndex::Blob)
      .def("search", &PyTextIndex::Search, nb::arg("query"), nb::arg("k"),
           nb::arg("allowed").none())
      .def_static("search_many", &PyTextIndex::SearchMany, nb::arg("indexes"), nb::arg("query"),
                  nb::arg("k"))
      .def_prop_ro("num_rows", &PyTextIndex::num_rows)
      .def_prop_ro("num_terms", &PyTextIndex::num_terms)
      .def_prop_ro("total_tokens", &PyTextIndex::total_tokens)
      .def_prop_ro("has_positions", &PyTextIndex::has_positions)
      .def_prop_ro("nbytes", &PyTextIndex::nbytes)
      .def_prop_ro("analyzer", &PyTextIndex::analyzer);
}

}  // namespace ailake::py
