"""Connected readers across an online rebuild (`projections rebuild`, issue 17), through the WebSocket.

Frames are keyed by log position: where the rebuilt frames are byte-identical to the ones a reader was served, it
keeps resuming as before and is told nothing; where the rebuild changed its thread's output, it is sent `reset`
(projections.reset records the thread, the node's publisher tells its readers).
"""
from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from tests.conftest import unique_key

from .conftest import TIMEOUT, connect, frame, post, vote

pytestmark = pytest.mark.usefixtures("clean_publisher")


@database_sync_to_async
def rebuild() -> dict:
    from events.store import get_store
    from projections.online import rebuild_online

    stats: dict = {}
    rebuild_online(get_store(), stats=stats)
    return stats


@database_sync_to_async
def stored_frames(key: str) -> list[str]:
    from projections.models import LiveFrame

    return list(LiveFrame.objects.filter(thread_key=key).order_by("position").values_list("frame", flat=True))


@database_sync_to_async
def alter_frame(key: str) -> int:
    """Make the thread's first comment frame what an older projector might have written (another body)."""
    from projections.models import LiveFrame

    row = LiveFrame.objects.filter(thread_key=key, frame__contains='"CommentPosted"').order_by("position").first()
    data = json.loads(row.frame)
    data["comment"]["body_html"] = "<p>as an older projector rendered it</p>"
    LiveFrame.objects.filter(pk=row.position).update(frame=json.dumps(data, sort_keys=True))
    return row.position


async def raw_until_ready(comm) -> list[str]:
    """The raw text of every frame up to and including `ready` (presence skipped)."""
    out = []
    while True:
        text = await comm.receive_from(timeout=TIMEOUT)
        kind = json.loads(text)["type"]
        if kind != "presence":
            out.append(text)
        if kind == "ready":
            return out


async def frames_for(comm, seconds: float) -> list[dict]:
    """Every frame but presence that arrives within `seconds` (the publisher looks for notices each poll)."""
    out = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if await comm.receive_nothing(timeout=0.1):  # (a receive that times out would cancel the application)
            continue
        msg = json.loads(await comm.receive_from(timeout=TIMEOUT))
        if msg["type"] != "presence":
            out.append(msg)
    return out


async def _thread(key: str) -> None:
    first = await post(key, "first")
    await post(key, "a reply", parent_id=first.comment_id)
    await vote(first.comment_id, 1, actor="guest:rr-voter")


async def test_a_rebuild_that_changes_nothing_keeps_readers_resuming_byte_identically():
    key = unique_key("rr-same")
    await _thread(key)
    comm = await connect(key, "?after=0")
    served = await raw_until_ready(comm)
    assert [json.loads(t)["type"] for t in served] == ["event"] * 4 + ["ready"]

    stats = await rebuild()
    assert "threads_reset" in stats
    assert await stored_frames(key) == served[:-1]  # the rebuilt frames are the very bytes served
    assert await frames_for(comm, 1.0) == []  # several publisher polls: no reset

    later = await post(key, "after the rebuild")
    live = await frame(comm)
    assert (live["type"], live["position"], live["stream_version"]) == ("event", later.position, 5)
    await comm.send_json_to({"type": "resume", "after": 0})
    resumed = await raw_until_ready(comm)
    assert resumed[:4] == served[:4]  # byte-identical, and then the one written after the switch
    assert json.loads(resumed[4])["position"] == later.position
    assert json.loads(resumed[-1]) == {"type": "ready", "position": later.position}
    await comm.disconnect()


async def test_a_rebuild_that_changes_a_threads_frames_resets_its_readers_only():
    changed, same = unique_key("rr-changed"), unique_key("rr-kept")
    await _thread(changed)
    await _thread(same)
    altered = await alter_frame(changed)
    readers, served = {}, {}
    for key in (changed, same):
        readers[key] = await connect(key, "?after=0")
        served[key] = await raw_until_ready(readers[key])
        assert len(served[key]) == 5
    assert "older projector" in "".join(served[changed])  # the reader shows the old output

    stats = await rebuild()
    assert stats["threads_reset"] >= 1
    fixed = await stored_frames(changed)
    assert "older projector" not in "".join(fixed)

    got = await frames_for(readers[changed], 1.0)
    assert [f["type"] for f in got] == ["reset"]
    head = json.loads(fixed[-1])["position"]
    assert got[0]["position"] == head and "rebuilt" in got[0]["reason"]
    assert await frames_for(readers[same], 0.3) == []  # its frames are unchanged: nothing to refetch

    # The reset reader refetches; resuming from 0 now gives the rebuilt frames, the altered one replaced.
    await readers[changed].send_json_to({"type": "resume", "after": 0})
    resumed = await raw_until_ready(readers[changed])
    assert resumed[:-1] == fixed and any(json.loads(t)["position"] == altered for t in resumed)
    for key in (changed, same):  # both stay live
        later = await post(key, "after the rebuild")
        assert (await frame(readers[key]))["position"] == later.position
        await readers[key].disconnect()
