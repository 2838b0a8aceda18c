// The ailake side of bench/file/run.py: each command times one operation on
// files the driver prepared and prints one JSON object.
//
//   ailake_file_bench write TABLE.arrow OUT.parquet RUNS
//       WriteParquetOnly of the IPC table (its `embedding` FixedSizeList<float32>
//       column becomes the f32 vector column); best wall time of RUNS
//   ailake_file_bench read FILE RUNS          full read, all columns, as Arrow
//   ailake_file_bench take FILE ROWS.txt RUNS all columns of the listed rows
//   ailake_file_bench index TABLE.arrow OUT.parquet METRIC PRECISION
//       Write with an HNSW section (build time reported)
//   ailake_file_bench open_search FILE QUERY.f32  open + load index + first search (k=10), then a
//   second
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/ipc/api.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <limits>

#include "ailake/ailake.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadIpc(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto in,
                        arrow::io::MemoryMappedFile::Open(path, arrow::io::FileMode::READ));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ipc::RecordBatchFileReader::Open(in));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (int i = 0; i < reader->num_record_batches(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto b, reader->ReadRecordBatch(i));
    batches.push_back(b);
  }
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(reader->schema(), batches));
  return table->CombineChunksToBatch();
}

ailake::VectorStoragePolicy PolicyFor(const arrow::RecordBatch& b) {
  ailake::VectorStoragePolicy p;
  p.vector_column = "embedding";
  const auto& t =
      static_cast<const arrow::FixedSizeListType&>(*b.GetColumnByName("embedding")->type());
  p.dim = static_cast<uint32_t>(t.list_size());
  p.metric = ailake::DistanceMetric::kCosine;
  return p;
}

arrow::Status Main(const std::vector<std::string>& a) {
  if (a.size() == 4 && a[0] == "write") {
    ARROW_ASSIGN_OR_RAISE(auto batch, ReadIpc(a[1]));
    ailake::AilakeFileWriter w(PolicyFor(*batch));
    double best = std::numeric_limits<double>::max();
    for (int r = 0; r < std::stoi(a[3]); ++r) {
      const auto t0 = Clock::now();
      ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(a[2]));
      ARROW_RETURN_NOT_OK(w.WriteParquetOnly(*batch, {}, out.get()));
      ARROW_RETURN_NOT_OK(out->Close());
      best = std::min(best, Seconds(t0, Clock::now()));
    }
    std::cout << "{\"op\": \"write_parquet_only\", \"seconds\": " << best << "}\n";
    return arrow::Status::OK();
  }
  if (a.size() == 3 && a[0] == "read") {
    double best = std::numeric_limits<double>::max();
    int64_t rows = 0;
    for (int r = 0; r < std::stoi(a[2]); ++r) {
      const auto t0 = Clock::now();
      ARROW_ASSIGN_OR_RAISE(auto reader, ailake::AilakeFileReader::Open(a[1]));
      ARROW_ASSIGN_OR_RAISE(auto t, reader->Read());
      rows = t->num_rows();
      best = std::min(best, Seconds(t0, Clock::now()));
    }
    std::cout << "{\"op\": \"read\", \"rows\": " << rows << ", \"seconds\": " << best << "}\n";
    return arrow::Status::OK();
  }
  if (a.size() == 4 && a[0] == "take") {
    std::vector<int64_t> rows;
    std::ifstream in(a[2]);
    for (int64_t x; in >> x;) rows.push_back(x);
    double best = std::numeric_limits<double>::max();
    int64_t got = 0;
    for (int r = 0; r < std::stoi(a[3]); ++r) {
      const auto t0 = Clock::now();
      ARROW_ASSIGN_OR_RAISE(auto reader, ailake::AilakeFileReader::Open(a[1]));
      ARROW_ASSIGN_OR_RAISE(auto t, reader->Take(rows));
      got = t->num_rows();
      best = std::min(best, Seconds(t0, Clock::now()));
    }
    std::cout << "{\"op\": \"take\", \"rows\": " << got << ", \"seconds\": " << best << "}\n";
    return arrow::Status::OK();
  }
  if (a.size() == 5 && a[0] == "index") {
    ARROW_ASSIGN_OR_RAISE(auto batch, ReadIpc(a[1]));
    auto p = PolicyFor(*batch);
    ARROW_ASSIGN_OR_RAISE(p.metric, ailake::ParseMetric(a[3]));
    ARROW_ASSIGN_OR_RAISE(p.precision, ailake::ParsePrecision(a[4]));
    p.index_type = ailake::IndexType::kHnsw;
    p.hnsw.m = 16;
    p.hnsw.ef_construction = 150;
    ailake::AilakeFileWriter w(p);
    const auto t0 = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(a[2]));
    ARROW_RETURN_NOT_OK(w.Write(*batch, {}, out.get()));
    ARROW_RETURN_NOT_OK(out->Close());
    std::cout << "{\"op\": \"index\", \"seconds\": " << Seconds(t0, Clock::now()) << "}\n";
    return arrow::Status::OK();
  }
  if (a.size() == 3 && a[0] == "open_search") {
    std::ifstream in(a[2], std::ios::binary | std::ios::ate);
    std::vector<float> query(static_cast<size_t>(in.tellg()) / 4);
    in.seekg(0);
    in.read(reinterpret_cast<char*>(query.data()), static_cast<std::streamsize>(query.size() * 4));
    ailake::SearchParams params;
    params.ef = 50;
    const auto t0 = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto reader, ailake::AilakeFileReader::Open(a[1]));
    ARROW_ASSIGN_OR_RAISE(auto hits, reader->Search(query, 10, params));
    const auto t1 = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto again, reader->Search(query, 10, params));
    const auto t2 = Clock::now();
    std::cout << "{\"op\": \"open_search\", \"seconds\": " << Seconds(t0, t1)
              << ", \"second_search_seconds\": " << Seconds(t1, t2) << ", \"top\": [";
    for (size_t i = 0; i < hits.size(); ++i) std::cout << (i ? ", " : "") << hits[i].row;
    std::cout << "]}\n";
    return arrow::Status::OK();
  }
  return arrow::Status::Invalid("usage: see bench/file/file_bench.cc");
}

}  // namespace

int main(int argc, char** argv) {
  const auto st = Main({argv + 1, argv + argc});
  if (!st.ok()) {
    std::cerr << "error: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}
