#include "lsm/arena.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdint>

namespace strata {

static_assert((Arena::kAlignment & (Arena::kAlignment - 1)) == 0,
              "arena alignment must be a power of two");
// operator new[] must hand out blocks at least as aligned as AllocateAligned promises,
// or the first allocation of a block could be misaligned.
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= Arena::kAlignment);

ArenaBlockPool::~ArenaBlockPool() {
  for (char* block : blocks_) munmap(block, Arena::kHugeBlockSize);
}

char* ArenaBlockPool::Take() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (blocks_.empty()) return nullptr;
  char* block = blocks_.back();
  blocks_.pop_back();
  return block;
}

bool ArenaBlockPool::Give(char* block) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (blocks_.size() >= max_blocks_) return false;
  blocks_.push_back(block);
  return true;
}

size_t ArenaBlockPool::size() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return blocks_.size();
}

Arena::Arena(size_t block_size, std::shared_ptr<ArenaBlockPool> pool)
    : block_size_(block_size < 64 ? 64 : block_size), pool_(std::move(pool)) {}

Arena::~Arena() {
  for (char* block : huge_blocks_) {
    if (pool_ == nullptr || !pool_->Give(block)) munmap(block, kHugeBlockSize);
  }
}

char* Arena::AllocateFallback(size_t bytes) {
  assert(bytes > 0);
  if (bytes == 0) bytes = 1;  // keep results distinct even if the precondition is broken
  const bool huge = MemoryUsage() >= kHugeBlockThreshold && block_size_ < kHugeBlockSize;
  char* block = nullptr;
  size_t block_bytes = 0;
  // A large object gets a block of its own, so the tail of the current block stays
  // usable and at most a quarter of a block is ever wasted.
  if (bytes <= (huge ? kHugeBlockSize : block_size_) / 4) {
    if (huge && (block = AllocateHugeBlock()) != nullptr) block_bytes = kHugeBlockSize;
  }
  if (block == nullptr) {
    if (bytes > block_size_ / 4) return AllocateNewBlock(bytes);
    block = AllocateNewBlock(block_size_);
    block_bytes = block_size_;
  }
  alloc_ptr_ = block + bytes;
  alloc_bytes_remaining_ = block_bytes - bytes;
  return block;
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

char* Arena::AllocateHugeBlock() {
  if (pool_ != nullptr) {
    if (char* block = pool_->Take()) {
      huge_blocks_.push_back(block);
      memory_usage_.fetch_add(kHugeBlockSize + sizeof(char*), std::memory_order_relaxed);
      return block;
    }
  }
  // Map twice the size and keep the aligned middle: mmap only promises page alignment.
  const size_t mapped = 2 * kHugeBlockSize;
  void* memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return nullptr;  // fall back to ordinary blocks
  const auto start = reinterpret_cast<uintptr_t>(memory);
  const uintptr_t aligned = (start + kHugeBlockSize - 1) & ~(uintptr_t{kHugeBlockSize} - 1);
  if (aligned > start) munmap(memory, aligned - start);
  const uintptr_t end = aligned + kHugeBlockSize;
  if (start + mapped > end) munmap(reinterpret_cast<void*>(end), start + mapped - end);
  char* block = reinterpret_cast<char*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(block, kHugeBlockSize, MADV_HUGEPAGE);  // a hint: without it, ordinary pages
#endif
  huge_blocks_.push_back(block);
  memory_usage_.fetch_add(kHugeBlockSize + sizeof(char*), std::memory_order_relaxed);
  return block;
}

char* Arena::AllocateNewBlock(size_t block_bytes) {
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_bytes));
  memory_usage_.fetch_add(block_bytes + sizeof(std::unique_ptr<char[]>), std::memory_order_relaxed);
  return blocks_.back().get();
}

}  // namespace strata
