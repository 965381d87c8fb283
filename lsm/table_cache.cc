#include "lsm/table_cache.h"

#include "lsm/filename.h"

namespace strata {

TableCache::TableCache(std::string dbname, const Options& options, Env* env)
    : dbname_(std::move(dbname)), options_(options), env_(env) {}

Status TableCache::FindTable(uint64_t number, uint64_t file_size,
                             std::shared_ptr<const Table>* table) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = tables_.find(number);
    if (it != tables_.end()) {
      *table = it->second;
      return Status::OK();
    }
  }
  // Opened outside the lock: reading the index and filter is I/O. Two threads may
  // open the same table at once; the first to insert wins.
  std::string path = TableFileName(dbname_, number);
  std::unique_ptr<RandomAccessFile> file;
  Status s = env_->NewRandomAccessFile(path, &file);
  std::unique_ptr<Table> opened;
  if (s.ok()) s = Table::Open(options_, path, std::move(file), file_size, &opened);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> guard(mutex_);
  auto [it, inserted] = tables_.emplace(number, std::shared_ptr<const Table>(std::move(opened)));
  *table = it->second;
  return Status::OK();
}

void TableCache::Evict(uint64_t number) {
  std::lock_guard<std::mutex> guard(mutex_);
  tables_.erase(number);
}

}  // namespace strata
