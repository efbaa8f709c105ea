"""Events per second replayed into the projections by `projections.rebuild.rebuild` (SQLite).

    .venv/bin/python benchmarks/rebuild.py [--quick] [--events N] [--repeat R] [--db PATH] [--threads T]
                                           [--offline] [--rss]

A log of about N events (default 100,000: comments, replies and votes of one thread, made by
benchmarks/make_thread.py through the event store, with its share of Markdown bodies and of moderation events:
held comments and their decisions, reports, hidden and pinned comments; the JSON's "workload" counts them) in a
throw-away SQLite database; then a full rebuild
(read the log, fold it into memory while a second process renders most bodies, replace the read-model tables,
write the live frames each thread keeps and the checkpoint), timed R times (default 3; the best and the median
are reported). The parts are timed too: reading the log alone, and the whole replay in memory (no writes).
Goal: >= 50,000 events/s.

The rebuild timed is `threadlog projections rebuild`'s (projections.online: new tables while writes continue, a
short lock for the switch), until the new read model serves; the old tables it switched out are then dropped, as the
command does once it has reported, and timed apart (`old_tables_dropped`; `rebuild_median_with_drop` counts them in).
`--offline` times the one that holds the append lock throughout (projections.rebuild).
`--threads T` spreads the events over T threads; `--rss` runs one more rebuild in a fresh process and reports its
peak resident memory, e.g. `--events 1000000 --threads 2000 --repeat 1 --rss`.
`--writer` keeps a second process posting a comment every 20 ms (an append and its projection, in one write
transaction, as the write path does) while the timed rebuilds run, and reports how long its writes took: the
longest is the wait for the rebuild's switch.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def workload(store, head: int) -> dict:
    """What the log holds: events by type, and how many bodies are Markdown and how many of those use it (they go
    through markdown-it; a Markdown body without any syntax renders as plain text does)."""
    from collections import Counter

    from projections.markdown import _plain_looking

    types: Counter = Counter()
    bodies: Counter = Counter()
    for ev in store.iter_for_projection(0, until=head):
        types[ev.type] += 1
        if ev.type in ("CommentPosted", "CommentEdited"):
            fmt = ev.data.get("format", "plain")
            bodies[fmt] += 1
            if fmt == "markdown" and not _plain_looking(ev.data["body"]):
                bodies["markdown_with_syntax"] += 1
    total = sum(bodies[f] for f in ("plain", "markdown")) or 1
    return {"events_by_type": dict(types.most_common()), "bodies": dict(bodies),
            "markdown_share": round(bodies["markdown"] / total, 3),
            "markdown_with_syntax_share": round(bodies["markdown_with_syntax"] / total, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10,000 events, one repeat")
    ap.add_argument("--events", type=int, default=None, help="about this many events in the log (100000)")
    ap.add_argument("--repeat", type=int, default=None, help="timed rebuilds (3)")
    ap.add_argument("--db", default=None, help="SQLite file to build (or reuse) the log in; default: temporary")
    ap.add_argument("--threads", type=int, default=1, help="threads the events are spread over (1)")
    ap.add_argument("--offline", action="store_true", help="time the rebuild that holds the append lock throughout")
    ap.add_argument("--rss", action="store_true", help="peak memory of one more rebuild, in a fresh process")
    ap.add_argument("--writer", action="store_true", help="a second process posts every 20 ms during the rebuilds")
    ap.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--writer-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        return rss_child(args.db)
    if args.writer_child:
        return writer_child(args.db)
    events = args.events or (10_000 if args.quick else 100_000)
    repeat = args.repeat or (1 if args.quick else 3)

    from make_thread import make_thread, sqlite_django

    _, tmp = sqlite_django(args.db, "rebuild")
    from django.db import connections

    from events.store import EventStore
    from projections.models import CommentView, LiveFrame
    from projections.online import drop_old_tables, rebuild_online
    from projections.rebuild import rebuild as rebuild_offline
    from projections.rebuild import replay

    rebuild = rebuild_offline if args.offline else rebuild_online
    store = EventStore()
    built = None
    if store.head() == 0:
        comments = events * 2 // 3 // args.threads  # + one vote per two comments = `events` events
        made = [make_thread(f"bench-rebuild-{comments}-{t}", comments, project="none", moderation=True, seed=t)
                for t in range(args.threads)]
        built = made[0] if len(made) == 1 else {"threads": len(made), "events": sum(m["events"] for m in made),
                                                "append_seconds": round(sum(m["append_seconds"] for m in made), 1)}
    head = store.head()
    work = workload(store, head)

    t0 = time.monotonic()
    list(store.iter_for_projection(0, until=head))
    read_s = time.monotonic() - t0
    t0 = time.monotonic()
    replay(store, head)  # read, fold and render (in two processes): everything but writing the tables
    replay_s = time.monotonic() - t0

    writer = None
    if args.writer:
        db = str(Path(connections["default"].settings_dict["NAME"]))
        writer = subprocess.Popen([sys.executable, __file__, "--writer-child", "--db", db], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        writer.stdout.readline()  # ready
    runs, switches, cpu, drops = [], [], [], []
    for _ in range(repeat):
        t0 = time.monotonic()
        before = _cpu()
        stats: dict = {}
        rebuild(store) if args.offline else rebuild(store, stats=stats, drop_old=False)
        runs.append(time.monotonic() - t0)  # done: the new read model serves
        cpu.append([round(b - a, 2) for a, b in zip(before, _cpu())])
        switches.append(stats)
        if not args.offline:  # as `threadlog projections rebuild` does after it has reported: timed apart
            t1, c1 = time.monotonic(), time.process_time()
            drop_old_tables(store.using)
            drops.append([round(time.monotonic() - t1, 2), round(time.process_time() - c1, 2)])
    best, median = min(runs), statistics.median(runs)
    result = {
        "benchmark": "rebuild", "database": "sqlite", "events": head, "built": built, "workload": work,
        "unit": "events/s",
        "rebuild_best": round(head / best, 1), "rebuild_median": round(head / median, 1),
        "rebuild": "offline (append lock held)" if args.offline else "online (projections rebuild)",
        "rebuild_seconds": [round(r, 2) for r in runs],
        # CPU seconds of each rebuild: [this process, its render helpers] (the A/B figure on a shared machine)
        "rebuild_cpu_seconds": cpu,
        "switches": switches if not args.offline else None,
        # Online: the old tables dropped after each rebuild has returned (the new model live), as the command does
        # once it has reported: [seconds, CPU seconds] each; not in the rates above. The rate with them counted:
        "old_tables_dropped": drops if not args.offline else None,
        "rebuild_median_with_drop": round(head / statistics.median(r + d[0] for r, d in zip(runs, drops)), 1)
        if drops else None,
        "parts": {"read_log": round(head / read_s, 1), "replay_in_memory": round(head / replay_s, 1)},
        "rows": {"comments": CommentView.objects.count(), "frames": LiveFrame.objects.count()},
        "goal": {"events_per_s": 50_000, "met": head / median >= 50_000},
    }
    if writer is not None:
        out, _ = writer.communicate("", timeout=120)
        result["writer"] = json.loads(out.strip().splitlines()[-1])
    if args.rss:
        db = str(Path(connections["default"].settings_dict["NAME"]))
        out = subprocess.run([sys.executable, __file__, "--rss-child", "--db", db], capture_output=True, text=True,
                             check=True)
        result["peak_rss"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=2))
    if tmp:
        connections.close_all()
        tmp.cleanup()


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) so far of this process and of its children that have exited (the render helpers,
    waited for when a rebuild ends; the --writer child is still running then, so it is not counted)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def writer_child(db: str) -> None:
    """Post a comment every 20 ms until stdin closes; then the write times (seconds) as JSON."""
    import select
    import uuid

    from make_thread import sqlite_django

    sqlite_django(db, "rebuild")
    from events.formats import CommentPosted
    from events.store import ANY, EventStore
    from events.types import ThreadOpened
    from projections.base import project_pending

    store = EventStore()
    if not store.stream_version("bench-writer"):
        with store.write_transaction():
            project_pending(store, store.append("bench-writer", [ThreadOpened(key="bench-writer", title="writer")]))
    times: list[float] = []
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0.02)[0]:
        t0 = time.monotonic()
        with store.write_transaction():
            recorded = store.append("bench-writer", [CommentPosted(comment_id=str(uuid.uuid4()), body="meanwhile",
                                                                   author_id="guest:writer")], expected_version=ANY)
            project_pending(store, recorded)
        times.append(time.monotonic() - t0)
    times.sort()
    print(json.dumps({"writes": len(times), "max_seconds": round(times[-1], 3) if times else None,
                      "p99_seconds": round(times[int(len(times) * 0.99)], 3) if times else None,
                      "median_seconds": round(times[len(times) // 2], 4) if times else None}))


def rss_child(db: str) -> None:
    """One online rebuild of the log in `db`, in this fresh process: its peak resident memory. (Its render helpers
    hold one batch at a time; RUSAGE_CHILDREN would report this process's size at their fork, not theirs.)"""
    from make_thread import sqlite_django

    sqlite_django(db, "rebuild")
    from events.store import EventStore
    from projections.online import rebuild_online

    store = EventStore()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    rebuild_online(store)
    print(json.dumps({"events": store.head(), "seconds": round(time.monotonic() - t0, 1),
                      "rebuild_process_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "before_rebuild_mib": round(before / 1024, 1)}))


if __name__ == "__main__":
    main()
