// The ailake command. Every verb prints a human-readable result by default
// and JSON with --json (before or after the verb). Exit codes: 0 success, 1
// the operation failed (the message says why), 2 the command line was wrong.
// The verbs live in commands_*.cc by group; each returns a Status, mapped to
// the exit code here, once (common.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "ailake/cli/common.h"
#include "ailake/version.h"

namespace ailake::cli {
namespace {

// --storage-option KEY=VALUE and --iceberg-vector COLUMN[:METRIC] into g.
arrow::Status ApplyGlobals(const std::vector<std::string>& storage_kv,
                           const std::vector<std::string>& iceberg_vectors) {
  for (const auto& kv : storage_kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError("--storage-option",
                        "'" + kv + "' is not KEY=VALUE (e.g. aws_region=eu-west-1)");
    }
    g.storage[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& cm : iceberg_vectors) {
    const size_t colon = cm.find(':');
    VectorStoragePolicy p;
    p.vector_column = cm.substr(0, colon);
    p.dim = 0;
    p.metric = DistanceMetric::kCosine;  // the one default (policy.h)
    if (colon != std::string::npos) {
      auto m = ParseMetric(cm.substr(colon + 1));
      if (!m.ok()) return UsageError("--iceberg-vector", m.status().message());
      p.metric = *m;
    } else {
      NoteDefaultMetric("--iceberg-vector " + cm);
    }
    if (p.vector_column.empty()) {
      return UsageError("--iceberg-vector", "'" + cm + "' names no column");
    }
    g.iceberg.vector_columns.push_back(p);
  }
  return arrow::Status::OK();
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"ailake: tables of Parquet files with the vector index inside"};
  app.require_subcommand(1);
  app.add_flag("--json", g.json, "print JSON for scripts");
  app.add_flag("-q,--quiet", g.quiet, "no progress output");
  std::vector<std::string> storage_kv;
  app.add_option("--storage-option", storage_kv,
                 "KEY=VALUE setting of an s3:// table, repeatable (aws_endpoint, aws_region, "
                 "aws_access_key_id, aws_secret_access_key, aws_session_token, allow_http, "
                 "connect_timeout, request_timeout, max_retries, cache_bytes)")
      ->type_size(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::vector<std::string> iceberg_vectors;
  app.add_option("--iceberg-vector", iceberg_vectors,
                 "COLUMN[:METRIC]: a fixed[4*dim] column of a plain Iceberg table to read as "
                 "f32 vectors (searched by exact scan; METRIC defaults to cosine), repeatable")
      ->type_size(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  // Global options may also follow the command ("ailake search T --json").
  app.fallthrough();
  app.set_version_flag("--version", std::string(Version()));

  Command run;
  AddWriteCommands(app, &run);
  AddReadCommands(app, &run);
  AddMaintainCommands(app, &run);
  AddIcebergCommands(app, &run);
  AddBenchCommand(app, &run);

  // Every verb's --help names the global options it also accepts.
  const std::function<void(CLI::App*)> add_footer = [&](CLI::App* cmd) {
    cmd->footer(
        "Global options, before or after the command: --json (print JSON for scripts), "
        "-q/--quiet, --storage-option KEY=VALUE, --iceberg-vector COLUMN[:METRIC]");
    for (auto* sub : cmd->get_subcommands({})) add_footer(sub);
  };
  for (auto* sub : app.get_subcommands({})) add_footer(sub);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  arrow::Status st = ApplyGlobals(storage_kv, iceberg_vectors);
  if (st.ok()) st = run ? run() : UsageError("ailake", "no command");
  return ExitCode(st);
}

}  // namespace ailake::cli

int main(int argc, char** argv) {
  // Commands report their errors through a Status; this catches the rest
  // (building the option table, a library throwing), so the exit status
  // stays 1 rather than an abort.
  try {
    return ailake::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ailake: error: %s\n", e.what());
    return 1;
  }
}
