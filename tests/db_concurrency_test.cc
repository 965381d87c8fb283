// Writers, readers, snapshot readers, iterators and compactions on one store at the same
// time, with tiny memtables and levels so flushes and compactions run throughout.
//
// Every value names its key and the version (a per-writer counter) of the write that
// produced it, padded with bytes derived from both, so a reader can tell a value some
// write really produced from garbage or a value moved to the wrong key. Checked while
// running: values are well formed and no newer than the writer has issued; one thread's
// successive reads of a key never go back to an older version; a group of keys written
// by one batch is seen all-or-nothing with one version; reads at a snapshot repeat
// exactly. Checked afterwards: the store holds exactly the writers' last writes, before
// and after reopen.
//
// STRATA_CONCURRENCY_SECONDS=s runs each configuration for s seconds (default 2).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "strata/db.h"
#include "strata/env.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

constexpr int kWriters = 3;
constexpr int kGroups = 16;    // per writer
constexpr int kGroupSize = 6;  // keys written together by one batch
constexpr int kSingles = 150;  // per writer, written one at a time or in mixed batches

std::string GroupPrefix(int writer, int group) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "w%d/g%02d/", writer, group);
  return buffer;
}
std::string GroupKey(int writer, int group, int i) {
  return GroupPrefix(writer, group) + std::to_string(i);
}
std::string SingleKey(int writer, int n) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "w%d/s%03d", writer, n);
  return buffer;
}
// The writer that owns key ("w<digit>/..."), or -1.
int OwnerOf(std::string_view key) {
  if (key.size() < 3 || key[0] != 'w' || key[2] != '/') return -1;
  int writer = key[1] - '0';
  return writer >= 0 && writer < kWriters ? writer : -1;
}

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string Filler(std::string_view key, uint64_t version) {
  uint64_t h = Mix(std::hash<std::string_view>{}(key) ^ Mix(version));
  std::string filler(10 + h % 140, '\0');
  for (char& c : filler) {
    h = Mix(h);
    c = static_cast<char>('a' + h % 26);
  }
  return filler;
}

// "<key>|<version>|<filler(key, version)>"
std::string MakeValue(std::string_view key, uint64_t version) {
  std::string value(key);
  value += '|';
  value += std::to_string(version);
  value += '|';
  value += Filler(key, version);
  return value;
}

// True if value is MakeValue(key, v) for some v, which is stored in *version.
bool ParseValue(std::string_view key, std::string_view value, uint64_t* version) {
  if (value.size() < key.size() + 2 || value.substr(0, key.size()) != key ||
      value[key.size()] != '|') {
    return false;
  }
  std::string_view rest = value.substr(key.size() + 1);
  size_t bar = rest.find('|');
  if (bar == std::string_view::npos || bar == 0 || bar > 19) return false;
  uint64_t v = 0;
  for (char c : rest.substr(0, bar)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (rest.substr(bar + 1) != Filler(key, v)) return false;
  *version = v;
  return true;
}

double RunSeconds() {
  const char* env = std::getenv("STRATA_CONCURRENCY_SECONDS");
  return env != nullptr ? std::atof(env) : 2.0;
}

enum class EnvKind { kPosix, kMemory };

class DbConcurrencyTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  struct WriterState {
    // The last version handed out; set before the write that carries it, so any version
    // a reader sees is <= issued.
    std::atomic<uint64_t> issued{0};
    // The writer's own record of its last write per key (nullopt = deleted); read by
    // others only after the writer has been joined.
    std::map<std::string, std::optional<std::string>> last;
  };

  void SetUp() override {
    if (GetParam() == EnvKind::kMemory) {
      mem_env_ = NewMemEnv();
      env_ = mem_env_.get();
      path_ = "/concurrency";
    } else {
      temp_dir_ = std::make_unique<test::TempDir>("strata-concurrency");
      env_ = Env::Default();
      path_ = temp_dir_->Join("db");
    }
    options_.env = env_;
    options_.create_if_missing = true;
    options_.write_buffer_size = 16 << 10;
    options_.block_size = 512;
    options_.target_file_size = 8 << 10;
    options_.max_bytes_for_level_base = 32 << 10;
    options_.max_bytes_for_level_multiplier = 4;
    options_.level0_compaction_trigger = 2;
    options_.level0_slowdown_writes_trigger = 4;
    options_.level0_stop_writes_trigger = 8;
    options_.background_threads = 2;
    ASSERT_TRUE(DB::Open(options_, path_, &db_).ok());
  }

  // Records a violation seen on any thread; reported by the main thread.
  void Violation(const std::string& message) {
    std::lock_guard<std::mutex> guard(violations_mu_);
    violation_count_++;
    if (violations_.size() < 10) violations_.push_back(message);
  }

  // Checks a value read for key (by thread-local `seen`, the newest version this thread
  // has read per key; null for reads at an old snapshot).
  void CheckValue(std::string_view key, std::string_view value,
                  std::map<std::string, uint64_t, std::less<>>* seen, const char* how) {
    int owner = OwnerOf(key);
    uint64_t version;
    if (owner < 0) {
      Violation(std::string(how) + ": key no writer wrote: '" + std::string(key) + "'");
      return;
    }
    if (!ParseValue(key, value, &version)) {
      Violation(std::string(how) + ": malformed value for '" + std::string(key) + "': '" +
                std::string(value.substr(0, 60)) + "'");
      return;
    }
    uint64_t issued = writers_[owner].issued.load(std::memory_order_acquire);
    if (version > issued) {
      Violation(std::string(how) + ": '" + std::string(key) + "' has version " +
                std::to_string(version) + " but its writer issued only " + std::to_string(issued));
    }
    if (seen == nullptr) return;
    auto it = seen->find(key);
    if (it == seen->end()) {
      seen->emplace(std::string(key), version);
    } else if (version < it->second) {
      Violation(std::string(how) + ": '" + std::string(key) + "' went back from version " +
                std::to_string(it->second) + " to " + std::to_string(version));
    } else {
      it->second = version;
    }
  }

  void WriterMain(int t) {
    WriterState& state = writers_[t];
    std::mt19937 rng(1000 + t);
    auto next_version = [&] {
      uint64_t v = state.issued.load(std::memory_order_relaxed) + 1;
      state.issued.store(v, std::memory_order_release);
      return v;
    };
    auto put = [&](WriteBatch* batch, const std::string& key, uint64_t v) {
      std::string value = MakeValue(key, v);
      batch->Put(key, value);
      state.last[key] = std::move(value);
    };
    auto del = [&](WriteBatch* batch, const std::string& key) {
      batch->Delete(key);
      state.last[key] = std::nullopt;
    };
    while (!stop_.load(std::memory_order_acquire)) {
      int op = static_cast<int>(rng() % 100);
      WriteBatch batch;
      uint64_t v = next_version();
      if (op < 35) {
        // A whole group, plus a few single keys, in one batch.
        int group = static_cast<int>(rng() % kGroups);
        bool erase = rng() % 5 == 0;
        for (int i = 0; i < kGroupSize; i++) {
          if (erase) {
            del(&batch, GroupKey(t, group, i));
          } else {
            put(&batch, GroupKey(t, group, i), v);
          }
        }
        for (int n = static_cast<int>(rng() % 4); n > 0; n--) {
          put(&batch, SingleKey(t, static_cast<int>(rng() % kSingles)), v);
        }
      } else if (op < 90) {
        std::string key = SingleKey(t, static_cast<int>(rng() % kSingles));
        if (op < 75) {
          put(&batch, key, v);
        } else {
          del(&batch, key);
        }
      } else {
        for (int n = 2 + static_cast<int>(rng() % 8); n > 0; n--) {
          std::string key = SingleKey(t, static_cast<int>(rng() % kSingles));
          if (rng() % 4 == 0) {
            del(&batch, key);
          } else {
            put(&batch, key, v);
          }
        }
      }
      Status s = db_->Write(WriteOptions(), &batch);
      if (!s.ok()) {
        Violation("writer " + std::to_string(t) + ": " + s.ToString());
        return;
      }
      writes_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // The keys of group (writer, group) in it, from Seek(prefix): none, or all of them
  // with one version.
  void CheckGroup(Iterator* it, int writer, int group,
                  std::map<std::string, uint64_t, std::less<>>* seen, const char* how) {
    std::string prefix = GroupPrefix(writer, group);
    int count = 0;
    std::optional<uint64_t> group_version;
    for (it->Seek(prefix); it->Valid() && it->key().substr(0, prefix.size()) == prefix;
         it->Next()) {
      count++;
      CheckValue(it->key(), it->value(), seen, how);
      uint64_t version;
      if (!ParseValue(it->key(), it->value(), &version)) continue;
      if (group_version && *group_version != version) {
        Violation(std::string(how) + ": group " + prefix + " mixes versions " +
                  std::to_string(*group_version) + " and " + std::to_string(version));
      }
      group_version = version;
    }
    if (!it->status().ok()) Violation(std::string(how) + ": " + it->status().ToString());
    if (count != 0 && count != kGroupSize) {
      Violation(std::string(how) + ": group " + prefix + " has " + std::to_string(count) +
                " of its " + std::to_string(kGroupSize) + " keys: a batch applied in part");
    }
  }

  void ReaderMain(int r) {
    std::mt19937 rng(2000 + r);
    std::map<std::string, uint64_t, std::less<>> seen;
    std::string value;
    while (!stop_.load(std::memory_order_acquire)) {
      int op = static_cast<int>(rng() % 100);
      int writer = static_cast<int>(rng() % kWriters);
      if (op < 70) {
        std::string key = rng() % 3 == 0 ? GroupKey(writer, static_cast<int>(rng() % kGroups),
                                                    static_cast<int>(rng() % kGroupSize))
                                         : SingleKey(writer, static_cast<int>(rng() % kSingles));
        Status s = db_->Get(ReadOptions(), key, &value);
        if (s.ok()) {
          CheckValue(key, value, &seen, "Get");
        } else if (!s.IsNotFound()) {
          Violation("Get: " + s.ToString());
        }
      } else if (op < 95) {
        std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
        CheckGroup(it.get(), writer, static_cast<int>(rng() % kGroups), &seen, "group scan");
      } else {
        // Everything, in order, both ways.
        std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
        std::string previous;
        size_t forward = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next(), forward++) {
          if (forward > 0 && !(previous < it->key())) {
            Violation("full scan: '" + std::string(it->key()) + "' after '" + previous + "'");
          }
          previous.assign(it->key());
          CheckValue(it->key(), it->value(), &seen, "full scan");
        }
        size_t backward = 0;
        for (it->SeekToLast(); it->Valid(); it->Prev()) backward++;
        if (!it->status().ok()) Violation("full scan: " + it->status().ToString());
        if (forward != backward) {
          Violation("full scan: " + std::to_string(forward) + " keys forward, " +
                    std::to_string(backward) + " backward in one view");
        }
      }
      reads_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Reads a random set of keys and one writer's whole range at a snapshot, lets the
  // store change for a while, and reads them again: the answers must be identical.
  void SnapshotReaderMain() {
    std::mt19937 rng(3000);
    while (!stop_.load(std::memory_order_acquire)) {
      const Snapshot* snapshot = db_->GetSnapshot();
      ReadOptions read;
      read.snapshot = snapshot;
      int writer = static_cast<int>(rng() % kWriters);
      std::vector<std::string> keys;
      for (int i = 0; i < 20; i++) {
        keys.push_back(
            SingleKey(static_cast<int>(rng() % kWriters), static_cast<int>(rng() % kSingles)));
      }
      auto read_all = [&](std::string* out) {
        std::string value;
        for (const std::string& key : keys) {
          Status s = db_->Get(read, key, &value);
          if (s.ok()) {
            CheckValue(key, value, nullptr, "snapshot Get");
            *out += key + "=" + value + "\n";
          } else if (s.IsNotFound()) {
            *out += key + " absent\n";
          } else {
            Violation("snapshot Get: " + s.ToString());
          }
        }
        std::unique_ptr<Iterator> it = db_->NewIterator(read);
        std::string prefix = "w" + std::to_string(writer) + "/";
        for (it->Seek(prefix); it->Valid() && it->key().substr(0, prefix.size()) == prefix;
             it->Next()) {
          CheckValue(it->key(), it->value(), nullptr, "snapshot scan");
          out->append(it->key()).append("=").append(it->value()).append("\n");
        }
        if (!it->status().ok()) Violation("snapshot scan: " + it->status().ToString());
        for (int group = 0; group < kGroups; group++) {
          CheckGroup(it.get(), writer, group, nullptr, "snapshot group scan");
        }
      };
      std::string first, second;
      read_all(&first);
      // Long enough for several flushes and compactions to run meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 100));
      read_all(&second);
      if (first != second) {
        size_t at = 0;
        while (at < first.size() && at < second.size() && first[at] == second[at]) at++;
        size_t line = first.rfind('\n', at);
        line = line == std::string::npos ? 0 : line + 1;
        Violation("snapshot read changed: first '" + first.substr(line, 80) + "' then '" +
                  second.substr(line, 80) + "'");
      }
      db_->ReleaseSnapshot(snapshot);
      snapshot_rounds_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void CompactorMain() {
    std::mt19937 rng(4000);
    while (!stop_.load(std::memory_order_acquire)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
      Status s;
      int op = static_cast<int>(rng() % 10);
      if (op < 3) {
        s = db_->CompactRange(nullptr, nullptr);
      } else if (op < 8) {
        std::string begin = "w" + std::to_string(rng() % kWriters) + "/";
        std::string end = begin + "s" + std::to_string(rng() % 10);
        std::string_view b(begin), e(end);
        s = db_->CompactRange(&b, &e);
      } else {
        s = db_->Flush();
      }
      if (!s.ok()) Violation("compactor: " + s.ToString());
      manual_compactions_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // The writers' last writes, checked by Get of every key and by one full scan.
  void VerifyFinalState(const std::string& when) {
    std::map<std::string, std::string> expected;
    std::vector<std::string> deleted;
    for (const WriterState& w : writers_) {
      for (const auto& [key, value] : w.last) {
        if (value) {
          expected[key] = *value;
        } else {
          deleted.push_back(key);
        }
      }
    }
    std::string value;
    for (const auto& [key, want] : expected) {
      Status s = db_->Get(ReadOptions(), key, &value);
      ASSERT_TRUE(s.ok()) << when << ": '" << key << "': " << s.ToString();
      ASSERT_EQ(want, value) << when << ": '" << key << "'";
    }
    for (const std::string& key : deleted) {
      ASSERT_TRUE(db_->Get(ReadOptions(), key, &value).IsNotFound())
          << when << ": deleted key '" << key << "' is back";
    }
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    auto want = expected.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++want) {
      ASSERT_NE(want, expected.end()) << when << ": extra key '" << it->key() << "'";
      ASSERT_EQ(want->first, it->key()) << when;
      ASSERT_EQ(want->second, it->value()) << when;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(want, expected.end()) << when << ": missing key '" << want->first << "'";
  }

  void RunAll() {
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; t++) threads.emplace_back([this, t] { WriterMain(t); });
    for (int r = 0; r < 2; r++) threads.emplace_back([this, r] { ReaderMain(r); });
    threads.emplace_back([this] { SnapshotReaderMain(); });
    threads.emplace_back([this] { CompactorMain(); });
    std::this_thread::sleep_for(std::chrono::duration<double>(RunSeconds()));
    Statistics during;
    db_->GetStatistics(&during);
    stop_.store(true, std::memory_order_release);
    for (std::thread& t : threads) t.join();

    {
      std::lock_guard<std::mutex> guard(violations_mu_);
      for (const std::string& v : violations_) ADD_FAILURE() << v;
      ASSERT_EQ(0, violation_count_) << violation_count_ << " violations in all";
    }
    // The run must really have overlapped all the activities.
    EXPECT_GT(writes_.load(), 100u);
    EXPECT_GT(reads_.load(), 100u);
    EXPECT_GT(snapshot_rounds_.load(), 2u);
    EXPECT_GE(manual_compactions_.load(), 1u);
    EXPECT_GT(during.flushes, 5u);
    EXPECT_GT(during.compactions, 2u);
    std::printf(
        "%llu writes, %llu reads, %llu snapshot rounds, %llu flushes, %llu compactions "
        "(%llu manual requests), %llu trivial moves\n",
        static_cast<unsigned long long>(writes_.load()),
        static_cast<unsigned long long>(reads_.load()),
        static_cast<unsigned long long>(snapshot_rounds_.load()),
        static_cast<unsigned long long>(during.flushes),
        static_cast<unsigned long long>(during.compactions),
        static_cast<unsigned long long>(manual_compactions_.load()),
        static_cast<unsigned long long>(during.trivial_moves));

    ASSERT_TRUE(db_->WaitForBackgroundWork().ok());
    ASSERT_NO_FATAL_FAILURE(VerifyFinalState("after the run"));
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
    ASSERT_TRUE(DB::Open(options_, path_, &db_).ok());
    ASSERT_NO_FATAL_FAILURE(VerifyFinalState("after reopen"));
  }

  std::unique_ptr<Env> mem_env_;
  std::unique_ptr<test::TempDir> temp_dir_;
  Env* env_ = nullptr;
  std::string path_;
  Options options_;
  std::unique_ptr<DB> db_;

  WriterState writers_[kWriters];
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> writes_{0}, reads_{0}, snapshot_rounds_{0}, manual_compactions_{0};
  std::mutex violations_mu_;
  std::vector<std::string> violations_;
  int violation_count_ = 0;
};

TEST_P(DbConcurrencyTest, WritersReadersSnapshotsAndCompactionsAgree) {
  ASSERT_NO_FATAL_FAILURE(RunAll());
}

INSTANTIATE_TEST_SUITE_P(Envs, DbConcurrencyTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMemory),
                         [](const auto& info) {
                           return info.param == EnvKind::kPosix ? "Posix" : "Memory";
                         });

}  // namespace
}  // namespace strata
