"""The WebSocket protocol as an AsyncAPI 3 document, served at /api/asyncapi.json (docs/api.md, "WebSocket").

Each frame's schema allows fields to be added (never taken away); tests/conformance validates real frames
against these schemas, so a frame that changes shape without the document fails there.
"""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from .constraints import THREAD_KEY

_POSITION = {"type": "integer", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}


def _frame(frame_type: str, required: list[str], description: str, **props) -> dict:
    return {"name": frame_type, "title": frame_type, "summary": description, "contentType": "application/json",
            "payload": {"type": "object", "required": ["type", *required],
                        "properties": {"type": {"const": frame_type}, **props}}}


COMMENT_COUNTS = {"type": "object", "required": ["id", "up", "down", "score", "reply_count"],
                  "properties": {"id": {"type": "string"}, "up": {"type": "integer"}, "down": {"type": "integer"},
                                 "score": {"type": "integer"}, "reply_count": _COUNT}}
SERVER_FRAMES = {
    "event": _frame(
        "event", ["position", "stream_version", "event", "counts"],
        "One event of the thread, in log order (no gaps: stream_version goes up by one). Events about a comment "
        "the public cannot see arrive as {type: Withheld, data: {}}.",
        position=_POSITION, stream_version={"type": "integer", "minimum": 1},
        event={"type": "object", "required": ["type", "data"],
               "properties": {"type": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
                              "data": {"type": "object"}}},
        counts={"type": "object", "required": ["comment_count"],
                "properties": {"comment_count": _COUNT, "comment": COMMENT_COUNTS,
                               "parent": {"type": "object", "required": ["id", "reply_count"],
                                          "properties": {"id": {"type": "string"}, "reply_count": _COUNT}}}},
        comment={"type": "object", "description": "the comment as GET /api/threads/{key}/comments shows it",
                 "required": ["id", "parent_id", "author", "body_html", "deleted"]},
        thread={"type": "object", "required": ["closed", "premoderated"],
                "properties": {"closed": {"type": "boolean"}, "premoderated": {"type": "boolean"}}}),
    "ready": _frame("ready", ["position"], "The backlog is sent (or none was asked for): live from here on.",
                    position=_POSITION),
    "reset": _frame("reset", ["position", "reason"],
                    "Too much (or no longer kept) history to replay, or an online rebuild of the read model "
                    "changed this thread's frames: refetch the thread over HTTP.",
                    position=_POSITION, reason={"type": "string"}),
    "presence": _frame("presence", ["readers"], "How many readers have the thread open.", readers=_COUNT),
    "pong": _frame("pong", [], "The answer to a ping.", position=_POSITION),
    "notice": _frame("notice", ["kind", "comment_id", "thread"], "Someone replied to this browser's reader.",
                     kind={"enum": ["reply"]}, comment_id={"type": "string"}, thread={"type": "string"}),
    "error": _frame("error", ["code", "message"], "A frame the server could not take; the connection stays open "
                    "(except for a bad thread key: closed with 4400).",
                    code={"enum": ["invalid_key", "invalid_after", "frame_too_large", "bad_json", "unknown_type"]},
                    message={"type": "string"}),
}
CLIENT_FRAMES = {
    "resume": _frame("resume", ["after"], "Everything of the thread after this position, then live again.",
                     after=_POSITION),
    "ping": _frame("ping", [], "Is the connection alive? Answered with pong."),
}
for _f in CLIENT_FRAMES.values():
    _f["payload"]["additionalProperties"] = False


def document() -> dict:
    messages = {**{f"server.{k}": v for k, v in SERVER_FRAMES.items()},
                **{f"client.{k}": v for k, v in CLIENT_FRAMES.items()}}
    refs = lambda prefix, frames: [{"$ref": f"#/channels/thread/messages/{prefix}.{k}"} for k in frames]  # noqa: E731
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "threadlog live feed", "version": "1",
                 "description": "One WebSocket per open thread: the thread's events as they are appended, and "
                                "resumption from any position. Writes go over HTTP (/api/openapi.json)."},
        "servers": {"site": {"host": "127.0.0.1:8000", "protocol": "ws",
                             "description": "the site itself (wss:// behind TLS); the Origin must be the site or "
                                            "an EMBED_ORIGINS origin"}},
        "channels": {
            "thread": {
                "address": "/ws/threads/{key}/",
                "parameters": {"key": {"description": f"the thread's key ({THREAD_KEY})"}},
                "bindings": {"ws": {"query": {"type": "object", "properties": {"after": {
                    "type": "string", "pattern": "^[0-9]*$",
                    "description": "replay every frame after this log position first, then ready"}}}}},
                "messages": messages,
            }
        },
        "operations": {
            "receiveFrames": {"action": "receive", "channel": {"$ref": "#/channels/thread"},
                              "summary": "What the server sends", "messages": refs("server", SERVER_FRAMES)},
            "sendFrames": {"action": "send", "channel": {"$ref": "#/channels/thread"},
                           "summary": "What a reader may send (anything else: an error frame)",
                           "messages": refs("client", CLIENT_FRAMES)},
        },
    }


@require_safe
def asyncapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
