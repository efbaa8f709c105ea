"""The HTTP API (public contract v1 in docs/api.md): parse, build a command, handle, map errors to 4xx."""
from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja.errors import HttpError, ValidationError

from events.people import KeyRing, forget_erased, reveal
from events.store import THREAD_KEY, WrongExpectedVersion, get_store
from events.types import public_data
from projections import anchors, occurred, queries
from projections.models import CommentView, ThreadView, VoteView
from projections.render import prepare as prepare_body
from projections.thread import comment_json
from threadlog.commands import CastVote, CommandError, DeleteComment, EditComment, PostComment, handle
from threadlog.serving import expensive, history_pages
from threadlog.notifications.readers import identities

from . import ratelimit
from .cors import error_response
from .identity import identify
from .openapi import DocumentedAPI
from .schemas import EditIn, PostCommentIn, VoteIn
from threadlog.moderation.public import PRIVATE_TYPES, thread_moderation, withheld_comments
from threadlog.moderation.rules import refuse_banned

api = DocumentedAPI(title="threadlog", version="1", urls_namespace="api", docs_url="/docs")

IDEMPOTENCY_KEY = re.compile(r"\A[\x21-\x7e]{1,200}\Z")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, **exc.extra)


@api.exception_handler(CommandError)
def _command_error(request, exc: CommandError):
    return error_response(exc.status, exc.code, exc.message, **getattr(exc, "extra", {}))


@api.exception_handler(WrongExpectedVersion)
def _conflict(request, exc: WrongExpectedVersion):
    return error_response(409, "conflict", "the thread changed while this request was decided; retry it")


@api.exception_handler(expensive.Busy)
def _busy(request, exc: expensive.Busy):
    return expensive.busy_response(exc)


@api.exception_handler(ratelimit.RateLimited)
def _rate_limited(request, exc: ratelimit.RateLimited):
    response = error_response(429, "rate_limited", f"too many requests; retry in {exc.retry_after} s")
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())[2:] or e.get("loc", ())), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return error_response(422, "invalid_request", message, fields=errors)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    return error_response(exc.status_code, "http_error", str(exc))


def _key(key: str) -> str:
    if not THREAD_KEY.match(key):
        raise ApiError(400, "invalid_key", "thread keys are 1-200 characters of A-Z a-z 0-9 . _ ~ -")
    return key


def _thread(key: str) -> ThreadView:
    thread = queries.thread_summary(key=_key(key))
    if thread is None:
        raise ApiError(404, "thread_not_found", f"no thread {key!r}")
    return thread


def _idempotency_key(request: HttpRequest) -> str | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.match(value):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-200 visible ASCII characters")
    return value


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, f"{what}_not_found", f"no {what} {value!r}") from None


def _moment(raw: str | None) -> str | None:
    """`at=` given as an ISO-8601 time rather than a position: the time in the log's form (else None)."""
    if not raw or raw.isdigit() or raw.lstrip("-").isdigit():
        return None
    try:
        return occurred.parse_moment(raw)
    except occurred.BadTime as exc:
        raise ApiError(400, "invalid_parameter", f"at: {exc}") from None


def _int(request: HttpRequest, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {lo} and {hi}")
    return value


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    """The write endpoints' answer, encoded once with orjson: they build it from the read model themselves, and
    ninja's validation and encoding of a plain dict cost more than the encoding alone (documented schemas stay)."""
    return HttpResponse(orjson.dumps(body), content_type="application/json", status=status)


def _comment_body(comment_id: str) -> dict[str, Any]:
    return comment_json(queries.comment_by_id(comment_id), private=True)  # for its author or staff


@api.get("/threads/{key}")
def thread_detail(request: HttpRequest, key: str):
    thread = _thread(key)
    return {"key": thread.key, "title": thread.title, "comment_count": thread.comment_count,
            "position": thread.last_position, **thread_moderation(thread)}


@api.get("/threads/{key}/comments")
def thread_comments(request: HttpRequest, key: str, response: HttpResponse):
    _key(key)
    sort = request.GET.get("sort", "oldest")
    if sort not in queries.SORTS:
        raise ApiError(400, "invalid_sort", f"sort must be one of {', '.join(queries.SORTS)}")
    limit = _int(request, "limit", 50, 1, queries.MAX_LIMIT)
    moment = _moment(request.GET.get("at"))
    at = None if moment else _int(request, "at", None, 0, 2**62)
    cursor = request.GET.get("cursor") or None
    anchor = _anchor_param(request)
    who = identify(request)
    try:
        if moment is not None:  # a time: the events that had occurred by then (imported ones at their source time)
            page = expensive.offload("time_travel", history_pages.comments_page_at_time, key=key, moment=moment,
                                     sort=sort, cursor=cursor, limit=limit, anchor=anchor)
            if page is None:
                raise ApiError(404, "thread_not_found", f"no thread {key!r} at {moment}")
        elif at is not None:
            page = expensive.offload("time_travel", history_pages.comments_page_at, key=key, position=at,
                                     sort=sort, cursor=cursor, limit=limit, anchor=anchor)
            if page is None:
                raise ApiError(404, "thread_not_found", f"no thread {key!r} at position {at}")
        else:
            page = queries.comments_page(thread=_thread(key), sort=sort, cursor=cursor, limit=limit,
                                         viewer=queries.Viewer(who.author.id, who.is_staff), anchor=anchor)
    except queries.BadCursor as exc:
        raise ApiError(400, "invalid_cursor", str(exc)) from None
    who.set_cookies(response)
    _mark_mine(page.comments, author_id=who.author.id, voter_id=who.voter.id)
    return {"comments": page.comments, "next_cursor": page.next_cursor, "comment_count": page.comment_count,
            "position": page.position, "sort": sort}


def _anchor_param(request: HttpRequest) -> str | None:
    """`?anchor=<id>`: only the comments on one passage (GET …/anchors lists the ids)."""
    raw = request.GET.get("anchor")
    if raw is None or raw == "":
        return None
    if not anchors.is_anchor_id(raw):
        raise ApiError(400, "invalid_parameter", "anchor must be an anchor id (16 hex characters, GET …/anchors)")
    return raw


def _mark_mine(comments: list[dict[str, Any]], *, author_id: str, voter_id: str) -> None:
    """Per-request flags for the reader's own page: `mine: true` on comments they wrote (and may still edit),
    `my_vote` (1 or -1) where they voted. Added by walking the returned tree; the public fields stay as they are."""
    by_id: dict[str, dict[str, Any]] = {}
    stack = list(comments)
    while stack:
        item = stack.pop()
        by_id[item["id"]] = item
        stack.extend(item.get("replies") or ())
    if not by_id:
        return
    ids = list(by_id)
    mine = CommentView.objects.filter(id__in=ids, author_id__in=identities(author_id)).values_list("id", flat=True)
    for comment_id in mine:
        if not by_id[comment_id]["deleted"]:
            by_id[comment_id]["mine"] = True
    votes = VoteView.objects.filter(comment_id__in=ids, voter=voter_id).exclude(value=0)
    for comment_id, value in votes.values_list("comment_id", "value"):
        by_id[comment_id]["my_vote"] = value


@api.post("/threads/{key}/comments", response={201: dict})
def post_comment(request: HttpRequest, key: str, payload: PostCommentIn, response: HttpResponse):
    _key(key)
    who = identify(request)
    ratelimit.check("post", who.author.id, who.author.ip_hash)
    parent_id = _uuid(payload.parent_id, "comment") if payload.parent_id else None
    if parent_id and payload.anchor is not None:
        message = "a reply inherits its parent's anchor: anchor is for top-level comments only"
        raise ApiError(422, "invalid_request", f"anchor: {message}", fields=[{"field": "anchor", "message": message}])
    prepare_body(payload.body, payload.format)  # rendered before the append lock is taken (projections.render)
    command = PostComment(thread=key, body=payload.body, author_name=payload.author_name.strip(),
                          author_email=payload.author_email, parent_id=parent_id, title=payload.title,
                          honeypot=bool(payload.website), format=payload.format,
                          anchor=payload.anchor.model_dump(exclude_none=True) if payload.anchor else None)
    result = handle(command, who.author, idempotency_key=_idempotency_key(request))
    comment = comment_json(result.comment, private=True) if result.comment else _comment_body(result.comment_id)
    out = _json({"comment": comment, "position": result.position}, 201)
    who.set_cookies(out)
    return out


@api.post("/comments/{comment_id}/vote")
def vote(request: HttpRequest, comment_id: str, payload: VoteIn, response: HttpResponse):
    who = identify(request)
    ratelimit.check("vote", who.voter.id, who.voter.ip_hash)
    refuse_banned(who.voter.id, who.voter.ip_hash, staff=who.is_staff, also=who.author.id)
    result = handle(CastVote(comment_id=_uuid(comment_id, "comment"), value=payload.value), who.voter,
                    idempotency_key=_idempotency_key(request))
    row = result.comment or queries.comment_by_id(result.comment_id)
    out = _json({"up": row.up, "down": row.down, "score": row.score, "position": result.position,
                 "value": payload.value})
    who.set_cookies(out)
    return out


@api.patch("/comments/{comment_id}")
def edit(request: HttpRequest, comment_id: str, payload: EditIn, response: HttpResponse):
    who = identify(request)
    ratelimit.check("post", who.author.id, who.author.ip_hash)
    prepare_body(payload.body, payload.format or "markdown")
    result = handle(EditComment(comment_id=_uuid(comment_id, "comment"), body=payload.body, format=payload.format),
                    who.author,
                    idempotency_key=_idempotency_key(request))
    return {"comment": _comment_body(result.comment_id), "position": result.position}


@api.delete("/comments/{comment_id}")
def delete(request: HttpRequest, comment_id: str, response: HttpResponse):
    who = identify(request)
    ratelimit.check("post", who.author.id, who.author.ip_hash)
    result = handle(DeleteComment(comment_id=_uuid(comment_id, "comment")), who.author,
                    idempotency_key=_idempotency_key(request))
    return {"comment": _comment_body(result.comment_id), "position": result.position}


@api.get("/events")
def events(request: HttpRequest):
    after = _int(request, "after", 0, 0, 2**62)
    limit = _int(request, "limit", 100, 1, 1000)
    thread = request.GET.get("thread")
    store = get_store()
    if thread:
        rows = store.read_stream(_key(thread), 0, after_position=after, limit=limit)
    else:
        rows = store.read_all(after, limit)
    staff = bool(getattr(request, "user", None) and request.user.is_authenticated and request.user.is_staff)
    out = []
    keys = KeyRing()
    withheld = set() if staff else withheld_comments(rows)
    for ev in rows:
        item = ev.as_dict()
        if staff:  # sealed personal fields opened, or "[erased]"
            item = reveal(item, keys)
        else:  # without personal fields, and nothing an erasure has hidden
            item["data"] = public_data(ev.type, forget_erased(dict(ev.data), keys))
            item["metadata"] = {k: v for k, v in ev.metadata.items() if k in ("request_id",)}
            if ev.data.get("comment_id") in withheld or ev.type in PRIVATE_TYPES:
                item["data"] = {}  # about a comment the public cannot see (or a report): that it happened only
        out.append(item)
    return {"events": out, "next": rows[-1].position if rows else after, "head": store.head()}


__all__ = ["api", "settings"]


from threadlog.readers.api import router as _readers_router  # noqa: E402  (preview, context, counts)

api.add_router("", _readers_router)

from threadlog.api.anchors import router as _anchors_router  # noqa: E402  (inline feedback: GET …/anchors)

api.add_router("", _anchors_router)
