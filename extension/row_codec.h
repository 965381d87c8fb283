// Row encoding: the non-key columns of a row, stored as the value of its key.
//
// Compact like SQLite's record format: a version byte, a header of one small serial
// type per column (NULL, 0 and 1 take no payload; integers take 1 to 8 bytes), then
// the payloads. Trailing NULL columns are not written, and a reader returns NULL for
// any column past the end, so rows written before ALTER TABLE ADD COLUMN read back
// with NULL in the new columns. RowReader extracts one column by scanning only the
// header up to it, never decoding other payloads, and returns views into the row:
// reading allocates nothing. The byte layout is specified in docs/key_encoding.md.
//
// A row can also carry key overrides: the exact value of a key column whose key
// encoding does not give it back (see KeyColumnRoundTrips in key_codec.h: a REAL with
// an integer value, or -0.0, in a column without affinity), so that a strata table
// returns 1.0 where an ordinary table would. They are rare and cost nothing when
// absent beyond one flags byte.
//
// May include: the C++ standard library and extension/sql_value.h only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "extension/sql_value.h"

namespace strata::sql {

inline constexpr uint8_t kRowFormatVersion = 1;

// The exact value of key column `key_column` (0-based position within the key).
struct KeyColumnOverride {
  uint32_t key_column;
  SqlValue value;
};

// Appends the encoding of a row to *dst: `columns` are the non-key columns in schema
// order; `key_overrides` must be sorted by key_column with no duplicates.
void AppendRow(std::string* dst, std::span<const SqlValue> columns,
               std::span<const KeyColumnOverride> key_overrides = {});

// Reads columns of one encoded row. Checks are lazy, so that reading one column costs
// only that column: Reset checks the version, flags, key overrides and header bounds;
// Column checks what it reads. ValidateRow checks everything.
class RowReader {
 public:
  RowReader() = default;

  // Starts reading `row`, which must outlive the reader and every value it returns.
  // Returns false (see error()) if the row is damaged.
  bool Reset(std::string_view row);

  // Column `index` (0-based among the non-key columns); NULL when the row was
  // written with fewer columns. TEXT and BLOB point into the row. Returns false (see
  // error()) if the row is damaged. Fastest when called with increasing indexes, as
  // SQLite calls xColumn; any order works.
  bool Column(uint32_t index, SqlValue* out);

  // The exact value stored for key column `key_column`, if the row has one.
  bool FindKeyOverride(uint32_t key_column, SqlValue* out) const;
  // False for almost every row: no key column needs its exact value kept.
  bool has_key_overrides() const { return override_count_ != 0; }

  // What was wrong with the row after Reset or Column returned false.
  const char* error() const { return error_; }

 private:
  friend const char* ValidateRow(std::string_view row);

  bool Fail(const char* message) {
    error_ = message;
    return false;
  }

  std::string_view row_;
  std::string_view overrides_;  // the key override entries, already validated
  uint32_t override_count_ = 0;
  const char* header_ = nullptr;  // first serial type
  const char* header_end_ = nullptr;
  // Scan position: serial type of column next_index_ at type_pos_, its payload at
  // payload_pos_.
  uint32_t next_index_ = 0;
  const char* type_pos_ = nullptr;
  const char* payload_pos_ = nullptr;
  const char* error_ = "row reader not initialized";
};

// Checks the whole row: version, flags, every serial type and payload, and that the
// payloads end exactly at the end of the row. Returns nullptr if the row is sound,
// else a description of the first problem.
const char* ValidateRow(std::string_view row);

}  // namespace strata::sql
