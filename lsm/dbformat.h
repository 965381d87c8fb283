// Internal keys: how the engine tells versions of one user key apart.
//
//   internal key = user_key | fixed64(sequence << 8 | type)
//
// Ordered by user key ascending (memcmp), then by sequence descending, so the newest
// version of a key comes first and a seek to (key, snapshot) lands on the newest
// version visible at that snapshot.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "lsm/coding.h"

namespace strata {

using SequenceNumber = uint64_t;

// Sequence numbers use 56 bits so that sequence and type pack into 8 bytes.
constexpr SequenceNumber kMaxSequenceNumber = (uint64_t{1} << 56) - 1;

enum class ValueType : uint8_t { kDeletion = 0, kValue = 1 };
// Seeking to (key, seq) must find entries of every type at seq: use the highest type.
constexpr ValueType kValueTypeForSeek = ValueType::kValue;

constexpr size_t kInternalKeyTrailerSize = 8;

inline uint64_t PackSequenceAndType(SequenceNumber seq, ValueType type) {
  return (seq << 8) | static_cast<uint64_t>(type);
}

struct ParsedInternalKey {
  std::string_view user_key;
  SequenceNumber sequence = 0;
  ValueType type = ValueType::kValue;
};

inline void AppendInternalKey(std::string* dst, std::string_view user_key, SequenceNumber seq,
                              ValueType type) {
  dst->append(user_key.data(), user_key.size());
  PutFixed64(dst, PackSequenceAndType(seq, type));
}

// False if the key is too short or has an unknown type.
inline bool ParseInternalKey(std::string_view internal_key, ParsedInternalKey* result) {
  if (internal_key.size() < kInternalKeyTrailerSize) return false;
  uint64_t trailer = DecodeFixed64(internal_key.data() + internal_key.size() - 8);
  uint8_t type = trailer & 0xff;
  if (type > static_cast<uint8_t>(ValueType::kValue)) return false;
  result->user_key = internal_key.substr(0, internal_key.size() - 8);
  result->sequence = trailer >> 8;
  result->type = static_cast<ValueType>(type);
  return true;
}

// Requires internal_key.size() >= 8.
inline std::string_view ExtractUserKey(std::string_view internal_key) {
  return internal_key.substr(0, internal_key.size() - kInternalKeyTrailerSize);
}
inline uint64_t ExtractTrailer(std::string_view internal_key) {
  return DecodeFixed64(internal_key.data() + internal_key.size() - kInternalKeyTrailerSize);
}

// Orders byte strings. Tables and blocks are generic over it: tables hold internal keys
// (InternalKeyComparator), while tests may use plain byte keys (BytewiseComparator).
class Comparator {
 public:
  virtual ~Comparator() = default;
  virtual int Compare(std::string_view a, std::string_view b) const = 0;
  // Shortens *start to a key k with start <= k < limit, to keep index blocks small.
  virtual void FindShortestSeparator(std::string* start, std::string_view limit) const = 0;
  // Shortens *key to a key k >= key.
  virtual void FindShortSuccessor(std::string* key) const = 0;
};

const Comparator* BytewiseComparator();

// memcmp order of a and b (then the shorter first), inline for short keys: most user keys
// are a few dozen bytes, where a call to memcmp costs more than comparing 8 bytes at a
// time here (big-endian loads compare like the bytes they hold).
inline int CompareUserKeys(std::string_view a, std::string_view b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  if (n > 64) {
    int r = std::memcmp(a.data(), b.data(), n);
    if (r != 0) return r;
  } else {
    static_assert(std::endian::native == std::endian::little);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a.data() + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    }
    if (i + 4 <= n) {
      uint32_t x, y;
      std::memcpy(&x, a.data() + i, 4);
      std::memcpy(&y, b.data() + i, 4);
      if (x != y) return __builtin_bswap32(x) < __builtin_bswap32(y) ? -1 : 1;
      i += 4;
    }
    for (; i < n; i++) {
      const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
      if (x != y) return x < y ? -1 : 1;
    }
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// The internal key order (user key ascending, then sequence and type descending), inline
// for the hot loops that know they compare internal keys. Both must be >= 8 bytes.
inline int CompareInternalKeys(std::string_view a, std::string_view b) {
  int r = CompareUserKeys(ExtractUserKey(a), ExtractUserKey(b));
  if (r != 0) return r;
  uint64_t ta = ExtractTrailer(a), tb = ExtractTrailer(b);
  return ta > tb ? -1 : (ta < tb ? 1 : 0);
}

class InternalKeyComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    return CompareInternalKeys(a, b);
  }
  void FindShortestSeparator(std::string* start, std::string_view limit) const override;
  void FindShortSuccessor(std::string* key) const override;
};

const InternalKeyComparator* GetInternalKeyComparator();

// The key the memtable is searched with: varint32(internal key length) | internal key,
// for (user_key, snapshot sequence). Short keys are built in place, so a Get allocates
// nothing for its lookup key.
class LookupKey {
 public:
  LookupKey(std::string_view user_key, SequenceNumber sequence);
  LookupKey(const LookupKey&) = delete;  // start_ may point into this object
  LookupKey& operator=(const LookupKey&) = delete;

  std::string_view memtable_key() const { return std::string_view(start_, size_); }
  std::string_view internal_key() const { return memtable_key().substr(prefix_); }
  std::string_view user_key() const {
    return std::string_view(start_ + prefix_, size_ - prefix_ - kInternalKeyTrailerSize);
  }
  // BloomHash(user_key()), computed once: a get checks the memtables' key filters and
  // the filter of every table it probes with it.
  uint64_t user_key_hash() const { return user_key_hash_; }

 private:
  static constexpr size_t kInlineSize = 128;

  char inline_[kInlineSize];
  std::unique_ptr<char[]> heap_;  // for keys that do not fit inline_
  const char* start_;
  size_t size_;
  size_t prefix_;  // bytes of the varint32 length
  uint64_t user_key_hash_;
};

}  // namespace strata
