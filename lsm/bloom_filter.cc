#include "lsm/bloom_filter.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "lsm/coding.h"

namespace strata {
namespace {

constexpr int kMaxProbes = 30;
constexpr uint64_t kMinBits = 64;
// Probe positions are 32-bit multiply-shifts, so more bits than this cannot be reached.
constexpr uint64_t kMaxBits = uint64_t{1} << 32;

constexpr uint64_t kC1 = 0x87c37b91114253d5ull;
constexpr uint64_t kC2 = 0x4cf5ad432745937full;
constexpr uint64_t kSeed = 0x9e3779b97f4a7c15ull;

inline uint64_t MixWord(uint64_t k) {
  k *= kC1;
  k = std::rotl(k, 31);
  return k * kC2;
}

inline uint64_t Fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// Bit i of the probe sequence for hash in a filter of num_bits bits.
inline uint64_t ProbeBit(uint32_t h1, uint32_t h2, int i, uint64_t num_bits) {
  uint32_t x = h1 + static_cast<uint32_t>(i) * h2;
  return (uint64_t{x} * num_bits) >> 32;
}

}  // namespace

uint64_t BloomHash(std::string_view key) {
  const char* p = key.data();
  const size_t n = key.size();
  uint64_t h = kSeed;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    h ^= MixWord(DecodeFixed64(p + i));
    h = std::rotl(h, 27) * 5 + 0x52dce729;
  }
  if (i < n) {
    uint64_t tail = 0;
    for (size_t j = n; j > i; j--) tail = (tail << 8) | static_cast<uint8_t>(p[j - 1]);
    h ^= MixWord(tail);
  }
  return Fmix64(h ^ n);
}

int BloomProbesForBitsPerKey(int bits_per_key) {
  long k = std::lround(bits_per_key * 0.69314718055994530942);  // ln 2
  return static_cast<int>(std::clamp<long>(k, 1, kMaxProbes));
}

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key)
    : bits_per_key_(std::max(bits_per_key, 1)),
      num_probes_(BloomProbesForBitsPerKey(bits_per_key_)) {}

std::string BloomFilterBuilder::Finish() const {
  uint64_t bits = std::clamp<uint64_t>(num_keys_ * uint64_t(bits_per_key_), kMinBits, kMaxBits);
  const uint64_t bytes = (bits + 7) / 8;
  bits = bytes * 8;
  std::string filter(bytes + 1, '\0');
  for (size_t k = 0; k < num_keys_; k++) {
    const uint64_t hash = chunks_[k / kHashesPerChunk][k % kHashesPerChunk];
    uint32_t h1 = static_cast<uint32_t>(hash), h2 = static_cast<uint32_t>(hash >> 32);
    for (int i = 0; i < num_probes_; i++) {
      uint64_t bit = ProbeBit(h1, h2, i, bits);
      filter[bit / 8] = static_cast<char>(filter[bit / 8] | (1 << (bit % 8)));
    }
  }
  filter[bytes] = static_cast<char>(num_probes_);
  return filter;
}

Status BloomFilter::Init(std::string contents) {
  data_.clear();
  num_bits_ = 0;
  num_probes_ = 0;
  if (contents.size() < 2) return Status::Corruption("bloom filter too short");
  int probes = static_cast<uint8_t>(contents.back());
  if (probes < 1 || probes > kMaxProbes) {
    return Status::Corruption("bloom filter probe count " + std::to_string(probes) +
                              " out of range");
  }
  num_bits_ = std::min<uint64_t>((contents.size() - 1) * 8, kMaxBits);
  num_probes_ = probes;
  data_ = std::move(contents);
  return Status::OK();
}

bool BloomFilter::KeyMayMatch(std::string_view key) const {
  if (data_.empty()) return true;
  uint64_t hash = BloomHash(key);
  uint32_t h1 = static_cast<uint32_t>(hash), h2 = static_cast<uint32_t>(hash >> 32);
  for (int i = 0; i < num_probes_; i++) {
    uint64_t bit = ProbeBit(h1, h2, i, num_bits_);
    if ((static_cast<uint8_t>(data_[bit / 8]) & (1 << (bit % 8))) == 0) return false;
  }
  return true;
}

}  // namespace strata
