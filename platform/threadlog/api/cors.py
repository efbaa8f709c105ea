"""CORS for the embedding origins (a setting), and the guards every API write passes before parsing."""
from __future__ import annotations

from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def error_response(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)


def request_origin(request: HttpRequest) -> str | None:
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def origin_allowed(request: HttpRequest, origin: str) -> bool:
    if origin in settings.EMBED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.get_host()


class EmbedCorsMiddleware:
    """Answers preflights for allowed embedders and rejects API writes that fail the basic guards."""

    # Both modes, like Django's own middleware: a sync-only one here would cost every request two extra
    # hops between the event loop and the sync thread under ASGI.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        early, cross = self.before(request)
        return self.after(request, early or self.get_response(request), cross)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        early, cross = self.before(request)
        return self.after(request, early or await self.get_response(request), cross)

    def before(self, request: HttpRequest) -> tuple[HttpResponse | None, bool]:
        """A preflight answer or a guard's rejection (None: go on), and whether the request is cross-origin."""
        if not request.path.startswith("/api/"):
            return None, False
        origin = request.headers.get("Origin")
        cross = origin is not None and origin.rstrip("/") in settings.EMBED_ORIGINS
        if request.method == "OPTIONS" and cross:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key"
            response["Access-Control-Max-Age"] = "600"
            return response, cross
        return self.guard(request), cross

    @staticmethod
    def after(request: HttpRequest, response: HttpResponse, cross: bool) -> HttpResponse:
        if (request.path.startswith("/api/") and response.status_code in (404, 405)
                and not response.get("Content-Type", "").startswith("application/json")):
            # Django's own 404 (no such route) and 405 (wrong method) are HTML or plain text: say it in JSON.
            allowed = response.get("Allow")
            response = (error_response(404, "not_found", f"no API route {request.path}") if response.status_code == 404
                        else error_response(405, "method_not_allowed", f"{request.method} is not allowed here"
                                            + (f"; allowed: {allowed}" if allowed else "")))
            if allowed:
                response["Allow"] = allowed
        if not response.streaming and not response.has_header("Content-Length"):  # the API has no CommonMiddleware
            response.headers["Content-Length"] = str(len(response.content))
        if cross:
            response["Access-Control-Allow-Origin"] = request.headers["Origin"].rstrip("/")
            response["Access-Control-Allow-Credentials"] = "true"
            response["Vary"] = "Origin"
        return response

    @classmethod
    def guard(cls, request: HttpRequest) -> HttpResponse | None:
        if request.method not in WRITE_METHODS:
            return None
        refused = cls.refuse(request)
        if refused is not None:
            from .openapi import route_methods

            if request.method not in (route_methods(request.path_info) or ()):
                return None  # no such route, or not this method: the router's 404 or 405 (with Allow) says so
        return refused

    @staticmethod
    def refuse(request: HttpRequest) -> HttpResponse | None:
        limit = settings.THREADLOG["MAX_REQUEST_BYTES"]
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "bad_request", "invalid Content-Length")
        if length > limit:
            return error_response(413, "payload_too_large", f"requests are limited to {limit} bytes")
        origin = request_origin(request)
        if origin is None:
            return error_response(403, "origin_required", "writes need an Origin or Referer header")
        if not origin_allowed(request, origin):
            return error_response(403, "origin_not_allowed", f"origin {origin} may not write here")
        if request.method != "DELETE" or length:
            ctype = request.content_type or ""
            if ctype != "application/json":
                return error_response(415, "unsupported_media_type", "send Content-Type: application/json")
        return None
