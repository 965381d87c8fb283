// EngineAdapter: the one interface the benchmark drives, with one implementation per
// engine (strata_adapter.cc, rocksdb_adapter.cc, leveldb_adapter.cc). Each adapter
// applies the common EngineSettings in its engine's terms and says in Describe()
// exactly what it set, so the results header records the configuration.
//
// Errors from every engine come back as strata::Status so the runner handles them
// in one way. Not thread-safe: the benchmark is single-threaded (engines may run
// their own background threads).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strata/status.h"

namespace strata::bench {

// The settings BENCHMARKS.md fixes for every engine.
struct EngineSettings {
  size_t write_buffer_size = 64u << 20;
  size_t block_cache_size = 64u << 20;
  int bloom_bits_per_key = 10;
  size_t block_size = 4096;
  // strata only (the others keep their usual compression): the algorithm of its
  // compressed blocks, "zstd" (its default) or "lz4". --strata_compression.
  std::string strata_compression = "zstd";
};

class BenchIterator {
 public:
  virtual ~BenchIterator() = default;
  virtual void SeekToFirst() = 0;
  virtual void Seek(std::string_view target) = 0;
  virtual void Next() = 0;
  virtual bool Valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

class EngineAdapter {
 public:
  virtual ~EngineAdapter() = default;

  // Short name used in flags and directory names: "strata", "rocksdb", "leveldb".
  virtual std::string_view id() const = 0;
  // Name for result tables, e.g. "RocksDB (Debian build)".
  virtual std::string label() const = 0;
  // Version and every option the adapter set, for the results header.
  virtual std::string Describe() const = 0;

  // Opens the store in dir, creating it if missing.
  virtual Status Open(const std::string& dir) = 0;
  // Closes the store (waiting for the engine's background work); no-op if not open.
  virtual Status Close() = 0;
  virtual bool is_open() const = 0;

  // Updates gathered into the pending batch; CommitBatch writes it atomically and
  // starts a new one. With sync, the write is fsynced before returning.
  virtual void BatchPut(std::string_view key, std::string_view value) = 0;
  virtual void BatchDelete(std::string_view key) = 0;
  virtual Status CommitBatch(bool sync) = 0;

  // *found = false (and OK) when the key has no value.
  virtual Status Get(std::string_view key, std::string* value, bool* found) = 0;
  virtual std::unique_ptr<BenchIterator> NewIterator() = 0;

  // Writes the memtable to table files and waits for it. *note says how, when the
  // engine needs a workaround.
  virtual Status Flush(std::string* note) = 0;
  // Full compaction of the whole key range, waiting until the engine is idle.
  // *note says what was really done, when it is less (or other) than that.
  virtual Status CompactAll(std::string* note) = 0;

  // Table files per level now, level 0 first, up to the deepest non-empty level
  // ("4,0,12"); empty if the engine cannot say.
  virtual std::string FilesPerLevel() = 0;
  // Seconds writers spent delayed or stopped by the engine since the store was
  // opened; 0 if the engine does not report it.
  virtual double StallSeconds() = 0;
};

// Engines compiled into this binary, in the default order.
std::vector<std::string> AvailableEngines();
// nullptr if id is not an engine of this build.
std::unique_ptr<EngineAdapter> NewEngineAdapter(std::string_view id,
                                                const EngineSettings& settings);

std::unique_ptr<EngineAdapter> NewStrataAdapter(const EngineSettings& settings);
#ifdef STRATA_BENCH_HAVE_ROCKSDB
std::unique_ptr<EngineAdapter> NewRocksDBAdapter(const EngineSettings& settings);
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
std::unique_ptr<EngineAdapter> NewLevelDBAdapter(const EngineSettings& settings);
#endif

}  // namespace strata::bench
