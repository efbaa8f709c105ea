"""projections.reset: which threads an online rebuild's frames changed, on SQLite and PostgreSQL.

Both parts of the comparison: the frames before the catch-up head (outside the lock) and those the live projector
wrote since (under the lock, the tail). Only the threads whose frames differ get a notice (FrameReset), carrying
the thread's position after the switch. Through the WebSocket: tests/live/test_rebuild_reset.py."""
from __future__ import annotations

import json
import uuid

import pytest

import projections.online as online
from events.store import ANY
from events.formats import CommentPosted
from events.types import ThreadOpened
from projections.base import project_pending
from projections.models import FrameReset, LiveFrame, ThreadView


def _post(store, key: str, body: str) -> int:
    events = [] if store.stream_version(key) else [ThreadOpened(key=key, title=key)]
    events.append(CommentPosted(comment_id=str(uuid.uuid4()), body=body, author_id="guest:fr-reset"))
    store.append(key, events, expected_version=ANY)
    project_pending(store)
    return store.head()


def _alter(using: str, position: int) -> None:
    """The frame as an older projector might have written it."""
    row = LiveFrame.objects.using(using).get(pk=position)
    data = json.loads(row.frame)
    data["comment"]["body_html"] = "<p>older output</p>"
    LiveFrame.objects.using(using).filter(pk=position).update(frame=json.dumps(data, sort_keys=True))


def _last_notice(using: str) -> int:
    return FrameReset.objects.using(using).order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("using", ["default", "postgres"], ids=["sqlite", "postgres"])
def test_notices_name_exactly_the_threads_whose_frames_changed(live_db, key, using):
    from events.store import EventStore

    store = EventStore(using)
    changed, kept, late = f"{key}-changed", f"{key}-kept", f"{key}-late"
    for k in (changed, kept, late):
        _post(store, k, "first")
    _alter(using, _post(store, changed, "second"))
    seen = _last_notice(using)

    def before_switch() -> None:  # written by the live projector after the comparison: the tail, under the lock
        _alter(using, _post(store, late, "right before the switch"))

    stats: dict = {}
    online.rebuild_online(store, before_switch=before_switch, stats=stats)
    notices = {n.thread_key: n.position for n in FrameReset.objects.using(using).filter(id__gt=seen)}
    mine = {k: p for k, p in notices.items() if k.startswith(key)}
    last = dict(ThreadView.objects.using(using).filter(key__in=[changed, late]).values_list("key", "last_position"))
    assert mine == last  # not `kept`, and each at its thread's position after the switch
    assert stats["threads_reset"] == len(notices)
    assert "older output" not in "".join(LiveFrame.objects.using(using).values_list("frame", flat=True))

    seen = _last_notice(using)
    online.rebuild_online(store, stats=stats)  # nothing changed since: no notice
    assert stats["threads_reset"] == 0 and not FrameReset.objects.using(using).filter(id__gt=seen).exists()


@pytest.mark.parametrize("using", ["default", "postgres"], ids=["sqlite", "postgres"])
def test_an_offline_rebuild_sends_reset_for_the_threads_it_changed_too(live_db, key, using):
    from events.store import EventStore
    from projections.rebuild import rebuild

    store = EventStore(using)
    changed, kept = f"{key}-changed", f"{key}-kept"
    for k in (changed, kept):
        _post(store, k, "first")
    _alter(using, _post(store, changed, "second"))
    seen = _last_notice(using)

    stats: dict = {}
    rebuild(store, stats=stats)
    notices = {n.thread_key: n.position for n in FrameReset.objects.using(using).filter(id__gt=seen)}
    mine = {k: p for k, p in notices.items() if k.startswith(key)}
    assert mine == dict(ThreadView.objects.using(using).filter(key=changed).values_list("key", "last_position"))
    assert stats["threads_reset"] == len(notices)

    seen = _last_notice(using)
    rebuild(store, stats=stats)  # the frames it wrote are the ones it writes again: no notice
    assert stats["threads_reset"] == 0 and not FrameReset.objects.using(using).filter(id__gt=seen).exists()
