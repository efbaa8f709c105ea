"""Prometheus metrics (prometheus-client), safe with `threadlog serve --workers N`.

With several workers, `threadlog serve` gives them one PROMETHEUS_MULTIPROC_DIR (`multiprocess_env`): each
process writes its samples to files there and `/metrics`, answered by any worker, sums them (gauges of live
readers: `livesum`). With one process the default registry is used. Every metric name starts with `threadlog_`;
docs/operations.md lists them. Projector lag is measured when scraped (views.metrics), not kept here.

The hooks are one-line calls from the code they measure: `appended` (commands.handlers), `request`
(ops.middleware), `committed` / `pushed` / `reader_joined` / `reader_left` / `slow_reader_closed` /
`doorbell_failed` (live).
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from typing import Iterable

from prometheus_client import Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NODE = os.environ.get("NODE_NAME") or socket.gethostname()

_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

EVENTS_APPENDED = Counter("threadlog_events_appended_total", "Events appended to the log, by type", ["type"])
APPEND_SECONDS = Histogram("threadlog_append_seconds", "Time to append one command's events (under the lock)",
                           buckets=_LATENCY)
REQUEST_SECONDS = Histogram("threadlog_http_request_seconds", "HTTP request time inside Django, by method",
                            ["method"], buckets=_LATENCY)
RESPONSES = Counter("threadlog_http_responses_total", "HTTP responses, by status code", ["status"])
LIVE_READERS = Gauge("threadlog_live_readers", "WebSocket readers connected, per node", ["node"],
                     multiprocess_mode="livesum")
FRAMES_PUSHED = Counter("threadlog_frames_pushed_total", "Event frames handed to live readers, per node", ["node"])
PUSH_SECONDS = Histogram("threadlog_push_latency_seconds", "From an append's commit to its frame's hand-over to "
                         "this node's readers", buckets=_LATENCY)
SLOW_READERS = Counter("threadlog_slow_readers_closed_total", "Readers closed for falling behind (code 4008)")
DOORBELL_FAILURES = Counter("threadlog_redis_doorbell_failures_total", "Redis doorbell publishes or receives "
                            "that failed")
DEPENDENCY_FAILURES = Counter("threadlog_dependency_failures_total", "Calls to an outside service that failed",
                              ["dependency"])
RATE_LIMITED = Counter("threadlog_rate_limited_total", "Requests refused by a rate limit or sign-in throttle",
                       ["kind"])
CSP_VIOLATIONS = Counter("threadlog_csp_violations_total", "Content-Security-Policy violation reports received")


def multiprocess_env(workers: int) -> str | None:
    """Before the workers start (`threadlog serve`): a fresh PROMETHEUS_MULTIPROC_DIR for them, unless one is
    set. The parent never imports this module's metrics into the workers' dir, so it stays clean."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        return os.environ.get(MULTIPROC_ENV)
    path = tempfile.mkdtemp(prefix="threadlog-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def remove_multiprocess_dir(path: str | None) -> None:
    if path and os.path.basename(path).startswith("threadlog-metrics-"):
        shutil.rmtree(path, ignore_errors=True)


# --- hooks -------------------------------------------------------------------------------------------------

def appended(recorded: Iterable, started: float, *, using: str = "default") -> None:
    """After store.append inside a command: count the events by type and time the append once it commits
    (a rolled-back command appended nothing)."""
    from django.db import transaction

    elapsed = time.perf_counter() - started
    types = [e.type for e in recorded]

    def count() -> None:
        APPEND_SECONDS.observe(elapsed)
        for t in types:
            EVENTS_APPENDED.labels(t).inc()

    transaction.on_commit(count, using=using)


_by_method: dict[str, Histogram] = {}
_by_status: dict[int, Counter] = {}


def request(method: str, status: int, seconds: float) -> None:
    """Once per request: the labelled children are kept, as `labels()` takes a lock and builds a key each time."""
    timer = _by_method.get(method) or _by_method.setdefault(method, REQUEST_SECONDS.labels(method))
    counter = _by_status.get(status) or _by_status.setdefault(status, RESPONSES.labels(str(status)))
    timer.observe(seconds)
    counter.inc()


class _Commits:
    """When each recent commit happened (wall clock: other nodes' commits arrive by the Redis doorbell), so the
    publisher can tell how long after its commit a frame reached the readers."""

    def __init__(self, keep: int = 10_000):
        self._times: deque[tuple[int, float]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, position: int, at: float) -> None:
        with self._lock:
            if not self._times or position > self._times[-1][0]:
                self._times.append((position, at))

    def take(self, position: int) -> float | None:
        """The commit time of the commit that included `position` (the first one ending at or after it)."""
        with self._lock:
            while self._times and self._times[0][0] < position:
                self._times.popleft()
            if not self._times:
                return None
            last, at = self._times[0]
            if last == position:
                self._times.popleft()
            return at


_commits = _Commits()


def committed(position: int, at: float | None = None) -> float:
    """A commit ending at `position` (here, or on another node at `at`); returns its time for the doorbell."""
    at = time.time() if at is None else at
    _commits.add(position, at)
    return at


def pushed(position: int, readers: int) -> None:
    """The frame at `position` was handed to `readers` local readers."""
    if readers:
        FRAMES_PUSHED.labels(NODE).inc(readers)
    at = _commits.take(position)
    if at is not None and readers:
        PUSH_SECONDS.observe(max(0.0, time.time() - at))


def reader_joined() -> None:
    LIVE_READERS.labels(NODE).inc()


def reader_left() -> None:
    LIVE_READERS.labels(NODE).dec()


def slow_reader_closed() -> None:
    SLOW_READERS.inc()


def doorbell_failed() -> None:
    DOORBELL_FAILURES.inc()


def dependency_failed(name: str) -> None:
    DEPENDENCY_FAILURES.labels(name).inc()


def rate_limited(kind: str) -> None:
    RATE_LIMITED.labels(kind).inc()


def csp_violation() -> None:
    CSP_VIOLATIONS.inc()
