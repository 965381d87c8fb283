// Iterator: a cursor over sorted key/value pairs. Keys and values returned are
// valid until the iterator moves or is destroyed.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "strata/status.h"

namespace strata {

class Iterator {
 public:
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  // Runs the registered cleanups (e.g. unpinning the files the iterator reads).
  virtual ~Iterator();

  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // First entry with key >= target.
  virtual void Seek(std::string_view target) = 0;
  virtual void Next() = 0;  // requires Valid()
  virtual void Prev() = 0;  // requires Valid()
  // Next(), then the new entry's key and value if there is one: what a scan does for
  // every entry in one call instead of four, which a stack of iterators would pay at
  // every level. False at the end or on an error (status() tells). Requires Valid().
  virtual bool NextEntry(std::string_view* key, std::string_view* value);
  virtual std::string_view key() const = 0;    // requires Valid()
  virtual std::string_view value() const = 0;  // requires Valid()
  // Not OK when an error (I/O, corruption) stopped the iteration; Valid() is then false.
  virtual Status status() const = 0;

  // Runs fn when the iterator is destroyed.
  void RegisterCleanup(std::function<void()> fn) { cleanups_.push_back(std::move(fn)); }

 private:
  std::vector<std::function<void()>> cleanups_;
};

}  // namespace strata
