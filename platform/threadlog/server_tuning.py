"""Two adjustments to a `threadlog serve` process that daphne has no option for (asgi.py applies them there).

Both take work off the thread that answers requests: one process runs Python on one core at a time, and on the
write path every tenth of a millisecond counts (docs/benchmarks.md).
"""
from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sqlite3
import threading

log = logging.getLogger(__name__)

SERVER_ENV = "THREADLOG_SERVER"  # set by `threadlog serve` for its daphne processes
CHECKPOINT_INTERVAL_SECONDS = 0.5


def skip_form_parsing() -> None:
    """Twisted parses the Content-Type of every POST (with the email package) to fill `request.args` with form
    fields, which daphne never reads: the ASGI application gets the raw body. About a tenth of a millisecond per
    POST; Twisted's own switch for it (parsePOSTFormSubmission) is not passed on by daphne, so set it here."""
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest.__init__, "_threadlog_no_form_parsing", False):
        return
    original = WebRequest.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    __init__._threadlog_no_form_parsing = True
    WebRequest.__init__ = __init__


def freeze_heap() -> None:
    """Keep the objects alive now (modules, Django's apps and URLs, compiled schemas) out of the collector.

    A full collection walks every object that may hold references: in a server process some 115,000 of them,
    nearly all built at start-up and alive for good. Under load one ran every second or two and held the
    interpreter lock for 50-150 ms each time (the event loop's worst stalls, issue 16) and cost a server process
    a fair share of its CPU; the notifier and history processes likewise. gc.freeze() moves what exists now to a
    generation the collector never walks; garbage made later is collected as before. The collection first frees
    what start-up left behind, so little is frozen needlessly. Call it once a process has loaded what it uses."""
    gc.collect()
    gc.freeze()


def freeze_startup_heap() -> None:
    """A server process's `freeze_heap`, after loading now what its first requests would load: the URLconf (the
    API's views and schemas) and markdown-it (loaded where a Markdown body is first rendered). Else those ~30,000
    objects stay in the collector's oldest generation, and a full collection still takes 10-30 ms."""
    from django.urls import get_resolver

    get_resolver().url_patterns
    import projections.markdown  # noqa: F401

    freeze_heap()


def skip_twisted_access_log() -> None:
    """Twisted's HTTPFactory formats a combined-log line for every request and writes it to its own log file,
    which daphne never sets: the line goes to Twisted's global log, which daphne points at nothing (verbosity
    0 and 1, all `threadlog serve` uses; daphne's access log, `--access-log`, is its own and unaffected). About a
    twentieth of the event loop's work per request; `HTTPFactory.log` is the public hook for that line."""
    from daphne.http_protocol import HTTPFactory

    def log(self, request) -> None:
        """No line: nobody reads it."""

    HTTPFactory.log = log


def die_with_parent(parent_pid: int | None = None) -> None:
    """In a child process: end (SIGTERM) when the parent ends, however it ends (PR_SET_PDEATHSIG, Linux); if the
    parent `parent_pid` is already gone, end now. Elsewhere nothing happens: the parent stops its children on a
    normal exit."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


class WalCheckpointer:
    """Copies the SQLite write-ahead log back into the database file from a thread of its own.

    SQLite otherwise does it inside whichever commit finds the log past 1,000 pages: every sixty-odd posts, one
    of them copied some 4 MB and waited for an fsync, 8-15 % of the average post's time. The server's connections
    raise that threshold to 10,000 pages (settings.py) as a safety net, and this thread runs a PASSIVE checkpoint
    (never blocking a reader or a writer) twice a second; sqlite3 releases the interpreter lock meanwhile, so it
    runs on another core. With several workers each has one; a checkpoint that finds another running just ends.
    """

    def __init__(self, path: str, interval: float = CHECKPOINT_INTERVAL_SECONDS):
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def start(self) -> "WalCheckpointer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failures = 0
        try:
            while not self._stop.wait(self.interval):
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, timeout=1, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    failures = 0
                except sqlite3.Error:  # busy or locked now: the next round, or a commit past the threshold, does it
                    failures += 1
                    log.log(logging.WARNING if failures % 120 == 1 else logging.DEBUG,
                            "WAL checkpoint failed (%d in a row); retrying", failures, exc_info=True)
                    if conn is not None and failures % 10 == 0:  # start afresh now and then
                        conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()
