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


class _OutboxCollector:
    """The notifier's outbox depth (messages waiting to be sent), the age of the oldest, the messages given up,
    and how far the notifier is behind the log; measured at scrape time (two indexed counts)."""

    def collect(self):
        from django.db.models import Count, Min
        from django.utils import timezone

        from events.store import get_store
        from threadlog.notifications.models import OutboxMessage
        from threadlog.notifications.notifier import checkpoint as notifier_checkpoint

        try:
            rows = dict(OutboxMessage.objects.filter(status__in=("pending", "failed")).values_list("status")
                        .annotate(n=Count("id")).values_list("status", "n"))
            oldest = OutboxMessage.objects.filter(status="pending").aggregate(m=Min("created_at"))["m"]
            behind = max(0, get_store().head() - notifier_checkpoint())
        except Exception as error:  # noqa: BLE001 - threadlog_database_up says why
            log.warning("metrics: outbox not readable (%s)", error)
            return
        depth = GaugeMetricFamily("threadlog_outbox_depth", "E-mail messages in the outbox waiting to be sent")
        depth.add_metric([], rows.get("pending", 0))
        age = GaugeMetricFamily("threadlog_outbox_oldest_pending_seconds",
                                "Age of the oldest message waiting to be sent (0 when none waits)")
        age.add_metric([], max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0)
        failed = GaugeMetricFamily("threadlog_outbox_failed", "Messages given up after their last attempt or bounced")
        failed.add_metric([], rows.get("failed", 0))
        lag = GaugeMetricFamily("threadlog_notifier_lag_events", "Events in the log the notifier has not decided on")
        lag.add_metric([], behind)
        yield from (depth, age, failed, lag)


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
    lag.register(_OutboxCollector())
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
