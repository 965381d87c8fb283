// The benchmark's data, exactly as ../shared/BENCHMARKS.md defines it: keys, values,
// the random orders the phases use, and the state every read is verified against.
// Everything is a pure function of the seed, so each engine (each in its own child
// process) sees the same keys, values and orders.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::bench {

constexpr size_t kKeySize = 16;  // ASCII decimal digits
constexpr size_t kValueSize = 100;
constexpr int kBatchSize = 1000;  // writes per WriteBatch

// splitmix64's finalizer: a bijective 64-bit mixer with good avalanche.
uint64_t Mix64(uint64_t x);

// A seeded 64-bit generator (splitmix64): fast, and good enough for choosing keys.
class Random64 {
 public:
  explicit Random64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

// Stored key of index i in [0, N) is the number 2*i; 2*i+1 (for i < N-1) lies
// between two stored keys, so only a bloom filter can reject it.
inline uint64_t StoredKeyNumber(uint64_t index) { return 2 * index; }
inline uint64_t MissingKeyNumber(uint64_t index) { return 2 * index + 1; }

// Holds one formatted key; reused so the hot loops allocate nothing.
class KeyBuffer {
 public:
  // `number` as 16 zero-padded decimal digits (numbers >= 10^16 are not supported).
  std::string_view Set(uint64_t number);
  std::string_view view() const { return std::string_view(digits_, kKeySize); }

 private:
  char digits_[kKeySize];
};

// A seeded random permutation of [0, n) computed on the fly, so fillrandom and
// deleterandom need no n-sized array (which would inflate the measured RSS): a
// 4-round Feistel network over the smallest even bit width covering n, with
// cycle-walking to stay below n.
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t seed);
  // The i-th element, i < n. Distinct i give distinct results.
  uint64_t operator()(uint64_t i) const;

 private:
  uint64_t Encrypt(uint64_t x) const;

  uint64_t n_;
  int half_bits_;
  uint64_t half_mask_;
  uint64_t round_keys_[4];
};

// Values: 100-byte units, each 50 random bytes written twice, so a block of records
// compresses about 2x. The unit a key holds is a hash of (key index, version), so
// any value can be recomputed for verification.
class ValuePool {
 public:
  explicit ValuePool(uint64_t seed);
  // version in [1, 255].
  std::string_view Value(uint64_t index, uint8_t version) const;

 private:
  static constexpr size_t kUnits = 16384;  // 1.6 MB of distinct values
  uint64_t seed_;
  std::string data_;
};

// What the store must hold: one byte per key index, 0 = absent, otherwise the
// version (1..255, wrapping) of the latest put. One byte per key is the harness's
// whole memory cost (N bytes), which keeps the measured peak RSS about the engine.
class ExpectedState {
 public:
  explicit ExpectedState(uint64_t n) : versions_(n, 0) {}

  uint64_t size() const { return versions_.size(); }
  uint8_t version(uint64_t index) const { return versions_[index]; }
  bool present(uint64_t index) const { return versions_[index] != 0; }
  void Clear() { std::fill(versions_.begin(), versions_.end(), 0); }
  void Set(uint64_t index, uint8_t version) { versions_[index] = version; }
  // The version the next put of index writes.
  uint8_t NextVersion(uint64_t index) const {
    uint8_t v = versions_[index];
    return v == 255 ? 1 : static_cast<uint8_t>(v + 1);
  }
  // The first present index >= index, or size() if none.
  uint64_t NextPresent(uint64_t index) const;
  uint64_t CountPresent() const;

 private:
  std::vector<uint8_t> versions_;
};

// The phases of BENCHMARKS.md, in their default order.
enum class PhaseKind {
  kFillSeq,
  kFillRandom,
  kOverwrite,
  kFlush,
  kCompact,
  kReopen,
  kReadRandom,
  kReadMissing,
  kSeekRandom,
  kReadSeq,
  kDeleteRandom,
};

struct Phase {
  PhaseKind kind;
  int occurrence;     // 1 for the first time this kind runs in a list, 2 for the second...
  std::string label;  // the name, with "#2" etc. for repeats
  uint64_t seed;      // derived from the run's seed, the kind and the occurrence
};

const char* PhaseName(PhaseKind kind);
// False if name is not a phase.
bool ParsePhaseName(std::string_view name, PhaseKind* kind);
// "fillseq,fillrandom,...,readrandom" as in BENCHMARKS.md.
const char* DefaultPhaseList();
bool IsFill(PhaseKind kind);
// Flush, compact and reopen are one operation each: reported by time, not ops/s.
bool IsSingleOperation(PhaseKind kind);

// Builds phases from names, giving repeats distinct labels and seeds.
std::vector<Phase> MakePhases(const std::vector<PhaseKind>& kinds, uint64_t run_seed);

}  // namespace strata::bench
