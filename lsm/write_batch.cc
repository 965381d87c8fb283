#include "strata/write_batch.h"

#include "lsm/coding.h"
#include "lsm/memtable.h"
#include "lsm/recovery_puts.h"
#include "lsm/write_batch_internal.h"

namespace strata {

WriteBatch::WriteBatch() { Clear(); }

void WriteBatch::Clear() {
  oversized_ = false;
  rep_.clear();
  rep_.resize(WriteBatchInternal::kHeaderSize);
}

uint32_t WriteBatch::Count() const { return DecodeFixed32(rep_.data() + 8); }

void WriteBatch::Put(std::string_view key, std::string_view value) {
  AppendPut(static_cast<char>(ValueType::kValue), key, value);
}

void WriteBatch::PutForRecovery(std::string_view key, std::string_view value) {
  AppendPut(kRecoveryPutTag, key, value);
}

void WriteBatch::AppendPut(char tag, std::string_view key, std::string_view value) {
  if (key.size() > kMaxKeySize || value.size() > kMaxValueSize) {
    oversized_ = true;
    return;  // never encode a length that would not fit
  }
  WriteBatchInternal::SetCount(this, Count() + 1);
  // Type and key length in one append, then the value's length: a batch of 1000 puts
  // is built on the writer's thread, before any group commit can share the work.
  char header[1 + 5];
  header[0] = tag;
  char* end = EncodeVarint32(header + 1, static_cast<uint32_t>(key.size()));
  rep_.append(header, end - header);
  rep_.append(key.data(), key.size());
  end = EncodeVarint32(header, static_cast<uint32_t>(value.size()));
  rep_.append(header, end - header);
  rep_.append(value.data(), value.size());
}

void WriteBatch::Delete(std::string_view key) {
  if (key.size() > kMaxKeySize) {
    oversized_ = true;
    return;
  }
  WriteBatchInternal::SetCount(this, Count() + 1);
  rep_.push_back(static_cast<char>(ValueType::kDeletion));
  PutLengthPrefixed(&rep_, key);
}

void WriteBatch::Append(const WriteBatch& other) {
  oversized_ = oversized_ || other.oversized_;
  WriteBatchInternal::SetCount(this, Count() + other.Count());
  rep_.append(other.rep_, WriteBatchInternal::kHeaderSize);
}

Status WriteBatch::Iterate(Handler* handler) const {
  std::string_view input(rep_);
  if (input.size() < WriteBatchInternal::kHeaderSize) {
    return Status::Corruption("write batch shorter than its header");
  }
  input.remove_prefix(WriteBatchInternal::kHeaderSize);
  uint32_t found = 0;
  while (!input.empty()) {
    const char tag = input[0];
    input.remove_prefix(1);
    std::string_view key, value;
    if (tag == kRecoveryPutTag) {
      if (!GetLengthPrefixed(&input, &key) || !GetLengthPrefixed(&input, &value)) {
        return Status::Corruption("bad recovery put record in write batch");
      }
      handler->PutForRecovery(key, value);
      found++;
      continue;
    }
    switch (static_cast<ValueType>(tag)) {
      case ValueType::kValue:
        if (!GetLengthPrefixed(&input, &key) || !GetLengthPrefixed(&input, &value)) {
          return Status::Corruption("bad put record in write batch");
        }
        handler->Put(key, value);
        break;
      case ValueType::kDeletion:
        if (!GetLengthPrefixed(&input, &key)) {
          return Status::Corruption("bad delete record in write batch");
        }
        handler->Delete(key);
        break;
      default:
        return Status::Corruption("unknown record type in write batch");
    }
    found++;
  }
  if (found != Count()) return Status::Corruption("write batch has the wrong record count");
  return Status::OK();
}

SequenceNumber WriteBatchInternal::Sequence(const WriteBatch& batch) {
  return DecodeFixed64(batch.rep_.data());
}

void WriteBatchInternal::SetSequence(WriteBatch* batch, SequenceNumber seq) {
  EncodeFixed64(batch->rep_.data(), seq);
}

void WriteBatchInternal::SetCount(WriteBatch* batch, uint32_t count) {
  EncodeFixed32(batch->rep_.data() + 8, count);
}

Status WriteBatchInternal::SetContents(WriteBatch* batch, std::string_view contents) {
  if (contents.size() < kHeaderSize) {
    return Status::Corruption("write batch shorter than its header");
  }
  batch->rep_.assign(contents.data(), contents.size());
  return Status::OK();
}

namespace {

// Hands the batch's entries to the memtable a group at a time (MemTable::AddGroup); the
// views point into the batch, which outlives the insert.
class MemTableInserter final : public WriteBatch::Handler {
 public:
  MemTableInserter(SequenceNumber seq, MemTable* memtable, RecoveryPuts* deferred)
      : seq_(seq), memtable_(memtable), deferred_(deferred) {}
  void Put(std::string_view key, std::string_view value) override {
    if (deferred_ != nullptr) deferred_->Resolve(key);
    Append(ValueType::kValue, key, value);
  }
  void Delete(std::string_view key) override {
    if (deferred_ != nullptr) deferred_->Resolve(key);
    Append(ValueType::kDeletion, key, std::string_view());
  }
  void PutForRecovery(std::string_view key, std::string_view value) override {
    if (deferred_ == nullptr) {
      Append(ValueType::kValue, key, value);
      return;
    }
    deferred_->Add(key, value, seq_++);
  }
  void Flush() {
    memtable_->AddGroup(pending_, pending_count_);
    pending_count_ = 0;
  }

 private:
  void Append(ValueType type, std::string_view key, std::string_view value) {
    pending_[pending_count_++] = MemTableEntry{seq_++, type, key, value};
    if (pending_count_ == MemTable::kGroupSize) Flush();
  }

  SequenceNumber seq_;
  MemTable* memtable_;
  RecoveryPuts* deferred_;
  MemTableEntry pending_[MemTable::kGroupSize];
  size_t pending_count_ = 0;
};

}  // namespace

Status WriteBatchInternal::InsertInto(const WriteBatch& batch, MemTable* memtable,
                                      RecoveryPuts* deferred) {
  SequenceNumber first = Sequence(batch);
  uint32_t count = batch.Count();
  if (first > kMaxSequenceNumber || (count > 0 && kMaxSequenceNumber - first < count - 1)) {
    return Status::Corruption("write batch sequence numbers exceed the maximum");
  }
  MemTableInserter inserter(first, memtable, deferred);
  Status s = batch.Iterate(&inserter);
  // Even after an error: what was handed over is as inserted as the entries before it.
  inserter.Flush();
  return s;
}

}  // namespace strata
