"""Audit figures: hash-chain verification (events/s) and time travel on a 100,000-event thread.

    .venv/bin/python benchmarks/audit.py [--events 100000] [--database-url sqlite:///…]

Builds a throw-away SQLite log (one thread: comments, replies, votes, edits) through the event store, then
measures `verify_chain` over the whole log and `comments_page_at` (the API's `at=P`) at several positions.
Goals (issue 6): verify >= 100,000 events/s; time travel to any position under 1 s. Key "workbench"
(benchmarks/audit_pages.py, issue 20): the staff thread page /audit/thread/<key>?at=P at 10, 50 and 100 %
(first visit and median; goal < 300 ms each), the history index's build and upkeep, and the incremental chain
check's cost per new event. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(database_url: str) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "threadlog.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(n_events: int, key: str) -> int:
    """Append a thread of about n_events events in batches (as many writers would have)."""
    from events.store import NO_STREAM, get_store
    from events.types import CommentEdited, CommentPosted, ThreadOpened, VoteCast

    store, rng = get_store(), random.Random(7)
    comments: list[str] = []
    store.append(key, [ThreadOpened(key=key, title="audit benchmark")], expected_version=NO_STREAM)
    written = 1
    while written < n_events:
        batch = []
        for _ in range(min(1000, n_events - written)):
            roll = rng.random()
            if roll < 0.45 or len(comments) < 10:
                cid = str(uuid.uuid4())
                parent = rng.choice(comments) if comments and rng.random() < 0.4 else None
                batch.append(CommentPosted(comment_id=cid, body=f"comment {len(comments)} " + "lorem ipsum " * 8,
                                           author_name=f"reader {rng.randrange(500)}",
                                           author_id=f"guest:{rng.randrange(500)}", parent_id=parent))
                comments.append(cid)
            elif roll < 0.95:
                batch.append(VoteCast(comment_id=rng.choice(comments), voter=f"guest:{rng.randrange(2000)}",
                                      value=rng.choice((1, 1, -1, 0))))
            else:
                batch.append(CommentEdited(comment_id=rng.choice(comments), body="edited " + "lorem " * 10,
                                           editor_id="guest:1"))
        store.append(key, batch)
        written += len(batch)
    return store.head()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="threadlog-audit-")
    setup(args.database_url or f"sqlite:///{tmp}/audit.sqlite3")
    from events.audit import verify_chain
    from events.store import get_store
    from projections.queries import comments_page_at

    key = "audit-bench"
    t0 = time.perf_counter()
    head = build(args.events, key)
    build_s = time.perf_counter() - t0
    store = get_store()
    from projections.snapshots import ensure

    t0 = time.perf_counter()
    ensure(store, key)  # what the projector service does as the thread grows (one snapshot per 5,000 events)
    snapshot_s = time.perf_counter() - t0

    verify_runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        report = verify_chain(store)
        verify_runs.append(time.perf_counter() - t0)
        assert report.ok, str(report)
    verify_s = min(verify_runs)

    travel = {}
    for fraction in (0.1, 0.37, 0.5, 0.99, 1.0):
        position = max(1, int(head * fraction))
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            page = comments_page_at(store, key=key, position=position, sort="most_voted", cursor=None, limit=50)
            runs.append(time.perf_counter() - t0)
            assert page is not None
        travel[f"at_{round(fraction * 100)}pct"] = {"position": position, "seconds_median": round(statistics.median(runs), 3),
                                                  "seconds_max": round(max(runs), 3)}
    worst = max(v["seconds_max"] for v in travel.values())
    from audit_pages import measure  # the workbench's thread page and incremental chain check (issue 20)

    workbench = measure(key, head, 1, args.repeat)
    print(json.dumps({
        "events": report.checked,
        "build_seconds": round(build_s, 2),
        "snapshots_seconds": round(snapshot_s, 2),
        "verify_events_per_s": round(report.checked / verify_s),
        "verify_goal_events_per_s": 100_000,
        "verify_meets_goal": report.checked / verify_s >= 100_000,
        "time_travel": travel,
        "time_travel_worst_seconds": worst,
        "time_travel_goal_seconds": 1.0,
        "time_travel_meets_goal": worst < 1.0,
        "workbench": workbench,
    }, indent=2))


if __name__ == "__main__":
    main()
