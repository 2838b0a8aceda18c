// One AI-Lake file (layer file/): open, inspect, search, read, take.
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <arrow/io/file.h>

#include "ailake/file.h"
#include "ailake/index.h"
#include "ailake/query.h"  // ParseFilter
#include "bindings.h"
#include "convert.h"

namespace ailake::py {

namespace {

using FloatVector = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Rows = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Mask = nb::ndarray<const bool, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// A boolean mask of the file's rows as the bitmap a RowFilter views.
RowBitmap MaskBitmap(const Mask& mask, int64_t num_rows) {
  if (static_cast<int64_t>(mask.shape(0)) != num_rows) {
    Throw(arrow::Status::Invalid("allowed mask has ", mask.shape(0), " entries, file has ",
                                 num_rows, " rows"));
  }
  return RowBitmap::FromMask({reinterpret_cast<const uint8_t*>(mask.data()), mask.shape(0)});
}

nb::dict ColumnInfo(const VectorColumnInfo& c) {
  nb::dict d;
  d["name"] = c.name;
  d["dim"] = c.dim;
  d["metric"] = std::string(MetricName(c.metric));
  d["precision"] = std::string(PrecisionName(c.precision));
  d["pre_normalize"] = c.pre_normalize;
  d["has_section"] = c.has_section;
  d["index"] = std::string(IndexTypeName(c.has_section ? c.section.index_type : IndexType::kNone));
  d["index_offset"] = c.section.index_offset;
  d["index_bytes"] = c.section.index_bytes;
  return d;
}

class PyFile {
 public:
  // `codebooks`: paths of shared IVF-PQ codebook files the file's IVF-PQ
  // sections may name (a table's _indexes/*.codebook).
  static PyFile Open(const std::string& path, bool memory_map,
                     const std::vector<std::string>& codebooks) {
    FileReadOptions o;
    o.memory_map = memory_map;
    PyFile f;
    f.r_ = Value(NoGil([&] { return AilakeFileReader::Open(path, o); }));
    if (!codebooks.empty()) {
      auto loaded =
          Value(NoGil([&]() -> arrow::Result<std::vector<std::shared_ptr<const IvfPqCodebook>>> {
            std::vector<std::shared_ptr<const IvfPqCodebook>> out;
            out.reserve(codebooks.size());
            for (const auto& cb : codebooks) {
              auto read = [&]() -> arrow::Result<std::shared_ptr<const IvfPqCodebook>> {
                ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(cb));
                ARROW_ASSIGN_OR_RAISE(const int64_t size, in->GetSize());
                ARROW_ASSIGN_OR_RAISE(auto blob, in->ReadAt(0, size));
                return IvfPqCodebook::Load(std::move(blob));
              }();
              if (!read.ok())
                return read.status().WithMessage("codebook ", cb, ": ", read.status().message());
              out.push_back(*std::move(read));
            }
            return out;
          }));
      f.r_->SetIvfPqCodebooks(std::move(loaded));
    }
    return f;
  }

  bool IsAilakeFile() const { return r_->IsAilakeFile(); }
  int64_t num_rows() const { return r_->num_rows(); }
  int num_row_groups() const { return r_->num_row_groups(); }
  std::string format() const { return std::string(FileFormatName(r_->format())); }
  int64_t file_size() const { return r_->file_size(); }
  std::vector<nb::dict> vector_columns() const {
    std::vector<nb::dict> out;
    for (const auto& c : r_->vector_columns()) out.push_back(ColumnInfo(c));
    return out;
  }
  nb::object SchemaStream() const {
    return ExportReader(arrow::RecordBatchReader::Make({}, r_->schema()).ValueOrDie());
  }

  // AilakeFileReader::Search with SearchOptions: an Arrow stream of the
  // columns, "_rowid" and "_distance".
  nb::object Search(const FloatVector& query, uint32_t k, std::string column,
                    std::optional<std::vector<std::string>> columns,
                    std::optional<std::string> filter, bool exact, uint32_t ef, uint32_t nprobe,
                    uint32_t refine_factor, std::optional<Mask> allowed) const {
    SearchOptions o;
    o.k = k;
    o.vector_column = std::move(column);
    if (columns) o.columns = std::move(*columns);
    if (filter) o.filter = Value(ParseFilter(*filter));
    o.exact = exact;
    o.params = SearchParams{ef, nprobe, refine_factor};
    RowBitmap bits;
    RowFilter rows;
    if (allowed) {
      bits = MaskBitmap(*allowed, r_->num_rows());
      rows = bits.filter();
      o.allowed = &rows;
    }
    std::span<const float> q(query.data(), query.shape(0));
    return ExportTable(Value(NoGil([&] { return r_->Search(q, o); })));
  }

  // (rows, distances) of up to k nearest rows, no column read.
  nb::tuple SearchRows(const FloatVector& query, uint32_t k, std::string column, uint32_t ef,
                       uint32_t nprobe, uint32_t refine_factor, std::optional<Mask> allowed) const {
    SearchParams params{ef, nprobe, refine_factor};
    RowBitmap bits;
    RowFilter filter;
    if (allowed) {
      bits = MaskBitmap(*allowed, r_->num_rows());
      filter = bits.filter();
    }
    std::span<const float> q(query.data(), query.shape(0));
    auto hits =
        Value(NoGil([&] { return r_->Search(q, k, params, allowed ? &filter : nullptr, column); }));
    auto* rows = new int64_t[hits.size()];
    auto* dist = new float[hits.size()];
    for (size_t i = 0; i < hits.size(); ++i) {
      rows[i] = hits[i].row;
      dist[i] = hits[i].distance;
    }
    nb::capsule rows_owner(rows, [](void* p) noexcept { delete[] static_cast<int64_t*>(p); });
    nb::capsule dist_owner(dist, [](void* p) noexcept { delete[] static_cast<float*>(p); });
    size_t n = hits.size();
    return nb::make_tuple(nb::ndarray<nb::numpy, int64_t, nb::ndim<1>>(rows, {n}, rows_owner),
                          nb::ndarray<nb::numpy, float, nb::ndim<1>>(dist, {n}, dist_owner));
  }

  nb::object Read(std::optional<std::vector<std::string>> columns, int64_t row_start,
                  int64_t row_end) const {
    ReadRequest req;
    if (columns) req.columns = *columns;
    req.row_start = row_start;
    req.row_end = row_end;
    return ExportTable(Value(NoGil([&] { return r_->Read(req); })));
  }

  nb::object Take(const Rows& rows, const std::optional<std::vector<std::string>>& columns) const {
    std::span<const int64_t> span(rows.data(), rows.shape(0));
    std::vector<std::string> cols = columns.value_or(std::vector<std::string>{});
    return ExportTable(Value(NoGil([&] { return r_->Take(span, cols); })));
  }

  nb::tuple Centroid(std::string column) const {
    auto c = Value(NoGil([&] { return r_->ReadCentroid(column); }));
    auto* data = new float[c.centroid.size()];
    std::copy(c.centroid.begin(), c.centroid.end(), data);
    nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<float*>(p); });
    return nb::make_tuple(
        nb::ndarray<nb::numpy, float, nb::ndim<1>>(data, {c.centroid.size()}, owner), c.radius);
  }

  void Verify() const {
    Check(NoGil([&] { return r_->Verify(); }));
  }

 private:
  std::shared_ptr<AilakeFileReader> r_;
};

}  // namespace

void BindFiles(nb::module_& m) {
  nb::class_<PyFile>(m, "File")
      .def_static("open", &PyFile::Open, nb::arg("path"), nb::arg("memory_map"),
                  nb::arg("codebooks"))
      .def("is_ailake_file", &PyFile::IsAilakeFile)
      .def_prop_ro("num_rows", &PyFile::num_rows)
      .def_prop_ro("num_row_groups", &PyFile::num_row_groups)
      .def("format", &PyFile::format)
      .def_prop_ro("file_size", &PyFile::file_size)
      .def("vector_columns", &PyFile::vector_columns)
      .def("schema_stream", &PyFile::SchemaStream)
      .def("search", &PyFile::Search, nb::arg("query"), nb::arg("k"), nb::arg("column"),
           nb::arg("columns").none(), nb::arg("filter").none(), nb::arg("exact"), nb::arg("ef"),
           nb::arg("nprobe"), nb::arg("refine_factor"), nb::arg("allowed").none())
      .def("search_rows", &PyFile::SearchRows, nb::arg("query"), nb::arg("k"), nb::arg("column"),
           nb::arg("ef"), nb::arg("nprobe"), nb::arg("refine_factor"), nb::arg("allowed").none())
      .def("read", &PyFile::Read, nb::arg("columns").none(), nb::arg("row_start"),
           nb::arg("row_end"))
      .def("take", &PyFile::Take, nb::arg("rows"), nb::arg("columns").none())
      .def("centroid", &PyFile::Centroid, nb::arg("column"))
      .def("verify", &PyFile::Verify);
}

}  // namespace ailake::py
