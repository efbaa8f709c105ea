"""An append is all-or-nothing: a transaction that fails midway leaves nothing visible and no gap."""
from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction

import events.store as store_module
from tests.conftest import unique_key

from .probes import Probe, Unserialisable, probes


class Boom(Exception):
    pass


def assert_nothing_written(store, before: int, *streams: str) -> None:
    assert store.head() == before
    assert store.read_all(before, 10) == []
    for s in streams:
        assert store.read_stream(s) == []
        assert store.stream_version(s) == 0


def assert_next_append_takes_the_next_position(store, before: int) -> None:
    recorded = store.append(unique_key("after"), probes(1))
    assert recorded[0].position == before + 1, "a rolled-back append left a gap in the positions"


def test_failing_the_write_transaction_after_an_append_rolls_it_back(store, key):
    before = store.head()
    with pytest.raises(Boom):
        with store.write_transaction():
            recorded = store.append(key, probes(3))
            assert [e.position for e in recorded] == [before + 1, before + 2, before + 3]
            assert len(store.read_stream(key)) == 3  # visible inside the transaction only
            raise Boom
    assert_nothing_written(store, before, key)
    assert_next_append_takes_the_next_position(store, before)


def test_failing_an_outer_atomic_block_rolls_back_appends_to_several_streams(store):
    a, b, idem = unique_key("a"), unique_key("b"), f"req-{uuid.uuid4()}"
    before = store.head()
    with pytest.raises(Boom):
        with transaction.atomic(using=store.using):
            store.append(a, probes(2), idempotency_key=idem)
            store.append(b, probes(2))
            raise Boom
    assert_nothing_written(store, before, a, b)
    assert store.recorded_for(idem) is None  # the key was rolled back with the events
    # A retry with that key really appends.
    assert [e.position for e in store.append(a, probes(2), idempotency_key=idem)] == [before + 1, before + 2]


def test_a_database_error_on_the_second_event_rolls_back_the_first(store, key, monkeypatch):
    """Both events get the same id, so the database rejects the second row after inserting the first."""
    before = store.head()
    idem = f"req-{uuid.uuid4()}"
    same = uuid.uuid4()
    monkeypatch.setattr(store_module, "event_ids", lambda count: [str(same)] * count)
    with pytest.raises(IntegrityError):
        store.append(key, probes(3), idempotency_key=idem)
    monkeypatch.undo()

    assert_nothing_written(store, before, key)
    assert store.recorded_for(idem) is None
    assert_next_append_takes_the_next_position(store, before)


def test_an_event_that_cannot_be_encoded_midway_writes_nothing(store, key):
    before = store.head()
    with pytest.raises(TypeError):
        store.append(key, [Probe(n=1), Unserialisable(payload=object()), Probe(n=3)])
    assert_nothing_written(store, before, key)


def test_a_conflict_inside_a_larger_transaction_rolls_back_everything(store):
    a, b = unique_key("a"), unique_key("b")
    store.append(b, probes(1))
    before = store.head()
    with pytest.raises(store_module.WrongExpectedVersion):
        with store.write_transaction():
            store.append(a, probes(2))
            store.append(b, probes(1), expected_version=store_module.NO_STREAM)
    assert_nothing_written(store, before, a)
    assert len(store.read_stream(b)) == 1
