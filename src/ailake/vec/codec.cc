#include "ailake/vec/codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ailake/vec/kernels.h"

namespace ailake::vec {
namespace {

inline int8_t QuantizeInt8(float x, float scale, float offset) {
  const float c = std::nearbyint((x - offset) / scale);
  return static_cast<int8_t>(std::clamp(c, -128.0f, 127.0f));
}

void FitRange(const float* v, size_t n, float* scale, float* offset) {
  float lo = v[0], hi = v[0];
  for (size_t i = 1; i < n; ++i) {
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  const float s = (hi - lo) / 255.0f;
  // A constant vector: any positive scale decodes every code-0 exactly.
  *scale = s > 0.0f ? s : 1.0f;
  *offset = s > 0.0f ? lo + 128.0f * s : lo;
}

}  // namespace

size_t StoredRowBytes(Precision precision, uint32_t dim, const Int8Params& int8) {
  switch (precision) {
    case Precision::kF32: return static_cast<size_t>(dim) * 4;
    case Precision::kF16: return static_cast<size_t>(dim) * 2;
    case Precision::kInt8: return dim + (int8.scaling == Int8Scaling::kPerVector ? 8 : 0);
  }
  return 0;
}

Int8Params FitFixedInt8(const float* rows, size_t n, uint32_t dim) {
  Int8Params p;
  p.scaling = Int8Scaling::kFixed;
  if (n == 0 || dim == 0) {
    p.scale = 1.0f;
    return p;
  }
  FitRange(rows, n * dim, &p.scale, &p.offset);
  return p;
}

void ReadInt8RowParams(const uint8_t* row, uint32_t dim, float* scale, float* offset) {
  std::memcpy(scale, row + dim, 4);
  std::memcpy(offset, row + dim + 4, 4);
}

arrow::Status EncodeRows(Precision precision, uint32_t dim, const Int8Params& int8,
                         const float* rows, size_t n, uint8_t* out) {
  const size_t row_bytes = StoredRowBytes(precision, dim, int8);
  switch (precision) {
    case Precision::kF32:
      if (n > 0) std::memcpy(out, rows, n * row_bytes);
      return arrow::Status::OK();
    case Precision::kF16: {
      // Aligned scratch: `out` may be unaligned for uint16_t.
      std::vector<uint16_t> tmp(dim);
      for (size_t r = 0; r < n; ++r) {
        Kernels().f32_to_f16(rows + r * dim, tmp.data(), dim);
        std::memcpy(out + r * row_bytes, tmp.data(), row_bytes);
      }
      return arrow::Status::OK();
    }
    case Precision::kInt8: break;
  }
  if (int8.scaling != Int8Scaling::kPerVector && int8.scaling != Int8Scaling::kFixed) {
    return arrow::Status::Invalid("int8 encoding needs per_vector or fixed scaling");
  }
  if (int8.scaling == Int8Scaling::kFixed && !(int8.scale > 0.0f && std::isfinite(int8.scale))) {
    return arrow::Status::Invalid("int8 fixed scaling needs a finite scale > 0, got ", int8.scale);
  }
  for (size_t r = 0; r < n; ++r) {
    const float* v = rows + r * dim;
    for (uint32_t i = 0; i < dim; ++i) {
      if (!std::isfinite(v[i])) {
        return arrow::Status::Invalid("int8 encoding: row ", r, " element ", i, " is not finite (",
                                      v[i], ")");
      }
    }
    uint8_t* o = out + r * row_bytes;
    float scale = int8.scale, offset = int8.offset;
    if (int8.scaling == Int8Scaling::kPerVector) {
      if (dim == 0) continue;
      FitRange(v, dim, &scale, &offset);
      std::memcpy(o + dim, &scale, 4);
      std::memcpy(o + dim + 4, &offset, 4);
    }
    for (uint32_t i = 0; i < dim; ++i) {
      o[i] = static_cast<uint8_t>(QuantizeInt8(v[i], scale, offset));
    }
  }
  return arrow::Status::OK();
}

void DecodeRow(Precision precision, uint32_t dim, const Int8Params& int8, const uint8_t* row,
               float* out) {
  switch (precision) {
    case Precision::kF32: std::memcpy(out, row, static_cast<size_t>(dim) * 4); return;
    case Precision::kF16:
      for (uint32_t i = 0; i < dim; ++i) {
        uint16_t h;
        std::memcpy(&h, row + 2 * i, 2);
        out[i] = HalfToFloat(h);
      }
      return;
    case Precision::kInt8: {
      float scale = int8.scale, offset = int8.offset;
      if (int8.scaling == Int8Scaling::kPerVector) ReadInt8RowParams(row, dim, &scale, &offset);
      for (uint32_t i = 0; i < dim; ++i) {
        out[i] = static_cast<float>(static_cast<int8_t>(row[i])) * scale + offset;
      }
      return;
    }
  }
}

void NormalizeRows(float* rows, size_t n, uint32_t dim) {
  for (size_t r = 0; r < n; ++r) {
    float* v = rows + r * dim;
    const float nn = Kernels().dot_f32(v, v, dim);
    if (nn > 0.0f) {
      const float inv = 1.0f / std::sqrt(nn);
      for (uint32_t i = 0; i < dim; ++i) v[i] *= inv;
    }
  }
}

}  // namespace ailake::vec
