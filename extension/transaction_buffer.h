// TransactionBuffer: the writes of one SQLite transaction to one store, kept in memory
// until commit, and visible to the transaction's own reads: point lookups through Get,
// scans through NewMergedIterator, which overlays the buffer on an iterator over the
// store.
//
// Savepoints follow SQLite's numbering (xSavepoint/xRollbackTo/xRelease: levels
// 0, 1, 2, ...). Each change made while a savepoint is open is recorded in an undo log
// (the key and its previous state); a savepoint is a position in that log. With no
// savepoint open nothing is recorded.
//
// Every write of a transaction passes through Put or Delete, so they are kept cheap:
// one tree search each; the tree's nodes, keys and values live in a RecyclingArena
// (no malloc per write, memory given back by a rollback or an overwrite is reused, and
// Clear frees everything at once); an overwrite under a savepoint moves the old value
// into the undo log instead of copying it.
//
// Not thread-safe: one SQLite connection uses it, from one thread at a time.
//
// May include: the C++ standard library and lsm/include/strata/ headers only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extension/recycling_arena.h"
#include "strata/iterator.h"
#include "strata/write_batch.h"

namespace strata::sql {

class TransactionBuffer {
 public:
  TransactionBuffer() = default;
  TransactionBuffer(const TransactionBuffer&) = delete;
  TransactionBuffer& operator=(const TransactionBuffer&) = delete;

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);

  enum class Lookup {
    kAbsent,   // the buffer says nothing about the key: ask the store
    kValue,    // the transaction wrote the key: *value holds it
    kDeleted,  // the transaction deleted the key
  };
  // `value` may be null when only the key's state is wanted (nothing is copied then).
  Lookup Get(std::string_view key, std::string* value) const;

  // Opens savepoint level n. If level n is already open (several strata tables share
  // one buffer, and a table that joins the transaction late calls xSavepoint for a level
  // the others opened before), it stays where it is: level n means the state when it
  // was first opened. Levels above n are closed; levels below n that were never opened
  // are opened here too (SQLite skips them for a table that joins late).
  void Savepoint(int n);
  // Undoes every change made since level n was opened; level n stays open, those above
  // it are closed. Does nothing if level n is not open.
  void RollbackTo(int n);
  // Closes levels >= n, keeping their changes.
  void Release(int n);

  // Forgets every change and savepoint (ROLLBACK, or after commit).
  void Clear();
  bool empty() const { return entries_.empty(); }
  // Bytes of buffered keys and values plus those kept for undoing to savepoints: the
  // memory the buffer holds, not counting allocator and container overhead.
  size_t ApproximateSize() const { return entry_bytes_ + undo_bytes_; }
  // Bytes of memory the buffered entries hold from the system (their arena), which a
  // rollback or an overwrite gives back for reuse rather than to the system.
  size_t MemoryUsage() const { return arena_.bytes_held(); }
  // Increases on every change of the buffered contents.
  uint64_t generation() const { return generation_; }

  // Appends every buffered put and delete to *batch, in key order.
  void AppendTo(WriteBatch* batch) const;
  // Hands every buffered put and delete to *handler, in key order.
  void AppendTo(WriteBatch::Handler* handler) const;

  // An iterator over `base` (user keys of the store at some snapshot, e.g. from
  // DB::NewIterator) overlaid with this buffer: buffered puts replace or add entries,
  // buffered deletes hide them. Only keys in [lower, upper) appear; an empty `upper`
  // means no upper bound. The buffer must outlive the iterator.
  //
  // The buffer may change while the iterator is open (a statement that updates the
  // table it scans). The current key and value stay as they were until the iterator
  // moves; the next move continues from the current key in the buffer's new state (so
  // Next() returns the first key after it that exists now). A status error of `base`
  // ends the iteration with that status.
  std::unique_ptr<Iterator> NewMergedIterator(std::unique_ptr<Iterator> base,
                                              std::string lower = "", std::string upper = "") const;

 private:
  class MergedIterator;

  // A buffered value, in arena_; nullopt: deleted by the transaction.
  using Value = std::optional<std::pmr::string>;
  // Keys point into arena_ (allocated by PrepareChange, given back when a rollback
  // erases their entry).
  using EntryMap = std::pmr::map<std::string_view, Value>;

  // How to restore one key when a savepoint is rolled back.
  struct UndoRecord {
    std::string_view key;  // the entry's key bytes
    bool existed;          // false: erase the key from entries_
    Value previous;        // its state when existed
  };

  // The entry of `key`, created (state: deleted) if absent; first records the key's
  // current state if a savepoint is open and accounts for the entry's old size.
  EntryMap::iterator PrepareChange(std::string_view key);
  static size_t EntryBytes(std::string_view key, const Value& value) {
    return key.size() + (value ? value->size() : 0);
  }
  static size_t UndoBytes(const UndoRecord& record) {
    return record.key.size() + (record.previous ? record.previous->size() : 0);
  }

  // Declared first: destroyed after entries_ and undo_, which allocate from it.
  RecyclingArena arena_;
  EntryMap entries_{&arena_};
  std::vector<UndoRecord> undo_;
  std::vector<size_t> savepoints_;  // savepoints_[n]: undo_ size when level n was opened
  size_t entry_bytes_ = 0;
  size_t undo_bytes_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace strata::sql
