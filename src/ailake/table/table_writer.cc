#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <arrow/compute/api.h>

#include "ailake/table.h"
#include "ailake/table/data_file_writer.h"
#include "ailake/table/deletion_file.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/optimize.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"
#include "ailake/table/text_columns.h"

namespace ailake {

using table::ColumnCodebook;
using table::DataFile;
using table::Fragment;
using table::IndexMode;
using table::Manifest;

namespace table {

// One new fragment per written file, with the manifest's next ids.
void AddFragments(const std::vector<WrittenFile>& files, Manifest* m) {
  for (const auto& w : files) {
    Fragment* f = m->add_fragments();
    f->set_id(m->next_fragment_id());
    m->set_next_fragment_id(m->next_fragment_id() + 1);
    f->set_physical_rows(static_cast<uint64_t>(w.num_rows));
    *f->add_files() = w.data_file;
  }
}

arrow::Result<std::shared_ptr<Table>> CommitAppend(const Table& t, std::vector<WrittenFile> files,
                                                   const std::string& detail,
                                                   const std::vector<ColumnCodebook>& codebooks,
                                                   bool* codebook_raced) {
  ARROW_ASSIGN_OR_RAISE(
      auto r, table::TableAccess::context(t)->manifests.Commit(
                  "append", detail, [&](const Manifest* latest) -> arrow::Result<Manifest> {
                    if (!latest) return arrow::Status::IOError("table '", t.uri(), "' vanished");
                    Manifest m = *latest;
                    // Appends rebase on anything, but a concurrent schema change invalidates
                    // the files' field ids.
                    if (m.max_field_id() != table::TableAccess::manifest(t).max_field_id() ||
                        m.fields_size() != table::TableAccess::manifest(t).fields_size()) {
                      return ConflictError("the schema changed at version " +
                                           std::to_string(m.version()) + " during an append");
                    }
                    ARROW_RETURN_NOT_OK(RecordCodebooks(&m, codebooks, codebook_raced));
                    for (auto& w : files) {
                      KeepCurrentTextFields(TableAccess::manifest(t), m, &w.data_file);
                    }
                    AddFragments(files, &m);
                    return m;
                  }));
  return TableAccess::Committed(TableAccess::context(t), std::move(r.manifest));
}

namespace {

arrow::Result<bool> IndexPendingFileOnce(const Table& t, const std::string& path,
                                         const IndexBuildOptions& build, bool* raced) {
  const auto& ctx = table::TableAccess::context(t);
  ARROW_ASSIGN_OR_RAISE(Manifest latest, ctx->manifests.ReadLatest());
  const DataFile* pending = nullptr;
  bool vector_owed = false;
  std::vector<int32_t> text_owed;
  for (const auto& f : latest.fragments()) {
    for (const auto& df : f.files()) {
      if (df.path() != path) continue;
      vector_owed = df.index_state() == INDEX_STATE_PENDING;
      text_owed = OwedTextFields(latest, df);
      if (vector_owed || !text_owed.empty()) pending = &df;
    }
  }
  if (!pending) return false;
  // Checkout shares the context: the codebook is loaded once, not per file.
  ARROW_ASSIGN_OR_RAISE(auto snapshot, t.Checkout(latest.version()));
  ARROW_ASSIGN_OR_RAISE(auto in, ctx->store->OpenRead(path));
  ARROW_ASSIGN_OR_RAISE(auto reader, AilakeFileReader::Open(in));
  std::vector<VectorStoragePolicy> policies;
  if (vector_owed) policies = PoliciesOfFile(*snapshot, *pending, reader.get());
  if (pending->pending_index_type() != 0) {
    for (auto& p : policies) p.index_type = static_cast<IndexType>(pending->pending_index_type());
  }
  // IVF-PQ sections use the column's shared codebook (one column per
  // deferred file, so the build options carry it).
  std::vector<ColumnCodebook> codebooks;
  IndexBuildOptions own = build;
  for (const auto& p : policies) {
    ARROW_ASSIGN_OR_RAISE(auto view, reader->Vectors(p.vector_column));
    if (ResolveIndexType(p, view.num_rows()) != IndexType::kIvfPq) continue;
    if (own.ivf_pq_codebook != nullptr) {
      return arrow::Status::NotImplemented("deferred IVF-PQ indexing of several vector columns");
    }
    ARROW_ASSIGN_OR_RAISE(own.ivf_pq_codebook,
                          CodebookForStoredVectors(*snapshot, p, view, build, &codebooks));
    // No codebook yet and too few rows here to train one: the file stays
    // pending until Optimize trains the codebook on several pending files
    // (its text indexes, if it owes any, are built meanwhile).
    if (own.ivf_pq_codebook == nullptr) {
      if (text_owed.empty()) return false;
      policies.clear();
      vector_owed = false;
      break;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto text, TextSectionsOfFile(latest, *pending, *reader, text_owed));
  const std::string new_path = DataFilePath(NewUuid(), reader->format());
  auto discard = [&] {
    (void)ctx->store->Delete(new_path);
    DiscardTrained(*ctx->store, codebooks);
  };
  auto write = [&]() -> arrow::Result<int64_t> {
    ARROW_ASSIGN_OR_RAISE(auto out, ctx->store->OpenWrite(new_path));
    if (policies.empty()) {
      ARROW_RETURN_NOT_OK(AppendTextSections(in, text, out.get()));
    } else {
      // A file indexed before (create_index on an indexed table) gets new sections.
      ARROW_RETURN_NOT_OK(AppendIndexSections(in, policies, text, out.get(), own,
                                              /*replace_existing=*/reader->IsAilakeFile()));
    }
    ARROW_RETURN_NOT_OK(out->Close());
    ARROW_ASSIGN_OR_RAISE(auto written, ctx->store->OpenRead(new_path));
    return written->GetSize();
  };
  auto new_size = write();
  if (!new_size.ok()) {
    discard();
    return new_size.status();
  }

  auto r = ctx->manifests.Commit(
      "index", path + " -> " + new_path, [&](const Manifest* cur) -> arrow::Result<Manifest> {
        Manifest m = *cur;
        for (auto& f : *m.mutable_fragments()) {
          for (auto& df : *f.mutable_files()) {
            if (df.path() != path || (vector_owed && df.index_state() != INDEX_STATE_PENDING)) {
              continue;
            }
            ARROW_RETURN_NOT_OK(RecordCodebooks(&m, codebooks, raced));
            df.set_path(new_path);
            df.set_file_size_bytes(static_cast<uint64_t>(*new_size));
            if (vector_owed) {
              df.set_index_state(INDEX_STATE_INDEXED);
              df.set_pending_index_type(0);
            }
            // A text section counts only if the column's index is still the
            // one it was built for (not dropped or replaced meanwhile).
            for (int32_t id : text_owed) {
              const TextColumn* now = TextColumnOf(m, id);
              const TextColumn* then = TextColumnOf(latest, id);
              if (now != nullptr && then != nullptr && now->analyzer() == then->analyzer() &&
                  now->positions() == then->positions()) {
                df.add_text_fields(id);
              }
            }
            return m;
          }
        }
        return arrow::Status::Cancelled("no longer pending");
      });
  if (!r.ok()) {
    discard();
    if (r.status().IsCancelled()) return false;  // compacted or indexed by someone else
    return r.status();
  }
  return true;
}

}  // namespace

// Builds the sections a deferred file owes and swaps the indexed file in.
// Returns false if the file is no longer pending in the latest version.
arrow::Result<bool> IndexPendingFile(const Table& t, const std::string& path,
                                     const IndexBuildOptions& build) {
  // Redone when another writer commits the column's first codebook meanwhile.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    bool raced = false;
    auto r = IndexPendingFileOnce(t, path, build, &raced);
    if (r.ok() || !raced || attempt == kAttempts) return r;
  }
}

}  // namespace table

class TableWriter::Impl {
 public:
  Impl(std::shared_ptr<Table> table, TableWriterOptions options)
      : table_(std::move(table)), options_(std::move(options)) {
    for (uint32_t i = 0; i < options_.background_threads; ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
  }
  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  arrow::Result<std::shared_ptr<Table>> Refresh() {
    ARROW_ASSIGN_OR_RAISE(auto t, table_->Latest());
    std::lock_guard<std::mutex> lock(mu_);
    table_ = t;
    return t;
  }
  std::shared_ptr<Table> table() {
    std::lock_guard<std::mutex> lock(mu_);
    return table_;
  }

  // One vector-column entry per table vector column; `embeddings` go to the
  // primary one, `override_type` (if set) replaces every column's index type.
  arrow::Result<std::vector<VectorColumnBatch>> Columns(const Table& t,
                                                        std::span<const float> embeddings,
                                                        std::optional<IndexType> override_type) {
    std::vector<VectorColumnBatch> cols;
    for (size_t i = 0; i < t.vector_columns().size(); ++i) {
      VectorColumnBatch c;
      c.policy = t.vector_columns()[i];
      if (override_type) c.policy.index_type = *override_type;
      if (i == 0) c.embeddings = embeddings;
      cols.push_back(c);
    }
    if (cols.empty() && !embeddings.empty()) {
      return arrow::Status::Invalid("table '", t.uri(), "' has no vector column for embeddings");
    }
    return cols;
  }

  arrow::Result<uint64_t> Write(const arrow::RecordBatch& batch,
                                std::span<const VectorColumnBatch> cols, IndexMode mode) {
    // A writer that trained a column's first codebook and lost the race to
    // commit it adopts the committed one: the file is written again with it.
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
      ARROW_ASSIGN_OR_RAISE(auto t, Refresh());
      std::vector<table::ColumnCodebook> codebooks;
      ARROW_ASSIGN_OR_RAISE(auto written,
                            table::WriteDataFile(*t, batch, cols, mode, options_.file, &codebooks));
      const std::string path = written.data_file.path();
      bool raced = false;
      auto committed = table::CommitAppend(
          *t, {written}, std::to_string(written.num_rows) + " rows in " + path, codebooks, &raced);
      if (!committed.ok()) {
        (void)table::TableAccess::context(*t)->store->Delete(path);
        table::DiscardTrained(*table::TableAccess::context(*t)->store, codebooks);
        if (raced && attempt < kAttempts) continue;
        return committed.status();
      }
      if (mode == IndexMode::kDeferred) Enqueue({Job::kIndex, path});
      ARROW_ASSIGN_OR_RAISE(auto now, Refresh());
      MaybeOptimize(*now);
      return (*committed)->version();
    }
  }

  // Background work: an owed index build of one file, or an optimize.
  struct Job {
    enum Kind { kIndex, kOptimize } kind;
    std::string path;  // kIndex: the pending file
  };

  void Enqueue(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (job.kind == Job::kOptimize) {
        // One queued optimize covers every full tier; it plans when it runs.
        if (optimize_queued_) return;
        optimize_queued_ = true;
      }
      queue_.push_back(std::move(job));
      ++outstanding_;
    }
    cv_.notify_all();
  }

  // Queues an optimize when `t` has a full tier (and the writer may merge).
  void MaybeOptimize(const Table& t) {
    if (!options_.auto_optimize || workers_.empty()) return;
    if (!table::PlanMerges(table::TableAccess::manifest(t), options_.optimize).empty() ||
        table::CodebookIsOwed(t)) {
      Enqueue({Job::kOptimize, {}});
    }
  }

  arrow::Status Wait() {
    // Without background threads the queued builds run here.
    while (workers_.empty()) {
      Job job;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) break;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      RunOne(job);
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return outstanding_ == 0; });
    arrow::Status st = first_error_;
    first_error_ = arrow::Status::OK();
    return st;
  }

  // Drops queued (not started) index builds and waits for running ones;
  // returns how many files were left pending.
  int Detach() {
    int dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      dropped = 0;
      for (const auto& job : queue_) dropped += job.kind == Job::kIndex ? 1 : 0;
      outstanding_ -= static_cast<int>(queue_.size());
      queue_.clear();
      optimize_queued_ = false;
    }
    done_cv_.notify_all();
    (void)Wait();
    return dropped;
  }

  arrow::Status ResumePending() {
    for (const auto& f : table::TableAccess::manifest(*table_).fragments()) {
      for (const auto& df : f.files()) {
        if (df.index_state() == table::INDEX_STATE_PENDING) Enqueue({Job::kIndex, df.path()});
      }
    }
    MaybeOptimize(*table_);
    return arrow::Status::OK();
  }

  const TableWriterOptions& options() const { return options_; }
  std::vector<std::shared_ptr<arrow::RecordBatch>> buffered;
  int64_t buffered_rows = 0;

 private:
  void WorkerLoop() {
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      RunOne(job);
    }
  }

  void RunOne(const Job& job) {
    auto t = table();
    arrow::Status st;
    if (job.kind == Job::kIndex) {
      st = table::IndexPendingFile(*t, job.path, options_.index_build).status();
      if (!st.ok()) {
        st = st.WithMessage("background indexing of '", job.path, "': ", st.message());
      }
    } else {
      {
        std::lock_guard<std::mutex> lock(mu_);
        optimize_queued_ = false;
      }
      // A merge that keeps losing to concurrent deletes is left to the next
      // optimize.
      // Owed indexes have jobs of their own, except those that waited for
      // the column's codebook: Optimize trains it and indexes them.
      OptimizeOptions opt = options_.optimize;
      opt.progress = {};
      st = t->Optimize(opt).status();
      if (table::IsConflict(st)) st = arrow::Status::OK();
      if (!st.ok()) st = st.WithMessage("background optimize: ", st.message());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!st.ok() && first_error_.ok()) first_error_ = st;
      --outstanding_;
    }
    done_cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::deque<Job> queue_;
  bool optimize_queued_ = false;
  int outstanding_ = 0;
  bool stop_ = false;
  arrow::Status first_error_;
  std::shared_ptr<Table> table_;
  TableWriterOptions options_;
  std::vector<std::thread> workers_;
};

TableWriter::TableWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TableWriter::~TableWriter() {
  if (impl_) (void)impl_->Wait();
}

int TableWriter::Detach() { return impl_->Detach(); }

arrow::Result<std::unique_ptr<TableWriter>> TableWriter::Open(const std::string& uri,
                                                              TableWriterOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto t, Table::Open(uri, std::nullopt, options.storage));
  if (options.storage_format && *options.storage_format != t->storage_format()) {
    return arrow::Status::Invalid(
        "table '", uri, "' stores its files as ", FileFormatName(t->storage_format()), ", not ",
        FileFormatName(*options.storage_format), " (Table::SetStorageFormat changes it)");
  }
  auto w = std::unique_ptr<TableWriter>(
      new TableWriter(std::make_unique<Impl>(std::move(t), std::move(options))));
  // Work a dead writer left behind (deferred files never indexed) is redone.
  ARROW_RETURN_NOT_OK(w->impl_->ResumePending());
  return w;
}

arrow::Result<std::unique_ptr<TableWriter>> TableWriter::Create(
    const std::string& uri, const std::shared_ptr<arrow::Schema>& schema,
    const std::vector<VectorStoragePolicy>& vector_columns, TableWriterOptions options) {
  auto created =
      Table::Create(uri, schema, vector_columns, options.storage, options.storage_format);
  if (!created.ok() && !created.status().IsAlreadyExists()) return created.status();
  if (!created.ok()) {
    ARROW_ASSIGN_OR_RAISE(auto existing, Table::Open(uri, std::nullopt, options.storage));
    if (existing->schema()->num_fields() != schema->num_fields()) {
      return arrow::Status::Invalid(
          "table '", uri, "' exists with another schema: ", existing->schema()->ToString());
    }
    // A table's vector columns are set when it is created: a writer asking
    // for other ones is refused, not silently given the table's.
    auto describe = [](const VectorStoragePolicy& p) {
      return "dim " + std::to_string(p.dim) + ", " + std::string(MetricName(p.metric)) + ", " +
             std::string(PrecisionName(p.precision)) + ", index " +
             std::string(IndexTypeName(p.index_type));
    };
    for (const auto& p : vector_columns) {
      auto have = existing->vector_column(p.vector_column);
      if (!have.ok()) {
        return arrow::Status::Invalid("table '", uri, "' has no vector column '", p.vector_column,
                                      "'");
      }
      if (have->dim != p.dim || have->metric != p.metric || have->precision != p.precision ||
          have->index_type != p.index_type) {
        return arrow::Status::Invalid(
            "table '", uri, "' exists with vector column '", p.vector_column, "' as ",
            describe(*have), "; this writer asks for ", describe(p),
            " (a table's vector columns are set when it is created; omit them to append)");
      }
    }
  }
  return Open(uri, std::move(options));
}

std::shared_ptr<Table> TableWriter::table() const { return impl_->table(); }

namespace {

// WriteOptions::columns: every table vector column given once, with the
// table's storage (dim, metric, precision) and its own index.
arrow::Result<uint64_t> WriteMulti(TableWriter::Impl* impl, const arrow::RecordBatch& batch,
                                   std::span<const VectorColumnBatch> columns, IndexMode mode) {
  auto t = impl->table();
  // Each table vector column must be given once, with the table's storage.
  std::vector<VectorColumnBatch> cols;
  for (const auto& p : t->vector_columns()) {
    VectorColumnBatch c;
    c.policy = p;
    for (const auto& given : columns) {
      if (given.policy.vector_column != p.vector_column) continue;
      if (given.policy.dim != p.dim || given.policy.metric != p.metric ||
          given.policy.precision != p.precision) {
        return arrow::Status::Invalid("vector column '", p.vector_column,
                                      "': dim/metric/precision differ from the table's");
      }
      c.policy.index_type = given.policy.index_type;
      c.policy.hnsw = given.policy.hnsw;
      c.policy.ivf_pq = given.policy.ivf_pq;
      c.embeddings = given.embeddings;
    }
    cols.push_back(c);
  }
  for (const auto& given : columns) {
    if (!t->vector_column(given.policy.vector_column).ok()) {
      return arrow::Status::Invalid("'", given.policy.vector_column,
                                    "' is not a vector column of table '", t->uri(), "'");
    }
  }
  return impl->Write(batch, cols, mode);
}

}  // namespace

arrow::Result<uint64_t> TableWriter::WriteBatch(const arrow::RecordBatch& batch,
                                                const WriteOptions& options) {
  const IndexMode mode = options.deferred ? IndexMode::kDeferred : IndexMode::kInline;
  if (!options.columns.empty()) {
    if (options.index || !options.embeddings.empty()) {
      return arrow::Status::Invalid(
          "WriteOptions: columns names every vector column's index and vectors; index and "
          "embeddings must not be set with it");
    }
    return WriteMulti(impl_.get(), batch, options.columns, mode);
  }
  if (options.index && *options.index != IndexType::kIvfPq && *options.index != IndexType::kAuto) {
    return arrow::Status::Invalid("WriteOptions::index may be ivf_pq or auto, not ",
                                  IndexTypeName(*options.index),
                                  " (Table::CreateIndex changes a column's index)");
  }
  if (options.index == IndexType::kAuto && options.deferred) {
    return arrow::Status::Invalid(
        "WriteOptions: the auto index is chosen as the batch is "
        "written, not deferred");
  }
  if (!options.deferred && !options.index) return WriteBatch(batch, options.embeddings);
  ARROW_ASSIGN_OR_RAISE(auto cols,
                        impl_->Columns(*impl_->table(), options.embeddings, options.index));
  return impl_->Write(batch, cols, mode);
}

arrow::Result<uint64_t> TableWriter::WriteBatch(const arrow::RecordBatch& batch,
                                                std::span<const float> embeddings) {
  if (impl_->options().min_rows_per_file > 0 && embeddings.empty()) {
    impl_->buffered.push_back(
        arrow::RecordBatch::Make(batch.schema(), batch.num_rows(), batch.columns()));
    impl_->buffered_rows += batch.num_rows();
    if (impl_->buffered_rows < impl_->options().min_rows_per_file) return 0;
    return Commit();
  }
  ARROW_ASSIGN_OR_RAISE(auto cols, impl_->Columns(*impl_->table(), embeddings, std::nullopt));
  return impl_->Write(batch, cols, IndexMode::kInline);
}

arrow::Result<uint64_t> TableWriter::Commit() {
  if (impl_->buffered.empty()) return impl_->table()->version();
  ARROW_ASSIGN_OR_RAISE(auto t, arrow::Table::FromRecordBatches(impl_->buffered));
  ARROW_ASSIGN_OR_RAISE(auto combined, t->CombineChunksToBatch());
  impl_->buffered.clear();
  impl_->buffered_rows = 0;
  ARROW_ASSIGN_OR_RAISE(auto cols, impl_->Columns(*impl_->table(), {}, std::nullopt));
  return impl_->Write(*combined, cols, IndexMode::kInline);
}

arrow::Result<uint64_t> TableWriter::WriteBatchDeferred(const arrow::RecordBatch& batch,
                                                        std::span<const float> embeddings) {
  return WriteBatch(batch, WriteOptions{.deferred = true, .embeddings = embeddings});
}

arrow::Result<uint64_t> TableWriter::WriteBatchIvfPq(const arrow::RecordBatch& batch,
                                                     std::span<const float> embeddings) {
  return WriteBatch(batch, WriteOptions{.index = IndexType::kIvfPq, .embeddings = embeddings});
}

arrow::Result<uint64_t> TableWriter::WriteBatchIvfPqDeferred(const arrow::RecordBatch& batch,
                                                             std::span<const float> embeddings) {
  return WriteBatch(
      batch, WriteOptions{.deferred = true, .index = IndexType::kIvfPq, .embeddings = embeddings});
}

arrow::Result<uint64_t> TableWriter::WriteBatchMulti(const arrow::RecordBatch& batch,
                                                     std::span<const VectorColumnBatch> columns) {
  return WriteBatch(batch, WriteOptions{.columns = columns});
}

arrow::Result<uint64_t> TableWriter::WriteBatchAuto(const arrow::RecordBatch& batch,
                                                    std::span<const float> embeddings) {
  return WriteBatch(batch, WriteOptions{.index = IndexType::kAuto, .embeddings = embeddings});
}

arrow::Status TableWriter::WaitForIndexing() { return impl_->Wait(); }

arrow::Result<std::string> Table::StageWrite(const arrow::RecordBatch& batch, bool deferred,
                                             const FileWriteOptions& file) const {
  std::vector<VectorColumnBatch> cols;
  IndexMode mode = deferred ? IndexMode::kDeferred : IndexMode::kInline;
  for (const auto& p : policies_) {
    VectorColumnBatch c;
    c.policy = p;
    if (p.index_type == IndexType::kIvfPq) {
      bool has_codebook = false;
      for (const auto& vc : manifest_->vector_columns()) {
        if (vc.field_id() == table::TopLevelFieldId(*manifest_, p.vector_column)) {
          has_codebook = !vc.ivf_codebook_path().empty();
        }
      }
      if (!has_codebook) {
        c.policy.index_type = IndexType::kNone;  // owed: the column's policy, later
        mode = IndexMode::kDeferred;
      }
    }
    cols.push_back(std::move(c));
  }
  std::vector<ColumnCodebook> codebooks;
  ARROW_ASSIGN_OR_RAISE(auto written,
                        table::WriteDataFile(*this, batch, cols, mode, file, &codebooks));
  table::StagedWrite s;
  s.set_table_uri(uri());
  s.set_base_version(version());
  s.set_max_field_id(manifest_->max_field_id());
  auto* f = s.add_files();
  *f->mutable_data_file() = written.data_file;
  f->set_num_rows(static_cast<uint64_t>(written.num_rows));
  for (const auto& c : codebooks) {
    auto* cb = s.add_codebooks();
    cb->set_field_id(c.field_id);
    cb->set_column(c.column);
    cb->set_path(c.path);
  }
  return s.SerializeAsString();
}

namespace {

// The files and codebooks of StageWrite descriptions, checked against the
// schema of `t`.
arrow::Status ParseStaged(const Table& t, std::span<const std::string> staged,
                          std::vector<table::WrittenFile>* files,
                          std::vector<ColumnCodebook>* codebooks, int64_t* rows) {
  for (size_t i = 0; i < staged.size(); ++i) {
    table::StagedWrite s;
    if (!s.ParseFromString(staged[i])) {
      return arrow::Status::Invalid("staged write ", i, " is not a StagedWrite description");
    }
    if (s.max_field_id() != table::TableAccess::manifest(t).max_field_id()) {
      return arrow::Status::Invalid(
          "staged write ", i, " was written for the schema of version ", s.base_version(), " of '",
          s.table_uri(), "', which differs from this table's (version ", t.version(), ")");
    }
    for (const auto& f : s.files()) {
      const std::string& path = f.data_file().path();
      if (!path.starts_with("data/") || !io::CheckRelative(path).ok()) {
        return arrow::Status::Invalid("staged write ", i, " names data file '", path,
                                      "', which is not under data/ of the table");
      }
      files->push_back({f.data_file(), static_cast<int64_t>(f.num_rows())});
      *rows += static_cast<int64_t>(f.num_rows());
    }
    for (const auto& c : s.codebooks()) {
      bool seen = false;
      for (const auto& have : *codebooks)
        seen |= have.field_id == c.field_id() && have.path == c.path();
      if (!seen) codebooks->push_back({c.field_id(), c.column(), c.path(), nullptr, false});
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::shared_ptr<Table>> Table::CommitStaged(
    std::span<const std::string> staged) const {
  std::vector<table::WrittenFile> files;
  std::vector<ColumnCodebook> codebooks;
  int64_t rows = 0;
  ARROW_RETURN_NOT_OK(ParseStaged(*this, staged, &files, &codebooks, &rows));
  if (files.empty()) return arrow::Status::Invalid("nothing staged to commit");
  const std::string detail =
      std::to_string(rows) + " rows in " + std::to_string(files.size()) + " staged files";
  return table::CommitAppend(*this, std::move(files), detail, codebooks, nullptr);
}

arrow::Result<std::shared_ptr<Table>> Table::CommitReplace(std::span<const RowId> row_ids,
                                                           std::span<const std::string> staged,
                                                           TableOperation op) const {
  if (op != TableOperation::kUpdate && op != TableOperation::kMerge) {
    return arrow::Status::Invalid("CommitReplace: operation '", TableOperationName(op),
                                  "' is neither update nor merge");
  }
  const std::string operation(TableOperationName(op));
  std::vector<table::WrittenFile> files;
  std::vector<ColumnCodebook> codebooks;
  int64_t rows = 0;
  ARROW_RETURN_NOT_OK(ParseStaged(*this, staged, &files, &codebooks, &rows));
  if (files.empty() && row_ids.empty()) return std::const_pointer_cast<Table>(shared_from_this());
  // The rows replaced, per fragment: rows of this version, each live.
  std::map<uint64_t, std::vector<uint32_t>> doomed;
  for (RowId id : row_ids) doomed[RowIdFragment(id)].push_back(RowIdOffset(id));
  const Manifest& read = (*manifest_);
  for (auto& [frag_id, offsets] : doomed) {
    std::sort(offsets.begin(), offsets.end());
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
    const Fragment* frag = table::FragmentById(read, frag_id);
    if (!frag || offsets.back() >= frag->physical_rows()) {
      return arrow::Status::KeyError("row id ",
                                     MakeRowId(static_cast<uint32_t>(frag_id), offsets.back()),
                                     " is not a row of version ", version());
    }
    ARROW_ASSIGN_OR_RAISE(auto deleted, ctx_->ReadDeletions(*frag));
    for (uint32_t o : offsets) {
      if (std::binary_search(deleted->begin(), deleted->end(), o)) {
        return arrow::Status::KeyError("row id ", MakeRowId(static_cast<uint32_t>(frag_id), o),
                                       " is deleted at version ", version());
      }
    }
  }
  const std::string detail = std::to_string(row_ids.size()) + " rows replaced by " +
                             std::to_string(rows) + " in " + std::to_string(files.size()) +
                             " files";
  ARROW_ASSIGN_OR_RAISE(
      auto r,
      ctx_->manifests.Commit(
          operation, detail, [&](const Manifest* latest) -> arrow::Result<Manifest> {
            if (!latest) return arrow::Status::IOError("table '", uri(), "' vanished");
            Manifest m = *latest;
            if (m.max_field_id() != read.max_field_id() || m.fields_size() != read.fields_size()) {
              return table::ConflictError("the schema changed at version " +
                                          std::to_string(m.version()) + " during an " + operation);
            }
            // A replaced row must still be the row this version read: its
            // fragment unchanged and the row not deleted since.
            for (const auto& [frag_id, offsets] : doomed) {
              Fragment* frag = nullptr;
              for (auto& f : *m.mutable_fragments()) {
                if (f.id() == frag_id) frag = &f;
              }
              const Fragment* mine = table::FragmentById(read, frag_id);
              if (!frag || !table::SameFiles(*mine, *frag)) {
                return table::ConflictError("fragment " + std::to_string(frag_id) +
                                            " was rewritten or removed at version " +
                                            std::to_string(latest->version()));
              }
              ARROW_ASSIGN_OR_RAISE(auto current, ctx_->ReadDeletions(*frag));
              for (uint32_t o : offsets) {
                if (std::binary_search(current->begin(), current->end(), o)) {
                  return table::ConflictError(
                      "row " + std::to_string(MakeRowId(static_cast<uint32_t>(frag_id), o)) +
                      " was deleted at version " + std::to_string(latest->version()));
                }
              }
              std::vector<uint32_t> merged = table::MergeDeleted(*current, offsets);
              ARROW_ASSIGN_OR_RAISE(auto bytes,
                                    table::SerializeDeletionFile(merged, frag->physical_rows()));
              const std::string path = table::DeletionFilePath(frag_id, table::NewUuid());
              ARROW_RETURN_NOT_OK(ctx_->store->PutIfAbsent(path, *bytes));
              frag->mutable_deletion_file()->set_path(path);
              frag->mutable_deletion_file()->set_num_deleted_rows(merged.size());
            }
            ARROW_RETURN_NOT_OK(table::RecordCodebooks(&m, codebooks, nullptr));
            for (auto& w : files) table::KeepCurrentTextFields(read, m, &w.data_file);
            table::AddFragments(files, &m);
            return m;
          }));
  return FromManifest(ctx_, std::move(r.manifest));
}

arrow::Result<std::vector<std::string>> Table::PendingFiles() const {
  ARROW_ASSIGN_OR_RAISE(auto latest, Latest());
  std::vector<std::string> out;
  for (const auto& frag : table::TableAccess::manifest(*latest).fragments()) {
    for (const auto& df : frag.files()) {
      if (df.index_state() == table::INDEX_STATE_PENDING ||
          !table::OwedTextFields(table::TableAccess::manifest(*latest), df).empty()) {
        out.push_back(df.path());
      }
    }
  }
  return out;
}

arrow::Result<int> Table::TrainPendingCodebooks(const IndexBuildOptions& build) const {
  ARROW_ASSIGN_OR_RAISE(auto latest, Latest());
  return table::TrainCodebooksFromPendingFiles(*latest, build);
}

arrow::Result<int> Table::BuildPendingIndexesOf(std::span<const std::string> paths,
                                                const IndexBuildOptions& build) const {
  int n = 0;
  for (const auto& p : paths) {
    ARROW_ASSIGN_OR_RAISE(bool done, table::IndexPendingFile(*this, p, build));
    n += done ? 1 : 0;
  }
  return n;
}

}  // namespace ailake
