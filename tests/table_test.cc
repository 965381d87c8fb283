// SSTables: TableBuilder + Table round trips against a sorted model, the bloom filter
// keeping data blocks unread, and corruption of every region of the file (which must end
// in a Corruption status naming the file: never a crash, never wrong data).
#include "lsm/table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lsm/block.h"
#include "lsm/block_builder.h"
#include "lsm/coding.h"
#include "lsm/crc32c.h"
#include "lsm/dbformat.h"
#include "lsm/table_builder.h"
#include "lsm/table_format.h"
#include "lsm/table_properties.h"

namespace strata {
namespace {

const std::string kFileName = "/db/000042.sst";

// --- In-memory files ------------------------------------------------------------

class StringSink final : public WritableFile {
 public:
  // Fails every Append after fail_after successful ones (-1: never).
  explicit StringSink(int fail_after = -1) : fail_after_(fail_after) {}
  Status Append(std::string_view data) override {
    if (fail_after_ >= 0 && appends_ >= fail_after_) return Status::IOError("disk full");
    appends_++;
    contents_.append(data);
    return Status::OK();
  }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }
  const std::string& contents() const { return contents_; }

 private:
  const int fail_after_;
  int appends_ = 0;
  std::string contents_;
};

// Counts reads so tests can see which blocks a lookup touched.
// With views, reads return views of the contents (as from a mapped file) and never
// touch scratch.
class StringSource final : public RandomAccessFile {
 public:
  explicit StringSource(std::string contents, bool views = false)
      : contents_(std::move(contents)), views_(views) {}
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    reads_++;
    if (offset > contents_.size()) {
      *result = {};
      return Status::OK();
    }
    n = std::min<size_t>(n, contents_.size() - offset);
    if (views_) {
      *result = std::string_view(contents_.data() + offset, n);
      return Status::OK();
    }
    std::copy_n(contents_.data() + offset, n, scratch);
    *result = std::string_view(scratch, n);
    return Status::OK();
  }
  bool ReadsAreViews() const override { return views_; }
  int reads() const { return reads_.load(); }

 private:
  const std::string contents_;
  const bool views_;
  mutable std::atomic<int> reads_{0};
};

// --- Model ----------------------------------------------------------------------

std::string IKey(std::string_view user_key, SequenceNumber seq, ValueType type) {
  std::string k;
  AppendInternalKey(&k, user_key, seq, type);
  return k;
}

std::string SeekKey(std::string_view user_key, SequenceNumber seq) {
  return IKey(user_key, seq, kValueTypeForSeek);
}

struct Entry {
  std::string key;  // internal
  std::string value;
};
using Model = std::vector<Entry>;

std::string UserKey(int i) {
  char buf[32];
  snprintf(buf, sizeof(buf), "user%08d", i);
  return buf;
}

// Text-like values: compress well with zstd.
std::string CompressibleValue(std::mt19937& rng) {
  static const char* kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
  std::string v;
  int words = rng() % 20;
  for (int i = 0; i < words; i++) {
    v += kWords[rng() % 6];
    v += ' ';
  }
  return v;
}

std::string RandomValue(std::mt19937& rng, size_t len) {
  std::string v(len, '\0');
  for (char& c : v) c = static_cast<char>(rng());
  return v;
}

// Even user keys 0, 2, 4, ... (odd ones are absent), each with 1-5 versions at distinct
// sequence numbers; about 15% of versions are deletions.
Model MakeModel(int num_user_keys, uint32_t seed, bool compressible = true) {
  std::mt19937 rng(seed);
  Model model;
  SequenceNumber seq = 1;
  for (int i = 0; i < num_user_keys; i++) {
    int versions = 1 + rng() % 5;
    std::vector<SequenceNumber> seqs;
    for (int v = 0; v < versions; v++) {
      seq += 1 + rng() % 3;
      seqs.push_back(seq);
    }
    std::sort(seqs.rbegin(), seqs.rend());  // newest first, as internal keys order them
    for (SequenceNumber s : seqs) {
      bool deletion = rng() % 100 < 15;
      model.push_back(
          {IKey(UserKey(2 * i), s, deletion ? ValueType::kDeletion : ValueType::kValue),
           deletion ? ""
                    : (compressible ? CompressibleValue(rng) : RandomValue(rng, rng() % 100))});
    }
  }
  return model;
}

std::string BuildTable(const Options& options, const Model& model,
                       TableProperties* properties = nullptr) {
  StringSink sink;
  TableBuilder builder(options, &sink);
  for (const Entry& e : model) builder.Add(e.key, e.value);
  Status s = builder.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(builder.FileSize(), sink.contents().size());
  EXPECT_EQ(builder.NumEntries(), model.size());
  if (properties != nullptr) *properties = builder.properties();
  return sink.contents();
}

Status OpenTable(const Options& options, const std::string& contents, std::unique_ptr<Table>* table,
                 const StringSource** source = nullptr,
                 const TableReadContext& context = TableReadContext()) {
  auto file = std::make_unique<StringSource>(contents);
  if (source != nullptr) *source = file.get();
  return Table::Open(options, kFileName, std::move(file), contents.size(), context, table);
}

// Scans stop after this many entries, so an iterator that fails to advance makes a
// test fail instead of hang.
constexpr size_t kMaxScan = 100000;

std::vector<Entry> ScanForward(Iterator* it) {
  std::vector<Entry> out;
  for (it->SeekToFirst(); it->Valid() && out.size() < kMaxScan; it->Next()) {
    out.push_back({std::string(it->key()), std::string(it->value())});
  }
  return out;
}

std::vector<Entry> ScanBackward(Iterator* it) {
  std::vector<Entry> out;
  for (it->SeekToLast(); it->Valid() && out.size() < kMaxScan; it->Prev()) {
    out.push_back({std::string(it->key()), std::string(it->value())});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

bool operator==(const Entry& a, const Entry& b) { return a.key == b.key && a.value == b.value; }

// The model's answer to Get(user_key at snapshot).
TableGetResult ModelGet(const Model& model, std::string_view user_key, SequenceNumber snapshot,
                        std::string* value) {
  std::string target = SeekKey(user_key, snapshot);
  auto it = std::lower_bound(model.begin(), model.end(), target, [](const Entry& e, const auto& t) {
    return GetInternalKeyComparator()->Compare(e.key, t) < 0;
  });
  if (it == model.end() || ExtractUserKey(it->key) != user_key) return TableGetResult::kNotPresent;
  ParsedInternalKey parsed;
  EXPECT_TRUE(ParseInternalKey(it->key, &parsed));
  if (parsed.type == ValueType::kDeletion) return TableGetResult::kDeleted;
  *value = it->value;
  return TableGetResult::kFound;
}

// --- Round trips ----------------------------------------------------------------

struct Config {
  CompressionType compression;
  size_t block_size;
  int restart_interval;
  size_t block_cache_size = 0;  // 0 = no block cache
};

void PrintTo(const Config& c, std::ostream* os) {
  *os << "compression=" << static_cast<int>(c.compression) << " block_size=" << c.block_size
      << " restart_interval=" << c.restart_interval << " block_cache=" << c.block_cache_size;
}

class TableRoundTrip : public testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    options_.compression = GetParam().compression != CompressionType::kNone;
    options_.compression_algorithm = GetParam().compression == CompressionType::kLz4
                                         ? CompressionAlgorithm::kLz4
                                         : CompressionAlgorithm::kZstd;
    options_.block_size = GetParam().block_size;
    options_.block_restart_interval = GetParam().restart_interval;
    model_ = MakeModel(8000, 7);
    ASSERT_GE(model_.size(), 20000u);
    contents_ = BuildTable(options_, model_, &built_properties_);
    TableReadContext context;
    if (GetParam().block_cache_size > 0) {
      context.block_cache = std::make_shared<Cache>(GetParam().block_cache_size);
    }
    Status s = OpenTable(options_, contents_, &table_, nullptr, context);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Options options_;
  Model model_;
  std::string contents_;
  TableProperties built_properties_;
  std::unique_ptr<Table> table_;
};

TEST_P(TableRoundTrip, FullScanForwardEqualsInput) {
  auto it = table_->NewIterator();
  EXPECT_TRUE(ScanForward(it.get()) == model_);
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
}

TEST_P(TableRoundTrip, FullScanBackwardEqualsInput) {
  auto it = table_->NewIterator();
  EXPECT_TRUE(ScanBackward(it.get()) == model_);
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
}

TEST_P(TableRoundTrip, SeekLandsOnFirstEntryAtOrAfterTarget) {
  std::mt19937 rng(11);
  auto it = table_->NewIterator();
  const InternalKeyComparator* cmp = GetInternalKeyComparator();
  for (int i = 0; i < 3000; i++) {
    // Present and absent user keys (odd numbers and past the end), random snapshots.
    std::string target = SeekKey(UserKey(rng() % 16100), rng() % 50000);
    auto expected = std::lower_bound(
        model_.begin(), model_.end(), target,
        [&](const Entry& e, const std::string& t) { return cmp->Compare(e.key, t) < 0; });
    it->Seek(target);
    for (int step = 0; step < 3; step++, ++expected) {
      if (expected == model_.end()) {
        ASSERT_FALSE(it->Valid());
        break;
      }
      ASSERT_TRUE(it->Valid()) << i;
      ASSERT_EQ(it->key(), expected->key);
      ASSERT_EQ(it->value(), expected->value);
      it->Next();
    }
  }
  // Prev from a seek position crosses block boundaries too.
  for (int i = 0; i < 500; i++) {
    size_t index = 1 + rng() % (model_.size() - 1);
    it->Seek(model_[index].key);
    ASSERT_TRUE(it->Valid());
    it->Prev();
    ASSERT_TRUE(it->Valid());
    ASSERT_EQ(it->key(), model_[index - 1].key);
  }
  EXPECT_TRUE(it->status().ok());
}

TEST_P(TableRoundTrip, GetReturnsNewestVersionVisibleAtSnapshot) {
  std::mt19937 rng(12);
  int found = 0, deleted = 0, absent = 0;
  for (size_t i = 0; i < model_.size(); i += 1 + rng() % 4) {
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(model_[i].key, &parsed));
    std::string user_key(parsed.user_key);
    // At the version's own sequence, just below it (an older version or nothing), the
    // latest snapshot, and an absent neighbour key.
    for (SequenceNumber snapshot : {parsed.sequence, parsed.sequence - 1, kMaxSequenceNumber}) {
      std::string expected_value, value;
      TableGetResult expected = ModelGet(model_, user_key, snapshot, &expected_value);
      TableGetResult result;
      Status s = table_->Get(SeekKey(user_key, snapshot), &result, &value);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(result, expected) << user_key << " @" << snapshot;
      if (result == TableGetResult::kFound) {
        ASSERT_EQ(value, expected_value);
        found++;
      }
      if (result == TableGetResult::kDeleted) deleted++;
      if (result == TableGetResult::kNotPresent) absent++;
    }
    std::string absent_key = user_key + "!";
    TableGetResult result;
    std::string value;
    ASSERT_TRUE(table_->Get(SeekKey(absent_key, kMaxSequenceNumber), &result, &value).ok());
    ASSERT_EQ(result, TableGetResult::kNotPresent);
  }
  // Every kind of answer was exercised.
  EXPECT_GT(found, 1000);
  EXPECT_GT(deleted, 100);
  EXPECT_GT(absent, 100);
}

TEST_P(TableRoundTrip, PropertiesDescribeTheTable) {
  const TableProperties& p = table_->properties();
  uint64_t deletions = 0, key_bytes = 0, value_bytes = 0;
  SequenceNumber min_seq = kMaxSequenceNumber, max_seq = 0;
  for (const Entry& e : model_) {
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(e.key, &parsed));
    if (parsed.type == ValueType::kDeletion) deletions++;
    key_bytes += e.key.size();
    value_bytes += e.value.size();
    min_seq = std::min(min_seq, parsed.sequence);
    max_seq = std::max(max_seq, parsed.sequence);
  }
  EXPECT_EQ(p.format_version, kTableFormatVersion);
  EXPECT_EQ(p.num_entries, model_.size());
  EXPECT_EQ(p.num_deletions, deletions);
  EXPECT_EQ(p.raw_key_bytes, key_bytes);
  EXPECT_EQ(p.raw_value_bytes, value_bytes);
  EXPECT_EQ(p.smallest_key, model_.front().key);
  EXPECT_EQ(p.largest_key, model_.back().key);
  EXPECT_EQ(p.smallest_sequence, min_seq);
  EXPECT_EQ(p.largest_sequence, max_seq);
  EXPECT_EQ(p.compression, GetParam().compression);
  // Uncompressed blocks are cut near block_size, so the count is about raw / block_size.
  uint64_t raw = key_bytes + value_bytes;
  EXPECT_GT(p.num_data_blocks, raw / GetParam().block_size / 2);
  EXPECT_LT(p.num_data_blocks, raw / GetParam().block_size * 2 + 2);
  EXPECT_GT(p.filter_bytes, 8000 * 10 / 8u);  // 10 bits for each distinct user key
  EXPECT_LT(p.filter_bytes, 8000 * 10 / 8u + 64);
  // The regions add up to the file, with the properties block in the gap.
  uint64_t known = p.data_bytes + p.filter_bytes + p.index_bytes + Footer::kEncodedLength;
  EXPECT_LT(known, contents_.size());
  EXPECT_GT(known + 200, contents_.size());
  // What the builder reports is what the reader decodes.
  std::string a, b;
  built_properties_.EncodeTo(&a);
  p.EncodeTo(&b);
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(
    TableConfigs, TableRoundTrip,
    // The cached configurations: one cache holding the whole table, one
    // so small that most reads evict the block the last one used.
    testing::Values(Config{CompressionType::kNone, 4096, 16},
                    Config{CompressionType::kZstd, 4096, 16},
                    Config{CompressionType::kZstd, 256, 1}, Config{CompressionType::kNone, 1024, 4},
                    Config{CompressionType::kZstd, 4096, 16, 64u << 20},
                    Config{CompressionType::kZstd, 256, 1, 16 * 1024},
                    Config{CompressionType::kLz4, 4096, 16}, Config{CompressionType::kLz4, 256, 1},
                    Config{CompressionType::kLz4, 1024, 4},
                    Config{CompressionType::kLz4, 65536, 16},
                    Config{CompressionType::kLz4, 4096, 16, 64u << 20},
                    Config{CompressionType::kLz4, 256, 1, 16 * 1024}),
    [](const testing::TestParamInfo<Config>& info) {
      const char* type = info.param.compression == CompressionType::kNone   ? "Raw"
                         : info.param.compression == CompressionType::kZstd ? "Zstd"
                                                                            : "Lz4";
      std::string name = std::string(type) + "Block" + std::to_string(info.param.block_size) +
                         "Restart" + std::to_string(info.param.restart_interval);
      if (info.param.block_cache_size > 0) {
        name += "Cache" + std::to_string(info.param.block_cache_size);
      }
      return name;
    });

TEST(Table, CompressedTableIsSmallerForCompressibleValues) {
  Model model = MakeModel(3000, 8);
  Options raw, zstd;
  raw.compression = false;
  zstd.compression = true;
  std::string raw_table = BuildTable(raw, model);
  std::string zstd_table = BuildTable(zstd, model);
  EXPECT_LT(zstd_table.size() * 2, raw_table.size())
      << zstd_table.size() << " vs " << raw_table.size();
}

// The compression type in each data block's trailer, in file order.
std::vector<CompressionType> DataBlockTypes(const std::string& contents) {
  Footer footer;
  EXPECT_TRUE(
      footer.DecodeFrom(std::string_view(contents).substr(contents.size() - 64), kFileName).ok());
  std::string index_contents;
  StringSource source(contents);
  Status s =
      ReadBlock(source, kFileName, contents.size() - 64, footer.index_handle, &index_contents);
  EXPECT_TRUE(s.ok()) << s.ToString();
  Block index(std::move(index_contents));
  EXPECT_TRUE(index.status().ok()) << index.status().ToString();
  std::vector<CompressionType> types;
  std::unique_ptr<Iterator> it = index.NewIterator(GetInternalKeyComparator());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view value = it->value();
    BlockHandle handle;
    EXPECT_TRUE(handle.DecodeFrom(&value));
    types.push_back(static_cast<CompressionType>(contents[handle.offset + handle.size]));
  }
  return types;
}

TEST(Table, Lz4TableHasLz4DataBlocksAndIsSmallerForCompressibleValues) {
  Model model = MakeModel(3000, 8);
  Options raw, zstd, lz4;
  raw.compression = false;
  lz4.compression_algorithm = CompressionAlgorithm::kLz4;
  TableProperties lz4_properties;
  std::string raw_table = BuildTable(raw, model);
  std::string zstd_table = BuildTable(zstd, model);
  std::string lz4_table = BuildTable(lz4, model, &lz4_properties);
  EXPECT_EQ(lz4_properties.compression, CompressionType::kLz4);
  std::vector<CompressionType> types = DataBlockTypes(lz4_table);
  ASSERT_EQ(types.size(), lz4_properties.num_data_blocks);
  for (CompressionType type : types) EXPECT_EQ(type, CompressionType::kLz4);
  // Six words repeated: lz4 halves them (zstd, with its entropy coding, does better).
  EXPECT_LT(lz4_table.size() * 2, raw_table.size())
      << lz4_table.size() << " vs " << raw_table.size();
  EXPECT_NE(lz4_table, zstd_table);
  std::unique_ptr<Table> table;
  Status s = OpenTable(lz4, lz4_table, &table);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<Iterator> it = table->NewIterator();
  EXPECT_EQ(model, ScanForward(it.get()));
}

TEST(Table, IncompressibleBlocksAreStoredRaw) {
  // Random values do not shrink by 1/8: every data block stays raw, so enabling
  // compression changes no size but the index block's (whose separator keys compress).
  Model model = MakeModel(2000, 9, /*compressible=*/false);
  Options raw, zstd;
  raw.compression = false;
  zstd.compression = true;
  TableProperties raw_properties, zstd_properties;
  std::string raw_table = BuildTable(raw, model, &raw_properties);
  std::string zstd_table = BuildTable(zstd, model, &zstd_properties);
  EXPECT_EQ(zstd_properties.data_bytes, raw_properties.data_bytes);
  EXPECT_EQ(zstd_table.size() - zstd_properties.index_bytes,
            raw_table.size() - raw_properties.index_bytes);
}

TEST(Table, EmptyTableOpensAndHasNoEntries) {
  Options options;
  TableProperties properties;
  std::string contents = BuildTable(options, {}, &properties);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table).ok());
  EXPECT_EQ(table->properties().num_entries, 0u);
  EXPECT_EQ(table->properties().num_data_blocks, 0u);
  auto it = table->NewIterator();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  it->Seek(SeekKey("a", 1));
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  TableGetResult result;
  std::string value;
  ASSERT_TRUE(table->Get(SeekKey("a", 1), &result, &value).ok());
  EXPECT_EQ(result, TableGetResult::kNotPresent);
}

// With tiny blocks, the versions of one user key spread over many blocks, and the
// separators between them are internal keys of that same user key.
TEST(Table, GetFindsVersionsSpreadOverManyBlocks) {
  Model model;
  model.push_back({IKey("a", 5, ValueType::kValue), "a5"});
  for (SequenceNumber s = 1000; s >= 10; s -= 10) {
    bool deletion = s % 70 == 0;
    model.push_back({IKey("key", s, deletion ? ValueType::kDeletion : ValueType::kValue),
                     deletion ? "" : "value@" + std::to_string(s)});
  }
  model.push_back({IKey("z", 5, ValueType::kValue), "z5"});
  Options options;
  options.block_size = 64;
  options.block_restart_interval = 1;
  std::string contents = BuildTable(options, model);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table).ok());
  ASSERT_GT(table->properties().num_data_blocks, 20u);
  for (SequenceNumber snapshot = 0; snapshot <= 1100; snapshot++) {
    std::string expected_value, value;
    TableGetResult expected = ModelGet(model, "key", snapshot, &expected_value);
    TableGetResult result;
    ASSERT_TRUE(table->Get(SeekKey("key", snapshot), &result, &value).ok());
    ASSERT_EQ(result, expected) << snapshot;
    if (result == TableGetResult::kFound) {
      ASSERT_EQ(value, expected_value);
    }
  }
}

TEST(Table, GetOfKeyExcludedByFilterReadsNoDataBlock) {
  Options options;
  Model model = MakeModel(5000, 10);
  std::string contents = BuildTable(options, model);
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source).ok());

  int excluded = 0;
  for (int i = 0; i < 5000; i++) {
    std::string absent = UserKey(2 * i + 1);
    int before = source->reads();
    TableGetResult result;
    std::string value;
    ASSERT_TRUE(table->Get(SeekKey(absent, kMaxSequenceNumber), &result, &value).ok());
    EXPECT_EQ(result, TableGetResult::kNotPresent);
    if (!table->KeyMayMatch(absent)) {
      excluded++;
      ASSERT_EQ(source->reads(), before) << absent;
    } else {
      // A false positive costs a block (two if the key falls between a block's last key
      // and its separator).
      ASSERT_GE(source->reads(), before + 1) << absent;
    }
  }
  EXPECT_GT(excluded, 4900);  // about 1% false positives

  // The counter does see data block reads.
  int before = source->reads();
  TableGetResult result;
  std::string value;
  ASSERT_TRUE(table->Get(SeekKey(UserKey(0), kMaxSequenceNumber), &result, &value).ok());
  EXPECT_EQ(source->reads(), before + 1);
}

TEST(Table, ZeroBitsPerKeyWritesNoFilter) {
  Options options;
  options.bloom_bits_per_key = 0;
  Model model = MakeModel(1000, 13);
  TableProperties properties;
  std::string contents = BuildTable(options, model, &properties);
  EXPECT_EQ(properties.filter_bytes, 0u);
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source).ok());
  EXPECT_TRUE(table->KeyMayMatch("definitely absent"));
  int before = source->reads();
  TableGetResult result;
  std::string value;
  ASSERT_TRUE(table->Get(SeekKey(UserKey(1), kMaxSequenceNumber), &result, &value).ok());
  EXPECT_EQ(result, TableGetResult::kNotPresent);
  EXPECT_EQ(source->reads(), before + 1);  // without a filter the block must be read
  // Smaller than the same table with a filter, by about the filter's size.
  std::string with_filter = BuildTable(Options(), model);
  EXPECT_GT(with_filter.size(), contents.size() + 1000 * 10 / 8);
}

TEST(Table, ConcurrentReadersAgree) {
  Options options;
  Model model = MakeModel(3000, 14);
  std::string contents = BuildTable(options, model);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table).ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      auto it = table->NewIterator();
      for (size_t i = t; i < model.size(); i += 4) {
        it->Seek(model[i].key);
        if (!it->Valid() || it->key() != model[i].key || it->value() != model[i].value) {
          mismatches++;
        }
        std::string expected_value, value;
        ParsedInternalKey parsed;
        ParseInternalKey(model[i].key, &parsed);
        TableGetResult expected =
            ModelGet(model, parsed.user_key, parsed.sequence, &expected_value);
        TableGetResult result;
        if (!table->Get(model[i].key, &result, &value).ok() || result != expected ||
            (result == TableGetResult::kFound && value != expected_value)) {
          mismatches++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Table, PinnedBytesAreTheIndexItsSummaryAndTheFilter) {
  Options options;
  options.compression = false;  // so the index's in-memory size can be read off the file
  TableProperties properties;
  std::string contents = BuildTable(options, MakeModel(2000, 23), &properties);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table).ok());
  ASSERT_GT(properties.filter_bytes, 0u);
  const uint64_t index_and_filter =
      properties.index_bytes + properties.filter_bytes - 2 * kBlockTrailerSize;
  // The IndexSummary: a summary and an offset per data block, the end offset, a top
  // array of every 16th summary, and the shared key prefix.
  const uint64_t blocks = properties.num_data_blocks;
  ASSERT_GT(blocks, 50u);
  EXPECT_GE(table->pinned_bytes(), index_and_filter + 16 * blocks + 8);
  EXPECT_LE(table->pinned_bytes(), index_and_filter + 17 * blocks + 64);
}

// The index block is compressed on disk like a data block (it shrinks well: separator
// keys share long prefixes), and readers still hold it uncompressed.
TEST(Table, IndexBlockIsStoredCompressedWhenThatSaves) {
  Model model = MakeModel(2000, 29);
  Options raw;
  raw.compression = false;
  Options zstd;
  zstd.compression = true;
  TableProperties raw_properties, zstd_properties;
  BuildTable(raw, model, &raw_properties);
  std::string contents = BuildTable(zstd, model, &zstd_properties);
  ASSERT_GT(raw_properties.num_data_blocks, 50u);
  EXPECT_LT(zstd_properties.index_bytes, raw_properties.index_bytes * 3 / 4);
  std::unique_ptr<Table> table;
  Status s = OpenTable(zstd, contents, &table);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // In memory: the whole index, as large as the uncompressed one on disk.
  EXPECT_GE(table->pinned_bytes(), raw_properties.index_bytes - kBlockTrailerSize +
                                       zstd_properties.filter_bytes - kBlockTrailerSize);
  std::unique_ptr<Iterator> it = table->NewIterator();
  EXPECT_EQ(model, ScanForward(it.get()));
}

// --- Block cache and read counters ------------------------------------------------

TableReadContext CacheContext(size_t capacity, int shard_bits = Cache::kDefaultShardBits) {
  TableReadContext context;
  context.block_cache = std::make_shared<Cache>(capacity, shard_bits);
  context.counters = std::make_shared<TableReadCounters>();
  return context;
}

// Get(key) must succeed and agree with the model; returns false (after a failed
// expectation) if it does not.
bool GetAgreesWithModel(const Table& table, const Model& model, const std::string& key) {
  ParsedInternalKey parsed;
  EXPECT_TRUE(ParseInternalKey(key, &parsed));
  std::string expected_value, value;
  TableGetResult expected = ModelGet(model, parsed.user_key, parsed.sequence, &expected_value);
  TableGetResult result;
  Status s = table.Get(key, &result, &value);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(result, expected);
  if (result == TableGetResult::kFound) {
    EXPECT_EQ(value, expected_value);
  }
  return s.ok() && result == expected &&
         (result != TableGetResult::kFound || value == expected_value);
}

// Gets cache a block on its second read (Cache::InsertOnSecondOffer): a block read once
// stays out, so random gets over much more data than the cache do not churn it.
TEST(TableBlockCache, GetsCacheABlockOnItsSecondReadAndThenReadNoFile) {
  Options options;
  Model model = MakeModel(3000, 20);
  std::string contents = BuildTable(options, model);
  TableReadContext context = CacheContext(1 << 20);
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source, context).ok());
  ASSERT_GT(table->properties().num_data_blocks, 10u);
  Cache& cache = *context.block_cache;

  const int before = source->reads();
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[0].key));
  EXPECT_EQ(source->reads(), before + 1);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.entries(), 0u) << "a block read once is not kept";
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[1].key));  // same (first) block
  EXPECT_EQ(source->reads(), before + 2);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.entries(), 1u) << "its second read keeps it";
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[0].key));
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[1].key));
  EXPECT_EQ(source->reads(), before + 2);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(context.counters->blocks_read.load(), 2u);
}

TEST(TableBlockCache, GetsAfterAFullScanAreAllServedFromTheCache) {
  Options options;
  Model model = MakeModel(3000, 21);
  std::string contents = BuildTable(options, model);
  TableReadContext context = CacheContext(8 << 20);
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source, context).ok());
  const uint64_t blocks = table->properties().num_data_blocks;

  int before = source->reads();
  auto it = table->NewIterator();
  EXPECT_TRUE(ScanForward(it.get()) == model);
  // Every block read from the file once (in fewer reads: the scan reads ahead).
  EXPECT_LE(static_cast<uint64_t>(source->reads() - before), blocks);
  EXPECT_EQ(context.counters->blocks_read.load(), blocks);
  EXPECT_EQ(context.block_cache->entries(), blocks);

  before = source->reads();
  for (const Entry& e : model) ASSERT_TRUE(GetAgreesWithModel(*table, model, e.key));
  auto again = table->NewIterator();
  EXPECT_TRUE(ScanBackward(again.get()) == model);
  EXPECT_EQ(source->reads(), before);
  EXPECT_EQ(context.counters->blocks_read.load(), blocks);
}

TEST(TableBlockCache, ChargeIsTheUncompressedBlockPlusTheBlockObject) {
  Options options;
  options.compression = false;  // so the uncompressed sizes can be read off the file
  TableProperties properties;
  std::string contents = BuildTable(options, MakeModel(2000, 22), &properties);
  TableReadContext context = CacheContext(8 << 20);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table, nullptr, context).ok());
  auto it = table->NewIterator();
  ScanForward(it.get());
  ASSERT_TRUE(it->status().ok());
  const uint64_t blocks = properties.num_data_blocks;
  EXPECT_EQ(context.block_cache->usage(),
            properties.data_bytes - blocks * kBlockTrailerSize + blocks * sizeof(Block));
}

TEST(TableBlockCache, DontFillIteratorUsesTheCacheButAddsNothing) {
  Options options;
  Model model = MakeModel(2000, 24);
  std::string contents = BuildTable(options, model);
  TableReadContext context = CacheContext(8 << 20);
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source, context).ok());
  const int blocks = static_cast<int>(table->properties().num_data_blocks);

  // Blocks read from the file (the counter counts blocks, not reads: a scan reads ahead).
  auto blocks_read = [&] { return static_cast<int>(context.counters->blocks_read.load()); };
  for (int pass = 0; pass < 2; pass++) {
    int before = blocks_read();
    auto it = table->NewIterator(BlockCacheFill::kDontFill);
    EXPECT_TRUE(ScanForward(it.get()) == model);
    EXPECT_EQ(blocks_read() - before, blocks) << pass;
    EXPECT_EQ(context.block_cache->entries(), 0u);
  }
  // Two gets in the first block: the second caches it.
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[0].key));
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[0].key));
  int before = blocks_read();
  auto it = table->NewIterator(BlockCacheFill::kDontFill);
  EXPECT_TRUE(ScanForward(it.get()) == model);
  EXPECT_EQ(blocks_read() - before, blocks - 1);
  EXPECT_EQ(context.block_cache->entries(), 1u);
}

// The iterator's block is evicted by other reads while the iterator is positioned in
// it; the iterator must go on reading it (under ASan: without touching freed memory).
TEST(TableBlockCache, IteratorKeepsItsBlockWhileTheCacheEvictsIt) {
  Options options;
  Model model = MakeModel(2000, 25);
  std::string contents = BuildTable(options, model);
  TableReadContext context = CacheContext(2 * options.block_size, /*shard_bits=*/0);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table, nullptr, context).ok());
  ASSERT_GT(table->properties().num_data_blocks, 10u);

  auto it = table->NewIterator();
  std::vector<Entry> seen;
  it->SeekToFirst();
  for (int i = 0; i < 3 && it->Valid(); i++, it->Next()) {
    seen.push_back({std::string(it->key()), std::string(it->value())});
  }
  for (size_t i = model.size() / 2; i < model.size(); i += 10) {  // other blocks
    ASSERT_TRUE(GetAgreesWithModel(*table, model, model[i].key));
  }
  EXPECT_LE(context.block_cache->entries(), 2u);
  for (; it->Valid(); it->Next()) {
    seen.push_back({std::string(it->key()), std::string(it->value())});
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_TRUE(seen == model);
  EXPECT_LE(context.block_cache->usage(), context.block_cache->capacity());
}

TEST(TableBlockCache, TablesSharingACacheEachGetTheirOwnBlocks) {
  Options options;
  options.compression = false;
  Model model_a = MakeModel(1000, 26);
  Model model_b = model_a;  // same keys, so the same block offsets
  for (Entry& e : model_b) {
    if (!e.value.empty()) e.value[0] ^= 1;
  }
  std::string contents_a = BuildTable(options, model_a);
  std::string contents_b = BuildTable(options, model_b);
  ASSERT_EQ(contents_a.size(), contents_b.size());
  TableReadContext context = CacheContext(8 << 20);
  std::unique_ptr<Table> a, b, a_again;
  ASSERT_TRUE(OpenTable(options, contents_a, &a, nullptr, context).ok());
  ASSERT_TRUE(OpenTable(options, contents_b, &b, nullptr, context).ok());
  for (const Entry& e : model_a) {
    ASSERT_TRUE(GetAgreesWithModel(*a, model_a, e.key));
    ASSERT_TRUE(GetAgreesWithModel(*b, model_b, e.key));
  }
  // A table opened again (a new Table on the same file) has its own blocks too.
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents_a, &a_again, &source, context).ok());
  int before = source->reads();
  ASSERT_TRUE(GetAgreesWithModel(*a_again, model_a, model_a[0].key));
  EXPECT_EQ(source->reads(), before + 1);
}

TEST(TableReadCounters, CountBloomChecksUsefulNegativesAndBlockReads) {
  Options options;
  Model model = MakeModel(2000, 27);
  std::string contents = BuildTable(options, model);
  TableReadContext context;  // counters, no block cache
  context.counters = std::make_shared<TableReadCounters>();
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source, context).ok());
  const TableReadCounters& counters = *context.counters;

  uint64_t excluded = 0;
  const int before = source->reads();
  for (int i = 0; i < 2000; i++) {
    std::string absent = UserKey(2 * i + 1);
    TableGetResult result;
    std::string value;
    ASSERT_TRUE(table->Get(SeekKey(absent, kMaxSequenceNumber), &result, &value).ok());
    if (!table->KeyMayMatch(absent)) excluded++;
  }
  EXPECT_GT(excluded, 1900u);
  EXPECT_EQ(counters.bloom_checks.load(), 2000u);
  EXPECT_EQ(counters.bloom_useful.load(), excluded);
  EXPECT_EQ(counters.blocks_read.load(), static_cast<uint64_t>(source->reads() - before));

  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[0].key));
  EXPECT_EQ(counters.bloom_checks.load(), 2001u);
  EXPECT_EQ(counters.bloom_useful.load(), excluded);
  EXPECT_EQ(counters.blocks_read.load(), static_cast<uint64_t>(source->reads() - before));
  EXPECT_GT(counters.block_bytes_read.load(), counters.blocks_read.load() * kBlockTrailerSize);

  // Without a filter there is nothing to check.
  options.bloom_bits_per_key = 0;
  std::string unfiltered = BuildTable(options, model);
  TableReadContext context2;
  context2.counters = std::make_shared<TableReadCounters>();
  ASSERT_TRUE(OpenTable(options, unfiltered, &table, nullptr, context2).ok());
  ASSERT_TRUE(GetAgreesWithModel(*table, model, model[0].key));
  EXPECT_EQ(context2.counters->bloom_checks.load(), 0u);
  EXPECT_EQ(context2.counters->blocks_read.load(), 1u);
}

// Many readers over a cache far smaller than the table: blocks are evicted while other
// threads hold them. Under TSan this also checks the table/cache locking.
TEST(TableBlockCache, ConcurrentReadersThroughASmallCacheAgree) {
  Options options;
  Model model = MakeModel(3000, 28);
  std::string contents = BuildTable(options, model);
  TableReadContext context = CacheContext(16 * 2 * options.block_size);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, contents, &table, nullptr, context).ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      auto it = table->NewIterator();
      std::mt19937 rng(t);
      for (int n = 0; n < 2000; n++) {
        size_t i = rng() % model.size();
        it->Seek(model[i].key);
        if (!it->Valid() || it->key() != model[i].key || it->value() != model[i].value) {
          mismatches++;
        }
        if (!GetAgreesWithModel(*table, model, model[(i * 7919) % model.size()].key)) {
          mismatches++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(context.block_cache->hits(), 0u);
  EXPECT_LE(context.block_cache->usage(), context.block_cache->capacity());
}

// --- Builder errors -------------------------------------------------------------

TEST(TableBuilder, RejectsKeysOutOfOrder) {
  StringSink sink;
  TableBuilder builder(Options(), &sink);
  builder.Add(IKey("b", 1, ValueType::kValue), "x");
  builder.Add(IKey("a", 1, ValueType::kValue), "x");
  EXPECT_TRUE(builder.status().IsInvalidArgument());
  // Same user key: a higher sequence sorts first, so it may not follow a lower one.
  StringSink sink2;
  TableBuilder builder2(Options(), &sink2);
  builder2.Add(IKey("a", 1, ValueType::kValue), "x");
  builder2.Add(IKey("a", 2, ValueType::kValue), "x");
  EXPECT_TRUE(builder2.status().IsInvalidArgument());
  EXPECT_TRUE(builder2.Finish().IsInvalidArgument());
}

TEST(TableBuilder, RejectsKeysThatAreNotInternalKeys) {
  StringSink sink;
  TableBuilder builder(Options(), &sink);
  builder.Add("short", "x");
  EXPECT_TRUE(builder.status().IsInvalidArgument());
}

TEST(TableBuilder, ReportsTheFirstFileError) {
  Model model = MakeModel(2000, 15);
  for (int fail_after : {0, 1, 5, 20}) {
    StringSink sink(fail_after);
    TableBuilder builder(Options(), &sink);
    for (const Entry& e : model) builder.Add(e.key, e.value);
    Status s = builder.Finish();
    EXPECT_TRUE(s.IsIOError()) << fail_after << ": " << s.ToString();
    EXPECT_TRUE(builder.status().IsIOError());
    EXPECT_EQ(builder.FileSize(), sink.contents().size());
  }
}

TEST(TableBuilder, AbandonWritesNothingMore) {
  StringSink sink;
  TableBuilder builder(Options(), &sink);
  builder.Add(IKey("a", 1, ValueType::kValue), "x");
  builder.Abandon();
  EXPECT_TRUE(sink.contents().empty());  // the first block was never full
  builder.Add(IKey("b", 1, ValueType::kValue), "x");
  EXPECT_EQ(builder.NumEntries(), 1u);
}

// --- Corruption -----------------------------------------------------------------

// A small table with every region present and several zstd-compressed data blocks.
std::string SmallTable(Model* model_out = nullptr,
                       CompressionAlgorithm algorithm = CompressionAlgorithm::kZstd) {
  Model model = MakeModel(100, 16);
  Options options;
  options.block_size = 512;
  options.compression_algorithm = algorithm;
  if (model_out != nullptr) *model_out = model;
  return BuildTable(options, model);
}

void ExpectNamesFile(const Status& s) {
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(kFileName), std::string::npos) << s.ToString();
}

// Opens contents and reads everything (full scans both ways, and some Gets).
// Returns the first error, or OK if everything read equals model.
Status OpenAndReadAll(const std::string& contents, const Model& model) {
  std::unique_ptr<Table> table;
  Status s = OpenTable(Options(), contents, &table);
  if (!s.ok()) return s;
  auto it = table->NewIterator();
  std::vector<Entry> forward = ScanForward(it.get());
  if (!it->status().ok()) return it->status();
  auto back = table->NewIterator();
  std::vector<Entry> backward = ScanBackward(back.get());
  if (!back->status().ok()) return back->status();
  for (size_t i = 0; i < model.size(); i += 17) {
    TableGetResult result;
    std::string value;
    s = table->Get(model[i].key, &result, &value);
    if (!s.ok()) return s;
  }
  if (!(forward == model) || !(backward == model)) {
    return Status::InvalidArgument("WRONG DATA returned without an error");
  }
  return Status::OK();
}

Footer DecodeFooter(const std::string& contents) {
  Footer footer;
  EXPECT_TRUE(
      footer.DecodeFrom(std::string_view(contents).substr(contents.size() - 64), kFileName).ok());
  return footer;
}

// Rewrites the footer and recomputes its checksum, so only the intended field is wrong.
std::string WithFooter(std::string contents, const Footer& footer) {
  std::string encoded;
  footer.EncodeTo(&encoded);
  contents.replace(contents.size() - 64, 64, encoded);
  return contents;
}

TEST(TableCorruption, TruncatedFileFailsToOpen) {
  std::string contents = SmallTable();
  for (size_t size = 0; size < contents.size(); size++) {
    std::unique_ptr<Table> table;
    Status s = OpenTable(Options(), contents.substr(0, size), &table);
    ASSERT_FALSE(s.ok()) << size;
    ExpectNamesFile(s);
    EXPECT_EQ(table, nullptr);
  }
}

TEST(TableCorruption, FileClaimingMoreBytesThanItHasFailsToOpen) {
  // The file is shorter than the size the caller believes: reads come back short.
  std::string contents = SmallTable();
  std::unique_ptr<Table> table;
  auto file = std::make_unique<StringSource>(contents.substr(0, contents.size() - 10));
  Status s = Table::Open(Options(), kFileName, std::move(file), contents.size(), TableReadContext(),
                         &table);
  ExpectNamesFile(s);
}

TEST(TableCorruption, BadMagicNumber) {
  std::string contents = SmallTable();
  contents[contents.size() - 3] ^= 0x40;
  std::unique_ptr<Table> table;
  Status s = OpenTable(Options(), contents, &table);
  ExpectNamesFile(s);
  EXPECT_NE(s.message().find("magic"), std::string::npos) << s.ToString();
}

TEST(TableCorruption, UnsupportedFormatVersion) {
  std::string contents = SmallTable();
  Footer footer = DecodeFooter(contents);
  for (uint32_t version : {0u, kTableFormatVersion + 1}) {
    footer.format_version = version;
    std::unique_ptr<Table> table;
    Status s = OpenTable(Options(), WithFooter(contents, footer), &table);
    ExpectNamesFile(s);
    EXPECT_NE(s.message().find("version " + std::to_string(version)), std::string::npos)
        << s.ToString();
  }
}

// tests/data/table_format_v1.sst was written by the format-version-1 writer (commit
// 094b596: standard-layout bloom filter, zstd blocks of 1 KiB): keys key0000..key0299 at
// sequence 1000 + i, values "value<i>" + 40 x ('a' + i % 26). Newer code must keep
// reading it, filter included.
TEST(TableFormat, Version1TablesStillRead) {
  std::string contents;
  ASSERT_TRUE(ReadFileToString(Env::Default(), STRATA_TEST_DATA_DIR "/table_format_v1.sst",
                               &contents)
                  .ok());
  std::unique_ptr<Table> table;
  Status s = OpenTable(Options(), contents, &table);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(1u, table->properties().format_version);
  std::unique_ptr<Iterator> it = table->NewIterator();
  int i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
    char key[16];
    std::snprintf(key, sizeof(key), "key%04d", i);
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(it->key(), &parsed));
    ASSERT_EQ(key, std::string(parsed.user_key));
    ASSERT_EQ(1000u + i, parsed.sequence);
    ASSERT_EQ("value" + std::to_string(i) + std::string(40, 'a' + i % 26), it->value());
    // The standard-layout filter answers for every stored key.
    ASSERT_TRUE(table->KeyMayMatch(key)) << key;
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(300, i);
  int rejected = 0;
  for (int j = 0; j < 300; j++) rejected += !table->KeyMayMatch("absent" + std::to_string(j));
  EXPECT_GT(rejected, 250);  // the filter is really consulted
}

TEST(TableCorruption, FooterChecksumMismatch) {
  std::string contents = SmallTable();
  contents[contents.size() - 64 + 3] ^= 1;  // inside the filter handle
  std::unique_ptr<Table> table;
  Status s = OpenTable(Options(), contents, &table);
  ExpectNamesFile(s);
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.ToString();
}

TEST(TableCorruption, HandlesOutOfBoundsFailToOpen) {
  const std::string contents = SmallTable();
  const Footer good = DecodeFooter(contents);
  const uint64_t footer_offset = contents.size() - 64;
  std::vector<std::pair<const char*, Footer>> cases;
  for (int which = 0; which < 3; which++) {
    for (auto [offset, size] : std::vector<std::pair<uint64_t, uint64_t>>{
             {footer_offset, 1},        // starts at the footer
             {footer_offset - 10, 20},  // runs into the footer
             {0, UINT64_MAX},           // size overflows
             {UINT64_MAX - 2, 1},       // offset overflows
             {1ull << 40, 10}}) {       // far past the end
      Footer f = good;
      BlockHandle* h[] = {&f.filter_handle, &f.properties_handle, &f.index_handle};
      h[which]->offset = offset;
      h[which]->size = size;
      cases.emplace_back(which == 0 ? "filter" : which == 1 ? "properties" : "index", f);
    }
  }
  for (const auto& [name, footer] : cases) {
    SCOPED_TRACE(name);
    std::unique_ptr<Table> table;
    Status s = OpenTable(Options(), WithFooter(contents, footer), &table);
    ExpectNamesFile(s);
  }
  // Swapped handles point at well-formed blocks of the wrong kind.
  Footer swapped = good;
  std::swap(swapped.index_handle, swapped.properties_handle);
  std::unique_ptr<Table> table;
  ExpectNamesFile(OpenTable(Options(), WithFooter(contents, swapped), &table));
}

// Every byte of the file is covered by a block checksum, the footer checksum or the
// magic number, so flipping any one of them must be reported, naming the file.
class TableCorruptionOfEachAlgorithm : public testing::TestWithParam<CompressionAlgorithm> {};

TEST_P(TableCorruptionOfEachAlgorithm, FlippedByteInEveryRegionIsDetected) {
  Model model;
  const std::string contents = SmallTable(&model, GetParam());
  ASSERT_TRUE(OpenAndReadAll(contents, model).ok());
  const Footer footer = DecodeFooter(contents);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
  const uint64_t data_end = table->properties().data_bytes;
  ASSERT_GT(table->properties().num_data_blocks, 3u);

  auto region_of = [&](uint64_t pos) -> std::string {
    if (pos < data_end) return "data";
    for (auto [name, h] : {std::pair{"filter", footer.filter_handle},
                           std::pair{"properties", footer.properties_handle},
                           std::pair{"index", footer.index_handle}}) {
      if (pos >= h.offset && pos < h.offset + h.size + kBlockTrailerSize) return name;
    }
    if (pos >= contents.size() - 64) return "footer";
    return "gap";
  };
  std::map<std::string, int> detected;
  for (uint64_t pos = 0; pos < contents.size(); pos++) {
    for (char mask : {'\x01', '\x80'}) {
      if (mask == '\x80' && pos % 7 != 0) continue;
      std::string bad = contents;
      bad[pos] ^= mask;
      Status s = OpenAndReadAll(bad, model);
      ASSERT_TRUE(s.IsCorruption())
          << "byte " << pos << " (" << region_of(pos) << ") flipped: " << s.ToString();
      ASSERT_NE(s.message().find(kFileName), std::string::npos) << s.ToString();
      detected[region_of(pos)]++;
    }
  }
  for (const char* region : {"data", "filter", "properties", "index", "footer"}) {
    EXPECT_GT(detected[region], 0) << region;
  }
  EXPECT_EQ(detected.count("gap"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TableCorruptionOfEachAlgorithm,
                         testing::Values(CompressionAlgorithm::kZstd, CompressionAlgorithm::kLz4),
                         [](const testing::TestParamInfo<CompressionAlgorithm>& info) {
                           return info.param == CompressionAlgorithm::kZstd ? "Zstd" : "Lz4";
                         });

TEST(TableBlockCache, CorruptDataBlockIsReportedEveryTimeAndNeverCached) {
  Model model;
  std::string contents = SmallTable(&model);
  contents[10] ^= 1;  // inside the first data block
  TableReadContext context = CacheContext(1 << 20);
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(Options(), contents, &table, &source, context).ok());
  for (int attempt = 0; attempt < 2; attempt++) {
    int before = source->reads();
    TableGetResult result;
    std::string value;
    Status s = table->Get(model[0].key, &result, &value);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(s.message().find(kFileName), std::string::npos) << s.ToString();
    EXPECT_EQ(source->reads(), before + 1) << attempt;
    auto it = table->NewIterator();
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid());
    EXPECT_TRUE(it->status().IsCorruption()) << it->status().ToString();
  }
  EXPECT_EQ(context.block_cache->entries(), 0u);
}

// --- Hand-assembled tables: cases the builder never writes ------------------------

// Writes data blocks (raw contents given), an index with the given separator keys, the
// properties and footer that match them, and no filter.
std::string AssembleTable(const std::vector<std::string>& blocks,
                          const std::vector<std::string>& separators,
                          CompressionType type = CompressionType::kNone,
                          const std::function<void(TableProperties*)>& tweak = nullptr,
                          int index_restart_interval = 1) {
  std::string file;
  BlockBuilder index(index_restart_interval);
  for (size_t i = 0; i < blocks.size(); i++) {
    BlockHandle h{file.size(), blocks[i].size()};
    file += blocks[i];
    AppendBlockTrailer(blocks[i], type, &file);
    std::string encoded;
    h.EncodeTo(&encoded);
    index.Add(separators[i], encoded);
  }
  TableProperties p;
  p.num_data_blocks = blocks.size();
  p.data_bytes = file.size();
  std::string index_contents(index.Finish());
  p.index_bytes = index_contents.size() + kBlockTrailerSize;
  if (tweak) tweak(&p);
  std::string props;
  p.EncodeTo(&props);
  Footer footer;
  footer.properties_handle = {file.size(), props.size()};
  file += props;
  AppendBlockTrailer(props, CompressionType::kNone, &file);
  footer.index_handle = {file.size(), index_contents.size()};
  file += index_contents;
  AppendBlockTrailer(index_contents, CompressionType::kNone, &file);
  footer.EncodeTo(&file);
  return file;
}

std::string DataBlock(const std::vector<std::string>& keys) {
  BlockBuilder b(16);
  for (const auto& k : keys) b.Add(k, "v:" + k);
  return std::string(b.Finish());
}

TEST(TableAssembled, EmptyDataBlocksAreSkippedInBothDirections) {
  std::string a = IKey("a", 1, ValueType::kValue), b = IKey("b", 1, ValueType::kValue),
              c = IKey("c", 1, ValueType::kValue);
  std::string contents =
      AssembleTable({DataBlock({}), DataBlock({a}), DataBlock({}), DataBlock({}), DataBlock({b, c}),
                     DataBlock({})},
                    {SeekKey("0", 1), a, SeekKey("a0", 1), SeekKey("a1", 1), c, SeekKey("d", 1)});
  std::unique_ptr<Table> table;
  Status s = OpenTable(Options(), contents, &table);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Model expected = {{a, "v:" + a}, {b, "v:" + b}, {c, "v:" + c}};
  auto it = table->NewIterator();
  EXPECT_TRUE(ScanForward(it.get()) == expected);
  EXPECT_TRUE(ScanBackward(it.get()) == expected);
  it->Seek(SeekKey("a0", 1));  // lands in an empty block, continues to b
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), b);
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), a);
  it->Seek(SeekKey("c0", 1));  // past every key, into the empty last block
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  TableGetResult result;
  std::string value;
  ASSERT_TRUE(table->Get(SeekKey("b", 5), &result, &value).ok());
  EXPECT_EQ(result, TableGetResult::kFound);
  EXPECT_EQ(value, "v:" + b);
}

// A separator may be any key between two blocks, also one of the next block's user key:
// then a lookup can pass a block's last key without passing its separator, and the
// answer is the first entry of the next block (behind an empty block here).
TEST(TableAssembled, GetContinuesIntoTheNextBlockPastTheSeparator) {
  std::string a = IKey("a", 1, ValueType::kValue), b = IKey("b", 1, ValueType::kValue);
  std::string contents =
      AssembleTable({DataBlock({a}), DataBlock({}), DataBlock({b})},
                    {IKey("b", 3, ValueType::kValue), IKey("b", 2, ValueType::kValue), b});
  std::unique_ptr<Table> table;
  Status s = OpenTable(Options(), contents, &table);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (SequenceNumber snapshot : {1, 2, 5, 100}) {
    TableGetResult result;
    std::string value;
    ASSERT_TRUE(table->Get(SeekKey("b", snapshot), &result, &value).ok());
    EXPECT_EQ(result, TableGetResult::kFound) << snapshot;
    EXPECT_EQ(value, "v:" + b);
    auto it = table->NewIterator();
    it->Seek(SeekKey("b", snapshot));
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key(), b);
  }
  TableGetResult result;
  std::string value;
  ASSERT_TRUE(table->Get(SeekKey("b", 0), &result, &value).ok());
  EXPECT_EQ(result, TableGetResult::kNotPresent);  // b@1 is newer than the snapshot
}

TEST(TableAssembled, KeysTooShortForInternalKeysAreCorruption) {
  // A checksum-valid block with a 3-byte key must not reach the internal key comparator,
  // which reads 8 trailer bytes.
  std::string contents = AssembleTable({DataBlock({"abc"})}, {SeekKey("b", 1)});
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
  auto it = table->NewIterator();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  ExpectNamesFile(it->status());
  TableGetResult result;
  std::string value;
  ExpectNamesFile(table->Get(SeekKey("a", 1), &result, &value));

  // The same in the index block is caught at open.
  std::string bad_index = AssembleTable({DataBlock({IKey("a", 1, ValueType::kValue)})}, {"x"});
  ExpectNamesFile(OpenTable(Options(), bad_index, &table));
}

TEST(TableAssembled, GarbageZstdFrameWithValidChecksumIsCorruption) {
  std::mt19937 rng(17);
  std::string garbage = RandomValue(rng, 300);
  std::string frame;
  ASSERT_TRUE(ZstdCompress(DataBlock({IKey("a", 1, ValueType::kValue)}), 1, &frame));
  std::string truncated_frame = frame.substr(0, frame.size() - 3);
  for (const std::string& block : {garbage, truncated_frame, std::string()}) {
    std::string contents = AssembleTable({block}, {SeekKey("b", 1)}, CompressionType::kZstd);
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
    auto it = table->NewIterator();
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid());
    ExpectNamesFile(it->status());
  }
  // The untouched frame decodes.
  std::string contents = AssembleTable({frame}, {SeekKey("b", 1)}, CompressionType::kZstd);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
  auto it = table->NewIterator();
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), IKey("a", 1, ValueType::kValue));
}

// Opens contents (one data block, checksummed as it is) and scans it: the block must
// fail to decode with a Corruption naming the file whose message contains `what`.
void ExpectDataBlockCorruption(const std::string& contents, std::string_view what) {
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
  auto it = table->NewIterator();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  ExpectNamesFile(it->status());
  EXPECT_NE(it->status().message().find(what), std::string::npos) << it->status().ToString();
  TableGetResult result;
  std::string value;
  ExpectNamesFile(table->Get(SeekKey("a", 1), &result, &value));
}

TEST(TableAssembled, MalformedLz4PayloadWithValidChecksumIsCorruption) {
  const std::string block = DataBlock({IKey("a", 1, ValueType::kValue)});
  std::string payload;
  ASSERT_TRUE(Lz4Compress(block, &payload));
  uint32_t size;
  std::string_view lz4 = payload;
  ASSERT_TRUE(GetVarint32(&lz4, &size));
  ASSERT_EQ(size, block.size());
  auto with_size = [&](uint64_t claimed) {
    std::string out;
    PutVarint64(&out, claimed);
    out += lz4;
    return out;
  };
  std::mt19937 rng(23);
  const struct {
    std::string payload;
    const char* what;
  } cases[] = {
      {std::string(), "bad lz4 size prefix"},
      {std::string("\xff\xff\xff\xff\xff\x01", 6), "bad lz4 size prefix"},
      // The size lz4 decodes to must be the one recorded, whichever way it is off.
      {with_size(size + 1), "lz4 content size mismatch"},
      {with_size(size - 1), "malformed lz4 block"},
      {with_size(0), "malformed lz4 block"},
      // No valid lz4 block expands 255-fold: refused before allocating.
      {with_size(lz4.size() * 256), "implausible lz4 content size"},
      {with_size(uint64_t{1} << 31), "implausible lz4 content size"},
      {with_size(UINT32_MAX), "implausible lz4 content size"},
      {payload.substr(0, payload.size() - 3), "malformed lz4 block"},
      {with_size(size) + "x", "malformed lz4 block"},
      {with_size(size).substr(0, 1) + RandomValue(rng, 300), "lz4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.payload));
    ExpectDataBlockCorruption(AssembleTable({c.payload}, {SeekKey("b", 1)}, CompressionType::kLz4),
                              c.what);
  }
  // The untouched payload decodes.
  std::string contents = AssembleTable({payload}, {SeekKey("b", 1)}, CompressionType::kLz4);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
  auto it = table->NewIterator();
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), IKey("a", 1, ValueType::kValue));
}

TEST(TableFormat, Lz4BlocksOfEverySizeRoundTripThroughDecodeBlock) {
  std::mt19937 rng(31);
  std::string words;
  while (words.size() < (1u << 20)) words += CompressibleValue(rng);
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{15}, size_t{4096}, size_t{65536}, size_t{1} << 20}) {
    for (const std::string& input : {words.substr(0, n), RandomValue(rng, n)}) {
      std::string payload;
      ASSERT_TRUE(Lz4Compress(input, &payload));
      std::string raw = payload;
      AppendBlockTrailer(payload, CompressionType::kLz4, &raw);
      std::string output = "stale";
      Status s = DecodeBlock(raw, kFileName, BlockHandle{0, payload.size()}, &output);
      ASSERT_TRUE(s.ok()) << n << ": " << s.ToString();
      EXPECT_TRUE(output == input) << n;
    }
  }
}

TEST(TableAssembled, UnknownBlockCompressionTypeIsCorruption) {
  std::string contents = AssembleTable({DataBlock({IKey("a", 1, ValueType::kValue)})},
                                       {SeekKey("b", 1)}, static_cast<CompressionType>(7));
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), contents, &table).ok());
  auto it = table->NewIterator();
  it->SeekToFirst();
  ExpectNamesFile(it->status());
  EXPECT_NE(it->status().message().find("compression type 7"), std::string::npos);
}

TEST(TableAssembled, IndexDisagreeingWithPropertiesFailsToOpen) {
  std::string a = IKey("a", 1, ValueType::kValue), b = IKey("b", 1, ValueType::kValue);
  std::vector<std::string> blocks = {DataBlock({a}), DataBlock({b})};
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(Options(), AssembleTable(blocks, {a, b}), &table).ok());
  // Index separators out of order.
  ExpectNamesFile(OpenTable(Options(), AssembleTable(blocks, {b, a}), &table));
  // Properties counting a different number of data blocks, or a different data size.
  ExpectNamesFile(OpenTable(Options(),
                            AssembleTable(blocks, {a, b}, CompressionType::kNone,
                                          [](TableProperties* p) { p->num_data_blocks++; }),
                            &table));
  ExpectNamesFile(OpenTable(Options(),
                            AssembleTable(blocks, {a, b}, CompressionType::kNone,
                                          [](TableProperties* p) { p->data_bytes += 5; }),
                            &table));
  ExpectNamesFile(OpenTable(Options(),
                            AssembleTable(blocks, {a, b}, CompressionType::kNone,
                                          [](TableProperties* p) { p->index_bytes++; }),
                            &table));
  ExpectNamesFile(OpenTable(Options(),
                            AssembleTable(blocks, {a, b}, CompressionType::kNone,
                                          [](TableProperties* p) { p->format_version = 3; }),
                            &table));
}

TEST(TableProperties, UnknownTagsAreSkippedAndRepeatsRejected) {
  TableProperties p;
  p.num_entries = 12;
  p.smallest_key = "abc";
  std::string encoded;
  p.EncodeTo(&encoded);
  // A field from a newer version: tag 99 with 3 bytes.
  std::string newer = encoded;
  PutVarint32(&newer, 99);
  PutLengthPrefixed(&newer, "new");
  TableProperties decoded;
  ASSERT_TRUE(decoded.DecodeFrom(newer).ok());
  EXPECT_EQ(decoded.num_entries, 12u);
  EXPECT_EQ(decoded.smallest_key, "abc");
  // A field written twice.
  std::string repeated = encoded;
  PutVarint32(&repeated, 2);
  PutLengthPrefixed(&repeated, "\x05");
  EXPECT_TRUE(decoded.DecodeFrom(repeated).IsCorruption());
  // Truncated anywhere.
  for (size_t len = 1; len < encoded.size(); len++) {
    Status s = decoded.DecodeFrom(std::string_view(encoded).substr(0, len));
    // A cut exactly between fields is a valid (shorter) record; anything else is not.
    if (s.ok()) continue;
    EXPECT_TRUE(s.IsCorruption());
  }
  // An integer field holding more than one varint.
  std::string two_varints;
  PutVarint32(&two_varints, 2);
  PutLengthPrefixed(&two_varints, std::string("\x01\x01", 2));
  EXPECT_TRUE(decoded.DecodeFrom(two_varints).IsCorruption());
}

// --- Get's own search against the iterator's ------------------------------------
//
// Table::Get finds its block through the IndexSummary (or the index block when entries
// tie on their summaries, or when the index has no summary) and searches the block
// itself; Table's iterator takes the plain index search. Both must give the same answer,
// and the model's, for every version of every key at snapshots around it, for absent
// keys next to present ones, and with blocks so small that most keys sit next to a block
// boundary.

enum class KeyShape {
  kDigits,    // 16 decimal digits, as the benchmarks write them: a long shared prefix
  kLongTies,  // groups of keys equal in the 8 bytes after the shared prefix
  kBinary,    // short keys of bytes 00 01 80 ff: zero bytes and keys shorter than others
};

std::string ShapedUserKey(KeyShape shape, int i) {
  char buf[64];
  switch (shape) {
    case KeyShape::kDigits:
      snprintf(buf, sizeof(buf), "%016d", 2 * i);
      return buf;
    case KeyShape::kLongTies:
      snprintf(buf, sizeof(buf), "k%02dxxxxxxxxxx%05d", i / 40, i);
      return buf;
    case KeyShape::kBinary: {
      static const char kBytes[] = {'\x00', '\x01', '\x80', '\xff'};
      std::string key;
      for (int v = i + 1; v > 0; v /= 4) key += kBytes[v % 4];
      return key;
    }
  }
  return "";
}

Model ShapedModel(KeyShape shape, int num_user_keys, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> user_keys;
  for (int i = 0; i < num_user_keys; i++) user_keys.push_back(ShapedUserKey(shape, i));
  std::sort(user_keys.begin(), user_keys.end());
  user_keys.erase(std::unique(user_keys.begin(), user_keys.end()), user_keys.end());
  Model model;
  SequenceNumber seq = 1;
  for (const std::string& user_key : user_keys) {
    int versions = 1 + rng() % 4;
    seq += versions + 1;
    for (int v = 0; v < versions; v++) {  // newest first
      bool deletion = rng() % 100 < 15;
      model.push_back({IKey(user_key, seq - v, deletion ? ValueType::kDeletion : ValueType::kValue),
                       deletion ? "" : RandomValue(rng, rng() % 40)});
    }
  }
  return model;
}

// The answer of a seek through the table's iterator.
TableGetResult IteratorGet(const Table& table, std::string_view lookup_key, std::string* value) {
  std::unique_ptr<Iterator> it = table.NewIterator();
  it->Seek(lookup_key);
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  if (!it->Valid() || ExtractUserKey(it->key()) != ExtractUserKey(lookup_key)) {
    return TableGetResult::kNotPresent;
  }
  ParsedInternalKey parsed;
  EXPECT_TRUE(ParseInternalKey(it->key(), &parsed));
  if (parsed.type == ValueType::kDeletion) return TableGetResult::kDeleted;
  *value = std::string(it->value());
  return TableGetResult::kFound;
}

// Returns false (after failed expectations) at the first disagreement. The table reads
// from source without a block cache: a Get must read at most two data blocks (the one
// its key belongs in, and the next when the key falls after the block's last entry).
bool GetAgreesWithIteratorAndModel(const Table& table, const StringSource& source,
                                   const Model& model, std::string_view user_key,
                                   SequenceNumber snapshot) {
  std::string lookup = SeekKey(user_key, snapshot);
  std::string get_value, iterator_value, model_value;
  TableGetResult get;
  const int reads_before = source.reads();
  Status s = table.Get(lookup, &get, &get_value);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_LE(source.reads() - reads_before, 2) << testing::PrintToString(user_key);
  TableGetResult through_iterator = IteratorGet(table, lookup, &iterator_value);
  TableGetResult expected = ModelGet(model, user_key, snapshot, &model_value);
  EXPECT_EQ(get, through_iterator) << testing::PrintToString(user_key) << " @" << snapshot;
  EXPECT_EQ(get, expected) << testing::PrintToString(user_key) << " @" << snapshot;
  if (get == TableGetResult::kFound) {
    EXPECT_EQ(get_value, iterator_value);
    EXPECT_EQ(get_value, model_value);
  }
  return s.ok() && get == through_iterator && get == expected &&
         (get != TableGetResult::kFound ||
          (get_value == iterator_value && get_value == model_value));
}

// Every version of every key at its own sequence, just below it, and the latest; and
// absent neighbours: the key with a zero byte appended, with its last byte dropped or
// raised.
void ExpectGetAgreesEverywhere(const Table& table, const StringSource& source, const Model& model) {
  for (const Entry& e : model) {
    ParsedInternalKey parsed;
    ASSERT_TRUE(ParseInternalKey(e.key, &parsed));
    const std::string user_key(parsed.user_key);
    for (SequenceNumber snapshot : {parsed.sequence, parsed.sequence - 1, kMaxSequenceNumber}) {
      ASSERT_TRUE(GetAgreesWithIteratorAndModel(table, source, model, user_key, snapshot));
    }
    std::vector<std::string> neighbours = {user_key + '\0'};
    if (!user_key.empty()) {
      neighbours.push_back(user_key.substr(0, user_key.size() - 1));
      std::string raised = user_key;
      raised.back() = static_cast<char>(raised.back() + 1);
      neighbours.push_back(raised);
    }
    for (const std::string& neighbour : neighbours) {
      ASSERT_TRUE(
          GetAgreesWithIteratorAndModel(table, source, model, neighbour, kMaxSequenceNumber));
    }
  }
}

TEST(TableGet, AgreesWithTheIteratorOnEveryKeyShapeBlockSizeAndRestartInterval) {
  for (KeyShape shape : {KeyShape::kDigits, KeyShape::kLongTies, KeyShape::kBinary}) {
    Model model = ShapedModel(shape, 600, 31);
    for (size_t block_size : {64, 512, 4096}) {
      for (int restart_interval : {1, 16}) {
        SCOPED_TRACE(testing::Message() << "shape " << static_cast<int>(shape) << " block_size "
                                        << block_size << " restart_interval " << restart_interval);
        Options options;
        options.block_size = block_size;
        options.block_restart_interval = restart_interval;
        options.compression = block_size == 512;
        std::string contents = BuildTable(options, model);
        std::unique_ptr<Table> table;
        const StringSource* source;
        ASSERT_TRUE(OpenTable(options, contents, &table, &source).ok());
        ExpectGetAgreesEverywhere(*table, *source, model);
      }
    }
  }
}

// An index without a restart point at every entry (TableBuilder never writes one, but
// the format allows it) gets no summary: Get searches the index block itself.
TEST(TableGet, AgreesWithTheIteratorWithoutAnIndexSummary) {
  for (KeyShape shape : {KeyShape::kDigits, KeyShape::kLongTies, KeyShape::kBinary}) {
    Model model = ShapedModel(shape, 400, 37);
    std::vector<std::string> blocks, separators;
    for (size_t begin = 0; begin < model.size(); begin += 7) {
      BlockBuilder block(4);
      size_t end = std::min(model.size(), begin + 7);
      for (size_t i = begin; i < end; i++) block.Add(model[i].key, model[i].value);
      blocks.emplace_back(block.Finish());
      separators.push_back(model[end - 1].key);  // the block's last key: a valid separator
    }
    std::string contents = AssembleTable(blocks, separators, CompressionType::kNone, nullptr,
                                         /*index_restart_interval=*/16);
    std::unique_ptr<Table> table;
    const StringSource* source;
    Status s = OpenTable(Options(), contents, &table, &source);
    ASSERT_TRUE(s.ok()) << s.ToString();
    // No summary held: only the index block (and no filter).
    EXPECT_EQ(table->pinned_bytes(), table->properties().index_bytes - kBlockTrailerSize);
    ExpectGetAgreesEverywhere(*table, *source, model);
  }
}

// --- Read-ahead of table iterators ----------------------------------------------

// Serves reads from contents, but as if the file had been cut at `cut` after it was
// opened: reads past it come back short.
class CutSource final : public RandomAccessFile {
 public:
  CutSource(std::string contents, uint64_t cut) : contents_(std::move(contents)), cut_(cut) {}
  Status Read(uint64_t offset, size_t n, std::string_view* result, char* scratch) const override {
    const uint64_t size = std::min<uint64_t>(cut_, contents_.size());
    n = offset >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(n, size - offset));
    std::copy_n(contents_.data() + offset, n, scratch);
    *result = std::string_view(scratch, n);
    return Status::OK();
  }
  void Cut(uint64_t cut) { cut_ = cut; }

 private:
  const std::string contents_;
  uint64_t cut_;
};

TEST(TableReadahead, ForwardScanReadsTheFileInFewLargeReads) {
  Options options;
  Model model = MakeModel(4000, 41);
  TableProperties properties;
  std::string contents = BuildTable(options, model, &properties);
  TableReadContext context;
  context.counters = std::make_shared<TableReadCounters>();
  std::unique_ptr<Table> table;
  const StringSource* source;
  ASSERT_TRUE(OpenTable(options, contents, &table, &source, context).ok());
  const uint64_t blocks = properties.num_data_blocks;
  ASSERT_GT(blocks, 100u);

  int before = source->reads();
  auto it = table->NewIterator();
  EXPECT_TRUE(ScanForward(it.get()) == model);
  EXPECT_TRUE(it->status().ok());
  // Two blocks one by one, then reads of 32 KiB and more: each holds many blocks.
  const int reads = source->reads() - before;
  EXPECT_LE(reads, static_cast<int>(2 + properties.data_bytes / BlockReadahead::kInitialSize + 1));
  EXPECT_LT(reads, static_cast<int>(blocks / 4));
  EXPECT_EQ(context.counters->blocks_read.load(), blocks);  // each block used once

  // Backward, and a seek with a few steps, read just their blocks.
  before = source->reads();
  auto back = table->NewIterator();
  EXPECT_TRUE(ScanBackward(back.get()) == model);
  EXPECT_EQ(static_cast<uint64_t>(source->reads() - before), blocks);
  before = source->reads();
  auto seek = table->NewIterator();
  seek->Seek(model[model.size() / 2].key);
  for (int i = 0; i < 10 && seek->Valid(); i++) seek->Next();
  ASSERT_TRUE(seek->Valid());
  EXPECT_LE(source->reads() - before, 2);
}

// A file whose reads are views (a mapping) is read block by block: reading ahead would
// only allocate a buffer the views never use.
TEST(TableReadahead, FileReadAsViewsIsNotReadAhead) {
  Options options;
  Model model = MakeModel(4000, 43);
  TableProperties properties;
  std::string contents = BuildTable(options, model, &properties);
  auto file = std::make_unique<StringSource>(contents, /*views=*/true);
  const StringSource* source = file.get();
  std::unique_ptr<Table> table;
  ASSERT_TRUE(
      Table::Open(options, kFileName, std::move(file), contents.size(), TableReadContext(), &table)
          .ok());
  const int before = source->reads();
  auto it = table->NewIterator();
  EXPECT_TRUE(ScanForward(it.get()) == model);
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(static_cast<uint64_t>(source->reads() - before), properties.num_data_blocks);
}

TEST(TableReadahead, FileCutShortUnderAScanIsCorruptionNamingTheFile) {
  Options options;
  options.compression = false;
  Model model = MakeModel(3000, 43);
  TableProperties properties;
  std::string contents = BuildTable(options, model, &properties);
  ASSERT_GT(properties.num_data_blocks, 50u);
  auto file = std::make_unique<CutSource>(contents, contents.size());
  CutSource* source = file.get();
  std::unique_ptr<Table> table;
  ASSERT_TRUE(
      Table::Open(options, kFileName, std::move(file), contents.size(), TableReadContext(), &table)
          .ok());
  // Cut in the middle of the data, after the table was opened (its index is in memory).
  source->Cut(properties.data_bytes / 2 + 7);
  auto it = table->NewIterator();
  std::vector<Entry> read = ScanForward(it.get());
  EXPECT_FALSE(it->Valid());
  ExpectNamesFile(it->status());
  EXPECT_NE(it->status().message().find("truncated read"), std::string::npos)
      << it->status().ToString();
  // What it returned before stopping is a prefix of the table, cut at a block.
  ASSERT_LT(read.size(), model.size());
  EXPECT_TRUE(std::equal(read.begin(), read.end(), model.begin()));
}

}  // namespace
}  // namespace strata
