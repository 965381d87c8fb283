// DB::GetApproximateSize: the bytes of a key range, from the tables' indexes and the
// memtables' entries, close enough to tell a small key range from a big one wherever
// their keys live (one table file, several levels, the memtable).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "strata/db.h"
#include "strata/env.h"

namespace strata {
namespace {

constexpr size_t kValueSize = 100;

// "<prefix>000042": keys of one prefix are contiguous, like a table's rows in a store.
std::string Key(char prefix, int i) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%c%06d", prefix, i);
  return buffer;
}

class DbApproximateSizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    options_.env = env_.get();
    options_.create_if_missing = true;
    options_.compression = false;  // sizes on disk = sizes written
    options_.write_buffer_size = 4 << 20;
    ASSERT_TRUE(DB::Open(options_, "/approximate", &db_).ok());
  }

  void Fill(char prefix, int count) {
    WriteBatch batch;
    for (int i = 0; i < count; i++) batch.Put(Key(prefix, i), std::string(kValueSize, 'v'));
    ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
  }

  // The size of every key starting with prefix.
  uint64_t SizeOf(char prefix) {
    return Size(std::string(1, prefix), std::string(1, static_cast<char>(prefix + 1)));
  }

  uint64_t Size(const std::string& begin, const std::string& end) {
    uint64_t bytes = 0;
    Status s = db_->GetApproximateSize(begin, end, &bytes);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return bytes;
  }

  std::unique_ptr<Env> env_;
  Options options_;
  std::unique_ptr<DB> db_;
};

TEST_F(DbApproximateSizeTest, EmptyStoreAndEmptyRangesHaveNoBytes) {
  EXPECT_EQ(0u, Size("a", "z"));
  Fill('b', 100);
  EXPECT_EQ(0u, Size("c", "c"));
  EXPECT_EQ(0u, Size("z", "a"));  // end before begin
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(0u, Size("c", "c"));
  EXPECT_EQ(0u, Size("z", "a"));
}

// Few entries in a memtable are counted one by one: key, sequence and value bytes.
TEST_F(DbApproximateSizeTest, MemTableEntriesInRangeAreCounted) {
  Fill('a', 10);
  Fill('b', 100);
  Fill('c', 10);
  const uint64_t entry = Key('a', 0).size() + 8 + kValueSize;
  EXPECT_EQ(10 * entry, SizeOf('a'));
  EXPECT_EQ(10 * entry, SizeOf('c'));
  EXPECT_EQ(100 * entry, SizeOf('b'));
  EXPECT_EQ(5 * entry, Size(Key('a', 5), Key('b', 0)));
  EXPECT_EQ(0u, SizeOf('d'));
}

// Past 128 entries in range the skip list's upper levels estimate the range's share of
// the memtable: no scan, and close enough to order ranges by size.
TEST_F(DbApproximateSizeTest, ManyMemTableEntriesGetTheirShareOfTheMemTable) {
  Fill('a', 10);
  Fill('b', 5000);
  Fill('c', 15000);
  const uint64_t entry = Key('a', 0).size() + 8 + kValueSize;
  Statistics stats;
  db_->GetStatistics(&stats);
  const uint64_t b = SizeOf('b');
  const uint64_t c = SizeOf('c');
  EXPECT_GE(b, 128 * entry);
  EXPECT_GT(b, stats.memtable_bytes / 4 / 2) << "a quarter of the entries";
  EXPECT_LT(b, stats.memtable_bytes / 4 * 2);
  EXPECT_GT(c, b * 3 / 2) << "three times as many entries";
  EXPECT_LE(c, stats.memtable_bytes);
  EXPECT_EQ(10 * entry, SizeOf('a'));
}

// In a table the ends of the range are placed through the index: a small range that
// shares a table with a big one gets about its own bytes (to a data block of ~4 KiB),
// not the table's.
TEST_F(DbApproximateSizeTest, RangesSharingOneTableGetTheirOwnShare) {
  Fill('a', 20);
  Fill('b', 20000);
  Fill('c', 20);
  ASSERT_TRUE(db_->Flush().ok());
  Statistics stats;
  db_->GetStatistics(&stats);
  ASSERT_EQ(1, stats.levels[0].files);
  const uint64_t entry = Key('a', 0).size() + 8 + kValueSize;
  const uint64_t big = SizeOf('b');
  EXPECT_GT(big, 20000 * entry * 9 / 10);
  EXPECT_LT(big, 20000 * entry * 11 / 10);
  for (char small : {'a', 'c'}) {
    EXPECT_LE(SizeOf(small), 20 * entry + 8192) << small;
  }
  // Half of the big range is about half of it.
  const uint64_t half = Size(Key('b', 0), Key('b', 10000));
  EXPECT_GT(half, big * 4 / 10);
  EXPECT_LT(half, big * 6 / 10);
  // Everything is about the whole table.
  EXPECT_GE(Size("", "z"), big);
  EXPECT_LE(Size("", "z"), stats.levels[0].bytes);
}

// Tables in several levels and the memtable all add up.
TEST_F(DbApproximateSizeTest, TablesOfEveryLevelAndTheMemTableAddUp) {
  Fill('b', 10000);
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());  // into a deeper level
  const uint64_t compacted = SizeOf('b');
  Fill('b', 5000);  // overwrites: a second version of half the keys
  ASSERT_TRUE(db_->Flush().ok());
  const uint64_t with_level0 = SizeOf('b');
  EXPECT_GT(with_level0, compacted + compacted * 4 / 10);
  Fill('a', 3);
  const uint64_t entry = Key('a', 0).size() + 8 + kValueSize;
  EXPECT_EQ(3 * entry, SizeOf('a'));
  EXPECT_EQ(with_level0, SizeOf('b'));
}

TEST_F(DbApproximateSizeTest, ClosedStoreIsAnError) {
  ASSERT_TRUE(db_->Close().ok());
  uint64_t bytes = 1;
  Status s = db_->GetApproximateSize("a", "b", &bytes);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("closed"), std::string::npos) << s.ToString();
  EXPECT_EQ(0u, bytes);
}

}  // namespace
}  // namespace strata
