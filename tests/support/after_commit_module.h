// A virtual table module for tests that must act at one moment of a commit: after
// SQLite has committed the database files and released their locks, and before it
// calls the xCommit of the other virtual tables the transaction wrote. SQLite calls
// xCommit in the order the tables joined the transaction, so a transaction that writes
// a table of this module first runs the hook before the others' xCommit, as another
// thread could run between SQLite's commit and theirs:
//
//   test::AfterCommitHook hook;
//   ASSERT_EQ(test::RegisterAfterCommitModule(db.get(), &hook), SQLITE_OK);
//   db.Run("CREATE VIRTUAL TABLE temp.after_commit USING after_commit");
//   hook.action = [&] { other.Run("DROP TABLE t"); };
//   db.Run("BEGIN; INSERT INTO after_commit VALUES (1); INSERT INTO t VALUES (1); COMMIT");
//
// Its tables have one column, hold no rows and accept (and forget) every write.
#pragma once

#include <sqlite3.h>

#include <functional>

namespace strata::test {

struct AfterCommitHook {
  std::function<void()> action;  // run by each xCommit of a table of the module
  int commits = 0;               // how many xCommit calls ran it
};

// Registers the module "after_commit" on db; `hook` must outlive its tables. Returns
// the SQLite code.
int RegisterAfterCommitModule(sqlite3* db, AfterCommitHook* hook);

}  // namespace strata::test
