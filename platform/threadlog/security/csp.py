"""Content-Security-Policy on every response (django-csp), and the endpoint browsers report violations to.

The policy (settings.CONTENT_SECURITY_POLICY) allows scripts, styles and connections from the site only: no
inline script or style anywhere (templates load static files), so an injected `<script>` or `onerror=` in a
comment body, if one ever got past the sanitiser, would not run. `connect-src` gains the site's own WebSocket
origin (ws:// or wss:// on the request's host) per request. docs/security.md says what a page that embeds the
widget must allow in its own policy.
"""
from __future__ import annotations

import json
import logging

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from threadlog.ops import metrics

log = logging.getLogger("threadlog.csp")
REPORT_PATH = "/csp-report"


class PolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with this host's WebSocket origin added to connect-src (CSP 'self' covers ws:
    and wss: only in newer browsers)."""

    def get_policy_parts(self, request: HttpRequest, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except Exception:  # DisallowedHost: the 400 keeps the static policy
            return parts
        socket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), socket]
        parts.update = update
        return parts


@csrf_exempt
@require_POST
def report(request: HttpRequest) -> HttpResponse:
    """A browser's violation report (report-uri: application/csp-report; Reporting API: reports+json). Counted
    (threadlog_csp_violations_total) and logged at INFO, nothing stored: anyone can post here."""
    metrics.csp_violation()
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return HttpResponse(status=400)
    reports = body if isinstance(body, list) else [body]
    for entry in reports[:10]:
        detail = entry.get("csp-report") or entry.get("body") or {} if isinstance(entry, dict) else {}
        if isinstance(detail, dict):
            log.info("CSP violation: %s blocked %s on %s",
                     detail.get("violated-directive") or detail.get("effectiveDirective"),
                     detail.get("blocked-uri") or detail.get("blockedURL"),
                     detail.get("document-uri") or detail.get("documentURL"))
    return HttpResponse(status=204)
