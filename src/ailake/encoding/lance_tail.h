// The end of a Lance file (docs/FORMAT.md 5.1), shared by LanceFileWriter
// and LanceFileReader::CopyWithGlobalBuffers: global buffers, the schema
// (global buffer 0), column metadata, the two offset tables and the footer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <arrow/io/interfaces.h>
#include <arrow/status.h>

#include "ailake/encoding/lance_format.pb.h"
#include "ailake/lance.h"

namespace ailake::encoding {

inline constexpr int64_t kLanceAlignment = 64;

// Writes, from file offset `position` on: each of `globals` 64-byte aligned
// (global buffers 1..n; an offset_key puts its offset into the schema
// metadata), the descriptor `fd` (global buffer 0), `column_metadata`, the
// column metadata and global buffer offset tables, and the footer with
// version (major, minor). Padding is Lance's ('H').
arrow::Status WriteLanceTail(arrow::io::OutputStream* sink, int64_t position,
                             lance::FileDescriptor fd,
                             const std::vector<LanceGlobalBuffer>& globals,
                             const std::vector<std::string>& column_metadata, uint16_t major,
                             uint16_t minor);

}  // namespace ailake::encoding
