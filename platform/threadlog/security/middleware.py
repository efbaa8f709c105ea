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

    def __call__(self, request: HttpRequest) -> HttpResponse:
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
