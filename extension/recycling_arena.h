// RecyclingArena: a std::pmr::memory_resource for containers that allocate many small
// blocks and drop them all together, such as one transaction's buffered writes
// (transaction_buffer.h).
//
//   - Small blocks (up to kMaxSmallBlock bytes, alignment up to kGranule) are carved from
//     chunks by bumping a pointer: no malloc per block.
//   - A small block given back is kept on a free list of its size class (sizes rounded
//     up to kGranule) and handed out again by the next request of that class, so a
//     container that keeps removing and re-adding entries (a transaction rolling back to
//     a savepoint and redoing the work) reuses its memory instead of growing.
//   - Release() frees everything at once, given back or not: emptying a big container
//     costs no free per block.
// Larger or more aligned blocks come from operator new and go back to it when given back
// (or at Release).
//
// Not thread-safe. Everything allocated from the arena must be gone, or never touched
// again, by the time Release() runs or the arena is destroyed.
//
// May include: the C++ standard library only.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <unordered_map>
#include <vector>

namespace strata::sql {

class RecyclingArena final : public std::pmr::memory_resource {
 public:
  static constexpr size_t kGranule = 8;          // size class width and small-block alignment
  static constexpr size_t kMaxSmallBlock = 512;  // larger blocks come from operator new
  static constexpr size_t kFirstChunk = 4096;
  static constexpr size_t kMaxChunk = size_t{1} << 20;

  RecyclingArena() = default;
  ~RecyclingArena() override;
  RecyclingArena(const RecyclingArena&) = delete;
  RecyclingArena& operator=(const RecyclingArena&) = delete;

  // Frees every chunk and large block; the arena starts over as if new.
  void Release();

  // Bytes the arena holds from the system: chunks plus large blocks.
  size_t bytes_held() const { return chunk_bytes_ + large_bytes_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };

  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  static bool IsSmall(size_t bytes, size_t alignment) {
    return bytes <= kMaxSmallBlock && alignment <= kGranule;
  }
  // Size class of a small block: 1 for 0..8 bytes, 2 for 9..16, ...
  static size_t SizeClass(size_t bytes) {
    return bytes == 0 ? 1 : (bytes + kGranule - 1) / kGranule;
  }
  void* AllocateFromChunk(size_t bytes);

  std::array<FreeBlock*, kMaxSmallBlock / kGranule + 1> free_{};  // by size class
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* next_ = nullptr;  // free space of the newest chunk
  size_t left_ = 0;
  size_t next_chunk_size_ = kFirstChunk;
  size_t chunk_bytes_ = 0;
  std::unordered_map<void*, std::pair<size_t, size_t>> large_;  // block -> (bytes, alignment)
  size_t large_bytes_ = 0;
};

}  // namespace strata::sql
