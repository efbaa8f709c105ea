"""Real daphne servers: concurrency on PostgreSQL, the demo thread, and the projections CLI."""
from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.conftest import ROOT, unique_key


class HttpClient:
    """One browser-like guest over real HTTP: keeps its signed cookies, sends Origin and JSON."""

    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
            req.add_header("Origin", self.base)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            resp = urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as exc:
            resp = exc
        with resp:
            for header in resp.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                self.cookies.update({name: morsel.value for name, morsel in jar.items()})
            raw = resp.read()
            try:
                return resp.status, json.loads(raw or b"null")
            except ValueError:
                return resp.status, raw[:300].decode(errors="replace")

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        assert status == 200, (status, body)
        return body


def _all_events(client: HttpClient, key: str) -> list[dict]:
    events, after = [], 0
    while True:
        page = client.get(f"/api/events?thread={key}&after={after}&limit=1000")
        events += page["events"]
        if not page["events"]:
            return events
        after = page["next"]


def _walk(nodes):
    for n in nodes:
        yield n
        yield from _walk(n["replies"])


@pytest.mark.postgres
@pytest.mark.slow
def test_8_clients_x_100_requests_on_postgresql(make_server, postgres_database):
    server = make_server(database_url=postgres_database.url).start()
    key = unique_key("conc")
    opener = HttpClient(server.url)
    seeds = []
    for i in range(4):
        status, body = opener.request("POST", f"/api/threads/{key}/comments", {"body": f"seed {i}", "author_name": "S"})
        assert status == 201, body
        seeds.append(body["comment"]["id"])

    CLIENTS, REQUESTS = 8, 100
    VALUES = [1, -1, 0, 1, 1, -1]
    results: list[dict] = [{} for _ in range(CLIENTS)]
    errors: list[Any] = []
    barrier = threading.Barrier(CLIENTS)

    def client(i: int) -> None:
        http = HttpClient(server.url)
        last: dict[str, int] = {}
        replies = {s: 0 for s in seeds}
        appended_votes = posts = 0
        barrier.wait()
        try:
            for j in range(REQUESTS):
                seed = seeds[(j // 2 + i) % len(seeds)]
                if j % 2 == 0:
                    payload = {"body": f"client {i} post {j}", "author_name": f"C{i}"}
                    if j % 4 == 2:
                        payload["parent_id"] = seed
                        replies[seed] += 1
                    status, body = http.request("POST", f"/api/threads/{key}/comments", payload)
                    if status != 201:
                        errors.append((i, j, status, body))
                    posts += 1
                else:
                    value = VALUES[(j // 2 + i) % len(VALUES)]
                    status, body = http.request("POST", f"/api/comments/{seed}/vote", {"value": value})
                    if status != 200:
                        errors.append((i, j, status, body))
                    if last.get(seed, 0) != value:
                        appended_votes += 1
                    last[seed] = value
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append((i, repr(exc)))
        results[i] = {"last": last, "replies": replies, "votes": appended_votes, "posts": posts}

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:5]
    assert all(r for r in results)

    total_posts = sum(r["posts"] for r in results)
    assert total_posts == CLIENTS * REQUESTS // 2
    thread = opener.get(f"/api/threads/{key}")
    assert thread["comment_count"] == len(seeds) + total_posts

    page = opener.get(f"/api/threads/{key}/comments?sort=oldest&limit=200")
    tops, cursor = list(page["comments"]), page["next_cursor"]
    while cursor:
        page = opener.get(f"/api/threads/{key}/comments?sort=oldest&limit=200&cursor={cursor}")
        tops += page["comments"]
        cursor = page["next_cursor"]
    every = list(_walk(tops))
    assert len(every) == len({c["id"] for c in every}) == thread["comment_count"]
    by_id = {c["id"]: c for c in every}
    for seed in seeds:
        values = [r["last"].get(seed, 0) for r in results]
        up, down = values.count(1), values.count(-1)
        c = by_id[seed]
        assert (c["up"], c["down"], c["score"]) == (up, down, up - down), seed
        assert c["reply_count"] == sum(r["replies"][seed] for r in results)
    assert sum(c["up"] + c["down"] for c in every) == sum(
        sum(1 for v in r["last"].values() if v) for r in results)

    # the log: one event per accepted change, stream versions 1..N without gaps, positions increasing
    events = _all_events(opener, key)
    expected = 1 + len(seeds) + total_posts + sum(r["votes"] for r in results)
    assert len(events) == expected
    assert [e["stream_version"] for e in events] == list(range(1, expected + 1))
    positions = [e["position"] for e in events]
    assert positions == sorted(set(positions))
    assert thread["position"] == positions[-1]

    verify = server.cli("projections", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_demo_thread_and_cli(make_server):
    server = make_server(demo=True).start()
    http = HttpClient(server.url)
    thread = http.get("/api/threads/demo")
    assert thread["comment_count"] == 8 and thread["title"]
    page = http.get("/api/threads/demo/comments")
    assert page["comment_count"] == 8
    tops = page["comments"]
    assert len(tops) == 4
    every = list(_walk(tops))
    assert len(every) == 8
    assert max(c["depth"] for c in every) == 3
    # a chain four levels deep: top -> reply -> reply -> reply
    chain = [t for t in tops if t["replies"] and t["replies"][0]["replies"]]
    assert len(chain) == 1
    node, depth = chain[0], 0
    while node["replies"]:
        node, depth = node["replies"][0], depth + 1
        assert node["depth"] == depth and node["parent_id"]
    assert depth == 3
    assert all(c["up"] + c["down"] > 0 for c in every)
    assert any(c["down"] > 0 for c in every) and sum(c["score"] for c in every) > 0
    by_name = {c["author"]["name"] for c in every}
    assert len(by_name) >= 5
    assert sorted(http.get("/api/threads/demo/comments?sort=most_voted")["comments"],
                  key=lambda c: -c["score"]) == http.get("/api/threads/demo/comments?sort=most_voted")["comments"]
    head = http.get("/api/events?limit=1")["head"]

    # loading the demo again changes nothing
    again = server.cli("demo")
    assert again.returncode == 0 and "already present" in again.stdout
    assert http.get("/api/events?limit=1")["head"] == head
    assert http.get("/api/threads/demo")["comment_count"] == 8

    # rebuild then verify, on the running server's database; the API serves the same thread after
    rebuilt = server.cli("projections", "rebuild", check=False)
    assert rebuilt.returncode == 0, rebuilt.stderr
    verified = server.cli("projections", "verify", check=False)
    assert verified.returncode == 0, verified.stderr
    assert "equals" in verified.stdout
    assert http.get("/api/threads/demo/comments") == page
    # and writes continue after a rebuild
    status, body = http.request("POST", "/api/threads/demo/comments", {"body": "after", "author_name": "Z"})
    assert status == 201 and body["position"] == head + 1
    assert server.cli("projections", "verify", check=False).returncode == 0


def test_the_server_copies_the_sqlite_wal_back_from_a_thread_of_its_own(make_server):
    """Under `threadlog serve` the requests' connections checkpoint only past 10,000 WAL pages, and a background
    thread does it every half second (threadlog.server_tuning): a few posts reach the database file within
    seconds, which no commit of theirs would have done."""
    import hashlib
    import time

    server = make_server().start()
    http = HttpClient(server.url)
    db = server.tmp / "server.sqlite3"
    assert http.request("POST", "/api/threads/wal/comments", {"body": "first", "author_name": "W"})[0] == 201
    time.sleep(1.5)  # the first post (and the thread's first rows) reach the file
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for i in range(20):
        status, body = http.request("POST", "/api/threads/wal/comments", {"body": f"post {i}", "author_name": "W"})
        assert status == 201, body
    deadline = time.monotonic() + 10
    while hashlib.sha256(db.read_bytes()).hexdigest() == before:
        assert time.monotonic() < deadline, "the posts never reached the database file"
        time.sleep(0.2)
    wal = db.with_name(db.name + "-wal")
    assert wal.exists()  # still in WAL mode; the file is reused from its start, not grown per post
    assert http.request("GET", "/api/threads/wal")[1]["comment_count"] == 21


@pytest.mark.parametrize("access_log", ["1", "0"])
def test_the_access_log_can_be_turned_off(make_server, access_log):
    """`threadlog serve` logs one line per request by default; ACCESS_LOG=0 (--no-access-log) leaves them out."""
    server = make_server(env={"ACCESS_LOG": access_log}).start()
    http = HttpClient(server.url)
    assert http.request("POST", "/api/threads/quiet/comments", {"body": "shh", "author_name": "Q"})[0] == 201
    server.stop()
    logged = server.log.read_text()
    assert ('"POST /api/threads/quiet/comments" 201' in logged) == (access_log == "1")


class _AppendLockHolder:
    """Another writer that queues on the append lock, as a command-line import does."""

    def __init__(self, db: Path):
        self.fd = os.open(str(db) + ".append-lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class _SqliteWriteLockHolder:
    """A writer outside the append lock (as a session or admin save is): it holds SQLite's own write lock."""

    def __init__(self, db: Path):
        self.conn = sqlite3.connect(str(db), isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


@pytest.mark.parametrize("holder", [_AppendLockHolder, _SqliteWriteLockHolder])
def test_a_write_waiting_for_another_writer_leaves_the_event_loop_free(make_server, holder):
    """While another writer holds the append lock or SQLite's write lock, an API write waits on the write
    thread: the event loop goes on serving, a reader connects meanwhile, and the write goes through once the
    lock is released."""
    server = make_server().start()
    key = unique_key()
    client = HttpClient(server.url)
    assert client.request("POST", f"/api/threads/{key}/comments", {"body": "first", "author_name": "Ann"})[0] == 201
    other = holder(server.tmp / "server.sqlite3")
    result: dict[str, Any] = {}

    def write() -> None:
        result["status"], result["body"] = client.request(
            "POST", f"/api/threads/{key}/comments", {"body": "second", "author_name": "Ann"})

    writer = threading.Thread(target=write)
    try:
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive()  # it waits for the lock…

        async def ready() -> dict:  # …and the event loop answers a reader meanwhile
            async with websockets.connect(f"{server.ws_url}/ws/threads/{key}/", open_timeout=5) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 5))

        started = time.monotonic()
        frame = asyncio.run(ready())
        assert frame["type"] == "ready" and time.monotonic() - started < 5
        assert writer.is_alive()
    finally:
        other.release()
    writer.join(30)
    assert result["status"] == 201, result
    assert client.get(f"/api/threads/{key}")["comment_count"] == 2


def test_a_write_after_events_the_read_model_lacks_catches_up_first(make_server):
    """Events appended to the server's log without projection (as by an import): the next API write is
    decided only once the read model has them, and nothing is lost or counted twice."""
    server = make_server().start()
    key = unique_key()
    client = HttpClient(server.url)
    status, first = client.request("POST", f"/api/threads/{key}/comments", {"body": "first", "author_name": "Ann"})
    assert status == 201
    append = ("import django; django.setup()\n"
              "from events.store import ANY, EventStore\n"
              "from events.types import VoteCast\n"
              f"EventStore().append({key!r}, [VoteCast(comment_id={first['comment']['id']!r}, voter='guest:imp', "
              "value=1)], expected_version=ANY)\n")
    env = {**server.env, "DJANGO_SETTINGS_MODULE": "threadlog.settings",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
    subprocess.run([sys.executable, "-c", append], env=env, cwd=ROOT, check=True, timeout=60)
    status, second = client.request("POST", f"/api/threads/{key}/comments", {"body": "second", "author_name": "Bo"})
    assert status == 201, second
    assert second["position"] == first["position"] + 2  # after the imported vote: appended once
    page = client.get(f"/api/threads/{key}/comments")
    assert page["comment_count"] == 2
    assert [c["up"] for c in page["comments"]] == [1, 0]
    assert client.get(f"/api/threads/{key}")["position"] == second["position"]
