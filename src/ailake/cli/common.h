// What the ailake command's verbs share: the global options, output (text
// for people, JSON for scripts), reading rows, vectors and queries, and the
// one error path.
//
// Each verb group (commands_*.cc) adds its verbs to the application; the verb
// chosen on the command line sets the Command to run. A Command returns a
// Status, and Main maps it to the exit status in one place: 0 success, 1 the
// operation failed (the message says why), 2 the command line was wrong
// (UsageError).
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/table.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ailake/policy.h"
#include "ailake/storage.h"
#include "ailake/table.h"
#include "ailake/vec/npy.h"

namespace ailake::cli {

using nlohmann::json;
using vec::FloatMatrix;

struct Globals {
  bool json = false;
  bool quiet = false;
  StorageOptions storage;  // --storage-option KEY=VALUE (include/ailake/storage.h)
  // --iceberg-vector COLUMN[:METRIC]: vector columns of a plain Iceberg table.
  IcebergOpenOptions iceberg;
};
extern Globals g;

// What a verb runs once its arguments are parsed.
using Command = std::function<arrow::Status()>;

// The verb groups: each adds its verbs to `app`; the one chosen sets *run.
void AddWriteCommands(CLI::App& app, Command* run);     // create write delete update merge ...
void AddReadCommands(CLI::App& app, Command* run);      // search scan take info
void AddMaintainCommands(CLI::App& app, Command* run);  // optimize compact cleanup restore tag ...
void AddIcebergCommands(CLI::App& app, Command* run);   // import, iceberg rebuild|status|on|off
void AddBenchCommand(CLI::App& app, Command* run);

// A wrong command line (exit status 2): "OPTION: MESSAGE".
arrow::Status UsageError(const std::string& option, const std::string& message);
// A failure the command has already reported on stdout (exit status 1, no
// further message): `ailake verify` finding problems.
arrow::Status ReportedFailure();
// The exit status of a command's result, after printing its error (as JSON
// too with --json).
int ExitCode(const arrow::Status& st);

double Seconds(std::chrono::steady_clock::time_point t0);
// A progress bar on stderr when it is a terminal (never with --json / -q).
void Progress(const std::string& what, int64_t done, int64_t total);
// JSON text of j; bytes that are not UTF-8 (a path or a value read from a
// file) become U+FFFD instead of failing the dump.
std::string Dump(const json& j);
// Prints j with --json, else `human`.
void Emit(const json& j, const std::string& human);
std::vector<std::string> SplitList(const std::string& s);

// The vector column options of create / write / merge.
struct PolicyArgs {
  std::string vector_column = "embedding";
  std::string metric = "cosine";
  std::string precision = "f32";
  std::string index = "hnsw";
  uint32_t m = 16, ef_construction = 200, nlist = 256, pq_m = 16, pq_bits = 8;
  std::string traversal = "auto";
  bool normalize = false;
  std::string storage_format;  // empty: $AILAKE_STORAGE_FORMAT, else parquet

  void Add(CLI::App* app);
  arrow::Result<std::optional<FileFormat>> StorageFormat() const;
  arrow::Result<VectorStoragePolicy> Make(uint32_t dim) const;
};

// Vectors from a file: .npy (a float matrix), Parquet or Arrow IPC (the list
// column `column`, or the file's only list column), or CSV (every column a
// number, one vector per line, no header).
arrow::Result<FloatMatrix> ReadVectors(const std::string& path, const std::string& column = "");

// Input rows with the vector column `column` as FixedSizeList<float32> (from
// the file itself, or from a separate vectors file, one per row). *dim is set
// to the vectors' dimension (0 when there is no vector column).
arrow::Result<std::shared_ptr<arrow::Table>> LoadRows(const std::string& input,
                                                      const std::string& format,
                                                      const std::string& vectors,
                                                      const std::string& column, int32_t* dim);

// An ailake table, else a plain Iceberg table (read-only) at `uri`. `at`:
// empty for the latest version, a version number, or a tag's name.
arrow::Result<std::shared_ptr<Table>> OpenTable(const std::string& uri, const std::string& at = "");

// The query vector of --query FILE (one vector, any ReadVectors format) or
// --query-json '[...]'.
arrow::Result<std::vector<float>> ReadQuery(const std::string& file, const std::string& text);

// Rows for people (aligned text and `footer`) or, with --json, `extra` plus "rows".
arrow::Status PrintResult(const std::shared_ptr<arrow::Table>& t, json extra,
                          const std::string& footer);

// The Iceberg view's state for `info` and `iceberg status` (commands_iceberg.cc).
json ViewJson(const IcebergViewStatus& v);
std::string ViewText(const IcebergViewStatus& v);

// Tells stderr (not with --json / -q) that `what` gets the default metric,
// cosine, which was euclidean for Iceberg vector columns before this release.
void NoteDefaultMetric(const std::string& what);

// The help text every verb's --version option shares.
inline constexpr const char* kVersionHelp = "table version (a number) or tag name (time travel)";

}  // namespace ailake::cli
