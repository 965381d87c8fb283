// Tests of the log format (lsm/log_writer.h, lsm/log_reader.h, docs/log_format.md):
// round trips, the byte layout, and above all how the reader tells a torn tail (the
// normal result of a crash: tolerated) from damage followed by valid records
// (reported as corruption). Logs live in strings so bytes can be damaged and cut freely.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lsm/coding.h"
#include "lsm/crc32c.h"
#include "lsm/log_format.h"
#include "lsm/log_reader.h"
#include "lsm/log_writer.h"

namespace strata::log {
namespace {

constexpr char kFileName[] = "000007.log";
constexpr size_t kNever = std::numeric_limits<size_t>::max();

// A WritableFile over a string.
class StringFile : public WritableFile {
 public:
  Status Append(std::string_view data) override {
    if (appends_before_failure == 0) return Status::IOError("test: disk full");
    if (appends_before_failure > 0) appends_before_failure--;
    contents.append(data);
    return Status::OK();
  }
  Status Flush() override {
    flushes++;
    return Status::OK();
  }
  Status Sync() override {
    syncs++;
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }

  std::string contents;
  int flushes = 0;
  int syncs = 0;
  int appends_before_failure = -1;  // negative: never fail
};

// A SequentialFile over a string. It alternates between returning bytes copied into
// scratch and bytes pointing into its own memory (both are allowed), may return fewer
// bytes than asked for, and fails every read that would reach byte fail_from.
class StringSource : public SequentialFile {
 public:
  explicit StringSource(std::string_view contents) : contents_(contents) {}

  Status Read(size_t n, std::string_view* result, char* scratch) override {
    if (pos_ + n > fail_from) return Status::IOError("000007.log: test read error");
    n = std::min({n, max_chunk, contents_.size() - pos_});
    if (copy_) {
      std::memcpy(scratch, contents_.data() + pos_, n);
      *result = std::string_view(scratch, n);
    } else {
      *result = contents_.substr(pos_, n);
    }
    copy_ = !copy_;
    pos_ += n;
    return Status::OK();
  }
  Status Skip(uint64_t n) override {
    pos_ = static_cast<size_t>(std::min<uint64_t>(pos_ + n, contents_.size()));
    return Status::OK();
  }

  size_t max_chunk = kNever;
  size_t fail_from = kNever;

 private:
  std::string_view contents_;
  size_t pos_ = 0;
  bool copy_ = true;
};

struct ReadResult {
  std::vector<std::string> records;
  std::vector<uint64_t> offsets;  // last_record_offset() after each record
  Status status;
  bool torn_tail = false;
};

ReadResult ReadAll(std::string_view log, size_t max_chunk = kNever, size_t fail_from = kNever) {
  StringSource source(log);
  source.max_chunk = max_chunk;
  source.fail_from = fail_from;
  Reader reader(&source, kFileName);
  ReadResult result;
  std::string scratch;
  std::string_view record;
  while (reader.ReadRecord(&record, &scratch)) {
    result.records.emplace_back(record);
    result.offsets.push_back(reader.last_record_offset());
  }
  // Once finished, a reader stays finished.
  EXPECT_FALSE(reader.ReadRecord(&record, &scratch));
  result.status = reader.status();
  result.torn_tail = reader.torn_tail();
  return result;
}

std::vector<std::string> Prefix(const std::vector<std::string>& records, size_t n) {
  return std::vector<std::string>(records.begin(), records.begin() + n);
}

// Distinct, position-dependent bytes, so a misplaced or reordered byte shows.
std::string PatternString(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>('a' + (i * 7 + seed * 13) % 26);
  return s;
}

// Where the next record's first header lands if the log currently ends at end.
uint64_t NextRecordOffset(uint64_t end) {
  const uint64_t left = kBlockSize - end % kBlockSize;
  return left < kHeaderSize ? end + left : end;
}

// A fragment's header fields, decoded as docs/log_format.md describes them.
struct FragmentInfo {
  size_t offset;
  int type;
  size_t length;
};
FragmentInfo HeaderAt(const std::string& log, size_t offset) {
  return {
      offset, static_cast<uint8_t>(log[offset + 6]),
      static_cast<uint8_t>(log[offset + 4]) | (size_t{static_cast<uint8_t>(log[offset + 5])} << 8)};
}

// The fragments of an undamaged log, walked as docs/log_format.md describes.
std::vector<FragmentInfo> ListFragments(const std::string& log) {
  std::vector<FragmentInfo> fragments;
  size_t pos = 0;
  while (pos < log.size()) {
    const size_t left_in_block = kBlockSize - pos % kBlockSize;
    if (left_in_block < kHeaderSize) {
      pos += left_in_block;
      continue;
    }
    fragments.push_back(HeaderAt(log, pos));
    pos += kHeaderSize + fragments.back().length;
  }
  return fragments;
}

// A fragment with a correct checksum, built independently of the writer.
std::string RawFragment(int type, std::string_view payload) {
  std::string type_and_payload(1, static_cast<char>(type));
  type_and_payload += payload;
  std::string out;
  PutFixed32(&out, crc32c::Mask(crc32c::Value(type_and_payload)));
  out.push_back(static_cast<char>(payload.size() & 0xff));
  out.push_back(static_cast<char>(payload.size() >> 8));
  out += type_and_payload;
  return out;
}

// Changes a fragment's type and re-seals its checksum, so only the type is wrong.
void SetTypeWithValidChecksum(std::string* log, size_t header_offset, int type) {
  (*log)[header_offset + 6] = static_cast<char>(type);
  const size_t length = HeaderAt(*log, header_offset).length;
  EncodeFixed32(log->data() + header_offset,
                crc32c::Mask(crc32c::Value(log->data() + header_offset + 6, 1 + length)));
}

void SetLength(std::string* log, size_t header_offset, size_t length) {
  (*log)[header_offset + 4] = static_cast<char>(length & 0xff);
  (*log)[header_offset + 5] = static_cast<char>(length >> 8);
}

void ExpectCorruptionAt(const ReadResult& result, uint64_t damage_offset, uint64_t valid_offset) {
  ASSERT_TRUE(result.status.IsCorruption()) << result.status.ToString();
  EXPECT_FALSE(result.torn_tail);
  const std::string& message = result.status.message();
  EXPECT_NE(message.find(kFileName), std::string::npos) << message;
  EXPECT_NE(
      message.find("damaged log record at byte offset " + std::to_string(damage_offset) + " "),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("valid record at byte offset " + std::to_string(valid_offset)),
            std::string::npos)
      << message;
}

void ExpectTornTail(const ReadResult& result) {
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_TRUE(result.torn_tail);
}

void ExpectCleanEnd(const ReadResult& result) {
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_FALSE(result.torn_tail);
}

// A log written by one Writer, remembering what went in and where.
class LogTest : public testing::Test {
 protected:
  void Add(std::string record) {
    offsets_.push_back(NextRecordOffset(file_.contents.size()));
    ASSERT_TRUE(writer_.AddRecord(record).ok());
    records_.push_back(std::move(record));
  }
  // Adds a record that makes the log end at exactly end (which must leave room for
  // its header in the current block).
  void AddFillerUpTo(size_t end) {
    const size_t start = NextRecordOffset(log().size());
    ASSERT_EQ(start / kBlockSize, (end - 1) / kBlockSize);
    Add(PatternString(end - start - kHeaderSize, 99));
    ASSERT_EQ(end, log().size());
  }
  std::string& log() { return file_.contents; }
  size_t PayloadOffset(size_t i) const { return offsets_[i] + kHeaderSize; }

  StringFile file_;
  Writer writer_{&file_};
  std::vector<std::string> records_;
  std::vector<uint64_t> offsets_;
};

TEST(LogFormat, EmptyLogHasNoRecordsAndEndsCleanly) {
  ReadResult result = ReadAll("");
  EXPECT_TRUE(result.records.empty());
  ExpectCleanEnd(result);
}

TEST(LogFormat, FragmentHeaderIsMaskedCrcOfTypeAndPayloadThenLengthThenType) {
  StringFile file;
  Writer writer(&file);
  ASSERT_TRUE(writer.AddRecord("hello").ok());
  ASSERT_TRUE(writer.AddRecord("").ok());
  ASSERT_TRUE(writer.AddRecord(std::string(300, 'x')).ok());
  const std::string& log = file.contents;
  ASSERT_EQ(12u + 7u + 307u, log.size());

  EXPECT_EQ(crc32c::Mask(crc32c::Value("\x01hello")), DecodeFixed32(log.data()));
  // The bytes shown in docs/log_format.md.
  EXPECT_EQ(std::string("\x0b\xb9\x57\x58\x05\x00\x01hello", 12), log.substr(0, 12));
  EXPECT_EQ(std::string("\x05\x2b\x28\x43\x00\x00\x01", 7), log.substr(12, 7));
  EXPECT_EQ(std::string("\x05\x00\x01hello", 8), log.substr(4, 8));

  EXPECT_EQ(crc32c::Mask(crc32c::Value("\x01")), DecodeFixed32(log.data() + 12));
  EXPECT_EQ(std::string("\x00\x00\x01", 3), log.substr(16, 3));

  // Length is little-endian: 300 = 0x012c.
  EXPECT_EQ(std::string("\x2c\x01\x01", 3), log.substr(19 + 4, 3));
  EXPECT_EQ(RawFragment(kFullType, std::string(300, 'x')), log.substr(19));
}

TEST_F(LogTest, SmallRecordsRoundTrip) {
  Add("foo");
  Add("bar");
  Add("");
  Add("xxxx");
  ReadResult result = ReadAll(log());
  EXPECT_EQ(records_, result.records);
  EXPECT_EQ((std::vector<uint64_t>{0, 10, 20, 27}), result.offsets);
  ExpectCleanEnd(result);
}

TEST_F(LogTest, RecordExactlyFillingABlockIsOneFullFragment) {
  Add(PatternString(kBlockSize - kHeaderSize, 1));
  ASSERT_EQ(kBlockSize, log().size());
  EXPECT_EQ(kFullType, HeaderAt(log(), 0).type);
  Add("next");
  EXPECT_EQ(kFullType, HeaderAt(log(), kBlockSize).type);
  EXPECT_EQ(kBlockSize + kHeaderSize + 4, log().size());

  ReadResult result = ReadAll(log());
  EXPECT_EQ(records_, result.records);
  EXPECT_EQ((std::vector<uint64_t>{0, kBlockSize}), result.offsets);
  ExpectCleanEnd(result);
}

TEST_F(LogTest, RecordsSpanningManyBlocksAreSplitIntoFirstMiddleLast) {
  Add("small");
  Add(PatternString(100 * 1024, 2));
  Add(PatternString(1024 * 1024, 3));
  Add("after");

  std::vector<int> types;
  size_t payload_bytes = 0;
  for (const FragmentInfo& f : ListFragments(log())) {
    types.push_back(f.type);
    payload_bytes += f.length;
    const bool starts_block = f.offset % kBlockSize == 0;
    const bool ends_block = (f.offset + kHeaderSize + f.length) % kBlockSize == 0;
    const bool placed_right = f.type == kFirstType    ? ends_block
                              : f.type == kMiddleType ? starts_block && ends_block
                              : f.type == kLastType   ? starts_block
                                                      : true;
    EXPECT_TRUE(placed_right) << "type " << f.type << " at " << f.offset;
  }
  EXPECT_EQ(5u + 100 * 1024 + 1024 * 1024 + 5, payload_bytes);

  // 100 KiB starting at offset 12: FIRST(32749) MIDDLE MIDDLE LAST(4129).
  // 1 MiB starting at offset 4136 in block 3: FIRST(28625), 31 MIDDLEs, LAST(4360).
  std::vector<int> expected = {kFullType,   kFirstType, kMiddleType,
                               kMiddleType, kLastType,  kFirstType};
  expected.insert(expected.end(), 31, kMiddleType);
  expected.push_back(kLastType);
  expected.push_back(kFullType);
  EXPECT_EQ(expected, types);

  ReadResult result = ReadAll(log());
  EXPECT_EQ(records_, result.records);
  EXPECT_EQ(offsets_, result.offsets);
  ExpectCleanEnd(result);
}

TEST_F(LogTest, ManyRandomSizeRecordsRoundTrip) {
  std::mt19937 rng(20240611);
  for (int i = 0; i < 1000; i++) {
    // Mostly small records, some spanning blocks, and boundaries at every offset.
    const size_t size = (rng() % 10 == 0) ? rng() % 70000 : rng() % 200;
    std::string record(size, '\0');
    for (char& c : record) c = static_cast<char>(rng());
    Add(std::move(record));
  }
  ReadResult result = ReadAll(log());
  ASSERT_EQ(records_.size(), result.records.size());
  EXPECT_TRUE(records_ == result.records);
  EXPECT_EQ(offsets_, result.offsets);
  ExpectCleanEnd(result);
}

TEST(LogFormat, BlockTailTooShortForAHeaderIsZeroPadded) {
  for (size_t leftover = 1; leftover < kHeaderSize; leftover++) {
    SCOPED_TRACE(leftover);
    StringFile file;
    Writer writer(&file);
    const std::string first = PatternString(kBlockSize - kHeaderSize - leftover, 4);
    ASSERT_TRUE(writer.AddRecord(first).ok());
    ASSERT_TRUE(writer.AddRecord("next").ok());
    const std::string& log = file.contents;
    ASSERT_EQ(kBlockSize + kHeaderSize + 4, log.size());
    EXPECT_EQ(std::string(leftover, '\0'), log.substr(kBlockSize - leftover, leftover));
    EXPECT_EQ(RawFragment(kFullType, "next"), log.substr(kBlockSize));

    ReadResult result = ReadAll(log);
    EXPECT_EQ((std::vector<std::string>{first, "next"}), result.records);
    EXPECT_EQ((std::vector<uint64_t>{0, kBlockSize}), result.offsets);
    ExpectCleanEnd(result);
  }
}

TEST(LogFormat, BlockTailOfExactlyAHeaderHoldsAnEmptyFirstFragment) {
  StringFile file;
  Writer writer(&file);
  const std::string first = PatternString(kBlockSize - 2 * kHeaderSize, 5);
  ASSERT_TRUE(writer.AddRecord(first).ok());
  ASSERT_TRUE(writer.AddRecord("next").ok());
  const std::string& log = file.contents;
  EXPECT_EQ(RawFragment(kFirstType, ""), log.substr(kBlockSize - kHeaderSize, kHeaderSize));
  EXPECT_EQ(RawFragment(kLastType, "next"), log.substr(kBlockSize));

  ReadResult result = ReadAll(log);
  EXPECT_EQ((std::vector<std::string>{first, "next"}), result.records);
  EXPECT_EQ((std::vector<uint64_t>{0, kBlockSize - kHeaderSize}), result.offsets);
  ExpectCleanEnd(result);
}

TEST_F(LogTest, TruncatedShortLastRecordIsATornTailAtEveryCutPoint) {
  Add("first");
  Add("second");
  AddFillerUpTo(kBlockSize - 100);
  Add("the last record, cut short");
  const size_t start = offsets_.back();
  ASSERT_EQ(kFullType, HeaderAt(log(), start).type);

  ExpectCleanEnd(ReadAll(std::string_view(log()).substr(0, start)));
  for (size_t cut = start + 1; cut < log().size(); cut++) {
    SCOPED_TRACE(cut);
    ReadResult result = ReadAll(std::string_view(log()).substr(0, cut));
    EXPECT_EQ(Prefix(records_, 3), result.records);
    ExpectTornTail(result);
  }
  ExpectCleanEnd(ReadAll(log()));
}

TEST_F(LogTest, TruncatedSplitLastRecordIsATornTailAtEveryFragmentBoundaryAndInBetween) {
  Add("first");
  Add("second");
  AddFillerUpTo(kBlockSize - 100);
  Add(PatternString(kBlockSize + 300, 6));  // FIRST(93) MIDDLE(32761) LAST(214)
  const size_t start = offsets_.back();
  ASSERT_EQ(kFirstType, HeaderAt(log(), start).type);
  ASSERT_EQ(kMiddleType, HeaderAt(log(), kBlockSize).type);
  ASSERT_EQ(kLastType, HeaderAt(log(), 2 * kBlockSize).type);

  // Every cut near a header or block boundary, and a sample of the others.
  std::vector<size_t> cuts;
  for (size_t cut = start + 1; cut < log().size(); cut++) {
    const size_t in_block = cut % kBlockSize;
    const bool near_boundary = cut < start + 20 || in_block < 20 || in_block > kBlockSize - 20;
    if (near_boundary || cut % 97 == 0) cuts.push_back(cut);
  }
  for (size_t cut : cuts) {
    SCOPED_TRACE(cut);
    ReadResult result = ReadAll(std::string_view(log()).substr(0, cut));
    EXPECT_EQ(Prefix(records_, 3), result.records);
    ExpectTornTail(result);
  }
  ExpectCleanEnd(ReadAll(log()));
}

TEST_F(LogTest, ZeroFilledTailIsATornTail) {
  Add("first");
  Add(PatternString(50000, 7));
  Add("third");
  const std::string intact = log();

  // Preallocated or lost space after the last record, within its block and beyond.
  for (size_t zeros : {size_t{1}, size_t{6}, size_t{7}, size_t{1000}, 3 * kBlockSize}) {
    SCOPED_TRACE(zeros);
    ReadResult result = ReadAll(intact + std::string(zeros, '\0'));
    EXPECT_EQ(records_, result.records);
    ExpectTornTail(result);
  }

  // The last record's bytes were lost (the file length survived, its data did not).
  std::string lost = intact;
  std::fill(lost.begin() + static_cast<ptrdiff_t>(offsets_[2]), lost.end(), '\0');
  lost += std::string(5000, '\0');
  ReadResult result = ReadAll(lost);
  EXPECT_EQ(Prefix(records_, 2), result.records);
  ExpectTornTail(result);
}

TEST_F(LogTest, ZeroFilledHoleBeforeValidRecordsIsCorruption) {
  Add("first");
  Add("second, about to vanish");
  Add("third");
  std::fill(log().begin() + static_cast<ptrdiff_t>(offsets_[1]),
            log().begin() + static_cast<ptrdiff_t>(offsets_[2]), '\0');
  ReadResult result = ReadAll(log());
  EXPECT_EQ(Prefix(records_, 1), result.records);
  ExpectCorruptionAt(result, offsets_[1], offsets_[2]);
  EXPECT_NE(result.status.message().find("zero-filled"), std::string::npos);
}

TEST_F(LogTest, DamageFollowedOnlyByASplitRecordIsCorruption) {
  Add("first");
  Add("second, about to be damaged");
  Add(PatternString(40000, 1));  // FIRST at the end of block 0, LAST in block 1
  ASSERT_EQ(kFirstType, HeaderAt(log(), offsets_[2]).type);
  // Damage that leaves the second record's length unknown, so the FIRST that follows
  // it must be found by trying every byte.
  for (int damage = 0; damage < 3; damage++) {
    SCOPED_TRACE(damage);
    std::string damaged = log();
    if (damage == 0) {
      std::fill(damaged.begin() + static_cast<ptrdiff_t>(offsets_[1]),
                damaged.begin() + static_cast<ptrdiff_t>(offsets_[2]), '\0');
    } else if (damage == 1) {
      SetTypeWithValidChecksum(&damaged, offsets_[1], 0x42);
    } else {
      SetLength(&damaged, offsets_[1], 0xf000);
    }
    ReadResult result = ReadAll(damaged);
    EXPECT_EQ(Prefix(records_, 1), result.records);
    ExpectCorruptionAt(result, offsets_[1], offsets_[2]);
  }
}

TEST_F(LogTest, FlippedPayloadByteInMiddleRecordIsCorruptionNamingFileAndOffset) {
  Add("first");
  Add("second");
  Add("third");
  log()[PayloadOffset(1) + 2] ^= 0x10;
  ReadResult result = ReadAll(log());
  // "third" is intact but must not be returned past the hole: that would silently
  // drop "second".
  EXPECT_EQ(Prefix(records_, 1), result.records);
  ExpectCorruptionAt(result, offsets_[1], offsets_[2]);
  EXPECT_NE(result.status.message().find("checksum mismatch"), std::string::npos);
}

TEST_F(LogTest, DamageInAnyFragmentOfAnyRecordButTheLastIsCorruption) {
  std::mt19937 rng(7);
  for (int i = 0; i < 30; i++) Add(PatternString(1 + rng() % 60000, i));
  const std::vector<FragmentInfo> fragments = ListFragments(log());
  ASSERT_GT(fragments.size(), 30u);

  size_t record = 0;
  for (size_t f = 0; f < fragments.size(); f++) {
    if (fragments[f].type == kFullType || fragments[f].type == kFirstType) {
      record = static_cast<size_t>(
          std::find(offsets_.begin(), offsets_.end(), fragments[f].offset) - offsets_.begin());
    }
    SCOPED_TRACE("record " + std::to_string(record) + " fragment at " +
                 std::to_string(fragments[f].offset));
    std::string damaged = log();
    const FragmentInfo& frag = fragments[f];
    // A payload byte, or the checksum of an empty fragment.
    const size_t at =
        frag.length > 0 ? frag.offset + kHeaderSize + rng() % frag.length : frag.offset;
    damaged[at] ^= 0x01;

    ReadResult result = ReadAll(damaged);
    EXPECT_EQ(Prefix(records_, record), result.records);
    if (record + 1 < records_.size()) {
      ExpectCorruptionAt(result, frag.offset, offsets_[record + 1]);
    } else {
      ExpectTornTail(result);
    }
  }
}

TEST_F(LogTest, LengthRunningPastItsBlockInMiddleRecordIsCorruption) {
  Add("first");
  Add("second");
  Add("third");
  SetLength(&log(), offsets_[1], 0xffff);
  ReadResult result = ReadAll(log());
  EXPECT_EQ(Prefix(records_, 1), result.records);
  ExpectCorruptionAt(result, offsets_[1], offsets_[2]);
  EXPECT_NE(result.status.message().find("length 65535"), std::string::npos);
}

TEST_F(LogTest, PlausibleButWrongLengthInMiddleRecordIsCorruption) {
  // The damaged record is the next to last, so its wrong length can make the reader
  // step over the only record after it unless it rescans.
  Add("first");
  Add("second record with some length");
  Add("third");
  const size_t real = records_[1].size();
  for (size_t wrong : {real - 1, real + 1, real + 5, size_t{0}}) {
    SCOPED_TRACE(wrong);
    std::string damaged = log();
    SetLength(&damaged, offsets_[1], wrong);
    ReadResult result = ReadAll(damaged);
    EXPECT_EQ(Prefix(records_, 1), result.records);
    ExpectCorruptionAt(result, offsets_[1], offsets_[2]);
  }
}

TEST_F(LogTest, FlippedByteInLastRecordIsATornTail) {
  Add("first");
  Add("second");
  Add("third");
  for (size_t at : {offsets_[2], PayloadOffset(2), log().size() - 1}) {
    SCOPED_TRACE(at);
    std::string damaged = log();
    damaged[at] ^= 0x20;
    ReadResult result = ReadAll(damaged);
    EXPECT_EQ(Prefix(records_, 2), result.records);
    ExpectTornTail(result);
  }
}

TEST(LogFormat, TornRecordWhosePayloadHoldsLogRecordsIsStillATornTail) {
  // A value may contain bytes that form valid log records (say, a stored copy of a
  // log file). When that record is torn, those bytes must not count as records that
  // follow the damage.
  for (int inner_records : {20, 2000}) {  // a record within one block, and a split one
    SCOPED_TRACE(inner_records);
    StringFile inner_file;
    Writer inner(&inner_file);
    for (int i = 0; i < inner_records; i++) {
      ASSERT_TRUE(inner.AddRecord(PatternString(40, i)).ok());
    }
    StringFile outer_file;
    Writer outer(&outer_file);
    ASSERT_TRUE(outer.AddRecord("first").ok());
    ASSERT_TRUE(outer.AddRecord("x" + inner_file.contents).ok());
    const std::string& log = outer_file.contents;

    for (size_t cut : {log.size() - 1, log.size() - 100, log.size() - 500}) {
      SCOPED_TRACE(cut);
      ReadResult result = ReadAll(std::string_view(log).substr(0, cut));
      EXPECT_EQ((std::vector<std::string>{"first"}), result.records);
      ExpectTornTail(result);
    }
    // Damage to the record's first fragment: its later fragments, which hold the
    // look-alike records, are still intact and must be stepped over.
    std::string damaged = log;
    damaged[12 + kHeaderSize] ^= 0x01;
    ReadResult result = ReadAll(damaged);
    EXPECT_EQ((std::vector<std::string>{"first"}), result.records);
    ExpectTornTail(result);
  }
}

TEST(LogFormat, MiddleOrLastFragmentWithoutFirstIsCorruption) {
  const std::string before = "before";
  const std::string filler(kBlockSize - 2 * kHeaderSize - before.size(), 'f');
  const std::string block0 = RawFragment(kFullType, before) + RawFragment(kFullType, filler);
  ASSERT_EQ(kBlockSize, block0.size());

  // A FIRST fragment went missing before a MIDDLE and a LAST.
  std::string log = block0 + RawFragment(kMiddleType, std::string(kBlockSize - kHeaderSize, 'm')) +
                    RawFragment(kLastType, "tail") + RawFragment(kFullType, "after");
  ReadResult result = ReadAll(log);
  EXPECT_EQ((std::vector<std::string>{before, filler}), result.records);
  ExpectCorruptionAt(result, kBlockSize, 2 * kBlockSize + kHeaderSize + 4);
  EXPECT_NE(result.status.message().find("MIDDLE fragment without a FIRST"), std::string::npos);

  log = block0 + RawFragment(kLastType, "orphan") + RawFragment(kFullType, "after");
  result = ReadAll(log);
  EXPECT_EQ((std::vector<std::string>{before, filler}), result.records);
  ExpectCorruptionAt(result, kBlockSize, kBlockSize + kHeaderSize + 6);
  EXPECT_NE(result.status.message().find("LAST fragment without a FIRST"), std::string::npos);
}

TEST(LogFormat, SplitRecordInterruptedByANewRecordIsCorruption) {
  const std::string head = RawFragment(kFullType, "a");
  const std::string first =
      RawFragment(kFirstType, std::string(kBlockSize - 2 * kHeaderSize - 1, 'p'));
  std::string log = head + first + RawFragment(kFullType, "b");
  ASSERT_EQ(kBlockSize + kHeaderSize + 1, log.size());
  ReadResult result = ReadAll(log);
  EXPECT_EQ((std::vector<std::string>{"a"}), result.records);
  ExpectCorruptionAt(result, head.size(), kBlockSize);
}

TEST(LogFormat, FragmentsAwayFromTheirPrescribedPlaceAreCorruption) {
  // A FIRST must end its block; here it ends early and a record follows.
  std::string log =
      RawFragment(kFullType, "a") + RawFragment(kFirstType, "early") + RawFragment(kFullType, "b");
  ReadResult result = ReadAll(log);
  EXPECT_EQ((std::vector<std::string>{"a"}), result.records);
  ExpectCorruptionAt(result, 8, 8 + kHeaderSize + 5);
  EXPECT_NE(result.status.message().find("not where the writer places one"), std::string::npos);
}

TEST_F(LogTest, UnknownRecordTypeInMiddleIsCorruption) {
  Add("first");
  Add("second");
  Add("third");
  for (int type : {5, 6, 0x80, 0xff}) {
    SCOPED_TRACE(type);
    std::string damaged = log();
    SetTypeWithValidChecksum(&damaged, offsets_[1], type);
    ReadResult result = ReadAll(damaged);
    EXPECT_EQ(Prefix(records_, 1), result.records);
    ExpectCorruptionAt(result, offsets_[1], offsets_[2]);
    EXPECT_NE(result.status.message().find("unknown record type " + std::to_string(type)),
              std::string::npos);
  }
}

TEST_F(LogTest, UnknownRecordTypeInLastRecordIsATornTail) {
  Add("first");
  Add("second");
  SetTypeWithValidChecksum(&log(), offsets_[1], 9);
  ReadResult result = ReadAll(log());
  EXPECT_EQ(Prefix(records_, 1), result.records);
  ExpectTornTail(result);
}

TEST(LogFormat, WriterAppendingToAnExistingLogContinuesAtItsBlockOffset) {
  // The existing log ends `leftover` bytes before a block boundary.
  for (size_t leftover : {size_t{0}, size_t{3}, size_t{7}, size_t{100}}) {
    SCOPED_TRACE(leftover);
    const std::vector<std::string> records = {PatternString(2 * kBlockSize - leftover - 14, 1), "x",
                                              PatternString(40000, 2), ""};
    StringFile one_writer;
    {
      Writer writer(&one_writer);
      for (const std::string& r : records) ASSERT_TRUE(writer.AddRecord(r).ok());
    }
    StringFile two_writers;
    {
      Writer writer(&two_writers);
      ASSERT_TRUE(writer.AddRecord(records[0]).ok());
    }
    ASSERT_EQ(2 * kBlockSize - leftover, two_writers.contents.size());
    {
      Writer writer(&two_writers, two_writers.contents.size());
      for (size_t i = 1; i < records.size(); i++) ASSERT_TRUE(writer.AddRecord(records[i]).ok());
    }
    EXPECT_TRUE(one_writer.contents == two_writers.contents);
    ReadResult result = ReadAll(two_writers.contents);
    EXPECT_EQ(records, result.records);
    ExpectCleanEnd(result);
  }
}

TEST_F(LogTest, ReadErrorEndsReadingWithTheFileStatus) {
  for (int i = 0; i < 6; i++) Add(PatternString(20000, i));
  // Records 0-2 end inside the first two blocks; record 3 reaches the third.
  ASSERT_LE(offsets_[3] + kHeaderSize, 2 * kBlockSize);
  ASSERT_GT(offsets_[4], 2 * kBlockSize);

  ReadResult result = ReadAll(log(), kNever, /*fail_from=*/2 * kBlockSize);
  EXPECT_EQ(Prefix(records_, 3), result.records);
  EXPECT_TRUE(result.status.IsIOError()) << result.status.ToString();
  EXPECT_EQ("000007.log: test read error", result.status.message());
  EXPECT_FALSE(result.torn_tail);

  result = ReadAll(log(), kNever, /*fail_from=*/0);
  EXPECT_TRUE(result.records.empty());
  EXPECT_TRUE(result.status.IsIOError()) << result.status.ToString();
}

TEST_F(LogTest, ReadErrorWhileLookingPastDamageIsReportedNotTakenForATornTail) {
  Add(PatternString(40000, 1));  // FIRST in block 0, LAST in block 1
  Add("second");
  log()[PayloadOffset(0) + 10] ^= 0x01;
  ReadResult result = ReadAll(log(), kNever, /*fail_from=*/kBlockSize + 1);
  EXPECT_TRUE(result.records.empty());
  EXPECT_TRUE(result.status.IsIOError()) << result.status.ToString();
  EXPECT_FALSE(result.torn_tail);
}

TEST_F(LogTest, ReaderAcceptsFilesThatReturnShortReads) {
  std::mt19937 rng(11);
  for (int i = 0; i < 100; i++) Add(PatternString(rng() % 3000, i));
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{1000}, kBlockSize - 1}) {
    SCOPED_TRACE(chunk);
    ReadResult result = ReadAll(log(), chunk);
    EXPECT_EQ(records_, result.records);
    EXPECT_EQ(offsets_, result.offsets);
    ExpectCleanEnd(result);
  }
}

TEST(LogFormat, AddRecordFlushesOnceButNeverSyncs) {
  StringFile file;
  Writer writer(&file);
  ASSERT_TRUE(writer.AddRecord("small").ok());
  EXPECT_EQ(1, file.flushes);
  ASSERT_TRUE(writer.AddRecord(PatternString(3 * kBlockSize, 1)).ok());
  EXPECT_EQ(2, file.flushes);
  EXPECT_EQ(0, file.syncs);
}

TEST(LogFormat, WriterRefusesRecordsAfterAFailedAppend) {
  StringFile file;
  Writer writer(&file);
  ASSERT_TRUE(writer.AddRecord("ok").ok());
  file.appends_before_failure = 1;  // the header goes out, the payload does not
  Status s = writer.AddRecord("lost");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  const std::string after_failure = file.contents;

  file.appends_before_failure = -1;  // the disk recovers; the writer must not
  s = writer.AddRecord("later");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(after_failure, file.contents);

  ReadResult result = ReadAll(file.contents);
  EXPECT_EQ((std::vector<std::string>{"ok"}), result.records);
  ExpectTornTail(result);
}

TEST_F(LogTest, NoSingleByteDamageYieldsWrongRecordsOrEndsQuietlyBeforeRecords) {
  Add("alpha alpha");
  Add("");
  Add(PatternString(30, 1));
  Add("delta");
  Add(PatternString(50, 2));
  const size_t last = offsets_.back();

  for (size_t at = 0; at < log().size(); at++) {
    for (int mask : {0x01, 0x80}) {
      SCOPED_TRACE("byte " + std::to_string(at) + " mask " + std::to_string(mask));
      std::string damaged = log();
      damaged[at] = static_cast<char>(damaged[at] ^ mask);
      ReadResult result = ReadAll(damaged);

      // Never a wrong record: what is returned is a prefix of what was written.
      ASSERT_LE(result.records.size(), records_.size());
      EXPECT_EQ(Prefix(records_, result.records.size()), result.records);
      // Never a quiet end before records: a lost record is a torn tail or corruption.
      if (result.records.size() < records_.size()) {
        EXPECT_TRUE(result.torn_tail || result.status.IsCorruption());
      }
      // Damage to the checksum, type or payload of a record before the last is always
      // found to be followed by records. (A length made to run past the end of the
      // file reads as a torn write; see docs/log_format.md.)
      const size_t record =
          static_cast<size_t>(std::upper_bound(offsets_.begin(), offsets_.end(), at) -
                              offsets_.begin()) -
          1;
      const size_t header_byte = at - offsets_[record];
      const bool length_byte = header_byte == 4 || header_byte == 5;
      if (at < last && !length_byte) {
        EXPECT_TRUE(result.status.IsCorruption()) << result.status.ToString();
        EXPECT_EQ(record, result.records.size());
      }
    }
  }
}

}  // namespace
}  // namespace strata::log
