"""Plain SQL through the driver, on Django's connection and inside its transactions, for the write path's
one-row statements.

A post runs a dozen one-row statements. Through Django's cursor wrapper each one also rewrote its placeholders
with a regular expression (SQLite), went through the debug-cursor and error-wrapping layers and made a new
cursor: together more than SQLite's own work for such a statement. Here SQLite gets its `?` form (converted once
per statement text) straight on the connection; PostgreSQL keeps Django's cursor (psycopg does the same work).
Errors still come out as django.db errors. Unlike Django's cursor these do not refuse to run in a transaction
already spoiled by an error: no caller carries on after one (a failed decision rolls its transaction back).
"""
from __future__ import annotations

import sqlite3
from operator import attrgetter, methodcaller
from typing import Any, Callable, Sequence

from django.db import connections

_SQLITE_FORM: dict[str, str] = {}


def _same(value: None) -> None:
    return value


def bind_plainly() -> None:
    """sqlite3 binds exact ints, floats and strings directly; any other value (True, False, None) first goes through
    its adapter lookup, which, finding none, raises and clears two AttributeErrors (a formatted message each):
    ~1,900 machine instructions per value, 40 % of an executemany of rows with a few of them, and a comment row has
    five or six (deleted, shown; parent_id, edited_at, anchor_id, anchor). Registered adapters are found at once:
    bool as int (what sqlite3 binds for it anyway: 1 or 0), None as itself (NULL). The values stored do not change
    (tests/events/test_sql.py). Called once, when the events app is ready; process-wide, like any sqlite3 adapter."""
    sqlite3.register_adapter(bool, int)
    sqlite3.register_adapter(type(None), _same)


def qmark(sql: str) -> str:
    """`sql` (placeholders %s) in sqlite3's placeholder style, converted once per statement text."""
    form = _SQLITE_FORM.get(sql)
    if form is None:  # our statements hold no literal "%s": every one is a parameter
        form = _SQLITE_FORM[sql] = sql.replace("%s", "?")
    return form


def _rows(using: str, sql: str, params: Sequence[Any], take: Callable[[Any], Any]) -> Any:
    """`take(cursor)` after running `sql` (placeholders %s): Django's cursor on PostgreSQL, sqlite3's own on SQLite,
    errors as django.db errors either way."""
    conn = connections[using]
    if conn.vendor != "sqlite":
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return take(cur)
    conn.ensure_connection()
    with conn.wrap_database_errors:
        return take(conn.connection.execute(qmark(sql), params))


_FIRST, _ALL, _COUNT = methodcaller("fetchone"), methodcaller("fetchall"), attrgetter("rowcount")


def fetch_one(using: str, sql: str, params: Sequence[Any] = ()) -> tuple | None:
    """The first row of `sql` (placeholders %s), or None."""
    return _rows(using, sql, params, _FIRST)


def fetch_all(using: str, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Every row of `sql` (placeholders %s)."""
    return _rows(using, sql, params, _ALL)


def execute(using: str, sql: str, params: Sequence[Any] = ()) -> int:
    """Run a statement (placeholders %s); returns the number of rows it changed."""
    return _rows(using, sql, params, _COUNT)


def sqlite_file(settings_dict: dict) -> str | None:
    """The database file of a connection's settings, or None (PostgreSQL, or SQLite in memory)."""
    name = str(settings_dict.get("NAME") or "")
    if (not str(settings_dict.get("ENGINE", "")).endswith("sqlite3") or not name or name == ":memory:"
            or name.startswith("file:") or "mode=memory" in name):
        return None
    return name
