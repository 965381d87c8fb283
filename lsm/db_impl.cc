#include "lsm/db_impl.h"

#include <algorithm>
#include <chrono>

#include "lsm/db_iterator.h"
#include "lsm/empty_iterator.h"
#include "lsm/filename.h"
#include "lsm/level_iterator.h"
#include "lsm/log_reader.h"
#include "lsm/merging_iterator.h"
#include "lsm/table_builder.h"
#include "lsm/write_batch_internal.h"

namespace strata {
namespace {

Status ClosedError(const std::string& dbname) {
  return Status::InvalidArgument(dbname + ": store is closed");
}

}  // namespace

// A writer waiting in writers_; the leader completes it on its behalf.
struct DBImpl::Writer {
  explicit Writer(WriteBatch* b, bool s) : batch(b), sync(s) {}
  WriteBatch* batch;  // null: a request for room (Flush), not a write
  bool sync;
  bool done = false;
  Status status;
  std::condition_variable cv;
};

class DBImpl::SnapshotImpl final : public Snapshot {
 public:
  explicit SnapshotImpl(SequenceNumber s) : sequence(s) {}
  ~SnapshotImpl() override = default;
  const SequenceNumber sequence;
  SnapshotImpl* newer = nullptr;  // links in DBImpl::newest_snapshot_'s list
  SnapshotImpl* older = nullptr;
};

Status DB::Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db) {
  db->reset();
  auto impl = std::make_unique<DBImpl>(options, path);
  Status s = impl->Open();
  if (s.ok()) *db = std::move(impl);
  return s;
}

Status DestroyDB(const std::string& path, const Options& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::vector<std::string> children;
  if (!env->GetChildren(path, &children).ok()) return Status::OK();  // nothing there
  std::unique_ptr<FileLock> lock;
  Status s = env->LockFile(LockFileName(path), &lock);
  if (!s.ok()) return s;
  for (const std::string& name : children) {
    uint64_t number;
    FileType type;
    if (ParseFileName(name, &number, &type) && type != FileType::kLock) {
      Status removed = env->RemoveFile(path + "/" + name);
      if (s.ok() && !removed.ok()) s = removed;
    }
  }
  lock.reset();
  env->RemoveFile(LockFileName(path));
  env->RemoveDir(path);
  return s;
}

DBImpl::DBImpl(const Options& options, std::string dbname)
    : options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      dbname_(std::move(dbname)),
      table_cache_(std::make_unique<TableCache>(dbname_, options_, env_)),
      versions_(std::make_unique<VersionSet>(dbname_, options_, env_)),
      memtable_blocks_(
          std::make_shared<ArenaBlockPool>(options_.write_buffer_size / Arena::kHugeBlockSize + 1)),
      mem_(NewMemTable()) {}

DBImpl::~DBImpl() { Close(); }

std::shared_ptr<MemTable> DBImpl::NewMemTable() const {
  return std::make_shared<MemTable>(options_.write_buffer_size / MemTable::kMemTableFilterRatio,
                                    memtable_blocks_);
}

Status DBImpl::Open() {
  std::unique_lock<std::mutex> lock(mutex_);
  VersionEdit edit;
  Status s = Recover(&edit, lock);
  if (s.ok()) s = SwitchToNewLog(lock);
  if (s.ok()) {
    edit.SetLogNumber(logfile_number_);
    s = versions_->LogAndApply(&edit, lock);
  }
  ReleasePendingOutputs(edit);
  if (!s.ok()) {
    closed_ = true;
    if (logfile_ != nullptr) logfile_->Close();
    return s;
  }
  DeleteObsoleteFiles(lock);
  last_write_micros_ = SteadyMicros();  // idle time counts from the open
  for (int i = 0; i < std::max(1, options_.background_threads); i++) {
    background_threads_.emplace_back([this] { BackgroundThreadMain(); });
  }
  if (versions_->NeedsCompaction()) background_work_.notify_all();
  return s;
}

Status DBImpl::Recover(VersionEdit* edit, std::unique_lock<std::mutex>& lock) {
  Status s = env_->CreateDir(dbname_);
  if (!s.ok()) return s;
  s = env_->LockFile(LockFileName(dbname_), &db_lock_);
  if (!s.ok()) return s;

  if (!env_->FileExists(CurrentFileName(dbname_))) {
    if (!options_.create_if_missing) {
      return Status::InvalidArgument(dbname_ + ": no store here (create_if_missing is off)");
    }
    s = VersionSet::CreateNew(env_, dbname_);
    if (!s.ok()) return s;
  } else if (options_.error_if_exists) {
    return Status::InvalidArgument(dbname_ + ": store exists (error_if_exists is on)");
  }

  s = versions_->Recover();
  if (!s.ok()) return s;

  std::vector<std::string> children;
  s = env_->GetChildren(dbname_, &children);
  if (!s.ok()) return s;
  s = CheckTablesPresent(children);
  if (!s.ok()) return s;

  std::vector<uint64_t> logs;
  for (const std::string& name : children) {
    uint64_t number;
    FileType type;
    if (!ParseFileName(name, &number, &type)) continue;
    versions_->MarkFileNumberUsed(number);
    if (type == FileType::kLog && number >= versions_->LogNumber()) logs.push_back(number);
  }
  std::sort(logs.begin(), logs.end());
  SequenceNumber max_sequence = versions_->LastSequence();
  RecoveryPuts recovery_puts;  // collected over every log, applied only if unresolved
  for (uint64_t number : logs) {
    s = RecoverLogFile(number, edit, &max_sequence, &recovery_puts, lock);
    if (!s.ok()) return s;
  }
  if (!recovery_puts.empty()) {
    MemTable mem(0, memtable_blocks_);
    recovery_puts.AddTo(&mem);
    s = WriteLevel0Table(mem, edit, lock);
    if (!s.ok()) return s;
  }
  versions_->SetLastSequence(max_sequence);
  return Status::OK();
}

Status DBImpl::CheckTablesPresent(const std::vector<std::string>& children) {
  std::set<uint64_t> expected;
  std::shared_ptr<const Version> current = versions_->current();
  for (int level = 0; level < kNumLevels; level++) {
    for (const auto& f : current->files[level]) expected.insert(f->number);
  }
  for (const std::string& name : children) {
    uint64_t number;
    FileType type;
    if (ParseFileName(name, &number, &type) && type == FileType::kTable) expected.erase(number);
  }
  if (expected.empty()) return Status::OK();
  return Status::Corruption(dbname_ + ": MANIFEST names missing table " +
                            TableFileName(dbname_, *expected.begin()) + " (and " +
                            std::to_string(expected.size() - 1) + " more)");
}

Status DBImpl::RecoverLogFile(uint64_t log_number, VersionEdit* edit,
                              SequenceNumber* max_sequence, RecoveryPuts* recovery_puts,
                              std::unique_lock<std::mutex>& lock) {
  std::string path = LogFileName(dbname_, log_number);
  std::unique_ptr<SequentialFile> file;
  Status s = env_->NewSequentialFile(path, &file);
  if (!s.ok()) return s;
  log::Reader reader(file.get(), path);
  std::string_view record;
  std::string scratch;
  WriteBatch batch;
  auto mem = std::make_shared<MemTable>(0, memtable_blocks_);
  while (reader.ReadRecord(&record, &scratch)) {
    s = WriteBatchInternal::SetContents(&batch, record);
    if (s.ok()) s = WriteBatchInternal::InsertInto(batch, mem.get(), recovery_puts);
    if (!s.ok()) return Status::Corruption(path + ": " + s.message());
    SequenceNumber last = WriteBatchInternal::Sequence(batch) + batch.Count() - 1;
    if (batch.Count() > 0 && last > *max_sequence) *max_sequence = last;
    if (mem->ApproximateMemoryUsage() > options_.write_buffer_size) {
      s = WriteLevel0Table(*mem, edit, lock);
      if (!s.ok()) return s;
      mem = std::make_shared<MemTable>(0, memtable_blocks_);
    }
  }
  if (!reader.status().ok()) return reader.status();
  // Recovered writes go straight to a table, so the next log starts empty and this
  // one becomes obsolete once the edit is recorded.
  return WriteLevel0Table(*mem, edit, lock);
}

Status DBImpl::SwitchToNewLog(std::unique_lock<std::mutex>& lock) {
  uint64_t number = versions_->NewFileNumber();
  std::string path = LogFileName(dbname_, number);
  lock.unlock();
  // Sync the old log first: a synced write in the new log must never survive a power
  // loss that takes unsynced but acknowledged writes before it in the old one.
  Status s = logfile_ != nullptr ? logfile_->Sync() : Status::OK();
  std::unique_ptr<WritableFile> file;
  if (s.ok()) s = env_->NewWritableFile(path, &file);
  // The directory entry must be durable before any synced write lands in the log.
  if (s.ok()) s = env_->SyncDir(dbname_);
  lock.lock();
  if (!s.ok()) {
    if (file != nullptr) env_->RemoveFile(path);
    return s;
  }
  if (logfile_ != nullptr) logfile_->Close();  // its records were flushed by AddRecord
  logfile_ = std::move(file);
  log_ = std::make_unique<log::Writer>(logfile_.get());
  logfile_number_ = number;
  return recovery_puts_.empty() ? Status::OK() : CarryRecoveryPuts(lock);
}

Status DBImpl::CarryRecoveryPuts(std::unique_lock<std::mutex>& lock) {
  // The old log is deleted once the memtable it backs is flushed, and with it the
  // unresolved recovery puts it holds, which are in no memtable: they go into the new
  // log first, synced (they may have come with a synced write, and the old log's
  // deletion is not ordered after anything else in the new one).
  WriteBatch batch;
  recovery_puts_.AppendTo(&batch);
  const SequenceNumber first = versions_->LastSequence() + 1;
  WriteBatchInternal::SetSequence(&batch, first);
  lock.unlock();
  const std::string_view record = WriteBatchInternal::Contents(batch);
  Status s = log_->AddRecord(record);
  if (s.ok()) s = logfile_->Sync();
  lock.lock();
  if (!s.ok()) return s;
  versions_->SetLastSequence(first + batch.Count() - 1);
  counters_.log_bytes_written += record.size();
  counters_.syncs++;
  return Status::OK();
}

Status DBImpl::WriteLevel0Table(const MemTable& mem, VersionEdit* edit,
                                std::unique_lock<std::mutex>& lock) {
  if (mem.empty()) return Status::OK();
  FileMetaData meta;
  meta.number = versions_->NewFileNumber();
  pending_outputs_.insert(meta.number);
  std::string path = TableFileName(dbname_, meta.number);
  // Versions hidden by a newer one that every reader sees are not worth writing.
  const SequenceNumber smallest_snapshot = SmallestSnapshot();
  lock.unlock();

  std::unique_ptr<WritableFile> file;
  Status s = env_->NewWritableFile(path, &file);
  if (s.ok()) {
    Options table_options = options_;
    table_options.compression = FlushesCompress(options_);
    TableBuilder builder(table_options, file.get());
    std::unique_ptr<Iterator> it = mem.NewIterator();
    std::string_view previous_user_key;
    SequenceNumber previous_sequence = kMaxSequenceNumber;
    bool has_previous = false;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ParsedInternalKey parsed;
      if (!ParseInternalKey(it->key(), &parsed)) {
        s = Status::Corruption(path + ": memtable holds a malformed key");
        break;
      }
      bool same_key = has_previous && parsed.user_key == previous_user_key;
      bool hidden = same_key && previous_sequence <= smallest_snapshot;
      // Memtable keys stay put while the memtable lives, so views into it are stable.
      previous_user_key = parsed.user_key;
      previous_sequence = parsed.sequence;
      has_previous = true;
      if (hidden) continue;
      if (meta.smallest.empty()) meta.smallest.assign(it->key());
      meta.largest.assign(it->key());
      builder.Add(it->key(), it->value());
    }
    if (s.ok()) {
      s = builder.Finish();
    } else {
      builder.Abandon();
    }
    meta.file_size = builder.FileSize();
    if (s.ok()) s = file->Sync();
    if (s.ok()) s = file->Close();
    if (s.ok()) s = env_->SyncDir(dbname_);
    if (s.ok()) {
      // Read it back before the MANIFEST names it: a table we cannot open must not
      // replace the log that still holds its data.
      s = VerifyNewTable(meta.number, meta.file_size);
    }
  }
  if (!s.ok()) env_->RemoveFile(path);

  lock.lock();
  // On success the table stays in pending_outputs_ until the caller has recorded the
  // edit: until then no Version names it and DeleteObsoleteFiles would take it.
  if (s.ok()) {
    edit->AddFile(0, std::move(meta));
  } else {
    pending_outputs_.erase(meta.number);
  }
  return s;
}

Status DBImpl::Put(const WriteOptions& options, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(key, value);
  return Write(options, &batch);
}

Status DBImpl::Delete(const WriteOptions& options, std::string_view key) {
  WriteBatch batch;
  batch.Delete(key);
  return Write(options, &batch);
}

Status DBImpl::Write(const WriteOptions& options, WriteBatch* batch) {
  if (batch != nullptr && batch->oversized()) {
    return Status::InvalidArgument(dbname_ + ": a key is larger than " +
                                   std::to_string(WriteBatch::kMaxKeySize) +
                                   " bytes or a value larger than " +
                                   std::to_string(WriteBatch::kMaxValueSize) + " bytes");
  }
  Writer w(batch, options.sync);
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return ClosedError(dbname_);
  writers_.push_back(&w);
  if (batch != nullptr) {
    counters_.writes++;
    last_write_micros_ = SteadyMicros();
  }
  w.cv.wait(lock, [&] { return w.done || &w == writers_.front(); });
  if (w.done) return w.status;

  // This thread leads a group: it writes for every writer queued behind it.
  Status s = MakeRoomForWrite(/*force=*/batch == nullptr, lock);
  SequenceNumber last_sequence = versions_->LastSequence();
  Writer* last_writer = &w;
  if (s.ok() && batch != nullptr) {
    WriteBatch* group = BuildBatchGroup(&last_writer);
    WriteBatchInternal::SetSequence(group, last_sequence + 1);
    last_sequence += group->Count();
    // Other writers only queue while the leader works, so the log and memtable are
    // safe to use without the mutex.
    lock.unlock();
    std::string_view record = WriteBatchInternal::Contents(*group);
    s = log_->AddRecord(record);
    if (s.ok() && w.sync) s = logfile_->Sync();
    bool log_failed = !s.ok();
    if (s.ok()) s = WriteBatchInternal::InsertInto(*group, mem_.get(), &recovery_puts_);
    lock.lock();
    if (log_failed) RecordBackgroundError(s);
    if (s.ok()) versions_->SetLastSequence(last_sequence);
    // A background thread asleep with no deadline learns that idle settling may now be
    // coming (once: it then sleeps with one).
    if (untimed_sleepers_ > 0 && options_.settle_after_idle_millis > 0 &&
        IdleMemTableWorthFlushing()) {
      background_work_.notify_all();
    }
    counters_.write_groups++;
    counters_.log_bytes_written += record.size();
    counters_.user_bytes_written += record.size() - WriteBatchInternal::kHeaderSize;
    if (w.sync) counters_.syncs++;
    if (group == &group_batch_) group_batch_.Clear();
  }

  while (true) {
    Writer* ready = writers_.front();
    writers_.pop_front();
    if (ready != &w) {
      ready->status = s;
      ready->done = true;
      ready->cv.notify_one();
    }
    if (ready == last_writer) break;
  }
  if (!writers_.empty()) {
    writers_.front()->cv.notify_one();
  } else if (shutting_down_) {
    background_work_done_.notify_all();  // Close waits for the last writer
  }
  return s;
}

WriteBatch* DBImpl::BuildBatchGroup(Writer** last_writer) {
  Writer* first = writers_.front();
  WriteBatch* result = first->batch;
  // Small writes get a small group so a lone small write is not delayed much.
  size_t size = first->batch->ApproximateSize();
  size_t max_size = size <= (128 << 10) ? size + (128 << 10) : (1 << 20);
  *last_writer = first;
  for (auto it = writers_.begin() + 1; it != writers_.end(); ++it) {
    Writer* w = *it;
    if (w->sync && !first->sync) break;  // a sync write must not ride a non-sync leader
    if (w->batch == nullptr) break;      // a Flush request ends the group
    size += w->batch->ApproximateSize();
    if (size > max_size) break;
    if (result == first->batch) {
      group_batch_.Clear();
      group_batch_.Append(*first->batch);
      result = &group_batch_;
    }
    result->Append(*w->batch);
    *last_writer = w;
  }
  return result;
}

Status DBImpl::MakeRoomForWrite(bool force, std::unique_lock<std::mutex>& lock) {
  bool delayed = false;
  while (true) {
    if (!background_error_.ok()) return background_error_;
    if (closed_ || shutting_down_) return ClosedError(dbname_);
    int level0_files = versions_->current()->NumFiles(0);
    if (!delayed && level0_files >= options_.level0_slowdown_writes_trigger) {
      // Level 0 is filling up: give compaction a little CPU on every write rather than
      // stopping writes outright later. Each write is delayed at most once.
      lock.unlock();
      uint64_t start = env_->NowMicros();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      lock.lock();
      counters_.stall_micros += env_->NowMicros() - start;
      counters_.slowdowns++;
      delayed = true;
      continue;
    }
    if (!force && mem_->ApproximateMemoryUsage() <= options_.write_buffer_size) {
      return Status::OK();
    }
    // An empty memtable is never too full: its arena alone may pass a tiny buffer size.
    if (mem_->empty()) return Status::OK();
    if (imm_ != nullptr || level0_files >= options_.level0_stop_writes_trigger) {
      // The previous memtable is still being flushed, or level 0 is full: wait
      // instead of growing memory or level 0 without bound.
      uint64_t start = env_->NowMicros();
      background_work_.notify_all();
      background_work_done_.wait(lock);
      counters_.stall_micros += env_->NowMicros() - start;
      counters_.stops++;
      continue;
    }
    Status s = SwitchMemTable(lock);
    if (!s.ok()) return s;
    force = false;
    background_work_.notify_all();
  }
}

Status DBImpl::SwitchMemTable(std::unique_lock<std::mutex>& lock) {
  memtable_switch_running_ = true;
  Status s = SwitchToNewLog(lock);
  memtable_switch_running_ = false;
  if (!s.ok()) {
    RecordBackgroundError(s);
    return s;
  }
  imm_ = std::move(mem_);
  mem_ = NewMemTable();
  return Status::OK();
}

void DBImpl::RecordBackgroundError(const Status& s) {
  if (background_error_.ok()) {
    background_error_ = s.WithContext(dbname_ + " is read-only after a failed background write");
  }
  background_work_done_.notify_all();
}

bool DBImpl::HasBackgroundWork() const {
  if (!background_error_.ok()) return false;
  if (imm_ != nullptr && !flush_running_) return true;
  return !compaction_running_ &&
         (manual_compaction_ != nullptr || versions_->NeedsCompaction(Idle()));
}

// The idle timer's clock: steady, so that a wall-clock step neither starts settling
// during a burst of writes nor puts it off for hours.
uint64_t DBImpl::SteadyMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

bool DBImpl::Idle() const {
  const uint64_t delay = uint64_t{options_.settle_after_idle_millis} * 1000;
  if (delay == 0) return false;
  return settle_waiters_ > 0 || SteadyMicros() - last_write_micros_ >= delay;
}

uint64_t DBImpl::IdleWorkDeadline() const {
  if (options_.settle_after_idle_millis == 0 || !background_error_.ok() ||
      (!versions_->NeedsCompaction(/*idle=*/true) && !IdleMemTableWorthFlushing())) {
    return 0;
  }
  return last_write_micros_ + uint64_t{options_.settle_after_idle_millis} * 1000;
}

bool DBImpl::IdleMemTableWorthFlushing() const {
  // A memtable of a few writes stays: flushing it would make a tiny table, and moving
  // that down would rewrite level 1 for it (see VersionSet::kIdleLevel0Ratio).
  return !mem_->empty() &&
         mem_->ApproximateMemoryUsage() >= options_.write_buffer_size / kIdleFlushFraction;
}

bool DBImpl::IdleFlushDue() const {
  // Only with the writer slot free (no write to wait for, nobody to wait behind) and no
  // flush pending, so that taking the slot here never waits for this very thread.
  return Idle() && background_error_.ok() && !shutting_down_ && writers_.empty() &&
         imm_ == nullptr && IdleMemTableWorthFlushing();
}

void DBImpl::SwitchMemTableWhileIdle(std::unique_lock<std::mutex>& lock) {
  // Takes the writer slot like a write would (the queue is empty, so this is its
  // front at once): only the front uses the log and the memtable. Writers arriving
  // meanwhile queue behind and are woken below.
  Writer slot(nullptr, false);
  writers_.push_back(&slot);
  SwitchMemTable(lock);  // a failure is recorded as the background error
  writers_.pop_front();
  if (!writers_.empty()) writers_.front()->cv.notify_one();
}

void DBImpl::BackgroundThreadMain() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (!shutting_down_ && !HasBackgroundWork() && IdleFlushDue()) {
      // An idle store also writes its memtable to a table (and level 0 then moves
      // down): a read then searches no memtable, and the next open replays no log.
      SwitchMemTableWhileIdle(lock);
      continue;
    }
    if (!shutting_down_ && !HasBackgroundWork()) {
      // Sleep until woken, or until level 0 becomes idle work. A deadline already
      // past means that work waits for the running job, whose end wakes this thread.
      const uint64_t deadline = IdleWorkDeadline();
      const uint64_t now = SteadyMicros();
      if (deadline > now) {
        background_work_.wait_for(lock, std::chrono::microseconds(deadline - now));
      } else if (deadline != 0) {
        // Due but blocked (a job running, a writer in the slot): look again later,
        // since a write that ends a burst wakes no one.
        background_work_.wait_for(lock,
                                  std::chrono::milliseconds(options_.settle_after_idle_millis));
      } else {
        // Nothing due: a write that gives the memtable enough to flush wakes this wait
        // (Write), so that the idle timer starts.
        untimed_sleepers_++;
        background_work_.wait(lock);
        untimed_sleepers_--;
      }
      continue;
    }
    if (shutting_down_) break;
    // Flushes first: writers may be waiting for the memtable slot.
    if (imm_ != nullptr && !flush_running_) {
      flush_running_ = true;
      FlushImmutableMemTable(lock);
      flush_running_ = false;
    } else {
      compaction_running_ = true;
      BackgroundCompaction(lock);
      compaction_running_ = false;
    }
    background_work_done_.notify_all();
    // The work done may have created more (e.g. a flush filling level 0).
    if (HasBackgroundWork()) background_work_.notify_all();
  }
}

void DBImpl::BackgroundCompaction(std::unique_lock<std::mutex>& lock) {
  std::unique_ptr<Compaction> c;
  ManualCompaction* manual = manual_compaction_;
  if (manual != nullptr) {
    // The deepest level holding data in range is where the data ends: it is rewritten
    // into itself (dropping what no snapshot needs) unless the previous step just
    // produced it that way. Level 0 always moves down. Decided here, under the mutex
    // with no other compaction running, so that a compaction which began before the
    // caller released its snapshots cannot have moved the data below the plan.
    bool deeper_data = false;
    {
      std::shared_ptr<const Version> current = versions_->current();
      for (int l = manual->level + 1; l < kNumLevels; l++) {
        deeper_data =
            deeper_data || !current->OverlappingFiles(l, manual->begin, manual->end).empty();
      }
    }
    manual->in_place = manual->level > 0 && !deeper_data;
    if (!manual->in_place || manual->level != manual->previous_output_level) {
      c = versions_->CompactRange(manual->level, manual->begin, manual->end, manual->in_place);
    }
    if (c != nullptr) manual->output_level = c->output_level();
  } else {
    c = versions_->PickCompaction(Idle());
  }
  Status s;
  bool stopped_by_close = false;
  const bool did_work = c != nullptr;
  if (c != nullptr) s = RunCompaction(c.get(), &stopped_by_close, lock);
  if (!s.ok() && !stopped_by_close) RecordBackgroundError(s);
  // The compaction pins its input Version: release it so its tables can go.
  c.reset();
  DeleteObsoleteFiles(lock);
  // Done with this level once nothing in it overlaps the range any more (an in-place
  // rewrite runs once). Marked only now, so CompactRange returns with the garbage
  // already deleted.
  if (manual != nullptr && (!s.ok() || !did_work || manual->in_place)) {
    manual->status = s;
    manual->done = true;
    manual_compaction_ = nullptr;
  }
}

Status DBImpl::RunCompaction(Compaction* c, bool* stopped_by_close,
                             std::unique_lock<std::mutex>& lock) {
  VersionEdit edit;
  c->AddInputDeletions(&edit);
  if (c->IsTrivialMove()) {
    edit.AddFile(c->output_level(), *c->inputs[0][0]);
    Status s = versions_->LogAndApply(&edit, lock);
    if (s.ok()) counters_.trivial_moves++;
    return s;
  }
  Status s = MergeCompactionInputs(c, SmallestSnapshot(), &edit, stopped_by_close, lock);
  if (s.ok()) s = versions_->LogAndApply(&edit, lock);
  ReleasePendingOutputs(edit);
  if (s.ok()) {
    counters_.compactions++;
    for (int which = 0; which < 2; which++) {
      for (const auto& f : c->inputs[which]) {
        counters_.compaction_bytes_read[which == 0 ? c->level() : c->output_level()] +=
            f->file_size;
      }
    }
    for (const auto& [level, file] : edit.new_files()) {
      counters_.compaction_bytes_written[level] += file.file_size;
    }
  }
  return s;
}

void DBImpl::ReleasePendingOutputs(const VersionEdit& edit) {
  for (const auto& [level, file] : edit.new_files()) pending_outputs_.erase(file.number);
}

SequenceNumber DBImpl::SmallestSnapshot() const {
  SequenceNumber smallest = versions_->LastSequence();
  for (const SnapshotImpl* s = newest_snapshot_; s != nullptr; s = s->older) {
    smallest = std::min(smallest, s->sequence);
  }
  return smallest;
}

Status DBImpl::MergeCompactionInputs(Compaction* c, SequenceNumber smallest_snapshot,
                                     VersionEdit* edit, bool* stopped_by_close,
                                     std::unique_lock<std::mutex>& lock) {
  std::vector<std::unique_ptr<Iterator>> inputs;
  std::vector<std::shared_ptr<const Table>> tables;
  for (int which = 0; which < 2; which++) {
    for (const auto& f : c->inputs[which]) {
      std::shared_ptr<const Table> table;
      Status s = table_cache_->FindTable(f->number, f->file_size, &table);
      if (!s.ok()) return s;
      // Compaction reads every block once: caching them would evict the hot ones.
      inputs.push_back(table->NewIterator(BlockCacheFill::kDontFill));
      tables.push_back(std::move(table));
    }
  }
  Options output_options = options_;
  if (c->OutputIsBottommost()) {
    output_options.compression_level = options_.bottommost_compression_level;
  }
  lock.unlock();

  std::unique_ptr<Iterator> input =
      NewMergingIterator(GetInternalKeyComparator(), std::move(inputs));
  std::unique_ptr<WritableFile> file;
  std::unique_ptr<TableBuilder> builder;
  FileMetaData meta;
  Status s;
  std::string current_user_key;
  bool has_current_user_key = false;
  SequenceNumber last_sequence_for_key = kMaxSequenceNumber;
  bool cut_output = false;  // end the output table at the next user key
  std::string zeroed_key;
  for (input->SeekToFirst(); input->Valid() && s.ok(); input->Next()) {
    if (shutting_down_.load(std::memory_order_acquire)) {
      if (builder != nullptr && !builder->status().ok()) {
        s = builder->status();  // a real failure happened first: report it
      } else {
        // Not an error: the inputs are intact and the work is redone after reopen.
        *stopped_by_close = true;
        s = Status::IOError(dbname_ + ": compaction stopped by close");
      }
      break;
    }
    std::string_view key = input->key();
    ParsedInternalKey parsed;
    if (!ParseInternalKey(key, &parsed)) {
      s = Status::Corruption(dbname_ + ": compaction met a malformed key");
      break;
    }
    bool new_user_key = !has_current_user_key || parsed.user_key != current_user_key;
    if (builder != nullptr && c->ShouldStopBefore(key)) cut_output = true;
    // Outputs end only between user keys, so no user key spans two tables of a level
    // (reads and later compactions rely on it).
    if (builder != nullptr && cut_output && new_user_key) {
      s = FinishCompactionOutput(builder.get(), file.get(), &meta, c->output_level(), edit);
      builder.reset();
      file.reset();
      cut_output = false;
      if (!s.ok()) break;
    }
    if (new_user_key) {
      current_user_key.assign(parsed.user_key);
      has_current_user_key = true;
      last_sequence_for_key = kMaxSequenceNumber;
    }
    bool drop = false;
    if (last_sequence_for_key <= smallest_snapshot) {
      drop = true;  // a newer entry of this key is visible to every reader
    } else if (parsed.type == ValueType::kDeletion && parsed.sequence <= smallest_snapshot &&
               c->IsBaseLevelForKey(parsed.user_key)) {
      // Every reader sees this deletion and nothing deeper can hold the key: the
      // older entries it hides are in this compaction and are dropped by the rule above.
      drop = true;
    }
    last_sequence_for_key = parsed.sequence;
    if (drop) continue;

    if (parsed.type == ValueType::kValue && parsed.sequence != 0 &&
        parsed.sequence <= smallest_snapshot && c->IsBaseLevelForKey(parsed.user_key)) {
      // Every reader sees this value and nothing deeper holds the key, so its sequence
      // number no longer orders anything: store 0, whose trailer compresses to almost
      // nothing (RocksDB does the same). Older versions of the key were dropped above.
      zeroed_key.assign(parsed.user_key);
      PutFixed64(&zeroed_key, PackSequenceAndType(0, ValueType::kValue));
      key = zeroed_key;
    }

    if (builder == nullptr) {
      lock.lock();
      meta = FileMetaData();
      meta.number = versions_->NewFileNumber();
      pending_outputs_.insert(meta.number);
      lock.unlock();
      s = env_->NewWritableFile(TableFileName(dbname_, meta.number), &file);
      if (!s.ok()) break;
      builder = std::make_unique<TableBuilder>(output_options, file.get());
      meta.smallest.assign(key);
    }
    meta.largest.assign(key);
    builder->Add(key, input->value());
    if (builder->FileSize() >= c->max_output_file_size()) cut_output = true;
  }
  if (s.ok()) s = input->status();
  if (s.ok() && builder != nullptr) {
    s = FinishCompactionOutput(builder.get(), file.get(), &meta, c->output_level(), edit);
  } else if (builder != nullptr) {
    builder->Abandon();
  }
  if (s.ok() && !edit->new_files().empty()) s = env_->SyncDir(dbname_);
  input.reset();
  lock.lock();
  if (!s.ok()) {
    // Outputs never reached the MANIFEST: they are garbage.
    for (const auto& [level, f] : edit->new_files()) {
      pending_outputs_.erase(f.number);
    }
    if (meta.number != 0) pending_outputs_.erase(meta.number);
  }
  return s;
}

Status DBImpl::FinishCompactionOutput(TableBuilder* builder, WritableFile* file,
                                      FileMetaData* meta, int level, VersionEdit* edit) {
  Status s = builder->Finish();
  meta->file_size = builder->FileSize();
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = file->Close();
  if (s.ok()) s = VerifyNewTable(meta->number, meta->file_size);
  if (s.ok()) edit->AddFile(level, std::move(*meta));
  *meta = FileMetaData();
  return s;
}

Status DBImpl::VerifyNewTable(uint64_t number, uint64_t file_size) {
  std::shared_ptr<const Table> table;
  Status s = table_cache_->FindTable(number, file_size, &table);
  // Opened only to check it: keep it closed until a read or a compaction needs it. An
  // open table pins its index and filter, about 2 bytes per entry; during a long write
  // burst nothing reads most new tables before compaction replaces them, and keeping
  // them all open would add that much to the peak memory of the process.
  table.reset();
  table_cache_->Evict(number);
  return s;
}

void DBImpl::FlushImmutableMemTable(std::unique_lock<std::mutex>& lock) {
  std::shared_ptr<MemTable> imm = imm_;
  VersionEdit edit;
  Status s = WriteLevel0Table(*imm, &edit, lock);
  if (s.ok()) {
    // Every write in imm is now in a table: logs before the current one are obsolete.
    edit.SetLogNumber(logfile_number_);
    s = versions_->LogAndApply(&edit, lock);
  }
  ReleasePendingOutputs(edit);
  if (s.ok()) {
    counters_.flushes++;
    for (const auto& [level, file] : edit.new_files()) {
      counters_.flush_bytes_written += file.file_size;
    }
    imm_.reset();
    // Writers waiting for the memtable slot can go on while the old files are deleted.
    background_work_done_.notify_all();
    // Release the memtable's memory now (unless a reader still holds it), not after the
    // file deletions below: the next memtable is filling meanwhile, and this one holding
    // write_buffer_size bytes a little longer would raise the peak memory of the process.
    lock.unlock();
    imm.reset();
    lock.lock();
    DeleteObsoleteFiles(lock);
  } else {
    RecordBackgroundError(s);
  }
  background_work_done_.notify_all();
}

void DBImpl::DeleteObsoleteFiles(std::unique_lock<std::mutex>& lock) {
  // After a background error we cannot know whether the last MANIFEST edit reached
  // the disk, so no file is known to be garbage.
  if (!background_error_.ok()) return;
  std::set<uint64_t> live = pending_outputs_;
  versions_->AddLiveFiles(&live);
  uint64_t log_number = versions_->LogNumber();
  uint64_t manifest_number = versions_->ManifestFileNumber();
  // Listed under the mutex: a file created after this point is in pending_outputs_
  // of a later call, not in this list.
  std::vector<std::string> children;
  env_->GetChildren(dbname_, &children);  // best effort: garbage stays until next time
  lock.unlock();
  for (const std::string& name : children) {
    uint64_t number;
    FileType type;
    if (!ParseFileName(name, &number, &type)) continue;
    bool keep = true;
    switch (type) {
      case FileType::kLog: keep = number >= log_number; break;
      case FileType::kManifest: keep = number >= manifest_number; break;
      case FileType::kTable: keep = live.count(number) > 0; break;
      case FileType::kTemp: keep = live.count(number) > 0 || number >= manifest_number; break;
      case FileType::kLock:
      case FileType::kCurrent:
      case FileType::kEventLog: break;
    }
    if (keep) continue;
    if (type == FileType::kTable) table_cache_->Evict(number);
    env_->RemoveFile(dbname_ + "/" + name);
  }
  lock.lock();
}

bool DBImpl::CaptureReadView(const ReadOptions& options, ReadView* view) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (closed_) return false;
  view->sequence = options.snapshot != nullptr
                       ? static_cast<const SnapshotImpl*>(options.snapshot)->sequence
                       : versions_->LastSequence();
  view->mem = mem_;
  view->imm = imm_;
  view->version = versions_->current();
  return true;
}

Status DBImpl::Get(const ReadOptions& options, std::string_view key, std::string* value) {
  ReadView view;
  if (!CaptureReadView(options, &view)) return ClosedError(dbname_);
  LookupKey lookup(key, view.sequence);
  Status s;
  counters_.gets.fetch_add(1, std::memory_order_relaxed);
  if (view.mem->Get(lookup, value, &s) ||
      (view.imm != nullptr && view.imm->Get(lookup, value, &s))) {
    counters_.memtable_hits.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  bool found = false;
  s = GetFromTables(*view.version, lookup, value, &found);
  if (!s.ok() || found) return s;
  return Status::NotFound(std::string_view());
}

Status DBImpl::GetFromTables(const Version& version, const LookupKey& key, std::string* value,
                             bool* found) {
  std::string_view user_key = key.user_key();
  auto search = [&](int level, const FileMetaData& f) -> Status {
    counters_.table_reads[level].fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<const Table> cached;
    const Table* table = level == 0 ? f.pinned_table.get() : nullptr;
    if (table == nullptr) {
      Status s = table_cache_->FindTable(f.number, f.file_size, &cached);
      if (!s.ok()) return s;
      table = level == 0 ? f.pinned_table.Pin(std::move(cached)) : cached.get();
    }
    TableGetResult result;
    Status s = table->Get(key, &result, value);
    if (!s.ok()) return s;
    if (result == TableGetResult::kNotPresent) return Status::OK();
    *found = true;
    counters_.get_hits[level].fetch_add(1, std::memory_order_relaxed);
    return result == TableGetResult::kFound ? Status::OK() : Status::NotFound(std::string_view());
  };
  auto in_range = [user_key](const FileMetaData& f) {
    return user_key >= ExtractUserKey(f.smallest) && user_key <= ExtractUserKey(f.largest);
  };

  for (const auto& f : version.files[0]) {  // newest first; tables may overlap
    if (!in_range(*f)) continue;
    Status s = search(0, *f);
    if (!s.ok() || *found) return s;
  }
  const InternalKeyComparator* icmp = GetInternalKeyComparator();
  for (int level = 1; level < kNumLevels; level++) {
    const auto& files = version.files[level];
    // The first table whose largest key is >= the lookup key is the only candidate.
    auto it = std::partition_point(files.begin(), files.end(), [&](const auto& f) {
      return icmp->Compare(f->largest, key.internal_key()) < 0;
    });
    if (it == files.end() || !in_range(**it)) continue;
    Status s = search(level, **it);
    if (!s.ok() || *found) return s;
  }
  return Status::OK();
}

std::unique_ptr<Iterator> DBImpl::NewIterator(const ReadOptions& options) {
  ReadView view;
  if (!CaptureReadView(options, &view)) return NewEmptyIterator(ClosedError(dbname_));
  const BlockCacheFill fill =
      options.fill_cache ? BlockCacheFill::kFillOnSecondRead : BlockCacheFill::kDontFill;
  std::vector<std::unique_ptr<Iterator>> children;
  std::vector<std::shared_ptr<const Table>> tables;
  // A memtable empty now holds nothing at view.sequence (entries are in it before their
  // sequence is published), and what is added later is above it: leave it out, so that
  // a store with one sorted run is read without a merge.
  if (!view.mem->empty()) children.push_back(view.mem->NewIterator());
  if (view.imm != nullptr && !view.imm->empty()) children.push_back(view.imm->NewIterator());
  for (const auto& f : view.version->files[0]) {
    std::shared_ptr<const Table> table;
    Status s = table_cache_->FindTable(f->number, f->file_size, &table);
    if (!s.ok()) return NewEmptyIterator(s);
    children.push_back(table->NewIterator(fill));
    tables.push_back(std::move(table));
  }
  for (int level = 1; level < kNumLevels; level++) {
    if (view.version->files[level].empty()) continue;
    children.push_back(NewLevelIterator(table_cache_.get(), &view.version->files[level], fill));
  }
  // One source (one sorted run, nothing in the memtables) yields each internal key once.
  const bool unique_internal_keys = children.size() == 1;
  std::unique_ptr<Iterator> result =
      NewDBIterator(NewMergingIterator(GetInternalKeyComparator(), std::move(children)),
                    view.sequence, unique_internal_keys);
  // Keeps the memtables, tables and their files alive until the iterator is gone.
  result->RegisterCleanup([view = std::move(view), tables = std::move(tables)] {});
  return result;
}

const Snapshot* DBImpl::GetSnapshot() {
  std::lock_guard<std::mutex> guard(mutex_);
  auto* snapshot = new SnapshotImpl(versions_->LastSequence());
  snapshot->older = newest_snapshot_;
  if (newest_snapshot_ != nullptr) newest_snapshot_->newer = snapshot;
  newest_snapshot_ = snapshot;
  return snapshot;
}

void DBImpl::ReleaseSnapshot(const Snapshot* snapshot) {
  std::lock_guard<std::mutex> guard(mutex_);
  auto* impl = const_cast<SnapshotImpl*>(static_cast<const SnapshotImpl*>(snapshot));
  (impl->newer != nullptr ? impl->newer->older : newest_snapshot_) = impl->older;
  if (impl->older != nullptr) impl->older->newer = impl->newer;
  delete impl;
}

Status DBImpl::Flush() {
  // Queued like a write so it cannot interleave with a leader using the log.
  Status s = Write(WriteOptions(), nullptr);
  if (!s.ok()) return s;
  std::unique_lock<std::mutex> lock(mutex_);
  background_work_done_.wait(lock, [this] {
    return imm_ == nullptr || !background_error_.ok() || shutting_down_;
  });
  if (!background_error_.ok()) return background_error_;
  return imm_ == nullptr ? Status::OK() : ClosedError(dbname_);
}

Status DBImpl::CompactRange(const std::string_view* begin, const std::string_view* end) {
  Status s = Flush();
  if (!s.ok()) return s;
  std::unique_lock<std::mutex> lock(mutex_);
  int written_level = -1;  // the level the previous step merged everything into
  for (int level = 0; level < kNumLevels && s.ok(); level++) {
    {
      // A hint only (the background thread decides again when it picks the step); not
      // held while waiting below: a held Version keeps its tables on disk.
      std::shared_ptr<const Version> current = versions_->current();
      if (current->OverlappingFiles(level, begin, end).empty()) continue;
    }
    ManualCompaction manual;
    manual.level = level;
    manual.begin = begin;
    manual.end = end;
    manual.previous_output_level = written_level;
    // One manual compaction at a time; it runs on a background thread when the
    // compaction slot is free, repeatedly, until the level has nothing in range.
    background_work_done_.wait(lock, [this] {
      return manual_compaction_ == nullptr || shutting_down_ || !background_error_.ok();
    });
    if (shutting_down_) return ClosedError(dbname_);
    if (!background_error_.ok()) return background_error_;
    manual_compaction_ = &manual;
    background_work_.notify_all();
    background_work_done_.wait(lock, [&] {
      return manual.done || shutting_down_ || !background_error_.ok();
    });
    if (!manual.done) {
      if (manual_compaction_ == &manual) manual_compaction_ = nullptr;
      return shutting_down_ ? ClosedError(dbname_) : background_error_;
    }
    s = manual.status;
    if (manual.output_level >= 0) written_level = manual.output_level;
    if (manual.in_place) break;
  }
  return s;
}

Status DBImpl::WaitForBackgroundWork() {
  std::unique_lock<std::mutex> lock(mutex_);
  // A waiting caller makes the store idle at once: level 0 is compacted too.
  settle_waiters_++;
  background_work_.notify_all();
  // A memtable switch under way has released the mutex to create the new log: its
  // memtable is neither imm_ yet nor, with the writer slot held, an IdleFlushDue.
  background_work_done_.wait(lock, [this] {
    return shutting_down_ || !background_error_.ok() ||
           (!HasBackgroundWork() && !flush_running_ && !compaction_running_ &&
            !memtable_switch_running_ && imm_ == nullptr && !IdleFlushDue());
  });
  settle_waiters_--;
  if (!background_error_.ok()) return background_error_;
  if (shutting_down_) return ClosedError(dbname_);
  // Released readers may have left tables that no Version names any more.
  DeleteObsoleteFiles(lock);
  return Status::OK();
}

void DBImpl::GetStatistics(Statistics* out) {
  *out = Statistics();
  std::lock_guard<std::mutex> guard(mutex_);
  const Counters& c = counters_;
  out->user_bytes_written = c.user_bytes_written;
  out->log_bytes_written = c.log_bytes_written;
  out->flush_bytes_written = c.flush_bytes_written;
  out->writes = c.writes;
  out->write_groups = c.write_groups;
  out->syncs = c.syncs;
  out->gets = c.gets.load(std::memory_order_relaxed);
  out->memtable_hits = c.memtable_hits.load(std::memory_order_relaxed);
  std::shared_ptr<const Version> current =
      versions_ != nullptr ? versions_->current() : std::make_shared<const Version>();
  for (int level = 0; level < kNumLevels && level < kStatisticsLevels; level++) {
    LevelStatistics& l = out->levels[level];
    l.files = current->NumFiles(level);
    l.bytes = current->LevelBytes(level);
    l.compaction_bytes_read = c.compaction_bytes_read[level];
    l.compaction_bytes_written = c.compaction_bytes_written[level];
    l.table_reads = c.table_reads[level].load(std::memory_order_relaxed);
    l.get_hits = c.get_hits[level].load(std::memory_order_relaxed);
    out->compaction_bytes_written += l.compaction_bytes_written;
  }
  if (out->user_bytes_written > 0) {
    out->write_amplification =
        static_cast<double>(out->log_bytes_written + out->flush_bytes_written +
                            out->compaction_bytes_written) /
        static_cast<double>(out->user_bytes_written);
  }
  out->stall_micros = c.stall_micros;
  out->slowdowns = c.slowdowns;
  out->stops = c.stops;
  out->flushes = c.flushes;
  out->compactions = c.compactions;
  out->trivial_moves = c.trivial_moves;
  if (versions_ != nullptr) out->pending_compaction_bytes = versions_->PendingCompactionBytes();
  const TableReadCounters& reads = table_cache_->read_counters();
  out->bloom_checks = reads.bloom_checks.load(std::memory_order_relaxed);
  out->bloom_useful = reads.bloom_useful.load(std::memory_order_relaxed);
  if (const Cache* cache = table_cache_->block_cache()) {
    out->block_cache_hits = cache->hits();
    out->block_cache_misses = cache->misses();
    out->block_cache_usage = cache->usage();
  }
  out->memtable_bytes = (mem_ != nullptr ? mem_->ApproximateMemoryUsage() : 0) +
                        (imm_ != nullptr ? imm_->ApproximateMemoryUsage() : 0);
}

Status DBImpl::Close() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return Status::OK();
  shutting_down_ = true;
  background_work_.notify_all();
  background_work_done_.notify_all();
  lock.unlock();
  for (std::thread& t : background_threads_) t.join();
  background_threads_.clear();
  lock.lock();
  // Writers still queued were woken with an error by MakeRoomForWrite's checks.
  background_work_done_.wait(lock, [this] { return writers_.empty(); });
  // Tables a reader's Version kept alive past the last flush or compaction are
  // garbage now (they are otherwise swept only after the next background job).
  if (versions_ != nullptr) DeleteObsoleteFiles(lock);
  closed_ = true;
  Status s;
  if (logfile_ != nullptr) {
    s = logfile_->Close();
    log_.reset();
    logfile_.reset();
  }
  versions_.reset();
  db_lock_.reset();
  // A background failure nobody has seen yet (e.g. a compaction after the last write)
  // is reported here rather than lost.
  return background_error_.ok() ? s : background_error_;
}

}  // namespace strata
