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
#include "lsm/dbformat.h"
#include "lsm/cache.h"
#include "lsm/index_summary.h"
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
// readers actually reuse. The DB's gets and iterators add a block on its second read
// within the cache's admission window (Cache::InsertOnSecondOffer): random gets or
// short ranges over far more data than the cache holds read almost every block once,
// and caching each one cost an insert, an eviction and a free per read. kFill (every
// block at once) is for tests and tools.
enum class BlockCacheFill { kFill, kFillOnSecondRead, kDontFill };

// The read-ahead state of one table iterator. From the third block in a row it moves
// through, a block it has to read from the file comes with the blocks after it: one read
// of 32 KiB, doubling at each refill up to 256 KiB, serves the next blocks, so a scan
// makes one file read per many blocks rather than one per block. (A seek and a few
// steps, which end within a block or two, read only their blocks.) Each block is still
// checked (checksum, structure) and decompressed on its own when it is used.
class BlockReadahead {
 public:
  static constexpr int kAfterBlocks = 3;
  static constexpr size_t kInitialSize = 32 * 1024;
  static constexpr size_t kMaxSize = 256 * 1024;

  // Forgets the position and the buffered bytes (for another table, or after a jump).
  void Reset();
  // The bytes read ahead, for tests and statistics.
  size_t buffered() const { return data_.size(); }

 private:
  friend class Table;

  bool Holds(uint64_t offset, uint64_t end) const {
    return offset >= data_offset_ && end <= data_offset_ + data_.size();
  }

  uint64_t next_offset_ = UINT64_MAX;  // where the block after the last one used starts
  int blocks_in_a_row_ = 0;            // blocks used, each right after the one before
  size_t size_ = 0;                    // of the last read ahead
  uint64_t data_offset_ = 0;           // file offset of data_
  std::string_view data_;              // bytes read ahead (in buffer_ or the file's memory)
  std::string buffer_;
};

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
  // The same, for a LookupKey: its user-key hash serves the filter, not hashed again.
  Status Get(const LookupKey& key, TableGetResult* result, std::string* value) const {
    return Get(key.internal_key(), key.user_key_hash(), result, value);
  }

  // The bloom filter's verdict on user_key (true if the table has no filter).
  bool KeyMayMatch(std::string_view user_key) const;

 private:
  Status Get(std::string_view lookup_internal_key, uint64_t user_key_hash,
             TableGetResult* result, std::string* value) const;

 public:
  // Where the entries at or after internal_key start in the file, about: the offset of
  // the data block that would hold internal_key, or the end of the data blocks if it
  // is after every entry. Reads nothing (the index is in memory); the difference of two
  // offsets estimates the bytes of a key range, to a data block. In
  // table_approximate_offset.cc.
  uint64_t ApproximateOffsetOf(std::string_view internal_key) const;

  const TableProperties& properties() const { return properties_; }
  const std::string& file_name() const { return file_name_; }
  // Bytes held in memory for as long as the table is open: index block, its
  // IndexSummary and the bloom filter.
  size_t pinned_bytes() const;

 private:
  friend class TableIterator;

  Table(const Options& options, std::string file_name, std::unique_ptr<RandomAccessFile> file,
        uint64_t blocks_end, const TableReadContext& context);

  Status ReadMetaBlocks(const Footer& footer);
  // Checks every index entry and builds index_summary_ from them.
  Status CheckIndex();
  // Positions index_iter (aimed at index_block_) at the first entry >= target.
  void SeekIndex(BlockIterator* index_iter, std::string_view target) const;
  Status GetThroughSummary(std::string_view lookup_internal_key, TableGetResult* result,
                           std::string* value) const;
  Status GetFromDataBlock(const BlockHandle& handle, std::string_view lookup_internal_key,
                          TableGetResult* result, std::string* value, bool* done) const;
  // The one place data blocks are read: from the block cache, else from the file (and
  // then into the cache if fill says so). An iterator passes its readahead. A block
  // read from the file is decompressed into *spare's buffer if given, and *unshared
  // (if given) says whether the caller holds the only reference, so that it may hand
  // the buffer on when done (Block::Recycle): read from the file and put in no cache.
  Status ReadDataBlock(const BlockHandle& handle, BlockCacheFill fill,
                       std::shared_ptr<const Block>* block, BlockReadahead* readahead = nullptr,
                       std::string* spare = nullptr, bool* unshared = nullptr) const;
  // The block's checked, uncompressed contents from the file, through readahead.
  Status ReadDataBlockContents(const BlockHandle& handle, BlockReadahead* readahead,
                               std::string* contents) const;
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
  // Finds a lookup's index entry without searching index_block_, mostly. Empty (and
  // unused) unless the index block has a restart point at every entry, as TableBuilder
  // writes it: then entry i is restart point i.
  IndexSummary index_summary_;
  BloomFilter filter_;
};

// A table's iterator (Table::NewIterator), as a concrete class so that a level iterator
// can keep one by value, re-aim it at each table it reads, and call it directly rather
// than through Iterator's virtual calls.
//
// Two-level iteration: the index iterator picks a data block, a block iterator walks it;
// empty blocks are skipped in both directions. The data block in use is held by
// shared_ptr so a block cache can hand out blocks it may evict. Both block iterators are
// members, re-aimed at each block: moving to another block allocates nothing. An error
// leaves the iterator invalid until Reset.
class TableIterator final : public Iterator {
 public:
  // Over table (which must outlive the iterator or the next Reset), or nothing if null.
  TableIterator(const Table* table, BlockCacheFill fill);
  // Aims the iterator at table (or nothing), unpositioned, forgetting any error.
  void Reset(const Table* table);

  bool Valid() const override { return block_ != nullptr && data_iter_.Valid(); }
  std::string_view key() const override { return data_iter_.key(); }
  std::string_view value() const override { return data_iter_.value(); }
  Status status() const override { return status_; }
  bool ok() const { return status_.ok(); }  // status().ok() without copying the Status

  void Seek(std::string_view target) override;
  void SeekToFirst() override;
  void SeekToLast() override;
  void Next() override {
    if (!Valid()) return;
    data_iter_.Next();
    if (!data_iter_.Valid()) SkipEmptyBlocksForward();
  }
  void Prev() override;

 private:
  void SetError(Status s);
  void ResetData();
  void InitDataBlock();
  bool DataIteratorFailed();
  void SkipEmptyBlocksForward();
  void SkipEmptyBlocksBackward();

  const Table* table_ = nullptr;
  const BlockCacheFill fill_;
  BlockIterator index_iter_;
  std::shared_ptr<const Block> block_;  // the block data_iter_ reads; null = none
  BlockIterator data_iter_;
  BlockHandle handle_;  // of block_
  BlockReadahead readahead_;
  std::string spare_block_;     // the last block's buffer, for the next (Block::Recycle)
  bool block_unshared_ = false;  // block_ is the iterator's alone (ReadDataBlock)
  Status status_;
};

}  // namespace strata
