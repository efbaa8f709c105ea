"""Import one file: detect its format, stream it, plan each thread and append it, all in one transaction.

All or nothing per file: every append happens inside a single write transaction, so a file that turns out to be
malformed or truncated halfway (or a dry run) rolls back and leaves nothing behind. The append lock is held for
the whole import (writers wait, as they do during a rebuild): about 20 s for 100,000 comments
(benchmarks/import.py).
"""
from __future__ import annotations

import contextlib
import io
import os
from typing import IO, Iterator
from urllib.parse import urlsplit, urlunsplit

from django.db import connections

from events.people import person_keys
from events.store import EventStore, get_store
from projections.base import project_pending
from projections.queries import thread_by_key
from threadlog.commands.importing import announce_import, append_imported, project_imported

from .model import ImportFileError, Tally
from .plan import plan_thread
from .reader_process import threads_from_child
from .reading import Counting, Progress, detect, read_threads
from .thread_key import key_for_url

FORMATS = ("wordpress", "disqus", "isso")
PROJECT_EVERY = 5000  # events appended before they are projected together (commands.importing.project_imported)


class _Rollback(Exception):
    """Raised at the end of a dry run: the transaction is undone, the tally kept."""


def _moved(url: str, site_url: str) -> str:
    """The URL on `site_url`'s scheme and host (a site that moved); the path, and so the key, stays."""
    if not site_url or not url.startswith(("http://", "https://")):
        return url
    site, parts = urlsplit(site_url), urlsplit(url)
    return urlunsplit((site.scheme or parts.scheme, site.netloc or parts.netloc, parts.path, parts.query, ""))


def _existing_ids(key: str, using: str) -> set[str]:
    with connections[using].cursor() as cur:
        cur.execute("SELECT id FROM threadlog_comment WHERE thread_key = %s", [key])
        return {row[0] for row in cur.fetchall()}


IMPORT_CACHE_KIB = int(os.environ.get("IMPORT_SQLITE_CACHE_MIB", "256")) * 1024


@contextlib.contextmanager
def _larger_sqlite_cache(store: EventStore) -> Iterator[None]:
    """On SQLite, let this connection cache more pages while the import's one transaction runs (then as before):
    its inserts go to indexes of random ids (events, comments), and once those outgrow the cache every insert
    reads pages back. Memory is only taken as pages are used."""
    conn = connections[store.using]
    if conn.vendor != "sqlite":
        yield
        return
    with conn.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(before)}")


def import_file(fp: IO[bytes], *, fmt: str = "auto", site_url: str = "", dry_run: bool = False,
                actor: str = "system:import", progress: Progress | None = None,
                store: EventStore | None = None, read_elsewhere: str | None = None) -> Tally:
    """Import the export in `fp` (binary); returns what was (or, dry, would be) imported. Raises ImportFileError
    (nothing appended) for a file that cannot be imported. `read_elsewhere`: the file's path, to have a second
    process read it (reader_process) while this one appends."""
    store = store or get_store()
    if fmt == "auto":
        fmt = detect(fp.read(4096))
        fp.seek(0)
    elif fmt not in FORMATS:
        raise ImportFileError(f"unknown format {fmt!r}: one of auto, {', '.join(FORMATS)}")
    tally = Tally(format=fmt, dry_run=dry_run)
    reader = io.BufferedReader(Counting(fp, progress), 1 << 16)
    keys: dict[str, str] = {}

    def keys_for(people) -> dict[str, str]:
        missing = [p for p in people if p not in keys]
        if missing:
            keys.update(person_keys(missing, using=store.using))
        return keys

    metadata = {"actor": actor}
    pending: list = []  # appended, not yet projected
    pending_keys: set[str] = set()
    extended: list = []  # existing threads among them

    def project() -> None:
        project_imported(store, pending, threads=extended, keys=keys)
        pending.clear()
        pending_keys.clear()
        extended.clear()

    try:
        with _larger_sqlite_cache(store), store.write_transaction():
            project_pending(store)  # the read model must hold every event: the import decides against it
            sources = (threads_from_child(read_elsewhere, fmt, site_url, tally, progress) if read_elsewhere
                       else read_threads(reader, fmt, tally, site_url))
            for source in sources:
                source.url = _moved(source.url, site_url)
                key = key_for_url(source.url)
                if key in pending_keys:  # the file lists this page twice: decide against its projected state
                    project()
                thread = thread_by_key(key, using=store.using)
                existing = _existing_ids(key, store.using) if thread else set()
                plan = plan_thread(source, key=key, fmt=fmt, opened=thread is not None, existing=existing,
                                   actor=actor, keys_for=keys_for, tally=tally)
                if not any(ev.type == "CommentPosted" for ev in plan.events):
                    continue  # nothing new (or nothing to keep): no thread opened, nothing appended
                recorded = append_imported(store, key, plan.events, plan.metadata, thread=thread, metadata=metadata)
                pending.extend(recorded)
                pending_keys.add(key)
                if thread is None:
                    tally.threads += 1
                else:
                    tally.threads_extended += 1
                    extended.append(thread)
                if len(pending) >= PROJECT_EVERY:
                    project()
                tally.events += len(recorded)
                if tally.first_position is None:
                    tally.first_position = recorded[0].position
                tally.last_position = recorded[-1].position
            project()
            if dry_run:
                raise _Rollback
            if tally.last_position is not None:
                announce_import(tally.last_position, store.using)
    except _Rollback:
        pass
    return tally


def import_path(path: str | os.PathLike, *, parallel: bool = True, **kwargs) -> Tally:
    """Import the file at `path`; `parallel`: read it in a second process (reader_process) meanwhile."""
    with open(path, "rb") as fp:
        return import_file(fp, read_elsewhere=str(path) if parallel else None, **kwargs)
