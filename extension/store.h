// Store: one open strata engine (DB) shared by every SQLite connection of this process
// that names the same directory, plus what the SQL layer keeps inside it: the table
// catalog, the one-writer-at-a-time slot, and the pending transactions of the commit
// protocol. The process-wide registry behind Store::Acquire is the only global state
// of the extension.
//
// Key space of a store (docs/store_format.md has the byte layouts):
//   TableKeyPrefix(0) + ...   the reserved range: catalog entries, id counters, pending
//                             transactions, drops in progress, the owning database.
//                             Never a table's row.
//   TableKeyPrefix(id) + ...  the rows of table `id` (ids start at 1, never reused), so
//                             one table is one contiguous key range.
//
// Commit protocol (the glue drives it; see the SQLite extension issue): at xSync the
// transaction's writes become one durable PENDING record (WritePending) and its id is
// recorded in a shadow table of the main database, inside the main database's own
// transaction; at xCommit the transaction is applied from memory (CommitPending, from the
// PendingTransaction the record was encoded from). After a crash the glue
// lists what is still pending (ListPending) and applies the ids the main database
// committed, discarding the others -- before any new transaction writes the store, as
// applying an old record after newer writes would overwrite them.
//
// May include: the C++ standard library and lsm/include/strata/ headers only.
#pragma once

#include "extension/sync_mode.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "strata/db.h"
#include "strata/env.h"
#include "strata/options.h"
#include "strata/status.h"
#include "strata/write_batch.h"

namespace strata::sql {

// How durable a returned COMMIT is.
//   kFull:   the log is fsynced before the commit returns: it survives power loss.
//   kNormal: the log record is handed to the OS (write(2)) but not fsynced: it survives
//            a crash of the process, not of the machine.
//   kOff:    today exactly kNormal, because the engine hands every log record to the
//            OS before the write returns and has no mode that skips that. Reserved for
//            a future mode that leaves records in a user-space buffer.

// Applied when a store is opened; not persisted (a reopen may use other values).
struct StoreOptions {
  SyncMode sync = SyncMode::kFull;
  size_t write_buffer_size = 64u << 20;  // memtable bytes before a flush; > 0
  size_t block_cache_size = 64u << 20;   // 0 = no block cache
  // zstd level 1..22 for data blocks; 0 = no compression. Tables of the deepest level
  // use max(level, the engine's bottommost default of 3).
  int compression_level = 1;
  // Of compressed blocks (compression_level > 0); lz4 ignores the level.
  CompressionAlgorithm compression_algorithm = CompressionAlgorithm::kZstd;
  int bloom_bits_per_key = 10;  // 0 = no bloom filters; <= 100

  bool operator==(const StoreOptions&) const = default;
};

// "full", "normal" or "off".

class Store {
 public:
  // Returns the open store for `path`, opening it on first use (creating the directory
  // and the store if missing). Every caller naming the same store gets the same Store
  // until the last shared_ptr is released; that closes it (DB::Close: background work
  // finished, threads joined, lock released) before a later Acquire can reopen it.
  //
  // On disk (in_memory false): `path` is a directory; stores are identified by the
  // realpath of its parent plus its last component, so "./s", "s" and "/abs/s" are one
  // store. The parent directory must exist. In memory (in_memory true): the store lives
  // in its own NewMemEnv() and `path` is just its name (for :memory: and temp databases
  // the glue passes a name unique to the connection and database); in-memory and
  // on-disk stores never share, whatever their names, and an in-memory store's data is
  // gone when its last reference is.
  //
  // Options are applied only by the Acquire that opens the store; a later Acquire of an
  // open store returns it with the options it was opened with. Compare
  // (*store)->options() with what was asked, e.g. with OptionsConflict, to warn or fail.
  //
  // Errors: InvalidArgument naming the option if options are out of range; Busy with
  // the message "store <path> is locked by another process" if another process has the
  // store open; otherwise the engine's error with "store <path>" as context.
  static Status Acquire(const std::string& path, bool in_memory, const StoreOptions& options,
                        std::shared_ptr<Store>* store);

  // Empty if `requested` equals the options this store was opened with; otherwise names
  // the first differing option as a user writes it in CREATE VIRTUAL TABLE, e.g.
  // "sync=off was asked but store <path> is open with sync=full",
  // "write_buffer_size=1MiB was asked but store <path> is open with write_buffer_size=64MiB",
  // "compression=none was asked but store <path> is open with compression=zstd:1".
  std::string OptionsConflict(const StoreOptions& requested) const;

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();  // closes the engine

  DB* db() const { return db_.get(); }
  // The canonical path (on disk) or the name (in memory): the registry's key.
  const std::string& path() const { return path_; }
  bool in_memory() const { return env_ != nullptr; }
  const StoreOptions& options() const { return options_; }
  // For writes that commit a transaction: sync = (options().sync == kFull).
  WriteOptions CommitWriteOptions() const;

  // ---- Catalog --------------------------------------------------------------------
  // Table names compare case-insensitively in ASCII, like SQLite identifiers; the
  // entry keeps the name's spelling from CreateTable or PrepareRenameTable. Changes are
  // written with CommitWriteOptions() and are atomic. Safe to call from any thread.
  struct TableEntry {
    uint32_t id = 0;
    std::string name;
    std::string schema;  // opaque to the store (the glue's serialized definition)
  };
  // InvalidArgument "table <name> exists in store <path>" if present.
  Status CreateTable(std::string_view name, std::string_view schema, TableEntry* entry);
  // NotFound if absent.
  Status FindTable(std::string_view name, TableEntry* entry);
  // Every entry, ordered by lowercased name (stale names included, see below).
  Status ListTables(std::vector<TableEntry>* entries);

  // ---- Schema changes whose outcome the main database decides ----------------------
  // DROP TABLE and ALTER TABLE ... RENAME run inside a statement of the main database,
  // and no virtual-table callback reports whether that statement's transaction commits.
  // So these write at once only what is right whichever way it ends, and return the
  // rest in *on_commit for the commit protocol: written as a pending transaction
  // (WritePending) whose id the statement records in the main database, and applied
  // only if that commits (ApplyPending; then FinishDrops deletes a dropped table's
  // rows). A catalog may therefore hold stale names: names SQLite no longer has, left
  // by a CREATE or RENAME that did not commit or by a DROP not applied yet.
  //
  // Writes nothing now; *on_commit removes every name of the table and marks its id
  // dropped, atomically: from then on the rows are never visible again (the id is never
  // reused), and FinishDrops deletes them, also after a crash. NotFound if absent.
  Status PrepareDropTable(std::string_view name, WriteBatch* on_commit);
  // Adds new_name as a second name of old_name's table now (replacing a stale entry of
  // that name, see RemoveStaleName), so the table is found under whichever name SQLite
  // ends up with; *on_commit removes old_name. Another spelling of the same name changes
  // the spelling now and leaves *on_commit empty. NotFound if old_name is absent.
  Status PrepareRenameTable(std::string_view old_name, std::string_view new_name,
                            WriteBatch* on_commit);
  // Removes the stale entry `name` (the caller knows SQLite has no such table). The
  // table's rows are deleted too, unless another name still refers to them (a RENAME
  // whose outcome is pending). OK if absent.
  Status RemoveStaleName(std::string_view name);
  // Deletes the rows of every table marked dropped; a crash part way is finished by the
  // next call (Acquire calls it when it opens the store).
  Status FinishDrops();

  // The pending transactions of schema changes (PrepareDropTable, PrepareRenameTable)
  // this process wrote and has not resolved: their statements may have committed
  // without anyone applying them. Resolving them needs the main database's commit log,
  // which only the glue can read.
  void AddUnresolvedSchemaChange(uint64_t txid);
  std::vector<uint64_t> UnresolvedSchemaChanges();
  void ForgetSchemaChanges(uint64_t up_to_txid);  // forgets every id <= up_to_txid

  // ---- Owner: the one database whose tables live in the store -----------------------
  // The commit log that decides the store's pending transactions lives in one database,
  // so a store belongs to one database. The database keeps a random id; the store
  // keeps the same id, where that database was last seen, and which of the database's
  // commit logs is its own (a database can have tables in several stores, each with
  // its own transaction ids).
  struct Owner {
    std::string database_id;
    std::string database_path;  // empty for an in-memory database
    // Names the store's commit log in the database: kCommitLogIdSize lowercase hex
    // digits, or empty for a store claimed before logs were per store, which uses the
    // database's shared log.
    std::string commit_log_id;
  };
  static constexpr size_t kCommitLogIdSize = 16;
  // *found is false if the store records no owner (new, or made before owners were
  // recorded).
  Status ReadOwner(Owner* owner, bool* found);
  // Records `wanted` if the store has no owner yet, atomically; *owner gets the owner in
  // effect (wanted, or the one recorded before).
  Status ClaimOwner(const Owner& wanted, Owner* owner);
  // Records a new path for the owner (the database moved together with its store).
  Status UpdateOwnerPath(const std::string& database_path);
  // Records `owner` in place of the one recorded, for a store the glue found unused.
  Status ReplaceOwner(const Owner& owner);
  // *unused is true if the store holds no row of any table and no pending record:
  // nothing in it that its owner could lose (catalog entries aside).
  Status IsUnused(bool* unused);

  // The 4-byte big-endian id that starts every row key of table `id`.
  static std::string TableKeyPrefix(uint32_t id);
  static constexpr size_t kTableKeyPrefixSize = 4;

  // ---- Writer slot ----------------------------------------------------------------
  // One writing transaction per store. Waits up to `timeout` for the slot, then
  // Busy "store <path> has another writing transaction". Re-entrant: an owner already
  // holding the slot gets OK at once (one EndWrite still releases it). `owner` is an
  // opaque identity (the glue's connection state), never dereferenced.
  Status BeginWrite(const void* owner, std::chrono::milliseconds timeout);
  // Releases the slot if `owner` holds it; otherwise does nothing.
  void EndWrite(const void* owner);

  // ---- Pending transactions (the commit protocol) ---------------------------------
  // A new transaction id: ids are > 0 and increase, also across reopens and power
  // loss: the store persists (with sync) a reservation of the next ids before handing
  // them out, one write per 1024 ids. So an id the main database remembers can never
  // name a later transaction. Fails only if that write fails.
  Status NewTransactionId(uint64_t* txid);
  // Writes `batch` as the pending transaction `txid`: one record in the reserved range,
  // written with CommitWriteOptions(), invisible to table reads until applied.
  // InvalidArgument if the batch is too large for one record (1 GiB) or oversized.
  Status WritePending(uint64_t txid, const WriteBatch& batch);
  // Applies pending transaction `txid`: one atomic write of its records plus the
  // deletion of the pending record, not synced (the pending record already is as
  // durable as the sync mode promises; any later synced write makes this one durable
  // too, as the log is sequential). OK if there is no such record (already applied or
  // discarded). Corruption naming the txid if the record does not decode.
  Status ApplyPending(uint64_t txid);

  // One transaction's writes in the two forms the commit protocol needs, built in one
  // pass (a WriteBatch::Handler: give it the records in order): the pending record that
  // WritePending makes durable at xSync, and the batch that CommitPending writes at
  // xCommit straight from memory, so a committing transaction never reads its record
  // back. Encoding both at once costs less than building the batch and encoding it.
  class PendingTransaction final : public WriteBatch::Handler {
   public:
    void Put(std::string_view key, std::string_view value) override;
    void Delete(std::string_view key) override;
    void Clear();
    uint32_t count() const { return count_; }

   private:
    friend class Store;
    WriteBatch batch_;
    std::string records_;  // the pending record without its header (docs/store_format.md)
    uint32_t count_ = 0;
  };
  // WritePending for a PendingTransaction. The record's bytes are released once written;
  // the batch stays for CommitPending. On disk the record is a recovery put
  // (WriteBatch::PutForRecovery): in the log only, so neither reads nor ListPending see
  // it until the store is next opened, after a crash before CommitPending or
  // DiscardPending resolved it. In memory it is an ordinary record.
  Status WritePending(uint64_t txid, PendingTransaction* txn);
  // Commits pending transaction `txid` from `txn`, the PendingTransaction its
  // WritePending wrote (unchanged since): writes exactly what ApplyPending(txid) would,
  // txn's batch plus the deletion of the pending record, atomically and not synced, but
  // without reading and decoding the record. If the write fails the record stays
  // pending, and whoever resolves pending transactions next (the next open) applies it
  // from the record if the main database committed it.
  Status CommitPending(uint64_t txid, PendingTransaction* txn);
  // Deletes pending transaction `txid` unapplied (not synced: if it reappears after a
  // crash, recovery discards it again). OK if absent.
  Status DiscardPending(uint64_t txid);
  // Ids of the pending records in the store, ascending: those of the batch overload of
  // WritePending, and those a crash left (see the PendingTransaction overload).
  Status ListPending(std::vector<uint64_t>* txids);

  // Writes `batch` at once with CommitWriteOptions(), for stores with no main database
  // to coordinate with (in memory). The pointer overload avoids copying the batch.
  Status WriteDirect(const WriteBatch& batch);
  Status WriteDirect(WriteBatch* batch);

  // Whether the pending transactions a crash left are still to be resolved: true from
  // the opening of the store until MarkRecovered. The glue resolves them (ListPending)
  // holding the writer slot, before anything else writes the store, and calls
  // MarkRecovered once that succeeded; a failed try leaves it to the next.
  bool NeedsRecovery() const { return !recovered_.load(); }
  void MarkRecovered() { recovered_.store(true); }

 private:
  class Registry;

  Store(std::string path, const StoreOptions& options, std::unique_ptr<Env> env);

  // Opens the engine and finishes drops a crash interrupted.
  Status Open(const std::string& db_path);
  Status LoadTransactionIdReservation();
  Status DeleteTableRows(uint32_t id);
  // Adds to *batch the removal of stale entry `entry` and, unless another entry names
  // its id, the drop marker of the id; *dropped says whether it added the marker.
  // Requires catalog_mutex_.
  Status RemoveStaleEntry(const TableEntry& entry, WriteBatch* batch, bool* dropped);
  Status WriteOwner(const Owner& owner);
  Status ReadCatalogEntry(std::string_view name, TableEntry* entry);
  Status ReadPending(uint64_t txid, std::string* record, bool* found);

  const std::string path_;
  const StoreOptions options_;
  const std::unique_ptr<Env> env_;  // in memory only; must outlive db_
  std::unique_ptr<DB> db_;

  std::atomic<bool> recovered_{false};

  // Serializes catalog changes (their read-modify-write of the catalog).
  std::mutex catalog_mutex_;

  // Serializes pending-record changes, so one record is never applied twice.
  std::mutex pending_mutex_;

  std::mutex writer_mutex_;
  std::condition_variable writer_released_;
  const void* writer_ = nullptr;  // guarded by writer_mutex_

  std::mutex schema_change_mutex_;
  std::vector<uint64_t> unresolved_schema_changes_;  // guarded by schema_change_mutex_

  std::mutex owner_mutex_;  // serializes ClaimOwner's read and write

  std::mutex txid_mutex_;
  uint64_t next_txid_ = 1;      // guarded by txid_mutex_
  uint64_t reserved_txid_ = 1;  // ids < this are persisted as used; guarded by txid_mutex_
};

}  // namespace strata::sql
