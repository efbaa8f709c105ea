"""PostgreSQL appends release the append lock before their commit reaches the disk, and return only once it has
(events/early_release.py): through the store's public API, what a writer is told is durable."""
from __future__ import annotations

import threading

from django.db import connections

from events import early_release
from events.store import NO_STREAM, EventStore
from events.types import ThreadOpened
from tests.conftest import unique_key


def _wal(store: EventStore, what: str) -> int:
    with store.connection.cursor() as cur:
        cur.execute(f"SELECT pg_current_wal_{what}_lsn() - '0/0'::pg_lsn")
        return int(cur.fetchone()[0])


def test_a_write_transaction_returns_once_its_commit_is_on_disk(pg_store):
    assert early_release.available(pg_store.connection)
    for _ in range(10):
        key = unique_key()
        with pg_store.write_transaction():
            pg_store.append(key, [ThreadOpened(key=key, title="t")], expected_version=NO_STREAM)
            written = _wal(pg_store, "insert")  # the commit record comes after this
        assert _wal(pg_store, "flush") > written


def test_other_sessions_see_the_append_and_its_position_once_it_returns(pg_store):
    """The commit is visible (and the lock free) for the next writer; the positions stay gap-free."""
    keys = [unique_key() for _ in range(8)]
    errors: list[BaseException] = []

    def write(key: str) -> None:
        try:
            store = EventStore("postgres")
            for i in range(5):
                with store.write_transaction():
                    store.append(key, [ThreadOpened(key=key, title=str(i))], expected_version=i or NO_STREAM)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    before = pg_store.head()
    threads = [threading.Thread(target=write, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    positions = [ev.position for ev in pg_store.read_all(before, 1000)]
    assert positions == list(range(before + 1, before + 41))
