#include "lsm/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace strata::crc32c {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78u;  // reflected Castagnoli

// tables[k][b]: CRC contribution of byte b followed by k zero bytes.
constexpr std::array<std::array<uint32_t, 256>, 8> MakeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; b++) {
    uint32_t crc = b;
    for (int i = 0; i < 8; i++) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    t[0][b] = crc;
  }
  for (int k = 1; k < 8; k++) {
    for (uint32_t b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}
constexpr auto kTables = MakeTables();

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles but can start one per cycle: three independent
// streams over adjacent stripes of kStripe bytes run about three times as fast as one
// (a table block's checksum was ~7% of a point read that misses the block cache). The
// registers are then joined: CRC processing is linear, so the raw register after
// stripes A and B is Shift(register after A) ^ (register of B started from 0), where
// Shift advances a register over kStripe zero bytes.
constexpr size_t kStripe = 256;

// tables[i][b]: the raw register after kStripe zero bytes, starting from b << 8i.
using StripeShiftTables = std::array<std::array<uint32_t, 256>, 4>;

const StripeShiftTables& GetStripeShiftTables() {
  static const StripeShiftTables tables = [] {
    StripeShiftTables t{};
    for (int i = 0; i < 4; i++) {
      for (uint32_t b = 0; b < 256; b++) {
        uint32_t r = b << (8 * i);
        for (size_t k = 0; k < kStripe; k++) r = (r >> 8) ^ kTables[0][r & 0xff];
        t[i][b] = r;
      }
    }
    return t;
  }();
  return tables;
}

inline uint32_t ShiftStripe(const StripeShiftTables& t, uint32_t r) {
  return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
}

inline uint64_t Load64(const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t init_crc, const char* data,
                                                         size_t n) {
  uint64_t crc = ~init_crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  if (n >= 3 * kStripe) {
    const StripeShiftTables& shift = GetStripeShiftTables();
    do {
      uint64_t c0 = crc, c1 = 0, c2 = 0;
      for (size_t i = 0; i < kStripe; i += 8) {
        c0 = _mm_crc32_u64(c0, Load64(p + i));
        c1 = _mm_crc32_u64(c1, Load64(p + kStripe + i));
        c2 = _mm_crc32_u64(c2, Load64(p + 2 * kStripe + i));
      }
      const uint32_t joined = ShiftStripe(shift, static_cast<uint32_t>(c0)) ^
                              static_cast<uint32_t>(c1);
      crc = ShiftStripe(shift, joined) ^ static_cast<uint32_t>(c2);
      p += 3 * kStripe;
      n -= 3 * kStripe;
    } while (n >= 3 * kStripe);
  }
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
    p += 8;
    n -= 8;
  }
  auto crc32 = static_cast<uint32_t>(crc);
  while (n > 0) {
    crc32 = _mm_crc32_u8(crc32, *p++);
    n--;
  }
  return ~crc32;
}
#endif

using ExtendFunction = uint32_t (*)(uint32_t, const char*, size_t);

ExtendFunction ChooseImplementation() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return ExtendHardware;
#endif
  return ExtendPortable;
}

}  // namespace

uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n) {
  uint32_t crc = ~init_crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  while (n >= 8) {
    uint32_t low = crc ^ (uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
                          (uint32_t{p[3]} << 24));
    crc = kTables[7][low & 0xff] ^ kTables[6][(low >> 8) & 0xff] ^
          kTables[5][(low >> 16) & 0xff] ^ kTables[4][low >> 24] ^ kTables[3][p[4]] ^
          kTables[2][p[5]] ^ kTables[1][p[6]] ^ kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
    n--;
  }
  return ~crc;
}

bool HardwareAvailable() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  static const ExtendFunction implementation = ChooseImplementation();
  return implementation(init_crc, data, n);
}

}  // namespace strata::crc32c
