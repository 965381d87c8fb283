#include "lsm/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strata::crc32c {
namespace {

// Vectors from RFC 3720 (iSCSI), section B.4.
TEST(Crc32c, MatchesStandardVectors) {
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string ascending, descending;
  for (int i = 0; i < 32; i++) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(0x8a9136aau, Value(zeros));
  EXPECT_EQ(0x62a8ab43u, Value(ones));
  EXPECT_EQ(0x46dd794eu, Value(ascending));
  EXPECT_EQ(0x113fdb5cu, Value(descending));
  EXPECT_EQ(0xe3069283u, Value("123456789"));
}

TEST(Crc32c, HardwareAndPortableAgreeOnEveryLengthAndAlignment) {
  std::mt19937 rng(42);
  std::string data(1024, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 9; start++) {
    for (size_t len = 0; len + start <= 300; len++) {
      ASSERT_EQ(ExtendPortable(0, data.data() + start, len), Extend(0, data.data() + start, len))
          << "start " << start << " len " << len;
    }
  }
}

// Long inputs take the hardware path's three-stripe loop (768 bytes a round) and its
// tail; a nonzero starting CRC goes through the first stripe.
TEST(Crc32c, HardwareAndPortableAgreeOnLongInputs) {
  std::mt19937 rng(43);
  std::string data(10000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start : {0, 3, 8}) {
    for (size_t len : {767, 768, 769, 1535, 1536, 2048, 2311, 4096, 9000}) {
      for (uint32_t init : {0u, 0x12345678u}) {
        ASSERT_EQ(ExtendPortable(init, data.data() + start, len),
                  Extend(init, data.data() + start, len))
            << "start " << start << " len " << len << " init " << init;
      }
    }
  }
}

TEST(Crc32c, ExtendEqualsValueOfConcatenation) {
  std::string a = "hello ", b = "world";
  EXPECT_EQ(Value(a + b), Extend(Value(a), b.data(), b.size()));
  EXPECT_EQ(Value(a + b), ExtendPortable(ExtendPortable(0, a.data(), a.size()), b.data(), b.size()));
}

TEST(Crc32c, MaskRoundTripsAndChangesValue) {
  uint32_t crc = Value("foo");
  EXPECT_NE(crc, Mask(crc));
  EXPECT_NE(crc, Mask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Unmask(Mask(Mask(crc)))));
}

}  // namespace
}  // namespace strata::crc32c
