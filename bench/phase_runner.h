// PhaseRunner: runs the phases of BENCHMARKS.md on one engine and measures each,
// verifying every answer the engine gives against ExpectedState.
#pragma once

#include <cstdint>
#include <string>

#include "bench/engine_adapter.h"
#include "bench/report.h"
#include "bench/workload.h"
#include "strata/status.h"

namespace strata::bench {

struct RunConfig {
  uint64_t num = 5'000'000;  // N keys
  uint64_t reads = 200'000;  // R reads per read phase
  bool sync = false;         // fsync every batch
  uint64_t seed = 301;
};

class PhaseRunner {
 public:
  // The store lives in store_dir, which fill phases delete and recreate.
  PhaseRunner(const RunConfig& config, EngineAdapter* engine, std::string store_dir);

  // Runs and measures one phase. An engine error is returned as the engine reported
  // it; a wrong answer (a value, a missing or extra key, iterator order) is
  // Status::Corruption starting with "verification failed". Either ends the run.
  Status Run(const Phase& phase, PhaseResult* result);

 private:
  // What a phase did, for its result row.
  struct Work {
    uint64_t ops = 0;
    uint64_t user_bytes = 0;
    std::string notes;
  };

  Status FreshStore();
  Status Fill(const Phase& phase, bool random_order, Work* work);
  Status Overwrite(const Phase& phase, Work* work);
  Status DeleteRandom(const Phase& phase, Work* work);
  Status Reopen(Work* work);
  Status ReadRandom(const Phase& phase, Work* work);
  Status ReadMissing(const Phase& phase, Work* work);
  Status SeekRandom(const Phase& phase, Work* work);
  Status ReadSeq(Work* work);

  // Batching: writes pending updates every kBatchSize of them and at the end.
  Status Put(uint64_t index, uint8_t version, Work* work);
  Status Delete(uint64_t index, Work* work);
  Status FinishBatch();

  // Checks what the engine returned for stored-key index (whose key is in key_)
  // against ExpectedState.
  Status CheckGet(uint64_t index, bool found, const std::string& value) const;
  // Checks the iterator stands at expected index (or is invalid when it is N).
  Status CheckIterator(BenchIterator* it, uint64_t expected) const;
  Status Mismatch(std::string_view key, const std::string& what) const;

  const RunConfig config_;
  EngineAdapter* const engine_;
  const std::string store_dir_;
  const ValuePool values_;
  ExpectedState expected_;
  KeyBuffer key_;
  std::string get_buffer_;
  int pending_in_batch_ = 0;
  // For write amplification since the store was created.
  uint64_t write_bytes_at_creation_ = 0;
  uint64_t user_bytes_since_creation_ = 0;
};

}  // namespace strata::bench
