#include "extension/transaction_buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace strata::sql {

TransactionBuffer::EntryMap::iterator TransactionBuffer::PrepareChange(std::string_view key) {
  auto it = entries_.lower_bound(key);
  const bool existed = it != entries_.end() && it->first == key;
  if (!existed) {
    char* bytes = static_cast<char*>(arena_.allocate(key.size(), 1));
    if (!key.empty()) std::memcpy(bytes, key.data(), key.size());
    it = entries_.emplace_hint(it, std::string_view(bytes, key.size()), std::nullopt);
  } else {
    entry_bytes_ -= EntryBytes(it->first, it->second);
  }
  if (!savepoints_.empty()) {
    // The old value moves into the undo log; the caller writes a fresh one.
    UndoRecord record{it->first, existed, std::nullopt};
    if (existed) record.previous = std::move(it->second);
    undo_bytes_ += UndoBytes(record);
    undo_.push_back(std::move(record));
  }
  return it;
}

void TransactionBuffer::Put(std::string_view key, std::string_view value) {
  auto it = PrepareChange(key);
  if (it->second) {
    it->second->assign(value);  // reuses the old value's memory
  } else {
    it->second.emplace(value, &arena_);
  }
  entry_bytes_ += key.size() + value.size();
  generation_++;
}

void TransactionBuffer::Delete(std::string_view key) {
  auto it = PrepareChange(key);
  it->second.reset();
  entry_bytes_ += key.size();
  generation_++;
}

TransactionBuffer::Lookup TransactionBuffer::Get(std::string_view key, std::string* value) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Lookup::kAbsent;
  if (!it->second) return Lookup::kDeleted;
  if (value != nullptr) value->assign(*it->second);
  return Lookup::kValue;
}

void TransactionBuffer::Savepoint(int n) {
  if (n < 0) return;
  const auto level = static_cast<size_t>(n);
  if (level < savepoints_.size()) {
    savepoints_.resize(level + 1);
  } else {
    savepoints_.resize(level + 1, undo_.size());
  }
}

void TransactionBuffer::RollbackTo(int n) {
  if (n < 0 || static_cast<size_t>(n) >= savepoints_.size()) return;
  const size_t position = savepoints_[n];
  savepoints_.resize(n + 1);
  if (undo_.size() == position) return;
  while (undo_.size() > position) {
    UndoRecord& record = undo_.back();
    undo_bytes_ -= UndoBytes(record);
    auto it = entries_.find(record.key);  // present: the change being undone made it so
    if (it == entries_.end()) {
      undo_.pop_back();
      continue;
    }
    entry_bytes_ -= EntryBytes(it->first, it->second);
    if (record.existed) {
      it->second = std::move(record.previous);
      entry_bytes_ += EntryBytes(it->first, it->second);
    } else {
      const std::string_view key = it->first;
      entries_.erase(it);
      arena_.deallocate(const_cast<char*>(key.data()), key.size(), 1);
    }
    undo_.pop_back();
  }
  generation_++;
}

void TransactionBuffer::Release(int n) {
  if (n < 0) n = 0;
  if (static_cast<size_t>(n) < savepoints_.size()) savepoints_.resize(n);
  if (savepoints_.empty()) {
    // No savepoint left to roll back to: the undo log can go.
    undo_.clear();
    undo_bytes_ = 0;
  }
}

void TransactionBuffer::Clear() {
  entries_.clear();
  undo_.clear();
  arena_.Release();
  savepoints_.clear();
  entry_bytes_ = 0;
  undo_bytes_ = 0;
  generation_++;
}

void TransactionBuffer::AppendTo(WriteBatch* batch) const {
  for (const auto& [key, value] : entries_) {
    if (value) {
      batch->Put(key, *value);
    } else {
      batch->Delete(key);
    }
  }
}

void TransactionBuffer::AppendTo(WriteBatch::Handler* handler) const {
  for (const auto& [key, value] : entries_) {
    if (value) {
      handler->Put(key, *value);
    } else {
      handler->Delete(key);
    }
  }
}

// Merges two sorted sources: the base iterator and the buffer's map. Forward, both
// cursors are at the first key >= the current one; in reverse, at the last key <= it
// (buf_ == end() meaning none). On equal keys the buffer wins, and a buffered deletion
// hides the key in both. A current entry taken from the buffer is copied, so the
// buffer can change under the iterator; buf_ is then stale, which generation_ detects,
// and the next move recomputes it from the current key.
class TransactionBuffer::MergedIterator final : public Iterator {
 public:
  MergedIterator(const TransactionBuffer* buffer, std::unique_ptr<Iterator> base, std::string lower,
                 std::string upper)
      : buffer_(buffer),
        entries_(buffer->entries_),
        base_(std::move(base)),
        lower_(std::move(lower)),
        upper_(std::move(upper)),
        has_upper_(!upper_.empty()),
        buf_(entries_.end()),
        generation_(buffer->generation_) {}

  bool Valid() const override { return valid_; }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return base_->status(); }

  void SeekToFirst() override { Seek(lower_); }

  void Seek(std::string_view target) override {
    // Copied first: target may point into this iterator's own key.
    seek_key_.assign(std::max(target, std::string_view(lower_)));
    base_->Seek(seek_key_);
    buf_ = entries_.lower_bound(seek_key_);
    direction_ = Direction::kForward;
    generation_ = buffer_->generation_;
    FindNextForward();
  }

  void SeekToLast() override {
    if (has_upper_) {
      base_->Seek(upper_);
      if (base_->Valid()) {
        base_->Prev();
      } else if (base_->status().ok()) {
        base_->SeekToLast();
      }
      buf_ = Before(entries_.lower_bound(upper_));
    } else {
      base_->SeekToLast();
      buf_ = Before(entries_.end());
    }
    direction_ = Direction::kReverse;
    generation_ = buffer_->generation_;
    FindPrevReverse();
  }

  void Next() override {
    if (!valid_) return;
    const bool changed = generation_ != buffer_->generation_;
    if (direction_ == Direction::kReverse || changed) {
      buf_ = entries_.upper_bound(key_);  // before base_ moves: key_ may point into it
      if (direction_ == Direction::kReverse) {
        seek_key_.assign(key_);
        base_->Seek(seek_key_);
        if (base_->Valid() && base_->key() == seek_key_) base_->Next();
      } else if (base_at_current_) {
        base_->Next();
      }
      direction_ = Direction::kForward;
      generation_ = buffer_->generation_;
    } else {
      if (base_at_current_) base_->Next();
      if (buf_at_current_) ++buf_;
    }
    FindNextForward();
  }

  void Prev() override {
    if (!valid_) return;
    const bool changed = generation_ != buffer_->generation_;
    if (direction_ == Direction::kForward || changed) {
      buf_ = Before(entries_.lower_bound(key_));  // before base_ moves: key_ may point into it
      if (direction_ == Direction::kForward) {
        seek_key_.assign(key_);
        base_->Seek(seek_key_);  // first key >= current; the one before it is < current
        if (base_->Valid()) {
          base_->Prev();
        } else if (base_->status().ok()) {
          base_->SeekToLast();
        }
      } else if (base_at_current_) {
        base_->Prev();
      }
      direction_ = Direction::kReverse;
      generation_ = buffer_->generation_;
    } else {
      if (base_at_current_) base_->Prev();
      if (buf_at_current_) buf_ = Before(buf_);
    }
    FindPrevReverse();
  }

 private:
  enum class Direction { kForward, kReverse };

  // The entry before it, or end() if it is the first.
  EntryMap::const_iterator Before(EntryMap::const_iterator it) const {
    return it == entries_.begin() ? entries_.end() : std::prev(it);
  }

  void FindNextForward() {
    for (;;) {
      if (!base_->Valid() && !base_->status().ok()) break;  // never skip what base hides
      const bool base_ok = base_->Valid() && (!has_upper_ || base_->key() < upper_);
      const bool buf_ok = buf_ != entries_.end() && (!has_upper_ || buf_->first < upper_);
      if (!base_ok && !buf_ok) break;
      // order < 0: the buffer's key comes first; 0: same key; > 0: the base's.
      const int order = !buf_ok ? 1 : !base_ok ? -1 : buf_->first.compare(base_->key());
      if (order > 0) {
        SetFromBase();
        return;
      }
      if (!buf_->second) {  // deleted in the buffer: skip it in both sources
        ++buf_;
        if (order == 0) base_->Next();
        continue;
      }
      SetFromBuffer(/*base_at_current=*/order == 0);
      return;
    }
    valid_ = false;
  }

  void FindPrevReverse() {
    for (;;) {
      if (!base_->Valid() && !base_->status().ok()) break;
      const bool base_ok = base_->Valid() && base_->key() >= lower_;
      const bool buf_ok = buf_ != entries_.end() && buf_->first >= lower_;
      if (!base_ok && !buf_ok) break;
      // order > 0: the buffer's key comes first (it is the larger); 0: same key.
      const int order = !buf_ok ? -1 : !base_ok ? 1 : buf_->first.compare(base_->key());
      if (order < 0) {
        SetFromBase();
        return;
      }
      if (!buf_->second) {
        buf_ = Before(buf_);
        if (order == 0) base_->Prev();
        continue;
      }
      SetFromBuffer(/*base_at_current=*/order == 0);
      return;
    }
    valid_ = false;
  }

  void SetFromBase() {
    key_ = base_->key();
    value_ = base_->value();
    base_at_current_ = true;
    buf_at_current_ = false;
    valid_ = true;
  }

  void SetFromBuffer(bool base_at_current) {
    key_copy_.assign(buf_->first);
    value_copy_.assign(*buf_->second);
    key_ = key_copy_;
    value_ = value_copy_;
    base_at_current_ = base_at_current;
    buf_at_current_ = true;
    valid_ = true;
  }

  const TransactionBuffer* const buffer_;
  const EntryMap& entries_;
  const std::unique_ptr<Iterator> base_;
  const std::string lower_;
  const std::string upper_;
  const bool has_upper_;

  EntryMap::const_iterator buf_;  // valid while generation_ is the buffer's
  uint64_t generation_;
  Direction direction_ = Direction::kForward;
  bool valid_ = false;
  bool base_at_current_ = false;  // base_ is on the current key
  bool buf_at_current_ = false;   // buf_ is on the current key
  std::string_view key_;          // into base_ or key_copy_
  std::string_view value_;        // into base_ or value_copy_
  std::string key_copy_;
  std::string value_copy_;
  std::string seek_key_;
};

std::unique_ptr<Iterator> TransactionBuffer::NewMergedIterator(std::unique_ptr<Iterator> base,
                                                               std::string lower,
                                                               std::string upper) const {
  return std::make_unique<MergedIterator>(this, std::move(base), std::move(lower),
                                          std::move(upper));
}

}  // namespace strata::sql
