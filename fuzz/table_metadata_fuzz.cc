// Fuzz target for the table layer's and the CLI's parsers of untrusted bytes:
// the first byte picks the parser, the rest is its input.
//   0: Manifest (protobuf) + ValidateManifest + ManifestSchema
//   1: deletion file
//   2: filter text (ParseFilter)
//   3: .npy matrix
#include <cstddef>
#include <cstdint>
#include <string>

#include <arrow/buffer.h>

#include "ailake/cli/npy.h"
#include "ailake/query.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/manifest_store.h"
#include "ailake/table/table_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] % 4;
  const uint8_t* p = data + 1;
  const size_t n = size - 1;
  switch (which) {
    case 0: {
      ailake::table::Manifest m;
      if (m.ParseFromArray(p, static_cast<int>(n)) && ailake::table::ValidateManifest(m).ok()) {
        (void)ailake::table::ManifestSchema(m);
      }
      break;
    }
    case 1: {
      arrow::Buffer buf(p, static_cast<int64_t>(n));
      for (uint64_t rows : {0ull, 10ull, 1000ull, 1ull << 32}) {
        (void)ailake::table::ParseDeletionFile(buf, rows);
      }
      break;
    }
    case 2: (void)ailake::ParseFilter(std::string(reinterpret_cast<const char*>(p), n)); break;
    default: (void)ailake::cli::ParseNpy(p, n); break;
  }
  return 0;
}
