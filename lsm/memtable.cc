// Entry layout in the arena (see docs/memtable.md):
//
//   varint32(internal_key_len) | user_key | fixed64(seq << 8 | type) |
//   varint32(value_len << 1 | out_of_line) | value, or (out_of_line) a pointer to it
//
// The skip list key is a pointer to such an entry. A LookupKey's memtable_key() has the
// same prefix (length-prefixed internal key), so it can be searched for directly.
#include "lsm/memtable.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>

#include "lsm/arena.h"
#include "lsm/bloom_filter.h"
#include "lsm/coding.h"
#include "lsm/memtable_filter.h"
#include "lsm/skiplist.h"

namespace strata {
namespace {

// Entries and search targets are written by this file (or by LookupKey), so the length
// prefix is well-formed; the limit only bounds the varint decoder to its 5 bytes.
// Inline, with the one-byte length (keys under 120 bytes) first: every comparison of the
// skip list's searches decodes two of these.
inline std::string_view GetLengthPrefixedInternalKey(const char* entry) {
  const auto first = static_cast<unsigned char>(entry[0]);
  if (first < 0x80) return std::string_view(entry + 1, first);
  uint32_t length = 0;
  const char* p = GetVarint32Ptr(entry, entry + 5, &length);
  assert(p != nullptr && length >= kInternalKeyTrailerSize);
  return std::string_view(p, length);
}

// Once the node arena holds this much, values longer than kMaxInlineValue go to the
// value arena and the entry holds a pointer to them: the skip list's nodes and keys,
// which every insert walks at random, then sit close together instead of between the
// values (a standalone 62 MiB fill: ~800 against ~1030 ns per Add). Small memtables
// keep their values inline and use one arena.
constexpr size_t kOutOfLineValuesAfter = Arena::kHugeBlockThreshold;
constexpr uint32_t kMaxInlineValue = 16;

// After the internal key: varint32(value_len << 1 | out_of_line), then the value's
// bytes, or (out_of_line) a pointer to them in the value arena.
inline std::string_view GetValueAfter(std::string_view internal_key) {
  const char* start = internal_key.data() + internal_key.size();
  uint32_t tagged = 0;
  const char* p = start + 1;
  const auto first = static_cast<unsigned char>(start[0]);
  if (first < 0x80) {
    tagged = first;
  } else {
    p = GetVarint32Ptr(start, start + 5, &tagged);
    assert(p != nullptr);
  }
  const uint32_t length = tagged >> 1;
  if ((tagged & 1) == 0) return std::string_view(p, length);
  const char* out_of_line;
  std::memcpy(&out_of_line, p, sizeof(out_of_line));
  return std::string_view(out_of_line, length);
}

struct EntryComparator {
  int operator()(const char* a, const char* b) const {
    return CompareInternalKeys(GetLengthPrefixedInternalKey(a), GetLengthPrefixedInternalKey(b));
  }
};

using Table = SkipList<const char*, EntryComparator>;
static_assert(MemTable::kGroupSize == Table::kMaxGroup);

}  // namespace

struct MemTable::Rep {
  Rep(size_t filter_bytes, std::shared_ptr<ArenaBlockPool> block_pool)
      : arena(Arena::kDefaultBlockSize, block_pool),
        values(Arena::kDefaultBlockSize, std::move(block_pool)),
        filter(filter_bytes) {}

  Arena arena;   // skip list nodes, each followed by its entry
  Arena values;  // out-of-line values (see kOutOfLineValuesAfter)
  Table table{EntryComparator(), &arena};
  MemTableFilter filter;
};

namespace {

class MemTableIterator final : public Iterator {
 public:
  explicit MemTableIterator(const Table* table) : table_(table), iter_(table) {}

  bool Valid() const override { return iter_.Valid(); }
  void SeekToFirst() override {
    status_ = Status::OK();
    iter_.SeekToFirst();
  }
  void SeekToLast() override {
    status_ = Status::OK();
    iter_.SeekToLast();
  }
  void Seek(std::string_view target) override {
    // The comparator reads the 8-byte trailer, so a shorter target would make it read
    // out of bounds.
    if (target.size() < kInternalKeyTrailerSize || target.size() > UINT32_MAX) {
      status_ = Status::InvalidArgument("memtable seek target is not an internal key");
      iter_ = Table::Iterator(table_);  // not positioned: Valid() is false
      return;
    }
    status_ = Status::OK();
    // Reused across calls: a seek allocates only when a target outgrows all previous ones.
    scratch_.clear();
    PutLengthPrefixed(&scratch_, target);
    iter_.Seek(scratch_.data());
  }
  void Next() override { iter_.Next(); }
  void Prev() override { iter_.Prev(); }
  std::string_view key() const override { return GetLengthPrefixedInternalKey(iter_.key()); }
  std::string_view value() const override {
    return GetValueAfter(GetLengthPrefixedInternalKey(iter_.key()));
  }
  // Not OK only after a Seek to a malformed target; the next positioning call clears it.
  Status status() const override { return status_; }

 private:
  const Table* const table_;
  Table::Iterator iter_;
  std::string scratch_;
  Status status_;
};

}  // namespace

MemTable::MemTable(size_t filter_bytes, std::shared_ptr<ArenaBlockPool> block_pool)
    : rep_(std::make_unique<Rep>(filter_bytes, std::move(block_pool))) {}

MemTable::~MemTable() = default;

size_t MemTable::ApproximateMemoryUsage() const {
  return rep_->arena.MemoryUsage() + rep_->values.MemoryUsage();
}

size_t MemTable::ApproximateRangeBytes(std::string_view begin, std::string_view end) const {
  std::string begin_entry, end_entry;  // what the skip list holds: length-prefixed keys
  PutLengthPrefixed(&begin_entry, begin);
  PutLengthPrefixed(&end_entry, end);
  const uint64_t total = rep_->table.EstimateCount();
  if (total == 0) return 0;
  const uint64_t before_begin = rep_->table.EstimateCountLessThan(begin_entry.data());
  const uint64_t before_end = rep_->table.EstimateCountLessThan(end_entry.data());
  if (before_end <= before_begin) return 0;
  const double share = std::min(1.0, static_cast<double>(before_end - before_begin) /
                                         static_cast<double>(total));
  return static_cast<size_t>(share * static_cast<double>(ApproximateMemoryUsage()));
}

std::unique_ptr<Iterator> MemTable::NewIterator() const {
  return std::make_unique<MemTableIterator>(&rep_->table);
}

void MemTable::Add(SequenceNumber seq, ValueType type, std::string_view user_key,
                   std::string_view value) {
  const MemTableEntry entry{seq, type, user_key, value};
  AddGroup(&entry, 1);
}

namespace {

// Encodes e into the arena(s) of a new skip list reservation; returns the skip list key.
const char* EncodeEntry(const MemTableEntry& e, Table* table, Arena* node_arena,
                        Arena* value_arena, Table::Reservation* reservation) {
  assert(e.seq <= kMaxSequenceNumber);
  assert(e.type == ValueType::kValue || e.type == ValueType::kDeletion);
  assert(e.user_key.size() <= UINT32_MAX - kInternalKeyTrailerSize);
  assert(e.value.size() <= UINT32_MAX);
  const auto internal_key_size =
      static_cast<uint32_t>(e.user_key.size() + kInternalKeyTrailerSize);
  const auto value_size = static_cast<uint32_t>(e.value.size());
  const bool out_of_line =
      value_size > kMaxInlineValue && node_arena->MemoryUsage() >= kOutOfLineValuesAfter;
  const uint32_t tagged_size = value_size << 1 | (out_of_line ? 1 : 0);
  const size_t encoded_size = VarintLength(internal_key_size) + internal_key_size +
                              VarintLength(tagged_size) +
                              (out_of_line ? sizeof(const char*) : value_size);
  // Stored right after its skip list node's links: a search step then finds the node
  // and the key it compares in one cache line (usually) instead of two far apart.
  char* const entry = table->ReserveEntry(encoded_size, reservation);
  char* p = EncodeVarint32(entry, internal_key_size);
  if (!e.user_key.empty()) std::memcpy(p, e.user_key.data(), e.user_key.size());
  p += e.user_key.size();
  EncodeFixed64(p, PackSequenceAndType(e.seq, e.type));
  p += kInternalKeyTrailerSize;
  p = EncodeVarint32(p, tagged_size);
  if (out_of_line) {
    char* stored = value_arena->Allocate(e.value.size());
    std::memcpy(stored, e.value.data(), e.value.size());
    const char* pointer = stored;
    std::memcpy(p, &pointer, sizeof(pointer));
    assert(p + sizeof(pointer) == entry + encoded_size);
  } else {
    if (!e.value.empty()) std::memcpy(p, e.value.data(), e.value.size());
    assert(p + e.value.size() == entry + encoded_size);
  }
  return entry;
}

}  // namespace

void MemTable::AddGroup(const MemTableEntry* entries, size_t n) {
  const char* keys[kGroupSize];
  Table::Reservation reserved[kGroupSize];
  bool inserted[kGroupSize];
  uint64_t hashes[kGroupSize];
  MemTableFilter& filter = rep_->filter;
  while (n > 0) {
    const int group = static_cast<int>(std::min(n, kGroupSize));
    // The filter lines are random cache lines too: prefetched first, written after
    // the entries are encoded, by when they have usually arrived.
    if (filter.enabled()) {
      for (int i = 0; i < group; i++) {
        hashes[i] = BloomHash(entries[i].user_key);
        filter.Prefetch(hashes[i]);
      }
    }
    for (int i = 0; i < group; i++) {
      keys[i] = EncodeEntry(entries[i], &rep_->table, &rep_->arena, &rep_->values, &reserved[i]);
    }
    // Before the entries are linked: see MemTableFilter's concurrency note.
    if (filter.enabled()) {
      for (int i = 0; i < group; i++) filter.Add(hashes[i]);
    }
    rep_->table.InsertGroup(keys, reserved, group, inserted);
    // Sequence numbers are unique per write, so an equal internal key is a caller bug.
    assert(std::all_of(inserted, inserted + group, [](bool b) { return b; }));
    entries += group;
    n -= group;
  }
}

bool MemTable::Get(const LookupKey& key, std::string* value, Status* status) const {
  // An empty memtable (every one on a store at rest) answers from its head node, which
  // every get touches and so stays cached; the filter line a get probes is a cache miss.
  if (empty() || !rep_->filter.MayContain(key.user_key_hash())) return false;
  Table::Iterator iter(&rep_->table);
  iter.Seek(key.memtable_key().data());
  if (!iter.Valid()) return false;
  // The seek landed on the first entry >= (user_key, snapshot): the newest visible
  // version of user_key if there is one, else some later user key.
  std::string_view internal_key = GetLengthPrefixedInternalKey(iter.key());
  if (ExtractUserKey(internal_key) != key.user_key()) return false;
  switch (static_cast<ValueType>(ExtractTrailer(internal_key) & 0xff)) {
    case ValueType::kValue: {
      std::string_view found = GetValueAfter(internal_key);
      value->assign(found.data(), found.size());
      *status = Status::OK();
      return true;
    }
    case ValueType::kDeletion:
      *status = Status::NotFound(std::string_view());
      return true;
  }
  return false;  // unreachable: Add stores only the two types
}

bool MemTable::empty() const {
  Table::Iterator iter(&rep_->table);
  iter.SeekToFirst();
  return !iter.Valid();
}

}  // namespace strata
