"""Event types that exist only for the event-log tests.

Their type names start with `test.events.` so no real projector reacts to them, and they are registered by
the autouse fixture in `conftest.py` for the duration of one test only: the registry is global.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from events.types import Event


@dataclass(frozen=True)
class Probe(Event):
    type: ClassVar[str] = "test.events.Probe"
    version: ClassVar[int] = 1
    n: int = 0
    text: str = ""


@dataclass(frozen=True)
class Unserialisable(Event):
    """Data that cannot be encoded as JSON: appending it must fail before anything is written."""

    type: ClassVar[str] = "test.events.Unserialisable"
    version: ClassVar[int] = 1
    payload: object = None


def probes(count: int, *, start: int = 0, text: str = "x" * 40) -> list[Probe]:
    return [Probe(n=start + i, text=text) for i in range(count)]


def raw_rows(store, first: int = 1, last: int | None = None) -> list[tuple]:
    """The stored rows as the database holds them (no upcasting), in position order."""
    sql = ("SELECT position, id, type, version, stream, stream_version, data, metadata, recorded_at, hash"
           " FROM threadlog_events WHERE position >= %s")
    params: list = [first]
    if last is not None:
        sql += " AND position <= %s"
        params.append(last)
    with store.connection.cursor() as cur:
        cur.execute(sql + " ORDER BY position", params)
        return [(int(r[0]), str(r[1]), *r[2:]) for r in cur.fetchall()]


