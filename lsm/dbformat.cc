#include "lsm/dbformat.h"

#include <algorithm>
#include <cstring>

#include "lsm/bloom_filter.h"

namespace strata {
namespace {

class BytewiseComparatorImpl final : public Comparator {
 public:
  int Compare(std::string_view a, std::string_view b) const override { return a.compare(b); }

  void FindShortestSeparator(std::string* start, std::string_view limit) const override {
    size_t min_length = std::min(start->size(), limit.size());
    size_t diff = 0;
    while (diff < min_length && (*start)[diff] == limit[diff]) diff++;
    if (diff >= min_length) return;  // one is a prefix of the other
    auto byte = static_cast<uint8_t>((*start)[diff]);
    if (byte < 0xff && byte + 1 < static_cast<uint8_t>(limit[diff])) {
      (*start)[diff] = static_cast<char>(byte + 1);
      start->resize(diff + 1);
    }
  }

  void FindShortSuccessor(std::string* key) const override {
    for (size_t i = 0; i < key->size(); i++) {
      auto byte = static_cast<uint8_t>((*key)[i]);
      if (byte != 0xff) {
        (*key)[i] = static_cast<char>(byte + 1);
        key->resize(i + 1);
        return;
      }
    }
  }
};

}  // namespace

const Comparator* BytewiseComparator() {
  static const BytewiseComparatorImpl comparator;
  return &comparator;
}

const InternalKeyComparator* GetInternalKeyComparator() {
  static const InternalKeyComparator comparator;
  return &comparator;
}

void InternalKeyComparator::FindShortestSeparator(std::string* start,
                                                  std::string_view limit) const {
  std::string_view user_start = ExtractUserKey(*start);
  std::string_view user_limit = ExtractUserKey(limit);
  std::string tmp(user_start);
  BytewiseComparator()->FindShortestSeparator(&tmp, user_limit);
  if (tmp.size() < user_start.size() && user_start.compare(tmp) < 0) {
    // A physically shorter but logically larger user key: give it the earliest
    // possible trailer so it still sorts before limit.
    PutFixed64(&tmp, PackSequenceAndType(kMaxSequenceNumber, kValueTypeForSeek));
    start->swap(tmp);
  }
}

void InternalKeyComparator::FindShortSuccessor(std::string* key) const {
  std::string_view user_key = ExtractUserKey(*key);
  std::string tmp(user_key);
  BytewiseComparator()->FindShortSuccessor(&tmp);
  if (tmp.size() < user_key.size() && user_key.compare(tmp) < 0) {
    PutFixed64(&tmp, PackSequenceAndType(kMaxSequenceNumber, kValueTypeForSeek));
    key->swap(tmp);
  }
}

LookupKey::LookupKey(std::string_view user_key, SequenceNumber sequence) {
  const size_t internal_size = user_key.size() + kInternalKeyTrailerSize;
  const size_t needed = VarintLength(internal_size) + internal_size;
  char* dst = inline_;
  if (needed > kInlineSize) {
    heap_.reset(new char[needed]);
    dst = heap_.get();
  }
  char* p = EncodeVarint32(dst, static_cast<uint32_t>(internal_size));
  prefix_ = static_cast<size_t>(p - dst);
  if (!user_key.empty()) std::memcpy(p, user_key.data(), user_key.size());
  EncodeFixed64(p + user_key.size(), PackSequenceAndType(sequence, kValueTypeForSeek));
  start_ = dst;
  size_ = needed;
  user_key_hash_ = BloomHash(user_key);
}

}  // namespace strata
