"""Projector checkpoints and the runner that makes a projection current from the log.

The read model and its checkpoint are written in one transaction, and an event at or below the checkpoint
is skipped: delivering an event twice is harmless. Writers call `project_pending` inside their append
transaction (read-your-writes); `threadlog projections run` calls it for anything else (imports, new code).
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

from django.db import connections, transaction

from events.sql import execute, fetch_one
from events.store import EventStore, RecordedEvent

from . import queue
from .models import LiveFrame
from .moderation import holds_posted
from .queue import QUEUE_TYPES
from .state import DatabaseState, MemoryState, insert_rows
from .thread import FRAMES_WINDOW, apply, encode_frame

THREAD_PROJECTOR = "thread"


def checkpoint(name: str = THREAD_PROJECTOR, using: str = "default") -> int:
    row = fetch_one(using, "SELECT position FROM threadlog_checkpoint WHERE name = %s", [name])
    return int(row[0]) if row else 0


_MOVE_CHECKPOINT = "UPDATE threadlog_checkpoint SET position = %s WHERE name = %s AND position = %s"


def _set_checkpoint(position: int, name: str, using: str, *, was: int | None = None) -> None:
    """Move the checkpoint to `position`; with `was`, only from there (else ProjectionBehind: roll back)."""
    if was is None:
        if not execute(using, "UPDATE threadlog_checkpoint SET position = %s WHERE name = %s", [position, name]):
            execute(using, "INSERT INTO threadlog_checkpoint (name, position) VALUES (%s, %s)", [name, position])
        return
    if execute(using, _MOVE_CHECKPOINT, [position, name, was]):
        return
    if was == 0 and fetch_one(using, "SELECT 1 FROM threadlog_checkpoint WHERE name = %s", [name]) is None:
        execute(using, "INSERT INTO threadlog_checkpoint (name, position) VALUES (%s, %s)", [name, position])
        return
    raise ProjectionBehind(f"projection gap: checkpoint is not at {was}")


class ProjectionBehind(RuntimeError):
    """The read model lacks events before the ones being applied (appended without projection: an import)."""


def lagging(store: EventStore) -> bool:
    """Whether the log holds events the thread projection has not applied (one cheap query)."""
    done, head = fetch_one(store.using, "SELECT (SELECT position FROM threadlog_checkpoint WHERE name = %s),"
                           " (SELECT MAX(position) FROM threadlog_events)", [THREAD_PROJECTOR])
    return (head or 0) > (done or 0)


@contextlib.contextmanager
def _together(using: str) -> Iterator[None]:
    """PostgreSQL: the writes inside travel to the server together (psycopg's pipeline mode), one round trip
    instead of one per statement, while every other writer waits for the append lock. Nothing inside may
    depend on a statement's row count before the block ends (the checkpoint's move is checked after it); an
    error surfaces when the block ends, and rolls the append back like any other."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        yield
        return
    conn.ensure_connection()
    with conn.wrap_database_errors, conn.connection.pipeline():
        yield


def apply_events(events: Sequence[RecordedEvent], *, using: str = "default",
                 known: Callable[[DatabaseState], None] | None = None, fresh: bool = False) -> MemoryState:
    """Apply events in order to the thread read model; must run inside a transaction holding the append lock.

    Returns the rows the events touched, as now written (a handler answers from them without reading back).
    `known` hands the state rows the caller read in this transaction (DatabaseState.known). Raises
    ProjectionBehind when the checkpoint is short of the first event: the caller rolls back. `fresh`: the
    events were just appended, so the checkpoint should be right before them; it is not read first but
    checked as it is moved (one statement fewer on every write)."""
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError("apply_events must run inside the append transaction")
    was = events[0].position - 1 if fresh and events else None
    done = checkpoint(using=using) if was is None else was
    state = DatabaseState(using)
    queue_state = queue.QueueState(using)
    if known is not None:
        known(state)
    queued = [ev.data.get("comment_id") for ev in events if ev.type in QUEUE_TYPES and ev.data.get("comment_id")]
    if len(queued) > 1:  # a batch (an import): the queue's rows in a query or two, not one per event
        queue_state.prefetch(queued)
    frames: list[tuple[int, str, int, str]] = []  # LiveFrame rows: position, thread, stream_version, frame
    pruned: dict[str, int] = {}  # thread -> the position at and below which its frames go
    last = len(events) - 1
    for i, ev in enumerate(events):
        if ev.position <= done:
            continue
        if ev.position != done + 1:
            raise ProjectionBehind(f"projection gap: checkpoint {done}, next event {ev.position}")
        frame = apply(state, ev, held=i < last and holds_posted(ev, events[i + 1]))
        if ev.type in QUEUE_TYPES:
            queue.apply(queue_state, state, ev)
        if frame is not None:
            frames.append((ev.position, ev.stream, ev.stream_version, encode_frame(frame)))
            if ev.stream_version % FRAMES_WINDOW == 0:
                pruned[ev.stream] = state.thread(ev.stream).frames_pruned_through
        done = ev.position
    erasures = [ev for ev in events if ev.type == "PersonErased"]
    erased_threads = {row.thread_key for ev in erasures if ev.position <= done
                      for row in state.memory.comments_by_author(ev.data["person"])}
    if erasures:
        drop_old_before_erasure(using)
    piped = connections[using].vendor == "postgresql" and was is not None and done > was
    with _together(using):
        state.flush()
        if frames:
            insert_rows(LiveFrame, ["position", "thread_key", "stream_version", "frame"], frames, using)
        if pruned:
            with connections[using].cursor() as cur:
                for key, through in pruned.items():
                    cur.execute("DELETE FROM threadlog_frame WHERE thread_key = %s AND position <= %s", [key, through])
        if piped:  # the checkpoint's move travels with the writes; its row count is read once they are back
            moved = connections[using].cursor()
            moved.execute(_MOVE_CHECKPOINT, [done, THREAD_PROJECTOR, was])
    queue_state.flush()
    if not piped:
        _set_checkpoint(done, THREAD_PROJECTOR, using, was=was)
    else:
        with moved:
            if moved.rowcount != 1:
                _set_checkpoint(done, THREAD_PROJECTOR, using, was=was)  # a first checkpoint, or ProjectionBehind
    for key in sorted(erased_threads):
        _reproject_frames(key, using)
    return state.memory


def drop_old_before_erasure(using: str) -> None:
    """SQLite: an online rebuild's old tables, if its command has not dropped them yet, go in the erasure's
    transaction: they hold the names as they were, and an erasure leaves no copy of a name in the file."""
    from .online import drop_old_tables  # imports this module (SQLite only: elsewhere it finds no old tables)

    drop_old_tables(using)


def _reproject_frames(key: str, using: str) -> None:
    """After an erasure, re-encode the thread's stored frames as a rebuild would (names erased), and drop its
    snapshots (they hold the names); both are derived data, recomputed from the log and the remaining keys."""
    from events.people import KeyRing

    from .models import ThreadSnapshot
    from .rebuild import fold, frame_cuts

    store = EventStore(using)
    _, frames = fold(store.read_stream(key), MemoryState(keys=KeyRing(using)), cuts=frame_cuts(store, key))
    stored = dict(LiveFrame.objects.using(using).filter(thread_key=key).values_list("position", "frame"))
    for frame in frames:
        if stored.get(frame.position) != frame.frame:
            LiveFrame.objects.using(using).filter(position=frame.position).update(frame=frame.frame)
    ThreadSnapshot.objects.using(using).filter(thread_key=key).delete()


def project_pending(store: EventStore, recorded: Sequence[RecordedEvent] = (), *, batch: int = 1000) -> int:
    """Bring the projection up to the head of the log. Returns the checkpoint reached.

    `recorded` (events the caller just appended) saves a read when nothing else is pending.
    """
    using = store.using
    with transaction.atomic(using=using, savepoint=False):
        done = checkpoint(using=using)
        if recorded and recorded[0].position == done + 1:
            apply_events(recorded, using=using)
            done = recorded[-1].position
        while True:
            page = store.read_all(done, batch)
            if not page:
                return done
            apply_events(page, using=using)
            done = page[-1].position


def run_once(store: EventStore, *, batch: int = 1000) -> int:
    """Catch up in batches, each batch its own transaction, so a long catch-up never blocks writers for long."""
    while True:
        with store.write_transaction():
            before = checkpoint(using=store.using)
            page = store.read_all(before, batch)
            if page:
                apply_events(page, using=store.using)
        if len(page) < batch:
            return page[-1].position if page else before
