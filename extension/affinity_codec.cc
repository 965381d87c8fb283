#include "extension/affinity_codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace strata::sql {
namespace {

constexpr int64_t kLargestInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kSmallestInt64 = std::numeric_limits<int64_t>::min();

// sqlite3Isspace / sqlite3Isdigit: ASCII only, independent of the C locale.
bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

// sqlite3Pow10: 10^e by repeated squaring in long double (SQLite's non-MSVC branch).
long double Pow10(int e) {
  long double x = 10.0;
  long double r = 1.0;
  while (true) {
    if (e & 1) r *= x;
    e >>= 1;
    if (e == 0) break;
    x *= x;
  }
  return r;
}

// doubleToInt64 / sqlite3RealToI64: truncation, clamped to the int64 range.
int64_t DoubleToInt64(double r) {
  if (r <= static_cast<double>(kSmallestInt64)) return kSmallestInt64;
  if (r >= static_cast<double>(kLargestInt64)) return kLargestInt64;
  return static_cast<int64_t>(r);
}

// sqlite3RealSameAsInt: r is exactly i and small enough that the text it came from
// cannot have carried more precision than the double kept.
bool RealSameAsInt(double r, int64_t i) {
  double r2 = static_cast<double>(i);
  return r == 0.0 || (std::memcmp(&r, &r2, sizeof(r)) == 0 && i >= -2251799813685248LL &&
                      i < 2251799813685248LL);
}

// sqlite3VdbeIntegerAffinity: a REAL with an exact integer value strictly inside the
// int64 range becomes that INTEGER (the bounds are excluded: ticket #3922).
SqlValue IntegerAffinity(double r) {
  int64_t ix = DoubleToInt64(r);
  if (r == static_cast<double>(ix) && ix > kSmallestInt64 && ix < kLargestInt64) {
    return SqlValue::Integer(ix);
  }
  return SqlValue::Real(r);
}

// 9223372036854775808 compared with the 19 digits at z: <0, 0 or >0 (compare2pow63).
int Compare2Pow63(const char* z) {
  static const char kPow63[] = "922337203685477580";
  int c = 0;
  for (int i = 0; c == 0 && i < 18; i++) c = (z[i] - kPow63[i]) * 10;
  if (c == 0) c = z[18] - '8';
  return c;
}

// sqlite3Atoi64 for UTF-8: -1 no digits, 0 fits in int64, 1 extra non-space text,
// 2 too large, 3 exactly 9223372036854775808 (positive).
int Atoi64(std::string_view text, int64_t* out) {
  const char* z = text.data();
  const char* end = z + text.size();
  uint64_t u = 0;
  bool neg = false;
  while (z < end && IsSpace(*z)) z++;
  if (z < end) {
    if (*z == '-') {
      neg = true;
      z++;
    } else if (*z == '+') {
      z++;
    }
  }
  const char* start = z;
  while (z < end && *z == '0') z++;  // leading zeros
  size_t i = 0;
  for (; z + i < end && IsDigit(z[i]); i++) u = u * 10 + static_cast<uint64_t>(z[i] - '0');
  if (u > static_cast<uint64_t>(kLargestInt64)) {
    *out = neg ? kSmallestInt64 : kLargestInt64;
  } else if (neg) {
    *out = -static_cast<int64_t>(u);
  } else {
    *out = static_cast<int64_t>(u);
  }
  int rc = 0;
  if (i == 0 && start == z) {
    rc = -1;
  } else {
    for (const char* p = z + i; p < end; p++) {
      if (!IsSpace(*p)) {
        rc = 1;
        break;
      }
    }
  }
  if (i < 19) return rc;
  int c = i > 19 ? 1 : Compare2Pow63(z);
  if (c < 0) return rc;
  *out = neg ? kSmallestInt64 : kLargestInt64;
  if (c > 0) return 2;
  return neg ? rc : 3;
}

}  // namespace

const char* AffinityName(Affinity affinity) {
  switch (affinity) {
    case Affinity::kBlob:
      return "BLOB";
    case Affinity::kText:
      return "TEXT";
    case Affinity::kNumeric:
      return "NUMERIC";
    case Affinity::kInteger:
      return "INTEGER";
    case Affinity::kReal:
      return "REAL";
  }
  return "?";
}

Affinity AffinityOfDeclaredType(std::string_view decl_type) {
  // sqlite3AffinityType: a rolling window of the last four lower-cased bytes.
  auto word = [](const char(&w)[5]) {
    return (uint32_t{static_cast<unsigned char>(w[0])} << 24) |
           (uint32_t{static_cast<unsigned char>(w[1])} << 16) |
           (uint32_t{static_cast<unsigned char>(w[2])} << 8) |
           uint32_t{static_cast<unsigned char>(w[3])};
  };
  if (decl_type.empty() || decl_type[0] == '\0') return Affinity::kBlob;
  uint32_t h = 0;
  Affinity aff = Affinity::kNumeric;
  for (char c : decl_type) {
    if (c == '\0') break;
    h = (h << 8) + static_cast<unsigned char>(ToLower(c));
    if (h == word("char") || h == word("clob") || h == word("text")) {
      aff = Affinity::kText;
    } else if (h == word("blob") && (aff == Affinity::kNumeric || aff == Affinity::kReal)) {
      aff = Affinity::kBlob;
    } else if ((h == word("real") || h == word("floa") || h == word("doub")) &&
               aff == Affinity::kNumeric) {
      aff = Affinity::kReal;
    } else if ((h & 0x00FFFFFF) == (word("\0int") & 0x00FFFFFF)) {
      return Affinity::kInteger;
    }
  }
  return aff;
}

int SqliteAtoF(std::string_view text, double* result) {
  const char* z = text.data();
  const char* end = z + text.size();
  int sign = 1;
  int64_t s = 0;  // significand
  int d = 0;      // decimal exponent adjustment for digits shifted in or dropped
  int esign = 1;
  int e = 0;
  bool e_valid = true;  // no exponent, or a well-formed one
  int digits = 0;
  int type = 1;  // 1: integer; 2 or 3: has a decimal point and/or an exponent
  double r;

  *result = 0.0;
  if (text.empty()) return 0;
  while (z < end && IsSpace(*z)) z++;
  if (z >= end) return 0;
  if (*z == '-') {
    sign = -1;
    z++;
  } else if (*z == '+') {
    z++;
  }
  while (z < end && IsDigit(*z)) {
    s = s * 10 + (*z - '0');
    z++;
    digits++;
    if (s >= (kLargestInt64 - 9) / 10) {
      // Further digits cannot be kept: count them as powers of ten.
      while (z < end && IsDigit(*z)) {
        z++;
        d++;
      }
    }
  }
  if (z >= end) goto compute;
  if (*z == '.') {
    z++;
    type++;
    while (z < end && IsDigit(*z)) {
      if (s < (kLargestInt64 - 9) / 10) {
        s = s * 10 + (*z - '0');
        d--;
        digits++;
      }
      z++;
    }
  }
  if (z >= end) goto compute;
  if (*z == 'e' || *z == 'E') {
    z++;
    e_valid = false;
    type++;
    if (z >= end) goto compute;
    if (*z == '-') {
      esign = -1;
      z++;
    } else if (*z == '+') {
      z++;
    }
    while (z < end && IsDigit(*z)) {
      e = e < 10000 ? (e * 10 + (*z - '0')) : 10000;
      z++;
      e_valid = true;
    }
  }
  while (z < end && IsSpace(*z)) z++;

compute:
  e = e * esign + d;
  if (e < 0) {
    esign = -1;
    e = -e;
  } else {
    esign = 1;
  }
  if (s == 0) {
    r = sign < 0 ? -0.0 : 0.0;
  } else {
    while (e > 0) {  // fold powers of ten into s while that stays exact
      if (esign > 0) {
        if (s >= kLargestInt64 / 10) break;
        s *= 10;
      } else {
        if (s % 10 != 0) break;
        s /= 10;
      }
      e--;
    }
    s = sign < 0 ? -s : s;
    if (e == 0) {
      r = static_cast<double>(s);
    } else if (e > 307) {
      if (e < 342) {
        long double scale = Pow10(e - 308);
        if (esign < 0) {
          r = static_cast<double>(s / scale);
          r /= 1.0e+308;
        } else {
          r = static_cast<double>(s * scale);
          r *= 1.0e+308;
        }
      } else if (esign < 0) {
        r = 0.0 * static_cast<double>(s);
      } else {
        r = std::numeric_limits<double>::infinity() * static_cast<double>(s);
      }
    } else {
      long double scale = Pow10(e);
      r = static_cast<double>(esign < 0 ? s / scale : s * scale);
    }
  }
  *result = r;
  if (z == end && digits > 0 && e_valid && type > 0) return type;
  if (type >= 2 && (type == 3 || e_valid) && digits > 0) return -1;
  return 0;
}

SqlValue NumericValueOfText(std::string_view text) {
  // applyNumericAffinity(pRec, bTryForInt=1).
  double r;
  int rc = SqliteAtoF(text, &r);
  if (rc <= 0) return SqlValue::Text(text);
  if (rc == 1) {
    // alsoAnInt: an integer literal stays an exact INTEGER when it fits.
    int64_t i = DoubleToInt64(r);
    if (RealSameAsInt(r, i)) return SqlValue::Integer(i);
    if (Atoi64(text, &i) == 0) return SqlValue::Integer(i);
  }
  return IntegerAffinity(r);
}

void AppendIntegerAsText(std::string* dst, int64_t v) {
  char buf[24];
  char* p = buf + sizeof(buf);
  uint64_t x = v < 0 ? ~static_cast<uint64_t>(v) + 1 : static_cast<uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + x % 10);
    x /= 10;
  } while (x != 0);
  if (v < 0) *--p = '-';
  dst->append(p, buf + sizeof(buf) - p);
}

void AppendRealAsText(std::string* dst, double value) {
  // sqlite3_str_vappendf's etGENERIC branch with precision 15 and the '!' flag
  // (flag_altform2), the only flags SQLite uses to turn a REAL into TEXT.
  static const double kRound[] = {5.0e-01, 5.0e-02, 5.0e-03, 5.0e-04, 5.0e-05,
                                  5.0e-06, 5.0e-07, 5.0e-08, 5.0e-09, 5.0e-10};
  long double real = value;
  char prefix = 0;
  if (real < 0.0) {
    real = -real;
    prefix = '-';
  }
  int precision = 15 - 1;  // %g counts the digit before the point
  int idx = precision;
  double rounder = kRound[idx % 10];
  while (idx >= 10) {
    rounder *= 1.0e-10;
    idx -= 10;
  }
  int exp = 0;
  if (real > 0.0) {
    long double scale = 1.0;
    while (real >= 1e100 * scale && exp <= 350) {
      scale *= 1e100;
      exp += 100;
    }
    while (real >= 1e10 * scale && exp <= 350) {
      scale *= 1e10;
      exp += 10;
    }
    while (real >= 10.0 * scale && exp <= 350) {
      scale *= 10.0;
      exp++;
    }
    real /= scale;
    while (real < 1e-8) {
      real *= 1e8;
      exp -= 8;
    }
    while (real < 1.0) {
      real *= 10.0;
      exp--;
    }
    if (exp > 350) {
      if (prefix) dst->push_back(prefix);
      dst->append("Inf");
      return;
    }
  }
  real += rounder;
  if (real >= 10.0) {
    real *= 0.1;
    exp++;
  }
  bool exponential = exp < -4 || exp > precision;
  int e2;
  if (exponential) {
    e2 = 0;
  } else {
    precision -= exp;
    e2 = exp;
  }
  int significant = 16 + 10;  // nsd with the '!' flag
  auto next_digit = [&real, &significant]() -> char {
    // et_getdigit
    if (significant <= 0) return '0';
    significant--;
    int digit = static_cast<int>(real);
    long double d = digit;
    real = (real - d) * 10.0;
    return static_cast<char>('0' + digit);
  };
  char buf[64];  // at most "-0.0000" + 15 digits, or 15 digits + "." + "e+308"
  char* out = buf;
  if (prefix) *out++ = prefix;
  if (e2 < 0) {
    *out++ = '0';
  } else {
    for (; e2 >= 0; e2--) *out++ = next_digit();
  }
  *out++ = '.';
  for (e2++; e2 < 0; precision--, e2++) *out++ = '0';
  while (precision-- > 0) *out++ = next_digit();
  // Trailing zeros go, but a '.' keeps one digit after it ("1.0").
  while (out[-1] == '0') out--;
  if (out[-1] == '.') *out++ = '0';
  if (exponential) {
    *out++ = 'e';
    if (exp < 0) {
      *out++ = '-';
      exp = -exp;
    } else {
      *out++ = '+';
    }
    if (exp >= 100) {
      *out++ = static_cast<char>('0' + exp / 100);
      exp %= 100;
    }
    *out++ = static_cast<char>('0' + exp / 10);
    *out++ = static_cast<char>('0' + exp % 10);
  }
  dst->append(buf, out - buf);
}

SqlValue ApplyAffinity(Affinity affinity, const SqlValue& v, std::string* text_buffer) {
  switch (affinity) {
    case Affinity::kBlob:
      return v;
    case Affinity::kText:
      if (v.type() == SqlType::kInteger) {
        text_buffer->clear();
        AppendIntegerAsText(text_buffer, v.integer());
        return SqlValue::Text(*text_buffer);
      }
      if (v.type() == SqlType::kReal) {
        text_buffer->clear();
        AppendRealAsText(text_buffer, v.real());
        return SqlValue::Text(*text_buffer);
      }
      return v;
    case Affinity::kNumeric:
    case Affinity::kInteger:
    case Affinity::kReal:
      break;
  }
  SqlValue numeric = v;
  if (v.type() == SqlType::kReal) {
    numeric = IntegerAffinity(v.real());
  } else if (v.type() == SqlType::kText) {
    numeric = NumericValueOfText(v.bytes());
  }
  if (affinity == Affinity::kReal && numeric.type() == SqlType::kInteger) {
    return SqlValue::Real(static_cast<double>(numeric.integer()));
  }
  return numeric;
}

}  // namespace strata::sql
