"""Live updates against real daphne processes, with the `websockets` client and HTTP writes.

Each test starts its own server(s); writes go over the HTTP API with the site's own Origin, as a page would.
"""
from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import websockets

from tests.conftest import REDIS_URL, ROOT, need_redis, unique_key

pytestmark = pytest.mark.slow
WAIT = 15  # seconds a reader may wait for the events it is owed


# --- HTTP -----------------------------------------------------------------------------------------------

def call(server, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Origin": server.url})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def post(server, key: str, body: str = "hello", parent_id: str | None = None) -> dict:
    payload = {"body": body, "author_name": "Writer"}
    if parent_id:
        payload["parent_id"] = parent_id
    return call(server, "POST", f"/api/threads/{key}/comments", payload)


def vote(server, comment_id: str, value: int) -> dict:
    return call(server, "POST", f"/api/comments/{comment_id}/vote", {"value": value})  # a new guest each time


def thread_events(server, key: str) -> list[tuple[int, int, str]]:
    """The log's truth for one thread: (position, stream_version, type) in order."""
    out, after = [], 0
    while True:
        page = call(server, "GET", f"/api/events?thread={key}&after={after}&limit=1000")
        out += [(e["position"], e["stream_version"], e["type"]) for e in page["events"]]
        if len(page["events"]) < 1000:
            return out
        after = page["next"]


# --- readers --------------------------------------------------------------------------------------------

class Reader:
    """Collects (position, stream_version, type) of every event frame; resumes with ?after=<last position>."""

    def __init__(self, ws_url: str, key: str, *, drops: int = 0):
        self.ws_url, self.key, self.drops = ws_url, key, drops
        self.events: list[tuple[int, int, str]] = []
        self.presence: list[int] = []
        self.connections = 0
        self.ready = asyncio.Event()
        self.target: int | None = None  # the thread's last position, once writers are done
        self.done = asyncio.Event()

    @property
    def last(self) -> int:
        return self.events[-1][0] if self.events else 0

    def _finished(self) -> bool:
        return self.target is not None and self.last >= self.target

    async def run(self, after: int = 0, *, disconnect_window: float = 3.0) -> None:
        self._after = after
        while not self._finished():
            uri = f"{self.ws_url}/ws/threads/{self.key}/?after={max(self._after, self.last)}"
            drop_at = time.monotonic() + random.uniform(0.2, disconnect_window) if self.drops else None
            async with websockets.connect(uri, max_size=2**20, open_timeout=20) as ws:
                self.connections += 1
                while not self._finished():
                    if drop_at is not None and time.monotonic() >= drop_at:
                        self.drops -= 1
                        break  # disconnect at random; the loop reconnects with ?after=last
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=0.2)
                    except asyncio.TimeoutError:
                        continue
                    msg = json.loads(raw)
                    if msg["type"] == "event":
                        self.events.append((msg["position"], msg["stream_version"], msg["event"]["type"]))
                    elif msg["type"] == "ready":
                        self.ready.set()
                    elif msg["type"] == "presence":
                        self.presence.append(msg["readers"])
                    else:
                        raise AssertionError(f"unexpected frame {msg}")
        self.done.set()


def run_writers(server, keys: list[str], comments: dict[str, list[str]], n: int, seconds: float) -> int:
    """n threads posting (some replies) and voting over HTTP for `seconds`; returns the number of writes."""
    stop = time.monotonic() + seconds
    count = [0]
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            while time.monotonic() < stop:
                key = rnd.choice(keys)
                if rnd.random() < 0.4 or not comments[key]:
                    parent = rnd.choice(comments[key]) if comments[key] and rnd.random() < 0.3 else None
                    comments[key].append(post(server, key, f"from writer {seed}", parent)["comment"]["id"])
                else:
                    vote(server, rnd.choice(comments[key]), rnd.choice([1, -1]))
                count[0] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return count[0]


async def finish(readers: list[Reader], truth: dict[str, list[tuple[int, int, str]]]) -> None:
    for r in readers:
        r.target = truth[r.key][-1][0]
    await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in readers)), WAIT)


# --- tests ----------------------------------------------------------------------------------------------

def test_50_readers_4_writers_every_event_exactly_once_in_order_with_resumes(make_server):
    server = make_server().start()
    keys = [unique_key("fan") for _ in range(3)]
    comments: dict[str, list[str]] = {k: [post(server, k, "opening")["comment"]["id"]] for k in keys}

    async def main():
        rnd = random.Random(4)
        readers = [Reader(server.ws_url, keys[i % len(keys)], drops=rnd.choice([1, 2, 3]) if i % 3 == 0 else 0)
                   for i in range(50)]
        tasks = [asyncio.create_task(r.run()) for r in readers]
        await asyncio.wait_for(asyncio.gather(*(r.ready.wait() for r in readers)), 30)
        writes = await asyncio.to_thread(run_writers, server, keys, comments, 4, 3.0)
        assert writes > 20
        truth = {k: await asyncio.to_thread(thread_events, server, k) for k in keys}
        await finish(readers, truth)
        await asyncio.gather(*tasks)
        return readers, truth

    readers, truth = asyncio.run(main())
    for key, events in truth.items():
        assert [v for _, v, _ in events] == list(range(1, len(events) + 1))
    resumed = [r for r in readers if r.connections > 1]
    assert len(resumed) >= 10
    for r in readers:
        assert r.events == truth[r.key], (r.key, r.connections)


KILLER = textwrap.dedent("""
    import os, sys
    sys.path[:0] = [{root!r}, {platform!r}]
    os.environ["DJANGO_SETTINGS_MODULE"] = "threadlog.settings"
    import django
    django.setup()
    from threadlog.commands import Actor, PostComment, handle, handlers

    def die(position):
        print(position, flush=True)
        os._exit(17)  # committed, and gone before any push or doorbell

    handlers._after_commit.insert(0, die)
    handle(PostComment(thread={key!r}, body="from a writer that dies", author_name="Ghost"), Actor("guest:ghost"))
    print("not reached", flush=True)
""")


def test_event_of_a_writer_killed_between_commit_and_push_still_reaches_readers(make_server):
    server = make_server().start()
    key = unique_key("kill")
    opened = post(server, key, "opening")

    async def main():
        reader = Reader(server.ws_url, key)
        task = asyncio.create_task(reader.run(after=opened["position"]))
        await asyncio.wait_for(reader.ready.wait(), 20)
        script = KILLER.format(root=str(ROOT), platform=str(ROOT / "platform"), key=key)
        proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], env=server.env,
                                       capture_output=True, text=True, timeout=120)
        assert proc.returncode == 17, proc.stderr[-2000:]
        position = int(proc.stdout.split()[0])
        assert thread_events(server, key)[-1][0] == position  # committed
        reader.target = position
        await asyncio.wait_for(reader.done.wait(), WAIT)  # pushed by the server's publisher poll
        await task
        return reader, position

    reader, position = asyncio.run(main())
    assert reader.events == [(position, 3, "CommentPosted")]


def test_two_nodes_share_postgres_and_redis(make_server, postgres_database):
    need_redis()
    # A long poll: delivery across nodes must come from the Redis doorbell, not from the backup poll.
    env = {"PUBLISHER_POLL_SECONDS": "30"}
    a = make_server(database_url=postgres_database.url, redis_url=REDIS_URL, env=env).start()
    b = make_server(database_url=postgres_database.url, redis_url=REDIS_URL, env=env, migrate=False).start()
    key = unique_key("nodes")
    first = post(a, key, "opening")

    async def main():
        on_b = Reader(b.ws_url, key)
        on_a = Reader(a.ws_url, key)
        tasks = [asyncio.create_task(on_b.run(after=0))]
        await asyncio.wait_for(on_b.ready.wait(), 20)
        tasks.append(asyncio.create_task(on_a.run(after=first["position"])))
        await asyncio.wait_for(on_a.ready.wait(), 20)
        # presence counts readers on both nodes
        deadline = time.monotonic() + WAIT
        while not (on_a.presence[-1:] == [2] and on_b.presence[-1:] == [2]):
            assert time.monotonic() < deadline, (on_a.presence, on_b.presence)
            await asyncio.sleep(0.05)

        started = time.monotonic()
        cid = first["comment"]["id"]
        for i in range(5):
            reply = await asyncio.to_thread(post, a, key, f"reply {i}", cid)
            await asyncio.to_thread(vote, a, reply["comment"]["id"], 1)
            await asyncio.to_thread(vote, a, cid, -1 if i % 2 else 1)
        truth = await asyncio.to_thread(thread_events, a, key)
        await finish([on_b, on_a], {key: truth})
        elapsed = time.monotonic() - started
        await asyncio.gather(*tasks)  # both readers leave

        # a third reader on B sees the count drop back when a reader on A leaves
        watcher = Reader(b.ws_url, key)
        leaving = Reader(a.ws_url, key)
        w_task = asyncio.create_task(watcher.run(after=truth[-1][0]))
        l_task = asyncio.create_task(leaving.run(after=truth[-1][0]))
        await asyncio.wait_for(asyncio.gather(watcher.ready.wait(), leaving.ready.wait()), 20)
        deadline = time.monotonic() + WAIT
        while watcher.presence[-1:] != [2]:
            assert time.monotonic() < deadline, watcher.presence
            await asyncio.sleep(0.05)
        leaving.target = 0
        await l_task
        while watcher.presence[-1:] != [1]:
            assert time.monotonic() < deadline, watcher.presence
            await asyncio.sleep(0.05)
        watcher.target = 0
        await w_task
        return on_b, on_a, truth, elapsed

    on_b, on_a, truth, elapsed = asyncio.run(main())
    assert on_b.events == truth  # everything, from position 0, in order
    assert [t for _, _, t in truth].count("VoteCast") == 10
    assert on_a.events == [e for e in truth if e[0] > first["position"]]
    assert elapsed < 25  # well under the 30 s poll: woken by the doorbell


def test_slow_reader_on_a_real_server_is_closed_and_others_keep_receiving(make_server):
    """Daphne's send never blocks, so the consumer also watches its socket's unsent bytes (a frame budget)."""
    server = make_server(env={"WS_QUEUE_FRAMES": "8"}).start()
    key = unique_key("slow")
    opened = post(server, key, "opening " + "x" * 2000)

    async def main():
        fast = Reader(server.ws_url, key)
        task = asyncio.create_task(fast.run(after=opened["position"]))
        await asyncio.wait_for(fast.ready.wait(), 20)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        slow = await websockets.connect(f"{server.ws_url}/ws/threads/{key}/", sock=sock, max_queue=1,
                                        max_size=2**20, open_timeout=20)
        deadline = time.monotonic() + 40
        n = 0
        while fast.presence[-1:] != [1] or not fast.presence.count(2):  # until the server drops the slow one
            assert time.monotonic() < deadline, "the slow reader was never closed"
            await asyncio.to_thread(post, server, key, f"{n} " + "y" * 9000)  # big frames fill buffers fast
            n += 1
        for i in range(3):  # after the close: the slow reader must not get these, the others must
            await asyncio.to_thread(post, server, key, f"after the close {i}")
        truth = await asyncio.to_thread(thread_events, server, key)
        await finish([fast], {key: truth})
        await task
        received = []
        try:
            async for raw in slow:
                msg = json.loads(raw)
                if msg["type"] == "event":
                    received.append((msg["position"], msg["stream_version"], msg["event"]["type"]))
        except websockets.ConnectionClosed:
            pass
        # the others got everything; the slow reader got a strict prefix, then the close
        owed = [e for e in truth if e[0] > opened["position"]]
        assert fast.events == owed
        assert received == owed[:len(received)] and len(received) < len(owed)
        return slow.close_code, n

    code, posted = asyncio.run(main())
    assert posted < 200
    # 4008 when the close frame gets through; 1006 when the server gave up the close handshake with a reader
    # that still does not read
    assert code in (4008, 1006), code


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_serve_workers_share_the_port_and_the_sqlite_log(make_server):
    """`threadlog serve --workers 3` on SQLite with Redis: writers spread over the processes (a new connection
    per request) and readers on any of them get every event in order, woken by the doorbell (the poll is 30 s);
    presence sums the processes' readers; stopping the server stops every worker."""
    need_redis()
    server = make_server(redis_url=REDIS_URL, env={"PUBLISHER_POLL_SECONDS": "30"}, workers=3).start()
    children = _children(server.proc.pid)
    # the daphne workers, and the notifier `threadlog serve` also starts (threadlog.notifications)
    workers = [p for p in children if b"notify" not in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(workers) == 3 and len(children) == 4, children
    workers = children  # stopping the server stops them all
    key = unique_key("workers")
    comments = {key: [post(server, key, "opening")["comment"]["id"]]}

    async def main():
        readers = [Reader(server.ws_url, key) for _ in range(9)]
        tasks = [asyncio.create_task(r.run(after=0)) for r in readers]
        await asyncio.wait_for(asyncio.gather(*(r.ready.wait() for r in readers)), 20)
        deadline = time.monotonic() + WAIT
        while not all(r.presence[-1:] == [9] for r in readers):
            assert time.monotonic() < deadline, [r.presence[-3:] for r in readers]
            await asyncio.sleep(0.05)
        writes = await asyncio.to_thread(run_writers, server, [key], comments, 6, 3.0)
        truth = await asyncio.to_thread(thread_events, server, key)
        await finish(readers, {key: truth})
        await asyncio.gather(*tasks)
        return readers, truth, writes

    readers, truth, writes = asyncio.run(main())
    assert len(truth) == writes + 2  # ThreadOpened + the opening comment + every write, none lost
    assert [v for _, v, _ in truth] == list(range(1, len(truth) + 1))
    for reader in readers:
        assert reader.events == truth
    server.stop()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text()]


def test_a_rebuild_in_another_process_resets_only_the_readers_whose_frames_changed(make_server):
    """`threadlog projections rebuild` run beside a live server (issue 17): the node's publisher reads the rebuild's
    notices (no Redis here) and sends `reset` to the readers of the thread whose frames changed; the other
    thread's reader is told nothing and keeps receiving."""
    import sqlite3

    server = make_server().start()
    changed, kept = unique_key("rb-changed"), unique_key("rb-kept")
    for key in (changed, kept):
        post(server, key, "first")
        post(server, key, "second")
    db = sqlite3.connect(server.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with db:  # the frame as an older projector might have written it
        (position, text), = db.execute("SELECT position, frame FROM threadlog_frame WHERE thread_key = ?"
                                       " ORDER BY position DESC LIMIT 1", [changed]).fetchall()
        db.execute("UPDATE threadlog_frame SET frame = ? WHERE position = ?",
                   [text.replace("second", "as rendered before"), position])
    db.close()

    async def read(ws, until: str, seconds: float = WAIT) -> list[dict]:
        frames = []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), seconds))
            if frame["type"] != "presence":
                frames.append(frame)
            if frame["type"] == until:
                return frames

    async def main():
        async with websockets.connect(f"{server.ws_url}/ws/threads/{changed}/?after=0") as on_changed, \
                websockets.connect(f"{server.ws_url}/ws/threads/{kept}/?after=0") as on_kept:
            served = await read(on_changed, "ready")
            assert "as rendered before" in json.dumps(served)
            await read(on_kept, "ready")
            done = await asyncio.to_thread(server.cli, "projections", "rebuild")
            assert "frames changed in 1 thread(s)" in done.stdout
            reset = (await read(on_changed, "reset"))[-1]
            assert reset["position"] == position and "rebuilt" in reset["reason"]
            later = await asyncio.to_thread(post, server, kept, "after the rebuild")
            got = await read(on_kept, "event")
            assert [f["type"] for f in got] == ["event"] and got[0]["position"] == later["position"]
            await on_changed.send(json.dumps({"type": "resume", "after": 0}))
            resumed = await read(on_changed, "ready")
            assert "as rendered before" not in json.dumps(resumed) and len(resumed) == 4

    asyncio.run(main())
