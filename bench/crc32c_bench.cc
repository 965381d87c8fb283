// CRC32C throughput per buffer size: crc32c::Extend (the SSE4.2 path, three interleaved
// streams from 768 bytes on) against the portable slicing-by-8 table. A table's data
// block is checked on every read: ~2 KiB compressed, 4 KiB raw.
//   build/bench/crc32c_bench
#include <benchmark/benchmark.h>

#include <string>

#include "lsm/crc32c.h"

namespace {

std::string Buffer(size_t n) {
  std::string data(n, '\0');
  for (size_t i = 0; i < n; i++) data[i] = static_cast<char>(i * 131 + 7);
  return data;
}

// One buffer checksummed over and over with `extend` (range(0) bytes).
void BM_Crc32c(benchmark::State& state, uint32_t (*extend)(uint32_t, const char*, size_t)) {
  const std::string data = Buffer(static_cast<size_t>(state.range(0)));
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = extend(crc, data.data(), data.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK_CAPTURE(BM_Crc32c, Extend, strata::crc32c::Extend)
    ->Arg(64)->Arg(512)->Arg(2048)->Arg(4096)->Arg(65536);
BENCHMARK_CAPTURE(BM_Crc32c, ExtendPortable, strata::crc32c::ExtendPortable)
    ->Arg(64)->Arg(512)->Arg(2048)->Arg(4096)->Arg(65536);

}  // namespace

BENCHMARK_MAIN();
