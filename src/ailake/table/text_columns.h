// Full-text indexes of a table's text columns (layer table/): which columns
// have one (Manifest.text_columns), which data files carry its section
// (DataFile.text_fields) and which owe it, and building the sections of a
// batch being written or of a file already written.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "ailake/file.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/text_search.h"

namespace ailake::table {

// The manifest's text indexes, each named by its column's current name.
arrow::Result<std::vector<TextIndexConfig>> TextIndexesOf(const Manifest& m);

// The manifest's text index of field `field_id`, or null.
const TextColumn* TextColumnOf(const Manifest& m, int32_t field_id);

// No data file of `m` carries field `field_id`'s text index any more (each
// owes it, or none when the index is dropped).
void ForgetTextField(Manifest* m, int32_t field_id);

// The fields of m's text indexes that data file `df` holds (a column
// index >= 0) and whose section it does not carry.
std::vector<int32_t> OwedTextFields(const Manifest& m, const DataFile& df);

// Drops from df.text_fields the fields whose text index in `latest` is not
// the one `written_with` (the manifest the file's sections were built from)
// has: a commit rebased over a CreateTextIndex or DropTextIndex leaves the
// file owing the current index instead of claiming an old one.
void KeepCurrentTextFields(const Manifest& written_with, const Manifest& latest, DataFile* df);

// The sections of m's text indexes over the columns of `batch` (named as
// the table names them), to be written with it; *fields gets their field ids.
arrow::Result<std::vector<TextSectionBytes>> TextSectionsOfBatch(const Manifest& m,
                                                                 const arrow::RecordBatch& batch,
                                                                 std::vector<int32_t>* fields);

// The sections data file `df` (opened as `file`) owes for `fields`, built
// from its columns (named as the file names them).
arrow::Result<std::vector<TextSectionBytes>> TextSectionsOfFile(const Manifest& m,
                                                                const DataFile& df,
                                                                const AilakeFileReader& file,
                                                                const std::vector<int32_t>& fields);

}  // namespace ailake::table
