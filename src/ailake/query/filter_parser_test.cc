#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include "ailake/query.h"

namespace ailake {
namespace {

namespace cp = arrow::compute;

std::shared_ptr<arrow::RecordBatch> Data() {
  arrow::Int32Builder cat;
  arrow::DoubleBuilder price;
  arrow::StringBuilder name;
  for (int i = 0; i < 10; ++i) {
    (void)cat.Append(i % 3);
    (void)price.Append(i * 1.5);
    if (i == 4) {
      (void)name.AppendNull();
    } else {
      (void)name.Append(std::string(i % 2 ? "alpha" : "beta") + std::to_string(i));
    }
  }
  std::shared_ptr<arrow::Array> a, b, c;
  (void)cat.Finish(&a);
  (void)price.Finish(&b);
  (void)name.Finish(&c);
  auto schema =
      arrow::schema({arrow::field("cat", arrow::int32()), arrow::field("price", arrow::float64()),
                     arrow::field("my name", arrow::utf8())});
  return arrow::RecordBatch::Make(schema, 10, {a, b, c});
}

// Rows (0..9) where the filter is true.
std::vector<int> Eval(const std::string& text) {
  auto batch = Data();
  auto expr = ParseFilter(text);
  EXPECT_TRUE(expr.ok()) << text << ": " << expr.status().ToString();
  if (!expr.ok()) return {-1};
  auto bound = expr->Bind(*batch->schema()).ValueOrDie();
  auto input = cp::MakeExecBatch(*batch->schema(), arrow::Datum(batch)).ValueOrDie();
  auto out = cp::ExecuteScalarExpression(bound, input).ValueOrDie();
  std::vector<int> rows;
  auto arr = std::static_pointer_cast<arrow::BooleanArray>(out.make_array());
  for (int i = 0; i < 10; ++i) {
    if (arr->IsValid(i) && arr->Value(i)) rows.push_back(i);
  }
  return rows;
}

TEST(FilterParserTest, Comparisons) {
  EXPECT_EQ(Eval("cat = 1"), (std::vector<int>{1, 4, 7}));
  EXPECT_EQ(Eval("cat == 1"), (std::vector<int>{1, 4, 7}));
  EXPECT_EQ(Eval("cat != 1 AND price < 6"), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(Eval("price >= 12"), (std::vector<int>{8, 9}));
  EXPECT_EQ(Eval("price > 12.0 or cat <> 0"), (std::vector<int>{1, 2, 4, 5, 7, 8, 9}));
  EXPECT_EQ(Eval("1 = cat"), (std::vector<int>{1, 4, 7}));
  EXPECT_EQ(Eval("price <= -0.5"), (std::vector<int>{}));
}

TEST(FilterParserTest, LogicAndParentheses) {
  EXPECT_EQ(Eval("NOT (cat = 0 OR cat = 1)"), (std::vector<int>{2, 5, 8}));
  EXPECT_EQ(Eval("cat = 0 AND (price < 1 OR price > 10)"), (std::vector<int>{0, 9}));
  EXPECT_EQ(Eval("cat = 0 and price < 1 or price > 10"), (std::vector<int>{0, 7, 8, 9}));
}

TEST(FilterParserTest, NullsInLikeAndQuoting) {
  EXPECT_EQ(Eval("\"my name\" IS NULL"), (std::vector<int>{4}));
  EXPECT_EQ(Eval("\"my name\" is not null AND cat = 1"), (std::vector<int>{1, 7}));
  EXPECT_EQ(Eval("cat IN (0, 2)"), (std::vector<int>{0, 2, 3, 5, 6, 8, 9}));
  EXPECT_EQ(Eval("cat NOT IN (0, 2)"), (std::vector<int>{1, 4, 7}));
  EXPECT_EQ(Eval("\"my name\" IN ('beta0', 'alpha3')"), (std::vector<int>{0, 3}));
  EXPECT_EQ(Eval("\"my name\" LIKE 'alpha%'"), (std::vector<int>{1, 3, 5, 7, 9}));
  EXPECT_EQ(Eval("\"my name\" NOT LIKE 'alpha%'"), (std::vector<int>{0, 2, 6, 8}));
  EXPECT_EQ(Eval("price IN (1.5, 3)"), (std::vector<int>{1, 2}));
}

TEST(FilterParserTest, ErrorsNamePositionAndExpectation) {
  struct Case {
    const char* text;
    const char* needle;
  };
  for (const Case& c :
       {Case{"", "empty"}, Case{"cat =", "end of input"}, Case{"cat = 1 AND", "end of input"},
        Case{"(cat = 1", "')'"}, Case{"name = 'abc", "unterminated"},
        Case{"cat IN 1", "'(' after IN"}, Case{"cat ! 1", "!="},
        Case{"cat = 1 extra", "end of filter"}, Case{"cat # 1", "unexpected"},
        Case{"cat IN ('a', 1)", "mixes"}, Case{"x = 99999999999999999999", "in range"}}) {
    auto r = ParseFilter(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
}

// Issue #10 finding 2: deep or long filters overflowed the stack.
TEST(FilterParserTest, ArithmeticFunctionsBetweenAndIlike) {
  EXPECT_EQ(Eval("cat * 2 + 1 = 5"), (std::vector<int>{2, 5, 8}));
  EXPECT_EQ(Eval("price / 3 >= 2.5"), (std::vector<int>{5, 6, 7, 8, 9}));
  EXPECT_EQ(Eval("cat-1 = 1"), (std::vector<int>{2, 5, 8}));
  EXPECT_EQ(Eval("-cat = -2"), (std::vector<int>{2, 5, 8}));
  EXPECT_EQ(Eval("price BETWEEN 3 AND 6"), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(Eval("price NOT BETWEEN 3 AND 12"), (std::vector<int>{0, 1, 9}));
  EXPECT_EQ(Eval("\"my name\" ILIKE 'ALPHA%'"), (std::vector<int>{1, 3, 5, 7, 9}));
  EXPECT_EQ(Eval("upper(\"my name\") = 'BETA2'"), (std::vector<int>{2}));
  EXPECT_EQ(Eval("length(\"my name\") = 6"), (std::vector<int>{1, 3, 5, 7, 9}));
  EXPECT_EQ(Eval("abs(price - 6) < 2"), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(Eval("coalesce(\"my name\", 'none') = 'none'"), (std::vector<int>{4}));
  auto date = ParseFilter("d = DATE '2024-02-29'");
  ASSERT_TRUE(date.ok()) << date.status();
  EXPECT_NE(date->ToString().find("2024-02-29"), std::string::npos) << date->ToString();
  EXPECT_TRUE(ParseFilter("t < TIMESTAMP '2024-01-02 03:04:05.123456'").ok());
  auto nested = ParseFilter("meta.a.b > 1");
  ASSERT_TRUE(nested.ok());
  auto refs = cp::FieldsInExpression(*nested);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_TRUE(refs[0].IsNested());
  EXPECT_FALSE(ParseFilter("d = DATE '2024-02-30'").ok());
  EXPECT_FALSE(ParseFilter("price BETWEEN 1").ok());
  EXPECT_FALSE(ParseFilter("frobnicate(cat) = 1").ok());
}

TEST(FilterParserTest, DeepAndLongFiltersAreBoundedNotACrash) {
  auto nested = [](int n) {
    return std::string(static_cast<size_t>(n), '(') + "cat = 1" +
           std::string(static_cast<size_t>(n), ')');
  };
  // Past the depth limit: an error naming it, for parentheses and for NOTs.
  for (const std::string& text : {nested(8000), nested(kMaxFilterDepth + 1)}) {
    auto r = ParseFilter(text);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("nested deeper than 256"), std::string::npos)
        << r.status().ToString();
  }
  std::string nots;
  for (int i = 0; i < 20000; ++i) nots += "NOT ";
  auto r = ParseFilter(nots + "cat = 1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper"), std::string::npos);
  // At the limit it parses and evaluates.
  EXPECT_EQ(Eval(nested(kMaxFilterDepth)), (std::vector<int>{1, 4, 7}));
  // 20,000 AND / OR terms: a balanced tree, bound and evaluated by Arrow.
  std::string ors = "cat = 1", ands = "price >= 0";
  for (int i = 0; i < 20000; ++i) {
    ors += " OR cat = " + std::to_string(100 + i);
    ands += " AND price < " + std::to_string(1000 + i);
  }
  EXPECT_EQ(Eval(ors), (std::vector<int>{1, 4, 7}));
  EXPECT_EQ(Eval(ands), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Sums, products, unary minus and nested function calls are bounded too.
  std::string sum = "cat", minus, calls;
  for (int i = 0; i < 300; ++i) sum += " + 1";
  r = ParseFilter(sum + " > 0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fewer terms"), std::string::npos) << r.status();
  for (int i = 0; i < 20000; ++i) minus += "- ";
  EXPECT_FALSE(ParseFilter(minus + "cat > 0").ok());
  for (int i = 0; i < 20000; ++i) calls += "abs(";
  EXPECT_FALSE(ParseFilter(calls + "cat" + std::string(20000, ')') + " > 0").ok());
  std::string long_sum = "cat";
  for (int i = 0; i < 200; ++i) long_sum += " + 0";
  EXPECT_EQ(Eval(long_sum + " = 1"), (std::vector<int>{1, 4, 7}));
  // Longer than the length limit.
  r = ParseFilter(std::string(kMaxFilterBytes + 1, ' ') + "cat = 1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("longer than the limit"), std::string::npos);
}

}  // namespace
}  // namespace ailake
