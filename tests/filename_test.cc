// Tests of lsm/filename.h: the names of the files in a store directory, parsing them
// back (foreign files must never be mistaken for ours: DeleteObsoleteFiles acts on
// what ParseFileName says), and the atomic switch of CURRENT.
#include "lsm/filename.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "lsm/fault_injection_env.h"
#include "strata/env.h"

namespace strata {
namespace {

// The name of path inside dbname.
std::string Base(const std::string& dbname, const std::string& path) {
  EXPECT_EQ(path.compare(0, dbname.size() + 1, dbname + "/"), 0) << path;
  return path.substr(dbname.size() + 1);
}

TEST(FileNameTest, NamesOfEveryType) {
  EXPECT_EQ(LogFileName("/db", 7), "/db/000007.log");
  EXPECT_EQ(TableFileName("/db", 123), "/db/000123.sst");
  EXPECT_EQ(ManifestFileName("/db", 1), "/db/MANIFEST-000001");
  EXPECT_EQ(TempFileName("/db", 7), "/db/000007.dbtmp");
  EXPECT_EQ(CurrentFileName("/db"), "/db/CURRENT");
  EXPECT_EQ(LockFileName("/db"), "/db/LOCK");
  EXPECT_EQ(EventLogFileName("/db"), "/db/LOG");
  // Numbers wider than six digits are not cut.
  EXPECT_EQ(TableFileName("db", 12345678), "db/12345678.sst");
  EXPECT_EQ(ManifestFileName("db", 1234567), "db/MANIFEST-1234567");
}

TEST(FileNameTest, ParseRoundTripsEveryNumberedType) {
  struct Maker {
    std::string (*make)(const std::string&, uint64_t);
    FileType type;
  };
  const Maker makers[] = {{&LogFileName, FileType::kLog},
                          {&TableFileName, FileType::kTable},
                          {&ManifestFileName, FileType::kManifest},
                          {&TempFileName, FileType::kTemp}};
  const uint64_t numbers[] = {0,
                              1,
                              7,
                              999999,
                              1000000,
                              123456789012345ull,
                              9999999999999999999ull};  // 19 digits: the widest accepted
  for (const Maker& m : makers) {
    for (uint64_t n : numbers) {
      std::string name = Base("/db", m.make("/db", n));
      uint64_t number = 0;
      FileType type = FileType::kLock;
      ASSERT_TRUE(ParseFileName(name, &number, &type)) << name;
      EXPECT_EQ(number, n) << name;
      EXPECT_EQ(type, m.type) << name;
    }
  }
}

TEST(FileNameTest, ParseRoundTripsFixedNames) {
  struct Case {
    std::string path;
    FileType type;
  };
  const Case cases[] = {{CurrentFileName("/db"), FileType::kCurrent},
                        {LockFileName("/db"), FileType::kLock},
                        {EventLogFileName("/db"), FileType::kEventLog}};
  for (const Case& c : cases) {
    std::string name = Base("/db", c.path);
    uint64_t number = 99;
    FileType type = FileType::kTable;
    ASSERT_TRUE(ParseFileName(name, &number, &type)) << name;
    EXPECT_EQ(type, c.type) << name;
    EXPECT_EQ(number, 0u) << name;
  }
}

TEST(FileNameTest, ParseAcceptsUnpaddedNumbers) {
  uint64_t number;
  FileType type;
  ASSERT_TRUE(ParseFileName("5.sst", &number, &type));
  EXPECT_EQ(number, 5u);
  EXPECT_EQ(type, FileType::kTable);
  ASSERT_TRUE(ParseFileName("MANIFEST-3", &number, &type));
  EXPECT_EQ(number, 3u);
  EXPECT_EQ(type, FileType::kManifest);
}

TEST(FileNameTest, ParseRejectsForeignNames) {
  const std::vector<std::string> foreign = {
      "",
      "foo",
      "123",
      "123.txt",
      "123.",
      ".log",
      ".sst",
      "MANIFEST",
      "MANIFEST-",
      "MANIFEST-12x",
      "MANIFEST--1",
      "MANIFEST-+1",
      "MANIFEST- 1",
      "MANIFEST-000001.bak",
      "manifest-000001",
      "CURRENT.dbtmp",
      "CURRENTX",
      "current",
      "LOCKX",
      "LOG.old",
      "000001.log.bak",
      "000001.sst~",
      "000001.LOG",
      "-1.log",
      "+1.log",
      " 1.log",
      "1 .log",
      "0x1.log",
      "abc.log",
      "12a.sst",
      // More than 19 digits could overflow 64 bits; none of ours is that long.
      "12345678901234567890.log",
      "18446744073709551615.sst",
      "99999999999999999999.sst",
      "MANIFEST-12345678901234567890",
      "000000000000000000001.log",
  };
  for (const std::string& name : foreign) {
    uint64_t number = 0;
    FileType type = FileType::kLock;
    EXPECT_FALSE(ParseFileName(name, &number, &type)) << "'" << name << "'";
  }
}

TEST(FileNameTest, SetCurrentFileWritesManifestNameAndNewline) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(env->CreateDir("/db").ok());
  ASSERT_TRUE(SetCurrentFile(env.get(), "/db", 7).ok());
  std::string contents;
  ASSERT_TRUE(ReadFileToString(env.get(), "/db/CURRENT", &contents).ok());
  EXPECT_EQ(contents, "MANIFEST-000007\n");

  std::vector<std::string> children;
  ASSERT_TRUE(env->GetChildren("/db", &children).ok());
  EXPECT_EQ(children, std::vector<std::string>{"CURRENT"}) << "temp file left behind";
}

TEST(FileNameTest, SetCurrentFileReplacesPreviousContents) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(env->CreateDir("/db").ok());
  ASSERT_TRUE(SetCurrentFile(env.get(), "/db", 12345678).ok());
  ASSERT_TRUE(SetCurrentFile(env.get(), "/db", 3).ok());
  std::string contents;
  ASSERT_TRUE(ReadFileToString(env.get(), "/db/CURRENT", &contents).ok());
  EXPECT_EQ(contents, "MANIFEST-000003\n");
}

// The switch is write temp, sync it, rename over CURRENT, sync the directory; after a
// power loss CURRENT holds either the old name or the new one, whole.
TEST(FileNameTest, SetCurrentFileIsDurableAndAtomic) {
  std::unique_ptr<Env> base = NewMemEnv();
  FaultInjectionEnv env(base.get());
  ASSERT_TRUE(env.CreateDir("/db").ok());
  ASSERT_TRUE(SetCurrentFile(&env, "/db", 1).ok());
  EXPECT_EQ(env.CallCount(FaultKind::kSync), 2) << "temp file sync and directory sync";
  EXPECT_EQ(env.CallCount(FaultKind::kRename), 1);
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  std::string contents;
  ASSERT_TRUE(ReadFileToString(&env, "/db/CURRENT", &contents).ok());
  EXPECT_EQ(contents, "MANIFEST-000001\n");
}

TEST(FileNameTest, FailedSetCurrentFileKeepsOldCurrentAndLeavesNoTemp) {
  for (FaultKind kind :
       {FaultKind::kCreate, FaultKind::kWrite, FaultKind::kSync, FaultKind::kRename}) {
    std::unique_ptr<Env> base = NewMemEnv();
    FaultInjectionEnv env(base.get());
    ASSERT_TRUE(env.CreateDir("/db").ok());
    ASSERT_TRUE(SetCurrentFile(&env, "/db", 1).ok());
    env.FailAfter(kind, 0);
    EXPECT_TRUE(SetCurrentFile(&env, "/db", 2).IsIOError()) << FaultKindName(kind);
    std::string contents;
    ASSERT_TRUE(ReadFileToString(&env, "/db/CURRENT", &contents).ok());
    EXPECT_EQ(contents, "MANIFEST-000001\n") << FaultKindName(kind);
    EXPECT_FALSE(env.FileExists(TempFileName("/db", 2))) << FaultKindName(kind);
  }
}

}  // namespace
}  // namespace strata
