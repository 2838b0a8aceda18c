// Minimal .npy / .fvecs / .ivecs readers for the benchmark (little-endian,
// C order, float32 or int32/int64 2-D arrays).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ailake::bench {

struct Matrix {
  uint64_t rows = 0, cols = 0;
  std::vector<float> f32;    // for float data
  std::vector<int64_t> i64;  // for integer data
};

inline Matrix ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[6];
  in.read(magic, 6);
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + ": not .npy");
  uint8_t ver[2];
  in.read(reinterpret_cast<char*>(ver), 2);
  uint32_t hlen = 0;
  if (ver[0] == 1) {
    uint16_t h;
    in.read(reinterpret_cast<char*>(&h), 2);
    hlen = h;
  } else {
    in.read(reinterpret_cast<char*>(&hlen), 4);
  }
  std::string header(hlen, ' ');
  in.read(header.data(), hlen);
  if (header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(path + ": only C-order arrays");
  }
  const auto shape_at = header.find("'shape': (");
  Matrix m;
  if (std::sscanf(header.c_str() + shape_at, "'shape': (%lu, %lu)", &m.rows, &m.cols) != 2) {
    throw std::runtime_error(path + ": expected a 2-D array");
  }
  const size_t n = m.rows * m.cols;
  if (header.find("'<f4'") != std::string::npos) {
    m.f32.resize(n);
    in.read(reinterpret_cast<char*>(m.f32.data()), static_cast<std::streamsize>(n * 4));
  } else if (header.find("'<i4'") != std::string::npos) {
    std::vector<int32_t> t(n);
    in.read(reinterpret_cast<char*>(t.data()), static_cast<std::streamsize>(n * 4));
    m.i64.assign(t.begin(), t.end());
  } else if (header.find("'<i8'") != std::string::npos) {
    m.i64.resize(n);
    in.read(reinterpret_cast<char*>(m.i64.data()), static_cast<std::streamsize>(n * 8));
  } else {
    throw std::runtime_error(path + ": dtype must be <f4, <i4 or <i8");
  }
  if (!in) throw std::runtime_error(path + ": truncated");
  return m;
}

// .fvecs / .ivecs: per row an int32 dimension then that many 4-byte values.
inline Matrix ReadVecs(const std::string& path, bool floats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  Matrix m;
  int32_t d;
  while (in.read(reinterpret_cast<char*>(&d), 4)) {
    if (m.cols == 0) m.cols = static_cast<uint64_t>(d);
    if (static_cast<uint64_t>(d) != m.cols) throw std::runtime_error(path + ": ragged rows");
    std::vector<int32_t> row(m.cols);
    in.read(reinterpret_cast<char*>(row.data()), static_cast<std::streamsize>(4 * m.cols));
    for (int32_t v : row) {
      if (floats) {
        float f;
        std::memcpy(&f, &v, 4);
        m.f32.push_back(f);
      } else {
        m.i64.push_back(v);
      }
    }
    ++m.rows;
  }
  return m;
}

inline Matrix ReadMatrix(const std::string& path, bool floats) {
  const auto ends = [&](const char* s) {
    return path.size() >= std::strlen(s) &&
           path.compare(path.size() - std::strlen(s), std::string::npos, s) == 0;
  };
  if (ends(".npy")) return ReadNpy(path);
  return ReadVecs(path, floats);
}

}  // namespace ailake::bench
