"""Fixtures for the live tests: in-process writers and readers, and a clean publisher per event loop."""
from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from threadlog.commands import Actor, CastVote, PostComment, handle

TIMEOUT = 5


@database_sync_to_async
def post(key: str, body: str = "hello", *, parent_id: str | None = None, actor: str = "guest:writer"):
    """Post through the command handler, in a thread (as the HTTP API does); returns the Result."""
    return handle(PostComment(thread=key, body=body, author_name="Writer", parent_id=parent_id), Actor(actor))


@database_sync_to_async
def post_many(key: str, n: int, *, actor: str = "guest:writer"):
    """n comments in quick succession from one thread: the publisher may push them in one batch."""
    return [handle(PostComment(thread=key, body=f"burst {i}", author_name="Writer"), Actor(actor)) for i in range(n)]


@database_sync_to_async
def vote(comment_id: str, value: int, *, actor: str):
    return handle(CastVote(comment_id=comment_id, value=value), Actor(actor))


def asgi_app():
    from threadlog.asgi import application

    return application


async def connect(key: str, query: str = "", *, app=None, origin: bytes | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", origin)] if origin else []
    comm = WebsocketCommunicator(app or asgi_app(), f"/ws/threads/{key}/{query}", headers=headers)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    return comm


async def frame(comm: WebsocketCommunicator, *, skip_presence: bool = True) -> dict:
    """The next frame (presence frames skipped unless asked for)."""
    while True:
        msg = json.loads(await comm.receive_from(timeout=TIMEOUT))
        if skip_presence and msg["type"] == "presence":
            continue
        return msg


async def frames_until(comm: WebsocketCommunicator, kind: str) -> list[dict]:
    """Frames up to and including the first of type `kind` (presence skipped)."""
    out = []
    while True:
        msg = await frame(comm)
        out.append(msg)
        if msg["type"] == kind:
            return out


async def presence(comm: WebsocketCommunicator, readers: int) -> None:
    """Wait for a presence frame saying `readers` (earlier presence frames may still be queued)."""
    while True:
        msg = json.loads(await comm.receive_from(timeout=TIMEOUT))
        if msg["type"] == "presence" and msg["readers"] == readers:
            return


@pytest.fixture
async def clean_publisher(live_db):
    """Stop this test loop's publisher at the end, so no tail task outlives the loop or the database."""
    yield
    from threadlog.live.publisher import _publishers

    pub = _publishers.get(asyncio.get_running_loop())
    if pub is not None:
        await pub.stop()
