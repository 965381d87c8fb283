#include "bench/sql_workload.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "bench/memory_vtab.h"

namespace strata::bench {
namespace {

constexpr int kRangeRows = 100;

uint64_t NowNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// Deletes a database file with its -wal, -shm and strata store; missing files are fine.
void RemoveDatabase(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ec);
  }
  std::filesystem::remove_all(path + "-strata", ec);
}

std::string_view ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return std::string_view();
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(size));
}

// Seeds as bench/workload.cc's MakePhases derives them, from a separate name space.
uint64_t PhaseSeed(uint64_t run_seed, SqlPhase phase) {
  return Mix64(run_seed ^ Mix64(0x73716cull << 40 | (static_cast<uint64_t>(phase) + 1)));
}

}  // namespace

const char* SqlEngineName(SqlEngine engine) {
  switch (engine) {
    case SqlEngine::kStrata:
      return "strata";
    case SqlEngine::kOrdinary:
      return "ordinary";
    case SqlEngine::kFloor:
      return "floor";
  }
  return "?";
}

bool ParseSqlEngine(std::string_view name, SqlEngine* engine) {
  for (SqlEngine e : {SqlEngine::kStrata, SqlEngine::kOrdinary, SqlEngine::kFloor}) {
    if (name == SqlEngineName(e)) {
      *engine = e;
      return true;
    }
  }
  return false;
}

const char* SqlSyncName(SqlSync sync) {
  switch (sync) {
    case SqlSync::kFull:
      return "full";
    case SqlSync::kNormal:
      return "normal";
    case SqlSync::kOff:
      return "off";
  }
  return "?";
}

const char* SqlSyncPragma(SqlSync sync) {
  switch (sync) {
    case SqlSync::kFull:
      return "FULL";
    case SqlSync::kNormal:
      return "NORMAL";
    case SqlSync::kOff:
      return "OFF";
  }
  return "?";
}

bool ParseSqlSync(std::string_view name, SqlSync* sync) {
  for (SqlSync s : {SqlSync::kFull, SqlSync::kNormal, SqlSync::kOff}) {
    if (name == SqlSyncName(s)) {
      *sync = s;
      return true;
    }
  }
  return false;
}

const char* SqlPhaseName(SqlPhase phase) {
  switch (phase) {
    case SqlPhase::kReplace:
      return "insert or replace";
    case SqlPhase::kInsert:
      return "insert";
    case SqlPhase::kGet:
      return "get";
    case SqlPhase::kGetMissing:
      return "get missing";
    case SqlPhase::kRange:
      return "range 100";
    case SqlPhase::kScan:
      return "full scan";
    case SqlPhase::kDelete:
      return "delete";
  }
  return "?";
}

const std::vector<SqlPhase>& AllSqlPhases() {
  static const std::vector<SqlPhase> phases = {
      SqlPhase::kReplace, SqlPhase::kInsert, SqlPhase::kGet,    SqlPhase::kGetMissing,
      SqlPhase::kRange,   SqlPhase::kScan,   SqlPhase::kDelete,
  };
  return phases;
}

bool IsSqlReadPhase(SqlPhase phase) {
  return phase == SqlPhase::kGet || phase == SqlPhase::kGetMissing || phase == SqlPhase::kRange ||
         phase == SqlPhase::kScan;
}

void SqlPhaseWork::StartClock() {
  start_sample_ = SampleProcess();
  start_nanos_ = NowNanos();
}

void SqlPhaseWork::StopClock() {
  uint64_t end_nanos = NowNanos();
  ProcessSample end = SampleProcess();
  seconds = static_cast<double>(end_nanos - start_nanos_) / 1e9;
  cpu_seconds = end.cpu_seconds - start_sample_.cpu_seconds;
  write_bytes = end.write_bytes - start_sample_.write_bytes;
}

// The statements every engine runs, prepared once per database: the SQL text is the
// same for all engines.
struct SqlPhaseRunner::Statements {
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* replace = nullptr;
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* range = nullptr;
  sqlite3_stmt* scan = nullptr;
  sqlite3_stmt* remove = nullptr;
  sqlite3_stmt* count = nullptr;

  ~Statements() {
    for (sqlite3_stmt* stmt : {begin, commit, replace, insert, get, range, scan, remove, count}) {
      sqlite3_finalize(stmt);
    }
  }
};

namespace {

// Statement texts, shared by Prepare and DescribePlans.
constexpr const char* kGetSql = "SELECT v FROM t WHERE k = ?1";
constexpr const char* kRangeSql = "SELECT k, v FROM t WHERE k >= ?1 ORDER BY k LIMIT 100";
constexpr const char* kScanSql = "SELECT k, v FROM t ORDER BY k";
constexpr const char* kDeleteSql = "DELETE FROM t WHERE k = ?1";

}  // namespace

SqlPhaseRunner::SqlPhaseRunner(const SqlBenchConfig& config, SqlEngine engine, std::string dir)
    : config_(config),
      engine_(engine),
      dir_(std::move(dir)),
      expected_(config.num),
      values_(Mix64(config.seed ^ 0x706f6f6cull)) {}

SqlPhaseRunner::~SqlPhaseRunner() { Close(); }

std::string CreateTableSql(SqlEngine engine, const SqlBenchConfig& config) {
  switch (engine) {
    case SqlEngine::kStrata:
      return std::string("CREATE VIRTUAL TABLE t USING strata(k BLOB PRIMARY KEY, v BLOB, sync=") +
             SqlSyncName(config.sync) +
             (config.strata_compression.empty() ? ""
                                                : ", compression=" + config.strata_compression) +
             (config.strata_options.empty() ? "" : ", " + config.strata_options) + ")";
    case SqlEngine::kOrdinary:
      return "CREATE TABLE t(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID";
    case SqlEngine::kFloor:
      return "CREATE VIRTUAL TABLE t USING memory_floor(capacity=" + std::to_string(config.num) +
             ")";
  }
  return "";
}

Status SqlPhaseRunner::SqliteError(const std::string& what) const {
  if (db_ == nullptr) return Status::IOError(what);
  return Status::IOError(what + ": " + sqlite3_errmsg(db_) + " (SQLite code " +
                         std::to_string(sqlite3_extended_errcode(db_)) + ")");
}

Status SqlPhaseRunner::Mismatch(std::string_view key, const std::string& what) const {
  return Status::Corruption("verification failed: key " + std::string(key) + ": " + what);
}

Status SqlPhaseRunner::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) == SQLITE_OK) return Status::OK();
  std::string message = std::string(sql) + ": " + (error != nullptr ? error : "?");
  sqlite3_free(error);
  return Status::IOError(message);
}

Status SqlPhaseRunner::Prepare(const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK) {
    return SqliteError(std::string("prepare ") + sql);
  }
  return Status::OK();
}

Status SqlPhaseRunner::Close() {
  statements_.reset();
  if (db_ == nullptr) return Status::OK();
  int rc = sqlite3_close(db_);
  if (rc != SQLITE_OK) return SqliteError("close " + database_path_);
  db_ = nullptr;
  return Status::OK();
}

Status SqlPhaseRunner::OpenFresh(const std::string& name) {
  Status s = Close();
  if (!s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IOError("cannot create " + dir_ + ": " + ec.message());
  database_path_ = dir_ + "/" + name;
  RemoveDatabase(database_path_);
  expected_.Clear();
  return Open(/*create_table=*/true);
}

Status SqlPhaseRunner::Reopen() {
  if (database_path_.empty()) return Status::InvalidArgument("no database to reopen");
  if (engine_ == SqlEngine::kFloor) {
    return Status::NotSupported("the floor's rows do not outlive its connection");
  }
  Status s = Close();
  return s.ok() ? Open(/*create_table=*/false) : s;
}

Status SqlPhaseRunner::Open(bool create_table) {
  Status s;
  if (sqlite3_open_v2(database_path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    s = SqliteError("open " + database_path_);
    sqlite3_close(db_);
    db_ = nullptr;
    return s;
  }
  if (engine_ == SqlEngine::kStrata) {
    sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
    char* error = nullptr;
    if (sqlite3_load_extension(db_, config_.extension_path.c_str(), "sqlite3_strata_init",
                               &error) != SQLITE_OK) {
      s = Status::IOError("cannot load " + config_.extension_path + ": " +
                          (error != nullptr ? error : "?"));
      sqlite3_free(error);
      return s;
    }
  } else if (engine_ == SqlEngine::kFloor) {
    if (RegisterMemoryFloorModule(db_) != SQLITE_OK) return SqliteError("register memory_floor");
  }

  // journal_mode answers with the mode it ended up in.
  sqlite3_stmt* stmt = nullptr;
  s = Prepare("PRAGMA journal_mode=WAL", &stmt);
  if (!s.ok()) return s;
  bool wal =
      sqlite3_step(stmt) == SQLITE_ROW &&
      sqlite3_stricmp(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal") == 0;
  sqlite3_finalize(stmt);
  if (!wal) return SqliteError("PRAGMA journal_mode=WAL did not switch to WAL");
  std::string pragmas = std::string("PRAGMA synchronous=") + SqlSyncPragma(config_.sync) + ";";
  if (config_.sqlite_cache_mib > 0) {
    pragmas += "PRAGMA cache_size=-" + std::to_string(config_.sqlite_cache_mib * 1024) + ";";
  }
  s = Exec(pragmas.c_str());
  if (s.ok() && create_table) s = Exec(CreateTableSql(engine_, config_).c_str());
  if (!s.ok()) return s;

  statements_ = std::make_unique<Statements>();
  Statements& st = *statements_;
  if (s.ok()) s = Prepare("BEGIN", &st.begin);
  if (s.ok()) s = Prepare("COMMIT", &st.commit);
  if (s.ok()) s = Prepare("INSERT OR REPLACE INTO t(k, v) VALUES(?1, ?2)", &st.replace);
  if (s.ok()) s = Prepare("INSERT INTO t(k, v) VALUES(?1, ?2)", &st.insert);
  if (s.ok()) s = Prepare(kGetSql, &st.get);
  if (s.ok()) s = Prepare(kRangeSql, &st.range);
  if (s.ok()) s = Prepare(kScanSql, &st.scan);
  if (s.ok()) s = Prepare(kDeleteSql, &st.remove);
  if (s.ok()) s = Prepare("SELECT count(*) FROM t", &st.count);
  rows_in_batch_ = 0;
  return s;
}

SqlDiskUsage SqlPhaseRunner::DiskUsage() const {
  SqlDiskUsage usage;
  if (database_path_.empty()) return usage;
  usage.database_bytes = FileSize(database_path_);
  usage.wal_bytes = FileSize(database_path_ + "-wal");
  usage.store_bytes = MeasureStore(database_path_ + "-strata").bytes;
  return usage;
}

Status SqlPhaseRunner::DescribePlans(std::string* plans) {
  plans->clear();
  if (db_ == nullptr) return Status::InvalidArgument("no database is open");
  const std::pair<const char*, const char*> statements[] = {
      {"get", kGetSql}, {"range", kRangeSql}, {"scan", kScanSql}, {"delete", kDeleteSql}};
  for (const auto& [name, sql] : statements) {
    std::string explain = std::string("EXPLAIN QUERY PLAN ") + sql;
    sqlite3_stmt* stmt = nullptr;
    Status s = Prepare(explain.c_str(), &stmt);
    if (!s.ok()) return s;
    if (!plans->empty()) *plans += "; ";
    *plans += name;
    *plans += ":";
    int rc;
    const char* separator = " ";
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      *plans += separator;
      *plans += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      separator = ", ";
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return SqliteError(explain);
  }
  return Status::OK();
}

Status SqlPhaseRunner::BeginIfNeeded() {
  if (rows_in_batch_ > 0) return Status::OK();
  int rc = sqlite3_step(statements_->begin);
  sqlite3_reset(statements_->begin);
  return rc == SQLITE_DONE ? Status::OK() : SqliteError("BEGIN");
}

Status SqlPhaseRunner::CommitBatch() {
  if (rows_in_batch_ == 0) return Status::OK();
  rows_in_batch_ = 0;
  int rc = sqlite3_step(statements_->commit);
  sqlite3_reset(statements_->commit);
  return rc == SQLITE_DONE ? Status::OK() : SqliteError("COMMIT");
}

Status SqlPhaseRunner::BeginRead() {
  return config_.read_transactions ? BeginIfNeeded() : Status::OK();
}

Status SqlPhaseRunner::EndRead() {
  if (!config_.read_transactions) return Status::OK();
  if (++rows_in_batch_ == kBatchSize) return CommitBatch();
  return Status::OK();
}

Status SqlPhaseRunner::Write(sqlite3_stmt* stmt, uint64_t index, uint8_t version) {
  Status s = BeginIfNeeded();
  if (!s.ok()) return s;
  std::string_view key = key_.Set(StoredKeyNumber(index));
  std::string_view value = values_.Value(index, version);
  sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_blob(stmt, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return SqliteError(std::string("write of key ") + std::string(key));
  expected_.Set(index, version);
  if (++rows_in_batch_ == kBatchSize) return CommitBatch();
  return Status::OK();
}

Status SqlPhaseRunner::DeleteRow(uint64_t index) {
  Status s = BeginIfNeeded();
  if (!s.ok()) return s;
  std::string_view key = key_.Set(StoredKeyNumber(index));
  sqlite3_stmt* stmt = statements_->remove;
  sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return SqliteError(std::string("delete of key ") + std::string(key));
  int changes = sqlite3_changes(db_);
  int want = expected_.present(index) ? 1 : 0;
  if (changes != want) {
    return Mismatch(key, "DELETE changed " + std::to_string(changes) + " rows, expected " +
                             std::to_string(want));
  }
  expected_.Set(index, 0);
  if (++rows_in_batch_ == kBatchSize) return CommitBatch();
  return Status::OK();
}

Status SqlPhaseRunner::CountRows(uint64_t expected) {
  sqlite3_stmt* stmt = statements_->count;
  int rc = sqlite3_step(stmt);
  uint64_t count = rc == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(stmt, 0)) : 0;
  sqlite3_reset(stmt);
  if (rc != SQLITE_ROW) return SqliteError("SELECT count(*)");
  if (count != expected) {
    return Status::Corruption("verification failed: SELECT count(*) gives " +
                              std::to_string(count) + ", expected " + std::to_string(expected));
  }
  return Status::OK();
}

Status SqlPhaseRunner::CheckRow(sqlite3_stmt* stmt, uint64_t expected, const char* what) const {
  KeyBuffer want;
  want.Set(StoredKeyNumber(expected));
  if (sqlite3_column_type(stmt, 0) != SQLITE_BLOB) {
    return Mismatch(want.view(), std::string(what) + ": k is not a BLOB");
  }
  std::string_view key = ColumnBytes(stmt, 0);
  if (key != want.view()) {
    return Mismatch(want.view(),
                    std::string(what) + ": expected this key, got " + std::string(key));
  }
  uint8_t version = expected_.version(expected);
  if (sqlite3_column_type(stmt, 1) != SQLITE_BLOB ||
      ColumnBytes(stmt, 1) != values_.Value(expected, version)) {
    return Mismatch(want.view(), std::string(what) + ": v is not version " +
                                     std::to_string(version) + "'s value");
  }
  return Status::OK();
}

Status SqlPhaseRunner::Fill(uint64_t seed, bool replace, SqlPhaseWork* work) {
  sqlite3_stmt* stmt = replace ? statements_->replace : statements_->insert;
  Permutation order(config_.num, seed);
  work->StartClock();
  for (uint64_t i = 0; i < config_.num; i++) {
    Status s = Write(stmt, order(i), 1);
    if (!s.ok()) return s;
  }
  Status s = CommitBatch();
  work->StopClock();
  work->rows = work->statements = config_.num;
  return s.ok() ? CountRows(config_.num) : s;
}

Status SqlPhaseRunner::Settle(SqlPhaseWork* work) {
  if (engine_ != SqlEngine::kStrata) return Status::OK();
  const uint64_t start = NowNanos();
  char* error = nullptr;
  int rc = sqlite3_exec(db_, "SELECT strata_wait('t')", nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  if (rc != SQLITE_OK) return Status::IOError("strata_wait: " + message);
  char note[96];
  std::snprintf(note, sizeof(note), "then %.2f s waiting for compactions (strata_wait)",
                static_cast<double>(NowNanos() - start) / 1e9);
  if (!work->notes.empty()) work->notes += "; ";
  work->notes += note;
  return Status::OK();
}

Status SqlPhaseRunner::Get(uint64_t seed, SqlPhaseWork* work) {
  sqlite3_stmt* stmt = statements_->get;
  Random64 rng(seed);
  uint64_t found_count = 0;
  work->StartClock();
  for (uint64_t i = 0; i < config_.reads; i++) {
    uint64_t index = rng.Uniform(config_.num);
    Status s = BeginRead();
    if (!s.ok()) return s;
    std::string_view key = key_.Set(StoredKeyNumber(index));
    sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    uint8_t version = expected_.version(index);
    if (rc == SQLITE_ROW) {
      found_count++;
      if (version == 0) {
        s = Mismatch(key, "expected no row (deleted), got one");
      } else if (sqlite3_column_type(stmt, 0) != SQLITE_BLOB ||
                 ColumnBytes(stmt, 0) != values_.Value(index, version)) {
        s = Mismatch(key, "v is not version " + std::to_string(version) + "'s value");
      } else if (sqlite3_step(stmt) != SQLITE_DONE) {
        s = Mismatch(key, "a point SELECT returned more than one row");
      }
    } else if (rc == SQLITE_DONE) {
      if (version != 0) s = Mismatch(key, "expected a row, got none");
    } else {
      s = SqliteError(std::string("get of key ") + std::string(key));
    }
    sqlite3_reset(stmt);
    if (s.ok()) s = EndRead();
    if (!s.ok()) return s;
  }
  Status s = CommitBatch();
  work->StopClock();
  if (!s.ok()) return s;
  work->rows = work->statements = config_.reads;
  if (found_count != config_.reads) {
    work->notes = std::to_string(found_count) + " of " + std::to_string(config_.reads) + " found";
  }
  return Status::OK();
}

Status SqlPhaseRunner::GetMissing(uint64_t seed, SqlPhaseWork* work) {
  sqlite3_stmt* stmt = statements_->get;
  Random64 rng(seed);
  work->StartClock();
  for (uint64_t i = 0; i < config_.reads; i++) {
    // Below N-1, so the odd key lies between two stored keys.
    uint64_t index = rng.Uniform(config_.num - 1);
    Status s = BeginRead();
    if (!s.ok()) return s;
    std::string_view key = key_.Set(MissingKeyNumber(index));
    sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_ROW) return Mismatch(key, "expected no row (never written), got one");
    if (rc != SQLITE_DONE) return SqliteError(std::string("get of key ") + std::string(key));
    s = EndRead();
    if (!s.ok()) return s;
  }
  Status s = CommitBatch();
  work->StopClock();
  if (!s.ok()) return s;
  work->rows = work->statements = config_.reads;
  return Status::OK();
}

Status SqlPhaseRunner::Range(uint64_t seed, SqlPhaseWork* work) {
  sqlite3_stmt* stmt = statements_->range;
  Random64 rng(seed);
  uint64_t statements = std::max<uint64_t>(1, config_.reads / kRangeRows);
  work->StartClock();
  for (uint64_t i = 0; i < statements; i++) {
    uint64_t index = rng.Uniform(config_.num);
    Status s = BeginRead();
    if (!s.ok()) return s;
    std::string_view key = key_.Set(StoredKeyNumber(index));
    sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    uint64_t expected = expected_.NextPresent(index);
    int returned = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (expected == expected_.size()) {
        s = Mismatch(key, "range: a row past the last stored key");
        break;
      }
      s = CheckRow(stmt, expected, "range");
      if (!s.ok()) break;
      returned++;
      expected = expected_.NextPresent(expected + 1);
    }
    if (s.ok() && rc != SQLITE_ROW && rc != SQLITE_DONE) s = SqliteError("range SELECT");
    if (s.ok() && returned < kRangeRows && expected != expected_.size()) {
      s = Mismatch(key, "range: " + std::to_string(returned) + " rows, expected " +
                            std::to_string(kRangeRows));
    }
    sqlite3_reset(stmt);
    if (s.ok()) s = EndRead();
    if (!s.ok()) return s;
    work->rows += static_cast<uint64_t>(returned);
  }
  Status s = CommitBatch();
  work->StopClock();
  if (!s.ok()) return s;
  work->statements = statements;
  work->notes = std::to_string(statements) + " statements";
  return Status::OK();
}

Status SqlPhaseRunner::Scan(SqlPhaseWork* work) {
  sqlite3_stmt* stmt = statements_->scan;
  uint64_t expected = expected_.NextPresent(0);
  int rc;
  Status s;
  work->StartClock();
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (expected == expected_.size()) {
      s = Mismatch(ColumnBytes(stmt, 0), "scan: a row past the last stored key");
      break;
    }
    s = CheckRow(stmt, expected, "scan");
    if (!s.ok()) break;
    work->rows++;
    expected = expected_.NextPresent(expected + 1);
  }
  work->StopClock();
  if (s.ok() && rc != SQLITE_DONE) s = SqliteError("full scan");
  if (s.ok() && expected != expected_.size()) {
    KeyBuffer want;
    s = Mismatch(want.Set(StoredKeyNumber(expected)), "scan ended before this key");
  }
  sqlite3_reset(stmt);
  work->statements = 1;
  return s;
}

Status SqlPhaseRunner::Delete(uint64_t seed, SqlPhaseWork* work) {
  Permutation order(config_.num, seed);  // distinct keys: a prefix of a permutation
  uint64_t count = config_.num / 10;
  work->StartClock();
  for (uint64_t i = 0; i < count; i++) {
    Status s = DeleteRow(order(i));
    if (!s.ok()) return s;
  }
  Status s = CommitBatch();
  work->StopClock();
  work->rows = work->statements = count;
  return s.ok() ? CountRows(expected_.CountPresent()) : s;
}

Status SqlPhaseRunner::Run(SqlPhase phase, SqlPhaseWork* work, uint64_t round) {
  if (round > 0 && !IsSqlReadPhase(phase)) {
    return Status::InvalidArgument(std::string(SqlPhaseName(phase)) + " runs once, in round 0");
  }
  uint64_t seed = PhaseSeed(config_.seed, phase);
  if (round > 0) seed = Mix64(seed ^ Mix64(round));
  bool need_table = phase != SqlPhase::kReplace && phase != SqlPhase::kInsert;
  if (need_table && (db_ == nullptr || database_path_.find("/insert.db") == std::string::npos)) {
    return Status::InvalidArgument(std::string(SqlPhaseName(phase)) +
                                   " needs the table of the insert phase");
  }
  Status s;
  switch (phase) {
    case SqlPhase::kReplace:
      s = OpenFresh("replace.db");
      return s.ok() ? Fill(seed, /*replace=*/true, work) : s;
    case SqlPhase::kInsert: {
      std::string previous = database_path_;
      s = Close();
      if (!s.ok()) return s;
      if (!previous.empty()) RemoveDatabase(previous);
      s = OpenFresh("insert.db");
      if (s.ok()) s = Fill(seed, /*replace=*/false, work);
      return s.ok() && config_.settle ? Settle(work) : s;
    }
    case SqlPhase::kGet:
      return Get(seed, work);
    case SqlPhase::kGetMissing:
      return GetMissing(seed, work);
    case SqlPhase::kRange:
      return Range(seed, work);
    case SqlPhase::kScan:
      return Scan(work);
    case SqlPhase::kDelete:
      return Delete(seed, work);
  }
  return Status::InvalidArgument("unknown phase");
}

}  // namespace strata::bench
