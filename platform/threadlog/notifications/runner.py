"""Running the notifier and the sender: `threadlog notify [--follow]`, which `threadlog serve` starts as its child
process (NOTIFIER=embedded, the default) or which runs as a service of its own (NOTIFIER=off on the web nodes).

Each round: decide on new events (notifier.run_once), then send what is due (Sender.send_due), until both have
nothing to do; then sleep until a commit in this process wakes it or NOTIFY_POLL_SECONDS pass (events appended by
another process, the web server's, are found by that poll). Several runners at once are safe: the checkpoint moves only from where
a runner read it, and the sender claims rows before sending them.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections

from events.store import get_store
from threadlog.server_tuning import SERVER_ENV, die_with_parent

from . import notices, notifier
from .sender import Sender

log = logging.getLogger(__name__)
_wake = threading.Event()


def wake(position: int = 0) -> None:
    """After a commit that appended (threadlog.commands' on_appended): look now, not at the next poll."""
    _wake.set()


class Senders:
    """NOTIFY_SMTP_CONNECTIONS senders, each on a thread (and SMTP connection, and database connection) of its
    own: a message spends most of its time waiting for the mail server's answers, so several in flight at once
    deliver a 10,000-subscriber comment several times faster. Each claims its own rows; none sends a row twice."""

    def __init__(self, store, count: int | None = None):
        count = count or settings.NOTIFY["SMTP_CONNECTIONS"]
        if settings.NOTIFY["DIGEST_SECONDS"]:
            count = 1  # one digest per recipient and period is decided by one sender at a time
        self.senders = [Sender(store) for _ in range(count)]
        self.pool = ThreadPoolExecutor(count, thread_name_prefix="threadlog-sender") if count > 1 else None

    def send_due(self) -> int:
        """Send until nothing is due; returns the messages sent."""
        sent = 0
        while True:
            if self.pool is None:
                n = self.senders[0].send_due()
            else:
                n = sum(self.pool.map(_send_and_close, self.senders))
            sent += n
            if not n:
                return sent

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _send_and_close(sender: Sender) -> int:
    try:
        return sender.send_due()
    finally:
        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()


def run_round(store=None, senders: Senders | None = None) -> tuple[int, int]:
    """One pass: (events decided on, messages sent)."""
    store = store or get_store()
    try:
        decided = notifier.run_once(store)
    except notifier.NotifierRaced:
        decided = 0  # another process's notifier took that batch
    if decided:
        notices.wake_all()  # personal notices this round may have written
    own = senders is None
    senders = senders or Senders(store)
    try:
        return decided, senders.send_due()
    finally:
        if own:
            senders.close()


class Runner:
    def __init__(self, poll: float | None = None):
        self.poll = settings.NOTIFY["POLL_SECONDS"] if poll is None else poll
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> "Runner":
        self.thread = threading.Thread(target=self.follow, name="threadlog-notifier", daemon=True)
        self.thread.start()
        return self

    def request_stop(self) -> None:
        """End `follow` after its current round (from a signal handler or another thread)."""
        self._stop.set()
        _wake.set()

    def stop(self) -> None:
        self.request_stop()
        if self.thread is not None:
            self.thread.join(10)

    def follow(self) -> None:
        store = get_store()
        senders = Senders(store)
        failures = 0
        while not self._stop.is_set():
            _wake.clear()
            try:
                run_round(store, senders)
                failures = 0
            except Exception:  # noqa: BLE001 (a database hiccup must not end the notifier)
                failures += 1
                log.log(logging.ERROR if failures % 30 == 1 else logging.DEBUG,
                        "notifier round failed (%d in a row); retrying", failures, exc_info=True)
                for conn in connections.all(initialized_only=True):
                    conn.close_if_unusable_or_obsolete()
                time.sleep(min(5.0, 0.2 * failures))
                continue
            # the sender's earliest retry may be due before the next poll; the poll bounds the wait anyway
            _wake.wait(self.poll)
        senders.close()
        connections.close_all()


def spawn_for_server() -> subprocess.Popen | None:
    """Called by `threadlog serve`: start the notifier and the sender as its child process, unless NOTIFIER=off.

    A process, not a thread of the web server: delivering builds and sends messages in Python, and a thread doing
    that took the interpreter lock from the requests (posts made while 1,000 messages went out were three times
    slower in benchmarks/notify.py; with a process of their own, unchanged). The child ends with its parent
    (PR_SET_PDEATHSIG), however the parent ends."""
    if settings.NOTIFY["MODE"] == "off":
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [*sys.path, os.environ.get("PYTHONPATH")]))}
    env.pop(SERVER_ENV, None)
    return subprocess.Popen([sys.executable, "-m", "threadlog.cli", "notify", "--follow"], env=env,
                            preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    die_with_parent()
