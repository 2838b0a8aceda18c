// A small command-line driver of the file layer, used by the Python interop
// tests (tests/python/test_file_interop.py) until Python bindings exist.
//
//   ailake_file_tool write OUT MODE BATCH.arrow VEC...
//       MODE: parquet_only | write | multi
//       BATCH.arrow: Arrow IPC file with the other columns (one or more batches)
//       VEC: name:dim:metric:precision:index:vectors.npy (float32 C-order n x dim)
//            precision int8 uses per-vector scaling; "int8fixed" fits one scale
//   ailake_file_tool index-later IN OUT VEC...      (VEC without :vectors.npy)
//   ailake_file_tool info FILE                      JSON: columns, sections, centroid
//   ailake_file_tool search FILE COLUMN K QUERIES.npy [ef]   one line of rows per query
//   ailake_file_tool take FILE OUT.arrow ROW...     the rows, all columns, as Arrow IPC
//   ailake_file_tool verify FILE
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/api.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ailake/ailake.h"
#include "ailake/vec/codec.h"
#include "ailake/vec/npy.h"

namespace {

using ailake::VectorStoragePolicy;

// The vectors of a float .npy (src/ailake/vec/npy.h, the one .npy reader).
arrow::Result<std::vector<float>> ReadNpy(const std::string& path, int64_t* rows, int64_t* cols) {
  ARROW_ASSIGN_OR_RAISE(auto m, ailake::vec::ReadNpyFile(path));
  *rows = m.rows;
  *cols = m.cols;
  return std::move(m.values);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, sep)) out.push_back(part);
  return out;
}

struct VecArg {
  VectorStoragePolicy policy;
  std::vector<float> values;
};

arrow::Result<VecArg> ParseVec(const std::string& arg, bool with_values) {
  auto p = Split(arg, ':');
  if (p.size() != (with_values ? 6u : 5u)) return arrow::Status::Invalid("bad VEC '", arg, "'");
  VecArg v;
  v.policy.vector_column = p[0];
  v.policy.dim = static_cast<uint32_t>(std::stoul(p[1]));
  ARROW_ASSIGN_OR_RAISE(v.policy.metric, ailake::ParseMetric(p[2]));
  v.policy.pre_normalize = v.policy.metric == ailake::DistanceMetric::kNormalizedCosine;
  const bool fixed = p[3] == "int8fixed";
  ARROW_ASSIGN_OR_RAISE(v.policy.precision, ailake::ParsePrecision(fixed ? "int8" : p[3]));
  if (v.policy.precision == ailake::Precision::kInt8) {
    v.policy.int8.scaling = fixed ? ailake::Int8Scaling::kFixed : ailake::Int8Scaling::kPerVector;
  }
  ARROW_ASSIGN_OR_RAISE(v.policy.index_type, ailake::ParseIndexType(p[4]));
  if (v.policy.index_type == ailake::IndexType::kIvfPq) {
    v.policy.ivf_pq.nlist = 16;
    v.policy.ivf_pq.m = v.policy.dim % 8 == 0 ? 8 : 1;
  }
  if (with_values) {
    int64_t rows, cols;
    ARROW_ASSIGN_OR_RAISE(v.values, ReadNpy(p[5], &rows, &cols));
    if (cols != v.policy.dim)
      return arrow::Status::Invalid(p[5], " has ", cols, " columns, dim ", p[1]);
    if (fixed) v.policy.int8 = ailake::vec::FitFixedInt8(v.values.data(), rows, v.policy.dim);
    v.policy.int8.scaling = fixed ? ailake::Int8Scaling::kFixed : v.policy.int8.scaling;
  }
  return v;
}

arrow::Status Write(const std::string& out, const std::string& mode, const std::string& batch_path,
                    const std::vector<std::string>& vec_args) {
  ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(batch_path));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchFileReader::Open(in));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int i = 0; i < reader->num_record_batches(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto b, reader->ReadRecordBatch(i));
    batches.push_back(b);
  }
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(reader->schema(), batches));
  ARROW_ASSIGN_OR_RAISE(auto batch, table->CombineChunksToBatch());
  std::vector<VecArg> vecs;
  for (const auto& a : vec_args) {
    ARROW_ASSIGN_OR_RAISE(auto v, ParseVec(a, true));
    vecs.push_back(std::move(v));
  }
  if (vecs.empty()) return arrow::Status::Invalid("no VEC");
  ailake::AilakeFileWriter w(vecs[0].policy);
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::FileOutputStream::Open(out));
  if (mode == "parquet_only") {
    ARROW_RETURN_NOT_OK(w.WriteParquetOnly(*batch, vecs[0].values, sink.get()));
  } else if (mode == "write") {
    ARROW_RETURN_NOT_OK(w.Write(*batch, vecs[0].values, sink.get()));
  } else if (mode == "multi") {
    std::vector<ailake::VectorColumnBatch> cols;
    cols.reserve(vecs.size());
    for (const auto& v : vecs) cols.push_back({v.policy, v.values});
    ARROW_RETURN_NOT_OK(w.WriteMulti(*batch, cols, sink.get()));
  } else {
    return arrow::Status::Invalid("unknown mode ", mode);
  }
  return sink->Close();
}

arrow::Status IndexLater(const std::string& in_path, const std::string& out,
                         const std::vector<std::string>& vec_args) {
  std::vector<VectorStoragePolicy> policies;
  for (const auto& a : vec_args) {
    ARROW_ASSIGN_OR_RAISE(auto v, ParseVec(a, false));
    policies.push_back(v.policy);
  }
  ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(in_path));
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::FileOutputStream::Open(out));
  ARROW_RETURN_NOT_OK(ailake::AppendIndexSections(in, policies, sink.get()));
  return sink->Close();
}

arrow::Status Info(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto r, ailake::AilakeFileReader::Open(path));
  std::cout << "{\"is_ailake\": " << (r->IsAilakeFile() ? "true" : "false")
            << ", \"num_rows\": " << r->num_rows() << ", \"columns\": [";
  bool first = true;
  for (const auto& v : r->vector_columns()) {
    std::cout << (first ? "" : ", ") << "{\"name\": \"" << v.name << "\", \"dim\": " << v.dim
              << ", \"metric\": \"" << ailake::MetricName(v.metric) << "\", \"precision\": \""
              << ailake::PrecisionName(v.precision)
              << "\", \"has_section\": " << (v.has_section ? "true" : "false");
    if (v.has_section) {
      std::cout << ", \"offset\": " << v.section.offset << ", \"length\": " << v.section.length
                << ", \"key\": \"" << v.section.kv_key << "\", \"index\": \""
                << ailake::IndexTypeName(v.section.index_type) << "\"";
      ARROW_ASSIGN_OR_RAISE(auto c, r->ReadCentroid(v.name));
      std::cout << ", \"radius\": " << c.radius << ", \"centroid\": [";
      for (size_t i = 0; i < c.centroid.size(); ++i) std::cout << (i ? ", " : "") << c.centroid[i];
      std::cout << "]";
    }
    std::cout << "}";
    first = false;
  }
  std::cout << "]}\n";
  return arrow::Status::OK();
}

arrow::Status Search(const std::string& path, const std::string& column, uint32_t k,
                     const std::string& queries, uint32_t ef) {
  ARROW_ASSIGN_OR_RAISE(auto r, ailake::AilakeFileReader::Open(path));
  int64_t n, d;
  ARROW_ASSIGN_OR_RAISE(auto q, ReadNpy(queries, &n, &d));
  ailake::SearchParams params;
  params.ef = ef;
  params.nprobe = ef;
  for (int64_t i = 0; i < n; ++i) {
    ARROW_ASSIGN_OR_RAISE(auto hits, r->Search({q.data() + i * d, static_cast<size_t>(d)}, k,
                                               params, nullptr, column));
    for (size_t j = 0; j < hits.size(); ++j) std::cout << (j ? " " : "") << hits[j].row;
    std::cout << "\n";
  }
  return arrow::Status::OK();
}

arrow::Status Take(const std::string& path, const std::string& out,
                   const std::vector<int64_t>& rows) {
  ARROW_ASSIGN_OR_RAISE(auto r, ailake::AilakeFileReader::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto t, r->Take(rows));
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::FileOutputStream::Open(out));
  ARROW_ASSIGN_OR_RAISE(auto w, arrow::ipc::MakeFileWriter(sink, t->schema()));
  ARROW_RETURN_NOT_OK(w->WriteTable(*t));
  ARROW_RETURN_NOT_OK(w->Close());
  return sink->Close();
}

arrow::Status Main(const std::vector<std::string>& a) {
  if (a.size() >= 4 && a[0] == "write") {
    return Write(a[1], a[2], a[3], {a.begin() + 4, a.end()});
  }
  if (a.size() >= 4 && a[0] == "index-later")
    return IndexLater(a[1], a[2], {a.begin() + 3, a.end()});
  if (a.size() == 2 && a[0] == "info") return Info(a[1]);
  if (a.size() >= 5 && a[0] == "search") {
    return Search(a[1], a[2], static_cast<uint32_t>(std::stoul(a[3])), a[4],
                  a.size() > 5 ? static_cast<uint32_t>(std::stoul(a[5])) : 0);
  }
  if (a.size() >= 3 && a[0] == "take") {
    std::vector<int64_t> rows;
    for (size_t i = 3; i < a.size(); ++i) rows.push_back(std::stoll(a[i]));
    return Take(a[1], a[2], rows);
  }
  if (a.size() == 2 && a[0] == "verify") {
    ARROW_ASSIGN_OR_RAISE(auto r, ailake::AilakeFileReader::Open(a[1]));
    ARROW_RETURN_NOT_OK(r->Verify());
    std::cout << "ok\n";
    return arrow::Status::OK();
  }
  return arrow::Status::Invalid("usage: see the comment at the top of tests/file_writer_tool.cc");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  arrow::Status st;
  try {
    st = Main(args);
  } catch (const std::exception& e) {
    st = arrow::Status::Invalid("bad argument: ", e.what());
  }
  if (!st.ok()) {
    std::cerr << "error: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}
