// Writing one data file of a table and describing it as a DataFile: batch
// checks against the table schema, the AI-Lake writer call for the requested
// index mode, field ids and column indices of what was written.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "ailake/file.h"
#include "ailake/table.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/shared_codebook.h"

namespace ailake::table {

enum class IndexMode {
  kInline,    // sections built now (each column's policy, or the override)
  kDeferred,  // plain Parquet now, index owed (INDEX_STATE_PENDING)
};

struct WrittenFile {
  DataFile data_file;
  int64_t num_rows = 0;
};

// Writes `batch` as a new data file of `table` (stored under data/ with
// put-if-absent, not yet committed) and returns its DataFile. `columns` holds
// one entry per vector column of the file: its policy (index settings as the
// caller wants them) and its embeddings (empty = the batch's FixedSizeList column).
// `require_all_columns` = false for the files of AddColumns (new columns only).
// IVF-PQ columns (inline, or owed by a deferred file) use the column's shared
// codebook (shared_codebook.h); `codebooks` collects those used, across the
// files of one operation, for its commit (RecordCodebooks). On failure the
// codebooks this call trained are deleted again.
arrow::Result<WrittenFile> WriteDataFile(const Table& table, const arrow::RecordBatch& batch,
                                         std::span<const VectorColumnBatch> columns, IndexMode mode,
                                         const FileWriteOptions& file_options,
                                         std::vector<ColumnCodebook>* codebooks,
                                         bool require_all_columns = true);

// DataFile.fields / column_indices (the container's column of each field,
// AilakeFileReader::field_columns) and the format version of the file
// `file`, its top-level fields matched to the table's by name.
arrow::Status DescribeColumns(const Manifest& m, const AilakeFileReader& file, DataFile* df);

// The policies of the vector columns among a data file's fields. With the
// file's reader, each policy's vector_column is the column's name in that
// file (it differs from the table's after a rename); without, the table's.
std::vector<VectorStoragePolicy> PoliciesOfFile(const Table& table, const DataFile& df,
                                                const AilakeFileReader* file = nullptr);

// Commits fragments made of already written data files as one append,
// recording the shared codebooks they were encoded with (*codebook_raced:
// another writer committed another codebook for one of the columns first);
// returns the table at the version committed (table_writer.cc).
arrow::Result<std::shared_ptr<Table>> CommitAppend(const Table& t, std::vector<WrittenFile> files,
                                                   const std::string& detail,
                                                   const std::vector<ColumnCodebook>& codebooks,
                                                   bool* codebook_raced);

// Builds the sections a deferred (pending) data file owes and commits the
// indexed file in its place (table_writer.cc). Returns false if the file is
// no longer pending in the latest version.
arrow::Result<bool> IndexPendingFile(const Table& t, const std::string& path,
                                     const IndexBuildOptions& build);

}  // namespace ailake::table
