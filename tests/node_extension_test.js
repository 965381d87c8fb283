// The strata extension loaded into Node.js through better-sqlite3, a client that bundles
// its own SQLite: 3.53.2 in better-sqlite3 12.11.1 (tests/node/package.json), newer than
// the system's 3.40.1 that the C++ tests and python_extension_test.py run in, and
// compiled with other options (SQLITE_DQS=0, SQLITE_ENABLE_UPDATE_DELETE_LIMIT, ...).
//
// Usage: node tests/node_extension_test.js <build/strata.so> <node_modules/better-sqlite3>
// (ctest passes both; tests/CMakeLists.txt installs better-sqlite3 into the build tree).
//
// A small real workload on strata tables, each statement also run on an ordinary
// WITHOUT ROWID table with the same columns ("twin"), whose answer the strata table's
// must equal: transactions, point / range / IN / ORDER BY DESC queries, a join, a
// savepoint rollback, UPDATE of key columns, DELETE ... LIMIT, errors as exceptions,
// and the rows after closing and reopening the database. Then LIMIT and OFFSET, which
// this SQLite passes to the strata table only where consuming them is safe.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const [extensionArg, moduleArg] = process.argv.slice(2);
if (!extensionArg || !moduleArg) {
  console.error('usage: node node_extension_test.js <build/strata.so> ' +
                '<node_modules/better-sqlite3>');
  process.exit(2);
}
const EXTENSION = path.resolve(extensionArg);
let Database;
try {
  Database = require(path.resolve(moduleArg));
} catch (error) {
  console.error(`cannot load better-sqlite3 from ${moduleArg}: ${error.message}\n` +
                '(the build installs it: cmake --build <build dir> --target strata_node_modules)');
  process.exit(1);
}

const MIN_SQLITE_VERSION = [3, 53, 0];

function openDatabase(file) {
  const db = new Database(file);
  db.defaultSafeIntegers(true);  // INTEGERs as BigInt: exact, and distinct from REALs
  db.loadExtension(EXTENSION);
  return db;
}

function withTempDir(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-node-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

// Creates `name` as a strata table and `name_plain` as an ordinary WITHOUT ROWID table
// with the same columns.
function createTwins(db, name, columns) {
  db.exec(`CREATE VIRTUAL TABLE ${name} USING strata(${columns})`);
  db.exec(`CREATE TABLE ${name}_plain(${columns}) WITHOUT ROWID`);
}

// What one statement does: its rows (or run info), or the error it throws.
function outcome(db, sql, params) {
  try {
    const statement = db.prepare(sql);
    if (statement.reader) return {rows: statement.raw().all(...params)};
    return {changes: statement.run(...params).changes};
  } catch (error) {
    if (!(error instanceof Database.SqliteError)) throw error;
    return {code: error.code, message: error.message};
  }
}

// Runs `template` with `{t}` (and `{u}`) naming the strata tables, then the twins; the
// outcomes must be equal, with twin names in messages read as the strata names.
// Returns the strata table's outcome.
function same(db, template, ...params) {
  const names = {t: 'users', u: 'events'};
  const sqlFor = (suffix) =>
    template.replace(/\{([tu])\}/g, (_, key) => names[key] + suffix);
  const strata = outcome(db, sqlFor(''), params);
  const plain = outcome(db, sqlFor('_plain'), params);
  if (plain.message) plain.message = plain.message.replace(/_plain\b/g, '');
  assert.deepStrictEqual(strata, plain, `strata and ordinary tables differ on: ${sqlFor('')}`);
  return strata;
}

// The EXPLAIN QUERY PLAN detail of a one-table statement, without SQLite's idxNum.
function planOf(db, sql, ...params) {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params);
  return rows.map((row) => row.detail.replace(/INDEX \d+:/, 'INDEX ')).join('; ');
}

// Deterministic pseudo-random integers in [0, bound) from a 32-bit LCG, so a failure
// repeats. Taken from the high bits: an LCG's low bits repeat with short periods.
function makeRandom(seed) {
  let state = seed >>> 0;
  return (bound) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * bound);
  };
}

const USERS = 300;
const EVENTS = 3000;
const KINDS = ['click', 'view', 'buy', 'share'];

function createSchema(db) {
  createTwins(db, 'users', 'id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL');
  createTwins(db, 'events',
              'user_id INTEGER, ts INTEGER, kind TEXT, body BLOB, PRIMARY KEY (user_id, ts)');
  createTwins(db, 'labels', 'k TEXT PRIMARY KEY, v TEXT');
  db.exec('CREATE TABLE notes(user_id INTEGER, note TEXT)');  // an ordinary rowid table
}

// Inserts the same rows into the strata tables and their twins, in one transaction.
function insertRows(db) {
  const random = makeRandom(20240604);
  const users = [];
  for (let id = 1; id <= USERS; id++) {
    users.push([id * 3, `user ${id}`, random(1000) / 8]);
  }
  const events = new Map();
  while (events.size < EVENTS) {
    const userId = users[random(USERS)][0];
    const ts = 1000 + random(100000);
    const body = Buffer.from([random(256), random(256), random(256)]);
    events.set(`${userId}/${ts}`, [userId, ts, KINDS[random(KINDS.length)], body]);
  }
  const load = db.transaction(() => {
    for (const table of ['users', 'users_plain']) {
      const insert = db.prepare(`INSERT INTO ${table} VALUES (?, ?, ?)`);
      for (const row of users) insert.run(...row);
    }
    for (const table of ['events', 'events_plain']) {
      const insert = db.prepare(`INSERT INTO ${table} VALUES (?, ?, ?, ?)`);
      for (const row of events.values()) insert.run(...row);
    }
    const note = db.prepare('INSERT INTO notes VALUES (?, ?)');
    for (let i = 0; i < 100; i++) note.run(users[random(USERS)][0], `note ${i}`);
    // The transaction's own reads see its writes before COMMIT.
    assert.equal(db.prepare('SELECT count(*) FROM events').pluck().get(), BigInt(EVENTS));
  });
  load();
}

// Every row of every twin pair is equal.
function assertTablesEqual(db) {
  same(db, 'SELECT * FROM {t}');
  same(db, 'SELECT * FROM {u}');
  assert.deepStrictEqual(db.prepare('SELECT * FROM labels').raw().all(),
                         db.prepare('SELECT * FROM labels_plain').raw().all());
}

test('strata loads into the bundled SQLite, which is newer than the system one', () => {
  const db = openDatabase(':memory:');
  try {
    const version = db.prepare('SELECT sqlite_version()').pluck().get();
    const parts = version.split('.').map(Number);
    const newEnough = parts[0] > MIN_SQLITE_VERSION[0] ||
        (parts[0] === MIN_SQLITE_VERSION[0] &&
         (parts[1] > MIN_SQLITE_VERSION[1] ||
          (parts[1] === MIN_SQLITE_VERSION[1] && parts[2] >= MIN_SQLITE_VERSION[2])));
    assert.ok(newEnough, `better-sqlite3 runs SQLite ${version}, expected >= 3.53.0`);
    assert.match(db.prepare('SELECT strata_version()').pluck().get(), /^strata \d+\.\d+\.\d+$/);
  } finally {
    db.close();
  }
});

test('a workload on strata tables matches ordinary WITHOUT ROWID tables', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'test.db');
    let db = openDatabase(file);
    createSchema(db);
    insertRows(db);

    // Point, range, IN and ORDER BY DESC queries, pushed down into the store.
    same(db, 'SELECT * FROM {t} WHERE id = ?', 30);
    same(db, 'SELECT * FROM {t} WHERE id = ?', 31);  // no such row
    same(db, 'SELECT id, name FROM {t} WHERE id >= ? AND id < ? ORDER BY id DESC', 100, 160);
    same(db, 'SELECT id FROM {t} WHERE id IN (900, 3, 5, 3, 450, 1e9) ORDER BY id DESC');
    same(db, 'SELECT id FROM {t} WHERE id > 870 ORDER BY id DESC LIMIT 5 OFFSET 2');
    same(db, 'SELECT * FROM {u} WHERE user_id = ? ORDER BY ts DESC', 9);
    same(db, 'SELECT ts, kind FROM {u} WHERE user_id = ? AND ts BETWEEN ? AND ? ORDER BY ts DESC',
         12, 20000, 80000);
    same(db, 'SELECT * FROM {u} WHERE user_id IN (3, 6, 9) AND ts > 50000 ORDER BY user_id, ts');
    same(db, 'SELECT user_id, count(*), max(ts) FROM {u} GROUP BY user_id ORDER BY user_id DESC');
    same(db, "SELECT count(*), sum(ts), total(score) FROM {u} JOIN {t} ON id = user_id " +
             "WHERE kind = 'buy'");
    same(db, 'SELECT typeof(id), typeof(name), typeof(score) FROM {t} WHERE id = 3');
    assert.equal(planOf(db, 'SELECT * FROM users WHERE id = 3'),
                 'SCAN users VIRTUAL TABLE INDEX point(id=?)');
    assert.equal(planOf(db, 'SELECT * FROM users WHERE id IN (3, 6)'),
                 'SCAN users VIRTUAL TABLE INDEX in(id)');
    assert.equal(planOf(db, 'SELECT * FROM events WHERE user_id = 7 AND ts BETWEEN 1 AND 9 ' +
                            'ORDER BY ts DESC'),
                 'SCAN events VIRTUAL TABLE INDEX prefix(user_id=?) range(ts>=?,ts<=?) desc');

    // A join with an ordinary rowid table probes the strata table by key.
    same(db, 'SELECT n.note, u.name, u.score FROM notes n JOIN {t} u ON u.id = n.user_id ' +
             'ORDER BY n.rowid');
    same(db, 'SELECT n.note, count(e.ts) FROM notes n LEFT JOIN {u} e ON e.user_id = n.user_id ' +
             'GROUP BY n.rowid ORDER BY n.rowid');

    // A REAL stored in TEXT columns becomes the text this SQLite writes (3.53 keeps 17
    // significant digits where 3.40 kept 15), and is found again by the same value.
    for (const table of ['labels', 'labels_plain']) {
      db.exec(`INSERT INTO ${table} VALUES (0.1 + 0.2, 1e300 / 7), ('a', 9007199254740993.0)`);
    }
    assert.deepStrictEqual(db.prepare('SELECT * FROM labels').raw().all(),
                           db.prepare('SELECT * FROM labels_plain').raw().all());
    assert.deepStrictEqual(db.prepare('SELECT v FROM labels WHERE k = 0.1 + 0.2').raw().all(),
                           [['1.4285714285714286e+299']]);

    // INSERT ... RETURNING, and a UNIQUE violation as an exception with SQLite's code.
    same(db, "INSERT INTO {t} VALUES (2, 'two', 2.5), (1, 'one', NULL) RETURNING id, name");
    const duplicate = same(db, "INSERT INTO {t} VALUES (30, 'again', 0)");
    assert.equal(duplicate.code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
    assert.equal(duplicate.message, 'UNIQUE constraint failed: users.id');
    const [userId, ts] = db.prepare('SELECT user_id, ts FROM events LIMIT 1').raw().get();
    assert.throws(() => db.prepare("INSERT INTO events VALUES (?, ?, 'x', NULL)").run(userId, ts),
                  {name: 'SqliteError', code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
                   message: 'UNIQUE constraint failed: events.user_id, events.ts'});
    const missingName = same(db, 'INSERT INTO {t} VALUES (4, NULL, 1)');
    assert.equal(missingName.code, 'SQLITE_CONSTRAINT_NOTNULL');

    // A failing statement inside a transaction undoes only itself.
    db.exec('BEGIN');
    same(db, "INSERT INTO {t} VALUES (5, 'five', 5)");
    same(db, "INSERT INTO {t} VALUES (7, 'seven', 7), (5, 'dup', 0)");
    db.exec('COMMIT');
    same(db, 'SELECT * FROM {t} WHERE id IN (5, 7)');

    // A savepoint rolled back takes its writes with it, also through better-sqlite3's
    // nested transactions (SAVEPOINT / ROLLBACK TO when the inner function throws).
    db.exec('BEGIN');
    same(db, "INSERT INTO {t} VALUES (8, 'kept', 8)");
    db.exec('SAVEPOINT s');
    same(db, 'DELETE FROM {u} WHERE user_id < 300');
    same(db, "UPDATE {t} SET name = 'gone' WHERE id < 100");
    db.exec('ROLLBACK TO s');
    db.exec('RELEASE s');
    db.exec('COMMIT');
    same(db, 'SELECT count(*) FROM {u}');
    same(db, 'SELECT * FROM {t} WHERE id < 100');
    const outer = db.transaction(() => {
      same(db, "INSERT INTO {t} VALUES (10, 'outer', 1)");
      const inner = db.transaction(() => {
        same(db, "INSERT INTO {t} VALUES (11, 'inner', 1)");
        same(db, 'DELETE FROM {u} WHERE user_id = 12');
        throw new Error('roll back the inner transaction');
      });
      assert.throws(inner, /roll back the inner transaction/);
    });
    outer();
    same(db, 'SELECT * FROM {t} WHERE id BETWEEN 10 AND 12');
    same(db, 'SELECT count(*) FROM {u} WHERE user_id = 12');

    // UPDATE of key columns moves rows; one that collides fails as a whole.
    same(db, 'UPDATE {t} SET id = id + 10000 WHERE id % 7 = 0');
    same(db, 'UPDATE {u} SET ts = -ts WHERE user_id = 15');
    same(db, 'UPDATE {u} SET user_id = 100000 + user_id, kind = upper(kind) WHERE user_id < 40');
    const collision = same(db, 'UPDATE {t} SET id = 3 WHERE id = 6');
    assert.equal(collision.code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
    same(db, 'SELECT id FROM {t} WHERE id > 10000 ORDER BY id DESC');

    // DELETE / UPDATE ... LIMIT (this SQLite is built with them) touch only that many rows.
    same(db, 'DELETE FROM {u} WHERE kind = ? ORDER BY ts DESC, user_id LIMIT 25', 'view');
    same(db, "UPDATE {t} SET name = 'limited' WHERE id > 600 ORDER BY id LIMIT 4");

    assertTablesEqual(db);
    assert.equal(db.prepare('PRAGMA integrity_check').pluck().get(), 'ok');
    assert.equal(db.prepare("SELECT strata_flush('events')").pluck().get(), 1n);
    db.close();

    // Reopened: the store next to the file holds every committed row.
    assert.ok(fs.statSync(`${file}-strata`).isDirectory());
    db = openDatabase(file);
    assertTablesEqual(db);
    same(db, 'SELECT count(*), sum(id) FROM {t}');
    same(db, 'SELECT * FROM {u} WHERE user_id = ? ORDER BY ts DESC LIMIT 3', 100012);
    db.close();
  });
});

// LIMIT and OFFSET (docs/planning.md, "LIMIT and OFFSET"): this SQLite passes them to
// xBestIndex only where stopping early is right, so the strata table consumes them
// (" limit", " offset" in idxStr); in the five cases where SQLite 3.40.1 passed them
// wrongly, and wherever a filter stays with SQLite, the rows must still be an ordinary
// table's.
test('LIMIT and OFFSET are consumed only where the rows stay those of an ordinary table',
     () => {
  const db = openDatabase(':memory:');
  try {
    db.exec('CREATE VIRTUAL TABLE items USING strata(k INTEGER PRIMARY KEY, v INTEGER, tag TEXT)');
    db.exec('CREATE TABLE items_plain(k INTEGER PRIMARY KEY, v INTEGER, tag TEXT) WITHOUT ROWID');
    db.exec('CREATE VIRTUAL TABLE pairs USING strata(a INTEGER, b INTEGER, note TEXT, ' +
            'PRIMARY KEY (a, b))');
    db.exec('CREATE TABLE pairs_plain(a INTEGER, b INTEGER, note TEXT, PRIMARY KEY (a, b)) ' +
            'WITHOUT ROWID');
    for (const suffix of ['', '_plain']) {
      const item = db.prepare(`INSERT INTO items${suffix} VALUES (?, ?, ?)`);
      // v = k on every fifth row, for the `k = v` cases.
      for (let k = 1; k <= 40; k++) item.run(k, k % 5 === 0 ? k : (k * 7) % 11, k % 3 ? 'x' : 'Y');
      const pair = db.prepare(`INSERT INTO pairs${suffix} VALUES (?, ?, ?)`);
      for (let a = 1; a <= 6; a++) for (let b = 1; b <= 8; b++) pair.run(a, b, `${a}/${b}`);
    }
    // The rows of sql on the strata tables, which must equal the ordinary tables'.
    const rows = (sql, ...params) => {
      const strata = outcome(db, sql, params);
      const plain = outcome(db, sql.replace(/\b(items|pairs)\b/g, '$1_plain'), params);
      assert.deepStrictEqual(strata, plain, `strata and ordinary tables differ on: ${sql}`);
      assert.ok(strata.rows, `${sql}: ${strata.message}`);
      return strata.rows;
    };
    // Checks sql's rows and that its plan (EXPLAIN QUERY PLAN detail) is `plan`.
    const check = (plan, sql, ...params) => {
      rows(sql, ...params);
      assert.equal(planOf(db, sql, ...params), plan, sql);
    };
    const scan = (idxStr) => `SCAN items VIRTUAL TABLE INDEX ${idxStr}`;

    // Consumed: the plan returns exactly the statement's rows, in order.
    check(scan('scan limit offset'), 'SELECT k, v FROM items ORDER BY k LIMIT 5 OFFSET 7');
    check(scan('scan desc limit offset'), 'SELECT k FROM items ORDER BY k DESC LIMIT 3 OFFSET 2');
    check(scan('range(k>?) limit'), 'SELECT * FROM items WHERE k > ? LIMIT 4', 17);
    check(scan('range(k>=?) limit'), 'SELECT * FROM items WHERE k >= 10 LIMIT 3');
    check(scan('range(k>?,k<?) limit offset'),
          'SELECT k FROM items WHERE k > ? AND k < ? LIMIT ? OFFSET ?', 5, 30, 4, 3);
    check(scan('in(k) limit offset'),
          'SELECT k FROM items WHERE k IN (30, 5, 9, 2, 99) LIMIT 2 OFFSET 1');
    check('SCAN pairs VIRTUAL TABLE INDEX prefix(a=?) desc limit offset',
          'SELECT * FROM pairs WHERE a = 3 ORDER BY b DESC LIMIT 2 OFFSET 1');
    // A negative LIMIT means none; an OFFSET past the end leaves nothing.
    check(scan('range(k>?) limit offset'), 'SELECT k FROM items WHERE k > 30 LIMIT -1 OFFSET 2');
    assert.equal(rows('SELECT k FROM items LIMIT ? OFFSET ?', -1, 38).length, 2);
    assert.equal(rows('SELECT k FROM items LIMIT 3 OFFSET 40').length, 0);
    // A correlated subquery: each run gets its own LIMIT and OFFSET.
    rows('SELECT x, (SELECT k FROM items WHERE k > x LIMIT 1 OFFSET 2) ' +
         'FROM (SELECT column1 AS x FROM (VALUES (3), (17), (38)))');

    // 1. Another WHERE term left to SQLite (tag is not a key column).
    check(scan('range(k>?)'), "SELECT k FROM items WHERE k > 3 AND tag = 'x' LIMIT 3 OFFSET 2");
    // 2. An ORDER BY that SQLite sorts afterwards (also one in another collation).
    check(`${scan('scan')}; USE TEMP B-TREE FOR ORDER BY`,
          'SELECT k, v FROM items ORDER BY v, k LIMIT 3 OFFSET 1');
    check(`${scan('scan')}; USE TEMP B-TREE FOR ORDER BY`,
          'SELECT k, tag FROM items ORDER BY tag COLLATE NOCASE, k LIMIT 4 OFFSET 10');
    // 3. A row value, passed as `a >= 2` that SQLite re-checks.
    check('SCAN pairs VIRTUAL TABLE INDEX range(a>=?)',
          'SELECT a, b FROM pairs WHERE (a, b) > (2, 3) LIMIT 4 OFFSET 1');
    check('SCAN pairs VIRTUAL TABLE INDEX range(a<=?) desc',
          'SELECT a, b FROM pairs WHERE (a, b) < (4, 2) ORDER BY a DESC, b DESC LIMIT 3 OFFSET 1');
    // A row-value IN runs xFilter once per row of the list: SQLite keeps LIMIT and OFFSET.
    const rowValueIn =
        'SELECT a, b FROM pairs WHERE (a, b) IN (VALUES (1, 2), (3, 4), (5, 6)) LIMIT 2 OFFSET 1';
    assert.deepStrictEqual(rows(rowValueIn), [[3n, 4n], [5n, 6n]]);
    assert.match(planOf(db, rowValueIn), /^SCAN pairs VIRTUAL TABLE INDEX point\(a=\?,b=\?\);/);
    // 4. A term comparing two columns of the table, which xBestIndex never sees.
    check(scan('scan'), 'SELECT k, v FROM items WHERE k = v LIMIT 2 OFFSET 1');
    check(scan('scan'), 'SELECT k, v FROM items WHERE k > v LIMIT 3');
    check(scan('scan'), 'SELECT k, v FROM items WHERE k IN (v, 7) LIMIT 2');
    check(scan('range(k>?)'), 'SELECT k, v FROM items WHERE k > 3 AND k = v LIMIT 2 OFFSET 1');
    check(scan('scan'), 'SELECT k FROM items WHERE k = coalesce(8, k) LIMIT 3');
    // 5. A compound SELECT: with an OFFSET no member gets LIMIT or OFFSET; without one,
    // each member may stop after LIMIT rows.
    const compound = 'SELECT k FROM items UNION ALL SELECT k FROM items';
    assert.deepStrictEqual(rows(`${compound} LIMIT 3 OFFSET 38`), [[39n], [40n], [1n]]);
    assert.doesNotMatch(planOf(db, `${compound} LIMIT 3 OFFSET 38`), / limit| offset/);
    rows(`${compound} LIMIT 3 OFFSET 7`);
    rows(`SELECT k FROM items WHERE k > 38 UNION ALL SELECT v FROM items LIMIT 5`);
    rows(`SELECT * FROM (${compound}) LIMIT 2 OFFSET 39`);
    rows(`SELECT k FROM items UNION SELECT v FROM items LIMIT 4 OFFSET 3`);
    rows(`SELECT k FROM items EXCEPT SELECT v FROM items LIMIT 4 OFFSET 3`);

    // A TEXT key is re-checked by SQLite (omit = 0): LIMIT stays with SQLite.
    db.exec("CREATE VIRTUAL TABLE words USING strata(w TEXT PRIMARY KEY)");
    db.exec("INSERT INTO words VALUES ('a'), ('b'), ('c'), ('d')");
    assert.equal(planOf(db, "SELECT w FROM words WHERE w > 'a' LIMIT 2"),
                 'SCAN words VIRTUAL TABLE INDEX range(w>?)');
    assert.deepStrictEqual(db.prepare("SELECT w FROM words WHERE w > 'a' LIMIT 2 OFFSET 1")
                               .raw().all(), [['c'], ['d']]);
  } finally {
    db.close();
  }
});
