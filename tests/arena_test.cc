#include "lsm/arena.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace strata {
namespace {

char PatternByte(size_t allocation, size_t offset) {
  return static_cast<char>((allocation * 131 + offset) % 251);
}

TEST(Arena, NewArenaUsesNoMemory) {
  Arena arena;
  EXPECT_EQ(0u, arena.MemoryUsage());
}

TEST(Arena, AllocationsOfManySizesKeepTheirContents) {
  Arena arena;
  std::mt19937 rng(301);
  std::vector<std::pair<size_t, char*>> allocated;
  size_t total_bytes = 0;
  for (size_t i = 0; i < 20000; i++) {
    size_t size;
    if (i % 1000 == 0) {
      size = 1 + rng() % 20000;  // often larger than a block
    } else if (i % 10 == 0) {
      size = 1 + rng() % 2000;  // around the own-block threshold
    } else {
      size = 1 + rng() % 64;
    }
    char* p = (i % 3 == 0) ? arena.AllocateAligned(size) : arena.Allocate(size);
    ASSERT_NE(nullptr, p);
    for (size_t b = 0; b < size; b++) p[b] = PatternByte(i, b);
    allocated.emplace_back(size, p);
    total_bytes += size;
    ASSERT_GE(arena.MemoryUsage(), total_bytes);
  }
  // Waste is bounded: at most a quarter block per block plus alignment padding.
  EXPECT_LE(arena.MemoryUsage(), total_bytes * 1.35 + Arena::kDefaultBlockSize);
  for (size_t i = 0; i < allocated.size(); i++) {
    auto [size, p] = allocated[i];
    for (size_t b = 0; b < size; b++) {
      ASSERT_EQ(PatternByte(i, b), p[b]) << "allocation " << i << " byte " << b;
    }
  }
}

TEST(Arena, AlignedAllocationsAreAlignedAfterOddSizedOnes) {
  Arena arena;
  for (size_t i = 1; i < 3000; i++) {
    arena.Allocate(i % 7 + 1);  // leave the bump pointer at odd offsets
    char* p = arena.AllocateAligned(i % 97 + 1);
    ASSERT_EQ(0u, reinterpret_cast<uintptr_t>(p) % Arena::kAlignment) << "iteration " << i;
  }
  // Also when the aligned allocation is large enough to get its own block.
  char* big = arena.AllocateAligned(Arena::kDefaultBlockSize * 3);
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(big) % Arena::kAlignment);
}

TEST(Arena, SmallAllocationsShareOneBlock) {
  Arena arena;
  char* first = arena.Allocate(10);
  size_t usage = arena.MemoryUsage();
  EXPECT_GE(usage, Arena::kDefaultBlockSize);
  char* second = arena.Allocate(20);
  EXPECT_EQ(first + 10, second);
  EXPECT_EQ(usage, arena.MemoryUsage());
}

TEST(Arena, LargeAllocationThatDoesNotFitGetsItsOwnBlockAndKeepsTheCurrentOne) {
  Arena arena;
  arena.Allocate(1);                    // starts a shared block
  char* filler = arena.Allocate(2999);  // fits in it, and leaves 1096 bytes
  size_t usage_before = arena.MemoryUsage();
  const size_t big_size = 1100;  // more than a quarter block and more than what is left
  char* big = arena.Allocate(big_size);
  size_t usage_after = arena.MemoryUsage();
  EXPECT_GE(usage_after - usage_before, big_size);
  EXPECT_LT(usage_after - usage_before, big_size + 64);  // its size plus bookkeeping
  EXPECT_TRUE(big + big_size <= filler || big >= filler + 2999);
  // The rest of the current block is still used afterwards rather than abandoned.
  EXPECT_EQ(filler + 2999, arena.Allocate(1000));
  EXPECT_EQ(usage_after, arena.MemoryUsage());
}

TEST(Arena, SmallAllocationThatDoesNotFitStartsANewBlock) {
  Arena arena;
  arena.Allocate(1);
  char* filler = arena.Allocate(Arena::kDefaultBlockSize - 10);  // leaves 9 bytes
  size_t usage_before = arena.MemoryUsage();
  char* next = arena.Allocate(20);  // a quarter block or less: worth a fresh block
  EXPECT_TRUE(next + 20 <= filler || next >= filler + Arena::kDefaultBlockSize - 10);
  EXPECT_GE(arena.MemoryUsage() - usage_before, Arena::kDefaultBlockSize);
  // Continues in the new block; the old block's 9-byte tail is abandoned.
  EXPECT_EQ(next + 20, arena.Allocate(9));
}

TEST(Arena, FullBlockIsReplacedByANewOne) {
  Arena arena(1024);
  size_t used = 0;
  while (used + 200 <= 1024) {
    arena.Allocate(200);
    used += 200;
  }
  size_t one_block = arena.MemoryUsage();
  arena.Allocate(200);  // does not fit in the remaining 24 bytes
  EXPECT_EQ(2 * one_block, arena.MemoryUsage());
}

// Past kHugeBlockThreshold bytes an arena takes its blocks kHugeBlockSize at a time,
// aligned to that size (so the kernel can back each with one huge page), and still
// hands large objects blocks of their own.
TEST(Arena, LargeArenaSwitchesToHugeAlignedBlocks) {
  Arena arena;
  std::vector<std::pair<size_t, char*>> allocated;
  size_t i = 0;
  auto allocate = [&](size_t size) {
    char* p = (i % 2 == 0) ? arena.Allocate(size) : arena.AllocateAligned(size);
    for (size_t b = 0; b < size; b++) p[b] = PatternByte(i, b);
    allocated.emplace_back(size, p);
    i++;
    return p;
  };
  while (arena.MemoryUsage() < Arena::kHugeBlockThreshold) allocate(100);
  const size_t before = arena.MemoryUsage();
  // The current small block may have room for a few more: go until a new block starts.
  char* first_in_huge = nullptr;
  while (arena.MemoryUsage() == before) first_in_huge = allocate(100);
  EXPECT_GE(arena.MemoryUsage() - before, Arena::kHugeBlockSize);
  EXPECT_LT(arena.MemoryUsage() - before, Arena::kHugeBlockSize + 64);
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(first_in_huge) % Arena::kHugeBlockSize);

  // Small and medium allocations fill the huge block; one larger than a quarter of it
  // gets its own block and leaves the huge block in use.
  const size_t in_huge = arena.MemoryUsage();
  char* medium = allocate(Arena::kDefaultBlockSize * 2);
  EXPECT_EQ(in_huge, arena.MemoryUsage());
  EXPECT_TRUE(medium > first_in_huge && medium < first_in_huge + Arena::kHugeBlockSize);
  const size_t big = Arena::kHugeBlockSize - 1;  // cannot fit in the used huge block
  allocate(big);
  EXPECT_GE(arena.MemoryUsage() - in_huge, big);
  EXPECT_LT(arena.MemoryUsage() - in_huge, big + 64);
  char* next = allocate(100);
  EXPECT_TRUE(next > first_in_huge && next < first_in_huge + Arena::kHugeBlockSize);

  // Fill past several huge blocks; everything keeps its contents.
  while (arena.MemoryUsage() < in_huge + 3 * Arena::kHugeBlockSize) allocate(1 + i % 300);
  for (size_t n = 0; n < allocated.size(); n++) {
    auto [size, p] = allocated[n];
    for (size_t b = 0; b < size; b++) {
      ASSERT_EQ(PatternByte(n, b), p[b]) << "allocation " << n << " byte " << b;
    }
  }
}

// Allocates from arena until it holds `huge` huge blocks; returns the block starts.
std::set<char*> FillHugeBlocks(Arena* arena, size_t huge) {
  std::set<char*> blocks;
  while (arena->MemoryUsage() < Arena::kHugeBlockThreshold) arena->Allocate(1000);
  while (blocks.size() < huge) {
    char* p = arena->Allocate(1000);
    auto start = reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{Arena::kHugeBlockSize} - 1);
    if (reinterpret_cast<uintptr_t>(p) == start) blocks.insert(p);
  }
  return blocks;
}

// A pooled arena's huge blocks outlive it in the pool (up to the pool's size) and are
// what the next arena gets, with whatever the last one wrote still in them.
TEST(Arena, HugeBlocksGoBackToThePoolAndAreReused) {
  auto pool = std::make_shared<ArenaBlockPool>(2);
  std::set<char*> first;
  {
    Arena arena(Arena::kDefaultBlockSize, pool);
    first = FillHugeBlocks(&arena, 3);
    for (char* block : first) block[Arena::kHugeBlockSize - 1] = 'x';  // still writable
  }
  EXPECT_EQ(2u, pool->size());  // the third was unmapped
  Arena next(Arena::kDefaultBlockSize, pool);
  std::set<char*> second = FillHugeBlocks(&next, 2);
  EXPECT_EQ(0u, pool->size());
  for (char* block : second) EXPECT_EQ(1u, first.count(block)) << "a new mapping, not a pooled one";
  std::set<char*> third = FillHugeBlocks(&next, 3);  // the pool is empty: maps again
  EXPECT_EQ(3u, third.size());
}

TEST(Arena, MemoryUsageIsReadableWhileAllocating) {
  Arena arena;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    size_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      size_t now = arena.MemoryUsage();
      EXPECT_GE(now, last);  // never shrinks
      last = now;
    }
  });
  for (int i = 0; i < 20000; i++) arena.Allocate(1 + i % 500);
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_GE(arena.MemoryUsage(), 20000u);
}

}  // namespace
}  // namespace strata
