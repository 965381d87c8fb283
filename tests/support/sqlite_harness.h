// Helpers for tests that drive SQLite (and the strata extension) through the C API.
//
//   test::SqliteDb db;
//   ASSERT_TRUE(db.Open(":memory:", &error)) << error;
//   ASSERT_TRUE(test::LoadStrata(&db, &error)) << error;
//   db.Run("CREATE VIRTUAL TABLE t USING strata(k INTEGER PRIMARY KEY, v)");
//   test::SqlResult r = db.Run("SELECT * FROM t WHERE k = ?", {test::SqlTestValue::Integer(1)});
//   EXPECT_EQ(r.code, SQLITE_OK) << r.message;
//   EXPECT_EQ(r.rows, (test::SqlRows{{"int:1", "text:'x'"}}));
//
// Every value of a result is rendered as a string that names its storage class and
// holds its exact content (see RenderColumn), so comparing rendered rows compares
// typeof() and value at once, with REALs exact (-0.0 and 0.0 differ, 1 and 1.0 differ).
//
// The test binary links the system libsqlite3; the extension is loaded from the path
// tests/CMakeLists.txt passes as STRATA_EXTENSION_PATH ($<TARGET_FILE:strata>), unless
// the environment variable STRATA_EXTENSION names another file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::test {

#ifdef STRATA_EXTENSION_PATH
// build/strata.so of the build this test belongs to, or the file the environment
// variable STRATA_EXTENSION names (to run the SQL tests against another build).
inline const char* StrataExtensionPath() {
  const char* path = std::getenv("STRATA_EXTENSION");
  return path != nullptr && *path != '\0' ? path : STRATA_EXTENSION_PATH;
}
#endif

// One SQLite value, for binding parameters and writing SQL literals.
class SqlTestValue {
 public:
  enum class Type { kNull, kInteger, kReal, kText, kBlob };

  SqlTestValue() = default;
  static SqlTestValue Null() { return SqlTestValue(); }
  static SqlTestValue Integer(int64_t v);
  static SqlTestValue Real(double v);  // NaN is not a SQLite value: it becomes NULL
  static SqlTestValue Text(std::string_view bytes);
  static SqlTestValue Blob(std::string_view bytes);

  Type type() const { return type_; }
  int64_t integer() const { return integer_; }
  double real() const { return real_; }
  const std::string& bytes() const { return bytes_; }  // TEXT or BLOB content

  // An SQL expression that evaluates to exactly this value and type, e.g. `NULL`,
  // `-9223372036854775808`, `1.5`, `-0.0`, `1e999` (+Inf), `'it''s'`, `x'00ff'`, and
  // `CAST(x'610062' AS TEXT)` for TEXT holding a NUL byte.
  std::string Literal() const;
  // The value rendered as RenderColumn renders a result column holding it.
  std::string Render() const;
  // Binds this value to parameter `index` (1-based) of stmt; returns the SQLite code.
  int Bind(sqlite3_stmt* stmt, int index) const;

 private:
  Type type_ = Type::kNull;
  int64_t integer_ = 0;
  double real_ = 0;
  std::string bytes_;
};

using SqlRow = std::vector<std::string>;
using SqlRows = std::vector<SqlRow>;

// Renders column `i` of the current row of stmt:
//   NULL        null
//   INTEGER     int:<decimal>                        int:-9223372036854775808
//   REAL        real:<%.17g>  (exact; -0 and inf kept)  real:0.10000000000000001, real:-0
//   TEXT        text:'<bytes>', bytes outside 0x20..0x7e and the backslash as \xNN
//   BLOB        blob:x'<lowercase hex>'
std::string RenderColumn(sqlite3_stmt* stmt, int i);

// What running SQL produced.
struct SqlResult {
  int code = SQLITE_OK;  // SQLITE_OK, or the extended error code of the failing statement
  std::string message;   // sqlite3_errmsg() when code != SQLITE_OK, else empty
  SqlRows rows;          // the rows of every statement, in order, rendered by RenderColumn
  int64_t changes = 0;   // sqlite3_changes64() after the last statement that ran

  bool ok() const { return code == SQLITE_OK; }
  // "code 1555 (UNIQUE constraint failed: t.k), changes 0, 2 rows: [int:1, null] ..."
  // at most `max_rows` rows are listed.
  std::string ToString(size_t max_rows = 20) const;
};

// The rows sorted, for comparing results whose order SQL leaves open.
SqlRows SortedRows(SqlRows rows);

// An SQLite connection, closed when the object is destroyed. Not copyable.
class SqliteDb {
 public:
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Opens (creating if needed) `path`, which may be ":memory:" or a URI filename. Closes
  // any connection this object held before. On failure returns false and sets *error.
  bool Open(const std::string& path, std::string* error);
  // Enables extension loading and loads the extension at `path` (entry point from its
  // file name, i.e. sqlite3_strata_init). On failure returns false and sets *error.
  bool LoadExtension(const char* path, std::string* error);
  // Closes the connection (sqlite3_close_v2: statements this class prepared are already
  // finalized). Returns the SQLite code of the close.
  int Close();

  sqlite3* get() const { return db_; }
  bool is_open() const { return db_ != nullptr; }
  // Whether the connection is outside any explicit transaction.
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

  // Prepares and steps every statement of `sql` in order, collecting their rows, and
  // stops at the first error. `params` are bound as ?1..?n to every statement that has
  // parameters (a statement's parameters beyond params.size() stay NULL).
  SqlResult Run(std::string_view sql, const std::vector<SqlTestValue>& params = {}) const;

 private:
  sqlite3* db_ = nullptr;
};

// Runs sql, which must succeed (a test failure naming the statement otherwise); returns
// its rows.
SqlRows Must(const SqliteDb& db, std::string_view sql);

// Opens `path` and loads the extension at `extension` into it. If either step fails,
// fails the test and returns a closed connection.
std::unique_ptr<SqliteDb> ConnectWithExtension(const std::string& path, const char* extension);

#ifdef STRATA_EXTENSION_PATH
// Loads build/strata.so into db.
inline bool LoadStrata(SqliteDb* db, std::string* error) {
  return db->LoadExtension(StrataExtensionPath(), error);
}

// A connection to `path` with build/strata.so loaded (see ConnectWithExtension).
inline std::unique_ptr<SqliteDb> Connect(const std::string& path) {
  return ConnectWithExtension(path, StrataExtensionPath());
}
#endif

}  // namespace strata::test
