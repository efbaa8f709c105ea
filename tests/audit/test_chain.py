"""The tamper-evident log: any altered field, deleted or reordered row is named by `threadlog audit verify`.

Tampering happens in throw-away databases (a server's SQLite file, a fresh PostgreSQL database), with the
append-only triggers disabled for the test, as an attacker with database access would.
"""
from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest

from events.audit import RAW_COLUMNS, verify_rows
from events.guard import install_sql, uninstall_sql
from tests.conftest import PostgresDatabase, Server

FIELDS = ["id", "stream", "stream_version", "type", "version", "data", "metadata", "recorded_at", "hash"]


class SqliteDb:
    def __init__(self, path: str):
        self.path = path

    def execute(self, sql: str, params=()) -> list:
        conn = sqlite3.connect(self.path)
        try:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def unguarded(self, sql: str, params=()) -> None:
        conn = sqlite3.connect(self.path)
        try:
            for s in uninstall_sql("sqlite"):
                conn.execute(s)
            conn.execute(sql, params)
            for s in install_sql("sqlite"):
                conn.execute(s)
            conn.commit()
        finally:
            conn.close()


class PostgresDb:
    def __init__(self, url: str):
        self.url = url.replace("postgres://", "postgresql://")

    def execute(self, sql: str, params=()) -> list:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def unguarded(self, sql: str, params=()) -> None:
        with psycopg.connect(self.url) as conn:
            conn.execute("ALTER TABLE threadlog_events DISABLE TRIGGER USER")
            conn.execute(sql.replace("?", "%s"), params)
            conn.execute("ALTER TABLE threadlog_events ENABLE TRIGGER USER")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def tampered(request, tmp_path_factory):
    """A server database holding the demo thread, and a handle to alter it behind the app's back.

    Shared by the tests of one back-end: each test puts back what it altered, and the fixture checks that.
    """
    tmp = tmp_path_factory.mktemp(f"audit-{request.param}")
    pg = None
    if request.param == "sqlite":
        server = Server(tmp, demo=True)
        db = SqliteDb(str(tmp / "server.sqlite3"))
    else:
        pg = PostgresDatabase()
        server = Server(tmp, database_url=pg.url, demo=True)
        db = PostgresDb(pg.url)
    yield server, db
    if pg is not None:
        pg.drop()


@pytest.fixture(autouse=True)
def _restored(request):
    yield
    if "tampered" in request.fixturenames:
        server, _ = request.getfixturevalue("tampered")
        assert chain(request.getfixturevalue("tampered")[1]).ok, "a test left the log altered"


def verify(server) -> tuple[int, str]:
    result = server.cli("audit", "verify", check=False)
    return result.returncode, result.stdout + result.stderr


def chain(db):
    """The same check as `threadlog audit verify`, on rows read straight from the database."""
    return verify_rows(db.execute(f"SELECT {RAW_COLUMNS} FROM threadlog_events ORDER BY position"))


def test_an_untouched_log_verifies(tampered):
    server, _ = tampered
    code, out = verify(server)
    assert code == 0, out
    assert "chain intact" in out
    head = json.loads(server.cli("audit", "head").stdout)
    assert head["position"] > 40 and len(head["hash"]) == 64


def _altered(value, field):
    if field in ("stream_version", "version"):
        return int(value) + 1000
    if field == "data":
        return value.replace('"', '"', 1)[:-1] + ',"x":1}'
    if field == "metadata":
        return '{"actor":"someone-else"}'
    if field == "hash":
        return "f" * 64
    if field == "recorded_at":
        return "2020-01-01T00:00:00.000000Z"
    if field == "id":
        return "00000000-0000-4000-8000-000000000000"
    return value + "x"


@pytest.mark.parametrize("field", FIELDS)
def test_altering_any_field_of_a_row_is_named(tampered, field):
    server, db = tampered
    target = 17
    (original,) = db.execute(f"SELECT {field} FROM threadlog_events WHERE position = ?", (target,))[0]
    db.unguarded(f"UPDATE threadlog_events SET {field} = ? WHERE position = ?", (_altered(original, field), target))
    report = chain(db)
    assert not report.ok and report.bad_position == target, report
    if field == "data":  # and once through the command itself
        code, out = verify(server)
        assert code == 1 and f"position {target}" in out, out
    db.unguarded(f"UPDATE threadlog_events SET {field} = ? WHERE position = ?", (original, target))
    assert chain(db).ok


def test_a_deleted_row_breaks_the_chain(tampered):
    server, db = tampered
    row = db.execute("SELECT * FROM threadlog_events WHERE position = ?", (23,))[0]
    db.unguarded("DELETE FROM threadlog_events WHERE position = ?", (23,))
    code, out = verify(server)
    assert code == 1
    assert "position 23" in out and "missing" in out
    db.unguarded(f"INSERT INTO threadlog_events VALUES ({', '.join('?' * len(row))})", row)


def test_swapping_two_rows_is_detected(tampered):
    server, db = tampered
    a, b = 30, 31
    db.unguarded("UPDATE threadlog_events SET position = -1 WHERE position = ?", (a,))
    db.unguarded("UPDATE threadlog_events SET position = ? WHERE position = ?", (a, b))
    db.unguarded("UPDATE threadlog_events SET position = ? WHERE position = -1", (b,))
    report = chain(db)
    assert not report.ok and report.bad_position == a, report
    db.unguarded("UPDATE threadlog_events SET position = -1 WHERE position = ?", (a,))
    db.unguarded("UPDATE threadlog_events SET position = ? WHERE position = ?", (a, b))
    db.unguarded("UPDATE threadlog_events SET position = ? WHERE position = -1", (b,))


def test_the_app_itself_cannot_alter_the_log(tampered):
    _, db = tampered
    with pytest.raises((sqlite3.DatabaseError, psycopg.Error)):
        db.execute("UPDATE threadlog_events SET data = '{}' WHERE position = 2")
    with pytest.raises((sqlite3.DatabaseError, psycopg.Error)):
        db.execute("DELETE FROM threadlog_events WHERE position = 2")
