// The glue's view of SQLite: sqlite3ext.h (so every call goes through the API pointer
// the loader hands to sqlite3_strata_init, as a loadable extension must), plus the
// conversions between sqlite3_value and the SQLite-free SqlValue, and from Status to
// SQLite result codes. Included only by extension/sqlite_*.cc.
#pragma once

#include <sqlite3ext.h>

#include <string>
#include <string_view>

#include "extension/sql_value.h"
#include "strata/status.h"

SQLITE_EXTENSION_INIT3

namespace strata::sql {

// A view of v: TEXT and BLOB point into SQLite's memory, valid until v changes.
inline SqlValue ToSqlValue(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      return SqlValue::Integer(sqlite3_value_int64(v));
    case SQLITE_FLOAT:
      return SqlValue::Real(sqlite3_value_double(v));
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
      return SqlValue::Text(std::string_view(text, sqlite3_value_bytes(v)));
    }
    case SQLITE_BLOB: {
      const auto* blob = static_cast<const char*>(sqlite3_value_blob(v));
      int size = sqlite3_value_bytes(v);
      return SqlValue::Blob(size == 0 ? std::string_view() : std::string_view(blob, size));
    }
    default:
      return SqlValue::Null();
  }
}

// Sets the result of a function or xColumn call; TEXT and BLOB are copied.
inline void ResultSqlValue(sqlite3_context* ctx, const SqlValue& v) {
  switch (v.type()) {
    case SqlType::kNull:
      sqlite3_result_null(ctx);
      break;
    case SqlType::kInteger:
      sqlite3_result_int64(ctx, v.integer());
      break;
    case SqlType::kReal:
      sqlite3_result_double(ctx, v.real());
      break;
    case SqlType::kText:
      sqlite3_result_text64(ctx, v.bytes().data(), v.bytes().size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8);
      break;
    case SqlType::kBlob:
      sqlite3_result_blob64(ctx, v.bytes().data(), v.bytes().size(), SQLITE_TRANSIENT);
      break;
  }
}

// The SQLite result code for an engine error.
inline int SqliteCode(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return SQLITE_OK;
    case Status::Code::kNotFound: return SQLITE_ERROR;
    case Status::Code::kCorruption: return SQLITE_CORRUPT;
    case Status::Code::kNotSupported: return SQLITE_ERROR;
    case Status::Code::kInvalidArgument: return SQLITE_ERROR;
    case Status::Code::kIOError: return SQLITE_IOERR;
    case Status::Code::kBusy: return SQLITE_BUSY;
  }
  return SQLITE_ERROR;
}

// Replaces *message (an sqlite3_malloc'ed string owned by SQLite, e.g. zErrMsg) with
// `text`.
inline void SetErrorMessage(char** message, std::string_view text) {
  sqlite3_free(*message);
  *message = sqlite3_mprintf("%.*s", static_cast<int>(text.size()), text.data());
}

}  // namespace strata::sql
