// TableBuilder: writes one SSTable (docs/table_format.md) from internal keys added in
// InternalKeyComparator order:
//
//   data block* | filter block? | properties block | index block | footer
//
// Data blocks are cut when they reach Options::block_size and stored compressed (with
// Options::compression_algorithm, zstd or lz4) when Options::compression is on and that
// saves at least 1/8 (so is the index block, which readers hold uncompressed in memory). The filter
// covers the distinct user keys; the index maps a short separator key (>= every key of a block, <
// every key of the next) to each data block's handle. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lsm/block_builder.h"
#include "lsm/bloom_filter.h"
#include "lsm/dbformat.h"
#include "lsm/table_format.h"
#include "lsm/table_properties.h"
#include "strata/env.h"
#include "strata/options.h"
#include "strata/status.h"

namespace strata {

class TableBuilder {
 public:
  // file is not owned and must outlive the builder.
  TableBuilder(const Options& options, WritableFile* file);
  TableBuilder(const TableBuilder&) = delete;
  TableBuilder& operator=(const TableBuilder&) = delete;
  ~TableBuilder();

  // Requires: neither Finish() nor Abandon() called; internal_key is a valid internal
  // key greater than every key added before. Does nothing once status() is not OK.
  void Add(std::string_view internal_key, std::string_view value);

  // Writes the remaining data block, the filter, properties, index and footer. Does not
  // Sync or Close the file. Returns status().
  Status Finish();

  // Stops without finishing; the caller deletes the file.
  void Abandon();

  // The first error: from the file, or InvalidArgument for a key that is not a valid
  // internal key or out of order.
  Status status() const { return status_; }
  uint64_t NumEntries() const { return properties_.num_entries; }
  // Bytes written so far; the final file size after Finish().
  uint64_t FileSize() const { return offset_; }
  // Complete after Finish().
  const TableProperties& properties() const { return properties_; }

 private:
  void FlushDataBlock();
  // Writes contents followed by its trailer and records where in *handle.
  void WriteRawBlock(std::string_view contents, CompressionType type, BlockHandle* handle);
  // Compresses contents into compressed_ with properties_.compression if that is not
  // kNone and saves at least 1/8.
  bool CompressIfWorthIt(std::string_view contents);
  // Compresses contents if allowed and worth it, then writes it.
  void WriteBlock(std::string_view contents, bool may_compress, BlockHandle* handle);

  const Options options_;
  WritableFile* const file_;
  uint64_t offset_ = 0;
  Status status_;
  bool closed_ = false;  // Finish() or Abandon() called

  BlockBuilder data_block_;
  BlockBuilder index_block_;
  const InternalKeyComparator* const comparator_;
  bool has_filter_;
  BloomFilterBuilder filter_;
  std::string last_key_;
  TableProperties properties_;

  // The index entry of a flushed data block waits for the next key, so its separator
  // can be shortened to just below that key.
  bool pending_index_entry_ = false;
  BlockHandle pending_handle_;

  std::string compressed_;  // reused buffer
  std::string scratch_;     // reused buffer
};

}  // namespace strata
