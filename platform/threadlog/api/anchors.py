"""Inline feedback's read endpoint: GET /api/threads/{key}/anchors (docs/inline-feedback.md).

The passages of the article that a thread's published comments are anchored to, each with its comment count;
`…/comments?anchor=<id>` (threadlog.api.views) lists one passage's comments. Mounted on the main API, so it
shares its error shape, guards and CORS handling.
"""
from __future__ import annotations

from typing import Optional

from django.http import HttpRequest
from ninja import Router, Schema

from projections import anchors, queries
from threadlog.serving import expensive

from .views import ApiError, _int, _key, _moment

router = Router(tags=["inline feedback"])


class AnchorOut(Schema):
    id: str
    exact: str
    prefix: str
    suffix: str
    start: Optional[int] = None
    end: Optional[int] = None
    container: Optional[str] = None
    comment_count: int


class AnchorsOut(Schema):
    anchors: list[AnchorOut]
    position: int


@router.get("/threads/{key}/anchors", response=AnchorsOut)
def thread_anchors(request: HttpRequest, key: str):
    """The anchors of the thread's published comments, in the article's order as far as known; `at=P` (a log
    position or an ISO-8601 time): as they stood then."""
    _key(key)
    moment = _moment(request.GET.get("at"))
    at = None if moment else _int(request, "at", None, 0, 2**62)
    if moment is not None or at is not None:
        found = expensive.offload("time_travel", anchors.anchors_at, key=key, position=at, moment=moment)
        if found is None:
            raise ApiError(404, "thread_not_found", f"no thread {key!r} at {moment or at}")
        return {"anchors": found[0], "position": found[1]}
    thread = queries.thread_summary(key=key)
    if thread is None:
        raise ApiError(404, "thread_not_found", f"no thread {key!r}")
    return {"anchors": anchors.anchors_of_thread(key), "position": thread.last_position}
