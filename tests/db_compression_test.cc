// Options::compression_algorithm at the store level: a store holds tables of both
// algorithms when the option changes between opens, reads them all (each block says how
// it is stored), and compaction rewrites its inputs with the algorithm of the options
// the store is open with.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lsm/table.h"
#include "lsm/table_format.h"
#include "strata/db.h"
#include "strata/env.h"
#include "strata/iterator.h"
#include "strata/options.h"

namespace strata {
namespace {

using Model = std::map<std::string, std::string>;

const std::string kDir = "/store";

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

// Words repeated: every algorithm shrinks these by far more than the 1/8 that makes
// the builder keep a compressed block.
std::string Value(int i, int version) {
  std::string v = "version " + std::to_string(version) + " of " + std::to_string(i) + ":";
  for (int w = 0; w < 20; w++) v += (i + w) % 3 == 0 ? " alpha" : " bravo";
  return v;
}

class DbCompressionTest : public testing::Test {
 protected:
  void Open(CompressionAlgorithm algorithm) {
    db_.reset();
    Options options;
    options.env = env_.get();
    options.create_if_missing = true;
    options.compress_level0 = true;  // so flushes write the algorithm too
    options.settle_after_idle_millis = 0;  // the level-0 tables stay until compacted
    options.compression_algorithm = algorithm;
    Status s = DB::Open(options, kDir, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void Write(int begin, int end, int version) {
    for (int i = begin; i < end; i++) {
      ASSERT_TRUE(db_->Put(WriteOptions(), Key(i), Value(i, version)).ok());
      model_[Key(i)] = Value(i, version);
    }
    ASSERT_TRUE(db_->Flush().ok());
  }

  void ExpectReadsMatch(const std::string& what) {
    SCOPED_TRACE(what);
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    Model scanned;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      scanned[std::string(it->key())] = std::string(it->value());
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_TRUE(scanned == model_)
        << scanned.size() << " entries scanned, " << model_.size() << " expected";
    for (const auto& [key, value] : model_) {
      std::string read;
      Status s = db_->Get(ReadOptions(), key, &read);
      ASSERT_TRUE(s.ok()) << key << ": " << s.ToString();
      ASSERT_EQ(read, value) << key;
    }
  }

  // The compression each live table's properties record, one entry per table.
  std::multiset<CompressionType> TableCompressions() {
    EXPECT_TRUE(db_->WaitForBackgroundWork().ok());
    std::vector<std::string> names;
    EXPECT_TRUE(env_->GetChildren(kDir, &names).ok());
    std::multiset<CompressionType> types;
    for (const std::string& name : names) {
      if (name.size() < 4 || name.compare(name.size() - 4, 4, ".sst") != 0) continue;
      const std::string path = kDir + "/" + name;
      uint64_t size = 0;
      std::unique_ptr<RandomAccessFile> file;
      EXPECT_TRUE(env_->GetFileSize(path, &size).ok());
      EXPECT_TRUE(env_->NewRandomAccessFile(path, &file).ok());
      std::unique_ptr<Table> table;
      Status s = Table::Open(Options(), path, std::move(file), size, TableReadContext(), &table);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (s.ok()) types.insert(table->properties().compression);
    }
    return types;
  }

  std::unique_ptr<Env> env_ = NewMemEnv();
  std::unique_ptr<DB> db_;
  Model model_;
};

TEST_F(DbCompressionTest, ZstdAndLz4TablesMixInOneStoreAndCompactionRewritesThem) {
  ASSERT_NO_FATAL_FAILURE(Open(CompressionAlgorithm::kZstd));
  ASSERT_NO_FATAL_FAILURE(Write(0, 1000, 1));
  ASSERT_NO_FATAL_FAILURE(Open(CompressionAlgorithm::kLz4));
  // Overlapping the zstd table: some keys' newest version is in the lz4 table.
  ASSERT_NO_FATAL_FAILURE(Write(500, 1500, 2));
  EXPECT_EQ(TableCompressions(),
            (std::multiset<CompressionType>{CompressionType::kZstd, CompressionType::kLz4}));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsMatch("zstd and lz4 level-0 tables"));

  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::multiset<CompressionType> compacted = TableCompressions();
  ASSERT_FALSE(compacted.empty());
  EXPECT_EQ(compacted.count(CompressionType::kLz4), compacted.size());
  ASSERT_NO_FATAL_FAILURE(ExpectReadsMatch("compacted with lz4"));

  // And back: a reopen with zstd writes zstd tables beside the lz4 ones, and the next
  // compaction turns everything into zstd.
  ASSERT_NO_FATAL_FAILURE(Open(CompressionAlgorithm::kZstd));
  ASSERT_NO_FATAL_FAILURE(ExpectReadsMatch("lz4 tables read by a store opened for zstd"));
  ASSERT_NO_FATAL_FAILURE(Write(1200, 1800, 3));
  EXPECT_EQ(TableCompressions().count(CompressionType::kZstd), 1u);
  ASSERT_NO_FATAL_FAILURE(ExpectReadsMatch("lz4 tables and a zstd level-0 table"));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  compacted = TableCompressions();
  ASSERT_FALSE(compacted.empty());
  EXPECT_EQ(compacted.count(CompressionType::kZstd), compacted.size());
  ASSERT_NO_FATAL_FAILURE(ExpectReadsMatch("compacted with zstd"));
}

}  // namespace
}  // namespace strata
