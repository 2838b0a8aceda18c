// Table::RebuildIcebergView: an Apache Iceberg (format v2) view of the table's
// versions, in the layout path-based catalogs read (docs/FORMAT.md 4.5).
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/writer.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "ailake/table.h"
#include "ailake/table/avro_container.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"

namespace ailake {
namespace {

using json = nlohmann::ordered_json;
using table::Manifest;

constexpr std::string_view kMetadataDir = "metadata";
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

// Iceberg ids are ailake field ids + 1 (Iceberg readers expect ids > 0).
int32_t IcebergId(int32_t ailake_id) { return ailake_id + 1; }

// The position-delete columns' reserved Iceberg field ids.
constexpr int32_t kDeleteFilePathId = 2147483546;
constexpr int32_t kDeletePosId = 2147483545;

// Avro schemas of Iceberg v2 manifests and manifest lists (field ids from
// the Iceberg table spec; optional fields ailake never fills are left out,
// which readers resolve as null).
const char* kManifestEntrySchema = R"({"type":"record","name":"manifest_entry","fields":[
{"name":"status","type":"int","field-id":0},
{"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},
{"name":"sequence_number","type":["null","long"],"default":null,"field-id":3},
{"name":"file_sequence_number","type":["null","long"],"default":null,"field-id":4},
{"name":"data_file","type":{"type":"record","name":"r2","fields":[
 {"name":"content","type":"int","field-id":134},
 {"name":"file_path","type":"string","field-id":100},
 {"name":"file_format","type":"string","field-id":101},
 {"name":"partition","type":{"type":"record","name":"r102","fields":[]},"field-id":102},
 {"name":"record_count","type":"long","field-id":103},
 {"name":"file_size_in_bytes","type":"long","field-id":104}]},"field-id":2}]})";

const char* kManifestFileSchema = R"({"type":"record","name":"manifest_file","fields":[
{"name":"manifest_path","type":"string","field-id":500},
{"name":"manifest_length","type":"long","field-id":501},
{"name":"partition_spec_id","type":"int","field-id":502},
{"name":"content","type":"int","field-id":517},
{"name":"sequence_number","type":"long","field-id":515},
{"name":"min_sequence_number","type":"long","field-id":516},
{"name":"added_snapshot_id","type":"long","field-id":503},
{"name":"added_files_count","type":"int","field-id":504},
{"name":"existing_files_count","type":"int","field-id":505},
{"name":"deleted_files_count","type":"int","field-id":506},
{"name":"added_rows_count","type":"long","field-id":512},
{"name":"existing_rows_count","type":"long","field-id":513},
{"name":"deleted_rows_count","type":"long","field-id":514}]})";

// The Iceberg type of a stored column, or an error saying why there is none.
arrow::Result<std::string> IcebergType(const arrow::DataType& t) {
  switch (t.id()) {
    case arrow::Type::BOOL: return std::string("boolean");
    case arrow::Type::INT32: return std::string("int");
    case arrow::Type::INT64: return std::string("long");
    case arrow::Type::FLOAT: return std::string("float");
    case arrow::Type::DOUBLE: return std::string("double");
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING: return std::string("string");
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY: return std::string("binary");
    case arrow::Type::DATE32: return std::string("date");
    case arrow::Type::FIXED_SIZE_BINARY:
      return "fixed[" +
             std::to_string(static_cast<const arrow::FixedSizeBinaryType&>(t).byte_width()) + "]";
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(t);
      if (ts.unit() == arrow::TimeUnit::MICRO) {
        return std::string(ts.timezone().empty() ? "timestamp" : "timestamptz");
      }
      break;
    }
    default: break;
  }
  return arrow::Status::NotImplemented("type ", t.ToString(), " has no Iceberg view yet");
}

// The Iceberg schema of a version (without schema-id) and each Iceberg id's
// name at it, or why it has none.
arrow::Status SchemaOf(const Manifest& m, json* out_schema, std::map<int32_t, std::string>* names) {
  ARROW_ASSIGN_OR_RAISE(auto schema, table::ManifestSchema(m));
  json fields = json::array();
  for (const auto& f : m.fields()) {
    if (f.parent_id() != -1) {
      return arrow::Status::NotImplemented("nested field '", f.name(), "' has no Iceberg view yet");
    }
  }
  for (const auto& f : m.fields()) {
    auto field = schema->GetFieldByName(f.name());
    if (!field) continue;
    json jf = {{"id", IcebergId(f.id())}, {"name", f.name()}, {"required", !field->nullable()}};
    const table::VectorColumn* vc = nullptr;
    for (const auto& v : m.vector_columns()) {
      if (v.field_id() == f.id()) vc = &v;
    }
    if (vc != nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto policy, table::PolicyFromProto(*vc, f.name()));
      jf["required"] = true;
      jf["type"] = "fixed[" + std::to_string(policy.StoredVectorBytes()) + "]";
      jf["doc"] = "ailake vector: dim " + std::to_string(policy.dim) + ", metric " +
                  std::string(MetricName(policy.metric)) + ", precision " +
                  std::string(PrecisionName(policy.precision)) + " (little-endian)";
    } else {
      ARROW_ASSIGN_OR_RAISE(std::string type, IcebergType(*field->type()));
      jf["type"] = type;
    }
    (*names)[IcebergId(f.id())] = f.name();
    fields.push_back(jf);
  }
  *out_schema = {{"type", "struct"}, {"fields", fields}};
  return arrow::Status::OK();
}

arrow::Result<std::string> PositionDeletes(const std::string& data_path,
                                           const std::vector<uint32_t>& deleted) {
  auto meta = [](int32_t id) {
    return arrow::key_value_metadata({"PARQUET:field_id"}, {std::to_string(id)});
  };
  auto schema =
      arrow::schema({arrow::field("file_path", arrow::utf8(), false, meta(kDeleteFilePathId)),
                     arrow::field("pos", arrow::int64(), false, meta(kDeletePosId))});
  arrow::StringBuilder paths;
  arrow::Int64Builder pos;
  for (uint32_t r : deleted) {
    ARROW_RETURN_NOT_OK(paths.Append(data_path));
    ARROW_RETURN_NOT_OK(pos.Append(r));
  }
  std::shared_ptr<arrow::Array> a, b;
  ARROW_RETURN_NOT_OK(paths.Finish(&a));
  ARROW_RETURN_NOT_OK(pos.Finish(&b));
  auto t = arrow::Table::Make(schema, {a, b});
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*t, arrow::default_memory_pool(), sink,
                                                 std::max<int64_t>(1, t->num_rows())));
  ARROW_ASSIGN_OR_RAISE(auto buf, sink->Finish());
  return buf->ToString();
}

}  // namespace

arrow::Result<IcebergViewResult> Table::RebuildIcebergView() const {
  auto& store = *ctx_->store;
  const std::string location = store.root();
  const std::string meta_dir(kMetadataDir);
  auto at = [&](const std::string& rel) { return location + "/" + rel; };
  IcebergViewResult result;

  ARROW_ASSIGN_OR_RAISE(auto versions, ctx_->manifests.ListVersions());
  json schemas = json::array();
  json snapshots = json::array();
  json snapshot_log = json::array();
  std::map<int32_t, std::set<std::string>> all_names;  // for the name mapping
  int32_t current_schema_id = -1;
  int64_t last_ts = 0, seq = 0, parent = -1, last_column = 0;
  std::set<std::string> written_deletes;

  for (uint64_t v : versions) {
    ARROW_ASSIGN_OR_RAISE(Manifest m, ctx_->manifests.Read(v));
    last_column = std::max<int64_t>(last_column, IcebergId(m.max_field_id()));
    json version_schema;
    std::map<int32_t, std::string> version_names;
    const arrow::Status schema_status = SchemaOf(m, &version_schema, &version_names);
    std::string lag;
    if (!schema_status.ok()) lag = schema_status.message();
    for (const auto& f : m.fragments()) {
      if (lag.empty() && f.files_size() != 1) {
        lag = "fragment " + std::to_string(f.id()) + " stores its columns in " +
              std::to_string(f.files_size()) +
              " data files (an added column), which Iceberg cannot express: no snapshot for "
              "this version";
      }
    }
    if (!lag.empty()) {
      result.lagging.push_back("version " + std::to_string(v) + ": " + lag);
      continue;
    }
    // The schema: a new schema id when it changed.
    for (const auto& [id, name] : version_names) all_names[id].insert(name);
    int32_t schema_id = -1;
    for (const auto& s : schemas) {
      json plain = s;
      plain.erase("schema-id");
      if (plain == version_schema) schema_id = s["schema-id"].get<int32_t>();
    }
    if (schema_id < 0) {
      schema_id = static_cast<int32_t>(schemas.size());
      json s = version_schema;
      s["schema-id"] = schema_id;
      schemas.push_back(s);
    }
    current_schema_id = schema_id;
    ++seq;
    const std::string tag = std::to_string(v);
    const std::map<std::string, std::string> manifest_meta = {
        {"schema", version_schema.dump()},
        {"schema-id", std::to_string(schema_id)},
        {"partition-spec", "[]"},
        {"partition-spec-id", "0"},
        {"format-version", "2"}};
    // Data files, then position deletes.
    ARROW_ASSIGN_OR_RAISE(auto data_manifest,
                          table::AvroContainerWriter::Make(kManifestEntrySchema, [&] {
                            auto m2 = manifest_meta;
                            m2["content"] = "data";
                            return m2;
                          }()));
    ARROW_ASSIGN_OR_RAISE(auto delete_manifest,
                          table::AvroContainerWriter::Make(kManifestEntrySchema, [&] {
                            auto m2 = manifest_meta;
                            m2["content"] = "deletes";
                            return m2;
                          }()));
    int64_t data_files = 0, data_rows = 0, delete_files = 0, delete_rows = 0;
    auto entry = [&](table::AvroContainerWriter* w, int content, const std::string& path,
                     int64_t rows, int64_t bytes) {
      return w->Append([&](avro_value_t* rec) {
        ARROW_RETURN_NOT_OK(table::SetInt(rec, "status", 1));  // ADDED
        ARROW_RETURN_NOT_OK(table::SetOptionalLong(rec, "snapshot_id", static_cast<int64_t>(v)));
        ARROW_RETURN_NOT_OK(table::SetOptionalLong(rec, "sequence_number", seq));
        ARROW_RETURN_NOT_OK(table::SetOptionalLong(rec, "file_sequence_number", seq));
        avro_value_t df;
        if (avro_value_get_by_name(rec, "data_file", &df, nullptr) != 0) {
          return table::AvroError("data_file");
        }
        ARROW_RETURN_NOT_OK(table::SetInt(&df, "content", content));
        ARROW_RETURN_NOT_OK(table::SetString(&df, "file_path", path));
        ARROW_RETURN_NOT_OK(table::SetString(&df, "file_format", "PARQUET"));
        ARROW_RETURN_NOT_OK(table::SetLong(&df, "record_count", rows));
        return table::SetLong(&df, "file_size_in_bytes", bytes);
      });
    };
    for (const auto& f : m.fragments()) {
      const auto& df = f.files(0);
      int64_t size = static_cast<int64_t>(df.file_size_bytes());
      if (size <= 0) {
        ARROW_ASSIGN_OR_RAISE(auto file, store.OpenRead(df.path()));
        ARROW_ASSIGN_OR_RAISE(size, file->GetSize());
      }
      ARROW_RETURN_NOT_OK(entry(data_manifest.get(), 0, at(df.path()),
                                static_cast<int64_t>(f.physical_rows()), size));
      ++data_files;
      data_rows += static_cast<int64_t>(f.physical_rows());
      if (!f.has_deletion_file() || f.deletion_file().path().empty()) continue;
      // One position-delete file per deletion file, written once.
      std::string stem = f.deletion_file().path();
      stem = stem.substr(stem.find_last_of('/') + 1);
      const std::string rel = Cat({meta_dir, "/deletes/", stem, ".parquet"});
      ARROW_ASSIGN_OR_RAISE(auto deleted, ctx_->ReadDeletions(f));
      int64_t bytes = 0;
      ARROW_ASSIGN_OR_RAISE(const bool exists, store.Exists(rel));
      if (!exists || !written_deletes.count(rel)) {
        ARROW_ASSIGN_OR_RAISE(std::string parquet, PositionDeletes(at(df.path()), *deleted));
        ARROW_RETURN_NOT_OK(store.Put(rel, *arrow::Buffer::FromString(parquet)));
        written_deletes.insert(rel);
        bytes = static_cast<int64_t>(parquet.size());
      } else {
        ARROW_ASSIGN_OR_RAISE(auto file, store.OpenRead(rel));
        ARROW_ASSIGN_OR_RAISE(bytes, file->GetSize());
      }
      ARROW_RETURN_NOT_OK(
          entry(delete_manifest.get(), 1, at(rel), static_cast<int64_t>(deleted->size()), bytes));
      ++delete_files;
      delete_rows += static_cast<int64_t>(deleted->size());
    }
    // The manifest list.
    ARROW_ASSIGN_OR_RAISE(auto list,
                          table::AvroContainerWriter::Make(
                              kManifestFileSchema,
                              {{"snapshot-id", tag},
                               {"parent-snapshot-id", parent < 0 ? "null" : std::to_string(parent)},
                               {"sequence-number", std::to_string(seq)},
                               {"format-version", "2"}}));
    auto add_manifest = [&](const table::AvroContainerWriter& w, const std::string& name,
                            int content, int64_t files, int64_t rows) -> arrow::Status {
      const std::string bytes = w.Finish();
      const std::string rel = Cat({meta_dir, "/", name});
      ARROW_RETURN_NOT_OK(store.Put(rel, *arrow::Buffer::FromString(bytes)));
      return list->Append([&](avro_value_t* rec) {
        ARROW_RETURN_NOT_OK(table::SetString(rec, "manifest_path", at(rel)));
        ARROW_RETURN_NOT_OK(
            table::SetLong(rec, "manifest_length", static_cast<int64_t>(bytes.size())));
        ARROW_RETURN_NOT_OK(table::SetInt(rec, "partition_spec_id", 0));
        ARROW_RETURN_NOT_OK(table::SetInt(rec, "content", content));
        ARROW_RETURN_NOT_OK(table::SetLong(rec, "sequence_number", seq));
        ARROW_RETURN_NOT_OK(table::SetLong(rec, "min_sequence_number", seq));
        ARROW_RETURN_NOT_OK(table::SetLong(rec, "added_snapshot_id", static_cast<int64_t>(v)));
        ARROW_RETURN_NOT_OK(table::SetInt(rec, "added_files_count", static_cast<int32_t>(files)));
        ARROW_RETURN_NOT_OK(table::SetInt(rec, "existing_files_count", 0));
        ARROW_RETURN_NOT_OK(table::SetInt(rec, "deleted_files_count", 0));
        ARROW_RETURN_NOT_OK(table::SetLong(rec, "added_rows_count", rows));
        ARROW_RETURN_NOT_OK(table::SetLong(rec, "existing_rows_count", 0));
        return table::SetLong(rec, "deleted_rows_count", 0);
      });
    };
    ARROW_RETURN_NOT_OK(
        add_manifest(*data_manifest, "snap-" + tag + "-data.avro", 0, data_files, data_rows));
    if (delete_files > 0) {
      ARROW_RETURN_NOT_OK(add_manifest(*delete_manifest, "snap-" + tag + "-deletes.avro", 1,
                                       delete_files, delete_rows));
    }
    const std::string list_rel = Cat({meta_dir, "/snap-", tag, "-list.avro"});
    ARROW_RETURN_NOT_OK(store.Put(list_rel, *arrow::Buffer::FromString(list->Finish())));
    last_ts = std::max<int64_t>(last_ts, static_cast<int64_t>(m.timestamp_micros() / 1000));
    json snap = {{"snapshot-id", static_cast<int64_t>(v)},
                 {"sequence-number", seq},
                 {"timestamp-ms", last_ts},
                 {"manifest-list", at(list_rel)},
                 {"summary",
                  {{"operation", "overwrite"},
                   {"ailake-version", tag},
                   {"total-records", std::to_string(data_rows - delete_rows)},
                   {"total-data-files", std::to_string(data_files)},
                   {"total-delete-files", std::to_string(delete_files)}}},
                 {"schema-id", schema_id}};
    if (parent >= 0) snap["parent-snapshot-id"] = parent;
    snapshots.push_back(snap);
    snapshot_log.push_back({{"snapshot-id", static_cast<int64_t>(v)}, {"timestamp-ms", last_ts}});
    parent = static_cast<int64_t>(v);
    ++result.snapshots;
  }

  // The name mapping: files written before a rename carry the old name. A
  // name two fields used (one dropped, a later one added under its name)
  // would map old files' column to the new field: refused until the data
  // files carry Iceberg field ids.
  std::map<std::string, int32_t> owner;
  for (const auto& [id, names] : all_names) {
    for (const auto& name : names) {
      auto [it, inserted] = owner.emplace(name, id);
      if (!inserted) {
        return arrow::Status::NotImplemented(
            "Iceberg view of '", location, "': column name '", name, "' was used by two fields (",
            it->second - 1, " and ", id - 1,
            "); a view of such a table needs field ids in its data files, which ailake does not "
            "write yet");
      }
    }
  }
  json mapping = json::array();
  for (const auto& [id, names] : all_names) {
    mapping.push_back(
        {{"field-id", id}, {"names", json(std::vector<std::string>(names.begin(), names.end()))}});
  }
  // The metadata file: the next vN in metadata/, then the version hint.
  ARROW_ASSIGN_OR_RAISE(auto objects, store.List(meta_dir));
  int64_t next = 1;
  std::string uuid;
  for (const auto& o : objects) {
    const std::string name = o.path.substr(o.path.find_last_of('/') + 1);
    int64_t n = 0;
    if (name.size() > 15 && name[0] == 'v' && name.ends_with(".metadata.json") &&
        std::from_chars(name.data() + 1, name.data() + name.size() - 14, n).ec == std::errc()) {
      if (n + 1 > next) {
        next = n + 1;
        ARROW_ASSIGN_OR_RAISE(auto prev, store.Read(o.path));
        auto j = json::parse(prev->ToString(), nullptr, /*allow_exceptions=*/false);
        if (j.is_object() && j.contains("table-uuid") && j["table-uuid"].is_string()) {
          uuid = j["table-uuid"].get<std::string>();
        }
      }
    }
  }
  if (uuid.empty()) uuid = table::NewUuid();
  if (schemas.empty()) {
    schemas.push_back({{"type", "struct"}, {"schema-id", 0}, {"fields", json::array()}});
    current_schema_id = 0;
  }
  json md = {{"format-version", 2},
             {"table-uuid", uuid},
             {"location", location},
             {"last-sequence-number", seq},
             {"last-updated-ms", last_ts},
             {"last-column-id", last_column},
             {"current-schema-id", current_schema_id},
             {"schemas", schemas},
             {"partition-specs", json::array({{{"spec-id", 0}, {"fields", json::array()}}})},
             {"default-spec-id", 0},
             {"last-partition-id", 999},
             {"properties",
              {{"schema.name-mapping.default", mapping.dump()},
               {"ailake.view", "ailake manifests are the source of truth; this view is derived"}}},
             {"current-snapshot-id", parent},
             {"snapshots", snapshots},
             {"snapshot-log", snapshot_log},
             {"metadata-log", json::array()},
             {"sort-orders", json::array({{{"order-id", 0}, {"fields", json::array()}}})},
             {"default-sort-order-id", 0}};
  if (parent >= 0) md["refs"] = {{"main", {{"snapshot-id", parent}, {"type", "branch"}}}};
  const std::string rel = meta_dir + "/v" + std::to_string(next) + ".metadata.json";
  ARROW_RETURN_NOT_OK(store.PutIfAbsent(rel, *arrow::Buffer::FromString(md.dump(2))));
  ARROW_RETURN_NOT_OK(
      store.Put(meta_dir + "/version-hint.text", *arrow::Buffer::FromString(std::to_string(next))));
  result.metadata_path = at(rel);
  return result;
}

}  // namespace ailake
