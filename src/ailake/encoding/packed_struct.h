// Packed structs (the FieldEncoder seed's "packed form → one column"; Lance
// format docs, "Struct Packing"): a struct field whose metadata sets
// `packed` or `lance-encoding:packed` to "true" is stored row-major in one
// column, each row its children's values one after the other, so that a
// random row is one read. Shared by the 2.0 and 2.1/2.2 encoders and the
// reader. A packed struct stores no null inside a row (pylance refuses
// them too); its own null rows are levels (2.1/2.2) and are refused in 2.0.
// Every function is reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <arrow/api.h>

namespace ailake::encoding {

// A struct field asking for the packed form.
bool IsPackedStruct(const arrow::Field& field);

// How one child sits in a packed row: `bytes` of fixed width, or (bytes 0)
// a `length_bytes`-byte length and then the value's bytes.
struct PackedChild {
  int64_t bytes = 0;
  int length_bytes = 0;
  // Reading only: how a variable child's stored bytes become its value
  // (pylance compresses strings inside a row with FSST); unset: as stored.
  std::function<arrow::Status(std::span<const uint8_t>, std::string*)> decode;
};

// The layout of a packed row of `type`. Children may be fixed width
// (integers, floats, dates and times, decimals, fixed-size binaries, and
// fixed-size lists of these) and, when `allow_variable`, strings and
// binaries; anything else is NotImplemented naming field and child.
arrow::Result<std::vector<PackedChild>> PackedLayout(const arrow::Field& field,
                                                     bool allow_variable);

// Bytes of a packed row when every child is fixed width, else 0.
int64_t PackedRowBytes(const std::vector<PackedChild>& layout);

// The rows of `array` packed: fixed_size_binary(row bytes) when every child
// is fixed width, else binary; a null struct row is a null (zero or empty)
// row. A null child value in a valid row is Invalid, naming it.
arrow::Result<std::shared_ptr<arrow::Array>> PackRows(const arrow::Field& field,
                                                      const arrow::StructArray& array,
                                                      const std::vector<PackedChild>& layout);

// The struct array (no validity of its own) of the packed `rows` (a
// fixed_size_binary or binary array, nulls read as zero rows).
arrow::Result<std::shared_ptr<arrow::ArrayData>> UnpackRows(
    const std::shared_ptr<arrow::DataType>& struct_type, const std::vector<PackedChild>& layout,
    const arrow::ArrayData& rows);

}  // namespace ailake::encoding
