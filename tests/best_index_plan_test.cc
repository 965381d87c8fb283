// Tests of extension/best_index_plan.h: the table of planning cases (each input ->
// plan kind, argv/omit per constraint, ORDER BY and LIMIT decisions, idxStr), the
// argv layout and idxNum/idxStr round trip for every case, costs and row estimates,
// and DecodePlan on damaged or foreign input.
#include "extension/best_index_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace strata::sql {
namespace {

// ---------------------------------------------------------------------------------
// Tables, as the glue describes them.

// users(id INTEGER PRIMARY KEY, name TEXT, email TEXT)
constexpr int kId = 0, kName = 1, kEmail = 2, kUsersKey = 3;
PlanInput Users() {
  PlanInput t;
  t.column_names = {"id", "name", "email", "_strata_key"};
  t.key_columns = {kId};
  t.hidden_key_column = kUsersKey;
  return t;
}

// events(user_id INTEGER, ts INTEGER, kind TEXT, body BLOB, PRIMARY KEY (user_id, ts))
constexpr int kUserId = 0, kTs = 1, kKind = 2, kEventsKey = 4;
PlanInput Events() {
  PlanInput t;
  t.column_names = {"user_id", "ts", "kind", "body", "_strata_key"};
  t.key_columns = {kUserId, kTs};
  t.hidden_key_column = kEventsKey;
  return t;
}

// words(word TEXT PRIMARY KEY)
constexpr int kWord = 0, kWordsKey = 1;
PlanInput Words() {
  PlanInput t;
  t.column_names = {"word", "_strata_key"};
  t.key_columns = {kWord};
  t.hidden_key_column = kWordsKey;
  return t;
}

// reordered(x, y, z, PRIMARY KEY (z, x)): key order is not column order.
constexpr int kX = 0, kZ = 2;
PlanInput Reordered() {
  PlanInput t;
  t.column_names = {"x", "y", "z", "_strata_key"};
  t.key_columns = {kZ, kX};
  t.hidden_key_column = 3;
  return t;
}

// Builds the constraints and ORDER BY of one xBestIndex call.
class Query {
 public:
  explicit Query(PlanInput table) : input_(std::move(table)) {}

  // A usable comparison whose right-hand value is not known at planning time (a
  // parameter or a column of another table): the common case.
  Query& Where(int column, PlanOp op) { return Add({column, op, true, true, false}); }
  // The right-hand side is a constant (sqlite3_vtab_rhs_value succeeds).
  Query& WhereConstant(int column, PlanOp op) { return Add({column, op, true, true, true}); }
  Query& WhereUnusable(int column, PlanOp op) { return Add({column, op, false, true, false}); }
  Query& WhereNocase(int column, PlanOp op) { return Add({column, op, true, false, false}); }
  // A constant the glue still lets SQLite re-check (omit forced to 0: a TEXT key).
  Query& WhereRechecked(int column, PlanOp op) { return Add({column, op, true, true, true, true}); }
  Query& Limit(bool usable = true) { return Add({0, PlanOp::kLimit, usable, true, true}); }
  Query& Offset(bool usable = true) { return Add({0, PlanOp::kOffset, usable, true, true}); }
  Query& OrderBy(int column, bool desc = false) {
    input_.order_by.push_back({column, desc});
    return *this;
  }
  Query& Distinct(PlanDistinct distinct) {
    input_.distinct = distinct;
    return *this;
  }
  // As for an SQLite that passes LIMIT/OFFSET only when nothing else filters.
  Query& AllowLimitOffset() {
    input_.allow_limit_offset = true;
    return *this;
  }
  Query& Rows(uint64_t rows) {
    input_.estimated_table_rows = rows;
    return *this;
  }
  const PlanInput& input() const { return input_; }

 private:
  Query& Add(PlanConstraint c) {
    input_.constraints.push_back(c);
    return *this;
  }
  PlanInput input_;
};

constexpr bool kDesc = true;
constexpr bool T = true, F = false;

// ---------------------------------------------------------------------------------
// The table of cases.

struct Usage {
  int argv;
  bool omit;
};

struct PlanCase {
  const char* name;
  Query query;
  PlanKind kind;
  std::vector<Usage> usage;  // per constraint
  bool order_by_consumed;
  std::string idx_str;
};

// Test listings and failures name the case instead of dumping its bytes.
void PrintTo(const PlanCase& c, std::ostream* os) { *os << c.name; }

PlanCase Case(const char* name, const Query& query, PlanKind kind, std::vector<Usage> usage,
              bool order_by_consumed, std::string idx_str) {
  return {name, query, kind, std::move(usage), order_by_consumed, std::move(idx_str)};
}

using K = PlanKind;
using O = PlanOp;

std::vector<PlanCase> AllCases() {
  return {
      // Point gets.
      Case("FullKeyEqualityIsPointGet", Query(Users()).Where(kId, O::kEq), K::kPoint, {{1, T}}, F,
           "point(id=?)"),
      Case("IsOnFullKeyIsPointGet", Query(Users()).Where(kId, O::kIs), K::kPoint, {{1, T}}, F,
           "point(id=?)"),
      Case("CompositeKeyEqualityInAnyConstraintOrder",
           Query(Events()).Where(kTs, O::kEq).Where(kUserId, O::kEq), K::kPoint, {{2, T}, {1, T}},
           F, "point(user_id=?,ts=?)"),
      Case("EqualityBeatsRangeOnTheSameColumn",
           Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kGt).Where(kTs, O::kEq), K::kPoint,
           {{1, T}, {0, F}, {2, T}}, F, "point(user_id=?,ts=?)"),
      Case("EqualityBeatsInOnTheSameColumn", Query(Users()).Where(kId, O::kIn).Where(kId, O::kEq),
           K::kPoint, {{0, F}, {1, T}}, F, "point(id=?)"),
      Case("DuplicateEqualityLeftToSqlite", Query(Users()).Where(kId, O::kEq).Where(kId, O::kEq),
           K::kPoint, {{1, T}, {0, F}}, F, "point(id=?)"),
      Case("PointGetConsumesAnyOrderBy",
           Query(Users()).Where(kId, O::kEq).OrderBy(kName, kDesc).OrderBy(kEmail), K::kPoint,
           {{1, T}}, T, "point(id=?)"),
      Case("HiddenKeyEqualityIsPointGet",
           Query(Users()).Where(kUsersKey, O::kEq).Where(kId, O::kEq), K::kPoint, {{1, T}, {0, F}},
           F, "point(_strata_key=?)"),

      // Nothing can match.
      Case("IsNullOnKeyColumnIsEmpty",
           Query(Users())
               .Where(kName, O::kEq)
               .Where(kId, O::kIsNull)
               .OrderBy(kName)
               .AllowLimitOffset()
               .Limit(),
           K::kEmpty, {{0, F}, {0, F}, {0, F}}, T, "empty"),
      Case("IsNullOnHiddenKeyIsEmpty", Query(Events()).Where(kEventsKey, O::kIsNull), K::kEmpty,
           {{0, F}}, F, "empty"),
      Case("IsNullOnNonKeyColumnLeftToSqlite", Query(Users()).Where(kName, O::kIsNull),
           K::kFullScan, {{0, F}}, F, "scan"),
      Case("IsNotNullOnKeyColumnConsumedAsAlwaysTrue",
           Query(Users()).Where(kId, O::kIsNotNull).AllowLimitOffset().Limit(), K::kFullScan,
           {{2, T}, {1, T}}, F, "scan limit"),

      // What stays with SQLite.
      Case("NotEqualAndLikeLeftToSqlite",
           Query(Users()).Where(kId, O::kNe).Where(kId, O::kOther).Where(kName, O::kEq),
           K::kFullScan, {{0, F}, {0, F}, {0, F}}, F, "scan"),
      Case("NonBinaryCollationEqualityNotPushed", Query(Users()).WhereNocase(kId, O::kEq),
           K::kFullScan, {{0, F}}, F, "scan"),
      Case("LikeAsNocaseRangeNotPushed",
           Query(Words())
               .WhereNocase(kWord, O::kGe)
               .WhereNocase(kWord, O::kLt)
               .Where(kWord, O::kOther),
           K::kFullScan, {{0, F}, {0, F}, {0, F}}, F, "scan"),
      Case("GlobAsBinaryRangePushedGlobItselfLeft",
           Query(Words()).Where(kWord, O::kGe).Where(kWord, O::kLt).Where(kWord, O::kOther),
           K::kRange, {{1, T}, {2, T}, {0, F}}, F, "range(word>=?,word<?)"),
      Case("UnusableKeyEqualityIgnored", Query(Users()).WhereUnusable(kId, O::kEq), K::kFullScan,
           {{0, F}}, F, "scan"),
      Case("UnusablePrefixMakesLaterColumnUseless",
           Query(Events()).WhereUnusable(kUserId, O::kEq).Where(kTs, O::kEq), K::kFullScan,
           {{0, F}, {0, F}}, F, "scan"),
      Case("ConstraintOnUnknownColumnLeftToSqlite",
           Query(Users()).Where(99, O::kEq).Where(-1, O::kEq), K::kFullScan, {{0, F}, {0, F}}, F,
           "scan"),

      // Ranges.
      Case("PrefixEqualityPlusBetweenIsBoundedRange",
           Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kGe).Where(kTs, O::kLe), K::kRange,
           {{1, T}, {2, T}, {3, T}}, F, "prefix(user_id=?) range(ts>=?,ts<=?)"),
      Case("PrefixEqualityAloneIsPrefixScan", Query(Events()).Where(kUserId, O::kEq), K::kRange,
           {{1, T}}, F, "prefix(user_id=?)"),
      Case("RangeOnFirstColumnLeavesSecondToSqlite",
           Query(Events()).Where(kUserId, O::kGt).Where(kTs, O::kLt), K::kRange, {{1, T}, {0, F}},
           F, "range(user_id>?)"),
      Case("RangeOnSecondColumnWithoutPrefixIsScan", Query(Events()).Where(kTs, O::kGt),
           K::kFullScan, {{0, F}}, F, "scan"),
      Case("AllBoundsConsumedGroupedByOp",
           Query(Events())
               .Where(kUserId, O::kEq)
               .Where(kTs, O::kLe)
               .Where(kTs, O::kGe)
               .Where(kTs, O::kLt)
               .Where(kTs, O::kGt),
           K::kRange, {{1, T}, {5, T}, {3, T}, {4, T}, {2, T}}, F,
           "prefix(user_id=?) range(ts>?,ts>=?,ts<?,ts<=?)"),
      Case("HiddenKeyRangeIsRangeScan",
           Query(Users()).Where(kUsersKey, O::kLt).Where(kUsersKey, O::kGe), K::kRange,
           {{2, T}, {1, T}}, F, "range(_strata_key>=?,_strata_key<?)"),
      Case("KeyColumnRangePreferredToHiddenKeyRange",
           Query(Users()).Where(kUsersKey, O::kGt).Where(kId, O::kLt), K::kRange, {{0, F}, {1, T}},
           F, "range(id<?)"),
      Case("KeyOrderNotColumnOrderSecondColumnAloneIsScan", Query(Reordered()).Where(kX, O::kEq),
           K::kFullScan, {{0, F}}, F, "scan"),
      Case("KeyOrderNotColumnOrderPrefixAndRange",
           Query(Reordered()).Where(kX, O::kGt).Where(kZ, O::kEq), K::kRange, {{2, T}, {1, T}}, F,
           "prefix(z=?) range(x>?)"),

      // IN lists.
      Case("InOnKeyIsBatchedPointGets", Query(Users()).Where(kId, O::kIn), K::kInList, {{1, T}}, F,
           "in(id)"),
      Case("InAfterEqualityPrefix", Query(Events()).Where(kTs, O::kIn).Where(kUserId, O::kEq),
           K::kInList, {{2, T}, {1, T}}, F, "prefix(user_id=?) in(ts)"),
      Case("InOnFirstColumnScansEachPrefixLaterEqualityLeft",
           Query(Events()).Where(kUserId, O::kIn).Where(kTs, O::kEq), K::kInList, {{1, T}, {0, F}},
           F, "in(user_id)"),
      Case("InPreferredToRangeOnSameColumn", Query(Users()).Where(kId, O::kGt).Where(kId, O::kIn),
           K::kInList, {{0, F}, {1, T}}, F, "in(id)"),
      Case("HiddenKeyInIsBatchedPointGets", Query(Users()).Where(kUsersKey, O::kIn), K::kInList,
           {{1, T}}, F, "in(_strata_key)"),
      Case("InListOrderByDescConsumed", Query(Users()).Where(kId, O::kIn).OrderBy(kId, kDesc),
           K::kInList, {{1, T}}, T, "in(id) desc"),
      Case("InColumnOrderByAfterPrefixConsumed",
           Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kIn).OrderBy(kTs, kDesc),
           K::kInList, {{1, T}, {2, T}}, T, "prefix(user_id=?) in(ts) desc"),

      // ORDER BY.
      Case("OrderByKeyAscIsForwardScan", Query(Users()).OrderBy(kId), K::kFullScan, {}, T, "scan"),
      Case("OrderByKeyDescIsReverseScan", Query(Users()).OrderBy(kId, kDesc), K::kFullScan, {}, T,
           "scan desc"),
      Case("OrderByHiddenKeyDescIsReverseScan", Query(Events()).OrderBy(kEventsKey, kDesc),
           K::kFullScan, {}, T, "scan desc"),
      Case("OrderByNonKeyColumnNotConsumed", Query(Users()).OrderBy(kName), K::kFullScan, {}, F,
           "scan"),
      Case("OrderByNonKeyThenKeyNotConsumed", Query(Users()).OrderBy(kName).OrderBy(kId),
           K::kFullScan, {}, F, "scan"),
      Case("OrderByWholeKeyThenNonKeyConsumed",
           Query(Events()).OrderBy(kUserId, kDesc).OrderBy(kTs, kDesc).OrderBy(kKind), K::kFullScan,
           {}, T, "scan desc"),
      Case("OrderByMixedDirectionsNotConsumed",
           Query(Events()).OrderBy(kUserId).OrderBy(kTs, kDesc), K::kFullScan, {}, F, "scan"),
      Case("OrderBySecondKeyColumnWithoutPrefixNotConsumed", Query(Events()).OrderBy(kTs),
           K::kFullScan, {}, F, "scan"),
      Case("OrderByRepeatedColumnIgnored",
           Query(Events()).OrderBy(kUserId).OrderBy(kUserId, kDesc).OrderBy(kTs), K::kFullScan, {},
           T, "scan"),
      Case("OrderByColumnFixedByEqualityIgnored",
           Query(Events()).Where(kUserId, O::kEq).OrderBy(kUserId).OrderBy(kTs, kDesc), K::kRange,
           {{1, T}}, T, "prefix(user_id=?) desc"),
      Case("OrderByHiddenKeyAfterPrefixConsumed",
           Query(Events()).Where(kUserId, O::kEq).OrderBy(kEventsKey, kDesc), K::kRange, {{1, T}},
           T, "prefix(user_id=?) desc"),
      Case("OrderByRangeColumnDescConsumed", Query(Users()).Where(kId, O::kGt).OrderBy(kId, kDesc),
           K::kRange, {{1, T}}, T, "range(id>?) desc"),
      Case("OrderByColumnOrderOfReorderedKeyNotConsumed",
           Query(Reordered()).OrderBy(kX).OrderBy(kZ), K::kFullScan, {}, F, "scan"),
      Case("OrderByKeyOrderOfReorderedKeyConsumed", Query(Reordered()).OrderBy(kZ).OrderBy(kX),
           K::kFullScan, {}, T, "scan"),

      // GROUP BY and DISTINCT (sqlite3_vtab_distinct).
      Case("GroupByWholeKeyInAnyOrderConsumed",
           Query(Events()).Distinct(PlanDistinct::kGrouped).OrderBy(kTs).OrderBy(kUserId),
           K::kFullScan, {}, T, "scan"),
      Case("GroupByFirstKeyColumnConsumedInEitherDirection",
           Query(Events()).Distinct(PlanDistinct::kGrouped).OrderBy(kUserId, kDesc), K::kFullScan,
           {}, T, "scan"),
      Case("GroupBySecondKeyColumnNotConsumed",
           Query(Events()).Distinct(PlanDistinct::kGrouped).OrderBy(kTs), K::kFullScan, {}, F,
           "scan"),
      Case("GroupBySecondKeyColumnAfterPrefixConsumed",
           Query(Events()).Distinct(PlanDistinct::kGrouped).Where(kUserId, O::kEq).OrderBy(kTs),
           K::kRange, {{1, T}}, T, "prefix(user_id=?)"),
      Case("DistinctKeyPrefixAndOtherColumnNotConsumed",
           Query(Events()).Distinct(PlanDistinct::kDistinct).OrderBy(kUserId).OrderBy(kKind),
           K::kFullScan, {}, F, "scan"),
      Case("DistinctWholeKeyAndOtherColumnConsumed",
           Query(Events())
               .Distinct(PlanDistinct::kDistinct)
               .OrderBy(kKind)
               .OrderBy(kTs)
               .OrderBy(kUserId),
           K::kFullScan, {}, T, "scan"),
      Case("DistinctWithOrderByNeedsTheRealOrder",
           Query(Events()).Distinct(PlanDistinct::kDistinctOrdered).OrderBy(kTs).OrderBy(kUserId),
           K::kFullScan, {}, F, "scan"),

      // LIMIT and OFFSET: never with SQLite 3.40.1 (allow_limit_offset false) ...
      Case("LimitAndOffsetNeverConsumedByDefault", Query(Users()).Limit().Offset(), K::kFullScan,
           {{0, F}, {0, F}}, F, "scan"),
      Case("IssueExampleLeavesLimitToSqliteByDefault",
           Query(Events())
               .WhereConstant(kUserId, O::kEq)
               .WhereConstant(kTs, O::kGe)
               .WhereConstant(kTs, O::kLe)
               .Limit()
               .OrderBy(kTs, kDesc),
           K::kRange, {{1, T}, {2, T}, {3, T}, {0, F}}, T,
           "prefix(user_id=?) range(ts>=?,ts<=?) desc"),
      // ... and, where allowed, only when nothing else filters or sorts afterwards.
      Case("LimitAndOffsetConsumedOnPlainScan", Query(Users()).AllowLimitOffset().Limit().Offset(),
           K::kFullScan, {{1, T}, {2, T}}, F, "scan limit offset"),
      Case("LimitConsumedWhenEveryConstraintIsConsumed",
           Query(Users()).Where(kId, O::kGt).AllowLimitOffset().Limit().Offset().OrderBy(kId),
           K::kRange, {{1, T}, {2, T}, {3, T}}, T, "range(id>?) limit offset"),
      Case("LimitConsumedOnPointGet", Query(Users()).Where(kId, O::kEq).AllowLimitOffset().Limit(),
           K::kPoint, {{1, T}, {2, T}}, F, "point(id=?) limit"),
      Case("LimitConsumedOnInList",
           Query(Users()).Where(kId, O::kIn).AllowLimitOffset().Limit().OrderBy(kId), K::kInList,
           {{1, T}, {2, T}}, T, "in(id) limit"),
      Case("LimitNotConsumedWithNonKeyConstraint",
           Query(Users()).Where(kId, O::kGt).Where(kName, O::kEq).AllowLimitOffset().Limit(),
           K::kRange, {{1, T}, {0, F}, {0, F}}, F, "range(id>?)"),
      Case("LimitNotConsumedWhenAConstraintIsUnusable",
           Query(Users()).WhereUnusable(kId, O::kEq).AllowLimitOffset().Limit(), K::kFullScan,
           {{0, F}, {0, F}}, F, "scan"),
      Case("LimitNotConsumedWhenSqliteSortsAfterwards",
           Query(Users()).OrderBy(kName).AllowLimitOffset().Limit(), K::kFullScan, {{0, F}}, F,
           "scan"),
      Case("LimitNotConsumedWithDuplicateEquality",
           Query(Users()).Where(kId, O::kEq).Where(kId, O::kEq).AllowLimitOffset().Limit(),
           K::kPoint, {{1, T}, {0, F}, {0, F}}, F, "point(id=?)"),
      Case("LimitNotConsumedWhenLimitUnusable",
           Query(Users()).Where(kId, O::kEq).AllowLimitOffset().Limit(false), K::kPoint,
           {{1, T}, {0, F}}, F, "point(id=?)"),
      Case("LimitNotConsumedWhenOffsetUnusable",
           Query(Users()).AllowLimitOffset().Limit().Offset(false), K::kFullScan, {{0, F}, {0, F}},
           F, "scan"),
      Case("LimitNotConsumedForGreaterEqualOfUnknownValue",
           Query(Users()).Where(kId, O::kGe).AllowLimitOffset().Limit(), K::kRange,
           {{1, T}, {0, F}}, F, "range(id>=?)"),
      Case("LimitConsumedForGreaterEqualOfKnownValue",
           Query(Users()).WhereConstant(kId, O::kGe).AllowLimitOffset().Limit(), K::kRange,
           {{1, T}, {2, T}}, F, "range(id>=?) limit"),
      Case("LimitConsumedForStrictBoundOfUnknownValue",
           Query(Users()).Where(kId, O::kGt).Where(kId, O::kLt).AllowLimitOffset().Limit(),
           K::kRange, {{1, T}, {2, T}, {3, T}}, F, "range(id>?,id<?) limit"),
      Case("LimitNotConsumedWhenSqliteRechecksAConstraint",
           Query(Words()).WhereRechecked(kWord, O::kGt).AllowLimitOffset().Limit(), K::kRange,
           {{1, T}, {0, F}}, F, "range(word>?)"),
      Case("LimitNotConsumedWithDistinct",
           Query(Users()).Distinct(PlanDistinct::kDistinct).OrderBy(kId).AllowLimitOffset().Limit(),
           K::kFullScan, {{0, F}}, T, "scan"),
      Case("IssueExampleWithConstantsConsumesEverything",
           Query(Events())
               .WhereConstant(kUserId, O::kEq)
               .WhereConstant(kTs, O::kGe)
               .WhereConstant(kTs, O::kLe)
               .AllowLimitOffset()
               .Limit()
               .OrderBy(kTs, kDesc),
           K::kRange, {{1, T}, {2, T}, {3, T}, {4, T}}, T,
           "prefix(user_id=?) range(ts>=?,ts<=?) desc limit"),
      Case("IssueExampleWithParametersLeavesLimitToSqlite",
           Query(Events())
               .Where(kUserId, O::kEq)
               .Where(kTs, O::kGe)
               .Where(kTs, O::kLe)
               .AllowLimitOffset()
               .Limit()
               .OrderBy(kTs, kDesc),
           K::kRange, {{1, T}, {2, T}, {3, T}, {0, F}}, T,
           "prefix(user_id=?) range(ts>=?,ts<=?) desc"),
  };
}

class PlanCaseTest : public testing::TestWithParam<PlanCase> {};

TEST_P(PlanCaseTest, MatchesTheTableOfCases) {
  const PlanCase& c = GetParam();
  BestIndexPlan plan = PlanBestIndex(c.query.input());
  EXPECT_EQ(plan.shape.kind, c.kind);
  ASSERT_EQ(plan.constraint_usage.size(), c.usage.size());
  for (size_t i = 0; i < c.usage.size(); i++) {
    SCOPED_TRACE("constraint " + std::to_string(i));
    EXPECT_EQ(plan.constraint_usage[i].argv_index, c.usage[i].argv);
    EXPECT_EQ(plan.constraint_usage[i].omit, c.usage[i].omit);
  }
  EXPECT_EQ(plan.order_by_consumed, c.order_by_consumed);
  EXPECT_EQ(plan.idx_str, c.idx_str);
  EXPECT_EQ(plan.unique, c.kind == K::kPoint || c.kind == K::kEmpty);
  EXPECT_EQ(plan.shape.descending, c.idx_str.find(" desc") != std::string::npos);
}

// The argv numbers SQLite sees are 1..n without gaps (else "xBestIndex malfunction"),
// omit comes only with an argv slot, and each slot holds what the layout says.
TEST_P(PlanCaseTest, ArgvFollowsTheDocumentedLayout) {
  const PlanCase& c = GetParam();
  const PlanInput& input = c.query.input();
  BestIndexPlan plan = PlanBestIndex(input);
  const DecodedPlan& shape = plan.shape;
  std::vector<int> seen;
  for (size_t i = 0; i < plan.constraint_usage.size(); i++) {
    const PlanConstraintUsage& u = plan.constraint_usage[i];
    const PlanConstraint& constraint = input.constraints[i];
    if (u.argv_index == 0) {
      EXPECT_FALSE(u.omit) << "constraint " << i;
      EXPECT_FALSE(u.in_all_at_once) << "constraint " << i;
      continue;
    }
    EXPECT_TRUE(constraint.usable) << "constraint " << i;
    EXPECT_EQ(u.in_all_at_once, constraint.op == PlanOp::kIn) << "constraint " << i;
    seen.push_back(u.argv_index);
    const int argv = u.argv_index;
    if (argv <= shape.eq_count) {
      EXPECT_TRUE(constraint.op == PlanOp::kEq || constraint.op == PlanOp::kIs);
      int expected_column =
          shape.encoded_key ? input.hidden_key_column : input.key_columns[argv - 1];
      EXPECT_EQ(constraint.column, expected_column);
    } else if (argv == shape.in_argv) {
      EXPECT_EQ(constraint.op, PlanOp::kIn);
    } else if (argv == shape.limit_argv) {
      EXPECT_EQ(constraint.op, PlanOp::kLimit);
    } else if (argv == shape.offset_argv) {
      EXPECT_EQ(constraint.op, PlanOp::kOffset);
    } else if (argv > shape.argv_count) {
      EXPECT_EQ(constraint.op, PlanOp::kIsNotNull);
    } else {
      bool found = false;
      for (const PlanBound& b : shape.bounds()) {
        if (b.argv == argv) {
          found = true;
          EXPECT_EQ(b.op, constraint.op);
        }
      }
      EXPECT_TRUE(found) << "argv " << argv << " has no role";
    }
  }
  std::sort(seen.begin(), seen.end());
  for (size_t i = 0; i < seen.size(); i++) EXPECT_EQ(seen[i], static_cast<int>(i) + 1);
}

TEST_P(PlanCaseTest, IdxNumAndIdxStrDecodeToTheSameShape) {
  const PlanCase& c = GetParam();
  const PlanInput& input = c.query.input();
  BestIndexPlan plan = PlanBestIndex(input);
  DecodedPlan decoded;
  ASSERT_TRUE(DecodePlan(plan.idx_num, plan.idx_str, input.key_columns.size(), &decoded))
      << plan.idx_num << " " << plan.idx_str;
  EXPECT_TRUE(decoded == plan.shape);
  EXPECT_GE(plan.idx_num, 0);
}

TEST_P(PlanCaseTest, EstimatesAreConsistent) {
  const PlanCase& c = GetParam();
  BestIndexPlan plan = PlanBestIndex(c.query.input());
  EXPECT_GT(plan.estimated_cost, 0);
  EXPECT_GE(plan.estimated_rows, 0);
  EXPECT_LE(plan.estimated_rows, 1'000'000);  // never more than the table
  if (plan.unique) {
    EXPECT_LE(plan.estimated_rows, 1);
  }
  EXPECT_GE(plan.estimated_cost, static_cast<double>(plan.estimated_rows));
}

INSTANTIATE_TEST_SUITE_P(Cases, PlanCaseTest, testing::ValuesIn(AllCases()),
                         [](const testing::TestParamInfo<PlanCase>& info) {
                           return std::string(info.param.name);
                         });

// ---------------------------------------------------------------------------------
// Costs and row estimates.

BestIndexPlan PlanOf(const Query& q) { return PlanBestIndex(q.input()); }

TEST(BestIndexCostTest, JoinOnTheKeyMakesTheStrataTableTheInnerLoop) {
  // SQLite asks once with the join's equality unusable (strata outer) and once usable
  // (strata inner, probed once per outer row): the probe must be far cheaper.
  for (uint64_t rows : {uint64_t{0}, uint64_t{1'000}, uint64_t{50'000'000}}) {
    SCOPED_TRACE(rows);
    BestIndexPlan outer = PlanOf(Query(Users()).WhereUnusable(kId, O::kEq).Rows(rows));
    BestIndexPlan inner = PlanOf(Query(Users()).Where(kId, O::kEq).Rows(rows));
    EXPECT_EQ(outer.shape.kind, K::kFullScan);
    EXPECT_EQ(inner.shape.kind, K::kPoint);
    EXPECT_LT(inner.estimated_cost * 20, outer.estimated_cost);
    // A join on the first of two key columns: a prefix scan per outer row.
    BestIndexPlan events_outer = PlanOf(Query(Events()).WhereUnusable(kUserId, O::kEq).Rows(rows));
    BestIndexPlan events_inner = PlanOf(Query(Events()).Where(kUserId, O::kEq).Rows(rows));
    EXPECT_LT(events_inner.estimated_cost * 20, events_outer.estimated_cost);
    EXPECT_LT(events_inner.estimated_rows, events_outer.estimated_rows);
  }
}

TEST(BestIndexCostTest, CostFollowsSelectivity) {
  auto cost = [](Query q) { return PlanOf(q.Rows(10'000'000)).estimated_cost; };
  double point = cost(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kEq));
  double in_list = cost(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kIn));
  double bounded =
      cost(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kGe).Where(kTs, O::kLt));
  double half_bounded = cost(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kGe));
  double prefix = cost(Query(Events()).Where(kUserId, O::kEq));
  double first_range = cost(Query(Events()).Where(kUserId, O::kGt));
  double scan = cost(Query(Events()));
  double empty = cost(Query(Events()).Where(kUserId, O::kIsNull));
  EXPECT_LT(empty, point);
  EXPECT_LT(point, in_list);
  EXPECT_LT(in_list, prefix);
  EXPECT_LT(point, bounded);
  EXPECT_LT(bounded, half_bounded);
  EXPECT_LT(half_bounded, prefix);
  EXPECT_LT(prefix, first_range);
  EXPECT_LT(first_range, scan);
}

TEST(BestIndexCostTest, RowEstimatesFollowTheModel) {
  // N = 1,000,000 rows (also the assumption when statistics say 0), key (user_id, ts):
  // one user_id value covers N^(1/2) = 1000 rows; a bound keeps a quarter of a range.
  EXPECT_EQ(PlanOf(Query(Events())).estimated_rows, 1'000'000);
  EXPECT_EQ(PlanOf(Query(Events()).Rows(1'000'000)).estimated_rows, 1'000'000);
  EXPECT_EQ(PlanOf(Query(Events()).Rows(5)).estimated_rows, 5);
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kEq)).estimated_rows, 1000);
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kGt)).estimated_rows, 250);
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kGe).Where(kTs, O::kLe))
                .estimated_rows,
            63);  // 1000 / 16
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kGt)).estimated_rows, 250'000);
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kIn)).estimated_rows, 10'000);
  EXPECT_EQ(PlanOf(Query(Users()).Where(kId, O::kIn)).estimated_rows, 10);
  EXPECT_EQ(PlanOf(Query(Users()).Where(kId, O::kEq)).estimated_rows, 1);
  EXPECT_EQ(PlanOf(Query(Users()).Where(kId, O::kIsNull)).estimated_rows, 0);
  // Never more rows than the table has.
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kIn).Rows(3)).estimated_rows, 3);
}

TEST(BestIndexCostTest, PointGetCostGrowsLogarithmically) {
  double small = PlanOf(Query(Users()).Where(kId, O::kEq).Rows(1'000)).estimated_cost;
  double large = PlanOf(Query(Users()).Where(kId, O::kEq).Rows(1'000'000'000)).estimated_cost;
  EXPECT_LT(small, large);
  EXPECT_LT(large, 4 * small);
  EXPECT_NEAR(PlanOf(Query(Users()).Rows(1'000'000'000)).estimated_cost, 1e9, 100);
}

// ---------------------------------------------------------------------------------
// Limits of the encoding.

// The glue sets allow_limit_offset from the running SQLite: never for 3.40.1 (the
// system library), which passes LIMIT/OFFSET with an invisible `a = b` term and to
// each member of a compound; from the checked 3.53.2 on (docs/planning.md).
TEST(BestIndexPlanTest, LimitAndOffsetAreAllowedOnlyFromTheCheckedSqlite) {
  EXPECT_FALSE(SqlitePassesLimitOffsetSafely(3040001));
  EXPECT_FALSE(SqlitePassesLimitOffsetSafely(3046000));
  EXPECT_FALSE(SqlitePassesLimitOffsetSafely(3053001));
  EXPECT_TRUE(SqlitePassesLimitOffsetSafely(3053002));
  EXPECT_TRUE(SqlitePassesLimitOffsetSafely(3060000));
}

TEST(BestIndexPlanTest, EqualityPrefixLongerThanIdxNumCanHoldIsCut) {
  PlanInput input;
  for (int i = 0; i < 70; i++) {
    input.column_names.push_back(std::string("k").append(std::to_string(i)));
    input.key_columns.push_back(i);
  }
  for (int i = 69; i >= 0; i--) input.constraints.push_back({i, PlanOp::kEq, true, true, false});
  BestIndexPlan plan = PlanBestIndex(input);
  EXPECT_EQ(plan.shape.kind, K::kRange);
  EXPECT_EQ(plan.shape.eq_count, DecodedPlan::kMaxEqColumns);
  // Key column k is constraint 69 - k; columns 63.. are left to SQLite.
  for (int k = 0; k < 70; k++) {
    const PlanConstraintUsage& u = plan.constraint_usage[69 - k];
    EXPECT_EQ(u.argv_index, k < 63 ? k + 1 : 0) << k;
    EXPECT_EQ(u.omit, k < 63) << k;
  }
  DecodedPlan decoded;
  ASSERT_TRUE(DecodePlan(plan.idx_num, plan.idx_str, 70, &decoded));
  EXPECT_TRUE(decoded == plan.shape);
}

TEST(BestIndexPlanTest, MoreThanSevenBoundsOfOneOpAreLeftToSqlite) {
  Query q(Users());
  for (int i = 0; i < 9; i++) q.Where(kId, O::kGt);
  q.Where(kId, O::kLt);
  BestIndexPlan plan = PlanOf(q);
  ASSERT_EQ(plan.shape.kind, K::kRange);
  EXPECT_EQ(plan.shape.bound_count, 8);
  for (int i = 0; i < 9; i++) {
    EXPECT_EQ(plan.constraint_usage[i].argv_index, i < 7 ? i + 1 : 0) << i;
    EXPECT_EQ(plan.constraint_usage[i].omit, i < 7) << i;
  }
  EXPECT_EQ(plan.constraint_usage[9].argv_index, 8);
  DecodedPlan decoded;
  ASSERT_TRUE(DecodePlan(plan.idx_num, plan.idx_str, 1, &decoded));
  EXPECT_TRUE(decoded == plan.shape);
}

TEST(BestIndexPlanTest, UnusualColumnNamesAreQuotedAndDecode) {
  PlanInput t;
  t.column_names = {"user id", "say \"hi\"", "1st", "a?b)", "", "caf\xc3\xa9", "_k"};
  t.key_columns = {0, 1, 2, 3, 4, 5};
  t.hidden_key_column = 6;
  Query q(t);
  q.Where(0, O::kEq).Where(1, O::kEq).Where(2, O::kEq).Where(3, O::kEq).Where(4, O::kEq);
  q.Where(5, O::kGe).Where(5, O::kLt).OrderBy(6, kDesc);
  BestIndexPlan plan = PlanOf(q);
  EXPECT_EQ(plan.idx_str,
            "prefix(\"user id\"=?,\"say \"\"hi\"\"\"=?,\"1st\"=?,\"a?b)\"=?,\"\"=?) "
            "range(\"caf\xc3\xa9\">=?,\"caf\xc3\xa9\"<?) desc");
  DecodedPlan decoded;
  ASSERT_TRUE(DecodePlan(plan.idx_num, plan.idx_str, 6, &decoded));
  EXPECT_TRUE(decoded == plan.shape);
}

TEST(BestIndexPlanTest, MissingColumnNamesAreNumbered) {
  PlanInput t;
  t.key_columns = {0};
  BestIndexPlan plan = PlanOf(Query(t).Where(0, O::kEq));
  EXPECT_EQ(plan.idx_str, "point(c0=?)");
}

// The issue's example query with constants: "prefix(user_id=?) range(ts>=?,ts<=?) desc limit".
BestIndexPlan IssueExamplePlan() {
  return PlanOf(Query(Events())
                    .WhereConstant(kUserId, O::kEq)
                    .WhereConstant(kTs, O::kGe)
                    .WhereConstant(kTs, O::kLe)
                    .AllowLimitOffset()
                    .Limit()
                    .OrderBy(kTs, kDesc));
}

// The idxNum values docs/planning.md shows, computed from its bit table.
TEST(BestIndexPlanTest, IdxNumLayoutMatchesTheDocumentation) {
  EXPECT_EQ(PlanOf(Query(Users())).idx_num, 1);
  EXPECT_EQ(PlanOf(Query(Users()).OrderBy(kId, kDesc)).idx_num, 1 + 8);
  EXPECT_EQ(PlanOf(Query(Users()).AllowLimitOffset().Limit().Offset()).idx_num,
            1 + (1 << 22) + (1 << 23));
  EXPECT_EQ(PlanOf(Query(Users()).Where(kId, O::kEq)).idx_num, 2 + (1 << 4));
  EXPECT_EQ(PlanOf(Query(Users()).Where(kUsersKey, O::kEq)).idx_num, 2 + (1 << 4) + (1 << 24));
  EXPECT_EQ(PlanOf(Query(Users()).Where(kId, O::kIn)).idx_num, 4);
  EXPECT_EQ(PlanOf(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kIn)).idx_num,
            4 + (1 << 4));
  EXPECT_EQ(PlanOf(Query(Users()).Where(kId, O::kIsNull)).idx_num, 5);
  EXPECT_EQ(IssueExamplePlan().idx_num, 3 + 8 + (1 << 4) + (1 << 13) + (1 << 19) + (1 << 22));
  EXPECT_EQ(IssueExamplePlan().idx_num, 4726811);
  BestIndexPlan bounds = PlanOf(Query(Users())
                                    .Where(kId, O::kLe)
                                    .Where(kId, O::kLt)
                                    .Where(kId, O::kGe)
                                    .Where(kId, O::kGt)
                                    .Where(kId, O::kGt));
  EXPECT_EQ(bounds.idx_num, 3 + (2 << 10) + (1 << 13) + (1 << 16) + (1 << 19));
}

// ---------------------------------------------------------------------------------
// DecodePlan on input PlanBestIndex did not make for this table.

bool Decodes(int idx_num, std::string_view idx_str, size_t key_columns) {
  DecodedPlan plan;
  return DecodePlan(idx_num, idx_str, key_columns, &plan);
}

TEST(DecodePlanTest, RejectsIdxNumsNoPlanHas) {
  BestIndexPlan point = PlanOf(Query(Users()).Where(kId, O::kEq));
  ASSERT_TRUE(Decodes(point.idx_num, "point(id=?)", 1));
  EXPECT_FALSE(Decodes(0, "scan", 1));              // kind 0
  EXPECT_FALSE(Decodes(6, "scan", 1));              // kind 6
  EXPECT_FALSE(Decodes(7, "scan", 1));              // kind 7
  EXPECT_FALSE(Decodes(-1, "scan", 1));             // sign bit
  EXPECT_FALSE(Decodes(1 | (1 << 25), "scan", 1));  // reserved bit
  EXPECT_FALSE(Decodes(point.idx_num | (1 << 30), "point(id=?)", 1));
  EXPECT_FALSE(Decodes(1 | (1 << 23), "scan offset", 1));  // OFFSET without LIMIT
  EXPECT_FALSE(Decodes(5 | (1 << 3), "empty desc", 1));    // empty with a flag
  EXPECT_FALSE(Decodes(point.idx_num | (1 << 3), "point(id=?) desc", 1));
  EXPECT_FALSE(Decodes(1 | (1 << 4), "scan", 1));   // scan with an equality
  EXPECT_FALSE(Decodes(1 | (1 << 10), "scan", 1));  // scan with a bound
  EXPECT_FALSE(Decodes(3, "", 1));                  // range of nothing
  EXPECT_FALSE(Decodes(2, "point()", 1));           // point of nothing
  EXPECT_FALSE(Decodes(4 | (1 << 4) | (1 << 24), "prefix(k=?) in(k)", 1));
}

TEST(DecodePlanTest, RejectsPlansThatDoNotFitTheTable) {
  BestIndexPlan point = PlanOf(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kEq));
  EXPECT_TRUE(Decodes(point.idx_num, point.idx_str, 2));
  EXPECT_FALSE(Decodes(point.idx_num, point.idx_str, 1));
  EXPECT_FALSE(Decodes(point.idx_num, point.idx_str, 3));
  BestIndexPlan prefix = PlanOf(Query(Events()).Where(kUserId, O::kEq));
  EXPECT_TRUE(Decodes(prefix.idx_num, prefix.idx_str, 2));
  EXPECT_FALSE(Decodes(prefix.idx_num, prefix.idx_str, 1));  // would be a point get
  BestIndexPlan in = PlanOf(Query(Events()).Where(kUserId, O::kEq).Where(kTs, O::kIn));
  EXPECT_TRUE(Decodes(in.idx_num, in.idx_str, 2));
  EXPECT_FALSE(Decodes(in.idx_num, in.idx_str, 1));  // no key column left for the IN
}

TEST(DecodePlanTest, RejectsIdxStrThatDisagreesWithIdxNum) {
  BestIndexPlan plan = IssueExamplePlan();
  const std::string& good = plan.idx_str;
  ASSERT_EQ(good, "prefix(user_id=?) range(ts>=?,ts<=?) desc limit");
  ASSERT_TRUE(Decodes(plan.idx_num, good, 2));
  const char* bad[] = {
      "",
      "scan",
      "prefix(user_id=?) range(ts>=?,ts<=?) desc",         // no limit
      "prefix(user_id=?) range(ts>=?,ts<=?) limit",        // no desc
      "prefix(user_id=?) range(ts>=?,ts<=?) limit desc",   // order
      "prefix(user_id=?) range(ts>=?,ts<=?) desc limit ",  // trailing space
      "prefix(user_id=?) range(ts<=?,ts>=?) desc limit",   // bound order
      "prefix(user_id=?) range(ts>?,ts<=?) desc limit",    // bound op
      "prefix(user_id=?) range(ts>=?,xs<=?) desc limit",   // two range columns
      "prefix(user_id=?,ts=?) range(ts>=?,ts<=?) desc limit",
      "prefix(user_id=?)range(ts>=?,ts<=?) desc limit",
      "prefix(user_id) range(ts>=?,ts<=?) desc limit",
      "prefix(\"user_id=?) range(ts>=?,ts<=?) desc limit",  // unterminated quote
      "prefix(9a=?) range(ts>=?,ts<=?) desc limit",         // bare name with a digit
      "point(user_id=?) range(ts>=?,ts<=?) desc limit",
      "prefix(user_id=?) range(ts>=?,ts<=?",
  };
  for (const char* s : bad) EXPECT_FALSE(Decodes(plan.idx_num, s, 2)) << s;
  // Every strict prefix of the good text is incomplete.
  for (size_t n = 0; n < good.size(); n++) {
    EXPECT_FALSE(Decodes(plan.idx_num, std::string_view(good).substr(0, n), 2)) << n;
  }
}

TEST(DecodePlanTest, AcceptedGarbageIsAlwaysAWellFormedShape) {
  // Random idxNums with random, damaged and genuine idxStrs: DecodePlan must never
  // read out of bounds (ASan builds check), and whatever it accepts is a shape whose
  // argv layout is self-consistent and fits the table.
  std::mt19937_64 rng(20240611);
  std::vector<std::pair<int, std::string>> genuine;
  for (const PlanCase& c : AllCases()) {
    BestIndexPlan p = PlanBestIndex(c.query.input());
    genuine.emplace_back(p.idx_num, p.idx_str);
  }
  int accepted = 0;
  for (int iteration = 0; iteration < 200'000; iteration++) {
    const auto& [num, text] = genuine[rng() % genuine.size()];
    int idx_num = num;
    std::string idx_str = text;
    switch (rng() % 4) {
      case 0:
        idx_num = static_cast<int>(rng());
        break;
      case 1:
        idx_num ^= 1 << (rng() % 31);
        break;
      case 2:
        if (!idx_str.empty()) idx_str[rng() % idx_str.size()] = static_cast<char>(rng());
        break;
      case 3:
        idx_str.resize(rng() % (idx_str.size() + 1));
        break;
    }
    size_t key_columns = 1 + rng() % 3;
    DecodedPlan plan;
    if (!DecodePlan(idx_num, idx_str, key_columns, &plan)) continue;
    accepted++;
    int expected_argc = plan.eq_count + (plan.kind == K::kInList ? 1 : 0) + plan.bound_count +
                        (plan.limit_argv > 0 ? 1 : 0) + (plan.offset_argv > 0 ? 1 : 0);
    ASSERT_EQ(plan.argv_count, expected_argc) << idx_num << " " << idx_str;
    ASSERT_LE(static_cast<size_t>(plan.eq_count), key_columns) << idx_num << " " << idx_str;
    ASSERT_TRUE(plan.offset_argv == 0 || plan.limit_argv > 0) << idx_num << " " << idx_str;
    for (const PlanBound& b : plan.bounds()) {
      ASSERT_GT(b.argv, plan.eq_count);
      ASSERT_LE(b.argv, plan.argv_count);
    }
  }
  EXPECT_GT(accepted, 1000);  // the genuine pairs that survived their damage
}

}  // namespace
}  // namespace strata::sql
