"""Read paths: a thread's summary and a page of its comments, live or as it stood at a position."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from django.db import connections, router

from events.sql import fetch_one
from events.store import EventStore

from .models import CommentView, ThreadView
from .snapshots import state_at
from .state import (_SQL, COMMENT_FIELDS, CommentRow, MemoryState, ThreadRow, comment_from_values,
                    thread_from_values)
from .thread import comment_json

SORTS = ("oldest", "newest", "most_voted", "best", "hot")
RANK_COLUMN = {"most_voted": "rank_voted", "best": "rank_best", "hot": "rank_hot"}
MAX_LIMIT = 200


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Viewer:
    """Who reads: the public sees published comments only; an author also their own held ones, staff all."""

    author_id: str = ""
    staff: bool = False

    def sees(self, row: CommentRow) -> bool:
        """Shown in full (with its status), not as removed."""
        return row.status == "published" or self.staff or (bool(self.author_id) and row.author_id == self.author_id)

    def lists(self, row: CommentRow) -> bool:
        """In the list at all: in full, or as a tombstone that keeps its replies."""
        if row.children > 0:
            return True
        return not row.deleted and self.sees(row)

    def lists_sql(self) -> tuple[str, list[Any]]:
        """`lists` as an SQL condition on threadlog_comment, with its parameters."""
        if self.staff:
            return "NOT (deleted AND children = 0)", []
        if self.author_id:
            return "(children > 0 OR (NOT deleted AND (status = 'published' OR author_id = %s)))", [self.author_id]
        return "(children > 0 OR (NOT deleted AND status = 'published'))", []


PUBLIC = Viewer()


@dataclass
class Page:
    comments: list[dict[str, Any]]
    next_cursor: str | None
    comment_count: int
    position: int


def encode_cursor(sort: str, row: CommentRow) -> str:
    key: list[Any] = [sort, row.position]
    if sort in RANK_COLUMN:
        key.append(getattr(row, RANK_COLUMN[sort]))
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[int, Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if raw[0] != sort:
            raise BadCursor("the cursor belongs to another sort")
        position = int(raw[1])
        rank = raw[2] if sort in RANK_COLUMN else None
        if not 0 <= position < 2**63:
            raise BadCursor("malformed cursor")
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, (int, float))
                                 or not abs(rank) < 2**62):  # also refuses NaN and infinities
            raise BadCursor("malformed cursor")
        return position, rank
    except BadCursor:
        raise
    except Exception:
        raise BadCursor("malformed cursor") from None


def sort_key(sort: str, row: CommentRow) -> tuple:
    if sort == "oldest":
        return (row.position,)
    if sort == "newest":
        return (-row.position,)
    return (getattr(row, RANK_COLUMN[sort]), row.position)


def _after(sort: str, row: CommentRow, position: int, rank: Any) -> bool:
    if sort == "oldest":
        return row.position > position
    if sort == "newest":
        return row.position < position
    return (getattr(row, RANK_COLUMN[sort]), row.position) > (rank, position)


def _nest(tops: list[CommentRow], descendants: list[CommentRow], viewer: Viewer = PUBLIC) -> list[dict[str, Any]]:
    """Replies under their parents, oldest first; deleted leaves dropped, tombstones with replies kept.

    Iterative, not recursive: a reply chain of any depth already in the log renders without hitting Python's
    recursion limit."""
    by_parent: dict[str, list[CommentRow]] = {}
    for row in sorted(descendants, key=lambda r: r.position):
        by_parent.setdefault(row.parent_id or "", []).append(row)
    out = []
    for top in tops:
        root = comment_json(top, [], private=viewer.sees(top), staff=viewer.staff)
        out.append(root)
        stack = [(top, root)]
        while stack:
            row, node = stack.pop()
            for child in by_parent.get(row.id, ()):
                if viewer.lists(child):
                    child_node = comment_json(child, [], private=viewer.sees(child), staff=viewer.staff)
                    node["replies"].append(child_node)
                    stack.append((child, child_node))
    return out


def thread_summary(*, key: str) -> ThreadView | None:
    return ThreadView.objects.filter(pk=key).first()


_ROW_COLUMNS = ", ".join(COMMENT_FIELDS)


def _row(values) -> CommentRow:
    return comment_from_values(values)


def comments_page(*, thread: ThreadView, sort: str, cursor: str | None, limit: int,
                  viewer: Viewer = PUBLIC, anchor: str | None = None) -> Page:
    """One page of top-level comments in `sort` order, replies nested; keyset-paginated by (rank, position).

    Pinned comments come first, in pin order, on the first page (besides `limit` others), in every sort."""
    # Plain SQL into CommentRow: the same query the ORM would build (one index range scan per sort, see
    # benchmarks/read.py), without a model instance per row, which cost more than the database's work.
    if sort not in SORTS:
        raise KeyError(sort)
    where = ["thread_key = %s", "depth = 0", "pinned = 0"]
    params: list[Any] = [thread.key]
    if anchor is not None:  # the comments on one passage (projections.anchors)
        where.append("anchor_id = %s")
        params.append(anchor)
    listed, listed_params = viewer.lists_sql()
    where.append(listed)
    params += listed_params
    if sort == "oldest":
        order = "position"
    elif sort == "newest":
        order = "position DESC"
    else:
        order = f"{RANK_COLUMN[sort]}, position"
    if cursor:
        position, rank = decode_cursor(sort, cursor)
        if sort == "oldest":
            where.append("position > %s")
            params.append(position)
        elif sort == "newest":
            where.append("position < %s")
            params.append(position)
        else:
            col = RANK_COLUMN[sort]
            where.append(f"({col} > %s OR ({col} = %s AND position > %s))")
            params += [rank, rank, position]
    params.append(limit + 1)
    with connections[router.db_for_read(CommentView)].cursor() as cur:
        cur.execute(f"SELECT {_ROW_COLUMNS} FROM threadlog_comment WHERE {' AND '.join(where)}"
                    f" ORDER BY {order} LIMIT %s", params)
        tops = [_row(r) for r in cur.fetchall()]
        more = len(tops) > limit
        tops = tops[:limit]
        if not cursor:
            cur.execute(f"SELECT {_ROW_COLUMNS} FROM threadlog_comment WHERE thread_key = %s AND depth = 0"
                        " AND pinned > 0 ORDER BY pinned", [thread.key])
            tops = [r for r in map(_row, cur.fetchall())
                    if viewer.lists(r) and (anchor is None or r.anchor_id == anchor)] + tops
        descendants = []
        if tops:
            cur.execute(f"SELECT {_ROW_COLUMNS} FROM threadlog_comment WHERE root_id IN"
                        f" ({', '.join(['%s'] * len(tops))}) AND depth > 0", [t.id for t in tops])
            descendants = [_row(r) for r in cur.fetchall()]
    return Page(
        comments=_nest(tops, descendants, viewer),
        next_cursor=encode_cursor(sort, tops[-1]) if more and tops else None,
        comment_count=thread.comment_count,
        position=thread.last_position,
    )


def thread_state_at(store: EventStore, *, key: str, position: int) -> MemoryState:
    return state_at(store, key, position)


def comments_page_at(
    store: EventStore, *, key: str, position: int, sort: str, cursor: str | None, limit: int,
    anchor: str | None = None,
) -> Page | None:
    """The same page, computed from a replay of the thread's events up to `position` (time travel)."""
    return page_of_state(thread_state_at(store, key=key, position=position), key=key, sort=sort, cursor=cursor,
                         limit=limit, using=store.using, anchor=anchor)


def page_of_state(state: MemoryState, *, key: str, sort: str, cursor: str | None, limit: int,
                  using: str = "default", anchor: str | None = None) -> Page | None:
    """A page of a replayed thread (at a position, or at a time: projections.occurred)."""
    thread = state.thread(key)
    if thread is None:
        return None
    # What moderators have taken from the public since stays taken, in the past too.
    for cid, status in (CommentView.objects.using(using).filter(thread_key=key)
                        .exclude(status="published").values_list("id", "status")):
        if cid in state.comments:
            state.comments[cid].status = status
    rows = [r for r in state.comments.values() if r.depth == 0 and PUBLIC.lists(r) and not r.pinned
            and (anchor is None or r.anchor_id == anchor)]
    if cursor:
        pos, rank = decode_cursor(sort, cursor)
        rows = [r for r in rows if _after(sort, r, pos, rank)]
    rows.sort(key=lambda r: sort_key(sort, r))
    more = len(rows) > limit
    tops = rows[:limit]
    if not cursor:
        tops = sorted((r for r in state.comments.values() if r.depth == 0 and r.pinned and PUBLIC.lists(r)
                       and (anchor is None or r.anchor_id == anchor)), key=lambda r: r.pinned) + tops
    roots = {t.id for t in tops}
    descendants = [r for r in state.comments.values() if r.depth > 0 and r.root_id in roots]
    return Page(
        comments=_nest(tops, descendants),
        next_cursor=encode_cursor(sort, tops[-1]) if more and tops else None,
        comment_count=thread.comment_count,
        position=thread.last_position,
    )


def _one(sql: str, params: list, using: str) -> tuple | None:
    return fetch_one(using, sql, params)


def comment_by_id(comment_id: str, *, using: str = "default") -> CommentRow | None:
    """One comment row (plain SQL: on the write path the ORM's query building cost more than the query)."""
    row = _one(_SQL["comment"], [comment_id], using)
    return comment_from_values(row) if row else None


def thread_by_key(key: str, *, using: str = "default") -> ThreadRow | None:
    row = _one(_SQL["thread"], [key], using)
    return thread_from_values(row) if row else None


def vote_value(comment_id: str, voter: str, *, using: str = "default") -> int:
    row = _one(_SQL["vote"], [comment_id, voter], using)
    return int(row[0]) if row else 0
