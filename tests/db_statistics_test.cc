// GetStatistics reports what the engine did: bytes per path, group commit, flushes,
// compactions, per-level shape and reads.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "strata/db.h"
#include "strata/env.h"

namespace strata {
namespace {

class DbStatisticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    options_.env = env_.get();
    options_.create_if_missing = true;
    options_.write_buffer_size = 32 << 10;
    options_.level0_compaction_trigger = 100;  // keep tables in level 0 until asked
    options_.settle_after_idle_millis = 0;
    options_.level0_slowdown_writes_trigger = 200;
    options_.level0_stop_writes_trigger = 300;
    ASSERT_TRUE(DB::Open(options_, "/stats", &db_).ok());
  }

  Statistics Stats() {
    Statistics s;
    db_->GetStatistics(&s);
    return s;
  }

  std::unique_ptr<Env> env_;
  Options options_;
  std::unique_ptr<DB> db_;
};

TEST_F(DbStatisticsTest, FreshStoreReportsNothingDone) {
  Statistics s = Stats();
  EXPECT_EQ(0u, s.user_bytes_written);
  EXPECT_EQ(0u, s.flushes);
  EXPECT_EQ(0, s.levels[0].files);
  EXPECT_EQ(0.0, s.write_amplification);
}

TEST_F(DbStatisticsTest, WritesCountBytesLogRecordsAndSyncs) {
  WriteBatch batch;
  batch.Put("key", std::string(1000, 'v'));
  ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());
  WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE(db_->Put(sync, "other", "x").ok());
  Statistics s = Stats();
  EXPECT_EQ(2u, s.writes);
  EXPECT_EQ(2u, s.write_groups);
  EXPECT_EQ(1u, s.syncs);
  EXPECT_GE(s.user_bytes_written, 1000u + 3 + 5 + 1);
  EXPECT_GT(s.log_bytes_written, s.user_bytes_written);  // batch headers
  EXPECT_GT(s.memtable_bytes, 1000u);
}

TEST_F(DbStatisticsTest, FlushesFillLevelZeroAndCompactionMovesDataDown) {
  std::string value(500, 'v');
  for (int i = 0; i < 400; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), value).ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  Statistics s = Stats();
  EXPECT_GE(s.flushes, 2u);
  EXPECT_EQ(static_cast<int>(s.flushes), s.levels[0].files);
  EXPECT_GT(s.flush_bytes_written, 0u);
  EXPECT_EQ(s.flush_bytes_written, s.levels[0].bytes);
  EXPECT_GT(s.write_amplification, 1.0);

  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  s = Stats();
  EXPECT_EQ(0, s.levels[0].files);
  int deeper_files = 0;
  for (int level = 1; level < kStatisticsLevels; level++) deeper_files += s.levels[level].files;
  EXPECT_GT(deeper_files, 0);
  EXPECT_GE(s.compactions + s.trivial_moves, 1u);
  EXPECT_GT(s.compaction_bytes_written, 0u);
  EXPECT_GT(s.levels[0].compaction_bytes_read, 0u);
}

TEST_F(DbStatisticsTest, GetsAreCountedWhereTheyAreAnswered) {
  ASSERT_TRUE(db_->Put(WriteOptions(), "in-table", "1").ok());
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "in-memtable", "2").ok());
  std::string value;
  ASSERT_TRUE(db_->Get(ReadOptions(), "in-memtable", &value).ok());
  ASSERT_TRUE(db_->Get(ReadOptions(), "in-table", &value).ok());
  ASSERT_TRUE(db_->Get(ReadOptions(), "absent", &value).IsNotFound());
  Statistics s = Stats();
  EXPECT_EQ(3u, s.gets);
  EXPECT_EQ(1u, s.memtable_hits);
  EXPECT_EQ(1u, s.levels[0].get_hits);
  EXPECT_GE(s.levels[0].table_reads, 1u);
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

TEST_F(DbStatisticsTest, BloomFiltersAndBlockCacheAreCounted) {
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), "value").ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  std::string value;
  // The first two read the block (the second keeps it: gets cache on a second read);
  // the third finds it.
  for (int i = 0; i < 3; i++) ASSERT_TRUE(db_->Get(ReadOptions(), "key7", &value).ok());
  for (int i = 0; i < 50; i++) {
    // Inside the table's key range, so only the bloom filter can rule them out.
    ASSERT_TRUE(db_->Get(ReadOptions(), "key" + std::to_string(i) + "x", &value).IsNotFound());
  }
  Statistics s = Stats();
  EXPECT_GE(s.bloom_checks, 50u);
  EXPECT_GE(s.bloom_useful, 40u);  // about 1% false positives at 10 bits per key
  EXPECT_GE(s.block_cache_hits, 1u);
  EXPECT_GE(s.block_cache_misses, 2u);
  EXPECT_GT(s.block_cache_usage, 0u);
}

// A scan with fill_cache = false reads every block yet leaves the block cache as it
// was; the same scan with the default fills it. Across a level-0 table and a deeper
// level, both under the merge.
TEST_F(DbStatisticsTest, ScansWithoutFillCacheLeaveTheBlockCacheAlone) {
  for (int i = 0; i < 2000; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), std::string(50, 'v')).ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  for (int i = 0; i < 2000; i += 2) {
    ASSERT_TRUE(db_->Put(WriteOptions(), "key" + std::to_string(i), std::string(50, 'w')).ok());
  }
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  const uint64_t before = Stats().block_cache_usage;

  auto scan = [&](bool fill_cache) {
    ReadOptions options;
    options.fill_cache = fill_cache;
    std::unique_ptr<Iterator> it = db_->NewIterator(options);
    int rows = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) rows++;
    EXPECT_TRUE(it->status().ok());
    return rows;
  };
  EXPECT_EQ(2000, scan(false));
  const Statistics after_no_fill = Stats();
  EXPECT_GT(after_no_fill.block_cache_misses, 0u);  // blocks were read from the files
  EXPECT_EQ(before, after_no_fill.block_cache_usage);
  // With fill_cache a block's first read offers it to the cache (which keeps only
  // blocks offered twice, Cache::InsertOnSecondOffer) and its second read caches it.
  EXPECT_EQ(2000, scan(true));
  const uint64_t after_first_fill = Stats().block_cache_usage;
  EXPECT_EQ(2000, scan(true));
  EXPECT_GT(Stats().block_cache_usage, after_first_fill);
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

int TableFilesOnDisk(Env* env, const std::string& dir) {
  std::vector<std::string> names;
  EXPECT_TRUE(env->GetChildren(dir, &names).ok());
  int tables = 0;
  for (const std::string& name : names) {
    tables += name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0;
  }
  return tables;
}

// A reader's Version keeps replaced tables on disk; once the reader is gone they must
// go at the next WaitForBackgroundWork (and Close), not only after some later flush.
TEST_F(DbStatisticsTest, TablesKeptByAReleasedReaderLeaveAtWaitForBackgroundWork) {
  ASSERT_TRUE(db_->Put(WriteOptions(), "a", "1").ok());
  ASSERT_TRUE(db_->Flush().ok());
  std::unique_ptr<Iterator> reader = db_->NewIterator(ReadOptions());
  for (int i = 0; i < 3; i++) {
    std::string key = "b";  // (not "b" + to_string: g++ 12 warns falsely, -Wrestrict)
    key += std::to_string(i);
    ASSERT_TRUE(db_->Put(WriteOptions(), key, "2").ok());
    ASSERT_TRUE(db_->Flush().ok());
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  reader.reset();
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  Statistics s = Stats();
  int live = 0;
  for (const auto& level : s.levels) live += level.files;
  EXPECT_EQ(live, TableFilesOnDisk(env_.get(), "/stats"));
  ASSERT_TRUE(db_->Close().ok());
  EXPECT_EQ(live, TableFilesOnDisk(env_.get(), "/stats"));
}

}  // namespace
}  // namespace strata
