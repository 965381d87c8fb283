// The POSIX and in-memory Envs must behave alike wherever the engine could notice, so
// most tests run against both.
#include "strata/env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace strata {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

enum class EnvType { kPosix, kMem };

void PrintTo(EnvType type, std::ostream* os) { *os << (type == EnvType::kPosix ? "Posix" : "Mem"); }

class EnvTest : public ::testing::TestWithParam<EnvType> {
 protected:
  void SetUp() override {
    if (GetParam() == EnvType::kPosix) {
      temp_dir_ = std::make_unique<test::TempDir>("env_test");
      env_ = Env::Default();
      dir_ = temp_dir_->path();
    } else {
      mem_env_ = NewMemEnv();
      env_ = mem_env_.get();
      dir_ = "/mem/env_test";
      ASSERT_TRUE(env_->CreateDir(dir_).ok());
    }
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string Read(const std::string& name) {
    std::string data;
    Status s = ReadFileToString(env_, Path(name), &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }

  std::unique_ptr<Env> mem_env_;
  std::unique_ptr<test::TempDir> temp_dir_;
  Env* env_ = nullptr;
  std::string dir_;
};

TEST_P(EnvTest, WriteStringToFileThenReadFileToStringRoundTrips) {
  std::string data = RandomBytes(300 * 1024, 1);  // several user-space buffers, with NULs
  ASSERT_TRUE(WriteStringToFile(env_, data, Path("f"), /*sync=*/true).ok());
  EXPECT_EQ(data, Read("f"));
  ASSERT_TRUE(WriteStringToFile(env_, "", Path("empty"), /*sync=*/false).ok());
  EXPECT_EQ("", Read("empty"));
}

TEST_P(EnvTest, AppendsOfMixedSizesAreReadBackInOrder) {
  // Small appends that fill the buffer, one that straddles it, and ones larger than it.
  const size_t sizes[] = {1, 100, 65535, 2, 65536, 7, 200000, 0, 65537, 13};
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &file).ok());
  std::string expected;
  uint32_t seed = 10;
  for (size_t size : sizes) {
    std::string chunk = RandomBytes(size, seed++);
    ASSERT_TRUE(file->Append(chunk).ok());
    expected += chunk;
  }
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(expected, Read("f"));
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(Path("f"), &size).ok());
  EXPECT_EQ(expected.size(), size);
}

TEST_P(EnvTest, FlushMakesAppendedBytesVisibleToReaders) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &file).ok());
  ASSERT_TRUE(file->Append("hello").ok());
  ASSERT_TRUE(file->Flush().ok());
  EXPECT_EQ("hello", Read("f"));
  ASSERT_TRUE(file->Append(" world").ok());
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ("hello world", Read("f"));
  ASSERT_TRUE(file->Close().ok());
}

TEST_P(EnvTest, AppendAfterCloseFailsNamingThePath) {
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &file).ok());
  ASSERT_TRUE(file->Close().ok());
  Status s = file->Append("x");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("f"))) << s.ToString();
}

TEST_P(EnvTest, NewWritableFileTruncatesAnExistingFile) {
  ASSERT_TRUE(WriteStringToFile(env_, "a long old content", Path("f"), false).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "new", Path("f"), false).ok());
  EXPECT_EQ("new", Read("f"));
}

TEST_P(EnvTest, SequentialReadAndSkipWalkTheFile) {
  ASSERT_TRUE(WriteStringToFile(env_, "0123456789", Path("f"), false).ok());
  std::unique_ptr<SequentialFile> file;
  ASSERT_TRUE(env_->NewSequentialFile(Path("f"), &file).ok());
  char scratch[16];
  std::string_view result;
  ASSERT_TRUE(file->Read(3, &result, scratch).ok());
  EXPECT_EQ("012", result);
  ASSERT_TRUE(file->Skip(4).ok());
  ASSERT_TRUE(file->Read(2, &result, scratch).ok());
  EXPECT_EQ("78", result);
  ASSERT_TRUE(file->Read(10, &result, scratch).ok());
  EXPECT_EQ("9", result);  // short: end of file
  ASSERT_TRUE(file->Read(10, &result, scratch).ok());
  EXPECT_EQ("", result);
}

TEST_P(EnvTest, SkipPastEndLeavesNothingToRead) {
  ASSERT_TRUE(WriteStringToFile(env_, "abc", Path("f"), false).ok());
  std::unique_ptr<SequentialFile> file;
  ASSERT_TRUE(env_->NewSequentialFile(Path("f"), &file).ok());
  ASSERT_TRUE(file->Skip(100).ok());
  char scratch[4];
  std::string_view result = "unset";
  ASSERT_TRUE(file->Read(4, &result, scratch).ok());
  EXPECT_EQ("", result);
}

// NewMappedFile makes the same promises as NewRandomAccessFile (POSIX maps the file,
// the in-memory Env does not): the random-access tests run on both.
std::unique_ptr<RandomAccessFile> OpenForReading(Env* env, const std::string& path, bool mapped) {
  std::unique_ptr<RandomAccessFile> file;
  Status s = mapped ? env->NewMappedFile(path, &file) : env->NewRandomAccessFile(path, &file);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return file;
}

TEST_P(EnvTest, RandomAccessReadsAtOffsetsAndShortensAtEndOfFile) {
  std::string data = RandomBytes(100000, 2);
  ASSERT_TRUE(WriteStringToFile(env_, data, Path("f"), false).ok());
  for (bool mapped : {false, true}) {
    SCOPED_TRACE(mapped ? "NewMappedFile" : "NewRandomAccessFile");
    std::unique_ptr<RandomAccessFile> file = OpenForReading(env_, Path("f"), mapped);
    ASSERT_NE(file, nullptr);
    std::string scratch(5000, '\0');
    std::string_view result;
    for (uint64_t offset : {0ul, 1ul, 4095ul, 65536ul, 94999ul}) {
      ASSERT_TRUE(file->Read(offset, 5000, &result, scratch.data()).ok());
      EXPECT_EQ(data.substr(offset, 5000), result) << "offset " << offset;
    }
    ASSERT_TRUE(file->Read(99990, 5000, &result, scratch.data()).ok());
    EXPECT_EQ(data.substr(99990), result);  // crosses end of file: short
    ASSERT_TRUE(file->Read(100000, 10, &result, scratch.data()).ok());
    EXPECT_EQ("", result);
    ASSERT_TRUE(file->Read(1ull << 40, 10, &result, scratch.data()).ok());
    EXPECT_EQ("", result);
    ASSERT_TRUE(file->Read(UINT64_MAX, 10, &result, scratch.data()).ok());
    EXPECT_EQ("", result);
  }
}

TEST_P(EnvTest, MappedEmptyFileReadsNothing) {
  ASSERT_TRUE(WriteStringToFile(env_, "", Path("empty"), false).ok());
  std::unique_ptr<RandomAccessFile> file;
  ASSERT_TRUE(env_->NewMappedFile(Path("empty"), &file).ok());
  char scratch[8];
  std::string_view result = "unset";
  ASSERT_TRUE(file->Read(0, sizeof(scratch), &result, scratch).ok());
  EXPECT_EQ("", result);
}

TEST_P(EnvTest, MappingAMissingFileFailsNamingIt) {
  std::unique_ptr<RandomAccessFile> file;
  Status s = env_->NewMappedFile(Path("missing"), &file);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.ToString().find(Path("missing"))) << s.ToString();
}

TEST_P(EnvTest, OpenRandomAccessFileStaysReadableAfterRemove) {
  for (bool mapped : {false, true}) {
    SCOPED_TRACE(mapped ? "NewMappedFile" : "NewRandomAccessFile");
    ASSERT_TRUE(WriteStringToFile(env_, "still here", Path("f"), false).ok());
    std::unique_ptr<RandomAccessFile> file = OpenForReading(env_, Path("f"), mapped);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
    EXPECT_FALSE(env_->FileExists(Path("f")));
    char scratch[32];
    std::string_view result;
    ASSERT_TRUE(file->Read(0, sizeof(scratch), &result, scratch).ok());
    EXPECT_EQ("still here", result);
  }
}

TEST_P(EnvTest, GetChildrenListsNamesOfFilesAndDirectories) {
  ASSERT_TRUE(WriteStringToFile(env_, "1", Path("000001.log"), false).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "2", Path("CURRENT"), false).ok());
  ASSERT_TRUE(env_->CreateDir(Path("sub")).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "3", Path("sub/nested"), false).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(env_->GetChildren(dir_, &names).ok());
  EXPECT_EQ((std::vector<std::string>{"000001.log", "CURRENT", "sub"}), Sorted(names));
  ASSERT_TRUE(env_->GetChildren(Path("sub"), &names).ok());
  EXPECT_EQ(std::vector<std::string>{"nested"}, names);
}

TEST_P(EnvTest, GetChildrenOfAnEmptyDirectoryIsEmpty) {
  ASSERT_TRUE(env_->CreateDir(Path("empty")).ok());
  std::vector<std::string> names = {"stale"};
  ASSERT_TRUE(env_->GetChildren(Path("empty"), &names).ok());
  EXPECT_TRUE(names.empty());
}

TEST_P(EnvTest, GetChildrenOfMissingDirectoryFailsNamingIt) {
  std::vector<std::string> names;
  Status s = env_->GetChildren(Path("nope"), &names);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("nope"))) << s.ToString();
}

TEST_P(EnvTest, RemoveFileDeletesAndFailsOnMissingFile) {
  ASSERT_TRUE(WriteStringToFile(env_, "x", Path("f"), false).ok());
  ASSERT_TRUE(env_->FileExists(Path("f")));
  ASSERT_TRUE(env_->RemoveFile(Path("f")).ok());
  EXPECT_FALSE(env_->FileExists(Path("f")));
  Status s = env_->RemoveFile(Path("f"));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("f"))) << s.ToString();
}

TEST_P(EnvTest, RenameFileReplacesTheTarget) {
  ASSERT_TRUE(WriteStringToFile(env_, "new", Path("tmp"), false).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "old", Path("CURRENT"), false).ok());
  ASSERT_TRUE(env_->RenameFile(Path("tmp"), Path("CURRENT")).ok());
  EXPECT_FALSE(env_->FileExists(Path("tmp")));
  EXPECT_EQ("new", Read("CURRENT"));
  std::vector<std::string> names;
  ASSERT_TRUE(env_->GetChildren(dir_, &names).ok());
  EXPECT_EQ(std::vector<std::string>{"CURRENT"}, names);
}

TEST_P(EnvTest, RenameOfMissingFileFailsNamingIt) {
  Status s = env_->RenameFile(Path("missing"), Path("target"));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("missing"))) << s.ToString();
  EXPECT_FALSE(env_->FileExists(Path("target")));
}

TEST_P(EnvTest, GetFileSizeReportsSizeAndFailsOnMissingFile) {
  ASSERT_TRUE(WriteStringToFile(env_, std::string(12345, 'z'), Path("f"), false).ok());
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(Path("f"), &size).ok());
  EXPECT_EQ(12345u, size);
  Status s = env_->GetFileSize(Path("missing"), &size);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("missing"))) << s.ToString();
}

TEST_P(EnvTest, FileExistsForFilesAndDirectoriesOnly) {
  EXPECT_FALSE(env_->FileExists(Path("f")));
  ASSERT_TRUE(WriteStringToFile(env_, "", Path("f"), false).ok());
  EXPECT_TRUE(env_->FileExists(Path("f")));
  EXPECT_TRUE(env_->FileExists(dir_));
}

TEST_P(EnvTest, OpeningMissingFileIsIOErrorNamingThePath) {
  std::unique_ptr<SequentialFile> sequential;
  Status s = env_->NewSequentialFile(Path("missing.log"), &sequential);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ("IO error: " + Path("missing.log") + ": No such file or directory", s.ToString());
  std::unique_ptr<RandomAccessFile> random;
  s = env_->NewRandomAccessFile(Path("missing.sst"), &random);
  EXPECT_EQ("IO error: " + Path("missing.sst") + ": No such file or directory", s.ToString());
  std::string data;
  s = ReadFileToString(env_, Path("missing"), &data);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
}

TEST_P(EnvTest, CreateDirIsIdempotentAndRemoveDirRemovesIt) {
  ASSERT_TRUE(env_->CreateDir(Path("d")).ok());
  ASSERT_TRUE(env_->CreateDir(Path("d")).ok());
  EXPECT_TRUE(env_->FileExists(Path("d")));
  ASSERT_TRUE(env_->RemoveDir(Path("d")).ok());
  EXPECT_FALSE(env_->FileExists(Path("d")));
  EXPECT_TRUE(env_->RemoveDir(Path("d")).IsIOError());
}

TEST_P(EnvTest, CreateDirOverAFileFails) {
  ASSERT_TRUE(WriteStringToFile(env_, "x", Path("f"), false).ok());
  Status s = env_->CreateDir(Path("f"));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("f"))) << s.ToString();
}

TEST_P(EnvTest, RemoveDirOfNonEmptyDirectoryFails) {
  ASSERT_TRUE(env_->CreateDir(Path("d")).ok());
  ASSERT_TRUE(WriteStringToFile(env_, "x", Path("d/f"), false).ok());
  EXPECT_TRUE(env_->RemoveDir(Path("d")).IsIOError());
  EXPECT_TRUE(env_->FileExists(Path("d/f")));
}

TEST_P(EnvTest, SyncDirSucceedsOnDirectoryAndFailsOnMissingOne) {
  ASSERT_TRUE(WriteStringToFile(env_, "x", Path("f"), true).ok());
  Status s = env_->SyncDir(dir_);
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = env_->SyncDir(Path("missing"));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("missing"))) << s.ToString();
}

TEST_P(EnvTest, SecondLockInSameProcessIsBusy) {
  std::unique_ptr<FileLock> lock;
  ASSERT_TRUE(env_->LockFile(Path("LOCK"), &lock).ok());
  EXPECT_TRUE(env_->FileExists(Path("LOCK")));
  std::unique_ptr<FileLock> second;
  Status s = env_->LockFile(Path("LOCK"), &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find(Path("LOCK"))) << s.ToString();
  EXPECT_EQ(nullptr, second);
  // Another spelling of the same path is the same lock.
  s = env_->LockFile(dir_ + "//./LOCK", &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
}

TEST_P(EnvTest, DestroyingTheLockReleasesIt) {
  std::unique_ptr<FileLock> lock;
  ASSERT_TRUE(env_->LockFile(Path("LOCK"), &lock).ok());
  lock.reset();
  Status s = env_->LockFile(Path("LOCK"), &lock);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // Locks on different files are independent.
  std::unique_ptr<FileLock> other;
  EXPECT_TRUE(env_->LockFile(Path("OTHER"), &other).ok());
}

TEST_P(EnvTest, ReaderConcurrentWithAppenderSeesConsistentPrefixes) {
  // Byte i of the file is always static_cast<char>(i % 251), so any bytes a reader sees
  // can be checked no matter how far the writer has got.
  constexpr size_t kTotal = 1 << 20;
  constexpr size_t kChunk = 4096;
  std::unique_ptr<WritableFile> writer;
  ASSERT_TRUE(env_->NewWritableFile(Path("f"), &writer).ok());
  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_TRUE(env_->NewRandomAccessFile(Path("f"), &reader).ok());

  std::atomic<bool> done{false};
  std::atomic<int> bad_bytes{0};
  std::thread reader_thread([&] {
    std::string scratch(kChunk * 4, '\0');
    size_t offset = 0;
    while (!done.load() || offset < kTotal) {
      std::string_view result;
      if (!reader->Read(offset, scratch.size(), &result, scratch.data()).ok()) {
        bad_bytes++;
        return;
      }
      for (size_t i = 0; i < result.size(); i++) {
        if (result[i] != static_cast<char>((offset + i) % 251)) bad_bytes++;
      }
      offset += result.size();
      if (done.load() && result.empty()) break;
    }
  });
  std::string chunk(kChunk, '\0');
  for (size_t written = 0; written < kTotal; written += kChunk) {
    for (size_t i = 0; i < kChunk; i++) chunk[i] = static_cast<char>((written + i) % 251);
    ASSERT_TRUE(writer->Append(chunk).ok());
    ASSERT_TRUE(writer->Flush().ok());
  }
  done.store(true);
  reader_thread.join();
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(0, bad_bytes.load());
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, ::testing::Values(EnvType::kPosix, EnvType::kMem),
                         [](const ::testing::TestParamInfo<EnvType>& info) {
                           return info.param == EnvType::kPosix ? "Posix" : "Mem";
                         });

// POSIX only.

TEST(PosixEnvTest, DefaultIsOneProcessWideInstance) { EXPECT_EQ(Env::Default(), Env::Default()); }

// A mapped read is a view of the mapping: the scratch buffer stays untouched.
bool ReadsThroughMapping(const RandomAccessFile& file) {
  char scratch[4] = {'x', 'x', 'x', 'x'};
  std::string_view result;
  EXPECT_TRUE(file.Read(0, sizeof(scratch), &result, scratch).ok());
  EXPECT_EQ("data", result);
  return result.data() != scratch;
}

TEST(PosixEnvTest, MappedFileIsReadThroughItsMapping) {
  test::TempDir dir("env_test");
  Env* env = Env::Default();
  ASSERT_TRUE(WriteStringToFile(env, "data", dir.path() + "/f", false).ok());
  std::unique_ptr<RandomAccessFile> mapped, plain;
  ASSERT_TRUE(env->NewMappedFile(dir.path() + "/f", &mapped).ok());
  ASSERT_TRUE(env->NewRandomAccessFile(dir.path() + "/f", &plain).ok());
  EXPECT_TRUE(ReadsThroughMapping(*mapped));
  EXPECT_FALSE(ReadsThroughMapping(*plain));
  EXPECT_TRUE(mapped->ReadsAreViews());
  EXPECT_FALSE(plain->ReadsAreViews());
}

// Beyond the process-wide budget of mappings, files are read with pread (and still
// read correctly); closing a mapped file returns its mapping to the budget.
TEST(PosixEnvTest, MappedFilesBeyondTheBudgetUsePread) {
  test::TempDir dir("env_test");
  Env* env = Env::Default();
  const std::string path = dir.path() + "/f";
  ASSERT_TRUE(WriteStringToFile(env, "data", path, false).ok());
  constexpr int kBudget = 4096;  // PosixEnv's kMaxMappedFiles
  std::vector<std::unique_ptr<RandomAccessFile>> files;
  int mapped = 0;
  for (int i = 0; i < kBudget + 3; i++) {
    std::unique_ptr<RandomAccessFile> file;
    ASSERT_TRUE(env->NewMappedFile(path, &file).ok()) << i;
    if (ReadsThroughMapping(*file)) mapped++;
    files.push_back(std::move(file));
  }
  EXPECT_EQ(kBudget, mapped);
  EXPECT_FALSE(ReadsThroughMapping(*files.back()));
  files.erase(files.begin());  // a mapped one
  std::unique_ptr<RandomAccessFile> again;
  ASSERT_TRUE(env->NewMappedFile(path, &again).ok());
  EXPECT_TRUE(ReadsThroughMapping(*again));
}

TEST(PosixEnvTest, WriteErrorNamesPathAndReason) {
  // /dev/full accepts opens and fails every write with ENOSPC.
  ASSERT_TRUE(Env::Default()->FileExists("/dev/full"));
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(Env::Default()->NewWritableFile("/dev/full", &file).ok());
  ASSERT_TRUE(file->Append("buffered in user space").ok());
  Status s = file->Flush();
  EXPECT_EQ("IO error: /dev/full: No space left on device", s.ToString());
  // The error is sticky: a later append must not pretend the stream is intact.
  EXPECT_TRUE(file->Append("more").IsIOError());
  EXPECT_TRUE(file->Sync().IsIOError());
  EXPECT_TRUE(file->Close().IsIOError());
}

TEST(PosixEnvTest, CreatingAFileInAMissingDirectoryNamesThePath) {
  test::TempDir dir("env_test");
  std::unique_ptr<WritableFile> file;
  Status s = Env::Default()->NewWritableFile(dir.Join("no/such/dir/f"), &file);
  EXPECT_EQ("IO error: " + dir.Join("no/such/dir/f") + ": No such file or directory", s.ToString());
}

TEST(PosixEnvTest, LockHeldByAnotherProcessIsBusy) {
  test::TempDir dir("env_test");
  const std::string lock_path = dir.Join("LOCK");
  int locked_pipe[2], release_pipe[2];
  ASSERT_EQ(0, pipe(locked_pipe));
  ASSERT_EQ(0, pipe(release_pipe));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child takes the lock, tells the parent, and holds it until released. It
    // must not run any gtest code, only report through the pipe and exit code.
    std::unique_ptr<FileLock> lock;
    char byte = Env::Default()->LockFile(lock_path, &lock).ok() ? 'L' : 'F';
    if (write(locked_pipe[1], &byte, 1) != 1) _exit(2);
    if (read(release_pipe[0], &byte, 1) != 1) _exit(3);
    lock.reset();
    _exit(0);
  }
  close(locked_pipe[1]);
  close(release_pipe[0]);
  char byte = 0;
  ASSERT_EQ(1, read(locked_pipe[0], &byte, 1));
  ASSERT_EQ('L', byte) << "the child could not take the lock";

  std::unique_ptr<FileLock> lock;
  Status s = Env::Default()->LockFile(lock_path, &lock);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ("Busy: " + lock_path + ": store is locked by another process", s.ToString());

  // Once the child lets go (by exiting), the lock is free.
  ASSERT_EQ(1, write(release_pipe[1], "r", 1));
  int status = 0;
  ASSERT_EQ(child, waitpid(child, &status, 0));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  close(locked_pipe[0]);
  close(release_pipe[1]);
  s = Env::Default()->LockFile(lock_path, &lock);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(PosixEnvTest, NowMicrosIsWallClockAndAdvances) {
  uint64_t a = Env::Default()->NowMicros();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  uint64_t b = Env::Default()->NowMicros();
  EXPECT_GE(b - a, 1000u);
  EXPECT_GT(a, 1'600'000'000ull * 1'000'000);  // after September 2020
}

// In-memory only.

TEST(MemEnvTest, SeparateEnvsDoNotShareFiles) {
  std::unique_ptr<Env> a = NewMemEnv(), b = NewMemEnv();
  ASSERT_TRUE(WriteStringToFile(a.get(), "x", "/f", false).ok());
  EXPECT_TRUE(a->FileExists("/f"));
  EXPECT_FALSE(b->FileExists("/f"));
}

TEST(MemEnvTest, RenameKeepsOpenWriterAttachedToTheFile) {
  // Like an inode: a writer opened before a rename appends to the renamed file.
  std::unique_ptr<Env> env = NewMemEnv();
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(env->NewWritableFile("/d/a", &file).ok());
  ASSERT_TRUE(file->Append("12").ok());
  ASSERT_TRUE(env->RenameFile("/d/a", "/d/b").ok());
  ASSERT_TRUE(file->Append("34").ok());
  ASSERT_TRUE(file->Close().ok());
  std::string data;
  ASSERT_TRUE(ReadFileToString(env.get(), "/d/b", &data).ok());
  EXPECT_EQ("1234", data);
}

TEST(MemEnvTest, DirectoriesExistImplicitlyAboveFiles) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(WriteStringToFile(env.get(), "x", "/a/b/c", false).ok());
  EXPECT_TRUE(env->FileExists("/a"));
  EXPECT_TRUE(env->FileExists("/a/b/"));
  std::vector<std::string> names;
  ASSERT_TRUE(env->GetChildren("/a", &names).ok());
  EXPECT_EQ(std::vector<std::string>{"b"}, names);
  ASSERT_TRUE(env->GetChildren("/", &names).ok());
  EXPECT_EQ(std::vector<std::string>{"a"}, names);
  ASSERT_TRUE(env->RemoveFile("/a/b/c").ok());
  EXPECT_FALSE(env->FileExists("/a"));
}

TEST(MemEnvTest, RelativePathsLiveInTheWorkingDirectory) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(WriteStringToFile(env.get(), "x", "f", false).ok());
  ASSERT_TRUE(WriteStringToFile(env.get(), "y", "./d/g", false).ok());
  ASSERT_TRUE(WriteStringToFile(env.get(), "z", "/abs", false).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(env->GetChildren(".", &names).ok());
  EXPECT_EQ((std::vector<std::string>{"d", "f"}), Sorted(names));
  EXPECT_TRUE(env->FileExists("d/g"));
}

}  // namespace
}  // namespace strata
