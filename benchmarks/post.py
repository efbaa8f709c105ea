"""Comments posted, votes cast and thread pages read per second over HTTP: threadlog (daphne) vs Isso.

    .venv/bin/python benchmarks/post.py              # full run (~10 s per phase), one server process each
    .venv/bin/python benchmarks/post.py --workers 2  # two server processes on each side (one per core here)
    .venv/bin/python benchmarks/post.py --quick      # short run
    .venv/bin/python benchmarks/post.py --database-url postgres://postgres@127.0.0.1:5432/postgres --workers 2
                                                     # threadlog on PostgreSQL (a throw-away database there)

Both servers run on loopback in the same run, each on a fresh SQLite database, with the same number of
server processes (--workers, default 1):
- threadlog: `threadlog serve --workers N` (N daphne processes on one port; with N > 1 the Redis channel
  layer, as docs/scaling.md says to run it), RATE_LIMITS=off.
- Isso (PyPI, installed into benchmarks/.venv-isso on first run): SQLite, [guard] off (no rate limit),
  served by gunicorn's gthread worker (keep-alive), N worker processes (`--isso-workers` to differ).

Workload, identical for both (the client is N processes, one keep-alive http.client connection each, so
the client is not the bottleneck):
- post: top-level comments of ~230 characters of Markdown (bold, italic, a link), author name and email, into one busy thread
  (opened beforehand, so opening a thread is not measured); 1 and 8 concurrent clients.
- vote: upvotes on a pool of comments, each one a real write: threadlog — each client is one guest voter
  (signed cookie) and switches +1/-1 when it comes round the pool again; Isso — one vote per IP, so each
  vote comes from its own /24 via X-Forwarded-For (trusted proxy 127.0.0.1); votes Isso ignores are counted.
- read: the first page of a thread of 50 top-level comments each with one reply (100 comments):
  threadlog `GET /api/threads/{key}/comments?limit=50`, Isso `GET /?uri=/{key}&limit=50`.

Reported per phase: requests/s, latency p50/p99 (ms), errors, the server's CPU time per request (less
sensitive to a busy machine than the rate) and, for threadlog, the event loop's worst stall during the phase
(`loop_worst_stall_ms`, from threadlog.serving.loopwatch: how much later than asked a 2 ms sleep on the serving
loop woke up, worst over the phase and every server process). Ratios are ours / Isso (higher is better for rates).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers  # noqa: E402
from _servers import cpu_seconds, percentile  # noqa: E402

# Markdown, which both render (threadlog: markdown-it-py + nh3; Isso: misaka + its sanitiser).
BODY = ("Event sourcing keeps **every change** as an immutable fact; the read model is *a cache you can rebuild*. "
        "See [the long version](https://example.com/articles/event-sourcing). Comment {n} from client {c}.")


# --- the two servers' APIs, as the same operations -----------------------------------------------------

class Client:
    """One keep-alive connection plus whatever the server keeps per client (cookies)."""

    def __init__(self, kind: str, port: int, origin: str, worker: int):
        self.kind, self.port, self.origin, self.worker = kind, port, origin, worker
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.n = 0

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
            h["Origin"] = self.origin
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.conn.request(method, path, data, h)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        if self.kind == "threadlog":
            for value in resp.headers.get_all("Set-Cookie") or ():
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, payload

    # operations ----------------------------------------------------------------------------------------

    def post(self, key: str, parent=None, title: str = "Benchmark thread") -> tuple[bool, object]:
        self.n += 1
        text = BODY.format(n=self.n, c=self.worker)
        if self.kind == "threadlog":
            body = {"body": text, "author_name": f"Reader {self.worker}", "author_email": f"r{self.worker}@example.com",
                    "format": "markdown"}
            if parent is not None:
                body["parent_id"] = parent
            status, out = self.request("POST", f"/api/threads/{key}/comments", body)
            return status == 201, (json.loads(out)["comment"]["id"] if status == 201 else out)
        body = {"text": text, "author": f"Reader {self.worker}", "email": f"r{self.worker}@example.com",
                "title": title, "parent": parent}
        status, out = self.request("POST", f"/new?uri={quote('/' + key, safe='')}", body)
        return status == 201, (json.loads(out)["id"] if status == 201 else out)

    def vote(self, comment_id, round_: int) -> tuple[bool, bool]:
        """(ok, counted): counted is False when the server ignored the vote."""
        self.n += 1
        if self.kind == "threadlog":
            value = 1 if round_ % 2 == 0 else -1
            status, out = self.request("POST", f"/api/comments/{comment_id}/vote", {"value": value})
            return status == 200, status == 200
        u = self.worker * 1_000_000 + self.n
        ip = f"{10 + (u >> 16) % 200}.{(u >> 8) & 255}.{u & 255}.7"  # Isso anonymises to /24: one /24 per vote
        status, out = self.request("POST", f"/id/{comment_id}/like", {}, {"X-Forwarded-For": ip})
        return status == 200, status == 200 and b"message" not in out

    def read(self, key: str) -> tuple[bool, int]:
        if self.kind == "threadlog":
            status, out = self.request("GET", f"/api/threads/{key}/comments?limit=50")
        else:
            status, out = self.request("GET", f"/?uri={quote('/' + key, safe='')}&limit=50")
        return status == 200, len(out)

    def warm(self, read_key: str) -> None:
        ok, _ = self.read(read_key)  # a page view: opens the connection, sets threadlog's guest cookies
        assert ok, "warm-up read failed"


def count_comments(kind: str, payload: dict) -> int:
    items = payload["comments"] if kind == "threadlog" else payload["replies"]
    return sum(1 + count_comments(kind, {"comments" if kind == "threadlog" else "replies": c.get("replies") or []})
               for c in items)


# --- one client process ------------------------------------------------------------------------------

def run_worker(kind: str, port: int, origin: str, worker: int, op: str, target: dict, start_at: float,
               duration: float) -> dict:
    client = Client(kind, port, origin, worker)
    client.warm(target["read_key"])
    pool = target.get("pool") or []
    i, errors, counted = 0, 0, 0
    latencies: list[float] = []
    error_sample = None
    now = time.time()
    if start_at > now:
        time.sleep(start_at - now)
    deadline = start_at + duration
    while True:
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        if op == "post":
            ok, detail = client.post(target["post_key"])
        elif op == "vote":
            idx = worker * 37 + i
            ok, was_counted = client.vote(pool[idx % len(pool)], idx // len(pool))
            counted += was_counted
            detail = None
        else:
            ok, detail = client.read(target["read_key"])
        latencies.append(time.perf_counter() - t0)
        if not ok:
            errors += 1
            error_sample = error_sample or repr(detail)[:300]
        i += 1
    return {"n": i, "errors": errors, "counted": counted, "latencies": latencies, "error_sample": error_sample}


def loop_worst_stall_ms(server, first: int, last: int) -> float | None:
    """The serving loops' worst stall in the wall-clock seconds first..last (threadlog only)."""
    files = list(Path(server.tmp).glob("loop-*.json")) if hasattr(server, "tmp") else []
    worst = None
    for f in files:
        try:
            seconds = json.loads(f.read_text())["worst_ms_by_second"]
        except (OSError, ValueError):
            continue
        for second, ms in seconds:
            if first <= second <= last:
                worst = ms if worst is None else max(worst, ms)
    return worst


def run_phase(server, kind: str, op: str, clients: int, target: dict, duration: float) -> dict:
    pids = server.all_pids()
    ctx = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=clients, mp_context=ctx) as ex:
        start_at = time.time() + 0.8 + 0.05 * clients
        cpu0 = sum(cpu_seconds(p) for p in pids)
        futures = [ex.submit(run_worker, kind, server.port, server.origin, w, op, target, start_at, duration)
                   for w in range(clients)]
        results = [f.result() for f in futures]
        cpu1 = sum(cpu_seconds(p) for p in pids)
    time.sleep(1.1)  # the loop watcher writes its figures once a second
    n = sum(r["n"] for r in results)
    lat = [x for r in results for x in r["latencies"]]
    out = {
        "clients": clients,
        "requests": n,
        "per_s": round(n / duration, 1),
        "p50_ms": round(percentile(lat, 50) * 1000, 2),
        "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "errors": sum(r["errors"] for r in results),
        # includes the warm-up read of each client: a small overcount
        "server_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / max(1, n), 3),
    }
    if kind == "threadlog":
        out["loop_worst_stall_ms"] = loop_worst_stall_ms(server, int(start_at), int(start_at + duration))
    if op == "vote":
        out["votes_counted"] = sum(r["counted"] for r in results)
    sample = next((r["error_sample"] for r in results if r["error_sample"]), None)
    if sample:
        out["error_sample"] = sample
    return out


# --- seeding -----------------------------------------------------------------------------------------

def seed(server, kind: str, pool_size: int) -> dict:
    c = Client(kind, server.port, server.origin, 999)
    stamp = f"{int(time.time())}"
    read_key, post_key, pool_key = f"bench-read-{stamp}", f"bench-post-{stamp}", f"bench-votes-{stamp}"
    for _ in range(50):
        ok, top = c.post(read_key, title="Read benchmark")
        assert ok, top
        ok, reply = c.post(read_key, parent=top, title="Read benchmark")
        assert ok, reply
    ok, first = c.post(post_key, title="Post benchmark")
    assert ok, first
    pool = []
    for _ in range(pool_size):
        ok, cid = c.post(pool_key, title="Vote benchmark")
        assert ok, cid
        pool.append(cid)
    # both servers must return the same page: 50 top-level comments, each with its reply
    status, out = c.request("GET", f"/api/threads/{read_key}/comments?limit=50" if kind == "threadlog"
                            else f"/?uri={quote('/' + read_key, safe='')}&limit=50")
    assert status == 200, out
    page_comments = count_comments(kind, json.loads(out))
    return {"read_key": read_key, "post_key": post_key, "pool": pool, "page_comments": page_comments,
            "page_bytes": len(out)}


def bench_server(server, kind: str, phases: list[tuple[str, int]], duration: float, pool_size: int) -> dict:
    target = seed(server, kind, pool_size)
    out: dict = {"read_page": {"comments": target["page_comments"], "bytes": target["page_bytes"]}}
    # a short untimed warm-up of every path (imports, caches, JIT-free but lazily built things)
    run_phase(server, kind, "post", 2, target, min(1.0, duration))
    run_phase(server, kind, "read", 2, target, min(1.0, duration))
    for op, clients in phases:
        out[f"{op}_c{clients}"] = run_phase(server, kind, op, clients, target, duration)
        print(f"  {kind:9} {op:4} c={clients}: {out[f'{op}_c{clients}']['per_s']}/s", file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short phases (2 s) and a small vote pool")
    ap.add_argument("--duration", type=float, help="seconds per phase (default 10, --quick 2)")
    ap.add_argument("--workers", type=int, default=1,
                    help="server processes on each side: `threadlog serve --workers N` and gunicorn -w N (default 1)")
    ap.add_argument("--isso-workers", type=int, default=None, help="gunicorn worker processes for Isso (default --workers)")
    ap.add_argument("--isso-threads", type=int, default=8, help="threads per gunicorn worker (default 8)")
    ap.add_argument("--only", choices=["threadlog", "isso"], help="benchmark one server only")
    ap.add_argument("--database-url", default=None,
                    help="threadlog's database: a postgres:// URL (a throw-away database is made on that server) or "
                         "sqlite:///path (default: a fresh SQLite file)")
    args = ap.parse_args()
    duration = args.duration or (2.0 if args.quick else 10.0)
    args.isso_workers = args.isso_workers or args.workers
    pool_size = 60 if args.quick else 300
    phases = [("post", 1), ("post", 8), ("vote", 1), ("vote", 8), ("read", 1), ("read", 8)]
    _servers.raise_nofile()

    result: dict = {
        "benchmark": "post",
        "duration_s_per_phase": duration,
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "client": "N processes x 1 keep-alive http.client connection",
    }
    servers = []
    pg = None
    try:
        if args.only != "isso":
            tmp = _servers.temp_dir("bench-post-threadlog-")
            redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9") if args.workers > 1 else None
            url = args.database_url
            if url and url.startswith(("postgres://", "postgresql://")):
                pg = _servers.PostgresDatabase(url)
                url = pg.url
            ours = _servers.ThreadlogServer(tmp, workers=args.workers, redis_url=redis, database_url=url,
                                            env={"LOOP_WATCH_FILE": str(tmp / "loop-{pid}.json")}).start()
            servers.append(ours)
            print("threadlog …", file=sys.stderr)
            layer = "Redis channel layer" if redis else "in-memory channel layer"
            database = "PostgreSQL" if pg else "SQLite (WAL)"
            result["threadlog"] = {"server": f"daphne, {args.workers} process(es), {database}, {layer}",
                                   **bench_server(ours, "threadlog", phases, duration, pool_size)}
            ours.stop()
            if pg:
                pg.drop()
                pg = None
        if args.only != "threadlog":
            tmp = _servers.temp_dir("bench-post-isso-")
            isso = _servers.IssoServer(tmp, workers=args.isso_workers, threads=args.isso_threads).start()
            servers.append(isso)
            versions = _servers.isso_versions()
            print(f"isso {versions['isso']} …", file=sys.stderr)
            result["isso"] = {"server": f"isso {versions['isso']}, gunicorn {versions['gunicorn']} gthread, "
                                        f"{args.isso_workers} worker(s) x {args.isso_threads} threads, SQLite, guard off",
                              **bench_server(isso, "isso", phases, duration, pool_size)}
            isso.stop()
    finally:
        for s in servers:
            s.stop()
        if pg:
            pg.drop()
    if "threadlog" in result and "isso" in result:
        ratios = {}
        for op, clients in phases:
            k = f"{op}_c{clients}"
            ours, theirs = result["threadlog"][k], result["isso"][k]
            ratios[f"{k}_per_s"] = round(ours["per_s"] / theirs["per_s"], 2) if theirs["per_s"] else None
            ratios[f"{k}_server_cpu_per_request"] = (round(ours["server_cpu_ms_per_request"]
                                                           / theirs["server_cpu_ms_per_request"], 2)
                                                     if theirs["server_cpu_ms_per_request"] else None)
        result["ratios_ours_over_isso"] = ratios
        result["goals"] = {
            "post_c8_at_least_2x_isso": bool(ratios["post_c8_per_s"] and ratios["post_c8_per_s"] >= 2.0),
            "reads_faster_than_isso": bool(ratios["read_c8_per_s"] and ratios["read_c8_per_s"] > 1.0
                                           and ratios["read_c1_per_s"] > 1.0),
        }
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
