"""Host validation on every path (the API's chain included) and HEAD answered like GET everywhere."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse


class HostValidationMiddleware:
    """ALLOWED_HOSTS for every request. Pages get it from CommonMiddleware too, but the API's chain
    (settings.API_MIDDLEWARE) has none: without this a DNS-rebinding page could read /api/ from a browser
    that believes it talks to the attacker's host."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._valid: set[str] = set()  # Host headers already found valid (a dozen at most on a real site)
        self._valid_for: list[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        host = (settings.USE_X_FORWARDED_HOST and meta.get("HTTP_X_FORWARDED_HOST")) or meta.get("HTTP_HOST")
        if self._valid_for is not settings.ALLOWED_HOSTS:  # changed (tests): forget what was valid before
            self._valid, self._valid_for = set(), settings.ALLOWED_HOSTS
        if host is not None and host in self._valid:  # Django's check costs ~10 us; this, a set lookup
            return self.get_response(request)
        try:
            request.get_host()
        except DisallowedHost:
            host = request.META.get("HTTP_HOST", "")[:100]
            if request.path.startswith(settings.API_PREFIX):
                return JsonResponse({"error": {"code": "invalid_host",
                                               "message": f"this server does not answer for host {host!r}"}},
                                    status=400)
            return HttpResponseBadRequest(f"this server does not answer for host {host!r}\n",
                                          content_type="text/plain; charset=utf-8")
        if host is not None and len(self._valid) < 256:  # only valid ones: a flood of bad hosts cannot fill it
            self._valid.add(host)
        return self.get_response(request)


class HeadAsGetMiddleware:
    """HEAD runs the GET view and sends its headers (Content-Length included) without the body, on every path:
    monitors and link checkers use HEAD, and views decorated with require_GET (or API routes declared for GET)
    would otherwise answer 405. It sits outside CommonMiddleware / EmbedCorsMiddleware, which set the length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"
        request.META["REQUEST_METHOD"] = "GET"
        response = self.get_response(request)
        request.method = request.META["REQUEST_METHOD"] = "HEAD"
        if response.streaming:  # a FileResponse (static files) has set its Content-Length already; its file
            response.streaming_content = []  # is still closed with the response
        else:
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
