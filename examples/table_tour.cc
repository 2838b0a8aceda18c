// A tour of ailake tables from C++: create a table, write rows (the index is
// built as each file is written), search with a filter, take rows by the ids
// the search returned, change rows (update, upsert), travel back to an
// earlier version and restore it. Prints what it did; exits non-zero if any
// step does not give the answer it must.
//
//   table_tour DIRECTORY
#include <arrow/api.h>

#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ailake/ailake.h"

namespace {

constexpr int32_t kDim = 16;

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64(), false), arrow::field("category", arrow::utf8()),
       arrow::field("embedding",
                    arrow::fixed_size_list(arrow::field("item", arrow::float32(), false), kDim),
                    false)});
}

// Rows first_id .. first_id + n - 1; category "a", "b" or "c" by id; random vectors.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> Rows(int64_t first_id, int64_t n,
                                                        std::vector<float>* vectors) {
  std::mt19937 rng(static_cast<uint32_t>(first_id));
  std::normal_distribution<float> normal;
  arrow::Int64Builder ids;
  arrow::StringBuilder cats;
  auto values = std::make_shared<arrow::FloatBuilder>();
  arrow::FixedSizeListBuilder vecs(arrow::default_memory_pool(), values,
                                   Schema()->field(2)->type());
  for (int64_t i = 0; i < n; ++i) {
    ARROW_RETURN_NOT_OK(ids.Append(first_id + i));
    ARROW_RETURN_NOT_OK(cats.Append(std::string(1, static_cast<char>('a' + (first_id + i) % 3))));
    ARROW_RETURN_NOT_OK(vecs.Append());
    for (int j = 0; j < kDim; ++j) {
      const float v = normal(rng);
      vectors->push_back(v);
      ARROW_RETURN_NOT_OK(values->Append(v));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto id_arr, ids.Finish());
  ARROW_ASSIGN_OR_RAISE(auto cat_arr, cats.Finish());
  ARROW_ASSIGN_OR_RAISE(auto vec_arr, vecs.Finish());
  return arrow::RecordBatch::Make(Schema(), n, {id_arr, cat_arr, vec_arr});
}

arrow::Status Check(bool ok, const std::string& what) {
  if (!ok) return arrow::Status::Invalid("check failed: ", what);
  std::cout << "  ok: " << what << "\n";
  return arrow::Status::OK();
}

arrow::Status Tour(const std::string& dir) {
  // 1. Create: the vector column's policy names its dimension, metric and index.
  ailake::VectorStoragePolicy policy;
  policy.vector_column = "embedding";
  policy.dim = kDim;
  policy.metric = ailake::DistanceMetric::kEuclidean;
  policy.index_type = ailake::IndexType::kHnsw;
  ARROW_ASSIGN_OR_RAISE(auto writer, ailake::TableWriter::Create(dir, Schema(), {policy}));

  // 2. Write three batches: three data files, each with its HNSW index inside.
  std::vector<float> vectors;
  for (int f = 0; f < 3; ++f) {
    ARROW_ASSIGN_OR_RAISE(auto batch, Rows(f * 1000, 1000, &vectors));
    ARROW_ASSIGN_OR_RAISE(uint64_t v, writer->WriteBatch(*batch));
    std::cout << "wrote rows " << f * 1000 << ".." << f * 1000 + 999 << " (version " << v << ")\n";
  }
  ARROW_RETURN_NOT_OK(writer->WaitForIndexing());
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<ailake::Table> table, ailake::Table::Open(dir));
  const uint64_t written = table->version();

  // 3. Search with a filter applied inside the index search: k rows come back.
  const std::span<const float> query(&vectors[1234 * kDim], kDim);
  ailake::SearchOptions search;
  search.k = 5;
  search.filter = ailake::ParseFilter("category = 'b'").ValueOrDie();
  search.columns = {"id", "category"};
  ARROW_ASSIGN_OR_RAISE(auto hits, table->Search(query, search));
  ARROW_ASSIGN_OR_RAISE(hits, hits->CombineChunks());
  auto top = std::static_pointer_cast<arrow::Int64Array>(hits->GetColumnByName("id")->chunk(0));
  auto dist =
      std::static_pointer_cast<arrow::FloatArray>(hits->GetColumnByName("_distance")->chunk(0));
  std::cout << "search, category = 'b': ids";
  for (int64_t i = 0; i < hits->num_rows(); ++i) {
    std::cout << " " << top->Value(i) << " (" << dist->Value(i) << ")";
  }
  std::cout << "\n";
  ARROW_RETURN_NOT_OK(Check(hits->num_rows() == 5 && top->Value(0) == 1234,
                            "the nearest row to row 1234's vector is row 1234 (category b)"));

  // 4. Take the rows by the row ids the search returned.
  auto rowids =
      std::static_pointer_cast<arrow::UInt64Array>(hits->GetColumnByName("_rowid")->chunk(0));
  std::vector<ailake::RowId> ids(rowids->raw_values(), rowids->raw_values() + rowids->length());
  ARROW_ASSIGN_OR_RAISE(auto taken, table->Take(ids, {"id"}));
  auto taken_ids = std::static_pointer_cast<arrow::Int64Array>(taken->column(0)->chunk(0));
  ARROW_RETURN_NOT_OK(Check(taken_ids->Value(0) == 1234, "Take returns the rows searched"));

  // 5. Change rows: an update by SQL expression, then an upsert. One version each.
  ailake::UpdateOptions update;
  update.where = ailake::ParseFilter("id < 10").ValueOrDie();
  update.set_sql = {{"category", "upper(category)"}};
  ARROW_ASSIGN_OR_RAISE(auto updated, ailake::Update(table, update));
  std::cout << "update: " << updated.rows_updated << " rows (version " << updated.version << ")\n";
  std::vector<float> more;
  ARROW_ASSIGN_OR_RAISE(auto upsert_rows, Rows(2990, 20, &more));  // 10 match, 10 are new
  ARROW_ASSIGN_OR_RAISE(auto source, arrow::Table::FromRecordBatches({upsert_rows}));
  ailake::MergeInsertOptions merge;
  merge.on = {"id"};
  merge.when_matched_update_all = true;
  merge.when_not_matched_insert_all = true;
  ARROW_ASSIGN_OR_RAISE(auto merged, ailake::MergeInsert(table, source, merge));
  std::cout << "merge: " << merged.rows_updated << " updated, " << merged.rows_inserted
            << " inserted (version " << merged.version << ")\n";
  table = merged.table;  // every change returns the table at the version it committed
  ARROW_RETURN_NOT_OK(Check(updated.rows_updated == 10 && merged.rows_updated == 10 &&
                                merged.rows_inserted == 10 && table->num_rows() == 3010,
                            "10 rows updated, 10 replaced and 10 added: 3010 rows"));
  ailake::ScanOptions upper;
  upper.filter = ailake::ParseFilter("category IN ('A', 'B', 'C')").ValueOrDie();
  ARROW_ASSIGN_OR_RAISE(auto shouted, table->Scan(upper));
  ARROW_RETURN_NOT_OK(Check(shouted->num_rows() == 10, "the updated rows are upper case"));

  // 6. Time travel: the version written before the changes, then restore it.
  ARROW_ASSIGN_OR_RAISE(auto before, table->Checkout(written));
  ARROW_RETURN_NOT_OK(
      Check(before->num_rows() == 3000, "version " + std::to_string(written) + " has 3000 rows"));
  ARROW_ASSIGN_OR_RAISE(auto versions, table->Versions());
  for (const auto& v : versions) {
    std::cout << "  version " << v.version << ": " << v.operation_name << ", " << v.num_rows
              << " rows\n";
  }
  ARROW_ASSIGN_OR_RAISE(table, table->Restore(written));
  ARROW_RETURN_NOT_OK(Check(
      table->num_rows() == 3000,
      "restored: the newest version has version " + std::to_string(written) + "'s 3000 rows"));
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: table_tour DIRECTORY (created; must not exist)\n");
    return 2;
  }
  const arrow::Status st = Tour(argv[1]);
  if (!st.ok()) {
    std::fprintf(stderr, "table_tour: %s\n", st.ToString().c_str());
    return 1;
  }
  std::cout << "done\n";
  return 0;
}
