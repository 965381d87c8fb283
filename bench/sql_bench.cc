// sql_bench: a strata virtual table against an ordinary WITHOUT ROWID table and a
// trivial in-memory virtual table (the floor of SQLite's virtual-table interface),
// through the same prepared statements, printed as Markdown (bench/README.md).
//
//   build/bench/sql_bench [--num=1000000] [--reads=200000] [--engines=strata,ordinary,floor]
//       [--sync=normal] [--dir=/tmp/strata-sql-bench] [--extension=build/strata.so]
//       [--read_rounds=5] [--sqlite_cache_mib=64] [--autocommit_reads] [--seed=301] [--no_settle] [--keep_db]
//       [--strata_compression=zstd|lz4] [--strata_options=TEXT]
//
// Each engine runs in its own child process, so its CPU time, bytes written and peak RSS
// are its own. The parent has the children run one phase at a time: the write phases
// one engine after the other, then the read phases in rounds in which the engines take
// turns, so a change in the machine's speed during the run reaches every engine's reads
// alike; the tables give each read phase's median over the rounds.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
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
  // Read phases run this many times, the engines taking turns (bench/README.md).
  uint64_t read_rounds = 5;
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
               "  --read_rounds=K      run the read phases K times, the engines taking turns "
               "(default 5)\n"
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
    } else if (value_of("--read_rounds=", &v)) {
      ok = ParseCount(v, &flags->read_rounds) && flags->read_rounds >= 1 &&
           flags->read_rounds <= 1000;
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
  uint64_t round = 0;  // read phases: which repetition (0 .. read_rounds-1)
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
                "phase\t%d\t%llu\t%llu\t%llu\t%.9g\t%.6g\t%llu\t%llu\t%llu\t%llu\t%llu\t",
                static_cast<int>(m.phase), static_cast<unsigned long long>(m.round),
                static_cast<unsigned long long>(m.rows),
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
  if (f.size() != 13 || f[0] != "phase") return false;
  int phase = std::atoi(f[1].c_str());
  if (phase < 0 || phase >= static_cast<int>(AllSqlPhases().size())) return false;
  m->phase = static_cast<SqlPhase>(phase);
  m->round = std::strtoull(f[2].c_str(), nullptr, 10);
  m->rows = std::strtoull(f[3].c_str(), nullptr, 10);
  m->statements = std::strtoull(f[4].c_str(), nullptr, 10);
  m->seconds = std::strtod(f[5].c_str(), nullptr);
  m->cpu_seconds = std::strtod(f[6].c_str(), nullptr);
  m->write_bytes = std::strtoull(f[7].c_str(), nullptr, 10);
  m->peak_rss_bytes = std::strtoull(f[8].c_str(), nullptr, 10);
  m->disk.database_bytes = std::strtoull(f[9].c_str(), nullptr, 10);
  m->disk.wal_bytes = std::strtoull(f[10].c_str(), nullptr, 10);
  m->disk.store_bytes = std::strtoull(f[11].c_str(), nullptr, 10);
  m->notes = f[12];
  return true;
}

std::string EngineDir(const Flags& flags, SqlEngine engine) {
  return flags.dir + "/" + SqlEngineName(engine);
}

// Reads one line (without its '\n') from `in`; false at end of file.
bool ReadLine(std::FILE* in, std::string* line) {
  line->clear();
  int c;
  while ((c = std::fgetc(in)) != EOF) {
    if (c == '\n') return true;
    *line += static_cast<char>(c);
  }
  return !line->empty();
}

// The child: runs one engine's phases as the parent's commands ask, on one connection.
// Commands (one per line): "run <phase> <round>", answered by the phase's line (and
// after the insert phase a "plans" line) and "done"; "finish", answered by the "rest"
// line, after which the child exits. A failing phase ends the child with an exit code
// instead of "done"; so does the end of the commands (the parent gave up). Returns the
// exit code.
int RunEngine(const Flags& flags, SqlEngine engine, std::FILE* commands, std::FILE* out) {
  std::fprintf(out, "baseline\t%llu\n", static_cast<unsigned long long>(SampleProcess().rss_bytes));
  std::fflush(out);
  std::string dir = EngineDir(flags, engine);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  int exit_code = kExitEngineError;  // unless "finish" comes
  {
    SqlPhaseRunner runner(flags.config, engine, dir);
    std::string command;
    while (ReadLine(commands, &command)) {
      if (command == "finish") {
        exit_code = 0;
        break;
      }
      int phase_number = -1;
      unsigned long long round = 0;
      if (std::sscanf(command.c_str(), "run %d %llu", &phase_number, &round) != 2 ||
          phase_number < 0 || phase_number >= static_cast<int>(AllSqlPhases().size())) {
        std::fprintf(stderr, "sql_bench: %s child: bad command '%s'\n", SqlEngineName(engine),
                     command.c_str());
        break;
      }
      const SqlPhase phase = static_cast<SqlPhase>(phase_number);
      SqlPhaseWork work;
      Status s = runner.Run(phase, &work, round);
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
      m.round = round;
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
      std::fprintf(out, "done\n");
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

// The parent's side of one engine's child process: starts it, has it run one phase at
// a time (so the engines' read phases can alternate) and collects what it reports.
class EngineChild {
 public:
  // `parent_ends`: the parent's ends of the pipes to the children started before, which
  // this child must not keep open (a child whose command pipe another child holds would
  // not see the parent abandon it); this child's are added.
  EngineChild(const Flags& flags, SqlEngine engine, std::vector<int>* parent_ends,
              EngineReport* report, std::vector<Measurement>* results)
      : flags_(flags),
        engine_(engine),
        parent_ends_(parent_ends),
        report_(report),
        results_(results) {}
  // A child still running when the run is abandoned gets no more commands: it ends.
  ~EngineChild() {
    if (pid_ > 0) Wait(/*quiet=*/true);
  }
  EngineChild(const EngineChild&) = delete;
  EngineChild& operator=(const EngineChild&) = delete;

  // Forks the child. False (after saying why) if it could not.
  bool Start() {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) {
      std::perror("sql_bench: pipe");
      return false;
    }
    std::fflush(nullptr);  // or the child would print the parent's buffered output again
    pid_ = fork();
    if (pid_ < 0) {
      std::perror("sql_bench: fork");
      return false;
    }
    if (pid_ == 0) {
      close(to_child[1]);
      close(from_child[0]);
      for (int fd : *parent_ends_) close(fd);
      std::FILE* commands = fdopen(to_child[0], "r");
      std::FILE* out = fdopen(from_child[1], "w");
      int code = commands == nullptr || out == nullptr ? kExitEngineError
                                                       : RunEngine(flags_, engine_, commands, out);
      if (out != nullptr) std::fclose(out);
      std::fflush(nullptr);
      _exit(code);
    }
    close(to_child[0]);
    close(from_child[1]);
    commands_ = fdopen(to_child[1], "w");
    replies_ = fdopen(from_child[0], "r");
    parent_ends_->push_back(to_child[1]);
    parent_ends_->push_back(from_child[0]);
    return commands_ != nullptr && replies_ != nullptr && Collect(/*until=*/"baseline");
  }

  // Runs `phase` (its `round`) in the child and collects its measurement. False (after
  // saying why) if the child failed.
  bool Run(SqlPhase phase, uint64_t round) {
    std::fprintf(commands_, "run %d %llu\n", static_cast<int>(phase),
                 static_cast<unsigned long long>(round));
    std::fflush(commands_);
    return Collect("done");
  }

  // Has the child close its database (reporting the bytes at rest) and exit; false (after
  // saying why) if it failed.
  bool Finish() {
    std::fprintf(commands_, "finish\n");
    std::fflush(commands_);
    Collect(/*until=*/nullptr);
    return Wait();
  }

 private:
  // Reads the child's lines until one starting with `until` (null: until the child
  // closes its end). False if the child ended first.
  bool Collect(const char* until) {
    std::string line;
    while (ReadLine(replies_, &line)) {
      Measurement m;
      if (line.rfind("baseline\t", 0) == 0) {
        report_->baseline_rss_bytes = std::strtoull(line.c_str() + 9, nullptr, 10);
      } else if (line.rfind("plans\t", 0) == 0) {
        report_->plans = line.substr(6);
      } else if (line.rfind("rest\t", 0) == 0) {
        char* end = nullptr;
        report_->closed_bytes = std::strtoull(line.c_str() + 5, &end, 10);
        report_->reopened_bytes = std::strtoull(end, nullptr, 10);
        report_->have_rest = true;
      } else if (ParseMeasurement(line, &m)) {
        m.engine = engine_;
        std::fprintf(stderr, "  %-9s %-18s", SqlEngineName(engine_), SqlPhaseName(m.phase));
        if (IsSqlReadPhase(m.phase)) {
          std::fprintf(stderr, " round %llu", static_cast<unsigned long long>(m.round + 1));
        }
        std::fprintf(stderr, " %12.0f rows/s  (%.2f s, CPU %.2f s) %s\n", m.rows_per_second(),
                     m.seconds, m.cpu_seconds, m.notes.c_str());
        results_->push_back(m);
      } else if (line != "done") {
        std::fprintf(stderr, "sql_bench: bad line from the %s child: %s\n",
                     SqlEngineName(engine_), line.c_str());
      }
      if (until != nullptr && line.rfind(until, 0) == 0) return true;
    }
    if (until != nullptr) Wait();  // says why the child ended
    return false;
  }

  // Closes the pipes, reaps the child and (unless quiet) says how it ended; true if it
  // succeeded.
  bool Wait(bool quiet = false) {
    for (std::FILE* file : {commands_, replies_}) {
      if (file == nullptr) continue;
      // Its number may be reused: children started later must not close that.
      parent_ends_->erase(std::remove(parent_ends_->begin(), parent_ends_->end(), fileno(file)),
                          parent_ends_->end());
      std::fclose(file);
    }
    commands_ = replies_ = nullptr;
    int status = 0;
    pid_t pid = pid_;
    pid_ = 0;
    if (waitpid(pid, &status, 0) != pid) {
      std::perror("sql_bench: waitpid");
      return false;
    }
    const char* name = SqlEngineName(engine_);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    if (quiet) return false;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitVerificationFailed) {
      std::fprintf(stderr, "sql_bench: %s gave a wrong answer: run aborted\n", name);
    } else if (WIFEXITED(status)) {
      std::fprintf(stderr, "sql_bench: %s failed (exit code %d): run aborted\n", name,
                   WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      std::fprintf(stderr, "sql_bench: %s died of signal %d (%s): run aborted\n", name,
                   WTERMSIG(status), strsignal(WTERMSIG(status)));
    }
    return false;
  }

  const Flags& flags_;
  const SqlEngine engine_;
  std::vector<int>* const parent_ends_;
  EngineReport* const report_;
  std::vector<Measurement>* const results_;
  pid_t pid_ = 0;
  std::FILE* commands_ = nullptr;
  std::FILE* replies_ = nullptr;
};

// `engine`'s measurements of `phase`, one per round, in round order.
std::vector<const Measurement*> Rounds(const std::vector<Measurement>& results, SqlPhase phase,
                                       SqlEngine engine) {
  std::vector<const Measurement*> rounds;
  for (const Measurement& m : results) {
    if (m.phase == phase && m.engine == engine) rounds.push_back(&m);
  }
  std::sort(rounds.begin(), rounds.end(),
            [](const Measurement* a, const Measurement* b) { return a->round < b->round; });
  return rounds;
}

// The measurement that stands for `engine`'s `phase`: its only one, or for a read phase
// run in rounds the round of median rows/s (the lower middle one for an even count).
const Measurement* Find(const std::vector<Measurement>& results, SqlPhase phase, SqlEngine engine) {
  std::vector<const Measurement*> rounds = Rounds(results, phase, engine);
  if (rounds.empty()) return nullptr;
  std::sort(rounds.begin(), rounds.end(), [](const Measurement* a, const Measurement* b) {
    return a->rows_per_second() < b->rows_per_second();
  });
  return rounds[(rounds.size() - 1) / 2];
}

// The median of `values` (the mean of the middle two for an even count); -1 if empty.
double Median(std::vector<double> values) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// Nanoseconds of wall (or CPU) time per row; < 0 if unknown.
double NanosPerRow(const Measurement* m, bool cpu) {
  return m == nullptr || m->rows == 0 ? -1.0 : (cpu ? m->cpu_seconds : m->seconds) * 1e9 / m->rows;
}

// f(ns_a, ns_b) for each round that both `a` and `b` ran, measured next to each other in
// time, with each one's nanoseconds a row by wall (or CPU) time; rounds where either is
// unknown are left out.
template <typename Function>
std::vector<double> PerRound(const std::vector<Measurement>& results, SqlPhase phase, SqlEngine a,
                             SqlEngine b, bool cpu, Function f) {
  std::vector<double> values;
  std::vector<const Measurement*> rounds_b = Rounds(results, phase, b);
  for (const Measurement* ma : Rounds(results, phase, a)) {
    for (const Measurement* mb : rounds_b) {
      const double ns_a = NanosPerRow(ma, cpu), ns_b = NanosPerRow(mb, cpu);
      if (mb->round == ma->round && ns_a > 0 && ns_b > 0) values.push_back(f(ns_a, ns_b));
    }
  }
  return values;
}

// How many times faster strata was than the ordinary table in each round (ratio of
// rows/s, by wall or CPU time).
std::vector<double> SpeedupPerRound(const std::vector<Measurement>& results, SqlPhase phase,
                                    bool cpu) {
  return PerRound(results, phase, SqlEngine::kStrata, SqlEngine::kOrdinary, cpu,
                  [](double strata, double ordinary) { return ordinary / strata; });
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
      "read phases in %llu rounds (the engines taking turns; medians below), "
      "writes in transactions of %d rows, %s; %s, %ld cores; %s\n",
      static_cast<unsigned long long>(c.num), static_cast<unsigned long long>(c.reads),
      static_cast<unsigned long long>(std::max<uint64_t>(1, c.reads / 100)),
      static_cast<unsigned long long>(c.seed), static_cast<unsigned long long>(flags.read_rounds),
      kBatchSize,
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

// rows/s per phase and engine, strata against the ordinary table and above the floor,
// by wall time (the measure) and by CPU time (what a phase costs when the machine is
// shared: other processes inflate wall time, not CPU time; but CPU time misses waits
// for the device, and includes strata's background threads). A read phase's figures
// are medians over its rounds; its ratios and differences are the medians of each
// round's, taken between measurements made one right after the other.
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
    // Median over the rounds; -1 if unknown.
    auto median_ns = [&](SqlEngine engine) {
      std::vector<double> values;
      for (const Measurement* m : Rounds(results, phase, engine)) {
        if (NanosPerRow(m, false) > 0) values.push_back(NanosPerRow(m, false));
      }
      return Median(values);
    };
    auto rate = [&](SqlEngine engine) {
      double ns = median_ns(engine);
      return ns <= 0 ? std::string("-") : WithThousands(1e9 / ns);
    };
    auto ratio = [&](bool cpu) {
      std::vector<double> ratios = SpeedupPerRound(results, phase, cpu);
      return ratios.empty() ? std::string("-") : Format("%.2fx", Median(ratios));
    };
    auto number = [](double v) { return v < 0 ? std::string("-") : Format("%.0f", v); };
    auto above = [&](bool cpu) {
      std::vector<double> differences =
          PerRound(results, phase, SqlEngine::kStrata, SqlEngine::kFloor, cpu,
                   [](double strata, double floor) { return strata - floor; });
      return differences.empty() ? std::string("-") : Format("%.0f", Median(differences));
    };
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", SqlPhaseName(phase),
                WithThousands(static_cast<double>(any->rows)).c_str(),
                rate(SqlEngine::kStrata).c_str(), rate(SqlEngine::kOrdinary).c_str(),
                rate(SqlEngine::kFloor).c_str(), ratio(false).c_str(), ratio(true).c_str(),
                number(median_ns(SqlEngine::kStrata)).c_str(),
                number(median_ns(SqlEngine::kFloor)).c_str(), above(false).c_str(),
                above(true).c_str());
  }
}

// The read phases' strata / ordinary ratio in each round, so the spread shows.
void PrintRounds(const Flags& flags, const std::vector<Measurement>& results) {
  if (flags.read_rounds < 2) return;
  std::string header = "\n| strata / ordinary |", rule = "|---|";
  for (uint64_t round = 1; round <= flags.read_rounds; round++) {
    header += " round " + std::to_string(round) + " |";
    rule += "--:|";
  }
  bool printed_header = false;
  for (SqlPhase phase : AllSqlPhases()) {
    if (!IsSqlReadPhase(phase)) continue;
    std::vector<double> ratios = SpeedupPerRound(results, phase, /*cpu=*/false);
    if (ratios.empty()) continue;
    if (!printed_header) {
      std::printf("%s median |\n%s--:|\n", header.c_str(), rule.c_str());
      printed_header = true;
    }
    std::printf("| %s |", SqlPhaseName(phase));
    for (uint64_t round = 0; round < flags.read_rounds; round++) {
      std::printf(" %s |", round < ratios.size() ? Format("%.2fx", ratios[round]).c_str() : "-");
    }
    std::printf(" %.2fx |\n", Median(ratios));
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
      std::string notes = m->notes;
      std::vector<const Measurement*> rounds = Rounds(results, phase, engine);
      if (rounds.size() > 1) {
        // Appends, not " " + string: g++ 12 misreports that as -Wrestrict.
        notes += "; round ";
        notes += std::to_string(m->round + 1);
        notes += " of ";
        notes += std::to_string(rounds.size());
        notes += " (the median); rows/s by round:";
        for (const Measurement* round : rounds) {
          notes += ' ';
          notes += WithThousands(round->rows_per_second());
        }
      }
      std::printf("| %s | %s | %s | %.2f | %.2f | %.1f | %.0f | %.1f | %.1f | %.1f | %.1f | %s |\n",
                  SqlPhaseName(phase), SqlEngineName(engine),
                  WithThousands(m->rows_per_second()).c_str(), m->seconds, m->cpu_seconds,
                  m->write_bytes / kMiB, m->peak_rss_bytes / kMiB, m->disk.database_bytes / kMiB,
                  m->disk.wal_bytes / kMiB, m->disk.store_bytes / kMiB, m->disk.total() / kMiB,
                  notes.c_str());
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

// Runs every phase on every engine: one child per engine, started in turn to run the
// write phases (the children before it waiting, idle); then rounds of the read phases,
// each phase run by each engine one after the other, who goes first rotating with the
// round; then delete on each engine, and at rest. False (after saying why) if a child
// failed: the results hold what completed.
bool RunEngines(const Flags& flags, std::map<SqlEngine, EngineReport>* reports,
                std::vector<Measurement>* results) {
  std::vector<int> parent_ends;
  std::vector<std::unique_ptr<EngineChild>> children;
  for (SqlEngine engine : flags.engines) {
    children.push_back(std::make_unique<EngineChild>(flags, engine, &parent_ends,
                                                     &(*reports)[engine], results));
    EngineChild& child = *children.back();
    if (!child.Start()) return false;
    for (SqlPhase phase : AllSqlPhases()) {
      if (IsSqlReadPhase(phase) || phase == SqlPhase::kDelete) continue;
      if (!child.Run(phase, 0)) return false;
    }
  }
  for (uint64_t round = 0; round < flags.read_rounds; round++) {
    for (SqlPhase phase : AllSqlPhases()) {
      if (!IsSqlReadPhase(phase)) continue;
      for (size_t i = 0; i < children.size(); i++) {
        if (!children[(i + round) % children.size()]->Run(phase, round)) return false;
      }
    }
  }
  for (auto& child : children) {
    if (!child->Run(SqlPhase::kDelete, 0)) return false;
  }
  for (auto& child : children) {
    if (!child->Finish()) return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  // A child that died leaves a broken pipe: writing to it must fail, not end the run.
  std::signal(SIGPIPE, SIG_IGN);
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    Usage(stderr);
    return 1;
  }
  std::string load_before = LoadAverage();
  std::map<SqlEngine, EngineReport> reports;
  std::vector<Measurement> results;
  bool ok = RunEngines(flags, &reports, &results);
  PrintHeader(flags, reports, load_before, LoadAverage());
  PrintSummary(results);
  PrintRounds(flags, results);
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
