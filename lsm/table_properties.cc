#include "lsm/table_properties.h"

#include <bitset>

#include "lsm/coding.h"

namespace strata {
namespace {

// Tags are part of the file format: never renumber, only add.
enum Tag : uint32_t {
  kFormatVersion = 1,
  kNumEntries = 2,
  kNumDeletions = 3,
  kRawKeyBytes = 4,
  kRawValueBytes = 5,
  kNumDataBlocks = 6,
  kDataBytes = 7,
  kIndexBytes = 8,
  kFilterBytes = 9,
  kSmallestKey = 10,
  kLargestKey = 11,
  kSmallestSequence = 12,
  kLargestSequence = 13,
  kCompression = 14,
  kMaxKnownTag = 14,
};

void PutIntField(std::string* dst, Tag tag, uint64_t v) {
  PutVarint32(dst, tag);
  PutVarint32(dst, static_cast<uint32_t>(VarintLength(v)));
  PutVarint64(dst, v);
}

void PutBytesField(std::string* dst, Tag tag, std::string_view bytes) {
  PutVarint32(dst, tag);
  PutLengthPrefixed(dst, bytes);
}

// The plain counters, encoded and decoded alike.
struct CounterField {
  Tag tag;
  uint64_t TableProperties::*member;
};
constexpr CounterField kCounterFields[] = {
    {kNumEntries, &TableProperties::num_entries},
    {kNumDeletions, &TableProperties::num_deletions},
    {kRawKeyBytes, &TableProperties::raw_key_bytes},
    {kRawValueBytes, &TableProperties::raw_value_bytes},
    {kNumDataBlocks, &TableProperties::num_data_blocks},
    {kDataBytes, &TableProperties::data_bytes},
    {kIndexBytes, &TableProperties::index_bytes},
    {kFilterBytes, &TableProperties::filter_bytes},
    {kSmallestSequence, &TableProperties::smallest_sequence},
    {kLargestSequence, &TableProperties::largest_sequence},
};

}  // namespace

void TableProperties::EncodeTo(std::string* dst) const {
  PutIntField(dst, kFormatVersion, format_version);
  for (const CounterField& field : kCounterFields) PutIntField(dst, field.tag, this->*field.member);
  PutBytesField(dst, kSmallestKey, smallest_key);
  PutBytesField(dst, kLargestKey, largest_key);
  PutIntField(dst, kCompression, static_cast<uint64_t>(compression));
}

Status TableProperties::DecodeFrom(std::string_view input) {
  *this = TableProperties();
  std::bitset<kMaxKnownTag + 1> seen;
  while (!input.empty()) {
    uint32_t tag;
    std::string_view value;
    if (!GetVarint32(&input, &tag) || !GetLengthPrefixed(&input, &value)) {
      return Status::Corruption("table properties: truncated field");
    }
    if (tag == 0 || tag > kMaxKnownTag) continue;  // written by a newer version
    if (seen[tag]) {
      return Status::Corruption("table properties: field " + std::to_string(tag) + " repeated");
    }
    seen[tag] = true;
    if (tag == kSmallestKey) {
      smallest_key.assign(value);
      continue;
    }
    if (tag == kLargestKey) {
      largest_key.assign(value);
      continue;
    }
    uint64_t v;
    if (!GetVarint64(&value, &v) || !value.empty()) {
      return Status::Corruption("table properties: field " + std::to_string(tag) +
                                " is not one varint");
    }
    if (tag == kFormatVersion) {
      if (v > UINT32_MAX) return Status::Corruption("table properties: bad format version");
      format_version = static_cast<uint32_t>(v);
    } else if (tag == kCompression) {
      if (v != static_cast<uint64_t>(CompressionType::kNone) &&
          v != static_cast<uint64_t>(CompressionType::kZstd) &&
          v != static_cast<uint64_t>(CompressionType::kLz4)) {
        return Status::Corruption("table properties: unknown compression type");
      }
      compression = static_cast<CompressionType>(v);
    } else {
      for (const CounterField& field : kCounterFields) {
        if (field.tag == tag) this->*field.member = v;
      }
    }
  }
  return Status::OK();
}

}  // namespace strata
