// Block: a read-only view of one block built by BlockBuilder (layout in block_builder.h
// and docs/table_format.md). The constructor checks the whole structure once (restart
// array, every entry's lengths, restarts landing on entry boundaries with no shared
// prefix) so that iterators over a well-formed block cannot read out of bounds; a
// malformed block yields iterators that are empty and carry a Corruption status.
// Immutable after construction, so one Block may be read by many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "lsm/coding.h"
#include "lsm/dbformat.h"
#include "strata/iterator.h"
#include "strata/status.h"

namespace strata {

class Block {
 public:
  // contents: the block's uncompressed bytes, without the on-disk trailer.
  explicit Block(std::string contents);
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // OK, or Corruption describing the first structural error found.
  const Status& status() const { return status_; }
  size_t size() const { return data_.size(); }
  uint32_t num_entries() const { return num_entries_; }
  uint32_t num_restarts() const { return num_restarts_; }
  // Length of the shortest key (0 if the block is empty or malformed). Tables use it to
  // reject blocks whose keys are too short to be internal keys before comparing them.
  size_t min_key_length() const { return min_key_length_; }

  // Iterator over the entries, ordered by comparator (which must be the order the block
  // was built in). The Block and the comparator must outlive it.
  std::unique_ptr<Iterator> NewIterator(const Comparator* comparator) const;

  // Drops the caller's reference to a block made with std::make_shared<Block> that the
  // caller never shared (it read the block from a file and put it in no cache): the
  // block's buffer goes to *spare (unless over kMaxRecycledCapacity), so that the next
  // block read can decompress into it, with no allocation and no zero-filling per
  // block. Only such a block: whether anyone else still reads a shared block cannot
  // be told race-free from its reference count.
  static constexpr size_t kMaxRecycledCapacity = 64 * 1024;
  static void Recycle(std::shared_ptr<const Block>* block, std::string* spare);

 private:
  friend class BlockIterator;
  Status Check();

  std::string data_;  // never changed but by Recycle, once no one reads the block
  uint32_t restarts_offset_ = 0;  // where the restart array starts
  uint32_t num_restarts_ = 0;
  uint32_t num_entries_ = 0;
  size_t min_key_length_ = 0;
  Status status_;
};

// The current key of a BlockIterator, rebuilt at each entry from a prefix of the previous
// key and the entry's delta. Keys up to kInlineSize bytes are kept inside the iterator, so
// an iterator on the stack (a Get's) allocates nothing; longer ones in a heap buffer that
// is kept for the next keys.
class BlockKeyBuffer {
 public:
  static constexpr size_t kInlineSize = 64;

  BlockKeyBuffer() = default;
  BlockKeyBuffer(const BlockKeyBuffer&) = delete;  // data_ may point into this object
  BlockKeyBuffer& operator=(const BlockKeyBuffer&) = delete;

  std::string_view view() const { return std::string_view(data_, size_); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }
  // The first `shared` bytes (shared <= size()) followed by delta[0, n).
  void Assign(size_t shared, const char* delta, size_t n) {
    const size_t size = shared + n;
    if (size > capacity_) Grow(size, shared);
    std::memcpy(data_ + shared, delta, n);
    size_ = size;
  }

 private:
  void Grow(size_t capacity, size_t keep);

  char inline_[kInlineSize];
  std::unique_ptr<char[]> heap_;
  char* data_ = inline_;
  size_t size_ = 0;
  size_t capacity_ = kInlineSize;
};

// The iterator of a Block, as a concrete class so that tables can keep one by value and
// re-aim it at each block they read: no allocation per block, and calls through a
// BlockIterator (not an Iterator*) are direct, not virtual. Seek binary-searches the
// restart points and scans forward; Prev goes back to the restart point before the
// current entry and scans forward to the entry before it. Decoding is bounds-checked
// even though the Block checked its structure: a failed check makes the iterator
// invalid with a Corruption status until it is re-aimed.
class BlockIterator final : public Iterator {
 public:
  // Over no block: never Valid(), status OK.
  BlockIterator() = default;
  BlockIterator(const Block* block, const Comparator* comparator) { Reset(block, comparator); }

  // Aims the iterator at block (unpositioned), forgetting any previous block and error.
  void Reset(const Block* block, const Comparator* comparator);
  // Aims it at no block, as if default-constructed.
  void Clear();

  bool Valid() const override { return current_ < restarts_; }
  Status status() const override { return status_; }
  bool ok() const { return status_.ok(); }  // status().ok() without copying the Status
  std::string_view key() const override { return key_.view(); }
  std::string_view value() const override { return value_; }

  void Next() override { ParseNextKey(); }
  void Prev() override;
  void Seek(std::string_view target) override;
  // Seek for a caller that knows where the answer is: every restart point before `first`
  // has a key < target and every one from `limit` on a key >= target (first <= limit <=
  // the block's number of restarts). Binary-searches only the restarts in between.
  void SeekBetweenRestarts(std::string_view target, uint32_t first, uint32_t limit);
  // Positions at the entry at restart point index (invalid if index is out of range).
  void SeekToRestart(uint32_t index);
  // The restart point at or before the current entry (requires Valid()). In a block with
  // a restart at every entry, as index blocks are, the current entry's index.
  uint32_t restart_index() const { return restart_index_; }
  void SeekToFirst() override;
  void SeekToLast() override;

 private:
  int Compare(std::string_view a, std::string_view b) const {
    // The tables' comparator, inlined: the binary search and the scan call it per step.
    return internal_keys_ ? CompareInternalKeys(a, b) : comparator_->Compare(a, b);
  }
  uint32_t RestartPoint(uint32_t index) const {
    return DecodeFixed32(data_ + restarts_ + 4 * index);
  }
  void SetRestartIndex(uint32_t index);
  void SeekToRestartPoint(uint32_t index);
  bool KeyAtRestartPoint(uint32_t index, std::string_view* key);
  bool ParseNextKey();
  void MarkInvalid();
  void CorruptionError();

  const Comparator* comparator_ = nullptr;
  bool internal_keys_ = false;  // comparator_ is the internal key comparator
  const char* data_ = nullptr;
  uint32_t restarts_ = 0;  // offset of the restart array = end of the entries
  uint32_t num_restarts_ = 0;
  uint32_t current_ = 0;        // offset of the current entry; >= restarts_ if not Valid()
  uint32_t next_ = 0;           // offset of the entry after it
  uint32_t restart_index_ = 0;  // the restart block current_ falls in
  uint32_t next_restart_ = 0;   // where the restart block after it starts (or UINT32_MAX)
  BlockKeyBuffer key_;
  std::string_view value_;
  Status status_;
};

}  // namespace strata
