// The loadable extension's entry point and its SQL functions.
//
//   .load ./build/strata
//   SELECT strata_version();          -- 'strata 0.1.0'
//   SELECT strata_flush('users');     -- write the store's memtable to disk
//   SELECT strata_compact('users');   -- compact the table's key range to the last level
//   SELECT strata_wait('users');      -- wait until the store's flushes and compactions are done
#include <cstring>
#include <memory>
#include <string>

#include "extension/sqlite_bridge.h"
#include "extension/sqlite_connection.h"
#include "extension/sqlite_vtab.h"
#include "strata/db.h"

SQLITE_EXTENSION_INIT1

namespace strata::sql {
namespace {

constexpr const char* kVersion = "strata 0.1.0";

ConnectionState* StateOf(sqlite3_context* ctx) {
  return static_cast<std::shared_ptr<ConnectionState>*>(sqlite3_user_data(ctx))->get();
}

// The table named by the function's first argument, connecting it if this connection
// has not used it yet.
const ConnectionState::TableHandle* TableArgument(sqlite3_context* ctx, sqlite3_value* arg) {
  ConnectionState* state = StateOf(ctx);
  const char* name = reinterpret_cast<const char*>(sqlite3_value_text(arg));
  if (name == nullptr) {
    sqlite3_result_error(ctx, "strata: expected a table name", -1);
    return nullptr;
  }
  const ConnectionState::TableHandle* handle = state->FindTable(name);
  if (handle == nullptr) {
    // Preparing a statement over the table makes SQLite connect it.
    char* sql = sqlite3_mprintf("SELECT 1 FROM \"%w\" LIMIT 0", name);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(state->db(), sql, -1, &stmt, nullptr);
    sqlite3_finalize(stmt);
    sqlite3_free(sql);
    handle = state->FindTable(name);
  }
  if (handle == nullptr) {
    std::string message = std::string("strata: no strata table named '") + name + "'";
    sqlite3_result_error(ctx, message.c_str(), -1);
  }
  return handle;
}

void VersionFunction(sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_result_text(ctx, kVersion, -1, SQLITE_STATIC);
}

void ReportStatus(sqlite3_context* ctx, const Status& s, const char* what) {
  if (s.ok()) {
    sqlite3_result_int(ctx, 1);
    return;
  }
  std::string message = std::string("strata: ") + what + " failed: " + s.ToString();
  sqlite3_result_error(ctx, message.c_str(), -1);
  sqlite3_result_error_code(ctx, SqliteCode(s));
}

void FlushFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const ConnectionState::TableHandle* table = TableArgument(ctx, argv[0]);
  if (table == nullptr) return;
  ReportStatus(ctx, table->store->db()->Flush(), "flush");
}

void CompactFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const ConnectionState::TableHandle* table = TableArgument(ctx, argv[0]);
  if (table == nullptr) return;
  std::string_view begin(table->prefix), end(table->prefix_end);
  ReportStatus(ctx, table->store->db()->CompactRange(&begin, &end), "compact");
}

// Background compactions can run for a while after a bulk load, and a connection that
// closes stops them (the next open resumes them): this lets a loader, a benchmark or a
// test wait until the store has settled (e.g. before measuring its size or reads).
void WaitFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const ConnectionState::TableHandle* table = TableArgument(ctx, argv[0]);
  if (table == nullptr) return;
  ReportStatus(ctx, table->store->db()->WaitForBackgroundWork(), "wait");
}

int RegisterFunctions(sqlite3* db, const std::shared_ptr<ConnectionState>& state) {
  struct Function {
    const char* name;
    int args;
    void (*fn)(sqlite3_context*, int, sqlite3_value**);
  };
  const Function functions[] = {
      {"strata_version", 0, VersionFunction},
      {"strata_flush", 1, FlushFunction},
      {"strata_compact", 1, CompactFunction},
      {"strata_wait", 1, WaitFunction},
  };
  for (const Function& f : functions) {
    auto* data = new std::shared_ptr<ConnectionState>(state);
    int flags = SQLITE_UTF8 | (f.args == 0 ? SQLITE_DETERMINISTIC : 0);
    int rc = sqlite3_create_function_v2(db, f.name, f.args, flags, data, f.fn, nullptr, nullptr,
                                        [](void* p) {
                                          delete static_cast<std::shared_ptr<ConnectionState>*>(p);
                                        });
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

}  // namespace
}  // namespace strata::sql

namespace {
constexpr int kMinimumSqliteVersionNumber = 3038000;
}  // namespace

extern "C" __attribute__((visibility("default"))) int sqlite3_strata_init(
    sqlite3* db, char** error, const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  // The planner glue calls sqlite3_vtab_in / sqlite3_vtab_distinct (new in 3.38.0); in an
  // older SQLite their slots in the API table are missing, so refuse to load instead of
  // calling through them.
  if (sqlite3_libversion_number() < kMinimumSqliteVersionNumber) {
    *error = sqlite3_mprintf("strata: needs SQLite 3.38.0 or newer, this is SQLite %s",
                             sqlite3_libversion());
    return SQLITE_ERROR;
  }
  auto state = std::make_shared<strata::sql::ConnectionState>(db);
  int rc = strata::sql::RegisterStrataModule(db, state);
  if (rc == SQLITE_OK) rc = strata::sql::RegisterFunctions(db, state);
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("strata: cannot register: %s", sqlite3_errmsg(db));
    return rc;
  }
  // Stay loaded after this connection closes: stores, their background threads and
  // other connections may still use the code.
  return SQLITE_OK_LOAD_PERMANENTLY;
}
