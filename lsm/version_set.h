// Version: the immutable set of live tables per level at one moment. Readers hold a
// std::shared_ptr<const Version> for as long as they read, so a table stays on disk
// while any reader can still see it.
//
// VersionSet: the current Version, the MANIFEST that records how it came to be, and
// the counters (next file number, last sequence, live log number). Every method
// requires the DB mutex; LogAndApply releases it while writing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "strata/env.h"
#include "strata/options.h"
#include "lsm/log_writer.h"
#include "lsm/version_edit.h"

namespace strata {

struct Version {
  // Level 0: newest first (tables may overlap). Levels >= 1: sorted by smallest key,
  // non-overlapping.
  std::vector<std::shared_ptr<const FileMetaData>> files[kNumLevels];

  int NumFiles(int level) const { return static_cast<int>(files[level].size()); }
  uint64_t LevelBytes(int level) const;

  // Tables of level whose user-key range meets [begin, end] (null = unbounded).
  std::vector<std::shared_ptr<const FileMetaData>> OverlappingFiles(
      int level, const std::string_view* begin, const std::string_view* end) const;
};

class Compaction;

class VersionSet {
 public:
  VersionSet(std::string dbname, const Options& options, Env* env);
  ~VersionSet();
  VersionSet(const VersionSet&) = delete;
  VersionSet& operator=(const VersionSet&) = delete;

  // Writes the MANIFEST and CURRENT of a new, empty store.
  static Status CreateNew(Env* env, const std::string& dbname);

  // Rebuilds the current Version from CURRENT and the MANIFEST it names.
  Status Recover();

  // Applies edit to the current Version, appends it to the MANIFEST (the first call
  // after Recover starts a fresh MANIFEST holding a snapshot of the whole state) and
  // syncs it, then installs the new Version. Sets the edit's next file number and
  // last sequence. On error the current Version is unchanged. Concurrent callers are
  // serialized. `lock` holds the DB mutex; it is released during I/O.
  Status LogAndApply(VersionEdit* edit, std::unique_lock<std::mutex>& lock);

  std::shared_ptr<const Version> current() const { return current_; }

  uint64_t NewFileNumber() { return next_file_number_++; }
  // Ensures later file numbers are above number (found on disk during recovery).
  void MarkFileNumberUsed(uint64_t number) {
    if (next_file_number_ <= number) next_file_number_ = number + 1;
  }
  uint64_t LastSequence() const { return last_sequence_; }
  void SetLastSequence(SequenceNumber s) { last_sequence_ = s; }
  // Logs with numbers below this are fully reflected in tables.
  uint64_t LogNumber() const { return log_number_; }
  uint64_t ManifestFileNumber() const { return manifest_file_number_; }

  // How urgently the current Version needs compaction: >= 1 means it does. Level 0
  // scores its table count against the trigger, deeper levels their size against
  // the level's target.
  // idle: the store has had no writes for a while (Options::settle_after_idle_millis).
  // Then level 0 is worth compacting below its trigger if it holds at least
  // 1/kIdleLevel0Ratio of level 1's bytes, and a deeper level is drained into the next
  // (IdleDrainDue).
  static constexpr uint64_t kIdleLevel0Ratio = 16;
  // An idle level >= 1 holding at least kIdleDrainFullness times its share in a steady
  // tree (1/max_bytes_for_level_multiplier) of the bytes of the next level with data
  // moves down whole, one table per compaction, so that reads merge one sorted run
  // fewer. Once begun, the drain goes on in later idle periods until the level is
  // empty, even after the ratio fell below the bound by the moves themselves.
  static constexpr double kIdleDrainFullness = 2.5;
  double CompactionScore(int* level, bool idle = false) const;
  bool NeedsCompaction(bool idle = false) const { return CompactionScore(nullptr, idle) >= 1; }
  uint64_t MaxBytesForLevel(int level) const;
  // Bytes that compaction must still rewrite to bring every level under its target.
  uint64_t PendingCompactionBytes() const;

  // The most urgent compaction, or null if none is needed.
  std::unique_ptr<Compaction> PickCompaction(bool idle = false);
  // A compaction of level's tables overlapping [begin, end], or null if none do. Its
  // output level is the next level below holding anything in the inputs' range.
  // With in_place, the tables are rewritten into their own level (for the last level,
  // whose garbage has nowhere else to go).
  std::unique_ptr<Compaction> CompactRange(int level, const std::string_view* begin,
                                           const std::string_view* end, bool in_place);

  // Adds the numbers of all tables referenced by any Version still in use.
  void AddLiveFiles(std::set<uint64_t>* live);

 private:
  std::shared_ptr<const Version> Apply(const Version& base, const VersionEdit& edit) const;
  Status WriteSnapshot(log::Writer* writer) const;

  const std::string dbname_;
  const Options options_;
  Env* const env_;

  uint64_t next_file_number_ = 2;
  uint64_t manifest_file_number_ = 0;
  uint64_t log_number_ = 0;
  SequenceNumber last_sequence_ = 0;

  std::unique_ptr<WritableFile> manifest_file_;
  std::unique_ptr<log::Writer> manifest_log_;
  bool manifest_busy_ = false;
  std::condition_variable manifest_idle_;

  void AddBoundaryInputs(int level,
                         std::vector<std::shared_ptr<const FileMetaData>>* inputs) const;
  std::unique_ptr<Compaction> SetupCompaction(int level, bool manual, bool in_place,
                                              std::vector<std::shared_ptr<const FileMetaData>> inputs);

  // Where the next size-triggered compaction of each level starts (round robin over
  // the key space, so every part of a level gets compacted in turn).
  std::string compact_pointer_[kNumLevels];
  // Levels whose idle drain has begun (kIdleDrainFullness); cleared when they are empty.
  bool draining_[kNumLevels] = {};
  bool IdleDrainDue(int level) const;

  std::shared_ptr<const Version> current_;
  // Every Version handed out, to know which tables readers may still use.
  std::list<std::weak_ptr<const Version>> versions_in_use_;
};

}  // namespace strata
