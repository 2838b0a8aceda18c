#include "ailake/table/table_schema.h"

#include <arrow/buffer.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>

namespace ailake::table {
namespace {

void AssignRecursive(const arrow::Field& field, int32_t parent, Manifest* m) {
  const int32_t id = m->max_field_id() + 1;
  m->set_max_field_id(id);
  Field* f = m->add_fields();
  f->set_id(id);
  f->set_parent_id(parent);
  f->set_name(field.name());
  if (field.type()->id() == arrow::Type::STRUCT) {
    for (const auto& child : field.type()->fields()) AssignRecursive(*child, id, m);
  }
}

}  // namespace

std::vector<int32_t> AssignFieldIds(const arrow::Schema& schema, Manifest* manifest) {
  std::vector<int32_t> top;
  for (const auto& field : schema.fields()) {
    top.push_back(manifest->max_field_id() + 1);
    AssignRecursive(*field, -1, manifest);
  }
  return top;
}

arrow::Result<std::string> SerializeSchema(const arrow::Schema& schema) {
  ARROW_ASSIGN_OR_RAISE(auto buf, arrow::ipc::SerializeSchema(schema));
  return buf->ToString();
}

arrow::Result<std::shared_ptr<arrow::Schema>> DeserializeSchema(const std::string& bytes) {
  auto buf = std::make_shared<arrow::Buffer>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                             static_cast<int64_t>(bytes.size()));
  arrow::io::BufferReader reader(buf);
  arrow::ipc::DictionaryMemo memo;
  auto result = arrow::ipc::ReadSchema(&reader, &memo);
  if (!result.ok()) {
    return arrow::Status::Invalid("manifest: arrow_schema does not parse: ",
                                  result.status().message());
  }
  return result;
}

arrow::Result<std::shared_ptr<arrow::Schema>> ManifestSchema(const Manifest& manifest) {
  ARROW_ASSIGN_OR_RAISE(auto schema, DeserializeSchema(manifest.arrow_schema()));
  // Names in `fields` are authoritative (renames touch only them).
  std::vector<int32_t> ids = TopLevelFieldIds(manifest);
  if (static_cast<int>(ids.size()) != schema->num_fields()) {
    return arrow::Status::Invalid("manifest: ", ids.size(), " top-level fields but the schema has ",
                                  schema->num_fields());
  }
  arrow::FieldVector fields;
  for (int i = 0; i < schema->num_fields(); ++i) {
    for (const auto& f : manifest.fields()) {
      if (f.id() == ids[i]) fields.push_back(schema->field(i)->WithName(f.name()));
    }
  }
  auto out = arrow::schema(fields, schema->metadata());
  WarmFingerprints(*out);
  return out;
}

void WarmFingerprints(const arrow::Schema& schema) {
  // Arrow computes a schema's, field's or type's fingerprint on first use and
  // publishes it with an atomic exchange. ConcatenateTables compares schemas
  // by fingerprint, so threads sharing a table would otherwise race to compute
  // the fingerprints of the table's fields (and of the singleton types the
  // read paths add, such as the uint64 of `_rowid`). The exchange is correct,
  // but it happens inside the Arrow library, where ThreadSanitizer cannot see
  // it. Computing them here, before the table is shared, leaves every later
  // use a plain read of a string published before the threads started.
  static const bool singletons = [] {
    for (const auto& t :
         {arrow::uint64(), arrow::int64(), arrow::float32(), arrow::float64(), arrow::uint32(),
          arrow::int32(), arrow::utf8(), arrow::large_utf8(), arrow::boolean()}) {
      (void)t->fingerprint();
    }
    return true;
  }();
  (void)singletons;
  (void)schema.fingerprint();
  (void)schema.metadata_fingerprint();
  for (const auto& f : schema.fields()) {
    (void)f->fingerprint();
    (void)f->metadata_fingerprint();
  }
}

int32_t TopLevelFieldId(const Manifest& manifest, const std::string& name) {
  for (const auto& f : manifest.fields()) {
    if (f.parent_id() == -1 && f.name() == name) return f.id();
  }
  return -1;
}

std::vector<int32_t> TopLevelFieldIds(const Manifest& manifest) {
  std::vector<int32_t> ids;
  for (const auto& f : manifest.fields()) {
    if (f.parent_id() == -1) ids.push_back(f.id());
  }
  return ids;
}

std::vector<int32_t> FieldSubtree(const Manifest& manifest, int32_t id) {
  std::vector<int32_t> out{id};
  for (size_t i = 0; i < out.size(); ++i) {
    for (const auto& f : manifest.fields()) {
      if (f.parent_id() == out[i]) out.push_back(f.id());
    }
  }
  return out;
}

}  // namespace ailake::table
