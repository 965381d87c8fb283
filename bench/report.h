// Results of a benchmark run: one PhaseResult per engine and phase, carried from the
// engine's child process to the parent as one text line each, and printed as a
// Markdown table (for bench/RESULTS.md) or CSV.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace strata::bench {

struct EngineInfo {
  std::string id;
  std::string label;
  std::string description;
  uint64_t baseline_rss_bytes = 0;  // the child before opening any store
};

struct PhaseResult {
  std::string engine_id;
  std::string engine_label;
  std::string phase;              // label, e.g. "readrandom#2"
  bool single_operation = false;  // flush, compact, reopen: compare by time
  uint64_t ops = 0;
  double seconds = 0;
  uint64_t user_bytes = 0;   // key + value bytes written or read
  double cpu_seconds = 0;    // process CPU during the phase, all threads
  uint64_t write_bytes = 0;  // /proc/self/io write_bytes during the phase
  uint64_t cancelled_write_bytes = 0;
  // Bytes written since the store was created over key+value bytes put or deleted
  // since then; 0 when nothing has been written yet.
  double write_amplification = 0;
  uint64_t peak_rss_bytes = 0;  // VmHWM of the engine's process at the phase's end
  uint64_t store_bytes = 0;
  uint64_t table_files = 0;
  std::string files_per_level;  // "4,0,12": level 0 first, as the engine reports it
  std::string notes;

  double ops_per_second() const { return seconds > 0 ? ops / seconds : 0; }
};

// One line (no '\n'), tab-separated; tabs and newlines in text become spaces.
std::string SerializeEngineInfo(const EngineInfo& info);
std::string SerializePhaseResult(const PhaseResult& result);
// False if line is not what the matching Serialize produced.
bool ParseEngineInfo(const std::string& line, EngineInfo* info);
bool ParsePhaseResult(const std::string& line, PhaseResult* result);

// Rows grouped by phase (in phase_order), engines in engine_order; "vs strata" is
// the engine's speed over strata's in the same phase (ops/s, or 1/time for
// single-operation phases), so 2.00x means twice as fast as strata.
void PrintMarkdownTable(std::FILE* out, const std::vector<PhaseResult>& results,
                        const std::vector<std::string>& phase_order,
                        const std::vector<std::string>& engine_order);
void PrintCsv(std::FILE* out, const std::vector<PhaseResult>& results);

}  // namespace strata::bench
