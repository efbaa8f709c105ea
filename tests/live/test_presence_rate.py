"""Presence frames to a large audience are paced: a push is one frame per reader, so joins and leaves must not
cost a frame per reader each (N² while N readers arrive). A small audience still sees every change at once."""
from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import unique_key
from threadlog.live import publisher
from threadlog.live.publisher import PRESENCE_DELAY, PRESENCE_MAX_INTERVAL, presence_interval

from .conftest import TIMEOUT, connect, post, presence

pytestmark = pytest.mark.usefixtures("clean_publisher")


def test_the_interval_grows_with_the_audience_and_is_capped():
    assert presence_interval(1) == PRESENCE_DELAY
    small, large = presence_interval(100), presence_interval(4_000)
    assert small == PRESENCE_DELAY < large < PRESENCE_MAX_INTERVAL
    assert presence_interval(10_000_000) == PRESENCE_MAX_INTERVAL


async def _presence_frames(comm, seconds: float) -> list[int]:
    counts = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if await comm.receive_nothing(timeout=0.05, interval=0.01):
            continue  # (a timed-out receive_from would end the application)
        msg = json.loads(await comm.receive_from(timeout=TIMEOUT))
        if msg["type"] == "presence":
            counts.append(msg["readers"])
    return counts


async def test_a_large_audience_gets_paced_presence_and_the_last_count(monkeypatch):
    # Two readers count as "large" here: one push per second at most.
    monkeypatch.setattr(publisher, "PRESENCE_FRAMES_PER_SECOND", 2)
    key = unique_key("ws")
    await post(key, "x")
    a = await connect(key)
    await presence(a, 1)
    b = await connect(key)
    await presence(a, 2)
    churn = []
    for _ in range(6):  # six joins and six leaves within about a second
        churn.append(await connect(key))
        await asyncio.sleep(0.08)
        await churn.pop().disconnect()
        await asyncio.sleep(0.08)
    seen = await _presence_frames(a, 1.0 + PRESENCE_DELAY * 2)
    # With PRESENCE_DELAY alone, twelve changes 80 ms apart would have made about eight pushes.
    assert 1 <= len(seen) <= 3, seen
    assert seen[-1] == 2  # the count that stands is delivered
    await a.disconnect()
    await b.disconnect()


async def test_a_small_audience_sees_each_change_at_once():
    key = unique_key("ws")
    await post(key, "x")
    a = await connect(key)
    await presence(a, 1)
    loop = asyncio.get_running_loop()
    b = await connect(key)
    started = loop.time()
    await presence(a, 2)
    assert loop.time() - started < TIMEOUT
    await b.disconnect()
    await presence(a, 1)
    await a.disconnect()
