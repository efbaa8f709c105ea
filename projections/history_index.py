"""The history index: every row of a thread as it stood after each event that changed it (HistoryVersion).

The audit page of a thread at position P shows one step (the event at P, the rows it changed before and
after) and one page of the comment tree as it stood then. A snapshot + replay builds the whole thread's state
for that (tens of thousands of comments for a long thread: most of a second); the index answers it with a few
indexed reads, whatever P and however long the thread:

- a comment (or the thread's row) at P: its newest version at or before P;
- the tree at P: the top-level comments posted by P from a given one on (position order), then their branches
  (by root_id), then those rows' versions at P.

It is a pure function of the log, written forwards only (`ensure`): from the thread's state at the index's last
event (kept in memory between rounds, or a snapshot + replay), each event is applied as the projector applies
it and the rows it put are stored as new versions. The history processes keep every long thread's index up to
date as they keep its snapshots (threadlog.serving.worker); a page catches up on the events after that, if
any. Author names are not stored: `rows_at` opens them from each comment's CommentPosted event with the
author's key, so an erasure needs nothing here, and hidden bodies are hidden when shown.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Iterator

import orjson

from events.people import KeyRing
from events.store import EventStore, RecordedEvent

from . import queue
from .history_models import HistoryVersion
from .queue import QUEUE_TYPES
from .rebuild import with_hold
from .state import CommentRow, MemoryState, ThreadRow, insert_rows
from .thread import ERASED_BODY_HTML, apply, author_name

KEEP_FROM = 1_000  # threads this long get their index kept up in the background; shorter ones on demand
BATCH = 500  # events applied per write (and read per query)
CACHED_STATES = 4  # threads whose state at the index's head a process keeps in memory

_lock = threading.Lock()
_states: OrderedDict[str, MemoryState] = OrderedDict()


@dataclass
class _Recording(MemoryState):
    """A MemoryState that remembers which rows the current event put."""

    touched: dict[str, CommentRow] = field(default_factory=dict, repr=False, compare=False)

    def put_comment(self, row: CommentRow) -> None:
        super().put_comment(row)
        self.touched[row.id] = row


def _head(key: str, using: str, position: int | None = None) -> tuple[int, int]:
    """(position, stream_version) of the last event indexed for this thread (at or before `position`);
    (0, 0) if none."""
    rows = HistoryVersion.objects.using(using).filter(thread_key=key, kind="t", depth=-1)
    if position is not None:
        rows = rows.filter(position__lte=position)
    last = rows.order_by("-position").values_list("position", "row")[:1]
    found = next(iter(last), None)
    return (found[0], orjson.loads(found[1])["stream_version"]) if found else (0, 0)


def version_at(store: EventStore, key: str, position: int) -> int:
    """The stream_version of the thread's last event at or before `position` (0: none yet), from the index
    (one index seek: the thread's own events are never counted)."""
    return _head(key, store.using, position)[1]


def _state(store: EventStore, key: str, position: int, version: int) -> _Recording:
    cached = _states.pop(key, None)
    thread = cached.threads.get(key) if cached is not None else None
    if cached is None or (thread.stream_version if thread else 0) != version:
        from .snapshots import state_at

        cached = state_at(store, key, position) if position else MemoryState()
    state = _Recording(threads=cached.threads, comments=cached.comments, votes=cached.votes,
                       deferred=cached.deferred, queue=cached.queue)
    state.keys = KeyRing(store.using)
    return state


def _keep(key: str, state: MemoryState) -> None:
    _states[key] = state
    _states.move_to_end(key)
    while len(_states) > CACHED_STATES:
        _states.popitem(last=False)


def _stream(store: EventStore, key: str, after_version: int) -> Iterator[RecordedEvent]:
    while True:
        events = store.read_stream(key, after_version, limit=BATCH)
        yield from events
        if len(events) < BATCH:
            return
        after_version = events[-1].stream_version


_COLUMNS = ["thread_key", "comment_id", "position", "kind", "depth", "parent_id", "root_id", "row"]
_THREAD_FIELDS = [f.name for f in fields(ThreadRow)]
_STORED_FIELDS = [f.name for f in fields(CommentRow) if f.name != "author_name"]  # personal: opened when shown
Version = tuple  # (thread_key, comment_id, position, kind, depth, parent_id, root_id, row)


def _version(key: str, ev: RecordedEvent, row: CommentRow | ThreadRow) -> Version:
    if isinstance(row, ThreadRow):
        values = {name: getattr(row, name) for name in _THREAD_FIELDS}
        return (key, "", ev.position, "t", -1, None, "", orjson.dumps(values).decode())
    values = {name: getattr(row, name) for name in _STORED_FIELDS}
    posted = ev.type == "CommentPosted" and ev.data.get("comment_id") == row.id
    return (key, row.id, ev.position, "p" if posted else "c", row.depth, row.parent_id, row.root_id,
            orjson.dumps(values).decode())


def ensure(store: EventStore, key: str) -> int:
    """Index this thread's events not indexed yet. Returns how many events were indexed."""
    using = store.using
    with _lock:  # one builder per process; another process building the same thread is caught below
        position, version = _head(key, using)
        if store.stream_version(key) <= version:
            return 0
        state = _state(store, key, position, version)
        done, rows, since = 0, [], position
        for ev, held in with_hold(_stream(store, key, version)):
            state.touched.clear()
            apply(state, ev, frames=False, render=False, held=held)
            if ev.type in QUEUE_TYPES:
                queue.apply(queue.of(state), state, ev)
            rows.extend(_version(key, ev, row) for row in state.touched.values())
            thread = state.threads.get(key)
            if thread is not None:
                rows.append(_version(key, ev, thread))
            done += 1
            if len(rows) >= BATCH:
                if not _write(store, key, since, rows):
                    return done
                since = ev.position
        if rows and not _write(store, key, since, rows):
            return done
        _keep(key, state)
        return done


def _write(store: EventStore, key: str, since: int, rows: list[Version]) -> bool:
    """Store the versions, unless someone indexed this thread meanwhile (then drop what we have: it is theirs).

    Under the append lock, as the snapshots are stored: writers queue there anyway (on SQLite a transaction that
    read and then writes beside them could otherwise fail), and a batch is a few milliseconds of inserts."""
    with store.write_transaction():
        if _head(key, store.using)[0] != since:
            _states.pop(key, None)
            return False
        insert_rows(HistoryVersion, _COLUMNS, rows, store.using)  # executemany; COPY on PostgreSQL
    rows.clear()
    return True


def ensure_through(store: EventStore, key: str, position: int) -> None:
    """Make sure the index holds this thread's events up to `position` (usually it does: nothing to do)."""
    if _head(key, store.using)[0] < position:
        ensure(store, key)


def ensure_all(store: EventStore) -> int:
    """Bring every long thread's index up to date (the history processes call this as they keep snapshots)."""
    from .models import ThreadView

    keys = ThreadView.objects.using(store.using).filter(stream_version__gte=KEEP_FROM).values_list("key", flat=True)
    return sum(ensure(store, key) for key in keys)


def forget_states() -> None:
    """Forget the threads' states this process keeps in memory (the next `ensure` starts from a snapshot)."""
    with _lock:
        _states.clear()


def drop(key: str | None = None, using: str = "default") -> None:
    """Forget a thread's index (or all): it is rebuilt on demand."""
    qs = HistoryVersion.objects.using(using).all()
    if key is not None:
        qs = qs.filter(thread_key=key)
    qs.delete()
    with _lock:
        if key is None:
            _states.clear()
        else:
            _states.pop(key, None)


# --- reading ----------------------------------------------------------------------------------------------


def _latest(store: EventStore, key: str, ids: list[str], position: int) -> dict[str, str]:
    """Each id's newest version's JSON at or before `position` ("" is the thread's row)."""
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))
    sql = (f"SELECT v.comment_id, v.row FROM threadlog_history_version v WHERE v.thread_key = %s "
           f"AND v.comment_id IN ({marks}) AND v.position = (SELECT MAX(w.position) FROM threadlog_history_version w "
           f"WHERE w.thread_key = v.thread_key AND w.comment_id = v.comment_id AND w.position <= %s)")
    with store.connection.cursor() as cur:
        cur.execute(sql, [key, *ids, position])
        return dict(cur.fetchall())


def changed_at(store: EventStore, key: str, position: int) -> list[str]:
    """The comments the thread's event at `position` changed (put), by id."""
    return list(HistoryVersion.objects.using(store.using).filter(thread_key=key, position=position)
                .exclude(comment_id="").values_list("comment_id", flat=True))


def posted_at(store: EventStore, key: str, comment_id: str) -> int | None:
    """The position of the event that posted this comment (None: not in the index)."""
    first = (HistoryVersion.objects.using(store.using).filter(thread_key=key, comment_id=comment_id)
             .order_by("position").values_list("position", flat=True)[:1])  # its first version: as posted
    return next(iter(first), None)


def thread_at(store: EventStore, key: str, position: int) -> ThreadRow | None:
    text = _latest(store, key, [""], position).get("")
    if text is None:
        return None
    values = orjson.loads(text)
    return ThreadRow(**{k: v for k, v in values.items() if k in _THREAD_FIELDS})


def rows_at(store: EventStore, key: str, ids: list[str], position: int) -> dict[str, CommentRow]:
    """These comments as they stood after `position` (those posted by then), names opened with their keys."""
    found = _latest(store, key, [i for i in dict.fromkeys(ids) if i], position)
    rows = {}
    for cid, text in found.items():
        values = orjson.loads(text)
        rows[cid] = CommentRow(author_name="", **{k: v for k, v in values.items() if k in _STORED_FIELDS})
    _open_names(store, list(rows.values()))
    return rows


def _open_names(store: EventStore, rows: list[CommentRow]) -> None:
    """Author names from each comment's CommentPosted event (sealed: opened with the author's key, or ERASED);
    an erased author's hidden body is hidden here too."""
    if not rows:
        return
    from events.store import SELECT_COLUMNS, _row_to_event

    positions = sorted({r.position for r in rows})
    marks = ", ".join(["%s"] * len(positions))
    with store.connection.cursor() as cur:
        cur.execute(f"SELECT {SELECT_COLUMNS} FROM threadlog_events WHERE position IN ({marks})", positions)
        posted = {ev.data.get("comment_id"): ev for ev in map(_row_to_event, cur.fetchall())}
    names = MemoryState(keys=KeyRing(store.using))
    for row in rows:
        ev = posted.get(row.id)
        row.author_name = author_name(names, ev.data) if ev is not None else "?"
        if names.keyring().bodies_hidden(row.author_id) and not row.deleted:
            row.body, row.body_html = "", ERASED_BODY_HTML


@dataclass
class TreePage:
    """One page of the comment tree at a position: rows in reading order with their depth."""

    rows: list[tuple[CommentRow, int]]
    roots_before: int | None  # the previous page: the top-level comments before this position (None: none)
    roots_after: int | None  # position of the next page's first top-level comment (None: none)
    cut: bool  # a branch was longer than the page and cut short


def tree_at(store: EventStore, key: str, position: int, *, start: int | None = None, back: bool = False,
            roots: int = 20, limit: int = 200) -> TreePage:
    """The tree as it stood after `position`: `roots` top-level comments from the one posted at `start` on
    (or, `back`, the ones before it), each with its replies, at most `limit` rows in all."""
    base = HistoryVersion.objects.using(store.using).filter(thread_key=key, kind="p", depth=0, position__lte=position)
    if back and start is not None:
        tops = list(base.filter(position__lt=start).order_by("-position").values_list("comment_id", "position")[:roots])
        tops.reverse()
    else:
        tops = list(base.filter(position__gte=start or 0).order_by("position")
                    .values_list("comment_id", "position")[:roots + 1])
    after = tops.pop()[1] if len(tops) > roots else None
    if back and start is not None:
        after = start
    first = tops[0][1] if tops else None
    before = first if first is not None and base.filter(position__lt=first).exists() else None
    branch = (HistoryVersion.objects.using(store.using)
              .filter(root_id__in=[c for c, _ in tops], kind="p", position__lte=position)
              .order_by("position").values_list("comment_id", "parent_id")[: limit + 1])
    children: dict[str | None, list[str]] = {}
    for cid, parent in branch:
        children.setdefault(parent, []).append(cid)
    order: list[tuple[str, int]] = []
    stack = [(c, 0) for c, _ in reversed(tops)]
    while stack and len(order) < limit:
        cid, depth = stack.pop()
        order.append((cid, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(cid, ())))
    cut = bool(stack) or len(branch) > limit
    rows = rows_at(store, key, [c for c, _ in order], position)
    return TreePage([(rows[c], min(d, 8)) for c, d in order if c in rows], before, after, cut)
