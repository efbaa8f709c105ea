"""Which threads' frames an online rebuild changed, so that their connected readers are sent `reset` (issue 17).

A connected reader holds the frames it was served, and resumes by position. After the switch-over of an online
rebuild (projections.online) those positions name the rebuilt frames: where they are byte-identical to the ones
served, the reader keeps resuming as before; where they differ (a projector change, a drifted read model), what
the reader shows is no longer what the log yields, and it must refetch the thread. The comparison covers every
frame the live tables held (what readers may have been served), in two parts:

1. `compare`, outside the lock, after the catch-up rounds: the live frames up to B = min(the rebuilt head, the
   last live frame) against the new tables' frames at the same positions (one join on the position key).
2. Under the lock: `hold_tail` (before the switch) reads the live frames after B, written by the live projector
   since; `settle` (after the last events are applied) compares them with the rebuilt ones and records a
   FrameReset row for each changed thread, in the switch's transaction: every node's publisher reads those rows
   and sends `reset` to the thread's readers (threadlog.live.publisher).

A live frame the rebuilt tables lack counts as changed, unless the rebuilt thread row says its frames are pruned
through that position (retention is a pure function of the log: projections.thread.FRAMES_WINDOW).
"""
from __future__ import annotations

import time

from django.db import connections

from .models import FrameReset, LiveFrame, ThreadView

KEEP_SECONDS = 3600  # a notice older than this (publishers read them within a poll interval) is deleted


def _rows(using: str, sql: str, params: list) -> list:
    with connections[using].cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


class FrameCheck:
    """The frames of one online rebuild: live ones against rebuilt ones (see the module's docstring)."""

    def __init__(self, using: str, next_frames: str, next_threads: str, served: str | None = None):
        self.using = using
        q = connections[using].ops.quote_name
        self.live, self.next, self.next_threads = (q(served or LiveFrame._meta.db_table), q(next_frames),
                                                   q(next_threads))
        self.bound = 0
        self.changed: set[str] = set()
        self.tail: list[tuple[int, str, str]] = []
        self.compare_seconds = 0.0

    def compare(self, head: int) -> None:
        """Outside the lock: the live frames up to min(head, the last live frame) against the rebuilt ones."""
        started = time.monotonic()
        (last,), = _rows(self.using, f"SELECT COALESCE(MAX(position), 0) FROM {self.live}", [])
        self.bound = min(head, int(last))
        q = connections[self.using].ops.quote_name
        # The pruned horizon is looked up only for a live frame the new tables lack (rare: pruned alike, or changed).
        self.changed = {key for (key,) in _rows(
            self.using,
            f"SELECT DISTINCT o.thread_key FROM {self.live} o LEFT JOIN {self.next} n ON n.position = o.position"
            f" WHERE o.position <= %s AND (n.frame IS NULL AND o.position > COALESCE((SELECT t.frames_pruned_through"
            f" FROM {self.next_threads} t WHERE t.{q('key')} = o.thread_key), 0)"
            " OR n.frame <> o.frame OR n.thread_key <> o.thread_key OR n.stream_version <> o.stream_version)",
            [self.bound])}
        self.compare_seconds = round(time.monotonic() - started, 3)

    def hold_tail(self) -> None:
        """Under the lock, before the switch: the live frames written after the comparison's bound. Every writer
        of frames (the write path, the projector: projections.base.apply_events) holds the append lock, so none
        lands in the old table between this read and the rename."""
        self.tail = _rows(self.using, f"SELECT position, thread_key, frame FROM {self.live} WHERE position > %s"
                                      " ORDER BY position", [self.bound])

    def settle(self) -> int:
        """Under the lock, after the switch and the last events: compare the tail, record the changed threads'
        notices (their position: the thread's last, now). Returns how many threads changed."""
        if self.tail:
            new = {p: (k, f) for p, k, f in LiveFrame.objects.using(self.using)
                   .filter(position__gt=self.bound, position__lte=self.tail[-1][0])
                   .values_list("position", "thread_key", "frame")}
            pruned = dict(ThreadView.objects.using(self.using).filter(key__in={k for _, k, _ in self.tail})
                          .values_list("key", "frames_pruned_through"))
            for position, key, frame in self.tail:
                got = new.get(position)
                if got != (key, frame) and not (got is None and position <= pruned.get(key, 0)):
                    self.changed.add(key)
        if self.changed:
            now = time.time()
            FrameReset.objects.using(self.using).filter(recorded_at__lt=now - KEEP_SECONDS).delete()
            keys = sorted(self.changed)
            for i in range(0, len(keys), 500):  # SQLite limits a statement's parameters
                last = dict(ThreadView.objects.using(self.using).filter(key__in=keys[i:i + 500])
                            .values_list("key", "last_position"))
                FrameReset.objects.using(self.using).bulk_create(
                    [FrameReset(thread_key=key, position=last.get(key, 0), recorded_at=now) for key in keys[i:i + 500]])
        return len(self.changed)


SERVED_COPY = "threadlog_frame_served"


def keep_served_frames(using: str) -> str:
    """An offline rebuild (projections.rebuild) replaces the frames in place: before it empties the table, the
    frames readers may have been served are copied to a temporary table of this connection (gone with it), which
    `FrameCheck(..., served=...)` then compares with the rebuilt ones. Returns that table's name."""
    q = connections[using].ops.quote_name
    with connections[using].cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {q(SERVED_COPY)}")
        cur.execute(f"CREATE TEMPORARY TABLE {q(SERVED_COPY)} AS SELECT position, thread_key, stream_version, frame"
                    f" FROM {q(LiveFrame._meta.db_table)}")
    return SERVED_COPY


def drop_served_frames(using: str) -> None:
    with connections[using].cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {connections[using].ops.quote_name(SERVED_COPY)}")
