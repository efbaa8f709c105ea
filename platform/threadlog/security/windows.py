"""Counting windows for rate limits and sign-in throttling: in this process's memory, or in Redis so that every
node counts against one limit (with REDIS_URL; N nodes must not allow N times the limit).

The Redis windows are fixed (one counter per key per window, INCR + EXPIRE in one round trip); the memory ones
slide. When Redis fails, each call falls back to this process's memory (the limit becomes per node again for
the outage) and the outage is logged once (threadlog.ops.dependency), not per request.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from functools import lru_cache
from typing import Protocol

from django.conf import settings

from threadlog.ops.dependency import REDIS


class RateLimited(Exception):
    def __init__(self, retry_after: float):
        super().__init__("too many requests")
        self.retry_after = max(1, int(retry_after + 0.999))


class Windows(Protocol):
    def hit(self, key: str, limit: int, seconds: float) -> None:
        """Count one event for `key`; RateLimited (nothing counted) when `limit` were already counted in the window."""

    def add(self, key: str, seconds: float) -> tuple[int, float]:
        """Count one event; (events in the window now, seconds until the window frees one)."""

    def clear(self, key: str, seconds: float) -> None:
        """Forget the events of `key` in its current window."""

    def lock(self, key: str, seconds: float) -> None: ...

    def locked(self, key: str) -> float:
        """Seconds left on the lock of `key` (0: not locked)."""


class MemoryWindows:
    """Sliding windows in this process (a limit per node, as without Redis)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._locks: dict[str, float] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, seconds: float, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - seconds:
            hits.popleft()
        return hits

    def hit(self, key: str, limit: int, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._prune(key, seconds, now)
            if len(hits) >= limit:
                raise RateLimited((hits[0] if hits else now) + seconds - now)  # a limit of 0: no hits yet
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - seconds][:50_000]:
                    del self._hits[k]

    def add(self, key: str, seconds: float) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            hits = self._prune(key, seconds, now)
            hits.append(now)
            return len(hits), hits[0] + seconds - now

    def clear(self, key: str, seconds: float) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def lock(self, key: str, seconds: float) -> None:
        with self._lock:
            self._locks[key] = time.monotonic() + seconds
            if len(self._locks) > 100_000:
                now = time.monotonic()
                self._locks = {k: v for k, v in self._locks.items() if v > now}

    def locked(self, key: str) -> float:
        until = self._locks.get(key)
        return max(0.0, until - time.monotonic()) if until else 0.0


class RedisWindows:
    """Fixed windows in Redis, shared by every node; `fallback` (this process's memory) while Redis is down."""

    PREFIX = "threadlog:rl:"

    def __init__(self, url: str, fallback: MemoryWindows):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.fallback = fallback

    def _window(self, key: str, seconds: float) -> tuple[str, float]:
        now = time.time()
        index = int(now // seconds)
        return f"{self.PREFIX}{key}:{index}", (index + 1) * seconds - now

    def _count(self, key: str, seconds: float) -> tuple[int, float]:
        name, left = self._window(key, seconds)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, int(seconds) + 1)
            count, _ = pipe.execute()
        return int(count), left

    def _call(self, what: str, fn, fallback):
        if REDIS.skip():
            return fallback()
        try:
            result = fn()
        except Exception as error:  # redis.RedisError, OSError: count here for the outage
            REDIS.failed(error, during=what)
            return fallback()
        REDIS.ok()
        return result

    def hit(self, key: str, limit: int, seconds: float) -> None:
        count, left = self._call("rate limiting", lambda: self._count(key, seconds),
                                 lambda: (None, 0.0))
        if count is None:
            self.fallback.hit(key, limit, seconds)
        elif count > limit:
            raise RateLimited(left)

    def add(self, key: str, seconds: float) -> tuple[int, float]:
        return self._call("sign-in throttling", lambda: self._count(key, seconds),
                          lambda: self.fallback.add(key, seconds))

    def clear(self, key: str, seconds: float) -> None:
        self._call("sign-in throttling", lambda: self.redis.delete(self._window(key, seconds)[0]),
                   lambda: self.fallback.clear(key, seconds))

    def lock(self, key: str, seconds: float) -> None:
        self._call("sign-in throttling", lambda: self.redis.set(f"{self.PREFIX}lock:{key}", 1, px=int(seconds * 1000)),
                   lambda: self.fallback.lock(key, seconds))

    def locked(self, key: str) -> float:
        ms = self._call("sign-in throttling", lambda: self.redis.pttl(f"{self.PREFIX}lock:{key}"),
                        lambda: self.fallback.locked(key) * 1000)
        return max(0.0, float(ms) / 1000)


_memory = MemoryWindows()


@lru_cache(maxsize=4)
def _redis_windows(url: str) -> RedisWindows:
    return RedisWindows(url, _memory)


def windows() -> Windows:
    """Redis windows when REDIS_URL is set, else this process's."""
    return _redis_windows(settings.REDIS_URL) if settings.REDIS_URL else _memory
