// WriteBatch: updates applied atomically by DB::Write, in order.
//
// Layout of rep_ (also the body of a write-ahead-log record):
//   fixed64 sequence | fixed32 count | count x record
//   record := kTypeValue varstring(key) varstring(value) | kTypeDeletion varstring(key)
//   varstring := varint32 length, bytes
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "strata/status.h"

namespace strata {

class WriteBatch {
 public:
  // Receives the records of a batch in order.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void Put(std::string_view key, std::string_view value) = 0;
    virtual void Delete(std::string_view key) = 0;
  };

  WriteBatch();

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Appends the records of other.
  void Append(const WriteBatch& other);
  void Clear();

  uint32_t Count() const;
  // Bytes this batch occupies in the log.
  size_t ApproximateSize() const { return rep_.size(); }
  // Corruption if the records are malformed.
  Status Iterate(Handler* handler) const;

 private:
  friend class WriteBatchInternal;
  std::string rep_;
};

}  // namespace strata
