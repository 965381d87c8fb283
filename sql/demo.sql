-- The strata demo: SQL tables stored in an LSM tree, through the sqlite3 shell.
--
-- Run from the repository root after building (tools/dev.sh demo does both):
--   sqlite3 /tmp/strata-demo.db < sql/demo.sql
-- The rows of the strata tables live in the directory /tmp/strata-demo.db-strata,
-- next to the database file.
.load ./build/strata
.headers on
.mode box

-- Start from scratch when run again on the same database.
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS countries;

.print '== 1. Load the extension and create tables'
SELECT strata_version() AS version;

-- A strata table is declared like an ordinary table; its PRIMARY KEY is the key of
-- the LSM tree, so key lookups and key-ordered scans go straight to the store.
CREATE VIRTUAL TABLE users USING strata(id INTEGER PRIMARY KEY, name TEXT, country TEXT);
CREATE VIRTUAL TABLE events USING strata(
  user_id INTEGER, ts INTEGER, kind TEXT, amount REAL,
  PRIMARY KEY (user_id, ts)      -- events of one user are stored together, by time
);
-- Ordinary SQLite tables work alongside them, in the same queries and transactions.
CREATE TABLE countries(code TEXT PRIMARY KEY, name TEXT);
INSERT INTO countries VALUES ('fr', 'France'), ('jp', 'Japan'), ('ke', 'Kenya'),
                             ('no', 'Norway'), ('pe', 'Peru');

.print
.print '== 2. Load 200 users and 5,000 events (25 per user)'
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO users
SELECT i, 'user' || printf('%03d', i), substr('frjpkenope', 1 + 2 * (i % 5), 2) FROM n;

WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4999)
INSERT INTO events
SELECT 1 + i % 200,                                -- user_id
       1000 + (i / 200) * 10,                      -- ts: one event per user every 10 ticks
       CASE i % 3 WHEN 0 THEN 'view' WHEN 1 THEN 'click' ELSE 'buy' END,
       CASE i % 3 WHEN 2 THEN (i / 200) % 10 * 5 + 4.99 END  -- amount, purchases only
FROM n;

SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM events) AS events;

.print
.print '== 3. Point lookup: the whole key is given, one get in the store'
SELECT * FROM users WHERE id = 42;
EXPLAIN QUERY PLAN SELECT * FROM users WHERE id = 42;

.print
.print '== 4. Range scan on a key prefix, newest first: user 7, ticks 1100 to 1200'
SELECT * FROM events WHERE user_id = 7 AND ts BETWEEN 1100 AND 1200 ORDER BY ts DESC;
EXPLAIN QUERY PLAN
SELECT * FROM events WHERE user_id = 7 AND ts BETWEEN 1100 AND 1200 ORDER BY ts DESC;

.print
.print '== 5. IN list: one get per value, in key order'
SELECT id, name FROM users WHERE id IN (150, 3, 77);
EXPLAIN QUERY PLAN SELECT id, name FROM users WHERE id IN (150, 3, 77);

.print
.print '== 6. ORDER BY key DESC with LIMIT: the store is read backwards, no sorting'
SELECT id, name FROM users ORDER BY id DESC LIMIT 3;
EXPLAIN QUERY PLAN SELECT id, name FROM users ORDER BY id DESC LIMIT 3;

.print
.print '== 7. Join: strata and ordinary tables, grouped'
SELECT c.name AS country, count(*) AS purchases, round(sum(e.amount), 2) AS total
FROM events e
JOIN users u ON u.id = e.user_id
JOIN countries c ON c.code = u.country
WHERE e.kind = 'buy'
GROUP BY c.name
ORDER BY total DESC, country;
EXPLAIN QUERY PLAN
SELECT c.name AS country, count(*) AS purchases, round(sum(e.amount), 2) AS total
FROM events e
JOIN users u ON u.id = e.user_id
JOIN countries c ON c.code = u.country
WHERE e.kind = 'buy'
GROUP BY c.name
ORDER BY total DESC, country;

.print
.print '== 8. Transactions and savepoints: only what is committed stays'
BEGIN;
INSERT INTO users VALUES (201, 'newcomer', 'pe');
SAVEPOINT before_cleanup;
DELETE FROM events WHERE user_id <= 100;
SELECT count(*) AS events_inside_savepoint FROM events;
ROLLBACK TO before_cleanup;
UPDATE users SET name = 'user042 (renamed)' WHERE id = 42;
COMMIT;
SELECT (SELECT count(*) FROM events) AS events_after_commit,
       (SELECT name FROM users WHERE id = 42) AS user_42,
       (SELECT name FROM users WHERE id = 201) AS user_201;

.print
.print '== 9. Conflicts behave as in ordinary tables'
INSERT OR IGNORE INTO users VALUES (1, 'duplicate', 'fr');
INSERT OR REPLACE INTO users VALUES (2, 'user002 (replaced)', 'jp');
SELECT * FROM users WHERE id IN (1, 2);

.print
.print '== 10. Maintenance: flush the memtable to disk, compact, read the same rows'
SELECT count(*) AS events, round(sum(amount), 2) AS total_amount FROM events;
SELECT strata_flush('events') AS flushed, strata_compact('events') AS compacted;
SELECT count(*) AS events, round(sum(amount), 2) AS total_amount FROM events;

.print
.print 'Done. The strata tables live in the directory <database file>-strata; open the'
.print 'database again (sqlite3 /tmp/strata-demo.db, then .load ./build/strata) to find'
.print 'every committed row still there.'
