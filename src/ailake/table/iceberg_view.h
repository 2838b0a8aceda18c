// The Apache Iceberg (format v2) view of a table, published beside the
// manifests after every commit (docs/FORMAT.md 4.5).
//
// Objects, all under metadata/:
//   v<N>.metadata.json      table metadata; N counts publications (1, 2, ...),
//                           taken with PutIfAbsent, so racing publishers
//                           serialize; "ailake.published-version" names the
//                           newest ailake version it reflects
//   version-hint.text       the newest N (Hadoop catalogs start from it and
//                           probe forward)
//   snap-<V>-<hash>.avro    the manifest list of the snapshot of version V
//   m-<hash>-data.avro      a manifest of the data files of up to 64
//   m-<hash>-deletes.avro   fragments (by fragment id), or of their position
//                           deletes; named by the hash of what they list, so
//                           one written for an earlier version is reused
//   deletes/<deletion file>-<data file>.parquet
//                           the position deletes of one deletion file
// Everything but the metadata file and the hint is immutable and named by its
// content, so two publishers write the same bytes under the same names.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"

namespace ailake::table {

struct TableContext;

inline constexpr std::string_view kIcebergViewProperty = "iceberg.view";

// Per open table (TableContext): publications in one process run one at a
// time; view objects known to exist, with their sizes, spare requests.
struct IcebergViewState {
  std::mutex mu;
  std::unordered_map<std::string, int64_t> known;  // path -> size
  std::string last_error;                          // of the last publication that failed, or empty
};

// Whether the version publishes a view (the "iceberg.view" property).
bool IcebergViewEnabled(const Manifest& m);

// Publishes every version up to `committed` that the view does not reflect
// yet (a publisher that crashed, or lost a race, is caught up here). Does
// nothing if the view is off at `committed`.
arrow::Status PublishIcebergView(TableContext& ctx, const Manifest& committed);

// A new metadata file reflecting every kept version, computed afresh.
arrow::Result<IcebergViewResult> RebuildIcebergView(TableContext& ctx);

// What the view reflects, against `latest`.
arrow::Result<IcebergViewStatus> IcebergViewStatusOf(TableContext& ctx, const Manifest& latest);

// Removes the view's metadata files and hint (a switched-off view is gone:
// no engine reads a table that stopped following the manifests); Cleanup
// removes the rest.
arrow::Status RemoveIcebergView(TableContext& ctx);

// Cleanup's part: publishes metadata without the snapshots of versions older
// than `oldest_kept` (the current snapshot always stays), then deletes the
// view objects no remaining snapshot names, last modified before `cutoff`.
arrow::Status ExpireIcebergView(TableContext& ctx, uint64_t oldest_kept, int64_t cutoff,
                                CleanupResult* out);

}  // namespace ailake::table
