"""Server CPU of one subscribe request (`POST /api/threads/{key}/subscriptions`), in-process, printing JSON.

    .venv/bin/python benchmarks/subscribe.py                  # SQLite file in a temporary directory
    .venv/bin/python benchmarks/subscribe.py --n 2000 --database-url postgres://postgres@127.0.0.1:5432/postgres

Django's test client (no socket, no daphne) against a fresh database, RATE_LIMITS=off, no notifier running: the
figure is the request's own work (validation, handler, append, projection), measured with time.process_time over
N subscribes of N different addresses to a thread that already has `--existing` subscriptions (new requests,
never duplicates), then N repeats of one address (the duplicate rule's answer). A PostgreSQL URL gets a
throw-away database of its own.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def run(n: int, existing: int) -> dict:
    from make_thread import setup_django

    setup_django()
    from django.test import Client

    client = Client()

    def subscribe(key: str, address: str) -> None:
        response = client.post(f"/api/threads/{key}/subscriptions", json.dumps({"email": address}),
                               content_type="application/json", HTTP_ORIGIN="http://testserver")
        assert response.status_code == 202, response.content

    for i in range(existing):
        subscribe("bench-thread", f"old{i}@example.com")
    for i in range(20):  # warm-up
        subscribe("bench-warm", f"warm{i}@example.com")
    out = {}
    for phase, address in (("new", lambda i: f"reader{i}@example.com"), ("repeat", lambda i: "same@example.com")):
        started, wall = time.process_time(), time.perf_counter()
        for i in range(n):
            subscribe("bench-thread", address(i))
        cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
        out[phase] = {"n": n, "cpu_ms_per_request": round(cpu / n * 1000, 3),
                      "wall_ms_per_request": round(elapsed / n * 1000, 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--existing", type=int, default=1000, help="subscriptions of the thread beforehand")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    os.environ["RATE_LIMITS"] = "off"
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    with tempfile.TemporaryDirectory(prefix="threadlog-bench-") as tmp:
        os.environ["THREADLOG_VAR"] = tmp
        db = None
        if args.database_url:
            import _servers

            db = _servers.PostgresDatabase(args.database_url, prefix="threadlog_bench_")
            os.environ["DATABASE_URL"] = db.url
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        try:
            result = run(args.n, args.existing)
        finally:
            if db is not None:
                from django.db import connections

                connections.close_all()
                db.drop()
    print(json.dumps({"benchmark": "subscribe", "database": "postgresql" if db else "sqlite", **result}, indent=2))


if __name__ == "__main__":
    main()
