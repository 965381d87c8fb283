// Internal keys: how the engine tells versions of one user key apart.
//
//   internal key = user_key | fixed64(sequence << 8 | type)
//
// Ordered by user key ascending (memcmp), then by sequence descending, so the newest
// version of a key comes first and a seek to (key, snapshot) lands on the newest
// version visible at that snapshot.
#pragma once

#include <cstdint>
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

class InternalKeyComparator final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override {
    int r = ExtractUserKey(a).compare(ExtractUserKey(b));
    if (r != 0) return r;
    uint64_t ta = ExtractTrailer(a), tb = ExtractTrailer(b);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
  }
  void FindShortestSeparator(std::string* start, std::string_view limit) const override;
  void FindShortSuccessor(std::string* key) const override;
};

const InternalKeyComparator* GetInternalKeyComparator();

// The key the memtable is searched with: varint32(internal key length) | internal key,
// for (user_key, snapshot sequence).
class LookupKey {
 public:
  LookupKey(std::string_view user_key, SequenceNumber sequence);
  std::string_view memtable_key() const { return data_; }
  std::string_view internal_key() const { return std::string_view(data_).substr(prefix_); }
  std::string_view user_key() const {
    return std::string_view(data_).substr(prefix_, data_.size() - prefix_ - 8);
  }

 private:
  std::string data_;
  size_t prefix_;
};

}  // namespace strata
