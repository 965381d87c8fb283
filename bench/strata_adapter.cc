// The strata engine behind EngineAdapter, through its public API only.
#include <memory>
#include <string>

#include "bench/engine_adapter.h"
#include "strata/db.h"
#include "strata/options.h"
#include "strata/statistics.h"
#include "strata/write_batch.h"

namespace strata::bench {
namespace {

// The block cache is landing in Options while this benchmark is written: use it when
// this build's Options has it, and say which in Describe(). Once block_cache_size is
// committed, these two helpers can become a plain assignment and a plain read.
template <typename StrataOptions>
void SetBlockCacheSize(StrataOptions* options, size_t bytes) {
  if constexpr (requires { options->block_cache_size; }) options->block_cache_size = bytes;
}

template <typename StrataOptions>
std::string DescribeBlockCache(const StrataOptions& options) {
  if constexpr (requires { options.block_cache_size; }) {
    return "block cache " + std::to_string(options.block_cache_size >> 20) + " MiB";
  } else {
    return "no block cache (not in this build)";
  }
}

class StrataIterator final : public BenchIterator {
 public:
  explicit StrataIterator(std::unique_ptr<Iterator> it) : it_(std::move(it)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void Seek(std::string_view target) override { it_->Seek(target); }
  void Next() override { it_->Next(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  Status status() const override { return it_->status(); }

 private:
  std::unique_ptr<Iterator> it_;
};

class StrataAdapter final : public EngineAdapter {
 public:
  explicit StrataAdapter(const EngineSettings& settings) {
    options_.create_if_missing = true;
    options_.write_buffer_size = settings.write_buffer_size;
    options_.block_size = settings.block_size;
    options_.bloom_bits_per_key = settings.bloom_bits_per_key;
    options_.compression = true;
    if (settings.strata_compression == "lz4") {
      options_.compression_algorithm = CompressionAlgorithm::kLz4;
    }
    SetBlockCacheSize(&options_, settings.block_cache_size);
  }

  std::string_view id() const override { return "strata"; }
  std::string label() const override { return "strata"; }
  std::string Describe() const override {
    return "write_buffer_size " + std::to_string(options_.write_buffer_size >> 20) +
           " MiB, block_size " + std::to_string(options_.block_size) + ", bloom " +
           std::to_string(options_.bloom_bits_per_key) + " bits/key, " + DescribeCompression() +
           ", " + DescribeBlockCache(options_) + ", other options default (" +
           std::to_string(options_.background_threads) + " background threads, L0 triggers " +
           std::to_string(options_.level0_compaction_trigger) + "/" +
           std::to_string(options_.level0_slowdown_writes_trigger) + "/" +
           std::to_string(options_.level0_stop_writes_trigger) + ", level 1 target " +
           std::to_string(options_.max_bytes_for_level_base >> 20) + " MiB x" +
           std::to_string(options_.max_bytes_for_level_multiplier) + ", tables of " +
           std::to_string(options_.target_file_size >> 20) + " MiB)";
  }

  std::string DescribeCompression() const {
    std::string text = options_.compression_algorithm == CompressionAlgorithm::kLz4
                           ? "lz4 ("
                           : "zstd level " + std::to_string(options_.compression_level) +
                                 " (bottommost level " +
                                 std::to_string(options_.bottommost_compression_level) + "; ";
    return text + (options_.compress_level0 ? "level 0 compressed too)" : "level 0 uncompressed)");
  }

  Status Open(const std::string& dir) override { return DB::Open(options_, dir, &db_); }

  Status Close() override {
    if (db_ == nullptr) return Status::OK();
    Status s = db_->Close();
    db_.reset();
    return s;
  }
  bool is_open() const override { return db_ != nullptr; }

  void BatchPut(std::string_view key, std::string_view value) override { batch_.Put(key, value); }
  void BatchDelete(std::string_view key) override { batch_.Delete(key); }
  Status CommitBatch(bool sync) override {
    WriteOptions write_options;
    write_options.sync = sync;
    Status s = db_->Write(write_options, &batch_);
    batch_.Clear();
    return s;
  }

  Status Get(std::string_view key, std::string* value, bool* found) override {
    Status s = db_->Get(ReadOptions(), key, value);
    *found = s.ok();
    return s.IsNotFound() ? Status::OK() : s;
  }

  std::unique_ptr<BenchIterator> NewIterator() override {
    return std::make_unique<StrataIterator>(db_->NewIterator(ReadOptions()));
  }

  Status Flush(std::string* note) override {
    note->clear();
    return db_->Flush();
  }

  // The single place the benchmark asks strata for a full compaction.
  Status CompactAll(std::string* note) override {
    note->clear();
    Status s = db_->CompactRange(nullptr, nullptr);
    if (s.ok()) s = db_->WaitForBackgroundWork();
    return s;
  }

  std::string FilesPerLevel() override {
    Statistics stats;
    db_->GetStatistics(&stats);
    int deepest = 0;
    for (int level = 0; level < kStatisticsLevels; level++) {
      if (stats.levels[level].files > 0) deepest = level;
    }
    std::string shape;
    for (int level = 0; level <= deepest; level++) {
      if (level > 0) shape += ',';
      shape += std::to_string(stats.levels[level].files);
    }
    return shape;
  }

  double StallSeconds() override {
    Statistics stats;
    db_->GetStatistics(&stats);
    return static_cast<double>(stats.stall_micros) / 1e6;
  }

 private:
  Options options_;
  std::unique_ptr<DB> db_;
  WriteBatch batch_;
};

}  // namespace

std::unique_ptr<EngineAdapter> NewStrataAdapter(const EngineSettings& settings) {
  return std::make_unique<StrataAdapter>(settings);
}

}  // namespace strata::bench
