// Stored-vector codecs: f32 rows -> the bytes of the vector column for a
// precision (docs/FORMAT.md section 1), and back.
//
// Round-trip tolerances (per element, x the original value):
//   f32   exact
//   f16   |decode(x) - x| <= 2^-11 |x| for |x| in [2^-14, 65504]; 2^-25 absolute below
//   int8  |decode(x) - x| <= scale / 2 (+ f32 rounding), scale = (max - min) / 255 of the
//         vector (per-vector) or of the column (fixed, FitFixedInt8)
#pragma once

#include <cstddef>
#include <cstdint>

#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/policy.h"

namespace ailake::vec {

// Bytes of one stored row (the FIXED_LEN_BYTE_ARRAY width).
size_t StoredRowBytes(Precision precision, uint32_t dim, const Int8Params& int8);

// One scale/offset for a whole column so every value of `rows` (n x dim f32)
// encodes within scale / 2: scale = (max - min) / 255, offset = min + 128 * scale,
// code = round((x - offset) / scale) in [-128, 127]. Constant input gets scale 1.
Int8Params FitFixedInt8(const float* rows, size_t n, uint32_t dim);

// Encodes n rows of dim f32 into `out` (n * StoredRowBytes bytes). Rejects
// non-finite values for int8 (no code can hold them) and an unset int8 rule.
arrow::Status EncodeRows(Precision precision, uint32_t dim, const Int8Params& int8,
                         const float* rows, size_t n, uint8_t* out);

// Decodes one stored row to dim f32. `row` holds StoredRowBytes bytes.
void DecodeRow(Precision precision, uint32_t dim, const Int8Params& int8, const uint8_t* row,
               float* out);

// Scales each of n rows to unit L2 length in place (zero rows stay zero).
void NormalizeRows(float* rows, size_t n, uint32_t dim);

// The scale and offset of a per-vector int8 row (stored after the dim codes).
void ReadInt8RowParams(const uint8_t* row, uint32_t dim, float* scale, float* offset);

}  // namespace ailake::vec
