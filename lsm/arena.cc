#include "lsm/arena.h"

#include <cassert>
#include <cstdint>

namespace strata {

static_assert((Arena::kAlignment & (Arena::kAlignment - 1)) == 0,
              "arena alignment must be a power of two");
// operator new[] must hand out blocks at least as aligned as AllocateAligned promises,
// or the first allocation of a block could be misaligned.
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= Arena::kAlignment);

Arena::Arena(size_t block_size) : block_size_(block_size < 64 ? 64 : block_size) {}

Arena::~Arena() = default;

char* Arena::AllocateFallback(size_t bytes) {
  assert(bytes > 0);
  if (bytes == 0) bytes = 1;  // keep results distinct even if the precondition is broken
  if (bytes > block_size_ / 4) {
    // A large object gets a block of its own, so the tail of the current block stays
    // usable and at most a quarter of a block is ever wasted.
    return AllocateNewBlock(bytes);
  }
  alloc_ptr_ = AllocateNewBlock(block_size_);
  alloc_bytes_remaining_ = block_size_;
  char* result = alloc_ptr_;
  alloc_ptr_ += bytes;
  alloc_bytes_remaining_ -= bytes;
  return result;
}

char* Arena::AllocateAligned(size_t bytes) {
  size_t misalignment = reinterpret_cast<uintptr_t>(alloc_ptr_) & (kAlignment - 1);
  size_t padding = misalignment == 0 ? 0 : kAlignment - misalignment;
  if (bytes > 0 && bytes <= alloc_bytes_remaining_ && padding <= alloc_bytes_remaining_ - bytes) {
    char* result = alloc_ptr_ + padding;
    alloc_ptr_ += padding + bytes;
    alloc_bytes_remaining_ -= padding + bytes;
    return result;
  }
  // New blocks start aligned (see the static_assert above).
  return AllocateFallback(bytes);
}

char* Arena::AllocateNewBlock(size_t block_bytes) {
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_bytes));
  memory_usage_.fetch_add(block_bytes + sizeof(std::unique_ptr<char[]>), std::memory_order_relaxed);
  return blocks_.back().get();
}

}  // namespace strata
