// TableProperties: what a table holds, written by TableBuilder into the table's
// properties block and read back by Table::Open, so the engine (compaction picking,
// statistics, tools) learns a table's shape without scanning it.
//
// Encoding (docs/table_format.md, "Properties block"): a sequence of fields, each
//   varint32 tag | varint32 length | length bytes of value
// where integer values are one varint64 filling the value exactly and key values are
// the raw bytes. Readers skip tags they do not know, so later versions can add fields;
// a field missing from an older file keeps its default below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lsm/dbformat.h"
#include "lsm/table_format.h"
#include "strata/status.h"

namespace strata {

struct TableProperties {
  uint32_t format_version = kTableFormatVersion;
  uint64_t num_entries = 0;
  uint64_t num_deletions = 0;    // entries of type kDeletion (tombstones)
  uint64_t raw_key_bytes = 0;    // sum of internal key sizes, before prefix compression
  uint64_t raw_value_bytes = 0;  // sum of value sizes, before compression
  uint64_t num_data_blocks = 0;
  uint64_t data_bytes = 0;    // data blocks on disk, trailers included
  uint64_t index_bytes = 0;   // index block on disk, trailer included
  uint64_t filter_bytes = 0;  // filter block on disk, trailer included (0: no filter)
  std::string smallest_key;   // internal keys; empty if the table has no entries
  std::string largest_key;
  SequenceNumber smallest_sequence = 0;
  SequenceNumber largest_sequence = 0;
  // What the writer was configured with (kNone, kZstd or kLz4); each block's trailer
  // says how that block is actually stored (one that does not shrink by 1/8 is raw).
  CompressionType compression = CompressionType::kNone;

  void EncodeTo(std::string* dst) const;
  // Corruption on a malformed field, a repeated tag, or an unknown compression type.
  Status DecodeFrom(std::string_view input);
};

}  // namespace strata
