"""The moderation queue's read paths: the tabs of `GET /api/moderation/queue`, each item with its context."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from .models import CommentView
from .moderation import REJECTED, SPAM, public_status
from .queue_models import QueueItem
from .state import comment_row
from .thread import comment_json

TABS = ("pending", "reported", "rejected", "recent")
PAGE = 20


@dataclass
class QueuePage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    counts: dict[str, int]


def _tab_filter(tab: str) -> Q:
    if tab == "pending":
        return Q(status="pending")
    if tab == "reported":
        return Q(reports__gt=0, status__in=("published", "pending"))
    return Q(status__in=(REJECTED, SPAM))  # a spam-marked comment is a rejected one


def tab_counts(thread: str | None = None) -> dict[str, int]:
    qs = QueueItem.objects.all()
    if thread:
        qs = qs.filter(thread_key=thread)
    return {tab: qs.filter(_tab_filter(tab)).count() for tab in TABS if tab != "recent"}


def author_record(author_id: str) -> dict[str, int]:
    counts = dict(CommentView.objects.filter(author_id=author_id, deleted=False).values_list("status")
                  .annotate(n=Count("id")).values_list("status", "n"))
    approved = QueueItem.objects.filter(author_id=author_id, decision="CommentApproved").count()
    return {"published": counts.get("published", 0), "approved": approved, "pending": counts.get("pending", 0),
            "rejected": counts.get(REJECTED, 0) + counts.get(SPAM, 0), "hidden": counts.get("hidden", 0)}


def _recent_of(author_id: str, but: str, n: int = 5) -> list[dict[str, Any]]:
    rows = CommentView.objects.filter(author_id=author_id, deleted=False).exclude(id=but).order_by("-position")[:n]
    return [{**comment_json(comment_row(m), private=True, staff=True), "thread": m.thread_key} for m in rows]


def _item(row: CommentView, queued: QueueItem | None) -> dict[str, Any]:
    comment = comment_row(row)
    parent = CommentView.objects.filter(pk=row.parent_id).first() if row.parent_id else None
    return {
        "comment": comment_json(comment, private=True, staff=True),
        "thread": row.thread_key,
        "status": public_status(row.status),  # spam-marked: rejected, with `spam`
        "spam": row.status == SPAM,
        "held_reason": queued.held_reason if queued else "",
        "reports": queued.reports if queued else 0,
        "report_reasons": json.loads(queued.report_reasons) if queued else {},
        "decision": queued.decision if queued else "",
        "moderator": queued.moderator if queued else "",
        "reason": queued.reason if queued else "",
        "parent": comment_json(comment_row(parent), private=True, staff=True) if parent else None,
        "author": {"id": row.author_id, "name": row.author_name, "record": author_record(row.author_id),
                   "recent": _recent_of(row.author_id, row.id)},
        "position": queued.updated if queued else row.position,
    }


def queue_page(*, tab: str, thread: str | None, cursor: int | None, limit: int = PAGE) -> QueuePage:
    """pending and reported: oldest first (first come, first decided); rejected and recent: newest first."""
    if tab == "recent":
        qs = CommentView.objects.all()
        if thread:
            qs = qs.filter(thread_key=thread)
        if cursor is not None:
            qs = qs.filter(position__lt=cursor)
        rows = list(qs.order_by("-position")[: limit + 1])
        queued = QueueItem.objects.in_bulk([r.id for r in rows])
        items = [_item(r, queued.get(r.id)) for r in rows[:limit]]
        more = len(rows) > limit
        return QueuePage(items, str(rows[limit - 1].position) if more else None, tab_counts(thread))
    qs = QueueItem.objects.filter(_tab_filter(tab))
    if thread:
        qs = qs.filter(thread_key=thread)
    newest_first = tab == "rejected"
    if cursor is not None:
        qs = qs.filter(updated__lt=cursor) if newest_first else qs.filter(updated__gt=cursor)
    queued_rows = list(qs.order_by("-updated" if newest_first else "updated")[: limit + 1])
    comments = CommentView.objects.in_bulk([q.comment_id for q in queued_rows])
    items = [_item(comments[q.comment_id], q) for q in queued_rows[:limit] if q.comment_id in comments]
    more = len(queued_rows) > limit
    return QueuePage(items, str(queued_rows[limit - 1].updated) if more else None, tab_counts(thread))
