// Product quantization: a d-dimensional vector is cut into m sub-vectors of
// d/m floats, each replaced by the index of its nearest of ksub codewords
// (256: one byte; 16: four bits) trained by k-means on that sub-space. IVF-PQ applies it to
// residuals (vector minus its coarse centroid), the residual variant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ailake::vec {

// m codebooks from n rows of d floats (d % m == 0): m x ksub x (d/m) floats
// (ksub <= 256).
std::vector<float> TrainProductQuantizer(const float* x, size_t n, size_t d, uint32_t m,
                                         uint32_t ksub, uint32_t iterations, uint64_t seed,
                                         uint32_t threads);

// n rows -> n x m codes, one byte each (< ksub).
void EncodeProductQuantizer(const float* codebooks, size_t d, uint32_t m, uint32_t ksub,
                            const float* x, size_t n, uint8_t* codes, uint32_t threads);

// Row r of the m codebooks reassembled from codes (d floats).
void DecodeProductQuantizer(const float* codebooks, size_t d, uint32_t m, uint32_t ksub,
                            const uint8_t* code, float* out);

}  // namespace ailake::vec
