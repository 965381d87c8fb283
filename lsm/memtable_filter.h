// MemTableFilter: a bloom filter over the user keys in one memtable, so that a get for
// a key the memtable does not hold skips the skip list search. That search visits about
// log4(n) nodes scattered over the arena, each a cache miss; in a store much larger
// than its write buffer most gets are for keys the memtable does not hold.
//
// Cache-line blocked: all probes of one key fall in one 64-byte line picked by the
// upper half of the key's BloomHash, so a check costs one cache miss whatever the
// number of probes. Bits within the line come from the lower half by double hashing.
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
    Line& line = lines_[LineIndex(hash)];
    uint32_t h = static_cast<uint32_t>(hash);
    const uint32_t delta = (h >> 17) | (h << 15);
    for (int i = 0; i < kProbes; i++, h += delta) {
      std::atomic<uint64_t>& word = line.words[(h >> 6) & 7];
      // Single writer: a plain load and store suffice, no read-modify-write.
      word.store(word.load(std::memory_order_relaxed) | (uint64_t{1} << (h & 63)),
                 std::memory_order_relaxed);
    }
  }

  bool MayContain(uint64_t hash) const {
    if (num_lines_ == 0) return true;
    const Line& line = lines_[LineIndex(hash)];
    uint32_t h = static_cast<uint32_t>(hash);
    const uint32_t delta = (h >> 17) | (h << 15);
    for (int i = 0; i < kProbes; i++, h += delta) {
      const uint64_t word = line.words[(h >> 6) & 7].load(std::memory_order_relaxed);
      if ((word & (uint64_t{1} << (h & 63))) == 0) return false;
    }
    return true;
  }

  size_t bytes() const { return num_lines_ * sizeof(Line); }

 private:
  // Six probes in a 512-bit line: about 0.2% false positives at 16 bits per key, 2% at
  // 8 (blocking costs a little against an unblocked filter of the same size).
  static constexpr int kProbes = 6;

  struct alignas(64) Line {
    std::atomic<uint64_t> words[8];
  };

  size_t LineIndex(uint64_t hash) const {
    // Maps the upper 32 bits onto [0, num_lines_) without a division.
    return static_cast<size_t>(((hash >> 32) * num_lines_) >> 32);
  }

  const size_t num_lines_;
  const std::unique_ptr<Line[]> lines_;
};

}  // namespace strata
