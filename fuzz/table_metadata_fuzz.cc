// Fuzz targets for the table layer's and the CLI's parsers of untrusted bytes,
// one binary per parser (fuzz/CMakeLists.txt compiles this file once for each,
// AILAKE_FUZZ_PARSER picking it):
//   manifest_fuzz       manifest file bytes (DecodeManifestFile: envelope or
//                       bare message), then ValidateManifest + ManifestSchema;
//                       the same bytes also parsed as a bare Manifest message
//   deletion_file_fuzz  ParseDeletionFile, for the physical row count the
//                       header names and a few fixed ones; a second time with
//                       the checksum recomputed, so that mutations reach the
//                       checks behind it
//   filter_fuzz         filter text (ParseFilter)
//   npy_fuzz            a .npy matrix, read as floats (the CLI's vector input)
//                       and as integers (the ANN benchmark's ground truth)
//   iceberg_avro_fuzz   an Iceberg manifest list or manifest (Avro container,
//                       decoded by Avro C), read as IcebergSource reads them
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <arrow/buffer.h>

#include "ailake/query.h"
#include "ailake/table/avro_container.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/manifest_store.h"
#include "ailake/table/table_schema.h"
#include "ailake/vec/npy.h"

#define AILAKE_FUZZ_MANIFEST 0
#define AILAKE_FUZZ_DELETION_FILE 1
#define AILAKE_FUZZ_FILTER 2
#define AILAKE_FUZZ_NPY 3
#define AILAKE_FUZZ_ICEBERG_AVRO 4
#ifndef AILAKE_FUZZ_PARSER
#error "define AILAKE_FUZZ_PARSER (fuzz/CMakeLists.txt)"
#endif

namespace {

[[maybe_unused]] void CheckManifest(const ailake::table::Manifest& m) {
  if (ailake::table::ValidateManifest(m).ok()) (void)ailake::table::ManifestSchema(m);
}

[[maybe_unused]] void ParseDeletion(const uint8_t* data, size_t size) {
  uint64_t header_rows = 0;
  if (size >= 16) std::memcpy(&header_rows, data + 8, 8);
  arrow::Buffer buf(data, static_cast<int64_t>(size));
  for (uint64_t rows :
       {header_rows, uint64_t{0}, uint64_t{10}, uint64_t{1000}, uint64_t{1} << 32}) {
    (void)ailake::table::ParseDeletionFile(buf, rows);
  }
  // The checksum (last 8 bytes) recomputed over the rest.
  if (size >= 32) {
    std::vector<uint8_t> fixed(data, data + size);
    const uint64_t sum = ailake::table::Fnv1a64(fixed.data(), size - 8);
    std::memcpy(fixed.data() + size - 8, &sum, 8);
    arrow::Buffer fixed_buf(fixed.data(), static_cast<int64_t>(size));
    (void)ailake::table::ParseDeletionFile(fixed_buf, header_rows);
  }
}

[[maybe_unused]] void ReadIcebergAvro(const uint8_t* data, size_t size) {
  using namespace ailake::table;  // NOLINT(google-build-using-namespace)
  auto r = AvroContainerReader::Open(
      arrow::Buffer::FromString(std::string(reinterpret_cast<const char*>(data), size)),
      "fuzz.avro");
  if (!r.ok()) return;
  for (int i = 0; i < 10000; ++i) {
    auto rec = (*r)->Next();
    if (!rec.ok() || *rec == nullptr) return;
    // The fields of a manifest list entry, then of a manifest entry.
    (void)GetString(*rec, "manifest_path");
    (void)GetInt(*rec, "content");
    (void)GetLong(*rec, "sequence_number");
    (void)GetInt(*rec, "status");
    (void)GetOptionalLong(*rec, "sequence_number");
    auto df = GetRecord(*rec, "data_file");
    if (!df.ok()) continue;
    (void)GetInt(&*df, "content");
    (void)GetString(&*df, "file_path");
    (void)GetString(&*df, "file_format");
    (void)GetLong(&*df, "record_count");
    (void)GetLong(&*df, "file_size_in_bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#if AILAKE_FUZZ_PARSER == AILAKE_FUZZ_MANIFEST
  auto m = ailake::table::DecodeManifestFile({data, size}, "fuzz.manifest");
  if (m.ok()) CheckManifest(*m);
  ailake::table::Manifest bare;
  if (bare.ParseFromArray(data, static_cast<int>(size))) CheckManifest(bare);
#elif AILAKE_FUZZ_PARSER == AILAKE_FUZZ_DELETION_FILE
  ParseDeletion(data, size);
#elif AILAKE_FUZZ_PARSER == AILAKE_FUZZ_FILTER
  (void)ailake::ParseFilter(std::string(reinterpret_cast<const char*>(data), size));
#elif AILAKE_FUZZ_PARSER == AILAKE_FUZZ_NPY
  (void)ailake::vec::ParseNpy(data, size);
  (void)ailake::vec::ParseNpyInt64(data, size);
#elif AILAKE_FUZZ_PARSER == AILAKE_FUZZ_ICEBERG_AVRO
  ReadIcebergAvro(data, size);
#else
#error "unknown AILAKE_FUZZ_PARSER"
#endif
  return 0;
}
