// One table object shared by many threads: searches (plain, filtered, exact,
// batched), scans with and without filters, and takes, at once, must give
// exactly what each gives alone. Run under ThreadSanitizer by the tsan preset.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "ailake/query.h"
#include "ailake/table/table_test_util.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;
using testing_util::ClusteredVectors;
using testing_util::TempTableDir;
using testing_util::TestBatch;
using testing_util::TestPolicy;
using testing_util::TestSchema;

constexpr uint32_t kDim = 16;

std::vector<int64_t> Ids(const std::shared_ptr<arrow::Table>& t) {
  std::vector<int64_t> out;
  auto col = t->GetColumnByName("id");
  for (const auto& c : col->chunks()) {
    auto a = std::static_pointer_cast<arrow::Int64Array>(c);
    for (int64_t i = 0; i < a->length(); ++i) out.push_back(a->Value(i));
  }
  return out;
}

TEST(ConcurrencyTest, EightThreadsShareOneTable) {
  const std::string dir = TempTableDir("conc");
  std::vector<float> all;
  {
    TableWriterOptions wo;
    wo.auto_optimize = false;
    auto w = TableWriter::Create(dir, TestSchema(kDim), {TestPolicy(kDim)}, wo).ValueOrDie();
    for (int f = 0; f < 6; ++f) {
      auto vecs = ClusteredVectors(300, kDim, f * 300);
      all.insert(all.end(), vecs.begin(), vecs.end());
      auto batch = TestBatch(f * 300, 300, kDim, vecs);
      auto r = f >= 4 ? w->WriteBatchDeferred(*batch) : w->WriteBatch(*batch);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    ASSERT_TRUE(w->WaitForIndexing().ok());
  }
  std::shared_ptr<const Table> table = Table::Open(dir).ValueOrDie();
  std::vector<uint32_t> frags;
  for (const auto& f : table->fragments()) frags.push_back(static_cast<uint32_t>(f.id));
  ASSERT_EQ(frags.size(), 6u);

  // What each operation gives alone.
  struct Op {
    int kind;  // 0 search, 1 filtered search, 2 exact search, 3 batch, 4 scan, 5 filtered scan, 6
               // take
    uint32_t q;
  };
  auto run = [&](const Op& op) -> arrow::Result<std::vector<int64_t>> {
    std::span<const float> query(all.data() + size_t{op.q} * kDim, kDim);
    SearchOptions so;
    so.k = 7;
    so.columns = {"id"};
    switch (op.kind) {
      case 0: break;
      case 1: so.filter = cp::less(cp::field_ref("category"), cp::literal(2)); break;
      case 2: so.exact = true; break;
      case 3: {
        ARROW_ASSIGN_OR_RAISE(
            auto t, SearchBatch(*table, std::span<const float>(all.data(), 3 * kDim), 3, so));
        return Ids(t);
      }
      case 4:
      case 5: {
        ScanOptions sc;
        sc.columns = {"id", "text"};
        if (op.kind == 5) sc.filter = cp::greater(cp::field_ref("id"), cp::literal(int64_t{op.q}));
        ARROW_ASSIGN_OR_RAISE(auto t, Scan(table, sc));
        return Ids(t);
      }
      default: {
        std::vector<RowId> ids = {MakeRowId(frags[op.q % 6], op.q % 300),
                                  MakeRowId(frags[(op.q + 1) % 6], (op.q * 7) % 300)};
        ARROW_ASSIGN_OR_RAISE(auto t, table->Take(ids, {"id", "embedding"}));
        return Ids(t);
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto t, Search(*table, query, so));
    return Ids(t);
  };
  std::vector<Op> ops;
  ops.reserve(40);
  for (uint32_t q = 0; q < 40; ++q) ops.push_back({static_cast<int>(q % 7), q * 41 % 1800});
  std::vector<std::vector<int64_t>> expected;
  expected.reserve(ops.size());
  for (const auto& op : ops) expected.push_back(run(op).ValueOrDie());

  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < ops.size(); ++i) {
          const size_t j = (i + static_cast<size_t>(t) * 5) % ops.size();
          auto got = run(ops[j]);
          if (!got.ok()) {
            ++errors;
            ADD_FAILURE() << got.status().ToString();
          } else if (*got != expected[j]) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ailake
