// DBImpl: the engine behind strata::DB.
//
// Threads: any number of user threads call Write/Get/NewIterator; writers queue up
// and the one at the front (the leader) writes the whole group to the log with one
// write and at most one fsync, then inserts it into the memtable. One background
// thread flushes the immutable memtable to a level-0 table and records it in the
// MANIFEST. mutex_ guards every member below it that is not marked otherwise.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "strata/db.h"
#include "strata/env.h"
#include "lsm/compaction.h"
#include "lsm/dbformat.h"
#include "lsm/log_writer.h"
#include "lsm/memtable.h"
#include "lsm/recovery_puts.h"
#include "lsm/table_cache.h"
#include "lsm/version_set.h"

namespace strata {

class TableBuilder;

class DBImpl final : public DB {
 public:
  DBImpl(const Options& options, std::string dbname);
  ~DBImpl() override;

  Status Put(const WriteOptions& options, std::string_view key, std::string_view value) override;
  Status Delete(const WriteOptions& options, std::string_view key) override;
  Status Write(const WriteOptions& options, WriteBatch* batch) override;
  Status Get(const ReadOptions& options, std::string_view key, std::string* value) override;
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override;
  const Snapshot* GetSnapshot() override;
  void ReleaseSnapshot(const Snapshot* snapshot) override;
  Status Flush() override;
  Status CompactRange(const std::string_view* begin, const std::string_view* end) override;
  Status WaitForBackgroundWork() override;
  void GetStatistics(Statistics* statistics) override;
  // In db_approximate_size.cc.
  Status GetApproximateSize(std::string_view begin, std::string_view end, uint64_t* bytes) override;
  Status Close() override;

  // Recovers the store and starts the background thread; called once by DB::Open.
  Status Open();

 private:
  struct Writer;
  class SnapshotImpl;

  // What one read needs, captured under the mutex and then used without it.
  struct ReadView {
    SequenceNumber sequence;
    std::shared_ptr<MemTable> mem;
    std::shared_ptr<MemTable> imm;  // may be null
    std::shared_ptr<const Version> version;
  };
  // Fills *view under one acquisition of the mutex (a get takes no other); false, with
  // *view untouched, once the store is closed.
  bool CaptureReadView(const ReadOptions& options, ReadView* view);

  Status Recover(VersionEdit* edit, std::unique_lock<std::mutex>& lock);
  // Replays one log into level-0 tables; its recovery puts go to *recovery_puts.
  Status RecoverLogFile(uint64_t log_number, VersionEdit* edit, SequenceNumber* max_sequence,
                        RecoveryPuts* recovery_puts, std::unique_lock<std::mutex>& lock);
  Status CheckTablesPresent(const std::vector<std::string>& children);
  // Creates a new log file and makes it the target of writes; the unresolved recovery
  // puts go into it first (CarryRecoveryPuts). Write leader only.
  Status SwitchToNewLog(std::unique_lock<std::mutex>& lock);
  Status CarryRecoveryPuts(std::unique_lock<std::mutex>& lock);
  // A new log, and the memtable becomes imm_ (which must be null). A failure becomes
  // the background error. Write leader (or holder of the writer slot) only.
  Status SwitchMemTable(std::unique_lock<std::mutex>& lock);
  // Writes mem to a new level-0 table (none if mem is empty) and adds it to edit.
  Status WriteLevel0Table(const MemTable& mem, VersionEdit* edit,
                          std::unique_lock<std::mutex>& lock);

  // A memtable for writes, with its key filter sized from write_buffer_size (recovery's
  // memtables, never read by gets, go without).
  std::shared_ptr<MemTable> NewMemTable() const;

  Status MakeRoomForWrite(bool force, std::unique_lock<std::mutex>& lock);
  WriteBatch* BuildBatchGroup(Writer** last_writer);

  void BackgroundThreadMain();
  bool HasBackgroundWork() const;
  // Whether the store counts as idle (Options::settle_after_idle_millis): no write
  // for that long, or someone in WaitForBackgroundWork.
  bool Idle() const;
  static uint64_t SteadyMicros();
  // When idle work (memtable flush, level-0 compaction) becomes due, in SteadyMicros
  // time; 0 if none is coming.
  uint64_t IdleWorkDeadline() const;
  // Whether the background thread should now switch the memtable of an idle store:
  // idle, the writer slot free, and at least 1/kIdleFlushFraction of the write buffer.
  static constexpr size_t kIdleFlushFraction = 8;
  bool IdleMemTableWorthFlushing() const;
  bool IdleFlushDue() const;
  void SwitchMemTableWhileIdle(std::unique_lock<std::mutex>& lock);
  void FlushImmutableMemTable(std::unique_lock<std::mutex>& lock);
  void BackgroundCompaction(std::unique_lock<std::mutex>& lock);
  // Runs c (a trivial move or a merge) and installs its result.
  // *stopped_by_close: Close interrupted it (not an error).
  Status RunCompaction(Compaction* c, bool* stopped_by_close, std::unique_lock<std::mutex>& lock);
  Status MergeCompactionInputs(Compaction* c, SequenceNumber smallest_snapshot,
                               VersionEdit* edit, bool* stopped_by_close,
                               std::unique_lock<std::mutex>& lock);
  // Writes the table being built by a compaction and records it in edit.
  Status FinishCompactionOutput(TableBuilder* builder, WritableFile* file, FileMetaData* meta,
                                int level, VersionEdit* edit);
  // Opens a table just written (Corruption or IOError if it does not read back), then
  // closes it again.
  Status VerifyNewTable(uint64_t number, uint64_t file_size);
  SequenceNumber SmallestSnapshot() const;
  // Tables written for edit are now named by a Version (or garbage): stop protecting them.
  void ReleasePendingOutputs(const VersionEdit& edit);
  void DeleteObsoleteFiles(std::unique_lock<std::mutex>& lock);
  void RecordBackgroundError(const Status& s);

  Status GetFromTables(const Version& version, const LookupKey& key, std::string* value,
                       bool* found);

  const Options options_;
  Env* const env_;
  const std::string dbname_;
  std::unique_ptr<TableCache> table_cache_;  // thread-safe itself

  std::mutex mutex_;
  std::condition_variable background_work_;       // wakes the background thread
  std::condition_variable background_work_done_;  // a flush finished (or failed)
  std::unique_ptr<FileLock> db_lock_;
  std::unique_ptr<VersionSet> versions_;

  // Huge arena blocks a flushed memtable leaves for the next one (one memtable's worth).
  const std::shared_ptr<ArenaBlockPool> memtable_blocks_;
  std::shared_ptr<MemTable> mem_;
  std::shared_ptr<MemTable> imm_;  // being flushed, or null
  // Used without the mutex by the write leader only.
  std::unique_ptr<WritableFile> logfile_;
  std::unique_ptr<log::Writer> log_;
  uint64_t logfile_number_ = 0;
  // Recovery puts written to the logs and not yet resolved; see SwitchToNewLog.
  RecoveryPuts recovery_puts_;

  std::deque<Writer*> writers_;
  WriteBatch group_batch_;  // the leader's merged batch
  // Snapshots not yet released, newest first, linked through themselves: taking and
  // releasing one (once per SQL statement) allocates only the snapshot.
  SnapshotImpl* newest_snapshot_ = nullptr;
  // Table files being written, not yet in any Version: never delete them.
  std::set<uint64_t> pending_outputs_;

  // A failed log write or flush makes the store read-only until reopened: the log or
  // the MANIFEST may end in a partial record, and appending after it would turn a
  // torn tail into corruption in the middle.
  Status background_error_;
  std::atomic<bool> shutting_down_{false};  // also read by compactions without the mutex
  bool closed_ = false;
  bool flush_running_ = false;
  bool compaction_running_ = false;
  // SwitchMemTable is under way: it releases the mutex while it creates the new log,
  // before the old memtable becomes imm_.
  bool memtable_switch_running_ = false;
  // A manual compaction (CompactRange) waiting for or using the compaction slot.
  struct ManualCompaction {
    int level;
    const std::string_view* begin;
    const std::string_view* end;
    // Where the previous level's step wrote everything: that level needs no in-place
    // rewrite of its own.
    int previous_output_level = -1;
    // Decided by the background thread when it picks the step, with no other compaction
    // running (one that started earlier may have moved data down meanwhile, with the
    // snapshots of its start): rewrite the level into itself, once, because no deeper
    // level holds data in range.
    bool in_place = false;
    bool done = false;
    Status status;
    int output_level = -1;  // where the last step wrote
  };
  ManualCompaction* manual_compaction_ = nullptr;
  uint64_t last_write_micros_ = 0;  // SteadyMicros() of the last Write queued, or of Open
  int settle_waiters_ = 0;          // threads in WaitForBackgroundWork
  int untimed_sleepers_ = 0;        // background threads asleep with no idle deadline
  // Counters for GetStatistics: those of the write and compaction paths are guarded
  // by mutex_ (or updated by the write leader only); Get's are atomics.
  struct Counters {
    uint64_t user_bytes_written = 0;
    uint64_t log_bytes_written = 0;
    uint64_t flush_bytes_written = 0;
    uint64_t writes = 0;
    uint64_t write_groups = 0;
    uint64_t syncs = 0;
    uint64_t stall_micros = 0;
    uint64_t slowdowns = 0;
    uint64_t stops = 0;
    uint64_t flushes = 0;
    uint64_t compactions = 0;
    uint64_t trivial_moves = 0;
    uint64_t compaction_bytes_read[kNumLevels] = {};
    uint64_t compaction_bytes_written[kNumLevels] = {};
    std::atomic<uint64_t> gets{0};
    std::atomic<uint64_t> memtable_hits{0};
    std::atomic<uint64_t> table_reads[kNumLevels] = {};
    std::atomic<uint64_t> get_hits[kNumLevels] = {};
  };
  Counters counters_;
  std::vector<std::thread> background_threads_;
};

}  // namespace strata
