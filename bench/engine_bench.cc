// engine_bench: the workloads of ../shared/BENCHMARKS.md on strata, RocksDB and
// LevelDB with the same settings, printed as one Markdown table (bench/README.md).
//
//   build/bench/engine_bench [--engines=strata,rocksdb,leveldb] [--workloads=...]
//       [--num=5000000] [--reads=200000] [--db_dir=/tmp/strata-bench] [--sync]
//       [--seed=301] [--csv=FILE] [--keep_db] [--strata_compression=zstd|lz4]
//
// Each engine runs in its own child process, one after the other, so its CPU time,
// bytes written (/proc/self/io) and peak RSS (VmHWM) are its own and not mixed with
// another engine's caches or threads. The parent only collects results and prints.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bench/bench_common.h"
#include "bench/engine_adapter.h"
#include "bench/phase_runner.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "bench/workload.h"

namespace strata::bench {
namespace {

// Child exit codes.
constexpr int kExitVerificationFailed = 2;
constexpr int kExitEngineError = 3;

struct Flags {
  std::vector<std::string> engines;
  std::vector<PhaseKind> phases;
  RunConfig run;
  EngineSettings settings;
  std::string db_dir = "/tmp/strata-bench";
  std::string csv_path;
  bool keep_db = false;
  std::string command_line;
};

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: engine_bench [flags]\n"
               "  --engines=LIST    comma-separated, from:");
  for (const std::string& e : AvailableEngines()) std::fprintf(out, " %s", e.c_str());
  std::fprintf(out,
               " (default: all of them)\n"
               "  --workloads=LIST  phases in order (default %s)\n"
               "  --num=N           keys (default 5000000)\n"
               "  --reads=R         gets or seeks per read phase (default 200000)\n"
               "  --db_dir=DIR      stores go to DIR/<engine> (default /tmp/strata-bench)\n"
               "  --sync            fsync every batch of 1000 writes\n"
               "  --seed=S          base seed of key orders and values (default 301)\n"
               "  --strata_compression=ALG  zstd (default) or lz4: strata's block compression\n"
               "  --csv=FILE        also write the results as CSV to FILE\n"
               "  --keep_db         keep the stores after the run (default: delete them)\n",
               DefaultPhaseList());
}

std::vector<std::string> SplitCommas(std::string_view list) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    if (comma > start) items.emplace_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}


bool ParseFlags(int argc, char** argv, Flags* flags) {
  std::string engines;
  std::string workloads = DefaultPhaseList();
  flags->command_line = "build/bench/engine_bench";
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
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      std::exit(0);
    } else if (value_of("--engines=", &v)) {
      engines = v;
    } else if (value_of("--workloads=", &v)) {
      workloads = v;
    } else if (value_of("--num=", &v)) {
      if (!ParseCount(v, &flags->run.num)) return false;
    } else if (value_of("--reads=", &v)) {
      if (!ParseCount(v, &flags->run.reads)) return false;
    } else if (value_of("--seed=", &v)) {
      if (!ParseCount(v, &flags->run.seed)) return false;
    } else if (value_of("--strata_compression=", &v)) {
      if (v != "zstd" && v != "lz4") {
        std::fprintf(stderr, "engine_bench: --strata_compression must be zstd or lz4\n");
        return false;
      }
      flags->settings.strata_compression = v;
    } else if (value_of("--db_dir=", &v)) {
      flags->db_dir = v;
    } else if (value_of("--csv=", &v)) {
      flags->csv_path = v;
    } else if (arg == "--sync") {
      flags->run.sync = true;
    } else if (arg == "--keep_db") {
      flags->keep_db = true;
    } else {
      std::fprintf(stderr, "engine_bench: unknown flag %s\n", argv[i]);
      return false;
    }
  }

  flags->engines = engines.empty() ? AvailableEngines() : SplitCommas(engines);
  std::vector<std::string> available = AvailableEngines();
  for (const std::string& e : flags->engines) {
    if (std::find(available.begin(), available.end(), e) == available.end()) {
      std::fprintf(stderr,
                   "engine_bench: engine '%s' is not in this build (CMake did not find its "
                   "-dev package, or it was turned off)\n",
                   e.c_str());
      return false;
    }
  }
  bool have_store = false;
  for (const std::string& name : SplitCommas(workloads)) {
    PhaseKind kind;
    if (!ParsePhaseName(name, &kind)) {
      std::fprintf(stderr, "engine_bench: unknown workload '%s'\n", name.c_str());
      return false;
    }
    if (!IsFill(kind) && !have_store) {
      std::fprintf(stderr, "engine_bench: %s needs a store: put fillseq or fillrandom before it\n",
                   name.c_str());
      return false;
    }
    have_store = true;
    flags->phases.push_back(kind);
  }
  if (flags->engines.empty() || flags->phases.empty()) return false;
  if (flags->run.num < 2 || flags->run.num > 4'000'000'000'000'000ull) {
    std::fprintf(stderr, "engine_bench: --num must be in [2, 4e15] (16-digit keys of 2*i)\n");
    return false;
  }
  return true;
}

std::string StoreDir(const Flags& flags, const std::string& engine) {
  return flags.db_dir + "/" + engine;
}

// Runs every phase on one engine, writing one line per result to `out`. Returns the
// child's exit code.
int RunEngine(const Flags& flags, const std::string& engine_id, std::FILE* out) {
  std::unique_ptr<EngineAdapter> engine = NewEngineAdapter(engine_id, flags.settings);
  std::string store_dir = StoreDir(flags, engine_id);
  std::error_code ec;
  std::filesystem::create_directories(flags.db_dir, ec);
  if (ec) {
    std::fprintf(stderr, "engine_bench: cannot create %s: %s\n", flags.db_dir.c_str(),
                 ec.message().c_str());
    return kExitEngineError;
  }
  std::vector<Phase> phases = MakePhases(flags.phases, flags.run.seed);
  PhaseRunner runner(flags.run, engine.get(), store_dir);

  EngineInfo info;
  info.id = engine_id;
  info.label = engine->label();
  info.description = engine->Describe();
  info.baseline_rss_bytes = SampleProcess().rss_bytes;
  std::fprintf(out, "%s\n", SerializeEngineInfo(info).c_str());
  std::fflush(out);

  int exit_code = 0;
  for (const Phase& phase : phases) {
    PhaseResult result;
    Status s = runner.Run(phase, &result);
    if (!s.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", s.ToString().c_str());
      exit_code = s.IsCorruption() && s.message().find("verification failed") != std::string::npos
                      ? kExitVerificationFailed
                      : kExitEngineError;
      break;
    }
    std::fprintf(out, "%s\n", SerializePhaseResult(result).c_str());
    std::fflush(out);
  }
  Status s = engine->Close();
  if (!s.ok() && exit_code == 0) {
    std::fprintf(stderr, "engine_bench: %s close: %s\n", engine->label().c_str(),
                 s.ToString().c_str());
    exit_code = kExitEngineError;
  }
  if (!flags.keep_db) std::filesystem::remove_all(store_dir, ec);
  return exit_code;
}

void PrintProgress(const PhaseResult& r) {
  if (r.single_operation) {
    std::fprintf(stderr, "  %-24s %-14s %10.2f s %s\n", r.engine_label.c_str(), r.phase.c_str(),
                 r.seconds, r.notes.c_str());
  } else {
    std::fprintf(stderr, "  %-24s %-14s %10.0f ops/s  (%.2f s) %s\n", r.engine_label.c_str(),
                 r.phase.c_str(), r.ops_per_second(), r.seconds, r.notes.c_str());
  }
}

// Forks a child that runs engine_id; collects its lines. Returns false (after
// saying why) if the child failed.
bool RunEngineInChild(const Flags& flags, const std::string& engine_id,
                      std::vector<EngineInfo>* infos, std::vector<PhaseResult>* results) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("engine_bench: pipe");
    return false;
  }
  std::fflush(nullptr);  // or the child would print the parent's buffered output again
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("engine_bench: fork");
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    std::FILE* out = fdopen(fds[1], "w");
    int code = out == nullptr ? kExitEngineError : RunEngine(flags, engine_id, out);
    if (out != nullptr) std::fclose(out);
    std::fflush(nullptr);
    _exit(code);  // skip the parent's atexit handlers and static destructors
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
    EngineInfo info;
    PhaseResult result;
    if (ParseEngineInfo(line, &info)) {
      infos->push_back(info);
      std::fprintf(stderr, "%s: %s\n", info.label.c_str(), info.description.c_str());
    } else if (ParsePhaseResult(line, &result)) {
      PrintProgress(result);
      results->push_back(result);
    } else {
      std::fprintf(stderr, "engine_bench: bad line from the %s child: %s\n", engine_id.c_str(),
                   line.c_str());
    }
    line.clear();
  }
  std::fclose(in);

  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    std::perror("engine_bench: waitpid");
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitVerificationFailed) {
    std::fprintf(stderr, "engine_bench: %s gave a wrong answer: run aborted\n", engine_id.c_str());
  } else if (WIFEXITED(status)) {
    std::fprintf(stderr, "engine_bench: %s failed (exit code %d): run aborted\n", engine_id.c_str(),
                 WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "engine_bench: %s died of signal %d (%s): run aborted\n",
                 engine_id.c_str(), WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return false;
}



void PrintHeader(const Flags& flags, const std::vector<EngineInfo>& infos,
                 const std::string& load_before, const std::string& load_after) {
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("Command: `%s`\n\n", flags.command_line.c_str());
  std::printf("- N = %llu keys, R = %llu reads, seed %llu, %s; %s, %ld cores; %s\n",
              static_cast<unsigned long long>(flags.run.num),
              static_cast<unsigned long long>(flags.run.reads),
              static_cast<unsigned long long>(flags.run.seed),
              flags.run.sync ? "fsync every batch of 1000" : "batches of 1000, no fsync",
              CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN), date);
  std::printf("- load average (1, 5, 15 min) before the run: %s; after: %s\n", load_before.c_str(),
              load_after.c_str());
  for (const EngineInfo& info : infos) {
    std::printf("- %s: %s\n", info.label.c_str(), info.description.c_str());
  }
  std::printf("\n");
}

void PrintFooter(const std::vector<EngineInfo>& infos) {
  std::printf(
      "\nvs strata: the engine's speed over strata's (ops/s; 1/time for flush, compact, "
      "reopen, when both took 10 ms or more). written: /proc/self/io write_bytes during the phase. "
      "WA: bytes written since "
      "the store was created over key+value bytes written since then. Peak RSS is per engine "
      "(own process); it includes the harness");
  for (size_t i = 0; i < infos.size(); i++) {
    std::printf("%s %s %.0f MiB", i == 0 ? ":" : ",", infos[i].label.c_str(),
                infos[i].baseline_rss_bytes / (1024.0 * 1024.0));
  }
  std::printf(" before opening the store.\n");
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    Usage(stderr);
    return 1;
  }
  std::vector<EngineInfo> infos;
  std::vector<PhaseResult> results;
  std::string load_before = LoadAverage();
  bool ok = true;
  for (const std::string& engine : flags.engines) {
    ok = RunEngineInChild(flags, engine, &infos, &results);
    if (!ok) break;
  }

  std::vector<std::string> phase_order;
  for (const Phase& phase : MakePhases(flags.phases, flags.run.seed)) {
    phase_order.push_back(phase.label);
  }
  PrintHeader(flags, infos, load_before, LoadAverage());
  PrintMarkdownTable(stdout, results, phase_order, flags.engines);
  PrintFooter(infos);
  if (!flags.csv_path.empty()) {
    std::FILE* csv = std::fopen(flags.csv_path.c_str(), "w");
    if (csv == nullptr) {
      std::fprintf(stderr, "engine_bench: cannot write %s: %s\n", flags.csv_path.c_str(),
                   std::strerror(errno));
      return 1;
    }
    PrintCsv(csv, results);
    std::fclose(csv);
  }
  if (!ok) {
    std::printf("\n**Run aborted** (see the message above); the table holds what completed.\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
