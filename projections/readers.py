"""Read paths around a thread, for readers and site owners: a comment's context (permalinks), comment counts of
many threads at once, and the newest comments of a thread or of the site (feeds).

What a reader may see is one condition (`SHOWN`) shared by the counts and the feeds: today every comment that is
not deleted and published (projections.moderation). The counts read the threads' `comment_count`, which counts
published comments only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connections, router

from .models import CommentView
from .queries import PUBLIC, RANK_COLUMN, SORTS, Viewer, comment_by_id, encode_cursor
from .state import COMMENT_FIELDS, CommentRow, comment_from_values
from .thread import comment_json

SHOWN = "NOT deleted AND status = 'published'"  # a comment a reader may see in a feed; see the module's docstring
_COLUMNS = ", ".join(COMMENT_FIELDS)
MAX_COUNT_KEYS = 100


def _cursor():
    return connections[router.db_for_read(CommentView)].cursor()


@dataclass
class Context:
    comment: dict[str, Any]
    ancestors: list[dict[str, Any]]  # from the top-level comment down to the parent
    thread: str
    sort: str
    cursor: str | None  # a page fetched with it starts with the top-level comment; None: the first page


def _previous_top(top: CommentRow, sort: str, viewer: Viewer) -> CommentRow | None:
    """The top-level comment listed just before `top` in `sort` (comments_page's order, for `viewer`), if any.

    None for a pinned `top`: pinned comments come first, on the first page, in every sort."""
    if top.pinned:
        return None
    listed, listed_params = viewer.lists_sql()
    where, params = [f"thread_key = %s AND depth = 0 AND pinned = 0 AND {listed}"], [top.thread_key, *listed_params]
    if sort == "oldest":
        where.append("position < %s")
        params.append(top.position)
        order = "position DESC"
    elif sort == "newest":
        where.append("position > %s")
        params.append(top.position)
        order = "position"
    else:
        col, rank = RANK_COLUMN[sort], getattr(top, RANK_COLUMN[sort])
        where.append(f"({col} < %s OR ({col} = %s AND position < %s))")
        params += [rank, rank, top.position]
        order = f"{col} DESC, position DESC"
    with _cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM threadlog_comment WHERE {' AND '.join(where)} ORDER BY {order} LIMIT 1",
                    params)
        row = cur.fetchone()
    return comment_from_values(row) if row else None


def comment_context(*, comment_id: str, sort: str, viewer: Viewer = PUBLIC) -> Context | None:
    """The comment, its ancestors and the cursor of the page that lists its top-level comment in `sort`, all as
    comments_page shows them to `viewer` (a pending comment to its author and staff, with its status).

    None when there is no such comment or `viewer` would not find it in the thread (deleted, or not published and
    not theirs, without replies)."""
    if sort not in SORTS:
        raise KeyError(sort)
    row = comment_by_id(comment_id)
    if row is None or not viewer.lists(row):
        return None
    chain: list[CommentRow] = []
    parent_id = row.parent_id
    while parent_id:  # at most MAX_REPLY_DEPTH rows, each by its primary key
        parent = comment_by_id(parent_id)
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    chain.reverse()
    top = chain[0] if chain else row
    previous = _previous_top(top, sort, viewer)

    def shown(r: CommentRow) -> dict[str, Any]:
        return comment_json(r, private=viewer.sees(r), staff=viewer.staff)

    return Context(comment=shown(row), ancestors=[shown(a) for a in chain], thread=row.thread_key,
                   sort=sort, cursor=encode_cursor(sort, previous) if previous else None)


def comment_counts(keys: list[str]) -> dict[str, int]:
    """Each key's count of comments a reader sees (0 for a thread that does not exist), in one query."""
    counts = dict.fromkeys(keys, 0)
    if keys:
        with _cursor() as cur:
            cur.execute(f'SELECT "key", comment_count FROM threadlog_thread WHERE "key" IN ({", ".join(["%s"] * len(keys))})',
                        keys)
            counts.update(cur.fetchall())
    return counts


def newest_comments(*, thread: str | None = None, limit: int = 50) -> list[CommentRow]:
    """The newest comments a reader sees, of one thread or of the whole site, newest first (one index range)."""
    where, params = [SHOWN], []
    if thread is not None:
        where.append("thread_key = %s")
        params.append(thread)
    params.append(limit)
    with _cursor() as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM threadlog_comment WHERE {' AND '.join(where)}"
                    " ORDER BY position DESC LIMIT %s", params)
        return [comment_from_values(r) for r in cur.fetchall()]


def thread_titles(keys: set[str]) -> dict[str, str]:
    """Each thread's title (its key when it has none), for feed entries."""
    if not keys:
        return {}
    with _cursor() as cur:
        cur.execute(f'SELECT "key", title FROM threadlog_thread WHERE "key" IN ({", ".join(["%s"] * len(keys))})',
                    list(keys))
        return {key: title or key for key, title in cur.fetchall()}
