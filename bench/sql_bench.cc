// sql_bench: a strata virtual table against an ordinary WITHOUT ROWID table and a
// trivial in-memory virtual table (the floor of SQLite's virtual-table interface),
// through the same prepared statements, printed as Markdown (bench/README.md).
//
//   build/bench/sql_bench [--num=1000000] [--reads=200000] [--engines=strata,ordinary,floor]
//       [--sync=normal] [--dir=/tmp/strata-sql-bench] [--extension=build/strata.so]
//       [--sqlite_cache_mib=64] [--autocommit_reads] [--seed=301] [--no_settle] [--keep_db]
//       [--strata_compression=zstd|lz4] [--strata_options=TEXT]
//
// Each engine runs in its own child process, one after the other, so its CPU time,
// bytes written and peak RSS are its own. The parent collects one line per phase.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bench/bench_common.h"
#include "bench/process_stats.h"
#include "bench/sql_workload.h"

#ifndef STRATA_SQL_BENCH_EXTENSION
#define STRATA_SQL_BENCH_EXTENSION "build/strata.so"
#endif

namespace strata::bench {
namespace {

constexpr int kExitVerificationFailed = 2;
constexpr int kExitEngineError = 3;
constexpr double kMiB = 1024.0 * 1024.0;

struct Flags {
  SqlBenchConfig config;
  std::vector<SqlEngine> engines;
  std::string dir = "/tmp/strata-sql-bench";
  bool keep_db = false;
  std::string command_line;
};

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: sql_bench [flags]\n"
               "  --num=N              rows (default 1000000)\n"
               "  --reads=R            point SELECTs per get phase; R/100 range SELECTs (default "
               "200000)\n"
               "  --engines=LIST       comma list of strata, ordinary, floor (default all, in "
               "that order)\n"
               "  --sync=MODE          full, normal or off: strata's sync option and the "
               "ordinary table's PRAGMA synchronous (default normal)\n"
               "  --dir=DIR            databases go to DIR/<engine>/ (default "
               "/tmp/strata-sql-bench)\n"
               "  --extension=PATH     the strata extension to load (default %s)\n"
               "  --sqlite_cache_mib=M PRAGMA cache_size of every connection, 0 = SQLite's "
               "default (default 64, strata's block cache size)\n"
               "  --autocommit_reads   run each SELECT in its own transaction (default: "
               "transactions of 1000 statements, like the writes)\n"
               "  --seed=S             base seed of key orders and values (default 301)\n"
               "  --no_settle          start the read phases without waiting for strata's "
               "compactions after the insert phase (default: wait, timed in its notes)\n"
               "  --keep_db            keep the databases after the run\n"
               "  --strata_compression=ALG  zstd (default) or lz4: strata's compression option\n"
               "  --strata_options=TEXT more options for strata's CREATE VIRTUAL TABLE, e.g. "
               "write_buffer_size=33554432 (default none)\n",
               STRATA_SQL_BENCH_EXTENSION);
}


bool ParseFlags(int argc, char** argv, Flags* flags) {
  flags->config.extension_path = STRATA_SQL_BENCH_EXTENSION;
  std::string engines = "strata,ordinary,floor";
  flags->command_line = "build/bench/sql_bench";
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    flags->command_line += " ";
    flags->command_line += arg;
    auto value_of = [&](std::string_view name, std::string_view* value) {
      if (arg.substr(0, name.size()) != name) return false;
      *value = arg.substr(name.size());
      return true;
    };
    std::string_view v;
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    } else if (value_of("--num=", &v)) {
      ok = ParseCount(v, &flags->config.num);
    } else if (value_of("--reads=", &v)) {
      ok = ParseCount(v, &flags->config.reads);
    } else if (value_of("--seed=", &v)) {
      ok = ParseCount(v, &flags->config.seed);
    } else if (value_of("--sqlite_cache_mib=", &v)) {
      ok = ParseCount(v, &flags->config.sqlite_cache_mib);
    } else if (value_of("--engines=", &v)) {
      engines = v;
    } else if (value_of("--sync=", &v)) {
      ok = ParseSqlSync(v, &flags->config.sync);
    } else if (value_of("--strata_compression=", &v)) {
      ok = v == "zstd" || v == "lz4";
      // zstd is the default: the CREATE statement stays as without the flag.
      flags->config.strata_compression = v == "lz4" ? "lz4" : "";
    } else if (value_of("--strata_options=", &v)) {
      flags->config.strata_options = v;
    } else if (value_of("--dir=", &v)) {
      flags->dir = v;
    } else if (value_of("--extension=", &v)) {
      flags->config.extension_path = v;
    } else if (arg == "--autocommit_reads") {
      flags->config.read_transactions = false;
    } else if (arg == "--no_settle") {
      flags->config.settle = false;
    } else if (arg == "--keep_db") {
      flags->keep_db = true;
    } else {
      std::fprintf(stderr, "sql_bench: unknown flag %s\n", argv[i]);
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "sql_bench: bad value in %s\n", argv[i]);
      return false;
    }
  }
  size_t start = 0;
  while (start <= engines.size()) {
    size_t comma = engines.find(',', start);
    if (comma == std::string::npos) comma = engines.size();
    std::string name = engines.substr(start, comma - start);
    if (!name.empty()) {
      SqlEngine engine;
      if (!ParseSqlEngine(name, &engine)) {
        std::fprintf(stderr, "sql_bench: unknown engine '%s' (strata, ordinary, floor)\n",
                     name.c_str());
        return false;
      }
      flags->engines.push_back(engine);
    }
    start = comma + 1;
  }
  if (flags->engines.empty()) {
    std::fprintf(stderr, "sql_bench: --engines names no engine\n");
    return false;
  }
  if (flags->config.num < 2 || flags->config.num > 4'000'000'000'000'000ull) {
    std::fprintf(stderr, "sql_bench: --num must be in [2, 4e15] (16-digit keys of 2*i)\n");
    return false;
  }
  if (flags->config.sqlite_cache_mib > (uint64_t{1} << 30)) {
    std::fprintf(stderr, "sql_bench: --sqlite_cache_mib is too large\n");
    return false;
  }
  return true;
}

// One phase's measurements, as the child sends them.
struct Measurement {
  SqlEngine engine = SqlEngine::kStrata;
  SqlPhase phase = SqlPhase::kReplace;
  uint64_t rows = 0;
  uint64_t statements = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t write_bytes = 0;
  uint64_t peak_rss_bytes = 0;
  SqlDiskUsage disk;
  std::string notes;

  double rows_per_second() const { return seconds > 0 ? rows / seconds : 0; }
};

// What the child tells the parent besides measurements.
struct EngineReport {
  uint64_t baseline_rss_bytes = 0;
  std::string plans;
  // Bytes on disk after the last phase with the database closed, and opened again.
  bool have_rest = false;
  uint64_t closed_bytes = 0;
  uint64_t reopened_bytes = 0;
};

std::string Clean(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
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

std::string SerializeMeasurement(const Measurement& m) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "phase\t%d\t%llu\t%llu\t%.9g\t%.6g\t%llu\t%llu\t%llu\t%llu\t%llu\t",
                static_cast<int>(m.phase), static_cast<unsigned long long>(m.rows),
                static_cast<unsigned long long>(m.statements), m.seconds, m.cpu_seconds,
                static_cast<unsigned long long>(m.write_bytes),
                static_cast<unsigned long long>(m.peak_rss_bytes),
                static_cast<unsigned long long>(m.disk.database_bytes),
                static_cast<unsigned long long>(m.disk.wal_bytes),
                static_cast<unsigned long long>(m.disk.store_bytes));
  return buf + Clean(m.notes);
}

bool ParseMeasurement(const std::string& line, Measurement* m) {
  std::vector<std::string> f = SplitTabs(line);
  if (f.size() != 12 || f[0] != "phase") return false;
  int phase = std::atoi(f[1].c_str());
  if (phase < 0 || phase >= static_cast<int>(AllSqlPhases().size())) return false;
  m->phase = static_cast<SqlPhase>(phase);
  m->rows = std::strtoull(f[2].c_str(), nullptr, 10);
  m->statements = std::strtoull(f[3].c_str(), nullptr, 10);
  m->seconds = std::strtod(f[4].c_str(), nullptr);
  m->cpu_seconds = std::strtod(f[5].c_str(), nullptr);
  m->write_bytes = std::strtoull(f[6].c_str(), nullptr, 10);
  m->peak_rss_bytes = std::strtoull(f[7].c_str(), nullptr, 10);
  m->disk.database_bytes = std::strtoull(f[8].c_str(), nullptr, 10);
  m->disk.wal_bytes = std::strtoull(f[9].c_str(), nullptr, 10);
  m->disk.store_bytes = std::strtoull(f[10].c_str(), nullptr, 10);
  m->notes = f[11];
  return true;
}

std::string EngineDir(const Flags& flags, SqlEngine engine) {
  return flags.dir + "/" + SqlEngineName(engine);
}

// The child: runs every phase on one engine, one line per phase to `out`. Returns the
// exit code.
int RunEngine(const Flags& flags, SqlEngine engine, std::FILE* out) {
  std::fprintf(out, "baseline\t%llu\n", static_cast<unsigned long long>(SampleProcess().rss_bytes));
  std::fflush(out);
  std::string dir = EngineDir(flags, engine);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  int exit_code = 0;
  {
    SqlPhaseRunner runner(flags.config, engine, dir);
    for (SqlPhase phase : AllSqlPhases()) {
      SqlPhaseWork work;
      Status s = runner.Run(phase, &work);
      if (!s.ok()) {
        std::fprintf(stderr, "sql_bench: %s, %s: %s\n", SqlEngineName(engine), SqlPhaseName(phase),
                     s.ToString().c_str());
        exit_code = s.IsCorruption() && s.message().find("verification failed") == 0
                        ? kExitVerificationFailed
                        : kExitEngineError;
        break;
      }
      Measurement m;
      m.engine = engine;
      m.phase = phase;
      m.rows = work.rows;
      m.statements = work.statements;
      m.seconds = work.seconds;
      m.cpu_seconds = work.cpu_seconds;
      m.write_bytes = work.write_bytes;
      const ProcessSample sample = SampleProcess();
      m.peak_rss_bytes = sample.peak_rss_bytes;
      m.disk = runner.DiskUsage();
      // Peak RSS includes the table files strata maps (page cache): show the process's
      // own memory beside it.
      m.notes = "anon RSS " + std::to_string(sample.rss_anon_bytes >> 20) + " MiB";
      if (!work.notes.empty()) m.notes += "; " + work.notes;
      std::fprintf(out, "%s\n", SerializeMeasurement(m).c_str());
      if (phase == SqlPhase::kInsert) {
        std::string plans;
        s = runner.DescribePlans(&plans);
        std::fprintf(out, "plans\t%s\n", Clean(s.ok() ? plans : s.ToString()).c_str());
      }
      std::fflush(out);
    }
    Status s = runner.Close();
    // At rest: closed, then reopened (strata: the store opened again, which deletes the
    // tables it no longer needs; ordinary: the WAL checkpointed and removed at close).
    if (s.ok() && exit_code == 0 && engine != SqlEngine::kFloor) {
      SqlDiskUsage closed = runner.DiskUsage();
      s = runner.Reopen();
      SqlDiskUsage reopened = runner.DiskUsage();
      if (s.ok()) s = runner.Close();
      if (s.ok()) {
        std::fprintf(out, "rest\t%llu\t%llu\n", static_cast<unsigned long long>(closed.total()),
                     static_cast<unsigned long long>(reopened.total()));
      }
    }
    if (!s.ok() && exit_code == 0) {
      std::fprintf(stderr, "sql_bench: %s: %s\n", SqlEngineName(engine), s.ToString().c_str());
      exit_code = kExitEngineError;
    }
  }
  if (!flags.keep_db) std::filesystem::remove_all(dir, ec);
  return exit_code;
}

// Forks a child that runs `engine` and collects its lines. False (after saying why) if
// the child failed.
bool RunEngineInChild(const Flags& flags, SqlEngine engine, EngineReport* report,
                      std::vector<Measurement>* results) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("sql_bench: pipe");
    return false;
  }
  std::fflush(nullptr);  // or the child would print the parent's buffered output again
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("sql_bench: fork");
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    std::FILE* out = fdopen(fds[1], "w");
    int code = out == nullptr ? kExitEngineError : RunEngine(flags, engine, out);
    if (out != nullptr) std::fclose(out);
    std::fflush(nullptr);
    _exit(code);
  }
  close(fds[1]);
  std::FILE* in = fdopen(fds[0], "r");
  std::string line;
  int c;
  while ((c = std::fgetc(in)) != EOF) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    Measurement m;
    if (line.rfind("baseline\t", 0) == 0) {
      report->baseline_rss_bytes = std::strtoull(line.c_str() + 9, nullptr, 10);
    } else if (line.rfind("plans\t", 0) == 0) {
      report->plans = line.substr(6);
    } else if (line.rfind("rest\t", 0) == 0) {
      char* end = nullptr;
      report->closed_bytes = std::strtoull(line.c_str() + 5, &end, 10);
      report->reopened_bytes = std::strtoull(end, nullptr, 10);
      report->have_rest = true;
    } else if (ParseMeasurement(line, &m)) {
      m.engine = engine;
      std::fprintf(stderr, "  %-9s %-18s %12.0f rows/s  (%.2f s, CPU %.2f s) %s\n",
                   SqlEngineName(engine), SqlPhaseName(m.phase), m.rows_per_second(), m.seconds,
                   m.cpu_seconds, m.notes.c_str());
      results->push_back(m);
    } else {
      std::fprintf(stderr, "sql_bench: bad line from the %s child: %s\n", SqlEngineName(engine),
                   line.c_str());
    }
    line.clear();
  }
  std::fclose(in);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    std::perror("sql_bench: waitpid");
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitVerificationFailed) {
    std::fprintf(stderr, "sql_bench: %s gave a wrong answer: run aborted\n", SqlEngineName(engine));
  } else if (WIFEXITED(status)) {
    std::fprintf(stderr, "sql_bench: %s failed (exit code %d): run aborted\n",
                 SqlEngineName(engine), WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "sql_bench: %s died of signal %d (%s): run aborted\n",
                 SqlEngineName(engine), WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return false;
}





const Measurement* Find(const std::vector<Measurement>& results, SqlPhase phase, SqlEngine engine) {
  for (const Measurement& m : results) {
    if (m.phase == phase && m.engine == engine) return &m;
  }
  return nullptr;
}

std::string EngineDescription(const Flags& flags, SqlEngine engine) {
  // Appends, not "`" + string: g++ 12 misreports that as -Wrestrict.
  std::string text = "`";
  text += CreateTableSql(engine, flags.config);
  text += '`';
  if (engine == SqlEngine::kStrata) {
    text += " (" + flags.config.extension_path +
            "; options not given above at their defaults: 64 MiB write buffer, 64 MiB block "
            "cache, " +
            (flags.config.strata_compression.empty() ? "zstd level 1, " : "") +
            "bloom 10 bits/key)";
  } else if (engine == SqlEngine::kFloor) {
    text += " (bench/memory_vtab.cc: row i in slot i of two arrays, nothing persisted)";
  }
  return text;
}

void PrintHeader(const Flags& flags, const std::map<SqlEngine, EngineReport>& reports,
                 const std::string& load_before, const std::string& load_after) {
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  const SqlBenchConfig& c = flags.config;
  std::printf("Command: `%s`\n\n", flags.command_line.c_str());
  std::printf(
      "- N = %llu rows, R = %llu point reads (%llu range SELECTs), seed %llu, "
      "writes in transactions of %d rows, %s; %s, %ld cores; %s\n",
      static_cast<unsigned long long>(c.num), static_cast<unsigned long long>(c.reads),
      static_cast<unsigned long long>(std::max<uint64_t>(1, c.reads / 100)),
      static_cast<unsigned long long>(c.seed), kBatchSize,
      c.read_transactions ? "point and range SELECTs in transactions of 1000 statements"
                          : "every SELECT in autocommit mode",
      CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN), date);
  std::printf("- load average (1, 5, 15 min) before the run: %s; after: %s\n", load_before.c_str(),
              load_after.c_str());
  std::printf(
      "- SQLite %s; every database: journal_mode=WAL, synchronous=%s (strata sync=%s), "
      "cache_size %s\n",
      sqlite3_libversion(), SqlSyncPragma(c.sync), SqlSyncName(c.sync),
      c.sqlite_cache_mib > 0 ? (std::to_string(c.sqlite_cache_mib) + " MiB").c_str()
                             : "SQLite's default (2 MiB)");
  for (SqlEngine engine : flags.engines) {
    std::printf("- %s: %s\n", SqlEngineName(engine), EngineDescription(flags, engine).c_str());
    auto it = reports.find(engine);
    if (it != reports.end() && !it->second.plans.empty()) {
      std::printf("  - plans: %s\n", it->second.plans.c_str());
    }
  }
  std::printf("\n");
}

// rows/s per phase and engine, strata against the ordinary table and above the floor.
// rows/s per phase and engine, strata against the ordinary table and above the floor,
// by wall time (the measure) and by CPU time (what a phase costs when the machine is
// shared: other processes inflate wall time, not CPU time; but CPU time misses waits
// for the device, and includes strata's background threads).
void PrintSummary(const std::vector<Measurement>& results) {
  std::printf(
      "| phase | rows | strata rows/s | ordinary rows/s | floor rows/s | strata / ordinary | "
      "strata / ordinary by CPU | strata ns/row | floor ns/row | strata above floor ns/row | "
      "above floor, CPU ns/row |\n");
  std::printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  for (SqlPhase phase : AllSqlPhases()) {
    const Measurement* strata = Find(results, phase, SqlEngine::kStrata);
    const Measurement* ordinary = Find(results, phase, SqlEngine::kOrdinary);
    const Measurement* floor = Find(results, phase, SqlEngine::kFloor);
    if (strata == nullptr && ordinary == nullptr && floor == nullptr) continue;
    const Measurement* any = strata != nullptr ? strata : ordinary != nullptr ? ordinary : floor;
    auto rate = [](const Measurement* m) {
      return m == nullptr || m->seconds <= 0 ? std::string("-")
                                             : WithThousands(m->rows_per_second());
    };
    // Nanoseconds of wall (or CPU) time per row; < 0 if unknown.
    auto ns = [](const Measurement* m, bool cpu) {
      return m == nullptr || m->rows == 0 ? -1.0
                                          : (cpu ? m->cpu_seconds : m->seconds) * 1e9 / m->rows;
    };
    auto ratio = [&](bool cpu) {
      double s = ns(strata, cpu), o = ns(ordinary, cpu);
      return s <= 0 || o <= 0 ? std::string("-") : Format("%.2fx", o / s);
    };
    auto number = [](double v) { return v < 0 ? std::string("-") : Format("%.0f", v); };
    auto above = [&](bool cpu) {
      double s = ns(strata, cpu), f = ns(floor, cpu);
      return s < 0 || f < 0 ? std::string("-") : Format("%.0f", s - f);
    };
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", SqlPhaseName(phase),
                WithThousands(static_cast<double>(any->rows)).c_str(), rate(strata).c_str(),
                rate(ordinary).c_str(), rate(floor).c_str(), ratio(false).c_str(),
                ratio(true).c_str(), number(ns(strata, false)).c_str(),
                number(ns(floor, false)).c_str(), above(false).c_str(), above(true).c_str());
  }
}

void PrintDetails(const Flags& flags, const std::vector<Measurement>& results) {
  std::printf(
      "\n| phase | engine | rows/s | secs | CPU s | written MiB | peak RSS MiB | db MiB | "
      "WAL MiB | store MiB | on disk MiB | notes |\n");
  std::printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  for (SqlPhase phase : AllSqlPhases()) {
    for (SqlEngine engine : flags.engines) {
      const Measurement* m = Find(results, phase, engine);
      if (m == nullptr) continue;
      std::printf("| %s | %s | %s | %.2f | %.2f | %.1f | %.0f | %.1f | %.1f | %.1f | %.1f | %s |\n",
                  SqlPhaseName(phase), SqlEngineName(engine),
                  WithThousands(m->rows_per_second()).c_str(), m->seconds, m->cpu_seconds,
                  m->write_bytes / kMiB, m->peak_rss_bytes / kMiB, m->disk.database_bytes / kMiB,
                  m->disk.wal_bytes / kMiB, m->disk.store_bytes / kMiB, m->disk.total() / kMiB,
                  m->notes.c_str());
    }
  }
}

void PrintFooter(const Flags& flags, const std::vector<Measurement>& results,
                 const std::map<SqlEngine, EngineReport>& reports) {
  std::printf(
      "\nrows: rows written, deleted or returned; for get and get missing, statements. "
      "ns/row = 1e9 / rows/s; \"above floor\" = strata's ns/row minus the floor's. "
      "\"by CPU\" and \"CPU ns/row\": the same with the process's CPU seconds (all threads) "
      "in place of wall seconds. "
      "written: /proc/self/io write_bytes during the phase. Peak RSS: VmHWM of the engine's "
      "own process at the end of the phase; before opening any database it was");
  bool first = true;
  for (SqlEngine engine : flags.engines) {
    auto it = reports.find(engine);
    if (it == reports.end()) continue;
    std::printf("%s %s %.0f MiB", first ? "" : ",", SqlEngineName(engine),
                it->second.baseline_rss_bytes / kMiB);
    first = false;
  }
  std::printf(
      ". It counts the pages of files a process maps (strata maps its tables: those pages "
      "are the kernel's page cache, which the ordinary table's reads also fill, unmapped); "
      "\"anon RSS\" in the notes is the process's own memory (RssAnon) at the end of the "
      "phase. On disk: database file + its -wal file + the strata store directory (<db>-strata) "
      "after the phase; the insert or replace phase has its own database, deleted before the "
      "insert phase makes the one the later phases use.\n");
  for (SqlEngine engine : flags.engines) {
    auto it = reports.find(engine);
    if (it == reports.end() || !it->second.have_rest) continue;
    std::printf(
        "\nAt rest after the last phase, %s: %.1f MiB on disk with the database "
        "closed, %.1f MiB once opened again.\n",
        SqlEngineName(engine), it->second.closed_bytes / kMiB, it->second.reopened_bytes / kMiB);
  }
  for (SqlPhase phase : {SqlPhase::kInsert, SqlPhase::kDelete}) {
    const Measurement* strata = Find(results, phase, SqlEngine::kStrata);
    const Measurement* ordinary = Find(results, phase, SqlEngine::kOrdinary);
    if (strata != nullptr && ordinary != nullptr && ordinary->disk.total() > 0) {
      std::printf("\nBytes on disk after %s: strata %.1f MiB / ordinary %.1f MiB = %.2fx.\n",
                  SqlPhaseName(phase), strata->disk.total() / kMiB, ordinary->disk.total() / kMiB,
                  static_cast<double>(strata->disk.total()) / ordinary->disk.total());
    }
  }
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    Usage(stderr);
    return 1;
  }
  std::string load_before = LoadAverage();
  std::map<SqlEngine, EngineReport> reports;
  std::vector<Measurement> results;
  bool ok = true;
  for (SqlEngine engine : flags.engines) {
    ok = RunEngineInChild(flags, engine, &reports[engine], &results);
    if (!ok) break;
  }
  PrintHeader(flags, reports, load_before, LoadAverage());
  PrintSummary(results);
  PrintDetails(flags, results);
  PrintFooter(flags, results, reports);
  if (!ok) {
    std::printf("\n**Run aborted** (see the message above); the tables hold what completed.\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
