#include "ailake/encoding/packed_struct.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ailake::encoding {
namespace {

// Bytes of one value of a fixed-width type (fixed-size lists nested), or 0.
int64_t FixedBytes(const arrow::DataType& t) {
  if (t.id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& l = static_cast<const arrow::FixedSizeListType&>(t);
    return FixedBytes(*l.value_type()) * l.list_size();
  }
  if (t.id() == arrow::Type::BOOL || !arrow::is_fixed_width(t.id())) return 0;
  const int bits = static_cast<const arrow::FixedWidthType&>(t).bit_width();
  return bits % 8 == 0 ? bits / 8 : 0;
}

bool IsVariable(arrow::Type::type id) {
  return id == arrow::Type::STRING || id == arrow::Type::BINARY ||
         id == arrow::Type::LARGE_STRING || id == arrow::Type::LARGE_BINARY;
}

bool IsLarge(arrow::Type::type id) {
  return id == arrow::Type::LARGE_STRING || id == arrow::Type::LARGE_BINARY;
}

// The bytes of row 0 of a fixed-width array (through fixed-size lists) and
// whether any of its values, items included, is null in rows [0, n).
const uint8_t* FixedBase(const arrow::Array& a, int64_t n, bool* item_nulls) {
  if (a.type_id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& l = static_cast<const arrow::FixedSizeListArray&>(a);
    const int64_t dim = l.list_type()->list_size();
    auto items = l.values()->Slice(l.offset() * dim, n * dim);
    return FixedBase(*items, n * dim, item_nulls);
  }
  const int64_t w = FixedBytes(*a.type());
  if (a.null_count() > 0 && a.type_id() != arrow::Type::FIXED_SIZE_LIST) *item_nulls = true;
  const auto& buf = a.data()->buffers[1];
  return buf ? buf->data() + a.offset() * w : nullptr;
}

std::string ToLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void PutLength(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t LoadLength(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// An array of n values of fixed-width `type` over `values` (fixed-size
// lists nested), without nulls.
std::shared_ptr<arrow::ArrayData> FixedArray(const std::shared_ptr<arrow::DataType>& type,
                                             int64_t n, std::shared_ptr<arrow::Buffer> values) {
  if (type->id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& l = static_cast<const arrow::FixedSizeListType&>(*type);
    return arrow::ArrayData::Make(
        type, n, {nullptr}, {FixedArray(l.value_type(), n * l.list_size(), std::move(values))}, 0);
  }
  return arrow::ArrayData::Make(type, n, {nullptr, std::move(values)}, 0);
}

}  // namespace

bool IsPackedStruct(const arrow::Field& field) {
  if (field.type()->id() != arrow::Type::STRUCT || !field.metadata()) return false;
  for (const char* key : {"packed", "lance-encoding:packed"}) {
    auto v = field.metadata()->Get(key);
    if (v.ok() && ToLower(*v) == "true") return true;
  }
  return false;
}

arrow::Result<std::vector<PackedChild>> PackedLayout(const arrow::Field& field,
                                                     bool allow_variable) {
  const auto& type = *field.type();
  if (type.id() != arrow::Type::STRUCT || type.num_fields() == 0) {
    return arrow::Status::Invalid("packed field '", field.name(), "' is not a struct with fields");
  }
  std::vector<PackedChild> out;
  for (const auto& c : type.fields()) {
    if (const int64_t b = FixedBytes(*c->type()); b > 0) {
      out.push_back({b, 0});
    } else if (allow_variable && IsVariable(c->type()->id())) {
      out.push_back({0, IsLarge(c->type()->id()) ? 8 : 4});
    } else {
      return arrow::Status::NotImplemented(
          "packed struct '", field.name(), "': child '", c->name(), "' of type ",
          c->type()->ToString(), " cannot be packed",
          allow_variable ? " (only fixed-width values, strings and binaries)"
                         : " in this file version (only fixed-width values, not booleans)");
    }
  }
  return out;
}

int64_t PackedRowBytes(const std::vector<PackedChild>& layout) {
  int64_t n = 0;
  for (const auto& c : layout) {
    if (c.bytes == 0) return 0;
    n += c.bytes;
  }
  return n;
}

arrow::Result<std::shared_ptr<arrow::Array>> PackRows(const arrow::Field& field,
                                                      const arrow::StructArray& array,
                                                      const std::vector<PackedChild>& layout) {
  const int64_t n = array.length();
  const auto& type = static_cast<const arrow::StructType&>(*array.type());
  if (static_cast<size_t>(type.num_fields()) != layout.size()) {
    return arrow::Status::Invalid("packed field '", field.name(), "': layout of ", layout.size(),
                                  " children for ", type.num_fields());
  }
  struct Src {
    std::shared_ptr<arrow::Array> a;
    const uint8_t* base = nullptr;
    bool nulls = false;
  };
  std::vector<Src> src(layout.size());
  for (size_t k = 0; k < layout.size(); ++k) {
    src[k].a = array.field(static_cast<int>(k));
    if (layout[k].bytes > 0) src[k].base = FixedBase(*src[k].a, n, &src[k].nulls);
    for (int64_t i = 0; i < n && (src[k].nulls || src[k].a->null_count() > 0); ++i) {
      if (array.IsNull(i)) continue;
      bool bad = src[k].a->IsNull(i);
      if (!bad && src[k].a->type_id() == arrow::Type::FIXED_SIZE_LIST) {
        const auto& l = static_cast<const arrow::FixedSizeListArray&>(*src[k].a);
        auto items = l.value_slice(i);
        bad = items->null_count() > 0;
      }
      if (bad) {
        return arrow::Status::Invalid("packed struct '", field.name(), "': child '",
                                      type.field(static_cast<int>(k))->name(), "' is null at row ",
                                      i,
                                      "; a packed struct stores no nulls inside its rows (leave "
                                      "the field unpacked to keep them)");
      }
    }
  }
  const int64_t row_bytes = PackedRowBytes(layout);
  if (row_bytes > 0) {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf, arrow::AllocateBuffer(n * row_bytes));
    uint8_t* out = buf->mutable_data();
    std::memset(out, 0, static_cast<size_t>(n * row_bytes));
    int64_t at = 0;
    for (size_t k = 0; k < layout.size(); ++k) {
      const int64_t w = layout[k].bytes;
      if (src[k].base != nullptr) {
        for (int64_t i = 0; i < n; ++i) {
          if (array.IsValid(i)) std::memcpy(out + i * row_bytes + at, src[k].base + i * w, w);
        }
      }
      at += w;
    }
    std::shared_ptr<arrow::Buffer> validity;
    if (array.null_count() > 0) {
      ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(n));
      arrow::internal::CopyBitmap(array.null_bitmap_data(), array.offset(), n,
                                  validity->mutable_data(), 0);
    }
    return arrow::MakeArray(
        arrow::ArrayData::Make(arrow::fixed_size_binary(static_cast<int32_t>(row_bytes)), n,
                               {validity, std::move(buf)}, array.null_count()));
  }
  arrow::BinaryBuilder b;
  std::string row;
  for (int64_t i = 0; i < n; ++i) {
    if (array.IsNull(i)) {
      ARROW_RETURN_NOT_OK(b.AppendNull());
      continue;
    }
    row.clear();
    for (size_t k = 0; k < layout.size(); ++k) {
      if (layout[k].bytes > 0) {
        if (src[k].base != nullptr) {
          row.append(reinterpret_cast<const char*>(src[k].base + i * layout[k].bytes),
                     static_cast<size_t>(layout[k].bytes));
        } else {
          row.append(static_cast<size_t>(layout[k].bytes), '\0');
        }
        continue;
      }
      std::string_view v = IsLarge(src[k].a->type_id())
                               ? static_cast<const arrow::LargeBinaryArray&>(*src[k].a).GetView(i)
                               : static_cast<const arrow::BinaryArray&>(*src[k].a).GetView(i);
      PutLength(&row, v.size(), layout[k].length_bytes);
      row.append(v);
    }
    ARROW_RETURN_NOT_OK(b.Append(row));
  }
  return b.Finish();
}

arrow::Result<std::shared_ptr<arrow::ArrayData>> UnpackRows(
    const std::shared_ptr<arrow::DataType>& struct_type, const std::vector<PackedChild>& layout,
    const arrow::ArrayData& rows) {
  const int64_t n = rows.length;
  if (struct_type->id() != arrow::Type::STRUCT ||
      static_cast<size_t>(struct_type->num_fields()) != layout.size()) {
    return arrow::Status::Invalid("packed rows for ", struct_type->ToString(), " with ",
                                  layout.size(), " children");
  }
  // Where each row's bytes are.
  std::vector<std::pair<const uint8_t*, int64_t>> at(static_cast<size_t>(n));
  const int64_t row_bytes = PackedRowBytes(layout);
  static const uint8_t kZeros[8] = {};
  if (rows.type->id() == arrow::Type::FIXED_SIZE_BINARY) {
    const int64_t w = static_cast<const arrow::FixedSizeBinaryType&>(*rows.type).byte_width();
    if (row_bytes == 0 || w != row_bytes) {
      return arrow::Status::IOError("Lance file corrupt: packed rows of ", w,
                                    " bytes for a struct of ", row_bytes);
    }
    const uint8_t* base = rows.buffers[1] ? rows.buffers[1]->data() : nullptr;
    if (base == nullptr && n > 0) return arrow::Status::IOError("Lance file corrupt: no rows");
    for (int64_t i = 0; i < n; ++i) at[static_cast<size_t>(i)] = {base + (rows.offset + i) * w, w};
  } else if (rows.type->id() == arrow::Type::BINARY) {
    const auto* off = rows.GetValues<int32_t>(1);
    const uint8_t* data = rows.buffers[2] ? rows.buffers[2]->data() : kZeros;
    for (int64_t i = 0; i < n; ++i) {
      at[static_cast<size_t>(i)] = {data + off[i], static_cast<int64_t>(off[i + 1]) - off[i]};
    }
  } else {
    return arrow::Status::Invalid("packed rows of type ", rows.type->ToString());
  }
  // A row of no bytes is a null row (a packed row holds at least one byte
  // per child): its children read as zeros and empty strings.
  std::vector<int64_t> cursor(static_cast<size_t>(n), 0);
  arrow::ArrayDataVector children;
  for (size_t k = 0; k < layout.size(); ++k) {
    const auto& ct = struct_type->field(static_cast<int>(k))->type();
    const std::string where =
        "packed struct child '" + struct_type->field(static_cast<int>(k))->name() + "'";
    if (layout[k].bytes > 0) {
      const int64_t w = layout[k].bytes;
      if (FixedBytes(*ct) != w) {
        return arrow::Status::IOError("Lance file corrupt: ", where, " of ", w, " bytes for ",
                                      ct->ToString());
      }
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buf, arrow::AllocateBuffer(n * w));
      std::memset(buf->mutable_data(), 0, static_cast<size_t>(n * w));
      for (int64_t i = 0; i < n; ++i) {
        auto& c = cursor[static_cast<size_t>(i)];
        const auto [p, len] = at[static_cast<size_t>(i)];
        if (len == 0) continue;
        if (c + w > len)
          return arrow::Status::IOError("Lance file corrupt: ", where, " beyond its row");
        std::memcpy(buf->mutable_data() + i * w, p + c, static_cast<size_t>(w));
        c += w;
      }
      children.push_back(FixedArray(ct, n, std::move(buf)));
      continue;
    }
    if (!IsVariable(ct->id())) {
      return arrow::Status::IOError("Lance file corrupt: ", where, " has a length prefix but is ",
                                    ct->ToString());
    }
    const int lb = layout[k].length_bytes;
    if (lb != 1 && lb != 2 && lb != 4 && lb != 8) {
      return arrow::Status::IOError("Lance file corrupt: ", where, " length of ", lb, " bytes");
    }
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), ct, &builder));
    std::string decoded;
    for (int64_t i = 0; i < n; ++i) {
      auto& c = cursor[static_cast<size_t>(i)];
      const auto [p, len] = at[static_cast<size_t>(i)];
      std::string_view v;
      if (len != 0) {
        if (c + lb > len)
          return arrow::Status::IOError("Lance file corrupt: ", where, " beyond its row");
        const uint64_t m = LoadLength(p + c, lb);
        c += lb;
        if (m > static_cast<uint64_t>(len - c)) {
          return arrow::Status::IOError("Lance file corrupt: ", where, " of ", m,
                                        " bytes beyond its row");
        }
        v = {reinterpret_cast<const char*>(p + c), static_cast<size_t>(m)};
        if (layout[k].decode) {
          decoded.clear();
          ARROW_RETURN_NOT_OK(layout[k].decode({p + c, static_cast<size_t>(m)}, &decoded));
          v = decoded;
        }
        c += static_cast<int64_t>(m);
      }
      if (IsLarge(ct->id())) {
        ARROW_RETURN_NOT_OK(static_cast<arrow::LargeBinaryBuilder&>(*builder).Append(v));
      } else {
        ARROW_RETURN_NOT_OK(static_cast<arrow::BinaryBuilder&>(*builder).Append(v));
      }
    }
    std::shared_ptr<arrow::Array> arr;
    ARROW_RETURN_NOT_OK(builder->Finish(&arr));
    if (ct->id() == arrow::Type::STRING || ct->id() == arrow::Type::LARGE_STRING) {
      ARROW_RETURN_NOT_OK(arr->ValidateFull());
    }
    children.push_back(arr->data());
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto [p, len] = at[static_cast<size_t>(i)];
    if (cursor[static_cast<size_t>(i)] != len) {
      return arrow::Status::IOError("Lance file corrupt: packed row ", i, " of ", len,
                                    " bytes holds ", cursor[static_cast<size_t>(i)]);
    }
  }
  return arrow::ArrayData::Make(struct_type, n, {nullptr}, std::move(children), 0);
}

}  // namespace ailake::encoding
