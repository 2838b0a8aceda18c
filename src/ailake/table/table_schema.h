// The table schema in a manifest: the Arrow schema (IPC bytes) plus stable
// field ids. Ids are assigned depth-first to every field, struct children
// included; list and fixed-size-list children share their parent's id (they
// are not separately addressable), as in the Lance table format.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/type.h>

#include "ailake/table/manifest.pb.h"

namespace ailake::table {

// Appends Field entries for `schema`'s fields with ids from manifest.max_field_id + 1,
// and updates max_field_id. Returns the ids given to the top-level fields.
std::vector<int32_t> AssignFieldIds(const arrow::Schema& schema, Manifest* manifest);

arrow::Result<std::string> SerializeSchema(const arrow::Schema& schema);
arrow::Result<std::shared_ptr<arrow::Schema>> DeserializeSchema(const std::string& bytes);

// The current table schema of a manifest.
// Its fingerprints are computed before it returns (see WarmFingerprints).
arrow::Result<std::shared_ptr<arrow::Schema>> ManifestSchema(const Manifest& manifest);

// Computes the Arrow fingerprints of `schema`, its fields and their types,
// and of the singleton types the read paths add, so that threads later
// sharing them only read them.
void WarmFingerprints(const arrow::Schema& schema);

// Top-level field id of column `name`, or -1.
int32_t TopLevelFieldId(const Manifest& manifest, const std::string& name);
// Top-level field ids in schema order.
std::vector<int32_t> TopLevelFieldIds(const Manifest& manifest);
// Number of fields (nested included) under field id `id` (itself included).
std::vector<int32_t> FieldSubtree(const Manifest& manifest, int32_t id);

}  // namespace ailake::table
