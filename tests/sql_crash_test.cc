// The commit protocol across crashes: one SQLite transaction that writes strata tables
// and an ordinary table commits atomically across both, and a COMMIT that returned is
// durable, however the process dies.
//
// A child process runs numbered transactions; each one inserts row i into two strata
// tables of the database's default store (one atomic batch), into a strata table of a
// second store (dir=: its own batch, transaction ids and commit log) and into an
// ordinary table, and increments a counter row in a strata table and in an ordinary
// table. After each COMMIT returns it
// reports i through a pipe. The parent SIGKILLs it at a random moment, reopens the
// database (which runs the extension's recovery) and checks:
//   - every acknowledged transaction is in every table;
//   - each table holds exactly transactions 1..n for one n (they ran one after the
//     other), with n at most one more than the last acknowledged transaction;
//   - both counters equal n: a transaction is in all tables or in none.
// Then the next round continues the same database. Rounds run in rollback-journal and
// WAL mode, with sync=full and PRAGMA synchronous=FULL.
//
// Random kills reach the commit protocol's windows only by chance, so the same child
// also dies at exact steps of the commit of its last transaction (KillAtStep tests):
//   after xSync:        every xSync wrote its pending record (one per store); the main
//                       database has not
//                       committed (SQLite's commit hook runs in between): recovery must
//                       discard the record;
//   after main commit:  the main database's commit is durable and no xCommit has run (a
//                       VFS shim dies when the database file is told
//                       SQLITE_FCNTL_COMMIT_PHASETWO, which SQLite sends right before it
//                       calls the xCommits): recovery must apply both stores' records,
//                       also when the second store is opened and written first;
//   after xCommit:      COMMIT returned: xCommit applied the transaction from memory,
//                       unsynced, and deleted the record in the same write.
//
// The child is this test binary re-executed (fork + exec of /proc/self/exe) with
// STRATA_SQL_CRASH_CHILD set, which a static initializer turns into the workload
// before gtest starts. Re-executing, not just forking, gives the child a fresh copy
// of the extension (a forked child would inherit the parent's process-wide store
// registry).
//
// STRATA_SQL_CRASH_ROUNDS (default 12) and STRATA_SQL_CRASH_SEED (default fixed) tune it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "extension/store.h"
#include "tests/support/legacy_store.h"
#include "tests/support/sqlite_harness.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

constexpr const char* kChildVariable = "STRATA_SQL_CRASH_CHILD";
constexpr const char* kStepChildVariable = "STRATA_SQL_CRASH_STEP_CHILD";
constexpr int kChildAckFd = 100;  // the pipe's write end in the child

// Where the step child dies (see the file comment).
enum class KillStep { kAfterXSync, kAfterMainCommit, kAfterXCommit };

const char* KillStepName(KillStep step) {
  switch (step) {
    case KillStep::kAfterXSync:
      return "after-xsync";
    case KillStep::kAfterMainCommit:
      return "after-main-commit";
    case KillStep::kAfterXCommit:
      return "after-xcommit";
  }
  return "?";
}

// ---------------------------------------------------------------------------------
// The child.

[[noreturn]] void ChildFail(const std::string& what) {
  std::string line = "error: " + what + "\n";
  ssize_t ignored = write(kChildAckFd, line.data(), line.size());
  (void)ignored;
  _exit(1);
}

void ChildRun(const test::SqliteDb& db, const std::string& sql) {
  test::SqlResult r = db.Run(sql);
  if (!r.ok()) ChildFail(sql + ": " + r.ToString());
}

// The directory of the second store, beside the default one (`<database>-strata`).
std::string SecondStorePath(const std::string& database_path) { return database_path + "-far"; }

// Opens the database and creates the tables if missing.
void ChildSetup(test::SqliteDb* db, const std::string& journal_mode, const std::string& path) {
  std::string error;
  if (!db->Open(path, &error) || !test::LoadStrata(db, &error)) ChildFail(error);
  ChildRun(*db, "PRAGMA journal_mode=" + journal_mode);
  ChildRun(*db, "PRAGMA synchronous=FULL");
  ChildRun(*db,
           "CREATE VIRTUAL TABLE IF NOT EXISTS s1 USING strata(id INTEGER PRIMARY KEY, v TEXT, "
           "sync=full);"
           "CREATE VIRTUAL TABLE IF NOT EXISTS s2 USING strata(id INTEGER, part INTEGER, v BLOB, "
           "PRIMARY KEY (id, part));"
           "CREATE VIRTUAL TABLE IF NOT EXISTS s_counter USING strata(k INTEGER PRIMARY KEY, n);"
           "CREATE VIRTUAL TABLE IF NOT EXISTS s_far USING strata(id INTEGER PRIMARY KEY, v, "
           "dir='" + SecondStorePath(path) + "', sync=full);"
           "CREATE VIRTUAL TABLE IF NOT EXISTS far_notes USING strata(k INTEGER PRIMARY KEY, v, "
           "dir='" + SecondStorePath(path) + "');"
           "CREATE TABLE IF NOT EXISTS o(id INTEGER PRIMARY KEY, v TEXT);"
           "CREATE TABLE IF NOT EXISTS o_counter(k INTEGER PRIMARY KEY, n);"
           "INSERT OR IGNORE INTO s_counter VALUES (0, 0);"
           "INSERT OR IGNORE INTO o_counter VALUES (0, 0)");
}

// The id of the next transaction: one more than the last one present.
int64_t ChildNextId(const test::SqliteDb& db) {
  test::SqlResult last = db.Run("SELECT coalesce(max(id), 0) FROM o");
  if (!last.ok()) ChildFail(last.ToString());
  return std::stoll(last.rows[0][0].substr(4)) + 1;  // "int:N"
}

// The statements of transaction `id`, between its BEGIN and its COMMIT.
std::string TransactionBody(int64_t id) {
  std::string n = std::to_string(id);
  std::string payload = "'transaction " + n + " " + std::string(id % 200, 'x') + "'";
  std::string sql = "INSERT INTO s1 VALUES (" + n + ", " + payload + ");";
  sql += "INSERT INTO s2 VALUES (" + n + ", 1, randomblob(" + std::to_string(id % 300) + "));";
  sql += "INSERT INTO o VALUES (" + n + ", " + payload + ");";
  sql += "INSERT INTO s_far VALUES (" + n + ", " + payload + ");";
  sql += "UPDATE s_counter SET n = n + 1 WHERE k = 0;";
  sql += "UPDATE o_counter SET n = n + 1 WHERE k = 0;";
  return sql;
}

// Runs transactions until killed. `spec` is "<journal mode>:<database path>".
[[noreturn]] void RunChild(const std::string& spec) {
  size_t colon = spec.find(':');
  if (colon == std::string::npos) ChildFail("bad spec " + spec);
  test::SqliteDb db;
  ChildSetup(&db, spec.substr(0, colon), spec.substr(colon + 1));
  for (int64_t id = ChildNextId(db);; id++) {
    ChildRun(db, "BEGIN;" + TransactionBody(id) + "COMMIT");
    std::string ack = std::to_string(id) + "\n";
    if (write(kChildAckFd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) _exit(1);
    // Now and then move the store's memtable into an SSTable, so recovery meets
    // transactions in tables, in the log, and pending.
    if (id % 40 == 0) ChildRun(db, "SELECT strata_flush('s1')");
  }
}

// ---- The step child's kill points ----------------------------------------------------

std::atomic<bool> kill_in_commit_hook{false};
std::atomic<bool> kill_at_commit_phase_two{false};

int KillingCommitHook(void*) {
  if (kill_in_commit_hook) raise(SIGKILL);
  return 0;
}

// A VFS that passes everything to the default one, except that a main database file
// kills the process when SQLite tells it the commit is complete
// (SQLITE_FCNTL_COMMIT_PHASETWO), once kill_at_commit_phase_two is set.
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs killing_vfs;
sqlite3_io_methods killing_methods;

struct KillingFile {
  sqlite3_file base;
  sqlite3_file* real;  // the default VFS's file, allocated right after this struct
  bool main_db;
};

sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<KillingFile*>(file)->real; }

int KillingFileControl(sqlite3_file* file, int op, void* arg) {
  if (op == SQLITE_FCNTL_COMMIT_PHASETWO && reinterpret_cast<KillingFile*>(file)->main_db &&
      kill_at_commit_phase_two) {
    raise(SIGKILL);
  }
  return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}

int KillingOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
                int* out_flags) {
  auto* killing = reinterpret_cast<KillingFile*>(file);
  killing->real = reinterpret_cast<sqlite3_file*>(killing + 1);
  killing->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  int rc = real_vfs->xOpen(real_vfs, name, killing->real, flags, out_flags);
  killing->base.pMethods = killing->real->pMethods != nullptr ? &killing_methods : nullptr;
  return rc;
}

// Makes the killing VFS the default; only the child calls it, once.
void RegisterKillingVfs() {
  real_vfs = sqlite3_vfs_find(nullptr);
  killing_vfs = *real_vfs;
  killing_vfs.zName = "strata_crash_test";
  killing_vfs.szOsFile = static_cast<int>(sizeof(KillingFile)) + real_vfs->szOsFile;
  killing_vfs.xOpen = KillingOpen;
  killing_methods.iVersion = 3;
  killing_methods.xClose = [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); };
  killing_methods.xRead = [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
    return Real(f)->pMethods->xRead(Real(f), p, n, o);
  };
  killing_methods.xWrite = [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
    return Real(f)->pMethods->xWrite(Real(f), p, n, o);
  };
  killing_methods.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
    return Real(f)->pMethods->xTruncate(Real(f), size);
  };
  killing_methods.xSync = [](sqlite3_file* f, int flags) {
    return Real(f)->pMethods->xSync(Real(f), flags);
  };
  killing_methods.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
    return Real(f)->pMethods->xFileSize(Real(f), size);
  };
  killing_methods.xLock = [](sqlite3_file* f, int l) {
    return Real(f)->pMethods->xLock(Real(f), l);
  };
  killing_methods.xUnlock = [](sqlite3_file* f, int l) {
    return Real(f)->pMethods->xUnlock(Real(f), l);
  };
  killing_methods.xCheckReservedLock = [](sqlite3_file* f, int* out) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
  };
  killing_methods.xFileControl = KillingFileControl;
  killing_methods.xSectorSize = [](sqlite3_file* f) {
    return Real(f)->pMethods->xSectorSize(Real(f));
  };
  killing_methods.xDeviceCharacteristics = [](sqlite3_file* f) {
    return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
  };
  killing_methods.xShmMap = [](sqlite3_file* f, int region, int size, int extend,
                               void volatile** out) {
    return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
  };
  killing_methods.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
    return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
  };
  killing_methods.xShmBarrier = [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); };
  killing_methods.xShmUnmap = [](sqlite3_file* f, int remove) {
    return Real(f)->pMethods->xShmUnmap(Real(f), remove);
  };
  killing_methods.xFetch = [](sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
    return Real(f)->pMethods->xFetch(Real(f), offset, n, out);
  };
  killing_methods.xUnfetch = [](sqlite3_file* f, sqlite3_int64 offset, void* p) {
    return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
  };
  if (real_vfs->iVersion < 3 || sqlite3_vfs_register(&killing_vfs, /*makeDflt=*/1) != SQLITE_OK) {
    ChildFail("cannot register the killing VFS");
  }
}

// Commits `committed` transactions, then dies at `step` of the next one's commit.
// `spec` is "<kill step>:<committed>:<journal mode>:<database path>".
[[noreturn]] void RunStepChild(const std::string& spec) {
  size_t a = spec.find(':');
  size_t b = a == std::string::npos ? a : spec.find(':', a + 1);
  size_t c = b == std::string::npos ? b : spec.find(':', b + 1);
  if (c == std::string::npos) ChildFail("bad spec " + spec);
  const std::string step = spec.substr(0, a);
  const int64_t committed = std::stoll(spec.substr(a + 1, b - a - 1));
  RegisterKillingVfs();
  test::SqliteDb db;
  ChildSetup(&db, spec.substr(b + 1, c - b - 1), spec.substr(c + 1));
  sqlite3_commit_hook(db.get(), KillingCommitHook, nullptr);
  int64_t id = ChildNextId(db);
  for (int64_t i = 0; i < committed; i++, id++) {
    ChildRun(db, "BEGIN;" + TransactionBody(id) + "COMMIT");
  }
  ChildRun(db, "BEGIN;" + TransactionBody(id));
  kill_in_commit_hook = step == KillStepName(KillStep::kAfterXSync);
  kill_at_commit_phase_two = step == KillStepName(KillStep::kAfterMainCommit);
  ChildRun(db, "COMMIT");
  if (step == KillStepName(KillStep::kAfterXCommit)) raise(SIGKILL);
  ChildFail("the commit did not reach kill step " + step);
}

// Runs before gtest's main: in the child, the workload replaces the tests.
const bool kIsChild = [] {
  if (const char* spec = std::getenv(kStepChildVariable)) RunStepChild(spec);
  const char* spec = std::getenv(kChildVariable);
  if (spec == nullptr) return false;
  RunChild(spec);
}();

// ---------------------------------------------------------------------------------
// The parent.

uint32_t Seed() {
  const char* text = std::getenv("STRATA_SQL_CRASH_SEED");
  return text != nullptr ? static_cast<uint32_t>(std::strtoul(text, nullptr, 10)) : 20240611u;
}

int Rounds() {
  const char* text = std::getenv("STRATA_SQL_CRASH_ROUNDS");
  return text != nullptr ? std::atoi(text) : 12;
}

// Starts a child with environment variable `name` (kChildVariable or
// kStepChildVariable) set to `spec`; returns its pid and the read end of its ack pipe.
pid_t StartChild(const char* name, const std::string& spec, int* ack_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls.
  std::string variable = std::string(name) + "=" + spec;
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; e++) {
    std::string_view entry(*e);
    if (!entry.starts_with(std::string(kChildVariable) + "=") &&
        !entry.starts_with(std::string(kStepChildVariable) + "=")) {
      environment.push_back(*e);
    }
  }
  environment.push_back(variable);
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};

  pid_t pid = fork();
  if (pid == 0) {
    if (dup2(fds[1], kChildAckFd) < 0) _exit(126);  // dup2 clears O_CLOEXEC
    execve(self, argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return -1;
  }
  *ack_fd = fds[0];
  return pid;
}

// Reads acknowledgements until `count` arrived (or the child stopped); appends them.
// Returns false on an error line or unexpected end.
bool ReadAcks(FILE* in, int count, std::vector<int64_t>* acks, std::string* error) {
  char line[4096];
  for (int i = 0; i < count; i++) {
    if (fgets(line, sizeof(line), in) == nullptr) {
      *error = "child stopped without reporting";
      return false;
    }
    if (std::strncmp(line, "error: ", 7) == 0) {
      *error = line;
      return false;
    }
    acks->push_back(std::strtoll(line, nullptr, 10));
  }
  return true;
}

// How many pending transactions (written at xSync, not yet applied) the store holds:
// the kill landed between xSync and the end of xCommit. Reported so a run shows that
// the kills reach the commit protocol's windows.
size_t PendingTransactions(const std::string& store_path) {
  std::shared_ptr<sql::Store> store;
  Status s = sql::Store::Acquire(store_path, /*in_memory=*/false, sql::StoreOptions(), &store);
  std::vector<uint64_t> pending;
  if (s.ok()) s = store->ListPending(&pending);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return pending.size();
}

// "int:5" -> 5.
int64_t IntOf(const std::string& cell) { return std::stoll(cell.substr(4)); }

// Reopens the database and checks the invariants; returns n (the transactions present).
int64_t Verify(const std::string& path, int64_t last_ack) {
  std::unique_ptr<test::SqliteDb> connection = test::Connect(path);
  if (!connection->is_open()) return 0;
  const test::SqliteDb& db = *connection;
  auto ids = [&](const char* sql) {
    test::SqlResult r = db.Run(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.ToString();
    std::vector<int64_t> out;
    for (const auto& row : r.rows) out.push_back(IntOf(row[0]));
    return out;
  };
  std::vector<int64_t> in_o = ids("SELECT id FROM o ORDER BY id");
  int64_t n = static_cast<int64_t>(in_o.size());
  EXPECT_GE(n, last_ack) << "an acknowledged transaction is missing from the ordinary table";
  EXPECT_LE(n, last_ack + 1) << "more transactions than were started";
  for (int64_t i = 0; i < n; i++) {
    if (in_o[i] != i + 1) {
      ADD_FAILURE() << "ordinary table: transaction " << i + 1 << " missing";
      break;
    }
  }
  EXPECT_EQ(ids("SELECT id FROM s1"), in_o) << "strata table s1 disagrees with table o";
  EXPECT_EQ(ids("SELECT id FROM s2 WHERE part = 1"), in_o) << "strata table s2 disagrees";
  EXPECT_EQ(ids("SELECT id FROM s_far"), in_o) << "s_far (the second store) disagrees";
  EXPECT_EQ(ids("SELECT count(*) FROM s2"), std::vector<int64_t>{n});
  EXPECT_EQ(ids("SELECT n FROM s_counter"), std::vector<int64_t>{n});
  EXPECT_EQ(ids("SELECT n FROM o_counter"), std::vector<int64_t>{n});
  // Values too, not just keys.
  test::SqlResult mismatch =
      db.Run("SELECT count(*) FROM o JOIN s1 USING (id) WHERE o.v IS NOT s1.v");
  EXPECT_EQ(mismatch.rows, (test::SqlRows{{"int:0"}})) << mismatch.ToString();
  mismatch = db.Run("SELECT count(*) FROM o JOIN s_far USING (id) WHERE o.v IS NOT s_far.v");
  EXPECT_EQ(mismatch.rows, (test::SqlRows{{"int:0"}})) << mismatch.ToString();
  return n;
}

void RunCrashRounds(const std::string& journal_mode) {
  test::TempDir dir("sql-crash");
  const std::string path = dir.Join("crash.db");
  std::mt19937 random(Seed());
  SCOPED_TRACE("seed " + std::to_string(Seed()) + ", journal_mode " + journal_mode);
  int64_t last_ack = 0;
  int64_t total = 0;
  for (int round = 0; round < Rounds(); round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fd = -1;
    pid_t child = StartChild(kChildVariable, journal_mode + ":" + path, &fd);
    ASSERT_GT(child, 0) << std::strerror(errno);
    FILE* acks_in = fdopen(fd, "r");
    ASSERT_NE(acks_in, nullptr);
    // Kill after a random number of acknowledged commits plus a random delay, so the
    // kill lands anywhere in a transaction or its commit.
    std::vector<int64_t> acks;
    std::string error;
    int wanted = std::uniform_int_distribution<int>(1, 60)(random);
    bool reading_ok = ReadAcks(acks_in, wanted, &acks, &error);
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30000)(random)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Acks written before the kill are still in the pipe.
    char line[4096];
    while (reading_ok && fgets(line, sizeof(line), acks_in) != nullptr) {
      if (std::strncmp(line, "error: ", 7) == 0) {
        reading_ok = false;
        error = line;
      } else {
        acks.push_back(std::strtoll(line, nullptr, 10));
      }
    }
    fclose(acks_in);
    ASSERT_TRUE(reading_ok) << error;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    if (!acks.empty()) {
      EXPECT_EQ(acks.front(), total + 1) << "the child did not continue after the last one";
      last_ack = acks.back();
    }
    size_t pending =
        PendingTransactions(path + "-strata") + PendingTransactions(SecondStorePath(path));
    int64_t n = Verify(path, last_ack);
    std::printf("round %d: last acknowledged %lld, present %lld, pending at reopen %zu\n", round,
                static_cast<long long>(last_ack), static_cast<long long>(n), pending);
    if (::testing::Test::HasFailure()) return;
    total = n;
    last_ack = n;  // an unacknowledged commit that made it counts from now on
  }
  EXPECT_GT(total, Rounds()) << "the rounds committed almost nothing";
}

TEST(SqlCrashTest, KilledWriterLeavesStrataAndOrdinaryTablesInStepWithRollbackJournal) {
  RunCrashRounds("DELETE");
}

TEST(SqlCrashTest, KilledWriterLeavesStrataAndOrdinaryTablesInStepWithWal) {
  RunCrashRounds("WAL");
}

// ---- Kills at exact steps of the commit protocol --------------------------------------

void PrintTo(KillStep step, std::ostream* os) { *os << KillStepName(step); }

class KillAtStepTest : public ::testing::TestWithParam<std::tuple<KillStep, std::string>> {};

constexpr int64_t kCommittedBeforeStep = 3;  // transactions before the one that is cut

// Runs the step child on `path` until it dies at `step` of its last transaction.
void KillChildAtStep(KillStep step, const std::string& journal_mode, const std::string& path) {
  int fd = -1;
  pid_t child = StartChild(kStepChildVariable,
                           std::string(KillStepName(step)) + ":" +
                               std::to_string(kCommittedBeforeStep) + ":" + journal_mode + ":" +
                               path,
                           &fd);
  ASSERT_GT(child, 0) << std::strerror(errno);
  FILE* child_output = fdopen(fd, "r");
  ASSERT_NE(child_output, nullptr);
  std::string errors;  // the step child writes only errors
  char line[4096];
  while (fgets(line, sizeof(line), child_output) != nullptr) errors += line;
  fclose(child_output);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ("", errors);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
}

// Runs `sql` in a new connection to `path`.
void RunInNewConnection(const std::string& path, const std::string& sql) {
  std::unique_ptr<test::SqliteDb> db = test::Connect(path);
  ASSERT_TRUE(db->is_open());
  test::SqlResult r = db->Run(sql);
  ASSERT_TRUE(r.ok()) << r.ToString();
}

TEST_P(KillAtStepTest, RecoveryKeepsTheLastTransactionExactlyIfTheMainDatabaseCommittedIt) {
  const auto& [step, journal_mode] = GetParam();
  test::TempDir dir("sql-crash-step");
  const std::string path = dir.Join("crash.db");
  ASSERT_NO_FATAL_FAILURE(KillChildAtStep(step, journal_mode, path));

  // Before xCommit the transaction's pending record is in each store; xCommit deletes it
  // in the write that applies the transaction.
  const size_t pending_each = step == KillStep::kAfterXCommit ? 0 : 1;
  EXPECT_EQ(pending_each, PendingTransactions(path + "-strata"));
  EXPECT_EQ(pending_each, PendingTransactions(SecondStorePath(path)));
  const bool main_committed = step != KillStep::kAfterXSync;
  const int64_t present = kCommittedBeforeStep + (main_committed ? 1 : 0);
  EXPECT_EQ(present, Verify(path, kCommittedBeforeStep));
  // The reopened stores go on working: one more transaction, then everything again.
  const int64_t next = present + 1;
  ASSERT_NO_FATAL_FAILURE(RunInNewConnection(path, "BEGIN;" + TransactionBody(next) + "COMMIT"));
  EXPECT_EQ(next, Verify(path, next));
  EXPECT_EQ(0u, PendingTransactions(path + "-strata"));
  EXPECT_EQ(0u, PendingTransactions(SecondStorePath(path)));
}

// Each store resolves its pending records when it is opened, against its own commit
// log: the second store opened and written first must not decide the default store's
// committed record (with one log per database its commit would overwrite the id the
// default store's recovery looks for).
TEST_P(KillAtStepTest, AStoreWrittenFirstAfterTheCrashLeavesTheOtherStoresRecordDecidable) {
  const auto& [step, journal_mode] = GetParam();
  test::TempDir dir("sql-crash-step");
  const std::string path = dir.Join("crash.db");
  ASSERT_NO_FATAL_FAILURE(KillChildAtStep(step, journal_mode, path));
  // Only far_notes (the second store) is connected: the default store stays closed.
  ASSERT_NO_FATAL_FAILURE(RunInNewConnection(
      path, "CREATE TABLE notes(v); INSERT INTO far_notes VALUES (1, 'a');"
            "BEGIN; INSERT INTO far_notes VALUES (2, 'b'); INSERT INTO notes VALUES ('c'); COMMIT"));
  const bool main_committed = step != KillStep::kAfterXSync;
  EXPECT_EQ(kCommittedBeforeStep + (main_committed ? 1 : 0), Verify(path, kCommittedBeforeStep));
  EXPECT_EQ(0u, PendingTransactions(path + "-strata"));
}

// A store claimed before commit logs were per store keeps the database's shared
// strata_commit_log, and its recovery must read it there: the default store made such
// a store (tests/support/legacy_store.h) between two runs of the step child; the second
// run dies at the given step (the second store keeps a log of its own).
TEST_P(KillAtStepTest, StoreClaimedBeforePerStoreLogsRecoversFromTheSharedLog) {
  const auto& [step, journal_mode] = GetParam();
  test::TempDir dir("sql-crash-step");
  const std::string path = dir.Join("crash.db");
  ASSERT_NO_FATAL_FAILURE(KillChildAtStep(KillStep::kAfterXCommit, journal_mode, path));
  const int64_t first_run = kCommittedBeforeStep + 1;
  ASSERT_EQ(first_run, Verify(path, first_run));
  ASSERT_EQ("", test::MakeStoreClaimedBeforePerStoreLogs(path, path + "-strata"));

  ASSERT_NO_FATAL_FAILURE(KillChildAtStep(step, journal_mode, path));
  const bool main_committed = step != KillStep::kAfterXSync;
  EXPECT_EQ(step == KillStep::kAfterXCommit ? 0u : 1u, PendingTransactions(path + "-strata"));
  const int64_t present = first_run + kCommittedBeforeStep + (main_committed ? 1 : 0);
  EXPECT_EQ(present, Verify(path, first_run + kCommittedBeforeStep));
  std::unique_ptr<test::SqliteDb> db = test::Connect(path);
  test::SqlResult logs = db->Run(
      "SELECT name = 'strata_commit_log' FROM sqlite_schema WHERE name LIKE 'strata_commit_log%'"
      " ORDER BY 1");
  EXPECT_EQ(logs.rows, (test::SqlRows{{"int:0"}, {"int:1"}})) << logs.ToString();
}

INSTANTIATE_TEST_SUITE_P(
    CommitSteps, KillAtStepTest,
    ::testing::Combine(::testing::Values(KillStep::kAfterXSync, KillStep::kAfterMainCommit,
                                         KillStep::kAfterXCommit),
                       ::testing::Values(std::string("DELETE"), std::string("WAL"))),
    [](const ::testing::TestParamInfo<KillAtStepTest::ParamType>& info) {
      std::string name = KillStepName(std::get<0>(info.param));
      name += "_" + std::get<1>(info.param);
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace strata
