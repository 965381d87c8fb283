// MemTableFilter: a bloom filter over the user keys in one memtable, so that a get for
// a key the memtable does not hold skips the skip list search. That search visits about
// log4(n) nodes scattered over the arena, each a cache miss; in a store much larger
// than its write buffer most gets are for keys the memtable does not hold.
//
// Cache-line blocked, with the table filters' blocked layout (bloom_filter.h): all
// probes of one key fall in one 64-byte line picked by the upper half of the key's
// BloomHash, so a check costs one cache miss whatever the number of probes.
//
// Concurrency: one writer (the memtable's) and any number of lock-free readers. Bits
// are only ever set, with relaxed atomics. A reader never misses a bit it needs: it
// looks up entries at a sequence number it read (acquire) from the DB after the writer
// published it (release), and the writer sets the key's bits before inserting the entry
// and before publishing that sequence.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "lsm/bloom_filter.h"

namespace strata {

class MemTableFilter {
 public:
  // bytes == 0: no filter, MayContain() is always true. Otherwise rounded up to whole
  // 64-byte lines.
  explicit MemTableFilter(size_t bytes);
  MemTableFilter(const MemTableFilter&) = delete;
  MemTableFilter& operator=(const MemTableFilter&) = delete;

  // hash is BloomHash(user_key). Requires external synchronization between writers.
  void Add(uint64_t hash) {
    if (num_lines_ == 0) return;
    Line& line = lines_[BloomLineIndex(hash, num_lines_)];
    ForEachBloomLineBit(hash, kProbes, [&line](uint32_t bit) {
      std::atomic<uint64_t>& word = line.words[bit / 64];
      // Single writer: a plain load and store suffice, no read-modify-write.
      word.store(word.load(std::memory_order_relaxed) | (uint64_t{1} << (bit % 64)),
                 std::memory_order_relaxed);
      return true;
    });
  }

  // Starts loading the line Add(hash) will write: a writer with several keys prefetches
  // all their lines first, so their cache misses overlap.
  void Prefetch(uint64_t hash) const {
    if (num_lines_ > 0) __builtin_prefetch(&lines_[BloomLineIndex(hash, num_lines_)], 1);
  }

  bool MayContain(uint64_t hash) const {
    if (num_lines_ == 0) return true;
    const Line& line = lines_[BloomLineIndex(hash, num_lines_)];
    return ForEachBloomLineBit(hash, kProbes, [&line](uint32_t bit) {
      return (line.words[bit / 64].load(std::memory_order_relaxed) &
              (uint64_t{1} << (bit % 64))) != 0;
    });
  }

  bool enabled() const { return num_lines_ > 0; }
  size_t bytes() const { return num_lines_ * sizeof(Line); }

 private:
  // Six probes in a 512-bit line: about 0.2% false positives at 16 bits per key, 2% at
  // 8 (blocking costs a little against an unblocked filter of the same size).
  static constexpr int kProbes = 6;

  struct alignas(kBloomLineBytes) Line {
    std::atomic<uint64_t> words[kBloomLineBytes / 8];
  };

  const size_t num_lines_;
  const std::unique_ptr<Line[]> lines_;
};

}  // namespace strata
