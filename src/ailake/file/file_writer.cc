// AilakeFileWriter: RecordBatch + embeddings -> Parquet (+ AILK sections).
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <cmath>
#include <cstring>
#include <set>

#include "ailake/file.h"
#include "ailake/file/ailk_section.h"
#include "ailake/file/section_splice.h"
#include "ailake/file/writer_internal.h"
#include "ailake/lance.h"
#include "ailake/vec/centroid.h"
#include "ailake/vec/codec.h"

namespace ailake {

std::string ColumnFooterOffsetKey(std::string_view column) {
  return "ailake." + std::string(column) + ".footer_offset";
}
std::string TextSectionKey(std::string_view column) {
  return "ailake." + std::string(column) + ".text_offset";
}

std::string_view FileFormatName(FileFormat f) {
  return f == FileFormat::kLance ? "lance" : "parquet";
}

arrow::Result<FileFormat> ParseFileFormat(std::string_view name) {
  if (name == "parquet") return FileFormat::kParquet;
  if (name == "lance") return FileFormat::kLance;
  return arrow::Status::Invalid("unknown storage format '", name,
                                "' (expected 'parquet' or 'lance')");
}

namespace file_internal {

std::shared_ptr<const arrow::KeyValueMetadata> VectorFieldMetadata(const VectorStoragePolicy& p) {
  std::vector<std::string> keys = {std::string(kFieldDimKey), std::string(kFieldMetricKey),
                                   std::string(kFieldPrecisionKey),
                                   std::string(kFieldPreNormalizeKey)};
  std::vector<std::string> values = {std::to_string(p.dim), std::string(MetricName(p.metric)),
                                     std::string(PrecisionName(p.precision)),
                                     p.pre_normalize ? "true" : "false"};
  if (p.precision == Precision::kInt8) {
    keys.emplace_back(kFieldInt8ScalingKey);
    values.emplace_back(p.int8.scaling == Int8Scaling::kFixed ? "fixed" : "per_vector");
    if (p.int8.scaling == Int8Scaling::kFixed) {
      // %a keeps the exact float bits through text.
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%a", static_cast<double>(p.int8.scale));
      keys.emplace_back(kFieldInt8ScaleKey);
      values.emplace_back(buf);
      std::snprintf(buf, sizeof(buf), "%a", static_cast<double>(p.int8.offset));
      keys.emplace_back(kFieldInt8OffsetKey);
      values.emplace_back(buf);
    }
  }
  return arrow::key_value_metadata(std::move(keys), std::move(values));
}

int64_t VectorPageRows(const FileWriteOptions& o, int64_t row_bytes) {
  // The Parquet writer closes a page once its encoded size reaches
  // data_page_bytes, checking after every write_batch_rows rows.
  const int64_t batch_bytes = o.write_batch_rows * row_bytes;
  const int64_t batches = std::max<int64_t>(1, (o.data_page_bytes + batch_bytes - 1) / batch_bytes);
  return batches * o.write_batch_rows;
}

arrow::Result<std::shared_ptr<parquet::WriterProperties>> MakeWriterProperties(
    const FileWriteOptions& o, const std::vector<std::string>& vector_columns,
    int64_t row_group_rows) {
  ARROW_ASSIGN_OR_RAISE(auto codec, arrow::util::Codec::GetCompressionType(o.compression));
  parquet::WriterProperties::Builder b;
  b.compression(codec)
      ->data_pagesize(o.data_page_bytes)
      ->dictionary_pagesize_limit(o.dictionary_page_bytes)
      ->write_batch_size(o.write_batch_rows)
      ->max_row_group_length(row_group_rows)
      ->enable_write_page_index()
      ->enable_page_checksum();  // CRC32 of every page, verified on read
  for (const auto& name : vector_columns) {
    b.disable_dictionary(name)
        ->compression(name, arrow::Compression::UNCOMPRESSED)
        ->encoding(name, parquet::Encoding::PLAIN)
        ->disable_statistics(name);
  }
  return b.build();
}

std::vector<LanceGlobalBuffer> LanceSections(const std::vector<SectionToWrite>& sections) {
  std::vector<LanceGlobalBuffer> out;
  out.reserve(sections.size());
  for (const auto& sec : sections) {
    out.push_back({arrow::Buffer::FromString(sec.bytes), SectionKey(sec)});
  }
  return out;
}

arrow::Status WriteLanceContainer(const arrow::Table& table,
                                  const std::vector<SectionToWrite>& sections,
                                  const FileWriteOptions& o, arrow::io::OutputStream* sink) {
  if (o.compression != "uncompressed") {
    return arrow::Status::NotImplemented("compression '", o.compression,
                                         "' in a Lance-format file: Lance pages choose their own "
                                         "compression per page (none in file version 2.0)");
  }
  // Offsets of another file's sections are never carried over.
  auto schema = table.schema();
  if (schema->metadata()) {
    std::vector<std::string> keys, values;
    for (int64_t i = 0; i < schema->metadata()->size(); ++i) {
      const auto& k = schema->metadata()->key(i);
      if (k.starts_with("ailake.") && k.ends_with("_offset")) continue;
      keys.push_back(k);
      values.push_back(schema->metadata()->value(i));
    }
    schema = schema->WithMetadata(arrow::key_value_metadata(keys, values));
  }
  LanceWriteOptions lo;
  lo.max_page_bytes = o.lance_page_bytes;
  lo.version = o.lance_version;
  lo.close_sink = false;
  lo.page_checksums = true;
  // The writer wants to share its sink; the caller owns this one.
  std::shared_ptr<arrow::io::OutputStream> borrowed(sink, [](arrow::io::OutputStream*) {});
  ARROW_ASSIGN_OR_RAISE(auto w, LanceFileWriter::Open(borrowed, schema, lo));
  ARROW_RETURN_NOT_OK(w->Write(*table.ReplaceSchemaMetadata(schema->metadata())));
  for (auto& g : LanceSections(sections)) ARROW_RETURN_NOT_OK(w->AddGlobalBuffer(std::move(g)));
  return w->Finish();
}

}  // namespace file_internal

using file_internal::SectionToWrite;

AilakeFileWriter::AilakeFileWriter(VectorStoragePolicy policy, FileWriteOptions options)
    : policy_(std::move(policy)), options_(std::move(options)) {}

AilakeFileWriter& AilakeFileWriter::WithHnswConfig(const HnswConfig& config) {
  policy_.hnsw = config;
  policy_.index_type = IndexType::kHnsw;
  return *this;
}
AilakeFileWriter& AilakeFileWriter::WithIvfPq(const IvfPqConfig& config) {
  policy_.ivf_pq = config;
  policy_.index_type = IndexType::kIvfPq;
  return *this;
}
AilakeFileWriter& AilakeFileWriter::WithIndexType(IndexType type) {
  policy_.index_type = type;
  return *this;
}
AilakeFileWriter& AilakeFileWriter::WithAutoIndex() { return WithIndexType(IndexType::kAuto); }
AilakeFileWriter& AilakeFileWriter::WithOptions(const FileWriteOptions& options) {
  options_ = options;
  return *this;
}
AilakeFileWriter& AilakeFileWriter::WithIvfPqCodebook(
    std::shared_ptr<const IvfPqCodebook> codebook) {
  if (codebook) {
    policy_.index_type = IndexType::kIvfPq;
    policy_.ivf_pq.nlist = codebook->nlist();
    policy_.ivf_pq.m = codebook->m();
  }
  options_.index_build.ivf_pq_codebook = std::move(codebook);
  return *this;
}

namespace {

// One vector column ready to write: its stored bytes and where it goes.
struct PreparedColumn {
  VectorStoragePolicy policy;
  std::shared_ptr<const IvfPqCodebook> ivf_pq_codebook;  // null = the writer's
  std::shared_ptr<arrow::Buffer> stored;                 // num_rows * row_bytes
  int replace_field = -1;  // batch field it replaces (FixedSizeList input), or -1
};

arrow::Result<std::vector<float>> FloatsFromList(const arrow::RecordBatch& batch, int field,
                                                 const VectorStoragePolicy& p) {
  const auto& arr = batch.column(field);
  const auto& name = p.vector_column;
  if (arr->type_id() != arrow::Type::FIXED_SIZE_LIST) {
    return arrow::Status::TypeError("vector column '", name, "' in the batch is ",
                                    arr->type()->ToString(), ", expected fixed_size_list<float32>[",
                                    p.dim, "]");
  }
  const auto& list = static_cast<const arrow::FixedSizeListArray&>(*arr);
  if (list.value_type()->id() != arrow::Type::FLOAT) {
    return arrow::Status::TypeError("vector column '", name, "': list values are ",
                                    list.value_type()->ToString(), ", expected float32");
  }
  if (static_cast<uint32_t>(list.list_type()->list_size()) != p.dim) {
    return arrow::Status::Invalid("vector column '", name, "': list size ",
                                  list.list_type()->list_size(),
                                  " does not match the policy's dim ", p.dim);
  }
  if (list.null_count() != 0) {
    return arrow::Status::Invalid("vector column '", name, "' has ", list.null_count(),
                                  " null vectors; vector columns are required (no nulls)");
  }
  const auto values = list.values()->Slice(list.value_offset(0), list.length() * p.dim);
  if (values->null_count() != 0) {
    return arrow::Status::Invalid("vector column '", name, "' has null elements inside vectors");
  }
  const auto& f = static_cast<const arrow::FloatArray&>(*values);
  return std::vector<float>(f.raw_values(), f.raw_values() + f.length());
}

arrow::Result<PreparedColumn> Prepare(const arrow::RecordBatch& batch, const VectorColumnBatch& c) {
  PreparedColumn out;
  out.policy = c.policy;
  out.ivf_pq_codebook = c.ivf_pq_codebook;
  const auto& p = out.policy;
  ARROW_RETURN_NOT_OK(p.Validate());
  const int64_t n = batch.num_rows();
  const int field = batch.schema()->GetFieldIndex(p.vector_column);
  std::vector<float> owned;
  std::span<const float> v = c.embeddings;
  if (v.empty()) {
    if (field < 0) {
      return arrow::Status::Invalid("no embeddings given and the batch has no column '",
                                    p.vector_column, "'");
    }
    ARROW_ASSIGN_OR_RAISE(owned, FloatsFromList(batch, field, p));
    v = owned;
    out.replace_field = field;
  } else if (field >= 0) {
    return arrow::Status::Invalid("embeddings were given for '", p.vector_column,
                                  "' but the batch already has a column of that name");
  }
  if (v.size() != static_cast<size_t>(n) * p.dim) {
    if (v.size() % p.dim == 0) {
      return arrow::Status::Invalid("column '", p.vector_column, "': ", v.size() / p.dim,
                                    " embeddings for ", n, " rows (counts must be equal)");
    }
    return arrow::Status::Invalid("column '", p.vector_column, "': ", v.size(),
                                  " floats is not rows (", n, ") x dim (", p.dim, ")");
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return arrow::Status::Invalid("column '", p.vector_column, "': embedding of row ", i / p.dim,
                                    " has ", std::isnan(v[i]) ? "NaN" : "Inf", " at dimension ",
                                    i % p.dim);
    }
  }
  if (p.pre_normalize) {
    if (owned.empty()) owned.assign(v.begin(), v.end());
    vec::NormalizeRows(owned.data(), static_cast<size_t>(n), p.dim);
    v = owned;
  }
  const int64_t row_bytes = p.StoredVectorBytes();
  ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(n * row_bytes));
  ARROW_RETURN_NOT_OK(vec::EncodeRows(p.precision, p.dim, p.int8, v.data(), static_cast<size_t>(n),
                                      buf->mutable_data()));
  out.stored = std::move(buf);
  return out;
}

// The index section of one prepared column.
arrow::Result<std::string> BuildSection(const PreparedColumn& c, int64_t num_rows,
                                        const IndexBuildOptions& build) {
  const auto& p = c.policy;
  ARROW_ASSIGN_OR_RAISE(auto view,
                        VectorView::Contiguous(p.precision, p.dim, p.int8, c.stored->data(),
                                               static_cast<uint32_t>(num_rows)));
  if (c.ivf_pq_codebook == nullptr) return file_internal::BuildSectionFromView(p, view, build);
  IndexBuildOptions own = build;
  own.ivf_pq_codebook = c.ivf_pq_codebook;
  return file_internal::BuildSectionFromView(p, view, own);
}

}  // namespace

namespace file_internal {

arrow::Result<std::string> BuildSectionFromView(const VectorStoragePolicy& p,
                                                const VectorView& view,
                                                const IndexBuildOptions& build) {
  ARROW_ASSIGN_OR_RAISE(const auto cr, vec::ComputeCentroidRadius(view, p.metric));
  std::shared_ptr<arrow::Buffer> blob;
  IndexType type = IndexType::kNone;
  if (p.index_type != IndexType::kNone) {
    ARROW_ASSIGN_OR_RAISE(auto index, BuildIndex(p, view, build));
    ARROW_ASSIGN_OR_RAISE(blob, index->Serialize());
    type = index->type();
  }
  std::span<const uint8_t> blob_bytes;
  if (blob) blob_bytes = {blob->data(), static_cast<size_t>(blob->size())};
  return EncodeAilkSection(p, type, view.num_rows(), cr.centroid, cr.radius, blob_bytes);
}

}  // namespace file_internal

arrow::Status AilakeFileWriter::WriteImpl(const arrow::RecordBatch& batch,
                                          std::span<const VectorColumnBatch> columns,
                                          bool with_sections, arrow::io::OutputStream* sink) const {
  if (batch.num_rows() == 0) {
    return arrow::Status::Invalid(
        "cannot write an empty batch (0 rows): an AI-Lake file holds at least one row");
  }
  if (batch.num_rows() > std::numeric_limits<uint32_t>::max()) {
    return arrow::Status::Invalid("batch of ", batch.num_rows(),
                                  " rows exceeds the per-file limit of 2^32-1");
  }
  if (columns.empty()) return arrow::Status::Invalid("no vector column to write");
  std::vector<PreparedColumn> prepared;
  std::set<std::string> names;
  for (const auto& c : columns) {
    if (!names.insert(c.policy.vector_column).second) {
      return arrow::Status::Invalid("vector column '", c.policy.vector_column, "' given twice");
    }
    ARROW_ASSIGN_OR_RAISE(auto pc, Prepare(batch, c));
    prepared.push_back(std::move(pc));
  }

  // Schema and arrays: batch columns (FixedSizeList vector inputs replaced in
  // place), then vector columns given as separate embeddings.
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  auto vector_array = [&](const PreparedColumn& pc) {
    const auto type = arrow::fixed_size_binary(pc.policy.StoredVectorBytes());
    auto field = arrow::field(pc.policy.vector_column, type, /*nullable=*/false,
                              file_internal::VectorFieldMetadata(pc.policy));
    auto array = std::make_shared<arrow::FixedSizeBinaryArray>(type, batch.num_rows(), pc.stored);
    return std::make_pair(field, std::static_pointer_cast<arrow::Array>(array));
  };
  for (int i = 0; i < batch.num_columns(); ++i) {
    const PreparedColumn* replaced = nullptr;
    for (const auto& pc : prepared) {
      if (pc.replace_field == i) replaced = &pc;
    }
    if (replaced) {
      auto [f, a] = vector_array(*replaced);
      fields.push_back(f);
      arrays.push_back(a);
    } else {
      fields.push_back(batch.schema()->field(i));
      arrays.push_back(batch.column(i));
    }
  }
  for (const auto& pc : prepared) {
    if (pc.replace_field >= 0) continue;
    auto [f, a] = vector_array(pc);
    fields.push_back(f);
    arrays.push_back(a);
  }
  auto schema = arrow::schema(fields, batch.schema()->metadata());
  auto table = arrow::Table::Make(schema, arrays, batch.num_rows());

  std::vector<std::string> vector_names;
  vector_names.reserve(prepared.size());
  for (const auto& pc : prepared) vector_names.push_back(pc.policy.vector_column);
  const int64_t page_rows =
      file_internal::VectorPageRows(options_, prepared.front().policy.StoredVectorBytes());
  const int64_t rg_rows = std::max(page_rows, options_.max_row_group_rows / page_rows * page_rows);
  ARROW_ASSIGN_OR_RAISE(auto props,
                        file_internal::MakeWriterProperties(options_, vector_names, rg_rows));
  auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();

  // Sections are built before the Parquet bytes so that a failing index build
  // leaves the sink untouched.
  std::vector<SectionToWrite> sections;
  if (with_sections) {
    for (size_t i = 0; i < prepared.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto bytes,
                            BuildSection(prepared[i], batch.num_rows(), options_.index_build));
      sections.push_back({prepared[i].policy.vector_column, i == 0, std::move(bytes)});
    }
  }

  if (options_.format == FileFormat::kLance) {
    return file_internal::WriteLanceContainer(*table, sections, options_, sink);
  }
  auto stream = std::make_shared<file_internal::FooterHoldingStream>(sink);
  ARROW_ASSIGN_OR_RAISE(
      auto writer, parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(), stream,
                                                    props, arrow_props));
  ARROW_RETURN_NOT_OK(writer->WriteTable(*table, rg_rows));
  if (with_sections) stream->Hold();
  ARROW_RETURN_NOT_OK(writer->Close());
  if (!with_sections) return arrow::Status::OK();

  const std::string& held = stream->held();
  const std::span<const uint8_t> tail(reinterpret_cast<const uint8_t*>(held.data()), held.size());
  ARROW_ASSIGN_OR_RAISE(auto split, file_internal::SplitFooter(tail, stream->forwarded()));
  const auto [footer_pos, footer] = split;
  if (footer_pos < stream->forwarded()) {
    return arrow::Status::Invalid("Parquet footer began before Close()");
  }
  ARROW_RETURN_NOT_OK(sink->Write(held.data(), footer_pos - stream->forwarded()));
  return file_internal::WriteSectionsAndFooter(sink, footer_pos, footer, sections);
}

namespace {
arrow::Result<std::shared_ptr<arrow::Buffer>> ToBuffer(
    const std::function<arrow::Status(arrow::io::OutputStream*)>& write) {
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::BufferOutputStream::Create());
  ARROW_RETURN_NOT_OK(write(out.get()));
  return out->Finish();
}
}  // namespace

arrow::Status AilakeFileWriter::WriteParquetOnly(const arrow::RecordBatch& batch,
                                                 std::span<const float> embeddings,
                                                 arrow::io::OutputStream* sink) const {
  const VectorColumnBatch c{policy_, embeddings};
  return WriteImpl(batch, {&c, 1}, /*with_sections=*/false, sink);
}
arrow::Result<std::shared_ptr<arrow::Buffer>> AilakeFileWriter::WriteParquetOnly(
    const arrow::RecordBatch& batch, std::span<const float> embeddings) const {
  return ToBuffer(
      [&](arrow::io::OutputStream* s) { return WriteParquetOnly(batch, embeddings, s); });
}
arrow::Status AilakeFileWriter::Write(const arrow::RecordBatch& batch,
                                      std::span<const float> embeddings,
                                      arrow::io::OutputStream* sink) const {
  const VectorColumnBatch c{policy_, embeddings};
  return WriteImpl(batch, {&c, 1}, /*with_sections=*/true, sink);
}
arrow::Result<std::shared_ptr<arrow::Buffer>> AilakeFileWriter::Write(
    const arrow::RecordBatch& batch, std::span<const float> embeddings) const {
  return ToBuffer([&](arrow::io::OutputStream* s) { return Write(batch, embeddings, s); });
}
arrow::Status AilakeFileWriter::WriteMulti(const arrow::RecordBatch& batch,
                                           std::span<const VectorColumnBatch> columns,
                                           arrow::io::OutputStream* sink) const {
  return WriteImpl(batch, columns, /*with_sections=*/true, sink);
}
arrow::Result<std::shared_ptr<arrow::Buffer>> AilakeFileWriter::WriteMulti(
    const arrow::RecordBatch& batch, std::span<const VectorColumnBatch> columns) const {
  return ToBuffer([&](arrow::io::OutputStream* s) { return WriteMulti(batch, columns, s); });
}
arrow::Status AilakeFileWriter::WriteIndexFor(
    const std::shared_ptr<arrow::io::RandomAccessFile>& parquet_only,
    arrow::io::OutputStream* sink) const {
  return AppendIndexSections(parquet_only, {&policy_, 1}, sink, options_.index_build);
}

}  // namespace ailake
