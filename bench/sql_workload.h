// The SQL benchmark's workload (bench/README.md, "sql_bench"): one table
// t(k BLOB PRIMARY KEY, v BLOB) behind the same prepared statements on three engines,
// with the keys and values of ../shared/BENCHMARKS.md (bench/workload.h) bound as
// BLOBs, writes in transactions of 1000 rows, and every answer verified.
//
//   strata    CREATE VIRTUAL TABLE t USING strata(k BLOB PRIMARY KEY, v BLOB, sync=<mode>)
//   ordinary  CREATE TABLE t(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID
//   floor     CREATE VIRTUAL TABLE t USING memory_floor(capacity=N)   (bench/memory_vtab.h)
//
// Every database file is in WAL mode with PRAGMA synchronous matched to strata's sync
// option (full <-> FULL, normal <-> NORMAL, off <-> OFF) and the same page cache size.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/process_stats.h"
#include "bench/workload.h"
#include "strata/status.h"

namespace strata::bench {

enum class SqlEngine { kStrata, kOrdinary, kFloor };

// "strata", "ordinary", "floor": the --engines names.
const char* SqlEngineName(SqlEngine engine);
bool ParseSqlEngine(std::string_view name, SqlEngine* engine);

enum class SqlSync { kFull, kNormal, kOff };

// "full", "normal", "off" (strata's option) and "FULL", "NORMAL", "OFF" (the pragma).
const char* SqlSyncName(SqlSync sync);
const char* SqlSyncPragma(SqlSync sync);
bool ParseSqlSync(std::string_view name, SqlSync* sync);

// The phases, in the order they run.
enum class SqlPhase {
  kReplace,     // fresh table: N x INSERT OR REPLACE, each key once in a random order
  kInsert,      // another fresh table: N x INSERT (checks the key is new), random order
  kGet,         // R x point SELECT of a stored key
  kGetMissing,  // R x point SELECT of an absent key between two stored ones
  kRange,       // R/100 x SELECT of the 100 rows from a random stored key on
  kScan,        // SELECT of every row in key order
  kDelete,      // N/10 x DELETE of distinct random keys
};

const char* SqlPhaseName(SqlPhase phase);

const std::vector<SqlPhase>& AllSqlPhases();

// get, get missing, range 100 and full scan: they change nothing, so they can run again
// (sql_bench repeats them in rounds, alternating the engines).
bool IsSqlReadPhase(SqlPhase phase);

struct SqlBenchConfig {
  uint64_t num = 1'000'000;  // N
  uint64_t reads = 200'000;  // R
  uint64_t seed = 301;
  SqlSync sync = SqlSync::kNormal;
  std::string extension_path;      // strata.so, loaded by the strata engine only
  uint64_t sqlite_cache_mib = 64;  // PRAGMA cache_size; 0 = SQLite's default (2 MiB)
  // Point and range SELECTs run in transactions of kBatchSize statements, like the
  // writes; false runs each in autocommit mode (its own read transaction, which in WAL
  // mode costs every engine the same few microseconds of shm locking).
  bool read_transactions = true;
  // strata's compression= option; empty: the extension's default (zstd).
  std::string strata_compression;
  // More options for strata's CREATE VIRTUAL TABLE, e.g. "write_buffer_size=33554432"
  // (comma-separated, as in SQL); empty: none.
  std::string strata_options;
  // After the insert phase, wait for strata's background compactions (strata_wait) before
  // the read phases, as RocksDB's benchmarks wait between load and reads; the wait is
  // timed and reported in the insert phase's notes, outside its rows/s.
  bool settle = true;
};

// The CREATE statement of `engine`'s table t, for config.num rows (the floor's capacity),
// with config.sync and config.strata_compression for strata.
std::string CreateTableSql(SqlEngine engine, const SqlBenchConfig& config);

// What one phase did and cost. The runner starts and stops the clock around the
// measured part only (opening fresh databases and the checks after a phase are not).
struct SqlPhaseWork {
  uint64_t rows = 0;        // rows written, deleted or returned; statements for point gets
  uint64_t statements = 0;  // statements executed
  std::string notes;

  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t write_bytes = 0;  // /proc/self/io write_bytes during the phase

  void StartClock();
  void StopClock();

 private:
  ProcessSample start_sample_;
  uint64_t start_nanos_ = 0;
};

// Bytes on disk of the database the phases work on (the replace phase's database until
// the insert phase replaces it). The -shm file (32 KiB, a shared-memory index) is left
// out.
struct SqlDiskUsage {
  uint64_t database_bytes = 0;  // the database file
  uint64_t wal_bytes = 0;       // its -wal file
  uint64_t store_bytes = 0;     // the strata store directory <database>-strata
  uint64_t total() const { return database_bytes + wal_bytes + store_bytes; }
};

// Runs the phases on one engine, in one connection, in `dir` (created if missing).
// Not thread-safe; one per process.
class SqlPhaseRunner {
 public:
  SqlPhaseRunner(const SqlBenchConfig& config, SqlEngine engine, std::string dir);
  ~SqlPhaseRunner();  // closes the connection; leaves the files
  SqlPhaseRunner(const SqlPhaseRunner&) = delete;
  SqlPhaseRunner& operator=(const SqlPhaseRunner&) = delete;

  // Runs `phase`. A wrong answer is Corruption("verification failed: ..."); an SQLite
  // error is IOError with SQLite's message and code. Phases after kInsert need it to
  // have run. `round` picks the random keys of a read phase run again (round 0: the
  // phase's own seed; each later round other keys, the same on every engine); the
  // write phases run once, in round 0.
  Status Run(SqlPhase phase, SqlPhaseWork* work, uint64_t round = 0);

  SqlDiskUsage DiskUsage() const;
  // EXPLAIN QUERY PLAN of the read and delete statements on the current table, as
  // "get: SCAN t VIRTUAL TABLE INDEX 1:point; ...".
  Status DescribePlans(std::string* plans);
  // Closes the connection (strata: the store, joining its threads). Idempotent.
  Status Close();
  // Closes the current database and opens it again with the same settings and
  // statements (which connects the table), as a restarted application would: for the
  // bytes a database takes at rest. NotSupported for the floor, whose rows do not
  // outlive its connection.
  Status Reopen();

 private:
  struct Statements;

  // Closes the current database, deletes any files named `name` in dir_ and opens a new
  // database there with this engine's table and statements.
  Status OpenFresh(const std::string& name);
  // Opens database_path_ (creating table t if create_table) and prepares statements.
  Status Open(bool create_table);
  Status Exec(const char* sql);
  Status Prepare(const char* sql, sqlite3_stmt** stmt);
  Status SqliteError(const std::string& what) const;
  Status Mismatch(std::string_view key, const std::string& what) const;
  Status CountRows(uint64_t expected);

  // Writes one row (INSERT or INSERT OR REPLACE), opening and committing transactions
  // of kBatchSize rows.
  Status Write(sqlite3_stmt* stmt, uint64_t index, uint8_t version);
  Status DeleteRow(uint64_t index);
  Status BeginIfNeeded();
  Status CommitBatch();
  // Around each point or range SELECT: open or finish the read transaction it is in.
  Status BeginRead();
  Status EndRead();

  Status Fill(uint64_t seed, bool replace, SqlPhaseWork* work);
  // SqlBenchConfig::settle: strata_wait on the table, timed into work->notes.
  Status Settle(SqlPhaseWork* work);
  Status Get(uint64_t seed, SqlPhaseWork* work);
  Status GetMissing(uint64_t seed, SqlPhaseWork* work);
  Status Range(uint64_t seed, SqlPhaseWork* work);
  Status Scan(SqlPhaseWork* work);
  Status Delete(uint64_t seed, SqlPhaseWork* work);
  // Checks the row under stmt (columns k, v) is stored key `expected`.
  Status CheckRow(sqlite3_stmt* stmt, uint64_t expected, const char* what) const;

  const SqlBenchConfig config_;
  const SqlEngine engine_;
  const std::string dir_;
  std::string database_path_;  // empty while closed
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;

  ExpectedState expected_;
  ValuePool values_;
  KeyBuffer key_;
  int rows_in_batch_ = 0;
};

}  // namespace strata::bench
