#include "ailake/encoding/lance21.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <arrow/compute/api.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/compression.h>

#include "ailake/encoding/lance21_codecs.h"
#include "ailake/encoding/packed_struct.h"

namespace ailake::encoding::l21 {
namespace {

using Bytes = std::span<const uint8_t>;

// Bounds on what one page may claim (pylance writes at most 4096 values a
// chunk): untrusted counts never size an allocation beyond them.
constexpr int64_t kMaxLevels = int64_t{1} << 26;
constexpr int64_t kMaxChunkValues = int64_t{1} << 16;

arrow::Status Corrupt(const std::string& what) {
  return arrow::Status::Invalid("corrupt Lance file: ", what);
}

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

const char* CompressionName(const pb::CompressiveEncoding& e) {
  switch (e.compression_case()) {
    case pb::CompressiveEncoding::kFlat: return "flat";
    case pb::CompressiveEncoding::kVariable: return "variable";
    case pb::CompressiveEncoding::kConstant: return "constant";
    case pb::CompressiveEncoding::kOutOfLineBitpacking: return "out_of_line_bitpacking";
    case pb::CompressiveEncoding::kInlineBitpacking: return "inline_bitpacking";
    case pb::CompressiveEncoding::kFsst: return "fsst";
    case pb::CompressiveEncoding::kDictionary: return "dictionary";
    case pb::CompressiveEncoding::kRle: return "rle";
    case pb::CompressiveEncoding::kByteStreamSplit: return "byte_stream_split";
    case pb::CompressiveEncoding::kGeneral: return "general";
    case pb::CompressiveEncoding::kFixedSizeList: return "fixed_size_list";
    case pb::CompressiveEncoding::kPackedStruct: return "packed_struct";
    case pb::CompressiveEncoding::kVariablePackedStruct: return "variable_packed_struct";
    default: return "an unknown compression";
  }
}

arrow::Status NotRead(const std::string& what) {
  return arrow::Status::NotImplemented("Lance 2.1 ", what, " is not read by ailake yet");
}

// General compression of one buffer: LZ4 blocks carry a u32 uncompressed
// size before them, Zstandard frames a u64.
arrow::Result<std::shared_ptr<arrow::Buffer>> Decompress(const pb::BufferCompression& c, Bytes in,
                                                         uint64_t max_bytes) {
  arrow::Compression::type type;
  size_t prefix;
  if (c.scheme() == pb::COMPRESSION_ALGORITHM_LZ4) {
    type = arrow::Compression::LZ4;
    prefix = 4;
  } else if (c.scheme() == pb::COMPRESSION_ALGORITHM_ZSTD) {
    type = arrow::Compression::ZSTD;
    prefix = 8;
  } else {
    return NotRead("general compression scheme " + std::to_string(c.scheme()));
  }
  if (in.size() < prefix) return Corrupt("compressed buffer shorter than its size prefix");
  const uint64_t n = prefix == 4 ? Load<uint32_t>(in.data()) : Load<uint64_t>(in.data());
  if (n > max_bytes) {
    return Corrupt("compressed buffer claims " + std::to_string(n) + " bytes, more than " +
                   std::to_string(max_bytes));
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, arrow::util::Codec::Create(type));
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> out,
                        arrow::AllocateBuffer(static_cast<int64_t>(n)));
  ARROW_ASSIGN_OR_RAISE(
      auto got, codec->Decompress(static_cast<int64_t>(in.size() - prefix), in.data() + prefix,
                                  static_cast<int64_t>(n), out->mutable_data()));
  if (static_cast<uint64_t>(got) != n) return Corrupt("compressed buffer decompressed short");
  return out;
}

// Values of a leaf gathered from chunks, then made one Arrow array.
class Values {
 public:
  explicit Values(ValueShape shape) : s_(std::move(shape)) {
    if (s_.variable) offsets_.push_back(0);
  }
  const ValueShape& shape() const { return s_; }
  // Room for n more values (fixed width) or their offsets.
  void Reserve(int64_t n) {
    if (s_.variable) {
      offsets_.reserve(offsets_.size() + static_cast<size_t>(n));
    } else if (s_.boolean) {
      bits_.reserve(bits_.size() + static_cast<size_t>(n));
    } else {
      data_.reserve(data_.size() + static_cast<size_t>(n * s_.width));
    }
  }
  int64_t size() const { return n_; }

  void Fixed(const uint8_t* p, int64_t n) {
    data_.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n * s_.width));
    n_ += n;
    if (!item_valid_.empty()) item_valid_.resize(static_cast<size_t>(n_ * s_.items), 1);
  }
  void Bits(const uint8_t* bitmap, int64_t n) {
    for (int64_t i = 0; i < n; ++i) bits_.push_back(arrow::bit_util::GetBit(bitmap, i) ? 1 : 0);
    n_ += n;
  }
  void Var(const uint8_t* p, size_t len) {
    data_.append(reinterpret_cast<const char*>(p), len);
    offsets_.push_back(data_.size());
    ++n_;
  }
  void Var(const std::string& s) { Var(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  // A string decoded from FSST codes straight into the values.
  arrow::Status VarFsst(const FsstTable& table, Bytes codes) {
    ARROW_RETURN_NOT_OK(table.Decode(codes, &data_));
    offsets_.push_back(data_.size());
    ++n_;
    return arrow::Status::OK();
  }
  // Item validity of the fixed-size-list values just added (n * items bits).
  void ItemValidity(const uint8_t* bitmap, int64_t first_value, int64_t n) {
    item_valid_.resize(static_cast<size_t>(first_value * s_.items), 1);
    for (int64_t i = 0; i < n * s_.items; ++i) {
      item_valid_.push_back(arrow::bit_util::GetBit(bitmap, i) ? 1 : 0);
    }
    item_valid_.resize(static_cast<size_t>(n_ * s_.items), 1);
  }
  // Values `pick` (ascending) of `from`, a Values of the same shape.
  void AppendPicked(const Values& from, const std::vector<int64_t>& pick) {
    for (int64_t i : pick) {
      if (s_.variable) {
        const uint64_t a = from.offsets_[static_cast<size_t>(i)];
        const uint64_t b = from.offsets_[static_cast<size_t>(i) + 1];
        Var(reinterpret_cast<const uint8_t*>(from.data_.data()) + a, static_cast<size_t>(b - a));
      } else if (s_.boolean) {
        bits_.push_back(from.bits_[static_cast<size_t>(i)]);
        ++n_;
      } else {
        data_.append(from.data_, static_cast<size_t>(i * s_.width), static_cast<size_t>(s_.width));
        if (!from.item_valid_.empty() || !item_valid_.empty()) {
          item_valid_.resize(static_cast<size_t>(n_ * s_.items), 1);
          for (int64_t k = 0; k < s_.items; ++k) {
            item_valid_.push_back(from.item_valid_.empty()
                                      ? 1
                                      : from.item_valid_[static_cast<size_t>(i * s_.items + k)]);
          }
        }
        ++n_;
      }
    }
  }
  // n values of zeros (or empty strings): the slots of nulls.
  void Zeros(int64_t n) {
    if (s_.variable) {
      for (int64_t i = 0; i < n; ++i) Var(nullptr, 0);
    } else if (s_.boolean) {
      bits_.resize(bits_.size() + static_cast<size_t>(n), 0);
      n_ += n;
    } else {
      data_.append(static_cast<size_t>(n * s_.width), '\0');
      n_ += n;
      if (!item_valid_.empty()) item_valid_.resize(static_cast<size_t>(n_ * s_.items), 1);
    }
  }

  arrow::Result<std::shared_ptr<arrow::ArrayData>> Finish() {
    if (s_.boolean) {
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> b, arrow::AllocateBitmap(n_));
      std::memset(b->mutable_data(), 0, static_cast<size_t>(b->size()));
      for (int64_t i = 0; i < n_; ++i) {
        if (bits_[static_cast<size_t>(i)]) arrow::bit_util::SetBit(b->mutable_data(), i);
      }
      return arrow::ArrayData::Make(s_.type, n_, {nullptr, std::move(b)}, 0);
    }
    const size_t data_bytes = data_.size();
    std::shared_ptr<arrow::Buffer> data = arrow::Buffer::FromString(std::move(data_));
    if (s_.variable) {
      if (!s_.large && data_bytes > static_cast<size_t>(INT32_MAX)) {
        return Corrupt("strings too large for 32-bit offsets");
      }
      const int64_t w = s_.large ? 8 : 4;
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> off,
                            arrow::AllocateBuffer((n_ + 1) * w));
      for (int64_t i = 0; i <= n_; ++i) {
        const auto v = offsets_[static_cast<size_t>(i)];
        if (s_.large) {
          reinterpret_cast<int64_t*>(off->mutable_data())[i] = static_cast<int64_t>(v);
        } else {
          reinterpret_cast<int32_t*>(off->mutable_data())[i] = static_cast<int32_t>(v);
        }
      }
      return arrow::ArrayData::Make(s_.type, n_, {nullptr, std::move(off), std::move(data)}, 0);
    }
    // Fixed width, fixed-size lists nested.
    std::shared_ptr<arrow::Buffer> item_validity;
    int64_t item_nulls = 0;
    if (!item_valid_.empty()) {
      const int64_t m = n_ * s_.items;
      ARROW_ASSIGN_OR_RAISE(item_validity, arrow::AllocateBitmap(m));
      std::memset(item_validity->mutable_data(), 0, static_cast<size_t>(item_validity->size()));
      for (int64_t i = 0; i < m; ++i) {
        if (item_valid_[static_cast<size_t>(i)]) {
          arrow::bit_util::SetBit(item_validity->mutable_data(), i);
        } else {
          ++item_nulls;
        }
      }
    }
    return Nest(s_.type, n_, std::move(data), std::move(item_validity), item_nulls);
  }

 private:
  static std::shared_ptr<arrow::ArrayData> Nest(const std::shared_ptr<arrow::DataType>& type,
                                                int64_t n, std::shared_ptr<arrow::Buffer> values,
                                                std::shared_ptr<arrow::Buffer> item_validity,
                                                int64_t item_nulls) {
    if (type->id() == arrow::Type::FIXED_SIZE_LIST) {
      const auto& lt = static_cast<const arrow::FixedSizeListType&>(*type);
      return arrow::ArrayData::Make(type, n, {nullptr},
                                    {Nest(lt.value_type(), n * lt.list_size(), std::move(values),
                                          std::move(item_validity), item_nulls)},
                                    0);
    }
    return arrow::ArrayData::Make(type, n, {std::move(item_validity), std::move(values)},
                                  item_validity ? item_nulls : 0);
  }

  ValueShape s_;
  int64_t n_ = 0;
  std::string data_;
  std::vector<uint64_t> offsets_;
  std::vector<uint8_t> bits_;
  std::vector<uint8_t> item_valid_;
};

// Unsigned integers of `bits` (8..64) as uint64.
uint64_t LoadUnsigned(const uint8_t* p, int bytes) {
  switch (bytes) {
    case 1: return p[0];
    case 2: return Load<uint16_t>(p);
    case 4: return Load<uint32_t>(p);
    default: return Load<uint64_t>(p);
  }
}

// `n` values of fixed-width `type` (fixed-size lists nested) over `values`.
std::shared_ptr<arrow::ArrayData> FixedData(const std::shared_ptr<arrow::DataType>& type, int64_t n,
                                            std::shared_ptr<arrow::Buffer> values) {
  if (type->id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& lt = static_cast<const arrow::FixedSizeListType&>(*type);
    return arrow::ArrayData::Make(
        type, n, {nullptr}, {FixedData(lt.value_type(), n * lt.list_size(), std::move(values))}, 0);
  }
  return arrow::ArrayData::Make(type, n, {nullptr, std::move(values)}, 0);
}

// ---- block decompression: levels and dictionaries ---------------------------

// `n` unsigned levels of a block-compressed buffer.
arrow::Result<std::vector<uint16_t>> DecodeLevels(const pb::CompressiveEncoding& e, Bytes in,
                                                  int64_t n, int depth = 0) {
  if (depth > 4) return Corrupt("level compression nested too deeply");
  if (n < 0 || n > kMaxLevels) return Corrupt("a page of " + std::to_string(n) + " levels");
  std::vector<uint16_t> out(static_cast<size_t>(n));
  switch (e.compression_case()) {
    case pb::CompressiveEncoding::kFlat: {
      const auto bits = e.flat().bits_per_value();
      std::shared_ptr<arrow::Buffer> owned;
      if (e.flat().has_data()) {
        ARROW_ASSIGN_OR_RAISE(owned, Decompress(e.flat().data(), in, static_cast<uint64_t>(n) * 8));
        in = Bytes(owned->data(), static_cast<size_t>(owned->size()));
      }
      if (bits != 8 && bits != 16)
        return NotRead("flat levels of " + std::to_string(bits) + " bits");
      if (in.size() < static_cast<size_t>(n) * bits / 8) return Corrupt("level buffer too short");
      for (int64_t i = 0; i < n; ++i) {
        out[static_cast<size_t>(i)] =
            bits == 8 ? in[static_cast<size_t>(i)] : Load<uint16_t>(in.data() + 2 * i);
      }
      return out;
    }
    case pb::CompressiveEncoding::kOutOfLineBitpacking: {
      const auto& o = e.out_of_line_bitpacking();
      if (o.uncompressed_bits_per_value() != 16 || !o.values().has_flat()) {
        return NotRead("level bit packing of " + std::to_string(o.uncompressed_bits_per_value()) +
                       " bits");
      }
      const int w = static_cast<int>(o.values().flat().bits_per_value());
      if (w < 0 || w > 16) return Corrupt("level bit width " + std::to_string(w));
      const size_t block = size_t{128} * static_cast<size_t>(w);  // bytes of 1024 packed levels
      const int64_t whole = n / 1024, tail = n % 1024;
      uint16_t tmp[1024];
      size_t at = 0;
      for (int64_t c = 0; c < whole; ++c) {
        if (in.size() < at + block) return Corrupt("packed levels too short");
        FastLanesUnpack(in.data() + at, 16, w, reinterpret_cast<uint8_t*>(tmp));
        std::memcpy(out.data() + c * 1024, tmp, sizeof(tmp));
        at += block;
      }
      if (tail > 0) {
        const size_t rest = in.size() - at;
        if (rest == static_cast<size_t>(tail) * 2) {  // the tail stored as plain u16s
          std::memcpy(out.data() + whole * 1024, in.data() + at, rest);
        } else if (rest >= block) {
          FastLanesUnpack(in.data() + at, 16, w, reinterpret_cast<uint8_t*>(tmp));
          std::memcpy(out.data() + whole * 1024, tmp, static_cast<size_t>(tail) * 2);
        } else {
          return Corrupt("packed levels too short");
        }
      }
      return out;
    }
    case pb::CompressiveEncoding::kInlineBitpacking: {
      // One block of at most 1024 levels: its width (a u16), the packed words.
      if (e.inline_bitpacking().uncompressed_bits_per_value() != 16 || n > 1024 || in.size() < 2) {
        return NotRead("inline bit-packed levels of this form");
      }
      const uint16_t w = Load<uint16_t>(in.data());
      if (w > 16 || in.size() != 2 + 128 * size_t{w}) {
        return Corrupt("inline bit-packed levels size");
      }
      uint16_t tmp[1024];
      FastLanesUnpack(in.data() + 2, 16, w, reinterpret_cast<uint8_t*>(tmp));
      std::memcpy(out.data(), tmp, static_cast<size_t>(n) * 2);
      return out;
    }
    case pb::CompressiveEncoding::kRle: {
      // u64 bytes of the run values, the values, then the run lengths.
      const auto& r = e.rle();
      if (!r.values().has_flat() || !r.run_lengths().has_flat() || in.size() < 8) {
        return NotRead("run-length levels of this form");
      }
      const auto vb = static_cast<size_t>(r.values().flat().bits_per_value() / 8);
      const auto lb = static_cast<size_t>(r.run_lengths().flat().bits_per_value() / 8);
      if ((vb != 1 && vb != 2) || (lb != 1 && lb != 2 && lb != 4 && lb != 8)) {
        return Corrupt("run-length level widths");
      }
      const uint64_t vlen = Load<uint64_t>(in.data());
      if (vlen > in.size() - 8 || vlen % vb != 0) return Corrupt("run-length levels sizes");
      const size_t runs = vlen / vb;
      if (in.size() - 8 - vlen < runs * lb) return Corrupt("run-length levels sizes");
      int64_t got = 0;
      for (size_t k = 0; k < runs; ++k) {
        const uint16_t v = vb == 1 ? in[8 + k] : Load<uint16_t>(in.data() + 8 + 2 * k);
        const uint64_t len = LoadUnsigned(in.data() + 8 + vlen + k * lb, static_cast<int>(lb));
        if (len > static_cast<uint64_t>(n - got)) return Corrupt("run lengths exceed the levels");
        std::fill_n(out.begin() + got, static_cast<int64_t>(len), v);
        got += static_cast<int64_t>(len);
      }
      if (got != n) return Corrupt("run lengths fall short of the levels");
      return out;
    }
    case pb::CompressiveEncoding::kGeneral: {
      ARROW_ASSIGN_OR_RAISE(
          auto raw, Decompress(e.general().compression(), in, static_cast<uint64_t>(n) * 8 + 1024));
      return DecodeLevels(e.general().values(),
                          Bytes(raw->data(), static_cast<size_t>(raw->size())), n, depth + 1);
    }
    default: return NotRead(std::string("level compression '") + CompressionName(e) + "'");
  }
}

// A dictionary's items (fixed-width bytes or strings), block-compressed.
arrow::Status DecodeDictionary(const pb::CompressiveEncoding& e, Bytes in, int64_t n, Values* out,
                               int depth = 0) {
  if (depth > 4) return Corrupt("dictionary compression nested too deeply");
  const ValueShape& s = out->shape();
  switch (e.compression_case()) {
    case pb::CompressiveEncoding::kFlat: {
      if (s.variable || s.boolean ||
          static_cast<int64_t>(e.flat().bits_per_value()) != s.width * 8) {
        return Corrupt("flat dictionary of " + std::to_string(e.flat().bits_per_value()) +
                       "-bit items for " + s.type->ToString());
      }
      if (in.size() < static_cast<size_t>(n * s.width)) return Corrupt("dictionary too short");
      out->Fixed(in.data(), n);
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kVariable: {
      // u32 offset bits (32 or 64), then the start of the bytes (same
      // width), the n + 1 offsets (relative to that start), the bytes.
      if (!s.variable) return Corrupt("variable dictionary for " + s.type->ToString());
      if (in.size() < 8) return Corrupt("dictionary too short");
      const uint32_t bits = Load<uint32_t>(in.data());
      if (bits != 32 && bits != 64)
        return Corrupt("dictionary offsets of " + std::to_string(bits) + " bits");
      const size_t w = bits / 8, head = bits == 32 ? 8 : 16;
      if (in.size() < head) return Corrupt("dictionary too short");
      const uint64_t start =
          bits == 32 ? Load<uint32_t>(in.data() + 4) : Load<uint64_t>(in.data() + 8);
      if (start != head + (static_cast<uint64_t>(n) + 1) * w || start > in.size()) {
        return Corrupt("dictionary offsets and bytes disagree");
      }
      auto off = [&](int64_t i) -> uint64_t {
        const uint8_t* p = in.data() + head + static_cast<size_t>(i) * w;
        return bits == 32 ? Load<uint32_t>(p) : Load<uint64_t>(p);
      };
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t a = off(i), b = off(i + 1);
        if (a > b || start + b > in.size()) return Corrupt("dictionary offsets out of range");
        out->Var(in.data() + start + a, static_cast<size_t>(b - a));
      }
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kGeneral: {
      ARROW_ASSIGN_OR_RAISE(auto raw, Decompress(e.general().compression(), in, uint64_t{1} << 32));
      return DecodeDictionary(e.general().values(),
                              Bytes(raw->data(), static_cast<size_t>(raw->size())), n, out,
                              depth + 1);
    }
    case pb::CompressiveEncoding::kRle: {
      // u64 bytes of the run values, the values, then the run lengths.
      const auto& r = e.rle();
      if (!r.values().has_flat() || !r.run_lengths().has_flat() || s.variable || s.boolean) {
        return NotRead("a run-length dictionary of this form");
      }
      const auto vb = static_cast<size_t>(r.values().flat().bits_per_value() / 8);
      const auto lb = static_cast<size_t>(r.run_lengths().flat().bits_per_value() / 8);
      if (vb != static_cast<size_t>(s.width) || (lb != 1 && lb != 2 && lb != 4 && lb != 8) ||
          in.size() < 8) {
        return Corrupt("run-length dictionary widths");
      }
      const uint64_t vlen = Load<uint64_t>(in.data());
      if (vlen > in.size() - 8 || vlen % vb != 0) return Corrupt("run-length dictionary sizes");
      const size_t runs = vlen / vb;
      if (in.size() - 8 - vlen < runs * lb) return Corrupt("run-length dictionary sizes");
      int64_t got = 0;
      for (size_t k = 0; k < runs; ++k) {
        const uint8_t* lp = in.data() + 8 + vlen + k * lb;
        const uint64_t len = lb == 1   ? lp[0]
                             : lb == 2 ? Load<uint16_t>(lp)
                             : lb == 4 ? Load<uint32_t>(lp)
                                       : Load<uint64_t>(lp);
        if (len > static_cast<uint64_t>(n - got))
          return Corrupt("run lengths exceed the dictionary");
        for (uint64_t j = 0; j < len; ++j) out->Fixed(in.data() + 8 + k * vb, 1);
        got += static_cast<int64_t>(len);
      }
      if (got != n) return Corrupt("run lengths fall short of the dictionary");
      return arrow::Status::OK();
    }
    default: return NotRead(std::string("dictionary compression '") + CompressionName(e) + "'");
  }
}

// ---- mini-block values --------------------------------------------------------

struct ChunkCtx {
  const FsstTable* fsst = nullptr;             // the page's symbol table
  const std::vector<int64_t>* pick = nullptr;  // strings: only these of the chunk (ascending)
};

// Whether a chunk of this compression can hand back some of its strings
// without decoding the others.
bool CanPick(const pb::CompressiveEncoding& e) {
  if (e.has_variable()) return true;
  if (e.has_fsst()) return CanPick(e.fsst().values());
  if (e.has_general()) return CanPick(e.general().values());
  return false;
}

// The `n` values of one mini-block chunk's value buffers; dictionary
// indices (when `indices` is set) go there instead.
arrow::Status DecodeChunkValues(const pb::CompressiveEncoding& e, std::vector<Bytes> bufs,
                                int64_t n, const ChunkCtx& ctx, Values* out,
                                std::vector<uint64_t>* indices) {
  const ValueShape& s = out->shape();
  auto want_fixed = [&](int64_t bytes) -> arrow::Status {
    if (indices != nullptr) {
      if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) {
        return Corrupt("dictionary indices of " + std::to_string(bytes) + " bytes");
      }
      return arrow::Status::OK();
    }
    if (s.variable || s.boolean || bytes != s.width) {
      return Corrupt(std::to_string(bytes * 8) + "-bit values for a column of type " +
                     s.type->ToString());
    }
    return arrow::Status::OK();
  };
  auto emit_fixed = [&](const uint8_t* p, int64_t count, int64_t bytes) {
    if (indices != nullptr) {
      for (int64_t i = 0; i < count; ++i) {
        indices->push_back(LoadUnsigned(p + i * bytes, static_cast<int>(bytes)));
      }
    } else {
      out->Fixed(p, count);
    }
  };
  switch (e.compression_case()) {
    case pb::CompressiveEncoding::kPackedStruct:  // whole rows, fixed width
      if (indices != nullptr || !s.opaque) return Corrupt("packed struct values out of place");
      return DecodeChunkValues(e.packed_struct().values(), std::move(bufs), n, ctx, out, nullptr);
    case pb::CompressiveEncoding::kFlat: {
      if (bufs.size() != 1)
        return Corrupt("flat chunk of " + std::to_string(bufs.size()) + " buffers");
      if (e.flat().has_data()) return NotRead("a flat chunk buffer with general compression");
      const auto bits = e.flat().bits_per_value();
      if (bits == 1 && indices == nullptr) {
        if (!s.boolean) return Corrupt("1-bit values for a column of type " + s.type->ToString());
        if (bufs[0].size() * 8 < static_cast<size_t>(n)) return Corrupt("bitmap chunk too short");
        out->Bits(bufs[0].data(), n);
        return arrow::Status::OK();
      }
      if (bits % 8 != 0 || bits == 0)
        return NotRead("flat values of " + std::to_string(bits) + " bits");
      const auto bytes = static_cast<int64_t>(bits / 8);
      ARROW_RETURN_NOT_OK(want_fixed(bytes));
      if (bufs[0].size() < static_cast<size_t>(n * bytes)) return Corrupt("flat chunk too short");
      emit_fixed(bufs[0].data(), n, bytes);
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kInlineBitpacking: {
      const auto& ib = e.inline_bitpacking();
      const int t = static_cast<int>(ib.uncompressed_bits_per_value());
      if (t != 8 && t != 16 && t != 32 && t != 64) {
        return Corrupt("bit packing of " + std::to_string(t) + "-bit values");
      }
      if (ib.has_values()) return NotRead("bit-packed chunks with general compression");
      const int64_t bytes = t / 8;
      ARROW_RETURN_NOT_OK(want_fixed(bytes));
      if (bufs.size() != 1 || bufs[0].size() < static_cast<size_t>(bytes)) {
        return Corrupt("bit-packed chunk buffers");
      }
      if (n > 1024) return Corrupt("bit-packed chunk of more than 1024 values");
      const uint64_t w = LoadUnsigned(bufs[0].data(), static_cast<int>(bytes));
      if (w > static_cast<uint64_t>(t) ||
          bufs[0].size() != static_cast<size_t>(bytes) + 128 * static_cast<size_t>(w)) {
        return Corrupt("bit-packed chunk of width " + std::to_string(w) + " and " +
                       std::to_string(bufs[0].size()) + " bytes");
      }
      alignas(8) uint8_t tmp[1024 * 8];
      FastLanesUnpack(bufs[0].data() + bytes, t, static_cast<int>(w), tmp);
      emit_fixed(tmp, n, bytes);
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kVariable: {
      if (indices != nullptr || !s.variable)
        return Corrupt("variable values for " + s.type->ToString());
      if (bufs.size() != 1) return Corrupt("variable chunk buffers");
      if (e.variable().has_values()) return NotRead("variable chunks with general compression");
      const auto& oe = e.variable().offsets();
      if (!oe.has_flat() ||
          (oe.flat().bits_per_value() != 32 && oe.flat().bits_per_value() != 64)) {
        return NotRead(std::string("string offsets compressed as '") + CompressionName(oe) + "'");
      }
      const size_t w = oe.flat().bits_per_value() / 8;
      const Bytes b = bufs[0];
      if (b.size() < (static_cast<size_t>(n) + 1) * w) return Corrupt("string chunk too short");
      auto off = [&](int64_t i) {
        return LoadUnsigned(b.data() + static_cast<size_t>(i) * w, static_cast<int>(w));
      };
      const auto one = [&](int64_t i) -> arrow::Status {
        const uint64_t a = off(i), z = off(i + 1);
        if (a > z || z > b.size()) return Corrupt("string offsets out of range");
        if (ctx.fsst != nullptr) return out->VarFsst(*ctx.fsst, b.subspan(a, z - a));
        out->Var(b.data() + a, static_cast<size_t>(z - a));
        return arrow::Status::OK();
      };
      if (ctx.pick != nullptr) {
        for (int64_t i : *ctx.pick) {
          if (i < 0 || i >= n) return Corrupt("row beyond its chunk");
          ARROW_RETURN_NOT_OK(one(i));
        }
        return arrow::Status::OK();
      }
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t a = off(i), z = off(i + 1);
        if (a > z || z > b.size()) return Corrupt("string offsets out of range");
        if (ctx.fsst != nullptr) {
          ARROW_RETURN_NOT_OK(out->VarFsst(*ctx.fsst, b.subspan(a, z - a)));
        } else {
          out->Var(b.data() + a, static_cast<size_t>(z - a));
        }
      }
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kGeneral: {
      // The chunk's first value buffer compressed as a whole.
      if (bufs.empty()) return Corrupt("general chunk without buffers");
      ARROW_ASSIGN_OR_RAISE(auto raw,
                            Decompress(e.general().compression(), bufs[0], uint64_t{1} << 26));
      bufs[0] = Bytes(raw->data(), static_cast<size_t>(raw->size()));
      return DecodeChunkValues(e.general().values(), std::move(bufs), n, ctx, out, indices);
    }
    case pb::CompressiveEncoding::kFsst: {
      if (ctx.fsst == nullptr) return Corrupt("FSST chunk without a table");
      return DecodeChunkValues(e.fsst().values(), std::move(bufs), n, ctx, out, indices);
    }
    case pb::CompressiveEncoding::kRle: {
      const auto& r = e.rle();
      if (bufs.size() != 2 || !r.values().has_flat() || !r.run_lengths().has_flat()) {
        return NotRead("a run-length chunk of this form");
      }
      const auto vb = static_cast<int64_t>(r.values().flat().bits_per_value() / 8);
      const auto lb = static_cast<int64_t>(r.run_lengths().flat().bits_per_value() / 8);
      ARROW_RETURN_NOT_OK(want_fixed(vb));
      if (lb != 1 && lb != 2 && lb != 4 && lb != 8) return Corrupt("run lengths width");
      const auto runs = static_cast<int64_t>(bufs[1].size()) / lb;
      if (static_cast<int64_t>(bufs[0].size()) < runs * vb) return Corrupt("run values too short");
      int64_t got = 0;
      for (int64_t k = 0; k < runs; ++k) {
        const uint64_t len = LoadUnsigned(bufs[1].data() + k * lb, static_cast<int>(lb));
        if (len > static_cast<uint64_t>(n - got)) return Corrupt("run lengths exceed the chunk");
        for (uint64_t j = 0; j < len; ++j) emit_fixed(bufs[0].data() + k * vb, 1, vb);
        got += static_cast<int64_t>(len);
      }
      if (got != n) return Corrupt("run lengths fall short of the chunk");
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kByteStreamSplit: {
      const auto& inner = e.byte_stream_split().values();
      if (!inner.has_flat() || bufs.size() != 1) return NotRead("byte stream split of this form");
      const auto bytes = static_cast<int64_t>(inner.flat().bits_per_value() / 8);
      ARROW_RETURN_NOT_OK(want_fixed(bytes));
      if (static_cast<int64_t>(bufs[0].size()) < n * bytes) return Corrupt("split chunk too short");
      std::vector<uint8_t> joined(static_cast<size_t>(n * bytes));
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t k = 0; k < bytes; ++k)
          joined[static_cast<size_t>(i * bytes + k)] = bufs[0][static_cast<size_t>(k * n + i)];
      }
      emit_fixed(joined.data(), n, bytes);
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kFixedSizeList: {
      // Item validity bitmaps (one per level that has one, outermost
      // first), then the flattened values.
      if (indices != nullptr || s.variable || s.boolean)
        return Corrupt("fixed-size list values for " + s.type->ToString());
      const pb::CompressiveEncoding* v = &e;
      int64_t items = 1;
      std::vector<int64_t> validity_items;
      while (v->has_fixed_size_list()) {
        items *= static_cast<int64_t>(v->fixed_size_list().items_per_value());
        if (items <= 0 || items > (int64_t{1} << 24)) return Corrupt("fixed-size list dimension");
        if (v->fixed_size_list().has_validity()) validity_items.push_back(items);
        v = &v->fixed_size_list().values();
      }
      if (validity_items.size() > 1 ||
          (validity_items.size() == 1 && validity_items[0] != s.items)) {
        return NotRead("validity on an outer level of nested fixed-size lists");
      }
      if (!v->has_flat() || v->flat().has_data() || items != s.items ||
          static_cast<int64_t>(v->flat().bits_per_value()) != s.item_width * 8) {
        return Corrupt("fixed-size list chunk does not match " + s.type->ToString());
      }
      if (bufs.size() != 1 + validity_items.size()) return Corrupt("fixed-size list chunk buffers");
      const Bytes vals = bufs.back();
      if (static_cast<int64_t>(vals.size()) < n * s.width)
        return Corrupt("fixed-size list chunk too short");
      const int64_t first = out->size();
      out->Fixed(vals.data(), n);
      if (!validity_items.empty()) {
        if (static_cast<int64_t>(bufs[0].size()) * 8 < n * s.items)
          return Corrupt("item validity too short");
        out->ItemValidity(bufs[0].data(), first, n);
      }
      return arrow::Status::OK();
    }
    default: return NotRead(std::string("mini-block compression '") + CompressionName(e) + "'");
  }
}

// ---- mini-block pages -----------------------------------------------------------

struct Chunk {
  uint64_t offset = 0, bytes = 0;  // in buffer 1
  int64_t first_item = 0, items = 0;
};

arrow::Result<std::vector<Chunk>> ChunksOf(const pb::MiniBlockLayout& m, Bytes meta, bool large,
                                           uint64_t data_bytes) {
  const size_t w = large ? 4 : 2;
  if (meta.size() % w != 0) return Corrupt("mini-block metadata size");
  const size_t count = meta.size() / w;
  std::vector<Chunk> out(count);
  uint64_t at = 0;
  int64_t items = 0;
  const auto total = static_cast<int64_t>(m.num_items());
  for (size_t c = 0; c < count; ++c) {
    const uint32_t word =
        large ? Load<uint32_t>(meta.data() + 4 * c) : Load<uint16_t>(meta.data() + 2 * c);
    const uint64_t bytes = (static_cast<uint64_t>(word >> 4) + 1) * 8;
    const int64_t n = c + 1 == count ? total - items : int64_t{1} << (word & 0xf);
    if (n < 0 || n > total - items || n > kMaxChunkValues || at + bytes > data_bytes) {
      return Corrupt("mini-block chunk " + std::to_string(c) + " lies outside its page");
    }
    out[c] = {at, bytes, items, n};
    at += bytes;
    items += n;
  }
  if (items != total) return Corrupt("mini-block chunks hold other than the page's items");
  return out;
}

struct MiniPage {
  const pb::MiniBlockLayout* m = nullptr;
  bool large = false;
  std::vector<Chunk> chunks;
  std::optional<FsstTable> fsst;
  std::optional<std::shared_ptr<arrow::ArrayData>> dictionary;
};

// Decodes chunks [c0, c1) of the page into `items` (levels appended) and
// the values (or dictionary indices).
// `picks` (strings, no lists): per chunk, the only items wanted from it;
// their levels and values alone are appended.
arrow::Status DecodeChunks(const PageIn& page, const MiniPage& mp, size_t c0, size_t c1,
                           LeafItems* items, Values* values, std::vector<uint64_t>* indices,
                           const std::vector<std::vector<int64_t>>* picks = nullptr) {
  if (c0 >= c1) return arrow::Status::OK();
  const auto& m = *mp.m;
  const uint64_t from = mp.chunks[c0].offset;
  const uint64_t to = mp.chunks[c1 - 1].offset + mp.chunks[c1 - 1].bytes;
  ARROW_ASSIGN_OR_RAISE(auto data, page.read(1, from, to - from));
  const bool has_rep = m.has_rep_compression(), has_def = m.has_def_compression();
  ChunkCtx ctx;
  if (mp.fsst) ctx.fsst = &*mp.fsst;
  for (size_t c = c0; c < c1; ++c) {
    const Chunk& ch = mp.chunks[c];
    if (picks != nullptr) ctx.pick = &(*picks)[c];
    const Bytes b(data->data() + (ch.offset - from), static_cast<size_t>(ch.bytes));
    size_t at = 0;
    auto u16 = [&]() -> arrow::Result<uint64_t> {
      if (at + 2 > b.size()) return Corrupt("mini-block chunk header truncated");
      at += 2;
      return Load<uint16_t>(b.data() + at - 2);
    };
    ARROW_ASSIGN_OR_RAISE(const uint64_t levels, u16());
    uint64_t rep_bytes = 0, def_bytes = 0;
    if (has_rep) {
      ARROW_ASSIGN_OR_RAISE(rep_bytes, u16());
    }
    if (has_def) {
      ARROW_ASSIGN_OR_RAISE(def_bytes, u16());
    }
    if (m.num_buffers() > 16)
      return Corrupt("mini-block of " + std::to_string(m.num_buffers()) + " buffers");
    std::vector<uint64_t> sizes;
    for (uint64_t k = 0; k < m.num_buffers(); ++k) {
      if (mp.large) {
        if (at + 4 > b.size()) return Corrupt("mini-block chunk header truncated");
        sizes.push_back(Load<uint32_t>(b.data() + at));
        at += 4;
      } else {
        ARROW_ASSIGN_OR_RAISE(auto sz, u16());
        sizes.push_back(sz);
      }
    }
    auto take = [&](uint64_t len) -> arrow::Result<Bytes> {
      at = (at + 7) & ~size_t{7};
      if (at > b.size() || len > b.size() - at)
        return Corrupt("mini-block chunk buffer beyond its chunk");
      Bytes piece = b.subspan(at, static_cast<size_t>(len));
      at += static_cast<size_t>(len);
      return piece;
    };
    if ((has_rep || has_def) && levels == 0 && ch.items > 0) return Corrupt("chunk without levels");
    if (has_rep) {
      ARROW_ASSIGN_OR_RAISE(Bytes rb, take(rep_bytes));
      ARROW_ASSIGN_OR_RAISE(auto r,
                            DecodeLevels(m.rep_compression(), rb, static_cast<int64_t>(levels)));
      items->rep.insert(items->rep.end(), r.begin(), r.end());
    }
    if (has_def) {
      ARROW_ASSIGN_OR_RAISE(Bytes db, take(def_bytes));
      ARROW_ASSIGN_OR_RAISE(auto d,
                            DecodeLevels(m.def_compression(), db, static_cast<int64_t>(levels)));
      if (ctx.pick != nullptr) {
        for (int64_t i : *ctx.pick) {
          if (i < 0 || static_cast<size_t>(i) >= d.size()) return Corrupt("row beyond its chunk");
          items->def.push_back(d[static_cast<size_t>(i)]);
        }
      } else {
        items->def.insert(items->def.end(), d.begin(), d.end());
      }
    }
    std::vector<Bytes> bufs;
    for (uint64_t sz : sizes) {
      ARROW_ASSIGN_OR_RAISE(Bytes vb, take(sz));
      bufs.push_back(vb);
    }
    if (ctx.pick != nullptr && !CanPick(m.value_compression())) {
      // The whole chunk decoded aside, the wanted values kept.
      ChunkCtx all = ctx;
      all.pick = nullptr;
      Values scratch(values->shape());
      std::vector<uint64_t> scratch_indices;
      ARROW_RETURN_NOT_OK(DecodeChunkValues(m.value_compression(), std::move(bufs), ch.items, all,
                                            &scratch, indices ? &scratch_indices : nullptr));
      const int64_t got = indices ? static_cast<int64_t>(scratch_indices.size()) : scratch.size();
      for (int64_t i : *ctx.pick) {
        if (i < 0 || i >= got) return Corrupt("row beyond its chunk");
      }
      if (indices != nullptr) {
        for (int64_t i : *ctx.pick) indices->push_back(scratch_indices[static_cast<size_t>(i)]);
      } else {
        values->AppendPicked(scratch, *ctx.pick);
      }
      continue;
    }
    ARROW_RETURN_NOT_OK(
        DecodeChunkValues(m.value_compression(), std::move(bufs), ch.items, ctx, values, indices));
  }
  return arrow::Status::OK();
}

// ---- levels to structure -----------------------------------------------------------

bool IsListLayer(pb::RepDefLayer l) {
  return l == pb::REPDEF_ALL_VALID_LIST || l == pb::REPDEF_NULLABLE_LIST ||
         l == pb::REPDEF_EMPTYABLE_LIST || l == pb::REPDEF_NULL_AND_EMPTY_LIST;
}
int DefsOf(pb::RepDefLayer l) {
  switch (l) {
    case pb::REPDEF_NULLABLE_ITEM:
    case pb::REPDEF_NULLABLE_LIST:
    case pb::REPDEF_EMPTYABLE_LIST: return 1;
    case pb::REPDEF_NULL_AND_EMPTY_LIST: return 2;
    default: return 0;
  }
}

// What each definition level means: the layer (outermost first) it stops
// at and whether it is an empty list there (else a null).
struct DefMeaning {
  int layer = -1;  // -1: a value, valid at every level
  bool empty = false;
};

arrow::Result<std::vector<DefMeaning>> DefTable(const std::vector<pb::RepDefLayer>& inner_first) {
  std::vector<DefMeaning> t(1);
  const int n = static_cast<int>(inner_first.size());
  for (int i = 0; i < n; ++i) {
    const auto l = inner_first[static_cast<size_t>(i)];
    const int outer = n - 1 - i;
    if (l == pb::REPDEF_UNSPECIFIED || l > pb::REPDEF_NULL_AND_EMPTY_LIST) {
      return Corrupt("repetition/definition layer " + std::to_string(l));
    }
    if (l == pb::REPDEF_NULLABLE_ITEM || l == pb::REPDEF_NULLABLE_LIST) t.push_back({outer, false});
    if (l == pb::REPDEF_EMPTYABLE_LIST) t.push_back({outer, true});
    if (l == pb::REPDEF_NULL_AND_EMPTY_LIST) {
      t.push_back({outer, false});
      t.push_back({outer, true});
    }
  }
  return t;
}

// Rows start where rep is at its maximum (every item when there are no
// lists). Item index of each row start within items, plus the end.
arrow::Result<std::vector<int64_t>> RowStarts(const LeafItems& it, int max_rep, int64_t num_items) {
  std::vector<int64_t> starts;
  if (max_rep == 0) {
    starts.resize(static_cast<size_t>(num_items) + 1);
    for (int64_t i = 0; i <= num_items; ++i) starts[static_cast<size_t>(i)] = i;
    return starts;
  }
  for (int64_t i = 0; i < num_items; ++i) {
    if (it.rep[static_cast<size_t>(i)] == max_rep) starts.push_back(i);
  }
  if (num_items > 0 && (starts.empty() || starts[0] != 0))
    return Corrupt("page does not start with a row");
  starts.push_back(num_items);
  return starts;
}

int MaxRep(const std::vector<pb::RepDefLayer>& layers) {
  int r = 0;
  for (auto l : layers) r += IsListLayer(l) ? 1 : 0;
  return r;
}

// Levels with a value: those stopping inside the innermost list.
int MaxVisibleDef(const std::vector<pb::RepDefLayer>& inner_first) {
  int t = 0;
  for (auto l : inner_first) {
    if (IsListLayer(l)) break;
    t += DefsOf(l);
  }
  return t;
}

// Values [a, b) of each range, as one array: a slice when it is one
// range, a copy otherwise.
arrow::Result<std::shared_ptr<arrow::ArrayData>> TakeRanges(
    const std::shared_ptr<arrow::ArrayData>& values,
    const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  if (ranges.size() == 1) {
    if (ranges[0].first == 0 && ranges[0].second == values->length) return values;
    return values->Slice(ranges[0].first, ranges[0].second - ranges[0].first);
  }
  if (ranges.empty()) return values->Slice(0, 0);
  arrow::Int64Builder take;
  for (const auto& [a, b] : ranges) {
    for (int64_t v = a; v < b; ++v) ARROW_RETURN_NOT_OK(take.Append(v));
  }
  std::shared_ptr<arrow::Array> idx;
  ARROW_RETURN_NOT_OK(take.Finish(&idx));
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arrow::MakeArray(values), idx));
  return taken.make_array()->data();
}

// The items of `rows` (ascending page rows) out of a decoded whole page.
arrow::Result<LeafItems> SelectRows(LeafItems all, const std::vector<pb::RepDefLayer>& layers,
                                    std::span<const int64_t> rows) {
  const int max_rep = MaxRep(layers);
  const int64_t num_items = !all.rep.empty()   ? static_cast<int64_t>(all.rep.size())
                            : !all.def.empty() ? static_cast<int64_t>(all.def.size())
                                               : all.values[0]->length;
  if ((max_rep > 0 && static_cast<int64_t>(all.rep.size()) != num_items) ||
      (max_rep == 0 && !all.rep.empty()) ||
      (!all.def.empty() && static_cast<int64_t>(all.def.size()) != num_items)) {
    return Corrupt("page levels disagree with its layers (" + std::to_string(all.rep.size()) +
                   " repetition, " + std::to_string(all.def.size()) + " definition levels)");
  }
  LeafItems out;
  out.rows = static_cast<int64_t>(rows.size());
  std::vector<std::pair<int64_t, int64_t>> ranges;  // of values
  if (max_rep == 0) {
    // Without lists an item is a row and every item has a value.
    if (num_items != all.rows || all.values[0]->length != num_items) {
      return Corrupt("page holds " + std::to_string(all.values[0]->length) + " values and " +
                     std::to_string(num_items) + " levels for " + std::to_string(all.rows) +
                     " rows");
    }
    for (size_t k = 0; k < rows.size();) {
      size_t j = k + 1;
      while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
      const int64_t a = rows[k], b = rows[j - 1] + 1;
      if (!all.def.empty()) out.def.insert(out.def.end(), all.def.begin() + a, all.def.begin() + b);
      ranges.emplace_back(a, b);
      k = j;
    }
    ARROW_ASSIGN_OR_RAISE(auto v, TakeRanges(all.values[0], ranges));
    out.values.push_back(std::move(v));
    return out;
  }
  ARROW_ASSIGN_OR_RAISE(auto starts, RowStarts(all, max_rep, num_items));
  if (static_cast<int64_t>(starts.size()) - 1 != all.rows) {
    return Corrupt("page levels hold " + std::to_string(starts.size() - 1) + " rows, the page " +
                   std::to_string(all.rows));
  }
  const int maxvis = MaxVisibleDef(layers);
  // Visible values before each item.
  std::vector<int64_t> vis(static_cast<size_t>(num_items) + 1, 0);
  for (int64_t i = 0; i < num_items; ++i) {
    const bool visible = all.def.empty() || all.def[static_cast<size_t>(i)] <= maxvis;
    vis[static_cast<size_t>(i) + 1] = vis[static_cast<size_t>(i)] + (visible ? 1 : 0);
  }
  if (vis.back() != all.values[0]->length) {
    return Corrupt("page holds " + std::to_string(all.values[0]->length) + " values for " +
                   std::to_string(vis.back()) + " visible items");
  }
  for (size_t k = 0; k < rows.size();) {
    // A run of consecutive rows.
    size_t j = k + 1;
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    const int64_t a = starts[static_cast<size_t>(rows[k])],
                  b = starts[static_cast<size_t>(rows[j - 1] + 1)];
    if (!all.rep.empty()) out.rep.insert(out.rep.end(), all.rep.begin() + a, all.rep.begin() + b);
    if (!all.def.empty()) out.def.insert(out.def.end(), all.def.begin() + a, all.def.begin() + b);
    ranges.emplace_back(vis[static_cast<size_t>(a)], vis[static_cast<size_t>(b)]);
    k = j;
  }
  ARROW_ASSIGN_OR_RAISE(auto v, TakeRanges(all.values[0], ranges));
  out.values.push_back(std::move(v));
  return out;
}

// ---- full-zip pages ----------------------------------------------------------------

int ControlBytes(uint32_t bits_rep, uint32_t bits_def) {
  const uint32_t t = bits_rep + bits_def;
  return t == 0 ? 0 : t <= 8 ? 1 : t <= 16 ? 2 : 4;
}

// One full-zip value's bytes (after its length prefix) into `out`.
arrow::Status FullZipValue(const pb::CompressiveEncoding& e, Bytes b, const FsstTable* fsst,
                           Values* out) {
  const ValueShape& s = out->shape();
  switch (e.compression_case()) {
    case pb::CompressiveEncoding::kFlat:
      if (s.variable || s.boolean || static_cast<int64_t>(b.size()) != s.width) {
        return Corrupt("full-zip value size for " + s.type->ToString());
      }
      out->Fixed(b.data(), 1);
      return arrow::Status::OK();
    case pb::CompressiveEncoding::kFixedSizeList: {
      const pb::CompressiveEncoding* v = &e;
      bool validity = false;
      int levels = 0;
      while (v->has_fixed_size_list()) {
        validity = validity || v->fixed_size_list().has_validity();
        v = &v->fixed_size_list().values();
        ++levels;
      }
      if (s.variable || s.boolean || !v->has_flat())
        return Corrupt("full-zip fixed-size list for " + s.type->ToString());
      const int64_t vbytes = validity ? (s.items + 7) / 8 : 0;
      if (validity && levels > 1) return NotRead("validity inside nested fixed-size lists");
      if (static_cast<int64_t>(b.size()) != vbytes + s.width)
        return Corrupt("full-zip fixed-size list size");
      const int64_t first = out->size();
      out->Fixed(b.data() + vbytes, 1);
      if (validity) out->ItemValidity(b.data(), first, 1);
      return arrow::Status::OK();
    }
    case pb::CompressiveEncoding::kVariable:
      if (!s.variable) return Corrupt("full-zip strings for " + s.type->ToString());
      if (fsst != nullptr) {
        ARROW_RETURN_NOT_OK(out->VarFsst(*fsst, b));
      } else {
        out->Var(b.data(), b.size());
      }
      return arrow::Status::OK();
    case pb::CompressiveEncoding::kVariablePackedStruct:  // a whole row, unpacked later
      if (!s.variable || fsst != nullptr) return Corrupt("packed struct values out of place");
      out->Var(b.data(), b.size());
      return arrow::Status::OK();
    case pb::CompressiveEncoding::kFsst:
      if (fsst == nullptr) return Corrupt("FSST value without a table");
      return FullZipValue(e.fsst().values(), b, fsst, out);
    case pb::CompressiveEncoding::kGeneral: {
      if (!s.variable) return NotRead("general compression of fixed-width full-zip values");
      ARROW_ASSIGN_OR_RAISE(auto raw, Decompress(e.general().compression(), b, uint64_t{1} << 31));
      return FullZipValue(e.general().values(),
                          Bytes(raw->data(), static_cast<size_t>(raw->size())), fsst, out);
    }
    default: return NotRead(std::string("full-zip compression '") + CompressionName(e) + "'");
  }
}

const pb::CompressiveEncoding* FsstOf(const pb::CompressiveEncoding& e) {
  if (e.has_fsst()) return &e;
  if (e.has_general()) return FsstOf(e.general().values());
  return nullptr;
}

// Decodes the full-zip bytes of whole rows (items from their first).
arrow::Status DecodeZipped(const pb::FullZipLayout& z, Bytes b, int64_t rows, int max_rep,
                           int maxvis, const FsstTable* fsst, LeafItems* items, Values* values) {
  const int cw = ControlBytes(z.bits_rep(), z.bits_def());
  const bool fixed = z.details_case() == pb::FullZipLayout::kBitsPerValue;
  const uint64_t vbytes = fixed ? z.bits_per_value() / 8 : 0;
  const uint64_t obytes = fixed ? 0 : z.bits_per_offset() / 8;
  if (!fixed && obytes != 4 && obytes != 8) return Corrupt("full-zip length prefix width");
  size_t at = 0;
  int64_t seen_rows = 0;
  while (at < b.size()) {
    uint32_t r = 0, d = 0;
    if (cw > 0) {
      if (at + static_cast<size_t>(cw) > b.size())
        return Corrupt("full-zip control word truncated");
      const uint64_t word = LoadUnsigned(b.data() + at, cw);
      at += static_cast<size_t>(cw);
      d = static_cast<uint32_t>(word & ((uint64_t{1} << z.bits_def()) - 1));
      r = static_cast<uint32_t>(word >> z.bits_def());
      if (z.bits_rep() > 0) items->rep.push_back(static_cast<uint16_t>(r));
      if (z.bits_def() > 0) items->def.push_back(static_cast<uint16_t>(d));
    }
    if (max_rep == 0 || r == static_cast<uint32_t>(max_rep)) ++seen_rows;
    if (static_cast<int>(d) > maxvis) continue;  // a null or empty list: no value
    if (fixed) {
      if (at + vbytes > b.size()) return Corrupt("full-zip value truncated");
      ARROW_RETURN_NOT_OK(FullZipValue(z.value_compression(),
                                       b.subspan(at, static_cast<size_t>(vbytes)), fsst, values));
      at += static_cast<size_t>(vbytes);
    } else if (d == 0) {
      if (at + obytes > b.size()) return Corrupt("full-zip length truncated");
      const uint64_t len = LoadUnsigned(b.data() + at, static_cast<int>(obytes));
      at += static_cast<size_t>(obytes);
      if (len > b.size() - at) return Corrupt("full-zip value beyond its page");
      ARROW_RETURN_NOT_OK(FullZipValue(z.value_compression(),
                                       b.subspan(at, static_cast<size_t>(len)), fsst, values));
      at += static_cast<size_t>(len);
    } else {
      values->Zeros(1);  // a null value takes no bytes
    }
  }
  if (seen_rows != rows) {
    return Corrupt("full-zip bytes hold " + std::to_string(seen_rows) + " rows, not " +
                   std::to_string(rows));
  }
  return arrow::Status::OK();
}

arrow::Result<LeafItems> DecodeFullZip(const PageIn& page,
                                       const std::shared_ptr<arrow::DataType>& type,
                                       std::span<const int64_t> rows) {
  const auto& z = page.layout->full_zip_layout();
  const auto layers = LayersOf(*page.layout);
  const int max_rep = MaxRep(layers), maxvis = MaxVisibleDef(layers);
  ARROW_ASSIGN_OR_RAISE(ValueShape shape, ShapeOf(type));
  Values values(shape);
  std::optional<FsstTable> fsst;
  if (const auto* f = FsstOf(z.value_compression())) {
    const auto& t = f->fsst().symbol_table();
    ARROW_ASSIGN_OR_RAISE(
        fsst, FsstTable::Parse(Bytes(reinterpret_cast<const uint8_t*>(t.data()), t.size())));
  }
  if (page.buffer_sizes.empty()) return Corrupt("full-zip page without buffers");
  const int cw = ControlBytes(z.bits_rep(), z.bits_def());
  const bool fixed = z.details_case() == pb::FullZipLayout::kBitsPerValue;
  LeafItems items;
  items.rows = static_cast<int64_t>(rows.size());
  // Where each requested row starts: fixed-width rows without levels by
  // arithmetic, else from the repetition index (buffer 1).
  auto decode_span = [&](uint64_t from, uint64_t to, int64_t nrows) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto bytes, page.read(0, from, to - from));
    return DecodeZipped(z, Bytes(bytes->data(), static_cast<size_t>(bytes->size())), nrows, max_rep,
                        maxvis, fsst ? &*fsst : nullptr, &items, &values);
  };
  if (fixed && cw == 0) {
    const uint64_t w = z.bits_per_value() / 8;
    if (w == 0 || page.buffer_sizes[0] != w * static_cast<uint64_t>(page.rows)) {
      return Corrupt("full-zip page of " + std::to_string(page.buffer_sizes[0]) + " bytes for " +
                     std::to_string(page.rows) + " rows of " + std::to_string(w));
    }
    // One run of rows of plain values (no item validity): the page's bytes
    // are the values, handed back as they are read (in place when the file
    // is memory-mapped).
    const pb::CompressiveEncoding* plain = &z.value_compression();
    while (plain->has_fixed_size_list() && !plain->fixed_size_list().has_validity()) {
      plain = &plain->fixed_size_list().values();
    }
    const bool contiguous =
        !rows.empty() && rows.back() - rows.front() + 1 == static_cast<int64_t>(rows.size());
    if (contiguous && plain->has_flat() && !plain->flat().has_data() && !shape.variable &&
        !shape.boolean && static_cast<uint64_t>(shape.width) == w) {
      ARROW_ASSIGN_OR_RAISE(auto bytes, page.read(0, static_cast<uint64_t>(rows.front()) * w,
                                                  static_cast<uint64_t>(rows.size()) * w));
      items.values.push_back(FixedData(type, static_cast<int64_t>(rows.size()), std::move(bytes)));
      return items;
    }
    for (size_t k = 0; k < rows.size();) {
      size_t j = k + 1;
      while (j < rows.size() && (rows[j] - rows[j - 1]) * static_cast<int64_t>(w) <= 4096) ++j;
      // Rows k..j-1 in one read; only theirs decoded.
      const uint64_t a = static_cast<uint64_t>(rows[k]) * w,
                     e = static_cast<uint64_t>(rows[j - 1] + 1) * w;
      ARROW_ASSIGN_OR_RAISE(auto bytes, page.read(0, a, e - a));
      for (size_t q = k; q < j; ++q) {
        ARROW_RETURN_NOT_OK(FullZipValue(
            z.value_compression(),
            Bytes(bytes->data() + (static_cast<uint64_t>(rows[q]) * w - a), w), nullptr, &values));
      }
      k = j;
    }
  } else if (fixed && z.bits_rep() == 0 && page.buffer_sizes.size() < 2) {
    // Fixed-width values with definition levels only: every row is a
    // control word and its value (null ones too), so row r is at r * stride.
    const uint64_t stride = static_cast<uint64_t>(cw) + z.bits_per_value() / 8;
    if (page.buffer_sizes[0] != stride * static_cast<uint64_t>(page.rows)) {
      return Corrupt("full-zip page of " + std::to_string(page.buffer_sizes[0]) + " bytes for " +
                     std::to_string(page.rows) + " rows of " + std::to_string(stride));
    }
    for (size_t k = 0; k < rows.size();) {
      size_t j = k + 1;
      while (j < rows.size() && (rows[j] - rows[j - 1]) * static_cast<int64_t>(stride) <= 4096) ++j;
      const uint64_t a = static_cast<uint64_t>(rows[k]) * stride;
      const uint64_t e = static_cast<uint64_t>(rows[j - 1] + 1) * stride;
      ARROW_ASSIGN_OR_RAISE(auto bytes, page.read(0, a, e - a));
      for (size_t q = k; q < j; ++q) {
        ARROW_RETURN_NOT_OK(DecodeZipped(
            z, Bytes(bytes->data() + (static_cast<uint64_t>(rows[q]) * stride - a), stride), 1,
            max_rep, maxvis, nullptr, &items, &values));
      }
      k = j;
    }
  } else if (page.buffer_sizes.size() < 2) {  // no repetition index: the whole page
    ARROW_RETURN_NOT_OK(decode_span(0, page.buffer_sizes[0], page.rows));
    ARROW_ASSIGN_OR_RAISE(auto data, values.Finish());
    items.values.push_back(std::move(data));
    items.rows = page.rows;
    return SelectRows(std::move(items), layers, rows);
  } else {
    const uint64_t ri = page.buffer_sizes[1];
    const uint64_t n1 = static_cast<uint64_t>(page.rows) + 1;
    if (ri % n1 != 0) return Corrupt("full-zip repetition index size");
    const int w = static_cast<int>(ri / n1);
    if (w != 1 && w != 2 && w != 4 && w != 8) return Corrupt("full-zip repetition index width");
    // Runs of consecutive rows; their index entries, then their bytes, read
    // in requests that take in whatever lies within 4 KiB of each other.
    constexpr uint64_t kCoalesce = 4096;
    struct Run {
      int64_t first, count;
      uint64_t from = 0, to = 0;  // bytes in buffer 0
    };
    std::vector<Run> runs;
    for (size_t k = 0; k < rows.size();) {
      size_t j = k + 1;
      while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
      runs.push_back({rows[k], static_cast<int64_t>(j - k)});
      k = j;
    }
    const auto uw = static_cast<uint64_t>(w);
    for (size_t a = 0; a < runs.size();) {
      size_t b = a + 1;
      while (b < runs.size() &&
             static_cast<uint64_t>(runs[b].first - (runs[b - 1].first + runs[b - 1].count)) * uw <=
                 kCoalesce) {
        ++b;
      }
      const uint64_t lo = static_cast<uint64_t>(runs[a].first) * uw;
      const uint64_t hi = static_cast<uint64_t>(runs[b - 1].first + runs[b - 1].count + 1) * uw;
      ARROW_ASSIGN_OR_RAISE(auto ix, page.read(1, lo, hi - lo));
      for (size_t q = a; q < b; ++q) {
        const uint64_t at = static_cast<uint64_t>(runs[q].first) * uw - lo;
        runs[q].from = LoadUnsigned(ix->data() + at, w);
        runs[q].to = LoadUnsigned(ix->data() + at + static_cast<uint64_t>(runs[q].count) * uw, w);
        if (runs[q].from > runs[q].to || runs[q].to > page.buffer_sizes[0]) {
          return Corrupt("full-zip repetition index out of range");
        }
      }
      a = b;
    }
    for (size_t a = 0; a < runs.size();) {
      size_t b = a + 1;
      while (b < runs.size() && runs[b].from >= runs[b - 1].to &&
             runs[b].from - runs[b - 1].to <= kCoalesce) {
        ++b;
      }
      const uint64_t lo = runs[a].from, hi = std::max(lo, runs[b - 1].to);
      ARROW_ASSIGN_OR_RAISE(auto bytes, page.read(0, lo, hi - lo));
      for (size_t q = a; q < b; ++q) {
        if (runs[q].from < lo || runs[q].to > hi) return Corrupt("full-zip rows out of order");
        ARROW_RETURN_NOT_OK(DecodeZipped(z,
                                         Bytes(bytes->data() + (runs[q].from - lo),
                                               static_cast<size_t>(runs[q].to - runs[q].from)),
                                         runs[q].count, max_rep, maxvis, fsst ? &*fsst : nullptr,
                                         &items, &values));
      }
      a = b;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto data, values.Finish());
  items.values.push_back(std::move(data));
  return items;
}

// ---- constant pages ------------------------------------------------------------------

// The levels of a constant page: raw u16s unless compressed (2.2).
arrow::Result<std::vector<uint16_t>> ConstantLevels(const PageIn& page, size_t buffer,
                                                    bool compressed,
                                                    const pb::CompressiveEncoding& e,
                                                    uint64_t count) {
  if (page.buffer_sizes[buffer] == 0) return std::vector<uint16_t>{};
  if (page.buffer_sizes[buffer] > (uint64_t{1} << 32)) {
    return Corrupt("constant page levels too large");
  }
  ARROW_ASSIGN_OR_RAISE(auto raw, page.read(buffer, 0, page.buffer_sizes[buffer]));
  const Bytes b(raw->data(), static_cast<size_t>(raw->size()));
  if (compressed) {
    if (count > (uint64_t{1} << 40)) return Corrupt("constant page level count");
    return DecodeLevels(e, b, static_cast<int64_t>(count));
  }
  pb::CompressiveEncoding flat16;
  flat16.mutable_flat()->set_bits_per_value(16);
  return DecodeLevels(flat16, b, static_cast<int64_t>(b.size() / 2));
}

// Every value of the page null, or (2.2) one value: inline in the layout
// (the Arrow value buffer of a one-element array) or in the page's first
// buffer (u32 buffer count, u32 lengths, the buffers of a one-element array).
arrow::Result<LeafItems> DecodeConstant(const PageIn& page,
                                        const std::shared_ptr<arrow::DataType>& type) {
  const auto& c = page.layout->constant_layout();
  LeafItems items;
  items.rows = page.rows;
  ARROW_ASSIGN_OR_RAISE(ValueShape shape, ShapeOf(type));
  const size_t nb = page.buffer_sizes.size();
  std::optional<std::string> value;  // fixed: `width` bytes (0/1 for booleans); else the bytes
  size_t levels_at = 0;
  if (c.has_inline_value()) {
    const std::string& v = c.inline_value();
    if (shape.boolean) {
      if (v.empty()) return Corrupt("constant boolean without a byte");
      value = std::string(1, static_cast<char>(v[0] & 1));
    } else if (shape.variable || static_cast<int64_t>(v.size()) < shape.width) {
      return Corrupt("inline constant of " + std::to_string(v.size()) + " bytes for " +
                     type->ToString());
    } else {
      value = v.substr(0, static_cast<size_t>(shape.width));
    }
  } else if (nb == 1 || nb == 3) {
    if (page.buffer_sizes[0] > (uint64_t{1} << 31)) return Corrupt("constant value too large");
    ARROW_ASSIGN_OR_RAISE(auto raw, page.read(0, 0, page.buffer_sizes[0]));
    const Bytes b(raw->data(), static_cast<size_t>(raw->size()));
    if (b.size() < 4) return Corrupt("constant value buffer");
    const uint32_t count = Load<uint32_t>(b.data());
    if (count == 0 || count > 8 || b.size() < 4 + 4 * size_t{count}) {
      return Corrupt("constant value buffer");
    }
    std::vector<Bytes> parts;
    size_t at = 4 + 4 * size_t{count};
    for (uint32_t k = 0; k < count; ++k) {
      const uint32_t len = Load<uint32_t>(b.data() + 4 + 4 * k);
      if (len > b.size() - at) return Corrupt("constant value buffer lengths");
      parts.push_back(b.subspan(at, len));
      at += len;
    }
    const Bytes last = parts.back();
    if (shape.variable) {  // offsets [0, len], then the bytes
      if (parts.size() < 2) return Corrupt("constant string without its bytes");
      value = std::string(reinterpret_cast<const char*>(last.data()), last.size());
    } else if (shape.boolean) {
      if (last.empty()) return Corrupt("constant boolean without a byte");
      value = std::string(1, static_cast<char>(last[0] & 1));
    } else {
      if (static_cast<int64_t>(last.size()) < shape.width) {
        return Corrupt("constant value too short");
      }
      value =
          std::string(reinterpret_cast<const char*>(last.data()), static_cast<size_t>(shape.width));
    }
    levels_at = 1;
  }
  if (nb != levels_at && nb != levels_at + 2) {
    return Corrupt("constant page of " + std::to_string(nb) + " buffers");
  }
  const auto layers = LayersOf(*page.layout);
  if (nb == levels_at + 2) {
    ARROW_ASSIGN_OR_RAISE(items.rep, ConstantLevels(page, levels_at, c.has_rep_compression(),
                                                    c.rep_compression(), c.num_rep_values()));
    ARROW_ASSIGN_OR_RAISE(items.def, ConstantLevels(page, levels_at + 1, c.has_def_compression(),
                                                    c.def_compression(), c.num_def_values()));
  }
  if (!items.rep.empty() && !items.def.empty() && items.rep.size() != items.def.size()) {
    return Corrupt("constant page levels differ in number");
  }
  // Without levels: one item per row, the value, or a null at the first
  // level that can be null.
  if (items.rep.empty() && items.def.empty() && !value) {
    ARROW_ASSIGN_OR_RAISE(auto table, DefTable(layers));
    if (table.size() < 2) return Corrupt("an all-null page whose layers cannot be null");
    items.def.assign(static_cast<size_t>(page.rows), 1);
  }
  const int maxvis = MaxVisibleDef(layers);
  const size_t n = std::max(items.rep.size(), items.def.size());
  Values values(shape);
  auto put = [&](bool has) {
    if (!has || !value) {
      values.Zeros(1);
    } else if (shape.variable) {
      values.Var(*value);
    } else if (shape.boolean) {
      const auto bit = static_cast<uint8_t>((*value)[0]);
      values.Bits(&bit, 1);
    } else {
      values.Fixed(reinterpret_cast<const uint8_t*>(value->data()), 1);
    }
  };
  if (n == 0) {
    for (int64_t i = 0; i < page.rows; ++i) put(true);
  } else {
    for (size_t i = 0; i < n; ++i) {
      const int d = items.def.empty() ? 0 : items.def[i];
      if (d <= maxvis) put(d == 0);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto data, values.Finish());
  items.values.push_back(std::move(data));
  return items;
}

// The dictionary's items at `indices`, each checked against its size.
arrow::Result<std::shared_ptr<arrow::ArrayData>> Materialize(Values& dictionary,
                                                             const std::vector<uint64_t>& indices) {
  ARROW_ASSIGN_OR_RAISE(auto d, dictionary.Finish());
  const auto dn = static_cast<uint64_t>(d->length);
  for (uint64_t i : indices) {
    if (i >= dn) {
      return Corrupt("dictionary index " + std::to_string(i) + " beyond its " + std::to_string(dn) +
                     " items");
    }
  }
  arrow::UInt64Builder ib;
  ARROW_RETURN_NOT_OK(ib.AppendValues(indices));
  std::shared_ptr<arrow::Array> ia;
  ARROW_RETURN_NOT_OK(ib.Finish(&ia));
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arrow::MakeArray(d), ia));
  return taken.make_array()->data();
}

// Rows `rows` of a mini-block page, or (lo >= 0, a page without lists) rows
// [lo, hi) without listing them.
arrow::Result<LeafItems> DecodeMiniBlock(const PageIn& page,
                                         const std::shared_ptr<arrow::DataType>& type,
                                         std::span<const int64_t> rows, int64_t lo = -1,
                                         int64_t hi = -1) {
  const auto& m = page.layout->mini_block_layout();
  const auto layers = LayersOf(*page.layout);
  MiniPage mp;
  mp.m = &m;
  mp.large = m.has_large_chunk() || page.minor >= 2;
  const size_t expected =
      2 + (m.has_dictionary() ? 1 : 0) + (m.repetition_index_depth() > 0 ? 1 : 0);
  if (page.buffer_sizes.size() != expected) {
    return Corrupt("mini-block page of " + std::to_string(page.buffer_sizes.size()) +
                   " buffers, its layout names " + std::to_string(expected));
  }
  if (m.num_items() > (uint64_t{1} << 40)) return Corrupt("mini-block page of too many items");
  if (page.buffer_sizes[0] > (uint64_t{64} << 20)) return Corrupt("mini-block metadata too large");
  ARROW_ASSIGN_OR_RAISE(auto meta, page.read(0, 0, page.buffer_sizes[0]));
  ARROW_ASSIGN_OR_RAISE(
      mp.chunks, ChunksOf(m, Bytes(meta->data(), static_cast<size_t>(meta->size())), mp.large,
                          page.buffer_sizes[1]));
  if (const auto* f = FsstOf(m.value_compression())) {
    const auto& t = f->fsst().symbol_table();
    ARROW_ASSIGN_OR_RAISE(
        mp.fsst, FsstTable::Parse(Bytes(reinterpret_cast<const uint8_t*>(t.data()), t.size())));
  }
  ARROW_ASSIGN_OR_RAISE(ValueShape shape, ShapeOf(type));
  Values dict_values(shape);
  const bool dict = m.has_dictionary();
  if (dict) {
    if (page.buffer_sizes[2] > (uint64_t{1} << 31) ||
        m.num_dictionary_items() > (uint64_t{1} << 24)) {
      return Corrupt("dictionary too large");
    }
    ARROW_ASSIGN_OR_RAISE(auto db, page.read(2, 0, page.buffer_sizes[2]));
    ARROW_RETURN_NOT_OK(
        DecodeDictionary(m.dictionary(), Bytes(db->data(), static_cast<size_t>(db->size())),
                         static_cast<int64_t>(m.num_dictionary_items()), &dict_values));
  }
  // Which chunks: without lists a row is an item, so only the chunks
  // holding the rows; with lists, every chunk (rows may span chunks).
  const bool has_lists = MaxRep(layers) > 0;
  const bool range = lo >= 0 && !has_lists;
  std::vector<std::pair<size_t, size_t>> spans;  // chunk ranges
  if (range) {
    size_t c0 = 0;
    while (c0 < mp.chunks.size() && mp.chunks[c0].first_item + mp.chunks[c0].items <= lo) ++c0;
    size_t c1 = c0;
    while (c1 < mp.chunks.size() && mp.chunks[c1].first_item < hi) ++c1;
    if (hi > lo) {
      if (c1 == c0 || mp.chunks[c1 - 1].first_item + mp.chunks[c1 - 1].items < hi) {
        return Corrupt("rows beyond the page's chunks");
      }
      spans.emplace_back(c0, c1);
    }
  } else if (has_lists || rows.empty()) {
    if (!mp.chunks.empty()) spans.emplace_back(0, mp.chunks.size());
  } else {
    size_t c = 0;
    for (int64_t r : rows) {
      while (c < mp.chunks.size() && mp.chunks[c].first_item + mp.chunks[c].items <= r) ++c;
      if (c == mp.chunks.size()) return Corrupt("row beyond the page's chunks");
      if (!spans.empty() && (spans.back().second == c + 1)) continue;
      if (!spans.empty() && spans.back().second == c) {
        spans.back().second = c + 1;
      } else {
        spans.emplace_back(c, c + 1);
      }
    }
  }
  LeafItems all;
  Values values(shape);
  std::vector<uint64_t> indices;
  // A take of strings without lists: only the wanted strings of each chunk
  // are decoded; the items come out as the rows, in order.
  if (!range && !has_lists && !rows.empty() && !m.has_rep_compression()) {
    std::vector<std::vector<int64_t>> picks(mp.chunks.size());
    size_t c = 0;
    for (int64_t r : rows) {
      while (c < mp.chunks.size() && mp.chunks[c].first_item + mp.chunks[c].items <= r) ++c;
      if (c == mp.chunks.size()) return Corrupt("row beyond the page's chunks");
      picks[c].push_back(r - mp.chunks[c].first_item);
    }
    values.Reserve(static_cast<int64_t>(rows.size()));
    for (auto [c0, c1] : spans) {
      ARROW_RETURN_NOT_OK(
          DecodeChunks(page, mp, c0, c1, &all, &values, dict ? &indices : nullptr, &picks));
    }
    std::shared_ptr<arrow::ArrayData> data;
    if (dict) {
      ARROW_ASSIGN_OR_RAISE(data, Materialize(dict_values, indices));
    } else {
      ARROW_ASSIGN_OR_RAISE(data, values.Finish());
    }
    if (data->length != static_cast<int64_t>(rows.size()) ||
        (!all.def.empty() && all.def.size() != rows.size())) {
      return Corrupt("page levels disagree with its layers");
    }
    all.values.push_back(std::move(data));
    all.rows = static_cast<int64_t>(rows.size());
    return all;
  }
  // Without lists, the decoded spans' items are page rows: each span's
  // first row, its rows and where its items start among the decoded ones.
  struct Decoded {
    int64_t first_row, rows, at;
  };
  std::vector<Decoded> decoded;
  int64_t decoded_items = 0;
  {
    int64_t want = 0;
    for (auto [c0, c1] : spans) {
      for (size_t c = c0; c < c1; ++c) want += mp.chunks[c].items;
    }
    if (!dict) values.Reserve(want);
  }
  for (auto [c0, c1] : spans) {
    ARROW_RETURN_NOT_OK(DecodeChunks(page, mp, c0, c1, &all, &values, dict ? &indices : nullptr));
    int64_t items = 0;
    for (size_t c = c0; c < c1; ++c) items += mp.chunks[c].items;
    decoded.push_back({mp.chunks[c0].first_item, items, decoded_items});
    decoded_items += items;
  }
  if (dict) {
    ARROW_ASSIGN_OR_RAISE(auto taken, Materialize(dict_values, indices));
    all.values.push_back(std::move(taken));
  } else {
    ARROW_ASSIGN_OR_RAISE(auto data, values.Finish());
    all.values.push_back(std::move(data));
  }
  // Visible values: the chunk's items minus the invisible ones.
  if (has_lists) {
    all.rows = page.rows;
    return SelectRows(std::move(all), layers, rows);
  }
  all.rows = decoded_items;
  if (range) {  // one span: rows [lo, hi) are items [lo - first, hi - first) of it
    LeafItems out;
    out.rows = hi - lo;
    if (spans.empty()) {
      out.values.push_back(all.values[0]->Slice(0, 0));
      return out;
    }
    const int64_t at = lo - decoded[0].first_row;
    if (all.values[0]->length != decoded_items ||
        (!all.def.empty() && static_cast<int64_t>(all.def.size()) != decoded_items) ||
        !all.rep.empty()) {
      return Corrupt("page levels disagree with its layers");
    }
    if (!all.def.empty()) out.def.assign(all.def.begin() + at, all.def.begin() + at + (hi - lo));
    out.values.push_back(at == 0 && hi - lo == decoded_items ? all.values[0]
                                                             : all.values[0]->Slice(at, hi - lo));
    return out;
  }
  std::vector<int64_t> local;
  local.reserve(rows.size());
  size_t q = 0;
  for (int64_t r : rows) {
    while (q < decoded.size() && decoded[q].first_row + decoded[q].rows <= r) ++q;
    if (q == decoded.size() || r < decoded[q].first_row) return Corrupt("row not in its chunk");
    local.push_back(decoded[q].at + (r - decoded[q].first_row));
  }
  return SelectRows(std::move(all), layers, local);
}

}  // namespace

arrow::Result<ValueShape> ShapeOf(const std::shared_ptr<arrow::DataType>& type) {
  ValueShape s;
  s.type = type;
  const auto id = type->id();
  if (id == arrow::Type::STRING || id == arrow::Type::BINARY) {
    s.variable = true;
    return s;
  }
  if (id == arrow::Type::LARGE_STRING || id == arrow::Type::LARGE_BINARY) {
    s.variable = s.large = true;
    return s;
  }
  if (id == arrow::Type::BOOL) {
    s.boolean = true;
    return s;
  }
  std::shared_ptr<arrow::DataType> t = type;
  while (t->id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& l = static_cast<const arrow::FixedSizeListType&>(*t);
    s.items *= l.list_size();
    s.dims.push_back(l.list_size());
    t = l.value_type();
  }
  if (!arrow::is_fixed_width(t->id()) || t->id() == arrow::Type::BOOL ||
      static_cast<const arrow::FixedWidthType&>(*t).bit_width() % 8 != 0) {
    return arrow::Status::NotImplemented("Lance 2.1/2.2: a leaf of type ", type->ToString(),
                                         " is not supported by ailake yet");
  }
  s.item_width = static_cast<const arrow::FixedWidthType&>(*t).bit_width() / 8;
  s.width = s.items * s.item_width;
  s.opaque = t->id() == arrow::Type::FIXED_SIZE_BINARY && s.dims.empty();
  return s;
}

std::vector<pb::RepDefLayer> LayersOf(const pb::PageLayout& layout) {
  const google::protobuf::RepeatedField<int>* l = nullptr;
  switch (layout.layout_case()) {
    case pb::PageLayout::kMiniBlockLayout: l = &layout.mini_block_layout().layers(); break;
    case pb::PageLayout::kFullZipLayout: l = &layout.full_zip_layout().layers(); break;
    case pb::PageLayout::kConstantLayout: l = &layout.constant_layout().layers(); break;
    case pb::PageLayout::kBlobLayout: l = &layout.blob_layout().layers(); break;
    default: return {};
  }
  std::vector<pb::RepDefLayer> out;
  for (int v : *l) out.push_back(static_cast<pb::RepDefLayer>(v));
  return out;
}

namespace {

// How a packed struct leaf's rows are stored on `page` (packed_struct.h):
// mini-block pages hold fixed-width rows (PackedStruct), full-zip pages
// rows with length-prefixed variable children (VariablePackedStruct), and
// constant pages none.
struct PackedStorage {
  std::shared_ptr<arrow::DataType> rows_type;
  std::vector<PackedChild> layout;
};

arrow::Result<PackedStorage> PackedStorageOf(const PageIn& page, const arrow::DataType& type) {
  PackedStorage out;
  const pb::CompressiveEncoding* v = nullptr;
  if (page.layout->has_mini_block_layout()) {
    v = &page.layout->mini_block_layout().value_compression();
  } else if (page.layout->has_full_zip_layout()) {
    v = &page.layout->full_zip_layout().value_compression();
  } else if (page.layout->has_constant_layout()) {
    out.rows_type = arrow::binary();
    for (int k = 0; k < type.num_fields(); ++k) out.layout.push_back({0, 4});
    return out;
  } else {
    return NotRead("a packed struct in this page layout");
  }
  if (v->has_packed_struct()) {
    const auto& ps = v->packed_struct();
    if (!page.layout->has_mini_block_layout()) return NotRead("packed structs in full-zip pages");
    uint64_t total = 0;
    for (uint64_t b : ps.bits_per_value()) {
      if (b == 0 || b % 8 != 0 || b > (uint64_t{1} << 20)) {
        return NotRead("packed struct children of " + std::to_string(b) + " bits");
      }
      out.layout.push_back({static_cast<int64_t>(b / 8), 0});
      total += b;
    }
    if (!ps.values().has_flat() || ps.values().flat().bits_per_value() != total) {
      return NotRead(std::string("packed struct rows stored as '") + CompressionName(ps.values()) +
                     "'");
    }
    out.rows_type = arrow::fixed_size_binary(static_cast<int32_t>(total / 8));
  } else if (v->has_variable_packed_struct()) {
    for (const auto& f : v->variable_packed_struct().fields()) {
      const auto& e = f.value();
      std::function<arrow::Status(Bytes, std::string*)> decode;
      if (e.has_fsst() && e.fsst().values().has_variable() && f.has_bits_per_length()) {
        const auto& t = e.fsst().symbol_table();
        ARROW_ASSIGN_OR_RAISE(
            FsstTable table,
            FsstTable::Parse(Bytes(reinterpret_cast<const uint8_t*>(t.data()), t.size())));
        decode = [table = std::make_shared<FsstTable>(std::move(table))](
                     Bytes in, std::string* out) { return table->Decode(in, out); };
      }
      const bool plain = e.has_flat() || e.has_variable() || decode ||
                         (e.has_fixed_size_list() && !e.fixed_size_list().has_validity() &&
                          e.fixed_size_list().values().has_flat());
      if (!plain) {
        return NotRead(std::string("packed struct children stored as '") + CompressionName(e) +
                       "'");
      }
      if (f.has_bits_per_value()) {
        if (f.bits_per_value() == 0 || f.bits_per_value() % 8 != 0 ||
            f.bits_per_value() > (uint64_t{1} << 20)) {
          return Corrupt("packed struct child of " + std::to_string(f.bits_per_value()) + " bits");
        }
        out.layout.push_back({static_cast<int64_t>(f.bits_per_value() / 8), 0});
      } else if (f.has_bits_per_length()) {
        const uint64_t b = f.bits_per_length();
        if (b != 8 && b != 16 && b != 32 && b != 64) {
          return Corrupt("packed struct lengths of " + std::to_string(b) + " bits");
        }
        out.layout.push_back({0, static_cast<int>(b / 8), std::move(decode)});
      } else {
        return Corrupt("packed struct child without a layout");
      }
    }
    out.rows_type = arrow::binary();
  } else {
    return Corrupt(std::string("struct leaf stored as '") + CompressionName(*v) +
                   "', not a packed struct");
  }
  if (out.layout.size() != static_cast<size_t>(type.num_fields())) {
    return Corrupt("packed struct of " + std::to_string(out.layout.size()) + " children for " +
                   type.ToString());
  }
  return out;
}

arrow::Result<LeafItems> TakeRowsOf(const PageIn& page,
                                    const std::shared_ptr<arrow::DataType>& leaf_type,
                                    std::span<const int64_t> rows);
arrow::Result<LeafItems> DecodeRowsOf(const PageIn& page,
                                      const std::shared_ptr<arrow::DataType>& leaf_type, int64_t lo,
                                      int64_t hi);

// Decodes a leaf; a struct leaf (packed) is decoded as its rows' bytes and
// then unpacked into its children.
template <typename Decode>
arrow::Result<LeafItems> Leaf(const PageIn& page, const std::shared_ptr<arrow::DataType>& type,
                              Decode decode) {
  if (type->id() != arrow::Type::STRUCT) return decode(type);
  ARROW_ASSIGN_OR_RAISE(PackedStorage st, PackedStorageOf(page, *type));
  ARROW_ASSIGN_OR_RAISE(LeafItems items, decode(st.rows_type));
  for (auto& v : items.values) {
    auto unpacked = UnpackRows(type, st.layout, *v);
    if (!unpacked.ok()) {
      if (unpacked.status().IsIOError()) return unpacked.status();
      return Corrupt(unpacked.status().message());
    }
    v = std::move(*unpacked);
  }
  return items;
}

}  // namespace

arrow::Result<LeafItems> TakeRows(const PageIn& page,
                                  const std::shared_ptr<arrow::DataType>& leaf_type,
                                  std::span<const int64_t> rows) {
  return Leaf(page, leaf_type,
              [&](const std::shared_ptr<arrow::DataType>& t) { return TakeRowsOf(page, t, rows); });
}

arrow::Result<LeafItems> DecodeRows(const PageIn& page,
                                    const std::shared_ptr<arrow::DataType>& leaf_type, int64_t lo,
                                    int64_t hi) {
  return Leaf(page, leaf_type, [&](const std::shared_ptr<arrow::DataType>& t) {
    return DecodeRowsOf(page, t, lo, hi);
  });
}

namespace {

arrow::Result<LeafItems> TakeRowsOf(const PageIn& page,
                                    const std::shared_ptr<arrow::DataType>& leaf_type,
                                    std::span<const int64_t> rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= page.rows || (i > 0 && rows[i] <= rows[i - 1])) {
      return arrow::Status::Invalid("page rows out of order or range");
    }
  }
  switch (page.layout->layout_case()) {
    case pb::PageLayout::kMiniBlockLayout: return DecodeMiniBlock(page, leaf_type, rows);
    case pb::PageLayout::kFullZipLayout: return DecodeFullZip(page, leaf_type, rows);
    case pb::PageLayout::kConstantLayout: {
      ARROW_ASSIGN_OR_RAISE(auto all, DecodeConstant(page, leaf_type));
      return SelectRows(std::move(all), LayersOf(*page.layout), rows);
    }
    case pb::PageLayout::kBlobLayout: return NotRead("blob page layout");
    default: return Corrupt("page without a layout");
  }
}

arrow::Result<LeafItems> DecodeRowsOf(const PageIn& page,
                                      const std::shared_ptr<arrow::DataType>& leaf_type, int64_t lo,
                                      int64_t hi) {
  if (lo < 0 || hi > page.rows || lo > hi) return arrow::Status::Invalid("page rows out of range");
  if (page.layout->has_mini_block_layout() && MaxRep(LayersOf(*page.layout)) == 0) {
    return DecodeMiniBlock(page, leaf_type, {}, lo, hi);
  }
  std::vector<int64_t> rows(static_cast<size_t>(hi - lo));
  for (int64_t r = lo; r < hi; ++r) rows[static_cast<size_t>(r - lo)] = r;
  return TakeRowsOf(page, leaf_type, rows);
}

}  // namespace

arrow::Result<std::vector<Level>> Unravel(const LeafItems& items,
                                          const std::vector<pb::RepDefLayer>& layers) {
  const int depth = static_cast<int>(layers.size());
  if (depth == 0 || depth > 64) return Corrupt("page of " + std::to_string(depth) + " layers");
  ARROW_ASSIGN_OR_RAISE(auto meaning, DefTable(layers));
  std::vector<Level> out(static_cast<size_t>(depth));
  std::vector<int> rep_of(static_cast<size_t>(depth), 0);  // outermost first
  const int max_rep = MaxRep(layers);
  {
    int r = max_rep;
    for (int o = 0; o < depth; ++o) {
      const bool list = IsListLayer(layers[static_cast<size_t>(depth - 1 - o)]);
      out[static_cast<size_t>(o)].is_list = list;
      if (list) rep_of[static_cast<size_t>(o)] = r--;
    }
  }
  // The layer just inside the list of each repetition level.
  std::vector<int> start_of(static_cast<size_t>(max_rep) + 1, 0);
  for (int o = 0; o < depth; ++o) {
    if (rep_of[static_cast<size_t>(o)] > 0)
      start_of[static_cast<size_t>(rep_of[static_cast<size_t>(o)] - 1)] = o + 1;
  }
  const int64_t n = !items.rep.empty()   ? static_cast<int64_t>(items.rep.size())
                    : !items.def.empty() ? static_cast<int64_t>(items.def.size())
                                         : items.rows;
  if (!items.rep.empty() && !items.def.empty() && items.rep.size() != items.def.size()) {
    return Corrupt("repetition and definition levels differ in number");
  }
  if (max_rep > 0 && items.rep.empty() && n > 0)
    return Corrupt("a list page without repetition levels");
  if (items.rep.empty() && items.def.empty()) {  // no lists, no nulls: n valid slots everywhere
    for (auto& lv : out) lv.slots = n;
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    const int r = items.rep.empty() ? max_rep : items.rep[static_cast<size_t>(i)];
    const int d = items.def.empty() ? 0 : items.def[static_cast<size_t>(i)];
    if (r > max_rep) return Corrupt("repetition level " + std::to_string(r));
    if (static_cast<size_t>(d) >= meaning.size())
      return Corrupt("definition level " + std::to_string(d));
    const int s = r == max_rep ? 0 : start_of[static_cast<size_t>(r)];
    const DefMeaning dm = meaning[static_cast<size_t>(d)];
    bool null_above = false;
    for (int o = s; o < depth; ++o) {
      Level& lv = out[static_cast<size_t>(o)];
      if (lv.is_list)
        lv.offsets.push_back(o + 1 < depth ? out[static_cast<size_t>(o) + 1].slots : 0);
      const bool stops_here = o == dm.layer;
      const bool valid = !null_above && !(stops_here && !dm.empty);
      lv.valid.push_back(valid ? 1 : 0);
      ++lv.slots;
      if (stops_here) {
        if (dm.empty || lv.is_list) break;  // an empty or null list holds nothing
        null_above = true;                  // a null struct: null slots below it
      } else if (null_above && lv.is_list) {
        break;
      }
    }
  }
  for (int o = 0; o < depth; ++o) {
    Level& lv = out[static_cast<size_t>(o)];
    if (lv.is_list) lv.offsets.push_back(o + 1 < depth ? out[static_cast<size_t>(o) + 1].slots : 0);
  }
  return out;
}

}  // namespace ailake::encoding::l21
