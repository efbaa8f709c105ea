"""The event store's contract, run unchanged against SQLite ("default") and PostgreSQL ("postgres").

The log is append-only and never flushed between tests, so every test uses its own streams and measures
against `head()` taken before it acts.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import ClassVar

import pytest

from events import types as event_types
from events.store import (
    ANY, NO_STREAM, GENESIS_HASH, InvalidStream, RecordedEvent, StoreError, WrongExpectedVersion,
)
from events.types import Event
from tests.conftest import unique_key

from .probes import Probe, probes, raw_rows

RECORDED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def stream_of(store, stream: str) -> list[dict]:
    return [e.as_dict() for e in store.read_stream(stream)]


# --- append ---------------------------------------------------------------------------------------------


def test_append_returns_the_recorded_events_with_positions_and_stream_versions(store, key):
    before = store.head()
    recorded = store.append(key, probes(3), metadata={"actor": "tester"})

    assert [e.position for e in recorded] == [before + 1, before + 2, before + 3]
    assert [e.stream_version for e in recorded] == [1, 2, 3]
    assert {e.stream for e in recorded} == {key}
    assert [e.type for e in recorded] == [Probe.type] * 3
    assert [e.version for e in recorded] == [1, 1, 1]
    assert [e.data["n"] for e in recorded] == [0, 1, 2]
    assert all(e.metadata == {"actor": "tester"} for e in recorded)
    assert all(RECORDED_AT.match(e.recorded_at) for e in recorded)
    ids = [e.id for e in recorded]
    assert len(set(ids)) == 3 and all(uuid.UUID(i).version == 7 for i in ids)  # time-ordered (event_ids)
    assert all(re.fullmatch(r"[0-9a-f]{64}", e.hash) for e in recorded)
    assert store.head() == before + 3
    # What append returned is exactly what the log holds.
    assert [e.as_dict() for e in store.read_all(before, 10)] == [e.as_dict() for e in recorded]
    assert recorded[0].event == Probe(n=0, text="x" * 40)


def test_stream_versions_count_per_stream_while_positions_count_globally(store):
    a, b = unique_key("a"), unique_key("b")
    before = store.head()
    first = store.append(a, probes(2))
    other = store.append(b, probes(1))
    second = store.append(a, probes(2))

    assert [e.stream_version for e in first + second] == [1, 2, 3, 4]
    assert [e.stream_version for e in other] == [1]
    assert [e.position for e in first + other + second] == list(range(before + 1, before + 6))
    assert store.stream_version(a) == 4 and store.stream_version(b) == 1


def test_append_needs_at_least_one_registered_event(store, key):
    before = store.head()
    with pytest.raises(StoreError):
        store.append(key, [])
    with pytest.raises(StoreError):
        store.append(key, [{"type": "Probe"}])  # type: ignore[list-item]
    assert store.head() == before
    assert stream_of(store, key) == []


@pytest.mark.parametrize(
    "stream",
    ["", "a/b", "a b", "thread?x=1", "ünïcode", "x" * 201, "trailing-newline\n", "tab\there", "semi;colon", None],
    ids=["empty", "slash", "space", "query", "unicode", "201-chars", "newline", "tab", "semicolon", "none"],
)
def test_invalid_stream_names_are_rejected_and_nothing_is_written(store, stream):
    before = store.head()
    with pytest.raises(InvalidStream):
        store.append(stream, probes(1))
    assert store.head() == before


def test_every_allowed_character_and_200_characters_are_a_valid_stream(store):
    for stream in ("A-Za-z0.9_~-" + uuid.uuid4().hex, uuid.uuid4().hex + "y" * 168):
        assert len(stream) <= 200
        recorded = store.append(stream, probes(1))
        assert recorded[0].stream == stream
        assert [e["stream"] for e in stream_of(store, stream)] == [stream]


# --- expected version ----------------------------------------------------------------------------------


def test_expected_version_any_appends_whatever_the_stream_holds(store, key):
    assert store.append(key, probes(1), expected_version=ANY)[0].stream_version == 1
    assert store.append(key, probes(2), expected_version=ANY)[-1].stream_version == 3
    assert store.append(key, probes(1))[0].stream_version == 4  # ANY is the default


def test_expected_no_stream_succeeds_once_then_conflicts_and_writes_nothing(store, key):
    assert store.append(key, probes(2), expected_version=NO_STREAM)[-1].stream_version == 2
    before_head, before_stream = store.head(), stream_of(store, key)

    with pytest.raises(WrongExpectedVersion) as caught:
        store.append(key, probes(3), expected_version=NO_STREAM)

    assert caught.value.stream == key
    assert caught.value.expected is NO_STREAM
    assert caught.value.actual == 2
    assert key in str(caught.value)
    assert store.head() == before_head
    assert stream_of(store, key) == before_stream


def test_expected_exact_version(store, key):
    store.append(key, probes(2))
    recorded = store.append(key, probes(1, start=2), expected_version=2)
    assert recorded[0].stream_version == 3
    recorded = store.append(key, probes(2, start=3), expected_version=3)
    assert [e.stream_version for e in recorded] == [4, 5]


@pytest.mark.parametrize("expected", [0, 1, 2, 4, 99])
def test_wrong_exact_version_raises_and_writes_nothing(store, key, expected):
    store.append(key, probes(3))
    before_head, before_stream = store.head(), stream_of(store, key)

    with pytest.raises(WrongExpectedVersion) as caught:
        store.append(key, probes(2), expected_version=expected)

    assert (caught.value.expected, caught.value.actual) == (expected, 3)
    assert store.head() == before_head
    assert stream_of(store, key) == before_stream
    # The store is still usable and consistent after the conflict.
    assert store.append(key, probes(1), expected_version=3)[0].position == before_head + 1


def test_exact_version_on_a_stream_that_does_not_exist_yet_conflicts(store, key):
    before = store.head()
    with pytest.raises(WrongExpectedVersion) as caught:
        store.append(key, probes(1), expected_version=1)
    assert caught.value.actual == 0
    assert store.head() == before
    assert stream_of(store, key) == []


# --- idempotency ---------------------------------------------------------------------------------------


def test_idempotency_key_returns_the_original_result_and_appends_nothing(store, key):
    idem = f"req-{uuid.uuid4()}"
    first = store.append(key, probes(3), expected_version=NO_STREAM, idempotency_key=idem)
    head = store.head()
    assert first[-1].position == head
    assert all(e.metadata["idempotency_key"] == idem for e in first)

    # The same key again — with different events, another stream, a version that would now conflict.
    again = store.append(key, probes(1, start=50), expected_version=NO_STREAM, idempotency_key=idem)
    elsewhere = store.append(unique_key("other"), probes(2), idempotency_key=idem)

    for retry in (again, elsewhere):
        assert [e.as_dict() for e in retry] == [e.as_dict() for e in first]
    assert store.head() == head
    assert len(stream_of(store, key)) == 3
    assert [e.as_dict() for e in store.recorded_for(idem)] == [e.as_dict() for e in first]


def test_an_unknown_idempotency_key_has_no_record(store):
    assert store.recorded_for(f"never-{uuid.uuid4()}") is None


def test_a_conflicting_append_does_not_use_up_its_idempotency_key(store, key):
    idem = f"req-{uuid.uuid4()}"
    store.append(key, probes(1))
    with pytest.raises(WrongExpectedVersion):
        store.append(key, probes(1), expected_version=NO_STREAM, idempotency_key=idem)
    assert store.recorded_for(idem) is None

    recorded = store.append(key, probes(1), expected_version=1, idempotency_key=idem)
    assert recorded[0].stream_version == 2
    assert [e.id for e in store.recorded_for(idem)] == [recorded[0].id]


# --- reading -------------------------------------------------------------------------------------------


def test_read_all_pages_in_position_order_after_a_position(store):
    before = store.head()
    streams = [unique_key("p") for _ in range(3)]
    appended: list[RecordedEvent] = []
    for i in range(7):
        appended += store.append(streams[i % 3], probes(1 + i % 2, start=i * 10))
    positions = [e.position for e in appended]
    assert positions == list(range(before + 1, before + 1 + len(appended)))

    pages, after = [], before
    while True:
        page = store.read_all(after, 3)
        assert len(page) <= 3
        if not page:
            break
        pages.append(page)
        after = page[-1].position
    seen = [e for page in pages for e in page]
    assert [e.as_dict() for e in seen] == [e.as_dict() for e in appended]
    assert all(len(p) == 3 for p in pages[:-1])

    assert [e.position for e in store.read_all(before + 4, 2)] == [before + 5, before + 6]
    assert store.read_all(store.head(), 100) == []
    assert [e.position for e in store.read_all(before, 100, until=before + 2)] == [before + 1, before + 2]
    assert [e.position for e in store.iter_all(before, batch=4)] == positions


def test_read_stream_returns_only_that_stream_after_a_version(store):
    mine, other = unique_key("mine"), unique_key("other")
    store.append(mine, probes(2))
    store.append(other, probes(3))
    store.append(mine, probes(3, start=2))

    everything = store.read_stream(mine)
    assert [e.stream_version for e in everything] == [1, 2, 3, 4, 5]
    assert [e.data["n"] for e in everything] == [0, 1, 2, 3, 4]
    assert {e.stream for e in everything} == {mine}
    positions = [e.position for e in everything]
    assert positions == sorted(positions)

    assert [e.stream_version for e in store.read_stream(mine, 3)] == [4, 5]
    assert store.read_stream(mine, 5) == []
    assert store.read_stream(unique_key("nobody")) == []
    assert [e.stream_version for e in store.read_stream(mine, 1, limit=2)] == [2, 3]


def test_head_is_the_newest_position_and_its_hash(store, key):
    before = store.head_record()
    assert before.position == store.head()
    recorded = store.append(key, probes(2))
    after = store.head_record()
    assert after.position == recorded[-1].position == before.position + 2
    assert after.hash == recorded[-1].hash
    assert after.hash != GENESIS_HASH


# --- upcasting -----------------------------------------------------------------------------------------

UPCAST_TYPE = f"test.events.Renamed-{uuid.uuid4().hex[:10]}"  # unique: the registry is process-wide


@dataclass(frozen=True)
class RenamedV1(Event):
    type: ClassVar[str] = UPCAST_TYPE
    version: ClassVar[int] = 1
    name: str


@dataclass(frozen=True)
class RenamedV2(Event):
    type: ClassVar[str] = UPCAST_TYPE
    version: ClassVar[int] = 2
    first: str
    last: str


def _split_name(data: dict) -> dict:
    first, _, last = data.pop("name").partition(" ")
    return {**data, "first": first, "last": last}


def test_an_old_version_is_upcast_when_read(store, key):
    event_types.event(RenamedV1)  # the conftest fixture restores the registry after the test
    assert event_types.event_class(UPCAST_TYPE) is RenamedV1
    stored = store.append(key, [RenamedV1(name="Ada Lovelace")])[0]
    assert (stored.version, stored.data) == (1, {"name": "Ada Lovelace"})

    # A later release introduces v2 and the upcaster; the v1 row in the log stays as it was written.
    event_types.event(RenamedV2)
    event_types.upcaster(UPCAST_TYPE, 1)(_split_name)
    assert event_types.event_class(UPCAST_TYPE) is RenamedV2

    for read in (store.read_stream(key)[0], store.read_all(stored.position - 1, 1)[0]):
        assert read.position == stored.position
        assert read.version == 2
        assert read.data == {"first": "Ada", "last": "Lovelace"}
        assert read.event == RenamedV2(first="Ada", last="Lovelace")
        assert read.hash == stored.hash
    (row,) = raw_rows(store, stored.position, stored.position)
    assert row[3] == 1 and '"name":"Ada Lovelace"' in row[6]

    # New appends use v2 and are read back without upcasting.
    fresh = store.append(key, [RenamedV2(first="Grace", last="Hopper")])[0]
    assert store.read_stream(key, 1)[0].data == {"first": "Grace", "last": "Hopper"} == fresh.data


def test_an_old_version_without_an_upcaster_is_an_error_not_silent_data(store, key):
    event_types.event(RenamedV1)
    stored = store.append(key, [RenamedV1(name="Alan Turing")])[0]
    event_types.event(RenamedV2)
    event_types._UPCASTERS.pop((UPCAST_TYPE, 1), None)
    with pytest.raises(event_types.UnknownEventType):
        store.read_all(stored.position - 1, 1)
