#include "ailake/table/iceberg_source.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <set>

#include "ailake/file.h"
#include "ailake/table/avro_container.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"

namespace ailake::table {
namespace {

using json = nlohmann::ordered_json;

// Bounds on what one table may make us hold (metadata is untrusted input).
constexpr int64_t kMaxMetadataBytes = int64_t{256} << 20;
constexpr int64_t kMaxAvroBytes = int64_t{256} << 20;

// j[key], or null when j is not an object or has no such key (operator[] of
// a const json with a missing key is undefined; the metadata is untrusted).
const json& Member(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string StripScheme(std::string p) {
  if (p.starts_with("file://")) return p.substr(7);
  if (p.starts_with("file:")) return p.substr(5);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadBounded(io::ObjectStore& store,
                                                          const std::string& rel, int64_t max) {
  ARROW_ASSIGN_OR_RAISE(auto file, store.OpenRead(rel));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
  if (size > max) {
    return arrow::Status::Invalid("Iceberg object '", rel, "' is ", size, " bytes, over the ", max,
                                  " this reader accepts");
  }
  return file->ReadAt(0, size);
}

// The Arrow type of an Iceberg primitive type, or why there is none.
arrow::Result<std::shared_ptr<arrow::DataType>> ArrowType(const json& t, const std::string& name) {
  if (!t.is_string()) {
    return arrow::Status::NotImplemented("Iceberg column '", name, "' has a nested type (",
                                         t.dump(), "), which ailake cannot read yet");
  }
  const std::string s = t.get<std::string>();
  if (s == "boolean") return arrow::boolean();
  if (s == "int") return arrow::int32();
  if (s == "long") return arrow::int64();
  if (s == "float") return arrow::float32();
  if (s == "double") return arrow::float64();
  if (s == "string") return arrow::utf8();
  if (s == "binary") return arrow::binary();
  if (s == "date") return arrow::date32();
  if (s == "time") return arrow::time64(arrow::TimeUnit::MICRO);
  if (s == "timestamp") return arrow::timestamp(arrow::TimeUnit::MICRO);
  if (s == "timestamptz") return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  if (s == "uuid") return arrow::fixed_size_binary(16);
  int32_t a = 0, b = 0;
  if (s.starts_with("fixed[") && s.ends_with(']') &&
      std::from_chars(s.data() + 6, s.data() + s.size() - 1, a).ec == std::errc() && a > 0) {
    return arrow::fixed_size_binary(a);
  }
  if (s.starts_with("decimal(") && s.ends_with(')')) {
    const size_t comma = s.find(',');
    std::string sb = s.substr(comma + 1, s.size() - comma - 2);
    while (!sb.empty() && sb[0] == ' ') sb.erase(0, 1);
    if (comma != std::string::npos &&
        std::from_chars(s.data() + 8, s.data() + comma, a).ec == std::errc() &&
        std::from_chars(sb.data(), sb.data() + sb.size(), b).ec == std::errc() && a > 0 &&
        a <= 38) {
      return arrow::decimal128(a, b);
    }
  }
  return arrow::Status::NotImplemented("Iceberg column '", name, "' has type '", s,
                                       "', which ailake cannot read yet");
}

// A vector column an ailake view documented ("ailake vector: dim D, metric M, ...").
std::optional<VectorStoragePolicy> DocumentedVector(const json& field) {
  const json& doc_j = Member(field, "doc");
  const json& name_j = Member(field, "name");
  if (!doc_j.is_string() || !name_j.is_string()) return std::nullopt;
  const std::string doc = doc_j.get<std::string>();
  const std::string prefix = "ailake vector: dim ";
  if (!doc.starts_with(prefix)) return std::nullopt;
  uint32_t dim = 0;
  const char* p = doc.data() + prefix.size();
  auto r = std::from_chars(p, doc.data() + doc.size(), dim);
  const size_t m = doc.find(", metric ");
  if (r.ec != std::errc() || m == std::string::npos) return std::nullopt;
  const size_t end = doc.find(',', m + 9);
  auto metric = ParseMetric(doc.substr(m + 9, end == std::string::npos ? end : end - m - 9));
  if (!metric.ok() || doc.find("precision f32") == std::string::npos) return std::nullopt;
  VectorStoragePolicy policy;
  policy.vector_column = name_j.get<std::string>();
  policy.dim = dim;
  policy.metric = *metric;
  return policy;
}

int32_t FieldIdOf(const arrow::Field& f) {
  const auto& md = f.metadata();
  if (!md) return -1;
  const int i = md->FindKey("PARQUET:field_id");
  if (i < 0) return -1;
  int32_t id = -1;
  const std::string& v = md->value(i);
  if (std::from_chars(v.data(), v.data() + v.size(), id).ec != std::errc()) return -1;
  return id;
}

// A manifest-list or manifest entry's data file, as this reader needs it.
struct EntryFile {
  int content = 0;  // 0 data, 1 position deletes, 2 equality deletes
  std::string path;
  int64_t records = 0;
  int64_t bytes = 0;
  int64_t sequence = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<IcebergSource>> IcebergSource::Open(
    std::shared_ptr<io::ObjectStore> store, std::string metadata_rel,
    std::vector<VectorStoragePolicy> vectors) {
  std::shared_ptr<IcebergSource> s(new IcebergSource());
  s->store_ = std::move(store);
  s->declared_ = std::move(vectors);
  auto& st = *s->store_;
  if (metadata_rel.empty()) {
    auto hint = st.Read("metadata/version-hint.text");
    if (hint.ok()) {
      std::string text = (*hint)->ToString();
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      const std::string rel = "metadata/v" + text + ".metadata.json";
      ARROW_ASSIGN_OR_RAISE(bool exists, st.Exists(rel));
      if (exists) metadata_rel = rel;
    }
  }
  if (metadata_rel.empty()) {
    // The highest-numbered metadata file: vN.metadata.json or NNNNN-<uuid>.metadata.json.
    auto objects = st.List("metadata");
    int64_t best = -1;
    if (objects.ok()) {
      for (const auto& o : *objects) {
        const std::string name = o.path.substr(o.path.find_last_of('/') + 1);
        if (!name.ends_with(".metadata.json")) continue;
        const char* b = name.data() + (name[0] == 'v' ? 1 : 0);
        int64_t n = -1;
        auto r = std::from_chars(b, name.data() + name.size(), n);
        if (r.ec != std::errc() || (*r.ptr != '.' && *r.ptr != '-')) continue;
        if (n > best) {
          best = n;
          metadata_rel = o.path;
        }
      }
    }
    if (metadata_rel.empty()) {
      return arrow::Status::IOError("no Iceberg table at '", st.root(),
                                    "' (no metadata/*.metadata.json)");
    }
  }
  s->metadata_rel_ = metadata_rel;
  ARROW_ASSIGN_OR_RAISE(auto bytes, ReadBounded(st, metadata_rel, kMaxMetadataBytes));
  const json md = json::parse(bytes->ToString(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) {
    return arrow::Status::Invalid("Iceberg metadata '", metadata_rel, "': ", what);
  };
  if (!md.is_object()) return bad("not a JSON object");
  if (!md.contains("format-version") || !md["format-version"].is_number_integer()) {
    return bad("no format-version");
  }
  s->format_version_ = md["format-version"].get<int>();
  if (s->format_version_ < 1 || s->format_version_ > 2) {
    return arrow::Status::NotImplemented("Iceberg metadata '", metadata_rel, "': format version ",
                                         s->format_version_, " (ailake reads 1 and 2)");
  }
  if (!md.contains("location") || !md["location"].is_string()) return bad("no location");
  s->location_ = StripScheme(md["location"].get<std::string>());
  // Schemas: v2 "schemas" + "current-schema-id"; v1 may have only "schema".
  if (md.contains("schemas") && md["schemas"].is_array()) {
    for (const auto& sc : md["schemas"]) {
      if (!sc.is_object() || !sc.contains("schema-id") || !sc["schema-id"].is_number_integer()) {
        return bad("a schema without schema-id");
      }
      s->schemas_[sc["schema-id"].get<int32_t>()] = sc.dump();
    }
    if (!md.contains("current-schema-id") || !md["current-schema-id"].is_number_integer()) {
      return bad("no current-schema-id");
    }
    s->current_schema_id_ = md["current-schema-id"].get<int32_t>();
  } else if (md.contains("schema") && md["schema"].is_object()) {
    s->schemas_[0] = md["schema"].dump();
    s->current_schema_id_ = 0;
  } else {
    return bad("no schema");
  }
  if (!s->schemas_.count(s->current_schema_id_)) return bad("current-schema-id names no schema");
  if (md.contains("partition-specs") && md["partition-specs"].is_array()) {
    for (const auto& spec : md["partition-specs"]) {
      if (spec.contains("fields") && spec["fields"].is_array() && !spec["fields"].empty()) {
        // Partition values live in the manifests, not the files: identity
        // columns missing from files would read wrong.
        return arrow::Status::NotImplemented("Iceberg table '", st.root(),
                                             "' is partitioned, which ailake cannot read yet");
      }
    }
  }
  if (md.contains("properties") && md["properties"].is_object()) {
    auto it = md["properties"].find("schema.name-mapping.default");
    if (it != md["properties"].end() && it->is_string()) s->name_mapping_ = it->get<std::string>();
  }
  int64_t current = -1;
  if (md.contains("current-snapshot-id") && md["current-snapshot-id"].is_number_integer()) {
    current = md["current-snapshot-id"].get<int64_t>();
  }
  if (md.contains("snapshots") && md["snapshots"].is_array()) {
    for (const auto& j : md["snapshots"]) {
      if (!j.is_object() || !j.contains("snapshot-id") || !j["snapshot-id"].is_number_integer()) {
        return bad("a snapshot without snapshot-id");
      }
      Snapshot sn;
      sn.id = j["snapshot-id"].get<int64_t>();
      if (j.contains("sequence-number") && j["sequence-number"].is_number_integer()) {
        sn.sequence = j["sequence-number"].get<int64_t>();
      }
      if (j.contains("timestamp-ms") && j["timestamp-ms"].is_number_integer()) {
        sn.timestamp_ms = j["timestamp-ms"].get<int64_t>();
      }
      sn.schema_id = j.contains("schema-id") && j["schema-id"].is_number_integer()
                         ? j["schema-id"].get<int32_t>()
                         : s->current_schema_id_;
      if (!s->schemas_.count(sn.schema_id)) sn.schema_id = s->current_schema_id_;
      if (j.contains("manifest-list") && j["manifest-list"].is_string()) {
        sn.manifest_list = j["manifest-list"].get<std::string>();
      } else if (j.contains("manifests") && j["manifests"].is_array()) {
        for (const auto& m : j["manifests"]) {
          if (m.is_string()) sn.manifests.push_back(m.get<std::string>());
        }
      } else {
        return bad("snapshot " + std::to_string(sn.id) + " names no manifests");
      }
      if (j.contains("summary") && j["summary"].is_object() && j["summary"].contains("operation") &&
          j["summary"]["operation"].is_string()) {
        sn.operation = j["summary"]["operation"].get<std::string>();
      }
      s->snapshots_.push_back(std::move(sn));
    }
  }
  std::stable_sort(
      s->snapshots_.begin(), s->snapshots_.end(), [](const Snapshot& a, const Snapshot& b) {
        return std::tie(a.sequence, a.timestamp_ms) < std::tie(b.sequence, b.timestamp_ms);
      });
  s->latest_ = s->snapshots_.empty() ? 1 : s->snapshots_.size();
  for (size_t i = 0; i < s->snapshots_.size(); ++i) {
    if (s->snapshots_[i].id == current) s->latest_ = i + 1;
  }
  // The vector columns of the current schema.
  const json schema = json::parse(s->schemas_[s->current_schema_id_]);
  for (auto p : s->declared_) {
    const json* field = nullptr;
    if (Member(schema, "fields").is_array()) {
      for (const auto& f : Member(schema, "fields")) {
        if (Member(f, "name") == p.vector_column) field = &f;
      }
    }
    if (field == nullptr) {
      return arrow::Status::Invalid("Iceberg table '", st.root(), "' has no column '",
                                    p.vector_column, "'");
    }
    ARROW_ASSIGN_OR_RAISE(auto type, ArrowType(Member(*field, "type"), p.vector_column));
    const auto* fixed = dynamic_cast<const arrow::FixedSizeBinaryType*>(type.get());
    if (fixed == nullptr || fixed->byte_width() % 4 != 0 ||
        (p.dim != 0 && static_cast<uint32_t>(fixed->byte_width()) != 4 * p.dim)) {
      return arrow::Status::TypeError(
          "Iceberg column '", p.vector_column, "' is ", Member(*field, "type").dump(),
          "; a vector column must be fixed[4·dim] (little-endian f32)",
          p.dim != 0 ? " with dim " + std::to_string(p.dim) : std::string());
    }
    if (p.dim == 0) p.dim = static_cast<uint32_t>(fixed->byte_width() / 4);
    s->vectors_.push_back(p);
  }
  if (s->declared_.empty() && schema.contains("fields") && schema["fields"].is_array()) {
    for (const auto& f : schema["fields"]) {
      if (auto p = DocumentedVector(f)) s->vectors_.push_back(*p);
    }
  }
  for (auto& p : s->vectors_) {
    p.index_type = IndexType::kNone;
    p.precision = Precision::kF32;
    ARROW_RETURN_NOT_OK(p.Validate());
  }
  return s;
}

std::vector<uint64_t> IcebergSource::Versions() const {
  std::vector<uint64_t> out;
  for (uint64_t v = 1; v <= std::max<size_t>(1, snapshots_.size()); ++v) out.push_back(v);
  return out;
}

arrow::Result<std::string> IcebergSource::Relative(const std::string& path) const {
  const std::string p = StripScheme(path);
  if (!p.starts_with(location_ + "/")) {
    return arrow::Status::NotImplemented("Iceberg file '", path,
                                         "' lies outside the table's location '", location_,
                                         "', which ailake cannot read yet");
  }
  std::string rel = p.substr(location_.size() + 1);
  ARROW_RETURN_NOT_OK(io::CheckRelative(rel));
  return rel;
}

arrow::Result<Manifest> IcebergSource::Read(uint64_t version) {
  if (version < 1 || version > std::max<size_t>(1, snapshots_.size())) {
    return arrow::Status::KeyError("Iceberg table '", store_->root(), "' has no version ", version,
                                   " (versions 1..", snapshots_.size(), ", one per snapshot)");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = manifests_.find(version);
    if (it != manifests_.end()) return it->second;
  }
  Snapshot empty;
  empty.schema_id = current_schema_id_;
  const Snapshot& s = snapshots_.empty() ? empty : snapshots_[version - 1];
  ARROW_ASSIGN_OR_RAISE(Manifest m, Synthesize(s));
  m.set_version(version);
  std::lock_guard<std::mutex> lock(mu_);
  manifests_[version] = m;
  return m;
}

arrow::Result<std::shared_ptr<const std::vector<uint32_t>>> IcebergSource::Deletions(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = deletions_.find(path);
  if (it == deletions_.end()) {
    return arrow::Status::KeyError("no position deletes named '", path, "'");
  }
  return it->second;
}

arrow::Result<Manifest> IcebergSource::Synthesize(const Snapshot& s) {
  auto& st = *store_;
  Manifest m;
  m.set_timestamp_micros(static_cast<uint64_t>(std::max<int64_t>(0, s.timestamp_ms)) * 1000);
  m.set_tag(s.id == 0 && snapshots_.empty()
                ? "iceberg: no snapshot"
                : "iceberg snapshot " + std::to_string(s.id) +
                      (s.operation.empty() ? "" : " (" + s.operation + ")"));
  m.set_writer_version("iceberg");
  // The schema: ailake field id = Iceberg id - 1 (so a view ailake publishes
  // of the imported table keeps the Iceberg ids).
  const json schema = json::parse(schemas_.at(s.schema_id));
  if (!schema.contains("fields") || !schema["fields"].is_array()) {
    return arrow::Status::Invalid("Iceberg schema ", s.schema_id, " has no fields");
  }
  arrow::FieldVector arrow_fields;
  std::vector<std::pair<int32_t, std::string>> ids;  // Iceberg id, name
  int32_t max_id = 0;
  for (const auto& f : schema["fields"]) {
    if (!f.is_object() || !f.contains("id") || !f["id"].is_number_integer() ||
        !f.contains("name") || !f["name"].is_string()) {
      return arrow::Status::Invalid("Iceberg schema ", s.schema_id, ": a field without id/name");
    }
    const int32_t id = f["id"].get<int32_t>();
    const std::string name = f["name"].get<std::string>();
    if (id < 1) return arrow::Status::Invalid("Iceberg field '", name, "' has id ", id);
    const VectorStoragePolicy* vp = nullptr;
    for (const auto& p : vectors_) {
      if (p.vector_column == name) vp = &p;
    }
    std::shared_ptr<arrow::DataType> type;
    if (vp != nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto stored, ArrowType(Member(f, "type"), name));
      if (stored->id() != arrow::Type::FIXED_SIZE_BINARY ||
          static_cast<const arrow::FixedSizeBinaryType&>(*stored).byte_width() !=
              static_cast<int32_t>(4 * vp->dim)) {
        return arrow::Status::TypeError("Iceberg column '", name, "' is ", Member(f, "type").dump(),
                                        "; a vector column of dim ", vp->dim, " must be fixed[",
                                        4 * vp->dim, "]");
      }
      type = VectorListType(vp->dim);
    } else {
      ARROW_ASSIGN_OR_RAISE(type, ArrowType(Member(f, "type"), name));
    }
    const bool required =
        f.contains("required") && f["required"].is_boolean() && f["required"].get<bool>();
    arrow_fields.push_back(arrow::field(name, type, !required));
    ids.emplace_back(id, name);
    max_id = std::max(max_id, id);
    Field* mf = m.add_fields();
    mf->set_id(id - 1);
    mf->set_parent_id(-1);
    mf->set_name(name);
  }
  m.set_max_field_id(max_id - 1);
  ARROW_ASSIGN_OR_RAISE(*m.mutable_arrow_schema(), SerializeSchema(*arrow::schema(arrow_fields)));
  for (const auto& p : vectors_) {
    for (const auto& [id, name] : ids) {
      if (name == p.vector_column) *m.add_vector_columns() = PolicyToProto(p, id - 1);
    }
  }
  // Every name a field had, for files without field ids.
  std::map<std::string, int32_t> mapped;
  if (!name_mapping_.empty()) {
    const json mapping = json::parse(name_mapping_, nullptr, false);
    if (mapping.is_array()) {
      for (const auto& e : mapping) {
        if (!e.is_object() || !e.contains("field-id") || !e["field-id"].is_number_integer() ||
            !e.contains("names") || !e["names"].is_array()) {
          continue;
        }
        for (const auto& n : e["names"]) {
          if (n.is_string()) mapped[n.get<std::string>()] = e["field-id"].get<int32_t>();
        }
      }
    }
  }

  // The manifest list (or v1's manifest paths), then each manifest.
  struct ListedManifest {
    std::string path;
    int content = 0;
    int64_t sequence = 0;
  };
  std::vector<ListedManifest> listed;
  if (!s.manifest_list.empty()) {
    ARROW_ASSIGN_OR_RAISE(std::string rel, Relative(s.manifest_list));
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadBounded(st, rel, kMaxAvroBytes));
    ARROW_ASSIGN_OR_RAISE(auto r, AvroContainerReader::Open(bytes, rel));
    while (true) {
      ARROW_ASSIGN_OR_RAISE(avro_value_t * rec, r->Next());
      if (rec == nullptr) break;
      ListedManifest lm;
      ARROW_ASSIGN_OR_RAISE(lm.path, GetString(rec, "manifest_path"));
      if (format_version_ >= 2) {
        ARROW_ASSIGN_OR_RAISE(lm.content, GetInt(rec, "content"));
        ARROW_ASSIGN_OR_RAISE(lm.sequence, GetLong(rec, "sequence_number"));
      }
      listed.push_back(std::move(lm));
    }
  } else {
    for (const auto& p : s.manifests) listed.push_back({p, 0, 0});
  }
  std::vector<EntryFile> data, deletes;
  for (const auto& lm : listed) {
    ARROW_ASSIGN_OR_RAISE(std::string rel, Relative(lm.path));
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadBounded(st, rel, kMaxAvroBytes));
    ARROW_ASSIGN_OR_RAISE(auto r, AvroContainerReader::Open(bytes, rel));
    while (true) {
      ARROW_ASSIGN_OR_RAISE(avro_value_t * rec, r->Next());
      if (rec == nullptr) break;
      ARROW_ASSIGN_OR_RAISE(int32_t status, GetInt(rec, "status"));
      if (status == 2) continue;  // DELETED
      ARROW_ASSIGN_OR_RAISE(avro_value_t df, GetRecord(rec, "data_file"));
      EntryFile e;
      if (format_version_ >= 2) {
        ARROW_ASSIGN_OR_RAISE(e.content, GetInt(&df, "content"));
        ARROW_ASSIGN_OR_RAISE(auto seq, GetOptionalLong(rec, "sequence_number"));
        // Iceberg v2 inheritance: a null sequence number of an ADDED entry
        // is the manifest's.
        e.sequence = seq ? *seq : lm.sequence;
      }
      ARROW_ASSIGN_OR_RAISE(e.path, GetString(&df, "file_path"));
      ARROW_ASSIGN_OR_RAISE(std::string format, GetString(&df, "file_format"));
      ARROW_ASSIGN_OR_RAISE(e.records, GetLong(&df, "record_count"));
      ARROW_ASSIGN_OR_RAISE(e.bytes, GetLong(&df, "file_size_in_bytes"));
      std::transform(format.begin(), format.end(), format.begin(), ::toupper);
      if (format != "PARQUET") {
        return arrow::Status::NotImplemented("Iceberg file '", e.path, "' is ", format,
                                             "; ailake reads Parquet data files");
      }
      if (e.content == 2) {
        return arrow::Status::NotImplemented("Iceberg table '", st.root(),
                                             "' has equality deletes ('", e.path,
                                             "'), which ailake cannot apply yet");
      }
      if (e.records < 0 || e.records > (int64_t{1} << 32)) {
        return arrow::Status::Invalid("Iceberg file '", e.path, "' has record_count ", e.records);
      }
      (e.content == 0 ? data : deletes).push_back(std::move(e));
    }
  }
  // Position deletes by data file path, each applying to data files whose
  // sequence number is not above its own.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> positions;  // path -> (seq, pos)
  for (const auto& d : deletes) {
    ARROW_ASSIGN_OR_RAISE(std::string rel, Relative(d.path));
    ARROW_ASSIGN_OR_RAISE(auto file, st.OpenRead(rel));
    std::unique_ptr<parquet::arrow::FileReader> reader;
    ARROW_ASSIGN_OR_RAISE(reader, parquet::arrow::OpenFile(file, arrow::default_memory_pool()));
    std::shared_ptr<arrow::Table> t;
    ARROW_RETURN_NOT_OK(reader->ReadTable(&t));
    auto fp = t->GetColumnByName("file_path");
    auto pos = t->GetColumnByName("pos");
    if (!fp || !pos || pos->type()->id() != arrow::Type::INT64) {
      return arrow::Status::Invalid("Iceberg position-delete file '", d.path,
                                    "' has no file_path and int64 pos columns");
    }
    ARROW_ASSIGN_OR_RAISE(auto fpc, arrow::compute::Cast(fp, arrow::utf8()));
    const auto& paths = fpc.chunked_array();
    for (int c = 0; c < paths->num_chunks(); ++c) {
      const auto& pa = static_cast<const arrow::StringArray&>(*paths->chunk(c));
      const auto& po = static_cast<const arrow::Int64Array&>(*pos->chunk(c));
      for (int64_t i = 0; i < pa.length(); ++i) {
        positions[StripScheme(pa.GetString(i))].emplace_back(d.sequence, po.Value(i));
      }
    }
  }

  uint64_t next_id = 0;
  for (const auto& e : data) {
    ARROW_ASSIGN_OR_RAISE(std::string rel, Relative(e.path));
    Fragment* frag = m.add_fragments();
    frag->set_id(next_id++);
    frag->set_physical_rows(static_cast<uint64_t>(e.records));
    DataFile* df = frag->add_files();
    df->set_path(rel);
    df->set_file_size_bytes(static_cast<uint64_t>(e.bytes));
    df->set_file_major_version(kDataFileMajorVersion);
    df->set_file_minor_version(kDataFileMinorVersion);
    df->set_index_state(INDEX_STATE_NONE);
    // Each field's column in this file: by Parquet field id, else by name
    // (through the name mapping).
    ARROW_ASSIGN_OR_RAISE(auto in, st.OpenRead(rel, e.bytes));
    ARROW_ASSIGN_OR_RAISE(auto reader, AilakeFileReader::Open(in));
    const auto& fs = *reader->schema();
    if (reader->num_rows() != e.records) {
      return arrow::Status::Invalid("Iceberg data file '", e.path, "' holds ", reader->num_rows(),
                                    " rows; its manifest says ", e.records);
    }
    for (const auto& [id, name] : ids) {
      int col = -1;
      for (int c = 0; c < fs.num_fields(); ++c) {
        if (FieldIdOf(*fs.field(c)) == id) col = c;
      }
      if (col < 0) {
        for (int c = 0; c < fs.num_fields(); ++c) {
          const auto& fname = fs.field(c)->name();
          auto it = mapped.find(fname);
          if (FieldIdOf(*fs.field(c)) < 0 &&
              ((it != mapped.end() && it->second == id) || (it == mapped.end() && fname == name))) {
            col = c;
          }
        }
      }
      if (col < 0) {
        return arrow::Status::NotImplemented("Iceberg data file '", e.path,
                                             "' has no column for field '", name,
                                             "' (added later), which ailake cannot read yet");
      }
      df->add_fields(id - 1);
      df->add_column_indices(col);
    }
    for (const auto& p : vectors_) df->add_vector_fields(TopLevelFieldId(m, p.vector_column));
    auto del = positions.find(StripScheme(e.path));
    if (del != positions.end()) {
      std::set<uint32_t> rows;
      for (const auto& [seq, pos] : del->second) {
        if (seq < e.sequence) continue;  // an older delete file
        if (pos < 0 || pos >= e.records) {
          return arrow::Status::Invalid("Iceberg position delete of row ", pos, " of '", e.path,
                                        "', which holds ", e.records, " rows");
        }
        rows.insert(static_cast<uint32_t>(pos));
      }
      if (!rows.empty()) {
        const std::string key =
            std::string(kIcebergDeletesPrefix) + std::to_string(s.id) + "/" + rel;
        auto* dfile = frag->mutable_deletion_file();
        dfile->set_path(key);
        dfile->set_num_deleted_rows(rows.size());
        std::lock_guard<std::mutex> lock(mu_);
        deletions_[key] = std::make_shared<const std::vector<uint32_t>>(rows.begin(), rows.end());
      }
    }
  }
  m.set_next_fragment_id(next_id);
  return m;
}

}  // namespace ailake::table

namespace ailake {

arrow::Result<std::shared_ptr<Table>> Table::OpenIceberg(const std::string& uri,
                                                         const IcebergOpenOptions& options,
                                                         std::optional<uint64_t> version,
                                                         const StorageOptions& storage) {
  std::string root = uri;
  std::string metadata = options.metadata_file;
  if (uri.ends_with(".metadata.json")) {
    // .../<table>/metadata/<name>.metadata.json
    const size_t slash = uri.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : uri.substr(0, slash);
    if (!dir.ends_with("metadata")) {
      return arrow::Status::Invalid("'", uri, "' is not in a table's metadata/ directory");
    }
    if (!metadata.empty()) {
      return arrow::Status::Invalid("OpenIceberg: a metadata file is named twice ('", uri,
                                    "' and metadata_file '", metadata, "')");
    }
    metadata = "metadata/" + uri.substr(slash + 1);
    root = dir.size() > 9 ? dir.substr(0, dir.size() - 9) : ".";
  }
  ARROW_ASSIGN_OR_RAISE(auto store, io::OpenObjectStore(root, storage));
  auto ctx = std::make_shared<table::TableContext>(root, store);
  ARROW_ASSIGN_OR_RAISE(auto source,
                        table::IcebergSource::Open(store, metadata, options.vector_columns));
  ctx->manifests.SetIcebergSource(source);
  return OpenIn(ctx, version);
}

arrow::Result<std::shared_ptr<Table>> Table::ImportIceberg(const std::string& source,
                                                           const std::string& dest,
                                                           const IcebergImportOptions& options,
                                                           const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto src,
                        OpenIceberg(source, options.source, std::nullopt, options.source_storage));
  std::vector<VectorStoragePolicy> policies = src->vector_columns();
  for (auto& p : policies) p.index_type = options.index_type;
  ARROW_ASSIGN_OR_RAISE(auto dst, Create(dest, src->schema(), policies, storage));
  std::vector<std::string> staged;
  const auto& dm = table::TableAccess::manifest(*dst);
  const auto& sm = table::TableAccess::manifest(*src);
  auto& dstore = *table::TableAccess::context(*dst)->store;
  for (const auto& f : table::TableAccess::manifest(*src).fragments()) {
    const table::DataFile& sdf = f.files(0);
    ARROW_ASSIGN_OR_RAISE(auto in, table::TableAccess::context(*src)->store->OpenRead(
                                       sdf.path(), table::KnownSize(sdf)));
    bool copy = !f.has_deletion_file() && !policies.empty();
    if (copy) {
      // A file that already has AILK sections (an ailake table's own) is
      // written again with this table's index.
      ARROW_ASSIGN_OR_RAISE(auto probe, AilakeFileReader::Open(in));
      copy = !probe->IsAilakeFile();
    }
    if (copy) {
      // Every row live: the file's pages are copied byte for byte (not
      // decoded or re-encoded) and the index appended (AppendIndexSections).
      const std::string path = table::DataFilePath(table::NewUuid());
      ARROW_ASSIGN_OR_RAISE(auto out, dstore.OpenWrite(path));
      arrow::Status st = AppendIndexSections(in, policies, out.get(), options.index_build);
      if (st.ok()) st = out->Close();
      if (!st.ok()) {
        (void)out->Abort();
        return st.WithMessage("importing '", sdf.path(), "': ", st.message());
      }
      ARROW_ASSIGN_OR_RAISE(auto written, dstore.OpenRead(path));
      ARROW_ASSIGN_OR_RAISE(int64_t size, written->GetSize());
      table::StagedWrite sw;
      sw.set_table_uri(dst->uri());
      sw.set_base_version(dst->version());
      sw.set_max_field_id(dm.max_field_id());
      auto* file = sw.add_files();
      table::DataFile* df = file->mutable_data_file();
      df->set_path(path);
      df->set_file_size_bytes(static_cast<uint64_t>(size));
      df->set_file_major_version(table::kDataFileMajorVersion);
      df->set_file_minor_version(table::kDataFileMinorVersion);
      df->set_index_state(table::INDEX_STATE_INDEXED);
      // The source's column of each field, under the new table's field id.
      for (int i = 0; i < sdf.fields_size(); ++i) {
        std::string name;
        for (const auto& fld : sm.fields()) {
          if (fld.id() == sdf.fields(i)) name = fld.name();
        }
        df->add_fields(table::TopLevelFieldId(dm, name));
        df->add_column_indices(sdf.column_indices(i));
      }
      for (const auto& p : policies)
        df->add_vector_fields(table::TopLevelFieldId(dm, p.vector_column));
      file->set_num_rows(f.physical_rows());
      staged.push_back(sw.SerializeAsString());
      continue;
    }
    // Deleted rows are dropped (or the file is ailake's own): the live rows
    // are written again.
    ARROW_ASSIGN_OR_RAISE(auto rows, src->ReadFragment(f.id()));
    if (rows->num_rows() == 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto batch, rows->CombineChunksToBatch());
    auto one = dst->StageWrite(*batch);
    if (!one.ok()) {
      return one.status().WithMessage("importing '", f.files(0).path(),
                                      "': ", one.status().message());
    }
    staged.push_back(std::move(*one));
  }
  if (!staged.empty()) ARROW_RETURN_NOT_OK(dst->CommitStaged(staged).status());
  return dst->Latest();
}

}  // namespace ailake
