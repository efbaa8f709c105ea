"""The soak: three nodes, thousands of live readers, writers for minutes, and failures on the way.

    .venv/bin/python benchmarks/soak.py                                   # 10 minutes, 3,000 readers, 16 writers
    .venv/bin/python benchmarks/soak.py --minutes 1 --readers 300         # a small run

On this machine, no Docker: a throw-away PostgreSQL database on 127.0.0.1:5432 (BENCH_POSTGRES_URL), a
redis-server of the script's own on a free loopback port (never the system's Redis: the script kills and
restarts its own), three `threadlog serve` nodes (daphne, REDIS_URL: the pub/sub layer), the projector
(`threadlog projections run --follow`) and the notifier (`threadlog notify --follow`) as processes.

- `--threads` threads (default 100), opened before the readers connect.
- `--readers` WebSocket readers (default 3,000; asyncio + `websockets`, in `--client-procs` processes), reader i
  on node i % 3 and thread i % threads, each connecting with `?after=0`. A reader whose connection drops
  reconnects to the next node with `?after=<its last position>` (no sticky sessions), as the widget does.
- `--writers` writers (default 16, threads of this process, each its own guest) post comments (some replies)
  and vote on a random thread, through the nodes in turn, `--rate` writes per second in all (0: as fast as they
  can). A write that fails on a dead node is retried on another (comments with the same Idempotency-Key).
- During the run: at 25 % `kill -9` of node 3 (started again 30 s later: its readers stay where they went), at
  40 % an online rebuild of the read models (`threadlog projections rebuild`, writes continuing: the frames come
  out byte-identical, so no reader may get `reset`), at 50 % Redis is killed and started again 3 s later, at
  70 % `kill -9` of the projector and the notifier (started again 2 s later).
- At the end, the writers stop, every reader is given up to 120 s to reach its thread's head, then each
  reader's frames are compared with the log (`GET /api/events`): every event of its thread exactly once, in
  order. `threadlog projections verify` and `threadlog audit verify` must pass.

Printed JSON: events/s; push latency (from the event's `recorded_at`, taken under the append lock, to its
receipt by a reader; live frames only, not a resume's backlog) p50/p99 per minute; RSS per node per minute and
its growth once warm; reconnect times (from the drop a reader saw to its `ready` on another node, and from the
kill to the last reader's `ready`); the correctness counts; the verify results. Exit 1 when a check failed.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from array import array
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _servers  # noqa: E402
from _servers import VENV_BIN, ROOT, cpu_seconds, percentile, rss_kb  # noqa: E402

BODY = "Soak comment {n} by writer {w}: a few words, a link https://example.com/soak/{n} and **some** markdown."


# --- readers (client processes) --------------------------------------------------------------------------

class Reader:
    __slots__ = ("thread", "node", "last", "positions", "violations", "resets", "dropped_at", "reconnects",
                 "connected", "task")

    def __init__(self, thread: str, node: int) -> None:
        self.thread, self.node = thread, node
        self.last = 0
        self.positions = array("q")
        self.violations = 0  # a frame at or below the last position: a duplicate or out of order
        self.resets = 0
        self.dropped_at: float | None = None
        self.reconnects: list[tuple[float, float, float]] = []  # (drop seen, ready on the next node, handshake done)
        self.connected = False


def _client_process(conn, urls: list[str]) -> None:
    gc.freeze()
    asyncio.run(_client_main(conn, urls))


async def _client_main(conn, urls: list[str]) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    readers: list[Reader] = []
    live_pos, live_t = array("q"), array("d")  # live receipts: position, time.time()
    stopping = asyncio.Event()
    ready_count = {"n": 0}

    async def run(r: Reader, sem: asyncio.Semaphore) -> None:
        attempt, first = 0, True
        while not stopping.is_set():
            url = f"{urls[r.node]}/ws/threads/{r.thread}/?after={r.last}"
            try:
                if first:
                    await sem.acquire()
                try:
                    ws = await connect(url, compression=None, ping_interval=None, open_timeout=60, close_timeout=2,
                                       max_size=2**20, max_queue=None)
                finally:
                    if first:
                        sem.release()
                        first = False
                opened = time.time()
                try:
                    live = False
                    async for msg in ws:
                        if msg.startswith('{"readers"'):
                            continue  # presence
                        t = time.time()
                        frame = json.loads(msg)
                        kind = frame.get("type")
                        if kind == "event":
                            p = frame["position"]
                            if p <= r.last:
                                r.violations += 1
                                continue
                            r.positions.append(p)
                            r.last = p
                            if live:
                                live_pos.append(p)
                                live_t.append(t)
                        elif kind == "ready":
                            live, attempt = True, 0
                            if not r.connected:
                                r.connected = True
                                ready_count["n"] += 1
                            if r.dropped_at is not None:
                                r.reconnects.append((r.dropped_at, t, opened))
                                r.dropped_at = None
                        elif kind == "reset":  # a real client refetches the page; here it is a failure to count
                            r.resets += 1
                            r.last = frame["position"]
                finally:
                    await ws.close()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - connection refused, closed, timed out: reconnect elsewhere
                pass
            if stopping.is_set():
                break
            if r.dropped_at is None:
                r.dropped_at = time.time()
            r.node = (r.node + 1) % len(urls)  # another node: no sticky sessions
            await asyncio.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** attempt)))
            attempt += 1

    while True:
        cmd, arg = await loop.run_in_executor(None, conn.recv)
        if cmd == "start":
            sem = asyncio.Semaphore(arg["parallel"])
            for thread, node in arg["readers"]:
                r = Reader(thread, node)
                readers.append(r)
                r.task = loop.create_task(run(r, sem))
            conn.send(("started", len(readers)))
        elif cmd == "ready":
            conn.send(("ready", ready_count["n"]))
        elif cmd == "behind":  # readers not yet at their thread's head
            heads = arg
            conn.send(("behind", sum(1 for r in readers if r.last < heads.get(r.thread, 0))))
        elif cmd == "collect":
            conn.send(("collected", _summarise(readers, live_pos, live_t, **arg)))
        elif cmd == "stop":
            stopping.set()
            for r in readers:
                r.task.cancel()
            await asyncio.gather(*(r.task for r in readers), return_exceptions=True)
            conn.send(("stopped", None))
        elif cmd == "exit":
            conn.send(("bye", None))
            return


def _summarise(readers: list[Reader], live_pos: array, live_t: array, *, expected: dict[str, list[int]],
               recorded: dict[int, float], t0: float) -> dict:
    """Each reader's frames against the log; live push latency bucketed by the minute of receipt."""
    out = {"readers": len(readers), "exact": 0, "missing_readers": 0, "missing_frames": 0, "extra_frames": 0,
           "violations": 0, "resets": 0, "never_connected": 0, "disconnected_at_end": 0, "reconnects": [],
           "latency_by_minute": {}}
    for r in readers:
        want = expected.get(r.thread, [])
        got = r.positions.tolist()
        out["violations"] += r.violations
        out["resets"] += r.resets
        out["never_connected"] += not r.connected
        out["disconnected_at_end"] += r.dropped_at is not None
        out["reconnects"] += r.reconnects
        if got == want and not r.violations and not r.resets:
            out["exact"] += 1
        else:
            missing = len(set(want) - set(got))
            out["missing_readers"] += bool(missing)
            out["missing_frames"] += missing
            out["extra_frames"] += len(set(got) - set(want))
    buckets: dict[int, array] = {}
    for p, t in zip(live_pos, live_t):
        at = recorded.get(p)
        if at is not None:
            buckets.setdefault(int((t - t0) // 60), array("f")).append(t - at)
    out["latency_by_minute"] = {m: b.tobytes() for m, b in buckets.items()}
    return out


class ClientPool(_servers.PipePool):
    def __init__(self, procs: int, urls: list[str]) -> None:
        super().__init__(_client_process, lambda i: (urls,), procs, start_method="spawn")

    def same(self, cmd: str, arg=None, timeout: float = 600) -> list:
        return self.ask(cmd, [arg] * len(self.pipes), timeout)


# --- the site ----------------------------------------------------------------------------------------------

class Follower(_servers._Process):
    """`threadlog projections run --follow` or `threadlog notify --follow`: started, killed, started again."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], tmp: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = tmp / f"{name}.log"

    def start(self) -> "Follower":
        self.proc = subprocess.Popen([str(VENV_BIN / "threadlog"), *self.args], env=self.env, cwd=ROOT,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()


class Site:
    def __init__(self, tmp: Path, database_url: str, redis: _servers.RedisProcess, nodes: int) -> None:
        secret = uuid.uuid4().hex * 2
        common = {"SECRET_KEY": secret, "NOTIFIER": "off", "LOG_FORMAT": "json", "LOG_LEVEL": "WARNING",
                  "METRICS_TOKEN": "soak"}
        self.nodes = []
        for i in range(nodes):
            node = _servers.ThreadlogServer(tmp, database_url=database_url, redis_url=redis.url, migrate=i == 0,
                                            env={**common, "NODE_NAME": f"node{i + 1}"})
            self.nodes.append(node)
        env = {**self.nodes[0].env, "NOTIFIER": "on"}
        env.pop("NODE_NAME", None)
        self.projector = Follower("projector", ["projections", "run", "--follow", "--interval", "1"], env, tmp)
        self.notifier = Follower("notifier", ["notify", "--follow"], env, tmp)
        self.alive = [True] * nodes

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        self.projector.start()
        self.notifier.start()

    def stop(self) -> None:
        for p in [*self.nodes, self.projector, self.notifier]:
            p.stop()


# --- writers ---------------------------------------------------------------------------------------------

class Writers:
    def __init__(self, site: Site, threads: list[str], count: int, rate: float, seed: int) -> None:
        self.site, self.threads, self.count, self.rate = site, threads, count, rate
        self.comments: dict[str, list[str]] = {t: [] for t in threads}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counts = {"posts": 0, "replies": 0, "votes": 0, "retried": 0, "failed": 0}
        self.latency: list[float] = []
        self.seed = seed
        self.workers: list[threading.Thread] = []
        self.rr = itertools.count()

    def _node(self) -> _servers.ThreadlogServer:
        alive = [n for n, up in zip(self.site.nodes, self.site.alive) if up] or self.site.nodes
        return alive[next(self.rr) % len(alive)]

    def _send(self, session, path: str, body: dict, headers: dict) -> dict | None:
        import requests

        for attempt in range(6):
            if attempt and self.stop.is_set():
                break  # the run is over: do not hold its end up retrying
            node = self._node()
            try:
                answer = session.post(node.url + path, json=body, timeout=30,
                                      headers={**headers, "Origin": node.origin})
            except requests.RequestException:
                with self.lock:
                    self.counts["retried"] += 1
                time.sleep(0.2 * (attempt + 1))
                continue
            if answer.status_code in (200, 201):
                return answer.json()
            if answer.status_code >= 500:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
        with self.lock:
            self.counts["failed"] += 1
        return None

    def open_threads(self) -> None:
        import requests

        session = requests.Session()
        for key in self.threads:
            out = self._send(session, f"/api/threads/{key}/comments",
                             {"body": f"The opening comment of {key}.", "author_name": "Opener"}, {})
            self.comments[key].append(out["comment"]["id"])

    def _write(self, w: int) -> None:
        import requests

        rng = random.Random(self.seed * 1000 + w)
        session = requests.Session()
        interval = self.count / self.rate if self.rate > 0 else 0.0
        due, n = time.monotonic(), 0
        while not self.stop.is_set():
            if interval:
                due += interval
                delay = due - time.monotonic()
                if delay > 0:
                    if self.stop.wait(delay):
                        break
                else:
                    due = time.monotonic()  # behind: do not burst to catch up
            key = rng.choice(self.threads)
            with self.lock:
                known = list(self.comments[key][-50:])
            roll = rng.random()
            t = time.monotonic()
            if roll < 0.35 and known:
                out = self._send(session, f"/api/comments/{rng.choice(known)}/vote", {"value": rng.choice((1, -1, 0))},
                                 {})
                kind = "votes"
            else:
                n += 1
                body = {"body": BODY.format(n=n, w=w), "author_name": f"Writer {w}"}
                kind = "posts"
                if roll < 0.55 and known:
                    body["parent_id"] = rng.choice(known)
                    kind = "replies"
                out = self._send(session, f"/api/threads/{key}/comments", body,
                                 {"Idempotency-Key": f"soak-{self.seed}-{w}-{n}"})
                if out is not None:
                    with self.lock:
                        self.comments[key].append(out["comment"]["id"])
            with self.lock:
                self.latency.append(time.monotonic() - t)
                if out is not None:
                    self.counts[kind] += 1

    def start(self) -> None:
        for w in range(self.count):
            t = threading.Thread(target=self._write, args=(w,), daemon=True, name=f"writer-{w}")
            t.start()
            self.workers.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.workers:
            t.join(60)


# --- the log ---------------------------------------------------------------------------------------------

def read_log(node: _servers.ThreadlogServer, threads: set[str]) -> tuple[dict[str, list[int]], dict[int, float], int]:
    """Every event of the soak's threads from GET /api/events: positions per thread, recorded_at per position."""
    import requests

    session = requests.Session()
    expected: dict[str, list[int]] = {t: [] for t in threads}
    recorded: dict[int, float] = {}
    after, head = 0, 0
    while True:
        page = session.get(f"{node.url}/api/events", params={"after": after, "limit": 1000}, timeout=60).json()
        head = page["head"]
        for ev in page["events"]:
            if ev["stream"] in expected:
                expected[ev["stream"]].append(ev["position"])
                recorded[ev["position"]] = datetime.fromisoformat(ev["recorded_at"]).timestamp()
        if not page["events"] or page["next"] >= head:
            break
        after = page["next"]
    return expected, recorded, head


def log_head(node: _servers.ThreadlogServer) -> int:
    import requests

    return requests.get(f"{node.url}/api/events", params={"after": 0, "limit": 1}, timeout=30).json()["head"]


def _ms(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 50) * 1000, 1),
            "p99": round(percentile(values, 99) * 1000, 1), "max": round(max(values) * 1000, 1)}


# --- the run ---------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long the writers write (default 10)")
    ap.add_argument("--readers", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=100)
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--rate", type=float, default=80.0, help="writes per second, all writers together (0: unpaced)")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--client-procs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--no-failures", action="store_true", help="no kill, no Redis restart (a baseline)")
    ap.add_argument("--keep", action="store_true", help="keep the database and logs (their names go to stderr)")
    args = ap.parse_args()
    if args.nodes < 2:
        ap.error("--nodes must be at least 2 (one is killed)")
    nofile = _servers.raise_nofile(20000)
    duration = args.minutes * 60
    say = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)  # noqa: E731

    tmp = _servers.temp_dir("bench-soak-")
    db = _servers.PostgresDatabase(prefix="threadlog_soak_")
    redis = _servers.RedisProcess().start()
    site = Site(tmp, db.url, redis, args.nodes)
    pool: ClientPool | None = None
    result: dict = {"benchmark": "soak", "cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in
                                                                                       os.getloadavg()],
                    "minutes": args.minutes, "readers": args.readers, "threads": args.threads,
                    "writers": args.writers, "target_rate": args.rate, "nodes": args.nodes,
                    "client_procs": args.client_procs, "open_files_limit": nofile}
    ok = True
    try:
        say(f"starting {args.nodes} nodes, projector, notifier on {db.name}, redis :{redis.port}")
        site.start()
        threads = [f"soak-{args.seed}-{i:03d}" for i in range(args.threads)]
        writers = Writers(site, threads, args.writers, args.rate, args.seed)
        writers.open_threads()
        urls = [n.ws_url for n in site.nodes]
        pool = ClientPool(args.client_procs, urls)
        specs = [(threads[i % args.threads], i % args.nodes) for i in range(args.readers)]
        shares = [specs[k::args.client_procs] for k in range(args.client_procs)]
        t_connect = time.time()
        pool.ask("start", [{"readers": s, "parallel": 20} for s in shares])
        while sum(pool.same("ready")) < args.readers:
            if time.time() - t_connect > 600:
                raise RuntimeError(f"only {sum(pool.same('ready'))} of {args.readers} readers connected")
            time.sleep(1)
        result["connect_seconds"] = round(time.time() - t_connect, 1)
        say(f"{args.readers} readers ready in {result['connect_seconds']} s; writing for {args.minutes} min")

        # samples: RSS and CPU of each process, every 5 s
        samples: list[dict] = []
        incidents: list[dict] = []
        stop_sampling = threading.Event()

        def sample() -> None:
            while not stop_sampling.wait(5):
                row = {"t": time.time()}
                for i, node in enumerate(site.nodes):
                    try:
                        row[f"node{i + 1}"] = (rss_kb(node.pid), cpu_seconds(node.pid))
                    except (OSError, RuntimeError, AssertionError):
                        pass
                samples.append(row)

        sampler = threading.Thread(target=sample, daemon=True)
        head0 = log_head(site.nodes[0])
        t0 = time.time()
        sampler.start()
        writers.start()
        plan = [] if args.no_failures else [
            (0.25, "kill -9 node"), (0.25 + 30 / duration, "restart node"), (0.40, "rebuild"),
            (0.50, "restart redis"), (0.70, "kill -9 projector and notifier")]
        plan = sorted((t0 + frac * duration, what) for frac, what in plan if frac < 0.95)
        victim = args.nodes - 1
        for at, what in plan:
            time.sleep(max(0.0, at - time.time()))
            t = time.time()
            if what == "kill -9 node":
                site.alive[victim] = False
                os.kill(site.nodes[victim].pid, signal.SIGKILL)
                site.nodes[victim].proc.wait()
                incidents.append({"what": f"kill -9 node{victim + 1}", "at_s": round(t - t0, 1), "t": t})
            elif what == "restart node":
                site.nodes[victim].start()
                site.alive[victim] = True
                incidents.append({"what": f"node{victim + 1} started again", "at_s": round(t - t0, 1),
                                  "t": t, "took_s": round(time.time() - t, 1)})
            elif what == "rebuild":
                proc = subprocess.run([str(VENV_BIN / "threadlog"), "projections", "rebuild"],
                                      env=site.nodes[0].env, cwd=ROOT, capture_output=True, text=True, timeout=600)
                incidents.append({"what": "online rebuild of the read models", "at_s": round(t - t0, 1), "t": t,
                                  "took_s": round(time.time() - t, 1), "exit": proc.returncode,
                                  "output": (proc.stdout + proc.stderr).strip()[-400:]})
                ok = ok and proc.returncode == 0
            elif what == "restart redis":
                redis.stop()
                time.sleep(3)
                redis.start()
                incidents.append({"what": "redis killed, started again 3 s later", "at_s": round(t - t0, 1), "t": t})
            else:
                site.projector.kill9()
                site.notifier.kill9()
                time.sleep(2)
                site.projector.start()
                site.notifier.start()
                incidents.append({"what": "kill -9 projector and notifier, started again 2 s later",
                                  "at_s": round(t - t0, 1), "t": t})
            say(incidents[-1]["what"])
        time.sleep(max(0.0, t0 + duration - time.time()))
        writers.join()
        t_end = time.time()
        stop_sampling.set()
        sampler.join()
        say("writers stopped; reading the log")
        alive = [n for n, up in zip(site.nodes, site.alive) if up]
        expected, recorded, head = read_log(alive[0], set(threads))
        heads = {t: (p[-1] if p else 0) for t, p in expected.items()}
        wait0 = time.time()
        behind = sum(pool.same("behind", heads))
        while behind and time.time() - wait0 < 120:
            time.sleep(1)
            behind = sum(pool.same("behind", heads))
        result["catch_up_seconds"] = round(time.time() - wait0, 1)
        result["readers_behind_after_catch_up"] = behind
        say(f"{behind} readers behind after {result['catch_up_seconds']} s; collecting")
        parts = pool.same("collect", {"expected": expected, "recorded": recorded, "t0": t0})
        pool.same("stop")

        events = head - head0
        result["events"] = events
        # over the writing time only: writes still in flight when it ended (a slow node) come after it
        in_window = sum(1 for at in recorded.values() if t0 <= at <= t0 + duration)
        result["events_per_second"] = round(in_window / duration, 1)
        result["writers_stopped_after_s"] = round(t_end - t0, 1)
        result["writes"] = dict(writers.counts)
        result["write_latency_ms"] = _ms(writers.latency)
        check = {k: sum(p[k] for p in parts) for k in ("readers", "exact", "missing_readers", "missing_frames",
                                                        "extra_frames", "violations", "resets", "never_connected",
                                                        "disconnected_at_end")}
        check["frames_expected"] = sum(len(expected[t]) for t, _ in specs)
        result["readers_check"] = check
        by_minute: dict[int, list[float]] = {}
        for p in parts:
            for m, raw in p["latency_by_minute"].items():
                by_minute.setdefault(m, []).extend(array("f", raw).tolist())
        result["push_latency_ms_by_minute"] = {m: _ms(v) for m, v in sorted(by_minute.items())}
        result["push_latency_ms_all"] = _ms([x for v in by_minute.values() for x in v])
        reconnects = [r for p in parts for r in p["reconnects"]]
        result["reconnects"] = {"count": len(reconnects),
                                "drop_to_ready_ms": _ms([b - a for a, b, _ in reconnects]),
                                "drop_to_handshake_ms": _ms([c - a for a, _, c in reconnects])}
        for inc in incidents:
            moved = [(a, b, c) for a, b, c in reconnects if inc["t"] - 1 <= a <= inc["t"] + 30]
            if moved:
                inc["readers_reconnected"] = len(moved)
                inc["drop_seen_after_kill_ms"] = _ms([a - inc["t"] for a, _, _ in moved])
                inc["handshake_after_kill_ms"] = _ms([c - inc["t"] for _, _, c in moved])
                inc["last_reader_ready_s"] = round(max(b for _, b, _ in moved) - inc["t"], 2)
            inc.pop("t")
        result["incidents"] = incidents
        result["rss_kib_by_minute"], result["rss_growth_once_warm"] = _rss(samples, t0, len(site.nodes))
        result["server_cpu_seconds"] = {k: round(v[1], 1) for k, v in (samples[-1] if samples else {}).items()
                                        if k != "t"}
        site.stop()
        say("projections verify, audit verify")
        env_node = site.nodes[0]
        for name, cmd in (("projections_verify", ["projections", "verify"]), ("audit_verify", ["audit", "verify"])):
            proc = subprocess.run([str(VENV_BIN / "threadlog"), *cmd], env=env_node.env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=1800)
            result[name] = {"exit": proc.returncode, "output": (proc.stdout + proc.stderr).strip()[-400:]}
        ok = ok and (check["exact"] == check["readers"] and result["projections_verify"]["exit"] == 0
              and result["audit_verify"]["exit"] == 0)
        result["passed"] = ok
        result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if pool is not None:
            pool.exit()
        site.stop()
        redis.stop()
        if args.keep:
            print(f"kept: database {db.name}, logs in {tmp}", file=sys.stderr)
        else:
            db.drop()
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


def _rss(samples: list[dict], t0: float, nodes: int) -> tuple[dict, dict]:
    """RSS (MiB) of each node at the end of each minute, and its change from the end of minute 2 to the end
    (per node; a node that was restarted counts from its restart)."""
    by_minute: dict[str, dict[int, float]] = {}
    for row in samples:
        m = int((row["t"] - t0) // 60)
        for i in range(nodes):
            name = f"node{i + 1}"
            if name in row:
                by_minute.setdefault(name, {})[m] = round(row[name][0] / 1024, 1)
    growth = {}
    for name, series in by_minute.items():
        minutes = sorted(series)
        warm = [m for m in minutes if m >= 2] or minutes
        growth[name] = {"from_minute": warm[0], "mib_then": series[warm[0]], "mib_at_end": series[minutes[-1]],
                        "change_mib": round(series[minutes[-1]] - series[warm[0]], 1)}
    return by_minute, growth


if __name__ == "__main__":
    sys.exit(main())
