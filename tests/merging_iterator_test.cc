#include "lsm/merging_iterator.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "lsm/dbformat.h"
#include "lsm/empty_iterator.h"
#include "tests/support/random_walk.h"
#include "tests/support/vector_iterator.h"

namespace strata {
namespace {

using test::KeyValue;
using test::VectorIterator;

std::unique_ptr<Iterator> Child(std::vector<KeyValue> entries) {
  return std::make_unique<VectorIterator>(BytewiseComparator(), std::move(entries));
}

std::unique_ptr<Iterator> Merge(std::vector<std::unique_ptr<Iterator>> children) {
  return NewMergingIterator(BytewiseComparator(), std::move(children));
}

// "key=value" of the current entry, or "(invalid)".
std::string Current(const Iterator& it) {
  if (!it.Valid()) return "(invalid)";
  return std::string(it.key()) + "=" + std::string(it.value());
}

std::vector<std::string> ScanForward(Iterator* it) {
  std::vector<std::string> out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(Current(*it));
  return out;
}

std::vector<std::string> ScanBackward(Iterator* it) {
  std::vector<std::string> out;
  for (it->SeekToLast(); it->Valid(); it->Prev()) out.push_back(Current(*it));
  return out;
}

TEST(MergingIterator, NoChildrenIsEmptyAndOk) {
  auto it = Merge({});
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(MergingIterator, OneChildIsPassedThrough) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"a", "1"}, {"b", "2"}}));
  Iterator* child = children[0].get();
  auto it = Merge(std::move(children));
  EXPECT_EQ(child, it.get());
  EXPECT_EQ((std::vector<std::string>{"a=1", "b=2"}), ScanForward(it.get()));
}

TEST(MergingIterator, InterleavesChildrenInKeyOrderBothWays) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"b", "0"}, {"e", "0"}}));
  children.push_back(Child({}));
  children.push_back(Child({{"a", "2"}, {"c", "2"}, {"f", "2"}}));
  children.push_back(Child({{"d", "3"}}));
  auto it = Merge(std::move(children));
  const std::vector<std::string> expected = {"a=2", "b=0", "c=2", "d=3", "e=0", "f=2"};
  EXPECT_EQ(expected, ScanForward(it.get()));
  EXPECT_EQ(std::vector<std::string>(expected.rbegin(), expected.rend()), ScanBackward(it.get()));
  it->Seek("cc");
  EXPECT_EQ("d=3", Current(*it));
  it->Seek("g");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(MergingIterator, EqualKeysComeInChildOrderAndPrevRetracesNextAcrossThem) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"a", "0"}, {"k", "0"}}));
  children.push_back(Child({{"k", "1"}, {"z", "1"}}));
  children.push_back(Child({{"k", "2"}}));
  auto it = Merge(std::move(children));
  EXPECT_EQ((std::vector<std::string>{"a=0", "k=0", "k=1", "k=2", "z=1"}), ScanForward(it.get()));
  EXPECT_EQ((std::vector<std::string>{"z=1", "k=2", "k=1", "k=0", "a=0"}), ScanBackward(it.get()));

  // Direction changes in the middle of the run of equal keys.
  it->SeekToFirst();
  it->Next();
  it->Next();
  EXPECT_EQ("k=1", Current(*it));
  it->Prev();
  EXPECT_EQ("k=0", Current(*it));
  it->Prev();
  EXPECT_EQ("a=0", Current(*it));
  it->Next();
  EXPECT_EQ("k=0", Current(*it));
  it->Next();
  it->Next();
  EXPECT_EQ("k=2", Current(*it));
  it->Prev();
  EXPECT_EQ("k=1", Current(*it));
  it->Next();
  EXPECT_EQ("k=2", Current(*it));
  it->Next();
  EXPECT_EQ("z=1", Current(*it));
  it->Prev();
  EXPECT_EQ("k=2", Current(*it));

  it->SeekToLast();
  it->Prev();
  it->Prev();
  EXPECT_EQ("k=1", Current(*it));
  it->Next();
  EXPECT_EQ("k=2", Current(*it));
  it->Seek("k");
  EXPECT_EQ("k=0", Current(*it));
}

TEST(MergingIterator, DuplicatesWithinOneChildKeepTheirOrder) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"k", "0a"}, {"k", "0b"}}));
  children.push_back(Child({{"k", "1a"}, {"k", "1b"}}));
  auto it = Merge(std::move(children));
  EXPECT_EQ((std::vector<std::string>{"k=0a", "k=0b", "k=1a", "k=1b"}), ScanForward(it.get()));
  it->SeekToLast();
  it->Prev();
  it->Prev();
  EXPECT_EQ("k=0b", Current(*it));
  it->Next();
  EXPECT_EQ("k=1a", Current(*it));
  it->Prev();
  EXPECT_EQ("k=0b", Current(*it));
}

TEST(MergingIterator, ChildFailingAtSeekStopsMergeAndIsReported) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"a", "0"}}));
  children.push_back(NewEmptyIterator(Status::IOError("000007.sst: read failed")));
  auto it = Merge(std::move(children));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError());
  EXPECT_EQ("000007.sst: read failed", it->status().message());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek("a");
  EXPECT_FALSE(it->Valid());
}

TEST(MergingIterator, ChildFailingMidwayStopsMergeAfterCorrectPrefix) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"a", "0"}, {"c", "0"}, {"e", "0"}, {"g", "0"}}));
  auto failing = std::make_unique<VectorIterator>(
      BytewiseComparator(), std::vector<KeyValue>{{"b", "1"}, {"d", "1"}, {"f", "1"}, {"h", "1"}});
  failing->InjectErrorAt(2, Status::Corruption("block checksum mismatch"));
  children.push_back(std::move(failing));
  auto it = Merge(std::move(children));
  // Continuing with the healthy child alone would silently lose f and h.
  EXPECT_EQ((std::vector<std::string>{"a=0", "b=1", "c=0", "d=1"}), ScanForward(it.get()));
  EXPECT_TRUE(it->status().IsCorruption());
}

TEST(MergingIterator, ChildFailingDuringDirectionChangeStopsMerge) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"a", "0"}, {"c", "0"}, {"e", "0"}}));
  auto failing = std::make_unique<VectorIterator>(
      BytewiseComparator(), std::vector<KeyValue>{{"b", "1"}, {"d", "1"}, {"f", "1"}});
  failing->InjectErrorAt(0, Status::IOError("short read"));
  children.push_back(std::move(failing));
  auto it = Merge(std::move(children));
  it->Seek("c");  // the failing child lands on d, not on b
  ASSERT_EQ("c=0", Current(*it));
  EXPECT_TRUE(it->status().ok());
  it->Prev();  // repositions the failing child before c: onto b, which fails
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError());
}

TEST(MergingIterator, StatusIsTheFirstFailingChildInChildOrder) {
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(Child({{"a", "0"}}));
  children.push_back(NewEmptyIterator(Status::IOError("first")));
  children.push_back(NewEmptyIterator(Status::Corruption("second")));
  auto it = Merge(std::move(children));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsIOError());
  EXPECT_EQ("first", it->status().message());
}

// A random byte string of length 0..3 over {0x00, 'a', 'b', 0xff}: few enough distinct
// keys that children overlap a lot, with embedded zeros, the empty key and 0xff bytes
// (which must sort after 'b': bytes compare unsigned).
std::string RandomKey(std::mt19937& rng) {
  static constexpr char kAlphabet[] = {'\0', 'a', 'b', '\xff'};
  std::string key(rng() % 4, '\0');
  for (char& c : key) c = kAlphabet[rng() % 4];
  return key;
}

// Every operation, checked against the model after every step: a sorted vector of all
// entries in merged order (key, child index, position in child) and a cursor into it.
TEST(MergingIterator, RandomWalksMatchModel) {
  for (uint32_t seed = 1; seed <= 2000; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const size_t num_children = rng() % 9;
    std::vector<std::unique_ptr<Iterator>> children;
    std::vector<KeyValue> model;
    for (size_t c = 0; c < num_children; c++) {
      std::vector<KeyValue> entries;
      size_t n = rng() % 3 == 0 ? 0 : rng() % 12;
      for (size_t j = 0; j < n; j++) entries.emplace_back(RandomKey(rng), "");
      test::SortEntries(BytewiseComparator(), &entries);
      for (size_t j = 0; j < entries.size(); j++) {
        // Built with append: operator+ on temporaries trips a GCC 12 -Wrestrict false positive.
        std::string& value = entries[j].second;
        value.append(std::to_string(c)).append("/").append(std::to_string(j));
      }
      model.insert(model.end(), entries.begin(), entries.end());
      children.push_back(Child(std::move(entries)));
    }
    // Children were appended in index order, so a stable sort gives merged order.
    test::SortEntries(BytewiseComparator(), &model);

    auto it = Merge(std::move(children));
    ASSERT_NO_FATAL_FAILURE(test::ExpectRandomWalkMatches(it.get(), model, rng, RandomKey, 200));
  }
}

}  // namespace
}  // namespace strata
