#include "lsm/block.h"

#include <algorithm>
#include <limits>

#include "lsm/coding.h"

namespace strata {
namespace {

struct EntryHeader {
  uint32_t shared = 0;
  uint32_t non_shared = 0;
  uint32_t value_length = 0;
  const char* key_delta = nullptr;  // non_shared key bytes, then value_length value bytes
};

// Decodes the entry at p; nullptr if its header or its bytes do not fit before limit.
const char* DecodeEntry(const char* p, const char* limit, EntryHeader* entry) {
  if (limit - p < 3) return nullptr;
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if ((u[0] | u[1] | u[2]) < 0x80) {  // common case: all three lengths are one byte
    entry->shared = u[0];
    entry->non_shared = u[1];
    entry->value_length = u[2];
    p += 3;
  } else {
    if ((p = GetVarint32Ptr(p, limit, &entry->shared)) == nullptr) return nullptr;
    if ((p = GetVarint32Ptr(p, limit, &entry->non_shared)) == nullptr) return nullptr;
    if ((p = GetVarint32Ptr(p, limit, &entry->value_length)) == nullptr) return nullptr;
  }
  uint64_t body = uint64_t{entry->non_shared} + entry->value_length;
  if (body > static_cast<uint64_t>(limit - p)) return nullptr;
  entry->key_delta = p;
  return p + body;
}

}  // namespace

Block::Block(std::string contents) : data_(std::move(contents)) {
  status_ = Check();
  if (!status_.ok()) {
    // An empty view: iterators see no entries, only the status.
    restarts_offset_ = 0;
    num_restarts_ = 0;
    num_entries_ = 0;
    min_key_length_ = 0;
  }
}

void Block::Recycle(std::shared_ptr<const Block>* block, std::string* spare) {
  // use_count() == 1 holds for a block never shared; checked anyway, as a guard.
  if (*block != nullptr && block->use_count() == 1 &&
      (*block)->data_.capacity() <= kMaxRecycledCapacity) {
    // Made non-const by make_shared<Block>, and reachable by no one else.
    spare->swap(const_cast<Block&>(**block).data_);
  }
  block->reset();
}

Status Block::Check() {
  if (data_.size() < sizeof(uint32_t)) return Status::Corruption("block too short");
  if (data_.size() > std::numeric_limits<uint32_t>::max()) {
    return Status::Corruption("block too large");
  }
  const uint32_t size = static_cast<uint32_t>(data_.size());
  num_restarts_ = DecodeFixed32(data_.data() + size - 4);
  const uint32_t max_restarts = (size - 4) / 4;
  if (num_restarts_ == 0 || num_restarts_ > max_restarts) {
    return Status::Corruption("bad block restart count");
  }
  restarts_offset_ = size - 4 - 4 * num_restarts_;
  const char* restarts = data_.data() + restarts_offset_;
  if (DecodeFixed32(restarts) != 0) return Status::Corruption("block's first restart is not 0");

  const char* const base = data_.data();
  const char* const limit = base + restarts_offset_;
  const char* p = base;
  // The walk runs for every block read from a file (a get's, a scan's): its state is
  // kept in locals, and the next restart's offset is decoded once per restart point.
  uint32_t next_restart = 0;     // index of the restart point the walk expects next
  uint32_t restart_offset = 0;   // its offset; UINT32_MAX once all were met
  uint64_t previous_key_length = 0;
  uint64_t min_key_length = std::numeric_limits<uint64_t>::max();
  uint32_t entries = 0;
  while (p < limit) {
    const uint32_t offset = static_cast<uint32_t>(p - base);
    if (restart_offset < offset) return Status::Corruption("block restart point inside an entry");
    const bool at_restart = restart_offset == offset;
    EntryHeader entry;
    const char* next = DecodeEntry(p, limit, &entry);
    if (next == nullptr) return Status::Corruption("bad entry in block");
    if (at_restart && entry.shared != 0) {
      return Status::Corruption("block entry at a restart point shares a prefix");
    }
    if (entry.shared > previous_key_length) {
      return Status::Corruption("block entry shares more than the previous key");
    }
    previous_key_length = uint64_t{entry.shared} + entry.non_shared;
    min_key_length = std::min(min_key_length, previous_key_length);
    entries++;
    if (at_restart) {
      next_restart++;
      restart_offset = next_restart < num_restarts_ ? DecodeFixed32(restarts + 4 * next_restart)
                                                    : std::numeric_limits<uint32_t>::max();
    }
    p = next;
  }
  num_entries_ = entries;
  // Every restart must have landed on an entry; an empty block has exactly one, at 0.
  bool empty_block = restarts_offset_ == 0 && num_restarts_ == 1;
  if (!empty_block && next_restart != num_restarts_) {
    return Status::Corruption("block restart points out of order or past the entries");
  }
  min_key_length_ = num_entries_ == 0 ? 0 : static_cast<size_t>(min_key_length);
  return Status::OK();
}

void BlockKeyBuffer::Grow(size_t capacity, size_t keep) {
  capacity = std::max(capacity, 2 * capacity_);
  std::unique_ptr<char[]> grown(new char[capacity]);
  std::memcpy(grown.get(), data_, keep);
  heap_ = std::move(grown);
  data_ = heap_.get();
  capacity_ = capacity;
}

void BlockIterator::Reset(const Block* block, const Comparator* comparator) {
  comparator_ = comparator;
  internal_keys_ = comparator == GetInternalKeyComparator();
  data_ = block->data_.data();
  restarts_ = block->restarts_offset_;
  num_restarts_ = block->num_restarts_;
  MarkInvalid();
  status_ = block->status_;
}

void BlockIterator::Clear() {
  comparator_ = nullptr;
  internal_keys_ = false;
  data_ = nullptr;
  restarts_ = num_restarts_ = current_ = next_ = restart_index_ = 0;
  next_restart_ = UINT32_MAX;
  key_.clear();
  value_ = {};
  status_ = Status::OK();
}

void BlockIterator::Prev() {
  if (!Valid()) return;
  const uint32_t original = current_;
  while (RestartPoint(restart_index_) >= original) {
    if (restart_index_ == 0) {
      MarkInvalid();
      return;
    }
    restart_index_--;
  }
  SeekToRestartPoint(restart_index_);
  while (ParseNextKey() && next_ < original) {
  }
}

void BlockIterator::Seek(std::string_view target) { SeekBetweenRestarts(target, 0, num_restarts_); }

void BlockIterator::SeekBetweenRestarts(std::string_view target, uint32_t first, uint32_t limit) {
  if (!status_.ok() || num_restarts_ == 0) return;
  limit = std::min(limit, num_restarts_);
  first = std::min(first, limit);
  // The last restart point whose key is < target (or 0 if none is); the answer is at or
  // after it. It lies in [first - 1, limit - 1].
  uint32_t left = first > 0 ? first - 1 : 0;
  uint32_t right = limit > 0 ? limit - 1 : 0;
  while (left < right) {
    uint32_t mid = left + (right - left + 1) / 2;
    std::string_view mid_key;
    if (!KeyAtRestartPoint(mid, &mid_key)) return;
    if (Compare(mid_key, target) < 0) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  SeekToRestartPoint(left);
  while (ParseNextKey() && Compare(key_.view(), target) < 0) {
  }
}

void BlockIterator::SeekToRestart(uint32_t index) {
  if (!status_.ok()) return;
  if (index >= num_restarts_) {
    MarkInvalid();
    return;
  }
  SeekToRestartPoint(index);
  ParseNextKey();
}

void BlockIterator::SeekToFirst() {
  if (!status_.ok() || num_restarts_ == 0) return;
  SeekToRestartPoint(0);
  ParseNextKey();
}

void BlockIterator::SeekToLast() {
  if (!status_.ok() || num_restarts_ == 0) return;
  SeekToRestartPoint(num_restarts_ - 1);
  while (ParseNextKey() && next_ < restarts_) {
  }
}

void BlockIterator::SetRestartIndex(uint32_t index) {
  restart_index_ = index;
  next_restart_ = index + 1 < num_restarts_ ? RestartPoint(index + 1) : UINT32_MAX;
}

// Positions before the entry at restart point index: the next ParseNextKey reads it.
void BlockIterator::SeekToRestartPoint(uint32_t index) {
  key_.clear();
  SetRestartIndex(index);
  current_ = restarts_;
  next_ = RestartPoint(index);
}

bool BlockIterator::KeyAtRestartPoint(uint32_t index, std::string_view* key) {
  uint32_t offset = RestartPoint(index);
  EntryHeader entry;
  if (offset >= restarts_ || DecodeEntry(data_ + offset, data_ + restarts_, &entry) == nullptr ||
      entry.shared != 0) {
    CorruptionError();
    return false;
  }
  *key = std::string_view(entry.key_delta, entry.non_shared);
  return true;
}

// Moves to the entry at next_; false (and invalid) at the end or on corruption.
bool BlockIterator::ParseNextKey() {
  if (!status_.ok()) return false;
  current_ = next_;
  if (current_ >= restarts_) {
    MarkInvalid();
    return false;
  }
  EntryHeader entry;
  const char* end = DecodeEntry(data_ + current_, data_ + restarts_, &entry);
  if (end == nullptr || entry.shared > key_.size()) {
    CorruptionError();
    return false;
  }
  key_.Assign(entry.shared, entry.key_delta, entry.non_shared);
  value_ = std::string_view(entry.key_delta + entry.non_shared, entry.value_length);
  next_ = static_cast<uint32_t>(end - data_);
  while (current_ >= next_restart_) SetRestartIndex(restart_index_ + 1);
  return true;
}

void BlockIterator::MarkInvalid() {
  current_ = restarts_;
  next_ = restarts_;
  restart_index_ = num_restarts_;
  next_restart_ = UINT32_MAX;
  key_.clear();
  value_ = {};
}

void BlockIterator::CorruptionError() {
  MarkInvalid();
  status_ = Status::Corruption("bad entry in block");
}

std::unique_ptr<Iterator> Block::NewIterator(const Comparator* comparator) const {
  return std::make_unique<BlockIterator>(this, comparator);
}

}  // namespace strata
