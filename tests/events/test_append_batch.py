"""The store's batch append (EventStore.append_batch): several streams' appends as one, on SQLite and PostgreSQL.

The same contract as `append` for each stream in the batch, gap-free positions across the whole batch, one
unbroken hash chain, and all or nothing."""
from __future__ import annotations

import pytest

from events.store import ANY, NO_STREAM, InvalidStream, StoreError, StreamAppend, WrongExpectedVersion
from tests.conftest import unique_key

from .probes import Probe, probes, raw_rows
from .test_hash_chain import recompute


def test_a_batch_appends_each_stream_in_order_with_consecutive_positions(store):
    a, b, c = unique_key("a"), unique_key("b"), unique_key("c")
    store.append(b, probes(2))
    before = store.head_record()

    results = store.append_batch([
        StreamAppend(a, probes(3), NO_STREAM, [{"source_id": str(i)} for i in range(3)]),
        StreamAppend(b, probes(1, start=2), 2),
        StreamAppend(c, probes(2)),
    ], metadata={"actor": "importer"})

    flat = [e for r in results for e in r]
    assert [e.position for e in flat] == list(range(before.position + 1, before.position + 7))
    assert [(e.stream, e.stream_version) for e in flat] == [(a, 1), (a, 2), (a, 3), (b, 3), (c, 1), (c, 2)]
    assert [e.metadata for e in results[0]] == [{"actor": "importer", "source_id": str(i)} for i in range(3)]
    assert all(e.metadata == {"actor": "importer"} for e in results[1] + results[2])
    assert results[1][0].event == Probe(n=2, text="x" * 40)
    # What the batch returned is exactly what the log holds, and the chain runs through it unbroken.
    assert [e.as_dict() for e in store.read_all(before.position, 10)] == [e.as_dict() for e in flat]
    previous = before.hash
    for row in raw_rows(store, before.position + 1):
        assert row[9] == recompute(row, previous)
        previous = row[9]
    assert store.head_record().hash == flat[-1].hash


def test_one_stream_twice_in_a_batch_counts_on(store, key):
    results = store.append_batch([StreamAppend(key, probes(2), NO_STREAM), StreamAppend(key, probes(1), 2)])
    assert [e.stream_version for r in results for e in r] == [1, 2, 3]


@pytest.mark.parametrize("expected", [NO_STREAM, 0, 5])
def test_a_wrong_expected_version_anywhere_writes_nothing(store, key, expected):
    store.append(key, probes(1))
    other = unique_key("other")
    before = store.head()
    with pytest.raises(WrongExpectedVersion) as caught:
        store.append_batch([StreamAppend(other, probes(2), NO_STREAM), StreamAppend(key, probes(1), expected)])
    assert (caught.value.stream, caught.value.actual) == (key, 1)
    assert store.head() == before
    assert store.read_stream(other) == []
    assert store.append_batch([StreamAppend(key, probes(1), 1)])[0][0].position == before + 1


def test_invalid_appends_are_refused_before_anything_is_written(store, key):
    before = store.head()
    with pytest.raises(InvalidStream):
        store.append_batch([StreamAppend(key, probes(1)), StreamAppend("no spaces", probes(1))])
    with pytest.raises(StoreError):
        store.append_batch([StreamAppend(key, probes(1)), StreamAppend(unique_key(), [])])
    with pytest.raises(StoreError):
        store.append_batch([StreamAppend(key, probes(2), ANY, [{}])])
    assert store.head() == before
    assert store.append_batch([]) == []
