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

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <arrow/buffer.h>
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

// The records of an Avro object container file, decoded by Avro C's own
// reader (every codec it was built with: null, deflate, snappy, lzma) with
// the file's writer schema. Reads only from memory (`bytes`, kept alive);
// `name` names the file in errors. Not thread-safe: one reader per thread.
class AvroContainerReader {
 public:
  static arrow::Result<std::unique_ptr<AvroContainerReader>> Open(
      std::shared_ptr<arrow::Buffer> bytes, std::string name);
  ~AvroContainerReader();
  AvroContainerReader(const AvroContainerReader&) = delete;
  AvroContainerReader& operator=(const AvroContainerReader&) = delete;

  // The next record, or nullptr after the last. Valid until the next call.
  arrow::Result<avro_value_t*> Next();
  const std::string& name() const { return name_; }

 private:
  AvroContainerReader() = default;
  std::shared_ptr<arrow::Buffer> bytes_;
  std::string name_;
  FILE* fp_ = nullptr;
  avro_file_reader_t reader_ = nullptr;
  avro_schema_t schema_ = nullptr;
  avro_value_iface_t* iface_ = nullptr;
  avro_value_t value_{};
  bool has_value_ = false;
  int64_t records_ = 0;
};

// Getters of a record's field by name, with errors naming the field. A
// ["null", T] union field reads its branch (the Optional forms give nullopt
// for null; the plain forms call null an error).
arrow::Result<int64_t> GetLong(avro_value_t* rec, const char* name);
arrow::Result<int32_t> GetInt(avro_value_t* rec, const char* name);
arrow::Result<std::string> GetString(avro_value_t* rec, const char* name);
arrow::Result<std::optional<int64_t>> GetOptionalLong(avro_value_t* rec, const char* name);
// The record (or ["null", record] union) field `name`.
arrow::Result<avro_value_t> GetRecord(avro_value_t* rec, const char* name);

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
