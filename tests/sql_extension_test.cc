// The strata SQLite extension through the SQLite C API, rule by rule (the SQLite
// extension issue's Semantics section): schemas, key constraints, conflict messages,
// transactions and savepoints, sharing and locking of stores, store placement and
// options, DROP / RENAME, the SQL functions, EXPLAIN QUERY PLAN, RETURNING, joins,
// UPDATE of keys and the atomic commit across strata and ordinary tables.
//
// Row-by-row parity with ordinary tables on random statements is the differential
// test's job; crashes in the middle of commits are sql_crash_test's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "extension/store.h"
#include "lsm/table.h"
#include "lsm/table_format.h"
#include "strata/env.h"
#include "strata/options.h"
#include "tests/support/legacy_store.h"
#include "tests/support/sqlite_harness.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

using test::Connect;
using test::Must;
using test::SqliteDb;
using test::SqlResult;
using test::SqlRows;

// The only value sql returns, rendered ("int:3", "text:'a'", "null"); "<no row>" if none.
std::string Scalar(const SqliteDb& db, std::string_view sql) {
  SqlRows rows = Must(db, sql);
  if (rows.empty() || rows[0].empty()) return "<no row>";
  EXPECT_EQ(rows.size(), 1u) << sql;
  return rows[0][0];
}

// The keys of table `t` (column k) in key order, as "1,2,3" ("" if empty).
std::string Keys(const SqliteDb& db, std::string_view table = "t") {
  SqlRows rows = Must(db, "SELECT k FROM " + std::string(table));
  std::string out;
  for (const auto& row : rows) {
    if (!out.empty()) out += ",";
    std::string cell = row[0];
    out += cell.rfind("int:", 0) == 0 ? cell.substr(4) : cell;
  }
  return out;
}

// The commit logs of a database's stores, by name ("strata_commit_log...").
std::vector<std::string> CommitLogTables(const SqliteDb& db) {
  std::vector<std::string> names;
  for (const auto& row : Must(db,
                              "SELECT name FROM sqlite_schema WHERE type = 'table' AND name "
                              "LIKE 'strata\\_commit\\_log%' ESCAPE '\\' ORDER BY name")) {
    names.push_back(row[0].substr(6, row[0].size() - 7));  // text:'<name>'

  }
  return names;
}

// sql with every `placeholder` replaced by `table`.
std::string WithTable(std::string sql, std::string_view placeholder, std::string_view table) {
  for (size_t at = sql.find(placeholder); at != std::string::npos;
       at = sql.find(placeholder, at + table.size())) {
    sql.replace(at, placeholder.size(), table);
  }
  return sql;
}

bool IsDirectory(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_directory(path, error);
}

bool Exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// Names of the entries of directory `path`, sorted.
std::vector<std::string> ListDirectory(const std::string& path) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SqlExtensionTest : public ::testing::Test {
 protected:
  std::string DbPath(std::string_view name = "test.db") const { return dir_.Join(name); }

  test::TempDir dir_{"sql-extension"};
};

// ---------------------------------------------------------------------------------
// Schemas and key constraints.

TEST_F(SqlExtensionTest, DefaultSchemaIsKeyPrimaryKeyAndValue) {
  auto db = Connect(":memory:");
  Must(*db, "CREATE VIRTUAL TABLE kv USING strata");
  // The hidden encoded-key column is not listed; key is NOT NULL as a key column is.
  EXPECT_EQ(Must(*db, "SELECT name, type, \"notnull\" FROM pragma_table_info('kv')"),
            (SqlRows{{"text:'key'", "text:''", "int:1"}, {"text:'value'", "text:''", "int:0"}}));
  Must(*db, "INSERT INTO kv VALUES ('b', 2), ('a', x'01'), (3, 'three')");
  // No declared type: values keep their types; numbers sort before text.
  EXPECT_EQ(
      Must(*db, "SELECT key, value FROM kv"),
      (SqlRows{{"int:3", "text:'three'"}, {"text:'a'", "blob:x'01'"}, {"text:'b'", "int:2"}}));
  SqlResult dup = db->Run("INSERT INTO kv(key, value) VALUES ('a', 'again')");
  EXPECT_EQ(dup.code, SQLITE_CONSTRAINT_PRIMARYKEY) << dup.ToString();
  EXPECT_EQ(dup.message, "UNIQUE constraint failed: kv.key");
  EXPECT_EQ(Scalar(*db, "SELECT value FROM kv WHERE key = 'a'"), "blob:x'01'");
}

TEST_F(SqlExtensionTest, CompositeKeySortsColumnByColumnAndIsUniqueAsAWhole) {
  auto db = Connect(":memory:");
  Must(*db,
       "CREATE VIRTUAL TABLE events USING strata(user_id INTEGER, ts INTEGER, kind TEXT, "
       "body BLOB, PRIMARY KEY (user_id, ts))");
  Must(*db,
       "INSERT INTO events VALUES (2, 5, 'b', NULL), (10, 1, 'c', NULL), (2, -7, 'a', NULL), "
       "(-1, 100, 'z', x'00'), (2, 40, 'd', NULL)");
  // Numerically by user_id (10 after 2, not before it as text would), then by ts.
  EXPECT_EQ(Must(*db, "SELECT user_id, ts FROM events"), (SqlRows{{"int:-1", "int:100"},
                                                                  {"int:2", "int:-7"},
                                                                  {"int:2", "int:5"},
                                                                  {"int:2", "int:40"},
                                                                  {"int:10", "int:1"}}));
  // Sharing one column with an existing key is fine; sharing both is not.
  Must(*db, "INSERT INTO events VALUES (2, 100, 'e', NULL), (-1, 5, 'f', NULL)");
  SqlResult dup = db->Run("INSERT INTO events VALUES (2, 5, 'again', NULL)");
  EXPECT_EQ(dup.code, SQLITE_CONSTRAINT_PRIMARYKEY) << dup.ToString();
  EXPECT_EQ(dup.message, "UNIQUE constraint failed: events.user_id, events.ts");
  // Key column declared order differs from PRIMARY KEY order: the key order rules.
  Must(*db, "CREATE VIRTUAL TABLE r USING strata(a, b, PRIMARY KEY (b, a))");
  Must(*db, "INSERT INTO r VALUES (1, 'y'), (2, 'x'), (3, 'x')");
  EXPECT_EQ(Must(*db, "SELECT a, b FROM r"),
            (SqlRows{{"int:2", "text:'x'"}, {"int:3", "text:'x'"}, {"int:1", "text:'y'"}}));
}

TEST_F(SqlExtensionTest, NullInAnyKeyColumnOrNotNullColumnFailsLikeAnOrdinaryTable) {
  auto db = Connect(":memory:");
  Must(*db,
       "CREATE VIRTUAL TABLE t USING strata(a INTEGER, b TEXT, c NOT NULL, d, "
       "PRIMARY KEY (a, b))");
  const char* statements[] = {
      "INSERT INTO t VALUES (NULL, 'x', 1, 1)",
      "INSERT INTO t VALUES (1, NULL, 1, 1)",
      "INSERT INTO t VALUES (1, 'x', NULL, 1)",
      "INSERT INTO t(a, b, d) VALUES (1, 'x', 1)",  // c omitted: NULL
      "INSERT OR REPLACE INTO t VALUES (NULL, 'x', 1, 1)",
  };
  for (const char* sql : statements) {
    SqlResult r = db->Run(sql);
    EXPECT_EQ(r.code, SQLITE_CONSTRAINT_NOTNULL) << sql << ": " << r.ToString();
  }
  EXPECT_EQ(db->Run(statements[0]).message, "NOT NULL constraint failed: t.a");
  EXPECT_EQ(db->Run(statements[1]).message, "NOT NULL constraint failed: t.b");
  EXPECT_EQ(db->Run(statements[2]).message, "NOT NULL constraint failed: t.c");
  // A NULL in an ordinary non-key column is fine, and nothing was stored before.
  EXPECT_EQ(Scalar(*db, "SELECT count(*) FROM t"), "int:0");
  Must(*db, "INSERT INTO t VALUES (1, 'x', 1, NULL)");
  SqlResult update = db->Run("UPDATE t SET b = NULL WHERE a = 1");
  EXPECT_EQ(update.code, SQLITE_CONSTRAINT_NOTNULL) << update.ToString();
  EXPECT_EQ(update.message, "NOT NULL constraint failed: t.b");
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), (SqlRows{{"int:1", "text:'x'", "int:1", "null"}}));
}

// Every conflict mode, run on a strata table and on an ordinary WITHOUT ROWID table of
// the same name in another database: same code, same message, same rows afterwards,
// same transaction state.
TEST_F(SqlExtensionTest, ConflictModesGiveTheSameErrorsAndRowsAsAnOrdinaryTable) {
  struct Case {
    const char* setup;      // run first, must succeed
    const char* statement;  // compared
  };
  const Case cases[] = {
      {"", "INSERT INTO t VALUES (2, 'dup')"},
      {"", "INSERT INTO t VALUES (5, 'a'), (2, 'dup'), (6, 'b')"},
      {"", "INSERT OR ABORT INTO t VALUES (5, 'a'), (2, 'dup'), (6, 'b')"},
      {"", "INSERT OR FAIL INTO t VALUES (5, 'a'), (2, 'dup'), (6, 'b')"},
      {"", "INSERT OR IGNORE INTO t VALUES (5, 'a'), (2, 'dup'), (6, 'b')"},
      {"", "INSERT OR REPLACE INTO t VALUES (5, 'a'), (2, 'dup'), (6, 'b')"},
      {"", "REPLACE INTO t VALUES (1, 'replaced')"},
      {"", "INSERT INTO t SELECT k + 2, 'sel' FROM t"},
      {"BEGIN; INSERT INTO t VALUES (9, 'in txn')",
       "INSERT OR ROLLBACK INTO t VALUES (5, 'a'), (2, 'dup')"},
      {"BEGIN; INSERT INTO t VALUES (9, 'in txn')",
       "INSERT OR ABORT INTO t VALUES (5, 'a'), (2, 'dup')"},
      {"BEGIN; INSERT INTO t VALUES (9, 'in txn')",
       "INSERT OR FAIL INTO t VALUES (5, 'a'), (2, 'dup')"},
      {"", "UPDATE t SET k = 3 WHERE k = 1"},
      {"", "UPDATE OR IGNORE t SET k = k + 1"},
      {"", "UPDATE OR REPLACE t SET k = 3 WHERE k = 1"},
      {"", "UPDATE OR FAIL t SET k = CASE k WHEN 1 THEN 10 WHEN 2 THEN 3 ELSE k END"},
      {"", "UPDATE OR ABORT t SET k = CASE k WHEN 1 THEN 10 WHEN 2 THEN 3 ELSE k END"},
      {"BEGIN; INSERT INTO t VALUES (9, 'in txn')", "UPDATE OR ROLLBACK t SET k = 2 WHERE k = 3"},
      {"", "UPDATE t SET v = 'same key' WHERE k = 2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.setup) + " / " + c.statement);
    auto strata = Connect(":memory:");
    auto plain = Connect(":memory:");
    Must(*strata, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*plain, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID");
    for (SqliteDb* db : {strata.get(), plain.get()}) {
      Must(*db, "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')");
      if (c.setup[0] != '\0') Must(*db, c.setup);
    }
    SqlResult got = strata->Run(c.statement);
    SqlResult want = plain->Run(c.statement);
    EXPECT_EQ(got.code, want.code) << got.ToString() << " vs " << want.ToString();
    EXPECT_EQ(got.message, want.message);
    EXPECT_EQ(strata->autocommit(), plain->autocommit());
    EXPECT_EQ(Must(*strata, "SELECT * FROM t"), Must(*plain, "SELECT * FROM t"));
    if (!strata->autocommit()) {
      Must(*strata, "COMMIT");
      Must(*plain, "COMMIT");
      EXPECT_EQ(Must(*strata, "SELECT * FROM t"), Must(*plain, "SELECT * FROM t"));
    }
  }
}

// ---------------------------------------------------------------------------------
// Transactions.

TEST_F(SqlExtensionTest, TransactionSeesItsOwnWritesAndOthersSeeThemOnlyAfterCommit) {
  auto a = Connect(DbPath());
  auto b = Connect(DbPath());
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "INSERT INTO t VALUES (1, 'one'), (2, 'two')");
  EXPECT_EQ(Keys(*b), "1,2");  // b shares the store: a's autocommit writes are visible

  Must(*a,
       "BEGIN; INSERT INTO t VALUES (3, 'three'); DELETE FROM t WHERE k = 1; "
       "UPDATE t SET v = 'TWO' WHERE k = 2");
  EXPECT_EQ(Must(*a, "SELECT * FROM t"),
            (SqlRows{{"int:2", "text:'TWO'"}, {"int:3", "text:'three'"}}));
  EXPECT_EQ(Scalar(*a, "SELECT v FROM t WHERE k = 3"), "text:'three'");
  EXPECT_EQ(Scalar(*a, "SELECT count(*) FROM t WHERE k = 1"), "int:0");
  EXPECT_EQ(Must(*b, "SELECT * FROM t"),
            (SqlRows{{"int:1", "text:'one'"}, {"int:2", "text:'two'"}}));
  Must(*a, "COMMIT");
  EXPECT_EQ(Must(*b, "SELECT * FROM t"),
            (SqlRows{{"int:2", "text:'TWO'"}, {"int:3", "text:'three'"}}));

  // And the other way round.
  Must(*b, "BEGIN; INSERT INTO t VALUES (4, 'four')");
  EXPECT_EQ(Keys(*a), "2,3");
  Must(*b, "COMMIT");
  EXPECT_EQ(Keys(*a), "2,3,4");
}

// Stored rows in an SSTable and in the memtable, overlaid by a transaction's inserts,
// deletes, value updates and key updates: every access path of the strata table
// inside the transaction returns what the same statements give on an ordinary table.
TEST_F(SqlExtensionTest, ReadsInsideATransactionMergeBufferedAndStoredRows) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "CREATE TABLE m(k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID");
  auto both = [&](const std::string& sql) {
    for (const char* table : {"t", "m"}) {
      Must(*db, WithTable(sql, "$T", table));
    }
  };
  both(
      "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 2 FROM c WHERE x < 198) "
      "INSERT INTO $T SELECT x, 'stored ' || x FROM c");
  EXPECT_EQ(Scalar(*db, "SELECT strata_flush('t')"), "int:1");  // into an SSTable
  both(
      "WITH RECURSIVE c(x) AS (SELECT 200 UNION ALL SELECT x + 2 FROM c WHERE x < 298) "
      "INSERT INTO $T SELECT x, 'memtable ' || x FROM c");

  Must(*db, "BEGIN");
  both(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 6 FROM c WHERE x < 301) "
      "INSERT INTO $T SELECT x, 'buffered ' || x FROM c");
  both("DELETE FROM $T WHERE k % 10 = 0");
  both("UPDATE $T SET v = 'updated' WHERE k % 10 = 4");
  both("INSERT INTO $T VALUES (50, 'deleted then inserted')");
  both("UPDATE $T SET k = k + 1000 WHERE k IN (6, 206, 7)");
  both("DELETE FROM $T WHERE k BETWEEN 100 AND 120");
  both("INSERT INTO $T VALUES (-5, 'first'), (5000, 'last')");

  const char* queries[] = {
      "SELECT * FROM $T",
      "SELECT * FROM $T ORDER BY k DESC",
      "SELECT * FROM $T WHERE k BETWEEN 40 AND 130",
      "SELECT * FROM $T WHERE k BETWEEN 40 AND 130 ORDER BY k DESC",
      "SELECT * FROM $T WHERE k > 250",
      "SELECT * FROM $T WHERE k < 15 ORDER BY k DESC",
      "SELECT * FROM $T WHERE k IN (0, 1, 4, 6, 7, 14, 50, 1006, 110, 199, 220, 5000)",
      "SELECT * FROM $T WHERE k IN (0, 1, 4, 6, 7, 14, 50, 1006, 110, 199, 220) ORDER BY k DESC",
      "SELECT * FROM $T WHERE k = 50",
      "SELECT * FROM $T WHERE k = 60",
      "SELECT * FROM $T WHERE k = 1207",
      "SELECT count(*), sum(k) FROM $T",
      "SELECT * FROM $T ORDER BY k DESC LIMIT 5 OFFSET 3",
  };
  auto compare = [&](const char* when) {
    for (const char* query : queries) {
      SCOPED_TRACE(std::string(when) + ": " + query);
      std::string q = query;
      EXPECT_EQ(Must(*db, WithTable(q, "$T", "t")), Must(*db, WithTable(q, "$T", "m")));
    }
  };
  compare("inside the transaction");
  Must(*db, "COMMIT");
  compare("after commit");
  EXPECT_EQ(Scalar(*db, "SELECT count(*) FROM t"), Scalar(*db, "SELECT count(*) FROM m"));
}

TEST_F(SqlExtensionTest, SavepointRollbackToAndReleaseUndoExactlyTheirWrites) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  Must(*db, "BEGIN; INSERT INTO t VALUES (3, 'c')");
  Must(*db, "SAVEPOINT s1; INSERT INTO t VALUES (4, 'd'); UPDATE t SET v = 'A' WHERE k = 1");
  Must(*db, "SAVEPOINT s2; DELETE FROM t WHERE k <= 3; INSERT INTO t VALUES (5, 'e')");
  EXPECT_EQ(Keys(*db), "4,5");
  Must(*db, "ROLLBACK TO s2");
  EXPECT_EQ(Keys(*db), "1,2,3,4");
  EXPECT_EQ(Scalar(*db, "SELECT v FROM t WHERE k = 1"), "text:'A'");
  // s2 still exists after ROLLBACK TO: roll back to it again after more writes.
  Must(*db, "INSERT INTO t VALUES (6, 'f')");
  Must(*db, "ROLLBACK TO s2");
  EXPECT_EQ(Keys(*db), "1,2,3,4");
  Must(*db, "INSERT INTO t VALUES (7, 'g'); RELEASE s2");
  EXPECT_EQ(Keys(*db), "1,2,3,4,7");
  Must(*db, "ROLLBACK TO s1");  // undoes the released s2's writes too
  EXPECT_EQ(Keys(*db), "1,2,3");
  EXPECT_EQ(Scalar(*db, "SELECT v FROM t WHERE k = 1"), "text:'a'");
  Must(*db, "SAVEPOINT s3; INSERT INTO t VALUES (8, 'h'); RELEASE s3; COMMIT");
  EXPECT_EQ(Keys(*db), "1,2,3,8");

  // A SAVEPOINT outside BEGIN is a transaction: its RELEASE commits.
  Must(*db,
       "SAVEPOINT outer_sp; INSERT INTO t VALUES (9, 'i'); SAVEPOINT inner_sp; "
       "DELETE FROM t; ROLLBACK TO inner_sp; RELEASE outer_sp");
  EXPECT_TRUE(db->autocommit());
  db.reset();
  db = Connect(DbPath());
  EXPECT_EQ(Keys(*db), "1,2,3,8,9");
}

TEST_F(SqlExtensionTest, RollbackDiscardsEveryWriteOfTheTransaction) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  Must(*db,
       "BEGIN; INSERT INTO t VALUES (3, 'c'); DELETE FROM t WHERE k = 1; "
       "UPDATE t SET v = 'B', k = 20 WHERE k = 2");
  EXPECT_EQ(Keys(*db), "3,20");
  Must(*db, "ROLLBACK");
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), (SqlRows{{"int:1", "text:'a'"}, {"int:2", "text:'b'"}}));
  // The next transaction starts clean (nothing of the rolled-back one reappears).
  Must(*db, "BEGIN; INSERT INTO t VALUES (4, 'd'); COMMIT");
  db.reset();
  db = Connect(DbPath());
  EXPECT_EQ(Keys(*db), "1,2,4");
}

TEST_F(SqlExtensionTest, FailingMultiRowInsertInsideATransactionLeavesNoHalfRows) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  SqlResult r = db->Run("INSERT INTO t VALUES (3, 'c'), (4, 'd'), (1, 'dup'), (5, 'e')");
  EXPECT_EQ(r.code, SQLITE_CONSTRAINT_PRIMARYKEY) << r.ToString();
  EXPECT_FALSE(db->autocommit());  // the statement failed, not the transaction
  EXPECT_EQ(Keys(*db), "1,2");
  // INSERT ... SELECT of many rows failing at the end.
  r = db->Run(
      "WITH RECURSIVE c(x) AS (SELECT 10 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) "
      "INSERT INTO t SELECT x, 'many' FROM c UNION ALL SELECT 2, 'dup'");
  EXPECT_EQ(r.code, SQLITE_CONSTRAINT_PRIMARYKEY) << r.ToString();
  EXPECT_EQ(Keys(*db), "1,2");
  Must(*db, "INSERT INTO t VALUES (6, 'f'); COMMIT");
  db.reset();
  db = Connect(DbPath());
  EXPECT_EQ(Keys(*db), "1,2,6");
}

// ---------------------------------------------------------------------------------
// Sharing and locking.

TEST_F(SqlExtensionTest, SecondWriterWaitsForItsBusyTimeoutThenSucceedsAfterCommit) {
  auto a = Connect(DbPath());
  auto b = Connect(DbPath());
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "BEGIN; INSERT INTO t VALUES (1, 'a')");
  sqlite3_busy_timeout(b->get(), 300);
  auto start = std::chrono::steady_clock::now();
  SqlResult r = b->Run("INSERT INTO t VALUES (2, 'b')");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.code & 0xff, SQLITE_BUSY) << r.ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_TRUE(b->autocommit());
  Must(*a, "COMMIT");
  Must(*b, "INSERT INTO t VALUES (2, 'b')");
  EXPECT_EQ(Keys(*a), "1,2");
}

// A store belongs to one database, whose commit log decides the store's pending
// transactions: another database naming the same directory (dir=) is refused, at
// CREATE and when it connects a table, with a message naming both databases. The owner
// itself reopens it as before.
TEST_F(SqlExtensionTest, StoreOfAnotherDatabaseIsRefusedNamingBothDatabases) {
  const std::string store = dir_.Join("shared-store");
  const std::string dir_option = "dir='" + store + "'";
  {
    auto a = Connect(DbPath("a.db"));
    Must(*a, "CREATE VIRTUAL TABLE ta USING strata(k INTEGER PRIMARY KEY, v, " + dir_option + ")");
    Must(*a, "INSERT INTO ta VALUES (1, 'a')");
    auto b = Connect(DbPath("b.db"));
    SqlResult r = b->Run("CREATE VIRTUAL TABLE tb USING strata(k INTEGER PRIMARY KEY, v, " +
                         dir_option + ")");
    EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
    EXPECT_NE(r.message.find("shared-store belongs to another database (" + DbPath("a.db") +
                             "), not to " + DbPath("b.db")),
              std::string::npos)
        << r.message;
    EXPECT_EQ(Scalar(*b, "SELECT count(*) FROM sqlite_schema WHERE name = 'tb'"), "int:0");
    // A database that already has tables elsewhere is refused the same way.
    Must(*b, "CREATE VIRTUAL TABLE own USING strata(k INTEGER PRIMARY KEY, v)");
    r = b->Run("CREATE VIRTUAL TABLE tb USING strata(k INTEGER PRIMARY KEY, v, " + dir_option +
               ")");
    EXPECT_NE(r.message.find("belongs to another database"), std::string::npos) << r.message;
    // Connecting: b's definition of `own` edited to name a's store.
    Must(*b,
         "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = "
         "'CREATE VIRTUAL TABLE own USING strata(k INTEGER PRIMARY KEY, v, dir=''" +
             store + "'')' WHERE name = 'own'; PRAGMA writable_schema = OFF");
  }
  auto b = Connect(DbPath("b.db"));
  SqlResult r = b->Run("SELECT * FROM own");
  EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
  EXPECT_NE(r.message.find("belongs to another database (" + DbPath("a.db") + ")"),
            std::string::npos)
      << r.message;
  // The owner is unaffected and reopens its store.
  auto a = Connect(DbPath("a.db"));
  Must(*a, "INSERT INTO ta VALUES (2, 'b')");
  Must(*a, "CREATE VIRTUAL TABLE tc USING strata(k INTEGER PRIMARY KEY, v, " + dir_option + ")");
  EXPECT_EQ(Keys(*a, "ta"), "1,2");
}

// A first CREATE in the default store whose commit was vetoed leaves the store claimed
// for an id the database lost; a table in another store then gave the database a new id.
// The store holds nothing (no rows, nothing pending), so a CREATE in it takes it over
// instead of calling it another database's. A store at the same path that holds rows
// (its database file deleted and made again, with a table in another store first) is
// still refused.
TEST_F(SqlExtensionTest, UnusedStoreLeftByAVetoedFirstCreateIsTakenOver) {
  {
    auto db = Connect(DbPath("c.db"));
    sqlite3_commit_hook(db->get(), [](void*) { return 1; }, nullptr);  // veto every commit
    EXPECT_NE(db->Run("CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)").code,
              SQLITE_OK);
    sqlite3_commit_hook(db->get(), nullptr, nullptr);
    Must(*db, "CREATE VIRTUAL TABLE u USING strata(k INTEGER PRIMARY KEY, v, dir='" +
                  dir_.Join("second") + "')");
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*db, "BEGIN; INSERT INTO t VALUES (1, 'a'); INSERT INTO u VALUES (1, 'b'); COMMIT");
    EXPECT_EQ(CommitLogTables(*db).size(), 2u);
  }
  {
    auto db = Connect(DbPath("c.db"));
    EXPECT_EQ(Keys(*db, "t"), "1");
    EXPECT_EQ(Keys(*db, "u"), "1");
  }
  // Rows in the store: the owner at this path may still want them.
  ASSERT_TRUE(std::filesystem::remove(DbPath("c.db")));
  auto db = Connect(DbPath("c.db"));
  Must(*db, "CREATE VIRTUAL TABLE w USING strata(k INTEGER PRIMARY KEY, v, dir='" +
                dir_.Join("third") + "')");
  SqlResult r = db->Run("CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
  EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
  EXPECT_NE(r.message.find("belongs to another database"), std::string::npos) << r.message;
}

// Moving a database file together with its store keeps both working (same ids); so does
// a copy of both, which then lives on independently.
TEST_F(SqlExtensionTest, DatabaseMovedOrCopiedTogetherWithItsStoreKeepsWorking) {
  {
    auto db = Connect(DbPath("original.db"));
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*db, "INSERT INTO t VALUES (1, 'a')");
  }
  ASSERT_EQ(mkdir(DbPath("moved").c_str(), 0755), 0);
  const std::string moved = DbPath("moved/renamed.db");
  std::filesystem::rename(DbPath("original.db"), moved);
  std::filesystem::rename(DbPath("original.db-strata"), moved + "-strata");
  {
    auto db = Connect(moved);
    EXPECT_EQ(Keys(*db), "1");
    Must(*db, "INSERT INTO t VALUES (2, 'b')");
    Must(*db, "CREATE VIRTUAL TABLE u USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*db, "INSERT INTO u VALUES (1, 'u')");
  }
  const std::string copy = DbPath("copy.db");
  std::filesystem::copy_file(moved, copy);
  std::filesystem::copy(moved + "-strata", copy + "-strata");
  auto original = Connect(moved);
  auto copied = Connect(copy);
  Must(*copied, "INSERT INTO t VALUES (3, 'only in the copy')");
  Must(*copied, "CREATE VIRTUAL TABLE w USING strata(k INTEGER PRIMARY KEY, v)");
  Must(*original, "DELETE FROM u");
  EXPECT_EQ(Keys(*original), "1,2");
  EXPECT_EQ(Keys(*copied), "1,2,3");
  EXPECT_EQ(Keys(*original, "u"), "");
  EXPECT_EQ(Keys(*copied, "u"), "1");
}

// The first CREATE of a database records the database's id in the store and in the
// database; if that CREATE does not commit, the store keeps the id and the database
// loses it. The database must still own its store afterwards.
TEST_F(SqlExtensionTest, FirstCreateThatDidNotCommitLeavesTheStoreToItsDatabase) {
  auto db = Connect(DbPath());
  sqlite3_commit_hook(
      db->get(), [](void*) { return 1; }, nullptr);
  SqlResult r = db->Run("CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
  EXPECT_EQ(r.code, SQLITE_CONSTRAINT_COMMITHOOK) << r.ToString();
  sqlite3_commit_hook(db->get(), nullptr, nullptr);
  EXPECT_TRUE(IsDirectory(DbPath() + "-strata"));
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
  Must(*db, "INSERT INTO t VALUES (1, 'a')");
  db = Connect(DbPath());
  EXPECT_EQ(Keys(*db), "1");
}

TEST_F(SqlExtensionTest, ReadersDoNotWaitForAWritingTransaction) {
  auto a = Connect(DbPath());
  auto b = Connect(DbPath());
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "INSERT INTO t VALUES (1, 'a')");
  Must(*a, "BEGIN; INSERT INTO t VALUES (2, 'b'); DELETE FROM t WHERE k = 1");
  sqlite3_busy_timeout(b->get(), 5000);  // a wait would show as seconds
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Keys(*b), "1");
  EXPECT_EQ(Scalar(*b, "SELECT v FROM t WHERE k = 1"), "text:'a'");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  Must(*a, "COMMIT");
  EXPECT_EQ(Keys(*b), "2");
}

// A statement reads one snapshot: rows committed by another connection while it is
// part way through are not seen by it (WAL, so the writer can commit meanwhile).
TEST_F(SqlExtensionTest, StatementKeepsItsSnapshotWhileAnotherConnectionCommits) {
  auto a = Connect(DbPath());
  auto b = Connect(DbPath());
  Must(*a, "PRAGMA journal_mode=WAL");
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(b->get(), "SELECT k, v FROM t", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  Must(*a,
       "INSERT INTO t VALUES (4, 'new'); DELETE FROM t WHERE k = 3; "
       "UPDATE t SET v = 'changed' WHERE k = 2");
  std::vector<std::string> rest;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rest.push_back(std::to_string(sqlite3_column_int(stmt, 0)) + "=" +
                   reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"2=b", "3=c"}));
  sqlite3_finalize(stmt);
  EXPECT_EQ(Keys(*b), "1,2,4");  // the next statement sees the commit
}

// Closing a connection in the middle of a transaction rolls it back: its writes are
// gone and another connection can write at once.
TEST_F(SqlExtensionTest, ClosingAConnectionMidTransactionDiscardsItsWritesAndFreesTheWriter) {
  auto a = Connect(DbPath());
  auto b = Connect(DbPath());
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "INSERT INTO t VALUES (1, 'a')");
  Must(*a, "BEGIN; INSERT INTO t VALUES (2, 'uncommitted')");
  EXPECT_EQ(a->Close(), SQLITE_OK);
  sqlite3_busy_timeout(b->get(), 0);
  Must(*b, "INSERT INTO t VALUES (3, 'c')");
  EXPECT_EQ(Keys(*b), "1,3");
  // A failed autocommit statement does not keep the writer either.
  EXPECT_EQ(b->Run("INSERT INTO t VALUES (4, 'd'), (1, 'dup')").code, SQLITE_CONSTRAINT_PRIMARYKEY);
  a = Connect(DbPath());
  sqlite3_busy_timeout(a->get(), 0);
  Must(*a, "INSERT INTO t VALUES (5, 'e')");
  EXPECT_EQ(Keys(*a), "1,3,5");
}

// In rollback-journal mode a COMMIT fails with SQLITE_BUSY while another connection
// holds a read lock, and the transaction stays open: it may write more and COMMIT
// again. The second COMMIT must commit every write, including those made after the
// first attempt had already run xSync.
TEST_F(SqlExtensionTest, CommitRetriedAfterBusyKeepsWritesMadeAfterTheFailedAttempt) {
  auto a = Connect(DbPath());
  auto reader = Connect(DbPath());
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "CREATE TABLE o(k INTEGER PRIMARY KEY, v TEXT)");
  sqlite3_busy_timeout(a->get(), 50);
  Must(*a, "BEGIN; INSERT INTO t VALUES (1, 'before'); INSERT INTO o VALUES (1, 'before')");
  Must(*reader, "BEGIN; SELECT * FROM o");  // holds a SHARED lock on the main database
  SqlResult r = a->Run("COMMIT");
  ASSERT_EQ(r.code & 0xff, SQLITE_BUSY) << r.ToString();
  ASSERT_FALSE(a->autocommit());
  Must(*a,
       "INSERT INTO t VALUES (2, 'after'); INSERT INTO o VALUES (2, 'after'); "
       "UPDATE t SET v = 'updated after' WHERE k = 1");
  Must(*reader, "COMMIT");
  Must(*a, "COMMIT");
  const SqlRows want = {{"int:1", "text:'updated after'"}, {"int:2", "text:'after'"}};
  EXPECT_EQ(Must(*a, "SELECT * FROM t"), want);
  EXPECT_EQ(Keys(*a, "o"), "1,2");
  a.reset();
  reader.reset();
  auto db = Connect(DbPath());
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), want);
}

// Connections to one shared-cache in-memory database see one database, so they must
// see one store too.
TEST_F(SqlExtensionTest, SharedCacheMemoryDatabaseSharesItsStoreBetweenConnections) {
  const std::string uri = "file:sql_extension_test_shared?mode=memory&cache=shared";
  auto a = Connect(uri);
  auto b = Connect(uri);
  Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*a, "INSERT INTO t VALUES (1, 'a')");
  SqlResult r = b->Run("SELECT k FROM t");
  EXPECT_TRUE(r.ok()) << r.ToString();
  EXPECT_EQ(r.rows, (SqlRows{{"int:1"}}));
}

// A second process must not open a store this process has open: the engine is not
// multi-process. The child forks before this process opens anything, so it inherits
// no open store.
TEST_F(SqlExtensionTest, SecondProcessGetsStoreLockedUntilTheFirstCloses) {
  int go[2], report[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(go[1]);
    close(report[0]);
    for (int attempt = 0; attempt < 2; attempt++) {
      char byte;
      if (read(go[0], &byte, 1) != 1) _exit(2);
      std::string outcome;
      {
        SqliteDb db;
        std::string error;
        if (!db.Open(DbPath(), &error) || !test::LoadStrata(&db, &error)) {
          outcome = "setup failed: " + error;
        } else {
          SqlResult r = db.Run("SELECT count(*) FROM t");
          outcome = r.ok() ? "ok " + r.rows[0][0] : std::to_string(r.code) + " " + r.message;
        }
      }
      outcome += "\n";
      if (write(report[1], outcome.data(), outcome.size()) !=
          static_cast<ssize_t>(outcome.size())) {
        _exit(3);
      }
    }
    _exit(0);
  }
  close(go[0]);
  close(report[1]);
  FILE* from_child = fdopen(report[0], "r");
  auto ask_child = [&]() {
    EXPECT_EQ(write(go[1], "x", 1), 1);
    char line[1024] = {0};
    if (fgets(line, sizeof(line), from_child) == nullptr) return std::string("<no answer>");
    return std::string(line);
  };

  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "INSERT INTO t VALUES (1, 'a')");
  std::string first = ask_child();
  EXPECT_NE(first.find("is locked by another process"), std::string::npos) << first;
  EXPECT_NE(first.find(DbPath() + "-strata"), std::string::npos) << first;
  EXPECT_EQ(first.rfind(std::to_string(SQLITE_BUSY) + " ", 0), 0u) << first;
  db.reset();  // the last connection closes the store and releases its lock
  std::string second = ask_child();
  EXPECT_EQ(second, "ok int:1\n");

  close(go[1]);
  fclose(from_child);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// ---------------------------------------------------------------------------------
// Where stores live, and their options.

TEST_F(SqlExtensionTest, StorePersistsAcrossReopenInTheSidecarDirectory) {
  {
    auto db = Connect(DbPath());
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db, "CREATE VIRTUAL TABLE e USING strata(a, b, c, PRIMARY KEY (a, b))");
    Must(*db,
         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) "
         "INSERT INTO t SELECT x, printf('v%04d', x) FROM c");
    EXPECT_EQ(Scalar(*db, "SELECT strata_flush('t')"), "int:1");
    Must(*db, "DELETE FROM t WHERE k > 400; INSERT INTO e VALUES ('x', 1, x'ff'), ('x', 0, 2.5)");
  }
  EXPECT_TRUE(IsDirectory(DbPath() + "-strata"));
  EXPECT_TRUE(Exists(DbPath() + "-strata/CURRENT"));
  auto db = Connect(DbPath());
  EXPECT_EQ(Must(*db, "SELECT count(*), min(k), max(k), sum(k) FROM t"),
            (SqlRows{{"int:400", "int:1", "int:400", "int:80200"}}));
  EXPECT_EQ(Scalar(*db, "SELECT v FROM t WHERE k = 321"), "text:'v0321'");
  EXPECT_EQ(Must(*db, "SELECT * FROM e"),
            (SqlRows{{"text:'x'", "int:0", "real:2.5"}, {"text:'x'", "int:1", "blob:x'ff'"}}));
}

TEST_F(SqlExtensionTest, MemoryAndTempDatabasesKeepTheirStoresInMemory) {
  // Run from an empty directory: nothing may appear in it (or next to the file database).
  struct RestoreWorkingDirectory {
    std::error_code error;
    std::filesystem::path saved = std::filesystem::current_path(error);
    ~RestoreWorkingDirectory() { std::filesystem::current_path(saved, error); }
  } restore;
  std::string empty = dir_.Join("cwd");
  ASSERT_EQ(mkdir(empty.c_str(), 0755), 0);
  ASSERT_EQ(chdir(empty.c_str()), 0);
  {
    auto a = Connect(":memory:");
    auto b = Connect(":memory:");
    Must(*a, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*b, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*a, "INSERT INTO t VALUES (1, 'a'), (2, 'a')");
    // Each :memory: database has its own store.
    Must(*b, "INSERT INTO t VALUES (1, 'b')");
    EXPECT_EQ(Keys(*a), "1,2");
    EXPECT_EQ(Keys(*b), "1");
    EXPECT_EQ(Scalar(*a, "SELECT strata_flush('t')"), "int:1");
    EXPECT_EQ(Scalar(*a, "SELECT v FROM t WHERE k = 2"), "text:'a'");
    Must(*a, "BEGIN; INSERT INTO t VALUES (3, 'a'); ROLLBACK");
    EXPECT_EQ(Keys(*a), "1,2");
  }
  {
    auto db = Connect(DbPath("file.db"));
    Must(*db, "CREATE VIRTUAL TABLE temp.tt USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*db, "INSERT INTO tt VALUES (1, 'temp')");
    EXPECT_EQ(Keys(*db, "tt"), "1");
  }
  EXPECT_EQ(ListDirectory(empty), std::vector<std::string>{});
  EXPECT_FALSE(Exists(DbPath("file.db") + "-strata"));
}

// SQLite resets the connection's schema after a failed CREATE VIRTUAL TABLE, which
// disconnects every virtual table of the connection (those in a transaction at its
// end). Nothing may be lost: an in-memory store lives as long as its database, and a
// transaction in progress keeps its writes.
TEST_F(SqlExtensionTest, FailedCreateVirtualTableLosesNoRowsOfOtherTables) {
  for (std::string path : {std::string(":memory:"), DbPath()}) {
    SCOPED_TRACE(path);
    auto db = Connect(path);
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    SqlResult r = db->Run("CREATE VIRTUAL TABLE bad USING strata(k PRIMARY KEY, colour=red)");
    EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
    EXPECT_EQ(Keys(*db), "1,2");
    // Failing after the store was opened: options that disagree with the open store's.
    r = db->Run("CREATE VIRTUAL TABLE bad USING strata(k PRIMARY KEY, compression='zstd:3')");
    EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
    EXPECT_NE(r.message.find("compression"), std::string::npos) << r.message;
    EXPECT_EQ(Keys(*db), "1,2");
    Must(*db, "BEGIN; INSERT INTO t VALUES (3, 'c')");
    EXPECT_EQ(db->Run("CREATE VIRTUAL TABLE bad USING strata(k PRIMARY KEY, colour=red)").code,
              SQLITE_ERROR);
    Must(*db, "INSERT INTO t VALUES (4, 'd'); COMMIT");
    EXPECT_EQ(Keys(*db), "1,2,3,4");
  }
}

// After a schema reset inside a transaction (here by a failed CREATE VIRTUAL TABLE),
// SQLite connects a new instance of table t while the old one is disconnected only at
// the end of the transaction. The SQL functions must still find t afterwards.
TEST_F(SqlExtensionTest, FunctionsFindATableReconnectedAfterASchemaReset) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "BEGIN; INSERT INTO t VALUES (1, 'a')");
  EXPECT_EQ(db->Run("CREATE VIRTUAL TABLE bad USING strata(k PRIMARY KEY, colour=red)").code,
            SQLITE_ERROR);
  Must(*db, "INSERT INTO t VALUES (2, 'b'); COMMIT");
  SqlResult r = db->Run("SELECT strata_flush('t'), strata_compact('t'), strata_wait('t')");
  EXPECT_TRUE(r.ok()) << r.ToString();
  EXPECT_EQ(r.rows, (SqlRows{{"int:1", "int:1", "int:1"}}));
  EXPECT_EQ(Keys(*db), "1,2");
}

// Transaction ids are counted per store and each store resolves its pending records
// against its commit log when it opens, so each store of a database has a log of its
// own (the crash tests in sql_crash_test kill a transaction over two stores): a
// transaction writing both records one id in each.
TEST_F(SqlExtensionTest, EachStoreOfADatabaseHasItsOwnCommitLog) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
  Must(*db, "CREATE VIRTUAL TABLE u USING strata(k INTEGER PRIMARY KEY, v, dir='" +
                dir_.Join("second") + "')");
  Must(*db, "CREATE VIRTUAL TABLE t2 USING strata(k INTEGER PRIMARY KEY, v)");  // t's store
  std::vector<std::string> logs = CommitLogTables(*db);
  ASSERT_EQ(logs.size(), 2u);
  for (const std::string& log : logs) {
    EXPECT_EQ(log.size(), std::string("strata_commit_log_").size() + 16) << log;
  }
  auto txid = [&](const std::string& log) { return Scalar(*db, "SELECT hex(txid) FROM " + log); };
  const std::string before[2] = {txid(logs[0]), txid(logs[1])};
  Must(*db, "BEGIN; INSERT INTO t VALUES (1, 'a'); INSERT INTO u VALUES (1, 'b'); COMMIT");
  EXPECT_NE(txid(logs[0]), before[0]);
  EXPECT_NE(txid(logs[1]), before[1]);
  // A transaction of one store leaves the other's log alone.
  const std::string after_both[2] = {txid(logs[0]), txid(logs[1])};
  Must(*db, "INSERT INTO u VALUES (2, 'c')");
  EXPECT_EQ(txid(logs[0]) == after_both[0], txid(logs[1]) != after_both[1]);
  EXPECT_EQ(Keys(*db, "t"), "1");
  EXPECT_EQ(Keys(*db, "u"), "1,2");
}

// A store claimed before commit logs were per store (its owner record has format
// version 1, or it has none because it predates owners) keeps using the database's
// shared strata_commit_log, whose id decides its pending records: a new log would
// discard a transaction committed before the upgrade.
TEST_F(SqlExtensionTest, StoreFromBeforePerStoreCommitLogsKeepsTheSharedLog) {
  for (const bool has_owner : {true, false}) {
    SCOPED_TRACE(has_owner ? "owner record of version 1" : "no owner record");
    const std::string path = DbPath(has_owner ? "v1.db" : "unowned.db");
    {
      auto db = Connect(path);
      Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
      Must(*db, "INSERT INTO t VALUES (1, 'a')");
    }
    // What the previous version left: the shared log, an owner without a log id.
    ASSERT_EQ("", test::MakeStoreClaimedBeforePerStoreLogs(path, path + "-strata"));
    if (!has_owner) {  // older still: no owner record
      std::shared_ptr<sql::Store> store;
      ASSERT_TRUE(
          sql::Store::Acquire(path + "-strata", /*in_memory=*/false, sql::StoreOptions(), &store)
              .ok());
      Status s = store->db()->Delete(WriteOptions(), sql::Store::TableKeyPrefix(0) + "owner");
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    auto db = Connect(path);
    const std::string before = Scalar(*db, "SELECT hex(txid) FROM strata_commit_log");
    Must(*db, "INSERT INTO t VALUES (2, 'b')");
    EXPECT_NE(Scalar(*db, "SELECT hex(txid) FROM strata_commit_log"), before);
    // A table created in the store now (which claims it if it has no owner) too.
    Must(*db, "CREATE VIRTUAL TABLE u USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*db, "INSERT INTO u VALUES (1, 'c')");
    EXPECT_EQ(CommitLogTables(*db), std::vector<std::string>{"strata_commit_log"});
    EXPECT_EQ(Keys(*db), "1,2");
    EXPECT_EQ(Keys(*db, "u"), "1");
  }
}

TEST_F(SqlExtensionTest, DirOptionPutsTheStoreInTheNamedDirectory) {
  std::string store = dir_.Join("elsewhere");
  std::string create =
      "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v, dir='" + store + "')";
  {
    auto db = Connect(DbPath());
    Must(*db, create);
    Must(*db, "INSERT INTO t VALUES (1, 'x'), (2, 'y')");
  }
  EXPECT_TRUE(Exists(store + "/CURRENT"));
  EXPECT_FALSE(Exists(DbPath() + "-strata"));
  auto db = Connect(DbPath());
  EXPECT_EQ(Keys(*db), "1,2");
}

TEST_F(SqlExtensionTest, UnknownOrMalformedOptionIsAnErrorNamingTheOption) {
  auto db = Connect(DbPath());
  struct Case {
    const char* arguments;
    const char* expected;  // part of the message
  };
  const Case cases[] = {
      {"k PRIMARY KEY, v, colour=blue", "unknown option 'colour'"},
      {"k PRIMARY KEY, v, sync=sometimes", "option sync: invalid value 'sometimes'"},
      {"k PRIMARY KEY, v, write_buffer_size='lots'", "option write_buffer_size: invalid value"},
      {"k PRIMARY KEY, v, block_cache_size=-1", "option block_cache_size"},
      {"k PRIMARY KEY, v, compression=zstd:40", "option compression: invalid value 'zstd:40'"},
      {"k PRIMARY KEY, v, compression=lz5",
       "option compression: invalid value 'lz5' (expected none, zstd, zstd:<level 1 to 19> or "
       "lz4)"},
      {"k PRIMARY KEY, v, bloom_bits_per_key=99", "option bloom_bits_per_key: invalid value '99'"},
      {"k PRIMARY KEY, v, =3", "syntax error near '='"},
      {"k, v", "needs a PRIMARY KEY"},
  };
  for (const Case& c : cases) {
    SqlResult r = db->Run(std::string("CREATE VIRTUAL TABLE t USING strata(") + c.arguments + ")");
    EXPECT_EQ(r.code, SQLITE_ERROR) << c.arguments << ": " << r.ToString();
    EXPECT_NE(r.message.find(c.expected), std::string::npos) << c.arguments << ": " << r.message;
    EXPECT_EQ(r.message.rfind("table t: ", 0), 0u) << r.message;
    // Nothing was created.
    EXPECT_EQ(Scalar(*db, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"), "int:0");
  }
  // Well-formed options work.
  Must(*db,
       "CREATE VIRTUAL TABLE t USING strata(k PRIMARY KEY, v, sync=normal, "
       "write_buffer_size='1MiB', block_cache_size=0, compression=none, "
       "bloom_bits_per_key=0)");
  Must(*db, "INSERT INTO t VALUES (1, 2)");
  EXPECT_EQ(Keys(*db), "1");
}

// A table stating store options other than those the store is open with is refused
// with the option as the user writes it: its name and its value in the user's units.
TEST_F(SqlExtensionTest, OptionConflictWithTheOpenStoreNamesTheOptionAsWritten) {
  auto db = Connect(DbPath());
  Must(*db,
       "CREATE VIRTUAL TABLE a USING strata(k PRIMARY KEY, write_buffer_size='1MiB', "
       "compression=none)");
  // A failed CREATE disconnects the connection's tables; another connection's keep the
  // store open with its options.
  auto keeper = Connect(DbPath());
  Must(*keeper, "SELECT * FROM a");
  struct Case {
    const char* option;
    const char* asked;  // "<name>=<value> was asked"
    const char* open;   // "is open with <name>=<value>"
  };
  const Case cases[] = {
      {"write_buffer_size='2 MiB'", "write_buffer_size=2MiB", "write_buffer_size=1MiB"},
      {"write_buffer_size=1500000", "write_buffer_size=1500000", "write_buffer_size=1MiB"},
      {"block_cache_size=0", "block_cache_size=0", "block_cache_size=64MiB"},
      {"compression=zstd", "compression=zstd:1", "compression=none"},
      {"compression='zstd:5'", "compression=zstd:5", "compression=none"},
      {"compression=lz4", "compression=lz4", "compression=none"},
      {"sync=off", "sync=off", "sync=full"},
  };
  for (const Case& c : cases) {
    SqlResult r = db->Run(std::string("CREATE VIRTUAL TABLE b USING strata(k PRIMARY KEY, ") +
                          c.option + ")");
    EXPECT_EQ(r.code, SQLITE_ERROR) << c.option << ": " << r.ToString();
    EXPECT_EQ(r.message.rfind("strata table b: ", 0), 0u) << r.message;
    EXPECT_NE(r.message.find(std::string(": ") + c.asked + " was asked but store "),
              std::string::npos)
        << r.message;
    EXPECT_NE(r.message.find(std::string("-strata is open with ") + c.open), std::string::npos)
        << r.message;
    EXPECT_EQ(r.message.find("compression_level"), std::string::npos) << r.message;
  }
}

// compression=lz4 reaches the engine: what compaction writes is lz4 (each table's
// properties say so), the rows read back, and a table asking for zstd of the open lz4
// store is refused naming both as the user writes them.
TEST_F(SqlExtensionTest, Lz4CompressionOptionReachesTheStoresTables) {
  {
    auto db = Connect(DbPath());
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT, compression=lz4)");
    Must(*db,
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
         "INSERT INTO t SELECT i, printf('%d alpha bravo alpha bravo charlie', i) FROM n");
    EXPECT_EQ(Scalar(*db, "SELECT strata_compact('t')"), "int:1");
    SqlResult r = db->Run("CREATE VIRTUAL TABLE u USING strata(k PRIMARY KEY, compression=zstd)");
    EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
    EXPECT_NE(r.message.find("compression=zstd:1 was asked but store "), std::string::npos)
        << r.message;
    EXPECT_NE(r.message.find("-strata is open with compression=lz4"), std::string::npos)
        << r.message;
  }
  const std::string store = DbPath() + "-strata";
  int lz4_tables = 0;
  for (const auto& entry : std::filesystem::directory_iterator(store)) {
    if (entry.path().extension() != ".sst") continue;
    std::unique_ptr<RandomAccessFile> file;
    ASSERT_TRUE(Env::Default()->NewRandomAccessFile(entry.path(), &file).ok());
    std::unique_ptr<Table> table;
    Status s = Table::Open(Options(), entry.path(), std::move(file),
                                           entry.file_size(), TableReadContext(), &table);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (table->properties().num_entries == 0) continue;
    EXPECT_EQ(table->properties().compression, CompressionType::kLz4) << entry.path();
    lz4_tables++;
  }
  EXPECT_GT(lz4_tables, 0);
  auto db = Connect(DbPath());
  EXPECT_EQ(Scalar(*db, "SELECT count(*) FROM t"), "int:3000");
  EXPECT_EQ(Scalar(*db, "SELECT v FROM t WHERE k = 1234"),
            "text:'1234 alpha bravo alpha bravo charlie'");
}

// The database's definition of a table (its CREATE VIRTUAL TABLE statement, edited here
// through writable_schema) no longer matches the store's catalog: opening the table
// must say so, naming the difference with "catalog" and "here" the right way round.
TEST_F(SqlExtensionTest, SchemaDisagreeingWithTheCatalogIsAClearErrorOnOpen) {
  {
    auto db = Connect(DbPath());
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
    Must(*db, "INSERT INTO t VALUES (1, 'a')");
  }
  {
    SqliteDb plain;  // no extension needed to edit the schema
    std::string error;
    ASSERT_TRUE(plain.Open(DbPath(), &error)) << error;
    Must(plain,
         "PRAGMA writable_schema = ON; "
         "UPDATE sqlite_schema SET sql = "
         "'CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v, w)' WHERE name = 't'");
  }
  auto db = Connect(DbPath());
  SqlResult r = db->Run("SELECT * FROM t");
  EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
  EXPECT_NE(r.message.find("strata table t"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("schema disagrees with the store's catalog"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("the catalog has 2 columns (k, v) but here 3 (k, v, w)"),
            std::string::npos)
      << r.message;
}

// ---------------------------------------------------------------------------------
// DROP and RENAME.

TEST_F(SqlExtensionTest, DropTableRemovesItsRowsForGood) {
  const char* create = "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)";
  {
    auto db = Connect(DbPath());
    Must(*db, create);
    Must(*db, "CREATE VIRTUAL TABLE other USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db,
         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) "
         "INSERT INTO t SELECT x, 'old' FROM c");
    Must(*db, "INSERT INTO other VALUES (1, 'kept')");
    EXPECT_EQ(Scalar(*db, "SELECT strata_flush('t')"), "int:1");
    Must(*db, "INSERT INTO t VALUES (1000, 'in memtable')");
    Must(*db, "DROP TABLE t");
    EXPECT_NE(db->Run("SELECT * FROM t").message.find("no such table"), std::string::npos);
    Must(*db, create);
    EXPECT_EQ(Keys(*db), "");
    Must(*db, "INSERT INTO t VALUES (1, 'new')");  // no UNIQUE error from the old row 1
    EXPECT_EQ(Keys(*db, "other"), "1");
  }
  auto db = Connect(DbPath());
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), (SqlRows{{"int:1", "text:'new'"}}));
  EXPECT_EQ(Must(*db, "SELECT * FROM other"), (SqlRows{{"int:1", "text:'kept'"}}));
  Must(*db, "DROP TABLE t");
  Must(*db, create);
  EXPECT_EQ(Keys(*db), "");
}

TEST_F(SqlExtensionTest, AlterTableRenameKeepsTheRowsUnderTheNewName) {
  {
    auto db = Connect(DbPath());
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    EXPECT_EQ(Scalar(*db, "SELECT strata_flush('t')"), "int:1");
    Must(*db, "INSERT INTO t VALUES (3, 'c')");
    Must(*db, "ALTER TABLE t RENAME TO renamed");
    EXPECT_EQ(Keys(*db, "renamed"), "1,2,3");
    Must(*db, "INSERT INTO renamed VALUES (4, 'd')");
    EXPECT_EQ(Scalar(*db, "SELECT strata_flush('renamed')"), "int:1");
    EXPECT_NE(db->Run("SELECT strata_flush('t')").message.find("no strata table named 't'"),
              std::string::npos);
    // The old name is free again, for an empty table.
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    EXPECT_EQ(Keys(*db), "");
  }
  auto db = Connect(DbPath());
  EXPECT_EQ(Keys(*db, "renamed"), "1,2,3,4");
  EXPECT_EQ(Keys(*db), "");
  // Renaming back and forth in one session, then using the new name.
  Must(*db, "ALTER TABLE renamed RENAME TO Third");
  EXPECT_EQ(Keys(*db, "third"), "1,2,3,4");
  EXPECT_EQ(Scalar(*db, "SELECT strata_compact('THIRD')"), "int:1");
}

// ---------------------------------------------------------------------------------
// SQL functions.

TEST_F(SqlExtensionTest, VersionFunctionNamesTheExtensionAndVersion) {
  auto db = Connect(":memory:");
  std::string version = Scalar(*db, "SELECT strata_version()");
  // text:'strata <major>.<minor>.<patch>'
  unsigned major = 0, minor = 0, patch = 0;
  char quote = 0, extra = 0;
  EXPECT_EQ(std::sscanf(version.c_str(), "text:'strata %u.%u.%u%c%c", &major, &minor, &patch,
                        &quote, &extra),
            4)
      << version;
  EXPECT_EQ(quote, '\'') << version;
}

TEST_F(SqlExtensionTest, FlushAndCompactKeepEveryRowReadable) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "CREATE TABLE m(k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID");
  for (int round = 0; round < 3; round++) {
    std::string sql = "WITH RECURSIVE c(x) AS (SELECT " + std::to_string(round) +
                      " UNION ALL SELECT x + 3 FROM c WHERE x < 900) "
                      "INSERT OR REPLACE INTO $T SELECT x, 'round " +
                      std::to_string(round) + "' FROM c";
    for (const char* table : {"t", "m"}) Must(*db, WithTable(sql, "$T", table));
    Must(*db, "DELETE FROM t WHERE k % 7 = " + std::to_string(round));
    Must(*db, "DELETE FROM m WHERE k % 7 = " + std::to_string(round));
    EXPECT_EQ(Scalar(*db, "SELECT strata_flush('t')"), "int:1");
  }
  EXPECT_EQ(Scalar(*db, "SELECT strata_compact('t')"), "int:1");
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), Must(*db, "SELECT * FROM m"));
  EXPECT_EQ(Must(*db, "SELECT * FROM t WHERE k BETWEEN 100 AND 200 ORDER BY k DESC"),
            Must(*db, "SELECT * FROM m WHERE k BETWEEN 100 AND 200 ORDER BY k DESC"));
  // Inside a transaction the buffered rows stay visible across a flush.
  Must(*db, "BEGIN; INSERT INTO t VALUES (-1, 'buffered')");
  EXPECT_EQ(Scalar(*db, "SELECT strata_flush('t')"), "int:1");
  EXPECT_EQ(Scalar(*db, "SELECT v FROM t WHERE k = -1"), "text:'buffered'");
  Must(*db, "COMMIT");
  EXPECT_EQ(Scalar(*db, "SELECT v FROM t WHERE k = -1"), "text:'buffered'");
}

TEST_F(SqlExtensionTest, FlushCompactAndWaitOfAnythingButAStrataTableAreClearErrors) {
  auto db = Connect(":memory:");
  Must(*db, "CREATE TABLE plain(k PRIMARY KEY)");
  for (const char* fn : {"strata_flush", "strata_compact", "strata_wait"}) {
    SqlResult r = db->Run(std::string("SELECT ") + fn + "('nope')");
    EXPECT_EQ(r.code, SQLITE_ERROR) << r.ToString();
    EXPECT_EQ(r.message, "strata: no strata table named 'nope'");
    r = db->Run(std::string("SELECT ") + fn + "('plain')");
    EXPECT_EQ(r.message, "strata: no strata table named 'plain'");
    r = db->Run(std::string("SELECT ") + fn + "(NULL)");
    EXPECT_EQ(r.message, "strata: expected a table name");
    r = db->Run(std::string("SELECT ") + fn + "()");
    EXPECT_NE(r.message.find("wrong number of arguments"), std::string::npos) << r.message;
  }
}

// ---------------------------------------------------------------------------------
// Planning, RETURNING, joins, UPDATE of keys.

// The detail column of EXPLAIN QUERY PLAN for sql, one line per row, without the
// idxNum that precedes the idxStr ("INDEX 18:point(id=?)" -> "INDEX point(id=?)").
std::vector<std::string> QueryPlan(const SqliteDb& db, const std::string& sql) {
  std::vector<std::string> lines;
  for (const auto& row : Must(db, "EXPLAIN QUERY PLAN " + sql)) {
    std::string detail = row[3].substr(6, row[3].size() - 7);  // text:'...'
    size_t index = detail.find("INDEX ");
    if (index != std::string::npos) {
      size_t colon = detail.find(':', index);
      if (colon != std::string::npos) detail.erase(index + 6, colon + 1 - (index + 6));
    }
    lines.push_back(detail);
  }
  return lines;
}

TEST_F(SqlExtensionTest, ExplainQueryPlanShowsReadableIdxStr) {
  auto db = Connect(":memory:");
  Must(*db, "CREATE VIRTUAL TABLE users USING strata(id INTEGER PRIMARY KEY, name TEXT)");
  Must(*db,
       "CREATE VIRTUAL TABLE events USING strata(user_id INTEGER, ts INTEGER, kind TEXT, "
       "PRIMARY KEY (user_id, ts))");
  struct Case {
    const char* sql;
    const char* plan;
  };
  const Case cases[] = {
      {"SELECT * FROM users WHERE id = 1", "SCAN users VIRTUAL TABLE INDEX point(id=?)"},
      {"SELECT * FROM users WHERE id IN (1, 2, 3)", "SCAN users VIRTUAL TABLE INDEX in(id)"},
      {"SELECT * FROM users WHERE id >= 10 AND id < 20",
       "SCAN users VIRTUAL TABLE INDEX range(id>=?,id<?)"},
      {"SELECT * FROM users ORDER BY id DESC", "SCAN users VIRTUAL TABLE INDEX scan desc"},
      {"SELECT * FROM users", "SCAN users VIRTUAL TABLE INDEX scan"},
      {"SELECT * FROM events WHERE user_id = 7 AND ts = 3",
       "SCAN events VIRTUAL TABLE INDEX point(user_id=?,ts=?)"},
      {"SELECT * FROM events WHERE user_id = 7 AND ts BETWEEN 100 AND 200 ORDER BY ts DESC",
       "SCAN events VIRTUAL TABLE INDEX prefix(user_id=?) range(ts>=?,ts<=?) desc"},
      {"SELECT * FROM events WHERE user_id = 7",
       "SCAN events VIRTUAL TABLE INDEX prefix(user_id=?)"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(QueryPlan(*db, c.sql), std::vector<std::string>{c.plan}) << c.sql;
  }
  // A filter on a non-key column is left to SQLite: a scan.
  EXPECT_EQ(QueryPlan(*db, "SELECT * FROM users WHERE name = 'ada'"),
            std::vector<std::string>{"SCAN users VIRTUAL TABLE INDEX scan"});
}

TEST_F(SqlExtensionTest, InsertReturningReturnsTheRowsAsAnOrdinaryTableDoes) {
  auto strata = Connect(":memory:");
  auto plain = Connect(":memory:");
  Must(*strata, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT, n REAL)");
  Must(*plain, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, n REAL) WITHOUT ROWID");
  const char* sql =
      "INSERT INTO t VALUES ('5', 7, '1'), (6, 'x', 2) RETURNING k, typeof(k), v, typeof(v), n";
  SqlRows got = Must(*strata, sql);
  EXPECT_EQ(got, Must(*plain, sql));
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(Must(*strata, "SELECT * FROM t"), Must(*plain, "SELECT * FROM t"));
  // SQLite itself refuses UPDATE/DELETE ... RETURNING and UPSERT on virtual tables.
  EXPECT_EQ(strata->Run("UPDATE t SET v = 'y' WHERE k = 5 RETURNING *").message,
            "UPDATE RETURNING is not available on virtual tables");
  EXPECT_EQ(strata->Run("DELETE FROM t WHERE k = 5 RETURNING *").message,
            "DELETE RETURNING is not available on virtual tables");
  EXPECT_EQ(strata->Run("INSERT INTO t VALUES (5, 'z', 0) ON CONFLICT(k) DO NOTHING").code,
            SQLITE_ERROR);
  EXPECT_EQ(Keys(*strata), "5,6");
}

TEST_F(SqlExtensionTest, JoinsWithOrdinaryTablesMatchAndProbeTheStrataTableByKey) {
  auto db = Connect(":memory:");
  Must(*db, "CREATE VIRTUAL TABLE users USING strata(id INTEGER PRIMARY KEY, name TEXT)");
  Must(*db, "CREATE TABLE users_plain(id INTEGER PRIMARY KEY, name TEXT) WITHOUT ROWID");
  Must(*db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER, amount INTEGER)");
  Must(*db,
       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) "
       "INSERT INTO users SELECT x, 'user' || x FROM c");
  Must(*db, "INSERT INTO users_plain SELECT * FROM users");
  Must(*db,
       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) "
       "INSERT INTO orders SELECT x, (x * 37) % 2100, x % 13 FROM c");
  const char* join =
      "SELECT u.name, count(*), sum(o.amount) FROM orders o JOIN $U u ON u.id = o.user_id "
      "GROUP BY u.name ORDER BY u.name";
  SqlRows got = Must(*db, WithTable(join, "$U", "users"));
  EXPECT_EQ(got, Must(*db, WithTable(join, "$U", "users_plain")));
  EXPECT_GT(got.size(), 200u);
  const char* left =
      "SELECT o.id, u.name FROM orders o LEFT JOIN $U u ON u.id = o.user_id ORDER BY o.id";
  EXPECT_EQ(Must(*db, WithTable(left, "$U", "users")),
            Must(*db, WithTable(left, "$U", "users_plain")));
  // The strata table is the inner loop, probed by key.
  std::vector<std::string> plan = QueryPlan(
      *db, "SELECT u.name FROM orders o JOIN users u ON u.id = o.user_id WHERE o.amount = 3");
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0], "SCAN o");
  EXPECT_EQ(plan[1], "SCAN u VIRTUAL TABLE INDEX point(id=?)");
}

// A small and a big strata table in one store, joined on their keys: the small one must
// be the outer loop (a few probes of the big one), whichever comes first in FROM, with
// the rows in the memtable, in a table file they share, or both. Estimating every table
// of the store at the store's size makes both look alike, and the FROM order decides.
TEST_F(SqlExtensionTest, JoinOfASmallAndABigTableInOneStoreScansTheSmallOne) {
  auto db = Connect(DbPath());
  Must(*db, "CREATE VIRTUAL TABLE small USING strata(id INTEGER PRIMARY KEY, label TEXT)");
  Must(*db, "CREATE VIRTUAL TABLE big USING strata(id INTEGER PRIMARY KEY, payload TEXT)");
  Must(*db,
       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
       "INSERT INTO big SELECT x, printf('%.100c', 'p') FROM c");
  Must(*db,
       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) "
       "INSERT INTO small SELECT x * 997, 'label' || x FROM c");
  const char* queries[] = {
      "SELECT s.label, b.payload FROM big b JOIN small s ON s.id = b.id",
      "SELECT s.label, b.payload FROM small s JOIN big b ON s.id = b.id",
  };
  auto check = [&](const char* when) {
    for (const char* query : queries) {
      SCOPED_TRACE(std::string(when) + ": " + query);
      std::vector<std::string> plan = QueryPlan(*db, query);
      ASSERT_EQ(plan.size(), 2u);
      EXPECT_EQ(plan[0], "SCAN s VIRTUAL TABLE INDEX scan");
      EXPECT_EQ(plan[1], "SCAN b VIRTUAL TABLE INDEX point(id=?)");
      EXPECT_EQ(Must(*db, std::string(query) + " ORDER BY s.id").size(), 20u);
    }
  };
  check("in the memtable");
  EXPECT_EQ(Scalar(*db, "SELECT strata_flush('big')"), "int:1");  // one table file for both
  check("in one table file");
  Must(*db, "INSERT INTO small VALUES (-1, 'not in big')");
  check("in a table file and the memtable");
}

TEST_F(SqlExtensionTest, UpdateOfKeyColumnsEndsLikeAnOrdinaryTable) {
  const char* statements[] = {
      "UPDATE t SET k = k + 100",  // every row moves past all others
      "UPDATE t SET k = k + 10",   // collides with a row not yet moved: UNIQUE error
      "UPDATE t SET k = -k",       // reverses the order
      "UPDATE t SET k = k * 2 WHERE k % 2 = 1",
      "UPDATE OR REPLACE t SET k = k + 1 WHERE k IN (4, 10, 20)",
      "UPDATE OR IGNORE t SET k = k + 1",
  };
  for (const char* statement : statements) {
    SCOPED_TRACE(statement);
    auto strata = Connect(":memory:");
    auto plain = Connect(":memory:");
    Must(*strata, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*plain, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID");
    for (SqliteDb* db : {strata.get(), plain.get()}) {
      Must(*db,
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30) "
           "INSERT INTO t SELECT x, 'v' || x FROM c");
    }
    SqlResult got = strata->Run(statement);
    SqlResult want = plain->Run(statement);
    EXPECT_EQ(got.code, want.code) << got.ToString() << " vs " << want.ToString();
    EXPECT_EQ(got.message, want.message);
    EXPECT_EQ(got.changes, want.changes);
    EXPECT_EQ(Must(*strata, "SELECT * FROM t"), Must(*plain, "SELECT * FROM t"));
  }
}

// Debian's SQLite (and better-sqlite3's) has SQLITE_ENABLE_UPDATE_DELETE_LIMIT, which
// turns `DELETE ... LIMIT n` into `DELETE ... WHERE _strata_key IN (SELECT _strata_key
// ... LIMIT n)` on a strata table.
TEST_F(SqlExtensionTest, DeleteAndUpdateWithLimitTouchOnlyThatManyRowsLikeAnOrdinaryTable) {
  const char* statements[] = {
      "DELETE FROM t WHERE k > 10 LIMIT 3",
      "DELETE FROM t WHERE j = 'b' ORDER BY k DESC LIMIT 2 OFFSET 1",
      "UPDATE t SET v = 'changed' WHERE k % 3 = 0 ORDER BY k DESC, j LIMIT 4",
      "UPDATE t SET k = k + 100 WHERE j = 'a' LIMIT 2",
  };
  for (const char* statement : statements) {
    SCOPED_TRACE(statement);
    auto strata = Connect(":memory:");
    auto plain = Connect(":memory:");
    Must(*strata, "CREATE VIRTUAL TABLE t USING strata(k INTEGER, j TEXT, v, PRIMARY KEY (k, j))");
    Must(*plain, "CREATE TABLE t(k INTEGER, j TEXT, v, PRIMARY KEY (k, j)) WITHOUT ROWID");
    for (SqliteDb* db : {strata.get(), plain.get()}) {
      Must(*db,
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) "
           "INSERT INTO t SELECT x, j, 'v' || x || j FROM c, (SELECT 'a' AS j UNION SELECT 'b')");
    }
    SqlResult got = strata->Run(statement);
    SqlResult want = plain->Run(statement);
    EXPECT_EQ(got.code, want.code) << got.ToString() << " vs " << want.ToString();
    EXPECT_EQ(got.changes, want.changes);
    EXPECT_EQ(Must(*strata, "SELECT * FROM t"), Must(*plain, "SELECT * FROM t"));
  }
}

TEST_F(SqlExtensionTest, InListOnTheHiddenKeyColumnReturnsOnlyTheListedRows) {
  auto db = Connect(":memory:");
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER, j TEXT, PRIMARY KEY (k, j))");
  Must(*db, "INSERT INTO t VALUES (1, 'a'), (2, 'a'), (2, 'b'), (3, 'a'), (4, 'a')");
  const std::string keys_of_2_and_4 = "SELECT _strata_key FROM t WHERE k IN (2, 4)";
  EXPECT_EQ(Must(*db, "SELECT k, j FROM t WHERE _strata_key IN (" + keys_of_2_and_4 + ")"),
            (SqlRows{{"int:2", "text:'a'"}, {"int:2", "text:'b'"}, {"int:4", "text:'a'"}}));
  EXPECT_EQ(Must(*db, "SELECT k, j FROM t WHERE _strata_key IN (" + keys_of_2_and_4 +
                          " UNION ALL SELECT 7 UNION ALL SELECT NULL) ORDER BY _strata_key DESC"),
            (SqlRows{{"int:4", "text:'a'"}, {"int:2", "text:'b'"}, {"int:2", "text:'a'"}}));
  EXPECT_EQ(Must(*db, "SELECT k FROM t WHERE _strata_key IN (1, 'a', x'00')"), SqlRows{});
  EXPECT_EQ(QueryPlan(*db, "SELECT k FROM t WHERE _strata_key IN (x'01', x'02')"),
            std::vector<std::string>{"SCAN t VIRTUAL TABLE INDEX in(_strata_key)"});
}

// ---------------------------------------------------------------------------------
// Atomic commit across strata and ordinary tables.

TEST_F(SqlExtensionTest, CommitVetoedByTheCommitHookKeepsNeitherTablesWrites) {
  {
    auto db = Connect(DbPath());
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db, "CREATE VIRTUAL TABLE t2 USING strata(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db, "CREATE TABLE o(k INTEGER PRIMARY KEY, v TEXT)");
    Must(*db,
         "BEGIN; INSERT INTO t VALUES (1, 'kept'); INSERT INTO t2 VALUES (1, 'kept'); "
         "INSERT INTO o VALUES (1, 'kept'); COMMIT");
    // SQLite calls the commit hook after every virtual table's xSync, that is after
    // strata wrote the transaction durably: a veto must still discard it.
    bool veto = true;
    sqlite3_commit_hook(
        db->get(), [](void* arg) { return *static_cast<bool*>(arg) ? 1 : 0; }, &veto);
    SqlResult r = db->Run(
        "BEGIN; INSERT INTO t VALUES (2, 'vetoed'); "
        "INSERT INTO t2 VALUES (2, 'vetoed'); INSERT INTO o VALUES (2, 'vetoed'); "
        "COMMIT");
    EXPECT_EQ(r.code, SQLITE_CONSTRAINT_COMMITHOOK) << r.ToString();
    EXPECT_TRUE(db->autocommit());
    EXPECT_EQ(Keys(*db, "t"), "1");
    EXPECT_EQ(Keys(*db, "t2"), "1");
    EXPECT_EQ(Keys(*db, "o"), "1");
    // A vetoed strata-only autocommit statement too.
    r = db->Run("INSERT INTO t VALUES (3, 'vetoed')");
    EXPECT_EQ(r.code, SQLITE_CONSTRAINT_COMMITHOOK) << r.ToString();
    EXPECT_EQ(Keys(*db, "t"), "1");
    veto = false;
    Must(*db,
         "BEGIN; INSERT INTO t VALUES (4, 'ok'); INSERT INTO t2 VALUES (4, 'ok'); "
         "INSERT INTO o VALUES (4, 'ok'); COMMIT");
  }
  auto db = Connect(DbPath());
  EXPECT_EQ(Keys(*db, "t"), "1,4");
  EXPECT_EQ(Keys(*db, "t2"), "1,4");
  EXPECT_EQ(Keys(*db, "o"), "1,4");
}

TEST_F(SqlExtensionTest, CommitRefusedByADeferredForeignKeyCommitsNothingUntilFixed) {
  auto db = Connect(DbPath());
  Must(*db, "PRAGMA foreign_keys = ON");
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v TEXT)");
  Must(*db, "CREATE TABLE parent(id INTEGER PRIMARY KEY)");
  Must(*db,
       "CREATE TABLE child(id INTEGER PRIMARY KEY, "
       "parent_id REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
  auto other = Connect(DbPath());
  Must(*db, "BEGIN; INSERT INTO t VALUES (1, 'a'); INSERT INTO child VALUES (1, 99)");
  SqlResult r = db->Run("COMMIT");
  EXPECT_EQ(r.code, SQLITE_CONSTRAINT_FOREIGNKEY) << r.ToString();
  EXPECT_FALSE(db->autocommit());  // still open, as for ordinary tables
  EXPECT_EQ(Keys(*other, "t"), "");
  EXPECT_EQ(Keys(*db, "t"), "1");
  // Fixing the violation lets the same transaction commit, strata writes included.
  Must(*db, "INSERT INTO parent VALUES (99); COMMIT");
  EXPECT_EQ(Keys(*other, "t"), "1");
  // Or the transaction is rolled back, with its strata writes.
  Must(*db, "BEGIN; INSERT INTO t VALUES (2, 'b'); INSERT INTO child VALUES (2, 98)");
  EXPECT_EQ(db->Run("COMMIT").code, SQLITE_CONSTRAINT_FOREIGNKEY);
  Must(*db, "ROLLBACK");
  EXPECT_EQ(Keys(*db, "t"), "1");
  EXPECT_EQ(Keys(*other, "t"), "1");
  Must(*db, "INSERT INTO t VALUES (3, 'c')");
  EXPECT_EQ(Keys(*other, "t"), "1,3");
}

}  // namespace
}  // namespace strata
