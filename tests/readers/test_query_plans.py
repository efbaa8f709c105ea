"""The feeds read one index range each, and their indexes do not take the top-level sorts' place; the replies of a
page and the duplicate rule read their narrow indexes (SQLite)."""
from __future__ import annotations

from django.db import connection

from projections.readers import SHOWN


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(row[-1]) for row in cur.fetchall())


def test_feed_and_page_queries_use_their_indexes(live_db):
    assert connection.vendor == "sqlite"
    thread_feed = _plan(f"SELECT id FROM threadlog_comment WHERE {SHOWN} AND thread_key = %s"
                        " ORDER BY position DESC LIMIT 50", ["k"])
    assert "tl_comment_thread_newest" in thread_feed and "TEMP B-TREE" not in thread_feed
    site_feed = _plan(f"SELECT id FROM threadlog_comment WHERE {SHOWN} ORDER BY position DESC LIMIT 50", [])
    assert "tl_comment_recent" in site_feed and "TEMP B-TREE" not in site_feed
    for order, index in (("position", "tl_comment_top_oldest"), ("position DESC", "tl_comment_top_oldest"),
                         ("rank_voted, position", "tl_comment_top_voted")):
        page = _plan("SELECT id FROM threadlog_comment WHERE thread_key = %s AND depth = 0"
                     f" AND NOT (deleted AND children = 0) ORDER BY {order} LIMIT 51", ["k"])
        assert index in page, (order, page)
    replies = _plan("SELECT id FROM threadlog_comment WHERE root_id IN (%s, %s) AND depth > 0", ["a", "b"])
    assert "tl_comment_root" in replies, replies


def test_the_duplicate_rule_reads_its_key_index(live_db):
    from threadlog.moderation.rules import DUPLICATE_SQL

    plan = _plan(DUPLICATE_SQL, ["guest:a", 1, "body", "2026-01-01T00:00:00Z", False])
    assert "tl_comment_author" in plan and "dup_key=?" in plan, plan
    first = _plan("SELECT 1 FROM threadlog_comment WHERE author_id = %s AND status = 'published' LIMIT 1", ["guest:a"])
    assert "COVERING INDEX tl_comment_author" in first, first  # the "first comment" rule, from the index alone
