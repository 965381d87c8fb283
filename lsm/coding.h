// Little-endian fixed-width integers and varints: the building blocks of every
// on-disk format (see docs/*_format.md).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace strata {

inline void EncodeFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; i++) dst[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; i++) dst[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t DecodeFixed32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) |
         (uint32_t{b[3]} << 24);
}
inline uint64_t DecodeFixed64(const char* p) {
  return uint64_t{DecodeFixed32(p)} | (uint64_t{DecodeFixed32(p + 4)} << 32);
}

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, 8);
}

// Writes v as a varint at dst (up to 5 or 10 bytes); returns the end. Inline, like the
// one-byte case of GetVarint32Ptr below: tables, batches and the memtable encode and
// decode several per entry.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}
inline char* EncodeVarint32(char* dst, uint32_t v) { return EncodeVarint64(dst, v); }
inline void PutVarint32(std::string* dst, uint32_t v) {
  char buf[5];
  dst->append(buf, EncodeVarint32(buf, v) - buf);
}
void PutVarint64(std::string* dst, uint64_t v);
// varint32 length, then the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view value);
int VarintLength(uint64_t v);

// Decoders return nullptr (or false) on truncated or overlong input; they never read
// at or past limit.
const char* GetVarint32PtrFallback(const char* p, const char* limit, uint32_t* v);
inline const char* GetVarint32Ptr(const char* p, const char* limit, uint32_t* v) {
  if (p < limit && (static_cast<unsigned char>(*p) & 0x80) == 0) {  // one byte: most lengths
    *v = static_cast<unsigned char>(*p);
    return p + 1;
  }
  return GetVarint32PtrFallback(p, limit, v);
}
const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* v);
// Consume from the front of *input.
bool GetVarint32(std::string_view* input, uint32_t* v);
bool GetVarint64(std::string_view* input, uint64_t* v);
bool GetFixed32(std::string_view* input, uint32_t* v);
bool GetFixed64(std::string_view* input, uint64_t* v);
bool GetLengthPrefixed(std::string_view* input, std::string_view* value);

}  // namespace strata
