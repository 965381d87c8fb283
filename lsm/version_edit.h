// VersionEdit: one change to the set of live tables (files added and removed per
// level) plus the counters recovery needs. Edits are the records of the MANIFEST;
// replaying them in order rebuilds the current Version. Format: docs/manifest_format.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/status.h"
#include "lsm/dbformat.h"

namespace strata {

class Table;

// An open Table attached to one FileMetaData for as long as it lives, so gets reach a
// level-0 table without a table-cache lookup (a mutex, a hash probe and a reference
// count per table, and a get probes every level-0 table). Not part of the manifest; a
// copy starts empty. Only level-0 files are pinned, and there are few of those (writes
// stop at 36), so the open files stay close to the table cache's bound.
class TablePin {
 public:
  TablePin() = default;
  TablePin(const TablePin&) {}
  // The assigned-to file is another file: forget its table.
  TablePin& operator=(const TablePin&);

  // The pinned table, or nullptr before Pin. Lock-free; valid while the FileMetaData is.
  const Table* get() const { return table_.load(std::memory_order_acquire); }
  // Pins table unless another thread did first; returns the pinned one.
  const Table* Pin(std::shared_ptr<const Table> table) const;

 private:
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Table> owner_;  // guarded by mutex_
  mutable std::atomic<const Table*> table_{nullptr};
};

constexpr int kNumLevels = 7;
// Highest MANIFEST format this code reads; written into every MANIFEST's first record.
// It covers the store's logs too (docs/log_format.md): version 2 added recovery puts
// to write batches, which a version 1 reader would take for damage. Version 1 stores
// are read as they are.
constexpr uint32_t kManifestFormatVersion = 2;

struct FileMetaData {
  uint64_t number = 0;
  uint64_t file_size = 0;
  std::string smallest;  // internal key
  std::string largest;   // internal key
  TablePin pinned_table;  // level 0 only, see TablePin
};

class VersionEdit {
 public:
  void SetFormatVersion(uint32_t v) { format_version_ = v; }
  void SetLogNumber(uint64_t n) { log_number_ = n; }
  void SetNextFileNumber(uint64_t n) { next_file_number_ = n; }
  void SetLastSequence(SequenceNumber s) { last_sequence_ = s; }
  void AddFile(int level, FileMetaData file) { new_files_.emplace_back(level, std::move(file)); }
  void RemoveFile(int level, uint64_t number) { deleted_files_.emplace_back(level, number); }

  const std::optional<uint32_t>& format_version() const { return format_version_; }
  const std::optional<uint64_t>& log_number() const { return log_number_; }
  const std::optional<uint64_t>& next_file_number() const { return next_file_number_; }
  const std::optional<SequenceNumber>& last_sequence() const { return last_sequence_; }
  const std::vector<std::pair<int, FileMetaData>>& new_files() const { return new_files_; }
  const std::vector<std::pair<int, uint64_t>>& deleted_files() const { return deleted_files_; }

  void EncodeTo(std::string* dst) const;
  // Corruption on malformed input or unknown tags; NotSupported for a format newer
  // than this code reads.
  Status DecodeFrom(std::string_view src);

 private:
  std::optional<uint32_t> format_version_;
  std::optional<uint64_t> log_number_;
  std::optional<uint64_t> next_file_number_;
  std::optional<SequenceNumber> last_sequence_;
  std::vector<std::pair<int, FileMetaData>> new_files_;
  std::vector<std::pair<int, uint64_t>> deleted_files_;
};

}  // namespace strata
