"""The log is append-only in the database itself: raw SQL (and the ORM) cannot update, delete or truncate it."""
from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, transaction

from events.models import IdempotencyRecord, StoredEvent

from .probes import probes, raw_rows


def rejected(store, sql: str, params: list | None = None) -> None:
    """Run one statement in a savepoint and require the database to refuse it as append-only."""
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(using=store.using):
            with store.connection.cursor() as cur:
                cur.execute(sql, params or [])


@pytest.fixture
def written(store, key):
    idem = f"req-{uuid.uuid4()}"
    recorded = store.append(key, probes(2), idempotency_key=idem)
    first, last = recorded[0].position, recorded[-1].position
    return idem, first, last, raw_rows(store, 1, last)


def assert_unchanged(store, snapshot: list[tuple], idem: str, first: int, last: int) -> None:
    assert raw_rows(store, 1, snapshot[-1][0]) == snapshot
    assert [e.position for e in store.recorded_for(idem)] == list(range(first, last + 1))


def test_update_of_a_log_row_fails(store, written):
    idem, first, last, snapshot = written
    rejected(store, "UPDATE threadlog_events SET data = %s WHERE position = %s", ['{"n":666}', first])
    rejected(store, "UPDATE threadlog_events SET stream_version = stream_version + 1000 WHERE position >= %s",
             [first])
    rejected(store, "UPDATE threadlog_idempotency SET last_position = first_position WHERE key = %s", [idem])
    assert_unchanged(store, snapshot, idem, first, last)


def test_delete_of_a_log_row_fails(store, written):
    idem, first, last, snapshot = written
    rejected(store, "DELETE FROM threadlog_events WHERE position = %s", [last])
    rejected(store, "DELETE FROM threadlog_events")  # SQLite's truncate optimisation must not bypass it
    rejected(store, "DELETE FROM threadlog_idempotency WHERE key = %s", [idem])
    assert_unchanged(store, snapshot, idem, first, last)


def test_the_orm_cannot_update_or_delete_either(store, written):
    idem, first, last, snapshot = written
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(using=store.using):
            StoredEvent.objects.using(store.using).filter(position=first).update(data="{}")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(using=store.using):
            StoredEvent.objects.using(store.using).filter(position=last).delete()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(using=store.using):
            IdempotencyRecord.objects.using(store.using).filter(key=idem).delete()
    assert_unchanged(store, snapshot, idem, first, last)


@pytest.mark.postgres
def test_truncate_fails_on_postgres(pg_store, key):
    idem = f"req-{uuid.uuid4()}"
    recorded = pg_store.append(key, probes(1), idempotency_key=idem)
    snapshot = raw_rows(pg_store, 1, recorded[-1].position)
    rejected(pg_store, "TRUNCATE threadlog_events")
    rejected(pg_store, "TRUNCATE threadlog_idempotency")
    rejected(pg_store, "TRUNCATE threadlog_events, threadlog_idempotency")
    assert_unchanged(pg_store, snapshot, idem, recorded[0].position, recorded[-1].position)


def test_appending_still_works_after_rejected_statements(store, written):
    idem, first, last, snapshot = written
    before = store.head()
    rejected(store, "DELETE FROM threadlog_events WHERE position = %s", [first])
    assert store.append(f"after-{uuid.uuid4().hex[:8]}", probes(1))[0].position == before + 1
    assert store.head() == before + 1
