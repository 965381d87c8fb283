// Block: a read-only view of one block built by BlockBuilder (layout in block_builder.h
// and docs/table_format.md). The constructor checks the whole structure once (restart
// array, every entry's lengths, restarts landing on entry boundaries with no shared
// prefix) so that iterators over a well-formed block cannot read out of bounds; a
// malformed block yields iterators that are empty and carry a Corruption status.
// Immutable after construction, so one Block may be read by many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "lsm/dbformat.h"
#include "strata/iterator.h"
#include "strata/status.h"

namespace strata {

class Block {
 public:
  // contents: the block's uncompressed bytes, without the on-disk trailer.
  explicit Block(std::string contents);
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // OK, or Corruption describing the first structural error found.
  const Status& status() const { return status_; }
  size_t size() const { return data_.size(); }
  uint32_t num_entries() const { return num_entries_; }
  // Length of the shortest key (0 if the block is empty or malformed). Tables use it to
  // reject blocks whose keys are too short to be internal keys before comparing them.
  size_t min_key_length() const { return min_key_length_; }

  // Iterator over the entries, ordered by comparator (which must be the order the block
  // was built in). The Block and the comparator must outlive it.
  std::unique_ptr<Iterator> NewIterator(const Comparator* comparator) const;

 private:
  class Iter;
  Status Check();

  const std::string data_;
  uint32_t restarts_offset_ = 0;  // where the restart array starts
  uint32_t num_restarts_ = 0;
  uint32_t num_entries_ = 0;
  size_t min_key_length_ = 0;
  Status status_;
};

}  // namespace strata
