// Table: a reader for one immutable SSTable file (docs/table_format.md). Open reads and
// checks the footer, properties, index and filter once and keeps them in memory; data
// blocks are read (checksum-verified, decompressed) on demand, through the store's
// block cache when it has one. Thread-safe: any number of threads may call Get and
// iterate concurrently.
//
// Index and filter are pinned in the Table rather than kept in the block cache: every
// Get needs both, so in the cache they would only be evicted to be read again at once,
// and a table's pinned bytes are released with it when the table cache closes it. So
// memory = memtables + block cache + pinned_bytes() of at most max_open_tables tables.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsm/block.h"
#include "lsm/bloom_filter.h"
#include "lsm/cache.h"
#include "lsm/table_format.h"
#include "lsm/table_properties.h"
#include "strata/env.h"
#include "strata/iterator.h"
#include "strata/options.h"
#include "strata/status.h"

namespace strata {

enum class TableGetResult { kNotPresent, kFound, kDeleted };

// Counted by every table of a store (relaxed atomics: statistics, not synchronization).
struct TableReadCounters {
  std::atomic<uint64_t> bloom_checks{0};      // Gets that consulted a table's bloom filter
  std::atomic<uint64_t> bloom_useful{0};      // ... and were answered by it: key absent
  std::atomic<uint64_t> blocks_read{0};       // data blocks read from files (not from cache)
  std::atomic<uint64_t> block_bytes_read{0};  // their on-disk bytes, trailers included
};

// What the tables of one store share. Both optional; shared ownership so that a table
// held by an iterator stays usable whatever outlives what.
struct TableReadContext {
  std::shared_ptr<Cache> block_cache;           // nullptr = no block cache
  std::shared_ptr<TableReadCounters> counters;  // nullptr = not counted
};

// Whether data blocks a read brings in from the file are added to the block cache.
// Compactions read each block once: filling the cache with them would evict the blocks
// readers actually reuse.
enum class BlockCacheFill { kFill, kDontFill };

class Table {
 public:
  // Reads and checks footer, properties, index and filter. Any inconsistency (truncated
  // file, bad magic, unsupported format version, bad checksum, handle out of bounds,
  // undecodable block) is Status::Corruption whose message names file_name. Never
  // crashes or reads out of bounds on arbitrary file contents.
  static Status Open(const Options& options, std::string file_name,
                     std::unique_ptr<RandomAccessFile> file, uint64_t file_size,
                     const TableReadContext& context, std::unique_ptr<Table>* table);

  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  ~Table();

  // Iterator over (internal key, value) in internal key order; the Table must outlive
  // it. Errors (I/O, Corruption naming the file) surface in status() and leave the
  // iterator invalid for good: create a new one to retry. Blocks found in the block
  // cache are used either way; fill says whether blocks read from the file are added.
  std::unique_ptr<Iterator> NewIterator(BlockCacheFill fill = BlockCacheFill::kFill) const;

  // The newest entry for ExtractUserKey(lookup_internal_key) with sequence <= the lookup
  // key's sequence: kFound (and *value), kDeleted, or kNotPresent. Consults the bloom
  // filter first and reads no data block when it rules the key out.
  Status Get(std::string_view lookup_internal_key, TableGetResult* result,
             std::string* value) const;

  // The bloom filter's verdict on user_key (true if the table has no filter).
  bool KeyMayMatch(std::string_view user_key) const;

  const TableProperties& properties() const { return properties_; }
  const std::string& file_name() const { return file_name_; }
  // Bytes held in memory for as long as the table is open: index block and bloom filter.
  size_t pinned_bytes() const;

 private:
  friend class TableIterator;

  Table(const Options& options, std::string file_name, std::unique_ptr<RandomAccessFile> file,
        uint64_t blocks_end, const TableReadContext& context);

  Status ReadMetaBlocks(const Footer& footer);
  Status CheckIndex() const;
  // The one place data blocks are read: from the block cache, else from the file (and
  // then into the cache if fill says so).
  Status ReadDataBlock(const BlockHandle& handle, BlockCacheFill fill,
                       std::shared_ptr<const Block>* block) const;
  Status Corruption(std::string_view what) const;

  const Options options_;
  const std::string file_name_;
  const std::unique_ptr<RandomAccessFile> file_;
  const uint64_t blocks_end_;  // where the footer starts: no block reaches past it
  const TableReadContext context_;
  // Unique in the process (also across reopenings of one file): the first half of this
  // table's block cache keys, the block offset being the second.
  const uint64_t cache_id_;
  TableProperties properties_;
  std::unique_ptr<Block> index_block_;
  BloomFilter filter_;
};

}  // namespace strata
