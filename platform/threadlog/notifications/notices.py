"""Personal live frames: `{type: "notice", kind: "reply", comment_id, thread}` on every open page of the person
who was replied to, whichever thread that page shows.

The notifier writes each notice to notify_notice (in its decision's transaction); one NoticeHub per event loop
tails that table by id, like the publisher tails frames, and hands each notice to the sockets of its person. A
socket's persons are read from its cookies once, at connect: the guest's signed author cookie and, when signed in
by e-mail, the reader in the session. The hub polls only while sockets are registered; a notifier in this process
wakes it after each round (`wake_all`).
"""
from __future__ import annotations

import asyncio
import logging
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, parse_cookie

from threadlog.api.identity import AUTHOR_COOKIE

from .models import Notice
from .readers import SESSION_READER

log = logging.getLogger(__name__)
_hubs: dict[asyncio.AbstractEventLoop, "NoticeHub"] = {}


def _cookies(scope) -> dict[str, str]:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


async def persons_of(scope) -> frozenset[str]:
    """On a read thread of the process; nothing to look up (no hop at all) for a socket without the cookies."""
    cookies = _cookies(scope)
    if AUTHOR_COOKIE not in cookies and settings.SESSION_COOKIE_NAME not in cookies:
        return frozenset()
    from threadlog.serving import pools

    return await asyncio.get_running_loop().run_in_executor(pools.READS, _persons_of, scope)


def _persons_of(scope) -> frozenset[str]:
    """Who the socket's browser is: its guest (signed author cookie) and its signed-in reader, if any."""
    close_old_connections()  # as a request does
    cookies = _cookies(scope)
    found = set()
    probe = HttpRequest()  # Django's own check of a signed cookie, on this cookie alone
    probe.COOKIES = cookies
    guest = probe.get_signed_cookie(AUTHOR_COOKIE, default="", salt=f"threadlog.{AUTHOR_COOKIE}")
    if guest:
        found.add(f"guest:{guest}")
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    if session_key:
        reader = import_module(settings.SESSION_ENGINE).SessionStore(session_key).get(SESSION_READER)
        if reader:
            found.add(reader)
    return frozenset(found)


@database_sync_to_async
def _after(position: int | None) -> tuple[int, list[tuple[int, str, str]]]:
    if position is None:
        return int(Notice.objects.order_by("-id").values_list("id", flat=True).first() or 0), []
    rows = list(Notice.objects.filter(id__gt=position).order_by("id").values_list("id", "person", "frame")[:500])
    return (rows[-1][0] if rows else position), rows


class NoticeHub:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.readers: dict[str, set] = {}
        self.persons: dict[object, frozenset[str]] = {}
        self.position: int | None = None
        self.task: asyncio.Task | None = None
        self.wake = asyncio.Event()

    async def register(self, consumer) -> None:
        persons = await persons_of(consumer.scope)
        if not persons:
            return
        if self.position is None:
            self.position, _ = await _after(None)
        self.persons[consumer] = persons
        for person in persons:
            self.readers.setdefault(person, set()).add(consumer)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())

    def unregister(self, consumer) -> None:
        for person in self.persons.pop(consumer, ()):
            group = self.readers.get(person)
            if group is not None:
                group.discard(consumer)
                if not group:
                    del self.readers[person]

    async def _run(self) -> None:
        poll = settings.THREADLOG["PUBLISHER_POLL_SECONDS"]
        while self.persons:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=poll)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            try:
                self.position, rows = await _after(self.position)
            except Exception:  # noqa: BLE001 (the next round reads again from the same position)
                log.exception("reading notices failed")
                continue
            for _id, person, frame in rows:
                for consumer in tuple(self.readers.get(person, ())):
                    consumer.deliver(None, None, frame)
        self.task = None


def hub() -> NoticeHub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for old in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[old]
        found = _hubs[loop] = NoticeHub(loop)
    return found


async def register(consumer) -> None:
    """ThreadConsumer.connect: this socket also gets its browser's personal notices."""
    try:
        await hub().register(consumer)
    except Exception:  # noqa: BLE001 (notices are a nicety: the thread's own frames must go on)
        log.exception("could not register a socket for notices")


def unregister(consumer) -> None:
    found = _hubs.get(asyncio.get_running_loop())
    if found is not None:
        found.unregister(consumer)


def wake_all() -> None:
    """From any thread (the embedded notifier, after a round that may have written notices)."""
    for loop, found in list(_hubs.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(found.wake.set)
