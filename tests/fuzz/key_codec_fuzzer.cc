// libFuzzer target for the pure SQL codecs: key decoding, row reading and the
// text-to-number conversion of affinity. Not part of the default build (it needs
// clang's -fsanitize=fuzzer). Build and run from the repository root:
//
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. \
//       tests/fuzz/key_codec_fuzzer.cc extension/key_codec.cc extension/row_codec.cc \
//       extension/affinity_codec.cc -o /tmp/key_codec_fuzzer
//   /tmp/key_codec_fuzzer -max_total_time=60
//
// Properties checked (a failed check aborts, which libFuzzer reports as a crash):
// - DecodeKeyColumn never reads outside its input; when it accepts bytes they are
//   canonical (re-encoding the value gives exactly the bytes consumed), SkipKeyColumn
//   agrees with it, and the value's encoding order matches CompareSqlValues against
//   the previous column decoded from the same input;
// - RowReader and ValidateRow never read outside the row, and a row ValidateRow
//   accepts can be read column by column;
// - NumericValueOfText and ApplyAffinity accept any bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "extension/affinity_codec.h"
#include "extension/key_codec.h"
#include "extension/row_codec.h"

namespace {

using strata::sql::SqlValue;

void Check(bool condition) {
  if (!condition) std::abort();
}

int Sign(int x) { return (x > 0) - (x < 0); }

void FuzzKeys(std::string_view input) {
  std::string previous_key;
  std::string scratch[2];
  SqlValue previous;
  bool have_previous = false;
  for (int column = 0; !input.empty(); column++) {
    std::string_view before = input;
    SqlValue v;
    std::string& s = scratch[column % 2];
    if (!strata::sql::DecodeKeyColumn(&input, &v, &s)) {
      std::string_view skip = before;
      Check(!strata::sql::SkipKeyColumn(&skip));
      Check(input.data() == before.data() && input.size() == before.size());
      return;
    }
    std::string_view consumed = before.substr(0, before.size() - input.size());
    std::string key;
    strata::sql::AppendKeyColumn(&key, v);
    Check(key == consumed);
    std::string_view skip = before;
    Check(strata::sql::SkipKeyColumn(&skip) && skip.size() == input.size());
    if (have_previous) {
      Check(Sign(previous_key.compare(key)) == Sign(strata::sql::CompareSqlValues(previous, v)));
    }
    previous = v;
    previous_key = key;
    have_previous = true;
  }
}

void FuzzRow(std::string_view row) {
  const char* problem = strata::sql::ValidateRow(row);
  strata::sql::RowReader reader;
  if (!reader.Reset(row)) {
    Check(problem != nullptr);
    return;
  }
  for (uint32_t i = 0; i < 40; i++) {
    SqlValue v;
    bool ok = reader.Column(i, &v);
    if (problem == nullptr) Check(ok);
    if (!ok) break;
  }
  SqlValue v;
  for (uint32_t k = 0; k < 4; k++) reader.FindKeyOverride(k, &v);
}

void FuzzAffinity(std::string_view text) {
  std::string buffer;
  SqlValue numeric = strata::sql::NumericValueOfText(text);
  for (auto affinity : {strata::sql::Affinity::kText, strata::sql::Affinity::kNumeric,
                        strata::sql::Affinity::kReal}) {
    SqlValue once = strata::sql::ApplyAffinity(affinity, SqlValue::Text(text), &buffer);
    std::string buffer2;
    Check(strata::sql::ApplyAffinity(affinity, once, &buffer2).IdenticalTo(once));
  }
  (void)numeric;
  (void)strata::sql::AffinityOfDeclaredType(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into an exact-size heap block so that ASan sees any over-read.
  std::unique_ptr<char[]> exact(new char[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(exact.get(), data, size);
  std::string_view input(exact.get(), size);
  FuzzKeys(input);
  FuzzRow(input);
  FuzzAffinity(input);
  return 0;
}
