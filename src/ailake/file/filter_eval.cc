// Filters and expressions of the filter language (compiled by
// query/filter_parser.cc to Arrow compute expressions) bound to a schema and
// evaluated on rows: what a file search, a table scan and a delete share.
#include "ailake/file/filter_eval.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <mutex>

namespace ailake::file_internal {

arrow::Status EnsureComputeInitialized() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] { status = arrow::compute::Initialize(); });
  return status;
}

namespace {

namespace cp = arrow::compute;

bool IsComparison(const std::string& fn) {
  return fn == "equal" || fn == "not_equal" || fn == "less" || fn == "less_equal" ||
         fn == "greater" || fn == "greater_equal";
}

// A naive timestamp literal beside a column of zoned timestamps becomes a
// zoned one (the same instant read in UTC), as SQL engines compare them.
cp::Expression FixTimestamps(const cp::Expression& e, const arrow::Schema& schema) {
  const cp::Expression::Call* call = e.call();
  if (call == nullptr) return e;
  std::vector<cp::Expression> args;
  args.reserve(call->arguments.size());
  for (const auto& a : call->arguments) args.push_back(FixTimestamps(a, schema));
  if (IsComparison(call->function_name) && args.size() == 2) {
    for (int side = 0; side < 2; ++side) {
      const auto* ref = args[static_cast<size_t>(side)].field_ref();
      const auto* lit = args[static_cast<size_t>(1 - side)].literal();
      if (ref == nullptr || lit == nullptr || !lit->is_scalar()) continue;
      auto field = ref->GetOneOrNone(schema);
      if (!field.ok() || !*field || (*field)->type()->id() != arrow::Type::TIMESTAMP) continue;
      const auto& ft = static_cast<const arrow::TimestampType&>(*(*field)->type());
      const auto& scalar = lit->scalar();
      if (ft.timezone().empty() || scalar->type->id() != arrow::Type::TIMESTAMP) continue;
      const auto& lt = static_cast<const arrow::TimestampType&>(*scalar->type);
      if (!lt.timezone().empty()) continue;
      const auto& ts = static_cast<const arrow::TimestampScalar&>(*scalar);
      args[static_cast<size_t>(1 - side)] = cp::literal(std::make_shared<arrow::TimestampScalar>(
          ts.value, arrow::timestamp(lt.unit(), ft.timezone())));
    }
  }
  return cp::call(call->function_name, std::move(args), call->options);
}

std::string Describe(const cp::Expression& e, const arrow::Schema& schema) {
  if (const auto* ref = e.field_ref()) {
    auto field = ref->GetOneOrNone(schema);
    const std::string name = ref->name() ? *ref->name() : ref->ToString();
    if (!field.ok() || !*field) return "column '" + name + "' (not in the table)";
    return "column '" + name + "' (" + (*field)->type()->ToString() + ")";
  }
  if (const auto* lit = e.literal()) {
    return lit->ToString() + " (" + lit->type()->ToString() + ")";
  }
  auto bound = e.Bind(schema);
  return e.ToString() + (bound.ok() ? " (" + bound->type()->ToString() + ")" : "");
}

// The innermost call of `e` that does not bind to `schema`, described.
arrow::Status TypeMismatch(const cp::Expression& e, const arrow::Schema& schema,
                           const arrow::Status& original) {
  const cp::Expression::Call* call = e.call();
  if (call == nullptr) return original;
  for (const auto& a : call->arguments) {
    if (a.call() != nullptr && !a.Bind(schema).ok()) return TypeMismatch(a, schema, original);
  }
  std::string what;
  for (size_t i = 0; i < call->arguments.size(); ++i) {
    what += (i ? " and " : "") + Describe(call->arguments[i], schema);
  }
  return arrow::Status::TypeError("filter: ", call->function_name, " cannot take ", what, " (",
                                  original.message(), ")");
}

}  // namespace

arrow::Result<std::vector<std::string>> FilterColumns(const cp::Expression& filter) {
  std::vector<std::string> cols;
  for (const auto& ref : cp::FieldsInExpression(filter)) {
    const arrow::FieldRef* top = &ref;
    if (ref.IsNested()) top = &ref.nested_refs()->front();
    if (!top->name()) return arrow::Status::Invalid("filter must reference columns by name");
    cols.push_back(*top->name());
  }
  std::sort(cols.begin(), cols.end());
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
  return cols;
}

arrow::Result<cp::Expression> BindExpression(const cp::Expression& expr,
                                             const arrow::Schema& schema) {
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  const cp::Expression fixed = FixTimestamps(expr, schema);
  auto bound = fixed.Bind(schema);
  if (!bound.ok()) {
    if (bound.status().IsNotImplemented() || bound.status().IsTypeError()) {
      return TypeMismatch(fixed, schema, bound.status());
    }
    return bound.status();
  }
  return bound;
}

arrow::Result<cp::Expression> BindFilter(const cp::Expression& filter,
                                         const arrow::Schema& schema) {
  ARROW_ASSIGN_OR_RAISE(auto bound, BindExpression(filter, schema));
  if (bound.type()->id() != arrow::Type::BOOL) {
    return arrow::Status::TypeError("filter ", filter.ToString(), " is ", bound.type()->ToString(),
                                    ", not a condition");
  }
  return bound;
}

arrow::Result<arrow::Datum> EvaluateFilter(const cp::Expression& filter,
                                           const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto bound, BindFilter(filter, *batch.schema()));
  ARROW_ASSIGN_OR_RAISE(auto input, cp::MakeExecBatch(*batch.schema(), arrow::Datum(batch)));
  return cp::ExecuteScalarExpression(bound, input);
}

arrow::Result<RowBitmap> MatchingRowBitmap(const arrow::compute::Expression& filter,
                                           const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto result, EvaluateFilter(filter, batch));
  const auto n = static_cast<uint32_t>(batch.num_rows());
  if (result.is_scalar()) {
    auto s = std::static_pointer_cast<arrow::BooleanScalar>(result.scalar());
    return RowBitmap(n, s->is_valid && s->value);
  }
  RowBitmap out(n);
  auto arr = std::static_pointer_cast<arrow::BooleanArray>(result.make_array());
  for (int64_t r = 0; r < arr->length(); ++r) {
    if (arr->IsValid(r) && arr->Value(r)) out.Set(static_cast<uint32_t>(r));
  }
  return out;
}

}  // namespace ailake::file_internal
