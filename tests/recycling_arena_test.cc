// RecyclingArena: small blocks come from chunks and are reused by size class after
// being given back; large and over-aligned blocks are plain allocations; Release frees
// everything. Blocks are written in full so that AddressSanitizer sees any overlap or
// use after Release.
#include "extension/recycling_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory_resource>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace strata::sql {
namespace {

TEST(RecyclingArenaTest, SmallBlocksAreAlignedAndDistinct) {
  RecyclingArena arena;
  std::set<uintptr_t> seen;
  for (size_t bytes = 0; bytes <= RecyclingArena::kMaxSmallBlock; bytes++) {
    void* block = arena.allocate(bytes, 1);
    EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(block) % RecyclingArena::kGranule);
    EXPECT_TRUE(seen.insert(reinterpret_cast<uintptr_t>(block)).second);
    std::memset(block, 0xAB, bytes);
  }
  EXPECT_GT(arena.bytes_held(), 0u);
}

TEST(RecyclingArenaTest, GivenBackBlockIsReusedForTheSameSizeClass) {
  RecyclingArena arena;
  void* a = arena.allocate(20, 1);
  void* b = arena.allocate(100, 8);
  arena.deallocate(a, 20, 1);
  arena.deallocate(b, 100, 8);
  EXPECT_EQ(a, arena.allocate(17, 1));  // 17..24 bytes share a class
  EXPECT_EQ(b, arena.allocate(100, 8));
  EXPECT_NE(a, arena.allocate(20, 1));  // the class's free list is empty again
}

TEST(RecyclingArenaTest, RemovingAndAddingEntriesAgainDoesNotGrow) {
  RecyclingArena arena;
  std::pmr::map<int, std::pmr::string> entries(&arena);
  auto fill = [&] {
    for (int i = 0; i < 1000; i++) entries.emplace(i, std::pmr::string(50, 'v', &arena));
  };
  fill();
  entries.clear();
  const size_t held = arena.bytes_held();
  for (int round = 0; round < 50; round++) {
    fill();
    entries.clear();
  }
  EXPECT_EQ(held, arena.bytes_held());
}

TEST(RecyclingArenaTest, LargeAndOverAlignedBlocksAreHeldUntilGivenBack) {
  RecyclingArena arena;
  const size_t before = arena.bytes_held();
  const size_t large = RecyclingArena::kMaxSmallBlock + 1;
  void* big = arena.allocate(large, 1);
  std::memset(big, 1, large);
  void* aligned = arena.allocate(64, 64);
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(aligned) % 64);
  std::memset(aligned, 2, 64);
  EXPECT_EQ(before + large + 64, arena.bytes_held());
  arena.deallocate(big, large, 1);
  arena.deallocate(aligned, 64, 64);
  EXPECT_EQ(before, arena.bytes_held());
}

TEST(RecyclingArenaTest, ReleaseFreesEverythingAndStartsOver) {
  RecyclingArena arena;
  for (int i = 0; i < 10000; i++) std::memset(arena.allocate(48, 8), 0, 48);
  std::memset(arena.allocate(100000, 1), 3, 100000);  // large, never given back
  EXPECT_GT(arena.bytes_held(), 10000u * 48);
  arena.Release();
  EXPECT_EQ(0u, arena.bytes_held());
  void* block = arena.allocate(48, 8);  // works as new
  std::memset(block, 0, 48);
  EXPECT_EQ(RecyclingArena::kFirstChunk, arena.bytes_held());
}

TEST(RecyclingArenaTest, RandomAllocationsNeverOverlap) {
  RecyclingArena arena;
  std::mt19937 random(7);
  struct Block {
    unsigned char* data;
    size_t bytes;
    unsigned char fill;
  };
  std::vector<Block> live;
  for (int step = 0; step < 20000; step++) {
    if (!live.empty() && random() % 3 == 0) {
      size_t i = random() % live.size();
      Block block = live[i];
      for (size_t j = 0; j < block.bytes; j++) ASSERT_EQ(block.fill, block.data[j]) << step;
      arena.deallocate(block.data, block.bytes, 1);
      live[i] = live.back();
      live.pop_back();
    } else {
      size_t bytes = random() % 2 == 0 ? random() % 64 : random() % 1200;
      auto fill = static_cast<unsigned char>(step);
      auto* data = static_cast<unsigned char*>(arena.allocate(bytes, 1));
      std::memset(data, fill, bytes);
      live.push_back({data, bytes, fill});
    }
  }
  for (const Block& block : live) {
    for (size_t j = 0; j < block.bytes; j++) ASSERT_EQ(block.fill, block.data[j]);
  }
}

}  // namespace
}  // namespace strata::sql
