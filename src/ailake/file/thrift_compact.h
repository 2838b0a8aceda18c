// A minimal reader and writer for the Thrift compact protocol, enough for the
// two Parquet structures the file layer touches without Parquet C++'s help:
//  - PageHeader: to check that a vector-column data page is PLAIN,
//    uncompressed and holds the rows the page index says, and where its values
//    start;
//  - FileMetaData: to replace its key_value_metadata (field 5) while copying
//    every other field byte for byte (index-later rewrites only the footer).
// Every read is bounds-checked against the buffer; nesting depth is limited so
// hostile bytes cannot recurse without end.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake::file_internal {

// The fields of a Parquet PageHeader that matter here (parquet.thrift).
struct PageHeaderInfo {
  int32_t type = -1;  // 0 DATA_PAGE, 1 INDEX_PAGE, 2 DICTIONARY_PAGE, 3 DATA_PAGE_V2
  int32_t uncompressed_page_size = -1;
  int32_t compressed_page_size = -1;
  int32_t num_values = -1;
  int32_t num_nulls = 0;  // v2 only
  int32_t num_rows = -1;  // v2 only
  int32_t encoding = -1;
  int32_t def_levels_byte_length = 0;  // v2 only
  int32_t rep_levels_byte_length = 0;  // v2 only
  bool v2_is_compressed = true;        // v2 only (the spec's default is true)
  uint32_t header_bytes = 0;           // bytes the header itself takes
  bool has_crc = false;                // field 4 present
  uint32_t crc = 0;                    // CRC-32 (zlib's) of the compressed page data
};

// Parses the PageHeader at the start of `bytes`.
arrow::Result<PageHeaderInfo> ParsePageHeader(std::span<const uint8_t> bytes);

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Reads FileMetaData.key_value_metadata (absent = empty).
arrow::Result<KeyValues> ReadFooterKeyValues(std::span<const uint8_t> footer);

// A new FileMetaData: `footer` with key_value_metadata replaced by `kvs`,
// every other field copied unchanged.
arrow::Result<std::string> RewriteFooterKeyValues(std::span<const uint8_t> footer,
                                                  const KeyValues& kvs);

}  // namespace ailake::file_internal
