// TransactionBuffer: buffered puts and deletes with SQLite savepoints, checked against a
// model that copies the whole state at every savepoint; and the merged iterator,
// checked against a std::map of the merged contents by random walks in both
// directions, with bounds, base errors, and the buffer changing under the iterator.
//
// STRATA_BUFFER_ROUNDS=n runs n random rounds per model test instead of the default.
#include "extension/transaction_buffer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lsm/dbformat.h"
#include "strata/db.h"
#include "strata/env.h"
#include "tests/support/vector_iterator.h"

namespace strata::sql {
namespace {

using Lookup = TransactionBuffer::Lookup;
using BufferState = std::map<std::string, std::optional<std::string>>;  // nullopt: deleted

int Rounds(int default_rounds) {
  const char* env = std::getenv("STRATA_BUFFER_ROUNDS");
  return env != nullptr ? std::atoi(env) : default_rounds;
}

std::string Describe(const TransactionBuffer& buffer, std::string_view key) {
  std::string value;
  switch (buffer.Get(key, &value)) {
    case Lookup::kAbsent:
      return "ABSENT";
    case Lookup::kDeleted:
      return "DELETED";
    case Lookup::kValue:
      return "=" + value;
  }
  return "?";
}

// Appended rather than built with operator+, which trips a false -Wrestrict in g++ 12.
std::string Trace(int round, int step) {
  std::string trace = "round ";
  trace += std::to_string(round);
  trace += " step ";
  trace += std::to_string(step);
  return trace;
}

// The records of a batch as "P key value" / "D key" lines.
class BatchPrinter : public WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override {
    out += "P " + std::string(key) + " " + std::string(value) + "\n";
  }
  void Delete(std::string_view key) override { out += "D " + std::string(key) + "\n"; }
  std::string out;
};

std::string Print(const BufferState& state) {
  std::string out;
  for (const auto& [key, value] : state) {
    out += value ? "P " + key + " " + *value + "\n" : "D " + key + "\n";
  }
  return out;
}

std::string Print(const TransactionBuffer& buffer) {
  WriteBatch batch;
  buffer.AppendTo(&batch);
  BatchPrinter printer;
  EXPECT_TRUE(batch.Iterate(&printer).ok());
  return printer.out;
}

// ---- Buffer and savepoints ------------------------------------------------------------

TEST(TransactionBufferTest, GetSeesPutsAndDeletes) {
  TransactionBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ("ABSENT", Describe(buffer, "k"));
  buffer.Put("k", "v1");
  EXPECT_EQ("=v1", Describe(buffer, "k"));
  buffer.Put("k", "v2");
  EXPECT_EQ("=v2", Describe(buffer, "k"));
  buffer.Delete("k");
  EXPECT_EQ("DELETED", Describe(buffer, "k"));
  buffer.Delete("never put");
  EXPECT_EQ("DELETED", Describe(buffer, "never put"));
  buffer.Put("", "");
  EXPECT_EQ("=", Describe(buffer, ""));
  EXPECT_FALSE(buffer.empty());
  buffer.Clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ("ABSENT", Describe(buffer, "k"));
}

TEST(TransactionBufferTest, AppendToWritesEveryChangeInKeyOrder) {
  TransactionBuffer buffer;
  buffer.Put("b", "2");
  buffer.Delete("c");
  buffer.Put("a", "1");
  buffer.Put(std::string("a\0", 2), "0");
  buffer.Put("c", "3");  // a put after a delete is a put
  buffer.Delete("b");    // a delete after a put is a delete
  EXPECT_EQ(std::string("P a 1\nP a\0 0\nD b\nP c 3\n", 23), Print(buffer));
}

TEST(TransactionBufferTest, RollbackToUndoesChangesSinceTheSavepointAndKeepsIt) {
  TransactionBuffer buffer;
  buffer.Put("kept", "1");
  buffer.Savepoint(0);
  buffer.Put("kept", "2");
  buffer.Put("new", "x");
  buffer.Delete("gone");
  buffer.RollbackTo(0);
  EXPECT_EQ("=1", Describe(buffer, "kept"));
  EXPECT_EQ("ABSENT", Describe(buffer, "new"));
  EXPECT_EQ("ABSENT", Describe(buffer, "gone"));
  // Level 0 is still open: a second rollback returns to the same state.
  buffer.Put("new", "y");
  buffer.RollbackTo(0);
  EXPECT_EQ("ABSENT", Describe(buffer, "new"));
}

TEST(TransactionBufferTest, NestedSavepointsRollBackToTheirOwnLevel) {
  TransactionBuffer buffer;
  buffer.Savepoint(0);
  buffer.Put("k", "0");
  buffer.Savepoint(1);
  buffer.Put("k", "1");
  buffer.Savepoint(2);
  buffer.Put("k", "2");
  buffer.RollbackTo(1);
  EXPECT_EQ("=0", Describe(buffer, "k"));
  // Level 2 was closed by rolling back to 1: rolling back to it does nothing.
  buffer.Put("k", "after");
  buffer.RollbackTo(2);
  EXPECT_EQ("=after", Describe(buffer, "k"));
  buffer.RollbackTo(0);
  EXPECT_EQ("ABSENT", Describe(buffer, "k"));
}

TEST(TransactionBufferTest, ReleaseKeepsChangesAndClosesLevels) {
  TransactionBuffer buffer;
  buffer.Savepoint(0);
  buffer.Put("a", "0");
  buffer.Savepoint(1);
  buffer.Put("b", "1");
  buffer.Release(1);
  EXPECT_EQ("=1", Describe(buffer, "b"));
  buffer.RollbackTo(1);  // closed: nothing happens
  EXPECT_EQ("=1", Describe(buffer, "b"));
  buffer.RollbackTo(0);  // still open, and it undoes the released level's changes too
  EXPECT_EQ("ABSENT", Describe(buffer, "a"));
  EXPECT_EQ("ABSENT", Describe(buffer, "b"));
  buffer.Put("c", "2");
  buffer.Release(0);
  buffer.RollbackTo(0);
  EXPECT_EQ("=2", Describe(buffer, "c"));
}

TEST(TransactionBufferTest, SavepointOfAnOpenLevelKeepsItsOriginalState) {
  // Two tables share the buffer: table A opened level 0 and wrote; table B joins the
  // transaction and SQLite calls xSavepoint(0) for it too. Rolling back level 0 must
  // still undo A's write.
  TransactionBuffer buffer;
  buffer.Savepoint(0);
  buffer.Put("a", "1");
  buffer.Savepoint(0);
  buffer.Put("b", "1");
  buffer.RollbackTo(0);
  EXPECT_EQ("ABSENT", Describe(buffer, "a"));
  EXPECT_EQ("ABSENT", Describe(buffer, "b"));
}

TEST(TransactionBufferTest, SavepointOfALowerOpenLevelClosesTheLevelsAbove) {
  TransactionBuffer buffer;
  buffer.Savepoint(0);
  buffer.Put("a", "1");
  buffer.Savepoint(1);
  buffer.Put("b", "1");
  buffer.Savepoint(0);  // level 1 closes; level 0 stays where it was
  buffer.RollbackTo(1);
  EXPECT_EQ("=1", Describe(buffer, "b"));
  buffer.RollbackTo(0);
  EXPECT_EQ("ABSENT", Describe(buffer, "a"));
}

TEST(TransactionBufferTest, SkippedLevelsOpenAtTheCurrentState) {
  // A table that joins a transaction with savepoints open gets xSavepoint(n) without
  // the lower levels; each of them rolls back to when it joined.
  TransactionBuffer buffer;
  buffer.Put("before", "1");
  buffer.Savepoint(2);
  buffer.Put("after", "1");
  buffer.RollbackTo(1);
  EXPECT_EQ("=1", Describe(buffer, "before"));
  EXPECT_EQ("ABSENT", Describe(buffer, "after"));
  buffer.Put("after", "2");
  buffer.RollbackTo(0);
  EXPECT_EQ("ABSENT", Describe(buffer, "after"));
  EXPECT_EQ("=1", Describe(buffer, "before"));
}

TEST(TransactionBufferTest, WithoutSavepointsNoUndoIsKept) {
  TransactionBuffer buffer;
  buffer.Put("key", std::string(1000, 'v'));
  const size_t size = buffer.ApproximateSize();
  EXPECT_GE(size, 1003u);
  for (int i = 0; i < 100; i++) buffer.Put("key", std::string(1000, 'w'));
  EXPECT_EQ(size, buffer.ApproximateSize());
  // With a savepoint open every overwrite keeps the previous value...
  buffer.Savepoint(0);
  for (int i = 0; i < 10; i++) buffer.Put("key", std::string(1000, 'x'));
  EXPECT_GE(buffer.ApproximateSize(), size + 10 * 1000);
  // ... until the last savepoint is released.
  buffer.Release(0);
  EXPECT_EQ(size, buffer.ApproximateSize());
  buffer.Clear();
  EXPECT_EQ(0u, buffer.ApproximateSize());
}

TEST(TransactionBufferTest, RollingBackAndRedoingWorkReusesMemory) {
  TransactionBuffer buffer;
  buffer.Put("kept", "value");
  // A statement that adds many rows and overwrites one, then fails and is rolled back
  // (SQLite's statement savepoint), again and again in one transaction.
  auto statement = [&] {
    buffer.Savepoint(0);
    for (int i = 0; i < 1000; i++) {
      buffer.Put("key " + std::to_string(i), std::string(100, 'v'));
      buffer.Put("kept", std::string(40 + i % 3, 'w'));
    }
    buffer.RollbackTo(0);
    buffer.Release(0);
  };
  statement();
  const size_t usage = buffer.MemoryUsage();
  EXPECT_GE(usage, 1000u * 100);
  for (int round = 0; round < 20; round++) statement();
  EXPECT_EQ(usage, buffer.MemoryUsage());
  EXPECT_EQ("=value", Describe(buffer, "kept"));
  EXPECT_EQ("ABSENT", Describe(buffer, "key 1"));
  buffer.Clear();
  EXPECT_EQ(0u, buffer.MemoryUsage());
}

TEST(TransactionBufferTest, GenerationChangesExactlyWhenTheContentsMayHave) {
  TransactionBuffer buffer;
  uint64_t g = buffer.generation();
  buffer.Savepoint(0);
  buffer.RollbackTo(0);  // nothing to undo
  buffer.Release(0);
  EXPECT_EQ(g, buffer.generation());
  buffer.Put("k", "v");
  EXPECT_NE(g, buffer.generation());
  g = buffer.generation();
  buffer.Savepoint(0);
  buffer.Delete("k");
  EXPECT_NE(g, buffer.generation());
  g = buffer.generation();
  buffer.RollbackTo(0);
  EXPECT_NE(g, buffer.generation());
  g = buffer.generation();
  buffer.Clear();
  EXPECT_NE(g, buffer.generation());
}

// The reference: the state, and a full copy of it per open savepoint level.
struct BufferModel {
  BufferState state;
  std::vector<BufferState> levels;

  void Savepoint(int n) {
    if (static_cast<size_t>(n) < levels.size()) {
      levels.resize(n + 1);
    } else {
      levels.resize(n + 1, state);
    }
  }
  void RollbackTo(int n) {
    if (static_cast<size_t>(n) >= levels.size()) return;
    state = levels[n];
    levels.resize(n + 1);
  }
  void Release(int n) {
    if (static_cast<size_t>(n) < levels.size()) levels.resize(n);
  }
};

TEST(TransactionBufferTest, RandomOperationsMatchTheModel) {
  const int rounds = Rounds(300);
  for (int round = 0; round < rounds; round++) {
    std::mt19937 rng(round);
    auto random = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    TransactionBuffer buffer;
    BufferModel model;
    std::vector<std::string> keys;
    for (int i = 0; i < 12; i++) keys.push_back(std::string(1, static_cast<char>('a' + i)));
    for (int step = 0; step < 400; step++) {
      const std::string& key = keys[random(keys.size())];
      const int op = random(100);
      const std::string trace = Trace(round, step);
      if (op < 40) {
        std::string value = "v";
        value += std::to_string(step);
        buffer.Put(key, value);
        model.state[key] = value;
      } else if (op < 60) {
        buffer.Delete(key);
        model.state[key] = std::nullopt;
      } else if (op < 75) {
        int n = random(5);
        buffer.Savepoint(n);
        model.Savepoint(n);
      } else if (op < 88) {
        int n = random(5);
        buffer.RollbackTo(n);
        model.RollbackTo(n);
      } else if (op < 98) {
        int n = random(5);
        buffer.Release(n);
        model.Release(n);
      } else {
        buffer.Clear();
        model = BufferModel();
      }
      ASSERT_EQ(Print(model.state), Print(buffer)) << trace;
      ASSERT_EQ(model.state.empty(), buffer.empty()) << trace;
      for (const std::string& k : keys) {
        auto it = model.state.find(k);
        std::string expected = it == model.state.end() ? "ABSENT"
                               : it->second            ? "=" + *it->second
                                                       : "DELETED";
        ASSERT_EQ(expected, Describe(buffer, k)) << trace << " key " << k;
      }
    }
  }
}

// ---- Merged iterator ------------------------------------------------------------------

std::unique_ptr<Iterator> VectorBase(std::vector<test::KeyValue> entries) {
  test::SortEntries(BytewiseComparator(), &entries);
  return std::make_unique<test::VectorIterator>(BytewiseComparator(), std::move(entries));
}

// All (key, value) pairs an iterator yields from SeekToFirst on.
std::vector<test::KeyValue> Forward(Iterator* it) {
  std::vector<test::KeyValue> out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key(), it->value());
  return out;
}

std::vector<test::KeyValue> Backward(Iterator* it) {
  std::vector<test::KeyValue> out;
  for (it->SeekToLast(); it->Valid(); it->Prev()) out.emplace_back(it->key(), it->value());
  return out;
}

TEST(MergedIteratorTest, BufferedPutsReplaceAndAddAndDeletesHide) {
  TransactionBuffer buffer;
  buffer.Put("b", "B2");     // replaces
  buffer.Put("bb", "BB");    // adds between
  buffer.Delete("c");        // hides
  buffer.Delete("zz");       // hides nothing
  buffer.Put("0", "first");  // adds before all
  buffer.Put("z", "last");   // adds after all
  auto it = buffer.NewMergedIterator(VectorBase({{"a", "A"}, {"b", "B"}, {"c", "C"}, {"d", "D"}}));
  std::vector<test::KeyValue> expected = {{"0", "first"}, {"a", "A"}, {"b", "B2"},
                                          {"bb", "BB"},   {"d", "D"}, {"z", "last"}};
  EXPECT_EQ(expected, Forward(it.get()));
  std::reverse(expected.begin(), expected.end());
  EXPECT_EQ(expected, Backward(it.get()));
  EXPECT_TRUE(it->status().ok());
}

TEST(MergedIteratorTest, EmptyBufferPassesTheBaseThrough) {
  TransactionBuffer buffer;
  std::vector<test::KeyValue> base = {{"a", "1"}, {"b", "2"}};
  auto it = buffer.NewMergedIterator(VectorBase(base));
  EXPECT_EQ(base, Forward(it.get()));
  it->Seek("aa");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  it->Seek("c");
  EXPECT_FALSE(it->Valid());
}

TEST(MergedIteratorTest, EverythingDeletedIsEmptyInBothDirections) {
  TransactionBuffer buffer;
  for (std::string k : {"a", "b", "c"}) buffer.Delete(k);
  auto it = buffer.NewMergedIterator(VectorBase({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek("b");
  EXPECT_FALSE(it->Valid());
}

TEST(MergedIteratorTest, BoundsKeepKeysOutsideTheRangeAway) {
  TransactionBuffer buffer;
  buffer.Put(std::string("t1\0", 3), "buffered low");
  buffer.Put("t2", "buffered high");  // == upper: excluded
  buffer.Put("t1zz", "in");
  auto it = buffer.NewMergedIterator(
      VectorBase({{"t0", "x"}, {"t1", "lower"}, {"t1a", "a"}, {"t2", "y"}, {"t3", "z"}}), "t1",
      "t2");
  std::vector<test::KeyValue> expected = {
      {"t1", "lower"}, {std::string("t1\x00", 3), "buffered low"}, {"t1a", "a"}, {"t1zz", "in"}};
  EXPECT_EQ(expected, Forward(it.get()));
  std::reverse(expected.begin(), expected.end());
  EXPECT_EQ(expected, Backward(it.get()));
  it->Seek("a");  // below lower: starts at lower
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("t1", it->key());
  it->Seek("t2");
  EXPECT_FALSE(it->Valid());
}

TEST(MergedIteratorTest, BaseErrorStopsTheIterationWithItsStatus) {
  TransactionBuffer buffer;
  buffer.Put("e", "buffered after the error");
  auto base = std::make_unique<test::VectorIterator>(
      BytewiseComparator(),
      std::vector<test::KeyValue>{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}});
  base->InjectErrorAt(2, Status::IOError("block read failed"));
  auto it = buffer.NewMergedIterator(std::move(base));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key());
  it->Next();
  // The buffered "e" must not be returned as if the base had nothing more.
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError()) << it->status().ToString();
}

// The reference for the merged iterator: base overlaid with the buffer, within bounds.
struct MergedModel {
  std::map<std::string, std::string> base;
  BufferState buffer;
  std::string lower, upper;

  std::map<std::string, std::string> Visible() const {
    std::map<std::string, std::string> merged = base;
    for (const auto& [key, value] : buffer) {
      if (value) {
        merged[key] = *value;
      } else {
        merged.erase(key);
      }
    }
    std::map<std::string, std::string> bounded;
    for (const auto& [key, value] : merged) {
      if (key >= lower && (upper.empty() || key < upper)) bounded[key] = value;
    }
    return bounded;
  }
};

using Position = std::optional<test::KeyValue>;

Position At(const std::map<std::string, std::string>& m,
            std::map<std::string, std::string>::const_iterator it) {
  if (it == m.end()) return std::nullopt;
  return *it;
}

Position Before(const std::map<std::string, std::string>& m,
                std::map<std::string, std::string>::const_iterator it) {
  if (it == m.begin()) return std::nullopt;
  return *std::prev(it);
}

Position Current(Iterator* it) {
  if (!it->Valid()) return std::nullopt;
  return test::KeyValue(it->key(), it->value());
}

std::string Show(const Position& p) { return p ? "'" + p->first + "'='" + p->second + "'" : "end"; }

// Keys over a small alphabet with the edge bytes 0x00 and 0xFF, so that equal keys in
// base and buffer, prefixes, and keys at the bounds are all common.
std::string RandomKey(std::mt19937& rng) {
  static const char kAlphabet[] = {'\x00', 'a', 'b', '\xFF'};
  int length = std::uniform_int_distribution<int>(0, 3)(rng);
  std::string key;
  for (int i = 0; i < length; i++) key.push_back(kAlphabet[rng() % 4]);
  return key;
}

void MergedRandomWalk(bool modify_during_iteration) {
  const int rounds = Rounds(1000);
  for (int round = 0; round < rounds; round++) {
    std::mt19937 rng(round + (modify_during_iteration ? 100000 : 0));
    auto random = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    MergedModel model;
    int base_size = random(30);
    for (int i = 0; i < base_size; i++) model.base[RandomKey(rng)] = "base" + std::to_string(i);
    TransactionBuffer buffer;
    // Savepoints for the rollbacks below, which erase entries under the iterator.
    std::vector<BufferState> savepoints;
    auto random_buffer_change = [&](int tag) {
      const std::string key = RandomKey(rng);
      const int op = random(10);
      if (op < 5) {
        std::string value = "buf" + std::to_string(tag);
        buffer.Put(key, value);
        model.buffer[key] = value;
      } else if (op < 8) {
        buffer.Delete(key);
        model.buffer[key] = std::nullopt;
      } else {
        buffer.Clear();
        model.buffer.clear();
        savepoints.clear();
      }
    };
    int buffer_size = random(30);
    for (int i = 0; i < buffer_size; i++) random_buffer_change(i);
    if (random(3) == 0) model.lower = RandomKey(rng);
    if (random(3) == 0) model.upper = RandomKey(rng);
    if (!model.upper.empty() && model.upper < model.lower) std::swap(model.lower, model.upper);

    std::vector<test::KeyValue> base_entries(model.base.begin(), model.base.end());
    auto it = buffer.NewMergedIterator(
        std::make_unique<test::VectorIterator>(BytewiseComparator(), base_entries), model.lower,
        model.upper);
    std::map<std::string, std::string> visible = model.Visible();
    Position expected;
    for (int step = 0; step < 120; step++) {
      const std::string trace = Trace(round, step);
      const int op = random(100);
      if (modify_during_iteration && op < 25) {
        // Change the buffer under the iterator: its entry must not move until it does.
        if (op < 5) {
          buffer.Savepoint(static_cast<int>(savepoints.size()));
          savepoints.push_back(model.buffer);
        } else if (op < 10 && !savepoints.empty()) {
          int level = random(savepoints.size());
          buffer.RollbackTo(level);
          model.buffer = savepoints[level];
          savepoints.resize(level + 1);
        } else {
          random_buffer_change(1000 + step);
        }
        visible = model.Visible();
        ASSERT_EQ(Show(expected), Show(Current(it.get()))) << trace << " after a change";
        continue;
      }
      if (op < 35) {
        std::string target = RandomKey(rng);
        it->Seek(target);
        expected = At(visible, visible.lower_bound(std::max(target, model.lower)));
      } else if (op < 42) {
        it->SeekToFirst();
        expected = visible.empty() ? Position() : *visible.begin();
      } else if (op < 50) {
        it->SeekToLast();
        expected = visible.empty() ? Position() : *visible.rbegin();
      } else if (op < 75) {
        if (!expected) continue;
        it->Next();
        expected = At(visible, visible.upper_bound(expected->first));
      } else {
        if (!expected) continue;
        it->Prev();
        expected = Before(visible, visible.lower_bound(expected->first));
      }
      ASSERT_EQ(Show(expected), Show(Current(it.get()))) << trace << " op " << op;
      ASSERT_TRUE(it->status().ok()) << trace;
    }
  }
}

TEST(MergedIteratorTest, RandomWalksMatchTheModel) { MergedRandomWalk(false); }

TEST(MergedIteratorTest, RandomWalksWithTheBufferChangingUnderneathMatchTheModel) {
  // After a change, the next move continues from the current key in the new state: Next
  // goes to the first key after it that exists now, Prev to the last one before it.
  MergedRandomWalk(true);
}

TEST(MergedIteratorTest, ScanThatDeletesEachRowItVisitsSeesEveryRowOnce) {
  // DELETE FROM t: each visited row is deleted through the buffer during the scan.
  TransactionBuffer buffer;
  buffer.Put("b2", "buffered");
  auto it = buffer.NewMergedIterator(VectorBase({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  std::vector<std::string> visited;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    visited.emplace_back(it->key());
    buffer.Delete(it->key());
    EXPECT_EQ(visited.back(), it->key());  // the current entry is kept until the move
  }
  EXPECT_EQ((std::vector<std::string>{"a", "b", "b2", "c"}), visited);
  EXPECT_TRUE(Forward(it.get()).empty());
}

TEST(MergedIteratorTest, ClearAndRollbackUnderAnOpenIteratorAreSafe) {
  // Entries the iterator's cursor points at are erased; under ASan a stale cursor
  // would be reported here.
  TransactionBuffer buffer;
  buffer.Savepoint(0);
  for (char c = 'a'; c <= 'j'; c++) buffer.Put(std::string(1, c), "v");
  auto it = buffer.NewMergedIterator(VectorBase({{"c", "base"}, {"x", "base"}}));
  it->Seek("d");
  ASSERT_TRUE(it->Valid());
  buffer.RollbackTo(0);
  EXPECT_EQ("d", it->key());
  EXPECT_EQ("v", it->value());
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("x", it->key());
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  for (char c = 'a'; c <= 'j'; c++) buffer.Put(std::string(1, c), "w");
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("d", it->key());
  buffer.Clear();
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("c", it->key());
  EXPECT_EQ("base", it->value());
}

TEST(MergedIteratorTest, OverlaysARealStoreIterator) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, "/db", &db).ok());
  for (std::string k : {"a", "c", "e", "g"}) ASSERT_TRUE(db->Put(WriteOptions(), k, k).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->Delete(WriteOptions(), "e").ok());

  TransactionBuffer buffer;
  buffer.Put("b", "B");
  buffer.Delete("c");
  buffer.Put("g", "G");
  auto it = buffer.NewMergedIterator(db->NewIterator(ReadOptions()));
  std::vector<test::KeyValue> expected = {{"a", "a"}, {"b", "B"}, {"g", "G"}};
  EXPECT_EQ(expected, Forward(it.get()));
  std::reverse(expected.begin(), expected.end());
  EXPECT_EQ(expected, Backward(it.get()));
  // Seeking to the iterator's own key (which points into the iterator) is fine.
  it->Seek("a");
  it->Seek(it->key());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("a", it->key());
  it.reset();
  ASSERT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace strata::sql
