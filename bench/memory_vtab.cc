#include "bench/memory_vtab.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::bench {
namespace {

struct FloorCursor;

// The rows of one table, shared by every connection of this process that opens it.
// Single-threaded use only (the benchmark drives one connection from one thread).
struct Rows {
  std::map<std::string, std::string, std::less<>> map;
  // Open cursors, so an erase can move a cursor off the entry it removes.
  std::vector<FloorCursor*> cursors;
};

// The tables of one connection by "<schema>/<lowercased name>": the module's client
// data, freed when the connection closes. Rows must outlive their sqlite3_vtab, which
// SQLite disconnects and reconnects at will (e.g. after any schema change).
using TableRegistry = std::map<std::string, std::shared_ptr<Rows>>;

std::string RegistryKey(const std::string& schema, std::string_view table) {
  std::string key = schema + "/";
  for (char c : table) key += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  return key;
}

struct FloorTable {
  sqlite3_vtab base;  // must come first
  sqlite3* db = nullptr;
  TableRegistry* registry = nullptr;
  std::string schema;
  std::string name;
  std::shared_ptr<Rows> rows;
};

using RowIterator = std::map<std::string, std::string, std::less<>>::iterator;

struct FloorCursor {
  sqlite3_vtab_cursor base;  // must come first
  Rows* rows = nullptr;
  RowIterator it;
  bool point = false;     // one row at most
  bool advanced = false;  // an erase already moved `it` to the next row
  bool has_upper = false;
  bool upper_inclusive = false;
  std::string upper;
  bool eof = true;
};

FloorTable* AsTable(sqlite3_vtab* vtab) { return reinterpret_cast<FloorTable*>(vtab); }
FloorCursor* AsCursor(sqlite3_vtab_cursor* cursor) {
  return reinterpret_cast<FloorCursor*>(cursor);
}

void SetError(sqlite3_vtab* vtab, const std::string& message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", message.c_str());
}

std::string_view BlobOf(sqlite3_value* v) {
  int size = sqlite3_value_bytes(v);
  const void* data = sqlite3_value_blob(v);
  if (size == 0 || data == nullptr) return std::string_view();
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(size));
}

// idxNum bits.
constexpr int kPoint = 1;
constexpr int kLower = 2;           // argv holds a lower bound
constexpr int kLowerExclusive = 4;  // ... which is k > ?, not k >= ?
constexpr int kUpper = 8;           // argv holds an upper bound (after the lower one)
constexpr int kUpperInclusive = 16;

int CreateOrConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
                    char** error, bool create) {
  auto* registry = static_cast<TableRegistry*>(aux);
  if (argc > 3) {
    *error =
        sqlite3_mprintf("memory_floor table %s takes no arguments (columns are k, v)", argv[2]);
    return SQLITE_ERROR;
  }
  std::string key = RegistryKey(argv[1], argv[2]);
  std::shared_ptr<Rows> rows;
  if (create) {
    rows = std::make_shared<Rows>();
  } else {
    auto found = registry->find(key);
    if (found == registry->end()) {
      *error = sqlite3_mprintf(
          "memory_floor table %s: its rows are gone (they live only as long as the "
          "connection that created the table)",
          argv[2]);
      return SQLITE_ERROR;
    }
    rows = found->second;
  }
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("memory_floor table %s: %s", argv[2], sqlite3_errmsg(db));
    return rc;
  }
  // OR REPLACE reaches xUpdate (sqlite3_vtab_on_conflict) instead of failing.
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  auto table = std::make_unique<FloorTable>();
  std::memset(&table->base, 0, sizeof(table->base));
  table->db = db;
  table->schema = argv[1];
  table->name = argv[2];
  table->registry = registry;
  table->rows = rows;
  if (create) (*registry)[key] = std::move(rows);
  *out = &table.release()->base;
  return SQLITE_OK;
}

int xCreate(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
            char** error) {
  return CreateOrConnect(db, aux, argc, argv, out, error, /*create=*/true);
}

int xConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
             char** error) {
  return CreateOrConnect(db, aux, argc, argv, out, error, /*create=*/false);
}

int xDisconnect(sqlite3_vtab* vtab) {
  delete AsTable(vtab);
  return SQLITE_OK;
}

int xDestroy(sqlite3_vtab* vtab) {
  FloorTable* table = AsTable(vtab);
  table->registry->erase(RegistryKey(table->schema, table->name));
  delete table;
  return SQLITE_OK;
}

int xRename(sqlite3_vtab* vtab, const char* new_name) {
  FloorTable* table = AsTable(vtab);
  table->registry->erase(RegistryKey(table->schema, table->name));
  table->name = new_name;
  (*table->registry)[RegistryKey(table->schema, table->name)] = table->rows;
  return SQLITE_OK;
}

// Plans, as a strata table keyed on one BLOB column plans them:
//   k = ?                  point  (unique, 1 row)
//   k >/>= ?, k </<= ?     range  (first usable lower and upper bound; others to SQLite)
//   anything else          scan
// ORDER BY k ASC is consumed by every plan (all visit keys in ascending order).
int xBestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  FloorTable* table = AsTable(vtab);
  double rows = static_cast<double>(std::max<size_t>(table->rows->map.size(), 1000));
  int eq = -1, lower = -1, upper = -1;
  for (int i = 0; i < info->nConstraint; i++) {
    const auto& c = info->aConstraint[i];
    if (!c.usable || c.iColumn != 0) continue;
    switch (c.op) {
      case SQLITE_INDEX_CONSTRAINT_EQ:
        if (eq < 0) eq = i;
        break;
      case SQLITE_INDEX_CONSTRAINT_GT:
      case SQLITE_INDEX_CONSTRAINT_GE:
        if (lower < 0) lower = i;
        break;
      case SQLITE_INDEX_CONSTRAINT_LT:
      case SQLITE_INDEX_CONSTRAINT_LE:
        if (upper < 0) upper = i;
        break;
      default:
        break;
    }
  }
  if (eq >= 0) {
    info->aConstraintUsage[eq].argvIndex = 1;
    info->aConstraintUsage[eq].omit = 1;
    info->idxNum = kPoint;
    info->idxStr = const_cast<char*>("point");
    info->estimatedCost = 1;
    info->estimatedRows = 1;
    info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  } else if (lower >= 0 || upper >= 0) {
    int argv_index = 0;
    info->idxNum = 0;
    if (lower >= 0) {
      info->aConstraintUsage[lower].argvIndex = ++argv_index;
      info->aConstraintUsage[lower].omit = 1;
      info->idxNum |= kLower;
      if (info->aConstraint[lower].op == SQLITE_INDEX_CONSTRAINT_GT)
        info->idxNum |= kLowerExclusive;
    }
    if (upper >= 0) {
      info->aConstraintUsage[upper].argvIndex = ++argv_index;
      info->aConstraintUsage[upper].omit = 1;
      info->idxNum |= kUpper;
      if (info->aConstraint[upper].op == SQLITE_INDEX_CONSTRAINT_LE)
        info->idxNum |= kUpperInclusive;
    }
    info->idxStr = const_cast<char*>("range");
    double fraction = argv_index == 2 ? 1.0 / 16 : 1.0 / 4;
    info->estimatedRows = static_cast<sqlite3_int64>(rows * fraction);
    info->estimatedCost = 10 + rows * fraction;
  } else {
    info->idxNum = 0;
    info->idxStr = const_cast<char*>("scan");
    info->estimatedRows = static_cast<sqlite3_int64>(rows);
    info->estimatedCost = 10 + rows;
  }
  info->needToFreeIdxStr = 0;
  if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == 0 && !info->aOrderBy[0].desc) {
    info->orderByConsumed = 1;
  }
  return SQLITE_OK;
}

int xOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  auto cursor = std::make_unique<FloorCursor>();
  std::memset(&cursor->base, 0, sizeof(cursor->base));
  cursor->rows = AsTable(vtab)->rows.get();
  cursor->it = cursor->rows->map.end();
  cursor->rows->cursors.push_back(cursor.get());
  *out = &cursor.release()->base;
  return SQLITE_OK;
}

int xClose(sqlite3_vtab_cursor* base) {
  FloorCursor* cursor = AsCursor(base);
  auto& cursors = cursor->rows->cursors;
  cursors.erase(std::find(cursors.begin(), cursors.end(), cursor));
  delete cursor;
  return SQLITE_OK;
}

// Sets eof if the cursor left the map or passed the upper bound.
void CheckEnd(FloorCursor* cursor) {
  if (cursor->it == cursor->rows->map.end()) {
    cursor->eof = true;
  } else if (cursor->has_upper) {
    int cmp = cursor->it->first.compare(cursor->upper);
    cursor->eof = cursor->upper_inclusive ? cmp > 0 : cmp >= 0;
  } else {
    cursor->eof = false;
  }
}

int xFilter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
  FloorCursor* cursor = AsCursor(base);
  auto& map = cursor->rows->map;
  cursor->point = (idx_num & kPoint) != 0;
  cursor->advanced = false;
  cursor->has_upper = false;
  cursor->eof = true;
  cursor->it = map.end();
  int next_arg = 0;
  auto arg = [&]() { return next_arg < argc ? argv[next_arg++] : nullptr; };
  // Keys are BLOBs, which sort after every other type; NULL matches nothing.
  if (cursor->point) {
    sqlite3_value* v = arg();
    if (v == nullptr || sqlite3_value_type(v) != SQLITE_BLOB) return SQLITE_OK;
    cursor->it = map.find(BlobOf(v));
    CheckEnd(cursor);
    return SQLITE_OK;
  }
  cursor->it = map.begin();
  if (idx_num & kLower) {
    sqlite3_value* v = arg();
    if (v == nullptr || sqlite3_value_type(v) == SQLITE_NULL) return SQLITE_OK;
    if (sqlite3_value_type(v) == SQLITE_BLOB) {
      cursor->it =
          (idx_num & kLowerExclusive) ? map.upper_bound(BlobOf(v)) : map.lower_bound(BlobOf(v));
    }
  }
  if (idx_num & kUpper) {
    sqlite3_value* v = arg();
    if (v == nullptr || sqlite3_value_type(v) != SQLITE_BLOB) return SQLITE_OK;
    cursor->has_upper = true;
    cursor->upper_inclusive = (idx_num & kUpperInclusive) != 0;
    cursor->upper.assign(BlobOf(v));
  }
  CheckEnd(cursor);
  return SQLITE_OK;
}

int xNext(sqlite3_vtab_cursor* base) {
  FloorCursor* cursor = AsCursor(base);
  if (cursor->point) {
    cursor->eof = true;
    return SQLITE_OK;
  }
  if (!cursor->advanced) ++cursor->it;
  cursor->advanced = false;
  CheckEnd(cursor);
  return SQLITE_OK;
}

int xEof(sqlite3_vtab_cursor* base) { return AsCursor(base)->eof ? 1 : 0; }

int xColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  FloorCursor* cursor = AsCursor(base);
  if (cursor->advanced || cursor->eof) {
    // The row was deleted under the cursor (e.g. by the statement scanning it).
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  const std::string& bytes = column == 0 ? cursor->it->first : cursor->it->second;
  // Copied, as any table whose rows are not pinned in memory must.
  sqlite3_result_blob64(ctx, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return SQLITE_OK;
}

int xRowid(sqlite3_vtab_cursor* base, sqlite3_int64*) {
  SetError(AsCursor(base)->base.pVtab, "a memory_floor table has no rowid");
  return SQLITE_ERROR;
}

// Removes `victim`, first moving every cursor on it to the next row.
void Erase(Rows* rows, RowIterator victim) {
  for (FloorCursor* cursor : rows->cursors) {
    if (!cursor->eof && !cursor->advanced && cursor->it == victim) {
      ++cursor->it;
      cursor->advanced = true;
    }
  }
  rows->map.erase(victim);
}

int xUpdate(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64*) {
  FloorTable* table = AsTable(vtab);
  auto& map = table->rows->map;
  if (argc == 1) {  // DELETE: argv[0] is the primary key
    auto found = map.find(BlobOf(argv[0]));
    if (found != map.end()) Erase(table->rows.get(), found);
    return SQLITE_OK;
  }
  // INSERT (argv[0] NULL) or UPDATE; argv[1] is the (absent) rowid, argv[2..3] = k, v.
  if (sqlite3_value_type(argv[2]) != SQLITE_BLOB || sqlite3_value_type(argv[3]) != SQLITE_BLOB) {
    SetError(vtab, "memory_floor table " + table->name + " holds BLOB keys and values only");
    return SQLITE_MISMATCH;
  }
  std::string_view key = BlobOf(argv[2]);
  bool is_update = sqlite3_value_type(argv[0]) != SQLITE_NULL;
  bool key_changes = !is_update || BlobOf(argv[0]) != key;
  auto existing = map.find(key);
  if (key_changes && existing != map.end() &&
      sqlite3_vtab_on_conflict(table->db) != SQLITE_REPLACE) {
    SetError(vtab, "UNIQUE constraint failed: " + table->name + ".k");
    return SQLITE_CONSTRAINT_PRIMARYKEY;
  }
  if (is_update && key_changes) {
    auto old = map.find(BlobOf(argv[0]));
    if (old != map.end()) Erase(table->rows.get(), old);
    existing = map.find(key);
  }
  std::string_view value = BlobOf(argv[3]);
  if (existing != map.end()) {
    existing->second.assign(value);
  } else {
    map.emplace(std::string(key), std::string(value));
  }
  return SQLITE_OK;
}

sqlite3_module MakeModule() {
  sqlite3_module m;
  std::memset(&m, 0, sizeof(m));
  m.iVersion = 1;
  m.xCreate = xCreate;
  m.xConnect = xConnect;
  m.xBestIndex = xBestIndex;
  m.xDisconnect = xDisconnect;
  m.xDestroy = xDestroy;
  m.xOpen = xOpen;
  m.xClose = xClose;
  m.xFilter = xFilter;
  m.xNext = xNext;
  m.xEof = xEof;
  m.xColumn = xColumn;
  m.xRowid = xRowid;
  m.xUpdate = xUpdate;
  m.xRename = xRename;
  return m;
}

const sqlite3_module kModule = MakeModule();

}  // namespace

int RegisterMemoryFloorModule(sqlite3* db) {
  return sqlite3_create_module_v2(
      db, "memory_floor", &kModule, new TableRegistry(),
      [](void* registry) { delete static_cast<TableRegistry*>(registry); });
}

}  // namespace strata::bench
