// A small SQL-like filter language compiled to Arrow compute expressions:
//
//   filter  := or
//   or      := and ("OR" and)*
//   and     := not ("AND" not)*
//   not     := "NOT" not | cmp
//   cmp     := sum [ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
//                  | "IS" ["NOT"] "NULL"
//                  | ["NOT"] "IN" "(" literal ("," literal)* ")"
//                  | ["NOT"] "BETWEEN" sum "AND" sum
//                  | ["NOT"] ("LIKE" | "ILIKE") string ]
//   sum     := product (("+" | "-") product)*
//   product := unary (("*" | "/") unary)*          ("/" divides as doubles)
//   unary   := "-" unary | operand
//   operand := "(" or ")" | function "(" or ("," or)* ")" | column | literal
//   function:= LOWER | UPPER | LENGTH | ABS | COALESCE
//   column  := name ("." name)*     (a.b: field b of struct column a)
//   name    := identifier | "double-quoted name"
//   literal := integer | float | 'single-quoted string' | TRUE | FALSE | NULL
//            | DATE 'yyyy-mm-dd' | TIMESTAMP 'yyyy-mm-dd[ hh:mm:ss[.ffffff]]'
//
// Keywords are case-insensitive. Errors name the position and what was expected.
//
// Bounded: a filter is at most kMaxFilterBytes long and nests parentheses,
// NOTs, unary minus and function calls at most kMaxFilterDepth deep (the
// parser, and then Arrow's binding and evaluation, recurse once per level, on
// the caller's stack). A chain of AND / OR terms, however long, becomes a
// balanced tree (depth log2 of the number of terms), not a left-deep one;
// chains of + - * / at most kMaxFilterDepth terms.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <cctype>
#include <string>
#include <vector>

#include "ailake/query.h"
#include "ailake/table/fragment_reader.h"
#include "ailake/table/table_context.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;

enum class Tok {
  kIdent,
  kQuotedIdent,
  kString,
  kInt,
  kFloat,
  kOp,
  kArith,
  kDot,
  kLParen,
  kRParen,
  kComma,
  kEnd
};

struct Token {
  Tok kind;
  std::string text;
  size_t pos;
};

arrow::Result<std::vector<Token>> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const size_t start = i;
    // A '-' right after an operand is subtraction, else a number's sign.
    const bool after_operand =
        !out.empty() && (out.back().kind == Tok::kIdent || out.back().kind == Tok::kQuotedIdent ||
                         out.back().kind == Tok::kString || out.back().kind == Tok::kInt ||
                         out.back().kind == Tok::kFloat || out.back().kind == Tok::kRParen);
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
        ++i;
      }
      out.push_back({Tok::kIdent, std::string(s.substr(start, i - start)), start});
    } else if (c == '.' &&
               !(i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      out.push_back({Tok::kDot, ".", i++});
    } else if (c == '+' || c == '*' || c == '/' ||
               (c == '-' &&
                (after_operand || i + 1 >= s.size() ||
                 !(std::isdigit(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '.')))) {
      out.push_back({Tok::kArith, std::string(1, c), i++});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               ((c == '-' || c == '.') && i + 1 < s.size() &&
                (std::isdigit(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '.'))) {
      bool is_float = false;
      ++i;
      while (i < s.size()) {
        const char d = s[i];
        if (std::isdigit(static_cast<unsigned char>(d))) {
          ++i;
        } else if (d == '.' || d == 'e' || d == 'E') {
          is_float = true;
          ++i;
          if ((d == 'e' || d == 'E') && i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
        } else {
          break;
        }
      }
      is_float |= s[start] == '.';
      out.push_back(
          {is_float ? Tok::kFloat : Tok::kInt, std::string(s.substr(start, i - start)), start});
    } else if (c == '\'' || c == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {  // doubled quote escapes itself
            text.push_back(c);
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        text.push_back(s[i++]);
      }
      if (!closed) {
        return arrow::Status::Invalid("filter: unterminated quote starting at position ", start);
      }
      out.push_back({c == '\'' ? Tok::kString : Tok::kQuotedIdent, text, start});
    } else if (c == '(') {
      out.push_back({Tok::kLParen, "(", i++});
    } else if (c == ')') {
      out.push_back({Tok::kRParen, ")", i++});
    } else if (c == ',') {
      out.push_back({Tok::kComma, ",", i++});
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, c);
      ++i;
      if (i < s.size() && (s[i] == '=' || (c == '<' && s[i] == '>'))) op.push_back(s[i++]);
      if (op == "!") {
        return arrow::Status::Invalid("filter: '!' at position ", start, " must be '!='");
      }
      out.push_back({Tok::kOp, op, start});
    } else {
      return arrow::Status::Invalid("filter: unexpected character '", std::string(1, c),
                                    "' at position ", i);
    }
  }
  out.push_back({Tok::kEnd, "", s.size()});
  return out;
}

bool IsKeyword(const Token& t, std::string_view kw) {
  if (t.kind != Tok::kIdent || t.text.size() != kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
  }
  return true;
}

// Joins terms pairwise into a balanced tree of `join` (and_ / or_).
template <typename Join>
cp::Expression Balanced(std::vector<cp::Expression> terms, Join join) {
  while (terms.size() > 1) {
    std::vector<cp::Expression> next;
    next.reserve((terms.size() + 1) / 2);
    for (size_t i = 0; i + 1 < terms.size(); i += 2) next.push_back(join(terms[i], terms[i + 1]));
    if (terms.size() % 2 == 1) next.push_back(std::move(terms.back()));
    terms = std::move(next);
  }
  return std::move(terms.front());
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : toks_(std::move(toks)) {}

  arrow::Result<cp::Expression> Parse() {
    ARROW_ASSIGN_OR_RAISE(auto e, Or());
    if (Peek().kind != Tok::kEnd) return Error("end of filter");
    return e;
  }

 private:
  const Token& Peek() const { return toks_[pos_]; }
  const Token& Next() { return toks_[pos_++]; }
  arrow::Status Error(std::string_view expected) const {
    const Token& t = Peek();
    return arrow::Status::Invalid(
        "filter: expected ", expected, " at position ", t.pos,
        t.kind == Tok::kEnd ? " (end of input)" : " near '" + t.text + "'");
  }

  // One more level of nesting (a parenthesis or a NOT), refused past the limit.
  arrow::Status Enter() {
    if (++depth_ > kMaxFilterDepth) {
      return arrow::Status::Invalid("filter: nested deeper than ", kMaxFilterDepth,
                                    " levels (parentheses and NOTs) at position ", Peek().pos);
    }
    return arrow::Status::OK();
  }

  arrow::Result<cp::Expression> Or() {
    std::vector<cp::Expression> terms;
    ARROW_ASSIGN_OR_RAISE(auto first, And());
    terms.push_back(std::move(first));
    while (IsKeyword(Peek(), "OR")) {
      Next();
      ARROW_ASSIGN_OR_RAISE(auto right, And());
      terms.push_back(std::move(right));
    }
    return Balanced(std::move(terms), [](cp::Expression a, cp::Expression b) {
      return cp::or_(std::move(a), std::move(b));
    });
  }
  arrow::Result<cp::Expression> And() {
    std::vector<cp::Expression> terms;
    ARROW_ASSIGN_OR_RAISE(auto first, Not());
    terms.push_back(std::move(first));
    while (IsKeyword(Peek(), "AND")) {
      Next();
      ARROW_ASSIGN_OR_RAISE(auto right, Not());
      terms.push_back(std::move(right));
    }
    return Balanced(std::move(terms), [](cp::Expression a, cp::Expression b) {
      return cp::and_(std::move(a), std::move(b));
    });
  }
  arrow::Result<cp::Expression> Not() {
    if (IsKeyword(Peek(), "NOT")) {
      Next();
      ARROW_RETURN_NOT_OK(Enter());
      ARROW_ASSIGN_OR_RAISE(auto e, Not());
      --depth_;
      return cp::not_(e);
    }
    return Comparison();
  }

  arrow::Result<cp::Expression> Comparison() {
    ARROW_ASSIGN_OR_RAISE(auto left, Sum());
    const Token& t = Peek();
    if (t.kind == Tok::kOp) {
      const std::string op = Next().text;
      ARROW_ASSIGN_OR_RAISE(auto right, Sum());
      if (op == "=" || op == "==") return cp::equal(left, right);
      if (op == "!=" || op == "<>") return cp::not_equal(left, right);
      if (op == "<") return cp::less(left, right);
      if (op == "<=") return cp::less_equal(left, right);
      if (op == ">") return cp::greater(left, right);
      return cp::greater_equal(left, right);
    }
    if (IsKeyword(t, "IS")) {
      Next();
      bool negate = false;
      if (IsKeyword(Peek(), "NOT")) {
        Next();
        negate = true;
      }
      if (!IsKeyword(Peek(), "NULL")) return Error("NULL");
      Next();
      auto e = cp::is_null(left);
      return negate ? cp::not_(e) : e;
    }
    bool negate = false;
    if (IsKeyword(t, "NOT") &&
        (IsKeyword(toks_[pos_ + 1], "IN") || IsKeyword(toks_[pos_ + 1], "LIKE") ||
         IsKeyword(toks_[pos_ + 1], "ILIKE") || IsKeyword(toks_[pos_ + 1], "BETWEEN"))) {
      Next();
      negate = true;
    }
    if (IsKeyword(Peek(), "IN")) {
      Next();
      ARROW_ASSIGN_OR_RAISE(auto set, ValueSet());
      auto e = cp::call("is_in", {left}, cp::SetLookupOptions(set));
      return negate ? cp::not_(e) : e;
    }
    if (IsKeyword(Peek(), "LIKE") || IsKeyword(Peek(), "ILIKE")) {
      const bool ignore_case = IsKeyword(Next(), "ILIKE");
      if (Peek().kind != Tok::kString) return Error("a 'pattern' string after LIKE");
      auto e = cp::call("match_like", {left}, cp::MatchSubstringOptions(Next().text, ignore_case));
      return negate ? cp::not_(e) : e;
    }
    if (IsKeyword(Peek(), "BETWEEN")) {
      Next();
      ARROW_ASSIGN_OR_RAISE(auto low, Sum());
      if (!IsKeyword(Peek(), "AND")) return Error("AND in BETWEEN ... AND ...");
      Next();
      ARROW_ASSIGN_OR_RAISE(auto high, Sum());
      auto e = cp::and_(cp::greater_equal(left, low), cp::less_equal(left, high));
      return negate ? cp::not_(e) : e;
    }
    if (negate) return Error("IN, LIKE, ILIKE or BETWEEN after NOT");
    return left;
  }

  // + and -, then * and /, left to right; "/" divides as doubles (as SQL
  // engines divide integers into a fraction).
  arrow::Result<cp::Expression> Sum() {
    ARROW_ASSIGN_OR_RAISE(auto e, Product());
    int terms = 1;
    while (Peek().kind == Tok::kArith && (Peek().text == "+" || Peek().text == "-")) {
      const bool plus = Next().text == "+";
      if (++terms > kMaxFilterDepth) return Error("fewer terms in one sum");
      ARROW_ASSIGN_OR_RAISE(auto r, Product());
      e = cp::call(plus ? "add_checked" : "subtract_checked", {std::move(e), std::move(r)});
    }
    return e;
  }
  arrow::Result<cp::Expression> Product() {
    ARROW_ASSIGN_OR_RAISE(auto e, Unary());
    int terms = 1;
    while (Peek().kind == Tok::kArith && (Peek().text == "*" || Peek().text == "/")) {
      const bool times = Next().text == "*";
      if (++terms > kMaxFilterDepth) return Error("fewer factors in one product");
      ARROW_ASSIGN_OR_RAISE(auto r, Unary());
      if (times) {
        e = cp::call("multiply_checked", {std::move(e), std::move(r)});
      } else {
        e = cp::call("divide",
                     {cp::call("cast", {std::move(e)}, cp::CastOptions::Safe(arrow::float64())),
                      cp::call("cast", {std::move(r)}, cp::CastOptions::Safe(arrow::float64()))});
      }
    }
    return e;
  }
  arrow::Result<cp::Expression> Unary() {
    if (Peek().kind == Tok::kArith && Peek().text == "-") {
      Next();
      ARROW_RETURN_NOT_OK(Enter());
      ARROW_ASSIGN_OR_RAISE(auto e, Unary());
      --depth_;
      return cp::call("negate_checked", {std::move(e)});
    }
    return Operand();
  }

  arrow::Result<cp::Expression> Operand() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kLParen: {
        Next();
        ARROW_RETURN_NOT_OK(Enter());
        ARROW_ASSIGN_OR_RAISE(auto e, Or());
        if (Peek().kind != Tok::kRParen) return Error("')'");
        Next();
        --depth_;
        return e;
      }
      case Tok::kQuotedIdent: return Column();
      case Tok::kIdent:
        if (IsKeyword(t, "TRUE")) return Next(), cp::literal(true);
        if (IsKeyword(t, "FALSE")) return Next(), cp::literal(false);
        if (IsKeyword(t, "NULL")) return Next(), cp::literal(arrow::MakeNullScalar(arrow::null()));
        if ((IsKeyword(t, "DATE") || IsKeyword(t, "TIMESTAMP")) &&
            toks_[pos_ + 1].kind == Tok::kString) {
          ARROW_ASSIGN_OR_RAISE(auto scalar, Literal());
          return cp::literal(scalar);
        }
        if (toks_[pos_ + 1].kind == Tok::kLParen) return Function();
        if (IsKeyword(t, "AND") || IsKeyword(t, "OR") || IsKeyword(t, "NOT") ||
            IsKeyword(t, "IN") || IsKeyword(t, "IS") || IsKeyword(t, "LIKE") ||
            IsKeyword(t, "ILIKE") || IsKeyword(t, "BETWEEN")) {
          return Error("a column or a value");
        }
        return Column();
      default: {
        ARROW_ASSIGN_OR_RAISE(auto scalar, Literal());
        return cp::literal(scalar);
      }
    }
  }

  // name ("." name)*: a top-level column, or a field inside struct columns.
  arrow::Result<cp::Expression> Column() {
    std::vector<arrow::FieldRef> path;
    path.emplace_back(Next().text);
    while (Peek().kind == Tok::kDot) {
      Next();
      if (Peek().kind != Tok::kIdent && Peek().kind != Tok::kQuotedIdent) {
        return Error("a field name after '.'");
      }
      if (path.size() >= static_cast<size_t>(kMaxFilterDepth)) return Error("a shorter path");
      path.emplace_back(Next().text);
    }
    if (path.size() == 1) return cp::field_ref(std::move(path[0]));
    return cp::field_ref(arrow::FieldRef(std::move(path)));
  }

  // LOWER(s), UPPER(s), LENGTH(s) (characters), ABS(x), COALESCE(a, b, ...).
  arrow::Result<cp::Expression> Function() {
    const Token name = Next();
    Next();  // '('
    ARROW_RETURN_NOT_OK(Enter());
    std::vector<cp::Expression> args;
    if (Peek().kind != Tok::kRParen) {
      while (true) {
        if (args.size() >= static_cast<size_t>(kMaxFilterDepth)) return Error("fewer arguments");
        ARROW_ASSIGN_OR_RAISE(auto a, Or());
        args.push_back(std::move(a));
        if (Peek().kind == Tok::kComma) {
          Next();
          continue;
        }
        break;
      }
    }
    if (Peek().kind != Tok::kRParen) return Error("',' or ')' in the arguments");
    Next();
    --depth_;
    auto one = [&](const char* fn) -> arrow::Result<cp::Expression> {
      if (args.size() != 1) {
        return arrow::Status::Invalid("filter: ", name.text, "() at position ", name.pos,
                                      " takes one argument, not ", args.size());
      }
      return cp::call(fn, {std::move(args[0])});
    };
    if (IsKeyword(name, "LOWER")) return one("utf8_lower");
    if (IsKeyword(name, "UPPER")) return one("utf8_upper");
    if (IsKeyword(name, "LENGTH")) return one("utf8_length");
    if (IsKeyword(name, "ABS")) return one("abs_checked");
    if (IsKeyword(name, "COALESCE")) {
      if (args.empty()) {
        return arrow::Status::Invalid("filter: COALESCE() at position ", name.pos,
                                      " needs an argument");
      }
      return cp::call("coalesce", std::move(args));
    }
    return arrow::Status::Invalid("filter: unknown function '", name.text, "' at position ",
                                  name.pos, " (functions: lower, upper, length, abs, coalesce)");
  }

  arrow::Result<std::shared_ptr<arrow::Scalar>> Literal() {
    const Token& t = Peek();
    try {
      if (t.kind == Tok::kInt) {
        size_t used = 0;
        const long long v = std::stoll(t.text, &used);
        if (used != t.text.size()) return Error("an integer");
        Next();
        return arrow::MakeScalar(static_cast<int64_t>(v));
      }
      if (t.kind == Tok::kFloat) {
        size_t used = 0;
        const double v = std::stod(t.text, &used);
        if (used != t.text.size()) return Error("a number");
        Next();
        return arrow::MakeScalar(v);
      }
    } catch (const std::exception&) {
      return Error("a number in range");
    }
    if (t.kind == Tok::kString) return arrow::MakeScalar(Next().text);
    if (IsKeyword(t, "TRUE")) return Next(), arrow::MakeScalar(true);
    if (IsKeyword(t, "FALSE")) return Next(), arrow::MakeScalar(false);
    if ((IsKeyword(t, "DATE") || IsKeyword(t, "TIMESTAMP")) &&
        toks_[pos_ + 1].kind == Tok::kString) {
      const bool date = IsKeyword(Next(), "DATE");
      const Token& v = Next();
      auto parsed = arrow::Scalar::Parse(
          date
              ? std::static_pointer_cast<arrow::DataType>(arrow::date32())
              : std::static_pointer_cast<arrow::DataType>(arrow::timestamp(arrow::TimeUnit::MICRO)),
          v.text);
      if (!parsed.ok()) {
        return arrow::Status::Invalid(
            "filter: '", v.text, "' at position ", v.pos, " is not a ",
            date ? "date (yyyy-mm-dd)" : "timestamp (yyyy-mm-dd hh:mm:ss[.ffffff])");
      }
      return parsed;
    }
    return Error("a literal value");
  }

  arrow::Result<std::shared_ptr<arrow::Array>> ValueSet() {
    if (Peek().kind != Tok::kLParen) return Error("'(' after IN");
    Next();
    std::vector<std::shared_ptr<arrow::Scalar>> values;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto v, Literal());
      values.push_back(v);
      if (Peek().kind == Tok::kComma) {
        Next();
        continue;
      }
      if (Peek().kind == Tok::kRParen) {
        Next();
        break;
      }
      return Error("',' or ')' in IN list");
    }
    // One type for the set: int64, else double if any float, else as given.
    std::shared_ptr<arrow::DataType> type = values[0]->type;
    bool numeric = true, any_float = false;
    for (const auto& v : values) {
      numeric &= v->type->id() == arrow::Type::INT64 || v->type->id() == arrow::Type::DOUBLE;
      any_float |= v->type->id() == arrow::Type::DOUBLE;
      if (!numeric && !v->type->Equals(*type)) {
        return arrow::Status::Invalid("filter: IN list mixes ", type->ToString(), " and ",
                                      v->type->ToString());
      }
    }
    if (numeric && any_float) type = arrow::float64();
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), type, &builder));
    for (const auto& v : values) {
      ARROW_ASSIGN_OR_RAISE(auto cast, v->CastTo(type));
      ARROW_RETURN_NOT_OK(builder->AppendScalar(*cast));
    }
    return builder->Finish();
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

arrow::Result<arrow::compute::Expression> ParseFilter(std::string_view text) {
  ARROW_RETURN_NOT_OK(table::EnsureComputeInitialized());
  if (text.size() > kMaxFilterBytes) {
    return arrow::Status::Invalid("filter: ", text.size(), " bytes is longer than the limit of ",
                                  kMaxFilterBytes);
  }
  ARROW_ASSIGN_OR_RAISE(auto toks, Lex(text));
  if (toks.size() == 1) return arrow::Status::Invalid("filter: empty");
  return Parser(std::move(toks)).Parse();
}

arrow::Result<std::shared_ptr<arrow::Array>> EvaluateSql(std::string_view sql,
                                                         const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto expr, ParseFilter(sql));
  ARROW_ASSIGN_OR_RAISE(auto bound, table::BindExpression(expr, *batch.schema()));
  ARROW_ASSIGN_OR_RAISE(auto input, cp::MakeExecBatch(*batch.schema(), arrow::Datum(batch)));
  ARROW_ASSIGN_OR_RAISE(auto out, cp::ExecuteScalarExpression(bound, input));
  if (out.is_scalar()) return arrow::MakeArrayFromScalar(*out.scalar(), batch.num_rows());
  return out.make_array();
}

}  // namespace ailake
