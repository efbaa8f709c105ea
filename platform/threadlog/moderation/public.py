"""What the public may know of moderation: a thread's closed/premoderated/pinned state, and which comments'
events it must not read (held, rejected, hidden or spam comments: their bodies and names stay private)."""
from __future__ import annotations

from typing import Any, Iterable

from django.db import connections

from projections.models import CommentView, ThreadView

# events whose data never goes to the public feed (who reported what; bans name a person or an IP)
PRIVATE_TYPES = frozenset({"CommentReported", "PersonBanned", "BanLifted"})


def thread_moderation(thread: ThreadView) -> dict[str, Any]:
    with connections["default"].cursor() as cur:  # the literal `pinned > 0`: the partial index tl_comment_pinned
        cur.execute("SELECT id FROM threadlog_comment WHERE thread_key = %s AND pinned > 0 AND depth = 0"
                    " AND status = 'published' AND NOT deleted ORDER BY pinned", [thread.key])
        pinned = [row[0] for row in cur.fetchall()]
    return {"closed": bool(thread.closed), "premoderated": bool(thread.premoderated), "pinned": pinned}


def withheld_comments(events: Iterable) -> set[str]:
    """Of the comments these events concern, those not published now (their events are shown without data)."""
    ids = {ev.data.get("comment_id") for ev in events if ev.data.get("comment_id")}
    if not ids:
        return set()
    return set(CommentView.objects.filter(id__in=ids).exclude(status="published").values_list("id", flat=True))
