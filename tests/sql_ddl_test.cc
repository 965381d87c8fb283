// CREATE VIRTUAL TABLE, DROP TABLE and ALTER TABLE ... RENAME of strata tables against
// everything that can undo them: ROLLBACK and ROLLBACK TO inside a transaction, a
// commit hook's veto of an autocommit statement, and a crash between the store's
// change and the database's commit. After each, the strata table must be where an
// ordinary table would be: present with its rows, or gone; also after reopening.
//
// SQLite calls no virtual-table method when a DROP or RENAME commits or rolls back, so
// the extension refuses these statements inside an explicit transaction and ties the
// autocommit ones to the database's commit (sqlite_vtab.cc, "Schema changes").
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "extension/store.h"
#include "tests/support/after_commit_module.h"
#include "tests/support/sqlite_harness.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

using test::SqliteDb;
using test::SqlResult;
using test::SqlRows;

using test::Must;

// test::Connect without fsyncs of the database file: these tests cut no power.
std::unique_ptr<SqliteDb> Connect(const std::string& path) {
  auto db = test::Connect(path);
  if (db->is_open()) db->Run("PRAGMA synchronous = OFF");
  return db;
}

// What a table looks like from SQL: its rows, or the error reading it gives (for a
// strata table that SQLite has but the store lost, "not in the store").
std::string Contents(const SqliteDb& db, const std::string& table) {
  SqlResult r = db.Run("SELECT * FROM " + table + " ORDER BY 1");
  if (!r.ok()) {
    std::string message = r.message;
    // "no such table: t" is what an ordinary table gives too.
    return message.rfind("no such table", 0) == 0 ? "no such table" : "error: " + message;
  }
  std::string rows;
  for (const auto& row : r.rows) {
    for (const auto& cell : row) rows += cell + " ";
    rows += "| ";
  }
  return rows;
}

// The names of the tables (user tables only) of the database, sorted.
std::string TableNames(const SqliteDb& db) {
  std::string names;
  for (const auto& row : Must(db,
                              "SELECT name FROM sqlite_schema WHERE type = 'table' AND name "
                              "NOT LIKE 'strata%' ORDER BY name")) {
    names += row[0] + " ";
  }
  return names;
}

// A statement that changes the schema, in its strata and ordinary spellings. Each works
// on a database holding table t (k, v) with rows 1 and 2.
struct Ddl {
  const char* name;
  const char* strata;
  const char* ordinary;
  const char* refusal;  // the start of the statement named in the refusal ("" if none)
};
const Ddl kDdls[] = {
    {"drop", "DROP TABLE t", "DROP TABLE t", ""},
    {"rename", "ALTER TABLE t RENAME TO u", "ALTER TABLE t RENAME TO u",
     "ALTER TABLE ... RENAME inside a transaction is not supported"},
    {"create", "CREATE VIRTUAL TABLE n USING strata(k INTEGER PRIMARY KEY, v)",
     "CREATE TABLE n(k INTEGER PRIMARY KEY, v)",
     "CREATE VIRTUAL TABLE inside a transaction is not supported"},
};

class SqlDdlTest : public ::testing::Test {
 protected:
  // Two databases, one with strata table t and one with the same ordinary table.
  void CreateBoth() {
    strata_ = Connect(dir_.Join("strata.db"));
    ordinary_ = Connect(dir_.Join("ordinary.db"));
    // Durability is not what these tests are about: no fsync keeps them fast.
    Must(*strata_, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v, sync=off)");
    Must(*ordinary_, "CREATE TABLE t(k INTEGER PRIMARY KEY, v)");
    for (SqliteDb* db : {strata_.get(), ordinary_.get()}) {
      Must(*db, "INSERT INTO t VALUES (1, 'one'), (2, 'two')");
    }
  }

  void Reopen() {
    strata_.reset();
    ordinary_.reset();
    strata_ = Connect(dir_.Join("strata.db"));
    ordinary_ = Connect(dir_.Join("ordinary.db"));
  }

  // The strata database shows the same tables and rows as the ordinary one.
  void ExpectSameAsOrdinary(const std::string& when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(TableNames(*strata_), TableNames(*ordinary_));
    for (const char* table : {"t", "u", "n"}) {
      EXPECT_EQ(Contents(*strata_, table), Contents(*ordinary_, table)) << table;
    }
    // Every table is writable again (no writer slot or store state left behind).
    for (const char* table : {"t", "u", "n"}) {
      std::string insert = std::string("INSERT INTO ") + table + " VALUES (3, 'three')";
      SqlResult got = strata_->Run(insert);
      SqlResult want = ordinary_->Run(insert);
      EXPECT_EQ(got.ok(), want.ok())
          << insert << ": " << got.ToString() << " vs " << want.ToString();
      EXPECT_EQ(Contents(*strata_, table), Contents(*ordinary_, table)) << table;
      if (got.ok()) Must(*strata_, std::string("DELETE FROM ") + table + " WHERE k = 3");
      if (want.ok()) Must(*ordinary_, std::string("DELETE FROM ") + table + " WHERE k = 3");
    }
  }

  test::TempDir dir_{"sql-ddl"};
  std::unique_ptr<SqliteDb> strata_;
  std::unique_ptr<SqliteDb> ordinary_;
};

// ---------------------------------------------------------------------------------
// Inside a transaction: refused, and the transaction goes on as if it had not been
// tried. Whatever the transaction does next (roll back, roll back to a savepoint,
// commit), the strata table ends where the ordinary table ends when its own DDL is
// rolled back with it.

TEST_F(SqlDdlTest, DdlInsideATransactionIsRefusedAndTheTableEndsLikeAnOrdinaryRolledBackOne) {
  struct Frame {
    const char* begin;
    const char* end;  // undoes the DDL on the ordinary table
  };
  const Frame frames[] = {
      {"BEGIN", "ROLLBACK"},
      {"SAVEPOINT sp", "ROLLBACK TO sp; RELEASE sp"},
      {"BEGIN; INSERT INTO t VALUES (5, 'five'); SAVEPOINT sp", "ROLLBACK TO sp; COMMIT"},
  };
  for (const Ddl& ddl : kDdls) {
    for (const Frame& frame : frames) {
      SCOPED_TRACE(std::string(ddl.name) + " in " + frame.begin + " ... " + frame.end);
      CreateBoth();
      Must(*strata_, frame.begin);
      Must(*ordinary_, frame.begin);
      SqlResult refused = strata_->Run(ddl.strata);
      Must(*ordinary_, ddl.ordinary);
      EXPECT_EQ(refused.code, SQLITE_ERROR) << refused.ToString();
      if (ddl.refusal[0] != '\0') {
        EXPECT_NE(refused.message.find(ddl.refusal), std::string::npos) << refused.message;
        EXPECT_NE(refused.message.find("run it outside a transaction"), std::string::npos)
            << refused.message;
      }
      EXPECT_FALSE(strata_->autocommit());  // the transaction is still open
      Must(*strata_, frame.end);
      Must(*ordinary_, frame.end);
      EXPECT_TRUE(strata_->autocommit());
      ExpectSameAsOrdinary("after " + std::string(frame.end));
      Reopen();
      ExpectSameAsOrdinary("after reopening");
      strata_.reset();
      ordinary_.reset();
      std::filesystem::remove_all(dir_.Join("strata.db-strata"));
      std::filesystem::remove(dir_.Join("strata.db"));
      std::filesystem::remove(dir_.Join("ordinary.db"));
    }
  }
}

// The refused statement leaves the transaction usable: it can still write the table
// and commit.
TEST_F(SqlDdlTest, TransactionGoesOnAfterARefusedDdl) {
  CreateBoth();
  Must(*strata_, "BEGIN; INSERT INTO t VALUES (3, 'three')");
  for (const Ddl& ddl : kDdls) {
    EXPECT_EQ(strata_->Run(ddl.strata).code, SQLITE_ERROR) << ddl.name;
  }
  Must(*strata_, "INSERT INTO t VALUES (4, 'four'); COMMIT");
  Must(*ordinary_, "INSERT INTO t VALUES (3, 'three'), (4, 'four')");
  ExpectSameAsOrdinary("after commit");
  Reopen();
  ExpectSameAsOrdinary("after reopening");
}

// ---------------------------------------------------------------------------------
// Autocommit: the statement is its own transaction, which a commit hook can still veto
// after the store saw the change.

TEST_F(SqlDdlTest, AutocommitDdlVetoedAtCommitLeavesTheTableLikeAnOrdinaryOne) {
  for (const Ddl& ddl : kDdls) {
    SCOPED_TRACE(ddl.name);
    CreateBoth();
    for (SqliteDb* db : {strata_.get(), ordinary_.get()}) {
      sqlite3_commit_hook(
          db->get(), [](void*) { return 1; }, nullptr);
    }
    SqlResult got = strata_->Run(ddl.strata);
    SqlResult want = ordinary_->Run(ddl.ordinary);
    EXPECT_EQ(got.code, SQLITE_CONSTRAINT_COMMITHOOK) << got.ToString();
    EXPECT_EQ(want.code, SQLITE_CONSTRAINT_COMMITHOOK) << want.ToString();
    for (SqliteDb* db : {strata_.get(), ordinary_.get()}) {
      sqlite3_commit_hook(db->get(), nullptr, nullptr);
    }
    ExpectSameAsOrdinary("after the veto");
    Reopen();
    ExpectSameAsOrdinary("after reopening");
    // The statement works when it is not vetoed, and leaves no trace of the vetoed try.
    Must(*strata_, ddl.strata);
    Must(*ordinary_, ddl.ordinary);
    ExpectSameAsOrdinary("after the statement committed");
    Reopen();
    ExpectSameAsOrdinary("after reopening again");
    strata_.reset();
    ordinary_.reset();
    std::filesystem::remove_all(dir_.Join("strata.db-strata"));
    std::filesystem::remove(dir_.Join("strata.db"));
    std::filesystem::remove(dir_.Join("ordinary.db"));
  }
}

// ---------------------------------------------------------------------------------
// The store's own view: a committed DROP deletes the table's rows and catalog entry, a
// committed RENAME leaves one name; both once the commit is known. Checked by opening
// the store directly after the database is closed.

// The catalog entries of the store at `path` ("name:id ...") and the number of row
// keys of table `id`.
void InspectStore(const std::string& path, uint32_t id, std::string* catalog, size_t* rows) {
  std::shared_ptr<sql::Store> store;
  Status s = sql::Store::Acquire(path, /*in_memory=*/false, sql::StoreOptions(), &store);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<sql::Store::TableEntry> entries;
  ASSERT_TRUE(store->ListTables(&entries).ok());
  catalog->clear();
  for (const auto& entry : entries) *catalog += entry.name + ":" + std::to_string(entry.id) + " ";
  const std::string prefix = sql::Store::TableKeyPrefix(id);
  std::unique_ptr<Iterator> it = store->db()->NewIterator(ReadOptions());
  *rows = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++*rows;
}

TEST_F(SqlDdlTest, CommittedDropDeletesTheRowsAndCommittedRenameKeepsOneName) {
  const std::string db_path = dir_.Join("store.db");
  const std::string store_path = db_path + "-strata";
  {
    auto db = Connect(db_path);
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");  // id 1
    Must(*db, "CREATE VIRTUAL TABLE r USING strata(k INTEGER PRIMARY KEY, v)");  // id 2
    Must(*db,
         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) "
         "INSERT INTO t SELECT x, 'row' FROM c");
    Must(*db, "SELECT strata_flush('t')");
    Must(*db, "INSERT INTO t VALUES (1000, 'in the memtable'); INSERT INTO r VALUES (1, 'r')");
  }
  std::string catalog;
  size_t rows = 0;
  InspectStore(store_path, 1, &catalog, &rows);
  EXPECT_EQ(catalog, "r:2 t:1 ");
  EXPECT_EQ(rows, 501u);
  {
    auto db = Connect(db_path);
    Must(*db, "DROP TABLE t");
    Must(*db, "ALTER TABLE r RENAME TO renamed");
    EXPECT_EQ(Must(*db, "SELECT * FROM renamed"), (SqlRows{{"int:1", "text:'r'"}}));
    // The next writing transaction finds the commits and applies them.
    Must(*db, "INSERT INTO renamed VALUES (2, 'after')");
  }
  InspectStore(store_path, 1, &catalog, &rows);
  EXPECT_EQ(catalog, "renamed:2 ");
  EXPECT_EQ(rows, 0u);
  {
    // Without a later write, reopening the store applies them.
    auto db = Connect(db_path);
    Must(*db, "ALTER TABLE renamed RENAME TO again");
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");  // id 3
    Must(*db, "INSERT INTO t VALUES (7, 'new t')");
    Must(*db, "DROP TABLE t");
  }
  {
    auto db = Connect(db_path);
    EXPECT_EQ(Must(*db, "SELECT k FROM again"), (SqlRows{{"int:1"}, {"int:2"}}));
  }
  InspectStore(store_path, 3, &catalog, &rows);
  EXPECT_EQ(catalog, "again:2 ");
  EXPECT_EQ(rows, 0u);
}

// ---------------------------------------------------------------------------------
// A crash between the store's change and the database's commit: the commit hook runs
// after the store saw the statement and before the database commits, and kills the
// process there. The child is forked while this process has no store open.

// Runs `sql` in a child process on the database at `path`, killed by SIGKILL at the
// moment the database would commit it.
void RunAndCrashBeforeCommit(const std::string& path, const std::string& sql) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SqliteDb db;
    std::string error;
    if (!db.Open(path, &error) || !test::LoadStrata(&db, &error)) _exit(2);
    sqlite3_commit_hook(
        db.get(),
        [](void*) {
          kill(getpid(), SIGKILL);
          return 0;
        },
        nullptr);
    db.Run(sql);
    _exit(3);  // the hook did not run
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
}

TEST_F(SqlDdlTest, CrashBetweenTheStoreChangeAndTheDatabaseCommitLeavesTheTableAsBefore) {
  for (const Ddl& ddl : kDdls) {
    SCOPED_TRACE(ddl.name);
    CreateBoth();
    strata_.reset();  // no store open in this process while the child runs
    RunAndCrashBeforeCommit(dir_.Join("strata.db"), ddl.strata);
    Reopen();
    ExpectSameAsOrdinary("after the crash");
    Must(*strata_, ddl.strata);
    Must(*ordinary_, ddl.ordinary);
    ExpectSameAsOrdinary("after the statement committed");
    Reopen();
    ExpectSameAsOrdinary("after reopening");
    strata_.reset();
    ordinary_.reset();
    std::filesystem::remove_all(dir_.Join("strata.db-strata"));
    std::filesystem::remove(dir_.Join("strata.db"));
    std::filesystem::remove(dir_.Join("ordinary.db"));
  }
}

// ---------------------------------------------------------------------------------
// Two connections to one database. SQLite lets one connection write at a time, and a
// schema change is a write: it waits (up to the busy timeout) for a transaction of
// another connection that has written, then fails with SQLITE_BUSY, as it does for
// ordinary tables. So no other connection has uncommitted writes to a table being
// dropped or renamed, or writes the commit log between a schema change's commit and
// the application of its pending transaction (the first write of the next transaction
// applies it). The store must keep that order, and be left with nothing of a dropped
// table.

const char* const kSchemaChangesOfT[] = {
    "DROP TABLE t",
    "ALTER TABLE t RENAME TO u",
    "CREATE VIRTUAL TABLE n USING strata(k INTEGER PRIMARY KEY, v)",
};

TEST_F(SqlDdlTest, SchemaChangeWaitsForAnotherConnectionsOpenWriteTransaction) {
  for (const char* journal_mode : {"DELETE", "WAL"}) {
    SCOPED_TRACE(journal_mode);
    const std::string db_path = dir_.Join(std::string(journal_mode) + ".db");
    {
      auto x = Connect(db_path);
      auto y = Connect(db_path);
      Must(*x, std::string("PRAGMA journal_mode = ") + journal_mode);
      // Ids 1 and 2.
      Must(*x, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v, sync=off)");
      Must(*x, "CREATE VIRTUAL TABLE w USING strata(k INTEGER PRIMARY KEY, v)");
      Must(*x, "INSERT INTO t VALUES (1, 'one')");
      Must(*x, "BEGIN; INSERT INTO t VALUES (2, 'two'); INSERT INTO w VALUES (1, 'w')");
      for (const char* sql : kSchemaChangesOfT) {
        EXPECT_EQ(y->Run(sql).code, SQLITE_BUSY) << sql;
      }
      Must(*x, "COMMIT");
      EXPECT_EQ(Must(*y, "SELECT k FROM t"), (SqlRows{{"int:1"}, {"int:2"}}));
      Must(*y, "DROP TABLE t");
      Must(*y, "ALTER TABLE w RENAME TO u");
      Must(*x, "INSERT INTO u VALUES (2, 'applies the rename')");
      EXPECT_EQ(Contents(*x, "t"), "no such table");
    }
    std::string catalog;
    size_t rows = 0;
    InspectStore(db_path + "-strata", 1, &catalog, &rows);
    EXPECT_EQ(catalog, "u:2 ");
    EXPECT_EQ(rows, 0u);
  }
}

// The one moment SQLite's lock leaves open: SQLite commits the database and releases
// its lock before it calls the virtual tables' xCommit, so another thread can run a
// schema change on its connection between a transaction's commit and the store's
// xCommit, whose pending record the database has committed but the store not applied.
// The schema change must wait for that xCommit, as for an open transaction (here, on
// the same thread, it cannot: it fails with SQLITE_BUSY). Resolving the record itself
// instead, a DROP would have the xCommit write the rows again after their deletion,
// leaving them in the store under the dropped table's id.
TEST_F(SqlDdlTest, SchemaChangeBetweenAnotherConnectionsCommitAndItsXCommitWaitsForIt) {
  const std::string db_path = dir_.Join("window.db");
  {
    auto x = Connect(db_path);
    auto y = Connect(db_path);
    test::AfterCommitHook hook;
    ASSERT_EQ(test::RegisterAfterCommitModule(x->get(), &hook), SQLITE_OK);
    Must(*x, "CREATE VIRTUAL TABLE temp.after_commit USING after_commit");
    Must(*x, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v, sync=off)");  // id 1
    Must(*x, "INSERT INTO t VALUES (1, 'one')");
    std::vector<SqlResult> during;
    hook.action = [&] {
      for (const char* sql : kSchemaChangesOfT) during.push_back(y->Run(sql));
    };
    Must(*x, "BEGIN; INSERT INTO after_commit VALUES (1); INSERT INTO t VALUES (2, 'two'); COMMIT");
    hook.action = nullptr;
    ASSERT_EQ(hook.commits, 1);
    ASSERT_EQ(during.size(), 3u);
    for (const SqlResult& r : during) EXPECT_EQ(r.code, SQLITE_BUSY) << r.ToString();
    EXPECT_EQ(Must(*y, "SELECT k FROM t"), (SqlRows{{"int:1"}, {"int:2"}}));
    Must(*y, "DROP TABLE t");
    Must(*y, "CREATE VIRTUAL TABLE n USING strata(k INTEGER PRIMARY KEY, v)");  // id 2
    EXPECT_EQ(Contents(*x, "n"), "");
  }
  std::string catalog;
  size_t rows = 0;
  InspectStore(db_path + "-strata", 1, &catalog, &rows);
  EXPECT_EQ(catalog, "n:2 ");
  EXPECT_EQ(rows, 0u);
}

// Recovery asks the commit log which pending transaction the database committed. When
// it cannot read the log (here another connection holds the database's exclusive lock
// while a statement connects the table, its schema already loaded), it must fail and be
// tried again, never take the unreadable log for "nothing committed" and discard a
// committed transaction.
TEST_F(SqlDdlTest, RecoveryThatCannotReadTheCommitLogKeepsTheCommittedTransaction) {
  const std::string db_path = dir_.Join("recovery.db");
  {
    auto db = Connect(db_path);
    Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
  }
  // A child commits a transaction and dies after the database committed it and before
  // the store applied it: the store keeps its pending record for recovery.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SqliteDb db;
    std::string error;
    if (!db.Open(db_path, &error) || !test::LoadStrata(&db, &error)) _exit(2);
    test::AfterCommitHook hook;
    if (test::RegisterAfterCommitModule(db.get(), &hook) != SQLITE_OK) _exit(2);
    if (!db.Run("CREATE VIRTUAL TABLE temp.after_commit USING after_commit").ok()) _exit(2);
    hook.action = [] { kill(getpid(), SIGKILL); };
    db.Run(
        "BEGIN; INSERT INTO after_commit VALUES (1); INSERT INTO t VALUES (1, 'committed'); "
        "COMMIT");
    _exit(3);  // the hook did not run
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  auto locker = Connect(db_path);
  auto reader = Connect(db_path);
  Must(*reader, "SELECT count(*) FROM sqlite_schema");  // loads the schema
  Must(*locker, "BEGIN EXCLUSIVE");
  EXPECT_EQ(reader->Run("SELECT * FROM t").code, SQLITE_BUSY);
  Must(*locker, "COMMIT");
  EXPECT_EQ(Must(*reader, "SELECT * FROM t"), (SqlRows{{"int:1", "text:'committed'"}}));
  reader.reset();
  locker.reset();
  auto db = Connect(db_path);
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), (SqlRows{{"int:1", "text:'committed'"}}));
}

// In-memory databases get the same guarantees against a vetoed commit.
TEST_F(SqlDdlTest, InMemoryDatabaseKeepsItsTableWhenADropIsVetoed) {
  auto db = Connect(":memory:");
  Must(*db, "CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
  Must(*db, "INSERT INTO t VALUES (1, 'one')");
  sqlite3_commit_hook(
      db->get(), [](void*) { return 1; }, nullptr);
  EXPECT_EQ(db->Run("DROP TABLE t").code, SQLITE_CONSTRAINT_COMMITHOOK);
  EXPECT_EQ(db->Run("ALTER TABLE t RENAME TO u").code, SQLITE_CONSTRAINT_COMMITHOOK);
  sqlite3_commit_hook(db->get(), nullptr, nullptr);
  EXPECT_EQ(Must(*db, "SELECT * FROM t"), (SqlRows{{"int:1", "text:'one'"}}));
  Must(*db, "INSERT INTO t VALUES (2, 'two')");
  Must(*db, "ALTER TABLE t RENAME TO u");
  EXPECT_EQ(Must(*db, "SELECT k FROM u"), (SqlRows{{"int:1"}, {"int:2"}}));
  Must(*db, "DROP TABLE u");
  Must(*db, "CREATE VIRTUAL TABLE u USING strata(k INTEGER PRIMARY KEY, v)");
  EXPECT_EQ(Must(*db, "SELECT count(*) FROM u"), (SqlRows{{"int:0"}}));
}

}  // namespace
}  // namespace strata
