// The strata virtual table module.
//
//   .load ./build/strata
//   CREATE VIRTUAL TABLE kv USING strata;                 -- key PRIMARY KEY, value
//   CREATE VIRTUAL TABLE users USING strata(id INTEGER PRIMARY KEY, name TEXT, email TEXT);
//   CREATE VIRTUAL TABLE events USING strata(user_id INTEGER, ts INTEGER, body BLOB,
//                                            PRIMARY KEY (user_id, ts), sync=normal);
//   SELECT * FROM users WHERE id = 1;                     -- a point get in the LSM store
//
// Each table is a key range of a store (extension/store.h) shared by every strata table
// of the database file. The declared schema seen by SQLite is the user's columns plus
// a hidden column holding the encoded primary key, which is the table's single-column
// PRIMARY KEY (SQLite requires that of a writable WITHOUT ROWID virtual table); this
// module enforces and presents the user's key columns. Rows: key = table prefix +
// key_codec encoding of the key columns; value = row_codec encoding of the others.
//
// Transactions: writes go to the connection's TransactionBuffer for the store (seen by
// its own reads), are written durably as a pending record at xSync together with its
// id in the store's commit log (a table of the main database, see CommitLog), and
// applied at xCommit. On open, pending records whose id the main database committed
// are applied, the rest discarded, so a transaction over strata and ordinary tables
// commits atomically.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "extension/affinity_codec.h"
#include "extension/best_index_plan.h"
#include "extension/key_codec.h"
#include "extension/row_codec.h"
#include "extension/sqlite_bridge.h"
#include "extension/sqlite_connection.h"
#include "extension/sqlite_vtab.h"
#include "extension/store.h"
#include "extension/table_schema.h"
#include "strata/db.h"

namespace strata::sql {
namespace {

constexpr const char* kCommitLogTable = "strata_commit_log";
constexpr const char* kDatabaseIdTable = "strata_database_id";

// A store's commit log: a one-row ordinary table in the database of the store's tables
// holding the id of the last transaction whose pending record the main database
// committed, as 8 big-endian bytes. One per store, since transaction ids are counted
// per store and each store resolves its pending records when it opens: a database
// with tables in two stores has two logs. Named strata_commit_log_<id> after the id the
// store's owner record keeps; a store claimed before logs were per store (and an
// in-memory store, one per database) uses strata_commit_log.
struct CommitLog {
  std::string schema_name;
  std::string table_name;

  std::string QualifiedName() const;
};

// Buffers xUpdate reuses from row to row, so that a write allocates nothing once they
// have grown. SQLite calls a table's xUpdate from one thread at a time, never nested.
struct WriteScratch {
  std::vector<SqlValue> values;      // every column, after affinity
  std::vector<std::string> buffers;  // text produced by the affinity conversions
  std::vector<SqlValue> row_values;  // the non-key columns
  std::vector<KeyColumnOverride> overrides;
  std::string key;
  std::string previous_key;  // the row an UPDATE or DELETE replaces
  std::string row;
  std::string probe;  // the value KeyExists reads and ignores
};

struct StrataCursor;
struct CursorDeleter {
  void operator()(StrataCursor* cursor) const;
};

struct StrataTable {
  sqlite3_vtab base;  // must come first: SQLite sees a sqlite3_vtab*
  sqlite3* db = nullptr;
  std::shared_ptr<ConnectionState> connection;
  std::shared_ptr<Store> store;
  bool store_is_durable = false;  // on disk: commits go through the commit log
  std::string schema_name;        // "main", "temp", or an attached database
  CommitLog commit_log;           // the store's, in database schema_name
  std::string table_name;
  TableSchema schema;
  uint32_t table_id = 0;
  std::string prefix;        // every row key starts with it
  std::string prefix_end;    // first key after the table
  std::vector<int> key_columns;    // user column indexes in key order
  std::vector<int> value_columns;  // the other user columns, in schema order
  std::vector<int> value_index;    // user column -> index among value columns, or -1
  std::vector<int> key_position;   // user column -> position in the key, or -1
  int hidden_key_column = 0;       // index of the hidden encoded-key column
  WriteScratch write;
  // The last closed cursor, reopened by the next xOpen: SQLite opens a cursor for every
  // execution of a statement, and a point SELECT would otherwise allocate the cursor
  // and its buffers each time (xOpen and xClose of one table run on its connection,
  // never concurrently).
  std::unique_ptr<StrataCursor, CursorDeleter> idle_cursor;
};

StrataTable* AsTable(sqlite3_vtab* vtab) { return reinterpret_cast<StrataTable*>(vtab); }

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Sets the table's error message and returns the SQLite code for s.
int Fail(StrataTable* table, const Status& s) {
  SetErrorMessage(&table->base.zErrMsg, "strata table " + table->table_name + ": " +
                                            s.ToString());
  return SqliteCode(s);
}

int FailConstraint(StrataTable* table, int code, const std::string& message) {
  SetErrorMessage(&table->base.zErrMsg, message);
  return code;
}

// Runs sql on the table's connection (e.g. the commit log); returns the SQLite code.
int Exec(sqlite3* db, const std::string& sql, char** error) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, error);
}

// Where the store of database `schema_name` lives: next to its file, or in memory
// for :memory: and temp databases.
void StoreLocation(sqlite3* db, const std::string& schema_name, const TableSchema& schema,
                   std::string* path, bool* in_memory) {
  const char* file = sqlite3_db_filename(db, schema_name.c_str());
  if (!schema.options.dir.empty()) {
    *path = schema.options.dir;
    *in_memory = false;
  } else if (file == nullptr || file[0] == '\0' || schema_name == "temp") {
    // Named after the database's pager file, which connections to one shared-cache
    // in-memory database have in common (and which lives as long as the database).
    sqlite3_file* pager_file = nullptr;
    sqlite3_file_control(db, schema_name.c_str(), SQLITE_FCNTL_FILE_POINTER, &pager_file);
    char name[96];
    std::snprintf(name, sizeof(name), "memory:%p:%p", static_cast<void*>(pager_file),
                  static_cast<void*>(db));
    if (pager_file != nullptr) {
      std::snprintf(name, sizeof(name), "memory:%p", static_cast<void*>(pager_file));
    }
    *path = name;
    *in_memory = true;
  } else {
    *path = std::string(file) + "-strata";
    *in_memory = false;
  }
}

StoreOptions ToStoreOptions(const TableSchema& schema) {
  StoreOptions options;
  options.sync = schema.options.sync;
  options.write_buffer_size = schema.options.write_buffer_size;
  options.block_cache_size = schema.options.block_cache_size;
  options.compression_level = schema.options.compression_level;
  options.compression_algorithm = schema.options.compression_algorithm;
  options.bloom_bits_per_key = schema.options.bloom_bits_per_key;
  return options;
}

// The commit log is written with incremental blob I/O, which is no
// INSERT/UPDATE/DELETE: sqlite3_changes() and sqlite3_total_changes() stay the user's.
std::string CommitLog::QualifiedName() const {
  return QuoteIdentifier(schema_name) + "." + QuoteIdentifier(table_name);
}

CommitLog CommitLogOf(const std::string& schema_name, const std::string& commit_log_id) {
  std::string table_name = kCommitLogTable;
  if (!commit_log_id.empty()) table_name += "_" + commit_log_id;
  return {schema_name, table_name};
}

// The transaction id the commit log holds as this connection sees it into *committed;
// 0 if the database has no log (no strata table was ever created in it, so nothing
// committed). An error if the log cannot be read, e.g. SQLITE_BUSY while another
// connection holds the database's exclusive lock: "nothing committed" would have the
// caller discard a committed transaction.
Status ReadCommitLog(sqlite3* db, const CommitLog& log, uint64_t* committed) {
  *committed = 0;
  std::string sql = "SELECT txid FROM " + log.QualifiedName() + " LIMIT 1";
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc == SQLITE_ERROR && std::string_view(sqlite3_errmsg(db)).starts_with("no such table")) {
    return Status::OK();
  }
  int bytes = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) bytes = sqlite3_column_bytes(stmt, 0);
    if (bytes == 8) {
      const auto* id = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, 0));
      for (int i = 0; i < 8; i++) *committed = (*committed << 8) | id[i];
    }
  }
  const std::string error = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_DONE || (rc == SQLITE_ROW && bytes == 8)) return Status::OK();
  if (rc == SQLITE_ROW) {
    return Status::Corruption(log.table_name + " holds a malformed transaction id");
  }
  const std::string message = "cannot read " + log.table_name + ": " + error;
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? Status::Busy(message)
                                                            : Status::IOError(message);
}

// Applies or discards the pending transactions in the store, asking the main database
// which one committed. Writers are serialized and every commit applies its record, so
// when nobody is between an xSync and its xCommit at most the last recorded id can be
// pending and committed.
Status RecoverPendingTransactions(sqlite3* db, const CommitLog& log, Store* store) {
  std::vector<uint64_t> pending;
  Status s = store->ListPending(&pending);
  if (!s.ok() || pending.empty()) return s;
  uint64_t committed = 0;
  s = ReadCommitLog(db, log, &committed);
  if (!s.ok()) return s;
  for (uint64_t txid : pending) {
    s = txid == committed ? store->ApplyPending(txid) : store->DiscardPending(txid);
    if (!s.ok()) break;
  }
  return s;
}

// ---------------------------------------------------------------------------------
// Schema changes. SQLite runs CREATE VIRTUAL TABLE, DROP TABLE and ALTER TABLE ... RENAME
// inside a statement of the database, and calls no virtual-table method when a DROP or
// RENAME commits or rolls back. So:
//   - inside an explicit transaction (BEGIN or SAVEPOINT) they are refused: a ROLLBACK
//     (or ROLLBACK TO) would restore SQLite's schema with no way for the store to follow;
//   - in autocommit mode (the statement is its own transaction, which can still fail at
//     its commit, be vetoed by a commit hook or be cut by a crash) the store changes at
//     once only what is right either way (CREATE: a new entry, stale if SQLite does not
//     keep the table; RENAME: a second name); the rest (removing a dropped table or the
//     old name) is a pending transaction whose id the statement writes into the commit
//     log, so it is applied only once the database committed it: by the next writing
//     transaction or schema change of the store, or when the store is next opened;
//   - like SQLite's, they exclude every writer: they hold the database's write lock, and
//     the store's writer slot for their callback (HeldWriterSlot). A transaction of
//     another connection therefore never has uncommitted writes to a table being dropped
//     or renamed, and never overwrites the commit log before a schema change in it is
//     applied (its first write applies those, see ApplyCommittedSchemaChanges).

// Resolves every pending transaction against the commit log and deletes the rows of
// the tables whose drop it applied. Only where no transaction of another connection is
// between its xSync and its xCommit, and no schema change between its callback and its
// commit: holding the store's writer slot (see HeldWriterSlot), and either the
// database's write lock too (a schema change, a transaction's first write) or, to
// recover a store just opened, before any schema change (the first one resolves and
// marks the store recovered).
Status ResolvePendingTransactions(sqlite3* db, const CommitLog& log, Store* store) {
  std::vector<uint64_t> unresolved = store->UnresolvedSchemaChanges();
  Status s = RecoverPendingTransactions(db, log, store);
  if (s.ok()) s = store->FinishDrops();
  if (!s.ok()) return s;
  if (!unresolved.empty()) {
    store->ForgetSchemaChanges(*std::max_element(unresolved.begin(), unresolved.end()));
  }
  store->MarkRecovered();  // what a crash left is resolved too
  return s;
}

// Applies the schema changes of this process whose commit the log shows, without the
// database's write lock (at the start of a writing transaction): a change the log
// names has committed; one older than the log's id can never be decided any more (its
// statement ended before a later transaction wrote the log) and is discarded, leaving
// at worst a stale name and its rows for the next schema change or open to remove.
// Younger ones may still be running and wait.
Status ApplyCommittedSchemaChanges(sqlite3* db, const CommitLog& log, Store* store) {
  std::vector<uint64_t> unresolved = store->UnresolvedSchemaChanges();
  if (unresolved.empty()) return Status::OK();
  uint64_t committed = 0;
  Status s = ReadCommitLog(db, log, &committed);
  if (!s.ok()) return s;
  bool applied = false;
  for (uint64_t txid : unresolved) {
    if (txid > committed) continue;
    s = txid == committed ? store->ApplyPending(txid) : store->DiscardPending(txid);
    if (!s.ok()) return s;
    applied = applied || txid == committed;
  }
  store->ForgetSchemaChanges(committed);
  return applied ? store->FinishDrops() : Status::OK();
}

// SQLITE_ERROR with a message if the connection is inside an explicit transaction.
int RefuseInsideTransaction(sqlite3* db, const std::string& table_name, const char* statement,
                            char** error) {
  if (sqlite3_get_autocommit(db) != 0) return SQLITE_OK;
  SetErrorMessage(error, "strata table " + table_name + ": " + statement +
                             " inside a transaction is not supported (the store could not "
                             "follow a ROLLBACK of it): run it outside a transaction");
  return SQLITE_ERROR;
}

// The file of database `schema_name`; empty for an in-memory or temp database.
std::string DatabasePath(sqlite3* db, const std::string& schema_name) {
  const char* file = sqlite3_db_filename(db, schema_name.c_str());
  return file == nullptr ? std::string() : std::string(file);
}

// The database's id (strata_database_id, one row made with its first strata table whose
// store is on disk); empty if it has none yet.
std::string ReadDatabaseId(sqlite3* db, const std::string& schema_name) {
  std::string sql = "SELECT id FROM " + QuoteIdentifier(schema_name) + "." + kDatabaseIdTable;
  sqlite3_stmt* stmt = nullptr;
  std::string id;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_BLOB) {
    id.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
              sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return id;
}

// Lowercase hexadecimal digits of `bytes`.
std::string HexOf(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) hex += {kHex[c >> 4], kHex[c & 15]};
  return hex;
}

// Gives the database the id `id` (a new random one if empty), inside the statement's
// transaction, and returns it in *id. CREATE TABLE ... AS counts no changes.
Status RecordDatabaseId(sqlite3* db, const std::string& schema_name, std::string* id) {
  const std::string value = id->empty() ? "randomblob(16)" : "x'" + HexOf(*id) + "'";
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(schema_name) + "." +
                    kDatabaseIdTable + " AS SELECT " + value + " AS id";
  char* message = nullptr;
  int rc = Exec(db, sql, &message);
  std::string error = message != nullptr ? message : "";
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    return Status::IOError("cannot record the database's id in " + std::string(kDatabaseIdTable) +
                           ": " + error);
  }
  *id = ReadDatabaseId(db, schema_name);
  if (id->empty()) {
    return Status::Corruption(std::string(kDatabaseIdTable) + " holds no id");
  }
  return Status::OK();
}

// A fresh commit log id: Store::kCommitLogIdSize random hex digits.
std::string RandomCommitLogId() {
  char random[Store::kCommitLogIdSize / 2];
  sqlite3_randomness(sizeof(random), random);
  return HexOf(std::string_view(random, sizeof(random)));
}

// The commit log id for a store without an owner being claimed: a fresh one, or empty
// (the database's shared log) for a store that was written before owners were
// recorded, whose pending records that log decides.
Status NewCommitLogId(Store* store, std::string* commit_log_id) {
  commit_log_id->clear();
  std::vector<Store::TableEntry> tables;
  std::vector<uint64_t> pending;
  Status s = store->ListTables(&tables);
  if (s.ok()) s = store->ListPending(&pending);
  if (!s.ok() || !tables.empty() || !pending.empty()) return s;
  *commit_log_id = RandomCommitLogId();
  return Status::OK();
}

// A store belongs to one database: recovery decides its pending transactions with the
// commit log of that database, so another database's log would apply or discard them
// wrongly. The database and the store keep the same random id, so copying or moving a
// database together with its store keeps working; the store also remembers where its
// database was, for messages and for the first CREATE after a crash (below). *log gets
// the store's commit log.
Status CheckStoreOwner(sqlite3* db, const std::string& schema_name, Store* store, bool create,
                       CommitLog* log) {
  const std::string path = DatabasePath(db, schema_name);
  std::string database_id = ReadDatabaseId(db, schema_name);
  Store::Owner owner;
  bool found = false;
  Status s = store->ReadOwner(&owner, &found);
  if (!s.ok()) return s;
  if (!found) {
    *log = CommitLogOf(schema_name, "");  // a store from before owners were recorded
    if (!create) return Status::OK();
    std::string commit_log_id;
    s = NewCommitLogId(store, &commit_log_id);
    if (s.ok() && database_id.empty()) s = RecordDatabaseId(db, schema_name, &database_id);
    if (s.ok()) s = store->ClaimOwner({database_id, path, commit_log_id}, &owner);
    if (!s.ok()) return s;
  }
  *log = CommitLogOf(schema_name, owner.commit_log_id);
  if (owner.database_id == database_id) {
    return owner.database_path == path ? Status::OK() : store->UpdateOwnerPath(path);
  }
  if (database_id.empty() && !path.empty() && owner.database_path == path) {
    // This database claimed the store in a CREATE that did not commit (a crash or a
    // rollback took the id back out of the database): take the store's id.
    database_id = owner.database_id;
    return create ? RecordDatabaseId(db, schema_name, &database_id) : Status::OK();
  }
  if (create && !path.empty() && owner.database_path == path) {
    // The owner was an earlier database at this path: this one's first CREATE that did
    // not commit before a table in another store gave the database an id, or a
    // database file deleted while its store stayed. Unless the store holds rows or
    // pending records, nothing of that owner can be lost: this database takes it over.
    bool unused = false;
    s = store->IsUnused(&unused);
    if (!s.ok()) return s;
    if (unused) {
      const std::string commit_log_id =
          owner.commit_log_id.empty() ? RandomCommitLogId() : owner.commit_log_id;
      s = store->ReplaceOwner({database_id, path, commit_log_id});
      if (s.ok()) *log = CommitLogOf(schema_name, commit_log_id);
      return s;
    }
  }
  return Status::InvalidArgument(
      "store " + store->path() + " belongs to another database (" +
      (owner.database_path.empty() ? std::string("an in-memory database") : owner.database_path) +
      "), not to " + (path.empty() ? std::string("this in-memory database") : path) +
      ": give this database's tables a store of their own (dir=)");
}

int RecordCommitId(StrataTable* table, uint64_t txid);
int BusyTimeoutMillis(sqlite3* db);

// The store's writer slot, held by a schema change (CREATE, DROP, RENAME) for the
// length of its callback, as SQLite's schema changes hold the database's write lock,
// and by the recovery of a store just opened. The lock alone leaves a window: SQLite
// commits the database and releases its lock before it calls xCommit, so a writer on
// another connection (thread) can be between its commit and its xCommit, its pending
// record committed but not yet applied. A schema change resolving pending transactions
// there would apply that record and the writer's xCommit would write it again after
// the schema change: after a dropped table's rows are deleted, say, bringing them back
// under the dropped id. Holding the slot, the schema change waits for that xCommit (up
// to the busy timeout, then SQLITE_BUSY). Nobody can take the slot between the callback
// and the statement's commit, as every writer takes the database's write lock first.
class HeldWriterSlot {
 public:
  explicit HeldWriterSlot(StrataTable* table)
      : store_(table->store), connection_(table->connection) {
    // A transaction of this connection that writes the store holds the slot already.
    if (connection_->WritingTransaction(store_.get()) != nullptr) return;
    status_ = store_->BeginWrite(connection_.get(),
                                 std::chrono::milliseconds(BusyTimeoutMillis(table->db)));
    held_ = status_.ok();
  }
  ~HeldWriterSlot() {
    if (held_) store_->EndWrite(connection_.get());
  }
  HeldWriterSlot(const HeldWriterSlot&) = delete;
  HeldWriterSlot& operator=(const HeldWriterSlot&) = delete;
  const Status& status() const { return status_; }

 private:
  // Copies: xDestroy deletes the table while the slot is held.
  std::shared_ptr<Store> store_;
  std::shared_ptr<ConnectionState> connection_;
  Status status_;
  bool held_ = false;
};

// Writes `on_commit` as a pending transaction and records its id in the commit log,
// inside the schema-changing statement's transaction. Returns the SQLite code.
int WriteSchemaChange(StrataTable* table, const WriteBatch& on_commit) {
  uint64_t txid = 0;
  Status s = table->store->NewTransactionId(&txid);
  if (s.ok()) s = table->store->WritePending(txid, on_commit);
  if (!s.ok()) return Fail(table, s);
  int rc = RecordCommitId(table, txid);
  if (rc != SQLITE_OK) {
    table->store->DiscardPending(txid);
    return rc;
  }
  table->store->AddUnresolvedSchemaChange(txid);
  return SQLITE_OK;
}

void FillColumnMaps(StrataTable* table) {
  const auto& columns = table->schema.columns;
  table->hidden_key_column = static_cast<int>(columns.size());
  table->key_columns = table->schema.key_columns;
  table->value_index.assign(columns.size(), -1);
  table->key_position.assign(columns.size(), -1);
  for (size_t k = 0; k < table->key_columns.size(); k++) {
    table->key_position[table->key_columns[k]] = static_cast<int>(k);
  }
  for (size_t i = 0; i < columns.size(); i++) {
    if (table->key_position[i] >= 0) continue;
    table->value_index[i] = static_cast<int>(table->value_columns.size());
    table->value_columns.push_back(static_cast<int>(i));
  }
}

// xCreate (create = true) and xConnect.
int CreateOrConnect(sqlite3* db, void* aux, int argc, const char* const* argv,
                    sqlite3_vtab** out, char** error, bool create) {
  auto connection = *static_cast<std::shared_ptr<ConnectionState>*>(aux);
  std::vector<std::string_view> args;
  for (int i = 3; i < argc; i++) args.emplace_back(argv[i]);
  auto table = std::make_unique<StrataTable>();
  std::memset(&table->base, 0, sizeof(table->base));
  table->db = db;
  table->connection = connection;
  table->schema_name = argv[1];
  table->table_name = argv[2];
  Status s = ParseTableSchema(table->table_name, args, &table->schema);
  if (!s.ok()) {
    SetErrorMessage(error, s.message());
    return SQLITE_ERROR;
  }
  FillColumnMaps(table.get());
  if (create) {
    int rc = RefuseInsideTransaction(db, table->table_name, "CREATE VIRTUAL TABLE", error);
    if (rc != SQLITE_OK) return rc;
  }

  std::string path;
  bool in_memory;
  StoreLocation(db, table->schema_name, table->schema, &path, &in_memory);
  table->store_is_durable = !in_memory;
  s = Store::Acquire(path, in_memory, ToStoreOptions(table->schema), &table->store);
  if (s.ok()) {
    // Only options this table states must match the open store's.
    StoreOptions requested = table->store->options();
    const TableOptions& given = table->schema.options;
    if (given.given.sync) requested.sync = given.sync;
    if (given.given.write_buffer_size) requested.write_buffer_size = given.write_buffer_size;
    if (given.given.block_cache_size) requested.block_cache_size = given.block_cache_size;
    if (given.given.compression) {
      requested.compression_level = given.compression_level;
      requested.compression_algorithm = given.compression_algorithm;
    }
    if (given.given.bloom_bits_per_key) requested.bloom_bits_per_key = given.bloom_bits_per_key;
    std::string conflict = table->store->OptionsConflict(requested);
    if (!conflict.empty()) s = Status::InvalidArgument(conflict);
  }
  // Before recovery: another database's commit log must not decide this store's
  // pending transactions.
  table->commit_log = CommitLogOf(table->schema_name, "");  // an in-memory store's
  if (s.ok() && table->store_is_durable) {
    s = CheckStoreOwner(db, table->schema_name, table->store.get(), create, &table->commit_log);
  }
  if (s.ok() && table->store_is_durable && table->store->NeedsRecovery()) {
    // Holding the slot, so that no transaction writes before the recovery.
    HeldWriterSlot slot(table.get());
    s = slot.status();
    // Another connection may have recovered the store while this one waited.
    if (s.ok() && table->store->NeedsRecovery()) {
      s = ResolvePendingTransactions(db, table->commit_log, table->store.get());
    }
  }
  if (!s.ok()) {
    SetErrorMessage(error, "strata table " + table->table_name + ": " + s.ToString());
    return SqliteCode(s);
  }

  // SQLite disconnects every virtual table after some schema errors; an in-memory
  // store must not vanish with its last table while the connection lives.
  if (in_memory) connection->KeepAlive(table->store);

  Store::TableEntry entry;
  if (create) {
    // Also for in-memory stores: DROP and RENAME record their pending changes in it.
    // CREATE TABLE ... AS counts no changes, unlike an INSERT.
    std::string sql = "CREATE TABLE IF NOT EXISTS " + table->commit_log.QualifiedName() +
                      " AS SELECT zeroblob(8) AS txid";
    int rc = Exec(db, sql, error);
    if (rc != SQLITE_OK) return rc;
    // The statement holds the database's write lock and, with the slot, no other
    // connection is committing: every earlier schema change and commit is decided.
    HeldWriterSlot slot(table.get());
    s = slot.status();
    if (s.ok()) s = ResolvePendingTransactions(db, table->commit_log, table->store.get());
    // SQLite's schema decides what exists: a catalog entry without a SQLite table is
    // stale (see Store::RemoveStaleName).
    if (s.ok()) s = table->store->RemoveStaleName(table->table_name);
    if (s.ok()) s = table->store->CreateTable(table->table_name, table->schema.Serialize(), &entry);
  } else {
    s = table->store->FindTable(table->table_name, &entry);
    if (s.IsNotFound()) {
      s = Status::NotFound("not in the store at " + table->store->path() +
                           " (the store directory is missing or belongs to another database)");
    } else if (s.ok()) {
      TableSchema stored;
      std::string difference;
      s = TableSchema::Deserialize(entry.schema, &stored);
      if (s.ok() && !table->schema.SameShape(stored, &difference)) {
        s = Status::InvalidArgument("schema disagrees with the store's catalog: " + difference);
      }
    }
  }
  if (!s.ok()) {
    SetErrorMessage(error, "strata table " + table->table_name + ": " + s.ToString());
    return SqliteCode(s);
  }
  table->table_id = entry.id;
  table->prefix = Store::TableKeyPrefix(entry.id);
  table->prefix_end = Store::TableKeyPrefix(entry.id + 1);

  int rc = sqlite3_declare_vtab(db, table->schema.DeclareVtabSql().c_str());
  if (rc != SQLITE_OK) {
    SetErrorMessage(error, "strata table " + table->table_name +
                               ": cannot declare schema: " + sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  connection->RegisterTable(table->table_name,
                            {table->store, table->prefix, table->prefix_end, table.get()});
  *out = &table.release()->base;
  return SQLITE_OK;
}

int xCreate(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
            char** error) {
  return CreateOrConnect(db, aux, argc, argv, out, error, /*create=*/true);
}

int xConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
             char** error) {
  return CreateOrConnect(db, aux, argc, argv, out, error, /*create=*/false);
}

int xDisconnect(sqlite3_vtab* vtab) {
  StrataTable* table = AsTable(vtab);
  table->connection->UnregisterTable(table->table_name, table);
  delete table;
  return SQLITE_OK;
}

// DROP TABLE: the table's rows stay until the drop is known to have committed (see
// "Schema changes" above).
int xDestroy(sqlite3_vtab* vtab) {
  StrataTable* table = AsTable(vtab);
  int rc =
      RefuseInsideTransaction(table->db, table->table_name, "DROP TABLE", &table->base.zErrMsg);
  if (rc != SQLITE_OK) return rc;
  HeldWriterSlot slot(table);
  Status s = slot.status();
  if (s.ok()) s = ResolvePendingTransactions(table->db, table->commit_log, table->store.get());
  if (!s.ok()) return Fail(table, s);
  WriteBatch on_commit;
  s = table->store->PrepareDropTable(table->table_name, &on_commit);
  if (!s.ok() && !s.IsNotFound()) return Fail(table, s);
  if (s.ok()) {
    rc = WriteSchemaChange(table, on_commit);
    if (rc != SQLITE_OK) return rc;
  }
  table->connection->UnregisterTable(table->table_name, table);
  delete table;
  return SQLITE_OK;
}

// ALTER TABLE ... RENAME: the new name works at once, the old one goes once the rename
// is known to have committed (see "Schema changes" above).
int xRename(sqlite3_vtab* vtab, const char* new_name) {
  StrataTable* table = AsTable(vtab);
  int rc = RefuseInsideTransaction(table->db, table->table_name, "ALTER TABLE ... RENAME",
                                   &table->base.zErrMsg);
  if (rc != SQLITE_OK) return rc;
  HeldWriterSlot slot(table);
  Status s = slot.status();
  if (s.ok()) s = ResolvePendingTransactions(table->db, table->commit_log, table->store.get());
  WriteBatch on_commit;
  if (s.ok()) s = table->store->PrepareRenameTable(table->table_name, new_name, &on_commit);
  if (!s.ok()) return Fail(table, s);
  if (on_commit.Count() > 0) {
    rc = WriteSchemaChange(table, on_commit);
    if (rc != SQLITE_OK) return rc;
  }
  table->connection->UnregisterTable(table->table_name, table);
  table->table_name = new_name;
  table->connection->RegisterTable(table->table_name,
                                   {table->store, table->prefix, table->prefix_end, table});
  return SQLITE_OK;
}

// ---------------------------------------------------------------------------------
// Planning: translate sqlite3_index_info to and from best_index_plan.h.

PlanOp ToPlanOp(unsigned char op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return PlanOp::kEq;
    case SQLITE_INDEX_CONSTRAINT_GT: return PlanOp::kGt;
    case SQLITE_INDEX_CONSTRAINT_GE: return PlanOp::kGe;
    case SQLITE_INDEX_CONSTRAINT_LT: return PlanOp::kLt;
    case SQLITE_INDEX_CONSTRAINT_LE: return PlanOp::kLe;
    case SQLITE_INDEX_CONSTRAINT_IS: return PlanOp::kIs;
    case SQLITE_INDEX_CONSTRAINT_ISNULL: return PlanOp::kIsNull;
    case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return PlanOp::kIsNotNull;
    case SQLITE_INDEX_CONSTRAINT_NE: return PlanOp::kNe;
    case SQLITE_INDEX_CONSTRAINT_LIMIT: return PlanOp::kLimit;
    case SQLITE_INDEX_CONSTRAINT_OFFSET: return PlanOp::kOffset;
    default: return PlanOp::kOther;
  }
}

// Rows of the table, estimated from the bytes of its own key range (the planner's costs
// only need the order of magnitude, but a small table must look small next to a big
// one in the same store, or joins put it in the inner loop): about 150 bytes per row.
// At least 10, as even an empty table costs a seek; 0 (unknown) if the store cannot say.
uint64_t EstimateTableRows(StrataTable* table) {
  uint64_t bytes = 0;
  Status s = table->store->db()->GetApproximateSize(table->prefix, table->prefix_end, &bytes);
  if (!s.ok()) return 0;
  return std::max<uint64_t>(10, bytes / 150);
}

// A TEXT key compared with a column of other affinity (a join) is converted
// differently by SQLite than our TEXT conversion assumes: SQLite must re-check it.
bool RecheckedBySqlite(const StrataTable* table, int column) {
  return column >= 0 && column < table->hidden_key_column &&
         table->schema.columns[column].affinity == Affinity::kText;
}

int xBestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  StrataTable* table = AsTable(vtab);
  PlanInput input;
  input.key_columns = table->key_columns;
  input.hidden_key_column = table->hidden_key_column;
  for (const auto& column : table->schema.columns) input.column_names.push_back(column.name);
  input.column_names.push_back(std::string(kHiddenKeyColumnName));
  input.distinct = static_cast<PlanDistinct>(sqlite3_vtab_distinct(info));
  for (int i = 0; i < info->nConstraint; i++) {
    const auto& c = info->aConstraint[i];
    PlanConstraint constraint;
    constraint.column = c.iColumn;
    constraint.op = ToPlanOp(c.op);
    constraint.usable = c.usable != 0;
    if (constraint.op == PlanOp::kEq && c.usable && sqlite3_vtab_in(info, i, -1)) {
      constraint.op = PlanOp::kIn;
    }
    const char* collation = sqlite3_vtab_collation(info, i);
    constraint.collation_is_binary =
        collation == nullptr || sqlite3_stricmp(collation, "BINARY") == 0;
    // A row value `(a,b) > (x,y)` arrives as an `a >= x` whose value is never known.
    sqlite3_value* rhs = nullptr;
    constraint.rhs_value_known = c.usable && sqlite3_vtab_rhs_value(info, i, &rhs) == SQLITE_OK;
    constraint.sqlite_rechecks = RecheckedBySqlite(table, c.iColumn);
    input.constraints.push_back(constraint);
  }
  for (int i = 0; i < info->nOrderBy; i++) {
    input.order_by.push_back({info->aOrderBy[i].iColumn, info->aOrderBy[i].desc != 0});
  }
  input.estimated_table_rows = EstimateTableRows(table);
  // Only an SQLite that passes LIMIT/OFFSET where stopping early is right; 3.40.1 does
  // not (docs/planning.md). The running library, not the headers we were built with.
  input.allow_limit_offset = SqlitePassesLimitOffsetSafely(sqlite3_libversion_number());

  BestIndexPlan plan = PlanBestIndex(input);
  for (int i = 0; i < info->nConstraint; i++) {
    info->aConstraintUsage[i].argvIndex = plan.constraint_usage[i].argv_index;
    info->aConstraintUsage[i].omit = plan.constraint_usage[i].omit ? 1 : 0;
    if (input.constraints[i].sqlite_rechecks) info->aConstraintUsage[i].omit = 0;
    if (plan.constraint_usage[i].in_all_at_once) sqlite3_vtab_in(info, i, 1);
  }
  info->orderByConsumed = plan.order_by_consumed ? 1 : 0;
  info->estimatedCost = plan.estimated_cost;
  info->estimatedRows = static_cast<sqlite3_int64>(plan.estimated_rows);
  if (plan.unique) info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  info->idxNum = plan.idx_num;
  std::string idx_str = plan.idx_str;
  info->idxStr = sqlite3_mprintf("%s", idx_str.c_str());
  info->needToFreeIdxStr = 1;
  return SQLITE_OK;
}

// ---------------------------------------------------------------------------------
// Cursors.

// One key range to visit: [lower, upper), or one exact key (a point get).
struct KeyRange {
  std::string lower;
  std::string upper;
  bool point = false;
};

struct StrataCursor {
  sqlite3_vtab_cursor base;  // must come first
  StrataTable* table = nullptr;
  const Snapshot* snapshot = nullptr;

  std::vector<KeyRange> ranges;  // visited in order (already reversed for DESC)
  size_t range_index = 0;
  bool descending = false;
  // False for a full scan: the table may be larger than the block cache, and its blocks
  // would only push out the ones point reads reuse.
  bool fill_cache = true;
  std::unique_ptr<Iterator> iter;  // over the current non-point range
  // The current range's far bound (upper ascending, lower descending) is the table's
  // edge: then a key is inside exactly if it has the table's prefix, a 4-byte compare
  // instead of a string comparison for every row of a full scan.
  bool bound_is_table_edge = false;
  int64_t limit = -1;              // rows still to return; -1 = no limit
  int64_t offset = 0;              // rows still to skip

  bool eof = true;
  // The current row's full key and encoded non-key columns: views into the iterator's
  // current entry (valid until it moves: the merged iterator keeps its current entry
  // when the transaction buffer changes), or into the point range's key and
  // point_value for a point get. Not copied: a scan reads each row once.
  std::string_view key;
  std::string_view value;
  std::string point_value;
  bool key_decoded = false;  // key_values hold the key columns of the current row
  bool row_reset = false;    // row reads the current row's value
  std::vector<SqlValue> key_values;
  std::vector<std::string> key_scratch;
  RowReader row;
  std::string text_buffer;
  Status status;
  // The last plan xFilter decoded and the idxNum/idxStr it came from: a statement run
  // again (a reopened cursor's usual next statement) skips decoding its plan. A pure
  // function of those and the table's key, so kept when the cursor is reopened.
  bool plan_decoded = false;
  int plan_idx_num = 0;
  std::string plan_idx_str;
  DecodedPlan plan;
};

StrataCursor* AsCursor(sqlite3_vtab_cursor* cursor) {
  return reinterpret_cast<StrataCursor*>(cursor);
}

void CursorDeleter::operator()(StrataCursor* cursor) const { delete cursor; }

int xOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  StrataTable* table = AsTable(vtab);
  std::unique_ptr<StrataCursor, CursorDeleter> cursor = std::move(table->idle_cursor);
  if (cursor == nullptr) {
    cursor.reset(new StrataCursor());
    cursor->table = table;
    cursor->key_values.resize(table->key_columns.size());
    cursor->key_scratch.resize(table->key_columns.size());
  }
  std::memset(&cursor->base, 0, sizeof(cursor->base));
  // One snapshot per cursor: a statement's reads (e.g. every probe of a join's inner
  // loop) see one consistent state of the store.
  cursor->snapshot = table->store->db()->GetSnapshot();
  *out = &cursor.release()->base;
  return SQLITE_OK;
}

// A parked cursor keeps its buffers for the next statement, but not one that a big
// statement grew (an IN list of many keys, a row of megabytes): that memory would stay
// with the table until its connection closes.
constexpr size_t kMaxKeptCursorBuffer = 64 * 1024;

template <typename Buffer>
void DropIfLarge(Buffer* buffer, size_t capacity_bytes) {
  if (capacity_bytes > kMaxKeptCursorBuffer) Buffer().swap(*buffer);
}

// Parks a closed cursor for the next xOpen. Its per-statement fields need no reset:
// xFilter, which SQLite calls before anything reads a cursor, sets every one of them up,
// as it does each time a join's inner loop filters one open cursor again. Parking only
// lets go of what the last statement held: its snapshot, its ranges' keys, and any
// buffer it grew past kMaxKeptCursorBuffer.
void ParkClosedCursor(StrataCursor* cursor) {
  cursor->snapshot = nullptr;
  cursor->ranges.clear();
  DropIfLarge(&cursor->ranges, cursor->ranges.capacity() * sizeof(KeyRange));
  DropIfLarge(&cursor->point_value, cursor->point_value.capacity());
  DropIfLarge(&cursor->text_buffer, cursor->text_buffer.capacity());
  for (std::string& scratch : cursor->key_scratch) DropIfLarge(&scratch, scratch.capacity());
}

int xClose(sqlite3_vtab_cursor* base) {
  std::unique_ptr<StrataCursor, CursorDeleter> cursor(AsCursor(base));
  cursor->iter.reset();
  StrataTable* table = cursor->table;
  table->store->db()->ReleaseSnapshot(cursor->snapshot);
  if (table->idle_cursor == nullptr) {
    ParkClosedCursor(cursor.get());
    table->idle_cursor = std::move(cursor);
  }
  return SQLITE_OK;
}

// Reads key at the cursor's snapshot, through the connection's own buffered writes.
Status ReadRow(StrataCursor* cursor, const std::string& key, std::string* value, bool* found) {
  StrataTable* table = cursor->table;
  if (StoreTransaction* txn = table->connection->WritingTransaction(table->store.get())) {
    switch (txn->buffer.Get(key, value)) {
      case TransactionBuffer::Lookup::kValue: *found = true; return Status::OK();
      case TransactionBuffer::Lookup::kDeleted: *found = false; return Status::OK();
      case TransactionBuffer::Lookup::kAbsent: break;
    }
  }
  ReadOptions read;
  read.snapshot = cursor->snapshot;
  Status s = table->store->db()->Get(read, key, value);
  *found = s.ok();
  return s.IsNotFound() ? Status::OK() : s;
}

std::unique_ptr<Iterator> NewRangeIterator(StrataCursor* cursor) {
  StrataTable* table = cursor->table;
  ReadOptions read;
  read.snapshot = cursor->snapshot;
  read.fill_cache = cursor->fill_cache;
  std::unique_ptr<Iterator> it = table->store->db()->NewIterator(read);
  if (StoreTransaction* txn = table->connection->WritingTransaction(table->store.get())) {
    if (!txn->buffer.empty()) it = txn->buffer.NewMergedIterator(std::move(it));
  }
  return it;
}

// Whether key, met moving away from the current range's near bound, is still inside it.
inline bool InsideRange(const StrataCursor* cursor, const KeyRange& range, std::string_view key) {
  if (cursor->bound_is_table_edge) {
    constexpr size_t kPrefixSize = Store::kTableKeyPrefixSize;
    return key.size() >= kPrefixSize &&
           std::memcmp(key.data(), cursor->table->prefix.data(), kPrefixSize) == 0;
  }
  return cursor->descending ? key >= std::string_view(range.lower)
                            : key < std::string_view(range.upper);
}

// Moves to the next row in the current or following ranges; sets eof at the end.
void FindRow(StrataCursor* cursor, bool advance) {
  cursor->key_decoded = false;
  cursor->row_reset = false;
  // A scan's step, the path of nearly every row: the next entry of the range open now,
  // in one call through the whole iterator stack.
  if (advance && cursor->iter != nullptr && !cursor->descending) [[likely]] {
    std::string_view k, v;
    if (cursor->iter->NextEntry(&k, &v) &&
        InsideRange(cursor, cursor->ranges[cursor->range_index], k)) [[likely]] {
      cursor->key = k;
      cursor->value = v;
      cursor->eof = false;
      return;
    }
    advance = false;  // the loop below takes the iterator from where it stopped
  }
  while (cursor->range_index < cursor->ranges.size()) {
    const KeyRange& range = cursor->ranges[cursor->range_index];
    if (range.point) {
      if (!advance) {
        bool found = false;
        cursor->status = ReadRow(cursor, range.lower, &cursor->point_value, &found);
        if (!cursor->status.ok()) break;
        if (found) {
          cursor->key = range.lower;
          cursor->value = cursor->point_value;
          cursor->eof = false;
          return;
        }
      }
      advance = false;
      cursor->range_index++;
      continue;
    }
    if (cursor->iter == nullptr) {
      cursor->iter = NewRangeIterator(cursor);
      const StrataTable* table = cursor->table;
      cursor->bound_is_table_edge = cursor->descending ? range.lower == table->prefix
                                                       : range.upper == table->prefix_end;
      if (cursor->descending) {
        cursor->iter->Seek(range.upper);
        if (cursor->iter->Valid()) {
          cursor->iter->Prev();
        } else {
          cursor->iter->SeekToLast();
        }
      } else {
        cursor->iter->Seek(range.lower);
      }
      advance = false;
    }
    Iterator* it = cursor->iter.get();
    if (advance) {  // descending: ascending steps took the path above
      it->Prev();
      advance = false;
    }
    // The iterator started inside the range and moves away from its near bound.
    if (it->Valid() && InsideRange(cursor, range, it->key())) {
      cursor->key = it->key();
      cursor->value = it->value();
      cursor->eof = false;
      return;
    }
    cursor->status = it->status();
    if (!cursor->status.ok()) break;
    cursor->iter.reset();
    cursor->range_index++;
  }
  cursor->eof = true;
}

// Moves to the next row, honouring a pushed-down OFFSET and LIMIT.
void Step(StrataCursor* cursor, bool advance) {
  if (cursor->limit == 0) {
    cursor->eof = true;
    return;
  }
  FindRow(cursor, advance);
  while (!cursor->eof && cursor->offset > 0) {
    cursor->offset--;
    FindRow(cursor, true);
  }
  if (!cursor->eof && cursor->limit > 0) cursor->limit--;
}

// The affinity SQLite applies to the right-hand side when comparing it with a column
// of affinity `column`: NUMERIC for numeric columns (so 2^53+1 stays an integer
// against a REAL column), TEXT for TEXT columns (exact for literals and parameters;
// such constraints are not omitted, so SQLite re-checks the rows), none for BLOB.
Affinity ComparisonAffinity(Affinity column) {
  switch (column) {
    case Affinity::kInteger:
    case Affinity::kReal:
    case Affinity::kNumeric:
      return Affinity::kNumeric;
    case Affinity::kText:
      return Affinity::kText;
    case Affinity::kBlob:
      return Affinity::kBlob;
  }
  return Affinity::kBlob;
}

// ApplyAffinity for a value SQLite hands over, except that a REAL becomes TEXT as the
// SQLite library the extension runs in writes it: 3.40 with 15 significant digits
// ("%!.15g", which AppendRealAsText ports: 0.1 + 0.2 -> '0.3'), 3.53 with 17 by default
// (SQLITE_DBCONFIG_FP_DIGITS: '0.30000000000000004'). sqlite3_value_text() renders it
// exactly as SQLite's own affinity step renders the value an ordinary table stores;
// sqlite3_value_type(v) stays SQLITE_FLOAT. Returns false if SQLite ran out of memory.
bool ApplyHostAffinity(Affinity affinity, sqlite3_value* v, std::string* text_buffer,
                       SqlValue* out) {
  if (affinity != Affinity::kText || sqlite3_value_type(v) != SQLITE_FLOAT) {
    *out = ApplyAffinity(affinity, ToSqlValue(v), text_buffer);
    return true;
  }
  const unsigned char* text = sqlite3_value_text(v);
  if (text == nullptr) return false;
  text_buffer->assign(reinterpret_cast<const char*>(text), sqlite3_value_bytes(v));
  *out = SqlValue::Text(*text_buffer);
  return true;
}

// The bounds of one key column compared with `value` (already converted with the
// column's comparison affinity), appended after `prefix`.
std::string ColumnKey(const std::string& prefix, const SqlValue& value) {
  std::string key = prefix;
  AppendKeyColumn(&key, value);
  return key;
}

// Constraints on the hidden encoded-key column compare BLOBs with the stored key
// bytes: a BLOB bound is a key bound; any other value sorts before every BLOB.
int FilterOnEncodedKey(StrataCursor* cursor, const DecodedPlan& plan, sqlite3_value** argv) {
  StrataTable* table = cursor->table;
  KeyRange range{table->prefix, table->prefix_end, false};
  auto key_of = [&](sqlite3_value* v, std::string* key) {
    if (sqlite3_value_type(v) != SQLITE_BLOB) return false;
    *key = table->prefix;
    key->append(static_cast<const char*>(sqlite3_value_blob(v)), sqlite3_value_bytes(v));
    return true;
  };
  std::string key;
  if (plan.kind == PlanKind::kPoint) {
    if (!key_of(argv[plan.eq_argv(0) - 1], &key)) return SQLITE_OK;
    cursor->ranges.push_back({key, std::string(), true});
  } else if (plan.kind == PlanKind::kInList) {
    // `_strata_key IN (...)`, also what SQLite makes of `DELETE/UPDATE ... LIMIT n`
    // (`WHERE _strata_key IN (SELECT _strata_key ... LIMIT n)`): only BLOBs match.
    std::vector<std::string> keys;
    sqlite3_value* list = argv[plan.in_argv - 1];
    sqlite3_value* v = nullptr;
    int rc = sqlite3_vtab_in_first(list, &v);
    for (; rc == SQLITE_OK && v != nullptr; rc = sqlite3_vtab_in_next(list, &v)) {
      if (key_of(v, &key)) keys.push_back(key);
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return rc;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (cursor->descending) std::reverse(keys.begin(), keys.end());
    for (std::string& k : keys) cursor->ranges.push_back({std::move(k), std::string(), true});
  } else {
    for (const PlanBound& bound : plan.bounds()) {
      sqlite3_value* v = argv[bound.argv - 1];
      bool is_blob = key_of(v, &key);
      bool lower = bound.op == PlanOp::kGt || bound.op == PlanOp::kGe;
      if (sqlite3_value_type(v) == SQLITE_NULL) return SQLITE_OK;
      if (!is_blob) {
        if (!lower) return SQLITE_OK;  // nothing is below a non-BLOB
        continue;                      // everything is above it
      }
      if (bound.op == PlanOp::kGt) key.push_back('\0');  // the next byte string
      if (bound.op == PlanOp::kLe) key.push_back('\0');
      if (lower) {
        range.lower = std::max(range.lower, key);
      } else {
        range.upper = std::min(range.upper, key);
      }
    }
    if (range.lower < range.upper) cursor->ranges.push_back(std::move(range));
  }
  Step(cursor, /*advance=*/false);
  if (!cursor->status.ok()) return Fail(table, cursor->status);
  return SQLITE_OK;
}

int xFilter(sqlite3_vtab_cursor* base, int idx_num, const char* idx_str, int argc,
            sqlite3_value** argv) {
  StrataCursor* cursor = AsCursor(base);
  StrataTable* table = cursor->table;
  cursor->iter.reset();
  cursor->ranges.clear();
  cursor->range_index = 0;
  cursor->status = Status::OK();
  cursor->eof = true;

  const std::string_view plan_text = idx_str != nullptr ? idx_str : "";
  if (!cursor->plan_decoded || cursor->plan_idx_num != idx_num ||
      cursor->plan_idx_str != plan_text) {
    cursor->plan_decoded =
        DecodePlan(idx_num, plan_text, table->key_columns.size(), &cursor->plan);
    if (!cursor->plan_decoded) {
      return Fail(table,
                  Status::Corruption("cannot decode query plan '" + std::string(plan_text) + "'"));
    }
    cursor->plan_idx_num = idx_num;
    cursor->plan_idx_str.assign(plan_text);
  }
  const DecodedPlan& plan = cursor->plan;
  if (plan.argv_count > argc) {
    return Fail(table,
                Status::Corruption("cannot decode query plan '" + std::string(plan_text) + "'"));
  }
  cursor->descending = plan.descending;
  cursor->fill_cache = plan.kind != PlanKind::kFullScan;
  cursor->limit = -1;
  cursor->offset = 0;
  // A negative LIMIT (`LIMIT -1`) means no limit, as in SQLite.
  if (plan.limit_argv > 0) cursor->limit = std::max<int64_t>(-1, sqlite3_value_int64(argv[plan.limit_argv - 1]));
  if (plan.offset_argv > 0) cursor->offset = std::max<int64_t>(0, sqlite3_value_int64(argv[plan.offset_argv - 1]));

  // The key prefix fixed by equality constraints, each value converted with its
  // column's affinity exactly as an ordinary table compares it.
  std::string prefix = table->prefix;
  std::string text_buffer;
  bool empty = false;
  if (plan.kind == PlanKind::kEmpty) return SQLITE_OK;
  if (plan.encoded_key) return FilterOnEncodedKey(cursor, plan, argv);
  for (int k = 0; k < plan.eq_count; k++) {
    int column = table->key_columns[k];
    SqlValue v;
    if (!ApplyHostAffinity(ComparisonAffinity(table->schema.columns[column].affinity),
                           argv[plan.eq_argv(k) - 1], &text_buffer, &v)) {
      return SQLITE_NOMEM;
    }
    if (v.is_null()) empty = true;  // key columns are never NULL
    AppendKeyColumn(&prefix, v);
  }
  const size_t fixed = static_cast<size_t>(plan.eq_count);
  if (empty) return SQLITE_OK;

  if (plan.kind == PlanKind::kPoint) {
    cursor->ranges.push_back({std::move(prefix), std::string(), true});
  } else if (plan.kind == PlanKind::kInList) {
    int column = table->key_columns[fixed];
    std::vector<std::string> keys;
    sqlite3_value* list = argv[plan.in_argv - 1];
    sqlite3_value* v = nullptr;
    int rc = sqlite3_vtab_in_first(list, &v);
    for (; rc == SQLITE_OK && v != nullptr; rc = sqlite3_vtab_in_next(list, &v)) {
      SqlValue converted;
      if (!ApplyHostAffinity(ComparisonAffinity(table->schema.columns[column].affinity), v,
                             &text_buffer, &converted)) {
        return SQLITE_NOMEM;
      }
      if (!converted.is_null()) keys.push_back(ColumnKey(prefix, converted));
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return rc;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (cursor->descending) std::reverse(keys.begin(), keys.end());
    bool complete_key = fixed + 1 == table->key_columns.size();
    for (std::string& key : keys) {
      if (complete_key) {
        cursor->ranges.push_back({std::move(key), std::string(), true});
      } else {
        std::string end = KeyPrefixEnd(key);
        cursor->ranges.push_back({std::move(key), std::move(end), false});
      }
    }
  } else {
    KeyRange range{prefix, prefix == table->prefix ? table->prefix_end : KeyPrefixEnd(prefix), false};
    if (plan.kind == PlanKind::kRange && fixed < table->key_columns.size()) {
      int column = table->key_columns[fixed];
      Affinity affinity = ComparisonAffinity(table->schema.columns[column].affinity);
      for (const PlanBound& bound : plan.bounds()) {
        std::string buffer;
        SqlValue raw = ToSqlValue(argv[bound.argv - 1]);
        SqlValue v;
        if (!ApplyHostAffinity(affinity, argv[bound.argv - 1], &buffer, &v)) return SQLITE_NOMEM;
        if (affinity == Affinity::kText && raw.is_number()) {
          // SQLite converts a number to text against a TEXT key only when the number
          // has no affinity of its own (a literal or parameter, not a column): take
          // the wider of both readings (SQLite re-checks every row).
          bool lower = bound.op == PlanOp::kGt || bound.op == PlanOp::kGe;
          if (lower) v = raw;
        }
        if (v.is_null()) return SQLITE_OK;  // a comparison with NULL is never true
        std::string at = ColumnKey(prefix, v);
        std::string candidate;
        switch (bound.op) {
          case PlanOp::kGt: candidate = KeyPrefixEnd(at); break;
          case PlanOp::kGe: candidate = at; break;
          case PlanOp::kLt: candidate = at; break;
          case PlanOp::kLe: candidate = KeyPrefixEnd(at); break;
          default: continue;
        }
        if (bound.op == PlanOp::kGt || bound.op == PlanOp::kGe) {
          range.lower = std::max(range.lower, candidate);
        } else {
          range.upper = std::min(range.upper, candidate);
        }
      }
    }
    if (range.lower < range.upper) cursor->ranges.push_back(std::move(range));
  }
  Step(cursor, /*advance=*/false);
  if (!cursor->status.ok()) return Fail(table, cursor->status);
  return SQLITE_OK;
}

int xNext(sqlite3_vtab_cursor* base) {
  StrataCursor* cursor = AsCursor(base);
  Step(cursor, /*advance=*/true);
  if (!cursor->status.ok()) return Fail(cursor->table, cursor->status);
  return SQLITE_OK;
}

int xEof(sqlite3_vtab_cursor* base) { return AsCursor(base)->eof ? 1 : 0; }

// The helpers below run for every column of every row: they report failure as a bool
// and the error is built (by ColumnFailed) only when there is one.

// Starts reading the current row's non-key columns (once per row).
bool ResetRow(StrataCursor* cursor) {
  if (cursor->row_reset) return true;
  cursor->row_reset = cursor->row.Reset(cursor->value);
  return cursor->row_reset;
}

// Decodes the key columns of the current row (once per row, and only for a statement
// that reads one of them).
bool DecodeKey(StrataCursor* cursor) {
  if (cursor->key_decoded) return true;
  StrataTable* table = cursor->table;
  std::string_view input(cursor->key);
  input.remove_prefix(table->prefix.size());
  for (size_t k = 0; k < table->key_columns.size(); k++) {
    if (!DecodeKeyColumn(&input, &cursor->key_values[k], &cursor->key_scratch[k])) return false;
  }
  cursor->key_decoded = true;
  return true;
}

[[gnu::noinline]] int ColumnFailed(StrataCursor* cursor, sqlite3_context* ctx, const Status& s) {
  sqlite3_result_error(ctx, s.ToString().c_str(), -1);
  return Fail(cursor->table, s);
}

[[gnu::noinline]] int RowUndecodable(StrataCursor* cursor, sqlite3_context* ctx) {
  return ColumnFailed(cursor, ctx,
                      Status::Corruption(std::string("undecodable row: ") + cursor->row.error()));
}

[[gnu::noinline]] int KeyUndecodable(StrataCursor* cursor, sqlite3_context* ctx) {
  return ColumnFailed(cursor, ctx,
                      Status::Corruption("undecodable key in the store at " +
                                         cursor->table->store->path()));
}

// The current row's non-key column `index`: the path of nearly every column a scan
// reads, kept apart from the key columns' so that it does no more work than it needs.
int ValueColumn(StrataCursor* cursor, sqlite3_context* ctx, int index) {
  if (!ResetRow(cursor)) [[unlikely]] return RowUndecodable(cursor, ctx);
  SqlValue v;
  if (!cursor->row.Column(index, &v)) [[unlikely]] return RowUndecodable(cursor, ctx);
  ResultSqlValue(ctx, v);
  return SQLITE_OK;
}

// Key column `column`, at `position` in the key.
[[gnu::noinline]] int KeyColumn(StrataCursor* cursor, sqlite3_context* ctx, int column,
                                int position) {
  StrataTable* table = cursor->table;
  // Even a key column needs the row: it may hold the column's exact value.
  if (!ResetRow(cursor)) return RowUndecodable(cursor, ctx);
  SqlValue v;
  if (!cursor->row.has_key_overrides() || !cursor->row.FindKeyOverride(position, &v)) {
    SqlValue decoded;
    std::string_view encoded(cursor->key);
    encoded.remove_prefix(table->prefix.size());
    if (table->key_columns.size() != 1 || !DecodeSoleBytesKeyColumn(encoded, &decoded)) {
      if (!DecodeKey(cursor)) return KeyUndecodable(cursor, ctx);
      decoded = cursor->key_values[position];
    }
    // Decoded keys are numbers in canonical form: show them as the column stores them.
    const Affinity affinity = table->schema.columns[column].affinity;
    v = affinity == Affinity::kBlob ? decoded
                                    : ApplyAffinity(affinity, decoded, &cursor->text_buffer);
  }
  ResultSqlValue(ctx, v);
  return SQLITE_OK;
}

[[gnu::noinline]] int HiddenKeyColumn(StrataCursor* cursor, sqlite3_context* ctx) {
  std::string_view encoded(cursor->key);
  encoded.remove_prefix(cursor->table->prefix.size());
  sqlite3_result_blob64(ctx, encoded.data(), encoded.size(), SQLITE_TRANSIENT);
  return SQLITE_OK;
}

int xColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  StrataCursor* cursor = AsCursor(base);
  const StrataTable* table = cursor->table;
  if (column == table->hidden_key_column) [[unlikely]] return HiddenKeyColumn(cursor, ctx);
  const int index = table->value_index[column];
  if (index >= 0) return ValueColumn(cursor, ctx, index);
  return KeyColumn(cursor, ctx, column, table->key_position[column]);
}

int xRowid(sqlite3_vtab_cursor* base, sqlite3_int64*) {
  return Fail(AsCursor(base)->table, Status::NotSupported("a strata table has no rowid"));
}

// ---------------------------------------------------------------------------------
// Writes and transactions.

int BusyTimeoutMillis(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  int timeout = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    timeout = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return timeout;
}

StoreTransaction* BeginWriting(StrataTable* table, Status* s) {
  StoreTransaction* txn = table->connection->TransactionFor(table->store);
  if (!txn->writing) {
    *s = table->store->BeginWrite(table->connection.get(),
                                  std::chrono::milliseconds(BusyTimeoutMillis(table->db)));
    // A DROP or RENAME committed since the last write is applied before this
    // transaction's writes (and before its xSync overwrites the commit log); so is what
    // a crash left, if the recovery when the table was connected failed.
    if (s->ok()) {
      *s = table->store_is_durable && table->store->NeedsRecovery()
               ? ResolvePendingTransactions(table->db, table->commit_log, table->store.get())
               : ApplyCommittedSchemaChanges(table->db, table->commit_log, table->store.get());
      if (!s->ok()) table->store->EndWrite(table->connection.get());
    }
    if (!s->ok()) {
      table->connection->EndTransaction(table->store.get());
      return nullptr;
    }
    txn->writing = true;
  }
  return txn;
}

int xBegin(sqlite3_vtab* vtab) {
  StrataTable* table = AsTable(vtab);
  Status s;
  if (BeginWriting(table, &s) == nullptr) return Fail(table, s);
  return SQLITE_OK;
}

// Whether key holds a row, as this transaction sees it.
Status KeyExists(StrataTable* table, StoreTransaction* txn, const std::string& key, bool* exists) {
  switch (txn->buffer.Get(key, nullptr)) {
    case TransactionBuffer::Lookup::kValue: *exists = true; return Status::OK();
    case TransactionBuffer::Lookup::kDeleted: *exists = false; return Status::OK();
    case TransactionBuffer::Lookup::kAbsent: break;
  }
  // The writer slot is ours: the latest state cannot change under us.
  Status s = table->store->db()->Get(ReadOptions(), key, &table->write.probe);
  *exists = s.ok();
  return s.IsNotFound() ? Status::OK() : s;
}

std::string UniqueViolation(StrataTable* table) {
  std::string message = "UNIQUE constraint failed: ";
  for (size_t k = 0; k < table->key_columns.size(); k++) {
    if (k > 0) message += ", ";
    message += table->table_name + "." + table->schema.columns[table->key_columns[k]].name;
  }
  return message;
}

// A COMMIT that failed after xSync (e.g. SQLITE_BUSY on the main database) leaves the
// transaction open; a later change makes the pending record stale, so it is dropped
// and the next xSync writes a new one.
void DiscardStalePending(StrataTable* table, StoreTransaction* txn) {
  if (txn->pending_txid == 0) return;
  table->store->DiscardPending(txn->pending_txid);
  txn->pending_txid = 0;
  txn->pending.Clear();
}

int xUpdate(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64*) {
  StrataTable* table = AsTable(vtab);
  Status s;
  StoreTransaction* txn = BeginWriting(table, &s);
  if (txn == nullptr) return Fail(table, s);
  DiscardStalePending(table, txn);

  WriteScratch& scratch = table->write;
  // The key of the row an UPDATE or DELETE replaces (argv[0], the hidden key column).
  auto set_old_key = [&](std::string* key) {
    key->assign(table->prefix);
    const void* blob = sqlite3_value_blob(argv[0]);
    key->append(static_cast<const char*>(blob), sqlite3_value_bytes(argv[0]));
  };
  if (argc == 1) {  // DELETE
    set_old_key(&scratch.previous_key);
    txn->buffer.Delete(scratch.previous_key);
    return SQLITE_OK;
  }

  // INSERT or UPDATE: convert every column with its affinity, as an ordinary table does.
  const auto& columns = table->schema.columns;
  std::vector<SqlValue>& values = scratch.values;
  std::vector<std::string>& buffers = scratch.buffers;
  values.assign(columns.size(), SqlValue());
  buffers.resize(columns.size());
  for (size_t i = 0; i < columns.size(); i++) {
    if (!ApplyHostAffinity(columns[i].affinity, argv[2 + i], &buffers[i], &values[i])) {
      return SQLITE_NOMEM;
    }
    if (values[i].is_null() && (columns[i].not_null || table->key_position[i] >= 0)) {
      return FailConstraint(table, SQLITE_CONSTRAINT_NOTNULL,
                            "NOT NULL constraint failed: " + table->table_name + "." +
                                columns[i].name);
    }
  }
  std::string& key = scratch.key;
  key.assign(table->prefix);
  std::vector<KeyColumnOverride>& overrides = scratch.overrides;
  overrides.clear();
  for (size_t k = 0; k < table->key_columns.size(); k++) {
    int column = table->key_columns[k];
    AppendKeyColumn(&key, values[column]);
    if (KeyColumnNeedsOverride(columns[column].affinity, values[column])) {
      overrides.push_back({static_cast<uint32_t>(k), values[column]});
    }
  }
  std::vector<SqlValue>& row_values = scratch.row_values;
  row_values.clear();
  for (int column : table->value_columns) row_values.push_back(values[column]);
  std::string& row = scratch.row;
  row.clear();
  AppendRow(&row, row_values, overrides);

  bool is_insert = sqlite3_value_type(argv[0]) == SQLITE_NULL;
  std::string& previous_key = scratch.previous_key;
  previous_key.clear();
  if (!is_insert) set_old_key(&previous_key);
  if (is_insert || previous_key != key) {
    bool replace = sqlite3_vtab_on_conflict(table->db) == SQLITE_REPLACE;
    if (!replace) {
      // INSERT OR REPLACE is a blind write: no read needed.
      bool exists = false;
      s = KeyExists(table, txn, key, &exists);
      if (!s.ok()) return Fail(table, s);
      if (exists) {
        return FailConstraint(table, SQLITE_CONSTRAINT_PRIMARYKEY, UniqueViolation(table));
      }
    }
    if (!is_insert) txn->buffer.Delete(previous_key);
  }
  txn->buffer.Put(key, row);
  return SQLITE_OK;
}

// Records txid as the transaction the main database commits with this one.
int RecordCommitId(StrataTable* table, uint64_t txid) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; i++) bytes[i] = static_cast<unsigned char>(txid >> (56 - 8 * i));
  sqlite3_blob* blob = nullptr;
  const CommitLog& log = table->commit_log;
  int rc = sqlite3_blob_open(table->db, log.schema_name.c_str(), log.table_name.c_str(), "txid",
                             /*rowid=*/1, /*writable=*/1, &blob);
  if (rc == SQLITE_OK) rc = sqlite3_blob_write(blob, bytes, 8, 0);
  int close_rc = sqlite3_blob_close(blob);
  if (rc == SQLITE_OK) rc = close_rc;
  if (rc != SQLITE_OK) {
    SetErrorMessage(&table->base.zErrMsg, "strata table " + table->table_name +
                                              ": cannot record commit in " + log.table_name +
                                              ": " + sqlite3_errmsg(table->db));
  }
  return rc;
}

int xSync(sqlite3_vtab* vtab) {
  StrataTable* table = AsTable(vtab);
  StoreTransaction* txn = table->connection->WritingTransaction(table->store.get());
  if (txn == nullptr || txn->pending_txid != 0 || txn->buffer.empty()) return SQLITE_OK;
  if (!table->store_is_durable) return SQLITE_OK;  // applied at xCommit
  // All fallible work happens here: SQLite ignores xCommit's result. The pending
  // record is durable before the main database commits the id that makes it count.
  if (txn->txid == 0) {
    Status s = table->store->NewTransactionId(&txn->txid);
    if (!s.ok()) return Fail(table, s);
  }
  int rc = RecordCommitId(table, txn->txid);
  if (rc != SQLITE_OK) return rc;
  // Kept in txn->pending for xCommit, which applies it from memory.
  txn->pending.Clear();
  txn->buffer.AppendTo(&txn->pending);
  Status s = table->store->WritePending(txn->txid, &txn->pending);
  if (!s.ok()) return Fail(table, s);
  txn->pending_txid = txn->txid;
  return SQLITE_OK;
}

int xCommit(sqlite3_vtab* vtab) {
  StrataTable* table = AsTable(vtab);
  StoreTransaction* txn = table->connection->WritingTransaction(table->store.get());
  if (txn == nullptr) return SQLITE_OK;
  Status s;
  if (txn->pending_txid != 0) {
    // What xSync wrote, from memory. If this fails the record stays pending and the
    // commit log names it: the next open applies it.
    s = table->store->CommitPending(txn->pending_txid, &txn->pending);
  } else if (!txn->buffer.empty()) {
    WriteBatch batch;
    txn->buffer.AppendTo(&batch);
    s = table->store->WriteDirect(&batch);
  }
  table->store->EndWrite(table->connection.get());
  table->connection->EndTransaction(table->store.get());
  return s.ok() ? SQLITE_OK : Fail(table, s);
}

int xRollback(sqlite3_vtab* vtab) {
  StrataTable* table = AsTable(vtab);
  StoreTransaction* txn = table->connection->WritingTransaction(table->store.get());
  if (txn == nullptr) return SQLITE_OK;
  if (txn->pending_txid != 0) table->store->DiscardPending(txn->pending_txid);
  table->store->EndWrite(table->connection.get());
  table->connection->EndTransaction(table->store.get());
  return SQLITE_OK;
}

int xSavepoint(sqlite3_vtab* vtab, int n) {
  StrataTable* table = AsTable(vtab);
  Status s;
  StoreTransaction* txn = BeginWriting(table, &s);
  if (txn == nullptr) return Fail(table, s);
  txn->buffer.Savepoint(n);
  return SQLITE_OK;
}

int xRelease(sqlite3_vtab* vtab, int n) {
  StrataTable* table = AsTable(vtab);
  if (StoreTransaction* txn = table->connection->WritingTransaction(table->store.get())) {
    txn->buffer.Release(n);
  }
  return SQLITE_OK;
}

int xRollbackTo(sqlite3_vtab* vtab, int n) {
  StrataTable* table = AsTable(vtab);
  if (StoreTransaction* txn = table->connection->WritingTransaction(table->store.get())) {
    DiscardStalePending(table, txn);
    if (n < 0) {
      // ROLLBACK TO the savepoint that began the transaction: SQLite passes -1 for
      // "everything this transaction wrote" (the transaction itself stays open).
      txn->buffer.Clear();
    } else {
      txn->buffer.RollbackTo(n);
    }
  }
  return SQLITE_OK;
}

sqlite3_module MakeModule() {
  sqlite3_module m;
  std::memset(&m, 0, sizeof(m));
  m.iVersion = 3;
  m.xCreate = xCreate;
  m.xConnect = xConnect;
  m.xBestIndex = xBestIndex;
  m.xDisconnect = xDisconnect;
  m.xDestroy = xDestroy;
  m.xOpen = xOpen;
  m.xClose = xClose;
  m.xFilter = xFilter;
  m.xNext = xNext;
  m.xEof = xEof;
  m.xColumn = xColumn;
  m.xRowid = xRowid;
  m.xUpdate = xUpdate;
  m.xBegin = xBegin;
  m.xSync = xSync;
  m.xCommit = xCommit;
  m.xRollback = xRollback;
  m.xRename = xRename;
  m.xSavepoint = xSavepoint;
  m.xRelease = xRelease;
  m.xRollbackTo = xRollbackTo;
  return m;
}

const sqlite3_module kModule = MakeModule();

}  // namespace

int RegisterStrataModule(sqlite3* db, std::shared_ptr<ConnectionState> connection) {
  auto* aux = new std::shared_ptr<ConnectionState>(std::move(connection));
  return sqlite3_create_module_v2(db, "strata", &kModule, aux, [](void* p) {
    delete static_cast<std::shared_ptr<ConnectionState>*>(p);
  });
}

}  // namespace strata::sql
