"""Time travel through snapshots gives exactly what a replay from the thread's first event gives."""
from __future__ import annotations

import dataclasses
import random

from events.store import EventStore
from projections import snapshots
from projections.models import ThreadSnapshot
from projections.queries import comments_page_at
from projections.rebuild import fold
from threadlog.commands import Actor, CommandError, CastVote, DeleteComment, EditComment, PostComment, handle


def test_state_at_every_position_matches_a_full_replay(live_db, key, monkeypatch):
    monkeypatch.setattr(snapshots, "SNAPSHOT_EVERY", 7)
    rng = random.Random(3)
    ids: list[str] = []
    for i in range(40):
        roll = rng.random()
        actor = Actor(f"guest:a{rng.randrange(4)}")
        if roll < 0.4 or not ids:
            parent = rng.choice(ids) if ids and rng.random() < 0.5 else None
            try:
                ids.append(handle(PostComment(thread=key, body=f"c{i}", author_name="A", parent_id=parent),
                                  actor).comment_id)
            except CommandError:
                pass  # a reply to a deleted parent is refused
        elif roll < 0.8:
            try:
                handle(CastVote(comment_id=rng.choice(ids), value=rng.choice((1, -1, 0))), actor)
            except CommandError:
                pass
        elif roll < 0.9:
            try:
                handle(EditComment(comment_id=rng.choice(ids), body=f"edited {i}"), Actor("user:1", is_staff=True))
            except CommandError:
                pass  # deleted meanwhile
        else:
            try:
                handle(DeleteComment(comment_id=rng.choice(ids)), Actor("user:1", is_staff=True))
            except CommandError:
                pass
    store = EventStore()
    events = store.read_stream(key)
    for ev in events:
        full = fold([e for e in events if e.position <= ev.position], frames_too=False)[0]
        fast = snapshots.state_at(store, key, ev.position)
        assert fast.threads == full.threads
        assert fast.votes == full.votes
        strip = lambda rows: {k: dataclasses.replace(r, body_html=None) for k, r in rows.items()}  # noqa: E731
        assert strip(fast.comments) == strip(full.comments)
    written = ThreadSnapshot.objects.filter(thread_key=key).count()
    assert written == len(events) // 7 and written >= 4
    page = comments_page_at(store, key=key, position=events[-1].position, sort="oldest", cursor=None, limit=100)
    assert page is not None and page.position == events[-1].position
