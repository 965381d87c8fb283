// Tests of extension/table_schema.h: parsing CREATE VIRTUAL TABLE arguments, the
// declaration handed to sqlite3_declare_vtab, and the catalog record. Where SQLite has
// an opinion (declared types, keywords, what a declaration may say) the tests ask the
// linked sqlite3 library, through ordinary tables and through a stub virtual table
// module that declares exactly what DeclareVtabSql returns.
#include "extension/table_schema.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace strata::sql {
namespace {

using Args = std::vector<std::string_view>;

Status Parse(const Args& args, TableSchema* schema) { return ParseTableSchema("t", args, schema); }

TableSchema MustParse(const Args& args) {
  TableSchema schema;
  Status s = Parse(args, &schema);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return schema;
}

void ExpectError(const Args& args, Status::Code code, const std::string& message) {
  TableSchema schema;
  Status s = Parse(args, &schema);
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_EQ(s.message(), message);
}

void ExpectInvalid(const Args& args, const std::string& message) {
  ExpectError(args, Status::Code::kInvalidArgument, message);
}

void ExpectNotSupported(const Args& args, const std::string& message) {
  ExpectError(args, Status::Code::kNotSupported, message);
}

std::vector<std::string> ColumnNames(const TableSchema& schema) {
  std::vector<std::string> names;
  for (const ColumnDefinition& c : schema.columns) names.push_back(c.name);
  return names;
}

// --- sqlite3 harness ---------------------------------------------------------------------

// A virtual table module whose tables declare the SQL given as the module's client data;
// nothing else works, nothing else is needed to inspect the declared schema.
struct StubVtab {
  sqlite3_vtab base;
};
int StubConnect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char** err) {
  int rc = sqlite3_declare_vtab(db, static_cast<const std::string*>(aux)->c_str());
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    return rc;
  }
  *out = &(new StubVtab{})->base;
  return SQLITE_OK;
}
int StubBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1e9;
  return SQLITE_OK;
}
int StubDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<StubVtab*>(vtab);
  return SQLITE_OK;
}
int StubOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = new sqlite3_vtab_cursor{};
  return SQLITE_OK;
}
int StubClose(sqlite3_vtab_cursor* cursor) {
  delete cursor;
  return SQLITE_OK;
}
int StubFilter(sqlite3_vtab_cursor*, int, const char*, int, sqlite3_value**) { return SQLITE_OK; }
int StubNext(sqlite3_vtab_cursor*) { return SQLITE_OK; }
int StubEof(sqlite3_vtab_cursor*) { return 1; }
int StubColumn(sqlite3_vtab_cursor*, sqlite3_context*, int) { return SQLITE_OK; }
int StubRowid(sqlite3_vtab_cursor*, sqlite3_int64* rowid) {
  *rowid = 0;
  return SQLITE_OK;
}

sqlite3_module MakeStubModule() {
  sqlite3_module m{};
  m.xCreate = StubConnect;
  m.xConnect = StubConnect;
  m.xBestIndex = StubBestIndex;
  m.xDisconnect = StubDisconnect;
  m.xDestroy = StubDisconnect;
  m.xOpen = StubOpen;
  m.xClose = StubClose;
  m.xFilter = StubFilter;
  m.xNext = StubNext;
  m.xEof = StubEof;
  m.xColumn = StubColumn;
  m.xRowid = StubRowid;
  return m;
}
const sqlite3_module kStubModule = MakeStubModule();

struct DeclaredColumn {
  std::string name;
  std::string type;
  int not_null;
  int pk;
  int hidden;
};

class Db {
 public:
  Db() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_create_module(db_, "stub", &kStubModule, &declare_sql_), SQLITE_OK);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs `sql`; returns "" or SQLite's error message.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    std::string message = rc == SQLITE_OK ? "" : (error != nullptr ? error : "error");
    sqlite3_free(error);
    return message;
  }

  // Creates virtual table `name` declared by `declare_sql`; returns "" or the error.
  std::string CreateVirtualTable(const std::string& name, const std::string& declare_sql) {
    declare_sql_ = declare_sql;
    return Exec("CREATE VIRTUAL TABLE \"" + name + "\" USING stub");
  }

  // pragma_table_xinfo of `table` (hidden columns included).
  std::vector<DeclaredColumn> Columns(const std::string& table) {
    std::vector<DeclaredColumn> columns;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_,
                                 "SELECT name, type, \"notnull\", pk, hidden "
                                 "FROM pragma_table_xinfo(?)",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(stmt, 1, table.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      auto text = [&](int i) {
        const unsigned char* t = sqlite3_column_text(stmt, i);
        return std::string(t ? reinterpret_cast<const char*>(t) : "");
      };
      columns.push_back(DeclaredColumn{text(0), text(1), sqlite3_column_int(stmt, 2),
                                       sqlite3_column_int(stmt, 3), sqlite3_column_int(stmt, 4)});
    }
    sqlite3_finalize(stmt);
    return columns;
  }

 private:
  sqlite3* db_ = nullptr;
  std::string declare_sql_;
};

// Declares `schema` through sqlite3_declare_vtab and checks that SQLite sees exactly its
// columns (names, types, NOT NULL, none hidden) followed by the hidden key column.
void ExpectDeclarationAccepted(const TableSchema& schema) {
  Db db;
  const std::string sql = schema.DeclareVtabSql();
  ASSERT_EQ(db.CreateVirtualTable("v", sql), "") << sql;
  std::vector<DeclaredColumn> declared = db.Columns("v");
  ASSERT_EQ(declared.size(), schema.columns.size() + 1) << sql;
  for (size_t i = 0; i < schema.columns.size(); i++) {
    SCOPED_TRACE(sql + " column " + std::to_string(i));
    EXPECT_EQ(declared[i].name, schema.columns[i].name);
    EXPECT_EQ(declared[i].type, schema.columns[i].declared_type);
    EXPECT_EQ(declared[i].not_null, schema.columns[i].not_null ? 1 : 0);
    EXPECT_EQ(declared[i].pk, 0);
    EXPECT_EQ(declared[i].hidden, 0);
  }
  const DeclaredColumn& key = declared.back();
  EXPECT_EQ(key.name, kHiddenKeyColumnName);
  EXPECT_EQ(key.type, "BLOB");
  EXPECT_EQ(key.pk, 1);
  EXPECT_EQ(key.hidden, 1);
  EXPECT_EQ(key.not_null, 1);
}

// Creates an ordinary WITHOUT ROWID table from the same (non-option) arguments and
// checks that it records the same names, declared types, NOT NULL and key positions.
void ExpectSameAsOrdinaryTable(const Args& args, const TableSchema& schema) {
  std::string sql = "CREATE TABLE o(";
  bool first = true;
  for (std::string_view arg : args) {
    if (arg.find('=') != std::string_view::npos) continue;  // options (none in the corpus)
    if (!first) sql += ", ";
    first = false;
    sql += arg;
  }
  sql += ") WITHOUT ROWID";
  Db db;
  ASSERT_EQ(db.Exec(sql), "") << sql;
  std::vector<DeclaredColumn> declared = db.Columns("o");
  ASSERT_EQ(declared.size(), schema.columns.size()) << sql;
  for (size_t i = 0; i < declared.size(); i++) {
    SCOPED_TRACE(sql + " column " + std::to_string(i));
    const ColumnDefinition& c = schema.columns[i];
    EXPECT_EQ(declared[i].name, c.name);
    EXPECT_EQ(declared[i].type, c.declared_type);
    EXPECT_EQ(declared[i].not_null, c.not_null ? 1 : 0);
    EXPECT_EQ(declared[i].pk, c.key_position + 1);
    EXPECT_EQ(c.affinity, AffinityOfDeclaredType(c.declared_type));
  }
}

// --- Column definitions -------------------------------------------------------------------

TEST(TableSchemaParse, NoArgumentsGiveKeyValueTable) {
  TableSchema schema = MustParse({});
  EXPECT_EQ(schema.table_name, "t");
  ASSERT_EQ(schema.columns.size(), 2u);
  EXPECT_EQ(schema.columns[0].name, "key");
  EXPECT_EQ(schema.columns[0].declared_type, "");
  EXPECT_EQ(schema.columns[0].affinity, Affinity::kBlob);
  EXPECT_TRUE(schema.columns[0].is_key);
  EXPECT_TRUE(schema.columns[0].not_null);
  EXPECT_EQ(schema.columns[0].key_position, 0);
  EXPECT_EQ(schema.columns[1].name, "value");
  EXPECT_EQ(schema.columns[1].affinity, Affinity::kBlob);
  EXPECT_FALSE(schema.columns[1].is_key);
  EXPECT_FALSE(schema.columns[1].not_null);
  EXPECT_EQ(schema.columns[1].value_position, 0);
  EXPECT_EQ(schema.key_columns, std::vector<int>({0}));
  EXPECT_EQ(schema.value_columns, std::vector<int>({1}));
  EXPECT_EQ(schema.hidden_key_column(), 2);
}

TEST(TableSchemaParse, OnlyOptionsGiveKeyValueTable) {
  TableSchema schema = MustParse({"sync=off"});
  EXPECT_EQ(ColumnNames(schema), std::vector<std::string>({"key", "value"}));
  EXPECT_EQ(schema.key_columns, std::vector<int>({0}));
  EXPECT_EQ(schema.options.sync, SyncMode::kOff);
}

TEST(TableSchemaParse, ColumnLevelPrimaryKey) {
  TableSchema schema = MustParse({"id INTEGER PRIMARY KEY", "name TEXT", "email TEXT"});
  EXPECT_EQ(ColumnNames(schema), std::vector<std::string>({"id", "name", "email"}));
  EXPECT_EQ(schema.columns[0].declared_type, "INTEGER");
  EXPECT_EQ(schema.columns[0].affinity, Affinity::kInteger);
  EXPECT_TRUE(schema.columns[0].is_key);
  EXPECT_TRUE(schema.columns[0].not_null);
  EXPECT_EQ(schema.columns[0].key_position, 0);
  EXPECT_EQ(schema.columns[0].value_position, -1);
  EXPECT_EQ(schema.columns[1].affinity, Affinity::kText);
  EXPECT_FALSE(schema.columns[1].is_key);
  EXPECT_FALSE(schema.columns[1].not_null);
  EXPECT_EQ(schema.columns[1].key_position, -1);
  EXPECT_EQ(schema.columns[1].value_position, 0);
  EXPECT_EQ(schema.columns[2].value_position, 1);
  EXPECT_EQ(schema.key_columns, std::vector<int>({0}));
  EXPECT_EQ(schema.value_columns, std::vector<int>({1, 2}));
}

TEST(TableSchemaParse, TableLevelCompositeKeyKeepsItsOwnOrder) {
  TableSchema schema = MustParse(
      {"user_id INTEGER", "ts INTEGER", "kind TEXT", "body BLOB", "PRIMARY KEY (ts, user_id)"});
  EXPECT_EQ(schema.key_columns, std::vector<int>({1, 0}));
  EXPECT_EQ(schema.value_columns, std::vector<int>({2, 3}));
  EXPECT_EQ(schema.columns[1].key_position, 0);
  EXPECT_EQ(schema.columns[0].key_position, 1);
  EXPECT_TRUE(schema.columns[0].not_null);
  EXPECT_TRUE(schema.columns[1].not_null);
  EXPECT_EQ(schema.columns[3].affinity, Affinity::kBlob);
  EXPECT_EQ(schema.columns[3].value_position, 1);
}

TEST(TableSchemaParse, KeyColumnsAreMatchedCaseInsensitively) {
  TableSchema schema = MustParse({"Id INT", "b", "CONSTRAINT pk PRIMARY KEY (\"ID\" ASC, B)"});
  EXPECT_EQ(schema.key_columns, std::vector<int>({0, 1}));
  EXPECT_EQ(schema.FindColumn("iD"), 0);
  EXPECT_EQ(schema.FindColumn("c"), -1);
}

TEST(TableSchemaParse, QuotedNamesAreDequoted) {
  TableSchema schema =
      MustParse({"\"x y\" PRIMARY KEY", "[a b]", "`c``d`", "'e''f'", "\"g\"\"h\" TEXT", "ünï"});
  EXPECT_EQ(ColumnNames(schema),
            std::vector<std::string>({"x y", "a b", "c`d", "e'f", "g\"h", "ünï"}));
}

TEST(TableSchemaParse, ArgumentsAreTrimmedAndCommentsSkipped) {
  TableSchema schema =
      MustParse({"  a /* the key */ INT PRIMARY KEY \n", "b -- a comment\n TEXT", "\tc\t"});
  EXPECT_EQ(ColumnNames(schema), std::vector<std::string>({"a", "b", "c"}));
  EXPECT_EQ(schema.columns[1].declared_type, "TEXT");
  // SQLite records the type's source text, comments included, as for ordinary tables.
  TableSchema commented = MustParse({"a INT /* x */ EGER PRIMARY KEY"});
  EXPECT_EQ(commented.columns[0].declared_type, "INT /* x */ EGER");
}

TEST(TableSchemaParse, DeclaredTypeIsRecordedAsSqliteRecordsIt) {
  TableSchema schema =
      MustParse({"a VARCHAR(20) PRIMARY KEY", "b UNSIGNED BIG INT", "c DECIMAL(10, 5)",
                 "d VARCHAR ( 20 )", "e DOUBLE PRECISION", "f \"my type\"",
                 "g NUMERIC(+5,-2) NOT NULL", "h INTEGER GENERATED ALWAYS", "i 'TEXT'"});
  EXPECT_EQ(schema.columns[0].declared_type, "VARCHAR(20)");
  EXPECT_EQ(schema.columns[0].affinity, Affinity::kText);
  EXPECT_EQ(schema.columns[1].declared_type, "UNSIGNED BIG INT");
  EXPECT_EQ(schema.columns[1].affinity, Affinity::kInteger);
  EXPECT_EQ(schema.columns[2].declared_type, "DECIMAL(10, 5)");
  EXPECT_EQ(schema.columns[2].affinity, Affinity::kNumeric);
  EXPECT_EQ(schema.columns[3].declared_type, "VARCHAR ( 20 )");
  EXPECT_EQ(schema.columns[4].declared_type, "DOUBLE PRECISION");
  EXPECT_EQ(schema.columns[4].affinity, Affinity::kReal);
  EXPECT_EQ(schema.columns[5].declared_type, "my type");
  EXPECT_EQ(schema.columns[6].declared_type, "NUMERIC(+5,-2)");
  EXPECT_TRUE(schema.columns[6].not_null);
  EXPECT_EQ(schema.columns[7].declared_type, "INTEGER");  // SQLite drops "GENERATED ALWAYS"
  EXPECT_EQ(schema.columns[8].declared_type, "TEXT");
  EXPECT_EQ(schema.columns[8].affinity, Affinity::kText);
}

TEST(TableSchemaParse, NotNullNullAndConstraintNamesAreAccepted) {
  // A dangling constraint name is accepted and ignored, as SQLite does.
  TableSchema schema = MustParse({"a INT CONSTRAINT pk PRIMARY KEY ASC", "b TEXT NOT NULL",
                                  "c NULL", "d CONSTRAINT nn NOT NULL CONSTRAINT x NULL",
                                  "e CONSTRAINT dangling", "CONSTRAINT dangling"});
  EXPECT_EQ(ColumnNames(schema), std::vector<std::string>({"a", "b", "c", "d", "e"}));
  EXPECT_EQ(schema.key_columns, std::vector<int>({0}));
  EXPECT_TRUE(schema.columns[1].not_null);
  EXPECT_FALSE(schema.columns[2].not_null);
  EXPECT_TRUE(schema.columns[3].not_null);
}

TEST(TableSchemaParse, DefaultNullIsAcceptedAndOtherDefaultsAreNotSupported) {
  TableSchema schema = MustParse({"a PRIMARY KEY", "b TEXT DEFAULT NULL NOT NULL"});
  EXPECT_TRUE(schema.columns[1].not_null);
  const std::string message =
      "table t: column 'b': DEFAULT is not supported (SQLite passes NULL to a virtual table "
      "for an omitted column, so a default could not be applied); only DEFAULT NULL is "
      "accepted";
  for (std::string_view b : {"b DEFAULT 0", "b TEXT DEFAULT 'x'", "b DEFAULT -1",
                             "b DEFAULT CURRENT_TIMESTAMP", "b DEFAULT (1 + 2)"}) {
    ExpectNotSupported({"a PRIMARY KEY", b}, message);
  }
}

TEST(TableSchemaParse, CollationRules) {
  TableSchema schema = MustParse({"a TEXT COLLATE BINARY PRIMARY KEY", "b TEXT COLLATE nocase",
                                  "c TEXT COLLATE \"RTRIM\"", "d COLLATE binary"});
  EXPECT_EQ(schema.columns[0].collation, Collation::kBinary);
  EXPECT_EQ(schema.columns[1].collation, Collation::kNocase);
  EXPECT_EQ(schema.columns[2].collation, Collation::kRtrim);
  EXPECT_EQ(schema.columns[3].collation, Collation::kBinary);
  MustParse({"a TEXT", "PRIMARY KEY (a COLLATE BINARY)"});

  const std::string key_nocase =
      "table t: column 'a': COLLATE NOCASE on a PRIMARY KEY column is not supported (keys are "
      "ordered with BINARY collation)";
  ExpectNotSupported({"a TEXT COLLATE NOCASE PRIMARY KEY"}, key_nocase);
  ExpectNotSupported({"a TEXT COLLATE NOCASE", "PRIMARY KEY (a)"}, key_nocase);
  ExpectNotSupported({"a TEXT", "PRIMARY KEY (a COLLATE NOCASE)"}, key_nocase);
  ExpectNotSupported({"a TEXT PRIMARY KEY COLLATE RTRIM"},
                     "table t: column 'a': COLLATE RTRIM on a PRIMARY KEY column is not "
                     "supported (keys are ordered with BINARY collation)");
  ExpectNotSupported({"a PRIMARY KEY", "b TEXT COLLATE french"},
                     "table t: column 'b': collation 'french' is not supported (supported: "
                     "BINARY, NOCASE, RTRIM)");
}

TEST(TableSchemaParse, UnsupportedConstraintsNameTheColumnAndTheConstraint) {
  struct Case {
    std::string_view arg;
    std::string message;
  };
  const Case cases[] = {
      {"b UNIQUE",
       "table t: column 'b': UNIQUE is not supported (only the PRIMARY KEY is "
       "unique)"},
      {"b INT CHECK (b > 0)", "table t: column 'b': CHECK constraints are not supported"},
      {"b REFERENCES p(id)", "table t: column 'b': foreign keys (REFERENCES) are not supported"},
      {"b NOT DEFERRABLE", "table t: column 'b': DEFERRABLE (of foreign keys) is not supported"},
      {"b INT AS (a + 1)", "table t: column 'b': generated columns (AS ...) are not supported"},
      {"b INT GENERATED ALWAYS AS (a + 1) STORED",
       "table t: column 'b': generated columns (AS ...) are not supported"},
      {"b INT NOT NULL GENERATED ALWAYS AS (1)",
       "table t: column 'b': generated columns (AS ...) are not supported"},
      {"b NOT NULL ON CONFLICT IGNORE",
       "table t: column 'b': ON CONFLICT clauses in a table definition are not supported (use "
       "INSERT OR ... / UPDATE OR ...)"},
      {"UNIQUE (a)",
       "table t: UNIQUE table constraints are not supported (only the PRIMARY KEY is unique)"},
      {"CONSTRAINT c CHECK (a > 0)", "table t: CHECK constraints are not supported"},
      {"FOREIGN KEY (a) REFERENCES p(id)", "table t: FOREIGN KEY constraints are not supported"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.arg);
    ExpectNotSupported({"a INT PRIMARY KEY", c.arg}, c.message);
  }
  ExpectNotSupported({"a INTEGER PRIMARY KEY AUTOINCREMENT"},
                     "table t: column 'a': AUTOINCREMENT is not supported (as in WITHOUT ROWID "
                     "tables)");
  ExpectNotSupported({"a INTEGER PRIMARY KEY ON CONFLICT REPLACE"},
                     "table t: column 'a': ON CONFLICT clauses in a table definition are not "
                     "supported (use INSERT OR ... / UPDATE OR ...)");
  ExpectNotSupported({"a", "PRIMARY KEY (a) ON CONFLICT FAIL"},
                     "table t: ON CONFLICT clauses in a table definition are not supported (use "
                     "INSERT OR ... / UPDATE OR ...)");
}

TEST(TableSchemaParse, PrimaryKeyErrors) {
  ExpectInvalid({"a INT", "b TEXT"},
                "table t: a strata table needs a PRIMARY KEY (declare a column PRIMARY KEY, or "
                "add PRIMARY KEY (column, ...))");
  ExpectInvalid({"a PRIMARY KEY", "b PRIMARY KEY"}, "table t: more than one PRIMARY KEY");
  ExpectInvalid({"a PRIMARY KEY PRIMARY KEY"}, "table t: more than one PRIMARY KEY");
  ExpectInvalid({"a PRIMARY KEY", "b", "PRIMARY KEY (b)"}, "table t: more than one PRIMARY KEY");
  ExpectInvalid({"a", "PRIMARY KEY (a)", "PRIMARY KEY (a)"}, "table t: more than one PRIMARY KEY");
  ExpectInvalid({"a", "PRIMARY KEY (z)"},
                "table t: PRIMARY KEY column 'z' is not a column of the table");
  ExpectInvalid({"PRIMARY KEY (a)"},
                "table t: PRIMARY KEY column 'a' is not a column of the table");
  ExpectInvalid({"a", "b", "PRIMARY KEY (a, b, A)"},
                "table t: column 'a' appears twice in the PRIMARY KEY");
  ExpectInvalid({"a", "PRIMARY KEY (a + 1)"},
                "table t: syntax error near '+' in 'PRIMARY KEY (a + 1)'");
  const std::string desc =
      "table t: column 'a': PRIMARY KEY DESC is not supported (keys are stored in ascending "
      "order; ORDER BY ... DESC is still fast)";
  ExpectNotSupported({"a INT PRIMARY KEY DESC"}, desc);
  ExpectNotSupported({"a INT", "b", "PRIMARY KEY (b, a DESC)"}, desc);
}

TEST(TableSchemaParse, ColumnNameErrors) {
  ExpectInvalid({"a PRIMARY KEY", "b", "B"}, "table t: duplicate column name 'B'");
  ExpectInvalid({"a PRIMARY KEY", "\"x\"", "[X]"}, "table t: duplicate column name 'X'");
  ExpectInvalid({"a PRIMARY KEY", "_STRATA_KEY BLOB"},
                "table t: column name '_STRATA_KEY' is reserved for the hidden key column");
  ExpectInvalid({"a PRIMARY KEY", "\"\" TEXT"}, "table t: column 2 has an empty name");
  ExpectInvalid({"a PRIMARY KEY", "b \"\""}, "table t: column 'b': empty type name");
}

TEST(TableSchemaParse, TypeContainingHiddenIsNotSupported) {
  // In a virtual table's declaration the word HIDDEN in a type hides the column.
  for (std::string_view b : {"b HIDDEN", "b TEXT hidden", "b \"my hidden type\""}) {
    SCOPED_TRACE(b);
    TableSchema schema;
    Status s = Parse({"a PRIMARY KEY", b}, &schema);
    EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
    EXPECT_NE(s.message().find("contains the word HIDDEN"), std::string::npos) << s.ToString();
  }
  ExpectNotSupported({"a PRIMARY KEY", "b TEXT HIDDEN"},
                     "table t: column 'b': type 'TEXT HIDDEN' contains the word HIDDEN, which "
                     "would hide the column of a virtual table");
  // Only the whole word counts, as in SQLite.
  TableSchema schema = MustParse({"a PRIMARY KEY", "b HIDDENTEXT", "c UNHIDDEN"});
  ExpectDeclarationAccepted(schema);
}

TEST(TableSchemaParse, ColumnLimitIsSqlitesLimitLessTheHiddenKey) {
  std::vector<std::string> defs;
  defs.push_back("c0 PRIMARY KEY");
  for (size_t i = 1; i < kMaxColumns; i++) {
    std::string def = "c";  // (not "c" + ...: g++ 12 -O3 warns falsely about that)
    def += std::to_string(i);
    def += " INT";
    defs.push_back(def);
  }
  Args args(defs.begin(), defs.end());
  TableSchema schema = MustParse(args);
  EXPECT_EQ(schema.columns.size(), kMaxColumns);
  ExpectDeclarationAccepted(schema);

  defs.push_back("one_more");
  Args too_many(defs.begin(), defs.end());
  ExpectInvalid(too_many, "table t: too many columns (at most 1999)");
  // And SQLite agrees that one more would be too many.
  schema.columns.push_back(schema.columns.back());
  schema.columns.back().name = "one_more";
  Db db;
  EXPECT_EQ(db.CreateVirtualTable("v", schema.DeclareVtabSql()), "too many columns on x");
}

TEST(TableSchemaParse, SyntaxErrorsQuoteTheArgument) {
  ExpectInvalid({"a PRIMARY KEY", "b 'unterminated"},
                "table t: unterminated quoted text 'unterminated");
  ExpectInvalid({"a PRIMARY KEY", "[b"}, "table t: unterminated quoted text [b");
  ExpectInvalid({"a PRIMARY KEY", "b INT foo("}, "table t: incomplete definition 'b INT foo('");
  ExpectInvalid({"a PRIMARY KEY", "b INT )"}, "table t: syntax error near ')' in 'b INT )'");
  ExpectInvalid({"a PRIMARY KEY", "b VARCHAR(20"}, "table t: incomplete definition 'b VARCHAR(20'");
  ExpectInvalid({"a PRIMARY KEY", "b VARCHAR(x)"},
                "table t: syntax error near 'x' in 'b VARCHAR(x)'");
  ExpectInvalid({"a PRIMARY"}, "table t: incomplete definition 'a PRIMARY'");
  ExpectInvalid({"a PRIMARY KEY", "b NOT"}, "table t: incomplete definition 'b NOT'");
  ExpectInvalid({"a PRIMARY KEY", "b INT CONSTRAINT"},
                "table t: incomplete definition 'b INT CONSTRAINT'");
  ExpectInvalid({"a PRIMARY KEY", "SELECT INT"},
                "table t: syntax error near 'SELECT' in 'SELECT INT'");
  ExpectInvalid({"a PRIMARY KEY", "b INT 5"}, "table t: syntax error near '5' in 'b INT 5'");
  ExpectInvalid({"a PRIMARY KEY", "b, c"}, "table t: syntax error near ',' in 'b, c'");
  ExpectInvalid({"a PRIMARY KEY", "  /* only a comment */ "}, "table t: argument 2 is empty");
  ExpectInvalid({"a PRIMARY KEY", std::string_view("b\0c", 3)},
                "table t: argument 2 contains a NUL byte");
}

// --- Options -----------------------------------------------------------------------------

TEST(TableSchemaOptions, DefaultsWhenNoneAreGiven) {
  const TableOptions o = MustParse({"a PRIMARY KEY"}).options;
  EXPECT_EQ(o.sync, SyncMode::kFull);
  EXPECT_EQ(o.write_buffer_size, size_t{64} << 20);
  EXPECT_EQ(o.block_cache_size, size_t{64} << 20);
  EXPECT_EQ(o.compression_level, 1);
  EXPECT_EQ(o.bloom_bits_per_key, 10);
  EXPECT_EQ(o.dir, "");
  EXPECT_FALSE(o.given.sync || o.given.write_buffer_size || o.given.block_cache_size ||
               o.given.compression || o.given.bloom_bits_per_key || o.given.dir);
  EXPECT_EQ(o.ToString(),
            "sync=full, write_buffer_size=64MiB, block_cache_size=64MiB, compression=zstd:1, "
            "bloom_bits_per_key=10, dir=''");
}

TEST(TableSchemaOptions, Sync) {
  EXPECT_EQ(MustParse({"sync=full"}).options.sync, SyncMode::kFull);
  EXPECT_EQ(MustParse({"SYNC = Normal"}).options.sync, SyncMode::kNormal);
  EXPECT_EQ(MustParse({"sync='off'"}).options.sync, SyncMode::kOff);
  EXPECT_EQ(MustParse({"\"sync\"=\"OFF\""}).options.sync, SyncMode::kOff);
  EXPECT_TRUE(MustParse({"sync=full"}).options.given.sync);
  ExpectInvalid({"sync=fast"},
                "table t: option sync: invalid value 'fast' (expected full, normal or off)");
  ExpectInvalid({"sync="}, "table t: option sync: invalid value '' (expected full, normal or off)");
}

TEST(TableSchemaOptions, SizesAcceptSuffixesInPowersOf1024) {
  struct Case {
    std::string_view value;
    size_t bytes;
  };
  const Case cases[] = {
      {"65536", 65536},
      {"64k", 64 << 10},
      {"64 K", 64 << 10},
      {"64 KiB", 64 << 10},
      {"'64kb'", 64 << 10},
      {"\"64KB\"", 64 << 10},
      {"16m", 16 << 20},
      {"16 MiB", 16 << 20},
      {"'16MiB'", 16 << 20},
      {"1g", size_t{1} << 30},
      {"2 GB", size_t{2} << 30},
      {"3GiB", size_t{3} << 30},
      {"1024 g", size_t{1} << 40},
      {"1099511627776", size_t{1} << 40},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    std::string wbs = "write_buffer_size=" + std::string(c.value);
    std::string bcs = "block_cache_size=" + std::string(c.value);
    TableSchema schema = MustParse({wbs, bcs});
    EXPECT_EQ(schema.options.write_buffer_size, c.bytes);
    EXPECT_EQ(schema.options.block_cache_size, c.bytes);
    EXPECT_TRUE(schema.options.given.write_buffer_size);
    EXPECT_TRUE(schema.options.given.block_cache_size);
  }
  EXPECT_EQ(MustParse({"block_cache_size=0"}).options.block_cache_size, 0u);
}

TEST(TableSchemaOptions, SizesRejectMalformedAndOutOfRangeValues) {
  const std::string wbs_expected =
      "(expected a size from 64KiB to 1TiB, such as 16777216, 16 MiB or '16MiB')";
  for (std::string_view v :
       {"abc", "", "-1", "1.5m", "64 x", "64 kibi", "64 mk", "k", "65535", "63k", "1025g",
        "1099511627777", "99999999999999999999999", "64 k b"}) {
    SCOPED_TRACE(v);
    std::string arg = "write_buffer_size=" + std::string(v);
    std::string shown(v);
    if (!shown.empty() && shown[0] == '\'') shown = shown.substr(1, shown.size() - 2);
    ExpectInvalid(
        {arg}, "table t: option write_buffer_size: invalid value '" + shown + "' " + wbs_expected);
  }
  ExpectInvalid({"block_cache_size=lots"},
                "table t: option block_cache_size: invalid value 'lots' (expected a size from 0 "
                "to 1TiB, such as 0, 67108864, 64 MiB or '64MiB')");
}

TEST(TableSchemaOptions, Compression) {
  EXPECT_EQ(MustParse({"compression=none"}).options.compression_level, 0);
  EXPECT_EQ(MustParse({"compression=ZSTD"}).options.compression_level, 1);
  EXPECT_EQ(MustParse({"compression=zstd:1"}).options.compression_level, 1);
  EXPECT_EQ(MustParse({"compression='zstd:19'"}).options.compression_level, 19);
  EXPECT_TRUE(MustParse({"compression=zstd"}).options.given.compression);
  EXPECT_EQ(MustParse({"compression=zstd:3"}).options.compression_algorithm,
            CompressionAlgorithm::kZstd);
  for (std::string_view v : {"lz4", "LZ4", "'lz4'"}) {
    SCOPED_TRACE(v);
    TableOptions o = MustParse({"compression=" + std::string(v)}).options;
    EXPECT_EQ(o.compression_algorithm, CompressionAlgorithm::kLz4);
    EXPECT_EQ(o.compression_level, 1);
    EXPECT_TRUE(o.given.compression);
    EXPECT_NE(o.ToString().find(", compression=lz4, "), std::string::npos) << o.ToString();
  }
  for (std::string_view v : {"lz5", "snappy", "lz4:1", "lz4hc", "zstd:0", "zstd:20",
                             "zstd:", "zstd:x", "zstd: 3", "zstd:-1"}) {
    SCOPED_TRACE(v);
    ExpectInvalid({"compression=" + std::string(v)},
                  "table t: option compression: invalid value '" + std::string(v) +
                      "' (expected none, zstd, zstd:<level 1 to 19> or lz4)");
  }
}

TEST(TableSchemaOptions, BloomBitsPerKey) {
  EXPECT_EQ(MustParse({"bloom_bits_per_key=0"}).options.bloom_bits_per_key, 0);
  EXPECT_EQ(MustParse({"bloom_bits_per_key = 30"}).options.bloom_bits_per_key, 30);
  for (std::string_view v : {"31", "-1", "ten", "1e1", ""}) {
    SCOPED_TRACE(v);
    ExpectInvalid({"bloom_bits_per_key=" + std::string(v)},
                  "table t: option bloom_bits_per_key: invalid value '" + std::string(v) +
                      "' (expected an integer from 0 to 30)");
  }
}

TEST(TableSchemaOptions, Dir) {
  EXPECT_EQ(MustParse({"dir='/tmp/my store'"}).options.dir, "/tmp/my store");
  EXPECT_EQ(MustParse({"dir=/var/lib/x-y.d"}).options.dir, "/var/lib/x-y.d");
  EXPECT_EQ(MustParse({"dir=\"it''s\""}).options.dir, "it''s");
  EXPECT_EQ(MustParse({"dir='it''s'"}).options.dir, "it's");
  EXPECT_TRUE(MustParse({"dir=x"}).options.given.dir);
  ExpectInvalid({"dir=''"}, "table t: option dir: invalid value '' (expected a directory path)");
}

TEST(TableSchemaOptions, UnknownOptionListsTheKnownOnes) {
  ExpectInvalid({"a PRIMARY KEY", "foo=1"},
                "table t: unknown option 'foo' (known: sync, write_buffer_size, "
                "block_cache_size, compression, bloom_bits_per_key, dir)");
}

TEST(TableSchemaOptions, OptionGivenTwiceIsAnError) {
  ExpectInvalid({"sync=off", "SYNC=off"}, "table t: option 'sync' is given twice");
  ExpectInvalid({"dir=a", "dir=b"}, "table t: option 'dir' is given twice");
}

TEST(TableSchemaOptions, OptionsMayComeAnywhere) {
  TableSchema schema = MustParse({"bloom_bits_per_key=5", "a INT PRIMARY KEY", "sync=normal",
                                  "b TEXT", "write_buffer_size=1m"});
  EXPECT_EQ(ColumnNames(schema), std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(schema.options.bloom_bits_per_key, 5);
  EXPECT_EQ(schema.options.sync, SyncMode::kNormal);
  EXPECT_EQ(schema.options.write_buffer_size, size_t{1} << 20);
  // A quoted column name may contain '='.
  EXPECT_EQ(MustParse({"\"a=b\" PRIMARY KEY"}).columns[0].name, "a=b");
}

TEST(TableSchemaOptions, TableOptionsAgreeComparesOnlyGivenOptions) {
  TableOptions store = MustParse({"sync=off", "bloom_bits_per_key=4"}).options;
  std::string difference;
  EXPECT_TRUE(TableOptionsAgree(MustParse({}).options, store, &difference));
  EXPECT_TRUE(TableOptionsAgree(MustParse({"sync=OFF"}).options, store, &difference));
  EXPECT_FALSE(TableOptionsAgree(MustParse({"sync=full"}).options, store, &difference));
  EXPECT_EQ(difference, "option sync is 'full' here but 'off' for the store");
  EXPECT_FALSE(TableOptionsAgree(MustParse({"write_buffer_size=1m"}).options, store, &difference));
  EXPECT_EQ(difference, "option write_buffer_size is '1MiB' here but '64MiB' for the store");
  EXPECT_FALSE(TableOptionsAgree(MustParse({"block_cache_size=100"}).options, store, nullptr));
  EXPECT_FALSE(TableOptionsAgree(MustParse({"compression=none"}).options, store, &difference));
  EXPECT_EQ(difference, "option compression is 'none' here but 'zstd:1' for the store");
  // lz4 and zstd:1 have the same level: the algorithm is compared too.
  EXPECT_FALSE(TableOptionsAgree(MustParse({"compression=lz4"}).options, store, &difference));
  EXPECT_EQ(difference, "option compression is 'lz4' here but 'zstd:1' for the store");
  EXPECT_TRUE(TableOptionsAgree(MustParse({"compression=lz4"}).options,
                                MustParse({"compression=lz4"}).options, &difference));
  EXPECT_FALSE(TableOptionsAgree(MustParse({"bloom_bits_per_key=10"}).options, store, &difference));
  EXPECT_EQ(difference, "option bloom_bits_per_key is '10' here but '4' for the store");
  EXPECT_FALSE(TableOptionsAgree(MustParse({"dir=/x"}).options, store, &difference));
  EXPECT_EQ(difference, "option dir is '/x' here but '' for the store");
}

TEST(TableSchemaOptions, SameTableOptionsComparesEffectiveValues) {
  std::string difference;
  EXPECT_TRUE(
      SameTableOptions(MustParse({}).options, MustParse({"sync=full"}).options, &difference));
  EXPECT_FALSE(
      SameTableOptions(MustParse({}).options, MustParse({"sync=normal"}).options, &difference));
  EXPECT_EQ(difference, "option sync is 'full' in one but 'normal' in the other");
  EXPECT_FALSE(SameTableOptions(MustParse({"block_cache_size=0"}).options, MustParse({}).options,
                                &difference));
  EXPECT_EQ(difference, "option block_cache_size is '0' in one but '64MiB' in the other");
}

// --- DeclareVtabSql -----------------------------------------------------------------------

TEST(TableSchemaDeclare, DeclareVtabSqlText) {
  EXPECT_EQ(MustParse({}).DeclareVtabSql(),
            "CREATE TABLE x(\"key\" NOT NULL, \"value\", \"_strata_key\" BLOB HIDDEN NOT NULL "
            "PRIMARY KEY) WITHOUT ROWID");
  EXPECT_EQ(
      MustParse({"id INTEGER PRIMARY KEY", "name TEXT COLLATE NOCASE", "email TEXT", "sync=off"})
          .DeclareVtabSql(),
      "CREATE TABLE x(\"id\" INTEGER NOT NULL, \"name\" TEXT COLLATE NOCASE, \"email\" "
      "TEXT, \"_strata_key\" BLOB HIDDEN NOT NULL PRIMARY KEY) WITHOUT ROWID");
  // Names and types that need it are quoted, embedded quotes doubled.
  EXPECT_EQ(MustParse({"\"a\"\"b\" VARCHAR(20) PRIMARY KEY", "[c d] \"my\"\"type\"",
                       "e INT /* c */ EGER", "f NUMERIC(10, -2) NOT NULL", "g \"KEY\""})
                .DeclareVtabSql(),
            "CREATE TABLE x(\"a\"\"b\" VARCHAR(20) NOT NULL, \"c d\" \"my\"\"type\", \"e\" "
            "\"INT /* c */ EGER\", \"f\" NUMERIC(10, -2) NOT NULL, \"g\" \"KEY\", "
            "\"_strata_key\" BLOB HIDDEN NOT NULL PRIMARY KEY) WITHOUT ROWID");
}

// A corpus of definitions: each must give the same columns as an ordinary table and be
// declarable as a virtual table.
const std::vector<Args>& DefinitionCorpus() {
  static const std::vector<Args> corpus = {
      {"key PRIMARY KEY", "value"},
      {"id INTEGER PRIMARY KEY", "name TEXT", "email TEXT"},
      {"user_id INTEGER", "ts INTEGER", "kind TEXT", "body BLOB", "PRIMARY KEY (user_id, ts)"},
      {"a VARCHAR(20) PRIMARY KEY", "b UNSIGNED BIG INT", "c DECIMAL(10, 5)", "d VARCHAR ( 20 )",
       "e DOUBLE PRECISION", "f \"my type\"", "g NUMERIC(+5,-2) NOT NULL"},
      {"\"x y\" PRIMARY KEY", "[a b]", "`c``d`", "'e''f'", "\"g\"\"h\" TEXT", "ünï REAL"},
      {"a INT /* x */ EGER PRIMARY KEY", "b FOO /* INT */ BAR", "c TEXT -- x\n NOT NULL"},
      {"a INTEGER GENERATED ALWAYS", "b foo_generated_always", "c VERYLONGTYPENAM ALWAYS",
       "d x generated always", "e 'INT' 'x'", "f x 'y'", "PRIMARY KEY (c, a)"},
      {"a TEXT COLLATE BINARY PRIMARY KEY", "b TEXT COLLATE NOCASE NOT NULL", "c COLLATE RTRIM",
       "d DEFAULT NULL", "e CONSTRAINT n NULL"},
      {"k PRIMARY KEY", "a KEY", "b ASC", "c REPLACE", "d INT KEY", "e CURRENT_TIME",
       "f TEMP TABLES", "g \"TABLE\"", "h [SELECT]", "i \"a\"\" b\" c"},
      {"k PRIMARY KEY", "a \"x always always always\"", "b NUMERIC(0x10)", "c T(1.5e3, .5)"},
      {"left", "right INT", "cross TEXT", "PRIMARY KEY (left, right)"},
  };
  return corpus;
}

TEST(TableSchemaDeclare, CorpusMatchesOrdinaryTablesAndIsDeclarable) {
  for (const Args& args : DefinitionCorpus()) {
    std::string trace;
    for (std::string_view a : args) trace += std::string(a) + " | ";
    SCOPED_TRACE(trace);
    TableSchema schema = MustParse(args);
    ExpectSameAsOrdinaryTable(args, schema);
    ExpectDeclarationAccepted(schema);
  }
}

// Every SQLite keyword, as a type word and as a column name: where SQLite accepts the
// definition in an ordinary table we accept it with the same declared type (or refuse it
// as NotSupported), where SQLite rejects it we reject it too, and what we accept can be
// declared.
TEST(TableSchemaDeclare, KeywordsAsTypesAndNamesBehaveAsInSqlite) {
  const int count = sqlite3_keyword_count();
  EXPECT_EQ(count, 147);
  for (int i = 0; i < count; i++) {
    const char* name;
    int size;
    ASSERT_EQ(sqlite3_keyword_name(i, &name, &size), SQLITE_OK);
    const std::string keyword(name, size);
    // The quoted ones are types made of keywords, which the declaration must quote.
    for (const std::string& def : {"c " + keyword, "c INT " + keyword, keyword + " INT",
                                   "c \"" + keyword + "\"", "c 'INT " + keyword + "'"}) {
      SCOPED_TRACE(def);
      const Args args = {"k PRIMARY KEY", def};
      Db db;
      const bool sqlite_accepts =
          db.Exec("CREATE TABLE o(k PRIMARY KEY, " + def + ") WITHOUT ROWID").empty();
      TableSchema schema;
      Status s = Parse(args, &schema);
      if (!sqlite_accepts) {
        EXPECT_FALSE(s.ok()) << "SQLite rejects it";
      } else if (!s.ok()) {
        EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
      } else {
        ExpectSameAsOrdinaryTable(args, schema);
        ExpectDeclarationAccepted(schema);
      }
    }
  }
}

// --- Catalog record -------------------------------------------------------------------

void ExpectSameSchema(const TableSchema& a, const TableSchema& b) {
  EXPECT_EQ(a.table_name, b.table_name);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t i = 0; i < a.columns.size(); i++) {
    const ColumnDefinition& x = a.columns[i];
    const ColumnDefinition& y = b.columns[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.declared_type, y.declared_type);
    EXPECT_EQ(x.affinity, y.affinity);
    EXPECT_EQ(x.collation, y.collation);
    EXPECT_EQ(x.not_null, y.not_null);
    EXPECT_EQ(x.is_key, y.is_key);
    EXPECT_EQ(x.key_position, y.key_position);
    EXPECT_EQ(x.value_position, y.value_position);
  }
  EXPECT_EQ(a.key_columns, b.key_columns);
  EXPECT_EQ(a.value_columns, b.value_columns);
  std::string difference;
  EXPECT_TRUE(SameTableOptions(a.options, b.options, &difference)) << difference;
  const TableOptions::Given& g = a.options.given;
  const TableOptions::Given& h = b.options.given;
  EXPECT_EQ(g.sync, h.sync);
  EXPECT_EQ(g.write_buffer_size, h.write_buffer_size);
  EXPECT_EQ(g.block_cache_size, h.block_cache_size);
  EXPECT_EQ(g.compression, h.compression);
  EXPECT_EQ(a.options.compression_level, b.options.compression_level);
  EXPECT_EQ(a.options.compression_algorithm, b.options.compression_algorithm);
  EXPECT_EQ(g.bloom_bits_per_key, h.bloom_bits_per_key);
  EXPECT_EQ(g.dir, h.dir);
  EXPECT_EQ(a.DeclareVtabSql(), b.DeclareVtabSql());
}

std::vector<TableSchema> SampleSchemas() {
  std::vector<TableSchema> schemas;
  for (const Args& args : DefinitionCorpus()) schemas.push_back(MustParse(args));
  schemas.push_back(
      MustParse({"a INT", "b TEXT COLLATE RTRIM", "c", "PRIMARY KEY (c, a)", "sync=normal",
                 "write_buffer_size=1m", "block_cache_size=0", "compression=zstd:7",
                 "bloom_bits_per_key=0", "dir='/tmp/a store'"}));
  schemas.push_back(MustParse({"compression=none", "sync=off"}));
  schemas.push_back(MustParse({"k PRIMARY KEY", "compression=lz4"}));
  return schemas;
}

TEST(TableSchemaRecord, RoundTrip) {
  for (const TableSchema& schema : SampleSchemas()) {
    SCOPED_TRACE(schema.DeclareVtabSql());
    TableSchema decoded;
    Status s = TableSchema::Deserialize(schema.Serialize(), &decoded);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectSameSchema(schema, decoded);
    std::string difference;
    EXPECT_TRUE(decoded.SameShape(schema, &difference)) << difference;
    EXPECT_EQ(decoded.Serialize(), schema.Serialize());
  }
}

TEST(TableSchemaRecord, EveryTruncationIsCorruption) {
  const std::string record = SampleSchemas().back().Serialize();
  for (size_t size = 0; size < record.size(); size++) {
    TableSchema out;
    Status s = TableSchema::Deserialize(std::string_view(record).substr(0, size), &out);
    EXPECT_TRUE(s.IsCorruption()) << size << ": " << s.ToString();
  }
  // Trailing garbage too.
  TableSchema out;
  EXPECT_TRUE(TableSchema::Deserialize(record + "x", &out).IsCorruption());
}

TEST(TableSchemaRecord, EveryByteFlipIsCorruption) {
  for (const TableSchema& schema : SampleSchemas()) {
    const std::string record = schema.Serialize();
    for (size_t i = 0; i < record.size(); i++) {
      for (uint8_t mask : {0x01, 0x80, 0xFF}) {
        std::string damaged = record;
        damaged[i] = static_cast<char>(damaged[i] ^ mask);
        TableSchema out;
        Status s = TableSchema::Deserialize(damaged, &out);
        EXPECT_TRUE(s.IsCorruption()) << "byte " << i << " ^ " << int{mask} << ": " << s.ToString();
      }
    }
  }
}

// Records whose checksum is right but whose content no parse could produce.
TEST(TableSchemaRecord, InvalidSchemasWithValidChecksumsAreCorruption) {
  const TableSchema base = MustParse({"a INT", "b TEXT", "PRIMARY KEY (a)"});
  struct Case {
    const char* what;
    void (*damage)(TableSchema*);
    const char* message;
  };
  const Case cases[] = {
      {"no columns",
       [](TableSchema* s) {
         s->columns.clear();
         s->key_columns.clear();
       },
       "table schema record: bad column count 0"},
      {"no key", [](TableSchema* s) { s->key_columns.clear(); },
       "table schema record: bad key column count 0"},
      {"key out of range", [](TableSchema* s) { s->key_columns = {2}; },
       "table schema record: key column index 2 out of range"},
      {"key twice",
       [](TableSchema* s) {
         s->key_columns = {0, 0};
       },
       "table schema record: table t: column 'a' appears twice in the PRIMARY KEY"},
      // (std::string assigned from a temporary: GCC 12 misreports -Wrestrict on = "A".)
      {"duplicate names", [](TableSchema* s) { s->columns[1].name = std::string(1, 'A'); },
       "table schema record: table t: duplicate column name 'A'"},
      {"hidden key name", [](TableSchema* s) { s->columns[1].name = "_strata_key"; },
       "table schema record: table t: column name '_strata_key' is reserved for the hidden "
       "key column"},
      {"empty name", [](TableSchema* s) { s->columns[1].name.clear(); },
       "table schema record: table t: column 2 has an empty name"},
      {"NUL in a type",
       [](TableSchema* s) { s->columns[1].declared_type = std::string("a\0b", 3); },
       "table schema record: table t: column 2 contains a NUL byte"},
      {"key collation", [](TableSchema* s) { s->columns[0].collation = Collation::kNocase; },
       "table schema record: table t: column 'a': COLLATE NOCASE on a PRIMARY KEY column is "
       "not supported (keys are ordered with BINARY collation)"},
      {"small write buffer", [](TableSchema* s) { s->options.write_buffer_size = 1; },
       "table schema record: table t: options: write_buffer_size out of range"},
      {"compression level", [](TableSchema* s) { s->options.compression_level = 20; },
       "table schema record: table t: options: compression level out of range"},
      {"bloom bits", [](TableSchema* s) { s->options.bloom_bits_per_key = 31; },
       "table schema record: table t: options: bloom_bits_per_key out of range"},
      {"huge cache", [](TableSchema* s) { s->options.block_cache_size = kMaxOptionSize + 1; },
       "table schema record: bad options"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TableSchema damaged = base;
    c.damage(&damaged);
    TableSchema out;
    Status s = TableSchema::Deserialize(damaged.Serialize(), &out);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(TableSchemaRecord, RandomBytesNeverCrash) {
  std::mt19937 rng(20240611);
  const std::string valid = SampleSchemas()[2].Serialize();
  for (int round = 0; round < 20000; round++) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {  // a valid record with a few random bytes
      bytes = valid;
      for (int j = 0; j < 3; j++) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      if (bytes == valid) continue;
    }
    TableSchema out;
    EXPECT_FALSE(TableSchema::Deserialize(bytes, &out).ok());
  }
}

TEST(TableSchemaRecord, FailedDeserializeLeavesOutputUnchanged) {
  TableSchema out = MustParse({"a PRIMARY KEY", "b"});
  std::string record = out.Serialize();
  record[3] ^= 1;
  EXPECT_TRUE(TableSchema::Deserialize(record, &out).IsCorruption());
  EXPECT_EQ(ColumnNames(out), std::vector<std::string>({"a", "b"}));
  EXPECT_TRUE(TableSchema::Deserialize("", &out).IsCorruption());
  EXPECT_EQ(ColumnNames(out), std::vector<std::string>({"a", "b"}));
}

// --- SameShape ----------------------------------------------------------------------------

TEST(TableSchemaShape, TableNameAndOptionsDoNotMatter) {
  TableSchema here;
  ASSERT_TRUE(
      ParseTableSchema("renamed", {"id INTEGER PRIMARY KEY", "name TEXT", "sync=off"}, &here).ok());
  TableSchema catalog = MustParse({"id INTEGER PRIMARY KEY", "name TEXT"});
  std::string difference = "unchanged";
  EXPECT_TRUE(here.SameShape(catalog, &difference));
  EXPECT_EQ(difference, "unchanged");
}

TEST(TableSchemaShape, DifferencesAreDescribed) {
  const TableSchema catalog =
      MustParse({"id INTEGER PRIMARY KEY", "name TEXT", "email TEXT COLLATE NOCASE"});
  struct Case {
    Args here;
    std::string difference;
  };
  const Case cases[] = {
      {{"id INTEGER PRIMARY KEY", "name TEXT", "mail TEXT COLLATE NOCASE"},
       "column 3 is 'email TEXT COLLATE NOCASE' in the catalog but 'mail TEXT COLLATE NOCASE' "
       "here"},
      {{"id INTEGER PRIMARY KEY", "name VARCHAR(10)", "email TEXT COLLATE NOCASE"},
       "column 2 is 'name TEXT' in the catalog but 'name VARCHAR(10)' here"},
      {{"id INTEGER PRIMARY KEY", "name TEXT NOT NULL", "email TEXT COLLATE NOCASE"},
       "column 2 is 'name TEXT' in the catalog but 'name TEXT NOT NULL' here"},
      {{"id INTEGER PRIMARY KEY", "name TEXT", "email TEXT"},
       "column 3 is 'email TEXT COLLATE NOCASE' in the catalog but 'email TEXT' here"},
      {{"ID INTEGER PRIMARY KEY", "name TEXT", "email TEXT COLLATE NOCASE"},
       "column 1 is 'id INTEGER NOT NULL' in the catalog but 'ID INTEGER NOT NULL' here"},
      {{"id INTEGER PRIMARY KEY", "name TEXT"},
       "the catalog has 3 columns (id, name, email) but here 2 (id, name)"},
      {{"id INTEGER", "name TEXT", "email TEXT COLLATE NOCASE", "PRIMARY KEY (id, name)"},
       "the PRIMARY KEY is (id) in the catalog but (id, name) here"},
      {{"\"my id\" INTEGER PRIMARY KEY", "name TEXT", "email TEXT COLLATE NOCASE"},
       "column 1 is 'id INTEGER NOT NULL' in the catalog but '\"my id\" INTEGER NOT NULL' "
       "here"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.difference);
    std::string difference;
    EXPECT_FALSE(MustParse(c.here).SameShape(catalog, &difference));
    EXPECT_EQ(difference, c.difference);
  }
  EXPECT_FALSE(MustParse({"a PRIMARY KEY"}).SameShape(catalog, nullptr));
}

}  // namespace
}  // namespace strata::sql
