// LanceFileWriter (include/ailake/lance.h): the Lance file around the pages
// the FieldEncoders produce (docs/FORMAT.md 5.1).
#include <deque>
#include <thread>

#include "ailake/encoding/encode_pool.h"
#include "ailake/encoding/field_encoder.h"
#include "ailake/encoding/lance_format.pb.h"
#include "ailake/encoding/lance_tail.h"
#include "ailake/encoding/page_checksums.h"
#include "ailake/lance.h"

namespace ailake {

namespace {

using encoding::kLanceAlignment;
constexpr uint16_t kMajor20 = 0, kMinor20 = 3;  // what Lance writes for file version 2.0

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}

// Schema fields in pre-order (a fixed_size_list's child is not a field).
arrow::Status AddFields(const arrow::Field& f, int32_t parent, int32_t* next_id,
                        encoding::lance::Schema* schema) {
  ARROW_ASSIGN_OR_RAISE(std::string logical, encoding::LanceLogicalType(*f.type()));
  auto* lf = schema->add_fields();
  const int32_t id = (*next_id)++;
  lf->set_name(f.name());
  lf->set_id(id);
  lf->set_parent_id(parent);
  lf->set_logical_type(logical);
  lf->set_nullable(f.nullable());
  const auto t = f.type()->id();
  if (t == arrow::Type::STRING || t == arrow::Type::LARGE_STRING || t == arrow::Type::BINARY ||
      t == arrow::Type::LARGE_BINARY) {
    lf->set_encoding(encoding::lance::Field::VAR_BINARY);
  } else if (t != arrow::Type::STRUCT) {
    lf->set_encoding(encoding::lance::Field::PLAIN);
  }
  if (f.metadata()) {
    for (int64_t i = 0; i < f.metadata()->size(); ++i) {
      (*lf->mutable_metadata())[f.metadata()->key(i)] = f.metadata()->value(i);
    }
  }
  if (t == arrow::Type::STRUCT || t == arrow::Type::LIST || t == arrow::Type::LARGE_LIST) {
    for (const auto& child : f.type()->fields()) {
      ARROW_RETURN_NOT_OK(AddFields(*child, id, next_id, schema));
    }
  }
  return arrow::Status::OK();
}

// Bytes of one row of a fixed-width type (fixed_size_binary, a fixed-size
// list of fixed-width values, a primitive), or 0.
int64_t FixedRowBytes(const arrow::DataType& t) {
  if (t.id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& l = static_cast<const arrow::FixedSizeListType&>(t);
    const int64_t item = FixedRowBytes(*l.value_type());
    return item > 0 ? item * l.list_size() : 0;
  }
  if (t.id() == arrow::Type::BOOL || !arrow::is_fixed_width(t.id())) return 0;
  return static_cast<const arrow::FixedWidthType&>(t).bit_width() / 8;
}

}  // namespace

struct LanceFileWriter::Impl {
  std::shared_ptr<arrow::io::OutputStream> sink;
  std::shared_ptr<arrow::Schema> schema;
  LanceWriteOptions options;
  std::vector<std::unique_ptr<encoding::FieldEncoder>> encoders;
  std::vector<uint32_t> first_column;  // of each top-level field
  std::vector<encoding::lance::ColumnMetadata> columns;
  encoding::OutOfLineBuffers external;
  std::vector<LanceGlobalBuffer> globals;
  std::unique_ptr<encoding::PageChecksumBuilder> checksums;  // with options.page_checksums
  std::deque<std::shared_ptr<encoding::EncodeJob>> pending;
  std::deque<uint32_t> pending_column_base;
  int64_t position = 0;
  int64_t rows = 0;
  bool finished = false;

  arrow::Status WriteBytes(const void* data, int64_t n) {
    ARROW_RETURN_NOT_OK(sink->Write(data, n));
    position += n;
    return arrow::Status::OK();
  }
  // Padding to the next 64-byte boundary, with the byte Lance pads with
  // ('H'), so that files of the same pages are byte-identical to Lance's.
  arrow::Status Align() {
    static const std::string kPad(kLanceAlignment, 'H');
    const int64_t pad = (kLanceAlignment - position % kLanceAlignment) % kLanceAlignment;
    return WriteBytes(kPad.data(), pad);
  }

  arrow::Status Submit(std::vector<encoding::EncodeTask> tasks, uint32_t base) {
    const size_t limit =
        options.max_pending_pages > 0
            ? static_cast<size_t>(options.max_pending_pages)
            : static_cast<size_t>(2 * std::max(1u, std::thread::hardware_concurrency()));
    for (auto& t : tasks) {
      pending.push_back(encoding::SubmitEncodeTask(std::move(t)));
      pending_column_base.push_back(base);
      while (pending.size() > limit) ARROW_RETURN_NOT_OK(WriteFront());
    }
    return arrow::Status::OK();
  }

  // Writes the oldest page: pages leave in the order their tasks were
  // returned, so each column's pages keep their order.
  arrow::Status WriteFront() {
    auto job = std::move(pending.front());
    const uint32_t base = pending_column_base.front();
    pending.pop_front();
    pending_column_base.pop_front();
    ARROW_ASSIGN_OR_RAISE(encoding::EncodedPage page, job->Get());
    const uint32_t column = base + page.column;
    if (column >= columns.size()) {
      return arrow::Status::Invalid("an encoder returned a page of column ", column, " of ",
                                    columns.size());
    }
    auto* p = columns[column].add_pages();
    for (const auto& b : page.buffers) {
      ARROW_RETURN_NOT_OK(Align());
      p->add_buffer_offsets(static_cast<uint64_t>(position));
      p->add_buffer_sizes(static_cast<uint64_t>(b->size()));
      ARROW_RETURN_NOT_OK(WriteBytes(b->data(), b->size()));
      if (checksums) checksums->Add(column, {b->data(), static_cast<size_t>(b->size())});
    }
    p->set_length(page.num_rows);
    p->set_priority(page.row_number);
    p->mutable_encoding()->mutable_direct()->set_encoding(std::move(page.encoding));
    return arrow::Status::OK();
  }
};

LanceFileWriter::LanceFileWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LanceFileWriter::~LanceFileWriter() {
  // Tasks not started are dropped; running ones hold no reference to the
  // writer but are waited for, so none outlives the buffers they read.
  for (auto& j : impl_->pending) j->Cancel();
}

arrow::Result<std::unique_ptr<LanceFileWriter>> LanceFileWriter::Open(
    std::shared_ptr<arrow::io::OutputStream> sink, std::shared_ptr<arrow::Schema> schema,
    const LanceWriteOptions& options) {
  if (options.version != "2.0" && options.version != "2.1" && options.version != "2.2") {
    return arrow::Status::NotImplemented("Lance file version '", options.version,
                                         "': ailake writes versions 2.0, 2.1 and 2.2");
  }
  if (options.max_page_bytes <= 0) {
    return arrow::Status::Invalid("max_page_bytes must be positive, got ", options.max_page_bytes);
  }
  if (!sink || !schema) return arrow::Status::Invalid("LanceFileWriter: null sink or schema");
  auto impl = std::make_unique<Impl>();
  impl->sink = std::move(sink);
  impl->schema = std::move(schema);
  impl->options = options;
  encoding::EncoderOptions eo;
  eo.max_page_bytes = options.max_page_bytes;
  uint32_t columns = 0;
  for (const auto& f : impl->schema->fields()) {
    std::unique_ptr<encoding::FieldEncoder> e;
    if (options.version == "2.0") {
      ARROW_ASSIGN_OR_RAISE(e, encoding::MakeFieldEncoder(*f, eo));
    } else {
      ARROW_ASSIGN_OR_RAISE(e,
                            encoding::MakeFieldEncoder21(*f, eo, options.version == "2.1" ? 1 : 2));
    }
    impl->first_column.push_back(columns);
    columns += e->NumColumns();
    impl->encoders.push_back(std::move(e));
  }
  impl->columns.resize(columns);
  if (options.page_checksums) {
    // Wide fixed-width rows (vectors) get a checksum per row, so that a take
    // reads and checks only its rows.
    std::vector<uint32_t> blocks(columns, encoding::kChecksumBlockBytes);
    for (size_t i = 0; i < impl->schema->fields().size(); ++i) {
      blocks[impl->first_column[i]] = encoding::ChecksumBlockBytes(
          FixedRowBytes(*impl->schema->field(static_cast<int>(i))->type()));
    }
    impl->checksums = std::make_unique<encoding::PageChecksumBuilder>(std::move(blocks));
  }
  return std::unique_ptr<LanceFileWriter>(new LanceFileWriter(std::move(impl)));
}

arrow::Status LanceFileWriter::Write(const arrow::RecordBatch& batch) {
  auto& s = *impl_;
  if (s.finished) return arrow::Status::Invalid("LanceFileWriter: Write after Finish");
  if (!batch.schema()->Equals(*s.schema, /*check_metadata=*/false)) {
    return arrow::Status::TypeError("batch schema ", batch.schema()->ToString(),
                                    " differs from the file's ", s.schema->ToString());
  }
  for (size_t i = 0; i < s.encoders.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(
        auto tasks, s.encoders[i]->MaybeEncode(batch.column(static_cast<int>(i)), &s.external, {},
                                               static_cast<uint64_t>(s.rows),
                                               static_cast<uint64_t>(batch.num_rows())));
    ARROW_RETURN_NOT_OK(s.Submit(std::move(tasks), s.first_column[i]));
  }
  s.rows += batch.num_rows();
  return arrow::Status::OK();
}

arrow::Status LanceFileWriter::Write(const arrow::Table& table) {
  arrow::TableBatchReader reader(table);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(Write(*batch));
  }
}

int64_t LanceFileWriter::rows_written() const { return impl_->rows; }

arrow::Status LanceFileWriter::Finish() {
  auto& s = *impl_;
  if (s.finished) return arrow::Status::Invalid("LanceFileWriter: Finish called twice");
  s.finished = true;
  for (size_t i = 0; i < s.encoders.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto tasks, s.encoders[i]->Flush(&s.external));
    ARROW_RETURN_NOT_OK(s.Submit(std::move(tasks), s.first_column[i]));
  }
  while (!s.pending.empty()) ARROW_RETURN_NOT_OK(s.WriteFront());
  for (size_t i = 0; i < s.encoders.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto cols, s.encoders[i]->Finish(&s.external));
    if (cols.size() != s.encoders[i]->NumColumns()) {
      return arrow::Status::Invalid("encoder of field ", i, " finished ", cols.size(),
                                    " columns, not ", s.encoders[i]->NumColumns());
    }
    for (size_t c = 0; c < cols.size(); ++c) {
      auto& meta = s.columns[s.first_column[i] + c];
      meta.mutable_encoding()->mutable_direct()->set_encoding(cols[c].encoding);
      for (const auto& b : cols[c].buffers) {
        ARROW_RETURN_NOT_OK(s.Align());
        meta.add_buffer_offsets(static_cast<uint64_t>(s.position));
        meta.add_buffer_sizes(static_cast<uint64_t>(b->size()));
        ARROW_RETURN_NOT_OK(s.WriteBytes(b->data(), b->size()));
      }
    }
  }
  if (!s.external.buffers().empty()) {
    return arrow::Status::NotImplemented("file-level buffers from encoders");
  }
  // Global buffer 0: the schema and the row count.
  encoding::lance::FileDescriptor fd;
  int32_t next_id = 0;
  for (const auto& f : s.schema->fields()) {
    ARROW_RETURN_NOT_OK(AddFields(*f, -1, &next_id, fd.mutable_schema()));
  }
  if (s.schema->metadata()) {
    for (int64_t i = 0; i < s.schema->metadata()->size(); ++i) {
      (*fd.mutable_schema()->mutable_metadata())[s.schema->metadata()->key(i)] =
          s.schema->metadata()->value(i);
    }
  }
  fd.set_length(static_cast<uint64_t>(s.rows));
  if (s.checksums) {
    s.globals.push_back({s.checksums->Finish(), std::string(encoding::kPageChecksumsKey)});
  }
  std::vector<std::string> metadata;
  metadata.reserve(s.columns.size());
  for (const auto& c : s.columns) metadata.push_back(c.SerializeAsString());
  ARROW_RETURN_NOT_OK(encoding::WriteLanceTail(s.sink.get(), s.position, std::move(fd), s.globals,
                                               metadata, s.options.version == "2.0" ? kMajor20 : 2,
                                               s.options.version == "2.0"   ? kMinor20
                                               : s.options.version == "2.1" ? 1
                                                                            : 2));
  return s.options.close_sink ? s.sink->Close() : arrow::Status::OK();
}

arrow::Status LanceFileWriter::AddGlobalBuffer(LanceGlobalBuffer buffer) {
  if (impl_->finished)
    return arrow::Status::Invalid("LanceFileWriter: AddGlobalBuffer after Finish");
  if (!buffer.bytes) return arrow::Status::Invalid("LanceFileWriter: null global buffer");
  impl_->globals.push_back(std::move(buffer));
  return arrow::Status::OK();
}

namespace encoding {

arrow::Status WriteLanceTail(arrow::io::OutputStream* sink, int64_t position,
                             lance::FileDescriptor fd,
                             const std::vector<LanceGlobalBuffer>& globals,
                             const std::vector<std::string>& column_metadata, uint16_t major,
                             uint16_t minor) {
  auto write = [&](const void* data, int64_t n) {
    position += n;
    return sink->Write(data, n);
  };
  auto align = [&] {
    static const std::string kPad(kLanceAlignment, 'H');
    return write(kPad.data(), (kLanceAlignment - position % kLanceAlignment) % kLanceAlignment);
  };
  std::vector<std::pair<uint64_t, uint64_t>> gbo(1);
  for (const auto& g : globals) {
    ARROW_RETURN_NOT_OK(align());
    gbo.emplace_back(static_cast<uint64_t>(position), static_cast<uint64_t>(g.bytes->size()));
    if (!g.offset_key.empty()) {
      (*fd.mutable_schema()->mutable_metadata())[g.offset_key] = std::to_string(position);
    }
    ARROW_RETURN_NOT_OK(write(g.bytes->data(), g.bytes->size()));
  }
  const std::string descriptor = fd.SerializeAsString();
  ARROW_RETURN_NOT_OK(align());
  gbo[0] = {static_cast<uint64_t>(position), descriptor.size()};
  ARROW_RETURN_NOT_OK(write(descriptor.data(), static_cast<int64_t>(descriptor.size())));
  // Column metadata, then the offset tables and the footer.
  std::vector<std::pair<uint64_t, uint64_t>> cmo;
  const int64_t metadata_start = position;
  for (const auto& bytes : column_metadata) {
    cmo.emplace_back(static_cast<uint64_t>(position), bytes.size());
    ARROW_RETURN_NOT_OK(write(bytes.data(), static_cast<int64_t>(bytes.size())));
  }
  std::string tail;
  const auto cmo_at = static_cast<uint64_t>(position);
  for (const auto& [pos, size] : cmo) {
    PutU64(&tail, pos);
    PutU64(&tail, size);
  }
  const uint64_t gbo_at = cmo_at + tail.size();
  for (const auto& [pos, size] : gbo) {
    PutU64(&tail, pos);
    PutU64(&tail, size);
  }
  PutU64(&tail, static_cast<uint64_t>(metadata_start));
  PutU64(&tail, cmo_at);
  PutU64(&tail, gbo_at);
  PutU32(&tail, static_cast<uint32_t>(gbo.size()));
  PutU32(&tail, static_cast<uint32_t>(column_metadata.size()));
  PutU16(&tail, major);
  PutU16(&tail, minor);
  tail += "LANC";
  return write(tail.data(), static_cast<int64_t>(tail.size()));
}

}  // namespace encoding

arrow::Status WriteLanceFile(const arrow::Table& table,
                             std::shared_ptr<arrow::io::OutputStream> sink,
                             const LanceWriteOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto w, LanceFileWriter::Open(std::move(sink), table.schema(), options));
  ARROW_RETURN_NOT_OK(w->Write(table));
  return w->Finish();
}

}  // namespace ailake
