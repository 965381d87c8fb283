// sql_probe: times sql_bench's read statements (point SELECT, 100-row range, full scan)
// on a database sql_bench kept (--keep_db), with the extension named on the command
// line. Several passes per process, no writes: for comparing two builds of the read
// path on one store, or strata's table against the ordinary one, alternating the runs
// (bench/README.md#sql_probe).
//
//   build/bench/sql_probe --db=/tmp/strata-sql-bench/strata/insert.db
//       [--extension=build/strata.so] [--gets=200000] [--ranges=20000] [--passes=3]
//       [--seed=7] [--scans=1] [--keys_file=PATH]
//
// The keys are a sample of the table's own (every 14th row of a full scan, shuffled),
// so the gets find their rows and the ranges start at stored keys, as sql_bench's do.
// --keys_file keeps that sample between runs (written by the first, read by the next),
// and --scans=0 leaves out each pass's full scan: with both, a run under callgrind
// spends its time in the gets and ranges, not in scanning millions of rows.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_common.h"

namespace strata::bench {
namespace {

struct Flags {
  std::string db;
  std::string extension;
  uint64_t gets = 200000;
  uint64_t ranges = 20000;
  uint64_t passes = 3;
  uint64_t seed = 7;
  bool scans = true;
  std::string keys_file;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
#ifdef STRATA_SQL_BENCH_EXTENSION
  flags->extension = STRATA_SQL_BENCH_EXTENSION;
#endif
  for (int i = 1; i < argc; i++) {
    const std::string_view arg = argv[i];
    auto value_of = [&](std::string_view name, std::string_view* value) {
      if (!arg.starts_with(name)) return false;
      *value = arg.substr(name.size());
      return true;
    };
    std::string_view v;
    bool ok = true;
    if (value_of("--db=", &v)) {
      flags->db = v;
    } else if (value_of("--extension=", &v)) {
      flags->extension = v;
    } else if (value_of("--gets=", &v)) {
      ok = ParseCount(v, &flags->gets);
    } else if (value_of("--ranges=", &v)) {
      ok = ParseCount(v, &flags->ranges);
    } else if (value_of("--passes=", &v)) {
      ok = ParseCount(v, &flags->passes);
    } else if (value_of("--seed=", &v)) {
      ok = ParseCount(v, &flags->seed);
    } else if (value_of("--scans=", &v)) {
      ok = v == "0" || v == "1";
      flags->scans = v == "1";
    } else if (value_of("--keys_file=", &v)) {
      flags->keys_file = v;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "sql_probe: bad argument %s\n", argv[i]);
      return false;
    }
  }
  if (flags->db.empty()) {
    std::fprintf(stderr, "sql_probe: --db=PATH (a database kept by sql_bench --keep_db)\n");
    return false;
  }
  return true;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return true;
  std::fprintf(stderr, "sql_probe: %s: %s\n", what, sqlite3_errmsg(db));
  return false;
}

// Runs `sql` (one ?1 parameter) for each key, in transactions of 1000 statements as
// sql_bench's reads do; returns the rows and adds the seconds to *seconds.
bool RunKeyed(sqlite3* db, const char* sql, const std::vector<std::string>& keys,
              uint64_t* rows, double* seconds) {
  sqlite3_stmt* stmt = nullptr;
  if (!Check(db, sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), sql)) return false;
  bool ok = Check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "BEGIN");
  const double start = Now();
  for (size_t i = 0; ok && i < keys.size(); i++) {
    sqlite3_bind_blob(stmt, 1, keys[i].data(), static_cast<int>(keys[i].size()), SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(stmt); c++) {
        sqlite3_column_blob(stmt, c);
        sqlite3_column_bytes(stmt, c);
      }
      (*rows)++;
    }
    ok = Check(db, rc, sql);
    sqlite3_reset(stmt);
    if (ok && i % 1000 == 999) {
      ok = Check(db, sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr), "COMMIT");
    }
  }
  if (ok) ok = Check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "COMMIT");
  *seconds += Now() - start;
  sqlite3_finalize(stmt);
  return ok;
}

// A full scan in key order; every 14th key goes to *sample if it is not null.
bool Scan(sqlite3* db, std::vector<std::string>* sample, uint64_t* rows, double* seconds) {
  sqlite3_stmt* stmt = nullptr;
  const char* sql = "SELECT k, v FROM t ORDER BY k";
  if (!Check(db, sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), sql)) return false;
  const double start = Now();
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const void* key = sqlite3_column_blob(stmt, 0);
    const int key_size = sqlite3_column_bytes(stmt, 0);
    sqlite3_column_blob(stmt, 1);
    sqlite3_column_bytes(stmt, 1);
    if (sample != nullptr && *rows % 14 == 0) {
      sample->emplace_back(static_cast<const char*>(key), static_cast<size_t>(key_size));
    }
    (*rows)++;
  }
  *seconds += Now() - start;
  sqlite3_finalize(stmt);
  return Check(db, rc, sql);
}

// --keys_file: each key as a 4-byte little-endian length, then its bytes.
bool ReadKeys(const std::string& path, std::vector<std::string>* keys) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  keys->clear();
  uint32_t size;
  while (in.read(reinterpret_cast<char*>(&size), sizeof(size))) {
    std::string key(size, '\0');
    if (!in.read(key.data(), size)) return false;
    keys->push_back(std::move(key));
  }
  return in.eof() && !keys->empty();
}

bool WriteKeys(const std::string& path, const std::vector<std::string>& keys) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const std::string& key : keys) {
    const uint32_t size = static_cast<uint32_t>(key.size());
    out.write(reinterpret_cast<const char*>(&size), sizeof(size));
    out.write(key.data(), static_cast<std::streamsize>(key.size()));
  }
  return static_cast<bool>(out.flush());
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  sqlite3* db = nullptr;
  if (sqlite3_open(flags.db.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "sql_probe: cannot open %s\n", flags.db.c_str());
    return 1;
  }
  sqlite3_enable_load_extension(db, 1);
  char* error = nullptr;
  if (sqlite3_load_extension(db, flags.extension.c_str(), nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "sql_probe: loading %s: %s\n", flags.extension.c_str(),
                 error != nullptr ? error : "?");
    return 1;
  }
  // As sql_bench sets up the ordinary table (it does not affect strata's reads).
  sqlite3_exec(db, "PRAGMA cache_size=-65536", nullptr, nullptr, nullptr);

  std::vector<std::string> keys;
  uint64_t sampled_rows = 0;
  double sample_seconds = 0;
  const bool keys_read = !flags.keys_file.empty() && ReadKeys(flags.keys_file, &keys);
  if (!keys_read) {
    if (!Scan(db, &keys, &sampled_rows, &sample_seconds)) return 1;
    if (keys.empty()) {
      std::fprintf(stderr, "sql_probe: table t is empty\n");
      return 1;
    }
    if (!flags.keys_file.empty() && !WriteKeys(flags.keys_file, keys)) {
      std::fprintf(stderr, "sql_probe: cannot write %s\n", flags.keys_file.c_str());
      return 1;
    }
  }
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(flags.seed));
  auto first = [&](uint64_t n) {
    return std::vector<std::string>(keys.begin(), keys.begin() + std::min<size_t>(n, keys.size()));
  };
  const std::vector<std::string> get_keys = first(flags.gets);
  const std::vector<std::string> range_keys = first(flags.ranges);
  if (keys_read) {
    std::printf("sql_probe %s (%s), %zu sampled keys read from %s\n", flags.db.c_str(),
                flags.extension.c_str(), keys.size(), flags.keys_file.c_str());
  } else {
    std::printf("sql_probe %s (%s), %llu rows (first scan %.1f ns/row)\n", flags.db.c_str(),
                flags.extension.c_str(), static_cast<unsigned long long>(sampled_rows),
                sample_seconds * 1e9 / static_cast<double>(sampled_rows));
  }
  std::printf("| pass | get us/stmt | range 100 us/stmt | range ns/row | scan ns/row |\n");
  std::printf("|--:|--:|--:|--:|--:|\n");
  for (uint64_t pass = 1; pass <= flags.passes; pass++) {
    uint64_t get_rows = 0, range_rows = 0, scan_rows = 0;
    double get_seconds = 0, range_seconds = 0, scan_seconds = 0;
    if (!RunKeyed(db, "SELECT v FROM t WHERE k = ?1", get_keys, &get_rows, &get_seconds) ||
        !RunKeyed(db, "SELECT k, v FROM t WHERE k >= ?1 ORDER BY k LIMIT 100", range_keys,
                  &range_rows, &range_seconds) ||
        (flags.scans && !Scan(db, nullptr, &scan_rows, &scan_seconds))) {
      return 1;
    }
    if (get_rows != get_keys.size()) {
      std::fprintf(stderr, "sql_probe: %llu of %zu gets found their row\n",
                   static_cast<unsigned long long>(get_rows), get_keys.size());
      return 1;
    }
    // "-" for a statement kind the pass did not run.
    auto per = [](double seconds, double scale, uint64_t count) {
      char text[32] = "-";
      if (count > 0) std::snprintf(text, sizeof(text), "%.2f", seconds * scale / static_cast<double>(count));
      return std::string(text);
    };
    std::printf("| %llu | %s | %s | %s | %s |\n", static_cast<unsigned long long>(pass),
                per(get_seconds, 1e6, get_keys.size()).c_str(),
                per(range_seconds, 1e6, range_keys.size()).c_str(),
                per(range_seconds, 1e9, range_rows).c_str(),
                per(scan_seconds, 1e9, scan_rows).c_str());
  }
  sqlite3_close(db);
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
