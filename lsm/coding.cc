#include "lsm/coding.h"

namespace strata {

void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  dst->append(buf, EncodeVarint64(buf, v) - buf);
}

void PutLengthPrefixed(std::string* dst, std::string_view value) {
  PutVarint32(dst, static_cast<uint32_t>(value.size()));
  dst->append(value.data(), value.size());
}

int VarintLength(uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    len++;
  }
  return len;
}

const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (uint32_t shift = 0; shift <= 63 && p < limit; shift += 7) {
    uint64_t byte = *reinterpret_cast<const unsigned char*>(p);
    p++;
    if (shift == 63 && byte > 1) return nullptr;  // would overflow 64 bits
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

const char* GetVarint32PtrFallback(const char* p, const char* limit, uint32_t* v) {
  uint64_t wide;
  const char* end = GetVarint64Ptr(p, limit, &wide);
  if (end == nullptr || wide > UINT32_MAX || end - p > 5) return nullptr;
  *v = static_cast<uint32_t>(wide);
  return end;
}

bool GetVarint32(std::string_view* input, uint32_t* v) {
  const char* end = GetVarint32Ptr(input->data(), input->data() + input->size(), v);
  if (end == nullptr) return false;
  input->remove_prefix(end - input->data());
  return true;
}

bool GetVarint64(std::string_view* input, uint64_t* v) {
  const char* end = GetVarint64Ptr(input->data(), input->data() + input->size(), v);
  if (end == nullptr) return false;
  input->remove_prefix(end - input->data());
  return true;
}

bool GetFixed32(std::string_view* input, uint32_t* v) {
  if (input->size() < 4) return false;
  *v = DecodeFixed32(input->data());
  input->remove_prefix(4);
  return true;
}

bool GetFixed64(std::string_view* input, uint64_t* v) {
  if (input->size() < 8) return false;
  *v = DecodeFixed64(input->data());
  input->remove_prefix(8);
  return true;
}

bool GetLengthPrefixed(std::string_view* input, std::string_view* value) {
  uint32_t len;
  if (!GetVarint32(input, &len) || input->size() < len) return false;
  *value = input->substr(0, len);
  input->remove_prefix(len);
  return true;
}

}  // namespace strata
