"""Anchors: the passages of an article that comments are anchored to (inline feedback, events.anchors).

The projection's per-event work is small and exact: a top-level CommentPosted with an `anchor` gives its row the
anchor's id (a hash of exact, prefix and suffix: two readers who select the same passage share one anchor) and
the anchor as the API shows it (JSON text, so a row stays flat); a reply copies its parent's. Placing an anchor
in a changed article (context, position, fuzzy match) is the browser's job (frontend inline-feedback.js), never
the projection's.

An anchor's comment count is read, not kept: the published comments of the thread with that anchor id (a
partial index holds only anchored rows), so moderation, deletion, rebuild and time travel need no rule of their
own here.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable

import orjson
from django.db import connections, router

from .state import CommentRow, MemoryState

ANCHOR_ID_LENGTH = 16  # hex characters
PUBLISHED = "published"


def anchor_id(exact: str, prefix: str = "", suffix: str = "") -> str:
    """The id of a passage: the same quote in the same context is the same anchor."""
    digest = hashlib.blake2b(digest_size=ANCHOR_ID_LENGTH // 2)
    digest.update("\x1f".join((prefix, exact, suffix)).encode())
    return digest.hexdigest()


def is_anchor_id(value: str) -> bool:
    return len(value) == ANCHOR_ID_LENGTH and all(c in "0123456789abcdef" for c in value)


def on_posted(row: CommentRow, anchor: dict[str, Any] | None, parent: CommentRow | None) -> None:
    """Give a new comment row its anchor: its own (top-level), or its parent's (a reply)."""
    if parent is not None:
        row.anchor_id, row.anchor = parent.anchor_id, parent.anchor
        return
    if not anchor:
        return
    exact, prefix, suffix = anchor["exact"], anchor.get("prefix", ""), anchor.get("suffix", "")
    row.anchor_id = anchor_id(exact, prefix, suffix)
    row.anchor = orjson.dumps({
        "id": row.anchor_id, "exact": exact, "prefix": prefix, "suffix": suffix,
        "start": anchor.get("start"), "end": anchor.get("end"), "container": anchor.get("container"),
    }, option=orjson.OPT_SORT_KEYS).decode()


def as_json(row: CommentRow) -> dict[str, Any] | None:
    """A comment's `anchor` in the API (None: not anchored)."""
    return orjson.loads(row.anchor) if row.anchor else None


def _summaries(rows: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """(anchor_id, anchor JSON) of each published anchored comment, oldest first -> the anchors with counts,
    in the article's order as far as their position hints tell (else in the order they were first used)."""
    found: dict[str, dict[str, Any]] = {}
    for aid, text in rows:
        item = found.get(aid)
        if item is None:
            anchor = orjson.loads(text)
            found[aid] = item = {"id": aid, "exact": anchor["exact"], "prefix": anchor["prefix"],
                                 "suffix": anchor["suffix"], "start": anchor.get("start"), "end": anchor.get("end"),
                                 "container": anchor.get("container"), "comment_count": 0}
        item["comment_count"] += 1
    first = {aid: i for i, aid in enumerate(found)}
    return sorted(found.values(), key=lambda a: (a["start"] is None, a["start"] or 0, first[a["id"]]))


def anchors_of_thread(key: str) -> list[dict[str, Any]]:
    """The anchors of a thread's published comments, each with how many there are (GET …/anchors)."""
    from .models import CommentView

    with connections[router.db_for_read(CommentView)].cursor() as cur:
        cur.execute("SELECT anchor_id, anchor FROM threadlog_comment WHERE thread_key = %s AND anchor_id IS NOT NULL"
                    " AND status = %s AND NOT deleted ORDER BY position", [key, PUBLISHED])
        return _summaries(cur.fetchall())


def anchors_of_state(state: MemoryState, key: str) -> list[dict[str, Any]]:
    """The same, of a replayed thread (time travel)."""
    rows = sorted((r for r in state.comments.values()
                   if r.thread_key == key and r.anchor_id and r.status == PUBLISHED and not r.deleted),
                  key=lambda r: r.position)
    return _summaries((r.anchor_id, r.anchor) for r in rows)


def anchors_of_state_at(state: MemoryState, key: str, using: str = "default") -> list[dict[str, Any]] | None:
    """A replayed thread's anchors (None: no such thread then); what moderators took from the public since stays
    taken, as in a page of its comments (queries.page_of_state)."""
    from .models import CommentView

    if state.thread(key) is None:
        return None
    for cid, status in (CommentView.objects.using(using).filter(thread_key=key, anchor_id__isnull=False)
                        .exclude(status=PUBLISHED).values_list("id", "status")):
        if cid in state.comments:
            state.comments[cid].status = status
    return anchors_of_state(state, key)


def anchors_at(*, key: str, position: int | None = None, moment: str | None = None
               ) -> tuple[list[dict[str, Any]], int] | None:
    """GET …/anchors?at=: the anchors as they stood at a log position or a time (a history process runs this)."""
    from events.store import get_store

    from . import occurred, snapshots

    store = get_store()
    state = (occurred.state_at_time(store, key, moment) if moment is not None
             else snapshots.state_at(store, key, position))
    found = anchors_of_state_at(state, key, store.using)
    return None if found is None else (found, state.thread(key).last_position)
