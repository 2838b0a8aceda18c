// FieldEncoders of the Lance file format 2.0 (docs/FORMAT.md 5.3).
#include <arrow/array/concatenate.h>
#include <arrow/util/bitmap_ops.h>

#include <algorithm>
#include <cstring>

#include "ailake/encoding/field_encoder.h"
#include "ailake/encoding/lance_format.pb.h"
#include "ailake/encoding/packed_struct.h"

namespace ailake::encoding {
namespace {

constexpr std::string_view kArrayEncodingUrl = "/lance.encodings.ArrayEncoding";
constexpr std::string_view kColumnEncodingUrl = "/lance.encodings.ColumnEncoding";

std::string AnyOf(std::string_view url, const google::protobuf::MessageLite& m) {
  lance::AnyValue any;
  any.set_type_url(std::string(url));
  any.set_value(m.SerializeAsString());
  return any.SerializeAsString();
}

lance::ArrayEncoding Flat(uint64_t bits, uint32_t buffer_index) {
  lance::ArrayEncoding e;
  e.mutable_flat()->set_bits_per_value(bits);
  e.mutable_flat()->mutable_buffer()->set_buffer_index(buffer_index);
  return e;
}

// values under Nullable: no_nulls{values}, or some_nulls{validity (buffer 0), values}.
lance::ArrayEncoding Nullable(lance::ArrayEncoding values, bool has_nulls) {
  lance::ArrayEncoding e;
  if (has_nulls) {
    auto* some = e.mutable_nullable()->mutable_some_nulls();
    *some->mutable_validity() = Flat(1, 0);
    *some->mutable_values() = std::move(values);
  } else {
    *e.mutable_nullable()->mutable_no_nulls()->mutable_values() = std::move(values);
  }
  return e;
}

EncodedColumn ValuesColumn() {
  lance::ColumnEncoding c;
  c.mutable_values();
  return {AnyOf(kColumnEncodingUrl, c), {}};
}

// The validity bitmap of `a` as `n` bits from bit 0 (LSB first, 1 = valid).
arrow::Result<std::shared_ptr<arrow::Buffer>> Validity(const arrow::Array& a) {
  const int64_t n = a.length();
  if (a.null_bitmap_data() == nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer((n + 7) / 8));
    std::memset(buf->mutable_data(), 0xff, static_cast<size_t>(buf->size()));
    return std::shared_ptr<arrow::Buffer>(std::move(buf));
  }
  return arrow::internal::CopyBitmap(arrow::default_memory_pool(), a.null_bitmap_data(), a.offset(),
                                     n);
}

// The pages a leaf encoder cuts: pending arrays, sliced into pages of at
// most `rows_per_page` rows (or, for variable-width values, cut once
// max_page_bytes is buffered).
class Pending {
 public:
  void Add(std::shared_ptr<arrow::Array> a, uint64_t row_number) {
    if (arrays_.empty()) first_row_ = row_number;
    rows_ += a->length();
    arrays_.push_back(std::move(a));
  }
  int64_t rows() const { return rows_; }
  // The first `n` rows as one array (or everything when n >= rows()).
  arrow::Result<std::pair<std::shared_ptr<arrow::Array>, uint64_t>> Take(int64_t n) {
    n = std::min(n, rows_);
    arrow::ArrayVector parts;
    int64_t got = 0;
    while (got < n) {
      auto& front = arrays_.front();
      const int64_t take = std::min(n - got, front->length());
      parts.push_back(front->Slice(0, take));
      got += take;
      if (take == front->length()) {
        arrays_.erase(arrays_.begin());
      } else {
        front = front->Slice(take);
      }
    }
    const uint64_t first = first_row_;
    first_row_ += static_cast<uint64_t>(n);
    rows_ -= n;
    std::shared_ptr<arrow::Array> out;
    if (parts.size() == 1) {
      out = parts[0];
    } else {
      ARROW_ASSIGN_OR_RAISE(out, arrow::Concatenate(parts));
    }
    return std::make_pair(out, first);
  }

 private:
  std::vector<std::shared_ptr<arrow::Array>> arrays_;
  int64_t rows_ = 0;
  uint64_t first_row_ = 0;
};

// A one-column encoder that buffers arrays and cuts them into pages.
class LeafEncoder : public FieldEncoder {
 public:
  arrow::Result<std::vector<EncodeTask>> Flush(OutOfLineBuffers*) override {
    std::vector<EncodeTask> tasks;
    if (pending_.rows() > 0) ARROW_RETURN_NOT_OK(CutPage(pending_.rows(), &tasks));
    return tasks;
  }
  arrow::Result<std::vector<EncodedColumn>> Finish(OutOfLineBuffers*) override {
    return std::vector<EncodedColumn>{ValuesColumn()};
  }
  uint32_t NumColumns() const override { return 1; }

 protected:
  // The task that encodes `rows` (whose first row is `first`) as one page.
  virtual EncodeTask Task(std::shared_ptr<arrow::Array> rows, uint64_t first) const = 0;
  // A page of the first `n` buffered rows.
  arrow::Status CutPage(int64_t n, std::vector<EncodeTask>* tasks) {
    ARROW_ASSIGN_OR_RAISE(auto page, pending_.Take(n));
    tasks->push_back(Task(std::move(page.first), page.second));
    pending_bytes_ = 0;
    return arrow::Status::OK();
  }
  Pending pending_;
  int64_t pending_bytes_ = 0;  // variable-width encoders' measure of the buffer
};

// Fixed-width values: primitives, bool, fixed_size_binary, decimals, and
// fixed_size_list of those (no null items). One column.
class FixedWidthEncoder : public LeafEncoder {
 public:
  FixedWidthEncoder(std::shared_ptr<arrow::DataType> type, int64_t value_bits, int32_t dim,
                    const EncoderOptions& o)
      : type_(std::move(type)), value_bits_(value_bits), dim_(dim) {
    const int64_t row_bits = value_bits_ * std::max(1, dim_);
    rows_per_page_ = std::max<int64_t>(1, o.max_page_bytes * 8 / std::max<int64_t>(1, row_bits));
  }

  arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                     OutOfLineBuffers*, RepDefBuilder repdef,
                                                     uint64_t row_number, uint64_t) override {
    if (repdef.AnyNull()) return StructNulls();
    if (!array->type()->Equals(*type_)) {
      return arrow::Status::TypeError("encoder of ", type_->ToString(), " given ",
                                      array->type()->ToString());
    }
    pending_.Add(std::move(array), row_number);
    std::vector<EncodeTask> tasks;
    while (pending_.rows() >= rows_per_page_) ARROW_RETURN_NOT_OK(CutPage(rows_per_page_, &tasks));
    return tasks;
  }

  static arrow::Status StructNulls() {
    return arrow::Status::NotImplemented(
        "a struct with null rows: Lance file version 2.0 does not encode struct validity");
  }

 protected:
  EncodeTask Task(std::shared_ptr<arrow::Array> a, uint64_t first) const override {
    return [a = std::move(a), first, bits = value_bits_,
            dim = dim_]() -> arrow::Result<EncodedPage> { return Encode(*a, first, bits, dim); };
  }

 private:
  static arrow::Result<EncodedPage> Encode(const arrow::Array& a, uint64_t first, int64_t bits,
                                           int32_t dim) {
    EncodedPage page;
    page.num_rows = static_cast<uint64_t>(a.length());
    page.row_number = first;
    const int64_t n = a.length();
    const bool has_nulls = a.null_count() > 0;
    // The values: the list's items for a fixed_size_list.
    const arrow::Array* values = &a;
    int64_t per_row = 1;
    std::shared_ptr<arrow::Array> items;
    if (dim > 0) {
      const auto& fsl = static_cast<const arrow::FixedSizeListArray&>(a);
      items = fsl.values()->Slice(fsl.offset() * dim, n * dim);
      if (items->null_count() > 0) {
        return arrow::Status::NotImplemented(
            "fixed_size_list with null items (Lance 2.0 writer here: list-level nulls only)");
      }
      values = items.get();
      per_row = dim;
    }
    const int64_t count = n * per_row;
    std::shared_ptr<arrow::Buffer> data;
    if (bits == 1) {
      ARROW_ASSIGN_OR_RAISE(data, arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                                              values->data()->buffers[1]->data(),
                                                              values->offset(), count));
      if (has_nulls) {  // null slots read as false
        ARROW_ASSIGN_OR_RAISE(auto valid, Validity(a));
        arrow::internal::BitmapAnd(data->data(), 0, valid->data(), 0, count, 0,
                                   const_cast<uint8_t*>(data->data()));
      }
    } else {
      const int64_t width = bits / 8;
      ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(count * width));
      const uint8_t* src = values->data()->buffers[1]->data() + values->offset() * width;
      std::memcpy(buf->mutable_data(), src, static_cast<size_t>(count * width));
      if (has_nulls) {  // null slots zero-filled
        const int64_t row_bytes = width * per_row;
        for (int64_t r = 0; r < n; ++r) {
          if (a.IsNull(r)) std::memset(buf->mutable_data() + r * row_bytes, 0, row_bytes);
        }
      }
      data = std::move(buf);
    }
    if (has_nulls) {
      ARROW_ASSIGN_OR_RAISE(auto valid, Validity(a));
      page.buffers.push_back(std::move(valid));
    }
    page.buffers.push_back(std::move(data));
    const uint32_t values_index = has_nulls ? 1 : 0;
    lance::ArrayEncoding inner;
    if (dim > 0) {
      auto* f = inner.mutable_fixed_size_list();
      f->set_dimension(static_cast<uint32_t>(dim));
      *f->mutable_items() = Nullable(Flat(bits, values_index), false);
    } else {
      inner = Flat(bits, values_index);
    }
    page.encoding = AnyOf(kArrayEncodingUrl, Nullable(std::move(inner), has_nulls));
    return page;
  }

  std::shared_ptr<arrow::DataType> type_;
  int64_t value_bits_;
  int32_t dim_;  // 0: not a list
  int64_t rows_per_page_;
};

int64_t FlatBits(const arrow::DataType& t);

// A packed struct (packed_struct.h): one column of whole rows, the
// children's fixed-width values one after the other;
// PackedStruct{inner: each child's encoding, buffer: the rows}.
class PackedStructEncoder : public LeafEncoder {
 public:
  PackedStructEncoder(std::shared_ptr<arrow::Field> field, std::vector<PackedChild> layout,
                      const EncoderOptions& o)
      : field_(std::move(field)), layout_(std::move(layout)) {
    rows_per_page_ = std::max<int64_t>(1, o.max_page_bytes / PackedRowBytes(layout_));
  }

  arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                     OutOfLineBuffers*, RepDefBuilder repdef,
                                                     uint64_t row_number, uint64_t) override {
    if (repdef.AnyNull() || array->null_count() > 0) {
      return arrow::Status::NotImplemented(
          "packed struct '", field_->name(),
          "' has null rows: Lance file version 2.0 does not encode struct validity");
    }
    pending_.Add(std::move(array), row_number);
    std::vector<EncodeTask> tasks;
    while (pending_.rows() >= rows_per_page_) ARROW_RETURN_NOT_OK(CutPage(rows_per_page_, &tasks));
    return tasks;
  }

  // Each child's encoding inside the packed rows: flat values, or a
  // fixed-size list of them, without nulls.
  static lance::ArrayEncoding ChildEncoding(const arrow::DataType& t) {
    if (t.id() == arrow::Type::FIXED_SIZE_LIST) {
      const auto& l = static_cast<const arrow::FixedSizeListType&>(t);
      lance::ArrayEncoding e;
      auto* f = e.mutable_fixed_size_list();
      f->set_dimension(static_cast<uint32_t>(l.list_size()));
      *f->mutable_items() = ChildEncoding(*l.value_type());
      return Nullable(std::move(e), false);
    }
    return Nullable(Flat(static_cast<uint64_t>(FlatBits(t)), 0), false);
  }

 protected:
  EncodeTask Task(std::shared_ptr<arrow::Array> a, uint64_t first) const override {
    return [a = std::move(a), first, field = field_,
            layout = layout_]() -> arrow::Result<EncodedPage> {
      ARROW_ASSIGN_OR_RAISE(auto rows,
                            PackRows(*field, static_cast<const arrow::StructArray&>(*a), layout));
      EncodedPage page;
      page.num_rows = static_cast<uint64_t>(a->length());
      page.row_number = first;
      page.buffers.push_back(rows->data()->buffers[1]);
      lance::ArrayEncoding e;
      auto* ps = e.mutable_packed_struct();
      for (const auto& c : field->type()->fields()) *ps->add_inner() = ChildEncoding(*c->type());
      ps->mutable_buffer()->set_buffer_index(0);
      ps->mutable_buffer()->set_buffer_type(lance::Buffer::page);
      page.encoding = AnyOf(kArrayEncodingUrl, e);
      return page;
    };
  }

 private:
  std::shared_ptr<arrow::Field> field_;
  std::vector<PackedChild> layout_;
  int64_t rows_per_page_;
};

// utf8, binary and their large forms: Binary{indices, bytes, null_adjustment}.
class BinaryEncoder : public LeafEncoder {
 public:
  BinaryEncoder(std::shared_ptr<arrow::DataType> type, const EncoderOptions& o)
      : type_(std::move(type)), max_bytes_(o.max_page_bytes) {}

  arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                     OutOfLineBuffers*, RepDefBuilder repdef,
                                                     uint64_t row_number, uint64_t) override {
    if (repdef.AnyNull()) return FixedWidthEncoder::StructNulls();
    if (!array->type()->Equals(*type_)) {
      return arrow::Status::TypeError("encoder of ", type_->ToString(), " given ",
                                      array->type()->ToString());
    }
    std::vector<EncodeTask> tasks;
    // Rows of this array go to the current page until it holds max_bytes.
    int64_t start = 0;
    const int64_t n = array->length();
    while (start < n) {
      int64_t end = start;
      while (end < n && pending_bytes_ < max_bytes_) {
        pending_bytes_ += 8 + ValueLength(*array, end);
        ++end;
      }
      pending_.Add(array->Slice(start, end - start), row_number + static_cast<uint64_t>(start));
      start = end;
      if (pending_bytes_ >= max_bytes_) ARROW_RETURN_NOT_OK(CutPage(pending_.rows(), &tasks));
    }
    return tasks;
  }

 protected:
  EncodeTask Task(std::shared_ptr<arrow::Array> a, uint64_t first) const override {
    return [a = std::move(a), first]() -> arrow::Result<EncodedPage> { return Encode(*a, first); };
  }

 private:
  static int64_t ValueLength(const arrow::Array& a, int64_t i) {
    if (a.IsNull(i)) return 0;
    if (a.type_id() == arrow::Type::LARGE_STRING || a.type_id() == arrow::Type::LARGE_BINARY) {
      return static_cast<const arrow::LargeBinaryArray&>(a).value_length(i);
    }
    return static_cast<const arrow::BinaryArray&>(a).value_length(i);
  }

  static std::string_view Value(const arrow::Array& a, int64_t i) {
    if (a.type_id() == arrow::Type::LARGE_STRING || a.type_id() == arrow::Type::LARGE_BINARY) {
      return static_cast<const arrow::LargeBinaryArray&>(a).GetView(i);
    }
    return static_cast<const arrow::BinaryArray&>(a).GetView(i);
  }

  static arrow::Result<EncodedPage> Encode(const arrow::Array& array, uint64_t first) {
    const arrow::Array* a = &array;
    {
      const int64_t n = a->length();
      int64_t total = 0;
      for (int64_t i = 0; i < n; ++i) total += ValueLength(*a, i);
      // Row i's end offset; a null row: its start plus the adjustment
      // (total bytes + 1), so a reader tells it from an empty value.
      const uint64_t adjust = static_cast<uint64_t>(total) + 1;
      ARROW_ASSIGN_OR_RAISE(auto indices, arrow::AllocateBuffer(n * 8));
      ARROW_ASSIGN_OR_RAISE(auto bytes, arrow::AllocateBuffer(total));
      auto* idx = reinterpret_cast<uint64_t*>(indices->mutable_data());
      uint64_t end = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (a->IsNull(i)) {
          idx[i] = end + adjust;
          continue;
        }
        const std::string_view v = Value(*a, i);
        if (!v.empty()) std::memcpy(bytes->mutable_data() + end, v.data(), v.size());
        end += v.size();
        idx[i] = end;
      }
      EncodedPage page;
      page.num_rows = static_cast<uint64_t>(n);
      page.row_number = first;
      page.buffers = {std::move(indices), std::move(bytes)};
      lance::ArrayEncoding e;
      auto* b = e.mutable_binary();
      *b->mutable_indices() = Nullable(Flat(64, 0), false);
      *b->mutable_bytes() = Flat(8, 1);
      b->set_null_adjustment(adjust);
      page.encoding = AnyOf(kArrayEncodingUrl, e);
      return page;
    }
  }

  std::shared_ptr<arrow::DataType> type_;
  int64_t max_bytes_;
};

// Tasks of a child encoder, their pages moved `by` columns to the right
// (a nested field's columns follow its parent's).
void Shift(std::vector<EncodeTask> tasks, uint32_t by, std::vector<EncodeTask>* out) {
  for (auto& t : tasks) {
    out->emplace_back([t = std::move(t), by]() -> arrow::Result<EncodedPage> {
      ARROW_ASSIGN_OR_RAISE(EncodedPage p, t());
      p.column += by;
      return p;
    });
  }
}

// A struct: its own column (SimpleStruct pages, no buffers), then each
// child's columns.
class StructEncoder : public FieldEncoder {
 public:
  StructEncoder(std::string name, std::vector<std::unique_ptr<FieldEncoder>> children)
      : name_(std::move(name)), children_(std::move(children)) {}

  arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                     OutOfLineBuffers* external,
                                                     RepDefBuilder repdef, uint64_t row_number,
                                                     uint64_t num_rows) override {
    if (array->null_count() > 0 || repdef.AnyNull()) {
      return arrow::Status::NotImplemented(
          "struct field '", name_, "' has ", array->null_count(),
          " null rows: Lance file version 2.0 does not encode struct validity");
    }
    const auto& s = static_cast<const arrow::StructArray&>(*array);
    if (rows_ == 0) first_row_ = row_number;
    rows_ += array->length();
    std::vector<EncodeTask> out;
    uint32_t column = 1;
    for (size_t i = 0; i < children_.size(); ++i) {
      RepDefBuilder child_repdef = repdef;
      child_repdef.AddValidity(array);
      ARROW_ASSIGN_OR_RAISE(auto tasks,
                            children_[i]->MaybeEncode(s.field(static_cast<int>(i)), external,
                                                      child_repdef, row_number, num_rows));
      Shift(std::move(tasks), column, &out);
      column += children_[i]->NumColumns();
    }
    return out;
  }

  arrow::Result<std::vector<EncodeTask>> Flush(OutOfLineBuffers* external) override {
    std::vector<EncodeTask> out;
    if (rows_ > 0) {
      const auto rows = static_cast<uint64_t>(rows_);
      const uint64_t first = first_row_;
      out.emplace_back([rows, first]() -> arrow::Result<EncodedPage> {
        EncodedPage page;
        page.num_rows = rows;
        page.row_number = first;
        lance::ArrayEncoding e;
        e.mutable_struct_();
        page.encoding = AnyOf(kArrayEncodingUrl, e);
        return page;
      });
      rows_ = 0;
    }
    uint32_t column = 1;
    for (auto& c : children_) {
      ARROW_ASSIGN_OR_RAISE(auto tasks, c->Flush(external));
      Shift(std::move(tasks), column, &out);
      column += c->NumColumns();
    }
    return out;
  }

  arrow::Result<std::vector<EncodedColumn>> Finish(OutOfLineBuffers* external) override {
    std::vector<EncodedColumn> out{ValuesColumn()};
    for (auto& c : children_) {
      ARROW_ASSIGN_OR_RAISE(auto cols, c->Finish(external));
      for (auto& col : cols) out.push_back(std::move(col));
    }
    return out;
  }

  uint32_t NumColumns() const override {
    uint32_t n = 1;
    for (const auto& c : children_) n += c->NumColumns();
    return n;
  }

 private:
  std::string name_;
  std::vector<std::unique_ptr<FieldEncoder>> children_;
  int64_t rows_ = 0;
  uint64_t first_row_ = 0;
};

// list / large_list: its own column of offsets pages
// (List{offsets, null_offset_adjustment, num_items}: per row the end of its
// items relative to the page's first item, a null row's plus the adjustment),
// then the items' columns, which the child encoder pages on its own. Items
// of null lists are not stored.
class ListEncoder : public FieldEncoder {
 public:
  ListEncoder(std::string name, std::shared_ptr<arrow::DataType> type,
              std::unique_ptr<FieldEncoder> items, const EncoderOptions& o)
      : name_(std::move(name)),
        type_(std::move(type)),
        items_(std::move(items)),
        rows_per_page_(std::max<int64_t>(1, o.max_page_bytes / 8)) {}

  arrow::Result<std::vector<EncodeTask>> MaybeEncode(std::shared_ptr<arrow::Array> array,
                                                     OutOfLineBuffers* external,
                                                     RepDefBuilder repdef, uint64_t row_number,
                                                     uint64_t) override {
    if (repdef.AnyNull()) return FixedWidthEncoder::StructNulls();
    if (!array->type()->Equals(*type_)) {
      return arrow::Status::TypeError("encoder of ", type_->ToString(), " given ",
                                      array->type()->ToString());
    }
    ARROW_ASSIGN_OR_RAISE(auto items, ItemsOf(*array));
    std::vector<EncodeTask> out;
    const auto n_items = static_cast<uint64_t>(items->length());
    ARROW_ASSIGN_OR_RAISE(auto item_tasks,
                          items_->MaybeEncode(std::move(items), external, {}, item_row_, n_items));
    item_row_ += n_items;
    Shift(std::move(item_tasks), 1, &out);
    pending_.Add(std::move(array), row_number);
    while (pending_.rows() >= rows_per_page_) {
      ARROW_ASSIGN_OR_RAISE(auto page, pending_.Take(rows_per_page_));
      out.push_back(Task(std::move(page.first), page.second));
    }
    return out;
  }

  arrow::Result<std::vector<EncodeTask>> Flush(OutOfLineBuffers* external) override {
    std::vector<EncodeTask> out;
    if (pending_.rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(auto page, pending_.Take(pending_.rows()));
      out.push_back(Task(std::move(page.first), page.second));
    }
    ARROW_ASSIGN_OR_RAISE(auto tasks, items_->Flush(external));
    Shift(std::move(tasks), 1, &out);
    return out;
  }

  arrow::Result<std::vector<EncodedColumn>> Finish(OutOfLineBuffers* external) override {
    std::vector<EncodedColumn> out{ValuesColumn()};
    ARROW_ASSIGN_OR_RAISE(auto cols, items_->Finish(external));
    for (auto& c : cols) out.push_back(std::move(c));
    return out;
  }

  uint32_t NumColumns() const override { return 1 + items_->NumColumns(); }

 private:
  static bool Large(const arrow::Array& a) { return a.type_id() == arrow::Type::LARGE_LIST; }
  static int64_t Offset(const arrow::Array& a, int64_t i) {
    return Large(a) ? static_cast<const arrow::LargeListArray&>(a).value_offset(i)
                    : static_cast<const arrow::ListArray&>(a).value_offset(i);
  }
  static std::shared_ptr<arrow::Array> Values(const arrow::Array& a) {
    return Large(a) ? static_cast<const arrow::LargeListArray&>(a).values()
                    : static_cast<const arrow::ListArray&>(a).values();
  }

  // The items of the non-null lists of `a`, in order.
  static arrow::Result<std::shared_ptr<arrow::Array>> ItemsOf(const arrow::Array& a) {
    const int64_t n = a.length();
    const auto values = Values(a);
    bool hidden = false;  // a null list pointing at items
    for (int64_t i = 0; i < n && a.null_count() > 0; ++i) {
      hidden |= a.IsNull(i) && Offset(a, i + 1) != Offset(a, i);
    }
    if (!hidden) return values->Slice(Offset(a, 0), Offset(a, n) - Offset(a, 0));
    arrow::ArrayVector parts;
    for (int64_t i = 0; i < n; ++i) {
      if (a.IsValid(i))
        parts.push_back(values->Slice(Offset(a, i), Offset(a, i + 1) - Offset(a, i)));
    }
    if (parts.empty()) return arrow::MakeEmptyArray(values->type());
    return arrow::Concatenate(parts);
  }

  static EncodeTask Task(std::shared_ptr<arrow::Array> a, uint64_t first) {
    return [a = std::move(a), first]() -> arrow::Result<EncodedPage> {
      const int64_t n = a->length();
      uint64_t total = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (a->IsValid(i)) total += static_cast<uint64_t>(Offset(*a, i + 1) - Offset(*a, i));
      }
      const uint64_t adjust = total + 1;
      ARROW_ASSIGN_OR_RAISE(auto offsets, arrow::AllocateBuffer(n * 8));
      auto* out = reinterpret_cast<uint64_t*>(offsets->mutable_data());
      uint64_t end = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (a->IsNull(i)) {
          out[i] = end + adjust;
          continue;
        }
        end += static_cast<uint64_t>(Offset(*a, i + 1) - Offset(*a, i));
        out[i] = end;
      }
      EncodedPage page;
      page.num_rows = static_cast<uint64_t>(n);
      page.row_number = first;
      page.buffers.push_back(std::move(offsets));
      lance::ArrayEncoding e;
      auto* l = e.mutable_list();
      *l->mutable_offsets() = Nullable(Flat(64, 0), false);
      l->set_null_offset_adjustment(adjust);
      l->set_num_items(total);
      page.encoding = AnyOf(kArrayEncodingUrl, e);
      return page;
    };
  }

  std::string name_;
  std::shared_ptr<arrow::DataType> type_;
  std::unique_ptr<FieldEncoder> items_;
  int64_t rows_per_page_;
  Pending pending_;
  uint64_t item_row_ = 0;
};

// Bits per value of a fixed-width type this writer encodes Flat, or 0.
int64_t FlatBits(const arrow::DataType& t) {
  switch (t.id()) {
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::UINT8:
    case arrow::Type::INT16:
    case arrow::Type::UINT16:
    case arrow::Type::INT32:
    case arrow::Type::UINT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT64:
    case arrow::Type::HALF_FLOAT:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
    case arrow::Type::DURATION:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256:
    case arrow::Type::FIXED_SIZE_BINARY:
      return static_cast<const arrow::FixedWidthType&>(t).bit_width();
    default: return 0;
  }
}

std::string_view UnitName(arrow::TimeUnit::type u) {
  switch (u) {
    case arrow::TimeUnit::SECOND: return "s";
    case arrow::TimeUnit::MILLI: return "ms";
    case arrow::TimeUnit::MICRO: return "us";
    default: return "ns";
  }
}

}  // namespace

arrow::Result<std::string> LanceLogicalType(const arrow::DataType& t) {
  switch (t.id()) {
    case arrow::Type::BOOL: return std::string("bool");
    case arrow::Type::INT8: return std::string("int8");
    case arrow::Type::UINT8: return std::string("uint8");
    case arrow::Type::INT16: return std::string("int16");
    case arrow::Type::UINT16: return std::string("uint16");
    case arrow::Type::INT32: return std::string("int32");
    case arrow::Type::UINT32: return std::string("uint32");
    case arrow::Type::INT64: return std::string("int64");
    case arrow::Type::UINT64: return std::string("uint64");
    case arrow::Type::HALF_FLOAT: return std::string("halffloat");
    case arrow::Type::FLOAT: return std::string("float");
    case arrow::Type::DOUBLE: return std::string("double");
    case arrow::Type::STRING: return std::string("string");
    case arrow::Type::LARGE_STRING: return std::string("large_string");
    case arrow::Type::BINARY: return std::string("binary");
    case arrow::Type::LARGE_BINARY: return std::string("large_binary");
    case arrow::Type::DATE32: return std::string("date32:day");
    case arrow::Type::DATE64: return std::string("date64:ms");
    case arrow::Type::STRUCT: return std::string("struct");
    // A list of structs is "list.struct", as Lance names it.
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST: {
      const bool of_struct = t.field(0)->type()->id() == arrow::Type::STRUCT;
      return std::string(t.id() == arrow::Type::LIST ? "list" : "large_list") +
             (of_struct ? ".struct" : "");
    }
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(t);
      return "timestamp:" + std::string(UnitName(ts.unit())) + ":" +
             (ts.timezone().empty() ? std::string("-") : ts.timezone());
    }
    case arrow::Type::TIME32:
      return "time32:" + std::string(UnitName(static_cast<const arrow::Time32Type&>(t).unit()));
    case arrow::Type::TIME64:
      return "time64:" + std::string(UnitName(static_cast<const arrow::Time64Type&>(t).unit()));
    case arrow::Type::DURATION:
      return "duration:" + std::string(UnitName(static_cast<const arrow::DurationType&>(t).unit()));
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      const auto& d = static_cast<const arrow::DecimalType&>(t);
      return "decimal:" + std::to_string(d.bit_width()) + ":" + std::to_string(d.precision()) +
             ":" + std::to_string(d.scale());
    }
    case arrow::Type::FIXED_SIZE_BINARY:
      return "fixed_size_binary:" +
             std::to_string(static_cast<const arrow::FixedSizeBinaryType&>(t).byte_width());
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& l = static_cast<const arrow::FixedSizeListType&>(t);
      ARROW_ASSIGN_OR_RAISE(std::string item, LanceLogicalType(*l.value_type()));
      return "fixed_size_list:" + item + ":" + std::to_string(l.list_size());
    }
    default: break;
  }
  return arrow::Status::NotImplemented("type ", t.ToString(),
                                       " has no Lance file encoding in ailake yet");
}

arrow::Result<std::unique_ptr<FieldEncoder>> MakeFieldEncoder(const arrow::Field& field,
                                                              const EncoderOptions& options) {
  const auto& type = field.type();
  if (field.metadata() && field.metadata()->Contains("lance-encoding:compression")) {
    return arrow::Status::NotImplemented(
        "field '", field.name(),
        "': lance-encoding:compression needs Lance file version 2.1 or 2.2 (2.0 pages are "
        "written uncompressed)");
  }
  if (auto lt = LanceLogicalType(*type); !lt.ok()) {
    return lt.status().WithMessage("field '", field.name(), "': ", lt.status().message());
  }
  if (const int64_t bits = FlatBits(*type); bits > 0) {
    return std::make_unique<FixedWidthEncoder>(type, bits, 0, options);
  }
  if (IsPackedStruct(field)) {
    ARROW_ASSIGN_OR_RAISE(auto layout, PackedLayout(field, /*allow_variable=*/false));
    for (const auto& c : type->fields()) {
      const arrow::DataType* t = c->type().get();
      while (t->id() == arrow::Type::FIXED_SIZE_LIST) {
        t = static_cast<const arrow::FixedSizeListType&>(*t).value_type().get();
      }
      if (t->id() == arrow::Type::FIXED_SIZE_BINARY || FlatBits(*t) % 8 != 0) {
        return arrow::Status::NotImplemented("packed struct '", field.name(), "': child '",
                                             c->name(), "' of type ", c->type()->ToString(),
                                             " is not packed in Lance file version 2.0");
      }
    }
    return std::make_unique<PackedStructEncoder>(
        arrow::field(field.name(), type, field.nullable(), field.metadata()), std::move(layout),
        options);
  }
  switch (type->id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY: return std::make_unique<BinaryEncoder>(type, options);
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& l = static_cast<const arrow::FixedSizeListType&>(*type);
      const int64_t bits = FlatBits(*l.value_type());
      if (bits == 0 || l.value_type()->id() == arrow::Type::BOOL) {
        return arrow::Status::NotImplemented("fixed_size_list of ", l.value_type()->ToString(),
                                             " (field '", field.name(),
                                             "'): only lists of fixed-width values");
      }
      return std::make_unique<FixedWidthEncoder>(type, bits, l.list_size(), options);
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST: {
      ARROW_ASSIGN_OR_RAISE(auto items, MakeFieldEncoder(*type->field(0), options));
      return std::make_unique<ListEncoder>(field.name(), type, std::move(items), options);
    }
    case arrow::Type::STRUCT: {
      std::vector<std::unique_ptr<FieldEncoder>> children;
      for (const auto& child : type->fields()) {
        ARROW_ASSIGN_OR_RAISE(auto e, MakeFieldEncoder(*child, options));
        children.push_back(std::move(e));
      }
      return std::make_unique<StructEncoder>(field.name(), std::move(children));
    }
    default: break;
  }
  return arrow::Status::NotImplemented("field '", field.name(), "' of type ", type->ToString(),
                                       " has no Lance file encoding in ailake yet");
}

}  // namespace ailake::encoding
