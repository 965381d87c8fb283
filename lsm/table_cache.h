// TableCache: open Table readers by file number, so each table's index and bloom
// filter are read once and shared by every reader. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "strata/env.h"
#include "strata/options.h"
#include "lsm/table.h"

namespace strata {

class TableCache {
 public:
  TableCache(std::string dbname, const Options& options, Env* env);

  // The open table for file `number` (opening it on first use).
  Status FindTable(uint64_t number, uint64_t file_size, std::shared_ptr<const Table>* table);
  // Forgets a table whose file is being deleted. Readers holding it keep it open.
  void Evict(uint64_t number);

 private:
  const std::string dbname_;
  const Options options_;
  Env* const env_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<const Table>> tables_;
};

}  // namespace strata
