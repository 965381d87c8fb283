#include "lsm/bloom_filter.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "lsm/coding.h"

namespace strata {
namespace {

constexpr int kMaxProbes = 30;
// The trailer byte of a blocked filter is kBlockedMarker | k.
constexpr uint8_t kBlockedMarker = 0x80;
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
  constexpr uint64_t kLineBits = kBloomLineBytes * 8;
  const uint64_t bits =
      std::clamp<uint64_t>(num_keys_ * uint64_t(bits_per_key_), kLineBits, kMaxBits);
  const size_t num_lines = static_cast<size_t>((bits + kLineBits - 1) / kLineBits);
  std::string filter(num_lines * kBloomLineBytes + 1, '\0');
  for (size_t k = 0; k < num_keys_; k++) {
    const uint64_t hash = chunks_[k / kHashesPerChunk][k % kHashesPerChunk];
    char* line = filter.data() + BloomLineIndex(hash, num_lines) * kBloomLineBytes;
    ForEachBloomLineBit(hash, num_probes_, [line](uint32_t bit) {
      line[bit / 8] = static_cast<char>(line[bit / 8] | (1 << (bit % 8)));
      return true;
    });
  }
  filter.back() = static_cast<char>(kBlockedMarker | num_probes_);
  return filter;
}

Status BloomFilter::Init(std::string contents) {
  data_.clear();
  num_bits_ = 0;
  num_lines_ = 0;
  num_probes_ = 0;
  if (contents.size() < 2) return Status::Corruption("bloom filter too short");
  const auto trailer = static_cast<uint8_t>(contents.back());
  const bool blocked = (trailer & kBlockedMarker) != 0;
  const int probes = trailer & ~kBlockedMarker;
  if (probes < 1 || probes > kMaxProbes) {
    return Status::Corruption("bloom filter trailer " + std::to_string(trailer) +
                              ": probe count " + std::to_string(probes) + " out of range");
  }
  const size_t bytes = contents.size() - 1;
  if (blocked) {
    if (bytes % kBloomLineBytes != 0 || bytes / kBloomLineBytes > kMaxBits / 512) {
      return Status::Corruption("blocked bloom filter of " + std::to_string(bytes) +
                                " bytes is not whole 64-byte lines");
    }
    num_lines_ = bytes / kBloomLineBytes;
  } else {
    num_bits_ = std::min<uint64_t>(bytes * 8, kMaxBits);
  }
  num_probes_ = probes;
  data_ = std::move(contents);
  return Status::OK();
}

bool BloomFilter::HashMayMatch(uint64_t hash) const {
  if (data_.empty()) return true;
  if (num_lines_ > 0) {
    const char* line = data_.data() + BloomLineIndex(hash, num_lines_) * kBloomLineBytes;
    return ForEachBloomLineBit(hash, num_probes_, [line](uint32_t bit) {
      return (static_cast<uint8_t>(line[bit / 8]) & (1 << (bit % 8))) != 0;
    });
  }
  uint32_t h1 = static_cast<uint32_t>(hash), h2 = static_cast<uint32_t>(hash >> 32);
  for (int i = 0; i < num_probes_; i++) {
    uint64_t bit = ProbeBit(h1, h2, i, num_bits_);
    if ((static_cast<uint8_t>(data_[bit / 8]) & (1 << (bit % 8))) == 0) return false;
  }
  return true;
}

}  // namespace strata
