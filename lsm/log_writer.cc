#include "lsm/log_writer.h"

#include <algorithm>

#include "lsm/coding.h"
#include "lsm/crc32c.h"

namespace strata::log {

static void InitTypeCrcs(uint32_t* type_crc) {
  for (int i = 0; i <= kMaxRecordType; i++) {
    const char t = static_cast<char>(i);
    type_crc[i] = crc32c::Value(&t, 1);
  }
}

Writer::Writer(WritableFile* dest) : Writer(dest, 0) {}

Writer::Writer(WritableFile* dest, uint64_t dest_length)
    : dest_(dest), block_offset_(static_cast<size_t>(dest_length % kBlockSize)) {
  InitTypeCrcs(type_crc_);
}

Status Writer::AddRecord(std::string_view record) {
  if (!error_.ok()) return error_;

  const char* ptr = record.data();
  size_t left = record.size();
  // An empty record still gets one (empty) FULL fragment, hence do/while.
  bool begin = true;
  Status s;
  do {
    const size_t leftover = kBlockSize - block_offset_;
    if (leftover < kHeaderSize) {
      // No fragment fits in the block's tail: zero it so readers skip it.
      if (leftover > 0) {
        static constexpr char kZeros[kHeaderSize - 1] = {};
        s = dest_->Append(std::string_view(kZeros, leftover));
        if (!s.ok()) break;
      }
      block_offset_ = 0;
    }

    const size_t available = kBlockSize - block_offset_ - kHeaderSize;
    const size_t fragment_length = std::min(left, available);
    const bool end = (left == fragment_length);
    RecordType type;
    if (begin && end) {
      type = kFullType;
    } else if (begin) {
      type = kFirstType;
    } else if (end) {
      type = kLastType;
    } else {
      type = kMiddleType;
    }

    s = EmitFragment(type, ptr, fragment_length);
    ptr += fragment_length;
    left -= fragment_length;
    begin = false;
  } while (s.ok() && left > 0);

  if (s.ok()) s = dest_->Flush();
  if (!s.ok()) error_ = s;
  return s;
}

Status Writer::EmitFragment(RecordType type, const char* data, size_t length) {
  // kBlockSize - kHeaderSize < 65536, so the length always fits its two bytes.
  static_assert(kBlockSize - kHeaderSize <= 0xffff);

  char header[kHeaderSize];
  const uint32_t crc = crc32c::Extend(type_crc_[type], data, length);
  EncodeFixed32(header, crc32c::Mask(crc));
  header[4] = static_cast<char>(length & 0xff);
  header[5] = static_cast<char>(length >> 8);
  header[6] = static_cast<char>(type);

  Status s = dest_->Append(std::string_view(header, kHeaderSize));
  if (s.ok()) s = dest_->Append(std::string_view(data, length));
  block_offset_ += kHeaderSize + length;
  return s;
}

}  // namespace strata::log
