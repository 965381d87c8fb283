#include "lsm/table_cache.h"

#include <algorithm>

#include "lsm/filename.h"

namespace strata {
namespace {

TableReadContext MakeReadContext(const Options& options) {
  TableReadContext context;
  if (options.block_cache_size > 0) {
    context.block_cache = std::make_shared<Cache>(options.block_cache_size);
  }
  context.counters = std::make_shared<TableReadCounters>();
  return context;
}

}  // namespace

TableCache::TableCache(std::string dbname, const Options& options, Env* env)
    : dbname_(std::move(dbname)),
      options_(options),
      env_(env),
      max_open_tables_(static_cast<size_t>(std::max(options.max_open_tables, 1))),
      context_(MakeReadContext(options)) {}

Status TableCache::FindTable(uint64_t number, uint64_t file_size,
                             std::shared_ptr<const Table>* table) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = by_number_.find(number);
    if (it != by_number_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      *table = it->second->table;
      return Status::OK();
    }
  }
  // Opened outside the lock: reading the index and filter is I/O. Two threads may
  // open the same table at once; the first to insert wins.
  std::string path = TableFileName(dbname_, number);
  std::unique_ptr<RandomAccessFile> file;
  Status s = options_.mmap_reads ? env_->NewMappedFile(path, &file)
                                 : env_->NewRandomAccessFile(path, &file);
  std::unique_ptr<Table> opened;
  if (s.ok()) s = Table::Open(options_, path, std::move(file), file_size, context_, &opened);
  if (!s.ok()) return s;

  LruList closed;  // tables dropped below; destroyed (files closed) after the lock
  std::lock_guard<std::mutex> guard(mutex_);
  auto [it, inserted] = by_number_.try_emplace(number);
  if (inserted) {
    pinned_bytes_ += opened->pinned_bytes();
    lru_.push_front({number, std::shared_ptr<const Table>(std::move(opened))});
    it->second = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  *table = it->second->table;
  while (lru_.size() > max_open_tables_) {
    const OpenTable& victim = lru_.back();
    pinned_bytes_ -= victim.table->pinned_bytes();
    by_number_.erase(victim.number);
    closed.splice(closed.begin(), lru_, std::prev(lru_.end()));
  }
  return Status::OK();
}

void TableCache::Evict(uint64_t number) {
  LruList closed;
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = by_number_.find(number);
  if (it == by_number_.end()) return;
  pinned_bytes_ -= it->second->table->pinned_bytes();
  closed.splice(closed.begin(), lru_, it->second);
  by_number_.erase(it);
}

size_t TableCache::open_tables() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return lru_.size();
}

uint64_t TableCache::pinned_bytes() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return pinned_bytes_;
}

}  // namespace strata
