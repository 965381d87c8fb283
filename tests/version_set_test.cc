// Tests of VersionSet (lsm/version_set.h): the MANIFEST round trip. Edits applied with
// LogAndApply under a mutex, as the DB does, must be rebuilt exactly by a later
// Recover (files per level in search order, counters); damaged CURRENT and MANIFEST
// files must be reported, a torn MANIFEST tail tolerated; and a LogAndApply that fails
// at any I/O call must leave both the in-memory state and the store on disk usable.
// Everything runs on the in-memory Env (format: docs/manifest_format.md).
#include "lsm/version_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lsm/dbformat.h"
#include "lsm/fault_injection_env.h"
#include "lsm/filename.h"
#include "lsm/log_format.h"
#include "lsm/log_writer.h"
#include "lsm/version_edit.h"
#include "strata/env.h"

namespace strata {
namespace {

constexpr char kDb[] = "/db";

#define ASSERT_OK(expr)                    \
  do {                                     \
    Status _s = (expr);                    \
    ASSERT_TRUE(_s.ok()) << _s.ToString(); \
  } while (0)

std::string IKey(std::string_view user_key, SequenceNumber seq) {
  std::string key;
  AppendInternalKey(&key, user_key, seq, ValueType::kValue);
  return key;
}

FileMetaData File(uint64_t number, std::string_view smallest, std::string_view largest,
                  SequenceNumber seq = 1) {
  FileMetaData f;
  f.number = number;
  f.file_size = 1000 + number;
  f.smallest = IKey(smallest, seq);
  f.largest = IKey(largest, seq);
  return f;
}

// The numbers of the files of each level in search order, e.g. "L0:[9,5] L1:[3,4]";
// empty levels are left out.
std::string Layout(const Version& v) {
  std::string out;
  for (int level = 0; level < kNumLevels; level++) {
    if (v.files[level].empty()) continue;
    if (!out.empty()) out += ' ';
    out += 'L';
    out += std::to_string(level);
    out += ":[";
    for (size_t i = 0; i < v.files[level].size(); i++) {
      if (i > 0) out += ',';
      out += std::to_string(v.files[level][i]->number);
    }
    out += ']';
  }
  return out;
}

// Every file's metadata, to compare a recovered Version with the original.
void ExpectSameFiles(const Version& a, const Version& b) {
  for (int level = 0; level < kNumLevels; level++) {
    ASSERT_EQ(a.files[level].size(), b.files[level].size()) << "level " << level;
    for (size_t i = 0; i < a.files[level].size(); i++) {
      const FileMetaData& fa = *a.files[level][i];
      const FileMetaData& fb = *b.files[level][i];
      EXPECT_EQ(fa.number, fb.number);
      EXPECT_EQ(fa.file_size, fb.file_size);
      EXPECT_EQ(fa.smallest, fb.smallest);
      EXPECT_EQ(fa.largest, fb.largest);
    }
  }
}

std::string ReadCurrent(Env* env) {
  std::string contents;
  Status s = ReadFileToString(env, CurrentFileName(kDb), &contents);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return contents;
}

std::string ManifestName(uint64_t number) {
  return ManifestFileName(kDb, number).substr(std::string(kDb).size() + 1);
}

class VersionSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_env_ = NewMemEnv();
    env_ = base_env_.get();
    ASSERT_OK(env_->CreateDir(kDb));
  }

  std::unique_ptr<VersionSet> NewVersionSet(Env* env = nullptr) {
    return std::make_unique<VersionSet>(kDb, Options(), env != nullptr ? env : env_);
  }

  // A VersionSet recovered from what is on disk now.
  std::unique_ptr<VersionSet> Reopen(Env* env = nullptr) {
    auto vs = NewVersionSet(env);
    Status s = vs->Recover();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? std::move(vs) : nullptr;
  }

  std::unique_ptr<VersionSet> CreateAndOpen(Env* env = nullptr) {
    Status s = VersionSet::CreateNew(env != nullptr ? env : env_, kDb);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return Reopen(env);
  }

  // As the DB does: take the mutex, let LogAndApply release it around I/O.
  Status Apply(VersionSet* vs, VersionEdit* edit) {
    std::unique_lock<std::mutex> lock(mu_);
    return vs->LogAndApply(edit, lock);
  }

  uint64_t NewFileNumber(VersionSet* vs) {
    std::lock_guard<std::mutex> lock(mu_);
    return vs->NewFileNumber();
  }

  void WriteFile(const std::string& path, std::string_view contents) {
    ASSERT_OK(WriteStringToFile(env_, contents, path, /*sync=*/true));
  }

  std::string ReadFile(const std::string& path) {
    std::string contents;
    Status s = ReadFileToString(env_, path, &contents);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return contents;
  }

  // Writes MANIFEST-number holding one log record per entry and points CURRENT at it.
  void WriteManifest(uint64_t number, const std::vector<std::string>& records) {
    std::unique_ptr<WritableFile> file;
    ASSERT_OK(env_->NewWritableFile(ManifestFileName(kDb, number), &file));
    log::Writer writer(file.get());
    for (const std::string& record : records) ASSERT_OK(writer.AddRecord(record));
    ASSERT_OK(file->Close());
    ASSERT_OK(SetCurrentFile(env_, kDb, number));
  }

  static std::string Encode(const VersionEdit& edit) {
    std::string s;
    edit.EncodeTo(&s);
    return s;
  }

  // The first record of a valid MANIFEST, with every required field.
  static VersionEdit SnapshotEdit() {
    VersionEdit edit;
    edit.SetFormatVersion(kManifestFormatVersion);
    edit.SetLogNumber(3);
    edit.SetNextFileNumber(100);
    edit.SetLastSequence(50);
    return edit;
  }

  static VersionEdit AddEdit(int level, FileMetaData file) {
    VersionEdit edit;
    edit.AddFile(level, std::move(file));
    return edit;
  }

  std::unique_ptr<Env> base_env_;
  Env* env_ = nullptr;
  std::mutex mu_;
};

TEST_F(VersionSetTest, CreateNewThenRecoverIsEmpty) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  EXPECT_EQ(ReadCurrent(env_), "MANIFEST-000001\n");
  EXPECT_EQ(Layout(*vs->current()), "");
  EXPECT_EQ(vs->LogNumber(), 0u);
  EXPECT_EQ(vs->LastSequence(), 0u);
  EXPECT_EQ(vs->ManifestFileNumber(), 1u);
  EXPECT_EQ(vs->NewFileNumber(), 2u);
}

TEST_F(VersionSetTest, RecoverRebuildsStateOfSeveralEdits) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  std::vector<uint64_t> n;
  for (int i = 0; i < 8; i++) n.push_back(NewFileNumber(vs.get()));

  VersionEdit e1;  // a flush: two level-0 tables
  e1.AddFile(0, File(n[0], "a", "m"));
  e1.AddFile(0, File(n[1], "c", "z"));
  e1.SetLogNumber(n[2]);
  vs->SetLastSequence(40);
  ASSERT_OK(Apply(vs.get(), &e1));

  VersionEdit e2;  // a compaction: level 0 into levels 1 and 2
  e2.RemoveFile(0, n[0]);
  e2.AddFile(1, File(n[3], "p", "q"));
  e2.AddFile(1, File(n[4], "a", "b"));
  e2.AddFile(2, File(n[5], std::string("\x00", 1), std::string("\xff\xff", 2)));
  ASSERT_OK(Apply(vs.get(), &e2));

  VersionEdit e3;
  e3.RemoveFile(1, n[3]);
  e3.AddFile(0, File(n[6], "k", "l"));
  e3.SetLogNumber(n[7]);
  vs->SetLastSequence(99);
  ASSERT_OK(Apply(vs.get(), &e3));

  const std::string expected = "L0:[" + std::to_string(n[6]) + "," + std::to_string(n[1]) +
                               "] L1:[" + std::to_string(n[4]) + "] L2:[" + std::to_string(n[5]) +
                               "]";
  EXPECT_EQ(Layout(*vs->current()), expected);
  EXPECT_EQ(vs->LogNumber(), n[7]);

  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(Layout(*recovered->current()), expected);
  ExpectSameFiles(*vs->current(), *recovered->current());
  EXPECT_EQ(recovered->LogNumber(), n[7]);
  EXPECT_EQ(recovered->LastSequence(), 99u);
  EXPECT_EQ(recovered->ManifestFileNumber(), vs->ManifestFileNumber());
  // Every number handed out before the last edit, and the MANIFEST's own, is used.
  const uint64_t next = recovered->NewFileNumber();
  for (uint64_t used : n) EXPECT_GT(next, used);
  EXPECT_GT(next, recovered->ManifestFileNumber());
}

TEST_F(VersionSetTest, LevelsAreInSearchOrderLiveAndAfterRecovery) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  std::vector<uint64_t> n;
  for (int i = 0; i < 10; i++) n.push_back(NewFileNumber(vs.get()));  // 2..11
  // Level 0 tables added out of number order, in one edit and across edits.
  VersionEdit e1;
  e1.AddFile(0, File(n[3], "a", "z"));
  e1.AddFile(0, File(n[0], "a", "z"));
  e1.AddFile(0, File(n[5], "a", "z"));
  ASSERT_OK(Apply(vs.get(), &e1));
  VersionEdit e2;
  e2.AddFile(0, File(n[1], "a", "z"));
  // Level 1 by smallest internal key: bytewise on the user key (0xff sorts last),
  // then newer sequence first for equal user keys (b@9..b@7 comes before b@5..c).
  e2.AddFile(1, File(n[6], "\xff", "\xff"));
  e2.AddFile(1, File(n[7], "b", "c", /*seq=*/5));
  FileMetaData newer_b = File(n[8], "b", "b");
  newer_b.smallest = IKey("b", 9);
  newer_b.largest = IKey("b", 7);
  e2.AddFile(1, newer_b);
  e2.AddFile(1, File(n[9], "", "a"));
  ASSERT_OK(Apply(vs.get(), &e2));
  VersionEdit e3;
  e3.AddFile(2, File(n[4], "m", "n"));
  e3.AddFile(2, File(n[2], "c", "d"));
  ASSERT_OK(Apply(vs.get(), &e3));

  auto number = [&](int i) { return std::to_string(n[i]); };
  const std::string expected = "L0:[" + number(5) + "," + number(3) + "," + number(1) + "," +
                               number(0) + "] L1:[" + number(9) + "," + number(8) + "," +
                               number(7) + "," + number(6) + "] L2:[" + number(2) + "," +
                               number(4) + "]";
  EXPECT_EQ(Layout(*vs->current()), expected);
  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(Layout(*recovered->current()), expected);
}

TEST_F(VersionSetTest, FirstEditAfterRecoverStartsNewManifest) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  VersionEdit e1 = AddEdit(0, File(NewFileNumber(vs.get()), "a", "b"));
  ASSERT_OK(Apply(vs.get(), &e1));
  const uint64_t first_manifest = vs->ManifestFileNumber();
  EXPECT_NE(first_manifest, 1u);
  EXPECT_EQ(ReadCurrent(env_), ManifestName(first_manifest) + "\n");
  EXPECT_TRUE(env_->FileExists(ManifestFileName(kDb, first_manifest)));

  // Later edits append to the same MANIFEST.
  VersionEdit e2 = AddEdit(1, File(NewFileNumber(vs.get()), "c", "d"));
  ASSERT_OK(Apply(vs.get(), &e2));
  EXPECT_EQ(vs->ManifestFileNumber(), first_manifest);
  EXPECT_EQ(ReadCurrent(env_), ManifestName(first_manifest) + "\n");

  // After a reopen, the first edit starts yet another one, which holds the whole
  // state: older MANIFESTs can go.
  vs.reset();
  auto reopened = Reopen();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->ManifestFileNumber(), first_manifest);
  VersionEdit e3;
  e3.SetLogNumber(NewFileNumber(reopened.get()));
  ASSERT_OK(Apply(reopened.get(), &e3));
  const uint64_t second_manifest = reopened->ManifestFileNumber();
  EXPECT_GT(second_manifest, first_manifest);
  EXPECT_EQ(ReadCurrent(env_), ManifestName(second_manifest) + "\n");
  ASSERT_OK(env_->RemoveFile(ManifestFileName(kDb, 1)));
  ASSERT_OK(env_->RemoveFile(ManifestFileName(kDb, first_manifest)));

  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  ExpectSameFiles(*reopened->current(), *recovered->current());
  EXPECT_EQ(recovered->LogNumber(), *e3.log_number());
  EXPECT_EQ(recovered->ManifestFileNumber(), second_manifest);
}

TEST_F(VersionSetTest, LogAndApplyRecordsCountersInTheEdit) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  vs->SetLastSequence(1234);
  const uint64_t table = NewFileNumber(vs.get());
  VersionEdit edit = AddEdit(0, File(table, "a", "b"));
  ASSERT_OK(Apply(vs.get(), &edit));
  ASSERT_TRUE(edit.last_sequence());
  EXPECT_EQ(*edit.last_sequence(), 1234u);
  ASSERT_TRUE(edit.next_file_number());
  EXPECT_GT(*edit.next_file_number(), table);
  EXPECT_GT(*edit.next_file_number(), vs->ManifestFileNumber());
}

TEST_F(VersionSetTest, EditWithoutLogNumberKeepsTheCurrentOne) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  VersionEdit set_log;
  set_log.SetLogNumber(NewFileNumber(vs.get()));
  ASSERT_OK(Apply(vs.get(), &set_log));
  VersionEdit add = AddEdit(0, File(NewFileNumber(vs.get()), "a", "b"));
  ASSERT_OK(Apply(vs.get(), &add));
  EXPECT_EQ(vs->LogNumber(), *set_log.log_number());
  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(recovered->LogNumber(), *set_log.log_number());
}

TEST_F(VersionSetTest, NumbersAllocatedBeforeAnEditAreNeverReused) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  uint64_t highest = 0;
  for (int i = 0; i < 20; i++) highest = NewFileNumber(vs.get());  // e.g. tables being built
  VersionEdit edit;
  edit.SetLogNumber(highest);
  ASSERT_OK(Apply(vs.get(), &edit));
  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  EXPECT_GT(recovered->NewFileNumber(), highest);
}

TEST_F(VersionSetTest, MarkFileNumberUsedRaisesNextNumber) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  vs->MarkFileNumberUsed(500);
  EXPECT_EQ(vs->NewFileNumber(), 501u);
  vs->MarkFileNumberUsed(10);  // never lowers
  EXPECT_EQ(vs->NewFileNumber(), 502u);
}

TEST_F(VersionSetTest, AddLiveFilesIncludesFilesOfVersionsHeldByReaders) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  vs->MarkFileNumberUsed(20);
  VersionEdit e1;
  e1.AddFile(0, File(10, "a", "b"));
  e1.AddFile(1, File(11, "c", "d"));
  ASSERT_OK(Apply(vs.get(), &e1));

  std::shared_ptr<const Version> reader = vs->current();
  VersionEdit e2;  // compaction: 10 is replaced by 12
  e2.RemoveFile(0, 10);
  e2.AddFile(1, File(12, "a", "b"));
  ASSERT_OK(Apply(vs.get(), &e2));
  EXPECT_EQ(Layout(*vs->current()), "L1:[12,11]");
  EXPECT_EQ(Layout(*reader), "L0:[10] L1:[11]") << "a held Version never changes";

  std::set<uint64_t> live;
  vs->AddLiveFiles(&live);
  EXPECT_EQ(live, (std::set<uint64_t>{10, 11, 12}));

  std::shared_ptr<const Version> second_reader = vs->current();
  VersionEdit e3;
  e3.RemoveFile(1, 12);
  ASSERT_OK(Apply(vs.get(), &e3));
  reader.reset();
  live.clear();
  vs->AddLiveFiles(&live);
  EXPECT_EQ(live, (std::set<uint64_t>{11, 12})) << "10 released, 12 still held";

  second_reader.reset();
  live.clear();
  vs->AddLiveFiles(&live);
  EXPECT_EQ(live, (std::set<uint64_t>{11}));
}

TEST_F(VersionSetTest, AddLiveFilesAddsToExistingSet) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  vs->MarkFileNumberUsed(20);
  VersionEdit e = AddEdit(2, File(7, "a", "b"));
  ASSERT_OK(Apply(vs.get(), &e));
  std::set<uint64_t> live = {3};  // e.g. a table being written
  vs->AddLiveFiles(&live);
  EXPECT_EQ(live, (std::set<uint64_t>{3, 7}));
}

TEST_F(VersionSetTest, ConcurrentLogAndApplyCallsAreSerialized) {
  auto vs = CreateAndOpen();
  ASSERT_NE(vs, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEditsPerThread = 25;
  std::vector<std::thread> threads;
  std::vector<Status> failures[kThreads];
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEditsPerThread; i++) {
        std::unique_lock<std::mutex> lock(mu_);
        uint64_t number = vs->NewFileNumber();
        vs->SetLastSequence(vs->LastSequence() + 1);
        VersionEdit edit = AddEdit(0, File(number, "a", "b"));
        Status s = vs->LogAndApply(&edit, lock);
        if (!s.ok()) failures[t].push_back(s);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& f : failures) EXPECT_TRUE(f.empty()) << f.front().ToString();

  EXPECT_EQ(vs->current()->NumFiles(0), kThreads * kEditsPerThread);
  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  ExpectSameFiles(*vs->current(), *recovered->current());
  EXPECT_EQ(recovered->LastSequence(), uint64_t{kThreads * kEditsPerThread});
}

// --- Damaged CURRENT -------------------------------------------------------------------

TEST_F(VersionSetTest, RecoverWithoutCurrentFails) {
  auto vs = NewVersionSet();
  Status s = vs->Recover();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("CURRENT"), std::string::npos) << s.ToString();
}

TEST_F(VersionSetTest, CurrentWithoutNewlineIsCorruption) {
  ASSERT_OK(VersionSet::CreateNew(env_, kDb));
  for (const std::string contents : {"MANIFEST-000001", "", "MANIFEST-000001\nx"}) {
    WriteFile(CurrentFileName(kDb), contents);
    Status s = NewVersionSet()->Recover();
    EXPECT_TRUE(s.IsCorruption()) << "'" << contents << "': " << s.ToString();
    EXPECT_NE(s.message().find("CURRENT"), std::string::npos) << s.message();
  }
}

TEST_F(VersionSetTest, CurrentNamingNoManifestIsCorruption) {
  ASSERT_OK(VersionSet::CreateNew(env_, kDb));
  for (const std::string contents :
       {"000001.log\n", "000001.sst\n", "CURRENT\n", "MANIFEST-\n", "MANIFEST-1x\n", "\n",
        "../MANIFEST-000001\n", "MANIFEST-000001\n\n", " MANIFEST-000001\n"}) {
    WriteFile(CurrentFileName(kDb), contents);
    Status s = NewVersionSet()->Recover();
    EXPECT_TRUE(s.IsCorruption()) << "'" << contents << "': " << s.ToString();
  }
}

TEST_F(VersionSetTest, CurrentNamingMissingManifestFails) {
  ASSERT_OK(VersionSet::CreateNew(env_, kDb));
  WriteFile(CurrentFileName(kDb), "MANIFEST-000009\n");
  Status s = NewVersionSet()->Recover();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("MANIFEST-000009"), std::string::npos) << s.ToString();
}

// --- Damaged MANIFEST ------------------------------------------------------------------

TEST_F(VersionSetTest, HandWrittenManifestRecovers) {
  VersionEdit add = AddEdit(1, File(20, "a", "b"));
  WriteManifest(5, {Encode(SnapshotEdit()), Encode(add)});
  auto vs = Reopen();
  ASSERT_NE(vs, nullptr);
  EXPECT_EQ(Layout(*vs->current()), "L1:[20]");
  EXPECT_EQ(vs->LogNumber(), 3u);
  EXPECT_EQ(vs->LastSequence(), 50u);
  EXPECT_EQ(vs->ManifestFileNumber(), 5u);
  EXPECT_EQ(vs->NewFileNumber(), 100u);
}

TEST_F(VersionSetTest, NextFileNumberIsAboveTheManifestNumber) {
  VersionEdit snapshot = SnapshotEdit();
  snapshot.SetNextFileNumber(4);  // lower than the MANIFEST's own number
  WriteManifest(9, {Encode(snapshot)});
  auto vs = Reopen();
  ASSERT_NE(vs, nullptr);
  EXPECT_GT(vs->NewFileNumber(), 9u);
}

TEST_F(VersionSetTest, ManifestMissingRequiredFieldIsCorruption) {
  for (int omit = 0; omit < 4; omit++) {
    VersionEdit edit;
    if (omit != 0) edit.SetFormatVersion(kManifestFormatVersion);
    if (omit != 1) edit.SetLogNumber(3);
    if (omit != 2) edit.SetNextFileNumber(100);
    if (omit != 3) edit.SetLastSequence(50);
    WriteManifest(5, {Encode(edit), Encode(AddEdit(0, File(7, "a", "b")))});
    Status s = NewVersionSet()->Recover();
    EXPECT_TRUE(s.IsCorruption()) << "omitting field " << omit << ": " << s.ToString();
    EXPECT_NE(s.message().find("MANIFEST-000005"), std::string::npos) << s.message();
  }
}

TEST_F(VersionSetTest, EmptyManifestIsCorruption) {
  WriteManifest(5, {});
  EXPECT_TRUE(NewVersionSet()->Recover().IsCorruption());
}

TEST_F(VersionSetTest, TableNumberNotBelowNextFileNumberIsCorruption) {
  WriteManifest(5, {Encode(SnapshotEdit()), Encode(AddEdit(2, File(100, "a", "b")))});
  Status s = NewVersionSet()->Recover();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(VersionSetTest, UndecodableEditIsCorruptionNamingTheManifest) {
  std::string bad = Encode(SnapshotEdit());
  bad += "\x63\x01";  // tag 99
  WriteManifest(5, {bad});
  Status s = NewVersionSet()->Recover();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("MANIFEST-000005"), std::string::npos) << s.message();
}

TEST_F(VersionSetTest, NewerManifestFormatIsNotSupported) {
  VersionEdit edit = SnapshotEdit();
  edit.SetFormatVersion(kManifestFormatVersion + 1);
  WriteManifest(5, {Encode(edit)});
  Status s = NewVersionSet()->Recover();
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
}

// Damage followed by valid records cannot be a torn write: the edits after it would
// be silently lost, so recovery must stop with an error.
TEST_F(VersionSetTest, CorruptedMiddleRecordIsCorruption) {
  const std::vector<std::string> records = {Encode(SnapshotEdit()),
                                            Encode(AddEdit(0, File(20, "a", "b"))),
                                            Encode(AddEdit(0, File(21, "c", "d")))};
  WriteManifest(5, records);
  std::string contents = ReadFile(ManifestFileName(kDb, 5));
  // Every record is one FULL fragment: header, then payload.
  const size_t second_payload = log::kHeaderSize + records[0].size() + log::kHeaderSize;
  contents[second_payload + records[1].size() / 2] ^= 0x01;
  WriteFile(ManifestFileName(kDb, 5), contents);

  Status s = NewVersionSet()->Recover();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("MANIFEST-000005"), std::string::npos) << s.message();
}

TEST_F(VersionSetTest, TornManifestTailRecoversThePrefix) {
  const std::vector<std::string> records = {Encode(SnapshotEdit()),
                                            Encode(AddEdit(0, File(20, "a", "b"))),
                                            Encode(AddEdit(0, File(21, "c", "d")))};
  WriteManifest(5, records);
  const std::string full = ReadFile(ManifestFileName(kDb, 5));
  const size_t third_record = 2 * log::kHeaderSize + records[0].size() + records[1].size();
  // Cut anywhere inside the last record: its header or its payload.
  for (size_t cut = third_record + 1; cut < full.size(); cut += 5) {
    WriteFile(ManifestFileName(kDb, 5), full.substr(0, cut));
    auto vs = NewVersionSet();
    Status s = vs->Recover();
    ASSERT_TRUE(s.ok()) << "cut at " << cut << ": " << s.ToString();
    EXPECT_EQ(Layout(*vs->current()), "L0:[20]") << cut;
  }
}

TEST_F(VersionSetTest, EditAfterTornTailGoesToAFreshManifest) {
  const std::vector<std::string> records = {Encode(SnapshotEdit()),
                                            Encode(AddEdit(0, File(20, "a", "b"))),
                                            Encode(AddEdit(0, File(21, "c", "d")))};
  WriteManifest(5, records);
  std::string full = ReadFile(ManifestFileName(kDb, 5));
  WriteFile(ManifestFileName(kDb, 5), full.substr(0, full.size() - 3));

  auto vs = Reopen();
  ASSERT_NE(vs, nullptr);
  VersionEdit edit = AddEdit(1, File(NewFileNumber(vs.get()), "x", "y"));
  ASSERT_OK(Apply(vs.get(), &edit));
  EXPECT_NE(vs->ManifestFileNumber(), 5u);
  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  ExpectSameFiles(*vs->current(), *recovered->current());
  EXPECT_EQ(recovered->current()->NumFiles(0), 1);
}

// --- Failed LogAndApply ----------------------------------------------------------------

class VersionSetFaultTest : public VersionSetTest {
 protected:
  void SetUp() override {
    VersionSetTest::SetUp();
    fault_env_ = std::make_unique<FaultInjectionEnv>(base_env_.get());
  }
  std::unique_ptr<FaultInjectionEnv> fault_env_;
};

TEST_F(VersionSetFaultTest, FailedSyncLeavesCurrentUnchangedAndLaterEditSucceeds) {
  auto vs = CreateAndOpen(fault_env_.get());
  ASSERT_NE(vs, nullptr);
  VersionEdit e1 = AddEdit(0, File(NewFileNumber(vs.get()), "a", "b"));
  ASSERT_OK(Apply(vs.get(), &e1));
  std::shared_ptr<const Version> before = vs->current();
  const uint64_t log_number = vs->LogNumber();

  fault_env_->FailAfter(FaultKind::kSync, 0);
  VersionEdit e2 = AddEdit(1, File(NewFileNumber(vs.get()), "c", "d"));
  e2.SetLogNumber(NewFileNumber(vs.get()));
  Status s = Apply(vs.get(), &e2);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(vs->current(), before);
  EXPECT_EQ(vs->LogNumber(), log_number);

  fault_env_->ClearFaults();
  VersionEdit e3 = AddEdit(2, File(NewFileNumber(vs.get()), "e", "f"));
  ASSERT_OK(Apply(vs.get(), &e3));
  EXPECT_EQ(vs->current()->NumFiles(0), 1);
  EXPECT_EQ(vs->current()->NumFiles(1), 0) << "the failed edit must not reappear";
  EXPECT_EQ(vs->current()->NumFiles(2), 1);

  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  ExpectSameFiles(*vs->current(), *recovered->current());
  EXPECT_EQ(recovered->LogNumber(), log_number);
}

TEST_F(VersionSetFaultTest, FailedFirstEditAfterOpenKeepsOldManifest) {
  auto vs = CreateAndOpen(fault_env_.get());
  ASSERT_NE(vs, nullptr);
  fault_env_->FailAfter(FaultKind::kSync, 0);
  VersionEdit e1 = AddEdit(0, File(NewFileNumber(vs.get()), "a", "b"));
  EXPECT_TRUE(Apply(vs.get(), &e1).IsIOError());
  EXPECT_EQ(Layout(*vs->current()), "");
  EXPECT_EQ(vs->ManifestFileNumber(), 1u);
  EXPECT_EQ(ReadCurrent(env_), "MANIFEST-000001\n");

  fault_env_->ClearFaults();
  VersionEdit e2 = AddEdit(0, File(NewFileNumber(vs.get()), "c", "d"));
  ASSERT_OK(Apply(vs.get(), &e2));
  auto recovered = Reopen();
  ASSERT_NE(recovered, nullptr);
  ExpectSameFiles(*vs->current(), *recovered->current());
  EXPECT_EQ(recovered->current()->NumFiles(0), 1);
}

// Fails the index-th call of kind inside one LogAndApply (the first after open, which
// starts a MANIFEST, or a later one, which appends), then checks that:
//  - the call reports the error and the in-memory Version is unchanged;
//  - the store on disk recovers, after a process crash at that point and after a power
//    loss, to the state before the edit or the state after it, never to an error;
//  - after the fault clears, a later edit succeeds and recovers.
class FaultTrial {
 public:
  explicit FaultTrial(bool first_edit_after_open) : first_edit_after_open_(first_edit_after_open) {}

  // Counts the calls of kind that the edit under test makes when nothing fails.
  int CountCalls(FaultKind kind) {
    Setup();
    if (::testing::Test::HasFatalFailure()) return 0;
    fault_env_->ResetCallCounts();
    VersionEdit edit = EditUnderTest();
    Status s = Apply(&edit);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return fault_env_->CallCount(kind);
  }

  void Run(FaultKind kind, int index, bool power_loss) {
    SCOPED_TRACE(std::string(FaultKindName(kind)) + " call " + std::to_string(index) +
                 (first_edit_after_open_ ? " of the first edit after open" : " of a later edit") +
                 (power_loss ? ", then power loss" : ", then process crash"));
    Setup();
    if (::testing::Test::HasFatalFailure()) return;
    const std::string before = Layout(*vs_->current());
    std::shared_ptr<const Version> before_version = vs_->current();
    const uint64_t log_before = vs_->LogNumber();

    fault_env_->FailAfter(kind, index);
    VersionEdit edit = EditUnderTest();
    Status s = Apply(&edit);
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_EQ(vs_->current(), before_version);
    EXPECT_EQ(vs_->LogNumber(), log_before);
    fault_env_->ClearFaults();
    const std::string after = before.empty() ? "L0:[50]" : "L0:[50," + before.substr(4);

    if (power_loss) {
      vs_.reset();  // closes the MANIFEST
      Status dropped = fault_env_->DropUnsyncedData();
      ASSERT_TRUE(dropped.ok()) << dropped.ToString();
    }
    // What a process opening the store now would find.
    auto disk = std::make_unique<VersionSet>(kDb, Options(), base_env_.get());
    Status recovered = disk->Recover();
    ASSERT_TRUE(recovered.ok()) << "store unrecoverable: " << recovered.ToString();
    const std::string on_disk = Layout(*disk->current());
    EXPECT_TRUE(on_disk == before || on_disk == after)
        << "recovered " << on_disk << ", expected " << before << " or " << after;
    if (power_loss) return;

    // The same VersionSet carries on once the fault is gone.
    VersionEdit later;
    later.AddFile(2, File(60, "x", "y"));
    Status s2 = Apply(&later);
    ASSERT_TRUE(s2.ok()) << s2.ToString();
    auto reopened = std::make_unique<VersionSet>(kDb, Options(), base_env_.get());
    Status s3 = reopened->Recover();
    ASSERT_TRUE(s3.ok()) << s3.ToString();
    ExpectSameFiles(*vs_->current(), *reopened->current());
  }

 private:
  void Setup() {
    base_env_ = NewMemEnv();
    ASSERT_TRUE(base_env_->CreateDir(kDb).ok());
    fault_env_ = std::make_unique<FaultInjectionEnv>(base_env_.get());
    ASSERT_OK(VersionSet::CreateNew(fault_env_.get(), kDb));
    vs_ = std::make_unique<VersionSet>(kDb, Options(), fault_env_.get());
    ASSERT_OK(vs_->Recover());
    vs_->MarkFileNumberUsed(70);
    if (!first_edit_after_open_) {
      VersionEdit edit;
      edit.AddFile(0, File(40, "a", "b"));
      ASSERT_OK(Apply(&edit));
    }
  }

  static VersionEdit EditUnderTest() {
    VersionEdit edit;
    edit.AddFile(0, File(50, "c", "d"));
    edit.SetLogNumber(51);
    return edit;
  }

  Status Apply(VersionEdit* edit) {
    std::unique_lock<std::mutex> lock(mu_);
    return vs_->LogAndApply(edit, lock);
  }

  const bool first_edit_after_open_;
  std::mutex mu_;
  std::unique_ptr<Env> base_env_;
  std::unique_ptr<FaultInjectionEnv> fault_env_;
  std::unique_ptr<VersionSet> vs_;
};

void RunAllFaultTrials(FaultKind kind, int min_calls_first_edit) {
  for (bool first_edit_after_open : {true, false}) {
    int calls = FaultTrial(first_edit_after_open).CountCalls(kind);
    if (first_edit_after_open) {
      EXPECT_GE(calls, min_calls_first_edit) << FaultKindName(kind);
    }
    for (int index = 0; index < calls; index++) {
      for (bool power_loss : {false, true}) {
        FaultTrial(first_edit_after_open).Run(kind, index, power_loss);
      }
    }
  }
}

TEST(VersionSetFaultTrialTest, EveryFailedWriteLeavesStoreRecoverable) {
  RunAllFaultTrials(FaultKind::kWrite, 4);
}

TEST(VersionSetFaultTrialTest, EveryFailedRenameLeavesStoreRecoverable) {
  RunAllFaultTrials(FaultKind::kRename, 1);
}

// Syncs of the first edit after open: the new MANIFEST, the temp file that becomes
// CURRENT, and the directory after the rename.
TEST(VersionSetFaultTrialTest, EveryFailedSyncLeavesStoreRecoverable) {
  RunAllFaultTrials(FaultKind::kSync, 3);
}

// Creations of the first edit after open: the new MANIFEST and the temp file.
TEST(VersionSetFaultTrialTest, EveryFailedCreateLeavesStoreRecoverable) {
  RunAllFaultTrials(FaultKind::kCreate, 2);
}

}  // namespace
}  // namespace strata
