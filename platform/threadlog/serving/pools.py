"""The threads a server process runs Django on: a few for reads, one for writes.

Django's database connections belong to a thread, so each thread here keeps one connection for its life
(CONN_MAX_AGE) instead of opening one per request. Reads run side by side: on PostgreSQL each waits for the
network on its own connection, on SQLite (WAL) readers never wait for the writer. Writes queue on the append
lock anyway (one writer at a time over the whole log): on SQLite one write thread per process queues them in
arrival order without taking the interpreter lock from each other at every statement; on PostgreSQL a few
(WRITE_THREADS), so that while one holds the lock the others parse, decide their way to it, or wait for their
commit to reach the disk (events/early_release.py).

The read pool has more threads than READ_THREADS: a request waiting for an expensive read
(`threadlog.serving.expensive`, at most EXPENSIVE_QUEUE per kind) holds its thread while it waits, so the pool
counts those waiters on top, and READ_THREADS threads stay for quick reads however many expensive ones wait.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from . import expensive

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

READS = ThreadPoolExecutor(
    max_workers=settings.THREADLOG["READ_THREADS"] + expensive.waiting_slots(),
    thread_name_prefix="threadlog-read",
)
WRITES = ThreadPoolExecutor(max_workers=settings.THREADLOG["WRITE_THREADS"], thread_name_prefix="threadlog-write")


def for_method(method: str) -> ThreadPoolExecutor:
    """The pool a request of this HTTP method runs on."""
    return WRITES if method in WRITE_METHODS else READS
