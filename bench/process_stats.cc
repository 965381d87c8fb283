#include "bench/process_stats.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace strata::bench {
namespace {

// Calls fn(name, value) for each "name: value..." line of a /proc file.
template <typename Fn>
void ForEachProcLine(const char* path, Fn fn) {
  std::FILE* file = std::fopen(path, "r");
  if (file == nullptr) return;
  char line[256];
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    char* colon = std::strchr(line, ':');
    if (colon == nullptr) continue;
    *colon = '\0';
    fn(line, static_cast<uint64_t>(std::strtoull(colon + 1, nullptr, 10)));
  }
  std::fclose(file);
}

}  // namespace

ProcessSample SampleProcess() {
  ProcessSample sample;
  rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    sample.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  ForEachProcLine("/proc/self/io", [&](const char* name, uint64_t value) {
    if (std::strcmp(name, "write_bytes") == 0) sample.write_bytes = value;
    if (std::strcmp(name, "cancelled_write_bytes") == 0) sample.cancelled_write_bytes = value;
  });
  ForEachProcLine("/proc/self/status", [&](const char* name, uint64_t value) {
    // Reported in kB.
    if (std::strcmp(name, "VmHWM") == 0) sample.peak_rss_bytes = value * 1024;
    if (std::strcmp(name, "VmRSS") == 0) sample.rss_bytes = value * 1024;
    if (std::strcmp(name, "RssAnon") == 0) sample.rss_anon_bytes = value * 1024;
  });
  return sample;
}

StoreFootprint MeasureStore(const std::string& dir) {
  namespace fs = std::filesystem;
  StoreFootprint footprint;
  std::error_code ec;
  // Files may vanish while we walk (background compaction deletes them): skip those.
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec) || entry_ec) continue;
    uint64_t size = it->file_size(entry_ec);
    if (entry_ec) continue;
    footprint.bytes += size;
    std::string ext = it->path().extension().string();
    if (ext == ".sst" || ext == ".ldb") footprint.table_files++;
  }
  return footprint;
}

}  // namespace strata::bench
