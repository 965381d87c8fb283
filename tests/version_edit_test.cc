// Tests of VersionEdit (lsm/version_edit.h): the record format of the MANIFEST
// (docs/manifest_format.md). Round trips, the exact byte layout, and rejection of
// damaged or foreign input without crashing.
#include "lsm/version_edit.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lsm/coding.h"
#include "lsm/dbformat.h"

namespace strata {
namespace {

std::string IKey(std::string_view user_key, SequenceNumber seq,
                 ValueType type = ValueType::kValue) {
  std::string key;
  AppendInternalKey(&key, user_key, seq, type);
  return key;
}

FileMetaData File(uint64_t number, uint64_t size, std::string smallest, std::string largest) {
  FileMetaData f;
  f.number = number;
  f.file_size = size;
  f.smallest = std::move(smallest);
  f.largest = std::move(largest);
  return f;
}

void ExpectSameEdit(const VersionEdit& a, const VersionEdit& b) {
  EXPECT_EQ(a.format_version(), b.format_version());
  EXPECT_EQ(a.log_number(), b.log_number());
  EXPECT_EQ(a.next_file_number(), b.next_file_number());
  EXPECT_EQ(a.last_sequence(), b.last_sequence());
  EXPECT_EQ(a.deleted_files(), b.deleted_files());
  ASSERT_EQ(a.new_files().size(), b.new_files().size());
  for (size_t i = 0; i < a.new_files().size(); i++) {
    const auto& [level_a, file_a] = a.new_files()[i];
    const auto& [level_b, file_b] = b.new_files()[i];
    EXPECT_EQ(level_a, level_b) << i;
    EXPECT_EQ(file_a.number, file_b.number) << i;
    EXPECT_EQ(file_a.file_size, file_b.file_size) << i;
    EXPECT_EQ(file_a.smallest, file_b.smallest) << i;
    EXPECT_EQ(file_a.largest, file_b.largest) << i;
  }
}

std::string Encode(const VersionEdit& edit) {
  std::string s;
  edit.EncodeTo(&s);
  return s;
}

// An edit with every kind of field, files on several levels and binary keys.
VersionEdit FullEdit() {
  VersionEdit edit;
  edit.SetFormatVersion(kManifestFormatVersion);
  edit.SetLogNumber(12);
  edit.SetNextFileNumber(300);
  edit.SetLastSequence(kMaxSequenceNumber);
  edit.RemoveFile(0, 5);
  edit.RemoveFile(3, 200);
  edit.RemoveFile(kNumLevels - 1, UINT64_MAX);
  edit.AddFile(0, File(20, 4096, IKey("a", 10), IKey("z", 9, ValueType::kDeletion)));
  edit.AddFile(1, File(21, 0, IKey(std::string("\0\xff\x00", 3), 1),
                       IKey(std::string("\xff\xff", 2), kMaxSequenceNumber)));
  edit.AddFile(2, File(22, uint64_t{1} << 40, IKey("", 0), IKey(std::string(300, 'k'), 7)));
  edit.AddFile(kNumLevels - 1, File(UINT64_MAX - 1, UINT64_MAX, IKey("m", 1), IKey("n", 2)));
  return edit;
}

TEST(VersionEditTest, RoundTripWithAllFields) {
  const VersionEdit edit = FullEdit();
  const std::string encoded = Encode(edit);
  VersionEdit decoded;
  Status s = decoded.DecodeFrom(encoded);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameEdit(edit, decoded);
  EXPECT_EQ(Encode(decoded), encoded);
}

TEST(VersionEditTest, RoundTripOfEachFieldAlone) {
  std::vector<VersionEdit> edits(6);
  edits[0].SetFormatVersion(1);
  edits[1].SetLogNumber(0);
  edits[2].SetNextFileNumber(2);
  edits[3].SetLastSequence(0);
  edits[4].RemoveFile(6, 0);
  edits[5].AddFile(3, File(9, 1, IKey("", 0), IKey("", 0)));
  for (size_t i = 0; i < edits.size(); i++) {
    VersionEdit decoded;
    ASSERT_TRUE(decoded.DecodeFrom(Encode(edits[i])).ok()) << i;
    ExpectSameEdit(edits[i], decoded);
  }
}

TEST(VersionEditTest, EmptyEditEncodesToNothing) {
  VersionEdit edit;
  EXPECT_EQ(Encode(edit), "");
  VersionEdit decoded;
  ASSERT_TRUE(decoded.DecodeFrom("").ok());
  EXPECT_FALSE(decoded.format_version());
  EXPECT_FALSE(decoded.log_number());
  EXPECT_FALSE(decoded.next_file_number());
  EXPECT_FALSE(decoded.last_sequence());
  EXPECT_TRUE(decoded.new_files().empty());
  EXPECT_TRUE(decoded.deleted_files().empty());
}

TEST(VersionEditTest, DecodeReplacesEarlierContents) {
  VersionEdit edit = FullEdit();
  VersionEdit small;
  small.SetLogNumber(3);
  ASSERT_TRUE(edit.DecodeFrom(Encode(small)).ok());
  ExpectSameEdit(small, edit);
}

// The layout docs/manifest_format.md describes, byte for byte.
TEST(VersionEditTest, EncodingMatchesTheDocumentedLayout) {
  VersionEdit edit;
  edit.SetFormatVersion(1);
  edit.SetLogNumber(300);
  edit.SetNextFileNumber(301);
  edit.SetLastSequence(5);
  edit.RemoveFile(2, 7);
  edit.AddFile(1, File(9, 1000, IKey("a", 1), IKey("b", 2)));
  std::string expected;
  expected += "\x01\x01";              // format version 1
  expected += "\x02\xac\x02";          // log number 300
  expected += "\x03\xad\x02";          // next file number 301
  expected += "\x04\x05";              // last sequence 5
  expected += "\x05\x02\x07";          // deleted file: level 2, number 7
  expected += "\x06\x01\x09\xe8\x07";  // new file: level 1, number 9, size 1000
  expected += '\x09' + IKey("a", 1);   // smallest, length-prefixed
  expected += '\x09' + IKey("b", 2);   // largest
  EXPECT_EQ(Encode(edit), expected);
}

// The format is a sequence of tagged fields, so a cut exactly between two fields
// leaves a shorter valid edit (the log record's checksum is what catches that); a cut
// anywhere else must be reported as corruption.
TEST(VersionEditTest, TruncationIsCorruptionExceptAtFieldBoundaries) {
  const VersionEdit full = FullEdit();
  const std::string encoded = Encode(full);

  // Field boundaries: the encodings of the growing prefixes of the field list, in the
  // order EncodeTo writes them.
  std::set<size_t> boundaries = {0};
  VersionEdit prefix;
  auto mark = [&] { boundaries.insert(Encode(prefix).size()); };
  prefix.SetFormatVersion(*full.format_version());
  mark();
  prefix.SetLogNumber(*full.log_number());
  mark();
  prefix.SetNextFileNumber(*full.next_file_number());
  mark();
  prefix.SetLastSequence(*full.last_sequence());
  mark();
  for (const auto& [level, number] : full.deleted_files()) {
    prefix.RemoveFile(level, number);
    mark();
  }
  for (const auto& [level, file] : full.new_files()) {
    prefix.AddFile(level, file);
    mark();
  }
  ASSERT_EQ(Encode(prefix), encoded);

  for (size_t len = 0; len < encoded.size(); len++) {
    // An exact-size heap copy: ASan reports any read past the cut.
    std::unique_ptr<char[]> copy(new char[len + 1]);
    std::memcpy(copy.get(), encoded.data(), len);
    VersionEdit decoded;
    Status s = decoded.DecodeFrom(std::string_view(copy.get(), len));
    if (boundaries.count(len) != 0) {
      EXPECT_TRUE(s.ok()) << len << ": " << s.ToString();
    } else {
      EXPECT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
      EXPECT_NE(s.message().find("version edit"), std::string::npos) << s.message();
    }
  }
}

TEST(VersionEditTest, UnknownTagIsCorruption) {
  for (uint32_t tag : {0u, 7u, 8u, 100u, 0x7fffffffu, 0xffffffffu}) {
    std::string encoded = Encode(FullEdit());
    PutVarint32(&encoded, tag);
    PutVarint64(&encoded, 1);
    VersionEdit decoded;
    Status s = decoded.DecodeFrom(encoded);
    EXPECT_TRUE(s.IsCorruption()) << tag << ": " << s.ToString();
    EXPECT_NE(s.message().find(std::to_string(tag)), std::string::npos) << s.message();
  }
  // A tag that is not even a valid varint32.
  VersionEdit decoded;
  EXPECT_TRUE(decoded.DecodeFrom("\xff\xff\xff\xff\xff\x01").IsCorruption());
}

TEST(VersionEditTest, NewerFormatVersionIsNotSupported) {
  for (uint32_t version :
       {kManifestFormatVersion + 1, kManifestFormatVersion + 100, uint32_t{0xffffffff}}) {
    VersionEdit edit;
    edit.SetFormatVersion(version);
    edit.SetLogNumber(1);
    VersionEdit decoded;
    Status s = decoded.DecodeFrom(Encode(edit));
    EXPECT_TRUE(s.IsNotSupported()) << version << ": " << s.ToString();
    EXPECT_NE(s.message().find(std::to_string(version)), std::string::npos) << s.message();
  }
  VersionEdit current;
  current.SetFormatVersion(kManifestFormatVersion);
  VersionEdit decoded;
  EXPECT_TRUE(decoded.DecodeFrom(Encode(current)).ok());
  EXPECT_EQ(decoded.format_version(), kManifestFormatVersion);
}

TEST(VersionEditTest, LevelOutOfRangeIsCorruption) {
  for (uint32_t level : {uint32_t{kNumLevels}, uint32_t{kNumLevels + 1}, 0xffffffffu}) {
    std::string added;
    PutVarint32(&added, 6);  // new file
    PutVarint32(&added, level);
    PutVarint64(&added, 9);
    PutVarint64(&added, 100);
    PutLengthPrefixed(&added, IKey("a", 1));
    PutLengthPrefixed(&added, IKey("b", 1));
    VersionEdit decoded;
    EXPECT_TRUE(decoded.DecodeFrom(added).IsCorruption()) << "new file at level " << level;

    std::string deleted;
    PutVarint32(&deleted, 5);  // deleted file
    PutVarint32(&deleted, level);
    PutVarint64(&deleted, 9);
    EXPECT_TRUE(decoded.DecodeFrom(deleted).IsCorruption()) << "deleted file at level " << level;
  }
}

TEST(VersionEditTest, KeysShorterThanTheInternalTrailerAreCorruption) {
  for (size_t len = 0; len < kInternalKeyTrailerSize; len++) {
    const std::string short_key(len, 'k');
    for (bool short_smallest : {true, false}) {
      std::string encoded;
      PutVarint32(&encoded, 6);
      PutVarint32(&encoded, 1);
      PutVarint64(&encoded, 9);
      PutVarint64(&encoded, 100);
      PutLengthPrefixed(&encoded, short_smallest ? short_key : IKey("a", 1));
      PutLengthPrefixed(&encoded, short_smallest ? IKey("b", 1) : short_key);
      VersionEdit decoded;
      EXPECT_TRUE(decoded.DecodeFrom(encoded).IsCorruption())
          << (short_smallest ? "smallest" : "largest") << " of " << len << " bytes";
    }
  }
  // Exactly the trailer (an empty user key) is fine.
  VersionEdit edit;
  edit.AddFile(0, File(1, 1, IKey("", 0), IKey("", 0)));
  VersionEdit decoded;
  EXPECT_TRUE(decoded.DecodeFrom(Encode(edit)).ok());
}

TEST(VersionEditTest, OverlongNumbersAreCorruption) {
  // Log number as an 11-byte varint64.
  std::string encoded = "\x02";
  encoded += std::string(10, '\x80');
  encoded += '\x00';
  VersionEdit decoded;
  EXPECT_TRUE(decoded.DecodeFrom(encoded).IsCorruption());
  // Format version above 32 bits.
  std::string version = "\x01";
  PutVarint64(&version, uint64_t{1} << 32);
  EXPECT_TRUE(decoded.DecodeFrom(version).IsCorruption());
}

// Random damage must never crash or read out of bounds (run under ASan); the result is
// a Status, whatever the bytes.
TEST(VersionEditTest, RandomDamageNeverCrashes) {
  const std::string valid = Encode(FullEdit());
  std::mt19937 rng(77);
  int rejected = 0;
  for (int trial = 0; trial < 20000; trial++) {
    std::string damaged = valid;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; f++) {
      size_t pos = rng() % damaged.size();
      if (rng() % 4 == 0) {
        damaged[pos] = static_cast<char>(rng());
      } else {
        damaged[pos] = static_cast<char>(damaged[pos] ^ (1u << (rng() % 8)));
      }
    }
    if (rng() % 3 == 0) damaged.resize(rng() % (damaged.size() + 1));
    std::unique_ptr<char[]> copy(new char[damaged.size() + 1]);
    std::memcpy(copy.get(), damaged.data(), damaged.size());
    VersionEdit decoded;
    Status s = decoded.DecodeFrom(std::string_view(copy.get(), damaged.size()));
    if (s.ok()) {
      for (const auto& [level, file] : decoded.new_files()) {
        ASSERT_LT(level, kNumLevels);
        ASSERT_GE(file.smallest.size(), kInternalKeyTrailerSize);
        ASSERT_GE(file.largest.size(), kInternalKeyTrailerSize);
      }
      for (const auto& [level, number] : decoded.deleted_files()) ASSERT_LT(level, kNumLevels);
    } else {
      ASSERT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
      rejected++;
    }
  }
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace strata
