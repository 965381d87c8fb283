#include "lsm/db_iterator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "lsm/dbformat.h"
#include "lsm/merging_iterator.h"
#include "tests/support/random_walk.h"
#include "tests/support/vector_iterator.h"

// Counts heap allocations while enabled, to pin that stepping allocates nothing. Every
// non-aligned variant is replaced, so that each allocation is freed by its own family
// (sanitizers check the pairing).
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<size_t> g_allocations{0};

void* CountedAllocate(std::size_t size) {
  if (g_count_allocations.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  return std::malloc(size == 0 ? 1 : size);
}
void* CountedAllocateOrAbort(std::size_t size) {
  void* p = CountedAllocate(size);
  if (p == nullptr) std::abort();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return CountedAllocateOrAbort(size); }
void* operator new[](std::size_t size) { return CountedAllocateOrAbort(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAllocate(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAllocate(size);
}
// GCC cannot see that these pair with the malloc above and warns about free().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace strata {
namespace {

using test::KeyValue;
using test::VectorIterator;

constexpr ValueType kValue = ValueType::kValue;
constexpr ValueType kDeletion = ValueType::kDeletion;

struct Entry {
  std::string user_key;
  SequenceNumber sequence;
  ValueType type;
  std::string value;
};

std::string InternalKey(std::string_view user_key, SequenceNumber sequence, ValueType type) {
  std::string key;
  AppendInternalKey(&key, user_key, sequence, type);
  return key;
}

std::unique_ptr<VectorIterator> InternalIterator(const std::vector<Entry>& entries) {
  std::vector<KeyValue> kvs;
  for (const Entry& e : entries) {
    kvs.emplace_back(InternalKey(e.user_key, e.sequence, e.type), e.value);
  }
  test::SortEntries(GetInternalKeyComparator(), &kvs);
  return std::make_unique<VectorIterator>(GetInternalKeyComparator(), std::move(kvs));
}

std::unique_ptr<Iterator> DBIter(const std::vector<Entry>& entries, SequenceNumber sequence) {
  return NewDBIterator(InternalIterator(entries), sequence);
}

std::string Current(const Iterator& it) {
  if (!it.Valid()) return "(invalid)";
  return std::string(it.key()) + "=" + std::string(it.value());
}

std::vector<std::string> ScanForward(Iterator* it) {
  std::vector<std::string> out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(Current(*it));
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}

std::vector<std::string> ScanBackward(Iterator* it) {
  std::vector<std::string> out;
  for (it->SeekToLast(); it->Valid(); it->Prev()) out.push_back(Current(*it));
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return out;
}

using Strings = std::vector<std::string>;

// At sequence 5: a=a3 (a7 is newer), b deleted at 4, c=c1 (its deletion at 6 is
// newer), d only newer, e=e5, f deleted at 3, g deleted at 5, h only newer.
// One line per user key.
// clang-format off
const std::vector<Entry> kHistory = {
    {"a", 1, kValue, "a1"}, {"a", 3, kValue, "a3"}, {"a", 7, kValue, "a7"},
    {"b", 2, kValue, "b2"}, {"b", 4, kDeletion, ""},
    {"c", 1, kValue, "c1"}, {"c", 6, kDeletion, ""},
    {"d", 8, kValue, "d8"},
    {"e", 5, kValue, "e5"},
    {"f", 2, kValue, "f2"}, {"f", 3, kDeletion, ""},
    {"g", 4, kValue, "g4"}, {"g", 5, kDeletion, ""},
    {"h", 9, kValue, "h9"},
};
// clang-format on

TEST(DBIterator, ForwardYieldsNewestVisibleValueOfEachLiveKey) {
  auto it = DBIter(kHistory, 5);
  EXPECT_EQ((Strings{"a=a3", "c=c1", "e=e5"}), ScanForward(it.get()));
}

TEST(DBIterator, BackwardYieldsTheSameInReverseSkippingTrailingDeletions) {
  auto it = DBIter(kHistory, 5);
  EXPECT_EQ((Strings{"e=e5", "c=c1", "a=a3"}), ScanBackward(it.get()));
}

TEST(DBIterator, SequenceDecidesWhichVersionsAndDeletionsCount) {
  const std::vector<std::pair<SequenceNumber, Strings>> cases = {
      {0, {}},
      {1, {"a=a1", "c=c1"}},
      {2, {"a=a1", "b=b2", "c=c1", "f=f2"}},
      {3, {"a=a3", "b=b2", "c=c1"}},
      {4, {"a=a3", "c=c1", "g=g4"}},
      {6, {"a=a3", "e=e5"}},
      {9, {"a=a7", "d=d8", "e=e5", "h=h9"}},
      {kMaxSequenceNumber, {"a=a7", "d=d8", "e=e5", "h=h9"}},
      {~SequenceNumber{0}, {"a=a7", "d=d8", "e=e5", "h=h9"}},
  };
  for (const auto& [sequence, expected] : cases) {
    SCOPED_TRACE("sequence " + std::to_string(sequence));
    auto it = DBIter(kHistory, sequence);
    EXPECT_EQ(expected, ScanForward(it.get()));
    EXPECT_EQ(Strings(expected.rbegin(), expected.rend()), ScanBackward(it.get()));
  }
}

TEST(DBIterator, SeekToDeletedKeyLandsOnNextLiveKey) {
  auto it = DBIter(kHistory, 5);
  it->Seek("b");
  EXPECT_EQ("c=c1", Current(*it));
  it->Seek("f");  // f and g deleted, h not yet written
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(DBIterator, SeekToKeyWithNewerVersionsFindsTheVisibleOne) {
  auto it = DBIter(kHistory, 5);
  it->Seek("a");
  EXPECT_EQ("a=a3", Current(*it));
  it->Seek("d");  // d exists only above the sequence
  EXPECT_EQ("e=e5", Current(*it));
  auto latest = DBIter(kHistory, 9);
  latest->Seek("a");
  EXPECT_EQ("a=a7", Current(*latest));
}

TEST(DBIterator, SeekBetweenKeysLandsOnNextLiveKey) {
  auto it = DBIter(kHistory, 5);
  it->Seek("");
  EXPECT_EQ("a=a3", Current(*it));
  it->Seek(std::string("a\0", 2));
  EXPECT_EQ("c=c1", Current(*it));
  it->Seek("cc");
  EXPECT_EQ("e=e5", Current(*it));
}

TEST(DBIterator, SeekPastLastKeyIsInvalidAndOk) {
  auto it = DBIter(kHistory, 5);
  it->Seek("e\x01");
  EXPECT_FALSE(it->Valid());
  it->Seek("\xff");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(DBIterator, EverythingDeletedIsEmptyInBothDirections) {
  auto it = DBIter({{"a", 1, kValue, "x"}, {"a", 2, kDeletion, ""}, {"b", 3, kDeletion, ""}}, 5);
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  auto empty = DBIter({}, 5);
  EXPECT_EQ(Strings{}, ScanForward(empty.get()));
  EXPECT_EQ(Strings{}, ScanBackward(empty.get()));
}

TEST(DBIterator, DirectionChangesVisitNeighbours) {
  auto it = DBIter(kHistory, 5);
  it->SeekToFirst();
  it->Next();
  EXPECT_EQ("c=c1", Current(*it));
  it->Prev();
  EXPECT_EQ("a=a3", Current(*it));
  it->Next();
  EXPECT_EQ("c=c1", Current(*it));
  it->Next();
  EXPECT_EQ("e=e5", Current(*it));
  it->Prev();
  EXPECT_EQ("c=c1", Current(*it));
  it->Prev();
  EXPECT_EQ("a=a3", Current(*it));
  it->Prev();
  EXPECT_FALSE(it->Valid());

  it->SeekToLast();
  it->Prev();
  EXPECT_EQ("c=c1", Current(*it));
  it->Next();
  EXPECT_EQ("e=e5", Current(*it));
  it->Next();
  EXPECT_FALSE(it->Valid());

  it->Seek("c");
  it->Prev();
  EXPECT_EQ("a=a3", Current(*it));
  it->Next();  // reverse at the first key: the internal iterator is exhausted
  EXPECT_EQ("c=c1", Current(*it));
  EXPECT_TRUE(it->status().ok());
}

TEST(DBIterator, EmptyUserKeyAndEmbeddedZeroBytesAreOrdinaryKeys) {
  using namespace std::string_literals;
  auto it = DBIter({{""s, 1, kValue, "empty"},
                    {""s, 4, kValue, "empty4"},
                    {"\0"s, 2, kValue, "zero"},
                    {"\0\0"s, 3, kDeletion, ""},
                    {"\0\0"s, 1, kValue, "zerozero"},
                    {"a\0b"s, 2, kValue, "a0b"},
                    {"a"s, 1, kValue, "a"}},
                   3);
  const Strings expected = {"=empty", "\0=zero"s, "a=a", "a\0b=a0b"s};
  EXPECT_EQ(expected, ScanForward(it.get()));
  EXPECT_EQ(Strings(expected.rbegin(), expected.rend()), ScanBackward(it.get()));
  it->Seek("");
  EXPECT_EQ("=empty", Current(*it));
  it->Seek("\0"s);
  EXPECT_EQ("\0=zero"s, Current(*it));
  it->Seek("\0\0"s);  // deleted
  EXPECT_EQ("a=a", Current(*it));
  it->Seek("a\0"s);
  EXPECT_EQ("a\0b=a0b"s, Current(*it));
  it->Prev();
  EXPECT_EQ("a=a", Current(*it));
}

// Internal iterators over deliberately broken keys are built unsorted and never
// Seek()ed: no comparator can order a key without a trailer.
std::unique_ptr<Iterator> RawDBIter(std::vector<KeyValue> entries, const Comparator* comparator) {
  return NewDBIterator(std::make_unique<VectorIterator>(comparator, std::move(entries)), 10);
}

TEST(DBIterator, KeyShorterThanTrailerIsCorruptionForward) {
  auto it = RawDBIter(
      {{InternalKey("a", 1, kValue), "a1"}, {"abc", "bad"}, {InternalKey("c", 1, kValue), "c1"}},
      GetInternalKeyComparator());
  it->SeekToFirst();
  EXPECT_EQ("a=a1", Current(*it));
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
  EXPECT_NE(std::string::npos, it->status().message().find("3 bytes: 61 62 63"))
      << it->status().message();
  // Sticky: skipping the broken entry could resurrect a value it deleted.
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
}

TEST(DBIterator, KeyShorterThanTrailerIsCorruptionBackward) {
  auto it = RawDBIter(
      {{InternalKey("a", 1, kValue), "a1"}, {"abc", "bad"}, {InternalKey("c", 1, kValue), "c1"}},
      GetInternalKeyComparator());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
}

TEST(DBIterator, EmptyInternalKeyIsCorruption) {
  auto it = RawDBIter({{"", "bad"}}, GetInternalKeyComparator());
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
}

TEST(DBIterator, UnknownValueTypeIsCorruption) {
  std::string bad_type = "b";
  PutFixed64(&bad_type, (uint64_t{1} << 8) | 2);
  auto it = RawDBIter({{InternalKey("a", 1, kValue), "a1"}, {bad_type, "bad"}},
                      GetInternalKeyComparator());
  it->SeekToFirst();
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
}

TEST(DBIterator, KeyShorterThanTrailerIsCorruptionWhenTurningBackward) {
  // Bytewise, "b" sorts between the two well-formed keys, and the seek key for "c" at
  // sequence 10 equals c's entry, so Seek works on this input.
  auto it = RawDBIter(
      {{InternalKey("a", 1, kValue), "a1"}, {"b", "bad"}, {InternalKey("c", 10, kValue), "c1"}},
      BytewiseComparator());
  it->Seek("c");
  ASSERT_EQ("c=c1", Current(*it));
  it->Prev();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption());
}

TEST(DBIterator, InternalIteratorErrorStopsForwardIterationAndIsReported) {
  auto internal = InternalIterator({{"a", 1, kValue, "a1"}, {"b", 1, kValue, "b1"}});
  internal->InjectErrorAt(1, Status::IOError("000012.sst: read error"));
  auto it = NewDBIterator(std::move(internal), 10);
  it->SeekToFirst();
  EXPECT_EQ("a=a1", Current(*it));
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError());
  EXPECT_EQ("000012.sst: read error", it->status().message());
}

TEST(DBIterator, InternalIteratorErrorBackwardNeverYieldsAnOlderVersion) {
  // Going backward, b's versions come oldest first; the error hits before b@5 is read,
  // so b=old must not be presented as b's value.
  auto internal = InternalIterator({{"a", 1, kValue, "a1"},
                                    {"b", 5, kValue, "new"},
                                    {"b", 2, kValue, "old"},
                                    {"c", 1, kValue, "c1"}});
  internal->InjectErrorAt(1, Status::IOError("read error"));
  auto it = NewDBIterator(std::move(internal), 10);
  it->SeekToLast();
  EXPECT_EQ("c=c1", Current(*it));
  it->Prev();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError());
}

// A random byte string of length 0..3 over {0x00, 'a', 0xff}.
std::string RandomUserKey(std::mt19937& rng) {
  static constexpr char kAlphabet[] = {'\0', 'a', '\xff'};
  std::string key(rng() % 4, '\0');
  for (char& c : key) c = kAlphabet[rng() % 3];
  return key;
}

// A random history spread over 1..4 merged children (like memtables and level-0
// files), read at several sequences; every step of a random walk is checked against
// a model: the newest entry per user key at or below the sequence, if it is a value.
using Model = std::vector<test::KeyValue>;

// The live keys of history at sequence, in key order, each with its newest value.
// history must be in sequence order.
Model ModelAt(const std::vector<Entry>& history, SequenceNumber sequence) {
  std::map<std::string, const Entry*> newest;
  for (const Entry& e : history) {
    if (e.sequence <= sequence) newest[e.user_key] = &e;
  }
  Model model;
  for (const auto& [user_key, e] : newest) {
    if (e->type == kValue) model.emplace_back(user_key, e->value);
  }
  return model;
}

TEST(DBIterator, RandomWalksOverMergedHistoryMatchModel) {
  for (uint32_t seed = 1; seed <= 300; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const size_t num_ops = rng() % 80;
    std::vector<Entry> history;
    for (size_t i = 0; i < num_ops; i++) {
      SequenceNumber seq = i + 1;
      bool is_value = rng() % 10 < 6;
      history.push_back({RandomUserKey(rng), seq, is_value ? kValue : kDeletion,
                         is_value ? std::string("v").append(std::to_string(seq)) : ""});
    }
    const SequenceNumber sequences[] = {0, num_ops / 3, num_ops / 2 + rng() % (num_ops / 2 + 1),
                                        num_ops, kMaxSequenceNumber};
    for (SequenceNumber sequence : sequences) {
      SCOPED_TRACE("sequence " + std::to_string(sequence));
      const Model model = ModelAt(history, sequence);
      const size_t num_children = 1 + rng() % 4;
      std::vector<std::vector<Entry>> parts(num_children);
      for (const Entry& e : history) parts[rng() % num_children].push_back(e);
      std::vector<std::unique_ptr<Iterator>> children;
      for (const auto& part : parts) children.push_back(InternalIterator(part));
      auto it = NewDBIterator(NewMergingIterator(GetInternalKeyComparator(), std::move(children)),
                              sequence);
      ASSERT_NO_FATAL_FAILURE(test::ExpectRandomWalkMatches(it.get(), model, rng, RandomUserKey, 150));
    }
  }
}

// One stream of unique internal keys in which each user key's oldest entry has
// sequence 0, as in a compacted run, with newer versions and deletions above some:
// the steps that skip no comparison after a sequence-0 entry yield what the model
// says, in both directions and at every snapshot.
TEST(DBIterator, UniqueInternalKeysWithSequenceZeroMatchModel) {
  for (uint32_t seed = 1; seed <= 300; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::map<std::string, bool> keys;
    for (size_t i = rng() % 40; i > 0; i--) keys[RandomUserKey(rng)] = rng() % 2 == 0;
    std::vector<Entry> history;
    for (const auto& [key, deleted_at_zero] : keys) {
      history.push_back({key, 0, deleted_at_zero ? kDeletion : kValue,
                         deleted_at_zero ? "" : "v0-" + key});
    }
    const size_t num_ops = rng() % 40;
    for (size_t i = 0; i < num_ops; i++) {
      SequenceNumber seq = i + 1;
      bool is_value = rng() % 10 < 6;
      history.push_back({RandomUserKey(rng), seq, is_value ? kValue : kDeletion,
                         is_value ? std::string("v").append(std::to_string(seq)) : ""});
    }
    for (SequenceNumber sequence : {SequenceNumber{0}, num_ops / 2, kMaxSequenceNumber}) {
      SCOPED_TRACE("sequence " + std::to_string(sequence));
      const Model model = ModelAt(history, sequence);
      auto it = NewDBIterator(InternalIterator(history), sequence, /*unique_internal_keys=*/true);
      ASSERT_NO_FATAL_FAILURE(test::ExpectRandomWalkMatches(it.get(), model, rng, RandomUserKey, 150));
    }
  }
}

TEST(DBIterator, SteppingOverMergedChildrenAllocatesNothingOnceBuffersAreWarm) {
  std::vector<Entry> history;
  std::mt19937 rng(7);
  for (SequenceNumber seq = 1; seq <= 200; seq++) {
    std::string key = "key" + std::to_string(rng() % 50);
    // Values longer than the small-string buffer, so copying one would allocate.
    history.push_back({key, seq, rng() % 4 == 0 ? kDeletion : kValue, std::string(64, 'v')});
  }
  std::vector<std::vector<Entry>> parts(5);
  for (const Entry& e : history) parts[rng() % parts.size()].push_back(e);
  std::vector<std::unique_ptr<Iterator>> children;
  for (const auto& part : parts) children.push_back(InternalIterator(part));
  auto it = NewDBIterator(NewMergingIterator(GetInternalKeyComparator(), std::move(children)), 150);

  std::vector<int> ops(2000);
  for (int& op : ops) op = rng() % 8;
  const std::string seek_target = "key25";
  auto walk = [&] {
    size_t steps = 0;
    for (int op : ops) {
      if (!it->Valid() || op == 0) {
        if (op % 3 == 0) {
          it->SeekToFirst();
        } else if (op % 3 == 1) {
          it->SeekToLast();
        } else {
          it->Seek(seek_target);
        }
      } else if (op < 5) {
        it->Next();
        steps++;
      } else {
        it->Prev();
        steps++;
      }
    }
    return steps;
  };
  walk();  // grows the saved key/value buffers to their largest size
  g_allocations = 0;
  g_count_allocations = true;
  size_t steps = walk();
  g_count_allocations = false;
  EXPECT_GT(steps, 1000u);
  EXPECT_EQ(0u, g_allocations.load());
}

}  // namespace
}  // namespace strata
