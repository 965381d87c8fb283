// The floor of sql_bench: a trivial virtual table that keeps its rows in a std::map,
// so a workload run on it costs what SQLite's virtual-table interface itself costs
// (xBestIndex, xFilter, xNext, xColumn, xUpdate and the VDBE around them) and almost
// nothing else. strata's cost per row above this floor is what the extension and the
// engine add.
//
//   RegisterMemoryFloorModule(db);
//   CREATE VIRTUAL TABLE t USING memory_floor;       -- columns: k BLOB PRIMARY KEY, v BLOB
//   INSERT INTO t(k, v) VALUES (x'01', x'02');        -- conflict modes: ABORT or REPLACE
//   SELECT v FROM t WHERE k = ?;                      -- point: std::map::find
//   SELECT k, v FROM t WHERE k >= ? ORDER BY k;      -- range: lower_bound, ORDER BY consumed
//   SELECT k, v FROM t;                               -- full scan in key order
//   DELETE FROM t WHERE k = ?;
//
// The same xBestIndex shape as a strata table keyed on one BLOB column: equality on k
// is a unique point lookup, <, <=, >, >= on k bound a range, anything else scans, and
// ORDER BY k ASC is consumed. Keys and values must be BLOBs (the benchmark binds
// nothing else); other types are rejected on write, and constraint values of another
// type compare as SQLite compares them with a BLOB (NULL never matches, numbers and
// TEXT sort before every BLOB). Writes apply at once: there is no transaction or
// savepoint support (a ROLLBACK does not undo them). Rows live as long as the
// connection that created the table: another connection, or a later one, finds none,
// and its xConnect fails clearly instead of showing an empty table.
#pragma once

#include <sqlite3.h>

namespace strata::bench {

// Registers the module "memory_floor" on db; its tables' rows belong to this connection
// and are freed when it closes. Returns an SQLite result code.
int RegisterMemoryFloorModule(sqlite3* db);

}  // namespace strata::bench
