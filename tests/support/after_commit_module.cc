#include "tests/support/after_commit_module.h"

#include <cstring>

namespace strata::test {
namespace {

struct HookTable {
  sqlite3_vtab base;  // must come first: SQLite sees a sqlite3_vtab*
  AfterCommitHook* hook;
};

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(a)");
  if (rc != SQLITE_OK) return rc;
  auto* table = new HookTable;
  std::memset(&table->base, 0, sizeof(table->base));
  table->hook = static_cast<AfterCommitHook*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<HookTable*>(vtab);
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1;
  return SQLITE_OK;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = new sqlite3_vtab_cursor{};
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* cursor) {
  delete cursor;
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**) { return SQLITE_OK; }
int Next(sqlite3_vtab_cursor*) { return SQLITE_OK; }
int Eof(sqlite3_vtab_cursor*) { return 1; }  // no rows

int Column(sqlite3_vtab_cursor*, sqlite3_context* ctx, int) {
  sqlite3_result_null(ctx);
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor*, sqlite3_int64* rowid) {
  *rowid = 0;
  return SQLITE_OK;
}

int Update(sqlite3_vtab*, int, sqlite3_value**, sqlite3_int64* rowid) {
  *rowid = 1;
  return SQLITE_OK;
}

int Ok(sqlite3_vtab*) { return SQLITE_OK; }

int Commit(sqlite3_vtab* vtab) {
  AfterCommitHook* hook = reinterpret_cast<HookTable*>(vtab)->hook;
  if (hook->action) {
    hook->commits++;
    hook->action();
  }
  return SQLITE_OK;
}

sqlite3_module MakeModule() {
  sqlite3_module m;
  std::memset(&m, 0, sizeof(m));
  m.iVersion = 1;
  m.xCreate = Connect;
  m.xConnect = Connect;
  m.xBestIndex = BestIndex;
  m.xDisconnect = Disconnect;
  m.xDestroy = Disconnect;
  m.xOpen = Open;
  m.xClose = Close;
  m.xFilter = Filter;
  m.xNext = Next;
  m.xEof = Eof;
  m.xColumn = Column;
  m.xRowid = Rowid;
  m.xUpdate = Update;
  m.xBegin = Ok;
  m.xSync = Ok;
  m.xCommit = Commit;
  m.xRollback = Ok;
  return m;
}

const sqlite3_module kModule = MakeModule();

}  // namespace

int RegisterAfterCommitModule(sqlite3* db, AfterCommitHook* hook) {
  return sqlite3_create_module_v2(db, "after_commit", &kModule, hook, nullptr);
}

}  // namespace strata::test
