#include "bench/memory_vtab.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/workload.h"

namespace strata::bench {
namespace {

static_assert(kValueSize < 255, "value lengths + 1 are stored in one byte");

// The rows of one table: slot i holds key 2*i.
struct Rows {
  explicit Rows(uint64_t capacity)
      : capacity(capacity),
        lengths(capacity, 0),
        // Not value-initialized: pages are touched only when a row is written.
        values(new char[capacity * kValueSize]) {}

  const uint64_t capacity;
  std::vector<uint8_t> lengths;    // 0 = absent, else the value's length + 1
  std::unique_ptr<char[]> values;  // kValueSize bytes per slot

  bool present(uint64_t slot) const { return lengths[slot] != 0; }
  std::string_view value(uint64_t slot) const {
    return std::string_view(values.get() + slot * kValueSize, lengths[slot] - 1u);
  }
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

struct FloorCursor {
  sqlite3_vtab_cursor base;  // must come first
  const Rows* rows = nullptr;
  uint64_t slot = 0;  // the current row
  uint64_t end = 0;   // first slot past the plan's range
  KeyBuffer key;
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
  if (size <= 0 || data == nullptr) return std::string_view();
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(size));
}

// The slot of `key` if this table can hold it: kKeySize digits spelling an even
// number 2*i with i < capacity.
bool SlotOf(std::string_view key, uint64_t capacity, uint64_t* slot) {
  if (key.size() != kKeySize) return false;
  uint64_t number = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  if (number % 2 != 0 || number / 2 >= capacity) return false;
  *slot = number / 2;
  return true;
}

// The first slot whose key is above `bound` (at or above it if or_equal), in memcmp
// order, which is slot order; capacity if none.
uint64_t FirstSlotAbove(std::string_view bound, bool or_equal, uint64_t capacity) {
  KeyBuffer key;
  uint64_t low = 0, high = capacity;
  while (low < high) {
    uint64_t mid = low + (high - low) / 2;
    int cmp = key.Set(StoredKeyNumber(mid)).compare(bound);
    if (cmp > 0 || (or_equal && cmp == 0)) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  return low;
}

// idxNum bits.
constexpr int kPoint = 1;
constexpr int kLower = 2;           // argv holds a lower bound
constexpr int kLowerExclusive = 4;  // ... which is k > ?, not k >= ?
constexpr int kUpper = 8;           // argv holds an upper bound (after the lower one)
constexpr int kUpperInclusive = 16;

// Reads "capacity=<rows>" (the only argument).
bool ParseCapacity(int argc, const char* const* argv, uint64_t* capacity) {
  if (argc != 4) return false;
  std::string_view arg = argv[3];
  constexpr std::string_view kName = "capacity=";
  if (arg.substr(0, kName.size()) != kName || arg.size() == kName.size()) return false;
  std::string digits(arg.substr(kName.size()));
  char* end = nullptr;
  *capacity = std::strtoull(digits.c_str(), &end, 10);
  // 16-digit keys hold 2*i < 10^16; the bound also keeps capacity * kValueSize in range.
  return *end == '\0' && digits[0] >= '0' && digits[0] <= '9' && *capacity > 0 &&
         *capacity <= 4'000'000'000'000'000ull;
}

int CreateOrConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
                    char** error, bool create) {
  auto* registry = static_cast<TableRegistry*>(aux);
  std::string key = RegistryKey(argv[1], argv[2]);
  std::shared_ptr<Rows> rows;
  if (create) {
    uint64_t capacity = 0;
    if (!ParseCapacity(argc, argv, &capacity)) {
      *error = sqlite3_mprintf(
          "memory_floor table %s takes one argument, capacity=<rows> (columns are k, v)", argv[2]);
      return SQLITE_ERROR;
    }
    rows = std::make_shared<Rows>(capacity);
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
  table->registry = registry;
  table->schema = argv[1];
  table->name = argv[2];
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
  double rows = static_cast<double>(AsTable(vtab)->rows->capacity);
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
      if (info->aConstraint[lower].op == SQLITE_INDEX_CONSTRAINT_GT) {
        info->idxNum |= kLowerExclusive;
      }
    }
    if (upper >= 0) {
      info->aConstraintUsage[upper].argvIndex = ++argv_index;
      info->aConstraintUsage[upper].omit = 1;
      info->idxNum |= kUpper;
      if (info->aConstraint[upper].op == SQLITE_INDEX_CONSTRAINT_LE) {
        info->idxNum |= kUpperInclusive;
      }
    }
    info->idxStr = const_cast<char*>("range");
    double fraction = argv_index == 2 ? 1.0 / 16 : 1.0 / 4;
    info->estimatedRows = static_cast<sqlite3_int64>(rows * fraction) + 1;
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
  *out = &cursor.release()->base;
  return SQLITE_OK;
}

int xClose(sqlite3_vtab_cursor* base) {
  delete AsCursor(base);
  return SQLITE_OK;
}

// Moves to the first present row at or after the cursor's slot (eof: slot == end).
void SkipAbsent(FloorCursor* cursor) {
  while (cursor->slot < cursor->end && !cursor->rows->present(cursor->slot)) cursor->slot++;
}

int xFilter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
  FloorCursor* cursor = AsCursor(base);
  const uint64_t capacity = cursor->rows->capacity;
  cursor->slot = cursor->end = 0;  // eof until a range is set
  int next_arg = 0;
  auto arg = [&]() { return next_arg < argc ? argv[next_arg++] : nullptr; };
  // Keys are BLOBs, which sort after every other type; NULL matches nothing.
  if (idx_num & kPoint) {
    sqlite3_value* v = arg();
    uint64_t slot;
    if (v != nullptr && sqlite3_value_type(v) == SQLITE_BLOB &&
        SlotOf(BlobOf(v), capacity, &slot)) {
      cursor->slot = slot;
      cursor->end = slot + 1;
      SkipAbsent(cursor);
    }
    return SQLITE_OK;
  }
  uint64_t begin = 0, end = capacity;
  if (idx_num & kLower) {
    sqlite3_value* v = arg();
    if (v == nullptr || sqlite3_value_type(v) == SQLITE_NULL) return SQLITE_OK;
    if (sqlite3_value_type(v) == SQLITE_BLOB) {
      begin = FirstSlotAbove(BlobOf(v), (idx_num & kLowerExclusive) == 0, capacity);
    }
  }
  if (idx_num & kUpper) {
    sqlite3_value* v = arg();
    if (v == nullptr || sqlite3_value_type(v) != SQLITE_BLOB) return SQLITE_OK;
    end = FirstSlotAbove(BlobOf(v), (idx_num & kUpperInclusive) == 0, capacity);
  }
  if (begin < end) {
    cursor->slot = begin;
    cursor->end = end;
    SkipAbsent(cursor);
  }
  return SQLITE_OK;
}

int xNext(sqlite3_vtab_cursor* base) {
  FloorCursor* cursor = AsCursor(base);
  cursor->slot++;
  SkipAbsent(cursor);
  return SQLITE_OK;
}

int xEof(sqlite3_vtab_cursor* base) {
  FloorCursor* cursor = AsCursor(base);
  return cursor->slot >= cursor->end ? 1 : 0;
}

int xColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  FloorCursor* cursor = AsCursor(base);
  if (!cursor->rows->present(cursor->slot)) {
    // The row was deleted under the cursor (e.g. by the statement scanning it).
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  std::string_view bytes = column == 0 ? cursor->key.Set(StoredKeyNumber(cursor->slot))
                                       : cursor->rows->value(cursor->slot);
  // Copied, as any table whose rows are not pinned in memory must.
  sqlite3_result_blob64(ctx, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return SQLITE_OK;
}

int xRowid(sqlite3_vtab_cursor* base, sqlite3_int64*) {
  SetError(AsCursor(base)->base.pVtab, "a memory_floor table has no rowid");
  return SQLITE_ERROR;
}

int xUpdate(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite3_int64*) {
  FloorTable* table = AsTable(vtab);
  Rows& rows = *table->rows;
  uint64_t old_slot = 0;
  bool has_old = sqlite3_value_type(argv[0]) == SQLITE_BLOB &&
                 SlotOf(BlobOf(argv[0]), rows.capacity, &old_slot);
  if (argc == 1) {  // DELETE: argv[0] is the primary key
    if (has_old) rows.lengths[old_slot] = 0;
    return SQLITE_OK;
  }
  // INSERT (argv[0] NULL) or UPDATE; argv[1] is the (absent) rowid, argv[2..3] = k, v.
  uint64_t slot = 0;
  if (sqlite3_value_type(argv[2]) != SQLITE_BLOB ||
      !SlotOf(BlobOf(argv[2]), rows.capacity, &slot) ||
      sqlite3_value_type(argv[3]) != SQLITE_BLOB || BlobOf(argv[3]).size() > kValueSize) {
    SetError(vtab, "memory_floor table " + table->name +
                       " holds only the benchmark's keys (16 digits, 2*i, i < capacity) and "
                       "BLOB values of at most " +
                       std::to_string(kValueSize) + " bytes");
    return SQLITE_MISMATCH;
  }
  bool is_update = sqlite3_value_type(argv[0]) != SQLITE_NULL;
  bool key_changes = !is_update || !has_old || old_slot != slot;
  if (key_changes && rows.present(slot) && sqlite3_vtab_on_conflict(table->db) != SQLITE_REPLACE) {
    SetError(vtab, "UNIQUE constraint failed: " + table->name + ".k");
    return SQLITE_CONSTRAINT_PRIMARYKEY;
  }
  if (is_update && key_changes && has_old) rows.lengths[old_slot] = 0;
  std::string_view value = BlobOf(argv[3]);
  std::memcpy(rows.values.get() + slot * kValueSize, value.data(), value.size());
  rows.lengths[slot] = static_cast<uint8_t>(value.size() + 1);
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
