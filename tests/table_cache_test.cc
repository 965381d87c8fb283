// TableCache: at most max_open_tables tables open (least recently used closed first),
// tables held by readers usable after they are dropped, pinned-byte accounting, and
// the block cache and read counters the tables share.
#include "lsm/table_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lsm/dbformat.h"
#include "lsm/filename.h"
#include "lsm/table_builder.h"

namespace strata {
namespace {

const std::string kDbName = "/db";

// Forwards to a memory Env, counting the table files opened for reading.
class CountingEnv final : public Env {
 public:
  CountingEnv() : base_(NewMemEnv()) {}

  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    return base_->NewSequentialFile(path, result);
  }
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    opens_++;
    return base_->NewRandomAccessFile(path, result);
  }
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override {
    return base_->NewWritableFile(path, result);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    return base_->GetChildren(dir, names);
  }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  Status RemoveDir(const std::string& dir) override { return base_->RemoveDir(dir); }
  Status GetFileSize(const std::string& path, uint64_t* size) override {
    return base_->GetFileSize(path, size);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    return base_->LockFile(path, lock);
  }
  uint64_t NowMicros() override { return base_->NowMicros(); }

  int opens() const { return opens_.load(); }

 private:
  std::unique_ptr<Env> base_;
  std::atomic<int> opens_{0};
};

std::string UserKey(uint64_t table, int i) {
  char buf[48];
  snprintf(buf, sizeof(buf), "t%llu-%06d", static_cast<unsigned long long>(table), i);
  return buf;
}
std::string ValueOf(uint64_t table, int i) {
  char buf[48];
  snprintf(buf, sizeof(buf), "value %llu", static_cast<unsigned long long>(table * i));
  return buf;
}

class TableCacheTest : public testing::Test {
 protected:
  static constexpr int kKeysPerTable = 500;

  TableCacheTest() { EXPECT_TRUE(env_.CreateDir(kDbName).ok()); }

  // Writes table file `number` holding kKeysPerTable keys of its own.
  void WriteTable(uint64_t number) {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env_.NewWritableFile(TableFileName(kDbName, number), &file).ok());
    TableBuilder builder(options_, file.get());
    for (int i = 0; i < kKeysPerTable; i++) {
      std::string key;
      AppendInternalKey(&key, UserKey(number, i), 1, ValueType::kValue);
      builder.Add(key, ValueOf(number, i));
    }
    ASSERT_TRUE(builder.Finish().ok());
    ASSERT_TRUE(file->Close().ok());
    sizes_[number] = builder.FileSize();
  }

  std::unique_ptr<TableCache> NewCache(int max_open_tables, size_t block_cache_size = 1 << 20) {
    Options options = options_;
    options.max_open_tables = max_open_tables;
    options.block_cache_size = block_cache_size;
    return std::make_unique<TableCache>(kDbName, options, &env_);
  }

  std::shared_ptr<const Table> Find(TableCache* cache, uint64_t number) {
    std::shared_ptr<const Table> table;
    Status s = cache->FindTable(number, sizes_[number], &table);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return table;
  }

  // True if key i of table `number` reads back from table.
  static bool Reads(const Table& table, uint64_t number, int i) {
    LookupKey lookup(UserKey(number, i), kMaxSequenceNumber);
    TableGetResult result;
    std::string value;
    return table.Get(lookup.internal_key(), &result, &value).ok() &&
           result == TableGetResult::kFound && value == ValueOf(number, i);
  }

  Options options_;
  CountingEnv env_;
  std::map<uint64_t, uint64_t> sizes_;
};

TEST_F(TableCacheTest, KeepsAtMostMaxOpenTablesDroppingTheLeastRecentlyUsed) {
  for (uint64_t n = 1; n <= 3; n++) WriteTable(n);
  auto cache = NewCache(2);
  Find(cache.get(), 1);
  Find(cache.get(), 2);
  EXPECT_EQ(env_.opens(), 2);
  Find(cache.get(), 1);  // already open; now the most recently used
  EXPECT_EQ(env_.opens(), 2);
  Find(cache.get(), 3);  // closes 2
  EXPECT_EQ(env_.opens(), 3);
  EXPECT_EQ(cache->open_tables(), 2u);
  Find(cache.get(), 1);
  Find(cache.get(), 3);
  EXPECT_EQ(env_.opens(), 3);
  Find(cache.get(), 2);  // opened again; closes 1
  EXPECT_EQ(env_.opens(), 4);
  Find(cache.get(), 1);
  EXPECT_EQ(env_.opens(), 5);
  EXPECT_EQ(cache->open_tables(), 2u);
}

TEST_F(TableCacheTest, HeldTableStaysUsableAfterItIsDropped) {
  for (uint64_t n = 1; n <= 3; n++) WriteTable(n);
  auto cache = NewCache(1);
  std::shared_ptr<const Table> held = Find(cache.get(), 1);
  ASSERT_NE(held, nullptr);
  auto it = held->NewIterator();
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  Find(cache.get(), 2);  // drops 1 from the cache
  Find(cache.get(), 3);
  cache->Evict(1);
  EXPECT_EQ(cache->open_tables(), 1u);
  for (int i = 0; i < kKeysPerTable; i += 7) EXPECT_TRUE(Reads(*held, 1, i)) << i;
  int n = 0;
  for (; it->Valid(); it->Next()) n++;
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(n, kKeysPerTable);
  // The cache's own copy is a new Table, reading the same data.
  std::shared_ptr<const Table> reopened = Find(cache.get(), 1);
  EXPECT_NE(reopened, held);
  EXPECT_TRUE(Reads(*reopened, 1, 0));
}

TEST_F(TableCacheTest, EvictClosesTheTableAndReleasesItsPinnedBytes) {
  for (uint64_t n = 1; n <= 2; n++) WriteTable(n);
  auto cache = NewCache(10);
  EXPECT_EQ(cache->pinned_bytes(), 0u);
  const uint64_t one = Find(cache.get(), 1)->pinned_bytes();
  const uint64_t two = Find(cache.get(), 2)->pinned_bytes();
  ASSERT_GT(one, 0u);
  EXPECT_EQ(cache->pinned_bytes(), one + two);
  cache->Evict(1);
  EXPECT_EQ(cache->pinned_bytes(), two);
  EXPECT_EQ(cache->open_tables(), 1u);
  cache->Evict(1);  // evicting a table that is not open is harmless
  cache->Evict(99);
  EXPECT_EQ(cache->pinned_bytes(), two);
  int opens = env_.opens();
  Find(cache.get(), 1);
  EXPECT_EQ(env_.opens(), opens + 1);
  EXPECT_EQ(cache->pinned_bytes(), one + two);
}

TEST_F(TableCacheTest, PinnedBytesFollowTheLruDrops) {
  for (uint64_t n = 1; n <= 3; n++) WriteTable(n);
  auto cache = NewCache(2);
  const uint64_t one = Find(cache.get(), 1)->pinned_bytes();
  const uint64_t two = Find(cache.get(), 2)->pinned_bytes();
  const uint64_t three = Find(cache.get(), 3)->pinned_bytes();
  EXPECT_EQ(cache->pinned_bytes(), two + three);
  Find(cache.get(), 1);
  EXPECT_EQ(cache->pinned_bytes(), three + one);
}

TEST_F(TableCacheTest, FailedOpenIsReportedAndNotCached) {
  auto cache = NewCache(2);
  std::shared_ptr<const Table> table;
  EXPECT_FALSE(cache->FindTable(7, 1000, &table).ok());  // no such file
  EXPECT_EQ(table, nullptr);
  EXPECT_EQ(cache->open_tables(), 0u);
  WriteTable(7);
  EXPECT_NE(Find(cache.get(), 7), nullptr);  // now it exists: the failure was not cached
}

TEST_F(TableCacheTest, TablesShareTheBlockCacheAndTheReadCounters) {
  for (uint64_t n = 1; n <= 2; n++) WriteTable(n);
  auto cache = NewCache(10, 1 << 20);
  ASSERT_NE(cache->block_cache(), nullptr);
  EXPECT_EQ(cache->block_cache()->capacity(), 1u << 20);
  auto one = Find(cache.get(), 1);
  auto two = Find(cache.get(), 2);
  // Each table's first block, twice: gets keep a block from its second read on.
  for (int round = 0; round < 2; round++) {
    ASSERT_TRUE(Reads(*one, 1, 0));
    ASSERT_TRUE(Reads(*two, 2, 0));
  }
  EXPECT_EQ(cache->read_counters().blocks_read.load(), 4u);
  EXPECT_EQ(cache->block_cache()->entries(), 2u);
  ASSERT_TRUE(Reads(*one, 1, 1));
  ASSERT_TRUE(Reads(*two, 2, 1));
  EXPECT_EQ(cache->read_counters().blocks_read.load(), 4u);
  EXPECT_EQ(cache->block_cache()->hits(), 2u);
  EXPECT_EQ(cache->read_counters().bloom_checks.load(), 6u);
  // A key of table 2 asked of table 1: its filter says no (almost surely).
  LookupKey absent(UserKey(2, 0), kMaxSequenceNumber);
  TableGetResult result;
  std::string value;
  ASSERT_TRUE(one->Get(absent.internal_key(), &result, &value).ok());
  EXPECT_EQ(result, TableGetResult::kNotPresent);
  EXPECT_EQ(cache->read_counters().bloom_checks.load(), 7u);
  EXPECT_EQ(cache->read_counters().bloom_useful.load(), 1u);
}

TEST_F(TableCacheTest, ZeroBlockCacheSizeMeansNoBlockCache) {
  WriteTable(1);
  auto cache = NewCache(10, 0);
  EXPECT_EQ(cache->block_cache(), nullptr);
  auto table = Find(cache.get(), 1);
  ASSERT_TRUE(Reads(*table, 1, 0));
  ASSERT_TRUE(Reads(*table, 1, 0));
  EXPECT_EQ(cache->read_counters().blocks_read.load(), 2u);  // read from the file twice
}

// Threads look tables up through a cache that can hold only two of five: tables are
// closed and reopened under the readers' feet. Under TSan this checks the locking.
TEST_F(TableCacheTest, ConcurrentReadersThroughASmallTableCacheAgree) {
  for (uint64_t n = 1; n <= 5; n++) WriteTable(n);
  auto cache = NewCache(2, 64 << 10);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 500; i++) {
        uint64_t number = 1 + rng() % 5;
        std::shared_ptr<const Table> table;
        if (!cache->FindTable(number, sizes_.at(number), &table).ok() ||
            !Reads(*table, number, static_cast<int>(rng() % kKeysPerTable))) {
          wrong++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache->open_tables(), 2u);
  EXPECT_GT(env_.opens(), 5);  // tables were closed and opened again
}

}  // namespace
}  // namespace strata
