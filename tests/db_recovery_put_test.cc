// Recovery puts (WriteBatch::PutForRecovery) in a running DB: no read sees one, the
// next open applies it unless a later write of its key resolved it first, and it
// survives the retirement of the log it was written to (DBImpl carries unresolved ones
// into each new log), also through a power loss.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "lsm/fault_injection_env.h"
#include "lsm/filename.h"
#include "strata/db.h"
#include "strata/env.h"
#include "strata/statistics.h"

namespace strata {
namespace {

constexpr char kDbPath[] = "/db";

class DbRecoveryPutTest : public ::testing::Test {
 protected:
  DbRecoveryPutTest() : base_(NewMemEnv()), env_(base_.get()) {}

  Options SmallBufferOptions() {
    Options options;
    options.env = &env_;
    options.create_if_missing = true;
    options.write_buffer_size = 16 << 10;  // a few dozen of the filler batches below
    return options;
  }

  void Open() {
    db_.reset();
    Status s = DB::Open(SmallBufferOptions(), kDbPath, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void Reopen() {
    ASSERT_TRUE(db_->Close().ok());
    Open();
  }

  void PutForRecovery(const std::string& key, const std::string& value, bool sync = true) {
    WriteBatch batch;
    batch.PutForRecovery(key, value);
    WriteOptions options;
    options.sync = sync;
    Status s = db_->Write(options, &batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string Get(const std::string& key) {
    std::string value;
    Status s = db_->Get(ReadOptions(), key, &value);
    if (s.IsNotFound()) return "NOT_FOUND";
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }

  // Every key an iterator shows.
  std::vector<std::string> Keys() {
    std::vector<std::string> keys;
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return keys;
  }

  // Unsynced writes that fill several memtables, so the DB switches logs several times
  // and flushes the memtables (retiring their logs).
  void WriteManyMemtables(const std::string& tag) {
    const std::string value(200, 'f');
    for (int i = 0; i < 400; i++) {
      Status s = db_->Put(WriteOptions(), "filler/" + tag + "/" + std::to_string(i), value);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_TRUE(db_->Flush().ok());
    ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  }

  std::vector<uint64_t> LogNumbers() {
    std::vector<std::string> children;
    EXPECT_TRUE(env_.GetChildren(kDbPath, &children).ok());
    std::vector<uint64_t> logs;
    for (const std::string& name : children) {
      uint64_t number;
      FileType type;
      if (ParseFileName(name, &number, &type) && type == FileType::kLog) logs.push_back(number);
    }
    std::sort(logs.begin(), logs.end());
    return logs;
  }

  std::unique_ptr<Env> base_;
  FaultInjectionEnv env_;
  std::unique_ptr<DB> db_;
};

TEST_F(DbRecoveryPutTest, NoReadSeesItUntilTheNextOpenAppliesIt) {
  Open();
  ASSERT_TRUE(db_->Put(WriteOptions(), "key", "old").ok());
  PutForRecovery("key", "new");
  PutForRecovery("fresh", "value");
  EXPECT_EQ(Get("key"), "old");
  EXPECT_EQ(Get("fresh"), "NOT_FOUND");
  EXPECT_EQ(Keys(), std::vector<std::string>{"key"});
  ASSERT_TRUE(db_->Flush().ok());  // nor does a flush write it to a table
  EXPECT_EQ(Get("fresh"), "NOT_FOUND");

  Reopen();
  EXPECT_EQ(Get("key"), "new");
  EXPECT_EQ(Get("fresh"), "value");
  EXPECT_EQ(Keys(), (std::vector<std::string>{"fresh", "key"}));
}

TEST_F(DbRecoveryPutTest, ALaterPutOrDeleteOfTheKeyResolvesIt) {
  Open();
  PutForRecovery("deleted", "intent");
  PutForRecovery("overwritten", "intent");
  ASSERT_TRUE(db_->Delete(WriteOptions(), "deleted").ok());
  ASSERT_TRUE(db_->Put(WriteOptions(), "overwritten", "final").ok());
  // In one batch, after the recovery put: resolved too.
  WriteBatch batch;
  batch.PutForRecovery("same batch", "intent");
  batch.Delete("same batch");
  ASSERT_TRUE(db_->Write(WriteOptions(), &batch).ok());

  Reopen();
  EXPECT_EQ(Get("deleted"), "NOT_FOUND");
  EXPECT_EQ(Get("overwritten"), "final");
  EXPECT_EQ(Get("same batch"), "NOT_FOUND");
}

// The log a recovery put went to is deleted once its memtable is flushed; the put is in
// no memtable, so the DB writes it into the new log when it switches.
TEST_F(DbRecoveryPutTest, AnUnresolvedOneOutlivesTheLogItWasWrittenTo) {
  Open();
  const std::vector<uint64_t> logs_before = LogNumbers();
  ASSERT_EQ(logs_before.size(), 1u);
  PutForRecovery("intent", "record");
  WriteManyMemtables("a");
  ASSERT_LT(logs_before.back(), LogNumbers().front()) << "the first log is still there";
  EXPECT_EQ(Get("intent"), "NOT_FOUND");
  WriteManyMemtables("b");  // carried again, from the log it was carried to

  Reopen();
  EXPECT_EQ(Get("intent"), "record");
  EXPECT_EQ(Get("filler/b/399"), std::string(200, 'f'));
}

TEST_F(DbRecoveryPutTest, OneResolvedAfterBeingCarriedStaysResolved) {
  Open();
  PutForRecovery("intent", "record");
  WriteManyMemtables("a");
  ASSERT_TRUE(db_->Delete(WriteOptions(), "intent").ok());
  WriteManyMemtables("b");
  Reopen();
  EXPECT_EQ(Get("intent"), "NOT_FOUND");
  Reopen();  // and the next open does not bring it back from a table either
  EXPECT_EQ(Get("intent"), "NOT_FOUND");
}

// The writes that follow the synced recovery put are unsynced; a power loss after the
// flushes retired its original log must still find the carried copy.
TEST_F(DbRecoveryPutTest, ASyncedOneSurvivesPowerLossAfterItsLogWasRetired) {
  Open();
  PutForRecovery("intent", "record", /*sync=*/true);
  WriteManyMemtables("a");
  ASSERT_TRUE(db_->Put(WriteOptions(), "unsynced", "maybe").ok());

  env_.SetFilesystemActive(false);
  db_.reset();
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  env_.SetFilesystemActive(true);
  Open();
  EXPECT_EQ(Get("intent"), "record");
}

// Recovery applies only the recovery puts no later write resolved: a resolved one never
// reaches a table, even when it is larger than a memtable, so the replay's
// memtable-sized flushes would otherwise write it alone before meeting its deletion.
TEST_F(DbRecoveryPutTest, RecoveryWritesNoResolvedOneToATable) {
  Open();
  const std::string big(64 << 10, 'r');  // 4x the write buffer
  PutForRecovery("resolved", big);
  ASSERT_TRUE(db_->Put(WriteOptions(), "row", "v").ok());
  ASSERT_TRUE(db_->Delete(WriteOptions(), "resolved").ok());
  PutForRecovery("unresolved", "small");
  Reopen();  // Close does not flush: the reopen replays all of it
  EXPECT_EQ(Get("resolved"), "NOT_FOUND");
  EXPECT_EQ(Get("unresolved"), "small");
  EXPECT_EQ(Get("row"), "v");
  Statistics stats;
  db_->GetStatistics(&stats);
  uint64_t table_bytes = 0;
  for (const auto& level : stats.levels) table_bytes += level.bytes;
  EXPECT_LT(table_bytes, big.size() / 4);
}

// Recovery gives a recovery put its own sequence number: a put of the same key written
// after it, in a later log, still wins after the replay.
TEST_F(DbRecoveryPutTest, ReplayKeepsTheOrderOfLaterWrites) {
  Open();
  PutForRecovery("key", "intent");
  WriteManyMemtables("a");
  ASSERT_TRUE(db_->Put(WriteOptions(), "key", "later").ok());
  PutForRecovery("key", "second intent");
  ASSERT_TRUE(db_->Put(WriteOptions(), "other", "x").ok());
  Reopen();
  EXPECT_EQ(Get("key"), "second intent");
  ASSERT_TRUE(db_->Put(WriteOptions(), "key", "after reopen").ok());
  Reopen();
  EXPECT_EQ(Get("key"), "after reopen");
}

}  // namespace
}  // namespace strata
