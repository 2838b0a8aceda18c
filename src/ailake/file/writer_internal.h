// Pieces of the writer shared with index-later (index_later.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/util/key_value_metadata.h>

#include "ailake/file.h"
#include "ailake/index.h"
#include "ailake/lance.h"

namespace parquet {
class WriterProperties;
}

namespace ailake::file_internal {

// Field metadata of a vector column (docs/FORMAT.md 2.1).
std::shared_ptr<const arrow::KeyValueMetadata> VectorFieldMetadata(const VectorStoragePolicy& p);
// Rows per data page of a vector column of row_bytes under these options.
int64_t VectorPageRows(const FileWriteOptions& o, int64_t row_bytes);
// The encoded AILK section of `view` under `p`: centroid, radius, index blob.
arrow::Result<std::string> BuildSectionFromView(const VectorStoragePolicy& p,
                                                const VectorView& view,
                                                const IndexBuildOptions& build);

// The sections as Lance global buffers, each with its offset key.
struct SectionToWrite;
std::vector<LanceGlobalBuffer> LanceSections(const std::vector<SectionToWrite>& sections);
// `table` and its sections as a Lance-format AI-Lake file (docs/FORMAT.md 5.5).
arrow::Status WriteLanceContainer(const arrow::Table& table,
                                  const std::vector<SectionToWrite>& sections,
                                  const FileWriteOptions& o, arrow::io::OutputStream* sink);

}  // namespace ailake::file_internal
