"""Running the notifier and the sender: in a thread of `threadlog serve` (NOTIFIER=embedded, the default) or as
`threadlog notify [--follow]`, a process of its own (then set NOTIFIER=off on the web nodes).

Each round: decide on new events (notifier.run_once), then send what is due (Sender.send_due), until both have
nothing to do; then sleep until a commit in this process wakes it or NOTIFY_POLL_SECONDS pass (events appended by
another process are found by that poll). Several runners at once are safe: the checkpoint moves only from where
a runner read it, and the sender claims rows before sending them.
"""
from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connections

from events.store import get_store

from . import notices, notifier
from .sender import Sender

log = logging.getLogger(__name__)
_wake = threading.Event()
_started: list["Runner"] = []


def wake(position: int = 0) -> None:
    """After a commit that appended (threadlog.commands' on_appended): look now, not at the next poll."""
    _wake.set()


def run_round(store=None, sender: Sender | None = None) -> tuple[int, int]:
    """One pass: (events decided on, messages sent)."""
    store = store or get_store()
    try:
        decided = notifier.run_once(store)
    except notifier.NotifierRaced:
        decided = 0  # another process's notifier took that batch
    if decided:
        notices.wake_all()  # personal notices this round may have written
    sent = 0
    sender = sender or Sender(store)
    while (n := sender.send_due()) > 0:
        sent += n
    return decided, sent


class Runner:
    def __init__(self, poll: float | None = None):
        self.poll = settings.NOTIFY["POLL_SECONDS"] if poll is None else poll
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> "Runner":
        self.thread = threading.Thread(target=self.follow, name="threadlog-notifier", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        _wake.set()
        if self.thread is not None:
            self.thread.join(10)

    def follow(self) -> None:
        store = get_store()
        sender = Sender(store)
        failures = 0
        while not self._stop.is_set():
            _wake.clear()
            try:
                run_round(store, sender)
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
        connections.close_all()


def start_embedded() -> Runner | None:
    """Called by asgi.py under `threadlog serve`: start this process's notifier thread unless NOTIFIER=off."""
    if settings.NOTIFY["MODE"] == "off" or _started:
        return None
    runner = Runner().start()
    _started.append(runner)
    return runner
