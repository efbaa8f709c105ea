"""Thread snapshots for time travel: the state after every SNAPSHOT_EVERY-th event of a thread.

Time travel to position P loads the newest snapshot at or before P and replays at most SNAPSHOT_EVERY events,
instead of the whole thread. Snapshots sit at fixed stream versions, so they are a pure function of the log:
`ensure` computes the missing ones from the previous snapshot (or from the start) and never changes one.
"""
from __future__ import annotations

import json


from events.people import KeyRing
from events.store import EventStore

from .models import ThreadSnapshot
from .rebuild import fold
from .thread import ERASED_BODY_HTML
from .state import COMMENT_FIELDS, THREAD_FIELDS, CommentRow, MemoryState, ThreadRow

SNAPSHOT_EVERY = 5_000


def _stored(row: CommentRow, name: str):
    if name == "body_html" and row.body_html != ERASED_BODY_HTML:
        return None  # rendered on display
    return getattr(row, name)


def dump_state(state: MemoryState, key: str) -> str:
    thread = state.threads[key]
    return json.dumps({
        "thread": [getattr(thread, f) for f in THREAD_FIELDS],
        "comments": [[_stored(c, f) for f in COMMENT_FIELDS] for c in state.comments.values()],
        "votes": [[c, v, value] for (c, v), value in state.votes.items()],
    }, separators=(",", ":"))


def load_state(text: str) -> MemoryState:
    raw = json.loads(text)
    state = MemoryState()
    thread = ThreadRow(*raw["thread"])
    state.threads[thread.key] = thread
    for values in raw["comments"]:
        row = CommentRow(**dict(zip(COMMENT_FIELDS, values)))
        state.comments[row.id] = row
    state.votes = {(c, v): value for c, v, value in raw["votes"]}
    return state


def latest(key: str, *, until_position: int | None = None, using: str = "default") -> ThreadSnapshot | None:
    qs = ThreadSnapshot.objects.using(using).filter(thread_key=key)
    if until_position is not None:
        qs = qs.filter(position__lte=until_position)
    return qs.order_by("-position").first()  # the (thread_key, position) index: reads one row, not every state


def _done(key: str, using: str) -> int:
    return (ThreadSnapshot.objects.using(using).filter(thread_key=key).order_by("-stream_version")
            .values_list("stream_version", flat=True).first()) or 0


def _erased_after(store: EventStore, position: int) -> bool:
    """Whether a person was erased after `position` (PersonErased events are appended with the key's erasure)."""
    with store.connection.cursor() as cur:
        cur.execute("SELECT 1 FROM threadlog_events WHERE position > %s AND type = %s LIMIT 1",
                    [position, "PersonErased"])
        return cur.fetchone() is not None


def ensure(store: EventStore, key: str) -> int:
    """Write the snapshots this thread is due (one per SNAPSHOT_EVERY events). Returns how many were written.

    Each snapshot is computed without the append lock (a fold of SNAPSHOT_EVERY events takes a few hundred
    milliseconds, which every writer would otherwise wait for) and stored under it, after checking that no one
    stored it meanwhile and that no person was erased since its keys were read: an erasure drops the thread's
    snapshots and destroys a key, and a snapshot computed before it would bring the names back. Then it is
    computed again."""
    using = store.using
    written = 0
    while True:
        done = _done(key, using)
        if store.stream_version(key) - done < SNAPSHOT_EVERY:
            return written  # the common case: one indexed read each
        since = store.head()
        snap = latest(key, using=using)
        if (snap.stream_version if snap else 0) != done:  # dropped meanwhile (an erasure): look again
            continue
        state = load_state(snap.state) if snap else MemoryState()
        state.keys = KeyRing(using)
        target = done + SNAPSHOT_EVERY
        events = store.read_stream(key, done, limit=SNAPSHOT_EVERY)
        fold(events, state, frames_too=False)
        last = events[-1]
        assert last.stream_version == target
        text = dump_state(state, key)
        with store.write_transaction():
            if _done(key, using) != done or _erased_after(store, since):
                continue
            ThreadSnapshot.objects.using(using).create(
                thread_key=key, stream_version=target, position=last.position, state=text)
        written += 1


def state_at(store: EventStore, key: str, position: int | None) -> MemoryState:
    """The thread's state as of `position` (None: now): newest snapshot at or before it, then the rest."""
    ensure(store, key)
    snap = latest(key, until_position=position, using=store.using)
    state = load_state(snap.state) if snap else MemoryState()
    state.keys = KeyRing(store.using)
    events = store.read_stream(key, snap.stream_version if snap else 0, until_position=position)
    return fold(events, state, frames_too=False)[0]


def ensure_all(store: EventStore) -> int:
    """Bring every long thread's snapshots up to date (the projector service calls this)."""
    from .models import ThreadView

    keys = ThreadView.objects.using(store.using).filter(stream_version__gte=SNAPSHOT_EVERY).values_list("key", flat=True)
    return sum(ensure(store, key) for key in keys)
