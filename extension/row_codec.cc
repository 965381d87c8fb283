#include "extension/row_codec.h"

#include <bit>
#include <cstdint>

namespace strata::sql {
namespace {

// Serial types (docs/key_encoding.md, "Row format").
constexpr uint64_t kTypeNull = 0;
constexpr uint64_t kTypeZero = 1;
constexpr uint64_t kTypeOne = 2;
constexpr uint64_t kTypeInt1 = 3;  // 3..10: integer in 1..8 bytes
constexpr uint64_t kTypeInt8 = 10;
constexpr uint64_t kTypeReal = 11;
constexpr uint64_t kTypeFirstBytes = 13;  // odd >= 13: TEXT, even >= 14: BLOB

constexpr uint8_t kFlagKeyOverrides = 0x01;

void PutVarint(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

// Reads a LEB128 varint in [*p, limit); false if truncated or longer than 64 bits.
bool GetVarintSlow(const char** p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < limit; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(**p);
    (*p)++;
    if (shift == 63 && byte > 1) return false;
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

// GetVarintSlow with the one- and two-byte cases inline: it is read for each column of
// each row scanned.
inline bool GetVarint(const char** p, const char* limit, uint64_t* v) {
  if (*p < limit && static_cast<uint8_t>(**p) < 0x80) {
    *v = static_cast<uint8_t>(**p);
    (*p)++;
    return true;
  }
  // Two bytes: the serial type of a TEXT or BLOB of 58 to 8185 bytes.
  if (limit - *p >= 2 && static_cast<uint8_t>((*p)[1]) < 0x80) {
    *v = (static_cast<uint8_t>((*p)[0]) & 0x7F) | (uint64_t{static_cast<uint8_t>((*p)[1])} << 7);
    *p += 2;
    return true;
  }
  return GetVarintSlow(p, limit, v);
}

// Bytes of payload a serial type has; false for an unknown type.
bool PayloadSize(uint64_t type, uint64_t* size) {
  if (type <= kTypeOne) {
    *size = 0;
  } else if (type <= kTypeInt8) {
    *size = type - kTypeInt1 + 1;
  } else if (type == kTypeReal) {
    *size = 8;
  } else if (type >= kTypeFirstBytes) {
    *size = (type - kTypeFirstBytes) / 2;
  } else {
    return false;
  }
  return true;
}

int VarintLength(uint64_t v) {
  int length = 1;
  while (v >= 0x80) {
    v >>= 7;
    length++;
  }
  return length;
}

// The serial type of v (its payload size follows from it: PayloadSize).
uint64_t SerialType(const SqlValue& v) {
  switch (v.type()) {
    case SqlType::kNull:
      return kTypeNull;
    case SqlType::kInteger: {
      int64_t i = v.integer();
      if (i == 0 || i == 1) return i == 0 ? kTypeZero : kTypeOne;
      int bytes = 1;  // smallest two's complement width that holds i
      while (bytes < 8 &&
             (i < -(int64_t{1} << (8 * bytes - 1)) || i >= (int64_t{1} << (8 * bytes - 1)))) {
        bytes++;
      }
      return kTypeInt1 + bytes - 1;
    }
    case SqlType::kReal:
      return kTypeReal;
    case SqlType::kText:
    case SqlType::kBlob:
      return kTypeFirstBytes + 2 * v.bytes().size() + (v.type() == SqlType::kBlob ? 1 : 0);
  }
  return kTypeNull;
}

// Appends the payload of v, whose serial type is `type`, to *dst.
void PutPayload(std::string* dst, uint64_t type, const SqlValue& v) {
  if (type <= kTypeOne) return;
  if (type <= kTypeInt8) {
    const int bytes = static_cast<int>(type - kTypeInt1 + 1);
    uint64_t u = static_cast<uint64_t>(v.integer());
    for (int b = bytes - 1; b >= 0; b--) dst->push_back(static_cast<char>(u >> (8 * b)));
  } else if (type == kTypeReal) {
    uint64_t u = std::bit_cast<uint64_t>(v.real());
    for (int b = 7; b >= 0; b--) dst->push_back(static_cast<char>(u >> (8 * b)));
  } else {
    dst->append(v.bytes());
  }
}

// The value of a serial type whose payload (of the right size) starts at p.
[[gnu::always_inline]] inline SqlValue ColumnValue(uint64_t type, const char* p, uint64_t size) {
  if (type == kTypeNull) return SqlValue::Null();
  if (type == kTypeZero) return SqlValue::Integer(0);
  if (type == kTypeOne) return SqlValue::Integer(1);
  if (type <= kTypeInt8) {
    // Big-endian two's complement, sign-extended from its first byte.
    uint64_t u = static_cast<int8_t>(p[0]) < 0 ? ~uint64_t{0} : 0;
    for (uint64_t i = 0; i < size; i++) u = (u << 8) | static_cast<uint8_t>(p[i]);
    return SqlValue::Integer(static_cast<int64_t>(u));
  }
  if (type == kTypeReal) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = (u << 8) | static_cast<uint8_t>(p[i]);
    return SqlValue::Real(std::bit_cast<double>(u));  // a NaN (damage) reads as NULL
  }
  std::string_view bytes(p, size);
  return (type - kTypeFirstBytes) % 2 == 0 ? SqlValue::Text(bytes) : SqlValue::Blob(bytes);
}

// Reads one serial type from [*type_pos, type_limit) and checks its payload fits in
// [*payload_pos, end). Advances both positions past the column.
const char* NextColumn(const char** type_pos, const char* type_limit, const char** payload_pos,
                       const char* end, uint64_t* type, uint64_t* size) {
  if (!GetVarint(type_pos, type_limit, type)) return "bad serial type varint";
  if (!PayloadSize(*type, size)) return "unknown serial type";
  if (*size > static_cast<uint64_t>(end - *payload_pos)) return "payload past end of row";
  *payload_pos += *size;
  return nullptr;
}

}  // namespace

void AppendRow(std::string* dst, std::span<const SqlValue> columns,
               std::span<const KeyColumnOverride> key_overrides) {
  size_t count = columns.size();
  while (count > 0 && columns[count - 1].is_null()) count--;  // trailing NULLs are implied
  dst->push_back(static_cast<char>(kRowFormatVersion));
  dst->push_back(static_cast<char>(key_overrides.empty() ? 0 : kFlagKeyOverrides));
  if (!key_overrides.empty()) {
    PutVarint(dst, key_overrides.size());
    for (const KeyColumnOverride& o : key_overrides) {
      PutVarint(dst, o.key_column);
      const uint64_t type = SerialType(o.value);
      PutVarint(dst, type);
      PutPayload(dst, type, o.value);
    }
  }
  // Written straight into *dst (a row is encoded for every write): the serial types'
  // total size first, then the types, then the payloads.
  size_t types_size = 0;
  size_t payload_size = 0;
  for (size_t i = 0; i < count; i++) {
    const uint64_t type = SerialType(columns[i]);
    uint64_t size = 0;
    PayloadSize(type, &size);
    types_size += VarintLength(type);
    payload_size += size;
  }
  dst->reserve(dst->size() + VarintLength(types_size) + types_size + payload_size);
  PutVarint(dst, types_size);
  for (size_t i = 0; i < count; i++) PutVarint(dst, SerialType(columns[i]));
  for (size_t i = 0; i < count; i++) PutPayload(dst, SerialType(columns[i]), columns[i]);
}

bool RowReader::Reset(std::string_view row) {
  row_ = row;
  overrides_ = {};
  override_count_ = 0;
  header_ = header_end_ = type_pos_ = payload_pos_ = nullptr;
  next_index_ = 0;
  const char* p = row.data();
  const char* end = row.data() + row.size();
  if (row.size() < 2) return Fail("row shorter than its 2-byte prefix");
  if (static_cast<uint8_t>(p[0]) != kRowFormatVersion) return Fail("unknown row format version");
  uint8_t flags = static_cast<uint8_t>(p[1]);
  if ((flags & ~kFlagKeyOverrides) != 0) return Fail("unknown row flags");
  p += 2;
  if (flags & kFlagKeyOverrides) {
    uint64_t count;
    if (!GetVarint(&p, end, &count) || count == 0 || count > row.size()) {
      return Fail("bad key override count");
    }
    const char* first = p;
    uint64_t previous_column = 0;
    for (uint64_t i = 0; i < count; i++) {
      uint64_t column, type, size;
      if (!GetVarint(&p, end, &column) || column > UINT32_MAX ||
          (i > 0 && column <= previous_column)) {
        return Fail("bad key override column");
      }
      previous_column = column;
      if (!GetVarint(&p, end, &type) || !PayloadSize(type, &size)) {
        return Fail("bad key override serial type");
      }
      if (size > static_cast<uint64_t>(end - p)) return Fail("key override past end of row");
      p += size;
    }
    overrides_ = std::string_view(first, p - first);
    override_count_ = static_cast<uint32_t>(count);
  }
  uint64_t header_size;
  if (!GetVarint(&p, end, &header_size)) return Fail("bad row header size");
  if (header_size > static_cast<uint64_t>(end - p)) return Fail("row header past end of row");
  header_ = type_pos_ = p;
  header_end_ = payload_pos_ = p + header_size;
  return true;
}

bool RowReader::Column(uint32_t index, SqlValue* out) {
  if (header_ == nullptr) return Fail(error_);
  if (index < next_index_) {  // rewind
    next_index_ = 0;
    type_pos_ = header_;
    payload_pos_ = header_end_;
  }
  const char* end = row_.data() + row_.size();
  uint64_t type, size;
  while (true) {
    if (type_pos_ == header_end_) {  // the row has fewer columns
      *out = SqlValue::Null();
      return true;
    }
    const char* payload = payload_pos_;
    if (const char* e = NextColumn(&type_pos_, header_end_, &payload_pos_, end, &type, &size)) {
      header_ = nullptr;  // stay failed: the scan position is unknown
      return Fail(e);
    }
    if (next_index_++ == index) {
      *out = ColumnValue(type, payload, size);
      return true;
    }
  }
}

bool RowReader::FindKeyOverride(uint32_t key_column, SqlValue* out) const {
  // Entries were validated by Reset.
  const char* p = overrides_.data();
  const char* end = p + overrides_.size();
  for (uint32_t i = 0; i < override_count_; i++) {
    uint64_t column = 0, type = 0, size = 0;
    if (!GetVarint(&p, end, &column) || !GetVarint(&p, end, &type) || !PayloadSize(type, &size) ||
        size > static_cast<uint64_t>(end - p)) {
      return false;  // unreachable after a successful Reset
    }
    if (column == key_column) {
      *out = ColumnValue(type, p, size);
      return true;
    }
    if (column > key_column) break;
    p += size;
  }
  return false;
}

const char* ValidateRow(std::string_view row) {
  RowReader reader;
  if (!reader.Reset(row)) return reader.error();
  // Reset checked everything before the header; walk every column.
  const char* end = row.data() + row.size();
  const char* type_pos = reader.header_;
  const char* payload_pos = reader.header_end_;
  while (type_pos != reader.header_end_) {
    uint64_t type, size;
    if (const char* e =
            NextColumn(&type_pos, reader.header_end_, &payload_pos, end, &type, &size)) {
      return e;
    }
  }
  if (payload_pos != end) return "bytes after the last payload";
  return nullptr;
}

}  // namespace strata::sql
