// Statistics: counters the engine keeps since the store was opened, read in one call
// (DB::GetStatistics). Later surfaced to SQL.
#pragma once

#include <cstdint>

namespace strata {

constexpr int kStatisticsLevels = 7;

struct LevelStatistics {
  int files = 0;
  uint64_t bytes = 0;                       // table bytes on disk now
  uint64_t compaction_bytes_read = 0;       // input bytes of compactions out of this level
  uint64_t compaction_bytes_written = 0;    // output bytes of compactions into this level
  uint64_t table_reads = 0;                 // Gets that searched a table of this level
  uint64_t get_hits = 0;                    // Gets answered (value or deletion) here
};

struct Statistics {
  uint64_t user_bytes_written = 0;   // keys + values handed to Write
  uint64_t log_bytes_written = 0;    // write-ahead log records
  uint64_t flush_bytes_written = 0;  // level-0 tables written by flushes
  uint64_t compaction_bytes_written = 0;
  // (log + flush + compaction bytes written) / user bytes written.
  double write_amplification = 0;

  uint64_t writes = 0;           // Write calls (batches)
  uint64_t write_groups = 0;     // log records: writes per group = group commit at work
  uint64_t syncs = 0;            // log fsyncs
  uint64_t gets = 0;
  uint64_t memtable_hits = 0;    // Gets answered by a memtable
  LevelStatistics levels[kStatisticsLevels];

  uint64_t bloom_checks = 0;     // table lookups that consulted a bloom filter
  uint64_t bloom_useful = 0;     // ... where the filter ruled the key out
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t block_cache_usage = 0;  // bytes held now

  uint64_t stall_micros = 0;     // time writers spent delayed or stopped
  uint64_t slowdowns = 0;        // writes delayed by 1 ms (level 0 near full)
  uint64_t stops = 0;            // waits for a flush or for level 0 to drain

  uint64_t flushes = 0;
  uint64_t compactions = 0;
  uint64_t trivial_moves = 0;    // tables moved down without rewriting
  uint64_t pending_compaction_bytes = 0;
  uint64_t memtable_bytes = 0;   // active + immutable memtables now
};

}  // namespace strata
