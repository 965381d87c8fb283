#include "lsm/table_format.h"

#include <lz4.h>
#include <zstd.h>

#include <climits>
#include <memory>

#include "lsm/coding.h"
#include "lsm/crc32c.h"

namespace strata {
namespace {

// A zstd block (at most 128 KiB of output) takes at least 4 bytes of input (3-byte
// header + 1 RLE byte), so no valid frame expands by more than this factor. Bounding
// the frame's claimed content size by it keeps a lying frame from making us allocate
// without limit.
constexpr uint64_t kZstdMaxExpansion = 32768;
// An lz4 sequence turns at least 3 bytes of input (token, 2-byte offset) into at most
// 19 bytes of match (plus literals copied 1:1), and each further length byte into at
// most 255, so no valid lz4 block expands by more than this factor.
constexpr uint64_t kLz4MaxExpansion = 255;
// Restart offsets inside a block are fixed32, so no block is larger.
constexpr uint64_t kMaxBlockSize = UINT32_MAX;
// ReadBlock's per-thread buffer is kept between reads up to this capacity.
constexpr size_t kMaxRetainedReadBuffer = 256 * 1024;

struct ZstdContextDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// zstd contexts are large (hundreds of KiB) and reusable: one per thread, not one per
// block.
ZSTD_CCtx* ThreadCompressionContext() {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdContextDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}

ZSTD_DCtx* ThreadDecompressionContext() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdContextDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

Status BlockCorruption(std::string_view file_name, const BlockHandle& handle,
                       std::string_view what) {
  std::string msg(file_name);
  msg += ": block at offset ";
  msg += std::to_string(handle.offset);
  msg += " size ";
  msg += std::to_string(handle.size);
  msg += ": ";
  msg += what;
  return Status::Corruption(msg);
}

Status ZstdDecompress(std::string_view input, std::string_view file_name, const BlockHandle& handle,
                      std::string* output) {
  unsigned long long claimed = ZSTD_getFrameContentSize(input.data(), input.size());
  if (claimed == ZSTD_CONTENTSIZE_ERROR || claimed == ZSTD_CONTENTSIZE_UNKNOWN) {
    return BlockCorruption(file_name, handle, "bad zstd frame header");
  }
  if (claimed > kMaxBlockSize || claimed > input.size() * kZstdMaxExpansion) {
    return BlockCorruption(file_name, handle, "implausible zstd content size");
  }
  output->resize(claimed);
  ZSTD_DCtx* ctx = ThreadDecompressionContext();
  if (ctx == nullptr) return Status::IOError("out of memory for a zstd context");
  size_t n = ZSTD_decompressDCtx(ctx, output->data(), output->size(), input.data(), input.size());
  if (ZSTD_isError(n)) {
    return BlockCorruption(file_name, handle, std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  if (n != claimed) return BlockCorruption(file_name, handle, "zstd content size mismatch");
  return Status::OK();
}

// input: varint32 uncompressed size | lz4 block (Lz4Compress).
Status Lz4Decompress(std::string_view input, std::string_view file_name, const BlockHandle& handle,
                     std::string* output) {
  uint32_t claimed;
  if (!GetVarint32(&input, &claimed)) {
    return BlockCorruption(file_name, handle, "bad lz4 size prefix");
  }
  // LZ4_decompress_safe takes int sizes.
  if (claimed > INT_MAX || input.size() > INT_MAX || claimed > input.size() * kLz4MaxExpansion) {
    return BlockCorruption(file_name, handle, "implausible lz4 content size");
  }
  output->resize(claimed);
  int n = LZ4_decompress_safe(input.data(), output->data(), static_cast<int>(input.size()),
                              static_cast<int>(claimed));
  if (n < 0) return BlockCorruption(file_name, handle, "malformed lz4 block");
  if (static_cast<uint32_t>(n) != claimed) {
    return BlockCorruption(file_name, handle, "lz4 content size mismatch");
  }
  return Status::OK();
}

}  // namespace

void BlockHandle::EncodeTo(std::string* dst) const {
  PutVarint64(dst, offset);
  PutVarint64(dst, size);
}

bool BlockHandle::DecodeFrom(std::string_view* input) {
  return GetVarint64(input, &offset) && GetVarint64(input, &size);
}

uint64_t BlockHandle::EndWithTrailer() const {
  if (offset > UINT64_MAX - kBlockTrailerSize || size > UINT64_MAX - kBlockTrailerSize - offset) {
    return UINT64_MAX;
  }
  return offset + size + kBlockTrailerSize;
}

void Footer::EncodeTo(std::string* dst) const {
  size_t start = dst->size();
  for (const BlockHandle* h : {&filter_handle, &properties_handle, &index_handle}) {
    PutFixed64(dst, h->offset);
    PutFixed64(dst, h->size);
  }
  PutFixed32(dst, format_version);
  PutFixed32(dst, crc32c::Mask(crc32c::Value(dst->data() + start, dst->size() - start)));
  PutFixed64(dst, kTableMagicNumber);
}

Status Footer::DecodeFrom(std::string_view input, std::string_view file_name) {
  std::string prefix(file_name);
  prefix += ": table footer: ";
  if (input.size() != kEncodedLength) return Status::Corruption(prefix + "wrong size");
  const char* p = input.data();
  // Magic first (is this a table at all?), then the version (a newer format may lay out
  // the rest differently), then the checksum.
  if (DecodeFixed64(p + 56) != kTableMagicNumber) {
    return Status::Corruption(prefix + "bad magic number (not a strata table)");
  }
  uint32_t version = DecodeFixed32(p + 48);
  if (version < kOldestReadableTableFormatVersion || version > kTableFormatVersion) {
    return Status::Corruption(prefix + "unsupported format version " + std::to_string(version));
  }
  uint32_t expected = crc32c::Unmask(DecodeFixed32(p + 52));
  if (crc32c::Value(p, 52) != expected) return Status::Corruption(prefix + "checksum mismatch");
  BlockHandle* handles[] = {&filter_handle, &properties_handle, &index_handle};
  for (int i = 0; i < 3; i++) {
    handles[i]->offset = DecodeFixed64(p + 16 * i);
    handles[i]->size = DecodeFixed64(p + 16 * i + 8);
  }
  format_version = version;
  return Status::OK();
}

void AppendBlockTrailer(std::string_view contents, CompressionType type, std::string* dst) {
  char trailer[kBlockTrailerSize];
  trailer[0] = static_cast<char>(type);
  uint32_t crc = crc32c::Extend(crc32c::Value(contents), trailer, 1);
  EncodeFixed32(trailer + 1, crc32c::Mask(crc));
  dst->append(trailer, kBlockTrailerSize);
}

bool ZstdCompress(std::string_view input, int level, std::string* output) {
  ZSTD_CCtx* ctx = ThreadCompressionContext();
  if (ctx == nullptr) return false;
  output->resize(ZSTD_compressBound(input.size()));
  size_t n =
      ZSTD_compressCCtx(ctx, output->data(), output->size(), input.data(), input.size(), level);
  if (ZSTD_isError(n)) return false;
  output->resize(n);
  return true;
}

bool Lz4Compress(std::string_view input, std::string* output) {
  if (input.size() > LZ4_MAX_INPUT_SIZE) return false;
  const int src_size = static_cast<int>(input.size());
  output->clear();
  PutVarint32(output, static_cast<uint32_t>(input.size()));
  const size_t prefix = output->size();
  output->resize(prefix + static_cast<size_t>(LZ4_compressBound(src_size)));
  int n = LZ4_compress_default(input.data(), output->data() + prefix, src_size,
                               static_cast<int>(output->size() - prefix));
  if (n <= 0) return false;
  output->resize(prefix + static_cast<size_t>(n));
  return true;
}

Status CheckBlockHandle(std::string_view file_name, uint64_t blocks_end,
                        const BlockHandle& handle) {
  uint64_t end = handle.EndWithTrailer();
  if (end > blocks_end) return BlockCorruption(file_name, handle, "extends past the data area");
  if (handle.size > kMaxBlockSize) return BlockCorruption(file_name, handle, "too large");
  return Status::OK();
}

namespace {

// Checks raw (contents + trailer, exactly) against its checksum.
Status VerifyRawBlock(std::string_view raw, std::string_view file_name, const BlockHandle& handle) {
  const size_t n = static_cast<size_t>(handle.size);
  if (raw.size() != n + kBlockTrailerSize) {
    return BlockCorruption(file_name, handle, "truncated read");
  }
  uint32_t stored = crc32c::Unmask(DecodeFixed32(raw.data() + n + 1));
  if (crc32c::Value(raw.data(), n + 1) != stored) {
    return BlockCorruption(file_name, handle, "block checksum mismatch");
  }
  return Status::OK();
}

}  // namespace

Status DecodeBlock(std::string_view raw, std::string_view file_name, const BlockHandle& handle,
                   std::string* contents) {
  Status s = VerifyRawBlock(raw, file_name, handle);
  if (!s.ok()) return s;
  const size_t n = static_cast<size_t>(handle.size);
  switch (static_cast<CompressionType>(raw[n])) {
    case CompressionType::kNone:
      contents->assign(raw.data(), n);
      return Status::OK();
    case CompressionType::kZstd:
      return ZstdDecompress(raw.substr(0, n), file_name, handle, contents);
    case CompressionType::kLz4:
      return Lz4Decompress(raw.substr(0, n), file_name, handle, contents);
  }
  return BlockCorruption(
      file_name, handle,
      "unknown compression type " + std::to_string(static_cast<uint8_t>(raw[n])));
}

Status ReadBlock(const RandomAccessFile& file, std::string_view file_name, uint64_t blocks_end,
                 const BlockHandle& handle, std::string* contents) {
  Status s = CheckBlockHandle(file_name, blocks_end, handle);
  if (!s.ok()) return s;

  const size_t n = static_cast<size_t>(handle.size);
  // Reused: a compressed block's raw bytes are only needed until they are decompressed,
  // so most reads need no allocation for them (nor zeroing, once the buffer has grown).
  // Not kept when a big block (an index or filter) made it big.
  thread_local std::string buffer;
  struct TrimOnExit {
    ~TrimOnExit() {
      if (buffer.capacity() > kMaxRetainedReadBuffer) std::string().swap(buffer);
    }
  } trim;
  buffer.resize(n + kBlockTrailerSize);
  std::string_view read;
  s = file.Read(handle.offset, buffer.size(), &read, buffer.data());
  if (!s.ok()) return s;
  if (read.data() == buffer.data() && read.size() == buffer.size() &&
      static_cast<CompressionType>(read[n]) == CompressionType::kNone) {
    // Raw and in our buffer: hand the buffer over rather than copy it (the next read
    // grows a new one).
    s = VerifyRawBlock(read, file_name, handle);
    if (!s.ok()) return s;
    buffer.resize(n);
    contents->swap(buffer);
    buffer.clear();
    return Status::OK();
  }
  return DecodeBlock(read, file_name, handle, contents);
}

}  // namespace strata
