"""Audit over the log: verify the hash chain, filter the history, one comment's story, export and import.

Verification reads the stored rows as they are (stored version and the exact JSON text), recomputes each
row's hash from its fields and its predecessor's hash, and stops at the first position that does not fit:
an altered field changes that row's hash; a deleted row leaves a gap in positions; a reordered row breaks
the link to its predecessor.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from .store import _INSERT, GENESIS_HASH, SELECT_COLUMNS, EventStore, RecordedEvent, canonical_json, chain_hash
from .store import _row_to_event as row_to_event
from .people import KeyRing, reveal
from .moderation import MODERATION_TYPES

RAW_COLUMNS = SELECT_COLUMNS  # the stored row, id as text


@dataclass
class ChainReport:
    ok: bool
    checked: int
    head_position: int
    head_hash: str
    bad_position: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"chain intact: {self.checked} events, head {self.head_position} {self.head_hash}"
        return f"chain BROKEN at position {self.bad_position}: {self.reason} ({self.checked} events checked before it)"


def iter_raw(store: EventStore, after: int = 0, batch: int = 10_000) -> Iterator[tuple]:
    """Stored rows, untouched (no upcasting), in position order."""
    while True:
        with store.connection.cursor() as cur:
            cur.execute(
                f"SELECT {RAW_COLUMNS} FROM threadlog_events WHERE position > %s ORDER BY position LIMIT %s",
                [after, batch],
            )
            rows = cur.fetchall()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def verify_rows(rows: Iterable[tuple], progress: Callable[[int], None] | None = None, *,
                previous: str = GENESIS_HASH, after: int = 0) -> ChainReport:
    """Check rows in order; `previous`/`after` start from a verified position (events.chain) instead of 0."""
    previous, expected, checked = previous, after + 1, 0
    sha = chain_hash
    for position, id_, stream, stream_version, type_, version, data, metadata, recorded_at, stored in rows:
        position = int(position)
        if position != expected:
            what = "missing (deleted)" if position > expected else "out of order"
            return ChainReport(False, checked, position, stored, expected if position > expected else position,
                               f"position {expected} is {what}")
        digest = sha(position=position, id=str(id_), type=type_, version=int(version), stream=stream,
                     stream_version=int(stream_version), data=data, metadata=metadata, recorded_at=recorded_at,
                     previous=previous)
        if digest != stored:
            return ChainReport(False, checked, position, stored, position,
                               "row does not match its hash (altered, or its predecessor was)")
        previous, expected, checked = stored, expected + 1, checked + 1
        if progress is not None and checked % 10_000 == 0:
            progress(checked)
    return ChainReport(True, checked, expected - 1, previous)


def verify_chain(store: EventStore, progress: Callable[[int], None] | None = None) -> ChainReport:
    return verify_rows(iter_raw(store), progress)


# --- history ---------------------------------------------------------------------------------------------


def position_at_time(store: EventStore, iso_time: str) -> int:
    """The last position recorded at or before `iso_time` (ISO-8601, UTC if no zone)."""
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with store.connection.cursor() as cur:
        # MAX(position) written as a walk back from the head: the log is recorded in position order, so a recent
        # moment is found after a few rows instead of a scan of the whole log (SQLite's MAX() with a WHERE scans).
        cur.execute("SELECT position FROM threadlog_events WHERE recorded_at <= %s ORDER BY position DESC LIMIT 1",
                    [stamp])
        row = cur.fetchone()
        return int(row[0]) if row else 0


def resolve_point(store: EventStore, value: str | int | None) -> int | None:
    """A position given as a number, or as a time."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    return position_at_time(store, str(value))


def filter_events(store: EventStore, *, thread: str | None = None, actor: str | None = None,
                  type: str | None = None, after: int = 0, until: int | None = None,
                  limit: int | None = None) -> Iterator[RecordedEvent]:
    n = 0
    source = store.read_stream(thread, 0, after_position=after, until_position=until) if thread \
        else store.iter_all(after, until=until)
    for ev in source:
        if type and ev.type != type:
            continue
        if actor and ev.metadata.get("actor") != actor:
            continue
        yield ev
        n += 1
        if limit is not None and n >= limit:
            return


def comment_events(store: EventStore, comment_id: str) -> list[RecordedEvent]:
    needle = f'%"comment_id":{json.dumps(comment_id)}%'
    with store.connection.cursor() as cur:
        cur.execute(f"SELECT {RAW_COLUMNS} FROM threadlog_events WHERE data LIKE %s ORDER BY position", [needle])
        events = [row_to_event(r) for r in cur.fetchall()]
    return [e for e in events if e.data.get("comment_id") == comment_id]


@dataclass
class HistoryEntry:
    position: int
    recorded_at: str
    type: str
    actor: str
    summary: str
    diff: str = ""  # unified diff of an edit (the CLI prints it); the posted body for CommentPosted
    before: str = ""  # the body before and after an edit (the audit page draws its own diff)
    after: str = ""
    vote: int | None = None  # a vote's value
    reason: str = ""  # a deletion's or moderation step's reason
    stream: str = ""


def comment_history(store: EventStore, comment_id: str) -> list[HistoryEntry]:
    """Posted, each edit with a diff of the text, each vote (who, when, value), deletion, moderation steps
    (any other event naming the comment, described by its type and data)."""
    from .describe import describe

    entries: list[HistoryEntry] = []
    body = ""
    keys = KeyRing(store.using)
    for ev in comment_events(store, comment_id):
        actor = str(ev.metadata.get("actor", ""))
        d = reveal(ev.as_dict(), keys)["data"]
        entry = HistoryEntry(ev.position, ev.recorded_at, ev.type, actor, describe(ev, d),
                             reason=str(d.get("reason") or ""), stream=ev.stream)
        if ev.type == "CommentPosted":
            body = d["body"]
            where = f"reply to {d['parent_id']}" if d.get("parent_id") else "top-level"
            entry.summary = f"posted by {d['author_name']} ({where}) in {ev.stream}"
            entry.diff = entry.after = body
        elif ev.type == "CommentEdited":
            entry.diff = "\n".join(difflib.unified_diff(body.splitlines(), d["body"].splitlines(), "before",
                                                        "after", lineterm=""))
            entry.before, entry.after, body = body, d["body"], d["body"]
            entry.summary = "edited"
        elif ev.type == "VoteCast":
            label = {1: "up", -1: "down", 0: "retracted"}.get(int(d["value"]), str(d["value"]))
            entry.summary, entry.vote = f"vote {label} by {d['voter']}", int(d["value"])
        elif ev.type == "CommentDeleted":
            why = f": {d['reason']}" if d.get("reason") else ""
            entry.summary = f"deleted by {d['deleted_by']}{why}"
            entry.before = body
        elif ev.type in MODERATION_TYPES:  # who decided (or reported) and why
            who = d.get("moderator") or d.get("reporter") or actor
            why = f": {d['reason']}" if d.get("reason") else ""
            entry.summary = f"{ev.type} by {who}{why}"
        entries.append(entry)
    return entries


# --- export and import -----------------------------------------------------------------------------------


def export_lines(store: EventStore, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """One stored event per line, exactly as stored (version not upcast), hash included."""
    for n, row in enumerate(iter_raw(store), 1):
        yield export_line(row)
        if progress is not None:
            progress(n)


def export_line(row: tuple) -> str:
    """A stored row (RAW_COLUMNS) as one line of `threadlog export` (the audit page's JSONL export too)."""
    position, id_, stream, sv, type_, version, data, metadata, recorded_at, hash_ = row
    return canonical_json({
        "position": int(position), "id": str(id_), "stream": stream, "stream_version": int(sv),
        "type": type_, "version": int(version), "data": json.loads(data), "metadata": json.loads(metadata),
        "recorded_at": recorded_at, "hash": hash_,
    })


class ImportRefused(Exception):
    pass


def parse_export(lines: Iterable[str]) -> list[tuple]:
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            rows.append((int(e["position"]), e["id"], e["stream"], int(e["stream_version"]), e["type"],
                         int(e["version"]), canonical_json(e["data"]), canonical_json(e["metadata"]),
                         e["recorded_at"], e["hash"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ImportRefused(f"line {n} is not an exported event: {exc}") from None
    return rows


def import_rows(store: EventStore, rows: list[tuple], batch: int = 5000,
                progress: Callable[[int], None] | None = None) -> int:
    """Load an export into an EMPTY store, refusing a file whose chain does not verify."""
    report = verify_rows(rows)
    if not report.ok:
        raise ImportRefused(f"the file's hash chain does not verify: {report}")
    with store.write_transaction():
        if store.head() != 0:
            raise ImportRefused("the store is not empty: import only into an empty log")
        with store.connection.cursor() as cur:
            for i in range(0, len(rows), batch):
                cur.executemany(
                    _INSERT,
                    rows[i : i + batch],
                )
                if progress is not None:
                    progress(min(i + batch, len(rows)))
    return len(rows)

