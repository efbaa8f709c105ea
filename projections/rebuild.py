"""Rebuild the read models from position 0, and verify that the live read model equals a rebuild."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import orjson

from events.people import KeyRing
from events.store import EventStore, RecordedEvent

from .base import THREAD_PROJECTOR, _set_checkpoint
from .models import CommentView, LiveFrame, ThreadSnapshot, ThreadView, VoteView
from .state import COMMENT_FIELDS, THREAD_FIELDS, MemoryState, bulk_write, comment_row, insert_rows, thread_row
from .render import render_body
from .thread import apply, encode_frame, frames_cut

Progress = Callable[[int], None]


class Frame(NamedTuple):
    """A LiveFrame row, as a replay produces it (cheaper than a model instance)."""

    position: int
    thread_key: str
    stream_version: int
    frame: str


def fold(events: Iterable[RecordedEvent], state: MemoryState | None = None,
         progress: Progress | None = None, *, frames_too: bool = True,
         cuts: dict[str, int] | None = None, render: bool | None = None) -> tuple[MemoryState, list[Frame]]:
    """Replay events into memory; returns the state and the frames the live path would have stored.

    frames_too=False (time travel) skips the frames and leaves body_html to be rendered on display.
    `cuts` (thread -> stream_version, from `frame_cuts`) skips the frames the live path has pruned: building
    a frame costs more than applying its event, and a long thread keeps only its last ones.
    render=False leaves body_html None (frames still carry it, rendered as they are built): a rebuild renders
    each comment's final body afterwards, partly in a second process (`replay`), and never an edited-away one.
    """
    state = state or MemoryState()
    frames: list[Frame] = []
    cuts = cuts or {}
    render = frames_too if render is None else render
    for ev in events:
        keep = frames_too and ev.stream_version > cuts.get(ev.stream, 0)
        frame = apply(state, ev, frames=keep, render=render)
        if frame is not None:
            frames.append(Frame(ev.position, ev.stream, ev.stream_version, encode_frame(frame)))
        if progress:
            progress(ev.position)
    return state, frames


def frame_cuts(store: EventStore, stream: str | None = None) -> dict[str, int]:
    """Each stream's frames_cut at the head of the log: the stream_version at and below which no frame is kept."""
    sql = "SELECT stream, MAX(stream_version) FROM threadlog_events"
    params: list = []
    if stream is not None:
        sql += " WHERE stream = %s"
        params.append(stream)
    with store.connection.cursor() as cur:
        cur.execute(sql + " GROUP BY stream", params)
        return {key: frames_cut(int(version)) for key, version in cur.fetchall()}


def _scratch(using: str) -> MemoryState:
    """An empty state whose key ring holds every person's key, read once (sealed names are unsealed in bulk)."""
    return MemoryState(keys=KeyRing(using, preload=True))


PARALLEL_RENDER_MIN = 4000  # bodies; below this a second process costs more than it saves


def _render_all(bodies: list[str]) -> list[str]:
    return [render_body(b) for b in bodies]


def replay(store: EventStore, head: int, progress: Progress | None = None) -> tuple[MemoryState, list[Frame]]:
    """The whole log up to `head` folded into memory, every comment's body_html rendered.

    Rendering (nh3) is a third of a replay and independent of it, so most of a large log's bodies go to a
    second process (`render_worker`), which renders them while this one folds the events."""
    events = list(store.iter_for_projection(0, until=head))
    bodies = [ev.data["body"] for ev in events if ev.type in ("CommentPosted", "CommentEdited")]
    worker = None
    sent: list[str] = []
    if len(bodies) >= PARALLEL_RENDER_MIN:
        share = len(bodies) * 3 // 4  # the other process starts later but has no fold to do
        sent, bodies = bodies[:share], bodies[share:]
        worker = _start_render_worker(sent)
        if worker is None:  # a body orjson cannot encode (a lone surrogate): render everything here
            bodies, sent = sent + bodies, []
    try:
        state, frames = fold(events, _scratch(store.using), progress=progress, cuts=frame_cuts(store), render=False)
        rendered = dict(zip(bodies, _render_all(bodies)))
        if worker is not None:
            rendered.update(zip(sent, _render_worker_result(worker, len(sent))))
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
    for row in state.comments.values():
        if row.body_html is None:
            html = rendered.get(row.body)
            row.body_html = html if html is not None else render_body(row.body)
    return state, frames


def _start_render_worker(bodies: list[str]) -> subprocess.Popen | None:
    try:
        payload = orjson.dumps(bodies)
    except orjson.JSONEncodeError:
        return None
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "projections.render_worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=root, env=env)
    proc.stdin.write(payload)  # the worker reads it all at once, then renders while we fold
    proc.stdin.close()
    return proc


def _render_worker_result(proc: subprocess.Popen, expected: int) -> list[str]:
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"the render worker failed (exit {proc.returncode})")
    rendered = orjson.loads(out)
    if len(rendered) != expected:
        raise RuntimeError(f"the render worker returned {len(rendered)} bodies, not {expected}")
    return rendered


def rebuild(store: EventStore, progress: Progress | None = None) -> int:
    """Replace the read models by a replay of the whole log. Writers wait for the lock meanwhile."""
    using = store.using
    with store.write_transaction():
        head = store.head()
        state, frames = replay(store, head, progress)
        for model in (ThreadSnapshot, LiveFrame, VoteView, CommentView, ThreadView):
            model.objects.using(using).all().delete()
        bulk_write(state, using)
        insert_rows(LiveFrame, ["position", "thread_key", "stream_version", "frame"],
                    ((f.position, f.thread_key, f.stream_version, f.frame) for f in frames), using)
        _set_checkpoint(head, THREAD_PROJECTOR, using)
    return head


@dataclass
class Difference:
    table: str
    key: str
    live: object
    rebuilt: object

    def __str__(self) -> str:
        return f"{self.table} {self.key}: live={self.live!r} rebuilt={self.rebuilt!r}"


def verify(store: EventStore, progress: Progress | None = None) -> Difference | None:
    """Replay the log into a scratch (in-memory) model and compare it with the live tables; first difference."""
    using = store.using
    with store.write_transaction():  # a stable snapshot: no append while we compare
        head = store.head()
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
        live_frames = dict(LiveFrame.objects.using(using).values_list("position", "frame"))
        rebuilt_frames = {f.position: f.frame for f in frames}
        for pos in sorted(set(live_frames) | set(rebuilt_frames)):
            if live_frames.get(pos) != rebuilt_frames.get(pos):
                return Difference("frame", str(pos), live_frames.get(pos), rebuilt_frames.get(pos))
    return None


__all__ = ["fold", "rebuild", "verify", "Difference", "COMMENT_FIELDS", "THREAD_FIELDS"]
