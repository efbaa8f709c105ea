"""LOG_FORMAT=json, and a Redis outage is one warning line when it goes and one when it is back: never a
traceback per request (nor channels_redis's every second). Writes go on meanwhile (the doorbell is best-effort,
the rate limits count in the process)."""
from __future__ import annotations

import json
import secrets
import shutil
import time

import pytest

from benchmarks._servers import RedisProcess
from tests.conftest import unique_key
from tests.security.http import Http

REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture
def own_redis():
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    redis = RedisProcess().start()
    yield redis
    redis.stop()


def test_a_redis_outage_is_one_warning_and_one_recovery_line(make_server, own_redis):
    server = make_server(demo=True, redis_url=own_redis.url, env={
        "LOG_FORMAT": "json", "RATE_LIMITS": "on", "SECRET_KEY": secrets.token_urlsafe(40)}).start()
    client, key = Http(server.url), unique_key()

    def post(i: int) -> None:
        answer = client.post(f"/api/threads/{key}/comments", {"body": f"comment {i}", "author_name": "Guest"})
        assert answer.status == 201, answer.body[:300]

    for i in range(3):
        post(i)
    own_redis.stop()
    for i in range(3, 15):  # writes go on without Redis
        post(i)
        time.sleep(0.2)
    assert client.get(f"/api/threads/{key}").json()["comment_count"] == 15
    own_redis.start()
    time.sleep(2.5)  # past the rate limiter's retry pause
    for i in range(15, 18):
        post(i)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "is back" not in server.log.read_text():
        time.sleep(0.2)
    server.stop()

    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
    records = []
    for line in log.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))  # every line Django logs is one JSON object
        else:
            assert not line.strip() or line.startswith("threadlog serve") or "daphne" in line.lower(), line
    down = [r for r in records if r.get("dependency") == "redis" and r.get("state") == "down"]
    up = [r for r in records if r.get("dependency") == "redis" and r.get("state") == "up"]
    assert len(down) == 1, down
    assert len(up) == 1, up
    assert down[0]["level"] == "warning" and "redis unavailable" in down[0]["message"]
    assert "is back" in up[0]["message"]
    access = [r for r in records if r["logger"] == "threadlog.access"]
    assert len([r for r in access if r["status"] == 201]) == 18  # one JSON line per request
