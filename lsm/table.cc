#include "lsm/table.h"

#include <algorithm>

#include "lsm/coding.h"
#include "lsm/dbformat.h"

namespace strata {
namespace {

const Comparator* TableComparator() { return GetInternalKeyComparator(); }

// Table cache ids: never reused within the process, so a block cached for a table that
// has since been closed (or whose file number was reused) can never be mistaken for a
// block of another table. Its stale entries age out of the LRU.
std::atomic<uint64_t> next_cache_id{1};

constexpr size_t kCacheKeySize = 16;

// Errors from a block's own decoding do not know the file; say which file and block.
Status BlockError(const std::string& file_name, const BlockHandle& handle, const Status& s) {
  if (!s.IsCorruption()) return s;
  return Status::Corruption(file_name + ": data block at offset " + std::to_string(handle.offset) +
                            ": " + s.message());
}

}  // namespace

TableIterator::TableIterator(const Table* table, BlockCacheFill fill) : fill_(fill) {
  Reset(table);
}

void TableIterator::Reset(const Table* table) {
  table_ = table;
  ResetData();
  readahead_.Reset();
  if (table != nullptr) {
    index_iter_.Reset(table->index_block_.get(), TableComparator());
  } else {
    index_iter_.Clear();
  }
  status_ = Status::OK();
}

void TableIterator::Seek(std::string_view target) {
  if (!status_.ok() || table_ == nullptr) return;
  if (target.size() < kInternalKeyTrailerSize) {
    SetError(Status::InvalidArgument("table iterator: seek target is not an internal key"));
    return;
  }
  table_->SeekIndex(&index_iter_, target);
  InitDataBlock();
  if (block_ != nullptr) data_iter_.Seek(target);
  SkipEmptyBlocksForward();
}

void TableIterator::SeekToFirst() {
  if (!status_.ok() || table_ == nullptr) return;
  index_iter_.SeekToFirst();
  InitDataBlock();
  if (block_ != nullptr) data_iter_.SeekToFirst();
  SkipEmptyBlocksForward();
}

void TableIterator::SeekToLast() {
  if (!status_.ok() || table_ == nullptr) return;
  index_iter_.SeekToLast();
  InitDataBlock();
  if (block_ != nullptr) data_iter_.SeekToLast();
  SkipEmptyBlocksBackward();
}

void TableIterator::Prev() {
  if (!Valid()) return;
  data_iter_.Prev();
  if (!data_iter_.Valid()) SkipEmptyBlocksBackward();
}

void TableIterator::SetError(Status s) {
  if (status_.ok()) status_ = std::move(s);
  ResetData();
}

void TableIterator::ResetData() {
  data_iter_.Clear();  // before the block it points into
  if (block_unshared_) {
    Block::Recycle(&block_, &spare_block_);
  } else {
    block_.reset();
  }
  block_unshared_ = false;
}

// Loads the block index_iter_ points at (unless it is already loaded), unpositioned.
void TableIterator::InitDataBlock() {
  if (!index_iter_.Valid()) {
    if (!index_iter_.ok()) SetError(table_->Corruption("index block: bad entry"));
    ResetData();
    return;
  }
  std::string_view encoded = index_iter_.value();
  BlockHandle handle;
  if (!handle.DecodeFrom(&encoded) || !encoded.empty()) {
    SetError(table_->Corruption("index block: bad block handle"));
    return;
  }
  if (block_ != nullptr && handle.offset == handle_.offset && handle.size == handle_.size) {
    return;
  }
  ResetData();
  std::shared_ptr<const Block> block;
  bool unshared = false;
  Status s = table_->ReadDataBlock(handle, fill_, &block, &readahead_, &spare_block_, &unshared);
  if (!s.ok()) {
    SetError(std::move(s));
    return;
  }
  block_ = std::move(block);
  block_unshared_ = unshared;
  handle_ = handle;
  data_iter_.Reset(block_.get(), TableComparator());
}

// True if the data iterator failed (the error is then recorded).
bool TableIterator::DataIteratorFailed() {
  if (block_ == nullptr || data_iter_.ok()) return false;
  SetError(BlockError(table_->file_name(), handle_, data_iter_.status()));
  return true;
}

void TableIterator::SkipEmptyBlocksForward() {
  while (status_.ok() && (block_ == nullptr || !data_iter_.Valid())) {
    if (DataIteratorFailed() || !index_iter_.Valid()) {
      ResetData();
      return;
    }
    index_iter_.Next();
    InitDataBlock();
    if (block_ != nullptr) data_iter_.SeekToFirst();
  }
}

void TableIterator::SkipEmptyBlocksBackward() {
  while (status_.ok() && (block_ == nullptr || !data_iter_.Valid())) {
    if (DataIteratorFailed() || !index_iter_.Valid()) {
      ResetData();
      return;
    }
    index_iter_.Prev();
    InitDataBlock();
    if (block_ != nullptr) data_iter_.SeekToLast();
  }
}

Table::Table(const Options& options, std::string file_name, std::unique_ptr<RandomAccessFile> file,
             uint64_t blocks_end, const TableReadContext& context)
    : options_(options),
      file_name_(std::move(file_name)),
      file_(std::move(file)),
      blocks_end_(blocks_end),
      context_(context),
      cache_id_(next_cache_id.fetch_add(1, std::memory_order_relaxed)) {}

Table::~Table() = default;

Status Table::Corruption(std::string_view what) const {
  std::string msg = file_name_;
  msg += ": ";
  msg += what;
  return Status::Corruption(msg);
}

Status Table::Open(const Options& options, std::string file_name,
                   std::unique_ptr<RandomAccessFile> file, uint64_t file_size,
                   const TableReadContext& context, std::unique_ptr<Table>* table) {
  table->reset();
  if (file_size < Footer::kEncodedLength) {
    return Status::Corruption(file_name + ": file of " + std::to_string(file_size) +
                              " bytes is too short to be a table");
  }
  const uint64_t footer_offset = file_size - Footer::kEncodedLength;
  char buffer[Footer::kEncodedLength];
  std::string_view encoded;
  Status s = file->Read(footer_offset, Footer::kEncodedLength, &encoded, buffer);
  if (!s.ok()) return s;
  if (encoded.size() != Footer::kEncodedLength) {
    return Status::Corruption(file_name + ": table footer: truncated read");
  }
  Footer footer;
  s = footer.DecodeFrom(encoded, file_name);
  if (!s.ok()) return s;

  std::unique_ptr<Table> result(
      new Table(options, std::move(file_name), std::move(file), footer_offset, context));
  s = result->ReadMetaBlocks(footer);
  if (!s.ok()) return s;
  *table = std::move(result);
  return Status::OK();
}

Status Table::ReadMetaBlocks(const Footer& footer) {
  std::string contents;
  Status s = ReadBlock(*file_, file_name_, blocks_end_, footer.properties_handle, &contents);
  if (!s.ok()) return s;
  s = properties_.DecodeFrom(contents);
  if (!s.ok()) return Corruption(s.message());
  if (properties_.format_version != footer.format_version) {
    return Corruption("properties and footer disagree on the format version");
  }

  s = ReadBlock(*file_, file_name_, blocks_end_, footer.index_handle, &contents);
  if (!s.ok()) return s;
  index_block_ = std::make_unique<Block>(std::move(contents));
  if (!index_block_->status().ok()) {
    return Corruption("index block: " + index_block_->status().message());
  }
  if (properties_.index_bytes != footer.index_handle.size + kBlockTrailerSize) {
    return Corruption("properties and footer disagree on the index size");
  }

  if (footer.filter_handle.size != 0) {
    s = ReadBlock(*file_, file_name_, blocks_end_, footer.filter_handle, &contents);
    if (!s.ok()) return s;
    s = filter_.Init(std::move(contents));
    if (!s.ok()) return Corruption("filter block: " + s.message());
  }
  uint64_t filter_bytes = filter_.empty() ? 0 : footer.filter_handle.size + kBlockTrailerSize;
  if (properties_.filter_bytes != filter_bytes) {
    return Corruption("properties and footer disagree on the filter size");
  }
  return CheckIndex();
}

// The index is small and in memory: checking it whole at open means a data block handle
// in it can be trusted to be decodable, in bounds, and in key order from then on.
Status Table::CheckIndex() {
  if (index_block_->num_entries() > 0 && index_block_->min_key_length() < kInternalKeyTrailerSize) {
    return Corruption("index block: key shorter than an internal key");
  }
  if (properties_.data_bytes > blocks_end_) {
    return Corruption("properties: data area extends past the footer");
  }
  const Comparator* comparator = TableComparator();
  BlockIterator iter(index_block_.get(), comparator);
  uint64_t expected_offset = 0;
  uint64_t count = 0;
  std::string previous_key;
  for (iter.SeekToFirst(); iter.Valid(); iter.Next()) {
    std::string_view encoded = iter.value();
    BlockHandle handle;
    if (!handle.DecodeFrom(&encoded) || !encoded.empty()) {
      return Corruption("index block: bad block handle");
    }
    if (handle.offset != expected_offset) {
      return Corruption("index block: data blocks are not contiguous");
    }
    expected_offset = handle.EndWithTrailer();
    if (expected_offset > properties_.data_bytes) {
      return Corruption("index block: data block extends past the data area");
    }
    if (count > 0 && comparator->Compare(previous_key, iter.key()) >= 0) {
      return Corruption("index block: keys out of order");
    }
    previous_key.assign(iter.key());
    count++;
  }
  if (!iter.ok()) return Corruption("index block: " + iter.status().message());
  if (count != properties_.num_data_blocks || expected_offset != properties_.data_bytes) {
    return Corruption("index block disagrees with the properties on the data blocks");
  }
  // Entry i is restart point i only if every entry is a restart point: then entry keys
  // are stored whole and IndexSummary's entry ranges are restart point ranges.
  if (count > 0 && index_block_->num_restarts() == count) {
    // Unchecked properties, but any bounds give correct (if slower) searches.
    auto user_key_of = [](const std::string& key) {
      return key.size() >= kInternalKeyTrailerSize ? ExtractUserKey(key) : std::string_view();
    };
    index_summary_ =
        IndexSummary(user_key_of(properties_.smallest_key), user_key_of(properties_.largest_key));
    for (iter.SeekToFirst(); iter.Valid(); iter.Next()) {
      std::string_view encoded = iter.value();
      BlockHandle handle;
      handle.DecodeFrom(&encoded);  // checked above
      index_summary_.Add(ExtractUserKey(iter.key()), handle);
    }
    index_summary_.Finish();
  }
  return Status::OK();
}

void Table::SeekIndex(BlockIterator* index_iter, std::string_view target) const {
  if (index_summary_.size() == 0) {
    index_iter->Seek(target);
    return;
  }
  uint32_t first, limit;
  index_summary_.Narrow(ExtractUserKey(target), &first, &limit);
  if (first == limit) {
    index_iter->SeekToRestart(first);  // the first entry past target's user key
  } else {
    index_iter->SeekBetweenRestarts(target, first, limit);
  }
}

void BlockReadahead::Reset() {
  next_offset_ = UINT64_MAX;
  blocks_in_a_row_ = 0;
  size_ = 0;
  data_offset_ = 0;
  data_ = {};
}

Status Table::ReadDataBlock(const BlockHandle& handle, BlockCacheFill fill,
                            std::shared_ptr<const Block>* block, BlockReadahead* readahead,
                            std::string* spare, bool* unshared) const {
  if (unshared != nullptr) *unshared = false;
  if (readahead != nullptr) {
    readahead->blocks_in_a_row_ =
        handle.offset == readahead->next_offset_ ? readahead->blocks_in_a_row_ + 1 : 1;
    readahead->next_offset_ = handle.EndWithTrailer();
  }
  Cache* const cache = context_.block_cache.get();
  char key[kCacheKeySize];
  if (cache != nullptr) {
    EncodeFixed64(key, cache_id_);
    EncodeFixed64(key + 8, handle.offset);
    const std::string_view cache_key(key, sizeof(key));
    // Readers that never insert outright find only what was offered (or inserted) in the
    // admission window: LookupOffered answers the rest without the cache's lock.
    std::shared_ptr<const void> cached = fill == BlockCacheFill::kFill
                                              ? cache->Lookup(cache_key)
                                              : cache->LookupOffered(cache_key);
    if (cached != nullptr) {
      *block = std::static_pointer_cast<const Block>(std::move(cached));
      return Status::OK();
    }
  }

  // Its size is kept too: decompressing a block of about the same size then zero-fills
  // nothing before overwriting it.
  std::string contents;
  if (spare != nullptr) contents.swap(*spare);
  // A mapped file needs no read-ahead: its blocks are views, and a buffer would only
  // cost an allocation per iterator.
  Status s = readahead != nullptr && !file_->ReadsAreViews() &&
                     readahead->blocks_in_a_row_ >= BlockReadahead::kAfterBlocks
                 ? ReadDataBlockContents(handle, readahead, &contents)
                 : ReadBlock(*file_, file_name_, properties_.data_bytes, handle, &contents);
  if (!s.ok()) return s;
  if (TableReadCounters* counters = context_.counters.get()) {
    counters->blocks_read.fetch_add(1, std::memory_order_relaxed);
    counters->block_bytes_read.fetch_add(handle.size + kBlockTrailerSize,
                                         std::memory_order_relaxed);
  }
  std::shared_ptr<const Block> result = std::make_shared<Block>(std::move(contents));
  if (!result->status().ok()) return BlockError(file_name_, handle, result->status());
  if (result->num_entries() > 0 && result->min_key_length() < kInternalKeyTrailerSize) {
    return BlockError(file_name_, handle, Status::Corruption("key shorter than an internal key"));
  }
  // Only blocks that passed every check are cached: a hit needs no checking again.
  bool cached = false;
  if (cache != nullptr && fill != BlockCacheFill::kDontFill) {
    const std::string_view cache_key(key, sizeof(key));
    const size_t charge = sizeof(Block) + result->size();
    if (fill == BlockCacheFill::kFill) {
      cache->Insert(cache_key, result, charge);
      cached = true;
    } else {
      cached = cache->InsertOnSecondOffer(cache_key, result, charge);
    }
  }
  if (unshared != nullptr) *unshared = !cached;
  *block = std::move(result);
  return Status::OK();
}

Status Table::ReadDataBlockContents(const BlockHandle& handle, BlockReadahead* readahead,
                                    std::string* contents) const {
  Status s = CheckBlockHandle(file_name_, properties_.data_bytes, handle);
  if (!s.ok()) return s;
  const uint64_t end = handle.EndWithTrailer();
  if (!readahead->Holds(handle.offset, end)) {
    readahead->size_ =
        std::clamp(2 * readahead->size_, BlockReadahead::kInitialSize, BlockReadahead::kMaxSize);
    // At least the block itself, at most the data area.
    const uint64_t n = std::max<uint64_t>(
        end - handle.offset,
        std::min<uint64_t>(readahead->size_, properties_.data_bytes - handle.offset));
    readahead->buffer_.resize(n);
    readahead->data_ = {};
    s = file_->Read(handle.offset, n, &readahead->data_, readahead->buffer_.data());
    if (!s.ok()) {
      readahead->Reset();
      return s;
    }
    readahead->data_offset_ = handle.offset;
  }
  // A short read leaves the block incomplete: DecodeBlock calls that a truncated read.
  const uint64_t begin = handle.offset - readahead->data_offset_;
  std::string_view raw = readahead->data_.substr(std::min<uint64_t>(begin, readahead->data_.size()),
                                                 end - handle.offset);
  return DecodeBlock(raw, file_name_, handle, contents);
}

std::unique_ptr<Iterator> Table::NewIterator(BlockCacheFill fill) const {
  return std::make_unique<TableIterator>(this, fill);
}

size_t Table::pinned_bytes() const {
  return index_block_->size() + index_summary_.bytes() + filter_.size();
}

bool Table::KeyMayMatch(std::string_view user_key) const { return filter_.KeyMayMatch(user_key); }

Status Table::Get(std::string_view lookup_internal_key, TableGetResult* result,
                  std::string* value) const {
  *result = TableGetResult::kNotPresent;
  if (lookup_internal_key.size() < kInternalKeyTrailerSize) {
    return Status::InvalidArgument("Table::Get: lookup key is not an internal key");
  }
  return Get(lookup_internal_key, BloomHash(ExtractUserKey(lookup_internal_key)), result, value);
}

Status Table::Get(std::string_view lookup_internal_key, uint64_t user_key_hash,
                  TableGetResult* result, std::string* value) const {
  *result = TableGetResult::kNotPresent;
  if (!filter_.empty()) {
    TableReadCounters* counters = context_.counters.get();
    if (counters != nullptr) counters->bloom_checks.fetch_add(1, std::memory_order_relaxed);
    if (!filter_.HashMayMatch(user_key_hash)) {
      if (counters != nullptr) counters->bloom_useful.fetch_add(1, std::memory_order_relaxed);
      return Status::OK();
    }
  }

  if (index_summary_.size() > 0) return GetThroughSummary(lookup_internal_key, result, value);

  // Iterators on the stack: a Get allocates nothing but the value it returns.
  BlockIterator index_iter(index_block_.get(), TableComparator());
  // Usually one block. The lookup key can fall after a block's last key yet not after
  // its separator; then the answer, if any, is the first entry of the next block.
  for (index_iter.Seek(lookup_internal_key); index_iter.Valid(); index_iter.Next()) {
    std::string_view encoded = index_iter.value();
    BlockHandle handle;
    if (!handle.DecodeFrom(&encoded)) return Corruption("index block: bad block handle");
    bool done = false;
    Status s = GetFromDataBlock(handle, lookup_internal_key, result, value, &done);
    if (!s.ok() || done) return s;
  }
  if (!index_iter.ok()) return Corruption("index block: " + index_iter.status().message());
  return Status::OK();
}

// Get with the index summary: the first index entry >= the lookup key is found in the
// summary alone unless entries share the key's summary (then whole keys decide among
// them), and its block handle comes from the summary too.
Status Table::GetThroughSummary(std::string_view lookup_internal_key, TableGetResult* result,
                                std::string* value) const {
  uint32_t index, limit;
  index_summary_.Narrow(ExtractUserKey(lookup_internal_key), &index, &limit);
  if (index < limit) {
    BlockIterator index_iter(index_block_.get(), TableComparator());
    index_iter.SeekBetweenRestarts(lookup_internal_key, index, limit);
    if (!index_iter.ok()) return Corruption("index block: " + index_iter.status().message());
    index = index_iter.Valid() ? index_iter.restart_index() : index_summary_.size();
  }
  for (; index < index_summary_.size(); index++) {
    bool done = false;
    Status s = GetFromDataBlock(index_summary_.block_handle(index), lookup_internal_key, result,
                                value, &done);
    if (!s.ok() || done) return s;
  }
  return Status::OK();
}

// Looks for the lookup key in one data block. *done = false if every entry of the block
// is before the lookup key: the answer, if any, is in the next block.
Status Table::GetFromDataBlock(const BlockHandle& handle, std::string_view lookup_internal_key,
                               TableGetResult* result, std::string* value, bool* done) const {
  // A get's block buffer is kept for the thread's next get (Block::Recycle).
  thread_local std::string spare;
  std::shared_ptr<const Block> block;
  bool unshared = false;
  struct RecycleOnExit {
    std::shared_ptr<const Block>* block;
    const bool* unshared;
    ~RecycleOnExit() {
      if (*unshared) Block::Recycle(block, &spare);
    }
  } recycle{&block, &unshared};
  Status s = ReadDataBlock(handle, BlockCacheFill::kFillOnSecondRead, &block, nullptr, &spare,
                           &unshared);
  if (!s.ok()) return s;
  BlockIterator iter(block.get(), TableComparator());
  iter.Seek(lookup_internal_key);
  if (!iter.ok()) return BlockError(file_name_, handle, iter.status());
  if (!iter.Valid()) return Status::OK();
  *done = true;
  ParsedInternalKey parsed;
  if (!ParseInternalKey(iter.key(), &parsed)) {
    return BlockError(file_name_, handle, Status::Corruption("bad internal key"));
  }
  if (parsed.user_key == ExtractUserKey(lookup_internal_key)) {
    if (parsed.type == ValueType::kValue) {
      *result = TableGetResult::kFound;
      value->assign(iter.value());
    } else {
      *result = TableGetResult::kDeleted;
    }
  }
  return Status::OK();
}

}  // namespace strata
