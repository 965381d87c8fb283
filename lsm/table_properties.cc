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

bool ParseInt(std::string_view value, uint64_t* v) {
  return GetVarint64(&value, v) && value.empty();
}

}  // namespace

void TableProperties::EncodeTo(std::string* dst) const {
  PutIntField(dst, kFormatVersion, format_version);
  PutIntField(dst, kNumEntries, num_entries);
  PutIntField(dst, kNumDeletions, num_deletions);
  PutIntField(dst, kRawKeyBytes, raw_key_bytes);
  PutIntField(dst, kRawValueBytes, raw_value_bytes);
  PutIntField(dst, kNumDataBlocks, num_data_blocks);
  PutIntField(dst, kDataBytes, data_bytes);
  PutIntField(dst, kIndexBytes, index_bytes);
  PutIntField(dst, kFilterBytes, filter_bytes);
  PutBytesField(dst, kSmallestKey, smallest_key);
  PutBytesField(dst, kLargestKey, largest_key);
  PutIntField(dst, kSmallestSequence, smallest_sequence);
  PutIntField(dst, kLargestSequence, largest_sequence);
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
    if (!ParseInt(value, &v)) {
      return Status::Corruption("table properties: field " + std::to_string(tag) +
                                " is not a varint");
    }
    switch (tag) {
      case kFormatVersion:
        if (v > UINT32_MAX) return Status::Corruption("table properties: bad format version");
        format_version = static_cast<uint32_t>(v);
        break;
      case kNumEntries: num_entries = v; break;
      case kNumDeletions: num_deletions = v; break;
      case kRawKeyBytes: raw_key_bytes = v; break;
      case kRawValueBytes: raw_value_bytes = v; break;
      case kNumDataBlocks: num_data_blocks = v; break;
      case kDataBytes: data_bytes = v; break;
      case kIndexBytes: index_bytes = v; break;
      case kFilterBytes: filter_bytes = v; break;
      case kSmallestSequence: smallest_sequence = v; break;
      case kLargestSequence: largest_sequence = v; break;
      case kCompression:
        if (v != static_cast<uint64_t>(CompressionType::kNone) &&
            v != static_cast<uint64_t>(CompressionType::kZstd)) {
          return Status::Corruption("table properties: unknown compression type");
        }
        compression = static_cast<CompressionType>(v);
        break;
    }
  }
  return Status::OK();
}

}  // namespace strata
