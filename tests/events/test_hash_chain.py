"""The hash chain: every stored row's `hash` covers the row and the previous row's hash."""
from __future__ import annotations

from events.store import GENESIS_HASH, chain_hash
from tests.conftest import unique_key

from .probes import probes, raw_rows


def recompute(row: tuple, previous: str) -> str:
    position, id_, type_, version, stream, stream_version, data, metadata, recorded_at, _ = row
    return chain_hash(position=position, id=id_, type=type_, version=version, stream=stream,
                      stream_version=stream_version, data=data, metadata=metadata, recorded_at=recorded_at,
                      previous=previous)


def test_each_appended_event_links_to_the_previous_one(store, key):
    before = store.head_record()
    recorded = store.append(key, probes(3), metadata={"actor": "a"})
    recorded += store.append(unique_key("other"), probes(2))
    recorded += store.append(key, probes(1))

    previous = before.hash
    for ev in recorded:
        assert ev.hash == chain_hash(
            position=ev.position, id=ev.id, type=ev.type, version=ev.version, stream=ev.stream,
            stream_version=ev.stream_version, data=ev.raw_data, metadata=ev.raw_metadata,
            recorded_at=ev.recorded_at, previous=previous,
        )
        previous = ev.hash
    # Reading back gives the same hashes as the append returned.
    assert [e.hash for e in store.read_all(before.position, 10)] == [e.hash for e in recorded]
    assert store.head_record().hash == recorded[-1].hash


def test_the_whole_stored_log_is_one_unbroken_chain_from_genesis(store, key):
    store.append(key, probes(2))
    rows = raw_rows(store)
    assert rows, "the log is empty"
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "positions have a gap"
    previous = GENESIS_HASH
    for row in rows:
        assert row[9] == recompute(row, previous), f"chain broken at position {row[0]}"
        previous = row[9]
    assert store.head_record().hash == previous


def test_the_hash_covers_every_field_and_the_previous_hash(store, key):
    (row,) = raw_rows(store, *(2 * [store.append(key, probes(1))[0].position]))
    previous = raw_rows(store, row[0] - 1, row[0] - 1)[0][9] if row[0] > 1 else GENESIS_HASH
    assert recompute(row, previous) == row[9]
    for index, changed in [(0, row[0] + 1), (1, "00000000-0000-4000-8000-000000000000"), (2, "Other"),
                           (3, 2), (4, "elsewhere"), (5, 99), (6, '{"n":1}'), (7, '{"x":1}'),
                           (8, "2000-01-01T00:00:00.000000Z")]:
        altered = row[:index] + (changed,) + row[index + 1:]
        assert recompute(altered, previous) != row[9], f"field {index} is not covered by the hash"
    assert recompute(row, "f" * 64) != row[9]
