// Tests of lsm/coding.h: the fixed-width and varint encodings every on-disk format is
// built from. Decoders are fed exact-size heap buffers so that AddressSanitizer reports
// any read at or past the limit they were given.
#include "lsm/coding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata {
namespace {

// A heap copy of bytes with nothing readable after its last byte, so an over-read is
// an ASan error rather than a silent read of the next member of a std::string.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[bytes.empty() ? 1 : bytes.size()]) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  const char* begin() const { return data_.get(); }
  const char* end() const { return data_.get() + size_; }
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string Varint64(uint64_t v) {
  std::string s;
  PutVarint64(&s, v);
  return s;
}

const std::vector<uint64_t>& Boundaries64() {
  static const std::vector<uint64_t> values = {
      0,
      1,
      127,
      128,
      (uint64_t{1} << 14) - 1,
      uint64_t{1} << 14,
      (uint64_t{1} << 21) - 1,
      uint64_t{1} << 21,
      (uint64_t{1} << 28) - 1,
      uint64_t{1} << 28,
      (uint64_t{1} << 32) - 1,
      uint64_t{1} << 32,
      (uint64_t{1} << 35) - 1,
      uint64_t{1} << 35,
      (uint64_t{1} << 56) - 1,
      (uint64_t{1} << 63) - 1,
      uint64_t{1} << 63,
      UINT64_MAX,
  };
  return values;
}

TEST(CodingTest, Fixed32IsLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201u);
  EXPECT_EQ(s, Bytes({0x01, 0x02, 0x03, 0x04}));
  char buf[4];
  EncodeFixed32(buf, 0xdeadbeefu);
  EXPECT_EQ(std::string(buf, 4), Bytes({0xef, 0xbe, 0xad, 0xde}));
  EXPECT_EQ(DecodeFixed32(buf), 0xdeadbeefu);
}

TEST(CodingTest, Fixed64IsLittleEndian) {
  std::string s;
  PutFixed64(&s, 0x0807060504030201ull);
  EXPECT_EQ(s, Bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
  EXPECT_EQ(DecodeFixed64(s.data()), 0x0807060504030201ull);
  // High bytes with the top bit set must not sign-extend into the lower half.
  std::string high;
  PutFixed64(&high, 0xff000000000000ffull);
  EXPECT_EQ(DecodeFixed64(high.data()), 0xff000000000000ffull);
}

TEST(CodingTest, Fixed32RoundTripsManyValues) {
  std::string s;
  std::vector<uint32_t> values;
  for (uint32_t v = 0; v < 100000; v += 7) values.push_back(v);
  for (int shift = 0; shift < 32; shift++) {
    values.push_back(uint32_t{1} << shift);
    values.push_back((uint32_t{1} << shift) - 1);
  }
  values.push_back(UINT32_MAX);
  for (uint32_t v : values) PutFixed32(&s, v);
  std::string_view input(s);
  for (uint32_t expected : values) {
    uint32_t actual;
    ASSERT_TRUE(GetFixed32(&input, &actual));
    ASSERT_EQ(actual, expected);
  }
  EXPECT_TRUE(input.empty());
}

TEST(CodingTest, Fixed64RoundTripsPowersOfTwoAndNeighbours) {
  std::string s;
  std::vector<uint64_t> values;
  for (int shift = 0; shift < 64; shift++) {
    uint64_t v = uint64_t{1} << shift;
    values.push_back(v - 1);
    values.push_back(v);
    values.push_back(v + 1);
  }
  values.push_back(UINT64_MAX);
  for (uint64_t v : values) PutFixed64(&s, v);
  std::string_view input(s);
  for (uint64_t expected : values) {
    uint64_t actual;
    ASSERT_TRUE(GetFixed64(&input, &actual));
    ASSERT_EQ(actual, expected);
  }
  EXPECT_TRUE(input.empty());
}

TEST(CodingTest, GetFixedRejectsShortInput) {
  for (size_t len = 0; len < 8; len++) {
    ExactBuffer buf(std::string(len, '\x5a'));
    std::string_view input = buf.view();
    uint64_t v64;
    EXPECT_FALSE(GetFixed64(&input, &v64)) << len;
    if (len < 4) {
      input = buf.view();
      uint32_t v32;
      EXPECT_FALSE(GetFixed32(&input, &v32)) << len;
    }
  }
}

TEST(CodingTest, VarintEncodingsOfKnownValues) {
  EXPECT_EQ(Varint64(0), Bytes({0x00}));
  EXPECT_EQ(Varint64(1), Bytes({0x01}));
  EXPECT_EQ(Varint64(127), Bytes({0x7f}));
  EXPECT_EQ(Varint64(128), Bytes({0x80, 0x01}));
  EXPECT_EQ(Varint64(300), Bytes({0xac, 0x02}));
  EXPECT_EQ(Varint64((1 << 14) - 1), Bytes({0xff, 0x7f}));
  EXPECT_EQ(Varint64(1 << 14), Bytes({0x80, 0x80, 0x01}));
  EXPECT_EQ(Varint64(UINT32_MAX), Bytes({0xff, 0xff, 0xff, 0xff, 0x0f}));
  EXPECT_EQ(Varint64(uint64_t{1} << 63),
            Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
  EXPECT_EQ(Varint64(UINT64_MAX),
            Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  std::string s32;
  PutVarint32(&s32, 300);
  EXPECT_EQ(s32, Bytes({0xac, 0x02}));
}

TEST(CodingTest, Varint32RoundTripsBoundaryValues) {
  std::vector<uint32_t> values;
  for (uint64_t v : Boundaries64()) {
    if (v <= UINT32_MAX) values.push_back(static_cast<uint32_t>(v));
  }
  for (uint32_t v = 0; v < (1 << 15); v++) values.push_back(v);
  std::string s;
  for (uint32_t v : values) PutVarint32(&s, v);
  ExactBuffer buf(s);
  std::string_view input = buf.view();
  for (uint32_t expected : values) {
    size_t before = input.size();
    uint32_t actual;
    ASSERT_TRUE(GetVarint32(&input, &actual)) << expected;
    ASSERT_EQ(actual, expected);
    ASSERT_EQ(before - input.size(), static_cast<size_t>(VarintLength(expected))) << expected;
  }
  EXPECT_TRUE(input.empty());
}

TEST(CodingTest, Varint64RoundTripsBoundaryValues) {
  std::string s;
  for (uint64_t v : Boundaries64()) PutVarint64(&s, v);
  ExactBuffer buf(s);
  std::string_view input = buf.view();
  for (uint64_t expected : Boundaries64()) {
    size_t before = input.size();
    uint64_t actual;
    ASSERT_TRUE(GetVarint64(&input, &actual)) << expected;
    ASSERT_EQ(actual, expected);
    ASSERT_EQ(before - input.size(), static_cast<size_t>(VarintLength(expected))) << expected;
  }
  EXPECT_TRUE(input.empty());
}

TEST(CodingTest, EncodeVarintReturnsEndOfWrittenBytes) {
  for (uint64_t v : Boundaries64()) {
    char buf[10];
    char* end = EncodeVarint64(buf, v);
    EXPECT_EQ(end - buf, VarintLength(v)) << v;
    EXPECT_EQ(std::string(buf, end), Varint64(v));
    if (v <= UINT32_MAX) {
      char buf32[5];
      char* end32 = EncodeVarint32(buf32, static_cast<uint32_t>(v));
      EXPECT_EQ(std::string(buf32, end32), Varint64(v)) << v;
    }
  }
}

TEST(CodingTest, VarintLengthCountsSevenBitGroups) {
  EXPECT_EQ(VarintLength(0), 1);
  EXPECT_EQ(VarintLength(127), 1);
  EXPECT_EQ(VarintLength(128), 2);
  EXPECT_EQ(VarintLength((1 << 14) - 1), 2);
  EXPECT_EQ(VarintLength(1 << 14), 3);
  EXPECT_EQ(VarintLength(UINT32_MAX), 5);
  EXPECT_EQ(VarintLength(uint64_t{1} << 32), 5);
  EXPECT_EQ(VarintLength(uint64_t{1} << 35), 6);
  EXPECT_EQ(VarintLength((uint64_t{1} << 63) - 1), 9);
  EXPECT_EQ(VarintLength(uint64_t{1} << 63), 10);
  EXPECT_EQ(VarintLength(UINT64_MAX), 10);
  for (int bits = 1; bits <= 64; bits++) {
    uint64_t v = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
    EXPECT_EQ(VarintLength(v), (bits + 6) / 7) << bits;
  }
}

// Every proper prefix of an encoding ends in a byte with the continuation bit set (or
// is empty), so it must be rejected, and the decoder must stop at the limit.
TEST(CodingTest, VarintDecodersRejectEveryTruncation) {
  for (uint64_t v : Boundaries64()) {
    std::string full = Varint64(v);
    for (size_t len = 0; len < full.size(); len++) {
      ExactBuffer buf(full.substr(0, len));
      uint64_t v64;
      EXPECT_EQ(GetVarint64Ptr(buf.begin(), buf.end(), &v64), nullptr) << v << " len " << len;
      std::string_view input = buf.view();
      EXPECT_FALSE(GetVarint64(&input, &v64));
      uint32_t v32;
      input = buf.view();
      EXPECT_FALSE(GetVarint32(&input, &v32)) << v << " len " << len;
    }
  }
}

TEST(CodingTest, VarintDecodersStopAtLimitInsideLargerBuffer) {
  // The bytes after the limit would complete the varint; the decoder must not look.
  std::string full = Varint64(uint64_t{1} << 40);
  for (size_t limit = 0; limit < full.size(); limit++) {
    uint64_t v;
    EXPECT_EQ(GetVarint64Ptr(full.data(), full.data() + limit, &v), nullptr) << limit;
    uint32_t v32;
    EXPECT_EQ(GetVarint32Ptr(full.data(), full.data() + limit, &v32), nullptr) << limit;
  }
}

TEST(CodingTest, DecodersReturnPointerJustPastTheVarint) {
  std::string s = Varint64(300) + "tail";
  ExactBuffer buf(s);
  uint32_t v32;
  const char* end32 = GetVarint32Ptr(buf.begin(), buf.end(), &v32);
  ASSERT_NE(end32, nullptr);
  EXPECT_EQ(v32, 300u);
  EXPECT_EQ(end32, buf.begin() + 2);
  uint64_t v64;
  const char* end64 = GetVarint64Ptr(buf.begin(), buf.end(), &v64);
  EXPECT_EQ(end64, buf.begin() + 2);
  EXPECT_EQ(v64, 300u);
}

TEST(CodingTest, Varint32RejectsValuesAboveUint32Max) {
  for (uint64_t v : {uint64_t{1} << 32, (uint64_t{1} << 35) - 1, uint64_t{1} << 35, UINT64_MAX}) {
    ExactBuffer buf(Varint64(v));
    uint32_t out;
    EXPECT_EQ(GetVarint32Ptr(buf.begin(), buf.end(), &out), nullptr) << v;
  }
  // Five bytes whose last one carries more than the 4 bits left of 32.
  ExactBuffer five(Bytes({0xff, 0xff, 0xff, 0xff, 0x1f}));
  uint32_t out;
  EXPECT_EQ(GetVarint32Ptr(five.begin(), five.end(), &out), nullptr);
}

TEST(CodingTest, Varint32RejectsEncodingsLongerThanFiveBytes) {
  // Padded encodings of small values: the value fits, the length does not.
  for (size_t continuation_bytes = 5; continuation_bytes <= 9; continuation_bytes++) {
    std::string padded(continuation_bytes, '\x80');
    padded.push_back('\x00');
    ExactBuffer buf(padded);
    uint32_t v32;
    EXPECT_EQ(GetVarint32Ptr(buf.begin(), buf.end(), &v32), nullptr) << padded.size();
  }
  // Five bytes is the limit, even when padded.
  ExactBuffer five(Bytes({0x81, 0x80, 0x80, 0x80, 0x00}));
  uint32_t v32;
  EXPECT_EQ(GetVarint32Ptr(five.begin(), five.end(), &v32), five.end());
  EXPECT_EQ(v32, 1u);
}

TEST(CodingTest, Varint64RejectsOverflow) {
  // Tenth byte may only contribute bit 63.
  for (unsigned char last : {0x02, 0x03, 0x7f}) {
    std::string s(9, '\xff');
    s.push_back(static_cast<char>(last));
    ExactBuffer buf(s);
    uint64_t v;
    EXPECT_EQ(GetVarint64Ptr(buf.begin(), buf.end(), &v), nullptr) << int{last};
  }
  // A tenth byte with the continuation bit: an 11-byte varint.
  std::string eleven(10, '\x80');
  eleven.push_back('\x00');
  ExactBuffer buf11(eleven);
  uint64_t v;
  EXPECT_EQ(GetVarint64Ptr(buf11.begin(), buf11.end(), &v), nullptr);
  // Ten continuation bytes and nothing else.
  ExactBuffer all_continuation(std::string(10, '\xff'));
  EXPECT_EQ(GetVarint64Ptr(all_continuation.begin(), all_continuation.end(), &v), nullptr);
  // A long run of continuation bytes: rejected after at most 10 of them.
  ExactBuffer long_run(std::string(64, '\x80'));
  EXPECT_EQ(GetVarint64Ptr(long_run.begin(), long_run.end(), &v), nullptr);
  // The largest legal tenth byte.
  std::string max(9, '\xff');
  max.push_back('\x01');
  ExactBuffer max_buf(max);
  ASSERT_EQ(GetVarint64Ptr(max_buf.begin(), max_buf.end(), &v), max_buf.end());
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(CodingTest, DecodersOnEmptyInput) {
  uint32_t v32;
  uint64_t v64;
  EXPECT_EQ(GetVarint32Ptr(nullptr, nullptr, &v32), nullptr);
  EXPECT_EQ(GetVarint64Ptr(nullptr, nullptr, &v64), nullptr);
  std::string_view empty;
  EXPECT_FALSE(GetVarint32(&empty, &v32));
  EXPECT_FALSE(GetVarint64(&empty, &v64));
  std::string_view value;
  EXPECT_FALSE(GetLengthPrefixed(&empty, &value));
}

TEST(CodingTest, LengthPrefixedRoundTrip) {
  std::string s;
  std::vector<std::string> values = {"",
                                     "a",
                                     std::string(127, 'x'),
                                     std::string(128, 'y'),
                                     std::string("\0\xff\x80", 3),
                                     std::string(20000, 'z')};
  for (const auto& v : values) PutLengthPrefixed(&s, v);
  EXPECT_EQ(s.substr(0, 2), Bytes({0x00, 0x01}));
  ExactBuffer buf(s);
  std::string_view input = buf.view();
  for (const auto& expected : values) {
    std::string_view actual;
    ASSERT_TRUE(GetLengthPrefixed(&input, &actual));
    EXPECT_EQ(actual, expected);
  }
  EXPECT_TRUE(input.empty());
}

TEST(CodingTest, LengthPrefixedRejectsTruncatedLengthOrBody) {
  std::string s;
  PutLengthPrefixed(&s, std::string(200, 'b'));  // two length bytes, then 200
  for (size_t len = 0; len < s.size(); len++) {
    ExactBuffer buf(s.substr(0, len));
    std::string_view input = buf.view();
    std::string_view value;
    EXPECT_FALSE(GetLengthPrefixed(&input, &value)) << len;
  }
  // A length that claims more than remains, even by far.
  std::string huge;
  PutVarint32(&huge, UINT32_MAX);
  huge += "abc";
  ExactBuffer buf(huge);
  std::string_view input = buf.view();
  std::string_view value;
  EXPECT_FALSE(GetLengthPrefixed(&input, &value));
  // An overlong length varint.
  ExactBuffer overlong(Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}));
  input = overlong.view();
  EXPECT_FALSE(GetLengthPrefixed(&input, &value));
}

TEST(CodingTest, LengthPrefixedValuePointsIntoInput) {
  std::string s;
  PutLengthPrefixed(&s, "hello");
  s += "rest";
  std::string_view input(s);
  std::string_view value;
  ASSERT_TRUE(GetLengthPrefixed(&input, &value));
  EXPECT_EQ(value.data(), s.data() + 1);
  EXPECT_EQ(input, "rest");
}

}  // namespace
}  // namespace strata
