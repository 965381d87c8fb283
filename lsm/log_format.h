// Log format: the record framing shared by the write-ahead log and the MANIFEST.
// A log is a sequence of 32 KiB blocks; each logical record is stored as one or more
// checksummed fragments, and no fragment crosses a block boundary, so a reader can
// always find fragment boundaries again at the start of a block. The byte layout and
// the rules a reader applies to damaged logs are specified in docs/log_format.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata::log {

// The type byte of a fragment header. Types above kMaxRecordType are reserved: a
// reader treats them as damage, so a future format change cannot be misread silently.
enum RecordType : uint8_t {
  // Never written. Zero-filled space (preallocated, or lost on power loss) reads as
  // this type.
  kZeroType = 0,
  kFullType = 1,  // a whole logical record
  // A logical record split over blocks: FIRST ends its block, every MIDDLE fills a
  // whole block, LAST starts a block.
  kFirstType = 2,
  kMiddleType = 3,
  kLastType = 4,
};
inline constexpr int kMaxRecordType = kLastType;

inline constexpr size_t kBlockSize = 32768;

// Header of every fragment: masked CRC32C of type + payload (4 bytes, little-endian),
// payload length (2 bytes, little-endian), type (1 byte).
inline constexpr size_t kHeaderSize = 4 + 2 + 1;

}  // namespace strata::log
