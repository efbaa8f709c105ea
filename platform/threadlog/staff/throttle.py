"""Failed sign-ins, counted per account and per IP in a sliding window: past the limit, 429 with Retry-After.

Only failures count, so a moderator who types their password right is never slowed down; a guesser is
stopped on one account (LOGIN_FAILURES_PER_ACCOUNT) and across accounts from one address
(LOGIN_FAILURES_PER_IP). In process memory, like threadlog.api.ratelimit: a limit per node.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from django.conf import settings

from threadlog.api.ratelimit import RateLimited


Throttled = RateLimited  # the same answer as the API's other limits: 429 with Retry-After


class FailureWindow:
    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, seconds: float, now: float) -> deque[float]:
        hits = self._failures.setdefault(key, deque())
        while hits and hits[0] <= now - seconds:
            hits.popleft()
        return hits

    def check(self, keys: dict[str, int], seconds: float) -> None:
        """Raise Throttled when any key (-> its limit) has had `limit` failures within `seconds`."""
        now = time.monotonic()
        with self._lock:
            for key, limit in keys.items():
                hits = self._recent(key, seconds, now)
                if len(hits) >= limit:
                    raise Throttled(hits[0] + seconds - now)

    def fail(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > 100_000:
                self._failures.clear()

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


_window = FailureWindow()


def _keys(username: str, ip: str) -> dict[str, int]:
    conf = settings.THREADLOG
    return {f"account:{username.lower()}": conf["LOGIN_FAILURES_PER_ACCOUNT"], f"ip:{ip}": conf["LOGIN_FAILURES_PER_IP"]}


def check(username: str, ip: str) -> None:
    _window.check(_keys(username, ip), settings.THREADLOG["LOGIN_THROTTLE_SECONDS"])


def failed(username: str, ip: str) -> None:
    _window.fail(list(_keys(username, ip)))


def succeeded(username: str) -> None:
    _window.clear(f"account:{username.lower()}")
