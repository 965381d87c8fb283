#include "lsm/recovery_puts.h"

#include <algorithm>

#include "lsm/memtable.h"

namespace strata {

void RecoveryPuts::Add(std::string_view key, std::string_view value, SequenceNumber seq) {
  ResolveSlow(key);
  entries_.push_back(Entry{std::string(key), std::string(value), seq});
}

void RecoveryPuts::ResolveSlow(std::string_view key) {
  std::erase_if(entries_, [key](const Entry& entry) { return entry.key == key; });
}

void RecoveryPuts::AppendTo(WriteBatch* batch) const {
  for (const Entry& entry : entries_) batch->PutForRecovery(entry.key, entry.value);
}

void RecoveryPuts::AddTo(MemTable* mem) const {
  for (const Entry& entry : entries_) mem->Add(entry.seq, ValueType::kValue, entry.key, entry.value);
}

}  // namespace strata
