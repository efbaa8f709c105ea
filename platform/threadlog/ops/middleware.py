"""Per-request metrics (status codes, latency) and, with LOG_FORMAT=json, one access line per request."""
from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse

from . import metrics

access = logging.getLogger("threadlog.access")


class RequestMetricsMiddleware:
    """Outermost in MIDDLEWARE and API_MIDDLEWARE: it sees every response, the host check's 400s included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        method = request.method  # before HeadAsGetMiddleware turns HEAD into GET
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        metrics.request(method if method in _METHODS else "other", response.status_code, elapsed)
        if access.isEnabledFor(logging.INFO):
            access.info("%s %s %s", method, request.path, response.status_code, extra={
                "method": method, "path": request.path, "status": response.status_code,
                "ms": round(elapsed * 1000, 2), "client": request.META.get("REMOTE_ADDR", ""),
            })
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
