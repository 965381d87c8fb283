// Query planning for strata virtual tables (xBestIndex and the xFilter side of it),
// written without SQLite: the glue (sqlite_vtab.cc) copies sqlite3_index_info into a
// PlanInput, copies the BestIndexPlan back, and in xFilter turns idxNum/idxStr into a
// DecodedPlan with DecodePlan(). docs/planning.md explains each rule and the cost model.
//
// The table of cases. "Pushable" means: usable, on a key column (or the hidden
// encoded-key column), and for comparisons in BINARY collation. The first row that
// matches wins; p is the number of leading key columns with a pushable EQ or IS.
//
//   constraints                               plan (idxStr)                   rows
//   IS NULL on a key column                   empty                           0
//   EQ/IS on the hidden key column            point(_key=?)                   1
//   EQ/IS on every key column (p = all)       point(a=?,b=?)                  1
//   IN on the hidden key column               in(_key)                        L
//   EQ on a prefix, IN on key column p        prefix(a=?) in(b)               L * R(p+1)
//   EQ on a prefix, bounds on key column p    prefix(a=?) range(b>=?,b<?)     R(p) / 4 a side
//   EQ on a prefix (p > 0), nothing more      prefix(a=?)                     R(p)
//   bounds on the hidden key column           range(_key>?)                   N / 4 a side
//   anything else                             scan                            N
//
// with N the table's estimated row count (1,000,000 if unknown), m key columns,
// R(j) = N^((m-j)/m) the rows sharing j leading key values, and L = 10 values assumed
// per IN list. Cost = seeks * (1 + log2 N) + rows. ORDER BY is consumed (with a
// reverse scan for DESC) when the rows come out in that order; LIMIT/OFFSET only if
// allowed (never with SQLite 3.40.1: SqlitePassesLimitOffsetSafely), every other
// constraint is consumed with omit and the order is final. Everything not consumed is
// left to SQLite (argvIndex 0, omit false).
//
// May include: the C++ standard library only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::sql {

// A constraint operator as the glue reports it (SQLITE_INDEX_CONSTRAINT_*).
enum class PlanOp : uint8_t {
  kEq,  // `col = x`, and `col IN (...)` when sqlite3_vtab_in(...,-1) says no
  kIn,  // `col IN (...)` that sqlite3_vtab_in(...,-1) says can be processed at once
  kIs,  // `col IS x`
  kGt,
  kGe,
  kLt,
  kLe,
  kIsNull,     // `col IS NULL`
  kIsNotNull,  // `col IS NOT NULL`
  kNe,         // `col != x`, `col IS NOT x`
  kOther,      // LIKE, GLOB, MATCH, REGEXP, functions: always left to SQLite
  kLimit,
  kOffset,
};

// One aConstraint[] entry.
struct PlanConstraint {
  int column = -1;  // aConstraint[].iColumn; ignored for kLimit and kOffset
  PlanOp op = PlanOp::kOther;
  bool usable = false;
  // sqlite3_vtab_collation() is "BINARY". Key order is BINARY order, so a comparison
  // in another collation (a LIKE turned into a NOCASE range, `x = ? COLLATE NOCASE`)
  // cannot use it.
  bool collation_is_binary = true;
  // sqlite3_vtab_rhs_value() found the right-hand value (a constant). Only used to
  // tell a real `col >= x` from the `col >= x` SQLite derives from a row-value
  // comparison `(a,b) > (x,y)`, which it re-checks whatever omit says (see
  // docs/planning.md, "LIMIT and OFFSET"); that RHS is never known.
  bool rhs_value_known = false;
  // The glue sets omit = 0 for this constraint whatever the plan says, so SQLite
  // re-checks every row the plan returns (a TEXT column: sqlite_vtab.cc,
  // RecheckedBySqlite). Rows SQLite rejects after us would make a consumed LIMIT short.
  bool sqlite_rechecks = false;
};

// One aOrderBy[] entry.
struct PlanOrderBy {
  int column = -1;
  bool desc = false;
};

// sqlite3_vtab_distinct(): how strictly the ORDER BY terms must be honoured.
enum class PlanDistinct : uint8_t {
  kOrdered = 0,          // rows in ORDER BY order
  kGrouped = 1,          // GROUP BY: rows equal in the ORDER BY columns adjacent
  kDistinct = 2,         // DISTINCT: as kGrouped
  kDistinctOrdered = 3,  // DISTINCT and ORDER BY: as kOrdered
};

struct PlanInput {
  // Names by column index (user columns 0..n-1, then the hidden key column), used in
  // idxStr. A missing name is shown as c<index>.
  std::vector<std::string> column_names;
  // The user's key columns (column indexes) in PRIMARY KEY order. Key columns are NOT
  // NULL, compared in BINARY collation, and their values are unique together.
  std::vector<int> key_columns;
  // Index of the hidden column holding the encoded key (memcmp order = key order),
  // or -1 if there is none.
  int hidden_key_column = -1;
  std::vector<PlanConstraint> constraints;  // in aConstraint[] order
  std::vector<PlanOrderBy> order_by;        // in aOrderBy[] order
  PlanDistinct distinct = PlanDistinct::kOrdered;
  // From the store's statistics; 0 means unknown.
  uint64_t estimated_table_rows = 0;
  // Whether LIMIT/OFFSET may be consumed at all: SqlitePassesLimitOffsetSafely() of the
  // running SQLite. SQLite 3.40.1 passes them even when a WHERE term it does not show
  // the table (`a = b`, `a > b`) filters afterwards, and passes a compound SELECT's
  // LIMIT and OFFSET to each member (docs/planning.md, "LIMIT and OFFSET").
  bool allow_limit_offset = false;
};

enum class PlanKind : uint8_t {
  kFullScan = 1,  // every row of the table
  kPoint = 2,     // one key: at most one row
  kRange = 3,     // one contiguous key range: an equality prefix and/or bounds
  kInList = 4,    // one point get (or prefix range) per IN value, in key order
  kEmpty = 5,     // no row can match
};

// A bound on the range column; the glue takes the tightest lower and upper bound.
struct PlanBound {
  PlanOp op = PlanOp::kGt;  // kGt, kGe, kLt or kLe
  int argv = 0;             // 1-based index into xFilter's argv
};

// What xFilter needs: the plan's shape and where each value is in argv (1-based
// indexes; 0 = absent). The argv layout is always, in this order:
//   eq_count equality values, for key columns 0..eq_count-1 (argv 1..eq_count);
//   the IN list (kInList), for key column eq_count: sqlite3_vtab_in_first/next;
//   the bounds on key column eq_count (kRange): all kGt, then kGe, kLt, kLe;
//   LIMIT, then OFFSET;
//   then any number of values xFilter ignores (IS NOT NULL on key columns).
// With encoded_key, the one equality value, IN list or the bounds are on the hidden
// encoded-key column (a BLOB compared bytewise) instead, and eq_count is 1 for
// kPoint, 0 otherwise.
struct DecodedPlan {
  static constexpr int kMaxEqColumns = 63;   // longer equality prefixes are cut here
  static constexpr int kMaxBoundsPerOp = 7;  // more bounds of one op are left to SQLite
  static constexpr int kMaxBounds = 4 * kMaxBoundsPerOp;

  PlanKind kind = PlanKind::kFullScan;
  bool descending = false;   // visit keys from the largest down
  bool encoded_key = false;  // the constraints are on the hidden key column
  int eq_count = 0;
  int in_argv = 0;
  int bound_count = 0;
  std::array<PlanBound, kMaxBounds> bound_storage{};
  // LIMIT: xFilter may stop after this many rows (negative = no limit); SQLite still
  // applies the LIMIT too. OFFSET: xFilter must skip this many rows first (negative =
  // 0), because SQLite then no longer does.
  int limit_argv = 0;
  int offset_argv = 0;
  int argv_count = 0;  // the argv entries above; xFilter's argc may be larger

  std::span<const PlanBound> bounds() const {
    return std::span<const PlanBound>(bound_storage.data(), bound_count);
  }
  int eq_argv(int key_position) const { return key_position + 1; }

  bool operator==(const DecodedPlan& other) const;
};

// What xBestIndex reports for one aConstraint[] entry.
struct PlanConstraintUsage {
  int argv_index = 0;  // 1-based; 0 = not passed to xFilter
  bool omit = false;   // SQLite need not re-check it (always with argv_index > 0)
  // For a kIn constraint used by the plan: the glue must call
  // sqlite3_vtab_in(info, i, 1) so that xFilter receives the whole list.
  bool in_all_at_once = false;
};

struct BestIndexPlan {
  DecodedPlan shape;
  std::vector<PlanConstraintUsage> constraint_usage;  // one per input constraint
  bool order_by_consumed = false;                     // orderByConsumed
  bool unique = false;                                // SQLITE_INDEX_SCAN_UNIQUE: at most one row
  double estimated_cost = 0;
  int64_t estimated_rows = 0;
  int idx_num = 0;      // shape, encoded
  std::string idx_str;  // shape, readable, for EXPLAIN QUERY PLAN; checked by DecodePlan
};

// The first SQLite release checked to pass LIMIT and OFFSET to xBestIndex only where
// every filter and the order are visible to the planner (no `a = b` term, no member of
// a compound with OFFSET, a retry without LIMIT when a constraint is left unused):
// 3.53.2, the one better-sqlite3 bundles (docs/planning.md, "LIMIT and OFFSET").
// Earlier releases may be safe too, but none was checked.
inline constexpr int kFirstSqliteWithSafeLimitOffset = 3053002;

// Whether PlanInput::allow_limit_offset may be set for the SQLite whose
// sqlite3_libversion_number() is `sqlite_version_number`.
constexpr bool SqlitePassesLimitOffsetSafely(int sqlite_version_number) {
  return sqlite_version_number >= kFirstSqliteWithSafeLimitOffset;
}

// The plan for one xBestIndex call. Never fails: a full scan is always possible.
BestIndexPlan PlanBestIndex(const PlanInput& input);

// Decodes xFilter's idxNum and idxStr (as PlanBestIndex made them) for a table with
// `key_column_count` key columns. Returns false, and leaves *plan unspecified, if they
// are not a consistent pair that fits the table (a bug or a foreign value); never reads
// outside idx_str and allocates nothing.
bool DecodePlan(int idx_num, std::string_view idx_str, size_t key_column_count, DecodedPlan* plan);

}  // namespace strata::sql
