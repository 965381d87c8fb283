// Engine-side access to a WriteBatch's representation (sequence, raw contents).
#pragma once

#include "strata/write_batch.h"
#include "lsm/dbformat.h"

namespace strata {

class MemTable;
class RecoveryPuts;

// The batch record tag of a PutForRecovery. Never stored in a memtable or table, so it
// lives outside ValueType, whose values are the tags of the other two records.
constexpr char kRecoveryPutTag = 2;
static_assert(kRecoveryPutTag != static_cast<char>(ValueType::kValue) &&
              kRecoveryPutTag != static_cast<char>(ValueType::kDeletion));

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
  // the batch's sequence. With `deferred`, recovery puts are recorded there instead of
  // inserted (with the sequence numbers they take), and every put or delete resolves
  // the deferred put of its key; without it they are inserted as puts.
  static Status InsertInto(const WriteBatch& batch, MemTable* memtable,
                           RecoveryPuts* deferred = nullptr);
};

}  // namespace strata
