#include "extension/table_schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

#include "extension/option_text.h"

namespace strata::sql {
namespace {

// --- ASCII helpers (SQLite folds case and matches names in ASCII only) ----------------

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string AsciiLowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool IsSpace(char c) {  // sqlite3Isspace
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// SQLite's IdChar: letters, digits, '_', '$' and every byte of a multi-byte character.
bool IsIdChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdStart(char c) { return IsIdChar(c) && !IsDigit(c) && c != '$'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// --- SQLite's keywords ------------------------------------------------------------------

// Every keyword of SQLite 3.40, as sqlite3_keyword_name lists them. (A type made of
// keywords must be quoted in the declaration: tests/table_schema_test.cc declares each.)
// clang-format off
constexpr std::array<std::string_view, 147> kSqliteKeywords = {
    "ABORT",      "ACTION",       "ADD",          "AFTER",        "ALL",
    "ALTER",      "ALWAYS",       "ANALYZE",      "AND",          "AS",
    "ASC",        "ATTACH",       "AUTOINCREMENT", "BEFORE",      "BEGIN",
    "BETWEEN",    "BY",           "CASCADE",      "CASE",         "CAST",
    "CHECK",      "COLLATE",      "COLUMN",       "COMMIT",       "CONFLICT",
    "CONSTRAINT", "CREATE",       "CROSS",        "CURRENT",      "CURRENT_DATE",
    "CURRENT_TIME", "CURRENT_TIMESTAMP", "DATABASE", "DEFAULT",    "DEFERRABLE",
    "DEFERRED",   "DELETE",       "DESC",         "DETACH",       "DISTINCT",
    "DO",         "DROP",         "EACH",         "ELSE",         "END",
    "ESCAPE",     "EXCEPT",       "EXCLUDE",      "EXCLUSIVE",    "EXISTS",
    "EXPLAIN",    "FAIL",         "FILTER",       "FIRST",        "FOLLOWING",
    "FOR",        "FOREIGN",      "FROM",         "FULL",         "GENERATED",
    "GLOB",       "GROUP",        "GROUPS",       "HAVING",       "IF",
    "IGNORE",     "IMMEDIATE",    "IN",           "INDEX",        "INDEXED",
    "INITIALLY",  "INNER",        "INSERT",       "INSTEAD",      "INTERSECT",
    "INTO",       "IS",           "ISNULL",       "JOIN",         "KEY",
    "LAST",       "LEFT",         "LIKE",         "LIMIT",        "MATCH",
    "MATERIALIZED", "NATURAL",    "NO",           "NOT",          "NOTHING",
    "NOTNULL",    "NULL",         "NULLS",        "OF",           "OFFSET",
    "ON",         "OR",           "ORDER",        "OTHERS",       "OUTER",
    "OVER",       "PARTITION",    "PLAN",         "PRAGMA",       "PRECEDING",
    "PRIMARY",    "QUERY",        "RAISE",        "RANGE",        "RECURSIVE",
    "REFERENCES", "REGEXP",       "REINDEX",      "RELEASE",      "RENAME",
    "REPLACE",    "RESTRICT",     "RETURNING",    "RIGHT",        "ROLLBACK",
    "ROW",        "ROWS",         "SAVEPOINT",    "SELECT",       "SET",
    "TABLE",      "TEMP",         "TEMPORARY",    "THEN",         "TIES",
    "TO",         "TRANSACTION",  "TRIGGER",      "UNBOUNDED",    "UNION",
    "UNIQUE",     "UPDATE",       "USING",        "VACUUM",       "VALUES",
    "VIEW",       "VIRTUAL",      "WHEN",         "WHERE",        "WINDOW",
    "WITH",       "WITHOUT",
};
// clang-format on

// The keywords SQLite's grammar lets stand for an identifier (its %fallback ID list,
// plus WINDOW, OVER and FILTER, which its tokenizer turns into identifiers when they
// are not followed by what would make them keywords).
// clang-format off
constexpr std::array<std::string_view, 81> kIdentifierKeywords = {
    "ABORT",     "ACTION",    "AFTER",     "ALWAYS",    "ANALYZE",   "ASC",
    "ATTACH",    "BEFORE",    "BEGIN",     "BY",        "CASCADE",   "CAST",
    "COLUMN",    "CONFLICT",  "CURRENT",   "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "DATABASE", "DEFERRED", "DESC",  "DETACH",    "DO",
    "EACH",      "END",       "EXCLUDE",   "EXCLUSIVE", "EXPLAIN",   "FAIL",
    "FILTER",    "FIRST",     "FOLLOWING", "FOR",       "GENERATED", "GLOB",
    "GROUPS",    "IF",        "IGNORE",    "IMMEDIATE", "INITIALLY", "INSTEAD",
    "KEY",       "LAST",      "LIKE",      "MATCH",     "MATERIALIZED", "NO",
    "NULLS",     "OF",        "OFFSET",    "OTHERS",    "OVER",      "PARTITION",
    "PLAN",      "PRAGMA",    "PRECEDING", "QUERY",     "RAISE",     "RANGE",
    "RECURSIVE", "REGEXP",    "REINDEX",   "RELEASE",   "RENAME",    "REPLACE",
    "RESTRICT",  "ROLLBACK",  "ROW",       "ROWS",      "SAVEPOINT", "TEMP",
    "TEMPORARY", "TIES",      "TRIGGER",   "UNBOUNDED", "VACUUM",    "VIEW",
    "VIRTUAL",   "WINDOW",    "WITH",      "WITHOUT",
};
// clang-format on

// Keywords that are not identifiers as types but are as column names (SQLite's `nm`
// accepts its join keywords and INDEXED as well).
constexpr std::array<std::string_view, 8> kNameOnlyKeywords = {
    "CROSS", "FULL", "INDEXED", "INNER", "LEFT", "NATURAL", "OUTER", "RIGHT",
};

template <size_t N>
bool ContainsIgnoreCase(const std::array<std::string_view, N>& words, std::string_view w) {
  for (std::string_view k : words) {
    if (EqualsIgnoreCase(k, w)) return true;
  }
  return false;
}

bool IsKeyword(std::string_view w) { return ContainsIgnoreCase(kSqliteKeywords, w); }

// --- Tokens ------------------------------------------------------------------------------

enum class TokenKind {
  kWord,     // bare identifier or keyword
  kQuoted,   // "x", [x] or `x`: an identifier
  kString,   // 'x'
  kNumber,   // 12, 1.5, 1e3, 0x1F
  kBlob,     // x'00ff'
  kIllegal,  // e.g. 64MiB: a number running into identifier characters
  kPunct,    // any other single character
};

struct Token {
  TokenKind kind;
  size_t begin;  // offsets into the argument text
  size_t end;
};

// SQLite's sqlite3Dequote of `text` (which starts with a quote character): the content
// up to the matching closing quote, with doubled quotes undoubled.
std::string Dequote(std::string_view text) {
  char quote = text[0];
  if (quote == '[') quote = ']';
  std::string out;
  for (size_t i = 1; i < text.size(); i++) {
    if (text[i] == quote) {
      if (i + 1 < text.size() && text[i + 1] == quote) {
        out.push_back(quote);
        i++;
      } else {
        break;
      }
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`' || c == '['; }

// Splits `text` into tokens as SQLite's tokenizer would, skipping spaces and comments.
// Returns false with *error set for an unterminated quoted token.
bool Tokenize(std::string_view text, std::vector<Token>* tokens, std::string* error) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    const size_t begin = i;
    if (IsSpace(c)) {
      i++;
      continue;
    }
    if (c == '-' && i + 1 < n && text[i + 1] == '-') {
      while (i < n && text[i] != '\n') i++;
      continue;
    }
    if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      size_t close = text.find("*/", i + 2);
      i = close == std::string_view::npos ? n : close + 2;
      continue;
    }
    TokenKind kind;
    if (c == '"' || c == '\'' || c == '`') {
      i++;
      for (;;) {
        if (i >= n) {
          *error = "unterminated quoted text " + std::string(text.substr(begin));
          return false;
        }
        if (text[i] == c) {
          if (i + 1 < n && text[i + 1] == c) {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      kind = c == '\'' ? TokenKind::kString : TokenKind::kQuoted;
    } else if (c == '[') {
      size_t close = text.find(']', i + 1);
      if (close == std::string_view::npos) {
        *error = "unterminated quoted text " + std::string(text.substr(begin));
        return false;
      }
      i = close + 1;
      kind = TokenKind::kQuoted;
    } else if ((c == 'x' || c == 'X') && i + 1 < n && text[i + 1] == '\'') {
      size_t close = text.find('\'', i + 2);
      if (close == std::string_view::npos) {
        *error = "unterminated quoted text " + std::string(text.substr(begin));
        return false;
      }
      i = close + 1;
      kind = TokenKind::kBlob;
    } else if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(text[i + 1]))) {
      kind = TokenKind::kNumber;
      if (c == '0' && i + 2 < n && (text[i + 1] == 'x' || text[i + 1] == 'X') &&
          std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        i += 2;
        while (i < n && std::isxdigit(static_cast<unsigned char>(text[i]))) i++;
      } else {
        while (i < n && IsDigit(text[i])) i++;
        if (i < n && text[i] == '.') {
          i++;
          while (i < n && IsDigit(text[i])) i++;
        }
        if (i + 1 < n && (text[i] == 'e' || text[i] == 'E') &&
            (IsDigit(text[i + 1]) ||
             ((text[i + 1] == '+' || text[i + 1] == '-') && i + 2 < n && IsDigit(text[i + 2])))) {
          i += 2;
          while (i < n && IsDigit(text[i])) i++;
        }
      }
      if (i < n && IsIdChar(text[i])) {
        kind = TokenKind::kIllegal;
        while (i < n && IsIdChar(text[i])) i++;
      }
    } else if (IsIdStart(c)) {
      while (i < n && IsIdChar(text[i])) i++;
      kind = TokenKind::kWord;
    } else {
      i++;
      kind = TokenKind::kPunct;
    }
    tokens->push_back(Token{kind, begin, i});
  }
  return true;
}

// --- Declared types ------------------------------------------------------------------------

// The declared type SQLite's sqlite3AddColumn records for the type's source text
// `span` (from its first to its last token): a trailing "always" / "generated always"
// is dropped from spans of 16 bytes or more (left over from GENERATED ALWAYS AS), and
// a span starting with a quote is dequoted (only its first quoted token survives).
std::string SqliteDeclaredType(std::string_view span) {
  if (span.size() >= 16 && EqualsIgnoreCase(span.substr(span.size() - 6), "always")) {
    span.remove_suffix(6);
    while (!span.empty() && IsSpace(span.back())) span.remove_suffix(1);
    if (span.size() >= 9 && EqualsIgnoreCase(span.substr(span.size() - 9), "generated")) {
      span.remove_suffix(9);
      while (!span.empty() && IsSpace(span.back())) span.remove_suffix(1);
    }
  }
  if (!span.empty() && IsQuote(span[0])) return Dequote(span);
  return std::string(span);
}

// SQLite's test (vtab.c) for a virtual table column declared hidden: the word "hidden"
// anywhere in its type, delimited by the start, the end or spaces.
bool TypeHidesColumn(std::string_view type) {
  for (size_t i = 0; i + 6 <= type.size(); i++) {
    if (EqualsIgnoreCase(type.substr(i, 6), "hidden") && (i == 0 || type[i - 1] == ' ') &&
        (i + 6 == type.size() || type[i + 6] == ' ')) {
      return true;
    }
  }
  return false;
}

// True if `type`, written bare after a column name, makes SQLite record exactly `type`
// again: plain words that are not keywords, optionally followed by (n) or (n,m); no
// comments, quotes or trailing "always" (which SQLite would strip).
bool TypeCanBeWrittenBare(std::string_view type) {
  if (type.empty() || type != Trim(type)) return false;
  for (char c : type) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == ' ' || c == '(' || c == ')' || c == ',' ||
          c == '+' || c == '-' || c == '.')) {
      return false;
    }
  }
  if (type.find("--") != std::string_view::npos) return false;
  if (type.size() >= 16 && EqualsIgnoreCase(type.substr(type.size() - 6), "always")) {
    return false;
  }
  std::vector<Token> tokens;
  std::string error;
  if (!Tokenize(type, &tokens, &error)) return false;
  size_t i = 0;
  while (i < tokens.size() && tokens[i].kind == TokenKind::kWord) {
    std::string_view word = type.substr(tokens[i].begin, tokens[i].end - tokens[i].begin);
    if (IsKeyword(word)) return false;
    i++;
  }
  if (i == 0) return false;
  if (i == tokens.size()) return true;
  auto punct = [&](size_t j, char c) {
    return j < tokens.size() && tokens[j].kind == TokenKind::kPunct && type[tokens[j].begin] == c;
  };
  auto signed_number = [&](size_t* j) {
    if (punct(*j, '+') || punct(*j, '-')) ++*j;
    if (*j >= tokens.size() || tokens[*j].kind != TokenKind::kNumber) return false;
    ++*j;
    return true;
  };
  if (!punct(i, '(')) return false;
  i++;
  if (!signed_number(&i)) return false;
  if (punct(i, ',')) {
    i++;
    if (!signed_number(&i)) return false;
  }
  return punct(i, ')') && i + 1 == tokens.size();
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// A name as a message shows it: bare when it is a plain identifier, else quoted.
std::string DisplayName(std::string_view name) {
  bool plain = !name.empty() && IsIdStart(name[0]);
  for (char c : name) plain = plain && IsIdChar(c) && static_cast<unsigned char>(c) < 0x80;
  return plain ? std::string(name) : QuoteIdentifier(name);
}

// --- Errors ---------------------------------------------------------------------------

std::string TablePrefix(std::string_view table) { return "table " + std::string(table) + ": "; }

std::string ColumnPrefix(std::string_view table, std::string_view column) {
  return TablePrefix(table) + "column '" + std::string(column) + "': ";
}

constexpr const char* kTwoPrimaryKeys = "more than one PRIMARY KEY";

Status KeyCollationError(std::string_view table, std::string_view column, Collation collation) {
  return Status::NotSupported(ColumnPrefix(table, column) + "COLLATE " + CollationName(collation) +
                              " on a PRIMARY KEY column is not supported (keys are ordered "
                              "with BINARY collation)");
}

// --- Parsing one argument -------------------------------------------------------------

// A PRIMARY KEY (...) table constraint, resolved against the columns at the end.
struct TableKeyColumn {
  std::string name;
};

// Parses one column definition or table constraint (one argument's tokens).
class DefinitionParser {
 public:
  DefinitionParser(std::string_view table, std::string_view text, std::vector<Token> tokens)
      : table_(table), text_(text), tokens_(std::move(tokens)) {}

  // True if the argument starts a table constraint rather than a column definition.
  bool IsTableConstraint() const {
    return PeekWord("CONSTRAINT") || PeekWord("PRIMARY") || PeekWord("UNIQUE") ||
           PeekWord("CHECK") || PeekWord("FOREIGN");
  }

  // `name [type] [constraints]`. Sets *primary_key if the column says PRIMARY KEY.
  Status ParseColumn(ColumnDefinition* column, bool* primary_key) {
    *primary_key = false;
    if (!IsName(pos_)) return SyntaxError();
    column->name = Value(pos_++);
    if (Status s = ParseType(column); !s.ok()) return s;
    while (!AtEnd()) {
      if (ConsumeWord("CONSTRAINT")) {  // names the next constraint, if any
        if (!IsName(pos_)) return SyntaxError();
        pos_++;
        continue;
      }
      if (ConsumeWord("PRIMARY")) {
        if (!ConsumeWord("KEY")) return SyntaxError();
        if (*primary_key) return Status::InvalidArgument(TablePrefix(table_) + kTwoPrimaryKeys);
        *primary_key = true;
        if (PeekWord("DESC")) return KeyDescNotSupported(column->name);
        ConsumeWord("ASC");
        if (Status s = RejectConflictClause(column->name); !s.ok()) return s;
        if (PeekWord("AUTOINCREMENT")) {
          return Status::NotSupported(ColumnPrefix(table_, column->name) +
                                      "AUTOINCREMENT is not supported (as in WITHOUT ROWID "
                                      "tables)");
        }
        continue;
      }
      if (PeekWord("DEFERRABLE") || (PeekWord("NOT") && PeekWord("DEFERRABLE", 1))) {
        return Status::NotSupported(ColumnPrefix(table_, column->name) +
                                    "DEFERRABLE (of foreign keys) is not supported");
      }
      if (ConsumeWord("NOT")) {
        if (!ConsumeWord("NULL")) return SyntaxError();
        column->not_null = true;
        if (Status s = RejectConflictClause(column->name); !s.ok()) return s;
        continue;
      }
      if (ConsumeWord("NULL")) {
        if (Status s = RejectConflictClause(column->name); !s.ok()) return s;
        continue;
      }
      if (ConsumeWord("DEFAULT")) {
        if (ConsumeWord("NULL")) continue;
        return Status::NotSupported(
            ColumnPrefix(table_, column->name) +
            "DEFAULT is not supported (SQLite passes NULL to a virtual table for an omitted "
            "column, so a default could not be applied); only DEFAULT NULL is accepted");
      }
      if (ConsumeWord("COLLATE")) {
        if (Status s = ParseCollation(column->name, &column->collation); !s.ok()) return s;
        continue;
      }
      if (PeekWord("UNIQUE")) {
        return Status::NotSupported(ColumnPrefix(table_, column->name) +
                                    "UNIQUE is not supported (only the PRIMARY KEY is unique)");
      }
      if (PeekWord("CHECK")) {
        return Status::NotSupported(ColumnPrefix(table_, column->name) +
                                    "CHECK constraints are not supported");
      }
      if (PeekWord("REFERENCES")) {
        return Status::NotSupported(ColumnPrefix(table_, column->name) +
                                    "foreign keys (REFERENCES) are not supported");
      }
      if (PeekWord("AS") || PeekWord("GENERATED")) {
        return Status::NotSupported(ColumnPrefix(table_, column->name) +
                                    "generated columns (AS ...) are not supported");
      }
      return SyntaxError();
    }
    return Status::OK();
  }

  // `[CONSTRAINT name] PRIMARY KEY (col [COLLATE BINARY] [ASC], ...)`, or a lone
  // `CONSTRAINT name`, which SQLite accepts and ignores (then *key stays empty).
  Status ParseTableConstraint(std::vector<TableKeyColumn>* key) {
    if (ConsumeWord("CONSTRAINT")) {
      if (!IsName(pos_)) return SyntaxError();
      pos_++;
      if (AtEnd()) return Status::OK();
    }
    if (PeekWord("UNIQUE")) {
      return Status::NotSupported(TablePrefix(table_) +
                                  "UNIQUE table constraints are not supported (only the "
                                  "PRIMARY KEY is unique)");
    }
    if (PeekWord("CHECK")) {
      return Status::NotSupported(TablePrefix(table_) + "CHECK constraints are not supported");
    }
    if (PeekWord("FOREIGN")) {
      return Status::NotSupported(TablePrefix(table_) +
                                  "FOREIGN KEY constraints are not supported");
    }
    if (!ConsumeWord("PRIMARY") || !ConsumeWord("KEY") || !ConsumePunct('(')) {
      return SyntaxError();
    }
    for (;;) {
      if (!IsName(pos_)) return SyntaxError();
      std::string name = Value(pos_++);
      if (ConsumeWord("COLLATE")) {
        Collation collation;
        if (Status s = ParseCollation(name, &collation); !s.ok()) return s;
        if (collation != Collation::kBinary) return KeyCollationNotSupported(name, collation);
      }
      if (PeekWord("DESC")) return KeyDescNotSupported(name);
      ConsumeWord("ASC");
      key->push_back(TableKeyColumn{std::move(name)});
      if (ConsumePunct(',')) continue;
      if (ConsumePunct(')')) break;
      return SyntaxError();
    }
    if (Status s = RejectConflictClause(""); !s.ok()) return s;
    if (!AtEnd()) return SyntaxError();
    return Status::OK();
  }

 private:
  bool AtEnd() const { return pos_ >= tokens_.size(); }

  std::string_view TokenText(size_t i) const {
    return text_.substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin);
  }

  // The identifier or string a token names, dequoted.
  std::string Value(size_t i) const {
    std::string_view t = TokenText(i);
    return tokens_[i].kind == TokenKind::kWord ? std::string(t) : Dequote(t);
  }

  bool PeekWord(std::string_view keyword, size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < tokens_.size() && tokens_[i].kind == TokenKind::kWord &&
           EqualsIgnoreCase(TokenText(i), keyword);
  }
  bool ConsumeWord(std::string_view keyword) {
    if (!PeekWord(keyword)) return false;
    pos_++;
    return true;
  }
  bool PeekPunct(char c) const {
    return !AtEnd() && tokens_[pos_].kind == TokenKind::kPunct && text_[tokens_[pos_].begin] == c;
  }
  bool ConsumePunct(char c) {
    if (!PeekPunct(c)) return false;
    pos_++;
    return true;
  }

  // SQLite's `nm`: a column or constraint name.
  bool IsName(size_t i) const {
    if (i >= tokens_.size()) return false;
    switch (tokens_[i].kind) {
      case TokenKind::kQuoted:
      case TokenKind::kString:
        return true;
      case TokenKind::kWord: {
        std::string_view w = TokenText(i);
        return !IsKeyword(w) || ContainsIgnoreCase(kIdentifierKeywords, w) ||
               ContainsIgnoreCase(kNameOnlyKeywords, w);
      }
      default:
        return false;
    }
  }

  // SQLite's `ids` in a type name.
  bool IsTypeWord(size_t i) const {
    if (i >= tokens_.size()) return false;
    switch (tokens_[i].kind) {
      case TokenKind::kQuoted:
      case TokenKind::kString:
        return true;
      case TokenKind::kWord: {
        std::string_view w = TokenText(i);
        return !IsKeyword(w) || ContainsIgnoreCase(kIdentifierKeywords, w);
      }
      default:
        return false;
    }
  }

  // `[typename [(signed [, signed])]]`: records the type as SQLite would.
  Status ParseType(ColumnDefinition* column) {
    if (!IsTypeWord(pos_)) return Status::OK();
    const size_t begin = tokens_[pos_].begin;
    while (IsTypeWord(pos_)) pos_++;
    size_t end = tokens_[pos_ - 1].end;
    if (ConsumePunct('(')) {
      if (!ParseSignedNumber()) return SyntaxError();
      if (ConsumePunct(',') && !ParseSignedNumber()) return SyntaxError();
      if (!ConsumePunct(')')) return SyntaxError();
      end = tokens_[pos_ - 1].end;
    }
    std::string_view span = text_.substr(begin, end - begin);
    column->declared_type = SqliteDeclaredType(span);
    if (column->declared_type.empty() && IsQuote(span[0])) {
      return Status::InvalidArgument(ColumnPrefix(table_, column->name) + "empty type name");
    }
    return Status::OK();
  }

  bool ParseSignedNumber() {
    if (!ConsumePunct('+')) ConsumePunct('-');
    if (AtEnd() || tokens_[pos_].kind != TokenKind::kNumber) return false;
    pos_++;
    return true;
  }

  Status ParseCollation(std::string_view column, Collation* collation) {
    if (!IsTypeWord(pos_)) return SyntaxError();
    std::string name = Value(pos_++);
    if (EqualsIgnoreCase(name, "BINARY")) {
      *collation = Collation::kBinary;
    } else if (EqualsIgnoreCase(name, "NOCASE")) {
      *collation = Collation::kNocase;
    } else if (EqualsIgnoreCase(name, "RTRIM")) {
      *collation = Collation::kRtrim;
    } else {
      return Status::NotSupported(ColumnPrefix(table_, column) + "collation '" + name +
                                  "' is not supported (supported: BINARY, NOCASE, RTRIM)");
    }
    return Status::OK();
  }

  Status RejectConflictClause(std::string_view column) {
    if (!PeekWord("ON")) return Status::OK();
    std::string prefix = column.empty() ? TablePrefix(table_) : ColumnPrefix(table_, column);
    return Status::NotSupported(prefix +
                                "ON CONFLICT clauses in a table definition are not supported "
                                "(use INSERT OR ... / UPDATE OR ...)");
  }

  Status KeyDescNotSupported(std::string_view column) {
    return Status::NotSupported(ColumnPrefix(table_, column) +
                                "PRIMARY KEY DESC is not supported (keys are stored in "
                                "ascending order; ORDER BY ... DESC is still fast)");
  }

  Status KeyCollationNotSupported(std::string_view column, Collation collation) {
    return KeyCollationError(table_, column, collation);
  }

  Status SyntaxError() const {
    std::string message = TablePrefix(table_);
    if (AtEnd()) {
      message += "incomplete definition '" + std::string(text_) + "'";
    } else {
      message += "syntax error near '" + std::string(TokenText(pos_)) + "' in '" +
                 std::string(text_) + "'";
    }
    return Status::InvalidArgument(message);
  }

  std::string_view table_;
  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// --- Options ------------------------------------------------------------------------------

constexpr const char* kKnownOptions =
    "sync, write_buffer_size, block_cache_size, compression, bloom_bits_per_key, dir";

// A size: decimal digits, then optionally k/m/g with an optional b or ib (all powers of
// 1024), spaces allowed between. At most kMaxOptionSize.
bool ParseSize(std::string_view text, size_t* out) {
  text = Trim(text);
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && IsDigit(text[i])) {
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
    if (value > kMaxOptionSize) return false;
    i++;
  }
  if (i == 0) return false;
  std::string suffix = AsciiLowerCopy(Trim(text.substr(i)));
  int shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      default:
        return false;
    }
    std::string_view rest = std::string_view(suffix).substr(1);
    if (!(rest.empty() || rest == "b" || rest == "ib")) return false;
  }
  if (value > (kMaxOptionSize >> shift)) return false;
  *out = static_cast<size_t>(value << shift);
  return true;
}

// A decimal integer in [min, max].
bool ParseInt(std::string_view text, int min, int max, int* out) {
  text = Trim(text);
  if (text.empty() || text.size() > 9) return false;
  int value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

Status ParseOption(std::string_view table, std::string_view name, std::string_view value,
                   TableOptions* options) {
  const std::string key = AsciiLowerCopy(name);
  auto invalid = [&](const char* expected) {
    return Status::InvalidArgument(TablePrefix(table) + "option " + key + ": invalid value '" +
                                   std::string(value) + "' (expected " + expected + ")");
  };
  auto once = [&](bool* given) {
    if (*given) {
      return Status::InvalidArgument(TablePrefix(table) + "option '" + key + "' is given twice");
    }
    *given = true;
    return Status::OK();
  };
  TableOptions::Given& given = options->given;
  if (key == "sync") {
    if (Status s = once(&given.sync); !s.ok()) return s;
    if (EqualsIgnoreCase(value, "full")) {
      options->sync = SyncMode::kFull;
    } else if (EqualsIgnoreCase(value, "normal")) {
      options->sync = SyncMode::kNormal;
    } else if (EqualsIgnoreCase(value, "off")) {
      options->sync = SyncMode::kOff;
    } else {
      return invalid("full, normal or off");
    }
  } else if (key == "write_buffer_size") {
    if (Status s = once(&given.write_buffer_size); !s.ok()) return s;
    size_t size;
    if (!ParseSize(value, &size) || size < kMinWriteBufferSize) {
      return invalid("a size from 64KiB to 1TiB, such as 16777216, 16 MiB or '16MiB'");
    }
    options->write_buffer_size = size;
  } else if (key == "block_cache_size") {
    if (Status s = once(&given.block_cache_size); !s.ok()) return s;
    if (!ParseSize(value, &options->block_cache_size)) {
      return invalid("a size from 0 to 1TiB, such as 0, 67108864, 64 MiB or '64MiB'");
    }
  } else if (key == "compression") {
    if (Status s = once(&given.compression); !s.ok()) return s;
    const std::string v = AsciiLowerCopy(value);
    if (v == "none") {
      options->compression_level = 0;
    } else if (v == "lz4") {
      options->compression_level = 1;
      options->compression_algorithm = CompressionAlgorithm::kLz4;
    } else if (v == "zstd") {
      options->compression_level = 1;
    } else if (v.size() > 5 && v.compare(0, 5, "zstd:") == 0 &&
               ParseInt(std::string_view(v).substr(5), 1, kMaxCompressionLevel,
                        &options->compression_level) &&
               Trim(std::string_view(v).substr(5)).size() == v.size() - 5) {
      // zstd:<level>
    } else {
      return invalid("none, zstd, zstd:<level 1 to 19> or lz4");
    }
  } else if (key == "bloom_bits_per_key") {
    if (Status s = once(&given.bloom_bits_per_key); !s.ok()) return s;
    if (!ParseInt(value, 0, kMaxBloomBitsPerKey, &options->bloom_bits_per_key)) {
      return invalid("an integer from 0 to 30");
    }
  } else if (key == "dir") {
    if (Status s = once(&given.dir); !s.ok()) return s;
    if (value.empty()) return invalid("a directory path");
    options->dir = std::string(value);
  } else {
    return Status::InvalidArgument(TablePrefix(table) + "unknown option '" + std::string(name) +
                                   "' (known: " + kKnownOptions + ")");
  }
  return Status::OK();
}

// The value of `name = value`: the text of the tokens after '=', or the content of a
// single quoted token.
std::string OptionValue(std::string_view text, const std::vector<Token>& tokens) {
  if (tokens.size() < 3) return "";
  const Token& first = tokens[2];
  if (tokens.size() == 3 &&
      (first.kind == TokenKind::kString || first.kind == TokenKind::kQuoted)) {
    return Dequote(text.substr(first.begin, first.end - first.begin));
  }
  return std::string(text.substr(first.begin, tokens.back().end - first.begin));
}

Status CheckTableOptions(const TableOptions& o) {
  if (o.sync != SyncMode::kFull && o.sync != SyncMode::kNormal && o.sync != SyncMode::kOff) {
    return Status::InvalidArgument("unknown sync mode");
  }
  if (o.write_buffer_size < kMinWriteBufferSize || o.write_buffer_size > kMaxOptionSize) {
    return Status::InvalidArgument("write_buffer_size out of range");
  }
  if (o.block_cache_size > kMaxOptionSize) {
    return Status::InvalidArgument("block_cache_size out of range");
  }
  if (o.compression_level < 0 || o.compression_level > kMaxCompressionLevel) {
    return Status::InvalidArgument("compression level out of range");
  }
  if (o.compression_algorithm != CompressionAlgorithm::kZstd &&
      !(o.compression_algorithm == CompressionAlgorithm::kLz4 && o.compression_level == 1)) {
    return Status::InvalidArgument("unknown compression algorithm");
  }
  if (o.bloom_bits_per_key < 0 || o.bloom_bits_per_key > kMaxBloomBitsPerKey) {
    return Status::InvalidArgument("bloom_bits_per_key out of range");
  }
  if (o.dir.find('\0') != std::string::npos) {
    return Status::InvalidArgument("dir contains a NUL byte");
  }
  return Status::OK();
}

// --- Whole-schema checks and derived fields ------------------------------------------------

// Checks what every schema must satisfy, parsed or decoded, and fills in the derived
// fields (affinity, is_key, key_position, value_position, value_columns, key NOT NULL)
// from columns[].{name, declared_type, collation, not_null} and key_columns.
Status FinishSchema(TableSchema* schema) {
  const std::string_view table = schema->table_name;
  std::vector<ColumnDefinition>& columns = schema->columns;
  if (columns.empty()) return Status::InvalidArgument(TablePrefix(table) + "no columns");
  if (columns.size() > kMaxColumns) {
    return Status::InvalidArgument(TablePrefix(table) + "too many columns (" +
                                   std::to_string(columns.size()) + "; at most " +
                                   std::to_string(kMaxColumns) + ")");
  }
  std::vector<std::pair<std::string, size_t>> names;
  names.reserve(columns.size());
  for (size_t i = 0; i < columns.size(); i++) {
    ColumnDefinition& c = columns[i];
    if (c.name.empty()) {
      return Status::InvalidArgument(TablePrefix(table) + "column " + std::to_string(i + 1) +
                                     " has an empty name");
    }
    if (c.name.find('\0') != std::string::npos || c.declared_type.find('\0') != std::string::npos) {
      return Status::InvalidArgument(TablePrefix(table) + "column " + std::to_string(i + 1) +
                                     " contains a NUL byte");
    }
    if (EqualsIgnoreCase(c.name, kHiddenKeyColumnName)) {
      return Status::InvalidArgument(TablePrefix(table) + "column name '" + c.name +
                                     "' is reserved for the hidden key column");
    }
    if (TypeHidesColumn(c.declared_type)) {
      return Status::NotSupported(ColumnPrefix(table, c.name) + "type '" + c.declared_type +
                                  "' contains the word HIDDEN, which would hide the column of "
                                  "a virtual table");
    }
    if (c.collation != Collation::kBinary && c.collation != Collation::kNocase &&
        c.collation != Collation::kRtrim) {
      return Status::InvalidArgument(ColumnPrefix(table, c.name) + "unknown collation");
    }
    c.affinity = AffinityOfDeclaredType(c.declared_type);
    c.is_key = false;
    c.key_position = -1;
    c.value_position = -1;
    names.emplace_back(AsciiLowerCopy(c.name), i);
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 1; i < names.size(); i++) {
    if (names[i].first == names[i - 1].first) {
      return Status::InvalidArgument(TablePrefix(table) + "duplicate column name '" +
                                     columns[names[i].second].name + "'");
    }
  }
  if (schema->key_columns.empty()) {
    return Status::InvalidArgument(TablePrefix(table) +
                                   "a strata table needs a PRIMARY KEY (declare a column "
                                   "PRIMARY KEY, or add PRIMARY KEY (column, ...))");
  }
  for (size_t k = 0; k < schema->key_columns.size(); k++) {
    const int index = schema->key_columns[k];
    if (index < 0 || static_cast<size_t>(index) >= columns.size()) {
      return Status::InvalidArgument(TablePrefix(table) + "key column index out of range");
    }
    ColumnDefinition& c = columns[index];
    if (c.is_key) {
      return Status::InvalidArgument(TablePrefix(table) + "column '" + c.name +
                                     "' appears twice in the PRIMARY KEY");
    }
    if (c.collation != Collation::kBinary) {
      return KeyCollationError(table, c.name, c.collation);
    }
    c.is_key = true;
    c.key_position = static_cast<int>(k);
    c.not_null = true;
  }
  schema->value_columns.clear();
  for (size_t i = 0; i < columns.size(); i++) {
    if (columns[i].is_key) continue;
    columns[i].value_position = static_cast<int>(schema->value_columns.size());
    schema->value_columns.push_back(static_cast<int>(i));
  }
  if (Status s = CheckTableOptions(schema->options); !s.ok()) {
    return s.WithContext(TablePrefix(table) + "options");
  }
  return Status::OK();
}

// --- Serialization helpers -------------------------------------------------------------

// Catalog record layout (all integers little-endian; "str" = u32 length + bytes):
//   u8   format version (kSchemaFormatVersion)
//   str  table name
//   u32  column count n (1..kMaxColumns)
//   n x  { str name; str declared type;
//          u8 flags: bit 0 NOT NULL, bits 1-2 collation (0 BINARY, 1 NOCASE, 2 RTRIM),
//                    other bits 0 }
//   u32  key column count k (1..n); k x u32 column index, in key order
//   u8   sync (0 full, 1 normal, 2 off)
//   u64  write_buffer_size;  u64 block_cache_size
//   u8   compression (0 = none, 1..19 zstd at that level, kLz4CompressionByte lz4);
//   u8   bloom bits per key (0..30)
//   str  dir
//   u8   options given: bit 0 sync, 1 write_buffer_size, 2 block_cache_size,
//                       3 compression, 4 bloom_bits_per_key, 5 dir; other bits 0
//   u32  CRC-32C (Castagnoli) of every preceding byte
// Affinities, key/value positions and the key columns' NOT NULL are derived on decoding.
constexpr uint8_t kSchemaFormatVersion = 1;
// Above every zstd level: records written before lz4 existed never hold it, and a reader
// from then rejects it (as an out-of-range level) rather than misread it.
constexpr uint8_t kLz4CompressionByte = 128;

uint32_t Crc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

void PutU8(std::string* dst, uint8_t v) { dst->push_back(static_cast<char>(v)); }
void PutU32(std::string* dst, uint32_t v) {
  for (int i = 0; i < 4; i++) dst->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* dst, uint64_t v) {
  for (int i = 0; i < 8; i++) dst->push_back(static_cast<char>(v >> (8 * i)));
}
void PutString(std::string* dst, std::string_view s) {
  PutU32(dst, static_cast<uint32_t>(s.size()));
  dst->append(s);
}

// Reads from the front of a byte range; every Get fails rather than read past the end.
class RecordReader {
 public:
  explicit RecordReader(std::string_view input) : input_(input) {}
  bool GetU8(uint8_t* v) {
    if (input_.empty()) return false;
    *v = static_cast<uint8_t>(input_[0]);
    input_.remove_prefix(1);
    return true;
  }
  bool GetU32(uint32_t* v) {
    uint64_t x;
    if (!GetLittleEndian(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool GetU64(uint64_t* v) { return GetLittleEndian(8, v); }
  bool GetString(std::string* s) {
    uint32_t size;
    if (!GetU32(&size) || size > input_.size()) return false;
    s->assign(input_.data(), size);
    input_.remove_prefix(size);
    return true;
  }
  size_t remaining() const { return input_.size(); }

 private:
  bool GetLittleEndian(int bytes, uint64_t* v) {
    if (input_.size() < static_cast<size_t>(bytes)) return false;
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++) x |= uint64_t{static_cast<unsigned char>(input_[i])} << (8 * i);
    input_.remove_prefix(bytes);
    *v = x;
    return true;
  }
  std::string_view input_;
};

Status Corrupt(std::string_view what) {
  return Status::Corruption("table schema record: " + std::string(what));
}

// Decodes the record body (after the version byte, before the checksum).
Status DecodeBody(RecordReader* in, TableSchema* schema) {
  if (!in->GetString(&schema->table_name)) return Corrupt("truncated table name");
  uint32_t n;
  if (!in->GetU32(&n)) return Corrupt("truncated column count");
  // Each column takes at least 9 bytes: bounds n before allocating for it.
  if (n == 0 || n > kMaxColumns || n > in->remaining() / 9) {
    return Corrupt("bad column count " + std::to_string(n));
  }
  schema->columns.resize(n);
  for (ColumnDefinition& c : schema->columns) {
    uint8_t flags;
    if (!in->GetString(&c.name) || !in->GetString(&c.declared_type) || !in->GetU8(&flags)) {
      return Corrupt("truncated column");
    }
    const uint8_t collation = (flags >> 1) & 3;
    if ((flags & ~uint8_t{7}) != 0 || collation > 2) {
      return Corrupt("bad column flags " + std::to_string(flags));
    }
    c.not_null = (flags & 1) != 0;
    c.collation = static_cast<Collation>(collation);
  }
  uint32_t k;
  if (!in->GetU32(&k)) return Corrupt("truncated key column count");
  if (k == 0 || k > n) return Corrupt("bad key column count " + std::to_string(k));
  schema->key_columns.resize(k);
  for (int& index : schema->key_columns) {
    uint32_t v;
    if (!in->GetU32(&v)) return Corrupt("truncated key columns");
    if (v >= n) return Corrupt("key column index " + std::to_string(v) + " out of range");
    index = static_cast<int>(v);
  }
  TableOptions& o = schema->options;
  uint8_t sync, compression, bloom, given;
  uint64_t write_buffer_size, block_cache_size;
  if (!in->GetU8(&sync) || !in->GetU64(&write_buffer_size) || !in->GetU64(&block_cache_size) ||
      !in->GetU8(&compression) || !in->GetU8(&bloom) || !in->GetString(&o.dir) ||
      !in->GetU8(&given)) {
    return Corrupt("truncated options");
  }
  if (sync > 2 || (given & ~uint8_t{0x3F}) != 0 || write_buffer_size > kMaxOptionSize ||
      block_cache_size > kMaxOptionSize) {
    return Corrupt("bad options");
  }
  o.sync = static_cast<SyncMode>(sync);
  o.write_buffer_size = static_cast<size_t>(write_buffer_size);
  o.block_cache_size = static_cast<size_t>(block_cache_size);
  if (compression == kLz4CompressionByte) {
    o.compression_level = 1;
    o.compression_algorithm = CompressionAlgorithm::kLz4;
  } else {
    o.compression_level = compression;
  }
  o.bloom_bits_per_key = bloom;
  o.given.sync = (given & 1) != 0;
  o.given.write_buffer_size = (given & 2) != 0;
  o.given.block_cache_size = (given & 4) != 0;
  o.given.compression = (given & 8) != 0;
  o.given.bloom_bits_per_key = (given & 16) != 0;
  o.given.dir = (given & 32) != 0;
  if (in->remaining() != 0) return Corrupt("trailing bytes");
  return Status::OK();
}

std::string KeyText(const TableSchema& schema) {
  std::string out = "(";
  for (size_t k = 0; k < schema.key_columns.size(); k++) {
    if (k > 0) out += ", ";
    out += DisplayName(schema.columns[schema.key_columns[k]].name);
  }
  return out + ")";
}

std::string ColumnNamesText(const TableSchema& schema) {
  std::string out;
  for (size_t i = 0; i < schema.columns.size(); i++) {
    if (i > 0) out += ", ";
    out += DisplayName(schema.columns[i].name);
  }
  return out;
}

}  // namespace

// --- Public functions ------------------------------------------------------------------

const char* CollationName(Collation collation) {
  switch (collation) {
    case Collation::kBinary:
      return "BINARY";
    case Collation::kNocase:
      return "NOCASE";
    case Collation::kRtrim:
      return "RTRIM";
  }
  return "?";
}

std::string TableOptions::ToString() const {
  return std::string("sync=") + SyncModeName(sync) +
         ", write_buffer_size=" + SizeOptionText(write_buffer_size) +
         ", block_cache_size=" + SizeOptionText(block_cache_size) +
         ", compression=" + CompressionOptionText(compression_level, compression_algorithm) +
         ", bloom_bits_per_key=" + std::to_string(bloom_bits_per_key) + ", dir='" + dir + "'";
}

namespace {

// Compares the options `which` selects; the first difference goes to *difference.
template <typename Select>
bool CompareOptions(const TableOptions& a, const TableOptions& b, const char* a_role,
                    const char* b_role, Select which, std::string* difference) {
  auto differ = [&](const char* name, const std::string& x, const std::string& y) {
    if (difference != nullptr) {
      *difference = std::string("option ") + name + " is '" + x + "' " + a_role + " but '" + y +
                    "' " + b_role;
    }
    return false;
  };
  if (which(a.given.sync) && a.sync != b.sync) {
    return differ("sync", SyncModeName(a.sync), SyncModeName(b.sync));
  }
  if (which(a.given.write_buffer_size) && a.write_buffer_size != b.write_buffer_size) {
    return differ("write_buffer_size", SizeOptionText(a.write_buffer_size),
                  SizeOptionText(b.write_buffer_size));
  }
  if (which(a.given.block_cache_size) && a.block_cache_size != b.block_cache_size) {
    return differ("block_cache_size", SizeOptionText(a.block_cache_size),
                  SizeOptionText(b.block_cache_size));
  }
  if (which(a.given.compression) && (a.compression_level != b.compression_level ||
                                     a.compression_algorithm != b.compression_algorithm)) {
    return differ("compression",
                  CompressionOptionText(a.compression_level, a.compression_algorithm),
                  CompressionOptionText(b.compression_level, b.compression_algorithm));
  }
  if (which(a.given.bloom_bits_per_key) && a.bloom_bits_per_key != b.bloom_bits_per_key) {
    return differ("bloom_bits_per_key", std::to_string(a.bloom_bits_per_key),
                  std::to_string(b.bloom_bits_per_key));
  }
  if (which(a.given.dir) && a.dir != b.dir) return differ("dir", a.dir, b.dir);
  return true;
}

}  // namespace

bool TableOptionsAgree(const TableOptions& table, const TableOptions& store,
                       std::string* difference) {
  return CompareOptions(
      table, store, "here", "for the store", [](bool given) { return given; }, difference);
}

bool SameTableOptions(const TableOptions& a, const TableOptions& b, std::string* difference) {
  return CompareOptions(
      a, b, "in one", "in the other", [](bool) { return true; }, difference);
}

std::string ColumnDefinition::Describe() const {
  std::string out = DisplayName(name);
  if (!declared_type.empty()) out += " " + declared_type;
  if (not_null) out += " NOT NULL";
  if (collation != Collation::kBinary) out += std::string(" COLLATE ") + CollationName(collation);
  return out;
}

int TableSchema::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); i++) {
    if (EqualsIgnoreCase(columns[i].name, name)) return static_cast<int>(i);
  }
  return -1;
}

std::string TableSchema::DeclareVtabSql() const {
  std::string sql = "CREATE TABLE x(";
  for (const ColumnDefinition& c : columns) {
    sql += QuoteIdentifier(c.name);
    if (!c.declared_type.empty()) {
      sql += ' ';
      sql += TypeCanBeWrittenBare(c.declared_type) ? c.declared_type
                                                   : QuoteIdentifier(c.declared_type);
    }
    if (c.not_null) sql += " NOT NULL";
    if (c.collation != Collation::kBinary) {
      sql += " COLLATE ";
      sql += CollationName(c.collation);
    }
    sql += ", ";
  }
  sql += QuoteIdentifier(kHiddenKeyColumnName);
  sql += " BLOB HIDDEN NOT NULL PRIMARY KEY) WITHOUT ROWID";
  return sql;
}

std::string TableSchema::Serialize() const {
  std::string out;
  PutU8(&out, kSchemaFormatVersion);
  PutString(&out, table_name);
  PutU32(&out, static_cast<uint32_t>(columns.size()));
  for (const ColumnDefinition& c : columns) {
    PutString(&out, c.name);
    PutString(&out, c.declared_type);
    PutU8(&out, static_cast<uint8_t>((c.not_null ? 1 : 0) | (static_cast<int>(c.collation) << 1)));
  }
  PutU32(&out, static_cast<uint32_t>(key_columns.size()));
  for (int index : key_columns) PutU32(&out, static_cast<uint32_t>(index));
  PutU8(&out, static_cast<uint8_t>(options.sync));
  PutU64(&out, options.write_buffer_size);
  PutU64(&out, options.block_cache_size);
  PutU8(&out, options.compression_algorithm == CompressionAlgorithm::kLz4
                  ? kLz4CompressionByte
                  : static_cast<uint8_t>(options.compression_level));
  PutU8(&out, static_cast<uint8_t>(options.bloom_bits_per_key));
  PutString(&out, options.dir);
  const TableOptions::Given& g = options.given;
  PutU8(&out, static_cast<uint8_t>((g.sync ? 1 : 0) | (g.write_buffer_size ? 2 : 0) |
                                   (g.block_cache_size ? 4 : 0) | (g.compression ? 8 : 0) |
                                   (g.bloom_bits_per_key ? 16 : 0) | (g.dir ? 32 : 0)));
  PutU32(&out, Crc32c(out));
  return out;
}

Status TableSchema::Deserialize(std::string_view record, TableSchema* out) {
  if (record.size() < 5) return Corrupt("too short (" + std::to_string(record.size()) + " bytes)");
  const std::string_view body = record.substr(0, record.size() - 4);
  RecordReader crc_reader(record.substr(record.size() - 4));
  uint32_t stored_crc = 0;
  crc_reader.GetU32(&stored_crc);
  if (stored_crc != Crc32c(body)) return Corrupt("checksum mismatch");
  if (static_cast<uint8_t>(body[0]) != kSchemaFormatVersion) {
    return Corrupt("unknown format version " + std::to_string(static_cast<uint8_t>(body[0])));
  }
  RecordReader in(body.substr(1));
  TableSchema schema;
  if (Status s = DecodeBody(&in, &schema); !s.ok()) return s;
  if (Status s = FinishSchema(&schema); !s.ok()) return Corrupt(s.message());
  *out = std::move(schema);
  return Status::OK();
}

bool TableSchema::SameShape(const TableSchema& catalog, std::string* difference) const {
  auto differ = [&](std::string text) {
    if (difference != nullptr) *difference = std::move(text);
    return false;
  };
  if (columns.size() != catalog.columns.size()) {
    return differ("the catalog has " + std::to_string(catalog.columns.size()) + " columns (" +
                  ColumnNamesText(catalog) + ") but here " + std::to_string(columns.size()) + " (" +
                  ColumnNamesText(*this) + ")");
  }
  if (key_columns != catalog.key_columns) {
    return differ("the PRIMARY KEY is " + KeyText(catalog) + " in the catalog but " +
                  KeyText(*this) + " here");
  }
  for (size_t i = 0; i < columns.size(); i++) {
    const ColumnDefinition& a = columns[i];
    const ColumnDefinition& b = catalog.columns[i];
    if (a.name != b.name || a.declared_type != b.declared_type || a.not_null != b.not_null ||
        a.collation != b.collation) {
      return differ("column " + std::to_string(i + 1) + " is '" + b.Describe() +
                    "' in the catalog but '" + a.Describe() + "' here");
    }
  }
  return true;
}

Status ParseTableSchema(std::string_view table_name, const std::vector<std::string_view>& args,
                        TableSchema* out) {
  TableSchema schema;
  schema.table_name = std::string(table_name);
  std::vector<int> column_keys;  // columns declared PRIMARY KEY at column level
  std::vector<TableKeyColumn> table_key;
  int table_keys = 0;
  bool any_definition = false;
  for (size_t a = 0; a < args.size(); a++) {
    const std::string_view text = Trim(args[a]);
    if (text.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument(TablePrefix(table_name) + "argument " + std::to_string(a + 1) +
                                     " contains a NUL byte");
    }
    std::vector<Token> tokens;
    std::string error;
    if (!Tokenize(text, &tokens, &error)) {
      return Status::InvalidArgument(TablePrefix(table_name) + error);
    }
    if (tokens.empty()) {
      return Status::InvalidArgument(TablePrefix(table_name) + "argument " + std::to_string(a + 1) +
                                     " is empty");
    }
    // An option is `name = value`: no column definition has '=' as its second token.
    if (tokens.size() >= 2 && tokens[1].kind == TokenKind::kPunct && text[tokens[1].begin] == '=' &&
        (tokens[0].kind == TokenKind::kWord || tokens[0].kind == TokenKind::kQuoted ||
         tokens[0].kind == TokenKind::kString)) {
      std::string_view raw_name = text.substr(tokens[0].begin, tokens[0].end - tokens[0].begin);
      std::string name =
          tokens[0].kind == TokenKind::kWord ? std::string(raw_name) : Dequote(raw_name);
      if (Status s = ParseOption(table_name, name, OptionValue(text, tokens), &schema.options);
          !s.ok()) {
        return s;
      }
      continue;
    }
    any_definition = true;
    DefinitionParser parser(table_name, text, std::move(tokens));
    if (parser.IsTableConstraint()) {
      std::vector<TableKeyColumn> key;
      if (Status s = parser.ParseTableConstraint(&key); !s.ok()) return s;
      if (!key.empty()) {
        table_keys++;
        table_key = std::move(key);
      }
      continue;
    }
    if (schema.columns.size() == kMaxColumns) {
      return Status::InvalidArgument(TablePrefix(table_name) + "too many columns (at most " +
                                     std::to_string(kMaxColumns) + ")");
    }
    ColumnDefinition column;
    bool primary_key;
    if (Status s = parser.ParseColumn(&column, &primary_key); !s.ok()) return s;
    if (primary_key) column_keys.push_back(static_cast<int>(schema.columns.size()));
    schema.columns.push_back(std::move(column));
  }

  if (!any_definition) {  // the default schema: key PRIMARY KEY, value
    schema.columns.resize(2);
    schema.columns[0].name = "key";
    schema.columns[1].name = "value";
    schema.key_columns = {0};
  } else {
    if (column_keys.size() + table_keys > 1) {
      return Status::InvalidArgument(TablePrefix(table_name) + kTwoPrimaryKeys);
    }
    if (!column_keys.empty()) {
      schema.key_columns = column_keys;
    }
    for (const TableKeyColumn& key : table_key) {
      const int index = schema.FindColumn(key.name);
      if (index < 0) {
        return Status::InvalidArgument(TablePrefix(table_name) + "PRIMARY KEY column '" + key.name +
                                       "' is not a column of the table");
      }
      schema.key_columns.push_back(index);
    }
  }
  if (Status s = FinishSchema(&schema); !s.ok()) return s;
  *out = std::move(schema);
  return Status::OK();
}

}  // namespace strata::sql
