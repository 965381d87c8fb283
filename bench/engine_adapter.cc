#include "bench/engine_adapter.h"

namespace strata::bench {

std::vector<std::string> AvailableEngines() {
  std::vector<std::string> engines = {"strata"};
#ifdef STRATA_BENCH_HAVE_ROCKSDB
  engines.push_back("rocksdb");
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
  engines.push_back("leveldb");
#endif
  return engines;
}

std::unique_ptr<EngineAdapter> NewEngineAdapter(std::string_view id,
                                                const EngineSettings& settings) {
  if (id == "strata") return NewStrataAdapter(settings);
#ifdef STRATA_BENCH_HAVE_ROCKSDB
  if (id == "rocksdb") return NewRocksDBAdapter(settings);
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
  if (id == "leveldb") return NewLevelDBAdapter(settings);
#endif
  return nullptr;
}

}  // namespace strata::bench
