// The private interface between a Table and the code below its public API
// (the rest of table/, and the query layer's scanner, search and changes):
// the version's manifest, the context shared by every version of the table
// (store, manifest store, caches of readers, deletions and codebooks), and
// turning a committed manifest into the Table returned to the caller. Never
// included by a public header; the public table.h names only this class.
#pragma once

#include <memory>

#include <arrow/result.h>

#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_context.h"

namespace ailake::table {

class TableAccess {
 public:
  static const Manifest& manifest(const Table& t) { return *t.manifest_; }
  static const std::shared_ptr<TableContext>& context(const Table& t) { return t.ctx_; }
  // The Table of a manifest just committed through `ctx` (no read: the
  // manifest is the one written).
  static arrow::Result<std::shared_ptr<Table>> Committed(const std::shared_ptr<TableContext>& ctx,
                                                         Manifest manifest) {
    return Table::FromManifest(ctx, std::move(manifest));
  }
};

}  // namespace ailake::table
