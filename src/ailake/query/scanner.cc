#include <arrow/compute/api.h>
#include <arrow/record_batch.h>

#include "ailake/query.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/manifest.pb.h"
#include "ailake/table/table_access.h"

namespace ailake {
namespace {

// Yields one batch per fragment (live rows, filter applied, limit honoured).
class FragmentScanReader : public arrow::RecordBatchReader {
 public:
  FragmentScanReader(std::shared_ptr<const Table> table, ScanOptions options,
                     std::shared_ptr<arrow::Schema> schema)
      : table_(std::move(table)), options_(std::move(options)), schema_(std::move(schema)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    const auto& frags = table::TableAccess::manifest(*table_).fragments();
    while (next_ < static_cast<size_t>(frags.size())) {
      if (options_.limit >= 0 && emitted_ >= options_.limit) return arrow::Status::OK();
      const auto& frag = frags[static_cast<int>(next_++)];
      // Read the requested columns plus the filter's, filter, then project.
      std::vector<std::string> cols = options_.columns;
      if (options_.filter && !cols.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto used, table::FilterColumns(*options_.filter));
        for (const auto& name : used) {
          if (std::find(cols.begin(), cols.end(), name) == cols.end()) cols.push_back(name);
        }
      }
      ARROW_ASSIGN_OR_RAISE(auto t, table_->ReadFragment(frag.id(), cols, options_.with_row_id));
      if (options_.filter) {
        ARROW_ASSIGN_OR_RAISE(auto batch, t->CombineChunksToBatch());
        ARROW_ASSIGN_OR_RAISE(auto mask, table::EvaluateFilter(*options_.filter, *batch));
        ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(arrow::Datum(batch), mask));
        ARROW_ASSIGN_OR_RAISE(t, arrow::Table::FromRecordBatches({filtered.record_batch()}));
      }
      ARROW_ASSIGN_OR_RAISE(t, t->SelectColumns(Projection(*t->schema())));
      if (options_.limit >= 0 && emitted_ + t->num_rows() > options_.limit) {
        t = t->Slice(0, options_.limit - emitted_);
      }
      if (t->num_rows() == 0) continue;
      emitted_ += t->num_rows();
      ARROW_ASSIGN_OR_RAISE(*out, t->CombineChunksToBatch());
      return arrow::Status::OK();
    }
    return arrow::Status::OK();
  }

 private:
  std::vector<int> Projection(const arrow::Schema& s) const {
    std::vector<int> idx;
    for (const auto& f : schema_->fields()) idx.push_back(s.GetFieldIndex(f->name()));
    return idx;
  }

  std::shared_ptr<const Table> table_;
  ScanOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  size_t next_ = 0;
  int64_t emitted_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanBatches(
    std::shared_ptr<const Table> table, ScanOptions options) {
  arrow::FieldVector fields;
  if (options.columns.empty()) {
    fields = table->schema()->fields();
  } else {
    for (const auto& c : options.columns) {
      auto f = table->schema()->GetFieldByName(c);
      if (!f) return arrow::Status::KeyError("table '", table->uri(), "' has no column '", c, "'");
      fields.push_back(f);
    }
  }
  if (options.with_row_id) fields.push_back(arrow::field("_rowid", arrow::uint64(), false));
  if (options.filter) {
    // Fail early, naming the filter, if it does not bind to the table.
    arrow::FieldVector all = table->schema()->fields();
    ARROW_RETURN_NOT_OK(table::BindFilter(*options.filter, *arrow::schema(all)).status());
  }
  return std::make_shared<FragmentScanReader>(std::move(table), std::move(options),
                                              arrow::schema(fields));
}

arrow::Result<std::shared_ptr<arrow::Table>> Scan(std::shared_ptr<const Table> table,
                                                  const ScanOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto reader, ScanBatches(std::move(table), options));
  return reader->ToTable();
}

arrow::Result<std::shared_ptr<arrow::Table>> Table::Scan(const ScanOptions& options) const {
  return ailake::Scan(shared_from_this(), options);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Table::ScanBatches(
    ScanOptions options) const {
  return ailake::ScanBatches(shared_from_this(), std::move(options));
}

}  // namespace ailake
