// Blocks: round trips through BlockBuilder and Block's iterator, and decoding of
// malformed blocks (which must end in a Corruption status, never a crash or an
// out-of-bounds read; run under ASan to check the latter).
#include "lsm/block.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lsm/block_builder.h"
#include "lsm/coding.h"
#include "lsm/dbformat.h"

namespace strata {
namespace {

using Model = std::map<std::string, std::string>;

std::string RandomBytes(std::mt19937& rng, size_t min_len, size_t max_len, int alphabet) {
  std::uniform_int_distribution<size_t> len(min_len, max_len);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % alphabet);
  return s;
}

// Keys with long shared prefixes (small alphabet) so prefix compression matters.
Model RandomModel(std::mt19937& rng, int n) {
  Model model;
  while (static_cast<int>(model.size()) < n) {
    model[RandomBytes(rng, 1, 24, 4)] = RandomBytes(rng, 0, 40, 26);
  }
  return model;
}

std::string BuildBlock(const Model& model, int restart_interval) {
  BlockBuilder builder(restart_interval);
  for (const auto& [k, v] : model) builder.Add(k, v);
  return std::string(builder.Finish());
}

// Scans stop after this many entries, so an iterator that fails to advance makes a
// test fail instead of hang.
constexpr size_t kMaxScan = 100000;

std::vector<std::pair<std::string, std::string>> ScanForward(Iterator* it) {
  std::vector<std::pair<std::string, std::string>> out;
  for (it->SeekToFirst(); it->Valid() && out.size() < kMaxScan; it->Next()) {
    out.emplace_back(it->key(), it->value());
  }
  return out;
}

class BlockRoundTrip : public testing::TestWithParam<int> {};

TEST_P(BlockRoundTrip, ScansForwardAndBackwardInKeyOrder) {
  std::mt19937 rng(1);
  Model model = RandomModel(rng, 2000);
  Block block(BuildBlock(model, GetParam()));
  ASSERT_TRUE(block.status().ok()) << block.status().ToString();
  EXPECT_EQ(block.num_entries(), model.size());
  auto it = block.NewIterator(BytewiseComparator());

  std::vector<std::pair<std::string, std::string>> expected(model.begin(), model.end());
  EXPECT_EQ(ScanForward(it.get()), expected);
  EXPECT_TRUE(it->status().ok());

  std::vector<std::pair<std::string, std::string>> backward;
  for (it->SeekToLast(); it->Valid() && backward.size() < kMaxScan; it->Prev()) {
    backward.emplace_back(it->key(), it->value());
  }
  std::reverse(backward.begin(), backward.end());
  EXPECT_EQ(backward, expected);
  EXPECT_TRUE(it->status().ok());
}

TEST_P(BlockRoundTrip, SeekFindsFirstKeyAtOrAfterTarget) {
  std::mt19937 rng(2);
  Model model = RandomModel(rng, 1000);
  Block block(BuildBlock(model, GetParam()));
  auto it = block.NewIterator(BytewiseComparator());
  // Present keys, then random (mostly absent) keys, including ones before the first and
  // after the last key.
  std::vector<std::string> targets;
  for (const auto& entry : model) targets.push_back(entry.first);
  for (int i = 0; i < 1000; i++) targets.push_back(RandomBytes(rng, 0, 24, 5));
  targets.push_back("");
  targets.push_back("zzzz");
  for (const std::string& target : targets) {
    it->Seek(target);
    auto expected = model.lower_bound(target);
    if (expected == model.end()) {
      EXPECT_FALSE(it->Valid()) << target;
      continue;
    }
    ASSERT_TRUE(it->Valid()) << target;
    EXPECT_EQ(it->key(), expected->first);
    EXPECT_EQ(it->value(), expected->second);
    // Stepping from a seek position works both ways.
    it->Prev();
    if (expected == model.begin()) {
      EXPECT_FALSE(it->Valid());
    } else {
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ(it->key(), std::prev(expected)->first);
    }
    it->Seek(target);
    it->Next();
    if (std::next(expected) == model.end()) {
      EXPECT_FALSE(it->Valid());
    } else {
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ(it->key(), std::next(expected)->first);
    }
  }
  EXPECT_TRUE(it->status().ok());
}

TEST_P(BlockRoundTrip, AlternatingNextAndPrevVisitsNeighbours) {
  std::mt19937 rng(3);
  Model model = RandomModel(rng, 300);
  Block block(BuildBlock(model, GetParam()));
  auto it = block.NewIterator(BytewiseComparator());
  std::vector<std::string> keys;
  for (const auto& entry : model) keys.push_back(entry.first);
  it->SeekToFirst();
  for (size_t i = 0; i + 1 < keys.size(); i++) {
    ASSERT_EQ(it->key(), keys[i]);
    it->Next();
    ASSERT_EQ(it->key(), keys[i + 1]);
    it->Prev();
    ASSERT_EQ(it->key(), keys[i]);
    it->Next();
  }
}

INSTANTIATE_TEST_SUITE_P(BlockRestartInterval, BlockRoundTrip, testing::Values(1, 16),
                         [](const testing::TestParamInfo<int>& info) {
                           return "Every" + std::to_string(info.param);
                         });

TEST(Block, EmptyBlockHasNoEntries) {
  BlockBuilder builder(16);
  EXPECT_TRUE(builder.empty());
  Block block{std::string(builder.Finish())};
  ASSERT_TRUE(block.status().ok()) << block.status().ToString();
  EXPECT_EQ(block.num_entries(), 0u);
  auto it = block.NewIterator(BytewiseComparator());
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(Block, BuilderResetStartsAFreshBlock) {
  BlockBuilder builder(2);
  builder.Add("x1", "old");
  builder.Add("x2", "old");
  builder.Finish();
  builder.Reset();
  builder.Add("a", "1");
  builder.Add("b", "2");
  Block block{std::string(builder.Finish())};
  auto it = block.NewIterator(BytewiseComparator());
  std::vector<std::pair<std::string, std::string>> expected = {{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(ScanForward(it.get()), expected);
}

TEST(Block, SizeEstimateMatchesFinishedSize) {
  std::mt19937 rng(4);
  Model model = RandomModel(rng, 100);
  BlockBuilder builder(16);
  for (const auto& [k, v] : model) builder.Add(k, v);
  size_t estimate = builder.CurrentSizeEstimate();
  EXPECT_EQ(builder.Finish().size(), estimate);
}

TEST(Block, PrefixCompressionSharesKeyPrefixes) {
  BlockBuilder compressed(16), uncompressed(1);
  for (int i = 0; i < 100; i++) {
    std::string key = "a-rather-long-common-prefix-" + std::to_string(1000 + i);
    compressed.Add(key, "v");
    uncompressed.Add(key, "v");
  }
  EXPECT_LT(compressed.Finish().size() * 2, uncompressed.Finish().size());
}

// --- Malformed blocks -----------------------------------------------------------

// Exercises every operation; returns normally whatever the block holds. Each entry takes
// at least 3 bytes, so a scan of a block of n bytes that makes more than n steps loops.
void ExerciseIterator(const Block& block, const std::vector<std::string>& targets) {
  auto it = block.NewIterator(BytewiseComparator());
  size_t steps = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSERT_LE(++steps, block.size()) << "forward scan does not terminate";
  }
  EXPECT_TRUE(it->status().ok() || it->status().IsCorruption()) << it->status().ToString();
  steps = 0;
  auto back = block.NewIterator(BytewiseComparator());
  for (back->SeekToLast(); back->Valid(); back->Prev()) {
    ASSERT_LE(++steps, block.size()) << "backward scan does not terminate";
  }
  EXPECT_TRUE(back->status().ok() || back->status().IsCorruption());
  for (const std::string& target : targets) {
    auto seek = block.NewIterator(BytewiseComparator());
    seek->Seek(target);
    for (int i = 0; i < 3 && seek->Valid(); i++) seek->Next();
    if (seek->Valid()) seek->Prev();
    EXPECT_TRUE(seek->status().ok() || seek->status().IsCorruption());
    // A failed iterator stays invalid.
    if (!seek->status().ok()) {
      seek->SeekToFirst();
      EXPECT_FALSE(seek->Valid());
    }
  }
  if (!block.status().ok()) {
    EXPECT_TRUE(block.status().IsCorruption());
  }
}

TEST(BlockCorruption, RandomByteFlipsNeverCrash) {
  std::mt19937 rng(5);
  Model model = RandomModel(rng, 60);
  std::vector<std::string> targets;
  for (int i = 0; i < 5; i++) targets.push_back(RandomBytes(rng, 0, 10, 4));
  for (int interval : {1, 4, 16}) {
    const std::string good = BuildBlock(model, interval);
    int detected = 0;
    for (int trial = 0; trial < 3000; trial++) {
      std::string bad = good;
      int flips = 1 + trial % 3;
      for (int f = 0; f < flips; f++) {
        bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      Block block(std::move(bad));
      if (!block.status().ok()) detected++;
      ASSERT_NO_FATAL_FAILURE(ExerciseIterator(block, targets));
    }
    // Flips in lengths and restart offsets must be noticed (most flips hit key or value
    // bytes, which only a checksum outside the block can catch).
    EXPECT_GT(detected, 0) << "interval " << interval;
  }
}

TEST(BlockCorruption, TruncationsNeverCrash) {
  std::mt19937 rng(6);
  Model model = RandomModel(rng, 60);
  std::vector<std::string> targets = {"", "a", "bbb", "dddddddd"};
  const std::string good = BuildBlock(model, 4);
  for (size_t len = 0; len < good.size(); len++) {
    Block block(good.substr(0, len));
    ASSERT_NO_FATAL_FAILURE(ExerciseIterator(block, targets));
    // Cutting the end cuts the restart count: the structure cannot check out.
    EXPECT_TRUE(block.status().IsCorruption()) << "length " << len;
  }
}

std::string BlockWithRestarts(std::string entries, std::vector<uint32_t> restarts) {
  for (uint32_t r : restarts) PutFixed32(&entries, r);
  PutFixed32(&entries, static_cast<uint32_t>(restarts.size()));
  return entries;
}

std::string Entry(uint32_t shared, uint32_t non_shared, uint32_t value_length,
                  std::string_view bytes) {
  std::string e;
  PutVarint32(&e, shared);
  PutVarint32(&e, non_shared);
  PutVarint32(&e, value_length);
  e.append(bytes);
  return e;
}

TEST(BlockCorruption, MalformedStructuresAreReportedAsCorruption) {
  struct Case {
    const char* name;
    std::string contents;
  };
  std::string ab = Entry(0, 2, 1, "abv");
  std::vector<Case> cases = {
      {"shorter than the restart count", "abc"},
      {"zero restarts", BlockWithRestarts(ab, {})},
      {"more restarts than fit", ab + std::string("\xff\xff\x00\x00", 4)},
      {"first restart not at 0", BlockWithRestarts(ab, {1})},
      {"restart past the entries", BlockWithRestarts(ab, {0, 100})},
      {"restart inside an entry", BlockWithRestarts(ab + ab, {0, 2})},
      {"restarts out of order",
       BlockWithRestarts(ab + Entry(0, 2, 1, "cdv") + Entry(0, 2, 1, "efv"), {0, 12, 6})},
      {"shared prefix at a restart", BlockWithRestarts(ab + Entry(1, 1, 1, "cv"), {0, 6})},
      {"shared longer than the previous key", BlockWithRestarts(ab + Entry(3, 1, 1, "cv"), {0})},
      {"value runs past the entries", BlockWithRestarts(Entry(0, 2, 9, "abv"), {0})},
      {"key runs past the entries", BlockWithRestarts(Entry(0, 200, 0, "ab"), {0})},
      {"huge lengths that overflow 32 bits",
       BlockWithRestarts(Entry(0, 0xffffffffu, 0xffffffffu, "ab"), {0})},
      {"truncated varint", BlockWithRestarts("\x80\x80", {0})},
  };
  for (const Case& c : cases) {
    Block block(c.contents);
    EXPECT_TRUE(block.status().IsCorruption()) << c.name << ": " << block.status().ToString();
    auto it = block.NewIterator(BytewiseComparator());
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid()) << c.name;
    EXPECT_TRUE(it->status().IsCorruption()) << c.name;
    it->Seek("a");
    EXPECT_FALSE(it->Valid()) << c.name;
  }
  // The well-formed base case, so the cases above fail for the reason they name.
  Block good(BlockWithRestarts(ab + Entry(1, 1, 1, "cv"), {0}));
  ASSERT_TRUE(good.status().ok()) << good.status().ToString();
  auto it = good.NewIterator(BytewiseComparator());
  EXPECT_EQ(ScanForward(it.get()),
            (std::vector<std::pair<std::string, std::string>>{{"ab", "v"}, {"ac", "v"}}));
}

TEST(Block, MinKeyLengthIsShortestKey) {
  BlockBuilder builder(16);
  builder.Add("abcdef", "");
  builder.Add("abd", "");
  builder.Add("abdzzzz", "");
  Block block{std::string(builder.Finish())};
  EXPECT_EQ(block.min_key_length(), 3u);
}

// A block's buffer is handed on only by its last owner: a reference kept elsewhere (a
// block cache, another reader) keeps the block whole.
TEST(Block, RecycleHandsOnTheBufferOnlyFromTheLastOwner) {
  Model model;
  model["apple"] = "1";
  model["banana"] = "2";
  const std::string contents = BuildBlock(model, 4);
  std::shared_ptr<const Block> block = std::make_shared<Block>(contents);
  std::shared_ptr<const Block> other = block;
  std::string spare = "untouched";
  Block::Recycle(&block, &spare);
  EXPECT_EQ(block, nullptr);
  EXPECT_EQ(spare, "untouched");
  std::unique_ptr<Iterator> it = other->NewIterator(BytewiseComparator());
  EXPECT_EQ(ScanForward(it.get()), (std::vector<std::pair<std::string, std::string>>(
                                       model.begin(), model.end())));
  it.reset();

  Block::Recycle(&other, &spare);
  EXPECT_EQ(other, nullptr);
  EXPECT_EQ(spare, contents);
}

TEST(Block, RecycleKeepsNoOversizedBuffer) {
  std::string big(Block::kMaxRecycledCapacity + 1, 'x');
  BlockBuilder builder(16);
  builder.Add("k", big);
  std::shared_ptr<const Block> block = std::make_shared<Block>(std::string(builder.Finish()));
  ASSERT_TRUE(block->status().ok());
  std::string spare;
  Block::Recycle(&block, &spare);
  EXPECT_EQ(block, nullptr);
  EXPECT_TRUE(spare.empty());
}

}  // namespace
}  // namespace strata
