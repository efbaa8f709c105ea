"""What runs in a history process (`threadlog.serving.expensive`): the expensive reads it is handed, and a thread
that keeps every long thread's snapshots and history index (projections.history_index, for the audit pages) up
to date, so that no request has to build them."""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

SNAPSHOT_POLL_SECONDS = 1.0


NICENESS = 10


def init() -> None:
    """A new history process: Django, then the snapshot keeper. Ctrl-C stops the server, which stops us.

    It runs at a lower CPU priority than the server (NICENESS): on a machine short of cores, the quick requests
    of the server process come first and a time travel takes longer, rather than the other way round."""
    import django

    from threadlog.server_tuning import die_with_parent

    # Left behind by a server process that was killed or stopped by a signal, a history process kept polling the
    # database each second for good (found beside benchmark and test servers): it ends with its server now.
    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None else None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    django.setup(set_prefix=False)
    from threadlog.server_tuning import freeze_heap

    freeze_heap()  # full collections need not walk Django's start-up objects (threadlog.server_tuning)
    threading.Thread(target=_keep_snapshots, name="snapshot-keeper", daemon=True).start()


def ready() -> bool:
    return True


def call(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    """One expensive read, with a usable database connection (as Django checks around each request)."""
    from django.db import close_old_connections

    close_old_connections()
    return fn(*args, **kwargs)


def _keep_snapshots() -> None:
    from django.db import close_old_connections

    from events.store import get_store
    from projections import history_index
    from projections.snapshots import ensure_all

    failures = 0
    while True:
        try:
            close_old_connections()
            ensure_all(get_store())
            history_index.ensure_all(get_store())  # the audit pages' index of each long thread
            failures = 0
        except Exception:  # the database is away for a moment: the next round tries again
            failures += 1
            log.log(logging.WARNING if failures % 60 == 1 else logging.DEBUG,
                    "snapshot keeper failed (%d in a row); retrying", failures, exc_info=True)
        time.sleep(SNAPSHOT_POLL_SECONDS)
