#include "extension/recycling_arena.h"

#include <algorithm>
#include <new>

namespace strata::sql {

RecyclingArena::~RecyclingArena() { Release(); }

void RecyclingArena::Release() {
  free_.fill(nullptr);
  chunks_.clear();
  next_ = nullptr;
  left_ = 0;
  next_chunk_size_ = kFirstChunk;
  chunk_bytes_ = 0;
  for (const auto& [block, size] : large_) {
    ::operator delete(block, size.first, std::align_val_t(size.second));
  }
  large_.clear();
  large_bytes_ = 0;
}

void* RecyclingArena::AllocateFromChunk(size_t bytes) {
  if (bytes > left_) {
    // The rest of the current chunk (less than one small block) is left unused.
    const size_t size = std::max(next_chunk_size_, bytes);
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(size));  // aligned for any type
    next_ = chunks_.back().get();
    left_ = size;
    chunk_bytes_ += size;
    next_chunk_size_ = std::min(next_chunk_size_ * 2, kMaxChunk);
  }
  void* block = next_;
  next_ += bytes;
  left_ -= bytes;
  return block;
}

void* RecyclingArena::do_allocate(size_t bytes, size_t alignment) {
  if (IsSmall(bytes, alignment)) {
    const size_t size_class = SizeClass(bytes);
    if (FreeBlock* block = free_[size_class]) {
      free_[size_class] = block->next;
      return block;
    }
    // Every small block is a multiple of kGranule, so the bump pointer stays aligned.
    return AllocateFromChunk(size_class * kGranule);
  }
  void* block = ::operator new(bytes, std::align_val_t(alignment));
  large_.emplace(block, std::make_pair(bytes, alignment));
  large_bytes_ += bytes;
  return block;
}

void RecyclingArena::do_deallocate(void* p, size_t bytes, size_t alignment) {
  if (IsSmall(bytes, alignment)) {
    const size_t size_class = SizeClass(bytes);
    auto* block = static_cast<FreeBlock*>(p);
    block->next = free_[size_class];
    free_[size_class] = block;
    return;
  }
  if (large_.erase(p) == 0) return;  // not ours: never happens with a correct caller
  large_bytes_ -= bytes;
  ::operator delete(p, bytes, std::align_val_t(alignment));
}

}  // namespace strata::sql
