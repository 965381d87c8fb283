// Leveled compaction seen from outside the engine: a random workload checked against
// std::map while flushes and compactions reshape the tree, the shape of the tree
// afterwards (read back from the MANIFEST), garbage collection of overwritten versions
// and tombstones (bytes on disk), snapshots and iterators keeping what they can see,
// and write backpressure when compaction falls behind.
//
// The shape of a closed (or quiescent) store is read by replaying its MANIFEST edit by
// edit, which also yields the largest level-0 table count the store ever recorded.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lsm/dbformat.h"
#include "lsm/filename.h"
#include "lsm/log_reader.h"
#include "lsm/table.h"
#include "lsm/version_edit.h"
#include "lsm/version_set.h"
#include "strata/db.h"
#include "strata/env.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

using Model = std::map<std::string, std::string>;

enum class EnvKind { kPosix, kMemory };

std::string EnvName(const ::testing::TestParamInfo<EnvKind>& info) {
  return info.param == EnvKind::kPosix ? "Posix" : "Memory";
}

// A store directory on the chosen Env; the POSIX one is removed with the object.
class StoreLocation {
 public:
  explicit StoreLocation(EnvKind kind) {
    if (kind == EnvKind::kMemory) {
      mem_env_ = NewMemEnv();
      env_ = mem_env_.get();
      path_ = "/compaction-db";
    } else {
      temp_dir_ = std::make_unique<test::TempDir>("strata-compaction");
      env_ = Env::Default();
      path_ = temp_dir_->Join("db");
    }
  }
  Env* env() const { return env_; }
  const std::string& path() const { return path_; }

 private:
  std::unique_ptr<Env> mem_env_;
  std::unique_ptr<test::TempDir> temp_dir_;
  Env* env_ = nullptr;
  std::string path_;
};

// The tables of a store per level, as its MANIFEST records them.
struct TreeShape {
  std::map<uint64_t, FileMetaData> levels[kNumLevels];  // by file number
  // The most level-0 tables of any Version the MANIFEST passed through.
  int max_level0_files = 0;

  int NumFiles(int level) const { return static_cast<int>(levels[level].size()); }
  uint64_t LevelBytes(int level) const {
    uint64_t total = 0;
    for (const auto& [number, f] : levels[level]) total += f.file_size;
    return total;
  }
  std::map<uint64_t, uint64_t> AllFiles() const {  // number -> size
    std::map<uint64_t, uint64_t> all;
    for (const auto& level : levels) {
      for (const auto& [number, f] : level) all[number] = f.file_size;
    }
    return all;
  }
  // Every table with its key range, e.g. "L1 #9 4335B [h@17 .. h@14]".
  std::string DescribeFiles() const {
    std::string out;
    for (int level = 0; level < kNumLevels; level++) {
      for (const auto& [number, f] : levels[level]) {
        ParsedInternalKey smallest, largest;
        if (!ParseInternalKey(f.smallest, &smallest) || !ParseInternalKey(f.largest, &largest)) {
          out += "table " + std::to_string(number) + " has malformed bounds\n";
          continue;
        }
        out += "L" + std::to_string(level) + " #" + std::to_string(number) + " " +
               std::to_string(f.file_size) + "B [" + std::string(smallest.user_key) + "@" +
               std::to_string(smallest.sequence) + " .. " + std::string(largest.user_key) + "@" +
               std::to_string(largest.sequence) + "]\n";
      }
    }
    return out;
  }
  std::string Describe() const {
    std::string out;
    for (int level = 0; level < kNumLevels; level++) {
      out += "L" + std::to_string(level) + ":" + std::to_string(NumFiles(level)) + " files/" +
             std::to_string(LevelBytes(level)) + "B ";
    }
    return out;
  }
};

// Replays the MANIFEST named by CURRENT edit by edit (deletions before additions, as
// VersionSet applies them). The store must not be changing meanwhile.
Status ReadTreeShape(Env* env, const std::string& dbname, TreeShape* shape) {
  *shape = TreeShape();
  std::string current;
  Status s = ReadFileToString(env, CurrentFileName(dbname), &current);
  if (!s.ok()) return s;
  if (current.empty() || current.back() != '\n') {
    return Status::Corruption("CURRENT does not end with a newline");
  }
  current.pop_back();
  std::string manifest = dbname + "/" + current;
  std::unique_ptr<SequentialFile> file;
  s = env->NewSequentialFile(manifest, &file);
  if (!s.ok()) return s;
  log::Reader reader(file.get(), manifest);
  std::string_view record;
  std::string scratch;
  while (reader.ReadRecord(&record, &scratch)) {
    VersionEdit edit;
    s = edit.DecodeFrom(record);
    if (!s.ok()) return s;
    for (const auto& [level, number] : edit.deleted_files()) shape->levels[level].erase(number);
    for (const auto& [level, f] : edit.new_files()) shape->levels[level][f.number] = f;
    shape->max_level0_files = std::max(shape->max_level0_files, shape->NumFiles(0));
  }
  return reader.status();
}

// Table files in the store directory: number -> size.
std::map<uint64_t, uint64_t> TableFilesOnDisk(Env* env, const std::string& dbname) {
  std::map<uint64_t, uint64_t> tables;
  std::vector<std::string> children;
  EXPECT_TRUE(env->GetChildren(dbname, &children).ok());
  for (const std::string& name : children) {
    uint64_t number;
    FileType type;
    if (!ParseFileName(name, &number, &type) || type != FileType::kTable) continue;
    uint64_t size = 0;
    Status s = env->GetFileSize(dbname + "/" + name, &size);
    // A background thread may delete an obsolete table between listing and sizing.
    if (!s.ok() && !env->FileExists(dbname + "/" + name)) continue;
    EXPECT_TRUE(s.ok()) << name << ": " << s.ToString();
    tables[number] = size;
  }
  return tables;
}

// Every entry of one table, as (user key, sequence) in table order.
std::vector<std::pair<std::string, SequenceNumber>> TableEntries(Env* env,
                                                                 const std::string& dbname,
                                                                 uint64_t number, uint64_t size) {
  std::vector<std::pair<std::string, SequenceNumber>> entries;
  std::string name = TableFileName(dbname, number);
  std::unique_ptr<RandomAccessFile> file;
  Status s = env->NewRandomAccessFile(name, &file);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return entries;
  Options options;
  options.env = env;
  std::unique_ptr<Table> table;
  s = Table::Open(options, name, std::move(file), size, TableReadContext(), &table);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return entries;
  std::unique_ptr<Iterator> it = table->NewIterator(BlockCacheFill::kDontFill);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ParsedInternalKey parsed;
    EXPECT_TRUE(ParseInternalKey(it->key(), &parsed));
    entries.emplace_back(std::string(parsed.user_key), parsed.sequence);
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return entries;
}

uint64_t TableBytesOnDisk(Env* env, const std::string& dbname) {
  uint64_t total = 0;
  for (const auto& [number, size] : TableFilesOnDisk(env, dbname)) total += size;
  return total;
}

// A tree of many small tables: tiny memtables, tables and level targets, so a few
// thousand writes produce dozens of flushes and compactions over several levels.
Options SmallTreeOptions(Env* env) {
  Options options;
  options.env = env;
  options.create_if_missing = true;
  options.write_buffer_size = 12 << 10;
  options.block_size = 256;
  options.block_restart_interval = 4;
  options.target_file_size = 8 << 10;
  options.max_bytes_for_level_base = 32 << 10;
  options.max_bytes_for_level_multiplier = 4;
  options.level0_compaction_trigger = 2;
  options.level0_slowdown_writes_trigger = 6;
  options.level0_stop_writes_trigger = 10;
  options.background_threads = 2;
  return options;
}

std::string RandomBytes(std::mt19937& rng, size_t len) {
  std::string value(len, '\0');
  for (char& c : value) c = static_cast<char>(rng());
  return value;
}

std::string NumberedKey(int n) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "key%05d", n);
  return buffer;
}

// Full forward and backward scans at snapshot must yield exactly model.
void ExpectScanMatches(DB* db, const Model& model, const Snapshot* snapshot,
                       const std::string& where) {
  ReadOptions read;
  read.snapshot = snapshot;
  std::unique_ptr<Iterator> it = db->NewIterator(read);
  auto expected = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    ASSERT_NE(expected, model.end()) << where << ": extra key '" << it->key() << "'";
    ASSERT_EQ(expected->first, it->key()) << where;
    ASSERT_EQ(expected->second, it->value()) << where << ": key '" << expected->first << "'";
  }
  ASSERT_TRUE(it->status().ok()) << where << ": " << it->status().ToString();
  ASSERT_EQ(expected, model.end()) << where << ": missing key '" << expected->first << "'";
  auto reverse = model.rbegin();
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++reverse) {
    ASSERT_NE(reverse, model.rend()) << where << ": extra key '" << it->key() << "' (reverse)";
    ASSERT_EQ(reverse->first, it->key()) << where << " (reverse)";
    ASSERT_EQ(reverse->second, it->value()) << where << " (reverse)";
  }
  ASSERT_TRUE(it->status().ok()) << where << ": " << it->status().ToString();
  ASSERT_EQ(reverse, model.rend()) << where << ": reverse scan ended early";
}

// ---------------------------------------------------------------------------
// The model test: random operations against std::map while the tree is reshaped.

// Every key the workload can touch: some with zero bytes and long shared prefixes.
std::vector<std::string> ModelKeySpace() {
  std::vector<std::string> keys;
  for (int n = 0; n < 1500; n++) {
    std::string key = NumberedKey(n);
    if (n % 11 == 0) key += std::string(1 + n % 3, '\0') + "z";
    if (n % 13 == 0) key = std::string(30, 'p') + key;
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

struct HeldSnapshot {
  const Snapshot* snapshot;
  Model state;
};

class CompactionModelTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  CompactionModelTest() : location_(GetParam()), keys_(ModelKeySpace()) {}

  void SetUp() override {
    options_ = SmallTreeOptions(location_.env());
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  void TearDown() override { ReleaseSnapshots(); }

  void Reopen() {
    ReleaseSnapshots();
    if (db_ != nullptr) {
      Status s = db_->Close();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    db_.reset();
    Status s = DB::Open(options_, location_.path(), &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void ReleaseSnapshots() {
    for (auto& held : snapshots_) db_->ReleaseSnapshot(held.snapshot);
    snapshots_.clear();
  }

  // Every flush and compaction fsyncs on POSIX, so it gets fewer steps than memory.
  // STRATA_COMPACTION_STEPS=n runs n steps per phase on both, for longer soaks.
  int StepsPerPhase() const {
    const char* env = std::getenv("STRATA_COMPACTION_STEPS");
    if (env != nullptr) return std::atoi(env);
#if defined(__SANITIZE_THREAD__)
    constexpr int kMemorySteps = 1000;  // TSan runs this code ~10x slower
#else
    constexpr int kMemorySteps = 3000;
#endif
    return GetParam() == EnvKind::kPosix ? 300 : kMemorySteps;
  }

  const std::string& RandomKey() { return keys_[rng_() % keys_.size()]; }

  std::string RandomValue() {
    int kind = std::uniform_int_distribution<int>(0, 39)(rng_);
    size_t len = kind == 0 ? 0 : (kind == 1 ? 2000 : 10 + rng_() % 110);
    std::string value(len, '\0');
    for (char& c : value) c = static_cast<char>('a' + rng_() % 26);
    return value;
  }

  std::string Where() const {
    return "phase " + std::to_string(phase_) + " step " + std::to_string(step_);
  }

  // Every key of the key space (plus absent neighbours) by Get, and full scans.
  void CheckEverything(const Model& model, const Snapshot* snapshot, const std::string& what) {
    ReadOptions read;
    read.snapshot = snapshot;
    std::string value;
    for (const std::string& key : keys_) {
      Status s = db_->Get(read, key, &value);
      auto it = model.find(key);
      if (it == model.end()) {
        ASSERT_TRUE(s.IsNotFound())
            << what << " " << Where() << ": key '" << key << "' should be absent: " << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << what << " " << Where() << ": key '" << key << "': " << s.ToString();
        ASSERT_EQ(it->second, value) << what << " " << Where() << ": key '" << key << "'";
      }
      ASSERT_TRUE(db_->Get(read, key + "~", &value).IsNotFound()) << what << " " << Where();
    }
    ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, snapshot, what + " " + Where()));
  }

  void CheckAllViews(const std::string& what) {
    ASSERT_NO_FATAL_FAILURE(CheckEverything(model_, nullptr, what + " (latest)"));
    for (size_t i = 0; i < snapshots_.size(); i++) {
      ASSERT_NO_FATAL_FAILURE(CheckEverything(snapshots_[i].state, snapshots_[i].snapshot,
                                              what + " (snapshot " + std::to_string(i) + ")"));
    }
  }

  void CheckSomeGets(const Model& model, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    std::string value;
    for (int i = 0; i < 8; i++) {
      const std::string& key = RandomKey();
      Status s = db_->Get(read, key, &value);
      auto it = model.find(key);
      if (it == model.end()) {
        ASSERT_TRUE(s.IsNotFound()) << Where() << ": key '" << key << "': " << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << Where() << ": key '" << key << "': " << s.ToString();
        ASSERT_EQ(it->second, value) << Where() << ": key '" << key << "'";
      }
    }
  }

  // Seek to a random key, then a random mix of Next and Prev.
  void CheckRandomWalk(const Model& model, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    std::unique_ptr<Iterator> it = db_->NewIterator(read);
    const std::string& target = RandomKey();
    it->Seek(target);
    auto expected = model.lower_bound(target);
    for (int i = 0; i < 16; i++) {
      if (expected == model.end()) {
        ASSERT_FALSE(it->Valid()) << Where();
        break;
      }
      ASSERT_TRUE(it->Valid()) << Where();
      ASSERT_EQ(expected->first, it->key()) << Where();
      ASSERT_EQ(expected->second, it->value()) << Where();
      if (rng_() % 3 == 0) {
        it->Prev();
        if (expected == model.begin()) {
          ASSERT_FALSE(it->Valid()) << Where();
          break;
        }
        --expected;
      } else {
        it->Next();
        ++expected;
      }
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  }

  void CompactRandomRange() {
    std::string begin = RandomKey(), end = RandomKey();
    if (end < begin) std::swap(begin, end);
    std::string_view b(begin), e(end);
    Status s = db_->CompactRange(rng_() % 4 == 0 ? nullptr : &b, rng_() % 4 == 0 ? nullptr : &e);
    ASSERT_TRUE(s.ok()) << Where() << ": " << s.ToString();
  }

  void RandomStep() {
    int op = std::uniform_int_distribution<int>(0, 999)(rng_);
    Status s;
    if (op < 450) {
      const std::string& key = RandomKey();
      std::string value = RandomValue();
      s = db_->Put(WriteOptions(), key, value);
      model_[key] = value;
    } else if (op < 600) {
      const std::string& key = RandomKey();
      s = db_->Delete(WriteOptions(), key);
      model_.erase(key);
    } else if (op < 700) {
      WriteBatch batch;
      int n = 1 + rng_() % 20;
      for (int i = 0; i < n; i++) {
        const std::string& key = RandomKey();
        if (rng_() % 4 == 0) {
          batch.Delete(key);
          model_.erase(key);
        } else {
          std::string value = RandomValue();
          batch.Put(key, value);
          model_[key] = value;
        }
      }
      s = db_->Write(WriteOptions(), &batch);
    } else if (op < 850) {
      ASSERT_NO_FATAL_FAILURE(CheckSomeGets(model_, nullptr));
    } else if (op < 900) {
      if (!snapshots_.empty()) {
        const HeldSnapshot& held = snapshots_[rng_() % snapshots_.size()];
        ASSERT_NO_FATAL_FAILURE(CheckSomeGets(held.state, held.snapshot));
        ASSERT_NO_FATAL_FAILURE(CheckRandomWalk(held.state, held.snapshot));
      }
    } else if (op < 950) {
      ASSERT_NO_FATAL_FAILURE(CheckRandomWalk(model_, nullptr));
    } else if (op < 965) {
      if (snapshots_.size() < 4) snapshots_.push_back({db_->GetSnapshot(), model_});
    } else if (op < 975) {
      if (!snapshots_.empty()) {
        size_t i = rng_() % snapshots_.size();
        db_->ReleaseSnapshot(snapshots_[i].snapshot);
        snapshots_.erase(snapshots_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    } else if (op < 980) {
      s = db_->Flush();
    } else if (op < 986) {
      s = db_->WaitForBackgroundWork();
    } else if (op < 988) {
      ASSERT_NO_FATAL_FAILURE(CompactRandomRange());
    } else if (op < 989) {
      s = db_->CompactRange(nullptr, nullptr);
    }
    ASSERT_TRUE(s.ok()) << Where() << ": " << s.ToString();
  }

  // Phases of random steps; after each, every view is checked, then the tree is
  // settled, fully compacted or reopened in turn, and checked again.
  void RunPhases(int phases, int steps_per_phase) {
    for (phase_ = 0; phase_ < phases; phase_++) {
      for (step_ = 0; step_ < steps_per_phase; step_++) {
        ASSERT_NO_FATAL_FAILURE(RandomStep());
      }
      ASSERT_NO_FATAL_FAILURE(CheckAllViews("end of phase"));
      Status s;
      switch (phase_ % 4) {
        case 0:
          s = db_->WaitForBackgroundWork();
          break;
        case 1:
          s = db_->CompactRange(nullptr, nullptr);
          break;
        case 2:
          ASSERT_NO_FATAL_FAILURE(Reopen());
          break;
        case 3:
          ASSERT_NO_FATAL_FAILURE(CompactRandomRange());
          break;
      }
      ASSERT_TRUE(s.ok()) << Where() << ": " << s.ToString();
      ASSERT_NO_FATAL_FAILURE(CheckAllViews("after phase action"));
    }
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ASSERT_NO_FATAL_FAILURE(CheckAllViews("after final reopen"));
  }

  StoreLocation location_;
  const std::vector<std::string> keys_;
  Options options_;
  std::unique_ptr<DB> db_;
  std::mt19937 rng_{20261126};
  Model model_;
  std::vector<HeldSnapshot> snapshots_;
  int phase_ = 0;
  int step_ = 0;
};

TEST_P(CompactionModelTest, RandomWorkloadMatchesStdMapAcrossCompactions) {
  ASSERT_NO_FATAL_FAILURE(RunPhases(8, StepsPerPhase()));
  // The workload must really have built a multi-level tree.
  ASSERT_TRUE(db_->Close().ok());
  TreeShape shape;
  Status s = ReadTreeShape(location_.env(), location_.path(), &shape);
  ASSERT_TRUE(s.ok()) << s.ToString();
  int deep_levels = 0;
  for (int level = 1; level < kNumLevels; level++) deep_levels += shape.NumFiles(level) > 0;
  EXPECT_GE(shape.AllFiles().size(), 4u) << shape.Describe();
  EXPECT_GE(deep_levels, 1) << shape.Describe();
}

TEST_P(CompactionModelTest, RandomWorkloadMatchesStdMapWithoutCompressionOrFilter) {
  options_.compression = false;
  options_.bloom_bits_per_key = 0;
  options_.background_threads = 1;
  rng_.seed(99);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(RunPhases(4, StepsPerPhase()));
}

INSTANTIATE_TEST_SUITE_P(Envs, CompactionModelTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMemory), EnvName);

// ---------------------------------------------------------------------------
// The shape of the tree.

class CompactionShapeTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  CompactionShapeTest() : location_(GetParam()) {}
  StoreLocation location_;
};

// After heavy random writes (with snapshots held part of the time, so some keys keep
// several versions) and WaitForBackgroundWork: level 0 is below its trigger, every
// deeper level is under its target, levels >= 1 are sorted runs of non-overlapping
// tables, and the directory holds exactly the tables the MANIFEST names (no garbage
// left behind by the last compaction). Then the data reads back after reopen.
TEST_P(CompactionShapeTest, LevelsAreSortedDisjointRunsUnderTheirTargets) {
  Options options = SmallTreeOptions(location_.env());
  // The shape size targets give: idle settling (IdleSettleTest, IdleDrainTest) would
  // merge the small deepest levels the workload leaves.
  options.settle_after_idle_millis = 0;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, location_.path(), &db).ok());
  std::mt19937 rng(5);
  Model model;
  std::vector<const Snapshot*> snapshots;
  // Every flush and compaction fsyncs on POSIX: half the work there.
  const int batches = GetParam() == EnvKind::kPosix ? 2000 : 4000;
  for (int i = 0; i < batches; i++) {
    WriteBatch batch;
    for (int j = 0; j < 8; j++) {
      std::string key = NumberedKey(static_cast<int>(rng() % batches));
      if (rng() % 8 == 0) {
        batch.Delete(key);
        model.erase(key);
      } else {
        std::string value = RandomBytes(rng, 20 + rng() % 100);
        batch.Put(key, value);
        model[key] = value;
      }
    }
    ASSERT_TRUE(db->Write(WriteOptions(), &batch).ok());
    if (i % 500 == 250) snapshots.push_back(db->GetSnapshot());
    if (i % 500 == 450) {
      for (const Snapshot* s : snapshots) db->ReleaseSnapshot(s);
      snapshots.clear();
    }
  }
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());
  for (int n = 0; n < batches; n++) {
    std::string key = NumberedKey(n), value;
    Status s = db->Get(ReadOptions(), key, &value);
    auto it = model.find(key);
    if (it == model.end()) {
      ASSERT_TRUE(s.IsNotFound()) << "'" << key << "' should be absent: " << s.ToString();
    } else {
      ASSERT_TRUE(s.ok()) << "'" << key << "': " << s.ToString();
      ASSERT_EQ(it->second, value) << "'" << key << "'";
    }
  }
  std::map<uint64_t, uint64_t> on_disk = TableFilesOnDisk(location_.env(), location_.path());
  ASSERT_TRUE(db->Close().ok());

  TreeShape shape;
  Status s = ReadTreeShape(location_.env(), location_.path(), &shape);
  ASSERT_TRUE(s.ok()) << s.ToString();
  SCOPED_TRACE(shape.Describe());
  EXPECT_EQ(on_disk, shape.AllFiles()) << "tables on disk differ from the MANIFEST's";

  EXPECT_LT(shape.NumFiles(0), options.level0_compaction_trigger);
  uint64_t target = options.max_bytes_for_level_base;
  int deep_levels = 0;
  const InternalKeyComparator* icmp = GetInternalKeyComparator();
  for (int level = 1; level < kNumLevels; level++) {
    if (level < kNumLevels - 1) {
      EXPECT_LE(shape.LevelBytes(level), target) << "level " << level << " over its target";
    }
    target *= options.max_bytes_for_level_multiplier;
    std::vector<FileMetaData> files;
    for (const auto& [number, f] : shape.levels[level]) files.push_back(f);
    if (!files.empty()) deep_levels++;
    std::sort(files.begin(), files.end(), [icmp](const auto& a, const auto& b) {
      return icmp->Compare(a.smallest, b.smallest) < 0;
    });
    for (size_t i = 0; i < files.size(); i++) {
      EXPECT_LE(icmp->Compare(files[i].smallest, files[i].largest), 0)
          << "table " << files[i].number << " has smallest > largest";
      if (i == 0) continue;
      const FileMetaData& prev = files[i - 1];
      const FileMetaData& next = files[i];
      // (Adjacent tables may share a user key, its newer versions in the first one:
      // CompactionBoundaryTest pins what reads must make of that.)
      EXPECT_LT(icmp->Compare(prev.largest, next.smallest), 0)
          << "level " << level << ": tables " << prev.number << " and " << next.number
          << " overlap";
    }
  }
  EXPECT_GE(deep_levels, 3) << "the workload should have filled at least three levels";

  ASSERT_TRUE(DB::Open(options, location_.path(), &db).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db.get(), model, nullptr, "after reopen"));
}

INSTANTIATE_TEST_SUITE_P(Envs, CompactionShapeTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMemory), EnvName);

// One key's versions (kept by snapshots) are more than a compaction output table holds.
// If they are split over adjacent tables, moving only the table with the newest versions
// further down must not make Get (which searches one table per level) return an older
// version from the table left behind, nor bring a deleted key back.
TEST(CompactionBoundaryTest, GetReturnsNewestVersionAfterPartOfAKeysVersionsMovedDown) {
  for (bool last_is_delete : {false, true}) {
    SCOPED_TRACE(last_is_delete ? "newest entry is a deletion" : "newest entry is a value");
    std::unique_ptr<Env> env = NewMemEnv();
    Options options;
    options.env = env.get();
    options.create_if_missing = true;
    options.compression = false;
    options.block_size = 256;
    options.target_file_size = 4 << 10;
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(options, "/boundary", &db).ok());

    // Two level-0 tables, so the first compaction merges (rather than moves) them.
    ASSERT_TRUE(db->Put(WriteOptions(), "a", "first").ok());
    ASSERT_TRUE(db->Flush().ok());
    std::vector<std::string> values;
    std::vector<const Snapshot*> snapshots;
    for (int i = 0; i < 20; i++) {
      values.push_back(std::string(1000, static_cast<char>('A' + i)));
      ASSERT_TRUE(db->Put(WriteOptions(), "h", values.back()).ok());
      snapshots.push_back(db->GetSnapshot());
    }
    if (last_is_delete) {
      ASSERT_TRUE(db->Delete(WriteOptions(), "h").ok());
    }
    ASSERT_TRUE(db->Flush().ok());
    // Level 0 merges into level 1 (an engine that cuts outputs every ~4 KiB splits "h"
    // over about five tables); then only the tables holding "a" move down.
    std::string_view a("a");
    ASSERT_TRUE(db->CompactRange(&a, &a).ok());
    TreeShape shape;
    ASSERT_TRUE(ReadTreeShape(env.get(), "/boundary", &shape).ok());
    SCOPED_TRACE(shape.DescribeFiles());

    std::string value;
    Status s = db->Get(ReadOptions(), "h", &value);
    if (last_is_delete) {
      EXPECT_TRUE(s.IsNotFound()) << "deleted key came back with version "
                                  << (value.empty() ? '?' : value[0]) << ": " << s.ToString();
    } else {
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(values.back()[0], value[0]) << "Get returned an older version of 'h'";
    }
    for (size_t i = 0; i < snapshots.size(); i++) {
      ReadOptions read;
      read.snapshot = snapshots[i];
      s = db->Get(read, "h", &value);
      ASSERT_TRUE(s.ok()) << "snapshot " << i << ": " << s.ToString();
      EXPECT_EQ(values[i][0], value[0]) << "snapshot " << i;
    }
    // The iterator merges every level and must agree.
    std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
    it->Seek("h");
    if (last_is_delete) {
      EXPECT_FALSE(it->Valid());
    } else {
      ASSERT_TRUE(it->Valid());
      EXPECT_EQ(values.back()[0], it->value()[0]);
    }
    it.reset();
    for (const Snapshot* snapshot : snapshots) db->ReleaseSnapshot(snapshot);
  }
}

// ---------------------------------------------------------------------------
// Garbage collection: what full compaction removes from disk, and what it keeps.

class CompactionGarbageTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  static constexpr int kKeys = 400;
  static constexpr size_t kValueSize = 1000;
  // Bytes of one live entry in a table: value, key, internal key trailer, lengths.
  static constexpr uint64_t kEntryBytes = kValueSize + 8 + 8 + 4;

  CompactionGarbageTest() : location_(GetParam()) {}

  void Open(size_t write_buffer_size, bool compress_level0 = false,
            uint32_t settle_after_idle_millis = Options().settle_after_idle_millis) {
    Options options;
    options.settle_after_idle_millis = settle_after_idle_millis;
    options.env = location_.env();
    options.create_if_missing = true;
    options.write_buffer_size = write_buffer_size;
    options.compress_level0 = compress_level0;
    options.target_file_size = 64 << 10;
    options.max_bytes_for_level_base = 256 << 10;
    Status s = DB::Open(options, location_.path(), &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Random (incompressible) values, so bytes on disk track the bytes kept.
  void PutAll(Model* model) {
    for (int i = 0; i < kKeys; i++) {
      std::string value = RandomBytes(rng_, kValueSize);
      ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), value).ok());
      (*model)[NumberedKey(i)] = value;
    }
  }

  void DeleteEvenKeys(Model* model) {
    for (int i = 0; i < kKeys; i += 2) {
      ASSERT_TRUE(db_->Delete(WriteOptions(), NumberedKey(i)).ok());
      model->erase(NumberedKey(i));
    }
  }

  void CompactAll() {
    Status s = db_->CompactRange(nullptr, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Obsolete tables are deleted by background threads: let them finish first.
  uint64_t DiskBytes() {
    EXPECT_TRUE(db_->WaitForBackgroundWork().ok());
    return TableBytesOnDisk(location_.env(), location_.path());
  }

  // Bytes on disk must be those of `entries` live entries, give or take table overhead.
  void ExpectDiskHolds(uint64_t entries, const std::string& what) {
    uint64_t bytes = DiskBytes();
    EXPECT_GE(bytes, entries * kValueSize) << what << ": less on disk than the live values";
    EXPECT_LE(bytes, entries * kEntryBytes * 11 / 10 + (8 << 10))
        << what << ": garbage left on disk (" << entries << " live entries)";
  }

  StoreLocation location_;
  std::unique_ptr<DB> db_;
  std::mt19937 rng_{42};
};

TEST_P(CompactionGarbageTest, OverwrittenAndDeletedEntriesLeaveTheDisk) {
  ASSERT_NO_FATAL_FAILURE(Open(64 << 10));
  Model model;
  ASSERT_NO_FATAL_FAILURE(PutAll(&model));
  ASSERT_NO_FATAL_FAILURE(PutAll(&model));
  ASSERT_NO_FATAL_FAILURE(DeleteEvenKeys(&model));
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_NO_FATAL_FAILURE(ExpectDiskHolds(kKeys / 2, "after full compaction"));
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "after compaction"));
}

// Everything in one memtable: the flush writes one level-0 table holding every version
// and tombstone; full compaction must still rewrite it rather than move it down as is.
TEST_P(CompactionGarbageTest, GarbageInASingleTableLeavesTheDisk) {
  ASSERT_NO_FATAL_FAILURE(Open(16 << 20));
  Model model;
  ASSERT_NO_FATAL_FAILURE(PutAll(&model));
  ASSERT_NO_FATAL_FAILURE(PutAll(&model));
  ASSERT_NO_FATAL_FAILURE(DeleteEvenKeys(&model));
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_NO_FATAL_FAILURE(ExpectDiskHolds(kKeys / 2, "after full compaction"));
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "after compaction"));
}

// Tombstones written over data that already sits at the bottom reach it and take the
// data with them.
TEST_P(CompactionGarbageTest, TombstonesOverBottomLevelDataLeaveNothing) {
  ASSERT_NO_FATAL_FAILURE(Open(64 << 10));
  Model model;
  ASSERT_NO_FATAL_FAILURE(PutAll(&model));
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_NO_FATAL_FAILURE(ExpectDiskHolds(kKeys, "after the first full compaction"));
  for (int i = 0; i < kKeys; i++) ASSERT_TRUE(db_->Delete(WriteOptions(), NumberedKey(i)).ok());
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  EXPECT_LE(DiskBytes(), 1024u) << "deleted data or tombstones left on disk";
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), Model(), nullptr, "after deleting all"));
}

// A snapshot taken before the overwrite keeps the old versions through full
// compaction; once it is released, the next full compaction removes them.
TEST_P(CompactionGarbageTest, SnapshotKeepsOldVersionsUntilReleased) {
  ASSERT_NO_FATAL_FAILURE(Open(64 << 10));
  Model old_model, model;
  ASSERT_NO_FATAL_FAILURE(PutAll(&old_model));
  const Snapshot* snapshot = db_->GetSnapshot();
  ASSERT_NO_FATAL_FAILURE(PutAll(&model));
  ASSERT_NO_FATAL_FAILURE(DeleteEvenKeys(&model));
  ASSERT_NO_FATAL_FAILURE(CompactAll());

  // Kept: every old version (the snapshot sees them) and the live new ones. (The new
  // versions of deleted keys may stay too: the deletion is newer than the snapshot.)
  uint64_t bytes = DiskBytes();
  EXPECT_GE(bytes, (kKeys + kKeys / 2) * kValueSize) << "versions the snapshot sees are gone";
  ReadOptions at_snapshot;
  at_snapshot.snapshot = snapshot;
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), old_model, snapshot, "snapshot"));
  std::string value;
  for (int i = 0; i < kKeys; i += 7) {
    ASSERT_TRUE(db_->Get(at_snapshot, NumberedKey(i), &value).ok()) << i;
    EXPECT_EQ(old_model[NumberedKey(i)], value) << i;
  }
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "latest"));

  db_->ReleaseSnapshot(snapshot);
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_NO_FATAL_FAILURE(ExpectDiskHolds(kKeys / 2, "after release and full compaction"));
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "after release"));
}

// Once a value is the version every reader sees and nothing below can hold its key, its
// sequence number orders nothing: compaction into the bottom level stores it as 0 (so
// the key trailers compress away). Versions a snapshot still needs keep theirs, and
// newer writes still win over a 0.
TEST_P(CompactionGarbageTest, BottomLevelValuesEveryReaderSeesGetSequenceZero) {
  ASSERT_NO_FATAL_FAILURE(Open(64 << 10));
  Model old_model;
  ASSERT_NO_FATAL_FAILURE(PutAll(&old_model));
  const Snapshot* snapshot = db_->GetSnapshot();
  Model model = old_model;
  for (int i = 0; i < kKeys; i += 2) {
    std::string value = RandomBytes(rng_, kValueSize);
    ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), value).ok());
    model[NumberedKey(i)] = value;
  }
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());

  // Returns each user key's sequences, newest first, over the whole tree (which full
  // compaction left in one level).
  auto sequences_by_key = [&] {
    std::map<std::string, std::vector<SequenceNumber>> by_key;
    TreeShape shape;
    EXPECT_TRUE(ReadTreeShape(location_.env(), location_.path(), &shape).ok());
    int levels_used = 0;
    for (const auto& level : shape.levels) {
      levels_used += !level.empty();
      for (const auto& [number, f] : level) {
        for (const auto& [key, sequence] :
             TableEntries(location_.env(), location_.path(), number, f.file_size)) {
          by_key[key].push_back(sequence);
        }
      }
    }
    EXPECT_EQ(1, levels_used) << shape.Describe();
    return by_key;
  };
  auto by_key = sequences_by_key();
  ASSERT_EQ(static_cast<size_t>(kKeys), by_key.size());
  for (int i = 0; i < kKeys; i++) {
    const std::vector<SequenceNumber>& sequences = by_key[NumberedKey(i)];
    if (i % 2 == 1) {
      EXPECT_EQ(std::vector<SequenceNumber>{0}, sequences) << NumberedKey(i);
    } else {
      // The overwrite is newer than the snapshot: only the latest view sees it. The
      // version it replaced is the one every reader (the snapshot too) sees.
      ASSERT_EQ(2u, sequences.size()) << NumberedKey(i);
      EXPECT_GT(sequences[0], 0u) << NumberedKey(i);
      EXPECT_EQ(0u, sequences[1]) << NumberedKey(i);
    }
  }
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), old_model, snapshot, "snapshot"));
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "latest"));

  db_->ReleaseSnapshot(snapshot);
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  by_key = sequences_by_key();
  for (const auto& [key, sequences] : by_key) {
    EXPECT_EQ(std::vector<SequenceNumber>{0}, sequences) << key;
  }
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "after release"));

  // A new write (sequence > 0) hides the zeroed version, in memory and after compaction.
  ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(1), "new").ok());
  model[NumberedKey(1)] = "new";
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "overwrite in memtable"));
  ASSERT_NO_FATAL_FAILURE(CompactAll());
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db_.get(), model, nullptr, "overwrite compacted"));
  std::string value;
  ASSERT_TRUE(db_->Get(ReadOptions(), NumberedKey(1), &value).ok());
  EXPECT_EQ("new", value);
}

// Flushes write level-0 tables uncompressed unless compress_level0 asks otherwise;
// compaction compresses what it writes below level 0 either way.
TEST_P(CompactionGarbageTest, LevelZeroTablesAreCompressedOnlyWhenAsked) {
  for (bool compress_level0 : {false, true}) {
    SCOPED_TRACE(compress_level0 ? "compress_level0" : "default");
    db_.reset();
    Options destroy;
    destroy.env = location_.env();
    ASSERT_TRUE(DestroyDB(location_.path(), destroy).ok());
    // Never idle: an idle store would compact the level-0 table away (and DiskBytes,
    // waiting, makes it idle).
    ASSERT_NO_FATAL_FAILURE(Open(16 << 20, compress_level0, /*settle_after_idle_millis=*/0));
    const std::string value(kValueSize, 'v');  // compresses to almost nothing
    for (int i = 0; i < kKeys; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), value).ok());
    }
    ASSERT_TRUE(db_->Flush().ok());
    uint64_t level0_bytes = DiskBytes();
    TreeShape shape;
    ASSERT_TRUE(ReadTreeShape(location_.env(), location_.path(), &shape).ok());
    ASSERT_EQ(1u, shape.levels[0].size()) << shape.Describe();
    if (compress_level0) {
      EXPECT_LT(level0_bytes, kKeys * kValueSize / 4);
    } else {
      EXPECT_GE(level0_bytes, kKeys * kValueSize);
    }
    ASSERT_NO_FATAL_FAILURE(CompactAll());
    EXPECT_LT(DiskBytes(), kKeys * kValueSize / 4) << "compaction output is not compressed";
    std::string read;
    ASSERT_TRUE(db_->Get(ReadOptions(), NumberedKey(7), &read).ok());
    EXPECT_EQ(value, read);
  }
}

// A lone level-0 table with nothing below it could move down as is, but it was
// flushed uncompressed: the compaction that takes it down rewrites it compressed, or a
// store that fits in one memtable would stay uncompressed at every level for good.
TEST_P(CompactionGarbageTest, UncompressedLevelZeroTableIsRewrittenNotMovedDown) {
  ASSERT_NO_FATAL_FAILURE(Open(16 << 20));
  const std::string value(kValueSize, 'v');  // compresses to almost nothing
  for (int i = 0; i < kKeys; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), value).ok());
  }
  ASSERT_TRUE(db_->Flush().ok());  // uncompressed (LevelZeroTablesAreCompressedOnlyWhenAsked)
  // Waiting makes the store idle: it compacts level 0 down (not a manual compaction,
  // which never moves tables as they are).
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  TreeShape shape;
  ASSERT_TRUE(ReadTreeShape(location_.env(), location_.path(), &shape).ok());
  ASSERT_TRUE(shape.levels[0].empty()) << shape.Describe();
  EXPECT_LT(DiskBytes(), kKeys * kValueSize / 4)
      << "the level-0 table moved down uncompressed: " << shape.Describe();
  Statistics statistics;
  db_->GetStatistics(&statistics);
  EXPECT_EQ(0u, statistics.trivial_moves);
  std::string read;
  ASSERT_TRUE(db_->Get(ReadOptions(), NumberedKey(7), &read).ok());
  EXPECT_EQ(value, read);
}

INSTANTIATE_TEST_SUITE_P(Envs, CompactionGarbageTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMemory), EnvName);

// ---------------------------------------------------------------------------
// Lifetime of compacted tables.

class CompactionLifetimeTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  CompactionLifetimeTest() : location_(GetParam()) {}
  StoreLocation location_;
};

// An iterator opened before a full compaction reads its whole view afterwards: the
// tables compaction replaced stay on disk while it lives, and go at the next cleanup
// (a flush) after it is destroyed.
TEST_P(CompactionLifetimeTest, IteratorKeepsReplacedTablesUntilDestroyed) {
  Env* env = location_.env();
  Options options = SmallTreeOptions(env);
  options.level0_compaction_trigger = 4;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, location_.path(), &db).ok());
  std::mt19937 rng(3);
  Model old_model;
  for (int i = 0; i < 1000; i++) {
    std::string value = RandomBytes(rng, 100);
    ASSERT_TRUE(db->Put(WriteOptions(), NumberedKey(i), value).ok());
    old_model[NumberedKey(i)] = value;
  }
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());
  std::map<uint64_t, uint64_t> before = TableFilesOnDisk(env, location_.path());

  std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
  Model model = old_model;
  for (int i = 0; i < 1000; i++) {
    if (i % 3 == 0) {
      ASSERT_TRUE(db->Delete(WriteOptions(), NumberedKey(i)).ok());
      model.erase(NumberedKey(i));
    } else {
      std::string value = RandomBytes(rng, 100);
      ASSERT_TRUE(db->Put(WriteOptions(), NumberedKey(i), value).ok());
      model[NumberedKey(i)] = value;
    }
  }
  ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());

  TreeShape shape;
  ASSERT_TRUE(ReadTreeShape(env, location_.path(), &shape).ok());
  std::map<uint64_t, uint64_t> live = shape.AllFiles();
  std::vector<uint64_t> replaced;
  for (const auto& [number, size] : before) {
    if (live.count(number) == 0) replaced.push_back(number);
  }
  ASSERT_FALSE(replaced.empty()) << "compaction replaced no table; the test proves nothing";
  for (uint64_t number : replaced) {
    EXPECT_TRUE(env->FileExists(TableFileName(location_.path(), number)))
        << "table " << number << " deleted while an iterator still reads it";
  }

  // The old view, in full, both ways.
  auto expected = old_model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    ASSERT_NE(expected, old_model.end());
    ASSERT_EQ(expected->first, it->key());
    ASSERT_EQ(expected->second, it->value());
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  ASSERT_EQ(expected, old_model.end());
  size_t backwards = 0;
  for (it->SeekToLast(); it->Valid(); it->Prev()) backwards++;
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(old_model.size(), backwards);
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db.get(), model, nullptr, "latest"));

  it.reset();
  ASSERT_TRUE(db->Put(WriteOptions(), "after", "x").ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());
  for (uint64_t number : replaced) {
    EXPECT_FALSE(env->FileExists(TableFileName(location_.path(), number)))
        << "table " << number << " outlived the last iterator that used it";
  }
  ASSERT_TRUE(ReadTreeShape(env, location_.path(), &shape).ok());
  EXPECT_EQ(shape.AllFiles(), TableFilesOnDisk(env, location_.path()));
  model["after"] = "x";
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db.get(), model, nullptr, "after cleanup"));
}

INSTANTIATE_TEST_SUITE_P(Envs, CompactionLifetimeTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMemory), EnvName);

// The files under dir this process holds open, as descriptors (/proc/self/fd) or as
// memory mappings (/proc/self/maps; Options::mmap_reads), each once; the kernel shows a
// deleted one as "<path> (deleted)". Linux only.
std::set<std::string> OpenFilesUnder(const std::string& dir) {
  std::set<std::string> open;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind(dir + "/", 0) == 0) open.insert(target);
  }
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    size_t path = line.find('/');
    if (path != std::string::npos && line.compare(path, dir.size() + 1, dir + "/") == 0) {
      open.insert(line.substr(path));
    }
  }
  return open;
}

// Table files of dir this process holds open.
int OpenTableFiles(const std::string& dir) {
  int open = 0;
  for (const std::string& path : OpenFilesUnder(dir)) {
    if (path.ends_with(".sst")) open++;
  }
  return open;
}

// Flushes and compactions open each table they write once, to check it reads back, and
// close it again: a table is kept open (with its index and filter in memory) only once
// something reads it.
TEST(CompactionLifetimeTest, NewTablesStayClosedUntilRead) {
  // strata targets Linux: open files are counted in /proc/self/fd (a failure, not a skip).
  ASSERT_TRUE(std::filesystem::exists("/proc/self/fd")) << "needs /proc/self/fd";
  test::TempDir dir("strata-closed-tables");
  Options options = SmallTreeOptions(Env::Default());
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, dir.Join("db"), &db).ok());
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; i++) {
    ASSERT_TRUE(db->Put(WriteOptions(), NumberedKey(i % 700), RandomBytes(rng, 100)).ok());
  }
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());
  ASSERT_GE(TableFilesOnDisk(Env::Default(), dir.Join("db")).size(), 2u);
  EXPECT_EQ(0, OpenTableFiles(dir.Join("db")));
  std::string value;
  ASSERT_TRUE(db->Get(ReadOptions(), NumberedKey(3), &value).ok());
  EXPECT_GE(OpenTableFiles(dir.Join("db")), 1);
}

// An idle store settles: after settle_after_idle_millis without a write, or at once
// for a caller of WaitForBackgroundWork, it flushes its memtable and compacts level 0
// below its trigger. With the delay at 0 neither happens.
class IdleSettleTest : public ::testing::Test {
 protected:
  // 50 keys in the memtable, and with `flush` in one level-0 table (below the trigger).
  void OpenWithOneLevel0Table(uint32_t idle_millis, bool flush = true) {
    Options options = SmallTreeOptions(env_.get());
    options.level0_compaction_trigger = 4;
    options.settle_after_idle_millis = idle_millis;
    ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
    // The background threads go to sleep with nothing due: the writes below must wake
    // them for the idle timer to start.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int i = 0; i < 50; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), "value" + std::to_string(i)).ok());
    }
    if (flush) {
      ASSERT_TRUE(db_->Flush().ok());
    }
  }
  Statistics Stats() {
    Statistics stats;
    db_->GetStatistics(&stats);
    return stats;
  }
  int Level0Files() { return Stats().levels[0].files; }
  void ExpectAllKeys() {
    for (int i = 0; i < 50; i++) {
      std::string value;
      ASSERT_TRUE(db_->Get(ReadOptions(), NumberedKey(i), &value).ok());
      EXPECT_EQ(value, "value" + std::to_string(i));
    }
  }

  std::unique_ptr<Env> env_ = NewMemEnv();
  std::unique_ptr<DB> db_;
};

TEST_F(IdleSettleTest, AnIdleStoreCompactsLevel0BelowTheTrigger) {
  ASSERT_NO_FATAL_FAILURE(OpenWithOneLevel0Table(50));
  // Well past the delay; polled, so a slow machine only makes the test slower.
  for (int i = 0; i < 200 && Level0Files() > 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Level0Files(), 0);
  ExpectAllKeys();
}

TEST_F(IdleSettleTest, WaitingForBackgroundWorkCompactsLevel0AtOnce) {
  ASSERT_NO_FATAL_FAILURE(OpenWithOneLevel0Table(3600 * 1000));  // the timer never fires
  ASSERT_EQ(Level0Files(), 1);
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  EXPECT_EQ(Level0Files(), 0);
  ExpectAllKeys();
}

TEST_F(IdleSettleTest, AnIdleStoreFlushesItsMemtable) {
  ASSERT_NO_FATAL_FAILURE(OpenWithOneLevel0Table(50, /*flush=*/false));
  for (int i = 0; i < 200 && (Stats().flushes == 0 || Level0Files() > 0); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const Statistics stats = Stats();
  EXPECT_EQ(stats.flushes, 1u);
  EXPECT_EQ(stats.levels[0].files, 0);
  EXPECT_GE(stats.levels[1].files, 1);
  ExpectAllKeys();
  EXPECT_EQ(Stats().memtable_hits, 0u);  // every key came from a table
}

TEST_F(IdleSettleTest, WaitingForBackgroundWorkFlushesTheMemtableAtOnce) {
  ASSERT_NO_FATAL_FAILURE(OpenWithOneLevel0Table(3600 * 1000, /*flush=*/false));
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  EXPECT_EQ(Stats().flushes, 1u);
  EXPECT_EQ(Level0Files(), 0);
  ExpectAllKeys();
  EXPECT_EQ(Stats().memtable_hits, 0u);
}

// Writers that arrive while the background thread holds the writer slot for an idle
// flush queue behind it and lose nothing.
TEST_F(IdleSettleTest, WritesDuringIdleFlushesAllLand) {
  ASSERT_NO_FATAL_FAILURE(OpenWithOneLevel0Table(1, /*flush=*/false));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 50; i < 2000; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), "value" + std::to_string(i)).ok());
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    stop = true;
  });
  while (!stop) ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  writer.join();
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  EXPECT_GT(Stats().flushes, 1u);
  for (int i = 0; i < 2000; i++) {
    std::string value;
    ASSERT_TRUE(db_->Get(ReadOptions(), NumberedKey(i), &value).ok()) << i;
    EXPECT_EQ(value, "value" + std::to_string(i));
  }
}

// Settling must not turn a trickle of writes into rewrites of level 1: a memtable of a
// few writes stays unflushed, and a small level-0 table stays above a large level 1.
TEST_F(IdleSettleTest, ATrickleOfWritesIsLeftWhereItIs) {
  Options options;
  options.env = env_.get();
  options.create_if_missing = true;
  options.write_buffer_size = 256 << 10;
  options.settle_after_idle_millis = 3600 * 1000;  // only the waits below settle
  ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; i++) {
    ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), RandomBytes(rng, 100)).ok());
  }
  // A big burst, settled: into level 1, but for the burst's last memtable if that was
  // small next to level 1.
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  const int level0_after_burst = Level0Files();
  ASSERT_LE(level0_after_burst, 1);
  ASSERT_GT(Stats().levels[1].bytes, 1u << 20);
  const uint64_t flushes = Stats().flushes;

  ASSERT_TRUE(db_->Put(WriteOptions(), "trickle", "1").ok());
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  EXPECT_EQ(Stats().flushes, flushes);  // the memtable keeps the one write

  ASSERT_TRUE(db_->Flush().ok());  // a tiny level-0 table
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  EXPECT_EQ(Level0Files(), level0_after_burst + 1);
  std::string value;
  ASSERT_TRUE(db_->Get(ReadOptions(), "trickle", &value).ok());
  EXPECT_EQ(value, "1");
}

TEST_F(IdleSettleTest, WithTheDelayAtZeroLevel0StaysBelowTheTrigger) {
  ASSERT_NO_FATAL_FAILURE(OpenWithOneLevel0Table(0));
  ASSERT_TRUE(db_->Put(WriteOptions(), "in the memtable", "v").ok());
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Level0Files(), 1);
  EXPECT_EQ(Stats().flushes, 1u);  // the test's own Flush only
  ExpectAllKeys();
}

// An idle level holding at least kIdleDrainFullness / multiplier of the next level's
// bytes (a quarter here) drains into it, so that reads merge one sorted run fewer; a
// smaller one stays.
class IdleDrainTest : public ::testing::Test {
 protected:
  // The deepest level holds `deep_keys` keys (the even ones), level 1 `upper_keys` of
  // the odd ones in between, every value 100 random bytes, level 1 in several tables.
  // The levels between are empty, so a drain also crosses them.
  // The store is then open with only WaitForBackgroundWork to make it idle.
  void OpenWithTwoRuns(int deep_keys, int upper_keys) {
    std::mt19937 rng(11);
    Options options = SmallTreeOptions(env_.get());
    options.max_bytes_for_level_multiplier = kMultiplier;
    options.settle_after_idle_millis = 0;
    options.max_bytes_for_level_base = 1;  // everything moves down to the deepest level
    ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
    for (int i = 0; i < deep_keys; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(2 * i), RandomBytes(rng, 100)).ok());
    }
    ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
    db_.reset();

    options.max_bytes_for_level_base = 1 << 30;  // level 1 keeps what it gets
    options.level0_compaction_trigger = 1;       // and level 0 keeps nothing
    ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
    for (int i = 0; i < upper_keys; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(2 * i + 1), RandomBytes(rng, 100)).ok());
    }
    ASSERT_TRUE(db_->Flush().ok());
    ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
    db_.reset();

    options.settle_after_idle_millis = 3600 * 1000;  // idle only for a waiting caller
    ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
    const Statistics stats = Stats();
    ASSERT_EQ(stats.levels[0].files, 0);
    ASSERT_GE(stats.levels[1].files, 4);
    deep_level_ = DeepestLevel(stats);
    ASSERT_GE(deep_level_, 2);
    for (int level = 2; level < deep_level_; level++) {
      ASSERT_EQ(stats.levels[level].files, 0);
    }
    model_keys_ = deep_keys + upper_keys;
  }
  Statistics Stats() {
    Statistics stats;
    db_->GetStatistics(&stats);
    return stats;
  }
  static int DeepestLevel(const Statistics& stats) {
    int deepest = -1;
    for (int level = 0; level < kStatisticsLevels; level++) {
      if (stats.levels[level].files > 0) deepest = level;
    }
    return deepest;
  }
  void ExpectEveryKeyOnce() {
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    int count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) count++;
    ASSERT_TRUE(it->status().ok());
    EXPECT_EQ(count, model_keys_);
  }

  // Whether level 1's bytes reach the drain's bound against the deepest level's.
  bool AtDrainBound(const Statistics& stats) const {
    return static_cast<double>(stats.levels[1].bytes) * kMultiplier >=
           VersionSet::kIdleDrainFullness * static_cast<double>(stats.levels[deep_level_].bytes);
  }

  static constexpr int kMultiplier = 10;
  std::unique_ptr<Env> env_ = NewMemEnv();
  std::unique_ptr<DB> db_;
  int deep_level_ = -1;
  int model_keys_ = 0;
};

// Level 1 starts at the bound, but moving half of it would bring it below: draining it
// whole needs the drain to go on once begun.
TEST_F(IdleDrainTest, AnIdleLevelOfAQuarterOfTheNextDrainsWhole) {
  ASSERT_NO_FATAL_FAILURE(OpenWithTwoRuns(2000, 700));
  const Statistics before = Stats();
  ASSERT_TRUE(AtDrainBound(before));
  Statistics half_moved = before;
  half_moved.levels[1].bytes /= 2;
  half_moved.levels[deep_level_].bytes += before.levels[1].bytes / 2;
  ASSERT_FALSE(AtDrainBound(half_moved));

  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  const Statistics after = Stats();
  for (int level = 0; level < deep_level_; level++) EXPECT_EQ(after.levels[level].files, 0);
  EXPECT_GT(after.compactions, before.compactions);
  ExpectEveryKeyOnce();
}

TEST_F(IdleDrainTest, ASmallLevelStaysAboveALargeOne) {
  ASSERT_NO_FATAL_FAILURE(OpenWithTwoRuns(4000, 500));
  const Statistics before = Stats();
  ASSERT_FALSE(AtDrainBound(before));

  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  const Statistics after = Stats();
  EXPECT_EQ(after.levels[1].files, before.levels[1].files);
  EXPECT_EQ(after.compactions, before.compactions);
  ExpectEveryKeyOnce();
}

// Gets pin the level-0 tables they read (TablePin): once a compaction has moved the
// data out of level 0 and no Version names those tables, their files must be closed
// and gone, and gets keep answering from the compaction's output.
TEST(CompactionLifetimeTest, PinnedLevel0TablesCloseWhenCompactedAway) {
  ASSERT_TRUE(std::filesystem::exists("/proc/self/fd")) << "needs /proc/self/fd";
  test::TempDir dir("strata-pinned-tables");
  Options options = SmallTreeOptions(Env::Default());
  options.level0_compaction_trigger = 100;  // level 0 stays until CompactRange
  options.settle_after_idle_millis = 0;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, dir.Join("db"), &db).ok());
  std::mt19937 rng(7);
  std::map<std::string, std::string> model;
  for (int table = 0; table < 3; table++) {
    for (int i = 0; i < 200; i++) {
      std::string key = NumberedKey(rng() % 500), value = RandomBytes(rng, 50);
      ASSERT_TRUE(db->Put(WriteOptions(), key, value).ok());
      model[key] = value;
    }
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());
  Statistics stats;
  db->GetStatistics(&stats);
  ASSERT_GE(stats.levels[0].files, 3);
  // Every key, twice: the second round goes through the pins.
  for (int round = 0; round < 2; round++) {
    for (const auto& [key, expected] : model) {
      std::string value;
      ASSERT_TRUE(db->Get(ReadOptions(), key, &value).ok()) << key;
      ASSERT_EQ(expected, value) << key;
    }
  }
  EXPECT_GE(OpenTableFiles(dir.Join("db")), 3);

  ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
  ASSERT_TRUE(db->WaitForBackgroundWork().ok());
  db->GetStatistics(&stats);
  EXPECT_EQ(0, stats.levels[0].files);
  // No descriptor or mapping of a deleted table is left open.
  int deleted_but_open = 0;
  for (const std::string& path : OpenFilesUnder(dir.Join("db"))) {
    if (path.ends_with(".sst (deleted)")) deleted_but_open++;
  }
  EXPECT_EQ(0, deleted_but_open);
  for (const auto& [key, expected] : model) {
    std::string value;
    ASSERT_TRUE(db->Get(ReadOptions(), key, &value).ok()) << key;
    ASSERT_EQ(expected, value) << key;
  }
}

// ---------------------------------------------------------------------------
// Backpressure.

// Delegates to another Env, but every sync of a table file takes `table_sync_delay`:
// compactions (many output tables) fall behind flushes (one table each), so level 0
// fills up. And once armed (DelayNextLogCreation), the next creation of a log file
// takes a given time, during which creating_log() is true.
class SlowFileEnv final : public Env {
 public:
  SlowFileEnv(Env* base, std::chrono::microseconds table_sync_delay)
      : base_(base), delay_(table_sync_delay) {}

  void DelayNextLogCreation(std::chrono::microseconds delay) { log_creation_delay_ = delay; }
  bool creating_log() const { return creating_log_; }

  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    return base_->NewSequentialFile(path, result);
  }
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    return base_->NewRandomAccessFile(path, result);
  }
  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* result) override {
    const std::chrono::microseconds log_delay = log_creation_delay_.exchange({});
    if (path.ends_with(".log") && log_delay.count() > 0) {
      creating_log_ = true;
      std::this_thread::sleep_for(log_delay);
      creating_log_ = false;
    } else if (log_delay.count() > 0) {
      log_creation_delay_ = log_delay;  // not a log: stays armed
    }
    std::unique_ptr<WritableFile> file;
    Status s = base_->NewWritableFile(path, &file);
    if (!s.ok()) return s;
    bool is_table = path.size() > 4 && path.compare(path.size() - 4, 4, ".sst") == 0;
    if (is_table) {
      *result = std::make_unique<SlowSyncFile>(std::move(file), delay_);
    } else {
      *result = std::move(file);
    }
    return s;
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

 private:
  class SlowSyncFile final : public WritableFile {
   public:
    SlowSyncFile(std::unique_ptr<WritableFile> base, std::chrono::microseconds delay)
        : base_(std::move(base)), delay_(delay) {}
    Status Append(std::string_view data) override { return base_->Append(data); }
    Status Flush() override { return base_->Flush(); }
    Status Sync() override {
      std::this_thread::sleep_for(delay_);
      return base_->Sync();
    }
    Status Close() override { return base_->Close(); }

   private:
    std::unique_ptr<WritableFile> base_;
    const std::chrono::microseconds delay_;
  };

  Env* const base_;
  const std::chrono::microseconds delay_;
  std::atomic<std::chrono::microseconds> log_creation_delay_{};
  std::atomic<bool> creating_log_{false};
};

// WaitForBackgroundWork returns only after an idle flush that has begun: its memtable
// switch releases the DB's mutex while it creates the new log, and a waiter that came in
// then saw no flush or compaction running, no immutable memtable, and no idle flush due
// (the switch held the writer slot), and returned with the memtable unflushed.
TEST_F(IdleSettleTest, WaitingDuringAnIdleMemtableSwitchWaitsForItsFlush) {
  SlowFileEnv slow_env(env_.get(), std::chrono::microseconds(0));
  struct CloseFirst {  // the store goes before the Env it uses, also on a failed ASSERT
    std::unique_ptr<DB>& db;
    ~CloseFirst() { db.reset(); }
  } close_first{db_};
  Options options = SmallTreeOptions(&slow_env);
  options.settle_after_idle_millis = 20;
  ASSERT_TRUE(DB::Open(options, "/db", &db_).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // background threads asleep
  slow_env.DelayNextLogCreation(std::chrono::milliseconds(300));
  for (int i = 0; i < 50; i++) {  // enough to be worth an idle flush
    ASSERT_TRUE(db_->Put(WriteOptions(), NumberedKey(i), "value" + std::to_string(i)).ok());
  }
  // The idle timer fires 20 ms later and the switch then spends 300 ms creating the log.
  for (int i = 0; i < 500 && !slow_env.creating_log(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(slow_env.creating_log()) << "the idle flush did not start";
  ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
  EXPECT_FALSE(slow_env.creating_log());
  EXPECT_EQ(Stats().flushes, 1u) << "WaitForBackgroundWork returned before the idle flush";
  ExpectAllKeys();
  EXPECT_EQ(Stats().memtable_hits, 0u);
}

// Runs body on its own thread and waits up to `limit` for it. If it is still running
// then (a deadlock or livelock), calls unblock (e.g. closing the store, which makes
// waiting writers return an error) and returns false; if even that does not end it
// within another 30 s, aborts rather than hang the suite until ctest's timeout.
bool FinishesWithin(std::chrono::seconds limit, const std::function<void()>& body,
                    const std::function<void()>& unblock) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread runner([&] {
    body();
    std::lock_guard<std::mutex> guard(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  bool in_time = cv.wait_for(lock, limit, [&] { return done; });
  if (!in_time) {
    lock.unlock();
    unblock();
    lock.lock();
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) {
      std::fprintf(stderr, "still stuck 30 s after unblocking; aborting\n");
      std::abort();
    }
  }
  lock.unlock();
  runner.join();
  return in_time;
}

std::string WriterKey(int writer, int n) {
  std::string key(1, static_cast<char>('a' + writer));
  key += NumberedKey(n);
  return key;
}

// Many writers against tiny memtables while compaction lags: every write completes
// (no deadlock between stopped writers and background work), level 0 stays bounded by
// the stop trigger in every Version the MANIFEST recorded, and nothing is lost.
TEST(CompactionBackpressureTest, WritesCompleteAndLevelZeroStaysBoundedWhileCompactionLags) {
  std::unique_ptr<Env> mem_env = NewMemEnv();
  SlowFileEnv env(mem_env.get(), std::chrono::milliseconds(1));
  Options options;
  options.env = &env;
  options.create_if_missing = true;
  options.compression = false;
  options.block_size = 256;
  options.write_buffer_size = 8 << 10;
  options.target_file_size = 4 << 10;
  options.max_bytes_for_level_base = 16 << 10;
  options.max_bytes_for_level_multiplier = 4;
  options.level0_compaction_trigger = 2;
  options.level0_slowdown_writes_trigger = 3;
  options.level0_stop_writes_trigger = 5;
  options.background_threads = 2;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, "/backpressure", &db).ok());

  constexpr int kWriters = 4;
  constexpr int kBatches = 200;
  std::vector<Model> models(kWriters);
  std::atomic<int> failures{0};
  bool in_time = FinishesWithin(
      std::chrono::seconds(60),
      [&] {
        std::vector<std::thread> writers;
        for (int t = 0; t < kWriters; t++) {
          writers.emplace_back([&, t] {
            std::mt19937 rng(t);
            for (int i = 0; i < kBatches; i++) {
              WriteBatch batch;
              for (int j = 0; j < 4; j++) {
                std::string key = WriterKey(t, static_cast<int>(rng() % 400));
                std::string value = RandomBytes(rng, 200);
                batch.Put(key, value);
                models[t][key] = value;
              }
              if (!db->Write(WriteOptions(), &batch).ok()) failures++;
            }
          });
        }
        for (std::thread& w : writers) w.join();
        if (!db->WaitForBackgroundWork().ok()) failures++;
      },
      [&] { db->Close(); });
  ASSERT_TRUE(in_time) << "writers stuck: deadlock between stopped writers and compaction";
  ASSERT_EQ(0, failures.load());

  Model model;
  for (const Model& m : models) model.insert(m.begin(), m.end());
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db.get(), model, nullptr, "after the writers"));
  Statistics stats;
  db->GetStatistics(&stats);
  EXPECT_GT(stats.stall_micros, 0u) << "stalls are not counted";
  EXPECT_GT(stats.slowdowns + stats.stops, 0u) << "stalls are not counted";
  ASSERT_TRUE(db->Close().ok());

  TreeShape shape;
  Status s = ReadTreeShape(&env, "/backpressure", &shape);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // The workload must really have pushed level 0 into the slowdown zone...
  EXPECT_GE(shape.max_level0_files, options.level0_slowdown_writes_trigger)
      << "compaction never fell behind; the test proves nothing";
  // ...and writers must have stopped before it grew past the stop trigger (one more
  // table may land from a flush that was already running).
  EXPECT_LE(shape.max_level0_files, options.level0_stop_writes_trigger + 1);
  std::printf("most level-0 tables at once: %d (slowdown %d, stop %d)\n", shape.max_level0_files,
              options.level0_slowdown_writes_trigger, options.level0_stop_writes_trigger);

  ASSERT_TRUE(DB::Open(options, "/backpressure", &db).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectScanMatches(db.get(), model, nullptr, "after reopen"));
}

// A memtable's arena takes a whole block before the first write, so a write buffer
// smaller than that is "full" while still empty. Writes must still go in (one or a few
// per memtable) rather than switch to a fresh, equally "full" memtable forever.
TEST(CompactionBackpressureTest, WriteBufferSmallerThanAnEmptyMemtableStillAcceptsWrites) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  options.write_buffer_size = 1024;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options, "/tiny-buffer", &db).ok());
  std::atomic<int> written{0};
  bool in_time = FinishesWithin(
      std::chrono::seconds(10),
      [&] {
        for (int i = 0; i < 50; i++) {
          if (!db->Put(WriteOptions(), NumberedKey(i), std::string(300, 'v')).ok()) return;
          written++;
        }
      },
      [&] { db->Close(); });
  ASSERT_TRUE(in_time) << "writes livelocked after " << written.load() << " of 50 puts";
  ASSERT_EQ(50, written.load());
  std::string value;
  for (int i = 0; i < 50; i++) {
    ASSERT_TRUE(db->Get(ReadOptions(), NumberedKey(i), &value).ok()) << i;
  }
}

}  // namespace
}  // namespace strata
