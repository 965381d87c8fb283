// Cache: a sharded LRU cache of immutable values under short byte-string keys, bounded by
// the sum of the entries' charges (bytes, as the caller counts them). The block cache of
// a store is one: key = 8-byte table id | 8-byte block offset, value = a decoded Block.
//
// Values are shared_ptr: Lookup hands out a reference, so a value evicted or erased
// while a reader holds it stays valid until the reader drops it. Such values no longer
// count in usage(); memory above capacity is therefore bounded by what readers hold at
// once (a block per open iterator or Get in progress).
//
// Keys are spread over 2^num_shard_bits shards by hash; each shard has its own mutex,
// hash table and LRU list and a 1/2^num_shard_bits share of the capacity, so readers of
// different blocks rarely wait for each other. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace strata {

class Cache {
 public:
  static constexpr int kDefaultShardBits = 4;  // 16 shards
  static constexpr int kMaxShardBits = 10;

  // capacity: the sum of charges the cache may hold (0 = keeps nothing). num_shard_bits
  // is clamped to [0, kMaxShardBits]; each shard gets capacity >> num_shard_bits.
  explicit Cache(size_t capacity, int num_shard_bits = kDefaultShardBits);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Stores value under key, replacing any value there, as the most recently used entry
  // of its shard; then evicts the shard's least recently used entries until the shard
  // fits its share. A value whose charge exceeds a shard's share is not kept (and any
  // old value under key is dropped); nor is anything when the share is 0. Charges
  // should be > 0: zero-charge entries do not count against the capacity, so any
  // number of them could pile up.
  void Insert(std::string_view key, std::shared_ptr<const void> value, size_t charge);
  // Insert for a value that is only worth keeping if it is asked for again: the first
  // offer of a key within the admission window only records the key (in a small bloom
  // filter of recently offered keys) and keeps nothing; a later offer stores it. For
  // point lookups spread over far more data than the cache holds, where almost every
  // block is read once: storing each would cost an insert, an eviction and a freshly
  // allocated (cold) block per lookup to keep blocks nobody asks for again, while the
  // blocks that are asked for again get in on their second read. The window is about 4x
  // the entries the cache holds at kTypicalCharge per entry; it restarts empty once that
  // many keys were recorded. Returns whether value is stored.
  bool InsertOnSecondOffer(std::string_view key, std::shared_ptr<const void> value,
                           size_t charge);
  // The charge InsertOnSecondOffer's window is sized for (a data block).
  static constexpr size_t kTypicalCharge = 4096;
  // The value under key (and it becomes the most recently used), or nullptr. Counts a
  // hit or a miss.
  std::shared_ptr<const void> Lookup(std::string_view key);
  // Lookup for a reader that offers what it misses to InsertOnSecondOffer: a key not
  // offered in the current window is a miss at once, decided by the window's filter
  // alone (no shard lock, no hash-table probe: for gets spread over far more data than
  // the cache, most lookups). Insert counts as an offer. The cost: a value stored or
  // offered only before the window restarted is not found until it is offered again.
  std::shared_ptr<const void> LookupOffered(std::string_view key);
  // Drops the entry under key, if any. Readers holding its value keep it.
  void Erase(std::string_view key);

  size_t capacity() const { return capacity_; }
  // Sum of the charges of the entries held now.
  size_t usage() const;
  // Entries held now.
  size_t entries() const;
  // Lookups that found / did not find their key, since construction.
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct Shard;
  Shard& ShardFor(uint64_t hash) const;
  void InsertHashed(std::string_view key, uint64_t hash, std::shared_ptr<const void> value,
                    size_t charge);
  // Sets the key's bits in the admission filter; true if they were all set already.
  bool OfferedBefore(uint64_t hash);
  // Whether the key's bits are all set, changing nothing.
  bool MayHaveBeenOffered(uint64_t hash) const;
  std::shared_ptr<const void> LookupHashed(std::string_view key, uint64_t hash);

  const size_t capacity_;
  const int shard_bits_;
  const std::unique_ptr<Shard[]> shards_;
  // InsertOnSecondOffer's bloom filter of recently offered keys: two bits per key, set
  // with relaxed atomics (a lost race costs one admission decision, nothing else).
  const size_t offered_words_;
  const std::unique_ptr<std::atomic<uint64_t>[]> offered_;
  std::atomic<size_t> offered_count_{0};
  std::atomic<uint64_t> unoffered_misses_{0};  // LookupOffered's misses by the filter
};

// The hash the cache shards and buckets keys by (exposed for tests that need keys in a
// chosen shard).
uint64_t CacheKeyHash(std::string_view key);

}  // namespace strata
