"""Concurrent writers against a real database: positions in commit order, conflicts, idempotent retries.

Every thread uses its own Django connection and closes it when done.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable

import pytest
from django.db import connections

from events.store import NO_STREAM, EventStore, RecordedEvent, WrongExpectedVersion, chain_hash
from tests.conftest import unique_key

from .probes import probes

WRITERS = 8


def run_threads(count: int, target: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run target(i) in `count` threads; each closes its own connections. Returns (results, errors)."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = target(i)
        except BaseException as exc:  # reported by the test, never swallowed
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread did not finish within 120 s"
    return results, errors


# --- 8 writers while a reader tails --------------------------------------------------------------------


def _tail_while_writing(alias: str, per_writer: int) -> None:
    store = EventStore(alias)
    before = store.head_record()
    streams = [unique_key(f"w{i}") for i in range(WRITERS)]
    start = threading.Barrier(WRITERS + 1)
    writing = threading.Event()
    writing.set()
    seen: list[RecordedEvent] = []
    polls_with_data_while_writing = 0
    reader_errors: list[BaseException] = []

    def reader() -> None:
        nonlocal polls_with_data_while_writing
        tail = EventStore(alias)
        after = before.position
        try:
            start.wait(30)
            while True:
                still_writing = writing.is_set()
                page = tail.read_all(after, 1000)
                for ev in page:
                    # Tailing by position: the next event is always exactly after+1, never a later one.
                    assert ev.position == after + 1, f"reader skipped from {after} to {ev.position}"
                    seen.append(ev)
                    after = ev.position
                if page and still_writing:
                    polls_with_data_while_writing += 1
                if not page:
                    if not still_writing:
                        return  # the writers were done before this read began: it saw everything
                    time.sleep(0.002)
        except BaseException as exc:
            reader_errors.append(exc)
        finally:
            connections.close_all()

    def writer(i: int) -> list[RecordedEvent]:
        mine = EventStore(alias)
        out: list[RecordedEvent] = []
        start.wait(30)
        for n in range(per_writer):
            # Exact expected version under contention: each writer owns its stream.
            out += mine.append(streams[i], probes(1, start=n, text=f"writer {i} event {n}"), expected_version=n)
        return out

    tail_thread = threading.Thread(target=reader, daemon=True)
    tail_thread.start()
    written, errors = run_threads(WRITERS, writer)
    writing.clear()
    tail_thread.join(60)
    assert not tail_thread.is_alive(), "the reader did not finish"
    assert errors == [] and reader_errors == [], (errors, reader_errors)

    total = WRITERS * per_writer
    assert store.head() == before.position + total
    positions = [e.position for e in seen]
    assert len(positions) == total
    assert len(set(positions)) == total  # every position seen exactly once
    assert positions == list(range(before.position + 1, before.position + total + 1))  # in order, no gap
    assert polls_with_data_while_writing >= 2, "the reader never tailed while the writers were appending"

    # What the reader saw is exactly what the writers were told they wrote.
    by_id = {e.id: e for e in seen}
    assert len(by_id) == total
    for i, mine in enumerate(written):
        assert [e.stream_version for e in mine] == list(range(1, per_writer + 1))
        assert [e.data["n"] for e in mine] == list(range(per_writer))
        assert all(by_id[e.id].as_dict() == e.as_dict() and e.stream == streams[i] for e in mine)
        assert [e.position for e in mine] == sorted(e.position for e in mine)

    # One order for the hash chain too: each new event links to the one before it.
    previous = before.hash
    for ev in seen:
        assert ev.hash == chain_hash(
            position=ev.position, id=ev.id, type=ev.type, version=ev.version, stream=ev.stream,
            stream_version=ev.stream_version, data=ev.raw_data, metadata=ev.raw_metadata,
            recorded_at=ev.recorded_at, previous=previous,
        )
        previous = ev.hash


@pytest.mark.postgres
def test_eight_writers_500_appends_each_on_postgres_while_a_reader_tails(live_db):
    _tail_while_writing("postgres", 500)


def test_eight_writers_on_sqlite_while_a_reader_tails(live_db):
    _tail_while_writing("default", 100)


# --- conflicting expected versions ---------------------------------------------------------------------

ROUNDS = 12


@pytest.mark.parametrize("alias", ["default", "postgres"], ids=["sqlite", "postgres"])
@pytest.mark.parametrize("mode", ["exact", "no_stream"])
def test_two_writers_with_the_same_expected_version_exactly_one_wins(live_db, alias, mode):
    store = EventStore(alias)
    streams = [unique_key("race") for _ in range(ROUNDS)]
    if mode == "exact":
        for s in streams:
            store.append(s, probes(1))  # both writers decide against version 1
    expected: Any = 1 if mode == "exact" else NO_STREAM
    before = store.head()
    barrier = threading.Barrier(2)

    def writer(i: int) -> list[tuple[str, Any]]:
        mine, outcomes = EventStore(alias), []
        try:
            for s in streams:
                barrier.wait(30)
                try:
                    outcomes.append(("ok", mine.append(s, probes(2, start=10 * i), expected_version=expected)))
                except WrongExpectedVersion as exc:
                    outcomes.append(("conflict", exc))
        except BaseException:
            barrier.abort()  # fail fast: the other writer must not wait for this one
            raise
        return outcomes

    results, errors = run_threads(2, writer)
    assert errors == []
    base = 1 if mode == "exact" else 0
    for r, s in enumerate(streams):
        a, b = results[0][r], results[1][r]
        assert sorted([a[0], b[0]]) == ["conflict", "ok"], f"round {r}: {a[0]} / {b[0]}"
        (_, won), (_, lost) = (a, b) if a[0] == "ok" else (b, a)
        assert [e.stream_version for e in won] == [base + 1, base + 2]
        assert lost.expected == expected and lost.actual == base + 2
        # The stream holds the winner's events and nothing of the loser's.
        assert [e.id for e in store.read_stream(s)][base:] == [e.id for e in won]
    assert store.head() == before + 2 * ROUNDS


@pytest.mark.parametrize("alias", ["default", "postgres"], ids=["sqlite", "postgres"])
def test_the_same_idempotency_key_from_concurrent_writers_appends_once(live_db, alias):
    store = EventStore(alias)
    keys = [f"req-{uuid.uuid4()}" for _ in range(6)]
    streams = [unique_key("idem") for _ in keys]
    before = store.head()
    barrier = threading.Barrier(3)

    def writer(i: int) -> list[list[str]]:
        mine, out = EventStore(alias), []
        try:
            for k, s in zip(keys, streams):
                barrier.wait(30)
                out.append([e.id for e in mine.append(s, probes(2, start=i), idempotency_key=k)])
        except BaseException:
            barrier.abort()
            raise
        return out

    results, errors = run_threads(3, writer)
    assert errors == []
    for r, s in enumerate(streams):
        assert results[0][r] == results[1][r] == results[2][r]
        assert [e.id for e in store.read_stream(s)] == results[0][r]
    assert store.head() == before + 2 * len(keys)
