// VersionEdit: one change to the set of live tables (files added and removed per
// level) plus the counters recovery needs. Edits are the records of the MANIFEST;
// replaying them in order rebuilds the current Version. Format: docs/manifest_format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/status.h"
#include "lsm/dbformat.h"

namespace strata {

constexpr int kNumLevels = 7;
// Highest MANIFEST format this code reads; written into every MANIFEST's first record.
constexpr uint32_t kManifestFormatVersion = 1;

struct FileMetaData {
  uint64_t number = 0;
  uint64_t file_size = 0;
  std::string smallest;  // internal key
  std::string largest;   // internal key
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
