-- The SQL examples of README.md, checked by tests/sql_shell_test.cc against
-- sql/readme_examples.expected: change both together (STRATA_UPDATE_EXPECTED=1 regenerates
-- the expected output; see tests/sql_shell_test.cc).
-- Run from the repository root:  sqlite3 < sql/readme_examples.sql
.load ./build/strata
CREATE VIRTUAL TABLE kv USING strata;                        -- columns: key PRIMARY KEY, value
CREATE VIRTUAL TABLE users USING strata(id INTEGER PRIMARY KEY, name TEXT, email TEXT);
CREATE VIRTUAL TABLE events USING strata(user_id INTEGER, ts INTEGER, kind TEXT, body BLOB,
                                         PRIMARY KEY (user_id, ts));

INSERT INTO kv VALUES ('greeting', 'hello'), (42, x'00ff');
SELECT key, typeof(value) FROM kv;                           -- keys in SQLite order: 42, 'greeting'

INSERT INTO users VALUES (1, 'ada', 'ada@example.com');
INSERT INTO users VALUES (7, 'grace', 'grace@example.com');
INSERT INTO events VALUES (7, 100, 'login', NULL), (7, 150, 'view', x'01'),
                          (7, 250, 'logout', NULL), (1, 120, 'login', NULL);
SELECT * FROM users WHERE id = 1;                            -- point get
SELECT * FROM events WHERE user_id = 7 AND ts BETWEEN 100 AND 200 ORDER BY ts DESC LIMIT 10;
SELECT u.name, count(*) FROM users u JOIN events e ON e.user_id = u.id GROUP BY u.name;

BEGIN;
INSERT INTO users VALUES (2, 'alan', 'alan@example.com');
SAVEPOINT s;
DELETE FROM users WHERE id = 1;
ROLLBACK TO s;                                               -- user 1 is back
COMMIT;
SELECT id, name FROM users;

SELECT strata_version();
SELECT strata_flush('users'), strata_compact('users');      -- 1 on success

-- Options go after the columns. They configure the store that all strata tables of a
-- database share, so they belong on its first strata table (later ones may repeat them).
.open
.load ./build/strata
CREATE VIRTUAL TABLE logs USING strata(id INTEGER PRIMARY KEY, line TEXT,
                                       sync=normal, compression='zstd:3', bloom_bits_per_key=16);
INSERT INTO logs VALUES (1, 'started');
SELECT * FROM logs;
