"""Live fan-out: latency from a comment's commit to its receipt by every reader, and memory per idle socket.

    .venv/bin/python benchmarks/fanout.py            # full run
    .venv/bin/python benchmarks/fanout.py --quick    # small sizes, few events

Scenarios, in one run, all with the same client (several processes, asyncio + `websockets`, one connection
per reader, no compression):
- ours, one node: `threadlog serve` (daphne) on SQLite with the in-memory layer; 100 and 1,000 readers of one
  thread; a writer POSTs comments over HTTP (one at a time, spaced so fan-outs do not overlap).
- ours, two nodes: two daphne processes sharing one throw-away PostgreSQL database and Redis
  (REDIS_URL, pub/sub layer); 1,000 readers split evenly; the writer posts through node A.
- bare Channels baseline (benchmarks/bare_channels): an AsyncJsonWebsocketConsumer in one group, in-memory
  layer, daphne; POST /send does group_send of a small frame; 100 and 1,000 readers.

What is measured, per (event, reader) receipt, all on this machine's wall clock (time.time()):
- `from_commit_ms` (the headline): receipt − the server's own timestamp of the event. Ours: the event's
  `recorded_at`, taken by the event store under the append lock *before* the projection and the commit, so
  this is the full path append → project → commit → publish → push → receive (a slight overestimate of
  "from commit"). Baseline: time.time() just before group_send.
- `from_post_sent_ms`: receipt − the moment the writer sent the POST (adds HTTP request handling).
- `event_to_last_reader_ms`: per event, the time until the last reader had it (p50/p99/max over events).
Readers that never receive an event are counted (`missing`). Memory per idle connection: server RSS after
opening N idle connections (each has received its ready frame / handshake, presence traffic settled) minus
RSS before (after a warm-up batch was opened and closed), ÷ N, at N = 1,000.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers  # noqa: E402
from _servers import cpu_seconds, percentile, rss_kb  # noqa: E402

BODY = "A live comment for the fan-out benchmark, with a link https://example.com/fanout and some words. #{n}"


# --- client processes ----------------------------------------------------------------------------------

def _client_process(conn, proc_idx: int) -> None:
    gc.disable()  # short-lived; a collection pause would show up as latency
    asyncio.run(_client_main(conn, proc_idx))


async def _client_main(conn, proc_idx: int) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    loop = asyncio.get_running_loop()
    sockets: list = []
    tasks: list[asyncio.Task] = []
    receipts: list[tuple[float, str, str]] = []
    closed: list[str] = []
    recording = {"on": True}

    async def reader(ws, node: str) -> None:
        try:
            async for msg in ws:
                if msg.startswith('{"readers"'):  # presence frames
                    continue
                if recording["on"]:
                    receipts.append((time.time(), msg, node))
        except ConnectionClosed as exc:
            if recording["on"]:
                closed.append(f"{exc.rcvd.code if exc.rcvd else 'no close frame'}")

    async def open_one(url: str, origin: str, node: str, wait_ready: bool, sem: asyncio.Semaphore) -> str | None:
        async with sem:
            try:
                ws = await connect(url, origin=origin, compression=None, ping_interval=None, open_timeout=120,
                                   close_timeout=5, max_size=2**20)
                if wait_ready:
                    while True:
                        msg = await asyncio.wait_for(ws.recv(), 120)
                        if '"ready"' in msg:
                            break
            except Exception as exc:  # noqa: BLE001 - reported to the coordinator
                return f"{type(exc).__name__}: {exc}"[:200]
        sockets.append(ws)
        tasks.append(loop.create_task(reader(ws, node)))
        return None

    while True:
        cmd, arg = await loop.run_in_executor(None, conn.recv)
        if cmd == "connect":
            sem = asyncio.Semaphore(arg.get("parallel", 25))
            errors = await asyncio.gather(*(open_one(u, arg["origin"], node, arg["wait_ready"], sem)
                                            for u, node in arg["urls"]))
            errors = [e for e in errors if e]
            conn.send(("connected", {"ok": len(arg["urls"]) - len(errors), "errors": errors[:5],
                                     "n_errors": len(errors)}))
        elif cmd == "record":
            receipts.clear()
            closed.clear()
            recording["on"] = True
            conn.send(("recording", None))
        elif cmd == "collect":
            recording["on"] = False
            out = []
            for t, msg, node in receipts:
                try:
                    frame = json.loads(msg)
                except ValueError:
                    continue
                key = frame.get("position", frame.get("seq"))
                if frame.get("type") == "event" and key is not None:
                    out.append((t, int(key), node))
            conn.send(("receipts", {"receipts": out, "closed": list(closed)}))
            receipts.clear()
        elif cmd == "close":
            recording["on"] = False
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            sockets.clear()
            tasks.clear()
            conn.send(("closed", None))
        elif cmd == "exit":
            conn.send(("bye", None))
            return


class ClientPool(_servers.PipePool):
    """K client processes, each holding a share of the readers."""

    def __init__(self, procs: int):
        super().__init__(_client_process, lambda i: (i,), procs)
        self._all = self.ask

    def connect(self, targets: list[tuple[str, str]], origin: str, wait_ready: bool) -> dict:
        """targets: (ws url, node label) per reader, dealt round-robin to the processes."""
        shares: list[list] = [[] for _ in self.pipes]
        for i, t in enumerate(targets):
            shares[i % len(shares)].append(t)
        res = self._all("connect", [{"urls": s, "origin": origin, "wait_ready": wait_ready} for s in shares])
        return {"ok": sum(r["ok"] for r in res), "n_errors": sum(r["n_errors"] for r in res),
                "errors": [e for r in res for e in r["errors"]][:5]}

    def record(self) -> None:
        self._all("record")

    def collect(self) -> tuple[list, list]:
        res = self._all("collect")
        return [x for r in res for x in r["receipts"]], [c for r in res for c in r["closed"]]

    def close(self) -> None:
        self._all("close")


# --- writers ---------------------------------------------------------------------------------------------

class ThreadlogWriter:
    def __init__(self, server, key: str):
        self.server, self.key = server, key
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.n = 0

    def _post(self) -> dict:
        self.n += 1
        body = json.dumps({"body": BODY.format(n=self.n), "author_name": "Writer", "author_email": "w@example.com"})
        headers = {"Content-Type": "application/json", "Origin": self.server.origin,
                   "Idempotency-Key": f"fanout-{self.key}-{self.n}"}  # safe to retry on a dropped keep-alive
        for attempt in range(2):
            try:
                self.conn.request("POST", f"/api/threads/{self.key}/comments", body, headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.conn.close()  # the server closed the idle keep-alive connection: reconnect
                if attempt:
                    raise
        if resp.status != 201:
            raise RuntimeError(f"POST failed: {resp.status} {payload[:300]!r}")
        return json.loads(payload)

    def open_thread(self) -> None:
        self._post()

    def send(self) -> tuple[int, float, float]:
        """Returns (position, t_sent, t_response)."""
        t0 = time.time()
        out = self._post()
        return out["position"], t0, time.time()

    def server_times(self, positions: list[int]) -> dict[int, float]:
        """recorded_at of each position, from GET /api/events."""
        wanted, after, times = set(positions), min(positions) - 1, {}
        while wanted - set(times):
            self.conn.request("GET", f"/api/events?after={after}&limit=1000&thread={self.key}")
            resp = self.conn.getresponse()
            page = json.loads(resp.read())
            if not page["events"]:
                break
            for ev in page["events"]:
                if ev["position"] in wanted:
                    times[ev["position"]] = datetime.fromisoformat(ev["recorded_at"]).timestamp()
            after = page["next"]
        return times


class BareWriter:
    def __init__(self, server):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.times: dict[int, float] = {}

    def open_thread(self) -> None:
        pass

    def send(self) -> tuple[int, float, float]:
        if not self.times:
            self.conn.close()  # a fresh connection: the idle one may have been closed during the connect phase
        t0 = time.time()
        self.conn.request("POST", "/send", b"{}", {"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        out = json.loads(resp.read())
        self.times[out["seq"]] = out["t"]
        return out["seq"], t0, time.time()

    def server_times(self, positions: list[int]) -> dict[int, float]:
        return {p: self.times[p] for p in positions}


# --- one scenario --------------------------------------------------------------------------------------

def _stats(values_s: list[float]) -> dict:
    if not values_s:
        return {"n": 0}
    return {"n": len(values_s), "p50": round(percentile(values_s, 50) * 1000, 2),
            "p99": round(percentile(values_s, 99) * 1000, 2), "max": round(max(values_s) * 1000, 2)}


def wait_idle(pids: list[int], *, below: float = 0.05, window: float = 0.5, at_least: float = 1.0,
              at_most: float = 60.0) -> float:
    """Wait until the servers use less than `below` of a core over `window` seconds; returns the seconds waited."""
    start = time.time()
    time.sleep(at_least)
    while pids and time.time() - start < at_most:
        c0 = sum(cpu_seconds(p) for p in pids)
        time.sleep(window)
        if (sum(cpu_seconds(p) for p in pids) - c0) / window < below:
            break
    return round(time.time() - start, 2)


def run_scenario(pool: ClientPool, *, writer, targets: list[tuple[str, str]], origin: str, wait_ready: bool,
                 events: int, spacing: float, memory_pids: list[int] | None = None,
                 cpu_pids: list[int] | None = None) -> dict:
    out: dict = {"readers": len(targets)}
    writer.open_thread()
    if memory_pids:
        # warm-up: open and close a batch so lazily built things (publisher, imports, pools) are not counted
        warm = targets[: min(50, len(targets))]
        pool.connect(warm, origin, wait_ready)
        pool.close()
        wait_idle(cpu_pids or memory_pids)
        rss0 = sum(rss_kb(p) for p in memory_pids)
    t_connect = time.time()
    connected = pool.connect(targets, origin, wait_ready)
    out["connect_seconds"] = round(time.time() - t_connect, 2)
    out["connected"] = connected["ok"]
    if connected["n_errors"]:
        out["connect_errors"] = connected["n_errors"]
        out["connect_error_sample"] = connected["errors"]
    # presence traffic done: the sockets are idle now (10,000 readers' joins take minutes of presence frames to settle)
    out["settle_seconds"] = wait_idle(cpu_pids or [], at_most=max(60.0, len(targets) / 40))
    if memory_pids:
        rss1 = sum(rss_kb(p) for p in memory_pids)
        out["memory"] = {"rss_before_kib": rss0, "rss_after_kib": rss1,
                         "kib_per_connection": round((rss1 - rss0) / max(1, connected["ok"]), 2)}
    pool.record()
    cpu0 = sum(cpu_seconds(p) for p in cpu_pids or [])
    sent = []
    for _ in range(events):
        key, t0, t1 = writer.send()
        sent.append((key, t0, t1))
        time.sleep(spacing)
    time.sleep(max(2.0, spacing))
    cpu1 = sum(cpu_seconds(p) for p in cpu_pids or [])
    receipts, closed = pool.collect()
    pool.close()
    server_t = writer.server_times([k for k, _, _ in sent])
    by_key = {k: (t0, t1) for k, t0, t1 in sent}
    from_commit: dict[str, list[float]] = {}
    from_post: list[float] = []
    last: dict[int, float] = {}
    count: dict[int, int] = {}
    for t, key, node in receipts:
        if key not in by_key:
            continue  # e.g. the thread's opening comment
        count[key] = count.get(key, 0) + 1
        from_commit.setdefault(node, []).append(t - server_t[key])
        from_post.append(t - by_key[key][0])
        last[key] = max(last.get(key, 0.0), t - server_t[key])
    all_commit = [x for v in from_commit.values() for x in v]
    expected = events * connected["ok"]
    got = sum(count.values())
    out.update({
        "events": events,
        "from_commit_ms": _stats(all_commit),
        "from_post_sent_ms": _stats(from_post),
        "event_to_last_reader_ms": _stats(list(last.values())),
        "post_round_trip_ms": _stats([t1 - t0 for _, t0, t1 in sent]),
        "receipts": got,
        "missing": expected - got,
        "duplicates": sum(max(0, c - connected["ok"]) for c in count.values()),
    })
    if cpu_pids:
        out["server_cpu_ms_per_event"] = round((cpu1 - cpu0) * 1000 / max(1, events), 2)
    if len(from_commit) > 1:
        out["from_commit_ms_by_node"] = {node: _stats(v) for node, v in sorted(from_commit.items())}
    if closed:
        out["closed_during_run"] = {"count": len(closed), "codes": sorted(set(closed))[:5]}
    return out


def ours_one_node(pool: ClientPool, readers: int, events: int, spacing: float, memory: bool) -> dict:
    tmp = _servers.temp_dir("bench-fanout-ours-")
    server = _servers.ThreadlogServer(tmp).start()
    try:
        key = f"fanout-{readers}-{int(time.time())}"
        targets = [(f"{server.ws_url}/ws/threads/{key}/", "A")] * readers
        res = run_scenario(pool, writer=ThreadlogWriter(server, key), targets=targets, origin=server.origin,
                           wait_ready=True, events=events, spacing=spacing,
                           memory_pids=[server.pid] if memory else None, cpu_pids=[server.pid])
        res["server"] = "threadlog serve (daphne, 1 process), SQLite, in-memory layer"
        return res
    finally:
        server.stop()


def ours_two_nodes(pool: ClientPool, readers: int, events: int, spacing: float, memory: bool = False) -> dict:
    if not _servers.redis_available():
        return {"skipped": f"Redis not reachable at {_servers.REDIS_URL}"}
    db = _servers.PostgresDatabase()
    servers = []
    try:
        tmp = _servers.temp_dir("bench-fanout-2nodes-")
        a = _servers.ThreadlogServer(tmp, database_url=db.url, redis_url=_servers.REDIS_URL)
        b = _servers.ThreadlogServer(tmp, database_url=db.url, redis_url=_servers.REDIS_URL, migrate=False)
        servers = [a.start(), b.start()]
        key = f"fanout2-{readers}-{int(time.time())}"
        targets = [(f"{(a if i % 2 == 0 else b).ws_url}/ws/threads/{key}/", "A" if i % 2 == 0 else "B")
                   for i in range(readers)]
        res = run_scenario(pool, writer=ThreadlogWriter(a, key), targets=targets, origin=a.origin,
                           wait_ready=True, events=events, spacing=spacing, cpu_pids=[a.pid, b.pid],
                           memory_pids=[a.pid, b.pid] if memory else None)
        res["server"] = ("2 x threadlog serve (daphne), one PostgreSQL database, Redis pub/sub layer; "
                         "readers split A/B, writer posts through A")
        return res
    finally:
        for s in servers:
            s.stop()
        db.drop()


def bare(pool: ClientPool, readers: int, events: int, spacing: float, memory: bool) -> dict:
    tmp = _servers.temp_dir("bench-fanout-bare-")
    server = _servers.BareChannelsServer(tmp).start()
    try:
        targets = [(f"{server.ws_url}/ws/bench/", "A")] * readers
        res = run_scenario(pool, writer=BareWriter(server), targets=targets, origin=server.origin,
                           wait_ready=False, events=events, spacing=spacing,
                           memory_pids=[server.pid] if memory else None, cpu_pids=[server.pid])
        res["server"] = "bare Channels: daphne, AsyncJsonWebsocketConsumer in one group, InMemoryChannelLayer"
        return res
    finally:
        server.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="50 and 200 readers, 8 events per scenario")
    ap.add_argument("--events", type=int, help="events per scenario (default 30, --quick 8)")
    ap.add_argument("--client-procs", type=int, default=4, help="client processes (default 4)")
    ap.add_argument("--only", choices=["ours", "bare", "two-nodes"], help="run one kind of scenario")
    ap.add_argument("--two-node-readers", type=int, help="readers of the two-node scenario (default: as the large "
                    "one), with memory per connection; e.g. --only two-nodes --two-node-readers 10000")
    ap.add_argument("--spacing", type=float, help="seconds between the two-node scenario's events (default 0.6)")
    args = ap.parse_args()
    small, large = (50, 200) if args.quick else (100, 1000)
    events = args.events or (8 if args.quick else 30)
    nofile = _servers.raise_nofile(16384)

    result: dict = {"benchmark": "fanout", "cpus": os.cpu_count(),
                    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
                    "client": f"{args.client_procs} processes, asyncio + websockets, 1 connection per reader",
                    "open_files_limit": nofile, "readers": [small, large], "events_per_scenario": events}
    pool = ClientPool(args.client_procs)

    def guarded(name: str, fn, *a, **kw) -> None:
        print(f"{name} …", file=sys.stderr)
        try:
            result[name] = fn(*a, **kw)
        except Exception as exc:  # noqa: BLE001 - keep the other scenarios' figures
            result[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            pool.close()

    try:
        spacing = {small: 0.25, large: 0.6}
        if args.only in (None, "bare"):
            for n in (small, large):
                guarded(f"bare_{n}", bare, pool, n, events, spacing[n], memory=(n == large))
        if args.only in (None, "ours"):
            for n in (small, large):
                guarded(f"ours_1node_{n}", ours_one_node, pool, n, events, spacing[n], memory=(n == large))
        if args.only in (None, "two-nodes"):
            n = args.two_node_readers or large
            guarded(f"ours_2nodes_{n}", ours_two_nodes, pool, n, events, args.spacing or spacing[large],
                    memory=args.two_node_readers is not None)
    finally:
        pool.exit()

    ours, base = result.get(f"ours_1node_{large}"), result.get(f"bare_{large}")
    if (ours and base and ours.get("from_commit_ms", {}).get("n") and base.get("from_commit_ms", {}).get("n")
            and "memory" in ours and "memory" in base):
        p99_ratio = ours["from_commit_ms"]["p99"] / base["from_commit_ms"]["p99"]
        mem_ratio = (ours["memory"]["kib_per_connection"] / base["memory"]["kib_per_connection"]
                     if base["memory"]["kib_per_connection"] > 0 else None)
        result["ratios_ours_over_bare"] = {
            f"p99_from_commit_at_{large}_readers": round(p99_ratio, 3),
            f"p99_from_post_sent_at_{large}_readers": round(
                ours["from_post_sent_ms"]["p99"] / base["from_post_sent_ms"]["p99"], 3),
            "memory_per_connection": round(mem_ratio, 3) if mem_ratio is not None else None,
        }
        result["goals"] = {"p99_at_most_0.5x_bare": p99_ratio <= 0.5,
                           "memory_at_most_1.1x_bare": mem_ratio is not None and mem_ratio <= 1.1}
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
