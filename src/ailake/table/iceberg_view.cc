// The Apache Iceberg (format v2) view of a table's versions, in the layout
// path-based catalogs read (docs/FORMAT.md 4.5; layout in iceberg_view.h).
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/writer.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "ailake/core/checksum.h"
#include "ailake/table/avro_container.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/iceberg_source.h"
#include "ailake/table/iceberg_view.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"

namespace ailake::table {
namespace {

using json = nlohmann::ordered_json;

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
  ARROW_ASSIGN_OR_RAISE(auto schema, ManifestSchema(m));
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
    const VectorColumn* vc = nullptr;
    for (const auto& v : m.vector_columns()) {
      if (v.field_id() == f.id()) vc = &v;
    }
    if (vc != nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto policy, PolicyFromProto(*vc, f.name()));
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

// ---------------------------------------------------------------------------
// Publication.

constexpr size_t kFragmentsPerManifest = 64;
constexpr int64_t kFileSequenceNumber = 1;
constexpr int64_t kMetadataFilesKept = 100;
constexpr std::string_view kPublishedProperty = "ailake.published-version";
constexpr std::string_view kLagProperty = "ailake.view-lag";
constexpr std::string_view kMappingProperty = "schema.name-mapping.default";
constexpr std::string_view kHintPath = "metadata/version-hint.text";

std::string Hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 0xf];
  return out;
}

// A new table uuid in the canonical 8-4-4-4-12 form (Iceberg's Java library
// parses it with java.util.UUID.fromString).
std::string Hyphenated(const std::string& u) {
  return u.substr(0, 8) + '-' + u.substr(8, 4) + '-' + u.substr(12, 4) + '-' + u.substr(16, 4) +
         '-' + u.substr(20);
}
std::string NewIcebergUuid() { return Hyphenated(NewUuid()); }

uint64_t HashOf(const std::string& s) { return core::Checksum64(s.data(), s.size()); }

std::string MetadataPath(int64_t n) {
  return Cat({kMetadataDir, "/v", std::to_string(n), ".metadata.json"});
}

// The last path component without its extension.
std::string Stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  return s.substr(0, s.find('.'));
}

std::string PositionDeletePath(const Fragment& f) {
  return Cat({kMetadataDir, "/deletes/", Stem(f.deletion_file().path()), "-",
              Stem(f.files(0).path()), ".parquet"});
}

// The newest metadata file: the hint, then probing forward (a hint may lag
// the newest file by a racing publisher); a listing when there is no hint.
// (nlohmann's json move constructor is not noexcept: the implicit members of
// a struct holding one are flagged, though they only move.)
struct LatestMetadata {  // NOLINT(bugprone-exception-escape)
  int64_t n = 0;         // 0: none
  json md;               // null when n == 0
};

arrow::Result<LatestMetadata> ReadLatestMetadata(io::ObjectStore& store) {
  LatestMetadata out;
  auto hint = store.Read(std::string(kHintPath));
  int64_t n = 0;
  if (hint.ok()) {
    const std::string text = (*hint)->ToString();
    auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (r.ec != std::errc() || n < 0) n = 0;
  }
  if (n > 0) {
    ARROW_ASSIGN_OR_RAISE(bool exists, store.Exists(MetadataPath(n)));
    if (!exists) n = 0;
  }
  if (n == 0) {
    auto objects = store.List(std::string(kMetadataDir));
    if (objects.ok()) {
      for (const auto& o : *objects) {
        const std::string name = o.path.substr(o.path.find_last_of('/') + 1);
        int64_t k = 0;
        if (name.size() > 15 && name[0] == 'v' && name.ends_with(".metadata.json") &&
            std::from_chars(name.data() + 1, name.data() + name.size() - 14, k).ec == std::errc()) {
          n = std::max(n, k);
        }
      }
    }
  }
  if (n == 0) return out;
  for (int i = 0; i < 10000; ++i) {
    ARROW_ASSIGN_OR_RAISE(bool next, store.Exists(MetadataPath(n + 1)));
    if (!next) break;
    ++n;
  }
  ARROW_ASSIGN_OR_RAISE(auto bytes, store.Read(MetadataPath(n)));
  out.md = json::parse(bytes->ToString(), nullptr, /*allow_exceptions=*/false);
  if (!out.md.is_object() || !out.md.contains("snapshots") || !out.md["snapshots"].is_array() ||
      !out.md.contains("schemas") || !out.md["schemas"].is_array() ||
      !out.md.contains("properties") || !out.md["properties"].is_object()) {
    return arrow::Status::IOError("Iceberg view metadata '", MetadataPath(n),
                                  "' is not the metadata ailake writes");
  }
  // A uuid written without hyphens (ailake 0.x): the canonical form, same value.
  if (out.md.contains("table-uuid") && out.md["table-uuid"].is_string()) {
    const std::string u = out.md["table-uuid"].get<std::string>();
    if (u.size() == 32 && u.find('-') == std::string::npos) out.md["table-uuid"] = Hyphenated(u);
  }
  out.n = n;
  return out;
}

uint64_t PublishedVersion(const json& md) {
  if (!md.is_object()) return 0;
  const json& props = md["properties"];
  auto it = props.find(std::string(kPublishedProperty));
  if (it == props.end() || !it->is_string()) return 0;
  const std::string s = it->get<std::string>();
  uint64_t v = 0;
  if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc()) return 0;
  return v;
}

json FreshMetadata(const std::string& location, const std::string& uuid) {
  return {
      {"format-version", 2},
      {"table-uuid", uuid},
      {"location", location},
      {"last-sequence-number", 0},
      {"last-updated-ms", 0},
      {"last-column-id", 0},
      {"current-schema-id", 0},
      {"schemas", json::array({{{"type", "struct"}, {"schema-id", 0}, {"fields", json::array()}}})},
      {"partition-specs", json::array({{{"spec-id", 0}, {"fields", json::array()}}})},
      {"default-spec-id", 0},
      {"last-partition-id", 999},
      {"properties",
       {{std::string(kMappingProperty), "[]"},
        {"ailake.view", "ailake manifests are the source of truth; this view is derived"}}},
      {"current-snapshot-id", -1},
      {"snapshots", json::array()},
      {"snapshot-log", json::array()},
      {"metadata-log", json::array()},
      {"sort-orders", json::array({{{"order-id", 0}, {"fields", json::array()}}})},
      {"default-sort-order-id", 0}};
}

// The manifests of a version: fragments in groups of kFragmentsPerManifest
// by id, a data manifest per group and a delete manifest per group with
// deletes, each named by the hash of the schema and the files it lists (so
// an unchanged group's manifest is the one an earlier version wrote).
struct ManifestGroup {
  std::vector<const Fragment*> fragments;
  int content = 0;  // 0 data, 1 deletes
  std::string rel;
};

std::vector<ManifestGroup> ManifestGroups(const Manifest& m, const std::string& schema_text) {
  std::vector<const Fragment*> frags;
  for (const auto& f : m.fragments()) {
    if (f.files_size() > 0) frags.push_back(&f);
  }
  std::sort(frags.begin(), frags.end(),
            [](const Fragment* a, const Fragment* b) { return a->id() < b->id(); });
  std::vector<ManifestGroup> out;
  for (size_t lo = 0; lo < frags.size();) {
    const uint64_t group = frags[lo]->id() / kFragmentsPerManifest;
    size_t hi = lo;
    while (hi < frags.size() && frags[hi]->id() / kFragmentsPerManifest == group) ++hi;
    ManifestGroup data, deletes;
    data.fragments.assign(frags.begin() + static_cast<std::ptrdiff_t>(lo),
                          frags.begin() + static_cast<std::ptrdiff_t>(hi));
    deletes.fragments = data.fragments;
    deletes.content = 1;
    std::string data_key = schema_text, delete_key = schema_text;
    for (const Fragment* f : data.fragments) {
      data_key += "\n" + f->files(0).path();
      if (f->has_deletion_file() && !f->deletion_file().path().empty()) {
        delete_key += "\n" + PositionDeletePath(*f);
      }
    }
    data.rel = Cat({kMetadataDir, "/m-", Hex64(HashOf(data_key)), "-data.avro"});
    out.push_back(std::move(data));
    if (delete_key.size() > schema_text.size()) {
      deletes.rel = Cat({kMetadataDir, "/m-", Hex64(HashOf(delete_key)), "-deletes.avro"});
      out.push_back(std::move(deletes));
    }
    lo = hi;
  }
  return out;
}

class Publisher {
 public:
  Publisher(TableContext& ctx, IcebergViewState& state)
      : ctx_(ctx), store_(*ctx.store), state_(state), location_(store_.root()) {}

  std::string At(const std::string& rel) const { return location_ + "/" + rel; }

  // Adds version `m` to `md`: a snapshot, or the reason there is none.
  arrow::Status AddVersion(json& md, const Manifest& m) {
    md["last-column-id"] =
        std::max<int64_t>(md["last-column-id"].get<int64_t>(), IcebergId(m.max_field_id()));
    std::string lag;
    json schema;
    std::map<int32_t, std::string> names;
    // Data files in another container than Parquet: Iceberg cannot name them.
    for (const auto& f : m.fragments()) {
      for (const auto& df : f.files()) {
        if (lag.empty() && DataFileFormat(df) != FileFormat::kParquet) {
          lag = "data file " + df.path() + " is in the " +
                std::string(FileFormatName(DataFileFormat(df))) +
                " format; Iceberg tables name Parquet data files (this table stores " +
                std::string(FileFormatName(StorageFormatOf(m))) + ")";
        }
      }
    }
    const arrow::Status schema_status = SchemaOf(m, &schema, &names);
    if (lag.empty() && !schema_status.ok()) lag = schema_status.message();
    for (const auto& f : m.fragments()) {
      if (lag.empty() && f.files_size() != 1) {
        lag = "fragment " + std::to_string(f.id()) + " stores its columns in " +
              std::to_string(f.files_size()) +
              " data files (an added column), which Iceberg cannot express until optimize "
              "rewrites it whole";
      }
    }
    json mapping;
    if (lag.empty()) {
      auto merged = MergeMapping(md, names);
      if (merged.ok()) {
        mapping = std::move(*merged);
      } else {
        lag = merged.status().message();
      }
    }
    json& props = md["properties"];
    if (!lag.empty()) {
      props[std::string(kLagProperty)] = "version " + std::to_string(m.version()) + ": " + lag;
      lagging_.push_back("version " + std::to_string(m.version()) + ": " + lag);
      return arrow::Status::OK();
    }
    props.erase(std::string(kLagProperty));
    props[std::string(kMappingProperty)] = mapping.dump();
    // The schema: a new schema id when it changed.
    int32_t schema_id = -1;
    for (const auto& s : md["schemas"]) {
      json plain = s;
      plain.erase("schema-id");
      if (plain == schema) schema_id = s["schema-id"].get<int32_t>();
    }
    if (schema_id < 0) {
      for (const auto& s : md["schemas"]) {
        schema_id = std::max(schema_id, s["schema-id"].get<int32_t>());
      }
      ++schema_id;
      json s = schema;
      s["schema-id"] = schema_id;
      md["schemas"].push_back(s);
    }
    md["current-schema-id"] = schema_id;

    const auto v = static_cast<int64_t>(m.version());
    std::vector<ListedManifest> manifests;
    ARROW_RETURN_NOT_OK(WriteManifests(m, schema, schema_id, &manifests));
    // The manifest list, named by what it lists.
    std::string key;
    for (const auto& lm : manifests) key += lm.rel + "\n";
    const std::string list_rel =
        Cat({kMetadataDir, "/snap-", std::to_string(v), "-", Hex64(HashOf(key)), ".avro"});
    int64_t parent = md["current-snapshot-id"].get<int64_t>();
    if (!Known(list_rel)) {
      ARROW_ASSIGN_OR_RAISE(
          auto list, AvroContainerWriter::Make(
                         kManifestFileSchema,
                         {{"snapshot-id", std::to_string(v)},
                          {"parent-snapshot-id", parent < 0 ? "null" : std::to_string(parent)},
                          {"sequence-number", std::to_string(v)},
                          {"format-version", "2"}}));
      for (const auto& lm : manifests) {
        ARROW_RETURN_NOT_OK(list->Append([&](avro_value_t* rec) {
          ARROW_RETURN_NOT_OK(SetString(rec, "manifest_path", At(lm.rel)));
          ARROW_RETURN_NOT_OK(SetLong(rec, "manifest_length", lm.bytes));
          ARROW_RETURN_NOT_OK(SetInt(rec, "partition_spec_id", 0));
          ARROW_RETURN_NOT_OK(SetInt(rec, "content", lm.content));
          ARROW_RETURN_NOT_OK(SetLong(rec, "sequence_number", v));
          ARROW_RETURN_NOT_OK(SetLong(rec, "min_sequence_number", kFileSequenceNumber));
          ARROW_RETURN_NOT_OK(SetLong(rec, "added_snapshot_id", v));
          ARROW_RETURN_NOT_OK(SetInt(rec, "added_files_count", static_cast<int32_t>(lm.files)));
          ARROW_RETURN_NOT_OK(SetInt(rec, "existing_files_count", 0));
          ARROW_RETURN_NOT_OK(SetInt(rec, "deleted_files_count", 0));
          ARROW_RETURN_NOT_OK(SetLong(rec, "added_rows_count", lm.rows));
          ARROW_RETURN_NOT_OK(SetLong(rec, "existing_rows_count", 0));
          return SetLong(rec, "deleted_rows_count", 0);
        }));
      }
      ARROW_RETURN_NOT_OK(PutOnce(list_rel, list->Finish()));
    }
    int64_t data_files = 0, delete_files = 0, rows = 0;
    for (const auto& lm : manifests) {
      (lm.content == 0 ? data_files : delete_files) += lm.files;
      rows += lm.content == 0 ? lm.rows : -lm.rows;
    }
    int64_t ts = static_cast<int64_t>(m.timestamp_micros() / 1000);
    ts = std::max(ts, md["last-updated-ms"].get<int64_t>());
    json snap = {{"snapshot-id", v},
                 {"sequence-number", v},
                 {"timestamp-ms", ts},
                 {"manifest-list", At(list_rel)},
                 {"summary",
                  {{"operation", "overwrite"},
                   {"ailake-version", std::to_string(v)},
                   {"total-records", std::to_string(rows)},
                   {"total-data-files", std::to_string(data_files)},
                   {"total-delete-files", std::to_string(delete_files)}}},
                 {"schema-id", schema_id}};
    if (parent >= 0) snap["parent-snapshot-id"] = parent;
    md["snapshots"].push_back(snap);
    md["snapshot-log"].push_back({{"snapshot-id", v}, {"timestamp-ms", ts}});
    md["current-snapshot-id"] = v;
    md["refs"] = {{"main", {{"snapshot-id", v}, {"type", "branch"}}}};
    md["last-sequence-number"] = std::max<int64_t>(md["last-sequence-number"].get<int64_t>(), v);
    md["last-updated-ms"] = ts;
    ++snapshots_;
    return arrow::Status::OK();
  }

  // Writes metadata file n (PutIfAbsent), then the hint. AlreadyExists when
  // another publisher took n.
  arrow::Status CommitMetadata(json& md, uint64_t published, int64_t n) {
    md["properties"][std::string(kPublishedProperty)] = std::to_string(published);
    const std::string rel = MetadataPath(n);
    ARROW_RETURN_NOT_OK(store_.PutIfAbsent(rel, *arrow::Buffer::FromString(md.dump(2))));
    metadata_path_ = At(rel);
    ARROW_RETURN_NOT_OK(
        store_.Put(std::string(kHintPath), *arrow::Buffer::FromString(std::to_string(n))));
    // Older metadata files are history readers no longer need (every kept
    // snapshot is in the newest); the newest kMetadataFilesKept stay for
    // readers that found one a moment ago. One delete per publication (a
    // number skipped by a race is left to Cleanup).
    if (n > kMetadataFilesKept) {
      const std::string old = MetadataPath(n - kMetadataFilesKept);
      ARROW_ASSIGN_OR_RAISE(bool exists, store_.Exists(old));
      if (exists) ARROW_RETURN_NOT_OK(store_.Delete(old));
    }
    return arrow::Status::OK();
  }

  const std::string& metadata_path() const { return metadata_path_; }
  int snapshots() const { return snapshots_; }
  std::vector<std::string>& lagging() { return lagging_; }

 private:
  struct ListedManifest {
    std::string rel;
    int content = 0;  // 0 data, 1 deletes
    int64_t bytes = 0, files = 0, rows = 0;
  };

  bool Known(const std::string& rel) const { return state_.known.count(rel) != 0; }

  // Writes an immutable, content-named object unless it is there already.
  arrow::Status PutOnce(const std::string& rel, const std::string& bytes) {
    arrow::Status st = store_.PutIfAbsent(rel, *arrow::Buffer::FromString(bytes));
    if (!st.ok() && !st.IsAlreadyExists()) return st;
    state_.known[rel] = static_cast<int64_t>(bytes.size());
    return arrow::Status::OK();
  }

  // The size of an immutable view object, or -1 if it is not there.
  arrow::Result<int64_t> SizeOf(const std::string& rel) {
    auto it = state_.known.find(rel);
    if (it != state_.known.end()) return it->second;
    auto file = store_.OpenRead(rel);
    if (!file.ok()) {
      ARROW_ASSIGN_OR_RAISE(bool exists, store_.Exists(rel));
      if (exists) return file.status();
      return -1;
    }
    ARROW_ASSIGN_OR_RAISE(int64_t size, (*file)->GetSize());
    state_.known[rel] = size;
    return size;
  }

  arrow::Result<json> MergeMapping(const json& md, const std::map<int32_t, std::string>& names) {
    std::map<int32_t, std::set<std::string>> all;
    auto it = md["properties"].find(std::string(kMappingProperty));
    if (it != md["properties"].end() && it->is_string()) {
      json old = json::parse(it->get<std::string>(), nullptr, false);
      if (old.is_array()) {
        for (const auto& e : old) {
          if (!e.is_object() || !e.contains("field-id") || !e.contains("names")) continue;
          for (const auto& n : e["names"]) all[e["field-id"].get<int32_t>()].insert(n);
        }
      }
    }
    for (const auto& [id, name] : names) all[id].insert(name);
    // A name two fields used (one dropped, a later one added under its
    // name) would map old files' column to the new field.
    std::map<std::string, int32_t> owner;
    for (const auto& [id, ns] : all) {
      for (const auto& name : ns) {
        auto [o, inserted] = owner.emplace(name, id);
        if (!inserted) {
          return arrow::Status::NotImplemented(
              "column name '", name, "' was used by two fields (", o->second - 1, " and ", id - 1,
              "); a view of such a table needs field ids in its data files");
        }
      }
    }
    json mapping = json::array();
    for (const auto& [id, ns] : all) {
      mapping.push_back(
          {{"field-id", id}, {"names", json(std::vector<std::string>(ns.begin(), ns.end()))}});
    }
    return mapping;
  }

  arrow::Status WriteManifests(const Manifest& m, const json& schema, int32_t schema_id,
                               std::vector<ListedManifest>* out) {
    const std::string schema_text = schema.dump();
    for (const auto& g : ManifestGroups(m, schema_text)) {
      ARROW_RETURN_NOT_OK(
          WriteManifest(g.fragments, g.content, schema_text, schema_id, g.rel, out));
    }
    return arrow::Status::OK();
  }

  arrow::Status WriteManifest(const std::vector<const Fragment*>& part, int content,
                              const std::string& schema_text, int32_t schema_id,
                              const std::string& rel, std::vector<ListedManifest>* out) {
    ListedManifest lm;
    lm.content = content;
    lm.rel = rel;
    for (const Fragment* f : part) {
      if (content == 0) {
        ++lm.files;
        lm.rows += static_cast<int64_t>(f->physical_rows());
      } else if (f->has_deletion_file() && !f->deletion_file().path().empty()) {
        ++lm.files;
        lm.rows += static_cast<int64_t>(f->deletion_file().num_deleted_rows());
      }
    }
    ARROW_ASSIGN_OR_RAISE(lm.bytes, SizeOf(lm.rel));
    if (lm.bytes >= 0) {
      out->push_back(lm);
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(
        auto w, AvroContainerWriter::Make(kManifestEntrySchema,
                                          {{"schema", schema_text},
                                           {"schema-id", std::to_string(schema_id)},
                                           {"partition-spec", "[]"},
                                           {"partition-spec-id", "0"},
                                           {"format-version", "2"},
                                           {"content", content == 0 ? "data" : "deletes"}}));
    for (const Fragment* f : part) {
      const DataFile& df = f->files(0);
      std::string path;
      int64_t rows = 0, bytes = 0;
      if (content == 0) {
        path = At(df.path());
        rows = static_cast<int64_t>(f->physical_rows());
        bytes = static_cast<int64_t>(df.file_size_bytes());
        if (bytes <= 0) {
          ARROW_ASSIGN_OR_RAISE(auto file, store_.OpenRead(df.path()));
          ARROW_ASSIGN_OR_RAISE(bytes, file->GetSize());
        }
      } else {
        if (!f->has_deletion_file() || f->deletion_file().path().empty()) continue;
        const std::string rel = PositionDeletePath(*f);
        ARROW_ASSIGN_OR_RAISE(auto deleted, ctx_.ReadDeletions(*f));
        rows = static_cast<int64_t>(deleted->size());
        ARROW_ASSIGN_OR_RAISE(bytes, SizeOf(rel));
        if (bytes < 0) {
          ARROW_ASSIGN_OR_RAISE(std::string parquet, PositionDeletes(At(df.path()), *deleted));
          ARROW_RETURN_NOT_OK(PutOnce(rel, parquet));
          bytes = static_cast<int64_t>(parquet.size());
        }
        path = At(rel);
      }
      ARROW_RETURN_NOT_OK(w->Append([&](avro_value_t* rec) {
        // ADDED, the snapshot id left null (inherited from the manifest
        // list), so one manifest serves every snapshot that lists it. Every
        // data and delete file has data sequence number 1: a position delete
        // names its data file exactly, so it applies to it whenever both are
        // listed (data seq <= delete seq), and numbers fixed in the entry
        // stay the same in every snapshot.
        ARROW_RETURN_NOT_OK(SetInt(rec, "status", 1));
        ARROW_RETURN_NOT_OK(SetNull(rec, "snapshot_id"));
        ARROW_RETURN_NOT_OK(SetOptionalLong(rec, "sequence_number", kFileSequenceNumber));
        ARROW_RETURN_NOT_OK(SetOptionalLong(rec, "file_sequence_number", kFileSequenceNumber));
        avro_value_t dfv;
        if (avro_value_get_by_name(rec, "data_file", &dfv, nullptr) != 0) {
          return AvroError("data_file");
        }
        ARROW_RETURN_NOT_OK(SetInt(&dfv, "content", content));
        ARROW_RETURN_NOT_OK(SetString(&dfv, "file_path", path));
        ARROW_RETURN_NOT_OK(SetString(&dfv, "file_format", "PARQUET"));
        ARROW_RETURN_NOT_OK(SetLong(&dfv, "record_count", rows));
        return SetLong(&dfv, "file_size_in_bytes", bytes);
      }));
    }
    const std::string bytes = w->Finish();
    ARROW_RETURN_NOT_OK(PutOnce(lm.rel, bytes));
    lm.bytes = static_cast<int64_t>(bytes.size());
    out->push_back(lm);
    return arrow::Status::OK();
  }

  TableContext& ctx_;
  io::ObjectStore& store_;
  IcebergViewState& state_;
  std::string location_;
  std::string metadata_path_;
  int snapshots_ = 0;
  std::vector<std::string> lagging_;
};

// The manifests of versions in (after, upto], ascending; `upto` is given.
arrow::Result<std::vector<Manifest>> VersionsToAdd(TableContext& ctx, uint64_t after,
                                                   const Manifest& upto) {
  std::vector<Manifest> out;
  if (upto.version() > after + 1) {
    ARROW_ASSIGN_OR_RAISE(auto versions, ctx.manifests.ListVersions());
    for (uint64_t v : versions) {
      if (v <= after || v >= upto.version()) continue;
      ARROW_ASSIGN_OR_RAISE(Manifest m, ctx.manifests.Read(v));
      out.push_back(std::move(m));
    }
  }
  out.push_back(upto);
  return out;
}

constexpr int kMaxPublishAttempts = 100;

arrow::Status PublishLocked(TableContext& ctx, const Manifest& committed) {
  Publisher pub(ctx, *ctx.iceberg_view);
  for (int attempt = 0; attempt < kMaxPublishAttempts; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(LatestMetadata latest, ReadLatestMetadata(*ctx.store));
    const uint64_t published = PublishedVersion(latest.md);
    if (latest.n > 0 && published >= committed.version()) return arrow::Status::OK();
    json md = latest.n > 0 ? latest.md : FreshMetadata(ctx.store->root(), NewIcebergUuid());
    ARROW_ASSIGN_OR_RAISE(auto add, VersionsToAdd(ctx, published, committed));
    for (const auto& m : add) ARROW_RETURN_NOT_OK(pub.AddVersion(md, m));
    arrow::Status st = pub.CommitMetadata(md, committed.version(), latest.n + 1);
    if (!st.IsAlreadyExists()) return st;
  }
  return arrow::Status::IOError("Iceberg view of '", ctx.store->root(), "': lost ",
                                kMaxPublishAttempts, " races for the next metadata file");
}

}  // namespace

bool IcebergViewEnabled(const Manifest& m) {
  auto it = m.properties().find(std::string(kIcebergViewProperty));
  return it == m.properties().end() || it->second != "off";
}

arrow::Status PublishIcebergView(TableContext& ctx, const Manifest& committed) {
  if (!IcebergViewEnabled(committed) || ctx.manifests.iceberg_source()) {
    return arrow::Status::OK();
  }
  std::lock_guard<std::mutex> lock(ctx.iceberg_view->mu);
  // A request to the store that failed (a remote store under load) is tried
  // again a few times: the last commit of a burst has no later commit to
  // catch up for it.
  arrow::Status st = PublishLocked(ctx, committed);
  for (int retry = 1; retry <= 3 && st.IsIOError(); ++retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10 << (2 * retry)));
    st = PublishLocked(ctx, committed);
  }
  ctx.iceberg_view->last_error =
      st.ok() ? std::string()
              : "publishing version " + std::to_string(committed.version()) + ": " + st.ToString();
  return st;
}

arrow::Result<IcebergViewResult> RebuildIcebergView(TableContext& ctx) {
  ARROW_RETURN_NOT_OK(ctx.manifests.CheckWritable());
  std::lock_guard<std::mutex> lock(ctx.iceberg_view->mu);
  ARROW_ASSIGN_OR_RAISE(auto versions, ctx.manifests.ListVersions());
  if (versions.empty()) {
    return arrow::Status::Invalid("Iceberg view: table '", ctx.uri, "' has no committed version");
  }
  for (int attempt = 0; attempt < kMaxPublishAttempts; ++attempt) {
    Publisher pub(ctx, *ctx.iceberg_view);
    ARROW_ASSIGN_OR_RAISE(LatestMetadata latest, ReadLatestMetadata(*ctx.store));
    std::string uuid = NewIcebergUuid();
    if (latest.n > 0 && latest.md.contains("table-uuid") && latest.md["table-uuid"].is_string()) {
      uuid = latest.md["table-uuid"].get<std::string>();
    }
    json md = FreshMetadata(ctx.store->root(), uuid);
    uint64_t last = 0;
    for (uint64_t v : versions) {
      ARROW_ASSIGN_OR_RAISE(Manifest m, ctx.manifests.Read(v));
      ARROW_RETURN_NOT_OK(pub.AddVersion(md, m));
      last = v;
    }
    arrow::Status st = pub.CommitMetadata(md, last, latest.n + 1);
    if (st.IsAlreadyExists()) continue;
    ARROW_RETURN_NOT_OK(st);
    IcebergViewResult result;
    result.metadata_path = pub.metadata_path();
    result.snapshots = pub.snapshots();
    result.lagging = std::move(pub.lagging());
    ctx.iceberg_view->last_error.clear();
    return result;
  }
  return arrow::Status::IOError("Iceberg view of '", ctx.store->root(), "': lost ",
                                kMaxPublishAttempts, " races for the next metadata file");
}

arrow::Result<IcebergViewStatus> IcebergViewStatusOf(TableContext& ctx, const Manifest& latest) {
  IcebergViewStatus out;
  if (ctx.manifests.iceberg_source()) {
    // A plain Iceberg table read as it is: no view of its own.
    out.enabled = false;
    out.metadata_path = ctx.store->root() + "/" + ctx.manifests.iceberg_source()->metadata_path();
    return out;
  }
  out.enabled = IcebergViewEnabled(latest);
  {
    std::lock_guard<std::mutex> lock(ctx.iceberg_view->mu);
    out.last_error = ctx.iceberg_view->last_error;
  }
  ARROW_ASSIGN_OR_RAISE(LatestMetadata md, ReadLatestMetadata(*ctx.store));
  if (md.n == 0) return out;
  out.metadata_path = ctx.store->root() + "/" + MetadataPath(md.n);
  out.published_version = PublishedVersion(md.md);
  if (md.md["current-snapshot-id"].is_number_integer()) {
    out.current_snapshot_id = md.md["current-snapshot-id"].get<int64_t>();
  }
  auto it = md.md["properties"].find(std::string(kLagProperty));
  if (it != md.md["properties"].end() && it->is_string()) out.lag = it->get<std::string>();
  return out;
}

arrow::Status RemoveIcebergView(TableContext& ctx) {
  ARROW_RETURN_NOT_OK(ctx.manifests.CheckWritable());
  std::lock_guard<std::mutex> lock(ctx.iceberg_view->mu);
  auto& store = *ctx.store;
  // The hint first: a Hadoop catalog then finds no table, whatever point
  // this stops at.
  ARROW_ASSIGN_OR_RAISE(bool hint, store.Exists(std::string(kHintPath)));
  if (hint) ARROW_RETURN_NOT_OK(store.Delete(std::string(kHintPath)));
  ARROW_ASSIGN_OR_RAISE(auto objects, store.List(std::string(kMetadataDir)));
  for (const auto& o : objects) {
    if (o.path.ends_with(".metadata.json")) ARROW_RETURN_NOT_OK(store.Delete(o.path));
  }
  return arrow::Status::OK();
}

arrow::Status ExpireIcebergView(TableContext& ctx, uint64_t oldest_kept, int64_t cutoff,
                                CleanupResult* out) {
  ARROW_RETURN_NOT_OK(ctx.manifests.CheckWritable());
  std::lock_guard<std::mutex> lock(ctx.iceberg_view->mu);
  auto& store = *ctx.store;
  ARROW_ASSIGN_OR_RAISE(LatestMetadata latest, ReadLatestMetadata(store));
  std::set<std::string> keep = {std::string(kHintPath)};
  std::set<int64_t> kept_snapshots;
  if (latest.n > 0) {
    json md = latest.md;
    const int64_t current = md["current-snapshot-id"].get<int64_t>();
    json snaps = json::array(), log = json::array();
    for (const auto& s : md["snapshots"]) {
      const int64_t id = s["snapshot-id"].get<int64_t>();
      if (id >= static_cast<int64_t>(oldest_kept) || id == current) {
        snaps.push_back(s);
        kept_snapshots.insert(id);
      }
    }
    for (const auto& e : md["snapshot-log"]) {
      if (kept_snapshots.count(e["snapshot-id"].get<int64_t>())) log.push_back(e);
    }
    int64_t n = latest.n;
    if (snaps.size() != md["snapshots"].size()) {
      if (!snaps.empty() && snaps[0].contains("parent-snapshot-id")) {
        snaps[0].erase("parent-snapshot-id");  // its parent is expired
      }
      md["snapshots"] = snaps;
      md["snapshot-log"] = log;
      Publisher pub(ctx, *ctx.iceberg_view);
      arrow::Status st = pub.CommitMetadata(md, PublishedVersion(md), latest.n + 1);
      // A publisher that took the name meanwhile: leave expiry to the next
      // cleanup, and remove nothing now.
      if (st.IsAlreadyExists()) return arrow::Status::OK();
      ARROW_RETURN_NOT_OK(st);
      n = latest.n + 1;
    }
    keep.insert(MetadataPath(n));
    const std::string prefix = store.root() + "/";
    for (const auto& s : snaps) {
      std::string list = s["manifest-list"].get<std::string>();
      if (!list.starts_with(prefix) || list.ends_with("-list.avro")) {
        return arrow::Status::OK();  // not this layout's (an older ailake's): remove nothing
      }
      keep.insert(list.substr(prefix.size()));
      // Its manifests and position deletes: from its version's manifest
      // (Cleanup keeps the version the view's current snapshot shows).
      auto m = ctx.manifests.Read(static_cast<uint64_t>(s["snapshot-id"].get<int64_t>()));
      json schema;
      for (const auto& sc : md["schemas"]) {
        if (sc["schema-id"] == s["schema-id"]) schema = sc;
      }
      if (!m.ok() || schema.is_null()) return arrow::Status::OK();  // remove nothing
      schema.erase("schema-id");
      for (const auto& g : ManifestGroups(*m, schema.dump())) keep.insert(g.rel);
      for (const auto& f : m->fragments()) {
        if (f.has_deletion_file() && !f.deletion_file().path().empty() && f.files_size() > 0) {
          keep.insert(PositionDeletePath(f));
        }
      }
    }
  }
  for (const std::string& dir : {std::string(kMetadataDir), Cat({kMetadataDir, "/deletes"})}) {
    ARROW_ASSIGN_OR_RAISE(auto objects, store.List(dir));
    for (const auto& o : objects) {
      if (keep.count(o.path) || o.modified_unix_s > cutoff) continue;
      if (dir == kMetadataDir && o.path.find('/', kMetadataDir.size() + 1) != std::string::npos) {
        continue;  // metadata/deletes/ is the next round
      }
      ARROW_RETURN_NOT_OK(store.Delete(o.path));
      ctx.iceberg_view->known.erase(o.path);
      ++out->files_removed;
      out->bytes_removed += o.size;
    }
  }
  return arrow::Status::OK();
}

}  // namespace ailake::table

namespace ailake {

arrow::Result<IcebergViewResult> Table::RebuildIcebergView() const {
  return table::RebuildIcebergView(*ctx_);
}

arrow::Result<IcebergViewStatus> Table::IcebergView() const {
  ARROW_ASSIGN_OR_RAISE(auto latest, ctx_->manifests.ReadLatest());
  return table::IcebergViewStatusOf(*ctx_, latest);
}

arrow::Result<std::shared_ptr<Table>> Table::SetIcebergView(bool enabled) const {
  ARROW_ASSIGN_OR_RAISE(auto latest, ctx_->manifests.ReadLatest());
  if (table::IcebergViewEnabled(latest) == enabled) {
    if (enabled) ARROW_RETURN_NOT_OK(table::PublishIcebergView(*ctx_, latest));
    return FromManifest(ctx_, std::move(latest));
  }
  ARROW_ASSIGN_OR_RAISE(
      auto r, ctx_->manifests.Commit(
                  "set_properties", std::string("iceberg.view = ") + (enabled ? "on" : "off"),
                  [&](const table::Manifest* m) -> arrow::Result<table::Manifest> {
                    table::Manifest next = *m;
                    next.clear_tag();
                    if (enabled) {
                      next.mutable_properties()->erase(std::string(table::kIcebergViewProperty));
                    } else {
                      (*next.mutable_properties())[std::string(table::kIcebergViewProperty)] =
                          "off";
                    }
                    return next;
                  }));
  if (!enabled) ARROW_RETURN_NOT_OK(table::RemoveIcebergView(*ctx_));
  return FromManifest(ctx_, std::move(r.manifest));
}

}  // namespace ailake
