// The framing of an SSTable file (docs/table_format.md): block handles, the fixed-size
// footer, and the one function that reads a block from disk. Every block (data, filter,
// properties, index) is followed on disk by a 5-byte trailer:
//
//   compression type (1 byte) | fixed32 masked CRC32C(block contents | type byte)
//
// ReadBlock is the single path from file bytes to block contents, so a block cache can
// be put in front of it without touching the callers' decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "strata/env.h"
#include "strata/status.h"

namespace strata {

// The on-disk format version this code writes. Version 2 added the blocked bloom filter
// layout and lz4 blocks (docs/table_format.md); version 1 tables have neither and are
// still read.
constexpr uint32_t kTableFormatVersion = 2;
constexpr uint32_t kOldestReadableTableFormatVersion = 1;

// The file's last 8 bytes, little-endian: 89 'S' 'T' 'R' 'A' 'T' 'A' 0a. The high-bit
// byte and the newline make 7-bit and line-ending mangling visible.
constexpr uint64_t kTableMagicNumber = 0x0a41544152545389ull;

// The block trailer's type byte: how a block's contents are stored.
enum class CompressionType : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };

// 1 byte type + 4 bytes masked CRC32C.
constexpr size_t kBlockTrailerSize = 5;

// Where a block lives: its offset in the file and the size of its contents, not
// counting the trailer that follows them.
struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;

  // varint64 offset | varint64 size (at most 20 bytes); used in index block values.
  static constexpr size_t kMaxEncodedLength = 20;
  void EncodeTo(std::string* dst) const;
  // Consumes a handle from the front of *input; false if it is truncated or malformed.
  bool DecodeFrom(std::string_view* input);

  // The offset just past this block's trailer, or UINT64_MAX if that overflows.
  uint64_t EndWithTrailer() const;
};

// The last kEncodedLength bytes of every table. Handles are stored as fixed64 pairs so
// the footer has one size whatever the offsets are.
struct Footer {
  BlockHandle filter_handle;  // size 0 = the table has no filter
  BlockHandle properties_handle;
  BlockHandle index_handle;
  uint32_t format_version = kTableFormatVersion;

  // 3 handles * 16 + version 4 + crc 4 + magic 8.
  static constexpr size_t kEncodedLength = 64;

  void EncodeTo(std::string* dst) const;
  // input must be exactly kEncodedLength bytes. Checks the magic number, the format
  // version and the footer's checksum; errors are Corruption and name file_name.
  Status DecodeFrom(std::string_view input, std::string_view file_name);
};

// Reads the block at handle from file, verifies its checksum and decompresses it into
// *contents (the block's uncompressed bytes, without trailer). blocks_end is the offset
// no block may extend past (the footer's start): a handle reaching beyond it, a short
// read, a checksum mismatch, an unknown compression type or an undecodable zstd frame or
// lz4 payload is Corruption naming file_name. Safe to call concurrently on one file.
Status ReadBlock(const RandomAccessFile& file, std::string_view file_name, uint64_t blocks_end,
                 const BlockHandle& handle, std::string* contents);

// ReadBlock in two steps, for readers that fetch several blocks with one read: the
// handle's bounds check, then the checksum check and decompression of raw, the block's
// bytes as read (contents and trailer; any other size is a truncated read). Errors as
// ReadBlock's.
Status CheckBlockHandle(std::string_view file_name, uint64_t blocks_end, const BlockHandle& handle);
Status DecodeBlock(std::string_view raw, std::string_view file_name, const BlockHandle& handle,
                   std::string* contents);

// The trailer for contents stored with type: type byte, then the masked CRC32C of
// contents followed by the type byte.
void AppendBlockTrailer(std::string_view contents, CompressionType type, std::string* dst);

// zstd at level into *output; false if zstd failed (the caller stores the block raw).
bool ZstdCompress(std::string_view input, int level, std::string* output);

// lz4 (block format, default acceleration) into *output as varint32 uncompressed size |
// lz4 block: the lz4 block format records no size, and the reader must know it to
// bound its allocation. False if lz4 failed (input over LZ4_MAX_INPUT_SIZE); the caller
// stores the block raw.
bool Lz4Compress(std::string_view input, std::string* output);

}  // namespace strata
