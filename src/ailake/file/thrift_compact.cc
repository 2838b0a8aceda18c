#include "ailake/file/thrift_compact.h"

#include <limits>

namespace ailake::file_internal {
namespace {

// Compact-protocol type codes.
enum : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

constexpr int kMaxDepth = 32;

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> b) : b_(b) {}
  size_t pos() const { return pos_; }

  arrow::Result<uint8_t> Byte() {
    if (pos_ >= b_.size()) return Truncated("a byte");
    return b_[pos_++];
  }
  arrow::Result<uint64_t> Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      ARROW_ASSIGN_OR_RAISE(uint8_t c, Byte());
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) return v;
    }
    return arrow::Status::Invalid("thrift: varint longer than 10 bytes at offset ", pos_);
  }
  arrow::Result<int64_t> ZigZag() {
    ARROW_ASSIGN_OR_RAISE(uint64_t v, Varint());
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  arrow::Result<int32_t> I32() {
    ARROW_ASSIGN_OR_RAISE(int64_t v, ZigZag());
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return arrow::Status::Invalid("thrift: i32 value ", v, " out of range at offset ", pos_);
    }
    return static_cast<int32_t>(v);
  }
  arrow::Result<std::span<const uint8_t>> Binary() {
    ARROW_ASSIGN_OR_RAISE(uint64_t n, Varint());
    if (n > b_.size() - pos_) return Truncated("a binary value");
    auto out = b_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  arrow::Status Skip(size_t n) {
    if (n > b_.size() - pos_) return Truncated("a fixed-size value");
    pos_ += n;
    return arrow::Status::OK();
  }

  // Reads a field header. Returns type kStop at the end of a struct.
  arrow::Status FieldHeader(int16_t* last_id, uint8_t* type, int16_t* id) {
    ARROW_ASSIGN_OR_RAISE(uint8_t h, Byte());
    *type = h & 0x0f;
    if (*type == kStop) return arrow::Status::OK();
    const uint8_t delta = h >> 4;
    if (delta != 0) {
      *id = static_cast<int16_t>(*last_id + delta);
    } else {
      ARROW_ASSIGN_OR_RAISE(int64_t v, ZigZag());
      if (v < std::numeric_limits<int16_t>::min() || v > std::numeric_limits<int16_t>::max()) {
        return arrow::Status::Invalid("thrift: field id ", v, " out of range");
      }
      *id = static_cast<int16_t>(v);
    }
    *last_id = *id;
    return arrow::Status::OK();
  }

  arrow::Status ListHeader(uint8_t* elem_type, uint64_t* size) {
    ARROW_ASSIGN_OR_RAISE(uint8_t h, Byte());
    *elem_type = h & 0x0f;
    *size = h >> 4;
    if (*size == 15) {
      ARROW_ASSIGN_OR_RAISE(*size, Varint());
    }
    // Every element takes at least one byte (bools in lists do too).
    if (*size > b_.size() - pos_) {
      return arrow::Status::Invalid("thrift: list of ", *size, " elements at offset ", pos_,
                                    " is longer than the remaining ", b_.size() - pos_, " bytes");
    }
    return arrow::Status::OK();
  }

  // Skips one value of `type` (in a field: bools carry no bytes).
  arrow::Status SkipValue(uint8_t type, bool in_field, int depth) {
    if (depth > kMaxDepth) return arrow::Status::Invalid("thrift: nesting deeper than ", kMaxDepth);
    switch (type) {
      case kBoolTrue:
      case kBoolFalse: return in_field ? arrow::Status::OK() : Skip(1);
      case kByte: return Skip(1);
      case kI16:
      case kI32:
      case kI64: return Varint().status();
      case kDouble: return Skip(8);
      case kBinary: return Binary().status();
      case kList:
      case kSet: {
        uint8_t et;
        uint64_t n;
        ARROW_RETURN_NOT_OK(ListHeader(&et, &n));
        for (uint64_t i = 0; i < n; ++i) ARROW_RETURN_NOT_OK(SkipValue(et, false, depth + 1));
        return arrow::Status::OK();
      }
      case kMap: {
        ARROW_ASSIGN_OR_RAISE(uint64_t n, Varint());
        if (n == 0) return arrow::Status::OK();
        if (n > b_.size() - pos_) return Truncated("a map");
        ARROW_ASSIGN_OR_RAISE(uint8_t kv, Byte());
        for (uint64_t i = 0; i < n; ++i) {
          ARROW_RETURN_NOT_OK(SkipValue(kv >> 4, false, depth + 1));
          ARROW_RETURN_NOT_OK(SkipValue(kv & 0x0f, false, depth + 1));
        }
        return arrow::Status::OK();
      }
      case kStruct: return SkipStruct(depth + 1);
      default:
        return arrow::Status::Invalid("thrift: unknown type code ", int{type}, " at offset ", pos_);
    }
  }

  arrow::Status SkipStruct(int depth) {
    if (depth > kMaxDepth) return arrow::Status::Invalid("thrift: nesting deeper than ", kMaxDepth);
    int16_t last = 0;
    for (;;) {
      uint8_t type;
      int16_t id = 0;
      ARROW_RETURN_NOT_OK(FieldHeader(&last, &type, &id));
      if (type == kStop) return arrow::Status::OK();
      ARROW_RETURN_NOT_OK(SkipValue(type, true, depth));
    }
  }

 private:
  arrow::Status Truncated(const char* what) const {
    return arrow::Status::Invalid("thrift: truncated while reading ", what, " at offset ", pos_,
                                  " of ", b_.size(), " bytes");
  }

  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

arrow::Result<int32_t> ReadI32Field(Cursor& c, uint8_t type) {
  if (type != kI32)
    return arrow::Status::Invalid("thrift: expected an i32 field, got type ", int{type});
  return c.I32();
}

class Writer {
 public:
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      Byte(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    Byte(static_cast<uint8_t>(v));
  }
  void FieldHeader(int16_t* last, int16_t id, uint8_t type) {
    const int delta = id - *last;
    if (delta > 0 && delta <= 15) {
      Byte(static_cast<uint8_t>((delta << 4) | type));
    } else {
      Byte(type);
      const int64_t v = id;
      Varint(static_cast<uint64_t>((v << 1) ^ (v >> 63)));
    }
    *last = id;
  }
  void Binary(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  void Raw(std::span<const uint8_t> b) {
    out_.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

arrow::Result<PageHeaderInfo> ParsePageHeader(std::span<const uint8_t> bytes) {
  Cursor c(bytes);
  PageHeaderInfo info;
  int16_t last = 0;
  for (;;) {
    uint8_t type;
    int16_t id = 0;
    ARROW_RETURN_NOT_OK(c.FieldHeader(&last, &type, &id));
    if (type == kStop) break;
    switch (id) {
      case 1: {
        ARROW_ASSIGN_OR_RAISE(info.type, ReadI32Field(c, type));
        break;
      }
      case 2: {
        ARROW_ASSIGN_OR_RAISE(info.uncompressed_page_size, ReadI32Field(c, type));
        break;
      }
      case 3: {
        ARROW_ASSIGN_OR_RAISE(info.compressed_page_size, ReadI32Field(c, type));
        break;
      }
      case 4: {  // crc: CRC-32 of the page data after the header
        ARROW_ASSIGN_OR_RAISE(const int32_t crc, ReadI32Field(c, type));
        info.crc = static_cast<uint32_t>(crc);
        info.has_crc = true;
        break;
      }
      case 5:    // data_page_header
      case 8: {  // data_page_header_v2
        if (type != kStruct)
          return arrow::Status::Invalid("thrift: page header field ", id, " is not a struct");
        const bool v2 = id == 8;
        int16_t last2 = 0;
        for (;;) {
          uint8_t t2;
          int16_t id2 = 0;
          ARROW_RETURN_NOT_OK(c.FieldHeader(&last2, &t2, &id2));
          if (t2 == kStop) break;
          if (id2 == 1) {
            ARROW_ASSIGN_OR_RAISE(info.num_values, ReadI32Field(c, t2));
          } else if (!v2 && id2 == 2) {
            ARROW_ASSIGN_OR_RAISE(info.encoding, ReadI32Field(c, t2));
          } else if (v2 && id2 == 2) {
            ARROW_ASSIGN_OR_RAISE(info.num_nulls, ReadI32Field(c, t2));
          } else if (v2 && id2 == 3) {
            ARROW_ASSIGN_OR_RAISE(info.num_rows, ReadI32Field(c, t2));
          } else if (v2 && id2 == 4) {
            ARROW_ASSIGN_OR_RAISE(info.encoding, ReadI32Field(c, t2));
          } else if (v2 && id2 == 5) {
            ARROW_ASSIGN_OR_RAISE(info.def_levels_byte_length, ReadI32Field(c, t2));
          } else if (v2 && id2 == 6) {
            ARROW_ASSIGN_OR_RAISE(info.rep_levels_byte_length, ReadI32Field(c, t2));
          } else if (v2 && id2 == 7 && (t2 == kBoolTrue || t2 == kBoolFalse)) {
            info.v2_is_compressed = t2 == kBoolTrue;
          } else {
            ARROW_RETURN_NOT_OK(c.SkipValue(t2, true, 1));
          }
        }
        break;
      }
      default: ARROW_RETURN_NOT_OK(c.SkipValue(type, true, 0));
    }
  }
  if (info.type < 0 || info.compressed_page_size < 0 || info.uncompressed_page_size < 0) {
    return arrow::Status::Invalid("thrift: page header lacks type or sizes");
  }
  info.header_bytes = static_cast<uint32_t>(c.pos());
  return info;
}

namespace {

// Key/values of a KeyValue list whose header has been read.
arrow::Status ReadKeyValueList(Cursor& c, KeyValues* out) {
  uint8_t et;
  uint64_t n;
  ARROW_RETURN_NOT_OK(c.ListHeader(&et, &n));
  if (et != kStruct)
    return arrow::Status::Invalid("thrift: key_value_metadata is not a list of structs");
  for (uint64_t i = 0; i < n; ++i) {
    std::string key, value;
    int16_t last = 0;
    for (;;) {
      uint8_t t;
      int16_t id = 0;
      ARROW_RETURN_NOT_OK(c.FieldHeader(&last, &t, &id));
      if (t == kStop) break;
      if ((id == 1 || id == 2) && t == kBinary) {
        ARROW_ASSIGN_OR_RAISE(auto b, c.Binary());
        (id == 1 ? key : value).assign(reinterpret_cast<const char*>(b.data()), b.size());
      } else {
        ARROW_RETURN_NOT_OK(c.SkipValue(t, true, 2));
      }
    }
    out->emplace_back(std::move(key), std::move(value));
  }
  return arrow::Status::OK();
}

struct FieldSpan {
  int16_t id;
  uint8_t type;
  size_t begin, end;  // value bytes (after the field header)
};

arrow::Result<std::vector<FieldSpan>> TopLevelFields(std::span<const uint8_t> footer) {
  Cursor c(footer);
  std::vector<FieldSpan> fields;
  int16_t last = 0;
  for (;;) {
    uint8_t type;
    int16_t id = 0;
    ARROW_RETURN_NOT_OK(c.FieldHeader(&last, &type, &id));
    if (type == kStop) break;
    const size_t begin = c.pos();
    ARROW_RETURN_NOT_OK(c.SkipValue(type, true, 0));
    fields.push_back({id, type, begin, c.pos()});
  }
  if (c.pos() != footer.size()) {
    return arrow::Status::Invalid("thrift: ", footer.size() - c.pos(),
                                  " trailing bytes after the Parquet FileMetaData");
  }
  return fields;
}

}  // namespace

arrow::Result<KeyValues> ReadFooterKeyValues(std::span<const uint8_t> footer) {
  ARROW_ASSIGN_OR_RAISE(auto fields, TopLevelFields(footer));
  KeyValues kvs;
  for (const auto& f : fields) {
    if (f.id != 5) continue;
    if (f.type != kList) return arrow::Status::Invalid("thrift: key_value_metadata is not a list");
    Cursor c(footer.subspan(f.begin, f.end - f.begin));
    ARROW_RETURN_NOT_OK(ReadKeyValueList(c, &kvs));
  }
  return kvs;
}

arrow::Result<std::string> RewriteFooterKeyValues(std::span<const uint8_t> footer,
                                                  const KeyValues& kvs) {
  ARROW_ASSIGN_OR_RAISE(auto fields, TopLevelFields(footer));
  Writer w;
  int16_t last = 0;
  bool written = false;
  auto write_kvs = [&]() {
    if (kvs.empty()) return;
    w.FieldHeader(&last, 5, kList);
    if (kvs.size() < 15) {
      w.Byte(static_cast<uint8_t>((kvs.size() << 4) | kStruct));
    } else {
      w.Byte(0xf0 | kStruct);
      w.Varint(kvs.size());
    }
    for (const auto& [k, v] : kvs) {
      int16_t l2 = 0;
      w.FieldHeader(&l2, 1, kBinary);
      w.Binary(k);
      w.FieldHeader(&l2, 2, kBinary);
      w.Binary(v);
      w.Byte(kStop);
    }
  };
  for (const auto& f : fields) {
    if (f.id == 5) continue;
    if (!written && f.id > 5) {
      write_kvs();
      written = true;
    }
    w.FieldHeader(&last, f.id, f.type);
    w.Raw(footer.subspan(f.begin, f.end - f.begin));
  }
  if (!written) write_kvs();
  w.Byte(kStop);
  return w.Take();
}

}  // namespace ailake::file_internal
