// Product quantization: a d-dimensional vector is cut into m sub-vectors of
// d/m floats, each replaced by the index (one byte) of its nearest of 256
// codewords trained by k-means on that sub-space. IVF-PQ applies it to
// residuals (vector minus its coarse centroid), the residual variant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ailake::vec {

inline constexpr uint32_t kPqCodewords = 256;

// m codebooks from n rows of d floats (d % m == 0): m x 256 x (d/m) floats.
std::vector<float> TrainProductQuantizer(const float* x, size_t n, size_t d, uint32_t m,
                                         uint32_t iterations, uint64_t seed, uint32_t threads);

// n rows -> n x m codes.
void EncodeProductQuantizer(const float* codebooks, size_t d, uint32_t m, const float* x, size_t n,
                            uint8_t* codes, uint32_t threads);

// Row r of the m codebooks reassembled from codes (d floats).
void DecodeProductQuantizer(const float* codebooks, size_t d, uint32_t m, const uint8_t* code,
                            float* out);

}  // namespace ailake::vec
