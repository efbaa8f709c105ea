"""Per-client and per-IP rate limits (sliding window, in process memory: a limit per node)."""
from __future__ import annotations

import threading
import time
from collections import deque

from django.conf import settings


class RateLimited(Exception):
    def __init__(self, retry_after: float):
        super().__init__("too many requests")
        self.retry_after = max(1, int(retry_after + 0.999))


class SlidingWindow:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - seconds:
                hits.popleft()
            if len(hits) >= limit:
                raise RateLimited((hits[0] if hits else now) + seconds - now)  # a limit of 0: no hits yet
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - seconds][:50_000]:
                    del self._hits[k]


_window = SlidingWindow()


def check(kind: str, client: str, ip: str) -> None:
    """Raise RateLimited when `client` (or its IP, with a much higher limit) acts too often."""
    conf = settings.THREADLOG
    if not conf["RATE_LIMITS"]:
        return
    limit, seconds = conf["RATE_POST"] if kind == "post" else conf["RATE_REPORT"] if kind == "report" else conf["RATE_VOTE"]
    _window.hit(f"{kind}:c:{client}", limit, seconds)
    _window.hit(f"{kind}:ip:{ip}", limit * conf["RATE_IP_FACTOR"], seconds)
