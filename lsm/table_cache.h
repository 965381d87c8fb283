// TableCache: the open Table readers of a store by file number, so each table's index and
// bloom filter are read once and shared by every reader. At most
// options.max_open_tables tables are kept open; beyond that the least recently used one
// is dropped (and reopened when next needed). A reader holding a Table keeps it usable
// after it is dropped here; its file closes when the last holder lets go, so briefly
// more files than the bound may be open.
//
// It also owns what the tables share: the block cache (options.block_cache_size bytes)
// and the read counters. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "lsm/cache.h"
#include "lsm/table.h"
#include "strata/env.h"
#include "strata/options.h"

namespace strata {

class TableCache {
 public:
  TableCache(std::string dbname, const Options& options, Env* env);

  // The open table for file `number` (opening it on first use).
  Status FindTable(uint64_t number, uint64_t file_size, std::shared_ptr<const Table>* table);
  // Forgets a table whose file is being deleted. Readers holding it keep it open.
  void Evict(uint64_t number);

  // The block cache the tables read through; nullptr if options.block_cache_size is 0.
  Cache* block_cache() const { return context_.block_cache.get(); }
  // Bloom filter and block read counts of every table opened here.
  const TableReadCounters& read_counters() const { return *context_.counters; }
  // Tables open here now, and the index and filter bytes they pin in memory.
  size_t open_tables() const;
  uint64_t pinned_bytes() const;

 private:
  struct OpenTable {
    uint64_t number;
    std::shared_ptr<const Table> table;
  };
  using LruList = std::list<OpenTable>;  // most recently used first

  const std::string dbname_;
  const Options options_;
  Env* const env_;
  const size_t max_open_tables_;
  const TableReadContext context_;

  mutable std::mutex mutex_;
  LruList lru_;                                                // guarded by mutex_
  std::unordered_map<uint64_t, LruList::iterator> by_number_;  // guarded by mutex_
  uint64_t pinned_bytes_ = 0;                                  // guarded by mutex_
};

}  // namespace strata
