"""events.sql.bind_plainly: bools and None reach SQLite through registered adapters (no failed adapter lookup per
value), and are stored as before: 1 / 0 as integers, None as NULL."""
from __future__ import annotations

import sqlite3

import django  # noqa: F401  (the events app is ready: conftest sets Django up)


def test_bools_and_none_bind_as_before():
    assert sqlite3.adapters.get((bool, sqlite3.PrepareProtocol)) is int
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b, c, d)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(True, False, None, 7), (1, 0, None, 7)])
    rows = conn.execute("SELECT a, typeof(a), b, typeof(b), c, typeof(c) FROM t").fetchall()
    assert rows == [(1, "integer", 0, "integer", None, "null")] * 2
    assert conn.execute("SELECT count(*) FROM t WHERE a = ? AND b = ? AND c IS ?", (True, False, None)).fetchone() == (2,)
