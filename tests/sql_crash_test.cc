// The commit protocol across crashes: one SQLite transaction that writes strata tables
// and an ordinary table commits atomically across both, and a COMMIT that returned is
// durable, however the process dies.
//
// A child process runs numbered transactions; each one inserts row i into two strata
// tables (one store, so one atomic batch) and into an ordinary table, and increments a
// counter row in a strata table and in an ordinary table. After each COMMIT returns it
// reports i through a pipe. The parent SIGKILLs it at a random moment, reopens the
// database (which runs the extension's recovery) and checks:
//   - every acknowledged transaction is in every table;
//   - each table holds exactly transactions 1..n for one n (they ran one after the
//     other), with n at most one more than the last acknowledged transaction;
//   - both counters equal n: a transaction is in all tables or in none.
// Then the next round continues the same database. Rounds run in rollback-journal and
// WAL mode, with sync=full and PRAGMA synchronous=FULL.
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

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "extension/store.h"
#include "tests/support/sqlite_harness.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

constexpr const char* kChildVariable = "STRATA_SQL_CRASH_CHILD";
constexpr int kChildAckFd = 100;  // the pipe's write end in the child

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

// Runs transactions until killed. `spec` is "<journal mode>:<database path>".
[[noreturn]] void RunChild(const std::string& spec) {
  size_t colon = spec.find(':');
  if (colon == std::string::npos) ChildFail("bad spec " + spec);
  std::string journal_mode = spec.substr(0, colon);
  std::string path = spec.substr(colon + 1);
  test::SqliteDb db;
  std::string error;
  if (!db.Open(path, &error) || !test::LoadStrata(&db, &error)) ChildFail(error);
  ChildRun(db, "PRAGMA journal_mode=" + journal_mode);
  ChildRun(db, "PRAGMA synchronous=FULL");
  ChildRun(db,
           "CREATE VIRTUAL TABLE IF NOT EXISTS s1 USING strata(id INTEGER PRIMARY KEY, v TEXT, "
           "sync=full);"
           "CREATE VIRTUAL TABLE IF NOT EXISTS s2 USING strata(id INTEGER, part INTEGER, v BLOB, "
           "PRIMARY KEY (id, part));"
           "CREATE VIRTUAL TABLE IF NOT EXISTS s_counter USING strata(k INTEGER PRIMARY KEY, n);"
           "CREATE TABLE IF NOT EXISTS o(id INTEGER PRIMARY KEY, v TEXT);"
           "CREATE TABLE IF NOT EXISTS o_counter(k INTEGER PRIMARY KEY, n);"
           "INSERT OR IGNORE INTO s_counter VALUES (0, 0);"
           "INSERT OR IGNORE INTO o_counter VALUES (0, 0)");
  test::SqlResult last = db.Run("SELECT coalesce(max(id), 0) FROM o");
  if (!last.ok()) ChildFail(last.ToString());
  int64_t id = std::stoll(last.rows[0][0].substr(4)) + 1;  // "int:N"
  for (;; id++) {
    std::string n = std::to_string(id);
    std::string payload = "'transaction " + n + " " + std::string(id % 200, 'x') + "'";
    ChildRun(db,
             "BEGIN;"
             "INSERT INTO s1 VALUES (" +
                 n + ", " + payload +
                 ");"
                 "INSERT INTO s2 VALUES (" +
                 n + ", 1, randomblob(" + std::to_string(id % 300) +
                 "));"
                 "INSERT INTO o VALUES (" +
                 n + ", " + payload +
                 ");"
                 "UPDATE s_counter SET n = n + 1 WHERE k = 0;"
                 "UPDATE o_counter SET n = n + 1 WHERE k = 0;"
                 "COMMIT");
    std::string ack = n + "\n";
    if (write(kChildAckFd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) _exit(1);
    // Now and then move the store's memtable into an SSTable, so recovery meets
    // transactions in tables, in the log, and pending.
    if (id % 40 == 0) ChildRun(db, "SELECT strata_flush('s1')");
  }
}

// Runs before gtest's main: in the child, the workload replaces the tests.
const bool kIsChild = [] {
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

// Starts the child on `path`; returns its pid and the read end of its ack pipe.
pid_t StartChild(const std::string& journal_mode, const std::string& path, int* ack_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls.
  std::string variable = std::string(kChildVariable) + "=" + journal_mode + ":" + path;
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; e++) {
    if (std::strncmp(*e, kChildVariable, std::strlen(kChildVariable)) != 0) {
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
  test::SqliteDb db;
  std::string error;
  if (!db.Open(path, &error) || !test::LoadStrata(&db, &error)) {
    ADD_FAILURE() << error;
    return 0;
  }
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
  EXPECT_EQ(ids("SELECT count(*) FROM s2"), std::vector<int64_t>{n});
  EXPECT_EQ(ids("SELECT n FROM s_counter"), std::vector<int64_t>{n});
  EXPECT_EQ(ids("SELECT n FROM o_counter"), std::vector<int64_t>{n});
  // Values too, not just keys.
  test::SqlResult mismatch =
      db.Run("SELECT count(*) FROM o JOIN s1 USING (id) WHERE o.v IS NOT s1.v");
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
    pid_t child = StartChild(journal_mode, path, &fd);
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
    size_t pending = PendingTransactions(path + "-strata");
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

}  // namespace
}  // namespace strata
