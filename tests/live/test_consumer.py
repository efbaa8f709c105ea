"""ThreadConsumer in-process (WebsocketCommunicator, the real ASGI app with its origin check, in-memory layer).

Writes go through the command handler in a thread, as the HTTP API does; pushes come from this loop's publisher.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from tests.conftest import unique_key

from .conftest import TIMEOUT, asgi_app, connect, frame, frames_until, post, post_many, presence, vote

pytestmark = pytest.mark.usefixtures("clean_publisher")


def assert_in_order(events: list[dict], first_version: int) -> None:
    positions = [e["position"] for e in events]
    assert positions == sorted(set(positions)), positions
    assert [e["stream_version"] for e in events] == list(range(first_version, first_version + len(events)))


async def test_backlog_after_p_then_ready_then_live_frames():
    key = unique_key("ws")
    first = await post(key, "first")  # ThreadOpened + CommentPosted
    second = await post(key, "second")
    await post(unique_key("other"), "another thread's event must not show up")

    comm = await connect(key, f"?after={first.position}")
    got = await frames_until(comm, "ready")
    assert [f["type"] for f in got] == ["event", "ready"]
    assert got[0]["position"] == second.position and got[0]["stream_version"] == 3
    assert got[0]["event"]["type"] == "CommentPosted"
    assert got[0]["event"]["data"]["comment_id"] == second.comment_id
    assert got[0]["counts"]["comment_count"] == 2
    assert got[1] == {"type": "ready", "position": second.position}

    reply = await post(key, "a reply", parent_id=first.comment_id)
    voted = await vote(first.comment_id, 1, actor="guest:voter-1")
    down = await vote(first.comment_id, -1, actor="guest:voter-2")
    live = [await frame(comm) for _ in range(3)]
    assert_in_order(live, 4)
    assert [f["position"] for f in live] == [reply.position, voted.position, down.position]
    assert [f["event"]["type"] for f in live] == ["CommentPosted", "VoteCast", "VoteCast"]
    assert live[0]["counts"]["parent"] == {"id": first.comment_id, "reply_count": 1}
    assert live[0]["counts"]["comment_count"] == 3
    assert live[1]["counts"]["comment"] == {"id": first.comment_id, "up": 1, "down": 0, "score": 1,
                                            "reply_count": 1}
    assert live[2]["counts"]["comment"]["score"] == 0
    await comm.disconnect()


async def test_after_zero_replays_the_whole_thread_in_order():
    key = unique_key("ws")
    results = [await post(key, f"c{i}") for i in range(4)]
    comm = await connect(key, "?after=0")
    got = await frames_until(comm, "ready")
    events = got[:-1]
    assert_in_order(events, 1)
    assert [e["event"]["type"] for e in events] == ["ThreadOpened"] + ["CommentPosted"] * 4
    assert events[-1]["position"] == results[-1].position == got[-1]["position"]
    await comm.disconnect()


async def test_without_after_ready_carries_the_thread_position_then_live():
    key = unique_key("ws")
    done = await post(key, "before")
    comm = await connect(key)
    assert await frame(comm) == {"type": "ready", "position": done.position}
    later = await post(key, "after")
    live = await frame(comm)
    assert (live["type"], live["position"], live["stream_version"]) == ("event", later.position, 3)
    await comm.disconnect()


async def test_presence_on_join_and_leave():
    key = unique_key("ws")
    await post(key, "x")
    a = await connect(key)
    await presence(a, 1)
    b = await connect(key)
    await presence(a, 2)
    await presence(b, 2)
    c = await connect(unique_key("elsewhere"))  # another thread: not counted here
    await presence(c, 1)
    await b.disconnect()
    await presence(a, 1)
    assert await a.receive_nothing(timeout=0.3)
    await a.disconnect()
    await c.disconnect()


async def test_ping_pong():
    key = unique_key("ws")
    done = await post(key, "x")
    comm = await connect(key)
    assert (await frame(comm))["type"] == "ready"
    await comm.send_json_to({"type": "ping"})
    assert await frame(comm) == {"type": "pong", "position": done.position}
    await comm.disconnect()


async def test_resume_returns_exactly_the_missing_events():
    key = unique_key("ws")
    for i in range(3):
        await post(key, f"c{i}")
    comm = await connect(key, "?after=0")
    seen = (await frames_until(comm, "ready"))[:-1]
    assert len(seen) == 4
    extra = [await post(key, f"live{i}") for i in range(2)]
    live = [await frame(comm) for _ in range(2)]
    assert [f["position"] for f in live] == [r.position for r in extra]
    everything = seen + live

    # a reader that saw a stream_version jump after the 2nd frame asks for what it missed
    await comm.send_json_to({"type": "resume", "after": everything[1]["position"]})
    resumed = await frames_until(comm, "ready")
    assert resumed[:-1] == everything[2:]  # the very same frames (encoded once), nothing more
    assert resumed[-1] == {"type": "ready", "position": everything[-1]["position"]}

    # resuming at the head returns nothing but ready; live frames keep flowing after a resume
    await comm.send_json_to({"type": "resume", "after": everything[-1]["position"]})
    assert await frame(comm) == {"type": "ready", "position": everything[-1]["position"]}
    nxt = await post(key, "next")
    got = await frame(comm)
    assert (got["position"], got["stream_version"]) == (nxt.position, everything[-1]["stream_version"] + 1)
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_reset_when_resume_is_too_old(settings):
    settings.THREADLOG = {**settings.THREADLOG, "RESUME_MAX_EVENTS": 3}
    key = unique_key("ws")
    results = [await post(key, f"c{i}") for i in range(4)]  # 5 events
    head = results[-1].position

    comm = await connect(key, "?after=0")
    reset = await frame(comm)
    assert reset["type"] == "reset" and reset["position"] == head

    await comm.send_json_to({"type": "resume", "after": 0})
    assert (await frame(comm))["type"] == "reset"

    await comm.send_json_to({"type": "resume", "after": results[1].position})  # 2 events missing: replayable
    got = await frames_until(comm, "ready")
    assert [f["position"] for f in got[:-1]] == [results[2].position, results[3].position]

    live = await post(key, "live after reset")
    assert (await frame(comm))["position"] == live.position
    await comm.disconnect()


async def test_reset_when_the_frames_to_resume_from_are_pruned(settings):
    """A long thread keeps only its recent frames: a resume from before them is reset even when the setting
    would allow replaying that many, and a resume from the horizon gets every frame after it."""
    from projections.models import ThreadView
    from projections.thread import FRAMES_WINDOW
    from tests.projections.test_frame_retention import long_thread

    settings.THREADLOG = {**settings.THREADLOG, "RESUME_MAX_EVENTS": 10 * FRAMES_WINDOW}
    key = unique_key("ws")
    await database_sync_to_async(long_thread)(key, 2 * FRAMES_WINDOW)  # versions 1..2002
    thread = await database_sync_to_async(ThreadView.objects.get)(pk=key)
    assert thread.frames_pruned_through > 0

    comm = await connect(key, f"?after={thread.frames_pruned_through - 1}")
    reset = await frame(comm)
    assert reset["type"] == "reset" and reset["position"] == thread.last_position
    assert "no longer kept" in reset["reason"]

    await comm.send_json_to({"type": "resume", "after": thread.frames_pruned_through})
    got = await frames_until(comm, "ready")
    assert_in_order(got[:-1], FRAMES_WINDOW + 1)
    assert got[-2]["position"] == thread.last_position and len(got) - 1 == FRAMES_WINDOW + 2
    await comm.disconnect()


async def test_reset_when_resume_is_ahead_of_the_log():
    """A reader claiming positions the log never had (the history was rebuilt or replaced) must refetch."""
    key = unique_key("ws")
    result = await post(key, "only one")
    comm = await connect(key, f"?after={result.position + 10_000}")
    reset = await frame(comm)
    assert reset["type"] == "reset" and reset["position"] == result.position
    await comm.send_json_to({"type": "resume", "after": result.position})
    assert (await frame(comm)) == {"type": "ready", "position": result.position}
    live = await post(key, "after the reset")
    assert (await frame(comm))["position"] == live.position
    await comm.disconnect()


async def test_bad_frames_get_an_error_and_the_connection_stays_open():
    key = unique_key("ws")
    await post(key, "x")
    comm = await connect(key)
    assert (await frame(comm))["type"] == "ready"

    async def error_for(text: str) -> str:
        await comm.send_to(text_data=text)
        msg = await frame(comm)
        assert msg["type"] == "error" and msg["message"]
        return msg["code"]

    assert await error_for("not json {") == "bad_json"
    assert await error_for("[1, 2]") == "bad_json"
    assert await error_for(json.dumps({"type": "post", "body": "writes go over HTTP"})) == "unknown_type"
    assert await error_for(json.dumps({"no": "type"})) == "unknown_type"
    assert await error_for(json.dumps({"type": "ping", "pad": "x" * 5000})) == "frame_too_large"
    assert await error_for(json.dumps({"type": "resume", "after": "7"})) == "invalid_after"
    assert await error_for(json.dumps({"type": "resume", "after": -1})) == "invalid_after"
    await comm.send_to(bytes_data=b"\xff\xfe binary")
    assert (await frame(comm))["type"] == "error"

    # still open and still served
    await comm.send_json_to({"type": "ping"})
    assert (await frame(comm))["type"] == "pong"
    live = await post(key, "still live")
    assert (await frame(comm))["position"] == live.position
    await comm.disconnect()


async def test_invalid_key_and_after():
    comm = await connect("x" * 201)
    msg = json.loads(await comm.receive_from(timeout=TIMEOUT))
    assert msg["type"] == "error" and msg["code"] == "invalid_key"
    assert (await comm.receive_output(timeout=TIMEOUT)) == {"type": "websocket.close", "code": 4400}

    key = unique_key("ws")
    done = await post(key, "x")
    comm = await connect(key, "?after=abc")
    assert (await frame(comm))["code"] == "invalid_after"
    assert await frame(comm) == {"type": "ready", "position": done.position}
    await comm.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", b"https://127.0.0.1.evil.example",
                                    b"http://evil.example:8000"])
async def test_foreign_origin_is_denied(origin):
    from channels.testing import WebsocketCommunicator

    comm = WebsocketCommunicator(asgi_app(), f"/ws/threads/{unique_key('ws')}/", headers=[(b"origin", origin)])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert not connected


@pytest.mark.parametrize("origin", [b"http://127.0.0.1:8000", b"http://localhost:8000", b"http://testserver", None])
async def test_own_origin_is_accepted(origin):
    key = unique_key("ws")
    done = await post(key, "x")
    comm = await connect(key, origin=origin)
    assert await frame(comm) == {"type": "ready", "position": done.position}
    await comm.disconnect()


def blocking_sends(app, gate: asyncio.Event):
    """Wrap the app so its frames wait on `gate`: a reader whose connection does not drain (backpressure)."""

    async def wrapped(scope, receive, send):
        async def slow_send(message):
            if message["type"] == "websocket.send":
                await gate.wait()
            await send(message)

        await app(scope, receive, slow_send)

    return wrapped


async def test_slow_reader_is_closed_with_4008_and_others_keep_receiving(settings):
    settings.THREADLOG = {**settings.THREADLOG, "WS_QUEUE_FRAMES": 3}
    key = unique_key("ws")
    start = await post(key, "x")
    gate = asyncio.Event()
    gate.set()
    slow = await connect(key, app=blocking_sends(asgi_app(), gate))
    fast = await connect(key)
    assert (await frame(slow))["type"] == "ready"
    assert (await frame(fast))["type"] == "ready"
    await presence(fast, 2)
    await presence(slow, 2)
    gate.clear()  # the slow reader stops draining

    posted = await post_many(key, 12)
    got, readers = [], []
    while len(got) < len(posted) or not readers:
        msg = await frame(fast, skip_presence=False)
        (readers if msg["type"] == "presence" else got).append(msg)
    assert [f["position"] for f in got] == [r.position for r in posted]
    assert_in_order(got, 3)
    assert readers[-1]["readers"] == 1  # the slow reader left the thread

    close = await slow.receive_output(timeout=TIMEOUT)
    assert close == {"type": "websocket.close", "code": 4008}
    assert await slow.receive_nothing(timeout=0.3)  # closed once, nothing after the close
    more = await post(key, "after the slow reader left")
    assert (await frame(fast))["position"] == more.position

    # the slow reader resumes from its last position and gets everything it missed
    again = await connect(key, f"?after={start.position}")
    resumed = await frames_until(again, "ready")
    assert [f["position"] for f in resumed[:-1]] == [r.position for r in posted] + [more.position]
    await again.disconnect()
    await fast.disconnect()
    await slow.wait(timeout=TIMEOUT)


async def test_deeply_nested_frame_is_an_error_and_the_reader_stays():
    key = unique_key("ws")
    await post(key, "x")
    comm = await connect(key)
    assert (await frame(comm))["type"] == "ready"
    await comm.send_to(text_data="[" * 3000)
    error = await frame(comm)
    assert error["type"] == "error" and error["code"] == "bad_json"
    await comm.send_json_to({"type": "ping"})
    assert (await frame(comm))["type"] == "pong"
    await comm.disconnect()
