// LanceFileReader (include/ailake/lance.h): Lance files of versions 2.0,
// 2.1 and 2.2 (docs/FORMAT.md 5), decoded page by page; 2.1/2.2 pages are
// decoded in lance21.cc and assembled here from their levels.
#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <span>

#include "ailake/core/large_buffer.h"
#include "ailake/encoding/lance21.h"
#include "ailake/encoding/lance_format.pb.h"
#include "ailake/encoding/lance_tail.h"
#include "ailake/encoding/packed_struct.h"
#include "ailake/encoding/page_checksums.h"
#include "ailake/lance.h"

namespace ailake {
namespace {

namespace pb = encoding::lance;
namespace l21 = encoding::l21;

constexpr int64_t kFooterBytes = 40;
// Bounds on what a file may make us allocate before its pages are read.
constexpr uint32_t kMaxColumns = 1 << 20;
constexpr uint64_t kMaxMetadataBytes = uint64_t{1} << 30;

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

arrow::Status Corrupt(const std::string& what) {
  return arrow::Status::Invalid("Lance file: ", what);
}

arrow::Result<arrow::TimeUnit::type> ParseUnit(std::string_view u) {
  if (u == "s") return arrow::TimeUnit::SECOND;
  if (u == "ms") return arrow::TimeUnit::MILLI;
  if (u == "us") return arrow::TimeUnit::MICRO;
  if (u == "ns") return arrow::TimeUnit::NANO;
  return Corrupt("unknown time unit '" + std::string(u) + "'");
}

int32_t ParseInt(std::string_view s, bool* ok) {
  int32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  *ok = r.ec == std::errc() && r.ptr == s.data() + s.size();
  return v;
}

// The Arrow type of a Lance logical type (structs: built by the caller).
arrow::Result<std::shared_ptr<arrow::DataType>> TypeOf(std::string_view lt, int depth = 0) {
  static const std::map<std::string_view, std::shared_ptr<arrow::DataType>> kSimple = {
      {"bool", arrow::boolean()},      {"int8", arrow::int8()},
      {"uint8", arrow::uint8()},       {"int16", arrow::int16()},
      {"uint16", arrow::uint16()},     {"int32", arrow::int32()},
      {"uint32", arrow::uint32()},     {"int64", arrow::int64()},
      {"uint64", arrow::uint64()},     {"halffloat", arrow::float16()},
      {"float", arrow::float32()},     {"double", arrow::float64()},
      {"string", arrow::utf8()},       {"large_string", arrow::large_utf8()},
      {"binary", arrow::binary()},     {"large_binary", arrow::large_binary()},
      {"date32:day", arrow::date32()}, {"date64:ms", arrow::date64()}};
  if (depth > 8) return Corrupt("logical type nested too deeply");
  if (auto it = kSimple.find(lt); it != kSimple.end()) return it->second;
  auto rest = [&](std::string_view prefix) { return lt.substr(prefix.size()); };
  bool ok = false;
  if (lt.starts_with("timestamp:")) {
    const std::string_view r = rest("timestamp:");
    const size_t colon = r.find(':');
    if (colon == std::string_view::npos) return Corrupt("bad logical type " + std::string(lt));
    ARROW_ASSIGN_OR_RAISE(auto unit, ParseUnit(r.substr(0, colon)));
    const std::string_view tz = r.substr(colon + 1);
    return arrow::timestamp(unit, tz == "-" ? std::string() : std::string(tz));
  }
  if (lt.starts_with("time32:")) {
    ARROW_ASSIGN_OR_RAISE(auto unit, ParseUnit(rest("time32:")));
    if (unit != arrow::TimeUnit::SECOND && unit != arrow::TimeUnit::MILLI) {
      return Corrupt("logical type '" + std::string(lt) + "': time32 is in s or ms");
    }
    return arrow::time32(unit);
  }
  if (lt.starts_with("time64:")) {
    ARROW_ASSIGN_OR_RAISE(auto unit, ParseUnit(rest("time64:")));
    if (unit != arrow::TimeUnit::MICRO && unit != arrow::TimeUnit::NANO) {
      return Corrupt("logical type '" + std::string(lt) + "': time64 is in us or ns");
    }
    return arrow::time64(unit);
  }
  if (lt.starts_with("duration:")) {
    ARROW_ASSIGN_OR_RAISE(auto unit, ParseUnit(rest("duration:")));
    return arrow::duration(unit);
  }
  if (lt.starts_with("decimal:")) {
    const std::string_view r = rest("decimal:");
    const size_t c1 = r.find(':'), c2 = r.find(':', c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos) {
      return Corrupt("bad logical type " + std::string(lt));
    }
    bool o1 = false, o2 = false, o3 = false;
    const int32_t bits = ParseInt(r.substr(0, c1), &o1);
    const int32_t p = ParseInt(r.substr(c1 + 1, c2 - c1 - 1), &o2);
    const int32_t sc = ParseInt(r.substr(c2 + 1), &o3);
    if (!o1 || !o2 || !o3) return Corrupt("bad logical type " + std::string(lt));
    if (bits == 128) return arrow::Decimal128Type::Make(p, sc);
    if (bits == 256) return arrow::Decimal256Type::Make(p, sc);
    return Corrupt("bad logical type " + std::string(lt));
  }
  if (lt.starts_with("fixed_size_binary:")) {
    const int32_t w = ParseInt(rest("fixed_size_binary:"), &ok);
    if (!ok || w <= 0) return Corrupt("bad logical type " + std::string(lt));
    return arrow::fixed_size_binary(w);
  }
  if (lt.starts_with("fixed_size_list:")) {
    const std::string_view r = rest("fixed_size_list:");
    const size_t colon = r.rfind(':');
    if (colon == std::string_view::npos) return Corrupt("bad logical type " + std::string(lt));
    const int32_t dim = ParseInt(r.substr(colon + 1), &ok);
    if (!ok || dim <= 0) return Corrupt("bad logical type " + std::string(lt));
    ARROW_ASSIGN_OR_RAISE(auto item, TypeOf(r.substr(0, colon), depth + 1));
    return arrow::fixed_size_list(arrow::field("item", item), dim);
  }
  return arrow::Status::NotImplemented("Lance logical type '", std::string(lt),
                                       "' is not read by ailake yet");
}

struct Page {
  std::vector<std::pair<uint64_t, uint64_t>> buffers;  // offset, size
  std::vector<uint64_t> first_block;                   // per buffer: its first checksum block
  uint32_t block = 0;                                  // its column's checksum block bytes
  int64_t rows = 0;
  int64_t start = 0;                                  // first row
  pb::ArrayEncoding encoding;                         // file version 2.0
  std::shared_ptr<const l21::pb::PageLayout> layout;  // file versions 2.1, 2.2
  // A list's offsets page: its items are items [item_start, item_start +
  // num_items) of the columns after the list's.
  int64_t item_start = 0;
  int64_t num_items = 0;
};

struct Column {
  std::vector<Page> pages;
  int64_t rows = 0;  // its pages' rows together
};

struct Node {
  std::shared_ptr<arrow::Field> field;
  int column = -1;  // its column (struct: its SimpleStruct column)
  std::vector<Node> children;
  bool packed = false;  // a packed struct: one column of whole rows, children without columns
};

const char* EncodingName(const pb::ArrayEncoding& e) {
  switch (e.array_encoding_case()) {
    case pb::ArrayEncoding::kFlat: return "flat";
    case pb::ArrayEncoding::kNullable: return "nullable";
    case pb::ArrayEncoding::kFixedSizeList: return "fixed_size_list";
    case pb::ArrayEncoding::kList: return "list";
    case pb::ArrayEncoding::kStruct: return "struct";
    case pb::ArrayEncoding::kBinary: return "binary";
    case pb::ArrayEncoding::kDictionary: return "dictionary";
    case pb::ArrayEncoding::kFsst: return "fsst";
    case pb::ArrayEncoding::kPackedStruct: return "packed_struct";
    case pb::ArrayEncoding::kBitpacked: return "bitpacked";
    case pb::ArrayEncoding::kFixedSizeBinary: return "fixed_size_binary";
    case pb::ArrayEncoding::kBitpackedForNonNeg: return "bitpacked_for_non_neg";
    case pb::ArrayEncoding::kConstant: return "constant";
    default: return "an unknown encoding";
  }
}

int64_t FlatRowBytes(const pb::ArrayEncoding& e, const arrow::DataType& type, uint32_t* buffer,
                     int depth);

// Decodes one page (its buffers loaded) into an array of `type` with `n` rows.
class PageDecoder {
 public:
  explicit PageDecoder(std::vector<std::shared_ptr<arrow::Buffer>> buffers)
      : buffers_(std::move(buffers)) {}

  arrow::Result<std::shared_ptr<arrow::ArrayData>> Decode(
      const pb::ArrayEncoding& e, const std::shared_ptr<arrow::DataType>& type, int64_t n,
      int depth = 0) {
    if (depth > 16) return Corrupt("page encoding nested too deeply");
    switch (e.array_encoding_case()) {
      case pb::ArrayEncoding::kNullable: {
        const auto& nl = e.nullable();
        if (nl.has_no_nulls()) return Decode(nl.no_nulls().values(), type, n, depth + 1);
        if (nl.has_all_nulls()) {
          ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeArrayOfNull(type, n));
          return a->data();
        }
        if (!nl.has_some_nulls()) return Corrupt("nullable encoding without a case");
        ARROW_ASSIGN_OR_RAISE(auto validity, FlatBuffer(nl.some_nulls().validity(), 1, n));
        ARROW_ASSIGN_OR_RAISE(auto values, Decode(nl.some_nulls().values(), type, n, depth + 1));
        auto out = values->Copy();
        out->buffers[0] = std::move(validity);
        out->null_count = arrow::kUnknownNullCount;
        return out;
      }
      case pb::ArrayEncoding::kFlat: {
        if (!arrow::is_fixed_width(type->id()) || type->id() == arrow::Type::FIXED_SIZE_LIST) {
          return Corrupt("flat page for a column of type " + type->ToString());
        }
        const int64_t bits = static_cast<const arrow::FixedWidthType&>(*type).bit_width();
        if (static_cast<int64_t>(e.flat().bits_per_value()) != bits) {
          return Corrupt("flat page of " + std::to_string(e.flat().bits_per_value()) +
                         "-bit values for " + type->ToString());
        }
        ARROW_ASSIGN_OR_RAISE(auto values, FlatBuffer(e, bits, n));
        return arrow::ArrayData::Make(type, n, {nullptr, std::move(values)}, 0);
      }
      case pb::ArrayEncoding::kFixedSizeList: {
        if (type->id() != arrow::Type::FIXED_SIZE_LIST) {
          return Corrupt("fixed_size_list page for a column of type " + type->ToString());
        }
        const auto& lt = static_cast<const arrow::FixedSizeListType&>(*type);
        if (static_cast<int32_t>(e.fixed_size_list().dimension()) != lt.list_size()) {
          return Corrupt("fixed_size_list page of dimension " +
                         std::to_string(e.fixed_size_list().dimension()) + " for " +
                         type->ToString());
        }
        ARROW_ASSIGN_OR_RAISE(auto items, Decode(e.fixed_size_list().items(), lt.value_type(),
                                                 n * lt.list_size(), depth + 1));
        return arrow::ArrayData::Make(type, n, {nullptr}, {std::move(items)}, 0);
      }
      case pb::ArrayEncoding::kBinary: return DecodeBinary(e.binary(), type, n, depth);
      case pb::ArrayEncoding::kPackedStruct: return DecodePacked(e.packed_struct(), type, n);
      case pb::ArrayEncoding::kDictionary: {
        const auto& d = e.dictionary();
        const int64_t items_n = d.num_dictionary_items();
        if (items_n < 0 || items_n > n + 1) return Corrupt("dictionary larger than its page");
        ARROW_ASSIGN_OR_RAISE(auto items, Decode(d.items(), type, items_n, depth + 1));
        std::shared_ptr<arrow::DataType> index_type;
        switch (d.indices().has_nullable() && d.indices().nullable().has_no_nulls()
                    ? d.indices().nullable().no_nulls().values().flat().bits_per_value()
                    : d.indices().flat().bits_per_value()) {
          case 8: index_type = arrow::uint8(); break;
          case 16: index_type = arrow::uint16(); break;
          case 32: index_type = arrow::uint32(); break;
          case 64: index_type = arrow::uint64(); break;
          default: return Corrupt("dictionary indices of an unsupported width");
        }
        ARROW_ASSIGN_OR_RAISE(auto idx, Decode(d.indices(), index_type, n, depth + 1));
        // Index 0 stands for null; item k is at k - 1.
        auto indices = arrow::MakeArray(idx);
        ARROW_ASSIGN_OR_RAISE(auto as64, arrow::compute::Cast(*indices, arrow::int64()));
        const auto& i64 = static_cast<const arrow::Int64Array&>(*as64);
        arrow::Int64Builder shifted;
        ARROW_RETURN_NOT_OK(shifted.Reserve(n));
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = i64.IsNull(i) ? 0 : i64.Value(i);
          if (k < 0 || k > items_n) return Corrupt("dictionary index out of range");
          if (k == 0) {
            shifted.UnsafeAppendNull();
          } else {
            shifted.UnsafeAppend(k - 1);
          }
        }
        std::shared_ptr<arrow::Array> take_idx;
        ARROW_RETURN_NOT_OK(shifted.Finish(&take_idx));
        ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arrow::MakeArray(items), take_idx));
        return taken.make_array()->data();
      }
      default: break;
    }
    return arrow::Status::NotImplemented("Lance page encoding '", EncodingName(e),
                                         "' is not read by ailake yet");
  }

 private:
  // The buffer of a flat encoding holding n values of `bits` bits.
  arrow::Result<std::shared_ptr<arrow::Buffer>> FlatBuffer(const pb::ArrayEncoding& e, int64_t bits,
                                                           int64_t n) {
    if (e.array_encoding_case() != pb::ArrayEncoding::kFlat) {
      return arrow::Status::NotImplemented("Lance page encoding '", EncodingName(e),
                                           "' where flat values were expected");
    }
    if (static_cast<int64_t>(e.flat().bits_per_value()) != bits) {
      return Corrupt("flat buffer of " + std::to_string(e.flat().bits_per_value()) +
                     "-bit values where " + std::to_string(bits) + " were expected");
    }
    if (e.flat().has_compression() && !e.flat().compression().scheme().empty()) {
      return arrow::Status::NotImplemented("Lance flat page compressed with '",
                                           e.flat().compression().scheme(),
                                           "' is not read by ailake yet");
    }
    const uint32_t index = e.flat().buffer().buffer_index();
    if (e.flat().buffer().buffer_type() != pb::Buffer::page || index >= buffers_.size()) {
      return Corrupt("flat encoding names buffer " + std::to_string(index) + " of " +
                     std::to_string(buffers_.size()));
    }
    auto& buf = buffers_[index];
    const int64_t need = (n * bits + 7) / 8;
    if (buf->size() < need) {
      return Corrupt("page buffer of " + std::to_string(buf->size()) + " bytes holds no " +
                     std::to_string(n) + " values of " + std::to_string(bits) + " bits");
    }
    // Values are read in place only from 8-aligned buffers (Lance aligns
    // them to 64; a file that does not is copied once).
    if (reinterpret_cast<uintptr_t>(buf->data()) % 8 != 0) {
      ARROW_ASSIGN_OR_RAISE(auto copy, arrow::AllocateBuffer(buf->size()));
      std::memcpy(copy->mutable_data(), buf->data(), static_cast<size_t>(buf->size()));
      buf = std::shared_ptr<arrow::Buffer>(std::move(copy));
    }
    return buf;
  }

  // Rows of children's values one after the other (packed_struct.h); each
  // child's inner encoding gives its width.
  arrow::Result<std::shared_ptr<arrow::ArrayData>> DecodePacked(
      const pb::PackedStruct& p, const std::shared_ptr<arrow::DataType>& type, int64_t n) {
    if (type->id() != arrow::Type::STRUCT || p.inner_size() != type->num_fields()) {
      return Corrupt("packed struct page of " + std::to_string(p.inner_size()) +
                     " children for a column of type " + type->ToString());
    }
    std::vector<encoding::PackedChild> layout;
    int64_t row = 0;
    for (int k = 0; k < p.inner_size(); ++k) {
      uint32_t unused = 0;
      const int64_t w = FlatRowBytes(p.inner(k), *type->field(k)->type(), &unused, 0);
      if (w <= 0) {
        return arrow::Status::NotImplemented("Lance packed struct child '", type->field(k)->name(),
                                             "' encoded as '", EncodingName(p.inner(k)),
                                             "' is not read by ailake yet");
      }
      layout.push_back({w, 0});
      row += w;
    }
    const uint32_t index = p.buffer().buffer_index();
    if (p.buffer().buffer_type() != pb::Buffer::page || index >= buffers_.size()) {
      return Corrupt("packed struct names buffer " + std::to_string(index) + " of " +
                     std::to_string(buffers_.size()));
    }
    const auto& buf = buffers_[index];
    if (buf->size() < n * row) return Corrupt("packed struct page shorter than its rows");
    auto rows = arrow::ArrayData::Make(arrow::fixed_size_binary(static_cast<int32_t>(row)), n,
                                       {nullptr, buf}, 0);
    return encoding::UnpackRows(type, layout, *rows);
  }

  arrow::Result<std::shared_ptr<arrow::ArrayData>> DecodeBinary(
      const pb::Binary& b, const std::shared_ptr<arrow::DataType>& type, int64_t n, int depth) {
    const bool large =
        type->id() == arrow::Type::LARGE_STRING || type->id() == arrow::Type::LARGE_BINARY;
    if (!large && type->id() != arrow::Type::STRING && type->id() != arrow::Type::BINARY) {
      return Corrupt("binary page for a column of type " + type->ToString());
    }
    ARROW_ASSIGN_OR_RAISE(auto idx, Decode(b.indices(), arrow::uint64(), n, depth + 1));
    ARROW_ASSIGN_OR_RAISE(auto bytes, FlatBuffer(b.bytes(), 8, 0));
    if (bytes->data() == nullptr) {
      // An all-null or all-empty page stores no bytes; Arrow wants a buffer.
      ARROW_ASSIGN_OR_RAISE(bytes, arrow::AllocateBuffer(0));
    }
    const auto* ends = idx->GetValues<uint64_t>(1);
    const uint64_t adjust = b.null_adjustment();
    const auto total = static_cast<uint64_t>(bytes->size());
    ARROW_ASSIGN_OR_RAISE(auto offsets, arrow::AllocateBuffer((n + 1) * (large ? 8 : 4)));
    std::shared_ptr<arrow::Buffer> validity;
    uint8_t* valid_bits = nullptr;
    uint64_t prev = 0;
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint64_t end = ends[i];
      const bool is_null = adjust > 0 && end >= adjust;
      if (is_null) {
        end -= adjust;
        if (!validity) {
          ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(n));
          valid_bits = validity->mutable_data();
          std::memset(valid_bits, 0xff, static_cast<size_t>(validity->size()));
        }
        arrow::bit_util::ClearBit(valid_bits, i);
        ++nulls;
      }
      if (end < prev || end > total) return Corrupt("binary offsets out of order or range");
      if (large) {
        reinterpret_cast<int64_t*>(offsets->mutable_data())[i] = static_cast<int64_t>(prev);
      } else {
        if (end > static_cast<uint64_t>(INT32_MAX)) {
          return Corrupt("binary page too large for 32-bit offsets");
        }
        reinterpret_cast<int32_t*>(offsets->mutable_data())[i] = static_cast<int32_t>(prev);
      }
      prev = end;
    }
    if (large) {
      reinterpret_cast<int64_t*>(offsets->mutable_data())[n] = static_cast<int64_t>(prev);
    } else {
      reinterpret_cast<int32_t*>(offsets->mutable_data())[n] = static_cast<int32_t>(prev);
    }
    auto out = arrow::ArrayData::Make(type, n, {validity, std::move(offsets), bytes}, nulls);
    if (type->id() == arrow::Type::STRING || type->id() == arrow::Type::LARGE_STRING) {
      ARROW_RETURN_NOT_OK(arrow::MakeArray(out)->ValidateFull());  // UTF-8
    }
    return out;
  }

  std::vector<std::shared_ptr<arrow::Buffer>> buffers_;
};

// Bytes per row when `e` stores values of `type` flat, uncompressed and
// without nulls (through no_nulls and fixed-size lists), else 0; `buffer`
// gets the page buffer holding them.
int64_t FlatRowBytes(const pb::ArrayEncoding& e, const arrow::DataType& type, uint32_t* buffer,
                     int depth) {
  if (depth > 16) return 0;
  switch (e.array_encoding_case()) {
    case pb::ArrayEncoding::kNullable:
      if (!e.nullable().has_no_nulls()) return 0;
      return FlatRowBytes(e.nullable().no_nulls().values(), type, buffer, depth + 1);
    case pb::ArrayEncoding::kFlat: {
      if (!arrow::is_fixed_width(type.id()) || type.id() == arrow::Type::FIXED_SIZE_LIST) return 0;
      const int64_t bits = static_cast<const arrow::FixedWidthType&>(type).bit_width();
      if (bits % 8 != 0 || static_cast<int64_t>(e.flat().bits_per_value()) != bits) return 0;
      if (e.flat().has_compression() && !e.flat().compression().scheme().empty()) return 0;
      if (e.flat().buffer().buffer_type() != pb::Buffer::page) return 0;
      *buffer = e.flat().buffer().buffer_index();
      return bits / 8;
    }
    case pb::ArrayEncoding::kFixedSizeList: {
      if (type.id() != arrow::Type::FIXED_SIZE_LIST) return 0;
      const auto& lt = static_cast<const arrow::FixedSizeListType&>(type);
      if (static_cast<int32_t>(e.fixed_size_list().dimension()) != lt.list_size()) return 0;
      return lt.list_size() *
             FlatRowBytes(e.fixed_size_list().items(), *lt.value_type(), buffer, depth + 1);
    }
    default: return 0;
  }
}

// An array of `n` values of fixed-width `type` (fixed-size lists nested)
// over `values`, without nulls.
std::shared_ptr<arrow::ArrayData> FixedWidthData(const std::shared_ptr<arrow::DataType>& type,
                                                 int64_t n, std::shared_ptr<arrow::Buffer> values) {
  if (type->id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& lt = static_cast<const arrow::FixedSizeListType&>(*type);
    return arrow::ArrayData::Make(
        type, n, {nullptr},
        {FixedWidthData(lt.value_type(), n * lt.list_size(), std::move(values))}, 0);
  }
  return arrow::ArrayData::Make(type, n, {nullptr, std::move(values)}, 0);
}

}  // namespace

struct LanceFileReader::Impl {
  std::shared_ptr<arrow::io::RandomAccessFile> file;
  int64_t size = 0;
  pb::FileDescriptor descriptor;
  std::vector<std::pair<uint64_t, uint64_t>> globals;          // offset, size
  std::vector<std::pair<uint64_t, uint64_t>> column_metadata;  // offset, size
  uint64_t data_end = 0;
  std::optional<encoding::PageChecksums>
      checksums;  // ailake's page checksums, if the file has them
  std::shared_ptr<arrow::Buffer> checksum_bytes;

  // Bytes [from, from + len) of buffer `b` of `page`, their checksum blocks
  // checked when the file has them (the read then covers whole blocks).
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadPageBuffer(const Page& page, size_t b,
                                                               uint64_t from, uint64_t len) const {
    const auto [off, size] = page.buffers[b];
    if (from > size || len > size - from) return Corrupt("page buffer range out of bounds");
    if (!checksums) return ReadRange(off + from, len, "page buffer");
    const uint64_t blk = page.block;
    const uint64_t a = from / blk * blk;
    const uint64_t e = std::min<uint64_t>(size, (from + len + blk - 1) / blk * blk);
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadRange(off + a, e - a, "page buffer"));
    ARROW_RETURN_NOT_OK(checksums->Verify(page.first_block[b] + a / blk, page.block,
                                          {bytes->data(), static_cast<size_t>(bytes->size())},
                                          "page buffer at file offset " + std::to_string(off)));
    return arrow::SliceBuffer(bytes, static_cast<int64_t>(from - a), static_cast<int64_t>(len));
  }
  uint16_t major = 0, minor = 0;
  bool v21 = false;  // file version 2.1 or 2.2: leaf columns with levels
  int64_t rows = 0;
  std::shared_ptr<arrow::Schema> schema;
  std::vector<Node> nodes;  // top-level fields
  std::vector<Column> columns;

  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(uint64_t offset, uint64_t length,
                                                          const char* what) const {
    if (offset > static_cast<uint64_t>(size) || length > static_cast<uint64_t>(size) - offset) {
      return Corrupt(std::string(what) + " at " + std::to_string(offset) + " (+" +
                     std::to_string(length) + ") lies outside the file (" + std::to_string(size) +
                     " bytes)");
    }
    // Large page buffers (vector columns, read at random by searches) get
    // huge-page memory (core/large_buffer.h); a short read is an IOError
    // naming the offset.
    return core::ReadLarge(file.get(), static_cast<int64_t>(offset), static_cast<int64_t>(length));
  }

  arrow::Result<std::shared_ptr<arrow::ArrayData>> DecodePage(const Node& node,
                                                              const Page& page) const {
    std::vector<std::shared_ptr<arrow::Buffer>> bufs;
    for (size_t i = 0; i < page.buffers.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto b, ReadPageBuffer(page, i, 0, page.buffers[i].second));
      bufs.push_back(std::move(b));
    }
    PageDecoder d(std::move(bufs));
    auto r = d.Decode(page.encoding, node.field->type(), page.rows);
    if (!r.ok()) {
      return r.status().WithMessage("column '", node.field->name(), "', page at row ", page.start,
                                    ": ", r.status().message());
    }
    if ((*r)->length != page.rows) return Corrupt("page decoded to the wrong length");
    return r;
  }

  // Rows [a, b) of a field, one chunk per page (no copy of the pages).
  arrow::Result<std::shared_ptr<arrow::ChunkedArray>> ReadNode(const Node& node, int64_t a,
                                                               int64_t b) const {
    if (v21) {
      ARROW_ASSIGN_OR_RAISE(auto arr, Assemble21(node, a, b, {}));
      return std::make_shared<arrow::ChunkedArray>(arrow::MakeArray(arr));
    }
    if (IsList(node)) return ReadList(node, a, b);
    if (node.field->type()->id() == arrow::Type::STRUCT && !node.packed) {
      // Children's pages need not line up: each child is made one array.
      arrow::ArrayVector children;
      for (const auto& c : node.children) {
        ARROW_ASSIGN_OR_RAISE(auto chunks, ReadNode(c, a, b));
        std::shared_ptr<arrow::Array> whole;
        if (chunks->num_chunks() == 1) {
          whole = chunks->chunk(0);
        } else {
          ARROW_ASSIGN_OR_RAISE(whole, arrow::Concatenate(chunks->chunks()));
        }
        children.push_back(std::move(whole));
      }
      ARROW_ASSIGN_OR_RAISE(auto s,
                            arrow::StructArray::Make(children, node.field->type()->fields()));
      return std::make_shared<arrow::ChunkedArray>(s);
    }
    const Column& col = columns[static_cast<size_t>(node.column)];
    arrow::ArrayVector parts;
    for (const auto& p : col.pages) {
      if (p.start + p.rows <= a || p.start >= b) continue;
      ARROW_ASSIGN_OR_RAISE(auto data, DecodePage(node, p));
      const int64_t lo = std::max(a, p.start) - p.start;
      const int64_t hi = std::min(b, p.start + p.rows) - p.start;
      parts.push_back(arrow::MakeArray(data)->Slice(lo, hi - lo));
    }
    if (parts.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(node.field->type()));
      parts.push_back(std::move(empty));
    }
    return std::make_shared<arrow::ChunkedArray>(std::move(parts), node.field->type());
  }

  // ---- file versions 2.1 and 2.2: leaf columns carrying their levels ----

  struct LeafState {
    std::vector<l21::Level> levels;  // outermost first
    arrow::ArrayDataVector values;   // visible items, page by page
  };

  l21::PageIn PageInOf(const Page& p) const {
    l21::PageIn in;
    in.layout = p.layout.get();
    for (const auto& b : p.buffers) in.buffer_sizes.push_back(b.second);
    in.rows = p.rows;
    in.minor = minor;
    in.read = [this, &p](size_t b, uint64_t from, uint64_t len) {
      if (b >= p.buffers.size())
        return arrow::Result<std::shared_ptr<arrow::Buffer>>(Corrupt("page buffer index"));
      return ReadPageBuffer(p, b, from, len);
    };
    return in;
  }

  static void Leaves(const Node& node, std::vector<const Node*>* out, std::vector<int>* depth,
                     int d) {
    if (node.column >= 0) {
      out->push_back(&node);
      depth->push_back(d);
      return;
    }
    for (const auto& c : node.children) Leaves(c, out, depth, d + 1);
  }

  // The levels and values of rows [a, b) (sorted empty) or rows `sorted`
  // of a leaf column at `depth` (its number of enclosing structs and lists).
  arrow::Result<LeafState> CollectLeaf21(const Node& leaf, int depth, int64_t a, int64_t b,
                                         const std::vector<int64_t>& sorted) const {
    const Column& col = columns[static_cast<size_t>(leaf.column)];
    LeafState st;
    st.levels.resize(static_cast<size_t>(depth) + 1);
    size_t i = 0;
    for (const auto& p : col.pages) {
      arrow::Result<l21::LeafItems> items;
      const l21::PageIn in = PageInOf(p);
      if (sorted.empty()) {
        if (p.start + p.rows <= a || p.start >= b) continue;
        items = l21::DecodeRows(in, leaf.field->type(), std::max(a, p.start) - p.start,
                                std::min(b, p.start + p.rows) - p.start);
      } else {
        if (i == sorted.size()) break;
        if (sorted[i] >= p.start + p.rows) continue;
        std::vector<int64_t> local;
        for (; i < sorted.size() && sorted[i] < p.start + p.rows; ++i)
          local.push_back(sorted[i] - p.start);
        items = l21::TakeRows(in, leaf.field->type(), local);
      }
      auto where = [&](const arrow::Status& s) {
        return s.WithMessage("column '", leaf.field->name(), "', page at row ", p.start, ": ",
                             s.message());
      };
      if (!items.ok()) return where(items.status());
      auto levels = l21::Unravel(*items, l21::LayersOf(*p.layout));
      if (!levels.ok()) return where(levels.status());
      if (levels->size() != st.levels.size()) {
        return where(Corrupt("page of " + std::to_string(levels->size()) +
                             " levels for a field nested " + std::to_string(depth + 1) + " deep"));
      }
      for (size_t d = 0; d < levels->size(); ++d) {
        l21::Level& to = st.levels[d];
        l21::Level& from = (*levels)[d];
        if (from.is_list != to.is_list && to.slots > 0)
          return where(Corrupt("pages disagree on lists"));
        to.is_list = from.is_list;
        if (from.is_list) {
          const int64_t base = to.offsets.empty() ? 0 : to.offsets.back();
          if (!to.offsets.empty()) to.offsets.pop_back();
          for (int64_t o : from.offsets) to.offsets.push_back(base + o);
        }
        // An empty validity means every slot valid.
        if (!from.valid.empty() || !to.valid.empty()) {
          if (to.valid.empty()) to.valid.assign(static_cast<size_t>(to.slots), 1);
          if (from.valid.empty()) {
            to.valid.insert(to.valid.end(), static_cast<size_t>(from.slots), 1);
          } else {
            to.valid.insert(to.valid.end(), from.valid.begin(), from.valid.end());
          }
        }
        to.slots += from.slots;
      }
      st.values.push_back(std::move(items->values[0]));
    }
    return st;
  }

  // The validity of a level's slots from bit `offset` on (the offset of the
  // array it is set on).
  static arrow::Result<std::shared_ptr<arrow::Buffer>> Bitmap(const l21::Level& lv, int64_t* nulls,
                                                              int64_t offset = 0) {
    *nulls = 0;
    if (lv.valid.empty()) return nullptr;  // every slot valid
    for (uint8_t v : lv.valid) *nulls += v ? 0 : 1;
    if (*nulls == 0) return nullptr;
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> b,
                          arrow::AllocateBitmap(offset + lv.slots));
    std::memset(b->mutable_data(), 0, static_cast<size_t>(b->size()));
    for (int64_t i = 0; i < lv.slots; ++i) {
      if (lv.valid[static_cast<size_t>(i)]) arrow::bit_util::SetBit(b->mutable_data(), offset + i);
    }
    return b;
  }

  arrow::Result<std::shared_ptr<arrow::ArrayData>> Build21(const Node& node, size_t depth,
                                                           std::vector<LeafState>& leaves,
                                                           size_t* next) const {
    if (*next >= leaves.size())
      return Corrupt("field '" + node.field->name() + "' without a leaf column");
    const l21::Level& lv = leaves[*next].levels[depth];
    int64_t nulls = 0;
    ARROW_ASSIGN_OR_RAISE(auto validity, Bitmap(lv, &nulls));
    const auto& type = node.field->type();
    if (node.column >= 0) {  // a leaf
      auto& st = leaves[(*next)++];
      std::shared_ptr<arrow::ArrayData> values;
      if (st.values.size() == 1) {
        values = st.values[0];
      } else if (st.values.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto e, arrow::MakeEmptyArray(type));
        values = e->data();
      } else {
        arrow::ArrayVector parts;
        for (auto& v : st.values) parts.push_back(arrow::MakeArray(v));
        ARROW_ASSIGN_OR_RAISE(auto whole, arrow::Concatenate(parts));
        values = whole->data();
      }
      if (lv.is_list || values->length != lv.slots) {
        return Corrupt("column '" + node.field->name() + "' has " + std::to_string(values->length) +
                       " values for " + std::to_string(lv.slots) + " slots");
      }
      if (values->offset != 0 && validity) {  // a slice: its validity from its offset
        ARROW_ASSIGN_OR_RAISE(validity, Bitmap(lv, &nulls, values->offset));
      }
      auto out = values->Copy();
      out->type = type;
      out->buffers[0] = std::move(validity);
      out->null_count = nulls;
      return out;
    }
    if (IsList(node)) {
      if (!lv.is_list)
        return Corrupt("list field '" + node.field->name() + "' without list levels");
      ARROW_ASSIGN_OR_RAISE(auto child, Build21(node.children[0], depth + 1, leaves, next));
      if (child->length != lv.offsets.back()) return Corrupt("list offsets and items disagree");
      const bool large = type->id() == arrow::Type::LARGE_LIST;
      const int64_t n = lv.slots;
      if (!large && lv.offsets.back() > INT32_MAX)
        return Corrupt("list items too many for 32-bit offsets");
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> off,
                            arrow::AllocateBuffer((n + 1) * (large ? 8 : 4)));
      for (int64_t i = 0; i <= n; ++i) {
        const int64_t v = lv.offsets[static_cast<size_t>(i)];
        if (large) {
          reinterpret_cast<int64_t*>(off->mutable_data())[i] = v;
        } else {
          reinterpret_cast<int32_t*>(off->mutable_data())[i] = static_cast<int32_t>(v);
        }
      }
      return arrow::ArrayData::Make(type, n, {std::move(validity), std::move(off)},
                                    {std::move(child)}, nulls);
    }
    // A struct.
    if (lv.is_list) return Corrupt("struct field '" + node.field->name() + "' with list levels");
    arrow::ArrayDataVector children;
    for (const auto& c : node.children) {
      ARROW_ASSIGN_OR_RAISE(auto child, Build21(c, depth + 1, leaves, next));
      if (child->length != lv.slots) return Corrupt("struct children of other lengths");
      children.push_back(std::move(child));
    }
    return arrow::ArrayData::Make(type, lv.slots, {std::move(validity)}, std::move(children),
                                  nulls);
  }

  // Rows [a, b) (sorted empty) or rows `sorted` of a top-level field.
  arrow::Result<std::shared_ptr<arrow::ArrayData>> Assemble21(
      const Node& node, int64_t a, int64_t b, const std::vector<int64_t>& sorted) const {
    std::vector<const Node*> leaves;
    std::vector<int> depths;
    Leaves(node, &leaves, &depths, 0);
    std::vector<LeafState> states;
    for (size_t i = 0; i < leaves.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto st, CollectLeaf21(*leaves[i], depths[i], a, b, sorted));
      states.push_back(std::move(st));
    }
    size_t next = 0;
    ARROW_ASSIGN_OR_RAISE(auto out, Build21(node, 0, states, &next));
    const int64_t want = sorted.empty() ? b - a : static_cast<int64_t>(sorted.size());
    if (out->length != want) {
      return Corrupt("field '" + node.field->name() + "' read " + std::to_string(out->length) +
                     " rows for " + std::to_string(want));
    }
    return out;
  }

  // Full-zip pages of fixed-width values without levels (vectors).
  arrow::Result<std::vector<LanceFixedWidthPage>> FlatPages21(const Node& node,
                                                              int64_t* row_bytes) const {
    std::vector<LanceFixedWidthPage> out;
    *row_bytes = 0;
    const auto& pages = columns[static_cast<size_t>(node.column)].pages;
    for (size_t i = 0; i < pages.size(); ++i) {
      const Page& p = pages[i];
      const l21::pb::FullZipLayout* z =
          p.layout->has_full_zip_layout() ? &p.layout->full_zip_layout() : nullptr;
      const l21::pb::CompressiveEncoding* v = z ? &z->value_compression() : nullptr;
      while (v && v->has_fixed_size_list() && !v->fixed_size_list().has_validity())
        v = &v->fixed_size_list().values();
      if (z == nullptr || z->bits_rep() != 0 || z->bits_def() != 0 ||
          z->details_case() != l21::pb::FullZipLayout::kBitsPerValue ||
          z->bits_per_value() % 8 != 0 || !v->has_flat() || v->flat().has_data() ||
          p.buffers[0].second != z->bits_per_value() / 8 * static_cast<uint64_t>(p.rows) ||
          (*row_bytes != 0 && *row_bytes != static_cast<int64_t>(z->bits_per_value() / 8))) {
        return arrow::Status::NotImplemented("column '", node.field->name(), "' page at row ",
                                             p.start,
                                             " is not full-zip fixed-width values without nulls");
      }
      *row_bytes = static_cast<int64_t>(z->bits_per_value() / 8);
      out.push_back({p.start, p.rows, p.buffers[0].first, static_cast<uint32_t>(i), 0});
    }
    return out;
  }

  static bool IsList(const Node& node) {
    const auto id = node.field->type()->id();
    return id == arrow::Type::LIST || id == arrow::Type::LARGE_LIST;
  }

  // Item ranges of the rows of a list offsets page (relative to the page's
  // first item) and their validity.
  struct ListRows {
    std::vector<int64_t> start, end;
    std::vector<bool> valid;
  };
  arrow::Result<ListRows> DecodeListPage(const Node& node, const Page& page) const {
    if (!page.encoding.has_list()) {
      return Corrupt("list column '" + node.field->name() + "' has a " +
                     EncodingName(page.encoding) + " page");
    }
    const auto& l = page.encoding.list();
    std::vector<std::shared_ptr<arrow::Buffer>> bufs;
    for (size_t i = 0; i < page.buffers.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto b, ReadPageBuffer(page, i, 0, page.buffers[i].second));
      bufs.push_back(std::move(b));
    }
    PageDecoder d(std::move(bufs));
    auto decoded = d.Decode(l.offsets(), arrow::uint64(), page.rows);
    if (!decoded.ok()) {
      return decoded.status().WithMessage("list column '", node.field->name(), "', page at row ",
                                          page.start, ": ", decoded.status().message());
    }
    const auto* raw = (*decoded)->GetValues<uint64_t>(1);
    const uint64_t adjust = l.null_offset_adjustment();
    const auto items = static_cast<uint64_t>(page.num_items);
    ListRows out;
    out.start.resize(static_cast<size_t>(page.rows));
    out.end.resize(static_cast<size_t>(page.rows));
    out.valid.resize(static_cast<size_t>(page.rows));
    uint64_t base = 0;
    for (int64_t i = 0; i < page.rows; ++i) {
      uint64_t e = raw[i];
      const bool valid = adjust == 0 || e < adjust;
      if (!valid) e -= adjust;
      if (e < base || e > items) {
        return Corrupt("list column '" + node.field->name() + "': offsets out of order or range");
      }
      out.start[static_cast<size_t>(i)] = static_cast<int64_t>(base);
      out.end[static_cast<size_t>(i)] = static_cast<int64_t>(e);
      out.valid[static_cast<size_t>(i)] = valid;
      base = e;
    }
    return out;
  }

  // A list array of `n` rows over `items` from per-row item counts and validity.
  static arrow::Result<std::shared_ptr<arrow::Array>> MakeList(
      const std::shared_ptr<arrow::DataType>& type, const std::vector<int64_t>& lengths,
      const std::vector<bool>& valid, const std::shared_ptr<arrow::Array>& items) {
    const auto n = static_cast<int64_t>(lengths.size());
    const bool large = type->id() == arrow::Type::LARGE_LIST;
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> offsets,
                          arrow::AllocateBuffer((n + 1) * (large ? 8 : 4)));
    std::shared_ptr<arrow::Buffer> validity;
    int64_t nulls = 0, at = 0;
    for (int64_t i = 0; i <= n; ++i) {
      if (!large && at > INT32_MAX) return Corrupt("list items too many for 32-bit offsets");
      if (large) {
        reinterpret_cast<int64_t*>(offsets->mutable_data())[i] = at;
      } else {
        reinterpret_cast<int32_t*>(offsets->mutable_data())[i] = static_cast<int32_t>(at);
      }
      if (i == n) break;
      at += lengths[static_cast<size_t>(i)];
      if (!valid[static_cast<size_t>(i)]) {
        if (!validity) {
          ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(n));
          std::memset(validity->mutable_data(), 0xff, static_cast<size_t>(validity->size()));
        }
        arrow::bit_util::ClearBit(validity->mutable_data(), i);
        ++nulls;
      }
    }
    if (at != items->length()) return Corrupt("list offsets and items disagree");
    return arrow::MakeArray(
        arrow::ArrayData::Make(type, n, {validity, std::move(offsets)}, {items->data()}, nulls));
  }

  arrow::Result<std::shared_ptr<arrow::ChunkedArray>> ReadList(const Node& node, int64_t a,
                                                               int64_t b) const {
    const Column& col = columns[static_cast<size_t>(node.column)];
    arrow::ArrayVector parts;
    for (const auto& p : col.pages) {
      if (p.start + p.rows <= a || p.start >= b) continue;
      ARROW_ASSIGN_OR_RAISE(ListRows r, DecodeListPage(node, p));
      const int64_t lo = std::max(a, p.start) - p.start;
      const int64_t hi = std::min(b, p.start + p.rows) - p.start;
      const int64_t first = r.start[static_cast<size_t>(lo)];
      const int64_t last = r.end[static_cast<size_t>(hi - 1)];
      ARROW_ASSIGN_OR_RAISE(auto chunks,
                            ReadNode(node.children[0], p.item_start + first, p.item_start + last));
      std::shared_ptr<arrow::Array> items;
      if (chunks->num_chunks() == 1) {
        items = chunks->chunk(0);
      } else {
        ARROW_ASSIGN_OR_RAISE(items, arrow::Concatenate(chunks->chunks()));
      }
      std::vector<int64_t> lengths;
      std::vector<bool> valid;
      for (int64_t i = lo; i < hi; ++i) {
        lengths.push_back(r.end[static_cast<size_t>(i)] - r.start[static_cast<size_t>(i)]);
        valid.push_back(r.valid[static_cast<size_t>(i)]);
      }
      ARROW_ASSIGN_OR_RAISE(auto arr, MakeList(node.field->type(), lengths, valid, items));
      parts.push_back(std::move(arr));
    }
    if (parts.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(node.field->type()));
      parts.push_back(std::move(empty));
    }
    return std::make_shared<arrow::ChunkedArray>(std::move(parts), node.field->type());
  }

  arrow::Result<std::shared_ptr<arrow::Array>> TakeList(const Node& node,
                                                        const std::vector<int64_t>& sorted) const {
    const Column& col = columns[static_cast<size_t>(node.column)];
    std::vector<int64_t> lengths, item_rows;
    std::vector<bool> valid;
    size_t i = 0;
    for (const auto& p : col.pages) {
      if (i == sorted.size()) break;
      if (sorted[i] >= p.start + p.rows) continue;
      ARROW_ASSIGN_OR_RAISE(ListRows r, DecodeListPage(node, p));
      for (; i < sorted.size() && sorted[i] < p.start + p.rows; ++i) {
        const auto k = static_cast<size_t>(sorted[i] - p.start);
        lengths.push_back(r.end[k] - r.start[k]);
        valid.push_back(r.valid[k]);
        for (int64_t item = r.start[k]; item < r.end[k]; ++item) {
          item_rows.push_back(p.item_start + item);
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto items, TakeNode(node.children[0], item_rows));
    return MakeList(node.field->type(), lengths, valid, items);
  }

  // Rows `sorted` (ascending, unique) of a field.
  arrow::Result<std::shared_ptr<arrow::Array>> TakeNode(const Node& node,
                                                        const std::vector<int64_t>& sorted) const {
    if (v21) {
      ARROW_ASSIGN_OR_RAISE(auto arr, Assemble21(node, 0, 0, sorted));
      return arrow::MakeArray(arr);
    }
    if (IsList(node)) return TakeList(node, sorted);
    if (node.field->type()->id() == arrow::Type::STRUCT && !node.packed) {
      arrow::ArrayVector children;
      for (const auto& c : node.children) {
        ARROW_ASSIGN_OR_RAISE(auto arr, TakeNode(c, sorted));
        children.push_back(std::move(arr));
      }
      return arrow::StructArray::Make(children, node.field->type()->fields());
    }
    int64_t row_bytes = 0;
    auto flat = FlatPages(node, &row_bytes);
    if (flat.ok()) return TakeFixedWidth(node, *flat, row_bytes, sorted);
    const Column& col = columns[static_cast<size_t>(node.column)];
    arrow::ArrayVector parts;
    size_t i = 0;
    for (const auto& p : col.pages) {
      if (i == sorted.size()) break;
      if (sorted[i] >= p.start + p.rows) continue;
      size_t j = i;
      while (j < sorted.size() && sorted[j] < p.start + p.rows) ++j;
      // Strings and binaries: only the rows' offsets and bytes are read.
      auto binary = TakeBinary(node, p, {sorted.data() + i, j - i});
      if (binary.ok()) {
        parts.push_back(std::move(*binary));
        i = j;
        continue;
      }
      if (!binary.status().IsNotImplemented()) return binary.status();
      // Only pages holding a requested row are read.
      ARROW_ASSIGN_OR_RAISE(auto data, DecodePage(node, p));
      auto arr = arrow::MakeArray(data);
      arrow::Int64Builder idx;
      while (i < sorted.size() && sorted[i] < p.start + p.rows) {
        ARROW_RETURN_NOT_OK(idx.Append(sorted[i] - p.start));
        ++i;
      }
      std::shared_ptr<arrow::Array> ia;
      ARROW_RETURN_NOT_OK(idx.Finish(&ia));
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arr, ia));
      parts.push_back(taken.make_array());
    }
    if (parts.empty()) return arrow::MakeEmptyArray(node.field->type());
    if (parts.size() == 1) return parts[0];
    return arrow::Concatenate(parts);
  }

  // Rows `rows` (ascending, unique, inside the page) of a binary page: the
  // u64 end offsets around each row, then its bytes, rows less than 4 KiB
  // apart read in one request. NotImplemented for other encodings.
  arrow::Result<std::shared_ptr<arrow::Array>> TakeBinary(const Node& node, const Page& p,
                                                          std::span<const int64_t> rows) const {
    constexpr int64_t kCoalesce = 4096;
    const auto& type = node.field->type();
    const bool large =
        type->id() == arrow::Type::LARGE_STRING || type->id() == arrow::Type::LARGE_BINARY;
    if (p.encoding.array_encoding_case() != pb::ArrayEncoding::kBinary ||
        (!large && type->id() != arrow::Type::STRING && type->id() != arrow::Type::BINARY)) {
      return arrow::Status::NotImplemented("not a binary page");
    }
    const auto& bin = p.encoding.binary();
    const pb::ArrayEncoding* idx = &bin.indices();
    if (idx->has_nullable() && idx->nullable().has_no_nulls()) {
      idx = &idx->nullable().no_nulls().values();
    }
    if (!idx->has_flat() || idx->flat().bits_per_value() != 64 || !bin.bytes().has_flat() ||
        bin.bytes().flat().bits_per_value() != 8 ||
        (idx->flat().has_compression() && !idx->flat().compression().scheme().empty()) ||
        (bin.bytes().flat().has_compression() &&
         !bin.bytes().flat().compression().scheme().empty())) {
      return arrow::Status::NotImplemented("binary page of another layout");
    }
    const uint32_t ib = idx->flat().buffer().buffer_index();
    const uint32_t bb = bin.bytes().flat().buffer().buffer_index();
    if (ib >= p.buffers.size() || bb >= p.buffers.size() ||
        p.buffers[ib].second < static_cast<uint64_t>(p.rows) * 8) {
      return Corrupt("binary page names buffers it does not have");
    }
    const uint64_t total = p.buffers[bb].second;
    const uint64_t adjust = bin.null_adjustment();
    const auto n = static_cast<int64_t>(rows.size());
    std::vector<uint64_t> starts(rows.size()), ends(rows.size());
    std::shared_ptr<arrow::Buffer> validity;
    int64_t nulls = 0;
    // End offsets: row r needs entries r - 1 and r.
    for (size_t a = 0; a < rows.size();) {
      size_t b = a + 1;
      while (b < rows.size() && (rows[b] - rows[b - 1]) * 8 <= kCoalesce) ++b;
      const int64_t lo = std::max<int64_t>(0, rows[a] - p.start - 1), hi = rows[b - 1] - p.start;
      ARROW_ASSIGN_OR_RAISE(auto ix, ReadPageBuffer(p, ib, static_cast<uint64_t>(lo) * 8,
                                                    static_cast<uint64_t>(hi - lo + 1) * 8));
      for (size_t k = a; k < b; ++k) {
        const int64_t r = rows[k] - p.start;
        uint64_t end, prev = 0;
        std::memcpy(&end, ix->data() + (r - lo) * 8, 8);
        if (r > 0) std::memcpy(&prev, ix->data() + (r - 1 - lo) * 8, 8);
        if (adjust > 0 && prev >= adjust) prev -= adjust;
        if (adjust > 0 && end >= adjust) {
          end -= adjust;
          if (!validity) {
            ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(n));
            std::memset(validity->mutable_data(), 0xff, static_cast<size_t>(validity->size()));
          }
          arrow::bit_util::ClearBit(validity->mutable_data(), static_cast<int64_t>(k));
          ++nulls;
          prev = end;  // a null row holds no bytes
        }
        if (prev > end || end > total) return Corrupt("binary offsets out of order or range");
        starts[k] = prev;
        ends[k] = end;
      }
      a = b;
    }
    uint64_t out_bytes = 0;
    for (size_t k = 0; k < rows.size(); ++k) out_bytes += ends[k] - starts[k];
    if (!large && out_bytes > static_cast<uint64_t>(INT32_MAX)) {
      return Corrupt("binary rows too large for 32-bit offsets");
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> data,
                          arrow::AllocateBuffer(static_cast<int64_t>(out_bytes)));
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> offsets,
                          arrow::AllocateBuffer((n + 1) * (large ? 8 : 4)));
    uint64_t written = 0;
    auto put_offset = [&](int64_t k, uint64_t v) {
      if (large) {
        reinterpret_cast<int64_t*>(offsets->mutable_data())[k] = static_cast<int64_t>(v);
      } else {
        reinterpret_cast<int32_t*>(offsets->mutable_data())[k] = static_cast<int32_t>(v);
      }
    };
    for (size_t a = 0; a < rows.size();) {
      size_t b = a + 1;
      while (b < rows.size() && starts[b] >= ends[b - 1] &&
             starts[b] - ends[b - 1] <= static_cast<uint64_t>(kCoalesce)) {
        ++b;
      }
      const uint64_t lo = starts[a], hi = std::max(lo, ends[b - 1]);
      std::shared_ptr<arrow::Buffer> piece;
      if (hi > lo) {
        ARROW_ASSIGN_OR_RAISE(piece, ReadPageBuffer(p, bb, lo, hi - lo));
      }
      for (size_t k = a; k < b; ++k) {
        put_offset(static_cast<int64_t>(k), written);
        const uint64_t len = ends[k] - starts[k];
        if (len > 0) {
          std::memcpy(data->mutable_data() + written, piece->data() + (starts[k] - lo), len);
        }
        written += len;
      }
      a = b;
    }
    put_offset(n, written);
    auto out = arrow::MakeArray(
        arrow::ArrayData::Make(type, n, {validity, std::move(offsets), std::move(data)}, nulls));
    if (type->id() == arrow::Type::STRING || type->id() == arrow::Type::LARGE_STRING) {
      ARROW_RETURN_NOT_OK(out->ValidateFull());  // UTF-8
    }
    return out;
  }

  // The pages of a leaf whose values are all flat, fixed-width, without
  // nulls (LanceFileReader::FixedWidthPages).
  arrow::Result<std::vector<LanceFixedWidthPage>> FlatPages(const Node& node,
                                                            int64_t* row_bytes) const {
    if (node.column < 0 || node.field->type()->id() == arrow::Type::STRUCT) {
      return arrow::Status::NotImplemented("column '", node.field->name(), "' is a struct");
    }
    if (v21) return FlatPages21(node, row_bytes);
    const auto id = node.field->type()->id();
    if ((!arrow::is_fixed_width(id) && id != arrow::Type::FIXED_SIZE_LIST) ||
        id == arrow::Type::BOOL) {
      return arrow::Status::NotImplemented("column '", node.field->name(), "' is not fixed-width");
    }
    std::vector<LanceFixedWidthPage> out;
    *row_bytes = 0;
    for (const auto& p : columns[static_cast<size_t>(node.column)].pages) {
      uint32_t buffer = 0;
      const int64_t rb = FlatRowBytes(p.encoding, *node.field->type(), &buffer, 0);
      if (rb == 0 || (*row_bytes != 0 && rb != *row_bytes) || buffer >= p.buffers.size() ||
          p.buffers[buffer].second < static_cast<uint64_t>(rb * p.rows)) {
        return arrow::Status::NotImplemented("column '", node.field->name(), "' page at row ",
                                             p.start, " is ", EncodingName(p.encoding),
                                             ", not flat fixed-width values without nulls");
      }
      *row_bytes = rb;
      out.push_back(
          {p.start, p.rows, p.buffers[buffer].first,
           static_cast<uint32_t>(&p - columns[static_cast<size_t>(node.column)].pages.data()),
           buffer});
    }
    return out;
  }

  // Rows `sorted` of a flat fixed-width leaf: only their bytes are read, rows
  // less than 4 KiB apart in one request.
  arrow::Result<std::shared_ptr<arrow::Array>> TakeFixedWidth(
      const Node& node, const std::vector<LanceFixedWidthPage>& pages, int64_t row_bytes,
      const std::vector<int64_t>& sorted) const {
    constexpr int64_t kCoalesceBytes = 4096;
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> out,
                          arrow::AllocateBuffer(static_cast<int64_t>(sorted.size()) * row_bytes));
    uint8_t* dst = out->mutable_data();
    size_t i = 0;
    for (const auto& p : pages) {
      while (i < sorted.size() && sorted[i] < p.first_row + p.num_rows) {
        size_t j = i + 1;
        while (j < sorted.size() && sorted[j] < p.first_row + p.num_rows &&
               (sorted[j] - sorted[j - 1]) * row_bytes <= kCoalesceBytes) {
          ++j;
        }
        const int64_t first = sorted[i] - p.first_row, last = sorted[j - 1] - p.first_row;
        const Page& page = columns[static_cast<size_t>(node.column)].pages[p.page_index];
        ARROW_ASSIGN_OR_RAISE(
            auto bytes,
            ReadPageBuffer(page, p.buffer_index, static_cast<uint64_t>(first * row_bytes),
                           static_cast<uint64_t>((last - first + 1) * row_bytes)));
        for (size_t k = i; k < j; ++k) {
          std::memcpy(dst, bytes->data() + (sorted[k] - p.first_row - first) * row_bytes,
                      static_cast<size_t>(row_bytes));
          dst += row_bytes;
        }
        i = j;
      }
    }
    return arrow::MakeArray(
        FixedWidthData(node.field->type(), static_cast<int64_t>(sorted.size()), std::move(out)));
  }

  arrow::Result<std::vector<const Node*>> Project(const std::vector<std::string>& names) const {
    std::vector<const Node*> out;
    if (names.empty()) {
      for (const auto& n : nodes) out.push_back(&n);
      return out;
    }
    for (const auto& name : names) {
      const Node* found = nullptr;
      for (const auto& n : nodes) {
        if (n.field->name() == name) found = &n;
      }
      if (found == nullptr)
        return arrow::Status::KeyError("the Lance file has no column '", name, "'");
      out.push_back(found);
    }
    return out;
  }

  static std::shared_ptr<arrow::Schema> SchemaOf(const std::vector<const Node*>& nodes,
                                                 const std::shared_ptr<arrow::Schema>& full) {
    arrow::FieldVector f;
    for (const Node* n : nodes) f.push_back(n->field);
    return arrow::schema(f, full->metadata());
  }
};

namespace {

// A schema field whose metadata asks for a packed struct (packed_struct.h).
bool IsPackedMetadata(const pb::Field& f) {
  for (const char* key : {"packed", "lance-encoding:packed"}) {
    auto it = f.metadata().find(key);
    if (it == f.metadata().end()) continue;
    std::string v = it->second;
    for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v == "true") return true;
  }
  return false;
}

// The field tree of a descriptor: fields in pre-order with parent ids.
arrow::Result<Node> BuildNode(const pb::FileDescriptor& fd, int index, int* next_column, int depth,
                              bool v21) {
  if (depth > 64) return Corrupt("schema nested too deeply");
  const auto& f = fd.schema().fields(index);
  Node node;
  std::shared_ptr<arrow::DataType> type;
  const std::string& lt = f.logical_type();
  const bool is_list = lt == "list" || lt == "list.struct";
  const bool is_large_list = lt == "large_list" || lt == "large_list.struct";
  if (is_list || is_large_list) {
    // 2.0: the list's offsets column; 2.1: the leaves carry the list.
    if (!v21) node.column = (*next_column)++;
    for (int i = index + 1; i < fd.schema().fields_size() && node.children.empty(); ++i) {
      if (fd.schema().fields(i).parent_id() != f.id()) continue;
      ARROW_ASSIGN_OR_RAISE(Node child, BuildNode(fd, i, next_column, depth + 1, v21));
      node.children.push_back(std::move(child));
    }
    if (node.children.empty()) return Corrupt("list field '" + f.name() + "' has no item field");
    const auto& item = node.children[0].field;
    type = is_list ? arrow::list(item) : arrow::large_list(item);
  } else if (f.logical_type() == "struct") {
    arrow::FieldVector children;
    node.packed = IsPackedMetadata(f);
    if (!v21 || node.packed) node.column = (*next_column)++;
    int no_columns = 0;  // a packed struct's children have none
    for (int i = index + 1; i < fd.schema().fields_size(); ++i) {
      if (fd.schema().fields(i).parent_id() != f.id()) continue;
      ARROW_ASSIGN_OR_RAISE(
          Node child, BuildNode(fd, i, node.packed ? &no_columns : next_column, depth + 1, v21));
      if (node.packed) child.column = -1;
      children.push_back(child.field);
      node.children.push_back(std::move(child));
    }
    if (v21 && children.empty())
      return arrow::Status::NotImplemented("Lance 2.1 struct '", f.name(), "' without fields");
    type = arrow::struct_(children);
  } else {
    ARROW_ASSIGN_OR_RAISE(type, TypeOf(f.logical_type()));
    node.column = (*next_column)++;
  }
  std::shared_ptr<const arrow::KeyValueMetadata> md;
  if (!f.metadata().empty()) {
    std::vector<std::string> keys, values;
    for (const auto& [k, v] : f.metadata()) {
      keys.push_back(k);
      values.push_back(v);
    }
    md = arrow::key_value_metadata(keys, values);
  }
  node.field = arrow::field(f.name(), type, f.nullable(), md);
  return node;
}

}  // namespace

namespace {

arrow::Status CheckRows(const std::vector<Column>& columns, const Node& node, int64_t expected,
                        bool v21) {
  if (v21) {  // every leaf column holds the file's rows
    if (node.column < 0) {
      for (const auto& c : node.children)
        ARROW_RETURN_NOT_OK(CheckRows(columns, c, expected, true));
      return arrow::Status::OK();
    }
    const Column& col = columns[static_cast<size_t>(node.column)];
    if (col.rows != expected) {
      return Corrupt("column " + std::to_string(node.column) + " ('" + node.field->name() +
                     "') pages hold " + std::to_string(col.rows) + " rows, the file " +
                     std::to_string(expected));
    }
    return arrow::Status::OK();
  }
  const Column& col = columns[static_cast<size_t>(node.column)];
  if (col.rows != expected) {
    return Corrupt("column " + std::to_string(node.column) + " ('" + node.field->name() +
                   "') pages hold " + std::to_string(col.rows) + " rows, its level " +
                   std::to_string(expected));
  }
  const auto id = node.field->type()->id();
  if (id == arrow::Type::LIST || id == arrow::Type::LARGE_LIST) {
    int64_t items = 0;
    for (const auto& p : col.pages) {
      if (!p.encoding.has_list()) {
        return Corrupt("list column '" + node.field->name() + "' has a " +
                       EncodingName(p.encoding) + " page");
      }
      items += p.num_items;
    }
    return CheckRows(columns, node.children[0], items, false);
  }
  if (node.packed) return arrow::Status::OK();
  for (const auto& c : node.children) ARROW_RETURN_NOT_OK(CheckRows(columns, c, expected, false));
  return arrow::Status::OK();
}

}  // namespace

LanceFileReader::LanceFileReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LanceFileReader::~LanceFileReader() = default;

arrow::Result<std::unique_ptr<LanceFileReader>> LanceFileReader::Open(
    std::shared_ptr<arrow::io::RandomAccessFile> file) {
  auto impl = std::make_unique<Impl>();
  impl->file = std::move(file);
  ARROW_ASSIGN_OR_RAISE(impl->size, impl->file->GetSize());
  if (impl->size < kFooterBytes) return Corrupt("shorter than its 40-byte footer");
  ARROW_ASSIGN_OR_RAISE(
      auto footer,
      impl->ReadRange(static_cast<uint64_t>(impl->size - kFooterBytes), kFooterBytes, "footer"));
  const uint8_t* f = footer->data();
  if (std::memcmp(f + 36, "LANC", 4) != 0) return Corrupt("no LANC magic at its end");
  const auto cmo = Load<uint64_t>(f + 8), gbo = Load<uint64_t>(f + 16);
  const auto num_global = Load<uint32_t>(f + 24), num_columns = Load<uint32_t>(f + 28);
  impl->major = Load<uint16_t>(f + 32);
  impl->minor = Load<uint16_t>(f + 34);
  const bool v20 = (impl->major == 0 && impl->minor == 3) || (impl->major == 2 && impl->minor == 0);
  impl->v21 = impl->major == 2 && (impl->minor == 1 || impl->minor == 2);
  if (!v20 && !impl->v21) {
    return arrow::Status::NotImplemented("Lance file version ", impl->major, ".", impl->minor,
                                         ": ailake reads versions 2.0 (footer 0.3), 2.1 and 2.2");
  }
  if (num_columns > kMaxColumns || num_global == 0 || num_global > kMaxColumns) {
    return Corrupt("footer names " + std::to_string(num_columns) + " columns and " +
                   std::to_string(num_global) + " global buffers");
  }
  ARROW_ASSIGN_OR_RAISE(
      auto gb_table, impl->ReadRange(gbo, uint64_t{16} * num_global, "global buffer offset table"));
  for (uint32_t g = 0; g < num_global; ++g) {
    const auto off = Load<uint64_t>(gb_table->data() + 16 * g),
               len = Load<uint64_t>(gb_table->data() + 16 * g + 8);
    if (off > static_cast<uint64_t>(impl->size) || len > static_cast<uint64_t>(impl->size) - off) {
      return Corrupt("global buffer " + std::to_string(g) + " lies outside the file");
    }
    impl->globals.emplace_back(off, len);
  }
  const auto g0 = impl->globals[0].first, g0_size = impl->globals[0].second;
  if (g0_size > kMaxMetadataBytes) return Corrupt("schema buffer too large");
  ARROW_ASSIGN_OR_RAISE(auto descriptor_bytes, impl->ReadRange(g0, g0_size, "schema buffer"));
  pb::FileDescriptor fd;
  if (!fd.ParseFromArray(descriptor_bytes->data(), static_cast<int>(descriptor_bytes->size()))) {
    return Corrupt("global buffer 0 is not a FileDescriptor");
  }
  if (fd.length() > static_cast<uint64_t>(INT64_MAX)) return Corrupt("row count out of range");
  impl->rows = static_cast<int64_t>(fd.length());
  // Fields: ids unique, a parent listed before its children.
  std::map<int32_t, int> seen;
  for (int i = 0; i < fd.schema().fields_size(); ++i) {
    const auto& fl = fd.schema().fields(i);
    if (!seen.emplace(fl.id(), i).second) return Corrupt("field id listed twice");
    if (fl.parent_id() != -1) {
      auto p = seen.find(fl.parent_id());
      const std::string parent =
          p == seen.end() ? std::string() : fd.schema().fields(p->second).logical_type();
      if (parent != "struct" && parent != "list" && parent != "large_list" &&
          parent != "list.struct" && parent != "large_list.struct") {
        return Corrupt("field '" + fl.name() + "' names no struct or list parent before it");
      }
    }
  }
  int next_column = 0;
  arrow::FieldVector fields;
  for (int i = 0; i < fd.schema().fields_size(); ++i) {
    if (fd.schema().fields(i).parent_id() != -1) continue;
    ARROW_ASSIGN_OR_RAISE(Node node, BuildNode(fd, i, &next_column, 0, impl->v21));
    fields.push_back(node.field);
    impl->nodes.push_back(std::move(node));
  }
  if (static_cast<uint32_t>(next_column) != num_columns) {
    return Corrupt("its schema maps to " + std::to_string(next_column) +
                   " columns, its footer to " + std::to_string(num_columns));
  }
  std::shared_ptr<const arrow::KeyValueMetadata> md;
  if (!fd.schema().metadata().empty()) {
    std::vector<std::string> keys, values;
    for (const auto& [k, v] : fd.schema().metadata()) {
      keys.push_back(k);
      values.push_back(v);
    }
    md = arrow::key_value_metadata(keys, values);
  }
  impl->schema = arrow::schema(fields, md);
  // Column metadata.
  ARROW_ASSIGN_OR_RAISE(auto cm_table, impl->ReadRange(cmo, uint64_t{16} * num_columns,
                                                       "column metadata offset table"));
  impl->columns.resize(num_columns);
  for (uint32_t c = 0; c < num_columns; ++c) {
    const auto pos = Load<uint64_t>(cm_table->data() + 16 * c);
    const auto len = Load<uint64_t>(cm_table->data() + 16 * c + 8);
    if (len > kMaxMetadataBytes) return Corrupt("column metadata too large");
    ARROW_ASSIGN_OR_RAISE(auto bytes, impl->ReadRange(pos, len, "column metadata"));
    impl->column_metadata.emplace_back(pos, len);
    pb::ColumnMetadata cm;
    if (!cm.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
      return Corrupt("column " + std::to_string(c) + " metadata does not parse");
    }
    int64_t start = 0;
    for (const auto& p : cm.pages()) {
      Page page;
      if (p.buffer_offsets_size() != p.buffer_sizes_size()) {
        return Corrupt("a page's buffer offsets and sizes differ in number");
      }
      for (int b = 0; b < p.buffer_offsets_size(); ++b) {
        const uint64_t off = p.buffer_offsets(b), len2 = p.buffer_sizes(b);
        if (off > static_cast<uint64_t>(impl->size) ||
            len2 > static_cast<uint64_t>(impl->size) - off) {
          return Corrupt("a page buffer lies outside the file");
        }
        page.buffers.emplace_back(off, len2);

        impl->data_end = std::max(impl->data_end, off + len2);
      }
      // A list's item column may hold more rows than the file (CheckRows
      // checks every column's total against its level).
      if (p.length() > (uint64_t{1} << 40) || start > (int64_t{1} << 50)) {
        return Corrupt("page of " + std::to_string(p.length()) + " rows");
      }
      page.rows = static_cast<int64_t>(p.length());
      page.start = start;
      start += page.rows;
      if (!p.encoding().has_direct()) {
        return arrow::Status::NotImplemented("Lance page encoding stored out of line");
      }
      pb::AnyValue any;
      if (!any.ParseFromString(p.encoding().direct().encoding())) return Corrupt("page encoding");
      if (impl->v21) {
        if (!any.type_url().ends_with("lance.encodings21.PageLayout")) {
          return arrow::Status::NotImplemented("Lance page encoding '", any.type_url(),
                                               "' in a version 2.", impl->minor, " file");
        }
        auto layout = std::make_shared<l21::pb::PageLayout>();
        if (!layout->ParseFromString(any.value())) return Corrupt("page PageLayout");
        page.layout = std::move(layout);
        impl->columns[c].pages.push_back(std::move(page));
        continue;
      }
      if (!any.type_url().ends_with("lance.encodings.ArrayEncoding")) {
        return arrow::Status::NotImplemented("Lance page encoding '", any.type_url(),
                                             "' in a version 2.0 file");
      }
      if (!page.encoding.ParseFromString(any.value())) return Corrupt("page ArrayEncoding");
      if (page.encoding.has_list()) {
        const uint64_t items = page.encoding.list().num_items();
        if (items > (uint64_t{1} << 40)) return Corrupt("list page of too many items");
        page.num_items = static_cast<int64_t>(items);
        page.item_start = impl->columns[c].pages.empty()
                              ? 0
                              : impl->columns[c].pages.back().item_start +
                                    impl->columns[c].pages.back().num_items;
      }
      impl->columns[c].pages.push_back(std::move(page));
    }
    for (int b = 0; b < cm.buffer_offsets_size() && b < cm.buffer_sizes_size(); ++b) {
      impl->data_end = std::max(impl->data_end, cm.buffer_offsets(b) + cm.buffer_sizes(b));
    }
    impl->columns[c].rows = start;
  }
  // Each column holds the rows of its level: the file's, a list's items.
  for (const auto& n : impl->nodes) {
    ARROW_RETURN_NOT_OK(CheckRows(impl->columns, n, impl->rows, impl->v21));
  }
  if (impl->data_end > static_cast<uint64_t>(impl->size)) {
    return Corrupt("a column buffer lies outside the file");
  }
  // ailake's page checksums (a global buffer named by the schema metadata).
  if (auto it = fd.schema().metadata().find(std::string(encoding::kPageChecksumsKey));
      it != fd.schema().metadata().end()) {
    uint64_t at = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), at);
    const auto g = std::find_if(impl->globals.begin() + 1, impl->globals.end(),
                                [&](const auto& gb) { return gb.first == at; });
    if (ec != std::errc() || p != it->second.data() + it->second.size() ||
        g == impl->globals.end()) {
      return Corrupt("schema metadata " + std::string(encoding::kPageChecksumsKey) + " = '" +
                     it->second + "' names no global buffer");
    }
    if (g->second > kMaxMetadataBytes) return Corrupt("page checksum buffer too large");
    ARROW_ASSIGN_OR_RAISE(impl->checksum_bytes,
                          impl->ReadRange(g->first, g->second, "page checksums"));
    ARROW_ASSIGN_OR_RAISE(auto sums, encoding::PageChecksums::Parse(
                                         {impl->checksum_bytes->data(),
                                          static_cast<size_t>(impl->checksum_bytes->size())}));
    if (sums.num_columns() != impl->columns.size()) {
      return Corrupt("page checksum buffer names " + std::to_string(sums.num_columns()) +
                     " columns, the file has " + std::to_string(impl->columns.size()));
    }
    // Each buffer's first block, columns in order, then pages, then buffers.
    uint64_t blocks = 0;
    for (uint32_t c = 0; c < sums.num_columns(); ++c) {
      const uint32_t blk = sums.block_bytes(c);
      for (auto& page : impl->columns[c].pages) {
        page.block = blk;
        for (const auto& [off, len] : page.buffers) {
          page.first_block.push_back(blocks);
          blocks += (len + blk - 1) / blk;
        }
      }
    }
    if (sums.num_blocks() != blocks) {
      return Corrupt("page checksum buffer holds " + std::to_string(sums.num_blocks()) +
                     " blocks; the pages need " + std::to_string(blocks));
    }
    impl->checksums = std::move(sums);
  }
  impl->descriptor = std::move(fd);
  return std::unique_ptr<LanceFileReader>(new LanceFileReader(std::move(impl)));
}

const std::vector<std::pair<uint64_t, uint64_t>>& LanceFileReader::global_buffers() const {
  return impl_->globals;
}
std::vector<int32_t> LanceFileReader::field_columns() const {
  std::vector<int32_t> out;
  for (const auto& n : impl_->nodes) out.push_back(n.column);
  return out;
}
uint64_t LanceFileReader::data_end() const { return impl_->data_end; }

arrow::Result<std::vector<LanceFixedWidthPage>> LanceFileReader::FixedWidthPages(
    const std::string& column, int32_t* row_bytes) const {
  ARROW_ASSIGN_OR_RAISE(auto nodes, impl_->Project({column}));
  int64_t rb = 0;
  ARROW_ASSIGN_OR_RAISE(auto pages, impl_->FlatPages(*nodes[0], &rb));
  *row_bytes = static_cast<int32_t>(rb);
  return pages;
}

bool LanceFileReader::has_page_checksums() const { return impl_->checksums.has_value(); }

arrow::Result<std::shared_ptr<arrow::Buffer>> LanceFileReader::ReadFixedWidthPage(
    const std::string& column, const LanceFixedWidthPage& page, int32_t row_bytes) const {
  ARROW_ASSIGN_OR_RAISE(auto nodes, impl_->Project({column}));
  const Node& node = *nodes[0];
  if (node.column < 0) return arrow::Status::Invalid("column '", column, "' has no leaf column");
  const auto& pages = impl_->columns[static_cast<size_t>(node.column)].pages;
  if (page.page_index >= pages.size() ||
      page.buffer_index >= pages[page.page_index].buffers.size()) {
    return arrow::Status::IndexError("column '", column, "' has no page ", page.page_index);
  }
  return impl_->ReadPageBuffer(pages[page.page_index], page.buffer_index, 0,
                               static_cast<uint64_t>(page.num_rows * row_bytes));
}

arrow::Status LanceFileReader::CopyWithGlobalBuffers(const std::vector<LanceGlobalBuffer>& given,
                                                     const std::vector<std::string>& drop_keys,
                                                     arrow::io::OutputStream* sink) const {
  const auto& s = *impl_;
  // The bytes every column points into, copied in pieces of 8 MiB.
  constexpr int64_t kPiece = int64_t{8} << 20;
  const auto end = static_cast<int64_t>(s.data_end);
  for (int64_t at = 0; at < end; at += kPiece) {
    ARROW_ASSIGN_OR_RAISE(auto piece,
                          s.ReadRange(static_cast<uint64_t>(at),
                                      static_cast<uint64_t>(std::min(kPiece, end - at)), "data"));
    ARROW_RETURN_NOT_OK(sink->Write(piece->data(), piece->size()));
  }
  pb::FileDescriptor fd = s.descriptor;
  for (const auto& k : drop_keys) fd.mutable_schema()->mutable_metadata()->erase(k);
  // The pages are unchanged: so are their checksums.
  std::vector<LanceGlobalBuffer> buffers = given;
  fd.mutable_schema()->mutable_metadata()->erase(std::string(encoding::kPageChecksumsKey));
  if (s.checksum_bytes) {
    buffers.push_back({s.checksum_bytes, std::string(encoding::kPageChecksumsKey)});
  }
  std::vector<std::string> metadata;
  for (const auto& [pos, len] : s.column_metadata) {
    ARROW_ASSIGN_OR_RAISE(auto bytes, s.ReadRange(pos, len, "column metadata"));
    metadata.emplace_back(reinterpret_cast<const char*>(bytes->data()),
                          static_cast<size_t>(bytes->size()));
  }
  return encoding::WriteLanceTail(sink, end, std::move(fd), buffers, metadata, s.major, s.minor);
}

const std::shared_ptr<arrow::Schema>& LanceFileReader::schema() const { return impl_->schema; }
int64_t LanceFileReader::num_rows() const { return impl_->rows; }
std::pair<uint16_t, uint16_t> LanceFileReader::version() const {
  return {impl_->major, impl_->minor};
}

arrow::Result<std::shared_ptr<arrow::Table>> LanceFileReader::Read(
    const std::vector<std::string>& columns, int64_t offset, int64_t length) const {
  const auto& s = *impl_;
  if (offset < 0 || offset > s.rows) {
    return arrow::Status::IndexError("row ", offset, " of a ", s.rows, "-row Lance file");
  }
  const int64_t end = length < 0 ? s.rows : std::min(s.rows, offset + length);
  ARROW_ASSIGN_OR_RAISE(auto nodes, s.Project(columns));
  arrow::ChunkedArrayVector arrays;
  for (const Node* n : nodes) {
    ARROW_ASSIGN_OR_RAISE(auto a, s.ReadNode(*n, offset, end));
    arrays.push_back(std::move(a));
  }
  return arrow::Table::Make(Impl::SchemaOf(nodes, s.schema), arrays, end - offset);
}

arrow::Result<std::shared_ptr<arrow::Table>> LanceFileReader::Take(
    std::span<const int64_t> rows, const std::vector<std::string>& columns) const {
  const auto& s = *impl_;
  std::vector<int64_t> sorted(rows.begin(), rows.end());
  for (int64_t r : sorted) {
    if (r < 0 || r >= s.rows)
      return arrow::Status::IndexError("row ", r, " of a ", s.rows, "-row Lance file");
  }
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  // Where each requested row sits among the sorted unique ones.
  arrow::Int64Builder order;
  ARROW_RETURN_NOT_OK(order.Reserve(static_cast<int64_t>(rows.size())));
  for (int64_t r : rows) {
    order.UnsafeAppend(std::lower_bound(sorted.begin(), sorted.end(), r) - sorted.begin());
  }
  std::shared_ptr<arrow::Array> order_array;
  ARROW_RETURN_NOT_OK(order.Finish(&order_array));
  ARROW_ASSIGN_OR_RAISE(auto nodes, s.Project(columns));
  arrow::ArrayVector arrays;
  for (const Node* n : nodes) {
    ARROW_ASSIGN_OR_RAISE(auto a, s.TakeNode(*n, sorted));
    ARROW_ASSIGN_OR_RAISE(auto in_order, arrow::compute::Take(a, order_array));
    arrays.push_back(in_order.make_array());
  }
  return arrow::Table::Make(Impl::SchemaOf(nodes, s.schema), arrays,
                            static_cast<int64_t>(rows.size()));
}

namespace {

class ScanReader : public arrow::RecordBatchReader {
 public:
  ScanReader(const LanceFileReader* file, std::vector<std::string> columns, int64_t batch_rows,
             std::shared_ptr<arrow::Schema> schema)
      : file_(file),
        columns_(std::move(columns)),
        batch_rows_(batch_rows),
        schema_(std::move(schema)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    if (next_ >= file_->num_rows()) {
      *batch = nullptr;
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(auto t, file_->Read(columns_, next_, batch_rows_));
    next_ += t->num_rows();
    ARROW_ASSIGN_OR_RAISE(*batch, t->CombineChunksToBatch());
    return arrow::Status::OK();
  }

 private:
  const LanceFileReader* file_;
  std::vector<std::string> columns_;
  int64_t batch_rows_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t next_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> LanceFileReader::Scan(
    int64_t batch_rows, const std::vector<std::string>& columns) const {
  if (batch_rows <= 0)
    return arrow::Status::Invalid("batch_rows must be positive, got ", batch_rows);
  ARROW_ASSIGN_OR_RAISE(auto nodes, impl_->Project(columns));
  return std::make_shared<ScanReader>(this, columns, batch_rows,
                                      Impl::SchemaOf(nodes, impl_->schema));
}

}  // namespace ailake
