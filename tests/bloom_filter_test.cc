// Bloom filter: no false negatives, a false-positive rate close to theory, the probe
// count rule, a pinned hash (it is part of the file format), and rejection of
// malformed filters.
#include "lsm/bloom_filter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

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

TEST(BloomFilter, SizeIsBitsPerKeyTimesKeysInWholeLinesPlusTrailer) {
  BloomFilterBuilder builder(10);
  for (int i = 0; i < 1000; i++) builder.AddKey(Key(i));
  std::string filter = builder.Finish();
  // 10,000 bits = 19.5 lines of 512, rounded up to 20.
  EXPECT_EQ(filter.size(), 20 * 64 + 1u);
  EXPECT_EQ(static_cast<uint8_t>(filter.back()), 0x80 | 7);  // blocked, 7 probes
  // Tiny filters get one whole line.
  EXPECT_EQ(BloomFilterBuilder(10).Finish().size(), 64u + 1);
}

// Every probe of a key lands in the one line its hash picks: a negative check reads one
// cache line.
TEST(BloomFilter, AKeysProbesStayInOneLine) {
  for (int i = 0; i < 100; i++) {
    BloomFilterBuilder builder(10);
    // One distinct key, added often enough for a 20-line filter.
    for (int j = 0; j < 1000; j++) builder.AddKey(Key(i));
    std::string filter = builder.Finish();
    ASSERT_EQ(filter.size(), 20 * 64 + 1u);
    int lines_touched = 0, bits_set = 0;
    for (size_t line = 0; line < 20; line++) {
      int bits = 0;
      for (size_t b = 0; b < 64; b++) bits += __builtin_popcount(uint8_t(filter[line * 64 + b]));
      lines_touched += bits > 0;
      bits_set += bits;
    }
    EXPECT_EQ(1, lines_touched) << i;
    EXPECT_GE(bits_set, 1);
    EXPECT_LE(bits_set, 7);
  }
}

// Tables of format version 1 hold the standard layout; it must keep working. The filter
// is built here from docs/table_format.md's formula, independently of the builder.
std::string StandardFilter(const std::vector<std::string>& keys, uint64_t bits, int probes) {
  std::string filter(bits / 8 + 1, '\0');
  for (const std::string& key : keys) {
    uint64_t h = BloomHash(key);
    uint32_t h1 = static_cast<uint32_t>(h), h2 = static_cast<uint32_t>(h >> 32);
    for (int i = 0; i < probes; i++) {
      uint32_t x = h1 + static_cast<uint32_t>(i) * h2;
      uint64_t bit = (uint64_t{x} * bits) >> 32;
      filter[bit / 8] = static_cast<char>(filter[bit / 8] | (1 << (bit % 8)));
    }
  }
  filter.back() = static_cast<char>(probes);
  return filter;
}

TEST(BloomFilter, StandardLayoutFiltersStillAnswer) {
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; i++) keys.push_back(Key(i));
  BloomFilter filter;
  ASSERT_TRUE(filter.Init(StandardFilter(keys, 20000, 7)).ok());
  for (const std::string& key : keys) ASSERT_TRUE(filter.KeyMayMatch(key)) << key;
  int false_positives = 0;
  for (int i = 0; i < 20000; i++) false_positives += filter.KeyMayMatch(Key(i, "absent"));
  EXPECT_LT(false_positives, 20000 * 2 / 100);  // theory 0.8%
  EXPECT_GT(false_positives, 0);                // the bits are really consulted
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
  EXPECT_TRUE(filter.Init(std::string(64, '\0') + '\x80').IsCorruption());  // blocked, 0 probes
  EXPECT_TRUE(filter.Init(std::string(64, '\0') + '\x9f').IsCorruption());  // blocked, 31
  EXPECT_TRUE(filter.Init(std::string(65, '\0') + '\x87').IsCorruption());  // not whole lines
  EXPECT_TRUE(filter.Init(std::string(64, '\0') + '\xc7').IsCorruption());  // unknown bit
  // A filter that failed to load matches everything, like no filter.
  EXPECT_TRUE(filter.empty());
  EXPECT_TRUE(filter.KeyMayMatch("anything"));
  EXPECT_TRUE(filter.Init(bits + '\x1e').ok());
  EXPECT_FALSE(filter.KeyMayMatch("anything"));  // all bits clear
  EXPECT_TRUE(filter.Init(std::string(128, '\0') + '\x87').ok());
  EXPECT_FALSE(filter.KeyMayMatch("anything"));
}

TEST(BloomFilter, UninitializedFilterMatchesEverything) {
  BloomFilter filter;
  EXPECT_TRUE(filter.empty());
  EXPECT_TRUE(filter.KeyMayMatch("x"));
}

}  // namespace
}  // namespace strata
