"""Append and read throughput of the event log, against the `eventsourcing` library's recorders.

    .venv/bin/python benchmarks/append.py [--quick] [-n N] [--rounds R] [--backend sqlite|postgres|both]

Workloads (events/s): N appends of one ~200-byte event by one writer; the same by 8 writer processes; N events
in appends of 100; then reading the whole log back (both sides decode each event's JSON payload; eventsourcing's
undecoded figure is shown too). Each runs on SQLite and on PostgreSQL, for threadlog's EventStore and for
eventsourcing's SQLite/PostgreSQL application recorders (installed from PyPI into benchmarks/.venv-eventsourcing
on first run). Every figure is one subprocess on a throw-away database, the two sides interleaved workload by
workload (so a busy machine slows both alike); with R rounds each side's best figure is kept.
Prints JSON with both sides' figures and ratio = threadlog / eventsourcing (goal: >= 1 everywhere).
Positions are checked gap-free (1..head in order) on every read.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ES_VENV = HERE / ".venv-eventsourcing"
ES_PYTHON = ES_VENV / "bin" / "python"
PG = dict(host="127.0.0.1", port=5432, user="postgres")
WORKLOADS = ("append_1_writer", "append_8_writers", "append_batch_100", "read_all")
ES_REQUIREMENTS = ["eventsourcing[postgres]>=9.3", "psycopg[binary]>=3.2"]


def ensure_es_venv() -> None:
    if ES_PYTHON.exists() and subprocess.run([str(ES_PYTHON), "-c", "import eventsourcing.postgres"],
                                             capture_output=True).returncode == 0:
        return
    print("creating benchmarks/.venv-eventsourcing …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(ES_VENV)], check=True)
    subprocess.run([str(ES_VENV / "bin" / "pip"), "install", "-q", *ES_REQUIREMENTS], check=True)


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql)


# --- threadlog's side (a subprocess with DATABASE_URL set) --------------------------------------------


def ours(workload: str, n: int, tag: str) -> dict:
    from make_thread import setup_django

    setup_django()
    from django.db import connections

    import _workload
    from events.store import NO_STREAM, EventStore
    from events.anchors import CommentPosted  # the version the application writes today (v4)


    def make_appender():
        store = EventStore()
        meta = {"actor": "bench"}

        def append(stream: str, first_version: int, payloads: list) -> None:
            store.append(stream, [CommentPosted(**p) for p in payloads],
                         expected_version=first_version - 1 if first_version > 1 else NO_STREAM, metadata=meta)

        return append

    def read_all() -> int:
        store, count, after = EventStore(), 0, 0
        while True:
            page = store.read_all(after, 1000)
            if page and [e.position for e in page] != list(range(after + 1, after + 1 + len(page))):
                raise SystemExit("positions are not gap-free")
            count += len(page)
            if len(page) < 1000:
                return count
            after = page[-1].position

    return _workload.run_one(workload, make_appender, read_all, n=n, tag=tag, before_fork=connections.close_all)


# --- the driver ------------------------------------------------------------------------------------------


def run_side(cmd: list[str], env: dict | None = None) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=str(HERE))
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def backend(kind: str, n: int, rounds: int, tmp: Path) -> dict:
    tag = uuid.uuid4().hex[:8]
    if kind == "sqlite":
        ours_url, es_target = f"sqlite:///{tmp / f'threadlog-{tag}.sqlite3'}", str(tmp / f"eventsourcing-{tag}.sqlite3")
        cleanup = []
    else:
        db_ours, db_es = f"bench_append_tl_{tag}", f"bench_append_es_{tag}"
        pg_admin(f"CREATE DATABASE {db_ours}")
        pg_admin(f"CREATE DATABASE {db_es}")
        ours_url, es_target = f"postgres://postgres@127.0.0.1:5432/{db_ours}", db_es
        cleanup = [db_ours, db_es]
    env = {"DATABASE_URL": ours_url, "DJANGO_SETTINGS_MODULE": "threadlog.settings",
           "THREADLOG_VAR": str(tmp / "var"), "RATE_LIMITS": "off"}
    runs: dict = {"threadlog": [], "eventsourcing": []}
    try:
        for r in range(rounds):
            for w in WORKLOADS:
                t = lambda: runs["threadlog"].append(run_side(  # noqa: E731
                    [sys.executable, str(HERE / "append.py"), "--side", "ours", "--workload", w, "-n", str(n),
                     f"--tag=-r{r}"], env))
                e = lambda: runs["eventsourcing"].append(run_side(  # noqa: E731
                    [str(ES_PYTHON), str(HERE / "_append_eventsourcing.py"), kind, es_target, str(n), w, f"-r{r}"]))
                for side in ((t, e) if r % 2 == 0 else (e, t)):
                    side()
    finally:
        for db in cleanup:
            pg_admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    out: dict = {}
    for side, figures in runs.items():
        best: dict = {}
        for fig in figures:
            for k, v in fig.items():
                if k in WORKLOADS or k == "read_all_undecoded":
                    best[k] = max(best.get(k, 0), v)
        if rounds > 1:
            best["all_rounds"] = figures
        out[side] = best
    out["ratio"] = {w: round(out["threadlog"][w] / out["eventsourcing"][w], 2) for w in WORKLOADS}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5,000 events instead of 50,000")
    ap.add_argument("-n", type=int, default=None, help="events per workload (default 50,000)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat every workload R times, keep the best (1)")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--side", choices=["ours"], help=argparse.SUPPRESS)
    ap.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    ap.add_argument("--tag", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = args.n or (5_000 if args.quick else 50_000)
    if args.side == "ours":
        print(json.dumps(ours(args.workload, n, args.tag)))
        return
    ensure_es_venv()
    started = time.monotonic()
    result: dict = {"benchmark": "append", "events": n, "payload_bytes": 200, "events_per_stream": 100,
                    "writers": "8 processes", "batch": 100, "rounds": args.rounds, "unit": "events/s",
                    "cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0]}
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="threadlog-bench-") as tmp:
        for kind in kinds:
            result["sqlite" if kind == "sqlite" else "postgresql"] = backend(kind, n, args.rounds, Path(tmp))
    ratios = [r for k in ("sqlite", "postgresql") if k in result for r in result[k]["ratio"].values()]
    result["min_ratio"] = min(ratios)
    result["goal_met"] = min(ratios) >= 1
    result["load_average_after"] = os.getloadavg()[0]
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
