#include "tests/support/sqlite_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace strata::test {
namespace {

void AppendHex(std::string* out, std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out->push_back(kDigits[c >> 4]);
    out->push_back(kDigits[c & 15]);
  }
}

// %.17g round-trips every double; "inf"/"-inf" and "-0" are kept as printf writes them.
std::string RealText(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%.17g", v);
  return buffer;
}

std::string RenderText(std::string_view bytes) {
  std::string out = "text:'";
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\x%02x", c);
      out += escape;
    }
  }
  out += "'";
  return out;
}

std::string RenderBlob(std::string_view bytes) {
  std::string out = "blob:x'";
  AppendHex(&out, bytes);
  out += "'";
  return out;
}

}  // namespace

SqlTestValue SqlTestValue::Integer(int64_t v) {
  SqlTestValue value;
  value.type_ = Type::kInteger;
  value.integer_ = v;
  return value;
}

SqlTestValue SqlTestValue::Real(double v) {
  SqlTestValue value;
  if (std::isnan(v)) return value;
  value.type_ = Type::kReal;
  value.real_ = v;
  return value;
}

SqlTestValue SqlTestValue::Text(std::string_view bytes) {
  SqlTestValue value;
  value.type_ = Type::kText;
  value.bytes_ = bytes;
  return value;
}

SqlTestValue SqlTestValue::Blob(std::string_view bytes) {
  SqlTestValue value;
  value.type_ = Type::kBlob;
  value.bytes_ = bytes;
  return value;
}

std::string SqlTestValue::Literal() const {
  switch (type_) {
    case Type::kNull:
      return "NULL";
    case Type::kInteger:
      // SQLite parses -9223372036854775808 as one integer literal.
      return std::to_string(integer_);
    case Type::kReal: {
      if (std::isinf(real_)) return real_ > 0 ? "1e999" : "-1e999";
      std::string text = RealText(real_);
      // Without '.', 'e' or "inf" the literal would be an INTEGER (e.g. "-0", "3").
      if (text.find_first_of(".e") == std::string::npos) text += ".0";
      return text;
    }
    case Type::kText: {
      if (bytes_.find('\0') != std::string::npos) {
        std::string out = "CAST(x'";
        AppendHex(&out, bytes_);
        out += "' AS TEXT)";
        return out;
      }
      std::string out = "'";
      for (char c : bytes_) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
      }
      out += "'";
      return out;
    }
    case Type::kBlob: {
      std::string out = "x'";
      AppendHex(&out, bytes_);
      out += "'";
      return out;
    }
  }
  return "NULL";
}

std::string SqlTestValue::Render() const {
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kInteger:
      return "int:" + std::to_string(integer_);
    case Type::kReal:
      return "real:" + RealText(real_);
    case Type::kText:
      return RenderText(bytes_);
    case Type::kBlob:
      return RenderBlob(bytes_);
  }
  return "null";
}

int SqlTestValue::Bind(sqlite3_stmt* stmt, int index) const {
  switch (type_) {
    case Type::kNull:
      return sqlite3_bind_null(stmt, index);
    case Type::kInteger:
      return sqlite3_bind_int64(stmt, index, integer_);
    case Type::kReal:
      return sqlite3_bind_double(stmt, index, real_);
    case Type::kText:
      return sqlite3_bind_text64(stmt, index, bytes_.data(), bytes_.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    case Type::kBlob:
      // A zero-length blob must not be bound from a null pointer (that binds NULL).
      return sqlite3_bind_blob64(stmt, index, bytes_.empty() ? "" : bytes_.data(), bytes_.size(),
                                 SQLITE_TRANSIENT);
  }
  return SQLITE_MISUSE;
}

std::string RenderColumn(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return "int:" + std::to_string(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
      return "real:" + RealText(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return RenderText(std::string_view(text, sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      int size = sqlite3_column_bytes(stmt, i);
      return RenderBlob(size == 0 ? std::string_view() : std::string_view(blob, size));
    }
    default:
      return "null";
  }
}

std::string SqlResult::ToString(size_t max_rows) const {
  std::string out = "code " + std::to_string(code);
  if (code != SQLITE_OK) out += " (" + message + ")";
  out += ", changes " + std::to_string(changes) + ", " + std::to_string(rows.size()) + " rows";
  for (size_t r = 0; r < rows.size() && r < max_rows; r++) {
    out += r == 0 ? ": [" : " [";
    for (size_t c = 0; c < rows[r].size(); c++) {
      if (c > 0) out += ", ";
      out += rows[r][c];
    }
    out += "]";
  }
  if (rows.size() > max_rows) out += " ...";
  return out;
}

SqlRows SortedRows(SqlRows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

SqliteDb::~SqliteDb() { Close(); }

bool SqliteDb::Open(const std::string& path, std::string* error) {
  Close();
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    *error = "sqlite3_open_v2(" + path +
             "): " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    Close();
    return false;
  }
  sqlite3_extended_result_codes(db_, 1);
  return true;
}

bool SqliteDb::LoadExtension(const char* path, std::string* error) {
  int rc = sqlite3_enable_load_extension(db_, 1);
  if (rc != SQLITE_OK) {
    *error = std::string("sqlite3_enable_load_extension: ") + sqlite3_errmsg(db_);
    return false;
  }
  char* message = nullptr;
  rc = sqlite3_load_extension(db_, path, nullptr, &message);
  if (rc != SQLITE_OK) {
    *error = std::string("loading ") + path + ": " + (message != nullptr ? message : "");
    sqlite3_free(message);
    return false;
  }
  return true;
}

int SqliteDb::Close() {
  if (db_ == nullptr) return SQLITE_OK;
  int rc = sqlite3_close_v2(db_);
  db_ = nullptr;
  return rc;
}

SqlResult SqliteDb::Run(std::string_view sql, const std::vector<SqlTestValue>& params) const {
  SqlResult result;
  if (db_ == nullptr) {
    result.code = SQLITE_MISUSE;
    result.message = "the connection is not open";
    return result;
  }
  const char* tail = sql.data();
  const char* end = sql.data() + sql.size();
  while (tail < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* next = nullptr;
    int rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &stmt, &next);
    if (rc != SQLITE_OK) {
      result.code = sqlite3_extended_errcode(db_);
      result.message = sqlite3_errmsg(db_);
      return result;
    }
    tail = next;
    if (stmt == nullptr) continue;  // whitespace or a comment
    int count = sqlite3_bind_parameter_count(stmt);
    for (int i = 0; i < count && i < static_cast<int>(params.size()); i++) {
      rc = params[i].Bind(stmt, i + 1);
      if (rc != SQLITE_OK) break;
    }
    while (rc == SQLITE_OK) {
      int step = sqlite3_step(stmt);
      if (step == SQLITE_ROW) {
        SqlRow row;
        for (int c = 0; c < sqlite3_column_count(stmt); c++) row.push_back(RenderColumn(stmt, c));
        result.rows.push_back(std::move(row));
        continue;
      }
      if (step != SQLITE_DONE) rc = step;
      break;
    }
    if (rc != SQLITE_OK) {
      result.code = sqlite3_extended_errcode(db_);
      result.message = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      result.changes = sqlite3_changes64(db_);
      return result;
    }
    sqlite3_finalize(stmt);
    result.changes = sqlite3_changes64(db_);
  }
  return result;
}

SqlRows Must(const SqliteDb& db, std::string_view sql) {
  SqlResult r = db.Run(sql);
  EXPECT_TRUE(r.ok()) << sql << "\n  -> " << r.ToString();
  return r.rows;
}

std::unique_ptr<SqliteDb> ConnectWithExtension(const std::string& path, const char* extension) {
  auto db = std::make_unique<SqliteDb>();
  std::string error;
  if (!db->Open(path, &error) || !db->LoadExtension(extension, &error)) {
    ADD_FAILURE() << error;
    db->Close();
  }
  return db;
}

}  // namespace strata::test
