"""The moderation endpoints of the JSON API (docs/api.md, docs/moderation.md). Thin: parse, build a command,
handle, answer; domain errors become 4xx through the API's exception handlers (threadlog.api.views)."""
from __future__ import annotations

from typing import Optional

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import Field, StrictBool, StrictStr

from projections import queries, queue_queries
from projections.thread import comment_json
from threadlog.api import ratelimit
from threadlog.api.cors import error_response
from threadlog.api.identity import identify
from threadlog.api.schemas import WholeInt, _Strict
from threadlog.api.views import _idempotency_key, _int, _json, _key, _thread, _uuid
from threadlog.commands import CommandError, handle

from .commands import (BAN_SCOPES, COMMENT_ACTIONS, REPORT_REASONS, THREAD_ACTIONS, BanPerson, LiftBan,
                       ModerateComment, ModerateThread, ReportComment)
from .public import thread_moderation
from .rules import refuse_banned

router = Router(tags=["moderation"])


def _one_of(values) -> dict:
    """The values the handler accepts, stated in the API document (the handler's 422 says the same)."""
    return {"json_schema_extra": {"enum": list(values)}}


class ActionIn(_Strict):
    action: StrictStr = Field(max_length=32, **_one_of(COMMENT_ACTIONS))
    reason: StrictStr = Field(default="", max_length=500)


class ThreadActionIn(_Strict):
    action: StrictStr = Field(max_length=32, **_one_of(THREAD_ACTIONS))
    reason: StrictStr = Field(default="", max_length=500)


class ReportIn(_Strict):
    reason: StrictStr = Field(max_length=32, **_one_of(REPORT_REASONS))
    note: StrictStr = Field(default="", max_length=1000)


class BanIn(_Strict):
    comment_id: StrictStr = Field(max_length=36, json_schema_extra={"format": "uuid"})
    scope: StrictStr = Field(max_length=16, **_one_of(BAN_SCOPES))
    duration_seconds: Optional[WholeInt] = Field(default=None, le=10 * 365 * 24 * 3600,
                                                  json_schema_extra={"anyOf": [
                                                      {"type": "integer", "minimum": 1, "maximum": 10 * 365 * 24 * 3600},
                                                      {"type": "null"}]})
    reason: StrictStr = Field(default="", max_length=500)
    hide_comments: StrictBool = False


def _one_of_or_422(value: str, allowed, code: str, what: str) -> None:
    """The handler refuses the same; asked here too, before an Idempotency-Key could replay an earlier request:
    a request outside the document is refused whatever key it carries."""
    if value not in allowed:
        raise CommandError(code, f"{what} must be one of {', '.join(allowed)}", 422)


def _staff_only(request: HttpRequest):
    who = identify(request)
    if not who.is_staff:
        return who, error_response(403, "staff_only", "only staff may moderate; sign in first")
    return who, None


@router.post("/comments/{comment_id}/moderation")
def moderate_comment(request: HttpRequest, comment_id: str, payload: ActionIn):
    who, refused = _staff_only(request)
    if refused:
        return refused
    _one_of_or_422(payload.action, COMMENT_ACTIONS, "invalid_action", "action")
    result = handle(ModerateComment(comment_id=_uuid(comment_id, "comment"), action=payload.action,
                                    reason=payload.reason), who.author, idempotency_key=_idempotency_key(request))
    row = queries.comment_by_id(result.comment_id)
    return _json({"comment": comment_json(row, private=True, staff=True), "position": result.position})


@router.post("/comments/{comment_id}/reports")
def report(request: HttpRequest, comment_id: str, payload: ReportIn):
    who = identify(request)
    ratelimit.check("report", who.voter.id, who.voter.ip_hash)
    refuse_banned(who.voter.id, who.voter.ip_hash, staff=who.is_staff, also=who.author.id)
    _one_of_or_422(payload.reason, REPORT_REASONS, "invalid_reason", "reason")
    reporter = who.author if who.is_staff else who.voter
    result = handle(ReportComment(comment_id=_uuid(comment_id, "comment"), reason=payload.reason, note=payload.note),
                    reporter, idempotency_key=_idempotency_key(request))
    out = _json({"reported": True, "position": result.position}, 202 if result.appended else 200)
    who.set_cookies(out)
    return out


@router.post("/bans")
def ban(request: HttpRequest, payload: BanIn):
    who, refused = _staff_only(request)
    if refused:
        return refused
    _one_of_or_422(payload.scope, BAN_SCOPES, "invalid_scope", "scope")
    if payload.duration_seconds is not None and payload.duration_seconds <= 0:
        raise CommandError("invalid_duration", "duration_seconds must be positive (or left out: until lifted)", 422)
    result = handle(BanPerson(comment_id=_uuid(payload.comment_id, "comment"), scope=payload.scope,
                              reason=payload.reason, duration_seconds=payload.duration_seconds,
                              hide_comments=payload.hide_comments), who.author,
                    idempotency_key=_idempotency_key(request))
    ban = getattr(result, "ban", None)
    if ban is None:  # a retry with the same Idempotency-Key: the ban the first request recorded
        data = next(e.data for e in result.recorded if e.type == "PersonBanned")
        ban = {"id": data["ban_id"], "scope": data["scope"], "until": data.get("until"), "reason": data.get("reason", "")}
    return _json({"ban": ban, "position": result.position}, 201)


@router.delete("/bans/{ban_id}")
def lift(request: HttpRequest, ban_id: str):
    who, refused = _staff_only(request)
    if refused:
        return refused
    result = handle(LiftBan(ban_id=_uuid(ban_id, "ban")), who.author, idempotency_key=_idempotency_key(request))
    return _json({"ban": {"id": _uuid(ban_id, "ban"), "lifted": True}, "position": result.position})


@router.post("/threads/{key}/moderation")
def moderate_thread(request: HttpRequest, key: str, payload: ThreadActionIn):
    who, refused = _staff_only(request)
    if refused:
        return refused
    _one_of_or_422(payload.action, THREAD_ACTIONS, "invalid_action", "action")
    result = handle(ModerateThread(thread=_key(key), action=payload.action, reason=payload.reason), who.author,
                    idempotency_key=_idempotency_key(request))
    thread = _thread(key)
    return _json({"thread": {"key": thread.key, "title": thread.title, "comment_count": thread.comment_count,
                             "position": thread.last_position, **thread_moderation(thread)},
                  "position": result.position})


@router.get("/moderation/queue")
def queue(request: HttpRequest, response: HttpResponse):
    who, refused = _staff_only(request)
    if refused:
        return refused
    tab = request.GET.get("tab") or "pending"
    if tab not in queue_queries.TABS:
        return error_response(400, "invalid_tab", f"tab must be one of {', '.join(queue_queries.TABS)}")
    thread = request.GET.get("thread") or None
    if thread:
        _key(thread)
    cursor = _int(request, "cursor", None, 0, 2**62)
    page = queue_queries.queue_page(tab=tab, thread=thread, cursor=cursor)
    return {"tab": tab, "thread": thread, "items": page.items, "next_cursor": page.next_cursor,
            "counts": page.counts}
