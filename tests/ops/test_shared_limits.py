"""With REDIS_URL, rate limits are counted in Redis: two server processes allow one limit between them, not two.
Without Redis each process counts for itself (as before)."""
from __future__ import annotations

import secrets

import pytest

from tests.conftest import REDIS_URL, need_redis, unique_key
from tests.security.http import Http

LIMITS = {"RATE_LIMITS": "on", "RATE_POST": "3/86400"}  # a day's window: no window boundary during the test


def _two_nodes(make_server, tmp_path, redis_url: str | None):
    env = {**LIMITS, "SECRET_KEY": secrets.token_urlsafe(40)}  # both nodes: one key, so one guest to both
    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first = make_server(database_url=database, redis_url=redis_url, env=env, demo=True).start()
    second = make_server(database_url=database, redis_url=redis_url, env=env, migrate=False).start()
    return first, second


def _alternate(first, second, posts: int) -> list[int]:
    """One guest (one cookie jar) posting to the two nodes in turn."""
    guest, key = Http(first.url), unique_key()
    statuses = []
    for i in range(posts):
        guest.base = (first if i % 2 == 0 else second).url
        statuses.append(guest.post(f"/api/threads/{key}/comments", {"body": f"comment {i}", "author_name": "G"},
                                   headers={"Origin": guest.base}).status)
    return statuses


@pytest.mark.redis
def test_two_nodes_share_one_limit_through_redis(make_server, tmp_path):
    need_redis()
    first, second = _two_nodes(make_server, tmp_path, REDIS_URL)
    assert _alternate(first, second, 5) == [201, 201, 201, 429, 429]


def test_without_redis_each_node_counts_for_itself(make_server, tmp_path):
    first, second = _two_nodes(make_server, tmp_path, None)
    assert _alternate(first, second, 7) == [201] * 6 + [429]
