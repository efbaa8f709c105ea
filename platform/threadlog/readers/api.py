"""The readers' JSON endpoints: POST /api/preview, GET /api/comments/{id}/context, GET /api/counts.

Mounted on the main API (threadlog.api.views), so they share its error shape, guards and CORS handling.
"""
from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import Field, StrictStr, field_validator

from events.formats import MARKDOWN
from events.store import get_store
from projections import queries, readers
from projections.render import render
from threadlog.api import ratelimit
from threadlog.api.identity import identify
from threadlog.api.schemas import _no_nul, _Strict
from threadlog.api.views import ApiError, _json, _key, _uuid

from .pages import not_modified

router = Router(tags=["readers"])


class PreviewIn(_Strict):
    body: StrictStr = Field(max_length=10_000)
    format: Literal["plain", "markdown"] = MARKDOWN

    _nul = field_validator("body")(_no_nul)


@router.post("/preview")
def preview(request: HttpRequest, payload: PreviewIn):
    """Exactly the HTML a comment with this body and format would show (the same renderer as the projection)."""
    who = identify(request)
    ratelimit.check("preview", who.author.id, who.author.ip_hash)
    return _json({"body_html": render(payload.body, payload.format), "format": payload.format})


@router.get("/comments/{comment_id}/context")
def context(request: HttpRequest, comment_id: str):
    sort = request.GET.get("sort", "oldest")
    if sort not in queries.SORTS:
        raise ApiError(400, "invalid_sort", f"sort must be one of {', '.join(queries.SORTS)}")
    who = identify(request)  # as the list shows it: a pending comment to its author (their cookie) and staff
    found = readers.comment_context(comment_id=_uuid(comment_id, "comment"), sort=sort,
                                    viewer=queries.Viewer(who.author.id, who.is_staff))
    if found is None:
        raise ApiError(404, "comment_not_found", f"no comment {comment_id!r}")
    return {"comment": found.comment, "ancestors": found.ancestors, "thread": found.thread, "sort": found.sort,
            "cursor": found.cursor}


def _keys(request: HttpRequest) -> list[str]:
    raw = request.GET.get("keys")
    if raw is None or not raw.strip(","):
        raise ApiError(400, "invalid_parameter", "keys: give 1-100 thread keys, separated by commas")
    keys = list(dict.fromkeys(k for k in raw.split(",") if k))
    if len(keys) > readers.MAX_COUNT_KEYS:
        raise ApiError(400, "invalid_parameter", f"keys: at most {readers.MAX_COUNT_KEYS} thread keys at once")
    for key in keys:
        _key(key)
    return keys


@router.get("/counts")
def counts(request: HttpRequest):
    """Comment counts of up to 100 threads, cacheable: the ETag is the log's position (any change moves it)."""
    keys = _keys(request)
    etag = f'"counts-{get_store().head()}"'
    if not_modified(request, etag):
        response = HttpResponse(status=304)
    else:
        response = _json({"counts": readers.comment_counts(keys)})
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=0, must-revalidate"
    if "Access-Control-Allow-Origin" not in response:  # public numbers: any index page may ask
        response["Access-Control-Allow-Origin"] = "*"
    return response


__all__ = ["router", "PreviewIn", "StrictStr"]
