"""Rebuild the read models while the site keeps taking writes (`threadlog projections rebuild`).

1. New tables beside the live ones (`<table>__next`, the same columns), filled from a replay of the log up to the
   head as it was when the rebuild started, a few threads at a time (`FOLD_EVENTS` events of threads per pass, so
   memory is bounded by that or by the largest thread), each pass written in short transactions of CHUNK_ROWS rows.
   Their indexes are built after the rows are in (one sort each; on SQLite, where an index build holds the database's
   write lock, only while a table is small enough that it stays short: INDEX_AFTER_ROWS).
2. Catch-up rounds: the threads that took events meanwhile are replayed again up to the new head and their rows
   replaced, until fewer than SWITCH_EVENTS events are left.
3. Under the append lock: the new tables take the live tables' names (a rename: no copying), the checkpoint moves
   to what they hold, and the last events are applied by the live projector; then the lock is released. Readers see
   the old tables or the new ones, never a mix (one transaction). A reader's resume position keeps meaning the same
   event: frames are keyed by log position, and equal when the projection's output has not changed; the readers
   of a thread whose frames changed are sent `reset` (projections.reset).
4. The old tables are dropped (SQLite; PostgreSQL drops them in the switch): by `threadlog projections rebuild` once
   it has reported the new model live, or by an erasure that comes first (`drop_old_tables`).

The projector's rules are the same code as the live path's and the in-memory replay's (projections.thread), so the
rebuilt rows equal what the live path writes; `projections verify` checks it, against a snapshot, without the lock.
"""
from __future__ import annotations

import contextlib
import gc
import heapq
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from django.db import connections, transaction

from events.people import KeyRing
from events.store import EventStore

from . import queue
from .base import THREAD_PROJECTOR, _set_checkpoint, apply_events, checkpoint
from .history_models import HistoryVersion
from .models import CommentView, LiveFrame, ThreadSnapshot, ThreadView, VoteView
from .offload import Jobs, helper_for
from .queue_models import Ban, QueueItem, Report
from .rebuild import READ_MODELS, Frame, _no_cycle_collection, analyze, fold, forget_replaced_states
from .reset import FrameCheck
from .state import CommentRow, MemoryState, bulk_write, insert_rows
from .thread import frames_cut

Progress = Callable[[int], None]

FOLD_EVENTS = 100_000  # events of whole threads folded in memory at once (more if one thread has more)
CHUNK_ROWS = 5_000  # rows per write transaction (on SQLite, a writer waits at most this long)
INDEX_AFTER_ROWS = 400_000  # SQLite: build an index after the load only for a table this small
SWITCH_EVENTS = 100  # catch up without the lock until fewer events than this are left
CATCH_UP_ROUNDS = 20
NEXT, OLD, ALT = "__next", "__old", "__r"


@dataclass
class Table:
    model: type
    live: str
    next: str
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name in the new table, CREATE statement)
    renames: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name in the new table, final name)


def _q(using: str, name: str) -> str:
    return connections[using].ops.quote_name(name)


def _exec(using: str, sql: str, params: Iterable = ()) -> list:
    with connections[using].cursor() as cur:
        cur.execute(sql, list(params))
        try:
            return cur.fetchall()
        except Exception:  # a statement without rows (psycopg raises ProgrammingError)
            return []


@contextlib.contextmanager
def _without_secure_delete(using: str) -> Iterator[None]:
    """SQLite's secure_delete off on this connection meanwhile (outside any transaction), then as it was."""
    (was,), = _exec(using, "PRAGMA secure_delete")
    _exec(using, "PRAGMA secure_delete = 0")
    try:
        yield
    finally:
        _exec(using, f"PRAGMA secure_delete = {int(was)}")


def _sqlite_tables(using: str) -> list[Table]:
    tables = []
    existing = {name for (name,) in _exec(using, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    for model in READ_MODELS:
        live = model._meta.db_table
        table = Table(model, live, live + NEXT)
        (sql,), = _exec(using, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [live])
        table.indexes.append(("", sql.replace(f'"{live}"', f'"{table.next}"', 1)))  # the table itself, first
        for name, sql in _exec(using, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                                      " AND sql IS NOT NULL", [live]):
            # SQLite cannot rename an index: the new table's take the canonical name or the alternate one,
            # whichever the live table does not hold.
            canonical = name[: -len(ALT)] if name.endswith(ALT) else name
            new = canonical if canonical not in existing else canonical + ALT
            sql = sql.replace(f'"{name}"', f'"{new}"', 1).replace(f'ON "{live}"', f'ON "{table.next}"', 1)
            table.indexes.append((new, sql))
        tables.append(table)
    return tables


_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (\S+) ")


def _postgres_tables(using: str) -> list[Table]:
    tables = []
    for model in READ_MODELS:
        live = model._meta.db_table
        table = Table(model, live, live + NEXT)
        table.indexes.append(("", f"CREATE TABLE {_q(using, table.next)} (LIKE {_q(using, live)} INCLUDING DEFAULTS"
                                  " INCLUDING IDENTITY INCLUDING CONSTRAINTS)"))
        for name, definition in _exec(
                using, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
                       " AND contype IN ('p', 'u') ORDER BY contype", [live]):
            table.indexes.append((name + ALT, f"ALTER TABLE {_q(using, table.next)} ADD CONSTRAINT"
                                              f" {_q(using, name + ALT)} {definition}"))
            table.renames.append(("constraint", name + ALT, name))
        for name, definition in _exec(
                using, "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                       " WHERE x.indrelid = %s::regclass AND NOT EXISTS"
                       " (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", [live]):
            m = _INDEX_DEF.match(definition)
            table.indexes.append((name + ALT, f"CREATE {m.group(1) or ''}INDEX {_q(using, name + ALT)} ON"
                                              f" {_q(using, table.next)} " + definition[m.end():]))
            table.renames.append(("index", name + ALT, name))
        tables.append(table)
    return tables


class Shadow:
    """The new tables of an online rebuild."""

    def __init__(self, using: str):
        self.using = using
        self.sqlite = connections[using].vendor == "sqlite"
        self.tables = (_sqlite_tables if self.sqlite else _postgres_tables)(using)
        self.by_model = {t.model: t.next for t in self.tables}
        self.indexed = False

    def create(self, expected_rows: int) -> None:
        with transaction.atomic(using=self.using):
            for t in self.tables:
                _exec(self.using, f"DROP TABLE IF EXISTS {_q(self.using, t.next)}")
                _exec(self.using, t.indexes[0][1])
        if self.sqlite and expected_rows > INDEX_AFTER_ROWS:
            self.build_indexes()  # before the rows: every write transaction stays short

    def build_indexes(self) -> None:
        if self.indexed:
            return
        for t in self.tables:
            for _, sql in t.indexes[1:]:
                with transaction.atomic(using=self.using):  # one index at a time: writers get in between
                    _exec(self.using, sql)
        self.indexed = True

    def switch(self) -> None:
        """Inside the caller's transaction (holding the append lock): the new tables take the live names."""
        u = self.using
        if self.sqlite:  # rename the tables (and their indexes' statements) only: no view, trigger or foreign key
            _exec(u, "PRAGMA legacy_alter_table = ON")  # refers to them, and the schema-wide rewrite took 30 ms each
        try:
            for t in self.tables:
                _exec(u, f"ALTER TABLE {_q(u, t.live)} RENAME TO {_q(u, t.live + OLD)}")
                _exec(u, f"ALTER TABLE {_q(u, t.next)} RENAME TO {_q(u, t.live)}")
        finally:
            if self.sqlite:
                _exec(u, "PRAGMA legacy_alter_table = OFF")
        if not self.sqlite:  # PostgreSQL: drop the old tables now (quick) and give the indexes their names back
            for t in self.tables:
                _exec(u, f"DROP TABLE {_q(u, t.live + OLD)}")
                for kind, new, final in t.renames:
                    if kind == "constraint":
                        _exec(u, f"ALTER TABLE {_q(u, t.live)} RENAME CONSTRAINT {_q(u, new)} TO {_q(u, final)}")
                    else:
                        _exec(u, f"ALTER INDEX {_q(u, new)} RENAME TO {_q(u, final)}")


# The read models whose rows hold opened author names (comments, the frames' comments, the snapshots' and the
# history index's rows): their old tables' pages are zeroed as they are freed (SQLite's secure_delete, as the
# connection is set up), so that an erasure leaves no copy of a name in the file. The others (votes, threads, the
# queue, reports, bans) hold ids, positions, counts, statuses and reasons, all in the raw log itself, where an erasure
# leaves them too: their pages, like every index's, are freed without zeroing (a write to the WAL and another at the
# checkpoint for each page).
NAMED_READ_MODELS = (CommentView, LiveFrame, ThreadSnapshot, HistoryVersion)


def old_tables(using: str) -> list[str]:
    """SQLite: the old read-model tables an online rebuild left behind its switch (`<table>__old`), not dropped yet."""
    if connections[using].vendor != "sqlite":
        return []
    wanted = {model._meta.db_table + OLD for model in READ_MODELS}
    return [name for (name,) in _exec(using, "SELECT name FROM sqlite_master WHERE type = 'table'") if name in wanted]


def drop_old_tables(using: str) -> int:
    """SQLite: drop the tables an online rebuild switched out; how many there were.

    `threadlog projections rebuild` does it right after it has reported the new read model live: they serve no
    reader any more, and it takes a quarter of a second per 100,000 events (Debian's SQLite zeroes the freed pages).
    Until then they hold the author names as they were; so an erasure drops them first, in its own transaction
    (projections.base.drop_old_before_erasure), and so does the next rebuild.

    Inside a transaction (an erasure's), everything is dropped in it; outside, the old indexes go one per
    transaction, then the tables (freeing a table's pages holds the database's write lock for a moment that grows
    with the table; deleting its rows in chunks first was ten times slower in all). The indexes, and the tables of
    NAMED_READ_MODELS' complement, go without secure_delete (their keys are ids, positions, ranks, statuses, times
    and hashes: all in the log itself; the raw log keeps an erased person's bodies too, docs/audit.md); the tables
    with names as the connection is set up to."""
    tables = old_tables(using)
    if not tables:
        return 0
    u = using
    named = {model._meta.db_table + OLD for model in NAMED_READ_MODELS}
    indexes = [name for table in tables for (name,) in _exec(
        u, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL", [table])]
    # secure_delete cannot change inside a transaction that has written (an erasure's): then all of it is zeroed
    outside = not connections[u].in_atomic_block
    with (_without_secure_delete(u) if outside else contextlib.nullcontext()):
        for index in indexes:
            with transaction.atomic(using=u):
                _exec(u, f"DROP INDEX IF EXISTS {_q(u, index)}")
        for table in tables:
            if table not in named:
                with transaction.atomic(using=u):
                    _exec(u, f"DROP TABLE IF EXISTS {_q(u, table)}")
    for table in tables:
        if table in named:
            with transaction.atomic(using=u):
                _exec(u, f"DROP TABLE IF EXISTS {_q(u, table)}")
    return len(tables)


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write(shadow: Shadow, state: MemoryState, frames: list[Frame], rows: Iterable[CommentRow]) -> None:
    """A pass's rows into the new tables, CHUNK_ROWS per transaction (the comment rows as they are completed)."""
    u, tables = shadow.using, shadow.by_model
    for chunk in _chunks(rows, CHUNK_ROWS):
        with transaction.atomic(using=u):
            bulk_write(MemoryState(), u, comments=chunk, tables=tables)
    for chunk in _chunks(state.threads.values(), CHUNK_ROWS):
        with transaction.atomic(using=u):
            bulk_write(MemoryState(threads={r.key: r for r in chunk}), u, comments=(), tables=tables)
    for chunk in _chunks(state.votes.items(), CHUNK_ROWS):
        with transaction.atomic(using=u):
            bulk_write(MemoryState(votes=dict(chunk)), u, comments=(), tables=tables)
    _write_frames(shadow, frames)
    with transaction.atomic(using=u):
        queue.bulk_write(state.queue, u, tables=tables)


def _write_frames(shadow: Shadow, frames: list[Frame]) -> None:
    for chunk in _chunks(frames, CHUNK_ROWS):
        with transaction.atomic(using=shadow.using):
            insert_rows(LiveFrame, ["position", "thread_key", "stream_version", "frame"],
                        ((f.position, f.thread_key, f.stream_version, f.frame) for f in chunk), shadow.using,
                        table=shadow.by_model[LiveFrame])


def _stream_sizes(store: EventStore, head: int) -> list[tuple[str, int]]:
    """Each stream's events up to `head`, in the order the streams began (one pass over the stream index). A stream's
    versions run 1..n, so its count is also its last version: the frames a pass keeps follow from it (`_cuts`)."""
    return _exec(store.using, "SELECT stream, COUNT(*) FROM threadlog_events WHERE position <= %s"
                              " GROUP BY stream ORDER BY MIN(position)", [head])


def _cuts(sizes: list[tuple[str, int]]) -> dict[str, int]:
    """rebuild.frame_cuts from the stream sizes already read (the same answer, without a second pass over the log)."""
    return {stream: frames_cut(n) for stream, n in sizes}


def _groups(sizes: list[tuple[str, int]], streams: set[str] | None = None) -> list[list[str] | None]:
    """The log's streams in passes of about FOLD_EVENTS events each (None: the whole log in one pass)."""
    if streams is not None:
        sizes = [(s, n) for s, n in sizes if s in streams]
    elif sum(n for _, n in sizes) <= FOLD_EVENTS:
        return [None]
    groups: list[list[str] | None] = []
    group: list[str] = []
    total = 0
    for stream, n in sizes:
        if group and total + n > FOLD_EVENTS:
            groups.append(group)
            group, total = [], 0
        group.append(stream)
        total += n
    if group:
        groups.append(group)
    return [None] if streams is None and len(groups) == 1 else groups


def _fold_pass(store: EventStore, shadow: Shadow, head: int, streams: list[str] | None,
               erasures: list, progress: Progress | None, cuts: dict[str, int]) -> MemoryState:
    """Replay the events of `streams` (all: None) up to `head` and write their rows into the new tables."""
    using = store.using
    if streams is None:
        events: Iterable = store.iter_for_projection(0, until=head)
        n_events = head
    else:
        # Erasures live in the people's stream; each pass applies them, at their place in the log, to its threads
        erased_at = {ev.position for ev in erasures}
        own = (ev for ev in store.iter_for_projection(0, until=head, streams=streams) if ev.position not in erased_at)
        events = heapq.merge(own, erasures, key=lambda ev: ev.position)
        n_events = FOLD_EVENTS
    state = MemoryState(keys=KeyRing(using, preload=True))
    with helper_for(n_events) as helper:
        jobs = Jobs(state.keyring(), helper)
        state, frames = fold(jobs.collect(events), state, progress=progress, cuts=cuts, render=False, names=False,
                             frames_to=lambda frames: _write_frames(shadow, frames))
        _write(shadow, state, frames, jobs.rows(state.comments))
    return state


def _replace(shadow: Shadow, store: EventStore, head: int, streams: set[str]) -> None:
    """Catch-up: the rows of these streams' threads replayed again up to `head`, in place of the ones written."""
    u, t = shadow.using, shadow.by_model
    sizes = _stream_sizes(store, head)
    erasures = _erasures(store, head, sizes)
    keys = sorted(streams)
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        marks = ", ".join(["%s"] * len(part))
        with transaction.atomic(using=u):
            ids = f"SELECT id FROM {_q(u, t[CommentView])} WHERE thread_key IN ({marks})"
            _exec(u, f"DELETE FROM {_q(u, t[VoteView])} WHERE comment_id IN ({ids})", part)
            _exec(u, f"DELETE FROM {_q(u, t[Report])} WHERE comment_id IN ({ids})", part)
            for model, column in ((CommentView, "thread_key"), (ThreadView, "key"), (LiveFrame, "thread_key"),
                                  (QueueItem, "thread_key")):
                _exec(u, f"DELETE FROM {_q(u, t[model])} WHERE {_q(u, column)} IN ({marks})", part)
    bans_here = any(s.startswith("system:") for s in streams)
    if bans_here:
        with transaction.atomic(using=u):
            _exec(u, f"DELETE FROM {_q(u, t[Ban])}")
        streams = streams | set(_ban_streams(store, head))
    for group in _groups(sizes, streams):
        _fold_pass(store, shadow, head, group, erasures, None, _cuts(sizes))


def _ban_streams(store: EventStore, head: int) -> list[str]:
    return [s for (s,) in _exec(store.using, "SELECT DISTINCT stream FROM threadlog_events WHERE position <= %s"
                                             " AND type IN ('PersonBanned', 'BanLifted')", [head])]


def _erasures(store: EventStore, head: int, sizes: list[tuple[str, int]]) -> list:
    """The PersonErased events up to `head`: in the system's streams ("system:people"), read by the stream index."""
    system = [stream for stream, _ in sizes if stream.startswith("system:")]
    if not system:
        return []
    return [ev for ev in store.iter_for_projection(0, until=head, streams=system) if ev.type == "PersonErased"]


def _touched(store: EventStore, shadow: Shadow, after: int, head: int) -> set[str]:
    """The streams with events in (after, head], and the threads an erasure among them reaches."""
    u = store.using
    streams = {s for (s,) in _exec(u, "SELECT DISTINCT stream FROM threadlog_events WHERE position > %s"
                                      " AND position <= %s", [after, head])}
    erased = [ev.data["person"] for ev in store.iter_for_projection(after, until=head) if ev.type == "PersonErased"] \
        if _exec(u, "SELECT 1 FROM threadlog_events WHERE position > %s AND position <= %s"
                    " AND type = 'PersonErased' LIMIT 1", [after, head]) else []
    for person in erased:
        streams |= {k for (k,) in _exec(u, f"SELECT DISTINCT thread_key FROM {_q(u, shadow.by_model[CommentView])}"
                                           " WHERE author_id = %s", [person])}
    return streams


def rebuild_online(store: EventStore, progress: Progress | None = None,
                   before_switch: Callable[[], None] | None = None, stats: dict | None = None,
                   drop_old: bool = True) -> int:
    """Rebuild every read model into new tables while writes continue, then switch under a short lock.

    Returns the checkpoint the switch left (the head of the log then). `before_switch` (tests) runs after the
    catch-up rounds, right before the lock is taken. `stats`, if given, receives what the rebuild did: passes,
    catch-up rounds and their events, the events applied under the lock and how long the lock was held.
    `drop_old=False` (SQLite) returns as soon as the new tables are live and leaves the old ones to the caller's
    `drop_old_tables` (`threadlog projections rebuild` reports first); an erasure meanwhile drops them itself."""
    using = store.using
    shadow = Shadow(using)
    stats = {} if stats is None else stats
    with _no_cycle_collection():
        head = store.head()
        drop_old_tables(using)  # an earlier rebuild's, not dropped yet (SQLite drops them after the switch)
        shadow.create(head * 2 // 3)
        sizes = _stream_sizes(store, head)
        groups, cuts = _groups(sizes), _cuts(sizes)
        erasures = _erasures(store, head, sizes) if groups != [None] else []  # one pass reads them in place
        stats.update(rebuilt_to=head, passes=len(groups), catch_up_rounds=0, catch_up_events=0)
        for group in groups:
            _fold_pass(store, shadow, head, group, erasures, progress, cuts)
            if len(groups) > 1:  # the cycle collector is off: free what the pass left (its state, the helper's)
                gc.collect()
        shadow.build_indexes()
        for _ in range(CATCH_UP_ROUNDS):
            now = store.head()
            if now - head < SWITCH_EVENTS:
                break
            _replace(shadow, store, now, _touched(store, shadow, head, now))
            stats["catch_up_rounds"] += 1
            stats["catch_up_events"] += now - head
            head = now
        analyze(using, [t.next for t in shadow.tables])  # before they go live (projections.rebuild.analyze)
        frames = FrameCheck(using, shadow.by_model[LiveFrame], shadow.by_model[ThreadView])
        frames.compare(head)  # which threads' readers were served frames the rebuild changed (projections.reset)
        if before_switch is not None:
            before_switch()
        waited = time.monotonic()
        with store.write_transaction():
            locked = time.monotonic()
            frames.hold_tail()
            shadow.switch()
            _set_checkpoint(head, THREAD_PROJECTOR, using)
            applied = head
            while page := store.read_all(head, 1000):  # the last events, by the live projector
                apply_events(page, using=using)
                head = page[-1].position
            stats.update(threads_reset=frames.settle(), frames_compare_seconds=frames.compare_seconds)
        stats.update(lock_wait_seconds=round(locked - waited, 3), lock_held_seconds=round(time.monotonic() - locked, 3),
                     applied_under_lock=head - applied)
        forget_replaced_states()
        if shadow.sqlite and drop_old:
            dropping = time.monotonic()
            drop_old_tables(using)
            stats["old_tables_dropped_seconds"] = round(time.monotonic() - dropping, 2)
    return checkpoint(using=using)
