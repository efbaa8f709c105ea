"""ThreadConsumer: a reader watching one thread. Reads only; comments and votes are written over HTTP.

Subscribe first, then send the backlog from the log, then live frames, dropping any frame at or below the last
position sent (Zulip's register-then-fetch). Frames wait in a bounded queue: a reader too slow to keep up is
closed with code 4008 and resumes from its last position, and never stalls the others.
"""
from __future__ import annotations

import asyncio
import functools
import json
from collections import deque
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections

from events.store import THREAD_KEY, get_store

from projections.models import LiveFrame, ThreadView
from threadlog.ops import metrics
from threadlog.serving import pools

from threadlog.notifications import notices

from .publisher import get_publisher

CLOSE_SLOW_READER = 4008
CLOSE_BAD_REQUEST = 4400
# Daphne's send never waits: it hands the frame to Twisted, which buffers without bound. So frames handed over
# but still unsent in the connection's buffer count against the same bound as the queue.
WS_FRAME_OVERHEAD = 10  # bytes of WebSocket framing per frame, at most


def unsent_bytes(send) -> int:
    """Bytes accepted for this connection but not yet written to its socket (daphne/Twisted), else 0."""
    protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
    transport = getattr(protocol, "transport", None)
    try:
        return (len(transport.dataBuffer) - transport.offset) + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0  # another server (or the test communicator): its send applies backpressure, or none is known


def _resume_rows(thread_key: str, after: int, limit: int) -> tuple[list[tuple[int, int, str]], int, int, int]:
    """A resume's reads in one call: the thread's frames after `after` (at most `limit`), its last position and
    the position its frames are pruned through, and the log's head."""
    close_old_connections()  # as a request does: a connection broken or too old is replaced
    qs = LiveFrame.objects.filter(thread_key=thread_key, position__gt=after).order_by("position")
    rows = list(qs.values_list("position", "stream_version", "frame")[:limit])
    head, pruned_through = _thread_position(thread_key)
    return rows, head, pruned_through, get_store().head()


async def resume_rows(thread_key: str, after: int, limit: int) -> tuple[list[tuple[int, int, str]], int, int, int]:
    """On a read thread of the process (threadlog.serving.pools), side by side with other readers' resumes.

    Through channels' database_sync_to_async every reader's queries queued on one thread, one hop per query:
    after a node died, its readers (a thousand, say) arriving at once at another node waited there for tens of
    seconds before their first frame (benchmarks/soak.py)."""
    return await asyncio.get_running_loop().run_in_executor(pools.READS, _resume_rows, thread_key, after, limit)


async def thread_position(thread_key: str) -> tuple[int, int]:
    return await asyncio.get_running_loop().run_in_executor(pools.READS, _fresh_thread_position, thread_key)


def _thread_position(thread_key: str) -> tuple[int, int]:
    """The thread's last position, and the position at and below which its frames have been pruned."""
    row = ThreadView.objects.filter(pk=thread_key).values_list("last_position", "frames_pruned_through").first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _fresh_thread_position(thread_key: str) -> tuple[int, int]:
    close_old_connections()
    return _thread_position(thread_key)


class RebuildReset:
    """A `reset` queued behind the frames already waiting: the thread's frames changed in an online rebuild
    (projections.reset). Its position is decided when it is sent: the thread's position after the switch, or the
    last position this reader was sent if that is later (frames after the switch are the rebuilt ones)."""

    __slots__ = ("position",)
    REASON = "the read model was rebuilt and this thread's frames changed; refetch the thread"

    def __init__(self, position: int):
        self.position = position


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


class ThreadConsumer(AsyncWebsocketConsumer):
    # No per-connection channel on the layer: the node's publisher pushes to us directly, which keeps an
    # idle connection small and fan-out to one publish per node.
    channel_layer_alias = "__threadlog_no_layer__"

    async def connect(self) -> None:
        self.handed: deque[int] = deque()  # end offset (bytes handed to the server) of each recent frame
        self.handed_bytes = 0
        self.thread_key = self.scope["url_route"]["kwargs"]["key"]
        self.limit = settings.THREADLOG["WS_QUEUE_FRAMES"]
        self.pending: deque[tuple[int | None, str | RebuildReset]] = deque()  # frames not yet handed to the server
        self.last_sent = 0
        # An idle reader holds no task: a sender task exists only while frames wait (see `deliver`).
        self.sender: asyncio.Task | None = None
        self.replaying = True  # frames wait until the backlog has been sent
        self.registered = False
        self.overflowed = False
        if not THREAD_KEY.match(self.thread_key):
            await self.accept()
            await self.send(text_data=_error("invalid_key", "thread keys are 1-200 of A-Z a-z 0-9 . _ ~ -"))
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        after_raw = (query.get("after") or [None])[0]
        await self.accept()
        after: int | None = None
        if after_raw not in (None, ""):
            try:
                after = int(after_raw)
                if after < 0:
                    raise ValueError
            except ValueError:
                await self.send(text_data=_error("invalid_after", "after must be a non-negative integer"))
                after = None
        publisher = get_publisher()
        await publisher.register(self)  # subscribe first …
        self.registered = True
        await notices.register(self)  # and to this browser's personal notices (a reply to them)
        if after is None:
            self.last_sent, _ = await thread_position(self.thread_key)
            await self.send(text_data=json.dumps({"type": "ready", "position": self.last_sent}))
            self._live()
        else:
            await self.replay(after)  # … then the backlog

    async def replay(self, after: int) -> None:
        """Send every frame of this thread after `after`, or a reset when that is too much to replay."""
        self.replaying = True
        if self.sender is not None:  # let a frame being sent finish first: frames never interleave
            await asyncio.wait([self.sender])
        try:
            limit = settings.THREADLOG["RESUME_MAX_EVENTS"]
            rows, head, pruned_through, log_head = await resume_rows(self.thread_key, after, limit + 1)
            reason = (f"more than {limit} events to replay" if len(rows) > limit
                      else f"frames up to position {pruned_through} are no longer kept" if after < pruned_through
                      else f"position {after} is ahead of the log ({log_head}): its history changed"
                      if after > log_head else "")
            if reason:
                self.last_sent = head
                await self.send(text_data=json.dumps(
                    {"type": "reset", "position": head, "reason": f"{reason}; refetch the thread"}))
                return
            self.last_sent = after
            for position, _version, text in rows:
                await self.send(text_data=text)
                self.last_sent = position
            await self.send(text_data=json.dumps({"type": "ready", "position": self.last_sent}))
        finally:
            self._live()

    def _live(self) -> None:
        self.replaying = False
        if self.pending and self.sender is None:
            self.sender = asyncio.get_running_loop().create_task(self._send_pending())

    async def _send_pending(self) -> None:
        """Hand waiting frames to the server in order, skipping any at or below the last position sent."""
        try:
            while self.pending and not self.replaying:
                position, text = self.pending.popleft()
                if isinstance(text, RebuildReset):
                    self.last_sent = max(self.last_sent, text.position)
                    await self.send(text_data=json.dumps(
                        {"type": "reset", "position": self.last_sent, "reason": RebuildReset.REASON}))
                elif position is None or position > self.last_sent:
                    await self.send(text_data=text)
                    if position is not None:
                        self.last_sent = position
                if self.unsent_frames() + len(self.pending) >= self.limit:
                    self._overflow()
                    return
        finally:
            self.sender = None

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        if text_data is not None:  # every frame (backlog, live, replies) counts towards the socket's backlog
            size = len(text_data) if text_data.isascii() else len(text_data.encode("utf-8"))
            self.handed_bytes += size + WS_FRAME_OVERHEAD
            self.handed.append(self.handed_bytes)

    def unsent_frames(self) -> int:
        """How many frames handed to the server still sit, wholly or partly, in the socket's write buffer."""
        written = self.handed_bytes - unsent_bytes(self.base_send)
        while self.handed and self.handed[0] <= written:
            self.handed.popleft()
        return len(self.handed)

    def deliver(self, position: int | None, stream_version: int | None, text: str | RebuildReset) -> None:
        """Called by the node's publisher, once per frame of this thread: queue it, never wait for the socket."""
        if self.overflowed:
            return
        self.pending.append((position, text))
        if len(self.pending) > self.limit:
            self._overflow()
        elif self.sender is None and not self.replaying:
            self.sender = asyncio.get_running_loop().create_task(self._send_pending())

    def deliver_presence(self, text: str) -> None:
        self.deliver(None, None, text)

    def deliver_reset(self, position: int) -> None:
        """Called by the node's publisher when an online rebuild changed this thread's frames."""
        self.deliver(None, None, RebuildReset(position))

    def _overflow(self) -> None:
        if not self.overflowed:  # close once, however many frames arrive before the close runs
            self.overflowed = True
            self.pending.clear()
            self.closer = asyncio.get_running_loop().create_task(self._close_slow())  # keep a reference

    async def _close_slow(self) -> None:
        metrics.slow_reader_closed()
        await self.cleanup()
        await self.close(code=CLOSE_SLOW_READER)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode("utf-8")) > settings.THREADLOG["WS_MAX_FRAME_BYTES"]:
            await self.send(text_data=_error("frame_too_large", "frames are limited to 4096 bytes"))
            return
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested thousands deep
            await self.send(text_data=_error("bad_json", "frames must be JSON objects"))
            return
        if not isinstance(message, dict):
            await self.send(text_data=_error("bad_json", "frames must be JSON objects"))
            return
        kind = message.get("type")
        if kind == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "position": self.last_sent}))
        elif kind == "resume":
            after = message.get("after")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self.send(text_data=_error("invalid_after", "resume needs a non-negative integer after"))
                return
            await self.replay(after)
        else:
            await self.send(text_data=_error(
                "unknown_type", "readers may send {type: resume, after: P} or {type: ping}; writes go over HTTP"))

    async def cleanup(self) -> None:
        if self.registered:
            self.registered = False
            notices.unregister(self)
            await get_publisher().unregister(self)
        sender = getattr(self, "sender", None)
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()

    async def disconnect(self, code: int) -> None:
        await self.cleanup()
