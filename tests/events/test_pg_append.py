"""The append paths that do not go through Python's `chain_hash` or json module for every row: PostgreSQL's
`threadlog_append` (the hash computed in the database, events/pg_append.py) and the orjson encoding of event
data. Both must give exactly the bytes, and so the hashes, that `threadlog audit verify` recomputes."""
from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import store as store_module
from events.audit import iter_raw, verify_rows
from events.store import _CANONICAL, chain_hash, event_ids
from tests.conftest import unique_key

from .probes import Probe, probes, raw_rows
from .test_concurrency import WRITERS, run_threads

# Everything a JSON encoder may treat specially: quotes, backslashes, every control character, DEL, the line
# and paragraph separators, a byte-order mark, non-BMP characters, and characters that HTML escaping would touch.
HOSTILE = ['"', "\\", "\\\"", "/", "</script>", "&<>'", "\x7f", "\u2028\u2029", "\ufeff", "é", "😀", "\U0010ffff",
           "".join(chr(c) for c in range(1, 32)), "tab\tnew\nline\rret\bback\fform", "\\u0041", "%s %(x)s"]


def _recompute(rows: list[tuple], previous: str) -> list[str]:
    out = []
    for position, id_, type_, version, stream, stream_version, data, metadata, recorded_at, _ in rows:
        previous = chain_hash(position=position, id=str(id_), type=type_, version=version, stream=stream,
                              stream_version=stream_version, data=data, metadata=metadata,
                              recorded_at=recorded_at, previous=previous)
        out.append(previous)
    return out


def test_hostile_strings_hash_alike_in_the_database_and_in_python(store):
    stream = unique_key("hostile.~_-")
    before = store.head_record()
    recorded = []
    for i, text in enumerate(HOSTILE):
        recorded += store.append(stream, [Probe(n=i, text=text), Probe(n=-i, text=text * 3)],
                                 metadata={"actor": text, "note": "é\n\"x\""}, idempotency_key=f"k-{uuid.uuid4()}")
    rows = raw_rows(store, before.position + 1)
    assert [r[0] for r in rows] == list(range(before.position + 1, before.position + 1 + len(recorded)))
    assert [r[9] for r in rows] == [e.hash for e in recorded] == _recompute(rows, before.hash)
    assert [json.loads(r[6])["text"] for r in rows] == [e.data["text"] for e in recorded]
    report = verify_rows(iter_raw(store, before.position), previous=before.hash, after=before.position)
    assert report.ok, report.reason


def test_postgres_append_decides_under_its_own_lock(pg_store):
    store = pg_store
    """Wrong expected version, a retried idempotency key, and NO_STREAM, through the database function."""
    stream = unique_key("s")
    first = store.append(stream, probes(2), expected_version=store_module.NO_STREAM, idempotency_key=stream)
    again = store.append(stream, probes(2), expected_version=store_module.NO_STREAM, idempotency_key=stream)
    assert [(e.position, e.hash, e.id) for e in again] == [(e.position, e.hash, e.id) for e in first]
    with pytest.raises(store_module.WrongExpectedVersion) as raised:
        store.append(stream, probes(1), expected_version=1)
    assert raised.value.actual == 2
    later = store.append(stream, probes(1), expected_version=2)
    assert later[0].stream_version == 3 and later[0].position == store.head()
    assert store.read_stream(stream)[-1].hash == later[0].hash
    # recorded_at comes from the database's clock under the lock: it never goes back along the log.
    times = [e.recorded_at for e in store.read_all(first[0].position - 1, 100)]
    assert times == sorted(times)


@pytest.mark.parametrize("batch", [1, 100])
def test_eight_writers_leave_a_gap_free_valid_chain(store, batch):
    """8 threads with a connection each, appending single events or batches of 100 at once."""
    alias = store.using
    before = store.head_record()
    rounds = 12 if batch == 1 else 3

    def writer(i: int) -> list[int]:
        mine = store_module.EventStore(alias)
        stream, positions = unique_key(f"w{i}"), []
        for r in range(rounds):
            recorded = mine.append(stream, probes(batch, start=r * batch), expected_version=r * batch)
            positions += [e.position for e in recorded]
            assert [e.stream_version for e in recorded] == list(range(r * batch + 1, (r + 1) * batch + 1))
        return positions

    results, errors = run_threads(WRITERS, writer)
    assert not errors, errors
    total = WRITERS * rounds * batch
    assert sorted(p for r in results for p in r) == list(range(before.position + 1, before.position + 1 + total))
    for positions in results:  # an append's events are contiguous
        for i in range(0, len(positions), batch):
            assert positions[i : i + batch] == list(range(positions[i], positions[i] + batch))
    rows = raw_rows(store, before.position + 1)
    assert len(rows) == total
    assert [r[9] for r in rows] == _recompute(rows, before.hash)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), st.one_of(st.none(), st.booleans(), st.integers(), st.text()),
                       max_size=5))
def test_event_data_encodes_as_the_json_module_does(data):
    """orjson's text for flat data is the json module's, byte for byte (what `audit verify` and imports rely on);
    what orjson refuses (integers beyond 64 bits, lone surrogates) goes to the json module."""
    assert store_module._data_json(data) == _CANONICAL.encode(data)


def test_event_data_of_other_shapes_goes_to_the_json_module():
    for data in ({"f": 1e16}, {"nested": {"b": 1, "a": [1, "x"]}}, {"u": 2**70}, {"s": "\ud800"}, [1, 2]):
        assert store_module._data_json(data) == _CANONICAL.encode(data)
    with pytest.raises(TypeError):
        store_module._data_json({"when": uuid.uuid4()})  # the json module refuses it, as before (orjson would not)


def test_event_ids_are_unique_time_ordered_uuids():
    ids = event_ids(1000)
    assert len(set(ids)) == 1000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 and str(p) == i for p, i in zip(parsed, ids))
    assert len({i[:13] for i in ids}) <= 2  # the millisecond prefix: one (or two, across a tick) per batch


def _advisory_lock_holders(store) -> set[int]:
    """Backend pids holding the append lock, seen from a connection of its own."""
    import psycopg

    s = store.connection.settings_dict
    with psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"] or None,
                         dbname=store.connection.settings_dict["NAME"], autocommit=True) as other:
        rows = other.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0"
                             " AND objid = %s", [store_module._ADVISORY_LOCK_ID]).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("first", ["orm read", "store read", "driver", "executemany"])
def test_write_transaction_holds_the_lock_before_its_first_statement_returns(pg_store, first):
    """The lock travels with the transaction's first statement (one round trip fewer), whatever that is."""
    from django.db import connections

    from events.models import ChainCheckpoint
    from projections.models import LiveFrame
    from projections.state import insert_rows

    conn = pg_store.connection
    with pg_store.write_transaction():
        if first == "orm read":
            assert ChainCheckpoint.objects.using("postgres").filter(name="no such").first() is None
        elif first == "store read":
            assert pg_store.stream_version(unique_key()) == 0  # and the cursor reads its own statement's row
        elif first == "driver":
            insert_rows(LiveFrame, ["position", "thread_key", "stream_version", "frame"], [], "postgres")
        else:
            with connections["postgres"].cursor() as cur:
                cur.executemany("SELECT %s", [[1], [2]])
        assert conn.connection.info.backend_pid in _advisory_lock_holders(pg_store)
    assert conn.connection.info.backend_pid not in _advisory_lock_holders(pg_store)

