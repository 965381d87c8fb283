// Type affinity exactly as an ordinary SQLite table applies it, without SQLite.
//
// SQLite applies no affinity to values written to (or compared with) a virtual table,
// so a strata table that is to behave like an ordinary table must do it itself: a
// value inserted into a column of declared type T is converted here exactly as SQLite
// would convert it before storing it, and what ApplyAffinity returns is what
// `SELECT c, typeof(c)` on an ordinary table shows afterwards.
// See https://www.sqlite.org/datatype3.html ("Type Affinity").
//
// The number <-> text conversions are ports of SQLite 3.40's own (sqlite3AtoF,
// sqlite3Atoi64 and the "%!.15g" rendering of sqlite3_str_vappendf, all public domain),
// including their use of `long double`, because parity means producing the same double
// for "0.1" and the same text for 1e300 as the SQLite library the extension runs in.
// tests/affinity_codec_test.cc checks them against the linked libsqlite3. SQLite 3.43
// rewrote these conversions; running inside a newer SQLite can differ in the last
// digit of rare conversions (docs/key_encoding.md, section "Affinity").
//
// May include: the C++ standard library and extension/sql_value.h only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "extension/sql_value.h"

namespace strata::sql {

// A column's type affinity. kBlob is also called "none" in older SQLite documents.
enum class Affinity : uint8_t { kBlob, kText, kNumeric, kInteger, kReal };

// "BLOB", "TEXT", "NUMERIC", "INTEGER" or "REAL".
const char* AffinityName(Affinity affinity);

// The affinity SQLite gives a column declared with `decl_type` (the type name as
// written, e.g. "VARCHAR(20)", "UNSIGNED BIG INT", or empty for no type), by the rules
// of "Determination Of Column Affinity", applied exactly as sqlite3AffinityType does:
// case-insensitively, "INT" anywhere wins at once; otherwise the last of "CHAR",
// "CLOB", "TEXT" gives TEXT; "BLOB" gives BLOB unless TEXT was already chosen; "REAL",
// "FLOA", "DOUB" give REAL if nothing else was chosen; otherwise NUMERIC. An empty
// type gives BLOB. (Reading stops at a NUL byte, as the C string SQLite sees would.)
Affinity AffinityOfDeclaredType(std::string_view decl_type);

// The value an ordinary table's column of affinity `affinity` holds after storing `v`,
// as `SELECT c, typeof(c)` shows it:
//   BLOB     v unchanged.
//   TEXT     INTEGER and REAL become their text (42 -> '42', 1.0 -> '1.0',
//            1e300 -> '1.0e+300', 0.1 -> '0.1'); NULL, TEXT and BLOB unchanged.
//   NUMERIC, INTEGER
//            TEXT that is a well-formed decimal number (surrounding spaces allowed,
//            no hex) becomes INTEGER if its value is an integer that fits in 64 bits
//            ('1e3' -> 1000, '3.0' -> 3, '-0' -> 0), else REAL ('3.5' -> 3.5,
//            '9223372036854775808' -> 9.22337203685478e18); other TEXT ('3abc', '',
//            '0x10') is unchanged. A REAL with an integer value strictly between -2^63
//            and 2^63 becomes INTEGER (3.0 -> 3, -0.0 -> 0; 1e20 stays REAL).
//   REAL     as NUMERIC, then an INTEGER becomes REAL (SQLite stores such a value as
//            an integer on disk but always presents and compares it as a REAL).
// When a number becomes text, the text is written to *text_buffer (its old contents
// are replaced) and the returned value points into it: keep *text_buffer alive and
// unmodified while the result is used. TEXT results that are not conversions point
// into v's bytes, like v itself.
SqlValue ApplyAffinity(Affinity affinity, const SqlValue& v, std::string* text_buffer);

// Building blocks, exposed for the glue and for tests.

// Appends SQLite's text for a REAL ("%!.15g": 15 significant digits, always with a
// decimal point or exponent, "Inf"/"-Inf" for infinities, -0.0 -> "0.0").
void AppendRealAsText(std::string* dst, double r);
// Appends SQLite's text for an INTEGER (plain decimal).
void AppendIntegerAsText(std::string* dst, int64_t v);
// NUMERIC affinity of a TEXT value: the INTEGER or REAL it converts to, or
// SqlValue::Text(text) unchanged when it is not a well-formed number.
SqlValue NumericValueOfText(std::string_view text);
// SQLite's sqlite3AtoF on UTF-8 text: writes the double of the longest numeric prefix
// to *result and returns 1 (the whole text is an integer literal), 2 or 3 (a number
// with a decimal point and/or exponent), 0 or -1 (not a number: SQLite's codes).
int SqliteAtoF(std::string_view text, double* result);

}  // namespace strata::sql
