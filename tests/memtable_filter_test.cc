#include "lsm/memtable_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "lsm/bloom_filter.h"

namespace strata {
namespace {

uint64_t HashOf(const std::string& key) { return BloomHash(key); }

TEST(MemTableFilter, WithoutBytesItIsOffAndEverythingMayMatch) {
  MemTableFilter filter(0);
  EXPECT_EQ(0u, filter.bytes());
  for (int i = 0; i < 1000; i++) EXPECT_TRUE(filter.MayContain(HashOf(std::to_string(i))));
  filter.Add(HashOf("x"));  // a no-op, not a crash
  EXPECT_TRUE(filter.MayContain(HashOf("x")));
}

TEST(MemTableFilter, SizeIsRoundedUpToWholeCacheLines) {
  EXPECT_EQ(64u, MemTableFilter(1).bytes());
  EXPECT_EQ(64u, MemTableFilter(64).bytes());
  EXPECT_EQ(128u, MemTableFilter(65).bytes());
}

TEST(MemTableFilter, EmptyFilterRulesOutEveryKey) {
  MemTableFilter filter(4096);
  for (int i = 0; i < 1000; i++) EXPECT_FALSE(filter.MayContain(HashOf(std::to_string(i))));
}

TEST(MemTableFilter, AddedKeysAlwaysMayMatchAndFewOthersDo) {
  constexpr int kKeys = 100000;
  // 16 bits per key, the ratio of a 64 MiB write buffer with rows of about 250 bytes.
  MemTableFilter filter(kKeys * 16 / 8);
  for (int i = 0; i < kKeys; i++) filter.Add(HashOf("key" + std::to_string(i)));
  for (int i = 0; i < kKeys; i++) {
    ASSERT_TRUE(filter.MayContain(HashOf("key" + std::to_string(i)))) << i;
  }
  int false_positives = 0;
  for (int i = 0; i < kKeys; i++) {
    if (filter.MayContain(HashOf("absent" + std::to_string(i)))) false_positives++;
  }
  // About 0.1-0.3% expected for a blocked filter at 16 bits per key; 1% leaves room.
  EXPECT_LT(false_positives, kKeys / 100) << false_positives;
}

TEST(MemTableFilter, ASaturatedFilterStillFindsEveryKey) {
  MemTableFilter filter(64);
  for (int i = 0; i < 10000; i++) filter.Add(HashOf(std::to_string(i)));
  for (int i = 0; i < 10000; i++) ASSERT_TRUE(filter.MayContain(HashOf(std::to_string(i))));
}

}  // namespace
}  // namespace strata
