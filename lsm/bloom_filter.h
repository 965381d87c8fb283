// Bloom filter over a table's user keys (docs/table_format.md, "Filter block"): a get
// for a key the filter rules out skips the table's data blocks entirely.
//
//   filter = bit array (m = 8 * (size - 1) bits, bit i = byte i/8, mask 1 << (i%8))
//            | 1 byte number of probes k
//
// Each key is hashed once with BloomHash (64 bits); its k bit positions come from the
// two 32-bit halves by double hashing (Kirsch-Mitzenmacher): x_i = h1 + i*h2 mod 2^32,
// bit_i = (x_i * m) >> 32. With bits_per_key b, k = round(b * ln 2) clamped to [1, 30],
// which gives about (1 - e^{-k/b})^k false positives (0.8% at b = 10).
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

  // The filter over every key added so far; at least 8 bytes of bits even for no keys.
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
  // Takes the filter block's contents. Corruption if they are too short or the probe
  // count is outside [1, 30]; the filter then keeps matching every key.
  Status Init(std::string contents);

  bool empty() const { return data_.empty(); }
  // False only if key was certainly not added.
  bool KeyMayMatch(std::string_view key) const;

  size_t size() const { return data_.size(); }

 private:
  std::string data_;
  uint64_t num_bits_ = 0;
  int num_probes_ = 0;
};

}  // namespace strata
