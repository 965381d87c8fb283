// LIMIT and OFFSET through the system SQLite (3.40.1), which passes them to xBestIndex
// in cases where a virtual table that stops early returns the wrong rows: the strata
// table must not consume them there (no " limit" / " offset" in idxStr), and every
// statement returns an ordinary table's rows. The five cases of docs/planning.md,
// "LIMIT and OFFSET", are here; tests/node_extension_test.js runs the same statements
// in the newer SQLite of better-sqlite3, where the safe ones are consumed.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <regex>
#include <string>
#include <vector>

#include "extension/best_index_plan.h"
#include "tests/support/sqlite_harness.h"

namespace strata {
namespace {

using test::SqliteDb;
using test::SqlResult;
using test::SqlRows;

class SqlLimitOffsetTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(db_.Open(":memory:", &error)) << error;
    ASSERT_TRUE(test::LoadStrata(&db_, &error)) << error;
    Must("CREATE VIRTUAL TABLE items USING strata(k INTEGER PRIMARY KEY, v INTEGER, tag TEXT)");
    Must("CREATE TABLE items_plain(k INTEGER PRIMARY KEY, v INTEGER, tag TEXT) WITHOUT ROWID");
    Must("CREATE VIRTUAL TABLE pairs USING strata(a INTEGER, b INTEGER, PRIMARY KEY (a, b))");
    Must("CREATE TABLE pairs_plain(a INTEGER, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID");
    for (const char* suffix : {"", "_plain"}) {
      // v = k on every fifth row, for the `k = v` cases.
      Must(std::string("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
                       "WHERE k < 40) INSERT INTO items") +
           suffix +
           " SELECT k, CASE WHEN k % 5 = 0 THEN k ELSE k * 7 % 11 END, "
           "CASE WHEN k % 3 THEN 'x' ELSE 'Y' END FROM n");
      Must(std::string("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < 47) INSERT INTO pairs") +
           suffix + " SELECT i / 8 + 1, i % 8 + 1 FROM n");
    }
  }

  SqlRows Must(const std::string& sql) {
    SqlResult r = db_.Run(sql);
    EXPECT_TRUE(r.ok()) << sql << "\n  -> " << r.ToString();
    return r.rows;
  }

  // sql's rows, which must equal those of the same statement on the ordinary tables.
  SqlRows SameRows(const std::string& sql) {
    SqlRows strata = Must(sql);
    static const std::regex kTable("\\b(items|pairs)\\b");
    EXPECT_EQ(strata, Must(std::regex_replace(sql, kTable, "$1_plain"))) << sql;
    return strata;
  }

  // The EXPLAIN QUERY PLAN details of sql, joined by "; ".
  std::string Plan(const std::string& sql) {
    std::string plan;
    for (const auto& row : Must("EXPLAIN QUERY PLAN " + sql)) {
      if (!plan.empty()) plan += "; ";
      plan += row[3];
    }
    return plan;
  }

  SqliteDb db_;
};

bool ConsumesLimitOrOffset(const std::string& plan) {
  return plan.find(" limit") != std::string::npos || plan.find(" offset") != std::string::npos;
}

// Statements whose LIMIT and OFFSET a strata table may consume: it returns exactly the
// statement's rows, in order.
const char* const kConsumable[] = {
    "SELECT k, v FROM items ORDER BY k LIMIT 5 OFFSET 7",
    "SELECT k FROM items ORDER BY k DESC LIMIT 3 OFFSET 2",
    "SELECT * FROM items WHERE k > 17 LIMIT 4",
    "SELECT k FROM items WHERE k >= 10 AND k < 30 LIMIT 4 OFFSET 3",
    "SELECT k FROM items WHERE k IN (30, 5, 9, 2, 99) LIMIT 2 OFFSET 1",
    "SELECT * FROM pairs WHERE a = 3 ORDER BY b DESC LIMIT 2 OFFSET 1",
    "SELECT k FROM items WHERE k > 30 LIMIT -1 OFFSET 2",
};

// The five cases in which 3.40.1 passes LIMIT (and OFFSET) although SQLite filters or
// sorts the rows afterwards, or runs the statement more than once.
const char* const kUnsafe[] = {
    // 1. another WHERE term left to SQLite
    "SELECT k FROM items WHERE k > 3 AND tag = 'x' LIMIT 3 OFFSET 2",
    // 2. an ORDER BY that SQLite sorts afterwards
    "SELECT k, v FROM items ORDER BY v, k LIMIT 3 OFFSET 1",
    // 3. a row value, passed as `a >= 2` that SQLite re-checks
    "SELECT a, b FROM pairs WHERE (a, b) > (2, 3) LIMIT 4 OFFSET 1",
    // 4. a term comparing two columns of the table: not shown to xBestIndex at all
    "SELECT k, v FROM items WHERE k = v LIMIT 2 OFFSET 1",
    "SELECT k, v FROM items WHERE k > v LIMIT 3",
    "SELECT k, v FROM items WHERE k IN (v, 7) LIMIT 2",
    "SELECT k FROM items WHERE k = coalesce(8, k) LIMIT 3",
    // 5. each member of a compound receives the compound's LIMIT and OFFSET
    "SELECT k FROM items UNION ALL SELECT k FROM items LIMIT 3 OFFSET 38",
    "SELECT * FROM (SELECT k FROM items UNION ALL SELECT k FROM items) LIMIT 2 OFFSET 39",
};

TEST_F(SqlLimitOffsetTest, ConsumedOnlyWhereThisSqlitePassesThemSafely) {
  // False with the system's 3.40.1: then nothing may be consumed.
  const bool allowed = sql::SqlitePassesLimitOffsetSafely(sqlite3_libversion_number());
  for (const char* sql : kConsumable) {
    SameRows(sql);
    EXPECT_EQ(ConsumesLimitOrOffset(Plan(sql)), allowed) << sql << "\n  " << Plan(sql);
  }
}

TEST_F(SqlLimitOffsetTest, TheFiveUnsafeCasesReturnAnOrdinaryTablesRows) {
  for (const char* sql : kUnsafe) {
    SameRows(sql);
    EXPECT_FALSE(ConsumesLimitOrOffset(Plan(sql))) << sql << "\n  " << Plan(sql);
  }
}

}  // namespace
}  // namespace strata
