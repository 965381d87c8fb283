// Bloom filter: no false negatives, a false-positive rate close to theory, the probe
// count rule, a pinned hash (it is part of the file format), and rejection of
// malformed filters.
#include "lsm/bloom_filter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "lsm/coding.h"

namespace strata {
namespace {

std::string Key(uint64_t i, const char* prefix = "key") {
  return std::string(prefix) + std::to_string(i);
}

BloomFilter Build(int bits_per_key, uint64_t n, const char* prefix = "key") {
  BloomFilterBuilder builder(bits_per_key);
  for (uint64_t i = 0; i < n; i++) builder.AddKey(Key(i, prefix));
  BloomFilter filter;
  Status s = filter.Init(builder.Finish());
  EXPECT_TRUE(s.ok()) << s.ToString();
  return filter;
}

TEST(BloomFilter, HasNoFalseNegatives) {
  for (uint64_t n : {0, 1, 2, 7, 100, 1000, 10000}) {
    for (int bits : {1, 4, 10, 20}) {
      BloomFilter filter = Build(bits, n);
      for (uint64_t i = 0; i < n; i++) {
        ASSERT_TRUE(filter.KeyMayMatch(Key(i))) << "n " << n << " bits " << bits << " i " << i;
      }
    }
  }
}

TEST(BloomFilter, BinaryAndEmptyKeysHaveNoFalseNegatives) {
  BloomFilterBuilder builder(10);
  std::vector<std::string> keys = {"", std::string(1, '\0'), std::string(2, '\0'),
                                   std::string("\xff\xfe\x00\x01", 4), std::string(100, 'x')};
  for (const auto& k : keys) builder.AddKey(k);
  BloomFilter filter;
  ASSERT_TRUE(filter.Init(builder.Finish()).ok());
  for (const auto& k : keys) EXPECT_TRUE(filter.KeyMayMatch(k));
}

double Theory(int bits_per_key) {
  double k = BloomProbesForBitsPerKey(bits_per_key);
  return std::pow(1 - std::exp(-k / bits_per_key), k);
}

double MeasuredFalsePositiveRate(int bits_per_key, uint64_t n) {
  BloomFilter filter = Build(bits_per_key, n);
  uint64_t false_positives = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (filter.KeyMayMatch(Key(i, "absent"))) false_positives++;
  }
  return static_cast<double>(false_positives) / n;
}

TEST(BloomFilter, FalsePositiveRateAtTenBitsPerKeyIsNearTheory) {
  const double theory = Theory(10);  // k = 7: about 0.82%
  EXPECT_NEAR(theory, 0.0082, 0.0005);
  double measured = MeasuredFalsePositiveRate(10, 100000);
  RecordProperty("false_positive_rate", std::to_string(measured));
  EXPECT_LE(measured, 2 * theory) << "measured " << measured << " theory " << theory;
  // Far below theory would mean the filter is bigger than it claims.
  EXPECT_GE(measured, theory / 2) << "measured " << measured << " theory " << theory;
}

TEST(BloomFilter, FalsePositiveRateTracksBitsPerKey) {
  for (int bits : {4, 6, 16}) {
    double theory = Theory(bits);
    double measured = MeasuredFalsePositiveRate(bits, 50000);
    EXPECT_LE(measured, 2 * theory + 0.0002) << "bits " << bits << " measured " << measured;
  }
}

TEST(BloomFilter, SizeIsBitsPerKeyTimesKeysPlusProbeByte) {
  BloomFilterBuilder builder(10);
  for (int i = 0; i < 1000; i++) builder.AddKey(Key(i));
  std::string filter = builder.Finish();
  EXPECT_EQ(filter.size(), 1000 * 10 / 8 + 1);
  EXPECT_EQ(filter.back(), 7);
  // Tiny filters get at least 64 bits so a handful of keys is not all ones.
  EXPECT_EQ(BloomFilterBuilder(10).Finish().size(), 8u + 1);
}

TEST(BloomFilter, ProbeCountIsRoundedBitsTimesLn2ClampedTo1And30) {
  EXPECT_EQ(BloomProbesForBitsPerKey(1), 1);    // 0.69
  EXPECT_EQ(BloomProbesForBitsPerKey(2), 1);    // 1.39
  EXPECT_EQ(BloomProbesForBitsPerKey(3), 2);    // 2.08
  EXPECT_EQ(BloomProbesForBitsPerKey(10), 7);   // 6.93
  EXPECT_EQ(BloomProbesForBitsPerKey(20), 14);  // 13.86
  EXPECT_EQ(BloomProbesForBitsPerKey(43), 30);  // 29.8
  EXPECT_EQ(BloomProbesForBitsPerKey(100), 30);
}

// Filters on disk were built with this hash: a change would make every existing table
// return false negatives.
TEST(BloomFilter, HashIsPinned) {
  EXPECT_EQ(BloomHash(""), 0x9ca066f1a4ab2eeaull);
  EXPECT_EQ(BloomHash("a"), 0x55831c136c16b407ull);
  EXPECT_EQ(BloomHash("12345678"), 0x2d0a79c40a438dbfull);
  EXPECT_EQ(BloomHash("hello, world!"), 0x6ee6e1393b24e4eaull);
}

TEST(BloomFilter, HashSpreadsNearbyKeys) {
  // Keys differing in one bit differ in about half the hash bits.
  int total = 0;
  for (int i = 0; i < 1000; i++) {
    std::string a = Key(i), b = a;
    b[0] ^= 1;
    total += __builtin_popcountll(BloomHash(a) ^ BloomHash(b));
  }
  EXPECT_NEAR(total / 1000.0, 32, 2);
}

TEST(BloomFilter, MalformedFiltersAreCorruption) {
  BloomFilter filter;
  EXPECT_TRUE(filter.Init("").IsCorruption());
  EXPECT_TRUE(filter.Init("\x07").IsCorruption());  // no bits at all
  std::string bits(8, '\0');
  EXPECT_TRUE(filter.Init(bits + '\0').IsCorruption());    // 0 probes
  EXPECT_TRUE(filter.Init(bits + '\x1f').IsCorruption());  // 31 probes
  // A filter that failed to load matches everything, like no filter.
  EXPECT_TRUE(filter.empty());
  EXPECT_TRUE(filter.KeyMayMatch("anything"));
  EXPECT_TRUE(filter.Init(bits + '\x1e').ok());
  EXPECT_FALSE(filter.KeyMayMatch("anything"));  // all bits clear
}

TEST(BloomFilter, UninitializedFilterMatchesEverything) {
  BloomFilter filter;
  EXPECT_TRUE(filter.empty());
  EXPECT_TRUE(filter.KeyMayMatch("x"));
}

}  // namespace
}  // namespace strata
