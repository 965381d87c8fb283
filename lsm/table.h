// Table: a reader for one immutable SSTable file (docs/table_format.md). Open reads and
// checks the footer, properties, index and filter once and keeps them in memory; data
// blocks are read (checksum-verified, decompressed) on demand. Thread-safe: any number
// of threads may call Get and iterate concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsm/block.h"
#include "lsm/bloom_filter.h"
#include "lsm/table_format.h"
#include "lsm/table_properties.h"
#include "strata/env.h"
#include "strata/iterator.h"
#include "strata/options.h"
#include "strata/status.h"

namespace strata {

enum class TableGetResult { kNotPresent, kFound, kDeleted };

class Table {
 public:
  // Reads and checks footer, properties, index and filter. Any inconsistency (truncated
  // file, bad magic, unsupported format version, bad checksum, handle out of bounds,
  // undecodable block) is Status::Corruption whose message names file_name. Never
  // crashes or reads out of bounds on arbitrary file contents.
  static Status Open(const Options& options, std::string file_name,
                     std::unique_ptr<RandomAccessFile> file, uint64_t file_size,
                     std::unique_ptr<Table>* table);

  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  ~Table();

  // Iterator over (internal key, value) in internal key order; the Table must outlive
  // it. Errors (I/O, Corruption naming the file) surface in status() and leave the
  // iterator invalid for good: create a new one to retry.
  std::unique_ptr<Iterator> NewIterator() const;

  // The newest entry for ExtractUserKey(lookup_internal_key) with sequence <= the lookup
  // key's sequence: kFound (and *value), kDeleted, or kNotPresent. Consults the bloom
  // filter first and reads no data block when it rules the key out.
  Status Get(std::string_view lookup_internal_key, TableGetResult* result,
             std::string* value) const;

  // The bloom filter's verdict on user_key (true if the table has no filter).
  bool KeyMayMatch(std::string_view user_key) const;

  const TableProperties& properties() const { return properties_; }
  const std::string& file_name() const { return file_name_; }

 private:
  friend class TableIterator;

  Table(const Options& options, std::string file_name, std::unique_ptr<RandomAccessFile> file,
        uint64_t blocks_end);

  Status ReadMetaBlocks(const Footer& footer);
  Status CheckIndex() const;
  // The one place data blocks are read: a block cache goes here.
  Status ReadDataBlock(const BlockHandle& handle, std::shared_ptr<const Block>* block) const;
  Status Corruption(std::string_view what) const;

  const Options options_;
  const std::string file_name_;
  const std::unique_ptr<RandomAccessFile> file_;
  const uint64_t blocks_end_;  // where the footer starts: no block reaches past it
  TableProperties properties_;
  std::unique_ptr<Block> index_block_;
  BloomFilter filter_;
};

}  // namespace strata
