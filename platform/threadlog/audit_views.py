"""The auditors' pages (staff only, Django login): the event list with filters, one comment's history, and a
thread at any position with a slider. They read the log; nothing here writes."""
from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from events.audit import comment_history, filter_events, resolve_point
from events.store import get_store
from projections.history import diff_states, state_at

PAGE = 200


def _point(store, raw: str | None) -> int | None:
    try:
        return resolve_point(store, raw)
    except ValueError:
        return None


@staff_member_required
def audit_log(request: HttpRequest) -> HttpResponse:
    store = get_store()
    q = request.GET
    after = _point(store, q.get("after")) or 0
    events = list(filter_events(store, thread=q.get("thread") or None, actor=q.get("actor") or None,
                                type=q.get("type") or None, after=after, until=_point(store, q.get("until")),
                                limit=PAGE))
    more = request.GET.copy()
    if len(events) == PAGE:
        more["after"] = str(events[-1].position)
    return render(request, "threadlog/audit/log.html", {
        "events": events, "filters": q, "head": store.head(),
        "next_query": more.urlencode() if len(events) == PAGE else "",
    })


@staff_member_required
def audit_comment(request: HttpRequest, comment_id: str) -> HttpResponse:
    return render(request, "threadlog/audit/comment.html", {
        "comment_id": comment_id, "entries": comment_history(get_store(), comment_id),
    })


@staff_member_required
def audit_thread(request: HttpRequest, key: str) -> HttpResponse:
    store = get_store()
    events = store.read_stream(key)
    positions = [e.position for e in events]
    at = _point(store, request.GET.get("at"))
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
    return render(request, "threadlog/audit/thread.html", {
        "key": key, "at": at, "positions": positions, "first": positions[0] if positions else 0,
        "last": positions[-1] if positions else 0, "thread": state.thread(key), "tree": tree(None),
        "diff": diff, "current": current,
    })
