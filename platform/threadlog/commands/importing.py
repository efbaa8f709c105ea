"""The import's command: append one planned thread and project it, inside the import's one transaction.

An import is not decided against the read model comment by comment like a reader's post: the whole file is read
and appended under the append lock in a single transaction (all or nothing per file; threadlog.imports.writer),
one append per thread, each projected right away so the next thread, or a retried import, sees it.
"""
from __future__ import annotations

from typing import Any, Sequence

from django.db import transaction

from events.store import NO_STREAM, EventStore, RecordedEvent
from events.types import Event
from projections.base import apply_events
from projections.state import DatabaseState, ThreadRow

from .handlers import announce


def append_imported(store: EventStore, key: str, events: Sequence[Event], event_metadata: Sequence[dict[str, Any]],
                    *, thread: ThreadRow | None, metadata: dict[str, Any],
                    keys: dict[str, str]) -> list[RecordedEvent]:
    """Append `events` to thread `key` (opened already: `thread`, read in this transaction) and project them.

    `keys` are the live keys of the people whose names the events seal: the projection opens them without
    looking each key up again."""
    if not transaction.get_connection(store.using).in_atomic_block:
        raise RuntimeError("append_imported runs inside the import's write transaction")
    recorded = store.append(key, events, expected_version=thread.stream_version if thread else NO_STREAM,
                            metadata=metadata, event_metadata=event_metadata)

    def known(state: DatabaseState) -> None:
        state.known(threads=(thread,) if thread else (), keys=keys)

    apply_events(recorded, using=store.using, known=known, fresh=True)
    return recorded


def announce_import(last: int, using: str) -> None:
    """Readers of the imported threads (and other nodes) hear of the new events once the import commits."""
    announce(last, using)
