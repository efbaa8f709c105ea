"""The API document tells the whole truth (issue 19): what django-ninja derives from the views (paths, methods,
request bodies) completed with what it cannot see — the query and header parameters the views read themselves,
the constraints on paths and bodies (the thread key's alphabet, UUIDs, the characters refused), every status an
operation can answer with the error body `{error: {code, message, fields?}}` and the codes it may carry, the
success bodies, and the links between operations (post a comment → vote on it → edit → delete).

Generic rules cover any operation (so a new endpoint is documented the moment it exists); OPERATIONS adds what
is particular to one. tests/conformance runs schemathesis against the result, so a gap shows up as a failure.
"""
from __future__ import annotations

import copy
from typing import Any

from ninja import NinjaAPI

from .constraints import IDEMPOTENCY_KEY, NOT_BLANK, TEXT, TEXT_NOTE, THREAD_KEY, UUID  # noqa: F401

SORTS = ["oldest", "newest", "most_voted", "best", "hot"]
POSITION = {"type": "integer", "minimum": 0, "maximum": 2**62}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "object", "required": ["field", "message"],
                                                        "properties": {"field": {"type": "string"},
                                                                       "message": {"type": "string"}}}},
                "retry_after": {"type": "integer"},
                "until": {"type": ["string", "null"]},
            },
        }
    },
}

# --- success bodies (additional properties allowed: fields may be added, never taken away) ----------------------
_COMMENT = {
    "type": "object",
    "required": ["id", "parent_id", "author", "body_html", "created_at", "edited_at", "deleted", "up", "down",
                 "score", "reply_count"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "parent_id": {"type": ["string", "null"]},
        "author": {"type": "object", "required": ["name"], "properties": {"name": {"type": ["string", "null"]}}},
        "body_html": {"type": "string"},
        "created_at": {"type": "string"},
        "edited_at": {"type": ["string", "null"]},
        "deleted": {"type": "boolean"},
        "status": {"type": "string", "enum": ["published", "pending", "rejected", "hidden"]},
        "spam": {"type": "boolean", "description": "staff only, on a comment rejected as spam (status rejected)"},
        "pinned": {"type": "boolean"},
        "up": {"type": "integer"}, "down": {"type": "integer"}, "score": {"type": "integer"},
        "reply_count": {"type": "integer"},
        "replies": {"type": "array", "items": {"$ref": "#/components/schemas/Comment"}},
    },
}
_THREAD = {"type": "object", "required": ["key", "title", "comment_count", "position"],
           "properties": {"key": {"type": "string"}, "title": {"type": "string"},
                          "comment_count": {"type": "integer"}, "position": {"type": "integer"},
                          "closed": {"type": "boolean"}, "premoderated": {"type": "boolean"}}}
_COMMENT_WRITE = {"type": "object", "required": ["comment", "position"],
                  "properties": {"comment": {"$ref": "#/components/schemas/Comment"}, "position": {"type": "integer"}}}
COMPONENTS = {
    "Error": ERROR_SCHEMA,
    "Comment": _COMMENT,
    "Thread": _THREAD,
    "CommentWrite": _COMMENT_WRITE,
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **props: Any) -> dict:
    return {"type": "object", "required": required, "properties": props}


_EMPTY = {"type": "string", "maxLength": 0}


def _query(name: str, schema: dict, description: str = "", required: bool = False, empty: bool = True) -> dict:
    """A query parameter; empty: `name=` with nothing after it means the default (or no filter)."""
    if empty and not required:
        schema = {"anyOf": [schema, _EMPTY]}
        description = " ".join(filter(None, [description, "Empty: as if left out."]))
    return {"in": "query", "name": name, "required": required, "schema": schema, "description": description}


_LIMIT = lambda hi, default: _query("limit", {"type": "integer", "minimum": 1, "maximum": hi, "default": default})  # noqa: E731
_AT = _query("at", {"anyOf": [POSITION, {"type": "string", "format": "date-time"}]},
             "the thread as it stood at this log position, or at this time (ISO 8601)")
_SORT = _query("sort", {"type": "string", "enum": SORTS, "default": "oldest"}, empty=False)
# The status each domain error carries (where a code always comes with the same status).
BAD_KEY = {400: ["invalid_key"]}


def _op(ok: dict[int, dict | None], errors: dict[int, list[str]] | None = None, params: list | None = None,
        idempotent: bool = False) -> dict:
    """ok: success statuses and bodies; errors: status -> codes besides the generic ones; params: query
    parameters; idempotent: the operation reads an Idempotency-Key header."""
    return {"ok": ok, "errors": errors or {}, "params": params or [], "idempotent": idempotent}


def _content(schema: dict | None) -> dict:
    return {"content": {"application/json": {"schema": schema}}} if schema is not None else {}


_POSTED = {"thread_closed": 409, "parent_deleted": 409, "parent_not_published": 409, "duplicate_comment": 409}
OPERATIONS: dict[tuple[str, str], dict] = {
    ("get", "/api/threads/{key}"): _op({200: _ref("Thread")}, {404: ["thread_not_found"]}),
    ("get", "/api/threads/{key}/anchors"): _op(
        {200: None}, {400: ["invalid_parameter"], 404: ["thread_not_found"], 503: ["busy"]}, [_AT]),
    ("get", "/api/threads/{key}/comments"): _op(
        {200: _obj(["comments", "next_cursor", "comment_count", "position"],
                   comments={"type": "array", "items": _ref("Comment")}, next_cursor={"type": ["string", "null"]},
                   comment_count={"type": "integer"}, position={"type": "integer"}, sort={"enum": SORTS})},
        {400: ["invalid_sort", "invalid_parameter", "invalid_cursor"], 404: ["thread_not_found"], 503: ["busy"]},
        [_SORT, _LIMIT(200, 50), _query("cursor", {"type": "string"}, "next_cursor of the previous page"), _AT]),
    ("post", "/api/threads/{key}/comments"): _op(
        {201: _ref("CommentWrite")},
        {403: ["banned"], 404: ["comment_not_found"], 409: ["conflict", *_POSTED], 422: ["reply_too_deep"]}, idempotent=True),
    ("post", "/api/comments/{comment_id}/vote"): _op(
        {200: _obj(["up", "down", "score", "position"], up={"type": "integer"}, down={"type": "integer"},
                   score={"type": "integer"}, position={"type": "integer"}, value={"enum": [1, -1, 0]})},
        {403: ["banned"], 404: ["comment_not_found"], 409: ["conflict", "comment_deleted", "comment_not_published"]}, idempotent=True),
    ("patch", "/api/comments/{comment_id}"): _op(
        {200: _ref("CommentWrite")},
        {403: ["banned", "not_author", "edit_window_passed"], 404: ["comment_not_found"],
         409: ["conflict", "comment_deleted"]}, idempotent=True),
    ("delete", "/api/comments/{comment_id}"): _op(
        {200: _ref("CommentWrite")},
        {403: ["banned", "not_author", "edit_window_passed"], 404: ["comment_not_found"],
         409: ["conflict", "comment_deleted"]}, idempotent=True),
    ("get", "/api/events"): _op(
        {200: _obj(["events", "next"], events={"type": "array", "items": {"type": "object", "required": [
            "position", "id", "type", "version", "stream", "stream_version", "data", "metadata", "recorded_at"]}},
            next={"type": "integer"}, head={"type": "integer"})},
        {400: ["invalid_parameter", "invalid_key"]},
        [_query("after", POSITION), _LIMIT(1000, 100),
         _query("thread", {"type": "string", "pattern": THREAD_KEY}, "only this thread's events")]),
    ("post", "/api/comments/{comment_id}/moderation"): _op(
        {200: _ref("CommentWrite")},
        {403: ["staff_only"], 404: ["comment_not_found"],
         409: ["conflict", "comment_deleted", "cannot_pin_reply", "comment_not_published", "too_many_pinned"],
         422: ["invalid_action"]}, idempotent=True),
    ("post", "/api/comments/{comment_id}/reports"): _op(
        {200: _obj(["reported", "position"]), 202: _obj(["reported", "position"])},
        {403: ["banned"], 404: ["comment_not_found"], 409: ["conflict"], 422: ["invalid_reason"]}, idempotent=True),
    ("post", "/api/bans"): _op(
        {201: _obj(["ban", "position"])},
        {403: ["staff_only"], 404: ["comment_not_found"], 409: ["conflict", "no_ip", "cannot_ban_staff"],
         422: ["invalid_scope", "invalid_duration"]}, idempotent=True),
    ("delete", "/api/bans/{ban_id}"): _op(
        {200: _obj(["ban", "position"])}, {403: ["staff_only"], 404: ["ban_not_found"], 409: ["conflict"]}, idempotent=True),
    ("post", "/api/threads/{key}/moderation"): _op(
        {200: _obj(["thread", "position"], thread=_ref("Thread"))},
        {403: ["staff_only"], 404: ["thread_not_found"], 409: ["conflict"], 422: ["invalid_action"]}, idempotent=True),
    ("get", "/api/moderation/queue"): _op(
        {200: _obj(["tab", "items", "next_cursor", "counts"])},
        {400: ["invalid_tab", "invalid_key", "invalid_parameter"], 403: ["staff_only"]},
        [_query("tab", {"type": "string", "enum": ["pending", "reported", "rejected", "recent"], "default": "pending"}),
         _query("thread", {"type": "string", "pattern": THREAD_KEY}),
         _query("cursor", POSITION)]),
    ("post", "/api/session"): _op(
        {200: _obj(["user"])}, {401: ["invalid_credentials"], 429: ["too_many_attempts"]}),
    ("get", "/api/session"): _op({200: _obj(["user"])}),
    ("delete", "/api/session"): _op({200: _obj(["user"])}),
    ("post", "/api/threads/{key}/subscriptions"): _op(
        {202: _obj(["status"], status={"enum": ["confirmation_sent"]})},
        {409: ["conflict"], 422: ["invalid_email"]}),
    ("get", "/api/subscriptions"): _op(
        {200: _obj(["subscriptions", "signed_in", "email"], subscriptions={"type": "array"})}),
    ("delete", "/api/subscriptions/{subscription_id}"): _op(
        {200: _obj(["id", "status", "position"])}, {404: ["subscription_not_found"], 409: ["conflict"]}),
    ("post", "/api/session/email"): _op(
        {202: _obj(["status"], status={"enum": ["sign_in_link_sent"]})}, {422: ["invalid_email"]}),
    ("get", "/api/session/email"): _op({200: _obj(["signed_in", "email", "reader", "name"])}),
    ("delete", "/api/session/email"): _op({200: _obj(["signed_in"])}),
    ("post", "/api/preview"): _op({200: _obj(["body_html", "format"], body_html={"type": "string"})}),
    ("get", "/api/comments/{comment_id}/context"): _op(
        {200: _obj(["comment", "ancestors", "thread", "sort", "cursor"], comment=_ref("Comment"))},
        {400: ["invalid_sort"], 404: ["comment_not_found"]}, [_SORT]),
    ("get", "/api/counts"): _op(
        {200: _obj(["counts"], counts={"type": "object", "additionalProperties": {"type": "integer"}}), 304: None},
        {400: ["invalid_parameter", "invalid_key"]},
        [_query("keys", {"type": "string", "pattern": r"^,*[A-Za-z0-9._~-]{1,200}(,+[A-Za-z0-9._~-]{1,200}){0,99},*$"},
                "1-100 thread keys, separated by commas", required=True)]),
}

# Links: what one operation's answer lets a client do next (schemathesis follows them in its stateful phase).
_COMMENT_ID = {"comment_id": "$response.body#/comment/id"}
LINKS = {
    ("post", "/api/threads/{key}/comments", "201"): {
        "VoteOnIt": ("post", "/api/comments/{comment_id}/vote", _COMMENT_ID),
        "EditIt": ("patch", "/api/comments/{comment_id}", _COMMENT_ID),
        "DeleteIt": ("delete", "/api/comments/{comment_id}", _COMMENT_ID),
        "ReadItsContext": ("get", "/api/comments/{comment_id}/context", _COMMENT_ID),
        "ReportIt": ("post", "/api/comments/{comment_id}/reports", _COMMENT_ID),
        "ModerateIt": ("post", "/api/comments/{comment_id}/moderation", _COMMENT_ID),
        "ReadTheThread": ("get", "/api/threads/{key}", {"key": "$request.path.key"}),
        "ReadItsComments": ("get", "/api/threads/{key}/comments", {"key": "$request.path.key"}),
    },
    ("post", "/api/comments/{comment_id}/vote", "200"): {
        "EditIt": ("patch", "/api/comments/{comment_id}", {"comment_id": "$request.path.comment_id"}),
    },
    ("patch", "/api/comments/{comment_id}", "200"): {
        "DeleteIt": ("delete", "/api/comments/{comment_id}", {"comment_id": "$request.path.comment_id"}),
    },
    ("post", "/api/bans", "201"): {
        "LiftIt": ("delete", "/api/bans/{ban_id}", {"ban_id": "$response.body#/ban/id"}),
    },
}

_WRITES = {"post", "put", "patch", "delete"}
_MESSAGES = {
    400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 409: "Conflict",
    413: "Payload too large", 415: "Unsupported media type", 422: "Invalid request", 429: "Too many requests",
    503: "Busy",
}


def _generic_errors(method: str, path: str, op: dict) -> dict[int, list[str]]:
    """The errors any operation of this shape can answer with, whoever wrote it."""
    errors: dict[int, list[str]] = {400: ["invalid_host"], 404: ["not_found"]}
    params = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
    if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])):
        errors[400].append("invalid_idempotency_key")
    if "key" in params:
        errors[400].append("invalid_key")
    for name in params - {"key"}:
        if name.endswith("_id"):
            errors[404].append(f"{name[:-3]}_not_found")
    if method in _WRITES:
        errors[400].append("bad_request")
        errors[403] = ["origin_required", "origin_not_allowed"]
        errors[413] = ["payload_too_large"]
        errors[415] = ["unsupported_media_type"]
        errors[429] = ["rate_limited"]
        if "requestBody" in op:
            errors[400].append("malformed_json")
            errors[422] = ["invalid_request"]
    return errors


def _string_rules(schema: dict, components: dict, seen: set[str]) -> None:
    """Every string a request body carries refuses NUL and lone surrogates: say so where nothing stricter does."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen and name in components:
            seen.add(name)
            _string_rules(components[name], components, seen)
        return
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        _string_rules(sub, components, seen)
    if schema.get("type") == "string" and not {"enum", "const", "format"} & schema.keys():
        schema.setdefault("pattern", TEXT)
        schema["description"] = " ".join(filter(None, [schema.get("description"), TEXT_NOTE]))
    for prop in schema.get("properties", {}).values():
        _string_rules(prop, components, seen)
    if isinstance(schema.get("items"), dict):
        _string_rules(schema["items"], components, seen)


def _error_response(codes: list[str]) -> dict:
    schema = copy.deepcopy(ERROR_SCHEMA)
    schema["properties"]["error"]["properties"]["code"] = {"type": "string", "enum": sorted(set(codes))}
    return {"content": {"application/json": {"schema": schema}}}


def _anchor_on_top_level_only(content: dict[str, Any]) -> None:
    """A reply inherits its parent's anchor: a body with both a parent_id and an anchor is refused (422), so the
    document says so (JSON Schema `not`), and a schema-valid request is one the server accepts."""
    content["schema"] = {"allOf": [content["schema"], {
        "not": {"required": ["parent_id", "anchor"],
                "properties": {"parent_id": {"type": "string", "minLength": 1}, "anchor": {"type": "object"}}},
        "description": "anchor is for top-level comments only: a reply (parent_id) inherits its parent's anchor"}]}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, body in COMPONENTS.items():
        components.setdefault(name, copy.deepcopy(body))
    seen: set[str] = set()
    op_ids = {(m, p): op.get("operationId") for p, ops in schema["paths"].items() for m, op in ops.items()}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            extra = OPERATIONS.get((method, path), _op({}))
            for param in op.get("parameters", []):  # the path's own constraints
                if param.get("in") != "path":
                    continue
                if param["name"] == "key":
                    param["schema"] = {"type": "string", "pattern": THREAD_KEY, "minLength": 1, "maxLength": 200}
                    param["description"] = "the thread's key: 1-200 characters of A-Z a-z 0-9 . _ ~ -"
                elif param["name"].endswith("_id"):
                    param["schema"] = dict(UUID)
            op.setdefault("parameters", []).extend(copy.deepcopy(extra["params"]))
            if extra["idempotent"]:
                op["parameters"].append({"in": "header", "name": "Idempotency-Key", "required": False,
                                         "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY},
                                         "description": "a retry with the same key changes nothing more"})
            if "requestBody" in op:
                _string_rules(op["requestBody"]["content"]["application/json"]["schema"], components, seen)
                if (method, path) == ("post", "/api/threads/{key}/comments"):
                    _anchor_on_top_level_only(op["requestBody"]["content"]["application/json"])
            responses: dict[str, Any] = {}
            ok = extra["ok"] or {int(s): None for s in op.get("responses", {}) if str(s).startswith("2")} or {200: None}
            for status, body in ok.items():
                if status == 304:
                    responses["304"] = {"description": "Not modified (If-None-Match)"}
                    continue
                old = op.get("responses", {}).get(str(status)) or op.get("responses", {}).get(status) or {}
                responses[str(status)] = {"description": old.get("description") or "OK",
                                          **_content(body if body is not None else {"type": "object"})}
            errors = _generic_errors(method, path, op)
            for status, codes in extra["errors"].items():
                errors.setdefault(status, []).extend(codes)
            for status, codes in sorted(errors.items()):
                responses[str(status)] = {"description": f"{_MESSAGES.get(status, 'Error')}: "
                                          + ", ".join(sorted(set(codes))), **_error_response(codes)}
            for (m, p, status), links in LINKS.items():
                if (m, p) == (method, path) and status in responses:
                    responses[status]["links"] = {
                        name: {"operationId": op_ids[(lm, lp)], "parameters": params}
                        for name, (lm, lp, params) in links.items() if op_ids.get((lm, lp))}
            op["responses"] = responses
    schema["components"].setdefault("responses", {})["MethodNotAllowed"] = {
        "description": "Any method an operation does not list: 405 method_not_allowed, with Allow",
        **_error_response(["method_not_allowed"])}
    return schema


class DocumentedAPI(NinjaAPI):
    """NinjaAPI whose document is completed by `complete` (built once, on the first request for it)."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return complete(super().get_openapi_schema(*args, **kwargs))


_ROUTES: dict[str, set[str]] | None = None


def route_methods(path_info: str) -> set[str] | None:
    """The methods the API serves at this URL (per its document), or None for no API route: a write's guards
    step aside for a method the route does not serve, so that it is told 405 with Allow, not 403 or 415."""
    global _ROUTES
    from django.urls import Resolver404, resolve

    try:
        route = resolve(path_info).route
    except Resolver404:
        return None
    if _ROUTES is None:
        from .views import api

        _ROUTES = {}
        for path, ops in api.get_openapi_schema()["paths"].items():
            _ROUTES[path.lstrip("/").replace("{", "<").replace("}", ">")] = {m.upper() for m in ops}
    return _ROUTES.get(route)
