// RecoveryPuts: recovery puts (WriteBatch::PutForRecovery) that no later write has
// resolved yet (by a put or delete of the same key).
//
// A running DB keeps the ones it wrote to its log here: a recovery put lives only in
// the log, so the log that holds it must not be retired while it is unresolved, and
// when the DB switches to a new log it writes the unresolved ones into the new log
// again (DBImpl::CarryRecoveryPuts). Recovery collects the ones it replays here too and
// applies only those still unresolved after the last log: a resolved one never reaches
// a memtable, so a large one is never flushed to a table (which the replay's
// memtable-sized flushes could do between the put and its resolution).
// Usually there are none or one (a two-phase commit between its prepare and its
// commit), so a vector is the set. Not thread-safe: the DB's write leader or recovery
// owns it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "strata/write_batch.h"
#include "lsm/dbformat.h"

namespace strata {

class MemTable;

class RecoveryPuts {
 public:
  // The recovery put of key at sequence number seq. A later recovery put of the same
  // key replaces the earlier one, as it would in a replay.
  void Add(std::string_view key, std::string_view value, SequenceNumber seq);
  // Forgets key's recovery put, if any: a put or delete of key was written after it.
  void Resolve(std::string_view key) {
    if (!entries_.empty()) ResolveSlow(key);
  }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  // Appends every unresolved put to *batch as a recovery put, oldest first.
  void AppendTo(WriteBatch* batch) const;
  // Adds every unresolved put to mem as a put, at its own sequence number: no later
  // write of its key exists, so the entry hides nothing it should not.
  void AddTo(MemTable* mem) const;

 private:
  void ResolveSlow(std::string_view key);

  struct Entry {
    std::string key;
    std::string value;
    SequenceNumber seq;
  };
  std::vector<Entry> entries_;  // oldest first
};

}  // namespace strata
