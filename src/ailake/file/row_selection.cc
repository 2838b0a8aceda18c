// Read (projection + row range) through the page index, and the general path
// of Take (row_take.cc): only the data pages that hold wanted rows are
// decompressed and decoded. Parquet C++ has no row selection in its Arrow reader, so the
// selection goes in underneath it: a ParquetFileReader::Contents wraps the
// real one and sets a data-page filter on every page reader it hands out,
// skipping the pages the plan does not keep. Each top-level field is read on
// its own (its pages cover different rows than other fields' pages), then the
// wanted rows are sliced out of the rows its kept pages cover.
#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/column_reader.h>
#include <parquet/page_index.h>
#include <parquet/properties.h>

#include <algorithm>
#include <functional>

#include "ailake/file/page_stream.h"
#include "ailake/file/reader_impl.h"

namespace ailake {
namespace {

using Intervals = std::vector<std::pair<int64_t, int64_t>>;  // [begin, end), sorted, disjoint

// The byte ranges (file offset, length) of the pages to decode for one column
// chunk: its dictionary page if any, then the kept data pages.
using file_internal::PageRanges_t;
using file_internal::PageRangesStream;
using Plan = std::map<std::pair<int, int>, PageRanges_t>;  // (row group, leaf) -> ranges

class FilteredRowGroup : public parquet::RowGroupReader::Contents {
 public:
  FilteredRowGroup(std::shared_ptr<parquet::RowGroupReader> inner, const Plan* plan, int rg,
                   std::shared_ptr<arrow::io::RandomAccessFile> file,
                   parquet::ReaderProperties props)
      : inner_(std::move(inner)),
        plan_(plan),
        rg_(rg),
        file_(std::move(file)),
        props_(std::move(props)) {}
  std::unique_ptr<parquet::PageReader> GetColumnPageReader(int i) override {
    auto it = plan_->find({rg_, i});
    if (it == plan_->end()) return inner_->GetColumnPageReader(i);
    auto cc = inner_->metadata()->ColumnChunk(i);
    auto stream = std::make_shared<PageRangesStream>(file_, it->second);
    return parquet::PageReader::Open(stream, cc->num_values(), cc->compression(), props_);
  }
  const parquet::RowGroupMetaData* metadata() const override { return inner_->metadata(); }
  const parquet::ReaderProperties* properties() const override { return &props_; }

 private:
  std::shared_ptr<parquet::RowGroupReader> inner_;
  const Plan* plan_;
  int rg_;
  std::shared_ptr<arrow::io::RandomAccessFile> file_;
  parquet::ReaderProperties props_;
};

class FilteredFile : public parquet::ParquetFileReader::Contents {
 public:
  FilteredFile(std::unique_ptr<parquet::ParquetFileReader::Contents> inner, const Plan* plan,
               std::shared_ptr<arrow::io::RandomAccessFile> file, parquet::ReaderProperties props)
      : inner_(std::move(inner)), plan_(plan), file_(std::move(file)), props_(std::move(props)) {}
  void Close() override { inner_->Close(); }
  std::shared_ptr<parquet::RowGroupReader> GetRowGroup(int i) override {
    return std::make_shared<parquet::RowGroupReader>(
        std::make_unique<FilteredRowGroup>(inner_->GetRowGroup(i), plan_, i, file_, props_));
  }
  std::shared_ptr<parquet::FileMetaData> metadata() const override { return inner_->metadata(); }
  std::shared_ptr<parquet::PageIndexReader> GetPageIndexReader() override {
    return inner_->GetPageIndexReader();
  }
  parquet::BloomFilterReader& GetBloomFilterReader() override {
    return inner_->GetBloomFilterReader();
  }

 private:
  std::unique_ptr<parquet::ParquetFileReader::Contents> inner_;
  const Plan* plan_;
  std::shared_ptr<arrow::io::RandomAccessFile> file_;
  parquet::ReaderProperties props_;
};

Intervals Normalize(Intervals v) {
  std::sort(v.begin(), v.end());
  Intervals out;
  for (const auto& iv : v) {
    if (iv.first >= iv.second) continue;
    if (!out.empty() && iv.first <= out.back().second) {
      out.back().second = std::max(out.back().second, iv.second);
    } else {
      out.push_back(iv);
    }
  }
  return out;
}

// Row ranges [first_row, next_first_row) of the pages of one column chunk, rg-relative.
Intervals PageRanges(const parquet::OffsetIndex& oi, int64_t rg_rows) {
  const auto& pages = oi.page_locations();
  Intervals r;
  for (size_t p = 0; p < pages.size(); ++p) {
    const int64_t end = p + 1 < pages.size() ? pages[p + 1].first_row_index : rg_rows;
    r.emplace_back(pages[p].first_row_index, end);
  }
  return r;
}

bool Overlaps(const Intervals& s, int64_t b, int64_t e) {
  auto it =
      std::upper_bound(s.begin(), s.end(), std::make_pair(b, std::numeric_limits<int64_t>::max()));
  if (it != s.begin() && std::prev(it)->second > b) return true;
  return it != s.end() && it->first < e;
}

}  // namespace

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> AilakeFileReader::Impl::NewReader(
    bool use_threads) const {
  std::unique_ptr<parquet::arrow::FileReader> fr;
  ARROW_RETURN_NOT_OK(ParquetCall("opening a Parquet reader", [&]() -> arrow::Status {
    auto pq = parquet::ParquetFileReader::Open(file, VerifyingReaderProperties(), metadata);
    auto props = parquet::default_arrow_reader_properties();
    props.set_use_threads(use_threads);
    return parquet::arrow::FileReader::Make(arrow::default_memory_pool(), std::move(pq), props,
                                            &fr);
  }));
  return fr;
}

arrow::Result<std::shared_ptr<parquet::OffsetIndex>> AilakeFileReader::Impl::OffsetIndexOf(
    int rg, int leaf) const {
  std::lock_guard<std::mutex> lock(mu);
  auto it = offset_indexes.find({rg, leaf});
  if (it != offset_indexes.end()) return it->second;
  std::shared_ptr<parquet::OffsetIndex> oi;
  ARROW_RETURN_NOT_OK(ParquetCall("reading the offset index", [&]() {
    if (!page_index_opened) {
      page_index = arrow_reader->parquet_reader()->GetPageIndexReader();
      page_index_opened = true;
    }
    if (!page_index) return arrow::Status::OK();
    auto& rgi = rg_page_index[rg];
    if (!rgi) rgi = page_index->RowGroup(rg);
    if (rgi) oi = rgi->GetOffsetIndex(leaf);
    return arrow::Status::OK();
  }));
  offset_indexes[{rg, leaf}] = oi;
  return oi;
}

std::vector<int> AilakeFileReader::Impl::LeavesOf(int field) const {
  std::vector<int> leaves;
  std::function<void(const parquet::arrow::SchemaField&)> walk = [&](const auto& f) {
    if (f.column_index >= 0) leaves.push_back(f.column_index);
    for (const auto& c : f.children) walk(c);
  };
  walk(arrow_reader->manifest().schema_fields[field]);
  return leaves;
}

arrow::Result<std::vector<std::pair<int64_t, int64_t>>> AilakeFileReader::Impl::PageByteRanges(
    int rg, int leaf, const parquet::OffsetIndex& oi, std::span<const size_t> kept) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  const auto& pages = oi.page_locations();
  std::unique_ptr<parquet::ColumnChunkMetaData> cc;
  ARROW_RETURN_NOT_OK(ParquetCall("reading column chunk metadata", [&]() {
    cc = metadata->RowGroup(rg)->ColumnChunk(leaf);
    return arrow::Status::OK();
  }));
  const int64_t chunk_start = cc->has_dictionary_page() && cc->dictionary_page_offset() > 0
                                  ? std::min(cc->dictionary_page_offset(), cc->data_page_offset())
                                  : cc->data_page_offset();
  const int64_t chunk_end = chunk_start + cc->total_compressed_size();
  if (!pages.empty() && pages[0].offset > chunk_start) {
    out.emplace_back(chunk_start, pages[0].offset - chunk_start);  // dictionary page
  }
  for (const size_t p : kept) {
    if (p >= pages.size() || pages[p].offset < chunk_start || pages[p].compressed_page_size < 0 ||
        pages[p].offset + pages[p].compressed_page_size > chunk_end) {
      return arrow::Status::Invalid("row group ", rg, " column ", leaf, " page ", p,
                                    ": offset index entry lies outside its column chunk");
    }
    out.emplace_back(pages[p].offset, pages[p].compressed_page_size);
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> AilakeFileReader::Impl::ReadIntervals(
    const std::vector<int>& fields, const Intervals& wanted_global,
    std::span<const int64_t> gather) const {
  const auto& md = *metadata;
  const int nrg = md.num_row_groups();
  std::vector<int64_t> rg_start(nrg + 1, 0);
  for (int rg = 0; rg < nrg; ++rg) rg_start[rg + 1] = rg_start[rg] + md.RowGroup(rg)->num_rows();

  // Wanted rows per row group, rg-relative.
  std::vector<Intervals> wanted(nrg);
  for (const auto& [b, e] : wanted_global) {
    for (int rg = 0; rg < nrg; ++rg) {
      const int64_t lo = std::max(b, rg_start[rg]), hi = std::min(e, rg_start[rg + 1]);
      if (lo < hi) wanted[rg].emplace_back(lo - rg_start[rg], hi - rg_start[rg]);
    }
  }
  std::vector<int> rgs;
  for (int rg = 0; rg < nrg; ++rg) {
    if (!wanted[rg].empty()) rgs.push_back(rg);
  }

  std::vector<std::shared_ptr<arrow::Field>> out_fields;
  std::vector<std::shared_ptr<arrow::ChunkedArray>> out_columns;
  for (int field : fields) {
    const auto leaves = LeavesOf(field);
    Plan plan;
    // Rows each kept row group contributes for this field (global intervals),
    // in output order.
    Intervals covered_all;
    for (int rg : rgs) {
      const int64_t rg_rows = rg_start[rg + 1] - rg_start[rg];
      std::vector<Intervals> ranges;
      std::vector<std::shared_ptr<parquet::OffsetIndex>> chunk_offsets;
      bool have_index = true;
      for (int leaf : leaves) {
        ARROW_ASSIGN_OR_RAISE(auto oi, OffsetIndexOf(rg, leaf));
        if (!oi) {
          have_index = false;
          break;
        }
        ranges.push_back(PageRanges(*oi, rg_rows));
        chunk_offsets.push_back(oi);
      }
      Intervals covered = Normalize(wanted[rg]);
      if (have_index) {
        // Grow the covered rows until every leaf's kept pages cover exactly
        // them (leaves of one field have different page boundaries).
        for (bool changed = true; changed;) {
          changed = false;
          Intervals next;
          for (const auto& r : ranges) {
            for (const auto& [b, e] : r) {
              if (Overlaps(covered, b, e)) next.emplace_back(b, e);
            }
          }
          next = Normalize(std::move(next));
          if (next != covered) {
            covered = std::move(next);
            changed = true;
          }
        }
        for (size_t l = 0; l < leaves.size(); ++l) {
          std::vector<size_t> kept;
          for (size_t p = 0; p < ranges[l].size(); ++p) {
            if (Overlaps(covered, ranges[l][p].first, ranges[l][p].second)) kept.push_back(p);
          }
          ARROW_ASSIGN_OR_RAISE(auto bytes, PageByteRanges(rg, leaves[l], *chunk_offsets[l], kept));
          plan[{rg, leaves[l]}] = std::move(bytes);
        }
      } else {
        covered = {{0, rg_rows}};  // no page index: the whole row group
      }
      for (const auto& [b, e] : covered)
        covered_all.emplace_back(b + rg_start[rg], e + rg_start[rg]);
    }

    // Read this field through a file view that skips the other pages.
    std::shared_ptr<arrow::Table> t;
    ARROW_RETURN_NOT_OK(ParquetCall("reading selected pages", [&]() -> arrow::Status {
      parquet::ReaderProperties props = VerifyingReaderProperties();
      auto inner = parquet::ParquetFileReader::Contents::Open(file, props, metadata);
      auto contents = std::make_unique<FilteredFile>(std::move(inner), &plan, file, props);
      auto pq = std::make_unique<parquet::ParquetFileReader>();
      pq->Open(std::move(contents));
      std::unique_ptr<parquet::arrow::FileReader> fr;
      // No pre-buffering: it assumes Parquet C++'s own Contents class.
      auto arrow_props = parquet::default_arrow_reader_properties();
      arrow_props.set_pre_buffer(false);
      ARROW_RETURN_NOT_OK(parquet::arrow::FileReader::Make(arrow::default_memory_pool(),
                                                           std::move(pq), arrow_props, &fr));
      return fr->ReadRowGroups(rgs, leaves, &t);
    }));
    auto col = t->column(0);
    int64_t covered_rows = 0;
    for (const auto& [b, e] : covered_all) covered_rows += e - b;
    if (col->length() != covered_rows) {
      return arrow::Status::Invalid("field '", schema->field(field)->name(),
                                    "': selected pages gave ", col->length(),
                                    " rows, the page index promised ", covered_rows);
    }
    ARROW_ASSIGN_OR_RAISE(auto flat, arrow::Concatenate(col->chunks()));
    // Position of a global row inside `flat`.
    std::vector<int64_t> base(covered_all.size());
    int64_t acc = 0;
    for (size_t j = 0; j < covered_all.size(); ++j) {
      base[j] = acc;
      acc += covered_all[j].second - covered_all[j].first;
    }
    // The rows [row, row + len) inside `flat`. A page index that does not
    // really cover them (a corrupt one: pages starting past the row, or
    // fewer rows than it claims) is an error, never a slice out of bounds.
    auto pos_of = [&](int64_t row) -> arrow::Result<int64_t> {
      auto it = std::upper_bound(covered_all.begin(), covered_all.end(),
                                 std::make_pair(row, std::numeric_limits<int64_t>::max()));
      const size_t j = static_cast<size_t>((it == covered_all.begin() ? it : std::prev(it)) -
                                           covered_all.begin());
      if (it == covered_all.begin() || row >= covered_all[j].second) {
        return arrow::Status::Invalid("field '", schema->field(field)->name(),
                                      "': the page index covers no page holding row ", row);
      }
      return base[j] + (row - covered_all[j].first);
    };
    auto piece = [&](int64_t row, int64_t len) -> arrow::Result<std::shared_ptr<arrow::Array>> {
      ARROW_ASSIGN_OR_RAISE(const int64_t first, pos_of(row));
      ARROW_ASSIGN_OR_RAISE(const int64_t last, pos_of(row + len - 1));
      if (last - first != len - 1 || last >= flat->length()) {
        return arrow::Status::Invalid("field '", schema->field(field)->name(), "': rows [", row,
                                      ", ", row + len,
                                      ") are not within the pages the page index names");
      }
      return flat->Slice(first, len);
    };
    std::vector<std::shared_ptr<arrow::Array>> pieces;
    if (gather.empty()) {
      for (const auto& [b, e] : wanted_global) {
        ARROW_ASSIGN_OR_RAISE(auto p, piece(b, e - b));
        pieces.push_back(std::move(p));
      }
    } else {
      // Runs of consecutive rows become one slice.
      for (size_t j = 0; j < gather.size();) {
        size_t k = j + 1;
        while (k < gather.size() && gather[k] == gather[k - 1] + 1) ++k;
        ARROW_ASSIGN_OR_RAISE(auto p, piece(gather[j], static_cast<int64_t>(k - j)));
        pieces.push_back(std::move(p));
        j = k;
      }
    }
    std::shared_ptr<arrow::Array> result;
    if (pieces.empty()) {
      ARROW_ASSIGN_OR_RAISE(result, arrow::MakeEmptyArray(flat->type()));
    } else if (pieces.size() == 1) {
      result = pieces[0];
    } else {
      ARROW_ASSIGN_OR_RAISE(result, arrow::Concatenate(pieces));
    }
    out_fields.push_back(schema->field(field));
    out_columns.push_back(std::make_shared<arrow::ChunkedArray>(result));
  }
  int64_t n = 0;
  if (gather.empty()) {
    for (const auto& [b, e] : wanted_global) n += e - b;
  } else {
    n = static_cast<int64_t>(gather.size());
  }
  return arrow::Table::Make(arrow::schema(out_fields, schema->metadata()), out_columns, n);
}

arrow::Result<std::vector<int>> AilakeFileReader::Impl::ResolveFields(
    const std::vector<std::string>& columns) const {
  std::vector<int> fields;
  if (columns.empty()) {
    for (int i = 0; i < schema->num_fields(); ++i) fields.push_back(i);
    return fields;
  }
  for (const auto& c : columns) {
    const int i = schema->GetFieldIndex(c);
    if (i < 0) return arrow::Status::KeyError("no column named '", c, "' in the file");
    fields.push_back(i);
  }
  return fields;
}

arrow::Result<std::shared_ptr<arrow::Table>> AilakeFileReader::Read(const ReadRequest& req) const {
  ARROW_ASSIGN_OR_RAISE(auto fields, impl_->ResolveFields(req.columns));
  const int64_t n = num_rows();
  const int64_t end = req.row_end < 0 ? n : req.row_end;
  if (req.row_start < 0 || req.row_start > end || end > n) {
    return arrow::Status::IndexError("row range [", req.row_start, ", ", end,
                                     ") is outside the file's ", n, " rows");
  }
  if (impl_->lance) return impl_->LanceRead(fields, req.row_start, end);
  if (req.row_start == 0 && end == n) {
    // Everything: the plain Arrow reader (multi-threaded decode, no selection).
    std::shared_ptr<arrow::Table> t;
    std::vector<int> leaves;
    for (int f : fields) {
      for (int l : impl_->LeavesOf(f)) leaves.push_back(l);
    }
    ARROW_ASSIGN_OR_RAISE(auto reader, impl_->NewReader(/*use_threads=*/true));
    ARROW_RETURN_NOT_OK(
        ParquetCall("reading the file", [&]() { return reader->ReadTable(leaves, &t); }));
    return t;
  }
  Intervals want;
  if (end > req.row_start) want.emplace_back(req.row_start, end);
  return impl_->ReadIntervals(fields, want, {});
}

}  // namespace ailake
