// What a phase costs the process: CPU time of all its threads, bytes it caused to be
// written to storage, and its peak resident memory; plus the size of a store on disk.
// Linux only (/proc/self/io, /proc/self/status).
#pragma once

#include <cstdint>
#include <string>

namespace strata::bench {

struct ProcessSample {
  // User + system CPU of every thread of the process, including finished ones
  // (getrusage RUSAGE_SELF), in seconds.
  double cpu_seconds = 0;
  // /proc/self/io: bytes whose page-cache pages this process dirtied (what will reach
  // the device), and bytes of such pages dropped before writeback (a file truncated
  // or deleted while still dirty). Per process, all threads.
  uint64_t write_bytes = 0;
  uint64_t cancelled_write_bytes = 0;
  // /proc/self/status VmHWM and VmRSS, which count the pages of mapped files the process
  // touched (the kernel's page cache) too, and RssAnon, which counts its own memory only.
  uint64_t peak_rss_bytes = 0;
  uint64_t rss_bytes = 0;
  uint64_t rss_anon_bytes = 0;
};

// Fields that cannot be read stay 0 (e.g. /proc/self/io missing without
// CONFIG_TASK_IO_ACCOUNTING).
ProcessSample SampleProcess();

struct StoreFootprint {
  uint64_t bytes = 0;        // regular files under the directory, recursively
  uint64_t table_files = 0;  // *.sst (strata, RocksDB) and *.ldb (LevelDB)
};

StoreFootprint MeasureStore(const std::string& dir);

}  // namespace strata::bench
