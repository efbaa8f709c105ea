"""Rows of the thread read model, and where they live: in memory (rebuild, time travel) or in the database.

The projector's rules (projections/thread.py) are written once against `State`; `MemoryState` serves rebuilds
and time travel, `DatabaseState` the live path. Rebuild == live is then a property of the storage, which the
tests check.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from itertools import chain, islice
from operator import attrgetter
from typing import Any, Iterable, Protocol

from django.db import connections

from events.people import KeyRing
from events.sealing import sealed_name
from events.sql import execute, fetch_one
from events.store import send_pending_lock

from .models import CommentView, ThreadView, VoteView
from .duplicates import duplicate_key
from .ranking import hot, wilson_lower_bound


@dataclass(slots=True)
class ThreadRow:
    key: str
    title: str = ""
    comment_count: int = 0
    stream_version: int = 0
    last_position: int = 0
    opened_at: str = ""
    # The live frames kept for resuming (see thread.FRAMES_WINDOW): frames at or below frames_pruned_through
    # are gone; frames_mark is the position of the last event whose stream_version is a multiple of the window.
    frames_pruned_through: int = 0
    frames_mark: int = 0
    closed: bool = False  # refuses new comments (projections.moderation)
    premoderated: bool = False  # every new comment waits for a moderator


@dataclass(slots=True)  # a rebuild holds one per comment: less memory, faster to make and read
class CommentRow:
    id: str
    thread_key: str
    parent_id: str | None
    root_id: str
    depth: int
    position: int
    author_name: str
    author_id: str
    body: str
    body_html: str
    created_at: str
    edited_at: str | None = None
    deleted: bool = False
    up: int = 0
    down: int = 0
    score: int = 0
    reply_count: int = 0
    children: int = 0
    status: str = "published"  # published | pending | rejected | hidden | spam (projections.moderation)
    pinned: int = 0  # the position of the pin (pin order); 0: not pinned
    shown: bool = True  # has been public at least once (counted in its parent's `children`)
    format: str = "plain"  # of the body (events.formats): time travel renders it on display
    anchor_id: str | None = None  # the passage it is anchored to (projections.anchors); a reply: its parent's
    anchor: str | None = None  # that anchor as the API shows it, JSON text

    @property
    def rank_voted(self) -> int:
        return -self.score

    @property
    def rank_best(self) -> float:
        return -wilson_lower_bound(self.up, self.down)

    @property
    def rank_hot(self) -> float:
        return -hot(self.score, self.created_at)

    @property
    def dup_key(self) -> int:
        return duplicate_key(self.author_id, self.body)

    @property
    def visible(self) -> bool:
        """A deleted comment stays (as a tombstone) only while it holds replies."""
        return not self.deleted or self.children > 0


_by_position = attrgetter("position")
THREAD_FIELDS = [f.name for f in fields(ThreadRow)]
COMMENT_FIELDS = [f.name for f in fields(CommentRow)]
RANK_FIELDS = ["rank_voted", "rank_best", "rank_hot"]
# Columns of threadlog_comment computed from a row's fields when it is written (never read back into a CommentRow)
DERIVED_FIELDS = [*RANK_FIELDS, "dup_key"]


class State(Protocol):
    def thread(self, key: str) -> ThreadRow | None: ...
    def comment(self, comment_id: str) -> CommentRow | None: ...
    def vote(self, comment_id: str, voter: str) -> int: ...
    def put_thread(self, row: ThreadRow) -> None: ...
    def put_comment(self, row: CommentRow) -> None: ...
    def put_vote(self, comment_id: str, voter: str, value: int) -> None: ...
    def keyring(self) -> KeyRing: ...
    def comments_by_author(self, author_id: str) -> list[CommentRow]: ...
    def defer_name(self, comment_id: str, author_id: str, sealed: str) -> None: ...
    def deferred_name(self, comment_id: str) -> str: ...


@dataclass
class MemoryState:
    threads: dict[str, ThreadRow] = field(default_factory=dict)
    comments: dict[str, CommentRow] = field(default_factory=dict)
    votes: dict[tuple[str, str], int] = field(default_factory=dict)
    keys: KeyRing | None = field(default=None, repr=False, compare=False)
    # comment id -> (author, sealed name) of names a rebuild left to open later (thread.apply, names=False)
    deferred: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False, compare=False)
    queue: Any = field(default=None, repr=False, compare=False)  # the moderation queue's (projections.queue)

    def keyring(self) -> KeyRing:
        if self.keys is None:
            self.keys = KeyRing()
        return self.keys

    def defer_name(self, comment_id: str, author_id: str, sealed: str) -> None:
        self.deferred[comment_id] = (author_id, sealed)

    def deferred_name(self, comment_id: str) -> str:
        author_id, sealed = self.deferred[comment_id]
        return sealed_name(self.keyring().key(author_id), author_id, sealed)

    def comments_by_author(self, author_id: str) -> list[CommentRow]:
        return [row for row in self.comments.values() if row.author_id == author_id]

    def thread(self, key: str) -> ThreadRow | None:
        return self.threads.get(key)

    def comment(self, comment_id: str) -> CommentRow | None:
        return self.comments.get(comment_id)

    def vote(self, comment_id: str, voter: str) -> int:
        return self.votes.get((comment_id, voter), 0)

    def put_thread(self, row: ThreadRow) -> None:
        self.threads[row.key] = row

    def put_comment(self, row: CommentRow) -> None:
        self.comments[row.id] = row

    def put_vote(self, comment_id: str, voter: str, value: int) -> None:
        self.votes[(comment_id, voter)] = value


def comment_row(model: CommentView) -> CommentRow:
    return CommentRow(**{name: getattr(model, name) for name in COMMENT_FIELDS})


def thread_row(model: ThreadView) -> ThreadRow:
    return ThreadRow(**{name: getattr(model, name) for name in THREAD_FIELDS})


def thread_from_values(values: tuple) -> ThreadRow:
    row = ThreadRow(*values)
    row.closed, row.premoderated = bool(row.closed), bool(row.premoderated)  # SQLite answers 0/1
    return row


def comment_from_values(values: tuple) -> CommentRow:
    row = CommentRow(*values)
    row.deleted = bool(row.deleted)  # SQLite answers 0/1
    row.shown = bool(row.shown)
    return row


def _statements() -> dict[str, str]:
    """Plain SQL for the live path's reads and updates (the ORM compiled these on every write)."""
    q = connections["default"].ops.quote_name  # both back-ends quote with double quotes

    def cols(names):
        return ", ".join(q(n) for n in names)

    comment_names = COMMENT_FIELDS + DERIVED_FIELDS
    return {
        "thread": f"SELECT {cols(THREAD_FIELDS)} FROM threadlog_thread WHERE {q('key')} = %s",
        "comment": f"SELECT {cols(COMMENT_FIELDS)} FROM threadlog_comment WHERE id = %s",
        "vote": "SELECT value FROM threadlog_vote WHERE comment_id = %s AND voter = %s",
        "update_thread": f"UPDATE threadlog_thread SET {', '.join(f'{q(n)} = %s' for n in THREAD_FIELDS[1:])}"
                         f" WHERE {q('key')} = %s",
        "update_comment": f"UPDATE threadlog_comment SET {', '.join(f'{q(n)} = %s' for n in comment_names[1:])}"
                          " WHERE id = %s",
        "update_vote": "UPDATE threadlog_vote SET value = %s WHERE comment_id = %s AND voter = %s",
    }


class _LazyStatements(dict):
    def __missing__(self, name: str) -> str:
        self.update(_statements())
        return dict.__getitem__(self, name)


_SQL = _LazyStatements()


class DatabaseState:
    """Loads rows on first use, remembers what changed, writes it back in `flush` (inside the caller's transaction)."""

    def __init__(self, using: str = "default"):
        self.using = using
        self.memory = MemoryState(keys=KeyRing(using))
        self._loaded_threads: set[str] = set()
        self._loaded_comments: set[str] = set()
        self._loaded_votes: set[tuple[str, str]] = set()
        self._existing_threads: set[str] = set()
        self._existing_comments: set[str] = set()
        self._existing_votes: set[tuple[str, str]] = set()
        self._dirty_threads: set[str] = set()
        self._dirty_comments: set[str] = set()
        self._dirty_votes: set[tuple[str, str]] = set()

    def _one(self, sql: str, params: list) -> tuple | None:
        return fetch_one(self.using, sql, params)

    def known(self, *, threads: Iterable[ThreadRow] = (), comments: Iterable[CommentRow] = (),
              keys: dict[str, str] | None = None, missing_threads: Iterable[str] = (),
              names: dict[str, str] | None = None) -> None:
        """Rows (and live person keys) the caller read from the read model in this transaction, under the append
        lock: still what the tables hold, so they are not read again. A handler has read them to decide.
        `missing_threads`: keys the caller found no thread for; `names`: author tokens it sealed, and their names
        (KeyRing.remember_names)."""
        for key in missing_threads:
            self._loaded_threads.add(key)
        if names:
            self.memory.keyring().remember_names(names)
        for row in threads:
            self._loaded_threads.add(row.key)
            self._existing_threads.add(row.key)
            self.memory.put_thread(row)
        for row in comments:
            self._loaded_comments.add(row.id)
            self._existing_comments.add(row.id)
            self.memory.put_comment(row)
        for person, key in (keys or {}).items():
            self.memory.keyring().remember(person, key)

    def thread(self, key: str) -> ThreadRow | None:
        if key not in self._loaded_threads:
            self._loaded_threads.add(key)
            row = self._one(_SQL["thread"], [key])
            if row is not None:
                self._existing_threads.add(key)
                self.memory.put_thread(thread_from_values(row))
        return self.memory.thread(key)

    def comment(self, comment_id: str) -> CommentRow | None:
        if comment_id not in self._loaded_comments:
            self._loaded_comments.add(comment_id)
            row = self._one(_SQL["comment"], [comment_id])
            if row is not None:
                self._existing_comments.add(comment_id)
                self.memory.put_comment(comment_from_values(row))
        return self.memory.comment(comment_id)

    def vote(self, comment_id: str, voter: str) -> int:
        k = (comment_id, voter)
        if k not in self._loaded_votes:
            self._loaded_votes.add(k)
            found = self._one(_SQL["vote"], [comment_id, voter])
            value = found[0] if found else None
            if value is not None:
                self._existing_votes.add(k)
                self.memory.put_vote(comment_id, voter, value)
        return self.memory.vote(comment_id, voter)

    def keyring(self) -> KeyRing:
        return self.memory.keyring()

    def defer_name(self, comment_id: str, author_id: str, sealed: str) -> None:
        self.memory.defer_name(comment_id, author_id, sealed)

    def deferred_name(self, comment_id: str) -> str:
        return self.memory.deferred_name(comment_id)

    def comments_by_author(self, author_id: str) -> list[CommentRow]:
        for model in CommentView.objects.using(self.using).filter(author_id=author_id):
            if model.id not in self._loaded_comments:
                self._loaded_comments.add(model.id)
                self._existing_comments.add(model.id)
                self.memory.put_comment(comment_row(model))
        return self.memory.comments_by_author(author_id)

    def put_thread(self, row: ThreadRow) -> None:
        self._loaded_threads.add(row.key)
        self._dirty_threads.add(row.key)
        self.memory.put_thread(row)

    def put_comment(self, row: CommentRow) -> None:
        self._loaded_comments.add(row.id)
        self._dirty_comments.add(row.id)
        self.memory.put_comment(row)

    def put_vote(self, comment_id: str, voter: str, value: int) -> None:
        self._loaded_votes.add((comment_id, voter))
        self._dirty_votes.add((comment_id, voter))
        self.memory.put_vote(comment_id, voter, value)

    def flush(self) -> None:
        db = self.using
        new_threads = []
        for key in self._dirty_threads:
            row = self.memory.threads[key]
            values = [getattr(row, n) for n in THREAD_FIELDS]
            if key in self._existing_threads:
                execute(db, _SQL["update_thread"], values[1:] + [key])
            else:
                new_threads.append(values)
            self._existing_threads.add(key)
        if new_threads:
            insert_rows(ThreadView, THREAD_FIELDS, new_threads, db)
        names = COMMENT_FIELDS + DERIVED_FIELDS
        new_comments = []
        for cid in self._dirty_comments:
            if cid in self._existing_comments:
                row = self.memory.comments[cid]
                execute(db, _SQL["update_comment"], [getattr(row, n) for n in names[1:]] + [cid])
            else:
                new_comments.append(self.memory.comments[cid])
        if new_comments:  # new rows in one executemany (what force_insert saves one by one would write)
            new_comments.sort(key=_by_position)  # thread by thread: the indexes (most lead with the thread) fill in order
            insert_rows(CommentView, names, map(attrgetter(*names), new_comments), db)
            self._existing_comments.update(r.id for r in new_comments)
        new_votes = []
        for k in self._dirty_votes:
            value = self.memory.votes[k]
            if k in self._existing_votes:
                execute(db, _SQL["update_vote"], [value, k[0], k[1]])
            else:
                new_votes.append((k[0], k[1], value))
        if new_votes:
            insert_rows(VoteView, ["comment_id", "voter", "value"], new_votes, db)
            self._existing_votes.update((c, v) for c, v, _ in new_votes)
        self._dirty_threads.clear()
        self._dirty_comments.clear()
        self._dirty_votes.clear()


def bulk_write(state: MemoryState, using: str = "default", comments: Iterable[CommentRow] | None = None,
               tables: dict | None = None) -> None:
    """Write a whole in-memory state into empty read-model tables (rebuild).

    The same rows bulk_create would write, inserted with executemany on plain tuples: building a model instance
    per row and compiling it cost more than the database's own work. `comments` (default: the state's) may be
    an iterator that yields each row once it is complete (a rebuild's, projections.offload). `tables`: model ->
    the table to write instead of the model's own (projections.online).
    """
    tables = tables or {}
    insert_rows(ThreadView, THREAD_FIELDS, map(attrgetter(*THREAD_FIELDS), state.threads.values()), using,
                table=tables.get(ThreadView))
    insert_rows(VoteView, ["comment_id", "voter", "value"],
                ((c, v, val) for (c, v), val in state.votes.items()), using, table=tables.get(VoteView))
    names = COMMENT_FIELDS + DERIVED_FIELDS
    rows = state.comments.values() if comments is None else comments
    insert_rows(CommentView, names, map(attrgetter(*names), rows), using, table=tables.get(CommentView))


@lru_cache(maxsize=64)
def _insert_sql(model, names: tuple[str, ...], vendor: str, table: str | None = None) -> str:
    quote = connections["default"].ops.quote_name  # both back-ends quote with double quotes
    columns = ", ".join(quote(model._meta.get_field(n).column) for n in names)
    mark = "?" if vendor == "sqlite" else "%s"
    return f"INSERT INTO {quote(table or model._meta.db_table)} ({columns}) VALUES ({', '.join([mark] * len(names))})"


@lru_cache(maxsize=64)
def _copy_sql(model, names: tuple[str, ...], table: str | None = None) -> str:
    quote = connections["default"].ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(n).column) for n in names)
    return f"COPY {quote(table or model._meta.db_table)} ({columns}) FROM STDIN"


COPY_MIN = 100  # PostgreSQL: from this many rows on, COPY (a fraction of executemany's work per row)


def insert_rows(model, names: list[str], rows: Iterable, using: str = "default", batch: int = 2000,
                table: str | None = None) -> None:
    """INSERT rows (sequences of values of the fields `names`, in that order) into `model`'s table (or `table`, a
    table of the same columns: an online rebuild's, projections.online).

    Straight through the driver's executemany (inside the caller's transaction, on Django's connection): Django's
    cursor wrapper adds nothing a bulk load needs, and copies and scans the parameters once more. On PostgreSQL
    a large batch (an import's, a rebuild's) goes through COPY instead."""
    conn = connections[using]
    sql = _insert_sql(model, tuple(names), conn.vendor, table)
    send_pending_lock(using)  # inside a write transaction, nothing goes to the driver before the append lock
    conn.ensure_connection()
    with conn.wrap_database_errors:
        cur = conn.connection.cursor()
        try:
            if conn.vendor == "sqlite":  # sqlite3 takes the rows as they come
                cur.executemany(sql, rows)
                return
            it = iter(rows)  # psycopg builds its batch from a sequence
            chunk = list(islice(it, batch))
            # COPY cannot run in pipeline mode (a post's projection writes travel together: projections.base)
            piped = conn.connection.pgconn.pipeline_status != 0
            if len(chunk) >= COPY_MIN and not piped:
                with cur.copy(_copy_sql(model, tuple(names), table)) as copy:
                    for row in chain(chunk, it):
                        copy.write_row(row)
                return
            while chunk:
                cur.executemany(sql, chunk)
                chunk = list(islice(it, batch))
        finally:
            cur.close()
