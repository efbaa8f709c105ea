"""Rebuild the read models from position 0, and verify that the live read model equals a rebuild."""
from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

from django.db import connections, transaction

from events.people import KeyRing
from events.store import EventStore, RecordedEvent

from . import queue
from .base import THREAD_PROJECTOR, _set_checkpoint, checkpoint
from .queue import QUEUE_TYPES
from .history_models import HistoryVersion
from .models import CommentView, LiveFrame, ThreadSnapshot, ThreadView, VoteView
from .state import (COMMENT_FIELDS, THREAD_FIELDS, CommentRow, MemoryState, bulk_write, comment_row, insert_rows,
                    thread_row)
from .offload import Helper, Jobs, helper_for
from .moderation import holds_posted
from .reset import FrameCheck, drop_served_frames, keep_served_frames
from .thread import apply, encode_frame, frames_cut

Progress = Callable[[int], None]
FRAMES_PER_WRITE = 5000


class Frame(NamedTuple):
    """A LiveFrame row, as a replay produces it (cheaper than a model instance)."""

    position: int
    thread_key: str
    stream_version: int
    frame: str


def fold(events: Iterable[RecordedEvent], state: MemoryState | None = None,
         progress: Progress | None = None, *, frames_too: bool = True,
         cuts: dict[str, int] | None = None, render: bool | None = None,
         names: bool = True, frames_to: Callable[[list[Frame]], None] | None = None) -> tuple[MemoryState, list[Frame]]:
    """Replay events into memory; returns the state and the frames the live path would have stored.

    frames_too=False (time travel) skips the frames and leaves body_html to be rendered on display.
    `cuts` (thread -> stream_version, from `frame_cuts`) skips the frames the live path has pruned: building
    a frame costs more than applying its event, and a long thread keeps only its last ones.
    render=False leaves body_html None and names=False a sealed author name None (frames still carry both, as
    they are built): a rebuild fills them in afterwards, mostly from a second process (`replay`).
    `frames_to` takes the frames FRAMES_PER_WRITE at a time as they are built (a frame is final once built), and
    those are not returned: an online rebuild writes them as it goes (many threads keep all their frames).
    """
    state = state or MemoryState()
    frames: list[Frame] = []
    cuts = cuts or {}
    render = frames_too if render is None else render
    for ev, held in with_hold(events):
        keep = frames_too and ev.stream_version > cuts.get(ev.stream, 0)
        frame = apply(state, ev, frames=keep, render=render, names=names, held=held)
        if ev.type in QUEUE_TYPES:
            queue.apply(queue.of(state), state, ev)
        if frame is not None:
            frames.append(Frame(ev.position, ev.stream, ev.stream_version, encode_frame(frame)))
            if frames_to is not None and len(frames) >= FRAMES_PER_WRITE:
                frames_to(frames)
                frames = []
        if progress:
            progress(ev.position)
    return state, frames


def with_hold(events: Iterable[RecordedEvent]) -> Iterator[tuple[RecordedEvent, bool]]:
    """Each event, and whether the next one is a CommentHeld (thread.apply's `held`): one event of look-ahead."""
    it = iter(events)
    prev = next(it, None)
    if prev is None:
        return
    for ev in it:
        yield prev, ev.type == "CommentHeld" and holds_posted(prev, ev)
        prev = ev
    yield prev, False


def frame_cuts(store: EventStore, stream: str | None = None, until: int | None = None) -> dict[str, int]:
    """Each stream's frames_cut at the head of the log (or at position `until`): the stream_version at and below
    which no frame is kept."""
    sql = "SELECT stream, MAX(stream_version) FROM threadlog_events WHERE 1 = 1"
    params: list = []
    if stream is not None:
        sql += " AND stream = %s"
        params.append(stream)
    if until is not None:
        sql += " AND position <= %s"
        params.append(until)
    with store.connection.cursor() as cur:
        cur.execute(sql + " GROUP BY stream", params)
        return {key: frames_cut(int(version)) for key, version in cur.fetchall()}


def _scratch(using: str) -> MemoryState:
    """An empty state whose key ring holds every person's key, read once (sealed names are unsealed in bulk)."""
    return MemoryState(keys=KeyRing(using, preload=True))


def _replay(store: EventStore, head: int, progress: Progress | None,
            helper: "Helper | None") -> tuple[MemoryState, list[Frame], Iterator[CommentRow]]:
    state = _scratch(store.using)
    jobs = Jobs(state.keyring(), helper)
    state, frames = fold(jobs.collect(store.iter_for_projection(0, until=head)), state, progress=progress,
                         cuts=frame_cuts(store), render=False, names=False)
    return state, frames, jobs.rows(state.comments)


def replay(store: EventStore, head: int, progress: Progress | None = None) -> tuple[MemoryState, list[Frame]]:
    """The whole log up to `head` folded into memory, every comment's body_html rendered and author name opened.

    Rendering (nh3) and opening sealed names cost more than the rest of the fold and depend on nothing else in
    it, so for a large log they go, in batches as the log is read, to a second process (`render_worker`), which
    works while this one folds the events (`projections.offload`)."""
    with helper_for(head) as helper:
        state, frames, rows = _replay(store, head, progress, helper)
        for _ in rows:
            pass
    return state, frames


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector off while a replay builds a million objects and holds them: it found nothing to free
    and spent a tenth of a rebuild looking (its full passes scan everything alive). Back on (if it was) after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# The tables a rebuild replaces. The snapshots and the history index are left empty: each is a pure function of the
# log that its keepers fill again on demand (projections.snapshots, projections.history_index), and what they held
# was made by the rules a rebuild is there to replace.
READ_MODELS = (ThreadSnapshot, HistoryVersion, LiveFrame, VoteView, CommentView, ThreadView, *queue.MODELS)


@contextlib.contextmanager
def indexes_built_after(models: Iterable, using: str) -> Iterator[None]:
    """The models' secondary indexes dropped while their (empty) tables are filled, and built again after, inside
    the caller's transaction: building an index from the loaded rows (one sort) costs less than inserting every row
    into it (a third of a rebuild's insert time for the comment table's ten). On SQLite each index is built again
    from its own stored statement, under its own name (an online rebuild may have left it the alternate one,
    projections.online)."""
    conn = connections[using]
    q = conn.ops.quote_name
    statements: list[tuple[str, str]] = []  # (index name, CREATE statement)
    if conn.vendor == "sqlite":
        for model in models:
            names = {index.name for index in model._meta.indexes}
            with conn.cursor() as cur:
                cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                            " AND sql IS NOT NULL", [model._meta.db_table])
                statements += [(n, sql.replace(f'"{n}"', q(n.removesuffix("__r")), 1)) for n, sql in cur.fetchall()
                               if n.removesuffix("__r") in names]
    else:
        editor = conn.schema_editor()  # only to compile each index's SQL, never entered
        statements = [(index.name, str(index.create_sql(model, editor))) for model in models
                      for index in model._meta.indexes]
    with conn.cursor() as cur:
        for name, _ in statements:
            cur.execute(f"DROP INDEX {q(name)}")
    yield
    with conn.cursor() as cur:
        for _, sql in statements:
            cur.execute(sql)


def rebuild(store: EventStore, progress: Progress | None = None, stats: dict | None = None) -> int:
    """Replace the read models by a replay of the whole log. Writers wait for the lock meanwhile.

    Connected readers of a thread whose frames came out different get `reset`, as after an online rebuild
    (projections.reset); `stats["threads_reset"]` says how many threads."""
    using = store.using
    with store.write_transaction(), _no_cycle_collection(), helper_for(store.head()) as helper:
        head = store.head()
        served = keep_served_frames(using)
        for model in READ_MODELS:
            model.objects.using(using).all().delete()
        with indexes_built_after(READ_MODELS, using):
            _write_replay(store, head, progress, helper)
        _set_checkpoint(head, THREAD_PROJECTOR, using)
        analyze(using, [model._meta.db_table for model in READ_MODELS])
        check = FrameCheck(using, LiveFrame._meta.db_table, ThreadView._meta.db_table, served=served)
        check.compare(head)
        reset = check.settle()
        drop_served_frames(using)
    if stats is not None:
        stats.update(threads_reset=reset, frames_compare_seconds=check.compare_seconds)
    forget_replaced_states()
    return head


def analyze(using: str, tables: Iterable[str]) -> None:
    """PostgreSQL: fresh planner statistics for tables just filled (a fresh table has none, a refilled one describes
    the old rows: until autovacuum came by, a thread's first page read its pinned comments through a sort index,
    40 ms at 30,000 comments instead of 1). SQLite plans these queries without statistics."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"ANALYZE {conn.ops.quote_name(table)}")


def forget_replaced_states() -> None:
    """After a rebuild: this process's cached history-index states (made from the index it emptied) are forgotten.
    Other processes find out by themselves (history_index: the index's head moved under them)."""
    from . import history_index  # imports this module

    history_index.forget_states()


def _write_replay(store: EventStore, head: int, progress: Progress | None, helper: "Helper | None") -> None:
    using = store.using
    state, frames, rows = _replay(store, head, progress, helper)
    # The comment rows go in as the helper's answers arrive (while it renders the rest); threads and votes
    # are final once the fold is done.
    bulk_write(state, using, comments=rows)
    queue.bulk_write(state.queue, using)
    insert_rows(LiveFrame, ["position", "thread_key", "stream_version", "frame"],
                ((f.position, f.thread_key, f.stream_version, f.frame) for f in frames), using)


@contextlib.contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """A read transaction whose reads all see one state of the database, while writers go on."""
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            with connections[using].cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


@dataclass
class Difference:
    table: str
    key: str
    live: object
    rebuilt: object

    def __str__(self) -> str:
        return f"{self.table} {self.key}: live={self.live!r} rebuilt={self.rebuilt!r}"


def verify(store: EventStore, progress: Progress | None = None) -> Difference | None:
    """Replay the log into a scratch (in-memory) model and compare it with the live tables; first difference.

    Without the append lock: inside one read transaction (a snapshot: SQLite's in WAL mode, PostgreSQL's
    REPEATABLE READ), the live tables are compared with a replay of the log up to their checkpoint."""
    using = store.using
    with _snapshot(using), _no_cycle_collection():
        head = checkpoint(using=using)
        state, frames = replay(store, head, progress)
        live_threads = {m.key: thread_row(m) for m in ThreadView.objects.using(using).all()}
        for key in sorted(set(live_threads) | set(state.threads)):
            a, b = live_threads.get(key), state.threads.get(key)
            if a != b:
                return Difference("thread", key, a, b)
        live_comments = {m.id: comment_row(m) for m in CommentView.objects.using(using).all()}
        for cid in sorted(set(live_comments) | set(state.comments)):
            a, b = live_comments.get(cid), state.comments.get(cid)
            if a != b:
                return Difference("comment", cid, a, b)
        live_votes = {(v.comment_id, v.voter): v.value for v in VoteView.objects.using(using).all()}
        for k in sorted(set(live_votes) | set(state.votes)):
            if live_votes.get(k) != state.votes.get(k):
                return Difference("vote", "/".join(k), live_votes.get(k), state.votes.get(k))
        live_queue, rebuilt_queue = queue.table_rows(using), queue.state_rows(state.queue)
        for table in sorted(live_queue):
            a_rows, b_rows = live_queue[table], rebuilt_queue[table]
            for k in sorted(set(a_rows) | set(b_rows), key=str):
                if a_rows.get(k) != b_rows.get(k):
                    return Difference(table, str(k), a_rows.get(k), b_rows.get(k))
        live_frames = dict(LiveFrame.objects.using(using).values_list("position", "frame"))
        rebuilt_frames = {f.position: f.frame for f in frames}
        for pos in sorted(set(live_frames) | set(rebuilt_frames)):
            if live_frames.get(pos) != rebuilt_frames.get(pos):
                return Difference("frame", str(pos), live_frames.get(pos), rebuilt_frames.get(pos))
    return None


__all__ = ["fold", "rebuild", "verify", "Difference", "COMMENT_FIELDS", "THREAD_FIELDS"]
