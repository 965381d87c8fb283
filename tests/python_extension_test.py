#!/usr/bin/python3
"""The strata extension loaded from Python's sqlite3 module, as Python users load it.

Usage: /usr/bin/python3 tests/python_extension_test.py <path of build/strata.so>
(ctest passes the path; Debian's /usr/bin/python3 can load extensions, some other
Pythons cannot). A small workload: create, insert 1000 rows in one transaction, point
and range queries, rollback, and persistence across reopening the database file.
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

EXTENSION = None  # set from argv in main


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN/COMMIT below
    conn.enable_load_extension(True)
    conn.load_extension(EXTENSION)
    conn.enable_load_extension(False)
    return conn


class PythonExtensionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="strata-python-")
        self.path = os.path.join(self.dir, "test.db")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_workload_persists_and_rolls_back(self):
        conn = connect(self.path)
        self.assertRegex(conn.execute("SELECT strata_version()").fetchone()[0],
                         r"^strata \d+\.\d+\.\d+$")
        conn.execute("CREATE VIRTUAL TABLE kv USING strata(k INTEGER PRIMARY KEY, v TEXT, "
                     "n REAL)")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO kv VALUES (?, ?, ?)",
                         ((i, "value %d" % i, i / 4) for i in range(1000)))
        # Visible to the transaction itself before COMMIT.
        self.assertEqual(conn.execute("SELECT count(*) FROM kv").fetchone()[0], 1000)
        conn.execute("COMMIT")

        # Point and range queries, with parameters of Python types.
        self.assertEqual(conn.execute("SELECT v, n FROM kv WHERE k = ?", (123,)).fetchone(),
                         ("value 123", 30.75))
        self.assertIsNone(conn.execute("SELECT v FROM kv WHERE k = ?", (5000,)).fetchone())
        self.assertEqual(
            conn.execute("SELECT k FROM kv WHERE k >= ? AND k < ? ORDER BY k DESC",
                         (10, 15)).fetchall(),
            [(14,), (13,), (12,), (11,), (10,)])
        self.assertEqual(
            conn.execute("SELECT k FROM kv WHERE k IN (999, 3, 1000, 500)").fetchall(),
            [(3,), (500,), (999,)])
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT * FROM kv WHERE k = 1").fetchall()
        self.assertIn("point(k=?)", plan[0][3])

        # Errors arrive as Python exceptions with SQLite's message.
        with self.assertRaisesRegex(sqlite3.IntegrityError, r"UNIQUE constraint failed: kv\.k"):
            conn.execute("INSERT INTO kv VALUES (1, 'dup', 0)")

        # Rollback discards inserts, deletes and updates.
        conn.execute("BEGIN")
        conn.execute("INSERT INTO kv VALUES (-1, 'rolled back', 0)")
        conn.execute("DELETE FROM kv WHERE k < 100")
        conn.execute("UPDATE kv SET v = 'changed' WHERE k = 500")
        self.assertEqual(conn.execute("SELECT count(*) FROM kv").fetchone()[0], 900)  # -1 deleted too
        conn.execute("ROLLBACK")
        self.assertEqual(conn.execute("SELECT count(*), min(k), max(k) FROM kv").fetchone(),
                         (1000, 0, 999))
        self.assertEqual(conn.execute("SELECT v FROM kv WHERE k = 500").fetchone()[0],
                         "value 500")
        conn.execute("DELETE FROM kv WHERE k % 2 = 1")
        self.assertEqual(conn.execute("SELECT strata_flush('kv')").fetchone()[0], 1)
        conn.close()

        # Reopened: the store next to the file holds the committed rows.
        self.assertTrue(os.path.isdir(self.path + "-strata"))
        conn = connect(self.path)
        self.assertEqual(conn.execute("SELECT count(*), sum(k) FROM kv").fetchone(),
                         (500, sum(range(0, 1000, 2))))
        self.assertEqual(conn.execute("SELECT v FROM kv WHERE k = 998").fetchone()[0],
                         "value 998")
        conn.close()

    def test_python_transaction_handling_commits_and_rolls_back(self):
        # The sqlite3 module's default mode opens transactions implicitly before DML.
        conn = sqlite3.connect(self.path)
        conn.enable_load_extension(True)
        conn.load_extension(EXTENSION)
        conn.execute("CREATE VIRTUAL TABLE t USING strata(k TEXT PRIMARY KEY, v BLOB)")
        with conn:  # commits on success
            conn.execute("INSERT INTO t VALUES ('a', ?)", (b"\x00\x01",))
        try:
            with conn:  # rolls back on an exception
                conn.execute("INSERT INTO t VALUES ('b', NULL)")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        self.assertEqual(conn.execute("SELECT * FROM t").fetchall(), [("a", b"\x00\x01")])
        conn.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python_extension_test.py <path of build/strata.so>")
    EXTENSION = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
