"""Expensive reads: admitted a few at a time per kind, and computed in a process of their own.

Time travel (`?at=`) replays up to SNAPSHOT_EVERY events onto a thread's snapshot, and the audit pages walk the
log: hundreds of milliseconds of pure Python. On a request thread that would hold the interpreter lock the
whole time, and every quick read of the process would wait for it (a first page went from 6 ms to over a
second beside two time travellers: issue 16). So:

- `offload(kind, fn, ...)` runs `fn` in a history process (HISTORY_PROCESSES of them per server process, started
  by `start` under `threadlog serve`): the request thread only waits, without the interpreter lock. Without
  started processes (tests, the command line) `fn` runs on the calling thread.
- Each kind admits EXPENSIVE_QUEUE requests at once, running or waiting; one more gets `Busy`, which the views
  answer with `503`, `Retry-After` and the usual JSON error body. A burst of expensive requests therefore costs
  one bounded queue, not every thread of the process, and quick reads keep their threads (`pools`).
- The history processes also keep every long thread's snapshots up to date (`worker`), so the first time
  travel on a thread is as fast as the next, and no request builds them.

`fn` and its arguments cross to the other process by pickle: a module-level function and plain values.
"""
from __future__ import annotations

import logging
import math
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, TypeVar

from django.conf import settings
from django.http import JsonResponse

from . import worker

log = logging.getLogger(__name__)

T = TypeVar("T")
KINDS = ("time_travel", "audit")


class Busy(Exception):
    """More requests of one expensive kind than EXPENSIVE_QUEUE are running or waiting: answered with 503."""

    def __init__(self, kind: str, retry_after: int):
        super().__init__(f"too many {kind.replace('_', ' ')} requests at once; retry in {retry_after} s")
        self.kind, self.retry_after = kind, retry_after


class _Kind:
    """The admission gate of one kind, and how long its requests took lately (for Retry-After)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.gate = threading.BoundedSemaphore(limit)
        self.seconds = 0.5  # a moving average; the first guess matters only until the first request ends

    def done(self, seconds: float) -> None:
        self.seconds += (seconds - self.seconds) * 0.2

    def retry_after(self, processes: int) -> int:
        return max(1, min(60, math.ceil(self.seconds * self.limit / max(1, processes))))


_kinds = {kind: _Kind(settings.THREADLOG["EXPENSIVE_QUEUE"]) for kind in KINDS}
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def waiting_slots() -> int:
    """How many request threads expensive requests may hold at once, all kinds together."""
    return sum(k.limit for k in _kinds.values())


def start(processes: int | None = None) -> bool:
    """Start the history processes (once per server process; `threadlog.asgi` does it under `threadlog serve`).
    They are spawned, not forked: the server process has threads and open connections by then."""
    global _pool
    processes = settings.THREADLOG["HISTORY_PROCESSES"] if processes is None else processes
    if processes <= 0:
        return False
    with _pool_lock:
        if _pool is None:
            _pool = _new_pool(processes)
    return True


def _new_pool(processes: int) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=worker.init)
    for _ in range(processes):
        pool.submit(worker.ready)  # start them now: a process takes about a second to set Django up
    return pool


def _processes() -> int:
    return settings.THREADLOG["HISTORY_PROCESSES"] if _pool is not None else 0


def _run(fn: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
    global _pool
    pool = _pool
    if pool is None:
        return fn(*args, **kwargs)
    try:
        return pool.submit(worker.call, fn, args, kwargs).result()
    except BrokenProcessPool:  # a history process died (killed, out of memory): start new ones, try once more
        with _pool_lock:
            if _pool is pool:
                log.warning("a history process died; starting new ones")
                pool.shutdown(wait=False)
                _pool = _new_pool(settings.THREADLOG["HISTORY_PROCESSES"])
            pool = _pool
        return pool.submit(worker.call, fn, args, kwargs).result()


def offload(kind: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a history process, if this request is admitted; else `Busy`."""
    k = _kinds[kind]
    if not k.gate.acquire(blocking=False):
        raise Busy(kind, k.retry_after(_processes()))
    started = time.monotonic()
    try:
        return _run(fn, args, kwargs)
    finally:
        k.done(time.monotonic() - started)
        k.gate.release()


def busy_response(exc: Busy) -> JsonResponse:
    """`503` with `Retry-After` and the API's error body: `{"error": {"code": "busy", "message", "retry_after"}}`."""
    from threadlog.api.cors import error_response

    response = error_response(503, "busy", str(exc), retry_after=exc.retry_after)
    response["Retry-After"] = str(exc.retry_after)
    return response
