// Bloom filter over a table's user keys (docs/table_format.md, "Filter block"): a get
// for a key the filter rules out skips the table's data blocks entirely.
//
// Two layouts, told apart by the trailing byte; readers accept both, the builder writes
// the blocked one:
//
//   blocked:  L 64-byte lines | 1 byte 0x80 | k
//     All k probes of a key fall in one line, chosen by the upper 32 bits of its
//     BloomHash; the bits within the line's 512 come from the lower 32
//     (ForEachBloomLineBit). A negative check costs one cache miss instead of up to k, which matters
//     because a get probes the filter of every level-0 table and of one table per level.
//     About 1.0-1.2% false positives at 10 bits per key (0.8% unblocked).
//   standard: m = 8 * (size - 1) bits (bit i = byte i/8, mask 1 << (i%8)) | 1 byte k
//     Each key's k bit positions anywhere in the array come from the two 32-bit halves
//     of its BloomHash (Kirsch-Mitzenmacher): x_i = h1 + i*h2 mod 2^32,
//     bit_i = (x_i * m) >> 32. Written by tables of format version 1.
//
// With bits_per_key b, k = round(b * ln 2) clamped to [1, 30].
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strata/status.h"

namespace strata {

// A fast 64-bit hash of key: one lane of MurmurHash3 x64 (8-byte words, little-endian)
// with its fmix64 finalizer. Part of the file format: never change it.
uint64_t BloomHash(std::string_view key);

// Number of probes for bits_per_key bits per key.
int BloomProbesForBitsPerKey(int bits_per_key);

// The blocked layout's geometry, shared with the memtable's filter (memtable_filter.h).
constexpr size_t kBloomLineBytes = 64;

// The line of num_lines (< 2^32) that holds hash's probes: the upper 32 bits mapped onto
// [0, num_lines) by a multiply-shift.
inline size_t BloomLineIndex(uint64_t hash, size_t num_lines) {
  return static_cast<size_t>(((hash >> 32) * num_lines) >> 32);
}

// Calls probe(bit) with each of hash's num_probes bit positions in [0, 512) of its line,
// stopping early (and returning false) when probe returns false.
// The positions are the top 9 bits of h, h * G, h * G^2, ... (mod 2^32, h the lower 32
// bits of hash, G = 0x9e3779b9, odd): unlike h1 + i*h2, whose low 9 bits repeat
// whenever h2's do, every probe draws on all 32 bits.
template <typename Probe>
inline bool ForEachBloomLineBit(uint64_t hash, int num_probes, Probe probe) {
  uint32_t h = static_cast<uint32_t>(hash);
  for (int i = 0; i < num_probes; i++) {
    if (!probe(h >> 23)) return false;
    h *= 0x9e3779b9u;
  }
  return true;
}

class BloomFilterBuilder {
 public:
  // Requires bits_per_key > 0 (0 means "no filter": build none).
  explicit BloomFilterBuilder(int bits_per_key);

  void AddKey(std::string_view key) {
    if (num_keys_ % kHashesPerChunk == 0) {
      chunks_.push_back(std::make_unique_for_overwrite<uint64_t[]>(kHashesPerChunk));
    }
    chunks_.back()[num_keys_ % kHashesPerChunk] = BloomHash(key);
    num_keys_++;
  }
  size_t num_keys() const { return num_keys_; }

  // The filter over every key added so far, blocked layout: keys * bits_per_key bits
  // rounded up to whole lines, at least one line even for no keys.
  std::string Finish() const;

 private:
  // Keys are hashed as added, so the builder keeps no keys, only 8 bytes per key. In
  // fixed chunks rather than one vector: a table of a million keys would otherwise hold
  // up to twice that while the vector doubles (old and new arrays at once), and a flush
  // and a compaction build tables at the same time.
  static constexpr size_t kHashesPerChunk = 8192;  // 64 KiB

  const int bits_per_key_;
  const int num_probes_;
  size_t num_keys_ = 0;
  std::vector<std::unique_ptr<uint64_t[]>> chunks_;
};

// A decoded filter. Until Init succeeds it matches every key (as having no filter).
class BloomFilter {
 public:
  // Takes the filter block's contents, either layout. Corruption if they are too short,
  // the trailer is neither layout's or the probe count is outside [1, 30], or a blocked
  // filter is not whole lines; the filter then keeps matching every key.
  Status Init(std::string contents);

  bool empty() const { return data_.empty(); }
  // False only if key was certainly not added.
  bool KeyMayMatch(std::string_view key) const { return HashMayMatch(BloomHash(key)); }
  // The same for a key whose BloomHash the caller already has.
  bool HashMayMatch(uint64_t hash) const;

  size_t size() const { return data_.size(); }

 private:
  std::string data_;
  uint64_t num_bits_ = 0;   // standard layout
  size_t num_lines_ = 0;    // blocked layout; 0 for the standard one
  int num_probes_ = 0;
};

}  // namespace strata
