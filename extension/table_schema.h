// TableSchema: the parsed arguments of
//
//   CREATE VIRTUAL TABLE users USING strata(id INTEGER PRIMARY KEY, name TEXT, email TEXT,
//                                           sync=normal, write_buffer_size='16MiB');
//   CREATE VIRTUAL TABLE kv USING strata;          -- key PRIMARY KEY, value
//
// SQLite hands xCreate/xConnect argv[0] = module name, argv[1] = database name,
// argv[2] = table name and argv[3..] = the arguments, one per top-level comma, as raw
// source text (parentheses, quotes and inner comments kept). ParseTableSchema takes
// argv[2] and argv[3..].
//
// Each argument is either an option `name = value` (an identifier followed by `=`) or
// a column definition or table constraint of an ordinary CREATE TABLE. Options and
// columns may come in any order. What is accepted, and why the rest is refused:
//
//   name [type] [constraints]   Names may be quoted ("x y", [x], `x`, 'x'). The declared
//                               type is recorded exactly as SQLite records it for an
//                               ordinary table (the source text of the type, e.g.
//                               "VARCHAR(20)", "UNSIGNED BIG INT"), and its affinity
//                               is AffinityOfDeclaredType of that text.
//   PRIMARY KEY [ASC]           column level; or table level PRIMARY KEY (a, b, ...).
//                               Exactly one primary key; a table without one is an
//                               error, as for WITHOUT ROWID tables, whose semantics
//                               strata tables have. Key columns are NOT NULL.
//   NOT NULL, NULL              accepted (the extension enforces NOT NULL).
//   CONSTRAINT name             accepted and ignored, as SQLite does (even dangling).
//   COLLATE BINARY              accepted anywhere. COLLATE NOCASE / RTRIM are accepted
//                               on non-key columns only (SQLite keeps a virtual table's
//                               declared collations and applies them itself in WHERE,
//                               ORDER BY, GROUP BY); keys are ordered by BINARY, so a
//                               key column with another collation is NotSupported, as
//                               is any other collation name.
//   DEFAULT NULL                accepted (it changes nothing). Any other DEFAULT is
//                               NotSupported: SQLite drops the defaults of a virtual
//                               table's declaration and passes NULL for omitted
//                               columns, so a default could never be applied.
//   PRIMARY KEY DESC, ON CONFLICT, AUTOINCREMENT, UNIQUE, CHECK, REFERENCES,
//   FOREIGN KEY, DEFERRABLE, generated columns (AS ...)
//                               NotSupported, naming the column and the constraint.
//   a type containing the word HIDDEN
//                               NotSupported: in a virtual table that word hides the
//                               column instead of naming a type.
//
// Column numbering, as sqlite3_declare_vtab sees it (DeclareVtabSql): the user's
// columns are 0..n-1 in the order written, and column n is the hidden key column
// kHiddenKeyColumnName (the encoded primary key), the table's only declared PRIMARY
// KEY, because SQLite accepts a writable WITHOUT ROWID virtual table only with a
// one-column primary key. The extension itself enforces uniqueness of the user's key
// columns.
//
// Options (names case-insensitive; values may be quoted, and must be quoted or spaced
// when SQLite's tokenizer would reject them: `'64MiB'` or `64 MiB`, not `64MiB`):
//   sync=full|normal|off          default full
//   write_buffer_size=<size>      default 64MiB, at least 64KiB
//   block_cache_size=<size>       default 64MiB, 0 = no block cache
//   compression=none|zstd|zstd:<1..19>|lz4   default zstd (level 1); lz4 decompresses
//                                 ~2.5x faster and stores ~7% more
//   bloom_bits_per_key=<0..30>    default 10
//   dir=<path>                    default: none (a sidecar store next to the database)
// A <size> is a decimal number of bytes, optionally followed by k, m or g, with an
// optional b or ib (k, kb, kib, KiB, ...): all of them are powers of 1024. Sizes are at
// most 1 TiB. The options describe the store the table lives in, which all tables of
// one database share: TableOptionsAgree checks a table's options against the store's.
//
// May include: the C++ standard library, extension/affinity_codec.h, strata/options.h
// and strata/status.h.
#pragma once

#include "extension/sync_mode.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "extension/affinity_codec.h"
#include "strata/options.h"
#include "strata/status.h"

namespace strata::sql {

// The name of the hidden column holding the encoded key. No user column may have it.
inline constexpr std::string_view kHiddenKeyColumnName = "_strata_key";

// SQLite's default limit on the columns of a table (SQLITE_MAX_COLUMN, 2000) counts
// the hidden key column too.
inline constexpr size_t kMaxColumns = 1999;


// The per-store options a table's arguments may set. Every field holds its default
// unless the argument was given, which `given` records.
struct TableOptions {
  SyncMode sync = SyncMode::kFull;
  size_t write_buffer_size = size_t{64} << 20;
  size_t block_cache_size = size_t{64} << 20;
  int compression_level = 1;  // zstd level 1..19; 0 = no compression; lz4: 1 (no levels)
  // kLz4 only with compression_level 1 (compression=lz4).
  CompressionAlgorithm compression_algorithm = CompressionAlgorithm::kZstd;
  int bloom_bits_per_key = 10;
  std::string dir;  // empty: the default location

  struct Given {
    bool sync = false;
    bool write_buffer_size = false;
    bool block_cache_size = false;
    bool compression = false;
    bool bloom_bits_per_key = false;
    bool dir = false;
  } given;

  // The options as arguments would give them, e.g. "sync=full, write_buffer_size=64MiB,
  // block_cache_size=64MiB, compression=zstd:1, bloom_bits_per_key=10, dir=''".
  std::string ToString() const;
};

inline constexpr size_t kMinWriteBufferSize = size_t{64} << 10;
inline constexpr size_t kMaxOptionSize = size_t{1} << 40;
inline constexpr int kMaxCompressionLevel = 19;
inline constexpr int kMaxBloomBitsPerKey = 30;

// True if every option given explicitly in `table` (table.given) has the value `store`
// has; options `table` leaves at their defaults agree with anything. Otherwise false
// and *difference (if not null) says which, e.g. "option sync is 'off' here but 'full'
// for the store". This is the check for a table joining an existing store.
bool TableOptionsAgree(const TableOptions& table, const TableOptions& store,
                       std::string* difference);

// True if all effective values (given or default) are equal; `given` is ignored.
bool SameTableOptions(const TableOptions& a, const TableOptions& b, std::string* difference);

enum class Collation : uint8_t { kBinary, kNocase, kRtrim };
// "BINARY", "NOCASE" or "RTRIM".
const char* CollationName(Collation collation);

struct ColumnDefinition {
  std::string name;                     // unquoted, as written
  std::string declared_type;            // as SQLite records it; empty: no type
  Affinity affinity = Affinity::kBlob;  // AffinityOfDeclaredType(declared_type)
  Collation collation = Collation::kBinary;
  bool not_null = false;  // declared NOT NULL, or a key column
  bool is_key = false;
  int key_position = -1;    // position in the primary key; -1 if not a key column
  int value_position = -1;  // position among the non-key columns; -1 for a key column

  // The definition as text for messages: `email TEXT NOT NULL COLLATE NOCASE`.
  std::string Describe() const;
};

class TableSchema {
 public:
  std::string table_name;
  std::vector<ColumnDefinition> columns;  // user columns, in declaration order
  std::vector<int> key_columns;           // column indexes, in key order
  std::vector<int> value_columns;         // indexes of the non-key columns, in order
  TableOptions options;

  // The index of the hidden key column in the declared table (== columns.size()).
  int hidden_key_column() const { return static_cast<int>(columns.size()); }

  // Index of the user column named `name` (ASCII case-insensitively, as SQLite
  // matches names), or -1.
  int FindColumn(std::string_view name) const;

  // The statement for sqlite3_declare_vtab, e.g.
  //   CREATE TABLE x("id" INTEGER NOT NULL, "name" TEXT,
  //                  "_strata_key" BLOB HIDDEN NOT NULL PRIMARY KEY) WITHOUT ROWID
  // Each user column keeps its declared type (SQLite records, for the virtual table,
  // the same type text an ordinary table would), NOT NULL and non-BINARY collation.
  std::string DeclareVtabSql() const;

  // Catalog record: a versioned, checksummed binary encoding of the whole schema,
  // including the options as given. Layout: see table_schema.cc (kSchemaFormatVersion).
  std::string Serialize() const;
  // Decodes a Serialize() result into *out (unchanged on failure). Any damage
  // (truncation, flipped bits, an unknown version, a schema ParseTableSchema would
  // not produce) is Status::Corruption; never reads outside `record`.
  static Status Deserialize(std::string_view record, TableSchema* out);

  // True if the columns (names, declared types, NOT NULL, collations, order) and the
  // primary key of this schema ("here": parsed from CREATE VIRTUAL TABLE) equal those
  // of `catalog`; table names and options are not compared. Otherwise false, and
  // *difference (if not null) says what differs, e.g.
  //   column 3 is 'email TEXT' in the catalog but 'mail TEXT' here
  bool SameShape(const TableSchema& catalog, std::string* difference) const;
};

// Parses the arguments of CREATE VIRTUAL TABLE `table_name` USING strata(args...) into
// *out (unchanged on failure). Errors are InvalidArgument (malformed definitions and
// options) or NotSupported (valid SQL that strata tables do not support), with a
// message starting "table <name>: " that names the column or option and the cause.
Status ParseTableSchema(std::string_view table_name, const std::vector<std::string_view>& args,
                        TableSchema* out);

}  // namespace strata::sql
