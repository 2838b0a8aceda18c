#include "ailake/table/shared_codebook.h"

#include <arrow/array.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ailake/table.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/table_schema.h"
#include "ailake/vec/codec.h"
#include "ailake/vec/kmeans.h"

namespace ailake::table {

arrow::Result<std::shared_ptr<const IvfPqCodebook>> CodebookCache::Load(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = loaded_.find(path);
    if (it != loaded_.end()) return it->second;
  }
  auto bytes = store_->Read(path);
  if (!bytes.ok()) {
    return arrow::Status::IOError("shared IVF-PQ codebook '", path, "' of table '", store_->root(),
                                  "' cannot be read: ", bytes.status().message());
  }
  auto cb = IvfPqCodebook::Load(*bytes);
  if (!cb.ok()) {
    return arrow::Status::Invalid("shared IVF-PQ codebook '", path, "' of table '", store_->root(),
                                  "' is corrupt: ", cb.status().message());
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = loaded_.emplace(path, *cb);
  return it->second;
}

void CodebookCache::Put(const std::string& path, std::shared_ptr<const IvfPqCodebook> codebook) {
  std::lock_guard<std::mutex> lock(mu_);
  loaded_[path] = std::move(codebook);
  known_.insert(path);
}

void CodebookCache::Register(const Manifest& m) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& vc : m.vector_columns()) {
    if (!vc.ivf_codebook_path().empty()) known_.insert(vc.ivf_codebook_path());
  }
}

arrow::Result<std::shared_ptr<const IvfPqCodebook>> CodebookCache::Find(uint64_t fingerprint) {
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> lock(mu_);
    paths.assign(known_.begin(), known_.end());
  }
  std::string seen;
  arrow::Status first_error;
  for (const auto& path : paths) {
    auto cb = Load(path);
    if (!cb.ok()) {
      if (first_error.ok()) first_error = cb.status();
      continue;
    }
    if ((*cb)->fingerprint() == fingerprint) return *cb;
    seen +=
        (seen.empty() ? "" : ", ") + path + " (" + FormatFingerprint((*cb)->fingerprint()) + ")";
  }
  // A codebook that could not be read is the likeliest culprit: name it.
  if (!first_error.ok()) return first_error;
  return arrow::Status::KeyError("table '", store_->root(), "' has no codebook with it (",
                                 seen.empty() ? "it names none" : "it names " + seen, ")");
}

namespace {

const VectorColumn* ColumnOf(const Manifest& m, int32_t field_id) {
  for (const auto& vc : m.vector_columns()) {
    if (vc.field_id() == field_id) return &vc;
  }
  return nullptr;
}

ColumnCodebook* InSession(std::vector<ColumnCodebook>* session, int32_t field_id) {
  for (auto& c : *session) {
    if (c.field_id == field_id) return &c;
  }
  return nullptr;
}

// The column's f32 rows as the batch gives them: its embeddings or its
// FixedSizeList<float32> column. Anything else is left for the file writer
// to reject with its own message.
arrow::Result<std::span<const float>> BatchFloats(const arrow::RecordBatch& batch,
                                                  const VectorColumnBatch& c) {
  const auto& p = c.policy;
  const size_t want = static_cast<size_t>(batch.num_rows()) * p.dim;
  if (!c.embeddings.empty()) {
    if (c.embeddings.size() != want) {
      return arrow::Status::Invalid("column '", p.vector_column, "': ", c.embeddings.size(),
                                    " floats is not rows (", batch.num_rows(), ") x dim (", p.dim,
                                    ")");
    }
    return c.embeddings;
  }
  auto arr = batch.GetColumnByName(p.vector_column);
  if (!arr || arr->type_id() != arrow::Type::FIXED_SIZE_LIST || arr->null_count() != 0) {
    return arrow::Status::Invalid("vector column '", p.vector_column,
                                  "' is missing from the batch or not fixed_size_list<float32>[",
                                  p.dim, "] without nulls");
  }
  const auto& list = static_cast<const arrow::FixedSizeListArray&>(*arr);
  if (list.value_type()->id() != arrow::Type::FLOAT ||
      static_cast<uint32_t>(list.list_type()->list_size()) != p.dim) {
    return arrow::Status::Invalid("vector column '", p.vector_column, "' is ",
                                  arr->type()->ToString(), ", expected fixed_size_list<float32>[",
                                  p.dim, "]");
  }
  const auto values = list.values()->Slice(list.value_offset(0), static_cast<int64_t>(want));
  if (values->null_count() != 0) {
    return arrow::Status::Invalid("vector column '", p.vector_column,
                                  "' has null elements inside vectors");
  }
  const auto& f = static_cast<const arrow::FloatArray&>(*values);
  return std::span<const float>(f.raw_values(), want);
}

// Trains the column's codebook on `vectors`, stores it under _indexes/ and
// adds it to `session` (trained = true).
arrow::Result<std::shared_ptr<const IvfPqCodebook>> TrainAndStore(
    const Table& table, const VectorStoragePolicy& policy, int32_t field_id,
    const VectorView& vectors, const IndexBuildOptions& build,
    std::vector<ColumnCodebook>* session) {
  VectorStoragePolicy p = policy;
  p.index_type = IndexType::kIvfPq;
  ARROW_ASSIGN_OR_RAISE(auto cb, TrainIvfPqCodebook(p, vectors, build));
  ARROW_ASSIGN_OR_RAISE(auto bytes, cb->Serialize());
  ColumnCodebook used;
  used.field_id = field_id;
  used.column = policy.vector_column;
  used.path = CodebookPath(policy.vector_column, NewUuid());
  used.codebook = cb;
  used.trained = true;
  ARROW_RETURN_NOT_OK(table::TableAccess::context(table)->store->PutIfAbsent(used.path, *bytes));
  table::TableAccess::context(table)->codebooks->Put(used.path, cb);
  session->push_back(std::move(used));
  return cb;
}

// The codebook of `policy`'s column already known to this operation or to
// the table, or null when the column has none yet.
arrow::Result<std::shared_ptr<const IvfPqCodebook>> Existing(const Table& table,
                                                             const VectorStoragePolicy& policy,
                                                             int32_t field_id,
                                                             std::vector<ColumnCodebook>* session) {
  if (const ColumnCodebook* s = InSession(session, field_id)) return s->codebook;
  const VectorColumn* vc = ColumnOf(table::TableAccess::manifest(table), field_id);
  if (vc == nullptr || vc->ivf_codebook_path().empty()) {
    return std::shared_ptr<const IvfPqCodebook>{};
  }
  ARROW_ASSIGN_OR_RAISE(
      auto cb, table::TableAccess::context(table)->codebooks->Load(vc->ivf_codebook_path()));
  if (cb->dim() != policy.dim) {
    return arrow::Status::Invalid("shared IVF-PQ codebook '", vc->ivf_codebook_path(), "' is dim ",
                                  cb->dim(), ", column '", policy.vector_column, "' is dim ",
                                  policy.dim);
  }
  session->push_back({field_id, policy.vector_column, vc->ivf_codebook_path(), cb, false});
  return cb;
}

}  // namespace

uint64_t MinCodebookTrainingRows(const VectorStoragePolicy& policy) {
  if (policy.ivf_pq.min_training_rows > 0) return policy.ivf_pq.min_training_rows;
  const uint64_t codewords = uint64_t{1} << std::min<uint32_t>(policy.ivf_pq.nbits, 16);
  return 39 * std::max<uint64_t>(policy.ivf_pq.nlist, codewords);
}

arrow::Status AttachCodebooks(const Table& table, const arrow::RecordBatch& batch,
                              std::span<VectorColumnBatch> columns, const IndexBuildOptions& build,
                              std::vector<ColumnCodebook>* session, bool* too_few_rows) {
  for (auto& c : columns) {
    if (c.ivf_pq_codebook != nullptr) continue;
    const auto type = ResolveIndexType(c.policy, static_cast<uint64_t>(batch.num_rows()));
    if (type != IndexType::kIvfPq) continue;
    const int32_t field_id =
        TopLevelFieldId(table::TableAccess::manifest(table), c.policy.vector_column);
    ARROW_ASSIGN_OR_RAISE(c.ivf_pq_codebook, Existing(table, c.policy, field_id, session));
    if (c.ivf_pq_codebook != nullptr) continue;

    // First IVF-PQ batch of the column: train on a bounded sample of it, in
    // the space the file will store (pre_normalize applied), if it is large
    // enough to train on.
    const auto& p = c.policy;
    if (too_few_rows != nullptr &&
        static_cast<uint64_t>(batch.num_rows()) < MinCodebookTrainingRows(p)) {
      *too_few_rows = true;
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto floats, BatchFloats(batch, c));
    const size_t n = static_cast<size_t>(batch.num_rows());
    const auto rows =
        vec::SampleRows(n, size_t{kCodebookSampleRowsPerList} * p.ivf_pq.nlist, p.ivf_pq.seed);
    std::vector<float> sample(rows.size() * p.dim);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(&sample[i * p.dim], &floats[rows[i] * p.dim], size_t{p.dim} * sizeof(float));
    }
    for (float v : sample) {
      if (!std::isfinite(v)) {
        return arrow::Status::Invalid("column '", p.vector_column,
                                      "': embeddings hold a NaN or infinite value");
      }
    }
    if (p.pre_normalize) vec::NormalizeRows(sample.data(), rows.size(), p.dim);
    ARROW_ASSIGN_OR_RAISE(auto view,
                          VectorView::Contiguous(Precision::kF32, p.dim, {},
                                                 reinterpret_cast<const uint8_t*>(sample.data()),
                                                 static_cast<uint32_t>(rows.size())));
    ARROW_ASSIGN_OR_RAISE(c.ivf_pq_codebook,
                          TrainAndStore(table, p, field_id, view, build, session));
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<const IvfPqCodebook>> CodebookForStoredVectors(
    const Table& table, const VectorStoragePolicy& policy, const VectorView& vectors,
    const IndexBuildOptions& build, std::vector<ColumnCodebook>* session) {
  const int32_t field_id =
      TopLevelFieldId(table::TableAccess::manifest(table), policy.vector_column);
  ARROW_ASSIGN_OR_RAISE(auto cb, Existing(table, policy, field_id, session));
  if (cb != nullptr) return cb;
  if (vectors.num_rows() < MinCodebookTrainingRows(policy)) {
    return std::shared_ptr<const IvfPqCodebook>{};
  }
  return TrainAndStore(table, policy, field_id, vectors, build, session);
}

namespace {

// Pending files owed an IVF-PQ index of the column `vc`, and their rows.
struct OwedFiles {
  std::vector<const DataFile*> files;
  uint64_t rows = 0;
};

OwedFiles PendingIvfPqFiles(const Table& t, const VectorColumn& vc,
                            const VectorStoragePolicy& policy) {
  OwedFiles out;
  for (const auto& f : table::TableAccess::manifest(t).fragments()) {
    for (const auto& df : f.files()) {
      if (df.index_state() != INDEX_STATE_PENDING) continue;
      const bool holds =
          std::find(df.fields().begin(), df.fields().end(), vc.field_id()) != df.fields().end();
      // The index the file is owed: recorded by its write, else the policy's.
      VectorStoragePolicy owed = policy;
      if (df.pending_index_type() != 0) {
        owed.index_type = static_cast<IndexType>(df.pending_index_type());
      }
      if (holds && ResolveIndexType(owed, f.physical_rows()) == IndexType::kIvfPq) {
        out.files.push_back(&df);
        out.rows += f.physical_rows();
      }
    }
  }
  return out;
}

}  // namespace

bool CodebookIsOwed(const Table& t) {
  for (const auto& policy : t.vector_columns()) {
    const VectorColumn* vc =
        ColumnOf(table::TableAccess::manifest(t),
                 TopLevelFieldId(table::TableAccess::manifest(t), policy.vector_column));
    if (vc == nullptr || !vc->ivf_codebook_path().empty()) continue;
    if (PendingIvfPqFiles(t, *vc, policy).rows >= MinCodebookTrainingRows(policy)) {
      return true;
    }
  }
  return false;
}

arrow::Result<int> TrainCodebooksFromPendingFiles(const Table& t, const IndexBuildOptions& build) {
  int trained = 0;
  for (const auto& policy : t.vector_columns()) {
    const int32_t field_id = TopLevelFieldId(table::TableAccess::manifest(t), policy.vector_column);
    const VectorColumn* vc = ColumnOf(table::TableAccess::manifest(t), field_id);
    if (vc == nullptr || !vc->ivf_codebook_path().empty()) continue;
    const OwedFiles owed = PendingIvfPqFiles(t, *vc, policy);
    if (owed.rows == 0 || owed.rows < MinCodebookTrainingRows(policy)) continue;
    // A sample of the training size, drawn from every file in proportion to
    // its rows, in the space the files store.
    const uint64_t want =
        std::min<uint64_t>(owed.rows, uint64_t{kCodebookSampleRowsPerList} * policy.ivf_pq.nlist);
    std::vector<float> sample;
    sample.reserve(want * policy.dim);
    uint64_t taken = 0, seen = 0;
    std::vector<float> row(policy.dim);
    for (const DataFile* df : owed.files) {
      ARROW_ASSIGN_OR_RAISE(auto reader, t.OpenDataFile(df->path(), KnownSize(*df)));
      // The column's name in the file (it differs after a rename).
      std::string column = policy.vector_column;
      for (int k = 0; k < df->fields_size(); ++k) {
        if (df->fields(k) != field_id || df->column_indices(k) < 0) continue;
        auto name = reader->FieldNameOfColumn(df->column_indices(k));
        if (name.ok()) column = *name;
      }
      ARROW_ASSIGN_OR_RAISE(VectorView view, reader->Vectors(column));
      const uint64_t n = view.num_rows();
      seen += n;
      const uint64_t quota = want * seen / owed.rows - taken;  // proportional, sums to want
      const auto rows = vec::SampleRows(n, quota, policy.ivf_pq.seed + taken);
      for (size_t r : rows) {
        view.Decode(static_cast<uint32_t>(r), row.data());
        sample.insert(sample.end(), row.begin(), row.end());
      }
      taken += rows.size();
    }
    ARROW_ASSIGN_OR_RAISE(auto sample_view,
                          VectorView::Contiguous(Precision::kF32, policy.dim, {},
                                                 reinterpret_cast<const uint8_t*>(sample.data()),
                                                 static_cast<uint32_t>(taken)));
    std::vector<ColumnCodebook> session;
    ARROW_RETURN_NOT_OK(TrainAndStore(t, policy, field_id, sample_view, build, &session).status());
    auto r = table::TableAccess::context(t)->manifests.Commit(
        "codebook", session.front().path, [&](const Manifest* latest) -> arrow::Result<Manifest> {
          Manifest m = *latest;
          ARROW_RETURN_NOT_OK(RecordCodebooks(&m, session, nullptr));
          return m;
        });
    if (!r.ok()) {
      DiscardTrained(*table::TableAccess::context(t)->store, session);
      // Another writer committed a codebook first: its files use that one.
      if (IsConflict(r.status())) continue;
      return r.status();
    }
    ++trained;
  }
  return trained;
}

arrow::Status RecordCodebooks(Manifest* m, const std::vector<ColumnCodebook>& used, bool* raced) {
  for (const auto& u : used) {
    VectorColumn* vc = nullptr;
    for (auto& c : *m->mutable_vector_columns()) {
      if (c.field_id() == u.field_id) vc = &c;
    }
    if (vc == nullptr) continue;  // dropped since: nothing to record
    if (vc->ivf_codebook_path().empty()) {
      vc->set_ivf_codebook_path(u.path);
    } else if (vc->ivf_codebook_path() != u.path) {
      if (raced) *raced = true;
      return ConflictError("vector column '" + u.column + "' got the shared IVF-PQ codebook '" +
                           vc->ivf_codebook_path() + "' from another writer (version " +
                           std::to_string(m->version()) + "); this write used '" + u.path + "'");
    }
  }
  return arrow::Status::OK();
}

void DiscardTrained(io::ObjectStore& store, const std::vector<ColumnCodebook>& used) {
  for (const auto& u : used) {
    if (u.trained) (void)store.Delete(u.path);
  }
}

}  // namespace ailake::table
