"""What a new comment is decided on, read in one statement under the append lock.

A post asked the read model four things one statement at a time: the thread, a ban in force on the writer or
their IP, the same body from the same writer lately (the duplicate rule), and the writer's key. Each is a small
indexed look-up; on PostgreSQL each was also a round trip made while every other writer waited for the append
lock. Here they are scalar subqueries of one SELECT (the rules' own SQL, threadlog.moderation.rules), so a post
makes one round trip for all four, on either database.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import connections

from events.sql import fetch_one
from projections.state import THREAD_FIELDS, ThreadRow, thread_from_values
from threadlog.moderation import rules


@dataclass(frozen=True)
class PostContext:
    thread: ThreadRow | None
    banned_until: str | None  # None: no ban in force; "": banned until the ban is lifted
    duplicate: bool
    key: str | None  # the writer's live key; None: events.people.person_key makes (or renews) it


@lru_cache(maxsize=8)
def _sql(duplicate_sql: str | None) -> str:
    quote = connections["default"].ops.quote_name  # both back-ends quote with double quotes
    thread = ", ".join(f"t.{quote(name)}" for name in THREAD_FIELDS)
    duplicate = f"({duplicate_sql})" if duplicate_sql else "NULL"
    return (f"SELECT (SELECT until {rules.BAN_FROM}), {duplicate},"
            " (SELECT key FROM threadlog_person_key WHERE person = %s),"
            f" {thread} FROM (SELECT 1 AS one) AS o LEFT JOIN threadlog_thread AS t ON t.{quote('key')} = %s")


def read(thread_key: str, author_id: str, ip_hash: str, body: str, *, using: str = "default") -> PostContext:
    duplicate = rules.duplicate_query(author_id, body)
    sql = _sql(duplicate[0] if duplicate else None)
    params = [*rules.ban_params(author_id, ip_hash), *(duplicate[1] if duplicate else ()), author_id, thread_key]
    row = fetch_one(using, sql, params)
    banned_until, found_duplicate, key, thread = row[0], row[1], row[2], row[3:]
    return PostContext(thread=thread_from_values(thread) if thread[0] is not None else None,
                       banned_until=banned_until, duplicate=found_duplicate is not None, key=key)
