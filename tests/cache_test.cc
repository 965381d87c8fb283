// Cache: LRU order, capacity and charge accounting, values that outlive their entries,
// sharding, hit/miss counters, and concurrent use (run under TSan too).
#include "lsm/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lsm/coding.h"

namespace strata {
namespace {

// A value that reports its destruction.
struct Tracked {
  Tracked(int id, std::atomic<int>* destroyed) : id(id), destroyed(destroyed) {}
  ~Tracked() { destroyed->fetch_add(1); }
  const int id;
  std::atomic<int>* const destroyed;
};

std::string Key(int i) { return "key" + std::to_string(i); }

// The value under key as an int, -1 if absent.
int Get(Cache* cache, std::string_view key) {
  std::shared_ptr<const void> v = cache->Lookup(key);
  return v == nullptr ? -1 : *static_cast<const int*>(v.get());
}

void Put(Cache* cache, std::string_view key, int value, size_t charge = 1) {
  cache->Insert(key, std::make_shared<const int>(value), charge);
}

// A block-cache-style key: 8-byte id | 8-byte offset.
std::string BlockKey(uint64_t id, uint64_t offset) {
  char buf[16];
  EncodeFixed64(buf, id);
  EncodeFixed64(buf + 8, offset);
  return std::string(buf, sizeof(buf));
}

TEST(Cache, LookupReturnsWhatWasInserted) {
  Cache cache(1000);
  Put(&cache, "a", 1);
  Put(&cache, "b", 2);
  Put(&cache, "", 3);  // the empty key is a key like any other
  EXPECT_EQ(Get(&cache, "a"), 1);
  EXPECT_EQ(Get(&cache, "b"), 2);
  EXPECT_EQ(Get(&cache, ""), 3);
  EXPECT_EQ(Get(&cache, "c"), -1);
  EXPECT_EQ(Get(&cache, std::string_view("a\0", 2)), -1);  // keys are bytes, not C strings
}

TEST(Cache, EvictsLeastRecentlyInsertedFirst) {
  Cache cache(3, /*num_shard_bits=*/0);
  for (int i = 0; i < 3; i++) Put(&cache, Key(i), i);
  Put(&cache, Key(3), 3);
  EXPECT_EQ(Get(&cache, Key(0)), -1);
  EXPECT_EQ(Get(&cache, Key(1)), 1);
  EXPECT_EQ(Get(&cache, Key(2)), 2);
  EXPECT_EQ(Get(&cache, Key(3)), 3);
}

TEST(Cache, LookupMakesAnEntryMostRecentlyUsed) {
  Cache cache(3, 0);
  for (int i = 0; i < 3; i++) Put(&cache, Key(i), i);
  EXPECT_EQ(Get(&cache, Key(0)), 0);  // order now 1, 2, 0
  Put(&cache, Key(3), 3);             // evicts 1
  EXPECT_EQ(Get(&cache, Key(1)), -1);
  Put(&cache, Key(4), 4);  // evicts 2
  EXPECT_EQ(Get(&cache, Key(2)), -1);
  EXPECT_EQ(Get(&cache, Key(0)), 0);
  EXPECT_EQ(Get(&cache, Key(3)), 3);
  EXPECT_EQ(Get(&cache, Key(4)), 4);
}

TEST(Cache, LargeEntryEvictsAsManyOldOnesAsItNeeds) {
  Cache cache(10, 0);
  for (int i = 0; i < 5; i++) Put(&cache, Key(i), i, 2);
  EXPECT_EQ(cache.usage(), 10u);
  Put(&cache, "big", 99, 5);  // needs the room of three 2-byte entries: 0, 1, 2 go
  EXPECT_EQ(cache.usage(), 9u);
  EXPECT_EQ(cache.entries(), 3u);
  for (int i = 0; i < 3; i++) EXPECT_EQ(Get(&cache, Key(i)), -1) << i;
  EXPECT_EQ(Get(&cache, Key(3)), 3);
  EXPECT_EQ(Get(&cache, Key(4)), 4);
  EXPECT_EQ(Get(&cache, "big"), 99);
}

TEST(Cache, UsageIsTheSumOfChargesOfHeldEntries) {
  Cache cache(1000, 0);
  Put(&cache, "a", 1, 100);
  Put(&cache, "b", 2, 250);
  EXPECT_EQ(cache.usage(), 350u);
  EXPECT_EQ(cache.entries(), 2u);
  Put(&cache, "a", 3, 40);  // replacing a key replaces its charge
  EXPECT_EQ(cache.usage(), 290u);
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(Get(&cache, "a"), 3);
  cache.Erase("b");
  EXPECT_EQ(cache.usage(), 40u);
  EXPECT_EQ(cache.entries(), 1u);
  cache.Erase("b");  // erasing an absent key is harmless
  cache.Erase("zzz");
  EXPECT_EQ(cache.usage(), 40u);
  cache.Erase("a");
  EXPECT_EQ(cache.usage(), 0u);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(Get(&cache, "a"), -1);
}

TEST(Cache, UsageNeverExceedsCapacity) {
  for (int shard_bits : {0, 4}) {
    Cache cache(16 * 1000, shard_bits);
    std::mt19937 rng(1);
    for (int i = 0; i < 20000; i++) {
      Put(&cache, BlockKey(rng() % 50, rng() % 1000), i, 1 + rng() % 300);
      ASSERT_LE(cache.usage(), cache.capacity()) << i;
    }
    // Full, give or take the last entry's worth per shard.
    EXPECT_GT(cache.usage(), cache.capacity() - (300u << shard_bits));
  }
}

TEST(Cache, EntryLargerThanAShardsShareIsNotKept) {
  Cache cache(16 * 100);  // 100 per shard
  Put(&cache, "a", 1, 100);
  EXPECT_EQ(Get(&cache, "a"), 1);
  Put(&cache, "a", 2, 101);  // too large: and the old value must not stay behind
  EXPECT_EQ(Get(&cache, "a"), -1);
  EXPECT_EQ(cache.usage(), 0u);
  EXPECT_EQ(cache.entries(), 0u);
}

TEST(Cache, ZeroCapacityKeepsNothing) {
  Cache cache(0);
  Put(&cache, "a", 1, 0);  // not even a free entry: capacity 0 means no cache
  Put(&cache, "b", 1, 1);
  EXPECT_EQ(cache.usage(), 0u);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(Get(&cache, "a"), -1);
  EXPECT_EQ(Get(&cache, "b"), -1);
}

TEST(Cache, HeldValueSurvivesEvictionEraseAndReplacement) {
  std::atomic<int> destroyed{0};
  Cache cache(2, 0);
  cache.Insert("a", std::make_shared<const Tracked>(1, &destroyed), 1);
  cache.Insert("b", std::make_shared<const Tracked>(2, &destroyed), 1);
  cache.Insert("c", std::make_shared<const Tracked>(3, &destroyed), 1);
  std::shared_ptr<const void> held_a = cache.Lookup("a");
  std::shared_ptr<const void> held_b = cache.Lookup("b");
  std::shared_ptr<const void> held_c = cache.Lookup("c");
  ASSERT_EQ(held_a, nullptr);  // a was evicted by c
  EXPECT_EQ(destroyed.load(), 1);
  ASSERT_NE(held_b, nullptr);
  ASSERT_NE(held_c, nullptr);

  cache.Insert("d", std::make_shared<const Tracked>(4, &destroyed), 1);  // evicts b
  cache.Erase("c");
  cache.Insert("d", std::make_shared<const Tracked>(5, &destroyed), 1);  // replaces 4
  EXPECT_EQ(cache.Lookup("b"), nullptr);
  EXPECT_EQ(cache.Lookup("c"), nullptr);
  EXPECT_EQ(destroyed.load(), 2);  // only the unheld 4 is gone; b and c are held
  EXPECT_EQ(static_cast<const Tracked*>(held_b.get())->id, 2);
  EXPECT_EQ(static_cast<const Tracked*>(held_c.get())->id, 3);
  EXPECT_EQ(cache.usage(), 1u);  // held values no longer count

  held_b.reset();
  EXPECT_EQ(destroyed.load(), 3);
  held_c.reset();
  EXPECT_EQ(destroyed.load(), 4);
}

TEST(Cache, DestroyingTheCacheReleasesItsValuesButNotHeldOnes) {
  std::atomic<int> destroyed{0};
  std::shared_ptr<const void> held;
  {
    Cache cache(100);
    for (int i = 0; i < 10; i++) {
      cache.Insert(Key(i), std::make_shared<const Tracked>(i, &destroyed), 1);
    }
    held = cache.Lookup(Key(7));
    ASSERT_NE(held, nullptr);
  }
  EXPECT_EQ(destroyed.load(), 9);
  EXPECT_EQ(static_cast<const Tracked*>(held.get())->id, 7);
  held.reset();
  EXPECT_EQ(destroyed.load(), 10);
}

TEST(Cache, ManyKeysInOneShardAllFound) {
  // Enough keys to grow the hash table many times.
  Cache cache(100000, 0);
  for (int i = 0; i < 50000; i++) Put(&cache, BlockKey(i / 100, i % 100 * 4096), i);
  for (int i = 0; i < 50000; i++) ASSERT_EQ(Get(&cache, BlockKey(i / 100, i % 100 * 4096)), i);
  EXPECT_EQ(cache.entries(), 50000u);
}

TEST(Cache, BlockKeysAreSpreadOverAllShards) {
  // 16 shards of room for 10 entries each: the cache holds 160 entries only if every
  // shard received at least 10 of the keys.
  Cache cache(16 * 10);
  for (uint64_t offset = 0; offset < 400 * 4096; offset += 4096) {
    Put(&cache, BlockKey(7, offset), 1);
  }
  EXPECT_EQ(cache.entries(), 160u);
  EXPECT_EQ(cache.usage(), 160u);
}

TEST(Cache, ShardsEvictIndependently) {
  Cache cache(16 * 4);  // 4 entries per shard
  // Keys of two different shards (the shard is the top 4 bits of the hash).
  std::vector<std::string> shard_a, shard_b;
  const uint64_t a = CacheKeyHash(BlockKey(1, 0)) >> 60;
  for (uint64_t offset = 0; shard_a.size() < 4 || shard_b.size() < 100; offset++) {
    std::string key = BlockKey(1, offset);
    if (CacheKeyHash(key) >> 60 == a) {
      if (shard_a.size() < 4) shard_a.push_back(key);
    } else if (CacheKeyHash(key) >> 60 == (a + 1) % 16) {
      shard_b.push_back(key);
    }
  }
  for (const std::string& key : shard_a) Put(&cache, key, 1);
  for (const std::string& key : shard_b) Put(&cache, key, 2);  // churns shard b only
  for (const std::string& key : shard_a) EXPECT_EQ(Get(&cache, key), 1);
  EXPECT_EQ(cache.entries(), 8u);
}

TEST(Cache, InsertOnSecondOfferKeepsAKeyFromItsSecondOfferOn) {
  Cache cache(64 << 20);
  constexpr int kKeys = 2000;
  int admitted_first = 0;
  for (int i = 0; i < kKeys; i++) {
    if (cache.InsertOnSecondOffer(BlockKey(1, i * 4096), std::make_shared<const int>(i), 4096)) {
      admitted_first++;
    }
  }
  // Only keys whose filter bits other keys happened to set (about 1.4%).
  EXPECT_LE(admitted_first, kKeys / 20);
  EXPECT_EQ(cache.entries(), static_cast<size_t>(admitted_first));
  for (int i = 0; i < kKeys; i++) {
    ASSERT_TRUE(cache.InsertOnSecondOffer(BlockKey(1, i * 4096), std::make_shared<const int>(i),
                                          4096))
        << i;
    ASSERT_EQ(Get(&cache, BlockKey(1, i * 4096)), i);
  }
  // Insert itself keeps everything at once, as before.
  Put(&cache, "plain", 7, 4096);
  EXPECT_EQ(Get(&cache, "plain"), 7);
}

TEST(Cache, InsertOnSecondOfferForgetsKeysOfferedBeforeTheWindowRestarted) {
  // The window is 4 entries' worth of the capacity at 4 KiB each, at least 1024 keys.
  Cache cache(1 << 20);
  constexpr int kOld = 200;
  for (int i = 0; i < kOld; i++) {
    cache.InsertOnSecondOffer(BlockKey(1, i), std::make_shared<const int>(i), 1);
  }
  for (int i = 0; i < kOld; i++) cache.Erase(BlockKey(1, i));  // the few false admissions
  // Enough other keys to fill and restart the window several times.
  for (int i = 0; i < 20000; i++) {
    cache.InsertOnSecondOffer(BlockKey(2, i), std::make_shared<const int>(i), 1);
  }
  int admitted = 0;
  for (int i = 0; i < kOld; i++) {
    if (cache.InsertOnSecondOffer(BlockKey(1, i), std::make_shared<const int>(i), 1)) admitted++;
  }
  EXPECT_LE(admitted, kOld / 10) << "offers from before the restart still counted";
}

// LookupOffered answers a key not offered (nor inserted) in the current window from the
// admission filter alone: a miss, counted, even if the cache holds the key from before
// the window restarted. Keys stored in the window are found as by Lookup.
TEST(Cache, LookupOfferedFindsOnlyKeysOfferedInTheWindow) {
  // The window is 1024 keys (its minimum) for this capacity.
  Cache cache(1 << 20);
  const std::string offered = BlockKey(1, 0), plain = BlockKey(1, 4096);
  cache.InsertOnSecondOffer(offered, std::make_shared<const int>(1), 1);
  ASSERT_TRUE(cache.InsertOnSecondOffer(offered, std::make_shared<const int>(1), 1));
  Put(&cache, plain, 2, 1);

  std::shared_ptr<const void> found = cache.LookupOffered(offered);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(*std::static_pointer_cast<const int>(found), 1);
  found = cache.LookupOffered(plain);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(*std::static_pointer_cast<const int>(found), 2);
  EXPECT_EQ(cache.LookupOffered(BlockKey(1, 8192)), nullptr);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);

  // Other keys' offers restart the window: the cached keys are missed until offered
  // again, though Lookup still finds them.
  for (int i = 0; i < 5000; i++) {
    cache.InsertOnSecondOffer(BlockKey(2, i), std::make_shared<const int>(i), 1);
  }
  int missed = 0;
  for (int key = 0; key < 2; key++) {
    if (cache.LookupOffered(BlockKey(1, key * 4096)) == nullptr) missed++;
    EXPECT_NE(Get(&cache, BlockKey(1, key * 4096)), -1);
  }
  EXPECT_GE(missed, 1);
  cache.InsertOnSecondOffer(plain, std::make_shared<const int>(3), 1);
  found = cache.LookupOffered(plain);
  ASSERT_NE(found, nullptr);
}

TEST(Cache, HitAndMissCountersCountLookups) {
  Cache cache(100);
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.misses(), 0u);
  Put(&cache, "a", 1);
  Get(&cache, "a");
  Get(&cache, "a");
  Get(&cache, "b");
  cache.Erase("a");
  Get(&cache, "a");
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 2u);
}

// Threads insert, look up and erase overlapping keys. Every value found must be the
// one stored under its key, the counters must add up, and usage must stay in bounds.
// Under TSan this also checks the locking.
TEST(Cache, ConcurrentInsertLookupEraseAgree) {
  Cache cache(16 * 64);  // small: evictions all the time
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> wrong{0};
  std::atomic<uint64_t> lookups{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      uint64_t my_lookups = 0;
      for (int i = 0; i < kOps; i++) {
        int k = rng() % 500;
        std::string key = BlockKey(k % 7, k);
        switch (rng() % 8) {
          case 0:
            cache.Erase(key);
            break;
          case 1:
            cache.Insert(key, std::make_shared<const std::string>(key), 1 + rng() % 8);
            break;
          case 2: {
            // Half the time one of these keys, the other half one of 5000 more: enough
            // new keys to restart the admission window while other threads use it.
            std::string offered = rng() % 2 == 0 ? key : BlockKey(9, rng() % 5000);
            cache.InsertOnSecondOffer(offered, std::make_shared<const std::string>(offered),
                                      1 + rng() % 8);
            break;
          }
          default: {
            my_lookups++;
            std::shared_ptr<const void> v = cache.Lookup(key);
            if (v != nullptr && *static_cast<const std::string*>(v.get()) != key) wrong++;
            if (cache.usage() > cache.capacity()) wrong++;
          }
        }
      }
      lookups += my_lookups;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(cache.hits() + cache.misses(), lookups.load());
  EXPECT_GT(cache.hits(), 0u);
  EXPECT_GT(cache.misses(), 0u);
  EXPECT_LE(cache.usage(), cache.capacity());
}

}  // namespace
}  // namespace strata
