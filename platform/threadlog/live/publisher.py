"""One publisher per server process: tails the projected frames by position and pushes them to local readers.

The log (its projected frames) is the data; the channel layer only rings a doorbell. After a commit the
writer wakes its own process's publisher and, with Redis, every node's with one publish. Each publisher then
reads the frames after the last position it pushed, once, and hands the already-encoded text to each local
reader of that thread: one read and one encoding per event per node, not one message per reader. A periodic
poll backs the doorbell up, so an event whose writer died between commit and push still reaches readers.
The same poll reads the notices of an online rebuild that changed a thread's frames (projections.reset) and sends
that thread's readers `reset`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from projections.models import FrameReset, LiveFrame
from threadlog.ops import metrics
from threadlog.ops.dependency import REDIS

from . import presence
from .pacing import Pacer

log = logging.getLogger(__name__)
WAKEUP_GROUP = "threadlog.wakeup"
NODE_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
ALL_THREADS = "*"  # not a thread key: a reader registered under it gets every thread's frames
PRESENCE_DELAY = 0.15  # seconds over which joins and leaves are announced together
PRESENCE_FRAMES_PER_SECOND = 2000  # presence frames a node sends a thread's readers, at most, once it has many
PRESENCE_MAX_INTERVAL = 5.0  # the count shown is never older than this while readers come and go


def presence_interval(readers: int) -> float:
    """The shortest time between two presence pushes to one thread's readers on this node.

    A push is one frame per reader, and every node's announcement arrives at every node: with a fixed interval,
    N readers joining a thread cost N frames per push, about N² in all (10,000 readers on two nodes kept each
    node busy for minutes after the last join). A small audience sees the count at once (PRESENCE_DELAY); a
    large one sees it at most PRESENCE_MAX_INTERVAL late, and the node sends about PRESENCE_FRAMES_PER_SECOND."""
    return min(PRESENCE_MAX_INTERVAL, max(PRESENCE_DELAY, readers / PRESENCE_FRAMES_PER_SECOND))


class Reader(Protocol):
    thread_key: str

    def deliver(self, position: int, stream_version: int, text: str) -> None: ...
    def deliver_presence(self, text: str) -> None: ...
    def deliver_reset(self, position: int) -> None: ...


@database_sync_to_async
def frames_after(position: int, limit: int = 500, thread_key: str | None = None) -> list[tuple[int, str, int, str]]:
    qs = LiveFrame.objects.filter(position__gt=position)
    if thread_key is not None:
        qs = qs.filter(thread_key=thread_key)
    return list(qs.order_by("position").values_list("position", "thread_key", "stream_version", "frame")[:limit])


@database_sync_to_async
def last_frame_position() -> int:
    row = LiveFrame.objects.order_by("-position").values_list("position", flat=True).first()
    return int(row or 0)


@database_sync_to_async
def resets_after(seen: int, limit: int = 5000) -> list[tuple[int, str, int]]:
    """The rebuild notices after `seen` (by id): (id, thread key, the thread's position after the switch)."""
    return list(FrameReset.objects.filter(id__gt=seen).order_by("id").values_list("id", "thread_key", "position")
                [:limit])


@database_sync_to_async
def last_reset() -> int:
    return int(FrameReset.objects.order_by("-id").values_list("id", flat=True).first() or 0)


class Publisher:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.readers: dict[str, set[Reader]] = {}
        self.position = 0
        self.reset_seen = 0  # the last rebuild notice handled (projections.models.FrameReset)
        self._resets_due = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._doorbell_task: asyncio.Task | None = None
        self._started = asyncio.Event()
        self.presence = presence.make_presence(NODE_ID)
        # a thread's count announced to every node (PRESENCE_DELAY apart), and pushed to this node's readers
        self._announcements = Pacer(loop, self._announce_presence, self._presence_failed)
        self._pushes = Pacer(loop, self.push_presence, self._presence_failed)

    # --- lifecycle -----------------------------------------------------------------------------------

    async def ensure_started(self) -> None:
        if self._task is None:
            self._task = self.loop.create_task(self._run())
            self._doorbell_task = self.loop.create_task(self._doorbell())
        await self._started.wait()

    async def stop(self) -> None:
        """Cancel the tail and the doorbell (a test's event loop ends; a server process exits)."""
        tasks = [t for t in (self._task, self._doorbell_task, getattr(self.presence, "_refresher", None)) if t]
        tasks += self._announcements.tasks() + self._pushes.tasks()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = self._doorbell_task = None
        if _publishers.get(self.loop) is self:
            del _publishers[self.loop]

    async def _doorbell(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel()
        while True:  # a node that starts while Redis is away joins the doorbell once it is back (polls meanwhile)
            try:
                await layer.group_add(WAKEUP_GROUP, channel)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _doorbell_failed(error, "doorbell subscribe")
                await asyncio.sleep(1)
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the layer is best-effort: the poll still runs
                _doorbell_failed(error, "doorbell receive")
                await asyncio.sleep(1)
                continue
            REDIS.ok()
            if message.get("type") == "presence.changed":
                self._push_presence_soon(message["thread"])
            else:
                if "position" in message:
                    metrics.committed(message["position"], message.get("at"))
                self._wake.set()

    async def _run(self) -> None:
        self.position = await last_frame_position()
        self.reset_seen = await last_reset()
        self._started.set()
        poll = settings.THREADLOG["PUBLISHER_POLL_SECONDS"]
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=poll)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.pump()
                if self.loop.time() >= self._resets_due:  # at most once a poll, however busy the doorbell
                    self._resets_due = self.loop.time() + poll
                    await self.send_resets()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publisher pump failed; retrying")
                await asyncio.sleep(0.5)

    async def pump(self) -> None:
        """Push every frame after the last pushed position, in position order."""
        while True:
            rows = await frames_after(self.position)
            for position, thread_key, stream_version, text in rows:
                readers = tuple(self.readers.get(thread_key, ()))
                if ALL_THREADS in self.readers:  # the moderators' page (threadlog.moderation.live)
                    readers += tuple(self.readers[ALL_THREADS])
                for reader in readers:
                    reader.deliver(position, stream_version, text)
                metrics.pushed(position, len(readers))
                self.position = position
                if readers:
                    # Let every reader's sender run before the next frame: a burst of frames read in one
                    # batch must not overflow the bounded queue of a reader that keeps up.
                    await asyncio.sleep(0)
            if len(rows) < 500:
                return

    async def send_resets(self) -> None:
        """Send `reset` to the local readers of every thread an online rebuild changed since the last look."""
        while rows := await resets_after(self.reset_seen):
            for seen, thread_key, position in rows:
                for reader in tuple(self.readers.get(thread_key, ())):
                    reader.deliver_reset(position)
                self.reset_seen = seen

    def wake(self) -> None:
        self._wake.set()

    # --- readers and presence ------------------------------------------------------------------------

    async def register(self, reader: Reader) -> None:
        await self.ensure_started()
        self.readers.setdefault(reader.thread_key, set()).add(reader)
        metrics.reader_joined()
        await self._presence_changed(reader.thread_key)

    async def unregister(self, reader: Reader) -> None:
        group = self.readers.get(reader.thread_key)
        if group is None or reader not in group:
            return
        group.discard(reader)
        metrics.reader_left()
        if not group:
            del self.readers[reader.thread_key]
        await self._presence_changed(reader.thread_key)

    def local_count(self, thread_key: str) -> int:
        return len(self.readers.get(thread_key, ()))

    async def _presence_changed(self, thread_key: str) -> None:
        """Announce the thread's reader count soon, once for all the joins and leaves of that moment.

        Announcing every join to every reader would cost N² frames while N readers arrive; coalesced over
        PRESENCE_DELAY it costs about N per burst. A lone change is announced at once."""
        self._announcements.request(thread_key, PRESENCE_DELAY)

    async def _announce_presence(self, thread_key: str) -> None:
        await self.presence.set_local(thread_key, self.local_count(thread_key))
        layer = get_channel_layer()
        if self.presence.shared and layer is not None:
            await layer.group_send(WAKEUP_GROUP, {"type": "presence.changed", "thread": thread_key})
        else:
            self._push_presence_soon(thread_key)

    def _presence_failed(self, error: Exception) -> None:
        """With Redis, one warning per outage (threadlog.ops.dependency); without, the traceback (a bug)."""
        if self.presence.shared:
            REDIS.failed(error, during="presence")
        else:
            log.exception("presence announcement or push failed", exc_info=error)

    def _push_presence_soon(self, thread_key: str) -> None:
        """Push the thread's count to this node's readers now, or once presence_interval has passed since the
        last push, once for every announcement (of any node) that arrives meanwhile."""
        self._pushes.request(thread_key, presence_interval(self.local_count(thread_key)))

    async def push_presence(self, thread_key: str) -> None:
        readers = tuple(self.readers.get(thread_key, ()))
        if not readers:
            return
        total = await self.presence.total(thread_key, self.local_count(thread_key))
        text = f'{{"readers":{total},"type":"presence"}}'
        for reader in readers:
            reader.deliver_presence(text)


_publishers: dict[asyncio.AbstractEventLoop, Publisher] = {}


def get_publisher() -> Publisher:
    loop = asyncio.get_running_loop()
    pub = _publishers.get(loop)
    if pub is None:
        for old in [lp for lp in _publishers if lp.is_closed()]:
            del _publishers[old]
        pub = _publishers[loop] = Publisher(loop)
    return pub


_serving_loops: list[asyncio.AbstractEventLoop] = []


def serving(loop: asyncio.AbstractEventLoop) -> None:
    """Register an event loop that serves requests in this process (asgi.py): the Redis doorbell is rung from
    it, so a writer's thread hands the publish over instead of waiting for it."""
    if loop not in _serving_loops:
        _serving_loops[:] = [lp for lp in _serving_loops if not lp.is_closed()] + [loop]


def _doorbell_failed(error: BaseException, during: str) -> None:
    """Counted in the metrics; logged once per Redis outage (threadlog.ops.dependency), not once per write."""
    metrics.doorbell_failed()
    REDIS.failed(error, during=during)


def _rang(future) -> None:
    if future.cancelled():
        return
    if future.exception() is not None:
        _doorbell_failed(future.exception(), "doorbell publish")
    else:
        REDIS.ok()


def notify_committed(position: int) -> None:
    """Called after a commit that appended (from any thread): ring this process's and every node's doorbell."""
    at = metrics.committed(position)
    for loop, pub in list(_publishers.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(pub.wake)
    layer = get_channel_layer()
    if settings.REDIS_URL and layer is not None:
        message = {"type": "log.appended", "position": position, "at": at}
        loop = next((lp for lp in reversed(_serving_loops) if lp.is_running()), None)
        if loop is not None:  # best-effort, and every node also polls the log: nothing to wait for here
            asyncio.run_coroutine_threadsafe(layer.group_send(WAKEUP_GROUP, message), loop).add_done_callback(_rang)
            return
        try:  # a command-line writer: no serving loop
            async_to_sync(layer.group_send)(WAKEUP_GROUP, message)
        except Exception as error:
            _doorbell_failed(error, "doorbell publish")
