// log::Reader reads back the logical records written by log::Writer, verifying every
// fragment's checksum and placement. Invariant: it returns exactly the records that
// were written, in order, up to the first damaged or incomplete one, and it never
// ends quietly in front of records it could not read: damage followed by any valid
// record is reported as corruption; only damage at the very end of the log (a torn
// tail, the normal result of a crash) ends the log with an OK status. The rule is
// specified in docs/log_format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lsm/log_format.h"
#include "strata/env.h"
#include "strata/status.h"

namespace strata::log {

class Reader {
 public:
  // Reads file from its start. file is not owned and must outlive the reader;
  // file_name_for_errors names it in corruption messages.
  Reader(SequentialFile* file, std::string file_name_for_errors);

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Reads the next logical record. Returns true with *record, which stays valid until
  // the next call and may point into *scratch. Returns false at the end of the log,
  // and on every later call: status() then tells a clean end or a torn tail (OK) from
  // damage followed by valid records (Corruption naming the file and byte offset) or
  // a read error (the file's status).
  bool ReadRecord(std::string_view* record, std::string* scratch);

  Status status() const { return status_; }
  // The log ended in an incomplete or damaged record that was dropped.
  bool torn_tail() const { return torn_tail_; }
  // File offset of the first header byte of the last record returned.
  uint64_t last_record_offset() const { return last_record_offset_; }

 private:
  // What the bytes at one header position of a block hold.
  enum class Fragment {
    kValid,
    kTruncated,    // the file ends inside the header or the payload
    kZeroType,     // type 0: zero-filled space
    kBadType,      // a reserved type
    kBadLength,    // the payload would cross the end of the block
    kBadChecksum,  // header plausible, checksum does not match
    kBadPlacement  // intact, but not where the writer puts this type
  };
  struct DecodedFragment {
    RecordType type = kZeroType;
    size_t length = 0;  // payload length from the header (when a header was read)
    std::string_view payload;
  };
  static Fragment DecodeFragment(std::string_view block, size_t pos, DecodedFragment* out);

  // The outcome of looking for the next fragment in the file.
  enum class Next { kFragment, kEndOfFile, kReadError };
  // Positions pos_ on the next header position, reading blocks as needed; kFragment
  // means there are bytes at pos_.
  Next SeekFragment();
  // Reads the next block into block_. False on a read error (then status_ is set).
  bool ReadBlock();

  // Ends the log because of the damage at damage_offset: Corruption if a valid record
  // starts anywhere after it, otherwise a torn tail. Returns false. The search starts
  // at scan_from in block_; see FindLaterRecordStart for walk and rescan_from.
  bool EndAtDamage(uint64_t damage_offset, const std::string& reason, size_t scan_from, bool walk,
                   size_t rescan_from);
  // Looks for a valid FULL or FIRST fragment at or after pos_ (the rest of the file is
  // consumed). With walk, pos_ is a fragment boundary: step from fragment to fragment;
  // where that chain breaks, try every byte offset from rescan_from (if it is earlier)
  // or from the break on. Each later block is walked from its start.
  bool FindLaterRecordStart(bool walk, size_t rescan_from, uint64_t* found_offset);
  bool ReportCorruption(uint64_t damage_offset, const std::string& reason, uint64_t valid_offset);

  SequentialFile* const file_;
  const std::string file_name_;
  std::unique_ptr<char[]> backing_store_;  // kBlockSize bytes
  // The current block: kBlockSize bytes, fewer only for the file's last block.
  std::string_view block_;
  bool have_block_ = false;
  uint64_t block_file_offset_ = 0;  // file offset of block_[0]
  size_t pos_ = 0;                  // offset of the next header in block_

  bool done_ = false;
  bool torn_tail_ = false;
  Status status_;
  uint64_t last_record_offset_ = 0;
};

}  // namespace strata::log
