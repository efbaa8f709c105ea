"""Per-key pacing on the event loop: an action runs at most once per interval for a key, and the requests that
arrive while one is due are folded into it.

Presence uses it twice (live.publisher): announcing a thread's reader count to the other nodes, and pushing the
count to this node's readers. Without it, N readers arriving together would cost N² frames."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

FORGET_AFTER = 10_000  # keys remembered (their last run); past that the memory starts again (a window is lost)


class Pacer:
    """`request(key, interval)`: run `action(key)` now if it has not run for `interval` seconds, else once at the end
    of that window; a request while a run is due adds nothing. A failing action is reported to `failed` (the next
    request runs again). `cancel()` stops what is due (the loop ends)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, action: Callable[[str], Awaitable[None]],
                 failed: Callable[[Exception], None]):
        self._loop, self._action, self._failed = loop, action, failed
        self._due: set[str] = set()
        self._last: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()

    def request(self, key: str, interval: float) -> None:
        if key in self._due:
            return
        self._due.add(key)
        wait = max(0.0, self._last.get(key, -interval) + interval - self._loop.time())
        self._tasks.add(task := self._loop.create_task(self._run(key, wait)))
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: str, wait: float) -> None:
        if wait:
            await asyncio.sleep(wait)
        self._due.discard(key)
        self._last[key] = self._loop.time()
        if len(self._last) > FORGET_AFTER:
            self._last.clear()
        try:
            await self._action(key)
        except Exception as error:  # best-effort: the next request runs again
            self._failed(error)

    def tasks(self) -> list[asyncio.Task]:
        return list(self._tasks)
