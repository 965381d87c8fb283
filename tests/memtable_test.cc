#include "lsm/memtable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "lsm/dbformat.h"

namespace strata {
namespace {

using namespace std::string_literals;

std::string InternalKey(std::string_view user_key, SequenceNumber seq, ValueType type) {
  std::string key;
  AppendInternalKey(&key, user_key, seq, type);
  return key;
}

// What Get answered, in one comparable string: "value:<v>", "deleted" or "absent".
std::string GetResult(const MemTable& memtable, std::string_view user_key, SequenceNumber seq) {
  std::string value = "untouched";
  Status status = Status::Corruption("untouched");
  if (!memtable.Get(LookupKey(user_key, seq), &value, &status)) return "absent";
  if (status.ok()) return "value:" + value;
  if (status.IsNotFound()) return "deleted";
  return "unexpected status " + status.ToString();
}

struct Entry {
  std::string user_key;
  SequenceNumber seq;
  ValueType type;
  std::string value;
};

// The iterator's whole contents, forward.
std::vector<Entry> Scan(const MemTable& memtable) {
  std::vector<Entry> entries;
  auto iter = memtable.NewIterator();
  for (iter->SeekToFirst(); iter->Valid(); iter->Next()) {
    ParsedInternalKey parsed;
    EXPECT_TRUE(ParseInternalKey(iter->key(), &parsed));
    entries.push_back(
        {std::string(parsed.user_key), parsed.sequence, parsed.type, std::string(iter->value())});
  }
  EXPECT_TRUE(iter->status().ok());
  return entries;
}

TEST(MemTable, NewMemTableIsEmptyAndFindsNothing) {
  MemTable memtable;
  EXPECT_TRUE(memtable.empty());
  EXPECT_EQ("absent", GetResult(memtable, "a", kMaxSequenceNumber));
  EXPECT_EQ("absent", GetResult(memtable, "", kMaxSequenceNumber));
  auto iter = memtable.NewIterator();
  iter->SeekToFirst();
  EXPECT_FALSE(iter->Valid());
  iter->SeekToLast();
  EXPECT_FALSE(iter->Valid());
  iter->Seek(InternalKey("a", 5, ValueType::kValue));
  EXPECT_FALSE(iter->Valid());
  EXPECT_TRUE(iter->status().ok());
}

TEST(MemTable, AddMakesItNonEmpty) {
  MemTable memtable;
  memtable.Add(1, ValueType::kDeletion, "k", "");
  EXPECT_FALSE(memtable.empty());
}

TEST(MemTable, GetReturnsTheNewestVersionVisibleAtEachSnapshot) {
  MemTable memtable;
  memtable.Add(10, ValueType::kValue, "key", "v10");
  memtable.Add(30, ValueType::kValue, "key", "v30");
  memtable.Add(50, ValueType::kDeletion, "key", "");
  memtable.Add(70, ValueType::kValue, "key", "v70");
  memtable.Add(20, ValueType::kValue, "other", "o20");  // interleaved sequences of another key

  EXPECT_EQ("absent", GetResult(memtable, "key", 0));
  EXPECT_EQ("absent", GetResult(memtable, "key", 9));
  EXPECT_EQ("value:v10", GetResult(memtable, "key", 10));
  EXPECT_EQ("value:v10", GetResult(memtable, "key", 29));
  EXPECT_EQ("value:v30", GetResult(memtable, "key", 30));
  EXPECT_EQ("value:v30", GetResult(memtable, "key", 49));
  EXPECT_EQ("deleted", GetResult(memtable, "key", 50));
  EXPECT_EQ("deleted", GetResult(memtable, "key", 69));
  EXPECT_EQ("value:v70", GetResult(memtable, "key", 70));
  EXPECT_EQ("value:v70", GetResult(memtable, "key", kMaxSequenceNumber));
  EXPECT_EQ("absent", GetResult(memtable, "other", 19));
  EXPECT_EQ("value:o20", GetResult(memtable, "other", 20));
}

TEST(MemTable, GetOfMissingKeysIsAbsentEvenNextToPresentOnes) {
  MemTable memtable(4096);
  memtable.Add(1, ValueType::kValue, "abc", "x");
  memtable.Add(2, ValueType::kValue, "abe", "y");
  for (const std::string& missing :
       std::vector<std::string>{"", "a", "ab", "abb", "abcd", "abd", "abf", "b", "abc\0"s}) {
    EXPECT_EQ("absent", GetResult(memtable, missing, kMaxSequenceNumber))
        << "'" << missing << "' size " << missing.size();
  }
  EXPECT_EQ("value:x", GetResult(memtable, "abc", kMaxSequenceNumber));
  EXPECT_EQ("value:y", GetResult(memtable, "abe", kMaxSequenceNumber));
}

TEST(MemTable, EmptyValueIsDistinctFromDeletion) {
  MemTable memtable;
  memtable.Add(1, ValueType::kValue, "empty", "");
  memtable.Add(2, ValueType::kDeletion, "deleted", "");
  memtable.Add(3, ValueType::kValue, "deleted-then-emptied", "old");
  memtable.Add(4, ValueType::kDeletion, "deleted-then-emptied", "");
  memtable.Add(5, ValueType::kValue, "deleted-then-emptied", "");
  EXPECT_EQ("value:", GetResult(memtable, "empty", 1));
  EXPECT_EQ("deleted", GetResult(memtable, "deleted", 2));
  EXPECT_EQ("deleted", GetResult(memtable, "deleted-then-emptied", 4));
  EXPECT_EQ("value:", GetResult(memtable, "deleted-then-emptied", 5));
  EXPECT_EQ("value:old", GetResult(memtable, "deleted-then-emptied", 3));
}

TEST(MemTable, BinaryKeysWithZeroBytesAreDistinctAndOrderedBytewise) {
  MemTable memtable;
  const std::vector<std::string> keys = {"\0"s, "\0\0"s, "a"s, "a\0"s, "a\0b"s, "a\xff"s, "\xff"s};
  SequenceNumber seq = 100;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {  // insertion order != key order
    memtable.Add(seq--, ValueType::kValue, *it, "value of " + *it);
  }
  for (const auto& key : keys) {
    EXPECT_EQ("value:value of " + key, GetResult(memtable, key, kMaxSequenceNumber))
        << "key size " << key.size();
  }
  EXPECT_EQ("absent", GetResult(memtable, "a\0a"s, kMaxSequenceNumber));
  std::vector<Entry> scanned = Scan(memtable);
  ASSERT_EQ(keys.size(), scanned.size());
  for (size_t i = 0; i < keys.size(); i++) EXPECT_EQ(keys[i], scanned[i].user_key) << i;
}

TEST(MemTable, IteratorYieldsKeysAscendingAndVersionsNewestFirst) {
  MemTable memtable;
  memtable.Add(5, ValueType::kValue, "b", "b5");
  memtable.Add(1, ValueType::kValue, "a", "a1");
  memtable.Add(9, ValueType::kDeletion, "b", "");
  memtable.Add(7, ValueType::kValue, "b", "b7");
  memtable.Add(3, ValueType::kValue, "c", "c3");
  memtable.Add(2, ValueType::kValue, "a", "a2");

  const std::vector<std::tuple<std::string, SequenceNumber, ValueType, std::string>> expected = {
      {"a", 2, ValueType::kValue, "a2"},  {"a", 1, ValueType::kValue, "a1"},
      {"b", 9, ValueType::kDeletion, ""}, {"b", 7, ValueType::kValue, "b7"},
      {"b", 5, ValueType::kValue, "b5"},  {"c", 3, ValueType::kValue, "c3"},
  };
  auto iter = memtable.NewIterator();
  iter->SeekToFirst();
  for (const auto& [user_key, seq, type, value] : expected) {
    ASSERT_TRUE(iter->Valid());
    EXPECT_EQ(InternalKey(user_key, seq, type), iter->key());
    EXPECT_EQ(value, iter->value());
    iter->Next();
  }
  EXPECT_FALSE(iter->Valid());

  iter->SeekToLast();
  for (auto it = expected.rbegin(); it != expected.rend(); ++it) {
    ASSERT_TRUE(iter->Valid());
    EXPECT_EQ(InternalKey(std::get<0>(*it), std::get<1>(*it), std::get<2>(*it)), iter->key());
    EXPECT_EQ(std::get<3>(*it), iter->value());
    iter->Prev();
  }
  EXPECT_FALSE(iter->Valid());
  EXPECT_TRUE(iter->status().ok());
}

TEST(MemTable, SeekLandsOnTheNewestVersionAtOrBelowTheTargetSequence) {
  MemTable memtable;
  memtable.Add(5, ValueType::kValue, "b", "b5");
  memtable.Add(7, ValueType::kValue, "b", "b7");
  memtable.Add(9, ValueType::kValue, "b", "b9");
  memtable.Add(3, ValueType::kValue, "c", "c3");
  auto iter = memtable.NewIterator();

  iter->Seek(InternalKey("b", 8, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(InternalKey("b", 7, ValueType::kValue), iter->key());
  EXPECT_EQ("b7", iter->value());

  iter->Seek(InternalKey("b", kMaxSequenceNumber, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ("b9", iter->value());

  // Below every version of b: moves on to the next user key.
  iter->Seek(InternalKey("b", 4, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(InternalKey("c", 3, ValueType::kValue), iter->key());

  iter->Seek(InternalKey("a", 100, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ("b9", iter->value());

  iter->Seek(InternalKey("c", 2, kValueTypeForSeek));
  EXPECT_FALSE(iter->Valid());

  // A longer target after shorter ones, then shorter again: the reused scratch buffer
  // must not leak bytes from the previous target.
  iter->Seek(InternalKey(std::string(300, 'b'), 1, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ("c3", iter->value());
  iter->Seek(InternalKey("b", 6, kValueTypeForSeek));
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ("b5", iter->value());
  EXPECT_TRUE(iter->status().ok());
}

TEST(MemTable, SeekToATargetShorterThanAnInternalKeyIsAnInvalidArgument) {
  MemTable memtable;
  memtable.Add(1, ValueType::kValue, "a", "x");
  auto iter = memtable.NewIterator();
  iter->SeekToFirst();
  ASSERT_TRUE(iter->Valid());
  iter->Seek("short");
  EXPECT_FALSE(iter->Valid());
  EXPECT_TRUE(iter->status().IsInvalidArgument()) << iter->status().ToString();
  // The error describes the failed seek; repositioning clears it.
  iter->SeekToFirst();
  ASSERT_TRUE(iter->Valid());
  EXPECT_TRUE(iter->status().ok());
}

TEST(MemTable, LargeKeysAndValuesRoundTrip) {
  MemTable memtable;
  std::string big_key(10000, 'k');
  big_key[5000] = '\0';
  std::string big_value(100000, '\0');
  for (size_t i = 0; i < big_value.size(); i++) big_value[i] = static_cast<char>(i * 7);
  memtable.Add(1, ValueType::kValue, big_key, big_value);
  memtable.Add(2, ValueType::kValue, "small", "s");
  EXPECT_EQ("value:" + big_value, GetResult(memtable, big_key, 1));
  EXPECT_EQ("value:s", GetResult(memtable, "small", 2));
  auto iter = memtable.NewIterator();
  iter->SeekToFirst();
  ASSERT_TRUE(iter->Valid());
  EXPECT_EQ(InternalKey(big_key, 1, ValueType::kValue), iter->key());
  EXPECT_EQ(big_value, iter->value());
}

// Past a few MiB, values longer than 16 bytes are stored out of line (the entry holds a
// pointer): entries written before and after the switch, values on both sides of 16
// bytes, empty ones, deletions and a value larger than an arena block all read back.
TEST(MemTable, ValuesReadBackOnBothSidesOfTheSwitchToOutOfLineValues) {
  MemTable memtable;
  std::mt19937 rng(9);
  std::map<std::string, std::string> model;  // "" marks a deletion
  auto value_for = [&](int i) {
    size_t size = i % 97 == 0 ? 5000 + i % 3000 : (i * 7) % 41;  // 0..40, sometimes KiBs
    std::string v(size, '\0');
    for (size_t b = 0; b < size; b++) v[b] = static_cast<char>(rng());
    return v;
  };
  int i = 0;
  // Until well past the switch (4 MiB of entries), then some more.
  while (memtable.ApproximateMemoryUsage() < (size_t{12} << 20)) {
    std::string key = "key" + std::to_string(rng() % 200000);
    if (i % 13 == 0) {
      memtable.Add(i + 1, ValueType::kDeletion, key, "");
      model[key] = "";
    } else {
      std::string v = value_for(i);
      memtable.Add(i + 1, ValueType::kValue, key, v);
      model[key] = "value:" + v;
    }
    i++;
  }
  const SequenceNumber latest = static_cast<SequenceNumber>(i);
  for (const auto& [key, expected] : model) {
    ASSERT_EQ(expected.empty() ? "deleted" : expected, GetResult(memtable, key, latest)) << key;
  }
  // The newest entry of each key, through the iterator.
  std::map<std::string, std::string> scanned;
  for (const Entry& e : Scan(memtable)) {
    if (scanned.count(e.user_key) == 0) {
      scanned[e.user_key] = e.type == ValueType::kDeletion ? "" : "value:" + e.value;
    }
  }
  EXPECT_TRUE(scanned == model);
}

TEST(MemTable, ApproximateMemoryUsageGrowsWithTheData) {
  MemTable memtable;
  size_t initial = memtable.ApproximateMemoryUsage();
  std::string value(100, 'v');
  for (int i = 0; i < 1000; i++) {
    memtable.Add(i + 1, ValueType::kValue, "key" + std::to_string(i), value);
  }
  size_t after = memtable.ApproximateMemoryUsage();
  EXPECT_GE(after - initial, 1000u * (value.size() + 8));
  EXPECT_LE(after, 1000u * (value.size() + 200) + initial);  // bounded overhead per entry
}

// The backbone: random adds, single and grouped, against a simple model, checked by Get
// at random snapshots and by a full scan.
// The key filter (MemTable(filter_bytes)) must never hide an entry: the model and
// concurrency tests run without one, with one saturated at once (a single 64-byte line)
// and with a roomy one.
class MemTableWithFilter : public testing::TestWithParam<size_t> {};

INSTANTIATE_TEST_SUITE_P(FilterBytes, MemTableWithFilter, testing::Values(0, 64, 64 * 1024));

TEST_P(MemTableWithFilter, MatchesAModelUnderRandomAddsAndSnapshotReads) {
  std::mt19937_64 rng(2024);
  MemTable memtable(GetParam());
  // (user key, sequence) -> (type, value); the model of everything added.
  std::map<std::pair<std::string, SequenceNumber>, std::pair<ValueType, std::string>> model;
  auto random_key = [&] {
    std::string key(rng() % 4, '\0');
    for (char& c : key) c = "ab\0\xff"[rng() % 4];
    return key;
  };
  SequenceNumber seq = 0;
  std::vector<Entry> added;
  for (int i = 0; i < 3000; i++) {
    seq += 1 + rng() % 3;
    std::string key = random_key();
    ValueType type = rng() % 4 == 0 ? ValueType::kDeletion : ValueType::kValue;
    std::string value =
        type == ValueType::kValue ? std::string(rng() % 5, 'x') + std::to_string(i) : "";
    added.push_back({key, seq, type, value});
    model[{key, seq}] = {type, value};
  }
  // One at a time (Add) and in groups of up to 40 (AddGroup, which links 16 at a time),
  // in an order that is not the sequence order.
  std::shuffle(added.begin(), added.end(), rng);
  for (size_t i = 0; i < added.size();) {
    const size_t n = std::min<size_t>(added.size() - i, 1 + rng() % 40);
    if (n == 1) {
      memtable.Add(added[i].seq, added[i].type, added[i].user_key, added[i].value);
    } else {
      std::vector<MemTableEntry> group;
      for (size_t j = i; j < i + n; j++) {
        group.push_back({added[j].seq, added[j].type, added[j].user_key, added[j].value});
      }
      memtable.AddGroup(group.data(), group.size());
    }
    i += n;
  }

  for (int i = 0; i < 3000; i++) {
    std::string key = random_key();
    SequenceNumber snapshot = rng() % (seq + 2);
    std::string expected = "absent";
    for (const auto& [key_and_seq, entry] : model) {
      if (key_and_seq.first == key && key_and_seq.second <= snapshot) {
        // The map is ascending by sequence within a key: the last match is the newest.
        expected = entry.first == ValueType::kValue ? "value:" + entry.second : "deleted";
      }
    }
    ASSERT_EQ(expected, GetResult(memtable, key, snapshot))
        << "key size " << key.size() << " snapshot " << snapshot;
  }

  std::vector<Entry> scanned = Scan(memtable);
  ASSERT_EQ(model.size(), scanned.size());
  // Expected scan order: user key ascending, sequence descending.
  std::vector<Entry> expected;
  for (const auto& [key_and_seq, entry] : model) {
    expected.push_back({key_and_seq.first, key_and_seq.second, entry.first, entry.second});
  }
  std::stable_sort(expected.begin(), expected.end(), [](const Entry& a, const Entry& b) {
    return a.user_key != b.user_key ? a.user_key < b.user_key : a.seq > b.seq;
  });
  for (size_t i = 0; i < expected.size(); i++) {
    ASSERT_EQ(expected[i].user_key, scanned[i].user_key) << i;
    ASSERT_EQ(expected[i].seq, scanned[i].seq) << i;
    ASSERT_EQ(expected[i].type, scanned[i].type) << i;
    ASSERT_EQ(expected[i].value, scanned[i].value) << i;
  }
}

// Readers must see an entry's bytes complete once Add has returned: the entry is
// written into the arena before the skip list publishes a pointer to it.
// With a filter, a reader must also see the key's filter bits of every finished Add.
TEST_P(MemTableWithFilter, ConcurrentReadersSeeCompleteEntriesOfFinishedAdds) {
  MemTable memtable(GetParam());
  std::atomic<SequenceNumber> last_added{0};
  std::atomic<bool> stop{false};
  constexpr int kWrites = 20000;
  // Mostly new keys (their filter bits set by the Add the reader just saw finish), some
  // repeated ones (older versions that must be skipped).
  auto key_for = [](SequenceNumber seq) { return "key" + std::to_string(seq % 9973); };
  auto value_for = [](SequenceNumber seq) { return "value" + std::to_string(seq); };

  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int r = 0; r < 2; r++) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      while (!stop.load(std::memory_order_relaxed)) {
        SequenceNumber seq = last_added.load(std::memory_order_acquire);
        if (seq == 0) continue;
        SequenceNumber probe = 1 + rng() % seq;
        // The newest version of probe's key at snapshot `probe` is exactly `probe`.
        std::string value;
        Status status;
        if (!memtable.Get(LookupKey(key_for(probe), probe), &value, &status) || !status.ok() ||
            value != value_for(probe)) {
          failures++;
        }
        auto iter = memtable.NewIterator();
        iter->Seek(InternalKey(key_for(probe), probe, kValueTypeForSeek));
        if (!iter->Valid() || iter->value() != value_for(probe)) failures++;
      }
    });
  }
  for (SequenceNumber seq = 1; seq <= kWrites; seq++) {
    memtable.Add(seq, ValueType::kValue, key_for(seq), value_for(seq));
    last_added.store(seq, std::memory_order_release);
  }
  stop.store(true);
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(0, failures.load());
}

}  // namespace
}  // namespace strata
