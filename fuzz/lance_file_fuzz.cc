// Fuzz target for the Lance file reader (src/ailake/encoding/lance_reader.cc):
// footer, offset tables, schema descriptor, column metadata and every page
// encoding it decodes. A file that opens is read whole, taken from and
// scanned in small batches.
#include <arrow/api.h>
#include <arrow/io/memory.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ailake/lance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto buf = std::make_shared<arrow::Buffer>(data, static_cast<int64_t>(size));
  auto r = ailake::LanceFileReader::Open(std::make_shared<arrow::io::BufferReader>(buf));
  if (!r.ok()) return 0;
  const auto& reader = **r;
  if (reader.num_rows() > (int64_t{1} << 24)) return 0;  // decoding would be slow, not wrong
  (void)reader.Read();
  if (reader.num_rows() > 0) {
    std::vector<int64_t> rows = {reader.num_rows() - 1, 0, reader.num_rows() / 2};
    (void)reader.Take(rows);
  }
  auto scan = reader.Scan(7);
  if (scan.ok()) {
    std::shared_ptr<arrow::RecordBatch> batch;
    for (int i = 0; i < 100000; ++i) {
      if (!(*scan)->ReadNext(&batch).ok() || !batch) break;
    }
  }
  return 0;
}
