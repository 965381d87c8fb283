// WriteBatch: updates applied atomically by DB::Write, in order.
//
// Layout of rep_ (also the body of a write-ahead-log record):
//   fixed64 sequence | fixed32 count | count x record
//   record := kTypeValue varstring(key) varstring(value) | kTypeDeletion varstring(key)
//           | kTypeRecoveryPut varstring(key) varstring(value)
//   (tags 1, 0 and 2; docs/log_format.md)
//   varstring := varint32 length, bytes
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "strata/status.h"

namespace strata {

class WriteBatch {
 public:
  // Limits on what one record may hold; DB::Write rejects a batch that exceeds them
  // with InvalidArgument (lengths are stored as 32-bit varints).
  static constexpr size_t kMaxKeySize = 64u << 20;
  static constexpr size_t kMaxValueSize = 1u << 30;

  // Receives the records of a batch in order.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void Put(std::string_view key, std::string_view value) = 0;
    virtual void Delete(std::string_view key) = 0;
    // A PutForRecovery record: by default what recovery makes of it, a Put.
    virtual void PutForRecovery(std::string_view key, std::string_view value) {
      Put(key, value);
    }
  };

  WriteBatch();

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // A put that only takes effect when the DB is next opened: recovery replays it as a
  // Put, unless a later write put or deleted the key first. Until then no read sees it
  // (a read sees whatever the key held before). It is as durable as the write that
  // carries it, and costs log space but no memtable space: for records that must
  // survive a crash but are normally cancelled soon after by a write of the same key,
  // such as the intent record of a two-phase commit.
  void PutForRecovery(std::string_view key, std::string_view value);
  // Appends the records of other.
  void Append(const WriteBatch& other);
  void Clear();

  uint32_t Count() const;
  // Bytes this batch occupies in the log.
  size_t ApproximateSize() const { return rep_.size(); }
  // Corruption if the records are malformed.
  Status Iterate(Handler* handler) const;
  // Whether a key or value above the limits was added (the batch cannot be written).
  bool oversized() const { return oversized_; }

 private:
  friend class WriteBatchInternal;
  void AppendPut(char tag, std::string_view key, std::string_view value);

  std::string rep_;
  bool oversized_ = false;
};

}  // namespace strata
