#include "ailake/table/data_file_writer.h"

#include <arrow/io/memory.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "ailake/lance.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"
#include "ailake/table/text_columns.h"

namespace ailake::table {

arrow::Status DescribeColumns(const Manifest& m, const AilakeFileReader& file, DataFile* df) {
  df->clear_fields();
  df->clear_column_indices();
  df->clear_vector_fields();
  SetDataFileVersion(file.format(), df, file.container_version().second);
  const auto& file_schema = *file.schema();
  const auto columns = file.field_columns();
  for (int c = 0; c < file_schema.num_fields(); ++c) {
    const int32_t id = TopLevelFieldId(m, file_schema.field(c)->name());
    if (id < 0) {
      return arrow::Status::Invalid("data file column '", file_schema.field(c)->name(),
                                    "' is not a column of the table");
    }
    df->add_fields(id);
    df->add_column_indices(columns[static_cast<size_t>(c)]);
    for (const auto& vc : m.vector_columns()) {
      if (vc.field_id() == id) df->add_vector_fields(id);
    }
  }
  return arrow::Status::OK();
}

std::vector<VectorStoragePolicy> PoliciesOfFile(const Table& table, const DataFile& df,
                                                const AilakeFileReader* file) {
  std::vector<VectorStoragePolicy> out;
  for (int32_t id : df.vector_fields()) {
    for (const auto& f : table::TableAccess::manifest(table).fields()) {
      if (f.id() != id) continue;
      auto p = table.vector_column(f.name());
      if (!p.ok()) continue;
      // The file keeps the name the column had when it was written; a rename
      // since then changed only the manifest. Find it by field id.
      for (int k = 0; file != nullptr && k < df.fields_size(); ++k) {
        if (df.fields(k) != id || df.column_indices(k) < 0) continue;
        auto name = file->FieldNameOfColumn(df.column_indices(k));
        if (name.ok()) p->vector_column = *name;
      }
      out.push_back(*p);
    }
  }
  return out;
}

namespace {

arrow::Result<WrittenFile> WriteDataFileImpl(const Table& table, const arrow::RecordBatch& batch,
                                             std::span<VectorColumnBatch> columns, IndexMode mode,
                                             const FileWriteOptions& given_options,
                                             std::vector<ColumnCodebook>* codebooks,
                                             bool require_all_columns) {
  if (batch.num_rows() == 0) {
    return arrow::Status::Invalid("cannot write an empty batch to table '", table.uri(), "'");
  }
  const IndexMode asked = mode;
  // The table decides the container; a different one asked for is refused,
  // not ignored (the default, Parquet, means "the table's").
  FileWriteOptions file_options = given_options;
  const FileFormat format = table.storage_format();
  if (file_options.format != format && file_options.format != FileFormat::kParquet) {
    return arrow::Status::Invalid("table '", table.uri(), "' stores its files as ",
                                  FileFormatName(format), "; a write asked for ",
                                  FileFormatName(file_options.format),
                                  " (change the table's with SetStorageFormat)");
  }
  file_options.format = format;
  if (format == FileFormat::kLance) file_options.compression = "uncompressed";
  // Every batch column must be a table column of the same type; every table
  // column must be present (vector columns may come as separate embeddings).
  auto schema = table.schema();
  for (int c = 0; c < batch.num_columns(); ++c) {
    const auto& f = batch.schema()->field(c);
    auto tf = schema->GetFieldByName(f->name());
    if (!tf) {
      return arrow::Status::Invalid("batch column '", f->name(), "' is not in table '", table.uri(),
                                    "' (schema: ", schema->ToString(), ")");
    }
    bool is_vector = false;
    for (const auto& p : table.vector_columns()) is_vector |= p.vector_column == f->name();
    if (!is_vector && !tf->type()->Equals(*f->type())) {
      return arrow::Status::TypeError("batch column '", f->name(), "' has type ",
                                      f->type()->ToString(), ", the table has ",
                                      tf->type()->ToString());
    }
    if (!is_vector && !tf->nullable() && batch.column(c)->null_count() > 0) {
      return arrow::Status::Invalid("batch column '", f->name(), "' holds ",
                                    batch.column(c)->null_count(),
                                    " nulls; the table's column is not nullable");
    }
  }
  for (const auto& tf : schema->fields()) {
    if (!require_all_columns || batch.schema()->GetFieldByName(tf->name())) continue;
    bool given = false;
    for (const auto& c : columns) {
      given |= c.policy.vector_column == tf->name() && !c.embeddings.empty();
    }
    if (!given) {
      return arrow::Status::Invalid("batch has no column '", tf->name(), "' of table '",
                                    table.uri(), "'");
    }
  }

  // A single IVF-PQ column whose table has no codebook yet and whose batch
  // is too small to train one is written pending instead (owed an IVF-PQ
  // index, searched exactly until the table has enough rows to train on).
  bool too_few_rows = false;
  ARROW_RETURN_NOT_OK(AttachCodebooks(table, batch, columns, file_options.index_build, codebooks,
                                      columns.size() == 1 ? &too_few_rows : nullptr));
  if (too_few_rows) {
    mode = IndexMode::kDeferred;
    columns.front().policy.index_type = IndexType::kIvfPq;
  }
  AilakeFileWriter writer(columns.empty() ? VectorStoragePolicy{} : columns.front().policy,
                          file_options);
  std::shared_ptr<arrow::Buffer> bytes;
  IndexState state = INDEX_STATE_NONE;
  IndexType pending_type = IndexType::kNone;
  if (columns.empty()) {
    // Scalar columns only (a table without vector columns, or AddColumns):
    // a plain Parquet file with its page index (or a Lance file), no AILK
    // section.
    ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
    ARROW_ASSIGN_OR_RAISE(auto t, arrow::Table::FromRecordBatches({arrow::RecordBatch::Make(
                                      batch.schema(), batch.num_rows(), batch.columns())}));
    if (format == FileFormat::kLance) {
      LanceWriteOptions lo;
      lo.max_page_bytes = file_options.lance_page_bytes;
      lo.version = file_options.lance_version;
      lo.page_checksums = true;
      ARROW_RETURN_NOT_OK(WriteLanceFile(*t, sink, lo));
      ARROW_ASSIGN_OR_RAISE(bytes, sink->Finish());
    } else {
      auto props = parquet::WriterProperties::Builder()
                       .enable_write_page_index()
                       ->enable_page_checksum()
                       ->compression(parquet::Compression::SNAPPY)
                       ->build();
      auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
      ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*t, arrow::default_memory_pool(), sink,
                                                     file_options.max_row_group_rows, props,
                                                     arrow_props));
      ARROW_ASSIGN_OR_RAISE(bytes, sink->Finish());
    }
  } else if (mode == IndexMode::kDeferred) {
    if (columns.size() != 1) {
      return arrow::Status::NotImplemented(
          "deferred indexing of a batch with several vector columns (use WriteBatchMulti)");
    }
    ARROW_ASSIGN_OR_RAISE(bytes, writer.WriteParquetOnly(batch, columns.front().embeddings));
    state = INDEX_STATE_PENDING;
    pending_type = columns.front().policy.index_type;
  } else {
    ARROW_ASSIGN_OR_RAISE(bytes, writer.WriteMulti(batch, columns));
    state = INDEX_STATE_INDEXED;
    bool any_index = false;
    for (const auto& c : columns) any_index |= c.policy.index_type != IndexType::kNone;
    if (!any_index) state = INDEX_STATE_NONE;
  }
  // The table's full-text indexes of the batch's columns, inline unless the
  // caller deferred indexing (the file then owes them).
  std::vector<int32_t> text_fields;
  if (asked != IndexMode::kDeferred) {
    ARROW_ASSIGN_OR_RAISE(
        auto text, TextSectionsOfBatch(table::TableAccess::manifest(table), batch, &text_fields));
    if (!text.empty()) {
      auto plain = std::make_shared<arrow::io::BufferReader>(bytes);
      ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
      ARROW_RETURN_NOT_OK(AppendTextSections(plain, text, sink.get()));
      ARROW_ASSIGN_OR_RAISE(bytes, sink->Finish());
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, AilakeFileReader::Open(bytes));
  WrittenFile out;
  out.num_rows = reader->num_rows();
  DataFile& df = out.data_file;
  ARROW_RETURN_NOT_OK(DescribeColumns(table::TableAccess::manifest(table), *reader, &df));
  df.set_path(DataFilePath(NewUuid(), format));
  df.set_file_size_bytes(static_cast<uint64_t>(bytes->size()));
  df.set_index_state(state);
  df.set_pending_index_type(static_cast<uint32_t>(pending_type));
  for (int32_t id : text_fields) df.add_text_fields(id);
  ARROW_RETURN_NOT_OK(table::TableAccess::context(table)->store->PutIfAbsent(df.path(), *bytes));
  return out;
}

}  // namespace

arrow::Result<WrittenFile> WriteDataFile(const Table& table, const arrow::RecordBatch& batch,
                                         std::span<const VectorColumnBatch> columns, IndexMode mode,
                                         const FileWriteOptions& file_options,
                                         std::vector<ColumnCodebook>* codebooks,
                                         bool require_all_columns) {
  std::vector<VectorColumnBatch> cols(columns.begin(), columns.end());
  // A nullable column the batch lacks (one added to the table after the
  // writer's data was shaped) is written as nulls, as LanceDB appends do.
  std::shared_ptr<arrow::RecordBatch> filled;
  if (require_all_columns) {
    for (const auto& tf : table.schema()->fields()) {
      const auto& have = filled ? *filled->schema() : *batch.schema();
      bool vector = false;
      for (const auto& p : table.vector_columns()) vector |= p.vector_column == tf->name();
      if (vector || !tf->nullable() || have.GetFieldIndex(tf->name()) >= 0) continue;
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(tf->type(), batch.num_rows()));
      const auto& base = filled ? *filled : batch;
      ARROW_ASSIGN_OR_RAISE(filled, base.AddColumn(base.num_columns(), tf, nulls));
    }
  }
  const size_t before = codebooks->size();
  auto written = WriteDataFileImpl(table, filled ? *filled : batch, cols, mode, file_options,
                                   codebooks, require_all_columns);
  if (!written.ok()) {
    // Codebooks trained for this file alone are garbage now.
    std::vector<ColumnCodebook> mine(codebooks->begin() + static_cast<std::ptrdiff_t>(before),
                                     codebooks->end());
    DiscardTrained(*table::TableAccess::context(table)->store, mine);
    codebooks->resize(before);
  }
  return written;
}

}  // namespace ailake::table
