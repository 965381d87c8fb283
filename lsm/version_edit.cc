#include "lsm/version_edit.h"

#include "lsm/coding.h"

namespace strata {

TablePin& TablePin::operator=(const TablePin&) {
  std::lock_guard<std::mutex> guard(mutex_);
  table_.store(nullptr, std::memory_order_release);
  owner_.reset();
  return *this;
}

const Table* TablePin::Pin(std::shared_ptr<const Table> table) const {
  std::lock_guard<std::mutex> guard(mutex_);
  if (owner_ == nullptr) {
    owner_ = std::move(table);
    table_.store(owner_.get(), std::memory_order_release);
  }
  return owner_.get();
}

namespace {

// Tags are never reused: an unknown tag means a newer writer, which we refuse.
enum Tag : uint32_t {
  kFormatVersion = 1,
  kLogNumber = 2,
  kNextFileNumber = 3,
  kLastSequence = 4,
  kDeletedFile = 5,
  kNewFile = 6,
};

bool GetLevel(std::string_view* input, int* level) {
  uint32_t v;
  if (!GetVarint32(input, &v) || v >= kNumLevels) return false;
  *level = static_cast<int>(v);
  return true;
}

bool GetInternalKey(std::string_view* input, std::string* key) {
  std::string_view k;
  if (!GetLengthPrefixed(input, &k) || k.size() < kInternalKeyTrailerSize) return false;
  key->assign(k.data(), k.size());
  return true;
}

}  // namespace

void VersionEdit::EncodeTo(std::string* dst) const {
  if (format_version_) {
    PutVarint32(dst, kFormatVersion);
    PutVarint32(dst, *format_version_);
  }
  if (log_number_) {
    PutVarint32(dst, kLogNumber);
    PutVarint64(dst, *log_number_);
  }
  if (next_file_number_) {
    PutVarint32(dst, kNextFileNumber);
    PutVarint64(dst, *next_file_number_);
  }
  if (last_sequence_) {
    PutVarint32(dst, kLastSequence);
    PutVarint64(dst, *last_sequence_);
  }
  for (const auto& [level, number] : deleted_files_) {
    PutVarint32(dst, kDeletedFile);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutVarint64(dst, number);
  }
  for (const auto& [level, file] : new_files_) {
    PutVarint32(dst, kNewFile);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutVarint64(dst, file.number);
    PutVarint64(dst, file.file_size);
    PutLengthPrefixed(dst, file.smallest);
    PutLengthPrefixed(dst, file.largest);
  }
}

Status VersionEdit::DecodeFrom(std::string_view src) {
  *this = VersionEdit();
  std::string_view input = src;
  while (!input.empty()) {
    uint32_t tag;
    if (!GetVarint32(&input, &tag)) return Status::Corruption("version edit: bad tag");
    bool ok = true;
    switch (tag) {
      case kFormatVersion: {
        uint32_t v;
        ok = GetVarint32(&input, &v);
        if (ok && v > kManifestFormatVersion) {
          return Status::NotSupported("MANIFEST format version " + std::to_string(v) +
                                      " is newer than this build reads (" +
                                      std::to_string(kManifestFormatVersion) + ")");
        }
        if (ok) format_version_ = v;
        break;
      }
      case kLogNumber: {
        uint64_t v;
        ok = GetVarint64(&input, &v);
        if (ok) log_number_ = v;
        break;
      }
      case kNextFileNumber: {
        uint64_t v;
        ok = GetVarint64(&input, &v);
        if (ok) next_file_number_ = v;
        break;
      }
      case kLastSequence: {
        uint64_t v;
        ok = GetVarint64(&input, &v);
        if (ok) last_sequence_ = v;
        break;
      }
      case kDeletedFile: {
        int level;
        uint64_t number;
        ok = GetLevel(&input, &level) && GetVarint64(&input, &number);
        if (ok) deleted_files_.emplace_back(level, number);
        break;
      }
      case kNewFile: {
        int level;
        FileMetaData file;
        ok = GetLevel(&input, &level) && GetVarint64(&input, &file.number) &&
             GetVarint64(&input, &file.file_size) && GetInternalKey(&input, &file.smallest) &&
             GetInternalKey(&input, &file.largest);
        if (ok) new_files_.emplace_back(level, std::move(file));
        break;
      }
      default:
        return Status::Corruption("version edit: unknown tag " + std::to_string(tag));
    }
    if (!ok) return Status::Corruption("version edit: truncated field for tag " + std::to_string(tag));
  }
  return Status::OK();
}

}  // namespace strata
