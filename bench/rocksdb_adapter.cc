// RocksDB behind EngineAdapter. Built only when CMake found librocksdb
// (STRATA_BENCH_HAVE_ROCKSDB). Debian's librocksdb is compiled without NDEBUG
// (assertions and test sync points stay in), hence its label.
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "bench/engine_adapter.h"

namespace strata::bench {
namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  return Status::IOError("RocksDB: " + s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksDBIterator final : public BenchIterator {
 public:
  explicit RocksDBIterator(rocksdb::Iterator* it) : it_(it) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override {
    rocksdb::Slice k = it_->key();
    return std::string_view(k.data(), k.size());
  }
  std::string_view value() const override {
    rocksdb::Slice v = it_->value();
    return std::string_view(v.data(), v.size());
  }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksDBAdapter final : public EngineAdapter {
 public:
  explicit RocksDBAdapter(const EngineSettings& settings) {
    options_.create_if_missing = true;
    options_.write_buffer_size = settings.write_buffer_size;
    options_.compression = rocksdb::kZSTD;
    // The Debian library's Options() defaults to DEBUG_LEVEL because it was built
    // without NDEBUG; a release build logs at INFO_LEVEL, so ask for that.
    options_.info_log_level = rocksdb::InfoLogLevel::INFO_LEVEL;
    rocksdb::BlockBasedTableOptions table_options;
    table_options.block_size = settings.block_size;
    table_options.block_cache = rocksdb::NewLRUCache(settings.block_cache_size);
    table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(settings.bloom_bits_per_key));
    options_.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
    block_cache_mib_ = settings.block_cache_size >> 20;
  }

  ~RocksDBAdapter() override { Close(); }

  std::string_view id() const override { return "rocksdb"; }
  std::string label() const override { return "RocksDB (Debian build)"; }
  std::string Describe() const override {
    return "RocksDB " + std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
           std::to_string(ROCKSDB_PATCH) +
           " (Debian librocksdb, built without NDEBUG): write_buffer_size " +
           std::to_string(options_.write_buffer_size >> 20) + " MiB, LRU block cache " +
           std::to_string(block_cache_mib_) +
           " MiB, bloom filter 10 bits/key (NewBloomFilterPolicy), block_size 4096, zstd "
           "(RocksDB's default level), info_log_level INFO, other options default "
           "(max_background_jobs " +
           std::to_string(options_.max_background_jobs) + ")";
  }

  Status Open(const std::string& dir) override {
    std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
    if (std::find(supported.begin(), supported.end(), rocksdb::kZSTD) == supported.end()) {
      return Status::NotSupported("this librocksdb was built without zstd");
    }
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options_, dir, &db);
    db_.reset(db);
    return FromRocks(s);
  }

  Status Close() override {
    if (db_ == nullptr) return Status::OK();
    rocksdb::Status s = db_->Close();
    db_.reset();
    return FromRocks(s);
  }
  bool is_open() const override { return db_ != nullptr; }

  void BatchPut(std::string_view key, std::string_view value) override {
    batch_.Put(ToSlice(key), ToSlice(value));
  }
  void BatchDelete(std::string_view key) override { batch_.Delete(ToSlice(key)); }
  Status CommitBatch(bool sync) override {
    rocksdb::WriteOptions write_options;
    write_options.sync = sync;
    rocksdb::Status s = db_->Write(write_options, &batch_);
    batch_.Clear();
    return FromRocks(s);
  }

  Status Get(std::string_view key, std::string* value, bool* found) override {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), value);
    *found = s.ok();
    return s.IsNotFound() ? Status::OK() : FromRocks(s);
  }

  std::unique_ptr<BenchIterator> NewIterator() override {
    return std::make_unique<RocksDBIterator>(db_->NewIterator(rocksdb::ReadOptions()));
  }

  Status Flush(std::string* note) override {
    note->clear();
    return FromRocks(db_->Flush(rocksdb::FlushOptions()));
  }

  Status CompactAll(std::string* note) override {
    note->clear();
    rocksdb::CompactRangeOptions compact_options;
    // Also rewrite the bottommost level, so overwritten versions and tombstones there
    // are dropped: a full compaction as BENCHMARKS.md means it.
    compact_options.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForceOptimized;
    rocksdb::Status s = db_->CompactRange(compact_options, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s);
    return WaitForBackgroundWork();
  }

  std::string FilesPerLevel() override {
    std::string counts[16];
    int deepest = 0;
    for (int level = 0; level < options_.num_levels && level < 16; level++) {
      if (!db_->GetProperty(rocksdb::DB::Properties::kNumFilesAtLevelPrefix + std::to_string(level),
                            &counts[level])) {
        return "";
      }
      if (counts[level] != "0") deepest = level;
    }
    std::string shape = counts[0];
    for (int level = 1; level <= deepest; level++) shape += "," + counts[level];
    return shape;
  }

  double StallSeconds() override { return 0; }

 private:
  // RocksDB 7.8 has no WaitForCompact: poll until no flush or compaction is pending
  // or running.
  Status WaitForBackgroundWork() {
    const std::string* properties[] = {
        &rocksdb::DB::Properties::kMemTableFlushPending,
        &rocksdb::DB::Properties::kNumRunningFlushes,
        &rocksdb::DB::Properties::kCompactionPending,
        &rocksdb::DB::Properties::kNumRunningCompactions,
    };
    while (true) {
      bool busy = false;
      for (const std::string* property : properties) {
        uint64_t value = 0;
        if (!db_->GetIntProperty(*property, &value)) {
          return Status::IOError("RocksDB: cannot read property " + *property);
        }
        busy = busy || value != 0;
      }
      if (!busy) return Status::OK();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  rocksdb::Options options_;
  size_t block_cache_mib_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteBatch batch_;
};

}  // namespace

std::unique_ptr<EngineAdapter> NewRocksDBAdapter(const EngineSettings& settings) {
  return std::make_unique<RocksDBAdapter>(settings);
}

}  // namespace strata::bench
