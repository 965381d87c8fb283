// Tests of WriteBatch (strata/write_batch.h) and WriteBatchInternal: building batches,
// their byte layout (also the body of a write-ahead-log record), replaying them into a
// memtable with consecutive sequence numbers, and rejecting damaged contents read back
// from a log without crashing.
#include "strata/write_batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lsm/coding.h"
#include "lsm/dbformat.h"
#include "lsm/memtable.h"
#include "lsm/recovery_puts.h"
#include "lsm/write_batch_internal.h"

namespace strata {
namespace {

// Records every call as text: "Put(k, v)" or "Delete(k)".
class RecordingHandler final : public WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override {
    calls.push_back("Put(" + std::string(key) + ", " + std::string(value) + ")");
  }
  void Delete(std::string_view key) override {
    calls.push_back("Delete(" + std::string(key) + ")");
  }
  std::vector<std::string> calls;
};

std::vector<std::string> Records(const WriteBatch& batch) {
  RecordingHandler handler;
  Status s = batch.Iterate(&handler);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return handler.calls;
}

// What a memtable answers for key at snapshot seq: "value", "NOT_FOUND" for a
// tombstone, or "ABSENT" when it holds no visible entry.
std::string Lookup(const MemTable& mem, std::string_view key, SequenceNumber seq) {
  std::string value;
  Status status;
  if (!mem.Get(LookupKey(key, seq), &value, &status)) return "ABSENT";
  if (status.IsNotFound()) return "NOT_FOUND";
  EXPECT_TRUE(status.ok()) << status.ToString();
  return value;
}

TEST(WriteBatchTest, EmptyBatchIsJustTheHeader) {
  WriteBatch batch;
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(batch.ApproximateSize(), WriteBatchInternal::kHeaderSize);
  EXPECT_EQ(WriteBatchInternal::Contents(batch), std::string(12, '\0'));
  EXPECT_TRUE(Records(batch).empty());
}

TEST(WriteBatchTest, PutAndDeleteAreVisitedInOrder) {
  WriteBatch batch;
  batch.Put("foo", "bar");
  batch.Delete("box");
  batch.Put("baz", "boo");
  batch.Put("foo", "again");
  EXPECT_EQ(batch.Count(), 4u);
  EXPECT_EQ(Records(batch), (std::vector<std::string>{"Put(foo, bar)", "Delete(box)",
                                                      "Put(baz, boo)", "Put(foo, again)"}));
}

TEST(WriteBatchTest, ByteLayoutMatchesTheDocumentedFormat) {
  WriteBatch batch;
  WriteBatchInternal::SetSequence(&batch, 0x0102030405060708ull);
  batch.Put("k", "vv");
  batch.Delete("d");
  std::string expected;
  PutFixed64(&expected, 0x0102030405060708ull);
  PutFixed32(&expected, 2);
  expected += '\x01';  // kTypeValue
  expected += "\x01k\x02vv";
  expected += '\x00';  // kTypeDeletion
  expected += '\x01';  // key length
  expected += 'd';
  EXPECT_EQ(WriteBatchInternal::Contents(batch), expected);
  EXPECT_EQ(WriteBatchInternal::Sequence(batch), 0x0102030405060708ull);
}

// A handler that does not tell recovery puts apart gets them as puts (what recovery
// makes of them); one that does gets them as they are.
TEST(WriteBatchTest, RecoveryPutsAreVisitedAsPutsUnlessTheHandlerTellsThemApart) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.PutForRecovery("intent", "record");
  batch.Delete("a");
  EXPECT_EQ(batch.Count(), 3u);
  EXPECT_EQ(Records(batch),
            (std::vector<std::string>{"Put(a, 1)", "Put(intent, record)", "Delete(a)"}));

  struct Distinguishing final : WriteBatch::Handler {
    void Put(std::string_view k, std::string_view) override { calls.push_back("Put " + std::string(k)); }
    void Delete(std::string_view k) override { calls.push_back("Delete " + std::string(k)); }
    void PutForRecovery(std::string_view k, std::string_view v) override {
      calls.push_back("PutForRecovery " + std::string(k) + "=" + std::string(v));
    }
    std::vector<std::string> calls;
  } handler;
  ASSERT_TRUE(batch.Iterate(&handler).ok());
  EXPECT_EQ(handler.calls, (std::vector<std::string>{"Put a", "PutForRecovery intent=record",
                                                      "Delete a"}));
}

TEST(WriteBatchTest, RecoveryPutLayoutIsAPutWithTagTwo) {
  WriteBatch batch;
  batch.PutForRecovery("k", "vv");
  std::string expected(8, '\0');
  PutFixed32(&expected, 1);
  expected += "\x02\x01k\x02vv";
  EXPECT_EQ(WriteBatchInternal::Contents(batch), expected);
  WriteBatch oversized;
  oversized.PutForRecovery(std::string(WriteBatch::kMaxKeySize + 1, 'k'), "v");
  EXPECT_TRUE(oversized.oversized());
  EXPECT_EQ(oversized.Count(), 0u);
}

// Without a RecoveryPuts a recovery put is inserted like a put; with one (a running DB,
// or recovery replaying logs) it stays out of the memtable but takes its sequence
// number, and the next put or delete of its key resolves it.
TEST(WriteBatchTest, InsertIntoDefersRecoveryPutsOnlyWhenToldTo) {
  WriteBatch batch;
  batch.PutForRecovery("intent", "r1");  // seq 10
  batch.Put("a", "a1");                  // seq 11
  batch.PutForRecovery("other", "r2");   // seq 12
  WriteBatchInternal::SetSequence(&batch, 10);

  MemTable replayed;
  ASSERT_TRUE(WriteBatchInternal::InsertInto(batch, &replayed).ok());
  EXPECT_EQ(Lookup(replayed, "intent", 10), "r1");
  EXPECT_EQ(Lookup(replayed, "other", 11), "ABSENT");
  EXPECT_EQ(Lookup(replayed, "other", 12), "r2");

  MemTable running;
  RecoveryPuts deferred;
  ASSERT_TRUE(WriteBatchInternal::InsertInto(batch, &running, &deferred).ok());
  EXPECT_EQ(Lookup(running, "intent", kMaxSequenceNumber), "ABSENT");
  EXPECT_EQ(Lookup(running, "other", kMaxSequenceNumber), "ABSENT");
  EXPECT_EQ(Lookup(running, "a", 10), "ABSENT");
  EXPECT_EQ(Lookup(running, "a", 11), "a1");  // the recovery put used seq 10
  EXPECT_EQ(deferred.size(), 2u);
  MemTable applied;
  deferred.AddTo(&applied);
  EXPECT_EQ(Lookup(applied, "intent", 9), "ABSENT");
  EXPECT_EQ(Lookup(applied, "intent", 10), "r1");
  EXPECT_EQ(Lookup(applied, "other", 11), "ABSENT");
  EXPECT_EQ(Lookup(applied, "other", 12), "r2");

  WriteBatch resolving;
  resolving.Delete("intent");
  resolving.Put("unrelated", "x");
  WriteBatchInternal::SetSequence(&resolving, 13);
  ASSERT_TRUE(WriteBatchInternal::InsertInto(resolving, &running, &deferred).ok());
  WriteBatch left;
  deferred.AppendTo(&left);
  EXPECT_EQ(Records(left), std::vector<std::string>{"Put(other, r2)"});

  WriteBatch overwriting;
  overwriting.Put("other", "now");
  WriteBatchInternal::SetSequence(&overwriting, 15);
  ASSERT_TRUE(WriteBatchInternal::InsertInto(overwriting, &running, &deferred).ok());
  EXPECT_TRUE(deferred.empty());
}

TEST(WriteBatchTest, ALaterRecoveryPutOfTheSameKeyReplacesTheEarlier) {
  RecoveryPuts deferred;
  deferred.Add("k", "first", 1);
  deferred.Add("j", "other", 2);
  deferred.Add("k", "second", 3);
  WriteBatch batch;
  deferred.AppendTo(&batch);
  EXPECT_EQ(Records(batch), (std::vector<std::string>{"Put(j, other)", "Put(k, second)"}));
  // Applied (what recovery does with the unresolved ones), each at its own sequence.
  MemTable mem;
  deferred.AddTo(&mem);
  EXPECT_EQ(Lookup(mem, "j", 1), "ABSENT");
  EXPECT_EQ(Lookup(mem, "j", 2), "other");
  EXPECT_EQ(Lookup(mem, "k", 2), "ABSENT");
  EXPECT_EQ(Lookup(mem, "k", 3), "second");
}

TEST(WriteBatchTest, BinaryAndEmptyKeysAndValuesSurvive) {
  const std::string binary_key("\0k\xff", 3);
  const std::string binary_value("\x00\x80\x00", 3);
  const std::string long_value(70000, 'x');  // a multi-byte length prefix
  WriteBatch batch;
  batch.Put("", "");
  batch.Put(binary_key, binary_value);
  batch.Delete("");
  batch.Put("long", long_value);

  struct Collect final : WriteBatch::Handler {
    void Put(std::string_view k, std::string_view v) override {
      entries.emplace_back(std::string(k), std::string(v));
    }
    void Delete(std::string_view k) override { entries.emplace_back(std::string(k), "<del>"); }
    std::vector<std::pair<std::string, std::string>> entries;
  } handler;
  ASSERT_TRUE(batch.Iterate(&handler).ok());
  ASSERT_EQ(handler.entries.size(), 4u);
  EXPECT_EQ(handler.entries[0], std::make_pair(std::string(), std::string()));
  EXPECT_EQ(handler.entries[1], std::make_pair(binary_key, binary_value));
  EXPECT_EQ(handler.entries[2], std::make_pair(std::string(), std::string("<del>")));
  EXPECT_EQ(handler.entries[3], std::make_pair(std::string("long"), long_value));
}

TEST(WriteBatchTest, ApproximateSizeGrowsWithEachRecord) {
  WriteBatch batch;
  size_t empty = batch.ApproximateSize();
  batch.Put("foo", "bar");
  size_t one = batch.ApproximateSize();
  EXPECT_EQ(one, empty + 1 + 1 + 3 + 1 + 3);
  batch.Delete("box");
  size_t two = batch.ApproximateSize();
  EXPECT_EQ(two, one + 1 + 1 + 3);
  EXPECT_EQ(two, WriteBatchInternal::Contents(batch).size());
}

TEST(WriteBatchTest, ClearEmptiesTheBatchAndResetsSequence) {
  WriteBatch batch;
  WriteBatchInternal::SetSequence(&batch, 99);
  batch.Put("a", "1");
  batch.Delete("b");
  batch.Clear();
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_EQ(batch.ApproximateSize(), WriteBatchInternal::kHeaderSize);
  EXPECT_EQ(WriteBatchInternal::Sequence(batch), 0u);
  EXPECT_TRUE(Records(batch).empty());
  batch.Put("c", "3");
  EXPECT_EQ(Records(batch), std::vector<std::string>{"Put(c, 3)"});
}

TEST(WriteBatchTest, AppendConcatenatesRecordsAndKeepsOwnSequence) {
  WriteBatch a, b;
  WriteBatchInternal::SetSequence(&a, 200);
  WriteBatchInternal::SetSequence(&b, 300);
  a.Append(b);
  EXPECT_EQ(a.Count(), 0u);
  EXPECT_TRUE(Records(a).empty());

  b.Put("a", "va");
  a.Append(b);
  EXPECT_EQ(Records(a), std::vector<std::string>{"Put(a, va)"});
  b.Clear();
  b.Put("b", "vb");
  a.Append(b);
  b.Delete("foo");
  a.Append(b);
  EXPECT_EQ(a.Count(), 4u);
  EXPECT_EQ(Records(a),
            (std::vector<std::string>{"Put(a, va)", "Put(b, vb)", "Put(b, vb)", "Delete(foo)"}));
  EXPECT_EQ(WriteBatchInternal::Sequence(a), 200u);
  // The source is untouched.
  EXPECT_EQ(Records(b), (std::vector<std::string>{"Put(b, vb)", "Delete(foo)"}));
}

TEST(WriteBatchTest, AppendToItself) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Delete("b");
  batch.Append(batch);
  EXPECT_EQ(batch.Count(), 4u);
  EXPECT_EQ(Records(batch),
            (std::vector<std::string>{"Put(a, 1)", "Delete(b)", "Put(a, 1)", "Delete(b)"}));
}

TEST(WriteBatchTest, SetContentsRoundTripsAndRejectsShortInput) {
  WriteBatch source;
  WriteBatchInternal::SetSequence(&source, 77);
  source.Put("x", "y");
  source.Delete("z");

  WriteBatch copy;
  ASSERT_TRUE(WriteBatchInternal::SetContents(&copy, WriteBatchInternal::Contents(source)).ok());
  EXPECT_EQ(WriteBatchInternal::Sequence(copy), 77u);
  EXPECT_EQ(copy.Count(), 2u);
  EXPECT_EQ(Records(copy), (std::vector<std::string>{"Put(x, y)", "Delete(z)"}));

  for (size_t len = 0; len < WriteBatchInternal::kHeaderSize; len++) {
    WriteBatch batch;
    batch.Put("keep", "me");
    Status s = WriteBatchInternal::SetContents(&batch, std::string(len, '\0'));
    EXPECT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
    // A rejected SetContents leaves the batch usable.
    EXPECT_EQ(Records(batch), std::vector<std::string>{"Put(keep, me)"}) << len;
  }
  WriteBatch header_only;
  EXPECT_TRUE(WriteBatchInternal::SetContents(&header_only, std::string(12, '\0')).ok());
  EXPECT_EQ(header_only.Count(), 0u);
}

TEST(WriteBatchTest, InsertIntoAssignsConsecutiveSequenceNumbers) {
  WriteBatch batch;
  batch.Put("a", "a1");  // seq 100
  batch.Put("b", "b1");  // seq 101
  batch.Delete("a");     // seq 102
  batch.Put("a", "a2");  // seq 103
  batch.Put("b", "b2");  // seq 104
  WriteBatchInternal::SetSequence(&batch, 100);
  MemTable mem;
  ASSERT_TRUE(WriteBatchInternal::InsertInto(batch, &mem).ok());

  EXPECT_EQ(Lookup(mem, "a", 99), "ABSENT");
  EXPECT_EQ(Lookup(mem, "a", 100), "a1");
  EXPECT_EQ(Lookup(mem, "a", 101), "a1");
  EXPECT_EQ(Lookup(mem, "a", 102), "NOT_FOUND");
  EXPECT_EQ(Lookup(mem, "a", 103), "a2");
  EXPECT_EQ(Lookup(mem, "a", kMaxSequenceNumber), "a2");

  EXPECT_EQ(Lookup(mem, "b", 100), "ABSENT");
  EXPECT_EQ(Lookup(mem, "b", 101), "b1");
  EXPECT_EQ(Lookup(mem, "b", 103), "b1");
  EXPECT_EQ(Lookup(mem, "b", 104), "b2");

  EXPECT_EQ(Lookup(mem, "c", kMaxSequenceNumber), "ABSENT");
}

// The memtable takes a batch's entries in groups (MemTable::kGroupSize): a batch of two
// and a half groups must arrive whole, each entry at its own sequence number.
TEST(WriteBatchTest, InsertIntoOfABatchLargerThanAGroupKeepsEveryEntryAndSequence) {
  const int entries = static_cast<int>(MemTable::kGroupSize) * 5 / 2;
  WriteBatch batch;
  for (int i = 0; i < entries; i++) batch.Put("k" + std::to_string(i % 20), "v" + std::to_string(i));
  WriteBatchInternal::SetSequence(&batch, 1);
  MemTable mem;
  ASSERT_TRUE(WriteBatchInternal::InsertInto(batch, &mem).ok());
  for (int i = 0; i < entries; i++) {
    EXPECT_EQ(Lookup(mem, "k" + std::to_string(i % 20), i + 1), "v" + std::to_string(i)) << i;
  }
}

TEST(WriteBatchTest, InsertIntoOfSeveralBatchesContinuesTheirSequences) {
  MemTable mem;
  WriteBatch first;
  first.Put("k", "v1");
  first.Put("k", "v2");
  WriteBatchInternal::SetSequence(&first, 1);
  ASSERT_TRUE(WriteBatchInternal::InsertInto(first, &mem).ok());
  WriteBatch second;
  second.Delete("k");
  WriteBatchInternal::SetSequence(&second, 3);
  ASSERT_TRUE(WriteBatchInternal::InsertInto(second, &mem).ok());

  EXPECT_EQ(Lookup(mem, "k", 1), "v1");
  EXPECT_EQ(Lookup(mem, "k", 2), "v2");
  EXPECT_EQ(Lookup(mem, "k", 3), "NOT_FOUND");
}

// A batch with a valid header and the given record bytes, claiming count records.
std::string RawBatch(uint32_t count, std::string_view records) {
  std::string rep;
  PutFixed64(&rep, 5);
  PutFixed32(&rep, count);
  rep.append(records);
  return rep;
}

Status IterateContents(std::string_view contents, RecordingHandler* handler) {
  WriteBatch batch;
  Status s = WriteBatchInternal::SetContents(&batch, contents);
  if (!s.ok()) return s;
  return batch.Iterate(handler);
}

TEST(WriteBatchTest, IterateRejectsUnknownRecordType) {
  for (char type : {'\x03', '\x7f', '\x80', '\xff'}) {
    RecordingHandler handler;
    std::string records = std::string("\x01\x01k\x01v", 5) + type + "\x01k";
    Status s = IterateContents(RawBatch(2, records), &handler);
    EXPECT_TRUE(s.IsCorruption()) << int{type} << ": " << s.ToString();
    EXPECT_EQ(handler.calls, std::vector<std::string>{"Put(k, v)"});
  }
}

TEST(WriteBatchTest, IterateRejectsWrongCount) {
  const std::string records = std::string("\x01\x01k\x01v\x00\x01", 7) + 'd';
  for (uint32_t count : {0u, 1u, 3u, 0xffffffffu}) {
    RecordingHandler handler;
    Status s = IterateContents(RawBatch(count, records), &handler);
    EXPECT_TRUE(s.IsCorruption()) << count << ": " << s.ToString();
  }
  RecordingHandler handler;
  EXPECT_TRUE(IterateContents(RawBatch(2, records), &handler).ok());
  // A header that claims records the batch does not have.
  RecordingHandler empty_handler;
  EXPECT_TRUE(IterateContents(RawBatch(1, ""), &empty_handler).IsCorruption());
}

TEST(WriteBatchTest, IterateRejectsEveryTruncation) {
  WriteBatch batch;
  batch.Put("key1", "value1");
  batch.Delete("key2");
  batch.Put(std::string(200, 'k'), std::string(300, 'v'));  // two-byte lengths
  const std::string full(WriteBatchInternal::Contents(batch));
  for (size_t len = WriteBatchInternal::kHeaderSize; len < full.size(); len++) {
    RecordingHandler handler;
    Status s = IterateContents(full.substr(0, len), &handler);
    EXPECT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
  }
}

TEST(WriteBatchTest, IterateRejectsLengthsPastTheEnd) {
  RecordingHandler handler;
  // A key length far beyond the batch.
  std::string records = "\x01";
  PutVarint32(&records, 0xffffffffu);
  records += "k";
  EXPECT_TRUE(IterateContents(RawBatch(1, records), &handler).IsCorruption());
  // A value length one past the end.
  std::string records2 = std::string("\x01\x01k\x03vv", 6);
  EXPECT_TRUE(IterateContents(RawBatch(1, records2), &handler).IsCorruption());
  // An overlong length varint.
  std::string records3 = std::string("\x00\x80\x80\x80\x80\x80\x00", 7);
  EXPECT_TRUE(IterateContents(RawBatch(1, records3), &handler).IsCorruption());
  EXPECT_TRUE(handler.calls.empty());
}

TEST(WriteBatchTest, InsertIntoReportsCorruption) {
  MemTable mem;
  WriteBatch batch;
  ASSERT_TRUE(WriteBatchInternal::SetContents(&batch, RawBatch(1, "\x07")).ok());
  EXPECT_TRUE(WriteBatchInternal::InsertInto(batch, &mem).IsCorruption());
}

// Sequence numbers have 56 bits (they share 8 bytes with the type in internal keys). A
// batch read back from a log whose header was damaged past its CRC, or written by a
// buggy writer, may claim sequences beyond that; packing them would silently change
// the keys, so the batch must be refused as a whole.
TEST(WriteBatchTest, InsertIntoRejectsSequencesBeyondTheMaximum) {
  struct Case {
    SequenceNumber first;
    int records;
  };
  const Case cases[] = {{kMaxSequenceNumber, 2},
                        {kMaxSequenceNumber - 1, 3},
                        {kMaxSequenceNumber + 1, 1},
                        {UINT64_MAX, 1}};
  for (const Case& c : cases) {
    WriteBatch batch;
    std::string key = "k";
    for (int i = 0; i < c.records; i++) {
      key.push_back('0');
      batch.Put(key, "v");
    }
    WriteBatchInternal::SetSequence(&batch, c.first);
    MemTable mem;
    Status s = WriteBatchInternal::InsertInto(batch, &mem);
    EXPECT_TRUE(s.IsCorruption()) << c.first << " + " << c.records << ": " << s.ToString();
  }
  // The last sequence itself is fine.
  WriteBatch last;
  last.Put("k", "v");
  WriteBatchInternal::SetSequence(&last, kMaxSequenceNumber);
  MemTable mem;
  ASSERT_TRUE(WriteBatchInternal::InsertInto(last, &mem).ok());
  EXPECT_EQ(Lookup(mem, "k", kMaxSequenceNumber), "v");
}

// Random damage to a valid batch must never crash or read out of bounds (run under
// ASan), and whatever Iterate accepts must be exactly what it visited.
TEST(WriteBatchTest, RandomTruncationsAndByteFlipsNeverCrash) {
  std::mt19937 rng(20240601);
  WriteBatch batch;
  WriteBatchInternal::SetSequence(&batch, 1000);
  for (int i = 0; i < 20; i++) {
    std::string key = "key" + std::to_string(i);
    if (i % 3 == 0) {
      batch.Delete(key);
    } else {
      batch.Put(key, std::string(static_cast<size_t>(i * 13), static_cast<char>('a' + i)));
    }
  }
  const std::string valid(WriteBatchInternal::Contents(batch));
  int rejected = 0;
  for (int trial = 0; trial < 20000; trial++) {
    std::string damaged = valid;
    int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; f++) {
      size_t pos = rng() % damaged.size();
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1u << (rng() % 8)));
    }
    if (rng() % 2 == 0) damaged.resize(rng() % (damaged.size() + 1));

    WriteBatch copy;
    Status s = WriteBatchInternal::SetContents(&copy, damaged);
    if (!s.ok()) {
      ASSERT_TRUE(s.IsCorruption()) << s.ToString();
      ASSERT_LT(damaged.size(), WriteBatchInternal::kHeaderSize);
      rejected++;
      continue;
    }
    RecordingHandler handler;
    s = copy.Iterate(&handler);
    if (s.ok()) {
      ASSERT_EQ(handler.calls.size(), copy.Count());
    } else {
      ASSERT_TRUE(s.IsCorruption()) << s.ToString();
      rejected++;
    }
    MemTable mem;
    Status inserted = WriteBatchInternal::InsertInto(copy, &mem);
    // InsertInto also refuses sequences beyond the maximum, which Iterate ignores.
    ASSERT_TRUE(inserted.ok() || inserted.IsCorruption()) << inserted.ToString();
    if (!s.ok()) {
      ASSERT_FALSE(inserted.ok());
    }
  }
  EXPECT_GT(rejected, 5000) << "the damage should exercise the corruption paths";
}

}  // namespace
}  // namespace strata
