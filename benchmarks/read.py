"""First-page latency of a thread in each sort, for threads of 1,000, 10,000 and 100,000 comments (SQLite).

    .venv/bin/python benchmarks/read.py [--quick] [--sizes 1000,10000,100000] [--repeat 200] [--db PATH]

Threads are made by benchmarks/make_thread.py (the real write path: event store appends, then the projections)
in a throw-away SQLite database (`--db PATH` keeps and reuses one). Each measurement is one call of
projections.queries.comments_page (50 top-level comments with their replies nested), the API's read path.
Prints JSON: p50/p95 in ms per size and sort, the query plans (EXPLAIN QUERY PLAN) of every sort's queries
on the largest thread, and the goals (p95 < 20 ms at 100,000 comments; within 2x of the 1,000-comment thread).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="threads of 1,000 and 10,000 comments, 50 repeats")
    ap.add_argument("--sizes", default=None, help="comma-separated thread sizes (default 1000,10000,100000)")
    ap.add_argument("--repeat", type=int, default=None, help="timed calls per size and sort (default 200)")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--db", default=None, help="SQLite file to build (or reuse) the threads in; default: temporary")
    args = ap.parse_args()
    sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else "1000,10000,100000")).split(",")]
    repeat = args.repeat or (50 if args.quick else 200)

    from make_thread import make_thread, sqlite_django

    _, tmp = sqlite_django(args.db, "read")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from events.store import EventStore
    from projections.queries import SORTS, comments_page, thread_summary
    from projections.rebuild import rebuild

    store = EventStore()
    built = {}
    for n in sizes:
        key = f"bench-{n}"
        if store.stream_version(key) == 0:
            built[key] = make_thread(key, n, project="none")
    if built:
        t0 = time.monotonic()
        rebuild(store)
        built["rebuild_seconds"] = round(time.monotonic() - t0, 2)

    result: dict = {"benchmark": "read", "database": "sqlite", "limit": args.limit, "repeat": repeat,
                    "unit": "ms", "built": built, "threads": {}}
    for n in sizes:
        thread = thread_summary(key=f"bench-{n}")
        figures = {}
        for sort in SORTS:
            for _ in range(5):
                comments_page(thread=thread, sort=sort, cursor=None, limit=args.limit)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                page = comments_page(thread=thread, sort=sort, cursor=None, limit=args.limit)
                times.append((time.perf_counter() - t0) * 1000)
            replies = sum(_count(c["replies"]) for c in page.comments)
            figures[sort] = {"p50": round(statistics.median(times), 2), "p95": round(percentile(times, 0.95), 2),
                             "top_level": len(page.comments), "replies": replies}
        result["threads"][str(n)] = {"comments": thread.comment_count, "sorts": figures}

    # The SQL of each sort on the largest thread, and SQLite's plan for it.
    largest = thread_summary(key=f"bench-{max(sizes)}")
    plans, full_scans = {}, []
    for sort in SORTS:
        with CaptureQueriesContext(connection) as ctx:
            comments_page(thread=largest, sort=sort, cursor=None, limit=args.limit)
        plans[sort] = []
        for q in ctx.captured_queries:
            if "threadlog_comment" not in q["sql"]:
                continue
            with connection.cursor() as cur:
                cur.execute("EXPLAIN QUERY PLAN " + q["sql"])
                plan = [row[-1] for row in cur.fetchall()]
            plans[sort].append({"sql": q["sql"][:300], "plan": plan})
            full_scans += [f"{sort}: {p}" for p in plan
                           if (p.startswith("SCAN") and "INDEX" not in p) or "TEMP B-TREE" in p]
    result["query_plans"] = plans
    result["plans_use_indexes"] = not full_scans
    if full_scans:
        result["plan_problems"] = full_scans

    big, small = str(max(sizes)), str(min(sizes))
    worst_big = max(f["p95"] for f in result["threads"][big]["sorts"].values())
    ratios = {s: round(result["threads"][big]["sorts"][s]["p95"] / result["threads"][small]["sorts"][s]["p95"], 2)
              for s in SORTS}
    result["goal"] = {
        "p95_ms_largest_worst_sort": worst_big,
        "under_20ms": worst_big < 20,
        f"p95_ratio_{big}_vs_{small}": ratios,
        "within_2x": max(ratios.values()) <= 2,
    }
    print(json.dumps(result, indent=2))
    if tmp:
        from django.db import connections

        connections.close_all()
        tmp.cleanup()


def _count(replies: list) -> int:
    return sum(1 + _count(r["replies"]) for r in replies)


if __name__ == "__main__":
    main()
