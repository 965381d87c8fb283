// Internal keys: the inline comparisons the read paths use, and LookupKey's layout.
#include "lsm/dbformat.h"
#include "lsm/bloom_filter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

namespace strata {
namespace {

int Sign(int x) { return (x > 0) - (x < 0); }

// What CompareUserKeys must equal: memcmp over the common length, then the shorter first.
int ReferenceCompare(const std::string& a, const std::string& b) {
  int r = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (r != 0) return Sign(r);
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

TEST(CompareUserKeys, AgreesWithMemcmpOrderForEveryLengthAndDifferingByte) {
  std::mt19937 rng(7);
  // Lengths around the 4- and 8-byte steps and past the 64-byte memcmp cut-over; one
  // differing byte at each position, with values that differ in sign as a char.
  for (size_t length : {0, 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 64, 65, 100}) {
    std::string base(length, '\0');
    for (char& c : base) c = static_cast<char>(rng());
    EXPECT_EQ(CompareUserKeys(base, base), 0);
    for (size_t i = 0; i < length; i++) {
      for (unsigned char v : {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff}) {
        std::string other = base;
        other[i] = static_cast<char>(v);
        EXPECT_EQ(Sign(CompareUserKeys(base, other)), ReferenceCompare(base, other))
            << "length " << length << " byte " << i;
        EXPECT_EQ(Sign(CompareUserKeys(other, base)), ReferenceCompare(other, base));
      }
    }
    // A proper prefix sorts first.
    if (length > 0) {
      std::string prefix = base.substr(0, length - 1);
      EXPECT_LT(CompareUserKeys(prefix, base), 0);
      EXPECT_GT(CompareUserKeys(base, prefix), 0);
    }
  }
}

TEST(CompareUserKeys, AgreesWithMemcmpOrderOnRandomKeys) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<size_t> length(0, 80);
  for (int trial = 0; trial < 20000; trial++) {
    // A small alphabet so that long shared prefixes are common.
    std::string a(length(rng), '\0'), b(length(rng), '\0');
    for (char& c : a) c = static_cast<char>(0x7e + rng() % 4);
    for (char& c : b) c = static_cast<char>(0x7e + rng() % 4);
    ASSERT_EQ(Sign(CompareUserKeys(a, b)), ReferenceCompare(a, b)) << a.size() << " " << b.size();
  }
}

TEST(CompareInternalKeys, OrdersByUserKeyThenNewestSequenceFirst) {
  auto key = [](std::string_view user_key, SequenceNumber seq, ValueType type) {
    std::string k;
    AppendInternalKey(&k, user_key, seq, type);
    return k;
  };
  EXPECT_LT(CompareInternalKeys(key("a", 1, ValueType::kValue), key("b", 9, ValueType::kValue)), 0);
  EXPECT_LT(CompareInternalKeys(key("a", 9, ValueType::kValue), key("a", 1, ValueType::kValue)), 0);
  EXPECT_LT(CompareInternalKeys(key("a", 5, ValueType::kValue), key("a", 5, ValueType::kDeletion)),
            0);
  EXPECT_LT(CompareInternalKeys(key("a", 1, ValueType::kValue),
                                key(std::string_view("a\0", 2), 9, ValueType::kValue)),
            0);
  EXPECT_EQ(CompareInternalKeys(key("k", 3, ValueType::kValue), key("k", 3, ValueType::kValue)), 0);
  EXPECT_EQ(GetInternalKeyComparator()->Compare(key("x", 2, ValueType::kValue),
                                                key("x", 3, ValueType::kValue)),
            1);
}

TEST(LookupKey, HoldsLengthPrefixedInternalKeyForShortAndLongKeys) {
  for (size_t length : {0, 1, 16, 119, 120, 127, 128, 1000}) {
    std::string user_key(length, 'k');
    LookupKey lookup(user_key, 42);
    EXPECT_EQ(lookup.user_key(), user_key);
    std::string expected_internal;
    AppendInternalKey(&expected_internal, user_key, 42, kValueTypeForSeek);
    EXPECT_EQ(lookup.internal_key(), expected_internal);
    std::string expected_memtable;
    PutLengthPrefixed(&expected_memtable, expected_internal);
    EXPECT_EQ(lookup.memtable_key(), expected_memtable) << "length " << length;
  }
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

// Gets check every filter with the lookup's hash: it must be the filters' own hash of
// the user key, or keys present would be ruled out.
TEST(LookupKeyHash, IsTheBloomHashOfTheUserKey) {
  for (std::string key : {std::string(), std::string("a"), std::string(200, 'x'),
                          std::string("\0\xff", 2)}) {
    EXPECT_EQ(BloomHash(key), LookupKey(key, 5).user_key_hash()) << key.size();
  }
}

}  // namespace
}  // namespace strata
