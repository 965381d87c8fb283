// Tests of extension/affinity_codec.h against the sqlite3 library itself: whatever an
// ordinary table stores for a value, ApplyAffinity must produce, type and bits.
#include "extension/affinity_codec.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace strata::sql {
namespace {

// --- a minimal sqlite3 harness --------------------------------------------------------

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
    rc_ = sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
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
      // A null pointer would bind NULL: an empty blob needs a non-null one.
      sqlite3_bind_blob(stmt, index, v.bytes().empty() ? "" : v.bytes().data(),
                        static_cast<int>(v.bytes().size()), SQLITE_TRANSIENT);
      break;
  }
}

// Column `i` of the current row; TEXT/BLOB bytes are copied into *storage.
SqlValue ColumnValue(sqlite3_stmt* stmt, int i, std::string* storage) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return SqlValue::Integer(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
      return SqlValue::Real(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      storage->assign(p, sqlite3_column_bytes(stmt, i));
      return SqlValue::Text(*storage);
    }
    case SQLITE_BLOB: {
      const char* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      storage->assign(p ? p : "", sqlite3_column_bytes(stmt, i));
      return SqlValue::Blob(*storage);
    }
    default:
      return SqlValue::Null();
  }
}

// An ordinary table with one column per affinity: inserting a value and reading the
// row back shows what SQLite stores for each.
class AffinityOracle {
 public:
  static constexpr Affinity kAffinities[] = {Affinity::kInteger, Affinity::kText, Affinity::kReal,
                                             Affinity::kNumeric, Affinity::kBlob, Affinity::kBlob};
  AffinityOracle() {
    db_.Exec("CREATE TABLE t(c0 INTEGER, c1 TEXT, c2 REAL, c3 NUMERIC, c4 BLOB, c5)");
    insert_ = std::make_unique<Stmt>(db_, "INSERT INTO t VALUES(?1, ?1, ?1, ?1, ?1, ?1)");
    select_ = std::make_unique<Stmt>(db_, "SELECT c0, c1, c2, c3, c4, c5 FROM t WHERE rowid = ?");
    EXPECT_TRUE(insert_->ok() && select_->ok());
  }

  // Checks ApplyAffinity(a, v) against SQLite for every affinity.
  void Check(const SqlValue& v) {
    sqlite3_reset(insert_->get());
    Bind(insert_->get(), 1, v);
    ASSERT_EQ(sqlite3_step(insert_->get()), SQLITE_DONE);
    sqlite3_reset(select_->get());
    sqlite3_bind_int64(select_->get(), 1, sqlite3_last_insert_rowid(db_.get()));
    ASSERT_EQ(sqlite3_step(select_->get()), SQLITE_ROW);
    for (int i = 0; i < 6; i++) {
      std::string sqlite_bytes, buffer;
      SqlValue expected = ColumnValue(select_->get(), i, &sqlite_bytes);
      SqlValue actual = ApplyAffinity(kAffinities[i], v, &buffer);
      ASSERT_TRUE(actual.IdenticalTo(expected))
          << "input " << v.DebugString() << " affinity " << AffinityName(kAffinities[i])
          << ": sqlite stores " << expected.DebugString() << ", ApplyAffinity gives "
          << actual.DebugString();
      // Storing the stored value again changes nothing.
      std::string buffer2;
      ASSERT_TRUE(ApplyAffinity(kAffinities[i], actual, &buffer2).IdenticalTo(actual))
          << "not idempotent: " << v.DebugString() << " " << AffinityName(kAffinities[i]);
    }
  }

 private:
  Db db_;
  std::unique_ptr<Stmt> insert_, select_;
};

// The affinity SQLite gives a type name, observed through CAST (which resolves its
// type name with the same routine as a column declaration): CAST('1.5' AS T) tells
// TEXT, BLOB and INTEGER apart, CAST('1' AS T) then tells NUMERIC from REAL. Returns
// false if T is not a valid type name.
bool SqliteAffinityOf(const Db& db, const std::string& type, Affinity* out) {
  Stmt stmt(db, "SELECT typeof(CAST('1.5' AS " + type + ")), typeof(CAST('1' AS " + type + "))");
  if (!stmt.ok() || sqlite3_step(stmt.get()) != SQLITE_ROW) return false;
  std::string first = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
  std::string second = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1));
  if (first == "text") {
    *out = Affinity::kText;
  } else if (first == "blob") {
    *out = Affinity::kBlob;
  } else if (first == "integer") {
    *out = Affinity::kInteger;
  } else {
    *out = second == "integer" ? Affinity::kNumeric : Affinity::kReal;
  }
  return true;
}

// --- declared types -------------------------------------------------------------------

TEST(AffinityCodecTest, DeclaredTypesFollowTheDocumentedExamples) {
  // The table in "Affinity Name Examples" of datatype3.html, plus the empty type.
  struct Case {
    const char* type;
    Affinity affinity;
  };
  const Case cases[] = {
      {"INT", Affinity::kInteger},
      {"INTEGER", Affinity::kInteger},
      {"TINYINT", Affinity::kInteger},
      {"SMALLINT", Affinity::kInteger},
      {"MEDIUMINT", Affinity::kInteger},
      {"BIGINT", Affinity::kInteger},
      {"UNSIGNED BIG INT", Affinity::kInteger},
      {"INT2", Affinity::kInteger},
      {"INT8", Affinity::kInteger},
      {"CHARACTER(20)", Affinity::kText},
      {"VARCHAR(255)", Affinity::kText},
      {"VARYING CHARACTER(255)", Affinity::kText},
      {"NCHAR(55)", Affinity::kText},
      {"NATIVE CHARACTER(70)", Affinity::kText},
      {"NVARCHAR(100)", Affinity::kText},
      {"TEXT", Affinity::kText},
      {"CLOB", Affinity::kText},
      {"BLOB", Affinity::kBlob},
      {"", Affinity::kBlob},
      {"REAL", Affinity::kReal},
      {"DOUBLE", Affinity::kReal},
      {"DOUBLE PRECISION", Affinity::kReal},
      {"FLOAT", Affinity::kReal},
      {"NUMERIC", Affinity::kNumeric},
      {"DECIMAL(10,5)", Affinity::kNumeric},
      {"BOOLEAN", Affinity::kNumeric},
      {"DATE", Affinity::kNumeric},
      {"DATETIME", Affinity::kNumeric},
      // Order matters: "INT" anywhere wins, even inside another word.
      {"FLOATING POINT", Affinity::kInteger},
      {"STRING", Affinity::kNumeric},
      {"CHARINT", Affinity::kInteger},
      {"blobchar", Affinity::kText},
      {"CharBlob", Affinity::kText},
      {"REALBLOB", Affinity::kBlob},
      {"BLOBREAL", Affinity::kBlob},
      {"DOUBLE CHAR", Affinity::kText},
      {"TE XT", Affinity::kNumeric},
      {"iNtEgEr", Affinity::kInteger},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AffinityOfDeclaredType(c.type), c.affinity) << "'" << c.type << "'";
  }
}

TEST(AffinityCodecTest, DeclaredTypesAgreeWithSqliteOnRandomNames) {
  Db db;
  std::mt19937_64 rng(20240611);
  // Letters of the words that matter, in both cases, so that they form often.
  const std::string alphabet = "intINTcharCHARlobLOBtexTEXrealREALfloFLOdubDUB";
  int checked = 0;
  for (int n = 0; n < 3000; n++) {
    std::string type;
    int words = 1 + static_cast<int>(rng() % 3);
    for (int w = 0; w < words; w++) {
      if (w > 0) type += ' ';
      int len = 1 + static_cast<int>(rng() % 9);
      for (int i = 0; i < len; i++) type += alphabet[rng() % alphabet.size()];
    }
    Affinity expected;
    if (!SqliteAffinityOf(db, type, &expected)) continue;  // a keyword, e.g. "in"
    checked++;
    ASSERT_EQ(AffinityOfDeclaredType(type), expected) << "'" << type << "'";
  }
  EXPECT_GT(checked, 2000);
}

TEST(AffinityCodecTest, DocumentedExamplesAgreeWithSqlite) {
  Db db;
  for (const char* type : {"INT", "UNSIGNED BIG INT", "VARCHAR(255)", "NATIVE CHARACTER(70)",
                           "CLOB", "BLOB", "DOUBLE PRECISION", "FLOAT", "DECIMAL(10,5)", "DATETIME",
                           "FLOATING POINT", "STRING", "CharBlob", "REALBLOB"}) {
    Affinity expected;
    ASSERT_TRUE(SqliteAffinityOf(db, type, &expected)) << type;
    EXPECT_EQ(AffinityOfDeclaredType(type), expected) << type;
  }
}

// --- ApplyAffinity --------------------------------------------------------------------

std::vector<SqlValue> EdgeInputs(std::deque<std::string>* storage) {
  auto text = [storage](std::string s) {
    storage->push_back(std::move(s));
    return SqlValue::Text(storage->back());
  };
  auto blob = [storage](std::string s) {
    storage->push_back(std::move(s));
    return SqlValue::Blob(storage->back());
  };
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<SqlValue> v = {SqlValue::Null()};
  for (int64_t i :
       {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{42}, kMax, kMin, kMax - 1, kMin + 1,
        int64_t{1} << 53, (int64_t{1} << 53) + 1, -(int64_t{1} << 53) - 1,
        int64_t{2251799813685248}, int64_t{2251799813685247}, int64_t{-2251799813685248},
        int64_t{1000000000000000}, int64_t{123456789012345678}}) {
    v.push_back(SqlValue::Integer(i));
  }
  for (double r : {0.0,
                   -0.0,
                   1.0,
                   -1.0,
                   3.0,
                   3.5,
                   -3.5,
                   0.1,
                   0.5,
                   1.0 / 3,
                   2.0 / 3,
                   100.0,
                   1e-5,
                   1e-4,
                   1e14,
                   1e15,
                   1e16,
                   1e17,
                   1e20,
                   -1e20,
                   1e300,
                   -1e300,
                   1e-300,
                   5e-324,
                   -5e-324,
                   std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::min(),
                   inf,
                   -inf,
                   9223372036854775808.0,
                   -9223372036854775808.0,
                   9223372036854774784.0,
                   9007199254740992.0,
                   9007199254740994.0,
                   123456789012345678.0,
                   123456.789,
                   1.5e-7,
                   0.000123456789012345678,
                   99999999999999.99,
                   999999999999999.9,
                   9.999999999999999e22,
                   2251799813685248.0,
                   4503599627370496.5}) {
    v.push_back(SqlValue::Real(r));
  }
  for (const char* s : {" 12 ",
                        "12 ",
                        " 12",
                        "12",
                        "0x10",
                        "0X10",
                        "1e3",
                        "1E3",
                        "1.5e3",
                        "+5",
                        "-5",
                        "-",
                        "+",
                        ".",
                        "1.",
                        ".5",
                        "-.5",
                        "+.5e1",
                        "9223372036854775807",
                        "9223372036854775808",
                        "-9223372036854775808",
                        "-9223372036854775809",
                        "18446744073709551616",
                        "12345678901234567890",
                        "123456789012345678901234567890",
                        "",
                        "abc",
                        "3abc",
                        "1e",
                        "1e+",
                        "1e-",
                        "e5",
                        ".e5",
                        "5e5e5",
                        "1e400",
                        "-1e400",
                        "1e-400",
                        "00012",
                        "-0",
                        "-0.0",
                        "+0",
                        "0.0",
                        "1_000",
                        "1 2",
                        "--5",
                        "+-5",
                        "5.5.5",
                        "\t5\n",
                        "5\v",
                        "\f5\r",
                        "3.0",
                        "1.0",
                        "2251799813685248",
                        "2251799813685249",
                        "-2251799813685249",
                        "9007199254740993",
                        "0.1",
                        "1e308",
                        "1.7976931348623157e308",
                        "1.8e308",
                        "4.9e-324",
                        "2.4e-324",
                        "1.0000000000000000000001",
                        "0000000000000000000000001",
                        "9223372036854775807.0",
                        "9223372036854775806.5",
                        "1e18",
                        "1e19",
                        "-1e18",
                        "100e-2",
                        "12345678901234567e-5",
                        "0.30000000000000004",
                        "\xef\xbc\x91\xef\xbc\x92",
                        "\xc3\xa9",
                        "Inf",
                        "NaN",
                        "1e10000",
                        "1e-10000",
                        "1.5 ",
                        " 1.5e3 "}) {
    v.push_back(text(s));
  }
  v.push_back(text(std::string("12\0", 3)));
  v.push_back(text(std::string("\0", 1)));
  for (std::string s : {std::string(), std::string("12"), std::string("\0", 1), std::string("1.5"),
                        std::string("\xff\x00", 2)}) {
    v.push_back(blob(s));
  }
  return v;
}

TEST(AffinityCodecTest, ApplyAffinityMatchesOrdinaryTablesOnEdgeCases) {
  AffinityOracle oracle;
  std::deque<std::string> storage;
  for (const SqlValue& v : EdgeInputs(&storage)) {
    ASSERT_NO_FATAL_FAILURE(oracle.Check(v));
  }
}

TEST(AffinityCodecTest, ApplyAffinityMatchesOrdinaryTablesOnRandomNumericText) {
  AffinityOracle oracle;
  std::mt19937_64 rng(7);
  auto digits = [&rng](int n) {
    std::string s;
    for (int i = 0; i < n; i++) s += static_cast<char>('0' + rng() % 10);
    return s;
  };
  for (int n = 0; n < 6000; n++) {
    std::string s;
    if (rng() % 8 == 0) s += " \t"[rng() % 2];
    if (rng() % 3 == 0) s += "+-"[rng() % 2];
    s += digits(static_cast<int>(rng() % 22));
    if (rng() % 2) s += "." + digits(static_cast<int>(rng() % 22));
    if (rng() % 3 == 0) {
      s += "eE"[rng() % 2];
      if (rng() % 2) s += "+-"[rng() % 2];
      s += digits(static_cast<int>(rng() % 4));
    }
    if (rng() % 8 == 0) s += " \n"[rng() % 2];
    if (rng() % 16 == 0) s += "x.e"[rng() % 3];  // trailing junk
    ASSERT_NO_FATAL_FAILURE(oracle.Check(SqlValue::Text(s)));
  }
}

TEST(AffinityCodecTest, ApplyAffinityMatchesOrdinaryTablesOnRandomNumbers) {
  AffinityOracle oracle;
  std::mt19937_64 rng(11);
  for (int n = 0; n < 6000; n++) {
    uint64_t bits = rng();
    switch (n % 4) {
      case 0: {  // any double
        double r;
        std::memcpy(&r, &bits, sizeof(r));
        if (std::isnan(r)) continue;
        ASSERT_NO_FATAL_FAILURE(oracle.Check(SqlValue::Real(r)));
        break;
      }
      case 1: {  // a short decimal, the common case of real data
        double r = static_cast<double>(static_cast<int64_t>(bits % 2000001) - 1000000) /
                   std::pow(10.0, static_cast<int>(rng() % 12));
        ASSERT_NO_FATAL_FAILURE(oracle.Check(SqlValue::Real(r)));
        break;
      }
      case 2: {  // an integer-valued double of any magnitude
        int shift = static_cast<int>(rng() % 64);
        double r = std::ldexp(static_cast<double>(bits >> 11), shift - 20);
        ASSERT_NO_FATAL_FAILURE(oracle.Check(SqlValue::Real(std::trunc(r))));
        break;
      }
      default:  // an integer with a random number of bits
        ASSERT_NO_FATAL_FAILURE(
            oracle.Check(SqlValue::Integer(static_cast<int64_t>(bits) >> (rng() % 64))));
        break;
    }
  }
}

TEST(AffinityCodecTest, RealToTextMatchesSqlitePrintf) {
  // "%!.15g" is exactly what SQLite uses to turn a REAL into TEXT; comparing with
  // sqlite3_snprintf directly covers many more doubles than a table would.
  std::mt19937_64 rng(3);
  char expected[100];
  std::string actual;
  for (int n = 0; n < 200000; n++) {
    uint64_t bits = rng();
    double r;
    if (n % 2 == 0) {
      std::memcpy(&r, &bits, sizeof(r));
      if (std::isnan(r)) continue;
    } else {
      // Values near round decimals, where rounding to 15 digits is delicate.
      r = static_cast<double>(bits % 100000000000000000ull) /
          std::pow(10.0, static_cast<int>(rng() % 40) - 10);
    }
    sqlite3_snprintf(sizeof(expected), expected, "%!.15g", r);
    actual.clear();
    AppendRealAsText(&actual, r);
    ASSERT_EQ(actual, expected) << "bits " << std::hex << bits;
  }
}

TEST(AffinityCodecTest, RealToTextGivesDocumentedForms) {
  auto text = [](double r) {
    std::string s;
    AppendRealAsText(&s, r);
    return s;
  };
  EXPECT_EQ(text(1.0), "1.0");
  EXPECT_EQ(text(1e300), "1.0e+300");
  EXPECT_EQ(text(0.1), "0.1");
  EXPECT_EQ(text(-0.0), "0.0");
  EXPECT_EQ(text(-1.5), "-1.5");
  EXPECT_EQ(text(123456789012345678.0), "1.23456789012346e+17");
  EXPECT_EQ(text(std::numeric_limits<double>::infinity()), "Inf");
  EXPECT_EQ(text(-std::numeric_limits<double>::infinity()), "-Inf");
  std::string s;
  AppendIntegerAsText(&s, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(s, "-9223372036854775808");
}

TEST(AffinityCodecTest, NumericTextConversionsFollowTheDocumentedRules) {
  auto numeric = [](std::string_view s) { return NumericValueOfText(s); };
  EXPECT_TRUE(numeric("1e3").IdenticalTo(SqlValue::Integer(1000)));
  EXPECT_TRUE(numeric("3.0").IdenticalTo(SqlValue::Integer(3)));
  EXPECT_TRUE(numeric("3.5").IdenticalTo(SqlValue::Real(3.5)));
  EXPECT_TRUE(numeric(" 12 ").IdenticalTo(SqlValue::Integer(12)));
  EXPECT_TRUE(numeric("-0").IdenticalTo(SqlValue::Integer(0)));
  EXPECT_TRUE(numeric("9223372036854775808").IdenticalTo(SqlValue::Real(9223372036854775808.0)));
  EXPECT_TRUE(numeric("-9223372036854775808")
                  .IdenticalTo(SqlValue::Integer(std::numeric_limits<int64_t>::min())));
  for (const char* not_a_number : {"3abc", "", "0x10", "-", ".", "1e", " "}) {
    SqlValue v = numeric(not_a_number);
    EXPECT_EQ(v.type(), SqlType::kText) << "'" << not_a_number << "'";
  }
}

TEST(AffinityCodecTest, TextResultsLiveInTheCallersBuffer) {
  std::string buffer = "old contents";
  SqlValue v = ApplyAffinity(Affinity::kText, SqlValue::Integer(-7), &buffer);
  EXPECT_EQ(buffer, "-7");
  EXPECT_EQ(v.bytes().data(), buffer.data());
  // TEXT that needs no conversion still points at the input, not the buffer.
  std::string input = "abc";
  SqlValue same = ApplyAffinity(Affinity::kText, SqlValue::Text(input), &buffer);
  EXPECT_EQ(same.bytes().data(), input.data());
}

}  // namespace
}  // namespace strata::sql
