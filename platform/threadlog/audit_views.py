"""The auditors' pages (staff only, Django login): the event list with filters, one comment's history, and a
thread at any position with a slider. They read the log; nothing here writes.

Each page walks the log or replays a thread, so it is rendered in a history process
(`threadlog.serving.expensive`, kind "audit"): the staff check happens here, the `*_html` functions there."""
from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from events.audit import comment_history, filter_events, resolve_point
from events.store import get_store
from projections.history import diff_states, state_at
from threadlog.serving import expensive

PAGE = 200


def _point(store, raw: str | None) -> int | None:
    try:
        return resolve_point(store, raw)
    except ValueError:
        return None


def _offloaded(page: Callable[..., str]) -> Callable[..., HttpResponse]:
    """A staff-only view answering with `page(query, **url_args)`, rendered in a history process."""

    @staff_member_required
    @wraps(page)
    def view(request: HttpRequest, **url_args: str) -> HttpResponse:
        try:
            return HttpResponse(expensive.offload("audit", page, request.GET.dict(), **url_args))
        except expensive.Busy as exc:
            return expensive.busy_response(exc)

    return view


def audit_log_html(q: dict[str, str]) -> str:
    store = get_store()
    after = _point(store, q.get("after")) or 0
    events = list(filter_events(store, thread=q.get("thread") or None, actor=q.get("actor") or None,
                                type=q.get("type") or None, after=after, until=_point(store, q.get("until")),
                                limit=PAGE))
    more = dict(q)
    if len(events) == PAGE:
        more["after"] = str(events[-1].position)
    return render_to_string("threadlog/audit/log.html", {
        "events": events, "filters": q, "head": store.head(),
        "next_query": urlencode(more) if len(events) == PAGE else "",
    })


def audit_comment_html(q: dict[str, str], comment_id: str) -> str:
    return render_to_string("threadlog/audit/comment.html", {
        "comment_id": comment_id, "entries": comment_history(get_store(), comment_id),
    })


def audit_thread_html(q: dict[str, str], key: str) -> str:
    store = get_store()
    events = store.read_stream(key)
    positions = [e.position for e in events]
    at = _point(store, q.get("at"))
    if at is None:
        at = positions[-1] if positions else 0
    state = state_at(store, key, at)
    earlier = [p for p in positions if p < at]
    diff = diff_states(state_at(store, key, earlier[-1]), state).lines() if earlier else []
    children: dict[str | None, list] = {}
    for row in sorted(state.comments.values(), key=lambda r: r.position):
        children.setdefault(row.parent_id, []).append(row)

    def tree(parent):
        return [{"row": row, "replies": tree(row.id)} for row in children.get(parent, ())]

    current = next((e for e in events if e.position == at), None)
    return render_to_string("threadlog/audit/thread.html", {
        "key": key, "at": at, "positions": positions, "first": positions[0] if positions else 0,
        "last": positions[-1] if positions else 0, "thread": state.thread(key), "tree": tree(None),
        "diff": diff, "current": current,
    })


audit_log = _offloaded(audit_log_html)
audit_comment = _offloaded(audit_comment_html)
audit_thread = _offloaded(audit_thread_html)
