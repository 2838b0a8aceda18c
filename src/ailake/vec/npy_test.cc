#include "ailake/vec/npy.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ailake::vec {
namespace {

// A .npy v1 file: `dict` padded as NumPy pads it, then `body`.
std::string Npy(const std::string& dict, const std::string& body) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + body;
}

template <class T>
std::string Bytes(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

const uint8_t* Data(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST(NpyTest, Int64AndInt32MatricesAreRead) {
  const std::vector<int64_t> ids = {0, 7, -3, int64_t{1} << 40, 5, 6};
  const std::string i8 =
      Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", Bytes(ids));
  auto m = ParseNpyInt64(Data(i8), i8.size());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->rows, 2);
  EXPECT_EQ(m->cols, 3);
  EXPECT_EQ(m->values, ids);

  const std::vector<int32_t> small = {1, -2, 3, 2147483647};
  const std::string i4 =
      Npy("{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2, 2)}", Bytes(small));
  auto w = ParseNpyInt64(Data(i4), i4.size());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->rows, 2);
  EXPECT_EQ(w->cols, 2);
  EXPECT_EQ(w->values, (std::vector<int64_t>{1, -2, 3, 2147483647}));
}

TEST(NpyTest, EachReaderRefusesTheOtherKind) {
  const std::string f4 = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
                             Bytes(std::vector<float>{1.5f, 2.5f}));
  const std::string i8 = Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }",
                             Bytes(std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(ParseNpy(Data(f4), f4.size()).ok());
  const auto ints_as_floats = ParseNpy(Data(i8), i8.size());
  ASSERT_FALSE(ints_as_floats.ok());
  EXPECT_NE(ints_as_floats.status().message().find("'<f4'"), std::string::npos);
  const auto floats_as_ints = ParseNpyInt64(Data(f4), f4.size());
  ASSERT_FALSE(floats_as_ints.ok());
  EXPECT_NE(floats_as_ints.status().message().find("'<i8'"), std::string::npos);
  for (const char* other : {"'<u8'", "'>i8'", "'<i2'", "'|b1'", "<i8", "'<i8"}) {
    const std::string s =
        Npy(std::string("{'descr': ") + other + ", 'fortran_order': False, 'shape': (1, 2), }",
            Bytes(std::vector<int64_t>{1, 2}));
    EXPECT_FALSE(ParseNpyInt64(Data(s), s.size()).ok()) << other;
  }
}

TEST(NpyTest, IntegerShapesAreCheckedAgainstTheFile) {
  const std::string body = Bytes(std::vector<int64_t>{1, 2, 3, 4, 5});
  for (const char* bad : {
           "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }",  // 48 bytes, 40 here
           "{'descr': '<i8', 'fortran_order': True, 'shape': (1, 5), }",
           "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 5), }",
           "{'descr': '<i8', 'fortran_order': False, 'shape': (5, 0), }",
           "{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
       }) {
    const std::string s = Npy(bad, body);
    EXPECT_FALSE(ParseNpyInt64(Data(s), s.size()).ok()) << bad;
  }
  const std::string ok = Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", body);
  auto one = ParseNpyInt64(Data(ok), ok.size());
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->rows, 1);
  EXPECT_EQ(one->cols, 5);
  // Every strict prefix of a valid file is refused.
  for (size_t n = 0; n < ok.size(); ++n) EXPECT_FALSE(ParseNpyInt64(Data(ok), n).ok()) << n;
}

TEST(NpyTest, FilesRoundTripAndErrorsNameThePath) {
  const std::string path = ::testing::TempDir() + "npy_test_ids.npy";
  const std::string ids = Npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }",
                              Bytes(std::vector<int32_t>{4, 5, 6}));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(ids.data(), 1, ids.size(), f), ids.size());
  std::fclose(f);
  auto m = ReadNpyInt64File(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->values, (std::vector<int64_t>{4, 5, 6}));
  const auto as_floats = ReadNpyFile(path);
  ASSERT_FALSE(as_floats.ok());
  EXPECT_NE(as_floats.status().message().find(path), std::string::npos);

  const std::string fpath = ::testing::TempDir() + "npy_test_vectors.npy";
  const FloatMatrix v{2, 2, {1.0f, -2.0f, 0.5f, 3.0f}};
  ASSERT_TRUE(WriteNpyFile(fpath, v).ok());
  auto back = ReadNpyFile(fpath);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->rows, 2);
  EXPECT_EQ(back->values, v.values);
  std::remove(path.c_str());
  std::remove(fpath.c_str());
}

}  // namespace
}  // namespace ailake::vec
