"""Notifications: a thread with 10,000 confirmed subscribers gets one new comment. How long until every message
is handed to the SMTP server, and does the post itself get slower?

    .venv/bin/python benchmarks/notify.py              # 10,000 subscribers
    .venv/bin/python benchmarks/notify.py --quick      # 1,000
    .venv/bin/python benchmarks/notify.py --subscribers N

Set-up: `threadlog serve` (one daphne process, SQLite, the notifier and sender as its child process: the default of
`make run`) with EMAIL_URL pointing at a local aiosmtpd run by this script (it counts messages, accepts each at
once). The subscribers are seeded through the event store (N SubscriptionRequested + N SubscriptionConfirmed,
each address sealed with its own person's key) and the notifier's read model built with `threadlog notify
rebuild`, so no confirmation mail is sent before the measurement.

Measured (wall clock of this machine):
- `post_ms`: the latency of the one POST that triggers the N messages;
- `idle_post_ms`: p50/p95 of 30 posts to a thread without subscribers before that, one at a time (baseline);
- `during_delivery_post_ms`: p50/p95 of posts to a thread without subscribers made every 100 ms while the N
  messages are decided and sent (does the notifier slow the writers?);
- `decided_s`: from the POST's response until the outbox holds all N rows (the notifier's decision);
- `delivered_s`: from the POST's response until the SMTP server has accepted the N-th message;
- `messages_per_s`: N / delivered_s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _servers import ROOT, ThreadlogServer, free_port, percentile, temp_dir  # noqa: E402

SEED_CHUNK = 500


def seed(key: str, n: int) -> None:
    """Run in a child process with the server's environment: the thread and N confirmed subscribers."""
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadlog.settings")
    import django

    django.setup()
    from events.people import person_key, seal
    from events.store import get_store
    from events.subscriptions import SUBSCRIPTIONS_STREAM, SubscriptionConfirmed, SubscriptionRequested
    from projections.base import run_once
    from threadlog.commands import Actor, PostComment, handle

    store = get_store()
    handle(PostComment(thread=key, body="The article's first comment.", author_name="Host"), Actor("guest:bench-host"))
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]
    for start in range(0, n, SEED_CHUNK):
        events = []
        for i in range(start, min(n, start + SEED_CHUNK)):
            person = f"guest:bench-subscriber-{i}"
            sealed = seal(person, {"email": f"reader{i}@bench.example"}, key=person_key(person))
            events.append(SubscriptionRequested(subscription_id=ids[i], thread=key, notify="comments", person=person,
                                                sealed_email=sealed))
        store.append(SUBSCRIPTIONS_STREAM, events)
    for start in range(0, n, SEED_CHUNK):
        store.append(SUBSCRIPTIONS_STREAM, [SubscriptionConfirmed(subscription_id=s) for s in ids[start:start + SEED_CHUNK]])
    run_once(store)


class Sink:
    """aiosmtpd handler that only counts."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += len(envelope.rcpt_tos)
            self.last = time.monotonic()
        return "250 OK"


def post(conn: http.client.HTTPConnection, origin: str, key: str, body: str) -> float:
    payload = json.dumps({"body": body, "author_name": "Bench Poster"})
    started = time.perf_counter()
    conn.request("POST", f"/api/threads/{key}/comments", payload,
                 {"Content-Type": "application/json", "Origin": origin})
    response = conn.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 201:
        raise RuntimeError(f"post answered {response.status}")
    return elapsed


def outbox_rows(db: Path, key: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT COUNT(*) FROM notify_outbox WHERE thread_key = ?", [key]).fetchone()[0]
    except sqlite3.OperationalError:
        return -1
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 subscribers")
    parser.add_argument("--separate", action="store_true",
                        help="NOTIFIER=off on the server and `threadlog notify --follow` as a process of its own")
    parser.add_argument("--connections", type=int, default=None, help="NOTIFY_SMTP_CONNECTIONS (default: the setting's)")
    parser.add_argument("--seed", metavar="KEY", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = 1000 if args.quick else args.subscribers
    if args.seed:
        seed(args.seed, n)
        return 0

    from aiosmtpd.controller import Controller

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    tmp = temp_dir("threadlog-notify-")
    key = "notify-bench"
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{controller.port}", "ACCESS_LOG": "0"}
    if args.connections:
        env["NOTIFY_SMTP_CONNECTIONS"] = str(args.connections)
    if args.separate:
        env["NOTIFIER"] = "off"
    server = ThreadlogServer(tmp, env=env)
    notifier = None
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--seed", key, "--subscribers", str(n)], env=server.env, cwd=ROOT,
                       check=True)
        server.cli("notify", "rebuild")
        seeded_s = time.perf_counter() - t0
        server.env["SITE_URL"] = server.url
        server.start()
        if args.separate:
            notifier = subprocess.Popen([str(Path(sys.executable).parent / "threadlog"), "notify", "--follow"],
                                        env=server.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = tmp / "threadlog.sqlite3"
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for i in range(5):  # warm-up
            post(conn, server.origin, "notify-bench-warm", f"warm-up {i}")
        idle = []
        for i in range(30):
            idle.append(post(conn, server.origin, "notify-bench-idle", f"idle post {i}"))
            time.sleep(0.05)
        if sink.count:
            raise RuntimeError(f"{sink.count} messages before the measurement")

        post_ms = post(conn, server.origin, key, "A new comment for 10,000 readers.")
        posted = time.monotonic()
        during, decided_at = [], None
        deadline = posted + 1800
        while sink.count < n and time.monotonic() < deadline:
            during.append(post(conn, server.origin, "notify-bench-busy", f"busy post {len(during)}"))
            if decided_at is None and outbox_rows(db, key) >= n:
                decided_at = time.monotonic()
            time.sleep(0.1)
        if decided_at is None and outbox_rows(db, key) >= n:
            decided_at = time.monotonic()
        delivered_s = sink.last - posted if sink.count >= n else None
        status = json.loads(server.cli("notify", "status", "--json").stdout)
        result = {
            "benchmark": "notify",
            "subscribers": n,
            "seeded_s": round(seeded_s, 1),
            "post_ms": round(post_ms, 2),
            "idle_post_ms": {"p50": round(statistics.median(idle), 2), "p95": round(percentile(idle, 95), 2)},
            "during_delivery_post_ms": {"n": len(during), "p50": round(statistics.median(during), 2) if during else None,
                                        "p95": round(percentile(during, 95), 2) if during else None},
            "decided_s": round(decided_at - posted, 2) if decided_at else None,
            "delivered_s": round(delivered_s, 2) if delivered_s is not None else None,
            "messages_received": sink.count,
            "messages_per_s": round(n / delivered_s, 1) if delivered_s else None,
            "outbox": {k: status[k] for k in ("pending", "sent", "failed", "dropped")},
            "server": "threadlog serve, 1 daphne process, SQLite, aiosmtpd on loopback, notifier + sender "
                      + ("in a process of its own (threadlog notify --follow)" if args.separate else "as the child process threadlog serve starts (the default)"),
            "smtp_connections": args.connections or int(os.environ.get("NOTIFY_SMTP_CONNECTIONS", "4")),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 1) for x in os.getloadavg()],
        }
        print(json.dumps(result, indent=2))
        return 0 if sink.count >= n else 1
    finally:
        if notifier is not None:
            notifier.terminate()
            notifier.wait(15)
        server.stop()
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
