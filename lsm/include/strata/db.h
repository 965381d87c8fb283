// DB: an LSM-tree key-value store in one directory. Keys and values are byte
// strings; keys are ordered by memcmp. All methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "strata/iterator.h"
#include "strata/options.h"
#include "strata/statistics.h"
#include "strata/status.h"
#include "strata/write_batch.h"

namespace strata {

// A consistent read view: reads at a snapshot see the writes that had returned before
// it was taken, and nothing later.
class Snapshot {
 protected:
  virtual ~Snapshot() = default;
};

class DB {
 public:
  // Opens (and with create_if_missing creates) the store in directory `path`,
  // recovering any writes logged since the last flush. A store open in another
  // process, or already open in this one, is reported as Status::Busy.
  static Status Open(const Options& options, const std::string& path,
                     std::unique_ptr<DB>* db);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  // Closes the store if Close() was not called; waits for background work.
  virtual ~DB() = default;

  virtual Status Put(const WriteOptions& options, std::string_view key,
                     std::string_view value) = 0;
  virtual Status Delete(const WriteOptions& options, std::string_view key) = 0;
  // Applies every update of batch or none of them.
  virtual Status Write(const WriteOptions& options, WriteBatch* batch) = 0;

  // NotFound when the key has no value (never written or deleted).
  virtual Status Get(const ReadOptions& options, std::string_view key,
                     std::string* value) = 0;
  // An iterator over user keys and values at options.snapshot (or now).
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  virtual const Snapshot* GetSnapshot() = 0;
  virtual void ReleaseSnapshot(const Snapshot* snapshot) = 0;

  // Writes the memtable to a level-0 table and waits until it is recorded.
  virtual Status Flush() = 0;
  // Compacts every level's tables overlapping [begin, end] (nullptr = unbounded) down
  // to the deepest level: overwritten versions no snapshot can see and deleted keys
  // are dropped from disk. Waits until done.
  virtual Status CompactRange(const std::string_view* begin, const std::string_view* end) = 0;
  // Waits until no flush or compaction is pending or running. The store counts as idle
  // meanwhile (Options::settle_after_idle_millis), so its memtable is flushed and level
  // 0 compacted too: it returns with the store as it settles when left alone.
  virtual Status WaitForBackgroundWork() = 0;

  // The engine's counters and the shape of the tree now.
  virtual void GetStatistics(Statistics* statistics) = 0;

  // About how many bytes the keys in [begin, end) take now, like LevelDB's
  // GetApproximateSizes: the part of each table holding the range, located through the
  // table's index (so compressed bytes, to a data block), plus the entries in range in
  // the memtables, counted up to 128 of them per memtable (beyond that, the whole
  // memtable's size). For planning, not accounting: overwritten and deleted versions
  // not compacted away yet count too. 0 if end <= begin.
  virtual Status GetApproximateSize(std::string_view begin, std::string_view end,
                                    uint64_t* bytes) = 0;

  // Waits for background work, releases the lock. Later calls return an error.
  virtual Status Close() = 0;
};

// Removes every file of the store in path (which must not be open).
Status DestroyDB(const std::string& path, const Options& options);

}  // namespace strata
