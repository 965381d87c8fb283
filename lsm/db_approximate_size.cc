// DB::GetApproximateSize: the bytes a key range takes, for planners (the SQL extension's
// row estimates) rather than accounting. Tables contribute the bytes between the index
// positions of the range's ends (Table::ApproximateOffsetOf, no I/O beyond opening the
// table); memtables contribute their entries in range, counted up to a bound so that
// the estimate stays cheap enough to ask at every query plan.
#include <algorithm>

#include "lsm/db_impl.h"
#include "lsm/dbformat.h"
#include "lsm/memtable.h"
#include "lsm/table.h"
#include "lsm/table_cache.h"
#include "lsm/version_set.h"

namespace strata {
namespace {

// Entries counted one by one per memtable (exact for small ranges, and a step costs
// about 0.1 µs); past them the skip list's estimate of the range's share is used.
constexpr int kMaxCountedMemTableEntries = 128;

std::string SeekKey(std::string_view user_key) {
  std::string key;
  AppendInternalKey(&key, user_key, kMaxSequenceNumber, kValueTypeForSeek);
  return key;
}

uint64_t MemTableShare(const MemTable& mem, std::string_view begin, std::string_view end) {
  const std::string begin_key = SeekKey(begin);
  std::unique_ptr<Iterator> it = mem.NewIterator();
  uint64_t bytes = 0;
  int counted = 0;
  for (it->Seek(begin_key); it->Valid(); it->Next()) {
    if (ExtractUserKey(it->key()) >= end) return bytes;
    if (++counted > kMaxCountedMemTableEntries) {
      return std::max<uint64_t>(bytes, mem.ApproximateRangeBytes(begin_key, SeekKey(end)));
    }
    bytes += it->key().size() + it->value().size();
  }
  return bytes;
}

}  // namespace

Status DBImpl::GetApproximateSize(std::string_view begin, std::string_view end, uint64_t* bytes) {
  *bytes = 0;
  ReadView view;
  if (!CaptureReadView(ReadOptions(), &view)) {
    return Status::InvalidArgument(dbname_ + ": store is closed");
  }
  if (end <= begin) return Status::OK();
  uint64_t total = MemTableShare(*view.mem, begin, end);
  if (view.imm != nullptr) total += MemTableShare(*view.imm, begin, end);

  const std::string begin_key = SeekKey(begin);
  const std::string end_key = SeekKey(end);
  for (int level = 0; level < kNumLevels; level++) {
    for (const auto& f : view.version->OverlappingFiles(level, &begin, &end)) {
      const bool starts_inside = ExtractUserKey(f->smallest) >= begin;
      const bool ends_inside = ExtractUserKey(f->largest) < end;
      if (starts_inside && ends_inside) {
        total += f->file_size;
        continue;
      }
      std::shared_ptr<const Table> table;
      Status s = table_cache_->FindTable(f->number, f->file_size, &table);
      if (!s.ok()) return s;
      const uint64_t from = starts_inside ? 0 : table->ApproximateOffsetOf(begin_key);
      const uint64_t to =
          ends_inside ? table->properties().data_bytes : table->ApproximateOffsetOf(end_key);
      if (to > from) total += to - from;
    }
  }
  *bytes = total;
  return Status::OK();
}

}  // namespace strata
