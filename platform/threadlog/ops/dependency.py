"""A dependency that may go away (Redis): one warning when it does, one when it is back, never one per request.

A request that meets a dead Redis carries on without it (the doorbell is best-effort, the rate limits fall back to
this process's memory). Logging a traceback at each such request would bury the one line an operator needs under
thousands, so callers report `failed(error)` and `ok()` and only the changes of state are logged.
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("threadlog.dependency")


class Dependency:
    """The up/down state of one outside service, per process."""

    def __init__(self, name: str, retry_seconds: float = 2.0):
        self.name = name
        self.retry_seconds = retry_seconds  # while down, callers that can skip it do so for this long
        self.down_since: float | None = None
        self._last_failure = 0.0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def skip(self) -> bool:
        """True while the dependency failed less than `retry_seconds` ago: a caller with a fallback uses it
        instead of waiting for another connect timeout."""
        return self.down_since is not None and time.monotonic() - self._last_failure < self.retry_seconds

    def failed(self, error: BaseException | str, during: str = "") -> None:
        from . import metrics

        with self._lock:
            self._last_failure = time.monotonic()
            first = self.down_since is None
            if first:
                self.down_since = time.time()
        metrics.dependency_failed(self.name)
        if first:
            what = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
            log.warning("%s unavailable%s (%s); carrying on without it until it is back", self.name,
                        f" during {during}" if during else "", what,
                        extra={"dependency": self.name, "state": "down"})

    def ok(self) -> None:
        if self.down_since is None:  # the common case: one attribute read
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            log.warning("%s is back after %.1f s", self.name, time.time() - since,
                        extra={"dependency": self.name, "state": "up"})


REDIS = Dependency("redis")


class RedisOutageFilter:
    """On channels_redis's loggers: its pub/sub receiver logs a traceback every second while Redis is away
    ("Unexpected exception in receive task"). Such a record becomes one REDIS.failed() (one warning per outage)
    and is dropped; anything else passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, (OSError, ConnectionError)) or type(error).__module__.startswith("redis"):
            REDIS.failed(error, during="pub/sub receive")
            return False
        return True
