#include "lsm/cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#include "lsm/coding.h"

namespace strata {
namespace {

// One cached value. Allocated with its key bytes right behind it, so an entry is one
// allocation. Linked into its shard's hash chain and its shard's LRU list.
struct Entry {
  std::shared_ptr<const void> value;
  Entry* next_hash = nullptr;
  Entry* prev = nullptr;  // LRU list
  Entry* next = nullptr;
  size_t charge = 0;
  uint64_t hash = 0;
  size_t key_length = 0;

  char* key_data() { return reinterpret_cast<char*>(this) + sizeof(Entry); }
  std::string_view key() { return std::string_view(key_data(), key_length); }
};

Entry* NewEntry(std::string_view key, uint64_t hash, std::shared_ptr<const void> value,
                size_t charge) {
  void* memory = ::operator new(sizeof(Entry) + key.size());
  Entry* e = new (memory) Entry;
  e->value = std::move(value);
  e->charge = charge;
  e->hash = hash;
  e->key_length = key.size();
  if (!key.empty()) std::memcpy(e->key_data(), key.data(), key.size());
  return e;
}

void DeleteEntry(Entry* e) {
  e->~Entry();
  ::operator delete(e);
}

// Entries unlinked under a shard's mutex, chained through next_hash and deleted after
// it is released: dropping the last reference to a value (freeing a block) is work no
// other reader of the shard should wait for.
class Garbage {
 public:
  Garbage() = default;
  Garbage(const Garbage&) = delete;
  Garbage& operator=(const Garbage&) = delete;
  ~Garbage() {
    while (head_ != nullptr) {
      Entry* next = head_->next_hash;
      DeleteEntry(head_);
      head_ = next;
    }
  }
  void Add(Entry* e) {
    e->next_hash = head_;
    head_ = e;
  }

 private:
  Entry* head_ = nullptr;
};

// Chained hash table over the low bits of the hash (the high bits pick the shard).
// Grows to keep chains about one entry long.
class HandleTable {
 public:
  HandleTable() : buckets_(kInitialBuckets, nullptr) {}

  Entry* Lookup(std::string_view key, uint64_t hash) { return *FindPointer(key, hash); }

  // Links e in; returns the entry it replaced (same key), which is unlinked, or nullptr.
  Entry* Insert(Entry* e) {
    Entry** ptr = FindPointer(e->key(), e->hash);
    Entry* old = *ptr;
    e->next_hash = old == nullptr ? nullptr : old->next_hash;
    *ptr = e;
    if (old == nullptr && ++elements_ > buckets_.size()) Grow();
    return old;
  }

  Entry* Remove(std::string_view key, uint64_t hash) {
    Entry** ptr = FindPointer(key, hash);
    Entry* result = *ptr;
    if (result != nullptr) {
      *ptr = result->next_hash;
      elements_--;
    }
    return result;
  }

 private:
  static constexpr size_t kInitialBuckets = 16;  // a power of 2

  Entry** FindPointer(std::string_view key, uint64_t hash) {
    Entry** ptr = &buckets_[hash & (buckets_.size() - 1)];
    while (*ptr != nullptr && ((*ptr)->hash != hash || (*ptr)->key() != key)) {
      ptr = &(*ptr)->next_hash;
    }
    return ptr;
  }

  void Grow() {
    std::vector<Entry*> grown(buckets_.size() * 2, nullptr);
    for (Entry* head : buckets_) {
      while (head != nullptr) {
        Entry* next = head->next_hash;
        Entry** bucket = &grown[head->hash & (grown.size() - 1)];
        head->next_hash = *bucket;
        *bucket = head;
        head = next;
      }
    }
    buckets_.swap(grown);
  }

  std::vector<Entry*> buckets_;
  size_t elements_ = 0;
};

}  // namespace

// Own cache line per shard: the counters are written by every reader of the shard.
struct alignas(64) Cache::Shard {
  Shard() { lru.next = lru.prev = &lru; }
  ~Shard() {
    for (Entry* e = lru.next; e != &lru;) {
      Entry* next = e->next;
      DeleteEntry(e);
      e = next;
    }
  }

  // The list runs from lru.next (least recently used) to lru.prev (most recent).
  void Unlink(Entry* e) {
    e->next->prev = e->prev;
    e->prev->next = e->next;
  }
  void Append(Entry* e) {
    e->next = &lru;
    e->prev = lru.prev;
    e->prev->next = e;
    lru.prev = e;
  }
  // counter += delta (modulo 2^64) for a counter written only under mutex; returns the sum.
  template <typename T>
  static T AddUnderLock(std::atomic<T>* counter, std::type_identity_t<T> delta) {
    T sum = counter->load(std::memory_order_relaxed) + delta;
    counter->store(sum, std::memory_order_relaxed);
    return sum;
  }

  // Unlinks e from the table's view (already removed from the hash table by the caller).
  void Drop(Entry* e, Garbage* garbage) {
    Unlink(e);
    AddUnderLock(&usage, 0 - e->charge);
    AddUnderLock(&entries, 0 - size_t{1});
    garbage->Add(e);
  }

  size_t capacity = 0;  // set once, before any use
  std::mutex mutex;
  HandleTable table;  // guarded by mutex
  Entry lru;          // guarded by mutex; list head, holds no value
  // Written only under mutex, read lock-free. Atomic for those readers; the writers
  // need no atomic read-modify-write (a locked instruction on every lookup), as the
  // mutex already orders them: Add is a plain load and store.
  std::atomic<size_t> usage{0};
  std::atomic<size_t> entries{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
};

uint64_t CacheKeyHash(std::string_view key) {
  // 64-bit multiply-xorshift over 8-byte words, then MurmurHash3's finalizer so that both
  // the high bits (shard) and the low bits (bucket) depend on every key byte.
  constexpr uint64_t kMul = 0x9ddfea08eb382d69ull;
  const char* p = key.data();
  const size_t n = key.size();
  uint64_t h = 0x243f6a8885a308d3ull ^ (n * kMul);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ DecodeFixed64(p + i)) * kMul;
    h ^= h >> 47;
  }
  if (i < n) {
    uint64_t tail = 0;
    for (size_t j = n; j > i; j--) tail = (tail << 8) | static_cast<uint8_t>(p[j - 1]);
    h = (h ^ tail) * kMul;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

namespace {

// The admission window holds about this many times the entries the cache holds.
constexpr size_t kOfferedWindowFactor = 4;
// Bits of the admission filter per key of its window: at two probes, about 2.5% of
// keys offered once are taken for keys offered before.
constexpr size_t kOfferedBitsPerKey = 16;

size_t OfferedWindow(size_t capacity) {
  return std::max<size_t>(1024, capacity / Cache::kTypicalCharge * kOfferedWindowFactor);
}

}  // namespace

Cache::Cache(size_t capacity, int num_shard_bits)
    : capacity_(capacity),
      shard_bits_(std::clamp(num_shard_bits, 0, kMaxShardBits)),
      shards_(new Shard[size_t{1} << shard_bits_]),
      offered_words_((OfferedWindow(capacity) * kOfferedBitsPerKey + 63) / 64),
      offered_(new std::atomic<uint64_t>[offered_words_]()) {
  for (size_t i = 0; i < (size_t{1} << shard_bits_); i++) {
    shards_[i].capacity = capacity >> shard_bits_;
  }
}

Cache::~Cache() = default;

Cache::Shard& Cache::ShardFor(uint64_t hash) const {
  return shards_[shard_bits_ == 0 ? 0 : hash >> (64 - shard_bits_)];
}

void Cache::Insert(std::string_view key, std::shared_ptr<const void> value, size_t charge) {
  const uint64_t hash = CacheKeyHash(key);
  OfferedBefore(hash);  // so that LookupOffered finds it
  InsertHashed(key, hash, std::move(value), charge);
}

bool Cache::InsertOnSecondOffer(std::string_view key, std::shared_ptr<const void> value,
                                size_t charge) {
  const uint64_t hash = CacheKeyHash(key);
  if (!OfferedBefore(hash)) return false;
  InsertHashed(key, hash, std::move(value), charge);
  return true;
}

namespace {

// The admission filter's two bits for a key: probes from the hash's middle bits (the
// high ones pick the shard, the low ones the bucket: independent of both).
std::array<uint64_t, 2> OfferedBits(uint64_t hash, size_t offered_words) {
  const uint64_t offered_bits = offered_words * 64;
  return {((hash >> 16) & 0xffffff) * offered_bits >> 24,
          ((hash >> 40) & 0xffffff) * offered_bits >> 24};
}

}  // namespace

bool Cache::MayHaveBeenOffered(uint64_t hash) const {
  for (uint64_t bit : OfferedBits(hash, offered_words_)) {
    if ((offered_[bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64))) == 0) {
      return false;
    }
  }
  return true;
}

bool Cache::OfferedBefore(uint64_t hash) {
  const std::array<uint64_t, 2> bits = OfferedBits(hash, offered_words_);
  bool seen = true;
  for (uint64_t bit : bits) {
    std::atomic<uint64_t>& word = offered_[bit / 64];
    const uint64_t mask = uint64_t{1} << (bit % 64);
    if ((word.load(std::memory_order_relaxed) & mask) == 0) {
      seen = false;
      word.fetch_or(mask, std::memory_order_relaxed);
    }
  }
  if (!seen &&
      offered_count_.fetch_add(1, std::memory_order_relaxed) + 1 >= OfferedWindow(capacity_)) {
    // The window is full: start it again, so that keys offered long ago count as new.
    offered_count_.store(0, std::memory_order_relaxed);
    for (size_t i = 0; i < offered_words_; i++) offered_[i].store(0, std::memory_order_relaxed);
  }
  return seen;
}

void Cache::InsertHashed(std::string_view key, uint64_t hash, std::shared_ptr<const void> value,
                         size_t charge) {
  Shard& shard = ShardFor(hash);
  Garbage garbage;  // destroyed after the lock below is released
  if (charge > shard.capacity || shard.capacity == 0) {
    std::lock_guard<std::mutex> guard(shard.mutex);
    if (Entry* old = shard.table.Remove(key, hash)) shard.Drop(old, &garbage);
    return;
  }
  Entry* e = NewEntry(key, hash, std::move(value), charge);
  std::lock_guard<std::mutex> guard(shard.mutex);
  if (Entry* old = shard.table.Insert(e)) shard.Drop(old, &garbage);
  shard.Append(e);
  Shard::AddUnderLock(&shard.entries, 1);
  size_t usage = Shard::AddUnderLock(&shard.usage, charge);
  // e itself fits, so the loop stops before reaching it.
  while (usage > shard.capacity) {
    Entry* victim = shard.lru.next;
    shard.table.Remove(victim->key(), victim->hash);
    shard.Drop(victim, &garbage);
    usage -= victim->charge;
  }
}

std::shared_ptr<const void> Cache::Lookup(std::string_view key) {
  return LookupHashed(key, CacheKeyHash(key));
}

std::shared_ptr<const void> Cache::LookupOffered(std::string_view key) {
  const uint64_t hash = CacheKeyHash(key);
  if (!MayHaveBeenOffered(hash)) {
    unoffered_misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  return LookupHashed(key, hash);
}

std::shared_ptr<const void> Cache::LookupHashed(std::string_view key, uint64_t hash) {
  Shard& shard = ShardFor(hash);
  std::lock_guard<std::mutex> guard(shard.mutex);
  Entry* e = shard.table.Lookup(key, hash);
  if (e == nullptr) {
    Shard::AddUnderLock(&shard.misses, 1);
    return nullptr;
  }
  Shard::AddUnderLock(&shard.hits, 1);
  shard.Unlink(e);
  shard.Append(e);
  return e->value;
}

void Cache::Erase(std::string_view key) {
  const uint64_t hash = CacheKeyHash(key);
  Shard& shard = ShardFor(hash);
  Garbage garbage;
  std::lock_guard<std::mutex> guard(shard.mutex);
  if (Entry* e = shard.table.Remove(key, hash)) shard.Drop(e, &garbage);
}

size_t Cache::usage() const {
  size_t total = 0;
  for (size_t i = 0; i < (size_t{1} << shard_bits_); i++) {
    total += shards_[i].usage.load(std::memory_order_relaxed);
  }
  return total;
}

size_t Cache::entries() const {
  size_t total = 0;
  for (size_t i = 0; i < (size_t{1} << shard_bits_); i++) {
    total += shards_[i].entries.load(std::memory_order_relaxed);
  }
  return total;
}

uint64_t Cache::hits() const {
  uint64_t total = 0;
  for (size_t i = 0; i < (size_t{1} << shard_bits_); i++) {
    total += shards_[i].hits.load(std::memory_order_relaxed);
  }
  return total;
}

uint64_t Cache::misses() const {
  uint64_t total = unoffered_misses_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < (size_t{1} << shard_bits_); i++) {
    total += shards_[i].misses.load(std::memory_order_relaxed);
  }
  return total;
}

}  // namespace strata
