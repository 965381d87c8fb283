#include "lsm/level_iterator.h"

#include <algorithm>

namespace strata {
namespace {

class LevelIterator final : public Iterator {
 public:
  LevelIterator(TableCache* table_cache,
                const std::vector<std::shared_ptr<const FileMetaData>>* files)
      : table_cache_(table_cache), files_(*files) {}

  bool Valid() const override { return table_iter_ != nullptr && table_iter_->Valid(); }
  std::string_view key() const override { return table_iter_->key(); }
  std::string_view value() const override { return table_iter_->value(); }
  Status status() const override {
    if (!status_.ok()) return status_;
    return table_iter_ != nullptr ? table_iter_->status() : Status::OK();
  }

  void SeekToFirst() override {
    OpenTable(0);
    if (table_iter_ != nullptr) table_iter_->SeekToFirst();
    SkipEmptyTablesForward();
  }

  void SeekToLast() override {
    OpenTable(files_.size() - 1);
    if (table_iter_ != nullptr) table_iter_->SeekToLast();
    SkipEmptyTablesBackward();
  }

  void Seek(std::string_view target) override {
    const InternalKeyComparator* icmp = GetInternalKeyComparator();
    // The first table whose largest key is >= target.
    auto it = std::partition_point(files_.begin(), files_.end(), [&](const auto& f) {
      return icmp->Compare(f->largest, target) < 0;
    });
    OpenTable(it - files_.begin());
    if (table_iter_ != nullptr) table_iter_->Seek(target);
    SkipEmptyTablesForward();
  }

  void Next() override {
    table_iter_->Next();
    SkipEmptyTablesForward();
  }

  void Prev() override {
    table_iter_->Prev();
    SkipEmptyTablesBackward();
  }

 private:
  // Opens files_[index] (or nothing if index is out of range or the open fails).
  void OpenTable(size_t index) {
    table_iter_.reset();
    table_.reset();
    index_ = index;
    if (index >= files_.size() || !status_.ok()) return;
    const FileMetaData& f = *files_[index];
    Status s = table_cache_->FindTable(f.number, f.file_size, &table_);
    if (!s.ok()) {
      status_ = s;
      return;
    }
    table_iter_ = table_->NewIterator();
  }

  void SkipEmptyTablesForward() {
    while (table_iter_ != nullptr && !table_iter_->Valid() && table_iter_->status().ok()) {
      OpenTable(index_ + 1);
      if (table_iter_ != nullptr) table_iter_->SeekToFirst();
    }
  }

  void SkipEmptyTablesBackward() {
    while (table_iter_ != nullptr && !table_iter_->Valid() && table_iter_->status().ok()) {
      if (index_ == 0) {
        OpenTable(files_.size());  // past the front: invalid
        return;
      }
      OpenTable(index_ - 1);
      if (table_iter_ != nullptr) table_iter_->SeekToLast();
    }
  }

  TableCache* const table_cache_;
  const std::vector<std::shared_ptr<const FileMetaData>>& files_;
  size_t index_ = 0;
  std::shared_ptr<const Table> table_;
  std::unique_ptr<Iterator> table_iter_;
  Status status_;
};

}  // namespace

std::unique_ptr<Iterator> NewLevelIterator(
    TableCache* table_cache, const std::vector<std::shared_ptr<const FileMetaData>>* files) {
  return std::make_unique<LevelIterator>(table_cache, files);
}

}  // namespace strata
