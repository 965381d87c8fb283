#include "bench/workload.h"

namespace strata::bench {

uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t Random64::Next() {
  state_ += 0x9e3779b97f4a7c15ull;
  return Mix64(state_);
}

std::string_view KeyBuffer::Set(uint64_t number) {
  for (int i = static_cast<int>(kKeySize) - 1; i >= 0; i--) {
    digits_[i] = static_cast<char>('0' + number % 10);
    number /= 10;
  }
  return view();
}

Permutation::Permutation(uint64_t n, uint64_t seed) : n_(n) {
  int bits = 2;
  while (bits < 64 && (uint64_t{1} << bits) < n) bits++;
  if (bits % 2 != 0) bits++;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
  Random64 rng(seed);
  for (uint64_t& key : round_keys_) key = rng.Next();
}

uint64_t Permutation::Encrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_;
  uint64_t right = x & half_mask_;
  for (uint64_t key : round_keys_) {
    uint64_t next_right = left ^ (Mix64(right ^ key) & half_mask_);
    left = right;
    right = next_right;
  }
  return (left << half_bits_) | right;
}

uint64_t Permutation::operator()(uint64_t i) const {
  // Encrypt permutes [0, 2^bits) and 2^bits < 4n, so walking the cycle until the
  // value falls below n takes a few steps and yields a permutation of [0, n).
  uint64_t x = Encrypt(i);
  while (x >= n_) x = Encrypt(x);
  return x;
}

ValuePool::ValuePool(uint64_t seed) : seed_(Mix64(seed ^ 0x76616c756573ull)) {
  Random64 rng(seed);
  constexpr size_t kHalf = kValueSize / 2;
  data_.resize(kUnits * kValueSize);
  for (size_t unit = 0; unit < kUnits; unit++) {
    char* p = &data_[unit * kValueSize];
    for (size_t j = 0; j < kHalf; j += 8) {
      uint64_t r = rng.Next();
      for (size_t b = 0; b < 8 && j + b < kHalf; b++) p[j + b] = static_cast<char>(r >> (8 * b));
    }
    std::copy(p, p + kHalf, p + kHalf);
  }
}

std::string_view ValuePool::Value(uint64_t index, uint8_t version) const {
  uint64_t unit = Mix64(seed_ ^ (index << 8 | version)) % kUnits;
  return std::string_view(data_.data() + unit * kValueSize, kValueSize);
}

uint64_t ExpectedState::NextPresent(uint64_t index) const {
  while (index < versions_.size() && versions_[index] == 0) index++;
  return index;
}

uint64_t ExpectedState::CountPresent() const {
  return versions_.size() - std::count(versions_.begin(), versions_.end(), 0);
}

namespace {

struct PhaseInfo {
  PhaseKind kind;
  const char* name;
};

constexpr PhaseInfo kPhases[] = {
    {PhaseKind::kFillSeq, "fillseq"},           {PhaseKind::kFillRandom, "fillrandom"},
    {PhaseKind::kOverwrite, "overwrite"},       {PhaseKind::kFlush, "flush"},
    {PhaseKind::kCompact, "compact"},           {PhaseKind::kReopen, "reopen"},
    {PhaseKind::kReadRandom, "readrandom"},     {PhaseKind::kReadMissing, "readmissing"},
    {PhaseKind::kSeekRandom, "seekrandom"},     {PhaseKind::kReadSeq, "readseq"},
    {PhaseKind::kDeleteRandom, "deleterandom"},
};

}  // namespace

const char* PhaseName(PhaseKind kind) {
  for (const PhaseInfo& info : kPhases) {
    if (info.kind == kind) return info.name;
  }
  return "?";
}

bool ParsePhaseName(std::string_view name, PhaseKind* kind) {
  for (const PhaseInfo& info : kPhases) {
    if (name == info.name) {
      *kind = info.kind;
      return true;
    }
  }
  return false;
}

const char* DefaultPhaseList() {
  return "fillseq,fillrandom,overwrite,flush,compact,reopen,readrandom,readmissing,seekrandom,"
         "readseq,deleterandom,readrandom";
}

bool IsFill(PhaseKind kind) {
  return kind == PhaseKind::kFillSeq || kind == PhaseKind::kFillRandom;
}

bool IsSingleOperation(PhaseKind kind) {
  return kind == PhaseKind::kFlush || kind == PhaseKind::kCompact || kind == PhaseKind::kReopen;
}

std::vector<Phase> MakePhases(const std::vector<PhaseKind>& kinds, uint64_t run_seed) {
  std::vector<Phase> phases;
  for (PhaseKind kind : kinds) {
    int occurrence = 1;
    for (const Phase& earlier : phases) {
      if (earlier.kind == kind) occurrence++;
    }
    Phase phase;
    phase.kind = kind;
    phase.occurrence = occurrence;
    phase.label = PhaseName(kind);
    if (occurrence > 1) {
      // Two appends, not "#" + to_string(): g++ 12 misreports that as -Wrestrict.
      phase.label += '#';
      phase.label += std::to_string(occurrence);
    }
    phase.seed = Mix64(run_seed ^ Mix64((static_cast<uint64_t>(kind) + 1) << 32 | occurrence));
    phases.push_back(std::move(phase));
  }
  return phases;
}

}  // namespace strata::bench
