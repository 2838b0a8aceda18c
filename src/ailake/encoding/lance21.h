// Pages of Lance file versions 2.1 and 2.2 (docs/FORMAT.md 5.6): the
// structural layouts (mini-block, full-zip, all-null) with their
// repetition and definition levels, and the compressive encodings inside
// them. Internal to the encoding/ layer: LanceFileReader decodes a leaf
// column's pages into levels and values here and assembles Arrow arrays
// from them; LanceFileWriter encodes pages here.
// Every function is reentrant; nothing here holds state between calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <arrow/api.h>

#include "ailake/encoding/field_encoder.h"
#include "ailake/encoding/lance_format21.pb.h"

namespace ailake::encoding::l21 {

namespace pb = ailake::encoding::lance21;

// The levels and values of some rows of one leaf column. Items are the
// entries of the repetition and definition levels; visible items (those
// not standing for a null or empty list) each have a value.
struct LeafItems {
  std::vector<uint16_t> rep;                              // empty: the column has no lists
  std::vector<uint16_t> def;                              // empty: nothing is null or empty
  std::vector<std::shared_ptr<arrow::ArrayData>> values;  // visible items' values, in order
  int64_t rows = 0;
};

// Reads bytes [from, from + len) of page buffer `buffer` (checked against
// the file and its page checksums by the caller).
using ReadFn = std::function<arrow::Result<std::shared_ptr<arrow::Buffer>>(
    size_t buffer, uint64_t from, uint64_t len)>;

struct PageIn {
  const pb::PageLayout* layout = nullptr;
  std::vector<uint64_t> buffer_sizes;
  int64_t rows = 0;
  uint16_t minor = 1;  // file version 2.<minor>
  ReadFn read;
};

// The levels and values of rows [lo, hi) of a page of a leaf of Arrow type
// `leaf_type` (the values' type: a string, a fixed-size list of floats...).
arrow::Result<LeafItems> DecodeRows(const PageIn& page,
                                    const std::shared_ptr<arrow::DataType>& leaf_type, int64_t lo,
                                    int64_t hi);
// The same for rows `rows` of the page (ascending, unique), concatenated
// in that order; reads only the chunks (mini-block) or rows (full-zip)
// holding them where the layout allows.
arrow::Result<LeafItems> TakeRows(const PageIn& page,
                                  const std::shared_ptr<arrow::DataType>& leaf_type,
                                  std::span<const int64_t> rows);

// The shape of a leaf's values: fixed width (bytes per value; fixed-size
// lists flattened, items per value over all their levels), a bitmap
// (booleans), or variable (strings, binaries).
struct ValueShape {
  bool variable = false;
  bool large = false;    // 64-bit offsets
  bool boolean = false;  // 1 bit per value
  bool opaque = false;   // fixed_size_binary: bytes without structure (AI-Lake vectors)
  int64_t width = 0;     // fixed: bytes per value (a whole fixed-size list)
  int64_t items = 1;     // fixed-size lists: items per value
  int64_t item_width = 0;
  std::vector<int64_t> dims;  // fixed-size lists, outermost first
  std::shared_ptr<arrow::DataType> type;
};
arrow::Result<ValueShape> ShapeOf(const std::shared_ptr<arrow::DataType>& type);

// The layers of a page, innermost first (the page's `layers`).
std::vector<pb::RepDefLayer> LayersOf(const pb::PageLayout& layout);

// One level of nesting of a leaf's path, outermost first, after unravelling
// its levels: the slots of that level, their validity, and for a list the
// first child slot of each (offsets, one more than slots).
struct Level {
  bool is_list = false;
  int64_t slots = 0;
  std::vector<uint8_t> valid;    // per slot; empty: every slot valid
  std::vector<int64_t> offsets;  // lists: slots + 1
};

// Turns levels into Levels, outermost first, for `layers` (innermost
// first). The innermost level's slots are the visible items, in order.
arrow::Result<std::vector<Level>> Unravel(const LeafItems& items,
                                          const std::vector<pb::RepDefLayer>& layers);

// ---- writing ----

// One step from a top-level field down to a leaf: kind 0 a struct (child:
// the field taken), 1 a list, 2 a large list, 3 the leaf.
struct PathNodeSpec {
  int kind = 3;
  int child = 0;
};

// The leaves of a field in pre-order, each as its path; fixed-size lists
// and packed structs (packed_struct.h) are leaves.
std::vector<std::vector<PathNodeSpec>> LeafPaths(const arrow::Field& field);

// A leaf's settings from its field's metadata, as pylance reads them:
// `lance-encoding:compression` on a string or binary field ("lz4", "zstd",
// "fsst", "none": that scheme for every page instead of the choice by
// statistics) and `lance-encoding:compression-level` (zstd only). Unknown
// schemes, levels elsewhere and compression on other types are errors.
struct LeafOptions {
  std::string compression;  // empty: chosen per page
  int level = 0;            // zstd level; 0 = the library's default
};
arrow::Result<LeafOptions> LeafOptionsOf(const arrow::Field& leaf);

// One page of the leaf at `path` holding all of `rows` (an array of the
// top-level field), for file version 2.<minor>: levels numbered from what
// the rows hold; mini-block with the smallest of flat, bit-packed,
// run-length or dictionary values (strings: dictionary, FSST, plain or LZ4
// per chunk), full-zip for values of 256 bytes or more and for every
// fixed-size list or binary (vectors: a row is one range, read in place), constant
// when every value is null. A packed struct leaf (packed_struct.h) is one
// column of whole rows. Errors name `field_name`, the top-level field.
arrow::Result<EncodedPage> EncodeLeafPage(const std::shared_ptr<arrow::Array>& rows,
                                          const std::vector<PathNodeSpec>& path, uint32_t column,
                                          uint64_t first_row, int minor,
                                          const std::string& field_name,
                                          const LeafOptions& options = {});

}  // namespace ailake::encoding::l21
