#include "bench/report.h"
#include "bench/bench_common.h"

#include <cstdlib>
#include <string_view>

namespace strata::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string Clean(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string Number(double value) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? tab : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

bool ParseU64(const std::string& text, uint64_t* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtoull(text.c_str(), &end, 10);
  return *end == '\0';
}

bool ParseDouble(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return *end == '\0';
}



const PhaseResult* Find(const std::vector<PhaseResult>& results, const std::string& phase,
                        const std::string& engine) {
  for (const PhaseResult& r : results) {
    if (r.phase == phase && r.engine_id == engine) return &r;
  }
  return nullptr;
}

}  // namespace

std::string SerializeEngineInfo(const EngineInfo& info) {
  return "engine\t" + Clean(info.id) + "\t" + Clean(info.label) + "\t" + Clean(info.description) +
         "\t" + std::to_string(info.baseline_rss_bytes);
}

bool ParseEngineInfo(const std::string& line, EngineInfo* info) {
  std::vector<std::string> f = SplitTabs(line);
  if (f.size() != 5 || f[0] != "engine") return false;
  info->id = f[1];
  info->label = f[2];
  info->description = f[3];
  return ParseU64(f[4], &info->baseline_rss_bytes);
}

std::string SerializePhaseResult(const PhaseResult& r) {
  return "phase\t" + Clean(r.engine_id) + "\t" + Clean(r.engine_label) + "\t" + Clean(r.phase) +
         "\t" + (r.single_operation ? "1" : "0") + "\t" + std::to_string(r.ops) + "\t" +
         Number(r.seconds) + "\t" + std::to_string(r.user_bytes) + "\t" + Number(r.cpu_seconds) +
         "\t" + std::to_string(r.write_bytes) + "\t" + std::to_string(r.cancelled_write_bytes) +
         "\t" + Number(r.write_amplification) + "\t" + std::to_string(r.peak_rss_bytes) + "\t" +
         std::to_string(r.store_bytes) + "\t" + std::to_string(r.table_files) + "\t" +
         Clean(r.files_per_level) + "\t" + Clean(r.notes);
}

bool ParsePhaseResult(const std::string& line, PhaseResult* r) {
  std::vector<std::string> f = SplitTabs(line);
  if (f.size() != 17 || f[0] != "phase") return false;
  r->engine_id = f[1];
  r->engine_label = f[2];
  r->phase = f[3];
  r->single_operation = f[4] == "1";
  r->files_per_level = f[15];
  r->notes = f[16];
  return ParseU64(f[5], &r->ops) && ParseDouble(f[6], &r->seconds) &&
         ParseU64(f[7], &r->user_bytes) && ParseDouble(f[8], &r->cpu_seconds) &&
         ParseU64(f[9], &r->write_bytes) && ParseU64(f[10], &r->cancelled_write_bytes) &&
         ParseDouble(f[11], &r->write_amplification) && ParseU64(f[12], &r->peak_rss_bytes) &&
         ParseU64(f[13], &r->store_bytes) && ParseU64(f[14], &r->table_files);
}

void PrintMarkdownTable(std::FILE* out, const std::vector<PhaseResult>& results,
                        const std::vector<std::string>& phase_order,
                        const std::vector<std::string>& engine_order) {
  std::fprintf(out,
               "| phase | engine | ops/s | MiB/s | vs strata | secs | CPU s | written MiB | "
               "WA | peak RSS MiB | store MiB | tables | files/level | notes |\n");
  std::fprintf(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n");
  for (const std::string& phase : phase_order) {
    const PhaseResult* strata = Find(results, phase, "strata");
    for (const std::string& engine : engine_order) {
      const PhaseResult* r = Find(results, phase, engine);
      if (r == nullptr) continue;
      std::string ops = r->single_operation ? "-" : WithThousands(r->ops_per_second());
      std::string mib = r->single_operation || r->seconds <= 0
                            ? "-"
                            : Format("%.1f", r->user_bytes / kMiB / r->seconds);
      std::string ratio = "-";
      // A single operation under 10 ms (e.g. flushing an empty memtable) is noise.
      double min_seconds = r->single_operation ? 0.01 : 0;
      if (strata != nullptr && strata->seconds > min_seconds && r->seconds > min_seconds) {
        double speed = r->single_operation ? 1 / r->seconds : r->ops_per_second();
        double strata_speed =
            strata->single_operation ? 1 / strata->seconds : strata->ops_per_second();
        double x = speed / strata_speed;
        ratio = Format("%.2fx", x);
      }
      std::string wa = r->write_amplification > 0 ? Format("%.2f", r->write_amplification) : "-";
      std::fprintf(
          out,
          "| %s | %s | %s | %s | %s | %.2f | %.2f | %.1f | %s | %.0f | %.1f | %llu | %s | %s |\n",
          r->phase.c_str(), r->engine_label.c_str(), ops.c_str(), mib.c_str(), ratio.c_str(),
          r->seconds, r->cpu_seconds, r->write_bytes / kMiB, wa.c_str(), r->peak_rss_bytes / kMiB,
          r->store_bytes / kMiB, static_cast<unsigned long long>(r->table_files),
          r->files_per_level.c_str(), r->notes.c_str());
    }
  }
}

void PrintCsv(std::FILE* out, const std::vector<PhaseResult>& results) {
  std::fprintf(out,
               "engine,phase,ops,seconds,ops_per_second,user_bytes,cpu_seconds,write_bytes,"
               "cancelled_write_bytes,write_amplification,peak_rss_bytes,store_bytes,"
               "table_files,files_per_level,notes\n");
  for (const PhaseResult& r : results) {
    std::string notes = r.notes;
    for (char& c : notes) {
      if (c == '"') c = '\'';
    }
    std::fprintf(
        out, "%s,%s,%llu,%.6f,%.1f,%llu,%.3f,%llu,%llu,%.4f,%llu,%llu,%llu,\"%s\",\"%s\"\n",
        r.engine_id.c_str(), r.phase.c_str(), static_cast<unsigned long long>(r.ops), r.seconds,
        r.ops_per_second(), static_cast<unsigned long long>(r.user_bytes), r.cpu_seconds,
        static_cast<unsigned long long>(r.write_bytes),
        static_cast<unsigned long long>(r.cancelled_write_bytes), r.write_amplification,
        static_cast<unsigned long long>(r.peak_rss_bytes),
        static_cast<unsigned long long>(r.store_bytes),
        static_cast<unsigned long long>(r.table_files), r.files_per_level.c_str(), notes.c_str());
  }
}

}  // namespace strata::bench
