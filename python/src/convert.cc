#include "convert.h"

#include <algorithm>
#include <iterator>

#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <nanobind/stl/string.h>

namespace ailake::py {

void Throw(const arrow::Status& status) {
  PyObject* type = PyExc_RuntimeError;
  switch (status.code()) {
    case arrow::StatusCode::Invalid:
    case arrow::StatusCode::CapacityError:
    case arrow::StatusCode::SerializationError: type = PyExc_ValueError; break;
    case arrow::StatusCode::TypeError: type = PyExc_TypeError; break;
    case arrow::StatusCode::KeyError: type = PyExc_KeyError; break;
    case arrow::StatusCode::IndexError: type = PyExc_IndexError; break;
    case arrow::StatusCode::IOError: type = PyExc_OSError; break;
    case arrow::StatusCode::NotImplemented: type = PyExc_NotImplementedError; break;
    case arrow::StatusCode::OutOfMemory: type = PyExc_MemoryError; break;
    case arrow::StatusCode::AlreadyExists: type = PyExc_FileExistsError; break;
    case arrow::StatusCode::Cancelled: type = PyExc_KeyboardInterrupt; break;
    default: break;
  }
  PyErr_SetString(type, status.message().c_str());
  throw nb::python_error();
}

namespace {

void* CapsulePointer(nb::handle capsule, const char* name) {
  void* p = PyCapsule_GetPointer(capsule.ptr(), name);
  if (p == nullptr) throw nb::python_error();
  return p;
}

void ReleaseStreamCapsule(PyObject* capsule) {
  auto* stream =
      static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule, "arrow_array_stream"));
  if (stream == nullptr) {
    PyErr_Clear();
    return;
  }
  if (stream->release != nullptr) stream->release(stream);
  delete stream;
}

}  // namespace

std::shared_ptr<arrow::RecordBatch> ImportBatch(nb::handle data) {
  if (nb::hasattr(data, "__arrow_c_stream__")) {
    nb::object capsule = data.attr("__arrow_c_stream__")();
    auto* stream = static_cast<ArrowArrayStream*>(CapsulePointer(capsule, "arrow_array_stream"));
    auto reader = Value(arrow::ImportRecordBatchReader(stream));
    // Reading may call back into Python (a Python-defined stream): keep the GIL.
    auto table = Value(reader->ToTable());
    return Value(table->CombineChunksToBatch());
  }
  if (nb::hasattr(data, "__arrow_c_array__")) {
    nb::tuple pair = nb::cast<nb::tuple>(data.attr("__arrow_c_array__")());
    if (pair.size() != 2) throw nb::type_error("__arrow_c_array__ must return two capsules");
    auto* schema = static_cast<ArrowSchema*>(CapsulePointer(pair[0], "arrow_schema"));
    auto* array = static_cast<ArrowArray*>(CapsulePointer(pair[1], "arrow_array"));
    return Value(arrow::ImportRecordBatch(array, schema));
  }
  throw nb::type_error(
      "expected Arrow data: an object implementing __arrow_c_stream__ or __arrow_c_array__ "
      "(pyarrow Table/RecordBatch, polars or pandas DataFrame)");
}

std::shared_ptr<arrow::Schema> ImportSchema(nb::handle obj) {
  if (!nb::hasattr(obj, "__arrow_c_schema__")) {
    throw nb::type_error("expected an object implementing __arrow_c_schema__ (pyarrow.Schema)");
  }
  nb::object capsule = obj.attr("__arrow_c_schema__")();
  auto* schema = static_cast<ArrowSchema*>(CapsulePointer(capsule, "arrow_schema"));
  return Value(arrow::ImportSchema(schema));
}

nb::object ExportReader(std::shared_ptr<arrow::RecordBatchReader> reader) {
  auto* stream = new ArrowArrayStream;
  stream->release = nullptr;
  auto st = arrow::ExportRecordBatchReader(std::move(reader), stream);
  if (!st.ok()) {
    delete stream;
    Throw(st);
  }
  PyObject* capsule = PyCapsule_New(stream, "arrow_array_stream", &ReleaseStreamCapsule);
  if (capsule == nullptr) {
    stream->release(stream);
    delete stream;
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

nb::object ExportTable(std::shared_ptr<arrow::Table> table) {
  return ExportReader(std::make_shared<arrow::TableBatchReader>(std::move(table)));
}

namespace {

template <typename T>
void Get(const nb::dict& d, const char* key, T* out) {
  if (d.contains(key)) {
    nb::object v = d[key];
    if (v.is_none()) return;
    try {
      *out = nb::cast<T>(v);
    } catch (const std::exception&) {
      Throw(arrow::Status::Invalid("vector column setting ", key, " = ",
                                   std::string(nb::str(nb::repr(v)).c_str()), " is not ",
                                   std::is_same_v<T, bool>       ? "a bool"
                                   : std::is_integral_v<T>       ? "a non-negative integer"
                                   : std::is_floating_point_v<T> ? "a number"
                                                                 : "a string"));
    }
  }
}

// The settings a vector column's dict may hold (TableWriter keyword arguments).
constexpr const char* kPolicyKeys[] = {
    "vector_column", "dim",        "metric",          "precision",         "index",
    "pre_normalize", "m",          "ef_construction", "ef_search",         "nlist",
    "nprobe",        "pq_m",       "refine_factor",   "min_training_rows", "seed",
    "int8_scaling",  "int8_scale", "int8_offset",     "traversal",         "pq_bits"};

}  // namespace

VectorStoragePolicy PolicyFromDict(const nb::dict& d) {
  // A misspelled or unknown setting is an error, not silently ignored.
  for (auto [key, value] : d) {
    const std::string k = nb::cast<std::string>(nb::str(key));
    if (std::find(std::begin(kPolicyKeys), std::end(kPolicyKeys), k) == std::end(kPolicyKeys)) {
      std::string valid;
      for (const char* v : kPolicyKeys) valid += (valid.empty() ? "" : ", ") + std::string(v);
      Throw(arrow::Status::Invalid("unknown vector column setting '", k, "' (valid: ", valid, ")"));
    }
  }
  VectorStoragePolicy p;
  Get(d, "vector_column", &p.vector_column);
  Get(d, "dim", &p.dim);
  std::string s;
  if (d.contains("metric") && !d["metric"].is_none()) {
    Get(d, "metric", &s);
    p.metric = Value(ParseMetric(s));
  }
  if (d.contains("precision") && !d["precision"].is_none()) {
    Get(d, "precision", &s);
    p.precision = Value(ParsePrecision(s));
  }
  if (d.contains("index")) {
    if (d["index"].is_none()) {
      p.index_type = IndexType::kNone;
    } else {
      Get(d, "index", &s);
      p.index_type = Value(ParseIndexType(s));
    }
  }
  Get(d, "pre_normalize", &p.pre_normalize);
  if (p.metric == DistanceMetric::kNormalizedCosine && !d.contains("pre_normalize")) {
    p.pre_normalize = true;
  }
  Get(d, "m", &p.hnsw.m);
  Get(d, "ef_construction", &p.hnsw.ef_construction);
  Get(d, "ef_search", &p.hnsw.ef_search);
  if (d.contains("traversal") && !d["traversal"].is_none()) {
    Get(d, "traversal", &s);
    p.hnsw.traversal = Value(ParseHnswTraversal(s));
  }
  Get(d, "nlist", &p.ivf_pq.nlist);
  Get(d, "nprobe", &p.ivf_pq.nprobe);
  Get(d, "pq_m", &p.ivf_pq.m);
  Get(d, "pq_bits", &p.ivf_pq.nbits);
  Get(d, "refine_factor", &p.ivf_pq.refine_factor);
  Get(d, "min_training_rows", &p.ivf_pq.min_training_rows);
  uint64_t seed = p.hnsw.seed;
  Get(d, "seed", &seed);
  p.hnsw.seed = p.ivf_pq.seed = seed;
  if (d.contains("int8_scaling") && !d["int8_scaling"].is_none()) {
    Get(d, "int8_scaling", &s);
    if (s == "per_vector") {
      p.int8.scaling = Int8Scaling::kPerVector;
    } else if (s == "fixed") {
      p.int8.scaling = Int8Scaling::kFixed;
    } else {
      Throw(arrow::Status::Invalid("int8_scaling must be 'per_vector' or 'fixed', got '", s, "'"));
    }
  } else if (p.precision == Precision::kInt8) {
    p.int8.scaling = Int8Scaling::kPerVector;
  }
  Get(d, "int8_scale", &p.int8.scale);
  Get(d, "int8_offset", &p.int8.offset);
  Check(p.Validate());
  return p;
}

nb::dict PolicyToDict(const VectorStoragePolicy& p) {
  nb::dict d;
  d["vector_column"] = p.vector_column;
  d["dim"] = p.dim;
  d["metric"] = std::string(MetricName(p.metric));
  d["precision"] = std::string(PrecisionName(p.precision));
  d["index"] = std::string(IndexTypeName(p.index_type));
  d["pre_normalize"] = p.pre_normalize;
  d["m"] = p.hnsw.m;
  d["ef_construction"] = p.hnsw.ef_construction;
  d["ef_search"] = p.hnsw.ef_search;
  d["traversal"] = std::string(HnswTraversalName(p.hnsw.traversal));
  d["nlist"] = p.ivf_pq.nlist;
  d["nprobe"] = p.ivf_pq.nprobe;
  d["pq_m"] = p.ivf_pq.m;
  d["pq_bits"] = p.ivf_pq.nbits;
  d["refine_factor"] = p.ivf_pq.refine_factor;
  d["min_training_rows"] = p.ivf_pq.min_training_rows;
  return d;
}

}  // namespace ailake::py
