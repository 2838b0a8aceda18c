// Avro object container files (Avro 1.11 specification, "Object Container
// Files") whose records Avro C (Debian libavro-dev) encodes. Avro C's own
// file writer re-serializes the schema and drops attributes it does not know,
// such as Iceberg's "field-id", which Iceberg readers need to resolve
// manifests; so the container (header with the schema text as given, one
// data block, sync markers) is framed here and each record is encoded by
// Avro C from the same schema.
// Not thread-safe: one writer per thread.
#pragma once

#include <avro.h>

#include <functional>
#include <map>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake::table {

class AvroContainerWriter {
 public:
  // `schema_json`: the writer schema, kept verbatim in the header (extra
  // attributes included). `metadata`: further header entries (avro.schema and
  // avro.codec = null are added).
  static arrow::Result<std::unique_ptr<AvroContainerWriter>> Make(
      const std::string& schema_json, std::map<std::string, std::string> metadata = {});
  ~AvroContainerWriter();
  AvroContainerWriter(const AvroContainerWriter&) = delete;
  AvroContainerWriter& operator=(const AvroContainerWriter&) = delete;

  // Appends one record: `fill` sets the fields of a fresh record value.
  arrow::Status Append(const std::function<arrow::Status(avro_value_t* record)>& fill);
  // The whole file. Equal schema, metadata and records give equal bytes
  // (the sync marker is derived from them).
  std::string Finish() const;

 private:
  AvroContainerWriter() = default;
  std::string schema_json_;
  std::map<std::string, std::string> metadata_;
  avro_schema_t schema_ = nullptr;
  avro_value_iface_t* iface_ = nullptr;
  std::string block_;
  int64_t count_ = 0;
};

// Avro C error text as a Status.
arrow::Status AvroError(const char* what);

// Helpers to set a record's field (by name) with an error naming it.
arrow::Status SetLong(avro_value_t* rec, const char* name, int64_t v);
arrow::Status SetInt(avro_value_t* rec, const char* name, int32_t v);
arrow::Status SetString(avro_value_t* rec, const char* name, const std::string& v);
// A ["null", ...] union field set to null.
arrow::Status SetNull(avro_value_t* rec, const char* name);
// A ["null", "long"] union field set to a long.
arrow::Status SetOptionalLong(avro_value_t* rec, const char* name, int64_t v);

}  // namespace ailake::table
