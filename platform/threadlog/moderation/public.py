"""What the public may know of moderation: a thread's closed/premoderated/pinned state, and which comments'
events it must not read (held, rejected, hidden or spam comments: their bodies and names stay private)."""
from __future__ import annotations

from typing import Any, Iterable

from projections.models import CommentView, ThreadView

# events whose data never goes to the public feed (who reported what; bans name a person or an IP)
PRIVATE_TYPES = frozenset({"CommentReported", "PersonBanned", "BanLifted"})


def thread_moderation(thread: ThreadView) -> dict[str, Any]:
    pinned = list(CommentView.objects.filter(thread_key=thread.key, depth=0, pinned__gt=0, status="published",
                                             deleted=False).order_by("pinned").values_list("id", flat=True))
    return {"closed": bool(thread.closed), "premoderated": bool(thread.premoderated), "pinned": pinned}


def withheld_comments(events: Iterable) -> set[str]:
    """Of the comments these events concern, those not published now (their events are shown without data)."""
    ids = {ev.data.get("comment_id") for ev in events if ev.data.get("comment_id")}
    if not ids:
        return set()
    return set(CommentView.objects.filter(id__in=ids).exclude(status="published").values_list("id", flat=True))
