#include "ailake/table/deletion_file.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include <arrow/status.h>

namespace ailake::table {
namespace {

constexpr char kMagic[4] = {'A', 'I', 'D', 'L'};
constexpr size_t kHeaderBytes = 24;

template <typename T>
void Put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));  // little-endian host (x86-64, aarch64)
}
template <typename T>
T Get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

uint64_t Fnv1a64(const uint8_t* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> SerializeDeletionFile(
    const std::vector<uint32_t>& deleted, uint64_t physical_rows) {
  for (size_t i = 0; i < deleted.size(); ++i) {
    if (deleted[i] >= physical_rows || (i > 0 && deleted[i] <= deleted[i - 1])) {
      return arrow::Status::Invalid("deletion offsets must be strictly increasing and < ",
                                    physical_rows, " (offset ", deleted[i], " at ", i, ")");
    }
  }
  const size_t body = kHeaderBytes + 4 * deleted.size();
  ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(static_cast<int64_t>(body + 8)));
  uint8_t* p = buf->mutable_data();
  std::memcpy(p, kMagic, 4);
  Put<uint32_t>(p + 4, kDeletionFileVersion);
  Put<uint64_t>(p + 8, physical_rows);
  Put<uint64_t>(p + 16, deleted.size());
  if (!deleted.empty()) std::memcpy(p + kHeaderBytes, deleted.data(), 4 * deleted.size());
  Put<uint64_t>(p + body, Fnv1a64(p, body));
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

arrow::Result<std::vector<uint32_t>> ParseDeletionFile(const arrow::Buffer& bytes,
                                                       uint64_t physical_rows) {
  const uint8_t* p = bytes.data();
  const size_t n = static_cast<size_t>(bytes.size());
  if (n < kHeaderBytes + 8) {
    return arrow::Status::Invalid("deletion file: ", n, " bytes is shorter than its header");
  }
  if (std::memcmp(p, kMagic, 4) != 0) return arrow::Status::Invalid("deletion file: bad magic");
  const uint32_t version = Get<uint32_t>(p + 4);
  if (version != kDeletionFileVersion) {
    return arrow::Status::Invalid("deletion file: unknown format version ", version);
  }
  const uint64_t rows = Get<uint64_t>(p + 8);
  if (rows != physical_rows) {
    return arrow::Status::Invalid("deletion file: made for ", rows,
                                  " physical rows, the fragment has ", physical_rows);
  }
  const uint64_t count = Get<uint64_t>(p + 16);
  if (count > (n - kHeaderBytes - 8) / 4 || kHeaderBytes + 4 * count + 8 != n) {
    return arrow::Status::Invalid("deletion file: count ", count, " does not match size ", n);
  }
  const size_t body = kHeaderBytes + 4 * count;
  if (Get<uint64_t>(p + body) != Fnv1a64(p, body)) {
    return arrow::Status::Invalid("deletion file: checksum mismatch");
  }
  std::vector<uint32_t> out(count);
  if (count) std::memcpy(out.data(), p + kHeaderBytes, 4 * count);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] >= physical_rows || (i > 0 && out[i] <= out[i - 1])) {
      return arrow::Status::Invalid("deletion file: offset ", out[i], " at ", i,
                                    " is out of order or out of range");
    }
  }
  return out;
}

std::vector<uint32_t> MergeDeleted(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

RowBitmap LiveRowBitmap(const std::vector<uint32_t>& deleted, uint32_t physical_rows) {
  RowBitmap live(physical_rows, /*all=*/true);
  for (uint32_t r : deleted) {
    if (r < physical_rows) live.Reset(r);
  }
  return live;
}

}  // namespace ailake::table
