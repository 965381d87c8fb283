// SqlValue: one SQLite value (NULL, INTEGER, REAL, TEXT or BLOB) as a small, trivially
// copyable view. It is what the pure codecs (affinity_codec, key_codec, row_codec)
// consume and produce, so they never depend on sqlite3.h.
//
// Ownership: TEXT and BLOB values BORROW their bytes. A SqlValue made from a
// sqlite3_value, a decoded key or a decoded row points into that memory and is valid
// only as long as it is; copying a SqlValue copies the view, not the bytes. This keeps
// the cursor path (decode a row, hand columns to sqlite3_result_*) allocation-free.
// Whoever needs a value to outlive its source copies the bytes itself.
//
// Invariant: a REAL is never NaN. SQLite turns a NaN into NULL when it is bound or
// computed, and so does SqlValue::Real, so no codec ever sees a NaN.
//
// May include: the C++ standard library only.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace strata::sql {

// The five storage classes, in SQLite's sort order (NULL < numbers < TEXT < BLOB).
enum class SqlType : uint8_t { kNull, kInteger, kReal, kText, kBlob };

class SqlValue {
 public:
  constexpr SqlValue() = default;  // NULL

  static constexpr SqlValue Null() { return SqlValue(); }
  static constexpr SqlValue Integer(int64_t v) {
    SqlValue r;
    r.type_ = SqlType::kInteger;
    r.integer_ = v;
    return r;
  }
  // NaN becomes NULL, as in sqlite3_bind_double.
  static SqlValue Real(double v) {
    SqlValue r;
    if (std::isnan(v)) return r;
    r.type_ = SqlType::kReal;
    r.real_ = v;
    return r;
  }
  // TEXT is assumed to be UTF-8; BINARY collation compares it with memcmp.
  static constexpr SqlValue Text(std::string_view bytes) { return Bytes(SqlType::kText, bytes); }
  static constexpr SqlValue Blob(std::string_view bytes) { return Bytes(SqlType::kBlob, bytes); }

  SqlType type() const { return type_; }
  bool is_null() const { return type_ == SqlType::kNull; }
  bool is_number() const { return type_ == SqlType::kInteger || type_ == SqlType::kReal; }

  // Accessors require the matching type.
  int64_t integer() const { return integer_; }
  double real() const { return real_; }
  std::string_view bytes() const { return std::string_view(data_, size_); }  // TEXT or BLOB

  // Same storage class and the same bits (REAL compared bitwise, so -0.0 is not
  // identical to 0.0). This is identity, not SQL equality: see CompareSqlValues.
  bool IdenticalTo(const SqlValue& other) const {
    if (type_ != other.type_) return false;
    switch (type_) {
      case SqlType::kNull:
        return true;
      case SqlType::kInteger:
        return integer_ == other.integer_;
      case SqlType::kReal:
        return std::memcmp(&real_, &other.real_, sizeof(double)) == 0;
      case SqlType::kText:
      case SqlType::kBlob:
        return bytes() == other.bytes();
    }
    return false;
  }

  // For test failures and error messages: NULL, 42, 1.5 (as %.17g), 'text', x'0aff'.
  std::string DebugString() const {
    char buf[40];
    switch (type_) {
      case SqlType::kNull:
        return "NULL";
      case SqlType::kInteger:
        std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(integer_));
        return buf;
      case SqlType::kReal: {
        std::snprintf(buf, sizeof(buf), "%.17g", real_);
        std::string out = "real ";
        out.append(buf);
        return out;
      }
      case SqlType::kText: {
        std::string out = "'";
        out.append(bytes());
        out.push_back('\'');
        return out;
      }
      case SqlType::kBlob: {
        std::string out = "x'";
        for (unsigned char c : bytes()) {
          std::snprintf(buf, sizeof(buf), "%02x", c);
          out += buf;
        }
        out.push_back('\'');
        return out;
      }
    }
    return "?";
  }

 private:
  static constexpr SqlValue Bytes(SqlType type, std::string_view bytes) {
    SqlValue r;
    r.type_ = type;
    r.data_ = bytes.data();
    r.size_ = bytes.size();
    return r;
  }

  SqlType type_ = SqlType::kNull;
  union {
    int64_t integer_;
    double real_;
    const char* data_ = nullptr;
  };
  size_t size_ = 0;
};

// SQLite's comparison of two values with BINARY collation, as ORDER BY, UNIQUE and
// the comparison operators (for operands without affinity) use it: NULL sorts first
// and equals NULL; INTEGER and REAL compare by exact numeric value (so 1 = 1.0,
// -0.0 = 0, and 2^53+1 > 2^53 as a REAL); TEXT and BLOB compare with memcmp, a shorter
// prefix first. Returns <0, 0 or >0.
inline int CompareSqlValues(const SqlValue& a, const SqlValue& b) {
  auto rank = [](SqlType t) {
    switch (t) {
      case SqlType::kNull:
        return 0;
      case SqlType::kInteger:
      case SqlType::kReal:
        return 1;
      case SqlType::kText:
        return 2;
      case SqlType::kBlob:
        return 3;
    }
    return 4;
  };
  int ra = rank(a.type()), rb = rank(b.type());
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case SqlType::kNull:
      return 0;
    case SqlType::kText:
    case SqlType::kBlob: {
      std::string_view x = a.bytes(), y = b.bytes();
      return x < y ? -1 : (x == y ? 0 : 1);
    }
    default:
      break;
  }
  // Numbers. Integer against integer and real against real are plain comparisons;
  // mixed pairs are compared exactly, without rounding the integer to a double.
  if (a.type() == SqlType::kInteger && b.type() == SqlType::kInteger) {
    return a.integer() < b.integer() ? -1 : (a.integer() == b.integer() ? 0 : 1);
  }
  if (a.type() == SqlType::kReal && b.type() == SqlType::kReal) {
    return a.real() < b.real() ? -1 : (a.real() == b.real() ? 0 : 1);
  }
  bool swapped = a.type() == SqlType::kReal;
  int64_t i = swapped ? b.integer() : a.integer();
  double r = swapped ? a.real() : b.real();
  int c;  // sign of (i - r)
  if (r >= 9223372036854775808.0) {
    c = -1;
  } else if (r < -9223372036854775808.0) {
    c = 1;
  } else {
    // r is in [-2^63, 2^63): its integer part fits in int64 exactly.
    double t = std::trunc(r);
    int64_t ti = static_cast<int64_t>(t);
    if (i != ti) {
      c = i < ti ? -1 : 1;
    } else {
      double frac = r - t;  // exact; same sign as r, or zero
      c = frac > 0 ? -1 : (frac < 0 ? 1 : 0);
    }
  }
  return swapped ? -c : c;
}

}  // namespace strata::sql
