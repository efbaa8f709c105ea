"""The import's command: append planned threads and project them, inside the import's one transaction.

An import is not decided against the read model comment by comment like a reader's post: the whole file is read
and appended under the append lock in a single transaction (all or nothing per file; threadlog.imports.writer),
a batch of threads per append, each batch projected right away so the next one, or a retried import, sees it.
"""
from __future__ import annotations

from typing import Any, Sequence

from django.db import transaction

from events.store import EventStore, RecordedEvent, StreamAppend
from projections.base import apply_events
from projections.state import DatabaseState, ThreadRow

from .handlers import announce


def append_imported_batch(store: EventStore, appends: Sequence[StreamAppend], *,
                          metadata: dict[str, Any]) -> list[list[RecordedEvent]]:
    """Append several planned threads at once (EventStore.append_batch: one decision, one insert), each at the
    version its thread was read at in this transaction. The caller projects them (`project_imported`)."""
    if not transaction.get_connection(store.using).in_atomic_block:
        raise RuntimeError("append_imported_batch runs inside the import's write transaction")
    return store.append_batch(appends, metadata=metadata)


def project_imported(store: EventStore, recorded: Sequence[RecordedEvent], *, threads: Sequence[ThreadRow],
                     keys: dict[str, str], missing_threads: Sequence[str] = (),
                     names: dict[str, str] | None = None) -> None:
    """Project the events of several appends at once (consecutive positions: nothing else appends meanwhile):
    one write of each read-model table per batch of threads instead of one per thread.

    `threads` are the existing threads the events extend, `missing_threads` the keys found without one, `keys`
    the live keys of the people whose names they seal and `names` the author tokens sealed and what they seal,
    all read or made in this transaction: the projection does not look them up (or open them) again."""

    def known(state: DatabaseState) -> None:
        state.known(threads=threads, keys=keys, missing_threads=missing_threads, names=names)

    if recorded:
        apply_events(recorded, using=store.using, known=known, fresh=True)


def announce_import(last: int, using: str) -> None:
    """Readers of the imported threads (and other nodes) hear of the new events once the import commits."""
    announce(last, using)
