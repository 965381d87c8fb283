#include "lsm/skiplist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lsm/arena.h"

namespace strata {
namespace {

using Key = uint64_t;

struct KeyComparator {
  int operator()(const Key& a, const Key& b) const { return a < b ? -1 : (a > b ? 1 : 0); }
};

using List = SkipList<Key, KeyComparator>;

TEST(SkipList, EmptyListContainsNothingAndIteratorsAreInvalid) {
  Arena arena;
  List list(KeyComparator(), &arena);
  EXPECT_FALSE(list.Contains(0));
  EXPECT_FALSE(list.Contains(10));
  List::Iterator iter(&list);
  EXPECT_FALSE(iter.Valid());
  iter.SeekToFirst();
  EXPECT_FALSE(iter.Valid());
  iter.SeekToLast();
  EXPECT_FALSE(iter.Valid());
  iter.Seek(100);
  EXPECT_FALSE(iter.Valid());
  iter.SeekForPrev(100);
  EXPECT_FALSE(iter.Valid());
}

// The estimates walk the upper levels only: a small factor off, never wildly.
TEST(SkipList, EstimatedCountsAreWithinASmallFactorOfTheTruth) {
  Arena arena;
  List list(KeyComparator(), &arena);
  EXPECT_EQ(0u, list.EstimateCount());
  EXPECT_EQ(0u, list.EstimateCountLessThan(5));
  for (Key k = 0; k < 20000; k++) list.Insert(k * 2);
  EXPECT_GT(list.EstimateCount(), 20000u / 3);
  EXPECT_LT(list.EstimateCount(), 20000u * 3);
  EXPECT_EQ(0u, list.EstimateCountLessThan(0));
  for (Key below : {Key{4000}, Key{20000}, Key{36000}}) {
    const uint64_t truth = below / 2;
    EXPECT_GT(list.EstimateCountLessThan(below), truth / 3) << below;
    EXPECT_LT(list.EstimateCountLessThan(below), truth * 3) << below;
  }
  EXPECT_LE(list.EstimateCountLessThan(10000), list.EstimateCountLessThan(30000));
}

TEST(SkipList, InsertRejectsAKeyThatIsAlreadyPresent) {
  Arena arena;
  List list(KeyComparator(), &arena);
  EXPECT_TRUE(list.Insert(7));
  EXPECT_FALSE(list.Insert(7));
  EXPECT_TRUE(list.Insert(3));
  List::Iterator iter(&list);
  iter.SeekToFirst();
  ASSERT_TRUE(iter.Valid());
  EXPECT_EQ(3u, iter.key());
  iter.Next();
  ASSERT_TRUE(iter.Valid());
  EXPECT_EQ(7u, iter.key());
  iter.Next();
  EXPECT_FALSE(iter.Valid()) << "the rejected duplicate must not appear";
}

// Positions `iter` as std::set's lower_bound / "last <= target" would and compares.
void ExpectAt(const std::set<Key>& model, std::set<Key>::const_iterator expected,
              const List::Iterator& iter, const std::string& what) {
  if (expected == model.end()) {
    EXPECT_FALSE(iter.Valid()) << what;
  } else {
    ASSERT_TRUE(iter.Valid()) << what;
    EXPECT_EQ(*expected, iter.key()) << what;
  }
}

// Contains and a forward walk agree with model for every key in [0, range].
void ExpectSameKeys(const std::set<Key>& model, const List& list, Key range) {
  for (Key key = 0; key <= range; key++) {
    ASSERT_EQ(model.count(key) == 1, list.Contains(key)) << key;
  }
  List::Iterator iter(&list);
  iter.SeekToFirst();
  for (Key expected : model) {
    ASSERT_TRUE(iter.Valid());
    ASSERT_EQ(expected, iter.key());
    iter.Next();
  }
  EXPECT_FALSE(iter.Valid());
}

TEST(SkipList, MatchesStdSetForRandomInsertsLookupsSeeksAndWalks) {
  constexpr Key kRange = 5000;
  std::mt19937_64 rng(17);
  Arena arena;
  List list(KeyComparator(), &arena);
  std::set<Key> model;
  for (int i = 0; i < 2000; i++) {
    Key key = rng() % kRange;
    ASSERT_EQ(model.insert(key).second, list.Insert(key)) << key;
  }
  ExpectSameKeys(model, list, kRange);
  if (HasFatalFailure()) return;

  List::Iterator iter(&list);

  iter.SeekToLast();
  for (auto it = model.rbegin(); it != model.rend(); ++it) {
    ASSERT_TRUE(iter.Valid());
    ASSERT_EQ(*it, iter.key());
    iter.Prev();
  }
  EXPECT_FALSE(iter.Valid());

  for (Key target = 0; target <= kRange; target++) {
    iter.Seek(target);
    ExpectAt(model, model.lower_bound(target), iter, "Seek " + std::to_string(target));
    iter.SeekForPrev(target);
    auto last_at_most = model.upper_bound(target);
    last_at_most = last_at_most == model.begin() ? model.end() : std::prev(last_at_most);
    ExpectAt(model, last_at_most, iter, "SeekForPrev " + std::to_string(target));
  }

  // Random walks mixing directions, as a merging iterator changing direction does.
  for (int walk = 0; walk < 200; walk++) {
    Key target = rng() % kRange;
    iter.Seek(target);
    auto expected = model.lower_bound(target);
    for (int step = 0; step < 30 && expected != model.end(); step++) {
      ExpectAt(model, expected, iter, "walk " + std::to_string(walk));
      if (rng() % 2 == 0) {
        iter.Next();
        ++expected;
      } else if (expected == model.begin()) {
        iter.Prev();
        EXPECT_FALSE(iter.Valid());
        break;
      } else {
        iter.Prev();
        --expected;
      }
    }
  }
}

// Inserts keys through InsertGroup (the whole vector, at most kMaxGroup) and returns
// what each insert reported.
template <typename List>
std::vector<bool> InsertGroup(List* list, const std::vector<Key>& keys) {
  typename List::Reservation reserved[List::kMaxGroup];
  bool inserted[List::kMaxGroup];
  for (size_t i = 0; i < keys.size(); i++) list->ReserveEntry(0, &reserved[i]);
  list->InsertGroup(keys.data(), reserved, static_cast<int>(keys.size()), inserted);
  return std::vector<bool>(inserted, inserted + keys.size());
}

TEST(SkipList, InsertGroupMatchesStdSetForUnsortedGroupsWithDuplicates) {
  // A small key range makes duplicates common, both within a group and against keys
  // inserted earlier; groups are unsorted and of every size.
  constexpr Key kRange = 3000;
  std::mt19937_64 rng(23);
  Arena arena;
  List list(KeyComparator(), &arena);
  std::set<Key> model;
  int duplicates = 0;
  for (int group = 0; group < 600; group++) {
    std::vector<Key> keys(1 + rng() % List::kMaxGroup);
    for (Key& key : keys) key = rng() % kRange;
    if (rng() % 4 == 0) std::sort(keys.begin(), keys.end());
    std::vector<bool> inserted = InsertGroup(&list, keys);
    for (size_t i = 0; i < keys.size(); i++) {
      bool is_new = model.insert(keys[i]).second;
      duplicates += is_new ? 0 : 1;
      ASSERT_EQ(is_new, inserted[i]) << "group " << group << " key " << keys[i];
    }
  }
  EXPECT_GT(duplicates, 100);
  ExpectSameKeys(model, list, kRange);
}

struct CountingComparator {
  int operator()(const Key& a, const Key& b) const {
    ++*count;
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  uint64_t* count;
};

// A list whose towers do not grow (for example a broken random height) still gives
// right answers, but every search walks the whole bottom level.
TEST(SkipList, SearchesCostLogarithmicComparisonsForRandomAndAscendingKeys) {
  constexpr int kKeys = 20000;
  using CountingList = SkipList<Key, CountingComparator>;
  // Group inserts must build the same towers (a list whose upper levels were not linked
  // would still answer right, but slowly).
  for (bool grouped : {false, true}) {
    for (bool ascending : {false, true}) {
      uint64_t comparisons = 0;
      Arena arena;
      CountingList list(CountingComparator{&comparisons}, &arena);
      std::mt19937_64 rng(5);
      std::vector<Key> group;
      for (int i = 0; i < kKeys; i++) {
        Key key = ascending ? Key(i) : rng();
        if (!grouped) {
          list.Insert(key);
          continue;
        }
        group.push_back(key);
        if (group.size() == CountingList::kMaxGroup) {
          InsertGroup(&list, group);
          group.clear();
        }
      }
      InsertGroup(&list, group);
      comparisons = 0;
      for (int i = 0; i < kKeys; i++) list.Contains(ascending ? Key(i) : rng());
      // Expected about 4 * log4(n) + 1, i.e. 30 per search; a flat list needs thousands.
      EXPECT_LT(comparisons, uint64_t{60} * kKeys)
          << (ascending ? "ascending" : "random") << (grouped ? ", grouped" : "");
    }
  }
}

// ---------------------------------------------------------------------------------
// Concurrent readers, one writer (after LevelDB's ConcurrentTest).
//
// Keys are (k, gen, check): k in [0, kNumKeys) is the "user key", gen counts the
// versions of k the writer inserted (1, 2, ...), and check is a hash of both so a
// reader can tell a real key from torn or garbage memory. Integer order is (k, gen)
// order. The writer publishes "gen g of k is inserted" in committed[k] only after
// Insert returns, so a reader that snapshots committed[] before it starts must see
// every (k, g) with 1 <= g <= snapshot[k]. Generation 0 is never inserted, which makes
// (k, 0) a convenient seek target and lower bound.

constexpr uint64_t kNumKeys = 4;

uint64_t KeyOf(Key key) { return key >> 40; }
uint64_t GenOf(Key key) { return (key >> 8) & 0xffffffffu; }
uint64_t CheckOf(Key key) { return key & 0xff; }

uint64_t CheckFor(uint64_t k, uint64_t gen) {
  uint64_t x = (k << 32) ^ gen ^ 0x9e3779b97f4a7c15ull;  // splitmix64 finalizer
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return (x ^ (x >> 31)) & 0xff;
}

Key MakeKey(uint64_t k, uint64_t gen) { return (k << 40) | (gen << 8) | CheckFor(k, gen); }
bool IsWellFormed(Key key) {
  return KeyOf(key) < kNumKeys && GenOf(key) > 0 &&
         CheckOf(key) == CheckFor(KeyOf(key), GenOf(key));
}
std::string Describe(Key key) {
  std::string result = "(";
  result += std::to_string(KeyOf(key));
  result += ", ";
  result += std::to_string(GenOf(key));
  result += ")";
  return result;
}

// Below and above every key that is ever inserted.
const Key kBeforeAll = MakeKey(0, 0);
const Key kAfterAll = MakeKey(kNumKeys, 0);

using Snapshot = std::array<uint64_t, kNumKeys>;

// If a key committed in `snapshot` lies strictly between lo and hi, returns a
// description of it: a reader that saw lo and then hi next has missed it.
std::string CommittedKeyBetween(Key lo, Key hi, const Snapshot& snapshot) {
  for (uint64_t k = 0; k < kNumKeys; k++) {
    if (k < KeyOf(lo) || k > KeyOf(hi)) continue;
    int64_t first = k == KeyOf(lo) ? int64_t(GenOf(lo)) + 1 : 1;
    int64_t last = k == KeyOf(hi) ? int64_t(GenOf(hi)) - 1 : int64_t(snapshot[k]);
    last = std::min(last, int64_t(snapshot[k]));
    if (first <= last) {
      return "committed key " + Describe(MakeKey(k, first)) + " missing between " + Describe(lo) +
             " and " + Describe(hi);
    }
  }
  return "";
}

TEST(SkipListConcurrency, MissingKeyCheckerFindsGapsAndAcceptsContiguousRuns) {
  Snapshot snapshot = {3, 0, 2, 0};
  EXPECT_EQ("", CommittedKeyBetween(MakeKey(0, 1), MakeKey(0, 2), snapshot));
  EXPECT_NE("", CommittedKeyBetween(MakeKey(0, 1), MakeKey(0, 3), snapshot));
  EXPECT_EQ("", CommittedKeyBetween(MakeKey(0, 3), MakeKey(2, 1), snapshot));
  EXPECT_NE("", CommittedKeyBetween(MakeKey(0, 2), MakeKey(2, 1), snapshot));  // (0, 3)
  EXPECT_NE("", CommittedKeyBetween(MakeKey(0, 3), MakeKey(2, 2), snapshot));  // (2, 1)
  EXPECT_EQ("", CommittedKeyBetween(MakeKey(2, 2), kAfterAll, snapshot));
  EXPECT_NE("", CommittedKeyBetween(MakeKey(2, 1), kAfterAll, snapshot));
  EXPECT_NE("", CommittedKeyBetween(kBeforeAll, MakeKey(0, 2), snapshot));
  EXPECT_EQ("", CommittedKeyBetween(kBeforeAll, MakeKey(0, 1), snapshot));
  // Keys committed after the snapshot may be missed.
  EXPECT_EQ("", CommittedKeyBetween(MakeKey(2, 2), MakeKey(2, 9), snapshot));
}

class ConcurrentListState {
 public:
  ConcurrentListState() : list_(KeyComparator(), &arena_) {
    for (auto& gen : committed_) gen.store(0, std::memory_order_relaxed);
  }

  // Only one thread may write.
  void WriteStep(std::mt19937_64& rng) {
    uint64_t k = rng() % kNumKeys;
    uint64_t gen = committed_[k].load(std::memory_order_relaxed) + 1;
    list_.Insert(MakeKey(k, gen));
    committed_[k].store(gen, std::memory_order_release);
  }

  // Inserts a group of versions (several of one k, possibly), then commits them all;
  // returns how many.
  int WriteGroupStep(std::mt19937_64& rng) {
    std::vector<Key> keys(1 + rng() % List::kMaxGroup);
    Snapshot next;
    for (uint64_t k = 0; k < kNumKeys; k++) next[k] = committed_[k].load(std::memory_order_relaxed);
    for (Key& key : keys) {
      uint64_t k = rng() % kNumKeys;
      key = MakeKey(k, ++next[k]);
    }
    std::shuffle(keys.begin(), keys.end(), rng);
    InsertGroup(&list_, keys);
    for (uint64_t k = 0; k < kNumKeys; k++) committed_[k].store(next[k], std::memory_order_release);
    return static_cast<int>(keys.size());
  }

  // One read pass, forward or backward; returns a description of the first violation.
  std::string ReadStep(std::mt19937_64& rng) {
    Snapshot snapshot;
    for (uint64_t k = 0; k < kNumKeys; k++) {
      snapshot[k] = committed_[k].load(std::memory_order_acquire);
    }
    return rng() % 2 == 0 ? ReadForward(rng, snapshot) : ReadBackward(rng, snapshot);
  }

 private:
  static Key RandomTarget(std::mt19937_64& rng) { return MakeKey(rng() % (kNumKeys + 1), 0); }

  // Checks one step of a pass: the iterator moved from bound `lo` to `hi` (or from `hi`
  // to `lo` going backward), where `seen` is the key it now shows, or nullptr at the
  // end. The key must be well formed, strictly beyond the previous one, and nothing
  // committed may have been skipped.
  static std::string CheckStep(Key lo, Key hi, const Key* seen, const Snapshot& snapshot) {
    if (seen != nullptr) {
      if (!IsWellFormed(*seen)) return "malformed key " + std::to_string(*seen);
      if (!(lo < hi)) return "out of order: " + Describe(lo) + " then " + Describe(hi);
    }
    return CommittedKeyBetween(lo, hi, snapshot);
  }

  std::string ReadForward(std::mt19937_64& rng, const Snapshot& snapshot) {
    List::Iterator iter(&list_);
    Key pos = kBeforeAll;
    if (rng() % 4 == 0) {
      iter.SeekToFirst();
    } else {
      pos = RandomTarget(rng);
      iter.Seek(pos);
    }
    for (int steps = 0; steps < 5000; steps++) {
      Key current = iter.Valid() ? iter.key() : kAfterAll;
      std::string error = CheckStep(pos, current, iter.Valid() ? &current : nullptr, snapshot);
      if (!error.empty()) return "forward: " + error;
      if (!iter.Valid()) break;
      pos = current;
      Key target = RandomTarget(rng);
      if (rng() % 8 == 0 && target > pos) {
        pos = target;  // not inserted, so it is a fine exclusive lower bound
        iter.Seek(target);
      } else {
        iter.Next();
      }
    }
    return "";
  }

  std::string ReadBackward(std::mt19937_64& rng, const Snapshot& snapshot) {
    List::Iterator iter(&list_);
    Key pos = kAfterAll;
    if (rng() % 4 == 0) {
      iter.SeekToLast();
    } else {
      pos = RandomTarget(rng);
      iter.SeekForPrev(pos);
    }
    for (int steps = 0; steps < 500; steps++) {  // Prev costs a search
      Key current = iter.Valid() ? iter.key() : kBeforeAll;
      std::string error = CheckStep(current, pos, iter.Valid() ? &current : nullptr, snapshot);
      if (!error.empty()) return "backward: " + error;
      if (!iter.Valid()) break;
      pos = current;
      iter.Prev();
    }
    return "";
  }

  Arena arena_;
  List list_;
  std::array<std::atomic<uint64_t>, kNumKeys> committed_;
};

TEST(SkipListConcurrency, ReaderChecksHoldWithoutConcurrency) {
  for (bool grouped : {false, true}) {
    ConcurrentListState state;
    std::mt19937_64 rng(99);
    for (int i = 0; i < 3000; i++) {
      ASSERT_EQ("", state.ReadStep(rng)) << "step " << i << (grouped ? ", grouped" : "");
      if (grouped) {
        state.WriteGroupStep(rng);
      } else {
        state.WriteStep(rng);
      }
    }
  }
}

class SkipListConcurrencyTest : public testing::TestWithParam<bool> {};

TEST_P(SkipListConcurrencyTest, ReadersSeeSortedKeysAndEverythingCommittedBeforeTheyStarted) {
  const bool grouped = GetParam();
  constexpr int kReaders = 3;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  ConcurrentListState state;
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::string first_error;
  std::array<uint64_t, kReaders> read_steps{};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; r++) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(1000 + r);
      while (!stop.load(std::memory_order_relaxed)) {
        std::string error = state.ReadStep(rng);
        read_steps[r]++;
        if (!error.empty()) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.empty()) first_error = error;
          stop.store(true);
        }
      }
    });
  }
  std::mt19937_64 rng(7);
  uint64_t writes = 0;
  const auto start = std::chrono::steady_clock::now();
  while (!stop.load(std::memory_order_relaxed)) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    // About 200k inserts a second: enough churn for readers to race with, without
    // filling memory; the pauses also let readers meet a list that is not changing.
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - start);
    if (writes > static_cast<uint64_t>(elapsed.count()) / 5) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    for (int i = 0; i < 100;) {
      if (grouped) {
        i += state.WriteGroupStep(rng);
      } else {
        state.WriteStep(rng);
        i++;
      }
    }
    writes += 100;
  }
  stop.store(true);
  for (auto& reader : readers) reader.join();

  EXPECT_EQ("", first_error);
  EXPECT_GT(writes, 1000u);
  for (int r = 0; r < kReaders; r++) EXPECT_GT(read_steps[r], 10u) << "reader " << r;
}

INSTANTIATE_TEST_SUITE_P(SingleAndGroupInserts, SkipListConcurrencyTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Grouped" : "Single";
                         });

}  // namespace
}  // namespace strata
