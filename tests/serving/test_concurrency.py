"""Requests do not wait behind one another (issue 16): reads run beside writes and beside slow reads, and an
expensive kind of read past its queue is answered 503 with Retry-After. No timings: each test holds something
open on purpose (a lock, a read) and checks what completes meanwhile."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from channels.testing import HttpCommunicator

from events.store import _ADVISORY_LOCK_ID
from tests.api.test_server import HttpClient, _AppendLockHolder
from tests.conftest import unique_key


class _PostgresLockHolder:
    """Another session holding a lock: the append lock (as another node's writer does), or a table lock that
    makes every read of that table wait (a slow read held open on purpose)."""

    def __init__(self, url: str, statement: str):
        self.conn = psycopg.connect(url.replace("postgres://", "postgresql://", 1))
        self.conn.execute(statement)

    def release(self) -> None:
        self.conn.commit()
        self.conn.close()


class _Call:
    """One HTTP request on a thread of its own, to be left waiting while others go through."""

    def __init__(self, client: HttpClient, method: str, path: str, body: Any = None):
        self.result: tuple[int, Any] | None = None
        self.thread = threading.Thread(target=self._run, args=(client, method, path, body), daemon=True)
        self.thread.start()

    def _run(self, client, method, path, body) -> None:
        self.result = client.request(method, path, body)

    def waiting(self) -> bool:
        self.thread.join(0.5)  # long enough to have reached the server and the lock it waits for
        return self.thread.is_alive()

    def finish(self) -> tuple[int, Any]:
        self.thread.join(60)
        assert self.result is not None, "the request never completed"
        return self.result


def _post(client: HttpClient, key: str, body: str) -> dict:
    status, out = client.request("POST", f"/api/threads/{key}/comments", {"body": body, "author_name": "Ann"})
    assert status == 201, out
    return out


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_reads_go_through_while_a_write_waits_for_the_append_lock(make_server, postgres_database, database):
    """Another writer (another node, an import) holds the append lock: a post waits for it, and meanwhile the
    thread's page, its past (`?at=`), its summary, the event feed and the audit log of the same process answer."""
    server = make_server(database_url=postgres_database.url if database == "postgres" else None).start()
    client, key = HttpClient(server.url), unique_key()
    first = _post(client, key, "first")
    holder = (_PostgresLockHolder(postgres_database.url, f"SELECT pg_advisory_lock({_ADVISORY_LOCK_ID})")
              if database == "postgres" else _AppendLockHolder(server.tmp / "server.sqlite3"))
    try:
        post = _Call(client, "POST", f"/api/threads/{key}/comments", {"body": "second", "author_name": "Bo"})
        assert post.waiting()
        page = client.get(f"/api/threads/{key}/comments")
        assert [c["body_html"] for c in page["comments"]] == ["<p>first</p>"]
        assert client.get(f"/api/threads/{key}/comments?at={first['position']}")["comment_count"] == 1
        assert client.get(f"/api/threads/{key}")["comment_count"] == 1
        assert client.get(f"/api/events?thread={key}")["events"]
        assert post.waiting()  # still: the reads did not go through because the write had finished
    finally:
        holder.release()
    status, second = post.finish()
    assert status == 201, second
    assert client.get(f"/api/threads/{key}")["comment_count"] == 2


def test_a_time_travel_held_open_blocks_neither_quick_reads_nor_writes_and_a_full_queue_answers_503(
        make_server, postgres_database):
    """PostgreSQL, one server process, EXPENSIVE_QUEUE=1: a time travel waits on a table lock (held open on
    purpose) in the history process; the first page and a post go through meanwhile, and a second time travel
    is turned away with 503, Retry-After and the JSON error body, instead of queueing behind it."""
    server = make_server(database_url=postgres_database.url, env={"EXPENSIVE_QUEUE": "1"}).start()
    client, key = HttpClient(server.url), unique_key()
    first = _post(client, key, "first")
    holder = _PostgresLockHolder(postgres_database.url, "LOCK TABLE threadlog_snapshot IN ACCESS EXCLUSIVE MODE")
    try:
        travel = _Call(client, "GET", f"/api/threads/{key}/comments?at={first['position']}")
        assert travel.waiting()
        assert client.get(f"/api/threads/{key}/comments")["comment_count"] == 1
        _post(client, key, "second, while the time travel waits")
        assert client.get(f"/api/threads/{key}/comments")["comment_count"] == 2
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}/api/threads/{key}/comments?at={first['position']}", timeout=30)
        assert refused.value.code == 503
        assert int(refused.value.headers["Retry-After"]) >= 1
        error = json.loads(refused.value.read())["error"]
        assert error["code"] == "busy" and error["message"] and error["retry_after"] >= 1
        assert travel.waiting()
    finally:
        holder.release()
    status, past = travel.finish()
    assert status == 200 and past["comment_count"] == 1  # the thread as it stood then
    assert client.get(f"/api/threads/{key}/comments?at={first['position']}")["comment_count"] == 1


def test_slow_reads_held_open_leave_threads_for_quick_ones_and_the_fifth_is_turned_away(live_db, monkeypatch):
    """In process, on the ASGI application (SQLite): four time travels are held open on purpose (the default
    EXPENSIVE_QUEUE); the thread's first page and a post still go through, a fifth time travel gets 503 with
    Retry-After and the JSON error body, and the four answer once released."""
    from threadlog.asgi import application
    from threadlog.commands import Actor, PostComment, handle
    from threadlog.serving import history_pages

    key = unique_key()
    at = handle(PostComment(thread=key, body="first", author_name="Ann"), Actor(id="guest:ann")).position
    release = threading.Event()
    held = threading.Semaphore(0)
    real = history_pages.comments_page_at

    def slow(**kwargs):
        held.release()
        assert release.wait(60)
        return real(**kwargs)

    monkeypatch.setattr(history_pages, "comments_page_at", slow)

    async def request(path: str, method: str = "GET", body: bytes = b"") -> tuple[int, dict, dict]:
        headers = [(b"host", b"testserver"), (b"content-type", b"application/json"),
                   (b"origin", b"http://testserver")]
        response = await HttpCommunicator(application, method, path, body=body, headers=headers).get_response(60)
        return response["status"], dict(response["headers"]), json.loads(response["body"] or b"null")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        travels = [asyncio.create_task(request(f"/api/threads/{key}/comments?at={at}")) for _ in range(4)]
        for _ in range(4):
            assert await loop.run_in_executor(None, held.acquire, True, 30)  # all four inside, held open
        status, _, page = await request(f"/api/threads/{key}/comments")
        assert status == 200 and page["comment_count"] == 1
        status, _, posted = await request(f"/api/threads/{key}/comments", "POST",
                                          json.dumps({"body": "second", "author_name": "Bo"}).encode())
        assert status == 201, posted
        status, headers, body = await request(f"/api/threads/{key}/comments?at={at}")
        assert status == 503
        assert int(headers[b"Retry-After"]) >= 1
        assert body["error"]["code"] == "busy" and body["error"]["retry_after"] >= 1
        assert not any(t.done() for t in travels)
        release.set()
        for status, _, page in await asyncio.gather(*travels):
            assert status == 200 and page["comment_count"] == 1  # the thread as it stood after its first comment

    try:
        asyncio.run(main())
    finally:
        release.set()


def _history_processes(server_pid: int) -> list[int]:
    """The server's history processes: its children that multiprocessing spawned (not its resource tracker)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == server_pid and b"spawn_main" in cmdline:
            found.append(int(proc.name))
    return found


def test_a_killed_history_process_is_replaced_and_time_travel_goes_on(make_server):
    """The history process dies (out of memory, killed): the next time travel starts a new one and answers."""
    server = make_server().start()
    client, key = HttpClient(server.url), unique_key()
    first = _post(client, key, "first")
    _post(client, key, "second")
    assert client.get(f"/api/threads/{key}/comments?at={first['position']}")["comment_count"] == 1
    [history] = _history_processes(server.proc.pid)
    os.kill(history, signal.SIGKILL)
    assert client.get(f"/api/threads/{key}/comments?at={first['position']}")["comment_count"] == 1
    assert client.get(f"/api/threads/{key}/comments")["comment_count"] == 2
    assert _history_processes(server.proc.pid) not in ([], [history])
