#include "lsm/log_reader.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "lsm/coding.h"
#include "lsm/crc32c.h"

namespace strata::log {

namespace {

// A rescan_from that is never before a break in the chain of fragments.
constexpr size_t kNoRescan = kBlockSize;

const char* TypeName(RecordType type) {
  switch (type) {
    case kFullType:
      return "FULL";
    case kFirstType:
      return "FIRST";
    case kMiddleType:
      return "MIDDLE";
    case kLastType:
      return "LAST";
    case kZeroType:
      break;
  }
  return "zero";
}

// A cheap test, before any checksum, of whether a FULL or FIRST fragment could start
// at pos: while trying every byte of garbage this rejects all but a few offsets.
bool MayStartRecord(std::string_view block, size_t pos) {
  if (block.size() - pos < kHeaderSize) return false;
  const char* header = block.data() + pos;
  const size_t length =
      static_cast<uint8_t>(header[4]) | (size_t{static_cast<uint8_t>(header[5])} << 8);
  const size_t end = pos + kHeaderSize + length;
  switch (static_cast<uint8_t>(header[6])) {
    case kFullType:
      return end <= block.size();
    case kFirstType:
      return end == kBlockSize && end <= block.size();
    default:
      return false;
  }
}

}  // namespace

Reader::Reader(SequentialFile* file, std::string file_name_for_errors)
    : file_(file),
      file_name_(std::move(file_name_for_errors)),
      backing_store_(new char[kBlockSize]) {}

// Requires pos to be a header position (kBlockSize - pos >= kHeaderSize) with at least
// one byte of block after it.
Reader::Fragment Reader::DecodeFragment(std::string_view block, size_t pos, DecodedFragment* out) {
  if (block.size() - pos < kHeaderSize) return Fragment::kTruncated;
  const char* header = block.data() + pos;
  const auto type = static_cast<uint8_t>(header[6]);
  const size_t length =
      static_cast<uint8_t>(header[4]) | (size_t{static_cast<uint8_t>(header[5])} << 8);
  out->type = static_cast<RecordType>(type);
  out->length = length;

  // Cheapest checks first: the damage scan calls this at every byte offset.
  if (type == kZeroType) return Fragment::kZeroType;
  if (type > kMaxRecordType) return Fragment::kBadType;
  if (length > kBlockSize - pos - kHeaderSize) return Fragment::kBadLength;
  if (length > block.size() - pos - kHeaderSize) return Fragment::kTruncated;

  const uint32_t expected = crc32c::Unmask(DecodeFixed32(header));
  const uint32_t actual = crc32c::Value(header + 6, 1 + length);  // type + payload
  if (actual != expected) return Fragment::kBadChecksum;
  out->payload = std::string_view(header + kHeaderSize, length);

  // The writer splits a record only where a block ends, which fixes where the
  // pieces of a split record can be.
  const bool starts_block = (pos == 0);
  const bool ends_block = (pos + kHeaderSize + length == kBlockSize);
  bool placed_right = true;
  switch (type) {
    case kFirstType:
      placed_right = ends_block;
      break;
    case kMiddleType:
      placed_right = starts_block && ends_block;
      break;
    case kLastType:
      placed_right = starts_block;
      break;
    default:
      break;
  }
  return placed_right ? Fragment::kValid : Fragment::kBadPlacement;
}

bool Reader::ReadBlock() {
  // Only a full block can be followed by another one.
  if (have_block_) block_file_offset_ += kBlockSize;
  char* const buf = backing_store_.get();
  size_t got = 0;
  // Loop rather than trust one read to fill the block: a file may return fewer bytes
  // than asked for before its end; an empty read is the end.
  while (got < kBlockSize) {
    std::string_view chunk;
    Status s = file_->Read(kBlockSize - got, &chunk, buf + got);
    if (!s.ok()) {
      status_ = s;
      return false;
    }
    if (chunk.empty()) break;
    const size_t n = std::min(chunk.size(), kBlockSize - got);
    if (chunk.data() != buf + got) std::memmove(buf + got, chunk.data(), n);
    got += n;
  }
  block_ = std::string_view(buf, got);
  have_block_ = true;
  pos_ = 0;
  return true;
}

Reader::Next Reader::SeekFragment() {
  for (;;) {
    if (have_block_ && kBlockSize - pos_ >= kHeaderSize) {
      // A short block is the file's last; its end is the end of the log.
      return pos_ < block_.size() ? Next::kFragment : Next::kEndOfFile;
    }
    // The rest of the block is the zero trailer (or there is no block yet).
    if (have_block_ && block_.size() < kBlockSize) return Next::kEndOfFile;
    if (!ReadBlock()) return Next::kReadError;
  }
}

bool Reader::ReadRecord(std::string_view* record, std::string* scratch) {
  scratch->clear();
  *record = std::string_view();
  if (done_) return false;

  bool in_record = false;  // collecting the fragments of a split record
  uint64_t record_offset = 0;
  for (;;) {
    switch (SeekFragment()) {
      case Next::kFragment:
        break;
      case Next::kReadError:
        done_ = true;
        return false;
      case Next::kEndOfFile:
        // Ending between the fragments of a record is a torn write of that record.
        done_ = true;
        torn_tail_ = in_record;
        return false;
    }

    const uint64_t offset = block_file_offset_ + pos_;
    DecodedFragment f;
    const Fragment kind = DecodeFragment(block_, pos_, &f);
    switch (kind) {
      case Fragment::kValid:
        break;
      case Fragment::kTruncated:
        // Nothing of the file follows the cut, so there is nothing to lose.
        done_ = true;
        torn_tail_ = true;
        return false;
      // Without a trustworthy length the damaged fragment's end is unknown: scan
      // every later byte.
      case Fragment::kZeroType:
        return EndAtDamage(offset, "zero-filled space (record type 0)", pos_ + 1, false, kNoRescan);
      case Fragment::kBadType:
        return EndAtDamage(offset, "unknown record type " + std::to_string(f.type), pos_ + 1, false,
                           kNoRescan);
      case Fragment::kBadLength:
        return EndAtDamage(
            offset, "record length " + std::to_string(f.length) + " runs past the end of its block",
            pos_ + 1, false, kNoRescan);
      // The length is plausible but unverified: follow it, and if no chain of fragments
      // continues at its claimed end, distrust it and scan every byte after the header.
      case Fragment::kBadChecksum:
        return EndAtDamage(offset, "checksum mismatch", pos_ + kHeaderSize + f.length, true,
                           pos_ + 1);
      case Fragment::kBadPlacement: {
        const size_t end = pos_ + kHeaderSize + f.length;  // checksummed, so exact
        return EndAtDamage(offset,
                           std::string(TypeName(f.type)) + " fragment of " +
                               std::to_string(f.length) + " bytes at block offset " +
                               std::to_string(pos_) + " is not where the writer places one",
                           end, true, kNoRescan);
      }
    }
    pos_ += kHeaderSize + f.length;

    switch (f.type) {
      case kFullType:
      case kFirstType:
        if (in_record) {
          return ReportCorruption(record_offset, "split record lacks its LAST fragment", offset);
        }
        if (f.type == kFullType) {
          last_record_offset_ = offset;
          *record = f.payload;
          return true;
        }
        in_record = true;
        record_offset = offset;
        scratch->assign(f.payload);
        break;
      case kMiddleType:
      case kLastType:
        if (!in_record) {
          return EndAtDamage(offset,
                             std::string(TypeName(f.type)) + " fragment without a FIRST fragment",
                             pos_, true, kNoRescan);
        }
        scratch->append(f.payload);
        if (f.type == kLastType) {
          last_record_offset_ = record_offset;
          *record = *scratch;
          return true;
        }
        break;
      case kZeroType:  // rejected by DecodeFragment
        break;
    }
  }
}

bool Reader::EndAtDamage(uint64_t damage_offset, const std::string& reason, size_t scan_from,
                         bool walk, size_t rescan_from) {
  pos_ = scan_from;
  uint64_t valid_offset = 0;
  if (FindLaterRecordStart(walk, rescan_from, &valid_offset)) {
    return ReportCorruption(damage_offset, reason, valid_offset);
  }
  done_ = true;
  torn_tail_ = status_.ok();  // a read error during the scan proves nothing
  return false;
}

bool Reader::FindLaterRecordStart(bool walk, size_t rescan_from, uint64_t* found_offset) {
  for (;;) {
    while (kBlockSize - pos_ >= kHeaderSize && pos_ < block_.size()) {
      if (!walk && !MayStartRecord(block_, pos_)) {
        pos_ += 1;
        continue;
      }
      DecodedFragment f;
      const Fragment kind = DecodeFragment(block_, pos_, &f);
      if (kind == Fragment::kValid && (f.type == kFullType || f.type == kFirstType)) {
        *found_offset = block_file_offset_ + pos_;
        return true;
      }
      if (walk && (kind == Fragment::kValid || kind == Fragment::kBadPlacement)) {
        // Checksummed, so its length is right: step over the payload, which may hold
        // bytes that look like records.
        pos_ += kHeaderSize + f.length;
        continue;
      }
      if (walk) {
        // The chain of fragments is lost: from here on any byte may start one,
        // including those before pos_ that no checksum vouched for.
        walk = false;
        if (rescan_from < pos_) {
          pos_ = rescan_from;
          continue;
        }
      }
      pos_ += 1;
    }
    if (block_.size() < kBlockSize) return false;  // that was the last block
    if (!ReadBlock()) return false;
    walk = true;              // every block starts with a fragment
    rescan_from = kNoRescan;  // the walk vouches for everything before a break
  }
}

bool Reader::ReportCorruption(uint64_t damage_offset, const std::string& reason,
                              uint64_t valid_offset) {
  status_ = Status::Corruption(
      file_name_ + ": damaged log record at byte offset " + std::to_string(damage_offset) + " (" +
      reason + "), followed by a valid record at byte offset " + std::to_string(valid_offset));
  done_ = true;
  return false;
}

}  // namespace strata::log
