"""/metrics through a real `threadlog serve --workers 2` with Redis: who may read it, and the names it exposes
(summed over the worker processes). /healthz and /readyz."""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
import time

import pytest
import websockets

from tests.conftest import REDIS_URL, Server, need_redis, unique_key
from tests.security.http import Http

TOKEN = secrets.token_urlsafe(16)

NAMES = [
    "threadlog_events_appended_total",
    "threadlog_append_seconds_bucket",
    "threadlog_http_request_seconds_bucket",
    "threadlog_http_responses_total",
    "threadlog_projector_lag_events",
    "threadlog_projector_lag_seconds",
    "threadlog_live_readers",
    "threadlog_frames_pushed_total",
    "threadlog_push_latency_seconds_bucket",
    "threadlog_slow_readers_closed_total",
    "threadlog_redis_doorbell_failures_total",
    "threadlog_outbox_depth",
    "threadlog_outbox_oldest_pending_seconds",
    "threadlog_outbox_failed",
    "threadlog_notifier_lag_events",
]


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value, summed where the same series appears twice."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            found[series] = found.get(series, 0.0) + float(value)
    return found


def scrape(client: Http) -> dict[str, float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200, answer.body[:300]
    assert answer.header("Content-Type").startswith("text/plain")
    return samples(answer.body.decode())


@pytest.fixture(scope="module")
def workers_site(tmp_path_factory):
    need_redis()
    server = Server(tmp_path_factory.mktemp("metrics"), demo=True, redis_url=REDIS_URL, workers=2,
                    env={"METRICS_TOKEN": TOKEN, "SECRET_KEY": secrets.token_urlsafe(40)})
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
def test_metrics_need_staff_or_the_token(workers_site):
    client = Http(workers_site.url)
    none = client.get("/metrics")
    assert none.status == 401 and none.json()["error"]["code"] == "unauthorized"
    assert none.header("WWW-Authenticate", ) is not None
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status == 200


@pytest.mark.redis
def test_metrics_names_summed_over_workers(workers_site):
    client, key = Http(workers_site.url), unique_key()

    async def watch_and_post() -> None:
        async with websockets.connect(f"{workers_site.ws_url}/ws/threads/{key}/?after=0",
                                      origin=workers_site.url) as reader:
            await asyncio.sleep(0.3)
            loop = asyncio.get_running_loop()
            for i in range(6):  # several connections: the kernel spreads them over both workers
                answer = await loop.run_in_executor(None, lambda i=i: Http(workers_site.url).post(
                    f"/api/threads/{key}/comments", {"body": f"comment {i}", "author_name": "Guest"}))
                assert answer.status == 201
            frames = 0
            while frames < 6:
                frame = json.loads(await asyncio.wait_for(reader.recv(), 10))
                frames += frame.get("type") == "event" and frame["event"]["type"] == "CommentPosted"
            during = await loop.run_in_executor(None, scrape, client)
            assert during['threadlog_live_readers{node="%s"}' % _node(during)] == 1

    asyncio.run(watch_and_post())
    found = scrape(client)
    deadline = time.monotonic() + 10  # the node counts the reader out once its disconnect is handled
    while found['threadlog_live_readers{node="%s"}' % _node(found)] != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        found = scrape(client)
    text = "\n".join(found)
    for name in NAMES:
        assert name in text, f"{name} missing from /metrics"
    assert found['threadlog_events_appended_total{type="CommentPosted"}'] >= 6
    assert found['threadlog_events_appended_total{type="ThreadOpened"}'] >= 1
    assert found['threadlog_http_responses_total{status="201"}'] >= 6
    assert found["threadlog_append_seconds_count"] >= 6
    assert found["threadlog_push_latency_seconds_count"] >= 1
    assert found['threadlog_frames_pushed_total{node="%s"}' % _node(found)] >= 6
    assert found['threadlog_live_readers{node="%s"}' % _node(found)] == 0  # the reader has gone
    assert found["threadlog_projector_lag_events"] == 0


def _node(found: dict[str, float]) -> str:
    return next(re.search(r'node="([^"]+)"', s).group(1) for s in found if s.startswith("threadlog_frames_pushed"))


def test_metrics_for_a_staff_session(make_server):
    """No token configured: a signed-in staff member reads /metrics; the anonymous get 401."""
    from tests.security.test_signin import _superuser, sign_in

    server = make_server(env={"SECRET_KEY": secrets.token_urlsafe(40)})
    _superuser(server, "ops", "ops-password-1")
    server.start()
    staff = Http(server.url)
    assert staff.get("/metrics").status == 401
    assert sign_in(staff, "ops", "ops-password-1").status == 302
    answer = staff.get("/metrics")
    assert answer.status == 200 and b"threadlog_http_responses_total" in answer.body


def test_healthz_and_readyz_follow_the_read_model(make_server, tmp_path):
    server = make_server(demo=True, env={"READY_MAX_LAG": "2"}).start()
    client = Http(server.url)
    assert client.get("/healthz").status == 200
    ready = client.get("/readyz")
    assert ready.status == 200 and ready.json()["ready"] is True and ready.json()["lag_events"] == 0
    head = ready.json()["head"]
    assert head > 2
    # the read model falls behind (as after a restore): not ready until the projector catches up
    with sqlite3.connect(tmp_path / "server.sqlite3") as db:
        db.execute("UPDATE threadlog_checkpoint SET position = 0")
    behind = client.get("/readyz")
    assert behind.status == 503
    assert behind.json()["lag_events"] == head and "behind" in behind.json()["reason"]
    assert client.get("/healthz").status == 200  # alive all the same
    server.cli("projections", "rebuild")
    assert client.get("/readyz").status == 200


@pytest.mark.postgres
def test_readyz_is_503_when_the_database_is_gone(make_server, postgres_database):
    server = make_server(database_url=postgres_database.url).start()
    client = Http(server.url)
    assert client.get("/readyz").status == 200
    postgres_database.drop()
    answer = client.get("/readyz")
    assert answer.status == 503 and answer.json()["database"] is False


def test_outbox_depth_and_notifier_lag(make_server):
    """A subscription waits for the notifier (lag 1, depth 0); a notifier round that cannot reach the mail
    server leaves its confirmation in the outbox (lag 0, depth 1, oldest counted in seconds)."""
    from benchmarks._servers import free_port
    from tests.notifications.conftest import Browser

    server = make_server(demo=False, env={"NOTIFIER": "off", "METRICS_TOKEN": TOKEN,
                                          "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}"})  # nobody listens
    server.env["SITE_URL"] = server.url
    server.start()
    client, key = Http(server.url), unique_key()
    assert client.post(f"/api/threads/{key}/comments", {"body": "Opening", "author_name": "Ann"}).status == 201
    Browser(server.url).subscribe(key, "bob@example.com")
    before = scrape(client)
    assert before["threadlog_outbox_depth"] == 0 and before["threadlog_outbox_oldest_pending_seconds"] == 0
    assert before["threadlog_notifier_lag_events"] >= 1
    server.cli("notify", check=False)  # one round: decides on the request, fails to send the confirmation
    after = scrape(client)
    assert after["threadlog_notifier_lag_events"] == 0
    assert after["threadlog_outbox_depth"] == 1
    assert after["threadlog_outbox_oldest_pending_seconds"] > 0
    assert after["threadlog_outbox_failed"] == 0
