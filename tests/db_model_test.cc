// The backbone test: a long random sequence of Put / Delete / Write / Get / iterate
// (both directions) and snapshot reads, checked step by step against std::map, with
// forced flushes and reopens at random points, on POSIX and in-memory Envs.
//
// STRATA_MODEL_OPS=n runs n operations per configuration instead of the default.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "strata/db.h"
#include "strata/env.h"

namespace strata {
namespace {

using Model = std::map<std::string, std::string>;

enum class EnvKind { kPosix, kMemory };

struct ModelSnapshot {
  const Snapshot* snapshot;
  Model state;
};

class DbModelTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    if (GetParam() == EnvKind::kMemory) {
      mem_env_ = NewMemEnv();
      env_ = mem_env_.get();
      path_ = "/model-db";
    } else {
      env_ = Env::Default();
      std::string tmpl = (std::filesystem::temp_directory_path() / "strata-model-XXXXXX").string();
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      temp_dir_ = tmpl;
      path_ = tmpl + "/db";
    }
    options_.env = env_;
    options_.create_if_missing = true;
    // Small buffers and blocks so a few thousand operations produce many tables
    // and multi-block tables.
    options_.write_buffer_size = 16 << 10;
    options_.block_size = 256;
    options_.block_restart_interval = 4;
    Reopen();
  }

  void TearDown() override {
    for (auto& s : snapshots_) db_->ReleaseSnapshot(s.snapshot);
    db_.reset();
    if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
  }

  void Reopen() {
    if (db_ != nullptr) {
      ASSERT_TRUE(db_->Close().ok());
    }
    db_.reset();
    Status s = DB::Open(options_, path_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string RandomKey() {
    // A small key space so keys get overwritten and deleted often; some keys share
    // long prefixes, some contain zero bytes.
    int n = std::uniform_int_distribution<int>(0, 399)(rng_);
    std::string key = "key" + std::to_string(n % 100);
    if (n >= 100) key += std::string(n / 100, '\0') + "x";
    if (n % 7 == 0) key = std::to_string(n);
    return key;
  }

  std::string RandomValue() {
    int kind = std::uniform_int_distribution<int>(0, 19)(rng_);
    size_t len = kind == 0 ? 0 : (kind == 1 ? 5000 : std::uniform_int_distribution<int>(1, 60)(rng_));
    std::string value(len, '\0');
    for (char& c : value) c = static_cast<char>('a' + rng_() % 26);
    return value;
  }

  // Reads every key of the model and some absent keys at `snapshot`.
  void CheckGets(const Model& model, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    for (int i = 0; i < 20; i++) {
      std::string key = RandomKey();
      std::string value;
      Status s = db_->Get(read, key, &value);
      auto it = model.find(key);
      if (it == model.end()) {
        ASSERT_TRUE(s.IsNotFound()) << "key '" << key << "': " << s.ToString() << " step " << step_;
      } else {
        ASSERT_TRUE(s.ok()) << "key '" << key << "': " << s.ToString() << " step " << step_;
        ASSERT_EQ(it->second, value) << "key '" << key << "' step " << step_;
      }
    }
  }

  void CheckFullScans(const Model& model, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    std::unique_ptr<Iterator> it = db_->NewIterator(read);
    auto expected = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
      ASSERT_NE(expected, model.end()) << "extra key '" << it->key() << "' step " << step_;
      ASSERT_EQ(expected->first, it->key()) << "step " << step_;
      ASSERT_EQ(expected->second, it->value()) << "step " << step_;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(expected, model.end()) << "missing key '" << expected->first << "' step " << step_;

    // The same scan through NextEntry, a scan's one-call step.
    expected = model.begin();
    it->SeekToFirst();
    std::string_view key, value;
    bool valid = it->Valid();
    if (valid) {
      key = it->key();
      value = it->value();
    }
    for (; valid; valid = it->NextEntry(&key, &value), ++expected) {
      ASSERT_NE(expected, model.end()) << "extra key '" << key << "' step " << step_;
      ASSERT_EQ(expected->first, key) << "step " << step_;
      ASSERT_EQ(expected->second, value) << "step " << step_;
      ASSERT_EQ(key, it->key()) << "step " << step_;
      ASSERT_EQ(value, it->value()) << "step " << step_;
    }
    ASSERT_FALSE(it->Valid());
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(expected, model.end()) << "missing key '" << expected->first << "' step " << step_;

    auto reverse = model.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++reverse) {
      ASSERT_NE(reverse, model.rend()) << "extra key '" << it->key() << "' step " << step_;
      ASSERT_EQ(reverse->first, it->key()) << "step " << step_;
      ASSERT_EQ(reverse->second, it->value()) << "step " << step_;
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(reverse, model.rend()) << "step " << step_;
  }

  // Seek to a random key, then walk a random mix of Next and Prev.
  void CheckRandomWalk(const Model& model, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    std::unique_ptr<Iterator> it = db_->NewIterator(read);
    std::string target = RandomKey();
    it->Seek(target);
    auto expected = model.lower_bound(target);
    for (int i = 0; i < 12; i++) {
      if (expected == model.end()) {
        ASSERT_FALSE(it->Valid()) << "seek/walk past end, step " << step_;
        break;
      }
      ASSERT_TRUE(it->Valid()) << "step " << step_;
      ASSERT_EQ(expected->first, it->key()) << "step " << step_;
      ASSERT_EQ(expected->second, it->value()) << "step " << step_;
      if (rng_() % 3 == 0) {
        if (expected == model.begin()) {
          it->Prev();
          ASSERT_FALSE(it->Valid()) << "step " << step_;
          break;
        }
        --expected;
        it->Prev();
      } else if (rng_() % 2 == 0) {
        ++expected;
        it->Next();
      } else {
        ++expected;
        std::string_view key, value;
        const bool valid = it->NextEntry(&key, &value);
        ASSERT_EQ(valid, it->Valid()) << "step " << step_;
        if (valid) {
          ASSERT_EQ(key, it->key()) << "step " << step_;
          ASSERT_EQ(value, it->value()) << "step " << step_;
        }
      }
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  }

  void RunRandomOperations(int operations) {
    for (step_ = 0; step_ < operations; step_++) {
      int op = std::uniform_int_distribution<int>(0, 999)(rng_);
      if (op < 350) {
        std::string key = RandomKey(), value = RandomValue();
        ASSERT_TRUE(db_->Put(WriteOptions(), key, value).ok());
        model_[key] = value;
      } else if (op < 500) {
        std::string key = RandomKey();
        ASSERT_TRUE(db_->Delete(WriteOptions(), key).ok());
        model_.erase(key);
      } else if (op < 600) {
        WriteBatch batch;
        Model after = model_;
        int n = std::uniform_int_distribution<int>(0, 20)(rng_);
        for (int i = 0; i < n; i++) {
          std::string key = RandomKey();
          if (rng_() % 3 == 0) {
            batch.Delete(key);
            after.erase(key);
          } else {
            std::string value = RandomValue();
            batch.Put(key, value);
            after[key] = value;
          }
        }
        WriteOptions write;
        write.sync = rng_() % 10 == 0;
        ASSERT_TRUE(db_->Write(write, &batch).ok());
        model_ = std::move(after);
      } else if (op < 800) {
        ASSERT_NO_FATAL_FAILURE(CheckGets(model_, nullptr));
      } else if (op < 830) {
        ASSERT_NO_FATAL_FAILURE(CheckFullScans(model_, nullptr));
      } else if (op < 900) {
        ASSERT_NO_FATAL_FAILURE(CheckRandomWalk(model_, nullptr));
      } else if (op < 930) {
        if (snapshots_.size() < 4) snapshots_.push_back({db_->GetSnapshot(), model_});
      } else if (op < 970) {
        if (!snapshots_.empty()) {
          size_t i = rng_() % snapshots_.size();
          ASSERT_NO_FATAL_FAILURE(CheckGets(snapshots_[i].state, snapshots_[i].snapshot));
          ASSERT_NO_FATAL_FAILURE(CheckRandomWalk(snapshots_[i].state, snapshots_[i].snapshot));
          if (rng_() % 4 == 0) {
            ASSERT_NO_FATAL_FAILURE(CheckFullScans(snapshots_[i].state, snapshots_[i].snapshot));
          }
          if (rng_() % 2 == 0) {
            db_->ReleaseSnapshot(snapshots_[i].snapshot);
            snapshots_.erase(snapshots_.begin() + i);
          }
        }
      } else if (op < 990) {
        ASSERT_TRUE(db_->Flush().ok());
      } else {
        for (auto& s : snapshots_) db_->ReleaseSnapshot(s.snapshot);
        snapshots_.clear();
        ASSERT_NO_FATAL_FAILURE(Reopen());
        ASSERT_NO_FATAL_FAILURE(CheckFullScans(model_, nullptr));
      }
    }
    ASSERT_NO_FATAL_FAILURE(CheckFullScans(model_, nullptr));
    for (auto& s : snapshots_) db_->ReleaseSnapshot(s.snapshot);
    snapshots_.clear();
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ASSERT_NO_FATAL_FAILURE(CheckFullScans(model_, nullptr));
  }

  static int OperationCount() {
    const char* env = std::getenv("STRATA_MODEL_OPS");
    return env != nullptr ? std::atoi(env) : 5000;
  }

  std::mt19937 rng_{20261125};
  std::unique_ptr<Env> mem_env_;
  Env* env_ = nullptr;
  std::string temp_dir_;
  std::string path_;
  Options options_;
  std::unique_ptr<DB> db_;
  Model model_;
  std::vector<ModelSnapshot> snapshots_;
  int step_ = 0;
};

TEST_P(DbModelTest, RandomOperationsMatchStdMap) {
  ASSERT_NO_FATAL_FAILURE(RunRandomOperations(OperationCount()));
}

TEST_P(DbModelTest, RandomOperationsMatchStdMapWithoutCompressionOrFilter) {
  options_.compression = false;
  options_.bloom_bits_per_key = 0;
  rng_.seed(7);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(RunRandomOperations(OperationCount() / 2));
}

INSTANTIATE_TEST_SUITE_P(Envs, DbModelTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMemory),
                         [](const auto& info) {
                           return info.param == EnvKind::kPosix ? "Posix" : "Memory";
                         });

}  // namespace
}  // namespace strata
