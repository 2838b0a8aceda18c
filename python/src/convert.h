// Conversions between Python and the C++ API of the extension module:
// arrow::Status to Python exceptions, Arrow data through the Arrow C stream /
// C data interface (PyCapsules), policies from keyword dictionaries.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/table.h>
#include <nanobind/nanobind.h>

#include "ailake/policy.h"
#include "ailake/table.h"

namespace ailake::py {

namespace nb = nanobind;

// Raises the Python exception matching the status code, with its message.
// Needs the GIL.
[[noreturn]] void Throw(const arrow::Status& status);

inline void Check(const arrow::Status& status) {
  if (!status.ok()) Throw(status);
}
template <typename T>
T Value(arrow::Result<T> result) {
  if (!result.ok()) Throw(result.status());
  return std::move(result).ValueUnsafe();
}

// Runs f() with the GIL released (for I/O, index builds and searches). f must
// not touch Python objects.
template <typename F>
auto NoGil(F&& f) {
  nb::gil_scoped_release release;
  return f();
}

// Every batch of an object implementing __arrow_c_stream__ (pyarrow, polars,
// pandas, ...), or a single one implementing __arrow_c_array__, as one
// RecordBatch (columns are copied only when they have several chunks).
std::shared_ptr<arrow::RecordBatch> ImportBatch(nb::handle data);
// A schema from an object implementing __arrow_c_schema__.
std::shared_ptr<arrow::Schema> ImportSchema(nb::handle obj);

// A PyCapsule "arrow_array_stream" that streams the reader's batches.
nb::object ExportReader(std::shared_ptr<arrow::RecordBatchReader> reader);
nb::object ExportTable(std::shared_ptr<arrow::Table> table);

// A policy from a dictionary with the keys of VectorStoragePolicy:
// vector_column, dim, metric, precision, index, pre_normalize, m,
// ef_construction, ef_search, nlist, nprobe, pq_m, refine_factor, seed,
// int8_scaling, int8_scale, int8_offset. Missing keys keep the defaults.
VectorStoragePolicy PolicyFromDict(const nb::dict& d);
nb::dict PolicyToDict(const VectorStoragePolicy& p);

}  // namespace ailake::py
