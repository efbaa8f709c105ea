"""The auditor's workbench: the thread page (/audit/thread/<key>?at=P) at 10, 50 and 100 % of a long thread,
and the incremental chain check's cost per new event.

    .venv/bin/python benchmarks/audit_pages.py [--events 100000]

Each page request goes through Django's test client, signed in as staff: URL routing, middleware, the view
(the step's event, the rows it changed before and after, one page of the comment tree, all read from the
history index: projections/history_index.py) and the template — everything but the socket. "first" is the
first request for that position after the thread was built and indexed (as the history processes keep it),
in a process that has served one page of another thread; the median is of the repeats. Also timed: building
the index of the whole thread once, and keeping it up (per new event).
The chain check: verify the whole log once (the checkpoint), append N events, time one check. Goals (issue
20): each page under 300 ms. benchmarks/audit.py runs this too and adds its figures. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid


def thread_page(key: str, head: int, first_position: int, repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from events.store import NO_STREAM, get_store
    from events.types import ThreadOpened

    user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:8]}", password="x",
                                                is_staff=True)
    client = Client()
    client.force_login(user)
    # A running server has imported its modules and compiled its templates: warm up on another (tiny) thread,
    # so that "first" is the first visit of that position of the long thread, not the process's first request.
    warm = f"warm-up-{uuid.uuid4().hex[:8]}"
    get_store().append(warm, [ThreadOpened(key=warm, title="warm-up")], expected_version=NO_STREAM)
    assert client.get(f"/audit/thread/{warm}").status_code == 200
    out = {}
    span = head - first_position
    for pct in (10, 50, 100):
        position = first_position + span * pct // 100
        runs = []
        for _ in range(1 + repeat):
            t0 = time.perf_counter()
            response = client.get(f"/audit/thread/{key}?at={position}")
            runs.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        out[f"at_{pct}pct"] = {"position": position, "first_ms": round(runs[0] * 1000, 1),
                               "median_ms": round(statistics.median(runs[1:]) * 1000, 1),
                               "max_ms": round(max(runs) * 1000, 1), "html_kb": round(len(response.content) / 1024)}
    worst = max(max(v["first_ms"], v["max_ms"]) for v in out.values())
    return {"thread_page": out, "thread_page_worst_ms": worst, "thread_page_goal_ms": 300,
            "thread_page_meets_goal": worst < 300}


def incremental_check(key: str, new_events: int) -> dict:
    from events.chain import check
    from events.store import get_store
    from events.types import VoteCast
    from projections import history_index

    store = get_store()
    t0 = time.perf_counter()
    first = check(store)  # from the last checkpoint (a full walk when there is none)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    idle = check(store)
    idle_s = time.perf_counter() - t0
    assert idle.new_events == 0
    comment = store.read_stream(key, 1, limit=1)[0].data["comment_id"]
    for start in range(0, new_events, 500):
        store.append(key, [VoteCast(comment_id=comment, voter=f"guest:new-{i}", value=1)
                           for i in range(start, min(start + 500, new_events))])
    t0 = time.perf_counter()
    status = check(store)
    seconds = time.perf_counter() - t0
    assert status.ok and status.new_events == new_events, status
    index_us = {}
    for when in ("cold", "warm"):  # cold: the thread's state loaded from a snapshot first; warm: kept in memory
        if when == "warm":
            store.append(key, [VoteCast(comment_id=comment, voter=f"guest:warm-{i}", value=1)
                               for i in range(new_events)])
        t0 = time.perf_counter()
        indexed = history_index.ensure(store, key)  # what a history process does as the thread grows
        index_us[when] = round((time.perf_counter() - t0) / new_events * 1e6, 1)
        assert indexed == new_events, indexed
    return {"history_index_per_new_event_us": index_us, "chain_check": {
        "first_check_events": first.new_events, "first_check_seconds": round(first_s, 3),
        "no_new_events_ms": round(idle_s * 1000, 2),
        "new_events": new_events, "check_ms": round(seconds * 1000, 1),
        "per_new_event_us": round((seconds - idle_s) / new_events * 1e6, 2),
    }}


def measure(key: str, head: int, first_position: int, repeat: int = 3, new_events: int = 1000) -> dict:
    from events.chain import check
    from events.store import get_store
    from projections import history_index
    from projections.history_models import HistoryVersion

    # The history processes keep each long thread's history index up as they follow the log (as they keep its
    # snapshots): built here once, timed, and then forgotten from memory, so that no page finds a warm state.
    t0 = time.perf_counter()
    history_index.ensure(get_store(), key)
    index = {"history_index": {"build_seconds": round(time.perf_counter() - t0, 1),
                               "rows": HistoryVersion.objects.filter(thread_key=key).count()}}
    history_index.forget_states()

    # The log's first check walks it all, once in its life (then only new events): timed apart from the pages.
    t0 = time.perf_counter()
    walked = check(get_store()).new_events
    first_walk = {"chain_first_walk": {"events": walked, "seconds": round(time.perf_counter() - t0, 2)}}
    return {**index, **first_walk, **thread_page(key, head, first_position, repeat), **incremental_check(key, new_events)}


def main() -> None:
    import audit  # benchmarks/audit.py: the same setup and thread

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--new-events", type=int, default=1000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="threadlog-audit-pages-")
    audit.setup(f"sqlite:///{tmp}/audit.sqlite3")
    from events.store import get_store
    from projections.snapshots import ensure

    key = "audit-bench"
    t0 = time.perf_counter()
    head = audit.build(args.events, key)
    build_s = time.perf_counter() - t0
    ensure(get_store(), key)  # as the projector service keeps them
    print(json.dumps({"events": head, "build_seconds": round(build_s, 1),
                      **measure(key, head, 1, args.repeat, args.new_events)}, indent=2))


if __name__ == "__main__":
    main()
