// IndexSummary: a dense in-memory digest of a table's index block, so that most lookups
// find their data block without searching the index block at all.
//
// A table of 32 MiB has some 15,000 index entries, about half a megabyte: a binary
// search over them touches a dozen cache lines scattered over the block (a restart
// offset, then the entry it points to, per step), most of them misses. Here each entry
// (each data block) is summarized by one integer, the Summary of its user key: with C
// the prefix that the table's smallest and largest user keys share (so nearly all keys
// share it),
//   - a key that starts with C: the 8 bytes after C, read big-endian (zero-padded);
//   - a key that sorts before C and does not start with it: 0; after C: 2^64 - 1.
// Summary never decreases as keys grow. So a lookup binary-searches the summaries (8
// bytes per data block, contiguous) for the entries whose summary equals its own: every
// entry before them has a smaller user key and every entry after them a larger one.
// Usually there are none, and then the first entry after that point is the lookup's
// block with no key comparison at all; otherwise whole keys decide among those few
// entries. Which C is chosen matters for speed only, never for correctness (the index's
// last entry, for instance, is often a short successor key outside C).
//
// Data blocks are contiguous (Table checks it at open), so the summary also keeps each
// block's offset, and block i's handle is offsets i and i + 1 minus the trailer.
//
// The summaries are searched in two steps, a top array holding every kStride-th summary
// (small enough to stay in cache) and then one stretch of kStride summaries, so that a
// lookup in a large table touches few cache lines.
//
// Lives in memory beside the index block: rebuilt at table open, never stored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lsm/table_format.h"

namespace strata {

class IndexSummary {
 public:
  // Holds no entries.
  IndexSummary() = default;
  // For a table whose user keys run from smallest_user_key to largest_user_key, whose
  // data blocks start at offset 0. Then Add each index entry in order (user keys
  // non-decreasing, blocks contiguous), then Finish.
  IndexSummary(std::string_view smallest_user_key, std::string_view largest_user_key);
  void Add(std::string_view user_key, const BlockHandle& handle);
  void Finish();

  uint32_t size() const { return static_cast<uint32_t>(summaries_.size()); }

  // The entries that may hold user_key, as [*first, *limit): every entry before *first
  // has a smaller user key and every entry from *limit on a larger one. When the range
  // is empty, entry *first (if < size()) is the first with a larger user key.
  void Narrow(std::string_view user_key, uint32_t* first, uint32_t* limit) const;

  // The data block of entry index (< size()).
  BlockHandle block_handle(uint32_t index) const {
    return BlockHandle{block_offsets_[index],
                       block_offsets_[index + 1] - block_offsets_[index] - kBlockTrailerSize};
  }

  // Memory held, for the table's pinned bytes.
  size_t bytes() const;

  uint64_t Summary(std::string_view user_key) const;

 private:
  static constexpr uint32_t kStride = 16;

  std::string common_;  // C
  std::vector<uint64_t> summaries_;
  std::vector<uint64_t> top_;            // summaries_[0], summaries_[kStride], ...
  std::vector<uint64_t> block_offsets_;  // size() + 1: where each block starts, then the end
};

}  // namespace strata
