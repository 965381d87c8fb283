#include "lsm/fault_injection_env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tests/support/temp_dir.h"

namespace strata {
namespace {

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  FaultInjectionEnvTest() : base_(NewMemEnv()), env_(base_.get()) {
    EXPECT_TRUE(base_->CreateDir("/db").ok());
  }

  // Writes data to a new file through env_, optionally synced, and closes it.
  void Write(const std::string& path, const std::string& data, bool sync) {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(env_.NewWritableFile(path, &file).ok());
    ASSERT_TRUE(file->Append(data).ok());
    if (sync) {
      ASSERT_TRUE(file->Sync().ok());
    }
    ASSERT_TRUE(file->Close().ok());
  }

  // The file's contents as the base Env holds them, or "<missing>".
  std::string Contents(const std::string& path) {
    std::string data;
    if (!ReadFileToString(base_.get(), path, &data).ok()) return "<missing>";
    return data;
  }

  std::unique_ptr<Env> base_;
  FaultInjectionEnv env_;
};

TEST_F(FaultInjectionEnvTest, FailAfterFailsExactlyTheNextNPlusFirstWriteOnce) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_.NewWritableFile("/db/000001.log", &file).ok());
  env_.FailAfter(FaultKind::kWrite, 2);
  EXPECT_TRUE(file->Append("a").ok());
  EXPECT_TRUE(file->Append("b").ok());
  Status s = file->Append("c");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ("IO error: injected write fault: /db/000001.log", s.ToString());
  EXPECT_TRUE(file->Append("d").ok());  // one-shot: the disk "recovered"
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ("abd", Contents("/db/000001.log"));  // the failed append reached nothing
}

TEST_F(FaultInjectionEnvTest, StickyFaultFailsEveryLaterCall) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_.NewWritableFile("/db/f", &file).ok());
  env_.FailAfter(FaultKind::kWrite, 1, FaultMode::kSticky);
  EXPECT_TRUE(file->Append("a").ok());
  for (int i = 0; i < 5; i++) EXPECT_TRUE(file->Append("b").IsIOError()) << i;
  EXPECT_TRUE(file->Flush().IsIOError());
  env_.ClearFaults();
  EXPECT_TRUE(file->Append("c").ok());
}

TEST_F(FaultInjectionEnvTest, FailAfterZeroFailsTheVeryNextCall) {
  env_.FailAfter(FaultKind::kCreate, 0);
  std::unique_ptr<WritableFile> file;
  Status s = env_.NewWritableFile("/db/f", &file);
  EXPECT_EQ("IO error: injected create fault: /db/f", s.ToString());
  EXPECT_FALSE(base_->FileExists("/db/f"));
  EXPECT_TRUE(env_.NewWritableFile("/db/f", &file).ok());
}

TEST_F(FaultInjectionEnvTest, SyncFaultCoversFileSyncAndSyncDir) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_.NewWritableFile("/db/f", &file).ok());
  ASSERT_TRUE(file->Append("x").ok());
  env_.FailAfter(FaultKind::kSync, 1, FaultMode::kSticky);
  EXPECT_TRUE(file->Sync().ok());
  Status s = env_.SyncDir("/db");
  EXPECT_EQ("IO error: injected sync fault: /db", s.ToString());
  s = file->Sync();
  EXPECT_EQ("IO error: injected sync fault: /db/f", s.ToString());
  EXPECT_TRUE(file->Flush().ok());  // writes are a different kind
  EXPECT_EQ(3, env_.CallCount(FaultKind::kSync));
}

TEST_F(FaultInjectionEnvTest, ReadFaultCoversSequentialAndRandomReads) {
  Write("/db/f", "hello", true);
  std::unique_ptr<SequentialFile> sequential;
  std::unique_ptr<RandomAccessFile> random;
  ASSERT_TRUE(env_.NewSequentialFile("/db/f", &sequential).ok());
  ASSERT_TRUE(env_.NewRandomAccessFile("/db/f", &random).ok());
  char scratch[8];
  std::string_view result;
  env_.FailAfter(FaultKind::kRead, 1, FaultMode::kSticky);
  ASSERT_TRUE(random->Read(1, 3, &result, scratch).ok());
  EXPECT_EQ("ell", result);
  Status s = sequential->Read(5, &result, scratch);
  EXPECT_EQ("IO error: injected read fault: /db/f", s.ToString());
  s = random->Read(0, 5, &result, scratch);
  EXPECT_EQ("IO error: injected read fault: /db/f", s.ToString());
  std::string data;
  EXPECT_TRUE(ReadFileToString(&env_, "/db/f", &data).IsIOError());
}

TEST_F(FaultInjectionEnvTest, RenameFaultLeavesBothFilesUntouched) {
  Write("/db/tmp", "new", true);
  Write("/db/CURRENT", "old", true);
  env_.FailAfter(FaultKind::kRename, 0);
  Status s = env_.RenameFile("/db/tmp", "/db/CURRENT");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Mentions(s, "injected rename fault: /db/tmp")) << s.ToString();
  EXPECT_EQ("new", Contents("/db/tmp"));
  EXPECT_EQ("old", Contents("/db/CURRENT"));
  EXPECT_TRUE(env_.RenameFile("/db/tmp", "/db/CURRENT").ok());
  EXPECT_EQ("new", Contents("/db/CURRENT"));
}

TEST_F(FaultInjectionEnvTest, RemoveFaultKeepsTheFile) {
  Write("/db/000005.sst", "table", true);
  env_.FailAfter(FaultKind::kRemove, 0);
  Status s = env_.RemoveFile("/db/000005.sst");
  EXPECT_EQ("IO error: injected remove fault: /db/000005.sst", s.ToString());
  EXPECT_TRUE(base_->FileExists("/db/000005.sst"));
  EXPECT_TRUE(env_.RemoveFile("/db/000005.sst").ok());
  EXPECT_FALSE(base_->FileExists("/db/000005.sst"));
}

TEST_F(FaultInjectionEnvTest, CallCountCountsEveryCallIncludingFailedOnes) {
  Write("/db/a", "1", true);  // create, write, sync
  Write("/db/b", "2", false);
  EXPECT_EQ(2, env_.CallCount(FaultKind::kCreate));
  EXPECT_EQ(2, env_.CallCount(FaultKind::kWrite));
  EXPECT_EQ(1, env_.CallCount(FaultKind::kSync));
  EXPECT_EQ(0, env_.CallCount(FaultKind::kRename));
  env_.FailAfter(FaultKind::kRename, 0);
  EXPECT_FALSE(env_.RenameFile("/db/a", "/db/c").ok());
  EXPECT_EQ(1, env_.CallCount(FaultKind::kRename));
  env_.ResetCallCounts();
  EXPECT_EQ(0, env_.CallCount(FaultKind::kCreate));
}

TEST_F(FaultInjectionEnvTest, CountThenFailEachSyncInTurn) {
  // The pattern crash tests use: count the syncs of an operation, then make each one
  // fail in a fresh run and check the operation reports it.
  auto operation = [this] {
    Status s = WriteStringToFile(&env_, "payload", "/db/tmp", /*sync=*/true);
    if (s.ok()) s = env_.RenameFile("/db/tmp", "/db/CURRENT");
    if (s.ok()) s = env_.SyncDir("/db");
    return s;
  };
  env_.ResetCallCounts();
  ASSERT_TRUE(operation().ok());
  const int syncs = env_.CallCount(FaultKind::kSync);
  ASSERT_EQ(2, syncs);
  for (int i = 0; i < syncs; i++) {
    env_.ClearFaults();
    env_.FailAfter(FaultKind::kSync, i);
    Status s = operation();
    EXPECT_TRUE(s.IsIOError()) << "sync " << i;
    EXPECT_TRUE(Mentions(s, "injected sync fault")) << s.ToString();
  }
}

TEST_F(FaultInjectionEnvTest, ResetCallCountsKeepsArmedFaultsRemainingCalls) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_.NewWritableFile("/db/f", &file).ok());
  ASSERT_TRUE(file->Append("a").ok());
  env_.FailAfter(FaultKind::kWrite, 1);
  env_.ResetCallCounts();
  EXPECT_TRUE(file->Append("b").ok());
  EXPECT_TRUE(file->Append("c").IsIOError());
}

TEST_F(FaultInjectionEnvTest, DropUnsyncedDataTruncatesToSyncedLength) {
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_.NewWritableFile("/db/000003.log", &file).ok());
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(file->Append("synced|").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("flushed only").ok());
  ASSERT_TRUE(file->Flush().ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ("synced|flushed only", Contents("/db/000003.log"));
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("synced|", Contents("/db/000003.log"));
}

TEST_F(FaultInjectionEnvTest, DropUnsyncedDataRemovesFilesCreatedSinceLastDirSync) {
  Write("/db/durable", "d", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  Write("/db/synced_but_dir_not", "x", true);
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("d", Contents("/db/durable"));
  EXPECT_FALSE(base_->FileExists("/db/synced_but_dir_not"));
}

TEST_F(FaultInjectionEnvTest, DirSyncOfAnotherDirectoryDoesNotSaveAFile) {
  ASSERT_TRUE(base_->CreateDir("/other").ok());
  Write("/db/f", "x", true);
  ASSERT_TRUE(env_.SyncDir("/other").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(base_->FileExists("/db/f"));
}

TEST_F(FaultInjectionEnvTest, DirSyncWithTrailingSlashCountsForItsFiles) {
  Write("/db/f", "x", true);
  ASSERT_TRUE(env_.SyncDir("/db/").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("x", Contents("/db/f"));
}

TEST_F(FaultInjectionEnvTest, FilesNeverWrittenThroughTheEnvSurviveUnchanged) {
  ASSERT_TRUE(WriteStringToFile(base_.get(), "pre-existing", "/db/old", false).ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("pre-existing", Contents("/db/old"));
}

TEST_F(FaultInjectionEnvTest, TruncatingAnExistingFileWithoutSyncLeavesItEmpty) {
  ASSERT_TRUE(WriteStringToFile(base_.get(), "old contents", "/db/f", false).ok());
  Write("/db/f", "new unsynced", false);
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("", Contents("/db/f"));  // the entry was durable, its data was not
}

TEST_F(FaultInjectionEnvTest, DropUnsyncedDataUndoesRenameNotFollowedByDirSync) {
  Write("/db/CURRENT", "MANIFEST-000001\n", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  Write("/db/000002.dbtmp", "MANIFEST-000002\n", true);
  ASSERT_TRUE(env_.RenameFile("/db/000002.dbtmp", "/db/CURRENT").ok());
  EXPECT_EQ("MANIFEST-000002\n", Contents("/db/CURRENT"));
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("MANIFEST-000001\n", Contents("/db/CURRENT"));
  // The temporary file's creation was not durable either.
  EXPECT_FALSE(base_->FileExists("/db/000002.dbtmp"));
}

TEST_F(FaultInjectionEnvTest, RenameOfDurableFileComesBackUnderItsOldName) {
  Write("/db/a", "contents", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(env_.RenameFile("/db/a", "/db/b").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("contents", Contents("/db/a"));
  EXPECT_FALSE(base_->FileExists("/db/b"));
}

TEST_F(FaultInjectionEnvTest, RenameFollowedByDirSyncSurvives) {
  Write("/db/CURRENT", "old", true);
  Write("/db/tmp", "new", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(env_.RenameFile("/db/tmp", "/db/CURRENT").ok());
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("new", Contents("/db/CURRENT"));
  EXPECT_FALSE(base_->FileExists("/db/tmp"));
}

TEST_F(FaultInjectionEnvTest, UnsyncedDataFollowsTheFileThroughARename) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_.NewWritableFile("/db/a", &file).ok());
  ASSERT_TRUE(file->Append("kept").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(env_.RenameFile("/db/a", "/db/b").ok());
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(file->Append("+lost").ok());
  ASSERT_TRUE(file->Close().ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("kept", Contents("/db/b"));
}

TEST_F(FaultInjectionEnvTest, DropUnsyncedDataMakesTheSurvivorsDurable) {
  Write("/db/f", "x", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  // A second power loss right away loses nothing more.
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ("x", Contents("/db/f"));
}

TEST_F(FaultInjectionEnvTest, InactiveFilesystemRejectsEveryMutationButAllowsReads) {
  Write("/db/f", "data", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  std::unique_ptr<WritableFile> open_file;
  ASSERT_TRUE(env_.NewWritableFile("/db/g", &open_file).ok());
  env_.SetFilesystemActive(false);
  EXPECT_FALSE(env_.IsFilesystemActive());

  EXPECT_TRUE(open_file->Append("x").IsIOError());
  EXPECT_TRUE(open_file->Flush().IsIOError());
  Status s = open_file->Sync();
  EXPECT_TRUE(s.IsIOError());
  EXPECT_TRUE(Mentions(s, "/db/g")) << s.ToString();
  std::unique_ptr<WritableFile> file;
  EXPECT_TRUE(env_.NewWritableFile("/db/h", &file).IsIOError());
  EXPECT_FALSE(base_->FileExists("/db/h"));
  EXPECT_TRUE(env_.RenameFile("/db/f", "/db/f2").IsIOError());
  EXPECT_TRUE(env_.RemoveFile("/db/f").IsIOError());
  EXPECT_TRUE(env_.SyncDir("/db").IsIOError());
  EXPECT_TRUE(env_.CreateDir("/db/sub").IsIOError());
  std::unique_ptr<FileLock> lock;
  EXPECT_TRUE(env_.LockFile("/db/LOCK", &lock).IsIOError());
  EXPECT_EQ("data", Contents("/db/f"));

  std::string data;
  ASSERT_TRUE(ReadFileToString(&env_, "/db/f", &data).ok());
  EXPECT_EQ("data", data);

  env_.SetFilesystemActive(true);
  EXPECT_TRUE(open_file->Append("y").ok());
  EXPECT_TRUE(open_file->Close().ok());
}

TEST_F(FaultInjectionEnvTest, CrashSequenceKeepsOnlyWhatWasDurable) {
  // What a DB crash test does: write, "crash", drop, reactivate, look.
  Write("/db/CURRENT", "v1", true);
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  std::unique_ptr<WritableFile> log;
  ASSERT_TRUE(env_.NewWritableFile("/db/000004.log", &log).ok());
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(log->Append("record1").ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Append("record2").ok());
  env_.SetFilesystemActive(false);
  EXPECT_TRUE(log->Sync().IsIOError());
  log->Close();
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  env_.SetFilesystemActive(true);
  EXPECT_EQ("record1", Contents("/db/000004.log"));
  EXPECT_EQ("v1", Contents("/db/CURRENT"));
}

TEST_F(FaultInjectionEnvTest, ConcurrentWritersAreCountedAndTrackedExactly) {
  constexpr int kThreads = 4, kAppends = 200;
  for (int t = 0; t < kThreads; t++) {
    Write("/db/f" + std::to_string(t), "", true);
  }
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  env_.ResetCallCounts();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([this, t] {
      std::unique_ptr<WritableFile> file;
      if (!env_.NewWritableFile("/db/f" + std::to_string(t), &file).ok()) return;
      for (int i = 0; i < kAppends; i++) {
        file->Append("x");
        if (i % 2 == 0) file->Sync();
      }
      file->Close();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(kThreads * kAppends, env_.CallCount(FaultKind::kWrite));
  EXPECT_EQ(kThreads * kAppends / 2, env_.CallCount(FaultKind::kSync));
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  for (int t = 0; t < kThreads; t++) {
    // The last sync came after append kAppends - 2, so the final append is lost.
    EXPECT_EQ(std::string(kAppends - 1, 'x'), Contents("/db/f" + std::to_string(t))) << t;
  }
}

TEST(FaultInjectionEnvPosixTest, DropUnsyncedDataTruncatesARealFile) {
  // Over the POSIX Env, with appends larger than its user-space buffer.
  test::TempDir dir("fault_env_test");
  FaultInjectionEnv env(Env::Default());
  const std::string path = dir.Join("000007.log");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env.NewWritableFile(path, &file).ok());
  ASSERT_TRUE(env.SyncDir(dir.path()).ok());
  std::string synced(100000, 's'), unsynced(150000, 'u');
  ASSERT_TRUE(file->Append(synced).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append(unsynced).ok());
  ASSERT_TRUE(file->Close().ok());
  uint64_t size = 0;
  ASSERT_TRUE(Env::Default()->GetFileSize(path, &size).ok());
  EXPECT_EQ(synced.size() + unsynced.size(), size);

  // A second file whose directory entry was never synced.
  ASSERT_TRUE(WriteStringToFile(&env, "gone", dir.Join("000008.log"), true).ok());

  ASSERT_TRUE(env.DropUnsyncedData().ok());
  std::string data;
  ASSERT_TRUE(ReadFileToString(Env::Default(), path, &data).ok());
  EXPECT_EQ(synced, data);
  EXPECT_FALSE(Env::Default()->FileExists(dir.Join("000008.log")));
}

TEST(FaultKindNameTest, NamesEveryKind) {
  EXPECT_STREQ("write", FaultKindName(FaultKind::kWrite));
  EXPECT_STREQ("sync", FaultKindName(FaultKind::kSync));
  EXPECT_STREQ("read", FaultKindName(FaultKind::kRead));
  EXPECT_STREQ("rename", FaultKindName(FaultKind::kRename));
  EXPECT_STREQ("create", FaultKindName(FaultKind::kCreate));
  EXPECT_STREQ("remove", FaultKindName(FaultKind::kRemove));
}

}  // namespace
}  // namespace strata
