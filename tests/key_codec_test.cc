// Tests of extension/key_codec.h: the byte layout (golden bytes from
// docs/key_encoding.md), round trips, and above all that memcmp order of encodings is
// SQLite's own order, checked against sqlite3 on many random values and tuples.
// Decoders are fed exact-size heap buffers so that AddressSanitizer reports any read
// past the end.
#include "extension/key_codec.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
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
const double kInf = std::numeric_limits<double>::infinity();

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string Hex(std::string_view s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "%02x ", c);
    out += buf;
  }
  return out;
}

std::string Key(const SqlValue& v) {
  std::string key;
  AppendKeyColumn(&key, v);
  return key;
}

int Sign(int x) { return (x > 0) - (x < 0); }

int MemcmpSign(std::string_view a, std::string_view b) { return Sign(a.compare(b)); }

// A heap copy with nothing readable after its last byte.
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

// --- sqlite3 as the oracle ------------------------------------------------------------

class Db {
 public:
  Db() { EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  sqlite3* get() const { return db_; }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
  }

 private:
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(const Db& db, const std::string& sql) {
    EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &stmt_, nullptr), SQLITE_OK) << sql;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void Bind(sqlite3_stmt* stmt, int index, const SqlValue& v) {
  switch (v.type()) {
    case SqlType::kNull:
      sqlite3_bind_null(stmt, index);
      break;
    case SqlType::kInteger:
      sqlite3_bind_int64(stmt, index, v.integer());
      break;
    case SqlType::kReal:
      sqlite3_bind_double(stmt, index, v.real());
      break;
    case SqlType::kText:
      sqlite3_bind_text(stmt, index, v.bytes().data(), static_cast<int>(v.bytes().size()),
                        SQLITE_TRANSIENT);
      break;
    case SqlType::kBlob:
      sqlite3_bind_blob(stmt, index, v.bytes().empty() ? "" : v.bytes().data(),
                        static_cast<int>(v.bytes().size()), SQLITE_TRANSIENT);
      break;
  }
}

// SQLite's comparison of two values (parameters have no affinity, so none is applied;
// the default collation is BINARY; NULL sorts first as in ORDER BY).
class SqliteComparator {
 public:
  SqliteComparator()
      : stmt_(db_,
              "SELECT CASE WHEN ?1 IS ?2 THEN 0 WHEN ?1 IS NULL THEN -1 WHEN ?2 IS NULL THEN 1 "
              "WHEN ?1 < ?2 THEN -1 ELSE 1 END") {}
  int Compare(const SqlValue& a, const SqlValue& b) {
    sqlite3_reset(stmt_.get());
    Bind(stmt_.get(), 1, a);
    Bind(stmt_.get(), 2, b);
    EXPECT_EQ(sqlite3_step(stmt_.get()), SQLITE_ROW);
    return static_cast<int>(sqlite3_column_int(stmt_.get(), 0));
  }

 private:
  Db db_;
  Stmt stmt_;
};

// --- random values, biased towards the hard cases -------------------------------------

class ValueGenerator {
 public:
  explicit ValueGenerator(uint64_t seed) : rng_(seed) {}

  SqlValue Any() {
    switch (rng_() % 10) {
      case 0:
        return SqlValue::Null();
      case 1:
      case 2:
        return Integer();
      case 3:
      case 4:
      case 5:
        return Real();
      case 6:
      case 7:
        return Text();
      default:
        return Blob();
    }
  }

  // A value equal or close to v in SQLite's order: the same number as the other
  // numeric type, one unit or one ulp away, a prefix or extension of the bytes.
  SqlValue Near(const SqlValue& v) {
    switch (v.type()) {
      case SqlType::kInteger: {
        int64_t i = v.integer();
        switch (rng_() % 4) {
          case 0:
            return SqlValue::Real(static_cast<double>(i));
          case 1:
            return SqlValue::Integer(i == kMaxInt ? i : i + 1);
          case 2:
            return SqlValue::Integer(i == kMinInt ? i : i - 1);
          default:
            return SqlValue::Real(
                std::nextafter(static_cast<double>(i), rng_() % 2 ? kInf : -kInf));
        }
      }
      case SqlType::kReal: {
        double r = v.real();
        switch (rng_() % 4) {
          case 0:
            if (r >= -9223372036854775808.0 && r < 9223372036854775808.0) {
              return SqlValue::Integer(static_cast<int64_t>(r));
            }
            return SqlValue::Real(-r);
          case 1:
            return SqlValue::Real(std::nextafter(r, kInf));
          case 2:
            return SqlValue::Real(std::nextafter(r, -kInf));
          default:
            return SqlValue::Real(std::trunc(r));
        }
      }
      case SqlType::kText:
      case SqlType::kBlob: {
        std::string s(v.bytes());
        if (!s.empty() && rng_() % 2) {
          s.resize(rng_() % s.size());
        } else {
          s += Alphabet();
        }
        storage_.push_back(std::move(s));
        return v.type() == SqlType::kText ? SqlValue::Text(storage_.back())
                                          : SqlValue::Blob(storage_.back());
      }
      case SqlType::kNull:
        break;
    }
    return Any();
  }

  SqlValue Integer() {
    static const int64_t kEdges[] = {0,
                                     1,
                                     -1,
                                     2,
                                     127,
                                     128,
                                     kMaxInt,
                                     kMinInt,
                                     kMaxInt - 1,
                                     kMinInt + 1,
                                     int64_t{1} << 53,
                                     (int64_t{1} << 53) + 1,
                                     (int64_t{1} << 53) - 1,
                                     -(int64_t{1} << 53) - 1,
                                     int64_t{1} << 62,
                                     kMaxInt - 1023,
                                     kMaxInt - 1024,
                                     kMinInt + 1024};
    if (rng_() % 4 == 0) return SqlValue::Integer(kEdges[rng_() % std::size(kEdges)]);
    int64_t i = static_cast<int64_t>(rng_()) >> (rng_() % 64);  // random bit length
    return SqlValue::Integer(i);
  }

  SqlValue Real() {
    static const double kEdges[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.0,
                                    0.5,
                                    1.5,
                                    -1.5,
                                    0.1,
                                    kInf,
                                    -kInf,
                                    std::numeric_limits<double>::max(),
                                    -std::numeric_limits<double>::max(),
                                    std::numeric_limits<double>::min(),
                                    std::numeric_limits<double>::denorm_min(),
                                    -std::numeric_limits<double>::denorm_min(),
                                    9223372036854775808.0,
                                    -9223372036854775808.0,
                                    18446744073709551616.0,
                                    9007199254740992.0,
                                    9223372036854774784.0,
                                    1e300,
                                    -1e300,
                                    1e-300,
                                    1e20};
    switch (rng_() % 5) {
      case 0:
        return SqlValue::Real(kEdges[rng_() % std::size(kEdges)]);
      case 1: {  // an integer-valued double, often beyond 2^53
        double r =
            std::ldexp(static_cast<double>(rng_() >> 11), static_cast<int>(rng_() % 80) - 40);
        return SqlValue::Real(rng_() % 2 ? std::trunc(r) : -std::trunc(r));
      }
      case 2: {  // a small decimal
        return SqlValue::Real(static_cast<double>(static_cast<int64_t>(rng_() % 2001) - 1000) / 8);
      }
      default: {  // any bit pattern but NaN
        double r;
        do {
          uint64_t bits = rng_();
          std::memcpy(&r, &bits, sizeof(r));
        } while (std::isnan(r));
        return SqlValue::Real(r);
      }
    }
  }

  SqlValue Text() {
    storage_.push_back(Alphabet());
    return SqlValue::Text(storage_.back());
  }
  SqlValue Blob() {
    storage_.push_back(Alphabet());
    return SqlValue::Blob(storage_.back());
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  // Short strings over bytes that stress the escaping: 0x00, 0x01, 0xFF and letters.
  std::string Alphabet() {
    static const char kBytes[] = {'\0', '\x01', '\xff', '\xfe', 'a', 'b'};
    std::string s;
    int n = static_cast<int>(rng_() % 5);
    for (int i = 0; i < n; i++) s += kBytes[rng_() % sizeof(kBytes)];
    return s;
  }

  std::mt19937_64 rng_;
  std::deque<std::string> storage_;  // stable addresses for TEXT and BLOB views
};

// --- layout ---------------------------------------------------------------------------

TEST(KeyCodecTest, EncodingsMatchTheDocumentedBytes) {
  // These are the worked examples of docs/key_encoding.md.
  EXPECT_EQ(Key(SqlValue::Null()), Bytes({0x05}));
  EXPECT_EQ(Key(SqlValue::Integer(0)), Bytes({0x53}));
  EXPECT_EQ(Key(SqlValue::Integer(1)), Bytes({0x55, 0x00}));
  EXPECT_EQ(Key(SqlValue::Integer(-1)), Bytes({0x51, 0xFF}));
  EXPECT_EQ(Key(SqlValue::Integer(7)), Bytes({0x57, 0xC0}));
  EXPECT_EQ(Key(SqlValue::Integer(1000)), Bytes({0x5E, 0xF4}));
  EXPECT_EQ(Key(SqlValue::Real(1.5)), Bytes({0x55, 0x80}));
  EXPECT_EQ(Key(SqlValue::Real(-1.5)), Bytes({0x51, 0x7F}));
  EXPECT_EQ(Key(SqlValue::Real(0.75)), Bytes({0x54, 0x7F, 0xFF, 0x80}));
  EXPECT_EQ(Key(SqlValue::Integer((int64_t{1} << 53) + 1)),
            Bytes({0x8A, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x10}));
  EXPECT_EQ(Key(SqlValue::Integer(kMinInt)), Bytes({0x12, 0xFF}));
  EXPECT_EQ(Key(SqlValue::Real(1e20)),
            Bytes({0x95, 0x80, 0x42, 0x5B, 0x79, 0x75, 0xF1, 0xB5, 0xC7, 0x10}));
  EXPECT_EQ(Key(SqlValue::Real(kInf)), Bytes({0x96}));
  EXPECT_EQ(Key(SqlValue::Real(-kInf)), Bytes({0x10}));
  EXPECT_EQ(Key(SqlValue::Text("abc")), Bytes({0xA0, 'a', 'b', 'c', 0x00, 0x01}));
  EXPECT_EQ(Key(SqlValue::Text("")), Bytes({0xA0, 0x00, 0x01}));
  EXPECT_EQ(Key(SqlValue::Blob(std::string("\x00\xff", 2))),
            Bytes({0xB0, 0x00, 0xFF, 0xFF, 0x00, 0x01}));
  const SqlValue composite[] = {SqlValue::Integer(7), SqlValue::Text("x")};
  EXPECT_EQ(EncodeKey(composite), Bytes({0x57, 0xC0, 0xA0, 'x', 0x00, 0x01}));
}

TEST(KeyCodecTest, ValuesSqliteCallsEqualEncodeEqual) {
  const std::pair<SqlValue, SqlValue> equal[] = {
      {SqlValue::Integer(1), SqlValue::Real(1.0)},
      {SqlValue::Integer(0), SqlValue::Real(-0.0)},
      {SqlValue::Real(0.0), SqlValue::Real(-0.0)},
      {SqlValue::Integer(-7), SqlValue::Real(-7.0)},
      {SqlValue::Integer(int64_t{1} << 53), SqlValue::Real(9007199254740992.0)},
      {SqlValue::Integer(kMinInt), SqlValue::Real(-9223372036854775808.0)},
      {SqlValue::Integer(kMaxInt - 1023), SqlValue::Real(9223372036854774784.0)},
  };
  SqliteComparator sqlite;
  for (const auto& [a, b] : equal) {
    EXPECT_EQ(sqlite.Compare(a, b), 0) << a.DebugString() << " vs " << b.DebugString();
    EXPECT_EQ(Key(a), Key(b)) << a.DebugString() << " vs " << b.DebugString();
  }
}

TEST(KeyCodecTest, IntegersBeyondDoublePrecisionCompareExactly) {
  // 2^53+1 has no double; 2^63-1 is below the double 2^63 it rounds to.
  const std::pair<SqlValue, SqlValue> less[] = {
      {SqlValue::Real(9007199254740992.0), SqlValue::Integer(9007199254740993)},
      {SqlValue::Integer(9007199254740993), SqlValue::Real(9007199254740994.0)},
      {SqlValue::Integer(kMaxInt), SqlValue::Real(9223372036854775808.0)},
      {SqlValue::Real(9223372036854774784.0), SqlValue::Integer(kMaxInt - 1022)},
      {SqlValue::Real(-9223372036854777856.0), SqlValue::Integer(kMinInt)},
      {SqlValue::Integer(kMinInt), SqlValue::Integer(kMinInt + 1)},
      {SqlValue::Real(-kInf), SqlValue::Integer(kMinInt)},
      {SqlValue::Integer(kMaxInt), SqlValue::Real(kInf)},
      {SqlValue::Real(kInf), SqlValue::Text("")},
      {SqlValue::Text("\xff\xff"), SqlValue::Blob("")},
      {SqlValue::Null(), SqlValue::Real(-kInf)},
  };
  SqliteComparator sqlite;
  for (const auto& [a, b] : less) {
    EXPECT_EQ(sqlite.Compare(a, b), -1) << a.DebugString() << " vs " << b.DebugString();
    EXPECT_LT(Key(a), Key(b)) << a.DebugString() << " vs " << b.DebugString();
  }
}

// --- order agreement with sqlite3 -----------------------------------------------------

TEST(KeyCodecTest, MemcmpOrderAgreesWithSqliteOnRandomPairs) {
  SqliteComparator sqlite;
  ValueGenerator gen(42);
  for (int n = 0; n < 60000; n++) {
    SqlValue a = gen.Any();
    SqlValue b = n % 2 ? gen.Near(a) : gen.Any();
    int expected = sqlite.Compare(a, b);
    ASSERT_EQ(MemcmpSign(Key(a), Key(b)), expected)
        << a.DebugString() << " vs " << b.DebugString() << "\n"
        << Hex(Key(a)) << "\n"
        << Hex(Key(b));
    // The reference comparator in sql_value.h must agree too: the glue relies on it.
    ASSERT_EQ(Sign(CompareSqlValues(a, b)), expected)
        << a.DebugString() << " vs " << b.DebugString();
  }
}

TEST(KeyCodecTest, CompositeKeysSortLikeSqliteOrderBy) {
  for (int columns = 1; columns <= 3; columns++) {
    Db db;
    db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c)");  // no affinity
    ValueGenerator gen(1000 + columns);
    std::vector<std::vector<SqlValue>> tuples;
    {
      Stmt insert(db, "INSERT INTO t VALUES(?, ?, ?, ?)");
      db.Exec("BEGIN");
      for (int n = 0; n < 4000; n++) {
        std::vector<SqlValue> tuple;
        for (int c = 0; c < columns; c++) {
          // Reuse earlier values often so that ties in leading columns are common.
          if (!tuples.empty() && gen.rng()() % 2) {
            const SqlValue& earlier = tuples[gen.rng()() % tuples.size()][c];
            tuple.push_back(gen.rng()() % 2 ? earlier : gen.Near(earlier));
          } else {
            tuple.push_back(gen.Any());
          }
        }
        sqlite3_reset(insert.get());
        sqlite3_bind_int(insert.get(), 1, n);
        for (int c = 0; c < 3; c++) {
          Bind(insert.get(), c + 2, c < columns ? tuple[c] : SqlValue::Null());
        }
        ASSERT_EQ(sqlite3_step(insert.get()), SQLITE_DONE);
        tuples.push_back(std::move(tuple));
      }
      db.Exec("COMMIT");
    }
    std::string order_by = "a";
    if (columns >= 2) order_by += ", b";
    if (columns >= 3) order_by += ", c";
    Stmt select(db, "SELECT id FROM t ORDER BY " + order_by);
    SqliteComparator sqlite;
    std::string previous_key;
    int previous = -1;
    while (sqlite3_step(select.get()) == SQLITE_ROW) {
      int id = sqlite3_column_int(select.get(), 0);
      std::string key = EncodeKey(tuples[id]);
      if (previous >= 0) {
        bool sqlite_equal = true;
        for (int c = 0; c < columns; c++) {
          sqlite_equal = sqlite_equal && sqlite.Compare(tuples[previous][c], tuples[id][c]) == 0;
        }
        int expected = sqlite_equal ? 0 : -1;
        ASSERT_EQ(MemcmpSign(previous_key, key), expected)
            << "rows " << previous << " and " << id << "\n"
            << Hex(previous_key) << "\n"
            << Hex(key);
      }
      previous = id;
      previous_key = key;
    }
  }
}

// --- round trips ----------------------------------------------------------------------

TEST(KeyCodecTest, DecodeGivesBackEveryValueUpToIntegerRealEquality) {
  ValueGenerator gen(7);
  for (int n = 0; n < 50000; n++) {
    SqlValue v = gen.Any();
    std::string key = Key(v);
    ExactBuffer buffer(key);
    std::string_view input = buffer.view();
    SqlValue decoded;
    std::string scratch;
    ASSERT_TRUE(DecodeKeyColumn(&input, &decoded, &scratch)) << v.DebugString();
    ASSERT_TRUE(input.empty());
    EXPECT_EQ(CompareSqlValues(v, decoded), 0) << v.DebugString() << " " << decoded.DebugString();
    EXPECT_EQ(decoded.IdenticalTo(v), KeyColumnRoundTrips(v))
        << v.DebugString() << " decoded as " << decoded.DebugString();
    EXPECT_EQ(Key(decoded), key);
    if (!KeyColumnRoundTrips(v)) {
      // The documented rule: an integer-valued REAL comes back as that INTEGER.
      EXPECT_EQ(decoded.type(), SqlType::kInteger) << v.DebugString();
    }
  }
}

TEST(KeyCodecTest, DecodingChoosesIntegerOnlyForInt64Values) {
  auto decode = [](const SqlValue& v) {
    std::string key = Key(v);
    std::string_view input = key;
    SqlValue out;
    std::string scratch;
    EXPECT_TRUE(DecodeKeyColumn(&input, &out, &scratch));
    return out;
  };
  EXPECT_TRUE(decode(SqlValue::Real(3.0)).IdenticalTo(SqlValue::Integer(3)));
  EXPECT_TRUE(decode(SqlValue::Real(-0.0)).IdenticalTo(SqlValue::Integer(0)));
  EXPECT_TRUE(
      decode(SqlValue::Real(-9223372036854775808.0)).IdenticalTo(SqlValue::Integer(kMinInt)));
  EXPECT_TRUE(decode(SqlValue::Real(9223372036854775808.0))
                  .IdenticalTo(SqlValue::Real(9223372036854775808.0)));
  EXPECT_TRUE(decode(SqlValue::Real(1e20)).IdenticalTo(SqlValue::Real(1e20)));
  EXPECT_TRUE(decode(SqlValue::Real(2.5)).IdenticalTo(SqlValue::Real(2.5)));
  EXPECT_TRUE(decode(SqlValue::Integer(kMaxInt)).IdenticalTo(SqlValue::Integer(kMaxInt)));
  EXPECT_TRUE(decode(SqlValue::Real(kInf)).IdenticalTo(SqlValue::Real(kInf)));
  EXPECT_TRUE(decode(SqlValue::Real(std::numeric_limits<double>::denorm_min()))
                  .IdenticalTo(SqlValue::Real(std::numeric_limits<double>::denorm_min())));
  EXPECT_FALSE(KeyColumnRoundTrips(SqlValue::Real(-0.0)));
  EXPECT_FALSE(KeyColumnRoundTrips(SqlValue::Real(-9223372036854775808.0)));
  EXPECT_TRUE(KeyColumnRoundTrips(SqlValue::Real(9223372036854775808.0)));
  EXPECT_TRUE(KeyColumnRoundTrips(SqlValue::Real(0.5)));
  EXPECT_TRUE(KeyColumnRoundTrips(SqlValue::Text("1")));
}

TEST(KeyCodecTest, AffinityRestoresDecodedKeysExceptWhereOverridesAreNeeded) {
  // The read path of a table: present ApplyAffinity(affinity, decoded). It gives back
  // the stored value unless KeyColumnNeedsOverride says so, and that happens only in
  // the documented cases.
  const Affinity affinities[] = {Affinity::kBlob, Affinity::kText, Affinity::kNumeric,
                                 Affinity::kInteger, Affinity::kReal};
  ValueGenerator gen(31);
  int overrides_needed = 0;
  for (int n = 0; n < 30000; n++) {
    SqlValue input = gen.Any();
    for (Affinity affinity : affinities) {
      std::string buffer, scratch, buffer2;
      SqlValue stored = ApplyAffinity(affinity, input, &buffer);
      std::string key = Key(stored);
      std::string_view view = key;
      SqlValue decoded;
      ASSERT_TRUE(DecodeKeyColumn(&view, &decoded, &scratch));
      bool restored = ApplyAffinity(affinity, decoded, &buffer2).IdenticalTo(stored);
      ASSERT_EQ(!restored, KeyColumnNeedsOverride(affinity, stored))
          << AffinityName(affinity) << " " << stored.DebugString();
      if (restored) continue;
      overrides_needed++;
      ASSERT_EQ(stored.type(), SqlType::kReal);
      if (affinity != Affinity::kBlob) {
        ASSERT_TRUE(affinity == Affinity::kNumeric || affinity == Affinity::kInteger)
            << AffinityName(affinity);
        ASSERT_EQ(stored.real(), -9223372036854775808.0);
      }
    }
  }
  EXPECT_GT(overrides_needed, 0);
}

TEST(KeyCodecTest, CompositeKeysDecodeColumnByColumn) {
  ValueGenerator gen(9);
  for (int n = 0; n < 5000; n++) {
    std::vector<SqlValue> tuple;
    int columns = 1 + static_cast<int>(gen.rng()() % 4);
    for (int c = 0; c < columns; c++) tuple.push_back(gen.Any());
    std::string key = EncodeKey(tuple);
    ExactBuffer buffer(key);
    std::string_view input = buffer.view();
    std::vector<std::string> scratch(columns);  // one per live value
    std::vector<SqlValue> decoded(columns);
    for (int c = 0; c < columns; c++) {
      ASSERT_TRUE(DecodeKeyColumn(&input, &decoded[c], &scratch[c]));
    }
    ASSERT_TRUE(input.empty());
    for (int c = 0; c < columns; c++) {
      EXPECT_EQ(CompareSqlValues(decoded[c], tuple[c]), 0);
      if (decoded[c].type() == SqlType::kText || decoded[c].type() == SqlType::kBlob) {
        EXPECT_EQ(decoded[c].bytes(), tuple[c].bytes());
      }
    }
    // Skipping reaches the same column boundaries.
    std::string_view skip = buffer.view();
    for (int c = 0; c < columns; c++) ASSERT_TRUE(SkipKeyColumn(&skip));
    EXPECT_TRUE(skip.empty());
  }
}

TEST(KeyCodecTest, DecodedBytesPointIntoTheKeyUnlessUnescaped) {
  std::string key = Key(SqlValue::Text("plain"));
  std::string_view input = key;
  SqlValue v;
  std::string scratch;
  ASSERT_TRUE(DecodeKeyColumn(&input, &v, &scratch));
  EXPECT_EQ(v.bytes(), "plain");
  EXPECT_EQ(v.bytes().data(), key.data() + 1);  // zero copy
  EXPECT_TRUE(scratch.empty());

  std::string with_zero("a\0b", 3);
  key = Key(SqlValue::Blob(with_zero));
  input = key;
  ASSERT_TRUE(DecodeKeyColumn(&input, &v, &scratch));
  EXPECT_EQ(v.type(), SqlType::kBlob);
  EXPECT_EQ(v.bytes(), with_zero);
  EXPECT_EQ(v.bytes().data(), scratch.data());
}

TEST(KeyCodecTest, SoleBytesKeyColumnsDecodeInlineAndEverythingElseFallsBack) {
  ValueGenerator gen(31);
  int inline_decoded = 0;
  for (int n = 0; n < 50000; n++) {
    const SqlValue v = gen.Any();
    const std::string key = Key(v);
    ExactBuffer buffer(key);
    SqlValue sole;
    const bool bytes_without_zero =
        (v.type() == SqlType::kText || v.type() == SqlType::kBlob) &&
        v.bytes().find('\0') == std::string_view::npos;
    ASSERT_EQ(DecodeSoleBytesKeyColumn(buffer.view(), &sole), bytes_without_zero)
        << v.DebugString();
    if (bytes_without_zero) {
      inline_decoded++;
      ASSERT_TRUE(sole.IdenticalTo(v)) << v.DebugString();
      ASSERT_EQ(sole.bytes().data(), buffer.view().data() + 1);  // a view into the key
    }
    // A key of two columns never decodes as one.
    const std::string two = key + Key(SqlValue::Text("x"));
    ASSERT_FALSE(DecodeSoleBytesKeyColumn(two, &sole)) << v.DebugString();
  }
  EXPECT_GT(inline_decoded, 1000);  // the generator makes plenty of both kinds
}

// --- damaged input --------------------------------------------------------------------

// Decoding either fails, leaving the input alone, or succeeds on a canonical encoding:
// re-encoding the value gives exactly the bytes consumed.
void CheckDecodeIsSafe(std::string_view bytes) {
  ExactBuffer buffer(bytes);
  std::string_view input = buffer.view();
  std::string_view before = input;
  SqlValue v;
  std::string scratch;
  SqlValue sole;
  if (DecodeSoleBytesKeyColumn(before, &sole)) {
    // The inline decoder accepts only what DecodeKeyColumn decodes whole, to the same value.
    std::string_view whole = before;
    ASSERT_TRUE(DecodeKeyColumn(&whole, &v, &scratch)) << Hex(bytes);
    ASSERT_TRUE(whole.empty()) << Hex(bytes);
    ASSERT_TRUE(sole.IdenticalTo(v)) << Hex(bytes);
  }
  if (!DecodeKeyColumn(&input, &v, &scratch)) {
    ASSERT_EQ(input.data(), before.data());
    ASSERT_EQ(input.size(), before.size());
    std::string_view skip = before;
    ASSERT_FALSE(SkipKeyColumn(&skip)) << Hex(bytes);
    return;
  }
  size_t consumed = before.size() - input.size();
  ASSERT_EQ(Key(v), before.substr(0, consumed)) << Hex(bytes) << " decoded as " << v.DebugString();
  std::string_view skip = before;
  ASSERT_TRUE(SkipKeyColumn(&skip));
  ASSERT_EQ(skip.size(), input.size());
}

TEST(KeyCodecTest, TruncatedEncodingsAreRejected) {
  ValueGenerator gen(5);
  for (int n = 0; n < 3000; n++) {
    std::string key = Key(gen.Any());
    for (size_t len = 0; len < key.size(); len++) {
      ExactBuffer buffer(std::string_view(key).substr(0, len));
      std::string_view input = buffer.view();
      SqlValue v;
      std::string scratch;
      ASSERT_FALSE(DecodeKeyColumn(&input, &v, &scratch)) << Hex(key) << " cut at " << len;
      ASSERT_EQ(input.size(), len);
    }
  }
}

TEST(KeyCodecTest, NonCanonicalAndUnknownBytesAreRejected) {
  const std::string bad[] = {
      Bytes({}),
      Bytes({0x00}),                    // unknown tag
      Bytes({0xFF}),                    // the prefix-end byte is never a tag
      Bytes({0x55, 0x01, 0x00}),        // trailing zero group
      Bytes({0x55, 0x03}),              // group says more, input ends
      Bytes({0x54, 0x80, 0x05, 0x00}),  // small tag with exponent 5 (has its own tag)
      Bytes({0x95, 0x80, 0x20, 0x00}),  // big tag with exponent 32
      Bytes({0x95, 0x84, 0x00, 0x00}),  // exponent 1024: beyond every double
      Bytes({0x54, 0x7B, 0xCD, 0x00}),  // exponent -1075: below every double
      Bytes({0xA0, 'a', 0x00}),         // unterminated text
      Bytes({0xA0, 'a', 0x00, 0x02}),   // bad escape
      Bytes({0xB0, 0x00, 0x00}),        // bad escape
      // e = 50 with 53 fraction bits: neither an int64 nor a double.
      Bytes({0x87, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x10}),
      // 10 groups: more fraction bits than any value has.
      Bytes({0x94, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02}),
  };
  for (const std::string& bytes : bad) {
    ExactBuffer buffer(bytes);
    std::string_view input = buffer.view();
    SqlValue v;
    std::string scratch;
    EXPECT_FALSE(DecodeKeyColumn(&input, &v, &scratch)) << Hex(bytes);
  }
  std::string two_to_63 = Bytes({0x94, 0x00});
  std::string_view input = two_to_63;
  SqlValue v;
  std::string scratch;
  ASSERT_TRUE(DecodeKeyColumn(&input, &v, &scratch));
  EXPECT_TRUE(v.IdenticalTo(SqlValue::Real(9223372036854775808.0)));
}

TEST(KeyCodecTest, RandomAndCorruptedBytesNeverCrashTheDecoder) {
  std::mt19937_64 rng(99);
  ValueGenerator gen(100);
  for (int n = 0; n < 200000; n++) {
    std::string bytes;
    if (n % 2 == 0) {
      // A valid key with a few bytes changed.
      bytes = Key(gen.Any()) + Key(gen.Any());
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; f++)
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
    } else {
      // Random bytes, starting with a plausible tag half of the time.
      int len = static_cast<int>(rng() % 14);
      for (int i = 0; i < len; i++) bytes += static_cast<char>(rng());
      if (!bytes.empty() && rng() % 2) bytes[0] = static_cast<char>(0x10 + rng() % 0x87);
    }
    ASSERT_NO_FATAL_FAILURE(CheckDecodeIsSafe(bytes));
  }
}

// --- range bounds ---------------------------------------------------------------------

TEST(KeyCodecTest, PrefixRangesHoldExactlyTheKeysWithThosePrefixColumns) {
  ValueGenerator gen(21);
  std::vector<std::vector<SqlValue>> tuples;
  for (int n = 0; n < 600; n++) {
    std::vector<SqlValue> tuple;
    for (int c = 0; c < 3; c++) {
      tuple.push_back(!tuples.empty() && gen.rng()() % 2 ? tuples[gen.rng()() % tuples.size()][c]
                                                         : gen.Any());
    }
    tuples.push_back(tuple);
  }
  std::vector<std::string> keys;
  for (const auto& t : tuples) keys.push_back(EncodeKey(t));
  for (int probe = 0; probe < 300; probe++) {
    const auto& x = tuples[gen.rng()() % tuples.size()];
    size_t k = 1 + gen.rng()() % 2;  // equality on the first k columns
    std::string prefix = EncodeKey(std::span(x.data(), k));
    std::string end = KeyPrefixEnd(prefix);
    SqlValue v = tuples[gen.rng()() % tuples.size()][k];  // range on column k
    std::string with_v = prefix;
    AppendKeyColumn(&with_v, v);
    std::string after_v = KeyPrefixEnd(with_v);
    for (size_t i = 0; i < tuples.size(); i++) {
      bool prefix_equal = true;
      for (size_t c = 0; c < k; c++) {
        prefix_equal = prefix_equal && CompareSqlValues(tuples[i][c], x[c]) == 0;
      }
      const std::string& key = keys[i];
      ASSERT_EQ(prefix_equal, key >= prefix && key < end) << i;
      int cmp = CompareSqlValues(tuples[i][k], v);
      // The four range forms documented in key_codec.h.
      ASSERT_EQ(prefix_equal && cmp >= 0, key >= with_v && key < end);
      ASSERT_EQ(prefix_equal && cmp > 0, key >= after_v && key < end);
      ASSERT_EQ(prefix_equal && cmp < 0, key >= prefix && key < with_v);
      ASSERT_EQ(prefix_equal && cmp <= 0, key >= prefix && key < after_v);
    }
  }
}

TEST(KeyCodecTest, PrefixSuccessorIsTheLeastGreaterString) {
  std::string s;
  ASSERT_TRUE(PrefixSuccessor(Bytes({0x01, 0x02}), &s));
  EXPECT_EQ(s, Bytes({0x01, 0x03}));
  ASSERT_TRUE(PrefixSuccessor(Bytes({0x01, 0xFF, 0xFF}), &s));
  EXPECT_EQ(s, Bytes({0x02}));
  EXPECT_FALSE(PrefixSuccessor(Bytes({0xFF, 0xFF}), &s));
  EXPECT_FALSE(PrefixSuccessor("", &s));
  // Every extension of the prefix sorts below the successor; the successor itself and
  // what follows it do not start with the prefix.
  std::string prefix = Bytes({0x07, 0xFF});
  ASSERT_TRUE(PrefixSuccessor(prefix, &s));
  EXPECT_LT(prefix + Bytes({0xFF, 0xFF, 0xFF}), s);
  EXPECT_GT(s, prefix);
}

}  // namespace
}  // namespace strata::sql
