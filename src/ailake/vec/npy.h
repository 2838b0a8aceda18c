// NumPy .npy files of float and integer matrices (layer vec/): the one .npy
// reader and writer, for the CLI's vector input and output, tools, tests and
// benchmarks (integer ground-truth ids).
//
// Format (NumPy's documented .npy v1/v2/v3): magic "\x93NUMPY", major, minor
// version bytes, a little-endian u16 (v1) or u32 (v2, v3) header length, an
// ASCII Python-dict header {'descr': ..., 'fortran_order': ..., 'shape': ...},
// then the raw array. Accepted: C order, 1-d (one row) or 2-d shape, and
// descr '<f4' (or '<f8' / '<f2', converted) for floats, '<i8' (or '<i4',
// widened) for integers. Everything is validated against the size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/result.h>

namespace ailake::vec {

struct FloatMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;  // row-major rows x cols
};

struct Int64Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> values;  // row-major rows x cols
};

arrow::Result<FloatMatrix> ParseNpy(const uint8_t* data, size_t size);
arrow::Result<FloatMatrix> ReadNpyFile(const std::string& path);
// Integer arrays only: a float file is refused, not truncated.
arrow::Result<Int64Matrix> ParseNpyInt64(const uint8_t* data, size_t size);
arrow::Result<Int64Matrix> ReadNpyInt64File(const std::string& path);
arrow::Status WriteNpyFile(const std::string& path, const FloatMatrix& m);

}  // namespace ailake::vec
