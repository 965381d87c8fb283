// MemTable: the in-memory, sorted buffer of recent writes, a skip list of internal
// keys in an arena. One writer at a time (the DB's write leader) and any number of
// concurrent lock-free readers. Memory is released only when the memtable is
// destroyed (it is shared by readers through std::shared_ptr).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "strata/iterator.h"
#include "strata/status.h"
#include "lsm/arena.h"
#include "lsm/dbformat.h"

namespace strata {

// One entry for MemTable::AddGroup.
struct MemTableEntry {
  SequenceNumber seq;
  ValueType type;
  std::string_view user_key;
  std::string_view value;
};

class MemTable {
 public:
  // filter_bytes sizes the bloom filter over the memtable's user keys that lets Get
  // skip the skip list for keys not here (lsm/memtable_filter.h); 0 = no filter. The
  // DB gives it write_buffer_size / 32 (kMemTableFilterRatio). Not counted in
  // ApproximateMemoryUsage(), which measures the entries.
  // With block_pool, the arena's huge blocks come from and go back to it.
  explicit MemTable(size_t filter_bytes = 0, std::shared_ptr<ArenaBlockPool> block_pool = nullptr);
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // Bytes allocated by the arena, including its overhead. Safe to call concurrently
  // with a writer.
  size_t ApproximateMemoryUsage() const;

  // About how many of ApproximateMemoryUsage()'s bytes hold the entries with internal
  // keys in [begin, end): that share of the entries, estimated from the skip list's
  // upper levels (SkipList::EstimateCountLessThan), so O(log n) whatever the range.
  // Safe to call concurrently with a writer.
  size_t ApproximateRangeBytes(std::string_view begin, std::string_view end) const;

  // Iterator over (internal key, value) entries in internal-key order. The memtable
  // must outlive it.
  std::unique_ptr<Iterator> NewIterator() const;

  // Adds one entry. Requires external synchronization between writers; readers may
  // run concurrently.
  void Add(SequenceNumber seq, ValueType type, std::string_view user_key,
           std::string_view value);
  // Adds n entries as Add would, but links them into the skip list kGroupSize at a time
  // with their searches interleaved (SkipList::InsertGroup), which hides most of the
  // cache misses of a big memtable. Every entry is visible when it returns; while it
  // runs, readers may see some of them.
  void AddGroup(const MemTableEntry* entries, size_t n);
  static constexpr size_t kGroupSize = 16;

  // Looks up the newest entry for key.user_key() with sequence <= the lookup's
  // sequence. Returns false if there is none. Otherwise returns true and sets
  // *status = OK and *value for a value, or *status = NotFound for a deletion.
  bool Get(const LookupKey& key, std::string* value, Status* status) const;

  bool empty() const;

  // A memtable's filter gets 1/kMemTableFilterRatio of the write buffer: at about 150
  // bytes per entry (16-byte keys, 100-byte values) that is about 37 bits per key; with
  // tiny rows, fewer (about 10 at 50 bytes per entry), still cutting most searches.
  static constexpr size_t kMemTableFilterRatio = 32;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace strata
