// IndexSummary: Narrow's promise (every entry before the range is smaller, every entry
// from its end on larger) on sorted keys of every shape, and the block handles.
#include "lsm/index_summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace strata {
namespace {

// Checks Narrow(probe) against the keys by brute force.
void ExpectNarrowHolds(const IndexSummary& summary, const std::vector<std::string>& keys,
                       const std::string& probe) {
  uint32_t first = 0, limit = 0;
  summary.Narrow(probe, &first, &limit);
  ASSERT_LE(first, limit);
  ASSERT_LE(limit, keys.size());
  for (uint32_t i = 0; i < first; i++) {
    ASSERT_LT(keys[i], probe) << "entry " << i << " before the range [" << first << ", " << limit
                              << ")";
  }
  for (uint32_t i = limit; i < keys.size(); i++) {
    ASSERT_GT(keys[i], probe) << "entry " << i << " after the range [" << first << ", " << limit
                              << ")";
  }
}

IndexSummary Summarize(const std::vector<std::string>& keys, std::string_view smallest,
                       std::string_view largest) {
  IndexSummary summary(smallest, largest);
  uint64_t offset = 0;
  for (const std::string& key : keys) {
    BlockHandle handle{offset, 100 + key.size()};
    summary.Add(key, handle);
    offset = handle.EndWithTrailer();
  }
  summary.Finish();
  return summary;
}

// Keys over a small alphabet (long shared stretches, equal 8-byte windows), with a
// shared prefix on most of them, some shorter than it, some outside it on either side,
// repeated keys (an index may hold one user key several times), and zero bytes (so
// that zero-padding cannot be mistaken for a key byte).
std::vector<std::string> RandomKeys(std::mt19937& rng, size_t n, const std::string& common) {
  std::vector<std::string> keys;
  std::uniform_int_distribution<int> length(0, 14);
  for (size_t i = 0; i < n; i++) {
    // Mostly the shared prefix; else a prefix of it, a key before it or one after it.
    std::string key = common;
    const int kind = static_cast<int>(rng() % 10);
    if (kind == 0) key.assign(common, 0, rng() % (common.size() + 1));
    if (kind == 1) key = "\x01";
    if (kind == 2) key = "\xff\xff";
    int extra = length(rng);
    for (int j = 0; j < extra; j++) key += static_cast<char>("\0ab\xff"[rng() % 4]);
    keys.push_back(key);
    if (rng() % 8 == 0) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(IndexSummary, NarrowKeepsEverySmallerEntryBeforeAndEveryLargerAfter) {
  std::mt19937 rng(3);
  for (const std::string& common : {std::string(), std::string("table:"), std::string("\0\0", 2)}) {
    for (size_t n : {1, 2, 15, 16, 17, 100, 2000}) {
      std::vector<std::string> keys = RandomKeys(rng, n, common);
      // Bounds as a table's properties give them: the first and last key, or a wider
      // range, or none.
      for (int bounds = 0; bounds < 3; bounds++) {
        std::string smallest = bounds == 0 ? keys.front() : (bounds == 1 ? common : "");
        std::string largest = bounds == 0 ? keys.back() : (bounds == 1 ? common + "\xff" : "");
        IndexSummary summary = Summarize(keys, smallest, largest);
        ASSERT_EQ(summary.size(), keys.size());
        for (const std::string& key : keys) {
          ExpectNarrowHolds(summary, keys, key);
          ExpectNarrowHolds(summary, keys, key + '\0');
          ExpectNarrowHolds(summary, keys, key.substr(0, key.size() / 2));
        }
        for (const std::string& probe : RandomKeys(rng, 200, common)) {
          ExpectNarrowHolds(summary, keys, probe);
        }
        ExpectNarrowHolds(summary, keys, "");
        ExpectNarrowHolds(summary, keys, std::string(20, '\xff'));
      }
    }
  }
}

TEST(IndexSummary, DistinctWindowsNarrowToNothingAndLongTiesToTheWholeRun) {
  // Keys differing within the 8 bytes after the shared prefix: no two share a summary,
  // so every probe gets an empty range, at the first entry not below it.
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; i++) {
    char buf[32];
    snprintf(buf, sizeof(buf), "prefix%08d", 3 * i);
    keys.push_back(buf);
  }
  IndexSummary summary = Summarize(keys, keys.front(), keys.back());
  for (int i = 0; i < 3000; i++) {
    char buf[32];
    snprintf(buf, sizeof(buf), "prefix%08d", i);
    uint32_t first, limit;
    summary.Narrow(buf, &first, &limit);
    if (i % 3 == 0) {  // an entry's own key: just that entry
      EXPECT_EQ(first, static_cast<uint32_t>(i / 3)) << buf;
      EXPECT_EQ(limit, first + 1) << buf;
    } else {
      EXPECT_EQ(first, static_cast<uint32_t>((i + 2) / 3)) << buf;
      EXPECT_EQ(limit, first) << buf;
    }
  }

  // Keys equal in the 8 bytes after the prefix: one run of equal summaries, longer than
  // the top array's stride, which the range must cover whole.
  auto p_and_xs = [](size_t xs, std::string_view tail) {
    std::string key = "p";
    key.append(xs, 'x');
    key.append(tail);
    return key;
  };
  std::vector<std::string> tied;
  for (int i = 0; i < 100; i++) tied.push_back(p_and_xs(8, std::to_string(100 + i)));
  const std::string before = p_and_xs(7, "a"), after = p_and_xs(7, "z");
  tied.insert(tied.begin(), before);
  tied.push_back(after);
  IndexSummary tied_summary = Summarize(tied, "p", "p\xff");
  uint32_t first, limit;
  tied_summary.Narrow(tied[50], &first, &limit);
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(limit, 101u);
  ExpectNarrowHolds(tied_summary, tied, tied[50]);
}

TEST(IndexSummary, BlockHandlesFollowTheAddedHandles) {
  IndexSummary summary("a", "z");
  std::vector<BlockHandle> handles;
  uint64_t offset = 0;
  for (uint64_t size : {0, 1, 4096, 70000, 3}) {
    handles.push_back({offset, size});
    summary.Add("k", handles.back());
    offset = handles.back().EndWithTrailer();
  }
  summary.Finish();
  for (uint32_t i = 0; i < handles.size(); i++) {
    EXPECT_EQ(summary.block_handle(i).offset, handles[i].offset) << i;
    EXPECT_EQ(summary.block_handle(i).size, handles[i].size) << i;
  }
  EXPECT_GE(summary.bytes(), (2 * handles.size() + 1) * sizeof(uint64_t));
}

TEST(IndexSummary, EmptySummaryNarrowsToNothing) {
  IndexSummary summary;
  uint32_t first = 7, limit = 7;
  summary.Narrow("anything", &first, &limit);
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(limit, 0u);
  EXPECT_EQ(summary.size(), 0u);
}

}  // namespace
}  // namespace strata
