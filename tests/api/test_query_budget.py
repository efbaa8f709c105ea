"""Statement budgets of the posting path: how many SQL statements a post, a vote and the notifier's batch cost.

Not a timing test: a count, the same on any machine. Posting got three times slower in CPU once, through
statements nobody counted (the notifier re-reading each comment, a duplicate check that read every comment of
its writer). If a change needs one more statement on this path, raise the budget here on purpose and say why
(docs/benchmarks.md, "The posting path").

SQLite runs the write path's statements on the driver's connection (events/sql.py), past Django's query log, so
they are counted by sqlite3's own trace callback: every statement the database runs, BEGIN and COMMIT included.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

from .conftest import ApiClient

# A top-level comment on an existing thread by a returning guest: BEGIN; the thread, the ban check, the duplicate
# check and the writer's key in one statement (threadlog.commands.post_context); the append's decision and insert;
# the thread's row, the comment's row, its frame, the checkpoint; COMMIT.
POST_BUDGET = 9
# A vote: the ban check, BEGIN, the comment, the vote so far, the thread, the voter's key, the append's decision
# and insert, the vote again (the projection's), the thread's and the comment's rows, the vote's, the frame, the
# checkpoint, COMMIT.
VOTE_BUDGET = 15
# The notifier's batch, whatever its size: BEGIN, its checkpoint, the events (twice: a batch never ends inside an
# append), the new thread (five, with update_or_create's savepoints), the writer's key, whether the thread has
# subscribers, the new comments in one insert, the checkpoint again, COMMIT.
NOTIFIER_BATCH_BUDGET = 15


@contextmanager
def statements(alias: str = "default"):
    """The SQL statements the connection of `alias` runs inside the block (SQLite only)."""
    from django.db import connections

    conn = connections[alias]
    if conn.vendor != "sqlite":
        pytest.skip("statements are traced on SQLite")
    conn.ensure_connection()
    seen: list[str] = []
    conn.connection.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.connection.set_trace_callback(None)


@pytest.fixture
def duplicates_on(monkeypatch):
    """The duplicate rule as `make run` has it (the test settings turn it off)."""
    from django.conf import settings

    monkeypatch.setitem(settings.THREADLOG, "DUPLICATE_SECONDS", 600)


def _listing(seen: list[str]) -> str:
    return "\n".join(s[:160] for s in seen)


def test_post_stays_within_its_statement_budget(live_db, duplicates_on):
    guest = ApiClient()
    key = f"budget-{uuid.uuid4().hex[:8]}"
    for i in range(5):  # the thread exists, the guest has a key and earlier comments
        guest.comment(key, f"warming up {i} with a **bold** word and a [link](https://example.com/{i})")
    for i in range(3):
        body = f"Comment {i} with **bold**, *italic* and [a link](https://example.com/articles/{i})."
        with statements() as seen:
            comment = guest.comment(key, body, name="Reader")
        assert comment["status"] == "published"
        assert len(seen) <= POST_BUDGET, f"{len(seen)} statements for one post:\n{_listing(seen)}"


def test_vote_stays_within_its_statement_budget(live_db):
    writer, voter = ApiClient(), ApiClient()
    key = f"budget-{uuid.uuid4().hex[:8]}"
    ids = [writer.comment(key, f"comment {i}")["id"] for i in range(3)]
    voter.vote(ids[0], 1)
    for comment_id in ids[1:]:
        with statements() as seen:
            voter.vote(comment_id, 1)
        assert len(seen) <= VOTE_BUDGET, f"{len(seen)} statements for one vote:\n{_listing(seen)}"


def _notifier_statements(posts: int) -> int:
    from events.store import get_store
    from threadlog.notifications import notifier

    store = get_store()
    notifier.run_once(store)  # whatever other tests left in the log
    guest = ApiClient()
    key = f"budget-{uuid.uuid4().hex[:8]}"
    for i in range(posts):
        guest.comment(key, f"comment {i}")
    with statements() as seen:
        assert notifier.run_once(store) == posts + 1  # ThreadOpened, then the comments
    assert len(seen) <= NOTIFIER_BATCH_BUDGET, f"{len(seen)} statements for {posts} posts:\n{_listing(seen)}"
    return len(seen)


def test_notifier_batch_costs_the_same_statements_for_5_or_40_posts(live_db):
    """Top-level comments on a thread nobody subscribed to: nothing to decide per comment, so the batch's
    statements do not grow with its size."""
    assert _notifier_statements(5) == _notifier_statements(40)
