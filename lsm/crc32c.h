// CRC32C (Castagnoli) checksums for every log record, block and file footer.
// Computed with the SSE4.2 crc32 instruction when the CPU has it, otherwise with a
// slicing-by-8 table; both give identical results (tests pin them to known vectors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strata::crc32c {

// CRC of data appended to a stream whose CRC so far is init_crc.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

// The portable implementation, exposed so tests can compare it with the hardware path.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);
bool HardwareAvailable();

// A CRC stored next to the data it covers is masked, because the CRC of a string that
// itself contains CRCs is weak (LevelDB's reasoning).
inline uint32_t Mask(uint32_t crc) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
inline uint32_t Unmask(uint32_t masked) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace strata::crc32c
