"""`/metrics` (Prometheus text; staff or METRICS_TOKEN) and `/readyz` (database reachable, read model close to
the log's head). `/healthz` (alive) stays in threadlog.pages."""
from __future__ import annotations

import hmac
import logging
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .health import projector_lag
from .metrics import MULTIPROC_ENV

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _authorised(request: HttpRequest) -> JsonResponse | None:
    """None when staff or the right bearer token; else 401 (no credentials) or 403 (wrong ones)."""
    token = settings.THREADLOG_OPS["METRICS_TOKEN"]
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, given = header.partition(" ")
        if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        return _error(403, "forbidden", "that token does not open /metrics")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return None if user.is_staff else _error(403, "forbidden", "/metrics is for staff")
    response = _error(401, "unauthorized", "sign in as staff or send Authorization: Bearer <METRICS_TOKEN>")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


class _LagCollector:
    """The projector's lag, measured at scrape time (a gauge kept in each process would only be as fresh as its
    last write)."""

    def collect(self):
        events = GaugeMetricFamily("threadlog_projector_lag_events", "Events in the log not yet in the read model")
        seconds = GaugeMetricFamily("threadlog_projector_lag_seconds",
                                    "Age of the oldest event not yet in the read model")
        up = GaugeMetricFamily("threadlog_database_up", "1 when the database answered this scrape")
        try:
            lag = projector_lag()
        except Exception as error:  # the scrape still answers: database_up 0 is the signal
            log.warning("metrics: database unreachable (%s)", error)
            up.add_metric([], 0)
            yield up
            return
        events.add_metric([], lag.events)
        seconds.add_metric([], lag.seconds)
        up.add_metric([], 1)
        yield from (events, seconds, up)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    denied = _authorised(request)
    if denied is not None:
        return denied
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    lag = CollectorRegistry()
    lag.register(_LagCollector())
    return HttpResponse(body + generate_latest(lag), content_type=CONTENT_TYPE_LATEST)


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and the read model is within READY_MAX_LAG events of the head; else 503."""
    limit = settings.THREADLOG_OPS["READY_MAX_LAG"]
    try:
        lag = projector_lag()
    except Exception as error:
        return JsonResponse({"ready": False, "database": False, "reason": f"database unreachable: "
                             f"{type(error).__name__}"}, status=503)
    body = {"ready": lag.events <= limit, "database": True, "head": lag.head, "checkpoint": lag.checkpoint,
            "lag_events": lag.events, "lag_seconds": round(lag.seconds, 3), "max_lag": limit}
    if not body["ready"]:
        body["reason"] = f"read model {lag.events} events behind the log (more than {limit})"
    return JsonResponse(body, status=200 if body["ready"] else 503)
