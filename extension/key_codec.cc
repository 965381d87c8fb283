#include "extension/key_codec.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace strata::sql {
namespace {

// Tags: the first byte of every column encoding. Their order is the order of the
// value classes; negative tags mirror positive ones around kZero
// (tag(-x) == 0xA6 - tag(x)). See docs/key_encoding.md.
constexpr uint8_t kTagNull = 0x05;
constexpr uint8_t kTagNegInf = 0x10;
constexpr uint8_t kTagNegBig = 0x11;    // -x with exponent >= 64; then ~exponent, ~groups
constexpr uint8_t kTagNegExp63 = 0x12;  // 0x12..0x51: -x with exponent 63..0
constexpr uint8_t kTagNegExp0 = 0x51;
constexpr uint8_t kTagNegSmall = 0x52;  // -x with exponent < 0
constexpr uint8_t kTagZero = 0x53;
constexpr uint8_t kTagPosSmall = 0x54;  // x with exponent < 0; then exponent, groups
constexpr uint8_t kTagPosExp0 = 0x55;   // 0x55..0x94: x with exponent 0..63; then groups
constexpr uint8_t kTagPosExp63 = 0x94;
constexpr uint8_t kTagPosBig = 0x95;  // x with exponent >= 64; then exponent, groups
constexpr uint8_t kTagPosInf = 0x96;
constexpr uint8_t kTagText = kKeyTagText;
constexpr uint8_t kTagBlob = kKeyTagBlob;
constexpr uint8_t kPrefixEnd = 0xFF;

// Exponent range of nonzero finite doubles (2^-1074 .. just under 2^1024).
constexpr int kMinExponent = -1074;
constexpr int kMaxExponent = 1023;

// A nonzero finite number |x| = 1.f * 2^exponent, with the fraction bits f
// left-aligned in `fraction` (bit 63 is the first bit after the binary point).
// Integers have up to 62 fraction bits, doubles up to 52.
struct Magnitude {
  int exponent;
  uint64_t fraction;
};

Magnitude MagnitudeOfUnsigned(uint64_t u) {  // u != 0
  int lead = std::countl_zero(u);
  int exponent = 63 - lead;
  // Shift the leading 1 out; a shift by 64 (u == 1) would be undefined.
  uint64_t fraction = exponent == 0 ? 0 : u << (lead + 1);
  return {exponent, fraction};
}

Magnitude MagnitudeOfDouble(double r) {  // finite, nonzero; sign ignored
  uint64_t bits = std::bit_cast<uint64_t>(r);
  int biased = static_cast<int>((bits >> 52) & 0x7FF);
  uint64_t mantissa = bits & ((uint64_t{1} << 52) - 1);
  if (biased != 0) return {biased - 1023, mantissa << 12};
  // Subnormal: mantissa * 2^-1074; normalize on its leading bit.
  Magnitude m = MagnitudeOfUnsigned(mantissa);
  m.exponent += kMinExponent;
  return m;
}

// Number of fraction bits up to the last 1 bit.
int FractionBits(const Magnitude& m) {
  return m.fraction == 0 ? 0 : 64 - std::countr_zero(m.fraction);
}

// Whether +-1.f * 2^exponent is an integer in [-2^63, 2^63).
bool IsInt64(bool negative, const Magnitude& m) {
  int bits = FractionBits(m);
  if (m.exponent >= bits && m.exponent <= 62) return true;
  return m.exponent == 63 && bits == 0 && negative;  // -2^63
}

void AppendNumber(std::string* dst, bool negative, Magnitude m) {
  uint8_t flip = negative ? 0xFF : 0x00;  // negatives: every byte after the tag inverted
  if (m.exponent >= 0 && m.exponent <= 63) {
    dst->push_back(
        static_cast<char>(negative ? kTagNegExp0 - m.exponent : kTagPosExp0 + m.exponent));
  } else {
    bool big = m.exponent > 63;
    dst->push_back(static_cast<char>(negative ? (big ? kTagNegBig : kTagNegSmall)
                                              : (big ? kTagPosBig : kTagPosSmall)));
    // 16-bit two's complement with the sign bit flipped: sorts like the signed value.
    uint16_t e = static_cast<uint16_t>(static_cast<uint16_t>(m.exponent) ^ 0x8000);
    dst->push_back(static_cast<char>((e >> 8) ^ flip));
    dst->push_back(static_cast<char>((e & 0xFF) ^ flip));
  }
  // Fraction bits in groups of 7, each byte = bits << 1 | more. Trailing zero bits are
  // not written; f == 0 is the single byte 0x00.
  int bits = FractionBits(m);
  int groups = bits == 0 ? 1 : (bits + 6) / 7;
  uint64_t f = m.fraction;
  for (int g = 0; g < groups; g++) {
    uint8_t byte = static_cast<uint8_t>((f >> 57) << 1) | (g + 1 < groups ? 1 : 0);
    dst->push_back(static_cast<char>(byte ^ flip));
    f <<= 7;
  }
}

void AppendBytes(std::string* dst, uint8_t tag, std::string_view bytes) {
  dst->push_back(static_cast<char>(tag));
  // 0x00 is escaped as 0x00 0xFF; the value ends with 0x00 0x01. A shorter value thus
  // sorts before any longer one it is a prefix of.
  size_t start = 0;
  while (true) {
    size_t zero = bytes.find('\0', start);
    if (zero == std::string_view::npos) break;
    dst->append(bytes.data() + start, zero + 1 - start);
    dst->push_back(static_cast<char>(0xFF));
    start = zero + 1;
  }
  dst->append(bytes.data() + start, bytes.size() - start);
  dst->push_back('\0');
  dst->push_back('\x01');
}

// Parses a TEXT/BLOB body after its tag. On success sets *consumed (bytes including
// the terminator) and *escapes (number of escaped zero bytes).
bool ParseBytes(std::string_view in, size_t* consumed, size_t* escapes) {
  size_t pos = 0;
  size_t n = 0;
  while (true) {
    const void* z = std::memchr(in.data() + pos, 0, in.size() - pos);
    if (z == nullptr) return false;
    size_t zero = static_cast<const char*>(z) - in.data();
    if (zero + 1 >= in.size()) return false;
    uint8_t next = static_cast<uint8_t>(in[zero + 1]);
    if (next == 0x01) {
      *consumed = zero + 2;
      *escapes = n;
      return true;
    }
    if (next != 0xFF) return false;
    n++;
    pos = zero + 2;
  }
}

// Parses a number after its tag into sign and magnitude, checking that the encoding is
// canonical and denotes an INTEGER or a REAL. Sets *consumed to the bytes used.
bool ParseNumber(uint8_t tag, std::string_view in, bool* negative, Magnitude* m, size_t* consumed) {
  *negative = tag < kTagZero;
  uint8_t flip = *negative ? 0xFF : 0x00;
  size_t pos = 0;
  if (tag >= kTagNegExp63 && tag <= kTagNegExp0) {
    m->exponent = kTagNegExp0 - tag;
  } else if (tag >= kTagPosExp0 && tag <= kTagPosExp63) {
    m->exponent = tag - kTagPosExp0;
  } else {
    if (in.size() < 2) return false;
    uint16_t e = static_cast<uint16_t>(((static_cast<uint8_t>(in[0]) ^ flip) << 8) |
                                       (static_cast<uint8_t>(in[1]) ^ flip));
    m->exponent = static_cast<int16_t>(static_cast<uint16_t>(e ^ 0x8000));
    pos = 2;
    bool big = tag == kTagPosBig || tag == kTagNegBig;
    if (big ? (m->exponent <= 63 || m->exponent > kMaxExponent)
            : (m->exponent >= 0 || m->exponent < kMinExponent)) {
      return false;  // not this tag's range, or no double has it
    }
  }
  uint64_t fraction = 0;
  int groups = 0;
  uint8_t last_bits = 0;
  while (true) {
    if (pos >= in.size() || groups == 9) return false;  // 9 groups hold 63 bits
    uint8_t byte = static_cast<uint8_t>(in[pos++]) ^ flip;
    last_bits = byte >> 1;
    fraction |= uint64_t{last_bits} << (57 - 7 * groups);
    groups++;
    if ((byte & 1) == 0) break;
  }
  if (groups > 1 && last_bits == 0) return false;  // trailing zero group
  m->fraction = fraction;
  *consumed = pos;

  // Is it an INTEGER or a REAL at all?
  if (IsInt64(*negative, *m)) return true;
  int bits = FractionBits(*m);
  if (m->exponent >= -1022) return bits <= 52;  // normal double
  return m->exponent - bits >= kMinExponent;    // subnormal double
}

SqlValue NumberValue(bool negative, Magnitude m) {
  int bits = FractionBits(m);
  if (IsInt64(negative, m)) {
    uint64_t significand = bits == 0 ? 1 : ((uint64_t{1} << bits) | (m.fraction >> (64 - bits)));
    uint64_t u = significand << (m.exponent - bits);
    return SqlValue::Integer(negative ? static_cast<int64_t>(~u + 1) : static_cast<int64_t>(u));
  }
  uint64_t double_bits;
  if (m.exponent >= -1022) {
    double_bits = (static_cast<uint64_t>(m.exponent + 1023) << 52) | (m.fraction >> 12);
  } else {
    uint64_t significand = (uint64_t{1} << 52) | (m.fraction >> 12);
    double_bits = significand >> (-1022 - m.exponent);
  }
  double r = std::bit_cast<double>(double_bits);
  return SqlValue::Real(negative ? -r : r);
}

// Parses one column; for TEXT and BLOB also reports the body's escapes.
bool ParseColumn(std::string_view in, uint8_t* tag, size_t* consumed, size_t* escapes,
                 bool* negative, Magnitude* m) {
  if (in.empty()) return false;
  *tag = static_cast<uint8_t>(in[0]);
  std::string_view body = in.substr(1);
  size_t used = 0;
  switch (*tag) {
    case kTagNull:
    case kTagZero:
    case kTagNegInf:
    case kTagPosInf:
      break;
    case kTagText:
    case kTagBlob:
      if (!ParseBytes(body, &used, escapes)) return false;
      break;
    default:
      if (*tag < kTagNegBig || *tag > kTagPosBig) return false;
      if (!ParseNumber(*tag, body, negative, m, &used)) return false;
      break;
  }
  *consumed = 1 + used;
  return true;
}

}  // namespace

void AppendKeyColumn(std::string* dst, const SqlValue& v) {
  switch (v.type()) {
    case SqlType::kNull:
      dst->push_back(static_cast<char>(kTagNull));
      return;
    case SqlType::kInteger: {
      int64_t i = v.integer();
      if (i == 0) {
        dst->push_back(static_cast<char>(kTagZero));
        return;
      }
      uint64_t u = i < 0 ? ~static_cast<uint64_t>(i) + 1 : static_cast<uint64_t>(i);
      AppendNumber(dst, i < 0, MagnitudeOfUnsigned(u));
      return;
    }
    case SqlType::kReal: {
      double r = v.real();
      if (r == 0.0) {
        dst->push_back(static_cast<char>(kTagZero));  // -0.0 == 0.0
      } else if (std::isinf(r)) {
        dst->push_back(static_cast<char>(r < 0 ? kTagNegInf : kTagPosInf));
      } else {
        AppendNumber(dst, r < 0, MagnitudeOfDouble(r));
      }
      return;
    }
    case SqlType::kText:
      AppendBytes(dst, kTagText, v.bytes());
      return;
    case SqlType::kBlob:
      AppendBytes(dst, kTagBlob, v.bytes());
      return;
  }
}

std::string EncodeKey(std::span<const SqlValue> columns) {
  std::string key;
  for (const SqlValue& v : columns) AppendKeyColumn(&key, v);
  return key;
}

namespace {

// A TEXT or BLOB column's value from its encoded body (after the tag, before the
// terminator), unescaped into *scratch only if it has escapes.
SqlValue BytesValue(uint8_t tag, std::string_view body, size_t escapes, std::string* scratch) {
  if (escapes > 0) {
    scratch->clear();
    scratch->reserve(body.size() - escapes);
    for (size_t i = 0; i < body.size(); i++) {
      scratch->push_back(body[i]);
      if (body[i] == '\0') i++;  // skip the 0xFF escape
    }
    body = *scratch;
  }
  return tag == kTagText ? SqlValue::Text(body) : SqlValue::Blob(body);
}

}  // namespace

bool DecodeKeyColumn(std::string_view* input, SqlValue* out, std::string* scratch) {
  // TEXT and BLOB, the usual key columns, first: no number state to set up.
  if (!input->empty()) {
    const uint8_t tag = static_cast<uint8_t>(input->front());
    if (tag == kTagText || tag == kTagBlob) {
      size_t used = 0, escapes = 0;
      if (!ParseBytes(input->substr(1), &used, &escapes)) return false;
      *out = BytesValue(tag, input->substr(1, used - 2), escapes, scratch);  // minus terminator
      input->remove_prefix(1 + used);
      return true;
    }
  }
  uint8_t tag;
  size_t consumed = 0, escapes = 0;
  bool negative = false;
  Magnitude m{};
  if (!ParseColumn(*input, &tag, &consumed, &escapes, &negative, &m)) return false;
  switch (tag) {
    case kTagNull:
      *out = SqlValue::Null();
      break;
    case kTagZero:
      *out = SqlValue::Integer(0);
      break;
    case kTagNegInf:
      *out = SqlValue::Real(-HUGE_VAL);
      break;
    case kTagPosInf:
      *out = SqlValue::Real(HUGE_VAL);
      break;
    default:  // TEXT and BLOB returned above
      *out = NumberValue(negative, m);
      break;
  }
  input->remove_prefix(consumed);
  return true;
}

bool SkipKeyColumn(std::string_view* input) {
  uint8_t tag;
  size_t consumed = 0, escapes = 0;
  bool negative = false;
  Magnitude m{};
  if (!ParseColumn(*input, &tag, &consumed, &escapes, &negative, &m)) return false;
  input->remove_prefix(consumed);
  return true;
}

bool KeyColumnRoundTrips(const SqlValue& v) {
  if (v.type() != SqlType::kReal) return true;
  double r = v.real();
  // An integer-valued REAL in [-2^63, 2^63) decodes as INTEGER (0 for -0.0).
  return !(r == std::trunc(r) && r >= -9223372036854775808.0 && r < 9223372036854775808.0);
}

bool KeyColumnNeedsOverride(Affinity affinity, const SqlValue& stored) {
  if (KeyColumnRoundTrips(stored)) return false;
  std::string key;
  AppendKeyColumn(&key, stored);
  std::string_view input = key;
  SqlValue decoded;
  std::string scratch, text_buffer;
  DecodeKeyColumn(&input, &decoded, &scratch);  // a number: never fails, needs no scratch
  return !ApplyAffinity(affinity, decoded, &text_buffer).IdenticalTo(stored);
}

void AppendKeyPrefixEnd(std::string* encoded_columns) {
  encoded_columns->push_back(static_cast<char>(kPrefixEnd));
}

std::string KeyPrefixEnd(std::string_view encoded_columns) {
  std::string end(encoded_columns);
  AppendKeyPrefixEnd(&end);
  return end;
}

bool PrefixSuccessor(std::string_view prefix, std::string* successor) {
  size_t n = prefix.size();
  while (n > 0 && static_cast<uint8_t>(prefix[n - 1]) == 0xFF) n--;
  if (n == 0) return false;
  successor->assign(prefix.data(), n);
  (*successor)[n - 1] = static_cast<char>(static_cast<uint8_t>(prefix[n - 1]) + 1);
  return true;
}

}  // namespace strata::sql
