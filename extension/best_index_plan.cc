// Query planning for strata virtual tables: see best_index_plan.h and docs/planning.md.
#include "extension/best_index_plan.h"

#include <algorithm>
#include <cmath>

namespace strata::sql {

namespace {

// Cost model (docs/planning.md, "Costs"). SQLite reads estimatedCost N as "like a
// linear scan of N rows" and log N as "like a binary search", so a row visited costs 1
// and a seek (positioning an iterator, or a point get) costs 1 + log2(rows).
constexpr double kUnknownTableRows = 1e6;
constexpr double kAssumedInListValues = 10;
constexpr double kRangeSideSelectivity = 0.25;  // per side bounded, as SQLite assumes
constexpr double kEmptyPlanCost = 1;
constexpr double kMaxEstimatedRows = 4e18;  // keeps the int64 conversion defined

// idxNum layout (bit 0 is the least significant; bits 25-31 must be zero):
//   0-2 kind (PlanKind, 1-5)      3 descending      4-9 eq_count (0-63)
//   10-12, 13-15, 16-18, 19-21: the number of kGt, kGe, kLt, kLe bounds (0-7 each)
//   22 LIMIT consumed             23 OFFSET consumed     24 encoded_key
constexpr int kKindShift = 0;
constexpr uint32_t kKindMask = 0x7;
constexpr int kDescendingBit = 3;
constexpr int kEqCountShift = 4;
constexpr uint32_t kEqCountMask = 0x3f;
constexpr int kBoundCountShift = 10;  // + 3 * BoundGroup(op)
constexpr uint32_t kBoundCountMask = 0x7;
constexpr int kLimitBit = 22;
constexpr int kOffsetBit = 23;
constexpr int kEncodedKeyBit = 24;
constexpr uint32_t kReservedBits = ~((uint32_t{1} << 25) - 1);

static_assert(DecodedPlan::kMaxEqColumns == static_cast<int>(kEqCountMask));
static_assert(DecodedPlan::kMaxBoundsPerOp == static_cast<int>(kBoundCountMask));

// Bounds are grouped in argv and idxNum in this order.
constexpr PlanOp kBoundOps[4] = {PlanOp::kGt, PlanOp::kGe, PlanOp::kLt, PlanOp::kLe};

int BoundGroup(PlanOp op) {
  for (int g = 0; g < 4; g++) {
    if (kBoundOps[g] == op) return g;
  }
  return -1;
}

std::string_view BoundOpText(PlanOp op) {
  switch (op) {
    case PlanOp::kGt:
      return ">";
    case PlanOp::kGe:
      return ">=";
    case PlanOp::kLt:
      return "<";
    default:
      return "<=";
  }
}

bool IsEquality(PlanOp op) { return op == PlanOp::kEq || op == PlanOp::kIs; }

// ---------------------------------------------------------------------------------
// idxStr: rendering and checking. Names that are not plain identifiers are quoted
// the SQL way ("a b", "say ""hi"""), so the text parses back without knowing them.

bool IsBareNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsBareNameChar(char c) { return IsBareNameStart(c) || (c >= '0' && c <= '9'); }

void AppendName(std::string* out, std::string_view name) {
  bool bare = !name.empty() && IsBareNameStart(name[0]) &&
              std::all_of(name.begin(), name.end(), IsBareNameChar);
  if (bare) {
    out->append(name);
    return;
  }
  out->push_back('"');
  for (char c : name) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Reads idxStr left to right; every method returns false (consuming nothing useful)
// when the text does not continue as expected.
class IdxStrReader {
 public:
  explicit IdxStrReader(std::string_view text) : text_(text) {}

  bool Literal(std::string_view literal) {
    if (text_.substr(0, literal.size()) != literal) return false;
    text_.remove_prefix(literal.size());
    return true;
  }

  // A name as AppendName writes it; *name is its raw text (quotes included).
  bool Name(std::string_view* name) {
    size_t n = 0;
    if (!text_.empty() && text_[0] == '"') {
      n = 1;
      while (true) {
        if (n >= text_.size()) return false;  // unterminated
        if (text_[n] == '"') {
          if (n + 1 < text_.size() && text_[n + 1] == '"') {
            n += 2;  // an escaped quote
            continue;
          }
          n++;
          break;
        }
        n++;
      }
    } else {
      if (text_.empty() || !IsBareNameStart(text_[0])) return false;
      while (n < text_.size() && IsBareNameChar(text_[n])) n++;
    }
    *name = text_.substr(0, n);
    text_.remove_prefix(n);
    return true;
  }

  // `count` items "name=?" separated by commas, then ")".
  bool EqualityList(int count) {
    std::string_view name;
    for (int i = 0; i < count; i++) {
      if (i > 0 && !Literal(",")) return false;
      if (!Name(&name) || !Literal("=?")) return false;
    }
    return Literal(")");
  }

  // The bounds "name>=?" in order, all on one column, separated by commas, then ")".
  bool BoundList(std::span<const PlanBound> bounds) {
    std::string_view first;
    std::string_view name;
    for (size_t i = 0; i < bounds.size(); i++) {
      if (i > 0 && !Literal(",")) return false;
      if (!Name(&name)) return false;
      if (i == 0) first = name;
      if (name != first) return false;
      if (!Literal(BoundOpText(bounds[i].op)) || !Literal("?")) return false;
    }
    return Literal(")");
  }

  bool AtEnd() const { return text_.empty(); }

 private:
  std::string_view text_;
};

// The idxStr grammar, shared by rendering (names given) and checking (names read).
//   empty | scan | point(a=?,b=?) | [prefix(a=?) ]in(b) | prefix(a=?)[ range(b>?,b<=?)]
//   | range(a>?,a<=?)        then " desc", " limit", " offset" when they apply.
bool MatchesIdxStr(const DecodedPlan& shape, std::string_view idx_str) {
  IdxStrReader reader(idx_str);
  std::string_view name;
  bool ok = true;
  switch (shape.kind) {
    case PlanKind::kEmpty:
      ok = reader.Literal("empty");
      break;
    case PlanKind::kFullScan:
      ok = reader.Literal("scan");
      break;
    case PlanKind::kPoint:
      ok = reader.Literal("point(") && reader.EqualityList(shape.eq_count);
      break;
    case PlanKind::kInList:
      if (shape.eq_count > 0) {
        ok =
            reader.Literal("prefix(") && reader.EqualityList(shape.eq_count) && reader.Literal(" ");
      }
      ok = ok && reader.Literal("in(") && reader.Name(&name) && reader.Literal(")");
      break;
    case PlanKind::kRange:
      if (shape.eq_count > 0) {
        ok = reader.Literal("prefix(") && reader.EqualityList(shape.eq_count);
      }
      if (ok && shape.bound_count > 0) {
        ok = (shape.eq_count == 0 || reader.Literal(" ")) && reader.Literal("range(") &&
             reader.BoundList(shape.bounds());
      }
      break;
  }
  if (ok && shape.descending) ok = reader.Literal(" desc");
  if (ok && shape.limit_argv > 0) ok = reader.Literal(" limit");
  if (ok && shape.offset_argv > 0) ok = reader.Literal(" offset");
  return ok && reader.AtEnd();
}

// ---------------------------------------------------------------------------------
// Planning.

class Planner {
 public:
  explicit Planner(const PlanInput& input)
      : input_(input),
        key_count_(static_cast<int>(input.key_columns.size())),
        table_rows_(input.estimated_table_rows > 0 ? static_cast<double>(input.estimated_table_rows)
                                                   : kUnknownTableRows) {}

  BestIndexPlan Plan() {
    BestIndexPlan plan;
    plan.constraint_usage.resize(input_.constraints.size());
    ChooseAccess();
    AssignArguments(&plan);
    plan.shape = shape_;
    plan.order_by_consumed = order_by_consumed_;
    plan.unique = shape_.kind == PlanKind::kPoint || shape_.kind == PlanKind::kEmpty;
    Estimate(&plan);
    plan.idx_num = EncodeIdxNum();
    plan.idx_str = RenderIdxStr();
    return plan;
  }

 private:
  // Position of `column` in the key, kHiddenKey for the hidden key column, or -1.
  static constexpr int kHiddenKey = -2;
  int KeyPosition(int column) const {
    if (column >= 0 && column == input_.hidden_key_column) return kHiddenKey;
    for (int k = 0; k < key_count_; k++) {
      if (input_.key_columns[k] == column) return k;
    }
    return -1;
  }

  // Can the store evaluate `c` exactly, by key order alone?
  bool Pushable(const PlanConstraint& c) const {
    if (!c.usable || KeyPosition(c.column) == -1) return false;
    switch (c.op) {
      case PlanOp::kIsNull:
      case PlanOp::kIsNotNull:
        return true;  // no comparison, so no collation
      case PlanOp::kEq:
      case PlanOp::kIn:
      case PlanOp::kIs:
      case PlanOp::kGt:
      case PlanOp::kGe:
      case PlanOp::kLt:
      case PlanOp::kLe:
        return c.collation_is_binary;
      default:
        return false;
    }
  }

  // The first pushable constraint on key position `position` matching `want`.
  template <typename Predicate>
  int FindConstraint(int position, Predicate want) const {
    for (size_t i = 0; i < input_.constraints.size(); i++) {
      const PlanConstraint& c = input_.constraints[i];
      if (Pushable(c) && KeyPosition(c.column) == position && want(c.op)) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  // The pushable bounds on `position`, grouped as kBoundOps orders them, at most
  // kMaxBoundsPerOp of each op.
  std::vector<int> FindBounds(int position) const {
    std::vector<int> bounds;
    for (PlanOp op : kBoundOps) {
      int taken = 0;
      for (size_t i = 0; i < input_.constraints.size(); i++) {
        const PlanConstraint& c = input_.constraints[i];
        if (c.op == op && Pushable(c) && KeyPosition(c.column) == position &&
            taken < DecodedPlan::kMaxBoundsPerOp) {
          bounds.push_back(static_cast<int>(i));
          taken++;
        }
      }
    }
    return bounds;
  }

  // The table of cases (best_index_plan.h); fills shape_.kind, encoded_key and the
  // constraints the plan uses.
  void ChooseAccess() {
    for (const PlanConstraint& c : input_.constraints) {
      if (c.op == PlanOp::kIsNull && Pushable(c)) {
        shape_.kind = PlanKind::kEmpty;  // key columns are NOT NULL
        return;
      }
    }

    int hidden_eq = FindConstraint(kHiddenKey, IsEquality);
    if (hidden_eq >= 0) {
      SetEncoded(PlanKind::kPoint);
      eq_constraints_.push_back(hidden_eq);
      return;
    }

    int prefix = 0;
    std::vector<int> prefix_eq;
    while (prefix < key_count_ && prefix < DecodedPlan::kMaxEqColumns) {
      int eq = FindConstraint(prefix, IsEquality);
      if (eq < 0) break;
      prefix_eq.push_back(eq);
      prefix++;
    }
    if (key_count_ > 0 && prefix == key_count_) {
      shape_.kind = PlanKind::kPoint;
      eq_constraints_ = std::move(prefix_eq);
      return;
    }

    int hidden_in = FindConstraint(kHiddenKey, [](PlanOp op) { return op == PlanOp::kIn; });
    if (hidden_in >= 0) {
      SetEncoded(PlanKind::kInList);
      in_constraint_ = hidden_in;
      return;
    }

    if (prefix < key_count_) {
      int in = FindConstraint(prefix, [](PlanOp op) { return op == PlanOp::kIn; });
      if (in >= 0) {
        shape_.kind = PlanKind::kInList;
        eq_constraints_ = std::move(prefix_eq);
        in_constraint_ = in;
        return;
      }
      std::vector<int> bounds = FindBounds(prefix);
      if (!bounds.empty() || prefix > 0) {
        shape_.kind = PlanKind::kRange;
        eq_constraints_ = std::move(prefix_eq);
        bound_constraints_ = std::move(bounds);
        return;
      }
    }

    std::vector<int> hidden_bounds = FindBounds(kHiddenKey);
    if (!hidden_bounds.empty()) {
      SetEncoded(PlanKind::kRange);
      bound_constraints_ = std::move(hidden_bounds);
      return;
    }
    shape_.kind = PlanKind::kFullScan;
  }

  void SetEncoded(PlanKind kind) {
    shape_.kind = kind;
    shape_.encoded_key = true;
  }

  // Gives every constraint the plan uses its argv slot (in the layout DecodedPlan
  // documents) and omit = true; decides ORDER BY, LIMIT and OFFSET on the way.
  void AssignArguments(BestIndexPlan* plan) {
    std::vector<PlanConstraintUsage>& usage = plan->constraint_usage;
    int next_argv = 1;
    auto use = [&](int constraint) {
      usage[constraint].argv_index = next_argv++;
      usage[constraint].omit = true;
    };

    shape_.eq_count = static_cast<int>(eq_constraints_.size());
    for (int c : eq_constraints_) use(c);
    if (in_constraint_ >= 0) {
      shape_.in_argv = next_argv;
      use(in_constraint_);
      usage[in_constraint_].in_all_at_once = true;
    }
    for (int c : bound_constraints_) {
      shape_.bound_storage[shape_.bound_count++] = {input_.constraints[c].op, next_argv};
      use(c);
    }

    // IS NOT NULL on a key column is always true: consumed, its (NULL) value ignored.
    // It must be marked before deciding LIMIT, and numbered after LIMIT and OFFSET.
    std::vector<int> always_true;
    if (shape_.kind != PlanKind::kEmpty) {
      for (size_t i = 0; i < input_.constraints.size(); i++) {
        const PlanConstraint& c = input_.constraints[i];
        if (c.op == PlanOp::kIsNotNull && Pushable(c)) {
          always_true.push_back(static_cast<int>(i));
          usage[i].omit = true;
        }
      }
    }

    order_by_consumed_ = DecideOrderBy();

    int limit = -1;
    int offset = -1;
    if (LimitAndOffsetConsumable(usage, &limit, &offset)) {
      shape_.limit_argv = next_argv;
      use(limit);
      if (offset >= 0) {
        shape_.offset_argv = next_argv;
        use(offset);
      }
    }
    shape_.argv_count = next_argv - 1;
    for (int c : always_true) use(c);
  }

  // An ORDER BY term as a key position (-1: not a key column).
  struct OrderTerm {
    int position;
    bool desc;
  };

  // ORDER BY (docs/planning.md, "ORDER BY"). Sets shape_.descending.
  bool DecideOrderBy() {
    if (input_.order_by.empty()) return false;
    if (shape_.kind == PlanKind::kPoint || shape_.kind == PlanKind::kEmpty) {
      return true;  // at most one row is in any order
    }
    if (key_count_ == 0) return false;  // no key order to offer
    // Rows come out sorted by the key columns at positions free_begin.. (the ones
    // before are fixed by equality), all ascending or all descending.
    int free_begin = shape_.encoded_key ? 0 : static_cast<int>(eq_constraints_.size());
    // Expand the terms to key positions; the hidden key orders like every key column.
    std::vector<OrderTerm> terms;
    for (const PlanOrderBy& o : input_.order_by) {
      int position = KeyPosition(o.column);
      if (position == kHiddenKey) {
        for (int k = 0; k < key_count_; k++) terms.push_back({k, o.desc});
      } else {
        terms.push_back({position, o.desc});
      }
    }
    if (input_.distinct == PlanDistinct::kGrouped || input_.distinct == PlanDistinct::kDistinct) {
      return GroupedByKeyPrefix(terms, free_begin);
    }

    int next = free_begin;  // the next key position the order must name
    bool direction_known = false;
    bool descending = false;
    for (const OrderTerm& t : terms) {
      if (next >= key_count_) break;  // the key is unique: later terms never decide
      if (t.position < 0 || t.position > next) return false;
      if (t.position < next) continue;  // fixed by equality, or already ordered by
      if (!direction_known) {
        direction_known = true;
        descending = t.desc;
      } else if (t.desc != descending) {
        return false;
      }
      next++;
    }
    shape_.descending = descending;
    return true;
  }

  // kGrouped/kDistinct: any order in which rows equal in every ORDER BY column are
  // adjacent. True when those columns (apart from fixed ones) are a prefix of the free
  // key columns, or include all of them (then every row is its own group).
  bool GroupedByKeyPrefix(const std::vector<OrderTerm>& terms, int free_begin) const {
    std::vector<bool> named(key_count_, false);
    bool other_column = false;
    for (const OrderTerm& t : terms) {
      if (t.position < 0) {
        other_column = true;
      } else if (t.position >= free_begin) {
        named[t.position] = true;
      }
    }
    int prefix = free_begin;
    while (prefix < key_count_ && named[prefix]) prefix++;
    if (prefix == key_count_) return true;
    if (other_column) return false;
    for (int k = prefix; k < key_count_; k++) {
      if (named[k]) return false;
    }
    return true;
  }

  // LIMIT and OFFSET (docs/planning.md): only if the rows xFilter returns are exactly
  // the statement's rows in their final order, so stopping early loses nothing.
  bool LimitAndOffsetConsumable(const std::vector<PlanConstraintUsage>& usage, int* limit,
                                int* offset) const {
    if (!input_.allow_limit_offset) return false;
    if (input_.distinct != PlanDistinct::kOrdered) return false;
    if (shape_.kind == PlanKind::kEmpty) return false;
    if (!input_.order_by.empty() && !order_by_consumed_) return false;
    int limits = 0;
    int offsets = 0;
    for (size_t i = 0; i < input_.constraints.size(); i++) {
      const PlanConstraint& c = input_.constraints[i];
      if (c.op == PlanOp::kLimit || c.op == PlanOp::kOffset) {
        if (!c.usable) return false;
        (c.op == PlanOp::kLimit ? *limit : *offset) = static_cast<int>(i);
        (c.op == PlanOp::kLimit ? limits : offsets)++;
        continue;
      }
      if (!usage[i].omit || c.sqlite_rechecks) return false;  // SQLite filters after us
      // A row-value `(a,b) > (x,y)` reaches us as `a >= x` and SQLite re-checks it
      // whatever omit says: only a known right-hand value rules that out.
      if ((c.op == PlanOp::kGe || c.op == PlanOp::kLe) && !c.rhs_value_known) return false;
    }
    return limits == 1 && offsets <= 1;
  }

  // estimatedRows and estimatedCost (docs/planning.md, "Costs").
  void Estimate(BestIndexPlan* plan) const {
    double seek = 1 + std::log2(std::max(table_rows_, 1.0));
    double rows = table_rows_;
    double seeks = 1;
    int free_begin = shape_.encoded_key ? 0 : shape_.eq_count;
    switch (shape_.kind) {
      case PlanKind::kEmpty:
        plan->estimated_rows = 0;
        plan->estimated_cost = kEmptyPlanCost;
        return;
      case PlanKind::kFullScan:
        break;
      case PlanKind::kPoint:
        rows = 1;
        break;
      case PlanKind::kInList:
        seeks = kAssumedInListValues;
        rows = kAssumedInListValues * (shape_.encoded_key ? 1 : RowsPerPrefix(free_begin + 1));
        break;
      case PlanKind::kRange: {
        rows = RowsPerPrefix(free_begin);
        bool lower = false;
        bool upper = false;
        for (const PlanBound& b : shape_.bounds()) {
          (b.op == PlanOp::kGt || b.op == PlanOp::kGe ? lower : upper) = true;
        }
        if (lower) rows *= kRangeSideSelectivity;
        if (upper) rows *= kRangeSideSelectivity;
        break;
      }
    }
    rows = std::clamp(rows, 1.0, std::min(std::max(table_rows_, 1.0), kMaxEstimatedRows));
    plan->estimated_rows = static_cast<int64_t>(std::llround(rows));
    plan->estimated_cost = seeks * seek + rows;
  }

  // Rows sharing the values of the first `fixed` key columns, if each column splits
  // the table evenly: N^((m - fixed) / m).
  double RowsPerPrefix(int fixed) const {
    if (key_count_ == 0 || fixed <= 0) return table_rows_;
    if (fixed >= key_count_) return 1;
    return std::pow(table_rows_, static_cast<double>(key_count_ - fixed) / key_count_);
  }

  int EncodeIdxNum() const {
    uint32_t bits = static_cast<uint32_t>(shape_.kind) << kKindShift;
    if (shape_.descending) bits |= uint32_t{1} << kDescendingBit;
    bits |= static_cast<uint32_t>(shape_.eq_count) << kEqCountShift;
    for (const PlanBound& b : shape_.bounds()) {
      bits += uint32_t{1} << (kBoundCountShift + 3 * BoundGroup(b.op));
    }
    if (shape_.limit_argv > 0) bits |= uint32_t{1} << kLimitBit;
    if (shape_.offset_argv > 0) bits |= uint32_t{1} << kOffsetBit;
    if (shape_.encoded_key) bits |= uint32_t{1} << kEncodedKeyBit;
    return static_cast<int>(bits);
  }

  std::string ColumnName(int column) const {
    if (column >= 0 && static_cast<size_t>(column) < input_.column_names.size()) {
      return input_.column_names[column];
    }
    std::string name("c");
    name.append(std::to_string(column));
    return name;
  }

  std::string ConstraintColumnName(int constraint) const {
    return ColumnName(input_.constraints[constraint].column);
  }

  std::string RenderIdxStr() const {
    std::string out;
    auto equalities = [&] {
      for (size_t i = 0; i < eq_constraints_.size(); i++) {
        if (i > 0) out.push_back(',');
        AppendName(&out, ConstraintColumnName(eq_constraints_[i]));
        out.append("=?");
      }
      out.push_back(')');
    };
    switch (shape_.kind) {
      case PlanKind::kEmpty:
        out = "empty";
        break;
      case PlanKind::kFullScan:
        out = "scan";
        break;
      case PlanKind::kPoint:
        out = "point(";
        equalities();
        break;
      case PlanKind::kInList:
        if (!eq_constraints_.empty()) {
          out = "prefix(";
          equalities();
          out.push_back(' ');
        }
        out.append("in(");
        AppendName(&out, ConstraintColumnName(in_constraint_));
        out.push_back(')');
        break;
      case PlanKind::kRange:
        if (!eq_constraints_.empty()) {
          out = "prefix(";
          equalities();
        }
        if (!bound_constraints_.empty()) {
          if (!out.empty()) out.push_back(' ');
          out.append("range(");
          for (size_t i = 0; i < bound_constraints_.size(); i++) {
            if (i > 0) out.push_back(',');
            AppendName(&out, ConstraintColumnName(bound_constraints_[i]));
            out.append(BoundOpText(input_.constraints[bound_constraints_[i]].op));
            out.push_back('?');
          }
          out.push_back(')');
        }
        break;
    }
    if (shape_.descending) out.append(" desc");
    if (shape_.limit_argv > 0) out.append(" limit");
    if (shape_.offset_argv > 0) out.append(" offset");
    return out;
  }

  const PlanInput& input_;
  const int key_count_;
  const double table_rows_;

  DecodedPlan shape_;
  std::vector<int> eq_constraints_;  // constraint indexes, in key order
  int in_constraint_ = -1;
  std::vector<int> bound_constraints_;  // constraint indexes, grouped as kBoundOps
  bool order_by_consumed_ = false;
};

}  // namespace

bool DecodedPlan::operator==(const DecodedPlan& other) const {
  if (kind != other.kind || descending != other.descending || encoded_key != other.encoded_key ||
      eq_count != other.eq_count || in_argv != other.in_argv || bound_count != other.bound_count ||
      limit_argv != other.limit_argv || offset_argv != other.offset_argv ||
      argv_count != other.argv_count) {
    return false;
  }
  for (int i = 0; i < bound_count; i++) {
    if (bound_storage[i].op != other.bound_storage[i].op ||
        bound_storage[i].argv != other.bound_storage[i].argv) {
      return false;
    }
  }
  return true;
}

BestIndexPlan PlanBestIndex(const PlanInput& input) { return Planner(input).Plan(); }

bool DecodePlan(int idx_num, std::string_view idx_str, size_t key_column_count, DecodedPlan* plan) {
  const uint32_t bits = static_cast<uint32_t>(idx_num);
  if ((bits & kReservedBits) != 0) return false;
  const uint32_t kind = (bits >> kKindShift) & kKindMask;
  if (kind < static_cast<uint32_t>(PlanKind::kFullScan) ||
      kind > static_cast<uint32_t>(PlanKind::kEmpty)) {
    return false;
  }
  DecodedPlan shape;
  shape.kind = static_cast<PlanKind>(kind);
  shape.descending = (bits >> kDescendingBit) & 1;
  shape.encoded_key = (bits >> kEncodedKeyBit) & 1;
  shape.eq_count = static_cast<int>((bits >> kEqCountShift) & kEqCountMask);
  const bool limit = (bits >> kLimitBit) & 1;
  const bool offset = (bits >> kOffsetBit) & 1;

  // The argv layout of DecodedPlan, in order.
  int next_argv = 1 + shape.eq_count;
  if (shape.kind == PlanKind::kInList) shape.in_argv = next_argv++;
  for (int g = 0; g < 4; g++) {
    int count = static_cast<int>((bits >> (kBoundCountShift + 3 * g)) & kBoundCountMask);
    for (int i = 0; i < count; i++) {
      shape.bound_storage[shape.bound_count++] = {kBoundOps[g], next_argv++};
    }
  }
  if (limit) shape.limit_argv = next_argv++;
  if (offset) shape.offset_argv = next_argv++;
  shape.argv_count = next_argv - 1;

  // Only the shapes PlanBestIndex makes, and only ones that fit this table.
  const size_t eq = static_cast<size_t>(shape.eq_count);
  const bool bounded = shape.bound_count > 0;
  if (offset && !limit) return false;
  switch (shape.kind) {
    case PlanKind::kEmpty:
      if (bits != kind) return false;
      break;
    case PlanKind::kFullScan:
      if (eq != 0 || bounded || shape.encoded_key) return false;
      break;
    case PlanKind::kPoint:
      if (bounded || shape.descending) return false;
      if (shape.encoded_key ? eq != 1 : (eq != key_column_count || eq == 0)) return false;
      break;
    case PlanKind::kInList:
      if (bounded) return false;
      if (shape.encoded_key ? eq != 0 : eq >= key_column_count) return false;
      break;
    case PlanKind::kRange:
      if (shape.encoded_key ? (eq != 0 || !bounded)
                            : (eq >= key_column_count || (eq == 0 && !bounded))) {
        return false;
      }
      break;
  }
  if (!MatchesIdxStr(shape, idx_str)) return false;
  *plan = shape;
  return true;
}

}  // namespace strata::sql
