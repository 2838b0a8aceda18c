#include "ailake/table/avro_container.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "ailake/core/checksum.h"

namespace ailake::table {
namespace {

// Avro C sizes its allocations from lengths in the bytes it decodes: a
// corrupted length asks for up to 2^64 bytes. Every Avro C allocation goes
// through this allocator, which refuses any single one above 64 MiB (a block
// of manifest entries or one value never needs more; Iceberg writers keep
// manifests near 8 MiB), so Avro C reports an error instead of the process
// aborting or exhausting memory. (On such errors Avro C itself may lose the
// buffer it was growing: scripts/lsan.supp.)
constexpr size_t kMaxAvroAllocation = size_t{64} << 20;

void* BoundedAvroAllocator(void* /*user*/, void* ptr, size_t /*old_size*/, size_t new_size) {
  if (new_size == 0) {
    std::free(ptr);  // NOLINT(cppcoreguidelines-no-malloc): Avro C's allocator contract
    return nullptr;
  }
  if (new_size > kMaxAvroAllocation) return nullptr;
  return std::realloc(ptr, new_size);  // NOLINT(cppcoreguidelines-no-malloc)
}

void UseBoundedAvroAllocator() {
  static std::once_flag once;
  std::call_once(once, [] { avro_set_allocator(BoundedAvroAllocator, nullptr); });
}

// Whether a value of `s` can take zero bytes (null, a fixed of size 0, a
// record of such fields). A named type that refers to itself is not.
bool ZeroBytes(avro_schema_t s, std::vector<avro_schema_t>* open) {
  if (is_avro_link(s)) s = avro_schema_link_target(s);
  if (s == nullptr) return false;
  if (is_avro_null(s)) return true;
  if (is_avro_fixed(s)) return avro_schema_fixed_size(s) == 0;
  if (!is_avro_record(s)) return false;
  if (std::find(open->begin(), open->end(), s) != open->end()) return false;
  open->push_back(s);
  bool zero = true;
  for (size_t i = 0; zero && i < avro_schema_record_size(s); ++i) {
    zero = ZeroBytes(avro_schema_record_field_get_by_index(s, static_cast<int>(i)), open);
  }
  open->pop_back();
  return zero;
}

// An array whose items take zero bytes lets a corrupted item count loop
// without reading input; such schemas (and zero-byte records) are refused.
bool HasZeroByteRepetition(avro_schema_t s, std::vector<avro_schema_t>* seen) {
  if (is_avro_link(s)) return false;  // its target is checked where it is defined
  if (s == nullptr || std::find(seen->begin(), seen->end(), s) != seen->end()) return false;
  seen->push_back(s);
  std::vector<avro_schema_t> open;
  if (is_avro_array(s)) {
    const avro_schema_t items = avro_schema_array_items(s);
    return ZeroBytes(items, &open) || HasZeroByteRepetition(items, seen);
  }
  if (is_avro_map(s)) return HasZeroByteRepetition(avro_schema_map_values(s), seen);
  if (is_avro_union(s)) {
    for (size_t i = 0; i < avro_schema_union_size(s); ++i) {
      if (HasZeroByteRepetition(avro_schema_union_branch(s, static_cast<int>(i)), seen)) {
        return true;
      }
    }
  }
  if (is_avro_record(s)) {
    for (size_t i = 0; i < avro_schema_record_size(s); ++i) {
      if (HasZeroByteRepetition(avro_schema_record_field_get_by_index(s, static_cast<int>(i)),
                                seen)) {
        return true;
      }
    }
  }
  return false;
}

// Avro's long: zig-zag, then base-128 varint.
void PutLong(std::string* out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out->push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<char>(z));
}

void PutBytes(std::string* out, const std::string& b) {
  PutLong(out, static_cast<int64_t>(b.size()));
  out->append(b);
}

arrow::Status Field(avro_value_t* rec, const char* name, avro_value_t* field) {
  if (avro_value_get_by_name(rec, name, field, nullptr) != 0) return AvroError(name);
  return arrow::Status::OK();
}

}  // namespace

arrow::Status AvroError(const char* what) {
  return arrow::Status::IOError("avro (", what, "): ", avro_strerror());
}

arrow::Result<std::unique_ptr<AvroContainerWriter>> AvroContainerWriter::Make(
    const std::string& schema_json, std::map<std::string, std::string> metadata) {
  UseBoundedAvroAllocator();
  std::unique_ptr<AvroContainerWriter> w(new AvroContainerWriter());
  w->schema_json_ = schema_json;
  w->metadata_ = std::move(metadata);
  if (avro_schema_from_json_length(schema_json.data(), schema_json.size(), &w->schema_) != 0) {
    return AvroError("parsing the schema");
  }
  w->iface_ = avro_generic_class_from_schema(w->schema_);
  if (w->iface_ == nullptr) return AvroError("a value class for the schema");
  return w;
}

AvroContainerWriter::~AvroContainerWriter() {
  if (iface_ != nullptr) avro_value_iface_decref(iface_);
  if (schema_ != nullptr) avro_schema_decref(schema_);
}

arrow::Status AvroContainerWriter::Append(
    const std::function<arrow::Status(avro_value_t* record)>& fill) {
  avro_value_t rec;
  if (avro_generic_value_new(iface_, &rec) != 0) return AvroError("a new record");
  arrow::Status st = fill(&rec);
  size_t size = 0;
  if (st.ok() && avro_value_sizeof(&rec, &size) != 0) st = AvroError("sizing a record");
  if (st.ok()) {
    std::string bytes(size, '\0');
    avro_writer_t out = avro_writer_memory(bytes.data(), static_cast<int64_t>(size));
    if (avro_value_write(out, &rec) != 0) st = AvroError("encoding a record");
    avro_writer_free(out);
    block_ += bytes;
    ++count_;
  }
  avro_value_decref(&rec);
  return st;
}

std::string AvroContainerWriter::Finish() const {
  std::string out("Obj\x01", 4);
  std::map<std::string, std::string> meta = metadata_;
  meta["avro.schema"] = schema_json_;
  meta["avro.codec"] = "null";
  PutLong(&out, static_cast<int64_t>(meta.size()));
  for (const auto& [k, v] : meta) {
    PutBytes(&out, k);
    PutBytes(&out, v);
  }
  PutLong(&out, 0);
  // The sync marker: derived from the content, so equal content gives equal
  // bytes (publishers racing to write one object write the same bytes).
  std::string sync;
  for (uint64_t part :
       {core::Checksum64(out.data(), out.size()), core::Checksum64(block_.data(), block_.size())}) {
    for (int i = 0; i < 8; ++i) sync.push_back(static_cast<char>((part >> (8 * i)) & 0xff));
  }
  out += sync;
  if (count_ > 0) {
    PutLong(&out, count_);
    PutLong(&out, static_cast<int64_t>(block_.size()));
    out += block_;
    out += sync;
  }
  return out;
}

arrow::Result<std::unique_ptr<AvroContainerReader>> AvroContainerReader::Open(
    std::shared_ptr<arrow::Buffer> bytes, std::string name) {
  UseBoundedAvroAllocator();
  std::unique_ptr<AvroContainerReader> r(new AvroContainerReader());
  r->bytes_ = std::move(bytes);
  r->name_ = std::move(name);
  if (r->bytes_->size() < 4 || std::memcmp(r->bytes_->data(), "Obj\x01", 4) != 0) {
    return arrow::Status::Invalid("'", r->name_, "' is not an Avro object container file");
  }
  // fmemopen reads the buffer in place ("r": never written).
  r->fp_ = fmemopen(const_cast<uint8_t*>(r->bytes_->data()), static_cast<size_t>(r->bytes_->size()),
                    "r");
  if (r->fp_ == nullptr) return arrow::Status::IOError("fmemopen for '", r->name_, "' failed");
  if (avro_file_reader_fp(r->fp_, r->name_.c_str(), /*should_close=*/0, &r->reader_) != 0) {
    r->reader_ = nullptr;
    return arrow::Status::Invalid("'", r->name_, "': ", avro_strerror());
  }
  r->schema_ = avro_file_reader_get_writer_schema(r->reader_);
  if (r->schema_ == nullptr || !is_avro_record(r->schema_)) {
    return arrow::Status::Invalid("'", r->name_, "': its records are not Avro records");
  }
  std::vector<avro_schema_t> open, seen;
  if (ZeroBytes(r->schema_, &open) || HasZeroByteRepetition(r->schema_, &seen)) {
    return arrow::Status::Invalid("'", r->name_,
                                  "': its schema has records or array items that take no bytes");
  }
  r->iface_ = avro_generic_class_from_schema(r->schema_);
  if (r->iface_ == nullptr) return arrow::Status::Invalid("'", r->name_, "': ", avro_strerror());
  if (avro_generic_value_new(r->iface_, &r->value_) != 0) {
    return arrow::Status::Invalid("'", r->name_, "': ", avro_strerror());
  }
  r->has_value_ = true;
  return r;
}

AvroContainerReader::~AvroContainerReader() {
  if (has_value_) avro_value_decref(&value_);
  if (iface_ != nullptr) avro_value_iface_decref(iface_);
  if (schema_ != nullptr) avro_schema_decref(schema_);
  if (reader_ != nullptr) avro_file_reader_close(reader_);
  if (fp_ != nullptr) std::fclose(fp_);
}

arrow::Result<avro_value_t*> AvroContainerReader::Next() {
  avro_value_reset(&value_);
  const int rc = avro_file_reader_read_value(reader_, &value_);
  if (rc == EOF) return nullptr;
  if (rc != 0) {
    return arrow::Status::Invalid("'", name_, "' record ", records_, ": ", avro_strerror());
  }
  ++records_;
  return &value_;
}

namespace {

// The field `name` of `rec`, with a ["null", T] union resolved to its branch
// (nullopt when null).
arrow::Result<std::optional<avro_value_t>> FieldOf(avro_value_t* rec, const char* name) {
  avro_value_t f;
  if (avro_value_get_by_name(rec, name, &f, nullptr) != 0) {
    return arrow::Status::Invalid("Avro record has no field '", name, "'");
  }
  if (avro_value_get_type(&f) == AVRO_UNION) {
    avro_value_t branch;
    if (avro_value_get_current_branch(&f, &branch) != 0) return AvroError(name);
    if (avro_value_get_type(&branch) == AVRO_NULL) return std::nullopt;
    return branch;
  }
  return f;
}

arrow::Result<avro_value_t> Required(avro_value_t* rec, const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto f, FieldOf(rec, name));
  if (!f) return arrow::Status::Invalid("Avro field '", name, "' is null");
  return *f;
}

}  // namespace

arrow::Result<std::optional<int64_t>> GetOptionalLong(avro_value_t* rec, const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto f, FieldOf(rec, name));
  if (!f) return std::nullopt;
  if (avro_value_get_type(&*f) == AVRO_INT32) {
    int32_t v = 0;
    if (avro_value_get_int(&*f, &v) != 0) return AvroError(name);
    return static_cast<int64_t>(v);
  }
  int64_t v = 0;
  if (avro_value_get_type(&*f) != AVRO_INT64 || avro_value_get_long(&*f, &v) != 0) {
    return arrow::Status::Invalid("Avro field '", name, "' is not a long");
  }
  return v;
}

arrow::Result<int64_t> GetLong(avro_value_t* rec, const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto v, GetOptionalLong(rec, name));
  if (!v) return arrow::Status::Invalid("Avro field '", name, "' is null");
  return *v;
}

arrow::Result<int32_t> GetInt(avro_value_t* rec, const char* name) {
  ARROW_ASSIGN_OR_RAISE(avro_value_t f, Required(rec, name));
  int32_t v = 0;
  if (avro_value_get_type(&f) != AVRO_INT32 || avro_value_get_int(&f, &v) != 0) {
    return arrow::Status::Invalid("Avro field '", name, "' is not an int");
  }
  return v;
}

arrow::Result<std::string> GetString(avro_value_t* rec, const char* name) {
  ARROW_ASSIGN_OR_RAISE(avro_value_t f, Required(rec, name));
  const char* p = nullptr;
  size_t size = 0;
  if (avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, &p, &size) != 0) {
    return arrow::Status::Invalid("Avro field '", name, "' is not a string");
  }
  // Avro C's size counts the terminating NUL.
  return std::string(p, size > 0 ? size - 1 : 0);
}

arrow::Result<avro_value_t> GetRecord(avro_value_t* rec, const char* name) {
  ARROW_ASSIGN_OR_RAISE(avro_value_t f, Required(rec, name));
  if (avro_value_get_type(&f) != AVRO_RECORD) {
    return arrow::Status::Invalid("Avro field '", name, "' is not a record");
  }
  return f;
}

arrow::Status SetLong(avro_value_t* rec, const char* name, int64_t v) {
  avro_value_t f;
  ARROW_RETURN_NOT_OK(Field(rec, name, &f));
  if (avro_value_set_long(&f, v) != 0) return AvroError(name);
  return arrow::Status::OK();
}

arrow::Status SetInt(avro_value_t* rec, const char* name, int32_t v) {
  avro_value_t f;
  ARROW_RETURN_NOT_OK(Field(rec, name, &f));
  if (avro_value_set_int(&f, v) != 0) return AvroError(name);
  return arrow::Status::OK();
}

arrow::Status SetString(avro_value_t* rec, const char* name, const std::string& v) {
  avro_value_t f;
  ARROW_RETURN_NOT_OK(Field(rec, name, &f));
  if (avro_value_set_string_len(&f, v.c_str(), v.size() + 1) != 0) return AvroError(name);
  return arrow::Status::OK();
}

arrow::Status SetNull(avro_value_t* rec, const char* name) {
  avro_value_t f, branch;
  ARROW_RETURN_NOT_OK(Field(rec, name, &f));
  if (avro_value_set_branch(&f, 0, &branch) != 0 || avro_value_set_null(&branch) != 0) {
    return AvroError(name);
  }
  return arrow::Status::OK();
}

arrow::Status SetOptionalLong(avro_value_t* rec, const char* name, int64_t v) {
  avro_value_t f, branch;
  ARROW_RETURN_NOT_OK(Field(rec, name, &f));
  if (avro_value_set_branch(&f, 1, &branch) != 0 || avro_value_set_long(&branch, v) != 0) {
    return AvroError(name);
  }
  return arrow::Status::OK();
}

}  // namespace ailake::table
