// Writing Lance file versions 2.1 and 2.2 (docs/FORMAT.md 5.6): a field's
// leaves become columns, each page of a leaf carries the repetition and
// definition levels of every struct and list above it, and the values are
// compressed per page by what their statistics say is smallest.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include <arrow/array/concatenate.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/compression.h>

#include "ailake/encoding/field_encoder.h"
#include "ailake/encoding/lance21.h"
#include "ailake/encoding/lance21_codecs.h"
#include "ailake/encoding/lance_format.pb.h"
#include "ailake/encoding/packed_struct.h"

namespace ailake::encoding {
namespace {

namespace p21 = lance21;
using l21::Level;

constexpr std::string_view kPageLayoutUrl = "/lance.encodings21.PageLayout";
constexpr std::string_view kColumnEncodingUrl = "/lance.encodings.ColumnEncoding";
constexpr int64_t kChunkValueBytes = 4096;  // a mini-block chunk's values aim at this
constexpr int64_t kFullZipBytes = 256;      // values this large are zipped, one per row

std::string AnyOf(std::string_view url, const google::protobuf::MessageLite& m) {
  lance::AnyValue any;
  any.set_type_url(std::string(url));
  any.set_value(m.SerializeAsString());
  return any.SerializeAsString();
}

void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void Pad(std::string* out, size_t to, char with) {
  while (out->size() % to != 0) out->push_back(with);
}

std::shared_ptr<arrow::Buffer> ToBuffer(std::string s) {
  return arrow::Buffer::FromString(std::move(s));
}

// ---- the path from a top-level field to one leaf ----------------------------

enum class Kind { kStruct, kList, kLargeList, kLeaf };

struct PathNode {
  Kind kind = Kind::kLeaf;
  int child = 0;  // a struct: which field leads to the leaf
};

// Pre-order leaves of `type`, each as its path (fixed-size lists and other
// non-nested types are leaves).
// A packed struct is a leaf (its rows packed, packed_struct.h).
void LeafPaths(const arrow::Field& field, std::vector<PathNode> prefix,
               std::vector<std::vector<PathNode>>* out) {
  const auto& type = *field.type();
  const auto id = type.id();
  if (id == arrow::Type::STRUCT && !IsPackedStruct(field)) {
    for (int k = 0; k < type.num_fields(); ++k) {
      auto p = prefix;
      p.push_back({Kind::kStruct, k});
      LeafPaths(*type.field(k), std::move(p), out);
    }
    return;
  }
  if (id == arrow::Type::LIST || id == arrow::Type::LARGE_LIST) {
    prefix.push_back({id == arrow::Type::LIST ? Kind::kList : Kind::kLargeList, 0});
    LeafPaths(*type.field(0), std::move(prefix), out);
    return;
  }
  prefix.push_back({Kind::kLeaf, 0});
  out->push_back(std::move(prefix));
}

// ---- levels ------------------------------------------------------------------

// One level entry before its levels are numbered: where it stops.
struct Entry {
  uint16_t rep = 0;
  int16_t stop = -1;  // the path node it is null or empty at; -1: a value
  bool empty = false;
  int64_t slot = -1;  // a value: its index in the leaf array
};

struct Shredded {
  std::vector<Entry> entries;
  std::vector<uint8_t> null_at, empty_at;  // per path node: seen in this page
  std::shared_ptr<arrow::Array> leaf;      // the array the slots index
  int max_rep = 0;
};

class Shredder {
 public:
  Shredder(const std::vector<PathNode>& path, const std::shared_ptr<arrow::Array>& top)
      : path_(path) {
    arrays_.push_back(top);
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      const auto& a = arrays_.back();
      if (path[i].kind == Kind::kStruct) {
        arrays_.push_back(static_cast<const arrow::StructArray&>(*a).field(path[i].child));
      } else if (path[i].kind == Kind::kList) {
        arrays_.push_back(static_cast<const arrow::ListArray&>(*a).values());
      } else {
        arrays_.push_back(static_cast<const arrow::LargeListArray&>(*a).values());
      }
    }
    int r = 0;
    for (const auto& n : path) r += n.kind == Kind::kList || n.kind == Kind::kLargeList ? 1 : 0;
    out_.max_rep = r;
    out_.null_at.assign(path.size(), 0);
    out_.empty_at.assign(path.size(), 0);
    rep_no_.assign(path.size(), 0);
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i].kind == Kind::kList || path[i].kind == Kind::kLargeList) rep_no_[i] = r--;
    }
    out_.leaf = arrays_.back();
  }

  Shredded Run() && {
    const auto& top = *arrays_[0];
    if (path_.size() == 1 && top.null_count() == 0) {  // a plain column without nulls
      out_.entries.resize(static_cast<size_t>(top.length()));
      for (int64_t j = 0; j < top.length(); ++j) out_.entries[static_cast<size_t>(j)].slot = j;
      return std::move(out_);
    }
    out_.entries.reserve(static_cast<size_t>(top.length()));
    for (int64_t j = 0; j < top.length(); ++j) {
      Emit(0, j, static_cast<uint16_t>(out_.max_rep));
    }
    return std::move(out_);
  }

 private:
  void Emit(size_t i, int64_t j, uint16_t rep) {
    const arrow::Array& a = *arrays_[i];
    if (a.IsNull(j)) {
      out_.null_at[i] = 1;
      out_.entries.push_back({rep, static_cast<int16_t>(i), false, -1});
      return;
    }
    switch (path_[i].kind) {
      case Kind::kStruct: Emit(i + 1, j, rep); return;
      case Kind::kList:
      case Kind::kLargeList: {
        int64_t off, len;
        if (path_[i].kind == Kind::kList) {
          const auto& l = static_cast<const arrow::ListArray&>(a);
          off = l.value_offset(j);
          len = l.value_length(j);
        } else {
          const auto& l = static_cast<const arrow::LargeListArray&>(a);
          off = l.value_offset(j);
          len = l.value_length(j);
        }
        if (len == 0) {
          out_.empty_at[i] = 1;
          out_.entries.push_back({rep, static_cast<int16_t>(i), true, -1});
          return;
        }
        for (int64_t e = 0; e < len; ++e) {
          Emit(i + 1, off + e, e == 0 ? rep : static_cast<uint16_t>(rep_no_[i] - 1));
        }
        return;
      }
      case Kind::kLeaf: out_.entries.push_back({rep, -1, false, j}); return;
    }
  }

  const std::vector<PathNode>& path_;
  std::vector<std::shared_ptr<arrow::Array>> arrays_;
  std::vector<int> rep_no_;
  Shredded out_;
};

// The page's layers (innermost first), each entry's definition level, and
// which entries hold a value slot.
struct Levels {
  std::vector<p21::RepDefLayer> layers;
  std::vector<uint16_t> rep, def;  // empty: none
  std::vector<uint8_t> visible;
  int max_def = 0;
  int64_t num_visible = 0;
};

Levels NumberLevels(const std::vector<PathNode>& path, const Shredded& s) {
  const size_t n = path.size();
  Levels lv;
  std::vector<int> null_level(n, 0), empty_level(n, 0);
  int base = 0;
  int innermost_list = -1;
  for (size_t k = 0; k < n; ++k) {
    if (path[k].kind == Kind::kList || path[k].kind == Kind::kLargeList) {
      innermost_list = static_cast<int>(k);
    }
  }
  for (size_t q = 0; q < n; ++q) {  // innermost first
    const size_t i = n - 1 - q;
    const bool list = path[i].kind == Kind::kList || path[i].kind == Kind::kLargeList;
    const bool nul = s.null_at[i] != 0, emp = s.empty_at[i] != 0;
    if (!list) {
      lv.layers.push_back(nul ? p21::REPDEF_NULLABLE_ITEM : p21::REPDEF_ALL_VALID_ITEM);
      if (nul) null_level[i] = ++base;
    } else if (nul && emp) {
      lv.layers.push_back(p21::REPDEF_NULL_AND_EMPTY_LIST);
      null_level[i] = ++base;
      empty_level[i] = ++base;
    } else if (nul) {
      lv.layers.push_back(p21::REPDEF_NULLABLE_LIST);
      null_level[i] = ++base;
    } else if (emp) {
      lv.layers.push_back(p21::REPDEF_EMPTYABLE_LIST);
      empty_level[i] = ++base;
    } else {
      lv.layers.push_back(p21::REPDEF_ALL_VALID_LIST);
    }
  }
  lv.max_def = base;
  const size_t m = s.entries.size();
  lv.visible.resize(m);
  if (base > 0) lv.def.resize(m);
  if (s.max_rep > 0) lv.rep.resize(m);
  for (size_t e = 0; e < m; ++e) {
    const Entry& x = s.entries[e];
    const bool vis = x.stop < 0 || x.stop > innermost_list;
    lv.visible[e] = vis ? 1 : 0;
    lv.num_visible += vis ? 1 : 0;
    if (base > 0) {
      lv.def[e] = x.stop < 0
                      ? 0
                      : static_cast<uint16_t>(x.empty ? empty_level[static_cast<size_t>(x.stop)]
                                                      : null_level[static_cast<size_t>(x.stop)]);
    }
    if (s.max_rep > 0) lv.rep[e] = x.rep;
  }
  return lv;
}

// ---- the values of the visible entries ---------------------------------------

// The visible values, gathered: fixed-width bytes (null slots zero), a
// bitmap for booleans, or strings (null slots empty); item validity for
// fixed-size lists with null items.
struct Gathered {
  l21::ValueShape shape;
  int64_t n = 0;
  std::string fixed;                  // n * width bytes
  std::vector<uint8_t> bits;          // booleans, one byte each
  std::vector<std::string_view> var;  // strings
  std::vector<uint8_t> item_valid;    // n * items, empty when no item is null
  uint64_t var_bytes = 0, var_max = 0;
};

arrow::Result<Gathered> Gather(const Shredded& s, const Levels& lv, const l21::ValueShape& shape) {
  Gathered g;
  g.shape = shape;
  g.n = lv.num_visible;
  const arrow::Array& leaf = *s.leaf;
  if (shape.variable) {
    g.var.reserve(static_cast<size_t>(g.n));
    for (size_t e = 0; e < s.entries.size(); ++e) {
      if (!lv.visible[e]) continue;
      const int64_t slot = s.entries[e].slot;
      std::string_view v;
      if (slot >= 0) {
        v = shape.large ? static_cast<const arrow::LargeBinaryArray&>(leaf).GetView(slot)
                        : static_cast<const arrow::BinaryArray&>(leaf).GetView(slot);
      }
      g.var.push_back(v);
      g.var_bytes += v.size();
      g.var_max = std::max<uint64_t>(g.var_max, v.size());
    }
    return g;
  }
  if (shape.boolean) {
    const auto& b = static_cast<const arrow::BooleanArray&>(leaf);
    g.bits.reserve(static_cast<size_t>(g.n));
    for (size_t e = 0; e < s.entries.size(); ++e) {
      if (!lv.visible[e]) continue;
      const int64_t slot = s.entries[e].slot;
      g.bits.push_back(slot >= 0 && b.Value(slot) ? 1 : 0);
    }
    return g;
  }
  // Fixed width: the innermost array under any fixed-size lists, and where
  // value `slot` starts among its items.
  std::vector<const arrow::Array*> chain{&leaf};
  while (chain.back()->type_id() == arrow::Type::FIXED_SIZE_LIST) {
    chain.push_back(static_cast<const arrow::FixedSizeListArray&>(*chain.back()).values().get());
  }
  const arrow::Array& prim = *chain.back();
  const uint8_t* base = prim.data()->buffers[1] ? prim.data()->buffers[1]->data() : nullptr;
  const bool item_nulls = chain.size() > 1 && prim.null_count() > 0;
  g.fixed.resize(static_cast<size_t>(g.n * shape.width));
  if (item_nulls) g.item_valid.assign(static_cast<size_t>(g.n * shape.items), 1);
  int64_t out = 0;
  for (size_t e = 0; e < s.entries.size(); ++e) {
    if (!lv.visible[e]) continue;
    const int64_t slot = s.entries[e].slot;
    if (slot >= 0 && base != nullptr) {
      int64_t idx = slot;
      for (size_t c = 0; c + 1 < chain.size(); ++c) {
        idx = (chain[c]->offset() + idx) * shape.dims[c];
      }
      std::memcpy(g.fixed.data() + out * shape.width,
                  base + (prim.offset() + idx) * shape.item_width,
                  static_cast<size_t>(shape.width));
      if (item_nulls) {
        for (int64_t k = 0; k < shape.items; ++k) {
          g.item_valid[static_cast<size_t>(out * shape.items + k)] = prim.IsValid(idx + k) ? 1 : 0;
        }
      }
    }
    ++out;
  }
  return g;
}

// ---- level and value compression -----------------------------------------------

int BitsFor(uint64_t v) { return v == 0 ? 0 : 64 - std::countl_zero(v); }

// Packs n <= 1024 u16 values (zero-padded to 1024) into `packed` (128 * w bytes).
void FastLanesPackTo(const uint16_t* v, int64_t n, int w, uint16_t* block, std::string* packed) {
  std::memset(block, 0, 1024 * sizeof(uint16_t));
  std::memcpy(block, v, static_cast<size_t>(n) * sizeof(uint16_t));
  l21::FastLanesPack(reinterpret_cast<const uint8_t*>(block), 16, w,
                     reinterpret_cast<uint8_t*>(packed->data()));
}

// `n` u16 levels as out-of-line bit packing of width w: whole FastLanes
// blocks of 1024, a shorter tail raw when that is no larger.
std::string PackLevels(const uint16_t* v, int64_t n, int w) {
  std::string out;
  uint16_t block[1024];
  std::string packed(static_cast<size_t>(128 * w), '\0');
  int64_t at = 0;
  for (; at + 1024 <= n; at += 1024) {
    FastLanesPackTo(v + at, 1024, w, block, &packed);
    out += packed;
  }
  const int64_t tail = n - at;
  if (tail > 0) {
    if (tail <= 64 * w) {
      for (int64_t i = 0; i < tail; ++i) Put(&out, v[at + i], 2);
    } else {
      FastLanesPackTo(v + at, tail, w, block, &packed);
      out += packed;
    }
  }
  return out;
}

// A page's value compression: the encoding, its buffers per chunk, and how
// many values a chunk starting at value v may hold (a power of two).
class ValueCodec {
 public:
  virtual ~ValueCodec() = default;
  virtual p21::CompressiveEncoding Encoding() const = 0;
  virtual int64_t ChunkValues(int64_t v) const = 0;
  virtual std::vector<std::string> Chunk(int64_t v0, int64_t v1) const = 0;
};

int64_t FloorPow2(int64_t x) {
  return x <= 1 ? 1 : int64_t{1} << (63 - std::countl_zero(static_cast<uint64_t>(x)));
}

uint64_t LoadN(const char* p, int64_t bytes) {
  uint64_t v = 0;
  std::memcpy(&v, p, static_cast<size_t>(bytes));
  return v;
}

class FlatCodec : public ValueCodec {
 public:
  explicit FlatCodec(const Gathered& g) : g_(g) {}
  p21::CompressiveEncoding Encoding() const override {
    p21::CompressiveEncoding e;
    if (g_.shape.boolean) {
      e.mutable_flat()->set_bits_per_value(1);
      return e;
    }
    if (g_.shape.dims.empty()) {
      e.mutable_flat()->set_bits_per_value(static_cast<uint64_t>(g_.shape.width * 8));
      return e;
    }
    p21::CompressiveEncoding* at = &e;
    for (size_t d = 0; d < g_.shape.dims.size(); ++d) {
      auto* f = at->mutable_fixed_size_list();
      f->set_items_per_value(static_cast<uint64_t>(g_.shape.dims[d]));
      f->set_has_validity(d + 1 == g_.shape.dims.size() && !g_.item_valid.empty());
      at = f->mutable_values();
    }
    at->mutable_flat()->set_bits_per_value(static_cast<uint64_t>(g_.shape.item_width * 8));
    return e;
  }
  int64_t ChunkValues(int64_t) const override {
    if (g_.shape.boolean) return 4096;
    return std::max<int64_t>(2, FloorPow2(kChunkValueBytes / g_.shape.width));
  }
  std::vector<std::string> Chunk(int64_t v0, int64_t v1) const override {
    const int64_t n = v1 - v0;
    if (g_.shape.boolean) {
      std::string bm(static_cast<size_t>((n + 7) / 8), '\0');
      for (int64_t i = 0; i < n; ++i) {
        if (g_.bits[static_cast<size_t>(v0 + i)]) {
          arrow::bit_util::SetBit(reinterpret_cast<uint8_t*>(bm.data()), i);
        }
      }
      return {std::move(bm)};
    }
    std::vector<std::string> out;
    if (!g_.item_valid.empty()) {
      const int64_t m = n * g_.shape.items;
      std::string bm(static_cast<size_t>((m + 7) / 8), '\0');
      for (int64_t i = 0; i < m; ++i) {
        if (g_.item_valid[static_cast<size_t>(v0 * g_.shape.items + i)]) {
          arrow::bit_util::SetBit(reinterpret_cast<uint8_t*>(bm.data()), i);
        }
      }
      out.push_back(std::move(bm));
    }
    out.push_back(g_.fixed.substr(static_cast<size_t>(v0 * g_.shape.width),
                                  static_cast<size_t>(n * g_.shape.width)));
    return out;
  }

 private:
  const Gathered& g_;
};

// FastLanes bit packing of 1024-value blocks, each with its own width.
class BitpackCodec : public ValueCodec {
 public:
  explicit BitpackCodec(const Gathered& g) : g_(g), w_(g.shape.width) {}
  // Bytes it would take.
  static int64_t Cost(const Gathered& g) {
    const int64_t w = g.shape.width;
    int64_t bytes = 0;
    for (int64_t v0 = 0; v0 < g.n; v0 += 1024) {
      uint64_t all = 0;
      const int64_t v1 = std::min(g.n, v0 + 1024);
      for (int64_t i = v0; i < v1; ++i) all |= LoadN(g.fixed.data() + i * w, w);
      bytes += w + 128 * BitsFor(all);
    }
    return bytes;
  }
  p21::CompressiveEncoding Encoding() const override {
    p21::CompressiveEncoding e;
    e.mutable_inline_bitpacking()->set_uncompressed_bits_per_value(static_cast<uint64_t>(w_ * 8));
    return e;
  }
  int64_t ChunkValues(int64_t) const override { return 1024; }
  std::vector<std::string> Chunk(int64_t v0, int64_t v1) const override {
    alignas(8) uint8_t block[1024 * 8] = {};
    std::memcpy(block, g_.fixed.data() + v0 * w_, static_cast<size_t>((v1 - v0) * w_));
    uint64_t all = 0;
    for (int64_t i = 0; i < v1 - v0; ++i)
      all |= LoadN(reinterpret_cast<const char*>(block) + i * w_, w_);
    const int bits = BitsFor(all);
    std::string out;
    Put(&out, static_cast<uint64_t>(bits), static_cast<int>(w_));
    std::string packed(static_cast<size_t>(128 * bits), '\0');
    l21::FastLanesPack(block, static_cast<int>(w_ * 8), bits,
                       reinterpret_cast<uint8_t*>(packed.data()));
    out += packed;
    return {std::move(out)};
  }

 private:
  const Gathered& g_;
  int64_t w_;
};

// Runs of equal values: the run values and u8 run lengths.
class RleCodec : public ValueCodec {
 public:
  explicit RleCodec(const Gathered& g) : g_(g), w_(g.shape.width) {}
  static int64_t Cost(const Gathered& g) {
    const int64_t w = g.shape.width;
    int64_t runs = 0, len = 0;
    for (int64_t i = 0; i < g.n; ++i) {
      if (i > 0 && len < 255 && (i % 2048) != 0 &&
          std::memcmp(g.fixed.data() + i * w, g.fixed.data() + (i - 1) * w,
                      static_cast<size_t>(w)) == 0) {
        ++len;
      } else {
        ++runs;
        len = 1;
      }
    }
    return runs * (w + 1);
  }
  p21::CompressiveEncoding Encoding() const override {
    p21::CompressiveEncoding e;
    e.mutable_rle()->mutable_values()->mutable_flat()->set_bits_per_value(
        static_cast<uint64_t>(w_ * 8));
    e.mutable_rle()->mutable_run_lengths()->mutable_flat()->set_bits_per_value(8);
    return e;
  }
  int64_t ChunkValues(int64_t) const override { return 2048; }
  std::vector<std::string> Chunk(int64_t v0, int64_t v1) const override {
    std::string values, lengths;
    int64_t len = 0;
    for (int64_t i = v0; i < v1; ++i) {
      const char* p = g_.fixed.data() + i * w_;
      if (len > 0 && len < 255 && std::memcmp(p, p - w_, static_cast<size_t>(w_)) == 0) {
        ++len;
        lengths.back() = static_cast<char>(len);
      } else {
        values.append(p, static_cast<size_t>(w_));
        lengths.push_back(1);
        len = 1;
      }
    }
    return {std::move(values), std::move(lengths)};
  }

 private:
  const Gathered& g_;
  int64_t w_;
};

// Strings: (n + 1) u32 offsets from the buffer's start, the bytes, padded
// to 4 bytes; optionally each chunk's buffer compressed (general).
class VariableCodec : public ValueCodec {
 public:
  VariableCodec(const Gathered& g, std::optional<p21::CompressionScheme> general,
                std::optional<std::string> fsst = std::nullopt)
      : g_(g), general_(general), fsst_(std::move(fsst)) {}
  p21::CompressiveEncoding Encoding() const override {
    p21::CompressiveEncoding e;
    p21::CompressiveEncoding* v = &e;
    if (fsst_) {  // the strings are FSST-encoded already
      v->mutable_fsst()->set_symbol_table(*fsst_);
      v = v->mutable_fsst()->mutable_values();
    }
    if (general_) {
      v->mutable_general()->mutable_compression()->set_scheme(*general_);
      v = v->mutable_general()->mutable_values();
    }
    v->mutable_variable()->mutable_offsets()->mutable_flat()->set_bits_per_value(
        g_.shape.large ? 64 : 32);
    return e;
  }
  int64_t ChunkValues(int64_t v) const override {
    int64_t bytes = 0, count = 0;
    while (
        v + count < g_.n &&
        (count < 2 || bytes + static_cast<int64_t>(g_.var[static_cast<size_t>(v + count)].size()) <=
                          kChunkValueBytes)) {
      bytes += static_cast<int64_t>(g_.var[static_cast<size_t>(v + count)].size());
      ++count;
    }
    return FloorPow2(std::max<int64_t>(count, 2));
  }
  std::vector<std::string> Chunk(int64_t v0, int64_t v1) const override {
    // Large strings and binaries take 64-bit offsets, as their readers expect.
    const int w = g_.shape.large ? 8 : 4;
    std::string out;
    const int64_t n = v1 - v0;
    uint64_t at = static_cast<uint64_t>(w * (n + 1));
    for (int64_t i = v0; i <= v1; ++i) {
      Put(&out, at, w);
      if (i < v1) at += g_.var[static_cast<size_t>(i)].size();
    }
    for (int64_t i = v0; i < v1; ++i) out += g_.var[static_cast<size_t>(i)];
    Pad(&out, static_cast<size_t>(w), 'H');
    if (general_) return {Compress(out)};
    return {std::move(out)};
  }
  // LZ4 blocks carry a u32 uncompressed size, Zstandard frames a u64.
  std::string Compress(const std::string& raw) const {
    const bool lz4 = *general_ == p21::COMPRESSION_ALGORITHM_LZ4;
    auto codec = arrow::util::Codec::Create(
                     lz4 ? arrow::Compression::LZ4 : arrow::Compression::ZSTD,
                     lz4 || level_ == 0 ? arrow::util::kUseDefaultCompressionLevel : level_)
                     .ValueOrDie();
    std::string out;
    Put(&out, raw.size(), lz4 ? 4 : 8);
    const int64_t bound = codec->MaxCompressedLen(static_cast<int64_t>(raw.size()),
                                                  reinterpret_cast<const uint8_t*>(raw.data()));
    const size_t head = out.size();
    out.resize(head + static_cast<size_t>(bound));
    const int64_t got = codec
                            ->Compress(static_cast<int64_t>(raw.size()),
                                       reinterpret_cast<const uint8_t*>(raw.data()), bound,
                                       reinterpret_cast<uint8_t*>(out.data() + head))
                            .ValueOrDie();
    out.resize(head + static_cast<size_t>(got));
    return out;
  }

  void set_level(int level) { level_ = level; }

 private:
  const Gathered& g_;
  std::optional<p21::CompressionScheme> general_;
  std::optional<std::string> fsst_;
  int level_ = 0;
};

// Dictionary indices (u32), bit-packed in blocks of 1024.
class IndexCodec : public ValueCodec {
 public:
  explicit IndexCodec(std::vector<uint32_t> idx) : idx_(std::move(idx)) {}
  p21::CompressiveEncoding Encoding() const override {
    p21::CompressiveEncoding e;
    e.mutable_inline_bitpacking()->set_uncompressed_bits_per_value(32);
    return e;
  }
  int64_t ChunkValues(int64_t) const override { return 1024; }
  std::vector<std::string> Chunk(int64_t v0, int64_t v1) const override {
    uint32_t block[1024] = {};
    uint32_t all = 0;
    for (int64_t i = v0; i < v1; ++i) {
      block[i - v0] = idx_[static_cast<size_t>(i)];
      all |= block[i - v0];
    }
    const int bits = BitsFor(all);
    std::string out;
    Put(&out, static_cast<uint64_t>(bits), 4);
    std::string packed(static_cast<size_t>(128 * bits), '\0');
    l21::FastLanesPack(reinterpret_cast<const uint8_t*>(block), 32, bits,
                       reinterpret_cast<uint8_t*>(packed.data()));
    out += packed;
    return {std::move(out)};
  }

 private:
  std::vector<uint32_t> idx_;
};

// Fixed-width packed struct rows: flat, announced as a packed struct with
// each child's width.
class PackedCodec : public FlatCodec {
 public:
  PackedCodec(const Gathered& g, const std::vector<PackedChild>& layout)
      : FlatCodec(g), layout_(layout) {}
  p21::CompressiveEncoding Encoding() const override {
    p21::CompressiveEncoding e;
    auto* ps = e.mutable_packed_struct();
    for (const auto& c : layout_) ps->add_bits_per_value(static_cast<uint64_t>(c.bytes * 8));
    *ps->mutable_values() = FlatCodec::Encoding();
    return e;
  }

 private:
  const std::vector<PackedChild>& layout_;
};

// How a packed struct is written: fixed-width rows in mini-block pages
// (PackedStruct) when every child is a fixed-width scalar, else (2.2 only)
// rows with length-prefixed variable children in full-zip pages
// (VariablePackedStruct), as pylance chooses.
struct PackedPlan {
  std::vector<PackedChild> layout;
  bool mini = true;
};

bool FixedScalar(const arrow::DataType& t) {
  return t.id() != arrow::Type::FIXED_SIZE_LIST && t.id() != arrow::Type::FIXED_SIZE_BINARY &&
         t.id() != arrow::Type::BOOL && arrow::is_fixed_width(t.id()) &&
         static_cast<const arrow::FixedWidthType&>(t).bit_width() % 8 == 0;
}

arrow::Result<PackedPlan> PlanPacked(const arrow::Field& field, int minor) {
  PackedPlan plan;
  ARROW_ASSIGN_OR_RAISE(plan.layout, PackedLayout(field, /*allow_variable=*/minor >= 2));
  for (const auto& c : field.type()->fields()) {
    if (FixedScalar(*c->type())) continue;
    if (minor < 2) {
      return arrow::Status::NotImplemented(
          "packed struct '", field.name(), "': child '", c->name(), "' of type ",
          c->type()->ToString(),
          " needs Lance file version 2.2 (2.1 packs fixed-width scalars only)");
    }
    plan.mini = false;
  }
  return plan;
}

// The encoding of one child's values inside a VariablePackedStruct row.
p21::CompressiveEncoding PackedChildEncoding(const arrow::DataType& t) {
  p21::CompressiveEncoding e;
  if (t.id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& l = static_cast<const arrow::FixedSizeListType&>(t);
    auto* f = e.mutable_fixed_size_list();
    f->set_items_per_value(static_cast<uint64_t>(l.list_size()));
    f->set_has_validity(false);
    *f->mutable_values() = PackedChildEncoding(*l.value_type());
  } else if (arrow::is_fixed_width(t.id())) {
    e.mutable_flat()->set_bits_per_value(
        static_cast<uint64_t>(static_cast<const arrow::FixedWidthType&>(t).bit_width()));
  } else {
    const bool large = t.id() == arrow::Type::LARGE_STRING || t.id() == arrow::Type::LARGE_BINARY;
    e.mutable_variable()->mutable_offsets()->mutable_flat()->set_bits_per_value(large ? 64 : 32);
  }
  return e;
}

// ---- pages -------------------------------------------------------------------------

struct PageOut {
  p21::PageLayout layout;
  std::vector<std::shared_ptr<arrow::Buffer>> buffers;
};

void SetLayers(const Levels& lv, google::protobuf::RepeatedField<int>* out) {
  for (auto l : lv.layers) out->Add(l);
}

// Every value null (or no value at all): levels only, raw u16.
PageOut ConstantPage(const Levels& lv) {
  PageOut out;
  auto* c = out.layout.mutable_constant_layout();
  SetLayers(lv, c->mutable_layers());
  if (lv.layers.size() == 1 && lv.rep.empty()) return out;  // one null per row
  std::string rep, def;
  for (uint16_t r : lv.rep) Put(&rep, r, 2);
  for (uint16_t d : lv.def) Put(&def, d, 2);
  out.buffers = {ToBuffer(std::move(rep)), ToBuffer(std::move(def))};
  return out;
}

arrow::Result<PageOut> FullZipPage(const Levels& lv, const Gathered& g, int max_rep,
                                   const std::optional<std::string>& fsst = std::nullopt,
                                   const VariableCodec* general = nullptr) {
  PageOut out;
  auto* z = out.layout.mutable_full_zip_layout();
  uint16_t rmax = 0, dmax = 0;
  for (uint16_t r : lv.rep) rmax = std::max(rmax, r);
  for (uint16_t d : lv.def) dmax = std::max(dmax, d);
  const int bits_rep = BitsFor(rmax), bits_def = BitsFor(dmax);
  const int tot = bits_rep + bits_def;
  const int cw = tot == 0 ? 0 : tot <= 8 ? 1 : tot <= 16 ? 2 : 4;
  z->set_bits_rep(static_cast<uint32_t>(bits_rep));
  z->set_bits_def(static_cast<uint32_t>(bits_def));
  const bool variable = g.shape.variable;
  const int obytes = g.shape.large ? 8 : 4;
  const int64_t vbytes = g.item_valid.empty() ? 0 : (g.shape.items + 7) / 8;
  if (variable) {
    z->set_bits_per_offset(static_cast<uint32_t>(obytes * 8));
    p21::CompressiveEncoding* v = z->mutable_value_compression();
    if (fsst) {  // the strings are FSST-encoded already
      v->mutable_fsst()->set_symbol_table(*fsst);
      v = v->mutable_fsst()->mutable_values();
    }
    if (general != nullptr) {  // each value compressed on its own
      *v = general->Encoding();
      v = v->mutable_general()->mutable_values();
    }
    v->mutable_variable()->mutable_offsets()->mutable_flat()->set_bits_per_value(
        uint64_t{8} * static_cast<uint64_t>(obytes));
  } else {
    z->set_bits_per_value(static_cast<uint32_t>((vbytes + g.shape.width) * 8));
    *z->mutable_value_compression() = FlatCodec(g).Encoding();
  }
  const size_t m = lv.visible.size();
  z->set_num_items(static_cast<uint32_t>(m));
  z->set_num_visible_items(static_cast<uint32_t>(g.n));
  SetLayers(lv, z->mutable_layers());
  if (m > UINT32_MAX) return arrow::Status::NotImplemented("a page of more than 2^32 items");
  std::string data;
  std::vector<uint64_t> starts;
  int64_t v = 0;
  for (size_t e = 0; e < m; ++e) {
    const uint16_t r = lv.rep.empty() ? 0 : lv.rep[e];
    const uint16_t d = lv.def.empty() ? 0 : lv.def[e];
    if (max_rep == 0 || r == max_rep) starts.push_back(data.size());
    if (cw > 0) Put(&data, (static_cast<uint64_t>(r) << bits_def) | d, cw);
    if (!lv.visible[e]) continue;
    if (variable) {
      if (d == 0) {
        const auto& s = g.var[static_cast<size_t>(v)];
        if (general != nullptr) {
          const std::string c = general->Compress(std::string(s));
          Put(&data, c.size(), obytes);
          data += c;
        } else {
          Put(&data, s.size(), obytes);
          data += s;
        }
      }
    } else {
      if (vbytes > 0) {
        std::string bm(static_cast<size_t>(vbytes), '\0');
        for (int64_t k = 0; k < g.shape.items; ++k) {
          if (g.item_valid[static_cast<size_t>(v * g.shape.items + k)]) {
            arrow::bit_util::SetBit(reinterpret_cast<uint8_t*>(bm.data()), k);
          }
        }
        data += bm;
      }
      data.append(g.fixed, static_cast<size_t>(v * g.shape.width),
                  static_cast<size_t>(g.shape.width));
    }
    ++v;
  }
  starts.push_back(data.size());
  out.buffers.push_back(ToBuffer(std::move(data)));
  if (max_rep > 0 || variable) {
    const int w = starts.back() <= UINT32_MAX ? 4 : 8;
    std::string index;
    index.reserve(starts.size() * static_cast<size_t>(w));
    for (uint64_t s : starts) Put(&index, s, w);
    out.buffers.push_back(ToBuffer(std::move(index)));
  }
  return out;
}

// Mini-block page; NotImplemented when its chunks break the format's limits
// (the caller zips the page instead).
arrow::Result<PageOut> MiniBlockPage(const Levels& lv, const ValueCodec& codec, int64_t n_values,
                                     int max_rep, int minor, std::optional<std::string> dictionary,
                                     int64_t dictionary_items,
                                     std::optional<p21::CompressiveEncoding> dictionary_encoding) {
  const bool large = minor >= 2;
  const size_t m = lv.visible.size();
  // Values per chunk.
  std::vector<std::pair<int64_t, int64_t>> vchunks;
  for (int64_t v = 0; v < n_values;) {
    const int64_t k = std::min(codec.ChunkValues(v), n_values - v);
    vchunks.emplace_back(v, v + k);
    v += k;
  }
  // Entries per chunk: through its last value; the last chunk takes the rest.
  std::vector<size_t> visible_pos;
  visible_pos.reserve(static_cast<size_t>(n_values));
  for (size_t e = 0; e < m; ++e) {
    if (lv.visible[e]) visible_pos.push_back(e);
  }
  const int level_bits_rep = BitsFor(max_rep);
  uint16_t dmax = 0;
  for (uint16_t d : lv.def) dmax = std::max(dmax, d);
  const int level_bits_def = BitsFor(dmax);
  const bool has_rep = !lv.rep.empty(), has_def = !lv.def.empty() && dmax > 0;
  const auto value_encoding = codec.Encoding();
  std::string meta, data, repindex;
  size_t e0 = 0;
  uint32_t num_buffers = 0;
  for (size_t c = 0; c < vchunks.size(); ++c) {
    const auto [v0, v1] = vchunks[c];
    const bool last = c + 1 == vchunks.size();
    const size_t e1 = last ? m : visible_pos[static_cast<size_t>(v1 - 1)] + 1;
    const size_t levels = has_rep || has_def ? e1 - e0 : 0;
    if (levels > 65535)
      return arrow::Status::NotImplemented("a mini-block chunk of more than 65535 levels");
    std::string rep_bytes, def_bytes;
    if (has_rep)
      rep_bytes = PackLevels(lv.rep.data() + e0, static_cast<int64_t>(e1 - e0), level_bits_rep);
    if (has_def)
      def_bytes = PackLevels(lv.def.data() + e0, static_cast<int64_t>(e1 - e0), level_bits_def);
    std::vector<std::string> bufs = codec.Chunk(v0, v1);
    num_buffers = static_cast<uint32_t>(bufs.size());
    std::string chunk;
    Put(&chunk, levels, 2);
    if (has_rep) Put(&chunk, rep_bytes.size(), 2);
    if (has_def) Put(&chunk, def_bytes.size(), 2);
    for (const auto& b : bufs) {
      if (!large && b.size() > 65535)
        return arrow::Status::NotImplemented("a mini-block buffer over 64 KiB");
      Put(&chunk, b.size(), large ? 4 : 2);
    }
    Pad(&chunk, 8, '\xfe');
    if (rep_bytes.size() > 65535 || def_bytes.size() > 65535) {
      return arrow::Status::NotImplemented("mini-block levels over 64 KiB");
    }
    for (const std::string* b : {&rep_bytes, &def_bytes}) {
      chunk += *b;
      Pad(&chunk, 8, '\xfe');
    }
    for (const auto& b : bufs) {
      chunk += b;
      Pad(&chunk, 8, '\xfe');
    }
    const uint64_t words = chunk.size() / 8 - 1;
    if ((!large && words >= (1u << 12)) || words >= (1u << 28)) {
      return arrow::Status::NotImplemented("a mini-block chunk over the format's size");
    }
    const int64_t count = v1 - v0;
    const uint64_t log2 =
        last ? 0 : static_cast<uint64_t>(std::countr_zero(static_cast<uint64_t>(count)));
    if (!last && (count < 2 || (count & (count - 1)) != 0)) {
      return arrow::Status::Invalid("mini-block chunk of ", count, " values");
    }
    Put(&meta, (words << 4) | log2, large ? 4 : 2);
    data += chunk;
    if (has_rep) {
      // Rows ending in this chunk; level entries of a row going on.
      const bool next_starts_row = last || lv.rep[e1] == max_rep;
      uint64_t rows = next_starts_row ? 1 : 0;
      size_t last_start = e1 - e0;
      for (size_t i = e0; i < e1; ++i) {
        if (lv.rep[i] == max_rep) {
          if (i > e0) ++rows;
          last_start = i - e0;
        }
      }
      if (e1 == e0) rows = 0;
      const uint64_t partial =
          next_starts_row ? 0 : (e1 - e0) - (last_start == e1 - e0 ? 0 : last_start);
      Put(&repindex, rows, 8);
      Put(&repindex, partial, 8);
    }
    e0 = e1;
  }
  PageOut out;
  auto* mb = out.layout.mutable_mini_block_layout();
  if (has_rep) {
    auto* r = mb->mutable_rep_compression()->mutable_out_of_line_bitpacking();
    r->set_uncompressed_bits_per_value(16);
    r->mutable_values()->mutable_flat()->set_bits_per_value(static_cast<uint64_t>(level_bits_rep));
  }
  if (has_def) {
    auto* d = mb->mutable_def_compression()->mutable_out_of_line_bitpacking();
    d->set_uncompressed_bits_per_value(16);
    d->mutable_values()->mutable_flat()->set_bits_per_value(static_cast<uint64_t>(level_bits_def));
  }
  *mb->mutable_value_compression() = value_encoding;
  if (dictionary) {
    *mb->mutable_dictionary() = *dictionary_encoding;
    mb->set_num_dictionary_items(static_cast<uint64_t>(dictionary_items));
  }
  SetLayers(lv, mb->mutable_layers());
  mb->set_num_buffers(num_buffers);
  if (has_rep) mb->set_repetition_index_depth(1);
  mb->set_num_items(static_cast<uint64_t>(n_values));
  if (large) mb->set_has_large_chunk(true);
  out.buffers.push_back(ToBuffer(std::move(meta)));
  out.buffers.push_back(ToBuffer(std::move(data)));
  if (dictionary) out.buffers.push_back(ToBuffer(std::move(*dictionary)));
  if (has_rep) out.buffers.push_back(ToBuffer(std::move(repindex)));
  return out;
}

// Strings of few distinct values: the dictionary (a block of u32 32, the
// bytes' start, offsets from it, the bytes) and each value's index.
struct DictionaryPlan {
  std::string block;
  int64_t items = 0;
  std::vector<uint32_t> indices;
  int64_t cost = 0;
};

std::optional<DictionaryPlan> PlanDictionary(const Gathered& g) {
  const int w = g.shape.large ? 8 : 4;
  if (g.n < 100) return std::nullopt;
  std::unordered_map<std::string_view, uint32_t> ids;
  std::vector<std::string_view> items;
  DictionaryPlan p;
  p.indices.reserve(static_cast<size_t>(g.n));
  const size_t limit = static_cast<size_t>(g.n / 2);
  for (const auto& s : g.var) {
    auto [it, fresh] = ids.try_emplace(s, static_cast<uint32_t>(items.size()));
    if (fresh) {
      items.push_back(s);
      if (items.size() > limit) return std::nullopt;
    }
    p.indices.push_back(it->second);
  }
  p.items = static_cast<int64_t>(items.size());
  std::string& b = p.block;
  Put(&b, uint64_t{8} * static_cast<uint64_t>(w), w);
  Put(&b, static_cast<uint64_t>(2 * w) + static_cast<uint64_t>(w) * (items.size() + 1), w);
  uint64_t at = 0;
  for (size_t i = 0; i <= items.size(); ++i) {
    Put(&b, at, w);
    if (i < items.size()) at += items[i].size();
  }
  for (const auto& s : items) b += s;
  const int bits = std::max(1, BitsFor(items.size()));
  p.cost = static_cast<int64_t>(b.size()) + g.n * bits / 8 + (g.n / 1024 + 1) * 4;
  const int64_t plain = static_cast<int64_t>(g.var_bytes) + 4 * g.n;
  if (p.cost * 5 > plain * 4) return std::nullopt;  // under 0.8 of plain or not at all
  return p;
}

// The page's strings FSST-encoded with a table trained on a sample of them,
// when that keeps under 0.9 of the bytes: the table, the encoded strings
// (owned by `store`) and the fraction kept.
struct FsstPlan {
  std::string table;
  std::vector<std::string_view> encoded;
  double ratio = 1.0;
};

std::optional<FsstPlan> PlanFsst(const Gathered& g, std::string* store, bool force = false) {
  if (g.var_bytes < 4096 && !force) return std::nullopt;
  std::vector<std::string_view> sample;
  uint64_t bytes = 0;
  const int64_t step = std::max<int64_t>(1, static_cast<int64_t>(g.var_bytes / (32 * 1024)));
  for (int64_t i = 0; i < g.n && bytes < 32 * 1024; i += step) {
    sample.push_back(g.var[static_cast<size_t>(i)]);
    bytes += g.var[static_cast<size_t>(i)].size();
  }
  const l21::FsstTable t = l21::FsstTable::Train(sample);
  std::string probe;
  for (auto s : sample) t.Encode(s, &probe);
  if (!force && static_cast<double>(probe.size()) > 0.9 * static_cast<double>(bytes)) {
    return std::nullopt;
  }
  FsstPlan p;
  p.table = t.Serialize();
  store->reserve(static_cast<size_t>(static_cast<double>(g.var_bytes) * 0.9) + 64);
  std::vector<size_t> ends;
  ends.reserve(g.var.size());
  for (auto s : g.var) {
    t.Encode(s, store);
    ends.push_back(store->size());
  }
  size_t at = 0;
  for (size_t e : ends) {
    p.encoded.emplace_back(store->data() + at, e - at);
    at = e;
  }
  p.ratio = static_cast<double>(store->size() + p.table.size()) /
            static_cast<double>(std::max<uint64_t>(1, g.var_bytes));
  if (p.ratio > 0.9 && !force) return std::nullopt;
  return p;
}

// A sample of the page's chunks compressed: what fraction of the bytes LZ4 keeps.
double Lz4Ratio(const Gathered& g) {
  std::string sample;
  for (int64_t i = 0; i < g.n && sample.size() < 64 * 1024; i += std::max<int64_t>(1, g.n / 4096)) {
    sample += g.var[static_cast<size_t>(i)];
  }
  if (sample.size() < 4096) return 1.0;
  auto codec = arrow::util::Codec::Create(arrow::Compression::LZ4).ValueOrDie();
  std::string out(
      static_cast<size_t>(codec->MaxCompressedLen(static_cast<int64_t>(sample.size()), nullptr)),
      '\0');
  // Compressed in 4 KiB pieces, as the chunks are.
  int64_t total = 0;
  for (size_t at = 0; at < sample.size(); at += kChunkValueBytes) {
    const size_t len = std::min<size_t>(kChunkValueBytes, sample.size() - at);
    total +=
        codec
            ->Compress(static_cast<int64_t>(len),
                       reinterpret_cast<const uint8_t*>(sample.data() + at),
                       static_cast<int64_t>(out.size()), reinterpret_cast<uint8_t*>(out.data()))
            .ValueOrDie() +
        4;
  }
  return static_cast<double>(total) / static_cast<double>(sample.size());
}

}  // namespace

}  // namespace ailake::encoding

namespace ailake::encoding::l21 {

arrow::Result<EncodedPage> EncodeLeafPage(const std::shared_ptr<arrow::Array>& rows,
                                          const std::vector<PathNodeSpec>& spec, uint32_t column,
                                          uint64_t first_row, int minor,
                                          const std::string& field_name,
                                          const LeafOptions& options) {
  std::vector<PathNode> path;
  path.reserve(spec.size());
  for (const auto& s : spec) path.push_back({static_cast<Kind>(s.kind), s.child});
  Shredded shredded = Shredder(path, rows).Run();
  const Levels lv = NumberLevels(path, shredded);
  std::optional<PackedPlan> packed;
  const auto struct_type = shredded.leaf->type();
  if (struct_type->id() == arrow::Type::STRUCT) {  // a packed struct: its rows as bytes
    // Named by its path from the top-level field.
    std::string name = field_name;
    std::shared_ptr<arrow::DataType> t = rows->type();
    for (const auto& n : path) {
      if (n.kind == Kind::kLeaf) break;
      const auto& f = n.kind == Kind::kStruct ? t->field(n.child) : t->field(0);
      if (n.kind == Kind::kStruct) name += "." + f->name();
      t = f->type();
    }
    const auto leaf = arrow::field(name, struct_type);
    ARROW_ASSIGN_OR_RAISE(packed, PlanPacked(*leaf, minor));
    ARROW_ASSIGN_OR_RAISE(
        shredded.leaf,
        PackRows(*leaf, static_cast<const arrow::StructArray&>(*shredded.leaf), packed->layout));
  }
  ARROW_ASSIGN_OR_RAISE(l21::ValueShape shape, l21::ShapeOf(shredded.leaf->type()));
  ARROW_ASSIGN_OR_RAISE(Gathered g, Gather(shredded, lv, shape));
  bool any_value = false;
  for (const auto& e : shredded.entries) any_value = any_value || e.stop < 0;
  PageOut page;
  const int max_rep = shredded.max_rep;
  if (!any_value) {
    page = ConstantPage(lv);
  } else if (packed && packed->mini) {
    auto mini = MiniBlockPage(lv, PackedCodec(g, packed->layout), g.n, max_rep, minor, std::nullopt,
                              0, std::nullopt);
    if (!mini.ok()) {
      return mini.status().WithMessage("packed struct rows of ", shape.width,
                                       " bytes: ", mini.status().message());
    }
    page = std::move(*mini);
  } else if (packed) {
    ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, g, max_rep));
    auto* vps = page.layout.mutable_full_zip_layout()
                    ->mutable_value_compression()
                    ->mutable_variable_packed_struct();
    for (size_t k = 0; k < packed->layout.size(); ++k) {
      auto* f = vps->add_fields();
      *f->mutable_value() = PackedChildEncoding(*struct_type->field(static_cast<int>(k))->type());
      if (packed->layout[k].bytes > 0) {
        f->set_bits_per_value(static_cast<uint64_t>(packed->layout[k].bytes * 8));
      } else {
        f->set_bits_per_length(uint64_t{8} * static_cast<uint64_t>(packed->layout[k].length_bytes));
      }
    }
  } else if (!shape.variable && !shape.boolean &&
             (shape.width >= kFullZipBytes || !shape.dims.empty() || shape.opaque)) {
    // Wide values, and every fixed-size list or fixed-size binary (vectors)
    // whatever its width: a row is one range of the page, read and searched
    // in place.
    ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, g, max_rep));
  } else if (shape.variable && !options.compression.empty() && options.compression != "fsst") {
    // A scheme the field asks for: every chunk (or long value) compressed with it.
    std::optional<p21::CompressionScheme> general;
    if (options.compression == "lz4") general = p21::COMPRESSION_ALGORITHM_LZ4;
    if (options.compression == "zstd") general = p21::COMPRESSION_ALGORITHM_ZSTD;
    VariableCodec codec(g, general);
    codec.set_level(options.level);
    // Long values are compressed one by one. pylance 14 decompresses a null
    // value's (absent) bytes too, which LZ4 refuses: an LZ4 page holding
    // null values is written uncompressed (docs/FORMAT.md 5.4).
    bool null_values = false;
    for (size_t e = 0; e < lv.def.size() && !null_values; ++e) {
      null_values = lv.visible[e] && lv.def[e] != 0;
    }
    const VariableCodec* per_value =
        !general || (null_values && *general == p21::COMPRESSION_ALGORITHM_LZ4) ? nullptr : &codec;
    if (g.var_max >= static_cast<uint64_t>(kFullZipBytes)) {
      ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, g, max_rep, std::nullopt, per_value));
    } else {
      auto mini = MiniBlockPage(lv, codec, g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
      if (mini.ok()) {
        page = std::move(*mini);
      } else if (mini.status().IsNotImplemented()) {
        ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, g, max_rep, std::nullopt, per_value));
      } else {
        return mini.status();
      }
    }
  } else if (shape.variable && options.compression == "fsst") {
    std::string store;
    auto f = PlanFsst(g, &store, /*force=*/true);
    Gathered coded = g;
    coded.var = std::move(f->encoded);
    coded.var_bytes = store.size();
    if (g.var_max >= static_cast<uint64_t>(kFullZipBytes)) {
      ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, coded, max_rep, f->table));
    } else {
      VariableCodec codec(coded, std::nullopt, f->table);
      auto mini = MiniBlockPage(lv, codec, g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
      if (mini.ok()) {
        page = std::move(*mini);
      } else if (mini.status().IsNotImplemented()) {
        ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, coded, max_rep, f->table));
      } else {
        return mini.status();
      }
    }
  } else if (shape.variable && g.var_max >= static_cast<uint64_t>(kFullZipBytes)) {
    std::string store;
    if (auto f = PlanFsst(g, &store)) {
      Gathered coded = g;
      coded.var = std::move(f->encoded);
      ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, coded, max_rep, f->table));
    } else {
      ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, g, max_rep));
    }
  } else {
    arrow::Result<PageOut> mini = arrow::Status::NotImplemented("");
    if (shape.variable) {
      if (auto dict = PlanDictionary(g)) {
        p21::CompressiveEncoding de;
        de.mutable_variable()->mutable_offsets()->mutable_flat()->set_bits_per_value(
            shape.large ? 64 : 32);
        IndexCodec codec(std::move(dict->indices));
        mini =
            MiniBlockPage(lv, codec, g.n, max_rep, minor, std::move(dict->block), dict->items, de);
      } else {
        std::string store;
        auto fsst = PlanFsst(g, &store);
        const double lz4 = Lz4Ratio(g);
        if (fsst && fsst->ratio <= lz4) {
          Gathered coded = g;
          coded.var = std::move(fsst->encoded);
          coded.var_bytes = store.size();
          VariableCodec codec(coded, std::nullopt, std::move(fsst->table));
          mini = MiniBlockPage(lv, codec, g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
        } else {
          std::optional<p21::CompressionScheme> general;
          if (lz4 < 0.7) general = p21::COMPRESSION_ALGORITHM_LZ4;
          VariableCodec codec(g, general);
          mini = MiniBlockPage(lv, codec, g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
        }
      }
    } else if (!shape.boolean && shape.dims.empty() &&
               (shape.width == 1 || shape.width == 2 || shape.width == 4 || shape.width == 8)) {
      const int64_t flat = g.n * shape.width;
      const int64_t packed = BitpackCodec::Cost(g);
      const int64_t rle = RleCodec::Cost(g);
      if (rle < packed && rle < flat) {
        mini = MiniBlockPage(lv, RleCodec(g), g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
      } else if (packed < flat) {
        mini =
            MiniBlockPage(lv, BitpackCodec(g), g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
      } else {
        mini = MiniBlockPage(lv, FlatCodec(g), g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
      }
    } else {
      mini = MiniBlockPage(lv, FlatCodec(g), g.n, max_rep, minor, std::nullopt, 0, std::nullopt);
    }
    if (mini.ok()) {
      page = std::move(*mini);
    } else if (mini.status().IsNotImplemented()) {  // beyond a chunk's limits: zipped instead
      if (shape.boolean) {
        return mini.status().WithMessage("column page at row ", first_row, ": ",
                                         mini.status().message());
      }
      ARROW_ASSIGN_OR_RAISE(page, FullZipPage(lv, g, max_rep));
    } else {
      return mini.status();
    }
  }
  EncodedPage out;
  out.column = column;
  out.buffers = std::move(page.buffers);
  out.num_rows = static_cast<uint64_t>(rows->length());
  out.row_number = first_row;
  out.encoding = AnyOf(kPageLayoutUrl, page.layout);
  return out;
}

arrow::Result<LeafOptions> LeafOptionsOf(const arrow::Field& leaf) {
  LeafOptions o;
  if (!leaf.metadata()) return o;
  auto scheme = leaf.metadata()->Get("lance-encoding:compression");
  auto level = leaf.metadata()->Get("lance-encoding:compression-level");
  if (scheme.ok()) {
    std::string v = *scheme;
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v != "lz4" && v != "zstd" && v != "fsst" && v != "none") {
      return arrow::Status::Invalid("field '", leaf.name(), "': lance-encoding:compression '",
                                    *scheme, "' is none of lz4, zstd, fsst, none");
    }
    const auto id = leaf.type()->id();
    if (id != arrow::Type::STRING && id != arrow::Type::BINARY && id != arrow::Type::LARGE_STRING &&
        id != arrow::Type::LARGE_BINARY) {
      return arrow::Status::NotImplemented(
          "field '", leaf.name(),
          "': lance-encoding:compression is honoured on strings and "
          "binaries; ",
          leaf.type()->ToString(), " is compressed by its own statistics");
    }
    o.compression = v;
  }
  if (level.ok()) {
    int l = 0;
    const auto* end = level->data() + level->size();
    auto [p, ec] = std::from_chars(level->data(), end, l);
    if (o.compression != "zstd" || ec != std::errc() || p != end || l < 1 || l > 22) {
      return arrow::Status::Invalid("field '", leaf.name(), "': lance-encoding:compression-level '",
                                    *level, "' needs compression zstd and a level from 1 to 22");
    }
    o.level = l;
  }
  return o;
}

std::vector<std::vector<PathNodeSpec>> LeafPaths(const arrow::Field& field) {
  std::vector<std::vector<PathNode>> paths;
  ailake::encoding::LeafPaths(field, {}, &paths);
  std::vector<std::vector<PathNodeSpec>> out;
  for (const auto& p : paths) {
    std::vector<PathNodeSpec> s;
    s.reserve(p.size());
    for (const auto& n : p) s.push_back({static_cast<int>(n.kind), n.child});
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ailake::encoding::l21

namespace ailake::encoding {
namespace {

// A field of a version 2.1/2.2 file: one column per leaf; pages cut once
// max_page_bytes of the field is buffered, every leaf's page holding the
// same rows.
class Encoder21 : public FieldEncoder {
 public:
  Encoder21(std::string name, std::vector<std::vector<l21::PathNodeSpec>> paths,
            std::vector<l21::LeafOptions> leaves, EncoderOptions options, int minor)
      : name_(std::move(name)),
        paths_(std::move(paths)),
        leaves_(std::move(leaves)),
        options_(options),
        minor_(minor) {}

  arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                     OutOfLineBuffers*, RepDefBuilder,
                                                     uint64_t row_number, uint64_t) override {
    if (pending_.empty()) first_row_ = row_number;
    pending_rows_ += array->length();
    for (const auto& b : array->data()->buffers) pending_bytes_ += b ? b->size() : 0;
    pending_bytes_ += ChildBytes(*array->data());
    pending_.push_back(std::move(array));
    std::vector<EncodeTask> tasks;
    if (pending_bytes_ >= options_.max_page_bytes) ARROW_RETURN_NOT_OK(Cut(&tasks));
    return tasks;
  }
  arrow::Result<std::vector<EncodeTask>> Flush(OutOfLineBuffers*) override {
    std::vector<EncodeTask> tasks;
    if (pending_rows_ > 0) ARROW_RETURN_NOT_OK(Cut(&tasks));
    return tasks;
  }
  arrow::Result<std::vector<EncodedColumn>> Finish(OutOfLineBuffers*) override {
    lance::ColumnEncoding c;
    c.mutable_values();
    lance::AnyValue any;
    any.set_type_url(std::string(kColumnEncodingUrl));
    any.set_value(c.SerializeAsString());
    return std::vector<EncodedColumn>(paths_.size(), EncodedColumn{any.SerializeAsString(), {}});
  }
  uint32_t NumColumns() const override { return static_cast<uint32_t>(paths_.size()); }

 private:
  static int64_t ChildBytes(const arrow::ArrayData& d) {
    int64_t n = 0;
    for (const auto& c : d.child_data) {
      for (const auto& b : c->buffers) n += b ? b->size() : 0;
      n += ChildBytes(*c);
    }
    return n;
  }

  // Pages of the buffered rows: at most max_page_bytes each (by the
  // average row), every leaf one page of the same rows.
  arrow::Status Cut(std::vector<EncodeTask>* tasks) {
    std::shared_ptr<arrow::Array> all;
    if (pending_.size() == 1) {
      all = pending_[0];
    } else {
      ARROW_ASSIGN_OR_RAISE(all, arrow::Concatenate(pending_));
    }
    const int64_t rows = all->length();
    const int64_t per_row = std::max<int64_t>(1, pending_bytes_ / std::max<int64_t>(1, rows));
    const int64_t page_rows = std::max<int64_t>(1, options_.max_page_bytes / per_row);
    for (int64_t at = 0; at < rows; at += page_rows) {
      auto slice = all->Slice(at, std::min(page_rows, rows - at));
      const uint64_t first = first_row_ + static_cast<uint64_t>(at);
      for (size_t c = 0; c < paths_.size(); ++c) {
        tasks->emplace_back([slice, path = paths_[c], c, first, minor = minor_, name = name_,
                             leaf = leaves_[c]]() -> arrow::Result<EncodedPage> {
          auto page =
              l21::EncodeLeafPage(slice, path, static_cast<uint32_t>(c), first, minor, name, leaf);
          if (!page.ok()) {
            return page.status().WithMessage("field '", name, "': ", page.status().message());
          }
          return page;
        });
      }
    }
    pending_.clear();
    pending_rows_ = 0;
    pending_bytes_ = 0;
    return arrow::Status::OK();
  }

  std::string name_;
  std::vector<std::vector<l21::PathNodeSpec>> paths_;
  std::vector<l21::LeafOptions> leaves_;  // per path
  EncoderOptions options_;
  int minor_;
  arrow::ArrayVector pending_;
  int64_t pending_rows_ = 0, pending_bytes_ = 0;
  uint64_t first_row_ = 0;
};

}  // namespace

arrow::Result<std::unique_ptr<FieldEncoder>> MakeFieldEncoder21(const arrow::Field& field,
                                                                const EncoderOptions& options,
                                                                int minor) {
  if (auto lt = LanceLogicalType(*field.type()); !lt.ok()) {
    return lt.status().WithMessage("field '", field.name(), "': ", lt.status().message());
  }
  auto paths = l21::LeafPaths(field);
  if (paths.empty()) {
    return arrow::Status::NotImplemented("field '", field.name(), "': a struct without fields");
  }
  // Every leaf's values must be encodable, its settings valid.
  std::vector<l21::LeafOptions> leaves;
  for (const auto& p : paths) {
    std::shared_ptr<arrow::Field> f =
        arrow::field(field.name(), field.type(), field.nullable(), field.metadata());
    for (const auto& n : p) {
      if (n.kind == static_cast<int>(Kind::kLeaf)) break;
      f = n.kind == static_cast<int>(Kind::kStruct) ? f->type()->field(n.child)
                                                    : f->type()->field(0);
    }
    ARROW_ASSIGN_OR_RAISE(auto leaf_options, l21::LeafOptionsOf(*f));
    leaves.push_back(std::move(leaf_options));
    if (f->type()->id() == arrow::Type::STRUCT) {
      if (auto plan = PlanPacked(*f, minor); !plan.ok()) return plan.status();
      continue;
    }
    if (auto s = l21::ShapeOf(f->type()); !s.ok()) {
      return s.status().WithMessage("field '", field.name(), "': ", s.status().message());
    }
  }
  return std::make_unique<Encoder21>(field.name(), std::move(paths), std::move(leaves), options,
                                     minor);
}

}  // namespace ailake::encoding
