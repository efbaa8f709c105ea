"""Does a slow public read hold up quick ones? First-page latency alone and beside two time travellers.

    .venv/bin/python benchmarks/latency.py                     # SQLite and PostgreSQL, 100,000-event thread
    .venv/bin/python benchmarks/latency.py --backend sqlite --quick
    .venv/bin/python benchmarks/latency.py --history-processes 0    # time travel on the request threads

For each database: a thread of about 100,000 events (66,667 comments, 33,333 votes: benchmarks/make_thread.py)
in a fresh database, one `threadlog serve` process (RATE_LIMITS=off). Then, in rounds, interleaved:
- alone: one client (a process of its own, one keep-alive connection) asks for the thread's first page
  (`GET /api/threads/{key}/comments`, 50 top-level comments with their replies) back to back;
- beside: the same client, while two other clients each ask for the thread as it stood at a random position
  in the middle half of the log (`?at=P`), back to back.
Reported: the first page's p50/p99 alone and beside (all rounds pooled), their ratio (goal: beside p99 <= 3x
alone p99, issue 16), the time travels' own latencies and how many were answered 503 (admission control),
and the first time travel after the server started (snapshots kept up by the history process: goal, as fast
as the later ones). The machine is shared: the load average is printed, and rounds alternate so that a busy
spell hits both sides.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers  # noqa: E402
from _servers import ROOT, VENV_BIN, percentile  # noqa: E402

SNAPSHOT_EVERY = 5_000


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.read()


def client(port: int, paths: list[str], until: float, out) -> None:
    """Ask for the paths in turn until `until`; send back [(seconds, status), ...]."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    rng = random.Random(os.getpid())
    samples = []
    while time.time() < until:
        path = paths[0] if len(paths) == 1 else rng.choice(paths)
        t0 = time.perf_counter()
        status, _ = _get(conn, path)
        samples.append((time.perf_counter() - t0, status))
        if status == 503:
            time.sleep(0.05)  # as a client honouring Retry-After would, briefly
    conn.close()
    out.send(samples)


def run_clients(port: int, groups: list[list[str]], seconds: float) -> list[list[tuple[float, int]]]:
    until = time.time() + seconds
    procs, pipes = [], []
    for paths in groups:
        parent, child = multiprocessing.Pipe(duplex=False)
        p = multiprocessing.Process(target=client, args=(port, paths, until, child))
        p.start()
        procs.append(p)
        pipes.append(parent)
    results = [pipe.recv() for pipe in pipes]
    for p in procs:
        p.join()
    return results


def ms(values: list[float], q: float) -> float:
    return round(percentile(sorted(values), q) * 1000, 2) if values else float("nan")


def snapshots_stored(database_url: str, key: str) -> int:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return conn.execute("SELECT COUNT(*) FROM threadlog_snapshot WHERE thread_key = ?", [key]).fetchone()[0]
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute("SELECT COUNT(*) FROM threadlog_snapshot WHERE thread_key = %s", [key]).fetchone()[0]


def bench(backend: str, args, tmp: Path) -> dict:
    pg = _servers.PostgresDatabase() if backend == "postgres" else None
    url = pg.url if pg else f"sqlite:///{tmp / 'latency.sqlite3'}"
    env = {"HISTORY_PROCESSES": str(args.history_processes)}
    server = _servers.ThreadlogServer(tmp, database_url=url, env=env)
    key = "latency-100k"
    comments = round(args.events / 1.5)
    try:
        made = subprocess.run(
            [str(VENV_BIN / "python"), str(ROOT / "benchmarks" / "make_thread.py"), "--key", key,
             "--comments", str(comments)],
            env={**server.env, "DJANGO_SETTINGS_MODULE": "threadlog.settings"}, cwd=ROOT, check=True,
            capture_output=True, text=True)
        thread = json.loads(made.stdout.strip().splitlines()[-1])
        head = thread["head"]
        due = thread["events"] // SNAPSHOT_EVERY
        server.start()
        started = time.monotonic()
        if args.history_processes > 0:  # the history process builds the snapshots; no request does
            while snapshots_stored(url, key) < due and time.monotonic() - started < 300:
                time.sleep(0.2)
        snapshots_after = round(time.monotonic() - started, 2)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        first_page = f"/api/threads/{key}/comments"
        _get(conn, first_page)
        at_paths = [f"/api/threads/{key}/comments?at={p}" for p in
                    random.Random(1).sample(range(head // 4, 3 * head // 4), 200)]
        t0 = time.perf_counter()
        status, _ = _get(conn, f"/api/threads/{key}/comments?at={head // 2}")
        first_at = time.perf_counter() - t0
        later = []
        for p in (head // 2 + 1, head // 2 + 7, head // 2 + 13):
            t0 = time.perf_counter()
            _get(conn, f"/api/threads/{key}/comments?at={p}")
            later.append(time.perf_counter() - t0)
        conn.close()
        alone, beside, travels = [], [], []
        for _ in range(args.rounds):
            [a] = run_clients(server.port, [[first_page]], args.seconds)
            alone += a
            b, *tt = run_clients(server.port, [[first_page], at_paths, at_paths], args.seconds)
            beside += b
            for t in tt:
                travels += t
        errors = sum(1 for _, s in alone + beside if s != 200)
        ok_travel = [s for s, st in travels if st == 200]
        a99, b99 = ms([s for s, _ in alone], 99), ms([s for s, _ in beside], 99)
        return {
            "events": thread["events"], "head": head,
            "snapshots": {"due": due, "stored_by_history_process_within_s": snapshots_after},
            "first_time_travel_ms": round(first_at * 1000, 1), "next_time_travels_ms": [round(x * 1000, 1) for x in later],
            "first_time_travel_status": status,
            "first_page_alone": {"requests": len(alone), "p50_ms": ms([s for s, _ in alone], 50), "p99_ms": a99},
            "first_page_beside_two_time_travellers": {"requests": len(beside), "p50_ms": ms([s for s, _ in beside], 50),
                                                      "p99_ms": b99},
            "beside_over_alone_p99": round(b99 / a99, 2),
            "goal_beside_le_3x_alone": b99 <= 3 * a99,
            "first_page_errors": errors,
            "time_travel": {"answered": len(ok_travel), "busy_503": sum(1 for _, st in travels if st == 503),
                            "other": sum(1 for _, st in travels if st not in (200, 503)),
                            "p50_ms": ms(ok_travel, 50), "p99_ms": ms(ok_travel, 99)},
        }
    finally:
        server.stop()
        if pg:
            pg.drop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--events", type=int, default=100_000, help="events in the thread (default 100000)")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds per phase (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="alone/beside rounds, interleaved (default 3)")
    ap.add_argument("--history-processes", type=int, default=1,
                    help="HISTORY_PROCESSES for the server (default 1; 0: time travel on the request threads)")
    ap.add_argument("--quick", action="store_true", help="2 rounds of 3 s")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds = 3.0, 2
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    out = {"load_average_before": os.getloadavg(), "history_processes": args.history_processes,
           "seconds_per_phase": args.seconds, "rounds": args.rounds}
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="threadlog-latency-") as tmp:
            out[backend] = bench(backend, args, Path(tmp))
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
