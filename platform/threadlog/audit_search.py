"""The audit pages' event search: filters, keyset paging both ways, export of the filtered view, an actor's counts.

SQL narrows the rows (thread, type, time range, and LIKE prefilters on the stored JSON for the actor and the
body text); each candidate is then checked exactly in Python (the actor in metadata, the text in the body),
so a LIKE that matches too much never shows a wrong row. Paging is by position (keyset): `after=P` reads the
next page forwards, `before=P` the previous page backwards, both from an index, however deep the page.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator, Mapping

from django.http import QueryDict

from events.audit import RAW_COLUMNS, export_line, row_to_event
from events.describe import describe
from events.store import EventStore, RecordedEvent

BATCH = 500


def _stamp(value: str) -> str | None:
    """A datetime-local or ISO input as the log's recorded_at text (UTC when no zone is given); None if empty."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_text(value: str) -> str:
    """How a string sits inside the stored JSON text (quotes and backslashes escaped), for LIKE."""
    import json

    return json.dumps(value, ensure_ascii=False)[1:-1]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class EventFilter:
    thread: str = ""
    actor: str = ""
    type: str = ""
    since: str = ""  # as typed (datetime-local or ISO)
    until: str = ""
    text: str = ""

    @classmethod
    def from_query(cls, q: Mapping[str, str]) -> "EventFilter":
        return cls(**{name: (q.get(name) or "").strip() for name in ("thread", "actor", "type", "since", "until",
                                                                     "text")})

    def errors(self) -> list[str]:
        out = []
        for name in ("since", "until"):
            try:
                _stamp(getattr(self, name))
            except ValueError:
                out.append(f"{name}: {getattr(self, name)!r} is not a date and time (e.g. 2026-03-03T14:05)")
        return out

    def sql(self) -> tuple[list[str], list]:
        where: list[str] = []
        params: list = []
        if self.thread:
            where.append("stream = %s")
            params.append(self.thread)
        if self.type:
            where.append("type = %s")
            params.append(self.type)
        if self.actor:
            where.append("metadata LIKE %s ESCAPE '\\'")
            params.append(_like(f'"actor":"{_json_text(self.actor)}"'))
        if not self.errors():
            since, until = _stamp(self.since), _stamp(self.until)
            if since:
                where.append("recorded_at >= %s")
                params.append(since)
            if until:
                where.append("recorded_at <= %s")
                params.append(until)
        if self.text:
            where.append("LOWER(data) LIKE %s ESCAPE '\\'")
            params.append(_like(_json_text(self.text.lower())))
        return where, params

    def matches(self, ev: RecordedEvent) -> bool:
        if self.actor and ev.metadata.get("actor") != self.actor:
            return False
        if self.text:
            body = ev.data.get("body")
            if not isinstance(body, str) or self.text.casefold() not in body.casefold():
                return False
        return True

    def query(self, **extra: str | int) -> str:
        q = QueryDict(mutable=True)
        for name in ("thread", "actor", "type", "since", "until", "text"):
            if getattr(self, name):
                q[name] = getattr(self, name)
        for name, value in extra.items():
            q[name] = str(value)
        return q.urlencode()


def scan(store: EventStore, flt: EventFilter, *, after: int = 0, before: int | None = None,
         limit: int | None = None) -> Iterator[tuple[tuple, RecordedEvent]]:
    """(stored row, event) pairs that pass the filter: forwards from `after`, or backwards from `before`."""
    where, params = flt.sql()
    backwards = before is not None
    mark = before if backwards else after
    found = 0
    while True:
        clause = " AND ".join([*where, "position < %s" if backwards else "position > %s"])
        sql = (f"SELECT {RAW_COLUMNS} FROM threadlog_events WHERE {clause} "
               f"ORDER BY position {'DESC' if backwards else 'ASC'} LIMIT %s")
        with store.connection.cursor() as cur:
            cur.execute(sql, [*params, mark, BATCH])
            rows = cur.fetchall()
        for row in rows:
            ev = row_to_event(row)
            if flt.matches(ev):
                yield row, ev
                found += 1
                if limit is not None and found >= limit:
                    return
        if len(rows) < BATCH:
            return
        mark = int(rows[-1][0])


@dataclass
class Page:
    events: list[RecordedEvent]
    newer: int | None  # `after` for the next page (None: none)
    older: int | None  # `before` for the previous page


def page(store: EventStore, flt: EventFilter, *, after: int = 0, before: int | None = None, size: int = 50) -> Page:
    """One page in position order. A page read backwards (before=P) is the `size` events just before P."""
    got = [ev for _, ev in scan(store, flt, after=after, before=before, limit=size + 1)]
    more = len(got) > size
    got = got[:size]
    if before is not None:
        got.reverse()
    if not got:
        return Page([], None, None)
    first, last = got[0].position, got[-1].position
    if before is not None:
        newer = last if any(True for _ in scan(store, flt, after=last, limit=1)) else None
        older = first if more else None
    else:
        newer = last if more else None
        older = first if any(True for _ in scan(store, flt, before=first, limit=1)) else None
    return Page(got, newer, older)


def export_jsonl(store: EventStore, flt: EventFilter) -> Iterator[str]:
    """The filtered events as `threadlog export` writes them (stored rows, hashes included), one per line."""
    for row, _ in scan(store, flt):
        yield export_line(row) + "\n"


CSV_COLUMNS = ["position", "recorded_at", "thread", "type", "version", "actor", "comment_id", "what", "hash"]


def export_csv(store: EventStore, flt: EventFilter) -> Iterator[str]:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_COLUMNS)
    for row, ev in scan(store, flt):
        out.writerow([ev.position, ev.recorded_at, ev.stream, ev.type, row[5], ev.metadata.get("actor", ""),
                      ev.data.get("comment_id", ""), describe(ev), ev.hash])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@dataclass
class ActorSummary:
    actor: str
    total: int
    by_type: list[tuple[str, int]]
    by_thread: list[tuple[str, int]]
    first_at: str
    last_at: str


def actor_summary(store: EventStore, actor: str) -> ActorSummary:
    """How many events of each type `actor` caused, in which threads (from the actor in each event's metadata)."""
    from collections import Counter

    where, params = EventFilter(actor=actor).sql()
    by_type: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    first_at, last_at = "", ""
    with store.connection.cursor() as cur:  # one pass over the log (the actor sits in the metadata's text)
        cur.execute(f"SELECT type, stream, COUNT(*), MIN(recorded_at), MAX(recorded_at) FROM threadlog_events "
                    f"WHERE {' AND '.join(where)} GROUP BY type, stream", params)
        for type_, stream, n, first, last in cur.fetchall():
            by_type[type_] += int(n)
            by_thread[stream] += int(n)
            first_at = min(first_at or first, first)
            last_at = max(last_at, last)
    return ActorSummary(actor, sum(by_type.values()), by_type.most_common(), by_thread.most_common(50),
                        first_at, last_at)


def event_types(current: str = "") -> list[str]:
    """Every registered type (new capabilities' types appear once merged), and the one being filtered on."""
    from events.types import registered_types

    return sorted(set(registered_types()) | ({current} if current else set()))
