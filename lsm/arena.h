// Arena: a bump allocator for the memtable. Memory comes in blocks and is released
// all at once when the arena is destroyed, which is what a memtable needs: entries
// are never freed individually, and skip list nodes stay valid for the memtable's
// whole life, so lock-free readers can hold pointers into it without reference counts.
//
// Allocate* requires external synchronization (the memtable's single writer);
// MemoryUsage() may be read from any thread at any time.
//
// Large arenas switch to huge blocks: once kHugeBlockThreshold bytes are in use, each new
// block is kHugeBlockSize bytes mapped straight from the OS, aligned to its size and
// offered to the kernel as a transparent huge page (madvise). A memtable's skip list is
// searched at random addresses all over its arena; with 4 KiB pages nearly every node
// visited costs a TLB miss as well as a cache miss. Mapped blocks also go back to the OS
// when the arena is destroyed instead of staying in malloc's free lists, or, with an
// ArenaBlockPool, to the pool for the next arena.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace strata {

// Huge blocks kept between arenas: a DB's memtables come and go one after another, and
// a fresh mapping costs a page fault and the kernel zeroing 2 MiB per block (~14% of a
// fill's foreground samples at 1M rows, perf). A destroyed arena gives its huge blocks
// here, up to max_blocks, and the next arena takes them back before mapping new ones.
// Thread-safe: arenas die on whichever thread drops the last reference.
class ArenaBlockPool {
 public:
  explicit ArenaBlockPool(size_t max_blocks) : max_blocks_(max_blocks) {}
  ~ArenaBlockPool();  // unmaps what it holds
  ArenaBlockPool(const ArenaBlockPool&) = delete;
  ArenaBlockPool& operator=(const ArenaBlockPool&) = delete;

  // A kept block, or null if none.
  char* Take();
  // Keeps block if there is room; false means the caller unmaps it.
  bool Give(char* block);
  size_t size() const;

 private:
  const size_t max_blocks_;
  mutable std::mutex mutex_;
  std::vector<char*> blocks_;
};

class Arena {
 public:
  static constexpr size_t kDefaultBlockSize = 4096;
  static constexpr size_t kHugeBlockSize = size_t{2} << 20;  // x86-64's huge page
  static constexpr size_t kHugeBlockThreshold = size_t{4} << 20;
  // Every AllocateAligned result is a multiple of this; enough for any scalar type.
  static constexpr size_t kAlignment = alignof(std::max_align_t);

  // With a pool, huge blocks come from it first and go back to it when the arena dies.
  explicit Arena(size_t block_size = kDefaultBlockSize,
                 std::shared_ptr<ArenaBlockPool> pool = nullptr);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns bytes of uninitialized memory with no alignment guarantee. Requires bytes > 0.
  char* Allocate(size_t bytes);
  // Like Allocate, aligned to kAlignment. Requires bytes > 0.
  char* AllocateAligned(size_t bytes);

  // Bytes obtained from the system (whole blocks, including the unused tail of the
  // current one) plus bookkeeping.
  size_t MemoryUsage() const { return memory_usage_.load(std::memory_order_relaxed); }

 private:
  char* AllocateFallback(size_t bytes);
  char* AllocateNewBlock(size_t block_bytes);
  // A kHugeBlockSize block aligned to its size, or null if the OS refused one.
  char* AllocateHugeBlock();

  const size_t block_size_;
  const std::shared_ptr<ArenaBlockPool> pool_;  // may be null
  // The unused rest of the current block.
  char* alloc_ptr_ = nullptr;
  size_t alloc_bytes_remaining_ = 0;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<char*> huge_blocks_;  // mapped; unmapped by the destructor
  // Relaxed: a reader only needs an estimate, and it is never used to publish memory.
  std::atomic<size_t> memory_usage_{0};
};

inline char* Arena::Allocate(size_t bytes) {
  // Zero-byte allocations would make distinct allocations share an address.
  if (bytes <= alloc_bytes_remaining_ && bytes > 0) {
    char* result = alloc_ptr_;
    alloc_ptr_ += bytes;
    alloc_bytes_remaining_ -= bytes;
    return result;
  }
  return AllocateFallback(bytes);
}

}  // namespace strata
