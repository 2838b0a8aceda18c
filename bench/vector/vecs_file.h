// The .fvecs / .ivecs files of the classic ANN datasets (SIFT, GIST): per row
// a little-endian int32 dimension, then that many 4-byte values (float32 or
// int32). Not .npy, so not the project's reader (src/ailake/vec/npy.h), but
// read into its matrix types.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "ailake/vec/npy.h"

namespace ailake::bench {

// Matrix = vec::FloatMatrix reads .fvecs, vec::Int64Matrix reads .ivecs
// (widened). Throws on a ragged, empty-width or truncated row.
template <class Matrix>
Matrix ReadVecs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  Matrix m;
  int32_t d;
  std::vector<int32_t> row;
  while (in.read(reinterpret_cast<char*>(&d), 4)) {
    if (d <= 0) throw std::runtime_error(path + ": row of dimension " + std::to_string(d));
    if (m.cols == 0) m.cols = d;
    if (d != m.cols) throw std::runtime_error(path + ": ragged rows");
    row.resize(static_cast<size_t>(d));
    if (!in.read(reinterpret_cast<char*>(row.data()), std::streamsize{4} * d)) {
      throw std::runtime_error(path + ": truncated");
    }
    for (const int32_t v : row) {
      if constexpr (std::is_same_v<Matrix, vec::FloatMatrix>) {
        float f;
        std::memcpy(&f, &v, 4);
        m.values.push_back(f);
      } else {
        m.values.push_back(v);
      }
    }
    ++m.rows;
  }
  return m;
}

}  // namespace ailake::bench
