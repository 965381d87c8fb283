// Key encoding: SQLite values as byte strings whose memcmp order is SQLite's order.
//
// Invariant (tests/key_codec_test.cc checks it against sqlite3 itself):
//   for values a, b:   sign(memcmp(Key(a), Key(b))) == sign(CompareSqlValues(a, b))
// with BINARY collation: NULL < numbers < TEXT < BLOB; INTEGER and REAL compared by
// exact value (2^53+1 > 2^53 as a REAL); TEXT and BLOB by memcmp, a prefix first.
// In particular values SQLite calls equal encode to the same bytes (1 and 1.0, 0 and
// -0.0), which is what UNIQUE and point lookups need. Each column's encoding is
// prefix-free, so a composite key is the concatenation of its columns' encodings and
// sorts column by column. The byte layout is specified in docs/key_encoding.md.
//
// Because equal numbers encode equally, decoding cannot tell 1 from 1.0: a number
// decodes as INTEGER when its value is an integer in the int64 range, else as REAL.
// KeyColumnRoundTrips() says when that loses the type (an integer-valued REAL, or
// -0.0); the caller then keeps the exact value elsewhere (row_codec.h's key overrides).
//
// May include: the C++ standard library, extension/sql_value.h and
// extension/affinity_codec.h only.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "extension/affinity_codec.h"
#include "extension/sql_value.h"

namespace strata::sql {

// Appends the encoding of one key column to *dst (1 to 12 bytes for a number; 3 or
// more for TEXT and BLOB).
void AppendKeyColumn(std::string* dst, const SqlValue& v);

// The concatenated encodings of `columns`.
std::string EncodeKey(std::span<const SqlValue> columns);

// Decodes one column from the front of *input and removes its bytes from *input.
// TEXT and BLOB values point into the input bytes when they contain no 0x00 byte;
// otherwise the unescaped bytes are written to *scratch (its old contents are
// replaced) and the value points there. So a decoded value is valid while both the
// input bytes and *scratch are: decoding several columns needs one scratch each.
// Returns false, leaving *input unchanged, if the bytes are not exactly a canonical
// encoding (truncated, unknown tag, a number no INTEGER or REAL has, non-minimal
// escapes or exponent); never reads outside *input.
bool DecodeKeyColumn(std::string_view* input, SqlValue* out, std::string* scratch);

// The tags of TEXT and BLOB columns (docs/key_encoding.md), for the inline decoder below.
inline constexpr uint8_t kKeyTagText = 0xA0;
inline constexpr uint8_t kKeyTagBlob = 0xB0;

// DecodeKeyColumn's answer for `encoded` when it is exactly one TEXT or BLOB column
// without escaped bytes (tag, bytes with no 0x00, terminator 0x00 0x01): the usual
// single-column key, decoded inline, as a view into `encoded`. False for any other
// encoding, which DecodeKeyColumn then decodes (or rejects).
inline bool DecodeSoleBytesKeyColumn(std::string_view encoded, SqlValue* out) {
  if (encoded.size() < 3) return false;
  const auto tag = static_cast<uint8_t>(encoded[0]);
  if (tag != kKeyTagText && tag != kKeyTagBlob) return false;
  const char* terminator = static_cast<const char*>(
      std::memchr(encoded.data() + 1, 0, encoded.size() - 1));
  if (terminator != encoded.data() + encoded.size() - 2 || encoded.back() != 0x01) return false;
  const std::string_view body(encoded.data() + 1, encoded.size() - 3);
  *out = tag == kKeyTagText ? SqlValue::Text(body) : SqlValue::Blob(body);
  return true;
}

// Removes one column's encoding from the front of *input without building its value
// (to reach column k of a composite key). Validates as DecodeKeyColumn does.
bool SkipKeyColumn(std::string_view* input);

// True if decoding v's encoding gives back a value IdenticalTo(v). False exactly for a
// REAL whose value is an integer in [-2^63, 2^63) (it decodes as INTEGER), including
// -0.0 (decodes as 0).
bool KeyColumnRoundTrips(const SqlValue& v);

// How a table gets its key values back. Store ApplyAffinity(affinity, value) in the
// key; on reading, present ApplyAffinity(affinity, decoded): that restores a REAL
// column's 3.0 from the decoded INTEGER 3. This says when even that is not `stored`,
// so the row must keep the exact value (row_codec.h's key overrides): a column without
// affinity (kBlob) holding an integer-valued REAL or -0.0, or an INTEGER/NUMERIC column
// holding the REAL -2^63 (which SQLite does not convert). Never for TEXT or REAL.
bool KeyColumnNeedsOverride(Affinity affinity, const SqlValue& stored);

// Range bounds. Let P be the encodings of k complete key columns (x1..xk), e.g. from
// EncodeKey. Every key that starts with columns x1..xk lies in [P, KeyPrefixEnd(P)),
// and no other key does. For a range on column k+1 against the encoding V of a value v:
//   col >= v : start at P+V                   col <  v : end before P+V
//   col >  v : start at KeyPrefixEnd(P+V)     col <= v : end before KeyPrefixEnd(P+V)
// KeyPrefixEnd appends 0xFF, a byte no column encoding starts with. Works after any
// fixed prefix (e.g. a table id) too.
void AppendKeyPrefixEnd(std::string* encoded_columns);
std::string KeyPrefixEnd(std::string_view encoded_columns);

// The smallest byte string greater than every string starting with `prefix` (for an
// arbitrary prefix such as a table id, where KeyPrefixEnd does not apply): `prefix`
// with trailing 0xFF bytes removed and its last byte incremented. Returns false if
// there is none (prefix empty or all 0xFF: the range is unbounded above).
bool PrefixSuccessor(std::string_view prefix, std::string* successor);

}  // namespace strata::sql
