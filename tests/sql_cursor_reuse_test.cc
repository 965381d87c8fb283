// A strata table reopens its last closed cursor for the next statement (xOpen/xClose
// in extension/sqlite_vtab.cc). These tests pin that a reopened cursor carries nothing
// over from its last statement: not its plan (point, range, IN, ORDER BY DESC, LIMIT
// and OFFSET), not a scan it stopped in the middle of, and not its snapshot.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/sqlite_harness.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

using test::SqlRows;

class SqlCursorReuseTest : public testing::Test {
 protected:
  void SetUp() override {
    db_ = test::Connect(dir_.Join("reuse.db"));
    ASSERT_TRUE(db_->is_open());
    Must("CREATE VIRTUAL TABLE t USING strata(a INTEGER, b TEXT, v, PRIMARY KEY (a, b))");
    Must("CREATE TABLE t_plain(a INTEGER, b TEXT, v, PRIMARY KEY (a, b)) WITHOUT ROWID");
    for (const char* table : {"t", "t_plain"}) {
      Must(std::string("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
                       "WHERE i < 59) INSERT INTO ") +
           table + " SELECT i / 6, char(97 + i % 6), i * 3 FROM n");
    }
  }

  SqlRows Must(const std::string& sql) { return test::Must(*db_, sql); }

  // sql's rows on the strata table, which must equal the ordinary table's.
  void ExpectSameRows(const std::string& sql) {
    std::string plain = sql;
    for (size_t at = plain.find(" t "); at != std::string::npos; at = plain.find(" t ", at + 1)) {
      plain.replace(at, 3, " t_plain ");
    }
    EXPECT_EQ(Must(sql), Must(plain)) << sql;
  }

  test::TempDir dir_;
  std::unique_ptr<test::SqliteDb> db_;
};

TEST_F(SqlCursorReuseTest, EachStatementGetsItsOwnPlanWhateverRanBefore) {
  const std::vector<std::string> statements = {
      "SELECT * FROM t WHERE a = 4 AND b = 'c'",
      "SELECT * FROM t ORDER BY a DESC, b DESC LIMIT 7 OFFSET 3",
      "SELECT * FROM t WHERE a = 2 AND b > 'b' ORDER BY a, b",
      "SELECT * FROM t WHERE a IN (9, 1, 5) ORDER BY a DESC, b DESC",
      "SELECT * FROM t WHERE a = 99 AND b = 'a'",
      "SELECT count(*), sum(v) FROM t ",
      "SELECT * FROM t WHERE a BETWEEN 3 AND 4 ORDER BY a, b LIMIT 5",
      "SELECT * FROM t ORDER BY a, b",
  };
  // Every statement after every other, so each reopened cursor last ran each plan.
  for (const std::string& before : statements) {
    for (const std::string& after : statements) {
      ExpectSameRows(before);
      ExpectSameRows(after);
    }
  }
}

TEST_F(SqlCursorReuseTest, ACursorClosedInTheMiddleOfAScanIsReopenedAtTheStart) {
  sqlite3_stmt* scan = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_->get(), "SELECT a, b FROM t ORDER BY a DESC, b DESC LIMIT 50",
                               -1, &scan, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(scan), SQLITE_ROW);
  ASSERT_EQ(sqlite3_step(scan), SQLITE_ROW);
  sqlite3_finalize(scan);  // closes the cursor two rows into the scan
  ExpectSameRows("SELECT * FROM t ORDER BY a, b");
  ExpectSameRows("SELECT * FROM t WHERE a = 0 AND b = 'a'");
}

TEST_F(SqlCursorReuseTest, CursorsOpenAtOnceAndReopenedStayIndependent) {
  const std::string join =
      "SELECT x.a, x.b, y.b FROM t x JOIN t y ON y.a = x.a + 1 AND y.b = x.b "
      "WHERE x.a < 4 ORDER BY x.a, x.b";
  ExpectSameRows(join);
  ExpectSameRows("SELECT * FROM t WHERE a = 3 ORDER BY b DESC");
  ExpectSameRows(join);
}

TEST_F(SqlCursorReuseTest, AReopenedCursorReadsAtANewSnapshot) {
  // Writes of this connection (an INSERT with VALUES opens no cursor)...
  EXPECT_EQ(Must("SELECT count(*) FROM t"), (SqlRows{{"int:60"}}));
  Must("INSERT INTO t VALUES (200, 'y', 'mine')");
  EXPECT_EQ(Must("SELECT count(*) FROM t"), (SqlRows{{"int:61"}}));
  EXPECT_EQ(Must("SELECT v FROM t WHERE a = 200 AND b = 'y'"), (SqlRows{{"text:'mine'"}}));
  Must("DELETE FROM t WHERE a = 200");
  // ...and of another connection to the same store.
  std::unique_ptr<test::SqliteDb> other = test::Connect(dir_.Join("reuse.db"));
  ASSERT_TRUE(other->is_open());
  EXPECT_EQ(Must("SELECT count(*) FROM t"), (SqlRows{{"int:60"}}));
  EXPECT_EQ(Must("SELECT v FROM t WHERE a = 100 AND b = 'z'"), SqlRows{});
  test::Must(*other, "INSERT INTO t VALUES (100, 'z', 'new')");
  EXPECT_EQ(Must("SELECT count(*) FROM t"), (SqlRows{{"int:61"}}));
  EXPECT_EQ(Must("SELECT v FROM t WHERE a = 100 AND b = 'z'"), (SqlRows{{"text:'new'"}}));
  test::Must(*other, "DELETE FROM t WHERE a < 10");
  EXPECT_EQ(Must("SELECT count(*) FROM t"), (SqlRows{{"int:1"}}));
}

TEST_F(SqlCursorReuseTest, BuffersABigStatementGrewAreDroppedAndTheNextStatementIsRight) {
  // A 200 KiB value and an IN list of 5,000 keys grow the cursor's buffers past what a
  // parked cursor keeps.
  for (const char* table : {"t", "t_plain"}) {
    Must(std::string("INSERT INTO ") + table + " VALUES (7, 'big', zeroblob(200000))");
  }
  ExpectSameRows("SELECT a, b, length(v) FROM t WHERE a = 7 AND b = 'big'");
  std::string in_list = "SELECT a, b, v FROM t WHERE a IN (";
  for (int i = 0; i < 5000; i++) in_list += std::to_string(i * 3 % 7919) + ",";
  in_list += "4) ORDER BY a DESC, b DESC";
  ExpectSameRows(in_list);
  ExpectSameRows("SELECT * FROM t WHERE a = 7 AND b = 'big'");
  ExpectSameRows("SELECT * FROM t WHERE a = 2 AND b = 'a'");
  ExpectSameRows("SELECT a, b FROM t ORDER BY a, b");
}

TEST_F(SqlCursorReuseTest, ReopenedCursorsSeeTheTransactionsOwnWrites) {
  Must("BEGIN");
  for (const char* table : {"t", "t_plain"}) {
    Must(std::string("INSERT INTO ") + table + " VALUES (4, 'cc', 'buffered')");
    Must(std::string("DELETE FROM ") + table + " WHERE a = 5");
  }
  ExpectSameRows("SELECT * FROM t WHERE a = 4 AND b = 'cc'");
  ExpectSameRows("SELECT * FROM t WHERE a BETWEEN 4 AND 6 ORDER BY a DESC, b DESC");
  Must("ROLLBACK");
  ExpectSameRows("SELECT * FROM t WHERE a = 4 AND b = 'cc'");
  ExpectSameRows("SELECT * FROM t WHERE a BETWEEN 4 AND 6 ORDER BY a, b");
}

}  // namespace
}  // namespace strata
