// VectorIterator: a test iterator over an in-memory sorted vector of (key, value)
// pairs, the stand-in for a memtable or table when testing code built on iterators.
//
// It is strict about the Iterator contract so that tests catch callers that break
// it: key(), value(), Next() and Prev() on an invalid iterator record a test failure.
// An error can be injected at a position: the first time any move lands there, the
// iterator becomes invalid with that status, and stays so (like a table whose block
// failed to read).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lsm/dbformat.h"
#include "strata/iterator.h"
#include "strata/status.h"

namespace strata::test {

using KeyValue = std::pair<std::string, std::string>;

class VectorIterator final : public Iterator {
 public:
  // entries must be sorted by comparator (not checked: tests feed malformed keys
  // that a comparator may not be able to compare). The comparator is used by Seek
  // only and must outlive the iterator.
  VectorIterator(const Comparator* comparator, std::vector<KeyValue> entries);

  // Any move that lands on entries[position] fails with status instead.
  void InjectErrorAt(size_t position, Status status);

  bool Valid() const override { return position_ < entries_.size(); }
  void SeekToFirst() override;
  void SeekToLast() override;
  void Seek(std::string_view target) override;
  void Next() override;
  void Prev() override;
  std::string_view key() const override;
  std::string_view value() const override;
  Status status() const override { return status_; }

 private:
  void MoveTo(size_t position);

  static constexpr size_t kInvalid = static_cast<size_t>(-1);

  const Comparator* const comparator_;
  const std::vector<KeyValue> entries_;
  size_t position_ = kInvalid;
  size_t error_position_ = kInvalid;
  Status injected_error_;
  Status status_;
};

// Sorts entries by comparator, keeping the order of equal keys.
void SortEntries(const Comparator* comparator, std::vector<KeyValue>* entries);

}  // namespace strata::test
