"""Import one file: detect its format, stream it, plan each thread and append it, all in one transaction.

All or nothing per file: every append happens inside a single write transaction, so a file that turns out to be
malformed or truncated halfway (or a dry run) rolls back and leaves nothing behind. The append lock is held for
the whole import (writers wait, as they do during a rebuild): about 15-25 s for 100,000 comments on SQLite,
depending on the machine's load (benchmarks/import.py).
"""
from __future__ import annotations

import contextlib
import io
import os
from typing import IO, Iterable, Iterator

from django.db import connections

from events.people import person_keys
from events.store import NO_STREAM, EventStore, StreamAppend, get_store
from projections.base import project_pending
from projections.models import CommentView, ThreadView, VoteView
from projections.rebuild import analyze
from projections.render import rendered
from projections.state import THREAD_FIELDS, ThreadRow, thread_from_values
from threadlog.commands.importing import announce_import, append_imported_batch, project_imported

from .model import ImportFileError, SourceThread, Tally
from .plan import decide_thread, held_possible
from .reader_process import threads_from_child
from .reading import Counting, Progress, detect, prepared, read_threads

FORMATS = ("wordpress", "disqus", "isso")
BATCH_COMMENTS = 2000  # comments (about) decided, appended and projected together: bounded memory, few statements


class _Rollback(Exception):
    """Raised at the end of a dry run: the transaction is undone, the tally kept."""


_THREAD_COLUMNS = ", ".join(f'"{name}"' for name in THREAD_FIELDS)  # both back-ends quote with double quotes


def _threads_by_key(keys: list[str], using: str) -> dict[str, ThreadRow]:
    """The read model's rows of those of `keys` that are threads already (a query per 500 keys)."""
    found: dict[str, ThreadRow] = {}
    sql = f"SELECT {_THREAD_COLUMNS} FROM threadlog_thread"
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        with connections[using].cursor() as cur:
            cur.execute(f'{sql} WHERE "key" IN ({", ".join(["%s"] * len(chunk))})', chunk)
            found.update((row[0], thread_from_values(row)) for row in cur.fetchall())
    return found


def _existing_ids(keys: list[str], using: str) -> dict[str, set[str]]:
    """The ids of the comments of those threads, by thread."""
    found: dict[str, set[str]] = {key: set() for key in keys}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        with connections[using].cursor() as cur:
            cur.execute(f"SELECT thread_key, id FROM threadlog_comment WHERE thread_key IN"
                        f" ({', '.join(['%s'] * len(chunk))})", chunk)
            for key, comment_id in cur.fetchall():
                found[key].add(comment_id)
    return found


def _batches(sources: Iterable[SourceThread]) -> Iterator[list[SourceThread]]:
    """The file's (prepared) threads in batches of about BATCH_COMMENTS comments; a page the file lists twice
    starts a new batch (it is decided against what the batch before made of it)."""
    batch: list[SourceThread] = []
    keys: set[str] = set()
    size = 0
    for source in sources:
        if batch and (source.key in keys or size >= BATCH_COMMENTS):
            yield batch
            batch, keys, size = [], set(), 0
        batch.append(source)
        keys.add(source.key)
        size += len(source.comments) + 1
    if batch:
        yield batch


IMPORT_CACHE_KIB = int(os.environ.get("IMPORT_SQLITE_CACHE_MIB", "64")) * 1024


@contextlib.contextmanager
def _larger_sqlite_cache(store: EventStore) -> Iterator[None]:
    """On SQLite, let this connection cache more pages while the import's one transaction runs (then as before):
    its inserts go to indexes of random ids (events, comments), and once those outgrow the cache every insert
    reads pages back. Memory is only taken as pages are used. 64 MiB holds those indexes of a 100,000-comment
    import (about 35 MB); the rows themselves are appended and not read again, so a larger cache only held
    them until the commit (256 MiB did: the import's peak memory grew with the file up to that size, for no
    measurable time; docs/benchmarks.md)."""
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

    def import_batch(batch: list[SourceThread]) -> None:
        """Decide, append and project a batch of threads: a query for their threads, one for the ids of the
        comments of those already there, one for their authors' keys, one append, one projection."""
        threads = _threads_by_key([source.key for source in batch], store.using)
        existing = _existing_ids(list(threads), store.using)
        decided = [(s.key, decide_thread(s, key=s.key, fmt=fmt, opened=s.key in threads,
                                         existing=existing.get(s.key, set()), actor=actor, tally=tally))
                   for s in batch]
        people = set().union(*(d.people for _, d in decided))
        keys_for(people)
        appends: list[StreamAppend] = []
        names: dict[str, str] = {}
        for key, d in decided:
            plan = d.plan(keys)  # sealed by events.sealing (its caches are bounded)
            if not any(ev.type == "CommentPosted" for ev in plan.events):
                continue  # nothing new (or nothing to keep): no thread opened, nothing appended
            thread = threads.get(key)
            appends.append(StreamAppend(key, plan.events, thread.stream_version if thread else NO_STREAM,
                                        plan.metadata))
            names.update(plan.names)
            if thread is None:
                tally.threads += 1
            else:
                tally.threads_extended += 1
        if not appends:
            return
        recorded = [ev for events in append_imported_batch(store, appends, metadata=metadata) for ev in events]
        with rendered({c.body: c.html for s in batch for c in s.comments if c.html is not None}):
            project_imported(store, recorded, threads=[threads[a.stream] for a in appends if a.stream in threads],
                             missing_threads=[a.stream for a in appends if a.stream not in threads],
                             keys={p: keys[p] for p in people}, names=names)
        tally.events += len(recorded)
        if tally.first_position is None:
            tally.first_position = recorded[0].position
        tally.last_position = recorded[-1].position

    try:
        with _larger_sqlite_cache(store), store.write_transaction():
            project_pending(store)  # the read model must hold every event: the import decides against it
            held = held_possible()
            sources = (threads_from_child(read_elsewhere, fmt, site_url, tally, progress, held_possible=held)
                       if read_elsewhere else prepared(read_threads(reader, fmt, tally, site_url), fmt, site_url,
                                                       tally=tally, held_possible=held))
            for batch in _batches(sources):
                import_batch(batch)
            if dry_run:
                raise _Rollback
            if tally.last_position is not None:
                announce_import(tally.last_position, store.using)
    except _Rollback:
        pass
    if not dry_run and tally.events:  # PostgreSQL's planner learns the thread sizes now, not at autovacuum's turn
        analyze(store.using, [model._meta.db_table for model in (ThreadView, CommentView, VoteView)])
    return tally


def import_path(path: str | os.PathLike, *, parallel: bool = True, **kwargs) -> Tally:
    """Import the file at `path`; `parallel`: read it in a second process (reader_process) meanwhile."""
    with open(path, "rb") as fp:
        return import_file(fp, read_elsewhere=str(path) if parallel else None, **kwargs)
