#include "ailake/vec/npy.h"

#include <arrow/io/file.h>

#include <cstring>
#include <span>
#include <string_view>

#include "ailake/vec/kernels.h"

namespace ailake::vec {
namespace {

// Value of `key` in the header dict, as raw text up to the next top-level ','
// or '}' (the shape tuple keeps its parentheses).
arrow::Result<std::string> DictValue(std::string_view header, std::string_view key) {
  const std::string quoted1 = "'" + std::string(key) + "'";
  const std::string quoted2 = "\"" + std::string(key) + "\"";
  size_t k = header.find(quoted1);
  size_t klen = quoted1.size();
  if (k == std::string_view::npos) {
    k = header.find(quoted2);
    klen = quoted2.size();
  }
  if (k == std::string_view::npos) {
    return arrow::Status::Invalid("npy: header has no '", key, "'");
  }
  size_t i = header.find(':', k + klen);
  if (i == std::string_view::npos) return arrow::Status::Invalid("npy: malformed header");
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  int depth = 0;
  size_t j = i;
  for (; j < header.size(); ++j) {
    const char c = header[j];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) return arrow::Status::Invalid("npy: malformed header");
  }
  std::string v(header.substr(i, j - i));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

// An element type a reader accepts: its descr (without quotes) and bytes.
struct Dtype {
  std::string_view descr;
  int bytes;
};
constexpr Dtype kFloatTypes[] = {{"<f4", 4}, {"<f8", 8}, {"<f2", 2}};
constexpr Dtype kIntTypes[] = {{"<i4", 4}, {"<i8", 8}};

// A matrix's header checked against the file: `count` = rows x cols values of
// `elem` bytes each start at `values` and lie inside the file.
struct NpyArray {
  int elem = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  uint64_t count = 0;
  const uint8_t* values = nullptr;
};

// Parses and validates everything but the values: magic, version, header
// length, a dtype among `accepted` (`need` names them for the error), C order,
// a 1-d or 2-d shape, and that the values fit in the file.
arrow::Result<NpyArray> ParseArray(const uint8_t* data, size_t size,
                                   std::span<const Dtype> accepted, std::string_view need) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0) {
    return arrow::Status::Invalid("npy: not a .npy file (bad magic)");
  }
  const uint8_t major = data[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<size_t>(data[8]) | (static_cast<size_t>(data[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return arrow::Status::Invalid("npy: truncated header");
    uint32_t len;
    std::memcpy(&len, data + 8, 4);
    header_len = len;
    header_start = 12;
  } else {
    return arrow::Status::Invalid("npy: unsupported format version ", int(major));
  }
  if (header_len > size - header_start || header_len > (1u << 20)) {
    return arrow::Status::Invalid("npy: header length ", header_len, " exceeds the file");
  }
  std::string_view header(reinterpret_cast<const char*>(data + header_start), header_len);
  ARROW_ASSIGN_OR_RAISE(std::string descr, DictValue(header, "descr"));
  ARROW_ASSIGN_OR_RAISE(std::string fortran, DictValue(header, "fortran_order"));
  ARROW_ASSIGN_OR_RAISE(std::string shape, DictValue(header, "shape"));
  NpyArray a;
  const bool quoted = descr.size() >= 2 && descr.front() == descr.back() &&
                      (descr.front() == '\'' || descr.front() == '"');
  for (const Dtype& t : accepted) {
    if (quoted && std::string_view(descr).substr(1, descr.size() - 2) == t.descr) a.elem = t.bytes;
  }
  if (a.elem == 0) {
    return arrow::Status::Invalid("npy: dtype ", descr, " is not supported (need ", need, ")");
  }
  if (fortran != "False") {
    return arrow::Status::Invalid("npy: Fortran-ordered arrays are not supported");
  }
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    return arrow::Status::Invalid("npy: malformed shape ", shape);
  }
  std::vector<int64_t> dims;
  std::string cur;
  for (size_t i = 1; i + 1 < shape.size(); ++i) {
    const char c = shape[i];
    if (c >= '0' && c <= '9') {
      if (cur.size() > 15) return arrow::Status::Invalid("npy: shape dimension too large");
      cur.push_back(c);
    } else if (c == ',' || c == ' ' || c == 'L') {
      if (!cur.empty()) {
        dims.push_back(std::stoll(cur));
        cur.clear();
      }
    } else {
      return arrow::Status::Invalid("npy: malformed shape ", shape);
    }
  }
  if (!cur.empty()) dims.push_back(std::stoll(cur));
  if (dims.size() == 1) {
    a.rows = 1;
    a.cols = dims[0];
  } else if (dims.size() == 2) {
    a.rows = dims[0];
    a.cols = dims[1];
  } else {
    return arrow::Status::Invalid("npy: need a 1-d or 2-d array, shape is ", shape);
  }
  const size_t body = header_start + header_len;
  const size_t available = size - body;
  if (a.cols <= 0 && a.rows > 0) return arrow::Status::Invalid("npy: zero-width rows");
  if (a.cols > 0 && static_cast<uint64_t>(a.rows) > UINT64_MAX / static_cast<uint64_t>(a.cols)) {
    return arrow::Status::Invalid("npy: shape overflows");
  }
  a.count = static_cast<uint64_t>(a.rows) * static_cast<uint64_t>(a.cols);
  if (a.count > available / a.elem) {
    return arrow::Status::Invalid("npy: shape ", shape, " needs ", a.count * a.elem,
                                  " bytes, file has ", available);
  }
  a.values = data + body;
  return a;
}

// Reads a whole file and parses it with `parse`; errors name the file.
template <class Parse>
auto ReadFile(const std::string& path, Parse parse) -> decltype(parse(nullptr, 0)) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto buf, file->ReadAt(0, size));
  auto r = parse(buf->data(), static_cast<size_t>(buf->size()));
  if (!r.ok()) return r.status().WithMessage(path, ": ", r.status().message());
  return r;
}

}  // namespace

arrow::Result<FloatMatrix> ParseNpy(const uint8_t* data, size_t size) {
  ARROW_ASSIGN_OR_RAISE(
      const NpyArray a,
      ParseArray(data, size, kFloatTypes, "float32 '<f4', float64 '<f8' or float16 '<f2'"));
  FloatMatrix m{a.rows, a.cols, std::vector<float>(a.count)};
  if (a.count == 0) {
    // Nothing to copy (an empty vector has no data pointer).
  } else if (a.elem == 4) {
    std::memcpy(m.values.data(), a.values, a.count * 4);
  } else if (a.elem == 2) {
    for (uint64_t i = 0; i < a.count; ++i) {
      uint16_t h;
      std::memcpy(&h, a.values + i * 2, 2);
      m.values[i] = HalfToFloat(h);
    }
  } else {
    for (uint64_t i = 0; i < a.count; ++i) {
      double d;
      std::memcpy(&d, a.values + i * 8, 8);
      m.values[i] = static_cast<float>(d);
    }
  }
  return m;
}

arrow::Result<Int64Matrix> ParseNpyInt64(const uint8_t* data, size_t size) {
  ARROW_ASSIGN_OR_RAISE(const NpyArray a,
                        ParseArray(data, size, kIntTypes, "int32 '<i4' or int64 '<i8'"));
  Int64Matrix m{a.rows, a.cols, std::vector<int64_t>(a.count)};
  if (a.count == 0) {
    // Nothing to copy (an empty vector has no data pointer).
  } else if (a.elem == 8) {
    std::memcpy(m.values.data(), a.values, a.count * 8);
  } else {
    for (uint64_t i = 0; i < a.count; ++i) {
      int32_t v;
      std::memcpy(&v, a.values + i * 4, 4);
      m.values[i] = v;
    }
  }
  return m;
}

arrow::Result<FloatMatrix> ReadNpyFile(const std::string& path) { return ReadFile(path, ParseNpy); }

arrow::Result<Int64Matrix> ReadNpyInt64File(const std::string& path) {
  return ReadFile(path, ParseNpyInt64);
}

arrow::Status WriteNpyFile(const std::string& path, const FloatMatrix& m) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(m.rows) + ", " + std::to_string(m.cols) + "), }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  ARROW_ASSIGN_OR_RAISE(auto f, arrow::io::FileOutputStream::Open(path));
  ARROW_RETURN_NOT_OK(f->Write(out.data(), static_cast<int64_t>(out.size())));
  ARROW_RETURN_NOT_OK(f->Write(m.values.data(), static_cast<int64_t>(m.values.size() * 4)));
  return f->Close();
}

}  // namespace ailake::vec
