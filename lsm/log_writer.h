// log::Writer appends logical records to a log file (the write-ahead log or a
// MANIFEST) in the block format of lsm/log_format.h. Invariant: after every call the
// file holds only whole fragments at the offsets the format prescribes, so the next
// record starts exactly where a reader expects it.
#pragma once

#include <cstdint>
#include <string_view>

#include "lsm/log_format.h"
#include "strata/env.h"
#include "strata/status.h"

namespace strata::log {

class Writer {
 public:
  // Writes to dest, which must be a new, empty file. dest is not owned and must
  // outlive the writer.
  explicit Writer(WritableFile* dest);
  // Continues a log whose current length is dest_length. The existing content must
  // end cleanly (no torn record): a reader reports records written after damage as
  // corruption, so a log with a torn tail must not be appended to.
  Writer(WritableFile* dest, uint64_t dest_length);

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends one record (it may be empty) and flushes it to the OS, so it survives a
  // process crash once this returns OK. It is durable against power loss only after
  // the caller syncs dest.
  // After any error the file's length is unknown, so later records could land at the
  // wrong block offset: the writer then refuses every further record and returns the
  // first error again.
  Status AddRecord(std::string_view record);

 private:
  Status EmitFragment(RecordType type, const char* data, size_t length);

  WritableFile* const dest_;
  size_t block_offset_;  // offset of the next byte in its block
  // CRC32C of each type byte, so each fragment costs one Extend over its payload.
  uint32_t type_crc_[kMaxRecordType + 1];
  Status error_;  // the first failure; sticky
};

}  // namespace strata::log
