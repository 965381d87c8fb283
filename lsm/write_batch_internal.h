// Engine-side access to a WriteBatch's representation (sequence, raw contents).
#pragma once

#include "strata/write_batch.h"
#include "lsm/dbformat.h"

namespace strata {

class MemTable;

class WriteBatchInternal {
 public:
  static constexpr size_t kHeaderSize = 12;  // fixed64 sequence + fixed32 count

  static SequenceNumber Sequence(const WriteBatch& batch);
  static void SetSequence(WriteBatch* batch, SequenceNumber seq);
  static void SetCount(WriteBatch* batch, uint32_t count);
  static std::string_view Contents(const WriteBatch& batch) { return batch.rep_; }
  // Corruption if contents is shorter than the header.
  static Status SetContents(WriteBatch* batch, std::string_view contents);
  // Inserts every record into memtable with consecutive sequence numbers starting at
  // the batch's sequence.
  static Status InsertInto(const WriteBatch& batch, MemTable* memtable);
};

}  // namespace strata
