"""Threads partitioned across N PostgreSQL databases: write throughput per N, on this machine.

    .venv/bin/python benchmarks/partition_sim.py                          # N = 1, 2, 4; 8 writers; 6,000 commands
    .venv/bin/python benchmarks/partition_sim.py --partitions 1,2 --commands 2000 --writers 4
    .venv/bin/python benchmarks/partition_sim.py --replay log.jsonl       # a recorded log (`threadlog export`)

What it simulates (docs/scaling.md, "Past one database"): each partition is a database of its own (a throw-away
PostgreSQL database on 127.0.0.1:5432, copied from one migrated template) with its own append lock, its own
gap-free positions and its own hash chain. A thread lives in exactly one partition, chosen by a stable hash of
its key (crc32 % N), so a thread's events stay in order in one log and a reader's resume position stays a
position in that partition.

The workload: a generated one (`--commands` commands over `--threads` threads whose popularity follows a Zipf
law, 65 % comments (a third of them replies), 35 % votes), or a recorded one (`--replay`: the CommentPosted and
VoteCast events of an export, by thread, in log order). The same workload runs for every N.

`--writers` writer processes in all (as the web nodes' write threads would be); with N partitions, N/W of them
write to each partition, each owning a fixed share of its threads (so a thread's commands stay in order).
A writer runs the real command path in-process (threadlog.commands.handle: decide, append and project under the
partition's lock, one transaction), no HTTP. Afterwards every partition must pass `threadlog audit verify` (its
chain, gap-free positions) and `threadlog projections verify`.

Prints JSON per N: events/s (all partitions), each partition's events, command time p50/p99 (waiting for the
lock included), writer CPU per event, and the verify results. Also `single_writer`: one writer on one
partition, whose command time is the time a command holds the lock (nothing else waits), and the lock-bound
ceiling of one partition, 1000 / that (ms).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers  # noqa: E402
from _servers import ROOT, VENV_BIN, percentile  # noqa: E402


# --- the workload ----------------------------------------------------------------------------------------

def generated(commands: int, threads: int, seed: int) -> list[tuple[str, str]]:
    """(thread key, "post" | "reply" | "vote"), Zipf-popular threads; a thread's first command is a post."""
    rng = random.Random(seed)
    keys = [f"sim-{seed}-{i:04d}" for i in range(threads)]
    weights = [1 / (i + 1) ** 1.1 for i in range(threads)]
    seen: set[str] = set()
    out = []
    for key in rng.choices(keys, weights, k=commands):
        roll = rng.random()
        kind = "post" if key not in seen or roll < 0.43 else "reply" if roll < 0.65 else "vote"
        seen.add(key)
        out.append((key, kind))
    return out


def replayed(path: Path) -> list[tuple[str, str]]:
    """The comments and votes of a recorded log (`threadlog export`), in log order."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            ev = json.loads(line)
            if ev.get("type") == "CommentPosted":
                out.append((ev["stream"], "reply" if (ev.get("data") or {}).get("parent_id") else "post"))
            elif ev.get("type") == "VoteCast":
                out.append((ev["stream"], "vote"))
    return out


# --- a writer process --------------------------------------------------------------------------------------

def _writer(database_url: str, var: str, commands: list[tuple[str, str]], seed: int, start, out) -> None:
    os.environ.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "threadlog.settings",
                       "THREADLOG_VAR": var, "RATE_LIMITS": "off"})
    for p in (str(ROOT), str(ROOT / "platform")):
        if p not in sys.path:
            sys.path.insert(0, p)
    import django

    django.setup()
    from threadlog.commands import Actor, CastVote, PostComment, handle

    rng = random.Random(seed)
    comments: dict[str, list[str]] = {}
    durations: list[float] = []
    events = 0
    start.wait()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for i, (thread, kind) in enumerate(commands):
        known = comments.get(thread)
        actor = Actor(f"guest:sim-{seed}-{rng.randrange(200)}")
        if kind == "vote" and known:
            command = CastVote(comment_id=rng.choice(known), value=rng.choice((1, -1)))
        else:
            command = PostComment(thread=thread, body=f"Comment {i} of writer {seed}: a few words for the simulation.",
                                  author_name="Sim", parent_id=rng.choice(known) if kind == "reply" and known else None)
        began = time.perf_counter()
        result = handle(command, actor)
        durations.append(time.perf_counter() - began)
        events += len(result.recorded) if result.appended else 0
        if isinstance(command, PostComment):
            comments.setdefault(thread, []).append(result.comment_id)
    out.put({"events": events, "seconds": time.perf_counter() - t0, "cpu": time.process_time() - cpu0,
             "durations": durations})


def run(workload: list[tuple[str, str]], n: int, writers: int, template: str, var: Path) -> dict:
    """The workload on n partitions (databases copied from the migrated template) by `writers` processes."""
    import multiprocessing

    import psycopg

    writers = max(writers, n)
    names = [f"threadlog_part_{uuid.uuid4().hex[:8]}_{p}" for p in range(n)]
    admin = _servers.POSTGRES_ADMIN_URL.replace("postgres://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    urls = [_servers.POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name for name in names]
    try:
        # writer w writes to partition w % n and owns the threads of that partition whose hash picks it
        shares: list[list[tuple[str, str]]] = [[] for _ in range(writers)]
        for thread, kind in workload:
            h = zlib.crc32(thread.encode())
            mine = list(range(h % n, writers, n))  # the writers of this thread's partition
            shares[mine[(h // n) % len(mine)]].append((thread, kind))
        ctx = multiprocessing.get_context("spawn")
        start, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_writer, args=(urls[w % n], str(var), shares[w], w, start, out))
                 for w in range(writers)]
        for proc in procs:
            proc.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        start.set()
        results = [out.get(timeout=3600) for _ in procs]
        wall = time.perf_counter() - t0
        for proc in procs:
            proc.join(30)
        heads = []
        verify = []
        for url in urls:
            env = {**os.environ, "DATABASE_URL": url, "THREADLOG_VAR": str(var)}
            env.pop("DJANGO_SETTINGS_MODULE", None)
            audit = subprocess.run([str(VENV_BIN / "threadlog"), "audit", "verify"], env=env, cwd=ROOT,
                                   capture_output=True, text=True)
            proj = subprocess.run([str(VENV_BIN / "threadlog"), "projections", "verify"], env=env, cwd=ROOT,
                                  capture_output=True, text=True)
            with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
                heads.append(conn.execute("SELECT COALESCE(MAX(position), 0), COUNT(*) FROM threadlog_events")
                             .fetchone())
            verify.append({"audit_verify": audit.returncode == 0, "projections_verify": proj.returncode == 0,
                           "audit_output": audit.stdout.strip()[-160:]})
        events = sum(r["events"] for r in results)
        durations = [d for r in results for d in r["durations"]]
        per_part = [int(c) for _, c in heads]
        return {
            "partitions": n, "writers": writers, "commands": len(workload), "events": events,
            "seconds": round(wall, 2), "events_per_second": round(events / wall, 1),
            "events_per_partition": per_part,
            "gap_free": all(int(h) == int(c) for h, c in heads),
            "command_ms": {"p50": round(percentile(durations, 50) * 1000, 2),
                           "p99": round(percentile(durations, 99) * 1000, 2)},
            "writer_cpu_ms_per_event": round(sum(r["cpu"] for r in results) * 1000 / max(1, events), 2),
            "verify": verify,
        }
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", default="1,2,4", help="comma-separated N to run (default 1,2,4)")
    ap.add_argument("--writers", type=int, default=8, help="writer processes in all (default 8)")
    ap.add_argument("--commands", type=int, default=6000, help="generated commands (default 6,000)")
    ap.add_argument("--threads", type=int, default=200, help="threads of the generated workload (default 200)")
    ap.add_argument("--replay", type=Path, help="replay the comments and votes of a `threadlog export` file")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    workload = replayed(args.replay) if args.replay else generated(args.commands, args.threads, args.seed)
    ns = [int(x) for x in args.partitions.split(",")]
    var = _servers.temp_dir("bench-partitions-")
    template = _servers.PostgresDatabase(prefix="threadlog_parttmpl_")
    env = {**os.environ, "DATABASE_URL": template.url, "THREADLOG_VAR": str(var)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([str(VENV_BIN / "threadlog"), "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
    result: dict = {"benchmark": "partition_sim", "cpus": os.cpu_count(),
                    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
                    "workload": str(args.replay) if args.replay else
                    f"generated: {args.commands} commands, {args.threads} Zipf threads, seed {args.seed}",
                    "commands": len(workload), "threads_in_workload": len({t for t, _ in workload})}
    try:
        single = run(workload[: max(300, len(workload) // 10)], 1, 1, template.name, var)
        hold = single["command_ms"]["p50"]
        result["single_writer"] = {**single, "lock_bound_events_per_second_per_partition":
                                   round(1000 / hold * single["events"] / single["commands"], 1) if hold else None}
        print(f"single writer: {single['events_per_second']} events/s, {hold} ms a command", file=sys.stderr)
        result["runs"] = []
        for n in ns:
            out = run(workload, n, args.writers, template.name, var)
            print(f"N={n}: {out['events_per_second']} events/s", file=sys.stderr)
            result["runs"].append(out)
    finally:
        template.drop()
    base = result["runs"][0]["events_per_second"] if result.get("runs") else None
    for r in result.get("runs", []):
        r["speed_up_over_first"] = round(r["events_per_second"] / base, 2) if base else None
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["passed"] = all(v["audit_verify"] and v["projections_verify"] for r in result.get("runs", [])
                           for v in r["verify"]) and all(r["gap_free"] for r in result.get("runs", []))
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
