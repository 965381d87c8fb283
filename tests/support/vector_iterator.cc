#include "tests/support/vector_iterator.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace strata::test {

VectorIterator::VectorIterator(const Comparator* comparator, std::vector<KeyValue> entries)
    : comparator_(comparator), entries_(std::move(entries)) {}

void VectorIterator::InjectErrorAt(size_t position, Status status) {
  error_position_ = position;
  injected_error_ = std::move(status);
}

void VectorIterator::MoveTo(size_t position) {
  if (!status_.ok()) {
    position_ = kInvalid;  // errors are sticky
  } else if (position != kInvalid && position == error_position_) {
    status_ = injected_error_;
    position_ = kInvalid;
  } else {
    position_ = position < entries_.size() ? position : kInvalid;
  }
}

void VectorIterator::SeekToFirst() { MoveTo(entries_.empty() ? kInvalid : 0); }

void VectorIterator::SeekToLast() { MoveTo(entries_.empty() ? kInvalid : entries_.size() - 1); }

void VectorIterator::Seek(std::string_view target) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), target,
                             [this](const KeyValue& entry, std::string_view t) {
                               return comparator_->Compare(entry.first, t) < 0;
                             });
  MoveTo(it == entries_.end() ? kInvalid : static_cast<size_t>(it - entries_.begin()));
}

void VectorIterator::Next() {
  if (!Valid()) {
    ADD_FAILURE() << "VectorIterator::Next() on an invalid iterator";
    return;
  }
  MoveTo(position_ + 1);
}

void VectorIterator::Prev() {
  if (!Valid()) {
    ADD_FAILURE() << "VectorIterator::Prev() on an invalid iterator";
    return;
  }
  MoveTo(position_ == 0 ? kInvalid : position_ - 1);
}

std::string_view VectorIterator::key() const {
  if (!Valid()) {
    ADD_FAILURE() << "VectorIterator::key() on an invalid iterator";
    return {};
  }
  return entries_[position_].first;
}

std::string_view VectorIterator::value() const {
  if (!Valid()) {
    ADD_FAILURE() << "VectorIterator::value() on an invalid iterator";
    return {};
  }
  return entries_[position_].second;
}

void SortEntries(const Comparator* comparator, std::vector<KeyValue>* entries) {
  std::stable_sort(entries->begin(), entries->end(),
                   [comparator](const KeyValue& a, const KeyValue& b) {
                     return comparator->Compare(a.first, b.first) < 0;
                   });
}

}  // namespace strata::test
