// Options::mmap_reads: a store reads its tables through memory mappings (or pread when
// off) with the same results, the same checksum verification of every block read and
// the same error reporting. Runs on the real filesystem: only the POSIX Env maps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lsm/fault_injection_env.h"
#include "strata/db.h"
#include "strata/env.h"
#include "strata/iterator.h"
#include "strata/options.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

constexpr int kKeys = 3000;

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

std::string Value(int i) { return "value of " + std::to_string(i) + std::string(60, 'v'); }

class DbMmapReadsTest : public testing::TestWithParam<bool> {
 protected:
  void Open(Env* env) {
    db_.reset();
    Options options;
    options.env = env;
    options.create_if_missing = true;
    options.mmap_reads = GetParam();
    options.block_cache_size = 0;  // every read comes from the file
    Status s = DB::Open(options, dir_.path(), &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void Fill() {
    for (int i = 0; i < kKeys; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), Key(i), Value(i)).ok());
    }
    ASSERT_TRUE(db_->Flush().ok());
  }

  std::string TablePath() {
    std::vector<std::string> names;
    EXPECT_TRUE(Env::Default()->GetChildren(dir_.path(), &names).ok());
    for (const std::string& name : names) {
      if (name.ends_with(".sst")) return dir_.Join(name);
    }
    ADD_FAILURE() << "no table in " << dir_.path();
    return "";
  }

  // Flips one byte of the file in place: a mapping of it sees the change.
  void FlipByte(const std::string& path, off_t offset) {
    int fd = open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    char byte;
    ASSERT_EQ(1, pread(fd, &byte, 1, offset));
    byte = static_cast<char>(byte ^ 0x40);
    ASSERT_EQ(1, pwrite(fd, &byte, 1, offset));
    close(fd);
  }

  void ExpectAllReadable() {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    int i = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
      ASSERT_EQ(Key(i), it->key());
      ASSERT_EQ(Value(i), it->value());
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(kKeys, i);
    for (int k = 0; k < kKeys; k += 7) {
      std::string value;
      Status s = db_->Get(ReadOptions(), Key(k), &value);
      ASSERT_TRUE(s.ok()) << Key(k) << ": " << s.ToString();
      ASSERT_EQ(Value(k), value);
    }
  }

  test::TempDir dir_{"db_mmap_reads_test"};
  std::unique_ptr<DB> db_;
};

TEST_P(DbMmapReadsTest, ReadsEveryEntryBackAfterReopen) {
  Open(Env::Default());
  Fill();
  ExpectAllReadable();
  Open(Env::Default());
  ExpectAllReadable();
}

// A byte flipped in a data block of an open (mapped) table fails that block's checksum:
// the read reports corruption naming the file, and never returns the damaged data.
TEST_P(DbMmapReadsTest, FlippedByteInAnOpenTableIsCorruption) {
  Open(Env::Default());
  Fill();
  ExpectAllReadable();  // the table is open now (and mapped, with mmap_reads)
  const std::string table = TablePath();
  FlipByte(table, 20);  // inside the first data block

  std::string value;
  Status s = db_->Get(ReadOptions(), Key(0), &value);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find(table)) << s.ToString();
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
  it.reset();

  FlipByte(table, 20);  // restored: the same open table reads correctly again
  ExpectAllReadable();
}

// Read errors injected under a mapped table reach the caller as errors.
TEST_P(DbMmapReadsTest, InjectedReadErrorsReachTheCaller) {
  FaultInjectionEnv env(Env::Default());
  Open(&env);
  Fill();
  ExpectAllReadable();
  env.FailAfter(FaultKind::kRead, 0, FaultMode::kSticky);
  std::string value;
  Status s = db_->Get(ReadOptions(), Key(1), &value);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  env.ClearFaults();
  ExpectAllReadable();
  db_.reset();
}

INSTANTIATE_TEST_SUITE_P(MmapReads, DbMmapReadsTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Mapped" : "Pread";
                         });

}  // namespace
}  // namespace strata
