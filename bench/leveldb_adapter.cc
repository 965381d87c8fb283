// LevelDB behind EngineAdapter. Built only when CMake found libleveldb
// (STRATA_BENCH_HAVE_LEVELDB). LevelDB's only compressor is snappy.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <string>

#include "bench/engine_adapter.h"

namespace strata::bench {
namespace {

Status FromLevel(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  return Status::IOError("LevelDB: " + s.ToString());
}

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

class LevelDBIterator final : public BenchIterator {
 public:
  explicit LevelDBIterator(leveldb::Iterator* it) : it_(it) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override {
    leveldb::Slice k = it_->key();
    return std::string_view(k.data(), k.size());
  }
  std::string_view value() const override {
    leveldb::Slice v = it_->value();
    return std::string_view(v.data(), v.size());
  }
  Status status() const override { return FromLevel(it_->status()); }

 private:
  std::unique_ptr<leveldb::Iterator> it_;
};

class LevelDBAdapter final : public EngineAdapter {
 public:
  explicit LevelDBAdapter(const EngineSettings& settings)
      : block_cache_(leveldb::NewLRUCache(settings.block_cache_size)),
        filter_policy_(leveldb::NewBloomFilterPolicy(settings.bloom_bits_per_key)) {
    options_.create_if_missing = true;
    options_.write_buffer_size = settings.write_buffer_size;
    options_.block_cache = block_cache_.get();
    options_.filter_policy = filter_policy_.get();
    options_.block_size = settings.block_size;
    options_.compression = leveldb::kSnappyCompression;
  }

  // The store must be gone before the cache and filter policy it points to.
  ~LevelDBAdapter() override { Close(); }

  std::string_view id() const override { return "leveldb"; }
  std::string label() const override { return "LevelDB"; }
  std::string Describe() const override {
    return "LevelDB " + std::to_string(leveldb::kMajorVersion) + "." +
           std::to_string(leveldb::kMinorVersion) + ": write_buffer_size " +
           std::to_string(options_.write_buffer_size >> 20) +
           " MiB, LRU block cache (same size), bloom 10 bits/key, block_size " +
           std::to_string(options_.block_size) + ", snappy, other options default (max_file_size " +
           std::to_string(options_.max_file_size >> 20) + " MiB, max_open_files " +
           std::to_string(options_.max_open_files) + ", reads without checksum verification)";
  }

  Status Open(const std::string& dir) override {
    leveldb::DB* db = nullptr;
    leveldb::Status s = leveldb::DB::Open(options_, dir, &db);
    db_.reset(db);
    return FromLevel(s);
  }

  Status Close() override {
    db_.reset();  // LevelDB closes in the destructor, waiting for its compaction
    return Status::OK();
  }
  bool is_open() const override { return db_ != nullptr; }

  void BatchPut(std::string_view key, std::string_view value) override {
    batch_.Put(ToSlice(key), ToSlice(value));
  }
  void BatchDelete(std::string_view key) override { batch_.Delete(ToSlice(key)); }
  Status CommitBatch(bool sync) override {
    leveldb::WriteOptions write_options;
    write_options.sync = sync;
    leveldb::Status s = db_->Write(write_options, &batch_);
    batch_.Clear();
    return FromLevel(s);
  }

  Status Get(std::string_view key, std::string* value, bool* found) override {
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), value);
    *found = s.ok();
    return s.IsNotFound() ? Status::OK() : FromLevel(s);
  }

  std::unique_ptr<BenchIterator> NewIterator() override {
    return std::make_unique<LevelDBIterator>(db_->NewIterator(leveldb::ReadOptions()));
  }

  Status Flush(std::string* note) override {
    // No Flush in LevelDB's API. CompactRange always writes the memtable to a table
    // first; a range past every key ("~" > any digit) then selects no files.
    *note = "no Flush API: CompactRange over an empty range";
    leveldb::Slice past_all_keys("~");
    db_->CompactRange(&past_all_keys, &past_all_keys);
    return Status::OK();
  }

  Status CompactAll(std::string* note) override {
    note->clear();
    db_->CompactRange(nullptr, nullptr);  // synchronous: returns when every level is done
    return Status::OK();
  }

  std::string FilesPerLevel() override {
    constexpr int kLevels = 7;  // leveldb::config::kNumLevels, not in the public headers
    std::string counts[kLevels];
    int deepest = 0;
    for (int level = 0; level < kLevels; level++) {
      if (!db_->GetProperty("leveldb.num-files-at-level" + std::to_string(level), &counts[level])) {
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
  std::unique_ptr<leveldb::Cache> block_cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_policy_;
  leveldb::Options options_;
  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteBatch batch_;
};

}  // namespace

std::unique_ptr<EngineAdapter> NewLevelDBAdapter(const EngineSettings& settings) {
  return std::make_unique<LevelDBAdapter>(settings);
}

}  // namespace strata::bench
