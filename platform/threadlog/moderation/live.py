"""`/ws/moderation/`: the moderators' page's doorbell. Staff only (their session cookie).

It registers with the node's publisher for every thread's frames (threadlog.live.publisher.ALL_THREADS) and tells
the page that something changed, `{type: "changed", position}`, at most once per CHANGED_EVERY seconds; the page
then refetches its queue tab (GET /api/moderation/queue). The frames themselves are the public
ones and are not forwarded: what changed is read over HTTP, with staff's view.
"""
from __future__ import annotations

import asyncio
import json

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncWebsocketConsumer

from threadlog.live.publisher import ALL_THREADS, get_publisher

CHANGED_EVERY = 0.25
CLOSE_FORBIDDEN = 4403


class ModerationConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = "__threadlog_no_layer__"
    thread_key = ALL_THREADS

    async def connect(self) -> None:
        self.registered = False
        self.due = 0  # the last position not yet announced
        self.flusher: asyncio.Task | None = None
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.send(text_data=json.dumps({"type": "error", "code": "staff_only",
                                                  "message": "only staff may watch the moderation queue"}))
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await get_publisher().register(self)
        self.registered = True
        await self.send(text_data=json.dumps({"type": "ready"}))

    def deliver(self, position: int | None, stream_version: int | None, text: str) -> None:
        if position is None:
            return
        self.due = max(self.due, position)
        if self.flusher is None:
            self.flusher = asyncio.get_running_loop().create_task(self._flush())

    def deliver_presence(self, text: str) -> None:
        pass

    def deliver_reset(self, position: int) -> None:
        pass  # registered under ALL_THREADS, never a thread's key: the queue is read over HTTP anyway

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(CHANGED_EVERY)
            await self.send(text_data=json.dumps({"type": "changed", "position": self.due}))
        finally:
            self.flusher = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=json.dumps({"type": "pong"}))

    async def disconnect(self, code: int) -> None:
        if self.registered:
            self.registered = False
            await get_publisher().unregister(self)
        if self.flusher is not None:
            self.flusher.cancel()


moderation_websocket = AuthMiddlewareStack(ModerationConsumer.as_asgi())
