// I/O errors and power loss against the whole engine, on FaultInjectionEnv over the
// in-memory Env. One small deterministic workload (open, ~60 batches, some synced,
// explicit and automatic flushes, close) is run once to count its calls of each fault
// kind, then once per call with exactly that call failing. Every injected fault must
// come back to the caller as an error Status that names it, and a reopen without
// faults must find every acknowledged batch, no half-applied batch, and a store that
// still takes writes. Power-loss tests crash the "machine" at the first error or after
// any batch, drop what was never synced, and require every batch that was durable
// (synced, or flushed) to survive. Read faults during recovery, Get and scans must fail
// the operation, never produce a wrong answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lsm/fault_injection_env.h"
#include "strata/db.h"
#include "strata/env.h"

namespace strata {
namespace {

constexpr char kDbPath[] = "/fault-db";
constexpr int kNumBatches = 60;
constexpr int kKeysPerBatch = 4;
constexpr int kFlushEvery = 25;    // explicit Flush after batches 24 and 49, and at the end
constexpr int kLoggedBatches = 5;  // the read fixture's batches that only the log holds
constexpr int kExtraBatches = 3;   // written after recovery to show the store still works

// Keys name their batch, so a scan tells which batches survived and whether whole.
std::string BatchKey(int batch, int j) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "b%04d/%d", batch, j);
  return buf;
}

std::string BatchValue(int batch, int j) {
  return "value of " + BatchKey(batch, j) + std::string(80 + (batch * 7 + j) % 40, 'a' + j);
}

WriteBatch MakeBatch(int batch) {
  WriteBatch wb;
  for (int j = 0; j < kKeysPerBatch; j++) wb.Put(BatchKey(batch, j), BatchValue(batch, j));
  return wb;
}

bool IsSyncBatch(int batch) { return batch % 4 == 1; }

Options FaultOptions(Env* env) {
  Options options;
  options.env = env;
  options.create_if_missing = true;
  // About ten batches fill a memtable: the workload flushes automatically as well as
  // on request. Small blocks give tables several data blocks, so scans read several.
  options.write_buffer_size = 8 << 10;
  options.block_size = 1024;
  return options;
}

const char* FaultModeName(FaultMode mode) { return mode == FaultMode::kOnce ? "once" : "sticky"; }

std::string InjectedFaultText(FaultKind kind) {
  return std::string("injected ") + FaultKindName(kind) + " fault";
}

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

// A fresh in-memory filesystem with the fault-injecting Env on top.
struct FaultyFilesystem {
  FaultyFilesystem() : base(NewMemEnv()), env(base.get()) {}
  std::unique_ptr<Env> base;
  FaultInjectionEnv env;
};

// Simulates the machine losing power with the store open: nothing written from now
// on reaches the disk, the DB object goes away, and unsynced data is lost.
void PowerLoss(FaultInjectionEnv* env, std::unique_ptr<DB>* db) {
  env->SetFilesystemActive(false);
  db->reset();
  Status s = env->DropUnsyncedData();
  ASSERT_TRUE(s.ok()) << s.ToString();
  env->SetFilesystemActive(true);
}

struct CrashPlan {
  bool at_first_error = false;
  // Crash right after this batch's Write returned (-1: right after Open).
  std::optional<int> after_batch;
};

CrashPlan CrashAtFirstError() {
  CrashPlan plan;
  plan.at_first_error = true;
  return plan;
}

CrashPlan CrashAfterBatch(int batch) {
  CrashPlan plan;
  plan.after_batch = batch;
  return plan;
}

struct WorkloadResult {
  std::vector<bool> acknowledged = std::vector<bool>(kNumBatches, false);
  // Every acknowledged batch up to this one was durable (synced, or in a table after a
  // successful Flush) when the workload ended: it must survive power loss.
  int durable_through = -1;
  std::vector<std::string> errors;  // every failed operation, in order
  bool crashed = false;

  bool AnyErrorMentions(const std::string& text) const {
    for (const std::string& e : errors) {
      if (e.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string ErrorList() const {
    std::string out = errors.empty() ? "no operation failed" : "";
    for (const std::string& e : errors) out += "\n  " + e;
    return out;
  }
};

// How the workload runs with the engine's background work. kConcurrent lets flushes and
// compactions overlap the writes as they would in use; kSerialized waits for them after
// every write and flush (each wait also settles the store: memtable flushed, level 0
// compacted) and runs them on one thread, so that two runs make the same calls in the
// same order (a sweep whose coverage check needs the call count to be the same in
// every run).
enum class Pacing { kConcurrent, kSerialized };

// Open, kNumBatches batches (every fourth synced) with a Flush every kFlushEvery
// batches and at the end, Close. Keeps going after errors, so that an engine that
// acknowledged a write after a failure would be caught losing it.
WorkloadResult RunWorkload(FaultInjectionEnv* env, const CrashPlan& plan = {},
                           Pacing pacing = Pacing::kConcurrent) {
  WorkloadResult result;
  std::unique_ptr<DB> db;
  // Records a failure; true if the machine should now crash.
  auto failed = [&](const std::string& step, const Status& s) {
    if (s.ok()) return false;
    result.errors.push_back(step + ": " + s.ToString());
    return plan.at_first_error;
  };
  auto crash = [&] {
    result.crashed = true;
    PowerLoss(env, &db);
  };

  Options options = FaultOptions(env);
  // Serialized: one background thread, so that a flush and a compaction never run at
  // once and their order (and so the calls they make) is the same in every run; and no
  // idle settling, whose timer would fire in a slow run (a loaded machine, a sanitizer
  // build) and not in another.
  if (pacing == Pacing::kSerialized) {
    options.background_threads = 1;
    options.settle_after_idle_millis = 0;
  }
  Status s = DB::Open(options, kDbPath, &db);
  if (failed("Open", s)) crash();
  if (!s.ok()) return result;
  if (plan.after_batch == -1) {
    crash();
    return result;
  }
  for (int b = 0; b < kNumBatches; b++) {
    WriteBatch batch = MakeBatch(b);
    WriteOptions write;
    write.sync = IsSyncBatch(b);
    s = db->Write(write, &batch);
    if (s.ok()) {
      result.acknowledged[b] = true;
      if (write.sync) result.durable_through = b;
    }
    if (failed("Write of batch " + std::to_string(b), s) || plan.after_batch == b) {
      crash();
      return result;
    }
    if (pacing == Pacing::kSerialized &&
        failed("Background work after batch " + std::to_string(b), db->WaitForBackgroundWork())) {
      crash();
      return result;
    }
    if ((b + 1) % kFlushEvery == 0 || b == kNumBatches - 1) {
      s = db->Flush();
      if (s.ok()) result.durable_through = b;
      if (failed("Flush after batch " + std::to_string(b), s)) {
        crash();
        return result;
      }
      if (pacing == Pacing::kSerialized &&
          failed("Background work after the flush after batch " + std::to_string(b),
                 db->WaitForBackgroundWork())) {
        crash();
        return result;
      }
    }
  }
  // A background failure after the last call (e.g. in a compaction) surfaces here.
  if (failed("Close", db->Close())) crash();
  return result;
}

// Reads the whole store (scan and Get) and checks it against the batches 0..n-1 with
// n = acknowledged.size(): every key is a batch key with its value, every batch is
// whole or absent, every required batch is whole, and no batch survived while an
// earlier acknowledged one was lost (the log is ordered; so is durability).
void CheckContents(DB* db, const std::vector<bool>& acknowledged, const std::vector<bool>& required,
                   std::vector<bool>* present) {
  const int n = static_cast<int>(acknowledged.size());
  std::map<std::string, std::pair<int, int>> batch_of_key;
  for (int b = 0; b < n; b++) {
    for (int j = 0; j < kKeysPerBatch; j++) batch_of_key[BatchKey(b, j)] = {b, j};
  }
  std::vector<int> keys_found(n, 0);
  std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto found = batch_of_key.find(std::string(it->key()));
    ASSERT_NE(found, batch_of_key.end()) << "unexpected key '" << it->key() << "'";
    auto [b, j] = found->second;
    ASSERT_EQ(BatchValue(b, j), it->value()) << "wrong value for " << it->key();
    keys_found[b]++;
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();

  present->assign(n, false);
  int last_acknowledged_missing = -1;
  for (int b = 0; b < n; b++) {
    ASSERT_TRUE(keys_found[b] == 0 || keys_found[b] == kKeysPerBatch)
        << "batch " << b << " is half applied: " << keys_found[b] << " of " << kKeysPerBatch
        << " keys";
    (*present)[b] = keys_found[b] == kKeysPerBatch;
    if (required[b]) {
      ASSERT_TRUE((*present)[b]) << "acknowledged batch " << b << " was lost";
    }
    if ((*present)[b]) {
      ASSERT_EQ(last_acknowledged_missing, -1)
          << "batch " << b << " survived but the earlier acknowledged batch "
          << last_acknowledged_missing << " was lost";
    } else if (acknowledged[b] && last_acknowledged_missing == -1) {
      last_acknowledged_missing = b;
    }
    for (int j = 0; j < kKeysPerBatch; j++) {
      std::string value;
      Status s = db->Get(ReadOptions(), BatchKey(b, j), &value);
      if ((*present)[b]) {
        ASSERT_TRUE(s.ok()) << BatchKey(b, j) << " is in a scan but Get says " << s.ToString();
        ASSERT_EQ(BatchValue(b, j), value) << BatchKey(b, j);
      } else {
        ASSERT_TRUE(s.IsNotFound())
            << BatchKey(b, j) << " is not in a scan but Get says " << s.ToString();
      }
    }
  }
}

// Clears faults, reopens, checks the contents, writes kExtraBatches more batches and
// checks that a second reopen finds exactly what the first one did plus those. Sets
// *recovered (if given) to the batches the first reopen found.
void CheckRecovery(FaultInjectionEnv* env, const std::vector<bool>& acknowledged,
                   const std::vector<bool>& required, std::vector<bool>* recovered = nullptr) {
  env->ClearFaults();
  std::unique_ptr<DB> db;
  Status s = DB::Open(FaultOptions(env), kDbPath, &db);
  ASSERT_TRUE(s.ok()) << "reopen without faults: " << s.ToString();
  std::vector<bool> present;
  ASSERT_NO_FATAL_FAILURE(CheckContents(db.get(), acknowledged, required, &present));
  if (recovered != nullptr) *recovered = present;

  // What survived is now the store's state, and must stay.
  std::vector<bool> expected = present;
  for (int i = 0; i < kExtraBatches; i++) {
    const int b = static_cast<int>(expected.size());
    WriteBatch batch = MakeBatch(b);
    WriteOptions write;
    write.sync = i == 0;
    s = db->Write(write, &batch);
    ASSERT_TRUE(s.ok()) << "write of batch " << b << " after recovery: " << s.ToString();
    expected.push_back(true);
  }
  s = db->Close();
  ASSERT_TRUE(s.ok()) << s.ToString();
  db.reset();
  s = DB::Open(FaultOptions(env), kDbPath, &db);
  ASSERT_TRUE(s.ok()) << "second reopen: " << s.ToString();
  std::vector<bool> present_again;
  ASSERT_NO_FATAL_FAILURE(CheckContents(db.get(), expected, expected, &present_again));
  ASSERT_EQ(expected, present_again) << "an absent batch appeared on the second reopen";
  s = db->Close();
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// Calls of kind the clean workload makes.
int CountWorkloadCalls(FaultKind kind, Pacing pacing = Pacing::kConcurrent) {
  FaultyFilesystem fs;
  WorkloadResult result = RunWorkload(&fs.env, CrashPlan(), pacing);
  EXPECT_TRUE(result.errors.empty()) << result.ErrorList();
  return fs.env.CallCount(kind);
}

std::vector<bool> AcknowledgedUpTo(const WorkloadResult& result, int last) {
  std::vector<bool> required = result.acknowledged;
  for (int b = last + 1; b < kNumBatches; b++) required[b] = false;
  return required;
}

TEST(DbFaultTest, CleanWorkloadAcknowledgesEverythingAndRecovers) {
  FaultyFilesystem fs;
  WorkloadResult result = RunWorkload(&fs.env);
  ASSERT_TRUE(result.errors.empty()) << result.ErrorList();
  ASSERT_EQ(std::vector<bool>(kNumBatches, true), result.acknowledged);
  ASSERT_EQ(kNumBatches - 1, result.durable_through);
  // The workload must exercise every path the sweeps are meant to cover: several
  // tables (automatic flushes too), a MANIFEST switch at open, obsolete-file removal.
  EXPECT_GE(fs.env.CallCount(FaultKind::kCreate), 12);
  EXPECT_GE(fs.env.CallCount(FaultKind::kRename), 2);
  EXPECT_GE(fs.env.CallCount(FaultKind::kRemove), 4);
  ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, result.acknowledged, result.acknowledged));
}

// Every call of one kind fails in turn: writes, syncs, creates and renames of the log,
// tables, MANIFEST and CURRENT, and the reads of recovery and of the read-back of each
// new table. The error must surface and recovery must lose nothing acknowledged.
// Serialized, so that every run makes the counting run's calls and every fault fires.
class DbFaultSweepTest : public ::testing::TestWithParam<std::tuple<FaultKind, FaultMode>> {};

TEST_P(DbFaultSweepTest, EveryFailedCallSurfacesAndLosesNothingAcknowledged) {
  const auto [kind, mode] = GetParam();
  const int calls = CountWorkloadCalls(kind, Pacing::kSerialized);
  ASSERT_GT(calls, 0);
  int fired = 0;
  for (int i = 0; i < calls; i++) {
    SCOPED_TRACE(std::string(FaultModeName(mode)) + " " + FaultKindName(kind) + " fault at call " +
                 std::to_string(i) + " of " + std::to_string(calls));
    FaultyFilesystem fs;
    fs.env.FailAfter(kind, i, mode);
    WorkloadResult result = RunWorkload(&fs.env, CrashPlan(), Pacing::kSerialized);
    if (fs.env.CallCount(kind) > i) {
      fired++;
      ASSERT_TRUE(result.AnyErrorMentions(InjectedFaultText(kind)))
          << "the injected fault was swallowed: " << result.ErrorList();
    }
    ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, result.acknowledged, result.acknowledged))
        << result.ErrorList();
  }
  EXPECT_EQ(fired, calls) << fired << " of " << calls << " faults fired";
}

INSTANTIATE_TEST_SUITE_P(
    DurablePath, DbFaultSweepTest,
    ::testing::Combine(::testing::Values(FaultKind::kWrite, FaultKind::kSync, FaultKind::kRename,
                                         FaultKind::kCreate, FaultKind::kRead),
                       ::testing::Values(FaultMode::kOnce, FaultMode::kSticky)),
    [](const auto& info) {
      return std::string(FaultKindName(std::get<0>(info.param))) + "_" +
             FaultModeName(std::get<1>(info.param));
    });

// Removing a file is the one call whose failure may stay silent: the engine removes
// only files it no longer needs (obsolete logs, tables and MANIFESTs, the temporary
// file of a failed CURRENT update), and a file left behind is garbage that the next
// successful open removes. So a failed remove must change nothing at all. Serialized:
// how many removes a run makes depends on how compactions interleave with flushes, and
// the coverage check below counts on every run making the counting run's removes.
TEST(DbFaultTest, FailedRemoveOfObsoleteFilesIsHarmless) {
  const int calls = CountWorkloadCalls(FaultKind::kRemove, Pacing::kSerialized);
  ASSERT_GT(calls, 0);
  int fired = 0;
  for (FaultMode mode : {FaultMode::kOnce, FaultMode::kSticky}) {
    for (int i = 0; i < calls; i++) {
      SCOPED_TRACE(std::string(FaultModeName(mode)) + " remove fault at call " + std::to_string(i));
      FaultyFilesystem fs;
      fs.env.FailAfter(FaultKind::kRemove, i, mode);
      WorkloadResult result = RunWorkload(&fs.env, CrashPlan(), Pacing::kSerialized);
      if (fs.env.CallCount(FaultKind::kRemove) > i) fired++;
      ASSERT_TRUE(result.errors.empty()) << result.ErrorList();
      ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, result.acknowledged, result.acknowledged));
    }
  }
  EXPECT_EQ(fired, 2 * calls) << fired << " of " << 2 * calls << " faults fired";
}

// The machine dies at the first error the workload sees; after the power loss every
// batch that was durable by then must be back.
class DbPowerLossSweepTest : public ::testing::TestWithParam<FaultKind> {};

TEST_P(DbPowerLossSweepTest, PowerLossAtFirstErrorKeepsEveryDurableBatch) {
  const FaultKind kind = GetParam();
  const int calls = CountWorkloadCalls(kind);
  ASSERT_GT(calls, 0);
  for (int i = 0; i < calls; i++) {
    SCOPED_TRACE(std::string(FaultKindName(kind)) + " fault at call " + std::to_string(i) + " of " +
                 std::to_string(calls) + ", then power loss");
    FaultyFilesystem fs;
    fs.env.FailAfter(kind, i, FaultMode::kOnce);
    WorkloadResult result = RunWorkload(&fs.env, CrashAtFirstError());
    if (fs.env.CallCount(kind) > i) {
      ASSERT_TRUE(result.crashed) << "the injected fault surfaced nowhere";
      ASSERT_TRUE(result.AnyErrorMentions(InjectedFaultText(kind))) << result.ErrorList();
    }
    ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, result.acknowledged,
                                          AcknowledgedUpTo(result, result.durable_through)))
        << result.ErrorList();
  }
}

INSTANTIATE_TEST_SUITE_P(DurablePath, DbPowerLossSweepTest,
                         ::testing::Values(FaultKind::kWrite, FaultKind::kSync, FaultKind::kRename,
                                           FaultKind::kCreate, FaultKind::kRead),
                         [](const auto& info) { return FaultKindName(info.param); });

TEST(DbFaultTest, PowerLossAfterAnyBatchKeepsSyncedAndFlushedBatches) {
  int runs_that_lost_a_batch = 0;
  for (int crash_after = -1; crash_after < kNumBatches; crash_after++) {
    SCOPED_TRACE("power loss after batch " + std::to_string(crash_after));
    FaultyFilesystem fs;
    WorkloadResult result = RunWorkload(&fs.env, CrashAfterBatch(crash_after));
    ASSERT_TRUE(result.crashed);
    ASSERT_TRUE(result.errors.empty()) << result.ErrorList();
    std::vector<bool> required = AcknowledgedUpTo(result, result.durable_through);
    std::vector<bool> recovered;
    ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, result.acknowledged, required, &recovered));
    if (recovered != result.acknowledged) runs_that_lost_a_batch++;
  }
  // The power loss really drops unsynced batches: otherwise this test could not tell a
  // store that syncs from one that does not.
  EXPECT_GT(runs_that_lost_a_batch, 0);
}

TEST(DbFaultTest, PowerLossLosesUnsyncedBatchesButNeverLeavesAHole) {
  // Batch 2 is not synced and is followed by batch 3, not synced either; power loss
  // right after them loses both (the log was last synced at batch 1) but keeps 0 and 1.
  FaultyFilesystem fs;
  WorkloadResult result = RunWorkload(&fs.env, CrashAfterBatch(3));
  ASSERT_EQ(1, result.durable_through);
  std::unique_ptr<DB> db;
  Status s = DB::Open(FaultOptions(&fs.env), kDbPath, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<bool> present;
  ASSERT_NO_FATAL_FAILURE(
      CheckContents(db.get(), result.acknowledged, AcknowledgedUpTo(result, 1), &present));
  EXPECT_TRUE(present[0] && present[1]);
  EXPECT_FALSE(present[2] || present[3]);
}

// A store for the read tests: batches 0..kTableBatches-1 in two level-0 tables of
// several blocks each, and kLoggedBatches synced batches that only the log holds, so
// reopening reads CURRENT, the MANIFEST, the log, and the table recovery writes.
// Everything in it is durable. It has few tables, so that no background work starts
// after the open (a compaction would make its own reads): the reads counted are the
// ones the operation under test makes.
constexpr int kTableBatches = 30;
constexpr int kFixtureBatches = kTableBatches + kLoggedBatches;

void BuildReadFixture(FaultInjectionEnv* env) {
  Options options = FaultOptions(env);
  options.write_buffer_size = 1 << 20;  // only the explicit flushes make tables
  std::unique_ptr<DB> db;
  Status s = DB::Open(options, kDbPath, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (int b = 0; b < kFixtureBatches; b++) {
    WriteBatch batch = MakeBatch(b);
    WriteOptions write;
    write.sync = b >= kTableBatches;
    s = db->Write(write, &batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (b == kTableBatches / 2 || b == kTableBatches - 1) {
      s = db->Flush();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }
  s = db->Close();
  ASSERT_TRUE(s.ok()) << s.ToString();
}

std::vector<bool> AllFixtureBatches() { return std::vector<bool>(kFixtureBatches, true); }

// Every (key, value) of the read fixture in key order.
std::vector<std::pair<std::string, std::string>> FixtureContents() {
  std::vector<std::pair<std::string, std::string>> contents;
  for (int b = 0; b < kFixtureBatches; b++) {
    for (int j = 0; j < kKeysPerBatch; j++) contents.emplace_back(BatchKey(b, j), BatchValue(b, j));
  }
  return contents;
}

class DbReadFaultTest : public ::testing::TestWithParam<FaultMode> {};

TEST_P(DbReadFaultTest, FailedReadDuringRecoveryFailsOpen) {
  const FaultMode mode = GetParam();
  int calls;
  {
    FaultyFilesystem fs;
    ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
    fs.env.ResetCallCounts();
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(FaultOptions(&fs.env), kDbPath, &db).ok());
    calls = fs.env.CallCount(FaultKind::kRead);
  }
  ASSERT_GE(calls, 4);  // CURRENT, MANIFEST, log, and the recovered table's blocks
  for (int i = 0; i < calls; i++) {
    SCOPED_TRACE("read fault at call " + std::to_string(i) + " of Open");
    FaultyFilesystem fs;
    ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
    fs.env.FailAfter(FaultKind::kRead, i, mode);
    std::unique_ptr<DB> db;
    Status s = DB::Open(FaultOptions(&fs.env), kDbPath, &db);
    ASSERT_FALSE(s.ok()) << "Open succeeded over a failed read";
    ASSERT_TRUE(Mentions(s, InjectedFaultText(FaultKind::kRead))) << s.ToString();
    ASSERT_EQ(db, nullptr);
    ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, AllFixtureBatches(), AllFixtureBatches()));
  }
}

// Gets every key of the fixture and one absent key per batch; each answer must be
// right or an error naming the injected read fault. Sets *errors to how many were.
void GetEverything(DB* db, int* errors) {
  *errors = 0;
  for (int b = 0; b < kFixtureBatches; b++) {
    for (int j = 0; j <= kKeysPerBatch; j++) {  // j == kKeysPerBatch: never written
      const std::string key = BatchKey(b, j);
      std::string value;
      Status s = db->Get(ReadOptions(), key, &value);
      if (j == kKeysPerBatch && s.IsNotFound()) continue;
      if (j < kKeysPerBatch && s.ok()) {
        ASSERT_EQ(BatchValue(b, j), value) << key;
        continue;
      }
      ASSERT_TRUE(s.IsIOError() && Mentions(s, InjectedFaultText(FaultKind::kRead)))
          << "Get(" << key << ") answered " << s.ToString();
      ++*errors;
    }
  }
}

TEST_P(DbReadFaultTest, FailedReadDuringGetIsAnErrorNeverAWrongAnswer) {
  const FaultMode mode = GetParam();
  int calls;
  {
    FaultyFilesystem fs;
    ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(FaultOptions(&fs.env), kDbPath, &db).ok());
    fs.env.ResetCallCounts();
    int errors;
    ASSERT_NO_FATAL_FAILURE(GetEverything(db.get(), &errors));
    ASSERT_EQ(0, errors);
    calls = fs.env.CallCount(FaultKind::kRead);
  }
  ASSERT_GT(calls, 3);  // each of the three tables is opened on first use, its blocks read
  for (int i = 0; i < calls; i++) {
    SCOPED_TRACE("read fault at call " + std::to_string(i) + " of the Gets");
    FaultyFilesystem fs;
    ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(FaultOptions(&fs.env), kDbPath, &db).ok());
    fs.env.FailAfter(FaultKind::kRead, i, mode);
    int errors;
    ASSERT_NO_FATAL_FAILURE(GetEverything(db.get(), &errors));
    ASSERT_GT(fs.env.CallCount(FaultKind::kRead), i) << "the fault never fired";
    ASSERT_GE(errors, 1) << "the failed read was swallowed";
    // Nothing bad was cached: with the disk healthy again every read is right.
    fs.env.ClearFaults();
    ASSERT_NO_FATAL_FAILURE(GetEverything(db.get(), &errors));
    ASSERT_EQ(0, errors);
    std::vector<bool> present;
    ASSERT_NO_FATAL_FAILURE(
        CheckContents(db.get(), AllFixtureBatches(), AllFixtureBatches(), &present));
  }
}

// Scans the whole fixture forward or backward. Every entry yielded must be the next
// expected one: a failed read may end the scan early, but never skip or invent an
// entry. Sets *complete if every entry was yielded, and returns the final status.
void ScanEverything(DB* db, bool forward, bool* complete, Status* status) {
  std::vector<std::pair<std::string, std::string>> expected = FixtureContents();
  if (!forward) std::reverse(expected.begin(), expected.end());
  std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
  size_t seen = 0;
  for (forward ? it->SeekToFirst() : it->SeekToLast(); it->Valid();
       forward ? it->Next() : it->Prev()) {
    ASSERT_LT(seen, expected.size()) << "extra entry '" << it->key() << "'";
    ASSERT_EQ(expected[seen].first, it->key()) << "entry " << seen;
    ASSERT_EQ(expected[seen].second, it->value()) << "entry " << seen;
    seen++;
  }
  ASSERT_FALSE(it->Valid());
  *complete = seen == expected.size();
  *status = it->status();
}

TEST_P(DbReadFaultTest, FailedReadDuringScanEndsItWithAnErrorNeverSkipsEntries) {
  const FaultMode mode = GetParam();
  for (bool forward : {true, false}) {
    int calls;
    {
      FaultyFilesystem fs;
      ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
      std::unique_ptr<DB> db;
      ASSERT_TRUE(DB::Open(FaultOptions(&fs.env), kDbPath, &db).ok());
      fs.env.ResetCallCounts();
      bool complete;
      Status s;
      ASSERT_NO_FATAL_FAILURE(ScanEverything(db.get(), forward, &complete, &s));
      ASSERT_TRUE(complete && s.ok()) << s.ToString();
      calls = fs.env.CallCount(FaultKind::kRead);
    }
    ASSERT_GT(calls, 3);  // each table is opened and its blocks read
    for (int i = 0; i < calls; i++) {
      SCOPED_TRACE(std::string(forward ? "forward" : "backward") + " scan, read fault at call " +
                   std::to_string(i));
      FaultyFilesystem fs;
      ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
      std::unique_ptr<DB> db;
      ASSERT_TRUE(DB::Open(FaultOptions(&fs.env), kDbPath, &db).ok());
      fs.env.FailAfter(FaultKind::kRead, i, mode);
      bool complete;
      Status s;
      ASSERT_NO_FATAL_FAILURE(ScanEverything(db.get(), forward, &complete, &s));
      ASSERT_GT(fs.env.CallCount(FaultKind::kRead), i) << "the fault never fired";
      ASSERT_TRUE(s.IsIOError() && Mentions(s, InjectedFaultText(FaultKind::kRead)))
          << "scan " << (complete ? "completed" : "stopped early") << " with status "
          << s.ToString();
      fs.env.ClearFaults();
      ASSERT_NO_FATAL_FAILURE(ScanEverything(db.get(), forward, &complete, &s));
      ASSERT_TRUE(complete && s.ok()) << s.ToString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, DbReadFaultTest,
                         ::testing::Values(FaultMode::kOnce, FaultMode::kSticky),
                         [](const auto& info) { return FaultModeName(info.param); });

// After a background error the store refuses writes (even once the disk is healthy
// again: the log or MANIFEST may end in a partial record), still serves reads, and a
// reopen finds everything that was acknowledged.
TEST(DbFaultTest, FailedFlushMakesStoreReadOnlyButReadable) {
  FaultyFilesystem fs;
  std::unique_ptr<DB> db;
  Status s = DB::Open(FaultOptions(&fs.env), kDbPath, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Batches 0-9 in a table, 10-17 only in the memtable (too few to fill it: no
  // automatic flush may race with the fault below).
  constexpr int kWritten = 18;
  std::vector<bool> acknowledged(kWritten + 1, true);
  for (int b = 0; b < kWritten; b++) {
    WriteBatch batch = MakeBatch(b);
    s = db->Write(WriteOptions(), &batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (b == 9) {
      s = db->Flush();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }
  // The only writes a Flush makes are the table's: the new log is still empty.
  fs.env.FailAfter(FaultKind::kWrite, 0, FaultMode::kSticky);
  s = db->Flush();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s, InjectedFaultText(FaultKind::kWrite))) << s.ToString();
  fs.env.ClearFaults();

  WriteBatch batch = MakeBatch(kWritten);
  s = db->Write(WriteOptions(), &batch);
  acknowledged[kWritten] = false;
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s, "read-only")) << s.ToString();
  s = db->Put(WriteOptions(), "other", "value");
  EXPECT_TRUE(Mentions(s, "read-only")) << s.ToString();
  s = db->Delete(WriteOptions(), BatchKey(0, 0));
  EXPECT_TRUE(Mentions(s, "read-only")) << s.ToString();
  s = db->Flush();
  EXPECT_TRUE(Mentions(s, "read-only")) << s.ToString();

  // Reads see every acknowledged batch: the one in the unflushed memtable too.
  std::vector<bool> present;
  ASSERT_NO_FATAL_FAILURE(CheckContents(db.get(), acknowledged, acknowledged, &present));
  EXPECT_FALSE(present[kWritten]);
  // Close may repeat the background error; it must not invent another one.
  s = db->Close();
  EXPECT_TRUE(s.ok() || Mentions(s, InjectedFaultText(FaultKind::kWrite))) << s.ToString();
  db.reset();
  ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, acknowledged, acknowledged));
}

TEST(DbFaultTest, FailedLogWriteMakesStoreReadOnlyAndTheBatchAllOrNothing) {
  FaultyFilesystem fs;
  std::unique_ptr<DB> db;
  Status s = DB::Open(FaultOptions(&fs.env), kDbPath, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<bool> acknowledged(6, true);
  for (int b = 0; b < 5; b++) {
    WriteBatch batch = MakeBatch(b);
    ASSERT_TRUE(db->Write(WriteOptions(), &batch).ok());
  }
  // The second append of the record (its payload) fails once: the log now ends in a
  // torn record, so nothing may be appended after it even though the disk recovered.
  fs.env.FailAfter(FaultKind::kWrite, 1, FaultMode::kOnce);
  WriteBatch failing = MakeBatch(5);
  s = db->Write(WriteOptions(), &failing);
  acknowledged[5] = false;
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s, InjectedFaultText(FaultKind::kWrite))) << s.ToString();
  WriteBatch after = MakeBatch(6);
  s = db->Write(WriteOptions(), &after);
  EXPECT_TRUE(Mentions(s, "read-only")) << s.ToString();

  std::vector<bool> present;
  ASSERT_NO_FATAL_FAILURE(CheckContents(db.get(), acknowledged, acknowledged, &present));
  EXPECT_FALSE(present[5]) << "a failed write is visible to readers";
  db.reset();
  ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, acknowledged, acknowledged));
}

// The fixture's data is all durable; the machine dies during the open that recovers
// it, at the first failing call of each kind in turn. Nothing may be lost: recovery
// must not destroy the old state before the new one is durable.
class DbRecoveryPowerLossTest : public ::testing::TestWithParam<FaultKind> {};

TEST_P(DbRecoveryPowerLossTest, PowerLossDuringRecoveryLosesNothing) {
  const FaultKind kind = GetParam();
  int calls;
  {
    FaultyFilesystem fs;
    ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
    fs.env.ResetCallCounts();
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(FaultOptions(&fs.env), kDbPath, &db).ok());
    calls = fs.env.CallCount(kind);
  }
  ASSERT_GT(calls, 0);
  for (int i = 0; i < calls; i++) {
    SCOPED_TRACE(std::string(FaultKindName(kind)) + " fault at call " + std::to_string(i) +
                 " of the recovering Open, then power loss");
    FaultyFilesystem fs;
    ASSERT_NO_FATAL_FAILURE(BuildReadFixture(&fs.env));
    fs.env.FailAfter(kind, i, FaultMode::kOnce);
    std::unique_ptr<DB> db;
    Status s = DB::Open(FaultOptions(&fs.env), kDbPath, &db);
    if (kind != FaultKind::kRemove) {
      ASSERT_TRUE(Mentions(s, InjectedFaultText(kind))) << s.ToString();
    }
    ASSERT_NO_FATAL_FAILURE(PowerLoss(&fs.env, &db));
    ASSERT_NO_FATAL_FAILURE(CheckRecovery(&fs.env, AllFixtureBatches(), AllFixtureBatches()));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, DbRecoveryPowerLossTest,
                         ::testing::Values(FaultKind::kWrite, FaultKind::kSync, FaultKind::kRename,
                                           FaultKind::kCreate, FaultKind::kRead,
                                           FaultKind::kRemove),
                         [](const auto& info) { return FaultKindName(info.param); });

}  // namespace
}  // namespace strata
