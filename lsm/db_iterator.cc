#include "lsm/db_iterator.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

namespace strata {
namespace {

// Where the internal iterator stands, which is what makes both directions cheap:
// - forward: on the newest visible entry of the current user key, so key() and
//   value() read straight from it;
// - reverse: before all entries of the current user key (on the last entry of a
//   smaller key, or invalid), because going backwards the newest entry of a key is
//   the last one met; the current key and value are copied into saved_key_ and
//   saved_value_, buffers reused from step to step.
class DBIterator final : public Iterator {
 public:
  // Sequences above kMaxSequenceNumber would not fit a seek key; no entry has one.
  DBIterator(std::unique_ptr<Iterator> iter, SequenceNumber sequence, bool unique_internal_keys)
      : iter_(std::move(iter)),
        sequence_(std::min(sequence, kMaxSequenceNumber)),
        unique_internal_keys_(unique_internal_keys) {}

  bool Valid() const override { return valid_; }

  std::string_view key() const override {
    assert(valid_);
    return direction_ == Direction::kForward ? user_key_ : std::string_view(saved_key_);
  }

  std::string_view value() const override {
    assert(valid_);
    return direction_ == Direction::kForward ? iter_->value() : std::string_view(saved_value_);
  }

  Status status() const override { return status_.ok() ? iter_->status() : status_; }

  void Next() override;
  bool NextEntry(std::string_view* key, std::string_view* value) override;
  void Prev() override;
  void Seek(std::string_view target) override;
  void SeekToFirst() override;
  void SeekToLast() override;

 private:
  enum class Direction { kForward, kReverse };

  // Parses iter_->key(); on failure records the corruption and invalidates.
  bool ParseKey(ParsedInternalKey* ikey) {
    if (ParseInternalKey(iter_->key(), ikey)) [[likely]] return true;
    MalformedKey();
    return false;
  }
  // ParseKey's failure, out of line: the parse runs for every entry the iterator passes.
  [[gnu::noinline, gnu::cold]] void MalformedKey();
  // From iter_'s entry on, finds the first visible value entry whose user key is not
  // hidden; while skipping, user keys <= saved_key_ are hidden.
  void FindNextUserEntry(bool skipping);
  void FindPrevUserEntry();
  void ClearSavedValue();

  std::unique_ptr<Iterator> iter_;
  const SequenceNumber sequence_;
  const bool unique_internal_keys_;  // see NewDBIterator
  // Forward only: the current entry is the last of its user key (sequence 0 in a
  // stream of unique internal keys), so the next step has nothing to skip.
  bool last_of_key_ = false;
  Status status_;  // sticky corruption
  // Reverse: the current user key. Forward: scratch (the key to skip, the seek target).
  std::string saved_key_;
  std::string saved_value_;  // reverse only: the current value
  // Forward only: the current user key, a view into iter_'s current key (valid until
  // iter_ moves), so that key() and the next step need no call into iter_.
  std::string_view user_key_;
  Direction direction_ = Direction::kForward;
  bool valid_ = false;
};

std::string DescribeKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr size_t kMaxShown = 32;
  std::string out = std::to_string(key.size()) + " bytes";
  if (!key.empty()) out += ":";
  for (size_t i = 0; i < key.size() && i < kMaxShown; i++) {
    auto byte = static_cast<unsigned char>(key[i]);
    out += ' ';
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  if (key.size() > kMaxShown) out += " ...";
  return out;
}

void DBIterator::MalformedKey() {
  std::string_view k = iter_->key();
  status_ = Status::Corruption("malformed internal key in iterator (" + DescribeKey(k) +
                               "): expected user key + 8-byte trailer of type 0 or 1");
  valid_ = false;
  saved_key_.clear();
  ClearSavedValue();
}

void DBIterator::ClearSavedValue() {
  // Keep the buffer for reuse unless a huge value left it oversized.
  constexpr size_t kMaxRetainedCapacity = 1 << 20;
  if (saved_value_.capacity() > kMaxRetainedCapacity) {
    std::string().swap(saved_value_);
  } else {
    saved_value_.clear();
  }
}

void DBIterator::Next() {
  assert(valid_);
  bool skipping = true;
  if (direction_ == Direction::kReverse) {
    direction_ = Direction::kForward;
    // iter_ is just before the entries of the current key, whose user key is in
    // saved_key_: step onto them and let the skipping below pass over them.
    if (iter_->Valid()) {
      iter_->Next();
    } else {
      iter_->SeekToFirst();
    }
  } else if (last_of_key_) {
    skipping = false;
    iter_->Next();
  } else {
    saved_key_.assign(user_key_);
    iter_->Next();
  }
  if (!iter_->Valid()) {
    valid_ = false;
    saved_key_.clear();
    return;
  }
  FindNextUserEntry(skipping);
}

bool DBIterator::NextEntry(std::string_view* key, std::string_view* value) {
  if (direction_ == Direction::kForward && last_of_key_) {
    // What Next() and FindNextUserEntry(false) do, with the common case (the next
    // entry is visible and a value) taken from one call into iter_.
    std::string_view internal_key;
    if (!iter_->NextEntry(&internal_key, value)) {
      valid_ = false;
      return false;
    }
    ParsedInternalKey ikey;
    if (!ParseInternalKey(internal_key, &ikey)) [[unlikely]] {
      MalformedKey();
      return false;
    }
    if (ikey.sequence <= sequence_ && ikey.type == ValueType::kValue) [[likely]] {
      user_key_ = ikey.user_key;
      last_of_key_ = unique_internal_keys_ && ikey.sequence == 0;
      *key = user_key_;
      return true;
    }
    FindNextUserEntry(/*skipping=*/false);
  } else {
    Next();
  }
  if (!valid_) return false;
  *key = this->key();
  *value = this->value();
  return true;
}

void DBIterator::FindNextUserEntry(bool skipping) {
  assert(iter_->Valid());
  assert(direction_ == Direction::kForward);
  do {
    ParsedInternalKey ikey;
    if (!ParseKey(&ikey)) return;
    if (ikey.sequence <= sequence_) {
      if (ikey.type == ValueType::kDeletion) {
        // Hides every older entry of this user key, which all follow.
        saved_key_.assign(ikey.user_key);
        skipping = true;
      } else if (!skipping || ikey.user_key.compare(saved_key_) > 0) {
        valid_ = true;
        user_key_ = ikey.user_key;
        last_of_key_ = unique_internal_keys_ && ikey.sequence == 0;
        saved_key_.clear();
        return;
      }
    }
    iter_->Next();
  } while (iter_->Valid());
  saved_key_.clear();
  valid_ = false;
}

void DBIterator::Prev() {
  assert(valid_);
  if (direction_ == Direction::kForward) {
    // iter_ is on an entry of the current key: back up past all of its entries.
    saved_key_.assign(user_key_);
    while (true) {
      iter_->Prev();
      if (!iter_->Valid()) {
        // Nothing before the current key, or an error (status() reports it).
        valid_ = false;
        saved_key_.clear();
        ClearSavedValue();
        return;
      }
      ParsedInternalKey ikey;
      if (!ParseKey(&ikey)) return;
      if (ikey.user_key.compare(saved_key_) < 0) break;
    }
    direction_ = Direction::kReverse;
  }
  FindPrevUserEntry();
}

void DBIterator::FindPrevUserEntry() {
  assert(direction_ == Direction::kReverse);
  // Type of the newest visible entry seen so far for the key in saved_key_; a
  // deletion also stands for "no key yet".
  ValueType value_type = ValueType::kDeletion;
  while (iter_->Valid()) {
    ParsedInternalKey ikey;
    if (!ParseKey(&ikey)) return;
    if (ikey.sequence <= sequence_) {
      if (value_type != ValueType::kDeletion && ikey.user_key.compare(saved_key_) < 0) {
        break;  // saved_key_ is complete and live; iter_ now stands before its entries
      }
      value_type = ikey.type;
      if (value_type == ValueType::kDeletion) {
        saved_key_.clear();
        ClearSavedValue();
      } else {
        std::string_view raw_value = iter_->value();
        if (saved_value_.capacity() > raw_value.size() + (1 << 20)) ClearSavedValue();
        saved_key_.assign(ikey.user_key);
        saved_value_.assign(raw_value);
      }
    }
    iter_->Prev();
  }
  // If iter_ stopped on an error, the saved entry may not be the newest version of
  // its key: entries newer than it were not read.
  if (value_type == ValueType::kDeletion || (!iter_->Valid() && !iter_->status().ok())) {
    valid_ = false;
    saved_key_.clear();
    ClearSavedValue();
    direction_ = Direction::kForward;
  } else {
    valid_ = true;
  }
}

void DBIterator::Seek(std::string_view target) {
  direction_ = Direction::kForward;
  valid_ = false;
  if (!status_.ok()) return;
  ClearSavedValue();
  saved_key_.clear();
  // The newest entry of target visible at sequence_ is the first one >= this key.
  AppendInternalKey(&saved_key_, target, sequence_, kValueTypeForSeek);
  iter_->Seek(saved_key_);
  if (iter_->Valid()) FindNextUserEntry(/*skipping=*/false);
}

void DBIterator::SeekToFirst() {
  direction_ = Direction::kForward;
  valid_ = false;
  if (!status_.ok()) return;
  ClearSavedValue();
  iter_->SeekToFirst();
  if (iter_->Valid()) FindNextUserEntry(/*skipping=*/false);
}

void DBIterator::SeekToLast() {
  direction_ = Direction::kReverse;
  valid_ = false;
  if (!status_.ok()) return;
  ClearSavedValue();
  iter_->SeekToLast();
  FindPrevUserEntry();
}

}  // namespace

std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal_iterator,
                                        SequenceNumber sequence, bool unique_internal_keys) {
  return std::make_unique<DBIterator>(std::move(internal_iterator), sequence,
                                      unique_internal_keys);
}

}  // namespace strata
