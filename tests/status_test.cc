// Tests of strata/status.h: codes, predicates, ToString and WithContext.
#include "strata/status.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace strata {
namespace {

struct CodeCase {
  Status::Code code;
  Status (*make)(std::string_view);
  const char* name;
  bool (Status::*predicate)() const;
};

const std::vector<CodeCase>& ErrorCodes() {
  static const std::vector<CodeCase> cases = {
      {Status::Code::kNotFound, &Status::NotFound, "Not found", &Status::IsNotFound},
      {Status::Code::kCorruption, &Status::Corruption, "Corruption", &Status::IsCorruption},
      {Status::Code::kNotSupported, &Status::NotSupported, "Not supported",
       &Status::IsNotSupported},
      {Status::Code::kInvalidArgument, &Status::InvalidArgument, "Invalid argument",
       &Status::IsInvalidArgument},
      {Status::Code::kIOError, &Status::IOError, "IO error", &Status::IsIOError},
      {Status::Code::kBusy, &Status::Busy, "Busy", &Status::IsBusy},
  };
  return cases;
}

TEST(StatusTest, DefaultAndOkAreOk) {
  Status def;
  EXPECT_TRUE(def.ok());
  EXPECT_EQ(def.code(), Status::Code::kOk);
  EXPECT_EQ(def.ToString(), "OK");
  EXPECT_TRUE(def.message().empty());
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
}

TEST(StatusTest, EachFactorySetsItsCodeAndOnlyItsPredicate) {
  for (const CodeCase& c : ErrorCodes()) {
    Status s = c.make("msg");
    EXPECT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.code(), c.code) << c.name;
    EXPECT_EQ(s.message(), "msg");
    for (const CodeCase& other : ErrorCodes()) {
      EXPECT_EQ((s.*other.predicate)(), other.code == c.code) << c.name << " vs " << other.name;
    }
  }
}

TEST(StatusTest, ToStringNamesEveryCodeAndAppendsMessage) {
  for (const CodeCase& c : ErrorCodes()) {
    EXPECT_EQ(c.make("/x/000012.log: No space left").ToString(),
              std::string(c.name) + ": /x/000012.log: No space left");
    // No dangling separator without a message.
    EXPECT_EQ(c.make("").ToString(), c.name);
  }
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  for (const CodeCase& c : ErrorCodes()) {
    Status s = c.make("checksum mismatch").WithContext("/db/000005.sst");
    EXPECT_EQ(s.code(), c.code);
    EXPECT_EQ(s.message(), "/db/000005.sst: checksum mismatch");
    EXPECT_EQ(s.ToString(), std::string(c.name) + ": /db/000005.sst: checksum mismatch");
  }
}

TEST(StatusTest, WithContextNests) {
  Status s = Status::IOError("No space left").WithContext("/db/000007.log").WithContext("flush");
  EXPECT_EQ(s.message(), "flush: /db/000007.log: No space left");
  EXPECT_TRUE(s.IsIOError());
}

TEST(StatusTest, WithContextOnEmptyMessageIsJustTheContext) {
  Status s = Status::Corruption("").WithContext("/db/MANIFEST-000001");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "/db/MANIFEST-000001");
}

TEST(StatusTest, WithContextLeavesOkAlone) {
  Status s = Status::OK().WithContext("/db/CURRENT");
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(s.message().empty());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, WithContextDoesNotModifyOriginal) {
  Status original = Status::NotFound("key");
  Status with = original.WithContext("table 5");
  EXPECT_EQ(original.message(), "key");
  EXPECT_EQ(with.message(), "table 5: key");
}

TEST(StatusTest, CopiesAndMovesKeepCodeAndMessage) {
  Status a = Status::Busy("locked");
  Status b = a;
  EXPECT_TRUE(b.IsBusy());
  EXPECT_EQ(b.message(), "locked");
  Status c = std::move(b);
  EXPECT_TRUE(c.IsBusy());
  EXPECT_EQ(c.message(), "locked");
  c = Status::OK();
  EXPECT_TRUE(c.ok());
  EXPECT_EQ(a.ToString(), "Busy: locked");
}

}  // namespace
}  // namespace strata
