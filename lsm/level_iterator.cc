#include "lsm/level_iterator.h"

#include <algorithm>

namespace strata {
namespace {

// Keeps one TableIterator and re-aims it at each table, so moving between tables (and
// seeking within the table already open) allocates nothing, and calls into it are direct.
class LevelIterator final : public Iterator {
 public:
  LevelIterator(TableCache* table_cache,
                const std::vector<std::shared_ptr<const FileMetaData>>* files, BlockCacheFill fill)
      : table_cache_(table_cache), files_(*files), index_(files->size()), table_iter_(nullptr, fill) {}

  bool Valid() const override { return table_ != nullptr && table_iter_.Valid(); }
  std::string_view key() const override { return table_iter_.key(); }
  std::string_view value() const override { return table_iter_.value(); }
  Status status() const override {
    if (!status_.ok()) return status_;
    return table_ != nullptr ? table_iter_.status() : Status::OK();
  }

  void SeekToFirst() override {
    OpenTable(0);
    if (table_ != nullptr) table_iter_.SeekToFirst();
    SkipEmptyTablesForward();
  }

  void SeekToLast() override {
    OpenTable(files_.size() - 1);
    if (table_ != nullptr) table_iter_.SeekToLast();
    SkipEmptyTablesBackward();
  }

  void Seek(std::string_view target) override {
    // The first table whose largest key is >= target.
    auto it = std::partition_point(files_.begin(), files_.end(), [&](const auto& f) {
      return CompareInternalKeys(f->largest, target) < 0;
    });
    OpenTable(it - files_.begin());
    if (table_ != nullptr) table_iter_.Seek(target);
    SkipEmptyTablesForward();
  }

  void Next() override {
    table_iter_.Next();
    if (!table_iter_.Valid()) SkipEmptyTablesForward();
  }

  bool NextEntry(std::string_view* key, std::string_view* value) override {
    table_iter_.Next();
    if (!table_iter_.Valid()) [[unlikely]] {
      SkipEmptyTablesForward();
      if (!Valid()) return false;
    }
    *key = table_iter_.key();
    *value = table_iter_.value();
    return true;
  }

  void Prev() override {
    table_iter_.Prev();
    if (!table_iter_.Valid()) SkipEmptyTablesBackward();
  }

 private:
  // Aims table_iter_ at files_[index] (or at nothing if index is out of range or the
  // open fails). The table already open is kept, unless its iterator failed: a new
  // positioning retries it from scratch.
  void OpenTable(size_t index) {
    if (table_ != nullptr && index == index_ && table_iter_.ok()) return;
    table_iter_.Reset(nullptr);
    table_.reset();
    index_ = index;
    if (index >= files_.size() || !status_.ok()) return;
    const FileMetaData& f = *files_[index];
    Status s = table_cache_->FindTable(f.number, f.file_size, &table_);
    if (!s.ok()) {
      status_ = s;
      return;
    }
    table_iter_.Reset(table_.get());
  }

  void SkipEmptyTablesForward() {
    while (table_ != nullptr && !table_iter_.Valid() && table_iter_.ok()) {
      OpenTable(index_ + 1);
      if (table_ != nullptr) table_iter_.SeekToFirst();
    }
  }

  void SkipEmptyTablesBackward() {
    while (table_ != nullptr && !table_iter_.Valid() && table_iter_.ok()) {
      if (index_ == 0) {
        OpenTable(files_.size());  // past the front: invalid
        return;
      }
      OpenTable(index_ - 1);
      if (table_ != nullptr) table_iter_.SeekToLast();
    }
  }

  TableCache* const table_cache_;
  const std::vector<std::shared_ptr<const FileMetaData>>& files_;
  size_t index_;                        // of the table open in table_, if any
  std::shared_ptr<const Table> table_;  // declared before table_iter_: outlives its use
  TableIterator table_iter_;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewLevelIterator(
    TableCache* table_cache, const std::vector<std::shared_ptr<const FileMetaData>>* files,
    BlockCacheFill fill) {
  return std::make_unique<LevelIterator>(table_cache, files, fill);
}

}  // namespace strata
