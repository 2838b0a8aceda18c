// Table::Optimize and Table::Compact: merging fragments, log-structured.
//
// Invariant (the write-amplification bound): a merge takes merge_factor
// fragments of one tier and writes one fragment of a higher tier, so over a
// row's life it is rewritten at most once per tier below
// max_rows_per_fragment (plus once per rewrite its fragment's deletions
// trigger). Search cost follows the fragment count, which stays at most
// (merge_factor - 1) per tier. Cost of a merge: reading and writing its rows
// once and building one index over them.
#include <arrow/array.h>
#include <arrow/table.h>

#include <algorithm>
#include <map>
#include <set>

#include "ailake/table/data_file_writer.h"
#include "ailake/table/manifest_store.h"
#include "ailake/table/optimize.h"
#include "ailake/table/shared_codebook.h"
#include "ailake/table/table_access.h"
#include "ailake/table/table_context.h"
#include "ailake/table/table_paths.h"
#include "ailake/table/text_columns.h"

namespace ailake {

using table::Fragment;
using table::Manifest;

namespace table {
namespace {

int64_t LiveRows(const Fragment& f) {
  return static_cast<int64_t>(f.physical_rows()) -
         (f.has_deletion_file() ? static_cast<int64_t>(f.deletion_file().num_deleted_rows()) : 0);
}

double DeletedFraction(const Fragment& f) {
  return f.physical_rows() ? 1.0 - double(LiveRows(f)) / double(f.physical_rows()) : 0.0;
}

// The checks Compact and Optimize share: `op` names the operation.
arrow::Status CheckRewriteOptions(const char* op, const char* rows_name, int64_t rows,
                                  double max_deleted_fraction) {
  if (rows <= 0) {
    return arrow::Status::Invalid(op, ": ", rows_name, " must be positive, got ", rows);
  }
  if (!(max_deleted_fraction > 0.0 && max_deleted_fraction <= 1.0)) {
    return arrow::Status::Invalid(op, ": max_deleted_fraction must be in (0, 1], got ",
                                  max_deleted_fraction);
  }
  return arrow::Status::OK();
}

}  // namespace

const Fragment* FragmentById(const Manifest& m, uint64_t id) {
  for (const auto& f : m.fragments()) {
    if (f.id() == id) return &f;
  }
  return nullptr;
}

bool SameFiles(const Fragment& a, const Fragment& b) {
  if (a.files_size() != b.files_size() || a.physical_rows() != b.physical_rows()) return false;
  for (int i = 0; i < a.files_size(); ++i) {
    if (a.files(i).path() != b.files(i).path()) {
      // An index swap replaces a pending file (or one owing a text index)
      // by its indexed twin: same rows.
      if (!(a.files(i).index_state() == INDEX_STATE_PENDING ||
            b.files(i).index_state() == INDEX_STATE_PENDING ||
            a.files(i).text_fields_size() != b.files(i).text_fields_size())) {
        return false;
      }
    }
  }
  return true;
}

int MergeTier(int64_t live_rows, int merge_factor) {
  int tier = 0;
  for (int64_t bound = merge_factor; live_rows >= bound; bound *= merge_factor) {
    ++tier;
    if (bound > (int64_t{1} << 62) / merge_factor) break;
  }
  return tier;
}

std::vector<std::vector<uint64_t>> PlanMerges(const Manifest& m, const OptimizeOptions& options) {
  std::map<int, std::vector<uint64_t>> tiers;  // fragment ids ascend (manifest order)
  std::vector<const Fragment*> frags;
  for (const auto& f : m.fragments()) frags.push_back(&f);
  std::sort(frags.begin(), frags.end(),
            [](const Fragment* a, const Fragment* b) { return a->id() < b->id(); });
  for (const Fragment* f : frags) {
    const int64_t live = LiveRows(*f);
    if (live > 0 && live < options.max_rows_per_fragment) {
      tiers[MergeTier(live, options.merge_factor)].push_back(f->id());
    }
  }
  std::vector<std::vector<uint64_t>> groups;
  std::set<uint64_t> grouped;
  for (const auto& [tier, ids] : tiers) {
    const size_t f = static_cast<size_t>(options.merge_factor);
    for (size_t i = 0; i + f <= ids.size(); i += f) {
      groups.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(i),
                          ids.begin() + static_cast<std::ptrdiff_t>(i + f));
      grouped.insert(groups.back().begin(), groups.back().end());
    }
  }
  for (const Fragment* f : frags) {
    if (grouped.count(f->id())) continue;
    // Rewritten alone: fragments with nothing live, with many deletions, or
    // whose columns are split over several files by AddColumns (one
    // whole-row file reads faster, and is what the Iceberg view can name).
    // So are fragments stored in another format than the table's.
    bool other_format = false;
    for (const auto& df : f->files()) other_format |= DataFileFormat(df) != StorageFormatOf(m);
    if (LiveRows(*f) == 0 || DeletedFraction(*f) >= options.max_deleted_fraction ||
        f->files_size() > 1 || other_format) {
      groups.push_back({f->id()});
    }
  }
  return groups;
}

arrow::Result<RewriteOutcome> RewriteFragments(const Table& t,
                                               const std::vector<const Fragment*>& picked,
                                               int64_t target_rows, const IndexBuildOptions& build,
                                               const std::function<void()>& step) {
  RewriteOutcome out;
  std::vector<std::shared_ptr<arrow::Table>> parts;
  for (const auto* f : picked) {
    ARROW_ASSIGN_OR_RAISE(auto rows, t.ReadFragment(f->id()));
    out.rows_dropped += static_cast<int64_t>(f->physical_rows()) - rows->num_rows();
    if (rows->num_rows() > 0) parts.push_back(rows);
    if (step) step();
  }
  const auto& ctx = table::TableAccess::context(t);
  std::vector<WrittenFile> written;
  // Rebuilt IVF-PQ sections use the column's shared codebook (trained on the
  // first rewritten fragment if the column has none yet).
  std::vector<ColumnCodebook> codebooks;
  auto discard = [&] {
    for (auto& w : written) (void)ctx->store->Delete(w.data_file.path());
    DiscardTrained(*ctx->store, codebooks);
  };
  if (!parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(parts));
    for (int64_t start = 0; start < all->num_rows(); start += target_rows) {
      auto slice = all->Slice(start, target_rows);
      auto batch = slice->CombineChunksToBatch();
      if (!batch.ok()) {
        discard();
        return batch.status();
      }
      std::vector<VectorColumnBatch> cols;
      for (const auto& p : t.vector_columns()) cols.push_back({p, {}});
      FileWriteOptions file_options;
      file_options.index_build = build;
      auto w = WriteDataFile(t, **batch, cols, IndexMode::kInline, file_options, &codebooks);
      if (!w.ok()) {
        discard();
        return w.status();
      }
      out.rows_written += w->num_rows;
      written.push_back(std::move(*w));
      if (step) step();
    }
  }
  std::set<uint64_t> removed;
  for (const auto* f : picked) removed.insert(f->id());
  const Manifest& read = table::TableAccess::manifest(t);
  auto r = ctx->manifests.Commit(
      "compact", std::to_string(picked.size()) + " fragments -> " + std::to_string(written.size()),
      [&](const Manifest* latest) -> arrow::Result<Manifest> {
        // Rebase over appends only: a picked fragment that changed (a delete,
        // an index swap of other bytes, a rewrite) would resurrect or lose rows.
        const Manifest& m = *latest;
        if (m.fields_size() != read.fields_size() || m.max_field_id() != read.max_field_id()) {
          return ConflictError("the schema changed during compaction");
        }
        Manifest next = m;
        next.clear_fragments();
        for (const auto& f : m.fragments()) {
          if (!removed.count(f.id())) {
            *next.add_fragments() = f;
            continue;
          }
          const Fragment* mine = FragmentById(read, f.id());
          const bool same_deletes =
              mine->has_deletion_file() == f.has_deletion_file() &&
              (!f.has_deletion_file() || mine->deletion_file().path() == f.deletion_file().path());
          if (!SameFiles(*mine, f) || !same_deletes) {
            return ConflictError("fragment " + std::to_string(f.id()) +
                                 " changed during compaction");
          }
        }
        for (uint64_t id : removed) {
          if (!FragmentById(m, id)) {
            return ConflictError("fragment " + std::to_string(id) +
                                 " disappeared during compaction");
          }
        }
        // A codebook committed meanwhile by another writer: conflict.
        ARROW_RETURN_NOT_OK(RecordCodebooks(&next, codebooks, nullptr));
        for (auto& w : written) {
          Fragment* f = next.add_fragments();
          f->set_id(next.next_fragment_id());
          next.set_next_fragment_id(next.next_fragment_id() + 1);
          f->set_physical_rows(static_cast<uint64_t>(w.num_rows));
          *f->add_files() = w.data_file;
          KeepCurrentTextFields(read, next, f->mutable_files(0));
        }
        return next;
      });
  if (!r.ok()) {
    discard();
    return r.status();
  }
  out.fragments_added = static_cast<int>(written.size());
  out.version = r->manifest.version();
  ARROW_ASSIGN_OR_RAISE(out.table, TableAccess::Committed(ctx, std::move(r->manifest)));
  return out;
}

}  // namespace table

arrow::Result<CompactionResult> Table::Compact(const CompactionOptions& options) const {
  ARROW_RETURN_NOT_OK(table::CheckRewriteOptions("compaction", "target_rows_per_fragment",
                                                 options.target_rows_per_fragment,
                                                 options.max_deleted_fraction));
  CompactionResult result;
  // Fragments to rewrite: small ones (merged together) and ones with many deletions.
  std::vector<const Fragment*> picked;
  int small = 0;
  int64_t picked_rows = 0;  // live rows of the picked fragments
  for (const auto& f : manifest_->fragments()) {
    const int64_t live = table::LiveRows(f);
    if (live < options.target_rows_per_fragment ||
        table::DeletedFraction(f) >= options.max_deleted_fraction) {
      picked.push_back(&f);
      picked_rows += live;
      ++small;
    }
  }
  bool any_deletes = false;
  for (const auto* f : picked) any_deletes |= f->has_deletion_file();
  if (picked.empty() || (small < 2 && !any_deletes)) {
    result.version = version();
    result.table = std::const_pointer_cast<Table>(shared_from_this());
    return result;
  }
  // Progress units: each picked fragment read, then each file written.
  const int64_t target = options.target_rows_per_fragment;
  const int64_t total = static_cast<int64_t>(picked.size()) + (picked_rows + target - 1) / target;
  int64_t done = 0;
  auto step = [&] {
    if (options.progress) options.progress(++done, std::max(total, done));
  };
  ARROW_ASSIGN_OR_RAISE(auto r, table::RewriteFragments(*this, picked, target, {}, step));
  result.fragments_removed = static_cast<int>(picked.size());
  result.fragments_added = r.fragments_added;
  result.rows_dropped = r.rows_dropped;
  result.version = r.version;
  result.table = std::move(r.table);
  return result;
}

namespace {

arrow::Status CheckOptimizeOptions(const OptimizeOptions& options) {
  if (options.merge_factor < 2) {
    return arrow::Status::Invalid("optimize: merge_factor must be at least 2, got ",
                                  options.merge_factor);
  }
  return table::CheckRewriteOptions("optimize", "max_rows_per_fragment",
                                    options.max_rows_per_fragment, options.max_deleted_fraction);
}

}  // namespace

arrow::Result<std::vector<std::vector<uint64_t>>> Table::PlanOptimize(
    const OptimizeOptions& options) const {
  ARROW_RETURN_NOT_OK(CheckOptimizeOptions(options));
  ARROW_ASSIGN_OR_RAISE(auto t, Latest());
  return table::PlanMerges(table::TableAccess::manifest(*t), options);
}

arrow::Result<OptimizeResult> Table::MergeFragments(std::span<const uint64_t> fragment_ids,
                                                    const OptimizeOptions& options) const {
  ARROW_RETURN_NOT_OK(CheckOptimizeOptions(options));
  if (fragment_ids.empty()) return arrow::Status::Invalid("merge of no fragment");
  ARROW_ASSIGN_OR_RAISE(auto t, Latest());
  std::vector<const Fragment*> picked;
  picked.reserve(fragment_ids.size());
  for (uint64_t id : fragment_ids) {
    const Fragment* f = table::FragmentById(table::TableAccess::manifest(*t), id);
    if (f == nullptr) {
      return arrow::Status::KeyError("fragment ", id, " is not in version ", t->version(),
                                     " of table '", uri(), "'");
    }
    for (const auto* p : picked) {
      if (p == f) return arrow::Status::Invalid("fragment ", id, " is named twice");
    }
    picked.push_back(f);
  }
  ARROW_ASSIGN_OR_RAISE(auto r, table::RewriteFragments(*t, picked, options.max_rows_per_fragment,
                                                        options.index_build, {}));
  OptimizeResult result;
  result.merges = 1;
  result.fragments_removed = static_cast<int>(picked.size());
  result.fragments_added = r.fragments_added;
  result.rows_rewritten = r.rows_written;
  result.rows_dropped = r.rows_dropped;
  result.version = r.version;
  result.table = std::move(r.table);
  return result;
}

arrow::Result<OptimizeResult> Table::Optimize(const OptimizeOptions& options) const {
  ARROW_RETURN_NOT_OK(CheckOptimizeOptions(options));
  OptimizeResult result;
  ARROW_ASSIGN_OR_RAISE(auto t, Latest());
  // Rounds of merges until no tier is full; each merge group is one commit.
  // A group that conflicts with a concurrent change (a delete of its rows,
  // say) is planned again from the newer version, a bounded number of times.
  constexpr int kMaxConflicts = 8;
  int conflicts = 0;
  int64_t done = 0;
  while (true) {
    const auto groups = table::PlanMerges(table::TableAccess::manifest(*t), options);
    if (groups.empty()) break;
    const int64_t total = done + static_cast<int64_t>(groups.size());
    for (const auto& ids : groups) {
      std::vector<const Fragment*> picked;
      picked.reserve(ids.size());
      for (uint64_t id : ids)
        picked.push_back(table::FragmentById(table::TableAccess::manifest(*t), id));
      auto r = table::RewriteFragments(*t, picked, options.max_rows_per_fragment,
                                       options.index_build, {});
      if (!r.ok()) {
        if (!table::IsConflict(r.status()) || ++conflicts > kMaxConflicts) return r.status();
        break;  // planned again from the newer version
      }
      ++result.merges;
      result.fragments_removed += static_cast<int>(picked.size());
      result.fragments_added += r->fragments_added;
      result.rows_rewritten += r->rows_written;
      result.rows_dropped += r->rows_dropped;
      if (options.progress) options.progress(++done, total);
    }
    ARROW_ASSIGN_OR_RAISE(t, t->Latest());
  }
  if (options.build_pending_indexes) {
    // IVF-PQ files written while the table was too small to train its
    // codebook: train it on all of them, then index them with it.
    ARROW_ASSIGN_OR_RAISE(result.codebooks_trained,
                          table::TrainCodebooksFromPendingFiles(*t, options.index_build));
    ARROW_ASSIGN_OR_RAISE(t, t->Latest());
    ARROW_ASSIGN_OR_RAISE(result.indexes_built, t->BuildPendingIndexes(options.index_build));
    ARROW_ASSIGN_OR_RAISE(t, t->Latest());
  }
  result.version = t->version();
  result.table = std::move(t);
  return result;
}

}  // namespace ailake
