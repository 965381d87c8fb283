// The floor of sql_bench: a trivial virtual table that holds the benchmark's rows in
// plain arrays, so a workload run on it costs what SQLite's virtual-table interface
// itself costs (xBestIndex, xFilter, xNext, xColumn, xUpdate and the VDBE around them)
// and almost nothing else. strata's cost per row above this floor is what the
// extension and the engine add.
//
//   RegisterMemoryFloorModule(db);
//   CREATE VIRTUAL TABLE t USING memory_floor(capacity=1000000);  -- k BLOB PRIMARY KEY, v BLOB
//   INSERT INTO t(k, v) VALUES (?, ?);               -- conflict modes: ABORT or REPLACE
//   SELECT v FROM t WHERE k = ?;                     -- point: one array slot
//   SELECT k, v FROM t WHERE k >= ? ORDER BY k;     -- range, ORDER BY consumed
//   SELECT k, v FROM t;                              -- full scan in key order
//   DELETE FROM t WHERE k = ?;
//
// The same xBestIndex shape as a strata table keyed on one BLOB column: equality on k
// is a unique point lookup, <, <=, >, >= on k bound a range, anything else scans, and
// ORDER BY k ASC is consumed.
//
// Why arrays and not a std::map: at a million rows a std::map lookup costs several
// microseconds of cache misses on the benchmark machine and an in-order walk a few
// hundred nanoseconds per row, as much as the interface itself, which would hide
// part of strata's cost above the floor. So the table stores only what the benchmark
// writes: keys are the 16-digit numbers 2*i of bench/workload.h with i < capacity
// (the row's slot is i, so key order is slot order), values are BLOBs of at most
// kValueSize bytes. Writing another key or value is an error (SQLITE_MISMATCH);
// reading one simply finds nothing, and range bounds may be any value (they are
// compared as SQLite compares them with a BLOB: NULL matches nothing, numbers and
// TEXT sort before every BLOB).
//
// Writes apply at once: no transaction or savepoint support (a ROLLBACK does not undo
// them). Rows live as long as the connection that created the table: another
// connection, or a later one, finds none, and its xConnect fails clearly instead of
// showing an empty table. Memory: capacity * (kValueSize + 1) bytes.
#pragma once

#include <sqlite3.h>

namespace strata::bench {

// Registers the module "memory_floor" on db; its tables' rows belong to this connection
// and are freed when it closes. Returns an SQLite result code.
int RegisterMemoryFloorModule(sqlite3* db);

}  // namespace strata::bench
