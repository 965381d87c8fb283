// Tests of extension/row_codec.h: the byte layout (golden bytes from
// docs/key_encoding.md), round trips of random rows, single-column reads, rows written
// with fewer columns, key overrides, and damaged rows. Readers get exact-size heap
// buffers so that AddressSanitizer reports any read past the end.
#include "extension/row_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace strata::sql {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinInt = std::numeric_limits<int64_t>::min();

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[bytes.empty() ? 1 : bytes.size()]) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

std::string Row(std::vector<SqlValue> columns, std::vector<KeyColumnOverride> overrides = {}) {
  std::string row;
  AppendRow(&row, columns, overrides);
  return row;
}

class RandomRows {
 public:
  explicit RandomRows(uint64_t seed) : rng_(seed) {}

  SqlValue Value() {
    switch (rng_() % 7) {
      case 0:
        return SqlValue::Null();
      case 1: {
        static const int64_t kEdges[] = {0,   1,     -1,    127,    128,     -128,    -129,
                                         255, 32767, 32768, -32769, 1 << 23, kMaxInt, kMinInt};
        return SqlValue::Integer(kEdges[rng_() % std::size(kEdges)]);
      }
      case 2:
        return SqlValue::Integer(static_cast<int64_t>(rng_()) >> (rng_() % 64));
      case 3: {
        double r;
        do {
          uint64_t bits = rng_();
          std::memcpy(&r, &bits, sizeof(r));
        } while (std::isnan(r));
        return SqlValue::Real(rng_() % 2 ? r : -0.0);
      }
      case 4:
      case 5: {
        std::string s;
        size_t n = rng_() % 4 == 0 ? rng_() % 300 : rng_() % 8;  // some need 2-byte types
        for (size_t i = 0; i < n; i++) s += static_cast<char>(rng_());
        storage_.push_back(std::move(s));
        return rng_() % 2 ? SqlValue::Text(storage_.back()) : SqlValue::Blob(storage_.back());
      }
      default:
        return SqlValue::Integer(static_cast<int64_t>(rng_() % 3));
    }
  }

  std::vector<SqlValue> Columns() {
    std::vector<SqlValue> columns(rng_() % 12);
    for (SqlValue& v : columns) v = Value();
    return columns;
  }

  std::vector<KeyColumnOverride> Overrides() {
    std::vector<KeyColumnOverride> overrides;
    uint32_t column = 0;
    while (rng_() % 3 == 0) {
      column += 1 + static_cast<uint32_t>(rng_() % 3);
      overrides.push_back({column, Value()});
    }
    return overrides;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::deque<std::string> storage_;
};

TEST(RowCodecTest, EncodingMatchesTheDocumentedBytes) {
  // The worked example of docs/key_encoding.md: (NULL, 0, 1, 300, -2, 1.5, 'hi', x'ff',
  // NULL, NULL): trailing NULLs are not written.
  std::string row =
      Row({SqlValue::Null(), SqlValue::Integer(0), SqlValue::Integer(1), SqlValue::Integer(300),
           SqlValue::Integer(-2), SqlValue::Real(1.5), SqlValue::Text("hi"), SqlValue::Blob("\xff"),
           SqlValue::Null(), SqlValue::Null()});
  EXPECT_EQ(row, Bytes({0x01, 0x00,                                      // version, flags
                        0x08,                                            // header size
                        0x00, 0x01, 0x02, 0x04, 0x03, 0x0B, 0x11, 0x10,  // serial types
                        0x01, 0x2C,                                      // 300
                        0xFE,                                            // -2
                        0x3F, 0xF8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1.5
                        'h',  'i',  0xFF}));
  // With a key override: key column 0 is really the REAL 1.0.
  std::string with_override = Row({SqlValue::Integer(5)}, {{0, SqlValue::Real(1.0)}});
  EXPECT_EQ(with_override,
            Bytes({0x01, 0x01, 0x01, 0x00, 0x0B, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x01, 0x03, 0x05}));
  EXPECT_EQ(Row({}), Bytes({0x01, 0x00, 0x00}));
  EXPECT_EQ(Row({SqlValue::Null(), SqlValue::Null()}), Row({}));
}

TEST(RowCodecTest, RandomRowsRoundTripInAnyReadOrder) {
  RandomRows gen(1);
  for (int n = 0; n < 20000; n++) {
    std::vector<SqlValue> columns = gen.Columns();
    std::vector<KeyColumnOverride> overrides = gen.Overrides();
    std::string row = Row(columns, overrides);
    ExactBuffer buffer(row);
    ASSERT_EQ(ValidateRow(buffer.view()), nullptr);
    RowReader reader;
    ASSERT_TRUE(reader.Reset(buffer.view())) << reader.error();
    // In order, as xColumn is usually called, then at random, then past the end.
    for (uint32_t i = 0; i < columns.size(); i++) {
      SqlValue v;
      ASSERT_TRUE(reader.Column(i, &v));
      ASSERT_TRUE(v.IdenticalTo(columns[i]))
          << i << ": " << v.DebugString() << " vs " << columns[i].DebugString();
    }
    for (int k = 0; k < 8 && !columns.empty(); k++) {
      uint32_t i = static_cast<uint32_t>(gen.rng()() % columns.size());
      SqlValue v;
      ASSERT_TRUE(reader.Column(i, &v));
      ASSERT_TRUE(v.IdenticalTo(columns[i]));
    }
    SqlValue beyond;
    ASSERT_TRUE(reader.Column(static_cast<uint32_t>(columns.size() + gen.rng()() % 5), &beyond));
    ASSERT_TRUE(beyond.is_null());
    for (const KeyColumnOverride& o : overrides) {
      SqlValue v;
      ASSERT_TRUE(reader.FindKeyOverride(o.key_column, &v));
      ASSERT_TRUE(v.IdenticalTo(o.value));
    }
    SqlValue none;
    EXPECT_FALSE(reader.FindKeyOverride(0, &none));  // overrides start at column >= 1 here
  }
}

TEST(RowCodecTest, ReadingOneColumnGivesTheSameAsReadingAll) {
  RandomRows gen(2);
  for (int n = 0; n < 5000; n++) {
    std::vector<SqlValue> columns = gen.Columns();
    std::string row = Row(columns);
    ExactBuffer buffer(row);
    for (uint32_t i = 0; i < columns.size(); i++) {
      RowReader fresh;  // no earlier reads to lean on
      ASSERT_TRUE(fresh.Reset(buffer.view()));
      SqlValue v;
      ASSERT_TRUE(fresh.Column(i, &v));
      ASSERT_TRUE(v.IdenticalTo(columns[i]));
    }
  }
}

TEST(RowCodecTest, SerialTypesAndHeadersOfOneAndTwoVarintBytesReadBack) {
  // A BLOB or TEXT of up to 57 bytes has a one-byte serial type, 58 and more two bytes;
  // a header of over 127 bytes has a two-byte size. The reader decodes one-byte varints
  // on a fast path and longer ones on the general one: both must give the same values.
  std::vector<SqlValue> columns;
  std::vector<std::string> payloads;
  for (size_t size : {0, 1, 56, 57, 58, 59, 63, 64, 200, 20000}) {
    payloads.push_back(std::string(size, static_cast<char>('a' + size % 26)));
  }
  for (const std::string& p : payloads) columns.push_back(SqlValue::Blob(p));
  for (const std::string& p : payloads) columns.push_back(SqlValue::Text(p));
  for (int i = 0; i < 150; i++) columns.push_back(SqlValue::Integer(i * 1000));  // long header
  std::string row = Row(columns);
  ExactBuffer buffer(row);
  RowReader reader;
  ASSERT_TRUE(reader.Reset(buffer.view()));
  for (uint32_t i = 0; i < columns.size(); i++) {
    SqlValue v;
    ASSERT_TRUE(reader.Column(i, &v)) << i;
    EXPECT_TRUE(v.IdenticalTo(columns[i])) << i;
  }
  EXPECT_EQ(ValidateRow(buffer.view()), nullptr);
}

TEST(RowCodecTest, RowsWrittenWithFewerColumnsReadNullForTheNewOnes) {
  // As after ALTER TABLE ADD COLUMN: old rows stay as written.
  std::string old_row = Row({SqlValue::Integer(7), SqlValue::Text("x")});
  RowReader reader;
  ASSERT_TRUE(reader.Reset(old_row));
  SqlValue v;
  ASSERT_TRUE(reader.Column(1, &v));
  EXPECT_EQ(v.bytes(), "x");
  for (uint32_t i = 2; i < 10; i++) {
    ASSERT_TRUE(reader.Column(i, &v));
    EXPECT_TRUE(v.is_null()) << i;
  }
  ASSERT_TRUE(reader.Column(0, &v));  // rewinds
  EXPECT_TRUE(v.IdenticalTo(SqlValue::Integer(7)));
}

TEST(RowCodecTest, SmallValuesTakeLittleSpace) {
  // Version, flags, header size, one type byte per column, then payload only where
  // needed: NULL, 0 and 1 have none, small integers one byte.
  EXPECT_EQ(Row({SqlValue::Integer(0), SqlValue::Integer(1), SqlValue::Null()}).size(), 5u);
  EXPECT_EQ(Row({SqlValue::Integer(-100)}).size(), 5u);
  EXPECT_EQ(Row({SqlValue::Integer(kMaxInt)}).size(), 12u);
  // Integer widths are minimal: each boundary value round-trips in its width.
  const std::pair<int64_t, size_t> widths[] = {
      {127, 1},     {128, 2},     {-128, 1},    {-129, 2},    {32767, 2},      {32768, 3},
      {8388607, 3}, {8388608, 4}, {kMaxInt, 8}, {kMinInt, 8}, {2147483647, 4}, {2147483648, 5}};
  for (const auto& [value, width] : widths) {
    std::string row = Row({SqlValue::Integer(value)});
    EXPECT_EQ(row.size(), 4 + width) << value;
    RowReader reader;
    ASSERT_TRUE(reader.Reset(row));
    SqlValue v;
    ASSERT_TRUE(reader.Column(0, &v));
    EXPECT_TRUE(v.IdenticalTo(SqlValue::Integer(value))) << value;
  }
}

TEST(RowCodecTest, ReadValuesPointIntoTheRow) {
  std::string row = Row({SqlValue::Text("hello"), SqlValue::Blob("world")});
  RowReader reader;
  ASSERT_TRUE(reader.Reset(row));
  SqlValue v;
  ASSERT_TRUE(reader.Column(1, &v));
  EXPECT_EQ(v.type(), SqlType::kBlob);
  EXPECT_GE(v.bytes().data(), row.data());
  EXPECT_LE(v.bytes().data() + v.bytes().size(), row.data() + row.size());
}

TEST(RowCodecTest, DamagedPrefixesAreReportedClearly) {
  RowReader reader;
  EXPECT_FALSE(reader.Reset(""));
  EXPECT_STREQ(reader.error(), "row shorter than its 2-byte prefix");
  EXPECT_FALSE(reader.Reset(Bytes({0x02, 0x00, 0x00})));
  EXPECT_STREQ(reader.error(), "unknown row format version");
  EXPECT_FALSE(reader.Reset(Bytes({0x01, 0x02, 0x00})));
  EXPECT_STREQ(reader.error(), "unknown row flags");
  EXPECT_FALSE(reader.Reset(Bytes({0x01, 0x00, 0x05, 0x00})));
  EXPECT_STREQ(reader.error(), "row header past end of row");
  // Overrides must be in increasing column order.
  EXPECT_FALSE(reader.Reset(Bytes({0x01, 0x01, 0x02, 0x03, 0x01, 0x03, 0x01, 0x00})));
  EXPECT_STREQ(reader.error(), "bad key override column");
  // Serial type 12 is reserved. (The row must outlive the reader: keep it in a variable.)
  std::string reserved_type = Bytes({0x01, 0x00, 0x01, 0x0C});
  ASSERT_TRUE(reader.Reset(reserved_type));
  SqlValue v;
  EXPECT_FALSE(reader.Column(0, &v));
  EXPECT_STREQ(reader.error(), "unknown serial type");
  EXPECT_FALSE(reader.Column(0, &v));  // stays failed
  // A payload longer than the row.
  std::string short_payload = Bytes({0x01, 0x00, 0x01, 0x0B, 0x3F});
  ASSERT_TRUE(reader.Reset(short_payload));
  EXPECT_FALSE(reader.Column(0, &v));
  EXPECT_STREQ(reader.error(), "payload past end of row");
  EXPECT_STREQ(ValidateRow(Bytes({0x01, 0x00, 0x01, 0x03, 0x05, 0x06})),
               "bytes after the last payload");
  RowReader unused;
  EXPECT_FALSE(unused.Column(0, &v));
}

TEST(RowCodecTest, TruncatedRowsAreNeverReadPastTheirEnd) {
  RandomRows gen(3);
  for (int n = 0; n < 3000; n++) {
    std::vector<SqlValue> columns = gen.Columns();
    std::string row = Row(columns, gen.Overrides());
    for (size_t len = 0; len < row.size(); len++) {
      ExactBuffer buffer(std::string_view(row).substr(0, len));
      ASSERT_NE(ValidateRow(buffer.view()), nullptr) << "cut at " << len;
      RowReader reader;
      if (!reader.Reset(buffer.view())) continue;
      for (uint32_t i = 0; i <= columns.size(); i++) {
        SqlValue v;
        if (!reader.Column(i, &v)) break;
      }
    }
  }
}

TEST(RowCodecTest, CorruptedRowsNeverCrashTheReader) {
  RandomRows gen(4);
  std::mt19937_64& rng = gen.rng();
  for (int n = 0; n < 100000; n++) {
    std::string row;
    if (n % 2 == 0) {
      row = Row(gen.Columns(), gen.Overrides());
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; f++)
        row[rng() % row.size()] ^= static_cast<char>(1 << (rng() % 8));
    } else {
      int len = static_cast<int>(rng() % 24);
      for (int i = 0; i < len; i++) row += static_cast<char>(rng());
      if (len >= 2 && rng() % 2) {
        row[0] = 0x01;
        row[1] = static_cast<char>(rng() % 2);
      }
    }
    ExactBuffer buffer(row);
    const char* problem = ValidateRow(buffer.view());
    RowReader reader;
    if (!reader.Reset(buffer.view())) {
      ASSERT_NE(problem, nullptr);
      continue;
    }
    bool all_read = true;
    for (uint32_t i = 0; i < 16; i++) {
      SqlValue v;
      if (!reader.Column(static_cast<uint32_t>(rng() % 16), &v)) {
        all_read = false;
        break;
      }
    }
    SqlValue v;
    for (uint32_t k = 0; k < 8; k++) reader.FindKeyOverride(k, &v);
    // A row ValidateRow accepts can be read in full.
    if (problem == nullptr) {
      ASSERT_TRUE(all_read);
    }
  }
}

}  // namespace
}  // namespace strata::sql
