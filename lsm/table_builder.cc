#include "lsm/table_builder.h"

#include <algorithm>

#include "lsm/dbformat.h"

namespace strata {
namespace {

// Block offsets are 32-bit (restart array), so a block must stay under 4 GiB: blocks
// are cut at no more than kMaxBlockSize and no single entry may exceed kMaxEntrySize.
constexpr size_t kMaxBlockSize = size_t{1} << 30;
constexpr size_t kMaxEntrySize = size_t{1} << 31;

// The type of this builder's compressed blocks; kNone without compression.
CompressionType CompressionFor(const Options& options) {
  if (!options.compression) return CompressionType::kNone;
  switch (options.compression_algorithm) {
    case CompressionAlgorithm::kZstd:
      return CompressionType::kZstd;
    case CompressionAlgorithm::kLz4:
      return CompressionType::kLz4;
  }
  return CompressionType::kZstd;  // not a valid enumerator: the default algorithm
}

}  // namespace

TableBuilder::TableBuilder(const Options& options, WritableFile* file)
    : options_(options),
      file_(file),
      data_block_(options.block_restart_interval),
      // Index entries are looked up by binary search only, never scanned: restart at
      // every entry.
      index_block_(1),
      comparator_(GetInternalKeyComparator()),
      has_filter_(options.bloom_bits_per_key > 0),
      filter_(std::max(options.bloom_bits_per_key, 1)) {
  properties_.compression = CompressionFor(options);
}

TableBuilder::~TableBuilder() = default;

void TableBuilder::Add(std::string_view internal_key, std::string_view value) {
  if (closed_ || !status_.ok()) return;
  const InternalKeyComparator* const comparator = comparator_;
  ParsedInternalKey parsed;
  if (!ParseInternalKey(internal_key, &parsed)) {
    status_ = Status::InvalidArgument("TableBuilder::Add: not an internal key");
    return;
  }
  if (internal_key.size() + value.size() > kMaxEntrySize) {
    status_ = Status::InvalidArgument("TableBuilder::Add: entry too large");
    return;
  }
  const bool first = properties_.num_entries == 0;
  if (!first && comparator->Compare(internal_key, last_key_) <= 0) {
    status_ = Status::InvalidArgument("TableBuilder::Add: keys out of order");
    return;
  }

  // Versions of one user key are adjacent: add each user key to the filter once. Done
  // before last_key_ may be shortened into a separator below.
  if (has_filter_ && (first || parsed.user_key != ExtractUserKey(last_key_))) {
    filter_.AddKey(parsed.user_key);
  }
  if (pending_index_entry_) {
    comparator->FindShortestSeparator(&last_key_, internal_key);
    scratch_.clear();
    pending_handle_.EncodeTo(&scratch_);
    index_block_.Add(last_key_, scratch_);
    pending_index_entry_ = false;
  }

  if (first) {
    properties_.smallest_key.assign(internal_key);
    properties_.smallest_sequence = parsed.sequence;
    properties_.largest_sequence = parsed.sequence;
  }
  properties_.smallest_sequence = std::min(properties_.smallest_sequence, parsed.sequence);
  properties_.largest_sequence = std::max(properties_.largest_sequence, parsed.sequence);
  properties_.num_entries++;
  if (parsed.type == ValueType::kDeletion) properties_.num_deletions++;
  properties_.raw_key_bytes += internal_key.size();
  properties_.raw_value_bytes += value.size();

  last_key_.assign(internal_key);
  data_block_.Add(internal_key, value);
  if (data_block_.CurrentSizeEstimate() >= std::min(options_.block_size, kMaxBlockSize)) {
    FlushDataBlock();
  }
}

void TableBuilder::FlushDataBlock() {
  if (data_block_.empty() || !status_.ok()) return;
  WriteBlock(data_block_.Finish(), /*may_compress=*/true, &pending_handle_);
  data_block_.Reset();
  if (status_.ok()) {
    pending_index_entry_ = true;
    properties_.num_data_blocks++;
  }
}

bool TableBuilder::CompressIfWorthIt(std::string_view contents) {
  bool compressed = false;
  switch (properties_.compression) {
    case CompressionType::kNone:
      return false;
    case CompressionType::kZstd:
      compressed = ZstdCompress(contents, options_.compression_level, &compressed_);
      break;
    case CompressionType::kLz4:
      compressed = Lz4Compress(contents, &compressed_);
      break;
  }
  // lz4's size prefix counts: the saving is measured on what goes to disk.
  return compressed && compressed_.size() <= contents.size() - contents.size() / 8;
}

void TableBuilder::WriteBlock(std::string_view contents, bool may_compress, BlockHandle* handle) {
  if (may_compress && CompressIfWorthIt(contents)) {
    WriteRawBlock(compressed_, properties_.compression, handle);
  } else {
    WriteRawBlock(contents, CompressionType::kNone, handle);
  }
}

void TableBuilder::WriteRawBlock(std::string_view contents, CompressionType type,
                                 BlockHandle* handle) {
  handle->offset = offset_;
  handle->size = contents.size();
  status_ = file_->Append(contents);
  if (!status_.ok()) return;
  offset_ += contents.size();
  scratch_.clear();
  AppendBlockTrailer(contents, type, &scratch_);
  status_ = file_->Append(scratch_);
  if (status_.ok()) offset_ += kBlockTrailerSize;
}

Status TableBuilder::Finish() {
  if (closed_) return status_;
  FlushDataBlock();
  closed_ = true;
  if (!status_.ok()) return status_;
  properties_.data_bytes = offset_;

  if (properties_.num_entries > 0) properties_.largest_key = last_key_;
  if (pending_index_entry_) {
    GetInternalKeyComparator()->FindShortSuccessor(&last_key_);
    scratch_.clear();
    pending_handle_.EncodeTo(&scratch_);
    index_block_.Add(last_key_, scratch_);
    pending_index_entry_ = false;
  }

  Footer footer;
  if (has_filter_) {
    std::string filter = filter_.Finish();
    WriteRawBlock(filter, CompressionType::kNone, &footer.filter_handle);
    if (!status_.ok()) return status_;
    properties_.filter_bytes = filter.size() + kBlockTrailerSize;
  }

  // The index goes after the properties, which record its size on disk: build (and
  // compress) it first. Compressed on disk only: readers keep it uncompressed in memory.
  std::string_view index = index_block_.Finish();
  CompressionType index_type = CompressionType::kNone;
  if (CompressIfWorthIt(index)) {
    index = compressed_;
    index_type = properties_.compression;
  }
  properties_.index_bytes = index.size() + kBlockTrailerSize;
  std::string properties;
  properties_.EncodeTo(&properties);
  WriteRawBlock(properties, CompressionType::kNone, &footer.properties_handle);
  if (!status_.ok()) return status_;
  WriteRawBlock(index, index_type, &footer.index_handle);
  if (!status_.ok()) return status_;

  std::string encoded_footer;
  footer.EncodeTo(&encoded_footer);
  status_ = file_->Append(encoded_footer);
  if (status_.ok()) offset_ += encoded_footer.size();
  return status_;
}

void TableBuilder::Abandon() { closed_ = true; }

}  // namespace strata
